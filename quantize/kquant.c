/* kquant.c — round to nearest onto ggml's block types (llq/blocks.h) with searched scales, and the grid of a
 * quantized block as GPTQ needs it (kquant.h).
 *
 * Every block type's value is a·v − c for an integer v in a range (or v an index into the iq4 table, value
 * a·T[v]), with (a, c) per sub-block computed from the stored fields exactly as the decoder does. Quantizing a
 * block: (1) per sub-block, a least-squares fit of (scale, min) or a signed scale over candidate grids (weighted
 * squared error); (2) the sub-block scales quantized to their integer fields under the block's f16 d (and dmin),
 * for several candidate d; (3) each sub-block's integer scale (and min) moved by ±2 where that lowers the error
 * measured with the final codes. Weights: importance imp[k]·sqrt(σ² + x²) when importance is given (σ² = mean
 * x² of the block), otherwise |x| + rms (affine types) or x² (symmetric and table types). */
#include "kquant.h"

#include "llq/blocks.h"
#include "llq/format.h"

#include <math.h>
#include <string.h>

static float f16r(float v) { return llq_f16_to_f32(llq_f32_to_f16(v)); }
static int iround(float v) { return (int)nearbyintf(v); }
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

int kq_spec_of(kq_spec *s, uint32_t type)
{
    memset(s, 0, sizeof *s);
    s->type = type;
    switch (type) {
    case LLQ_Q4_K: *s = (kq_spec){type, 256, 32, 0, 15, 1, 0, 63}; break;
    case LLQ_Q5_K: *s = (kq_spec){type, 256, 32, 0, 31, 1, 0, 63}; break;
    case LLQ_Q2_K: *s = (kq_spec){type, 256, 16, 0, 3, 1, 0, 15}; break;
    case LLQ_Q6_K: *s = (kq_spec){type, 256, 16, -32, 31, 0, 0, 127}; break;
    case LLQ_Q3_K: *s = (kq_spec){type, 256, 16, -4, 3, 0, 0, 31}; break;
    case LLQ_IQ4_XS: *s = (kq_spec){type, 256, 32, 0, 15, 0, 1, 31}; break;
    case LLQ_Q4_0: *s = (kq_spec){type, 32, 32, -8, 7, 0, 0, 0}; break;
    case LLQ_Q5_0: *s = (kq_spec){type, 32, 32, -16, 15, 0, 0, 0}; break;
    case LLQ_Q8_0: *s = (kq_spec){type, 32, 32, -127, 127, 0, 0, 0}; break;
    case LLQ_Q4_1: *s = (kq_spec){type, 32, 32, 0, 15, 1, 0, 0}; break;
    case LLQ_Q5_1: *s = (kq_spec){type, 32, 32, 0, 31, 1, 0, 0}; break;
    case LLQ_IQ4_NL: *s = (kq_spec){type, 32, 32, 0, 15, 0, 1, 0}; break;
    default: return llq_err(LLQ_EINVAL, "type %s is not a block type", llq_type_name(type) ? llq_type_name(type) : "?");
    }
    return LLQ_OK;
}

/* (a, c) of sub-block s from the block parameters, in the decoder's f32 arithmetic. */
void kq_sub_grid(const kq_spec *s, const kq_params *p, int j, float *a, float *c)
{
    float d = llq_f16_to_f32(p->d), dm = llq_f16_to_f32(p->dmin);
    if (s->blk == 32) { /* one sub-block, f16 d (and m: value n·d + m = a·v − (−m)) */
        *a = d;
        *c = s->affine ? -dm : 0.0f;
    } else if (s->affine) {
        *a = d * (float)p->sc[j];
        *c = dm * (float)p->mn[j];
    } else {
        *a = d * (float)p->sc[j];
        *c = 0.0f;
    }
}

static float value(const kq_spec *s, float a, float c, int v)
{
    return s->table ? a * (float)llq_iq4_values[v] : a * (float)v - c;
}

