/* write.c — the streaming .llq writer: tensor data goes straight to a temp file beside the target,
 * metadata and the tensor table are kept in memory and appended at commit, then the header is
 * rewritten, the file fsynced and renamed into place (docs/FORMAT.md). Any failed step poisons the
 * writer: commit refuses, and llq_writer_free removes the temp file. */
#include "fileint.h"
#include "llq/format.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_SIZE (4u << 20)
#define DIRECT (256u << 10) /* out(): pieces this large bypass the buffer */
#define PIECE (1u << 20)    /* llq_writer_write: CRC then write() per piece, so write() copies from cache */
#define MAX_ENTRIES 1000000u

enum { W_LLQ = 0, W_META = 1, W_RAW = 2 };

static const uint8_t MAGIC[8] = {0x89, 'L', 'L', 'Q', '\r', '\n', 0x1a, '\n'};

typedef struct entry {
    char *name;
    uint32_t type, n_dims, group, crc;
    uint64_t dims[LLQ_MAX_DIMS];
    uint64_t offset, size;
} entry;

typedef fmt_bytes bytes;

struct llq_writer {
    char *path, *tmp;
    int fd;
    unsigned flags;
    int failed, committed;
    int device;          /* path is a character device, written through (no temp file, no rename) */
    uint64_t pos;        /* bytes written to the file so far (incl. buffered) */
    uint8_t *buf;        /* write buffer */
    size_t buf_len;
    bytes meta;          /* encoded metadata entries */
    uint32_t n_meta;
    char **keys;
    entry *tensors;
    size_t n_tensors, cap_tensors;
    int active;          /* inside begin..end */
    int mode;            /* W_LLQ, W_META (metadata only, no file), W_RAW (bytes as given, no .llq layout) */
    uint64_t written;    /* bytes of the active tensor written */
};

/* ---- low-level output ---- */

/* The file being written, for messages: the temp file, or the device written through. */
static const char *where(const llq_writer *w)
{
    return w->tmp && w->tmp[0] ? w->tmp : w->path;
}

static int fail(llq_writer *w, int code)
{
    w->failed = 1;
    return code;
}

static int write_all(llq_writer *w, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return fail(w, llq_err(LLQ_EIO, "%s: write: %s", where(w), k < 0 ? strerror(errno) : "no progress"));
        p += k;
        n -= (size_t)k;
    }
    return LLQ_OK;
}

static int flush(llq_writer *w)
{
    int rc = w->buf_len ? write_all(w, w->buf, w->buf_len) : LLQ_OK;
    w->buf_len = 0;
    return rc;
}

/* Small pieces are gathered in the buffer; pieces of DIRECT bytes or more go to write() straight from the caller's
 * memory (e.g. a mapped checkpoint), without a copy into the buffer. */
static int out(llq_writer *w, const void *data, size_t n)
{
    if (n == 0)
        return LLQ_OK;
    if (n >= DIRECT || w->buf_len + n > BUF_SIZE) {
        int rc = flush(w);
        if (rc)
            return rc;
        if (n >= DIRECT) {
            w->pos += n;
            return write_all(w, data, n);
        }
    }
    memcpy(w->buf + w->buf_len, data, n);
    w->buf_len += n;
    w->pos += n;
    return LLQ_OK;
}

static int pad_to(llq_writer *w, uint64_t align)
{
    static const uint8_t zeros[LLQ_ALIGN];
    uint64_t r = w->pos % align;
    return r ? out(w, zeros, (size_t)(align - r)) : LLQ_OK;
}

/* ---- in-memory byte buffers ---- */

int fmt_put(fmt_bytes *b, const void *data, size_t n)
{
    if (n == 0)
        return LLQ_OK;
    if (b->len + n < b->len)
        return llq_err(LLQ_ENOMEM, "metadata too large");
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return llq_err(LLQ_ENOMEM, "out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return LLQ_OK;
}

static int put(bytes *b, const void *data, size_t n) { return fmt_put(b, data, n); }
static int put32(bytes *b, uint32_t v) { return put(b, &v, 4); }
static int put64(bytes *b, uint64_t v) { return put(b, &v, 8); }

/* ---- open / free ---- */

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISBLK(m) ? "a block device"
           : "not a regular file";
}

