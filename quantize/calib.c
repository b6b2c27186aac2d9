/* calib.c — the calibration driver: text → tokens → samples → layer-by-layer forward with captured linear
 * inputs → AWQ scales (folded into the preceding norm / matrix) → GPTQ or AWQ's clipped RTN → the quantized
 * layer replaces the f32 one in the model before the next layer runs, so every layer is calibrated on the
 * inputs the quantized earlier layers produce. Memory: the activations of all samples at one layer boundary
 * (n_samples × ctx × dim floats), one sample's scratch, and one layer's statistics (XᵀX per linear group). */
#include "../kernels/kern.h" /* per-thread scratch of the kernels (internal) */
#include "calib_q.h"
#include "../kernels/kern.h" /* per-thread scratch (llq_mm_scratch) */
#include "llq/calib.h"
#include "llq/format.h"
#include "llq/model.h"
#include "llq/tokenizer.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SAMPLES 65536u
#define MAX_CTX 65536u

/* ---- per-layer statistics ---- */

enum { N_GROUPS = 5, G_HEAD = 4 }; /* LLQ_CAP_QKV..LLQ_CAP_DOWN, then the output head's input */

#define XBUF_TOKENS 2048 /* captured inputs buffered per group before one XᵀX update (fewer passes over H) */

typedef struct gstat {
    size_t cols;
    double *h;      /* cols×cols XᵀX (upper triangle while accumulating) */
    double *abs;    /* Σ|x| per channel */
    uint64_t n;     /* tokens seen */
    float *buf;     /* captured inputs not yet in h, transposed: cols rows of XBUF_TOKENS */
    size_t nbuf;
} gstat;

typedef struct run {
    const llq_calib_opts *o;
    llq_model *m;
    llq_calib_result *res;
    llq_pool *pool;  /* the model's: the one pool for everything */
    gstat g[N_GROUPS];
    int want[N_GROUPS];
    size_t cap_res;
    /* progress: steps of the whole run (LLQ_CALIB_LAYER_STEPS per layer, the head in proportion to its work) */
    uint64_t step_base, steps_total, step_last;
    double share[2 + N_GROUPS - 1]; /* of a layer's steps: statistics pass, quantizing each of the 4 groups, the
                                     * quantized pass (estimated from the work each does) */
    /* sequential mode (run_layer_seq): the one group captured per pass, the f32 model's input of it (asym) */
    int stage;       /* group captured in this pass (-1: every group, run_layer) */
    float *fpcap;    /* NULL: capture into statistics; else copy the stage's input here (the f32 stream's pass) */
    const float *fpin; /* the f32 stream's input of the stage for the current window (asym), else NULL */
    double *cross;   /* Σ (x − x̃)·x̃ᵀ over the stage's inputs (asym), cols×cols */
    float *dt;       /* scratch: (x − x̃)ᵀ, cols × ctx; ct: cols×cols f32 */
    float *ct;
    size_t cross_bytes;
    double *he;      /* the token embedding's H (run_embed), dim×dim, or NULL */
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- progress ---- */

/* Shares of one layer's work (its estimated arithmetic: docs/QUANTIZATION.md "Calibration at scale"): share[0]
 * the statistics pass with its XᵀX, share[1..4] quantizing qkv, wo, w1/w3, w2 (f64 factorizations counted
 * twice: half the f32 rate), share[5] the pass through the quantized layer. Returns the head's work in layers. */
static double progress_shares(run *r, size_t n_samp, size_t ctx)
{
    const llq_hparams *hp = &r->m->hp;
    double T = (double)n_samp * (double)ctx, d = hp->dim, f = hp->ffn_dim, q = llq_hp_q_dim(hp);
    double kv = llq_hp_kv_dim(hp), attn = 2.0 * (double)ctx * q * T, S = 1024;
    double p_attn = 2 * d * q + 2 * kv * d, w[6];
    int gptq = (r->o->methods & LLQ_CALIB_GPTQ) != 0, awq = (r->o->methods & LLQ_CALIB_AWQ) != 0;
    double rows[4] = {q + 2 * kv, d, 2 * f, d}, cols[4] = {d, q, d, f};
    w[0] = 2 * T * (p_attn + 2 * d * f) + attn + T * (2 * d * d + q * q + f * f);
    for (int g = 0; g < 4; g++) {
        double c = cols[g], sampled = rows[g] < S ? rows[g] : S;
        w[1 + g] = gptq ? rows[g] * c * c + 4.0 / 3 * c * c * c : 42.0 * rows[g] * c * 128; /* GPTQ or AWQ's clip */
        if (awq)
            w[1 + g] += 42.0 * sampled * c * c; /* the α search */
    }
    w[5] = 2 * T * (p_attn + 3 * d * f) + attn;
    double sum = 0;
    for (int i = 0; i < 6; i++)
        sum += w[i];
    for (int i = 0; i < 6; i++)
        r->share[i] = w[i] / sum;
    double V = hp->vocab_size, head = T * d * d + (gptq ? V * d * d + 4.0 / 3 * d * d * d : 42.0 * V * d * 128);
    return hp->tied ? 0 : head / sum;
}

/* Reports step base + frac of one layer (frac in [0, 1]), never going back. */
static void progress_at(run *r, double frac)
{
    uint64_t done = r->step_base + (uint64_t)(frac * LLQ_CALIB_LAYER_STEPS);
    if (done >= r->steps_total)
        done = r->steps_total - 1; /* the end is reported once, when everything is done */
    if (!r->o->progress || done < r->step_last)
        return;
    r->step_last = done;
    r->o->progress(r->o->progress_ud, "layer", done, r->steps_total);
}

/* The buffered inputs into h (on the pool). */
static int gstat_flush(run *r, gstat *g)
{
    double t0 = now();
    int err = llq_xtx_acc_t(g->h, g->buf, XBUF_TOKENS, g->nbuf, g->cols, r->pool);
    g->nbuf = 0;
    r->res->sec_xtx += now() - t0;
    return err;
}

static int gstat_acc(run *r, gstat *g, const float *x, size_t n, size_t cols)
{
    if (cols != g->cols)
        return llq_err(LLQ_EINVAL, "capture of %zu columns, expected %zu", cols, g->cols);
    for (size_t t = 0; t < n; t++)
        for (size_t c = 0; c < cols; c++)
            g->abs[c] += fabsf(x[t * cols + c]);
    g->n += n;
    while (n) {
        size_t k = XBUF_TOKENS - g->nbuf < n ? XBUF_TOKENS - g->nbuf : n;
        int err = llq_xtx_transpose(g->buf + g->nbuf, XBUF_TOKENS, x, k, cols, r->pool);
        g->nbuf += k, x += k * cols, n -= k;
        if (!err && g->nbuf == XBUF_TOKENS)
            err = gstat_flush(r, g);
        if (err)
            return err;
    }
    return 0;
}

/* What the capture callback returns after the last capture of a layer: the layer stops there (its down
 * projection would only produce outputs the statistics pass throws away). */
#define CAPTURE_DONE 1

/* cross += (fp − x)ᵀ·x for one window (n tokens, cols channels). */
static void cross_acc(run *r, const float *fp, const float *x, size_t n, size_t cols)
{
    for (size_t t = 0; t < n; t++)
        for (size_t c = 0; c < cols; c++)
            r->dt[c * n + t] = fp[t * cols + c] - x[t * cols + c];
    llq_gemm_f32_nn(r->ct, cols, r->dt, n, cols, x, cols, cols, n);
    for (size_t i = 0; i < cols * cols; i++)
        r->cross[i] += r->ct[i];
}

static int capture(void *ud, int layer, int which, const float *x, size_t n, size_t cols)
{
    (void)layer;
    run *r = ud;
    if (r->stage >= 0) { /* sequential: only the stage's group, then stop the layer */
        if (which != r->stage)
            return 0;
        if (r->fpcap) {
            memcpy(r->fpcap, x, n * cols * sizeof *x);
            return CAPTURE_DONE;
        }
        int err = gstat_acc(r, &r->g[which], x, n, cols);
        if (!err && r->fpin)
            cross_acc(r, r->fpin, x, n, cols);
        return err ? err : CAPTURE_DONE;
    }
    int err = which >= 0 && which < 4 && r->want[which] ? gstat_acc(r, &r->g[which], x, n, cols) : 0;
    return err ? err : which == LLQ_CAP_DOWN ? CAPTURE_DONE : 0;
}

static int gstat_init(gstat *g, size_t cols)
{
    g->cols = cols;
    g->n = 0, g->nbuf = 0;
    g->h = llq_bigmem_alloc(cols * cols * sizeof *g->h); /* zeroed; huge pages: fewer page faults */
    g->abs = calloc(cols, sizeof *g->abs);
    g->buf = llq_bigmem_alloc(XBUF_TOKENS * cols * sizeof *g->buf);
    return g->h && g->abs && g->buf ? 0 : llq_err(LLQ_ENOMEM, "out of memory (%zu×%zu statistics)", cols, cols);
}

/* The last buffered inputs, then the lower triangle. */
static int gstat_finish(run *r, gstat *g)
{
    int err = gstat_flush(r, g);
    llq_bigmem_free(g->buf, XBUF_TOKENS * g->cols * sizeof *g->buf);
    g->buf = NULL;
    if (!err)
        llq_sym_fill(g->h, g->cols);
    return err;
}

static void gstat_free(gstat *g)
{
    llq_bigmem_free(g->h, g->cols * g->cols * sizeof *g->h);
    llq_bigmem_free(g->buf, XBUF_TOKENS * g->cols * sizeof *g->buf);
    free(g->abs);
    g->h = NULL, g->abs = NULL, g->buf = NULL;
}

/* ---- results ---- */

static int res_add(run *r, const char *name, uint32_t type, uint32_t group, size_t rows, size_t cols, void *data,
                   uint64_t size, int two_d)
{
    llq_calib_result *res = r->res;
    if (res->n == r->cap_res) {
        size_t cap = r->cap_res ? 2 * r->cap_res : 32;
        llq_calib_tensor *t = realloc(res->t, cap * sizeof *t);
        if (!t) {
            free(data);
            return llq_err(LLQ_ENOMEM, "out of memory");
        }
        res->t = t, r->cap_res = cap;
    }
    llq_calib_tensor *t = &res->t[res->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) {
        free(data);
        return llq_err(LLQ_ENOMEM, "out of memory");
    }
    t->type = type, t->group = group, t->data = data, t->size = size;
    t->n_dims = two_d ? 2 : 1;
    t->dims[0] = two_d ? rows : cols;
    t->dims[1] = two_d ? cols : 0;
    res->n++;
    return 0;
}

const llq_calib_tensor *llq_calib_find(const llq_calib_result *r, const char *name)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (!strcmp(r->t[i].name, name))
            return &r->t[i];
    return NULL;
}

