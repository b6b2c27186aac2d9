/* matmul_avx2.c — AVX2/FMA/F16C twins of matmul_ref.c. Compiled with -mavx2 -mfma -mf16c; called only after
 * llq_cpu_has_avx2().
 *
 * Windows (n >= 3 tokens) use a packed GEMM: for each block of KC inputs and 16 weight rows, the rows are
 * converted to f32 (f16/bf16 by F16C/shift) and transposed into a panel P[KC][16] that stays in L1; a 6-token ×
 * 16-row register tile then does 12 FMAs per input (x broadcast, two panel vectors). Each weight byte is read
 * once per matmul; the tokens' activations are re-read from L2.
 * One or two tokens (generation) use a streaming matvec: 4 rows at a time straight from the mapping. */
#include "llq/format.h"
#include "llq/blocks.h"
#include "kern.h"
#include "qdot.h"

#include "kq_simd.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

#ifndef KC
#define KC 256
#endif /* inputs per block: the weight panel P[KC][16] is 16 KB (L1) */
#ifndef PFH
#define PFH _MM_HINT_T1
#endif
#define NR 16  /* weight rows per panel */
#define MR 6   /* tokens per register tile */
#ifndef NC
#define NC 256
#endif /* weight rows per chunk: the chunk's outputs (n × NC floats) stay in L2 across the k blocks */
#define XPAD 16 /* floats added to the copied activation rows' stride: no 4 KB aliasing between the tile's rows */
#ifndef MB
#define MB 264
#endif  /* tokens per block (a multiple of MR): a ctx-256 window is one block */
#ifndef XPF
#define XPF 4 /* activation rows prefetched ahead while copying */
#endif
#define YPAD 16 /* the same for the chunk's outputs, accumulated in the thread's buffer before going to y */
_Static_assert(LLQ_MM_XBUF_FLOATS >= MB * (KC + XPAD) + MB * (NC + YPAD), "activation buffer too small");

enum { SRC_F32, SRC_F16, SRC_BF16, SRC_F32_T, SRC_Q };

/* Where weight element (r, k) lives: rows of ld bytes (SRC_F32_T: v[k*ld/4 + r], i.e. Wᵀ stored; SRC_Q: rows of
 * a q8/q4/q4a matrix of K columns, dequantized while packing). */
typedef struct src {
    const uint8_t *base;
    size_t ld;
    int kind;
    uint32_t qtype, group;
    uint64_t K;
} src;

static inline __m256 load8(const src *s, size_t r, size_t k)
{
    const uint8_t *p = s->base + r * s->ld;
    switch (s->kind) {
    case SRC_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + 2 * k)));
    case SRC_BF16:
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p + 2 * k))), 16));
    default:
        return _mm256_loadu_ps((const float *)(const void *)p + k);
    }
}

static inline float load1(const src *s, size_t r, size_t k)
{
    uint16_t h;
    if (s->kind == SRC_F32_T)
        return ((const float *)(const void *)(s->base + k * s->ld))[r];
    const uint8_t *p = s->base + r * s->ld;
    switch (s->kind) {
    case SRC_F16:
        memcpy(&h, p + 2 * k, 2);
        return llq_f16_to_f32(h);
    case SRC_BF16:
        memcpy(&h, p + 2 * k, 2);
        return llq_bf16_to_f32(h);
    default:
        return ((const float *)(const void *)p)[k];
    }
}


/* out[k - k0] = element k of one q8/q4/q4a row of K columns, for k0 <= k < k1 (k0 a multiple of 32); exactly
 * llq_row_to_f32's numbers: one f32 multiply d·(n − z) per element. */
