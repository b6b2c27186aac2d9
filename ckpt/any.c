/* any.c — one view over a .llq file or a source checkpoint, so that llq-inspect's tensor table, statistics,
 * comparisons and checksum checks work on both. Rows are served as f32. */
#include "llq/ckpt.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct llq_any {
    llq_file *llq;
    llq_src *src;
    llq_any_tensor *t;
    size_t n;
    struct name_idx { const char *name; size_t i; } *by_name; /* sorted by name */
};

static int opens_as_llq(const char *path)
{
    unsigned char m[4] = {0};
    int fd;
    if (llq_open_input(&fd, NULL, path, 0)) /* not a regular file: the error comes from the reader */
        return 0;
    ssize_t k = read(fd, m, 4);
    close(fd);
    return k == 4 && (memcmp(m, "\x89LLQ", 4) == 0 || memcmp(m, "GGUF", 4) == 0); /* llq_open reads both */
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct name_idx *)a)->name, ((const struct name_idx *)b)->name);
}

static void rows_of(llq_any_tensor *v)
{
    v->row_len = v->n_dims ? v->dims[v->n_dims - 1] : 1;
    v->n_rows = v->n_elem && v->row_len ? v->n_elem / v->row_len : 0;
}

int llq_any_open(llq_any **out, const char *path)
{
    *out = NULL;
    llq_any *a = calloc(1, sizeof *a);
    if (!a)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", path);
    int rc;
    if (opens_as_llq(path) || ends_with(path, ".llq") || ends_with(path, ".gguf"))
        rc = llq_open(&a->llq, path);
    else
        rc = llq_src_open(&a->src, path);
    if (rc)
        goto done;
    a->n = a->llq ? llq_n_tensors(a->llq) : llq_src_count(a->src);
    a->t = calloc(a->n ? a->n : 1, sizeof *a->t);
    a->by_name = calloc(a->n ? a->n : 1, sizeof *a->by_name);
    if (!a->t || !a->by_name) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < a->n; i++) {
        llq_any_tensor *v = &a->t[i];
        v->index = i;
        if (a->llq) {
            const llq_tensor *t = llq_tensor_at(a->llq, i);
            v->name = t->name;
            v->type = llq_type_name(t->type);
            v->n_dims = t->n_dims;
            memcpy(v->dims, t->dims, t->n_dims * sizeof t->dims[0]);
            v->n_elem = t->n_elem;
            v->bytes = t->size;
            v->group = t->group;
            v->quant = llq_type_is_quant(t->type);
            v->offset = t->offset;
            v->llq = t;
        } else {
            const llq_src_tensor *t = llq_src_at(a->src, i);
            v->name = t->name;
            v->type = llq_src_dtype_name(t->dtype);
            v->n_dims = t->n_dims;
            memcpy(v->dims, t->dims, t->n_dims * sizeof t->dims[0]);
            v->n_elem = t->n_elem;
            v->bytes = t->nbytes;
            v->offset = UINT64_MAX;
        }
        rows_of(v);
        a->by_name[i] = (struct name_idx){v->name, i};
    }
    qsort(a->by_name, a->n, sizeof *a->by_name, cmp_name);
done:
    if (rc) {
        llq_any_close(a);
        return rc;
    }
    *out = a;
    return LLQ_OK;
}

void llq_any_close(llq_any *a)
{
    if (!a)
        return;
    llq_close(a->llq);
    llq_src_close(a->src);
    free(a->t);
    free(a->by_name);
    free(a);
}

const llq_file *llq_any_llq(const llq_any *a) { return a->llq; }
const char *llq_any_format(const llq_any *a) { return a->llq ? "llq" : llq_src_format(a->src); }
size_t llq_any_count(const llq_any *a) { return a->n; }

const llq_any_tensor *llq_any_at(const llq_any *a, size_t i)
{
    return i < a->n ? &a->t[i] : NULL;
}

const llq_any_tensor *llq_any_find(const llq_any *a, const char *name)
{
    struct name_idx key = {name, 0};
    const struct name_idx *e = bsearch(&key, a->by_name, a->n, sizeof key, cmp_name);
    return e ? &a->t[e->i] : NULL;
}

/* ---- rows of a source tensor: its whole contiguous data, converted row by row ---- */

typedef struct src_rows {
    const void *data;
    uint32_t dtype;
    uint64_t row_len;
} src_rows;

