/* calib_q.h — private helpers of GPTQ/AWQ: group geometry, scale search against a (block of) H, code rounding
 * (packing and snapping are quant.h's). Dequantized value = d·(n − z). */
#ifndef LLQ_CALIB_Q_H
#define LLQ_CALIB_Q_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cq_layout {
    uint32_t type, group;
    size_t cols, glen, n_groups, row_bytes;
    int qmin, qmax, zfix; /* code range; zero point of symmetric types (q8 0, q4 8); -1 for q4a */
} cq_layout;

/* 0, or LLQ_EINVAL for a non-quantized type / bad group. */
int cq_layout_init(cq_layout *l, uint32_t type, uint32_t group, size_t cols);

/* Chooses (d, z) for the n values x of one group minimising Σ δ_k² wd_k (wd NULL: 1) or, if hb is not NULL,
 * δᵀ·hb·δ (hb: n×n floats with row stride glen, zero-padded to glen×glen). clip: also try ranges shrunk down to
 * half (else only the full range). scratch: 2·glen floats. d is already rounded to f16. */
void cq_search(const cq_layout *l, const float *x, size_t n, const float *wd, const float *hb, int clip,
               float *scratch, float *d, int *z);

/* The diagonal blocks of h (cols×cols doubles) per group, as floats: block g at out + g·glen², glen×glen with
 * the group's n_g×n_g values and zeros elsewhere. out: n_groups·glen² floats. */
void cq_hblocks(const cq_layout *l, const double *h, float *out);

static inline int cq_code(float x, float inv_d, int z, int qmin, int qmax)
{
    float v = nearbyintf(x * inv_d) + (float)z;
    if (!(v >= (float)qmin)) /* also NaN */
        v = (float)qmin;
    if (v > (float)qmax)
        v = (float)qmax;
    return (int)v;
}
static inline float cq_inv(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

struct llq_tokenizer;
/* Reads path (UTF-8 text, at most 2 GiB), tokenizes it without BOS. *ids malloc'd (caller frees), *bytes = size.
 * Errors name the file. */
/* tok NULL: the file holds little-endian uint32 ids, each < vocab. */
int cq_load_tokens(const char *path, const struct llq_tokenizer *tok, uint32_t vocab, uint32_t **ids, size_t *n_ids,
                   uint64_t *bytes);

#endif
