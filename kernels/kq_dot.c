/* kq_dot.c — one-token products on ggml block weights with int8 activations (the integer path of q4's qdot, for
 * llama.cpp's blocks). The activation row is quantized per block of 32: xd_b = amax_b / 127, q = round(x / xd_b)
 * (kq_act_quantize, shared by both twins). Every type's product is a sum over activation blocks b of
 * xd_b·A_b, A_b an f32 expression of integer sums over the block (S = Σ v·q of the weight codes v, xs_b = Σ_b q):
 *   q4_k, q5_k (sub-blocks of 32 = block b):  A = (d·sc)·S − (dmin·m)·xs_b  (v = the 4- or 5-bit code);
 *   q6_k (v = code − 32), q3_k (v = 2-bit code − 4·!hbit): A = d·T, T = Σ_h sc_h·S_h over the two 16-element
 *     halves h (int8 scales; q3_k's 6-bit scale − 32);
 *   q2_k (v = 2-bit code):  A = d·T1 − dmin·T2, T1 = Σ_h (sc_h & 15)·S_h, T2 = Σ_h (sc_h >> 4)·X_h, X_h = Σ_h q;
 *   iq4_xs (v = the table value, sub-blocks of 32): A = d·((ls − 32)·S);
 *   the blocks of 32 (kq_blk32.c): q4_0 d·(S − 8·xs), q5_0 d·(S − 16·xs), q8_0 / iq4_nl d·S, q4_1 / q5_1
 *     d·S + m·xs.
 * Each block's xd_b·A_b goes by one FMA into lane b mod 8 of 8 accumulators (for a super-block: the block's place in
 * it), block after block, and the 8 lanes are added in the AVX2 horizontal sum's order (kq_lanes_sum).
 * _ref evaluates that in order; the AVX2 twins (kq_avx2.c, kq_blk32_avx2.c) compute the same integer sums with
 * maddubs/madd and then the same f32 expressions in the same order: bit-identical (test_kquant). */
#include "llq/blocks.h"
#include "llq/format.h"
#include "qdot.h"

#include <math.h>
#include <string.h>

void kq_act_quantize(kq_act *a, const float *x, uint64_t K)
{
    for (uint64_t b = 0; b < K / 32; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++)
            amax = fabsf(x[32 * b + i]) > amax ? fabsf(x[32 * b + i]) : amax;
        float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
        int32_t s = 0;
        for (int i = 0; i < 32; i++) {
            int v = (int)nearbyintf(x[32 * b + i] * id);
            v = v > 127 ? 127 : v < -127 ? -127 : v;
            a->q[32 * b + i] = (int8_t)v;
            s += v;
        }
        a->d[b] = d;
        a->s[b] = s;
    }
}

/* The final sum of the 8 lane accumulators, in the order of the AVX2 twin's horizontal add. */
float kq_lanes_sum(const float l[8])
{
    float a = l[0] + l[4], b = l[2] + l[6], c = l[1] + l[5], e = l[3] + l[7];
    return (a + b) + (c + e);
}

int kq_has_dot(uint32_t type)
{
    switch (type) {
    case LLQ_Q4_K: case LLQ_Q5_K: case LLQ_Q6_K: case LLQ_Q3_K: case LLQ_Q2_K: case LLQ_IQ4_XS:
    case LLQ_Q4_0: case LLQ_Q4_1: case LLQ_Q5_0: case LLQ_Q5_1: case LLQ_Q8_0: case LLQ_IQ4_NL:
        return 1;
    default:
        return 0;
    }
}

/* q4_k, and q5_k when qh is not NULL (fifth bit of sub-block j = bit j of qh[l]). */
static void ref_q45_k(float lane[8], uint16_t dh, uint16_t dmh, const uint8_t *scales, const uint8_t *qs4,
                      const uint8_t *qh, const kq_act *a, uint64_t i)
{
    float d = llq_f16_to_f32(dh), dmin = llq_f16_to_f32(dmh);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        llq_k4_scale_min(j, scales, &sc, &m);
        uint64_t ab = i * 8 + (uint64_t)j;
        const int8_t *q = a->q + 32 * ab;
        const uint8_t *qs = qs4 + 32 * (j / 2);
        int32_t S = 0;
        for (int l = 0; l < 32; l++) {
            int v = j & 1 ? qs[l] >> 4 : qs[l] & 0xF;
            if (qh)
                v |= ((qh[l] >> j) & 1) << 4;
            S += v * q[l];
        }
        float A = (d * (float)sc) * (float)S - (dmin * (float)m) * (float)a->s[ab];
        lane[j] = fmaf(a->d[ab], A, lane[j]);
    }
}

static void ref_q6_k(float lane[8], const llq_blk_q6_k *b, const kq_act *a, uint64_t i)
{
    float d = llq_f16_to_f32(b->d);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 4; c++) {
            uint64_t ab = i * 8 + 4 * (uint64_t)n + (uint64_t)c;
            const int8_t *q = a->q + 32 * ab;
            int32_t T = 0;
            for (int h = 0; h < 2; h++) {
                int32_t S = 0;
                for (int l = 16 * h; l < 16 * h + 16; l++) {
                    uint8_t lo = b->ql[64 * n + l + 32 * (c & 1)];
                    int v = ((c < 2 ? lo & 0xF : lo >> 4) | (((b->qh[32 * n + l] >> (2 * c)) & 3) << 4)) - 32;
                    S += v * q[l];
                }
                T += b->scales[8 * n + 2 * c + h] * S;
            }
            lane[4 * n + c] = fmaf(a->d[ab], d * (float)T, lane[4 * n + c]);
        }
}

