/* gguf_read.c — opens a GGUF file (v2/v3, llama.cpp's) as an llq_file: every count, length, offset, type and
 * alignment is checked against the file before use (overflow-safe), then the model is translated to llq's view:
 * canonical tensor names and shapes (docs/FORMAT.md), llq types, and the
 * metadata as .llq keys (llama.* hyper-parameters, tokenizer.*, provenance.*, and every scalar GGUF key under
 * gguf.*). Tensor bytes are used in place: every ggml type llq reads is an llq type of the same layout (format/
 * layout.c's table). llama.cpp's llama q/k rows are Meta's interleaved pairs, llq's canonical order: kept. */
#include "fileint.h"
#include "gguf.h"
#include "llq/hparams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gkv {
    const char *key; /* not NUL-terminated */
    uint32_t klen;
    uint32_t type;          /* GV_* */
    const uint8_t *val;     /* scalars: the value; strings: the bytes; arrays: the first element */
    uint64_t len;           /* strings: byte length; arrays: element count */
    uint32_t etype;         /* arrays: element type */
} gkv;

typedef struct gti {
    const char *name;
    uint32_t nlen;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* innermost first */
    uint32_t ggml;              /* ggml type id */
    uint32_t llq;               /* the llq type of the same layout (after place()) */
    uint64_t off;               /* absolute, after checks */
    uint64_t size;
    uint64_t row_bytes;         /* GGUF bytes of one row of ne[0] elements */
    char llq_name[LLQ_MAX_NAME + 1];
    uint64_t order;             /* canonical order key */
} gti;

typedef struct gctx {
    const uint8_t *map;
    uint64_t size;
    uint32_t version;
    gkv *kv;
    uint64_t n_kv;
    gti *ti;
    uint64_t n_ti;
    uint32_t align;
    const char *path;
} gctx;

#define MAX_TOKENS (1u << 22) /* as tokenizer.h's LLQ_TOK_MAX_VOCAB (which llq_tokenizer_new checks again) */

/* ---- parsing ---- */

static int take_str(cur *c, const uint8_t **s, uint64_t *len)
{
    return take64(c, len) || take(c, *len, s) ? -1 : 0;
}

/* One value of type t (not an array) at c: *val points at it, *len its string length. */
static int take_scalar(cur *c, uint32_t t, const uint8_t **val, uint64_t *len)
{
    if (t == GV_STR)
        return take_str(c, val, len);
    uint32_t sz = gguf_value_size(t);
    *len = 0;
    return sz && !take(c, sz, val) ? 0 : -1;
}

static int parse_kv(gctx *g, cur *c, uint64_t i)
{
    gkv *kv = &g->kv[i];
    const uint8_t *k;
    uint64_t klen;
    if (take_str(c, &k, &klen))
        return llq_err(LLQ_EFORMAT, "metadata pair %llu: key runs past the end of the file", (unsigned long long)i);
    if (klen == 0 || klen > LLQ_MAX_NAME || memchr(k, 0, klen))
        return llq_err(LLQ_EFORMAT, "metadata pair %llu: key of %llu bytes (1..%d, no NUL)", (unsigned long long)i,
                       (unsigned long long)klen, LLQ_MAX_NAME);
    kv->key = (const char *)k;
    kv->klen = (uint32_t)klen;
    if (take32(c, &kv->type))
        goto trunc;
    if (kv->type == GV_ARR) {
        if (take32(c, &kv->etype) || take64(c, &kv->len))
            goto trunc;
        kv->val = c->p;
        if (kv->etype == GV_ARR)
            return llq_err(LLQ_EUNSUPPORTED, "metadata '%.*s': arrays of arrays are not read", (int)klen, k);
        if (kv->etype == GV_STR) {
            if (kv->len > (uint64_t)(c->end - c->p) / 8)
                goto trunc;
            for (uint64_t j = 0; j < kv->len; j++) {
                const uint8_t *s;
                uint64_t n;
                if (take_str(c, &s, &n))
                    goto trunc;
            }
            return LLQ_OK;
        }
        uint32_t sz = gguf_value_size(kv->etype);
        uint64_t bytes;
        const uint8_t *b;
        if (!sz)
            return llq_err(LLQ_EFORMAT, "metadata '%.*s': unknown array element type %u", (int)klen, k, kv->etype);
        if (llq_mul_u64(&bytes, kv->len, sz) || take(c, bytes, &b))
            goto trunc;
        for (uint64_t j = 0; kv->etype == GV_BOOL && j < kv->len; j++)
            if (b[j] > 1)
                return llq_err(LLQ_EFORMAT, "metadata '%.*s': bool element %llu is %u", (int)klen, k,
                               (unsigned long long)j, b[j]);
        return LLQ_OK;
    }
    if (kv->type >= GV_N)
        return llq_err(LLQ_EFORMAT, "metadata '%.*s': unknown value type %u", (int)klen, k, kv->type);
    if (take_scalar(c, kv->type, &kv->val, &kv->len))
        goto trunc;
    if (kv->type == GV_BOOL && kv->val[0] > 1)
        return llq_err(LLQ_EFORMAT, "metadata '%.*s': bool value is %u", (int)klen, k, kv->val[0]);
    return LLQ_OK;
trunc:
    return llq_err(LLQ_EFORMAT, "metadata '%.*s': value runs past the end of the file", (int)klen, k);
}

