/* bench/quant.c — figures for issue 5 (printed, never asserted; `make bench`):
 *   1. int8-activation matvec (fast path), one thread, matrix in L2: ns and TSC cycles per 32 weights
 *   2. q4 matvec over a 302 MB matrix on 1 and 2 threads: GB/s of weights streamed, beside a plain read of the
 *      same bytes on 1 and 2 threads
 *   3. generation with q4 g32 weights on the synthetic 378 M LLaMA of bench/eval.c (random weights built in
 *      memory): tokens/s and GB/s of weights streamed against the measured 2-thread read bandwidth
 *   4. RTN quantization throughput, MB/s of f32 input, 2 threads (q8/q4/q4a, groups 32/128)
 *   5. every ggml block type, one thread, the fast kernel llq_matmul picks: one token on a 512 x 2048 matrix in
 *      cache (ns per 32 weights), and a window of 256 tokens through the packed-panel GEMM (GFLOP/s per CPU second)
 * Usage: build/bench/quant [cache|stream|gen|rtn|blocks] (one part; default all) */
#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/model.h"
#include "llq/quant.h"
#include "../kernels/qdot.h"
#include "readbw.h"

#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t rng = 88172645463325252ull;
static uint32_t u32(void)
{
    return (uint32_t)(bench_xorshift(&rng) >> 32);
}

/* A random matrix of type/group: random codes, scales unit·(1..8) (f16). */
static uint8_t *rand_mat_s(llq_mat *W, uint32_t type, uint32_t group, uint64_t rows, uint64_t K, float unit)
{
    if (llq_mat_init(W, type, group, rows, K, NULL))
        return NULL;
    uint8_t *d = llq_bigmem_alloc(rows * W->row_bytes); /* as llq-eval's default --load read holds weights */
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
            uint16_t h = llq_f32_to_f16(unit * (float)(1 + u32() % 8));
            memcpy(row + qb + 2 * g, &h, 2);
            if (type == LLQ_Q4A)
                row[qb + 2 * G + g] = (uint8_t)(u32() % 16);
        }
    }
    W->data = d;
    return d;
}

static void free_mat(const llq_mat *W, uint8_t *d)
{
    llq_bigmem_free(d, W->rows * W->row_bytes);
}

static uint8_t *rand_mat(llq_mat *W, uint32_t type, uint32_t group, uint64_t rows, uint64_t K)
{
    return rand_mat_s(W, type, group, rows, K, 0.01f);
}

static void loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = 0;
    if (f && fscanf(f, "%lf", &l) == 1)
        printf("load average %.2f%s\n", l, l > 1.5 ? " (busy machine: wall-clock figures are low)" : "");
    if (f)
        fclose(f);
}

static double in_cache(const char *what, uint32_t type, uint32_t group, int fast)
{
    uint64_t rows = 512, K = 1024;
    llq_mat W;
    uint8_t *d = rand_mat(&W, type, group, rows, K);
    float *x = malloc(K * 4), *y = malloc(rows * 4);
    for (uint64_t k = 0; k < K; k++)
        x[k] = (float)(u32() % 2000) / 1000.0f - 1.0f;
    double best = 1e30, bestc = 1e30;
    for (double w0 = bench_thread_cpu(); bench_thread_cpu() - w0 < 0.05;) /* warm-up: caches, TLB, clock ramp (50 ms) */
        llq_mv_q_avx2(y, x, &W, 0, rows);
    int reps = fast ? 10 : 2; /* short timed runs (~0.3 ms), best of 200: the least disturbed on a shared machine */
    for (int t = 0; t < 200; t++) {
        double t0 = bench_thread_cpu();
        uint64_t c0 = __rdtsc();
        for (int i = 0; i < reps; i++) {
            if (fast)
                llq_mv_q_avx2(y, x, &W, 0, rows);
            else
                llq_mv_q_ref(y, x, &W, 0, rows);
        }
        uint64_t c1 = __rdtsc();
        double t1 = bench_thread_cpu();
        if (t1 - t0 < best)
            best = t1 - t0;
        if ((double)(c1 - c0) < bestc)
            bestc = (double)(c1 - c0);
    }
    double blocks = (double)rows * (double)K / 32.0 * reps;
    printf("  %-10s %-4s %6.2f ns (thread CPU time) = %5.2f cycles at 2.5 GHz / 32 weights; %6.2f TSC cycles wall  (%u x %u, %.0f KB)\n",
           what, fast ? "fast" : "ref", best * 1e9 / blocks, best * 2.5e9 / blocks, bestc / blocks, (unsigned)rows, (unsigned)K,
           (double)(rows * W.row_bytes) / 1024.0);
    free_mat(&W, d), free(x), free(y);
    return best * 1e9 / blocks;
}

