/* calib.h — calibration-based quantization: calibration data, GPTQ, AWQ (method notes: docs/QUANTIZATION.md).
 *
 * Three levels, each usable alone:
 * 1. Dense linear algebra on small square matrices (double, row-major): Cholesky, SPD inverse,
 *    and the accumulation H += XᵀX of calibration inputs.
 * 2. One matrix at a time: llq_gptq quantizes W [rows × cols] given H = XᵀX of its inputs; llq_awq_search finds
 *    per-input-channel scales for matrices sharing one input; llq_awq_clip_quantize quantizes with a per-group
 *    clipping search. Outputs are rows in docs/FORMAT.md's q8/q4/q4a layouts.
 * 3. The driver llq_calib_run: tokenizes a calibration text with the model's tokenizer, cuts samples, runs the
 *    f32 forward layer by layer and quantizes every linear weight with AWQ, GPTQ or AWQ then GPTQ.
 *
 * H is always the un-normalised sum XᵀX (the methods only depend on it up to a factor).
 */
#ifndef LLQ_CALIB_H
#define LLQ_CALIB_H

#include "llq/llq.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. linear algebra ---- */

/* The thread pool of kernels.h: every function below that takes one spreads its O(n³) work over the pool's
 * threads (NULL: the calling thread only). Work is cut into fixed blocks, so results are bit-identical for any
 * number of threads. */
typedef struct llq_pool llq_pool;

/* In place: a (n×n, symmetric positive definite) becomes L, lower triangular with A = L·Lᵀ (upper part zeroed).
 * Blocked (64×64), f64. LLQ_EINVAL "matrix not positive definite (pivot k)", LLQ_ENOMEM. */
int llq_cholesky(double *a, size_t n, llq_pool *pool);
/* In place: a (n×n SPD) becomes its inverse (full symmetric). Allocates n×n doubles of scratch. */
int llq_spd_inverse(double *a, size_t n, llq_pool *pool);
/* In place: a (n×n SPD) becomes U, upper triangular with Uᵀ·U = A⁻¹ (GPTQ's "Cholesky of the inverse"), computed
 * without forming A⁻¹: one Cholesky of the reversed matrix and one triangular inverse (n³/3 multiply-adds each,
 * blocked). Allocates n×n + 64·n doubles of scratch. */
int llq_chol_inv_upper(double *a, size_t n, llq_pool *pool);
/* h (cols×cols, only the upper triangle i <= j is updated) += Xᵀ·X for x [n × cols] row-major: f32 GEMMs over
 * chunks of up to 2048 tokens, summed into the f64 h. Call llq_sym_fill afterwards to mirror the upper triangle
 * into the lower one. 0 or LLQ_ENOMEM (per-thread scratch: 64 × (2048 + cols) floats). */
int llq_xtx_acc(double *h, const float *x, size_t n, size_t cols, llq_pool *pool);
/* The same from Xᵀ: xt holds cols rows of ld floats, tokens 0..n-1 in each (a caller that buffers its inputs
 * transposed avoids llq_xtx_acc's transposition and its scratch). */
int llq_xtx_acc_t(double *h, const float *xt, size_t ld, size_t n, size_t cols, llq_pool *pool);
/* xt[c*ld + t] = x[t*cols + c] for t < n <= ld, c < cols (on the pool). LLQ_EINVAL if n > ld. */
int llq_xtx_transpose(float *xt, size_t ld, const float *x, size_t n, size_t cols, llq_pool *pool);
void llq_sym_fill(double *h, size_t n);

/* ---- 2. per-matrix methods ---- */

typedef struct llq_gptq_opts {
    float damp;       /* fraction of mean(diag H) added to the diagonal; 0 → 0.01 */
    int act_order;    /* process columns by decreasing diag(H) (scales stay those of the original groups) */
    uint32_t block;   /* lazy-update block width; 0 → 128 */
    llq_pool *pool;   /* threads (NULL: one); rows are independent given H, so chunks of rows run in parallel */
} llq_gptq_opts;

/* GPTQ: quantizes w [rows × cols] (f32, row-major, not modified) to out (rows × llq_row_bytes bytes),
 * using h (cols×cols, full symmetric XᵀX; not modified). Group scales (and q4a zero points) are chosen on the
 * original weights before the pass (static groups) by quant.h's search weighted by diag(H) (llq_quant_scales).
 * Block types (group 0): each block's d, dmin and sub-block scales / mins are chosen the same way before the pass
 * (RTN weighted by diag(H)) and the pass snaps each column to its sub-block's grid.
 * Columns with H[i][i] = 0 (never activated) quantize to 0. o may be NULL (defaults, act_order on). */
int llq_gptq(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type, uint32_t group,
             const llq_gptq_opts *o);

