/* srcint.h — internal: the llq_src object shared by the container readers (torch.c, safetensors.c) and the
 * dispatcher (src.c). A reader fills storages (byte ranges: a zip entry or a span of the mapping) and tensors
 * (a view into one storage: element offset + strides); src.c validates and serves the bytes. */
#ifndef LLQ_SRCINT_H
#define LLQ_SRCINT_H

#include "llq/ckpt.h"
#include "zip.h"

#define SRC_MAX_TENSORS 1000000u
#define SRC_MAX_NAME 1024u

typedef struct src_storage {
    char *key;                /* owned; the torch storage key ("" for safetensors) */
    int32_t dtype;            /* element type the storage was declared with, -1 until known */
    uint64_t nbytes;          /* size of the bytes available */
    const zip_entry *entry;   /* zip storages: the entry (nbytes = its size); else NULL */
    uint64_t off;             /* mapping storages: absolute offset of the bytes */
    int placed;               /* 1 once entry/off/nbytes are known */
    int crc_ok;               /* zip entry CRC already verified */
} src_storage;

typedef struct src_loc {
    size_t storage;           /* index into llq_src.st */
    uint64_t elem_off;        /* storage offset, in elements */
    uint64_t stride[LLQ_SRC_MAX_DIMS]; /* in elements */
    int contiguous;
    const void *ptr;          /* what llq_src_data handed out (NULL if not outstanding) */
    void *buf;                /* owned buffer behind ptr, if materialised */
} src_loc;

struct llq_src {
    char *path;
    const char *format;
    int fd;
    const uint8_t *map;
    uint64_t size;
    zip_archive zip;
    src_storage *st;
    size_t n_st, cap_st;
    llq_src_tensor *t;
    src_loc *loc;
    size_t n, cap;
    size_t *by_name;          /* tensor indices sorted by name (llq_src_find) */
    int no_verify;            /* llq_src_set_verify(s, 0) */
};

/* Appends a storage; *idx gets its index. key copied. */
int src_storage_add(llq_src *s, size_t *idx, const char *key, int32_t dtype);
/* Appends a tensor (name copied, n bytes, no NUL needed) viewing storage `storage` at element elem_off
 * with the given strides (NULL: contiguous row-major). Checks dims, n_elem/nbytes overflow, duplicate names
 * are checked later by src_finish. */
int src_tensor_add(llq_src *s, const char *name, size_t name_len, uint32_t dtype, uint32_t n_dims,
                   const uint64_t *dims, size_t storage, uint64_t elem_off, const uint64_t *stride);

/* Length of the legacy torch magic-number pickle at the start of b (PROTO n, optional FRAME, LONG1 of the
 * 10-byte magic, STOP), or 0 if b does not start with it. */
size_t torch_legacy_magic(const uint8_t *b, uint64_t size);

/* Container readers: fill s from s->map. Messages are not prefixed with the path (src.c does it). */
int torch_zip_load(llq_src *s);
int torch_legacy_load(llq_src *s);
int safetensors_load(llq_src *s);

#endif
