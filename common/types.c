/* types.c — tensor type names, f16/bf16 conversions. */
#include "llq/llq.h"

#include <string.h>
#include <strings.h>

static const struct {
    uint32_t type;
    const char *name;
} type_names[] = {
    {LLQ_F32, "f32"}, {LLQ_F16, "f16"}, {LLQ_BF16, "bf16"}, {LLQ_Q8, "q8"}, {LLQ_Q4, "q4"}, {LLQ_Q4A, "q4a"},
    {LLQ_Q4_0, "q4_0"}, {LLQ_Q4_1, "q4_1"}, {LLQ_Q5_0, "q5_0"}, {LLQ_Q5_1, "q5_1"}, {LLQ_Q8_0, "q8_0"},
    {LLQ_Q2_K, "q2_k"}, {LLQ_Q3_K, "q3_k"}, {LLQ_Q4_K, "q4_k"}, {LLQ_Q5_K, "q5_k"}, {LLQ_Q6_K, "q6_k"},
    {LLQ_IQ4_NL, "iq4_nl"}, {LLQ_IQ4_XS, "iq4_xs"},
};

const char *llq_type_name(uint32_t type)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].type == type)
            return type_names[i].name;
    return NULL;
}

int llq_type_parse(uint32_t *out, const char *name)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcasecmp(type_names[i].name, name) == 0) {
            *out = type_names[i].type;
            return LLQ_OK;
        }
    }
    return llq_err(LLQ_EINVAL, "unknown tensor type '%s' (expected f32, f16, bf16, q8, q4, q4a or a block type such as q4_k)", name);
}

int llq_type_is_quant(uint32_t type)
{
    return type == LLQ_Q8 || type == LLQ_Q4 || type == LLQ_Q4A;
}

int llq_type_is_block(uint32_t type)
{
    return type >= LLQ_Q4_0 && llq_type_name(type) != NULL;
}

/* ---- f16 / bf16 ---- */

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float llq_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) /* inf / nan */
        return u2f(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return u2f(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t llq_f32_to_f16(float f)
{
    uint32_t u = f2u(f);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7fffffff;
    if (a >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0));
    if (a >= 0x477ff000u) /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7c00);
    if (a < 0x38800000u) { /* below the smallest normal f16 (2^-14): subnormal or zero */
        /* f16 subnormal unit is 2^-24; adding 0.5f shifts the value's bits so that the
         * hardware's round-to-nearest-even does the rounding for us */
        float v = u2f(a) + 0.5f;
        return (uint16_t)(sign | (f2u(v) - 0x3f000000u));
    }
    uint32_t mant_odd = (a >> 13) & 1;
    a += 0xc8000fffu + mant_odd; /* rebias exponent (-112 << 23) and round to nearest even */
    return (uint16_t)(sign | (a >> 13));
}

float llq_bf16_to_f32(uint16_t b)
{
    return u2f((uint32_t)b << 16);
}

uint16_t llq_f32_to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffff) > 0x7f800000u) /* nan: keep it a quiet nan */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
