/* elem_avx2.c — AVX2 / F16C twins of elem.c's conversions f32 <-> f16 / bf16 (bit-identical to conv_elems_ref;
 * only called after llq_cpu_has_avx2()). Rounding is the hardware's round-to-nearest-even (F16C) or the same
 * integer rounding as llq_f32_to_bf16. */
#include "layout.h"

#include <immintrin.h>
#include <string.h>

/* 8 f32 -> 8 bf16: u + 0x7fff + ((u >> 16) & 1), NaN kept quiet ((u >> 16) | 0x40). */
static __m128i bf16_8(__m256 x)
{
    __m256i u = _mm256_castps_si256(x);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                     _mm256_set1_epi32(0x7f800000));
    __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    r = _mm256_blendv_epi8(r, q, nan);
    __m256i p = _mm256_packus_epi32(r, r); /* per 128-bit lane: [a0..a3 a0..a3 | a4..a7 a4..a7] */
    p = _mm256_permute4x64_epi64(p, 0x08); /* lanes 0 and 2 */
    return _mm256_castsi256_si128(p);
}

size_t conv_elems_avx2(void *dst, uint32_t dst_type, const void *src, uint32_t src_dtype, size_t n)
{
    const uint8_t *s = src;
    uint8_t *d = dst;
    size_t i = 0;
    if (src_dtype == LLQ_SRC_F32 && dst_type == LLQ_F16) {
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(void *)(d + 2 * i),
                             _mm256_cvtps_ph(_mm256_loadu_ps((const float *)(const void *)(s + 4 * i)),
                                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else if (src_dtype == LLQ_SRC_F32 && dst_type == LLQ_BF16) {
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(void *)(d + 2 * i),
                             bf16_8(_mm256_loadu_ps((const float *)(const void *)(s + 4 * i))));
    } else if (src_dtype == LLQ_SRC_F16 && dst_type == LLQ_F32) {
        for (; i + 8 <= n; i += 8) { /* F16C quiets signalling NaNs; the reference keeps NaN bits as they are */
            __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(s + 2 * i));
            __m256i f = _mm256_castps_si256(_mm256_cvtph_ps(h)), w = _mm256_cvtepu16_epi32(h);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x7fff)), _mm256_set1_epi32(0x7c00));
            __m256i keep = _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x8000)), 16),
                                           _mm256_or_si256(_mm256_set1_epi32(0x7f800000),
                                                           _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x3ff)), 13)));
            _mm256_storeu_si256((__m256i *)(void *)(d + 4 * i), _mm256_blendv_epi8(f, keep, nan));
        }
    } else if (src_dtype == LLQ_SRC_BF16 && dst_type == LLQ_F32) {
        for (; i + 8 <= n; i += 8) {
            __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(s + 2 * i)));
            _mm256_storeu_si256((__m256i *)(void *)(d + 4 * i), _mm256_slli_epi32(w, 16));
        }
    } else {
        return 0;
    }
    return i;
}
