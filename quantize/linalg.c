/* linalg.c — the dense linear algebra GPTQ and AWQ need: Cholesky, SPD inverse, GPTQ's factor of H⁻¹, H += XᵀX.
 * Row-major doubles (H is accumulated from f32 products). The O(n³) parts are blocked: NB×NB diagonal blocks
 * factored by plain loops, everything else a block update through llq_dgemm_sub (f64) or llq_gemm_f32_nn (XᵀX),
 * spread over a thread pool (may be NULL: one thread). Blocks are fixed (independent of the number of threads)
 * and every element is summed in one fixed order, so results are bit-identical for any thread count. */
#include "../kernels/kern.h" /* per-thread scratch of the kernels (internal) */
#include "llq/calib.h"
#include "llq/kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NB 64 /* block size of the factorizations */

/* ---- Cholesky ---- */

/* Lower Cholesky of the kb×kb diagonal block at a[k0][k0] (already updated by the earlier panels). */
static int chol_diag(double *a, size_t n, size_t k0, size_t kb)
{
    for (size_t j = k0; j < k0 + kb; j++) {
        double *rj = a + j * n;
        double d = rj[j];
        for (size_t k = k0; k < j; k++)
            d -= rj[k] * rj[k];
        if (!(d > 0.0) || !isfinite(d))
            return llq_err(LLQ_EINVAL, "matrix not positive definite (pivot %zu)", j);
        double ljj = sqrt(d), inv = 1.0 / ljj;
        rj[j] = ljj;
        for (size_t i = j + 1; i < k0 + kb; i++) {
            double *ri = a + i * n;
            double s = ri[j];
            for (size_t k = k0; k < j; k++)
                s -= ri[k] * rj[k];
            ri[j] = s * inv;
        }
    }
    return 0;
}

typedef struct chol_ctx {
    double *a, *pt;    /* pt: a block column of L transposed, (c1 - c0) × (n - r0) */
    const double *bt;  /* the inner update's operand, kb × (c1 - k1) */
    size_t n, r0;      /* rows r0..n in row blocks of NB */
    size_t k0, k1;     /* the 64-wide column block just factored */
    size_t c0, c1;     /* the 128-wide block column */
} chol_ctx;

static size_t blk_rows(const chol_ctx *c, size_t b, size_t *r1)
{
    size_t r0 = c->r0 + b * NB;
    *r1 = r0 + NB < c->n ? r0 + NB : c->n;
    return r0;
}

/* Panel rows of block b: L[i][k0..k1) = A[i][k0..k1)·L_KK⁻ᵀ (forward substitution against the diagonal block). */
static void chol_panel(void *ud, size_t b)
{
    chol_ctx *c = ud;
    size_t n = c->n, r1, r0 = blk_rows(c, b, &r1);
    for (size_t i = r0; i < r1; i++) {
        double *ri = c->a + i * n;
        for (size_t j = c->k0; j < c->k1; j++) {
            const double *rj = c->a + j * n;
            double s = ri[j];
            for (size_t k = c->k0; k < j; k++)
                s -= ri[k] * rj[k];
            ri[j] = s / rj[j];
        }
    }
}

/* Inside the block column: A[i][k1..c1) −= L[i][k0..k1)·L[k1..c1)[k0..k1)ᵀ for the rows of block b. */
static void chol_inner(void *ud, size_t b)
{
    chol_ctx *c = ud;
    size_t n = c->n, r1, r0 = blk_rows(c, b, &r1);
    llq_dgemm_sub(c->a + r0 * n + c->k1, n, c->a + r0 * n + c->k0, n, c->bt, c->c1 - c->k1, r1 - r0, c->c1 - c->k1,
                  c->k1 - c->k0);
}

/* The block column's rows of block b, transposed into pt. */
static void chol_ptrans(void *ud, size_t b)
{
    chol_ctx *c = ud;
    size_t n = c->n, r1, r0 = blk_rows(c, b, &r1), ld = n - c->r0;
    for (size_t k = c->c0; k < c->c1; k++)
        for (size_t i = r0; i < r1; i++)
            c->pt[(k - c->c0) * ld + (i - c->r0)] = c->a[i * n + k];
}

