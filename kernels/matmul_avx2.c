/* matmul_avx2.c — AVX2/FMA/F16C twins of matmul_ref.c. Compiled with -mavx2 -mfma -mf16c; called only after
 * llq_cpu_has_avx2().
 *
 * Windows (n >= 3 tokens) use a packed GEMM: for each block of KC inputs and 16 weight rows, the rows are
 * converted to f32 (f16/bf16 by F16C/shift) and transposed into a panel P[KC][16] that stays in L1; a 6-token ×
 * 16-row register tile then does 12 FMAs per input (x broadcast, two panel vectors). Each weight byte is read
 * once per matmul; the tokens' activations are re-read from L2.
 * One or two tokens (generation) use a streaming matvec: 4 rows at a time straight from the mapping. */
#include "llq/format.h"
#include "llq/kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define KC 384 /* inputs per panel: P is 24 KB (L1); measured best of 128..768 here */
#define NR 16  /* weight rows per panel */
#define MR 6   /* tokens per register tile */

enum { SRC_F32, SRC_F16, SRC_BF16, SRC_F32_T };

/* Where weight element (r, k) lives: rows of ld bytes (SRC_F32_T: v[k*ld/4 + r], i.e. Wᵀ stored). */
typedef struct src {
    const uint8_t *base;
    size_t ld;
    int kind;
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

static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* P[k][j] = W(r0 + j, k0 + k) for j < nr (0 for nr <= j < 16), k < kc. */
static void pack(float *P, const src *s, size_t r0, size_t nr, size_t k0, size_t kc)
{
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
    for (size_t j0 = 0; j0 < NR; j0 += 8) {
        if (j0 + 8 <= nr) {
            for (size_t k = 0; k < k8; k += 8) {
                __m256 r[8];
                for (int j = 0; j < 8; j++)
                    r[j] = load8(s, r0 + j0 + (size_t)j, k0 + k);
                transpose8(r);
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

/* c[6][16] = Σ_k x[i*ldx + k] · P[k][j] over kc inputs. */
static inline void tile6x16(float *c, const float *x, size_t ldx, const float *P, size_t kc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx, *x4 = x + 4 * ldx, *x5 = x + 5 * ldx;
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
    _mm256_storeu_ps(c + 0, c00);
    _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + 16, c10);
    _mm256_storeu_ps(c + 24, c11);
    _mm256_storeu_ps(c + 32, c20);
    _mm256_storeu_ps(c + 40, c21);
    _mm256_storeu_ps(c + 48, c30);
    _mm256_storeu_ps(c + 56, c31);
    _mm256_storeu_ps(c + 64, c40);
    _mm256_storeu_ps(c + 72, c41);
    _mm256_storeu_ps(c + 80, c50);
    _mm256_storeu_ps(c + 88, c51);
}

/* y[t*ldy + r] = Σ_k x[t*ldx + k] · W(r, k) for t < n, r < rows, k < cols. */
static void gemm_packed(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const src *s, size_t rows,
                        size_t cols)
{
    _Alignas(32) float P[KC * NR];
    _Alignas(32) float xpad[MR * KC];
    float c[MR * NR];
    if (cols == 0) {
        for (size_t t = 0; t < n; t++)
            memset(y + t * ldy, 0, rows * sizeof(float));
        return;
    }
    for (size_t k0 = 0; k0 < cols; k0 += KC) {
        size_t kc = cols - k0 < KC ? cols - k0 : KC;
        for (size_t r = 0; r < rows; r += NR) {
            size_t nr = rows - r < NR ? rows - r : NR;
            pack(P, s, r, nr, k0, kc);
            for (size_t t = 0; t < n; t += MR) {
                size_t mr = n - t < MR ? n - t : MR;
                if (mr == MR) {
                    tile6x16(c, x + t * ldx + k0, ldx, P, kc);
                } else { /* last tokens: zero-padded copy */
                    memset(xpad, 0, sizeof xpad);
                    for (size_t i = 0; i < mr; i++)
                        memcpy(xpad + i * KC, x + (t + i) * ldx + k0, kc * sizeof(float));
                    tile6x16(c, xpad, KC, P, kc);
                }
                for (size_t i = 0; i < mr; i++) {
                    float *yr = y + (t + i) * ldy + r;
                    const float *cr = c + i * NR;
                    if (nr == NR) {
                        __m256 v0 = _mm256_loadu_ps(cr), v1 = _mm256_loadu_ps(cr + 8);
                        if (k0) {
                            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(yr));
                            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(yr + 8));
                        }
                        _mm256_storeu_ps(yr, v0);
                        _mm256_storeu_ps(yr + 8, v1);
                    } else {
                        for (size_t j = 0; j < nr; j++)
                            yr[j] = k0 ? yr[j] + cr[j] : cr[j];
                    }
                }
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
        gemm_packed(y, ldy, x, ldx, n, s, rows, cols);
}

static void mm(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1, int kind)
{
    src s = {(const uint8_t *)W->data + r0 * W->row_bytes, W->row_bytes, kind};
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

/* Tiles of LLQ_MM_TILE rows dequantized to f32 in the thread's scratch, then the f32 kernel over all tokens. */
void llq_mm_dequant_avx2(float *y, const float *x, size_t n, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    float *w = llq_mm_scratch(LLQ_MM_TILE * W->cols);
    for (uint64_t r = r0; r < r1; r += LLQ_MM_TILE) {
        uint64_t nr = r1 - r < LLQ_MM_TILE ? r1 - r : LLQ_MM_TILE;
        if (!w) {
            for (size_t t = 0; t < n; t++)
                for (uint64_t j = 0; j < nr; j++)
                    y[t * W->rows + r + j] = NAN;
            continue;
        }
        for (uint64_t j = 0; j < nr; j++)
            llq_row_to_f32(w + j * W->cols, (const uint8_t *)W->data + (r + j) * W->row_bytes, W->type, W->group,
                           W->cols);
        src s = {(const uint8_t *)w, W->cols * sizeof(float), SRC_F32};
        run(y + r, W->rows, x, W->cols, n, &s, nr, W->cols);
    }
}

void llq_gemm_f32_avx2(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                       size_t rows, size_t cols)
{
    src s = {(const uint8_t *)w, ldw * sizeof(float), SRC_F32};
    run(y, ldy, x, ldx, n, &s, rows, cols);
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
    src s = {(const uint8_t *)v, ldv * sizeof(float), SRC_F32_T};
    gemm_packed(y, ldy, x, ldx, n, &s, rows, cols);
}
