/* attn_avx2.c — AVX2 twin of llq_attn_one_ref (kernels/attn.c): one query position, G heads sharing one kv head.
 * Scores: two key rows at a time against up to four heads (eight FMA chains), each key row loaded once for all
 * heads. Values: blocks of JB rows, 16 columns (one cache line of a row) at a time for up to four heads, each
 * value line loaded once. Rows of one kv head are ldkv apart, a stride the hardware prefetchers do not follow
 * far, so keys are prefetched PF rows ahead and values one block ahead. Needs hd % 16 == 0 (llq_attn_one falls back to _ref otherwise). */
#include "kern.h"

#include <immintrin.h>

#define PF 32 /* key rows prefetched ahead */
#define JB 32 /* value rows per block; the next block's rows are prefetched while one is summed */

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

/* s[h*L + j] = q_h · k_j for heads h0..h0+nh-1 (nh <= 4; absent heads repeat the last one, not stored). */
static void scores4(float *s, const float *q, const float *k, size_t ldkv, size_t L, size_t hd, size_t h0, size_t nh,
                    int prefetch)
{
    const float *qh[4];
    for (size_t i = 0; i < 4; i++)
        qh[i] = q + (h0 + (i < nh ? i : nh - 1)) * hd;
    size_t j = 0;
    for (; j + 2 <= L; j += 2) {
        const float *k0 = k + j * ldkv, *k1 = k0 + ldkv;
        if (prefetch)
            for (size_t d = 0; d < hd; d += 16) {
                _mm_prefetch((const char *)(k0 + PF * ldkv + d), _MM_HINT_T0);
                _mm_prefetch((const char *)(k1 + PF * ldkv + d), _MM_HINT_T0);
            }
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (size_t d = 0; d < hd; d += 8) {
            __m256 x = _mm256_loadu_ps(k0 + d), y = _mm256_loadu_ps(k1 + d), w;
            w = _mm256_loadu_ps(qh[0] + d), a0 = _mm256_fmadd_ps(x, w, a0), b0 = _mm256_fmadd_ps(y, w, b0);
            w = _mm256_loadu_ps(qh[1] + d), a1 = _mm256_fmadd_ps(x, w, a1), b1 = _mm256_fmadd_ps(y, w, b1);
            w = _mm256_loadu_ps(qh[2] + d), a2 = _mm256_fmadd_ps(x, w, a2), b2 = _mm256_fmadd_ps(y, w, b2);
            w = _mm256_loadu_ps(qh[3] + d), a3 = _mm256_fmadd_ps(x, w, a3), b3 = _mm256_fmadd_ps(y, w, b3);
        }
        float ra[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)}, rb[4] = {hsum(b0), hsum(b1), hsum(b2), hsum(b3)};
        for (size_t i = 0; i < nh; i++)
            s[(h0 + i) * L + j] = ra[i], s[(h0 + i) * L + j + 1] = rb[i];
    }
    for (; j < L; j++) { /* an odd last row */
        const float *k0 = k + j * ldkv;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t d = 0; d < hd; d += 8) {
            __m256 x = _mm256_loadu_ps(k0 + d);
            a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(qh[0] + d), a0);
            a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(qh[1] + d), a1);
            a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(qh[2] + d), a2);
            a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(qh[3] + d), a3);
        }
        float ra[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
        for (size_t i = 0; i < nh; i++)
            s[(h0 + i) * L + j] = ra[i];
    }
}

/* out[h*hd + c..c+15] (+)= Σ_j p[h*L + j] · v_j[c..c+15] over rows j0..j1-1, for heads h0..h0+nh-1 (nh <= 4, as
 * in scores4); the first block (j0 == 0) starts from zero. With prefetch, line c/16 of each of the next block's
 * rows is fetched: over the hd/16 column passes of a block, the whole next block. */
static void values4(float *out, const float *p, const float *v, size_t ldkv, size_t L, size_t hd, size_t h0,
                    size_t nh, size_t c, size_t j0, size_t j1, int prefetch)
{
    const float *ph[4];
    for (size_t i = 0; i < 4; i++)
        ph[i] = p + (h0 + (i < nh ? i : nh - 1)) * L;
    __m256 r[8];
    for (size_t i = 0; i < 4; i++)
        for (size_t u = 0; u < 2; u++)
            r[2 * i + u] = j0 && i < nh ? _mm256_loadu_ps(out + (h0 + i) * hd + c + 8 * u) : _mm256_setzero_ps();
    __m256 a0 = r[0], b0 = r[1], a1 = r[2], b1 = r[3], a2 = r[4], b2 = r[5], a3 = r[6], b3 = r[7];
    for (size_t j = j0; j < j1; j++) {
        const float *vj = v + j * ldkv + c;
        if (prefetch)
            _mm_prefetch((const char *)(vj + JB * ldkv), _MM_HINT_T0);
        __m256 x = _mm256_loadu_ps(vj), y = _mm256_loadu_ps(vj + 8), w;
        w = _mm256_broadcast_ss(ph[0] + j), a0 = _mm256_fmadd_ps(w, x, a0), b0 = _mm256_fmadd_ps(w, y, b0);
        w = _mm256_broadcast_ss(ph[1] + j), a1 = _mm256_fmadd_ps(w, x, a1), b1 = _mm256_fmadd_ps(w, y, b1);
        w = _mm256_broadcast_ss(ph[2] + j), a2 = _mm256_fmadd_ps(w, x, a2), b2 = _mm256_fmadd_ps(w, y, b2);
        w = _mm256_broadcast_ss(ph[3] + j), a3 = _mm256_fmadd_ps(w, x, a3), b3 = _mm256_fmadd_ps(w, y, b3);
    }
    r[0] = a0, r[1] = b0, r[2] = a1, r[3] = b1, r[4] = a2, r[5] = b2, r[6] = a3, r[7] = b3;
    for (size_t i = 0; i < nh; i++) {
        _mm256_storeu_ps(out + (h0 + i) * hd + c, r[2 * i]);
        _mm256_storeu_ps(out + (h0 + i) * hd + c + 8, r[2 * i + 1]);
    }
}

void llq_attn_one_avx2(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                       size_t G, float scale, float *s)
{
    for (size_t h0 = 0; h0 < G; h0 += 4)
        scores4(s, q, k, ldkv, L, hd, h0, G - h0 < 4 ? G - h0 : 4, h0 == 0);
    for (size_t h = 0; h < G; h++)
        llq_softmax_avx2(s + h * L, L, scale);
    for (size_t j0 = 0; j0 < L; j0 += JB)
        for (size_t h0 = 0; h0 < G; h0 += 4)
            for (size_t c = 0; c < hd; c += 16)
                values4(out, s, v, ldkv, L, hd, h0, G - h0 < 4 ? G - h0 : 4, c, j0, L - j0 < JB ? L : j0 + JB, h0 == 0);
}
