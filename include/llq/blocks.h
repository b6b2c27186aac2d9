/* blocks.h — the ggml block types of .llq format 1.1 (docs/FORMAT.md "Block types"): byte for byte the blocks
 * of llama.cpp's GGUF files, so that a GGUF tensor of one of these types is a .llq tensor by copy and back.
 *
 * A row of a block type is row_len / QK blocks back to back (row_len must be a multiple of the block length);
 * the tensor's group field is 0. All multi-byte fields are little-endian; f16 fields are IEEE binary16 stored
 * as uint16_t. Every struct is packed by construction (fields in decreasing alignment or bytes only) and its
 * size is asserted below. Dequantization (the definition of each type's values): format/blocks.c,
 * llq_block_to_f32.
 */
#ifndef LLQ_BLOCKS_H
#define LLQ_BLOCKS_H

#include <assert.h> /* static_assert in C11 and C++ */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLQ_QK 32   /* elements of a q4_0 / q4_1 / q5_0 / q5_1 / q8_0 / iq4_nl block */
#define LLQ_QK_K 256 /* elements of a K-quant / iq4_xs super-block */

typedef struct { uint16_t d; uint8_t qs[16]; } llq_blk_q4_0;                       /* x = d·(n−8) */
typedef struct { uint16_t d, m; uint8_t qs[16]; } llq_blk_q4_1;                    /* x = d·n + m */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } llq_blk_q5_0;        /* x = d·(n−16) */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } llq_blk_q5_1;     /* x = d·n + m */
typedef struct { uint16_t d; int8_t qs[32]; } llq_blk_q8_0;                        /* x = d·q */
typedef struct { uint16_t d; uint8_t qs[16]; } llq_blk_iq4_nl;                     /* x = d·T[n] */

typedef struct { /* 16 sub-blocks of 16: x = d·(sc&15)·q − dmin·(sc>>4), q 2 bits */
    uint8_t scales[16];
    uint8_t qs[64];
    uint16_t d, dmin;
} llq_blk_q2_k;
typedef struct { /* 16 sub-blocks of 16: x = d·(s−32)·(q − 4·!h), 6-bit s, q 2 bits + 1 high bit */
    uint8_t hmask[32];
    uint8_t qs[64];
    uint8_t scales[12];
    uint16_t d;
} llq_blk_q3_k;
typedef struct { /* 8 sub-blocks of 32: x = d·s·q − dmin·m, 6-bit s and m, q 4 bits */
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[128];
} llq_blk_q4_k;
typedef struct { /* as q4_k with a fifth bit in qh */
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[32];
    uint8_t qs[128];
} llq_blk_q5_k;
typedef struct { /* 16 sub-blocks of 16: x = d·sc·(q − 32), sc int8, q 6 bits (4 in ql, 2 in qh) */
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
} llq_blk_q6_k;
typedef struct { /* 8 sub-blocks of 32: x = d·(s−32)·T[n], 6-bit s (4 low bits in scales_l, 2 in scales_h) */
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[4];
    uint8_t qs[128];
} llq_blk_iq4_xs;

static_assert(sizeof(llq_blk_q4_0) == 18, "q4_0 block");
static_assert(sizeof(llq_blk_q4_1) == 20, "q4_1 block");
static_assert(sizeof(llq_blk_q5_0) == 22, "q5_0 block");
static_assert(sizeof(llq_blk_q5_1) == 24, "q5_1 block");
static_assert(sizeof(llq_blk_q8_0) == 34, "q8_0 block");
static_assert(sizeof(llq_blk_iq4_nl) == 18, "iq4_nl block");
static_assert(sizeof(llq_blk_q2_k) == 84, "q2_k block");
static_assert(sizeof(llq_blk_q3_k) == 110, "q3_k block");
static_assert(sizeof(llq_blk_q4_k) == 144, "q4_k block");
static_assert(sizeof(llq_blk_q5_k) == 176, "q5_k block");
static_assert(sizeof(llq_blk_q6_k) == 210, "q6_k block");
static_assert(sizeof(llq_blk_iq4_xs) == 136, "iq4_xs block");

/* The 16 values of iq4_nl / iq4_xs codes (ggml's kvalues_iq4nl). */
extern const int8_t llq_iq4_values[16];

/* Scale and min (6 bits each) of sub-block j (0..7) from q4_k / q5_k's 12 packed bytes. */
static inline void llq_k4_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* The 16 6-bit scales (0..63, before the −32) of a q3_k block's 12 packed bytes. */
static inline void llq_k3_scales(uint8_t out[16], const uint8_t *s)
{
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? s[i] & 0xF : s[i - 8] >> 4;
        int hi = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (uint8_t)(lo | hi << 4);
    }
}

#ifdef __cplusplus
}
#endif

#endif
