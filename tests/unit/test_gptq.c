/* test_gptq.c — Cholesky / SPD inverse / XᵀX accumulation, and GPTQ against round-to-nearest on synthetic layers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "calib_testutil.h"
#include "llq/calib.h"
#include "llq/kernels.h"

static double *random_spd(size_t n, uint64_t seed)
{
    double *b = malloc(n * n * sizeof *b), *a = calloc(n * n, sizeof *a);
    for (size_t i = 0; i < n * n; i++)
        b[i] = tu_gauss(&seed);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++)
                s += b[i * n + k] * b[j * n + k];
            a[i * n + j] = s + (i == j ? 0.1 : 0);
        }
    free(b);
    return a;
}

START_TEST(cholesky_reconstructs)
{
    size_t sizes[] = {1, 2, 7, 33, 100, 130, 200}; /* across the 64-wide blocks */
    for (size_t t = 0; t < 7; t++) {
        size_t n = sizes[t];
        double *a = random_spd(n, 11 + t), *l = malloc(n * n * sizeof *l);
        memcpy(l, a, n * n * sizeof *l);
        ck_assert_int_eq(llq_cholesky(l, n, NULL), 0);
        double scale = 0, maxerr = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (j > i)
                    ck_assert(l[i * n + j] == 0.0);
                double s = 0;
                for (size_t k = 0; k < n; k++)
                    s += l[i * n + k] * l[j * n + k];
                maxerr = fmax(maxerr, fabs(s - a[i * n + j]));
                scale = fmax(scale, fabs(a[i * n + j]));
            }
        ck_assert_msg(maxerr <= 1e-12 * scale, "n=%zu err %g", n, maxerr);
        free(a), free(l);
    }
}
END_TEST

START_TEST(cholesky_rejects_indefinite)
{
    double a[4] = {1, 2, 2, 1}; /* eigenvalues 3, -1 */
    ck_assert_int_eq(llq_cholesky(a, 2, NULL), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "not positive definite"));
    double z[1] = {0};
    ck_assert_int_eq(llq_cholesky(z, 1, NULL), LLQ_EINVAL);
}
END_TEST

START_TEST(inverse_is_inverse)
{
    size_t sizes[] = {1, 5, 64, 129};
    for (size_t t = 0; t < 4; t++) {
        size_t n = sizes[t];
        double *a = random_spd(n, 40 + t), *inv = malloc(n * n * sizeof *inv);
        memcpy(inv, a, n * n * sizeof *inv);
        ck_assert_int_eq(llq_spd_inverse(inv, n, NULL), 0);
        double maxerr = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                ck_assert(inv[i * n + j] == inv[j * n + i]);
                double s = 0;
                for (size_t k = 0; k < n; k++)
                    s += a[i * n + k] * inv[k * n + j];
                maxerr = fmax(maxerr, fabs(s - (i == j)));
            }
        ck_assert_msg(maxerr < 1e-8, "n=%zu err %g", n, maxerr);
        free(a), free(inv);
    }
}
END_TEST

/* U upper with UᵀU = A⁻¹, i.e. A·Uᵀ·U = I. */
START_TEST(chol_inv_upper_factor)
{
    size_t sizes[] = {1, 3, 50, 128, 129, 200};
    for (size_t t = 0; t < 6; t++) {
        size_t n = sizes[t];
        double *a = random_spd(n, 70 + t), *u = malloc(n * n * sizeof *u), *p = malloc(n * n * sizeof *p);
        memcpy(u, a, n * n * sizeof *u);
        ck_assert_int_eq(llq_chol_inv_upper(u, n, NULL), 0);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (j < i)
                    ck_assert(u[i * n + j] == 0.0);
                double s = 0; /* (UᵀU)[i][j] */
                for (size_t k = 0; k < n; k++)
                    s += u[k * n + i] * u[k * n + j];
                p[i * n + j] = s;
            }
        double maxerr = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t k = 0; k < n; k++)
                    s += a[i * n + k] * p[k * n + j];
                maxerr = fmax(maxerr, fabs(s - (i == j)));
            }
        ck_assert_msg(maxerr < 1e-8, "n=%zu err %g", n, maxerr);
        free(a), free(u), free(p);
    }
}
END_TEST

