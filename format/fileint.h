/* fileint.h — internal to format/: the llq_file object, shared by the .llq reader (read.c) and the GGUF reader
 * (gguf_read.c), which fills the same object so that every tool opens a .gguf file as it opens a .llq file. */
#ifndef LLQ_FILEINT_H
#define LLQ_FILEINT_H

#include "llq/format.h"

#include <string.h>

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* ---- bounded cursor over a region of the mapping ---- */
typedef struct cur {
    const uint8_t *p, *end;
} cur;

static inline int take(cur *c, uint64_t n, const uint8_t **out)
{
    if ((uint64_t)(c->end - c->p) < n)
        return -1;
    *out = c->p;
    c->p += n;
    return 0;
}

static inline int take32(cur *c, uint32_t *v)
{
    const uint8_t *b;
    if (take(c, 4, &b))
        return -1;
    *v = rd32(b);
    return 0;
}

static inline int take64(cur *c, uint64_t *v)
{
    const uint8_t *b;
    if (take(c, 8, &b))
        return -1;
    *v = rd64(b);
    return 0;
}


/* A metadata entry plus the offsets of the strings of a string array (for O(1) llq_meta_arr_str). */
typedef struct meta_rec {
    llq_meta m;
    const uint8_t **strs; /* string arrays: pointer to each element's u32 length; else NULL */
} meta_rec;

struct llq_file {
    char *path;
    const uint8_t *map;
    uint64_t size;
    uint32_t minor;
    llq_tensor *tensors;
    size_t n_tensors;
    struct name_idx *tensor_by_name; /* sorted by name */
    meta_rec *meta;
    size_t n_meta;
    struct name_idx *meta_by_key;    /* sorted by key */
    long page;
    int in_memory;     /* map is llq_bigmem memory holding a copy of the file (LLQ_OPEN_READ) */
    int gguf;          /* the file is GGUF: tensors and metadata are a translated view (gguf_read.c) */
    uint8_t *meta_buf; /* owned: GGUF metadata translated to .llq metadata entries (what meta[] points into) */
    uint8_t *owned;    /* owned: GGUF tensors the view holds in another row order (qwen2's q/k: HF's -> Meta's) */
};

/* Parses a .llq metadata section (u32 count + entries, docs/FORMAT.md section 3) at base[size] into f->meta;
 * base must stay valid as long as f. */
int fmt_parse_meta(llq_file *f, const uint8_t *base, uint64_t size);
/* Sorts tensor names and metadata keys for the finds; refuses duplicates. */
int fmt_build_indices(llq_file *f);
/* Fills f (map and size set) from a GGUF file. Messages are not prefixed with the path. gguf_read.c */
int fmt_gguf_load(llq_file *f);

/* ---- an in-memory metadata encoder: the writer's llq_writer_meta_* calls without a file (write.c) ---- */
/* A writer that only collects metadata (no file; tensors and commit refused). *out owned by the caller
 * (llq_writer_free). name is used in messages. */
int fmt_meta_writer_new(llq_writer **out, const char *name);
/* The metadata section encoded so far (u32 count + entries) in a new malloc'd buffer (*out, *size). */
int fmt_meta_writer_take(llq_writer *w, uint8_t **out, uint64_t *size);

/* ---- growable byte buffers (the writer's metadata and table; the GGUF writer's header) ---- */
typedef struct fmt_bytes {
    uint8_t *p;
    size_t len, cap;
} fmt_bytes;
/* Appends n bytes; LLQ_ENOMEM on failure (b unchanged). */
int fmt_put(fmt_bytes *b, const void *data, size_t n);

/* ---- raw output: the writer's temp file, cleanup and atomic rename for a file of another format ---- */
/* Opens a writer whose file gets exactly the bytes given to fmt_writer_raw (no .llq header, no tensors);
 * llq_writer_commit fsyncs and renames as for .llq files; llq_writer_free removes an uncommitted temp file. */
int fmt_writer_open_raw(llq_writer **out, const char *path, unsigned flags);
int fmt_writer_raw(llq_writer *w, const void *data, size_t n);
/* Bytes given so far. */
uint64_t fmt_writer_pos(const llq_writer *w);

#endif
