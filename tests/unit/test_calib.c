/* test_calib.c — calibration text checks, sample windows, and the driver on the demo model (models/pydoc-7m,
 * converted to f32 in a temp file): AWQ folding leaves the model's logits unchanged, GPTQ drifts less than RTN,
 * bad calibration text gives one-line errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calib_testutil.h"
#include "../../kernels/kern.h"
#include "llq/calib.h"
#include "llq/convert.h"
#include "llq/hparams.h"
#include "llq/model.h"
#include "llq/quant.h"
#include "llq/tokenizer.h"

START_TEST(windows_deterministic_and_disjoint)
{
    uint64_t a[20], b[20], c[20];
    ck_assert_int_eq(llq_calib_windows(a, 20, 10000, 256, 42), 0);
    ck_assert_int_eq(llq_calib_windows(b, 20, 10000, 256, 42), 0);
    ck_assert_int_eq(llq_calib_windows(c, 20, 10000, 256, 43), 0);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_uint_le(a[i] + 256, 10000);
        ck_assert_uint_eq(a[i] % 256, 0);
        for (int j = 0; j < i; j++)
            ck_assert(a[i] != a[j]); /* aligned and distinct: disjoint */
    }
}
END_TEST

START_TEST(windows_more_than_fit_overlap)
{
    uint64_t s[50];
    ck_assert_int_eq(llq_calib_windows(s, 50, 1000, 256, 1), 0);
    for (int i = 0; i < 50; i++)
        ck_assert_uint_le(s[i] + 256, 1000);
    ck_assert_int_eq(llq_calib_windows(s, 1, 256, 256, 1), 0);
    ck_assert_uint_eq(s[0], 0);
}
END_TEST

START_TEST(windows_text_too_short)
{
    uint64_t s[4];
    ck_assert_int_eq(llq_calib_windows(s, 4, 255, 256, 1), LLQ_EINVAL);
    ck_assert_str_eq(llq_errmsg(), "calibration text has 255 tokens, fewer than one window of 256");
    ck_assert_ptr_null(strchr(llq_errmsg(), '\n'));
}
END_TEST

