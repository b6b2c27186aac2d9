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
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    uint64_t b8 = 0;
    for (; b8 + 8 <= a->nb; b8 += 8) { /* the lane order of the nibble kernel's block sums */
        _mm256_storeu_ps(a->dq + b8, _mm256_permutevar8x32_ps(_mm256_loadu_ps(a->d + b8), order));
        _mm256_storeu_si256((__m256i *)(void *)(a->sq + b8),
                            _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(a->s + b8)), order));
    }
    for (; b8 < a->nb; b8++)
        a->dq[b8] = a->d[b8], a->sq[b8] = a->s[b8];
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

/* n bytes at p (n = 1, 2, 4, 8 or 16) in the low bytes of an xmm register; reads nothing beyond p + n. */
static inline __m128i load_n(const uint8_t *p, uint64_t n)
{
    if (n == 16)
        return _mm_loadu_si128((const __m128i *)(const void *)p);
    if (n == 8)
        return _mm_loadl_epi64((const __m128i *)(const void *)p);
    int32_t v = 0;
    memcpy(&v, p, (size_t)n);
    return _mm_cvtsi32_si128(v);
}

/* Products of two q4 blocks against pair-interleaved activations, summed in 16 int16 lanes: 0-7 partial sums of
 * the first block, 8-15 of the second, each |v| <= 2·2·15·127 = 7620. */
static inline __m256i pair16(const uint8_t *nib, const int8_t *qi, __m256i m4)
{
    __m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)nib);
    __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    return _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_load_si256((const __m256i *)(const void *)qi)),
                            _mm256_maddubs_epi16(hi, _mm256_load_si256((const __m256i *)(const void *)(qi + 32))));
}

/* Integer sums of one q8 block: 8 int32 lanes of partial sums. */
static inline __m256i blk8(const int8_t *w, const int8_t *q, __m256i ones)
{
    __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)w);
    __m256i xv = _mm256_load_si256((const __m256i *)(const void *)q);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv)), ones);
}

/* One block's exact integer sum S_b (the slow path for the last nb % 8 blocks of a row). */
static int32_t block_sum(const uint8_t *row, const qact *a, uint32_t type, uint64_t b, __m256i m4, __m256i ones)
{
    __m256i p;
    if (type == LLQ_Q8) {
        p = blk8((const int8_t *)row + 32 * b, a->q + 32 * b, ones);
    } else {
        __m128i r0 = _mm_loadu_si128((const __m128i *)(const void *)(row + 16 * b));
        __m256i w0 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r0, 4), r0), m4);
        p = _mm256_madd_epi16(_mm256_maddubs_epi16(w0, _mm256_load_si256((const __m256i *)(const void *)(a->q + 32 * b))), ones);
    }
    return hsum_i32(p);
}

/* The main loop takes 8 blocks per step and leaves their integer sums S_b in one vector, one lane per block:
 *   q4/q4a: 4 pairs of blocks (one 32-byte load of nibbles each: low nibbles = first halves of both blocks, high
 *           nibbles = second halves, against the pair-interleaved activations qi), reduced by a hadd tree; the
 *           lanes hold blocks 0 2 4 6 | 1 3 5 7 (the order of a->dq, a->sq);
 *   q8:     8 single blocks, a hadd tree and one add of the 128-bit halves; lanes in block order (a->d, a->s).
 * The zero point enters as an integer (S_b − zz_g·xs_b), then one convert and one FMA by xd_b·d_g. The weight
 * scales (and q4a zero points) of the step are 8/bpg consecutive groups (or the row's one group), spread over
 * the lanes by one permutation `gi` (group index of each lane). */
#define PF_AHEAD QDOT_PF_AHEAD /* software prefetch distance of the weight rows (qdot.h) */

