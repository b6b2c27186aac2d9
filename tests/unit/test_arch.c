/* test_arch.c — the LLaMA-family tiny models (tests/make_arch_fixtures.py: Llama-3.2-style tied + llama3 rope,
 * Llama-3.1 Meta layout, Qwen2 with biases, Mistral with a sliding window and an explicit head_dim), converted
 * here with llq_convert: generation with the KV cache gives the window's logits (sliding window and rope scaling
 * on the one-token path too); AWQ folding leaves the logits unchanged and never touches a tied model's shared
 * embedding; the 1.1 hyper-parameter keys round-trip; the one validation refuses what the forward pass cannot run.
 * Perplexity against PyTorch: tests/cli/arch.sh. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llq/calib.h"
#include "llq/convert.h"
#include "llq/hparams.h"
#include "llq/model.h"

#define FIX "tests/fixtures/arch"

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llq-test-arch-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Converts fixture `name` to <tmp>/<name>.llq (f32) and returns the path (static buffer). */
static const char *convert(const char *name)
{
    static char out[128], src[128];
    snprintf(src, sizeof src, FIX "/%s", name);
    snprintf(out, sizeof out, "%s/%s.llq", tmpdir, name);
    llq_convert_opts o = {0};
    o.src = src, o.out = out, o.dtype = LLQ_F32, o.flags = LLQ_CONVERT_NO_TOKENIZER | LLQ_CONVERT_FORCE;
    ck_assert_msg(llq_convert(&o, NULL) == 0, "%s: %s", name, llq_errmsg());
    return out;
}

static uint32_t *tokens(size_t *n)
{
    FILE *f = fopen(FIX "/tokens.u32", "rb");
    ck_assert_ptr_nonnull(f);
    uint32_t *t = malloc(4096 * sizeof *t);
    *n = fread(t, 4, 4096, f);
    fclose(f);
    ck_assert_uint_ge(*n, 200);
    return t;
}

static const char *const MODELS[] = {"llama32", "llama31-meta", "qwen2", "qwen2-untied", "mistral"};

/* Token-by-token generation (llq_model_step, one query: llq_attn_one) reproduces the window's logits at every
 * position, past the sliding window and with scaled rope. */
START_TEST(step_equals_window)
{
    size_t n;
    uint32_t *tok = tokens(&n);
    n = 160; /* > the mistral fixture's window of 48 */
    const char *path = convert(MODELS[_i]);
    llq_file *f;
    llq_model *m;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_msg(llq_model_open(&m, f, 2) == 0, "%s", llq_errmsg());
    size_t V = m->hp.vocab_size;
    float *all = malloc(n * V * sizeof *all), *one = malloc(V * sizeof *one);
    ck_assert_int_eq(llq_model_forward(m, tok, n, all), 0);
    llq_kv *kv;
    ck_assert_int_eq(llq_kv_new(&kv, m, (uint32_t)n), 0);
    double maxd = 0, scale = 0;
    for (size_t t = 0; t < n; t++) {
        ck_assert_int_eq(llq_model_step(m, kv, tok + t, 1, one), 0);
        for (size_t v = 0; v < V; v++)
            maxd = fmax(maxd, fabs(one[v] - all[t * V + v])), scale = fmax(scale, fabs(all[t * V + v]));
    }
    ck_assert_msg(maxd <= 1e-4 * scale, "%s: step logits differ by %g (max |logit| %g)", MODELS[_i], maxd, scale);
    llq_kv_free(kv);
    free(all), free(one), free(tok);
    llq_model_free(m);
    llq_close(f);
}
END_TEST

static int policy_q4(void *ud, const char *name, uint32_t *type, uint32_t *group)
{
    (void)ud;
    int embed = !strcmp(name, "tok_embeddings.weight") || !strcmp(name, "output.weight");
    *type = embed ? LLQ_Q8 : LLQ_Q4, *group = 32;
    return 0;
}

/* AWQ folded but not quantized: the logits are unchanged (biases and tied heads included), and a tied model's
 * shared matrix is never in the result (neither scaled nor replaced). */
