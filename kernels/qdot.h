/* qdot.h — internal: one-token matrix-vector products on q8/q4/q4a weights with int8 activations
 * (kernels/qdot.c scalar reference, kernels/qdot_avx2.c AVX2). Used by the fast q kernels of kernels.h.
 *
 * The activation row x[K] is quantized per block of 32 (zero-padded to the weight row's padded length Kp):
 * xd_b = amax_b / 127, q = round_half_even(x · 127/amax_b), xs_b = Σ q over the block; and per weight group g
 * gs_g = Σ_{b in g} xd_b · xs_b. Both twins produce bit-identical activations.
 *
 * A row's dot product, with S_b = Σ_{k in b} n_k · q_k the integer block sum of raw codes n (q8: signed
 * codes; q4/q4a: nibbles 0..15) and zz_g the zero point (q8: 0, q4: 8, q4a: z_g):
 *     y = Σ_g d_g · Σ_{b in g} xd_b · (S_b − zz_g · xs_b)
 * The reference evaluates exactly that (integer part exact, then f32). The AVX2 twin computes the same
 * integers S_b − zz_g·xs_b (bit-exact) and sums Σ_b (xd_b·d_g)·(S_b − zz_g·xs_b) in another f32 order. */
#ifndef LLQ_QDOT_H
#define LLQ_QDOT_H

#include "kern.h"

#include <stdint.h>

/* How far ahead (bytes) the AVX2 kernels prefetch the weight stream, and how much of the next slice's start the
 * threaded matmul prefetches: measured best at 4 KB on the 2-vCPU VM (1 KB: 69-73 % of the plain-read bandwidth
 * while generating, 2 KB: 80-82 %, 4 KB: 85-90 %, 8 KB and more no better). Prefetches never fault. */
#ifndef QDOT_PF_AHEAD
#define QDOT_PF_AHEAD 4096
#endif

typedef struct qact {
    uint64_t Kp, nb, G, glen; /* padded length, blocks of 32, groups, group length */
    int8_t *q;                /* [Kp], 32-byte aligned */
    float *d;                 /* [nb] block scales */
    int32_t *s;               /* [nb] block sums of q */
    float *gs;                /* [G]  Σ_{b in g} d_b·s_b */
    int8_t *qi;               /* [Kp] AVX2 only: q with each pair of blocks (2j, 2j+1) stored as
                               * [first halves of 2j, 2j+1 | second halves of 2j, 2j+1] (matches a 32-byte
                               * load of two blocks of nibbles split into low and high nibbles) */
    float *dq;                /* [nb] AVX2 only: d with each full run of 8 blocks in the order 0 2 4 6 1 3 5 7
                               * (the lane order of the nibble kernel's block sums), the rest in block order */
    int32_t *sq;              /* [nb] AVX2 only: s in the same order */
} qact;

/* Floats of scratch a qact for W needs (see qact_init). */
size_t qact_floats(const llq_mat *W);
/* Lays a qact for W's geometry out in buf (qact_floats(W) floats, 64-byte aligned). */
void qact_init(qact *a, const llq_mat *W, float *buf);

void qact_quantize_ref(qact *a, const float *x, uint64_t K);
void qact_quantize_avx2(qact *a, const float *x, uint64_t K);

/* y = row · x for one weight row of W's type (q8, q4, q4a). */
float qdot_ref(const uint8_t *row, const qact *a, uint32_t type);
float qdot_avx2(const uint8_t *row, const qact *a, uint32_t type);

/* y[r] = W[r] · x for r0 <= r < r1 (one token), int8 activations. Scratch from llq_mm_scratch. */
void llq_mv_q_ref(float *y, const float *x, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mv_q_avx2(float *y, const float *x, const llq_mat *W, uint64_t r0, uint64_t r1);
/* The same for activations already quantized in a (the threaded matmul quantizes once per thread, not per slice). */
void llq_mv_q_rows_avx2(float *y, const qact *a, const llq_mat *W, uint64_t r0, uint64_t r1);

/* out[K]: one row of W's q type dequantized, bit-identical to llq_row_to_f32 (AVX2). */
void llq_dequant_row_avx2(float *out, const uint8_t *row, uint32_t type, uint32_t group, uint64_t K);
/* out[k - k0] = element k of the row for k0 <= k < k1, k0 a multiple of 32 (same numbers; matmul_avx2.c). */
void llq_dequant_range_avx2(float *out, const uint8_t *row, uint32_t type, uint32_t group, uint64_t K, uint64_t k0,
                            uint64_t k1);
/* ggml block types (all twelve; kq_avx2.c, kq_blk32_avx2.c): n_blocks blocks to f32, bit-identical to
 * llq_block_to_f32 (their _ref). Returns 0 without writing for other types. */
int llq_kq_dequant_avx2(float *out, const void *blocks, uint32_t type, uint64_t n_blocks);

/* One-token integer path for the ggml block types (kq_dot.c, kq_blk32.c; AVX2: kq_avx2.c, kq_blk32_avx2.c):
 * activations int8 per block of 32; the expressions per type are in kq_dot.c's header. */
typedef struct kq_act {
    int8_t *q;  /* [K] */
    float *d;   /* [K/32] block scales */
    int32_t *s; /* [K/32] block sums of q */
} kq_act;
/* 1 for the block types with the integer path (all twelve: q4_k q5_k q6_k q3_k q2_k iq4_xs q4_0 q4_1 q5_0 q5_1
 * q8_0 iq4_nl), else 0. */
int kq_has_dot(uint32_t type);
/* Lays a kq_act for rows of K out in buf (n_floats ≥ K/4 + 2·K/32 + 16); 0 if it does not fit. */
int kq_act_layout(kq_act *a, float *buf, size_t n_floats, uint64_t K);
void kq_act_quantize(kq_act *a, const float *x, uint64_t K);
/* One row of K weights (K a multiple of the type's block length) times the activations; NAN for a type without
 * the path. */
float kq_dot_ref(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K);
/* The blocks of 32 (kq_blk32.c): a row, and block p's f32 term A against its activations q[32] with sum xs. */
float kq_blk32_dot_ref(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K);
float kq_blk32_block_ref(const uint8_t *p, const int8_t *q, int32_t xs, uint32_t type);
float kq_blk32_dot_avx2(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K);
/* One block of 32 at p to f32 (y[32]), bit-identical to llq_block_to_f32 (AVX2). */
void kq_blk32_dequant_avx2(float *y, const uint8_t *p, uint32_t type);
/* The sum of the 8 lane accumulators of kq_dot (((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))). */
float kq_lanes_sum(const float l[8]);
float kq_dot_avx2(const uint8_t *row, const kq_act *a, uint32_t type, uint64_t K);
void llq_mv_kq_ref(float *y, const float *x, const llq_mat *W, uint64_t r0, uint64_t r1);
/* y[r] = W[r] · x for r0 <= r < r1, activations already quantized in a (the threaded matmul quantizes once per
 * thread and call). */
void llq_mv_kq_rows_avx2(float *y, const kq_act *a, const llq_mat *W, uint64_t r0, uint64_t r1);
/* Registered for the types of kq_has_dot (fast): n == 1 the integer path, n > 1 the packed-panel GEMM. */
void llq_mm_kq_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1);

#endif
