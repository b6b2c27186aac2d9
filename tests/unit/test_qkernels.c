/* test_qkernels.c — int8-activation matvec on q8/q4/q4a weights: AVX2 twin against the scalar reference
 * (activations bit-identical; dot products bit-identical when every f32 step is exact, close otherwise),
 * both against the f32 product of the dequantized operands, and the registration in llq_matmul. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/quant.h"
#include "../../kernels/qdot.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float unif(void) { return (float)u32() / 4294967296.0f * 2.0f - 1.0f; }

static const uint32_t types[] = {LLQ_Q8, LLQ_Q4, LLQ_Q4A};
static const uint32_t groups[] = {32, 64, 128, 0};
static const uint64_t Ks[] = {1, 7, 31, 32, 33, 64, 100, 255, 256, 257, 1000, 2085};

static int avx2(void) { return llq_cpu_has_avx2(); }

/* W (rows × K of type/group) from random f32 weights through llq_quantize_row. Caller frees. */
static uint8_t *make_w(llq_mat *W, uint32_t type, uint32_t group, uint64_t rows, uint64_t K)
{
    float *x = malloc(K * sizeof *x);
    ck_assert_int_eq(llq_mat_init(W, type, group, rows, K, NULL), 0);
    uint8_t *data = malloc(rows * W->row_bytes);
    for (uint64_t r = 0; r < rows; r++) {
        for (uint64_t k = 0; k < K; k++)
            x[k] = 0.05f * unif() + (k % 7 == 0 ? 0.02f : 0.0f);
        ck_assert_int_eq(llq_quantize_row(data + r * W->row_bytes, x, K, type, group, NULL), 0);
    }
    W->data = data;
    free(x);
    return data;
}

static float *scratch_buf(const llq_mat *W)
{
    return aligned_alloc(64, (qact_floats(W) * sizeof(float) + 63) / 64 * 64);
}

/* Activation quantization: the twins agree bit for bit, and dequantized activations are within half a step. */
START_TEST(act_quant_twins)
{
    if (!avx2())
        return;
    for (size_t gi = 0; gi < 4; gi++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
            uint64_t K = Ks[ki];
            llq_mat W;
            ck_assert_int_eq(llq_mat_init(&W, LLQ_Q4, groups[gi], 1, K, NULL), 0);
            float *x = malloc(K * sizeof *x), *b1 = scratch_buf(&W), *b2 = scratch_buf(&W);
            for (uint64_t k = 0; k < K; k++)
                x[k] = unif() * (k % 13 == 0 ? 10.0f : 1.0f);
            qact a, b;
            qact_init(&a, &W, b1);
            qact_init(&b, &W, b2);
            qact_quantize_ref(&a, x, K);
            qact_quantize_avx2(&b, x, K);
            ck_assert_int_eq(memcmp(a.q, b.q, a.Kp), 0);
            ck_assert_int_eq(memcmp(a.d, b.d, a.nb * sizeof(float)), 0);
            ck_assert_int_eq(memcmp(a.s, b.s, a.nb * sizeof(int32_t)), 0);
            ck_assert_int_eq(memcmp(a.gs, b.gs, a.G * sizeof(float)), 0);
            for (uint64_t k = 0; k < a.Kp; k++) {
                float xv = k < K ? x[k] : 0.0f;
                ck_assert(fabsf(a.d[k / 32] * a.q[k] - xv) <= 0.5001f * a.d[k / 32]);
                ck_assert(a.q[k] >= -127 && a.q[k] <= 127);
            }
            free(x), free(b1), free(b2);
        }
}
END_TEST

/* Exact arithmetic: weight scales and activation block scales powers of two, small integers everywhere, so every
 * f32 step of both twins is exact and their results must be identical — this checks the integer block sums
 * of the SIMD kernel bit for bit, for every type, group and odd length. */
START_TEST(exact_integer_part)
{
    if (!avx2())
        return;
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t gi = 0; gi < 4; gi++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                uint32_t t = types[ti];
                uint64_t K = Ks[ki], rows = 5;
                llq_mat W;
                ck_assert_int_eq(llq_mat_init(&W, t, groups[gi], rows, K, NULL), 0);
                uint64_t glen, G;
                llq_group_geometry(groups[gi], K, &glen, &G);
                uint64_t Kp = glen * G;
                uint8_t *data = calloc(rows, W.row_bytes);
                for (uint64_t r = 0; r < rows; r++) {
                    uint8_t *row = data + r * W.row_bytes, *dp = row + (t == LLQ_Q8 ? Kp : Kp / 2);
                    if (t == LLQ_Q8)
                        for (uint64_t k = 0; k < Kp; k++)
                            row[k] = (uint8_t)(int8_t)((int)(u32() % 255) - 127);
                    else
                        for (uint64_t k = 0; k < Kp / 2; k++)
                            row[k] = (uint8_t)u32();
                    for (uint64_t g = 0; g < G; g++) {
                        uint16_t h = llq_f32_to_f16(ldexpf(1.0f, -(int)(u32() % 2) - 1));
                        memcpy(dp + 2 * g, &h, 2);
                        if (t == LLQ_Q4A)
                            dp[2 * G + g] = (uint8_t)(u32() % 16);
                    }
                }
                W.data = data;
                float *x = malloc(K * sizeof *x);
                for (uint64_t k = 0; k < K; k++) {
                    float e = (k / 32) % 2 ? 1.0f : 0.5f; /* block scale: 127 * e is the block's max */
                    x[k] = e * (float)((k % 32) == 0 ? 127 : (int)(u32() % 255) - 127);
                }
                float y1[5], y2[5];
                llq_mv_q_ref(y1, x, &W, 0, rows);
                llq_mv_q_avx2(y2, x, &W, 0, rows);
                for (uint64_t r = 0; r < rows; r++)
                    ck_assert_msg(y1[r] == y2[r], "type %u group %u K %llu row %llu: ref %.9g avx2 %.9g", t,
                                  groups[gi], (unsigned long long)K, (unsigned long long)r, y1[r], y2[r]);
                free(x), free(data);
            }
}
END_TEST

