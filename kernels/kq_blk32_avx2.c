/* kq_blk32_avx2.c — one-token products on ggml's blocks of 32 (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl), AVX2: the
 * twin of kq_blk32.c. Per step 8 blocks: each block's 32 codes against its 32 int8 activations by maddubs/madd
 * (unsigned codes as they are; q8_0 and iq4_nl's signed values as maddubs(|w|, sign(x, w))), the 8 block sums
 * in one vector by a hadd tree, then A = d·(S − z·xs) (z = 8, 16 or 0) or d·S + m·xs for all 8 blocks and one
 * FMA by xd into the 8 lanes. The row's last K/32 mod 8 blocks go through kq_blk32_block_ref. Bit-identical to
 * the reference (test_kquant). kq_blk32_dequant_avx2: the packed-panel GEMM's decoder of these blocks, the same
 * f32 operations as format/blocks.c lane-wise (a multiply, then an add for q4_1 / q5_1, never fused). */
#include "llq/blocks.h"
#include "llq/format.h"
#include "kq_simd.h"
#include "qdot.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define PF_AHEAD QDOT_PF_AHEAD

/* 16 bytes of nibbles as 32 codes in element order (low nibbles = elements 0..15, high = 16..31). */
static inline __m256i nibbles(const uint8_t *qs)
{
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m128i q = _mm_loadu_si128((const __m128i *)(const void *)qs);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
}

/* Bit j of the 4 bytes at qh as 0x10 in byte j (q5_0 / q5_1's fifth bit). */
static inline __m256i fifth_bits(const uint8_t *qh)
{
    uint32_t h;
    memcpy(&h, qh, 4);
    const __m256i pick = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), pick); /* byte j = byte j/8 of h */
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* Block p's integer sums against x[32], 8 int32 lanes (their sum is S). */
static inline __attribute__((always_inline)) __m256i block_sum(const uint8_t *p, const int8_t *x, uint32_t type)
{
    __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)x);
    switch (type) {
    case LLQ_Q4_0: return kq_dot_u8(nibbles(p + offsetof(llq_blk_q4_0, qs)), xv);
    case LLQ_Q4_1: return kq_dot_u8(nibbles(p + offsetof(llq_blk_q4_1, qs)), xv);
    case LLQ_Q5_0:
        return kq_dot_u8(_mm256_or_si256(nibbles(p + offsetof(llq_blk_q5_0, qs)), fifth_bits(p + offsetof(llq_blk_q5_0, qh))), xv);
    case LLQ_Q5_1:
        return kq_dot_u8(_mm256_or_si256(nibbles(p + offsetof(llq_blk_q5_1, qs)), fifth_bits(p + offsetof(llq_blk_q5_1, qh))), xv);
    case LLQ_Q8_0:
        return kq_dot_i8(_mm256_loadu_si256((const __m256i *)(const void *)(p + offsetof(llq_blk_q8_0, qs))), xv);
    default: { /* iq4_nl: the codes through the 16-value table */
        const __m128i tab = _mm_loadu_si128((const __m128i *)(const void *)llq_iq4_values), m4 = _mm_set1_epi8(0x0f);
        __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(p + offsetof(llq_blk_iq4_nl, qs)));
        __m256i w = _mm256_set_m128i(_mm_shuffle_epi8(tab, _mm_and_si128(_mm_srli_epi16(q, 4), m4)),
                                     _mm_shuffle_epi8(tab, _mm_and_si128(q, m4)));
        return kq_dot_i8(w, xv);
    }
    }
}

static inline __attribute__((always_inline)) float dot(const uint8_t *row, const kq_act *a, uint64_t K, uint32_t type,
                                                       uint32_t bytes)
{
    uint64_t nb = K / LLQ_QK, n8 = nb / 8;
    int has_m = type == LLQ_Q4_1 || type == LLQ_Q5_1;
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t g = 0; g < n8; g++) {
        const uint8_t *p = row + 8 * g * bytes;
        for (uint32_t o = 0; o < 8 * bytes; o += 64)
            _mm_prefetch((const char *)p + PF_AHEAD + o, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * g;
        __m256i v[8];
        uint16_t dh[8], mh[8];
        #pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            memcpy(&dh[j], p + j * bytes, 2);
            if (has_m)
                memcpy(&mh[j], p + j * bytes + 2, 2);
            v[j] = block_sum(p + j * bytes, x + 32 * j, type);
        }
        __m256i S = kq_sum8x8(v), xs = _mm256_loadu_si256((const __m256i *)(const void *)(a->s + 8 * g));
        if (type == LLQ_Q4_0)
            S = _mm256_sub_epi32(S, _mm256_slli_epi32(xs, 3));
        else if (type == LLQ_Q5_0)
            S = _mm256_sub_epi32(S, _mm256_slli_epi32(xs, 4));
        __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)dh));
        __m256 A = _mm256_mul_ps(d, _mm256_cvtepi32_ps(S));
        if (has_m)
            A = _mm256_add_ps(A, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)mh)),
                                               _mm256_cvtepi32_ps(xs)));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * g), A, acc);
    }
    if (n8 == nb)
        return kq_hsum(acc);
    float lane[8];
    _mm256_storeu_ps(lane, acc);
    for (uint64_t b = 8 * n8; b < nb; b++)
        lane[b % 8] = fmaf(a->d[b], kq_blk32_block_ref(row + b * bytes, a->q + 32 * b, a->s[b], type), lane[b % 8]);
    return kq_lanes_sum(lane);
}

