/* read.c — llq_open: mmap a .llq file (or read it into huge-page memory, LLQ_OPEN_READ) and validate every
 * byte the reader will use (docs/FORMAT.md section 7) before returning it. Errors name the file. */
#include "fileint.h"
#include "llq/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 1000000u

static const uint8_t MAGIC[8] = {0x89, 'L', 'L', 'Q', '\r', '\n', 0x1a, '\n'};

/* Copies a name of len bytes (1..LLQ_MAX_NAME, no NUL inside) into a new NUL-terminated string. */
static int dup_name(const char **out, const uint8_t *b, uint32_t len, const char *what, uint64_t idx)
{
    if (len == 0 || len > LLQ_MAX_NAME)
        return llq_err(LLQ_EFORMAT, "%s %llu: name length %u outside 1..%u", what, (unsigned long long)idx, len,
                       LLQ_MAX_NAME);
    if (memchr(b, 0, len))
        return llq_err(LLQ_EFORMAT, "%s %llu: name contains a NUL byte", what, (unsigned long long)idx);
    char *s = malloc((size_t)len + 1);
    if (!s)
        return llq_err(LLQ_ENOMEM, "out of memory");
    memcpy(s, b, len);
    s[len] = 0;
    *out = s;
    return LLQ_OK;
}

static size_t meta_elem_size(uint32_t t)
{
    switch (t) {
    case LLQ_META_U32: case LLQ_META_I32: case LLQ_META_F32: return 4;
    case LLQ_META_U64: case LLQ_META_I64: case LLQ_META_F64: return 8;
    case LLQ_META_BOOL: return 1;
    default: return 0;
    }
}

/* ---- metadata ---- */

static int parse_array(meta_rec *r, const uint8_t *v, uint64_t vsize)
{
    llq_meta *m = &r->m;
    if (vsize < 12)
        return llq_err(LLQ_EFORMAT, "metadata '%s': array value of %llu bytes is shorter than its 12-byte head",
                       m->key, (unsigned long long)vsize);
    m->elem_type = rd32(v);
    m->count = rd64(v + 4);
    uint64_t left = vsize - 12;
    if (m->elem_type < LLQ_META_U32 || m->elem_type > LLQ_META_STR)
        return llq_err(LLQ_EFORMAT, "metadata '%s': array element type %u is not 1..8", m->key, m->elem_type);
    if (m->elem_type != LLQ_META_STR) {
        uint64_t need;
        if (llq_mul_u64(&need, m->count, meta_elem_size(m->elem_type)) || need != left)
            return llq_err(LLQ_EFORMAT, "metadata '%s': array of %llu elements does not fit its %llu bytes", m->key,
                           (unsigned long long)m->count, (unsigned long long)left);
        if (m->elem_type == LLQ_META_BOOL)
            for (uint64_t i = 0; i < m->count; i++)
                if (v[12 + i] > 1)
                    return llq_err(LLQ_EFORMAT, "metadata '%s': bool element %llu is %u", m->key,
                                   (unsigned long long)i, v[12 + i]);
        return LLQ_OK;
    }
    /* strings: each u32 len + bytes; the count can be at most left / 4 */
    if (m->count > left / 4)
        return llq_err(LLQ_EFORMAT, "metadata '%s': %llu strings cannot fit in %llu bytes", m->key,
                       (unsigned long long)m->count, (unsigned long long)left);
    r->strs = malloc((size_t)(m->count ? m->count : 1) * sizeof *r->strs);
    if (!r->strs)
        return llq_err(LLQ_ENOMEM, "out of memory");
    cur c = {v + 12, v + vsize};
    for (uint64_t i = 0; i < m->count; i++) {
        uint32_t len;
        const uint8_t *b;
        r->strs[i] = c.p;
        if (take32(&c, &len) || take(&c, len, &b))
            return llq_err(LLQ_EFORMAT, "metadata '%s': string %llu runs past the end of the value", m->key,
                           (unsigned long long)i);
    }
    if (c.p != c.end)
        return llq_err(LLQ_EFORMAT, "metadata '%s': %llu bytes left after the last string", m->key,
                       (unsigned long long)(c.end - c.p));
    return LLQ_OK;
}

