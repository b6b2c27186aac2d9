/* mmq_avx2.c — AVX2 twin of mmq.c (the window GEMM with int8 activations; kernels/mmq.h): the activation quantizer,
 * the panel packing, a 2-token × 16-row maddubs/madd tile, and the driver that runs either it or the AVX-512 VNNI
 * tile (kernels/mmq_vnni.c). Compiled with -mavx2 -mfma -mf16c; called only after llq_cpu_has_avx2().
 *
 * Loops (as the f32 window GEMM of matmul_avx2.c): chunks of NC weight rows, whose sums stay in the thread's
 * buffer yb › blocks of MB tokens › MMQ_KB blocks of 32 inputs › panels of 32 rows, packed (codes transposed so
 * that one load is 4 codes of 8 or 16 rows) and then used by every token tile. */
#include "mmq.h"

#include "llq/blocks.h"
#include "llq/format.h"

#include "kq_simd.h"
#include <immintrin.h>
#include <string.h>

#define NC 256  /* weight rows per chunk (a multiple of MMQ_NR) */
#define MB 264  /* tokens per block */
#define LDC (NC + 16)
#define MT2 2   /* tokens per AVX2 tile */
_Static_assert(LLQ_MM_XBUF_FLOATS >= MB * LDC, "the chunk's sums fit the thread's xbuf");
_Static_assert(NC % MMQ_NR == 0, "whole panels per chunk");

/* Rows t0..t1-1, bit-identical to kq_act_quantize (amax, d = amax/127, q = nearest-even(x·(1/d)) clamped). */
void mmq_act_rows_avx2(mmq_act *a, const float *x, size_t t0, size_t t1)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), lim = _mm256_set1_ps(127.0f), nlim = _mm256_set1_ps(-127.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (size_t t = t0; t < t1; t++) {
        const float *xt = x + t * a->K;
        for (uint64_t b = 0; b < a->nb; b++) {
            const float *v = xt + 32 * b;
            __m256 x0 = _mm256_loadu_ps(v), x1 = _mm256_loadu_ps(v + 8), x2 = _mm256_loadu_ps(v + 16),
                   x3 = _mm256_loadu_ps(v + 24);
            __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, x0), _mm256_andnot_ps(sign, x1)),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, x2), _mm256_andnot_ps(sign, x3)));
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_movehdup_ps(h));
            float amax = _mm_cvtss_f32(h), d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
            __m256 vid = _mm256_set1_ps(id);
            __m256i q[4];
            __m256 xs[4] = {x0, x1, x2, x3};
            for (int i = 0; i < 4; i++) {
                __m256 r = _mm256_round_ps(_mm256_mul_ps(xs[i], vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[i] = _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(r, lim), nlim));
            }
            __m256i s4 = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(void *)(a->q + t * a->K + 32 * b), _mm256_permutevar8x32_epi32(p, perm));
            a->d[t * a->nb + b] = d;
            a->s[t * a->nb + b] = _mm_cvtsi128_si32(s);
        }
        mmq_act_derive(a, t);
    }
}

/* The 32 codes of block kb of one row, as bytes in element order (mmq.c's block_codes). */
static inline __attribute__((always_inline)) __m256i codes(const uint8_t *row, uint32_t type, uint64_t kb)
{
    const __m256i m4 = _mm256_set1_epi8(15);
    if (type == LLQ_Q4 || type == LLQ_Q4_0) {
        const uint8_t *nib = type == LLQ_Q4 ? row + 16 * kb : row + kb * sizeof(llq_blk_q4_0) + 2;
        __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)nib), m = _mm_set1_epi8(15);
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m), _mm_and_si128(raw, m));
    }
    if (type == LLQ_Q4_K) {
        const llq_blk_q4_k *b = (const void *)(row + kb / 8 * sizeof *b);
        unsigned j = (unsigned)(kb % 8);
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(b->qs + 32 * (j / 2)));
        return _mm256_and_si256(j & 1 ? _mm256_srli_epi16(v, 4) : v, m4);
    }
    const llq_blk_q6_k *b = (const void *)(row + kb / 8 * sizeof *b);
    unsigned n = (unsigned)(kb % 8) / 4, c = (unsigned)(kb % 4);
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)(b->ql + 64 * n + 32 * (c & 1)));
    __m256i hb = _mm256_loadu_si256((const __m256i *)(const void *)(b->qh + 32 * n));
    __m256i nib = _mm256_and_si256(c < 2 ? lo : _mm256_srli_epi16(lo, 4), m4);
    __m256i hi = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128((int)(2 * c))), _mm256_set1_epi8(3));
    return _mm256_or_si256(nib, _mm256_slli_epi16(hi, 4));
}