int llq_calib_apply(llq_model *m, const llq_calib_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const llq_calib_tensor *t = &r->t[i];
        llq_mat *slot = NULL;
        const float **norm = NULL;
        uint32_t L, n_slots = llq_arch_n_slots(m->hp.n_layers);
        int s = llq_arch_name_slot(t->name, m->hp.n_layers);
        if (s == 0) {
            slot = &m->tok_embeddings;
        } else if ((uint32_t)s == n_slots - 2) {
            norm = &m->norm;
        } else if ((uint32_t)s == n_slots - 1) {
            slot = m->hp.tied ? NULL : &m->output;
        } else if (s > 0 && llq_arch_slot((uint32_t)s, m->hp.n_layers, &L)) {
            llq_layer_w *lw = &m->layers[L];
            switch ((uint32_t)(s - 1) % LLQ_LT_COUNT) {
            case LLQ_LT_WQ: slot = &lw->wq; break;
            case LLQ_LT_WK: slot = &lw->wk; break;
            case LLQ_LT_WV: slot = &lw->wv; break;
            case LLQ_LT_WO: slot = &lw->wo; break;
            case LLQ_LT_W1: slot = &lw->w1; break;
            case LLQ_LT_W2: slot = &lw->w2; break;
            case LLQ_LT_W3: slot = &lw->w3; break;
            case LLQ_LT_ATTN_NORM: norm = &lw->attention_norm; break;
            case LLQ_LT_FFN_NORM: norm = &lw->ffn_norm; break;
            default: break; /* biases: calibration never changes them */
            }
        }
        if (norm && t->type == LLQ_F32 && t->n_dims == 1 && t->dims[0] == m->hp.dim) {
            *norm = t->data;
        } else if (slot && t->n_dims == 2 && t->dims[0] == slot->rows && t->dims[1] == slot->cols) {
            int err = llq_mat_init(slot, t->type, t->group, t->dims[0], t->dims[1], t->data);
            if (err)
                return err;
            if (slot == &m->tok_embeddings && m->hp.tied) /* one matrix, two uses */
                m->output = m->tok_embeddings;
        } else {
            return llq_err(LLQ_ENOTFOUND, "calibration result '%s' has no matching slot in the model", t->name);
        }
    }
    return 0;
}

void llq_calib_free(llq_calib_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->t[i].name), free(r->t[i].data);
    free(r->t);
    free(r);
}

/* ---- one linear matrix ---- */

typedef struct lin {
    char name[96];
    llq_mat *mat;   /* the model's slot */
    float *w;       /* f32 working copy [rows × cols] (scaled by AWQ as it goes) */
    size_t rows, cols;
    uint32_t type, group; /* policy; non-quantized type = left alone */
} lin;

static int lin_load(lin *l, llq_mat *mat, const char *name, const run *r)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->mat = mat, l->rows = (size_t)mat->rows, l->cols = (size_t)mat->cols;
    int err = r->o->policy(r->o->policy_ud, name, &l->type, &l->group);
    if (err)
        return err;
    if (!(l->w = malloc(l->rows * l->cols * sizeof *l->w)))
        return llq_err(LLQ_ENOMEM, "out of memory (%s)", name);
    for (size_t i = 0; i < l->rows; i++)
        llq_row_to_f32(l->w + i * l->cols, (const uint8_t *)mat->data + i * mat->row_bytes, mat->type, mat->group,
                       l->cols);
    return 0;
}

static int lin_quant(const lin *l) { return llq_type_is_quant(l->type) || llq_type_is_block(l->type); }

/* Quantizes l's working weights with the calibration method and swaps the result into the model. */
static int lin_finish(run *r, lin *l, const double *h)
{
    if (!lin_quant(l))
        return 0;
    int err;
    llq_mat mat;
    if (r->o->fold_only) {
        float *w = malloc(l->rows * l->cols * sizeof *w);
        if (!w)
            return llq_err(LLQ_ENOMEM, "out of memory (%s)", l->name);
        memcpy(w, l->w, l->rows * l->cols * sizeof *w);
        if ((err = res_add(r, l->name, LLQ_F32, 0, l->rows, l->cols, w, (uint64_t)l->rows * l->cols * 4, 1)))
            return err;
        llq_mat_init(l->mat, LLQ_F32, 0, l->rows, l->cols, w);
        return 0;
    }
    uint64_t rb = 0;
    if (!lin_quant(l) || llq_row_bytes(&rb, l->type, l->group, l->cols))
        return llq_err(LLQ_EINVAL, "%s: cannot quantize to %s group %u", l->name, llq_type_name(l->type), l->group);
    void *q = malloc(l->rows * rb);
    if (!q)
        return llq_err(LLQ_ENOMEM, "out of memory (%s)", l->name);
    double t0 = now();
    if (r->o->methods & LLQ_CALIB_GPTQ) {
        llq_gptq_opts go = {r->o->damp, !r->o->no_act_order, 0, r->pool};
        err = llq_gptq(q, l->w, l->rows, l->cols, h, l->type, l->group, &go);
    } else {
        err = llq_awq_clip_quantize(q, l->w, l->rows, l->cols, h, l->type, l->group, r->pool);
    }
    r->res->sec_quant += now() - t0;
    if (err) {
        free(q);
        return llq_err_prefix(err, l->name);
    }
    if ((err = llq_mat_init(&mat, l->type, l->group, l->rows, l->cols, q))) {
        free(q);
        return err;
    }
    if ((err = res_add(r, l->name, l->type, l->group, l->rows, l->cols, q, (uint64_t)l->rows * rb, 1)))
        return err;
    *l->mat = mat;
    return 0;
}

