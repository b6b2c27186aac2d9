/* bench/calib_scale.c — calibration time against its FLOP bound on a Llama-3.2-1B-shaped model (issue 14 item 5):
 * dim 2048, 16 layers, 32 heads / 8 kv heads, ffn 8192, vocab 128256, tied embeddings (as Llama-3.2-1B: the head
 * is the embedding, never calibrated), random f32 weights written to a temp file (with the demo's tokenizer: the
 * calibration text only needs some tokenizer), GPTQ (or AWQ+GPTQ) q4 g128 on every layer matrix, 128 windows ×
 * 256 tokens of models/pydoc-7m/calib.txt. Prints the wall time, the FLOPs of the arithmetic (statistics and
 * quantized forward passes, XᵀX, GPTQ's updates and factorizations, AWQ's α search), the bound those FLOPs take at
 * the f32 GEMM speed llq reaches here (llq_matmul on calibration's shapes, same threads, measured before the run
 * and again at every layer boundary: the machine is shared, so the rate is sampled while the run goes on), their
 * ratio per layer and in all, the share of time per phase, the peak RSS against --dry-run's formula. Figures only.
 * Usage: build/bench/calib_scale [threads (2)] [layers (2)] [samples (128)] [vocab (128256)] [gptq|awq+gptq]
 * Without arguments (`make bench`) 2 of the 16 layers: the work and the ratio are per layer, and the line
 * "16 layers" extrapolates the time; `make bench-calib-full` runs all 16 (`calib_scale 2 16`). Untied (an output
 * head to calibrate): LLQ_BENCH_UNTIED=1. */
#include "llq/calib.h"
#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/kernels.h"
#include "llq/tokenizer.h"

#include "bench.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO "models/pydoc-7m"

#define now bench_now
#define cpu_s bench_cpu

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float urand(void) /* uniform in [-1, 1) */
{
    return (float)(bench_xorshift(&rng) >> 40) / 8388608.0f - 1.0f;
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
    if (!err && !hp->tied) err = add_random(w, "output.weight", hp->vocab_size, dim, sd, buf);
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
    if (!strncmp(name, "layers.", 7) && strstr(name, "_norm") == NULL && strstr(name, ".bias") == NULL)
        *type = LLQ_Q4, *group = 128;
    else if (!strcmp(name, "output.weight"))
        *type = LLQ_Q8, *group = 32;
    return 0;
}

/* The GEMM probe: llq_matmul with 256 tokens through w1 [ffn × dim] and w2 [dim × ffn] (calibration's shapes), on
 * its own pool of the run's thread count. */
typedef struct probe {
    llq_pool *pool;
    float *w, *x, *y;
    llq_mat W1, W2;
    size_t n, dim, ffn;
} probe;

static int probe_init(probe *p, const llq_hparams *hp, int threads)
{
    memset(p, 0, sizeof *p);
    p->n = 256, p->dim = hp->dim, p->ffn = hp->ffn_dim;
    p->w = malloc(p->ffn * p->dim * 4), p->x = malloc(p->n * p->ffn * 4), p->y = malloc(p->n * p->ffn * 4);
    if (!p->w || !p->x || !p->y || llq_pool_new(&p->pool, threads))
        return -1;
    for (size_t i = 0; i < p->ffn * p->dim; i++)
        p->w[i] = 0.02f * urand();
    for (size_t i = 0; i < p->n * p->ffn; i++)
        p->x[i] = urand();
    llq_mat_init(&p->W1, LLQ_F32, 0, p->ffn, p->dim, p->w);
    llq_mat_init(&p->W2, LLQ_F32, 0, p->dim, p->ffn, p->w);
    return 0;
}

static void probe_free(probe *p)
{
    llq_pool_free(p->pool);
    free(p->w), free(p->x), free(p->y);
}

