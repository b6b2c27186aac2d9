/* readbw.h — the plain-read reference of the benchmarks (bench/quant.c, bench/eval.c), included by each.
 *
 * "Read bandwidth" is measured the way the kernels read weights: 16-byte loads with a software prefetch 4 KB
 * ahead, the fastest plain read found on this machine (prefetch 0 / 1 / 2 / 4 / 8 KB ahead, same minute: 4 KB
 * about 5 % above 1 KB; a scalar loop without prefetch reads up to ~25 % slower, and a share of that would
 * flatter the kernels). Generation is compared with it in the same rounds, because the host's bandwidth drifts
 * from minute to minute. */
#ifndef LLQ_BENCH_READBW_H
#define LLQ_BENCH_READBW_H

#include "bench.h"
#include "llq/kernels.h"
#include "llq/model.h"

#include <emmintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <xmmintrin.h>

/* Sum of the 64-byte lines of p[n] (the value only keeps the loads alive). */
static uint64_t rb_span(const uint8_t *p, uint64_t n)
{
    __m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
    for (uint64_t i = 0; i + 64 <= n; i += 64) {
        const __m128i *v = (const __m128i *)(const void *)(p + i);
        _mm_prefetch((const char *)(p + i) + 4096, _MM_HINT_T0);
        s0 = _mm_add_epi64(s0, _mm_loadu_si128(v));
        s1 = _mm_add_epi64(s1, _mm_loadu_si128(v + 1));
        s2 = _mm_add_epi64(s2, _mm_loadu_si128(v + 2));
        s3 = _mm_add_epi64(s3, _mm_loadu_si128(v + 3));
    }
    __m128i s = _mm_add_epi64(_mm_add_epi64(s0, s1), _mm_add_epi64(s2, s3));
    return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}

/* Thread i of nt reads its 1/nt share of the rows' bytes of each matrix in turn. */
struct rb_job {
    const llq_mat *const *m;
    int n, i, nt;
    uint64_t sum;
};

static void *rb_run(void *ud)
{
    struct rb_job *r = ud;
    for (int j = 0; j < r->n; j++) {
        uint64_t bytes = r->m[j]->rows * r->m[j]->row_bytes, part = bytes / (uint64_t)r->nt / 64 * 64;
        r->sum += rb_span((const uint8_t *)r->m[j]->data + part * (uint64_t)r->i, part);
    }
    return NULL;
}

/* Seconds for nt (<= 8) threads, started together, to read all of m[0..n-1] once. */
static double rb_read_mats(const llq_mat *const *m, int n, int nt)
{
    struct rb_job job[8];
    pthread_t th[8];
    double t0 = bench_now();
    for (int i = 0; i < nt; i++) {
        job[i] = (struct rb_job){m, n, i, nt, 0};
        pthread_create(&th[i], NULL, rb_run, &job[i]);
    }
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    return bench_now() - t0;
}

/* Generation against the plain read of the same weights (mats, `bytes` in all: what one token streams):
 * ROUNDS rounds of {read all the weights once, generate PER tokens} on kv (after its prompt), tokens from
 * tok[0..31]. Prints tokens/s, GB/s, the read GB/s of the same rounds and the share (total, and the median
 * and range over rounds). Returns tokens/s, 0 if generation failed. */
static double rb_generate(const llq_model *m, llq_kv *kv, const uint32_t *tok, float *logits,
                          const llq_mat *const *mats, int nmats, double bytes, int nt, const char *label)
{
    enum { ROUNDS = 8, PER = 4 };
    double gen_t = 0, read_t = 0, gen_c = 0, ratio[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        double rt = rb_read_mats(mats, nmats, nt), t0 = bench_now(), c0 = bench_cpu();
        for (int i = 0; i < PER; i++)
            if (llq_model_step(m, kv, tok + (k * PER + i) % 32, 1, logits))
                return 0;
        double gt = bench_now() - t0;
        gen_c += bench_cpu() - c0, gen_t += gt, read_t += rt;
        ratio[k] = rt / (gt / PER);
        for (int j = k; j > 0 && ratio[j] < ratio[j - 1]; j--) {
            double tmp = ratio[j];
            ratio[j] = ratio[j - 1], ratio[j - 1] = tmp;
        }
    }
    double tps = ROUNDS * PER / gen_t, rb = ROUNDS * bytes / read_t / 1e9;
    printf("generate %s: %.2f tokens/s wall = %.2f GB/s of weights (%.1f MB per token); %.2f tokens/s on %d idle "
           "cores (CPU time)\n", label, tps, bytes * tps / 1e9, bytes / 1e6, ROUNDS * PER / (gen_c / nt), nt);
    if (nt == 2) /* the read bandwidth issues 4 and 5 quote for two threads */
        printf("  = %.0f %% of the 17.5 GB/s the issues quote for 2 threads\n", 100 * bytes * tps / 17.5e9);
    printf("  plain read of the same weights, %d thread%s, in the same %d rounds: %.2f GB/s; generation used %.0f %% "
           "of it (median of the rounds %.0f %%, range %.0f-%.0f %%)\n", nt, nt > 1 ? "s" : "", ROUNDS, rb,
           100 * bytes * tps / 1e9 / rb, 50 * (ratio[ROUNDS / 2 - 1] + ratio[ROUNDS / 2]), 100 * ratio[0],
           100 * ratio[ROUNDS - 1]);
    return tps;
}

#endif