START_TEST(xtx_matches_naive)
{
    size_t shapes[][2] = {{1, 1}, {3, 5}, {64, 4}, {65, 7}, {200, 33}, {70, 150}, {2100, 9}};
    for (size_t t = 0; t < 7; t++) {
        size_t n = shapes[t][0], c = shapes[t][1];
        uint64_t seed = 5 + t;
        float *x = malloc(n * c * sizeof *x);
        for (size_t i = 0; i < n * c; i++)
            x[i] = tu_gauss(&seed);
        double *h = calloc(c * c, sizeof *h);
        llq_xtx_acc(h, x, n, c, NULL);
        llq_xtx_acc(h, x, n, c, NULL); /* accumulates */
        llq_sym_fill(h, c);
        for (size_t i = 0; i < c; i++)
            for (size_t j = 0; j < c; j++) {
                double s = 0;
                for (size_t k = 0; k < n; k++)
                    s += (double)x[k * c + i] * x[k * c + j];
                ck_assert_msg(fabs(h[i * c + j] - 2 * s) <= 1e-4 * (1 + fabs(s)), "%zu,%zu: %g vs %g", i, j,
                              h[i * c + j], 2 * s);
            }
        free(x), free(h);
    }
}
END_TEST

/* A synthetic layer: inputs with correlated channels and a few large ("salient") ones. */
typedef struct layer {
    size_t rows, cols, n;
    float *w, *x;
    double *h;
} layer;

static layer make_layer(size_t rows, size_t cols, size_t n, uint64_t seed)
{
    layer L = {rows, cols, n, malloc(rows * cols * sizeof(float)), malloc(n * cols * sizeof(float)),
               calloc(cols * cols, sizeof(double))};
    for (size_t i = 0; i < rows * cols; i++)
        L.w[i] = 0.05f * tu_gauss(&seed);
    size_t nf = 16; /* x = z·A: 16 latent factors + noise; every 17th channel 8× larger */
    float *a = malloc(nf * cols * sizeof *a);
    for (size_t i = 0; i < nf * cols; i++)
        a[i] = tu_gauss(&seed);
    for (size_t t = 0; t < n; t++) {
        float z[16];
        for (size_t f = 0; f < nf; f++)
            z[f] = tu_gauss(&seed);
        for (size_t c = 0; c < cols; c++) {
            float v = 0.3f * tu_gauss(&seed);
            for (size_t f = 0; f < nf; f++)
                v += z[f] * a[f * cols + c];
            L.x[t * cols + c] = v * (c % 17 == 3 ? 8.0f : 1.0f);
        }
    }
    free(a);
    llq_xtx_acc(L.h, L.x, n, cols, NULL);
    llq_sym_fill(L.h, cols);
    return L;
}

static void free_layer(layer *L)
{
    free(L->w), free(L->x), free(L->h);
}

static double err_of(const layer *L, const uint8_t *q, uint32_t type, uint32_t group)
{
    size_t rb = tu_row_bytes(type, group, L->cols);
    float *wq = malloc(L->rows * L->cols * sizeof *wq);
    for (size_t r = 0; r < L->rows; r++)
        tu_dequant_row(wq + r * L->cols, q + r * rb, type, group, L->cols);
    double e = tu_out_err(L->w, wq, L->rows, L->cols, L->h);
    free(wq);
    return e;
}

/* GPTQ's output error is well below RTN's (same scheme, same layer), for every type and group layout,
 * with and without act-order, including a row length that is not a multiple of the group. */