/* Trailing rows of block b (counted from the last, the largest): A[i][r0..r1) −= L[i][c0..c1)·L[j][c0..c1)ᵀ. */
static void chol_update(void *ud, size_t b)
{
    chol_ctx *c = ud;
    size_t n = c->n, nblk = (n - c->r0 + NB - 1) / NB, r1, r0 = blk_rows(c, nblk - 1 - b, &r1);
    llq_dgemm_sub(c->a + r0 * n + c->r0, n, c->a + r0 * n + c->c0, n, c->pt, n - c->r0, r1 - r0, r1 - c->r0,
                  c->c1 - c->c0);
}

#define NB2 (2 * NB) /* block columns of the trailing update: twice the panel's, half the passes over A */

/* Right-looking blocked Cholesky in two levels: a block column of 128 is factored 64 columns at a time (diagonal
 * block, the panel below it, the update of the block column's other 64 columns), then the trailing lower triangle
 * is updated once with all 128 (one pass over it per 128 columns: the update reads and writes A, so wider is
 * faster). pt: scratch of NB2·n doubles. */
static int chol_blocked(double *a, size_t n, double *pt, llq_pool *pool)
{
    double bt[NB * NB];
    for (size_t c0 = 0; c0 < n; c0 += NB2) {
        size_t c1 = n - c0 < NB2 ? n : c0 + NB2;
        for (size_t k0 = c0; k0 < c1; k0 += NB) {
            size_t k1 = c1 - k0 < NB ? c1 : k0 + NB;
            int err = chol_diag(a, n, k0, k1 - k0);
            if (err)
                return err;
            chol_ctx c = {a, pt, bt, n, k1, k0, k1, c0, c1};
            size_t nblk = (n - k1 + NB - 1) / NB;
            llq_pool_for(pool, nblk, chol_panel, &c);
            if (k1 < c1) {
                for (size_t p = 0; p < k1 - k0; p++)
                    for (size_t j = k1; j < c1; j++)
                        bt[p * (c1 - k1) + (j - k1)] = a[j * n + k0 + p];
                llq_pool_for(pool, nblk, chol_inner, &c);
            }
        }
        if (c1 < n) {
            chol_ctx c = {a, pt, bt, n, c1, 0, 0, c0, c1};
            size_t nblk = (n - c1 + NB - 1) / NB;
            llq_pool_for(pool, nblk, chol_ptrans, &c);
            llq_pool_for(pool, nblk, chol_update, &c);
        }
    }
    for (size_t i = 0; i < n; i++)
        memset(a + i * n + i + 1, 0, (n - i - 1) * sizeof *a);
    return 0;
}

int llq_cholesky(double *a, size_t n, llq_pool *pool)
{
    double *pt = malloc((n ? NB2 * n : 1) * sizeof *pt);
    if (!pt)
        return llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu factor)", n, n);
    int err = chol_blocked(a, n, pt, pool);
    free(pt);
    return err;
}

/* ---- inverse of a lower triangular matrix ---- */

typedef struct tinv_ctx {
    const double *l;
    double *y;
    size_t n, i0, ib;
} tinv_ctx;

/* Row block I = [i0, i0+ib) of Y = L⁻¹, columns of block b: Y[I][J] = L_II⁻¹·(−L[I][J..I)·Y[J..I)[J]) for J left of
 * the diagonal block, and Y_II = L_II⁻¹ (the last block). Rows above I are final. */
