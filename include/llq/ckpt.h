/* ckpt.h — reading source checkpoints (PyTorch zip / legacy .pth/.bin, safetensors) without executing anything.
 *
 * llq_src_open detects the container from its bytes (ZIP "PK\3\4" = torch.save >= 1.6; the legacy torch
 * magic-number stream; safetensors = u64 header length + JSON) and lists its tensors. The file is mmapped;
 * tensor bytes are produced on demand by llq_src_data (in place when stored contiguous and uncompressed,
 * otherwise materialised into a buffer that llq_src_release frees), so memory stays near one tensor.
 * Errors name the file and the problem (llq_errmsg).
 *
 * Torch files: the pickle is run symbolically (ckpt/pickle.c); a GLOBAL off the allow-list (torch rebuild
 * functions, torch.*Storage, torch dtypes, collections.OrderedDict) fails with LLQ_EUNSAFE naming it, e.g.
 * "x.pth: archive/data.pkl: pickle GLOBAL 'posix system' is not allowed ...". The top-level object must be a
 * dict; nested dicts give dotted names ({"model": {"w": t}} -> "model.w"); non-tensor values are skipped.
 * Views (storage offset, shared storages) are honoured; non-contiguous tensors are gathered by llq_src_data.
 * Codes: LLQ_EIO (open/mmap), LLQ_EFORMAT (malformed/truncated), LLQ_ECRC (zip entry CRC, at llq_src_data),
 * LLQ_ELIMIT (a hard cap: zip bomb, pickle caps, safetensors header > 100 MB), LLQ_EUNSAFE, LLQ_EUNSUPPORTED.
 * One llq_src is not thread-safe (llq_src_data / llq_src_release update it); separate llq_src objects are.
 */
#ifndef LLQ_CKPT_H
#define LLQ_CKPT_H

#include "llq/llq.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLQ_SRC_MAX_DIMS 8

/* Element types a source tensor may have (values are internal, not stored in files). */
enum llq_src_dtype {
    LLQ_SRC_F32 = 0,
    LLQ_SRC_F16,
    LLQ_SRC_BF16,
    LLQ_SRC_F64,
    LLQ_SRC_I64,
    LLQ_SRC_I32,
    LLQ_SRC_I16,
    LLQ_SRC_I8,
    LLQ_SRC_U8,
    LLQ_SRC_BOOL
};

/* "f32", "f16", "bf16", "f64", "i64", ...; never NULL. */
const char *llq_src_dtype_name(uint32_t dtype);
/* Bytes per element (1..8). */
size_t llq_src_dtype_size(uint32_t dtype);

typedef struct llq_src_tensor {
    const char *name;                   /* owned by the llq_src */
    uint32_t dtype;                     /* enum llq_src_dtype */
    uint32_t n_dims;                    /* 0 (scalar) .. LLQ_SRC_MAX_DIMS */
    uint64_t dims[LLQ_SRC_MAX_DIMS];    /* outermost first */
    uint64_t n_elem;
    uint64_t nbytes;                    /* n_elem * dtype size: the size llq_src_data delivers (contiguous) */
} llq_src_tensor;

typedef struct llq_src llq_src;

/* Opens path (a single file). *out owned by the caller (llq_src_close). */
int llq_src_open(llq_src **out, const char *path);
void llq_src_close(llq_src *s);

/* "torch-zip", "torch-legacy" or "safetensors". */
const char *llq_src_format(const llq_src *s);
const char *llq_src_path(const llq_src *s);

size_t llq_src_count(const llq_src *s);
/* Order: the state dict's order (torch), data-offset order (safetensors). */
const llq_src_tensor *llq_src_at(const llq_src *s, size_t i);          /* NULL if out of range */
const llq_src_tensor *llq_src_find(const llq_src *s, const char *name); /* NULL if absent */

/* Contiguous, row-major, little-endian bytes of tensor i (t->nbytes long), aligned to the element size.
 * *out stays valid until llq_src_release(s, i) or llq_src_close; calling it again before release returns
 * the same pointer. Checks the zip entry CRC the first time a storage is read (whole). In place (pointer
 * into the mapping) unless the entry is deflated, the tensor non-contiguous or unaligned (legacy files):
 * then one buffer of t->nbytes (plus, for deflated entries, the inflated storage while it is read). */
int llq_src_data(llq_src *s, size_t i, const void **out);
/* Zip entry CRC verification in llq_src_data: on (1, the default) or off (0). The check reads each storage
 * once more (CRC-32 with PCLMUL, several GB/s): tools may offer turning it off for speed. */
void llq_src_set_verify(llq_src *s, int on);
/* As llq_src_data, except when tensor i is exactly one whole stored (uncompressed) zip entry whose CRC is still
 * to be checked: then the bytes come back unchecked, *crc is the entry's recorded CRC-32 and *pending = 1, and
 * the caller, which reads every byte once anyway (e.g. copying them unchanged to an output whose CRC it
 * computes), must pass that CRC to llq_src_check before trusting the bytes. Otherwise *pending = 0. */
int llq_src_data_pending(llq_src *s, size_t i, const void **out, int *pending, uint32_t *crc);
/* Completes a pending check of tensor i (see llq_src_data_pending): LLQ_ECRC, with llq_src_data's message, if
 * crc (the CRC-32 of all its bytes) differs from the recorded one; else marks the storage verified. */
int llq_src_check(llq_src *s, size_t i, uint32_t crc);
/* Frees the buffer of tensor i, or drops its mapped pages from the resident set (MADV_DONTNEED: they stay
 * in the page cache), so RSS stays near one tensor while a whole model streams through. */
void llq_src_release(llq_src *s, size_t i);

#ifdef __cplusplus
}
#endif

#endif
