/* kq_avx2.c — AVX2 dequantization of ggml's blocks (the packed-panel GEMM's weight decoder: q2_k, q3_k, q4_k, q5_k,
 * q6_k and iq4_xs here, the blocks of 32 in kq_blk32_avx2.c): the same f32 operations as format/blocks.c, lane-wise (a multiply and a subtract, never fused),
 * so the values are bit-identical to llq_block_to_f32; tests/unit/test_kquant.c compares the two. */
#include "llq/blocks.h"
#include "llq/format.h"
#include "kq_simd.h"
#include "qdot.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
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

/* 16 values v (int8, one per byte of the low 128 bits) times dl, minus ml when sub, at y[0..15]. */
static inline void store_i8x16(float *y, __m128i v, __m256 dl, __m256 ml, int sub)
{
    for (int k = 0; k < 2; k++) {
        __m256 f = _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(k ? _mm_srli_si128(v, 8) : v)));
        _mm256_storeu_ps(y + 8 * k, sub ? _mm256_sub_ps(f, ml) : f);
    }
}

/* q2_k (hm NULL): dl·q − ml per 16 elements; q3_k: dl·(q − 4·!hbit). Planes j of qs[32n..], as format/blocks.c. */
static void q23_k(float *y, const uint8_t *qs, const uint8_t *hm, const uint8_t *scales, float d, float dmin)
{
    uint8_t sc3[16];
    if (hm)
        llq_k3_scales(sc3, scales);
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
    __m256i H = hm ? _mm256_loadu_si256((const __m256i *)(const void *)hm) : _mm256_setzero_si256();
    int is = 0;
    #pragma GCC unroll 2
    for (int n = 0; n < 2; n++) {
        __m256i Q = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * n));
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m256i v = _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), m3);
            if (hm) /* q − 4 where the high bit is clear: q + 4·h − 4 */
                v = _mm256_sub_epi8(_mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 4 * n + j), one), 2)), four);
            for (int h = 0; h < 2; h++, is++, y += 16) {
                __m128i part = h ? _mm256_extracti128_si256(v, 1) : _mm256_castsi256_si128(v);
                if (hm) {
                    store_i8x16(y, part, _mm256_set1_ps(d * (float)(sc3[is] - 32)), _mm256_setzero_ps(), 0);
                } else {
                    uint8_t sc = scales[is];
                    store_i8x16(y, part, _mm256_set1_ps(d * (float)(sc & 0xF)), _mm256_set1_ps(dmin * (float)(sc >> 4)), 1);
                }
            }
        }
    }
}

int llq_kq_dequant_avx2(float *out, const void *blocks, uint32_t type, uint64_t n_blocks)
{
    uint32_t elems, bytes;
    if (!kq_has_dot(type) || !llq_type_block(type, &elems, &bytes)) /* kq_has_dot: every block type llq reads */
        return 0;
    const uint8_t *p = blocks;
    for (uint64_t i = 0; i < n_blocks; i++, p += bytes, out += elems) {
        switch (type) {
        case LLQ_Q4_K: {
            const llq_blk_q4_k *b = (const void *)p;
            q45_k(out, b->d, b->dmin, b->scales, b->qs, NULL);
            break;
        }
        case LLQ_Q5_K: {
            const llq_blk_q5_k *b = (const void *)p;
            q45_k(out, b->d, b->dmin, b->scales, b->qs, b->qh);
            break;
        }
        case LLQ_Q6_K: q6_k(out, (const void *)p); break;
        case LLQ_IQ4_XS: iq4_xs(out, (const void *)p); break;
        case LLQ_Q3_K: {
            const llq_blk_q3_k *b = (const void *)p;
            q23_k(out, b->qs, b->hmask, b->scales, llq_f16_to_f32(b->d), 0);
            break;
        }
        case LLQ_Q2_K: {
            const llq_blk_q2_k *b = (const void *)p;
            q23_k(out, b->qs, NULL, b->scales, llq_f16_to_f32(b->d), llq_f16_to_f32(b->dmin));
            break;
        }
        default: kq_blk32_dequant_avx2(out, p, type); break;
        }
    }
    return 1;
}

