/* mmq.h — internal: the window GEMM with int8 activations (LLQ_MM_ACT_Q8 of include/llq/kernels.h) on q4 (groups a
 * multiple of 32), ggml's q4_0 (the same nibbles and zero point; d per block), q4_k and q6_k weights. kernels/mmq.c
 * holds the scalar reference and what both twins share, kernels/mmq_avx2.c the AVX2 driver (packing, the maddubs
 * tile), kernels/mmq_vnni.c the AVX-512 VNNI tile.
 *
 * Activations: every row x_t[K] (K a multiple of 32) is quantized per block b of 32 as the one-token K-quant path
 * does (kq_act_quantize: d = amax/127, q = round(x/d) in −127..127, s = Σ q), and a few per-block integers and
 * floats are derived from it (mmq_act_derive, shared). Weights: per block of 32 of row r, unsigned codes c (q4,
 * q4_0, q4_k: 0..15; q6_k: 0..63), a scale per half block ws_h (q4: the group's d, q4_0: the block's d, q4_k: d·sc,
 * both halves alike; q6_k: d·sc of its two sub-blocks of 16) and q4_k's min term wm = dmin·m. With
 * S_h = Σ_{k in half h} c_k·q_k:
 *   q4, q4_0: y = fma(float(S_0 + S_1 − 8·s), ws·d, y)
 *   q4_k: y = fma(float(S_0 + S_1), ws·d, y);  y = fma(−wm, d·s, y)
 *   q6_k: for h in 0, 1: y = fma(float(S_h − 32·s_h), ws_h·d, y)   (s_h = Σ q over the half)
 * over the blocks in order from y = 0. The integers are exact, the f32 operations the same in every twin and in the
 * same order, so the reference, the AVX2 and the AVX-512 VNNI tiles give the same bits (test_mmq). */
#ifndef LLQ_KERNELS_MMQ_H
#define LLQ_KERNELS_MMQ_H

#include "kern.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Quantized activations of n tokens of K columns (one buffer, mmq_act_layout). */
typedef struct mmq_act {
    size_t n;
    uint64_t K, nb;  /* columns, blocks of 32 (K / 32) */
    int8_t *q;       /* [n][K] codes */
    float *d;        /* [n][nb] block scales */
    int32_t *s;      /* [n][nb] Σ q of the block */
    float *ds;       /* [n][nb] d·s (q4_k's min term) */
    int32_t *z8;     /* [n][nb] −8·s (q4's zero point) */
    int32_t *z32;    /* [n][2·nb] −32·s_h of each half block (q6_k's offset) */
} mmq_act;

/* Bytes of the buffer a mmq_act of n × K needs (64-byte aligned start; 0 on overflow). */
size_t mmq_act_bytes(size_t n, uint64_t K);
/* Lays out a over buf (mmq_act_bytes(n, K) bytes, 64-byte aligned). */
void mmq_act_layout(mmq_act *a, void *buf, size_t n, uint64_t K);
/* Quantizes rows t0..t1-1 of x[n][K] into a: _ref with kq_act_quantize, _avx2 bit-identical; both then derive
 * ds, z8 and z32 with mmq_act_derive. */
void mmq_act_rows_ref(mmq_act *a, const float *x, size_t t0, size_t t1);
void mmq_act_rows_avx2(mmq_act *a, const float *x, size_t t0, size_t t1);
void mmq_act_derive(mmq_act *a, size_t t);

/* 1 if W can take the integer window path (q4 with groups a multiple of 32 and K a multiple of 32, q4_0, q4_k,
 * q6_k). */
int mmq_supports(const llq_mat *W);

/* y[t*W->rows + r] = row r of W · activation row t, for r0 <= r < r1 and every t < a->n (see the top). */
void llq_mmq_ref(float *y, const mmq_act *a, const llq_mat *W, uint64_t r0, uint64_t r1);
void llq_mmq_avx2(float *y, const mmq_act *a, const llq_mat *W, uint64_t r0, uint64_t r1);

/* A packed panel: 32 weight rows × MMQ_KB blocks of 32. q[b][j][r] holds the four u8 codes of elements
 * 32·b + 4·j .. + 3 of row r (little-endian in the int32), so that one 64-byte load is the codes of 16 rows for
 * one 4-element step of vpdpbusd; rows past the matrix have codes and scales 0. */
#define MMQ_KB 8
#define MMQ_NR 32
typedef struct mmq_panel {
    int32_t q[MMQ_KB][8][MMQ_NR];
    float ws[MMQ_KB][2][MMQ_NR];
    float wm[MMQ_KB][MMQ_NR];
} mmq_panel;
static_assert(sizeof(int32_t) == 4 * sizeof(uint8_t), "four codes per int32");
static_assert(sizeof(mmq_panel) == MMQ_KB * MMQ_NR * (32 + 2 * 4 + 4), "mmq panel: no padding");
static_assert(MMQ_KB * 32 % 256 == 0, "a panel's blocks are whole K-quant super-blocks");

/* The scales of blocks kb0..kb0+nbk-1 of one row of W into P->ws[b][h][r] and P->wm[b][r] (0 but for q4_k).
 * Shared by the reference and the packing. */
void mmq_pack_scales(mmq_panel *P, size_t r, const uint8_t *row, const llq_mat *W, uint64_t kb0, size_t nbk);

/* Kinds of tile (the weight type's arithmetic above). */
enum { MMQ_Q4 = 0, MMQ_Q4K = 1, MMQ_Q6K = 2 };
#define MMQ_MT 6 /* tokens per AVX-512 tile */

/* The AVX-512 VNNI tile (kernels/mmq_vnni.c; only when kern_use_avx512() and llq_cpu_has_avx512vnni()):
 * for tokens t0..t0+mt-1 (mt <= MMQ_MT) and the panel's 32 rows, over its blocks kb0..kb0+nbk-1:
 *   y[i*ldy + j] = (first ? 0 : y[i*ldy + j]) + the block terms above, in block order. */
void mmq_tile_vnni(float *y, size_t ldy, size_t mt, int kind, int first, const mmq_act *a, size_t t0,
                   uint64_t kb0, size_t nbk, const mmq_panel *P);

#endif
