/* src.c — llq_src: open + mmap a checkpoint, detect its container, validate the tensor table, serve bytes. */
#include "srcint.h"

#include "llq/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} DTYPES[] = {
    [LLQ_SRC_F32] = {"f32", 4}, [LLQ_SRC_F16] = {"f16", 2}, [LLQ_SRC_BF16] = {"bf16", 2},
    [LLQ_SRC_F64] = {"f64", 8}, [LLQ_SRC_I64] = {"i64", 8}, [LLQ_SRC_I32] = {"i32", 4},
    [LLQ_SRC_I16] = {"i16", 2}, [LLQ_SRC_I8] = {"i8", 1},   [LLQ_SRC_U8] = {"u8", 1},
    [LLQ_SRC_BOOL] = {"bool", 1},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

const char *llq_src_dtype_name(uint32_t dtype)
{
    return dtype < N_DTYPES ? DTYPES[dtype].name : "?";
}

size_t llq_src_dtype_size(uint32_t dtype)
{
    return dtype < N_DTYPES ? DTYPES[dtype].size : 1;
}

int src_storage_add(llq_src *s, size_t *idx, const char *key, int32_t dtype)
{
    if (s->n_st == s->cap_st) {
        if (s->cap_st >= SRC_MAX_TENSORS)
            return llq_err(LLQ_ELIMIT, "more than %u storages", SRC_MAX_TENSORS);
        size_t cap = s->cap_st ? s->cap_st * 2 : 64;
        src_storage *st = realloc(s->st, cap * sizeof *st);
        if (!st)
            return llq_err(LLQ_ENOMEM, "out of memory");
        s->st = st;
        s->cap_st = cap;
    }
    src_storage *st = &s->st[s->n_st];
    memset(st, 0, sizeof *st);
    if (!(st->key = strdup(key)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    st->dtype = dtype;
    *idx = s->n_st++;
    return 0;
}

int src_tensor_add(llq_src *s, const char *name, size_t name_len, uint32_t dtype, uint32_t n_dims,
                   const uint64_t *dims, size_t storage, uint64_t elem_off, const uint64_t *stride)
{
    if (name_len == 0 || name_len > SRC_MAX_NAME || memchr(name, 0, name_len))
        return llq_err(LLQ_EFORMAT, "invalid tensor name (%zu bytes)", name_len);
    if (dtype >= N_DTYPES)
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%.*s': unknown dtype", (int)name_len, name);
    if (n_dims > LLQ_SRC_MAX_DIMS)
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%.*s' has %u dimensions (max %d)", (int)name_len, name, n_dims,
                       LLQ_SRC_MAX_DIMS);
    if (s->n == s->cap) {
        if (s->cap >= SRC_MAX_TENSORS)
            return llq_err(LLQ_ELIMIT, "more than %u tensors", SRC_MAX_TENSORS);
        size_t cap = s->cap ? s->cap * 2 : 64;
        llq_src_tensor *t = realloc(s->t, cap * sizeof *t);
        if (t)
            s->t = t;
        src_loc *l = realloc(s->loc, cap * sizeof *l);
        if (l)
            s->loc = l;
        if (!t || !l)
            return llq_err(LLQ_ENOMEM, "out of memory");
        s->cap = cap;
    }
    llq_src_tensor *t = &s->t[s->n];
    src_loc *l = &s->loc[s->n];
    memset(t, 0, sizeof *t);
    memset(l, 0, sizeof *l);
    uint64_t ne = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (llq_mul_u64(&ne, ne, dims[d]))
            return llq_err(LLQ_ELIMIT, "tensor '%.*s': element count overflows", (int)name_len, name);
        t->dims[d] = dims[d];
    }
    if (llq_mul_u64(&t->nbytes, ne, DTYPES[dtype].size) || t->nbytes > (uint64_t)SIZE_MAX / 2)
        return llq_err(LLQ_ELIMIT, "tensor '%.*s': byte size overflows", (int)name_len, name);
    char *nm = malloc(name_len + 1);
    if (!nm)
        return llq_err(LLQ_ENOMEM, "out of memory");
    memcpy(nm, name, name_len);
    nm[name_len] = 0;
    t->name = nm;
    t->dtype = dtype;
    t->n_dims = n_dims;
    t->n_elem = ne;
    l->storage = storage;
    l->elem_off = elem_off;
    /* Row-major strides; a given stride vector is contiguous if it matches on every dim of size > 1. */
    uint64_t expect = 1;
    l->contiguous = 1;
    for (uint32_t d = n_dims; d-- > 0;) {
        l->stride[d] = stride ? stride[d] : expect;
        if (dims[d] > 1 && l->stride[d] != expect)
            l->contiguous = 0;
        expect *= dims[d] ? dims[d] : 1; /* cannot overflow: bounded by ne (or dims with a 0) */
    }
    s->n++;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    const llq_src_tensor *x = *(const llq_src_tensor *const *)a, *y = *(const llq_src_tensor *const *)b;
    return strcmp(x->name, y->name);
}