static int check_value(meta_rec *r, const uint8_t *v, uint64_t vsize)
{
    llq_meta *m = &r->m;
    size_t es = meta_elem_size(m->type);
    if (es) {
        if (vsize != es)
            return llq_err(LLQ_EFORMAT, "metadata '%s': value of type %u has %llu bytes, expected %zu", m->key,
                           m->type, (unsigned long long)vsize, es);
        if (m->type == LLQ_META_BOOL && v[0] > 1)
            return llq_err(LLQ_EFORMAT, "metadata '%s': bool value is %u", m->key, v[0]);
        return LLQ_OK;
    }
    if (m->type == LLQ_META_STR) {
        m->count = vsize;
        return LLQ_OK;
    }
    if (m->type == LLQ_META_ARR)
        return parse_array(r, v, vsize);
    return LLQ_OK; /* unknown type (later minor version): kept raw */
}

int fmt_parse_meta(llq_file *f, const uint8_t *base, uint64_t size)
{
    cur c = {base, base + size};
    uint32_t n;
    if (take32(&c, &n))
        return llq_err(LLQ_EFORMAT, "metadata section of %llu bytes has no entry count", (unsigned long long)size);
    if (n > MAX_ENTRIES || (uint64_t)n * 17 > size - 4)
        return llq_err(LLQ_EFORMAT, "metadata entry count %u does not fit the %llu-byte section", n,
                       (unsigned long long)size);
    f->meta = calloc(n ? n : 1, sizeof *f->meta);
    if (!f->meta)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        meta_rec *r = &f->meta[i];
        uint32_t klen;
        const uint8_t *kb, *v;
        uint64_t vsize;
        if (take32(&c, &klen))
            return llq_err(LLQ_EFORMAT, "metadata entry %u runs past the end of the section", i);
        if (klen == 0 || klen > LLQ_MAX_NAME || take(&c, klen, &kb))
            return llq_err(LLQ_EFORMAT, "metadata entry %u: key length %u is outside 1..%u or past the section end",
                           i, klen, LLQ_MAX_NAME);
        int rc = dup_name(&r->m.key, kb, klen, "metadata entry", i);
        if (rc)
            return rc;
        f->n_meta = i + 1;
        if (take32(&c, &r->m.type) || take64(&c, &vsize))
            return llq_err(LLQ_EFORMAT, "metadata '%s': entry runs past the end of the section", r->m.key);
        if (take(&c, vsize, &v))
            return llq_err(LLQ_EFORMAT, "metadata '%s': value of %llu bytes runs past the end of the section "
                           "(%llu bytes left)", r->m.key, (unsigned long long)vsize,
                           (unsigned long long)(c.end - c.p));
        r->m.value = v;
        r->m.value_size = vsize;
        rc = check_value(r, v, vsize);
        if (rc)
            return rc;
    }
    if (c.p != c.end)
        return llq_err(LLQ_EFORMAT, "metadata section has %llu bytes after its last entry",
                       (unsigned long long)(c.end - c.p));
    return LLQ_OK;
}

/* ---- tensor table ---- */

