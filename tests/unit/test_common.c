/* test_common.c — error messages, type names, f16/bf16 conversions, CRC. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
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

/* llq_crc32 (PCLMUL when the CPU has it) against llq_crc32_ref (zlib): every length 0..600 at every alignment
 * 0..15 with varied start values, random lengths/offsets up to 1 MiB, and one buffer fed in random pieces. */
START_TEST(crc32_fast_matches_reference)
{
    size_t n = (1u << 20) + 200;
    unsigned char *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)(x >> 32);
    }
    for (size_t len = 0; len <= 600; len++)
        for (size_t off = 0; off < 16; off++) {
            uint32_t c0 = (uint32_t)(len * 2654435761u + off);
            ck_assert_uint_eq(llq_crc32(c0, b + off, len), llq_crc32_ref(c0, b + off, len));
        }
    for (int k = 0; k < 200; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t off = (size_t)(x % 64), len = (size_t)((x >> 8) % (k < 100 ? 4096 : (1u << 20)));
        ck_assert_uint_eq(llq_crc32((uint32_t)x, b + off, len), llq_crc32_ref((uint32_t)x, b + off, len));
    }
    uint32_t c = 0;
    for (size_t pos = 0; pos < n;) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = (size_t)(x % 100000);
        if (len > n - pos)
            len = n - pos;
        c = llq_crc32(c, b + pos, len);
        pos += len;
    }
    ck_assert_uint_eq(c, llq_crc32_ref(0, b, n));
    ck_assert_uint_eq(llq_crc32_ref(0, "123456789", 9), 0xcbf43926u);
    free(b);
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

START_TEST(dims_str_formats_and_truncates)
{
    const uint64_t dims[3] = {4096, 11008, 7};
    char buf[64], small[8];
    ck_assert_str_eq(llq_dims_str(buf, sizeof buf, dims, 2), "[4096, 11008]");
    ck_assert_str_eq(llq_dims_str(buf, sizeof buf, dims, 3), "[4096, 11008, 7]");
    ck_assert_str_eq(llq_dims_str(buf, sizeof buf, dims, 0), "[]");
    /* cut short, still terminated inside the buffer */
    memset(small, 'x', sizeof small);
    ck_assert_str_eq(llq_dims_str(small, sizeof small, dims, 2), "[4096, ");
    ck_assert_ptr_eq(llq_dims_str(small, 0, dims, 2), small);
}
END_TEST

START_TEST(bigmem_aligned_zeroed_writable)
{
    ck_assert_ptr_null(llq_bigmem_alloc(0));
    ck_assert_ptr_null(llq_bigmem_alloc(SIZE_MAX - 100)); /* the size with its slack overflows */
    size_t sizes[] = {1, 4096, (2u << 20) - 1, 2u << 20, (5u << 20) + 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = llq_bigmem_alloc(n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % (2u << 20), 0);
        for (size_t k = 0; k < n; k += 997)
            ck_assert_uint_eq(p[k], 0);
        ck_assert_uint_eq(p[n - 1], 0);
        memset(p, 0xa5, n);
        ck_assert_uint_eq(p[n - 1], 0xa5);
        llq_bigmem_free(p, n);
    }
    llq_bigmem_free(NULL, 10);
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
    tcase_add_test(tc, crc32_fast_matches_reference);
    tcase_add_test(tc, checked_arith);
    tcase_add_test(tc, bigmem_aligned_zeroed_writable);
    tcase_add_test(tc, dims_str_formats_and_truncates);
    suite_add_tcase(s, tc);
    return s;
}