void llq_dequant_range_avx2(float *out, const uint8_t *row, uint32_t type, uint32_t group, uint64_t K, uint64_t k0,
                            uint64_t k1)
{
    uint32_t be, bb;
    if (llq_type_block(type, &be, &bb)) { /* ggml block types: AVX2 decoders where written, else the scalar one */
        float tmp[LLQ_QK_K];
        if (k0 % be == 0 && (k1 - k0) % be == 0 && llq_kq_dequant_avx2(out, row + k0 / be * bb, type, (k1 - k0) / be))
            return;
        for (uint64_t b0 = k0 / be * be; b0 < k1; b0 += be) {
            llq_block_to_f32(tmp, row + b0 / be * bb, type, 1);
            for (uint64_t k = b0 > k0 ? b0 : k0; k < b0 + be && k < k1; k++)
                out[k - k0] = tmp[k - b0];
        }
        return;
    }
    uint64_t glen, G;
    llq_group_geometry(group, K, &glen, &G);
    uint64_t Kp = glen * G;
    const uint8_t *dp = row + (type == LLQ_Q8 ? Kp : Kp / 2), *zp = dp + 2 * G;
    const __m128i m4 = _mm_set1_epi8(0x0f);
    for (uint64_t k = k0; k < k1; k += 32) {
        uint64_t g = k / glen;
        uint16_t h;
        memcpy(&h, dp + 2 * g, 2);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(h));
        __m128i c0, c1; /* the 32 codes in element order, as bytes */
        __m256i zv = _mm256_set1_epi32(type == LLQ_Q8 ? 0 : type == LLQ_Q4 ? 8 : zp[g]);
        if (type == LLQ_Q8) {
            c0 = _mm_loadu_si128((const __m128i *)(const void *)(row + k));
            c1 = _mm_loadu_si128((const __m128i *)(const void *)(row + k + 16));
        } else {
            __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(row + k / 2));
            c0 = _mm_and_si128(raw, m4);
            c1 = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        }
        float tmp[32];
        float *o = k + 32 <= k1 ? out + (k - k0) : tmp;
        for (int j = 0; j < 2; j++) {
            __m128i c = j ? c1 : c0;
            __m256i lo = type == LLQ_Q8 ? _mm256_cvtepi8_epi32(c) : _mm256_cvtepu8_epi32(c);
            __m256i hi = type == LLQ_Q8 ? _mm256_cvtepi8_epi32(_mm_srli_si128(c, 8))
                                        : _mm256_cvtepu8_epi32(_mm_srli_si128(c, 8));
            _mm256_storeu_ps(o + 16 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(lo, zv))));
            _mm256_storeu_ps(o + 16 * j + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(hi, zv))));
        }
        if (o == tmp)
            memcpy(out + (k - k0), tmp, (size_t)(k1 - k) * sizeof *out);
    }
}

