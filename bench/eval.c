/* bench/eval.c — speed of the forward pass on the synthetic 378 M LLaMA of issue 4 (random weights, built in
 * memory): dim 2048, 8 layers, 16 heads / 4 kv heads, ffn 5632, vocab 4096. Prints perplexity tokens/s (ctx 256)
 * in f32, bf16 and q4 g32 (output head q8 g32, as llq-quantize's default policy), generation tokens/s, matmul
 * GFLOP/s, and the GB/s of weights streamed while generating beside the machine's measured read bandwidth.
 * Figures only; nothing is asserted.
 * Usage: build/bench/eval [threads (default 2)] [windows (default 2)] */
#include "llq/eval.h"
#include "llq/model.h"
#include "llq/quant.h"
#include "readbw.h"

#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = 0;
    if (f && fscanf(f, "%lf", &l) == 1)
        printf("load average %.2f on %ld CPUs%s\n", l, sysconf(_SC_NPROCESSORS_ONLN),
               l > 1.5 ? " (busy machine: wall-clock figures are low; 'idle-core' figures use CPU time)" : "");
    if (f)
        fclose(f);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(float scale)
{
    bench_xorshift(&rng);
    return scale * ((float)(rng >> 40) * (1.0f / 8388608.0f) - 1.0f);
}

/* One weight matrix: f32 and bf16 copies, and a q4 g32 (q8 g32 for the output head) copy made on demand. */
typedef struct wpair {
    float *f;
    uint16_t *b;
    void *q;
} wpair;

static void make(wpair *w, size_t rows, size_t cols)
{
    size_t n = rows * cols;
    w->q = NULL;
    w->f = llq_bigmem_alloc(n * 4); /* as llq-eval's default --load read holds weights (never freed here) */
    w->b = llq_bigmem_alloc(n * 2);
    if (!w->f || !w->b) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    float a = sqrtf(3.0f / (float)cols); /* uniform(-a, a): variance 1/cols */
    for (size_t i = 0; i < n; i++) {
        w->f[i] = frand(a);
        w->b[i] = llq_f32_to_bf16(w->f[i]);
    }
}

enum { F32, BF16, Q4 };
static const char *const kind_name[] = {"f32 ", "bf16", "q4  "};

/* m = w in the given kind (Q4: q4 g32, or q8 g32 when head is set — llq-quantize's default policy). */
static void set(llq_mat *m, wpair *w, int kind, size_t rows, size_t cols, int head)
{
    if (kind != Q4) {
        llq_mat_init(m, kind ? LLQ_BF16 : LLQ_F32, 0, rows, cols, kind ? (const void *)w->b : (const void *)w->f);
        return;
    }
    uint32_t type = head ? LLQ_Q8 : LLQ_Q4;
    llq_mat_init(m, type, 32, rows, cols, NULL);
    if (!w->q) {
        w->q = llq_bigmem_alloc(rows * m->row_bytes);
        llq_pool *pool = NULL;
        int err = !w->q || llq_pool_new(&pool, 0) || llq_quantize_tensor(w->q, w->f, rows, cols, type, 32, NULL, pool);
        llq_pool_free(pool);
        if (err) {
            fprintf(stderr, "bench: cannot quantize (%s)\n", w->q ? llq_errmsg() : "out of memory");
            exit(1);
        }
    }
    m->data = w->q;
}