static const gkv *find_kv(const gctx *g, const char *key)
{
    size_t n = strlen(key);
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].klen == n && memcmp(g->kv[i].key, key, n) == 0)
            return &g->kv[i];
    return NULL;
}

/* Integer value of kv (any integer type); -1 if it is not an integer or negative. */
static int kv_uint(const gkv *kv, uint64_t *out)
{
    const uint8_t *p = kv->val;
    int64_t s;
    switch (kv->type) {
    case GV_U8: *out = p[0]; return 0;
    case GV_U16: *out = (uint64_t)(p[0] | p[1] << 8); return 0;
    case GV_U32: *out = rd32(p); return 0;
    case GV_U64: *out = rd64(p); return 0;
    case GV_I8: s = (int8_t)p[0]; break;
    case GV_I16: s = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case GV_I32: s = (int32_t)rd32(p); break;
    case GV_I64: s = (int64_t)rd64(p); break;
    default: return -1;
    }
    if (s < 0)
        return -1;
    *out = (uint64_t)s;
    return 0;
}

/* u32 value of key (def if absent and not required). */
static int get_u32(const gctx *g, const char *key, uint32_t *out, int required, uint32_t def)
{
    const gkv *kv = find_kv(g, key);
    uint64_t v;
    if (!kv) {
        if (required)
            return llq_err(LLQ_ENOTFOUND, "metadata key '%s' is missing", key);
        *out = def;
        return LLQ_OK;
    }
    if (kv_uint(kv, &v) || v > UINT32_MAX)
        return llq_err(LLQ_EFORMAT, "metadata '%s' is not an unsigned 32-bit integer", key);
    *out = (uint32_t)v;
    return LLQ_OK;
}

static int get_f32(const gctx *g, const char *key, float *out, int required, float def)
{
    const gkv *kv = find_kv(g, key);
    if (!kv) {
        if (required)
            return llq_err(LLQ_ENOTFOUND, "metadata key '%s' is missing", key);
        *out = def;
        return LLQ_OK;
    }
    if (kv->type == GV_F32)
        memcpy(out, kv->val, 4);
    else if (kv->type == GV_F64) {
        double d;
        memcpy(&d, kv->val, 8);
        *out = (float)d;
    } else
        return llq_err(LLQ_EFORMAT, "metadata '%s' is not a float", key);
    return LLQ_OK;
}

/* String value of key: *s (not NUL-terminated) and *len; NULL if absent. */
static int get_str(const gctx *g, const char *key, const char **s, uint64_t *len)
{
    const gkv *kv = find_kv(g, key);
    *s = NULL;
    *len = 0;
    if (!kv)
        return LLQ_OK;
    if (kv->type != GV_STR)
        return llq_err(LLQ_EFORMAT, "metadata '%s' is not a string", key);
    *s = (const char *)kv->val;
    *len = kv->len;
    return LLQ_OK;
}

