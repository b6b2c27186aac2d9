/* rtn_avx2.c — AVX2 twins of the RTN loops (quantize/rtn_kern.h): same operations, same order, no FMA. */
#include "rtn_kern.h"

#include "llq/llq.h"

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

static inline __m256 neg8(__m256 v)
{
    return _mm256_xor_ps(v, _mm256_set1_ps(-0.0f));
}

/* codes of the 32 elements at x (see rtn_encode32_ref) */
static inline void enc32(uint8_t *dst, const float *x, __m256 s, __m256 l, __m256 h, __m256 z, int nib)
{
    /* round(t) + z with t in [lo, hi] and z a small integer: the integer conversion rounds to nearest even (the
     * default mode, which rtn.c's rnd assumes too), then z is added as an integer */
    __m256i c[4], zi = _mm256_cvttps_epi32(z);
    for (int v = 0; v < 4; v++) {
        __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * v), s), l), h);
        c[v] = _mm256_add_epi32(_mm256_cvtps_epi32(t), zi);
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

void rtn_encode32_avx2(uint8_t *dst, const float *x, float inv, float lo, float hi, float zz, int nib)
{
    enc32(dst, x, _mm256_set1_ps(inv), _mm256_set1_ps(lo), _mm256_set1_ps(hi), _mm256_set1_ps(zz), nib);
}

void rtn_encode8_avx2(uint8_t *dst, uint16_t *h, const float *x, uint64_t nch, const float *d, const uint8_t *z,
                      uint32_t type)
{
    /* rtn.c's grid() for the 8 groups: inv = d != 0 ? 1/d : 0, lo = -127 / -8 / -z, hi, zz = -lo (q4, q4a) */
    int nib = type != LLQ_Q8;
    __m256 dv = _mm256_loadu_ps(d), lo, hi, zz;
    _mm_storeu_si128((__m128i *)(void *)h, _mm256_cvtps_ph(dv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256 inv = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), dv),
                               _mm256_cmp_ps(dv, _mm256_setzero_ps(), _CMP_NEQ_UQ));
    if (type == LLQ_Q8) {
        lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f), zz = _mm256_setzero_ps();
    } else {
        if (type == LLQ_Q4) {
            lo = _mm256_set1_ps(-8.0f);
        } else {
            __m128i z8 = _mm_loadl_epi64((const __m128i *)(const void *)z);
            lo = neg8(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(z8)));
        }
        hi = _mm256_add_ps(lo, _mm256_set1_ps(15.0f));
        zz = neg8(lo);
    }
    float fi[8], fl[8], fh[8], fz[8];
    _mm256_storeu_ps(fi, inv);
    _mm256_storeu_ps(fl, lo);
    _mm256_storeu_ps(fh, hi);
    _mm256_storeu_ps(fz, zz);
    for (int g = 0; g < 8; g++) {
        __m256 s = _mm256_set1_ps(fi[g]), l = _mm256_set1_ps(fl[g]), u = _mm256_set1_ps(fh[g]),
               o = _mm256_set1_ps(fz[g]);
        for (uint64_t ch = 0; ch < nch; ch++, x += 32, dst += nib ? 16 : 32)
            enc32(dst, x, s, l, u, o, nib);
    }
}

/* ---- 8 groups side by side, one per lane (rtn_scales8) ---- */

static inline __m256 rnd8(__m256 v) /* (v + MAGIC) − MAGIC, as rtn.c's rnd */
{
    const __m256 m = _mm256_set1_ps(12582912.0f);
    return _mm256_sub_ps(_mm256_add_ps(v, m), m);
}

static inline __m256 clamp8(__m256 v, __m256 lo, __m256 hi) /* rtn.c's clampf: v > lo ? v : lo, then < hi */
{
    return _mm256_min_ps(_mm256_max_ps(v, lo), hi);
}

/* t[k] = column k of the 8×8 block whose row g is x + g·stride (unrolled by hand: at -O2 the compiler keeps
 * the loops and goes through memory) */
