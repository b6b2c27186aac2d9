/* linalg.c — the little dense linear algebra GPTQ and AWQ need: Cholesky, SPD inverse, H += XᵀX.
 * Row-major doubles; inner loops are dot products over contiguous rows. */
#include "llq/calib.h"

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

int llq_spd_inverse(double *a, size_t n)
{
    int err = llq_cholesky(a, n);
    if (err)
        return err;
    /* u = (L⁻¹)ᵀ, upper triangular: row c of u is column c of L⁻¹, found by forward substitution. */
    double *u = calloc(n ? n * n : 1, sizeof *u);
    if (!u)
        return llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu inverse)", n, n);
    for (size_t c = 0; c < n; c++) {
        double *x = u + c * n;
        x[c] = 1.0 / a[c * n + c];
        for (size_t i = c + 1; i < n; i++) {
            const double *li = a + i * n;
            double s = 0;
            for (size_t k = c; k < i; k++)
                s += li[k] * x[k];
            x[i] = -s / li[i];
        }
    }
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

void llq_sym_fill(double *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            h[j * n + i] = h[i * n + j];
}

#define CHUNK 64 /* tokens per transposed tile */

/* h[i][j] (j >= i) += Σ_t xt[i][t]·xt[j][t] for one tile xt [cols × m] (column-major tokens), float sums. */
static void tile_acc(double *h, const float *xt, size_t m, size_t cols)
{
    for (size_t i0 = 0; i0 < cols; i0 += 4) {
        size_t ni = cols - i0 < 4 ? cols - i0 : 4;
        for (size_t j0 = i0; j0 < cols; j0 += 4) {
            size_t nj = cols - j0 < 4 ? cols - j0 : 4;
            float acc[4][4] = {{0}};
            if (ni == 4 && nj == 4) {
                const float *a0 = xt + i0 * CHUNK, *b0 = xt + j0 * CHUNK;
                for (size_t t = 0; t < m; t++) {
                    float a[4] = {a0[t], a0[CHUNK + t], a0[2 * CHUNK + t], a0[3 * CHUNK + t]};
                    float b[4] = {b0[t], b0[CHUNK + t], b0[2 * CHUNK + t], b0[3 * CHUNK + t]};
                    for (int p = 0; p < 4; p++)
                        for (int q = 0; q < 4; q++)
                            acc[p][q] += a[p] * b[q];
                }
            } else {
                for (size_t p = 0; p < ni; p++)
                    for (size_t q = 0; q < nj; q++)
                        for (size_t t = 0; t < m; t++)
                            acc[p][q] += xt[(i0 + p) * CHUNK + t] * xt[(j0 + q) * CHUNK + t];
            }
            for (size_t p = 0; p < ni; p++)
                for (size_t q = 0; q < nj; q++)
                    if (j0 + q >= i0 + p)
                        h[(i0 + p) * cols + j0 + q] += acc[p][q];
        }
    }
}

void llq_xtx_acc(double *h, const float *x, size_t n, size_t cols)
{
    if (!n || !cols)
        return;
    float *xt = malloc(cols * CHUNK * sizeof *xt);
    if (!xt) { /* tiny fallback: no scratch needed */
        for (size_t t = 0; t < n; t++)
            for (size_t i = 0; i < cols; i++)
                for (size_t j = i; j < cols; j++)
                    h[i * cols + j] += (double)x[t * cols + i] * x[t * cols + j];
        return;
    }
    for (size_t t0 = 0; t0 < n; t0 += CHUNK) {
        size_t m = n - t0 < CHUNK ? n - t0 : CHUNK;
        for (size_t t = 0; t < m; t++)
            for (size_t i = 0; i < cols; i++)
                xt[i * CHUNK + t] = x[(t0 + t) * cols + i];
        tile_acc(h, xt, m, cols);
    }
    free(xt);
}
