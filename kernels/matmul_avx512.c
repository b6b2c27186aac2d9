/* matmul_avx512.c — the AVX-512 register tile of the packed window GEMM (kernels/matmul_avx2.c, gemm_packed).
 * Compiled with -mavx512f (and the AVX2 set); called only when kern_avx512 is set (llq_cpu_has_avx512()).
 *
 * A 12-token × 32-row tile over two packed 16-row panels P0[k][16], P1[k][16] (the AVX2 path's panels, packed the
 * same way): per input k, two 16-float panel vectors and 12 activation broadcasts feed 24 FMAs into 24 zmm
 * accumulators. Each output element is the same f32 chain as in the AVX2 6 × 16 tile — c = fma(x[k], w[k], c)
 * for k in order over the KC block, then added to the block sums — so both tiles give the same bits
 * (tests/unit/test_kernels.c compares them). On a core with two 512-bit FMA pipes it does twice the AVX2 tile's
 * work per instruction. */
#include "kern.h"

#include <immintrin.h>

#define NR 16 /* rows per packed panel (as matmul_avx2.c) */

/* y[i*ldy + j] = (acc ? y[i*ldy + j] : 0) + Σ_k x[i*ldx + k] · P(k, j) for i < mr (<= 12), j < nr (<= 32), where
 * P(k, j) = P0[k*16 + j] (j < 16) or P1[k*16 + j - 16]. The x rows up to 12 must be readable. */
void llq_tile12x32_avx512(float *y, size_t ldy, size_t mr, size_t nr, int acc, const float *x, size_t ldx,
                          const float *P0, const float *P1, size_t kc)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    __m512 c80 = c00, c81 = c00, c90 = c00, c91 = c00, cA0 = c00, cA1 = c00, cB0 = c00, cB1 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx, *x4 = x + 4 * ldx, *x5 = x + 5 * ldx;
    const float *x6 = x + 6 * ldx, *x7 = x + 7 * ldx, *x8 = x + 8 * ldx, *x9 = x + 9 * ldx, *xA = x + 10 * ldx,
                *xB = x + 11 * ldx;
#define ROW(i)                                                                                                      \
    a = _mm512_set1_ps(x##i[k]);                                                                                    \
    c##i##0 = _mm512_fmadd_ps(a, b0, c##i##0);                                                                      \
    c##i##1 = _mm512_fmadd_ps(a, b1, c##i##1);
    _Pragma("GCC unroll 2")
    for (size_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(P0 + k * NR), b1 = _mm512_load_ps(P1 + k * NR), a;
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) ROW(8) ROW(9) ROW(A) ROW(B)
    }
#undef ROW
    __m512 c[12][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51},
                       {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {cA0, cA1}, {cB0, cB1}};
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    for (size_t i = 0; i < mr; i++) {
        float *yr = y + i * ldy;
        __m512 v0 = c[i][0], v1 = c[i][1];
        if (acc) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, yr));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, yr + 16));
        }
        _mm512_mask_storeu_ps(yr, m0, v0);
        _mm512_mask_storeu_ps(yr + 16, m1, v1);
    }
}
