/* gguf_read.c — opens a GGUF file (v2/v3, llama.cpp's) as an llq_file: every count, length, offset, type and
 * alignment is checked against the file before use (overflow-safe), then the model is translated to llq's view:
 * canonical tensor names and shapes (docs/FORMAT.md), llq types, and the
 * metadata as .llq keys (llama.* hyper-parameters, tokenizer.*, provenance.*, and every scalar GGUF key under
 * gguf.*). Tensor bytes are used in place: every ggml type llq reads is an llq type of the same layout (format/
 * layout.c's table). llama.cpp's llama q/k rows are Meta's interleaved pairs, llq's canonical order: kept. */
#include "fileint.h"
#include "gguf.h"
#include "llq/hparams.h"

#include <math.h>
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

static const gti *find_ti_gguf(const gctx *g, const char *name);

/* Canonical order: the architecture table's slots (format/hparams.c); unknown names last. */
static uint64_t order_of(const char *llq_name, uint32_t n_layers)
{
    int slot = llq_arch_name_slot(llq_name, n_layers);
    return slot < 0 ? UINT64_MAX : (uint64_t)slot;
}

/* llama3 rope scaling from llama.cpp's rope_freqs divisors: the parameters llq wrote under llq.rope_scaling.*, else
 * the ones Llama-3.x ships (factor = the largest divisor, low 1, high 4, original context 8192) or others of a small
 * grid; accepted when every divisor they give agrees to f32 rounding (1e-6), refused by name otherwise. */
static int rope_from_freqs(gctx *g, llq_hparams *hp, const gti *rf)
{
    uint32_t half = llq_hp_head_dim(hp) / 2;
    if (rf->ggml != GT_F32 || rf->n_dims != 1 || rf->ne[0] != half)
        return llq_err(LLQ_EFORMAT, "tensor '%s' must be f32 [%u] (head_dim / 2), not %s with %llu elements",
                       GGUF_ROPE_FREQS, half, gguf_type_name(rf->ggml), (unsigned long long)rf->ne[0]);
    const uint8_t *v = g->map + rf->off;
    float mx = 0;
    for (uint32_t i = 0; i < half; i++) {
        float x;
        memcpy(&x, v + 4 * i, 4);
        if (!(x >= 1 && x <= 1e6f))
            return llq_err(LLQ_EUNSUPPORTED, "tensor '%s': divisor %u is %g; llq represents llama3 scaling only "
                           "(divisors from 1 to its factor)", GGUF_ROPE_FREQS, i, (double)x);
        mx = x > mx ? x : mx;
    }
    static const float lows[] = {1, 2, 0.5f, 4}, highs[] = {4, 8, 2, 16, 32};
    static const uint32_t origs[] = {8192, 4096, 2048, 16384, 32768, 65536, 131072, 1024};
    llq_hparams c = *hp;
    double fr[LLQ_HP_MAX_HEAD_DIM / 2], base[LLQ_HP_MAX_HEAD_DIM / 2];
    c.rope_scaling = LLQ_ROPE_NONE;
    llq_hp_rope_freqs(base, &c);
    c.rope_scaling = LLQ_ROPE_LLAMA3;
    int own = find_kv(g, "llq.rope_scaling.factor") != NULL;
    size_t n_try = own ? 1 : sizeof lows / sizeof lows[0] * (sizeof highs / sizeof highs[0]) * (sizeof origs / sizeof origs[0]);
    for (size_t k = 0; k < n_try; k++) {
        int rc;
        if (own) {
            if ((rc = get_f32(g, "llq.rope_scaling.factor", &c.rope_factor, 1, 0)) ||
                (rc = get_f32(g, "llq.rope_scaling.low_freq_factor", &c.rope_low_freq_factor, 1, 0)) ||
                (rc = get_f32(g, "llq.rope_scaling.high_freq_factor", &c.rope_high_freq_factor, 1, 0)) ||
                (rc = get_u32(g, "llq.rope_scaling.original_context_length", &c.rope_orig_context, 1, 0)))
                return rc;
        } else {
            size_t nh = sizeof highs / sizeof highs[0], no = sizeof origs / sizeof origs[0];
            c.rope_factor = mx;
            c.rope_low_freq_factor = lows[k / (nh * no)];
            c.rope_high_freq_factor = highs[k / no % nh];
            c.rope_orig_context = origs[k % no];
        }
        if (llq_hparams_check(&c, "rope_freqs", LLQ_HP_VOCAB_LATER))
            continue;
        llq_hp_rope_freqs(fr, &c);
        int same = 1;
        for (uint32_t i = 0; i < half && same; i++) {
            float x;
            memcpy(&x, v + 4 * i, 4);
            double want = base[i] / fr[i];
            same = fabs((double)x - want) <= 1e-6 * want;
        }
        if (same) {
            *hp = c;
            return LLQ_OK;
        }
    }
    return llq_err(LLQ_EUNSUPPORTED, "tensor '%s': its divisors are not Llama-3's rope scaling for any parameters llq "
                   "tried (factor %g; low_freq_factor 0.5..4, high_freq_factor 2..32, original context 1024..131072)",
                   GGUF_ROPE_FREQS, (double)mx);
}

