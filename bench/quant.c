/* bench/quant.c — figures for issue 5 (printed, never asserted; `make bench`):
 *   1. int8-activation matvec (fast path), one thread, matrix in L2: ns and TSC cycles per 32 weights
 *   2. q4 matvec over a 302 MB matrix on 1 and 2 threads: GB/s of weights streamed, vs a plain read of the
 *      same bytes
 *   3. RTN quantization throughput, MB/s of f32 input, 2 threads (q8/q4/q4a, groups 32/128) */
#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/quant.h"
#include "../kernels/qdot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of this thread: the machine is shared, wall time of a short loop is not reliable */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of the whole process (all threads) */
static double proc_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* A random matrix of type/group: random codes, scales ~1e-2 (f16). */
static uint8_t *rand_mat(llq_mat *W, uint32_t type, uint32_t group, uint64_t rows, uint64_t K)
{
    if (llq_mat_init(W, type, group, rows, K, NULL))
        return NULL;
    uint8_t *d = aligned_alloc(64, (rows * W->row_bytes + 63) / 64 * 64);
    if (!d)
        return NULL;
    uint64_t glen, G;
    llq_group_geometry(group, K, &glen, &G);
    uint64_t Kp = glen * G, qb = type == LLQ_Q8 ? Kp : Kp / 2;
    for (uint64_t r = 0; r < rows; r++) {
        uint8_t *row = d + r * W->row_bytes;
        for (uint64_t i = 0; i < qb; i += 4) {
            uint32_t v = u32();
            memcpy(row + i, &v, qb - i < 4 ? qb - i : 4);
        }
        if (type == LLQ_Q8)
            for (uint64_t i = 0; i < qb; i++)
                if (row[i] == 0x80)
                    row[i] = 0;
        for (uint64_t g = 0; g < G; g++) {
            uint16_t h = llq_f32_to_f16(0.01f * (float)(1 + u32() % 8));
            memcpy(row + qb + 2 * g, &h, 2);
            if (type == LLQ_Q4A)
                row[qb + 2 * G + g] = (uint8_t)(u32() % 16);
        }
    }
    W->data = d;
    return d;
}

static void in_cache(const char *what, uint32_t type, uint32_t group, int fast)
{
    uint64_t rows = 512, K = 1024;
    llq_mat W;
    uint8_t *d = rand_mat(&W, type, group, rows, K);
    float *x = malloc(K * 4), *y = malloc(rows * 4);
    for (uint64_t k = 0; k < K; k++)
        x[k] = (float)(u32() % 2000) / 1000.0f - 1.0f;
    double best = 1e30, bestc = 1e30;
    int reps = fast ? 100 : 10;
    for (int t = 0; t < 20; t++) {
        double t0 = cpu_now();
        uint64_t c0 = __rdtsc();
        for (int i = 0; i < reps; i++) {
            if (fast)
                llq_mv_q_avx2(y, x, &W, 0, rows);
            else
                llq_mv_q_ref(y, x, &W, 0, rows);
        }
        uint64_t c1 = __rdtsc();
        double t1 = cpu_now();
        if (t1 - t0 < best)
            best = t1 - t0;
        if ((double)(c1 - c0) < bestc)
            bestc = (double)(c1 - c0);
    }
    double blocks = (double)rows * (double)K / 32.0 * reps;
    printf("  %-10s %-4s %6.2f ns (thread CPU time) = %5.2f cycles at 2.5 GHz / 32 weights; %6.2f TSC cycles wall  (%u x %u, %.0f KB)\n",
           what, fast ? "fast" : "ref", best * 1e9 / blocks, best * 2.5e9 / blocks, bestc / blocks, (unsigned)rows, (unsigned)K,
           (double)(rows * W.row_bytes) / 1024.0);
    free(d), free(x), free(y);
}

