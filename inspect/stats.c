/* stats.c — streaming statistics of one tensor, and its error against a reference, row by row in f64. */
#include "llq/inspect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DROP_EVERY (16u << 20) /* release mapped pages every 16 MiB read */

int llq_tensor_row_f32(void *ctx, uint64_t r, float *out)
{
    llq_tensor_rows *tr = ctx;
    const llq_tensor *t = tr->t;
    if (r >= t->n_rows)
        return llq_err(LLQ_EINVAL, "row %llu of tensor '%s' out of range", (unsigned long long)r, t->name);
    const uint8_t *base = t->data;
    llq_row_to_f32(out, base + r * t->row_bytes, t->type, t->group, t->row_len);
    uint64_t done = (r + 1) * t->row_bytes;
    if (r == 0)
        tr->dropped = 0; /* a new pass */
    if (done - tr->dropped >= DROP_EVERY || r + 1 == t->n_rows) {
        llq_drop_pages(tr->f, base + tr->dropped, done - tr->dropped);
        tr->dropped = done;
    }
    return LLQ_OK;
}

/* Central moments of a set of values, mergeable (Pébay 2008). */
typedef struct moments {
    double n, mean, m2, m3, m4, min, max;
} moments;

static void merge(moments *a, const moments *b)
{
    if (b->n == 0)
        return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double na = a->n, nb = b->n, n = na + nb, d = b->mean - a->mean, dn = d / n;
    double m2 = a->m2 + b->m2 + d * dn * na * nb;
    double m3 = a->m3 + b->m3 + d * dn * dn * na * nb * (na - nb) + 3 * dn * (na * b->m2 - nb * a->m2);
    double m4 = a->m4 + b->m4 + d * dn * dn * dn * na * nb * (na * na - na * nb + nb * nb) +
                6 * dn * dn * (na * na * b->m2 + nb * nb * a->m2) + 4 * dn * (na * b->m3 - nb * a->m3);
    a->mean += dn * nb;
    a->m2 = m2;
    a->m3 = m3;
    a->m4 = m4;
    a->n = n;
    a->min = fmin(a->min, b->min);
    a->max = fmax(a->max, b->max);
}

