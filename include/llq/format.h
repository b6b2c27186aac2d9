/* format.h — reading and writing .llq files (byte layout: docs/FORMAT.md).
 *
 * Reader: llq_open mmaps a file read-only (llq_open_flags can read it into memory instead) and validates
 * the header, metadata, tensor table and every offset/size against the file size (with overflow checks)
 * before returning. Tensor data is used in place (64-byte aligned). CRCs are checked only on request
 * (llq_verify_tensor).
 *
 * Writer: streams tensor data into a temp file beside the target ("<path>.tmp.XXXXXX");
 * llq_writer_commit appends metadata + tensor table, rewrites the header, fsyncs and renames.
 * llq_writer_free on an uncommitted writer removes the temp file: a failed run leaves nothing.
 */
#ifndef LLQ_FORMAT_H
#define LLQ_FORMAT_H

#include "llq/llq.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLQ_FORMAT_MAJOR 1
#define LLQ_FORMAT_MINOR 1
#define LLQ_HEADER_SIZE 128
#define LLQ_ALIGN 64
#define LLQ_MAX_DIMS 4
#define LLQ_MAX_NAME 1024

/* ---- metadata values ---- */
enum llq_meta_type {
    LLQ_META_U32 = 1,
    LLQ_META_I32 = 2,
    LLQ_META_U64 = 3,
    LLQ_META_I64 = 4,
    LLQ_META_F32 = 5,
    LLQ_META_F64 = 6,
    LLQ_META_BOOL = 7,
    LLQ_META_STR = 8,
    LLQ_META_ARR = 9
};

/* One metadata entry, pointing into the mapped file (strings are NOT NUL-terminated). */
typedef struct llq_meta {
    const char *key;        /* NUL-terminated copy owned by the llq_file */
    uint32_t type;          /* enum llq_meta_type; unknown types are kept with their raw bytes */
    const uint8_t *value;   /* raw little-endian value bytes in the mapping */
    uint64_t value_size;
    uint32_t elem_type;     /* arrays: element type (1..8) */
    uint64_t count;         /* arrays: element count; strings: byte length */
} llq_meta;

/* ---- tensors ---- */
typedef struct llq_tensor {
    const char *name;             /* NUL-terminated copy owned by the llq_file */
    uint32_t type;                /* enum llq_type */
    uint32_t n_dims;              /* 1..LLQ_MAX_DIMS */
    uint64_t dims[LLQ_MAX_DIMS];  /* outermost first; dims[n_dims-1] is contiguous (row length) */
    uint32_t group;               /* quantized: 32, 64, 128, or 0 = one group per row; others: 0 */
    uint32_t crc;                 /* CRC-32 of the data bytes */
    uint64_t offset;              /* absolute file offset, multiple of LLQ_ALIGN */
    uint64_t size;                /* bytes */
    uint64_t n_elem;              /* product of dims */
    uint64_t n_rows;              /* product of all dims but the last */
    uint64_t row_len;             /* dims[n_dims-1] */
    uint64_t row_bytes;           /* bytes per row (see llq_row_bytes) */
    const void *data;             /* in the mapping; valid until llq_close */
} llq_tensor;

/* ---- type layouts (docs/FORMAT.md section 5): the one place that knows how many bytes a row of each type takes.
 * Every type is a table row in format/layout.c (llq_type_info): a row of a tensor is stored as whole blocks of
 * block_weights weights, block_bytes bytes each.
 * - f32 / f16 / bf16: blocks of one value.
 * - Grouped layouts (scale_bytes != 0: q8, q4, q4a): the row is cut into groups (field `group`: 32, 64, 128, or 0 =
 *   one group of the row rounded up to LLQ_QBLOCK) and padded to whole groups; all the codes of the row come first
 *   (padded/LLQ_QBLOCK blocks of block_bytes), then one f16 scale per group, then (zero_bytes) one u8 zero point
 *   per group.
 * - Other quantized layouts (scale_bytes == 0, group 0): self-contained blocks (scales inside the block); a row
 *   must be a whole number of blocks. */
