/* tiktoken.c — Meta's Llama-3 tokenizer.model in tiktoken format: one line per token, "base64(bytes) rank",
 * ranks 0..n-1 each exactly once. The 256 special tokens are not in the file: they get ids n..n+255 and the
 * names of Meta's reference code (llama3's tokenizer.py, or llama-models' for 3.1+). Encoding is tiktoken's:
 * the Llama-3 regex, then byte-pair merges where a pair's priority is the rank of its concatenation and a
 * pre-token that is itself a token is taken whole (bpe.c with rank_merges and ignore_merges). */
#include "tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SPECIAL 256

static const char kLlama3Regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* The special token names of Meta's reference code; reserved ones are numbered from *first_reserved. */
static const char *const kNames3[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                      "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
                                      "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
                                      "<|reserved_special_token_4|>", "<|eot_id|>"};
static const char *const kNames31[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                       "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
                                       "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>",
                                       "<|eot_id|>", "<|python_tag|>", "<|image|>"};

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding; returns the decoded length or -1. dst has room for n * 3 / 4 bytes. */
static long b64decode(const char *s, size_t n, unsigned char *dst)
{
    if (n == 0 || n % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64val(c)) < 0) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        dst[o++] = (unsigned char)(w >> 16);
        if (pad < 2)
            dst[o++] = (unsigned char)(w >> 8);
        if (pad < 1)
            dst[o++] = (unsigned char)w;
    }
    return (long)o;
}

int llq_tiktoken_parse(llq_tokenizer **out, const void *buf, size_t len, int names, const char *name)
{
    *out = NULL;
    const char *p = buf, *end = p + len;
    size_t lines = 0;
    for (const char *q = p; q < end; q++)
        lines += *q == '\n';
    if (len && end[-1] != '\n')
        lines++;
    if (lines == 0 || lines > LLQ_TOK_MAX_VOCAB - N_SPECIAL)
        return llq_err(lines ? LLQ_ELIMIT : LLQ_EFORMAT, "%s: %zu tiktoken lines (1..%u allowed)", name, lines,
                       LLQ_TOK_MAX_VOCAB - N_SPECIAL);
    uint32_t n = (uint32_t)lines, nv = n + N_SPECIAL;
    llq_bpe_spec s = {.kind = LLQ_TOKKIND_TIKTOKEN, .n_vocab = nv, .rank_merges = 1, .byte_level = 1,
                      .ignore_merges = 1, .unk_id = -1, .bos_id = (int32_t)n, .eos_id = (int32_t)n + 1,
                      .pad_id = -1, .n_added = N_SPECIAL};
    char **pieces = calloc(nv, sizeof *pieces);
    uint64_t *lens = calloc(nv, sizeof *lens);
    int32_t *types = calloc(nv, sizeof *types);
    uint32_t *added = calloc(N_SPECIAL, sizeof *added), *flags = calloc(N_SPECIAL, sizeof *flags);
    char *pre = malloc(2 * sizeof kLlama3Regex + 512);
    int rc = 0;
    if (!pieces || !lens || !types || !added || !flags || !pre) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    for (size_t line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        const char *sp = memchr(p, ' ', (size_t)(le - p));
        const char *ce = le > p && le[-1] == '\r' ? le - 1 : le;
        if (!sp || sp == p || sp + 1 >= ce || (size_t)(sp - p) > 4 * ((LLQ_TOK_MAX_PIECE + 2) / 3)) {
            rc = llq_err(LLQ_EFORMAT, "%s: line %zu is not \"base64 rank\"", name, line);
            goto done;
        }
        uint64_t rank = 0;
        for (const char *d = sp + 1; d < ce; d++) {
            if (*d < '0' || *d > '9' || rank > (uint64_t)UINT32_MAX) {
                rc = llq_err(LLQ_EFORMAT, "%s: line %zu: bad rank", name, line);
                goto done;
            }
            rank = rank * 10 + (uint64_t)(*d - '0');
        }
        if (rank >= n || pieces[rank]) {
            rc = llq_err(LLQ_EFORMAT, "%s: line %zu: rank %llu %s", name, line, (unsigned long long)rank,
                         rank >= n ? "out of range (ranks must be 0..lines-1)" : "given twice");
            goto done;
        }
        unsigned char tok[LLQ_TOK_MAX_PIECE + 3];
        long tn = b64decode(p, (size_t)(sp - p), tok);
        if (tn <= 0 || tn > LLQ_TOK_MAX_PIECE) {
            rc = llq_err(LLQ_EFORMAT, "%s: line %zu: bad base64 token", name, line);
            goto done;
        }
        if (!(pieces[rank] = malloc((size_t)tn))) {
            rc = llq_err(LLQ_ENOMEM, "%s: out of memory", name);
            goto done;
        }
        memcpy(pieces[rank], tok, (size_t)tn);
        lens[rank] = (uint64_t)tn;
        types[rank] = LLQ_PIECE_NORMAL;
        p = nl ? nl + 1 : end;
    }
    const char *const *named = names == LLQ_TIKTOKEN_LLAMA31 ? kNames31 : kNames3;
    int n_named = names == LLQ_TIKTOKEN_LLAMA31 ? 12 : 10, first_reserved = names == LLQ_TIKTOKEN_LLAMA31 ? 2 : 5;
    for (int i = 0; i < N_SPECIAL; i++) {
        char tmp[64];
        if (i < n_named)
            snprintf(tmp, sizeof tmp, "%s", named[i]);
        else
            snprintf(tmp, sizeof tmp, "<|reserved_special_token_%d|>", first_reserved + i - n_named);
        size_t tl = strlen(tmp);
        if (!(pieces[n + i] = malloc(tl))) {
            rc = llq_err(LLQ_ENOMEM, "%s: out of memory", name);
            goto done;
        }
        memcpy(pieces[n + i], tmp, tl);
        lens[n + i] = tl;
        types[n + i] = LLQ_PIECE_CONTROL;
        added[i] = n + (uint32_t)i;
        flags[i] = LLQ_ADDED_SPECIAL;
    }
    /* the pre-tokenizer as tokenizer.json writes it; the regex's backslashes doubled for JSON */
    static const char head[] = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"";
    static const char tail[] = "\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\","
                               "\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}";
    size_t o = sizeof head - 1;
    memcpy(pre, head, o);
    for (const char *r = kLlama3Regex; *r; r++) {
        if (*r == '\\' || *r == '"')
            pre[o++] = '\\';
        pre[o++] = *r;
    }
    memcpy(pre + o, tail, sizeof tail);
    s.pieces = (const char *const *)pieces;
    s.lens = lens;
    s.types = types;
    s.added_ids = added;
    s.added_flags = flags;
    s.normalizer = "null";
    s.pre_tokenizer = pre;
    s.decoder = "{\"type\":\"ByteLevel\"}";
    rc = llq_bpe_new(out, &s, name);
done:
    for (uint32_t i = 0; pieces && i < nv; i++)
        free(pieces[i]);
    free(pieces);
    free(lens);
    free(types);
    free(added);
    free(flags);
    free(pre);
    return rc;
}