START_TEST(gptq_beats_rtn)
{
    struct { uint32_t type, group; size_t cols; } cases[] = {
        {LLQ_Q4, 128, 256}, {LLQ_Q4, 32, 256}, {LLQ_Q4A, 64, 256}, {LLQ_Q4, 0, 200}, {LLQ_Q4A, 128, 200},
        {LLQ_Q8, 32, 256},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        layer L = make_layer(48, cases[c].cols, 1024, 100 + c);
        size_t rb = tu_row_bytes(cases[c].type, cases[c].group, L.cols);
        ck_assert_uint_gt(rb, 0);
        uint8_t *q = malloc(L.rows * rb);
        ck_assert_int_eq(llq_awq_clip_quantize(q, L.w, L.rows, L.cols, NULL, cases[c].type, cases[c].group, NULL), 0);
        double rtn = err_of(&L, q, cases[c].type, cases[c].group);
        for (int ao = 0; ao < 2; ao++) {
            llq_gptq_opts o = {0.01f, ao, 0, NULL};
            ck_assert_int_eq(llq_gptq(q, L.w, L.rows, L.cols, L.h, cases[c].type, cases[c].group, &o), 0);
            double g = err_of(&L, q, cases[c].type, cases[c].group);
            ck_assert_msg(g < 0.7 * rtn, "case %zu act_order %d: gptq %g vs rtn %g", c, ao, g, rtn);
        }
        free(q);
        free_layer(&L);
    }
}
END_TEST

/* A block width smaller than the matrix (lazy updates crossing blocks) gives the same result as one block. */
START_TEST(gptq_block_invariant)
{
    layer L = make_layer(16, 96, 300, 7);
    size_t rb = tu_row_bytes(LLQ_Q4, 32, L.cols);
    uint8_t *a = malloc(L.rows * rb), *b = malloc(L.rows * rb);
    llq_gptq_opts o1 = {0.01f, 1, 96, NULL}, o2 = {0.01f, 1, 20, NULL};
    ck_assert_int_eq(llq_gptq(a, L.w, L.rows, L.cols, L.h, LLQ_Q4, 32, &o1), 0);
    ck_assert_int_eq(llq_gptq(b, L.w, L.rows, L.cols, L.h, LLQ_Q4, 32, &o2), 0);
    double ea = err_of(&L, a, LLQ_Q4, 32), eb = err_of(&L, b, LLQ_Q4, 32);
    ck_assert_msg(fabs(ea - eb) <= 0.02 * ea, "%g vs %g", ea, eb);
    free(a), free(b);
    free_layer(&L);
}
END_TEST

/* Every method gives the same bytes on 1, 2 and 3 threads (work is cut into fixed blocks, each summed in one
 * order): the factorizations, XᵀX, GPTQ (rows in several tasks, act-order on and off), AWQ's searches. */
