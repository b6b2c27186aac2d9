/* kern.h — internal to the library: the per-implementation kernels behind include/llq/kernels.h (scalar _ref
 * definitions and their _avx2 twins, called only after llq_cpu_has_avx2()), the kernel registration point, the
 * process-wide implementation choice and the per-thread scratch buffers kernels use. Not installed; tests and
 * benchmarks include it to compare the twins. */
#ifndef LLQ_KERNELS_KERN_H
#define LLQ_KERNELS_KERN_H

#include "llq/kernels.h"

#include <stddef.h>
#include <stdint.h>

/* The implementation in effect (enum llq_kernel_impl; written by llq_kernel_set_impl). */
extern int kern_impl;
/* 1 (the default) lets the fast window GEMM use its AVX-512 tile where llq_cpu_has_avx512(); tests set 0 to run
 * the AVX2 tile on the same machine (both give the same bits). kern_use_avx512(): that choice and the CPU check. */
extern int kern_avx512;
int kern_use_avx512(void);

/* A kernel computes rows r0..r1-1 of y for all n tokens: y[t*W->rows + r] = Σ_k x[t*W->cols + k] · W[r][k].
 * Kernels must be thread-safe (several threads call one kernel on disjoint row ranges) and must not allocate
 * more than small per-call scratch (stack or thread-local). */
typedef void (*llq_mm_kernel)(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);

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

/* The AVX-512 register tile of the window GEMM (kernels/matmul_avx512.c; contract there). */
void llq_tile12x32_avx512(float *y, size_t ldy, size_t mr, size_t nr, int acc, const float *x, size_t ldx,
                          const float *P0, const float *P1, size_t kc);

/* Twins of the f32 building blocks, attention and element-wise helpers of kernels.h (same contracts). */
void llq_gemm_f32_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                      size_t rows, size_t cols);
void llq_gemm_f32_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                       size_t rows, size_t cols);
void llq_gemm_f32_acc_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                          size_t rows, size_t cols);
void llq_gemm_f32_acc_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                           size_t rows, size_t cols);
void llq_dgemm_sub_ref(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                       size_t n, size_t k);
void llq_dgemm_sub_avx2(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                        size_t n, size_t k);
void llq_gemm_f32_nn_ref(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                         size_t rows, size_t cols);
void llq_gemm_f32_nn_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                          size_t rows, size_t cols);
void llq_attn_one_ref(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                      size_t G, float scale, float *s);
void llq_attn_one_avx2(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L,
                       size_t hd, size_t G, float scale, float *s);
void llq_silu_mul_ref(float *g, const float *u, size_t n);
void llq_silu_mul_avx2(float *g, const float *u, size_t n);
float llq_softmax_ref(float *s, size_t n, float scale);
float llq_softmax_avx2(float *s, size_t n, float scale);
double llq_logsumexp_ref(const float *l, size_t n, size_t *argmax);
double llq_logsumexp_avx2(const float *l, size_t n, size_t *argmax);
double llq_kl_ref(const float *lb, double zb, const float *lq, double zq, size_t n);
double llq_kl_avx2(const float *lb, double zb, const float *lq, double zq, size_t n);

#endif
