/* layout.c — byte geometry of tensor rows and conversion of one row of any type to f32
 * (docs/FORMAT.md section 5, "Quantized layouts"). */
#include "llq/blocks.h"
#include "llq/format.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "llq assumes a little-endian host");

static const struct {
    uint32_t type, elems, bytes, ggml;
} blocks[] = {
    {LLQ_Q4_0, LLQ_QK, sizeof(llq_blk_q4_0), 2},       {LLQ_Q4_1, LLQ_QK, sizeof(llq_blk_q4_1), 3},
    {LLQ_Q5_0, LLQ_QK, sizeof(llq_blk_q5_0), 6},       {LLQ_Q5_1, LLQ_QK, sizeof(llq_blk_q5_1), 7},
    {LLQ_Q8_0, LLQ_QK, sizeof(llq_blk_q8_0), 8},       {LLQ_Q2_K, LLQ_QK_K, sizeof(llq_blk_q2_k), 10},
    {LLQ_Q3_K, LLQ_QK_K, sizeof(llq_blk_q3_k), 11},    {LLQ_Q4_K, LLQ_QK_K, sizeof(llq_blk_q4_k), 12},
    {LLQ_Q5_K, LLQ_QK_K, sizeof(llq_blk_q5_k), 13},    {LLQ_Q6_K, LLQ_QK_K, sizeof(llq_blk_q6_k), 14},
    {LLQ_IQ4_NL, LLQ_QK, sizeof(llq_blk_iq4_nl), 20},  {LLQ_IQ4_XS, LLQ_QK_K, sizeof(llq_blk_iq4_xs), 23},
};
#define N_BLOCKS (sizeof blocks / sizeof blocks[0])

int llq_type_block(uint32_t type, uint32_t *elems, uint32_t *bytes)
{
    for (size_t i = 0; i < N_BLOCKS; i++) {
        if (blocks[i].type == type) {
            if (elems)
                *elems = blocks[i].elems;
            if (bytes)
                *bytes = blocks[i].bytes;
            return 1;
        }
    }
    return 0;
}

int llq_type_to_ggml(uint32_t type)
{
    if (type == LLQ_F32 || type == LLQ_F16)
        return (int)type;
    if (type == LLQ_BF16)
        return 30;
    for (size_t i = 0; i < N_BLOCKS; i++)
        if (blocks[i].type == type)
            return (int)blocks[i].ggml;
    return -1;
}

int llq_type_from_ggml(uint32_t *out, uint32_t g)
{
    if (g == 0 || g == 1 || g == 30) {
        *out = g == 30 ? LLQ_BF16 : g;
        return LLQ_OK;
    }
    for (size_t i = 0; i < N_BLOCKS; i++) {
        if (blocks[i].ggml == g) {
            *out = blocks[i].type;
            return LLQ_OK;
        }
    }
    return llq_err(LLQ_EUNSUPPORTED, "ggml type %u has no llq type", g);
}

int llq_group_valid(uint32_t type, uint32_t group)
{
    if (llq_type_is_quant(type))
        return group == 0 || group == 32 || group == 64 || group == 128;
    return llq_type_name(type) != NULL && group == 0;
}

void llq_group_geometry(uint32_t group, uint64_t row_len, uint64_t *glen, uint64_t *n_groups)
{
    uint64_t g = group;
    if (g == 0) { /* per-row: the whole row rounded up to a multiple of 32 (saturating; row_bytes checks) */
        g = row_len / 32 + (row_len % 32 != 0);
        g = g > UINT64_MAX / 32 ? UINT64_MAX & ~(uint64_t)31 : g * 32;
        if (g == 0)
            g = 32;
    }
    *glen = g;
    *n_groups = row_len / g + (row_len % g != 0);
}