/* GFLOP/s wall, best of reps (after one warm-up), and per CPU second of each thread (*per_cpu). */
static double probe_run(probe *p, int reps, int threads, double *per_cpu)
{
    double best = 0;
    *per_cpu = 0;
    for (int rep = 0; rep <= reps; rep++) {
        double t0 = now(), c0 = cpu_s();
        if (llq_matmul(p->y, p->x, p->n, &p->W1, p->pool) || llq_matmul(p->y, p->x, p->n, &p->W2, p->pool))
            return 0;
        double fl = 2.0 * 2 * (double)p->n * (double)p->dim * (double)p->ffn / 1e9, gf = fl / (now() - t0);
        double gc = fl / ((cpu_s() - c0) / threads);
        if (rep && gf > best)
            best = gf;
        if (rep && gc > *per_cpu)
            *per_cpu = gc;
    }
    return best;
}

/* FLOPs of one layer (derivation in docs/QUANTIZATION.md "Calibration at scale"): two forward passes (the
 * statistics pass stops before w2) with attention's causal half, XᵀX over the upper triangle (T·cols² per
 * input), GPTQ's updates (rows·cols²) and H's factorizations (2·cols³/3, f64 counted as f32 FLOPs), and with AWQ
 * its α search (21 candidates × 2·rows_s·cols² over ≤ 1024 sampled rows per matrix; wo only without GQA). */
typedef struct flops { double fwd, xtx, gptq, fact, awq; } flops;

static flops layer_flops(const llq_hparams *hp, double T, double ctx, int awq)
{
    double d = hp->dim, f = hp->ffn_dim, kv = d / hp->n_heads * hp->n_kv_heads, S = 1024;
    double p_attn = 2 * d * d + 2 * kv * d, p_ffn = 3 * d * f, attn = 2.0 * ctx * d * T;
    flops F;
    F.fwd = 2 * T * (2 * p_attn + p_ffn + 2 * d * f) + 2 * attn;
    F.xtx = T * (3 * d * d + f * f);
    F.gptq = (d + 2 * kv) * d * d + d * d * d + 2 * f * d * d + d * f * f;
    F.fact = 2.0 / 3 * (3 * d * d * d + f * f * f);
    double sq = (S < d ? S : d) + 2 * (S < kv ? S : kv), so = hp->n_kv_heads == hp->n_heads ? (S < d ? S : d) : 0;
    F.awq = awq ? 21 * 2 * ((sq + so + 2 * S) * d * d + S * f * f) : 0;
    return F;
}

static double fsum(const flops *F) { return F->fwd + F->xtx + F->gptq + F->fact + F->awq; }

/* Per layer: wall and CPU time, the GEMM rate sampled at its end, its ratio to the bound. */
typedef struct track {
    probe *p;
    int threads;
    double layer_flops, t_last, c_last, probe_sec, probe_cpu, gf_sum, gfc_sum;
    int n_gf;
    uint64_t last;
} track;

