/* ppl.c — perplexity and drift over windows (include/llq/eval.h). Windows run one after another through the
 * layer-by-layer API; the per-position statistics (f64 log-softmax over the vocabulary) run on the model's pool. */
#include "llq/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_CHUNK 64 /* positions whose logits are held at once */

double llq_nll(const float *logits, size_t vocab, uint32_t target)
{
    return llq_logsumexp(logits, vocab, NULL) - (double)logits[target];
}

int llq_eval_plan(size_t *n_windows, const llq_model *m, const uint32_t *tokens, size_t n_tokens,
                  const llq_eval_opts *o)
{
    *n_windows = 0;
    if (m->max_pos < 2)
        return llq_err(LLQ_EINVAL, "the model's context length is %u (llama.context_length): too short for any window "
                       "(2 tokens at least)", m->max_pos);
    if (o->ctx < 2 || o->ctx > m->max_pos)
        return llq_err(LLQ_EINVAL, "window length %zu is out of range (2..%u, the model's context length)", o->ctx,
                       m->max_pos);
    if (o->protocol == LLQ_PROTO_LLAMACPP && o->ctx < 4)
        return llq_err(LLQ_EINVAL, "window length %zu is too small for the llama.cpp protocol (at least 4)",
                       o->ctx);
    if (o->protocol == LLQ_PROTO_LLAMACPP && o->bos >= m->hp.vocab_size)
        return llq_err(LLQ_EINVAL, "BOS id %u is out of range (vocab %u)", o->bos, m->hp.vocab_size);
    size_t nw = n_tokens / o->ctx;
    if (nw == 0)
        return llq_err(LLQ_EINVAL, "the text has %zu tokens, fewer than one window of %zu", n_tokens, o->ctx);
    if (o->max_chunks && nw > o->max_chunks)
        nw = o->max_chunks;
    for (size_t i = 0; i < nw * o->ctx; i++)
        if (tokens[i] >= m->hp.vocab_size)
            return llq_err(LLQ_EINVAL, "token id %u at position %zu is out of range (vocab %u)", tokens[i], i,
                           m->hp.vocab_size);
    *n_windows = nw;
    return LLQ_OK;
}

static size_t first_scored(const llq_eval_opts *o)
{
    return o->protocol == LLQ_PROTO_LLAMACPP ? o->ctx / 2 : 0;
}

static double se_of_mean(double sum, double sum2, size_t n)
{
    if (n < 2)
        return 0;
    double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
    return var > 0 ? sqrt(var / (double)(n - 1)) : 0;
}

/* One window's hidden state x[ctx][dim] through every layer of m. */
/* Progress in tokens: window w is done when all its layers are, and each layer counts for its share of the
 * window's tokens, so one long window (a 100k-token context) still moves the bar. */
static void report(llq_progress_fn progress, void *ud, size_t w, size_t nw, size_t ctx, uint32_t l, uint32_t nl)
{
    if (progress)
        progress(ud, w * ctx + ctx * (l + 1) / nl, nw * ctx);
}

static int run_layers(const llq_model *m, const uint32_t *win, size_t ctx, float *x, size_t w, size_t nw,
                      llq_progress_fn progress, void *ud)
{
    int err = llq_model_embed(m, win, ctx, x);
    for (uint32_t l = 0; !err && l < m->hp.n_layers; l++)
        if (!(err = llq_model_layer(m, (int)l, x, ctx, NULL, NULL)))
            report(progress, ud, w, nw, ctx, l, m->hp.n_layers);
    return err;
}

/* A model whose logits are NaN or Inf (NaN/Inf weights or scales, an overflowed conversion) must never score: its
 * KL divergence or NLL would come out NaN, or (clamped) as a perfect 0. which: "the model", "the base model"... */
