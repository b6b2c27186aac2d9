/* linalg.c — the little dense linear algebra GPTQ and AWQ need: Cholesky, SPD inverse, H += XᵀX.
 * Row-major doubles; inner loops are dot products over contiguous rows. */
#include "llq/calib.h"
#include "llq/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int llq_cholesky(double *a, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double *rj = a + j * n;
        double d = rj[j];
        for (size_t k = 0; k < j; k++)
            d -= rj[k] * rj[k];
        if (!(d > 0.0) || !isfinite(d))
            return llq_err(LLQ_EINVAL, "matrix not positive definite (pivot %zu)", j);
        double ljj = sqrt(d), inv = 1.0 / ljj;
        rj[j] = ljj;
        for (size_t i = j + 1; i < n; i++) {
            double *ri = a + i * n;
            double s = ri[j];
            for (size_t k = 0; k < j; k++)
                s -= ri[k] * rj[k];
            ri[j] = s * inv;
        }
    }
    for (size_t i = 0; i < n; i++)
        memset(a + i * n + i + 1, 0, (n - i - 1) * sizeof *a);
    return 0;
}

/* u = (L⁻¹)ᵀ for lower triangular l (n×n): row c of u is column c of L⁻¹, by forward substitution. */
static void lower_inv_t(double *u, const double *l, size_t n)
{
    memset(u, 0, n * n * sizeof *u);
    for (size_t c = 0; c < n; c++) {
        double *x = u + c * n;
        x[c] = 1.0 / l[c * n + c];
        for (size_t i = c + 1; i < n; i++) {
            const double *li = l + i * n;
            double s = 0;
            for (size_t k = c; k < i; k++)
                s += li[k] * x[k];
            x[i] = -s / li[i];
        }
    }
}

int llq_spd_inverse(double *a, size_t n)
{
    int err = llq_cholesky(a, n);
    if (err)
        return err;
    double *u = malloc(n ? n * n * sizeof *u : 1);
    if (!u)
        return llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu inverse)", n, n);
    lower_inv_t(u, a, n);
    /* A⁻¹ = L⁻ᵀ·L⁻¹: (A⁻¹)[i][j] = Σ_{k ≥ max(i,j)} u[i][k]·u[j][k]. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            const double *ui = u + i * n, *uj = u + j * n;
            double s = 0;
            for (size_t k = j; k < n; k++)
                s += ui[k] * uj[k];
            a[i * n + j] = s;
            a[j * n + i] = s;
        }
    free(u);
    return 0;
}

int llq_chol_inv_upper(double *a, size_t n)
{
    /* With J the reversal, chol(J·A·J) = M gives A = V·Vᵀ with V = J·M·J upper; then U = V⁻¹ = J·M⁻¹·J is upper
     * and Uᵀ·U = (V·Vᵀ)⁻¹ = A⁻¹. One Cholesky and one triangular inverse, no full inverse. */
    double *m = malloc(n ? n * n * sizeof *m : 1);
    if (!m)
        return llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu factor)", n, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            m[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)];
    int err = llq_cholesky(m, n);
    if (!err) {
        lower_inv_t(a, m, n); /* a = (M⁻¹)ᵀ, upper */
        /* U[i][j] = M⁻¹[n-1-i][n-1-j] = a[n-1-j][n-1-i] */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                m[i * n + j] = a[(n - 1 - j) * n + (n - 1 - i)];
        memcpy(a, m, n * n * sizeof *a);
    }
    free(m);
    return err;
}

void llq_sym_fill(double *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            h[j * n + i] = h[i * n + j];
}

#define CHUNK 512 /* tokens per transposed tile (float sums over at most this many terms) */
#define RB 64      /* rows of H per GEMM call */

void llq_xtx_acc(double *h, const float *x, size_t n, size_t cols)
{
    if (!n || !cols)
        return;
    size_t m0 = n < CHUNK ? n : CHUNK, rb = cols < RB ? cols : RB;
    float *xt = malloc(cols * m0 * sizeof *xt), *tmp = malloc(rb * cols * sizeof *tmp);
    if (!xt || !tmp) { /* no scratch: the plain triple loop */
        for (size_t t = 0; t < n; t++)
            for (size_t i = 0; i < cols; i++)
                for (size_t j = i; j < cols; j++)
                    h[i * cols + j] += (double)x[t * cols + i] * x[t * cols + j];
        goto done;
    }
    for (size_t t0 = 0; t0 < n; t0 += m0) {
        size_t m = n - t0 < m0 ? n - t0 : m0;
        for (size_t t = 0; t < m; t++)
            for (size_t i = 0; i < cols; i++)
                xt[i * m + t] = x[(t0 + t) * cols + i];
        /* rows i0..i0+nb of H against columns i0..cols: tmp[p][q] = Σ_t xt[i0+p][t]·xt[i0+q][t] */
        for (size_t i0 = 0; i0 < cols; i0 += rb) {
            size_t nb = cols - i0 < rb ? cols - i0 : rb, nj = cols - i0;
            llq_gemm_f32(tmp, nj, xt + i0 * m, m, nb, xt + i0 * m, m, nj, m);
            for (size_t p = 0; p < nb; p++) {
                double *hr = h + (i0 + p) * cols + i0;
                const float *tr = tmp + p * nj;
                for (size_t q = p; q < nj; q++)
                    hr[q] += tr[q];
            }
        }
    }
done:
    free(xt), free(tmp);
}
