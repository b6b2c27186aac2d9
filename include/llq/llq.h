/* llq.h — common definitions: error codes, the last-error message, version, tensor types.
 *
 * Conventions for the whole library (every public header follows them):
 * - Functions that can fail return int: 0 (LLQ_OK) on success, a negative LLQ_E* code on failure.
 *   On failure a one-line message (no trailing newline) is kept per thread: llq_errmsg().
 * - The library never prints and never exits.
 * - Out-parameters come first and are named out; what is returned through **out belongs to the caller
 *   and is released with the matching _free / _close, which accept NULL.
 */
#ifndef LLQ_LLQ_H
#define LLQ_LLQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLQ_VERSION_MAJOR 0
#define LLQ_VERSION_MINOR 1
#define LLQ_VERSION_PATCH 0
#define LLQ_VERSION_STRING "0.1.0"

enum llq_error {
    LLQ_OK = 0,
    LLQ_EIO = -1,          /* open/read/write/mmap/rename failed (errno text in the message) */
    LLQ_ENOMEM = -2,       /* allocation failed */
    LLQ_EFORMAT = -3,      /* input bytes are malformed, truncated or inconsistent */
    LLQ_EVERSION = -4,     /* file written by a newer, incompatible version */
    LLQ_EUNSUPPORTED = -5, /* well-formed but not supported (unknown tensor type, dtype, architecture) */
    LLQ_EINVAL = -6,       /* bad argument from the caller */
    LLQ_ECRC = -7,         /* checksum mismatch */
    LLQ_EEXIST = -8,       /* output exists and overwriting was not asked for */
    LLQ_EUNSAFE = -9,      /* refused: input asks for something not allowed (e.g. a pickle GLOBAL off the allow-list) */
    LLQ_ELIMIT = -10,      /* input exceeds a hard safety limit (size, depth, count) */
    LLQ_ENOTFOUND = -11,   /* a named tensor / key / file is missing */
    LLQ_EINTR = -12        /* interrupted (signal) */
};

/* The version of the library linked in ("MAJOR.MINOR.PATCH", LLQ_VERSION_STRING when it was built; compare it
 * with the LLQ_VERSION_STRING a program was compiled with). Never NULL, static storage. */
const char *llq_version(void);

/* Sets the calling thread's last-error message (printf format) and returns code, so that
 * `return llq_err(LLQ_EFORMAT, "...")` / `err = llq_err(...); goto done;` read naturally. */
