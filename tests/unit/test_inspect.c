/* test_inspect.c — streaming statistics (merged per-row moments) and tensor-vs-reference error. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llq/inspect.h"

typedef struct arr {
    const float *x;
    uint64_t row_len;
} arr;

static int arr_row(void *ctx, uint64_t r, float *out)
{
    const arr *a = ctx;
    memcpy(out, a->x + r * a->row_len, a->row_len * sizeof *out);
    return 0;
}

static int fail_row(void *ctx, uint64_t r, float *out)
{
    (void)ctx;
    (void)out;
    return r == 3 ? llq_err(LLQ_EIO, "row %llu unreadable", (unsigned long long)r) : 0;
}

static uint64_t rs = 88172645463325252ull;
static double unif(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* Direct two-pass reference over all values in f64 (central moments). */
static void reference(const float *x, uint64_t n, double *mean, double *std, double *kurt, double *outl)
{
    double s = 0, m2 = 0, m4 = 0;
    for (uint64_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / (double)n;
    for (uint64_t i = 0; i < n; i++) {
        double d = x[i] - *mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    *std = sqrt(m2 / (double)n);
    *kurt = (double)n * m4 / (m2 * m2);
    uint64_t o = 0;
    for (uint64_t i = 0; i < n; i++)
        o += fabs(x[i] - *mean) > 6 * *std;
    *outl = (double)o / (double)n;
}

/* Rows with very different means and sizes (odd row length) merge to the direct result, even with a large
 * common offset that breaks naive sum-of-powers formulas. */
START_TEST(stats_merge_matches_direct)
{
    const uint64_t rows = 37, k = 131;
    float *x = malloc(rows * k * sizeof *x);
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t i = 0; i < k; i++) {
            double g = unif() + unif() + unif() - 1.5;
            x[r * k + i] = (float)(1000.0 + 0.01 * (double)r + g * (r % 5 + 1) + (unif() < 0.002 ? 40 : 0));
        }
    llq_stats s;
    arr a = {x, k};
    ck_assert_int_eq(llq_stats_rows(&s, arr_row, &a, rows, k), 0);
    double mean, std, kurt, outl;
    reference(x, rows * k, &mean, &std, &kurt, &outl);
    ck_assert_uint_eq(s.n, rows * k);
    ck_assert(fabs(s.mean - mean) < 1e-9 * fabs(mean));
    ck_assert(fabs(s.std - std) < 1e-9 * std);
    ck_assert(fabs(s.kurtosis - kurt) < 1e-8 * kurt);
    ck_assert(s.outlier_frac == outl);
    uint64_t h = 0;
    for (int b = 0; b < LLQ_HIST_BINS; b++)
        h += s.hist[b];
    ck_assert_uint_eq(h, s.n);
    float mn = x[0], mx = x[0];
    for (uint64_t i = 0; i < rows * k; i++) {
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
    }
    ck_assert(s.min == mn && s.max == mx && s.absmax == fmax(fabs(mn), fabs(mx)));
    free(x);
}
END_TEST

START_TEST(stats_constant_nonfinite_and_errors)
{
    float x[6] = {2, 2, INFINITY, 2, NAN, 2};
    llq_stats s;
    arr a = {x, 3};
    ck_assert_int_eq(llq_stats_rows(&s, arr_row, &a, 2, 3), 0);
    ck_assert_uint_eq(s.n, 4);
    ck_assert_uint_eq(s.n_nonfinite, 2);
    ck_assert(s.mean == 2 && s.std == 0 && s.kurtosis == 0 && s.outlier_frac == 0);
    ck_assert_uint_eq(s.hist[0], 4);
    ck_assert_int_eq(llq_stats_rows(&s, fail_row, NULL, 10, 4), LLQ_EIO);
    ck_assert_str_eq(llq_errmsg(), "row 3 unreadable");
}
END_TEST

START_TEST(compare_values)
{
    float ref[4] = {1, -2, 3, 0}, x[4] = {1.5f, -2, 3, -0.5f};
    arr ax = {x, 2}, ar = {ref, 2};
    llq_cmp c;
    ck_assert_int_eq(llq_compare_rows(&c, arr_row, &ax, arr_row, &ar, 2, 2), 0);
    ck_assert_uint_eq(c.n, 4);
    ck_assert(fabs(c.rmse - sqrt(0.5 / 4)) < 1e-15);
    ck_assert(c.max_abs == 0.5);
    ck_assert(fabs(c.sqnr_db - 10 * log10(14 / 0.5)) < 1e-12);
    double dot = 1.5 + 4 + 9, nx = sqrt(2.25 + 4 + 9 + 0.25), nr = sqrt(14);
    ck_assert(fabs(c.cosine - dot / (nx * nr)) < 1e-15);
    ck_assert_int_eq(llq_compare_rows(&c, arr_row, &ar, arr_row, &ar, 2, 2), 0);
    ck_assert(c.rmse == 0 && c.cosine == 1 && isinf(c.sqnr_db));
    float z[4] = {0};
    arr az = {z, 2};
    ck_assert_int_eq(llq_compare_rows(&c, arr_row, &az, arr_row, &ar, 2, 2), 0);
    ck_assert(c.cosine == 0 && fabs(c.sqnr_db) < 1e-12); /* error = signal: 0 dB */
}
END_TEST

/* llq_stats_tensor over a quantized tensor in a file = statistics of its dequantized rows. */
START_TEST(stats_of_quantized_tensor)
{
    char dir[] = "/tmp/llq_test_inspect.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/q.llq", dir);
    uint64_t dims[2] = {5, 70}, rb;
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q4A, 32, 70), 0);
    uint8_t *q = malloc(5 * rb);
    for (uint64_t i = 0; i < 5 * rb; i++)
        q[i] = (uint8_t)(unif() * 256);
    for (uint64_t r = 0; r < 5; r++) /* sane scales: f16 1/16 .. 1, zero points 0..15 */
        for (int j = 0; j < 3; j++) {
            uint16_t h = llq_f32_to_f16((float)(0.0625 + unif()));
            q[r * rb + 48 + 2 * j] = (uint8_t)h;
            q[r * rb + 48 + 2 * j + 1] = (uint8_t)(h >> 8);
            q[r * rb + 54 + j] &= 15;
        }
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_add(w, "q", LLQ_Q4A, 2, dims, 32, q, 5 * rb), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    float deq[350];
    for (int r = 0; r < 5; r++)
        llq_row_to_f32(deq + 70 * r, q + r * rb, LLQ_Q4A, 32, 70);
    llq_file *f;
    ck_assert_int_eq(llq_open(&f, path), 0);
    llq_stats s, d;
    arr a = {deq, 70};
    ck_assert_int_eq(llq_stats_tensor(&s, f, llq_tensor_at(f, 0)), 0);
    ck_assert_int_eq(llq_stats_rows(&d, arr_row, &a, 5, 70), 0);
    ck_assert(memcmp(&s, &d, sizeof s) == 0);
    llq_cmp c;
    ck_assert_int_eq(llq_compare_tensors(&c, f, llq_tensor_at(f, 0), f, llq_tensor_at(f, 0)), 0);
    ck_assert(c.rmse == 0 && c.cosine == 1);
    llq_close(f);
    unlink(path);
    rmdir(dir);
    free(q);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("inspect");
    TCase *tc = tcase_create("inspect");
    tcase_add_test(tc, stats_merge_matches_direct);
    tcase_add_test(tc, stats_constant_nonfinite_and_errors);
    tcase_add_test(tc, compare_values);
    tcase_add_test(tc, stats_of_quantized_tensor);
    suite_add_tcase(s, tc);
    return s;
}