static int hparams_of(gctx *g, llq_hparams *hp, const char *arch)
{
    char k[160];
    int rc = 0;
    memset(hp, 0, sizeof *hp);
    snprintf(hp->arch, sizeof hp->arch, "llama");
    if (!strcmp(arch, "qwen2")) {
        snprintf(hp->family, sizeof hp->family, "qwen2");
        hp->qkv_bias = 1;
    }
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
    uint32_t kl = 0, vl = 0, rot = 0, plain = hp->n_heads ? hp->dim / hp->n_heads : 0;
    if (!rc) {
        snprintf(k, sizeof k, "%s.attention.key_length", arch);
        rc = get_u32(g, k, &kl, 0, plain);
    }
    if (!rc) {
        snprintf(k, sizeof k, "%s.attention.value_length", arch);
        rc = get_u32(g, k, &vl, 0, kl);
    }
    if (!rc && vl != kl)
        rc = llq_err(LLQ_EUNSUPPORTED, "%s = %u differs from the key length %u: llq's heads have one size", k, vl, kl);
    if (!rc && kl != plain)
        hp->head_dim = kl;
    if (!rc) {
        snprintf(k, sizeof k, "%s.rope.dimension_count", arch);
        rc = get_u32(g, k, &rot, 0, 0);
    }
    if (!rc && rot && rot != kl)
        rc = llq_err(LLQ_EUNSUPPORTED, "%s = %u: rotary embedding over part of a head (head size %u) is not "
                     "supported", k, rot, kl);
    if (!rc) {
        snprintf(k, sizeof k, "%s.attention.sliding_window", arch);
        if (find_kv(g, k))
            rc = llq_err(LLQ_EUNSUPPORTED, "%s: llama.cpp's %s architecture ignores a sliding window, llq would apply "
                         "it; refused rather than a model that runs differently in the two", k, arch);
    }
    if (!rc) {
        snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
        const char *s;
        uint64_t n;
        if (!(rc = get_str(g, k, &s, &n)) && s && !(n == 4 && !memcmp(s, "none", 4))) {
            if (n == 6 && !memcmp(s, "linear", 6)) {
                snprintf(k, sizeof k, "%s.rope.scaling.factor", arch);
                if (!(rc = get_f32(g, k, &hp->rope_factor, 1, 0)) && hp->rope_factor != 1)
                    hp->rope_scaling = LLQ_ROPE_LINEAR;
            } else {
                rc = llq_err(LLQ_EUNSUPPORTED, "%s = '%.*s': rope scaling is not supported (linear; llama3 as "
                             "rope_freqs)", k, (int)(n > 64 ? 64 : n), s);
            }
        }
    }
    const gti *rf = find_ti_gguf(g, GGUF_ROPE_FREQS);
    if (!rc && rf && (hp->rope_scaling || strcmp(arch, "qwen2") == 0))
        rc = llq_err(LLQ_EUNSUPPORTED, "tensor '%s' with %s: llq represents rope_freqs only as llama3 scaling of the "
                     "llama architecture", GGUF_ROPE_FREQS, hp->rope_scaling ? "linear rope scaling" : arch);
    if (!rc && rf && hp->n_heads && !(rc = llq_hparams_check(hp, "GGUF", LLQ_HP_VOCAB_LATER)))
        rc = rope_from_freqs(g, hp, rf);
    if (!rc && !hp->qkv_bias && find_ti_gguf(g, "blk.0.attn_q.bias"))
        hp->qkv_bias = 1; /* llama with biases (llama.cpp's llama architecture loads them when present) */
    if (!rc)
        hp->tied = !find_ti_gguf(g, "output.weight");
    return rc;
}

