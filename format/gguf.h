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

/* GGUF metadata value types. */
enum {
    GV_U8 = 0, GV_I8 = 1, GV_U16 = 2, GV_I16 = 3, GV_U32 = 4, GV_I32 = 5, GV_F32 = 6, GV_BOOL = 7, GV_STR = 8,
    GV_ARR = 9, GV_U64 = 10, GV_I64 = 11, GV_F64 = 12, GV_N = 13
};
/* Bytes of a fixed-size value type (0 for string/array/unknown). */
uint32_t gguf_value_size(uint32_t t);

/* ggml tensor types used below (values are ggml's, stored in files). */
enum {
    GT_F32 = 0, GT_F16 = 1, GT_Q4_0 = 2, GT_Q4_1 = 3, GT_Q5_0 = 6, GT_Q5_1 = 7, GT_Q8_0 = 8, GT_Q2_K = 10,
    GT_Q3_K = 11, GT_Q4_K = 12, GT_Q5_K = 13, GT_Q6_K = 14, GT_IQ4_NL = 20, GT_IQ4_XS = 23, GT_BF16 = 30
};

/* How a ggml type becomes an llq type. */
enum gguf_conv {
    GC_NONE = 0, /* not read by this llq (refused by name) */
    GC_SAME,     /* the llq type has ggml's bytes exactly (row = the row's blocks back to back) */
    GC_Q8_0,     /* llq q8, group 32: ggml's blocks (f16 d, i8 q[32]) split into the row's codes, then its scales */
    GC_Q4_0      /* llq q4, group 32: (f16 d, u8 nib[16]) likewise; the nibble order is the same */
};

typedef struct gguf_type {
    uint32_t ggml;     /* ggml_type value */
    const char *name;  /* "Q4_K" */
    uint32_t blk;      /* elements per block (0: size unknown here) */
    uint32_t bytes;    /* bytes per block */
    int conv;          /* enum gguf_conv */
    uint32_t llq;      /* llq type (GC_SAME / GC_Q8_0 / GC_Q4_0) */
    uint32_t group;    /* llq group of that type */
} gguf_type;

/* Entry for a ggml type value, NULL if unknown. */
const gguf_type *gguf_type_of(uint32_t ggml);
/* Entry whose conversion gives llq type `type`, group `group` exactly (GC_SAME / GC_Q8_0 / GC_Q4_0); NULL if none. */
const gguf_type *gguf_type_for_llq(uint32_t type, uint32_t group);
/* Row bytes of ne0 elements of a ggml type: 0 and *out, or -1 (ne0 not a multiple of the block, overflow). */
int gguf_row_bytes(uint64_t *out, const gguf_type *t, uint64_t ne0);

/* Canonical name (docs/FORMAT.md) of a llama.cpp tensor name; returns 1 and out, or 0. */
int gguf_name_to_llq(char *out, size_t cap, const char *gguf_name);
/* llama.cpp's name of a canonical tensor name; returns 1 and out, or 0. */
int gguf_name_from_llq(char *out, size_t cap, const char *llq_name);

/* llama.cpp's tokenizer.ggml.token_type values equal SentencePiece's piece types (1 normal .. 6 byte). */

#endif
