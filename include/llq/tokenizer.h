/* tokenizer.h — the tokenizers llq reads, stores in .llq metadata (docs/FORMAT.md section 6) and runs
 * exactly like their reference implementations:
 *  - SentencePiece BPE tokenizer.model (protobuf), encoded like the sentencepiece library;
 *  - Hugging Face tokenizer.json with a BPE model (byte-level like Llama-3/Qwen2/SmolLM2, or
 *    SentencePiece-style with Metaspace/Prepend+Replace and byte fallback like TinyLlama/Mistral),
 *    encoded like HF's Rust tokenizers library;
 *  - Meta's Llama-3 tokenizer.model in tiktoken format (base64 token + rank per line) plus the 256
 *    special tokens, encoded like tiktoken.
 * The last two share one engine (tokenizer/bpe.c); docs/TOKENIZERS.md describes the pipeline.
 *
 * SentencePiece details:
 * Supported: model_type BPE with an identity normaliser (empty precompiled_charsmap), as LLaMA-1/2 and
 * models/pydoc-7m use: add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, byte_fallback,
 * user-defined / control / unused / byte pieces. Refused with LLQ_EUNSUPPORTED: unigram/word/char models,
 * a normaliser or denormaliser with a precompiled charsmap (e.g. nmt_nfkc), treat_whitespace_as_suffix.
 *
 * A llq_tokenizer is immutable after construction: every function taking a const one is thread-safe.
 */
#ifndef LLQ_TOKENIZER_H
#define LLQ_TOKENIZER_H

#include "llq/format.h"
#include "llq/llq.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llq_tokenizer llq_tokenizer;

/* Piece types: the values of sentencepiece's ModelProto.SentencePiece.Type (stored in files). */
enum llq_piece_type {
    LLQ_PIECE_NORMAL = 1,
    LLQ_PIECE_UNKNOWN = 2,
    LLQ_PIECE_CONTROL = 3,
    LLQ_PIECE_USER_DEFINED = 4,
    LLQ_PIECE_UNUSED = 5,
    LLQ_PIECE_BYTE = 6
};

/* SentencePiece TrainerSpec.model_type values. */
enum { LLQ_SPM_UNIGRAM = 1, LLQ_SPM_BPE = 2, LLQ_SPM_WORD = 3, LLQ_SPM_CHAR = 4 };

#define LLQ_TOK_MAX_VOCAB (1u << 22)   /* hard limit on pieces */
#define LLQ_TOK_MAX_PIECE 256          /* hard limit on one piece's bytes (and on unk_surface) */
#define LLQ_TOKEN_DECODE_MAX (LLQ_TOK_MAX_PIECE + 1) /* buffer size always enough for llq_token_decode */

/* Everything a tokenizer is built from (what tokenizer.model and the .llq metadata hold).
 * Pointers are borrowed: llq_tokenizer_new copies what it keeps. */
typedef struct llq_tok_spec {
    uint32_t model_type;                 /* LLQ_SPM_* (only BPE is accepted) */
    uint32_t n_pieces;
    const char *const *pieces;           /* pieces[i] of piece_lens[i] bytes (not NUL-terminated) */
    const uint64_t *piece_lens;
    const float *scores;
    const int32_t *types;                /* enum llq_piece_type */
    int32_t unk_id, bos_id, eos_id, pad_id; /* -1 = none; from tokenizer.model: unk_id from TrainerSpec
                                            * (must be the unknown piece), bos/eos/pad = the control
                                            * pieces named by bos/eos/pad_piece, as sentencepiece */
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces; /* NormalizerSpec flags */
    int byte_fallback, split_digits, split_by_whitespace, treat_whitespace_as_suffix; /* TrainerSpec flags */
    const char *normalizer; size_t normalizer_len;     /* NormalizerSpec.name, e.g. "identity" */
    const char *unk_surface; size_t unk_surface_len;   /* TrainerSpec.unk_surface (default " \u2047 ") */
    int has_charsmap;                    /* NormalizerSpec.precompiled_charsmap non-empty (refused) */
    int has_denorm_charsmap;             /* denormalizer_spec.precompiled_charsmap non-empty (refused) */
} llq_tok_spec;

/* Builds a tokenizer from spec, validating it (types 1..6, non-empty unique pieces of at most
 * LLQ_TOK_MAX_PIECE bytes, exactly one unknown piece, ids in range, byte pieces spelled <0xNN>).
 * name is used in messages. *out owned by the caller (llq_tokenizer_free). */
int llq_tokenizer_new(llq_tokenizer **out, const llq_tok_spec *spec, const char *name);

/* Parses a SentencePiece tokenizer.model (protobuf ModelProto). *out owned by the caller.
 * Errors name the file: LLQ_EIO, LLQ_EFORMAT (malformed protobuf), LLQ_EUNSUPPORTED, LLQ_ELIMIT. */
int llq_spm_load(llq_tokenizer **out, const char *path);
/* Same from memory (buf is not kept); name is used in messages. */
int llq_spm_parse(llq_tokenizer **out, const void *buf, size_t len, const char *name);

/* Loads any tokenizer file, detected by content: a JSON object is a Hugging Face tokenizer.json, a
 * protobuf a SentencePiece model, lines of "base64 rank" a tiktoken file (with the Llama-3 special
 * tokens and regex). For a tokenizer.json, a tokenizer_config.json in the same folder supplies the
 * bos/eos tokens when the tokenizer.json does not name them. *out owned by the caller. */
