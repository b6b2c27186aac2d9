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
    const llq_tensor *t;
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

/* llama.cpp's order: token_embd, each block (attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
 * ffn_down, ffn_up), output_norm, output — the canonical order of docs/FORMAT.md renamed. */
static int plan_tensors(plan_t **out, size_t *n_out, const llq_file *f, const llq_hparams *hp)
{
    static const char *const per_layer[] = {"attention_norm", "attention.wq", "attention.wk", "attention.wv",
                                            "attention.wo", "ffn_norm", "feed_forward.w1", "feed_forward.w2",
                                            "feed_forward.w3"};
    size_t cap = (size_t)hp->n_layers * 9 + 3, n = 0, used = 0;
    plan_t *p = calloc(cap, sizeof *p);
    char nm[96];
    int rc = LLQ_OK;
    if (!p)
        return llq_err(LLQ_ENOMEM, "out of memory");
    const llq_tensor *emb = llq_tensor_find(f, "tok_embeddings.weight"), *outw = llq_tensor_find(f, "output.weight");
    for (size_t s = 0; !rc && s < cap; s++) {
        if (s == 0)
            snprintf(nm, sizeof nm, "tok_embeddings.weight");
        else if (s == cap - 2)
            snprintf(nm, sizeof nm, "norm.weight");
        else if (s == cap - 1 && hp->tied)
            continue; /* llama.tied_embeddings: no output.weight; llama.cpp reads token_embd for the head */
        else if (s == cap - 1)
            snprintf(nm, sizeof nm, "output.weight");
        else
            snprintf(nm, sizeof nm, "layers.%zu.%s.weight", (s - 1) / 9, per_layer[(s - 1) % 9]);
        const llq_tensor *t = llq_tensor_find(f, nm);
        if (!t) {
            rc = llq_err(LLQ_ENOTFOUND, "tensor '%s' is missing", nm);
            break;
        }
        used++;
        if (t == outw && emb && outw->data == emb->data)
            continue; /* tied (a GGUF view without output.weight): llama.cpp reads token_embd again */
        p[n].t = t;
        gguf_name_from_llq(p[n].name, sizeof p[n].name, nm);
        rc = pick_type(&p[n]);
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

/* tokenizer.* (SentencePiece) -> tokenizer.ggml.* (model "llama"). Returns 1 if written, 0 if f has none. */
static int put_tokenizer(enc *e, const llq_file *f)
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
    llq_meta_get_bool(f, "tokenizer.add_dummy_prefix", &dummy);
    static const char llama[] = "llama", pre[] = "default";
    kv_str(e, "tokenizer.ggml.model", llama, sizeof llama - 1);
    kv_str(e, "tokenizer.ggml.pre", pre, sizeof pre - 1);
    kv_copy(e, "tokenizer.ggml.tokens", pieces);
    kv_copy(e, "tokenizer.ggml.scores", scores);
    kv_copy(e, "tokenizer.ggml.token_type", types);
    if (bos >= 0)
        kv_u32(e, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
    if (eos >= 0)
        kv_u32(e, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
    if (unk >= 0)
        kv_u32(e, "tokenizer.ggml.unknown_token_id", (uint32_t)unk);
    if (pad >= 0)
        kv_u32(e, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
    kv_bool(e, "tokenizer.ggml.add_bos_token", bos >= 0);
    kv_bool(e, "tokenizer.ggml.add_eos_token", 0);
    kv_bool(e, "tokenizer.ggml.add_space_prefix", dummy);
    return 1;
}

static int put_meta(enc *e, const llq_file *f, const llq_hparams *hp, uint32_t ftype, int *tok)
{
    static const char arch[] = "llama";
    const char *name;
    uint64_t nlen;
    kv_str(e, "general.architecture", arch, sizeof arch - 1);
    if (!llq_meta_get_str(f, "general.name", &name, &nlen))
        kv_str(e, "general.name", name, nlen);
    kv_u32(e, "general.file_type", ftype);
    kv_u32(e, "general.quantization_version", 2);
    kv_u32(e, "general.alignment", ALIGN);
    kv_u32(e, "llama.context_length", hp->context_length);
    kv_u32(e, "llama.embedding_length", hp->dim);
    kv_u32(e, "llama.block_count", hp->n_layers);
    kv_u32(e, "llama.feed_forward_length", hp->ffn_dim);
    kv_u32(e, "llama.attention.head_count", hp->n_heads);
    kv_u32(e, "llama.attention.head_count_kv", hp->n_kv_heads);
    kv_f32(e, "llama.rope.freq_base", hp->rope_theta);
    kv_f32(e, "llama.attention.layer_norm_rms_epsilon", hp->norm_eps);
    kv_u32(e, "llama.vocab_size", hp->vocab_size);
    kv_u32(e, "llama.rope.dimension_count", hp->dim / hp->n_heads);
    int rc = put_tokenizer(e, f);
    if (rc < 0)
        return rc;
    *tok = rc;
    /* how the file was made: llq's provenance and recipe keys under llq.* */
    static const char ver[] = LLQ_VERSION_STRING;
    kv_str(e, "llq.version", ver, sizeof ver - 1);
    char k[LLQ_MAX_NAME + 8];
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        if (strncmp(m->key, "quant.", 6) && strncmp(m->key, "provenance.", 11))
            continue;
        snprintf(k, sizeof k, "llq.%s", m->key);
        kv_copy(e, k, m);
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

static int write_data(llq_writer *w, const plan_t *p, size_t n, const llq_gguf_opts *o, llq_gguf_report *rep,
                      const llq_file *f)
{
    static const uint8_t zeros[ALIGN];
    uint64_t maxrow = 0, done = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        maxrow = p[i].row_bytes > maxrow ? p[i].row_bytes : maxrow;
        total += p[i].size;
    }
    uint8_t *buf = malloc(maxrow ? (size_t)maxrow : 1);
    int rc = buf ? LLQ_OK : llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        const plan_t *q = &p[i];
        double dev = 0, rel = 0;
        uint64_t pos = fmt_writer_pos(w);
        if (pos % ALIGN)
            rc = fmt_writer_raw(w, zeros, (size_t)(ALIGN - pos % ALIGN));
        const uint8_t *src = q->t->data;
        if (!rc && q->conv == AS_IS) {
            rc = fmt_writer_raw(w, src, (size_t)q->size);
        } else {
            for (uint64_t r = 0; !rc && r < q->t->n_rows; r++) {
                row_to_blocks(buf, src + r * q->t->row_bytes, q, &dev, &rel);
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

int llq_gguf_write(const llq_file *f, const llq_gguf_opts *o, llq_gguf_report *rep)
{
    llq_hparams hp;
    plan_t *p = NULL;
    size_t n = 0;
    enc e = {0};
    llq_writer *w = NULL;
    int rc, tok = 0;
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!o || !o->out || !o->out[0])
        return llq_err(LLQ_EINVAL, "no output file given");
    if ((rc = llq_hparams_read(&hp, f)))
        goto done;
    /* 1.1 architecture keys the llama GGUF keys do not carry yet: refused rather than a file llama.cpp would run
     * differently (a dropped rope scaling or sliding window changes every long-context logit) */
    if ((hp.family[0] && strcmp(hp.family, "llama") != 0) || hp.rope_scaling || hp.sliding_window || hp.qkv_bias ||
        (hp.head_dim && hp.head_dim * hp.n_heads != hp.dim)) {
        char arch[320];
        llq_hparams_describe(arch, sizeof arch, &hp);
        rc = llq_err(LLQ_EUNSUPPORTED, "%s: GGUF output of this architecture is not implemented (%s)",
                     llq_file_path(f), arch);
        goto done;
    }
    if ((rc = plan_tensors(&p, &n, f, &hp)))
        goto done;
    /* file type: the type holding most matrix bytes */
    uint64_t by[64] = {0};
    uint32_t best = GT_F32;
    for (size_t i = 0; i < n; i++)
        if (p[i].t->n_dims == 2 && p[i].ggml < 64 && (by[p[i].ggml] += p[i].size) > by[best])
            best = p[i].ggml;
    uint32_t ftype = ftype_of(best);
    if ((rc = put_meta(&e, f, &hp, ftype, &tok)))
        goto done;
    /* tensor infos */
    enc ti = {0};
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        p[i].off = off;
        str_(&ti, p[i].name, strlen(p[i].name));
        u32_(&ti, p[i].t->n_dims);
        for (uint32_t d = p[i].t->n_dims; d-- > 0;)
            u64_(&ti, p[i].t->dims[d]); /* ggml's ne[]: innermost first */
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
    return rc;
}
