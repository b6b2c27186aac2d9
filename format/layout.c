/* layout.c — the tensor type table (names and block layouts), byte geometry of tensor rows, and conversion of
 * one row of any type to f32 (docs/FORMAT.md section 5). Adding a type: its enum value (llq.h), one table row here,
 * its dequantization in llq_row_to_f32. */
#include "llq/blocks.h"
#include "llq/format.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "llq assumes a little-endian host");

/* ---- the type table: one row per tensor type (values are stored in files: only appended) ---- */

_Static_assert(LLQ_QBLOCK % 2 == 0 && LLQ_QGROUP_MAX % LLQ_QBLOCK == 0, "groups are whole code blocks");
_Static_assert(LLQ_Q8_BLOCK_BYTES == LLQ_QBLOCK * sizeof(int8_t), "q8 block: one int8 per weight");
_Static_assert(LLQ_Q4_BLOCK_BYTES * 2 == LLQ_QBLOCK, "q4 block: two nibbles per byte");
_Static_assert(LLQ_SCALE_BYTES == sizeof(uint16_t) && LLQ_ZERO_BYTES == sizeof(uint8_t), "f16 scale, u8 zero");

static const llq_type_info types[] = {
    /* type, name, block weights, block bytes, scale bytes, zero bytes, ggml type id (-1: none) */
    {LLQ_F32, "f32", 1, sizeof(float), 0, 0, 0},
    {LLQ_F16, "f16", 1, sizeof(uint16_t), 0, 0, 1},
    {LLQ_BF16, "bf16", 1, sizeof(uint16_t), 0, 0, 30},
    {LLQ_Q8, "q8", LLQ_QBLOCK, LLQ_Q8_BLOCK_BYTES, LLQ_SCALE_BYTES, 0, -1},
    {LLQ_Q4, "q4", LLQ_QBLOCK, LLQ_Q4_BLOCK_BYTES, LLQ_SCALE_BYTES, 0, -1},
    {LLQ_Q4A, "q4a", LLQ_QBLOCK, LLQ_Q4_BLOCK_BYTES, LLQ_SCALE_BYTES, LLQ_ZERO_BYTES, -1},
    /* ggml's block types, byte for byte (llq/blocks.h): self-contained blocks, group 0 */
    {LLQ_Q4_0, "q4_0", LLQ_QK, sizeof(llq_blk_q4_0), 0, 0, 2},
    {LLQ_Q4_1, "q4_1", LLQ_QK, sizeof(llq_blk_q4_1), 0, 0, 3},
    {LLQ_Q5_0, "q5_0", LLQ_QK, sizeof(llq_blk_q5_0), 0, 0, 6},
    {LLQ_Q5_1, "q5_1", LLQ_QK, sizeof(llq_blk_q5_1), 0, 0, 7},
    {LLQ_Q8_0, "q8_0", LLQ_QK, sizeof(llq_blk_q8_0), 0, 0, 8},
    {LLQ_Q2_K, "q2_k", LLQ_QK_K, sizeof(llq_blk_q2_k), 0, 0, 10},
    {LLQ_Q3_K, "q3_k", LLQ_QK_K, sizeof(llq_blk_q3_k), 0, 0, 11},
    {LLQ_Q4_K, "q4_k", LLQ_QK_K, sizeof(llq_blk_q4_k), 0, 0, 12},
    {LLQ_Q5_K, "q5_k", LLQ_QK_K, sizeof(llq_blk_q5_k), 0, 0, 13},
    {LLQ_Q6_K, "q6_k", LLQ_QK_K, sizeof(llq_blk_q6_k), 0, 0, 14},
    {LLQ_IQ4_NL, "iq4_nl", LLQ_QK, sizeof(llq_blk_iq4_nl), 0, 0, 20},
    {LLQ_IQ4_XS, "iq4_xs", LLQ_QK_K, sizeof(llq_blk_iq4_xs), 0, 0, 23},
};
#define N_TYPES (sizeof types / sizeof types[0])

