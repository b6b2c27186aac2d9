/* rtn.c — round-to-nearest group quantization with a searched scale (see include/llq/quant.h).
 *
 * Per group: candidate grids (scale, and for q4a zero point) around the range of the values; for each, the
 * codes c are rounded, and the least-squares scale for those codes d* = Σwxc / Σwc² gives the error
 * Σwx² − (Σwxc)²/Σwc². The best candidate's d* is rounded to f16 and the group re-encoded with it. */
#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/quant.h"

#include "rtn_kern.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC 12582912.0f /* 1.5·2^23: (v + MAGIC) − MAGIC rounds |v| < 2^22 to nearest even */

/* The inner loops, scalar or AVX2 (bit-identical, see rtn_kern.h), chosen once per call. */
typedef struct kern {
    void (*search)(float *, float *, const float *, const float *, uint64_t, const float *, const float *,
                   const float *, const float *, const float *, int);
    int (*stats)(float *, const float *, uint64_t);
    void (*encode32)(uint8_t *, const float *, float, float, float, float, int);
    uint32_t (*beats)(uint32_t *, const float *, const float *, int);
    int (*scales8)(float *, uint8_t *, const float *, uint64_t, uint32_t, const float *);
    void (*encode8)(uint8_t *, uint16_t *, const float *, uint64_t, const float *, const uint8_t *, uint32_t);
} kern;

static const kern kern_ref = {rtn_search_ref, rtn_stats_ref,   rtn_encode32_ref,
                              rtn_beats_ref,  rtn_scales8_ref, rtn_encode8_ref};

static kern pick_kern(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (llq_cpu_has_avx2()) /* avx2, fma and f16c */
        return (kern){rtn_search_avx2, rtn_stats_avx2,   rtn_encode32_avx2,
                      rtn_beats_avx2,  rtn_scales8_avx2, rtn_encode8_avx2};
#endif
    return kern_ref;
}

static float rnd(float v)
{
    return (v + MAGIC) - MAGIC;
}

