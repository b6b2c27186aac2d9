/* convert.h — a LLaMA checkpoint (Meta or Hugging Face layout) to one .llq file, as a library call.
 *
 * llq_convert finds the checkpoint's files (a directory, or one file with its params.json / config.json beside
 * it), reads the hyper-parameters, maps tensor names to the canonical ones of docs/FORMAT.md (undoing Hugging
 * Face's q/k rotary permutation, concatenating Meta's model-parallel shards), converts element types exactly
 * (round-to-nearest-even) and streams every tensor to the .llq writer, one at a time: memory stays near the
 * largest tensor whatever the model size. The SentencePiece tokenizer.model found beside the checkpoint goes into
 * the metadata. On any failure nothing is left at the output path and llq_errmsg() names the file and the problem.
 */
#ifndef LLQ_CONVERT_H
#define LLQ_CONVERT_H

#include "llq/gguf.h"
#include "llq/hparams.h"
#include "llq/llq.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum llq_layout {
    LLQ_LAYOUT_AUTO = 0, /* detect from the files present */
    LLQ_LAYOUT_META = 1, /* consolidated.NN.pth + params.json */
    LLQ_LAYOUT_HF = 2    /* config.json + model*.safetensors / pytorch_model*.bin (+ index) */
};

#define LLQ_CONVERT_KEEP 0xffffffffu /* output dtype: source precision for matrices, f32 for 1-D tensors */

enum {
    LLQ_CONVERT_FORCE = 1,       /* replace an existing output file (never an input) */
    LLQ_CONVERT_NO_TOKENIZER = 2, /* convert without tokenizer.model instead of failing when it is absent */
    LLQ_CONVERT_LEAN = 4          /* GGUF output: llq_gguf_opts.lean (no llq.* provenance, no default-valued keys) */
};

typedef struct llq_convert_opts {
    const char *src;        /* checkpoint directory, or one checkpoint file / *.index.json */
    const char *out;        /* output .llq path */
    int layout;             /* enum llq_layout */
    uint32_t dtype;         /* LLQ_F32 / LLQ_F16 / LLQ_BF16 for every tensor, or LLQ_CONVERT_KEEP */
    unsigned flags;         /* LLQ_CONVERT_* */
    const char *tokenizer;  /* tokenizer.model path; NULL = look beside the checkpoint, then in its parent */
    uint32_t context_length; /* > 0: llama.context_length to store instead of the source's (0 if it says none) */
    /* Optional: called after each chunk written (bytes of tensor data done / total). */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* Optional: called with the writer's temp file path once it exists, and with NULL once it is gone or renamed
     * (lets a tool remove it from a signal handler). The string stays valid until the NULL call. */
    void (*on_temp)(const char *path);
    /* Optional: called just before the temp file is created (after planning, whose reads may block: a tool that
     * defers signals from here until on_temp never holds them across a blocking read). If creating it fails,
     * llq_convert returns with no on_temp call. */
    void (*before_temp)(void);
} llq_convert_opts;

typedef struct llq_convert_report {
    char layout[8];         /* "meta" / "hf" */
    char src_format[16];    /* container of the first checkpoint file: "torch-zip", "torch-legacy", "safetensors" */
    char src_dtype[8];      /* dtype of the source matrices ("f32", "f16", "bf16", "f64", or "mixed") */
    char out_dtype[8];      /* dtype of the output matrices */
    uint32_t n_files;       /* checkpoint files read */
    uint32_t n_tensors;     /* tensors written */
    uint32_t n_dropped;     /* source tensors dropped on purpose (rope.freqs, rotary_emb.inv_freq) */
    int tokenizer;          /* 1 if tokenizer metadata was written */
    uint32_t tok_pieces;    /* its pieces (may be fewer than hp.vocab_size: padding rows, or another model's) */
    int tied_lm_head;       /* 1 if config.json says tie_word_embeddings but the checkpoint has its own lm_head.weight,
                               which was dropped: Hugging Face ties the head to the embeddings whatever it holds */
    uint64_t bytes_in;      /* source tensor bytes read */
    uint64_t bytes_out;     /* tensor data bytes written */
    uint64_t file_size;     /* size of the .llq file */
    double seconds;         /* wall time */
    llq_hparams hp;         /* hyper-parameters written */
    int gguf;               /* 1 if the output was GGUF (then gg holds its report) */
    llq_gguf_report gg;
} llq_convert_report;

/* Converts o->src to o->out. rep (may be NULL) is filled on success. Returns 0 or a negative LLQ_E* code.
 * o->src may also be a .llq or GGUF file (recognised by its magic): its tensors are copied as they are (a GGUF's
 * as the llq types of its view, docs/FORMAT.md "GGUF"), or with o->dtype dequantized exactly and rounded once.
 * An output path ending in ".gguf" is written as GGUF (llq_gguf_write; a checkpoint goes through a temporary
 * .llq beside it; o->dtype must then be LLQ_CONVERT_KEEP). */
int llq_convert(const llq_convert_opts *o, llq_convert_report *rep);

#ifdef __cplusplus
}
#endif

#endif