#define LLQ_QBLOCK 32          /* weights per code block of the grouped layouts; every group is whole blocks */
#define LLQ_QGROUP_MAX 128     /* largest group of the grouped layouts (groups: 32, 64, 128, or 0 = per row) */
#define LLQ_Q8_BLOCK_BYTES 32  /* q8: 32 int8 codes */
#define LLQ_Q4_BLOCK_BYTES 16  /* q4/q4a: 32 nibbles; byte i holds element i (low) and i + 16 (high) */
#define LLQ_SCALE_BYTES 2      /* grouped layouts: f16 scale per group */
#define LLQ_ZERO_BYTES 1       /* q4a: u8 zero point per group */

typedef struct llq_type_info {
    uint32_t type;          /* enum llq_type */
    const char *name;       /* "f32", "q4", ... (llq_type_name) */
    uint32_t block_weights; /* weights per block (1 for f32/f16/bf16) */
    uint32_t block_bytes;   /* bytes per block */
    uint32_t scale_bytes;   /* grouped layouts: bytes of the scale per group after the codes; 0: not grouped */
    uint32_t zero_bytes;    /* grouped layouts: bytes of the zero point per group after the scales; 0: none */
    int32_t ggml;           /* ggml's type id of the same layout (GGUF), -1 if ggml has none */
} llq_type_info;

/* The table row of a type; NULL for an unknown value. Points into static storage. */
const llq_type_info *llq_type_info_of(uint32_t type);
/* The table row at index i (0, 1, ... in table order); NULL past the end. For listing every type. */
const llq_type_info *llq_type_info_at(size_t i);

/* Where the parts of one row of a quantized type are (byte offsets within the row). */
typedef struct llq_qrow {
    uint64_t glen;      /* weights per group (grouped layouts) or per block */
    uint64_t n_groups;  /* groups (or blocks) per row */
    uint64_t padded;    /* glen·n_groups weights stored per row (the codes past row_len are padding) */
    uint64_t scales;    /* grouped: offset of f16 scales[n_groups] (= the bytes of the codes); otherwise 0 */
    uint64_t zeros;     /* grouped with zero points: offset of u8 zeros[n_groups]; otherwise 0 */
    uint64_t row_bytes; /* bytes of the row */
} llq_qrow;

/* Geometry of one row of row_len weights of type/group: 0 and *out, LLQ_EINVAL for a bad type/group or a row
 * that is not whole blocks, LLQ_EFORMAT on overflow. */
int llq_qrow_init(llq_qrow *out, uint32_t type, uint32_t group, uint64_t row_len);
/* Bytes of one row of row_len elements of type/group (llq_qrow_init's row_bytes). Same returns. */
int llq_row_bytes(uint64_t *out, uint32_t type, uint32_t group, uint64_t row_len);
/* Group length and count of a grouped layout: per-row (group 0) gives roundup(row_len, LLQ_QBLOCK). No checks
 * (saturates on absurd row_len; llq_row_bytes / llq_qrow_init check). */
void llq_group_geometry(uint32_t group, uint64_t row_len, uint64_t *glen, uint64_t *n_groups);
/* Whether a group size is allowed for a type (grouped layouts: 0, 32, 64, 128; every other type: 0 only). */
int llq_group_valid(uint32_t type, uint32_t group);
/* 1 for the grouped layouts (q8, q4, q4a), 0 otherwise. */
int llq_type_is_grouped(uint32_t type);