const llq_type_info *llq_type_info_at(size_t i)
{
    return i < N_TYPES ? &types[i] : NULL;
}

const llq_type_info *llq_type_info_of(uint32_t type)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (types[i].type == type)
            return &types[i];
    return NULL;
}

const char *llq_type_name(uint32_t type)
{
    const llq_type_info *ti = llq_type_info_of(type);
    return ti ? ti->name : NULL;
}

int llq_type_parse(uint32_t *out, const char *name)
{
    char list[256];
    size_t n = 0;
    for (size_t i = 0; i < N_TYPES; i++) {
        if (strcasecmp(types[i].name, name) == 0) {
            *out = types[i].type;
            return LLQ_OK;
        }
        int w = snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", types[i].name);
        if (w > 0 && (size_t)w < sizeof list - n)
            n += (size_t)w;
    }
    return llq_err(LLQ_EINVAL, "unknown tensor type '%s' (expected one of %s)", name, list);
}

int llq_type_is_quant(uint32_t type)
{
    return llq_type_is_grouped(type);
}

int llq_type_is_block(uint32_t type)
{
    const llq_type_info *ti = llq_type_info_of(type);
    return ti && ti->block_weights > 1 && ti->scale_bytes == 0;
}

int llq_type_block(uint32_t type, uint32_t *elems, uint32_t *bytes)
{
    if (!llq_type_is_block(type))
        return 0;
    const llq_type_info *ti = llq_type_info_of(type);
    if (elems)
        *elems = ti->block_weights;
    if (bytes)
        *bytes = ti->block_bytes;
    return 1;
}

int llq_type_to_ggml(uint32_t type)
{
    const llq_type_info *ti = llq_type_info_of(type);
    return ti ? ti->ggml : -1;
}

int llq_type_from_ggml(uint32_t *out, uint32_t g)
{
    for (size_t i = 0; i < N_TYPES; i++) {
        if (types[i].ggml >= 0 && (uint32_t)types[i].ggml == g) {
            *out = types[i].type;
            return LLQ_OK;
        }
    }
    return llq_err(LLQ_EUNSUPPORTED, "ggml type %u has no llq type", g);
}

int llq_type_is_grouped(uint32_t type)
{
    const llq_type_info *ti = llq_type_info_of(type);
    return ti && ti->scale_bytes != 0;
}

int llq_group_valid(uint32_t type, uint32_t group)
{
    if (llq_type_is_grouped(type))
        return group == 0 || (group <= LLQ_QGROUP_MAX && group % LLQ_QBLOCK == 0 && (group & (group - 1)) == 0);
    return llq_type_info_of(type) != NULL && group == 0;
}

void llq_group_geometry(uint32_t group, uint64_t row_len, uint64_t *glen, uint64_t *n_groups)
{
    uint64_t g = group;
    if (g == 0) { /* per-row: the whole row rounded up to whole blocks (saturating; llq_qrow_init checks) */
        g = row_len / LLQ_QBLOCK + (row_len % LLQ_QBLOCK != 0);
        g = g > UINT64_MAX / LLQ_QBLOCK ? UINT64_MAX & ~(uint64_t)(LLQ_QBLOCK - 1) : g * LLQ_QBLOCK;
        if (g == 0)
            g = LLQ_QBLOCK;
    }
    *glen = g;
    *n_groups = row_len / g + (row_len % g != 0);
}