static void on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    track *k = ud;
    if (strcmp(stage, "layer"))
        return;
    double t = now(), c = cpu_s();
    if (done > k->last && done < total) {
        double wall = t - k->t_last, cpu = (c - k->c_last) / k->threads, gfc, gf = probe_run(k->p, 2, k->threads, &gfc);
        k->gf_sum += gf, k->gfc_sum += gfc, k->n_gf++;
        printf("  layer %2llu/%llu: %6.1f s wall (%.2f x bound at %.1f GFLOP/s measured now), %6.1f s CPU per thread "
               "(%.2f x bound at %.1f per CPU s); load %s\n", (unsigned long long)done, (unsigned long long)(total - 1),
               wall, gf > 0 ? wall / (k->layer_flops / (gf * 1e9)) : 0, gf, cpu,
               gfc > 0 ? cpu / (k->layer_flops / (gfc * 1e9)) : 0, gfc, bench_loadavg());
        fflush(stdout);
    }
    k->last = done;
    double t2 = now(), c2 = cpu_s();
    k->probe_sec += t2 - t, k->probe_cpu += c2 - c;
    k->t_last = t2, k->c_last = c2;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    llq_hparams hp = {.arch = "llama", .dim = 2048, .n_layers = 16, .n_heads = 32, .n_kv_heads = 8, .ffn_dim = 8192,
                      .vocab_size = 128256, .context_length = 131072, .norm_eps = 1e-5f, .rope_theta = 500000.0f};
    const char *untied = getenv("LLQ_BENCH_UNTIED");
    hp.tied = !(untied && *untied && strcmp(untied, "0"));
    hp.n_layers = argc > 2 ? (uint32_t)atoi(argv[2]) : 2; /* the shape has 16 */
    uint32_t samples = argc > 3 ? (uint32_t)atoi(argv[3]) : 128, ctx = 256;
    if (argc > 4) hp.vocab_size = (uint32_t)atoi(argv[4]);
    int awq = argc > 5 && !strcmp(argv[5], "awq+gptq");
    if (threads < 1 || hp.n_layers < 1 || samples < 1 || hp.vocab_size < 256) {
        fprintf(stderr, "usage: calib_scale [threads] [layers] [samples] [vocab] [gptq|awq+gptq]\n");
        return 2;
    }
    if (access(DEMO "/tokenizer.model", R_OK) || access(DEMO "/calib.txt", R_OK)) {
        printf("calib_scale: %s not found (run from the repository root); skipped\n", DEMO);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/llq_calib_scale_%d.llq", (int)getpid());
    printf("load average at start: %s\n", bench_loadavg());
    double t0 = now();
    if (write_model(path, &hp)) {
        fprintf(stderr, "calib_scale: %s\n", llq_errmsg());
        unlink(path);
        return 1;
    }
    printf("model: dim %u, %u layers, %u/%u heads, ffn %u, vocab %u, %s, f32, written in %.1f s (%s)\n", hp.dim,
           hp.n_layers, hp.n_heads, hp.n_kv_heads, hp.ffn_dim, hp.vocab_size, hp.tied ? "tied" : "untied",
           now() - t0, path);
    probe pr;
    if (probe_init(&pr, &hp, threads)) {
        fprintf(stderr, "calib_scale: out of memory\n");
        probe_free(&pr);
        unlink(path);
        return 1;
    }
    double gfc0, gf0 = probe_run(&pr, 3, threads, &gfc0);
    printf("f32 GEMM (llq_matmul, 256 tokens, %ux%u and %ux%u), %d threads, before the run: %.1f GFLOP/s wall, "
           "%.1f GFLOP/s per CPU second of each thread\n", hp.ffn_dim, hp.dim, hp.dim, hp.ffn_dim, threads, gf0, gfc0);

    double T = (double)samples * ctx, d = hp.dim, V = hp.vocab_size;
    flops F = layer_flops(&hp, T, ctx, awq), tot = F;
    double L = hp.n_layers;
    tot.fwd *= L, tot.xtx *= L, tot.gptq *= L, tot.fact *= L, tot.awq *= L;
    if (!hp.tied) /* the head: XᵀX of its input, GPTQ, factorization (and with AWQ its α search) */
        tot.xtx += T * d * d, tot.gptq += V * d * d, tot.fact += 2.0 / 3 * d * d * d,
        tot.awq += awq ? 21 * 2 * 1024 * d * d : 0;
    double total = fsum(&tot);

    llq_calib_opts o = {.methods = LLQ_CALIB_GPTQ | (awq ? LLQ_CALIB_AWQ : 0), .text_path = DEMO "/calib.txt",
                        .n_samples = samples, .ctx = ctx, .policy = policy, .n_threads = threads};
    track k = {.p = &pr, .threads = threads, .layer_flops = fsum(&F), .gf_sum = gf0, .gfc_sum = gfc0, .n_gf = 1};
    o.progress = on_progress, o.progress_ud = &k;
    llq_calib_mem mem = {0};
    struct stat st;
    if (stat(path, &st) == 0)
        llq_calib_mem_estimate(&mem, &hp, (uint64_t)st.st_size, &o);
    llq_calib_result *r = NULL;
    double c0 = cpu_s();
    t0 = k.t_last = now(), k.c_last = c0;
    int err = llq_calib_run(&r, path, &o);
    double secs = now() - t0 - k.probe_sec, cpus = cpu_s() - c0 - k.probe_cpu;
    unlink(path);
    if (err) {
        fprintf(stderr, "calib_scale: %s\n", llq_errmsg());
        probe_free(&pr);
        return 1;
    }
    double gfc1, gf1 = probe_run(&pr, 3, threads, &gfc1);
    k.gf_sum += gf1, k.gfc_sum += gfc1, k.n_gf++;
    probe_free(&pr);
    double gf = k.gf_sum / k.n_gf, gfc = k.gfc_sum / k.n_gf, cal = r->seconds - k.probe_sec;
    double bound = total / (gf * 1e9), bound_c = total / (gfc * 1e9);
    printf("%s q4 g128, %u × %u tokens, %d threads, %u layers: %.1f s (calibration itself %.1f s, GEMM probes "
           "between layers excluded)\n", awq ? "AWQ+GPTQ" : "GPTQ", samples, ctx, threads, hp.n_layers, secs, cal);
    printf("FLOPs: %.2f T = forward %.2f T + XtX %.2f T + GPTQ updates %.2f T + factorizations %.2f T (f64)"
           " + AWQ search %.2f T\n", total / 1e12, tot.fwd / 1e12, tot.xtx / 1e12, tot.gptq / 1e12, tot.fact / 1e12,
           tot.awq / 1e12);
    printf("GEMM rate: mean of %d samples (before, between layers, after) %.1f GFLOP/s wall (before %.1f, after "
           "%.1f), %.1f per CPU second\n", k.n_gf, gf, gf0, gf1, gfc);
    printf("bound at %.1f GFLOP/s: %.1f s; time / bound = %.2f (target <= 1.5)\n", gf, bound, cal / bound);
    printf("CPU time %.1f s per thread; bound at %.1f GFLOP/s per CPU second: %.1f s; CPU time per thread / "
           "bound = %.2f (on a shared machine wall figures include other processes' time, CPU figures do not)\n",
           cpus / threads, gfc, bound_c, cpus / threads / bound_c);
    if (hp.n_layers < 16)
        printf("16 layers (extrapolated from %u, per layer alike): %.0f s wall at this load\n", hp.n_layers,
               cal / L * 16);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.3f GB (whole bench: model writing and GEMM probes included); --dry-run formula %.3f GB "
           "(of which model file %.3f GB)\n", (double)ru.ru_maxrss * 1024 / 1e9, (double)mem.total / 1e9,
           (double)mem.model_file / 1e9);
    double other = r->seconds - k.probe_sec - r->sec_forward - r->sec_xtx - r->sec_quant - r->sec_awq;
    printf("phases: forward %.1f s (%.0f%%, %.1f GFLOP/s), XtX %.1f s (%.0f%%, %.1f GFLOP/s), GPTQ %.1f s (%.0f%%, "
           "%.1f GFLOP/s incl. factorizations)", r->sec_forward, 100 * r->sec_forward / cal,
           tot.fwd / r->sec_forward / 1e9, r->sec_xtx, 100 * r->sec_xtx / cal, tot.xtx / r->sec_xtx / 1e9,
           r->sec_quant, 100 * r->sec_quant / cal, (tot.gptq + tot.fact) / r->sec_quant / 1e9);
    if (awq)
        printf(", AWQ %.1f s (%.0f%%, %.1f GFLOP/s)", r->sec_awq, 100 * r->sec_awq / cal, tot.awq / r->sec_awq / 1e9);
    printf(", other %.1f s (%.0f%%: weight copies, norms)\nload average at end: %s\n", other, 100 * other / cal,
           bench_loadavg());
    llq_calib_free(r);
    return 0;
}
