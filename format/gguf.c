/* gguf.c — what the GGUF reader and writer share: ggml's type table with each type's llq counterpart, and
 * llama.cpp's tensor names (format/gguf.h). */
#include "gguf.h"

#include <stdio.h>
#include <string.h>

uint32_t gguf_value_size(uint32_t t)
{
    static const uint8_t sz[GV_N] = {[GV_U8] = 1, [GV_I8] = 1, [GV_U16] = 2, [GV_I16] = 2, [GV_U32] = 4,
                                     [GV_I32] = 4, [GV_F32] = 4, [GV_BOOL] = 1, [GV_U64] = 8, [GV_I64] = 8,
                                     [GV_F64] = 8};
    return t < GV_N ? sz[t] : 0;
}

/* Every ggml type by name, so that a refusal names it; block geometry for those llq reads or writes. */
static const gguf_type TYPES[] = {
    {GT_F32, "F32", 1, 4, GC_SAME, LLQ_F32, 0},
    {GT_F16, "F16", 1, 2, GC_SAME, LLQ_F16, 0},
    {GT_Q4_0, "Q4_0", 32, 18, GC_Q4_0, LLQ_Q4, 32},
    {GT_Q4_1, "Q4_1", 32, 20, GC_NONE, 0, 0},
    {4, "Q4_2 (removed from ggml)", 0, 0, GC_NONE, 0, 0},
    {5, "Q4_3 (removed from ggml)", 0, 0, GC_NONE, 0, 0},
    {GT_Q5_0, "Q5_0", 32, 22, GC_NONE, 0, 0},
    {GT_Q5_1, "Q5_1", 32, 24, GC_NONE, 0, 0},
    {GT_Q8_0, "Q8_0", 32, 34, GC_Q8_0, LLQ_Q8, 32},
    {9, "Q8_1", 32, 36, GC_NONE, 0, 0},
    {GT_Q2_K, "Q2_K", 256, 84, GC_NONE, 0, 0},
    {GT_Q3_K, "Q3_K", 256, 110, GC_NONE, 0, 0},
    {GT_Q4_K, "Q4_K", 256, 144, GC_NONE, 0, 0},
    {GT_Q5_K, "Q5_K", 256, 176, GC_NONE, 0, 0},
    {GT_Q6_K, "Q6_K", 256, 210, GC_NONE, 0, 0},
    {15, "Q8_K", 256, 292, GC_NONE, 0, 0},
    {16, "IQ2_XXS", 0, 0, GC_NONE, 0, 0},
    {17, "IQ2_XS", 0, 0, GC_NONE, 0, 0},
    {18, "IQ3_XXS", 0, 0, GC_NONE, 0, 0},
    {19, "IQ1_S", 0, 0, GC_NONE, 0, 0},
    {GT_IQ4_NL, "IQ4_NL", 32, 18, GC_NONE, 0, 0},
    {21, "IQ3_S", 0, 0, GC_NONE, 0, 0},
    {22, "IQ2_S", 0, 0, GC_NONE, 0, 0},
    {GT_IQ4_XS, "IQ4_XS", 256, 136, GC_NONE, 0, 0},
    {24, "I8", 1, 1, GC_NONE, 0, 0},
    {25, "I16", 1, 2, GC_NONE, 0, 0},
    {26, "I32", 1, 4, GC_NONE, 0, 0},
    {27, "I64", 1, 8, GC_NONE, 0, 0},
    {28, "F64", 1, 8, GC_NONE, 0, 0},
    {29, "IQ1_M", 0, 0, GC_NONE, 0, 0},
    {GT_BF16, "BF16", 1, 2, GC_SAME, LLQ_BF16, 0},
    {34, "TQ1_0", 0, 0, GC_NONE, 0, 0},
    {35, "TQ2_0", 0, 0, GC_NONE, 0, 0},
    {39, "MXFP4", 0, 0, GC_NONE, 0, 0},
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

const gguf_type *gguf_type_of(uint32_t ggml)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (TYPES[i].ggml == ggml)
            return &TYPES[i];
    return NULL;
}

const gguf_type *gguf_type_for_llq(uint32_t type, uint32_t group)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (TYPES[i].conv != GC_NONE && TYPES[i].llq == type && TYPES[i].group == group)
            return &TYPES[i];
    return NULL;
}

int gguf_row_bytes(uint64_t *out, const gguf_type *t, uint64_t ne0)
{
    if (!t->blk || ne0 % t->blk)
        return -1;
    return llq_mul_u64(out, ne0 / t->blk, t->bytes) ? -1 : 0;
}

/* ---- names ---- */

static const struct {
    const char *gguf, *llq;
} GLOBAL_NAMES[] = {
    {"token_embd.weight", "tok_embeddings.weight"},
    {"output_norm.weight", "norm.weight"},
    {"output.weight", "output.weight"},
};

/* Per block: "blk.N.<gguf>" <-> "layers.N.<llq>". */
static const struct {
    const char *gguf, *llq;
} LAYER_NAMES[] = {
    {"attn_norm.weight", "attention_norm.weight"},
    {"attn_q.weight", "attention.wq.weight"},
    {"attn_k.weight", "attention.wk.weight"},
    {"attn_v.weight", "attention.wv.weight"},
    {"attn_output.weight", "attention.wo.weight"},
    {"ffn_norm.weight", "ffn_norm.weight"},
    {"ffn_gate.weight", "feed_forward.w1.weight"},
    {"ffn_down.weight", "feed_forward.w2.weight"},
    {"ffn_up.weight", "feed_forward.w3.weight"},
};

/* Parses "<prefix><decimal layer>.<rest>" (layer < 1e6, no leading zeros); returns rest or NULL. */
static const char *layer_of(const char *name, const char *prefix, unsigned *layer)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0)
        return NULL;
    const char *p = name + n;
    unsigned v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 6 || (digits == 1 && v == 0))
            return NULL;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (!digits || *p != '.')
        return NULL;
    *layer = v;
    return p + 1;
}

static int map_name(char *out, size_t cap, const char *name, int to_llq)
{
    for (size_t i = 0; i < sizeof GLOBAL_NAMES / sizeof GLOBAL_NAMES[0]; i++)
        if (!strcmp(name, to_llq ? GLOBAL_NAMES[i].gguf : GLOBAL_NAMES[i].llq))
            return snprintf(out, cap, "%s", to_llq ? GLOBAL_NAMES[i].llq : GLOBAL_NAMES[i].gguf) < (int)cap;
    unsigned l;
    const char *rest = layer_of(name, to_llq ? "blk." : "layers.", &l);
    if (!rest)
        return 0;
    for (size_t i = 0; i < sizeof LAYER_NAMES / sizeof LAYER_NAMES[0]; i++)
        if (!strcmp(rest, to_llq ? LAYER_NAMES[i].gguf : LAYER_NAMES[i].llq))
            return snprintf(out, cap, to_llq ? "layers.%u.%s" : "blk.%u.%s", l,
                            to_llq ? LAYER_NAMES[i].llq : LAYER_NAMES[i].gguf) < (int)cap;
    return 0;
}

int gguf_name_to_llq(char *out, size_t cap, const char *gguf_name)
{
    return map_name(out, cap, gguf_name, 1);
}

int gguf_name_from_llq(char *out, size_t cap, const char *llq_name)
{
    return map_name(out, cap, llq_name, 0);
}