/* One token on a ggml block type, one thread, 512 x 2048 in cache (RTN-quantized random weights): the kernel
 * llq_matmul selects for the type (fast), best of 200 runs of 5 calls, ns of thread CPU time per 32 weights. */
static void block_in_cache(uint32_t type)
{
    uint64_t rows = 512, K = 2048;
    llq_mat W;
    uint8_t *d = NULL;
    float *x = malloc(K * 4), *y = malloc(rows * 4), *w = malloc(K * 4);
    llq_mm_kernel k = llq_mm_select(type, LLQ_KERNEL_FAST);
    if (!x || !y || !w || !k || llq_mat_init(&W, type, 0, rows, K, NULL) || !(d = malloc(rows * W.row_bytes)))
        goto done;
    for (uint64_t r = 0; r < rows; r++) {
        for (uint64_t i = 0; i < K; i++)
            w[i] = (float)((int)(u32() % 2001) - 1000) * 1e-5f;
        if (llq_quantize_row(d + r * W.row_bytes, w, K, type, 0, NULL))
            goto done;
    }
    W.data = d;
    for (uint64_t i = 0; i < K; i++)
        x[i] = (float)(u32() % 2000) / 1000.0f - 1.0f;
    if (!llq_mm_scratch(llq_mm_scratch_need(&W)) || !llq_mm_xbuf(LLQ_MM_XBUF_FLOATS))
        goto done;
    for (double w0 = bench_thread_cpu(); bench_thread_cpu() - w0 < 0.05;)
        k(y, x, 1, &W, 0, rows);
    double best = 1e30;
    for (int t = 0; t < 200; t++) {
        double t0 = bench_thread_cpu();
        for (int i = 0; i < 5; i++)
            k(y, x, 1, &W, 0, rows);
        double dt = bench_thread_cpu() - t0;
        best = dt < best ? dt : best;
    }
    double blocks = (double)rows * (double)K / 32.0 * 5;
    printf("  %-7s one token %6.2f ns / 32 weights (%5.1f GB/s of weights)", llq_type_name(type), best * 1e9 / blocks,
           (double)(rows * W.row_bytes) * 5 / best / 1e9);
    enum { N = 256 };
    float *xn = malloc((size_t)N * K * 4), *yn = malloc((size_t)N * rows * 4);
    if (xn && yn) {
        for (uint64_t i = 0; i < N * K; i++)
            xn[i] = (float)(u32() % 2000) / 1000.0f - 1.0f;
        double bw = 1e30;
        for (int t = 0; t < 4; t++) { /* the first a warm-up */
            double t0 = bench_thread_cpu();
            k(yn, xn, N, &W, 0, rows);
            double dt = bench_thread_cpu() - t0;
            bw = t && dt < bw ? dt : bw;
        }
        printf(", window of %d %6.1f GFLOP/s", N, 2.0 * N * (double)rows * (double)K / bw / 1e9);
    }
    printf("\n");
    free(xn), free(yn);
done:
    free(d), free(x), free(y), free(w);
}

