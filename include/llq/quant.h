/* quant.h — group quantization of f32 rows into the q8 / q4 / q4a layouts of docs/FORMAT.md section 5.
 *
 * Round to nearest (RTN) with a searched scale: for every group the scale (and, for q4a, the zero point) is
 * chosen among candidate clipping ranges to minimise the (optionally weighted) squared error of the
 * dequantized group, then refined by least squares for the chosen integer codes and rounded to f16
 * (the error is always measured with the f16 scale that is stored).
 *
 * Building blocks for calibrated methods (AWQ, GPTQ): llq_quant_scales picks the per-group scales of a row
 * from weights + importance, llq_quant_encode_row encodes a row with given scales (GPTQ's static groups),
 * llq_quant_snap rounds one value to its group's grid. Methods, policy and metadata keys: docs/QUANTIZATION.md.
 */
#ifndef LLQ_QUANT_H
#define LLQ_QUANT_H

#include "llq/llq.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llq_quant_opts {
    /* Optional per-column importance weights imp[K] (≥ 0, finite), e.g. calibration mean x² per input
     * channel: the error minimised is Σ_k imp[k]·(x_k − x̂_k)². NULL = uniform. Borrowed, not owned. */
    const float *imp;
    /* 0 = plain absmax scale (no search); 1 = clip/scale search (default when opts is NULL). */
    int search;
} llq_quant_opts;

/* Largest row length llq accepts for quantization (a hard limit, not a format limit). */
#define LLQ_QUANT_MAX_K (1ull << 32)

/* Checks type/group for quantizing rows of K elements: type q8/q4/q4a, group 0/32/64/128, 1 ≤ K ≤ limit.
 * 0 or LLQ_EINVAL/LLQ_EUNSUPPORTED with a message. */
int llq_quant_check(uint32_t type, uint32_t group, uint64_t K);

/* Quantizes one row x[K] into dst (llq_row_bytes(type, group, K) bytes, written completely, padding as the
 * spec says). o may be NULL (search on, uniform weights). Fails with LLQ_EINVAL, writing garbage into dst,
 * on a NaN/Inf (message names the column) or a scale that overflows f16. Thread-safe. */
int llq_quantize_row(void *dst, const float *x, uint64_t K, uint32_t type, uint32_t group,
                     const llq_quant_opts *o);

/* Quantizes rows × K (row-major, contiguous) into dst (rows × row_bytes) with n_threads threads (≤ 0:
 * one per CPU, capped at 64). On a bad value the message names the row and column; the first error
 * (lowest row) is returned. */
int llq_quantize_tensor(void *dst, const float *x, uint64_t rows, uint64_t K, uint32_t type, uint32_t group,
                        const llq_quant_opts *o, int n_threads);

/* Per-group parameters of one row: d[G] scales (values exactly representable in f16) and, for q4a, z[G]
 * zero points (z may be NULL for q8/q4). G from llq_group_geometry. Same search as llq_quantize_row. */
int llq_quant_scales(float *d, uint8_t *z, const float *x, uint64_t K, uint32_t type, uint32_t group,
                     const llq_quant_opts *o);

/* Encodes a row with given per-group d[G] (stored as f16: callers pass f16-exact values, e.g. from
 * llq_quant_scales) and z[G] (q4a; NULL otherwise): each element rounded to the nearest code, clamped.
 * x must be finite. */
void llq_quant_encode_row(void *dst, const float *x, uint64_t K, uint32_t type, uint32_t group, const float *d,
                          const uint8_t *z);

/* The dequantized value x rounds to in a group of scale d (and zero point z for q4a; ignored otherwise). */
float llq_quant_snap(float x, uint32_t type, float d, uint8_t z);

/* ---- policy: which tensor gets which type (llq-quantize; docs/QUANTIZATION.md "Policy") ----
 * Defaults: every 2-D tensor is a linear weight and gets (type, group), except tok_embeddings.weight and
 * output.weight, which get q8 with the same group; tensors of other ranks (norms) keep their type.
 * Rules "GLOB=TYPE[:GROUP]" (fnmatch on the tensor name; GROUP 32/64/128/row) override the defaults, the last
 * matching rule winning. An input tensor that is already quantized is refused. */
typedef struct llq_quant_rule {
    char *glob;     /* owned */
    uint32_t type;  /* any llq type; non-quantized types convert (e.g. bf16 -> f32) or copy */
    uint32_t group; /* used if has_group */
    int has_group;
} llq_quant_rule;

typedef struct llq_quant_policy {
    uint32_t type, group; /* default for linear weights */
    llq_quant_rule *rules;
    size_t n_rules;
} llq_quant_policy;

/* Default policy for (type, group); checks both (LLQ_EINVAL). No allocation. */
int llq_policy_init(llq_quant_policy *p, uint32_t type, uint32_t group);
/* Adds a rule parsed from "GLOB=TYPE[:GROUP]" (LLQ_EINVAL naming the spec if malformed). */
int llq_policy_add_rule(llq_quant_policy *p, const char *spec);
/* Target type and group for a tensor of the given name, input type and rank. LLQ_EUNSUPPORTED if the input is
 * already quantized (message names the tensor). */
int llq_policy_choose(const llq_quant_policy *p, const char *name, uint32_t in_type, uint32_t n_dims,
                      uint32_t *type, uint32_t *group);
/* Parses a group: "32", "64", "128", "row" (= 0). LLQ_EINVAL otherwise. */
int llq_group_parse(uint32_t *out, const char *s);
/* Frees the rules (the struct itself is the caller's). NULL allowed. */
void llq_policy_free(llq_quant_policy *p);

#ifdef __cplusplus
}
#endif

#endif