/* Nearest code to x on the grid (a, c). */
int kq_code(const kq_spec *s, float a, float c, float x)
{
    if (a == 0.0f)
        return s->table ? 8 : clampi(0, s->qmin, s->qmax);
    if (!s->table)
        return clampi(iround((x + c) / a), s->qmin, s->qmax);
    int best = 0; /* nearest table entry */
    float bd = INFINITY;
    for (int i = 0; i < 16; i++) {
        float dd = fabsf(a * (float)llq_iq4_values[i] - x);
        if (dd < bd)
            bd = dd, best = i;
    }
    return best;
}

static double sub_err(const kq_spec *s, float a, float c, const float *x, const float *w, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++) {
        float dlt = x[i] - value(s, a, c, kq_code(s, a, c, x[i]));
        e += (double)w[i] * dlt * dlt;
    }
    return e;
}

/* Float fit of one sub-block: affine (value = sc·v − mn, sc ≥ 0, mn ≥ 0: the grid reaches down to min(x, 0)) or
 * signed scale (value = sc·v, or sc·T[v]). Candidates spread around the range; each refit by weighted least
 * squares for its codes. */
static void fit_sub(const kq_spec *s, const float *x, const float *w, int n, float *sc_out, float *mn_out)
{
    float mn = 0, mx = 0, sig = 0;
    for (int i = 0; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
        sig = fabsf(x[i]) > fabsf(sig) ? x[i] : sig;
    }
    *sc_out = 0, *mn_out = 0;
    if (sig == 0.0f)
        return;
    double best = INFINITY;
    int v[32];
    for (int is = -10; is <= 16; is++) {
        for (int side = 0; side < (s->affine ? 1 : 2); side++) {
            float iscale;
            if (s->affine)
                iscale = ((float)s->qmax + 0.1f * (float)is) / (mx - mn);
            else if (s->table) /* the extreme maps to the table's end on its side */
                iscale = (side ? 113.0f : -127.0f) * (1.0f + 0.02f * (float)is) / sig;
            else
                iscale = (side ? (float)s->qmax : (float)s->qmin) * (1.0f + 0.02f * (float)is) / sig;
            if (!(iscale > 0) && s->affine)
                continue;
            double sw = 0, sv = 0, svv = 0, sx = 0, sxv = 0;
            for (int i = 0; i < n; i++) {
                if (s->affine)
                    v[i] = clampi(iround(iscale * (x[i] - mn)), s->qmin, s->qmax);
                else if (s->table)
                    v[i] = kq_code(s, 1.0f / iscale, 0, x[i]);
                else
                    v[i] = clampi(iround(iscale * x[i]), s->qmin, s->qmax);
                double q = s->table ? llq_iq4_values[v[i]] : v[i];
                sw += w[i], sv += w[i] * q, svv += w[i] * q * q, sx += w[i] * x[i], sxv += w[i] * q * x[i];
            }
            float a, c = 0;
            if (s->affine) {
                double D = sw * svv - sv * sv;
                if (!(D > 0))
                    continue;
                a = (float)((sw * sxv - sx * sv) / D);
                float b = (float)((svv * sx - sv * sxv) / D); /* value = a·v + b */
                if (b > 0 && s->blk == 256) /* K types subtract dmin·m, m >= 0 */
                    b = 0, a = svv > 0 ? (float)(sxv / svv) : 0;
                c = -b;
                if (!(a > 0))
                    continue;
            } else {
                if (!(svv > 0))
                    continue;
                a = (float)(sxv / svv);
            }
            double e = sub_err(s, a, c, x, w, n);
            if (e < best)
                best = e, *sc_out = a, *mn_out = c;
        }
    }
}

static double block_err(const kq_spec *s, const kq_params *p, const float *x, const float *w)
{
    double e = 0;
    for (int j = 0; j < s->blk / s->sub; j++) {
        float a, c;
        kq_sub_grid(s, p, j, &a, &c);
        e += sub_err(s, a, c, x + j * s->sub, w + j * s->sub, s->sub);
    }
    return e;
}

/* Integer sub-block fields for super-block scale d (dmin): rounding, then each sub-block's fields moved by up to
 * ±2 where the error with its final codes drops. */
