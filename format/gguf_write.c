/* gguf_write.c — llq_gguf_write (include/llq/gguf.h): an llq_file (a .llq file or a GGUF view) as GGUF v3.
 * The header (key/value pairs and tensor infos) is built in memory — every size is known from the tensor table —
 * then the tensor data is streamed row by row through the writer's temp file, converted to ggml's blocks. */
#include "fileint.h"
#include "gguf.h"
#include "llq/gguf.h"
#include "llq/hparams.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ALIGN GGUF_ALIGN_DEFAULT

/* llama.cpp's LLAMA_FTYPE_* for a model whose matrices are mostly of one ggml type (the _M variants for the
 * K-quants, as llama-quantize names its mixes). */
static uint32_t ftype_of(uint32_t ggml)
{
    static const uint8_t ft[] = {[0] = 0, [1] = 1, [2] = 2, [3] = 3, [6] = 8, [7] = 9, [8] = 7, [10] = 10,
                                 [11] = 12, [12] = 15, [13] = 17, [14] = 18, [20] = 25, [23] = 30, [30] = 32};
    return ggml < sizeof ft ? ft[ggml] : 0;
}

/* ---- the key/value encoder ---- */

typedef struct enc {
    fmt_bytes b;
    uint64_t n_kv;
    int err;
    int lean; /* llq_gguf_opts.lean */
} enc;

static void raw(enc *e, const void *p, size_t n)
{
    if (!e->err)
        e->err = fmt_put(&e->b, p, n);
}
static void u32_(enc *e, uint32_t v) { raw(e, &v, 4); }
static void u64_(enc *e, uint64_t v) { raw(e, &v, 8); }
static void str_(enc *e, const char *s, uint64_t n)
{
    u64_(e, n);
    raw(e, s, (size_t)n);
}
static void key(enc *e, const char *k, uint32_t type)
{
    str_(e, k, strlen(k));
    u32_(e, type);
    e->n_kv++;
}
static void kv_str(enc *e, const char *k, const char *s, uint64_t n) { key(e, k, GV_STR); str_(e, s, n); }
static void kv_u32(enc *e, const char *k, uint32_t v) { key(e, k, GV_U32); u32_(e, v); }
static void kv_f32(enc *e, const char *k, float v) { key(e, k, GV_F32); raw(e, &v, 4); }
static void kv_bool(enc *e, const char *k, int v)
{
    uint8_t b = v != 0;
    key(e, k, GV_BOOL);
    raw(e, &b, 1);
}

/* llq metadata value type -> GGUF value type (0 with *ok = 0 if none). */
static uint32_t gv_of(uint32_t t, int *ok)
{
    static const uint32_t map[] = {[LLQ_META_U32] = GV_U32, [LLQ_META_I32] = GV_I32, [LLQ_META_U64] = GV_U64,
                                   [LLQ_META_I64] = GV_I64, [LLQ_META_F32] = GV_F32, [LLQ_META_F64] = GV_F64,
                                   [LLQ_META_BOOL] = GV_BOOL, [LLQ_META_STR] = GV_STR, [LLQ_META_ARR] = GV_ARR};
    *ok = t >= LLQ_META_U32 && t <= LLQ_META_ARR;
    return *ok ? map[t] : 0;
}

/* Copies llq metadata entry m as GGUF key k (numbers keep their bytes; strings gain u64 lengths). */
static void kv_copy(enc *e, const char *k, const llq_meta *m)
{
    int ok;
    uint32_t t = gv_of(m->type, &ok);
    if (!ok)
        return; /* a value type of a later minor version: not copied */
    if (t == GV_STR) {
        kv_str(e, k, (const char *)m->value, m->value_size);
        return;
    }
    if (t != GV_ARR) {
        key(e, k, t);
        raw(e, m->value, (size_t)m->value_size);
        return;
    }
    uint32_t et = gv_of(m->elem_type, &ok);
    key(e, k, GV_ARR);
    u32_(e, et);
    u64_(e, m->count);
    if (et != GV_STR) {
        raw(e, m->value + 12, (size_t)(m->value_size - 12));
        return;
    }
    for (uint64_t i = 0; i < m->count && !e->err; i++) {
        const char *s;
        uint64_t n;
        llq_meta_arr_str(m, i, &s, &n);
        str_(e, s, n);
    }
}

/* ---- plan ---- */

/* How an llq type becomes a ggml type: the same bytes, or llq's grouped rows re-blocked. */
enum { AS_IS = 0, TO_Q8_0, TO_Q4_0, TO_Q4_1 };

typedef struct plan_t {
    const llq_tensor *t;    /* NULL for rope_freqs.weight (synth) */
    const uint8_t *synth;   /* rope_freqs.weight: head_dim / 2 f32 divisors (owned by the plan's caller) */
    uint32_t permute;       /* q/k of a NEOX-rope architecture: heads whose rows go from Meta's to HF's order */
    uint32_t hd;            /* head size, with permute */
    char name[LLQ_MAX_NAME + 1];
    int conv;               /* AS_IS, TO_* */
    uint32_t ggml;          /* ggml type id written */
    uint32_t blk_bytes;     /* TO_*: bytes of one 32-element ggml block */
    uint64_t row_bytes;     /* GGUF bytes per row */
    uint64_t size, off;     /* GGUF bytes, offset in the data section */
} plan_t;

/* What a file needs for this tensor to export, for refusals (in the library's terms: the tools name their flags). */
static int refuse(const llq_tensor *t, const char *why)
{
    return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' (%s, group %u, rows of %llu): %s; GGUF takes q8, q4 or q4a "
                   "in groups of 32 (rows a multiple of 32), or f32 / f16 / bf16",
                   t->name, llq_type_name(t->type) ? llq_type_name(t->type) : "?", t->group,
                   (unsigned long long)t->row_len, why);
}

