/* test_kquant.c — ggml block types (format 1.1): geometry, names, and dequantization of blocks cut from
 * llama.cpp's own files of pydoc-7m against llama.cpp's values (kquant_refs.h, tests/make_kquant_refs.py). */
#include <check.h>
#include <string.h>

#include "kquant_refs.h"
#include "llq/blocks.h"
#include "llq/format.h"

START_TEST(blocks_dequantize_like_llama_cpp)
{
    for (size_t c = 0; c < sizeof kq_cases / sizeof kq_cases[0]; c++) {
        uint32_t t, elems, bytes;
        ck_assert_int_eq(llq_type_parse(&t, kq_cases[c].type), 0);
        ck_assert(llq_type_block(t, &elems, &bytes));
        uint64_t n = (uint64_t)kq_cases[c].n_blocks * elems, rb;
        ck_assert_int_eq(llq_row_bytes(&rb, t, 0, n), 0);
        ck_assert_uint_eq(rb, (uint64_t)kq_cases[c].n_blocks * bytes);
        float out[4 * LLQ_QK_K];
        ck_assert_uint_le(n, 4 * LLQ_QK_K);
        llq_row_to_f32(out, kq_cases[c].raw, t, 0, n);
        for (uint64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &out[i], 4);
            if (u != kq_cases[c].val[i])
                ck_abort_msg("%s case %zu element %llu: %08x, llama.cpp %08x", kq_cases[c].type, c,
                             (unsigned long long)i, u, kq_cases[c].val[i]);
        }
    }
}
END_TEST

START_TEST(block_geometry_and_names)
{
    static const struct { const char *name; uint32_t type, elems, bytes; int ggml; } tab[] = {
        {"q4_0", LLQ_Q4_0, 32, 18, 2},     {"q4_1", LLQ_Q4_1, 32, 20, 3},    {"q5_0", LLQ_Q5_0, 32, 22, 6},
        {"q5_1", LLQ_Q5_1, 32, 24, 7},     {"q8_0", LLQ_Q8_0, 32, 34, 8},    {"q2_k", LLQ_Q2_K, 256, 84, 10},
        {"q3_k", LLQ_Q3_K, 256, 110, 11},  {"q4_k", LLQ_Q4_K, 256, 144, 12}, {"q5_k", LLQ_Q5_K, 256, 176, 13},
        {"q6_k", LLQ_Q6_K, 256, 210, 14},  {"iq4_nl", LLQ_IQ4_NL, 32, 18, 20}, {"iq4_xs", LLQ_IQ4_XS, 256, 136, 23},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        uint32_t t, e, b;
        ck_assert_int_eq(llq_type_parse(&t, tab[i].name), 0);
        ck_assert_uint_eq(t, tab[i].type);
        ck_assert_str_eq(llq_type_name(t), tab[i].name);
        ck_assert(llq_type_is_block(t) && !llq_type_is_quant(t));
        ck_assert(llq_type_block(t, &e, &b));
        ck_assert_uint_eq(e, tab[i].elems);
        ck_assert_uint_eq(b, tab[i].bytes);
        ck_assert_int_eq(llq_type_to_ggml(t), tab[i].ggml);
        uint32_t back;
        ck_assert_int_eq(llq_type_from_ggml(&back, (uint32_t)tab[i].ggml), 0);
        ck_assert_uint_eq(back, t);
        uint64_t rb;
        ck_assert_int_eq(llq_row_bytes(&rb, t, 0, 3 * e), 0);
        ck_assert_uint_eq(rb, 3ull * b);
        ck_assert_int_eq(llq_row_bytes(&rb, t, 0, 3 * e + 16), LLQ_EINVAL); /* not whole blocks */
        ck_assert_int_eq(llq_row_bytes(&rb, t, 32, 3 * e), LLQ_EINVAL);     /* block types take group 0 */
        ck_assert(!llq_group_valid(t, 128) && llq_group_valid(t, 0));
    }
    ck_assert_int_eq(llq_type_parse(&(uint32_t){0}, "Q4_K"), 0);
    ck_assert(!llq_type_is_block(LLQ_Q4) && !llq_type_is_block(LLQ_F32));
    ck_assert_int_eq(llq_type_to_ggml(LLQ_Q4), -1);
    uint32_t t;
    ck_assert_int_eq(llq_type_from_ggml(&t, 15), LLQ_EUNSUPPORTED); /* q8_K: not a storage type */
    ck_assert_int_eq(llq_type_from_ggml(&t, 30), 0);
    ck_assert_uint_eq(t, LLQ_BF16);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("kquant");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, blocks_dequantize_like_llama_cpp);
    tcase_add_test(tc, block_geometry_and_names);
    suite_add_tcase(s, tc);
    return s;
}