int llq_tokenizer_load(llq_tokenizer **out, const char *path);
/* The same, naming a tiktoken file's special tokens as tiktoken_names says (enum llq_tiktoken_names below;
 * llq_tokenizer_load uses LLQ_TIKTOKEN_LLAMA3). The ids are the same either way. */
int llq_tokenizer_load_ex(llq_tokenizer **out, const char *path, int tiktoken_names);

/* Hugging Face tokenizer.json (model BPE). cfg/cfg_len: the tokenizer_config.json text or NULL (bos_token,
 * eos_token, pad_token, add_bos_token are read from it). Refused with LLQ_EUNSUPPORTED (naming the part):
 * models other than BPE, normalizers/pre-tokenizers/decoders llq does not implement, added tokens with
 * lstrip/rstrip/single_word, BPE dropout or subword prefixes. */
int llq_hf_parse(llq_tokenizer **out, const void *json, size_t len, const void *cfg, size_t cfg_len,
                 const char *name);

/* Which names the 256 special tokens of a tiktoken Llama-3 file get (ids 128000..128255 in both). */
enum llq_tiktoken_names {
    LLQ_TIKTOKEN_LLAMA3 = 0, /* Meta's llama3 repository: <|begin_of_text|>, ..., <|eot_id|>, reserved 5..250 */
    LLQ_TIKTOKEN_LLAMA31 = 1 /* llama-models (3.1+): adds <|finetune_right_pad_id|>, <|eom_id|>, <|python_tag|> */
};
/* Meta's tiktoken tokenizer.model: one "base64(token bytes) rank" line per token, ranks 0..n-1 each once,
 * plus the 256 special tokens named as names says; Llama-3's pre-tokenizer regex. */
int llq_tiktoken_parse(llq_tokenizer **out, const void *buf, size_t len, int names, const char *name);

/* "sentencepiece", "hf-bpe" (tokenizer.json) or "tiktoken": where the tokenizer came from. */
const char *llq_tokenizer_kind(const llq_tokenizer *t);

/* Writes the tokenizer.* metadata keys (docs/FORMAT.md section 6) to w. */
int llq_tokenizer_write_meta(const llq_tokenizer *t, llq_writer *w);
/* Rebuilds the tokenizer from an opened .llq file's metadata alone. *out owned by the caller.
 * LLQ_ENOTFOUND if the file has no tokenizer; LLQ_EFORMAT if the keys are inconsistent. */
int llq_tokenizer_from_llq(llq_tokenizer **out, const llq_file *f);

void llq_tokenizer_free(llq_tokenizer *t); /* NULL allowed */

uint32_t llq_tokenizer_n_vocab(const llq_tokenizer *t);
int32_t llq_tokenizer_bos(const llq_tokenizer *t); /* -1 if none */
int32_t llq_tokenizer_eos(const llq_tokenizer *t); /* -1 if none */
int32_t llq_tokenizer_unk(const llq_tokenizer *t);
int32_t llq_tokenizer_pad(const llq_tokenizer *t); /* -1 if none */
/* Read-only view of what the tokenizer was built from (pointers valid until llq_tokenizer_free). For the
 * BPE kinds only n_pieces, pieces, piece_lens, types and the four ids are set (model_type 0, no scores). */
const llq_tok_spec *llq_tokenizer_spec(const llq_tokenizer *t);

/* Encodes len bytes of text exactly as the reference does: sentencepiece's encode() (invalid UTF-8:
 * U+FFFD per bad byte), or HF tokenizers' encode without special-token post-processing (invalid UTF-8:
 * U+FFFD per maximal invalid subpart, as Rust's from_utf8_lossy and JavaScript's TextDecoder); with
 * add_bos (and a BOS token) the BOS id comes first.
 * *out is malloc'd (caller frees; may be NULL when *n_out is 0). */
int llq_tokenize(const llq_tokenizer *t, const char *text, size_t len, int add_bos, uint32_t **out, size_t *n_out);

/* Raw piece of id (e.g. "\xe2\x96\x81the", "<0x0A>"), not NUL-terminated in general; *len its bytes.
 * NULL if id is out of range. Valid until llq_tokenizer_free. */
const char *llq_token_piece(const llq_tokenizer *t, uint32_t id, size_t *len);
/* Type (enum llq_piece_type) of id, 0 if out of range. */
int llq_token_type(const llq_tokenizer *t, uint32_t id);

/* Decodes ids like sentencepiece's decode(): control pieces vanish, U+2581 becomes a space, the dummy
 * prefix space of the first piece is removed, runs of byte pieces become their bytes (invalid UTF-8
 * in them becomes U+FFFD per bad byte), unknown pieces become unk_surface. *out is malloc'd,
 * NUL-terminated, owned by the caller; *len excludes the NUL. LLQ_EINVAL for an id >= n_vocab. */
int llq_detokenize(const llq_tokenizer *t, const uint32_t *ids, size_t n, char **out, size_t *len);

/* Streaming decode of one token for printing while generating: the bytes of id given the previous
 * token prev (-1 at the start). A byte piece yields its raw byte (a terminal assembles UTF-8); the
 * leading space of a piece is dropped when prev is -1 or BOS/another control piece and the model adds a
 * dummy prefix. Writes a NUL-terminated string into buf (cap >= LLQ_TOKEN_DECODE_MAX always suffices)
 * and returns its length (>= 0), or LLQ_EINVAL (id out of range, cap too small). */
int llq_token_decode(const llq_tokenizer *t, int32_t prev, uint32_t id, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