int llq_row_bytes(uint64_t *out, uint32_t type, uint32_t group, uint64_t row_len)
{
    if (!llq_group_valid(type, group))
        return llq_err(LLQ_EINVAL, "group %u is not valid for tensor type %u", group, type);
    uint64_t r = 0, g, G, kp, scale_b;
    uint32_t be, bb;
    if (llq_type_block(type, &be, &bb)) {
        if (row_len % be != 0)
            return llq_err(LLQ_EINVAL, "a row of %llu elements is not a whole number of %s blocks (%u elements)",
                           (unsigned long long)row_len, llq_type_name(type), be);
        *out = row_len / be * bb; /* row_len / be <= 2^64 / 32, bb <= 210: fits */
        return LLQ_OK;
    }
    switch (type) {
    case LLQ_F32:
        if (llq_mul_u64(&r, row_len, 4))
            goto overflow;
        break;
    case LLQ_F16:
    case LLQ_BF16:
        if (llq_mul_u64(&r, row_len, 2))
            goto overflow;
        break;
    default: /* q8, q4, q4a */
        if (row_len > UINT64_MAX / 4)
            goto overflow;
        llq_group_geometry(group, row_len, &g, &G);
        if (llq_mul_u64(&kp, G, g))
            goto overflow;
        scale_b = G * (type == LLQ_Q4A ? 3 : 2); /* G <= 2^57: cannot overflow */
        r = (type == LLQ_Q8 ? kp : kp / 2);
        if (llq_add_u64(&r, r, scale_b))
            goto overflow;
        break;
    }
    *out = r;
    return LLQ_OK;
overflow:
    return llq_err(LLQ_EFORMAT, "row of %llu elements of type %s is too large",
                   (unsigned long long)row_len, llq_type_name(type));
}

static float rd_f16(const uint8_t *p)
{
    return llq_f16_to_f32((uint16_t)(p[0] | (p[1] << 8)));
}

/* One group's nibble value for element k of the row: chunks of 32, low nibbles first half, high second. */
static inline unsigned nibble(const uint8_t *nib, uint64_t k)
{
    uint8_t b = nib[(k / 32) * 16 + (k % 16)];
    return (k % 32) < 16 ? (b & 0x0f) : (b >> 4);
}

void llq_row_to_f32(float *out, const void *row, uint32_t type, uint32_t group, uint64_t row_len)
{
    const uint8_t *p = row;
    uint64_t g, G, k = 0;
    uint32_t g32;
    switch (type) {
    case LLQ_F32:
        memcpy(out, p, row_len * 4);
        return;
    case LLQ_F16:
        for (uint64_t i = 0; i < row_len; i++)
            out[i] = rd_f16(p + 2 * i);
        return;
    case LLQ_BF16:
        for (uint64_t i = 0; i < row_len; i++)
            out[i] = llq_bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        return;
    case LLQ_Q8: {
        llq_group_geometry(group, row_len, &g, &G);
        const int8_t *q = (const int8_t *)p;
        const uint8_t *d = p + G * g;
        for (uint64_t j = 0; j < G; j++) {
            float s = rd_f16(d + 2 * j);
            uint64_t end = k + g < row_len ? k + g : row_len;
            for (; k < end; k++)
                out[k] = s * (float)q[k];
        }
        return;
    }
    case LLQ_Q4:
    case LLQ_Q4A: {
        llq_group_geometry(group, row_len, &g, &G);
        const uint8_t *d = p + G * g / 2;
        const uint8_t *z = d + 2 * G;
        for (uint64_t j = 0; j < G; j++) {
            float s = rd_f16(d + 2 * j);
            int zero = type == LLQ_Q4 ? 8 : z[j];
            uint64_t end = k + g < row_len ? k + g : row_len;
            for (; k < end; k++)
                out[k] = s * (float)((int)nibble(p, k) - zero);
        }
        return;
    }
    default: /* block types; unknown types never reach here from a validated file: leave zeros */
        if (llq_type_block(type, &g32, NULL)) {
            llq_block_to_f32(out, p, type, row_len / g32);
            return;
        }
        memset(out, 0, row_len * sizeof *out);
        return;
    }
}