/* q3_k: block c = 4n + j of the super-block is plane j (bits 2j) of qs[32n..32n+31], high bit 4n + j of hmask. */
static void ref_q3_k(float lane[8], const llq_blk_q3_k *b, const kq_act *a, uint64_t i)
{
    uint8_t sc[16];
    llq_k3_scales(sc, b->scales);
    float d = llq_f16_to_f32(b->d);
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 4; j++) {
            uint64_t ab = i * 8 + 4 * (uint64_t)n + (uint64_t)j;
            const int8_t *q = a->q + 32 * ab;
            int32_t T = 0;
            for (int h = 0; h < 2; h++) {
                int32_t S = 0;
                for (int l = 16 * h; l < 16 * h + 16; l++) {
                    int v = ((b->qs[32 * n + l] >> (2 * j)) & 3) - ((b->hmask[l] >> (4 * n + j)) & 1 ? 0 : 4);
                    S += v * q[l];
                }
                T += (sc[8 * n + 2 * j + h] - 32) * S;
            }
            lane[4 * n + j] = fmaf(a->d[ab], d * (float)T, lane[4 * n + j]);
        }
}

/* q2_k: the planes as q3_k's, no high bit; each 16-element half has a 4-bit scale and a 4-bit min. */
static void ref_q2_k(float lane[8], const llq_blk_q2_k *b, const kq_act *a, uint64_t i)
{
    float d = llq_f16_to_f32(b->d), dmin = llq_f16_to_f32(b->dmin);
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 4; j++) {
            uint64_t ab = i * 8 + 4 * (uint64_t)n + (uint64_t)j;
            const int8_t *q = a->q + 32 * ab;
            int32_t T1 = 0, T2 = 0;
            for (int h = 0; h < 2; h++) {
                int32_t S = 0, X = 0;
                for (int l = 16 * h; l < 16 * h + 16; l++) {
                    S += ((b->qs[32 * n + l] >> (2 * j)) & 3) * q[l];
                    X += q[l];
                }
                uint8_t s = b->scales[8 * n + 2 * j + h];
                T1 += (s & 15) * S;
                T2 += (s >> 4) * X;
            }
            float A = d * (float)T1 - dmin * (float)T2;
            lane[4 * n + j] = fmaf(a->d[ab], A, lane[4 * n + j]);
        }
}

static void ref_iq4_xs(float lane[8], const llq_blk_iq4_xs *b, const kq_act *a, uint64_t i)
{
    float d = llq_f16_to_f32(b->d);
    for (int ib = 0; ib < 8; ib++) {
        int ls = ((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b->scales_h >> (2 * ib)) & 3) << 4);
        uint64_t ab = i * 8 + (uint64_t)ib;
        const int8_t *q = a->q + 32 * ab;
        const uint8_t *qs = b->qs + 16 * ib;
        int32_t S = 0;
        for (int l = 0; l < 16; l++)
            S += llq_iq4_values[qs[l] & 0xF] * q[l] + llq_iq4_values[qs[l] >> 4] * q[l + 16];
        lane[ib] = fmaf(a->d[ab], d * (float)((ls - 32) * S), lane[ib]);
    }
}

float kq_dot_ref(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    float lane[8] = {0};
    uint32_t elems = 0, bytes = 0;
    if (!kq_has_dot(type) || !llq_type_block(type, &elems, &bytes))
        return NAN;
    if (elems == LLQ_QK)
        return kq_blk32_dot_ref(row, a, type, K);
    for (uint64_t i = 0; i < K / LLQ_QK_K; i++) {
        const uint8_t *p = row + i * bytes;
        switch (type) {
        case LLQ_Q4_K: {
            const llq_blk_q4_k *b = (const void *)p;
            ref_q45_k(lane, b->d, b->dmin, b->scales, b->qs, NULL, a, i);
            break;
        }
        case LLQ_Q5_K: {
            const llq_blk_q5_k *b = (const void *)p;
            ref_q45_k(lane, b->d, b->dmin, b->scales, b->qs, b->qh, a, i);
            break;
        }
        case LLQ_Q6_K: ref_q6_k(lane, (const void *)p, a, i); break;
        case LLQ_Q3_K: ref_q3_k(lane, (const void *)p, a, i); break;
        case LLQ_Q2_K: ref_q2_k(lane, (const void *)p, a, i); break;
        default: ref_iq4_xs(lane, (const void *)p, a, i); break;
        }
    }
    return kq_lanes_sum(lane);
}

int kq_act_layout(kq_act *a, float *buf, size_t n_floats, uint64_t K)
{
    size_t need = K / 4 + 2 * (K / 32) + 16;
    if (!buf || n_floats < need)
        return 0;
    a->d = buf;
    a->s = (int32_t *)(void *)(buf + K / 32);
    a->q = (int8_t *)(void *)(buf + 2 * (K / 32));
    return 1;
}

void llq_mv_kq_ref(float *y, const float *x, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    size_t need = W->cols / 4 + 2 * (W->cols / 32) + 16;
    kq_act a;
    if (!kq_act_layout(&a, llq_mm_scratch(need), need, W->cols)) {
        for (uint64_t r = r0; r < r1; r++)
            y[r] = NAN;
        return;
    }
    kq_act_quantize(&a, x, W->cols);
    for (uint64_t r = r0; r < r1; r++)
        y[r] = kq_dot_ref((const uint8_t *)W->data + r * W->row_bytes, &a, W->type, W->cols);
}