/* FNV-1a of n bytes (the merges' token lookup). */
static uint32_t fnv(const uint8_t *s, uint64_t n)
{
    uint32_t h = 2166136261u;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

/* tokenizer.ggml.* (model "gpt2": byte-level BPE) -> the tokenizer.bpe.* keys of docs/FORMAT.md section 6.1, so that
 * llq tokenizes as the Hugging Face tokenizer.json the GGUF was made from: tokens with GPT-2's byte map undone (added
 * tokens, types 3 control / 4 user-defined, as their text), trailing "[PAD<id>]" unused tokens dropped, merges as
 * id pairs, the normalizer / pre-tokenizer / decoder of the pre name (format/gguf.c's table; llq's own exact parts
 * when llq wrote the file). A pre name llq does not know leaves the tokenizer out (*skipped set). */
static int bpe_meta(gctx *g, llq_writer *w, const gkv *tok, const gkv *ty, int *skipped)
{
    const char *pre_name, *js[3];
    uint64_t plen, jl[3];
    int rc = get_str(g, "tokenizer.ggml.pre", &pre_name, &plen);
    if (rc)
        return rc;
    const gguf_pre *pre = pre_name ? gguf_pre_by_name(pre_name, (size_t)plen) : NULL;
    if (!pre) {
        *skipped = 1;
        return LLQ_OK;
    }
    const gkv *mg = find_kv(g, "tokenizer.ggml.merges");
    if (!ty || ty->type != GV_ARR || ty->etype != GV_I32 || ty->len != tok->len)
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.token_type is not %llu i32 values", (unsigned long long)tok->len);
    if (!mg || mg->type != GV_ARR || mg->etype != GV_STR)
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.merges is missing or not an array of strings");
    uint64_t n = tok->len, keep = n, nm = mg->len;
    while (keep > 0 && (int32_t)rd32(ty->val + 4 * (keep - 1)) == 5)
        keep--; /* "[PAD<id>]" rows past the vocabulary */
    if (keep == 0)
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.tokens holds no token in use");
    if (nm > 8 * (uint64_t)MAX_TOKENS)
        return llq_err(LLQ_ELIMIT, "tokenizer.ggml.merges has %llu entries", (unsigned long long)nm);
    const char **strs = calloc(keep, sizeof *strs);
    uint64_t *lens = calloc(keep, sizeof *lens), total = 0;
    const uint8_t **spell = calloc(keep, sizeof *spell);
    uint64_t *slen = calloc(keep, sizeof *slen);
    uint32_t hmask = 1, *merge_ids = NULL, *added = calloc(keep, sizeof *added), *flags = calloc(keep, sizeof *flags);
    uint32_t n_added = 0;
    int32_t *types = calloc(keep, sizeof *types), *htab = NULL;
    uint8_t *blob = NULL;
    while (hmask < 2 * keep)
        hmask <<= 1;
    htab = malloc((size_t)hmask * sizeof *htab);
    merge_ids = malloc((nm ? nm : 1) * 2 * sizeof *merge_ids);
    if (!strs || !lens || !spell || !slen || !added || !flags || !types || !htab || !merge_ids) {
        rc = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    hmask--;
    cur c = {tok->val, g->map + g->size};
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *sp = NULL;
        uint64_t sl = 0;
        take_str(&c, &sp, &sl); /* checked at parse */
        if (i < keep) {
            spell[i] = sp, slen[i] = sl, total += sl;
            if (sl == 0 || sl > 2 * GGUF_PIECE_MAX) {
                rc = llq_err(LLQ_EFORMAT, "tokenizer token %llu has %llu bytes (1..%d)", (unsigned long long)i,
                             (unsigned long long)sl, 2 * GGUF_PIECE_MAX);
                goto done;
            }
        }
    }
    if (!(blob = malloc(total ? total : 1))) {
        rc = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i <= hmask; i++)
        htab[i] = -1;
    uint64_t at = 0;
    for (uint64_t i = 0; i < keep; i++) {
        int32_t t = (int32_t)rd32(ty->val + 4 * i);
        types[i] = t;
        strs[i] = (const char *)blob + at;
        if (t == 3 || t == 4) { /* added tokens: their text */
            memcpy(blob + at, spell[i], (size_t)slen[i]);
            lens[i] = slen[i];
            added[n_added] = (uint32_t)i;
            flags[n_added++] = t == 3 ? 2u : 0u; /* bit 1: special */
        } else if (t == 1 || t == 2) {
            long k = gguf_unicode_to_bytes(blob + at, (const char *)spell[i], (size_t)slen[i]);
            if (k <= 0 || k > GGUF_PIECE_MAX) {
                rc = llq_err(LLQ_EFORMAT, "tokenizer token %llu is not spelled with GPT-2's byte map",
                             (unsigned long long)i);
                goto done;
            }
            lens[i] = (uint64_t)k;
            uint32_t h = fnv(spell[i], slen[i]) & hmask;
            while (htab[h] >= 0)
                h = (h + 1) & hmask;
            htab[h] = (int32_t)i;
        } else {
            rc = llq_err(LLQ_EUNSUPPORTED, "tokenizer token %llu has type %d inside the vocabulary (byte-level BPE has "
                         "1 normal, 2 unknown, 3 control, 4 user-defined)", (unsigned long long)i, (int)t);
            goto done;
        }
        at += lens[i];
    }
    c = (cur){mg->val, g->map + g->size};
    for (uint64_t m = 0; m < nm; m++) {
        const uint8_t *sp = NULL, *sep;
        uint64_t sl = 0;
        take_str(&c, &sp, &sl);
        sep = sl > 1 ? memchr(sp + 1, ' ', (size_t)sl - 1) : NULL; /* llama.cpp splits at the first space after 1 */
        for (int side = 0; side < 2; side++) {
            const uint8_t *a0 = side ? sep + 1 : sp;
            uint64_t al = sep ? (side ? (uint64_t)(sp + sl - sep - 1) : (uint64_t)(sep - sp)) : 0;
            int32_t id = -1;
            for (uint32_t h = al ? fnv(a0, al) & hmask : 0; al && htab[h] >= 0; h = (h + 1) & hmask)
                if (slen[htab[h]] == al && !memcmp(spell[htab[h]], a0, (size_t)al)) {
                    id = htab[h];
                    break;
                }
            if (id < 0) {
                rc = llq_err(LLQ_EFORMAT, "tokenizer.ggml.merges[%llu] is not two tokens of the vocabulary",
                             (unsigned long long)m);
                goto done;
            }
            merge_ids[2 * m + (uint64_t)side] = (uint32_t)id;
        }
    }
    static const char *const jkeys[3] = {"llq.tokenizer.bpe.normalizer", "llq.tokenizer.bpe.pre_tokenizer",
                                         "llq.tokenizer.bpe.decoder"};
    const char *jdef[3] = {pre->normalizer, pre->pre_tokenizer, pre->decoder};
    for (int i = 0; i < 3; i++) {
        if ((rc = get_str(g, jkeys[i], &js[i], &jl[i])))
            goto done;
        if (!js[i])
            js[i] = jdef[i], jl[i] = strlen(jdef[i]);
    }
    uint32_t bos = 0, eos = 0, unk = 0, pad = 0;
    int add_bos = pre->ignore_merges; /* llama.cpp: llama-bpe adds BOS, qwen2 / smollm / gpt-2 do not */
    const gkv *ab = find_kv(g, "tokenizer.ggml.add_bos_token");
    if (ab && ab->type == GV_BOOL)
        add_bos = ab->val[0];
    if ((rc = get_u32(g, "tokenizer.ggml.bos_token_id", &bos, 0, UINT32_MAX)) ||
        (rc = get_u32(g, "tokenizer.ggml.eos_token_id", &eos, 0, UINT32_MAX)) ||
        (rc = get_u32(g, "tokenizer.ggml.unknown_token_id", &unk, 0, UINT32_MAX)) ||
        (rc = get_u32(g, "tokenizer.ggml.padding_token_id", &pad, 0, UINT32_MAX)))
        goto done;
#define ID(v) ((v) < keep ? (int32_t)(v) : -1)
    static const char src[] = "tokenizer.json", bpe[] = "bpe";
    if ((rc = llq_writer_meta_str(w, "tokenizer.model", bpe, sizeof bpe - 1)) ||
        (rc = llq_writer_meta_str(w, "tokenizer.bpe.source", src, sizeof src - 1)) ||
        (rc = llq_writer_meta_arr_str(w, "tokenizer.pieces", strs, lens, keep)) ||
        (rc = llq_writer_meta_arr(w, "tokenizer.types", LLQ_META_I32, types, keep)) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.unk_id", ID(unk))) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.bos_id", add_bos ? ID(bos) : -1)) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.eos_id", ID(eos))) ||
        (rc = llq_writer_meta_i32(w, "tokenizer.pad_id", ID(pad))) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.bpe.rank_merges", 0)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.bpe.byte_level", 1)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.bpe.ignore_merges", pre->ignore_merges)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.bpe.byte_fallback", 0)) ||
        (rc = llq_writer_meta_bool(w, "tokenizer.bpe.fuse_unk", 0)) ||
        (rc = llq_writer_meta_arr(w, "tokenizer.bpe.merges", LLQ_META_U32, merge_ids, 2 * nm)) ||
        (rc = llq_writer_meta_arr(w, "tokenizer.bpe.added_ids", LLQ_META_U32, added, n_added)) ||
        (rc = llq_writer_meta_arr(w, "tokenizer.bpe.added_flags", LLQ_META_U32, flags, n_added)) ||
        (rc = llq_writer_meta_str(w, "tokenizer.bpe.normalizer", js[0], (size_t)jl[0])) ||
        (rc = llq_writer_meta_str(w, "tokenizer.bpe.pre_tokenizer", js[1], (size_t)jl[1])) ||
        (rc = llq_writer_meta_str(w, "tokenizer.bpe.decoder", js[2], (size_t)jl[2])))
        goto done;