START_TEST(utf8_check)
{
    const char *good[] = {"", "plain ascii\n", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\xef\xbb\xbf\x42OM"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_int_eq(llq_calib_check_utf8(good[i], strlen(good[i])), 0);
    struct { const char *s; size_t n; } bad[] = {
        {"ab\xff", 3},          /* invalid byte */
        {"\xc3", 1},            /* truncated */
        {"\xc0\xaf", 2},        /* overlong */
        {"\xe0\x80\xaf", 3},    /* overlong 3-byte */
        {"\xed\xa0\x80", 3},    /* surrogate */
        {"\xf4\x90\x80\x80", 4},/* > U+10FFFF */
        {"a\0b", 3},            /* NUL */
        {"\xe2\x28\xa1", 3},    /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(llq_calib_check_utf8(bad[i].s, bad[i].n), LLQ_EFORMAT);
        ck_assert_ptr_nonnull(strstr(llq_errmsg(), "not UTF-8 text"));
    }
}
END_TEST

/* ---- driver tests on the demo model ---- */

#define DEMO "models/pydoc-7m"
static char model_path[64], text_path[64];

static void demo_setup(void)
{
    snprintf(model_path, sizeof model_path, "/tmp/llq_test_calib_%d.llq", (int)getpid());
    snprintf(text_path, sizeof text_path, "/tmp/llq_test_calib_%d.txt", (int)getpid());
    if (access(DEMO "/consolidated.00.pth", R_OK) != 0)
        return;
    llq_convert_opts o = {0};
    o.src = DEMO;
    o.out = model_path;
    o.dtype = LLQ_F32;
    o.flags = LLQ_CONVERT_FORCE;
    if (llq_convert(&o, NULL))
        fprintf(stderr, "test_calib: convert failed: %s\n", llq_errmsg());
}

static void demo_teardown(void)
{
    unlink(model_path);
    unlink(text_path);
}

static int have_demo(void)
{
    if (access(model_path, R_OK) == 0)
        return 1;
    fprintf(stderr, "test_calib: %s not available, skipping the model tests\n", DEMO);
    return 0;
}

/* Policy: q4 g128 for the layers' matrices up to max_layer (and the output head q8 g32 if head_q8, q4 g128 if
 * head_q4), everything
 * else left alone. */
static int max_layer, head_q8, embed_q4, head_q4;
static int policy(void *ud, const char *name, uint32_t *type, uint32_t *group)
{
    (void)ud;
    unsigned L;
    *type = LLQ_F32, *group = 0;
    if (sscanf(name, "layers.%u.", &L) == 1 && (int)L <= max_layer)
        *type = LLQ_Q4, *group = 128;
    if (head_q8 && !strcmp(name, "output.weight"))
        *type = LLQ_Q8, *group = 32;
    if (head_q4 && !strcmp(name, "output.weight"))
        *type = LLQ_Q4, *group = 128;
    if (embed_q4 && !strcmp(name, "tok_embeddings.weight"))
        *type = LLQ_Q4, *group = 128;
    return 0;
}

static uint32_t *test_tokens(size_t *n)
{
    llq_file *f;
    llq_tokenizer *tok;
    ck_assert_int_eq(llq_open(&f, model_path), 0);
    ck_assert_int_eq(llq_tokenizer_from_llq(&tok, f), 0);
    FILE *fp = fopen(DEMO "/test.txt", "rb");
    ck_assert_ptr_nonnull(fp);
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint32_t *ids;
    ck_assert_int_eq(llq_tokenize(tok, buf, len, 1, &ids, n), 0);
    llq_tokenizer_free(tok);
    llq_close(f);
    return ids;
}

/* Mean KL(base ‖ q) over the positions of one window of n tokens. */
static double window_kld(const llq_model *base, const llq_model *q, const uint32_t *tok, size_t n)
{
    size_t V = base->hp.vocab_size;
    float *a = malloc(n * V * sizeof *a), *b = malloc(n * V * sizeof *b);
    ck_assert_int_eq(llq_model_forward(base, tok, n, a), 0);
    ck_assert_int_eq(llq_model_forward(q, tok, n, b), 0);
    double kl = 0;
    for (size_t t = 0; t < n; t++) {
        const float *x = a + t * V, *y = b + t * V;
        double mx = -INFINITY, my = -INFINITY, sx = 0, sy = 0;
        for (size_t v = 0; v < V; v++)
            mx = fmax(mx, x[v]), my = fmax(my, y[v]);
        for (size_t v = 0; v < V; v++)
            sx += exp(x[v] - mx), sy += exp(y[v] - my);
        for (size_t v = 0; v < V; v++) {
            double lp = x[v] - mx - log(sx), lq = y[v] - my - log(sy);
            kl += exp(lp) * (lp - lq);
        }
    }
    free(a), free(b);
    return kl / (double)n;
}

/* AWQ's scales folded into norms / matrices (kept in f32) give the original model's logits. */
START_TEST(awq_fold_is_equivalent)
{
    if (!have_demo())
        return;
    max_layer = 1;
    llq_calib_opts o = {0};
    o.methods = LLQ_CALIB_AWQ, o.fold_only = 1, o.text_path = DEMO "/calib.txt", o.n_samples = 8, o.ctx = 64;
    o.seed = 3, o.policy = policy;
    llq_calib_result *r = NULL;
    ck_assert_msg(llq_calib_run(&r, model_path, &o) == 0, "%s", llq_errmsg());
    llq_file *f;
    llq_model *base, *fold;
    ck_assert_int_eq(llq_open(&f, model_path), 0);
    ck_assert_int_eq(llq_model_open(&base, f, 1), 0);
    ck_assert_int_eq(llq_model_open(&fold, f, 1), 0);
    ck_assert_int_eq(llq_calib_apply(fold, r), 0);
    /* the folding changed something: norms rescaled */
    double maxrel = 0;
    for (int L = 0; L <= 1; L++)
        for (uint32_t c = 0; c < base->hp.dim; c++) {
            float x = base->layers[L].ffn_norm[c], y = fold->layers[L].ffn_norm[c];
            maxrel = fmax(maxrel, fabs(x - y) / fabs(x));
        }
    ck_assert_msg(maxrel > 0.05, "norms unchanged (%g)", maxrel);
    ck_assert_ptr_nonnull(llq_calib_find(r, "layers.1.feed_forward.w2.weight"));
    size_t n;
    uint32_t *tok = test_tokens(&n);
    n = n > 128 ? 128 : n;
    size_t V = base->hp.vocab_size;
    float *a = malloc(n * V * sizeof *a), *b = malloc(n * V * sizeof *b);
    ck_assert_int_eq(llq_model_forward(base, tok, n, a), 0);
    ck_assert_int_eq(llq_model_forward(fold, tok, n, b), 0);
    double maxd = 0, scale = 0;
    for (size_t i = 0; i < n * V; i++)
        maxd = fmax(maxd, fabs(a[i] - b[i])), scale = fmax(scale, fabs(a[i]));
    ck_assert_msg(maxd <= 1e-4 * scale, "logits differ by %g (max |logit| %g)", maxd, scale);
    free(a), free(b), free(tok);
    llq_model_free(base), llq_model_free(fold);
    llq_close(f);
    llq_calib_free(r);
}
END_TEST

/* GPTQ on the whole model drifts less from the f32 logits than RTN with searched scales (quant.h). */
START_TEST(gptq_drifts_less_than_rtn)
{
    if (!have_demo())
        return;
    max_layer = 1000;
    llq_calib_opts o = {0};
    o.methods = LLQ_CALIB_GPTQ, o.text_path = DEMO "/calib.txt", o.n_samples = 16, o.ctx = 128, o.seed = 1;
    o.policy = policy;
    llq_calib_result *r = NULL;
    ck_assert_msg(llq_calib_run(&r, model_path, &o) == 0, "%s", llq_errmsg());
    llq_file *f;
    llq_model *base, *gq, *rq;
    ck_assert_int_eq(llq_open(&f, model_path), 0);
    ck_assert_int_eq(llq_model_open(&base, f, 0), 0);
    ck_assert_int_eq(llq_model_open(&gq, f, 0), 0);
    ck_assert_int_eq(llq_model_open(&rq, f, 0), 0);
    ck_assert_int_eq(llq_calib_apply(gq, r), 0);
    void *keep[64];
    int nk = 0;
    for (uint32_t L = 0; L < rq->hp.n_layers; L++) {
        llq_layer_w *lw = &rq->layers[L];
        llq_mat *s[7] = {&lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w1, &lw->w2, &lw->w3};
        for (int i = 0; i < 7; i++) {
            ck_assert_uint_eq(s[i]->type, LLQ_F32);
            size_t rb = tu_row_bytes(LLQ_Q4, 128, s[i]->cols);
            void *q = keep[nk++] = malloc(s[i]->rows * rb);
            ck_assert_int_eq(llq_quantize_tensor(q, s[i]->data, s[i]->rows, s[i]->cols, LLQ_Q4, 128, NULL, NULL), 0);
            ck_assert_int_eq(llq_mat_init(s[i], LLQ_Q4, 128, s[i]->rows, s[i]->cols, q), 0);
        }
    }
    size_t n;
    uint32_t *tok = test_tokens(&n);
    double kg = 0, kr = 0;
    for (size_t w = 0; w + 128 <= n && w < 512; w += 128)
        kg += window_kld(base, gq, tok + w, 128), kr += window_kld(base, rq, tok + w, 128);
    ck_assert_msg(kg < 0.8 * kr, "KLD gptq %g vs rtn %g", kg, kr);
    for (int i = 0; i < nk; i++)
        free(keep[i]);
    free(tok);
    llq_model_free(base), llq_model_free(gq), llq_model_free(rq);
    llq_close(f);
    llq_calib_free(r);
}
END_TEST

/* KLD over the first 4 windows of 128 test tokens of a model with calibration result r applied to the demo model
 * (the embedding, if r leaves it in f32 and rtn_embed is set, quantized by RTN q4 g128 here). */
static double model_kld(const llq_calib_result *r, int rtn_embed)
{
    llq_file *f;
    llq_model *base, *q;
    ck_assert_int_eq(llq_open(&f, model_path), 0);
    ck_assert_int_eq(llq_model_open(&base, f, 0), 0);
    ck_assert_int_eq(llq_model_open(&q, f, 0), 0);
    ck_assert_int_eq(llq_calib_apply(q, r), 0);
    void *eq = NULL;
    if (rtn_embed) {
        llq_mat *e = &q->tok_embeddings;
        ck_assert_uint_eq(e->type, LLQ_F32);
        eq = malloc(e->rows * tu_row_bytes(LLQ_Q4, 128, e->cols));
        ck_assert_int_eq(llq_quantize_tensor(eq, e->data, e->rows, e->cols, LLQ_Q4, 128, NULL, NULL), 0);
        ck_assert_int_eq(llq_mat_init(e, LLQ_Q4, 128, e->rows, e->cols, eq), 0);
    }
    size_t n;
    uint32_t *tok = test_tokens(&n);
    double k = 0;
    for (size_t w = 0; w + 128 <= n && w < 512; w += 128)
        k += window_kld(base, q, tok + w, 128);
    free(tok), free(eq);
    llq_model_free(base), llq_model_free(q);
    llq_close(f);
    return k;
}

/* GPTQ's default targets (the f32 model's outputs from the quantized model's inputs, group by group) drift less
 * than each matrix's own weights as targets (own_targets), on the same windows and policy; 96 × 128 calibration
 * tokens = 16 per column of w2, the fewest with which every group gets the f32 targets. */
START_TEST(gptq_f32_targets_drift_less)
{
    if (!have_demo())
        return;
    max_layer = 1000, head_q8 = 1;
    double k[2];
    for (int own = 0; own < 2; own++) {
        llq_calib_opts o = {0};
        o.methods = LLQ_CALIB_GPTQ, o.text_path = DEMO "/calib.txt", o.n_samples = 96, o.ctx = 128, o.seed = 1;
        o.policy = policy, o.own_targets = own, o.head_one_h = 1; /* not what this compares (and slower) */
        llq_calib_result *r = NULL;
        ck_assert_msg(llq_calib_run(&r, model_path, &o) == 0, "%s", llq_errmsg());
        ck_assert_ptr_null(llq_calib_find(r, "tok_embeddings.weight")); /* the policy leaves it in f32 */
        k[own] = model_kld(r, 0);
        llq_calib_free(r);
    }
    fprintf(stderr, "test_calib: KLD with f32 targets %g, own targets %g\n", k[0], k[1]);
    ck_assert_msg(k[0] < 0.9 * k[1], "KLD f32 targets %g vs own targets %g", k[0], k[1]);
    head_q8 = 0;
}
END_TEST

/* A quantized token embedding is calibrated first by default (GPTQ against the sensitivity of its readers): the
 * result holds it in the policy's type, and the model drifts less than with the embedding by RTN (embed_rtn). */
START_TEST(gptq_embedding_first)
{
    if (!have_demo())
        return;
    max_layer = 1000, head_q8 = 1, embed_q4 = 1;
    double k[2];
    for (int rtn = 0; rtn < 2; rtn++) {
        llq_calib_opts o = {0};
        o.methods = LLQ_CALIB_GPTQ, o.text_path = DEMO "/calib.txt", o.n_samples = 96, o.ctx = 128, o.seed = 1;
        o.policy = policy, o.embed_rtn = rtn, o.head_one_h = 1; /* not what this compares (and slower) */
        llq_calib_result *r = NULL;
        ck_assert_msg(llq_calib_run(&r, model_path, &o) == 0, "%s", llq_errmsg());
        const llq_calib_tensor *e = llq_calib_find(r, "tok_embeddings.weight");
        if (rtn) {
            ck_assert_ptr_null(e);
        } else {
            ck_assert_ptr_nonnull(e);
            ck_assert_uint_eq(e->type, LLQ_Q4);
            ck_assert_uint_eq(e->group, 128);
        }
        k[rtn] = model_kld(r, rtn);
        llq_calib_free(r);
    }
    fprintf(stderr, "test_calib: KLD with the embedding by GPTQ first %g, by RTN %g\n", k[0], k[1]);
    ck_assert_msg(k[0] < k[1], "KLD embedding by GPTQ %g vs RTN %g", k[0], k[1]);
    head_q8 = 0, embed_q4 = 0;
}
END_TEST

/* The output head by rows, each with the Hessian its token's probability weighs (the default of GPTQ with f32
 * targets), drifts less than the head with the one Hessian of its inputs (head_one_h); only the head quantized
 * (q4 g128), 64 × 128 calibration tokens (>= 16 per column: the f32 targets apply). */
START_TEST(gptq_head_by_rows)
{
    if (!have_demo())
        return;
    max_layer = -1, head_q4 = 1;
    double k[2];
    for (int one = 0; one < 2; one++) {
        llq_calib_opts o = {0};
        o.methods = LLQ_CALIB_GPTQ, o.text_path = DEMO "/calib.txt", o.n_samples = 64, o.ctx = 128, o.seed = 3;
        o.policy = policy, o.head_one_h = one;
        llq_calib_result *r = NULL;
        ck_assert_msg(llq_calib_run(&r, model_path, &o) == 0, "%s", llq_errmsg());
        const llq_calib_tensor *h = llq_calib_find(r, "output.weight");
        ck_assert_ptr_nonnull(h);
        ck_assert_uint_eq(h->type, LLQ_Q4);
        ck_assert_uint_eq(h->group, 128);
        ck_assert_ptr_null(llq_calib_find(r, "layers.0.attention.wq.weight"));
        k[one] = model_kld(r, 0);
        llq_calib_free(r);
    }
    fprintf(stderr, "test_calib: KLD with the head by rows %g, with one Hessian %g\n", k[0], k[1]);
    ck_assert_msg(k[0] < 0.95 * k[1], "KLD head by rows %g vs one Hessian %g", k[0], k[1]);
    max_layer = 1000, head_q4 = 0;
}
END_TEST

/* The thread count reaches calibration and does not change its result: every tensor of 1 and 2 threads is the
 * same bytes, for GPTQ, AWQ and AWQ + GPTQ, with the output head calibrated too and more calibration tokens than
 * one XᵀX batch (2048); GPTQ with 64 × 64 tokens, 16 per column of the head: its f32 target and its rows with
 * their own Hessians. */
START_TEST(threads_same_result)
{
    if (!have_demo())
        return;
    max_layer = 1000, head_q8 = 1, embed_q4 = 1; /* GPTQ: the embedding first too */
    unsigned methods[3] = {LLQ_CALIB_GPTQ, LLQ_CALIB_AWQ, LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ};
    for (int mi = 0; mi < 3; mi++) {
        llq_calib_result *r[2] = {NULL, NULL};
        for (int t = 0; t < 2; t++) {
            llq_calib_opts o = {0};
            o.methods = methods[mi], o.text_path = DEMO "/calib.txt", o.n_samples = mi == 0 ? 64 : 8, o.ctx = 64;
            o.seed = 5, o.policy = policy, o.n_threads = t + 1;
            ck_assert_msg(llq_calib_run(&r[t], model_path, &o) == 0, "%s", llq_errmsg());
            ck_assert(r[t]->sec_forward > 0 && r[t]->sec_quant > 0);
        }
        ck_assert_uint_eq(r[0]->n, r[1]->n);
        ck_assert_ptr_nonnull(llq_calib_find(r[0], "output.weight"));
        for (size_t i = 0; i < r[0]->n; i++) {
            const llq_calib_tensor *a = &r[0]->t[i], *b = llq_calib_find(r[1], a->name);
            ck_assert_ptr_nonnull(b);
            ck_assert_uint_eq(a->size, b->size);
            ck_assert_msg(memcmp(a->data, b->data, a->size) == 0, "method %u: %s differs", methods[mi], a->name);
        }
        llq_calib_free(r[0]), llq_calib_free(r[1]);
    }
    head_q8 = 0, embed_q4 = 0;
}
END_TEST

/* The peak-memory estimate is the documented formula (docs/QUANTIZATION.md "Memory", written out again here from
 * its inputs), and a calibration run in a child process stays under it (its peak RSS, from the kernel). */
START_TEST(memory_formula_and_peak)
{
    if (!have_demo())
        return;
    max_layer = 1000, head_q8 = 1;
    llq_file *f;
    llq_hparams hp;
    ck_assert_int_eq(llq_open(&f, model_path), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    llq_close(f);
    struct stat st, tx;
    ck_assert_int_eq(stat(model_path, &st), 0);
    ck_assert_int_eq(stat(DEMO "/calib.txt", &tx), 0);
    llq_calib_opts o = {0};
    o.methods = LLQ_CALIB_GPTQ, o.text_path = DEMO "/calib.txt", o.n_samples = 24, o.ctx = 128, o.seed = 2;
    o.policy = policy, o.n_threads = 2;
    llq_calib_mem m;
    ck_assert_int_eq(llq_calib_mem_estimate(&m, &hp, (uint64_t)st.st_size, &o), 0);
    /* the formula */
    uint64_t N = 24, C = 128, d = hp.dim, f_ = hp.ffn_dim, kv = d / hp.n_heads * hp.n_kv_heads, V = hp.vocab_size;
    uint64_t T = 2, MiB = 1 << 20, rb_d = (d / 128) * (64 + 2), rb_f = (f_ / 128) * (64 + 2); /* q4 g128 rows */
    uint64_t layer_q = (d + 2 * kv + d + 2 * f_) * rb_d + d * rb_f, head = V * (d + 2 * (d / 32)); /* q8 g32 */
    ck_assert_uint_eq(m.fixed, 32 * MiB);
    ck_assert_uint_eq(m.model_file, (uint64_t)st.st_size);
    /* GPTQ alone: the f32 model's stream beside the quantized one (asymmetric targets) */
    ck_assert_uint_eq(m.activations, 8 * N * C * d + 4 * C * d + 4 * ((uint64_t)tx.st_size + 1));
    ck_assert_uint_eq(m.results, hp.n_layers * layer_q + head);
    uint64_t cmax = f_ > d ? f_ : d;
    ck_assert_uint_eq(m.threads, T * (4 * (32 * cmax + 8192) + 4 * (uint64_t)LLQ_MM_XBUF_FLOATS +
                                      4 * 128 * (2 * cmax + 128 + cmax / 16)));
    uint64_t copies = 4 * (2 * d * d + 2 * kv * d + 3 * d * f_), stats = 8 * (3 * d * d + f_ * f_) + 8 * MiB;
    uint64_t xc = 12 * cmax * cmax + 8 * cmax * C + 2 * MiB, corr = 20 * cmax * cmax + 4 * f_ * d + 4 * MiB;
    ck_assert_uint_eq(m.layer_stats, copies + stats + xc + 4 * 2048 * (3 * d + f_) + 8 * MiB +
                                         4 * C * (5 * d + 2 * f_ + 2 * kv) + 4 * T * 64 * C);
    uint64_t g_qkv = 16 * d * d + 1024 * d + 4 * (d + 2 * kv) * d + (d + 2 * kv) * rb_d;
    uint64_t g_up = 16 * d * d + 1024 * d + 8 * f_ * d + 2 * f_ * rb_d, g_down = 16 * f_ * f_ + 1024 * f_ + d * rb_f;
    uint64_t g = g_qkv > g_up ? g_qkv : g_up;
    g = g > g_down ? g : g_down;
    g = g > corr ? g : corr;
    ck_assert_uint_eq(m.layer_quant, copies + stats + xc + g + 6 * MiB);
    uint64_t hg = 16 * d * d + 1024 * d + head, hc = 20 * d * d + 4 * V * d + 4 * MiB;
    ck_assert_uint_eq(m.head, 4 * V * d + 8 * d * d + 4 * 2048 * d + (hg > hc ? hg : hc) + 12 * d * d + 12 * d * C +
                                  2 * MiB + 8 * MiB);
    ck_assert_uint_eq(m.embed, 0); /* the policy leaves the embedding in f32 */
    uint64_t mx = m.layer_stats > m.layer_quant ? m.layer_stats : m.layer_quant;
    mx = mx > m.head ? mx : m.head;
    ck_assert_uint_eq(m.total, m.fixed + m.model_file + m.activations + m.results + m.threads + mx);
    /* tied embeddings: the head is not calibrated, so neither its result nor its phase counts */
    llq_hparams ht = hp;
    llq_calib_mem mt;
    ht.tied = 1;
    ck_assert_int_eq(llq_calib_mem_estimate(&mt, &ht, (uint64_t)st.st_size, &o), 0);
    ck_assert_uint_eq(mt.results, hp.n_layers * layer_q);
    ck_assert_uint_eq(mt.head, 0);
    ck_assert_uint_eq(mt.total, m.fixed + m.model_file + m.activations + mt.results + m.threads +
                                    (m.layer_stats > m.layer_quant ? m.layer_stats : m.layer_quant));
    /* measured: the child's peak resident set (KiB) */
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        llq_calib_result *r = NULL;
        long kib = -1;
        if (llq_calib_run(&r, model_path, &o) == 0) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            kib = ru.ru_maxrss;
        }
        llq_calib_free(r);
        ssize_t w = write(fd[1], &kib, sizeof kib);
        _exit(w == (ssize_t)sizeof kib ? 0 : 1);
    }
    close(fd[1]);
    long kib = -1;
    ck_assert_int_eq(read(fd[0], &kib, sizeof kib), (ssize_t)sizeof kib);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_int_gt(kib, 0);
#if !defined(__SANITIZE_ADDRESS__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's shadow memory and quarantine inflate RSS several-fold: the formula is checked in plain builds */
#else
    ck_assert_msg((uint64_t)kib * 1024 <= m.total, "peak RSS %ld KiB above the estimate %llu B", kib,
                  (unsigned long long)m.total);
#endif
    fprintf(stderr, "test_calib: peak RSS %.1f MiB, estimate %.1f MiB\n", (double)kib / 1024,
            (double)m.total / 1048576.0);
    head_q8 = 0;
}
END_TEST