/* The codes of P (rows r0..r0+nr-1, blocks kb0..kb0+nbk-1), type a constant after inlining. */
static inline __attribute__((always_inline)) void pack_codes(mmq_panel *P, const llq_mat *W, uint32_t type,
                                                             uint64_t r0, size_t nr, uint64_t kb0, size_t nbk)
{
    const uint8_t *base = (const uint8_t *)W->data + r0 * W->row_bytes;
    for (size_t g = 0; g < MMQ_NR; g += 8) {
        for (size_t b = 0; b < nbk; b++) {
            __m256 v[8];
            for (size_t i = 0; i < 8; i++)
                v[i] = g + i < nr ? _mm256_castsi256_ps(codes(base + (g + i) * W->row_bytes, type, kb0 + b))
                                  : _mm256_setzero_ps();
            kq_transpose8(v);
            for (int j = 0; j < 8; j++)
                _mm256_store_ps((float *)(void *)&P->q[b][j][g], v[j]);
        }
    }
}

/* P = rows r0..r0+nr-1 of W (nr <= 32; the rest zeros), blocks kb0..kb0+nbk-1. */
static void pack(mmq_panel *P, const llq_mat *W, uint64_t r0, size_t nr, uint64_t kb0, size_t nbk)
{
    const uint8_t *base = (const uint8_t *)W->data + r0 * W->row_bytes;
    if (W->type == LLQ_Q4)
        pack_codes(P, W, LLQ_Q4, r0, nr, kb0, nbk);
    else if (W->type == LLQ_Q4_0)
        pack_codes(P, W, LLQ_Q4_0, r0, nr, kb0, nbk);
    else if (W->type == LLQ_Q4_K)
        pack_codes(P, W, LLQ_Q4_K, r0, nr, kb0, nbk);
    else
        pack_codes(P, W, LLQ_Q6_K, r0, nr, kb0, nbk);
    uint64_t glen = 0, G = 0;
    if (W->type == LLQ_Q4) /* q4: the group scales converted here with F16C (mmq_pack_scales' numbers: exact) */
        llq_group_geometry(W->group, W->cols, &glen, &G);
    for (size_t r = 0; r < MMQ_NR; r++) {
        if (r < nr && W->type == LLQ_Q4) {
            const uint8_t *dp = base + r * W->row_bytes + glen * G / 2;
            for (size_t b = 0; b < nbk; b++) {
                uint16_t h;
                memcpy(&h, dp + 2 * (32 * (kb0 + b) / glen), 2);
                P->ws[b][0][r] = P->ws[b][1][r] = _cvtsh_ss(h);
                P->wm[b][r] = 0.0f;
            }
        } else if (r < nr) {
            mmq_pack_scales(P, r, base + r * W->row_bytes, W, kb0, nbk);
        } else {
            for (size_t b = 0; b < nbk; b++)
                P->ws[b][0][r] = P->ws[b][1][r] = P->wm[b][r] = 0.0f;
        }
    }
}

