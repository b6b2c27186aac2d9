/* test_kernels.c — every AVX2 kernel against its scalar _ref twin on random shapes (odd sizes included), the
 * threaded llq_matmul against a single-threaded kernel, and the kernel table. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llq/format.h"
#include "../../kernels/kern.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static uint8_t rbyte(void) /* uniform random byte */
{
    frand();
    return (uint8_t)(rng >> 32);
}

/* Random weight bytes of the given type; rows × cols. */
static void *make_weights(uint32_t type, uint32_t group, size_t rows, size_t cols, llq_mat *W)
{
    ck_assert_int_eq(llq_mat_init(W, type, group, rows, cols, NULL), 0);
    uint8_t *d = malloc(W->row_bytes * rows + 1);
    ck_assert_ptr_nonnull(d);
    for (size_t r = 0; r < rows; r++) {
        uint8_t *row = d + r * W->row_bytes;
        for (size_t k = 0; k < cols; k++) {
            float v = frand();
            uint16_t h;
            switch (type) {
            case LLQ_F32:
                memcpy(row + 4 * k, &v, 4);
                break;
            case LLQ_F16:
                h = llq_f32_to_f16(v);
                memcpy(row + 2 * k, &h, 2);
                break;
            case LLQ_BF16:
                h = llq_f32_to_bf16(v);
                memcpy(row + 2 * k, &h, 2);
                break;
            default:
                break;
            }
        }
        if (type == LLQ_Q8 || type == LLQ_Q4 || type == LLQ_Q4A) { /* random codes, f16 scales, zero points */
            uint64_t g, G;
            llq_group_geometry(group, cols, &g, &G);
            uint64_t cb = type == LLQ_Q8 ? G * g : G * g / 2;
            for (uint64_t k = 0; k < cb; k++)
                row[k] = type == LLQ_Q8 ? (uint8_t)(int8_t)(k < cols ? (int)(frand() * 127) : 0)
                                        : rbyte();
            for (uint64_t j = 0; j < G; j++) {
                uint16_t s = llq_f32_to_f16(0.01f + 0.01f * fabsf(frand()));
                memcpy(row + cb + 2 * j, &s, 2);
                if (type == LLQ_Q4A)
                    row[cb + 2 * G + j] = (uint8_t)((rng >> 20) & 15);
            }
        }
    }
    W->data = d;
    return d;
}

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand();
}

/* |a - b| <= tol · (Σ|x||w| bound) — the two sums differ only in rounding order. */
static void assert_close(const float *a, const float *b, size_t n, double scale, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= 1e-5 * scale + 1e-6))
            ck_abort_msg("%s: element %zu: %.9g vs %.9g", what, i, (double)a[i], (double)b[i]);
    }
}

static void compare_type(uint32_t type, uint32_t group, llq_mm_kernel ref, llq_mm_kernel simd)
{
    static const size_t shapes[][3] = {/* n, rows, cols */
                                       {1, 1, 1},     {1, 7, 13},    {2, 33, 100},   {3, 16, 8},
                                       {5, 17, 257},  {6, 48, 256},  {7, 35, 513},   {13, 64, 300},
                                       {1, 100, 1000}, {20, 19, 37}, {64, 129, 520}, {2, 5, 3},
                                       /* several row chunks (256), token blocks (264) and input blocks (256) */
                                       {271, 300, 600}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t n = shapes[i][0], rows = shapes[i][1], cols = shapes[i][2];
        llq_mat W;
        void *d = make_weights(type, group, rows, cols, &W);
        float *x = malloc(n * cols * sizeof(float)), *y0 = malloc(n * rows * sizeof(float)),
              *y1 = malloc(n * rows * sizeof(float));
        ck_assert(x && y0 && y1);
        fill(x, n * cols);
        ck_assert_ptr_nonnull(llq_mm_scratch(llq_mm_scratch_need(&W)));
        /* full range, then a sub-range (others untouched) */
        ref(y0, x, n, &W, 0, rows);
        simd(y1, x, n, &W, 0, rows);
        assert_close(y0, y1, n * rows, (double)cols, llq_type_name(type));
        if (rows > 2) {
            for (size_t j = 0; j < n * rows; j++)
                y1[j] = -7.0f;
            simd(y1, x, n, &W, 1, rows - 1);
            for (size_t t = 0; t < n; t++) {
                ck_assert(y1[t * rows] == -7.0f && y1[t * rows + rows - 1] == -7.0f);
                assert_close(y0 + t * rows + 1, y1 + t * rows + 1, rows - 2, (double)cols, "sub-range");
            }
        }
        free(x);
        free(y0);
        free(y1);
        free(d);
    }
}