/* plain read of n bytes (8 independent 64-bit sums), seconds */
static double read_time(const uint8_t *p, uint64_t n)
{
    double best = 1e30;
    volatile uint64_t sink = 0;
    for (int t = 0; t < 3; t++) {
        double t0 = now();
        uint64_t s[8] = {0};
        for (uint64_t i = 0; i + 64 <= n; i += 64)
            for (int j = 0; j < 8; j++) {
                uint64_t v;
                memcpy(&v, p + i + 8 * j, 8);
                s[j] += v;
            }
        sink += s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    (void)sink;
    return best;
}

static void streaming(void)
{
    uint64_t rows = 32768, K = 16384;
    llq_mat W;
    uint8_t *d = rand_mat(&W, LLQ_Q4, 32, rows, K);
    if (!d) {
        printf("  (no memory for the 302 MB matrix)\n");
        return;
    }
    double bytes = (double)(rows * W.row_bytes);
    float *x = malloc(K * 4), *y = malloc(rows * 4);
    for (uint64_t k = 0; k < K; k++)
        x[k] = (float)(u32() % 2000) / 1000.0f - 1.0f;
    double rt = read_time(d, rows * W.row_bytes);
    printf("  plain read of the matrix, 1 thread: %.2f GB/s\n", bytes / rt / 1e9);
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    for (int nt = 1; nt <= 2; nt++) {
        llq_pool *pool = NULL;
        if (llq_pool_new(&pool, nt))
            continue;
        double best = 1e30;
        for (int t = 0; t < 5; t++) {
            double t0 = now();
            llq_matmul(y, x, 1, &W, pool);
            double dt = now() - t0;
            best = dt < best ? dt : best;
        }
        printf("  q4 g32 matvec %llu x %llu (%.0f MB), %d thread%s: %.2f GB/s of weights, %.2f ms\n",
               (unsigned long long)rows, (unsigned long long)K, bytes / 1e6, nt, nt > 1 ? "s" : "",
               bytes / best / 1e9, best * 1e3);
        llq_pool_free(pool);
    }
    free(d), free(x), free(y);
}

static void rtn(void)
{
    uint64_t rows = 4096, K = 4096;
    float *x = malloc(rows * K * 4);
    uint8_t *q = malloc(rows * K * 2);
    if (!x || !q)
        return;
    for (uint64_t i = 0; i < rows * K; i++) { /* roughly normal with some outliers */
        float s = 0;
        for (int j = 0; j < 4; j++)
            s += (float)(u32() >> 8) / 16777216.0f - 0.5f;
        x[i] = s * (u32() % 50 == 0 ? 6.0f : 1.0f) * 0.02f;
    }
    memset(q, 0, rows * K * 2);
    struct { uint32_t type, group; } cfg[] = {{LLQ_Q8, 32}, {LLQ_Q4, 32}, {LLQ_Q4, 128}, {LLQ_Q4A, 32}, {LLQ_Q4A, 128}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (int nt = 1; nt <= 2; nt++) {
            double best = 1e30, best_cpu = 1e30;
            for (int t = 0; t < 3; t++) {
                double t0 = now(), c0 = proc_cpu();
                if (llq_quantize_tensor(q, x, rows, K, cfg[c].type, cfg[c].group, NULL, nt))
                    return;
                double dt = now() - t0, dc = proc_cpu() - c0;
                best = dt < best ? dt : best;
                best_cpu = dc < best_cpu ? dc : best_cpu;
            }
            double mb = (double)(rows * K * 4) / 1e6;
            printf("  rtn %-4s g%-4u %d thread%s: %6.0f MB/s of f32 wall; %6.0f MB per CPU-second (%llu x %llu)\n",
                   llq_type_name(cfg[c].type), cfg[c].group, nt, nt > 1 ? "s" : " ", mb / best, mb / best_cpu,
                   (unsigned long long)rows, (unsigned long long)K);
        }
    free(x), free(q);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : ""; /* "cache", "stream" or "rtn": one part only */
    if (!llq_cpu_has_avx2()) {
        printf("quant bench: no AVX2 on this CPU, fast kernels not available\n");
        return 0;
    }
    if (!*only || !strcmp(only, "cache")) {
        printf("int8-activation matvec, matrix in cache:\n");
        in_cache("q4 g32", LLQ_Q4, 32, 1);
        in_cache("q4 g128", LLQ_Q4, 128, 1);
        in_cache("q4a g32", LLQ_Q4A, 32, 1);
        in_cache("q8 g32", LLQ_Q8, 32, 1);
        in_cache("q4 g32", LLQ_Q4, 32, 0);
    }
    if (!*only || !strcmp(only, "stream")) {
        printf("streaming a large matrix (reference: measured read bandwidth 9.9 GB/s one thread, 17.5 two):\n");
        streaming();
    }
    if (!*only || !strcmp(only, "rtn")) {
        printf("RTN quantization (reference: llama-quantize f32 -> Q4_0 ~940 MB/s on 2 threads):\n");
        rtn();
    }
    return 0;
}
