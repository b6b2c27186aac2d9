/* layout.h — internal to llq_convert: which files make up a checkpoint, its hyper-parameters, and the plan of
 * canonical output tensors (which source tensors each one is made of, and how). */
#ifndef LLQ_CONVERT_LAYOUT_H
#define LLQ_CONVERT_LAYOUT_H

#include "llq/ckpt.h"
#include "llq/convert.h"
#include "llq/hparams.h"

#include <stddef.h>
#include <stdint.h>

#define CONV_MAX_FILES 1024       /* checkpoint shards */
#define CONV_MAX_JSON (64u << 20) /* params.json / config.json / *.index.json */
#define CONV_NAME_MAX 64          /* canonical names are short: "layers.123.feed_forward.w1.weight" */

/* One source tensor: file index in the plan and tensor index in that file. */
typedef struct conv_piece {
    uint32_t file;
    uint32_t index;
} conv_piece;

typedef struct conv_tensor {
    char name[CONV_NAME_MAX]; /* canonical */
    uint32_t n_dims;          /* 1 or 2 */
    uint64_t dims[2];         /* canonical (whole) shape */
    int split;                /* n_pieces > 1: shards concatenated along dim 0 or 1; -1: replicated (all equal) */
    uint32_t permute_heads;   /* > 0: undo Hugging Face's rotary permutation, heads of dims[0]/permute_heads rows */
    uint32_t src_dtype;       /* enum llq_src_dtype (same in every piece) */
    uint32_t n_pieces;
    conv_piece *pieces;       /* owned by the plan */
} conv_tensor;

typedef struct conv_plan {
    int layout;               /* LLQ_LAYOUT_META / LLQ_LAYOUT_HF */
    char *dir;                /* directory of the checkpoint */
    char *config;             /* params.json / config.json path */
    char *index;              /* *.index.json path or NULL */
    struct json_object *index_json; /* its parsed contents */
    char *tokenizer;          /* tokenizer.model path, NULL if none found */
    int vocab_unknown;        /* params.json says vocab_size -1 */
    int tied_lm_head;         /* llama.tied_embeddings, and the checkpoint has an lm_head.weight: dropped (as HF) */
    llq_hparams hp;
    size_t n_files;
    char **files;             /* checkpoint file paths, in shard order */
    llq_src **srcs;           /* opened by conv_plan_open */
    size_t n_tensors;
    conv_tensor *tensors;     /* canonical order */
    uint32_t n_dropped;
} conv_plan;

/* Finds the files of o->src (layout o->layout or detected), reads the config into p->hp (vocab_size 0 when
 * params.json says -1), looks for tokenizer.model unless o->tokenizer names one. p owned by the caller
 * (conv_plan_free, also after failure). */
int conv_plan_find(conv_plan *p, const llq_convert_opts *o);
/* Opens every checkpoint file and plans the canonical tensors. tok_vocab: the tokenizer's vocabulary size
 * (0 if none), used when the config does not give vocab_size. Checks every shape against the hyper-parameters. */
int conv_plan_open(conv_plan *p, uint32_t tok_vocab);
void conv_plan_free(conv_plan *p);

/* ---- pieces, exposed for tests ---- */

/* LLaMA's SwiGLU width: h = int(2*(4*dim)/3); if mult > 0: h = int(mult*h); rounded up to multiple_of. */
uint32_t conv_ffn_dim(uint32_t dim, uint32_t multiple_of, double mult);

/* Canonical tensors are numbered by slot (llq_arch_n_slots, llq_arch_slot_name, llq_arch_shape in
 * include/llq/hparams.h); a slot whose tensor hp's model does not have (biases, a tied output) stays empty. */

/* Hugging Face name of a slot ("model.layers.3.mlp.up_proj.weight"). */
void conv_slot_hf_name(char out[CONV_NAME_MAX + 16], uint32_t slot, uint32_t n_layers);
/* Slot of a Hugging Face tensor name. Returns 1 (and *permute: heads to undo the rotary permutation with, 0 if
 * none), 0 for a tensor to drop (rotary_emb.inv_freq, a tied model's lm_head), -1 for an unknown name, a layer
 * >= n_layers or a tensor hp's model does not have. */
int conv_hf_name(uint32_t *slot, uint32_t *permute, const char *hf, const llq_hparams *hp);
/* Same for Meta names: 1 keep, 0 drop (rope.freqs), -1 unknown or not in hp's model. *split: the dim model-parallel shards cut it
 * along (0 or 1; tok_embeddings says 1, LLaMA-1/2), -1 for replicated 1-D tensors. */
int conv_meta_name(uint32_t *slot, int *split, const char *name, const llq_hparams *hp);

/* Row of a Hugging Face q/k tensor that holds canonical (Meta) row r, for heads of head_dim rows. */
static inline uint64_t conv_hf_row(uint64_t r, uint64_t head_dim)
{
    uint64_t h = r / head_dim, w = r % head_dim;
    return h * head_dim + (w & 1) * (head_dim / 2) + w / 2;
}

/* The part of path after its last '/'. */
const char *conv_base_name(const char *path);

/* Parses params.json (Meta) / config.json (HF) text into hp; path only names the file in errors. */
int conv_parse_params(llq_hparams *hp, int *vocab_unknown, const char *text, size_t len, const char *path);
int conv_parse_config(llq_hparams *hp, const char *text, size_t len, const char *path);
/* Parses a JSON object (depth-limited, nothing after it). Returns it (json_object_put) or NULL with *err set. */
struct json_object *conv_json_parse(const char *text, size_t len, const char *path, int *err);

/* ---- .llq / GGUF sources and GGUF outputs (repack.c) ---- */
int conv_is_gguf_path(const char *path);  /* ends in ".gguf" */
int conv_opens_as_llq(const char *path);  /* a regular file with the .llq or GGUF magic */
/* llq_convert for those (see convert.h); grep (may be NULL) gets the GGUF writer's report. */
int conv_repack(const llq_convert_opts *o, llq_convert_report *rep, llq_gguf_report *grep);

/* ---- element conversion (elem.c) ---- */

/* Converts n elements of src_dtype (enum llq_src_dtype: f32/f16/bf16/f64) to dst_type (LLQ_F32/F16/BF16),
 * exactly: one round-to-nearest-even (f64 -> f16/bf16 rounds once, via round-to-odd f32). */
void conv_elems(void *dst, uint32_t dst_type, const void *src, uint32_t src_dtype, size_t n);
/* The scalar reference, and its AVX2/F16C twin (elem_avx2.c; only after llq_cpu_has_avx2()) for f32 <-> f16/bf16:
 * converts the first multiple of 8 elements and returns how many (0 for other type pairs). Bit-identical. */
void conv_elems_ref(void *dst, uint32_t dst_type, const void *src, uint32_t src_dtype, size_t n);
size_t conv_elems_avx2(void *dst, uint32_t dst_type, const void *src, uint32_t src_dtype, size_t n);
/* Output type of a tensor: dtype unless LLQ_CONVERT_KEEP; keep = f32 for 1-D and f64, else the source's. */
uint32_t conv_out_type(uint32_t dtype, uint32_t src_dtype, uint32_t n_dims);
size_t conv_type_size(uint32_t type); /* 4 / 2 / 2 */

#endif