/* ---- one-token integer path (the twin of kq_dot.c: the same integer sums, the same f32 expressions) ---- */

#define PF_AHEAD QDOT_PF_AHEAD

/* q4_k, and q5_k with hb (its qh at offset hb, the fifth bit of sub-block j = bit j of qh[l]): per super-block,
 * the 8 sub-block sums S_j in one vector (lane j), the 6-bit scales and mins of the 12 packed bytes unpacked 4 at
 * a time with 32-bit masks, then A = (d·sc)·S − (dmin·m)·xs and one FMA by xd. */
static inline __attribute__((always_inline)) float dot_q45_k(const uint8_t *row, const kq_act *a, uint64_t nsb,
                                                             size_t bytes, size_t qs_at, size_t hb)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t i = 0; i < nsb; i++) {
        const uint8_t *b = row + i * bytes; /* d, dmin, scales[12] at the same offsets in q4_k and q5_k */
        for (size_t o = 0; o < bytes; o += 64)
            _mm_prefetch((const char *)b + PF_AHEAD + o, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * i;
        __m256i v[8], H = hb ? _mm256_loadu_si256((const __m256i *)(const void *)(b + hb)) : _mm256_setzero_si256();
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(b + qs_at + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (hb) { /* (qh >> s) & 1 per byte: a 16-bit shift, then the low bit of each byte */
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * c), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * c + 1), one), 4));
            }
            v[2 * c] = kq_dot_u8(lo, _mm256_loadu_si256((const __m256i *)(const void *)(x + 64 * c)));
            v[2 * c + 1] = kq_dot_u8(hi, _mm256_loadu_si256((const __m256i *)(const void *)(x + 64 * c + 32)));
        }
        __m256 S = _mm256_cvtepi32_ps(kq_sum8x8(v));
        uint32_t u[3], sc[2], mn[2];
        memcpy(u, b + offsetof(llq_blk_q4_k, scales), 12);
        sc[0] = u[0] & 0x3f3f3f3f;
        mn[0] = u[1] & 0x3f3f3f3f;
        sc[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 6) & 0x03030303) << 4;
        mn[1] = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 6) & 0x03030303) << 4;
        __m256 scv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)sc)));
        __m256 mv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)mn)));
        uint16_t dh[2];
        memcpy(dh, b, 4);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(dh[0])), dmin = _mm256_set1_ps(_cvtsh_ss(dh[1]));
        __m256 xs = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(const void *)(a->s + 8 * i)));
        __m256 A = _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(d, scv), S), _mm256_mul_ps(_mm256_mul_ps(dmin, mv), xs));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return kq_hsum(acc);
}

static_assert(offsetof(llq_blk_q4_k, scales) == 4 && offsetof(llq_blk_q5_k, scales) == 4, "q4_k / q5_k scales");
static_assert(offsetof(llq_blk_q4_k, qs) == 16 && offsetof(llq_blk_q5_k, qh) == 16 && offsetof(llq_blk_q5_k, qs) == 48,
              "q4_k / q5_k codes");

/* int16 byte shuffles for a block of 32 of a super-block with 16-element sub-blocks: from 8 int16 scales in both
 * halves, lane 2c of each half in the low 128 bits (elements 0..15), lane 2c + 1 in the high ones (16..31). */
static void pick_init(__m256i pick[4])
{
    for (int c = 0; c < 4; c++)
        pick[c] = _mm256_set_m128i(_mm_set1_epi16((short)((4 * c + 3) << 8 | (4 * c + 2))),
                                   _mm_set1_epi16((short)((4 * c + 1) << 8 | 4 * c)));
}

/* iq4_xs: per sub-block of 32 the table values against the activations (maddubs(|v|, sign(x, v))), the 8 sums in
 * one vector, T = (ls − 32)·S as integers, A = d·T and one FMA by xd. */
