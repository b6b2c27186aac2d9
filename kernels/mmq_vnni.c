/* mmq_vnni.c — the AVX-512 VNNI tile of the int8 window GEMM (kernels/mmq.h, contract there). Compiled with
 * -mavx512f -mavx512bw -mavx512vnni (and the AVX2 set); called only when kern_use_avx512() and
 * llq_cpu_has_avx512vnni().
 *
 * 6 tokens × 32 rows: per step of 4 inputs, two 64-byte loads of the panel (the codes of rows 0-15 and 16-31), one
 * broadcast of each token's 4 activation codes, 12 vpdpbusd (u8 × s8, four products summed into each int32 lane)
 * into 12 integer accumulators; per block (q6_k: per half block) the integers go to f32 and into 12 f32
 * accumulators with one fma (q4_k: and one more for its min term) — the operations of llq_mmq_ref, lane by lane. */
#include "mmq.h"

#include <immintrin.h>
#include <string.h>

static inline int32_t x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline __attribute__((always_inline)) void tile(float *y, size_t ldy, size_t mt, int kind, int first,
                                                       const mmq_act *a, size_t t0, uint64_t kb0, size_t nbk,
                                                       const mmq_panel *P)
{
    __m512 fa[MMQ_MT][2];
    const int8_t *xq[MMQ_MT];
    size_t ti[MMQ_MT];
    _Pragma("GCC unroll 6") for (size_t t = 0; t < MMQ_MT; t++)
    {
        ti[t] = t0 + (t < mt ? t : mt - 1); /* rows past mt repeat the last token; never stored */
        xq[t] = a->q + ti[t] * a->K;
        for (int v = 0; v < 2; v++)
            fa[t][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + (t < mt ? t : 0) * ldy + 16 * (size_t)v);
    }
    for (size_t b = 0; b < nbk; b++) {
        uint64_t kb = kb0 + b;
        for (int h = 0; h < (kind == MMQ_Q6K ? 2 : 1); h++)
        {
            const int j0 = kind == MMQ_Q6K ? 4 * h : 0, j1 = kind == MMQ_Q6K ? j0 + 4 : 8;
            __m512i ia[MMQ_MT][2];
            _Pragma("GCC unroll 6") for (size_t t = 0; t < MMQ_MT; t++)
            {
                size_t i = ti[t] * a->nb + kb;
                __m512i z = kind == MMQ_Q4    ? _mm512_set1_epi32(a->z8[i])
                            : kind == MMQ_Q6K ? _mm512_set1_epi32(a->z32[2 * i + (size_t)h])
                                              : _mm512_setzero_si512();
                ia[t][0] = ia[t][1] = z;
            }
            _Pragma("GCC unroll 8") for (int j = j0; j < j1; j++)
            {
                __m512i w0 = _mm512_load_si512(&P->q[b][j][0]), w1 = _mm512_load_si512(&P->q[b][j][16]);
                _Pragma("GCC unroll 6") for (size_t t = 0; t < MMQ_MT; t++)
                {
                    __m512i xv = _mm512_set1_epi32(x4(xq[t] + 32 * kb + 4 * (uint64_t)j));
                    ia[t][0] = _mm512_dpbusd_epi32(ia[t][0], w0, xv);
                    ia[t][1] = _mm512_dpbusd_epi32(ia[t][1], w1, xv);
                }
            }
            __m512 s0 = _mm512_load_ps(&P->ws[b][h][0]), s1 = _mm512_load_ps(&P->ws[b][h][16]);
            _Pragma("GCC unroll 6") for (size_t t = 0; t < MMQ_MT; t++)
            {
                size_t i = ti[t] * a->nb + kb;
                __m512 dx = _mm512_set1_ps(a->d[i]);
                fa[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[t][0]), _mm512_mul_ps(s0, dx), fa[t][0]);
                fa[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[t][1]), _mm512_mul_ps(s1, dx), fa[t][1]);
                if (kind == MMQ_Q4K) {
                    __m512 ds = _mm512_set1_ps(a->ds[i]);
                    fa[t][0] = _mm512_fnmadd_ps(_mm512_load_ps(&P->wm[b][0]), ds, fa[t][0]);
                    fa[t][1] = _mm512_fnmadd_ps(_mm512_load_ps(&P->wm[b][16]), ds, fa[t][1]);
                }
            }
        }
    }
    for (size_t t = 0; t < mt; t++) {
        _mm512_storeu_ps(y + t * ldy, fa[t][0]);
        _mm512_storeu_ps(y + t * ldy + 16, fa[t][1]);
    }
}

void mmq_tile_vnni(float *y, size_t ldy, size_t mt, int kind, int first, const mmq_act *a, size_t t0,
                   uint64_t kb0, size_t nbk, const mmq_panel *P)
{
    if (kind == MMQ_Q4)
        tile(y, ldy, mt, MMQ_Q4, first, a, t0, kb0, nbk, P);
    else if (kind == MMQ_Q4K)
        tile(y, ldy, mt, MMQ_Q4K, first, a, t0, kb0, nbk, P);
    else
        tile(y, ldy, mt, MMQ_Q6K, first, a, t0, kb0, nbk, P);
}
