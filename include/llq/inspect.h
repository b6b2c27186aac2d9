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

/* ---- any model file: a .llq file or a source checkpoint (include/llq/ckpt.h), seen the same way ---- */
typedef struct llq_any llq_any;

typedef struct llq_any_tensor {
    const char *name;             /* owned by the llq_any */
    const char *type;             /* .llq type ("q4", "bf16", ...) or source dtype ("f32", "i64", ...) */
    uint32_t n_dims;              /* 0 (scalar, sources only) .. 8 */
    uint64_t dims[8];
    uint64_t n_elem, n_rows, row_len; /* rows as in .llq: row_len = last dim; n_rows = 0 if n_elem == 0 */
    uint64_t bytes;
    uint32_t group;               /* .llq quantized tensors: group (0 = per row); else 0 */
    int quant;                    /* 1 for q8 / q4 / q4a */
    uint64_t offset;              /* .llq: file offset; sources: UINT64_MAX (not known) */
    const llq_tensor *llq;        /* the .llq tensor, NULL for sources */
    size_t index;                 /* position in the file */
} llq_any_tensor;

/* Opens path as .llq when it starts with the .llq magic or is named *.llq, else as a source checkpoint
 * (torch zip / legacy, safetensors). *out owned by the caller (llq_any_close). Errors name the file. */
int llq_any_open(llq_any **out, const char *path);
void llq_any_close(llq_any *a);
const llq_file *llq_any_llq(const llq_any *a); /* NULL for sources */
/* "llq", "torch-zip", "torch-legacy" or "safetensors". */
const char *llq_any_format(const llq_any *a);
size_t llq_any_count(const llq_any *a);
const llq_any_tensor *llq_any_at(const llq_any *a, size_t i);
const llq_any_tensor *llq_any_find(const llq_any *a, const char *name);
/* Checks tensor i's stored checksum: .llq CRC-32, torch zip entry CRC-32 (read whole); safetensors have none
 * (nothing is checked beyond what opening did). 0, or LLQ_ECRC / another code naming the file and the tensor. */
int llq_any_verify(llq_any *a, size_t i);
/* llq_stats_rows / llq_compare_rows over tensor i (sources: fetched with llq_src_data and released after). */
int llq_any_stats(llq_stats *out, llq_any *a, size_t i);
/* Error of tensor i of x against tensor j of ref; LLQ_EINVAL naming both shapes if they differ. */
int llq_any_compare(llq_cmp *out, llq_any *x, size_t i, llq_any *ref, size_t j);

#ifdef __cplusplus
}
#endif

#endif