/* GGUF type for tensor t: its own when ggml has the layout, else q8/q4/q4a re-blocked (exact values, or Q4_1's
 * f16 min for q4a). */
static int pick_type(plan_t *p)
{
    const llq_tensor *t = p->t;
    int g = llq_type_to_ggml(t->type);
    uint32_t to = 0, elems;
    if (g >= 0) {
        p->conv = AS_IS;
        p->ggml = (uint32_t)g;
        p->row_bytes = t->row_bytes;
        p->size = t->size;
        return LLQ_OK;
    }
    switch (t->type) {
    case LLQ_Q8: p->conv = TO_Q8_0, to = LLQ_Q8_0; break;
    case LLQ_Q4: p->conv = TO_Q4_0, to = LLQ_Q4_0; break;
    case LLQ_Q4A: p->conv = TO_Q4_1, to = LLQ_Q4_1; break;
    default: return refuse(t, "no GGUF type holds it");
    }
    if (t->row_len % LLQ_QBLOCK)
        return refuse(t, "GGUF's 32-element blocks need rows that are a multiple of 32");
    p->ggml = (uint32_t)llq_type_to_ggml(to);
    if (!llq_type_block(to, &elems, &p->blk_bytes) || elems != LLQ_QBLOCK || llq_row_bytes(&p->row_bytes, to, 0, t->row_len) ||
        llq_mul_u64(&p->size, p->row_bytes, t->n_rows))
        return refuse(t, "its size overflows");
    return LLQ_OK;
}

/* Tensors in the canonical order of the architecture table (format/hparams.c), llama.cpp's names: rope_freqs
 * (llama3 scaling) first as llama.cpp's converter writes it, token_embd, each block (attn_norm, attn_q (+bias),
 * attn_k (+bias), attn_v (+bias), attn_output, ffn_norm, ffn_gate, ffn_down, ffn_up), output_norm, output (absent
 * when tied). neox: q/k rows (and biases) are written in Hugging Face's order (llama.cpp's NEOX rope). */
static int plan_tensors(plan_t **out, size_t *n_out, const llq_file *f, const llq_hparams *hp, int neox,
                        const uint8_t *rope_freqs)
{
    uint32_t n_slots = llq_arch_n_slots(hp->n_layers), layer;
    size_t n = 0, used = 0;
    plan_t *p = calloc((size_t)n_slots + 1, sizeof *p);
    char nm[LLQ_MAX_NAME + 1];
    int rc = LLQ_OK;
    if (!p)
        return llq_err(LLQ_ENOMEM, "out of memory");
    if (rope_freqs) {
        p[n].synth = rope_freqs;
        p[n].ggml = GT_F32;
        p[n].row_bytes = p[n].size = 4 * (uint64_t)(llq_hp_head_dim(hp) / 2);
        snprintf(p[n].name, sizeof p[n].name, "%s", GGUF_ROPE_FREQS);
        n++;
    }
    const llq_tensor *emb = llq_tensor_find(f, "tok_embeddings.weight"), *outw = llq_tensor_find(f, "output.weight");
    for (uint32_t s = 0; !rc && s < n_slots; s++) {
        const llq_arch_tensor *e = llq_arch_slot(s, hp->n_layers, &layer);
        if (!llq_arch_needed(e, hp))
            continue; /* tied: no output.weight (llama.cpp reads token_embd for the head); no biases */
        llq_arch_slot_name(nm, sizeof nm, s, hp->n_layers);
        const llq_tensor *t = llq_tensor_find(f, nm);
        if (!t) {
            rc = llq_err(LLQ_ENOTFOUND, "tensor '%s' is missing", nm);
            break;
        }
        used++;
        if (t == outw && emb && outw->data == emb->data)
            continue; /* tied (an older GGUF view with output.weight aliased): llama.cpp reads token_embd again */
        p[n].t = t;
        if (neox && e->permute) {
            p[n].permute = e->permute == 1 ? hp->n_heads : hp->n_kv_heads;
            p[n].hd = llq_hp_head_dim(hp);
        }
        gguf_name_from_llq(p[n].name, sizeof p[n].name, nm);
        rc = pick_type(&p[n]);
        if (!rc && p[n].permute && t->n_dims == 1 && (p[n].conv != AS_IS || t->type > LLQ_BF16))
            rc = refuse(t, "a bias is permuted element by element, so it must be f32, f16 or bf16");
        n++;
    }
    if (!rc && used != llq_n_tensors(f))
        for (size_t i = 0; i < llq_n_tensors(f); i++) {
            const llq_tensor *t = llq_tensor_at(f, i);
            char g[LLQ_MAX_NAME + 1];
            if (!gguf_name_from_llq(g, sizeof g, t->name)) {
                rc = llq_err(LLQ_EUNSUPPORTED, "tensor '%s' has no llama.cpp name", t->name);
                break;
            }
        }
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    *n_out = n;
    return LLQ_OK;
}

/* ---- metadata ---- */

static const llq_meta *meta(const llq_file *f, const char *k) { return llq_meta_find(f, k); }

/* The special ids (those a tokenizer has: id >= 0) and llama.cpp's add_bos/add_eos flags: a BOS is added when
 * the tokenizer has one, an EOS never. spm: the model is "llama" (SentencePiece), whose defaults in llama.cpp are
 * unknown id 0, a BOS added and no EOS; a lean file leaves out the keys that say what the default says. */
