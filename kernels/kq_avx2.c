/* kq_avx2.c — AVX2 dequantization of ggml's q4_k, q5_k, q6_k and iq4_xs blocks (the packed-panel GEMM's weight decoder for
 * those types): the same f32 operations as format/blocks.c, lane-wise (a multiply and a subtract, never fused),
 * so the values are bit-identical to llq_block_to_f32; tests/unit/test_kquant.c compares the two. */
#include "llq/blocks.h"
#include "llq/format.h"
#include "qdot.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

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

/* The 8 int32 sums of v[0..7] (8 lanes each), lane j = Σ v[j]: a hadd tree and one add of the 128-bit halves. */
static inline __m256i sum8x8(const __m256i v[8])
{
    __m256i h0 = _mm256_hadd_epi32(v[0], v[1]), h1 = _mm256_hadd_epi32(v[2], v[3]);
    __m256i h2 = _mm256_hadd_epi32(v[4], v[5]), h3 = _mm256_hadd_epi32(v[6], v[7]);
    __m256i g0 = _mm256_hadd_epi32(h0, h1), g1 = _mm256_hadd_epi32(h2, h3); /* v0..v3 halves | v4..v7 halves */
    return _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20), _mm256_permute2x128_si256(g0, g1, 0x31));
}

static inline float lanes_sum(__m256 v) /* kq_lanes_sum's order */
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

#define PF_AHEAD QDOT_PF_AHEAD

/* q4_k: per super-block, the 8 sub-block sums S_j in one vector (lane j), the 6-bit scales and mins of the
 * 12 packed bytes unpacked 4 at a time with 32-bit masks, then A = (d·sc)·S − (dmin·m)·xs and one FMA by xd. */
static float dot_q4_k(const uint8_t *row, const kq_act *a, uint64_t nsb)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t i = 0; i < nsb; i++) {
        const llq_blk_q4_k *b = (const void *)(row + i * sizeof *b);
        _mm_prefetch((const char *)b + PF_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 128, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * i;
        __m256i v[8];
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(b->qs + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            v[2 * c] = _mm256_madd_epi16(
                _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(const void *)(x + 64 * c))), ones);
            v[2 * c + 1] = _mm256_madd_epi16(
                _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(const void *)(x + 64 * c + 32))), ones);
        }
        __m256 S = _mm256_cvtepi32_ps(sum8x8(v));
        uint32_t u[3], sc[2], mn[2];
        memcpy(u, b->scales, 12);
        sc[0] = u[0] & 0x3f3f3f3f;
        mn[0] = u[1] & 0x3f3f3f3f;
        sc[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
        mn[1] = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
        __m256 scv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)sc)));
        __m256 mv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)mn)));
        __m256 d = _mm256_set1_ps(_cvtsh_ss(b->d)), dmin = _mm256_set1_ps(_cvtsh_ss(b->dmin));
        __m256 xs = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(const void *)(a->s + 8 * i)));
        __m256 A = _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(d, scv), S), _mm256_mul_ps(_mm256_mul_ps(dmin, mv), xs));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return lanes_sum(acc);
}

/* q6_k: per block of 32 the signed codes (code − 32) against the activations (maddubs of |v| and sign(x, v)),
 * each 16-element half weighted by its int8 scale in the madd, T_b in lane b; A = d·T, one FMA by xd. */
static float dot_q6_k(const uint8_t *row, const kq_act *a, uint64_t nsb)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3), off = _mm256_set1_epi8(32);
    __m256i pick[4]; /* byte shuffles: int16 lane 2c of each half in the low half, lane 2c + 1 in the high half */
    for (int c = 0; c < 4; c++)
        pick[c] = _mm256_set_m128i(_mm_set1_epi16((short)((4 * c + 3) << 8 | (4 * c + 2))),
                                   _mm_set1_epi16((short)((4 * c + 1) << 8 | 4 * c)));
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t i = 0; i < nsb; i++) {
        const llq_blk_q6_k *b = (const void *)(row + i * sizeof *b);
        _mm_prefetch((const char *)b + PF_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 192, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * i;
        __m256i v[8];
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)b->scales));
        for (int n = 0; n < 2; n++) {
            __m256i scn = n ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00); /* scales 8n..8n+7 in both halves */
            __m256i A = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n));
            __m256i B = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n + 32));
            __m256i H = _mm256_loadu_si256((const __m256i *)(const void *)(b->qh + 32 * n));
            for (int c = 0; c < 4; c++) {
                __m256i L = c & 1 ? B : A;
                __m256i lo = c < 2 ? _mm256_and_si256(L, m4) : _mm256_and_si256(_mm256_srli_epi16(L, 4), m4);
                __m256i code = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * c), m3), 4));
                __m256i w = _mm256_sub_epi8(code, off);
                __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + 128 * n + 32 * c));
                __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w));
                /* scale 8n + 2c for elements 0..15, 8n + 2c + 1 for 16..31, as int16 lanes */
                v[4 * n + c] = _mm256_madd_epi16(p, _mm256_shuffle_epi8(scn, pick[c]));
            }
        }
        __m256 T = _mm256_cvtepi32_ps(sum8x8(v));
        __m256 A = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->d)), T);
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return lanes_sum(acc);
}

float kq_dot_avx2(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    return type == LLQ_Q4_K ? dot_q4_k(row, a, K / LLQ_QK_K) : dot_q6_k(row, a, K / LLQ_QK_K);
}

void llq_mv_kq_rows_avx2(float *y, const kq_act *a, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    for (uint64_t r = r0; r < r1; r++)
        y[r] = kq_dot_avx2((const uint8_t *)W->data + r * W->row_bytes, a, W->type, W->cols);
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
    llq_mv_kq_rows_avx2(y, &a, W, r0, r1);
}
