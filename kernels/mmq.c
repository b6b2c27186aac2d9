/* mmq.c — the window GEMM with int8 activations: scalar reference and what its twins share (definitions:
 * kernels/mmq.h). */
#include "mmq.h"

#include "llq/blocks.h"
#include "llq/format.h"
#include "qdot.h"

#include <math.h>
#include <string.h>

size_t mmq_act_bytes(size_t n, uint64_t K)
{
    uint64_t nb = K / 32, per = K + nb * (4 + 4 + 4 + 4 + 8); /* q, d, s, ds, z8, z32 */
    if (n && per > (SIZE_MAX - 512) / n)
        return 0;
    return (size_t)(per * n) + 6 * 64;
}

static void *align64(void *p)
{
    return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

void mmq_act_layout(mmq_act *a, void *buf, size_t n, uint64_t K)
{
    a->n = n;
    a->K = K;
    a->nb = K / 32;
    size_t m = n * (size_t)a->nb;
    a->q = align64(buf);
    a->d = align64(a->q + n * K);
    a->s = align64(a->d + m);
    a->ds = align64(a->s + m);
    a->z8 = align64(a->ds + m);
    a->z32 = align64(a->z8 + m);
}

void mmq_act_derive(mmq_act *a, size_t t)
{
    const int8_t *q = a->q + t * a->K;
    for (uint64_t b = 0; b < a->nb; b++) {
        size_t i = t * a->nb + b;
        int32_t h0 = 0, h1 = 0;
        for (int k = 0; k < 16; k++) {
            h0 += q[32 * b + (uint64_t)k];
            h1 += q[32 * b + 16 + (uint64_t)k];
        }
        a->ds[i] = a->d[i] * (float)a->s[i];
        a->z8[i] = -8 * a->s[i];
        a->z32[2 * i] = -32 * h0;
        a->z32[2 * i + 1] = -32 * h1;
    }
}

void mmq_act_rows_ref(mmq_act *a, const float *x, size_t t0, size_t t1)
{
    for (size_t t = t0; t < t1; t++) {
        kq_act k = {.q = a->q + t * a->K, .d = a->d + t * a->nb, .s = a->s + t * a->nb};
        kq_act_quantize(&k, x + t * a->K, a->K);
        mmq_act_derive(a, t);
    }
}

int mmq_supports(const llq_mat *W)
{
    if (W->type == LLQ_Q4_K || W->type == LLQ_Q6_K)
        return W->cols % LLQ_QK_K == 0;
    if (W->type == LLQ_Q4_0)
        return W->cols % 32 == 0;
    if (W->type != LLQ_Q4 || W->cols % 32)
        return 0;
    uint64_t glen, G;
    llq_group_geometry(W->group, W->cols, &glen, &G);
    return glen % 32 == 0;
}

static float f16(const uint8_t *p)
{
    return llq_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

void mmq_pack_scales(mmq_panel *P, size_t r, const uint8_t *row, const llq_mat *W, uint64_t kb0, size_t nbk)
{
    if (W->type == LLQ_Q4) {
        uint64_t glen, G;
        llq_group_geometry(W->group, W->cols, &glen, &G);
        const uint8_t *dp = row + glen * G / 2;
        for (size_t b = 0; b < nbk; b++) {
            P->ws[b][0][r] = P->ws[b][1][r] = f16(dp + 2 * (32 * (kb0 + b) / glen));
            P->wm[b][r] = 0.0f;
        }
        return;
    }
    if (W->type == LLQ_Q4_0) { /* ggml's q4_0: the f16 d first in each block of 32 */
        for (size_t b = 0; b < nbk; b++) {
            P->ws[b][0][r] = P->ws[b][1][r] = f16(row + (kb0 + b) * sizeof(llq_blk_q4_0));
            P->wm[b][r] = 0.0f;
        }
        return;
    }
    float d = 0.0f, dmin = 0.0f; /* the super-block's scales, converted once per super-block */
    for (size_t b = 0; b < nbk; b++) {
        uint64_t kb = kb0 + b;
        if (W->type == LLQ_Q4_K) {
            const llq_blk_q4_k *k = (const void *)(row + kb / 8 * sizeof *k);
            uint8_t sc, m;
            if (b == 0 || kb % 8 == 0)
                d = llq_f16_to_f32(k->d), dmin = llq_f16_to_f32(k->dmin);
            llq_k4_scale_min((int)(kb % 8), k->scales, &sc, &m);
            P->ws[b][0][r] = P->ws[b][1][r] = d * (float)sc;
            P->wm[b][r] = dmin * (float)m;
        } else { /* q6_k: chunk c of half n of the super-block, sub-blocks 8n + 2c + h */
            const llq_blk_q6_k *k = (const void *)(row + kb / 8 * sizeof *k);
            unsigned n = (unsigned)(kb % 8) / 4, c = (unsigned)(kb % 4);
            if (b == 0 || kb % 8 == 0)
                d = llq_f16_to_f32(k->d);
            P->ws[b][0][r] = d * (float)k->scales[8 * n + 2 * c];
            P->ws[b][1][r] = d * (float)k->scales[8 * n + 2 * c + 1];
            P->wm[b][r] = 0.0f;
        }
    }
}

/* The 32 unsigned codes of block kb of one row, in element order. */
static void block_codes(uint8_t c[32], const uint8_t *row, uint32_t type, uint64_t kb)
{
    if (type == LLQ_Q4 || type == LLQ_Q4_0) { /* the same nibble order; q4_0's follow its f16 d */
        const uint8_t *nib = type == LLQ_Q4 ? row + 16 * kb : row + kb * sizeof(llq_blk_q4_0) + 2;
        for (int i = 0; i < 16; i++) {
            c[i] = nib[i] & 15;
            c[16 + i] = nib[i] >> 4;
        }
    } else if (type == LLQ_Q4_K) {
        const llq_blk_q4_k *b = (const void *)(row + kb / 8 * sizeof *b);
        unsigned j = (unsigned)(kb % 8);
        const uint8_t *qs = b->qs + 32 * (j / 2);
        for (int l = 0; l < 32; l++)
            c[l] = j & 1 ? qs[l] >> 4 : qs[l] & 15;
    } else {
        const llq_blk_q6_k *b = (const void *)(row + kb / 8 * sizeof *b);
        unsigned n = (unsigned)(kb % 8) / 4, ch = (unsigned)(kb % 4);
        for (int l = 0; l < 32; l++) {
            uint8_t lo = b->ql[64 * n + (unsigned)l + 32 * (ch & 1)];
            c[l] = (uint8_t)((ch < 2 ? lo & 15 : lo >> 4) | ((b->qh[32 * n + (unsigned)l] >> (2 * ch)) & 3) << 4);
        }
    }
}

void llq_mmq_ref(float *y, const mmq_act *a, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    static _Thread_local mmq_panel P[1]; /* only its scales of row 0 (10 KB: not on the stack) */
    for (uint64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)W->data + r * W->row_bytes;
        for (size_t t = 0; t < a->n; t++)
            y[t * W->rows + r] = 0.0f;
        for (uint64_t kb = 0; kb < a->nb; kb++) {
            uint8_t c[32];
            size_t b = kb % MMQ_KB;
            if (b == 0)
                mmq_pack_scales(P, 0, row, W, kb, a->nb - kb < MMQ_KB ? a->nb - kb : MMQ_KB);
            float ws[2] = {P->ws[b][0][0], P->ws[b][1][0]}, wm = P->wm[b][0];
            block_codes(c, row, W->type, kb);
            for (size_t t = 0; t < a->n; t++) {
                const int8_t *q = a->q + t * a->K + 32 * kb;
                size_t i = t * a->nb + kb;
                int32_t S[2] = {0, 0};
                for (int k = 0; k < 32; k++)
                    S[k / 16] += (int32_t)c[k] * q[k];
                float *yt = y + t * W->rows + r, dx = a->d[i];
                if (W->type == LLQ_Q4 || W->type == LLQ_Q4_0) {
                    *yt = fmaf((float)(S[0] + S[1] + a->z8[i]), ws[0] * dx, *yt);
                } else if (W->type == LLQ_Q4_K) {
                    *yt = fmaf((float)(S[0] + S[1]), ws[0] * dx, *yt);
                    *yt = fmaf(-wm, a->ds[i], *yt);
                } else {
                    for (int h = 0; h < 2; h++)
                        *yt = fmaf((float)(S[h] + a->z32[2 * i + (size_t)h]), ws[h] * dx, *yt);
                }
            }
        }
    }
}
