/* calib_q.c — group scale search and row packing shared by GPTQ and AWQ (see calib_q.h). */
#include "calib_q.h"

#include "llq/format.h"

#include <string.h>

int cq_layout_init(cq_layout *l, uint32_t type, uint32_t group, size_t cols)
{
    memset(l, 0, sizeof *l);
    llq_qrow q;
    if (!llq_type_is_grouped(type) || !cols || cols > ((size_t)1 << 40) || llq_qrow_init(&q, type, group, cols))
        return llq_err(LLQ_EINVAL, "cannot quantize %zu columns to type %u group %u", cols, type, group);
    l->type = type;
    l->group = group;
    l->cols = cols;
    l->glen = q.glen;
    l->n_groups = q.n_groups;
    l->row_bytes = q.row_bytes;
    if (type == LLQ_Q8) {
        l->qmin = -127, l->qmax = 127, l->zfix = 0;
    } else {
        l->qmin = 0, l->qmax = 15, l->zfix = type == LLQ_Q4 ? 8 : -1;
    }
    return 0;
}

static float f16_round(float d)
{
    return llq_f16_to_f32(llq_f32_to_f16(d));
}

static inline void axpy8(float *restrict y, const float *restrict x, float a)
{
    for (int k = 0; k < 8; k++)
        y[k] += a * x[k];
}

/* Error of quantizing x[n] with (d, z): Σ wd·δ² or δᵀ·hb·δ. scratch: 2n floats. */
static double group_err(const cq_layout *l, const float *x, size_t n, const float *wd, const float *hb, float d,
                        int z, float *scratch)
{
    float inv = cq_inv(d), *delta = scratch, *v = scratch + l->glen;
    double e = 0;
    for (size_t k = 0; k < n; k++) {
        int c = cq_code(x[k], inv, z, l->qmin, l->qmax);
        delta[k] = x[k] - d * (float)(c - z);
    }
    if (hb) {
        /* v = H·δ as a sum of H's rows (8-wide steps over the zero-padded block: the compiler vectorizes) */
        size_t n8 = (n + 7) & ~(size_t)7;
        for (size_t k = n; k < n8; k++)
            delta[k] = 0;
        memset(v, 0, n8 * sizeof *v);
        for (size_t i = 0; i < n; i++) {
            float di = delta[i];
            if (di == 0.0f)
                continue;
            const float *hr = hb + i * l->glen;
            for (size_t j = 0; j < n8; j += 8)
                axpy8(v + j, hr + j, di);
        }
        for (size_t k = 0; k < n; k++)
            e += (double)delta[k] * v[k];
    } else {
        for (size_t k = 0; k < n; k++)
            e += (double)delta[k] * delta[k] * (wd ? wd[k] : 1.0f);
    }
    return e;
}

void cq_search(const cq_layout *l, const float *x, size_t n, const float *wd, const float *hb, int clip,
               float *scratch, float *d_out, int *z_out)
{
    float mn = 0, mx = 0, sig = 0; /* sig: the value of largest magnitude, with its sign */
    for (size_t k = 0; k < n; k++) {
        if (x[k] < mn) mn = x[k];
        if (x[k] > mx) mx = x[k];
        if (fabsf(x[k]) > fabsf(sig)) sig = x[k];
    }
    *d_out = 0;
    *z_out = l->zfix >= 0 ? l->zfix : 0;
    if (sig == 0.0f)
        return;
    int steps = clip ? 20 : 0;
    double best = INFINITY;
    for (int s = 0; s <= steps; s++) {
        float r = 1.0f - 0.025f * (float)s;
        for (int v = 0; v < 2; v++) {
            float d;
            int z;
            if (l->type == LLQ_Q8) {
                if (v) break;
                d = fabsf(sig) * r / 127.0f, z = 0;
            } else if (l->type == LLQ_Q4) {
                /* the extreme maps to -8 (full use of the asymmetric code range) or to +7 */
                d = v ? sig * r / 7.0f : sig * r / -8.0f, z = 8;
            } else {
                if (v) break;
                float lo = mn * r, hi = mx * r;
                d = (hi - lo) / 15.0f;
                float zf = d > 0 ? nearbyintf(-lo / f16_round(d)) : 0;
                z = zf < 0 ? 0 : zf > 15 ? 15 : (int)zf;
            }
            d = f16_round(d);
            if (d == 0.0f || !isfinite(d))
                continue;
            double e = group_err(l, x, n, wd, hb, d, z, scratch);
            if (e < best)
                best = e, *d_out = d, *z_out = z;
        }
    }
}

void cq_hblocks(const cq_layout *l, const double *h, float *out)
{
    for (size_t g = 0; g < l->n_groups; g++) {
        size_t k0 = g * l->glen, n = l->cols - k0 < l->glen ? l->cols - k0 : l->glen;
        float *b = out + g * l->glen * l->glen;
        memset(b, 0, l->glen * l->glen * sizeof *b);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                b[i * l->glen + j] = (float)h[(k0 + i) * l->cols + k0 + j];
    }
}
