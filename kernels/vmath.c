/* vmath.c — element-wise helpers of the forward pass (SwiGLU gate, softmax, f64 log-sum-exp) with their
 * scalar _ref definitions and dispatch to the _avx2 twins (vmath_avx2.c) under the implementation chosen (kern_impl). */
#include "kern.h"

#include <math.h>

void llq_silu_mul_ref(float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

float llq_softmax_ref(float *s, size_t n, float scale)
{
    float mx = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        s[j] /= scale;
        mx = s[j] > mx ? s[j] : mx;
    }
    double sum = 0;
    for (size_t j = 0; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    float inv = (float)(1.0 / sum);
    for (size_t j = 0; j < n; j++)
        s[j] *= inv;
    return mx;
}

double llq_logsumexp_ref(const float *l, size_t n, size_t *argmax)
{
    double mx = -INFINITY, s = 0;
    size_t am = 0;
    for (size_t i = 0; i < n; i++)
        if (l[i] > mx) {
            mx = l[i];
            am = i;
        }
    for (size_t i = 0; i < n; i++)
        s += exp((double)l[i] - mx);
    if (argmax)
        *argmax = am;
    return mx + log(s);
}

double llq_kl_ref(const float *lb, double zb, const float *lq, double zq, size_t n)
{
    double kl = 0;
    for (size_t i = 0; i < n; i++) {
        double a = (double)lb[i] - zb, b = (double)lq[i] - zq;
        kl += exp(a) * (a - b);
    }
    return kl;
}

static int use_avx2(void)
{
    return kern_impl == LLQ_KERNEL_FAST && llq_cpu_has_avx2();
}

void llq_silu_mul(float *g, const float *u, size_t n)
{
    if (use_avx2())
        llq_silu_mul_avx2(g, u, n);
    else
        llq_silu_mul_ref(g, u, n);
}

float llq_softmax(float *s, size_t n, float scale)
{
    return use_avx2() ? llq_softmax_avx2(s, n, scale) : llq_softmax_ref(s, n, scale);
}

double llq_logsumexp(const float *l, size_t n, size_t *argmax)
{
    return use_avx2() ? llq_logsumexp_avx2(l, n, argmax) : llq_logsumexp_ref(l, n, argmax);
}

double llq_kl(const float *lb, double zb, const float *lq, double zq, size_t n)
{
    return use_avx2() ? llq_kl_avx2(lb, zb, lq, zq, n) : llq_kl_ref(lb, zb, lq, zq, n);
}
