/* awq.c — AWQ (Lin et al. 2023): per-input-channel scales s = mean|x|^α protecting the salient channels, α
 * searched on a grid against the output error of the matrices sharing that input, and a per-group clipping
 * search. The output error of a weight error Δ over calibration inputs X is ‖Δ·Xᵀ‖² = Σ_rows δ·H·δᵀ with H = XᵀX,
 * so neither needs the activations themselves once H is known. */
#include "../kernels/kern.h" /* per-thread scratch of the kernels (internal) */
#include "calib_q.h"
#include "../kernels/kern.h" /* per-thread scratch (llq_mm_scratch) */
#include "llq/calib.h"
#include "llq/kernels.h"
#include "llq/quant.h"

#include <stdlib.h>
#include <string.h>

/* Round-to-nearest of row x (full-range scales, no clipping) into deq. scratch: 2·glen floats. */
static void rtn_row(const cq_layout *l, const float *x, float *deq, float *scratch)
{
    for (size_t g = 0; g < l->n_groups; g++) {
        size_t k0 = g * l->glen, n = l->cols - k0 < l->glen ? l->cols - k0 : l->glen;
        float d;
        int z;
        cq_search(l, x + k0, n, NULL, NULL, 0, scratch, &d, &z);
        float inv = cq_inv(d);
        for (size_t k = 0; k < n; k++)
            deq[k0 + k] = d * (float)(cq_code(x[k0 + k], inv, z, l->qmin, l->qmax) - z);
    }
}

#define SEARCH_ROWS 1024 /* rows of each matrix the α search looks at (evenly spaced) */
#define BLK 32

typedef struct awq_ctx {
    const cq_layout *l;
    const float *const *w;
    const size_t *rows;
    size_t n_w, cols;
    const float *hf, *cand;
    size_t first[5];  /* first block of each matrix; first[n_w] = all */
    double *loss;     /* per block */
    int failed;
} awq_ctx;