START_TEST(f32_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    compare_type(LLQ_F32, 0, llq_mm_f32_ref, llq_mm_f32_avx2);
}
END_TEST

START_TEST(f16_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    compare_type(LLQ_F16, 0, llq_mm_f16_ref, llq_mm_f16_avx2);
}
END_TEST

START_TEST(bf16_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    compare_type(LLQ_BF16, 0, llq_mm_bf16_ref, llq_mm_bf16_avx2);
}
END_TEST

START_TEST(dequant_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    compare_type(LLQ_Q8, 32, llq_mm_dequant_ref, llq_mm_dequant_avx2);
    compare_type(LLQ_Q8, 0, llq_mm_dequant_ref, llq_mm_dequant_avx2);
    compare_type(LLQ_Q4, 32, llq_mm_dequant_ref, llq_mm_dequant_avx2);
    compare_type(LLQ_Q4, 128, llq_mm_dequant_ref, llq_mm_dequant_avx2);
    compare_type(LLQ_Q4A, 64, llq_mm_dequant_ref, llq_mm_dequant_avx2);
    compare_type(LLQ_Q4A, 0, llq_mm_dequant_ref, llq_mm_dequant_avx2);
}
END_TEST

/* The AVX-512 tile of the window GEMM (12 tokens × 32 rows) gives the AVX2 tile's bits (6 × 16): the same f32
 * chain per output. Types of every packing kind, token counts and row counts that leave partial tiles and panels
 * (rows ≤ 16 in the last step, n not a multiple of 12), several row chunks / token blocks / input blocks, and the
 * strided, accumulating and transposed GEMMs. Skipped on a CPU without AVX-512. */
START_TEST(avx512_tile_same_bits_as_avx2)
{
    if (!llq_cpu_has_avx512())
        return;
    static const struct { uint32_t type, group; } ty[] = {{LLQ_F32, 0}, {LLQ_F16, 0},  {LLQ_BF16, 0},
                                                         {LLQ_Q8, 32},  {LLQ_Q4, 32}, {LLQ_Q4A, 64}};
    static const size_t shapes[][3] = {{3, 16, 8},   {5, 17, 257}, {12, 32, 64},  {13, 48, 256},
                                       {25, 35, 513}, {64, 129, 520}, {271, 300, 600}, {7, 8, 40}};
    for (size_t ti = 0; ti < sizeof ty / sizeof ty[0]; ti++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            size_t n = shapes[i][0], rows = shapes[i][1], cols = shapes[i][2];
            llq_mat W;
            void *d = make_weights(ty[ti].type, ty[ti].group, rows, cols, &W);
            float *x = malloc(n * cols * 4), *y0 = malloc(n * rows * 4), *y1 = malloc(n * rows * 4);
            ck_assert(x && y0 && y1);
            fill(x, n * cols);
            ck_assert_ptr_nonnull(llq_mm_scratch(llq_mm_scratch_need(&W)));
            llq_mm_kernel k = llq_mm_select(W.type, LLQ_KERNEL_FAST);
            kern_avx512 = 0;
            k(y0, x, n, &W, 0, rows);
            kern_avx512 = 1;
            k(y1, x, n, &W, 0, rows);
            ck_assert_msg(memcmp(y0, y1, n * rows * 4) == 0, "%s %zux%zux%zu", llq_type_name(W.type), n, rows, cols);
            free(x), free(y0), free(y1), free(d);
        }
    size_t n = 37, rows = 70, cols = 300, ldx = cols + 3, ldw = cols + 5, ldy = rows + 2, ldv = rows + 1;
    float *x = malloc(n * ldx * 4), *w = malloc(rows * ldw * 4), *v = malloc(cols * ldv * 4);
    float *y0 = malloc(n * ldy * 4), *y1 = malloc(n * ldy * 4);
    ck_assert(x && w && v && y0 && y1);
    fill(x, n * ldx), fill(w, rows * ldw), fill(v, cols * ldv), fill(y0, n * ldy);
    memcpy(y1, y0, n * ldy * 4);
    for (int form = 0; form < 3; form++) {
        for (int wide = 0; wide < 2; wide++) {
            float *y = wide ? y1 : y0;
            kern_avx512 = wide;
            if (form == 0)
                llq_gemm_f32_avx2(y, ldy, x, ldx, n, w, ldw, rows, cols);
            else if (form == 1)
                llq_gemm_f32_acc_avx2(y, ldy, x, ldx, n, w, ldw, rows, cols);
            else
                llq_gemm_f32_nn_avx2(y, ldy, x, ldx, n, v, ldv, rows, cols);
        }
        ck_assert_msg(memcmp(y0, y1, n * ldy * 4) == 0, "gemm form %d", form);
    }
    kern_avx512 = 1;
    free(x), free(w), free(v), free(y0), free(y1);
}
END_TEST

