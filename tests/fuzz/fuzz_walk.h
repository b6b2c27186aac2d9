/* fuzz_walk.h — what the .llq and GGUF targets do with a file that opened: every accessor a tool uses — metadata
 * (typed getters, arrays), every tensor (lookup, CRC, first rows to f32), the embedded tokenizer. */
#ifndef LLQ_FUZZ_WALK_H
#define LLQ_FUZZ_WALK_H

#include "fuzz_util.h"

#include "llq/format.h"
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

#endif
