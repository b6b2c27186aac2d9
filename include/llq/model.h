/* model.h — the LLaMA forward pass over weights used in place (any llq type, through kernels.h).
 *
 * LLaMA as Meta wrote it: token embedding; per layer x += Wo·attn(rope(Wq·n1(x) + bq), rope(Wk·n1(x) + bk),
 * Wv·n1(x) + bv) with grouped-query causal attention (biases: Qwen2 only; a sliding window of the last W keys:
 * Mistral), then x += W2·(silu(W1·n2(x)) ⊙ W3·n2(x)); final RMSNorm; output head (the embedding when tied).
 * Rotary embedding rotates Meta's interleaved pairs (2i, 2i+1) of each q/k head (docs/FORMAT.md) by
 * pos·freq[i], freq[i] = theta^(-2i/head_dim) after the model's rope scaling (linear, llama3).
 * All arithmetic is f32 (norm sums of squares in f64); activations are rows of `dim` floats, one per token.
 *
 * Two ways to run it:
 * - Windows (perplexity, calibration): llq_model_embed, then llq_model_layer for each layer, then
 *   llq_model_head. Each window is one sequence starting at position 0; tokens are processed as batched
 *   matmuls. Calibration hooks into llq_model_layer's capture callback to see every linear layer's input.
 * - Generation: an llq_kv cache and llq_model_step, which appends tokens at the cache's position.
 */
#ifndef LLQ_MODEL_H
#define LLQ_MODEL_H

#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llq_layer_w {
    const float *attention_norm; /* [dim] f32 */
    const float *ffn_norm;       /* [dim] f32 */
    llq_mat wq, wk, wv, wo;      /* attention.wq/wk/wv/wo */
    llq_mat w1, w2, w3;          /* feed_forward: w1 gate, w2 down, w3 up */
    const float *bq, *bk, *bv;   /* q/k/v biases [q_dim] / [kv_dim] f32 (Qwen2), NULL without */
} llq_layer_w;

/* The caller may replace any llq_mat (e.g. with a quantized copy it owns and keeps alive), or the norm
 * pointers (with f32 arrays it owns), between forward calls. The model never frees what it did not allocate. */
struct llq_win_cache; /* internal to eval/model.c */
typedef struct llq_model {
    llq_hparams hp;
    llq_mat tok_embeddings;     /* [vocab, dim]; rows decoded with llq_row_to_f32 */
    llq_layer_w *layers;        /* n_layers */
    const float *norm;          /* [dim] f32 */
    llq_mat output;             /* [vocab, dim]; a copy of tok_embeddings when hp.tied */
    llq_pool *pool;             /* owned; threads for matmuls and attention */
    const llq_file *file;       /* not owned (NULL for llq_model_new) */
    uint32_t max_pos;           /* longest sequence accepted: context_length, or 1<<20 if unknown */
    float *owned;               /* owned f32 copies of the norm vectors */
    int arith;                  /* LLQ_ARITH_EXACT (0, the default) or LLQ_ARITH_LLAMACPP; the caller may set it */
    struct llq_win_cache *win_cache; /* owned: llq_model_layer's buffers, reused by the next window */
    int act;                    /* window matmuls' activations with exact arithmetic: LLQ_MM_ACT_F32 (0, the
                                 * default, the reference) or LLQ_MM_ACT_Q8 (int8 per block of 32 for q4 / q4_0 /
                                 * q4_k / q6_k weights, llq_matmul_act); the caller may set it */
} llq_model;

/* Arithmetic of the window API. EXACT: f32 activations everywhere. LLAMACPP: llama.cpp's CPU backend emulated
 * (so that drift figures of GGUF files sit beside llama-perplexity's): every matmul's activations rounded to its
 * weight type's ggml vec_dot_type (llq_act_round), q/k/v rounded to f16 (its f16 KV cache and f16 K·Q), attention
 * probabilities rounded to f16 before they weight V. Generation (llq_model_step with one token) stays exact. */
enum { LLQ_ARITH_EXACT = 0, LLQ_ARITH_LLAMACPP = 1 };

/* Builds a model over f's tensors (which must outlive the model): reads hparams (llq_hparams_read), checks that
 * every tensor is present with its shape and a type a kernel handles, converts norms to f32, starts a pool of
 * n_threads (<= 0: all CPUs). *out owned by the caller (llq_model_free). Errors name the file and the tensor. */
int llq_model_open(llq_model **out, const llq_file *f, int n_threads);

/* A model with hyper-parameters hp (checked) and no weights: the caller fills every llq_mat and norm pointer
 * (tests, benchmarks). *out owned by the caller. */
int llq_model_new(llq_model **out, const llq_hparams *hp, int n_threads);

void llq_model_free(llq_model *m);

/* ---- window API (one sequence of n tokens at positions 0..n-1) ---- */

/* x[n][dim] = embeddings of tokens. LLQ_EINVAL if a token id is >= vocab. */
int llq_model_embed(const llq_model *m, const uint32_t *tokens, size_t n, float *x);

/* Which linear group a captured input feeds. */
enum llq_capture {
    LLQ_CAP_QKV = 0,    /* input of wq/wk/wv: attention_norm(x) */
    LLQ_CAP_O = 1,      /* input of wo: attention output */
    LLQ_CAP_UPGATE = 2, /* input of w1/w3: ffn_norm(x) */
    LLQ_CAP_DOWN = 3    /* input of w2: silu(w1·) ⊙ w3· */
};
/* Called with X[n][cols] (row-major, valid only during the call) right before the group's matmul.
 * Returning non-zero aborts the layer with that code. */
typedef int (*llq_capture_fn)(void *ud, int layer, int which, const float *X, size_t n, size_t cols);

/* Applies transformer block `layer` to x[n][dim] in place. cb may be NULL. 0, LLQ_ENOMEM, LLQ_EINVAL, or the
 * callback's code. */
int llq_model_layer(const llq_model *m, int layer, float *x, size_t n, llq_capture_fn cb, void *ud);

/* logits[n][vocab] = output · norm(x). x is not modified. */
int llq_model_head(const llq_model *m, const float *x, size_t n, float *logits);

/* Embed + every layer + head for one window. logits[n][vocab]. */
int llq_model_forward(const llq_model *m, const uint32_t *tokens, size_t n, float *logits);

/* ---- generation with a KV cache ---- */
typedef struct llq_kv {
    uint32_t cap;   /* positions the cache holds */
    uint32_t pos;   /* tokens already in the cache */
    uint32_t kv_dim;
    uint32_t n_layers;
    float *k, *v;   /* [n_layers][cap][kv_dim] */
} llq_kv;

/* Allocates a cache for cap positions of model m. *out owned by the caller (llq_kv_free). */
int llq_kv_new(llq_kv **out, const llq_model *m, uint32_t cap);
void llq_kv_free(llq_kv *kv);

/* Runs n tokens at positions kv->pos .. kv->pos+n-1 (attending to everything cached before them), appends
 * their keys/values and advances kv->pos. logits[vocab] of the LAST token (NULL to skip the head).
 * LLQ_ELIMIT if the cache would overflow. */
int llq_model_step(const llq_model *m, llq_kv *kv, const uint32_t *tokens, size_t n, float *logits);

#ifdef __cplusplus
}
#endif

#endif
