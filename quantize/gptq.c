/* gptq.c — GPTQ (Frantar et al. 2022): quantize columns one at a time, spreading each column's rounding error
 * over the not-yet-quantized columns through the upper Cholesky factor of H⁻¹. Column blocks with lazy batch
 * updates; act-order with static groups (scales fixed beforehand on the original column groups, so the output
 * rows are in natural order and need no permutation at inference). */
#include "../kernels/kern.h" /* per-thread scratch of the kernels (internal) */
#include "calib_q.h"
#include "../kernels/kern.h" /* per-thread scratch (llq_mm_scratch) */
#include "llq/calib.h"
#include "llq/kernels.h"
#include "llq/quant.h"

#include <stdio.h>
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

#define ROWS_PER_TASK 128 /* rows of W per task: the lazy update's GEMM has this many "tokens" */
#define SB 16             /* columns updated one by one inside a lazy-update block */

typedef struct gptq_ctx {
    const float *w, *u, *lt, *wd; /* w [rows × cols]; u = U, lt = Uᵀ (cols × cols, f32); wd = diag(H) */
    const double *diag;
    const size_t *perm;
    size_t rows, cols, B;
    const cq_layout *l;
    uint32_t type, group;
    void *out;
    int err;                      /* first error (atomic), its message in msg */
    char msg[256];
} gptq_ctx;

/* Rows of task b, start to end: scales on the original weights, then the column loop in blocks of B with the
 * lazy update W[:, i2:] += (−Err)·U[i1:i2, i2:] (one GEMM per block), then the encoded rows. */
