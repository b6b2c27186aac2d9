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


#endif