static inline void transpose8(__m256 *t, const float *x, uint64_t stride)
{
    __m256 r0 = _mm256_loadu_ps(x), r1 = _mm256_loadu_ps(x + stride), r2 = _mm256_loadu_ps(x + 2 * stride),
           r3 = _mm256_loadu_ps(x + 3 * stride), r4 = _mm256_loadu_ps(x + 4 * stride),
           r5 = _mm256_loadu_ps(x + 5 * stride), r6 = _mm256_loadu_ps(x + 6 * stride),
           r7 = _mm256_loadu_ps(x + 7 * stride);
    __m256 u0 = _mm256_unpacklo_ps(r0, r1), u1 = _mm256_unpackhi_ps(r0, r1), u2 = _mm256_unpacklo_ps(r2, r3),
           u3 = _mm256_unpackhi_ps(r2, r3), u4 = _mm256_unpacklo_ps(r4, r5), u5 = _mm256_unpackhi_ps(r4, r5),
           u6 = _mm256_unpacklo_ps(r6, r7), u7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(u0, u2, 0x44), s1 = _mm256_shuffle_ps(u0, u2, 0xee),
           s2 = _mm256_shuffle_ps(u1, u3, 0x44), s3 = _mm256_shuffle_ps(u1, u3, 0xee),
           s4 = _mm256_shuffle_ps(u4, u6, 0x44), s5 = _mm256_shuffle_ps(u4, u6, 0xee),
           s6 = _mm256_shuffle_ps(u5, u7, 0x44), s7 = _mm256_shuffle_ps(u5, u7, 0xee);
    t[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    t[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    t[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    t[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    t[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    t[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    t[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    t[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7)), lane-wise */
static inline __m256 tree8(const __m256 *v)
{
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(v[0], v[1]), _mm256_add_ps(v[2], v[3])),
                         _mm256_add_ps(_mm256_add_ps(v[4], v[5]), _mm256_add_ps(v[6], v[7])));
}

/* rtn_search_ref's a and b of one candidate grid (s, l, h) for the 8 groups of the columns t[32·nch]: lane l of
 * the scalar loop is k here, the chunk order and the final reduction are the same (b: exact, see rtn_kern.h). */
static inline void sums8(__m256 *a, __m256 *b, const __m256 *t, uint64_t nch, __m256 s, __m256 l, __m256 h)
{
    __m256 la[8], lb[8];
    for (int k = 0; k < 8; k++) {
        __m256 sa = _mm256_setzero_ps(), sb = _mm256_setzero_ps();
        for (uint64_t ch = 0; ch < nch; ch++) {
            const __m256 *u = t + 32 * ch + k;
            __m256 c0 = codes(u[0], s, l, h), c1 = codes(u[8], s, l, h), c2 = codes(u[16], s, l, h),
                   c3 = codes(u[24], s, l, h);
            __m256 p01 = _mm256_add_ps(_mm256_mul_ps(u[0], c0), _mm256_mul_ps(u[8], c1));
            __m256 p23 = _mm256_add_ps(_mm256_mul_ps(u[16], c2), _mm256_mul_ps(u[24], c3));
            /* the scalar loop starts from 0: 0 + p differs from p only for p = -0, which the + 0 after the
             * lane sum below gives back (a sum is a signed zero only if it is zero, and then +0 either way) */
            sa = ch ? _mm256_add_ps(sa, _mm256_add_ps(p01, p23)) : _mm256_add_ps(p01, p23);
            /* b = Σc² is a sum of integers below 2^24 (|c| <= 127, at most 128 terms): exact in any order */
            sb = _mm256_fmadd_ps(c3, c3, _mm256_fmadd_ps(c2, c2, sb));
            sb = _mm256_fmadd_ps(c1, c1, _mm256_fmadd_ps(c0, c0, sb));
        }
        la[k] = sa;
        lb[k] = sb;
    }
    *a = _mm256_add_ps(tree8(la), _mm256_setzero_ps());
    *b = tree8(lb);
}

/* Candidate grids of rtn.c's make_cands (search on), lane-wise; the factors are computed in separate
 * statements so that no compiler contracts them. Returns the count. zc: the zero point of each (q4a). */
static int cands8(__m256 *inv, __m256 *lo, __m256 *hi, __m256 *zc, uint32_t type, __m256 amax, __m256 m,
                  __m256 mn, __m256 mx)
{
    int nc = 0;
    const __m256 zero = _mm256_setzero_ps(), f15 = _mm256_set1_ps(15.0f);
    if (type == LLQ_Q8) {
        __m256 r = _mm256_div_ps(_mm256_set1_ps(127.0f), amax);
        for (int i = 0; i < 4; i++, nc++) {
            float f = 0.005f * (float)i;
            f = 1.0f + f;
            inv[nc] = _mm256_mul_ps(r, _mm256_set1_ps(f));
            lo[nc] = _mm256_set1_ps(-127.0f);
            hi[nc] = _mm256_set1_ps(127.0f);
            zc[nc] = zero;
        }
    } else if (type == LLQ_Q4) {
        __m256 r = _mm256_div_ps(_mm256_set1_ps(-1.0f), m);
        for (int i = 0; i < 8; i++, nc++) {
            float f = 0.35f * (float)i;
            f = 7.25f + f;
            inv[nc] = _mm256_mul_ps(_mm256_set1_ps(f), r);
            lo[nc] = _mm256_set1_ps(-8.0f);
            hi[nc] = _mm256_set1_ps(7.0f);
            zc[nc] = zero;
        }
    } else {
        __m256 r = _mm256_sub_ps(mx, mn), nmn = neg8(mn);
        for (int i = 0; i < 4; i++) {
            float f = 0.05f * (float)i;
            f = 1.0f - f;
            __m256 d = _mm256_div_ps(_mm256_mul_ps(r, _mm256_set1_ps(f)), f15);
            __m256 iv = _mm256_div_ps(_mm256_set1_ps(1.0f), d), z[3];
            z[0] = clamp8(rnd8(_mm256_mul_ps(nmn, iv)), zero, f15);
            z[1] = clamp8(_mm256_sub_ps(f15, rnd8(_mm256_mul_ps(mx, iv))), zero, f15);
            __m256 half = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_sub_ps(r, _mm256_mul_ps(f15, d)));
            z[2] = clamp8(rnd8(_mm256_mul_ps(_mm256_sub_ps(nmn, half), iv)), zero, f15);
            for (int k = 0; k < (i ? 3 : 1); k++, nc++) {
                inv[nc] = iv;
                lo[nc] = neg8(z[k]);
                hi[nc] = _mm256_sub_ps(f15, z[k]);
                zc[nc] = z[k];
            }
        }
    }
    return nc;
}

int rtn_scales8_avx2(float *d, uint8_t *z, const float *x, uint64_t nch, uint32_t type, const float *next)
{
    uint64_t glen = 32 * nch;
    __m256 t[128];
    const __m256 zero = _mm256_setzero_ps();
    const __m256i expm = _mm256_set1_epi32(0x7f800000);
    __m256 mn = zero, mx = zero;
    __m256i bad = _mm256_setzero_si256();
    for (uint64_t e = 0; e < glen; e += 8) {
        for (int g = 0; next && g < 8; g++) /* the next 8 groups, while this batch computes */
            _mm_prefetch((const char *)(next + (uint64_t)g * glen + e), _MM_HINT_T0);
        transpose8(t + e, x + e, glen);
        for (int k = 0; k < 8; k++) {
            __m256 v = t[e + k];
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), expm), expm));
            mn = _mm256_min_ps(v, mn);
            mx = _mm256_max_ps(v, mx);
        }
    }
    int badmask = _mm256_movemask_ps(_mm256_castsi256_ps(bad));
    if (badmask)
        return badmask;
    /* amax = mx >= -mn ? mx : -mn, m = mx >= -mn ? mx : mn */
    __m256 nmn = neg8(mn), ge = _mm256_cmp_ps(mx, nmn, _CMP_GE_OQ);
    __m256 amax = _mm256_blendv_ps(nmn, mx, ge), m = _mm256_blendv_ps(mn, mx, ge);
    __m256 inv[RTN_MAX_CAND], lo[RTN_MAX_CAND], hi[RTN_MAX_CAND], zc[RTN_MAX_CAND];
    int nc = cands8(inv, lo, hi, zc, type, amax, m, mn, mx);
    /* rtn_pick's sequential scan: i takes over when b_i > 0 and (none kept, or (a_i·a_i)·b_w > (a_w·a_w)·b_i) */
    __m256 none = _mm256_castsi256_ps(_mm256_set1_epi32(-1)), ba = zero, bb = zero, bq = zero, bz = zero;
    for (int i = 0; i < nc; i++) {
        __m256 a, b;
        if (nch == 1) /* g32: the chunk loop unrolled away */
            sums8(&a, &b, t, 1, inv[i], lo[i], hi[i]);
        else
            sums8(&a, &b, t, nch, inv[i], lo[i], hi[i]);
        __m256 beats = _mm256_cmp_ps(_mm256_mul_ps(_mm256_mul_ps(a, a), bb), _mm256_mul_ps(bq, b), _CMP_GT_OQ);
        __m256 take = _mm256_and_ps(_mm256_cmp_ps(b, zero, _CMP_GT_OQ), _mm256_or_ps(none, beats));
        ba = _mm256_blendv_ps(ba, a, take);
        bb = _mm256_blendv_ps(bb, b, take);
        bq = _mm256_mul_ps(ba, ba);
        bz = _mm256_blendv_ps(bz, zc[i], take);
        none = _mm256_andnot_ps(take, none);
    }
    /* best_d = a/b of the kept one, 0 if none (then z is candidate 0's); all 0 for an all-zero group */
    __m256 nz = _mm256_cmp_ps(amax, zero, _CMP_GT_OQ);
    __m256 dv = _mm256_and_ps(_mm256_andnot_ps(none, _mm256_div_ps(ba, bb)), nz);
    __m256 zv = _mm256_and_ps(_mm256_blendv_ps(bz, zc[0], none), nz);
    dv = _mm256_cvtph_ps(_mm256_cvtps_ph(dv, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm256_storeu_ps(d, dv);
    float zf[8];
    _mm256_storeu_ps(zf, zv);
    for (int g = 0; g < 8; g++)
        z[g] = (uint8_t)zf[g];
    return 0;
}