/* Seconds for nt threads to read p[n] once (each a contiguous 1/nt share), best of 3. */
static double read_time(const uint8_t *p, uint64_t n, int nt)
{
    llq_mat whole = {.type = LLQ_Q8, .rows = 1, .cols = n, .row_bytes = n, .data = p};
    const llq_mat *one = &whole;
    double best = 1e30;
    for (int t = 0; t < 3; t++) {
        double dt = rb_read_mats(&one, 1, nt);
        best = dt < best ? dt : best;
    }
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
    double rbw[3];
    for (int nt = 1; nt <= 2; nt++) {
        rbw[nt] = bytes / read_time(d, rows * W.row_bytes, nt) / 1e9;
        printf("  plain read of the matrix, %d thread%s: %.2f GB/s\n", nt, nt > 1 ? "s" : "", rbw[nt]);
    }
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    for (int nt = 1; nt <= 2; nt++) {
        llq_pool *pool = NULL;
        if (llq_pool_new(&pool, nt))
            continue;
        double best = 1e30;
        for (int t = 0; t < 5; t++) {
            double t0 = bench_now();
            llq_matmul(y, x, 1, &W, pool);
            double dt = bench_now() - t0;
            best = dt < best ? dt : best;
        }
        printf("  q4 g32 matvec %llu x %llu (%.0f MB), %d thread%s: %.2f GB/s of weights = %.0f %% of the %.2f GB/s "
               "read, %.2f ms\n", (unsigned long long)rows, (unsigned long long)K, bytes / 1e6, nt, nt > 1 ? "s" : "",
               bytes / best / 1e9, 100 * bytes / best / 1e9 / rbw[nt], rbw[nt], best * 1e3);
        llq_pool_free(pool);
    }
    free_mat(&W, d), free(x), free(y);
}

/* Generation with q4 g32 weights on the synthetic 378 M shape of bench/eval.c (dim 2048, 8 layers, 16/4 heads,
 * ffn 5632, vocab 4096): random codes, scales giving each weight variance ≈ 1/cols. One token at a time after
 * an 8-token prompt, so every matrix runs the int8-activation matvec. */
static void generate(int nt)
{
    llq_hparams hp = {.arch = "llama", .dim = 2048, .n_layers = 8, .n_heads = 16, .n_kv_heads = 4, .ffn_dim = 5632,
                      .vocab_size = 4096, .context_length = 2048, .norm_eps = 1e-5f, .rope_theta = 10000.0f};
    uint64_t dim = hp.dim, kvd = dim / hp.n_heads * hp.n_kv_heads, ffn = hp.ffn_dim, V = hp.vocab_size;
    uint64_t shp[7][2] = {{dim, dim}, {kvd, dim}, {kvd, dim}, {dim, dim}, {ffn, dim}, {dim, ffn}, {ffn, dim}};
    llq_model *m = NULL;
    llq_kv *kv = NULL;
    uint8_t *blobs[2 + 8 * 7] = {0};
    const llq_mat *owner[2 + 8 * 7]; /* the matrix of each blob */
    const llq_mat *all[1 + 8 * 7]; /* the matrices streamed per token */
    int nblob = 0, nall = 0;
    float *ones = malloc(dim * 4), *logits = malloc(V * 4);
    if (!ones || !logits || llq_model_new(&m, &hp, nt)) {
        printf("  (could not build the model: %s)\n", llq_errmsg());
        goto done;
    }
    for (uint64_t i = 0; i < dim; i++)
        ones[i] = 1.0f;
    double params = 0, streamed = 0; /* bytes of weights read per token: all but the embedding table */
    for (int l = 0; l < 8; l++) {
        llq_layer_w *w = &m->layers[l];
        llq_mat *mats[7] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w1, &w->w2, &w->w3};
        for (int i = 0; i < 7; i++) {
            owner[nblob] = mats[i];
            if (!(blobs[nblob++] = rand_mat_s(mats[i], LLQ_Q4, 32, shp[i][0], shp[i][1], 0.043f / sqrtf((float)shp[i][1])))) {
                printf("  (no memory for the q4 model)\n");
                goto done;
            }
            params += (double)(shp[i][0] * shp[i][1]);
            streamed += (double)(shp[i][0] * mats[i]->row_bytes);
            all[nall++] = mats[i];
        }
        w->attention_norm = w->ffn_norm = ones;
    }
    owner[nblob] = &m->tok_embeddings, owner[nblob + 1] = &m->output;
    if (!(blobs[nblob++] = rand_mat_s(&m->tok_embeddings, LLQ_Q4, 32, V, dim, 0.01f)) ||
        !(blobs[nblob++] = rand_mat_s(&m->output, LLQ_Q4, 32, V, dim, 0.043f / sqrtf((float)dim)))) {
        printf("  (no memory for the q4 model)\n");
        goto done;
    }
    params += 2.0 * (double)(V * dim);
    streamed += (double)(V * m->output.row_bytes);
    all[nall++] = &m->output;
    m->norm = ones;
    llq_kernel_set_impl(LLQ_KERNEL_FAST);
    uint32_t tok[40];
    for (int i = 0; i < 40; i++)
        tok[i] = u32() % (uint32_t)V;
    if (llq_kv_new(&kv, m, 64) || llq_model_step(m, kv, tok, 8, logits)) {
        printf("  (generation failed: %s)\n", llq_errmsg());
        goto done;
    }
    char label[64];
    snprintf(label, sizeof label, "q4 g32 (%.1f M parameters, %d threads)", params / 1e6, nt);
    if (!rb_generate(m, kv, tok + 8, logits, all, nall, streamed, nt, label))
        printf("  (generation failed: %s)\n", llq_errmsg());