START_TEST(threads_bit_identical)
{
    layer L = make_layer(300, 200, 700, 21);
    size_t n = L.cols, rb = tu_row_bytes(LLQ_Q4, 32, n);
    llq_pool *pools[3] = {NULL, NULL, NULL};
    ck_assert_int_eq(llq_pool_new(&pools[1], 2), 0);
    ck_assert_int_eq(llq_pool_new(&pools[2], 3), 0);
    double *h[3], *c[3], *u[3];
    uint8_t *q[3][3];
    float s[3][200], alpha[3];
    for (int p = 0; p < 3; p++) {
        h[p] = calloc(n * n, sizeof(double));
        ck_assert_int_eq(llq_xtx_acc(h[p], L.x, L.n, n, pools[p]), 0);
        llq_sym_fill(h[p], n);
        c[p] = malloc(n * n * sizeof(double)), u[p] = malloc(n * n * sizeof(double));
        for (size_t i = 0; i < n * n; i++)
            c[p][i] = u[p][i] = h[p][i] + (i % (n + 1) == 0 ? 1.0 : 0.0);
        ck_assert_int_eq(llq_cholesky(c[p], n, pools[p]), 0);
        ck_assert_int_eq(llq_chol_inv_upper(u[p], n, pools[p]), 0);
        for (int m = 0; m < 3; m++)
            q[p][m] = malloc(L.rows * rb);
        llq_gptq_opts o1 = {0.01f, 1, 0, pools[p]}, o0 = {0.01f, 0, 64, pools[p]};
        ck_assert_int_eq(llq_gptq(q[p][0], L.w, L.rows, n, L.h, LLQ_Q4, 32, &o1), 0);
        ck_assert_int_eq(llq_gptq(q[p][1], L.w, L.rows, n, L.h, LLQ_Q4, 32, &o0), 0);
        ck_assert_int_eq(llq_awq_clip_quantize(q[p][2], L.w, L.rows, n, L.h, LLQ_Q4, 32, pools[p]), 0);
        float xabs[200];
        for (size_t i = 0; i < n; i++)
            xabs[i] = (float)sqrt(L.h[i * n + i] / (double)L.n);
        const float *ws[1] = {L.w};
        size_t rows[1] = {L.rows};
        ck_assert_int_eq(llq_awq_search(s[p], &alpha[p], ws, rows, 1, n, L.h, xabs, LLQ_Q4, 32, 10, pools[p]), 0);
    }
    for (int p = 1; p < 3; p++) {
        ck_assert(memcmp(h[p], h[0], n * n * sizeof(double)) == 0);
        ck_assert(memcmp(c[p], c[0], n * n * sizeof(double)) == 0);
        ck_assert(memcmp(u[p], u[0], n * n * sizeof(double)) == 0);
        for (int m = 0; m < 3; m++)
            ck_assert_msg(memcmp(q[p][m], q[0][m], L.rows * rb) == 0, "method %d, pool %d", m, p);
        ck_assert(memcmp(s[p], s[0], sizeof s[0]) == 0 && alpha[p] == alpha[0]);
    }
    for (int p = 0; p < 3; p++) {
        free(h[p]), free(c[p]), free(u[p]);
        for (int m = 0; m < 3; m++)
            free(q[p][m]);
        llq_pool_free(pools[p]);
    }
    free_layer(&L);
}
END_TEST

/* Never-activated input columns: no failure, and their weights quantize to 0. */
START_TEST(gptq_dead_columns)
{
    layer L = make_layer(8, 64, 200, 9);
    for (size_t t = 0; t < L.n; t++)
        L.x[t * L.cols + 5] = 0, L.x[t * L.cols + 40] = 0;
    memset(L.h, 0, L.cols * L.cols * sizeof *L.h);
    llq_xtx_acc(L.h, L.x, L.n, L.cols, NULL);
    llq_sym_fill(L.h, L.cols);
    size_t rb = tu_row_bytes(LLQ_Q4A, 32, L.cols);
    uint8_t *q = malloc(L.rows * rb);
    ck_assert_int_eq(llq_gptq(q, L.w, L.rows, L.cols, L.h, LLQ_Q4A, 32, NULL), 0);
    float row[64];
    for (size_t r = 0; r < L.rows; r++) {
        tu_dequant_row(row, q + r * rb, LLQ_Q4A, 32, L.cols);
        ck_assert(row[5] == 0.0f && row[40] == 0.0f);
    }
    free(q);
    free_layer(&L);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("gptq");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cholesky_reconstructs);
    tcase_add_test(tc, cholesky_rejects_indefinite);
    tcase_add_test(tc, inverse_is_inverse);
    tcase_add_test(tc, chol_inv_upper_factor);
    tcase_add_test(tc, xtx_matches_naive);
    tcase_add_test(tc, gptq_beats_rtn);
    tcase_add_test(tc, gptq_block_invariant);
    tcase_add_test(tc, gptq_dead_columns);
    tcase_add_test(tc, threads_bit_identical);
    suite_add_tcase(s, tc);
    return s;
}