static void put_special_ids(enc *e, int spm, int32_t bos, int32_t eos, int32_t unk, int32_t pad)
{
    int dflt = e->lean && spm;
    if (bos >= 0)
        kv_u32(e, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
    if (eos >= 0)
        kv_u32(e, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
    if (unk >= 0 && !(dflt && unk == 0))
        kv_u32(e, "tokenizer.ggml.unknown_token_id", (uint32_t)unk);
    if (pad >= 0)
        kv_u32(e, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
    if (!(dflt && bos >= 0))
        kv_bool(e, "tokenizer.ggml.add_bos_token", bos >= 0);
    if (!dflt)
        kv_bool(e, "tokenizer.ggml.add_eos_token", 0);
}

/* SentencePiece's space prefix (llama.cpp's default for model "llama": on). */
static void put_space_prefix(enc *e, int on)
{
    if (!(e->lean && on))
        kv_bool(e, "tokenizer.ggml.add_space_prefix", on);
}

/* tokenizer.* (SentencePiece) -> tokenizer.ggml.* (model "llama"). Returns 1 if written, 0 if f has none. */
static int put_spm(enc *e, const llq_file *f, uint32_t n_vocab)
{
    const char *model;
    uint64_t mlen;
    int32_t bos, eos, unk, pad;
    int dummy = 1;
    const llq_meta *pieces = meta(f, "tokenizer.pieces"), *scores = meta(f, "tokenizer.scores"),
                   *types = meta(f, "tokenizer.types");
    if (llq_meta_get_str(f, "tokenizer.model", &model, &mlen) || mlen != 13 || memcmp(model, "sentencepiece", 13))
        return 0;
    if (!pieces || !scores || !types || pieces->type != LLQ_META_ARR || pieces->elem_type != LLQ_META_STR ||
        scores->type != LLQ_META_ARR || scores->elem_type != LLQ_META_F32 || scores->count != pieces->count ||
        types->type != LLQ_META_ARR || types->elem_type != LLQ_META_I32 || types->count != pieces->count ||
        llq_meta_get_i32(f, "tokenizer.bos_id", &bos) || llq_meta_get_i32(f, "tokenizer.eos_id", &eos) ||
        llq_meta_get_i32(f, "tokenizer.unk_id", &unk) || llq_meta_get_i32(f, "tokenizer.pad_id", &pad))
        return llq_err(LLQ_EFORMAT, "the tokenizer metadata is incomplete");
    if (pieces->count != n_vocab)
        return llq_err(LLQ_EUNSUPPORTED, "the SentencePiece tokenizer has %llu pieces for %u embedding rows; llama.cpp "
                       "needs one piece per row", (unsigned long long)pieces->count, n_vocab);
    llq_meta_get_bool(f, "tokenizer.add_dummy_prefix", &dummy);
    static const char llama[] = "llama", pre[] = "default";
    kv_str(e, "tokenizer.ggml.model", llama, sizeof llama - 1);
    kv_str(e, "tokenizer.ggml.pre", pre, sizeof pre - 1);
    kv_copy(e, "tokenizer.ggml.tokens", pieces);
    kv_copy(e, "tokenizer.ggml.scores", scores);
    kv_copy(e, "tokenizer.ggml.token_type", types);
    put_special_ids(e, 1, bos, eos, unk, pad);
    put_space_prefix(e, dummy);
    return 1;
}


/* An llq string/number array key, checked. */
static const llq_meta *arr(const llq_file *f, const char *k, uint32_t elem, uint64_t count)
{
    const llq_meta *m = meta(f, k);
    return m && m->type == LLQ_META_ARR && m->elem_type == elem && (count == UINT64_MAX || m->count == count) ? m : NULL;
}

/* A string key as a NUL-terminated copy into buf (cap bytes); 0 if absent, too long or holding a NUL. */
static int cstr(const llq_file *f, const char *k, char *buf, size_t cap)
{
    const char *s;
    uint64_t n;
    if (llq_meta_get_str(f, k, &s, &n) || n >= cap || memchr(s, 0, (size_t)n))
        return 0;
    memcpy(buf, s, (size_t)n);
    buf[n] = 0;
    return 1;
}

/* FNV-1a of n bytes. */
static uint32_t fnv(const char *s, uint64_t n)
{
    uint32_t h = 2166136261u;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* A SentencePiece-style tokenizer.json (TinyLlama's, Mistral's: pieces with U+2581 for a space, <0xNN> byte pieces,
 * byte fallback; Metaspace with prepend_scheme first/always and no split, or the legacy Prepend + Replace
 * normalizer) -> model "llama". llama.cpp's SentencePiece tokenizer merges the adjacent pair whose concatenation has
 * the highest score; a piece gets −(rank of the first merge that makes it), pieces no merge makes rank below all,
 * so that llama.cpp merges in the tokenizer.json's order. add_space_prefix: a space is prepended (Metaspace's
 * "first"; llama.cpp also prepends after a special token when it parses them). */
static int put_spm_hf(enc *e, const llq_file *f, uint32_t n_vocab, const char *pre_json, const char *norm,
                      const llq_meta *pieces, const llq_meta *types, int32_t bos, int32_t eos, int32_t unk,
                      int32_t pad, int fallback, int rank)
{
    static const char meta_first[] = "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":\"first\","
                                     "\"split\":false}",
                      meta_always[] = "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":"
                                      "\"always\",\"split\":false}",
                      legacy[] = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\xe2\x96\x81\"},"
                                 "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xe2\x96\x81\"}]}";
    int meta_ok = !strcmp(norm, "null") && (!strcmp(pre_json, meta_first) || !strcmp(pre_json, meta_always));
    int legacy_ok = !strcmp(norm, legacy) && !strcmp(pre_json, "null");
    const llq_meta *merges = arr(f, "tokenizer.bpe.merges", LLQ_META_U32, UINT64_MAX);
    if (!(meta_ok || legacy_ok) || !fallback || rank || !merges || merges->count % 2)
        return llq_err(LLQ_EUNSUPPORTED, "GGUF output of this non-byte-level tokenizer.json is not implemented: llq "
                       "writes the SentencePiece-style ones (Metaspace prepending U+2581 first or always without "
                       "splitting, or the legacy Prepend + Replace normalizer, with byte fallback) as model 'llama'");
    if (pieces->count != n_vocab)
        return llq_err(LLQ_EUNSUPPORTED, "the tokenizer has %llu pieces for %u embedding rows; llama.cpp needs one "
                       "piece per row", (unsigned long long)pieces->count, n_vocab);
    uint64_t n = pieces->count, nm = merges->count / 2;
    uint32_t mask = 1;
    while (mask < 2 * n)
        mask <<= 1;
    int32_t *tab = malloc((size_t)mask * sizeof *tab);
    float *score = malloc((size_t)n * sizeof *score);
    if (!tab || !score) {
        free(tab), free(score);
        return llq_err(LLQ_ENOMEM, "out of memory");
    }
    mask--;
    for (uint32_t i = 0; i <= mask; i++)
        tab[i] = -1;
    const char *pc, *pl, *pr;
    uint64_t plen, ll, rl;
    int rc = LLQ_OK;
    for (uint64_t i = 0; i < n && !rc; i++) {
        score[i] = -(float)(nm + i); /* below every merge result */
        if (llq_meta_arr_str(pieces, i, &pc, &plen))
            rc = llq_err(LLQ_EFORMAT, "tokenizer piece %llu is unreadable", (unsigned long long)i);
        uint32_t h = fnv(pc, plen) & mask;
        while (!rc && tab[h] >= 0)
            h = (h + 1) & mask;
        if (!rc)
            tab[h] = (int32_t)i;
    }
    for (uint64_t m = nm; !rc && m-- > 0;) { /* backwards: the first merge making a piece sets its score last */
        double a = llq_meta_arr_num(merges, 2 * m), b = llq_meta_arr_num(merges, 2 * m + 1);
        char cat[2 * GGUF_PIECE_MAX];
        if (!(a >= 0 && a < (double)n && b >= 0 && b < (double)n) || llq_meta_arr_str(pieces, (uint64_t)a, &pl, &ll) ||
            llq_meta_arr_str(pieces, (uint64_t)b, &pr, &rl) || ll + rl > sizeof cat) {
            rc = llq_err(LLQ_EFORMAT, "tokenizer merge %llu is unreadable", (unsigned long long)m);
            break;
        }
        memcpy(cat, pl, (size_t)ll);
        memcpy(cat + ll, pr, (size_t)rl);
        for (uint32_t h = fnv(cat, ll + rl) & mask; tab[h] >= 0; h = (h + 1) & mask) {
            llq_meta_arr_str(pieces, (uint64_t)tab[h], &pc, &plen);
            if (plen == ll + rl && !memcmp(pc, cat, (size_t)plen)) {
                score[tab[h]] = -(float)m;
                break;
            }
        }
    }
    if (!rc) {
        static const char llama[] = "llama", pre[] = "default";
        kv_str(e, "tokenizer.ggml.model", llama, sizeof llama - 1);
        kv_str(e, "tokenizer.ggml.pre", pre, sizeof pre - 1);
        kv_copy(e, "tokenizer.ggml.tokens", pieces);
        key(e, "tokenizer.ggml.scores", GV_ARR);
        u32_(e, GV_F32);
        u64_(e, n);
        raw(e, score, 4 * (size_t)n);
        kv_copy(e, "tokenizer.ggml.token_type", types);
        put_special_ids(e, 1, bos, eos, unk, pad);
        put_space_prefix(e, 1);
        rc = 1;
    }
    free(tab), free(score);
    return rc;
}

/* tokenizer.* (byte-level BPE from a tokenizer.json) -> tokenizer.ggml.* (model "gpt2"): tokens spelled with GPT-2's
 * bytes-to-unicode map (added tokens as their text), token types, merges "left right", the pre-tokenizer by
 * llama.cpp's name (identified from the stored pre_tokenizer, refused when llama.cpp has none for it), the ids.
 * Rows past the vocabulary become "[PAD<id>]" unused tokens, as llama.cpp's converter pads. */
static int put_bpe(enc *e, const llq_file *f, uint32_t n_vocab)
{
    char pre_json[4096], norm[512], dec[512];
    char src[32], list[128];
    int byte_level = 0, fallback = 0, rank = 0, ignore = 0;
    int32_t bos, eos, unk, pad;
    const llq_meta *pieces = arr(f, "tokenizer.pieces", LLQ_META_STR, UINT64_MAX), *types, *merges;
    if (!pieces || !(types = arr(f, "tokenizer.types", LLQ_META_I32, pieces->count)) ||
        llq_meta_get_bool(f, "tokenizer.bpe.byte_level", &byte_level) ||
        llq_meta_get_bool(f, "tokenizer.bpe.byte_fallback", &fallback) ||
        llq_meta_get_bool(f, "tokenizer.bpe.rank_merges", &rank) ||
        llq_meta_get_bool(f, "tokenizer.bpe.ignore_merges", &ignore) || !cstr(f, "tokenizer.bpe.source", src, sizeof src) ||
        llq_meta_get_i32(f, "tokenizer.bos_id", &bos) || llq_meta_get_i32(f, "tokenizer.eos_id", &eos) ||
        llq_meta_get_i32(f, "tokenizer.unk_id", &unk) || llq_meta_get_i32(f, "tokenizer.pad_id", &pad) ||
        !cstr(f, "tokenizer.bpe.pre_tokenizer", pre_json, sizeof pre_json) ||
        !cstr(f, "tokenizer.bpe.normalizer", norm, sizeof norm) || !cstr(f, "tokenizer.bpe.decoder", dec, sizeof dec))
        return llq_err(LLQ_EFORMAT, "the BPE tokenizer metadata is incomplete");
    if (!byte_level)
        return put_spm_hf(e, f, n_vocab, pre_json, norm, pieces, types, bos, eos, unk, pad, fallback, rank);
    if (rank)
        return llq_err(LLQ_EUNSUPPORTED, "GGUF output of a tiktoken tokenizer is not implemented (llama.cpp needs a merges "
                       "list; convert with the model's tokenizer.json)");
    if (!(merges = arr(f, "tokenizer.bpe.merges", LLQ_META_U32, UINT64_MAX)) || merges->count % 2)
        return llq_err(LLQ_EFORMAT, "tokenizer.bpe.merges is missing or odd");
    const gguf_pre *pre = gguf_pre_identify(pre_json);
    gguf_pre_list(list, sizeof list);
    if (!pre)
        return llq_err(LLQ_EUNSUPPORTED, "the tokenizer's pre-tokenizer is none that llama.cpp knows by name (llq names "
                       "%s); refused rather than a GGUF that llama.cpp would pre-tokenize differently", list);
    if (pre->ignore_merges != (ignore != 0))
        return llq_err(LLQ_EUNSUPPORTED, "the tokenizer has the pre-tokenizer of '%s' but ignore_merges %s, which "
                       "llama.cpp does not combine with it", pre->name, ignore ? "true" : "false");
    if (strcmp(norm, "null") && strcmp(norm, pre->normalizer))
        return llq_err(LLQ_EUNSUPPORTED, "the tokenizer's normalizer %s is not the one of '%s' (%s)", norm, pre->name,
                       pre->normalizer);
    if (pieces->count > n_vocab)
        return llq_err(LLQ_EUNSUPPORTED, "the tokenizer has %llu tokens for %u embedding rows",
                       (unsigned long long)pieces->count, n_vocab);
    char buf[4 * GGUF_PIECE_MAX + 2];
    const char *pc;
    uint64_t plen;
    static const char gpt2[] = "gpt2";
    kv_str(e, "tokenizer.ggml.model", gpt2, sizeof gpt2 - 1);
    kv_str(e, "tokenizer.ggml.pre", pre->name, strlen(pre->name));
    key(e, "tokenizer.ggml.tokens", GV_ARR);
    u32_(e, GV_STR);
    u64_(e, n_vocab);
    for (uint32_t i = 0; i < n_vocab && !e->err; i++) {
        size_t k;
        if (i >= pieces->count) {
            k = (size_t)snprintf(buf, sizeof buf, "[PAD%u]", i);
        } else {
            int32_t ty = (int32_t)llq_meta_arr_num(types, i);
            if (llq_meta_arr_str(pieces, i, &pc, &plen) || plen > GGUF_PIECE_MAX)
                return llq_err(LLQ_EFORMAT, "tokenizer piece %u is unreadable or longer than %d bytes", i,
                               GGUF_PIECE_MAX);
            if (ty == 3 || ty == 4) { /* added tokens: their text */
                memcpy(buf, pc, (size_t)plen);
                k = (size_t)plen;
            } else {
                k = gguf_bytes_to_unicode(buf, (const uint8_t *)pc, (size_t)plen);
            }
        }
        str_(e, buf, k);
    }
    key(e, "tokenizer.ggml.token_type", GV_ARR);
    u32_(e, GV_I32);
    u64_(e, n_vocab);
    for (uint32_t i = 0; i < n_vocab; i++) {
        int32_t ty = i < pieces->count ? (int32_t)llq_meta_arr_num(types, i) : 5; /* UNUSED padding */
        raw(e, &ty, 4);
    }
    key(e, "tokenizer.ggml.merges", GV_ARR);
    u32_(e, GV_STR);
    u64_(e, merges->count / 2);
    for (uint64_t m = 0; m < merges->count / 2 && !e->err; m++) {
        size_t k = 0;
        for (int side = 0; side < 2; side++) {
            double id = llq_meta_arr_num(merges, 2 * m + (uint64_t)side);
            if (!(id >= 0 && id < (double)pieces->count) || llq_meta_arr_str(pieces, (uint64_t)id, &pc, &plen) ||
                plen > GGUF_PIECE_MAX)
                return llq_err(LLQ_EFORMAT, "tokenizer merge %llu names token %g", (unsigned long long)m, id);
            if (side)
                buf[k++] = ' ';
            k += gguf_bytes_to_unicode(buf + k, (const uint8_t *)pc, (size_t)plen);
        }
        str_(e, buf, k);
    }
    put_special_ids(e, 0, bos, eos, unk, pad);
    /* the tokenizer.json parts exactly, so that llq reads back this very tokenizer (llama.cpp ignores llq.*) */
    kv_str(e, "llq.tokenizer.bpe.normalizer", norm, strlen(norm));
    kv_str(e, "llq.tokenizer.bpe.pre_tokenizer", pre_json, strlen(pre_json));
    kv_str(e, "llq.tokenizer.bpe.decoder", dec, strlen(dec));
    return 1;
}

/* The tokenizer as tokenizer.ggml.*; a model without one gets model "no_vocab" (llama.cpp then loads vocab_size
 * dummy tokens). Returns 1 if a tokenizer was written, 0 if not. */
static int put_tokenizer(enc *e, const llq_file *f, uint32_t n_vocab)
{
    const char *model;
    uint64_t mlen;
    if (!llq_meta_get_str(f, "tokenizer.model", &model, &mlen)) {
        if (mlen == 13 && !memcmp(model, "sentencepiece", 13))
            return put_spm(e, f, n_vocab);
        if (mlen == 3 && !memcmp(model, "bpe", 3))
            return put_bpe(e, f, n_vocab);
        return llq_err(LLQ_EUNSUPPORTED, "tokenizer model '%.*s' has no GGUF form", (int)(mlen > 32 ? 32 : mlen), model);
    }
    static const char none[] = "no_vocab";
    kv_str(e, "tokenizer.ggml.model", none, sizeof none - 1);
    return 0;
}

static int put_meta(enc *e, const llq_file *f, const llq_hparams *hp, const char *arch, uint32_t ftype, int *tok)
{
    const char *name;
    uint64_t nlen;
    char k[96];
    uint32_t hd = llq_hp_head_dim(hp);
#define AK(suffix) (snprintf(k, sizeof k, "%s.%s", arch, suffix), k)
    kv_str(e, "general.architecture", arch, strlen(arch));
    if (!llq_meta_get_str(f, "general.name", &name, &nlen))
        kv_str(e, "general.name", name, nlen);
    kv_u32(e, "general.file_type", ftype);
    kv_u32(e, "general.quantization_version", 2);
    if (!e->lean) /* a lean file relies on GGUF's default, which is ALIGN */
        kv_u32(e, "general.alignment", ALIGN);
    kv_u32(e, AK("context_length"), hp->context_length);
    kv_u32(e, AK("embedding_length"), hp->dim);
    kv_u32(e, AK("block_count"), hp->n_layers);
    kv_u32(e, AK("feed_forward_length"), hp->ffn_dim);
    kv_u32(e, AK("attention.head_count"), hp->n_heads);
    kv_u32(e, AK("attention.head_count_kv"), hp->n_kv_heads);
    kv_f32(e, AK("rope.freq_base"), hp->rope_theta);
    kv_f32(e, AK("attention.layer_norm_rms_epsilon"), hp->norm_eps);
    kv_u32(e, AK("vocab_size"), hp->vocab_size);
    kv_u32(e, AK("rope.dimension_count"), hd);
    if (hd * hp->n_heads != hp->dim) { /* an explicit head_dim (Mistral's): llama.cpp's key/value head sizes */
        kv_u32(e, AK("attention.key_length"), hd);
        kv_u32(e, AK("attention.value_length"), hd);
    }
    if (hp->rope_scaling == LLQ_ROPE_LINEAR) {
        static const char lin[] = "linear";
        kv_str(e, AK("rope.scaling.type"), lin, sizeof lin - 1);
        kv_f32(e, AK("rope.scaling.factor"), hp->rope_factor);
    } else if (hp->rope_scaling == LLQ_ROPE_LLAMA3) {
        /* llama.cpp takes the rope_freqs tensor; llq's parameters ride along under llq.* for an exact way back */
        static const char l3[] = "llama3";
        kv_str(e, "llq.rope_scaling.type", l3, sizeof l3 - 1);
        kv_f32(e, "llq.rope_scaling.factor", hp->rope_factor);
        kv_f32(e, "llq.rope_scaling.low_freq_factor", hp->rope_low_freq_factor);
        kv_f32(e, "llq.rope_scaling.high_freq_factor", hp->rope_high_freq_factor);
        kv_u32(e, "llq.rope_scaling.original_context_length", hp->rope_orig_context);
    }
#undef AK
    int rc = put_tokenizer(e, f, hp->vocab_size);
    if (rc < 0)
        return rc;
    *tok = rc;
    if (hp->has_bos)
        kv_u32(e, "llq.bos_id", hp->bos_id);
    if (hp->n_eos) { /* the model's EOS ids (generation stops at any); GGUF's tokenizer keys hold one */
        key(e, "llq.eos_ids", GV_ARR);
        u32_(e, GV_U32);
        u64_(e, hp->n_eos);
        raw(e, hp->eos_ids, 4 * (size_t)hp->n_eos);
    }
    /* how the file was made: llq's provenance and recipe keys under llq.* (none in a lean file) */
    if (e->lean)
        return e->err;
    static const char ver[] = LLQ_VERSION_STRING;
    kv_str(e, "llq.version", ver, sizeof ver - 1);
    char mk[LLQ_MAX_NAME + 8];
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        if (strncmp(m->key, "quant.", 6) && strncmp(m->key, "provenance.", 11))
            continue;
        snprintf(mk, sizeof mk, "llq.%s", m->key);
        kv_copy(e, mk, m);
    }
    return e->err;
}

/* ---- tensor data ---- */

/* One llq row -> GGUF blocks (dst: p->row_bytes). Q4_1 deviations go to *dev / *rel. */
static void row_to_blocks(uint8_t *dst, const uint8_t *row, const plan_t *p, double *dev, double *rel)
{
    const llq_tensor *t = p->t;
    uint64_t K = t->row_len;
    llq_qrow q;
    llq_qrow_init(&q, t->type, t->group, K); /* checked when the tensor was opened */
    uint64_t qb = t->type == LLQ_Q8 ? LLQ_Q8_BLOCK_BYTES : LLQ_Q4_BLOCK_BYTES; /* code bytes per 32 elements */
    const uint8_t *d = row + q.scales, *z = row + q.zeros;
    for (uint64_t b = 0; b < K / LLQ_QBLOCK; b++, dst += p->blk_bytes) {
        uint64_t j = b * LLQ_QBLOCK / q.glen;
        memcpy(dst, d + 2 * j, 2);
        if (p->conv == TO_Q4_1) {
            uint16_t h;
            memcpy(&h, d + 2 * j, 2);
            double dd = llq_f16_to_f32(h), want = -(double)z[j] * dd;
            uint16_t m = llq_f32_to_f16((float)want);
            double err = fabs((double)llq_f16_to_f32(m) - want);
            memcpy(dst + 2, &m, 2);
            memcpy(dst + 4, row + b * 16, 16);
            if (err > *dev)
                *dev = err;
            if (dd != 0 && err / fabs(dd) > *rel)
                *rel = err / fabs(dd);
            continue;
        }
        memcpy(dst + 2, row + b * qb, (size_t)qb);
    }
}

/* Hugging Face's (NEOX) row r of a q/k projection is Meta's (canonical) row neox_src(r): within each head of hd
 * rows, HF row j·hd/2 + i is Meta row 2i + j (rows per head rotate as pairs (2i, 2i+1) in Meta's layout, as halves
 * (i, i + hd/2) in HF's). */
static uint64_t neox_src(uint64_t r, uint32_t hd)
{
    uint64_t h = r / hd, q = r % hd, half = hd / 2;
    return h * hd + 2 * (q % half) + q / half;
}

static int write_data(llq_writer *w, const plan_t *p, size_t n, const llq_gguf_opts *o, llq_gguf_report *rep,
                      const llq_file *f)
{
    static const uint8_t zeros[ALIGN];
    uint64_t maxrow = 0, done = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        maxrow = p[i].row_bytes > maxrow ? p[i].row_bytes : maxrow;
        total += p[i].size;
    }
    /* (a permuted bias is written from buf as one row of row_bytes: covered by maxrow) */
    uint8_t *buf = malloc(maxrow ? (size_t)maxrow : 1);
    int rc = buf ? LLQ_OK : llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        const plan_t *q = &p[i];
        double dev = 0, rel = 0;
        uint64_t pos = fmt_writer_pos(w);
        if (pos % ALIGN)
            rc = fmt_writer_raw(w, zeros, (size_t)(ALIGN - pos % ALIGN));
        if (!q->t) { /* rope_freqs */
            if (!rc)
                rc = fmt_writer_raw(w, q->synth, (size_t)q->size);
            done += q->size;
            continue;
        }
        const uint8_t *src = q->t->data;
        if (!rc && q->permute && q->t->n_dims == 1) { /* a bias: its elements in Hugging Face's order */
            uint64_t es = q->t->row_bytes / q->t->row_len;
            for (uint64_t r = 0; r < q->t->row_len; r++)
                memcpy(buf + r * es, src + neox_src(r, q->hd) * es, (size_t)es);
            rc = fmt_writer_raw(w, buf, (size_t)q->row_bytes);
        } else if (!rc && q->conv == AS_IS && !q->permute) {
            rc = fmt_writer_raw(w, src, (size_t)q->size);
        } else {
            for (uint64_t r = 0; !rc && r < q->t->n_rows; r++) {
                const uint8_t *row = src + (q->permute ? neox_src(r, q->hd) : r) * q->t->row_bytes;
                if (q->conv == AS_IS)
                    memcpy(buf, row, (size_t)q->row_bytes);
                else
                    row_to_blocks(buf, row, q, &dev, &rel);
                rc = fmt_writer_raw(w, buf, (size_t)q->row_bytes);
            }
        }
        llq_drop_pages(f, src, q->t->size);
        if (rep && dev > rep->q4_1_max_dev) {
            rep->q4_1_max_dev = dev;
            snprintf(rep->q4_1_worst, sizeof rep->q4_1_worst, "%s", q->t->name);
        }
        if (rep && rel > rep->q4_1_max_rel)
            rep->q4_1_max_rel = rel;
        done += q->size;
        if (!rc && o->progress)
            o->progress(o->progress_ctx, done, total);
    }
    uint64_t pos = fmt_writer_pos(w); /* ggml sizes the data section with every tensor padded, the last one too */
    if (!rc && pos % ALIGN)
        rc = fmt_writer_raw(w, zeros, (size_t)(ALIGN - pos % ALIGN));
    free(buf);
    return rc;
}

