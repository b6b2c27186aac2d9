/* test_calib.c — calibration text checks and sample windows. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "llq/calib.h"

START_TEST(windows_deterministic_and_disjoint)
{
    uint64_t a[20], b[20], c[20];
    ck_assert_int_eq(llq_calib_windows(a, 20, 10000, 256, 42), 0);
    ck_assert_int_eq(llq_calib_windows(b, 20, 10000, 256, 42), 0);
    ck_assert_int_eq(llq_calib_windows(c, 20, 10000, 256, 43), 0);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_uint_le(a[i] + 256, 10000);
        ck_assert_uint_eq(a[i] % 256, 0);
        for (int j = 0; j < i; j++)
            ck_assert(a[i] != a[j]); /* aligned and distinct: disjoint */
    }
}
END_TEST

START_TEST(windows_more_than_fit_overlap)
{
    uint64_t s[50];
    ck_assert_int_eq(llq_calib_windows(s, 50, 1000, 256, 1), 0);
    for (int i = 0; i < 50; i++)
        ck_assert_uint_le(s[i] + 256, 1000);
    ck_assert_int_eq(llq_calib_windows(s, 1, 256, 256, 1), 0);
    ck_assert_uint_eq(s[0], 0);
}
END_TEST

START_TEST(windows_text_too_short)
{
    uint64_t s[4];
    ck_assert_int_eq(llq_calib_windows(s, 4, 255, 256, 1), LLQ_EINVAL);
    ck_assert_str_eq(llq_errmsg(), "calibration text has 255 tokens, fewer than one window of 256");
    ck_assert_ptr_null(strchr(llq_errmsg(), '\n'));
}
END_TEST

START_TEST(utf8_check)
{
    const char *good[] = {"", "plain ascii\n", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\xef\xbb\xbf" "BOM"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_int_eq(llq_calib_check_utf8(good[i], strlen(good[i])), 0);
    struct { const char *s; size_t n; } bad[] = {
        {"ab\xff", 3},          /* invalid byte */
        {"\xc3", 1},            /* truncated */
        {"\xc0\xaf", 2},        /* overlong */
        {"\xe0\x80\xaf", 3},    /* overlong 3-byte */
        {"\xed\xa0\x80", 3},    /* surrogate */
        {"\xf4\x90\x80\x80", 4},/* > U+10FFFF */
        {"a\0b", 3},            /* NUL */
        {"\xe2\x28\xa1", 3},    /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(llq_calib_check_utf8(bad[i].s, bad[i].n), LLQ_EFORMAT);
        ck_assert_ptr_nonnull(strstr(llq_errmsg(), "not UTF-8 text"));
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("calib");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, windows_deterministic_and_disjoint);
    tcase_add_test(tc, windows_more_than_fit_overlap);
    tcase_add_test(tc, windows_text_too_short);
    tcase_add_test(tc, utf8_check);
    suite_add_tcase(s, tc);
    return s;
}
