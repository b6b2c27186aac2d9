/* dgemm_avx2.c — AVX2/FMA twin of llq_dgemm_sub_ref (kernels/dgemm.c): C −= A·B in f64.
 * Blocks of KC along the inner dimension keep a 16-column strip of B (KC × 16 doubles, 32 KB) in L1/L2 while
 * 4-row × 16-column register tiles (16 accumulators, 4 B loads and 4 A broadcasts per 16 FMAs) run down A. The
 * partial sums of one block go into C once, so C is read and written k / KC times. Columns past the last multiple
 * of 4 use a scalar loop. */
#include "llq/kernels.h"

#include <immintrin.h>

#define KC 256
#define MR 4
#define NB 16

/* c[i][j] -= Σ_p a[i][p]·b[p][j] for i < mr (<= MR), j < 16, p < kc. */
static inline void tile16(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t mr,
                          size_t kc)
{
    __m256d acc[MR][4];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < 4; v++)
            acc[i][v] = _mm256_setzero_pd();
    if (mr == MR) {
        for (size_t p = 0; p < kc; p++) {
            const double *bp = b + p * ldb;
            __m256d b0 = _mm256_loadu_pd(bp), b1 = _mm256_loadu_pd(bp + 4), b2 = _mm256_loadu_pd(bp + 8),
                    b3 = _mm256_loadu_pd(bp + 12);
            for (int i = 0; i < MR; i++) {
                __m256d x = _mm256_broadcast_sd(a + i * lda + p);
                acc[i][0] = _mm256_fmadd_pd(x, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_pd(x, b1, acc[i][1]);
                acc[i][2] = _mm256_fmadd_pd(x, b2, acc[i][2]);
                acc[i][3] = _mm256_fmadd_pd(x, b3, acc[i][3]);
            }
        }
    } else {
        for (size_t p = 0; p < kc; p++) {
            const double *bp = b + p * ldb;
            __m256d b0 = _mm256_loadu_pd(bp), b1 = _mm256_loadu_pd(bp + 4), b2 = _mm256_loadu_pd(bp + 8),
                    b3 = _mm256_loadu_pd(bp + 12);
            for (size_t i = 0; i < mr; i++) {
                __m256d x = _mm256_broadcast_sd(a + i * lda + p);
                acc[i][0] = _mm256_fmadd_pd(x, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_pd(x, b1, acc[i][1]);
                acc[i][2] = _mm256_fmadd_pd(x, b2, acc[i][2]);
                acc[i][3] = _mm256_fmadd_pd(x, b3, acc[i][3]);
            }
        }
    }
    for (size_t i = 0; i < mr; i++)
        for (int v = 0; v < 4; v++) {
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
    size_t n16 = n / NB * NB, n4 = n / 4 * 4;
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        size_t kc = k - p0 < KC ? k - p0 : KC;
        const double *ap = a + p0, *bp = b + p0 * ldb;
        for (size_t j = 0; j < n16; j += NB)
            for (size_t i = 0; i < m; i += MR)
                tile16(c + i * ldc + j, ldc, ap + i * lda, lda, bp + j, ldb, m - i < MR ? m - i : MR, kc);
        for (size_t j = n16; j < n4; j += 4)
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