/* The next panel's weight bytes of blocks kb0..kb0+nbk-1 towards L2 (its rows are far apart). */
static void prefetch_panel(const llq_mat *W, uint64_t r0, size_t nr, uint64_t kb0, size_t nbk)
{
    size_t b0, b1;
    if (W->type == LLQ_Q4) {
        b0 = 16 * kb0;
        b1 = 16 * (kb0 + nbk);
    } else if (W->type == LLQ_Q4_0) {
        b0 = sizeof(llq_blk_q4_0) * kb0;
        b1 = sizeof(llq_blk_q4_0) * (kb0 + nbk);
    } else {
        size_t bb = W->type == LLQ_Q4_K ? sizeof(llq_blk_q4_k) : sizeof(llq_blk_q6_k);
        b0 = kb0 / 8 * bb;
        b1 = (kb0 + nbk + 7) / 8 * bb;
    }
    for (size_t j = 0; j < nr; j++) {
        const char *p = (const char *)W->data + (r0 + j) * W->row_bytes;
        for (size_t b = b0 & ~(size_t)63; b < b1; b += 64)
            _mm_prefetch(p + b, _MM_HINT_T1);
    }
}

static inline __m256i dot4(__m256i acc, __m256i w, __m256i x)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1)));
}

static inline int32_t x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The AVX2 tile: tokens t0..t0+mt-1 (mt <= MT2), rows h16..h16+15 of the panel; contract of mmq_tile_vnni. */
static inline __attribute__((always_inline)) void tile2(float *y, size_t ldy, size_t mt, int kind, int first,
                                                        const mmq_act *a, size_t t0, uint64_t kb0, size_t nbk,
                                                        const mmq_panel *P, size_t h16)
{
    __m256 fa[MT2][2];
    const int8_t *xq[MT2];
    size_t ti[MT2];
    for (size_t t = 0; t < MT2; t++) {
        ti[t] = t0 + (t < mt ? t : mt - 1);
        xq[t] = a->q + ti[t] * a->K;
        for (int v = 0; v < 2; v++)
            fa[t][v] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(y + (t < mt ? t : 0) * ldy + h16 + 8 * (size_t)v);
    }
    for (size_t b = 0; b < nbk; b++) {
        uint64_t kb = kb0 + b;
        for (int h = 0; h < (kind == MMQ_Q6K ? 2 : 1); h++) {
            int j0 = kind == MMQ_Q6K ? 4 * h : 0, j1 = kind == MMQ_Q6K ? j0 + 4 : 8;
            __m256i ia[MT2][2];
            for (size_t t = 0; t < MT2; t++) {
                size_t i = ti[t] * a->nb + kb;
                __m256i z = kind == MMQ_Q4    ? _mm256_set1_epi32(a->z8[i])
                            : kind == MMQ_Q6K ? _mm256_set1_epi32(a->z32[2 * i + (size_t)h])
                                              : _mm256_setzero_si256();
                ia[t][0] = ia[t][1] = z;
            }
            for (int j = j0; j < j1; j++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)&P->q[b][j][h16]);
                __m256i w1 = _mm256_load_si256((const __m256i *)(const void *)&P->q[b][j][h16 + 8]);
                for (size_t t = 0; t < MT2; t++) {
                    __m256i xv = _mm256_set1_epi32(x4(xq[t] + 32 * kb + 4 * (uint64_t)j));
                    ia[t][0] = dot4(ia[t][0], w0, xv);
                    ia[t][1] = dot4(ia[t][1], w1, xv);
                }
            }
            for (size_t t = 0; t < MT2; t++) {
                size_t i = ti[t] * a->nb + kb;
                __m256 dx = _mm256_set1_ps(a->d[i]);
                for (int v = 0; v < 2; v++) {
                    __m256 sc = _mm256_mul_ps(_mm256_load_ps(&P->ws[b][h][h16 + 8 * (size_t)v]), dx);
                    fa[t][v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[t][v]), sc, fa[t][v]);
                    if (kind == MMQ_Q4K)
                        fa[t][v] = _mm256_fnmadd_ps(_mm256_load_ps(&P->wm[b][h16 + 8 * (size_t)v]),
                                                    _mm256_set1_ps(a->ds[i]), fa[t][v]);
                }
            }
        }
    }
    for (size_t t = 0; t < mt; t++)
        for (int v = 0; v < 2; v++)
            _mm256_storeu_ps(y + t * ldy + h16 + 8 * (size_t)v, fa[t][v]);
}