static int parse_entry(llq_file *f, cur *c, llq_tensor *t, uint32_t i)
{
    uint32_t nlen;
    const uint8_t *nb;
    if (take32(c, &nlen))
        return llq_err(LLQ_EFORMAT, "tensor table entry %u runs past the end of the table", i);
    if (nlen == 0 || nlen > LLQ_MAX_NAME || take(c, nlen, &nb))
        return llq_err(LLQ_EFORMAT, "tensor table entry %u: name length %u is outside 1..%u or past the table end",
                       i, nlen, LLQ_MAX_NAME);
    int rc = dup_name(&t->name, nb, nlen, "tensor", i);
    if (rc)
        return rc;
    f->n_tensors = (size_t)i + 1;
    if (take32(c, &t->type) || take32(c, &t->n_dims))
        goto trunc;
    if (!llq_type_name(t->type))
        return llq_err(LLQ_EUNSUPPORTED, "unknown tensor type %u for tensor '%s'", t->type, t->name);
    if (t->n_dims < 1 || t->n_dims > LLQ_MAX_DIMS)
        return llq_err(LLQ_EFORMAT, "tensor '%s': %u dimensions (1..%d allowed)", t->name, t->n_dims, LLQ_MAX_DIMS);
    t->n_elem = 1;
    t->n_rows = 1;
    int overflow = 0;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (take64(c, &t->dims[d]))
            goto trunc;
        if (t->dims[d] == 0)
            return llq_err(LLQ_EFORMAT, "tensor '%s': dimension %u is 0", t->name, d);
        overflow |= llq_mul_u64(&t->n_elem, t->n_elem, t->dims[d]);
        if (d + 1 < t->n_dims)
            overflow |= llq_mul_u64(&t->n_rows, t->n_rows, t->dims[d]);
    }
    if (overflow)
        return llq_err(LLQ_EFORMAT, "tensor '%s': the product of its dimensions overflows 64 bits", t->name);
    t->row_len = t->dims[t->n_dims - 1];
    if (take32(c, &t->group) || take32(c, &t->crc) || take64(c, &t->offset) || take64(c, &t->size))
        goto trunc;
    if (!llq_group_valid(t->type, t->group))
        return llq_err(LLQ_EFORMAT, "tensor '%s': group %u is not allowed for type %s", t->name, t->group,
                       llq_type_name(t->type));
    uint64_t expect;
    if (llq_row_bytes(&t->row_bytes, t->type, t->group, t->row_len) ||
        llq_mul_u64(&expect, t->row_bytes, t->n_rows))
        return llq_err(LLQ_EFORMAT, "tensor '%s': its byte size overflows 64 bits", t->name);
    if (t->size != expect)
        return llq_err(LLQ_EFORMAT, "tensor '%s': size %llu, but type %s and its shape need %llu bytes", t->name,
                       (unsigned long long)t->size, llq_type_name(t->type), (unsigned long long)expect);
    uint64_t end;
    if (t->offset % LLQ_ALIGN || t->offset < LLQ_HEADER_SIZE)
        return llq_err(LLQ_EFORMAT, "tensor '%s': offset %llu is not a multiple of %d past the header", t->name,
                       (unsigned long long)t->offset, LLQ_ALIGN);
    if (llq_add_u64(&end, t->offset, t->size) || end > f->size)
        return llq_err(LLQ_EFORMAT, "tensor '%s': data [%llu, +%llu) runs past the end of the file (%llu bytes)",
                       t->name, (unsigned long long)t->offset, (unsigned long long)t->size,
                       (unsigned long long)f->size);
    t->data = f->map + t->offset;
    return LLQ_OK;
trunc:
    return llq_err(LLQ_EFORMAT, "tensor '%s': table entry runs past the end of the table", t->name);
}

typedef struct range {
    uint64_t off, end;
    const char *name; /* tensor name, or NULL for a section named by what */
    const char *what;
} range;

static int cmp_range(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static void range_desc(char *buf, size_t n, const range *r)
{
    if (r->name)
        snprintf(buf, n, "tensor '%s'", r->name);
    else
        snprintf(buf, n, "%s", r->what);
}

/* Sorts the data ranges of all tensors, the metadata and the table; refuses any overlap. */
static int check_overlaps(llq_file *f, uint64_t moff, uint64_t msize, uint64_t toff, uint64_t tsize)
{
    size_t n = 0;
    range *r = malloc((f->n_tensors + 2) * sizeof *r);
    if (!r)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->n_tensors; i++)
        r[n++] = (range){f->tensors[i].offset, f->tensors[i].offset + f->tensors[i].size, f->tensors[i].name, NULL};
    if (msize)
        r[n++] = (range){moff, moff + msize, NULL, "the metadata section"};
    if (tsize)
        r[n++] = (range){toff, toff + tsize, NULL, "the tensor table"};
    qsort(r, n, sizeof *r, cmp_range);
    int rc = LLQ_OK;
    size_t last = 0; /* the range reaching furthest so far */
    for (size_t i = 1; i < n; i++) {
        if (r[i].off < r[last].end) {
            char a[LLQ_MAX_NAME + 16], b[LLQ_MAX_NAME + 16];
            range_desc(a, sizeof a, &r[last]);
            range_desc(b, sizeof b, &r[i]);
            rc = llq_err(LLQ_EFORMAT, "%s [%llu, %llu) overlaps %s [%llu, %llu)", a, (unsigned long long)r[last].off,
                         (unsigned long long)r[last].end, b, (unsigned long long)r[i].off,
                         (unsigned long long)r[i].end);
            break;
        }
        if (r[i].end > r[last].end)
            last = i;
    }
    free(r);
    return rc;
}

typedef struct name_idx {
    const char *name;
    size_t idx;
} name_idx;

