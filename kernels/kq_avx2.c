/* kq_avx2.c — AVX2 dequantization of ggml's q4_k, q5_k, q6_k and iq4_xs blocks (the packed-panel GEMM's weight decoder for
 * those types): the same f32 operations as format/blocks.c, lane-wise (a multiply and a subtract, never fused),
 * so the values are bit-identical to llq_block_to_f32; tests/unit/test_kquant.c compares the two. */
#include "llq/blocks.h"
#include "llq/format.h"
#include "qdot.h"

#include <immintrin.h>
#include <math.h>

/* 8 bytes at p (codes 0..255) as 8 floats. */
static inline __m256 u8x8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }

/* q4_k, and q5_k when qh is not NULL (fifth bit of sub-block s = bit s of qh[l]). */
static void q45_k(float *y, uint16_t dh, uint16_t dmh, const uint8_t *scales, const uint8_t *qs, const uint8_t *qh)
{
    float d = llq_f16_to_f32(dh), dmin = llq_f16_to_f32(dmh);
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    __m256i H = qh ? _mm256_loadu_si256((const __m256i *)(const void *)qh) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * c));
        __m256i nib[2] = {_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4)};
        for (int h = 0; h < 2; h++) {
            if (qh) /* (qh >> s) & 1 per byte: a 16-bit shift, then the low bit of each byte */
                nib[h] = _mm256_or_si256(
                    nib[h], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * c + h), one), 4));
            uint8_t sc, m;
            llq_k4_scale_min(2 * c + h, scales, &sc, &m);
            __m256 d1 = _mm256_set1_ps(d * (float)sc), m1 = _mm256_set1_ps(dmin * (float)m);
            __m128i lo = _mm256_castsi256_si128(nib[h]), hi = _mm256_extracti128_si256(nib[h], 1);
            __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
            for (int k = 0; k < 4; k++)
                _mm256_storeu_ps(y + 8 * k, _mm256_sub_ps(_mm256_mul_ps(d1, u8x8(parts[k])), m1));
            y += 32;
        }
    }
}

static void iq4_xs(float *y, const llq_blk_iq4_xs *b)
{
    float d = llq_f16_to_f32(b->d);
    const __m128i tab = _mm_loadu_si128((const __m128i *)(const void *)llq_iq4_values), m4 = _mm_set1_epi8(0x0f);
    for (int ib = 0; ib < 8; ib++) {
        int ls = ((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b->scales_h >> (2 * ib)) & 3) << 4);
        __m256 dl = _mm256_set1_ps(d * (float)(ls - 32));
        __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(b->qs + 16 * ib));
        __m128i v[2] = {_mm_shuffle_epi8(tab, _mm_and_si128(q, m4)),
                        _mm_shuffle_epi8(tab, _mm_and_si128(_mm_srli_epi16(q, 4), m4))};
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 2; k++) {
                __m128i part = k ? _mm_srli_si128(v[h], 8) : v[h];
                _mm256_storeu_ps(y + 16 * h + 8 * k, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part))));
            }
        y += 32;
    }
}

static void q6_k(float *y, const llq_blk_q6_k *b)
{
    float d = llq_f16_to_f32(b->d);
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
    const __m256i off = _mm256_set1_epi32(32);
    for (int n = 0; n < 2; n++) {
        __m256i A = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n));
        __m256i B = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n + 32));
        __m256i H = _mm256_loadu_si256((const __m256i *)(const void *)(b->qh + 32 * n));
        for (int i = 0; i < 4; i++) {
            __m256i L = i & 1 ? B : A;
            __m256i lo = i < 2 ? _mm256_and_si256(L, m4) : _mm256_and_si256(_mm256_srli_epi16(L, 4), m4);
            __m256i hb = _mm256_and_si256(_mm256_srli_epi16(H, 2 * i), m3);
            __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 4)); /* 0..63 per byte */
            __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
            __m128i parts[4] = {q0, _mm_srli_si128(q0, 8), q1, _mm_srli_si128(q1, 8)};
            for (int k = 0; k < 4; k++) {
                __m256 s = _mm256_set1_ps(d * (float)b->scales[8 * n + 2 * i + k / 2]);
                __m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[k]), off);
                _mm256_storeu_ps(y + 32 * i + 8 * k, _mm256_mul_ps(s, _mm256_cvtepi32_ps(v)));
            }
        }
        y += 128;
    }
}