static int cmp_kv(const void *a, const void *b)
{
    const gkv *x = *(const gkv *const *)a, *y = *(const gkv *const *)b;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int cmp_ti_name(const void *a, const void *b)
{
    const gti *x = *(const gti *const *)a, *y = *(const gti *const *)b;
    uint32_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static int cmp_ti_off(const void *a, const void *b)
{
    const gti *x = *(const gti *const *)a, *y = *(const gti *const *)b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Refuses duplicate keys and tensor names, and overlapping tensor data. */
static int check_unique(const gctx *g)
{
    uint64_t n = g->n_kv > g->n_ti ? g->n_kv : g->n_ti;
    const void **v = malloc((n ? n : 1) * sizeof *v);
    int rc = LLQ_OK;
    if (!v)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++)
        v[i] = &g->kv[i];
    qsort(v, g->n_kv, sizeof *v, cmp_kv);
    for (uint64_t i = 1; !rc && i < g->n_kv; i++)
        if (!cmp_kv(&v[i - 1], &v[i]))
            rc = llq_err(LLQ_EFORMAT, "metadata key '%.*s' appears twice", (int)((const gkv *)v[i])->klen,
                         ((const gkv *)v[i])->key);
    for (uint64_t i = 0; i < g->n_ti; i++)
        v[i] = &g->ti[i];
    qsort(v, g->n_ti, sizeof *v, cmp_ti_name);
    for (uint64_t i = 1; !rc && i < g->n_ti; i++)
        if (!cmp_ti_name(&v[i - 1], &v[i]))
            rc = llq_err(LLQ_EFORMAT, "tensor name '%.*s' appears twice", (int)((const gti *)v[i])->nlen,
                         ((const gti *)v[i])->name);
    qsort(v, g->n_ti, sizeof *v, cmp_ti_off);
    for (uint64_t i = 1; !rc && i < g->n_ti; i++) {
        const gti *a = v[i - 1], *b = v[i];
        if (b->off < a->off + a->size)
            rc = llq_err(LLQ_EFORMAT, "tensor '%.*s' [%llu, +%llu) overlaps tensor '%.*s'", (int)b->nlen, b->name,
                         (unsigned long long)b->off, (unsigned long long)b->size, (int)a->nlen, a->name);
    }
    free(v);
    return rc;
}

static int parse_ti(gctx *g, cur *c, uint64_t i)
{
    gti *t = &g->ti[i];
    const uint8_t *nm;
    uint64_t nlen;
    uint32_t type;
    if (take_str(c, &nm, &nlen))
        return llq_err(LLQ_EFORMAT, "tensor info %llu runs past the end of the file", (unsigned long long)i);
    if (nlen == 0 || nlen > LLQ_MAX_NAME || memchr(nm, 0, nlen))
        return llq_err(LLQ_EFORMAT, "tensor info %llu: name of %llu bytes (1..%d, no NUL)", (unsigned long long)i,
                       (unsigned long long)nlen, LLQ_MAX_NAME);
    t->name = (const char *)nm;
    t->nlen = (uint32_t)nlen;
    if (take32(c, &t->n_dims))
        goto trunc;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return llq_err(LLQ_EFORMAT, "tensor '%.*s': %u dimensions (1..%u)", (int)nlen, nm, t->n_dims, GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (take64(c, &t->ne[d]))
            goto trunc;
        if (t->ne[d] == 0 || t->ne[d] > INT64_MAX)
            return llq_err(LLQ_EFORMAT, "tensor '%.*s': dimension %u is %llu", (int)nlen, nm, d,
                           (unsigned long long)t->ne[d]);
    }
    if (take32(c, &type) || take64(c, &t->off))
        goto trunc;
    if (!gguf_type_known(type))
        return llq_err(LLQ_EFORMAT, "tensor '%.*s': unknown ggml type %u", (int)nlen, nm, type);
    t->ggml = type;
    return LLQ_OK;
trunc:
    return llq_err(LLQ_EFORMAT, "tensor '%.*s': its info runs past the end of the file", (int)nlen, nm);
}

/* Sizes and places every tensor inside the data section (after the alignment is known). */
static int place(gctx *g, uint64_t data_off)
{
    for (uint64_t i = 0; i < g->n_ti; i++) {
        gti *t = &g->ti[i];
        uint64_t rows = 1, end;
        if (llq_type_from_ggml(&t->llq, t->ggml))
            return llq_err(LLQ_EUNSUPPORTED, "tensor '%.*s' has ggml type %s, which this llq does not read (it reads "
                           "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL, IQ4_XS)", (int)t->nlen,
                           t->name, gguf_type_name(t->ggml));
        if (llq_row_bytes(&t->row_bytes, t->llq, 0, t->ne[0]))
            return llq_err(LLQ_EFORMAT, "tensor '%.*s': row of %llu elements is not a whole number of %s blocks",
                           (int)t->nlen, t->name, (unsigned long long)t->ne[0], gguf_type_name(t->ggml));
        for (uint32_t d = 1; d < t->n_dims; d++)
            if (llq_mul_u64(&rows, rows, t->ne[d]))
                return llq_err(LLQ_EFORMAT, "tensor '%.*s': the product of its dimensions overflows", (int)t->nlen,
                               t->name);
        if (llq_mul_u64(&t->size, t->row_bytes, rows))
            return llq_err(LLQ_EFORMAT, "tensor '%.*s': its byte size overflows", (int)t->nlen, t->name);
        if (t->off % g->align)
            return llq_err(LLQ_EFORMAT, "tensor '%.*s': offset %llu is not a multiple of the alignment %u",
                           (int)t->nlen, t->name, (unsigned long long)t->off, g->align);
        if (llq_add_u64(&t->off, t->off, data_off) || llq_add_u64(&end, t->off, t->size) || end > g->size)
            return llq_err(LLQ_EFORMAT, "tensor '%.*s': data [%llu, +%llu) runs past the end of the file (%llu bytes)",
                           (int)t->nlen, t->name, (unsigned long long)(t->off - data_off), (unsigned long long)t->size,
                           (unsigned long long)g->size);
    }
    return LLQ_OK;
}

static int parse_gguf(gctx *g)
{
    cur c = {g->map, g->map + g->size};
    uint32_t magic;
    uint64_t n_ti, n_kv;
    int rc;
    if (take32(&c, &magic) || magic != GGUF_MAGIC)
        return llq_err(LLQ_EFORMAT, "not a GGUF file (bad magic)");
    if (take32(&c, &g->version) || take64(&c, &n_ti) || take64(&c, &n_kv))
        return llq_err(LLQ_EFORMAT, "truncated: %llu bytes, shorter than the GGUF header", (unsigned long long)g->size);
    if (g->version == 1)
        return llq_err(LLQ_EUNSUPPORTED, "GGUF version 1 (32-bit counts) is not read; convert it with a newer llama.cpp");
    if (g->version != 2 && g->version != 3)
        return llq_err(g->version > 3 && g->version < 65536 ? LLQ_EVERSION : LLQ_EFORMAT,
                       "GGUF version %u (this reader reads 2 and 3; a byte-swapped version means a big-endian file)",
                       g->version);
    /* smallest pair: 8 + 1 (key) + 4 + 1 (u8); smallest tensor info: 8 + 1 + 4 + 8 + 4 + 8 */
    if (n_kv > GGUF_MAX_COUNT || n_kv * 14 > (uint64_t)(c.end - c.p))
        return llq_err(LLQ_EFORMAT, "%llu metadata pairs cannot fit in the file", (unsigned long long)n_kv);
    if (n_ti > GGUF_MAX_COUNT || n_ti * 33 > (uint64_t)(c.end - c.p))
        return llq_err(LLQ_EFORMAT, "%llu tensor infos cannot fit in the file", (unsigned long long)n_ti);
    g->kv = calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->ti = calloc(n_ti ? n_ti : 1, sizeof *g->ti);
    if (!g->kv || !g->ti)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < n_kv; i++, g->n_kv++)
        if ((rc = parse_kv(g, &c, i)))
            return rc;
    for (uint64_t i = 0; i < n_ti; i++, g->n_ti++)
        if ((rc = parse_ti(g, &c, i)))
            return rc;
    const gkv *al = find_kv(g, "general.alignment");
    g->align = GGUF_ALIGN_DEFAULT;
    if (al) {
        uint64_t a;
        if (al->type != GV_U32 || kv_uint(al, &a) || a == 0 || (a & (a - 1)) || a > GGUF_MAX_ALIGN)
            return llq_err(LLQ_EFORMAT, "general.alignment must be a u32 power of two up to %u", GGUF_MAX_ALIGN);
        g->align = (uint32_t)a;
    }
    uint64_t data_off = (uint64_t)(c.p - g->map);
    data_off += (g->align - data_off % g->align) % g->align;
    if (data_off > g->size && n_ti)
        return llq_err(LLQ_EFORMAT, "truncated: the data section would start at %llu, past the end (%llu bytes)",
                       (unsigned long long)data_off, (unsigned long long)g->size);
    if ((rc = place(g, data_off)))
        return rc;
    return check_unique(g);
}

/* ---- translation to the llq view ---- */

/* Canonical order: tok_embeddings, each layer in docs/FORMAT.md's order, norm, output. */
static uint64_t order_of(const char *llq_name)
{
    static const char *const per_layer[] = {"attention_norm.weight", "attention.wq.weight", "attention.wk.weight",
                                            "attention.wv.weight", "attention.wo.weight", "ffn_norm.weight",
                                            "feed_forward.w1.weight", "feed_forward.w2.weight",
                                            "feed_forward.w3.weight"};
    unsigned l;
    if (!strcmp(llq_name, "tok_embeddings.weight"))
        return 0;
    if (!strcmp(llq_name, "norm.weight"))
        return UINT64_MAX - 1;
    if (!strcmp(llq_name, "output.weight"))
        return UINT64_MAX;
    if (sscanf(llq_name, "layers.%u.", &l) == 1)
        for (uint64_t k = 0; k < sizeof per_layer / sizeof per_layer[0]; k++) {
            const char *dot = strchr(llq_name + 7, '.');
            if (dot && !strcmp(dot + 1, per_layer[k]))
                return 1 + (uint64_t)l * 16 + k;
        }
    return UINT64_MAX - 2;
}

static int hparams_of(gctx *g, llq_hparams *hp, const char *arch)
{
    char k[160];
    int rc = 0;
    memset(hp, 0, sizeof *hp);
    snprintf(hp->arch, sizeof hp->arch, "llama");
#define U32(field, name, req, def) \
    if (!rc) { snprintf(k, sizeof k, "%s.%s", arch, name); rc = get_u32(g, k, &hp->field, req, def); }
    U32(dim, "embedding_length", 1, 0)
    U32(n_layers, "block_count", 1, 0)
    U32(n_heads, "attention.head_count", 1, 0)
    U32(n_kv_heads, "attention.head_count_kv", 0, hp->n_heads)
    U32(ffn_dim, "feed_forward_length", 1, 0)
    U32(context_length, "context_length", 0, 0)
    U32(vocab_size, "vocab_size", 0, 0)
#undef U32
    if (!rc) {
        snprintf(k, sizeof k, "%s.attention.layer_norm_rms_epsilon", arch);
        rc = get_f32(g, k, &hp->norm_eps, 1, 0);
    }
    if (!rc) {
        snprintf(k, sizeof k, "%s.rope.freq_base", arch);
        rc = get_f32(g, k, &hp->rope_theta, 0, 10000.0f);
    }
    uint32_t rot = 0;
    if (!rc) {
        snprintf(k, sizeof k, "%s.rope.dimension_count", arch);
        rc = get_u32(g, k, &rot, 0, 0);
    }
    if (!rc && rot && hp->n_heads && rot != hp->dim / hp->n_heads)
        rc = llq_err(LLQ_EUNSUPPORTED, "%s = %u: rotary embedding over part of a head (head size %u) is not "
                     "supported", k, rot, hp->dim / hp->n_heads);
    if (!rc) {
        snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
        const char *s;
        uint64_t n;
        if (!(rc = get_str(g, k, &s, &n)) && s && !(n == 4 && !memcmp(s, "none", 4)))
            rc = llq_err(LLQ_EUNSUPPORTED, "%s = '%.*s': rope scaling is not supported yet", k, (int)(n > 64 ? 64 : n), s);
    }
    return rc;
}

/* tokenizer.ggml.* (model "llama": SentencePiece) -> tokenizer.* (docs/FORMAT.md section 6). Other tokenizer
 * models are left out (the view then has no tokenizer; ppl/drift take token ids). */
static int tokenizer_meta(gctx *g, llq_writer *w)
{
    const char *model;
    uint64_t mlen;
    const gkv *tok = find_kv(g, "tokenizer.ggml.tokens"), *sc = find_kv(g, "tokenizer.ggml.scores"),
              *ty = find_kv(g, "tokenizer.ggml.token_type");
    int rc = get_str(g, "tokenizer.ggml.model", &model, &mlen);
    if (rc || !model || !(mlen == 5 && !memcmp(model, "llama", 5)))
        return rc;
    if (!tok || tok->type != GV_ARR || tok->etype != GV_STR)
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.tokens is missing or not an array of strings");
    uint64_t n = tok->len;
    if (n == 0 || n > MAX_TOKENS)
        return llq_err(LLQ_ELIMIT, "tokenizer.ggml.tokens has %llu entries (1..%u)", (unsigned long long)n,
                       MAX_TOKENS);
    if (sc && (sc->type != GV_ARR || sc->etype != GV_F32 || sc->len != n))
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.scores is not %llu f32 values", (unsigned long long)n);
    if (ty && (ty->type != GV_ARR || ty->etype != GV_I32 || ty->len != n))
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.token_type is not %llu i32 values", (unsigned long long)n);
    const char **strs = malloc(n * sizeof *strs);
    uint64_t *lens = malloc(n * sizeof *lens);
    float *zeros = NULL;
    int32_t *normal = NULL;
    if (!strs || !lens) {
        rc = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    cur c = {tok->val, g->map + g->size};
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *s = NULL;
        take_str(&c, &s, &lens[i]); /* checked at parse */
        strs[i] = (const char *)s;
    }
    if ((!sc && !(zeros = calloc(n, sizeof *zeros))) || (!ty && !(normal = malloc(n * sizeof *normal)))) {
        rc = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    for (uint64_t i = 0; normal && i < n; i++)
        normal[i] = 1;
    uint32_t bos = 0, eos = 0, unk = 0, pad = 0;
    int add_space = 1;
    const gkv *as = find_kv(g, "tokenizer.ggml.add_space_prefix");
    if (as) {
        if (as->type != GV_BOOL) {
            rc = llq_err(LLQ_EFORMAT, "tokenizer.ggml.add_space_prefix is not a bool");
            goto done;
        }
        add_space = as->val[0];
    }
    static const char sp[] = "sentencepiece", ident[] = "identity";
    if ((rc = get_u32(g, "tokenizer.ggml.bos_token_id", &bos, 0, 1)) ||
        (rc = get_u32(g, "tokenizer.ggml.eos_token_id", &eos, 0, 2)) ||
        (rc = get_u32(g, "tokenizer.ggml.unknown_token_id", &unk, 0, 0)) ||
        (rc = get_u32(g, "tokenizer.ggml.padding_token_id", &pad, 0, UINT32_MAX)))
        goto done;
    if (bos > INT32_MAX || eos > INT32_MAX || unk > INT32_MAX || (pad != UINT32_MAX && pad > INT32_MAX)) {
        rc = llq_err(LLQ_EFORMAT, "tokenizer.ggml.*_token_id out of range");
        goto done;
    }
    if ((rc = llq_writer_meta_str(w, "tokenizer.model", sp, sizeof sp - 1)) ||
        (rc = llq_writer_meta_u32(w, "tokenizer.spm.model_type", 2)) ||
        (rc = llq_writer_meta_arr_str(w, "tokenizer.pieces", strs, lens, n)) ||
        (rc = llq_writer_meta_arr(w, "tokenizer.scores", LLQ_META_F32, sc ? (const void *)sc->val : zeros, n)) ||
        (rc = llq_writer_meta_arr(w, "tokenizer.types", LLQ_META_I32, ty ? (const void *)ty->val : normal, n)) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.unk_id", (int32_t)unk)) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.bos_id", (int32_t)bos)) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.eos_id", (int32_t)eos)) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.pad_id", pad == UINT32_MAX ? -1 : (int32_t)pad)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.add_dummy_prefix", add_space)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.remove_extra_whitespaces", 0)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.escape_whitespaces", 1)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.byte_fallback", 1)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.split_digits", 0)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.split_by_whitespace", 1)) ||
        (rc = llq_writer_meta_str(w, "tokenizer.normalizer", ident, sizeof ident - 1)))
        goto done;