/* After a reader: every tensor inside its storage, dtypes consistent, names unique. */
static int src_finish(llq_src *s)
{
    if (s->n == 0)
        return llq_err(LLQ_EFORMAT, "no tensors found");
    for (size_t i = 0; i < s->n; i++) {
        const llq_src_tensor *t = &s->t[i];
        const src_loc *l = &s->loc[i];
        const src_storage *st = &s->st[l->storage];
        if (!st->placed)
            return llq_err(LLQ_EFORMAT, "tensor '%s': storage '%s' has no data", t->name, st->key);
        if (t->n_elem == 0)
            continue;
        uint64_t last = l->elem_off, k, end;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if (llq_mul_u64(&k, t->dims[d] - 1, l->stride[d]) || llq_add_u64(&last, last, k))
                return llq_err(LLQ_EFORMAT, "tensor '%s': offset/stride overflow", t->name);
        if (llq_add_u64(&end, last, 1) || llq_mul_u64(&end, end, llq_src_dtype_size(t->dtype)) || end > st->nbytes)
            return llq_err(LLQ_EFORMAT, "tensor '%s' (offset %llu, %llu elements) runs past its storage '%s' (%llu bytes)",
                           t->name, (unsigned long long)l->elem_off, (unsigned long long)t->n_elem, st->key,
                           (unsigned long long)st->nbytes);
    }
    const llq_src_tensor **v = malloc(s->n * sizeof *v);
    if (!v)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        v[i] = &s->t[i];
    qsort(v, s->n, sizeof *v, cmp_name);
    int err = 0;
    for (size_t i = 1; i < s->n && !err; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            err = llq_err(LLQ_EFORMAT, "tensor name '%s' appears twice", v[i]->name);
    if (!err && !(s->by_name = malloc(s->n * sizeof *s->by_name)))
        err = llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; !err && i < s->n; i++)
        s->by_name[i] = (size_t)(v[i] - s->t);
    free(v);
    return err;
}

int llq_src_open(llq_src **out, const char *path)
{
    *out = NULL;
    int err = 0;
    llq_src *s = calloc(1, sizeof *s);
    if (!s)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", path);
    s->fd = -1;
    if (!(s->path = strdup(path))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    if ((err = llq_open_input(&s->fd, &s->size, path, 0))) { /* never blocks on a FIFO; names path */
        llq_src_close(s);
        return err;
    }
    if (s->size < 8) {
        err = llq_err(LLQ_EFORMAT, "file too small (%llu bytes) to be a checkpoint", (unsigned long long)s->size);
        goto done;
    }
    void *m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (m == MAP_FAILED) {
        err = llq_err(LLQ_EIO, "mmap failed: %s", strerror(errno));
        goto done;
    }
    s->map = m;
    const uint8_t *b = s->map;
    if (b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4) {
        s->format = "torch-zip";
        err = torch_zip_load(s);
    } else if (torch_legacy_magic(b, s->size)) {
        s->format = "torch-legacy";
        err = torch_legacy_load(s);
    } else if (s->size > 8 && b[8] && strchr("{[ \t\r\n", b[8])) {
        s->format = "safetensors";
        err = safetensors_load(s);
    } else {
        const char *what = llq_sniff_text(b, s->size < 4096 ? (size_t)s->size : 4096);
        if (what)
            err = llq_err(LLQ_EFORMAT, "not a checkpoint: %s", what);
        else
            err = llq_err(LLQ_EFORMAT, "not a PyTorch (zip or legacy) or safetensors checkpoint");
    }
    if (!err)
        err = src_finish(s);
done:
    if (err) {
        llq_err_prefix(err, path);
        llq_src_close(s);
        return err;
    }
    *out = s;
    return 0;
}

void llq_src_close(llq_src *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free((char *)s->t[i].name);
        free(s->loc[i].buf);
    }
    for (size_t i = 0; i < s->n_st; i++)
        free(s->st[i].key);
    zip_close(&s->zip);
    if (s->map)
        munmap((void *)(uintptr_t)s->map, s->size);
    if (s->fd >= 0)
        close(s->fd);
    free(s->t);
    free(s->loc);
    free(s->by_name);
    free(s->st);
    free(s->path);
    free(s);
}

void llq_src_set_verify(llq_src *s, int on)
{
    s->no_verify = !on;
}

const char *llq_src_format(const llq_src *s) { return s->format; }
const char *llq_src_path(const llq_src *s) { return s->path; }
size_t llq_src_count(const llq_src *s) { return s->n; }

const llq_src_tensor *llq_src_at(const llq_src *s, size_t i)
{
    return i < s->n ? &s->t[i] : NULL;
}