/* Block types (llq/blocks.h): 1 and the block's element count and byte size for a block type, else 0. */
int llq_type_block(uint32_t type, uint32_t *elems, uint32_t *bytes);
/* ggml's type id of an llq type (f32 0, f16 1, bf16 30, block types), or -1 if ggml has no such type. */
int llq_type_to_ggml(uint32_t type);
/* The llq type of ggml type id g: 0 and *out, or LLQ_EUNSUPPORTED. */
int llq_type_from_ggml(uint32_t *out, uint32_t g);
/* Dequantizes n_blocks blocks of block type `type` to f32 (out[n_blocks * elems]): ggml's values exactly. */
void llq_block_to_f32(float *out, const void *blocks, uint32_t type, uint64_t n_blocks);

/* Dequantizes / converts one row (any type) to f32: out[row_len]. */
void llq_row_to_f32(float *out, const void *row, uint32_t type, uint32_t group, uint64_t row_len);

/* ---- reader ---- */
typedef struct llq_file llq_file;

/* Opens and validates path: a .llq file, or a GGUF file (v2/v3, recognised by its magic; see llq_file_format).
 * *out owned by the caller (llq_close). Errors name the file.
 * llq_open maps the file (pages come from the page cache as they are touched). llq_open_flags with
 * LLQ_OPEN_READ reads the whole file into llq_bigmem memory instead (huge pages where the kernel gives them;
 * costs the file's size in anonymous memory; llq_drop_pages is then a no-op). A mapped file truncated by another
 * process while mapped raises SIGBUS on the next touch of a lost page (a library cannot catch it: the tools do,
 * and say "file changed while reading"); LLQ_OPEN_READ copies the file first and is immune. */
enum { LLQ_OPEN_READ = 1 };
int llq_open(llq_file **out, const char *path);
int llq_open_flags(llq_file **out, const char *path, unsigned flags);
void llq_close(llq_file *f);

const char *llq_file_path(const llq_file *f);
uint64_t llq_file_size(const llq_file *f);
uint32_t llq_file_version_minor(const llq_file *f); /* GGUF files: the GGUF version (2 or 3) */
/* "llq", or "gguf" for a GGUF file opened through llq_open (docs/FORMAT.md "GGUF"): its tensors and metadata are
 * then a translated view (canonical names and shapes, llq types, .llq metadata keys); tensors whose bytes had to
 * be re-laid out (Q8_0, Q4_0) live in memory owned by the llq_file, the others in the file's mapping. GGUF has
 * no checksums: llq_verify_tensor returns 0 for its tensors. */
const char *llq_file_format(const llq_file *f);

size_t llq_n_tensors(const llq_file *f);
const llq_tensor *llq_tensor_at(const llq_file *f, size_t i);   /* in table order; NULL if out of range */
const llq_tensor *llq_tensor_find(const llq_file *f, const char *name); /* NULL if absent */
/* Recomputes the CRC of t's data: 0, or LLQ_ECRC naming the tensor. Drops the pages it read (llq_drop_pages). */
int llq_verify_tensor(const llq_file *f, const llq_tensor *t);
/* Hint: the whole pages inside [p, p+n) of f's mapping are not needed any more (madvise MADV_DONTNEED;
 * they are re-read from the page cache on the next access; nothing for a file opened with LLQ_OPEN_READ). Lets a streaming pass over a multi-GB file keep
 * its resident set near one tensor. p must point into f's mapping. */
void llq_drop_pages(const llq_file *f, const void *p, uint64_t n);

size_t llq_n_meta(const llq_file *f);
const llq_meta *llq_meta_at(const llq_file *f, size_t i);
const llq_meta *llq_meta_find(const llq_file *f, const char *key); /* NULL if absent */

/* Typed getters: 0 on success; LLQ_ENOTFOUND if absent; LLQ_EFORMAT if the stored type does not fit.
 * Integer getters accept any integer type whose value fits; float getters accept f32/f64 and integers. */
