/* qdot.c — scalar reference of the int8-activation matvec on q8/q4/q4a weights (definitions: kernels/qdot.h). */
#include "qdot.h"

#include "llq/format.h"

#include <math.h>
#include <string.h>

#define MAGIC 12582912.0f /* 1.5·2^23: (v + MAGIC) − MAGIC rounds |v| < 2^22 half to even */

size_t qact_floats(const llq_mat *W)
{
    uint64_t glen, G;
    llq_group_geometry(W->group, W->cols, &glen, &G);
    uint64_t Kp = glen * G, nb = Kp / 32;
    return (size_t)(Kp / 2 + 4 * nb + G + 112);
}

void qact_init(qact *a, const llq_mat *W, float *buf)
{
    llq_group_geometry(W->group, W->cols, &a->glen, &a->G);
    a->Kp = a->glen * a->G;
    a->nb = a->Kp / 32;
    uintptr_t p = ((uintptr_t)buf + 63) & ~(uintptr_t)63;
    a->q = (int8_t *)p;
    a->d = (float *)(void *)(p + a->Kp);
    a->s = (int32_t *)(void *)(a->d + a->nb);
    a->gs = (float *)(void *)(a->s + a->nb);
    a->qi = (int8_t *)(((uintptr_t)(a->gs + a->G) + 63) & ~(uintptr_t)63);
    a->dq = (float *)(void *)(a->qi + a->Kp);
    a->sq = (int32_t *)(void *)(a->dq + a->nb);
}

/* Group sums gs_g from the block scales and sums: shared by both twins. */
static void qact_group_sums(qact *a)
{
    uint64_t bpg = a->glen / 32;
    for (uint64_t g = 0; g < a->G; g++) {
        float t = 0.0f;
        for (uint64_t b = g * bpg; b < (g + 1) * bpg; b++) {
            float p = a->d[b] * (float)a->s[b];
            t += p;
        }
        a->gs[g] = t;
    }
}

void qact_quantize_ref(qact *a, const float *x, uint64_t K)
{
    for (uint64_t b = 0; b < a->nb; b++) {
        float v[32] = {0}, amax = 0.0f;
        uint64_t k0 = 32 * b, n = k0 >= K ? 0 : K - k0 < 32 ? K - k0 : 32;
        memcpy(v, x + (n ? k0 : 0), (size_t)n * sizeof *v);
        for (int i = 0; i < 32; i++)
            amax = fabsf(v[i]) > amax ? fabsf(v[i]) : amax;
        float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        int32_t s = 0;
        for (int i = 0; i < 32; i++) {
            float t = v[i] * inv;
            int q = (int)((t + MAGIC) - MAGIC);
            a->q[k0 + (uint64_t)i] = (int8_t)q;
            s += q;
        }
        a->d[b] = amax / 127.0f;
        a->s[b] = s;
    }
    qact_group_sums(a);
}

static float rd_f16(const uint8_t *p)
{
    return llq_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

float qdot_ref(const uint8_t *row, const qact *a, uint32_t type)
{
    uint64_t bpg = a->glen / 32;
    const uint8_t *dp = row + (type == LLQ_Q8 ? a->Kp : a->Kp / 2), *zp = dp + 2 * a->G;
    float y = 0.0f;
    for (uint64_t g = 0; g < a->G; g++) {
        int32_t zz = type == LLQ_Q8 ? 0 : type == LLQ_Q4 ? 8 : zp[g];
        float acc = 0.0f;
        for (uint64_t b = g * bpg; b < (g + 1) * bpg; b++) {
            const int8_t *q = a->q + 32 * b;
            int32_t S = 0;
            if (type == LLQ_Q8) {
                const int8_t *w = (const int8_t *)row + 32 * b;
                for (int i = 0; i < 32; i++)
                    S += (int32_t)w[i] * q[i];
            } else {
                const uint8_t *nib = row + 16 * b;
                for (int i = 0; i < 16; i++)
                    S += (int32_t)(nib[i] & 15) * q[i] + (int32_t)(nib[i] >> 4) * q[16 + i];
            }
            float p = a->d[b] * (float)(S - zz * a->s[b]);
            acc += p;
        }
        float p = rd_f16(dp + 2 * g) * acc;
        y += p;
    }
    return y;
}

void llq_mv_q_ref(float *y, const float *x, const llq_mat *W, uint64_t r0, uint64_t r1)
{
    float *buf = llq_mm_scratch(qact_floats(W));
    qact a;
    if (!buf) {
        for (uint64_t r = r0; r < r1; r++)
            y[r] = NAN;
        return;
    }
    qact_init(&a, W, buf);
    qact_quantize_ref(&a, x, W->cols);
    for (uint64_t r = r0; r < r1; r++)
        y[r] = qdot_ref((const uint8_t *)W->data + r * W->row_bytes, &a, W->type);
}
