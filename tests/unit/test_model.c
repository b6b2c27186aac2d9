/* test_model.c — the forward pass against PyTorch on a tiny random LLaMA (tests/make_eval_refs.py: GQA, two
 * layers, odd-free but non-power-of-two ffn), in f32 and bf16, through llq_model_open on a written .llq; the
 * layer API and its capture points; the KV-cache path; thread-count invariance; bad input. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "llq/eval.h"
#include "llq/format.h"
#include "llq/model.h"

#define FIX "tests/fixtures/eval/"
enum { DIM = 64, LAYERS = 2, HEADS = 4, KV = 2, FFN = 160, VOCAB = 256, N = 40, HD = DIM / HEADS };

static const llq_hparams HP = {.arch = "llama", .dim = DIM, .n_layers = LAYERS, .n_heads = HEADS, .n_kv_heads = KV,
                               .ffn_dim = FFN, .vocab_size = VOCAB, .context_length = 64, .norm_eps = 1e-5f,
                               .rope_theta = 10000.0f};

/* Writes the fixture's weights (tiny.llq, f32) as a .llq whose matrices have type `type` (norms stay f32 but are
 * rounded like the matrices, as the PyTorch reference did) to a fresh temp path; skip names a tensor to leave
 * out, bad_shape one to write one row short. Returns the path (static buffer). */
