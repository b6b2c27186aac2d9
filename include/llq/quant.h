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

#include "llq/calib.h"
#include "llq/format.h"
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

/* The thread pool of include/llq/kernels.h (llq_pool_new). */
typedef struct llq_pool llq_pool;

/* Quantizes rows × K (row-major, contiguous) into dst (rows × row_bytes) on the threads of pool (NULL: the
 * calling thread only); the output is the same for any number of threads. On a bad value the message names the
 * row and column; the first error (lowest row) is returned. */
int llq_quantize_tensor(void *dst, const float *x, uint64_t rows, uint64_t K, uint32_t type, uint32_t group,
                        const llq_quant_opts *o, llq_pool *pool);

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

/* llama.cpp's mixes (llama-quantize's names): per-tensor block types chosen as llama-quantize does. */
enum llq_preset {
    LLQ_PRESET_NONE = 0,
    LLQ_PRESET_Q4_K_M,
    LLQ_PRESET_Q4_K_S,
    LLQ_PRESET_Q5_K_M,
    LLQ_PRESET_Q6_K,
    LLQ_PRESET_Q3_K_M,
    LLQ_PRESET_IQ4_XS
};

typedef struct llq_quant_policy {
    uint32_t type, group; /* default for linear weights */
    llq_quant_rule *rules;
    size_t n_rules;
    int preset;               /* enum llq_preset; set by llq_policy_preset */
    uint32_t n_layers, n_gqa; /* the model's, for the preset's per-layer promotions */
} llq_quant_policy;

/* Default policy for (type, group); checks both (LLQ_EINVAL). No allocation. */
int llq_policy_init(llq_quant_policy *p, uint32_t type, uint32_t group);
/* Adds a rule parsed from "GLOB=TYPE[:GROUP]" (LLQ_EINVAL naming the spec if malformed). */
int llq_policy_add_rule(llq_quant_policy *p, const char *spec);
/* Target type and group for a tensor of the given name, input type, rank and row length (elements of the last
 * dimension). LLQ_EUNSUPPORTED if the input is already quantized (message names the tensor). The one per-tensor
 * decision: a preset that varies the type by tensor or layer belongs here; llq_policy_plan and llq_quantize_file
 * take whatever it returns, and a target other than f32/f16/bf16 must pass llq_quant_check (the quantizer's own
 * test of type, group, row length). With a preset, a block type whose block does not divide the row falls back as
 * llama-quantize does (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0, q2_k / q3_k / iq4_xs → iq4_nl). */
int llq_policy_choose(const llq_quant_policy *p, const char *name, uint32_t in_type, uint32_t n_dims,
                      uint64_t row_len, uint32_t *type, uint32_t *group);
/* Parses a preset name ("q4_k_m", "q4_k_s", "q5_k_m", "q6_k", "q3_k_m", "iq4_xs"): 0 or LLQ_EINVAL. */
int llq_preset_parse(int *out, const char *name);
const char *llq_preset_name(int preset);
/* Makes p follow a preset for a model of n_layers layers and n_heads / n_kv_heads = n_gqa (type = the preset's
 * base type, group 0). Rules added afterwards still override it. */
void llq_policy_preset(llq_quant_policy *p, int preset, uint32_t n_layers, uint32_t n_gqa);
/* Parses a group: "32", "64", "128", "row" (= 0). LLQ_EINVAL otherwise. */
int llq_group_parse(uint32_t *out, const char *s);
/* Frees the rules (the struct itself is the caller's). NULL allowed. */
void llq_policy_free(llq_quant_policy *p);

/* The output type and group of one tensor. */
typedef struct llq_quant_choice {
    uint32_t type, group;
} llq_quant_choice;
/* The plan for every tensor of f, in table order (llq_policy_choose per tensor, each quantized choice checked
 * against the tensor's row length with llq_quant_check; errors name the tensor). *out: llq_n_tensors(f) entries,
 * malloc'd, owned by the caller (free). Nothing is written before the whole file is planned. */
int llq_policy_plan(llq_quant_choice **out, const llq_quant_policy *p, const llq_file *f);

/* ---- whole files (quantize/quantize.c): llq-quantize is a command line over this ----
 * Plans every tensor (llq_policy_plan), runs calibration when asked (llq_calib_run), then streams the output:
 * every metadata entry of the input except earlier quant.* keys, the recipe as quant.* keys
 * (docs/QUANTIZATION.md), and every tensor quantized, converted or copied as planned, rows in chunks of about
 * 64 MB of f32 with the input's pages released as it goes. Written to a temp file and renamed on success. */