/* Which llama.cpp architecture runs hp exactly: "llama" (Meta's q/k rows; also Mistral without a window) or
 * "qwen2" (NEOX rope: HF's rows). Refused by name otherwise. */
static int pick_arch(const llq_file *f, const llq_hparams *hp, const char **arch, int *neox)
{
    char d[320];
    const char *why = NULL;
    int qwen = !strcmp(hp->family, "qwen2");
    llq_hparams_describe(d, sizeof d, hp);
    *arch = qwen ? "qwen2" : "llama";
    *neox = qwen;
    if (hp->sliding_window)
        why = "llama.cpp converts Mistral models to its llama architecture, which has no sliding window: it would "
              "attend to the whole context, a different model past the window";
    else if (qwen && hp->rope_scaling == LLQ_ROPE_LLAMA3)
        why = "llama.cpp's qwen2 architecture reads no rope_freqs tensor (llama3 rope scaling)";
    else if (qwen && llq_hp_head_dim(hp) * hp->n_heads != hp->dim)
        why = "llama.cpp's qwen2 architecture needs n_heads * head_dim = dim";
    if (why)
        return llq_err(LLQ_EUNSUPPORTED, "%s: GGUF output refused (%s): %s", llq_file_path(f), d, why);
    return LLQ_OK;
}