/* 8 consecutive weights of one row at p (2- or 4-byte elements), as f32. */
static inline __attribute__((always_inline)) __m256 ld8(const uint8_t *p, int kind)
{
    __m128i h = kind == SRC_F32 ? _mm_setzero_si128() : _mm_loadu_si128((const __m128i *)(const void *)p);
    if (kind == SRC_F16)
        return _mm256_cvtph_ps(h);
    if (kind == SRC_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_loadu_ps((const float *)(const void *)p);
}

/* P[k][j] = W(r0 + j, k0 + k) for all 16 rows, k < k8 (a multiple of 8); kind a constant after inlining. */
static inline __attribute__((always_inline)) void pack16(float *P, const src *s, size_t r0, size_t k0, size_t k8,
                                                         int kind)
{
    size_t es = kind == SRC_F32 ? 4 : 2;
    for (size_t j0 = 0; j0 < NR; j0 += 8) {
        const uint8_t *p0 = s->base + (r0 + j0) * s->ld + k0 * es;
        size_t ld = s->ld;
        for (size_t k = 0; k < k8; k += 8) {
            const uint8_t *p = p0 + k * es;
            __m256 r[8] = {ld8(p, kind),          ld8(p + ld, kind),     ld8(p + 2 * ld, kind),
                           ld8(p + 3 * ld, kind), ld8(p + 4 * ld, kind), ld8(p + 5 * ld, kind),
                           ld8(p + 6 * ld, kind), ld8(p + 7 * ld, kind)};
            kq_transpose8(r);
            float *d = P + k * NR + j0;
            _mm256_store_ps(d, r[0]);
            _mm256_store_ps(d + NR, r[1]);
            _mm256_store_ps(d + 2 * NR, r[2]);
            _mm256_store_ps(d + 3 * NR, r[3]);
            _mm256_store_ps(d + 4 * NR, r[4]);
            _mm256_store_ps(d + 5 * NR, r[5]);
            _mm256_store_ps(d + 6 * NR, r[6]);
            _mm256_store_ps(d + 7 * NR, r[7]);
        }
    }
}

/* P[k][j] = W(r0 + j, k0 + k) for j < nr (0 for nr <= j < 16), k < kc. q is 16 × KC floats of scratch. */
static void pack(float *P, float *q, const src *s, size_t r0, size_t nr, size_t k0, size_t kc)
{
    if (s->kind == SRC_Q) { /* dequantize the 16 row pieces, then transpose them as f32 */
        for (size_t j = 0; j < nr; j++)
            llq_dequant_range_avx2(q + j * KC, s->base + (r0 + j) * s->ld, s->qtype, s->group, s->K, k0, k0 + kc);
        src f = {(const uint8_t *)q, KC * sizeof(float), SRC_F32, 0, 0, 0};
        pack(P, NULL, &f, 0, nr, 0, kc);
        return;
    }
    if (s->kind == SRC_F32_T) {
        for (size_t k = 0; k < kc; k++) {
            const float *v = (const float *)(const void *)(s->base + (k0 + k) * s->ld) + r0;
            if (nr == NR) {
                _mm256_store_ps(P + k * NR, _mm256_loadu_ps(v));
                _mm256_store_ps(P + k * NR + 8, _mm256_loadu_ps(v + 8));
            } else {
                for (size_t j = 0; j < NR; j++)
                    P[k * NR + j] = j < nr ? v[j] : 0.0f;
            }
        }
        return;
    }
    size_t k8 = kc & ~(size_t)7;
    if (nr == NR) { /* the common case, one specialised loop per kind */
        switch (s->kind) {
        case SRC_F16:
            pack16(P, s, r0, k0, k8, SRC_F16);
            break;
        case SRC_BF16:
            pack16(P, s, r0, k0, k8, SRC_BF16);
            break;
        default:
            pack16(P, s, r0, k0, k8, SRC_F32);
            break;
        }
        for (size_t k = k8; k < kc; k++)
            for (size_t j = 0; j < NR; j++)
                P[k * NR + j] = load1(s, r0 + j, k0 + k);
        return;
    }
    for (size_t j0 = 0; j0 < NR; j0 += 8) {
        if (j0 + 8 <= nr) {
            for (size_t k = 0; k < k8; k += 8) {
                __m256 r[8];
                for (int j = 0; j < 8; j++)
                    r[j] = load8(s, r0 + j0 + (size_t)j, k0 + k);
                kq_transpose8(r);
                for (int j = 0; j < 8; j++)
                    _mm256_store_ps(P + (k + (size_t)j) * NR + j0, r[j]);
            }
        } else {
            for (size_t k = 0; k < k8; k++)
                for (size_t j = j0; j < j0 + 8; j++)
                    P[k * NR + j] = j < nr ? load1(s, r0 + j, k0 + k) : 0.0f;
        }
        for (size_t k = k8; k < kc; k++)
            for (size_t j = j0; j < j0 + 8; j++)
                P[k * NR + j] = j < nr ? load1(s, r0 + j, k0 + k) : 0.0f;
    }
}

/* Brings the weight bytes of rows r0..r0+nr, inputs k0..k0+kc into L2 (the hardware prefetcher does not follow
 * 16 rows a page apart). */
static void prefetch_panel(const src *s, size_t r0, size_t nr, size_t k0, size_t kc)
{
    size_t b0, b1; /* byte range within each row */
    if (s->kind == SRC_F32_T)
        return; /* small transposed operands (attention) are already cached */
    if (s->kind == SRC_Q) {
        b0 = s->qtype == LLQ_Q8 ? k0 : k0 / 2;
        b1 = s->qtype == LLQ_Q8 ? k0 + kc : (k0 + kc + 1) / 2;
    } else {
        size_t es = s->kind == SRC_F32 ? 4 : 2;
        b0 = k0 * es;
        b1 = (k0 + kc) * es;
    }
    uint64_t glen = 0, G = 0, sc = 0; /* q types: the scales of the block's groups (f16 at sc + 2g) too */
    uint32_t be, bb;
    if (s->kind == SRC_Q && llq_type_block(s->qtype, &be, &bb)) { /* ggml blocks carry their scales inside */
        b0 = k0 / be * bb;
        b1 = (k0 + kc + be - 1) / be * bb;
    } else if (s->kind == SRC_Q) {
        llq_group_geometry(s->group, s->K, &glen, &G);
        sc = s->qtype == LLQ_Q8 ? glen * G : glen * G / 2;
    }
    for (size_t j = 0; j < nr; j++) {
        const char *p = (const char *)s->base + (r0 + j) * s->ld;
        for (size_t b = b0 & ~(size_t)63; b < b1; b += 64)
            _mm_prefetch(p + b, PFH);
        if (G) {
            _mm_prefetch(p + sc + 2 * (k0 / glen), PFH);
            if (s->qtype == LLQ_Q4A)
                _mm_prefetch(p + sc + 2 * G + k0 / glen, PFH);
        }
    }
}

/* The register tile: for i < 6, j < 16: c(i, j) = Σ_k x[i*ldx + k] · P[k][j], then y[i*ldy + j] = c (acc == 0)
 * or += c (acc == 1), for i < mr, j < nr only. The x rows beyond mr must be readable (zeros). */
static inline void tile(float *y, size_t ldy, size_t mr, size_t nr, int acc, const float *x, size_t ldx,
                        const float *P, size_t kc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx, *x4 = x + 4 * ldx, *x5 = x + 5 * ldx;
    _Pragma("GCC unroll 4") /* fewer loop uops: they compete with the FMAs, and with a hyperthread sibling */
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(P + k * NR), b1 = _mm256_load_ps(P + k * NR + 8), a;
        a = _mm256_broadcast_ss(x0 + k);
        c00 = _mm256_fmadd_ps(a, b0, c00);
        c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(x1 + k);
        c10 = _mm256_fmadd_ps(a, b0, c10);
        c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(x2 + k);
        c20 = _mm256_fmadd_ps(a, b0, c20);
        c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(x3 + k);
        c30 = _mm256_fmadd_ps(a, b0, c30);
        c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(x4 + k);
        c40 = _mm256_fmadd_ps(a, b0, c40);
        c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(x5 + k);
        c50 = _mm256_fmadd_ps(a, b0, c50);
        c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    __m256 c[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (nr == NR) {
        for (size_t i = 0; i < mr; i++) {
            float *yr = y + i * ldy;
            __m256 v0 = c[i][0], v1 = c[i][1];
            if (acc) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(yr));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(yr + 8));
            }
            _mm256_storeu_ps(yr, v0);
            _mm256_storeu_ps(yr + 8, v1);
        }
        return;
    }
    float t[NR];
    for (size_t i = 0; i < mr; i++) {
        _mm256_storeu_ps(t, c[i][0]);
        _mm256_storeu_ps(t + 8, c[i][1]);
        for (size_t j = 0; j < nr; j++)
            y[i * ldy + j] = acc ? y[i * ldy + j] + t[j] : t[j];
    }
}