/* The ref kernels against a double-precision dot product of the decoded weights. */
START_TEST(ref_matches_definition)
{
    uint32_t types[] = {LLQ_F32, LLQ_F16, LLQ_BF16, LLQ_Q8};
    for (size_t ti = 0; ti < 4; ti++) {
        size_t n = 3, rows = 9, cols = 77;
        llq_mat W;
        void *d = make_weights(types[ti], types[ti] == LLQ_Q8 ? 64 : 0, rows, cols, &W);
        float x[3 * 77], y[3 * 9], w[77];
        fill(x, n * cols);
        ck_assert_ptr_nonnull(llq_mm_scratch(llq_mm_scratch_need(&W)));
        llq_mm_select(types[ti], LLQ_KERNEL_REF)(y, x, n, &W, 0, rows);
        for (size_t r = 0; r < rows; r++) {
            llq_row_to_f32(w, (const uint8_t *)d + r * W.row_bytes, W.type, W.group, cols);
            for (size_t t = 0; t < n; t++) {
                double s = 0;
                for (size_t k = 0; k < cols; k++)
                    s += (double)x[t * cols + k] * w[k];
                ck_assert_msg(fabs(s - y[t * rows + r]) < 1e-4, "%s r%zu t%zu", llq_type_name(types[ti]), r, t);
            }
        }
        free(d);
    }
}
END_TEST

START_TEST(gemm_strided_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    static const size_t shapes[][3] = {{1, 5, 32}, {2, 40, 64}, {3, 17, 31}, {37, 37, 128}, {100, 64, 17}, {9, 300, 5}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t n = shapes[i][0], rows = shapes[i][1], cols = shapes[i][2];
        size_t ldx = cols + 3, ldw = cols + 5, ldy = rows + 2, ldv = rows + 1;
        float *x = malloc(n * ldx * 4), *w = malloc(rows * ldw * 4), *v = malloc(cols * ldv * 4);
        float *y0 = calloc(n * ldy, 4), *y1 = calloc(n * ldy, 4);
        ck_assert(x && w && v && y0 && y1);
        fill(x, n * ldx);
        fill(w, rows * ldw);
        fill(v, cols * ldv);
        llq_gemm_f32_ref(y0, ldy, x, ldx, n, w, ldw, rows, cols);
        llq_gemm_f32_avx2(y1, ldy, x, ldx, n, w, ldw, rows, cols);
        assert_close(y0, y1, n * ldy, (double)cols, "gemm");
        llq_gemm_f32_nn_ref(y0, ldy, x, ldx, n, v, ldv, rows, cols);
        llq_gemm_f32_nn_avx2(y1, ldy, x, ldx, n, v, ldv, rows, cols);
        assert_close(y0, y1, n * ldy, (double)cols, "gemm_nn");
        /* the accumulating form adds to what y holds */
        fill(y0, n * ldy);
        memcpy(y1, y0, n * ldy * 4);
        llq_gemm_f32_acc_ref(y0, ldy, x, ldx, n, w, ldw, rows, cols);
        llq_gemm_f32_acc_avx2(y1, ldy, x, ldx, n, w, ldw, rows, cols);
        assert_close(y0, y1, n * ldy, (double)cols, "gemm_acc");
        free(x), free(w), free(v), free(y0), free(y1);
    }
}
END_TEST

