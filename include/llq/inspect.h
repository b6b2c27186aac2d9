/* inspect.h — streaming tensor statistics and tensor-vs-reference error (what llq-inspect --stats / --compare print).
 *
 * Both work row by row through a row callback, so a tensor is never materialised: memory is one row (or two)
 * of f32 plus the pages of the mapping being read, which the .llq wrappers release as they go
 * (llq_drop_pages). Accumulators are f64.
 */
#ifndef LLQ_INSPECT_H
#define LLQ_INSPECT_H

#include "llq/format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LLQ_HIST_BINS 24

/* Fills out[row_len] with row r of a tensor, as f32. Returns 0 or a negative LLQ_E* code (message set). */
typedef int (*llq_row_fn)(void *ctx, uint64_t r, float *out);

typedef struct llq_stats {
    uint64_t n;              /* finite values (everything below is over these) */
    uint64_t n_nonfinite;    /* NaN / ±Inf values, excluded */
    double min, max, mean, std, absmax;
    double kurtosis;         /* Pearson kurtosis m4 / m2^2 (3 for a normal distribution; 0 if std == 0) */
    double outlier_frac;     /* fraction of values with |x - mean| > 6 std */
    uint64_t hist[LLQ_HIST_BINS]; /* equal-width bins over [min, max] */
} llq_stats;

/* Two streaming passes over n_rows rows of row_len values: moments (merged per row, Pébay's formulas),
 * then outliers and the histogram. std is the population standard deviation. */
int llq_stats_rows(llq_stats *out, llq_row_fn fn, void *ctx, uint64_t n_rows, uint64_t row_len);
/* Statistics of a .llq tensor (quantized tensors: of the dequantized values). */
int llq_stats_tensor(llq_stats *out, const llq_file *f, const llq_tensor *t);

typedef struct llq_cmp {
    uint64_t n;              /* elements compared */
    double rmse;             /* sqrt(mean((x - ref)^2)) */
    double max_abs;          /* max |x - ref| */
    double sqnr_db;          /* 10 log10(sum ref^2 / sum (x - ref)^2); +inf if identical, NaN if a
                                value is NaN (or both hold the same Inf) */
    double cosine;           /* <x, ref> / (|x| |ref|), clamped to [-1, 1]; exactly 1 if x == ref (also both 0),
                                0 if only one is zero; NaN if a value is NaN */
    double sse, ss_ref, ss_x, dot; /* the sums behind them (to aggregate several tensors) */
} llq_cmp;

/* Error of x against ref, both n_rows x row_len. */
int llq_compare_rows(llq_cmp *out, llq_row_fn x, void *cx, llq_row_fn ref, void *cref, uint64_t n_rows,
                     uint64_t row_len);
/* Error of tensor x (file fx) against tensor ref (file fref); LLQ_EINVAL (message names both shapes) if the
 * shapes differ. */
int llq_compare_tensors(llq_cmp *out, const llq_file *fx, const llq_tensor *x, const llq_file *fref,
                        const llq_tensor *ref);
/* Fills rmse/sqnr_db/cosine from n and the sums (after aggregating several llq_cmp). */
void llq_cmp_finish(llq_cmp *c);

/* Row callback over a .llq tensor: ctx is a struct llq_tensor_rows. Releases pages behind it as it goes. */
typedef struct llq_tensor_rows {
    const llq_file *f;
    const llq_tensor *t;
    uint64_t dropped;        /* bytes of t already released */
} llq_tensor_rows;
int llq_tensor_row_f32(void *ctx, uint64_t r, float *out);

#ifdef __cplusplus
}
#endif

#endif
