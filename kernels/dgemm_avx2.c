/* dgemm_avx2.c — AVX2/FMA twin of llq_dgemm_sub_ref (kernels/dgemm.c): C −= A·B in f64.
 * Blocks of KC along the inner dimension keep an 8-column strip of B (KC × 8 doubles, 16 KB) in L1 while
 * 6-row × 8-column register tiles (12 accumulators, 2 B loads and 6 A broadcasts per 12 FMAs) run down A. The
 * partial sums of one block go into C once, so C is read and written k / KC times. Columns past the last multiple
 * of 4 use a scalar loop. */
#include "llq/kernels.h"
#include "kern.h"

#include <immintrin.h>

#define KC 256
#define MR 6
#define NB 8

/* c[i][j] -= Σ_p a[i][p]·b[p][j] for i < mr (<= MR), j < 8, p < kc: 12 accumulators, 2 B loads and 6 A broadcasts
 * per 12 FMAs (15 of the 16 vector registers). */
static inline void tile8(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t mr,
                         size_t kc)
{
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256d c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const double *a0 = a, *a1 = a + (mr > 1) * lda, *a2 = a + (mr > 2) * 2 * lda, *a3 = a + (mr > 3) * 3 * lda,
                 *a4 = a + (mr > 4) * 4 * lda, *a5 = a + (mr > 5) * 5 * lda; /* rows past mr: row 0 again */
    for (size_t p = 0; p < kc; p++) {
        const double *bp = b + p * ldb;
        __m256d b0 = _mm256_loadu_pd(bp), b1 = _mm256_loadu_pd(bp + 4), x;
        x = _mm256_broadcast_sd(a0 + p);
        c00 = _mm256_fmadd_pd(x, b0, c00), c01 = _mm256_fmadd_pd(x, b1, c01);
        x = _mm256_broadcast_sd(a1 + p);
        c10 = _mm256_fmadd_pd(x, b0, c10), c11 = _mm256_fmadd_pd(x, b1, c11);
        x = _mm256_broadcast_sd(a2 + p);
        c20 = _mm256_fmadd_pd(x, b0, c20), c21 = _mm256_fmadd_pd(x, b1, c21);
        x = _mm256_broadcast_sd(a3 + p);
        c30 = _mm256_fmadd_pd(x, b0, c30), c31 = _mm256_fmadd_pd(x, b1, c31);
        x = _mm256_broadcast_sd(a4 + p);
        c40 = _mm256_fmadd_pd(x, b0, c40), c41 = _mm256_fmadd_pd(x, b1, c41);
        x = _mm256_broadcast_sd(a5 + p);
        c50 = _mm256_fmadd_pd(x, b0, c50), c51 = _mm256_fmadd_pd(x, b1, c51);
    }
    __m256d acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (size_t i = 0; i < mr; i++)
        for (int v = 0; v < 2; v++) {
            double *cp = c + i * ldc + 4 * v;
            _mm256_storeu_pd(cp, _mm256_sub_pd(_mm256_loadu_pd(cp), acc[i][v]));
        }
}

/* The same for 4 columns. */
static inline void tile4(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t mr,
                         size_t kc)
{
    for (size_t i = 0; i < mr; i++) {
        __m256d acc = _mm256_setzero_pd();
        for (size_t p = 0; p < kc; p++)
            acc = _mm256_fmadd_pd(_mm256_broadcast_sd(a + i * lda + p), _mm256_loadu_pd(b + p * ldb), acc);
        _mm256_storeu_pd(c + i * ldc, _mm256_sub_pd(_mm256_loadu_pd(c + i * ldc), acc));
    }
}

void llq_dgemm_sub_avx2(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                        size_t n, size_t k)
{
    size_t n8 = n / NB * NB, n4 = n / 4 * 4;
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        size_t kc = k - p0 < KC ? k - p0 : KC;
        const double *ap = a + p0, *bp = b + p0 * ldb;
        for (size_t j = 0; j < n8; j += NB)
            for (size_t i = 0; i < m; i += MR)
                tile8(c + i * ldc + j, ldc, ap + i * lda, lda, bp + j, ldb, m - i < MR ? m - i : MR, kc);
        for (size_t j = n8; j < n4; j += 4)
            tile4(c + j, ldc, ap, lda, bp + j, ldb, m, kc);
        for (size_t i = 0; i < m; i++)
            for (size_t j = n4; j < n; j++) {
                double s = 0;
                for (size_t p = 0; p < kc; p++)
                    s = __builtin_fma(ap[i * lda + p], bp[p * ldb + j], s);
                c[i * ldc + j] -= s;
            }
    }
}