static int src_row_f32(void *ctx, uint64_t r, float *out)
{
    const src_rows *s = ctx;
    uint64_t k = s->row_len, o = r * k;
    switch (s->dtype) {
    case LLQ_SRC_F32: memcpy(out, (const float *)s->data + o, k * sizeof *out); break;
    case LLQ_SRC_F16: for (uint64_t i = 0; i < k; i++) out[i] = llq_f16_to_f32(((const uint16_t *)s->data)[o + i]); break;
    case LLQ_SRC_BF16: for (uint64_t i = 0; i < k; i++) out[i] = llq_bf16_to_f32(((const uint16_t *)s->data)[o + i]); break;
    case LLQ_SRC_F64: for (uint64_t i = 0; i < k; i++) out[i] = (float)((const double *)s->data)[o + i]; break;
    case LLQ_SRC_I64: for (uint64_t i = 0; i < k; i++) out[i] = (float)((const int64_t *)s->data)[o + i]; break;
    case LLQ_SRC_I32: for (uint64_t i = 0; i < k; i++) out[i] = (float)((const int32_t *)s->data)[o + i]; break;
    case LLQ_SRC_I16: for (uint64_t i = 0; i < k; i++) out[i] = (float)((const int16_t *)s->data)[o + i]; break;
    case LLQ_SRC_I8: for (uint64_t i = 0; i < k; i++) out[i] = (float)((const int8_t *)s->data)[o + i]; break;
    case LLQ_SRC_U8: case LLQ_SRC_BOOL:
        for (uint64_t i = 0; i < k; i++) out[i] = (float)((const uint8_t *)s->data)[o + i];
        break;
    default: return llq_err(LLQ_EUNSUPPORTED, "unknown source dtype %u", s->dtype);
    }
    return LLQ_OK;
}

/* Row source for tensor i: fills fn/ctx (ctx storage provided by the caller). */
typedef struct rows {
    llq_row_fn fn;
    void *ctx;
    llq_tensor_rows tr;
    src_rows sr;
} rows;

static int rows_begin(llq_any *a, size_t i, rows *r)
{
    if (a->llq) {
        r->tr = (llq_tensor_rows){a->llq, a->t[i].llq, 0};
        r->fn = llq_tensor_row_f32;
        r->ctx = &r->tr;
        return LLQ_OK;
    }
    const void *p;
    int rc = llq_src_data(a->src, i, &p);
    if (rc)
        return rc;
    r->sr = (src_rows){p, llq_src_at(a->src, i)->dtype, a->t[i].row_len};
    r->fn = src_row_f32;
    r->ctx = &r->sr;
    return LLQ_OK;
}

static void rows_end(llq_any *a, size_t i)
{
    if (a->src)
        llq_src_release(a->src, i);
}

int llq_any_stats(llq_stats *out, llq_any *a, size_t i)
{
    rows r;
    int rc = rows_begin(a, i, &r);
    if (rc)
        return rc;
    rc = llq_stats_rows(out, r.fn, r.ctx, a->t[i].n_rows, a->t[i].row_len);
    rows_end(a, i);
    return rc;
}

int llq_any_compare(llq_cmp *out, llq_any *x, size_t i, llq_any *ref, size_t j)
{
    const llq_any_tensor *tx = &x->t[i], *tr = &ref->t[j];
    int same = tx->n_dims == tr->n_dims;
    for (uint32_t d = 0; same && d < tx->n_dims; d++)
        same = tx->dims[d] == tr->dims[d];
    if (!same) {
        char a[200], b[200];
        llq_dims_str(a, sizeof a, tx->dims, tx->n_dims);
        llq_dims_str(b, sizeof b, tr->dims, tr->n_dims);
        return llq_err(LLQ_EINVAL, "tensor '%s': shape %s differs from the reference's %s", tx->name, a, b);
    }
    rows rx, rr;
    int rc = rows_begin(x, i, &rx);
    if (rc)
        return rc;
    if (!(rc = rows_begin(ref, j, &rr))) {
        rc = llq_compare_rows(out, rx.fn, rx.ctx, rr.fn, rr.ctx, tx->n_rows, tx->row_len);
        if (!(x == ref && i == j))
            rows_end(ref, j);
    }
    rows_end(x, i);
    return rc;
}

int llq_any_verify(llq_any *a, size_t i)
{
    if (a->llq)
        return llq_verify_tensor(a->llq, a->t[i].llq);
    const void *p;
    int rc = llq_src_data(a->src, i, &p); /* checks the zip entry CRC the first time a storage is read */
    llq_src_release(a->src, i);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", llq_errmsg());
        return llq_err(rc, "%s (tensor '%s')", msg, a->t[i].name);
    }
    return LLQ_OK;
}
