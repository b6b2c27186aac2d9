/* elem.c — exact element conversion between the source dtypes (f32/f16/bf16/f64) and the .llq float types. */
#include "layout.h"

#include <math.h>
#include <string.h>

size_t conv_type_size(uint32_t type)
{
    return type == LLQ_F32 ? 4 : 2;
}

uint32_t conv_out_type(uint32_t dtype, uint32_t src_dtype, uint32_t n_dims)
{
    if (dtype != LLQ_CONVERT_KEEP)
        return dtype;
    if (n_dims < 2)
        return LLQ_F32;
    switch (src_dtype) {
    case LLQ_SRC_F16: return LLQ_F16;
    case LLQ_SRC_BF16: return LLQ_BF16;
    default: return LLQ_F32;
    }
}

/* f64 -> f32 rounding toward zero, then setting the last bit if anything was lost ("round to odd"): a later
 * round-to-nearest-even to f16 or bf16 (>= 2 bits shorter) then gives the correctly rounded result of d. */
static float f64_to_f32_odd(double d)
{
    float f = (float)d;
    if (isnan(d) || (double)f == d)
        return f;
    if (fabs((double)f) > fabs(d))
        f = nextafterf(f, 0.0f);
    uint32_t u;
    memcpy(&u, &f, 4);
    u |= 1;
    memcpy(&f, &u, 4);
    return f;
}

static float load_f32(const uint8_t *p, uint32_t src_dtype, size_t i, int odd)
{
    switch (src_dtype) {
    case LLQ_SRC_F16: {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        return llq_f16_to_f32(h);
    }
    case LLQ_SRC_BF16: {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        return llq_bf16_to_f32(h);
    }
    case LLQ_SRC_F64: {
        double d;
        memcpy(&d, p + 8 * i, 8);
        return odd ? f64_to_f32_odd(d) : (float)d;
    }
    default: {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    }
}

void conv_elems_ref(void *dst, uint32_t dst_type, const void *src, uint32_t src_dtype, size_t n)
{
    const uint8_t *s = src;
    if ((dst_type == LLQ_F32 && src_dtype == LLQ_SRC_F32) || (dst_type == LLQ_F16 && src_dtype == LLQ_SRC_F16) ||
        (dst_type == LLQ_BF16 && src_dtype == LLQ_SRC_BF16)) {
        memcpy(dst, src, n * conv_type_size(dst_type));
        return;
    }
    if (dst_type == LLQ_F32) {
        float *d = dst;
        if (src_dtype == LLQ_SRC_BF16) { /* the common case, kept simple enough to vectorise */
            for (size_t i = 0; i < n; i++) {
                uint16_t h;
                memcpy(&h, s + 2 * i, 2);
                uint32_t u = (uint32_t)h << 16;
                memcpy(d + i, &u, 4);
            }
            return;
        }
        for (size_t i = 0; i < n; i++)
            d[i] = load_f32(s, src_dtype, i, 0);
        return;
    }
    uint16_t *d = dst;
    if (dst_type == LLQ_F16) {
        for (size_t i = 0; i < n; i++)
            d[i] = llq_f32_to_f16(load_f32(s, src_dtype, i, 1));
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = llq_f32_to_bf16(load_f32(s, src_dtype, i, 1));
    }
}

void conv_elems(void *dst, uint32_t dst_type, const void *src, uint32_t src_dtype, size_t n)
{
    size_t k = llq_cpu_has_avx2() ? conv_elems_avx2(dst, dst_type, src, src_dtype, n) : 0;
    if (k < n)
        conv_elems_ref((uint8_t *)dst + k * conv_type_size(dst_type), dst_type,
                       (const uint8_t *)src + k * llq_src_dtype_size(src_dtype), src_dtype, n - k);
}