START_TEST(awq_fold_keeps_logits)
{
    static const char *const fold_models[] = {"llama32", "qwen2", "mistral"};
    const char *name = fold_models[_i], *path = convert(name);
    llq_calib_opts o = {0};
    o.methods = LLQ_CALIB_AWQ, o.fold_only = 1, o.text_path = FIX "/tokens.u32", o.text_is_tokens = 1;
    o.n_samples = 4, o.ctx = 64, o.seed = 3, o.policy = policy_q4;
    llq_calib_result *r = NULL;
    ck_assert_msg(llq_calib_run(&r, path, &o) == 0, "%s: %s", name, llq_errmsg());
    llq_file *f;
    llq_model *base, *fold;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_model_open(&base, f, 1), 0);
    ck_assert_int_eq(llq_model_open(&fold, f, 1), 0);
    ck_assert_ptr_null(llq_calib_find(r, "tok_embeddings.weight"));
    if (base->hp.tied)
        ck_assert_ptr_null(llq_calib_find(r, "output.weight"));
    else
        ck_assert_ptr_nonnull(llq_calib_find(r, "output.weight"));
    ck_assert_ptr_nonnull(llq_calib_find(r, "layers.1.attention.wq.weight"));
    ck_assert_int_eq(llq_calib_apply(fold, r), 0);
    ck_assert(fold->tok_embeddings.data == base->tok_embeddings.data); /* the lookup reads the original rows */
    size_t n;
    uint32_t *tok = tokens(&n);
    n = 96;
    size_t V = base->hp.vocab_size;
    float *a = malloc(n * V * sizeof *a), *b = malloc(n * V * sizeof *b);
    ck_assert_int_eq(llq_model_forward(base, tok, n, a), 0);
    ck_assert_int_eq(llq_model_forward(fold, tok, n, b), 0);
    double maxd = 0, scale = 0;
    for (size_t i = 0; i < n * V; i++)
        maxd = fmax(maxd, fabs(a[i] - b[i])), scale = fmax(scale, fabs(a[i]));
    ck_assert_msg(maxd <= 1e-4 * scale, "%s: logits differ by %g (max |logit| %g)", name, maxd, scale);
    free(a), free(b), free(tok);
    llq_model_free(base);
    llq_model_free(fold);
    llq_close(f);
    llq_calib_free(r);
}
END_TEST