/* ng: weight groups per step of 8 blocks (8, 4, 2; 1 = the row's single group), a constant in each copy */
static inline __attribute__((always_inline)) __m256 main_loop(const uint8_t *row, const qact *a, uint32_t type,
                                                              const uint8_t *dp, const uint8_t *zp, uint64_t ng)
{
    const uint64_t nb8 = a->nb & ~(uint64_t)7;
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    const uint64_t gstep = a->G == 1 ? 0 : ng;
    const unsigned sh = ng == 8 ? 0 : ng == 4 ? 1 : 2;
    const __m256i blk = type == LLQ_Q8 ? _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7) : _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i gi = a->G == 1 ? _mm256_setzero_si256() : _mm256_srli_epi32(blk, (int)sh); /* lane -> group */
    const float *xd = type == LLQ_Q8 ? a->d : a->dq;
    const int32_t *xs = type == LLQ_Q8 ? a->s : a->sq;
    __m256 acc = _mm256_setzero_ps();
    uint64_t g0 = 0;
    for (uint64_t b = 0; b < nb8; b += 8, g0 += gstep) {
        __m256i S;
        if (type == LLQ_Q8) {
            const int8_t *w = (const int8_t *)row + 32 * b, *q = a->q + 32 * b;
            for (int l = 0; l < 4; l++)
                _mm_prefetch((const char *)w + PF_AHEAD + 64 * l, _MM_HINT_T0);
            __m256i h0 = _mm256_hadd_epi32(blk8(w, q, ones), blk8(w + 32, q + 32, ones));
            __m256i h1 = _mm256_hadd_epi32(blk8(w + 64, q + 64, ones), blk8(w + 96, q + 96, ones));
            __m256i h2 = _mm256_hadd_epi32(blk8(w + 128, q + 128, ones), blk8(w + 160, q + 160, ones));
            __m256i h3 = _mm256_hadd_epi32(blk8(w + 192, q + 192, ones), blk8(w + 224, q + 224, ones));
            __m256i x = _mm256_hadd_epi32(h0, h1), y = _mm256_hadd_epi32(h2, h3); /* halves of blocks 0-3 | 4-7 */
            S = _mm256_add_epi32(_mm256_permute2x128_si256(x, y, 0x20), _mm256_permute2x128_si256(x, y, 0x31));
        } else {
            const uint8_t *n = row + 16 * b;
            const int8_t *v = a->qi + 32 * b;
            _mm_prefetch((const char *)n + PF_AHEAD, _MM_HINT_T0); /* the weight stream, PF_AHEAD bytes on */
            _mm_prefetch((const char *)n + PF_AHEAD + 64, _MM_HINT_T0);
            /* int16 pair sums of two pairs (|v| <= 15240, no wrap), widened by one madd per two pairs */
            __m256i h0 = _mm256_madd_epi16(_mm256_hadd_epi16(pair16(n, v, m4), pair16(n + 32, v + 64, m4)), ones);
            __m256i h1 = _mm256_madd_epi16(_mm256_hadd_epi16(pair16(n + 64, v + 128, m4), pair16(n + 96, v + 192, m4)), ones);
            S = _mm256_hadd_epi32(h0, h1);
            __m256i s = _mm256_loadu_si256((const __m256i *)(const void *)(xs + b));
            if (type == LLQ_Q4)
                S = _mm256_sub_epi32(S, _mm256_slli_epi32(s, 3));
            else {
                __m256i z = _mm256_permutevar8x32_epi32(_mm256_cvtepu8_epi32(load_n(zp + g0, ng)), gi);
                S = _mm256_sub_epi32(S, _mm256_mullo_epi32(z, s));
            }
        }
        __m256 d = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(load_n(dp + 2 * g0, 2 * ng)), gi);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(S), _mm256_mul_ps(d, _mm256_loadu_ps(xd + b)), acc);
    }
    return acc;
}

/* y[i] = row i · x for n rows of rb bytes from row0; the type and groups-per-step dispatch happens once per call
 * (ng and type are constants in each inlined copy), the loop constants once per row. */
static inline __attribute__((always_inline)) void rows(float *y, const uint8_t *row0, uint64_t rb, uint64_t n,
                                                       const qact *a, uint32_t type, uint64_t ng)
{
    const uint64_t bpg = a->glen / 32, nb8 = a->nb & ~(uint64_t)7;
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *row = row0 + i * rb;
        const uint8_t *dp = row + (type == LLQ_Q8 ? a->Kp : a->Kp / 2), *zp = dp + 2 * a->G;
        float t = hsum(main_loop(row, a, type, dp, zp, ng));
        for (uint64_t b = nb8; b < a->nb; b++) { /* the last nb % 8 blocks */
            uint64_t g = b / bpg;
            int32_t zz = type == LLQ_Q8 ? 0 : type == LLQ_Q4 ? 8 : zp[g];
            int32_t S = block_sum(row, a, type, b, m4, ones) - zz * a->s[b];
            t += a->d[b] * f16at(dp, g) * (float)S;
        }
        y[i] = t;
    }
}

static void dot_rows(float *y, const uint8_t *row0, uint64_t rb, uint64_t n, const qact *a, uint32_t type)
{
    const uint64_t ng = a->G == 1 ? 1 : 8 / (a->glen / 32);
#define NG(T) (ng == 8 ? rows(y, row0, rb, n, a, T, 8) : ng == 4 ? rows(y, row0, rb, n, a, T, 4) \
               : ng == 2 ? rows(y, row0, rb, n, a, T, 2) : rows(y, row0, rb, n, a, T, 1))
    if (type == LLQ_Q4)
        NG(LLQ_Q4);
    else if (type == LLQ_Q4A)
        NG(LLQ_Q4A);
    else
        NG(LLQ_Q8);
#undef NG
}

float qdot_avx2(const uint8_t *row, const qact *a, uint32_t type)
{
    float y;
    dot_rows(&y, row, 0, 1, a, type);
    return y;
}

void llq_mv_q_rows_avx2(float *y, const qact *a, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    if (r1 > r0)
        dot_rows(y + r0, (const uint8_t *)W->data + r0 * W->row_bytes, W->row_bytes, r1 - r0, a, W->type);
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
    llq_mv_q_rows_avx2(y, &a, W, r0, r1);
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
