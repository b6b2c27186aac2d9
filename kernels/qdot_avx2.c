/* qdot_avx2.c — AVX2 twin of kernels/qdot.c: int8 activations, integer block sums with maddubs/madd,
 * one f32 scale per block (see kernels/qdot.h for the exact contract). */
#include "qdot.h"

#include "llq/format.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

static inline int32_t hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

void qact_quantize_avx2(qact *a, const float *x, uint64_t K)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (uint64_t b = 0; b < a->nb; b++) {
        uint64_t k0 = 32 * b;
        float tmp[32];
        const float *src = x + k0;
        if (k0 + 32 > K) {
            uint64_t n = k0 >= K ? 0 : K - k0;
            memset(tmp, 0, sizeof tmp);
            if (n)
                memcpy(tmp, x + k0, (size_t)n * sizeof *tmp);
            src = tmp;
        }
        __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8), v2 = _mm256_loadu_ps(src + 16),
               v3 = _mm256_loadu_ps(src + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, abs_mask), _mm256_and_ps(v1, abs_mask)),
                                 _mm256_max_ps(_mm256_and_ps(v2, abs_mask), _mm256_and_ps(v3, abs_mask)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        float amax = _mm_cvtss_f32(m4);
        __m256 inv = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inv));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inv));
        a->s[b] = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_store_si256((__m256i *)(void *)(a->q + k0), _mm256_permutevar8x32_epi32(p, perm));
        a->d[b] = amax / 127.0f;
    }
    for (uint64_t b = 0; b + 2 <= a->nb; b += 2) { /* pair-interleaved copy for the nibble kernels */
        __m256i A = _mm256_load_si256((const __m256i *)(const void *)(a->q + 32 * b));
        __m256i B = _mm256_load_si256((const __m256i *)(const void *)(a->q + 32 * b + 32));
        _mm256_store_si256((__m256i *)(void *)(a->qi + 32 * b), _mm256_permute2x128_si256(A, B, 0x20));
        _mm256_store_si256((__m256i *)(void *)(a->qi + 32 * b + 32), _mm256_permute2x128_si256(A, B, 0x31));
    }
    uint64_t bpg = a->glen / 32;
    for (uint64_t g = 0; g < a->G; g++) { /* same order as qdot.c */
        float t = 0.0f;
        for (uint64_t b = g * bpg; b < (g + 1) * bpg; b++) {
            float pr = a->d[b] * (float)a->s[b];
            t += pr;
        }
        a->gs[g] = t;
    }
}

static inline float f16at(const uint8_t *dp, uint64_t g)
{
    uint16_t h;
    memcpy(&h, dp + 2 * g, 2);
    return _cvtsh_ss(h);
}

/* Per-block combined scales sc[i] = xd[b0+i] · d[(b0+i)/bpg] for nbc blocks; b0 a multiple of 8, bpg = blocks
 * per group (1, 2, 4, or all blocks of the row when G == 1). Reads only the scales that exist. */
static void block_scales(float *sc, const float *xd, const uint8_t *dp, uint64_t b0, uint64_t nbc, uint64_t bpg,
                         uint64_t G)
{
    uint64_t i = 0;
    if (G == 1) {
        __m256 d = _mm256_set1_ps(f16at(dp, 0));
        for (; i + 8 <= nbc; i += 8)
            _mm256_storeu_ps(sc + i, _mm256_mul_ps(_mm256_loadu_ps(xd + b0 + i), d));
        for (; i < nbc; i++)
            sc[i] = xd[b0 + i] * _mm256_cvtss_f32(d);
        return;
    }
    const unsigned sh = bpg == 1 ? 0 : bpg == 2 ? 1 : 2; /* G > 1: groups of 32, 64 or 128 (no division here) */
    for (; i + 8 <= nbc; i += 8) {
        uint64_t g0 = (b0 + i) >> sh;
        __m256 d;
        if (bpg == 1) {
            d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(dp + 2 * g0)));
        } else if (bpg == 2) {
            __m128 d4 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(const void *)(dp + 2 * g0)));
            d = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d4), _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
        } else {
            int32_t two;
            memcpy(&two, dp + 2 * g0, 4);
            __m128 d2 = _mm_cvtph_ps(_mm_cvtsi32_si128(two));
            d = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d2), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
        }
        _mm256_storeu_ps(sc + i, _mm256_mul_ps(_mm256_loadu_ps(xd + b0 + i), d));
    }
    for (; i < nbc; i++)
        sc[i] = xd[b0 + i] * f16at(dp, (b0 + i) >> sh);
}

#define CH 64 /* blocks per scale chunk */

/* Integer sums of two q4 blocks against pair-interleaved activations, as 8 f32 lanes (0-3: first block). */
static inline __m256 pair(const uint8_t *nib, const int8_t *qi, __m256i m4, __m256i ones)
{
    __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)nib);
    __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_load_si256((const __m256i *)(const void *)qi)),
                                 _mm256_maddubs_epi16(hi, _mm256_load_si256((const __m256i *)(const void *)(qi + 32))));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
}

/* [s0 x4, s1 x4] */
static inline __m256 pair_scale(const float *s)
{
    return _mm256_set_m128(_mm_broadcast_ss(s + 1), _mm_broadcast_ss(s));
}

float qdot_avx2(const uint8_t *row, const qact *a, uint32_t type)
{
    const uint64_t bpg = a->glen / 32;
    const uint8_t *dp = row + (type == LLQ_Q8 ? a->Kp : a->Kp / 2), *zp = dp + 2 * a->G;
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float sc[CH];
    for (uint64_t b0 = 0; b0 < a->nb; b0 += CH) {
        uint64_t nbc = a->nb - b0 < CH ? a->nb - b0 : CH;
        block_scales(sc, a->d, dp, b0, nbc, bpg, a->G);
        const int8_t *q = a->q + 32 * b0;
        uint64_t i = 0;
        if (type == LLQ_Q8) {
            const int8_t *w = (const int8_t *)row + 32 * b0;
            for (; i < nbc; i++) {
                __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(w + 32 * i));
                __m256i xv = _mm256_load_si256((const __m256i *)(const void *)(q + 32 * i));
                __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
                __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                if (i & 1)
                    acc1 = _mm256_fmadd_ps(f, _mm256_broadcast_ss(sc + i), acc1);
                else
                    acc0 = _mm256_fmadd_ps(f, _mm256_broadcast_ss(sc + i), acc0);
            }
        } else {
            /* two blocks per step: one 32-byte load of nibbles, low nibbles = first halves of both blocks,
             * high nibbles = second halves, against the pair-interleaved activations; lanes 0-3 hold block i,
             * lanes 4-7 block i+1, scaled by [sc_i x4, sc_i+1 x4] */
            const uint8_t *nib = row + 16 * b0;
            const int8_t *qi = a->qi + 32 * b0;
            for (; i + 4 <= nbc; i += 4) {
                acc0 = _mm256_fmadd_ps(pair(nib + 16 * i, qi + 32 * i, m4, ones), pair_scale(sc + i), acc0);
                acc1 = _mm256_fmadd_ps(pair(nib + 16 * i + 32, qi + 32 * i + 64, m4, ones), pair_scale(sc + i + 2), acc1);
            }
            for (; i + 2 <= nbc; i += 2)
                acc0 = _mm256_fmadd_ps(pair(nib + 16 * i, qi + 32 * i, m4, ones), pair_scale(sc + i), acc0);
            if (i < nbc) { /* the row's last block when the block count is odd */
                __m128i r0 = _mm_loadu_si128((const __m128i *)(const void *)(nib + 16 * i));
                __m256i w0 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r0, 4), r0), m4);
                __m256i p0 = _mm256_maddubs_epi16(w0, _mm256_load_si256((const __m256i *)(const void *)(q + 32 * i)));
                acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p0, ones)), _mm256_broadcast_ss(sc + i), acc0);
            }
        }
    }
    float y = hsum(_mm256_add_ps(acc0, acc1));
    if (type != LLQ_Q8) { /* the zero points: Σ_g d_g · zz_g · gs_g */
        __m256 offv = _mm256_setzero_ps();
        uint64_t g = 0;
        for (; g + 8 <= a->G; g += 8) {
            __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(dp + 2 * g)));
            __m256 z = type == LLQ_Q4 ? _mm256_set1_ps(8.0f)
                                      : _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
                                            _mm_loadl_epi64((const __m128i *)(const void *)(zp + g))));
            offv = _mm256_fmadd_ps(_mm256_mul_ps(d, z), _mm256_loadu_ps(a->gs + g), offv);
        }
        float off = hsum(offv);
        for (; g < a->G; g++)
            off += f16at(dp, g) * (float)(type == LLQ_Q4 ? 8 : zp[g]) * a->gs[g];
        y -= off;
    }
    return y;
}

void llq_mv_q_avx2(float *y, const float *x, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    float *buf = llq_mm_scratch(qact_floats(W));
    qact a;
    if (!buf) {
        for (uint64_t r = r0; r < r1; r++)
            y[r] = NAN;
        return;
    }
    qact_init(&a, W, buf);
    qact_quantize_avx2(&a, x, W->cols);
    for (uint64_t r = r0; r < r1; r++)
        y[r] = qdot_avx2((const uint8_t *)W->data + r * W->row_bytes, &a, W->type);
}

/* out[K] = the row dequantized exactly as llq_row_to_f32 does (one f32 multiply d·(n − z) per element). */
void llq_dequant_row_avx2(float *out, const uint8_t *row, uint32_t type, uint32_t group, uint64_t K)
{
    llq_dequant_range_avx2(out, row, type, group, K, 0, K);
}

/* The fast kernels registered in kernels/matmul.c: one token → int8 activations; a window → the packed f32
 * GEMM of matmul_avx2.c, each weight panel dequantized once (AVX2, bit-identical to llq_row_to_f32) and used
 * by all n tokens (weight-only semantics, the same numbers as llq_mm_dequant_avx2). */
void llq_mm_q_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    if (n == 1)
        llq_mv_q_avx2(y, x, W, r0, r1);
    else
        llq_mm_dequant_avx2(y, x, n, W, r0, r1);
}