static void tinv_block(void *ud, size_t b)
{
    tinv_ctx *c = ud;
    size_t n = c->n, i0 = c->i0, ib = c->ib, j0 = b * NB;
    const double *l = c->l;
    double *y = c->y;
    if (j0 >= i0) { /* the diagonal block: forward substitution of the identity */
        for (size_t r = 0; r < ib; r++) {
            const double *lr = l + (i0 + r) * n;
            double *yr = y + (i0 + r) * n;
            for (size_t q = 0; q < ib; q++)
                yr[i0 + q] = 0;
            yr[i0 + r] = 1.0 / lr[i0 + r];
            for (size_t q = 0; q < r; q++) { /* column i0+q */
                double s = 0;
                for (size_t p = q; p < r; p++)
                    s += lr[i0 + p] * y[(i0 + p) * n + i0 + q];
                yr[i0 + q] = -s / lr[i0 + r];
            }
        }
        return;
    }
    size_t jb = i0 - j0 < NB ? i0 - j0 : NB;
    for (size_t r = 0; r < ib; r++)
        memset(y + (i0 + r) * n + j0, 0, jb * sizeof *y);
    /* C = −L[I][j0..i0) · Y[j0..i0)[J] (Y[p][J] = 0 for p < j0) */
    llq_dgemm_sub(y + i0 * n + j0, n, l + i0 * n + j0, n, y + j0 * n + j0, n, ib, jb, i0 - j0);
    /* Y[I][J] = L_II⁻¹ · C: rows in order */
    for (size_t r = 0; r < ib; r++) {
        const double *lr = l + (i0 + r) * n;
        double *yr = y + (i0 + r) * n + j0;
        for (size_t q = 0; q < r; q++) {
            const double *yq = y + (i0 + q) * n + j0;
            double lq = lr[i0 + q];
            for (size_t j = 0; j < jb; j++)
                yr[j] -= lq * yq[j];
        }
        double inv = 1.0 / lr[i0 + r];
        for (size_t j = 0; j < jb; j++)
            yr[j] *= inv;
    }
}

/* y = l⁻¹ (n×n, lower; y's upper part zeroed). */
static void tri_inverse(double *y, const double *l, size_t n, llq_pool *pool)
{
    for (size_t i = 0; i < n; i++)
        memset(y + i * n + i + 1, 0, (n - i - 1) * sizeof *y);
    for (size_t i0 = 0; i0 < n; i0 += NB) {
        tinv_ctx c = {l, y, n, i0, n - i0 < NB ? n - i0 : NB};
        llq_pool_for(pool, i0 / NB + 1, tinv_block, &c);
    }
}

int llq_spd_inverse(double *a, size_t n, llq_pool *pool)
{
    double *y = malloc(n ? n * n * sizeof *y : 1);
    if (!y)
        return llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu inverse)", n, n);
    int err = llq_cholesky(a, n, pool);
    if (!err) {
        tri_inverse(y, a, n, pool); /* y = L⁻¹ */
        /* A⁻¹ = L⁻ᵀ·L⁻¹: (A⁻¹)[i][j] = Σ_{k ≥ max(i,j)} y[k][i]·y[k][j] (rarely used: plain loops) */
        for (size_t i = 0; i < n; i++)
            for (size_t j = i; j < n; j++) {
                double s = 0;
                for (size_t k = j; k < n; k++)
                    s += y[k * n + i] * y[k * n + j];
                a[i * n + j] = s;
                a[j * n + i] = s;
            }
    }
    free(y);
    return err;
}

/* Reverses the n² elements: a[i][j] ↔ a[n-1-i][n-1-j], i.e. J·A·J with J the reversal. */
static void reverse(double *a, size_t nn)
{
    for (size_t i = 0, j = nn - 1; i < j; i++, j--) {
        double t = a[i];
        a[i] = a[j], a[j] = t;
    }
}

int llq_chol_inv_upper(double *a, size_t n, llq_pool *pool)
{
    /* With J the reversal, chol(J·A·J) = M gives A = V·Vᵀ with V = J·M·J upper; then U = V⁻¹ = J·M⁻¹·J is upper
     * and Uᵀ·U = (V·Vᵀ)⁻¹ = A⁻¹. One Cholesky and one triangular inverse, no full inverse. */
    if (!n)
        return 0;
    double *m = llq_bigmem_alloc(n * n * sizeof *m); /* huge pages: page faults cost more than the copy here */
    if (!m)
        return llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu factor)", n, n);
    memcpy(m, a, n * n * sizeof *m);
    reverse(m, n * n);
    int err = llq_cholesky(m, n, pool);
    if (!err) {
        tri_inverse(a, m, n, pool); /* a = M⁻¹ */
        reverse(a, n * n);          /* U = J·M⁻¹·J */
    }
    llq_bigmem_free(m, n * n * sizeof *m);
    return err;
}

void llq_sym_fill(double *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            h[j * n + i] = h[i * n + j];
}

/* ---- H += XᵀX ---- */

#define XT_RB 128     /* rows of H per task */
#define XT_CHUNK 2048 /* tokens per GEMM (f32 sums over at most this many products, then f64) */