int llq_err(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes the current message with "prefix: " (e.g. the file name). Returns code. */
int llq_err_prefix(int code, const char *prefix);

/* The calling thread's last error message; never NULL (empty string if none). Valid until the next llq_err on this thread. */
const char *llq_errmsg(void);

/* Short name for an error code, e.g. "format error". Never NULL. */
const char *llq_strerror(int code);

/* ---- same file ----
 * llq_same_file: 1 if paths a and b both exist and are the same file (device and inode, through links), else 0;
 * NULL is no file. The "an output is never one of the inputs" test of every writer. */
int llq_same_file(const char *a, const char *b);

/* ---- shapes ----
 * llq_dims_str: "[d0, d1, ...]" (outermost first) into buf of n bytes, always NUL-terminated when n > 0 (cut short
 * if it does not fit). Returns buf. */
char *llq_dims_str(char *buf, size_t n, const uint64_t *dims, uint32_t n_dims);

/* ---- large buffers (weights) ----
 * llq_bigmem_alloc: n bytes of zeroed anonymous memory, 2 MiB aligned and advised for transparent huge pages
 * (fewer TLB misses when weights are streamed); NULL if n == 0 or the mapping fails. Owned by the caller,
 * released with llq_bigmem_free(p, n) (the same n; p may be NULL). */
void *llq_bigmem_alloc(size_t n);
void llq_bigmem_free(void *p, size_t n);

/* ---- inputs ----
 * llq_open_input: opens path for reading (O_CLOEXEC) without ever blocking on it: a directory is refused ("is a
 * directory, not a file"), so is anything but a regular file ("is not a regular file (a FIFO)") unless flags has
 * LLQ_INPUT_STREAM (then a FIFO, pipe, socket or character device is accepted, to be read once front to back).
 * *out_fd is owned by the caller (close); *size (may be NULL) is a regular file's size, 0 for a stream.
 * llq_read_input: the whole input (at most max bytes) into *out, NUL-terminated, *len bytes; *out owned by the
 * caller (free). A regular file that changes size while read is an error ("file changed while reading").
 * One-line errors naming path. */
enum { LLQ_INPUT_STREAM = 1 };
int llq_open_input(int *out_fd, uint64_t *size, const char *path, unsigned flags);
int llq_read_input(char **out, size_t *len, const char *path, size_t max, unsigned flags);
/* What a file that should be binary (a checkpoint, a tokenizer model) is instead, when its first bytes say so:
 * "a Git LFS pointer, not the file itself (fetch it: git lfs pull)", "an HTML page, not the file itself (a failed
 * download?)", an XML error page; NULL otherwise. A static string. */
const char *llq_sniff_text(const void *buf, size_t len);

/* ---- tensor types (values are stored in files: explicit, only appended) ---- */
enum llq_type {
    LLQ_F32 = 0,
    LLQ_F16 = 1,
    LLQ_BF16 = 2,
    LLQ_Q8 = 16,  /* int8 symmetric per group, f16 scale */
    LLQ_Q4 = 17,  /* int4 symmetric per group, f16 scale */
    LLQ_Q4A = 18, /* int4 asymmetric per group, f16 scale + u8 zero point */
    /* format 1.1: ggml's block types, byte for byte (llq/blocks.h); value = 32 + ggml's type id */
    LLQ_Q4_0 = 34,
    LLQ_Q4_1 = 35,
    LLQ_Q5_0 = 38,
    LLQ_Q5_1 = 39,
    LLQ_Q8_0 = 40,
    LLQ_Q2_K = 42,
    LLQ_Q3_K = 43,
    LLQ_Q4_K = 44,
    LLQ_Q5_K = 45,
    LLQ_Q6_K = 46,
    LLQ_IQ4_NL = 52,
    LLQ_IQ4_XS = 55
};

/* The type table (names, block layouts) is format/layout.c (llq_type_info in format.h). */
/* "f32", "f16", "bf16", "q8", "q4", "q4a", and the block types' lower-case ggml names ("q4_k", "iq4_xs", ...);
 * NULL for an unknown value. */
const char *llq_type_name(uint32_t type);
/* Parses a name above; returns 0 and sets *out, or LLQ_EINVAL. */
int llq_type_parse(uint32_t *out, const char *name);
/* 1 for llq's grouped types q8/q4/q4a, 0 otherwise (block types included: see llq_type_is_block). */
int llq_type_is_quant(uint32_t type);
/* 1 for a ggml block type (q4_0 .. iq4_xs), 0 otherwise. */
int llq_type_is_block(uint32_t type);

/* ---- scalar conversions (exact, round-to-nearest-even) ---- */
float llq_f16_to_f32(uint16_t h);
uint16_t llq_f32_to_f16(float f);
float llq_bf16_to_f32(uint16_t b);
uint16_t llq_f32_to_bf16(float f);

/* ---- checked arithmetic: return 0 on success, -1 on overflow ---- */
static inline int llq_mul_u64(uint64_t *out, uint64_t a, uint64_t b)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int llq_add_u64(uint64_t *out, uint64_t a, uint64_t b)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

/* ---- CPU features (common/cpu.c; checked once at run time, cached; 0 on other architectures) ---- */
/* 1 if the CPU has AVX2 + FMA + F16C (what every *_avx2 path needs). */
int llq_cpu_has_avx2(void);
/* 1 if the CPU and OS also have AVX-512F (what every *_avx512 path needs, on top of llq_cpu_has_avx2()). */
int llq_cpu_has_avx512(void);
/* 1 if the CPU and OS also have AVX-512BW and AVX-512 VNNI (the *_vnni paths, on top of llq_cpu_has_avx512()). */
int llq_cpu_has_avx512vnni(void);
/* 1 if the CPU has PCLMULQDQ + SSE4.1 (llq_crc32's folding). */
int llq_cpu_has_clmul(void);

/* zlib CRC-32 of n bytes, continuing from crc (start with 0). Handles n > 4 GiB. PCLMUL folding when the CPU
 * has it (run-time check, ~10x zlib), else zlib. common/crc32.c */
uint32_t llq_crc32(uint32_t crc, const void *data, uint64_t n);
/* The same with zlib alone: the reference llq_crc32 is tested against. */
uint32_t llq_crc32_ref(uint32_t crc, const void *data, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif
