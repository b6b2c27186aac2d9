/* test_awq.c — AWQ scale search and clipping search on synthetic layers with salient input channels. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "calib_testutil.h"
#include "llq/calib.h"

typedef struct layer {
    size_t rows, cols, n;
    float *w, *x, *xabs;
    double *h;
} layer;

/* Inputs where a few channels are much larger than the rest (the activation outliers AWQ protects). */
static layer make_layer(size_t rows, size_t cols, size_t n, uint64_t seed)
{
    layer L = {rows, cols, n, malloc(rows * cols * sizeof(float)), malloc(n * cols * sizeof(float)),
               calloc(cols, sizeof(float)), calloc(cols * cols, sizeof(double))};
    for (size_t i = 0; i < rows * cols; i++)
        L.w[i] = 0.05f * tu_gauss(&seed);
    for (size_t t = 0; t < n; t++)
        for (size_t c = 0; c < cols; c++) {
            float v = tu_gauss(&seed) * (c % 29 == 1 ? 20.0f : 1.0f);
            L.x[t * cols + c] = v;
            L.xabs[c] += fabsf(v) / (float)n;
        }
    llq_xtx_acc(L.h, L.x, n, cols, NULL);
    llq_sym_fill(L.h, cols);
    return L;
}

static void free_layer(layer *L)
{
    free(L->w), free(L->x), free(L->xabs), free(L->h);
}

/* Output error of quantizing W·diag(s) (rows dequantized, divided by s) against W. */
static double scaled_err(const layer *L, const float *s, uint32_t type, uint32_t group, const double *hclip)
{
    size_t rb = tu_row_bytes(type, group, L->cols);
    float *ws = malloc(L->rows * L->cols * sizeof *ws), *wq = malloc(L->rows * L->cols * sizeof *wq);
    uint8_t *q = malloc(L->rows * rb);
    for (size_t r = 0; r < L->rows; r++)
        for (size_t c = 0; c < L->cols; c++)
            ws[r * L->cols + c] = L->w[r * L->cols + c] * s[c];
    ck_assert_int_eq(llq_awq_clip_quantize(q, ws, L->rows, L->cols, hclip, type, group, NULL), 0);
    for (size_t r = 0; r < L->rows; r++) {
        tu_dequant_row(wq + r * L->cols, q + r * rb, type, group, L->cols);
        for (size_t c = 0; c < L->cols; c++)
            wq[r * L->cols + c] /= s[c];
    }
    double e = tu_out_err(L->w, wq, L->rows, L->cols, L->h);
    free(ws), free(wq), free(q);
    return e;
}

START_TEST(awq_scales_reduce_error)
{
    uint32_t types[] = {LLQ_Q4, LLQ_Q4A};
    for (int t = 0; t < 2; t++) {
        layer L = make_layer(64, 256, 512, 3 + t);
        float *s = malloc(L.cols * sizeof *s), *one = malloc(L.cols * sizeof *one), alpha = -1;
        for (size_t c = 0; c < L.cols; c++)
            one[c] = 1;
        const float *ws[1] = {L.w};
        size_t rows[1] = {L.rows};
        ck_assert_int_eq(llq_awq_search(s, &alpha, ws, rows, 1, L.cols, L.h, L.xabs, types[t], 128, 20, NULL), 0);
        ck_assert(alpha > 0 && alpha <= 1);
        /* salient channels get larger scales than ordinary ones */
        ck_assert(s[1] > 2 * s[2]);
        /* full AWQ (scales + clipping judged on H) against plain RTN; and scales help the clipped result too */
        double e1 = scaled_err(&L, one, types[t], 128, NULL), es = scaled_err(&L, s, types[t], 128, L.h);
        ck_assert_msg(es < 0.5 * e1, "type %u: awq %g vs rtn %g (alpha %g)", types[t], es, e1, alpha);
        ck_assert(es < scaled_err(&L, one, types[t], 128, L.h));
        free(s), free(one);
        free_layer(&L);
    }
}
END_TEST

/* Uniform inputs: nothing to protect, α = 0 (s = 1) must be among the best, so the search cannot make it worse. */
START_TEST(awq_no_outliers_no_harm)
{
    layer L = make_layer(16, 64, 256, 77);
    for (size_t c = 0; c < L.cols; c++)
        L.xabs[c] = 1.0f;
    float s[64], alpha;
    const float *ws[1] = {L.w};
    size_t rows[1] = {L.rows};
    ck_assert_int_eq(llq_awq_search(s, &alpha, ws, rows, 1, L.cols, L.h, L.xabs, LLQ_Q4, 32, 10, NULL), 0);
    for (size_t c = 0; c < L.cols; c++)
        ck_assert_float_eq_tol(s[c], 1.0f, 1e-6f);
    free_layer(&L);
}
END_TEST

/* The clipping search judged on H's group blocks gives a lower output error than plain squared-error RTN. */
START_TEST(clip_search_uses_h)
{
    layer L = make_layer(64, 256, 512, 21);
    float one[256];
    for (size_t c = 0; c < 256; c++)
        one[c] = 1;
    uint32_t types[] = {LLQ_Q4, LLQ_Q4A, LLQ_Q8};
    for (int t = 0; t < 3; t++) {
        double plain = scaled_err(&L, one, types[t], 64, NULL), withh = scaled_err(&L, one, types[t], 64, L.h);
        ck_assert_msg(withh < plain, "type %u: %g vs %g", types[t], withh, plain);
    }
    free_layer(&L);
}
END_TEST

START_TEST(bad_type_rejected)
{
    float w[32] = {0};
    uint8_t q[64];
    ck_assert_int_eq(llq_awq_clip_quantize(q, w, 1, 32, NULL, LLQ_F16, 32, NULL), LLQ_EINVAL);
    ck_assert_int_eq(llq_awq_clip_quantize(q, w, 1, 32, NULL, LLQ_Q4, 48, NULL), LLQ_EINVAL);
    ck_assert_uint_eq(tu_row_bytes(LLQ_Q4A, 32, 40), 32 + 3 * 2);
    ck_assert_uint_eq(tu_row_bytes(LLQ_Q8, 0, 40), 64 + 2);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("awq");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, awq_scales_reduce_error);
    tcase_add_test(tc, awq_no_outliers_no_harm);
    tcase_add_test(tc, clip_search_uses_h);
    tcase_add_test(tc, bad_type_rejected);
    suite_add_tcase(s, tc);
    return s;
}