/* d[t*ldd + k] = x[t*ldx + k] for t < n, k < kc: rows a few ahead prefetched (each row is a separate stream
 * the hardware prefetcher would start late on). */
static void copy_rows(float *d, size_t ldd, const float *x, size_t ldx, size_t n, size_t kc)
{
    size_t k8 = kc & ~(size_t)7;
    for (size_t t = 0; t < n; t++) {
        const float *xt = x + t * ldx;
        if (t + XPF < n)
            for (size_t k = 0; k < kc; k += 16)
                _mm_prefetch((const char *)(xt + XPF * ldx + k), _MM_HINT_T0);
        for (size_t k = 0; k < k8; k += 8)
            _mm256_store_ps(d + t * ldd + k, _mm256_loadu_ps(xt + k));
        for (size_t k = k8; k < kc; k++)
            d[t * ldd + k] = xt[k];
    }
}

/* y[t*ldy + r] = Σ_k x[t*ldx + k] · W(r, k) for t < n, r < rows, k < cols.
 * Loops: chunks of NC weight rows (their outputs stay in L2) › blocks of MB tokens › blocks of KC inputs, whose
 * activations are copied to the thread's xbuf at a padded stride › panels of 16 rows packed into P (L1), the
 * next one prefetched › 6-token register tiles, whose sums go to the chunk's outputs yb (xbuf's second part, also
 * at a padded stride) and from there to y once per chunk. */