done:
    free(strs);
    free(lens);
    free(zeros);
    free(normal);
    return rc;
}

/* Every scalar or string GGUF key as gguf.<key>; the recipe llq wrote itself (llq.quant.*) back as quant.*. */
static int passthrough_meta(gctx *g, llq_writer *w)
{
    char key[LLQ_MAX_NAME + 8];
    int rc = 0;
    for (uint64_t i = 0; !rc && i < g->n_kv; i++) {
        const gkv *kv = &g->kv[i];
        int own = kv->klen > 10 && !memcmp(kv->key, "llq.quant.", 10);
        if (own)
            snprintf(key, sizeof key, "%.*s", (int)kv->klen - 4, kv->key + 4);
        else
            snprintf(key, sizeof key, "gguf.%.*s", (int)kv->klen, kv->key);
        if (strlen(key) > LLQ_MAX_NAME)
            continue;
        uint64_t u;
        switch (kv->type) {
        case GV_STR: rc = llq_writer_meta_str(w, key, (const char *)kv->val, (size_t)kv->len); break;
        case GV_BOOL: rc = llq_writer_meta_bool(w, key, kv->val[0]); break;
        case GV_F32: { float f; memcpy(&f, kv->val, 4); rc = llq_writer_meta_f32(w, key, f); break; }
        case GV_F64: { double d; memcpy(&d, kv->val, 8); rc = llq_writer_meta_f64(w, key, d); break; }
        case GV_I8: case GV_I16: case GV_I32: case GV_I64:
            if (kv_uint(kv, &u)) { /* negative */
                int64_t s = kv->type == GV_I64 ? (int64_t)rd64(kv->val) : kv->type == GV_I32 ? (int32_t)rd32(kv->val)
                          : kv->type == GV_I16 ? (int16_t)(uint16_t)(kv->val[0] | kv->val[1] << 8) : (int8_t)kv->val[0];
                rc = llq_writer_meta_i32(w, key, s < INT32_MIN ? INT32_MIN : (int32_t)s);
                break;
            }
            /* fall through */
        case GV_U8: case GV_U16: case GV_U32: case GV_U64:
            kv_uint(kv, &u);
            rc = u <= UINT32_MAX ? llq_writer_meta_u32(w, key, (uint32_t)u) : llq_writer_meta_u64(w, key, u);
            break;
        case GV_ARR:
            if (kv->klen > 4 && !memcmp(kv->key, "llq.", 4) && kv->etype == GV_STR) { /* llq's string lists */
                const char **s = malloc((kv->len ? kv->len : 1) * sizeof *s);
                uint64_t *l = malloc((kv->len ? kv->len : 1) * sizeof *l);
                cur c = {kv->val, g->map + g->size};
                for (uint64_t j = 0; s && l && j < kv->len; j++) {
                    const uint8_t *b = NULL;
                    take_str(&c, &b, &l[j]);
                    s[j] = (const char *)b;
                }
                rc = s && l ? llq_writer_meta_arr_str(w, key, s, l, kv->len) : llq_err(LLQ_ENOMEM, "out of memory");
                free(s);
                free(l);
            }
            break;
        default: break;
        }
    }
    return rc;
}