static double set_ints(const kq_spec *s, kq_params *p, const float *scf, const float *mnf, const float *x,
                       const float *w)
{
    float d = llq_f16_to_f32(p->d), dm = llq_f16_to_f32(p->dmin);
    int lo = s->affine ? 0 : -(s->smax + 1), hi = s->smax;
    double tot = 0;
    for (int j = 0; j < s->blk / s->sub; j++) {
        int sc0 = d != 0 ? clampi(iround(scf[j] / d), lo, hi) : 0;
        int mn0 = s->affine && dm != 0 ? clampi(iround(mnf[j] / dm), 0, s->smax) : 0;
        double best = INFINITY;
        int bs = sc0, bm = mn0;
        for (int ds = -2; ds <= 2; ds++) {
            for (int dmn = (s->affine ? -2 : 0); dmn <= (s->affine ? 2 : 0); dmn++) {
                int sc = sc0 + ds, m = mn0 + dmn;
                if (sc < lo || sc > hi || m < 0 || m > s->smax)
                    continue;
                float a = d * (float)sc, c = s->affine ? dm * (float)m : 0.0f;
                double e = sub_err(s, a, c, x + j * s->sub, w + j * s->sub, s->sub);
                if (e < best)
                    best = e, bs = sc, bm = m;
            }
        }
        p->sc[j] = bs, p->mn[j] = bm;
        tot += best;
    }
    return tot;
}

void kq_choose(const kq_spec *s, kq_params *p, const float *x, const float *imp)
{
    int n = s->blk, ns = s->blk / s->sub;
    float w[256], scf[16], mnf[16];
    double s2 = 0, sa = 0;
    for (int i = 0; i < n; i++)
        s2 += (double)x[i] * x[i];
    float sigma2 = (float)(s2 / n), rms = sqrtf(sigma2);
    for (int i = 0; i < n; i++) {
        if (imp)
            w[i] = imp[i] * sqrtf(sigma2 + x[i] * x[i]);
        else
            w[i] = s->affine ? rms + fabsf(x[i]) : x[i] * x[i];
        sa += w[i];
    }
    if (!(sa > 0)) /* all weights zero (e.g. dead columns): plain squared error */
        for (int i = 0; i < n; i++)
            w[i] = 1.0f;
    memset(p, 0, sizeof *p);
    for (int j = 0; j < ns; j++)
        fit_sub(s, x + j * s->sub, w + j * s->sub, s->sub, &scf[j], &mnf[j]);
    if (s->blk == 32) { /* f16 d (and m) directly; try the f16 neighbours of the fitted values */
        float d0 = f16r(scf[0]);
        p->d = llq_f32_to_f16(d0);
        p->dmin = llq_f32_to_f16(-mnf[0]);
        double best = block_err(s, p, x, w);
        uint16_t bd = p->d, bm = p->dmin;
        for (int dd = -3; dd <= 3; dd++) {
            for (int dmm = (s->affine ? -3 : 0); dmm <= (s->affine ? 3 : 0); dmm++) {
                kq_params t = *p;
                t.d = (uint16_t)(bd + dd); /* same sign, adjacent magnitudes (never crosses 0 for small steps) */
                t.dmin = (uint16_t)(bm + dmm);
                if (!isfinite(llq_f16_to_f32(t.d)) || !isfinite(llq_f16_to_f32(t.dmin)) ||
                    ((t.d ^ bd) & 0x8000) || ((t.dmin ^ bm) & 0x8000))
                    continue;
                double e = block_err(s, &t, x, w);
                if (e < best)
                    best = e, *p = t;
            }
        }
        return;
    }
    /* super-block: d maps the sub-scale of largest magnitude to the end of the integer range (for signed
     * scales: to −(smax+1), the longer side), dmin the largest min; tried at several stretches. */
    float big = 0, bigm = 0;
    for (int j = 0; j < ns; j++) {
        big = fabsf(scf[j]) > fabsf(big) ? scf[j] : big;
        bigm = mnf[j] > bigm ? mnf[j] : bigm;
    }
    if (big == 0.0f)
        return;
    double best = INFINITY;
    kq_params bp = *p;
    for (int t = -4; t <= 4; t++) {
        float f = 1.0f + 0.015f * (float)t;
        kq_params q = *p;
        float d = s->affine ? big / (float)s->smax : -big / (float)(s->smax + 1);
        q.d = llq_f32_to_f16(d * f);
        q.dmin = llq_f32_to_f16(bigm / (float)s->smax * f);
        if (!isfinite(llq_f16_to_f32(q.d)) || !isfinite(llq_f16_to_f32(q.dmin)))
            continue;
        double e = set_ints(s, &q, scf, mnf, x, w);
        if (e < best)
            best = e, bp = q;
    }
    *p = bp;
}

