/* awq.c — AWQ (Lin et al. 2023): per-input-channel scales s = mean|x|^α protecting the salient channels, α
 * searched on a grid against the output error of the matrices sharing that input, and a per-group clipping
 * search. The output error of a weight error Δ over calibration inputs X is ‖Δ·Xᵀ‖² = Σ_rows δ·H·δᵀ with H = XᵀX,
 * so neither needs the activations themselves once H is known. */
#include "calib_q.h"
#include "kquant.h"
#include "llq/format.h"
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

/* Block types: RTN of the row onto the type (no importance), dequantized into deq. scratch: the row's bytes. */
static int rtn_row_block(uint32_t type, const float *x, size_t cols, float *deq, void *scratch)
{
    int err = kq_quantize_row(scratch, x, cols, type, NULL);
    if (!err)
        llq_row_to_f32(deq, scratch, type, 0, cols);
    return err;
}

int llq_awq_search(float *s, float *alpha, const float *const *w, const size_t *rows, size_t n_w, size_t cols,
                   const double *h, const float *xabs, uint32_t type, uint32_t group, uint32_t n_grid)
{
    cq_layout l;
    int blk = llq_type_is_block(type), err;
    if (blk) {
        memset(&l, 0, sizeof l);
        l.glen = 4 * cols; /* scratch for one packed row (at most ~1.1 bytes per element) */
        if ((err = llq_quant_check(type, group, cols)))
            return err;
    } else if ((err = cq_layout_init(&l, type, group, cols))) {
        return err;
    }
    if (!n_grid)
        n_grid = 20;
    float *cand = malloc(cols * sizeof *cand), *ws = malloc(cols * sizeof *ws), *dq = malloc(BLK * cols * sizeof *dq),
          *dh = malloc(BLK * cols * sizeof *dh), *hf = malloc(cols * cols * sizeof *hf),
          *scratch = malloc(2 * l.glen * sizeof *scratch);
    if (!cand || !ws || !dq || !dh || !hf || !scratch) {
        err = llq_err(LLQ_ENOMEM, "out of memory (AWQ search)");
        goto done;
    }
    for (size_t i = 0; i < cols * cols; i++)
        hf[i] = (float)h[i];
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
        /* loss = Σ over (sampled) rows of δ·H·δᵀ, δ = w − Q(w·s)/s; blocks of rows through one GEMM */
        double loss = 0;
        for (size_t m = 0; m < n_w && loss < best; m++) {
            size_t nr = rows[m] < SEARCH_ROWS ? rows[m] : SEARCH_ROWS;
            for (size_t r0 = 0; r0 < nr && loss < best; r0 += BLK) {
                size_t nb = nr - r0 < BLK ? nr - r0 : BLK;
                for (size_t b = 0; b < nb; b++) {
                    const float *wr = w[m] + ((r0 + b) * rows[m] / nr) * cols;
                    float *d = dq + b * cols;
                    for (size_t i = 0; i < cols; i++)
                        ws[i] = wr[i] * cand[i];
                    if (blk && (err = rtn_row_block(type, ws, cols, d, scratch)))
                        goto done;
                    if (!blk)
                        rtn_row(&l, ws, d, scratch);
                    for (size_t i = 0; i < cols; i++)
                        d[i] = wr[i] - d[i] / cand[i];
                }
                llq_gemm_f32(dh, cols, dq, cols, nb, hf, cols, cols, cols);
                for (size_t i = 0; i < nb * cols; i++)
                    loss += (double)dq[i] * dh[i];
            }
        }
        if (loss < best) {
            best = loss, best_alpha = al;
            memcpy(s, cand, cols * sizeof *s);
        }
    }
    if (alpha)
        *alpha = best_alpha;
done:
    free(cand), free(ws), free(dq), free(dh), free(hf), free(scratch);
    return err;
}

/* Block types: RTN weighted by the importance diag(h) (llama.cpp's imatrix, from the same statistics). */
static int imp_quantize(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type)
{
    uint64_t rb = 0;
    int err = llq_row_bytes(&rb, type, 0, cols);
    float *imp = malloc(cols * sizeof *imp);
    if (!err && !imp)
        err = llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t k = 0; !err && k < cols; k++)
        imp[k] = h ? (float)h[k * cols + k] : 1.0f;
    for (size_t r = 0; !err && r < rows; r++)
        err = kq_quantize_row((uint8_t *)out + r * rb, w + r * cols, cols, type, imp);
    free(imp);
    return err;
}

int llq_awq_clip_quantize(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type,
                          uint32_t group)
{
    cq_layout l;
    if (llq_type_is_block(type))
        return group ? llq_err(LLQ_EINVAL, "block type %s takes group 0", llq_type_name(type))
                     : imp_quantize(out, w, rows, cols, h, type);
    int err = cq_layout_init(&l, type, group, cols);
    if (err)
        return err;
    size_t G = l.n_groups;
    float *d = malloc(G * sizeof *d), *scratch = malloc(2 * l.glen * sizeof *scratch), *hb = NULL;
    int *z = malloc(G * sizeof *z);
    uint8_t *z8 = malloc(G);
    if (!d || !scratch || !z || !z8 || (h && !(hb = malloc(G * l.glen * l.glen * sizeof *hb)))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (AWQ clip on %zu×%zu)", rows, cols);
        goto done;
    }
    if (h)
        cq_hblocks(&l, h, hb);
    for (size_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols;
        for (size_t g = 0; g < G; g++) {
            size_t k0 = g * l.glen, n = cols - k0 < l.glen ? cols - k0 : l.glen;
            cq_search(&l, wr + k0, n, NULL, hb ? hb + g * l.glen * l.glen : NULL, 1, scratch, &d[g], &z[g]);
            z8[g] = (uint8_t)z[g];
        }
        llq_quant_encode_row((uint8_t *)out + r * l.row_bytes, wr, cols, type, group, d,
                             type == LLQ_Q4A ? z8 : NULL);
    }
done:
    free(d), free(scratch), free(z), free(z8), free(hb);
    return err;
}
