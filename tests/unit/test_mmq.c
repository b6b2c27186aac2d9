/* test_mmq.c — the window GEMM with int8 activations (kernels/mmq*.c, LLQ_MM_ACT_Q8): the activation quantizer's
 * twins, the reference against the AVX2 and AVX-512 VNNI tiles (same bits), all of them against the f32 product
 * of the dequantized weights (within the int8 rounding), and the threaded llq_matmul_act. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/mmq.h"
#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/quant.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float urand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) / 8388608.0) - 1.0f;
}

/* x[n][K] with varied magnitudes per block, one all-zero block and one huge outlier. */
static float *make_x(size_t n, size_t K)
{
    float *x = malloc(n * K * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n * K; i++)
        x[i] = urand() * (float)(1 + (i / 32) % 5) * (i % 11 == 0 ? 4.0f : 1.0f);
    memset(x + 32, 0, 32 * sizeof *x);
    x[K + 7] = 1e4f;
    return x;
}

/* A random matrix of type/group, R × K, quantized by the library's own quantizer; *wf its dequantized values. */
static uint8_t *make_w(llq_mat *W, float **wf, uint32_t type, uint32_t group, uint64_t R, uint64_t K)
{
    ck_assert_int_eq(llq_mat_init(W, type, group, R, K, NULL), 0);
    uint8_t *d = malloc(R * W->row_bytes);
    float *w = malloc(K * sizeof *w);
    *wf = malloc(R * K * sizeof **wf);
    ck_assert(d && w && *wf);
    for (uint64_t r = 0; r < R; r++) {
        for (uint64_t i = 0; i < K; i++)
            w[i] = 0.05f * (urand() + urand()) * (i % 64 < 32 ? 1.0f : 3.0f);
        ck_assert_int_eq(llq_quantize_row(d + r * W->row_bytes, w, K, type, group, NULL), 0);
        llq_row_to_f32(*wf + r * K, d + r * W->row_bytes, type, group, K);
    }
    W->data = d;
    free(w);
    return d;
}

START_TEST(act_quantize_twins)
{
    enum { N = 7, K = 512 };
    float *x = make_x(N, K);
    size_t bytes = mmq_act_bytes(N, K);
    void *b0 = aligned_alloc(64, (bytes + 63) / 64 * 64), *b1 = aligned_alloc(64, (bytes + 63) / 64 * 64);
    ck_assert(b0 && b1);
    memset(b0, 0x55, bytes), memset(b1, 0x55, bytes);
    mmq_act a0, a1;
    mmq_act_layout(&a0, b0, N, K);
    mmq_act_layout(&a1, b1, N, K);
    mmq_act_rows_ref(&a0, x, 0, N);
    /* each block: codes within ±127 whose sum is s, and d·q within d/2 of x */
    for (size_t t = 0; t < N; t++)
        for (size_t b = 0; b < K / 32; b++) {
            int32_t s = 0;
            for (size_t k = 0; k < 32; k++) {
                int q = a0.q[t * K + 32 * b + k];
                s += q;
                ck_assert_int_le(abs(q), 127);
                ck_assert(fabsf(a0.d[t * 16 + b] * (float)q - x[t * K + 32 * b + k]) <= 0.5001f * a0.d[t * 16 + b]);
            }
            ck_assert_int_eq(s, a0.s[t * 16 + b]);
            ck_assert_int_eq(a0.z8[t * 16 + b], -8 * s);
        }
    ck_assert(a0.d[1] == 0.0f && a0.s[1] == 0); /* the zero block */
    if (llq_cpu_has_avx2()) {
        mmq_act_rows_avx2(&a1, x, 0, 3);
        mmq_act_rows_avx2(&a1, x, 3, N);
        ck_assert(memcmp(a0.q, a1.q, N * K) == 0);
        ck_assert(memcmp(a0.d, a1.d, N * 16 * sizeof(float)) == 0);
        ck_assert(memcmp(a0.s, a1.s, N * 16 * sizeof(int32_t)) == 0);
        ck_assert(memcmp(a0.ds, a1.ds, N * 16 * sizeof(float)) == 0);
        ck_assert(memcmp(a0.z32, a1.z32, N * 32 * sizeof(int32_t)) == 0);
    }
    free(x), free(b0), free(b1);
}
END_TEST