static int cmp_name_idx(const void *a, const void *b)
{
    return strcmp(((const name_idx *)a)->name, ((const name_idx *)b)->name);
}

/* Sorts n names into idx (allocated here); refuses duplicates (what = "tensor name" / "metadata key"). */
static int sort_names(name_idx **out, size_t n, const char *(*name_at)(const llq_file *, size_t), const llq_file *f,
                      const char *what)
{
    name_idx *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = (name_idx){name_at(f, i), i};
    qsort(v, n, sizeof *v, cmp_name_idx);
    *out = v;
    for (size_t i = 1; i < n; i++)
        if (!strcmp(v[i].name, v[i - 1].name))
            return llq_err(LLQ_EFORMAT, "%s '%s' appears twice", what, v[i].name);
    return LLQ_OK;
}

static const char *tensor_name_at(const llq_file *f, size_t i) { return f->tensors[i].name; }
static const char *meta_key_at(const llq_file *f, size_t i) { return f->meta[i].m.key; }

int fmt_build_indices(llq_file *f)
{
    int rc = sort_names(&f->tensor_by_name, f->n_tensors, tensor_name_at, f, "tensor name");
    if (!rc)
        rc = sort_names(&f->meta_by_key, f->n_meta, meta_key_at, f, "metadata key");
    return rc;
}

static const name_idx *find_name(const name_idx *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, v[mid].name);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- header ---- */

static int region(const llq_file *f, uint64_t off, uint64_t size, const char *what)
{
    uint64_t end;
    if (off < LLQ_HEADER_SIZE || llq_add_u64(&end, off, size) || end > f->size)
        return llq_err(LLQ_EFORMAT, "%s [%llu, +%llu) lies outside the file (%llu bytes)", what,
                       (unsigned long long)off, (unsigned long long)size, (unsigned long long)f->size);
    return LLQ_OK;
}

static int parse(llq_file *f)
{
    const uint8_t *h = f->map;
    if (f->size >= 8 && memcmp(h, MAGIC, 8) != 0) {
        const char *what = llq_sniff_text(h, f->size < 4096 ? f->size : 4096);
        return what ? llq_err(LLQ_EFORMAT, "not an .llq file: %s", what)
                    : llq_err(LLQ_EFORMAT, "not an .llq file (bad magic)");
    }
    if (f->size < LLQ_HEADER_SIZE)
        return llq_err(LLQ_EFORMAT, "truncated: %llu bytes, shorter than the %d-byte header",
                       (unsigned long long)f->size, LLQ_HEADER_SIZE);
    uint32_t major = rd32(h + 8);
    f->minor = rd32(h + 12);
    if (major > LLQ_FORMAT_MAJOR)
        return llq_err(LLQ_EVERSION, "written by a newer llq (format %u.%u; this reader supports %d.x)", major,
                       f->minor, LLQ_FORMAT_MAJOR);
    if (major < 1)
        return llq_err(LLQ_EFORMAT, "bad format version %u.%u", major, f->minor);
    uint32_t hcrc = llq_crc32(0, h, 124);
    if (hcrc != rd32(h + 124))
        return llq_err(LLQ_ECRC, "header CRC mismatch (stored 0x%08x, computed 0x%08x)", rd32(h + 124), hcrc);
    uint64_t fsize = rd64(h + 16);
    if (fsize > f->size)
        return llq_err(LLQ_EFORMAT, "truncated: header says %llu bytes, file has %llu", (unsigned long long)fsize,
                       (unsigned long long)f->size);
    if (fsize < f->size)
        return llq_err(LLQ_EFORMAT, "%llu bytes of garbage after the end given in the header (%llu bytes)",
                       (unsigned long long)(f->size - fsize), (unsigned long long)fsize);
    uint32_t flags = rd32(h + 68);
    if (flags)
        return llq_err(LLQ_EUNSUPPORTED, "unknown header flags 0x%08x", flags);
    uint64_t moff = rd64(h + 24), msize = rd64(h + 32), toff = rd64(h + 40), tsize = rd64(h + 48);
    uint32_t nt = rd32(h + 56);
    int rc;
    if ((rc = region(f, moff, msize, "metadata section")) || (rc = region(f, toff, tsize, "tensor table")))
        return rc;
    if (moff < toff + tsize && toff < moff + msize)
        return llq_err(LLQ_EFORMAT, "the metadata section and the tensor table overlap");
    uint32_t c = llq_crc32(0, f->map + moff, msize);
    if (c != rd32(h + 60))
        return llq_err(LLQ_ECRC, "metadata CRC mismatch (stored 0x%08x, computed 0x%08x)", rd32(h + 60), c);
    c = llq_crc32(0, f->map + toff, tsize);
    if (c != rd32(h + 64))
        return llq_err(LLQ_ECRC, "tensor table CRC mismatch (stored 0x%08x, computed 0x%08x)", rd32(h + 64), c);
    if ((rc = fmt_parse_meta(f, f->map + moff, msize)))
        return rc;
    /* smallest entry: 4 + 1 + 4 + 4 + 8 + 4 + 4 + 8 + 8 = 45 bytes */
    if (nt > MAX_ENTRIES || (uint64_t)nt * 45 > tsize)
        return llq_err(LLQ_EFORMAT, "tensor count %u does not fit the %llu-byte table", nt,
                       (unsigned long long)tsize);
    f->tensors = calloc(nt ? nt : 1, sizeof *f->tensors);
    if (!f->tensors)
        return llq_err(LLQ_ENOMEM, "out of memory");
    cur tc = {f->map + toff, f->map + toff + tsize};
    for (uint32_t i = 0; i < nt; i++)
        if ((rc = parse_entry(f, &tc, &f->tensors[i], i)))
            return rc;
    if (tc.p != tc.end)
        return llq_err(LLQ_EFORMAT, "tensor table has %llu bytes after its last entry",
                       (unsigned long long)(tc.end - tc.p));
    if ((rc = check_overlaps(f, moff, msize, toff, tsize)))
        return rc;
    return fmt_build_indices(f);
}