static int check_logits(const float *logits, size_t np, size_t vocab, const char *which, size_t w, size_t p0)
{
    for (size_t i = 0; i < np * vocab; i++)
        if (!isfinite(logits[i]))
            return llq_err(LLQ_EFORMAT, "%s gives logits that are not finite (%s at window %zu, position %zu, "
                           "token %zu of the vocabulary): its weights or scales hold NaN or Inf", which,
                           isnan(logits[i]) ? "NaN" : "Inf", w, p0 + i / vocab, i % vocab);
    return LLQ_OK;
}

static void window_tokens(uint32_t *win, const uint32_t *tokens, size_t w, const llq_eval_opts *o)
{
    memcpy(win, tokens + w * o->ctx, o->ctx * sizeof *win);
    if (o->protocol == LLQ_PROTO_LLAMACPP)
        win[0] = o->bos;
}

/* ---- perplexity ---- */

struct nll_task {
    const float *logits;
    const uint32_t *targets;
    double *nll;
    size_t n, vocab;
};

static void nll_run(void *ud, int i, int nt)
{
    struct nll_task *t = ud;
    for (size_t p = (size_t)i; p < t->n; p += (size_t)nt)
        t->nll[p] = llq_nll(t->logits + p * t->vocab, t->vocab, t->targets[p]);
}

int llq_eval_ppl(llq_ppl_result *out, const llq_model *m, const uint32_t *tokens, size_t n_tokens,
                 const llq_eval_opts *o, llq_progress_fn progress, void *ud)
{
    size_t nw, ctx = o->ctx, dim = m->hp.dim, vocab = m->hp.vocab_size, first = first_scored(o);
    memset(out, 0, sizeof *out);
    int err = llq_eval_plan(&nw, m, tokens, n_tokens, o);
    if (err)
        return err;
    float *x = malloc(ctx * dim * sizeof(float)), *logits = malloc(HEAD_CHUNK * vocab * sizeof(float));
    uint32_t *win = malloc(ctx * sizeof *win);
    double *nll = malloc(HEAD_CHUNK * sizeof *nll), sum = 0, sum2 = 0;
    size_t scored = 0;
    if (!x || !logits || !win || !nll) {
        err = llq_err(LLQ_ENOMEM, "out of memory (window of %zu tokens)", ctx);
        goto done;
    }
    for (size_t w = 0; w < nw; w++) {
        window_tokens(win, tokens, w, o);
        if ((err = run_layers(m, win, ctx, x, w, nw, progress, ud)))
            goto done;
        for (size_t p0 = first; p0 < ctx - 1; p0 += HEAD_CHUNK) {
            size_t np = ctx - 1 - p0 < HEAD_CHUNK ? ctx - 1 - p0 : HEAD_CHUNK;
            if ((err = llq_model_head(m, x + p0 * dim, np, logits)) ||
                (err = check_logits(logits, np, vocab, "the model", w, p0)))
                goto done;
            struct nll_task t = {logits, win + p0 + 1, nll, np, vocab};
            llq_pool_run(m->pool, nll_run, &t);
            for (size_t i = 0; i < np; i++) {
                sum += nll[i];
                sum2 += nll[i] * nll[i];
            }
            scored += np;
        }
    }
    out->n_windows = nw;
    out->n_scored = scored;
    out->mean_nll = sum / (double)scored;
    out->nll_se = se_of_mean(sum, sum2, scored);
    out->ppl = exp(out->mean_nll);
    out->ppl_se = out->ppl * out->nll_se;
done:
    free(x);
    free(logits);
    free(win);
    free(nll);
    return err;
}

/* ---- drift ---- */

struct pos_stats {
    double nll_b, nll_q, kld, dp;
    int agree;
};

struct drift_task {
    const float *lb, *lq;
    const uint32_t *targets;
    struct pos_stats *st;
    size_t n, vocab;
};

