/* gptq.c — GPTQ (Frantar et al. 2022): quantize columns one at a time, spreading each column's rounding error
 * over the not-yet-quantized columns through the upper Cholesky factor of H⁻¹. Column blocks with lazy batch
 * updates; act-order with static groups (scales fixed beforehand on the original column groups, so the output
 * rows are in natural order and need no permutation at inference). */
#include "calib_q.h"
#include "llq/calib.h"
#include "llq/kernels.h"
#include "llq/quant.h"

#include <stdlib.h>
#include <string.h>

typedef struct keyed { double key; size_t i; } keyed;
static int by_key_desc(const void *a, const void *b)
{
    const keyed *p = a, *q = b;
    return p->key > q->key ? -1 : p->key < q->key ? 1 : (p->i > q->i) - (p->i < q->i);
}

/* perm[k] = column processed k-th: decreasing key (ties: lower index first). */
static int order_by(size_t *perm, const double *key, size_t n)
{
    keyed *k = malloc(n * sizeof *k);
    if (!k)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        k[i].key = key[i], k[i].i = i;
    qsort(k, n, sizeof *k, by_key_desc);
    for (size_t i = 0; i < n; i++)
        perm[i] = k[i].i;
    free(k);
    return 0;
}

int llq_gptq(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type, uint32_t group,
             const llq_gptq_opts *o)
{
    llq_gptq_opts def = {0.01f, 1, 128};
    if (!o)
        o = &def;
    float damp = o->damp > 0 ? o->damp : 0.01f;
    size_t B = o->block ? o->block : 128;
    cq_layout l;
    int err = cq_layout_init(&l, type, group, cols);
    if (err)
        return err;
    size_t G = l.n_groups;
    double *hp = NULL, *diag = NULL;
    float *wp = NULL, *u = NULL, *lt = NULL, *upd = NULL, *d = NULL, *err1 = NULL, *wd = NULL;
    size_t *perm = NULL;
    uint8_t *z = NULL;
    float *qv = NULL;
    if (!(hp = malloc(cols * cols * sizeof *hp)) || !(diag = malloc(cols * sizeof *diag)) ||
        !(wp = malloc(rows * cols * sizeof *wp)) || !(u = malloc(cols * cols * sizeof *u)) ||
        !(lt = malloc(cols * cols * sizeof *lt)) || !(upd = malloc(rows * cols * sizeof *upd)) ||
        !(d = malloc(rows * G * sizeof *d)) || !(z = calloc(rows * G, sizeof *z)) ||
        !(err1 = malloc(rows * B * sizeof *err1)) || !(wd = malloc(cols * sizeof *wd)) ||
        !(perm = malloc(cols * sizeof *perm)) ||
        !(qv = malloc(rows * cols * sizeof *qv))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (GPTQ on %zu×%zu)", rows, cols);
        goto done;
    }
    /* Dead columns (never activated): weight irrelevant, set to 0, unit diagonal keeps H invertible. */
    double mean_diag = 0;
    for (size_t i = 0; i < cols; i++) {
        diag[i] = h[i * cols + i];
        wd[i] = (float)diag[i];
        mean_diag += diag[i];
    }
    mean_diag /= (double)cols;
    if (!(mean_diag > 0))
        mean_diag = 1;
    for (size_t i = 0; i < cols; i++)
        perm[i] = i;
    if (o->act_order && (err = order_by(perm, diag, cols)))
        goto done;
    /* Permuted copies: hp = P·H·Pᵀ (+ damping), wp = W·Pᵀ (dead columns zeroed). */
    for (size_t i = 0; i < cols; i++) {
        for (size_t j = 0; j < cols; j++)
            hp[i * cols + j] = h[perm[i] * cols + perm[j]];
        if (diag[perm[i]] <= 0)
            hp[i * cols + i] = mean_diag;
        hp[i * cols + i] += damp * mean_diag;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++)
            wp[r * cols + i] = diag[perm[i]] > 0 ? w[r * cols + perm[i]] : 0.0f;
    /* Static groups: scales from the original (un-updated) weights, weighted by diag(H) (quant.h's search). */
    float *row = upd; /* scratch: rows·cols floats, used for the lazy updates later */
    llq_quant_opts qo = {wd, 1};
    for (size_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols;
        for (size_t k = 0; k < cols; k++)
            row[k] = diag[k] > 0 ? wr[k] : 0.0f;
        if ((err = llq_quant_scales(d + r * G, z + r * G, row, cols, type, group, &qo))) {
            llq_err_prefix(err, "GPTQ scales");
            goto done;
        }
    }
    /* u = upper Cholesky factor of H⁻¹ (H⁻¹ = uᵀ·u), as floats. */
    if ((err = llq_chol_inv_upper(hp, cols))) {
        err = llq_err(err, "GPTQ: Hessian not positive definite after damping");
        goto done;
    }
    for (size_t i = 0; i < cols; i++)
        for (size_t j = 0; j < cols; j++) {
            u[i * cols + j] = (float)hp[i * cols + j];
            lt[j * cols + i] = (float)hp[i * cols + j]; /* = uᵀ */
        }

    for (size_t i1 = 0; i1 < cols; i1 += B) {
        size_t i2 = i1 + B < cols ? i1 + B : cols, nb = i2 - i1;
        for (size_t i = i1; i < i2; i++) {
            size_t c = perm[i], g = c / l.glen;
            const float *ui = u + i * cols;
            float inv_dii = 1.0f / ui[i];
            for (size_t r = 0; r < rows; r++) {
                float *wr = wp + r * cols;
                float q = llq_quant_snap(wr[i], type, d[r * G + g], z[r * G + g]);
                qv[r * cols + c] = q;
                float e = (wr[i] - q) * inv_dii;
                err1[r * B + (i - i1)] = e;
                for (size_t j = i + 1; j < i2; j++)
                    wr[j] -= e * ui[j];
            }
        }
        /* Lazy batch update of the remaining columns: W[:, i2:] -= Err1 · U[i1:i2, i2:] (one GEMM). */
        if (i2 < cols) {
            size_t rest = cols - i2;
            llq_gemm_f32(upd, rest, err1, B, rows, lt + i2 * cols + i1, cols, rest, nb);
            for (size_t r = 0; r < rows; r++) {
                float *wr = wp + r * cols + i2;
                const float *ur = upd + r * rest;
                for (size_t j = 0; j < rest; j++)
                    wr[j] -= ur[j];
            }
        }
    }
    for (size_t r = 0; r < rows; r++)
        llq_quant_encode_row((uint8_t *)out + r * l.row_bytes, qv + r * cols, cols, type, group, d + r * G,
                             type == LLQ_Q4A ? z + r * G : NULL);
done:
    free(hp), free(diag), free(wp), free(u), free(lt), free(upd), free(d), free(z), free(err1), free(wd), free(perm);
    free(qv);
    return err;
}
