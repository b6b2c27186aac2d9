/* kernels.h — matrix multiplication over weights stored in any llq type, and the thread pool that runs it.
 *
 * One operation carries nearly all of a LLaMA forward pass: y = x · Wᵀ, with x a batch of n activation rows
 * (f32) and W a weight matrix stored [rows = outputs, cols = inputs] in the file's type (f32, f16, bf16, q8, q4,
 * q4a; docs/FORMAT.md). llq_matmul cuts W's rows into slices that the pool's threads take in turn, and calls,
 * for each slice, the kernel registered for W's type (kernels/matmul.c). A new weight type is one kernel, not a
 * new forward pass.
 *
 * Two implementations per type: "ref" (scalar C, the definition) and "fast" (AVX2/FMA/F16C, chosen only when
 * the CPU has them). llq_kernel_set_impl picks one for the whole process; tests compare the two. The
 * per-implementation kernels, their registration and scratch buffers are internal (kernels/kern.h).
 */
#ifndef LLQ_KERNELS_H
#define LLQ_KERNELS_H

#include "llq/llq.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A weight W [rows, cols] in any llq type: `rows` rows of row_bytes bytes back to back (FORMAT.md). Not owned:
 * data usually points into an mmapped .llq file. group is the quantization group (0 for f32/f16/bf16). */
typedef struct llq_mat {
    uint32_t type, group;
    uint64_t rows, cols, row_bytes;
    const void *data;
} llq_mat;

/* Fills a matrix view over data (row_bytes computed from type/group/cols). 0, or LLQ_EINVAL for a bad
 * type/group, LLQ_EFORMAT on overflow. */
int llq_mat_init(llq_mat *out, uint32_t type, uint32_t group, uint64_t rows, uint64_t cols, const void *data);

/* ---- thread pool ---- */
typedef struct llq_pool llq_pool;

/* Starts n_threads - 1 workers (the caller is thread 0); n_threads <= 0 means all online CPUs. *out owned by
 * the caller (llq_pool_free). */
int llq_pool_new(llq_pool **out, int n_threads);
void llq_pool_free(llq_pool *p);
int llq_pool_size(const llq_pool *p); /* 1 for a NULL pool */

/* Runs fn(ud, i, n) for i = 0..n-1 on the n threads of the pool (the caller runs i = 0) and returns when all
 * are done. A NULL pool runs fn(ud, 0, 1). Not reentrant: one run at a time per pool. */
typedef void (*llq_task_fn)(void *ud, int i, int n);
void llq_pool_run(llq_pool *p, llq_task_fn fn, void *ud);

/* Runs fn(ctx, b) once for every b < n_blk on the pool's threads, which take the next b from a shared counter
 * (any order, any thread: fn must write disjoint data per b; a result that depends only on b is then the same
 * for any number of threads). A NULL or one-thread pool runs them in order on the caller. */
void llq_pool_for(llq_pool *p, size_t n_blk, void (*fn)(void *ctx, size_t b), void *ctx);

/* ---- matmul ---- */

/* y[n][W->rows] = x[n][W->cols] · Wᵀ; x and y row-major f32, not aliased. pool may be NULL (one thread).
 * Returns LLQ_EUNSUPPORTED if no kernel exists for W's type, LLQ_ENOMEM, or 0. */
int llq_matmul(float *y, const float *x, size_t n, const llq_mat *W, llq_pool *pool);

/* y[j] = x · W[j]ᵀ for j < count (1..LLQ_MM_MAX matrices of the same number of columns, e.g. wq/wk/wv), in one
 * run of the pool: the threads share the row slices of all the matrices, so there is one join, not count.
 * Same errors as llq_matmul, and LLQ_EINVAL for a bad count or mismatched columns. */
#define LLQ_MM_MAX 4
int llq_matmul_n(float *const *y, const float *x, size_t n, const llq_mat *const *W, int count, llq_pool *pool);

/* Activations of a window's matmul. LLQ_MM_ACT_F32 (the reference arithmetic, llq_matmul_n): f32 activations times
 * the weights' values. LLQ_MM_ACT_Q8: for n >= 3 tokens and q4 (groups a multiple of 32), q4_0, q4_k and q6_k weights,
 * each activation row is quantized once per call to int8 per block of 32 (scale amax/127, as the one-token integer
 * path does), and the products are integer dot products scaled per block, as llama.cpp computes (kernels/mmq*.c;
 * several times the f32 GEMM's speed with AVX-512 VNNI); other types and n <= 2 as LLQ_MM_ACT_F32. */
enum { LLQ_MM_ACT_F32 = 0, LLQ_MM_ACT_Q8 = 1 };
/* llq_matmul_n with activations act (LLQ_MM_ACT_*). Same errors. */
int llq_matmul_act(float *const *y, const float *x, size_t n, const llq_mat *const *W, int count, int act,
                   llq_pool *pool);

