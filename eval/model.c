/* model.c — the LLaMA forward pass (see include/llq/model.h): embedding, transformer blocks with a KV cache
 * shared by windows and generation, final norm and output head. Matmuls go through llq_matmul (any weight
 * type); attention runs per (head, block of queries) on the pool. */
#include "llq/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QB 64 /* queries per attention task */
#define SCRATCH_ROWS(group) ((group) > QB ? (group) : QB) /* score rows per thread: QB queries, or one group */

static struct llq_win_cache *win_cache_new(void);
static void win_cache_drop(struct llq_win_cache *c);

static void *xmalloc_f(size_t n_floats)
{
    return malloc(n_floats ? n_floats * sizeof(float) : 1);
}

int llq_model_new(llq_model **out, const llq_hparams *hp, int n_threads)
{
    *out = NULL;
    int err = llq_hparams_check(hp, "model", 0);
    if (err)
        return err;
    llq_model *m = calloc(1, sizeof *m);
    if (!m || !(m->layers = calloc(hp->n_layers, sizeof *m->layers))) {
        free(m);
        return llq_err(LLQ_ENOMEM, "out of memory (model)");
    }
    m->hp = *hp;
    if (!(m->win_cache = win_cache_new())) {
        llq_model_free(m);
        return llq_err(LLQ_ENOMEM, "out of memory (model)");
    }
    m->max_pos = hp->context_length ? hp->context_length : (1u << 20);
    err = llq_pool_new(&m->pool, n_threads);
    if (err) {
        llq_model_free(m);
        return err;
    }
    *out = m;
    return LLQ_OK;
}

void llq_model_free(llq_model *m)
{
    if (!m)
        return;
    llq_pool_free(m->pool);
    if (m->win_cache)
        win_cache_drop(m->win_cache);
    free(m->win_cache);
    free(m->layers);
    free(m->owned);
    free(m);
}

/* A 2-D weight as an llq_mat, with a kernel for its type. */
static int get_mat(llq_mat *out, const llq_file *f, const char *name)
{
    const llq_tensor *t = llq_tensor_find(f, name);
    if (!t || t->n_dims != 2)
        return llq_err(LLQ_EFORMAT, "%s: tensor '%s' is missing or not 2-D", llq_file_path(f), name);
    if (!llq_matmul_supports(t->type))
        return llq_err(LLQ_EUNSUPPORTED, "%s: tensor '%s' has type %s, which no matmul kernel handles",
                       llq_file_path(f), name, llq_type_name(t->type) ? llq_type_name(t->type) : "?");
    *out = (llq_mat){.type = t->type, .group = t->group, .rows = t->dims[0], .cols = t->dims[1],
                     .row_bytes = t->row_bytes, .data = t->data};
    return LLQ_OK;
}

/* A 1-D tensor (norm weight, bias) as f32. */
static int get_vec(float *dst, const llq_file *f, const char *name, uint32_t dim)
{
    const llq_tensor *t = llq_tensor_find(f, name);
    if (!t || t->n_dims != 1 || t->dims[0] != dim || llq_type_is_quant(t->type))
        return llq_err(LLQ_EFORMAT, "%s: tensor '%s' is missing or not [%u] f32/f16/bf16", llq_file_path(f), name,
                       dim);
    llq_row_to_f32(dst, t->data, t->type, t->group, dim);
    return LLQ_OK;
}