/* C −= A·B in f64: the AVX2 twin against _ref over shapes crossing its 4-row, 16/4-column and 256-deep blocks,
 * with strides wider than the shapes; elements outside the m×n window untouched. */
START_TEST(dgemm_sub_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    static const size_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 16, 64}, {9, 37, 300}, {64, 64, 64}, {5, 20, 513}};
    uint64_t st = 77;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t m = shapes[i][0], n = shapes[i][1], k = shapes[i][2], lda = k + 3, ldb = n + 5, ldc = n + 2;
        double *a = malloc(m * lda * 8), *b = malloc(k * ldb * 8), *c0 = malloc(m * ldc * 8), *c1 = malloc(m * ldc * 8);
        ck_assert(a && b && c0 && c1);
        for (size_t j = 0; j < m * lda; j++)
            a[j] = (double)(st = st * 6364136223846793005ull + 1442695040888963407ull) / 1.8e19 - 0.5;
        for (size_t j = 0; j < k * ldb; j++)
            b[j] = (double)(st = st * 6364136223846793005ull + 1442695040888963407ull) / 1.8e19 - 0.5;
        for (size_t j = 0; j < m * ldc; j++)
            c0[j] = c1[j] = (double)j;
        llq_dgemm_sub_ref(c0, ldc, a, lda, b, ldb, m, n, k);
        llq_dgemm_sub_avx2(c1, ldc, a, lda, b, ldb, m, n, k);
        for (size_t r = 0; r < m; r++)
            for (size_t j = 0; j < ldc; j++) {
                double x = c0[r * ldc + j], y = c1[r * ldc + j];
                if (j >= n)
                    ck_assert(x == (double)(r * ldc + j) && y == x);
                ck_assert_msg(fabs(x - y) <= 1e-12 * (double)k * (1 + fabs(x)), "shape %zu (%zu,%zu): %.17g vs %.17g",
                              i, r, j, x, y);
            }
        free(a), free(b), free(c0), free(c1);
    }
}
END_TEST

/* llq_pool_for hands every block out exactly once, on any pool (NULL included). */
static void mark_block(void *ud, size_t b)
{
    __atomic_add_fetch(&((int *)ud)[b], 1, __ATOMIC_RELAXED);
}

START_TEST(pool_for_each_block_once)
{
    for (int nt = 0; nt <= 3; nt++) {
        llq_pool *p = NULL;
        if (nt)
            ck_assert_int_eq(llq_pool_new(&p, nt), 0);
        int hits[257] = {0};
        for (int rep = 0; rep < 20; rep++)
            llq_pool_for(p, 257, mark_block, hits);
        for (int b = 0; b < 257; b++)
            ck_assert_int_eq(hits[b], 20);
        llq_pool_for(p, 0, mark_block, hits);
        llq_pool_free(p);
    }
}
END_TEST

/* llq_matmul over 1..3 threads gives the single-kernel result for every type, both impls. */
START_TEST(threaded_matmul_matches_kernel)
{
    uint32_t types[] = {LLQ_F32, LLQ_F16, LLQ_BF16, LLQ_Q8};
    for (int impl = 0; impl < 2; impl++) {
        llq_kernel_set_impl(impl);
        for (int nt = 1; nt <= 3; nt++) {
            llq_pool *p;
            ck_assert_int_eq(llq_pool_new(&p, nt), 0);
            ck_assert_int_eq(llq_pool_size(p), nt);
            for (size_t ti = 0; ti < 4; ti++) {
                size_t n = 11, rows = 83, cols = 70;
                llq_mat W;
                void *d = make_weights(types[ti], types[ti] == LLQ_Q8 ? 32 : 0, rows, cols, &W);
                float *x = malloc(n * cols * 4), *y0 = malloc(n * rows * 4), *y1 = malloc(n * rows * 4);
                fill(x, n * cols);
                ck_assert_ptr_nonnull(llq_mm_scratch(llq_mm_scratch_need(&W)));
                llq_mm_select(W.type, impl)(y0, x, n, &W, 0, rows);
                ck_assert_int_eq(llq_matmul(y1, x, n, &W, p), 0);
                ck_assert_int_eq(memcmp(y0, y1, n * rows * 4), 0);
                free(x), free(y0), free(y1), free(d);
            }
            llq_pool_free(p);
        }
    }
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
}
END_TEST