/* ---- llama.cpp arithmetic (kernels/act.c) ----
 * What llama.cpp's CPU backend does to a matmul's activations before its dot products: ggml's vec_dot_type of the
 * weight type. llq_act_round rounds x[n][cols] in place to those values (per row: Q8_0 blocks of 32 with an f16
 * scale, Q8_K blocks of 256 with an f32 scale, or f16 / bf16 elements); a plain f32 matmul then gives llama.cpp's
 * products up to summation order. Used by the forward pass when llq_model.arith is LLQ_ARITH_LLAMACPP. */
enum { LLQ_ACT_F32 = 0, LLQ_ACT_F16, LLQ_ACT_BF16, LLQ_ACT_Q8_0, LLQ_ACT_Q8_K };
int llq_act_kind(uint32_t weight_type);
void llq_act_round(float *x, size_t n, size_t cols, int kind);


enum llq_kernel_impl { LLQ_KERNEL_REF = 0, LLQ_KERNEL_FAST = 1 };

/* Process-wide choice, LLQ_KERNEL_FAST by default (falls back to ref per type when the CPU lacks AVX2/FMA/F16C
 * or no fast kernel exists). Set it before starting work, not while a matmul runs. */
void llq_kernel_set_impl(int impl);
/* "ref" / "fast" for the value in effect (fast downgraded to ref without AVX2). */
const char *llq_kernel_impl_name(void);
/* 1 if llq_matmul has a kernel for weight type `type` (every implementation has one for every type it lists). */
int llq_matmul_supports(uint32_t type);

/* ---- f32 building blocks shared by the forward pass (single-threaded; strides in elements). Each dispatches
 * to a scalar reference or an AVX2 twin (kernels/kern.h) under the implementation chosen above. ---- */

/* y[t*ldy + r] = Σ_k x[t*ldx + k] · w[r*ldw + k] for t < n, r < rows, k < cols (f32 weights, any strides).
 * Uses the implementation chosen by llq_kernel_set_impl. */
void llq_gemm_f32(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                  size_t rows, size_t cols);
/* The same added to y: y[t*ldy + r] += Σ_k x[t*ldx + k] · w[r*ldw + k] (GPTQ's lazy batch update). */
void llq_gemm_f32_acc(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                      size_t rows, size_t cols);
/* The same with the weight given transposed: y[t*ldy + r] = Σ_k x[t*ldx + k] · v[k*ldv + r] (e.g. P·V). */
void llq_gemm_f32_nn(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                     size_t rows, size_t cols);

/* c[i*ldc + j] −= Σ_p a[i*lda + p] · b[p*ldb + j] for i < m, j < n, p < k (f64, row-major, any strides; c not
 * aliased with a or b). The block update of quantize/linalg.c's Cholesky and triangular inverse. */
void llq_dgemm_sub(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                   size_t n, size_t k);

/* Attention of one query position over L cached positions, for one kv head and the G query heads sharing it:
 * for h < G, out[h*hd + d] = Σ_j p_h[j] · v[j*ldkv + d] with p_h = softmax((q_h · k_j) / scale) (llq_softmax),
 * q_h = q + h*hd, k_j = k + j*ldkv. s: scratch of G·L floats (holds p on return). out, q: G·hd floats.
 * kernels/attn.c: the reference is the per-head path (llq_gemm_f32, llq_softmax, llq_gemm_f32_nn); the AVX2 twin
 * reads each key and value row once for all G heads (hd % 16 == 0; otherwise the reference runs). */
void llq_attn_one(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                  size_t G, float scale, float *s);

/* ---- element-wise helpers (vmath.c; dispatch under llq_kernel_set_impl's choice) ---- */

/* g[i] = silu(g[i]) · u[i] (SwiGLU), silu(x) = x / (1 + e^-x). */
void llq_silu_mul(float *g, const float *u, size_t n);
/* In place: s = softmax(s / scale) (max-shifted exp in f32, sum in f64). Returns the max of s / scale. */
float llq_softmax(float *s, size_t n, float scale);
/* log Σ e^l[i] computed in f64 (max-shifted); *argmax (if not NULL) = first index of the maximum. */
double llq_logsumexp(const float *l, size_t n, size_t *argmax);
/* KL(p ‖ q) = Σ p_i (log p_i − log q_i) in f64 from logits: log p = lb − zb, log q = lq − zq (zb, zq the
 * log-sum-exps). */
double llq_kl(const float *lb, double zb, const float *lq, double zq, size_t n);

#ifdef __cplusplus
}
#endif

#endif
