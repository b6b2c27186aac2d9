/* test_convert_fixtures.c — llq_convert on every checkpoint fixture of tests/make_fixtures.py (Meta 1/2 shards,
 * legacy torch, HF .bin single/sharded, safetensors single/sharded; f32/f16/bf16; GQA and MHA): converted to f32,
 * each gives exactly the canonical tensors the fixture script recorded (refs.json "canonical/<model>": CRC-32 of
 * the f32 bytes and shape), so all layouts of one model agree; by default each keeps its source precision. */
#include "llq/convert.h"
#include "llq/format.h"

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX "tests/fixtures/ckpt"

static const struct {
    const char *dir, *model, *dtype; /* dtype of the matrices as stored */
} cases[] = {
    {"meta-1", "gqa", "bf16"},  {"meta-2", "gqa", "bf16"},        {"meta-legacy", "gqa", "f32"},
    {"meta-mha", "mha", "f16"}, {"hf-bin", "gqa", "f32"},         {"hf-bin-sharded", "gqa", "f16"},
    {"hf-st", "gqa", "bf16"},   {"hf-st-sharded", "gqa", "f32"}, {"hf-st-mha", "mha", "f16"},
};

static char out[64];

static void setup(void)
{
    snprintf(out, sizeof out, "/tmp/llq-test-fixtures-%d.llq", (int)getpid());
}

static void teardown(void)
{
    unlink(out);
}

static json_object *refs(void)
{
    json_object *r = json_object_from_file(FIX "/refs.json");
    ck_assert_msg(r != NULL, "%s/refs.json unreadable", FIX);
    return r;
}

static void convert(const char *dir, uint32_t dtype, llq_convert_report *rep)
{
    char src[256];
    llq_convert_opts o = {0};
    snprintf(src, sizeof src, "%s/%s", FIX, dir);
    o.src = src;
    o.out = out;
    o.dtype = dtype;
    o.flags = LLQ_CONVERT_FORCE;
    ck_assert_msg(llq_convert(&o, rep) == 0, "%s: %s", src, llq_errmsg());
}

START_TEST(canonical_f32)
{
    json_object *r = refs(), *canon;
    char key[64];
    llq_convert_report rep;
    snprintf(key, sizeof key, "canonical/%s", cases[_i].model);
    ck_assert(json_object_object_get_ex(r, key, &canon));
    convert(cases[_i].dir, LLQ_F32, &rep);
    ck_assert_str_eq(rep.src_dtype, cases[_i].dtype);
    ck_assert_int_eq(rep.tokenizer, 1);
    llq_file *f = NULL;
    ck_assert_msg(llq_open(&f, out) == 0, "%s", llq_errmsg());
    ck_assert_uint_eq(llq_n_tensors(f), (size_t)json_object_object_length(canon));
    struct json_object_iterator it = json_object_iter_begin(canon), end = json_object_iter_end(canon);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        json_object *v = json_object_iter_peek_value(&it), *crc, *shape;
        const llq_tensor *t = llq_tensor_find(f, name);
        ck_assert_msg(t != NULL, "%s: no %s", cases[_i].dir, name);
        ck_assert_uint_eq(t->type, LLQ_F32);
        ck_assert(json_object_object_get_ex(v, "crc32", &crc) && json_object_object_get_ex(v, "shape", &shape));
        ck_assert_uint_eq(t->n_dims, json_object_array_length(shape));
        for (uint32_t d = 0; d < t->n_dims; d++)
            ck_assert_uint_eq(t->dims[d], (uint64_t)json_object_get_int64(json_object_array_get_idx(shape, d)));
        ck_assert_msg(llq_crc32(0, t->data, t->size) == (uint32_t)json_object_get_int64(crc),
                      "%s: %s differs from the canonical tensor", cases[_i].dir, name);
    }
    ck_assert_int_eq(llq_meta_find(f, "tokenizer.pieces") != NULL, 1);
    llq_close(f);
    json_object_put(r);
}
END_TEST

START_TEST(keep_precision)
{
    llq_convert_report rep;
    convert(cases[_i].dir, LLQ_CONVERT_KEEP, &rep);
    ck_assert_str_eq(rep.out_dtype, cases[_i].dtype);
    llq_file *f = NULL;
    ck_assert_msg(llq_open(&f, out) == 0, "%s", llq_errmsg());
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        ck_assert_str_eq(llq_type_name(t->type), t->n_dims == 1 ? "f32" : cases[_i].dtype);
        ck_assert_int_eq(llq_verify_tensor(f, t), 0);
    }
    llq_close(f);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("convert_fixtures");
    TCase *tc = tcase_create("fixtures");
    int n = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, canonical_f32, 0, n);
    tcase_add_loop_test(tc, keep_precision, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
