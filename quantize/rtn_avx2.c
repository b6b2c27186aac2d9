/* rtn_avx2.c — AVX2 twin of rtn_acc32_ref (quantize/rtn_kern.h): same operations, same order, no FMA. */
#include "rtn_kern.h"

#include <immintrin.h>
#include <stddef.h>

/* codes of 8 elements */
static inline __m256 codes(__m256 xv, __m256 s, __m256 l, __m256 h)
{
    __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(xv, s), l), h);
    return _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* One chunk of 32, unrolled by hand (the compiler at -O2 keeps the 4-step loop and spills). */
static inline void chunk(__m256 *la, __m256 *lb, const float *x, __m256 s, __m256 l, __m256 h)
{
    __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8), x2 = _mm256_loadu_ps(x + 16),
           x3 = _mm256_loadu_ps(x + 24);
    __m256 c0 = codes(x0, s, l, h), c1 = codes(x1, s, l, h), c2 = codes(x2, s, l, h), c3 = codes(x3, s, l, h);
    __m256 p01 = _mm256_add_ps(_mm256_mul_ps(x0, c0), _mm256_mul_ps(x1, c1));
    __m256 p23 = _mm256_add_ps(_mm256_mul_ps(x2, c2), _mm256_mul_ps(x3, c3));
    __m256 q01 = _mm256_add_ps(_mm256_mul_ps(c0, c0), _mm256_mul_ps(c1, c1));
    __m256 q23 = _mm256_add_ps(_mm256_mul_ps(c2, c2), _mm256_mul_ps(c3, c3));
    *la = _mm256_add_ps(*la, _mm256_add_ps(p01, p23));
    *lb = _mm256_add_ps(*lb, _mm256_add_ps(q01, q23));
}

static inline void chunk_w(__m256 *la, __m256 *lb, const float *x, const float *w, __m256 s, __m256 l, __m256 h)
{
    __m256 p[4], q[4];
    for (int v = 0; v < 4; v++) {
        __m256 xv = _mm256_loadu_ps(x + 8 * v), wv = _mm256_loadu_ps(w + 8 * v), c = codes(xv, s, l, h);
        p[v] = _mm256_mul_ps(_mm256_mul_ps(wv, xv), c);
        q[v] = _mm256_mul_ps(_mm256_mul_ps(wv, c), c);
    }
    *la = _mm256_add_ps(*la, _mm256_add_ps(_mm256_add_ps(p[0], p[1]), _mm256_add_ps(p[2], p[3])));
    *lb = _mm256_add_ps(*lb, _mm256_add_ps(_mm256_add_ps(q[0], q[1]), _mm256_add_ps(q[2], q[3])));
}

/* Sums of the 8 lanes of v[0..7], one per output lane: ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). */
static inline __m256 reduce8(const __m256 *v)
{
    __m256 h0123 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    __m256 h4567 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20), _mm256_permute2f128_ps(h0123, h4567, 0x31));
}

void rtn_search_avx2(float *a, float *b, const float *x, const float *w, uint64_t nch, const float *xt,
                     const float *wt, const float *inv, const float *lo, const float *hi, int nc)
{
    __m256 va[RTN_MAX_CAND + 7], vb[RTN_MAX_CAND + 7];
    for (int i = 0; i < nc; i++) {
        __m256 s = _mm256_set1_ps(inv[i]), l = _mm256_set1_ps(lo[i]), h = _mm256_set1_ps(hi[i]);
        __m256 la = _mm256_setzero_ps(), lb = _mm256_setzero_ps();
        if (w) {
            for (uint64_t ch = 0; ch < nch; ch++)
                chunk_w(&la, &lb, x + 32 * ch, w + 32 * ch, s, l, h);
            if (xt)
                chunk_w(&la, &lb, xt, wt, s, l, h);
        } else {
            for (uint64_t ch = 0; ch < nch; ch++)
                chunk(&la, &lb, x + 32 * ch, s, l, h);
            if (xt)
                chunk(&la, &lb, xt, s, l, h);
        }
        va[i] = la;
        vb[i] = lb;
    }
    for (int i = nc; i < (nc + 7) / 8 * 8; i++)
        va[i] = vb[i] = _mm256_setzero_ps();
    for (int i = 0; i < nc; i += 8) { /* a, b have room for nc rounded up to 8 */
        _mm256_storeu_ps(a + i, reduce8(va + i));
        _mm256_storeu_ps(b + i, reduce8(vb + i));
    }
}