static void tile_avx2(float *y, size_t ldy, size_t mt, int kind, int first, const mmq_act *a, size_t t0,
                      uint64_t kb0, size_t nbk, const mmq_panel *P)
{
    for (size_t h16 = 0; h16 < MMQ_NR; h16 += 16) {
        if (kind == MMQ_Q4)
            tile2(y, ldy, mt, MMQ_Q4, first, a, t0, kb0, nbk, P, h16);
        else if (kind == MMQ_Q4K)
            tile2(y, ldy, mt, MMQ_Q4K, first, a, t0, kb0, nbk, P, h16);
        else
            tile2(y, ldy, mt, MMQ_Q6K, first, a, t0, kb0, nbk, P, h16);
    }
}

void llq_mmq_avx2(float *y, const mmq_act *a, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    _Alignas(64) mmq_panel P;
    const int vnni = kern_use_avx512() && llq_cpu_has_avx512vnni();
    const size_t mt = vnni ? MMQ_MT : MT2;
    const int kind = W->type == LLQ_Q4 || W->type == LLQ_Q4_0 ? MMQ_Q4 : W->type == LLQ_Q4_K ? MMQ_Q4K : MMQ_Q6K;
    float *yb = llq_mm_xbuf(LLQ_MM_XBUF_FLOATS);
    if (!yb) { /* llq_matmul reserves it first: only direct callers can see this */
        for (size_t t = 0; t < a->n; t++)
            for (uint64_t r = r0; r < r1; r++)
                y[t * W->rows + r] = __builtin_nanf("");
        return;
    }
    for (uint64_t rc = r0; rc < r1; rc += NC) {
        uint64_t rce = r1 - rc < NC ? r1 : rc + NC;
        for (size_t tb = 0; tb < a->n; tb += MB) {
            size_t tn = a->n - tb < MB ? a->n - tb : MB;
            for (uint64_t kb0 = 0; kb0 < a->nb; kb0 += MMQ_KB) {
                size_t nbk = a->nb - kb0 < MMQ_KB ? (size_t)(a->nb - kb0) : MMQ_KB;
                for (uint64_t p = rc; p < rce; p += MMQ_NR) {
                    size_t nr = rce - p < MMQ_NR ? (size_t)(rce - p) : MMQ_NR;
                    pack(&P, W, p, nr, kb0, nbk);
                    if (p + MMQ_NR < rce)
                        prefetch_panel(W, p + MMQ_NR, rce - p - MMQ_NR < MMQ_NR ? rce - p - MMQ_NR : MMQ_NR, kb0,
                                       nbk);
                    else if (kb0 + MMQ_KB < a->nb)
                        prefetch_panel(W, rc, rce - rc < MMQ_NR ? rce - rc : MMQ_NR, kb0 + MMQ_KB, MMQ_KB);
                    float *yp = yb + (p - rc);
                    for (size_t t = 0; t < tn; t += mt) {
                        size_t m = tn - t < mt ? tn - t : mt;
                        if (vnni)
                            mmq_tile_vnni(yp + t * LDC, LDC, m, kind, kb0 == 0, a, tb + t, kb0, nbk, &P);
                        else
                            tile_avx2(yp + t * LDC, LDC, m, kind, kb0 == 0, a, tb + t, kb0, nbk, &P);
                    }
                }
            }
            for (size_t t = 0; t < tn; t++)
                memcpy(y + (tb + t) * W->rows + rc, yb + t * LDC, (size_t)(rce - rc) * sizeof *y);
        }
    }
}
