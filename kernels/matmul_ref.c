/* matmul_ref.c — the scalar definitions of every matmul kernel: one dot product per (token, row), summed in
 * f32 from k = 0 upwards. The _avx2 twins are tested against these. */
#include "llq/format.h"
#include "kern.h"

#include <math.h>
#include <string.h>

static float f16_at(const uint8_t *p, uint64_t k)
{
    uint16_t h;
    memcpy(&h, p + 2 * k, 2);
    return llq_f16_to_f32(h);
}

static float bf16_at(const uint8_t *p, uint64_t k)
{
    uint16_t h;
    memcpy(&h, p + 2 * k, 2);
    return llq_bf16_to_f32(h);
}

void llq_mm_f32_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    for (uint64_t r = r0; r < r1; r++) {
        const float *w = (const float *)(const void *)((const uint8_t *)W->data + r * W->row_bytes);
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * W->cols;
            float s = 0;
            for (uint64_t k = 0; k < W->cols; k++)
                s += xt[k] * w[k];
            y[t * W->rows + r] = s;
        }
    }
}

void llq_mm_f16_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    for (uint64_t r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)W->data + r * W->row_bytes;
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * W->cols;
            float s = 0;
            for (uint64_t k = 0; k < W->cols; k++)
                s += xt[k] * f16_at(w, k);
            y[t * W->rows + r] = s;
        }
    }
}

void llq_mm_bf16_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    for (uint64_t r = r0; r < r1; r++) {
        const uint8_t *w = (const uint8_t *)W->data + r * W->row_bytes;
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * W->cols;
            float s = 0;
            for (uint64_t k = 0; k < W->cols; k++)
                s += xt[k] * bf16_at(w, k);
            y[t * W->rows + r] = s;
        }
    }
}

/* Dequantize one row at a time (llq_row_to_f32), then the f32 dot for every token. */
void llq_mm_dequant_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    float *w = llq_mm_scratch(W->cols);
    for (uint64_t r = r0; r < r1; r++) {
        if (!w) {
            for (size_t t = 0; t < n; t++)
                y[t * W->rows + r] = NAN;
            continue;
        }
        llq_row_to_f32(w, (const uint8_t *)W->data + r * W->row_bytes, W->type, W->group, W->cols);
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * W->cols;
            float s = 0;
            for (uint64_t k = 0; k < W->cols; k++)
                s += xt[k] * w[k];
            y[t * W->rows + r] = s;
        }
    }
}

/* y = x·wᵀ (acc: y += x·wᵀ). */
static void gemm_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                     size_t rows, size_t cols, int acc)
{
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < rows; r++) {
            float s = 0;
            for (size_t k = 0; k < cols; k++)
                s += x[t * ldx + k] * w[r * ldw + k];
            y[t * ldy + r] = acc ? y[t * ldy + r] + s : s;
        }
}

void llq_gemm_f32_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                      size_t rows, size_t cols)
{
    gemm_ref(y, ldy, x, ldx, n, w, ldw, rows, cols, 0);
}

void llq_gemm_f32_acc_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                          size_t rows, size_t cols)
{
    gemm_ref(y, ldy, x, ldx, n, w, ldw, rows, cols, 1);
}

void llq_gemm_f32_nn_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                         size_t rows, size_t cols)
{
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < rows; r++) {
            float s = 0;
            for (size_t k = 0; k < cols; k++)
                s += x[t * ldx + k] * v[k * ldv + r];
            y[t * ldy + r] = s;
        }
}