/* Matrices sharing one input h (wq/wk/wv, w1/w3) with one type and group: GPTQ treats rows independently given
 * H, so one call on the stacked rows gives the same result with one factorization of H instead of several. */
static int lin_finish_group(run *r, lin *const *ls, size_t n, const double *h)
{
    int same = n > 1 && (r->o->methods & LLQ_CALIB_GPTQ) && !r->o->fold_only;
    size_t rows = 0, cols = ls[0]->cols;
    for (size_t i = 0; i < n && same; i++) {
        same = lin_quant(ls[i]) && ls[i]->type == ls[0]->type && ls[i]->group == ls[0]->group;
        rows += ls[i]->rows;
    }
    if (!same) {
        for (size_t i = 0; i < n; i++) {
            int err = lin_finish(r, ls[i], h);
            if (err)
                return err;
        }
        return 0;
    }
    uint64_t rb = 0;
    if (!lin_quant(ls[0]) || llq_row_bytes(&rb, ls[0]->type, ls[0]->group, cols))
        rb = 0;
    float *w = malloc(rows * cols * sizeof *w);
    uint8_t *q = malloc(rows * (rb ? rb : 1));
    int err = 0;
    if (!rb) {
        err = llq_err(LLQ_EINVAL, "%s: cannot quantize to %s group %u", ls[0]->name, llq_type_name(ls[0]->type),
                      ls[0]->group);
        goto done;
    }
    if (!w || !q) {
        err = llq_err(LLQ_ENOMEM, "out of memory (%s)", ls[0]->name);
        goto done;
    }
    for (size_t i = 0, r0 = 0; i < n; r0 += ls[i]->rows, i++)
        memcpy(w + r0 * cols, ls[i]->w, ls[i]->rows * cols * sizeof *w);
    llq_gptq_opts go = {r->o->damp, !r->o->no_act_order, 0, r->pool};
    double t0 = now();
    err = llq_gptq(q, w, rows, cols, h, ls[0]->type, ls[0]->group, &go);
    r->res->sec_quant += now() - t0;
    if (err) {
        llq_err_prefix(err, ls[0]->name);
        goto done;
    }
    for (size_t i = 0, r0 = 0; i < n; r0 += ls[i]->rows, i++) {
        lin *l = ls[i];
        void *qi = malloc(l->rows * rb);
        llq_mat mat;
        if (!qi) {
            err = llq_err(LLQ_ENOMEM, "out of memory (%s)", l->name);
            goto done;
        }
        memcpy(qi, q + r0 * rb, l->rows * rb);
        if ((err = llq_mat_init(&mat, l->type, l->group, l->rows, l->cols, qi))) {
            free(qi);
            goto done;
        }
        if ((err = res_add(r, l->name, l->type, l->group, l->rows, l->cols, qi, (uint64_t)l->rows * rb, 1)))
            goto done;
        *l->mat = mat;
    }
done:
    free(w), free(q);
    return err;
}

/* ---- AWQ folding ---- */

/* s[cols] applied to the input channels of mats (W·diag(s)), inverse folded into the producer of that input:
 * a norm vector (norm[c] /= s[c]) or the rows of a matrix (prev rows /= s). h becomes diag(1/s)·h·diag(1/s). */
static void fold(const float *s, lin *const *mats, size_t n_mats, float *norm, lin *prev, gstat *g)
{
    size_t cols = g->cols;
    for (size_t m = 0; m < n_mats; m++)
        for (size_t i = 0; i < mats[m]->rows; i++)
            for (size_t c = 0; c < cols; c++)
                mats[m]->w[i * cols + c] *= s[c];
    if (norm)
        for (size_t c = 0; c < cols; c++)
            norm[c] /= s[c];
    if (prev)
        for (size_t i = 0; i < prev->rows; i++)
            for (size_t c = 0; c < prev->cols; c++)
                prev->w[i * prev->cols + c] /= s[i];
    for (size_t i = 0; i < cols; i++) {
        for (size_t j = 0; j < cols; j++)
            g->h[i * cols + j] /= (double)s[i] * s[j];
        g->abs[i] /= s[i];
    }
}

/* AWQ search for the matrices sharing input g; all must be quantized (and prev too when given), else skipped. */
static int awq_group(run *r, lin *const *mats, size_t n_mats, float *norm, lin *prev, gstat *g, float *alpha)
{
    double t0 = now();
    *alpha = -1;
    for (size_t m = 0; m < n_mats; m++)
        if (!lin_quant(mats[m]) || mats[m]->type != mats[0]->type || mats[m]->group != mats[0]->group)
            return 0;
    if (prev && !lin_quant(prev))
        return 0;
    size_t cols = g->cols;
    float *s = malloc(cols * sizeof *s), *xabs = malloc(cols * sizeof *xabs);
    const float *ws[4];
    size_t rows[4];
    int err = 0;
    if (!s || !xabs) {
        err = llq_err(LLQ_ENOMEM, "out of memory (AWQ)");
        goto done;
    }
    for (size_t c = 0; c < cols; c++)
        xabs[c] = g->n ? (float)(g->abs[c] / (double)g->n) : 1.0f;
    for (size_t m = 0; m < n_mats; m++)
        ws[m] = mats[m]->w, rows[m] = mats[m]->rows;
    if ((err = llq_awq_search(s, alpha, ws, rows, n_mats, cols, g->h, xabs, mats[0]->type, mats[0]->group, 20,
                              r->pool)))
        goto done;
    fold(s, mats, n_mats, norm, prev, g);
done:
    free(s), free(xabs);
    r->res->sec_awq += now() - t0;
    return err;
}

/* ---- the driver ---- */

static int want_any(const lin *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lin_quant(&l[i]))
            return 1;
    return 0;
}

/* Final RMSNorm of x[n×dim] into y (the output head's input). */
static void final_norm(float *y, const float *x, size_t n, size_t dim, const float *w, float eps)
{
    for (size_t t = 0; t < n; t++) {
        double ss = 0;
        for (size_t c = 0; c < dim; c++)
            ss += (double)x[t * dim + c] * x[t * dim + c];
        float k = (float)(1.0 / sqrt(ss / (double)dim + eps));
        for (size_t c = 0; c < dim; c++)
            y[t * dim + c] = x[t * dim + c] * k * w[c];
    }
}

/* The layer's seven matrices, wq wk wv wo w1 w3 w2, into l[0..6] (lin_load each); stops at the first error. */
static int lin_load_layer(lin l[7], run *r, int L)
{
    static const enum llq_lt names[7] = {LLQ_LT_WQ, LLQ_LT_WK, LLQ_LT_WV, LLQ_LT_WO, LLQ_LT_W1, LLQ_LT_W3, LLQ_LT_W2};
    llq_layer_w *lw = &r->m->layers[L];
    llq_mat *slots[7] = {&lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w1, &lw->w3, &lw->w2};
    char nm[96];
    int err = 0;
    for (int i = 0; i < 7 && !err; i++) {
        llq_arch_layer_name(nm, sizeof nm, (uint32_t)L, names[i]);
        err = lin_load(&l[i], slots[i], nm, r);
    }
    return err;
}