/* Round to nearest with each group's scale searched to minimise the output error δᵀ·H_gg·δ over the group's
 * diagonal block of h (h NULL: plain squared error). This is AWQ's clipping search (clip ratios 1 .. 0.5,
 * and for q4a both ends). out as llq_gptq. */
int llq_awq_clip_quantize(void *out, const float *w, size_t rows, size_t cols, const double *h, uint32_t type,
                          uint32_t group, llq_pool *pool);

/* AWQ scale search for n_w matrices w[i] [rows[i] × cols] sharing one input x with per-channel mean |x| xabs[cols]
 * and h = XᵀX (full). For α on a grid of n_grid+1 points in [0,1] (n_grid 0 → 20), s = xabs^α normalised by
 * sqrt(max·min); picks the α minimising Σ_i ‖(W_i − Q(W_i·diag(s))·diag(1/s))·Xᵀ‖² (RTN with absmax
 * scales inside the search; at most 1024 evenly spaced rows of each matrix are evaluated, in blocks of 32 rows on the
 * pool's threads; 1 <= n_w <= 4). Writes s[cols] (all 1 when α = 0 wins) and, if alpha is not NULL, the α. */
int llq_awq_search(float *s, float *alpha, const float *const *w, const size_t *rows, size_t n_w, size_t cols,
                   const double *h, const float *xabs, uint32_t type, uint32_t group, uint32_t n_grid,
                   llq_pool *pool);

/* ---- 3. calibration driver ---- */

/* LLQ_CALIB_IMP alone: round to nearest per matrix, the error weighted by the calibration statistics (block types:
 * importance diag(XᵀX) per input channel, as llama.cpp's imatrix; q8/q4/q4a: AWQ's clipping search against H). */
enum { LLQ_CALIB_AWQ = 1, LLQ_CALIB_GPTQ = 2, LLQ_CALIB_IMP = 4 };

/* Picks the type/group of one weight (the quantize tool's policy): sets *type (non-quantized = leave the
 * tensor alone) and *group, returns 0 or a negative code. */
typedef int (*llq_calib_policy_fn)(void *ud, const char *name, uint32_t *type, uint32_t *group);
/* Progress: stage, done of total. "tokenize" (0 of 1) while the text is tokenized, then "layer" for the rest: done
 * and total count steps, LLQ_CALIB_LAYER_STEPS per transformer layer (so done / LLQ_CALIB_LAYER_STEPS is the
 * index of the layer being calibrated; then come the output head's steps, at least 1 and fewer than a layer's,
 * in proportion to its work: total / LLQ_CALIB_LAYER_STEPS is the number of layers), advancing within a layer with each window of the statistics pass, each group of
 * matrices quantized and each window of the pass through the quantized layer, weighted by their estimated
 * arithmetic (an even pace on a steady machine: elapsed / fraction done is a fair ETA). done == total once, at
 * the end. */
#define LLQ_CALIB_LAYER_STEPS 1000
typedef void (*llq_calib_progress_fn)(void *ud, const char *stage, uint64_t done, uint64_t total);

typedef struct llq_calib_opts {
    unsigned methods;          /* LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ (both: AWQ scales, then GPTQ on the scaled model) */
    const char *text_path;     /* calibration text, UTF-8 */
    int text_is_tokens;        /* text_path holds little-endian uint32 token ids instead (no tokenizer needed) */
    uint32_t n_samples;        /* 0 → 128 */
    uint32_t ctx;              /* tokens per sample; 0 → 256 */
    uint64_t seed;             /* sample placement */
    float damp;                /* GPTQ damping; 0 → 0.01 */
    int no_act_order;          /* GPTQ: natural column order */
    int fold_only;             /* AWQ: emit the scaled matrices as f32 instead of quantizing them (the folded model
                                * is then equivalent to the original: used to check the folding) */
    /* GPTQ without AWQ, by default: (1) the token embedding is quantized first, by GPTQ against the sensitivity
     * of the residual stream's readers (H_e, docs/QUANTIZATION.md), when the policy quantizes it and it is not
     * tied; (2) each layer runs group by group (wq/wk/wv, wo, w1/w3, w2), each group's statistics taken with the
     * groups before it quantized, and its target is the f32 model's output from the quantized model's input:
     * min ‖W·X − Q·X̃‖² (X: the f32 model's inputs of the same windows, X̃ the quantized model's), i.e. GPTQ with
     * H̃ = X̃ᵀX̃ on W + W·(X − X̃)ᵀX̃·(H̃ + λI)⁻¹. The switches below restore the method before 3 Dec 2026. */
    int own_targets;           /* GPTQ: each matrix's own weights as its target, a layer's statistics in one pass */
    int embed_rtn;             /* leave the token embedding to the caller (RTN after calibration) */
    int head_one_h;            /* GPTQ: the output head with the one Hessian of its inputs, not by rows with the
                                * f32 model's token probabilities (docs/QUANTIZATION.md, "GPTQ") */
    llq_calib_policy_fn policy;/* required */
    void *policy_ud;
    llq_calib_progress_fn progress; /* may be NULL */
    void *progress_ud;
    int n_threads;             /* threads of the one pool that runs everything (forward passes, XᵀX, AWQ, GPTQ);
                                * <= 0: all CPUs. Results do not depend on it (bit-identical for any count). */
} llq_calib_opts;

