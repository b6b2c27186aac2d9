/* bench/side_llq.c — llq's side of the llama.cpp side-by-side benchmark (bench/vs_llama.sh; llama.cpp's side is
 * tests/interop/llama_speed.mjs, which measures the same two things the same way):
 *   side_llq write DIR          writes DIR/f32.llq, the synthetic 378 M LLaMA of bench/eval.c (dim 2048, 8 layers,
 *                               16/4 heads, ffn 5632, vocab 4096; random weights of variance 1/cols, unit norms) with
 *                               the demo's tokenizer; DIR/q4_k_m.llq, the same shape in the types llq-quantize
 *                               --preset q4_k_m picks (llq_policy_choose), random codes and scales (quantizing
 *                               takes minutes, and the speed does not depend on the values); and DIR/tokens.bin:
 *                               models/pydoc-7m/test.txt tokenized by it (BOS first), little-endian uint32
 *   side_llq run MODEL TOKENS THREADS WINDOWS GEN [ACT]
 *                               opens MODEL as llq-eval does (read into memory, huge pages), then prints
 *                               "ppl TOKENS/S gen TOKENS/S act ACT": perplexity (llq_eval_ppl, ctx 256, the first WINDOWS
 *                               windows of TOKENS: logits of every position), and one-token generation (greedy, after
 *                               an 8-token prompt: GEN steps of llq_model_step, each one token), both wall clock
 *                               after loading. ACT: the windows' matmul activations, q8 (the default:
 *                               LLQ_MM_ACT_Q8, integer dot products as llama.cpp computes them, so that both sides
 *                               run the same arithmetic) or f32 (llq's reference arithmetic).
 * A helper of the benchmark (scripts/bench.sh does not run it alone). */
#include "llq/blocks.h"
#include "llq/eval.h"
#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/model.h"
#include "llq/quant.h"
#include "llq/tokenizer.h"

#include "bench.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO "models/pydoc-7m"
#define CTX 256

static uint64_t rng = 0x9E3779B97F4A7C15ull;

/* The f16 super-block scale d (and dmin / m where the type has one) of every block of a row of nb blocks. */
static void set_scales(uint8_t *row, uint32_t type, uint64_t nb, uint32_t bb, uint16_t d, uint16_t dmin)
{
    size_t od = 0, om = SIZE_MAX; /* offsets of d and of dmin / m */
    switch (type) {
    case LLQ_Q2_K: od = offsetof(llq_blk_q2_k, d), om = offsetof(llq_blk_q2_k, dmin); break;
    case LLQ_Q3_K: od = offsetof(llq_blk_q3_k, d); break;
    case LLQ_Q4_K: od = offsetof(llq_blk_q4_k, d), om = offsetof(llq_blk_q4_k, dmin); break;
    case LLQ_Q5_K: od = offsetof(llq_blk_q5_k, d), om = offsetof(llq_blk_q5_k, dmin); break;
    case LLQ_Q6_K: od = offsetof(llq_blk_q6_k, d); break;
    case LLQ_Q4_1: om = offsetof(llq_blk_q4_1, m); break;
    case LLQ_Q5_1: om = offsetof(llq_blk_q5_1, m); break;
    default: break; /* q4_0, q5_0, q8_0, iq4_nl, iq4_xs: d first */
    }
    for (uint64_t b = 0; b < nb; b++) {
        memcpy(row + b * bb + od, &d, 2);
        if (om != SIZE_MAX)
            memcpy(row + b * bb + om, &dmin, 2);
    }
}

/* One tensor of the synthetic model in type (rows == 0: a norm of ones, f32): f32 uniform(-a, a) of variance 1/cols;
 * a ggml block type: random codes and sub-block scales, the f16 super-block scales set so that the values' RMS is
 * about that of the f32 weights (the speed does not depend on the values; the forward pass stays finite). */