START_TEST(supported_types)
{
    llq_mat W;
    static const struct { uint32_t type, group; uint64_t K; int ok; } tab[] = {
        {LLQ_Q4, 32, 512, 1},  {LLQ_Q4, 128, 512, 1},  {LLQ_Q4, 0, 512, 1}, {LLQ_Q4, 64, 512, 1},
        {LLQ_Q4, 32, 80, 0},   {LLQ_Q4A, 32, 512, 0},  {LLQ_Q8, 32, 512, 0}, {LLQ_Q4_K, 0, 512, 1},
        {LLQ_Q6_K, 0, 512, 1}, {LLQ_Q4_0, 0, 512, 1}, {LLQ_Q8_0, 0, 512, 0},  {LLQ_F32, 0, 512, 0},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        ck_assert_int_eq(llq_mat_init(&W, tab[i].type, tab[i].group, 4, tab[i].K, NULL), 0);
        ck_assert_msg(mmq_supports(&W) == tab[i].ok, "case %zu", i);
    }
}
END_TEST

/* Reference, AVX2 tile and VNNI tile: the same bits; and within the int8 rounding of the f32 product. */
START_TEST(mmq_twins)
{
    static const struct { uint32_t type, group; } tab[] = {
        {LLQ_Q4, 32}, {LLQ_Q4, 128}, {LLQ_Q4_K, 0}, {LLQ_Q6_K, 0}, {LLQ_Q4_0, 0},
    };
    enum { R = 70, K = 768 }; /* a partial panel; three chunks of MMQ_KB blocks */
    const size_t ns[2] = {13, 300}; /* partial token tiles; more than one block of tokens */
    for (size_t c = 0; c < sizeof tab / sizeof tab[0]; c++)
        for (int ni = 0; ni < 2; ni++) {
            size_t n = ns[ni];
            llq_mat W;
            float *wf;
            uint8_t *d = make_w(&W, &wf, tab[c].type, tab[c].group, R, K);
            float *x = make_x(n, K), *y0 = malloc(n * R * sizeof *y0), *y1 = malloc(n * R * sizeof *y1);
            size_t bytes = mmq_act_bytes(n, K);
            void *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
            ck_assert(y0 && y1 && buf);
            mmq_act a;
            mmq_act_layout(&a, buf, n, K);
            mmq_act_rows_ref(&a, x, 0, n);
            llq_mmq_ref(y0, &a, &W, 0, R);
            for (size_t t = 0; t < n; t++)
                for (size_t r = 0; r < R; r++) {
                    double e = 0, mag = 0, bound = 0; /* each activation is off by at most half its block's step */
                    for (size_t k = 0; k < K; k++) {
                        double p = (double)wf[r * K + k] * x[t * K + k];
                        e += p, mag += fabs(p);
                        bound += fabs((double)wf[r * K + k]) * 0.5 * a.d[t * (K / 32) + k / 32];
                    }
                    ck_assert_msg(fabs(y0[t * R + r] - e) <= bound + 1e-5 * mag, "%s t %zu r %zu: %g vs %g (bound %g)",
                                  llq_type_name(tab[c].type), t, r, y0[t * R + r], e, bound);
                }
            if (llq_cpu_has_avx2()) {
                ck_assert_ptr_nonnull(llq_mm_xbuf(LLQ_MM_XBUF_FLOATS));
                for (int wide = 0; wide < 2; wide++) {
                    if (wide && !(llq_cpu_has_avx512vnni()))
                        continue;
                    kern_avx512 = wide;
                    memset(y1, 0, n * R * sizeof *y1);
                    llq_mmq_avx2(y1, &a, &W, 0, 32); /* two calls: slices as the threads take them */
                    llq_mmq_avx2(y1, &a, &W, 32, R);
                    for (size_t i = 0; i < n * R; i++)
                        if (memcmp(&y0[i], &y1[i], 4))
                            ck_abort_msg("%s g%u n %zu %s: element %zu: %a vs ref %a", llq_type_name(tab[c].type),
                                         tab[c].group, n, wide ? "vnni" : "avx2", i, y1[i], y0[i]);
                }
                kern_avx512 = 1;
            }
            free(d), free(wf), free(x), free(y0), free(y1), free(buf);
        }
}
END_TEST