/* The converted files carry the 1.1 keys the configs say. */
START_TEST(hparams_from_configs)
{
    llq_file *f;
    llq_hparams hp;
    ck_assert_int_eq(llq_open(&f, convert("llama32")), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert(hp.tied && !hp.qkv_bias && hp.rope_scaling == LLQ_ROPE_LLAMA3 && hp.rope_factor == 32);
    ck_assert(hp.rope_low_freq_factor == 1 && hp.rope_high_freq_factor == 4 && hp.rope_orig_context == 8192);
    ck_assert(hp.rope_theta == 500000 && hp.has_bos && hp.bos_id == 703 && hp.n_eos == 3 && hp.eos_ids[1] == 707 &&
              hp.eos_ids[2] == 354); /* the third: where PyTorch's greedy run from <|end_header_id|> stops (refs.txt) */
    ck_assert(llq_hp_is_eos(&hp, 707) && !llq_hp_is_eos(&hp, 703));
    ck_assert_ptr_null(llq_tensor_find(f, "output.weight"));
    llq_close(f);
    ck_assert_int_eq(llq_open(&f, convert("llama31-meta")), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert(!hp.tied && hp.rope_scaling == LLQ_ROPE_LLAMA3 && hp.rope_factor == 8 && hp.ffn_dim == 128);
    llq_close(f);
    /* Mistral's own layout: params.json's sliding_window makes the family mistral; head_dim and hidden_dim read */
    ck_assert_int_eq(llq_open(&f, convert("mistral-meta")), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert_str_eq(hp.family, "mistral");
    ck_assert(hp.sliding_window == 48 && hp.head_dim == 32 && hp.ffn_dim == 128 && hp.n_kv_heads == 2 && !hp.tied);
    llq_close(f);
    ck_assert_int_eq(llq_open(&f, convert("qwen2")), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert(hp.tied && hp.qkv_bias && hp.n_eos == 1 && hp.eos_ids[0] == 5 && !hp.has_bos);
    ck_assert_str_eq(hp.family, "qwen2");
    ck_assert_ptr_nonnull(llq_tensor_find(f, "layers.1.attention.wk.bias"));
    llq_close(f);
    ck_assert_int_eq(llq_open(&f, convert("mistral")), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert(hp.sliding_window == 48 && hp.head_dim == 32 && llq_hp_q_dim(&hp) == 128 && hp.dim == 64);
    ck_assert_str_eq(hp.family, "mistral");
    llq_close(f);
}
END_TEST

/* One validation: the same limits and messages wherever hyper-parameters come from. */
START_TEST(one_validation)
{
    llq_hparams hp = {.arch = "llama", .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 96,
                      .vocab_size = 50, .norm_eps = 1e-5f, .rope_theta = 1e4f};
    ck_assert_int_eq(llq_hparams_check(&hp, "x", 0), 0);
    llq_hparams b = hp;
    b.dim = (1u << 16) + 4, b.n_heads = 4;
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_ELIMIT);
    llq_model *m;
    ck_assert_int_eq(llq_model_new(&m, &b, 1), LLQ_ELIMIT); /* the forward pass says the same */
    b = hp, b.head_dim = 7;
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_EFORMAT);
    b = hp, b.rope_scaling = LLQ_ROPE_LLAMA3, b.rope_factor = 8, b.rope_low_freq_factor = 4;
    b.rope_high_freq_factor = 1, b.rope_orig_context = 8192;
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_EFORMAT);
    b = hp, b.n_eos = 1, b.eos_ids[0] = 50;
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_EFORMAT);
    b = hp, b.sliding_window = 8; /* only Mistral's attention has a window */
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_EUNSUPPORTED);
    snprintf(b.family, sizeof b.family, "mistral");
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), 0);
    b = hp;
    snprintf(b.family, sizeof b.family, "qwen3");
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "'qwen3' (supported: LlamaForCausalLM, Qwen2ForCausalLM"));
    b = hp;
    snprintf(b.family, sizeof b.family, "qwen2"); /* Qwen2 without its biases */
    ck_assert_int_eq(llq_hparams_check(&b, "x", 0), LLQ_EFORMAT);
}
END_TEST

/* Every 1.1 key is written and read back; a 1.0 model writes none of them. */
START_TEST(keys_round_trip)
{
    char path[128];
    snprintf(path, sizeof path, "%s/k.llq", tmpdir);
    llq_hparams hp = {.arch = "llama", .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 96,
                      .vocab_size = 50, .norm_eps = 1e-5f, .rope_theta = 5e5f, .family = "mistral", .head_dim = 32,
                      .rope_scaling = LLQ_ROPE_LLAMA3, .rope_factor = 32, .rope_low_freq_factor = 1,
                      .rope_high_freq_factor = 4, .rope_orig_context = 8192, .tied = 1, .sliding_window = 48,
                      .has_bos = 1, .bos_id = 1, .n_eos = 2, .eos_ids = {2, 7}};
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_hparams_write(w, &hp), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    llq_file *f;
    llq_hparams back;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_msg(llq_hparams_read(&back, f) == 0, "%s", llq_errmsg());
    ck_assert(memcmp(&back, &hp, sizeof hp) == 0);
    llq_close(f);
    llq_hparams old = {.arch = "llama", .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 96,
                       .vocab_size = 50, .norm_eps = 1e-5f, .rope_theta = 1e4f};
    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_hparams_write(w, &old), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_uint_eq(llq_n_meta(f), 10); /* general.architecture + the nine 1.0 llama.* keys */
    llq_close(f);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("arch");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, step_equals_window, 0, (int)(sizeof MODELS / sizeof MODELS[0]));
    tcase_add_loop_test(tc, awq_fold_keeps_logits, 0, 3);
    tcase_add_test(tc, hparams_from_configs);
    tcase_add_test(tc, one_validation);
    tcase_add_test(tc, keys_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