static void gptq_rows(void *ud, size_t b)
{
    gptq_ctx *c = ud;
    size_t cols = c->cols, B = c->B, G = c->l->n_groups, glen = c->l->glen;
    size_t r0 = b * ROWS_PER_TASK, nr = c->rows - r0 < ROWS_PER_TASK ? c->rows - r0 : ROWS_PER_TASK;
    uint32_t type = c->type;
    /* the thread's scratch (kept between calls: no fresh pages per task): wp, qv, nerr, d, z */
    float *wp = llq_mm_scratch(nr * (2 * cols + B + 2 * G)), *qv = wp + nr * cols, *nerr = qv + nr * cols;
    float *d = nerr + nr * B;
    uint8_t *z = (uint8_t *)(d + nr * G);
    int err = 0;
    if (!wp) {
        err = llq_err(LLQ_ENOMEM, "out of memory (GPTQ rows)");
        goto done;
    }
    memset(z, 0, nr * G);
    /* Static groups: scales from the original (un-updated) weights, weighted by diag(H) (quant.h's search). */
    llq_quant_opts qo = {c->wd, 1};
    for (size_t r = 0; r < nr; r++) {
        const float *wr = c->w + (r0 + r) * cols;
        float *row = qv + r * cols; /* scratch until the pass writes it */
        for (size_t k = 0; k < cols; k++)
            row[k] = c->diag[k] > 0 ? wr[k] : 0.0f;
        if ((err = llq_quant_scales(d + r * G, z + r * G, row, cols, type, c->group, &qo))) {
            llq_err_prefix(err, "GPTQ scales");
            goto done;
        }
        /* permuted working copy, dead columns zeroed */
        for (size_t i = 0; i < cols; i++)
            wp[r * cols + i] = c->diag[c->perm[i]] > 0 ? wr[c->perm[i]] : 0.0f;
    }
    for (size_t i1 = 0; i1 < cols; i1 += B) {
        size_t i2 = i1 + B < cols ? i1 + B : cols, nb = i2 - i1;
        /* inside the block, sub-blocks of SB columns: column by column within one, then one GEMM onto the rest of
         * the block (the scalar part is rows·cols·SB/2 multiply-adds instead of rows·cols·B/2) */
        for (size_t s1 = i1; s1 < i2; s1 += SB) {
            size_t s2 = s1 + SB < i2 ? s1 + SB : i2;
            for (size_t i = s1; i < s2; i++) {
                size_t col = c->perm[i], g = col / glen;
                const float *ui = c->u + i * cols;
                float inv_dii = 1.0f / ui[i];
                for (size_t r = 0; r < nr; r++) {
                    float *wr = wp + r * cols;
                    float q = llq_quant_snap(wr[i], type, d[r * G + g], z[r * G + g]);
                    qv[r * cols + col] = q;
                    float e = (wr[i] - q) * inv_dii;
                    nerr[r * B + (i - i1)] = -e;
                    for (size_t j = i + 1; j < s2; j++)
                        wr[j] -= e * ui[j];
                }
            }
            if (s2 < i2)
                llq_gemm_f32_acc(wp + s2, cols, nerr + (s1 - i1), B, nr, c->lt + s2 * cols + s1, cols, i2 - s2, s2 - s1);
        }
        if (i2 < cols)
            llq_gemm_f32_acc(wp + i2, cols, nerr, B, nr, c->lt + i2 * cols + i1, cols, cols - i2, nb);
    }
    for (size_t r = 0; r < nr; r++)
        llq_quant_encode_row((uint8_t *)c->out + (r0 + r) * c->l->row_bytes, qv + r * cols, cols, type, c->group,
                             d + r * G, type == LLQ_Q4A ? z + r * G : NULL);
done:;
    int zero = 0; /* messages are per thread: the first one travels back in c->msg */
    if (err && __atomic_compare_exchange_n(&c->err, &zero, err, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        snprintf(c->msg, sizeof c->msg, "%s", llq_errmsg());
}

int llq_gptq(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type, uint32_t group,
             const llq_gptq_opts *o)
{
    llq_gptq_opts def = {0.01f, 1, 128, NULL};
    if (!o)
        o = &def;
    float damp = o->damp > 0 ? o->damp : 0.01f;
    size_t B = o->block ? o->block : 128;
    cq_layout l;
    int err = cq_layout_init(&l, type, group, cols);
    if (err)
        return err;
    double *hp = NULL, *diag = NULL;
    float *u = NULL, *lt = NULL, *wd = NULL;
    size_t *perm = NULL;
    if (!(hp = llq_bigmem_alloc(cols * cols * sizeof *hp)) || !(diag = malloc(cols * sizeof *diag)) ||
        !(wd = malloc(cols * sizeof *wd)) || !(perm = malloc(cols * sizeof *perm))) {
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
    /* Permuted copy hp = P·H·Pᵀ (+ damping); the rows of W are permuted per task. */
    for (size_t i = 0; i < cols; i++) {
        for (size_t j = 0; j < cols; j++)
            hp[i * cols + j] = h[perm[i] * cols + perm[j]];
        if (diag[perm[i]] <= 0)
            hp[i * cols + i] = mean_diag;
        hp[i * cols + i] += damp * mean_diag;
    }
    /* u = upper Cholesky factor of H⁻¹ (H⁻¹ = uᵀ·u), as floats; allocated after the factorization (whose scratch
     * is as large as hp): 16·cols² bytes at most at any time */
    if ((err = llq_chol_inv_upper(hp, cols, o->pool))) {
        err = llq_err(err, "GPTQ: Hessian not positive definite after damping");
        goto done;
    }
    if (!(u = llq_bigmem_alloc(cols * cols * sizeof *u)) || !(lt = llq_bigmem_alloc(cols * cols * sizeof *lt))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (GPTQ on %zu×%zu)", rows, cols);
        goto done;
    }
    for (size_t i = 0; i < cols; i++)
        for (size_t j = 0; j < cols; j++) {
            u[i * cols + j] = (float)hp[i * cols + j];
            lt[j * cols + i] = (float)hp[i * cols + j]; /* = uᵀ */
        }
    llq_bigmem_free(hp, cols * cols * sizeof *hp);
    hp = NULL;
    gptq_ctx c = {w, u, lt, wd, diag, perm, rows, cols, B, &l, type, group, out, 0, ""};
    llq_pool_for(o->pool, (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, gptq_rows, &c);
    if (c.err)
        err = llq_err(c.err, "%s", c.msg);
done:
    llq_bigmem_free(hp, cols * cols * sizeof *hp);
    llq_bigmem_free(u, cols * cols * sizeof *u);
    llq_bigmem_free(lt, cols * cols * sizeof *lt);
    free(diag), free(wd), free(perm);
    return err;
}