int llq_output_check(const char *path, unsigned flags, int *is_device)
{
    struct stat st;
    size_t n = strlen(path);
    int rc = LLQ_OK;
    if (is_device)
        *is_device = 0;
    if (n == 0)
        return llq_err(LLQ_EINVAL, "empty output path");
    if (path[n - 1] == '/')
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode)
                   ? llq_err(LLQ_EINVAL, "%s: is a directory; name the output file", path)
                   : llq_err(LLQ_EINVAL, "%s: ends in '/'; name the output file", path);
    if (stat(path, &st) == 0) { /* follows a symlink: /dev/stdout names what it points to */
        if (S_ISCHR(st.st_mode)) {
            if (is_device)
                *is_device = 1;
            return LLQ_OK;
        }
        if (S_ISDIR(st.st_mode))
            return llq_err(LLQ_EINVAL, "%s: is a directory; name the output file", path);
        if (!S_ISREG(st.st_mode))
            return llq_err(LLQ_EINVAL, "%s: is not a regular file (%s); not written to", path, file_kind(st.st_mode));
    }
    struct stat ls;
    if (!(flags & LLQ_W_FORCE) && lstat(path, &ls) == 0)
        return llq_err(LLQ_EEXIST, "%s: already exists (use --force to replace it)", path);
    char *copy = strdup(path);
    if (!copy)
        return llq_err(LLQ_ENOMEM, "out of memory");
    const char *dir = dirname(copy);
    if (stat(dir, &st) != 0)
        rc = llq_err(LLQ_ENOTFOUND, "%s: no such directory (for %s)", dir, path);
    else if (!S_ISDIR(st.st_mode))
        rc = llq_err(LLQ_EINVAL, "%s: is not a directory (for %s)", dir, path);
    free(copy);
    return rc;
}

static int writer_open(llq_writer **out_w, const char *path, unsigned flags, int mode)
{
    int rc = LLQ_OK;
    *out_w = NULL;
    llq_writer *w = calloc(1, sizeof *w);
    if (!w)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", path);
    w->fd = -1;
    w->flags = flags;
    w->mode = mode;
    size_t n = strlen(path);
    w->path = strdup(path);
    w->tmp = malloc(n + 12);
    w->buf = malloc(BUF_SIZE);
    if (!w->path || !w->tmp || !w->buf) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    w->tmp[0] = 0;
    if ((rc = llq_output_check(path, flags, &w->device)))
        goto done;
    if (w->device) { /* written through; a .llq header is rewritten at commit, so it must seek */
        if ((w->fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || (mode == W_LLQ && lseek(w->fd, 0, SEEK_SET) != 0))
            rc = llq_err(LLQ_EIO, "%s: %s", path, w->fd < 0 ? strerror(errno)
                         : "a character device that cannot seek (a .llq file's header is written last)");
        if (!rc && mode == W_LLQ)
            rc = out(w, (const uint8_t[LLQ_HEADER_SIZE]){0}, LLQ_HEADER_SIZE);
        goto done;
    }
    snprintf(w->tmp, n + 12, "%s.tmp.XXXXXX", path);
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        rc = llq_err(LLQ_EIO, "%s: cannot create a temp file beside it: %s", path, strerror(errno));
        w->tmp[0] = 0;
        goto done;
    }
    mode_t um = umask(0);
    umask(um);
    if (fchmod(w->fd, 0666 & ~um) != 0) {
        rc = llq_err(LLQ_EIO, "%s: chmod: %s", w->tmp, strerror(errno));
        goto done;
    }
    static const uint8_t zero_header[LLQ_HEADER_SIZE];
    if (mode == W_LLQ)
        rc = out(w, zero_header, sizeof zero_header); /* rewritten at commit */
done:
    if (rc) {
        llq_writer_free(w);
        return rc;
    }
    *out_w = w;
    return LLQ_OK;
}