/* llama.cpp's rope_freqs (llama3 scaling): per frequency the divisor unscaled / scaled, f32. A GGUF import keeps
 * the original tensor's values (llama.cpp's converter computes them in float32) as gguf.rope_freqs: when they agree
 * with hp to f32 rounding, those exact bytes are written again. */
static int rope_freqs(uint8_t **out, const llq_file *f, const llq_hparams *hp)
{
    uint32_t half = llq_hp_head_dim(hp) / 2;
    double fr[LLQ_HP_MAX_HEAD_DIM / 2], base[LLQ_HP_MAX_HEAD_DIM / 2];
    float *v = malloc(4 * (size_t)half);
    if (!v)
        return llq_err(LLQ_ENOMEM, "out of memory");
    llq_hparams plain = *hp;
    plain.rope_scaling = LLQ_ROPE_NONE;
    llq_hp_rope_freqs(fr, hp);
    llq_hp_rope_freqs(base, &plain);
    for (uint32_t i = 0; i < half; i++)
        v[i] = (float)(base[i] / fr[i]);
    const llq_meta *m = meta(f, "gguf.rope_freqs");
    if (m && m->type == LLQ_META_ARR && m->elem_type == LLQ_META_F32 && m->count == half) {
        int same = 1;
        for (uint32_t i = 0; i < half && same; i++)
            same = fabs(llq_meta_arr_num(m, i) - (double)v[i]) <= 1e-6 * fabs((double)v[i]);
        for (uint32_t i = 0; i < half && same; i++)
            v[i] = (float)llq_meta_arr_num(m, i);
    }
    *out = (uint8_t *)v;
    return LLQ_OK;
}