/* ---- packing: parameters + codes v[blk] into one block ---- */

static void pack_k4_scales(uint8_t out[12], const int *sc, const int *mn)
{
    memset(out, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            out[j] = (uint8_t)sc[j];
            out[j + 4] = (uint8_t)mn[j];
        } else {
            out[j + 4] = (uint8_t)((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
            out[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            out[j] |= (uint8_t)((mn[j] >> 4) << 6);
        }
    }
}

void kq_pack(const kq_spec *s, void *dst, const kq_params *p, const int *v)
{
    uint8_t *o = dst;
    switch (s->type) {
    case LLQ_Q4_0: case LLQ_Q5_0: case LLQ_Q4_1: case LLQ_Q5_1: case LLQ_IQ4_NL: {
        int aff = s->type == LLQ_Q4_1 || s->type == LLQ_Q5_1, five = s->type == LLQ_Q5_0 || s->type == LLQ_Q5_1;
        int off = s->table || aff ? 0 : -s->qmin; /* stored n = v + offset */
        memcpy(o, &p->d, 2);
        if (aff)
            memcpy(o + 2, &p->dmin, 2);
        uint8_t *qs = o + 2 + 2 * aff + 4 * five;
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int n0 = v[j] + off, n1 = v[j + 16] + off;
            qs[j] = (uint8_t)((n0 & 0xF) | (n1 & 0xF) << 4);
            qh |= (uint32_t)(n0 >> 4 & 1) << j | (uint32_t)(n1 >> 4 & 1) << (j + 16);
        }
        if (five)
            memcpy(o + 2 + 2 * aff, &qh, 4);
        break;
    }
    case LLQ_Q8_0: {
        llq_blk_q8_0 *b = dst;
        b->d = p->d;
        for (int j = 0; j < 32; j++)
            b->qs[j] = (int8_t)v[j];
        break;
    }
    case LLQ_Q4_K: case LLQ_Q5_K: {
        int five = s->type == LLQ_Q5_K;
        memcpy(o, &p->d, 2);
        memcpy(o + 2, &p->dmin, 2);
        pack_k4_scales(o + 4, p->sc, p->mn);
        uint8_t *qh = o + 16, *qs = o + 16 + 32 * five;
        if (five)
            memset(qh, 0, 32);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                int a = v[64 * c + l], b = v[64 * c + 32 + l];
                qs[32 * c + l] = (uint8_t)((a & 0xF) | (b & 0xF) << 4);
                if (five)
                    qh[l] |= (uint8_t)((a >> 4 & 1) << (2 * c) | (b >> 4 & 1) << (2 * c + 1));
            }
        break;
    }
    case LLQ_Q6_K: {
        llq_blk_q6_k *b = dst;
        memset(b, 0, sizeof *b);
        b->d = p->d;
        for (int j = 0; j < 16; j++)
            b->scales[j] = (int8_t)p->sc[j];
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 4; i++)
                for (int l = 0; l < 32; l++) {
                    int q = v[128 * n + 32 * i + l] + 32;
                    b->ql[64 * n + l + 32 * (i & 1)] |= (uint8_t)((q & 0xF) << (i < 2 ? 0 : 4));
                    b->qh[32 * n + l] |= (uint8_t)((q >> 4) << (2 * i));
                }
        break;
    }
    case LLQ_Q2_K: case LLQ_Q3_K: {
        int three = s->type == LLQ_Q3_K;
        uint8_t *qs, *hm = NULL;
        if (three) {
            llq_blk_q3_k *b = dst;
            memset(b, 0, sizeof *b);
            b->d = p->d;
            for (int j = 0; j < 16; j++) { /* inverse of llq_k3_scales */
                int u = p->sc[j] + 32;
                if (j < 8)
                    b->scales[j] |= (uint8_t)(u & 0xF);
                else
                    b->scales[j - 8] |= (uint8_t)((u & 0xF) << 4);
                b->scales[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
            }
            qs = b->qs, hm = b->hmask;
        } else {
            llq_blk_q2_k *b = dst;
            memset(b, 0, sizeof *b);
            b->d = p->d, b->dmin = p->dmin;
            for (int j = 0; j < 16; j++)
                b->scales[j] = (uint8_t)(p->sc[j] | p->mn[j] << 4);
            qs = b->qs;
        }
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++) {
                    int q = v[128 * n + 32 * j + l] + (three ? 4 : 0); /* q3: 0..7, bit 2 = the high bit */
                    qs[32 * n + l] |= (uint8_t)((q & 3) << (2 * j));
                    if (three && (q & 4))
                        hm[l] |= (uint8_t)(1u << (4 * n + j));
                }
        break;
    }
    case LLQ_IQ4_XS: {
        llq_blk_iq4_xs *b = dst;
        memset(b, 0, sizeof *b);
        b->d = p->d;
        for (int ib = 0; ib < 8; ib++) {
            int ls = p->sc[ib] + 32;
            b->scales_l[ib / 2] |= (uint8_t)((ls & 0xF) << (4 * (ib % 2)));
            b->scales_h |= (uint16_t)((ls >> 4) << (2 * ib));
            for (int j = 0; j < 16; j++)
                b->qs[16 * ib + j] = (uint8_t)(v[32 * ib + j] | v[32 * ib + 16 + j] << 4);
        }
        break;
    }
    default:
        break;
    }
}

