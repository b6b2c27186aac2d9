/* act.c — llama.cpp's CPU arithmetic, emulated (include/llq/kernels.h, "llama.cpp arithmetic"): ggml converts the
 * activations of a matmul to its weight type's vec_dot_type before the dot products — Q8_0 blocks of 32 for
 * Q8_0/Q4_0/Q4_1/Q5_x/IQ4_NL weights, Q8_K blocks of 256 for the K-quants and IQ4_XS, f16 / bf16 for f16 / bf16
 * weights — and the products are exact up to the order of summation. Rounding the f32 activations to those values
 * and multiplying in f32 therefore gives llama.cpp's results up to summation order. Scalar only: it runs once per
 * activation row, not per weight. */
#include "llq/kernels.h"

#include <math.h>
#include <string.h>

#define MAGIC 12582912.0f /* 1.5·2^23: (v + MAGIC) − MAGIC rounds |v| < 2^22 half to even (as _mm256_round_ps) */

int llq_act_kind(uint32_t wtype)
{
    switch (wtype) {
    case LLQ_F32: return LLQ_ACT_F32;
    case LLQ_F16: return LLQ_ACT_F16;
    case LLQ_BF16: return LLQ_ACT_BF16;
    case LLQ_Q2_K: case LLQ_Q3_K: case LLQ_Q4_K: case LLQ_Q5_K: case LLQ_Q6_K: case LLQ_IQ4_XS: return LLQ_ACT_Q8_K;
    default: return LLQ_ACT_Q8_0; /* q8/q4/q4a and the 32-element block types (Q4_1, Q5_1: Q8_1, the same values) */
    }
}

/* Q8_0 (ggml's AVX2 quantize_row_q8_0): d = amax/127 stored as f16, q = round-half-even(x·127/amax). */
static void q8_0(float *x, size_t k)
{
    for (size_t b = 0; b < k; b += 32) {
        size_t m = k - b < 32 ? k - b : 32;
        float amax = 0.0f;
        for (size_t i = 0; i < m; i++)
            amax = fabsf(x[b + i]) > amax ? fabsf(x[b + i]) : amax;
        float d = llq_f16_to_f32(llq_f32_to_f16(amax / 127.0f)), id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (size_t i = 0; i < m; i++)
            x[b + i] = d * ((x[b + i] * id + MAGIC) - MAGIC);
    }
}

/* Q8_K (ggml's quantize_row_q8_K_ref): max = the value of largest magnitude, iscale = −127/max, q = nearest(iscale·x)
 * capped at 127, d = 1/iscale in f32. */
static void q8_k(float *x, size_t k)
{
    for (size_t b = 0; b < k; b += 256) {
        size_t m = k - b < 256 ? k - b : 256;
        float amax = 0.0f, max = 0.0f;
        for (size_t i = 0; i < m; i++)
            if (fabsf(x[b + i]) > amax) {
                amax = fabsf(x[b + i]);
                max = x[b + i];
            }
        if (amax == 0.0f) {
            memset(x + b, 0, m * sizeof *x);
            continue;
        }
        float iscale = -127.0f / max, d = 1.0f / iscale;
        for (size_t i = 0; i < m; i++) {
            float q = (iscale * x[b + i] + MAGIC) - MAGIC;
            x[b + i] = d * (q > 127.0f ? 127.0f : q);
        }
    }
}

void llq_act_round(float *x, size_t n, size_t cols, int kind)
{
    for (size_t t = 0; t < n; t++) {
        float *r = x + t * cols;
        switch (kind) {
        case LLQ_ACT_F16:
            for (size_t i = 0; i < cols; i++)
                r[i] = llq_f16_to_f32(llq_f32_to_f16(r[i]));
            break;
        case LLQ_ACT_BF16:
            for (size_t i = 0; i < cols; i++)
                r[i] = llq_bf16_to_f32(llq_f32_to_bf16(r[i]));
            break;
        case LLQ_ACT_Q8_0: q8_0(r, cols); break;
        case LLQ_ACT_Q8_K: q8_k(r, cols); break;
        default: break;
        }
    }
}
