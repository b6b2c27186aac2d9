/* gguf.h — writing a model as GGUF (llama.cpp's format; ggml's docs/gguf.md), the mapping in docs/FORMAT.md "GGUF".
 * Reading needs no call of its own: llq_open opens a .gguf file as a translated view (format.h).
 *
 * llq_gguf_write writes GGUF v3, alignment 32: general.* (architecture "llama", or "qwen2" with its q/k rows and
 * biases in llama.cpp's NEOX order; name, file_type, quantization_version, alignment), the hyper-parameters under
 * the architecture's prefix (llama3 rope scaling as the rope_freqs tensor), the tokenizer (SentencePiece and
 * Metaspace tokenizer.json as model "llama", byte-level BPE as "gpt2" with merges and the tokenizer.ggml.pre name
 * llama.cpp knows it by, none as "no_vocab"), provenance and quantization recipe under llq.* (llq.quant.method,
 * llq.quant.calib_file, ...; llq.version), then the tensors in llama.cpp's names and order (no output.weight when
 * tied). What llama.cpp would run differently is refused with LLQ_EUNSUPPORTED by name: a sliding window, a
 * pre-tokenizer llama.cpp has no name for, a tiktoken tokenizer. Types: f32 / f16 / bf16 as they are; q8 -> Q8_0 and q4 -> Q4_0 with
 * every dequantized value unchanged (any group that is a multiple of 32 along rows that are: each 32-block takes
 * its group's scale); q4a -> Q4_1 with min = −z·d rounded to f16 (the worst deviation is reported). A tensor no
 * GGUF type holds exactly is refused with LLQ_EUNSUPPORTED naming it. Temp file beside the output, then renamed:
 * a failed run leaves nothing. */
#ifndef LLQ_GGUF_H
#define LLQ_GGUF_H

#include "llq/format.h"

typedef struct llq_gguf_opts {
    const char *out;        /* output path */
    unsigned flags;         /* LLQ_W_FORCE: replace an existing output */
    void (*progress)(void *ctx, uint64_t done, uint64_t total); /* optional: tensor bytes written / total */
    void *progress_ctx;
    void (*on_temp)(const char *path); /* optional: the temp file's path once it exists, NULL once it is gone */
    int lean;               /* 1: no llq.* provenance or recipe keys (llq.version, llq.provenance.*, llq.quant.*),
                               and no key that says what llama.cpp assumes without it (general.alignment 32; for a
                               SentencePiece tokenizer unknown id 0, add_bos on, add_eos off, add_space_prefix on):
                               the same model for llama.cpp in fewer bytes. Keys llq needs to read the file back
                               exactly (llq.bos_id, llq.eos_ids, llq.rope_scaling.*, llq.tokenizer.bpe.*) stay. */
} llq_gguf_opts;

typedef struct llq_gguf_report {
    uint32_t n_tensors;
    uint32_t file_type;     /* general.file_type written (llama.cpp's LLAMA_FTYPE_*) */
    uint64_t data_bytes;    /* tensor bytes */
    uint64_t file_size;
    int tokenizer;          /* 1 if a tokenizer was written */
    double q4_1_max_dev;    /* q4a -> Q4_1: max |f16(−z·d) − (−z·d)| over all groups (0 if none) */
    double q4_1_max_rel;    /* the same relative to the group's scale d */
    char q4_1_worst[LLQ_MAX_NAME + 1]; /* the tensor where it occurs ("" if none) */
} llq_gguf_report;

/* Writes f (a .llq file or a GGUF view) to o->out as GGUF. rep may be NULL. */
int llq_gguf_write(const llq_file *f, const llq_gguf_opts *o, llq_gguf_report *rep);

#endif