static const char *write_model(uint32_t type, const char *skip, const char *bad_shape, const llq_hparams *hp)
{
    static char path[64];
    static int seq;
    snprintf(path, sizeof path, "/tmp/llq_test_model_%d_%d.llq", (int)getpid(), seq++);
    llq_file *src;
    llq_writer *wr;
    ck_assert_int_eq(llq_open(&src, FIX "tiny.llq"), 0);
    ck_assert_int_eq(llq_writer_open(&wr, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_hparams_write(wr, hp), 0);
    for (size_t i = 0; i < llq_n_tensors(src); i++) {
        const llq_tensor *t = llq_tensor_at(src, i);
        if (skip && strcmp(skip, t->name) == 0)
            continue;
        uint64_t dims[2] = {t->dims[0], t->n_dims == 2 ? t->dims[1] : 0};
        uint64_t ne = t->n_elem;
        if (bad_shape && strcmp(bad_shape, t->name) == 0)
            dims[0] -= 1, ne -= t->row_len;
        uint32_t ty = t->n_dims == 2 ? type : LLQ_F32;
        const float *p = t->data;
        void *buf = malloc(ne * 4);
        for (size_t j = 0; j < ne; j++) {
            float v = type == LLQ_BF16 ? llq_bf16_to_f32(llq_f32_to_bf16(p[j]))
                      : type == LLQ_F16 ? llq_f16_to_f32(llq_f32_to_f16(p[j]))
                                        : p[j];
            if (ty == LLQ_F32)
                ((float *)buf)[j] = v;
            else
                ((uint16_t *)buf)[j] = ty == LLQ_BF16 ? llq_f32_to_bf16(p[j]) : llq_f32_to_f16(p[j]);
        }
        ck_assert_int_eq(llq_writer_add(wr, t->name, ty, t->n_dims, dims, 0, buf, ne * (ty == LLQ_F32 ? 4 : 2)), 0);
        free(buf);
    }
    ck_assert_int_eq(llq_writer_commit(wr), 0);
    llq_writer_free(wr);
    llq_close(src);
    return path;
}

static llq_model *open_model(const char *path, llq_file **f, int threads)
{
    llq_model *m;
    ck_assert_int_eq(llq_open(f, path), 0);
    int rc = llq_model_open(&m, *f, threads);
    ck_assert_msg(rc == 0, "%s", llq_errmsg());
    return m;
}

static uint32_t *tokens(void)
{
    size_t len;
    uint32_t *t = tu_slurp(FIX "tiny_tokens.u32", &len);
    ck_assert_uint_eq(len, N * 4);
    return t;
}

/* max |a-b| / max |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

static void check_against_torch(uint32_t type, const char *ref, int impl)
{
    llq_file *f;
    const char *path = write_model(type, NULL, NULL, &HP);
    llq_model *m = open_model(path, &f, 2);
    uint32_t *tok = tokens();
    size_t len;
    float *want = tu_slurp(ref, &len), *got = malloc(N * VOCAB * 4);
    llq_kernel_set_impl(impl);
    ck_assert_int_eq(llq_model_forward(m, tok, N, got), 0);
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    double e = rel_err(got, want, N * VOCAB);
    ck_assert_msg(e < 2e-5, "%s impl %d: logits differ from PyTorch by %g (relative to max)", llq_type_name(type), impl, e);
    llq_model_free(m);
    llq_close(f);
    unlink(path);
    free(tok), free(want), free(got);
}

START_TEST(f32_logits_match_torch)
{
    check_against_torch(LLQ_F32, FIX "tiny_logits.f32", LLQ_KERNEL_FAST);
    check_against_torch(LLQ_F32, FIX "tiny_logits.f32", LLQ_KERNEL_REF);
}
END_TEST

START_TEST(bf16_logits_match_torch)
{
    check_against_torch(LLQ_BF16, FIX "tiny_logits_bf16.f32", LLQ_KERNEL_FAST);
    check_against_torch(LLQ_BF16, FIX "tiny_logits_bf16.f32", LLQ_KERNEL_REF);
}
END_TEST

/* NLL (f64 log-softmax) of the whole sequence equals PyTorch's, one window of N tokens. */
START_TEST(nll_matches_torch)
{
    size_t len;
    char *txt = tu_slurp(FIX "tiny_nll.txt", &len);
    double want_f32, want_bf16;
    ck_assert_int_eq(sscanf(txt, "%lf %lf", &want_f32, &want_bf16), 2);
    free(txt);
    uint32_t types[2] = {LLQ_F32, LLQ_BF16};
    double want[2] = {want_f32, want_bf16};
    for (int i = 0; i < 2; i++) {
        llq_file *f;
        const char *path = write_model(types[i], NULL, NULL, &HP);
        llq_model *m = open_model(path, &f, 1);
        uint32_t *tok = tokens();
        llq_eval_opts o = {.ctx = N};
        llq_ppl_result r;
        ck_assert_int_eq(llq_eval_ppl(&r, m, tok, N, &o, NULL, NULL), 0);
        ck_assert_uint_eq(r.n_scored, N - 1);
        ck_assert_uint_eq(r.n_windows, 1);
        double total = r.mean_nll * (double)r.n_scored;
        ck_assert_msg(fabs(total - want[i]) / want[i] < 1e-5, "nll %.9g vs torch %.9g", total, want[i]);
        ck_assert(r.ppl_se > 0);
        llq_model_free(m);
        llq_close(f);
        unlink(path);
        free(tok);
    }
}
END_TEST

struct cap {
    int calls[LAYERS][4];
    size_t cols[4];
};

static int capture(void *ud, int layer, int which, const float *X, size_t n, size_t cols)
{
    struct cap *c = ud;
    ck_assert_uint_eq(n, N);
    ck_assert(isfinite(X[0]) && isfinite(X[n * cols - 1]));
    c->calls[layer][which]++;
    c->cols[which] = cols;
    return 0;
}

static int abort_cb(void *ud, int layer, int which, const float *X, size_t n, size_t cols)
{
    (void)ud, (void)layer, (void)X, (void)n, (void)cols;
    return which == LLQ_CAP_UPGATE ? -42 : 0;
}

/* embed + layers (with capture) + head == forward, bit for bit; every capture point is seen once per layer. */
START_TEST(layer_api_and_capture)
{
    llq_file *f;
    const char *path = write_model(LLQ_F32, NULL, NULL, &HP);
    llq_model *m = open_model(path, &f, 2);
    uint32_t *tok = tokens();
    float *x = malloc(N * DIM * 4), *a = malloc(N * VOCAB * 4), *b = malloc(N * VOCAB * 4);
    struct cap c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(llq_model_forward(m, tok, N, a), 0);
    ck_assert_int_eq(llq_model_embed(m, tok, N, x), 0);
    for (int l = 0; l < LAYERS; l++)
        ck_assert_int_eq(llq_model_layer(m, l, x, N, capture, &c), 0);
    ck_assert_int_eq(llq_model_head(m, x, N, b), 0);
    ck_assert_int_eq(memcmp(a, b, N * VOCAB * 4), 0);
    for (int l = 0; l < LAYERS; l++)
        for (int w = 0; w < 4; w++)
            ck_assert_int_eq(c.calls[l][w], 1);
    ck_assert_uint_eq(c.cols[LLQ_CAP_QKV], DIM);
    ck_assert_uint_eq(c.cols[LLQ_CAP_O], DIM);
    ck_assert_uint_eq(c.cols[LLQ_CAP_UPGATE], DIM);
    ck_assert_uint_eq(c.cols[LLQ_CAP_DOWN], FFN);
    ck_assert_int_eq(llq_model_embed(m, tok, N, x), 0);
    ck_assert_int_eq(llq_model_layer(m, 0, x, N, abort_cb, NULL), -42);
    ck_assert_int_eq(llq_model_layer(m, LAYERS, x, N, NULL, NULL), LLQ_EINVAL);
    llq_model_free(m);
    llq_close(f);
    unlink(path);
    free(tok), free(x), free(a), free(b);
}
END_TEST

/* A prompt of 7 then one token at a time through the KV cache gives PyTorch's logits at every position. */
START_TEST(kv_cache_matches_torch)
{
    llq_file *f;
    const char *path = write_model(LLQ_F32, NULL, NULL, &HP);
    llq_model *m = open_model(path, &f, 2);
    uint32_t *tok = tokens();
    size_t len;
    float *want = tu_slurp(FIX "tiny_logits.f32", &len), got[VOCAB];
    llq_kv *kv;
    ck_assert_int_eq(llq_kv_new(&kv, m, N), 0);
    ck_assert_int_eq(llq_model_step(m, kv, tok, 7, got), 0);
    ck_assert_msg(rel_err(got, want + 6 * VOCAB, VOCAB) < 2e-5, "prompt");
    for (size_t t = 7; t < N; t++) {
        ck_assert_int_eq(llq_model_step(m, kv, tok + t, 1, got), 0);
        ck_assert_msg(rel_err(got, want + t * VOCAB, VOCAB) < 2e-5, "position %zu", t);
    }
    ck_assert_uint_eq(kv->pos, N);
    ck_assert_int_eq(llq_model_step(m, kv, tok, 1, got), LLQ_ELIMIT);
    llq_kv_free(kv);
    ck_assert_int_eq(llq_kv_new(&kv, m, 65), LLQ_EINVAL); /* beyond context_length 64 */
    llq_model_free(m);
    llq_close(f);
    unlink(path);
    free(tok), free(want);
}
END_TEST

START_TEST(threads_do_not_change_results)
{
    llq_file *f1, *f3;
    const char *path = write_model(LLQ_BF16, NULL, NULL, &HP);
    llq_model *m1 = open_model(path, &f1, 1), *m3 = open_model(path, &f3, 3);
    uint32_t *tok = tokens();
    float *a = malloc(N * VOCAB * 4), *b = malloc(N * VOCAB * 4);
    ck_assert_int_eq(llq_model_forward(m1, tok, N, a), 0);
    ck_assert_int_eq(llq_model_forward(m3, tok, N, b), 0);
    ck_assert_int_eq(memcmp(a, b, N * VOCAB * 4), 0);
    llq_model_free(m1), llq_model_free(m3);
    llq_close(f1), llq_close(f3);
    unlink(path);
    free(tok), free(a), free(b);
}
END_TEST

/* Drift of a model against itself is zero; against its bf16 rounding small but not zero. */
START_TEST(drift_self_and_bf16)
{
    llq_file *fa, *fb;
    char pa[64];
    snprintf(pa, sizeof pa, "%s", write_model(LLQ_F32, NULL, NULL, &HP));
    const char *pb = write_model(LLQ_BF16, NULL, NULL, &HP);
    llq_model *a = open_model(pa, &fa, 2), *b = open_model(pb, &fb, 2);
    uint32_t tok[4 * N];
    uint32_t *t = tokens();
    for (int i = 0; i < 4; i++)
        memcpy(tok + i * N, t, N * 4);
    llq_eval_opts o = {.ctx = 20, .per_layer = 1};
    llq_drift_result r;
    ck_assert_int_eq(llq_eval_drift(&r, a, a, tok, 4 * N, &o, NULL, NULL), 0);
    ck_assert_uint_eq(r.n_windows, 8);
    ck_assert_uint_eq(r.n_scored, 8 * 19);
    ck_assert(r.kld_mean.v == 0 && r.kld_max.v == 0 && r.dppl.v == 0 && r.top1.v == 100);
    ck_assert(r.layer_relerr && r.layer_relerr[0] == 0 && r.layer_relerr[1] == 0);
    llq_drift_result_free(&r);
    llq_ppl_result p;
    ck_assert_int_eq(llq_eval_ppl(&p, a, tok, 4 * N, &o, NULL, NULL), 0);
    o.protocol = LLQ_PROTO_LLAMACPP;
    o.bos = 1;
    ck_assert_int_eq(llq_eval_drift(&r, a, b, tok, 4 * N, &o, NULL, NULL), 0);
    ck_assert_uint_eq(r.n_scored, 8 * 9); /* positions 10..18 */
    ck_assert(r.kld_mean.v > 0 && r.kld_mean.v < 0.01 && r.kld_mean.se > 0);
    ck_assert(r.kld_median.v <= r.kld_p99.v && r.kld_p99.v <= r.kld_max.v);
    ck_assert(r.top1.v > 80);
    ck_assert(r.layer_relerr[0] > 0 && r.layer_relerr[0] < 0.05);
    llq_drift_result_free(&r);
    o.protocol = LLQ_PROTO_DEFAULT;
    ck_assert_int_eq(llq_eval_drift(&r, a, b, tok, 4 * N, &o, NULL, NULL), 0);
    ck_assert_msg(fabs(r.ppl_base.v - p.ppl) < 1e-9 * p.ppl, "drift base ppl %g vs ppl %g", r.ppl_base.v, p.ppl);
    llq_drift_result_free(&r);
    llq_model_free(a), llq_model_free(b);
    llq_close(fa), llq_close(fb);
    unlink(pa), unlink(pb);
    free(t);
}
END_TEST

START_TEST(bad_input)
{
    llq_file *f;
    llq_model *m;
    const char *path = write_model(LLQ_F32, "layers.1.feed_forward.w2.weight", NULL, &HP);
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_lt(llq_model_open(&m, f, 1), 0);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "layers.1.feed_forward.w2.weight"));
    llq_close(f);
    unlink(path);
    path = write_model(LLQ_F32, NULL, "layers.0.attention.wk.weight", &HP);
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_model_open(&m, f, 1), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "layers.0.attention.wk.weight"));
    llq_close(f);
    unlink(path);
    llq_hparams bad = HP;
    bad.n_kv_heads = 3;
    ck_assert_int_lt(llq_model_new(&m, &bad, 1), 0);
    bad = HP;
    bad.n_heads = 5;
    ck_assert_int_lt(llq_model_new(&m, &bad, 1), 0);

    path = write_model(LLQ_F32, NULL, NULL, &HP);
    m = open_model(path, &f, 1);
    uint32_t tok[N] = {1, 2, 3, VOCAB};
    float x[N * DIM];
    ck_assert_int_eq(llq_model_embed(m, tok, 4, x), LLQ_EINVAL);
    llq_eval_opts o = {.ctx = 1};
    llq_ppl_result r;
    size_t nw;
    ck_assert_int_eq(llq_eval_plan(&nw, m, tok, N, &o), LLQ_EINVAL); /* ctx < 2 */
    o.ctx = 65;
    ck_assert_int_eq(llq_eval_plan(&nw, m, tok, N, &o), LLQ_EINVAL); /* ctx > context_length */
    o.ctx = 8;
    ck_assert_int_eq(llq_eval_ppl(&r, m, tok, 7, &o, NULL, NULL), LLQ_EINVAL); /* too short */
    ck_assert_int_eq(llq_eval_ppl(&r, m, tok, N, &o, NULL, NULL), LLQ_EINVAL); /* id >= vocab */
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "out of range"));
    llq_model_free(m);
    llq_close(f);
    unlink(path);
}
END_TEST