static float clampf(float v, float lo, float hi)
{
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

static void chunk_ref(float *la, float *lb, const float *x, const float *w, float inv, float lo, float hi)
{
    for (int l = 0; l < 8; l++) {
        float p[4], q[4];
        for (int v = 0; v < 4; v++) {
            int e = 8 * v + l;
            float c = rnd(clampf(x[e] * inv, lo, hi));
            float wx = w ? w[e] * x[e] : x[e];
            float wc = w ? w[e] * c : c;
            p[v] = wx * c; /* separate statements: never contracted to FMA */
            q[v] = wc * c;
        }
        float ps = (p[0] + p[1]) + (p[2] + p[3]), qs = (q[0] + q[1]) + (q[2] + q[3]);
        la[l] += ps;
        lb[l] += qs;
    }
}

static float lanes_ref(const float *s)
{
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void rtn_search_ref(float *a, float *b, const float *x, const float *w, uint64_t nch, const float *xt,
                    const float *wt, const float *inv, const float *lo, const float *hi, int nc)
{
    for (int i = 0; i < nc; i++) {
        float la[8] = {0}, lb[8] = {0};
        for (uint64_t ch = 0; ch < nch; ch++)
            chunk_ref(la, lb, x + 32 * ch, w ? w + 32 * ch : NULL, inv[i], lo[i], hi[i]);
        if (xt)
            chunk_ref(la, lb, xt, wt, inv[i], lo[i], hi[i]);
        a[i] = lanes_ref(la);
        b[i] = lanes_ref(lb);
    }
}

int rtn_stats_ref(float *st, const float *x, uint64_t n)
{
    int bad = 0;
    float mn = st[0], mx = st[1];
    for (uint64_t e = 0; e < n; e++) {
        float v = x[e];
        bad |= !isfinite(v);
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    st[0] = mn;
    st[1] = mx;
    return bad;
}

void rtn_encode32_ref(uint8_t *dst, const float *x, float inv, float lo, float hi, float zz, int nib)
{
    uint8_t c[32];
    for (int e = 0; e < 32; e++)
        c[e] = (uint8_t)(int)(rnd(clampf(x[e] * inv, lo, hi)) + zz);
    if (!nib)
        memcpy(dst, c, 32);
    else
        for (int i = 0; i < 16; i++)
            dst[i] = (uint8_t)(c[i] | c[16 + i] << 4);
}

uint32_t rtn_beats_ref(uint32_t *m, const float *a, const float *b, int nc)
{
    uint32_t valid = 0;
    for (int w = 0; w < nc; w++) {
        m[w] = 0;
        for (int i = 0; i < nc; i++)
            m[w] |= (uint32_t)(a[i] * a[i] * b[w] > a[w] * a[w] * b[i]) << i;
        valid |= (uint32_t)(b[w] > 0.0f) << w;
    }
    return valid;
}

int rtn_pick(const uint32_t *m, uint32_t valid)
{
    if (!valid)
        return -1;
    uint32_t next;
    int w = __builtin_ctz(valid);
    while ((next = m[w] & valid & (~1u << w)) != 0)
        w = __builtin_ctz(next);
    return w;
}

int llq_quant_check(uint32_t type, uint32_t group, uint64_t K)
{
    if (!llq_type_is_grouped(type))
        return llq_err(LLQ_EINVAL, "cannot quantize to type %s", llq_type_name(type) ? llq_type_name(type) : "?");
    if (!llq_group_valid(type, group))
        return llq_err(LLQ_EINVAL, "group size %u not supported by %s (use 32, 64, 128 or row)", group,
                       llq_type_name(type));
    if (K == 0 || K > LLQ_QUANT_MAX_K)
        return llq_err(LLQ_EINVAL, "row length %llu out of range for quantization", (unsigned long long)K);
    return LLQ_OK;
}

/* Code range and candidate grids for one group. */
typedef struct cand {
    int nc;
    float inv[RTN_MAX_CAND], lo[RTN_MAX_CAND], hi[RTN_MAX_CAND];
} cand;

static void add_cand(cand *c, float inv, float lo, float hi)
{
    c->inv[c->nc] = inv;
    c->lo[c->nc] = lo;
    c->hi[c->nc] = hi;
    c->nc++;
}

/* Candidates from the group's statistics: amax = max|x|, m = the value of largest magnitude (signed),
 * mn/mx = min/max including 0. search = 0: only the plain absmax/minmax grid. */
static void make_cands(cand *c, uint32_t type, float amax, float m, float mn, float mx, int search)
{
    c->nc = 0;
    if (amax == 0.0f) {
        add_cand(c, 0.0f, 0.0f, 0.0f);
        return;
    }
    if (type == LLQ_Q8) { /* clipping the largest value by up to 1.5 % */
        for (int i = 0; i < (search ? 4 : 1); i++) {
            float f = 0.005f * (float)i; /* products and sums in separate statements: never contracted to FMA */
            f = 1.0f + f;
            add_cand(c, 127.0f / amax * f, -127.0f, 127.0f);
        }
    } else if (type == LLQ_Q4) {
        /* the largest-magnitude value goes to the −8 side, which reaches one level further: m → −t, t ∈ 7.25..9.7 */
        if (!search) {
            add_cand(c, -8.0f / m, -8.0f, 7.0f);
            return;
        }
        float r = -1.0f / m;
        for (int i = 0; i < 8; i++) {
            float f = 0.35f * (float)i;
            f = 7.25f + f;
            add_cand(c, f * r, -8.0f, 7.0f);
        }
    } else { /* q4a: scale from the range (shrunk up to 15 %), zero point keeping the min end, the max end, or centred */
        /* the four shrink factors side by side, branch-free: the compiler makes one vector of each step */
        float r = mx - mn, inv[4], z[3][4];
        for (int i = 0; i < 4; i++) {
            float f = 0.05f * (float)i;
            f = 1.0f - f;
            float d = r * f / 15.0f, span = 15.0f * d;
            span = 0.5f * (r - span);
            inv[i] = 1.0f / d;
            z[0][i] = clampf(rnd(-mn * inv[i]), 0.0f, 15.0f);
            z[1][i] = clampf(15.0f - rnd(mx * inv[i]), 0.0f, 15.0f);
            z[2][i] = clampf(rnd((-mn - span) * inv[i]), 0.0f, 15.0f);
        }
        for (int i = 0; i < (search ? 4 : 1); i++)
            for (int k = 0; k < (i ? 3 : 1); k++)
                add_cand(c, inv[i], -z[k][i], 15.0f - z[k][i]);
    }
}

/* Chooses scale *d (f16-exact) and zero point *z (q4a) for one group x[n] (weights w or NULL).
 * Returns 1 if the group holds a NaN/Inf. The last partial chunk of 32 is searched from a zero-padded copy
 * (zero elements with zero weight add exact zeros to every sum). */
static int group_params(float *d, uint8_t *z, const float *x, const float *w, uint64_t n, uint32_t type,
                        int search, const kern *kn)
{
    uint64_t nch = n / 32, rest = n % 32;
    float st[2] = {0.0f, 0.0f}, xt[32], wt[32];
    int bad = kn->stats(st, x, 32 * nch);
    if (rest) {
        memset(xt, 0, sizeof xt);
        memset(wt, 0, sizeof wt);
        memcpy(xt, x + 32 * nch, (size_t)rest * sizeof *xt);
        if (w)
            memcpy(wt, w + 32 * nch, (size_t)rest * sizeof *wt);
        bad |= kn->stats(st, xt, 32);
    }
    if (bad)
        return 1;
    float mn = st[0], mx = st[1];
    float amax = mx >= -mn ? mx : -mn, m = mx >= -mn ? mx : mn;
    cand c;
    make_cands(&c, type, amax, m, mn, mx, search);
    float best_d = 0.0f;
    int best = 0;
    if (amax > 0.0f && search) {
        float a[RTN_MAX_CAND + 8], b[RTN_MAX_CAND + 8];
        kn->search(a, b, x, w, nch, rest ? xt : NULL, w ? wt : NULL, c.inv, c.lo, c.hi, c.nc);
        /* error Σwx² − a²/b is smallest where a²/b is largest: compare a²·b_best > a_best²·b (b > 0) */
        uint32_t bits[RTN_MAX_CAND], valid = kn->beats(bits, a, b, c.nc);
        int k = rtn_pick(bits, valid);
        best = k < 0 ? 0 : k;
        best_d = k < 0 ? 0.0f : a[k] / b[k];
    } else if (amax > 0.0f) {
        best_d = 1.0f / c.inv[0];
    }
    *d = llq_f16_to_f32(llq_f32_to_f16(best_d));
    if (z)
        *z = type == LLQ_Q4A ? (uint8_t)(-c.lo[best]) : 0;
    return 0;
}

int rtn_scales8_ref(float *d, uint8_t *z, const float *x, uint64_t nch, uint32_t type, const float *next)
{
    (void)next;
    int bad = 0;
    for (int g = 0; g < 8; g++)
        bad |= group_params(&d[g], &z[g], x + (uint64_t)g * 32 * nch, NULL, 32 * nch, type, 1, &kern_ref) << g;
    return bad;
}

static int check_imp(const float *imp, uint64_t K)
{
    for (uint64_t k = 0; k < K; k++)
        if (!(imp[k] >= 0.0f) || isinf(imp[k]))
            return llq_err(LLQ_EINVAL, "importance weight %g at column %llu is not finite and >= 0", (double)imp[k],
                           (unsigned long long)k);
    return LLQ_OK;
}

static int bad_value(const float *x, uint64_t k0, uint64_t n)
{
    uint64_t k = k0;
    while (k < k0 + n - 1 && isfinite(x[k]))
        k++;
    return llq_err(LLQ_EINVAL, "%s weight at column %llu", isnan(x[k]) ? "NaN" : "infinite", (unsigned long long)k);
}

static int all_zero(const float *w, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++)
        if (w[k] != 0.0f)
            return 0;
    return 1;
}

int llq_quant_scales(float *d, uint8_t *z, const float *x, uint64_t K, uint32_t type, uint32_t group,
                     const llq_quant_opts *o)
{
    int err = llq_quant_check(type, group, K);
    if (err == LLQ_OK && o && o->imp)
        err = check_imp(o->imp, K);
    if (err)
        return err;
    uint64_t glen, ng;
    llq_group_geometry(group, K, &glen, &ng);
    int search = o ? o->search : 1;
    kern kn = pick_kern();
    /* whole groups of at most 128 without weights: 8 at a time (a batch with a NaN/Inf goes the slow way, which
     * names the first bad column) */
    int by8 = search && !(o && o->imp) && group != 0;
    uint8_t zs[8];
    for (uint64_t j = 0; j < ng; j++) {
        uint64_t k0 = j * glen, n = K - k0 < glen ? K - k0 : glen;
        const float *next = (j + 16) * glen <= K ? x + k0 + 8 * glen : NULL;
        if (by8 && (j + 8) * glen <= K && kn.scales8(&d[j], zs, x + k0, glen / 32, type, next) == 0) {
            for (int g = 0; g < 8; g++) {
                if (z)
                    z[j + (uint64_t)g] = zs[g];
                if (isinf(d[j + (uint64_t)g]))
                    return llq_err(LLQ_EINVAL, "weights at columns %llu..%llu too large for an f16 scale",
                                   (unsigned long long)(k0 + (uint64_t)g * glen),
                                   (unsigned long long)(k0 + (uint64_t)g * glen + glen - 1));
            }
            j += 7;
            continue;
        }
        const float *w = o && o->imp ? o->imp + k0 : NULL;
        if (w && all_zero(w, n))
            w = NULL;
        if (group_params(&d[j], z ? &z[j] : NULL, x + k0, w, n, type, search, &kn))
            return bad_value(x, k0, n);
        if (isinf(d[j]))
            return llq_err(LLQ_EINVAL, "weights at columns %llu..%llu too large for an f16 scale",
                           (unsigned long long)k0, (unsigned long long)(k0 + n - 1));
    }
    return LLQ_OK;
}

static float code_lo(uint32_t type, uint8_t z)
{
    return type == LLQ_Q8 ? -127.0f : type == LLQ_Q4 ? -8.0f : -(float)z;
}

float llq_quant_snap(float x, uint32_t type, float d, uint8_t z)
{
    if (d == 0.0f)
        return 0.0f;
    float lo = code_lo(type, z), hi = type == LLQ_Q8 ? 127.0f : lo + 15.0f;
    return d * rnd(clampf(x * (1.0f / d), lo, hi));
}

/* The grid of a group with scale d (zero point z for q4a): 1/d (0 for d = 0), code range, code offset. */
static void grid(float *inv, float *lo, float *hi, float *zz, uint32_t type, float d, uint8_t z)
{
    *inv = d != 0.0f ? 1.0f / d : 0.0f;
    *lo = code_lo(type, z);
    *hi = type == LLQ_Q8 ? 127.0f : *lo + 15.0f;
    *zz = type != LLQ_Q8 ? -*lo : 0.0f;
}

void rtn_encode8_ref(uint8_t *dst, uint16_t *h, const float *x, uint64_t nch, const float *d, const uint8_t *z,
                     uint32_t type)
{
    int nib = type != LLQ_Q8;
    for (int g = 0; g < 8; g++) {
        float inv, lo, hi, zz;
        grid(&inv, &lo, &hi, &zz, type, d[g], z ? z[g] : 0);
        h[g] = llq_f32_to_f16(d[g]);
        for (uint64_t ch = 0; ch < nch; ch++, x += 32, dst += nib ? 16 : 32)
            rtn_encode32_ref(dst, x, inv, lo, hi, zz, nib);
    }
}

void llq_quant_encode_row(void *dst, const float *x, uint64_t K, uint32_t type, uint32_t group, const float *d,
                          const uint8_t *z)
{
    llq_qrow geo;
    if (llq_qrow_init(&geo, type, group, K) != LLQ_OK)
        return; /* callers have checked type, group and K (llq_quant_check) */
    uint64_t glen = geo.glen, ng = geo.n_groups;
    int nib = type != LLQ_Q8;
    uint8_t *q = dst, *scales = q + geo.scales, *zeros_at = q + geo.zeros;
    kern kn = pick_kern();
    static const float zeros[32];
    for (uint64_t j = 0; j < ng; j++) {
        if (group != 0 && (j + 8) * glen <= K) { /* 8 whole groups at once */
            uint16_t h[8];
            kn.encode8(q + (nib ? j * glen / 2 : j * glen), h, x + j * glen, glen / 32, d + j, z ? z + j : NULL,
                       type);
            memcpy(scales + 2 * j, h, sizeof h);
            if (geo.zeros)
                memcpy(zeros_at + j, z + j, 8);
            j += 7;
            continue;
        }
        uint16_t h = llq_f32_to_f16(d[j]);
        memcpy(scales + 2 * j, &h, 2);
        if (geo.zeros)
            zeros_at[j] = z[j];
        float inv, lo, hi, zz;
        grid(&inv, &lo, &hi, &zz, type, d[j], z ? z[j] : 0);
        for (uint64_t k = j * glen; k < (j + 1) * glen; k += 32) {
            uint8_t *out = q + (nib ? k / 2 : k);
            if (k + 32 <= K) {
                kn.encode32(out, x + k, inv, lo, hi, zz, nib);
            } else if (k < K) {
                float xt[32] = {0};
                memcpy(xt, x + k, (size_t)(K - k) * sizeof *xt);
                kn.encode32(out, xt, inv, lo, hi, zz, nib);
            } else {
                kn.encode32(out, zeros, inv, lo, hi, zz, nib);
            }
        }
    }
}

/* Row scratch: scales and zero points for up to this many groups on the stack, else heap. */
#define STACK_GROUPS 512

int llq_quantize_row(void *dst, const float *x, uint64_t K, uint32_t type, uint32_t group,
                     const llq_quant_opts *o)
{
    int err = llq_quant_check(type, group, K);
    if (err)
        return err;
    uint64_t glen, ng;
    llq_group_geometry(group, K, &glen, &ng);
    float dbuf[STACK_GROUPS];
    uint8_t zbuf[STACK_GROUPS];
    float *d = dbuf;
    uint8_t *z = zbuf;
    if (ng > STACK_GROUPS) {
        d = malloc(ng * sizeof *d);
        z = malloc(ng);
        if (!d || !z) {
            err = llq_err(LLQ_ENOMEM, "out of memory for %llu group scales", (unsigned long long)ng);
            goto done;
        }
    }
    err = llq_quant_scales(d, z, x, K, type, group, o);
    if (err == LLQ_OK)
        llq_quant_encode_row(dst, x, K, type, group, d, z);
done:
    if (d != dbuf) {
        free(d);
        free(z);
    }
    return err;
}

/* ---- whole tensors: threads take chunks of rows from a shared counter (the CPUs may be unequally fast) ---- */

typedef struct job {
    uint8_t *dst;
    const float *x;
    uint64_t rows, K, row_bytes, chunk;
    uint32_t type, group;
    const llq_quant_opts *o;
    atomic_uint_fast64_t next; /* first row not handed out yet */
    atomic_int failed;
} job;

typedef struct part {
    job *jb;
    int err;
    uint64_t bad_row;
    char msg[256];
} part;

/* Chunks are handed out in row order and a thread finishes its chunk unless that chunk fails, so when the
 * threads stop taking chunks after a failure every row below the lowest bad row has been quantized: the lowest
 * bad row over all parts is the first bad row of the tensor, whatever the timing. */
static void *run_part(void *arg)
{
    part *p = arg;
    job *jb = p->jb;
    while (!atomic_load(&jb->failed)) {
        uint64_t r0 = atomic_fetch_add(&jb->next, jb->chunk);
        if (r0 >= jb->rows)
            break;
        uint64_t r1 = jb->rows - r0 < jb->chunk ? jb->rows : r0 + jb->chunk;
        for (uint64_t r = r0; r < r1; r++) {
            int err = llq_quantize_row(jb->dst + r * jb->row_bytes, jb->x + r * jb->K, jb->K, jb->type, jb->group,
                                       jb->o);
            if (err) {
                p->err = err;
                p->bad_row = r;
                snprintf(p->msg, sizeof p->msg, "%s", llq_errmsg());
                atomic_store(&jb->failed, 1);
                return NULL;
            }
        }
    }
    return NULL;
}

int llq_quantize_tensor(void *dst, const float *x, uint64_t rows, uint64_t K, uint32_t type, uint32_t group,
                        const llq_quant_opts *o, int n_threads)
{
    int err = llq_quant_check(type, group, K);
    if (err)
        return err;
    uint64_t row_bytes;
    if ((err = llq_row_bytes(&row_bytes, type, group, K)) != LLQ_OK)
        return err;
    if (n_threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = nc > 0 ? (int)nc : 1;
    }
    if (n_threads > 64)
        n_threads = 64;
    if ((uint64_t)n_threads > rows)
        n_threads = rows ? (int)rows : 1;
    /* about 64 chunks per thread: a slow CPU holds up the end by one small chunk at most */
    uint64_t per = 64 * (uint64_t)n_threads, chunk = (rows + per - 1) / per;
    job jb = {(uint8_t *)dst, x, rows, K, row_bytes, chunk ? chunk : 1, type, group, o, 0, 0};
    part parts[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (int t = 0; t < n_threads; t++) {
        parts[t] = (part){&jb, 0, 0, ""};
        if (t > 0 && pthread_create(&tid[t], NULL, run_part, &parts[t]) == 0)
            started[t] = 1; /* a thread that cannot start leaves its share to the others */
    }
    run_part(&parts[0]);
    uint64_t bad_row = UINT64_MAX;
    int first = -1;
    for (int t = 0; t < n_threads; t++) {
        if (t > 0 && started[t])
            pthread_join(tid[t], NULL);
        if (parts[t].err && parts[t].bad_row < bad_row) {
            bad_row = parts[t].bad_row;
            first = t;
        }
    }
    if (first >= 0)
        return llq_err(parts[first].err, "row %llu: %s", (unsigned long long)bad_row, parts[first].msg);
    return LLQ_OK;
}
