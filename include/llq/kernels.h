/* kernels.h — matrix multiplication over weights stored in any llq type, and the thread pool that runs it.
 *
 * One operation carries nearly all of a LLaMA forward pass: y = x · Wᵀ, with x a batch of n activation rows
 * (f32) and W a weight matrix stored [rows = outputs, cols = inputs] in the file's type (f32, f16, bf16, q8, q4,
 * q4a; docs/FORMAT.md). llq_matmul cuts W's rows into slices that the pool's threads take in turn, and calls,
 * for each slice, the kernel registered for W's type (llq_mm_select). A new weight type is one kernel, not a new
 * forward pass.
 *
 * Two implementations per type: "ref" (scalar C, the definition) and "fast" (AVX2/FMA/F16C, chosen only when
 * the CPU has them). llq_kernel_impl picks one for the whole process; tests compare the two.
 */
#ifndef LLQ_KERNELS_H
#define LLQ_KERNELS_H

#include "llq/llq.h"

#include <stddef.h>
#include <stdint.h>

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

/* A kernel computes rows r0..r1-1 of y for all n tokens: y[t*W->rows + r] = Σ_k x[t*W->cols + k] · W[r][k].
 * Kernels must be thread-safe (several threads call one kernel on disjoint row ranges) and must not allocate
 * more than small per-call scratch (stack or thread-local). */
typedef void (*llq_mm_kernel)(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);

enum llq_kernel_impl { LLQ_KERNEL_REF = 0, LLQ_KERNEL_FAST = 1 };

/* Process-wide choice, LLQ_KERNEL_FAST by default (falls back to ref per type when the CPU lacks AVX2/FMA/F16C
 * or no fast kernel exists). Set it before starting work, not while a matmul runs. */
extern int llq_kernel_impl;
void llq_kernel_set_impl(int impl);
/* "ref" / "fast" for the value in effect (fast downgraded to ref without AVX2). */
const char *llq_kernel_impl_name(void);
/* 1 if the CPU supports AVX2 + FMA + F16C. */
int llq_cpu_has_avx2(void);

/* The registration point: the kernel for weight type `type` and implementation impl (ref/fast), or NULL if
 * none. kernels/matmul.c holds the switch; a new type adds a case there and its functions in kernels/<type>*.c,
 * declared below. The fast choice already accounts for the CPU check. */
llq_mm_kernel llq_mm_select(uint32_t type, int impl);

/* Thread-local scratch for kernels: a buffer of at least n floats on the calling thread, valid until the next
 * call on that thread (NULL if allocation fails). llq_matmul reserves llq_mm_scratch_need(W) floats on every
 * thread before calling a kernel, so a kernel that asks for no more than that never gets NULL.
 * llq_mm_scratch_release frees the calling thread's buffer (pool workers do it when they exit). */
float *llq_mm_scratch(size_t n);
size_t llq_mm_scratch_need(const llq_mat *W); /* LLQ_MM_TILE * cols + 8192 */
void llq_mm_scratch_release(void);
/* A second per-thread buffer (same ownership rules; freed by llq_mm_scratch_release) for the activations the
 * windowed AVX2 GEMM copies and the output sums it accumulates: it asks for LLQ_MM_XBUF_FLOATS, which
 * llq_matmul reserves first. */
float *llq_mm_xbuf(size_t n);
#define LLQ_MM_XBUF_FLOATS (2 * 264 * 272)
#define LLQ_MM_TILE 32

/* ---- kernels (one per type × implementation; the _avx2 ones only after llq_cpu_has_avx2()) ---- */
void llq_mm_f32_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mm_f16_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mm_bf16_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mm_f32_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mm_f16_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mm_bf16_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
/* Any type llq_row_to_f32 decodes (q8/q4/q4a): dequantizes a tile of rows once, reuses it over all n tokens.
 * _ref runs the scalar f32 product on the tile, _avx2 the blocked AVX2 one. */
void llq_mm_dequant_ref(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mm_dequant_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);
/* q8/q4/q4a fast path (kernels/qdot*.c): n == 1 quantizes the activations to int8 per block of 32 and uses
 * integer dot products (maddubs/madd); n > 1 dequantizes tiles with AVX2 (bit-identical to llq_row_to_f32) and
 * runs the AVX2 f32 GEMM: the same numbers as llq_mm_dequant_avx2. */
