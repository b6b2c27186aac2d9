/* st_write.h — a minimal safetensors writer for tests and benchmarks (JSON header + raw little-endian data).
 * Independent of the llq readers and writers, so that what they read is made by other code. */
#ifndef LLQ_TEST_ST_WRITE_H
#define LLQ_TEST_ST_WRITE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_tensor {
    const char *name;
    const char *dtype;  /* "F32", "F16", "BF16", "F64" */
    int n_dims;         /* 1 or 2 */
    uint64_t dims[2];
    const void *data;   /* numel * dtype size bytes; NULL: fill(ctx, buf, n) is called chunk by chunk */
} st_tensor;

static size_t st_dtype_size(const char *dtype)
{
    return strcmp(dtype, "F32") == 0 ? 4 : strcmp(dtype, "F64") == 0 ? 8 : 2;
}

static uint64_t st_nbytes(const st_tensor *t)
{
    uint64_t n = st_dtype_size(t->dtype);
    for (int d = 0; d < t->n_dims; d++)
        n *= t->dims[d];
    return n;
}

/* Returns 0 or -1. fill may be NULL when every tensor has data. */
static int st_write(const char *path, const st_tensor *t, size_t n, void (*fill)(void *ctx, void *buf, size_t n),
                    void *ctx)
{
    size_t cap = 256 + n * 256, len = 0;
    char *h = malloc(cap);
    uint64_t off = 0;
    FILE *f = NULL;
    int rc = -1;
    if (!h)
        return -1;
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < n; i++) {
        uint64_t nb = st_nbytes(&t[i]);
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu", t[i].name,
                                t[i].dtype, (unsigned long long)t[i].dims[0]);
        if (t[i].n_dims == 2)
            len += (size_t)snprintf(h + len, cap - len, ",%llu", (unsigned long long)t[i].dims[1]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                                (unsigned long long)(off + nb));
        off += nb;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8)
        h[len++] = ' ';
    uint64_t hl = len;
    if (!(f = fopen(path, "wb")) || fwrite(&hl, 8, 1, f) != 1 || fwrite(h, 1, len, f) != len)
        goto done;
    for (size_t i = 0; i < n; i++) {
        uint64_t nb = st_nbytes(&t[i]);
        if (t[i].data) {
            if (fwrite(t[i].data, 1, nb, f) != nb)
                goto done;
            continue;
        }
        char buf[1 << 16];
        for (uint64_t o = 0; o < nb; o += sizeof buf) {
            size_t k = nb - o < sizeof buf ? (size_t)(nb - o) : sizeof buf;
            fill(ctx, buf, k);
            if (fwrite(buf, 1, k, f) != k)
                goto done;
        }
    }
    rc = 0;
done:
    if (f && fclose(f))
        rc = -1;
    free(h);
    return rc;
}

#endif
