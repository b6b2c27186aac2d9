/* eval.h — perplexity and drift between two models over windows of a token stream (the library side of
 * llq-eval; the tool tokenizes and prints).
 *
 * Windows: the tokens are cut into non-overlapping windows of ctx tokens (the tail is dropped), each evaluated
 * independently from position 0. Protocols:
 * - LLQ_PROTO_DEFAULT (the GPTQ/AWQ papers'): every position t = 0..ctx-2 of a window predicts token t+1.
 * - LLQ_PROTO_LLAMACPP (llama-perplexity's): the window's first token is replaced by BOS and only positions
 *   ctx/2 .. ctx-2 are scored.
 * NLL uses a log-softmax in f64 over f32 logits; ppl = exp(total NLL / scored positions).
 * A logit that is NaN or Inf (a model with NaN/Inf weights or scales) fails llq_eval_ppl / llq_eval_drift with
 * LLQ_EFORMAT, naming the model, window and position: a broken model never gets a score.
 */
#ifndef LLQ_EVAL_H
#define LLQ_EVAL_H

#include "llq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

enum llq_protocol { LLQ_PROTO_DEFAULT = 0, LLQ_PROTO_LLAMACPP = 1 };

typedef struct llq_eval_opts {
    size_t ctx;        /* window length, 2..model context */
    size_t max_chunks; /* 0 = all windows */
    int protocol;      /* enum llq_protocol */
    uint32_t bos;      /* BOS id for LLQ_PROTO_LLAMACPP */
    int per_layer;     /* drift: also the per-layer relative error of the hidden state */
    int keep_kld;      /* drift: return every position's KL divergence (llq_drift_result.kld) */
} llq_eval_opts;

/* Progress of llq_eval_ppl / llq_eval_drift, in tokens (total = windows × ctx): called after each layer of each
 * window, so a single long window reports too; done rises to total. May be NULL. */
typedef void (*llq_progress_fn)(void *ud, size_t done, size_t total);

/* -log softmax(logits)[target] computed in f64. */
double llq_nll(const float *logits, size_t vocab, uint32_t target);

/* Checks opts against the model and the token count (ctx range, at least one window, ids < vocab) and returns
 * the number of windows that will run in *n_windows. One-line errors (LLQ_EINVAL). */
int llq_eval_plan(size_t *n_windows, const llq_model *m, const uint32_t *tokens, size_t n_tokens,
                  const llq_eval_opts *o);

typedef struct llq_ppl_result {
    double ppl, ppl_se;       /* ppl and its standard error (ppl · SE of the mean NLL) */
    double mean_nll, nll_se;
    size_t n_windows, n_scored;
} llq_ppl_result;

int llq_eval_ppl(llq_ppl_result *out, const llq_model *m, const uint32_t *tokens, size_t n_tokens,
                 const llq_eval_opts *o, llq_progress_fn progress, void *ud);

/* A statistic and its standard error (se < 0: none defined, e.g. for a maximum). */
typedef struct llq_stat {
    double v, se;
} llq_stat;

/* The statistics llama-perplexity --kl-divergence prints, computed the same way (means with the standard error of
 * the mean, percentiles by linear interpolation between order statistics, Δp = p_quant(correct) − p_base(correct)
 * as a fraction; the tool prints it in %), so that figures compare line by line. */
#define LLQ_LCPP_KLD_PCT 9 /* 99.9, 99, 95, 90, 50, 10, 5, 1, 0.1 */
#define LLQ_LCPP_DP_PCT 11 /* 99.9, 99, 95, 90, 75, 50, 25, 10, 5, 1, 0.1 */
/* The fractions of those percentiles (llq_lcpp_kld_pct(): LLQ_LCPP_KLD_PCT values, llq_lcpp_dp_pct(): LLQ_LCPP_DP_PCT). */
const double *llq_lcpp_kld_pct(void);
const double *llq_lcpp_dp_pct(void);
typedef struct llq_drift_lcpp {
    llq_stat ln_ratio;       /* mean ln(PPL(Q)/PPL(base)) = mean of nll_q − nll_b */
    llq_stat ratio;          /* PPL(Q)/PPL(base) */
    llq_stat diff;           /* PPL(Q) − PPL(base) */
    double cor;              /* correlation of the per-position NLLs of quant and base */
    llq_stat kld_mean;
    double kld_max, kld_min, kld_pct[LLQ_LCPP_KLD_PCT];
    llq_stat dp_mean;
    double dp_max, dp_min, dp_pct[LLQ_LCPP_DP_PCT];
    llq_stat rms_dp;         /* sqrt(mean Δp²) */
    llq_stat same_top;       /* fraction of positions whose argmax agrees */
} llq_drift_lcpp;

typedef struct llq_drift_result {
    llq_stat ppl_base, ppl_quant;
    llq_stat dppl, dppl_pct;            /* ppl_quant - ppl_base, and as % of ppl_base */
    llq_stat kld_mean, kld_median, kld_p99, kld_max; /* KL(base ‖ quant) per scored position, nats */
    llq_stat top1;                      /* % of positions where both argmaxes agree */
    llq_stat rms_dp;                    /* RMS of p_quant(correct) - p_base(correct) */
    size_t n_windows, n_scored;
    uint32_t n_layers;
    double *layer_relerr;               /* per_layer: [n_layers] sqrt(Σ‖x_q − x_b‖² / Σ‖x_b‖²) after each layer,
                                           over all tokens; owned by the result (llq_drift_result_free) */
    double *kld;                        /* keep_kld: [n_scored] KL divergence per position, sorted ascending;
                                           owned by the result (llq_drift_result_free) */
    llq_drift_lcpp lcpp;                /* the same run in llama-perplexity's terms */
} llq_drift_result;

/* Runs base and quant (same vocab and dim) on the same windows in one pass. */
int llq_eval_drift(llq_drift_result *out, const llq_model *base, const llq_model *quant, const uint32_t *tokens,
                   size_t n_tokens, const llq_eval_opts *o, llq_progress_fn progress, void *ud);
void llq_drift_result_free(llq_drift_result *r);

#ifdef __cplusplus
}
#endif

#endif