static int build_meta(llq_file *f, gctx *g, const llq_hparams *hp, const char *path)
{
    llq_writer *w = NULL;
    const char *name;
    uint64_t nlen, size;
    int rc = fmt_meta_writer_new(&w, "GGUF metadata");
    if (rc)
        return rc;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    uint64_t blen = strlen(base);
    static const char layout[] = "gguf";
    if ((rc = llq_hparams_write(w, hp)) || (rc = get_str(g, "general.name", &name, &nlen)) ||
        (name && (rc = llq_writer_meta_str(w, "general.name", name, (size_t)nlen))) ||
        (rc = llq_writer_meta_str(w, "provenance.source_layout", layout, sizeof layout - 1)) ||
        (rc = llq_writer_meta_arr_str(w, "provenance.source_files", &base, &blen, 1)) ||
        (rc = llq_writer_meta_u32(w, "gguf.version", g->version)) || (rc = tokenizer_meta(g, w)) ||
        (rc = passthrough_meta(g, w)) || (rc = fmt_meta_writer_take(w, &f->meta_buf, &size)))
        goto done;
    rc = fmt_parse_meta(f, f->meta_buf, size);
done:
    llq_writer_free(w);
    return rc;
}

static const gti *find_ti_gguf(const gctx *g, const char *name)
{
    size_t n = strlen(name);
    for (uint64_t i = 0; i < g->n_ti; i++)
        if (g->ti[i].nlen == n && !memcmp(g->ti[i].name, name, n))
            return &g->ti[i];
    return NULL;
}