void kq_encode_block(const kq_spec *s, void *dst, const kq_params *p, const float *x)
{
    int v[256];
    for (int j = 0; j < s->blk / s->sub; j++) {
        float a, c;
        kq_sub_grid(s, p, j, &a, &c);
        for (int i = 0; i < s->sub; i++)
            v[j * s->sub + i] = kq_code(s, a, c, x[j * s->sub + i]);
    }
    kq_pack(s, dst, p, v);
}

float kq_snap(const kq_spec *s, const kq_params *p, int i, float x)
{
    float a, c;
    kq_sub_grid(s, p, i / s->sub, &a, &c);
    return value(s, a, c, kq_code(s, a, c, x));
}

int kq_quantize_row(void *dst, const float *x, uint64_t K, uint32_t type, const float *imp)
{
    kq_spec s;
    int err = kq_spec_of(&s, type);
    if (err)
        return err;
    if (K % (uint64_t)s.blk)
        return llq_err(LLQ_EINVAL, "row of %llu elements is not a whole number of %s blocks",
                       (unsigned long long)K, llq_type_name(type));
    uint32_t bytes = 0;
    llq_type_block(type, NULL, &bytes);
    for (uint64_t k = 0; k < K; k++)
        if (!isfinite(x[k]))
            return llq_err(LLQ_EINVAL, "%s weight at column %llu", isnan(x[k]) ? "NaN" : "infinite",
                           (unsigned long long)k);
    for (uint64_t b = 0; b < K / (uint64_t)s.blk; b++) {
        kq_params p;
        const float *xb = x + b * (uint64_t)s.blk;
        kq_choose(&s, &p, xb, imp ? imp + b * (uint64_t)s.blk : NULL);
        if (!isfinite(llq_f16_to_f32(p.d)) || !isfinite(llq_f16_to_f32(p.dmin)))
            return llq_err(LLQ_EINVAL, "block at column %llu: scale overflows f16", (unsigned long long)(b * s.blk));
        kq_encode_block(&s, (uint8_t *)dst + b * bytes, &p, xb);
    }
    return LLQ_OK;
}