#undef ID
done:
    free(strs), free(lens), free(spell), free(slen), free(added), free(flags), free(types), free(htab);
    free(merge_ids), free(blob);
    return rc;
}

static int tokenizer_meta(gctx *g, llq_writer *w)
{
    const char *model;
    uint64_t mlen;
    const gkv *tok = find_kv(g, "tokenizer.ggml.tokens"), *sc = find_kv(g, "tokenizer.ggml.scores"),
              *ty = find_kv(g, "tokenizer.ggml.token_type");
    int rc = get_str(g, "tokenizer.ggml.model", &model, &mlen), gpt2 = model && mlen == 4 && !memcmp(model, "gpt2", 4);
    if (rc || !model || !((mlen == 5 && !memcmp(model, "llama", 5)) || gpt2))
        return rc;
    if (!tok || tok->type != GV_ARR || tok->etype != GV_STR)
        return llq_err(LLQ_EFORMAT, "tokenizer.ggml.tokens is missing or not an array of strings");
    uint64_t n = tok->len;
    if (n == 0 || n > MAX_TOKENS)
        return llq_err(LLQ_ELIMIT, "tokenizer.ggml.tokens has %llu entries (1..%u)", (unsigned long long)n,
                       MAX_TOKENS);
    if (gpt2) {
        int skipped = 0;
        return bpe_meta(g, w, tok, ty, &skipped);
    }
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
        (rc = passthrough_meta(g, w)))
        goto done;
    const gti *rf = find_ti_gguf(g, GGUF_ROPE_FREQS); /* its exact values, for a byte-identical GGUF again */
    if (rf && hp->rope_scaling == LLQ_ROPE_LLAMA3 &&
        (rc = llq_writer_meta_arr(w, "gguf.rope_freqs", LLQ_META_F32, g->map + rf->off, rf->ne[0])))
        goto done;
    if ((rc = fmt_meta_writer_take(w, &f->meta_buf, &size)))
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