void llq_mm_q_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);

/* ---- f32 building blocks shared by the forward pass (single-threaded; strides in elements) ---- */

/* y[t*ldy + r] = Σ_k x[t*ldx + k] · w[r*ldw + k] for t < n, r < rows, k < cols (f32 weights, any strides).
 * Uses the implementation chosen by llq_kernel_impl. */
void llq_gemm_f32(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                  size_t rows, size_t cols);
void llq_gemm_f32_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                      size_t rows, size_t cols);
void llq_gemm_f32_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                       size_t rows, size_t cols);
/* The same added to y: y[t*ldy + r] += Σ_k x[t*ldx + k] · w[r*ldw + k] (GPTQ's lazy batch update). */
void llq_gemm_f32_acc(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                      size_t rows, size_t cols);
void llq_gemm_f32_acc_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                          size_t rows, size_t cols);
void llq_gemm_f32_acc_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                           size_t rows, size_t cols);
/* The same with the weight given transposed: y[t*ldy + r] = Σ_k x[t*ldx + k] · v[k*ldv + r] (e.g. P·V). */
void llq_gemm_f32_nn(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                     size_t rows, size_t cols);
void llq_gemm_f32_nn_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                         size_t rows, size_t cols);
void llq_gemm_f32_nn_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                          size_t rows, size_t cols);


/* c[i*ldc + j] −= Σ_p a[i*lda + p] · b[p*ldb + j] for i < m, j < n, p < k (f64, row-major, any strides; c not
 * aliased with a or b). The block update of quantize/linalg.c's Cholesky and triangular inverse. */
void llq_dgemm_sub(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                   size_t n, size_t k);
void llq_dgemm_sub_ref(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                       size_t n, size_t k);
void llq_dgemm_sub_avx2(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                        size_t n, size_t k);

/* Attention of one query position over L cached positions, for one kv head and the G query heads sharing it:
 * for h < G, out[h*hd + d] = Σ_j p_h[j] · v[j*ldkv + d] with p_h = softmax((q_h · k_j) / scale) (llq_softmax),
 * q_h = q + h*hd, k_j = k + j*ldkv. s: scratch of G·L floats (holds p on return). out, q: G·hd floats.
 * kernels/attn.c: _ref is the per-head path (llq_gemm_f32, llq_softmax, llq_gemm_f32_nn refs); _avx2 reads each
 * key and value row once for all G heads (hd % 16 == 0; the dispatcher falls back to _ref otherwise). */
void llq_attn_one(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                  size_t G, float scale, float *s);
void llq_attn_one_ref(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                      size_t G, float scale, float *s);
void llq_attn_one_avx2(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L,
                       size_t hd, size_t G, float scale, float *s);

/* ---- element-wise helpers (vmath.c; dispatch under llq_kernel_impl, _ref/_avx2 twins) ---- */

/* g[i] = silu(g[i]) · u[i] (SwiGLU), silu(x) = x / (1 + e^-x). */
void llq_silu_mul(float *g, const float *u, size_t n);
void llq_silu_mul_ref(float *g, const float *u, size_t n);
void llq_silu_mul_avx2(float *g, const float *u, size_t n);
/* In place: s = softmax(s / scale) (max-shifted exp in f32, sum in f64). Returns the max of s / scale. */
float llq_softmax(float *s, size_t n, float scale);
float llq_softmax_ref(float *s, size_t n, float scale);
float llq_softmax_avx2(float *s, size_t n, float scale);
/* log Σ e^l[i] computed in f64 (max-shifted); *argmax (if not NULL) = first index of the maximum. */
double llq_logsumexp(const float *l, size_t n, size_t *argmax);
double llq_logsumexp_ref(const float *l, size_t n, size_t *argmax);
double llq_logsumexp_avx2(const float *l, size_t n, size_t *argmax);
/* KL(p ‖ q) = Σ p_i (log p_i − log q_i) in f64 from logits: log p = lb − zb, log q = lq − zq (zb, zq the
 * log-sum-exps). */
double llq_kl(const float *lb, double zb, const float *lq, double zq, size_t n);
double llq_kl_ref(const float *lb, double zb, const float *lq, double zq, size_t n);
double llq_kl_avx2(const float *lb, double zb, const float *lq, double zq, size_t n);

#endif
