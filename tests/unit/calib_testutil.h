/* calib_testutil.h — helpers shared by test_gptq.c / test_awq.c / test_calib.c: a PRNG, a dequantizer written
 * from docs/FORMAT.md section 5 (independent of the library's), and the output error ‖(W − Ŵ)·Xᵀ‖². */
#ifndef CALIB_TESTUTIL_H
#define CALIB_TESTUTIL_H

#include "llq/format.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of one quantized row (format/'s llq_row_bytes); 0 for a bad type/group. */
static inline size_t tu_row_bytes(uint32_t type, uint32_t group, size_t cols)
{
    uint64_t rb;
    return llq_row_bytes(&rb, type, group, cols) ? 0 : (size_t)rb;
}

static inline uint64_t tu_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline float tu_unif(uint64_t *s) /* (0,1) */
{
    return ((float)(tu_next(s) >> 40) + 0.5f) / 16777216.0f;
}
static inline float tu_gauss(uint64_t *s)
{
    float u = tu_unif(s), v = tu_unif(s);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* Dequantizes one row of cols elements of type/group into out, per docs/FORMAT.md. */
static inline void tu_dequant_row(float *out, const uint8_t *row, uint32_t type, uint32_t group, size_t cols)
{
    size_t g = group ? group : (cols + 31) / 32 * 32;
    size_t G = (cols + g - 1) / g, kp = G * g;
    const uint8_t *sc = row + (type == LLQ_Q8 ? kp : kp / 2);
    for (size_t k = 0; k < cols; k++) {
        size_t j = k / g;
        float d = llq_f16_to_f32((uint16_t)(sc[2 * j] | sc[2 * j + 1] << 8));
        if (type == LLQ_Q8) {
            out[k] = d * (float)(int8_t)row[k];
        } else {
            size_t c = k / 32, i = k % 32;
            int n = i < 16 ? row[16 * c + i] & 15 : row[16 * c + i - 16] >> 4;
            int z = type == LLQ_Q4 ? 8 : sc[2 * G + j];
            out[k] = d * (float)(n - z);
        }
    }
}

/* ‖(W − Ŵ)·Xᵀ‖² via H = XᵀX (full, cols×cols): Σ_r δ_r·H·δ_rᵀ. */
static inline double tu_out_err(const float *w, const float *wq, size_t rows, size_t cols, const double *h)
{
    double e = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++) {
            double di = (double)w[r * cols + i] - wq[r * cols + i];
            for (size_t j = 0; j < cols; j++)
                e += di * h[i * cols + j] * ((double)w[r * cols + j] - wq[r * cols + j]);
        }
    return e;
}

#endif