/* Canonical (Meta) row / element r of a NEOX q/k projection comes from Hugging Face's row neox_dst(r): within each
 * head of hd rows, Meta's row 2i + j is HF's row j·hd/2 + i. */
static uint64_t neox_dst(uint64_t r, uint32_t hd)
{
    uint64_t h = r / hd, q = r % hd;
    return h * hd + (q % 2) * (hd / 2) + q / 2;
}

static int build_tensors(llq_file *f, gctx *g, const llq_hparams *hp, int neox)
{
    int rc = LLQ_OK;
    uint64_t n_view = 0, owned = 0;
    uint32_t hd = llq_hp_head_dim(hp);
    if (neox && (rc = llq_hparams_check(hp, "GGUF", LLQ_HP_VOCAB_LATER))) /* hd sizes the row permutation */
        return rc;
    for (uint64_t i = 0; i < g->n_ti; i++) {
        gti *t = &g->ti[i];
        char nm[LLQ_MAX_NAME + 1];
        snprintf(nm, sizeof nm, "%.*s", (int)t->nlen, t->name);
        if (!strcmp(nm, GGUF_ROPE_FREQS)) { /* read into the rope scaling hyper-parameters */
            t->order = UINT64_MAX;
            continue;
        }
        if (!gguf_name_to_llq(t->llq_name, sizeof t->llq_name, nm))
            return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' is not one of the llama model's tensors llq knows", nm);
        t->order = order_of(t->llq_name, hp->n_layers);
        n_view++;
        int slot = llq_arch_name_slot(t->llq_name, hp->n_layers);
        uint32_t layer;
        const llq_arch_tensor *e = slot >= 0 ? llq_arch_slot((uint32_t)slot, hp->n_layers, &layer) : NULL;
        if (neox && e && e->permute) {
            uint64_t rows = t->n_dims == 1 ? t->ne[0] : t->size / t->row_bytes;
            if (t->n_dims > 2 || rows % hd || (t->n_dims == 1 && t->ggml != GT_F32 && t->ggml != GT_F16 &&
                                              t->ggml != GT_BF16))
                return llq_err(LLQ_EFORMAT, "tensor '%s': %s of %llu rows is not whole heads of %u rows", nm,
                               gguf_type_name(t->ggml), (unsigned long long)rows, hd);
            owned += (t->size + 63) / 64 * 64;
        }
    }
    if (owned && !(f->owned = malloc((size_t)owned)))
        return llq_err(LLQ_ENOMEM, "out of memory (%llu bytes for the q/k rows in llq's order)",
                       (unsigned long long)owned);
    if (!(f->tensors = calloc(n_view ? n_view : 1, sizeof *f->tensors)))
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
    uint64_t used = 0;
    for (uint64_t i = 0; !rc && i < n_view; i++) {
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
        int slot = llq_arch_name_slot(t->name, hp->n_layers);
        uint32_t layer;
        const llq_arch_tensor *e = slot >= 0 ? llq_arch_slot((uint32_t)slot, hp->n_layers, &layer) : NULL;
        if (neox && e && e->permute) { /* Hugging Face's (NEOX) rows -> llq's canonical (Meta's) */
            uint8_t *dst = f->owned + used;
            const uint8_t *src = t->data;
            if (t->n_dims == 1) {
                uint64_t es = t->row_bytes / t->row_len;
                for (uint64_t r = 0; r < t->row_len; r++)
                    memcpy(dst + r * es, src + neox_dst(r, hd) * es, (size_t)es);
            } else {
                for (uint64_t r = 0; r < t->n_rows; r++)
                    memcpy(dst + r * t->row_bytes, src + neox_dst(r, hd) * t->row_bytes, (size_t)t->row_bytes);
            }
            t->data = dst;
            used += (t->size + 63) / 64 * 64;
        }
    }
    free(v);
    return rc;
}

