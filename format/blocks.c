/* blocks.c — the values of ggml's block types (llq/blocks.h, docs/FORMAT.md "Block types"): the scalar
 * definition every kernel of these types is tested against. Each expression is evaluated in f32 in the same
 * order as ggml's reference dequantization (compiled without contraction into FMA: -std=c11), so the values are
 * llama.cpp's bit for bit. */
#include "llq/blocks.h"
#include "llq/format.h"

#include <string.h>

const int8_t llq_iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static float h2f(uint16_t h) { return llq_f16_to_f32(h); }

static void deq_q4_0(float *y, const llq_blk_q4_0 *b)
{
    float d = h2f(b->d);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((b->qs[j] & 0xF) - 8) * d;
        y[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
    }
}

static void deq_q4_1(float *y, const llq_blk_q4_1 *b)
{
    float d = h2f(b->d), m = h2f(b->m);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(b->qs[j] & 0xF) * d + m;
        y[j + 16] = (float)(b->qs[j] >> 4) * d + m;
    }
}

/* The 5-bit codes of a q5_0 / q5_1 block: low nibbles + bit j (j + 16) of qh. */
static void q5_codes(int q[32], const uint8_t qh4[4], const uint8_t qs[16])
{
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0xF) | (int)(((qh >> j) << 4) & 0x10);
        q[j + 16] = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
    }
}

static void deq_q5_0(float *y, const llq_blk_q5_0 *b)
{
    int q[32];
    float d = h2f(b->d);
    q5_codes(q, b->qh, b->qs);
    for (int j = 0; j < 32; j++)
        y[j] = (float)(q[j] - 16) * d;
}

static void deq_q5_1(float *y, const llq_blk_q5_1 *b)
{
    int q[32];
    float d = h2f(b->d), m = h2f(b->m);
    q5_codes(q, b->qh, b->qs);
    for (int j = 0; j < 32; j++)
        y[j] = (float)q[j] * d + m;
}

static void deq_q8_0(float *y, const llq_blk_q8_0 *b)
{
    float d = h2f(b->d);
    for (int j = 0; j < 32; j++)
        y[j] = (float)b->qs[j] * d;
}

static void deq_iq4_nl(float *y, const llq_blk_iq4_nl *b)
{
    float d = h2f(b->d);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)llq_iq4_values[b->qs[j] & 0xF];
        y[j + 16] = d * (float)llq_iq4_values[b->qs[j] >> 4];
    }
}

/* q2_k: 2 halves of 128; in each, 4 bit planes (shift 0,2,4,6) of 32 bytes, each plane two sub-blocks of 16. */
static void deq_q2_k(float *y, const llq_blk_q2_k *b)
{
    float d = h2f(b->d), dmin = h2f(b->dmin);
    int is = 0;
    for (int n = 0; n < 2; n++) {
        const uint8_t *q = b->qs + 32 * n;
        for (int shift = 0; shift < 8; shift += 2) {
            for (int h = 0; h < 2; h++) {
                uint8_t sc = b->scales[is++];
                float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)((q[16 * h + l] >> shift) & 3) - ml;
            }
        }
    }
}

/* q3_k: as q2_k's planes; the high bit of element 32·plane + l (per half n) is bit (4n + plane) of hmask[l]. */
static void deq_q3_k(float *y, const llq_blk_q3_k *b)
{
    uint8_t sc[16];
    float d = h2f(b->d);
    llq_k3_scales(sc, b->scales);
    int is = 0;
    for (int n = 0; n < 2; n++) {
        const uint8_t *q = b->qs + 32 * n;
        for (int j = 0; j < 4; j++) {
            uint8_t m = (uint8_t)(1u << (4 * n + j));
            for (int h = 0; h < 2; h++) {
                float dl = d * (float)(sc[is++] - 32);
                for (int l = 16 * h; l < 16 * h + 16; l++)
                    *y++ = dl * (float)(((q[l] >> (2 * j)) & 3) - ((b->hmask[l] & m) ? 0 : 4));
            }
        }
    }
}

