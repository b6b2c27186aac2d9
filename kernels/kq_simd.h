/* kq_simd.h — internal, AVX2 files only (kq_avx2.c, kq_blk32_avx2.c): the reductions the one-token integer
 * kernels of ggml's blocks share. */
#ifndef LLQ_KQ_SIMD_H
#define LLQ_KQ_SIMD_H

#include <immintrin.h>

/* The 8 int32 sums of v[0..7] (8 lanes each), lane j = Σ v[j]: a hadd tree and one add of the 128-bit halves. */
static inline __m256i kq_sum8x8(const __m256i v[8])
{
    __m256i h0 = _mm256_hadd_epi32(v[0], v[1]), h1 = _mm256_hadd_epi32(v[2], v[3]);
    __m256i h2 = _mm256_hadd_epi32(v[4], v[5]), h3 = _mm256_hadd_epi32(v[6], v[7]);
    __m256i g0 = _mm256_hadd_epi32(h0, h1), g1 = _mm256_hadd_epi32(h2, h3); /* v0..v3 halves | v4..v7 halves */
    return _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20), _mm256_permute2x128_si256(g0, g1, 0x31));
}

/* The sum of the 8 lanes in kq_lanes_sum's order (((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))). */
static inline float kq_hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Σ w·x per 4 bytes as 8 int32 lanes, w signed int8 (−128 allowed: |−128| is 128 unsigned) against int8 x. */
static inline __m256i kq_dot_i8(__m256i w, __m256i x)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}

/* The same for unsigned codes w (0..127). */
static inline __m256i kq_dot_u8(__m256i w, __m256i x)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

#endif