int llq_gguf_write(const llq_file *f, const llq_gguf_opts *o, llq_gguf_report *rep)
{
    llq_hparams hp;
    plan_t *p = NULL;
    size_t n = 0;
    enc e = {0};
    e.lean = o && o->lean;
    llq_writer *w = NULL;
    uint8_t *freqs = NULL;
    const char *arch;
    int rc, tok = 0, neox;
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!o || !o->out || !o->out[0])
        return llq_err(LLQ_EINVAL, "no output file given");
    if ((rc = llq_hparams_read(&hp, f)) || (rc = pick_arch(f, &hp, &arch, &neox)))
        goto done;
    if (hp.rope_scaling == LLQ_ROPE_LLAMA3 && (rc = rope_freqs(&freqs, f, &hp)))
        goto done;
    if ((rc = plan_tensors(&p, &n, f, &hp, neox, freqs)))
        goto done;
    /* file type: the type holding most matrix bytes */
    uint64_t by[64] = {0};
    uint32_t best = GT_F32;
    for (size_t i = 0; i < n; i++)
        if (p[i].t && p[i].t->n_dims == 2 && p[i].ggml < 64 && (by[p[i].ggml] += p[i].size) > by[best])
            best = p[i].ggml;
    uint32_t ftype = ftype_of(best);
    if ((rc = put_meta(&e, f, &hp, arch, ftype, &tok)))
        goto done;
    /* tensor infos */
    enc ti = {0};
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        p[i].off = off;
        str_(&ti, p[i].name, strlen(p[i].name));
        if (!p[i].t) { /* rope_freqs: [head_dim / 2] */
            u32_(&ti, 1);
            u64_(&ti, p[i].size / 4);
        } else {
            u32_(&ti, p[i].t->n_dims);
            for (uint32_t d = p[i].t->n_dims; d-- > 0;)
                u64_(&ti, p[i].t->dims[d]); /* ggml's ne[]: innermost first */
        }
        u32_(&ti, p[i].ggml);
        u64_(&ti, off);
        off += (p[i].size + ALIGN - 1) / ALIGN * ALIGN;
    }
    if ((rc = ti.err)) {
        free(ti.b.p);
        goto done;
    }
    uint8_t head[24];
    uint32_t magic = GGUF_MAGIC, version = 3;
    uint64_t nt = n, nkv = e.n_kv;
    memcpy(head, &magic, 4);
    memcpy(head + 4, &version, 4);
    memcpy(head + 8, &nt, 8);
    memcpy(head + 16, &nkv, 8);
    if (!(rc = fmt_writer_open_raw(&w, o->out, o->flags))) {
        if (o->on_temp)
            o->on_temp(llq_writer_temp_path(w));
        if (!(rc = fmt_writer_raw(w, head, sizeof head)) && !(rc = fmt_writer_raw(w, e.b.p, e.b.len)))
            rc = fmt_writer_raw(w, ti.b.p, ti.b.len);
    }
    free(ti.b.p);
    if (rc || (rc = write_data(w, p, n, o, rep, f)) || (rc = llq_writer_commit(w)))
        goto done;
    if (rep) {
        struct stat st;
        rep->n_tensors = (uint32_t)n;
        rep->file_type = ftype;
        rep->tokenizer = tok;
        for (size_t i = 0; i < n; i++)
            rep->data_bytes += p[i].size;
        rep->file_size = stat(o->out, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
done:
    if (w && o->on_temp)
        o->on_temp(NULL);
    llq_writer_free(w);
    free(e.b.p);
    free(p);
    free(freqs);
    return rc;
}
