/* test_lcpp.c — llama.cpp's terms: the activation rounding of its CPU backend (kernels/act.c) against ggml's rules
 * written out here, the arithmetic switch of the forward pass, and the llama-perplexity statistics of a drift. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llq/eval.h"
#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/model.h"

static float rne(float v) { return nearbyintf(v); } /* the default rounding mode: half to even */

START_TEST(act_kinds)
{
    ck_assert_int_eq(llq_act_kind(LLQ_F32), LLQ_ACT_F32);
    ck_assert_int_eq(llq_act_kind(LLQ_F16), LLQ_ACT_F16);
    ck_assert_int_eq(llq_act_kind(LLQ_BF16), LLQ_ACT_BF16);
    ck_assert_int_eq(llq_act_kind(LLQ_Q8), LLQ_ACT_Q8_0);
    ck_assert_int_eq(llq_act_kind(LLQ_Q4A), LLQ_ACT_Q8_0);
    ck_assert_int_eq(llq_act_kind(LLQ_Q8_0), LLQ_ACT_Q8_0);
    ck_assert_int_eq(llq_act_kind(LLQ_Q4_0), LLQ_ACT_Q8_0);
    ck_assert_int_eq(llq_act_kind(LLQ_IQ4_NL), LLQ_ACT_Q8_0);
    ck_assert_int_eq(llq_act_kind(LLQ_Q4_K), LLQ_ACT_Q8_K);
    ck_assert_int_eq(llq_act_kind(LLQ_Q6_K), LLQ_ACT_Q8_K);
    ck_assert_int_eq(llq_act_kind(LLQ_IQ4_XS), LLQ_ACT_Q8_K);
}
END_TEST

/* Q8_0: per 32, d = f16(amax/127), q = rne(x·127/amax), value d·q. */
START_TEST(act_q8_0)
{
    float x[96], y[96];
    for (int i = 0; i < 96; i++)
        x[i] = sinf((float)i * 0.7f) * (i < 32 ? 1.0f : i < 64 ? 1e-3f : 0.0f);
    memcpy(y, x, sizeof x);
    llq_act_round(y, 1, 96, LLQ_ACT_Q8_0);
    for (int b = 0; b < 3; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++)
            amax = fmaxf(amax, fabsf(x[32 * b + i]));
        float d = llq_f16_to_f32(llq_f32_to_f16(amax / 127.0f)), id = amax ? 127.0f / amax : 0;
        for (int i = 0; i < 32; i++)
            ck_assert_float_eq(y[32 * b + i], d * rne(x[32 * b + i] * id));
    }
    for (int i = 64; i < 96; i++)
        ck_assert_float_eq(y[i], 0.0f);
}
END_TEST

/* Q8_K: per 256, the value of largest magnitude max, iscale = -127/max, q = min(127, rne(iscale·x)), value q/iscale. */
START_TEST(act_q8_k)
{
    float x[512], y[512];
    for (int i = 0; i < 512; i++)
        x[i] = cosf((float)i * 0.37f) * (float)(1 + i % 7);
    x[300] = -20.0f; /* a negative extreme: iscale > 0 */
    memcpy(y, x, sizeof x);
    llq_act_round(y, 2, 256, LLQ_ACT_Q8_K);
    for (int b = 0; b < 2; b++) {
        float amax = 0, max = 0;
        for (int i = 0; i < 256; i++)
            if (fabsf(x[256 * b + i]) > amax)
                amax = fabsf(x[256 * b + i]), max = x[256 * b + i];
        float is = -127.0f / max, d = 1.0f / is;
        for (int i = 0; i < 256; i++)
            ck_assert_float_eq(y[256 * b + i], d * fminf(127.0f, rne(is * x[256 * b + i])));
    }
}
END_TEST

START_TEST(act_f16)
{
    float x[3] = {1.0f + 1.0f / 4096, 65504.0f, 3.14159265f};
    llq_act_round(x, 1, 3, LLQ_ACT_F16);
    ck_assert_float_eq(x[0], 1.0f); /* half an f16 ulp: to even */
    ck_assert_float_eq(x[1], 65504.0f);
    ck_assert_float_eq(x[2], llq_f16_to_f32(llq_f32_to_f16(3.14159265f)));
}
END_TEST

/* drift of a model against itself: nothing moves; against its llama.cpp-arithmetic self: small, and the llama.cpp
 * statistics agree with llq's own (the same run, the same numbers). */
START_TEST(drift_lcpp_stats)
{
    llq_file *f;
    llq_model *a, *b;
    ck_assert_int_eq(llq_open(&f, "tests/fixtures/eval/tiny.llq"), 0);
    ck_assert_int_eq(llq_model_open(&a, f, 1), 0);
    ck_assert_int_eq(llq_model_open(&b, f, 1), 0);
    uint32_t tok[64];
    for (int i = 0; i < 64; i++)
        tok[i] = (uint32_t)(i * 37 % 256);
    llq_eval_opts o = {.ctx = 32, .protocol = LLQ_PROTO_LLAMACPP, .bos = 1};
    llq_drift_result r;
    ck_assert_int_eq(llq_eval_drift(&r, a, b, tok, 64, &o, NULL, NULL), 0);
    ck_assert(r.lcpp.kld_mean.v == 0 && r.lcpp.kld_max == 0 && r.lcpp.rms_dp.v == 0);
    ck_assert(r.lcpp.same_top.v == 1 && r.lcpp.ln_ratio.v == 0 && r.lcpp.diff.v == 0);
    llq_drift_result_free(&r);
    b->arith = LLQ_ARITH_LLAMACPP;
    ck_assert_int_eq(llq_eval_drift(&r, a, b, tok, 64, &o, NULL, NULL), 0);
    ck_assert(r.lcpp.kld_mean.v > 0 && r.lcpp.kld_mean.v < 1e-2);
    ck_assert(r.lcpp.kld_mean.v == r.kld_mean.v);
    ck_assert(fabs(100 * r.lcpp.same_top.v - r.top1.v) < 1e-9);
    ck_assert(r.lcpp.rms_dp.v == r.rms_dp.v);
    ck_assert(r.lcpp.kld_max == r.kld_max.v);
    for (int i = 1; i < LLQ_LCPP_KLD_PCT; i++)
        ck_assert(r.lcpp.kld_pct[i] <= r.lcpp.kld_pct[i - 1]);
    for (int i = 1; i < LLQ_LCPP_DP_PCT; i++)
        ck_assert(r.lcpp.dp_pct[i] <= r.lcpp.dp_pct[i - 1]);
    ck_assert(r.lcpp.kld_min <= r.lcpp.kld_pct[LLQ_LCPP_KLD_PCT - 1] && r.lcpp.kld_pct[0] <= r.lcpp.kld_max);
    ck_assert(fabs(r.lcpp.kld_pct[4] - r.kld_median.v) < 1e-15);
    ck_assert(fabs(r.lcpp.ratio.v - exp(r.lcpp.ln_ratio.v)) < 1e-15);
    ck_assert(r.lcpp.cor > 0.99 && r.lcpp.cor <= 1.0 + 1e-12);
    llq_drift_result_free(&r);
    llq_model_free(a), llq_model_free(b);
    llq_close(f);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("lcpp");
    TCase *t = tcase_create("lcpp");
    tcase_add_test(t, act_kinds);
    tcase_add_test(t, act_q8_0);
    tcase_add_test(t, act_q8_k);
    tcase_add_test(t, act_f16);
    tcase_add_test(t, drift_lcpp_stats);
    suite_add_tcase(s, t);
    return s;
}
