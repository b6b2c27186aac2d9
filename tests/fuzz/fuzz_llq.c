/* fuzz_llq.c — the .llq reader: llq_open on the bytes, then every accessor a tool uses: metadata
 * (typed getters, arrays), every tensor (lookup, CRC, first rows to f32), hparams, the embedded tokenizer.
 * So that mutations get past the checksums, an input whose reserved header byte 72 is 0 (every real file)
 * has its file_size, metadata/table CRCs and header CRC recomputed first; other inputs are opened as they are. */
#include "fuzz_util.h"

#include <string.h>

#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/tokenizer.h"

static void walk_meta(const llq_file *f)
{
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        FUZZ_ASSERT(m && llq_meta_find(f, m->key) != NULL);
        uint32_t u32; int32_t i32; uint64_t u64; float f32; double f64; int b; const char *s; uint64_t len;
        (void)llq_meta_get_u32(f, m->key, &u32);
        (void)llq_meta_get_i32(f, m->key, &i32);
        (void)llq_meta_get_u64(f, m->key, &u64);
        (void)llq_meta_get_f32(f, m->key, &f32);
        (void)llq_meta_get_f64(f, m->key, &f64);
        (void)llq_meta_get_bool(f, m->key, &b);
        if (llq_meta_get_str(f, m->key, &s, &len) == 0)
            fuzz_touch(s, len);
        if (m->type != LLQ_META_ARR)
            continue;
        for (uint64_t k = 0; k < m->count && k < 4096; k++) {
            if (m->elem_type == LLQ_META_STR) {
                if (llq_meta_arr_str(m, k, &s, &len) == 0)
                    fuzz_touch(s, len);
            } else {
                (void)llq_meta_arr_num(m, k);
            }
        }
    }
}

static void walk_tensors(const llq_file *f)
{
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        FUZZ_ASSERT(t && llq_tensor_find(f, t->name) != NULL);
        FUZZ_ASSERT(t->n_rows * t->row_bytes == t->size);
        (void)llq_verify_tensor(f, t);
        if (t->n_rows == 0 || t->row_len == 0)
            continue;
        float *row = malloc(t->row_len * sizeof *row);
        if (!row)
            continue;
        for (uint64_t r = 0; r < t->n_rows && r < 2; r++)
            llq_row_to_f32(row, (const uint8_t *)t->data + r * t->row_bytes, t->type, t->group, t->row_len);
        free(row);
    }
}

static void walk_tokenizer(const llq_file *f)
{
    llq_tokenizer *tok = NULL;
    if (llq_tokenizer_from_llq(&tok, f) != 0)
        return;
    static const char text[] = " Hello,  world!\n\tdef f(x): return x**2 \xe2\x96\x81 \xff\xc3";
    uint32_t *ids = NULL; size_t n = 0;
    if (llq_tokenize(tok, text, sizeof text - 1, 1, &ids, &n) == 0) {
        char *back = NULL; size_t blen = 0;
        if (llq_detokenize(tok, ids, n, &back, &blen) == 0)
            free(back);
    }
    free(ids);
    llq_tokenizer_free(tok);
}

static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Recomputes the fields a mutation breaks by accident (see the top comment). */
static void fix_header(uint8_t *b, uint64_t size)
{
    if (size < LLQ_HEADER_SIZE || b[72] != 0)
        return;
    memcpy(b + 16, &size, 8);
    for (int k = 0; k < 2; k++) {
        uint64_t off = get64(b + 24 + 16 * k), n = get64(b + 32 + 16 * k);
        if (off <= size && n <= size - off)
            put32(b + 60 + 4 * k, llq_crc32(0, b + off, n));
    }
    put32(b + 124, llq_crc32(0, b, 124));
}

static int fuzz_llq(const uint8_t *data, size_t size)
{
    char path[64];
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_header(copy, size);
    int fd = fuzz_memfile(copy, size, path);
    free(copy);
    if (fd < 0)
        return 0;
    llq_file *f = NULL;
    if (llq_open(&f, path) == 0) {
        walk_meta(f);
        walk_tensors(f);
        llq_hparams hp;
        if (llq_hparams_read(&hp, f) == 0)
            (void)llq_hparams_check_tensors(&hp, f);
        walk_tokenizer(f);
        llq_close(f);
    }
    close(fd);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_llq(data, size); }
#endif