/* q4_k: 4 chunks of 64: 32 bytes, low nibbles = sub-block 2c, high nibbles = sub-block 2c + 1. */
static void deq_q4_k(float *y, const llq_blk_q4_k *b)
{
    float d = h2f(b->d), dmin = h2f(b->dmin);
    for (int c = 0; c < 4; c++) {
        const uint8_t *q = b->qs + 32 * c;
        for (int h = 0; h < 2; h++) {
            uint8_t sc, m;
            llq_k4_scale_min(2 * c + h, b->scales, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)(h ? q[l] >> 4 : q[l] & 0xF) - m1;
        }
    }
}

/* q5_k: as q4_k; the fifth bit of sub-block s's element l is bit s of qh[l]. */
static void deq_q5_k(float *y, const llq_blk_q5_k *b)
{
    float d = h2f(b->d), dmin = h2f(b->dmin);
    for (int c = 0; c < 4; c++) {
        const uint8_t *q = b->qs + 32 * c;
        for (int h = 0; h < 2; h++) {
            int s = 2 * c + h;
            uint8_t sc, m;
            llq_k4_scale_min(s, b->scales, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((h ? q[l] >> 4 : q[l] & 0xF) + ((b->qh[l] >> s) & 1 ? 16 : 0)) - m1;
        }
    }
}

/* q6_k: 2 halves of 128; element 32i + l (i = 0..3) of half n: low nibble of ql[64n + l + 32(i&1)] (high nibble
 * for i >= 2), high 2 bits at shift 2i of qh[32n + l]; scale sc[8n + 2i + l/16]. */
static void deq_q6_k(float *y, const llq_blk_q6_k *b)
{
    float d = h2f(b->d);
    for (int n = 0; n < 2; n++) {
        const uint8_t *ql = b->ql + 64 * n, *qh = b->qh + 32 * n;
        const int8_t *sc = b->scales + 8 * n;
        for (int i = 0; i < 4; i++) {
            for (int l = 0; l < 32; l++) {
                uint8_t lo = ql[l + 32 * (i & 1)];
                int q = ((i < 2 ? lo & 0xF : lo >> 4) | (((qh[l] >> (2 * i)) & 3) << 4)) - 32;
                y[32 * i + l] = d * (float)sc[2 * i + l / 16] * (float)q;
            }
        }
        y += 128;
    }
}

static void deq_iq4_xs(float *y, const llq_blk_iq4_xs *b)
{
    float d = h2f(b->d);
    for (int ib = 0; ib < 8; ib++) {
        int ls = ((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b->scales_h >> (2 * ib)) & 3) << 4);
        float dl = d * (float)(ls - 32);
        const uint8_t *qs = b->qs + 16 * ib;
        for (int j = 0; j < 16; j++) {
            y[j] = dl * (float)llq_iq4_values[qs[j] & 0xF];
            y[j + 16] = dl * (float)llq_iq4_values[qs[j] >> 4];
        }
        y += 32;
    }
}

void llq_block_to_f32(float *out, const void *blocks, uint32_t type, uint64_t n_blocks)
{
    uint32_t elems = 0, bytes = 0;
    if (!llq_type_block(type, &elems, &bytes))
        return;
    const uint8_t *p = blocks;
    for (uint64_t i = 0; i < n_blocks; i++, p += bytes, out += elems) {
        switch (type) {
        case LLQ_Q4_0: deq_q4_0(out, (const void *)p); break;
        case LLQ_Q4_1: deq_q4_1(out, (const void *)p); break;
        case LLQ_Q5_0: deq_q5_0(out, (const void *)p); break;
        case LLQ_Q5_1: deq_q5_1(out, (const void *)p); break;
        case LLQ_Q8_0: deq_q8_0(out, (const void *)p); break;
        case LLQ_IQ4_NL: deq_iq4_nl(out, (const void *)p); break;
        case LLQ_Q2_K: deq_q2_k(out, (const void *)p); break;
        case LLQ_Q3_K: deq_q3_k(out, (const void *)p); break;
        case LLQ_Q4_K: deq_q4_k(out, (const void *)p); break;
        case LLQ_Q5_K: deq_q5_k(out, (const void *)p); break;
        case LLQ_Q6_K: deq_q6_k(out, (const void *)p); break;
        case LLQ_IQ4_XS: deq_iq4_xs(out, (const void *)p); break;
        default: break;
        }
    }
}
