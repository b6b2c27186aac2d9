/* kquant.h — private: quantizing onto ggml's block types (quantize/kquant.c). A block's parameters (f16 d, dmin
 * and integer sub-block scales / mins) fix a grid per sub-block: value = a·v − c for integer codes v in
 * [qmin, qmax], or a·T[v] for the iq4 table (kq_sub_grid). RTN chooses the parameters (kq_choose) and the
 * nearest codes (kq_encode_block); GPTQ fixes the parameters first and snaps updated weights to the grid. */
#ifndef LLQ_KQUANT_H
#define LLQ_KQUANT_H

#include "llq/llq.h"

#include <stdint.h>

typedef struct kq_spec {
    uint32_t type;
    int blk, sub;     /* elements per block, per sub-block */
    int qmin, qmax;   /* code range v (table types: indices 0..15) */
    int affine;       /* value = a·v − c with a min (q*_k with dmin, q4_1, q5_1) */
    int table;        /* iq4: value = a·T[v] */
    int smax;         /* largest integer sub-block scale (signed types: range −(smax+1)..smax); 0: f16 per block */
} kq_spec;

typedef struct kq_params {
    uint16_t d, dmin; /* f16 bits (32-element affine blocks: dmin holds m) */
    int sc[16], mn[16];
} kq_params;

/* 0, or LLQ_EINVAL for a type that is not a block type. */
int kq_spec_of(kq_spec *s, uint32_t type);
/* Sub-block j's grid (a, c) from p, in the decoder's f32 arithmetic. */
void kq_sub_grid(const kq_spec *s, const kq_params *p, int j, float *a, float *c);
/* Nearest code of x on grid (a, c). */
int kq_code(const kq_spec *s, float a, float c, float x);
/* Chooses the parameters of one block x[s->blk] (imp: importance per element or NULL). x finite. */
void kq_choose(const kq_spec *s, kq_params *p, const float *x, const float *imp);
/* Packs parameters and codes v[s->blk] into one block (s->blk elements, the type's block bytes). */
void kq_pack(const kq_spec *s, void *dst, const kq_params *p, const int *v);
/* Nearest codes of x[s->blk] under p, packed. */
void kq_encode_block(const kq_spec *s, void *dst, const kq_params *p, const float *x);
/* The grid value element i (0..blk-1) of the block rounds x to under p. */
float kq_snap(const kq_spec *s, const kq_params *p, int i, float x);
/* RTN of one row x[K] (K a multiple of the block) into dst; imp[K] or NULL. LLQ_EINVAL on NaN/Inf or bad K. */
int kq_quantize_row(void *dst, const float *x, uint64_t K, uint32_t type, const float *imp);

#endif