static int add_tensor(llq_writer *w, const char *name, uint32_t type, uint64_t rows, uint64_t cols, float *buf)
{
    uint64_t dims[2] = {rows, cols}, per = (16u << 20) / (cols * 4) + 1;
    float a = sqrtf(3.0f / (float)cols);
    uint32_t be = 1, bb = 4;
    int blocks = rows && llq_type_block(type, &be, &bb);
    if (!rows || !blocks)
        type = LLQ_F32;
    uint16_t d = llq_f32_to_f16(1.0f), dmin = d;
    uint8_t *row = blocks ? malloc(cols / be * bb) : NULL;
    int err = llq_writer_begin(w, name, type, rows ? 2 : 1, rows ? dims : dims + 1, 0);
    if (blocks && !row)
        err = llq_err(LLQ_ENOMEM, "out of memory");
    if (!err && blocks) { /* the scale: RMS of a row decoded with d = dmin = 1 */
        double ss = 0;
        for (uint64_t i = 0; i < cols / be * bb; i++)
            row[i] = (uint8_t)(bench_xorshift(&rng) >> 32);
        set_scales(row, type, cols / be, bb, d, dmin);
        llq_block_to_f32(buf, row, type, cols / be);
        for (uint64_t k = 0; k < cols; k++)
            ss += (double)buf[k] * buf[k];
        d = dmin = llq_f32_to_f16((float)(1.0 / sqrt(ss)));
        for (uint64_t r = 0; !err && r < rows; r++) {
            for (uint64_t i = 0; i < cols / be * bb; i++)
                row[i] = (uint8_t)(bench_xorshift(&rng) >> 32);
            set_scales(row, type, cols / be, bb, d, dmin);
            err = llq_writer_write(w, row, cols / be * bb);
        }
    }
    for (uint64_t r0 = 0; !err && !blocks && r0 < (rows ? rows : 1); r0 += per) {
        uint64_t nr = (rows ? rows : 1) - r0 < per ? (rows ? rows : 1) - r0 : per;
        for (uint64_t i = 0; i < nr * cols; i++)
            buf[i] = rows ? a * ((float)(bench_xorshift(&rng) >> 40) * (1.0f / 8388608.0f) - 1.0f) : 1.0f;
        err = llq_writer_write(w, buf, nr * cols * 4);
    }
    free(row);
    return err ? err : llq_writer_end(w);
}

/* One model file: every 2-D weight in the type policy p chooses (NULL: f32). */
static int write_one(const char *path, const llq_hparams *hp, const llq_tokenizer *tok, const llq_quant_policy *p,
                     float *buf)
{
    size_t dim = hp->dim, kv = dim / hp->n_heads * hp->n_kv_heads, ffn = hp->ffn_dim;
    llq_writer *w = NULL;
    int err = llq_writer_open(&w, path, LLQ_W_FORCE);
    if (!err) err = llq_hparams_write(w, hp);
    if (!err) err = llq_tokenizer_write_meta(tok, w);
    for (uint32_t L = 0; !err && L <= hp->n_layers + 1; L++) {
        struct { const char *n; size_t rows, cols; } t[9] = {
            {"attention_norm", 0, dim}, {"attention.wq", dim, dim}, {"attention.wk", kv, dim},
            {"attention.wv", kv, dim}, {"attention.wo", dim, dim}, {"ffn_norm", 0, dim},
            {"feed_forward.w1", ffn, dim}, {"feed_forward.w2", dim, ffn}, {"feed_forward.w3", ffn, dim}};
        struct { const char *n; size_t rows, cols; } g[3] = {
            {"tok_embeddings.weight", hp->vocab_size, dim}, {"norm.weight", 0, dim}, {"output.weight", hp->vocab_size, dim}};
        int first = L == 0, last = L == hp->n_layers + 1, nt = first ? 1 : last ? 2 : 9;
        for (int i = 0; !err && i < nt; i++) {
            char nm[96];
            size_t rows = first ? g[0].rows : last ? g[1 + i].rows : t[i].rows;
            size_t cols = first ? g[0].cols : last ? g[1 + i].cols : t[i].cols;
            if (first || last)
                snprintf(nm, sizeof nm, "%s", first ? g[0].n : g[1 + i].n);
            else
                snprintf(nm, sizeof nm, "layers.%u.%s.weight", L - 1, t[i].n);
            uint32_t type = LLQ_F32, group = 0;
            if (p && (err = llq_policy_choose(p, nm, LLQ_F32, rows ? 2 : 1, cols, &type, &group)))
                break;
            err = add_tensor(w, nm, type, rows, cols, buf);
        }
    }
    if (!err) err = llq_writer_commit(w);
    llq_writer_free(w);
    return err;
}