/* Progress comes in tokens after every layer of every window: one long window still reports, done only rises,
 * and ends at windows × ctx (ppl and drift alike). */
struct prog_log {
    size_t calls, last, total, backwards;
};

static void prog_cb(void *ud, size_t done, size_t total)
{
    struct prog_log *p = ud;
    if (done < p->last)
        p->backwards++;
    p->calls++;
    p->last = done;
    p->total = total;
}

START_TEST(progress_per_layer_in_tokens)
{
    llq_file *f;
    const char *path = write_model(LLQ_F32, NULL, NULL, &HP);
    llq_model *m = open_model(path, &f, 1);
    uint32_t *tok = tokens();
    llq_eval_opts o = {.ctx = N};
    llq_ppl_result r;
    struct prog_log p = {0};
    ck_assert_int_eq(llq_eval_ppl(&r, m, tok, N, &o, prog_cb, &p), 0);
    ck_assert_uint_eq(r.n_windows, 1);
    ck_assert_uint_eq(p.calls, m->hp.n_layers); /* one window, a report per layer */
    ck_assert_uint_eq(p.backwards, 0);
    ck_assert_uint_eq(p.last, N);
    ck_assert_uint_eq(p.total, N);
    llq_drift_result d;
    struct prog_log q = {0};
    o.ctx = N / 2;
    ck_assert_int_eq(llq_eval_drift(&d, m, m, tok, N, &o, prog_cb, &q), 0);
    ck_assert_uint_eq(q.calls, 2 * m->hp.n_layers); /* two windows */
    ck_assert_uint_eq(q.backwards, 0);
    ck_assert_uint_eq(q.last, N);
    ck_assert_uint_eq(q.total, N);
    llq_drift_result_free(&d);
    free(tok);
    llq_model_free(m);
    llq_close(f);
    remove(path);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, f32_logits_match_torch);
    tcase_add_test(tc, progress_per_layer_in_tokens);
    tcase_add_test(tc, bf16_logits_match_torch);
    tcase_add_test(tc, nll_matches_torch);
    tcase_add_test(tc, layer_api_and_capture);
    tcase_add_test(tc, kv_cache_matches_torch);
    tcase_add_test(tc, threads_do_not_change_results);
    tcase_add_test(tc, drift_self_and_bf16);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    return s;
}
