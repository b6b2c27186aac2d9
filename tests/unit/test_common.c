/* test_common.c — error messages, type names, f16/bf16 conversions, CRC. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "llq/llq.h"

START_TEST(err_message_and_code)
{
    int rc = llq_err(LLQ_EFORMAT, "bad %s at %d", "magic", 7);
    ck_assert_int_eq(rc, LLQ_EFORMAT);
    ck_assert_str_eq(llq_errmsg(), "bad magic at 7");
    llq_err_prefix(rc, "x.llq");
    ck_assert_str_eq(llq_errmsg(), "x.llq: bad magic at 7");
    ck_assert_str_eq(llq_strerror(LLQ_ECRC), "checksum mismatch");
}
END_TEST

START_TEST(type_names_roundtrip)
{
    uint32_t t;
    const char *names[] = {"f32", "f16", "bf16", "q8", "q4", "q4a"};
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(llq_type_parse(&t, names[i]), 0);
        ck_assert_str_eq(llq_type_name(t), names[i]);
    }
    ck_assert_int_eq(llq_type_parse(&t, "q3"), LLQ_EINVAL);
    ck_assert_ptr_null(llq_type_name(23));
    ck_assert_int_eq(llq_type_is_quant(LLQ_Q4A), 1);
    ck_assert_int_eq(llq_type_is_quant(LLQ_BF16), 0);
}
END_TEST

/* Every f16 bit pattern converts to f32 and back unchanged (NaN payloads stay NaN). */
START_TEST(f16_all_patterns_roundtrip)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = llq_f16_to_f32((uint16_t)h);
        uint16_t back = llq_f32_to_f16(f);
        if (isnan(f))
            ck_assert(((back >> 10) & 0x1f) == 0x1f && (back & 0x3ff) != 0);
        else
            ck_assert_uint_eq(back, h);
    }
}
END_TEST

START_TEST(f16_rounding)
{
    ck_assert_uint_eq(llq_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(llq_f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(llq_f32_to_f16(65520.0f), 0x7c00);         /* rounds to inf */
    ck_assert_uint_eq(llq_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie -> even */
    ck_assert_uint_eq(llq_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02); /* tie -> even (up) */
    ck_assert_uint_eq(llq_f32_to_f16(5.9604644775390625e-8f), 0x0001); /* smallest subnormal */
    ck_assert_uint_eq(llq_f32_to_f16(2.9802322387695312e-8f), 0x0000); /* half of it: tie -> 0 */
    ck_assert_uint_eq(llq_f32_to_f16(-2.0f), 0xc000);
}
END_TEST

START_TEST(bf16_rounding)
{
    ck_assert_uint_eq(llq_f32_to_bf16(1.0f), 0x3f80);
    ck_assert(llq_bf16_to_f32(0x3f80) == 1.0f);
    /* 1 + 2^-8 is a tie between 1 and 1 + 2^-7: rounds to even (1.0) */
    ck_assert_uint_eq(llq_f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);
    ck_assert_uint_eq(llq_f32_to_bf16(1.0f + 3.0f / 256), 0x3f82);
    ck_assert(isnan(llq_bf16_to_f32(llq_f32_to_bf16(NAN))));
}
END_TEST

START_TEST(crc32_known_value)
{
    ck_assert_uint_eq(llq_crc32(0, "123456789", 9), 0xcbf43926u);
    uint32_t c = llq_crc32(0, "12345", 5);
    ck_assert_uint_eq(llq_crc32(c, "6789", 4), 0xcbf43926u);
}
END_TEST

START_TEST(checked_arith)
{
    uint64_t r;
    ck_assert_int_eq(llq_mul_u64(&r, 1ull << 32, 1ull << 32), -1);
    ck_assert_int_eq(llq_mul_u64(&r, 1ull << 31, 1ull << 32), 0);
    ck_assert_int_eq(llq_add_u64(&r, UINT64_MAX, 1), -1);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, err_message_and_code);
    tcase_add_test(tc, type_names_roundtrip);
    tcase_add_test(tc, f16_all_patterns_roundtrip);
    tcase_add_test(tc, f16_rounding);
    tcase_add_test(tc, bf16_rounding);
    tcase_add_test(tc, crc32_known_value);
    tcase_add_test(tc, checked_arith);
    suite_add_tcase(s, tc);
    return s;
}