static int write_model(const char *dir)
{
    llq_hparams hp = {.arch = "llama", .dim = 2048, .n_layers = 8, .n_heads = 16, .n_kv_heads = 4, .ffn_dim = 5632,
                      .vocab_size = 4096, .context_length = 2048, .norm_eps = 1e-5f, .rope_theta = 10000.0f};
    char path[4096];
    llq_tokenizer *tok = NULL;
    llq_quant_policy p = {0};
    uint32_t *ids = NULL;
    size_t n = 0, len = 0;
    char *text = NULL;
    float *buf = malloc((16u << 20) + 4 * (size_t)hp.ffn_dim);
    FILE *f = NULL;
    int err = buf ? 0 : llq_err(LLQ_ENOMEM, "out of memory");
    if (!err) err = llq_spm_load(&tok, DEMO "/tokenizer.model");
    if (!err) err = llq_policy_init(&p, LLQ_Q4, 32);
    if (!err) {
        llq_policy_preset(&p, LLQ_PRESET_Q4_K_M, hp.n_layers, hp.n_heads / hp.n_kv_heads);
        snprintf(path, sizeof path, "%s/f32.llq", dir);
        err = write_one(path, &hp, tok, NULL, buf);
    }
    if (!err) {
        snprintf(path, sizeof path, "%s/q4_k_m.llq", dir);
        err = write_one(path, &hp, tok, &p, buf);
    }
    if (!err) { /* the token stream both sides evaluate */
        f = fopen(DEMO "/test.txt", "rb");
        if (!f || fseek(f, 0, SEEK_END) || (len = (size_t)ftell(f)) == 0 || fseek(f, 0, SEEK_SET) ||
            !(text = malloc(len)) || fread(text, 1, len, f) != len)
            err = llq_err(LLQ_EIO, "%s: cannot read", DEMO "/test.txt");
        if (f)
            fclose(f);
        f = NULL;
    }
    if (!err) err = llq_tokenize(tok, text, len, 1, &ids, &n);
    if (!err) {
        snprintf(path, sizeof path, "%s/tokens.bin", dir);
        f = fopen(path, "wb");
        if (!f || fwrite(ids, 4, n, f) != n) /* little-endian host (x86-64) */
            err = llq_err(LLQ_EIO, "%s: cannot write", path);
        if (f && fclose(f) && !err)
            err = llq_err(LLQ_EIO, "%s: cannot write", path);
    }
    llq_policy_free(&p);
    llq_tokenizer_free(tok);
    free(buf), free(text), free(ids);
    return err;
}

static int run(const char *model, const char *tokpath, int threads, size_t windows, size_t gen, int act)
{
    llq_file *f = NULL;
    llq_model *m = NULL;
    llq_kv *kv = NULL;
    uint32_t *tok = NULL;
    float *logits = NULL;
    size_t n = 0;
    FILE *fp = fopen(tokpath, "rb");
    int err = 0;
    if (!fp || fseek(fp, 0, SEEK_END) || (n = (size_t)ftell(fp) / 4) < windows * CTX || fseek(fp, 0, SEEK_SET) ||
        !(tok = malloc(n * 4)) || fread(tok, 4, n, fp) != n) {
        err = llq_err(LLQ_EIO, "%s: cannot read %zu tokens", tokpath, windows * CTX);
        goto done;
    }
    if ((err = llq_open_flags(&f, model, LLQ_OPEN_READ)) || (err = llq_model_open(&m, f, threads)))
        goto done;
    m->act = act;
    llq_eval_opts o = {.ctx = CTX, .max_chunks = windows};
    llq_ppl_result r;
    double t0 = bench_now();
    if ((err = llq_eval_ppl(&r, m, tok, windows * CTX, &o, NULL, NULL)))
        goto done;
    double ppl_tps = (double)(windows * CTX) / (bench_now() - t0);
    size_t V = m->hp.vocab_size, P = 8;
    if (!(logits = malloc(V * sizeof *logits))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    if ((err = llq_kv_new(&kv, m, (uint32_t)(P + gen + 1))) || (err = llq_model_step(m, kv, tok, P, logits)))
        goto done;
    t0 = bench_now();
    for (size_t i = 0; i < gen; i++) {
        uint32_t next = 0;
        for (uint32_t v = 1; v < V; v++)
            next = logits[v] > logits[next] ? v : next;
        if ((err = llq_model_step(m, kv, &next, 1, logits)))
            goto done;
    }
    double gen_tps = (double)gen / (bench_now() - t0);
    printf("ppl %.2f gen %.2f act %s\n", ppl_tps, gen_tps, act == LLQ_MM_ACT_Q8 ? "q8" : "f32");
done:
    if (fp)
        fclose(fp);
    llq_kv_free(kv);
    llq_model_free(m);
    llq_close(f);
    free(tok), free(logits);
    return err;
}

int main(int argc, char **argv)
{
    int err;
    if (argc == 3 && !strcmp(argv[1], "write"))
        err = write_model(argv[2]);
    else if ((argc == 7 || (argc == 8 && (!strcmp(argv[7], "q8") || !strcmp(argv[7], "f32")))) &&
             !strcmp(argv[1], "run"))
        err = run(argv[2], argv[3], atoi(argv[4]), (size_t)atol(argv[5]), (size_t)atol(argv[6]),
                  argc == 8 && !strcmp(argv[7], "f32") ? LLQ_MM_ACT_F32 : LLQ_MM_ACT_Q8);
    else {
        fprintf(stderr, "usage: side_llq write DIR | side_llq run MODEL TOKENS THREADS WINDOWS GEN [q8|f32]\n");
        return 2;
    }
    if (err) {
        fprintf(stderr, "side_llq: %s\n", llq_errmsg());
        return 1;
    }
    return 0;
}