int llq_writer_open(llq_writer **out_w, const char *path, unsigned flags)
{
    return writer_open(out_w, path, flags, W_LLQ);
}

int fmt_writer_open_raw(llq_writer **out_w, const char *path, unsigned flags)
{
    return writer_open(out_w, path, flags, W_RAW);
}

int fmt_writer_raw(llq_writer *w, const void *data, size_t n)
{
    if (w->mode != W_RAW)
        return llq_err(LLQ_EINVAL, "%s: raw bytes given to a .llq writer", w->path);
    if (w->failed)
        return llq_err(LLQ_EINVAL, "%s: an earlier write failed", w->path);
    return out(w, data, n);
}

uint64_t fmt_writer_pos(const llq_writer *w)
{
    return w->pos;
}

int fmt_meta_writer_new(llq_writer **out_w, const char *name)
{
    *out_w = NULL;
    llq_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(name))) {
        free(w);
        return llq_err(LLQ_ENOMEM, "out of memory");
    }
    w->fd = -1;
    w->mode = W_META;
    *out_w = w;
    return LLQ_OK;
}

int fmt_meta_writer_take(llq_writer *w, uint8_t **out_b, uint64_t *size)
{
    *out_b = NULL;
    *size = 0;
    uint8_t *b = malloc(4 + w->meta.len);
    if (!b)
        return llq_err(LLQ_ENOMEM, "out of memory");
    memcpy(b, &w->n_meta, 4);
    if (w->meta.len)
        memcpy(b + 4, w->meta.p, w->meta.len);
    *out_b = b;
    *size = 4 + (uint64_t)w->meta.len;
    return LLQ_OK;
}

void llq_writer_free(llq_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (!w->committed && w->tmp && w->tmp[0])
        unlink(w->tmp);
    for (uint32_t i = 0; i < w->n_meta; i++)
        free(w->keys[i]);
    for (size_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->keys);
    free(w->tensors);
    free(w->meta.p);
    free(w->buf);
    free(w->tmp);
    free(w->path);
    free(w);
}

const char *llq_writer_temp_path(const llq_writer *w)
{
    return w && !w->committed && w->tmp && w->tmp[0] ? w->tmp : NULL;
}

static int usable(llq_writer *w)
{
    if (w->mode != W_LLQ && w->mode != W_META)
        return llq_err(LLQ_EINVAL, "%s: not a .llq writer", w->path);
    if (w->committed)
        return llq_err(LLQ_EINVAL, "%s: writer already committed", w->path);
    if (w->failed)
        return llq_err(LLQ_EINVAL, "%s: an earlier write failed", w->path);
    return LLQ_OK;
}

/* ---- metadata ---- */

