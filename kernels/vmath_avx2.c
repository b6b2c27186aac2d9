/* vmath_avx2.c — AVX2/FMA twins of vmath.c: exp by range reduction to [-ln2/2, ln2/2] and a polynomial
 * (f32: degree 6, ~1 ulp; f64: degree 12, ~1 ulp), scaled by 2^n through the exponent bits. */
#include "kern.h"

#include <immintrin.h>
#include <math.h>

/* e^x for x in [-87.3, 88.7] (smaller x gives 0). */
static inline __m256 exp8(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.7f)), lo);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

void llq_silu_mul_avx2(float *g, const float *u, size_t n)
{
    size_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

static inline float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

float llq_softmax_avx2(float *s, size_t n, float scale)
{
    size_t i = 0, n8 = n & ~(size_t)7;
    const __m256 sc = _mm256_set1_ps(scale);
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; i < n8; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(s + i), sc);
        _mm256_storeu_ps(s + i, v);
        vm = _mm256_max_ps(vm, v);
    }
    float mx = hmax(vm);
    for (; i < n; i++) {
        s[i] /= scale;
        mx = s[i] > mx ? s[i] : mx;
    }
    __m256 m8 = _mm256_set1_ps(mx);
    __m256d acc = _mm256_setzero_pd();
    for (i = 0; i < n8; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + i), m8));
        _mm256_storeu_ps(s + i, e);
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double sum = hsum_pd(acc);
    for (; i < n; i++) {
        s[i] = expf(s[i] - mx);
        sum += s[i];
    }
    __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i < n8; i += 8)
        _mm256_storeu_ps(s + i, _mm256_mul_ps(_mm256_loadu_ps(s + i), inv));
    for (; i < n; i++)
        s[i] *= (float)(1.0 / sum);
    return mx;
}

/* e^x in f64 for x <= 0 (x < -708 gives 0). */
static inline __m256d exp4d(__m256d x)
{
    __m256d under = _mm256_cmp_pd(x, _mm256_set1_pd(-708.0), _CMP_LT_OQ);
    x = _mm256_max_pd(x, _mm256_set1_pd(-708.0));
    __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    static const double c[13] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
                                 1.0 / 5040,      1.0 / 720,      1.0 / 120,     1.0 / 24,     1.0 / 6,
                                 0.5,             1.0,            1.0};
    __m256d p = _mm256_set1_pd(c[0]);
    for (int i = 1; i < 13; i++)
        p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c[i]));
    __m128i ni = _mm256_cvtpd_epi32(n);
    __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(ni), _mm256_set1_epi64x(1023)), 52);
    return _mm256_andnot_pd(under, _mm256_mul_pd(p, _mm256_castsi256_pd(e)));
}

double llq_logsumexp_avx2(const float *l, size_t n, size_t *argmax)
{
    float mx = -INFINITY;
    size_t am = 0;
    for (size_t i = 0; i < n; i++) /* scalar: first index of the max, like the ref */
        if (l[i] > mx) {
            mx = l[i];
            am = i;
        }
    size_t i = 0;
    __m256d m4 = _mm256_set1_pd((double)mx), a0 = _mm256_setzero_pd(), a1 = a0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(l + i);
        a0 = _mm256_add_pd(a0, exp4d(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m4)));
        a1 = _mm256_add_pd(a1, exp4d(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m4)));
    }
    double s = hsum_pd(_mm256_add_pd(a0, a1));
    for (; i < n; i++)
        s += exp((double)l[i] - mx);
    if (argmax)
        *argmax = am;
    return (double)mx + log(s);
}

double llq_kl_avx2(const float *lb, double zb, const float *lq, double zq, size_t n)
{
    size_t i = 0;
    __m256d vzb = _mm256_set1_pd(zb), vzq = _mm256_set1_pd(zq), acc = _mm256_setzero_pd();
    for (; i + 4 <= n; i += 4) {
        __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(lb + i)), vzb);
        __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(lq + i)), vzq);
        acc = _mm256_fmadd_pd(exp4d(a), _mm256_sub_pd(a, b), acc);
    }
    double kl = hsum_pd(acc);
    for (; i < n; i++) {
        double a = (double)lb[i] - zb, b = (double)lq[i] - zq;
        kl += exp(a) * (a - b);
    }
    return kl;
}