/* The whole file (f->size bytes) from fd into huge-page memory. */
static int read_all(llq_file *f, int fd)
{
    uint8_t *m = llq_bigmem_alloc((size_t)f->size);
    uint64_t got = 0;
    if (!m)
        return llq_err(LLQ_ENOMEM, "out of memory (%llu bytes for the file)", (unsigned long long)f->size);
    f->map = m;
    f->in_memory = 1;
    while (got < f->size) {
        uint64_t want = f->size - got < (1u << 30) ? f->size - got : (1u << 30);
        ssize_t r = read(fd, m + got, (size_t)want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return llq_err(LLQ_EIO, "read: %s", strerror(errno));
        if (r == 0)
            return llq_err(LLQ_EIO, "read: the file shrank while it was read");
        got += (uint64_t)r;
    }
    return LLQ_OK;
}

int llq_open_flags(llq_file **out, const char *path, unsigned flags)
{
    int rc = LLQ_OK, fd = -1;
    *out = NULL;
    llq_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return llq_err(LLQ_ENOMEM, "%s: out of memory", path);
    }
    f->page = sysconf(_SC_PAGESIZE);
    if ((rc = llq_open_input(&fd, &f->size, path, 0))) /* never blocks on a FIFO */
        goto done;
    if (f->size > SIZE_MAX / 2) {
        rc = llq_err(LLQ_ELIMIT, "%s: %llu bytes do not fit in memory", path, (unsigned long long)f->size);
        goto done;
    }
    if (f->size > 0 && (flags & LLQ_OPEN_READ)) {
        if ((rc = read_all(f, fd))) {
            llq_err_prefix(rc, path);
            goto done;
        }
    } else if (f->size > 0) {
        void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = llq_err(LLQ_EIO, "%s: mmap: %s", path, strerror(errno));
            goto done;
        }
        f->map = m;
    }
    if (f->size == 0)
        rc = llq_err(LLQ_EFORMAT, "truncated: the file is empty");
    else if (f->size >= 4 && memcmp(f->map, "GGUF", 4) == 0)
        rc = fmt_gguf_load(f);
    else
        rc = parse(f);
    if (rc)
        llq_err_prefix(rc, path);
done:
    if (fd >= 0)
        close(fd);
    if (rc) {
        llq_close(f);
        return rc;
    }
    *out = f;
    return LLQ_OK;
}

int llq_open(llq_file **out, const char *path)
{
    return llq_open_flags(out, path, 0);
}