done:
    llq_kv_free(kv);
    llq_model_free(m);
    for (int i = 0; i < nblob; i++)
        free_mat(owner[i], blobs[i]);
    free(ones), free(logits);
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
            llq_pool *pool = NULL;
            if (llq_pool_new(&pool, nt))
                return;
            for (int t = 0; t < 3; t++) {
                double t0 = bench_now(), c0 = bench_cpu();
                if (llq_quantize_tensor(q, x, rows, K, cfg[c].type, cfg[c].group, NULL, pool)) {
                    llq_pool_free(pool);
                    return;
                }
                double dt = bench_now() - t0, dc = bench_cpu() - c0;
                best = dt < best ? dt : best;
                best_cpu = dc < best_cpu ? dc : best_cpu;
            }
            llq_pool_free(pool);
            double mb = (double)(rows * K * 4) / 1e6;
            printf("  rtn %-4s g%-4u %d thread%s: %6.0f MB/s of f32 wall; %6.0f MB per CPU-second (%llu x %llu)\n",
                   llq_type_name(cfg[c].type), cfg[c].group, nt, nt > 1 ? "s" : " ", mb / best, mb / best_cpu,
                   (unsigned long long)rows, (unsigned long long)K);
        }
    free(x), free(q);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : ""; /* "cache", "stream", "gen", "rtn" or "blocks": one part only */
    loadavg();
    if (!llq_cpu_has_avx2()) {
        printf("quant bench: no AVX2 on this CPU, fast kernels not available\n");
        return 0;
    }
    if (!*only || !strcmp(only, "cache")) {
        printf("int8-activation matvec, matrix in cache:\n");
        double f = in_cache("q4 g32", LLQ_Q4, 32, 1);
        in_cache("q4 g128", LLQ_Q4, 128, 1);
        in_cache("q4a g32", LLQ_Q4A, 32, 1);
        in_cache("q8 g32", LLQ_Q8, 32, 1);
        double r = in_cache("q4 g32", LLQ_Q4, 32, 0);
        printf("  q4 g32: fast path %.1f x the scalar reference\n", r / f);
    }
    if (!*only || !strcmp(only, "blocks")) {
        printf("one token on ggml block types (fast kernel), one thread, 512 x 2048 in cache:\n");
        static const uint32_t bt[] = {LLQ_Q4_K, LLQ_Q5_K, LLQ_Q6_K, LLQ_Q3_K, LLQ_Q2_K, LLQ_IQ4_XS, LLQ_IQ4_NL,
                                      LLQ_Q4_0, LLQ_Q4_1, LLQ_Q5_0, LLQ_Q5_1, LLQ_Q8_0};
        for (size_t i = 0; i < sizeof bt / sizeof bt[0]; i++)
            block_in_cache(bt[i]);
    }
    if (!*only || !strcmp(only, "stream")) {
        printf("streaming a large matrix (reference: measured read bandwidth 9.9 GB/s one thread, 17.5 two):\n");
        streaming();
    }
    if (!*only || !strcmp(only, "gen")) {
        printf("generation with q4 weights on the synthetic 378 M shape (target >= 90 %% of read bandwidth, ~77 tokens/s; "
               "llama.cpp Q4_0: 54.8 tokens/s):\n");
        generate(2);
    }
    if (!*only || !strcmp(only, "rtn")) {
        printf("RTN quantization (reference: llama-quantize f32 -> Q4_0 ~940 MB/s on 2 threads):\n");
        rtn();
    }
    return 0;
}