int llq_kq_dequant_avx2(float *out, const void *blocks, uint32_t type, uint64_t n_blocks)
{
    uint32_t bytes;
    if ((type != LLQ_Q4_K && type != LLQ_Q5_K && type != LLQ_Q6_K && type != LLQ_IQ4_XS) ||
        !llq_type_block(type, NULL, &bytes))
        return 0;
    const uint8_t *p = blocks;
    for (uint64_t i = 0; i < n_blocks; i++, p += bytes, out += LLQ_QK_K) {
        if (type == LLQ_Q4_K) {
            const llq_blk_q4_k *b = (const void *)p;
            q45_k(out, b->d, b->dmin, b->scales, b->qs, NULL);
        } else if (type == LLQ_Q5_K) {
            const llq_blk_q5_k *b = (const void *)p;
            q45_k(out, b->d, b->dmin, b->scales, b->qs, b->qh);
        } else if (type == LLQ_Q6_K) {
            q6_k(out, (const void *)p);
        } else {
            iq4_xs(out, (const void *)p);
        }
    }
    return 1;
}

/* ---- one-token integer path (the twin of kq_dot.c: the same integer sums, the same f32 expressions) ---- */

/* The 8 int32 lanes of v summed as lanes 0..3 and 4..7. */
static inline void hsum2(__m256i v, int32_t *lo, int32_t *hi)
{
    __m128i a = _mm256_castsi256_si128(v), b = _mm256_extracti128_si256(v, 1);
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4e));
    a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xb1));
    b = _mm_add_epi32(b, _mm_shuffle_epi32(b, 0x4e));
    b = _mm_add_epi32(b, _mm_shuffle_epi32(b, 0xb1));
    *lo = _mm_cvtsi128_si32(a);
    *hi = _mm_cvtsi128_si32(b);
}

/* Σ u[k]·x[k] over 32 bytes (u unsigned ≤ 63, x signed), as the two 16-byte halves' sums. */
static inline void udot(__m256i u, __m256i x, int32_t *lo, int32_t *hi)
{
    hsum2(_mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)), lo, hi);
}

float kq_dot_avx2(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    float y = 0;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi8(1);
    if (type == LLQ_Q4_K) {
        for (uint64_t i = 0; i < K / LLQ_QK_K; i++) {
            const llq_blk_q4_k *b = (const void *)(row + i * sizeof *b);
            float d = llq_f16_to_f32(b->d), dmin = llq_f16_to_f32(b->dmin);
            for (int c = 0; c < 4; c++) {
                __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(b->qs + 32 * c));
                __m256i nib[2] = {_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4)};
                for (int h = 0; h < 2; h++) {
                    int j = 2 * c + h;
                    uint64_t ab = i * 8 + (uint64_t)j;
                    __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a->q + 32 * ab));
                    int32_t s0, s1;
                    udot(nib[h], x, &s0, &s1);
                    uint8_t sc, m;
                    llq_k4_scale_min(j, b->scales, &sc, &m);
                    y += a->d[ab] * ((d * (float)sc) * (float)(s0 + s1) - (dmin * (float)m) * (float)a->s[ab]);
                }
            }
        }
        return y;
    }
    for (uint64_t i = 0; i < K / LLQ_QK_K; i++) { /* q6_k */
        const llq_blk_q6_k *b = (const void *)(row + i * sizeof *b);
        float d = llq_f16_to_f32(b->d);
        for (int n = 0; n < 2; n++) {
            __m256i A = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n));
            __m256i B = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n + 32));
            __m256i H = _mm256_loadu_si256((const __m256i *)(const void *)(b->qh + 32 * n));
            for (int c = 0; c < 4; c++) {
                __m256i L = c & 1 ? B : A;
                __m256i lo = c < 2 ? _mm256_and_si256(L, m4) : _mm256_and_si256(_mm256_srli_epi16(L, 4), m4);
                __m256i code = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * c), m3), 4));
                uint64_t ab = i * 8 + 4 * (uint64_t)n + (uint64_t)c;
                __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a->q + 32 * ab));
                int32_t c0, c1, x0, x1;
                udot(code, x, &c0, &c1);
                udot(ones, x, &x0, &x1);
                int32_t S[2] = {c0 - 32 * x0, c1 - 32 * x1};
                for (int h = 0; h < 2; h++)
                    y += a->d[ab] * ((d * (float)b->scales[8 * n + 2 * c + h]) * (float)S[h]);
            }
        }
    }
    return y;
}

void llq_mm_kq_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    if (n != 1) {
        llq_mm_dequant_avx2(y, x, n, W, r0, r1);
        return;
    }
    size_t need = W->cols / 4 + 2 * (W->cols / 32) + 16;
    kq_act a;
    if (!kq_act_layout(&a, llq_mm_scratch(need), need, W->cols)) {
        for (uint64_t r = r0; r < r1; r++)
            y[r] = NAN;
        return;
    }
    kq_act_quantize(&a, x, W->cols);
    for (uint64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W->data + r * W->row_bytes;
        _mm_prefetch((const char *)row + W->row_bytes, _MM_HINT_T0);
        y[r] = kq_dot_avx2(row, &a, W->type, W->cols);
    }
}