/* Peak memory of llq_calib_run, term by term (bytes; docs/QUANTIZATION.md "Memory" gives the formula). Weights
 * are counted as the model file's size (its mapped pages are resident once read: page cache, reclaimable);
 * everything else is what the driver allocates. total = fixed + model_file + activations + results + threads +
 * max(layer_stats, layer_quant, head, embed). */
typedef struct llq_calib_mem {
    uint64_t fixed;        /* the process, tokenizer and small tables: 32 MiB */
    uint64_t model_file;   /* the input file */
    uint64_t activations;  /* 4·N·C·dim (all samples at a layer boundary) + 4·C·dim + the text's tokens */
    uint64_t results;      /* the calibrated tensors (kept until written) and AWQ's norm vectors */
    uint64_t threads;      /* per thread: matmul buffers and the task scratch of XᵀX / GPTQ / AWQ */
    uint64_t layer_stats;  /* statistics pass: f32 copies of the layer's matrices, XᵀX of its inputs (f64), the
                            * inputs buffered for XᵀX, one window's forward scratch */
    uint64_t layer_quant;  /* quantizing: copies, XᵀX, and the largest GPTQ (16·cols² + stacked rows and codes) */
    uint64_t head;         /* the output head: its f32 copy, XᵀX, GPTQ (0 for tied embeddings: not calibrated) */
    uint64_t embed;        /* the token embedding quantized first (GPTQ's default): copies, H_e, GPTQ */
    uint64_t total;
} llq_calib_mem;

struct llq_hparams;
/* Fills *out for calibrating a model of hyper-parameters hp stored in a file of file_bytes with options o (the
 * policy is asked for layer 0's matrices and output.weight; text size from o->text_path, 0 if unreadable).
 * 0, or the policy's error. */
int llq_calib_mem_estimate(llq_calib_mem *out, const struct llq_hparams *hp, uint64_t file_bytes,
                           const llq_calib_opts *o);

/* One output tensor that replaces the input tensor of the same name. */
typedef struct llq_calib_tensor {
    char *name;
    uint32_t type, group;      /* LLQ_F32 for norm weights AWQ changed */
    uint32_t n_dims;
    uint64_t dims[4];
    void *data;
    uint64_t size;             /* bytes */
} llq_calib_tensor;

typedef struct llq_calib_result {
    llq_calib_tensor *t;       /* n entries */
    size_t n;
    uint64_t text_bytes;       /* calibration text size */
    uint64_t text_tokens;      /* tokens in the whole text */
    uint32_t n_samples, ctx;
    double seconds;            /* wall time of the method (excluding tokenizing) */
    double sec_forward;        /* of which: forward passes (statistics pass, then the quantized layer's pass) */
    double sec_xtx;            /* XᵀX accumulation */
    double sec_awq;            /* AWQ scale search and folding */
    double sec_quant;          /* GPTQ (or AWQ's clipped rounding), including H's factorization */
} llq_calib_result;

/* Runs the calibration methods on the model in model_path (a .llq with f32/f16/bf16 weights). *out (owned by the
 * caller, llq_calib_free) lists every quantized matrix and every changed norm weight; tensors not listed are to be
 * handled by the caller's own policy (e.g. RTN, or copied). Errors: text shorter than one window, not UTF-8,
 * model already quantized, ... (one line, naming the file). */
int llq_calib_run(llq_calib_result **out, const char *model_path, const llq_calib_opts *o);
const llq_calib_tensor *llq_calib_find(const llq_calib_result *r, const char *name);
struct llq_model;
/* Points model m's matrices and norm vectors at r's tensors of the same name (r must outlive that use), e.g. to
 * evaluate the result without writing a file. LLQ_ENOTFOUND for a name the model has no slot for. */
int llq_calib_apply(struct llq_model *m, const llq_calib_result *r);
void llq_calib_free(llq_calib_result *r);

/* Picks n windows of len tokens from a token stream of n_tok tokens, deterministically from seed: distinct,
 * non-overlapping windows when n·len <= n_tok, otherwise uniformly random starts. starts[n] receives offsets.
 * LLQ_EINVAL if n_tok < len ("calibration text has N tokens, fewer than one window of L"). */
int llq_calib_windows(uint64_t *starts, uint64_t n, uint64_t n_tok, uint64_t len, uint64_t seed);
/* 0 if buf[n] is valid UTF-8 without NUL bytes, else LLQ_EFORMAT naming the byte offset. */
int llq_calib_check_utf8(const char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