/* ---- read bandwidth: threads reading disjoint shares of a 1 GiB buffer (readbw.h) ---- */
static double read_bandwidth(int nt)
{
    size_t bytes = (size_t)1 << 30;
    uint8_t *buf = malloc(bytes);
    if (!buf)
        return 0;
    memset(buf, 1, bytes);
    llq_mat whole = {.type = LLQ_Q8, .rows = 1, .cols = bytes, .row_bytes = bytes, .data = buf};
    const llq_mat *one = &whole;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double gbs = (double)bytes / rb_read_mats(&one, 1, nt) / 1e9;
        best = gbs > best ? gbs : best;
    }
    free(buf);
    return best;
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 2;
    size_t windows = argc > 2 ? (size_t)atoi(argv[2]) : 2, ctx = 256;
    llq_hparams hp = {.arch = "llama", .dim = 2048, .n_layers = 8, .n_heads = 16, .n_kv_heads = 4, .ffn_dim = 5632,
                      .vocab_size = 4096, .context_length = 2048, .norm_eps = 1e-5f, .rope_theta = 10000.0f};
    size_t dim = hp.dim, kvd = dim / hp.n_heads * hp.n_kv_heads, ffn = hp.ffn_dim, V = hp.vocab_size;
    printf("synthetic LLaMA: dim %zu, %u layers, %u/%u heads, ffn %zu, vocab %zu; %d threads, %s kernels\n", dim,
           hp.n_layers, hp.n_heads, hp.n_kv_heads, ffn, V, nt, llq_kernel_impl_name());
    double t0 = bench_now();
    wpair emb, out, L[8][7];
    make(&emb, V, dim);
    make(&out, V, dim);
    size_t shp[7][2] = {{dim, dim}, {kvd, dim}, {kvd, dim}, {dim, dim}, {ffn, dim}, {dim, ffn}, {ffn, dim}};
    uint64_t params = 2 * V * dim;
    for (int l = 0; l < 8; l++)
        for (int i = 0; i < 7; i++) {
            make(&L[l][i], shp[i][0], shp[i][1]);
            params += shp[i][0] * shp[i][1];
        }
    float *ones = malloc(dim * 4);
    for (size_t i = 0; i < dim; i++)
        ones[i] = 1.0f;
    printf("built %.1f M parameters in %.1f s\n", (double)params / 1e6, bench_now() - t0);

    loadavg();
    double bw1 = read_bandwidth(1), bw = read_bandwidth(nt);
    printf("measured read bandwidth: %.1f GB/s (1 thread), %.1f GB/s (%d threads)\n", bw1, bw, nt);

    /* matmul alone: 256 tokens × w1 (5632 × 2048) */
    {
        llq_pool *pool;
        llq_pool_new(&pool, nt);
        float *x = malloc(256 * dim * 4), *y = malloc(256 * ffn * 4);
        for (size_t i = 0; i < 256 * dim; i++)
            x[i] = frand(1);
        for (int b = 0; b < 3; b++) {
            llq_mat W;
            set(&W, &L[0][4], b, ffn, dim, 0);
            llq_matmul(y, x, 256, &W, pool);
            double t = bench_now(), c = bench_cpu();
            int reps = 5;
            for (int r = 0; r < reps; r++)
                llq_matmul(y, x, 256, &W, pool);
            double dt = (bench_now() - t) / reps, dc = (bench_cpu() - c) / reps / nt, fl = 2.0 * 256 * (double)dim * (double)ffn;
            printf("matmul %s 256 x 2048 -> 5632: %.1f GFLOP/s wall, %.1f GFLOP/s on %d idle cores\n", kind_name[b],
                   fl / dt / 1e9, fl / dc / 1e9, nt);
        }
        free(x), free(y);
        llq_pool_free(pool);
    }

    uint32_t *tok = malloc(windows * ctx * 4);
    for (size_t i = 0; i < windows * ctx; i++)
        tok[i] = (uint32_t)(rng = rng * 6364136223846793005ull + 1442695040888963407ull) % (uint32_t)V;
    for (int b = 0; b < 3; b++) {
        llq_model *m;
        if (llq_model_new(&m, &hp, nt)) {
            fprintf(stderr, "bench: %s\n", llq_errmsg());
            return 1;
        }
        double tq = bench_now();
        set(&m->tok_embeddings, &emb, b == BF16, V, dim, 0);
        set(&m->output, &out, b, V, dim, 1);
        uint64_t wbytes = m->output.rows * m->output.row_bytes; /* weights read per token, embeddings aside */
        m->norm = ones;
        for (int l = 0; l < 8; l++) {
            llq_layer_w *w = &m->layers[l];
            llq_mat *mats[7] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w1, &w->w2, &w->w3};
            for (int i = 0; i < 7; i++) {
                set(mats[i], &L[l][i], b, shp[i][0], shp[i][1], 0);
                wbytes += mats[i]->rows * mats[i]->row_bytes;
            }
            w->attention_norm = w->ffn_norm = ones;
        }
        const char *ty = kind_name[b];
        if (b == Q4)
            printf("quantized the layers to q4 g32 and the output head to q8 g32 (RTN) in %.1f s: %.2f GB\n",
                   bench_now() - tq, (double)wbytes / 1e9);
        llq_eval_opts o = {.ctx = ctx};
        llq_ppl_result r;
        double t = bench_now(), c = bench_cpu();
        if (llq_eval_ppl(&r, m, tok, windows * ctx, &o, NULL, NULL)) {
            fprintf(stderr, "bench: %s\n", llq_errmsg());
            return 1;
        }
        double dt = bench_now() - t, tps = (double)(windows * ctx) / dt, itps = (double)(windows * ctx) / ((bench_cpu() - c) / nt);
        printf("ppl %s ctx %zu: %.1f tokens/s wall (%zu windows in %.2f s; %.1f GFLOP/s in matmuls); "
               "%.1f tokens/s (%.1f GFLOP/s) on %d idle cores\n", ty, ctx, tps, windows, dt,
               2.0 * (double)(params - V * dim) * tps / 1e9, itps, 2.0 * (double)(params - V * dim) * itps / 1e9, nt);

        llq_kv *kv;
        float *logits = malloc(V * 4);
        const llq_mat *mats[1 + 8 * 7];
        int nm = 0;
        mats[nm++] = &m->output;
        for (int l = 0; l < 8; l++) {
            const llq_layer_w *w = &m->layers[l];
            const llq_mat *lm[7] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w1, &w->w2, &w->w3};
            for (int i = 0; i < 7; i++)
                mats[nm++] = lm[i];
        }
        llq_kv_new(&kv, m, 64);
        llq_model_step(m, kv, tok, 8, logits);
        if (!rb_generate(m, kv, tok + 8, logits, mats, nm, (double)wbytes, nt, ty))
            fprintf(stderr, "bench: %s\n", llq_errmsg());
        free(logits);
        llq_kv_free(kv);
        llq_model_free(m);
    }
    return 0;
}
