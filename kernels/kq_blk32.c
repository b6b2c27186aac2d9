/* kq_blk32.c — one-token products on ggml's blocks of 32 (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl) with int8
 * activations: the scalar reference (kq_dot.c's header states the expressions). Block b of a row gives
 * A_b = an f32 expression of the integer code sum S = Σ v·q and the activation block sum xs, and xd_b·A_b goes by
 * one FMA into lane b mod 8; the AVX2 twin (kq_blk32_avx2.c) computes 8 blocks' S at once and the same
 * expressions lane-wise, and calls kq_blk32_block_ref for a row's last K/32 mod 8 blocks. */
#include "llq/blocks.h"
#include "llq/format.h"
#include "qdot.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static_assert(offsetof(llq_blk_q4_0, qs) == 2 && offsetof(llq_blk_q4_1, qs) == 4, "q4_0 / q4_1 codes");
static_assert(offsetof(llq_blk_q5_0, qh) == 2 && offsetof(llq_blk_q5_0, qs) == 6, "q5_0 fields");
static_assert(offsetof(llq_blk_q5_1, qh) == 4 && offsetof(llq_blk_q5_1, qs) == 8, "q5_1 fields");
static_assert(offsetof(llq_blk_q8_0, qs) == 2 && offsetof(llq_blk_iq4_nl, qs) == 2, "q8_0 / iq4_nl codes");

/* Element j of 16 packed bytes: the low nibble of byte j for j < 16, the high nibble of byte j − 16 after. */
static int nib(const uint8_t *qs, int j)
{
    return j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4;
}

float kq_blk32_block_ref(const uint8_t *p, const int8_t *q, int32_t xs, uint32_t type)
{
    uint16_t dh, mh = 0;
    memcpy(&dh, p, 2);
    int32_t S = 0;
    float A;
    switch (type) {
    case LLQ_Q4_0:
    case LLQ_Q4_1: {
        const uint8_t *qs = p + (type == LLQ_Q4_0 ? offsetof(llq_blk_q4_0, qs) : offsetof(llq_blk_q4_1, qs));
        for (int j = 0; j < 32; j++)
            S += nib(qs, j) * q[j];
        if (type == LLQ_Q4_0)
            return llq_f16_to_f32(dh) * (float)(S - 8 * xs);
        memcpy(&mh, p + 2, 2);
        A = llq_f16_to_f32(dh) * (float)S + llq_f16_to_f32(mh) * (float)xs;
        return A;
    }
    case LLQ_Q5_0:
    case LLQ_Q5_1: {
        size_t oh = type == LLQ_Q5_0 ? offsetof(llq_blk_q5_0, qh) : offsetof(llq_blk_q5_1, qh);
        uint32_t qh;
        memcpy(&qh, p + oh, 4);
        for (int j = 0; j < 32; j++) /* bit j of qh is element j's fifth bit */
            S += (nib(p + oh + 4, j) | (int)((qh >> j) & 1) << 4) * q[j];
        if (type == LLQ_Q5_0)
            return llq_f16_to_f32(dh) * (float)(S - 16 * xs);
        memcpy(&mh, p + 2, 2);
        A = llq_f16_to_f32(dh) * (float)S + llq_f16_to_f32(mh) * (float)xs;
        return A;
    }
    case LLQ_Q8_0: {
        const int8_t *qs = (const int8_t *)(p + offsetof(llq_blk_q8_0, qs));
        for (int j = 0; j < 32; j++)
            S += qs[j] * q[j];
        return llq_f16_to_f32(dh) * (float)S;
    }
    default: /* iq4_nl */
        for (int j = 0; j < 32; j++)
            S += llq_iq4_values[nib(p + offsetof(llq_blk_iq4_nl, qs), j)] * q[j];
        return llq_f16_to_f32(dh) * (float)S;
    }
}

float kq_blk32_dot_ref(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K)
{
    float lane[8] = {0};
    uint32_t bytes = 0;
    llq_type_block(type, NULL, &bytes);
    for (uint64_t b = 0; b < K / LLQ_QK; b++) {
        float A = kq_blk32_block_ref(row + b * bytes, a->q + 32 * b, a->s[b], type);
        lane[b % 8] = fmaf(a->d[b], A, lane[b % 8]);
    }
    return kq_lanes_sum(lane);
}