/* Random data: the twins agree to f32 rounding; both are close to the exact product of the dequantized
 * weights and dequantized int8 activations (double), and near the f32 activation product (W4A16). */
START_TEST(random_shapes_close)
{
    if (!avx2())
        return;
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t gi = 0; gi < 4; gi++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                uint32_t t = types[ti];
                uint64_t K = Ks[ki], rows = 1 + u32() % 20;
                llq_mat W;
                uint8_t *data = make_w(&W, t, groups[gi], rows, K);
                float *x = malloc(K * sizeof *x), *y1 = malloc(rows * 4), *y2 = malloc(rows * 4), *wr = malloc(K * 4);
                for (uint64_t k = 0; k < K; k++)
                    x[k] = unif();
                llq_mv_q_ref(y1, x, &W, 0, rows);
                llq_mv_q_avx2(y2, x, &W, 0, rows);
                float *buf = scratch_buf(&W);
                qact a;
                qact_init(&a, &W, buf);
                qact_quantize_ref(&a, x, K);
                for (uint64_t r = 0; r < rows; r++) {
                    llq_row_to_f32(wr, data + r * W.row_bytes, t, groups[gi], K);
                    double exact = 0, mag = 0, f32y = 0;
                    for (uint64_t k = 0; k < K; k++) {
                        double xq = (double)a.d[k / 32] * a.q[k];
                        exact += (double)wr[k] * xq;
                        mag += fabs((double)wr[k] * xq);
                        f32y += (double)wr[k] * x[k];
                    }
                    double tol = 2e-6 * mag + 1e-30;
                    ck_assert_msg(fabs(y1[r] - exact) <= tol, "ref off: %g vs %g", y1[r], exact);
                    ck_assert_msg(fabs(y2[r] - exact) <= tol, "avx2 off: %g vs %g (type %u g %u K %llu)", y2[r],
                                  exact, t, groups[gi], (unsigned long long)K);
                    ck_assert(fabs(y2[r] - f32y) <= 0.02 * mag + 1e-30); /* int8 activations: small error */
                }
                free(buf), free(x), free(y1), free(y2), free(wr), free(data);
            }
}
END_TEST

/* llq_matmul: the fast impl uses the int8 path for one token and the dequantized tile for a window. */
START_TEST(matmul_registration)
{
    if (!avx2())
        return;
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    for (size_t ti = 0; ti < 3; ti++) {
        ck_assert(llq_mm_select(types[ti], LLQ_KERNEL_FAST) == llq_mm_q_avx2);
        ck_assert(llq_mm_select(types[ti], LLQ_KERNEL_REF) == llq_mm_dequant_ref);
        llq_mat W;
        uint64_t rows = 40, K = 200;
        uint8_t *data = make_w(&W, types[ti], 64, rows, K);
        float x[3 * 200], y[3 * 40], yv[40], yd[3 * 40];
        for (int i = 0; i < 600; i++)
            x[i] = unif();
        ck_assert_int_eq(llq_matmul(y, x, 1, &W, NULL), 0);
        llq_mv_q_avx2(yv, x, &W, 0, rows);
        ck_assert_int_eq(memcmp(y, yv, sizeof yv), 0);
        ck_assert_int_eq(llq_matmul(y, x, 3, &W, NULL), 0);
        llq_mm_dequant_avx2(yd, x, 3, &W, 0, rows);
        ck_assert_int_eq(memcmp(y, yd, sizeof yd), 0);
        free(data);
    }
}
END_TEST

/* llq_matmul_n: several matrices in one pool run (mixed types and group sizes, so a thread re-quantizes the
 * activations between them) give exactly what separate llq_matmul calls give, for one token and a window, on
 * 1 and 2 threads; bad counts and mismatched columns are errors. */