int llq_qrow_init(llq_qrow *out, uint32_t type, uint32_t group, uint64_t row_len)
{
    const llq_type_info *ti = llq_type_info_of(type);
    if (!ti || !llq_group_valid(type, group))
        return llq_err(LLQ_EINVAL, "group %u is not valid for tensor type %u", group, type);
    llq_qrow q = {0};
    uint64_t n_blocks, side;
    if (ti->scale_bytes) {
        if (row_len > UINT64_MAX / 4)
            goto overflow;
        llq_group_geometry(group, row_len, &q.glen, &q.n_groups);
        q.padded = q.glen * q.n_groups; /* < row_len + glen: fits after the check above */
        n_blocks = q.padded / LLQ_QBLOCK;
        if (llq_mul_u64(&q.scales, n_blocks, ti->block_bytes) ||
            llq_mul_u64(&side, q.n_groups, (uint64_t)ti->scale_bytes + ti->zero_bytes) ||
            llq_add_u64(&q.row_bytes, q.scales, side))
            goto overflow;
        q.zeros = ti->zero_bytes ? q.scales + q.n_groups * ti->scale_bytes : 0;
    } else {
        if (row_len % ti->block_weights)
            return llq_err(LLQ_EINVAL, "a row of %llu elements is not whole %s blocks of %u",
                           (unsigned long long)row_len, ti->name, ti->block_weights);
        q.glen = ti->block_weights;
        q.n_groups = row_len / ti->block_weights;
        q.padded = row_len;
        if (llq_mul_u64(&q.row_bytes, q.n_groups, ti->block_bytes))
            goto overflow;
    }
    *out = q;
    return LLQ_OK;
overflow:
    return llq_err(LLQ_EFORMAT, "row of %llu elements of type %s is too large", (unsigned long long)row_len,
                   ti->name);
}

int llq_row_bytes(uint64_t *out, uint32_t type, uint32_t group, uint64_t row_len)
{
    llq_qrow q;
    int err = llq_qrow_init(&q, type, group, row_len);
    if (err == LLQ_OK)
        *out = q.row_bytes;
    return err;
}

static float rd_f16(const uint8_t *p)
{
    return llq_f16_to_f32((uint16_t)(p[0] | (p[1] << 8)));
}

/* One group's nibble value for element k of the row: chunks of 32, low nibbles first half, high second. */
static inline unsigned nibble(const uint8_t *nib, uint64_t k)
{
    uint8_t b = nib[(k / LLQ_QBLOCK) * LLQ_Q4_BLOCK_BYTES + (k % LLQ_Q4_BLOCK_BYTES)];
    return (k % LLQ_QBLOCK) < LLQ_Q4_BLOCK_BYTES ? (b & 0x0f) : (b >> 4);
}

void llq_row_to_f32(float *out, const void *row, uint32_t type, uint32_t group, uint64_t row_len)
{
    const uint8_t *p = row;
    uint64_t k = 0;
    uint32_t be;
    llq_qrow q;
    if (llq_type_is_grouped(type) && llq_qrow_init(&q, type, group, row_len))
        type = UINT32_MAX; /* unknown geometry: zeros below */
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
        const int8_t *c = (const int8_t *)p;
        for (uint64_t j = 0; j < q.n_groups; j++) {
            float s = rd_f16(p + q.scales + 2 * j);
            uint64_t end = k + q.glen < row_len ? k + q.glen : row_len;
            for (; k < end; k++)
                out[k] = s * (float)c[k];
        }
        return;
    }
    case LLQ_Q4:
    case LLQ_Q4A: {
        for (uint64_t j = 0; j < q.n_groups; j++) {
            float s = rd_f16(p + q.scales + 2 * j);
            int zero = type == LLQ_Q4 ? 8 : p[q.zeros + j];
            uint64_t end = k + q.glen < row_len ? k + q.glen : row_len;
            for (; k < end; k++)
                out[k] = s * (float)((int)nibble(p, k) - zero);
        }
        return;
    }
    default: /* block types; unknown types never reach here from a validated file: leave zeros */
        if (llq_type_block(type, &be, NULL)) {
            llq_block_to_f32(out, p, type, row_len / be);
            return;
        }
        memset(out, 0, row_len * sizeof *out);
        return;
    }
}