/* Appends the key and type of a new entry (checks uniqueness) and the value size. */
static int meta_head(llq_writer *w, const char *key, uint32_t type, uint64_t vsize)
{
    int rc = usable(w);
    if (rc)
        return rc;
    size_t klen = key ? strlen(key) : 0;
    if (klen == 0 || klen > LLQ_MAX_NAME)
        return llq_err(LLQ_EINVAL, "%s: metadata key length %zu outside 1..%d", w->path, klen, LLQ_MAX_NAME);
    if (w->n_meta >= MAX_ENTRIES)
        return llq_err(LLQ_ELIMIT, "%s: more than %u metadata entries", w->path, MAX_ENTRIES);
    for (uint32_t i = 0; i < w->n_meta; i++)
        if (!strcmp(w->keys[i], key))
            return llq_err(LLQ_EINVAL, "%s: metadata key '%s' written twice", w->path, key);
    char **keys = realloc(w->keys, (w->n_meta + 1) * sizeof *keys);
    if (!keys)
        return llq_err(LLQ_ENOMEM, "out of memory");
    w->keys = keys;
    if (!(keys[w->n_meta] = strdup(key)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    w->n_meta++;
    if ((rc = put32(&w->meta, (uint32_t)klen)) || (rc = put(&w->meta, key, klen)) ||
        (rc = put32(&w->meta, type)) || (rc = put64(&w->meta, vsize)))
        return fail(w, rc);
    return LLQ_OK;
}

static int meta_fixed(llq_writer *w, const char *key, uint32_t type, const void *v, size_t n)
{
    int rc = meta_head(w, key, type, n);
    if (!rc && (rc = put(&w->meta, v, n)))
        fail(w, rc);
    return rc;
}

int llq_writer_meta_u32(llq_writer *w, const char *key, uint32_t v) { return meta_fixed(w, key, LLQ_META_U32, &v, 4); }
int llq_writer_meta_i32(llq_writer *w, const char *key, int32_t v) { return meta_fixed(w, key, LLQ_META_I32, &v, 4); }
int llq_writer_meta_u64(llq_writer *w, const char *key, uint64_t v) { return meta_fixed(w, key, LLQ_META_U64, &v, 8); }
int llq_writer_meta_f32(llq_writer *w, const char *key, float v) { return meta_fixed(w, key, LLQ_META_F32, &v, 4); }
int llq_writer_meta_f64(llq_writer *w, const char *key, double v) { return meta_fixed(w, key, LLQ_META_F64, &v, 8); }

int llq_writer_meta_bool(llq_writer *w, const char *key, int v)
{
    uint8_t b = v != 0;
    return meta_fixed(w, key, LLQ_META_BOOL, &b, 1);
}

int llq_writer_meta_str(llq_writer *w, const char *key, const char *s, size_t len)
{
    if (len && !s)
        return llq_err(LLQ_EINVAL, "%s: metadata '%s': NULL string", w->path, key ? key : "");
    return meta_fixed(w, key, LLQ_META_STR, s, len);
}

static size_t elem_size(uint32_t t)
{
    switch (t) {
    case LLQ_META_U32: case LLQ_META_I32: case LLQ_META_F32: return 4;
    case LLQ_META_U64: case LLQ_META_I64: case LLQ_META_F64: return 8;
    case LLQ_META_BOOL: return 1;
    default: return 0;
    }
}

int llq_writer_meta_arr(llq_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t count)
{
    size_t es = elem_size(elem_type);
    uint64_t n, vsize;
    if (!es)
        return llq_err(LLQ_EINVAL, "%s: metadata '%s': array element type %u is not numeric (1..7)", w->path,
                       key ? key : "", elem_type);
    if (llq_mul_u64(&n, count, es) || llq_add_u64(&vsize, n, 12) || n > SIZE_MAX / 2 || (count && !data))
        return llq_err(LLQ_EINVAL, "%s: metadata '%s': bad array of %llu elements", w->path, key ? key : "",
                       (unsigned long long)count);
    if (elem_type == LLQ_META_BOOL)
        for (uint64_t i = 0; i < count; i++)
            if (((const uint8_t *)data)[i] > 1)
                return llq_err(LLQ_EINVAL, "%s: metadata '%s': bool element %llu is not 0 or 1", w->path, key,
                               (unsigned long long)i);
    int rc = meta_head(w, key, LLQ_META_ARR, vsize);
    if (!rc && ((rc = put32(&w->meta, elem_type)) || (rc = put64(&w->meta, count)) ||
                (rc = put(&w->meta, data, (size_t)n))))
        fail(w, rc);
    return rc;
}

int llq_writer_meta_arr_str(llq_writer *w, const char *key, const char *const *strs, const uint64_t *lens,
                            uint64_t count)
{
    uint64_t vsize = 12;
    for (uint64_t i = 0; i < count; i++) {
        if (lens[i] > UINT32_MAX || (lens[i] && !strs[i]) || llq_add_u64(&vsize, vsize, 4 + lens[i]))
            return llq_err(LLQ_EINVAL, "%s: metadata '%s': string %llu is too long or NULL", w->path,
                           key ? key : "", (unsigned long long)i);
    }
    int rc = meta_head(w, key, LLQ_META_ARR, vsize);
    if (!rc && ((rc = put32(&w->meta, LLQ_META_STR)) || (rc = put64(&w->meta, count))))
        return fail(w, rc);
    for (uint64_t i = 0; !rc && i < count; i++)
        if ((rc = put32(&w->meta, (uint32_t)lens[i])) || (rc = put(&w->meta, strs[i], (size_t)lens[i])))
            fail(w, rc);
    return rc;
}

int llq_writer_meta_copy(llq_writer *w, const llq_meta *m)
{
    const uint8_t *v = m->value;
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
    switch (m->type) {
    case LLQ_META_U32: memcpy(&u32, v, 4); return llq_writer_meta_u32(w, m->key, u32);
    case LLQ_META_I32: memcpy(&u32, v, 4); return llq_writer_meta_i32(w, m->key, (int32_t)u32);
    case LLQ_META_U64: memcpy(&u64, v, 8); return llq_writer_meta_u64(w, m->key, u64);
    case LLQ_META_F32: memcpy(&f32, v, 4); return llq_writer_meta_f32(w, m->key, f32);
    case LLQ_META_F64: memcpy(&f64, v, 8); return llq_writer_meta_f64(w, m->key, f64);
    case LLQ_META_BOOL: return llq_writer_meta_bool(w, m->key, v[0] != 0);
    case LLQ_META_STR: return llq_writer_meta_str(w, m->key, (const char *)v, (size_t)m->value_size);
    case LLQ_META_ARR:
        if (m->elem_type != LLQ_META_STR)
            return llq_writer_meta_arr(w, m->key, m->elem_type, v + 12, m->count);
        {
            const char **s = malloc((m->count ? m->count : 1) * sizeof *s);
            uint64_t *len = malloc((m->count ? m->count : 1) * sizeof *len);
            int err = s && len ? LLQ_OK : llq_err(LLQ_ENOMEM, "out of memory copying '%s'", m->key);
            for (uint64_t i = 0; err == LLQ_OK && i < m->count; i++)
                err = llq_meta_arr_str(m, i, &s[i], &len[i]);
            if (err == LLQ_OK)
                err = llq_writer_meta_arr_str(w, m->key, s, len, m->count);
            free(s);
            free(len);
            return err;
        }
    default: return 1;
    }
}

/* ---- tensors ---- */

int llq_writer_begin(llq_writer *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *dims,
                     uint32_t group)
{
    int rc = usable(w);
    if (rc)
        return rc;
    if (w->mode != W_LLQ)
        return llq_err(LLQ_EINVAL, "%s: a metadata-only writer takes no tensors", w->path);
    if (w->active)
        return llq_err(LLQ_EINVAL, "%s: tensor '%s' begun before the previous one ended", w->path, name);
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen > LLQ_MAX_NAME)
        return llq_err(LLQ_EINVAL, "%s: tensor name length %zu outside 1..%d", w->path, nlen, LLQ_MAX_NAME);
    if (!llq_type_name(type))
        return llq_err(LLQ_EINVAL, "%s: tensor '%s': unknown type %u", w->path, name, type);
    if (n_dims < 1 || n_dims > LLQ_MAX_DIMS)
        return llq_err(LLQ_EINVAL, "%s: tensor '%s': %u dimensions (1..%d allowed)", w->path, name, n_dims,
                       LLQ_MAX_DIMS);
    if (!llq_group_valid(type, group))
        return llq_err(LLQ_EINVAL, "%s: tensor '%s': group %u not allowed for type %s", w->path, name, group,
                       llq_type_name(type));
    if (w->n_tensors >= MAX_ENTRIES)
        return llq_err(LLQ_ELIMIT, "%s: more than %u tensors", w->path, MAX_ENTRIES);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name))
            return llq_err(LLQ_EINVAL, "%s: tensor '%s' written twice", w->path, name);
    entry e = {.type = type, .n_dims = n_dims, .group = group};
    uint64_t rows = 1, rb;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (dims[d] == 0)
            return llq_err(LLQ_EINVAL, "%s: tensor '%s': dimension %u is 0", w->path, name, d);
        e.dims[d] = dims[d];
        if (d + 1 < n_dims && llq_mul_u64(&rows, rows, dims[d]))
            return llq_err(LLQ_EINVAL, "%s: tensor '%s': shape overflows", w->path, name);
    }
    if (llq_row_bytes(&rb, type, group, dims[n_dims - 1]) || llq_mul_u64(&e.size, rb, rows))
        return llq_err(LLQ_EINVAL, "%s: tensor '%s': size overflows", w->path, name);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        entry *t = realloc(w->tensors, cap * sizeof *t);
        if (!t)
            return llq_err(LLQ_ENOMEM, "out of memory");
        w->tensors = t;
        w->cap_tensors = cap;
    }
    if (!(e.name = strdup(name)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    if ((rc = pad_to(w, LLQ_ALIGN))) {
        free(e.name);
        return rc;
    }
    e.offset = w->pos;
    w->tensors[w->n_tensors++] = e;
    w->active = 1;
    w->written = 0;
    return LLQ_OK;
}

int llq_writer_write(llq_writer *w, const void *data, size_t n)
{
    int rc = usable(w);
    if (rc)
        return rc;
    if (!w->active)
        return fail(w, llq_err(LLQ_EINVAL, "%s: write outside a tensor", w->path));
    entry *e = &w->tensors[w->n_tensors - 1];
    if (n > e->size - w->written)
        return fail(w, llq_err(LLQ_EINVAL, "%s: tensor '%s': %llu more bytes written than its %llu", w->path,
                               e->name, (unsigned long long)(w->written + n - e->size),
                               (unsigned long long)e->size));
    for (const uint8_t *p = data; n && !rc;) {
        size_t k = n < PIECE ? n : PIECE;
        e->crc = llq_crc32(e->crc, p, k);
        rc = out(w, p, k);
        w->written += k;
        p += k;
        n -= k;
    }
    return rc;
}

int llq_writer_end(llq_writer *w)
{
    int rc = usable(w);
    if (rc)
        return rc;
    if (!w->active)
        return llq_err(LLQ_EINVAL, "%s: end without begin", w->path);
    entry *e = &w->tensors[w->n_tensors - 1];
    if (w->written != e->size)
        return fail(w, llq_err(LLQ_EINVAL, "%s: tensor '%s': %llu bytes written, its size is %llu", w->path,
                               e->name, (unsigned long long)w->written, (unsigned long long)e->size));
    w->active = 0;
    return LLQ_OK;
}

uint32_t llq_writer_last_crc(const llq_writer *w)
{
    return w->n_tensors ? w->tensors[w->n_tensors - 1].crc : 0;
}

int llq_writer_add(llq_writer *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *dims,
                   uint32_t group, const void *data, size_t size)
{
    int rc = llq_writer_begin(w, name, type, n_dims, dims, group);
    if (!rc)
        rc = llq_writer_write(w, data, size);
    if (!rc)
        rc = llq_writer_end(w);
    return rc;
}

/* ---- commit ---- */

static int encode_table(const llq_writer *w, bytes *t)
{
    int rc = LLQ_OK;
    for (size_t i = 0; !rc && i < w->n_tensors; i++) {
        const entry *e = &w->tensors[i];
        size_t nlen = strlen(e->name);
        rc = put32(t, (uint32_t)nlen) || put(t, e->name, nlen) || put32(t, e->type) || put32(t, e->n_dims);
        for (uint32_t d = 0; !rc && d < e->n_dims; d++)
            rc = put64(t, e->dims[d]);
        if (!rc)
            rc = put32(t, e->group) || put32(t, e->crc) || put64(t, e->offset) || put64(t, e->size);
    }
    return rc ? llq_err(LLQ_ENOMEM, "out of memory") : LLQ_OK;
}

static void set32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void set64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static int fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return llq_err(LLQ_ENOMEM, "out of memory");
    int rc = LLQ_OK, fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = llq_err(LLQ_EIO, "%s: fsync of its folder: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int llq_writer_commit(llq_writer *w)
{
    int rc = w->mode == W_RAW ? (w->failed ? llq_err(LLQ_EINVAL, "%s: an earlier write failed", w->path) : 0)
                              : usable(w);
    bytes table = {0};
    struct stat st;
    if (rc)
        return rc;
    if (w->mode == W_META)
        return llq_err(LLQ_EINVAL, "%s: a metadata-only writer has no file", w->path);
    if (w->mode == W_RAW) {
        if ((rc = flush(w)))
            goto done;
        goto finish;
    }
    if (w->active) {
        rc = fail(w, llq_err(LLQ_EINVAL, "%s: commit inside tensor '%s'", w->path, w->tensors[w->n_tensors - 1].name));
        goto done;
    }
    if ((rc = pad_to(w, LLQ_ALIGN)))
        goto done;
    uint8_t cnt[4];
    set32(cnt, w->n_meta);
    uint64_t meta_off = w->pos, meta_size = 4 + (uint64_t)w->meta.len;
    uint32_t meta_crc = llq_crc32(llq_crc32(0, cnt, 4), w->meta.p, w->meta.len);
    if ((rc = out(w, cnt, 4)) || (rc = out(w, w->meta.p, w->meta.len)))
        goto done;
    if ((rc = encode_table(w, &table))) {
        fail(w, rc);
        goto done;
    }
    uint64_t table_off = w->pos;
    if ((rc = out(w, table.p, table.len)) || (rc = flush(w)))
        goto done;

    uint8_t h[LLQ_HEADER_SIZE] = {0};
    memcpy(h, MAGIC, 8);
    set32(h + 8, LLQ_FORMAT_MAJOR);
    set32(h + 12, LLQ_FORMAT_MINOR);
    set64(h + 16, w->pos);
    set64(h + 24, meta_off);
    set64(h + 32, meta_size);
    set64(h + 40, table_off);
    set64(h + 48, table.len);
    set32(h + 56, (uint32_t)w->n_tensors);
    set32(h + 60, meta_crc);
    set32(h + 64, llq_crc32(0, table.p, table.len));
    set32(h + 68, 0);
    set32(h + 124, llq_crc32(0, h, 124));
    if (pwrite(w->fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        rc = fail(w, llq_err(LLQ_EIO, "%s: writing the header: %s", where(w), strerror(errno)));
        goto done;
    }
finish:
    if (fsync(w->fd) != 0 && !(w->device && (errno == EINVAL || errno == ENOTSUP))) {
        rc = fail(w, llq_err(LLQ_EIO, "%s: fsync: %s", where(w), strerror(errno)));
        goto done;
    }
    if (close(w->fd) != 0) {
        w->fd = -1;
        rc = fail(w, llq_err(LLQ_EIO, "%s: close: %s", where(w), strerror(errno)));
        goto done;
    }
    w->fd = -1;
    if (w->device) {
        w->committed = 1;
        goto done;
    }
    if (!(w->flags & LLQ_W_FORCE) && lstat(w->path, &st) == 0) {
        rc = fail(w, llq_err(LLQ_EEXIST, "%s: appeared while writing; not replaced (use --force)", w->path));
        goto done;
    }
    if (rename(w->tmp, w->path) != 0) {
        rc = fail(w, llq_err(LLQ_EIO, "%s: rename from %s: %s", w->path, w->tmp, strerror(errno)));
        goto done;
    }
    w->committed = 1;
    rc = fsync_dir(w->path);
done:
    free(table.p);
    return rc;
}
