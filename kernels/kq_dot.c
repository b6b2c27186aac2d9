/* kq_dot.c — one-token products on q4_k / q6_k weights with int8 activations (the integer path of q4's qdot, for
 * llama.cpp's blocks). The activation row is quantized per block of 32: xd_b = amax_b / 127, q = round(x / xd_b)
 * (kq_act_quantize, shared by both twins). A row's product sums, per sub-block j with integer code sum
 * S_j = Σ v_k·q_k over its elements:
 *   q4_k (sub-blocks of 32 = activation block b): Σ_j xd_b·((d·sc_j)·S_j − (dmin·m_j)·xs_b), xs_b = Σ_b q;
 *   q6_k (sub-blocks of 16, v = code − 32):     Σ_j xd_b·(d·sc_j)·S_j.
 * _ref evaluates that in order; the AVX2 twin (kq_avx2.c) computes the same integer sums S_j with maddubs/madd and
 * then the same f32 expressions in the same order: bit-identical (test_kquant). */
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

float kq_dot_ref(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    float lane[8] = {0};
    if (type == LLQ_Q4_K) {
        for (uint64_t i = 0; i < K / LLQ_QK_K; i++) {
            const llq_blk_q4_k *b = (const void *)(row + i * sizeof *b);
            float d = llq_f16_to_f32(b->d), dmin = llq_f16_to_f32(b->dmin);
            for (int j = 0; j < 8; j++) {
                uint8_t sc, m;
                llq_k4_scale_min(j, b->scales, &sc, &m);
                uint64_t ab = i * 8 + (uint64_t)j;
                const int8_t *q = a->q + 32 * ab;
                const uint8_t *qs = b->qs + 32 * (j / 2);
                int32_t S = 0;
                for (int l = 0; l < 32; l++)
                    S += (j & 1 ? qs[l] >> 4 : qs[l] & 0xF) * q[l];
                float A = (d * (float)sc) * (float)S - (dmin * (float)m) * (float)a->s[ab];
                lane[j] = fmaf(a->d[ab], A, lane[j]);
            }
        }
    } else { /* q6_k */
        for (uint64_t i = 0; i < K / LLQ_QK_K; i++) {
            const llq_blk_q6_k *b = (const void *)(row + i * sizeof *b);
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