float kq_blk32_dot_avx2(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    switch (type) {
    case LLQ_Q4_0: return dot(row, a, K, LLQ_Q4_0, sizeof(llq_blk_q4_0));
    case LLQ_Q4_1: return dot(row, a, K, LLQ_Q4_1, sizeof(llq_blk_q4_1));
    case LLQ_Q5_0: return dot(row, a, K, LLQ_Q5_0, sizeof(llq_blk_q5_0));
    case LLQ_Q5_1: return dot(row, a, K, LLQ_Q5_1, sizeof(llq_blk_q5_1));
    case LLQ_Q8_0: return dot(row, a, K, LLQ_Q8_0, sizeof(llq_blk_q8_0));
    default: return dot(row, a, K, LLQ_IQ4_NL, sizeof(llq_blk_iq4_nl));
    }
}

/* 32 int8 values v times d (plus m when add_m), in element order, at y[0..31]. */
static inline void store_i8x32(float *y, __m256i v, __m256 d, __m256 m, int add_m)
{
    __m128i h[2] = {_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)};
    for (int k = 0; k < 4; k++) {
        __m128i part = k & 1 ? _mm_srli_si128(h[k / 2], 8) : h[k / 2];
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part)), d);
        _mm256_storeu_ps(y + 8 * k, add_m ? _mm256_add_ps(f, m) : f);
    }
}

void kq_blk32_dequant_avx2(float *y, const uint8_t *p, uint32_t type)
{
    uint16_t dh, mh = 0;
    memcpy(&dh, p, 2);
    if (type == LLQ_Q4_1 || type == LLQ_Q5_1)
        memcpy(&mh, p + 2, 2);
    __m256 d = _mm256_set1_ps(llq_f16_to_f32(dh)), m = _mm256_set1_ps(llq_f16_to_f32(mh));
    switch (type) {
    case LLQ_Q4_0: /* (n − 8)·d */
        store_i8x32(y, _mm256_sub_epi8(nibbles(p + offsetof(llq_blk_q4_0, qs)), _mm256_set1_epi8(8)), d, m, 0);
        break;
    case LLQ_Q4_1: /* n·d + m */
        store_i8x32(y, nibbles(p + offsetof(llq_blk_q4_1, qs)), d, m, 1);
        break;
    case LLQ_Q5_0: /* (n − 16)·d */
        store_i8x32(y, _mm256_sub_epi8(_mm256_or_si256(nibbles(p + offsetof(llq_blk_q5_0, qs)), fifth_bits(p + offsetof(llq_blk_q5_0, qh))), _mm256_set1_epi8(16)), d, m, 0);
        break;
    case LLQ_Q5_1:
        store_i8x32(y, _mm256_or_si256(nibbles(p + offsetof(llq_blk_q5_1, qs)), fifth_bits(p + offsetof(llq_blk_q5_1, qh))), d, m, 1);
        break;
    case LLQ_Q8_0:
        store_i8x32(y, _mm256_loadu_si256((const __m256i *)(const void *)(p + offsetof(llq_blk_q8_0, qs))), d, m, 0);
        break;
    default: { /* iq4_nl: d·T[n] */
        const __m128i tab = _mm_loadu_si128((const __m128i *)(const void *)llq_iq4_values), m4 = _mm_set1_epi8(0x0f);
        __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(p + offsetof(llq_blk_iq4_nl, qs)));
        store_i8x32(y, _mm256_set_m128i(_mm_shuffle_epi8(tab, _mm_and_si128(_mm_srli_epi16(q, 4), m4)),
                                        _mm_shuffle_epi8(tab, _mm_and_si128(q, m4))), d, m, 0);
    }
    }
}
