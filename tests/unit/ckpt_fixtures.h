/* ckpt_fixtures.h — shared by the checkpoint reader tests: fixture paths, whole-file loading, and the check
 * of a file against tests/fixtures/ckpt/refs.json (dtype, shape, CRC-32 of the bytes torch.load gives). */
#ifndef CKPT_FIXTURES_H
#define CKPT_FIXTURES_H

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llq/ckpt.h"

#define FIX "tests/fixtures/ckpt/"

/* Whole file in a malloc'd buffer (NULL if unreadable). */
static inline unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = sz > 0 ? (size_t)sz : 0;
    return b;
}

static inline struct json_object *refs_load(void)
{
    struct json_object *r = json_object_from_file(FIX "refs.json");
    ck_assert_msg(r != NULL, "cannot read " FIX "refs.json");
    return r;
}

/* Opens FIX rel and checks every tensor against refs[ref_key] (ref_key NULL: rel). Returns the format name. */
static inline const char *check_refs(const char *rel, const char *ref_key)
{
    static char fmt[32];
    char path[512];
    snprintf(path, sizeof path, FIX "%s", rel);
    struct json_object *refs = refs_load(), *ent;
    ck_assert_msg(json_object_object_get_ex(refs, ref_key ? ref_key : rel, &ent), "no refs for %s", rel);
    llq_src *s;
    int err = llq_src_open(&s, path);
    ck_assert_msg(err == 0, "%s: %s", rel, llq_errmsg());
    ck_assert_str_eq(llq_src_path(s), path);
    ck_assert_uint_eq(llq_src_count(s), (size_t)json_object_object_length(ent));
    for (size_t i = 0; i < llq_src_count(s); i++) {
        const llq_src_tensor *t = llq_src_at(s, i);
        struct json_object *r, *x;
        ck_assert_msg(json_object_object_get_ex(ent, t->name, &r), "%s: unexpected tensor '%s'", rel, t->name);
        json_object_object_get_ex(r, "dtype", &x);
        ck_assert_str_eq(llq_src_dtype_name(t->dtype), json_object_get_string(x));
        json_object_object_get_ex(r, "shape", &x);
        ck_assert_uint_eq(t->n_dims, json_object_array_length(x));
        uint64_t ne = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            ck_assert_uint_eq(t->dims[d], (uint64_t)json_object_get_int64(json_object_array_get_idx(x, d)));
            ne *= t->dims[d];
        }
        ck_assert_uint_eq(t->n_elem, ne);
        ck_assert_uint_eq(t->nbytes, ne * llq_src_dtype_size(t->dtype));
        ck_assert_ptr_eq(llq_src_find(s, t->name), t);
        const void *p;
        err = llq_src_data(s, i, &p);
        ck_assert_msg(err == 0, "%s: %s: %s", rel, t->name, llq_errmsg());
        ck_assert_uint_eq((uintptr_t)p % llq_src_dtype_size(t->dtype), 0);
        json_object_object_get_ex(r, "crc32", &x);
        ck_assert_msg(llq_crc32(0, p, t->nbytes) == (uint32_t)json_object_get_int64(x), "%s: %s: data differs", rel,
                      t->name);
        const void *again;
        ck_assert_int_eq(llq_src_data(s, i, &again), 0);
        ck_assert_ptr_eq(again, p);
        llq_src_release(s, i);
    }
    ck_assert_ptr_null(llq_src_at(s, llq_src_count(s)));
    snprintf(fmt, sizeof fmt, "%s", llq_src_format(s));
    llq_src_close(s);
    json_object_put(refs);
    return fmt;
}

/* Opens FIX rel and expects failure with code (at open, or at the first llq_src_data that fails) and a
 * message containing what and the file name. */
static inline void expect_bad(const char *rel, int code, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", rel);
    llq_src *s = NULL;
    int err = llq_src_open(&s, path);
    for (size_t i = 0; !err && i < llq_src_count(s); i++) {
        const void *p;
        err = llq_src_data(s, i, &p);
    }
    llq_src_close(s);
    ck_assert_msg(err == code, "%s: got %d (%s), expected %d", rel, err, llq_errmsg(), code);
    ck_assert_msg(strstr(llq_errmsg(), what) != NULL, "%s: message '%s' lacks '%s'", rel, llq_errmsg(), what);
    ck_assert_msg(strstr(llq_errmsg(), rel) != NULL, "%s: message '%s' lacks the file name", rel, llq_errmsg());
}

#endif