/* Moments of one row (finite values only), two passes over the row in f64. */
static void row_moments(moments *m, const float *x, uint64_t k, uint64_t *nonfinite)
{
    double s = 0, mn = INFINITY, mx = -INFINITY;
    uint64_t n = 0;
    for (uint64_t i = 0; i < k; i++) {
        if (!isfinite(x[i])) {
            ++*nonfinite;
            continue;
        }
        s += x[i];
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
        n++;
    }
    memset(m, 0, sizeof *m);
    if (!n)
        return;
    double mean = s / (double)n, m2 = 0, m3 = 0, m4 = 0;
    for (uint64_t i = 0; i < k; i++) {
        if (!isfinite(x[i]))
            continue;
        double d = x[i] - mean, d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    *m = (moments){(double)n, mean, m2, m3, m4, mn, mx};
}

int llq_stats_rows(llq_stats *out, llq_row_fn fn, void *ctx, uint64_t n_rows, uint64_t row_len)
{
    llq_stats st;
    memset(&st, 0, sizeof st);
    float *row = malloc((row_len ? row_len : 1) * sizeof *row);
    if (!row)
        return llq_err(LLQ_ENOMEM, "out of memory (row of %llu values)", (unsigned long long)row_len);
    int rc = LLQ_OK;
    moments all = {0}, m;
    for (uint64_t r = 0; r < n_rows; r++) {
        if ((rc = fn(ctx, r, row)))
            goto done;
        row_moments(&m, row, row_len, &st.n_nonfinite);
        merge(&all, &m);
    }
    st.n = (uint64_t)all.n;
    if (st.n) {
        st.min = all.min;
        st.max = all.max;
        st.mean = all.mean;
        st.absmax = fmax(fabs(all.min), fabs(all.max));
        st.std = sqrt(all.m2 / all.n);
        st.kurtosis = all.m2 > 0 ? all.n * all.m4 / (all.m2 * all.m2) : 0;
        /* second pass: outliers and histogram */
        double lim = 6 * st.std, width = (st.max - st.min) / LLQ_HIST_BINS, inv = width > 0 ? 1 / width : 0;
        uint64_t outl = 0;
        for (uint64_t r = 0; r < n_rows; r++) {
            if ((rc = fn(ctx, r, row)))
                goto done;
            for (uint64_t i = 0; i < row_len; i++) {
                double x = row[i];
                if (!isfinite(x))
                    continue;
                outl += fabs(x - st.mean) > lim;
                long b = (long)((x - st.min) * inv);
                st.hist[b < 0 ? 0 : b >= LLQ_HIST_BINS ? LLQ_HIST_BINS - 1 : b]++;
            }
        }
        st.outlier_frac = (double)outl / (double)st.n;
    }
    *out = st;
done:
    free(row);
    return rc;
}

int llq_stats_tensor(llq_stats *out, const llq_file *f, const llq_tensor *t)
{
    llq_tensor_rows tr = {f, t, 0};
    return llq_stats_rows(out, llq_tensor_row_f32, &tr, t->n_rows, t->row_len);
}

void llq_cmp_finish(llq_cmp *c)
{
    c->rmse = c->n ? sqrt(c->sse / (double)c->n) : 0;
    c->sqnr_db = isnan(c->sse) || isnan(c->ss_ref) ? NAN : c->sse > 0 ? 10 * log10(c->ss_ref / c->sse) : INFINITY;
    if (isnan(c->dot) || isnan(c->sse))
        c->cosine = NAN;
    else if (c->sse == 0 && c->n)
        c->cosine = 1; /* identical (also when both are zero) */
    else if (c->ss_x == 0 || c->ss_ref == 0)
        c->cosine = 0;
    else
        c->cosine = fmax(-1, fmin(1, c->dot / (sqrt(c->ss_x) * sqrt(c->ss_ref)))); /* rounding can pass 1 */
}

int llq_compare_rows(llq_cmp *out, llq_row_fn x, void *cx, llq_row_fn ref, void *cref, uint64_t n_rows,
                     uint64_t row_len)
{
    llq_cmp c;
    memset(&c, 0, sizeof c);
    float *a = malloc((row_len ? row_len : 1) * 2 * sizeof *a), *b = a + row_len;
    if (!a)
        return llq_err(LLQ_ENOMEM, "out of memory (row of %llu values)", (unsigned long long)row_len);
    int rc = LLQ_OK;
    for (uint64_t r = 0; r < n_rows; r++) {
        if ((rc = x(cx, r, a)) || (rc = ref(cref, r, b)))
            goto done;
        double sse = 0, ssr = 0, ssx = 0, dot = 0, mx = c.max_abs;
        for (uint64_t i = 0; i < row_len; i++) {
            double xa = a[i], xb = b[i], e = xa - xb;
            sse += e * e;
            ssr += xb * xb;
            ssx += xa * xa;
            dot += xa * xb;
            mx = fabs(e) > mx || isnan(e) ? fabs(e) : mx;
        }
        c.sse += sse;
        c.ss_ref += ssr;
        c.ss_x += ssx;
        c.dot += dot;
        c.max_abs = mx;
    }
    c.n = n_rows * row_len;
    llq_cmp_finish(&c);
    *out = c;
done:
    free(a);
    return rc;
}

int llq_compare_tensors(llq_cmp *out, const llq_file *fx, const llq_tensor *x, const llq_file *fref,
                        const llq_tensor *ref)
{
    int same = x->n_dims == ref->n_dims;
    for (uint32_t d = 0; same && d < x->n_dims; d++)
        same = x->dims[d] == ref->dims[d];
    if (!same) {
        char a[100], b[100];
        llq_dims_str(a, sizeof a, x->dims, x->n_dims);
        llq_dims_str(b, sizeof b, ref->dims, ref->n_dims);
        return llq_err(LLQ_EINVAL, "tensor '%s': shape %s differs from the reference's %s", x->name, a, b);
    }
    llq_tensor_rows tx = {fx, x, 0}, tr = {fref, ref, 0};
    return llq_compare_rows(out, llq_tensor_row_f32, &tx, llq_tensor_row_f32, &tr, x->n_rows, x->row_len);
}