static const gti *find_ti_llq(const gctx *g, const char *name)
{
    for (uint64_t i = 0; i < g->n_ti; i++)
        if (!strcmp(g->ti[i].llq_name, name))
            return &g->ti[i];
    return NULL;
}

static int build_tensors(llq_file *f, gctx *g)
{
    int rc = LLQ_OK;
    for (uint64_t i = 0; i < g->n_ti; i++) {
        gti *t = &g->ti[i];
        char nm[LLQ_MAX_NAME + 1];
        snprintf(nm, sizeof nm, "%.*s", (int)t->nlen, t->name);
        if (!gguf_name_to_llq(t->llq_name, sizeof t->llq_name, nm))
            return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' is not one of the llama model's tensors llq knows", nm);
        t->order = order_of(t->llq_name);
    }
    int tied = g->n_ti && !find_ti_llq(g, "output.weight") && find_ti_llq(g, "tok_embeddings.weight");
    size_t n = (size_t)g->n_ti + (size_t)tied;
    if (!(f->tensors = calloc(n ? n : 1, sizeof *f->tensors)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    /* canonical order: a stable sort of the infos by order key */
    gti **v = malloc((g->n_ti ? g->n_ti : 1) * sizeof *v);
    if (!v)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < g->n_ti; i++)
        v[i] = &g->ti[i];
    for (uint64_t i = 1; i < g->n_ti; i++) /* insertion sort: tensor counts are small and mostly ordered */
        for (uint64_t j = i; j > 0 && v[j - 1]->order > v[j]->order; j--) {
            gti *x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    for (uint64_t i = 0; !rc && i < g->n_ti; i++) {
        const gti *s = v[i];
        llq_tensor *t = &f->tensors[f->n_tensors];
        if (!(t->name = strdup(s->llq_name))) {
            rc = llq_err(LLQ_ENOMEM, "out of memory");
            break;
        }
        f->n_tensors++;
        t->type = s->llq;
        t->group = 0;
        t->n_dims = s->n_dims;
        t->n_elem = 1;
        for (uint32_t d = 0; d < s->n_dims; d++) {
            t->dims[d] = s->ne[s->n_dims - 1 - d];
            t->n_elem *= t->dims[d]; /* cannot overflow: the byte size did not */
        }
        t->row_len = s->ne[0];
        t->n_rows = t->n_elem / t->row_len;
        t->offset = s->off;
        if (llq_row_bytes(&t->row_bytes, t->type, t->group, t->row_len) || t->row_bytes != s->row_bytes) {
            rc = llq_err(LLQ_EFORMAT, "tensor '%.*s': row size mismatch", (int)s->nlen, s->name);
            break;
        }
        t->size = s->size;
        t->data = g->map + s->off;
    }
    free(v);
    if (!rc && tied) { /* llama.cpp reads token_embd for the output head when output.weight is absent */
        llq_tensor *t = &f->tensors[f->n_tensors];
        for (size_t i = 0; i < f->n_tensors; i++)
            if (!strcmp(f->tensors[i].name, "tok_embeddings.weight"))
                *t = f->tensors[i];
        if (!(t->name = strdup("output.weight")))
            rc = llq_err(LLQ_ENOMEM, "out of memory");
        else
            f->n_tensors++;
    }
    return rc;
}

int fmt_gguf_load(llq_file *f)
{
    gctx g = {.map = f->map, .size = f->size, .path = f->path};
    llq_hparams hp;
    const char *arch;
    uint64_t alen;
    char a[32];
    int rc = parse_gguf(&g);
    if (rc)
        goto done;
    if ((rc = get_str(&g, "general.architecture", &arch, &alen)))
        goto done;
    if (!arch) {
        rc = llq_err(LLQ_EFORMAT, "metadata key 'general.architecture' is missing");
        goto done;
    }
    if (!((alen == 5 && !memcmp(arch, "llama", 5)) || (alen == 7 && !memcmp(arch, "mistral", 7)))) {
        rc = llq_err(LLQ_EUNSUPPORTED, "architecture '%.*s' is not supported (llama, mistral)",
                     (int)(alen > 64 ? 64 : alen), arch);
        goto done;
    }
    snprintf(a, sizeof a, "%.*s", (int)alen, arch);
    f->gguf = 1;
    f->minor = g.version;
    if ((rc = hparams_of(&g, &hp, a)))
        goto done;
    if (!hp.vocab_size) {
        const gti *e = find_ti_gguf(&g, "token_embd.weight");
        hp.vocab_size = e && e->n_dims == 2 && e->ne[1] <= UINT32_MAX ? (uint32_t)e->ne[1] : 0;
    }
    if ((rc = build_meta(f, &g, &hp, f->path)) || (rc = build_tensors(f, &g)))
        goto done;
    rc = fmt_build_indices(f);
done:
    free(g.kv);
    free(g.ti);
    return rc;
}
