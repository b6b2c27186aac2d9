/* seed_llq.c — writes the seed corpus of fuzz_llq (tests/fuzz/corpus/llq/) with the llq writer: one file with
 * every metadata and tensor type, and a tiny complete LLaMA model with the bpe_ws fixture tokenizer embedded
 * (model.llq), then the same with the byte-level tokenizer.json fixture hf_llama3_small.json (model_bpe.llq).
 * Build and run from the repo root (outputs are committed; rerun only if the format changes):
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude tests/fuzz/seed_llq.c build/libllq.a $(pkg-config --libs zlib json-c libpcre2-8 libutf8proc) -lm -lpthread -o /tmp/seed_llq
 *   /tmp/seed_llq tests/fuzz/corpus/llq */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/tokenizer.h"

static uint32_t rng = 12345;
static void fill(uint8_t *p, size_t n, uint32_t type)
{
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1103515245u + 12345u;
        p[i] = (uint8_t)(rng >> 16);
    }
    if (type == LLQ_F32) /* small finite floats */
        for (size_t i = 0; i + 4 <= n; i += 4) {
            float v = (float)((int)p[i] - 128) / 64.0f;
            memcpy(p + i, &v, 4);
        }
}

static int add(llq_writer *w, const char *name, uint32_t type, uint32_t nd, const uint64_t *dims, uint32_t group)
{
    uint64_t rows = 1, rb;
    for (uint32_t i = 0; i + 1 < nd; i++)
        rows *= dims[i];
    if (llq_row_bytes(&rb, type, group, dims[nd - 1]))
        return -1;
    size_t n = (size_t)(rows * rb);
    uint8_t *buf = malloc(n ? n : 1);
    fill(buf, n, type);
    int rc = llq_writer_add(w, name, type, nd, dims, group, buf, n);
    free(buf);
    return rc;
}

#define CK(x) do { if ((x) != 0) { fprintf(stderr, "%s: %s\n", #x, llq_errmsg()); return 1; } } while (0)

int main(int argc, char **argv)
{
    char path[512];
    llq_writer *w;
    if (argc != 2)
        return 2;
    snprintf(path, sizeof path, "%s/types.llq", argv[1]);
    CK(llq_writer_open(&w, path, LLQ_W_FORCE));
    CK(llq_writer_meta_u32(w, "a.u32", 7));
    CK(llq_writer_meta_i32(w, "a.i32", -7));
    CK(llq_writer_meta_u64(w, "a.u64", 1ull << 40));
    CK(llq_writer_meta_f32(w, "a.f32", 0.5f));
    CK(llq_writer_meta_f64(w, "a.f64", -2.25));
    CK(llq_writer_meta_bool(w, "a.bool", 1));
    CK(llq_writer_meta_str(w, "a.str", "hello", 5));
    uint32_t arr[3] = {1, 2, 3};
    CK(llq_writer_meta_arr(w, "a.arr", LLQ_META_U32, arr, 3));
    const char *strs[2] = {"x", "yz"};
    uint64_t lens[2] = {1, 2};
    CK(llq_writer_meta_arr_str(w, "a.arrs", strs, lens, 2));
    CK(add(w, "t.f32", LLQ_F32, 2, (uint64_t[]){3, 5}, 0));
    CK(add(w, "t.f16", LLQ_F16, 2, (uint64_t[]){2, 7}, 0));
    CK(add(w, "t.bf16", LLQ_BF16, 1, (uint64_t[]){4}, 0));
    CK(add(w, "t.q8", LLQ_Q8, 2, (uint64_t[]){2, 64}, 32));
    CK(add(w, "t.q4", LLQ_Q4, 2, (uint64_t[]){3, 40}, 0));
    CK(add(w, "t.q4a", LLQ_Q4A, 3, (uint64_t[]){1, 2, 128}, 64));
    CK(llq_writer_commit(w));
    llq_writer_free(w);

    static const char *const toks[2] = {"tests/fixtures/tokenizer/bpe_ws.model",
                                        "tests/fixtures/tokenizer/hf_llama3_small.json"};
    static const char *const outs[2] = {"model.llq", "model_bpe.llq"};
    for (int k = 0; k < 2; k++) {
        llq_tokenizer *tok;
        CK(llq_tokenizer_load(&tok, toks[k]));
        llq_hparams hp = {.arch = "llama", .dim = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1, .ffn_dim = 16,
                          .vocab_size = llq_tokenizer_n_vocab(tok), .context_length = 64, .norm_eps = 1e-5f,
                          .rope_theta = 10000.0f};
        uint64_t V = hp.vocab_size, D = hp.dim, F = hp.ffn_dim, KV = D / hp.n_heads * hp.n_kv_heads;
        snprintf(path, sizeof path, "%s/%s", argv[1], outs[k]);
        CK(llq_writer_open(&w, path, LLQ_W_FORCE));
        CK(llq_hparams_write(w, &hp));
        CK(llq_tokenizer_write_meta(tok, w));
        CK(add(w, "tok_embeddings.weight", LLQ_Q8, 2, (uint64_t[]){V, D}, 0));
        CK(add(w, "norm.weight", LLQ_F32, 1, (uint64_t[]){D}, 0));
        CK(add(w, "output.weight", LLQ_Q4, 2, (uint64_t[]){V, D}, 0));
        CK(add(w, "layers.0.attention_norm.weight", LLQ_F32, 1, (uint64_t[]){D}, 0));
        CK(add(w, "layers.0.attention.wq.weight", LLQ_F16, 2, (uint64_t[]){D, D}, 0));
        CK(add(w, "layers.0.attention.wk.weight", LLQ_BF16, 2, (uint64_t[]){KV, D}, 0));
        CK(add(w, "layers.0.attention.wv.weight", LLQ_Q4A, 2, (uint64_t[]){KV, D}, 0));
        CK(add(w, "layers.0.attention.wo.weight", LLQ_Q8, 2, (uint64_t[]){D, D}, 0));
        CK(add(w, "layers.0.ffn_norm.weight", LLQ_F32, 1, (uint64_t[]){D}, 0));
        CK(add(w, "layers.0.feed_forward.w1.weight", LLQ_F32, 2, (uint64_t[]){F, D}, 0));
        CK(add(w, "layers.0.feed_forward.w2.weight", LLQ_F32, 2, (uint64_t[]){D, F}, 0));
        CK(add(w, "layers.0.feed_forward.w3.weight", LLQ_F32, 2, (uint64_t[]){F, D}, 0));
        CK(llq_writer_commit(w));
        llq_writer_free(w);
        llq_tokenizer_free(tok);
    }
    return 0;
}
