/* bench/calib_scale.c — calibration time against its FLOP bound on a Llama-3.2-1B-shaped model (issue 14 item 5):
 * dim 2048, 16 layers, 32 heads / 8 kv heads, ffn 8192, vocab 128256, random f32 weights written to a temp file
 * (with the demo's tokenizer: the calibration text only needs some tokenizer), GPTQ q4 g128 on every layer matrix
 * and q8 g32 on the output head (llq-quantize's default policy), 128 windows × 256 tokens of models/pydoc-7m/
 * calib.txt. Prints the wall time, the FLOPs of the arithmetic (statistics and quantized forward passes, XᵀX,
 * GPTQ's updates and factorizations), the bound those FLOPs take at the f32 GEMM speed llq reaches here (measured
 * first, same threads, calibration's shapes), their ratio, and the share of time per phase. Figures only.
 * Usage: build/bench/calib_scale [threads (2)] [layers (16)] [samples (128)] [vocab (128256)]
 * (fewer layers / samples for a quick look: the ratio is per layer, the time scales with both). */
#include "llq/calib.h"
#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/kernels.h"
#include "llq/tokenizer.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO "models/pydoc-7m"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_s(void) /* CPU seconds of the whole process (all threads) */
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float urand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)(rng >> 40) / 8388608.0f - 1.0f;
}

static int add_random(llq_writer *w, const char *name, uint64_t rows, uint64_t cols, float scale, float *buf)
{
    uint64_t dims[2] = {rows, cols}, per = (16u << 20) / (cols * 4) + 1;
    int err = llq_writer_begin(w, name, LLQ_F32, rows ? 2 : 1, rows ? dims : dims + 1, 0);
    for (uint64_t r0 = 0; !err && r0 < (rows ? rows : 1); r0 += per) {
        uint64_t nr = (rows ? rows : 1) - r0 < per ? (rows ? rows : 1) - r0 : per;
        for (uint64_t i = 0; i < nr * cols; i++)
            buf[i] = scale ? scale * urand() : 1.0f;
        err = llq_writer_write(w, buf, nr * cols * 4);
    }
    return err ? err : llq_writer_end(w);
}

static int write_model(const char *path, const llq_hparams *hp)
{
    llq_writer *w = NULL;
    llq_tokenizer *tok = NULL;
    float *buf = malloc((16u << 20) + 4 * (size_t)hp->ffn_dim);
    size_t dim = hp->dim, kv = dim / hp->n_heads * hp->n_kv_heads, ffn = hp->ffn_dim;
    float sd = 0.03f, sf = 0.03f / 2; /* uniform: sd ≈ 0.017, 0.009 */
    int err = buf ? 0 : llq_err(LLQ_ENOMEM, "out of memory");
    if (!err) err = llq_spm_load(&tok, DEMO "/tokenizer.model");
    if (!err) err = llq_writer_open(&w, path, LLQ_W_FORCE);
    if (!err) err = llq_hparams_write(w, hp);
    if (!err) err = llq_tokenizer_write_meta(tok, w);
    if (!err) err = add_random(w, "tok_embeddings.weight", hp->vocab_size, dim, 1.0f, buf);
    for (uint32_t L = 0; !err && L < hp->n_layers; L++) {
        char nm[96];
        struct { const char *n; size_t rows, cols; float s; } t[9] = {
            {"attention_norm", 0, dim, 0}, {"attention.wq", dim, dim, sd}, {"attention.wk", kv, dim, sd},
            {"attention.wv", kv, dim, sd}, {"attention.wo", dim, dim, sd}, {"ffn_norm", 0, dim, 0},
            {"feed_forward.w1", ffn, dim, sd}, {"feed_forward.w2", dim, ffn, sf}, {"feed_forward.w3", ffn, dim, sd}};
        for (int i = 0; !err && i < 9; i++) {
            snprintf(nm, sizeof nm, "layers.%u.%s.weight", L, t[i].n);
            err = add_random(w, nm, t[i].rows, t[i].cols, t[i].s, buf);
        }
    }
    if (!err) err = add_random(w, "norm.weight", 0, dim, 0, buf);
    if (!err) err = add_random(w, "output.weight", hp->vocab_size, dim, sd, buf);
    if (!err) err = llq_writer_commit(w);
    llq_writer_free(w);
    llq_tokenizer_free(tok);
    free(buf);
    return err;
}