int llq_meta_get_u32(const llq_file *f, const char *key, uint32_t *out);
int llq_meta_get_i32(const llq_file *f, const char *key, int32_t *out);
int llq_meta_get_u64(const llq_file *f, const char *key, uint64_t *out);
int llq_meta_get_f32(const llq_file *f, const char *key, float *out);
int llq_meta_get_f64(const llq_file *f, const char *key, double *out);
int llq_meta_get_bool(const llq_file *f, const char *key, int *out);
/* String: *out points into the mapping (not NUL-terminated), *len its length. */
int llq_meta_get_str(const llq_file *f, const char *key, const char **out, uint64_t *len);
/* Array element access (bounds-checked by the reader at open): */
int llq_meta_arr_str(const llq_meta *m, uint64_t i, const char **out, uint64_t *len);
double llq_meta_arr_num(const llq_meta *m, uint64_t i); /* numeric element as double (i < count) */

/* ---- writer ---- */
typedef struct llq_writer llq_writer;

enum { LLQ_W_FORCE = 1 }; /* allow replacing an existing output file */

/* Checks, before any work, that path can take a new output, creating nothing: not empty, not ending in '/', its
 * folder exists, and it is not a directory, FIFO, socket or block device; an existing regular file only with
 * LLQ_W_FORCE. A character device (e.g. /dev/null) is accepted: *is_device = 1 (may be NULL), and it is written
 * through, never replaced by a regular file. One-line errors naming path. */
int llq_output_check(const char *path, unsigned flags, int *is_device);

/* Checks path (llq_output_check), then creates the temp file beside it (a character device: opens it for writing;
 * it must be seekable, since the header is written last). *out owned by the caller (llq_writer_free). */
int llq_writer_open(llq_writer **out, const char *path, unsigned flags);

/* Metadata (buffered in memory, written at commit). Keys must be unique (LLQ_EINVAL otherwise). */
int llq_writer_meta_u32(llq_writer *w, const char *key, uint32_t v);
int llq_writer_meta_i32(llq_writer *w, const char *key, int32_t v);
int llq_writer_meta_u64(llq_writer *w, const char *key, uint64_t v);
int llq_writer_meta_f32(llq_writer *w, const char *key, float v);
int llq_writer_meta_f64(llq_writer *w, const char *key, double v);
int llq_writer_meta_bool(llq_writer *w, const char *key, int v);
int llq_writer_meta_str(llq_writer *w, const char *key, const char *s, size_t len);
/* Numeric array: elem_type one of U32..BOOL, data in host (little-endian) order, count elements. */
int llq_writer_meta_arr(llq_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t count);
/* String array: strs[i] of lens[i] bytes. */
int llq_writer_meta_arr_str(llq_writer *w, const char *key, const char *const *strs, const uint64_t *lens,
                            uint64_t count);

/* Copies entry m (of any llq_file, also a GGUF view) through the typed calls above. Returns 1 (nothing written)
 * for an unknown value type of a later minor version. */
int llq_writer_meta_copy(llq_writer *w, const llq_meta *m);

/* Streaming tensor: begin, write exactly its byte size in any number of chunks, end. */
int llq_writer_begin(llq_writer *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *dims,
                     uint32_t group);
int llq_writer_write(llq_writer *w, const void *data, size_t n);
int llq_writer_end(llq_writer *w);
/* CRC-32 of the data of the last tensor written (as stored in the table); 0 before the first. */
uint32_t llq_writer_last_crc(const llq_writer *w);
/* One-shot: begin + write(size) + end. */
int llq_writer_add(llq_writer *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *dims,
                   uint32_t group, const void *data, size_t size);

/* Writes metadata, table and header; fsyncs; renames onto path. After success, free does not remove. */
int llq_writer_commit(llq_writer *w);
/* Frees; if not committed, removes the temp file. NULL allowed. */
void llq_writer_free(llq_writer *w);
/* Temp path currently being written (for signal handlers that must unlink it); NULL after commit. */
const char *llq_writer_temp_path(const llq_writer *w);

#ifdef __cplusplus
}
#endif

#endif
