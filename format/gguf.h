/* gguf.h — internal to format/: what the GGUF reader (gguf_read.c) and writer (gguf_write.c) share: ggml's
 * tensor types and how each maps to an llq type, llama.cpp's tensor names and the canonical ones
 * (docs/FORMAT.md, "GGUF"). Byte layout of a GGUF file: ggml's docs/gguf.md (v2/v3, little-endian):
 *   u32 magic "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 *   n_kv × (string key, u32 value_type, value), n_tensors × (string name, u32 n_dims, u64 ne[n_dims]
 *   innermost first, u32 ggml_type, u64 offset from the data section), zero padding to general.alignment
 *   (default 32), the data section. string = u64 length + bytes; array = u32 type, u64 count, elements. */
#ifndef LLQ_FORMAT_GGUF_H
#define LLQ_FORMAT_GGUF_H

#include "llq/format.h"

#include <stdint.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_ALIGN_DEFAULT 32u
#define GGUF_MAX_DIMS 4u
#define GGUF_MAX_COUNT 1000000u /* tensors, key/value pairs */
#define GGUF_MAX_ALIGN (1u << 20)
#define GGUF_PIECE_MAX 256 /* bytes of one token (tokenizer.h's LLQ_TOK_MAX_PIECE) */

/* GGUF metadata value types. */
enum {
    GV_U8 = 0, GV_I8 = 1, GV_U16 = 2, GV_I16 = 3, GV_U32 = 4, GV_I32 = 5, GV_F32 = 6, GV_BOOL = 7, GV_STR = 8,
    GV_ARR = 9, GV_U64 = 10, GV_I64 = 11, GV_F64 = 12, GV_N = 13
};
/* Bytes of a fixed-size value type (0 for string/array/unknown). */
uint32_t gguf_value_size(uint32_t t);

/* ggml tensor type ids the writer names (values are ggml's, stored in files). Which ggml types llq holds, and their
 * block geometry, is format/layout.c's type table (llq_type_from_ggml / llq_type_to_ggml / llq_type_block). */
enum { GT_F32 = 0, GT_F16 = 1, GT_Q4_0 = 2, GT_Q4_1 = 3, GT_Q8_0 = 8, GT_BF16 = 30 };

/* ggml's name of a type id ("Q4_K", "IQ2_XXS", ...), for messages; "?" if unknown to this table. */
const char *gguf_type_name(uint32_t ggml);
/* 1 if ggml has (or had) a type with this id. */
int gguf_type_known(uint32_t ggml);

/* Canonical name (docs/FORMAT.md) of a llama.cpp tensor name; returns 1 and out, or 0. */
int gguf_name_to_llq(char *out, size_t cap, const char *gguf_name);
/* llama.cpp's name of a canonical tensor name; returns 1 and out, or 0. */
int gguf_name_from_llq(char *out, size_t cap, const char *llq_name);

/* llama.cpp's rope frequency divisors (llama architecture, Llama-3 rope scaling): f32 [head_dim / 2]. */
#define GGUF_ROPE_FREQS "rope_freqs.weight"

/* ---- byte-level BPE vocabularies ("gpt2"): GPT-2's bytes-to-unicode map ---- */
/* Bytes 0x21..0x7E, 0xA1..0xAC and 0xAE..0xFF stand for themselves; the 68 others become U+0100.. in byte order.
 * Token and merge strings of a "gpt2" GGUF are spelled so; llq holds the raw bytes. */
/* Spells n raw bytes into out (room for 2n bytes); returns the length written. */
size_t gguf_bytes_to_unicode(char *out, const uint8_t *in, size_t n);
/* Undoes it: out (room for n bytes) gets the raw bytes; returns the length, or -1 if s is not such a spelling. */
long gguf_unicode_to_bytes(uint8_t *out, const char *s, size_t n);

/* ---- tokenizer.ggml.pre: the byte-level BPE pre-tokenizers llama.cpp knows by name ---- */
/* One row per pre-tokenizer llq can name: llama.cpp's name, and the Hugging Face tokenizer.json parts that give the
 * same tokenization (as llq stores them: json-c's compact text, docs/FORMAT.md section 6.1, with the
 * tokenization-neutral "trim_offsets" fields removed). */
typedef struct gguf_pre {
    const char *name;          /* tokenizer.ggml.pre */
    const char *pre_tokenizer; /* the pre_tokenizer part, trim_offsets removed */
    const char *normalizer;    /* the normalizer part HF's files of that family have ("null": none) */
    const char *decoder;
    int ignore_merges;         /* llama.cpp's ignore_merges for that name */
} gguf_pre;
/* The row named name (len bytes), NULL if llq does not know it. */
const gguf_pre *gguf_pre_by_name(const char *name, size_t len);
/* The row whose pre_tokenizer is pre_json (trim_offsets ignored), NULL if none. */
const gguf_pre *gguf_pre_identify(const char *pre_json);
/* "llama-bpe, qwen2, smollm, gpt-2" into buf, for refusals. */
void gguf_pre_list(char *buf, size_t n);


#endif