/* The model's BOS / EOS ids: llq's own (llq.bos_id, llq.eos_ids) when llq wrote the file, else the tokenizer's
 * (bos when it is added, eos, eot, eom). */
static int model_ids(gctx *g, llq_hparams *hp)
{
    const gkv *eo = find_kv(g, "llq.eos_ids"), *bo = find_kv(g, "llq.bos_id");
    uint32_t v = UINT32_MAX;
    int rc;
    if (bo || eo) {
        if (bo && (rc = get_u32(g, "llq.bos_id", &hp->bos_id, 1, 0)))
            return rc;
        hp->has_bos = bo != NULL;
        if (eo) {
            if (eo->type != GV_ARR || eo->etype != GV_U32 || eo->len > LLQ_MAX_EOS)
                return llq_err(LLQ_EFORMAT, "llq.eos_ids must be at most %u u32 values", LLQ_MAX_EOS);
            for (uint64_t i = 0; i < eo->len; i++)
                hp->eos_ids[i] = rd32(eo->val + 4 * i);
            hp->n_eos = (uint32_t)eo->len;
        }
        return LLQ_OK;
    }
    static const char *const eos_keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                                           "tokenizer.ggml.eom_token_id"};
    for (size_t i = 0; i < 3; i++) {
        if ((rc = get_u32(g, eos_keys[i], &v, 0, UINT32_MAX)))
            return rc;
        int dup = 0;
        for (uint32_t j = 0; j < hp->n_eos; j++)
            dup |= hp->eos_ids[j] == v;
        if (v != UINT32_MAX && !dup && (!hp->vocab_size || v < hp->vocab_size))
            hp->eos_ids[hp->n_eos++] = v;
    }
    const gkv *ab = find_kv(g, "tokenizer.ggml.add_bos_token");
    if ((rc = get_u32(g, "tokenizer.ggml.bos_token_id", &v, 0, UINT32_MAX)))
        return rc;
    if (v != UINT32_MAX && (!ab || (ab->type == GV_BOOL && ab->val[0])) && (!hp->vocab_size || v < hp->vocab_size)) {
        hp->has_bos = 1;
        hp->bos_id = v;
    }
    return LLQ_OK;
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
    if (!((alen == 5 && !memcmp(arch, "llama", 5)) || (alen == 7 && !memcmp(arch, "mistral", 7)) ||
          (alen == 5 && !memcmp(arch, "qwen2", 5)))) {
        rc = llq_err(LLQ_EUNSUPPORTED, "architecture '%.*s' is not supported (llama, mistral, qwen2)",
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
    if ((rc = model_ids(&g, &hp)) || (rc = build_meta(f, &g, &hp, f->path)) ||
        (rc = build_tensors(f, &g, &hp, !strcmp(a, "qwen2"))))
        goto done;
    rc = fmt_build_indices(f);
done:
    free(g.kv);
    free(g.ti);
    return rc;
}