int llq_model_open(llq_model **out, const llq_file *f, int n_threads)
{
    llq_hparams hp;
    llq_model *m = NULL;
    char name[128];
    *out = NULL;
    int err = llq_hparams_read(&hp, f);
    if (!err)
        err = llq_hparams_check_tensors(&hp, f);
    if (!err)
        err = llq_model_new(&m, &hp, n_threads);
    if (err)
        goto done;
    m->file = f;
    size_t q_dim = llq_hp_q_dim(&hp), kv_dim = llq_hp_kv_dim(&hp);
    size_t per_layer = 2 * (size_t)hp.dim + (hp.qkv_bias ? q_dim + 2 * kv_dim : 0);
    if (!(m->owned = xmalloc_f((size_t)hp.n_layers * per_layer + hp.dim))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (norms)");
        goto done;
    }
    if ((err = get_mat(&m->tok_embeddings, f, llq_global_tensors[LLQ_GT_EMBED].name)))
        goto done;
    if (hp.tied) /* one matrix: the embedding lookup and the output head */
        m->output = m->tok_embeddings;
    else if ((err = get_mat(&m->output, f, llq_global_tensors[LLQ_GT_OUTPUT].name)))
        goto done;
    float *nw = m->owned + (size_t)hp.n_layers * per_layer;
    if ((err = get_vec(nw, f, llq_global_tensors[LLQ_GT_NORM].name, hp.dim)))
        goto done;
    m->norm = nw;
    static const enum llq_lt lin[7] = {LLQ_LT_WQ, LLQ_LT_WK, LLQ_LT_WV, LLQ_LT_WO, LLQ_LT_W1, LLQ_LT_W2, LLQ_LT_W3};
    for (uint32_t l = 0; l < hp.n_layers; l++) {
        llq_layer_w *L = &m->layers[l];
        llq_mat *mats[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (int i = 0; i < 7; i++) {
            llq_arch_layer_name(name, sizeof name, l, lin[i]);
            if ((err = get_mat(mats[i], f, name)))
                goto done;
        }
        float *an = m->owned + (size_t)l * per_layer, *fn = an + hp.dim;
        llq_arch_layer_name(name, sizeof name, l, LLQ_LT_ATTN_NORM);
        if ((err = get_vec(an, f, name, hp.dim)))
            goto done;
        llq_arch_layer_name(name, sizeof name, l, LLQ_LT_FFN_NORM);
        if ((err = get_vec(fn, f, name, hp.dim)))
            goto done;
        L->attention_norm = an;
        L->ffn_norm = fn;
        if (hp.qkv_bias) {
            float *bq = fn + hp.dim, *bk = bq + q_dim, *bv = bk + kv_dim;
            static const enum llq_lt bias[3] = {LLQ_LT_WQ_BIAS, LLQ_LT_WK_BIAS, LLQ_LT_WV_BIAS};
            float *dst[3] = {bq, bk, bv};
            for (int i = 0; i < 3; i++) {
                llq_arch_layer_name(name, sizeof name, l, bias[i]);
                if ((err = get_vec(dst[i], f, name, (uint32_t)(i ? kv_dim : q_dim))))
                    goto done;
            }
            L->bq = bq, L->bk = bk, L->bv = bv;
        }
    }
    *out = m;
    m = NULL;
done:
    llq_model_free(m);
    return err;
}

/* ---- pieces ---- */

/* out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ w (Meta's RMSNorm; the sum of squares in f64). */
static void rmsnorm(float *out, const float *x, const float *w, size_t n, size_t dim, float eps)
{
    for (size_t t = 0; t < n; t++) {
        const float *xt = x + t * dim;
        double s4[4] = {0, 0, 0, 0}; /* four chains: a one-token step is otherwise bound by the add latency */
        size_t k = 0;
        for (; k + 4 <= dim; k += 4)
            for (int j = 0; j < 4; j++)
                s4[j] += (double)xt[k + j] * xt[k + j];
        for (; k < dim; k++)
            s4[0] += (double)xt[k] * xt[k];
        double ss = (s4[0] + s4[1]) + (s4[2] + s4[3]);
        float r = 1.0f / sqrtf((float)(ss / (double)dim) + eps);
        for (size_t i = 0; i < dim; i++)
            out[t * dim + i] = (xt[i] * r) * w[i];
    }
}

/* Rotates the pairs (2i, 2i+1) of every head of v[n][n_heads*hd] by pos·freq[i] (freq[i] = theta^(-2i/hd)),
 * pos = pos0 + t; cs[t][i] = {cos, sin} of that angle (rope_table). */
static void rope(float *v, size_t n, size_t ld, uint32_t n_heads, uint32_t hd, const float *cs)
{
    for (size_t t = 0; t < n; t++)
        for (uint32_t i = 0; i < hd / 2; i++) {
            float c = cs[(t * (hd / 2) + i) * 2], s = cs[(t * (hd / 2) + i) * 2 + 1];
            for (uint32_t h = 0; h < n_heads; h++) {
                float *p = v + t * ld + (size_t)h * hd + 2 * i;
                float x0 = p[0], x1 = p[1];
                p[0] = x0 * c - x1 * s;
                p[1] = x0 * s + x1 * c;
            }
        }
}

/* cs[t][i] = {cos, sin} of (pos0 + t)·freq[i] (angle in f64): computed once per step, used by every layer's q
 * and k. */
static void rope_table(float *cs, size_t n, uint32_t hd, uint32_t pos0, const double *freq)
{
    for (size_t t = 0; t < n; t++) {
        double pos = (double)pos0 + (double)t;
        for (uint32_t i = 0; i < hd / 2; i++) {
            double a = pos * freq[i];
            cs[(t * (hd / 2) + i) * 2] = (float)cos(a);
            cs[(t * (hd / 2) + i) * 2 + 1] = (float)sin(a);
        }
    }
}

struct attn_task {
    const llq_model *m;
    const float *q;  /* [n][q_dim] */
    const float *kc, *vc; /* [pos0+n][kv_dim] */
    float *out;      /* [n][q_dim] */
    float *scratch;  /* per thread SCRATCH_ROWS × L */
    size_t n;
    uint32_t pos0;
    int next;        /* next task index (atomic) */
    int n_tasks;
};

static void attn_run(void *ud, int tid, int nt)
{
    (void)nt;
    struct attn_task *a = ud;
    const llq_hparams *hp = &a->m->hp;
    uint32_t hd = llq_hp_head_dim(hp), q_dim = llq_hp_q_dim(hp), kv_dim = llq_hp_kv_dim(hp), W = hp->sliding_window;
    uint32_t group = hp->n_heads / hp->n_kv_heads;
    size_t L_all = a->pos0 + a->n, n_qb = (a->n + QB - 1) / QB;
    float *S = a->scratch + (size_t)tid * SCRATCH_ROWS(group) * L_all;
    float scale = sqrtf((float)hd);
    for (;;) {
        int task = __atomic_fetch_add(&a->next, 1, __ATOMIC_RELAXED);
        if (task >= a->n_tasks)
            break;
        if (a->n == 1) { /* one query (generation): task = kv head, its group of query heads in one pass */
            size_t g = (size_t)task, o = g * group * hd, lo = W && L_all > W ? L_all - W : 0;
            llq_attn_one(a->out + o, a->q + o, a->kc + lo * kv_dim + g * hd, a->vc + lo * kv_dim + g * hd, kv_dim,
                         L_all - lo, hd, group, scale, S);
            continue;
        }
        uint32_t h = (uint32_t)((size_t)task / n_qb);
        size_t i0 = ((size_t)task % n_qb) * QB, nq = a->n - i0 < QB ? a->n - i0 : QB;
        size_t L = a->pos0 + i0 + nq; /* keys the last query of the block sees */
        const float *qh = a->q + i0 * q_dim + (size_t)h * hd;
        const float *kh = a->kc + (size_t)(h / group) * hd, *vh = a->vc + (size_t)(h / group) * hd;
        llq_gemm_f32(S, L, qh, q_dim, nq, kh, kv_dim, L, hd);
        for (size_t i = 0; i < nq; i++) {
            float *s = S + i * L;
            size_t len = a->pos0 + i0 + i + 1; /* causal: keys 0..pos */
            size_t lo = W && len > W ? len - W : 0; /* sliding window: the last W keys only */
            llq_softmax(s + lo, len - lo, scale);
            if (a->m->arith == LLQ_ARITH_LLAMACPP)
                llq_act_round(s + lo, 1, len - lo, LLQ_ACT_F16);
            for (size_t j = 0; j < lo; j++)
                s[j] = 0;
            for (size_t j = len; j < L; j++)
                s[j] = 0;
        }
        llq_gemm_f32_nn(a->out + i0 * q_dim + (size_t)h * hd, q_dim, S, L, nq, vh, kv_dim, hd, L);
    }
}

/* Per-call buffers of one block. */
struct bufs {
    float *xn, *q, *att, *y, *h1, *h3;
    double *freq;
    float *xr;       /* llama.cpp arithmetic: a rounded copy of a matmul's input [n][max(dim, q_dim, ffn)] */
    float *cs;       /* [n][hd/2][2] rotary cos/sin of positions cs_pos0.. */
    uint32_t cs_pos0; /* UINT32_MAX: cs not filled yet */
};

static void bufs_free(struct bufs *b)
{
    free(b->xn), free(b->q), free(b->att), free(b->y), free(b->h1), free(b->h3), free(b->freq), free(b->cs);
    free(b->xr);
}

static int bufs_alloc(struct bufs *b, const llq_hparams *hp, size_t n)
{
    size_t dim = hp->dim, ffn = hp->ffn_dim, hd = llq_hp_head_dim(hp), q_dim = llq_hp_q_dim(hp);
    memset(b, 0, sizeof *b);
    b->xn = xmalloc_f(n * dim);
    b->q = xmalloc_f(n * q_dim);
    b->att = xmalloc_f(n * q_dim);
    b->y = xmalloc_f(n * dim);
    b->h1 = xmalloc_f(n * ffn);
    b->h3 = xmalloc_f(n * ffn);
    b->freq = malloc((hd / 2 ? hd / 2 : 1) * sizeof *b->freq);
    b->cs = xmalloc_f(n * hd);
    b->cs_pos0 = UINT32_MAX;
    size_t widest = ffn > dim ? ffn : dim;
    b->xr = xmalloc_f(n * (q_dim > widest ? q_dim : widest));
    if (!b->xn || !b->q || !b->att || !b->y || !b->h1 || !b->h3 || !b->freq || !b->cs || !b->xr) {
        bufs_free(b);
        return llq_err(LLQ_ENOMEM, "out of memory (activations for %zu tokens)", n);
    }
    llq_hp_rope_freqs(b->freq, hp);
    return LLQ_OK;
}

/* y = x·Wᵀ for each of the count matrices; with llama.cpp arithmetic the input is first rounded, per matrix, as
 * ggml rounds it for that weight type (into xr: x is shared and stays as it is). */
static int mm(const llq_model *m, float *const *y, const float *x, size_t n, const llq_mat *const *W, int count,
              float *xr)
{
    if (m->arith != LLQ_ARITH_LLAMACPP)
        return llq_matmul_act(y, x, n, W, count, m->act, m->pool);
    int err = LLQ_OK;
    for (int i = 0; !err && i < count; i++) {
        memcpy(xr, x, n * W[i]->cols * sizeof *xr);
        llq_act_round(xr, n, (size_t)W[i]->cols, llq_act_kind(W[i]->type));
        err = llq_matmul(y[i], xr, n, W[i], m->pool);
    }
    return err;
}

/* Block `layer` on x[n][dim] at positions pos0.., with this layer's cache kc/vc ([pos0+n][kv_dim], rows pos0..
 * written here). */
static int block(const llq_model *m, int layer, float *x, size_t n, uint32_t pos0, float *kc, float *vc,
                 struct bufs *b, llq_capture_fn cb, void *ud)
{
    const llq_hparams *hp = &m->hp;
    const llq_layer_w *L = &m->layers[layer];
    size_t dim = hp->dim, ffn = hp->ffn_dim, hd = llq_hp_head_dim(hp), q_dim = llq_hp_q_dim(hp);
    size_t kv_dim = llq_hp_kv_dim(hp);
    int err;
    float *S = NULL;

    rmsnorm(b->xn, x, L->attention_norm, n, dim, hp->norm_eps);
    if (cb && (err = cb(ud, layer, LLQ_CAP_QKV, b->xn, n, dim)))
        return err;
    float *qkv_y[3] = {b->q, kc + (size_t)pos0 * kv_dim, vc + (size_t)pos0 * kv_dim};
    const llq_mat *qkv_w[3] = {&L->wq, &L->wk, &L->wv};
    if ((err = mm(m, qkv_y, b->xn, n, qkv_w, 3, b->xr)))
        return err;
    if (L->bq) { /* Qwen2: q/k/v biases (rows in canonical order, like the weights) */
        const float *bias[3] = {L->bq, L->bk, L->bv};
        size_t rows[3] = {q_dim, kv_dim, kv_dim};
        for (int j = 0; j < 3; j++)
            for (size_t t = 0; t < n; t++)
                for (size_t r = 0; r < rows[j]; r++)
                    qkv_y[j][t * rows[j] + r] += bias[j][r];
    }
    if (b->cs_pos0 != pos0) {
        rope_table(b->cs, n, (uint32_t)hd, pos0, b->freq);
        b->cs_pos0 = pos0;
    }
    rope(b->q, n, q_dim, hp->n_heads, (uint32_t)hd, b->cs);
    rope(kc + (size_t)pos0 * kv_dim, n, kv_dim, hp->n_kv_heads, (uint32_t)hd, b->cs);
    if (m->arith == LLQ_ARITH_LLAMACPP) { /* llama.cpp: f16 KV cache, q converted to f16 for K·q */
        llq_act_round(b->q, n, q_dim, LLQ_ACT_F16);
        llq_act_round(kc + (size_t)pos0 * kv_dim, n, kv_dim, LLQ_ACT_F16);
        llq_act_round(vc + (size_t)pos0 * kv_dim, n, kv_dim, LLQ_ACT_F16);
    }

    int nt = llq_pool_size(m->pool);
    size_t L_all = pos0 + n;
    if (!(S = xmalloc_f((size_t)nt * SCRATCH_ROWS(hp->n_heads / hp->n_kv_heads) * L_all)))
        return llq_err(LLQ_ENOMEM, "out of memory (attention scores, %zu keys)", L_all);
    struct attn_task at = {.m = m, .q = b->q, .kc = kc, .vc = vc, .out = b->att, .scratch = S, .n = n,
                           .pos0 = pos0,
                           .n_tasks = (int)(n == 1 ? hp->n_kv_heads : hp->n_heads * ((n + QB - 1) / QB))};
    llq_pool_run(m->pool, attn_run, &at);
    free(S);

    if (cb && (err = cb(ud, layer, LLQ_CAP_O, b->att, n, q_dim)))
        return err;
    const llq_mat *wo = &L->wo, *w2 = &L->w2;
    if ((err = mm(m, &b->y, b->att, n, &wo, 1, b->xr)))
        return err;
    for (size_t i = 0; i < n * dim; i++)
        x[i] += b->y[i];

    rmsnorm(b->xn, x, L->ffn_norm, n, dim, hp->norm_eps);
    if (cb && (err = cb(ud, layer, LLQ_CAP_UPGATE, b->xn, n, dim)))
        return err;
    float *up_y[2] = {b->h1, b->h3};
    const llq_mat *up_w[2] = {&L->w1, &L->w3};
    if ((err = mm(m, up_y, b->xn, n, up_w, 2, b->xr)))
        return err;
    llq_silu_mul(b->h1, b->h3, n * ffn);
    if (cb && (err = cb(ud, layer, LLQ_CAP_DOWN, b->h1, n, ffn)))
        return err;
    if ((err = mm(m, &b->y, b->h1, n, &w2, 1, b->xr)))
        return err;
    for (size_t i = 0; i < n * dim; i++)
        x[i] += b->y[i];
    return LLQ_OK;
}

/* ---- public API ---- */

int llq_model_embed(const llq_model *m, const uint32_t *tokens, size_t n, float *x)
{
    for (size_t t = 0; t < n; t++) {
        if (tokens[t] >= m->hp.vocab_size)
            return llq_err(LLQ_EINVAL, "token id %u at position %zu is out of range (vocab %u)", tokens[t], t,
                           m->hp.vocab_size);
        const uint8_t *row = (const uint8_t *)m->tok_embeddings.data + (uint64_t)tokens[t] * m->tok_embeddings.row_bytes;
        llq_row_to_f32(x + t * m->hp.dim, row, m->tok_embeddings.type, m->tok_embeddings.group, m->hp.dim);
    }
    return LLQ_OK;
}

/* The buffers of the last llq_model_layer call, kept for the next one with the same n and hparams (a window runs
 * every layer with the same n): freeing and allocating some 30 MB per layer cost more than the layer's attention
 * (fresh pages: faults and clearing, about a quarter of a q4 window's time). A second concurrent call on the same
 * model uses its own buffers. */
struct llq_win_cache {
    int busy; /* atomic: a call holds the buffers */
    int have;
    size_t n;
    llq_hparams hp;
    struct bufs b;
    float *kc, *vc;
};

static struct llq_win_cache *win_cache_new(void)
{
    return calloc(1, sizeof(struct llq_win_cache));
}

static void win_cache_drop(struct llq_win_cache *c)
{
    if (c->have) {
        bufs_free(&c->b);
        free(c->kc);
        free(c->vc);
    }
    c->have = 0;
}

int llq_model_layer(const llq_model *m, int layer, float *x, size_t n, llq_capture_fn cb, void *ud)
{
    if (layer < 0 || (uint32_t)layer >= m->hp.n_layers)
        return llq_err(LLQ_EINVAL, "layer %d out of range (%u layers)", layer, m->hp.n_layers);
    if (n > m->max_pos)
        return llq_err(LLQ_EINVAL, "%zu tokens exceed the model's context of %u", n, m->max_pos);
    if (n == 0)
        return LLQ_OK;
    size_t kv_dim = llq_hp_kv_dim(&m->hp);
    struct llq_win_cache *c = m->win_cache;
    int cached = c && !__atomic_exchange_n(&c->busy, 1, __ATOMIC_ACQUIRE), err = LLQ_OK;
    struct bufs own, *b = cached ? &c->b : &own;
    float *kc = NULL, *vc = NULL;
    if (cached && c->have && c->n == n && !memcmp(&c->hp, &m->hp, sizeof m->hp)) {
        kc = c->kc, vc = c->vc;
    } else {
        if (cached)
            win_cache_drop(c);
        if (!(err = bufs_alloc(b, &m->hp, n))) {
            kc = xmalloc_f(n * kv_dim), vc = xmalloc_f(n * kv_dim);
            if (!kc || !vc) {
                free(kc), free(vc), bufs_free(b);
                err = llq_err(LLQ_ENOMEM, "out of memory (keys/values for %zu tokens)", n);
            } else if (cached) {
                c->have = 1, c->n = n, c->hp = m->hp, c->kc = kc, c->vc = vc;
            }
        }
    }
    if (!err)
        err = block(m, layer, x, n, 0, kc, vc, b, cb, ud);
    if (cached)
        __atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
    else if (kc) {
        free(kc), free(vc);
        bufs_free(b);
    }
    return err;
}

int llq_model_head(const llq_model *m, const float *x, size_t n, float *logits)
{
    float *xn = xmalloc_f(n * m->hp.dim);
    if (!xn)
        return llq_err(LLQ_ENOMEM, "out of memory (head)");
    rmsnorm(xn, x, m->norm, n, m->hp.dim, m->hp.norm_eps);
    if (m->arith == LLQ_ARITH_LLAMACPP)
        llq_act_round(xn, n, m->hp.dim, llq_act_kind(m->output.type));
    const llq_mat *W = &m->output;
    int err = m->arith == LLQ_ARITH_LLAMACPP ? llq_matmul(logits, xn, n, W, m->pool)
                                             : llq_matmul_act(&logits, xn, n, &W, 1, m->act, m->pool);
    free(xn);
    return err;
}

int llq_model_forward(const llq_model *m, const uint32_t *tokens, size_t n, float *logits)
{
    float *x = xmalloc_f(n * m->hp.dim);
    if (!x)
        return llq_err(LLQ_ENOMEM, "out of memory (forward)");
    int err = llq_model_embed(m, tokens, n, x);
    for (uint32_t l = 0; !err && l < m->hp.n_layers; l++)
        err = llq_model_layer(m, (int)l, x, n, NULL, NULL);
    if (!err)
        err = llq_model_head(m, x, n, logits);
    free(x);
    return err;
}

/* ---- KV cache ---- */

int llq_kv_new(llq_kv **out, const llq_model *m, uint32_t cap)
{
    *out = NULL;
    if (cap == 0 || cap > m->max_pos)
        return llq_err(LLQ_EINVAL, "cache of %u positions (the model takes 1..%u)", cap, m->max_pos);
    llq_kv *kv = calloc(1, sizeof *kv);
    if (!kv)
        return llq_err(LLQ_ENOMEM, "out of memory (kv cache)");
    kv->cap = cap;
    kv->n_layers = m->hp.n_layers;
    kv->kv_dim = llq_hp_kv_dim(&m->hp);
    size_t sz = (size_t)kv->n_layers * cap * kv->kv_dim;
    kv->k = xmalloc_f(sz);
    kv->v = xmalloc_f(sz);
    if (!kv->k || !kv->v) {
        llq_kv_free(kv);
        return llq_err(LLQ_ENOMEM, "out of memory (kv cache of %u positions)", cap);
    }
    *out = kv;
    return LLQ_OK;
}

void llq_kv_free(llq_kv *kv)
{
    if (!kv)
        return;
    free(kv->k);
    free(kv->v);
    free(kv);
}

int llq_model_step(const llq_model *m, llq_kv *kv, const uint32_t *tokens, size_t n, float *logits)
{
    if (n == 0)
        return llq_err(LLQ_EINVAL, "no tokens to run");
    if (n > kv->cap - kv->pos)
        return llq_err(LLQ_ELIMIT, "the cache holds %u positions; %u used, %zu more asked", kv->cap, kv->pos, n);
    struct bufs b;
    float *x = xmalloc_f(n * m->hp.dim);
    int err = x ? bufs_alloc(&b, &m->hp, n) : llq_err(LLQ_ENOMEM, "out of memory (step)");
    if (err) {
        free(x);
        return err;
    }
    err = llq_model_embed(m, tokens, n, x);
    size_t per = (size_t)kv->cap * kv->kv_dim;
    for (uint32_t l = 0; !err && l < m->hp.n_layers; l++)
        err = block(m, (int)l, x, n, kv->pos, kv->k + l * per, kv->v + l * per, &b, NULL, NULL);
    if (!err && logits)
        err = llq_model_head(m, x + (n - 1) * m->hp.dim, 1, logits);
    if (!err)
        kv->pos += (uint32_t)n;
    free(x);
    bufs_free(&b);
    return err;
}