/* llq_matmul_act: q4_k and q6_k in one call on two threads give the reference's bits; LLQ_MM_ACT_F32 and n <= 2
 * are llq_matmul_n's numbers; an unsupported type in a q8 call takes the f32 path. */
START_TEST(matmul_act_threaded)
{
    enum { R = 200, K = 512, N = 20 };
    llq_pool *pool;
    ck_assert_int_eq(llq_pool_new(&pool, 2), 0);
    llq_mat W[3];
    float *wf[3];
    uint8_t *d[3] = {make_w(&W[0], &wf[0], LLQ_Q4_K, 0, R, K), make_w(&W[1], &wf[1], LLQ_Q6_K, 0, R, K),
                     make_w(&W[2], &wf[2], LLQ_Q8, 32, R, K)};
    float *x = make_x(N, K), *y[3], *yr[3];
    for (int j = 0; j < 3; j++) {
        y[j] = malloc(N * R * sizeof(float)), yr[j] = malloc(N * R * sizeof(float));
        ck_assert(y[j] && yr[j]);
    }
    const llq_mat *Wp[3] = {&W[0], &W[1], &W[2]};
    ck_assert_int_eq(llq_matmul_act(y, x, N, Wp, 3, LLQ_MM_ACT_Q8, pool), 0);
    size_t bytes = mmq_act_bytes(N, K);
    void *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    ck_assert_ptr_nonnull(buf);
    mmq_act a;
    mmq_act_layout(&a, buf, N, K);
    mmq_act_rows_ref(&a, x, 0, N);
    for (int j = 0; j < 2; j++) {
        llq_mmq_ref(yr[j], &a, &W[j], 0, R);
        ck_assert(memcmp(y[j], yr[j], N * R * sizeof(float)) == 0);
    }
    llq_kernel_set_impl(LLQ_KERNEL_REF); /* the ref implementation: the reference kernel and quantizer */
    float *yq[2] = {y[2], yr[2]};
    ck_assert_int_eq(llq_matmul_act(yq, x, N, Wp, 2, LLQ_MM_ACT_Q8, pool), 0);
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    ck_assert(memcmp(y[2], y[0], N * R * sizeof(float)) == 0 && memcmp(yr[2], y[1], N * R * sizeof(float)) == 0);
    ck_assert_int_eq(llq_matmul_act(y + 2, x, N, Wp + 2, 1, LLQ_MM_ACT_Q8, pool), 0);
    ck_assert_int_eq(llq_matmul_n(yr + 2, x, N, Wp + 2, 1, pool), 0); /* q8: not an integer-path type */
    ck_assert(memcmp(y[2], yr[2], N * R * sizeof(float)) == 0);
    for (size_t n = 2; n <= N; n += N - 2) { /* f32 activations, and two tokens with q8 asked: llq_matmul_n */
        ck_assert_int_eq(llq_matmul_act(y, x, n, Wp, 2, n == 2 ? LLQ_MM_ACT_Q8 : LLQ_MM_ACT_F32, pool), 0);
        ck_assert_int_eq(llq_matmul_n(yr, x, n, Wp, 2, pool), 0);
        for (int j = 0; j < 2; j++)
            ck_assert(memcmp(y[j], yr[j], n * R * sizeof(float)) == 0);
    }
    for (int j = 0; j < 3; j++)
        free(d[j]), free(wf[j]), free(y[j]), free(yr[j]);
    free(x), free(buf);
    llq_pool_free(pool);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("mmq");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, act_quantize_twins);
    tcase_add_test(tc, supported_types);
    tcase_add_test(tc, mmq_twins);
    tcase_add_test(tc, matmul_act_threaded);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