/* Block b of rows (evenly spaced sample of one matrix): Σ δ·H·δᵀ with δ = w − Q(w·s)/s. */
static void awq_block(void *ud, size_t b)
{
    awq_ctx *c = ud;
    size_t m = 0, cols = c->cols;
    while (b >= c->first[m + 1])
        m++;
    size_t nr = c->rows[m] < SEARCH_ROWS ? c->rows[m] : SEARCH_ROWS, r0 = (b - c->first[m]) * BLK;
    size_t nb = nr - r0 < BLK ? nr - r0 : BLK;
    float *ws = llq_mm_scratch(cols * (1 + 2 * BLK) + 2 * c->l->glen), *dq = ws + cols, *dh = dq + BLK * cols;
    float *scratch = dh + BLK * cols;
    if (!ws) {
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (size_t k = 0; k < nb; k++) {
        const float *wr = c->w[m] + ((r0 + k) * c->rows[m] / nr) * cols;
        float *d = dq + k * cols;
        for (size_t i = 0; i < cols; i++)
            ws[i] = wr[i] * c->cand[i];
        rtn_row(c->l, ws, d, scratch);
        for (size_t i = 0; i < cols; i++)
            d[i] = wr[i] - d[i] / c->cand[i];
    }
    llq_gemm_f32(dh, cols, dq, cols, nb, c->hf, cols, cols, cols);
    double loss = 0;
    for (size_t i = 0; i < nb * cols; i++)
        loss += (double)dq[i] * dh[i];
    c->loss[b] = loss;
}

int llq_awq_search(float *s, float *alpha, const float *const *w, const size_t *rows, size_t n_w, size_t cols,
                   const double *h, const float *xabs, uint32_t type, uint32_t group, uint32_t n_grid, llq_pool *pool)
{
    cq_layout l;
    int err = cq_layout_init(&l, type, group, cols);
    if (err)
        return err;
    if (n_w < 1 || n_w > 4)
        return llq_err(LLQ_EINVAL, "AWQ search over %zu matrices (1 to 4)", n_w);
    if (!n_grid)
        n_grid = 20;
    awq_ctx c = {&l, w, rows, n_w, cols, NULL, NULL, {0}, NULL, 0};
    for (size_t m = 0; m < n_w; m++) {
        size_t nr = rows[m] < SEARCH_ROWS ? rows[m] : SEARCH_ROWS;
        c.first[m + 1] = c.first[m] + (nr + BLK - 1) / BLK;
    }
    float *cand = malloc(cols * sizeof *cand), *hf = llq_bigmem_alloc(cols * cols * sizeof *hf);
    double *loss = malloc((c.first[n_w] ? c.first[n_w] : 1) * sizeof *loss);
    if (!cand || !hf || !loss) {
        err = llq_err(LLQ_ENOMEM, "out of memory (AWQ search)");
        goto done;
    }
    for (size_t i = 0; i < cols * cols; i++)
        hf[i] = (float)h[i];
    c.hf = hf, c.cand = cand, c.loss = loss;
    double best = INFINITY;
    float best_alpha = 0;
    for (size_t i = 0; i < cols; i++)
        s[i] = 1.0f;
    for (uint32_t a = 0; a <= n_grid; a++) {
        float al = (float)a / (float)n_grid, mx = 0, mn = INFINITY;
        for (size_t i = 0; i < cols; i++) {
            float x = xabs[i] > 1e-4f ? xabs[i] : 1e-4f;
            cand[i] = powf(x, al);
            if (cand[i] > mx) mx = cand[i];
            if (cand[i] < mn) mn = cand[i];
        }
        float norm = 1.0f / sqrtf(mx * mn);
        for (size_t i = 0; i < cols; i++)
            cand[i] *= norm;
        /* loss = Σ over (sampled) rows of δ·H·δᵀ: blocks of rows through one GEMM each, on the pool, summed in
         * block order (the same sum for any number of threads) */
        llq_pool_for(pool, c.first[n_w], awq_block, &c);
        if (c.failed) {
            err = llq_err(LLQ_ENOMEM, "out of memory (AWQ search)");
            goto done;
        }
        double total = 0;
        for (size_t b = 0; b < c.first[n_w]; b++)
            total += loss[b];
        if (total < best) {
            best = total, best_alpha = al;
            memcpy(s, cand, cols * sizeof *s);
        }
    }
    if (alpha)
        *alpha = best_alpha;
done:
    free(cand), free(loss);
    llq_bigmem_free(hf, cols * cols * sizeof *hf);
    return err;
}

#define CLIP_ROWS 64 /* rows per task */

typedef struct clip_ctx {
    const cq_layout *l;
    const float *w, *hb;
    size_t rows, cols;
    uint32_t type, group;
    void *out;
    int failed;
} clip_ctx;

static void clip_rows(void *ud, size_t b)
{
    clip_ctx *c = ud;
    const cq_layout *l = c->l;
    size_t G = l->n_groups, cols = c->cols, r1 = (b + 1) * CLIP_ROWS < c->rows ? (b + 1) * CLIP_ROWS : c->rows;
    float *d = malloc(G * sizeof *d), *scratch = malloc(2 * l->glen * sizeof *scratch);
    int *z = malloc(G * sizeof *z);
    uint8_t *z8 = malloc(G);
    if (!d || !scratch || !z || !z8) {
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        goto done;
    }
    for (size_t r = b * CLIP_ROWS; r < r1; r++) {
        const float *wr = c->w + r * cols;
        for (size_t g = 0; g < G; g++) {
            size_t k0 = g * l->glen, n = cols - k0 < l->glen ? cols - k0 : l->glen;
            cq_search(l, wr + k0, n, NULL, c->hb ? c->hb + g * l->glen * l->glen : NULL, 1, scratch, &d[g], &z[g]);
            z8[g] = (uint8_t)z[g];
        }
        llq_quant_encode_row((uint8_t *)c->out + r * l->row_bytes, wr, cols, c->type, c->group, d,
                             c->type == LLQ_Q4A ? z8 : NULL);
    }
done:
    free(d), free(scratch), free(z), free(z8);
}

int llq_awq_clip_quantize(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type,
                          uint32_t group, llq_pool *pool)
{
    cq_layout l;
    int err = cq_layout_init(&l, type, group, cols);
    if (err)
        return err;
    float *hb = NULL;
    if (h && !(hb = malloc(l.n_groups * l.glen * l.glen * sizeof *hb)))
        return llq_err(LLQ_ENOMEM, "out of memory (AWQ clip on %zu×%zu)", rows, cols);
    if (h)
        cq_hblocks(&l, h, hb);
    clip_ctx c = {&l, w, hb, rows, cols, type, group, out, 0};
    llq_pool_for(pool, (rows + CLIP_ROWS - 1) / CLIP_ROWS, clip_rows, &c);
    if (c.failed)
        err = llq_err(LLQ_ENOMEM, "out of memory (AWQ clip on %zu×%zu)", rows, cols);
    free(hb);
    return err;
}