void llq_close(llq_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_tensors; i++)
        free((char *)f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free((char *)f->meta[i].m.key);
        free(f->meta[i].strs);
    }
    free(f->tensors);
    free(f->meta);
    free(f->meta_buf);
    free(f->owned);
    free(f->tensor_by_name);
    free(f->meta_by_key);
    if (f->in_memory)
        llq_bigmem_free((void *)(uintptr_t)f->map, (size_t)f->size);
    else if (f->map)
        munmap((void *)f->map, (size_t)f->size);
    free(f->path);
    free(f);
}

const char *llq_file_path(const llq_file *f) { return f->path; }
uint64_t llq_file_size(const llq_file *f) { return f->size; }
uint32_t llq_file_version_minor(const llq_file *f) { return f->minor; }
const char *llq_file_format(const llq_file *f) { return f->gguf ? "gguf" : "llq"; }
size_t llq_n_tensors(const llq_file *f) { return f->n_tensors; }
size_t llq_n_meta(const llq_file *f) { return f->n_meta; }

const llq_tensor *llq_tensor_at(const llq_file *f, size_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const llq_meta *llq_meta_at(const llq_file *f, size_t i)
{
    return i < f->n_meta ? &f->meta[i].m : NULL;
}

const llq_tensor *llq_tensor_find(const llq_file *f, const char *name)
{
    const name_idx *e = find_name(f->tensor_by_name, f->n_tensors, name);
    return e ? &f->tensors[e->idx] : NULL;
}

const llq_meta *llq_meta_find(const llq_file *f, const char *key)
{
    const name_idx *e = find_name(f->meta_by_key, f->n_meta, key);
    return e ? &f->meta[e->idx].m : NULL;
}

int llq_verify_tensor(const llq_file *f, const llq_tensor *t)
{
    if (f->gguf)
        return LLQ_OK; /* GGUF stores no checksums: nothing to check beyond what opening does */
    uint32_t c = 0;
    const uint8_t *p = t->data;
    uint64_t left = t->size, chunk = 64u << 20;
    while (left) {
        uint64_t n = left < chunk ? left : chunk;
        c = llq_crc32(c, p, n);
        llq_drop_pages(f, p, n);
        p += n;
        left -= n;
    }
    if (c != t->crc)
        return llq_err(LLQ_ECRC, "%s: tensor '%s': CRC mismatch (stored 0x%08x, computed 0x%08x)", f->path, t->name,
                       t->crc, c);
    return LLQ_OK;
}

void llq_drop_pages(const llq_file *f, const void *p, uint64_t n)
{
    if (f->in_memory)
        return; /* not page cache: dropping would lose the only copy */
    uintptr_t pg = (uintptr_t)f->page, a = (uintptr_t)p, b = a + n;
    a = (a + pg - 1) / pg * pg; /* only whole pages inside [p, p+n) */
    b = b / pg * pg;
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

/* ---- typed metadata getters ---- */

static const char *meta_type_name(uint32_t t)
{
    static const char *names[] = {"?", "u32", "i32", "u64", "i64", "f32", "f64", "bool", "string", "array"};
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static int get(const llq_file *f, const char *key, const llq_meta **m)
{
    *m = llq_meta_find(f, key);
    if (!*m)
        return llq_err(LLQ_ENOTFOUND, "%s: metadata key '%s' is missing", f->path, key);
    return LLQ_OK;
}

static int mismatch(const llq_file *f, const llq_meta *m, const char *want)
{
    return llq_err(LLQ_EFORMAT, "%s: metadata '%s' is %s, expected %s", f->path, m->key, meta_type_name(m->type),
                   want);
}

/* Integer value as sign + magnitude: returns 0 if m holds an integer. */
static int as_int(const llq_meta *m, int *neg, uint64_t *mag)
{
    *neg = 0;
    switch (m->type) {
    case LLQ_META_U32: *mag = rd32(m->value); return 0;
    case LLQ_META_U64: *mag = rd64(m->value); return 0;
    case LLQ_META_I32: {
        int32_t v = (int32_t)rd32(m->value);
        *neg = v < 0;
        *mag = v < 0 ? (uint64_t)(-(int64_t)v) : (uint64_t)v;
        return 0;
    }
    case LLQ_META_I64: {
        int64_t v = (int64_t)rd64(m->value);
        *neg = v < 0;
        *mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        return 0;
    }
    default: return -1;
    }
}

int llq_meta_get_u64(const llq_file *f, const char *key, uint64_t *out)
{
    const llq_meta *m;
    int neg, rc = get(f, key, &m);
    uint64_t v;
    if (rc)
        return rc;
    if (as_int(m, &neg, &v) || neg)
        return mismatch(f, m, "a non-negative integer");
    *out = v;
    return LLQ_OK;
}

int llq_meta_get_u32(const llq_file *f, const char *key, uint32_t *out)
{
    uint64_t v;
    int rc = llq_meta_get_u64(f, key, &v);
    if (rc)
        return rc;
    if (v > UINT32_MAX)
        return llq_err(LLQ_EFORMAT, "%s: metadata '%s' = %llu does not fit u32", f->path, key, (unsigned long long)v);
    *out = (uint32_t)v;
    return LLQ_OK;
}

int llq_meta_get_i32(const llq_file *f, const char *key, int32_t *out)
{
    const llq_meta *m;
    int neg, rc = get(f, key, &m);
    uint64_t v;
    if (rc)
        return rc;
    if (as_int(m, &neg, &v))
        return mismatch(f, m, "an integer");
    if (v > (neg ? 2147483648u : 2147483647u))
        return llq_err(LLQ_EFORMAT, "%s: metadata '%s' does not fit i32", f->path, key);
    *out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
    return LLQ_OK;
}

int llq_meta_get_f64(const llq_file *f, const char *key, double *out)
{
    const llq_meta *m;
    int neg, rc = get(f, key, &m);
    uint64_t v;
    if (rc)
        return rc;
    if (m->type == LLQ_META_F32) {
        float x;
        memcpy(&x, m->value, 4);
        *out = x;
    } else if (m->type == LLQ_META_F64) {
        memcpy(out, m->value, 8);
    } else if (!as_int(m, &neg, &v)) {
        *out = neg ? -(double)v : (double)v;
    } else {
        return mismatch(f, m, "a number");
    }
    return LLQ_OK;
}

int llq_meta_get_f32(const llq_file *f, const char *key, float *out)
{
    double d;
    int rc = llq_meta_get_f64(f, key, &d);
    if (rc)
        return rc;
    *out = (float)d;
    return LLQ_OK;
}

int llq_meta_get_bool(const llq_file *f, const char *key, int *out)
{
    const llq_meta *m;
    int rc = get(f, key, &m);
    if (rc)
        return rc;
    if (m->type != LLQ_META_BOOL)
        return mismatch(f, m, "bool");
    *out = m->value[0];
    return LLQ_OK;
}

int llq_meta_get_str(const llq_file *f, const char *key, const char **out, uint64_t *len)
{
    const llq_meta *m;
    int rc = get(f, key, &m);
    if (rc)
        return rc;
    if (m->type != LLQ_META_STR)
        return mismatch(f, m, "string");
    *out = (const char *)m->value;
    *len = m->value_size;
    return LLQ_OK;
}

int llq_meta_arr_str(const llq_meta *m, uint64_t i, const char **out, uint64_t *len)
{
    if (m->type != LLQ_META_ARR || m->elem_type != LLQ_META_STR)
        return llq_err(LLQ_EINVAL, "metadata '%s' is not a string array", m->key);
    if (i >= m->count)
        return llq_err(LLQ_EINVAL, "metadata '%s': index %llu out of %llu strings", m->key, (unsigned long long)i,
                       (unsigned long long)m->count);
    const meta_rec *r = (const meta_rec *)m; /* m is the first member of its meta_rec */
    *len = rd32(r->strs[i]);
    *out = (const char *)r->strs[i] + 4;
    return LLQ_OK;
}

double llq_meta_arr_num(const llq_meta *m, uint64_t i)
{
    if (m->type != LLQ_META_ARR || i >= m->count)
        return 0;
    const uint8_t *p = m->value + 12 + i * meta_elem_size(m->elem_type);
    switch (m->elem_type) {
    case LLQ_META_U32: return rd32(p);
    case LLQ_META_I32: return (int32_t)rd32(p);
    case LLQ_META_U64: return (double)rd64(p);
    case LLQ_META_I64: return (double)(int64_t)rd64(p);
    case LLQ_META_F32: { float x; memcpy(&x, p, 4); return x; }
    case LLQ_META_F64: { double x; memcpy(&x, p, 8); return x; }
    case LLQ_META_BOOL: return p[0];
    default: return 0;
    }
}
