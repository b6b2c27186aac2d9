/* bench/mmq.c — the window matmul's kernels alone, one thread: 256 tokens × a 5632 × 2048 matrix (w1 of the
 * synthetic 378 M shape) and 256 × 2048 × 5632 (w2) in q4 g32, q4_k and q6_k, with f32 activations (the packed
 * f32 GEMM on dequantized panels, LLQ_MM_ACT_F32) and with int8 activations (LLQ_MM_ACT_Q8, kernels/mmq*.c: the
 * AVX-512 VNNI tile where the CPU has it, and the AVX2 tile as on CPUs without).
 * Prints GFLOP/s (2·n·rows·cols) per CPU second of the thread, best of REPS runs after a warm-up, so that a
 * loaded machine changes little; random codes and fixed scales (the speed does not depend on the values).
 * Usage: mmq [REPS (5)] */
#include "../kernels/kern.h"
#include "llq/blocks.h"
#include "llq/format.h"
#include "llq/kernels.h"

#include "bench.h"

#include <stddef.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

/* Random codes; every scale a fixed f16 (1/64), so that no value is NaN or Inf. */
static void *make(llq_mat *W, uint32_t type, uint64_t rows, uint64_t cols)
{
    if (llq_mat_init(W, type, type == LLQ_Q4 ? 32 : 0, rows, cols, NULL))
        return NULL;
    uint8_t *d = malloc(rows * W->row_bytes);
    if (!d)
        return NULL;
    for (uint64_t i = 0; i < rows * W->row_bytes; i++)
        d[i] = (uint8_t)bench_xorshift(&rng);
    uint16_t h = llq_f32_to_f16(1.0f / 64);
    for (uint64_t r = 0; r < rows; r++) {
        uint8_t *row = d + r * W->row_bytes;
        if (type == LLQ_Q4) {
            for (uint64_t g = 0; g < cols / 32; g++)
                memcpy(row + cols / 2 + 2 * g, &h, 2);
        } else {
            for (uint64_t b = 0; b < cols / LLQ_QK_K; b++) {
                if (type == LLQ_Q4_K) {
                    memcpy(row + b * sizeof(llq_blk_q4_k) + offsetof(llq_blk_q4_k, d), &h, 2);
                    memcpy(row + b * sizeof(llq_blk_q4_k) + offsetof(llq_blk_q4_k, dmin), &h, 2);
                } else {
                    memcpy(row + b * sizeof(llq_blk_q6_k) + offsetof(llq_blk_q6_k, d), &h, 2);
                }
            }
        }
    }
    W->data = d;
    return d;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    enum { N = 256 };
    const uint32_t types[3] = {LLQ_Q4, LLQ_Q4_K, LLQ_Q6_K};
    const uint64_t shape[2][2] = {{5632, 2048}, {2048, 5632}};
    llq_pool *pool;
    float *x = malloc((size_t)N * 5632 * sizeof *x), *y = malloc((size_t)N * 5632 * sizeof *y);
    if (!x || !y || llq_pool_new(&pool, 1)) {
        fprintf(stderr, "mmq: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)N * 5632; i++)
        x[i] = (float)((double)(bench_xorshift(&rng) >> 11) / 9007199254740992.0 * 2 - 1);
    printf("window matmul kernels, 1 thread, %d tokens, GFLOP/s per CPU second (best of %d); load %s; %s kernels%s\n",
           N, reps, bench_loadavg(), llq_kernel_impl_name(),
           llq_cpu_has_avx512vnni() ? ", AVX-512 VNNI" : llq_cpu_has_avx512() ? ", AVX-512" : "");
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < 3; t++) {
            llq_mat W;
            void *d = make(&W, types[t], shape[s][0], shape[s][1]);
            if (!d) {
                fprintf(stderr, "mmq: out of memory\n");
                return 1;
            }
            const llq_mat *Wp = &W;
            double best[3] = {0, 0, 0}, fl = 2.0 * N * (double)W.rows * (double)W.cols;
            for (int act = 0; act < 3; act++) {
                int a = act ? LLQ_MM_ACT_Q8 : LLQ_MM_ACT_F32;
                kern_avx512 = act < 2; /* the third run: the AVX2 tiles */
                llq_matmul_act(&y, x, N, &Wp, 1, a, pool); /* warm-up */
                for (int r = 0; r < reps; r++) {
                    double c = bench_thread_cpu();
                    llq_matmul_act(&y, x, N, &Wp, 1, a, pool);
                    double g = fl / (bench_thread_cpu() - c) / 1e9;
                    best[act] = g > best[act] ? g : best[act];
                }
            }
            kern_avx512 = 1;
            printf("%-5s %4llu x %4llu: act f32 %6.1f GFLOP/s, act q8 %6.1f GFLOP/s (%.2fx); AVX2 tile act q8 %6.1f\n",
                   llq_type_name(types[t]), (unsigned long long)W.rows, (unsigned long long)W.cols, best[0], best[1],
                   best[1] / best[0], best[2]);
            free(d);
        }
    llq_pool_free(pool);
    free(x), free(y);
    return 0;
}