START_TEST(kernel_table)
{
    ck_assert(llq_mm_select(LLQ_F32, LLQ_KERNEL_REF) == llq_mm_f32_ref);
    ck_assert(llq_mm_select(LLQ_BF16, LLQ_KERNEL_REF) == llq_mm_bf16_ref);
    ck_assert(llq_mm_select(LLQ_Q4, LLQ_KERNEL_REF) != NULL);
    ck_assert(llq_mm_select(99, LLQ_KERNEL_FAST) == NULL);
    if (llq_cpu_has_avx2())
        ck_assert(llq_mm_select(LLQ_F16, LLQ_KERNEL_FAST) == llq_mm_f16_avx2);
    llq_mat W = {.type = 99, .rows = 1, .cols = 1};
    float x = 1, y;
    ck_assert_int_eq(llq_matmul(&y, &x, 1, &W, NULL), LLQ_EUNSUPPORTED);
    llq_kernel_set_impl(LLQ_KERNEL_REF);
    ck_assert_str_eq(llq_kernel_impl_name(), "ref");
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
}
END_TEST

static void count_task(void *ud, int i, int n)
{
    int *hits = ud;
    __atomic_add_fetch(&hits[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&hits[8], n, __ATOMIC_RELAXED);
}

START_TEST(pool_runs_each_index_once)
{
    llq_pool *p;
    ck_assert_int_eq(llq_pool_new(&p, 4), 0);
    int hits[9] = {0};
    for (int rep = 0; rep < 100; rep++)
        llq_pool_run(p, count_task, hits);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(hits[i], 100);
    ck_assert_int_eq(hits[8], 1600);
    llq_pool_free(p);
    ck_assert_int_eq(llq_pool_new(&p, 1000), LLQ_EINVAL);
    llq_mm_scratch_release();
}
END_TEST

/* One-query attention: the grouped AVX2 pass against the per-head _ref over group sizes (1..8, with a partial
 * group of four), head sizes, lengths (odd, block edges) and a row stride wider than one head; then the
 * dispatcher: a head size the AVX2 twin does not take (hd % 16 != 0) gives exactly _ref's numbers. */
START_TEST(attn_one_simd_matches_ref)
{
    static const size_t Gs[] = {1, 2, 3, 4, 5, 8}, hds[] = {16, 32, 128}, Ls[] = {1, 2, 3, 31, 32, 33, 100, 257};
    for (size_t gi = 0; gi < sizeof Gs / sizeof Gs[0]; gi++)
        for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
            for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++) {
                size_t G = Gs[gi], hd = hds[hi], L = Ls[li], ld = 3 * hd;
                float *q = malloc(G * hd * 4), *kv = malloc(2 * L * ld * 4), *s = malloc(G * L * 4);
                float *a = malloc(G * hd * 4), *b = malloc(G * hd * 4);
                for (size_t i = 0; i < G * hd; i++)
                    q[i] = 2 * frand();
                for (size_t i = 0; i < 2 * L * ld; i++)
                    kv[i] = 2 * frand();
                const float *k = kv + hd, *v = kv + L * ld + hd; /* the second head of a three-head cache */
                llq_attn_one_ref(a, q, k, v, ld, L, hd, G, sqrtf((float)hd), s);
                if (llq_cpu_has_avx2()) {
                    llq_attn_one_avx2(b, q, k, v, ld, L, hd, G, sqrtf((float)hd), s);
                    for (size_t i = 0; i < G * hd; i++)
                        ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-5f * (1 + fabsf(a[i])), "G %zu hd %zu L %zu [%zu]: %g vs %g",
                                      G, hd, L, i, a[i], b[i]);
                }
                if (L == 1) /* one key: the output is that value row */
                    for (size_t i = 0; i < G * hd; i++)
                        ck_assert(fabsf(a[i] - v[i % hd]) <= 1e-6f);
                free(q), free(kv), free(s), free(a), free(b);
            }
    float q[2 * 8], k[5 * 8], v[5 * 8], s[2 * 5], a[2 * 8], b[2 * 8];
    for (size_t i = 0; i < 40; i++)
        k[i] = frand(), v[i] = frand(), q[i % 16] = frand();
    llq_attn_one_ref(a, q, k, v, 8, 5, 8, 2, 3.0f, s);
    llq_attn_one(b, q, k, v, 8, 5, 8, 2, 3.0f, s);
    ck_assert(memcmp(a, b, sizeof a) == 0);
}
END_TEST

