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

/* Every ggml type id by name, so that a refusal names it (ids 4, 5 and 31..33, 36..38 were removed from ggml). */
static const char *const NAMES[] = {
    [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [4] = "Q4_2 (removed)", [5] = "Q4_3 (removed)",
    [6] = "Q5_0", [7] = "Q5_1", [8] = "Q8_0", [9] = "Q8_1", [10] = "Q2_K", [11] = "Q3_K", [12] = "Q4_K",
    [13] = "Q5_K", [14] = "Q6_K", [15] = "Q8_K", [16] = "IQ2_XXS", [17] = "IQ2_XS", [18] = "IQ3_XXS",
    [19] = "IQ1_S", [20] = "IQ4_NL", [21] = "IQ3_S", [22] = "IQ2_S", [23] = "IQ4_XS", [24] = "I8", [25] = "I16",
    [26] = "I32", [27] = "I64", [28] = "F64", [29] = "IQ1_M", [30] = "BF16", [31] = "Q4_0_4_4 (removed)",
    [32] = "Q4_0_4_8 (removed)", [33] = "Q4_0_8_8 (removed)", [34] = "TQ1_0", [35] = "TQ2_0",
    [36] = "IQ4_NL_4_4 (removed)", [37] = "IQ4_NL_4_8 (removed)", [38] = "IQ4_NL_8_8 (removed)", [39] = "MXFP4",
};

int gguf_type_known(uint32_t ggml)
{
    return ggml < sizeof NAMES / sizeof NAMES[0] && NAMES[ggml];
}

const char *gguf_type_name(uint32_t ggml)
{
    return gguf_type_known(ggml) ? NAMES[ggml] : "?";
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
    {"attn_q.bias", "attention.wq.bias"},
    {"attn_k.weight", "attention.wk.weight"},
    {"attn_k.bias", "attention.wk.bias"},
    {"attn_v.weight", "attention.wv.weight"},
    {"attn_v.bias", "attention.wv.bias"},
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

/* ---- GPT-2's bytes-to-unicode map ---- */

static int printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

/* Code point standing for byte b: itself when printable, else U+0100 + its rank among the 68 others, which are
 * 0x00..0x20 (33), 0x7F..0xA0 (34) and 0xAD. */
static unsigned byte_cp(unsigned b)
{
    if (printable(b))
        return b;
    return 256 + (b <= 0x20 ? b : b <= 0xA0 ? 33 + (b - 0x7F) : 67);
}

/* The byte a code point stands for, or -1. */
static int cp_byte(unsigned cp)
{
    if (cp < 256)
        return printable(cp) ? (int)cp : -1;
    unsigned k = cp - 256;
    return k < 33 ? (int)k : k < 67 ? (int)(0x7F + k - 33) : k == 67 ? 0xAD : -1;
}

size_t gguf_bytes_to_unicode(char *out, const uint8_t *in, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned cp = byte_cp(in[i]);
        if (cp < 0x80) {
            out[k++] = (char)cp;
        } else { /* < 0x800: two bytes */
            out[k++] = (char)(0xC0 | cp >> 6);
            out[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return k;
}

long gguf_unicode_to_bytes(uint8_t *out, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        if (p[i] < 0x80) {
            cp = p[i++];
        } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            cp = (unsigned)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1;
        }
        int b = cp_byte(cp);
        if (b < 0)
            return -1;
        out[k++] = (uint8_t)b;
    }
    return (long)k;
}

/* ---- tokenizer.ggml.pre ---- */

#define BL_NOREGEX "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}"
#define BL_REGEX "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}"
#define SPLIT(re) "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"" re "\"},\"behavior\":\"Isolated\",\"invert\":false}"

/* The regexes are the tokenizer.json files' own (JSON-escaped); llama.cpp runs the same splits (llama-vocab.cpp:
 * LLAMA3, QWEN2, SMOLLM, GPT2). */
static const gguf_pre PRE[] = {
    {"llama-bpe",
     "{\"type\":\"Sequence\",\"pretokenizers\":[" SPLIT("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|"
     "\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+") "," BL_NOREGEX "]}",
     "null", "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}", 1},
    {"qwen2",
     "{\"type\":\"Sequence\",\"pretokenizers\":[" SPLIT("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|"
     "\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+") "," BL_NOREGEX "]}",
     "{\"type\":\"NFC\"}", "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}", 0},
    {"smollm",
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true}," BL_REGEX "]}", "null",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}", 0},
    {"gpt-2", BL_REGEX, "null", "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     0},
};

const gguf_pre *gguf_pre_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof PRE / sizeof PRE[0]; i++)
        if (strlen(PRE[i].name) == len && !memcmp(PRE[i].name, name, len))
            return &PRE[i];
    return NULL;
}

/* Compares a against b (NUL-terminated) skipping every "trim_offsets":true|false field of a. */
static int same_but_trim(const char *a, const char *b)
{
    static const char *const skip[] = {",\"trim_offsets\":true", ",\"trim_offsets\":false"};
    while (*a || *b) {
        int skipped = 0;
        for (int k = 0; k < 2 && !skipped; k++)
            if (!strncmp(a, skip[k], strlen(skip[k])))
                a += strlen(skip[k]), skipped = 1;
        if (skipped)
            continue;
        if (*a != *b)
            return 0;
        a++, b++;
    }
    return 1;
}

const gguf_pre *gguf_pre_identify(const char *pre_json)
{
    for (size_t i = 0; i < sizeof PRE / sizeof PRE[0]; i++)
        if (same_but_trim(pre_json, PRE[i].pre_tokenizer))
            return &PRE[i];
    return NULL;
}

void gguf_pre_list(char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof PRE / sizeof PRE[0] && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", PRE[i].name);
}