typedef struct xtx_ctx {
    double *h;
    const float *x;   /* X, n × cols (llq_xtx_acc) */
    float *xt;        /* Xᵀ: cols rows of ld floats, tokens t0..t0+n of each */
    size_t n, cols, ld;
    int failed;
} xtx_ctx;

/* Columns of block b of X into rows of xt. */
static void xtx_transpose(void *ud, size_t b)
{
    xtx_ctx *c = ud;
    size_t cols = c->cols, n = c->n, c0 = b * XT_RB, nc = cols - c0 < XT_RB ? cols - c0 : XT_RB;
    for (size_t t0 = 0; t0 < n; t0 += 16) /* 16 tokens × the block's columns at a time: both sides in cache */
        for (size_t p = 0; p < nc; p++)
            for (size_t t = t0; t < n && t < t0 + 16; t++)
                c->xt[(c0 + p) * c->ld + t] = c->x[t * cols + c0 + p];
}

/* Rows i0..i0+nb of H (block b), columns i0..cols: H[i][j] += Σ_t Xᵀ[i][t]·Xᵀ[j][t], one f32 GEMM (the rows of
 * Xᵀ are the GEMM's inputs and its weights), summed into the f64 H. */
static void xtx_block(void *ud, size_t b)
{
    xtx_ctx *c = ud;
    size_t cols = c->cols, n = c->n, ld = c->ld, i0 = b * XT_RB, nb = cols - i0 < XT_RB ? cols - i0 : XT_RB;
    size_t nj = cols - i0;
    float *tmp = llq_mm_scratch(nb * nj); /* the thread's buffer: no fresh pages per block */
    if (!tmp) {
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    llq_gemm_f32(tmp, nj, c->xt + i0 * ld, ld, nb, c->xt + i0 * ld, ld, nj, n);
    for (size_t p = 0; p < nb; p++) {
        double *hr = c->h + (i0 + p) * cols + i0;
        const float *tr = tmp + p * nj;
        for (size_t q = p; q < nj; q++)
            hr[q] += tr[q];
    }
}

int llq_xtx_acc_t(double *h, const float *xt, size_t ld, size_t n, size_t cols, llq_pool *pool)
{
    xtx_ctx c = {h, NULL, (float *)(uintptr_t)xt, 0, cols, ld, 0};
    for (size_t t0 = 0; t0 < n && cols && !c.failed; t0 += XT_CHUNK) {
        c.xt = (float *)(uintptr_t)(xt + t0), c.n = n - t0 < XT_CHUNK ? n - t0 : XT_CHUNK;
        llq_pool_for(pool, (cols + XT_RB - 1) / XT_RB, xtx_block, &c);
    }
    return c.failed ? llq_err(LLQ_ENOMEM, "out of memory (XᵀX of %zu tokens × %zu)", n, cols) : 0;
}

int llq_xtx_transpose(float *xt, size_t ld, const float *x, size_t n, size_t cols, llq_pool *pool)
{
    xtx_ctx c = {NULL, x, xt, n, cols, ld, 0};
    if (n > ld)
        return llq_err(LLQ_EINVAL, "%zu tokens in rows of %zu", n, ld);
    llq_pool_for(pool, (cols + XT_RB - 1) / XT_RB, xtx_transpose, &c);
    return 0;
}

int llq_xtx_acc(double *h, const float *x, size_t n, size_t cols, llq_pool *pool)
{
    if (!n || !cols)
        return 0;
    size_t m = n < XT_CHUNK ? n : XT_CHUNK;
    float *xt = llq_bigmem_alloc(cols * m * sizeof *xt);
    int err = xt ? 0 : llq_err(LLQ_ENOMEM, "out of memory (XᵀX of %zu tokens × %zu)", m, cols);
    for (size_t t0 = 0; t0 < n && !err; t0 += XT_CHUNK) {
        size_t k = n - t0 < XT_CHUNK ? n - t0 : XT_CHUNK;
        if (!(err = llq_xtx_transpose(xt, m, x + t0 * cols, k, cols, pool)))
            err = llq_xtx_acc_t(h, xt, m, k, cols, pool);
    }
    llq_bigmem_free(xt, cols * m * sizeof *xt);
    return err;
}