static void drift_run(void *ud, int i, int nt)
{
    struct drift_task *t = ud;
    for (size_t p = (size_t)i; p < t->n; p += (size_t)nt) {
        const float *lb = t->lb + p * t->vocab, *lq = t->lq + p * t->vocab;
        double zb, zq, kl;
        size_t ab, aq;
        uint32_t y = t->targets[p];
        zb = llq_logsumexp(lb, t->vocab, &ab);
        zq = llq_logsumexp(lq, t->vocab, &aq);
        kl = llq_kl(lb, zb, lq, zq, t->vocab);
        struct pos_stats *s = &t->st[p];
        s->nll_b = zb - lb[y];
        s->nll_q = zq - lq[y];
        s->kld = kl < 0 ? 0 : kl; /* rounding can give -1e-17 for identical models (a NaN stays NaN) */
        s->dp = exp(-s->nll_q) - exp(-s->nll_b);
        s->agree = ab == aq;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* q-quantile of sorted v[n] and its standard error from the order statistics ±1 binomial SD of rank away. */
static llq_stat quantile(const double *v, size_t n, double q)
{
    double r = q * (double)(n - 1), sd = sqrt((double)n * q * (1 - q));
    size_t lo = (size_t)r, hi = lo + 1 < n ? lo + 1 : lo;
    double fr = r - (double)lo;
    llq_stat s = {v[lo] + fr * (v[hi] - v[lo]), 0};
    double rl = r - sd < 0 ? 0 : r - sd, rh = r + sd > (double)(n - 1) ? (double)(n - 1) : r + sd;
    s.se = (v[(size_t)(rh + 0.5)] - v[(size_t)(rl + 0.5)]) / 2;
    return s;
}

static const double KLD_PCT[LLQ_LCPP_KLD_PCT] = {0.999, 0.99, 0.95, 0.90, 0.5, 0.10, 0.05, 0.01, 0.001};
static const double DP_PCT[LLQ_LCPP_DP_PCT] = {0.999, 0.99, 0.95, 0.90, 0.75, 0.5, 0.25, 0.10, 0.05, 0.01, 0.001};
const double *llq_lcpp_kld_pct(void) { return KLD_PCT; }
const double *llq_lcpp_dp_pct(void) { return DP_PCT; }

/* llama-perplexity's statistics from the per-position KL divergences and Δp (both sorted here) and the sums. */
static void lcpp_stats(llq_drift_lcpp *l, double *kld, double *dp, size_t N, double sb, double sb2, double sq,
                       double sq2, double sbq, double sd, double sd2, double sk, double sk2, double sp, double sp2,
                       size_t agree)
{
    double n = (double)N, mb = sb / n, mq = sq / n;
    l->ln_ratio = (llq_stat){sd / n, se_of_mean(sd, sd2, N)};
    l->ratio = (llq_stat){exp(l->ln_ratio.v), exp(l->ln_ratio.v) * l->ln_ratio.se};
    double vb = sb2 / n - mb * mb, vq = sq2 / n - mq * mq, cov = sbq / n - mb * mq;
    l->cor = vb > 0 && vq > 0 ? cov / sqrt(vb * vq) : 1;
    double pb = exp(mb), pq = exp(mq), eb = N > 1 ? vb / (n - 1) : 0, eq = N > 1 ? vq / (n - 1) : 0;
    double ec = N > 1 ? cov / (n - 1) : 0, vdiff = pq * pq * eq + pb * pb * eb - 2 * pq * pb * ec;
    l->diff = (llq_stat){pq - pb, sqrt(vdiff > 0 ? vdiff : 0)};
    l->kld_mean = (llq_stat){sk / n, se_of_mean(sk, sk2, N)};
    qsort(kld, N, sizeof *kld, cmp_double);
    qsort(dp, N, sizeof *dp, cmp_double);
    l->kld_min = kld[0], l->kld_max = kld[N - 1];
    for (int i = 0; i < LLQ_LCPP_KLD_PCT; i++)
        l->kld_pct[i] = quantile(kld, N, KLD_PCT[i]).v;
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < N; i++)
        s1 += dp[i], s2 += dp[i] * dp[i];
    l->dp_mean = (llq_stat){s1 / n, se_of_mean(s1, s2, N)};
    l->dp_min = dp[0], l->dp_max = dp[N - 1];
    for (int i = 0; i < LLQ_LCPP_DP_PCT; i++)
        l->dp_pct[i] = quantile(dp, N, DP_PCT[i]).v;
    double rms = sqrt(sp / n), sems = se_of_mean(sp, sp2, N);
    l->rms_dp = (llq_stat){rms, rms > 0 ? sems / (2 * rms) : 0};
    double a = (double)agree / n;
    l->same_top = (llq_stat){a, N > 1 ? sqrt(a * (1 - a) / (n - 1)) : 0};
}

void llq_drift_result_free(llq_drift_result *r)
{
    if (r) {
        free(r->layer_relerr);
        free(r->kld);
        r->layer_relerr = NULL;
        r->kld = NULL;
    }
}

int llq_eval_drift(llq_drift_result *out, const llq_model *base, const llq_model *quant, const uint32_t *tokens,
                   size_t n_tokens, const llq_eval_opts *o, llq_progress_fn progress, void *ud)
{
    size_t nw, ctx = o->ctx, dim = base->hp.dim, vocab = base->hp.vocab_size, first = first_scored(o);
    uint32_t nl = base->hp.n_layers;
    memset(out, 0, sizeof *out);
    if (quant->hp.dim != base->hp.dim || quant->hp.vocab_size != base->hp.vocab_size ||
        (o->per_layer && quant->hp.n_layers != nl))
        return llq_err(LLQ_EINVAL, "the models differ in shape (dim %u/%u, vocab %u/%u, layers %u/%u)", base->hp.dim,
                       quant->hp.dim, base->hp.vocab_size, quant->hp.vocab_size, nl, quant->hp.n_layers);
    int err = llq_eval_plan(&nw, base, tokens, n_tokens, o);
    if (!err)
        err = llq_eval_plan(&nw, quant, tokens, n_tokens, o);
    if (err)
        return err;
    size_t per_window = ctx - 1 - first, N = nw * per_window;
    float *xb = malloc(ctx * dim * sizeof(float)), *xq = malloc(ctx * dim * sizeof(float));
    float *lb = malloc(HEAD_CHUNK * vocab * sizeof(float)), *lq = malloc(HEAD_CHUNK * vocab * sizeof(float));
    uint32_t *win = malloc(ctx * sizeof *win);
    struct pos_stats *st = malloc(HEAD_CHUNK * sizeof *st);
    double *kld = malloc(N * sizeof *kld), *dps = malloc(N * sizeof *dps), *dsum = calloc(nl, sizeof(double)), *bsum = calloc(nl, sizeof(double));
    double sb = 0, sb2 = 0, sq = 0, sq2 = 0, sbq = 0, sd = 0, sd2 = 0, sk = 0, sk2 = 0, sp = 0, sp2 = 0;
    size_t agree = 0, k = 0;
    if (!xb || !xq || !lb || !lq || !win || !st || !kld || !dps || !dsum || !bsum) {
        err = llq_err(LLQ_ENOMEM, "out of memory (drift over %zu positions)", N);
        goto done;
    }
    for (size_t w = 0; w < nw; w++) {
        window_tokens(win, tokens, w, o);
        if ((err = llq_model_embed(base, win, ctx, xb)) || (err = llq_model_embed(quant, win, ctx, xq)))
            goto done;
        uint32_t nl_max = nl > quant->hp.n_layers ? nl : quant->hp.n_layers;
        for (uint32_t l = 0; l < nl_max; l++) {
            if ((l < nl && (err = llq_model_layer(base, (int)l, xb, ctx, NULL, NULL))) ||
                (l < quant->hp.n_layers && (err = llq_model_layer(quant, (int)l, xq, ctx, NULL, NULL))))
                goto done;
            report(progress, ud, w, nw, ctx, l, nl_max);
            if (o->per_layer && l < nl)
                for (size_t i = 0; i < ctx * dim; i++) {
                    double d = (double)xq[i] - xb[i];
                    dsum[l] += d * d;
                    bsum[l] += (double)xb[i] * xb[i];
                }
        }
        for (size_t p0 = first; p0 < ctx - 1; p0 += HEAD_CHUNK) {
            size_t np = ctx - 1 - p0 < HEAD_CHUNK ? ctx - 1 - p0 : HEAD_CHUNK;
            if ((err = llq_model_head(base, xb + p0 * dim, np, lb)) || (err = llq_model_head(quant, xq + p0 * dim, np, lq)) ||
                (err = check_logits(lb, np, vocab, "the base model", w, p0)) ||
                (err = check_logits(lq, np, vocab, "the quantized model", w, p0)))
                goto done;
            struct drift_task t = {lb, lq, win + p0 + 1, st, np, vocab};
            llq_pool_run(base->pool, drift_run, &t);
            for (size_t i = 0; i < np; i++, k++) {
                double d = st[i].nll_q - st[i].nll_b, p2 = st[i].dp * st[i].dp;
                sb += st[i].nll_b, sb2 += st[i].nll_b * st[i].nll_b;
                sq += st[i].nll_q, sq2 += st[i].nll_q * st[i].nll_q;
                sbq += st[i].nll_b * st[i].nll_q;
                sd += d, sd2 += d * d;
                sk += st[i].kld, sk2 += st[i].kld * st[i].kld;
                sp += p2, sp2 += p2 * p2;
                agree += (size_t)st[i].agree;
                kld[k] = st[i].kld;
                dps[k] = st[i].dp;
            }
        }
    }
    double n = (double)N, mb = sb / n, mq = sq / n, md = sd / n;
    double vb = N > 1 ? (sb2 / n - mb * mb) / (n - 1) : 0, vq = N > 1 ? (sq2 / n - mq * mq) / (n - 1) : 0;
    double cbq = N > 1 ? (sbq / n - mb * mq) / (n - 1) : 0;
    double pb = exp(mb), pq = exp(mq), vdiff = pq * pq * vq + pb * pb * vb - 2 * pq * pb * cbq;
    out->n_windows = nw;
    out->n_scored = N;
    out->ppl_base = (llq_stat){pb, pb * sqrt(vb > 0 ? vb : 0)};
    out->ppl_quant = (llq_stat){pq, pq * sqrt(vq > 0 ? vq : 0)};
    out->dppl = (llq_stat){pq - pb, sqrt(vdiff > 0 ? vdiff : 0)};
    double sed = se_of_mean(sd, sd2, N);
    out->dppl_pct = (llq_stat){100 * (exp(md) - 1), 100 * exp(md) * sed};
    out->kld_mean = (llq_stat){sk / n, se_of_mean(sk, sk2, N)};
    lcpp_stats(&out->lcpp, kld, dps, N, sb, sb2, sq, sq2, sbq, sd, sd2, sk, sk2, sp, sp2, agree); /* sorts kld */
    out->kld_median = quantile(kld, N, 0.5);
    out->kld_p99 = quantile(kld, N, 0.99);
    out->kld_max = (llq_stat){kld[N - 1], -1};
    double a = (double)agree / n;
    out->top1 = (llq_stat){100 * a, 100 * sqrt(a * (1 - a) / n)};
    double ms = sp / n, rms = sqrt(ms), sems = se_of_mean(sp, sp2, N);
    out->rms_dp = (llq_stat){rms, rms > 0 ? sems / (2 * rms) : 0};
    if (o->per_layer) {
        out->n_layers = nl;
        out->layer_relerr = dsum; /* reuse: relative error in place */
        for (uint32_t l = 0; l < nl; l++)
            dsum[l] = bsum[l] > 0 ? sqrt(dsum[l] / bsum[l]) : 0;
        dsum = NULL;
    }
    if (o->keep_kld) {
        out->kld = kld; /* sorted above */
        kld = NULL;
    }
done:
    free(xb), free(xq), free(lb), free(lq), free(win), free(st), free(kld), free(dps), free(dsum), free(bsum);
    return err;
}