static void gemm_packed(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const src *s, size_t rows,
                        size_t cols, int acc)
{
    _Alignas(64) float P[2 * KC * NR]; /* one 16-row panel (AVX2 tile), or two side by side (AVX-512 tile) */
    _Alignas(32) float q[NR * KC];
    const size_t ldb = KC + XPAD, ldc = NC + YPAD;
    const int wide = kern_use_avx512(); /* 12-token × 32-row tiles (matmul_avx512.c), else 6 × 16 */
    const size_t mr = wide ? 12 : MR, np = wide ? 2 * NR : NR; /* tokens per tile, rows per step */
    float *xb = llq_mm_xbuf(LLQ_MM_XBUF_FLOATS), *yb = xb + MB * ldb;
    if (!xb || cols == 0) { /* no buffer (llq_matmul reserves it first, so only direct callers see this): NaN */
        for (size_t t = 0; t < n; t++)
            for (size_t r = 0; r < rows; r++)
                y[t * ldy + r] = xb ? 0.0f : NAN;
        return;
    }
    for (size_t rc = 0; rc < rows; rc += NC) {
        size_t rce = rows - rc < NC ? rows : rc + NC;
        for (size_t t0 = 0; t0 < n; t0 += MB) {
            size_t tn = n - t0 < MB ? n - t0 : MB, tnp = (tn + mr - 1) / mr * mr;
            for (size_t k0 = 0; k0 < cols; k0 += KC) {
                size_t kc = cols - k0 < KC ? cols - k0 : KC;
                copy_rows(xb, ldb, x + t0 * ldx + k0, ldx, tn, kc);
                for (size_t t = tn; t < tnp; t++)
                    memset(xb + t * ldb, 0, kc * sizeof(float));
                for (size_t r = rc; r < rce; r += np) {
                    size_t nr = rce - r < np ? rce - r : np;
                    pack(P, q, s, r, nr < NR ? nr : NR, k0, kc);
                    if (nr > NR)
                        pack(P + KC * NR, q, s, r + NR, nr - NR, k0, kc);
                    if (r + np < rce) /* the next panels' weights, towards L2 while these compute */
                        prefetch_panel(s, r + np, rce - r - np < np ? rce - r - np : np, k0, kc);
                    float *yr = yb + (r - rc);
                    if (nr > NR) /* wide: two panels */
                        for (size_t t = 0; t < tn; t += mr)
                            llq_tile12x32_avx512(yr + t * ldc, ldc, tn - t < mr ? tn - t : mr, nr, k0 > 0,
                                                 xb + t * ldb, ldb, P, P + KC * NR, kc);
                    else
                        for (size_t t = 0; t < tn; t += MR)
                            tile(yr + t * ldc, ldc, tn - t < MR ? tn - t : MR, nr, k0 > 0, xb + t * ldb, ldb, P, kc);
                }
            }
            for (size_t t = 0; t < tn; t++) { /* y's rows are often a power of two apart: sums stay in yb until here */
                float *yt = y + (t0 + t) * ldy + rc;
                const float *bt = yb + t * ldc;
                if (!acc) {
                    memcpy(yt, bt, (rce - rc) * sizeof(float));
                    continue;
                }
                size_t w = rce - rc, w8 = w & ~(size_t)7;
                for (size_t j = 0; j < w8; j += 8)
                    _mm256_storeu_ps(yt + j, _mm256_add_ps(_mm256_loadu_ps(yt + j), _mm256_loadu_ps(bt + j)));
                for (size_t j = w8; j < w; j++)
                    yt[j] += bt[j];
            }
        }
    }
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Few tokens: stream 4 weight rows at a time, one dot product per (token, row). */
static void matvec(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const src *s, size_t rows,
                   size_t cols)
{
    size_t k8 = cols & ~(size_t)7, r = 0;
    for (; r + 4 <= rows; r += 4) {
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * ldx;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t k = 0; k < k8; k += 8) {
                __m256 xv = _mm256_loadu_ps(xt + k);
                a0 = _mm256_fmadd_ps(load8(s, r, k), xv, a0);
                a1 = _mm256_fmadd_ps(load8(s, r + 1, k), xv, a1);
                a2 = _mm256_fmadd_ps(load8(s, r + 2, k), xv, a2);
                a3 = _mm256_fmadd_ps(load8(s, r + 3, k), xv, a3);
            }
            float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
            for (size_t k = k8; k < cols; k++) {
                s0 += xt[k] * load1(s, r, k);
                s1 += xt[k] * load1(s, r + 1, k);
                s2 += xt[k] * load1(s, r + 2, k);
                s3 += xt[k] * load1(s, r + 3, k);
            }
            float *yt = y + t * ldy + r;
            yt[0] = s0;
            yt[1] = s1;
            yt[2] = s2;
            yt[3] = s3;
        }
    }
    for (; r < rows; r++) {
        for (size_t t = 0; t < n; t++) {
            const float *xt = x + t * ldx;
            __m256 a0 = _mm256_setzero_ps();
            for (size_t k = 0; k < k8; k += 8)
                a0 = _mm256_fmadd_ps(load8(s, r, k), _mm256_loadu_ps(xt + k), a0);
            float s0 = hsum(a0);
            for (size_t k = k8; k < cols; k++)
                s0 += xt[k] * load1(s, r, k);
            y[t * ldy + r] = s0;
        }
    }
}