static float dot_iq4_xs(const uint8_t *row, const kq_act *a, uint64_t nsb)
{
    const __m128i tab = _mm_loadu_si128((const __m128i *)(const void *)llq_iq4_values), m4 = _mm_set1_epi8(0x0f);
    const __m256i shl = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28), shh = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t i = 0; i < nsb; i++) {
        const llq_blk_iq4_xs *b = (const void *)(row + i * sizeof *b);
        _mm_prefetch((const char *)b + PF_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 128, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * i;
        __m256i v[8];
        #pragma GCC unroll 8
        for (int ib = 0; ib < 8; ib++) {
            __m128i q = _mm_loadu_si128((const __m128i *)(const void *)(b->qs + 16 * ib));
            __m256i w = _mm256_set_m128i(_mm_shuffle_epi8(tab, _mm_and_si128(_mm_srli_epi16(q, 4), m4)),
                                         _mm_shuffle_epi8(tab, _mm_and_si128(q, m4)));
            v[ib] = kq_dot_i8(w, _mm256_loadu_si256((const __m256i *)(const void *)(x + 32 * ib)));
        }
        uint32_t sl;
        memcpy(&sl, b->scales_l, 4);
        __m256i ls = _mm256_or_si256(
            _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)sl), shl), _mm256_set1_epi32(15)),
            _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(b->scales_h), shh), _mm256_set1_epi32(3)), 4));
        __m256i T = _mm256_mullo_epi32(_mm256_sub_epi32(ls, _mm256_set1_epi32(32)), kq_sum8x8(v));
        __m256 A = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->d)), _mm256_cvtepi32_ps(T));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return kq_hsum(acc);
}

/* q3_k: block 4n + j of a super-block is plane j of qs[32n..] with high bit 4n + j of hmask; the signed values
 * (code + 4·hbit − 4) as maddubs(|v|, sign(x, v)), each 16-element half weighted by its scale − 32 in the madd
 * (as q6_k's), T in lane 4n + j; A = d·T, one FMA by xd. */
static float dot_q3_k(const uint8_t *row, const kq_act *a, uint64_t nsb)
{
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
    __m256i pick[4];
    pick_init(pick);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t i = 0; i < nsb; i++) {
        const llq_blk_q3_k *b = (const void *)(row + i * sizeof *b);
        _mm_prefetch((const char *)b + PF_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 64, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * i;
        /* the 16 6-bit scales (llq_k3_scales) with 32-bit masks: low 4 bits of bytes 0..7 then their high
         * nibbles, the 2 high bits from bytes 8..11 at shifts 0, 2, 4, 6 */
        uint32_t u[3], s4[4];
        memcpy(u, b->scales, 12);
        s4[0] = (u[0] & 0x0f0f0f0f) | (u[2] & 0x03030303) << 4;
        s4[1] = (u[1] & 0x0f0f0f0f) | ((u[2] >> 2) & 0x03030303) << 4;
        s4[2] = ((u[0] >> 4) & 0x0f0f0f0f) | ((u[2] >> 4) & 0x03030303) << 4;
        s4[3] = ((u[1] >> 4) & 0x0f0f0f0f) | ((u[2] >> 6) & 0x03030303) << 4;
        __m128i s8 = _mm_sub_epi8(_mm_setr_epi32((int)s4[0], (int)s4[1], (int)s4[2], (int)s4[3]), _mm_set1_epi8(32));
        __m256i sc16 = _mm256_cvtepi8_epi16(s8);
        __m256i hm = _mm256_loadu_si256((const __m256i *)(const void *)b->hmask);
        __m256i v[8];
        #pragma GCC unroll 2
        for (int n = 0; n < 2; n++) {
            __m256i scn = (n ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00));
            __m256i Q = _mm256_loadu_si256((const __m256i *)(const void *)(b->qs + 32 * n));
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                __m256i code = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), m3),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * n + j), one), 2));
                __m256i w = _mm256_sub_epi8(code, four);
                __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + 128 * n + 32 * j));
                __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w));
                v[4 * n + j] = _mm256_madd_epi16(p, _mm256_shuffle_epi8(scn, pick[j]));
            }
        }
        __m256 A = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->d)), _mm256_cvtepi32_ps(kq_sum8x8(v)));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return kq_hsum(acc);
}

/* q2_k: the planes as q3_k's (codes 0..3 unsigned), each half weighted by its 4-bit scale in the madd (T1), and
 * the activations' pair sums by its 4-bit min (T2); A = d·T1 − dmin·T2, one FMA by xd. */