static int run_layer(run *r, int L, float *x, float *tmp, size_t n_samp, size_t ctx)
{
    llq_model *m = r->m;
    llq_layer_w *lw = &m->layers[L];
    const llq_hparams *hp = &m->hp;
    size_t dim = hp->dim;
    lin l[7];
    memset(l, 0, sizeof l);
    float *n1 = NULL, *n2 = NULL;
    int err = 0;
    char nm[96];
    if ((err = lin_load_layer(l, r, L)))
        goto done;
    /* statistics of the inputs of each group this layer needs */
    size_t gcols[4] = {dim, l[3].cols, dim, l[6].cols};
    int used[4] = {want_any(l, 3), want_any(l + 3, 1), want_any(l + 4, 2), want_any(l + 6, 1)};
    for (int g = 0; g < 4; g++) {
        r->want[g] = used[g];
        if (used[g] && (err = gstat_init(&r->g[g], gcols[g])))
            goto done;
    }
    double t0 = now(), x0 = r->res->sec_xtx;
    for (size_t s = 0; s < n_samp; s++) {
        memcpy(tmp, x + s * ctx * dim, ctx * dim * sizeof *tmp);
        if ((err = llq_model_layer(m, L, tmp, ctx, capture, r)) && err != CAPTURE_DONE)
            goto done;
        err = 0;
        progress_at(r, r->share[0] * (double)(s + 1) / (double)n_samp);
    }
    for (int g = 0; g < 4; g++)
        if (used[g] && (err = gstat_finish(r, &r->g[g])))
            goto done;
    r->res->sec_forward += now() - t0 - (r->res->sec_xtx - x0);
    if (r->o->methods & LLQ_CALIB_AWQ) {
        float a;
        if (!(n1 = malloc(dim * sizeof *n1)) || !(n2 = malloc(dim * sizeof *n2))) {
            err = llq_err(LLQ_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(n1, lw->attention_norm, dim * sizeof *n1);
        memcpy(n2, lw->ffn_norm, dim * sizeof *n2);
        lin *qkv[3] = {&l[0], &l[1], &l[2]}, *o[1] = {&l[3]}, *ug[2] = {&l[4], &l[5]}, *down[1] = {&l[6]};
        if (used[0] && (err = awq_group(r, qkv, 3, n1, NULL, &r->g[0], &a)))
            goto done;
        /* wo's scales fold into wv's rows: not with GQA (rows shared by several heads), nor with a v bias */
        if (used[1] && hp->n_kv_heads == hp->n_heads && !hp->qkv_bias &&
            (err = awq_group(r, o, 1, NULL, &l[2], &r->g[1], &a)))
            goto done;
        if (used[2] && (err = awq_group(r, ug, 2, n2, NULL, &r->g[2], &a)))
            goto done;
        if (used[3] && (err = awq_group(r, down, 1, NULL, &l[5], &r->g[3], &a)))
            goto done;
        /* res_add takes the vector, even on failure */
        llq_arch_layer_name(nm, sizeof nm, (uint32_t)L, LLQ_LT_ATTN_NORM);
        err = res_add(r, nm, LLQ_F32, 0, 1, dim, n1, dim * 4, 0);
        if (!err)
            lw->attention_norm = n1;
        n1 = NULL;
        if (err)
            goto done;
        llq_arch_layer_name(nm, sizeof nm, (uint32_t)L, LLQ_LT_FFN_NORM);
        err = res_add(r, nm, LLQ_F32, 0, 1, dim, n2, dim * 4, 0);
        if (!err)
            lw->ffn_norm = n2;
        n2 = NULL;
        if (err)
            goto done;
    }
    {
        lin *qkv[3] = {&l[0], &l[1], &l[2]}, *ug[2] = {&l[4], &l[5]};
        double at = r->share[0];
        for (int g = 0; g < 4; g++) {
            if (used[g] && (err = g == 0   ? lin_finish_group(r, qkv, 3, r->g[0].h)
                                  : g == 1 ? lin_finish(r, &l[3], r->g[1].h)
                                  : g == 2 ? lin_finish_group(r, ug, 2, r->g[2].h)
                                           : lin_finish(r, &l[6], r->g[3].h)))
                goto done;
            progress_at(r, at += r->share[1 + g]);
        }
    }
    /* matrices scaled by AWQ but kept unquantized never happen (awq_group skips such groups) */
    t0 = now();
    for (size_t s = 0; s < n_samp; s++) {
        if ((err = llq_model_layer(m, L, x + s * ctx * dim, ctx, NULL, NULL)))
            goto done;
        progress_at(r, 1.0 - r->share[5] * (double)(n_samp - 1 - s) / (double)n_samp);
    }
    r->res->sec_forward += now() - t0;
done:
    for (int i = 0; i < 7; i++)
        free(l[i].w);
    for (int g = 0; g < 4; g++)
        gstat_free(&r->g[g]);
    free(n1), free(n2);
    return err;
}

/* Asymmetric target (the f32 model's output from the quantized model's input): w ← w + w·D·(H̃ + λI)⁻¹ for every
 * matrix of ls, with D = Σ (x − x̃)·x̃ᵀ and H̃ = Σ x̃·x̃ᵀ over the window tokens, x the f32 model's input of the
 * matrices and x̃ the partly quantized model's. Minimising ‖W·X − Q·X̃‖² over Q is GPTQ's problem for H̃ with
 * that target. λ = damp · mean diag H̃. */
static int asym_target(run *r, lin *const *ls, size_t n, const double *h, const double *cross, size_t cols,
                       float alpha)
{
    double *hi = llq_bigmem_alloc(cols * cols * sizeof *hi), *mm = llq_bigmem_alloc(cols * cols * sizeof *mm);
    float *mt = malloc(cols * cols * sizeof *mt), *w0 = NULL;
    int err = 0;
    if (!hi || !mm || !mt) {
        err = llq_err(LLQ_ENOMEM, "out of memory (asymmetric target)");
        goto done;
    }
    double md = 0;
    for (size_t i = 0; i < cols; i++)
        md += h[i * cols + i];
    md = md > 0 ? md / (double)cols : 1;
    float damp = r->o->damp > 0 ? r->o->damp : 0.01f;
    for (size_t i = 0; i < cols * cols; i++)
        hi[i] = h[i];
    for (size_t i = 0; i < cols; i++)
        hi[i * cols + i] += (h[i * cols + i] > 0 ? 0 : md) + damp * md;
    if ((err = llq_spd_inverse(hi, cols, r->pool)))
        goto done;
    for (size_t i = 0; i < cols * cols; i++)
        hi[i] = -hi[i]; /* mm = 0 − D·(−H⁻¹) */
    llq_dgemm_sub(mm, cols, cross, cols, hi, cols, cols, cols, cols);
    for (size_t i = 0; i < cols; i++)
        for (size_t j = 0; j < cols; j++)
            mt[j * cols + i] = alpha * (float)mm[i * cols + j];
    for (size_t k = 0; k < n; k++) {
        lin *l = ls[k];
        if (!lin_quant(l))
            continue;
        free(w0);
        if (!(w0 = malloc(l->rows * cols * sizeof *w0))) {
            err = llq_err(LLQ_ENOMEM, "out of memory (asymmetric target)");
            goto done;
        }
        memcpy(w0, l->w, l->rows * cols * sizeof *w0);
        llq_gemm_f32_acc(l->w, cols, w0, cols, l->rows, mt, cols, cols, cols);
    }
done:
    llq_bigmem_free(hi, cols * cols * sizeof *hi);
    llq_bigmem_free(mm, cols * cols * sizeof *mm);
    free(mt), free(w0);
    return err;
}

/* The asymmetric target is a regression of the f32 outputs on the quantized inputs (cols unknowns per row): with
 * too few calibration tokens per column it fits noise (measured on pydoc-7m: 2,048 tokens for 768 columns drift
 * more than own targets; 32,768 less). Below this many tokens per column a group keeps its own weights as target. */
#define ASYM_MIN_TOKENS_PER_COL 16

/* Layer L group by group (GPTQ without AWQ): each group's statistics are taken from the layer with the groups
 * before it already quantized; with xfp (asymmetric targets) the f32 model's inputs of the same windows run
 * alongside, through the original weights, and each group's target is corrected by asym_target. */
static int run_layer_seq(run *r, int L, float *x, float *xfp, float *tmp, size_t n_samp, size_t ctx, float alpha)
{
    llq_model *m = r->m;
    llq_layer_w *lw = &m->layers[L], orig = *lw;
    size_t dim = m->hp.dim;
    lin l[7];
    memset(l, 0, sizeof l);
    float *fpbuf = NULL;
    int err = 0;
    if ((err = lin_load_layer(l, r, L)))
        goto done;
    lin *grp[4][3] = {{&l[0], &l[1], &l[2]}, {&l[3]}, {&l[4], &l[5]}, {&l[6]}};
    size_t ng[4] = {3, 1, 2, 1}, gcols[4] = {dim, l[3].cols, dim, l[6].cols};
    for (int g = 0; g < 4; g++) {
        if (!want_any(grp[g][0], 1) && !(ng[g] > 1 && want_any(grp[g][1], ng[g] - 1)))
            continue;
        size_t cols = gcols[g];
        float *xf = n_samp * ctx >= ASYM_MIN_TOKENS_PER_COL * cols ? xfp : NULL; /* this group's f32 stream */
        if ((err = gstat_init(&r->g[g], cols)))
            goto done;
        r->cross_bytes = cols * cols * sizeof *r->cross;
        if (xf && (!(r->cross = llq_bigmem_alloc(r->cross_bytes)) ||
                    !(r->ct = malloc(cols * cols * sizeof *r->ct)) || !(r->dt = malloc(cols * ctx * sizeof *r->dt)) ||
                    !(fpbuf = malloc(cols * ctx * sizeof *fpbuf)))) {
            err = llq_err(LLQ_ENOMEM, "out of memory (asymmetric statistics)");
            goto done;
        }
        r->stage = g;
        double t0 = now(), x0 = r->res->sec_xtx;
        for (size_t s = 0; s < n_samp; s++) {
            if (xf) { /* the f32 model's input of this group, through the original weights */
                llq_layer_w cur = *lw;
                *lw = orig;
                memcpy(tmp, xf + s * ctx * dim, ctx * dim * sizeof *tmp);
                r->fpcap = fpbuf;
                err = llq_model_layer(m, L, tmp, ctx, capture, r);
                r->fpcap = NULL;
                *lw = cur;
                if (err && err != CAPTURE_DONE)
                    goto done;
                r->fpin = fpbuf;
            }
            memcpy(tmp, x + s * ctx * dim, ctx * dim * sizeof *tmp);
            err = llq_model_layer(m, L, tmp, ctx, capture, r);
            r->fpin = NULL;
            if (err && err != CAPTURE_DONE)
                goto done;
            err = 0;            err = 0;
            progress_at(r, (g + 0.8 * (double)(s + 1) / (double)n_samp) / 5.0);
        }
        if ((err = gstat_finish(r, &r->g[g])))
            goto done;
        r->res->sec_forward += now() - t0 - (r->res->sec_xtx - x0);
        if (xf && (err = asym_target(r, grp[g], ng[g], r->g[g].h, r->cross, cols, alpha)))
            goto done;
        if ((err = ng[g] > 1 ? lin_finish_group(r, grp[g], ng[g], r->g[g].h) : lin_finish(r, grp[g][0], r->g[g].h)))
            goto done;
        progress_at(r, (g + 1) / 5.0);
        gstat_free(&r->g[g]);
        llq_bigmem_free(r->cross, r->cross_bytes);
        free(r->ct), free(r->dt), free(fpbuf);
        r->cross = NULL, r->ct = NULL, r->dt = NULL, fpbuf = NULL;
    }
    r->stage = -1;
    double t0 = now();
    for (size_t s = 0; s < n_samp; s++) {
        if ((err = llq_model_layer(m, L, x + s * ctx * dim, ctx, NULL, NULL)))
            goto done;
        progress_at(r, (4 + (double)(s + 1) / (double)n_samp) / 5.0);
    }
    if (xfp) {
        llq_layer_w cur = *lw;
        *lw = orig;
        for (size_t s = 0; s < n_samp && !err; s++)
            err = llq_model_layer(m, L, xfp + s * ctx * dim, ctx, NULL, NULL);
        *lw = cur;
    }
    r->res->sec_forward += now() - t0;
done:
    r->stage = -1, r->fpcap = NULL, r->fpin = NULL;
    for (int i = 0; i < 7; i++)
        free(l[i].w);
    for (int g = 0; g < 4; g++)
        gstat_free(&r->g[g]);
    llq_bigmem_free(r->cross, r->cross_bytes);
    free(r->ct), free(r->dt), free(fpbuf);
    r->cross = NULL, r->ct = NULL, r->dt = NULL;
    return err;
}

/* The output head by rows, each with its own Hessian. The quantity evaluated is KL(p ‖ q) of the next-token
 * distribution; to second order it is ½·Σ_t [Σ_v p_v(t)·δ_v(t)² − (Σ_v p_v(t)·δ_v(t))²], δ_v(t) the error of
 * logit v at position t. Dropping the shift term, row v's error counts only where the f32 model gives token v
 * probability: H_v = Σ_t p_v(t)·x̃_t·x̃_tᵀ + H̃/V (Σ_v H_v = 2·H̃: the prior weighs like an average row's data;
 * it covers the rows whose tokens are rare in the calibration text and the positions below HEAD_FISHER_P).
 * p: the f32 model's distribution (f32 stream xfp, original head), x̃: the quantized model's head input x; the
 * target rows (l->w) are the asymmetric ones. Each row is then GPTQ's problem with its own H_v. Cost: V
 * factorizations of dim² (V·dim³/3 multiply-adds), so only for heads with V·dim³ <= HEAD_FISHER_MAX. */
#define HEAD_FISHER_P 1e-3f  /* positions where p_v(t) is at most this leave row v's data term */
#define HEAD_FISHER_MAX 1e12 /* V·dim³ */
#define HEAD_FISHER_ROWS 16  /* rows whose logits are computed per GEMM */

static int head_fisher_applies(size_t vocab, size_t dim)
{
    return (double)vocab * (double)dim * (double)dim * (double)dim <= HEAD_FISHER_MAX;
}

static int head_fisher(run *r, lin *l, const float *x, const float *xfp, size_t n_samp, size_t ctx, const double *hs)
{
    llq_model *m = r->m;
    size_t dim = l->cols, V = l->rows, N = n_samp * ctx, R = HEAD_FISHER_ROWS;
    uint64_t rb = 0;
    float *wo = NULL, *xq = NULL, *xf = NULL, *z = NULL, *xs = NULL;
    double *lse = NULL, *h = NULL;
    uint8_t *q = NULL;
    int err = llq_row_bytes(&rb, l->type, l->group, dim);
    if (err)
        return err;
    if (!(wo = malloc(V * dim * sizeof *wo)) || !(xq = malloc(N * dim * sizeof *xq)) ||
        !(xf = malloc(N * dim * sizeof *xf)) || !(z = malloc(N * R * sizeof *z)) ||
        !(xs = malloc(N * dim * sizeof *xs)) || !(lse = malloc(N * sizeof *lse)) ||
        !(h = malloc(dim * dim * sizeof *h)) || !(q = malloc(V * rb))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (%s by rows)", l->name);
        goto done;
    }
    for (size_t v = 0; v < V; v++)
        llq_row_to_f32(wo + v * dim, (const uint8_t *)m->output.data + v * m->output.row_bytes, m->output.type,
                       m->output.group, dim);
    final_norm(xq, x, N, dim, m->norm, m->hp.norm_eps);
    final_norm(xf, xfp, N, dim, m->norm, m->hp.norm_eps);
    float *lg = malloc(ctx * V * sizeof *lg); /* one window's f32 logits: log Σ exp per position */
    if (!lg) {
        err = llq_err(LLQ_ENOMEM, "out of memory (%s by rows)", l->name);
        goto done;
    }
    for (size_t s = 0; s < n_samp; s++) {
        llq_gemm_f32(lg, V, xf + s * ctx * dim, dim, ctx, wo, dim, V, dim);
        for (size_t t = 0; t < ctx; t++) {
            const float *zt = lg + t * V;
            float mx = -INFINITY;
            double sum = 0;
            for (size_t v = 0; v < V; v++)
                mx = zt[v] > mx ? zt[v] : mx;
            for (size_t v = 0; v < V; v++)
                sum += exp((double)zt[v] - mx);
            lse[s * ctx + t] = mx + log(sum);
        }
    }
    free(lg);
    llq_gptq_opts go = {r->o->damp, !r->o->no_act_order, 0, r->pool};
    for (size_t v0 = 0; v0 < V && !err; v0 += R) {
        size_t nb = V - v0 < R ? V - v0 : R;
        llq_gemm_f32(z, R, xf, dim, N, wo + v0 * dim, dim, nb, dim);
        for (size_t j = 0; j < nb && !err; j++) {
            size_t v = v0 + j, k = 0;
            for (size_t t = 0; t < N; t++) {
                double pv = exp((double)z[t * R + j] - lse[t]);
                if (pv <= HEAD_FISHER_P)
                    continue;
                float sp = (float)sqrt(pv);
                for (size_t c = 0; c < dim; c++)
                    xs[k * dim + c] = sp * xq[t * dim + c];
                k++;
            }
            for (size_t i = 0; i < dim * dim; i++)
                h[i] = hs[i] / (double)V;
            if (k && (err = llq_xtx_acc(h, xs, k, dim, r->pool)))
                break;
            llq_sym_fill(h, dim);
            err = llq_gptq(q + v * rb, l->w + v * dim, 1, dim, h, l->type, l->group, &go);
        }
    }
    if (err) {
        llq_err_prefix(err, l->name);
        goto done;
    }
    llq_mat mat;
    if ((err = llq_mat_init(&mat, l->type, l->group, l->rows, l->cols, q)))
        goto done;
    err = res_add(r, l->name, l->type, l->group, l->rows, l->cols, q, (uint64_t)l->rows * rb, 1); /* takes q */
    q = NULL;
    if (!err)
        *l->mat = mat;
done:
    free(wo), free(xq), free(xf), free(z), free(xs), free(lse), free(h), free(q);
    return err;
}

static int run_head(run *r, float *x, const float *xfp, float *tmp, size_t n_samp, size_t ctx, float alpha)
{
    llq_model *m = r->m;
    size_t dim = m->hp.dim;
    lin l;
    float *nw = NULL;
    if (m->hp.tied) /* the head is the embedding: neither scaled (the lookup would change) nor calibrated; the
                     * quantize tool gives the shared matrix its embedding type with RTN */
        return 0;
    int err = lin_load(&l, &m->output, llq_global_tensors[LLQ_GT_OUTPUT].name, r);
    if (err || !lin_quant(&l))
        goto done;
    if ((err = gstat_init(&r->g[G_HEAD], dim)))
        goto done;
    r->want[G_HEAD] = 1;
    float *fpn = NULL;
    if (n_samp * ctx < ASYM_MIN_TOKENS_PER_COL * dim)
        xfp = NULL;
    r->cross_bytes = dim * dim * sizeof *r->cross;
    if (xfp && (!(r->cross = llq_bigmem_alloc(r->cross_bytes)) || !(r->ct = malloc(dim * dim * sizeof *r->ct)) ||
                !(r->dt = malloc(dim * ctx * sizeof *r->dt)) || !(fpn = malloc(dim * ctx * sizeof *fpn)))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (asymmetric statistics)");
        goto head_done;
    }
    for (size_t s = 0; s < n_samp; s++) {
        final_norm(tmp, x + s * ctx * dim, ctx, dim, m->norm, m->hp.norm_eps);
        if ((err = gstat_acc(r, &r->g[G_HEAD], tmp, ctx, dim)))
            goto head_done;
        if (xfp) {
            final_norm(fpn, xfp + s * ctx * dim, ctx, dim, m->norm, m->hp.norm_eps);
            cross_acc(r, fpn, tmp, ctx, dim);
        }
    }
    if ((err = gstat_finish(r, &r->g[G_HEAD])))
        goto head_done;
    if (xfp) {
        lin *one[1] = {&l};
        err = asym_target(r, one, 1, r->g[G_HEAD].h, r->cross, dim, alpha);
    }
head_done:
    free(fpn);
    llq_bigmem_free(r->cross, r->cross_bytes);
    free(r->ct), free(r->dt);
    r->cross = NULL, r->ct = NULL, r->dt = NULL;
    if (err)
        goto done;
    if (r->o->methods & LLQ_CALIB_AWQ) {
        float a;
        lin *mats[1] = {&l};
        if (!(nw = malloc(dim * sizeof *nw))) {
            err = llq_err(LLQ_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(nw, m->norm, dim * sizeof *nw);
        if ((err = awq_group(r, mats, 1, nw, NULL, &r->g[G_HEAD], &a)))
            goto done;
        err = res_add(r, "norm.weight", LLQ_F32, 0, 1, dim, nw, dim * 4, 0); /* takes nw, even on failure */
        if (!err)
            m->norm = nw;
        nw = NULL;
        if (err)
            goto done;
    }
    /* GPTQ alone with f32 targets: the head by rows with their own Hessians (head_fisher), if affordable */
    if (xfp && !r->o->head_one_h && lin_quant(&l) && head_fisher_applies(l.rows, l.cols))
        err = head_fisher(r, &l, x, xfp, n_samp, ctx, r->g[G_HEAD].h);
    else
        err = lin_finish(r, &l, r->g[G_HEAD].h);
done:
    free(l.w);
    free(nw);
    gstat_free(&r->g[G_HEAD]);
    return err;
}

/* he += inv · diag(g)·(Σ WᵀW)·diag(g) over the matrices mats (f32 copies of rows × dim) reading norm g. */
static int emb_acc(run *r, double inv, const float *g, const llq_mat *const *mats, size_t n_mats)
{
    size_t dim = r->m->hp.dim;
    double *t = llq_bigmem_alloc(dim * dim * sizeof *t);
    float *w = NULL;
    int err = 0;
    if (!t) {
        err = llq_err(LLQ_ENOMEM, "out of memory (embedding statistics)");
        goto done;
    }
    for (size_t k = 0; k < n_mats && !err; k++) {
        const llq_mat *mt = mats[k];
        if (mt->cols != dim)
            continue;
        free(w);
        if (!(w = malloc(mt->rows * dim * sizeof *w))) {
            err = llq_err(LLQ_ENOMEM, "out of memory (embedding statistics)");
            goto done;
        }
        for (size_t i = 0; i < mt->rows; i++)
            llq_row_to_f32(w + i * dim, (const uint8_t *)mt->data + i * mt->row_bytes, mt->type, mt->group, dim);
        err = llq_xtx_acc(t, w, mt->rows, dim, r->pool);
    }
    if (!err) {
        llq_sym_fill(t, dim);
        for (size_t i = 0; i < dim; i++)
            for (size_t j = 0; j < dim; j++)
                r->he[i * dim + j] += inv * (double)g[i] * g[j] * t[i * dim + j];
    }
done:
    llq_bigmem_free(t, dim * dim * sizeof *t);
    free(w);
    return err;
}

static double mean_inv_ms(const float *x, size_t n, size_t dim, float eps)
{
    double inv = 0;
    for (size_t t = 0; t < n; t++) {
        double ss = 0;
        for (size_t c = 0; c < dim; c++)
            ss += (double)x[t * dim + c] * x[t * dim + c];
        inv += 1.0 / (ss / (double)dim + eps);
    }
    return inv / (double)(n ? n : 1);
}

/* The token embedding, quantized first (so that every layer's calibration sees its error): GPTQ on its rows
 * against H_e, the sensitivity of the residual stream's readers. An error δ in an embedding row reaches each
 * matrix W that reads the residual x through a norm g as W·(g ⊙ δ)/rms(x), so
 * H_e = Σ_readers E[1/ms(x)]·diag(g)·WᵀW·diag(g) (wq/wk/wv, w1/w3 of every layer and the output head; E over the
 * f32 model's residual at each layer on the calibration windows x[n_samp × ctx × dim], tmp: one window). The
 * quantized embedding replaces the f32 one in the model. */
static int run_embed(run *r, const float *x, float *tmp, size_t n_samp, size_t ctx)
{
    llq_model *m = r->m;
    size_t dim = m->hp.dim, nl = m->hp.n_layers;
    lin l;
    memset(&l, 0, sizeof l);
    double *inv = calloc(nl + 1, sizeof *inv);
    int err = 0;
    if (!inv) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    if ((err = lin_load(&l, &m->tok_embeddings, llq_global_tensors[LLQ_GT_EMBED].name, r)) || !lin_quant(&l))
        goto done;
    for (size_t s = 0; s < n_samp; s++) {
        memcpy(tmp, x + s * ctx * dim, ctx * dim * sizeof *tmp);
        for (size_t L = 0; L <= nl && !err; L++) {
            inv[L] += mean_inv_ms(tmp, ctx, dim, m->hp.norm_eps) / (double)n_samp;
            if (L < nl)
                err = llq_model_layer(m, (int)L, tmp, ctx, NULL, NULL);
        }
        if (err)
            goto done;
    }
    if (!(r->he = llq_bigmem_alloc(dim * dim * sizeof *r->he))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t L = 0; L < nl && !err; L++) {
        const llq_layer_w *lw = &m->layers[L];
        const llq_mat *a[3] = {&lw->wq, &lw->wk, &lw->wv}, *f[2] = {&lw->w1, &lw->w3};
        if (!(err = emb_acc(r, inv[L], lw->attention_norm, a, 3)))
            err = emb_acc(r, inv[L], lw->ffn_norm, f, 2);
    }
    const llq_mat *o[1] = {&m->output};
    if (!err && !m->hp.tied)
        err = emb_acc(r, inv[nl], m->norm, o, 1);
    if (!err)
        err = lin_finish(r, &l, r->he);
done:
    if (r->he)
        llq_bigmem_free(r->he, dim * dim * sizeof *r->he);
    r->he = NULL;
    free(l.w);
    free(inv);
    return err;
}

static int check_weights(const llq_model *m, const char *path)
{
    const llq_mat *all[2] = {&m->tok_embeddings, &m->output};
    for (int i = 0; i < 2; i++)
        if (llq_type_is_quant(all[i]->type) || llq_type_is_block(all[i]->type))
            return llq_err(LLQ_EINVAL, "%s: already quantized (%s); calibrate from an f32/f16/bf16 model", path,
                           llq_type_name(all[i]->type));
    for (uint32_t L = 0; L < m->hp.n_layers; L++) {
        const llq_layer_w *w = &m->layers[L];
        const llq_mat *mats[7] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w1, &w->w2, &w->w3};
        for (int i = 0; i < 7; i++)
            if (llq_type_is_quant(mats[i]->type) || llq_type_is_block(mats[i]->type))
                return llq_err(LLQ_EINVAL, "%s: layer %u is already quantized (%s); calibrate from an "
                                           "f32/f16/bf16 model", path, L, llq_type_name(mats[i]->type));
    }
    return 0;
}

int llq_calib_run(llq_calib_result **out, const char *model_path, const llq_calib_opts *o)
{
    *out = NULL;
    int err = 0;
    llq_file *f = NULL;
    llq_tokenizer *tok = NULL;
    llq_model *m = NULL;
    uint32_t *ids = NULL;
    size_t n_ids = 0;
    uint64_t *starts = NULL;
    float *x = NULL, *tmp = NULL, *xfp = NULL;
    run r;
    memset(&r, 0, sizeof r);
    r.stage = -1;
    r.o = o;
    size_t n_samp = o->n_samples ? o->n_samples : 128, ctx = o->ctx ? o->ctx : 256;
    if (!o->policy || !(o->methods & (LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ | LLQ_CALIB_IMP)) || !o->text_path)
        return llq_err(LLQ_EINVAL, "calibration: no method, policy or text");
    if (n_samp > MAX_SAMPLES || ctx > MAX_CTX)
        return llq_err(LLQ_ELIMIT, "calibration: at most %u samples of %u tokens", MAX_SAMPLES, MAX_CTX);
    if (!(r.res = calloc(1, sizeof *r.res)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    if ((err = llq_open(&f, model_path)) || (!o->text_is_tokens && (err = llq_tokenizer_from_llq(&tok, f))) ||
        (err = llq_model_open(&m, f, o->n_threads)))
        goto done;
    r.m = m;
    r.pool = m->pool;
    if ((err = check_weights(m, model_path)))
        goto done;
    if (m->max_pos && ctx > m->max_pos) {
        err = llq_err(LLQ_EINVAL, "calibration context %zu exceeds the model's %u", ctx, m->max_pos);
        goto done;
    }
    if (o->progress)
        o->progress(o->progress_ud, "tokenize", 0, 1);
    if ((err = cq_load_tokens(o->text_path, tok, m->hp.vocab_size, &ids, &n_ids, &r.res->text_bytes)))
        goto done;
    r.res->text_tokens = n_ids;
    if (!(starts = malloc(n_samp * sizeof *starts))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    if ((err = llq_calib_windows(starts, n_samp, n_ids, ctx, o->seed))) {
        llq_err_prefix(err, o->text_path);
        goto done;
    }
    size_t dim = m->hp.dim;
    if (!(x = malloc(n_samp * ctx * dim * sizeof *x)) || !(tmp = malloc(ctx * dim * sizeof *tmp))) {
        err = llq_err(LLQ_ENOMEM, "out of memory (activations of %zu samples × %zu tokens)", n_samp, ctx);
        goto done;
    }
    double t0 = now();
    int gptq_only = (o->methods & LLQ_CALIB_GPTQ) && !(o->methods & LLQ_CALIB_AWQ) && !o->fold_only;
    int seq = gptq_only && !o->own_targets;
    float alpha = seq ? 1.0f : 0.0f;
    r.stage = -1;
    for (size_t s = 0; s < n_samp; s++)
        if ((err = llq_model_embed(m, ids + starts[s], ctx, x + s * ctx * dim)))
            goto done;
    double head = progress_shares(&r, n_samp, ctx);
    uint64_t head_steps = (uint64_t)(head * LLQ_CALIB_LAYER_STEPS) + 1; /* 1 to LLQ_CALIB_LAYER_STEPS - 1 */
    head_steps = head_steps < LLQ_CALIB_LAYER_STEPS ? head_steps : LLQ_CALIB_LAYER_STEPS - 1;
    r.steps_total = (uint64_t)m->hp.n_layers * LLQ_CALIB_LAYER_STEPS + head_steps;
    r.step_base = 0;
    progress_at(&r, 0);
    if (alpha > 0) {
        if (!(xfp = malloc(n_samp * ctx * dim * sizeof *xfp))) {
            err = llq_err(LLQ_ENOMEM, "out of memory (activations of %zu samples × %zu tokens)", n_samp, ctx);
            goto done;
        }
        memcpy(xfp, x, n_samp * ctx * dim * sizeof *xfp);
    }
    if (gptq_only && !o->embed_rtn && !m->hp.tied) {
        if ((err = run_embed(&r, x, tmp, n_samp, ctx)))
            goto done;
        for (size_t s = 0; s < n_samp; s++) /* the calibration stream from the quantized embedding */
            if ((err = llq_model_embed(m, ids + starts[s], ctx, x + s * ctx * dim)))
                goto done;
    }
    for (uint32_t L = 0; L < m->hp.n_layers; L++) {
        r.step_base = (uint64_t)L * LLQ_CALIB_LAYER_STEPS;
        progress_at(&r, 0);
        if ((err = seq ? run_layer_seq(&r, (int)L, x, xfp, tmp, n_samp, ctx, alpha)
                       : run_layer(&r, (int)L, x, tmp, n_samp, ctx)))
            goto done;
    }
    r.step_base = (uint64_t)m->hp.n_layers * LLQ_CALIB_LAYER_STEPS;
    progress_at(&r, 0);
    if ((err = run_head(&r, x, xfp, tmp, n_samp, ctx, alpha)))
        goto done;
    if (o->progress)
        o->progress(o->progress_ud, "layer", r.steps_total, r.steps_total);
    r.res->seconds = now() - t0;
    r.res->n_samples = (uint32_t)n_samp;
    r.res->ctx = (uint32_t)ctx;
    *out = r.res;
    r.res = NULL;
done:
    llq_calib_free(r.res);
    llq_model_free(m);
    llq_tokenizer_free(tok);
    llq_close(f);
    free(ids), free(starts), free(x), free(tmp), free(xfp);
    return err;
}

/* ---- memory ---- */

#define MIB ((uint64_t)1 << 20)
#define HUGE_ROUND (2 * MIB) /* each huge-page buffer rounds up to 2 MiB */

/* Bytes of rows × cols quantized by the policy's type for name (f32 copies: 4·rows·cols); 0 if not quantized. */
static int planned(uint64_t *out, const llq_calib_opts *o, const char *name, uint64_t rows, uint64_t cols)
{
    uint32_t type, group;
    uint64_t rb = 0;
    int err = o->policy(o->policy_ud, name, &type, &group);
    *out = 0;
    if (!err && (llq_type_is_quant(type) || llq_type_is_block(type))) {
        if (o->fold_only)
            *out = 4 * rows * cols;
        else if (!(err = llq_row_bytes(&rb, type, group, cols)))
            *out = rows * rb;
    }
    return err;
}

int llq_calib_mem_estimate(llq_calib_mem *out, const llq_hparams *hp, uint64_t file_bytes, const llq_calib_opts *o)
{
    memset(out, 0, sizeof *out);
    uint64_t N = o->n_samples ? o->n_samples : 128, C = o->ctx ? o->ctx : 256, d = hp->dim, f = hp->ffn_dim;
    uint64_t kv = d / hp->n_heads * hp->n_kv_heads, V = hp->vocab_size, T = o->n_threads;
    if (o->n_threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        T = c > 0 ? (uint64_t)c : 1;
    }
    struct stat st;
    uint64_t text = o->text_path && stat(o->text_path, &st) == 0 ? (uint64_t)st.st_size : 0;
    out->fixed = 32 * MIB;
    out->model_file = file_bytes;
    int asym = (o->methods & LLQ_CALIB_GPTQ) && !(o->methods & LLQ_CALIB_AWQ) && !o->fold_only && !o->own_targets;
    out->activations = (asym ? 8 : 4) * N * C * d + 4 * C * d + 4 * (text + 1); /* asym: the f32 stream too */
    /* layer 0's matrices stand for every layer's */
    static const char *mats[7] = {"attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1",
                                  "feed_forward.w3", "feed_forward.w2"};
    uint64_t rows[7] = {d, kv, kv, d, f, f, d}, cols[7] = {d, d, d, d, d, d, f}, q[7], head = 0, layer = 0;
    for (int i = 0; i < 7; i++) {
        char nm[96];
        snprintf(nm, sizeof nm, "layers.0.%s.weight", mats[i]);
        int err = planned(&q[i], o, nm, rows[i], cols[i]);
        if (err)
            return err;
        layer += q[i];
    }
    uint64_t emb = 0;
    int err = hp->tied ? 0 : planned(&head, o, "output.weight", V, d); /* tied: the head is never calibrated */
    if (!err && asym && !o->embed_rtn && !hp->tied)
        err = planned(&emb, o, "tok_embeddings.weight", V, d);
    if (err)
        return err;
    uint64_t norms = o->methods & LLQ_CALIB_AWQ ? 4 * d * (2 * (uint64_t)hp->n_layers + 1) : 0;
    out->results = hp->n_layers * layer + head + norms + emb;
    /* per thread: matmul scratch (32·cols + 8192 floats) and activation tiles, the largest task scratch (GPTQ:
     * 128 rows × (2·cols + 128 + 2·cols/32) floats; XᵀX: 128 × cols floats; AWQ: 65 × cols floats) */
    uint64_t cmax = f > d ? f : d;
    out->threads = T * (4 * (32 * cmax + 8192) + 4 * (uint64_t)LLQ_MM_XBUF_FLOATS + 4 * 128 * (2 * cmax + 128 + cmax / 16));
    uint64_t copies = 4 * (2 * d * d + 2 * kv * d + 3 * d * f);
    uint64_t stats = 8 * (3 * d * d + f * f) + 4 * HUGE_ROUND;
    uint64_t fwd = 4 * C * (5 * d + 2 * f + 2 * kv) + 4 * T * 64 * C;
    /* asym: Σ (x − x̃)·x̃ᵀ of one group (f64, and an f32 copy), (x − x̃)ᵀ and the f32 input of one window; the
     * target's correction: (H̃ + λI)⁻¹ and D·(H̃ + λI)⁻¹ (f64), its f32 transpose, a copy of the rows */
    uint64_t xc = asym ? 12 * cmax * cmax + 8 * cmax * C + HUGE_ROUND : 0;
    uint64_t corr = asym ? 20 * cmax * cmax + 4 * f * d + 2 * HUGE_ROUND : 0;
    out->layer_stats = copies + stats + xc + 4 * (uint64_t)XBUF_TOKENS * (3 * d + f) + 4 * HUGE_ROUND + fwd;
    /* GPTQ of one group: 16·cols² (H permuted + the factorization's scratch, or the f32 factors) + 1 KiB·cols,
     * and for the stacked groups (wq/wk/wv, w1/w3) their f32 rows and codes */
    uint64_t g_qkv = 16 * d * d + 1024 * d + 4 * (d + 2 * kv) * d + q[0] + q[1] + q[2];
    uint64_t g_o = 16 * d * d + 1024 * d + q[3], g_up = 16 * d * d + 1024 * d + 8 * f * d + q[4] + q[5];
    uint64_t g_down = 16 * f * f + 1024 * f + q[6], g = g_qkv;
    g = g_o > g ? g_o : g, g = g_up > g ? g_up : g, g = g_down > g ? g_down : g;
    if (o->methods & LLQ_CALIB_AWQ) { /* AWQ's search holds H as f32 */
        uint64_t a = 4 * cmax * cmax;
        g = a > g ? a : g;
    }
    g = corr > g ? corr : g;
    out->layer_quant = copies + stats + xc + g + 3 * HUGE_ROUND;
    uint64_t hg = 16 * d * d + 1024 * d + head, hc = asym ? 20 * d * d + 4 * V * d + 2 * HUGE_ROUND : 0;
    /* the head by rows (head_fisher): the original rows, the normed f32 and quantized inputs and the gathered
     * ones (f32, N·C × d each), log Σ exp, the logits of one window and of 16 rows, H_v, one row's GPTQ */
    if (asym && !o->head_one_h && N * C >= ASYM_MIN_TOKENS_PER_COL * d && head_fisher_applies(V, d)) {
        uint64_t hf = 4 * V * d + 12 * N * C * d + 8 * N * C + 4 * C * V + 64 * N * C + 24 * d * d + 1024 * d + head;
        hg = hf > hg ? hf : hg;
    }
    out->head = head ? 4 * V * d + 8 * d * d + 4 * (uint64_t)XBUF_TOKENS * d + (hc > hg ? hc : hg) +
                           (asym ? 12 * d * d + 12 * d * C + HUGE_ROUND : 0) + 4 * HUGE_ROUND
                     : 0;
    /* the embedding (GPTQ first): its f32 copy, H_e and the readers' WᵀW (f64), one reader's f32 copy (the largest:
     * the output head, V×d), then GPTQ on d columns */
    out->embed = emb ? 8 * V * d + 32 * d * d + 1024 * d + emb + 6 * HUGE_ROUND : 0;
    uint64_t m = out->layer_stats;
    m = out->layer_quant > m ? out->layer_quant : m;
    m = out->head > m ? out->head : m;
    m = out->embed > m ? out->embed : m;
    out->total = out->fixed + out->model_file + out->activations + out->results + out->threads + m;
    return 0;
}