static int policy(void *ud, const char *name, uint32_t *type, uint32_t *group)
{
    (void)ud;
    *type = LLQ_F32, *group = 0;
    if (!strncmp(name, "layers.", 7) && strstr(name, "_norm") == NULL)
        *type = LLQ_Q4, *group = 128;
    else if (!strcmp(name, "output.weight"))
        *type = LLQ_Q8, *group = 32;
    return 0;
}

/* f32 GEMM speed of llq_matmul on calibration's shapes (256 tokens × w1 [ffn × dim] and w2 [dim × ffn]), best of 3:
 * wall, and per CPU second of each thread (*per_cpu: what the threads reach while they run, on a shared machine). */
static double gemm_gflops(const llq_hparams *hp, int threads, double *per_cpu)
{
    *per_cpu = 0;
    size_t n = 256, dim = hp->dim, ffn = hp->ffn_dim;
    float *w = malloc(ffn * dim * 4), *x = malloc(n * ffn * 4), *y = malloc(n * ffn * 4);
    llq_pool *pool = NULL;
    double best = 0;
    if (!w || !x || !y || llq_pool_new(&pool, threads))
        goto done;
    for (size_t i = 0; i < ffn * dim; i++)
        w[i] = 0.02f * urand();
    for (size_t i = 0; i < n * ffn; i++)
        x[i] = urand();
    llq_mat W1, W2;
    llq_mat_init(&W1, LLQ_F32, 0, ffn, dim, w);
    llq_mat_init(&W2, LLQ_F32, 0, dim, ffn, w);
    for (int rep = 0; rep < 4; rep++) {
        double t0 = now(), c0 = cpu_s();
        if (llq_matmul(y, x, n, &W1, pool) || llq_matmul(y, x, n, &W2, pool))
            break;
        double fl = 2.0 * 2 * (double)n * (double)dim * (double)ffn / 1e9, gf = fl / (now() - t0);
        double gc = fl / ((cpu_s() - c0) / threads);
        if (rep && gf > best)
            best = gf;
        if (rep && gc > *per_cpu)
            *per_cpu = gc;
    }
done:
    llq_pool_free(pool);
    free(w), free(x), free(y);
    return best;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    llq_hparams hp = {"llama", 2048, 16, 32, 8, 8192, 128256, 131072, 1e-5f, 500000.0f};
    if (argc > 2) hp.n_layers = (uint32_t)atoi(argv[2]);
    uint32_t samples = argc > 3 ? (uint32_t)atoi(argv[3]) : 128, ctx = 256;
    if (argc > 4) hp.vocab_size = (uint32_t)atoi(argv[4]);
    if (access(DEMO "/tokenizer.model", R_OK) || access(DEMO "/calib.txt", R_OK)) {
        printf("calib_scale: %s not found (run from the repository root); skipped\n", DEMO);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/llq_calib_scale_%d.llq", (int)getpid());
    double t0 = now();
    if (write_model(path, &hp)) {
        fprintf(stderr, "calib_scale: %s\n", llq_errmsg());
        unlink(path);
        return 1;
    }
    printf("model: dim %u, %u layers, %u/%u heads, ffn %u, vocab %u, f32, written in %.1f s (%s)\n", hp.dim,
           hp.n_layers, hp.n_heads, hp.n_kv_heads, hp.ffn_dim, hp.vocab_size, now() - t0, path);
    double gfc, gf = gemm_gflops(&hp, threads, &gfc);
    printf("f32 GEMM (llq_matmul, 256 tokens, %ux%u and %ux%u), %d threads: %.1f GFLOP/s wall, %.1f GFLOP/s per CPU "
           "second of each thread\n", hp.ffn_dim, hp.dim, hp.dim, hp.ffn_dim, threads, gf, gfc);

    /* FLOPs: two forward passes per layer (the statistics pass stops before w2), attention QKᵀ and PV over the causal
     * half, XᵀX over the upper triangle (N·C·cols²), GPTQ's lazy and in-block updates (rows·cols²) and H's
     * factorization (Cholesky + triangular inverse: 2·cols³/3, f64). The head: XᵀX and GPTQ of output.weight. */
    double T = (double)samples * ctx, d = hp.dim, f = hp.ffn_dim, kv = d / hp.n_heads * hp.n_kv_heads, V = hp.vocab_size;
    double p_attn = 2 * d * d + 2 * kv * d, p_ffn = 3 * d * f, attn = 2.0 * (double)ctx * d * T;
    double fwd = hp.n_layers * (2 * T * (2 * p_attn + p_ffn + 2 * d * f) + 2 * attn);
    double xtx = hp.n_layers * T * (3 * d * d + f * f) + T * d * d;
    double gptq = hp.n_layers * ((d + 2 * kv) * d * d + d * d * d + 2 * f * d * d + d * f * f) + V * d * d;
    double fact = hp.n_layers * 2.0 / 3 * (3 * d * d * d + f * f * f) + 2.0 / 3 * d * d * d;
    double total = fwd + xtx + gptq + fact, bound = gf > 0 ? total / (gf * 1e9) : 0;

    llq_calib_opts o = {.methods = LLQ_CALIB_GPTQ, .text_path = DEMO "/calib.txt", .n_samples = samples, .ctx = ctx,
                        .policy = policy, .n_threads = threads};
    llq_calib_mem mem = {0};
    struct stat st;
    if (stat(path, &st) == 0)
        llq_calib_mem_estimate(&mem, &hp, (uint64_t)st.st_size, &o);
    llq_calib_result *r = NULL;
    double c0 = cpu_s();
    t0 = now();
    int err = llq_calib_run(&r, path, &o);
    double secs = now() - t0, cpus = cpu_s() - c0;
    unlink(path);
    if (err) {
        fprintf(stderr, "calib_scale: %s\n", llq_errmsg());
        return 1;
    }
    printf("GPTQ q4 g128 (+ q8 head), %u × %u tokens, %d threads: %.1f s (calibration itself %.1f s)\n", samples, ctx,
           threads, secs, r->seconds);
    printf("FLOPs: %.2f T = forward %.2f T + XtX %.2f T + GPTQ updates %.2f T + factorizations %.2f T (f64)\n",
           total / 1e12, fwd / 1e12, xtx / 1e12, gptq / 1e12, fact / 1e12);
    printf("bound at %.1f GFLOP/s: %.1f s; time / bound = %.2f (target <= 1.5)\n", gf, bound,
           bound > 0 ? r->seconds / bound : 0);
    double bound_c = gfc > 0 ? total / (gfc * 1e9) : 0;
    printf("CPU time %.1f s = %.1f s per thread; bound at %.1f GFLOP/s per CPU second: %.1f s; CPU time per thread / "
           "bound = %.2f (on a shared machine wall figures include other processes' time, CPU figures do not)\n", cpus,
           cpus / threads, gfc, bound_c, bound_c > 0 ? cpus / threads / bound_c : 0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.2f GB (whole bench: model writing and GEMM test included); --dry-run formula %.2f GB\n",
           (double)ru.ru_maxrss * 1024 / 1e9, (double)mem.total / 1e9);
    double other = r->seconds - r->sec_forward - r->sec_xtx - r->sec_quant - r->sec_awq;
    printf("phases: forward %.1f s (%.0f%%, %.1f GFLOP/s), XtX %.1f s (%.0f%%, %.1f GFLOP/s), GPTQ %.1f s (%.0f%%, "
           "%.1f GFLOP/s incl. factorizations), other %.1f s (%.0f%%: weight copies, AWQ folding, norms)\n",
           r->sec_forward, 100 * r->sec_forward / r->seconds, fwd / r->sec_forward / 1e9, r->sec_xtx,
           100 * r->sec_xtx / r->seconds, xtx / r->sec_xtx / 1e9, r->sec_quant, 100 * r->sec_quant / r->seconds,
           (gptq + fact) / r->sec_quant / 1e9, other, 100 * other / r->seconds);
    llq_calib_free(r);
    return 0;
}