enum {
    LLQ_QUANTIZE_FORCE = 1,  /* replace an existing output file (never an input) */
    LLQ_QUANTIZE_DRY_RUN = 2, /* check and plan everything, fill the report's sizes (and calib_mem), write nothing */
    LLQ_QUANTIZE_OWN_TARGETS = 4, /* GPTQ: llq_calib_opts.own_targets */
    LLQ_QUANTIZE_EMBED_RTN = 8,   /* GPTQ: llq_calib_opts.embed_rtn */
    LLQ_QUANTIZE_HEAD_ONE_H = 16  /* GPTQ: llq_calib_opts.head_one_h */
};

typedef struct llq_quantize_opts {
    const char *in;                       /* f32 / f16 / bf16 .llq model */
    const char *out;                      /* output .llq; never the model or the calibration text */
    const llq_quant_policy *policy;       /* required: per-tensor type and group; its rules become quant.keep; a
                                           * preset's layer count and grouping are read from the model */
    unsigned methods;                     /* 0: RTN; LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ, or LLQ_CALIB_IMP alone
                                           * (importance-weighted RTN; recorded as rtn) (llq/calib.h) */
    int no_search;                        /* RTN with plain absmax scales instead of searched ones */
    const char *calib_text;               /* calibration text (UTF-8); required with methods, ignored without */
    int calib_is_tokens;                  /* calib_text holds little-endian uint32 token ids instead */
    uint32_t calib_samples, calib_ctx;    /* windows and tokens per window; 0: llq_calib_opts' defaults (windows:
                                           * 512 with the q6_k preset) */
    uint64_t seed;                        /* window placement; recorded as quant.seed */
    int n_threads;                        /* threads for all of it (RTN and calibration); <= 0: all CPUs */
    unsigned flags;                       /* LLQ_QUANTIZE_* */
    /* Optional: progress of a stage ("calibrating: ...", "writing"), done of total. */
    void (*progress)(void *ud, const char *stage, uint64_t done, uint64_t total);
    void *progress_ud;
    /* Optional: called just before the writer creates its temp file (a tool holds its signals from there), then
     * on_temp with the temp file's path once it exists, and with NULL once it is gone or renamed (lets a tool
     * remove it from a signal handler). As llq_convert_opts. */
    void (*before_temp)(void);
    void (*on_temp)(const char *path);
} llq_quantize_opts;

typedef struct llq_quantize_tensor_info {
    char *name;                           /* owned by the report */
    uint32_t type, group;                 /* as written */
    uint64_t bytes;                       /* data bytes written */
} llq_quantize_tensor_info;

typedef struct llq_quantize_report {
    const char *method;                   /* "rtn", "awq", "gptq" or "awq+gptq" (static) */
    uint64_t file_size;                   /* bytes of the output file */
    uint64_t bytes_in, bytes_out;         /* tensor data bytes read / written */
    double bits_per_weight;               /* of the quantized tensors (0 if none) */
    double seconds;                       /* wall time of llq_quantize_file */
    double rtn_seconds;                   /* of it, in RTN quantization */
    uint64_t rtn_f32_bytes;               /* f32 bytes RTN quantized */
    double calib_seconds;                 /* calibration (0 without) */
    uint64_t calib_tokens;                /* tokens in the calibration text (0 without) */
    uint32_t n_meta_skipped;              /* metadata entries of an unknown value type (a newer minor version) not copied */
    char meta_skipped[64];                /* the first of them */
    size_t n_tensors;                     /* entries of tensors, in the input's order */
    llq_quantize_tensor_info *tensors;    /* owned: llq_quantize_report_free */
    int dry_run;                          /* LLQ_QUANTIZE_DRY_RUN: sizes are the plan's, nothing was written */
    llq_calib_mem calib_mem;              /* dry run of a calibrated method: its peak memory (llq_calib_mem_estimate) */
} llq_quantize_report;

/* Quantizes o->in into o->out. rep (may be NULL) is filled on success; release it with llq_quantize_report_free.
 * Errors (one line): an input already quantized, a NaN/Inf weight (tensor, row and column), an output that
 * exists (LLQ_EEXIST without LLQ_QUANTIZE_FORCE) or is one of the inputs, calibration errors. Nothing is left
 * behind on failure. */
int llq_quantize_file(llq_quantize_report *rep, const llq_quantize_opts *o);
/* Frees what the report owns (not the struct). NULL allowed. */
void llq_quantize_report_free(llq_quantize_report *rep);

#ifdef __cplusplus
}
#endif

#endif