static float dot_q2_k(const uint8_t *row, const kq_act *a, uint64_t nsb)
{
    const __m256i m3 = _mm256_set1_epi8(3), ones8 = _mm256_set1_epi8(1);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m256i pick[4];
    pick_init(pick);
    __m256 acc = _mm256_setzero_ps();
    for (uint64_t i = 0; i < nsb; i++) {
        const llq_blk_q2_k *b = (const void *)(row + i * sizeof *b);
        _mm_prefetch((const char *)b + PF_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)b + PF_AHEAD + 64, _MM_HINT_T0);
        const int8_t *x = a->q + 256 * i;
        __m128i s8 = _mm_loadu_si128((const __m128i *)(const void *)b->scales);
        __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(s8, m4));
        __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), m4));
        __m256i v1[8], v2[8];
        #pragma GCC unroll 2
        for (int n = 0; n < 2; n++) {
            __m256i scn = (n ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00));
            __m256i mnn = (n ? _mm256_permute2x128_si256(mn16, mn16, 0x11) : _mm256_permute2x128_si256(mn16, mn16, 0x00));
            __m256i Q = _mm256_loadu_si256((const __m256i *)(const void *)(b->qs + 32 * n));
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                __m256i code = _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), m3);
                __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + 128 * n + 32 * j));
                v1[4 * n + j] = _mm256_madd_epi16(_mm256_maddubs_epi16(code, xv), _mm256_shuffle_epi8(scn, pick[j]));
                v2[4 * n + j] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xv), _mm256_shuffle_epi8(mnn, pick[j]));
            }
        }
        __m256 T1 = _mm256_cvtepi32_ps(kq_sum8x8(v1)), T2 = _mm256_cvtepi32_ps(kq_sum8x8(v2));
        __m256 A = _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->d)), T1),
                                 _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->dmin)), T2));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return kq_hsum(acc);
}

/* q6_k: per block of 32 the signed codes (code − 32) against the activations (maddubs of |v| and sign(x, v)),
 * each 16-element half weighted by its int8 scale in the madd, T_b in lane b; A = d·T, one FMA by xd. */
static float dot_q6_k(const uint8_t *row, const kq_act *a, uint64_t nsb)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3), off = _mm256_set1_epi8(32);
    __m256i pick[4];
    pick_init(pick);
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
        #pragma GCC unroll 2
        for (int n = 0; n < 2; n++) {
            __m256i scn = n ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00); /* scales 8n..8n+7 in both halves */
            __m256i A = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n));
            __m256i B = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n + 32));
            __m256i H = _mm256_loadu_si256((const __m256i *)(const void *)(b->qh + 32 * n));
            #pragma GCC unroll 4
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
        __m256 T = _mm256_cvtepi32_ps(kq_sum8x8(v));
        __m256 A = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->d)), T);
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->d + 8 * i), A, acc);
    }
    return kq_hsum(acc);
}

float kq_dot_avx2(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    uint64_t nsb = K / LLQ_QK_K;
    switch (type) {
    case LLQ_Q4_K: return dot_q45_k(row, a, nsb, sizeof(llq_blk_q4_k), offsetof(llq_blk_q4_k, qs), 0);
    case LLQ_Q5_K:
        return dot_q45_k(row, a, nsb, sizeof(llq_blk_q5_k), offsetof(llq_blk_q5_k, qs), offsetof(llq_blk_q5_k, qh));
    case LLQ_Q6_K: return dot_q6_k(row, a, nsb);
    case LLQ_Q3_K: return dot_q3_k(row, a, nsb);
    case LLQ_Q2_K: return dot_q2_k(row, a, nsb);
    case LLQ_IQ4_XS: return dot_iq4_xs(row, a, nsb);
    case LLQ_Q4_0: case LLQ_Q4_1: case LLQ_Q5_0: case LLQ_Q5_1: case LLQ_Q8_0: case LLQ_IQ4_NL:
        return kq_blk32_dot_avx2(row, a, type, K);
    default: return NAN;
    }
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