uint32_t rtn_beats_avx2(uint32_t *m, const float *a, const float *b, int nc)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i in0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane), in1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8), lane);
    __m256 a0 = _mm256_maskload_ps(a, in0), b0 = _mm256_maskload_ps(b, in0), q0 = _mm256_mul_ps(a0, a0);
    __m256 a1 = _mm256_maskload_ps(a + 8, in1), b1 = _mm256_maskload_ps(b + 8, in1), q1 = _mm256_mul_ps(a1, a1);
    uint32_t all = nc >= 32 ? ~0u : (1u << nc) - 1;
    for (int w = 0; w < nc; w++) {
        __m256 bw = _mm256_set1_ps(b[w]), qw = _mm256_set1_ps(a[w] * a[w]);
        uint32_t k = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_mul_ps(q0, bw), _mm256_mul_ps(qw, b0), _CMP_GT_OQ));
        if (nc > 8)
            k |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_mul_ps(q1, bw), _mm256_mul_ps(qw, b1), _CMP_GT_OQ)) << 8;
        m[w] = k & all;
    }
    const __m256 zero = _mm256_setzero_ps();
    uint32_t valid = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(b0, zero, _CMP_GT_OQ)) |
                     (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(b1, zero, _CMP_GT_OQ)) << 8;
    return valid & all;
}

int rtn_stats_avx2(float *st, const float *x, uint64_t n)
{
    __m256 mn = _mm256_set1_ps(st[0]), mx = _mm256_set1_ps(st[1]);
    __m256i expm = _mm256_set1_epi32(0x7f800000), bad = _mm256_setzero_si256();
    for (uint64_t e = 0; e < n; e += 8) {
        __m256 v = _mm256_loadu_ps(x + e);
        __m256i bits = _mm256_and_si256(_mm256_castps_si256(v), expm);
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(bits, expm));
        mn = _mm256_min_ps(v, mn);
        mx = _mm256_max_ps(v, mx);
    }
    __m128 m4 = _mm_min_ps(_mm256_castps256_ps128(mn), _mm256_extractf128_ps(mn, 1));
    __m128 x4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_min_ps(m4, _mm_movehl_ps(m4, m4));
    x4 = _mm_max_ps(x4, _mm_movehl_ps(x4, x4));
    st[0] = _mm_cvtss_f32(_mm_min_ss(m4, _mm_shuffle_ps(m4, m4, 1)));
    st[1] = _mm_cvtss_f32(_mm_max_ss(x4, _mm_shuffle_ps(x4, x4, 1)));
    return !_mm256_testz_si256(bad, bad);
}

void rtn_encode32_avx2(uint8_t *dst, const float *x, float inv, float lo, float hi, float zz, int nib)
{
    __m256 s = _mm256_set1_ps(inv), l = _mm256_set1_ps(lo), h = _mm256_set1_ps(hi), z = _mm256_set1_ps(zz);
    __m256i c[4];
    for (int v = 0; v < 4; v++) {
        __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * v), s), l), h);
        t = _mm256_add_ps(_mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
        c[v] = _mm256_cvttps_epi32(t);
    }
    /* int32 -> int16 -> int8 with saturation (values fit), then undo the lane interleave of the packs */
    __m256i p16a = _mm256_packs_epi32(c[0], c[1]), p16b = _mm256_packs_epi32(c[2], c[3]);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    if (!nib) {
        _mm256_storeu_si256((__m256i *)(void *)dst, p8);
        return;
    }
    __m128i lo16 = _mm256_castsi256_si128(p8), hi16 = _mm256_extracti128_si256(p8, 1);
    __m128i packed = _mm_or_si128(lo16, _mm_slli_epi16(hi16, 4));
    _mm_storeu_si128((__m128i *)(void *)dst, packed);
}
