/* svg.h — the drift chart of llq-eval drift --svg: one self-contained SVG (no script, no external font or
 * resource) with the headline figures, the per-layer relative error of the hidden state (bars) and the
 * distribution of per-position KL divergence (histogram on a log-x axis, mean / median / p99 marked).
 * The library writes to a FILE* the caller owns; the tool makes it a temp file renamed on success. */
#ifndef LLQ_SVG_H
#define LLQ_SVG_H

#include "llq/eval.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bins of the KL histogram: always this many <rect class="bin"> elements (empty bins have height 0). */
#define LLQ_SVG_KLD_BINS 60
/* The log-x axis spans at most this many decades below the largest KL; smaller values go in the first bin. */
#define LLQ_SVG_KLD_DECADES 8

/* Writes the chart of r to f. base / quant: the two model names shown (XML-escaped here).
 * Needs r->kld (opts.keep_kld) with r->n_scored > 0; r->layer_relerr may be NULL (the panel then says so, and
 * there is no <rect class="layer">), otherwise one <rect class="layer"> per layer. Non-finite statistics are
 * drawn as 0 and printed as "n/a"; every number in the output is finite.
 * Does not close f. Returns 0, LLQ_EINVAL (no per-position KL) or LLQ_EIO (a write to f failed). */
int llq_svg_drift(FILE *f, const char *base, const char *quant, const llq_drift_result *r);

/* A horizontal bar chart on a log-x axis (at most LLQ_SVG_KLD_DECADES decades below the largest value; smaller
 * positive values are drawn at the axis minimum): one <rect class="bar"> per value, labelled labels[i]; values
 * <= 0 or not finite get an empty bar and the label "0" / "n/a". title / subtitle / axis are shown as given
 * (XML-escaped). Used by llq-inspect --compare --svg for the per-tensor relative error. Does not close f.
 * Returns 0, LLQ_EINVAL (n == 0) or LLQ_EIO (a write to f failed). */
int llq_svg_bars(FILE *f, const char *title, const char *subtitle, const char *axis, size_t n,
                 const char *const *labels, const double *values);

#ifdef __cplusplus
}
#endif

#endif