/* vmath: AVX2 exp-based helpers against the libm-based _ref on odd lengths and wide ranges. */
START_TEST(vmath_simd_matches_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    static const size_t lens[] = {1, 7, 8, 9, 31, 256, 1001, 4096};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        float *a = malloc(n * 4), *b = malloc(n * 4), *u = malloc(n * 4);
        for (size_t i = 0; i < n; i++) {
            a[i] = b[i] = 30 * frand(); /* silu over [-30, 30] */
            u[i] = frand();
        }
        llq_silu_mul_ref(a, u, n);
        llq_silu_mul_avx2(b, u, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-6f * (fabsf(a[i]) + 1e-3f), "silu %zu: %g vs %g", i, a[i], b[i]);
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] = 40 * frand(); /* scores down to e^-80 after the shift */
        a[n / 2] = b[n / 2] = -1e30f; /* underflows to 0 */
        float ma = llq_softmax_ref(a, n, 1.5f), mb = llq_softmax_avx2(b, n, 1.5f);
        ck_assert(ma == mb);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-6f * a[i] + 1e-30f, "softmax %zu: %g vs %g", i, a[i], b[i]);
        for (size_t i = 0; i < n; i++)
            a[i] = 25 * frand();
        a[n - 1] = 30;
        a[0] = -800; /* below f64 exp's range after the shift */
        size_t ia, ib;
        double za = llq_logsumexp_ref(a, n, &ia), zb = llq_logsumexp_avx2(a, n, &ib);
        ck_assert_uint_eq(ia, ib);
        ck_assert_msg(fabs(za - zb) <= 1e-14 * fabs(za) + 1e-14, "logsumexp n %zu: %.17g vs %.17g", n, za, zb);
        for (size_t i = 0; i < n; i++)
            u[i] = a[i] + 0.3f * frand();
        double zu = llq_logsumexp_ref(u, n, NULL);
        double ka = llq_kl_ref(a, za, u, zu, n), kb = llq_kl_avx2(a, za, u, zu, n);
        ck_assert_msg(ka >= 0 && fabs(ka - kb) <= 1e-12 * ka + 1e-15, "kl n %zu: %.17g vs %.17g", n, ka, kb);
        ck_assert(llq_kl_ref(a, za, a, za, n) == 0);
        free(a), free(b), free(u);
    }
    float t[3] = {1, 2, 3};
    ck_assert(fabs(llq_logsumexp_ref(t, 3, NULL) - log(exp(1.0) + exp(2.0) + exp(3.0))) < 1e-15);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, f32_simd_matches_ref);
    tcase_add_test(tc, f16_simd_matches_ref);
    tcase_add_test(tc, bf16_simd_matches_ref);
    tcase_add_test(tc, dequant_simd_matches_ref);
    tcase_add_test(tc, avx512_tile_same_bits_as_avx2);
    tcase_add_test(tc, ref_matches_definition);
    tcase_add_test(tc, gemm_strided_simd_matches_ref);
    tcase_add_test(tc, dgemm_sub_simd_matches_ref);
    tcase_add_test(tc, pool_for_each_block_once);
    tcase_add_test(tc, threaded_matmul_matches_kernel);
    tcase_add_test(tc, kernel_table);
    tcase_add_test(tc, pool_runs_each_index_once);
    tcase_add_test(tc, vmath_simd_matches_ref);
    tcase_add_test(tc, attn_one_simd_matches_ref);
    suite_add_tcase(s, tc);
    return s;
}