static void run(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const src *s, size_t rows, size_t cols)
{
    if (n <= 2)
        matvec(y, ldy, x, ldx, n, s, rows, cols);
    else
        gemm_packed(y, ldy, x, ldx, n, s, rows, cols, 0);
}

static void mm(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1, int kind)
{
    src s = {(const uint8_t *)W->data + r0 * W->row_bytes, W->row_bytes, kind, 0, 0, 0};
    run(y + r0, W->rows, x, W->cols, n, &s, r1 - r0, W->cols);
}

void llq_mm_f32_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    mm(y, x, n, W, r0, r1, SRC_F32);
}

void llq_mm_f16_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    mm(y, x, n, W, r0, r1, SRC_F16);
}

void llq_mm_bf16_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    mm(y, x, n, W, r0, r1, SRC_BF16);
}

/* q8/q4/q4a: each 16-row × KC panel dequantized straight into the packed panel, then the f32 tiles over all n
 * tokens (weight-only semantics: the numbers of llq_mm_dequant_ref, up to f32 summation order). */
void llq_mm_dequant_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    src s = {(const uint8_t *)W->data + r0 * W->row_bytes, W->row_bytes, SRC_Q, W->type, W->group, W->cols};
    gemm_packed(y + r0, W->rows, x, W->cols, n, &s, r1 - r0, W->cols, 0);
}

void llq_gemm_f32_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                       size_t rows, size_t cols)
{
    src s = {(const uint8_t *)w, ldw * sizeof(float), SRC_F32, 0, 0, 0};
    run(y, ldy, x, ldx, n, &s, rows, cols);
}

void llq_gemm_f32_acc_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                           size_t rows, size_t cols)
{
    src s = {(const uint8_t *)w, ldw * sizeof(float), SRC_F32, 0, 0, 0};
    gemm_packed(y, ldy, x, ldx, n, &s, rows, cols, 1);
}

void llq_gemm_f32_nn_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                          size_t rows, size_t cols)
{
    if (n <= 2) { /* y_t = Σ_k x[t][k] · v[k][:], vectorised along r */
        size_t r8 = rows & ~(size_t)7;
        for (size_t t = 0; t < n; t++) {
            float *yt = y + t * ldy;
            memset(yt, 0, rows * sizeof(float));
            for (size_t k = 0; k < cols; k++) {
                float a = x[t * ldx + k];
                const float *vk = v + k * ldv;
                __m256 av = _mm256_set1_ps(a);
                for (size_t r = 0; r < r8; r += 8)
                    _mm256_storeu_ps(yt + r, _mm256_fmadd_ps(av, _mm256_loadu_ps(vk + r), _mm256_loadu_ps(yt + r)));
                for (size_t r = r8; r < rows; r++)
                    yt[r] += a * vk[r];
            }
        }
        return;
    }
    src s = {(const uint8_t *)v, ldv * sizeof(float), SRC_F32_T, 0, 0, 0};
    gemm_packed(y, ldy, x, ldx, n, &s, rows, cols, 0);
}