static void write_text(const char *s, size_t n)
{
    FILE *fp = fopen(text_path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(s, 1, n, fp), n);
    fclose(fp);
}

START_TEST(bad_calibration_text)
{
    if (!have_demo())
        return;
    max_layer = 1000;
    llq_calib_opts o = {0};
    o.methods = LLQ_CALIB_GPTQ, o.text_path = text_path, o.n_samples = 4, o.ctx = 256, o.policy = policy;
    llq_calib_result *r = NULL;
    write_text("def f(x):\n    return x\n", 23);
    ck_assert_int_eq(llq_calib_run(&r, model_path, &o), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "fewer than one window of 256"));
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), text_path));
    ck_assert_ptr_null(strchr(llq_errmsg(), '\n'));
    ck_assert_ptr_null(r);
    write_text("abc\xff\xfe more", 10);
    ck_assert_int_eq(llq_calib_run(&r, model_path, &o), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "not UTF-8 text (byte 0xff at offset 3)"));
    o.text_path = "/nonexistent/calib.txt";
    ck_assert_int_eq(llq_calib_run(&r, model_path, &o), LLQ_ENOTFOUND); /* a missing file, as every reader says */
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "/nonexistent/calib.txt"));
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("calib");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, windows_deterministic_and_disjoint);
    tcase_add_test(tc, windows_more_than_fit_overlap);
    tcase_add_test(tc, windows_text_too_short);
    tcase_add_test(tc, utf8_check);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("model");
    tcase_add_unchecked_fixture(tm, demo_setup, demo_teardown);
    tcase_set_timeout(tm, 300);
    tcase_add_test(tm, awq_fold_is_equivalent);
    tcase_add_test(tm, gptq_drifts_less_than_rtn);
    tcase_add_test(tm, gptq_f32_targets_drift_less);
    tcase_add_test(tm, gptq_embedding_first);
    tcase_add_test(tm, gptq_head_by_rows);
    tcase_add_test(tm, bad_calibration_text);
    tcase_add_test(tm, threads_same_result);
    tcase_add_test(tm, memory_formula_and_peak);
    suite_add_tcase(s, tm);
    return s;
}