START_TEST(matmul_n_same_as_separate)
{
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    uint64_t K = 300, rows[4] = {200, 40, 72, 17};
    uint32_t ty[4] = {LLQ_Q4, LLQ_Q8, LLQ_Q4A, LLQ_Q4}, gr[4] = {32, 128, 64, 32};
    llq_mat W[4];
    uint8_t *data[4];
    float *x = malloc(5 * K * 4), *y1[4], *y2[4];
    for (int j = 0; j < 4; j++) {
        data[j] = make_w(&W[j], ty[j], gr[j], rows[j], K);
        y1[j] = malloc(5 * rows[j] * 4), y2[j] = malloc(5 * rows[j] * 4);
    }
    for (uint64_t i = 0; i < 5 * K; i++)
        x[i] = unif();
    const llq_mat *Wp[4] = {&W[0], &W[1], &W[2], &W[3]};
    for (int nt = 1; nt <= 2; nt++) {
        llq_pool *p = NULL;
        ck_assert_int_eq(llq_pool_new(&p, nt), 0);
        for (size_t n = 1; n <= 5; n += 4) {
            for (int j = 0; j < 4; j++)
                ck_assert_int_eq(llq_matmul(y1[j], x, n, &W[j], p), 0);
            ck_assert_int_eq(llq_matmul_n(y2, x, n, Wp, 4, p), 0);
            for (int j = 0; j < 4; j++)
                ck_assert_msg(memcmp(y1[j], y2[j], n * rows[j] * 4) == 0, "matrix %d, n %zu, %d threads", j, n, nt);
        }
        llq_pool_free(p);
    }
    ck_assert_int_eq(llq_matmul_n(y2, x, 1, Wp, 0, NULL), LLQ_EINVAL);
    ck_assert_int_eq(llq_matmul_n(y2, x, 1, Wp, LLQ_MM_MAX + 1, NULL), LLQ_EINVAL);
    W[1].cols = K - 1;
    ck_assert_int_eq(llq_matmul_n(y2, x, 1, Wp, 2, NULL), LLQ_EINVAL);
    for (int j = 0; j < 4; j++)
        free(data[j]), free(y1[j]), free(y2[j]);
    free(x);
}
END_TEST

/* The window GEMM's dequantized panels are exact: with one-hot activations (token t selects input k_t) each
 * output is one weight, W[r][k_t] · 1, which must equal llq_row_to_f32's value (full panels of 16 rows and
 * whole 32-input blocks take the in-register path, the 7-row rest and the 12-input tail the other). */
START_TEST(window_dequant_exact)
{
    if (!avx2())
        return;
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    const uint64_t rows = 39, K = 556, n = 8, ks[8] = {0, 15, 20, 31, 40, 255, 275, 555}; /* every 8-input quarter of a block, and the tail */
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t gi = 0; gi < 4; gi++) {
            llq_mat W;
            uint8_t *data = make_w(&W, types[ti], groups[gi], rows, K);
            float *x = calloc(n * K, 4), *y = malloc(n * rows * 4), *w = malloc(K * 4);
            for (uint64_t t = 0; t < n; t++)
                x[t * K + ks[t]] = 1.0f;
            ck_assert_int_eq(llq_matmul(y, x, n, &W, NULL), 0);
            for (uint64_t r = 0; r < rows; r++) {
                llq_row_to_f32(w, data + r * W.row_bytes, types[ti], groups[gi], K);
                for (uint64_t t = 0; t < n; t++)
                    ck_assert_msg(y[t * rows + r] == w[ks[t]], "type %u group %u row %llu input %llu: %g vs %g",
                                  types[ti], groups[gi], (unsigned long long)r, (unsigned long long)ks[t],
                                  (double)y[t * rows + r], (double)w[ks[t]]);
            }
            free(x), free(y), free(w), free(data);
        }
}
END_TEST

/* The AVX2 row dequantizer is bit-identical to llq_row_to_f32 (the definition), odd lengths and partial groups. */
START_TEST(dequant_row_exact)
{
    if (!avx2())
        return;
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t gi = 0; gi < 4; gi++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                uint64_t K = Ks[ki];
                llq_mat W;
                uint8_t *data = make_w(&W, types[ti], groups[gi], 3, K);
                float *a = malloc(K * 4 + 4), *b = malloc(K * 4 + 4);
                for (uint64_t r = 0; r < 3; r++) {
                    a[K] = b[K] = 12345.0f;
                    llq_row_to_f32(a, data + r * W.row_bytes, types[ti], groups[gi], K);
                    llq_dequant_row_avx2(b, data + r * W.row_bytes, types[ti], groups[gi], K);
                    ck_assert_int_eq(memcmp(a, b, K * 4), 0);
                    ck_assert(b[K] == 12345.0f); /* wrote exactly K floats */
                }
                free(a), free(b), free(data);
            }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("qkernels");
    TCase *tc = tcase_create("qdot");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, act_quant_twins);
    tcase_add_test(tc, exact_integer_part);
    tcase_add_test(tc, random_shapes_close);
    tcase_add_test(tc, matmul_registration);
    tcase_add_test(tc, matmul_n_same_as_separate);
    tcase_add_test(tc, window_dequant_exact);
    tcase_add_test(tc, dequant_row_exact);
    suite_add_tcase(s, tc);
    return s;
}