const llq_src_tensor *llq_src_find(const llq_src *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const llq_src_tensor *t = &s->t[s->by_name[mid]];
        int c = strcmp(t->name, name);
        if (c == 0)
            return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Copies the strided view (elements of size esz) at src into the contiguous dst. */
static void gather(uint8_t *dst, const uint8_t *src, const llq_src_tensor *t, const src_loc *l, size_t esz)
{
    uint64_t idx[LLQ_SRC_MAX_DIMS] = {0};
    uint32_t nd = t->n_dims;
    uint64_t inner = nd ? t->dims[nd - 1] : 1, istride = nd ? l->stride[nd - 1] : 1;
    for (uint64_t done = 0; done < t->n_elem; done += inner) {
        uint64_t off = 0;
        for (uint32_t d = 0; d + 1 < nd; d++)
            off += idx[d] * l->stride[d];
        for (uint64_t j = 0; j < inner; j++)
            memcpy(dst + (done + j) * esz, src + (off + j * istride) * esz, esz);
        for (uint32_t d = nd - 1; d-- > 0;) { /* odometer over the outer dims */
            if (++idx[d] < t->dims[d])
                break;
            idx[d] = 0;
        }
    }
}

static int data(llq_src *s, size_t i, const void **out, int *pending, uint32_t *crc);

int llq_src_data(llq_src *s, size_t i, const void **out)
{
    return data(s, i, out, NULL, NULL);
}

int llq_src_data_pending(llq_src *s, size_t i, const void **out, int *pending, uint32_t *crc)
{
    *pending = 0;
    return data(s, i, out, pending, crc);
}

int llq_src_check(llq_src *s, size_t i, uint32_t crc)
{
    if (i >= s->n)
        return llq_err(LLQ_EINVAL, "%s: tensor index %zu out of range", s->path, i);
    src_storage *st = &s->st[s->loc[i].storage];
    if (st->entry && crc != st->entry->crc)
        return llq_err(LLQ_ECRC, "%s: zip: entry '%s': CRC-32 %08x does not match the recorded %08x", s->path,
                       st->entry->name, crc, st->entry->crc);
    st->crc_ok = 1;
    return 0;
}

/* pending != NULL: a whole stored entry still to be checked is handed out unchecked (see llq_src_data_pending). */
static int data(llq_src *s, size_t i, const void **out, int *pending, uint32_t *crc)
{
    *out = NULL;
    if (i >= s->n)
        return llq_err(LLQ_EINVAL, "%s: tensor index %zu out of range", s->path, i);
    const llq_src_tensor *t = &s->t[i];
    src_loc *l = &s->loc[i];
    src_storage *st = &s->st[l->storage];
    if (l->ptr) {
        *out = l->ptr;
        return 0;
    }
    static const uint64_t empty[1];
    if (t->n_elem == 0) {
        *out = l->ptr = empty;
        return 0;
    }
    size_t esz = llq_src_dtype_size(t->dtype);
    const uint8_t *base;
    void *owned = NULL;
    int err = 0;
    if (st->entry) {
        const void *p;
        int check = !st->crc_ok && !s->no_verify;
        if (check && pending && st->entry->method == 0 && l->elem_off == 0 && l->contiguous &&
            t->nbytes == st->entry->usize) {
            *pending = 1;
            *crc = st->entry->crc;
            check = 0;
        }
        if ((err = zip_read(&s->zip, st->entry, check, &p, &owned)))
            return llq_err_prefix(err, s->path);
        if (check)
            st->crc_ok = 1;
        base = p;
    } else {
        base = s->map + st->off;
    }
    const uint8_t *src = base + l->elem_off * esz;
    if (l->contiguous && ((uintptr_t)src % esz) == 0) {
        if (owned && src == owned && t->nbytes == st->nbytes) {
            l->buf = owned; /* the inflated storage is exactly this tensor */
            owned = NULL;
        }
        if (!owned) {
            *out = l->ptr = src;
            return 0;
        }
    }
    uint8_t *buf = malloc(t->nbytes);
    if (!buf) {
        err = llq_err(LLQ_ENOMEM, "%s: tensor '%s': cannot allocate %llu bytes", s->path, t->name,
                      (unsigned long long)t->nbytes);
        goto done;
    }
    if (l->contiguous)
        memcpy(buf, src, t->nbytes);
    else
        gather(buf, src, t, l, esz);
    l->buf = buf;
    *out = l->ptr = buf;
done:
    free(owned);
    return err;
}

void llq_src_release(llq_src *s, size_t i)
{
    if (!s || i >= s->n)
        return;
    src_loc *l = &s->loc[i];
    if (l->buf) {
        free(l->buf);
    } else if (l->ptr && s->n_st) {
        /* In place: drop the pages of this storage from our RSS (they stay in the page cache; the mapping is
         * private and read-only, so a later access simply faults them in again). */
        const src_storage *st = &s->st[l->storage];
        uint64_t off = st->entry ? st->entry->data_off : st->off, len = st->nbytes;
        long pg = sysconf(_SC_PAGESIZE);
        uint64_t a = off / (uint64_t)pg * (uint64_t)pg, e = off + len;
        if (len && e > a)
            madvise((void *)(uintptr_t)(s->map + a), e - a, MADV_DONTNEED);
    }
    l->buf = NULL;
    l->ptr = NULL;
}
