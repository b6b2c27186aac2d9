/* test_rtn_pick.c — RTN's choice among candidate grids (quantize/rtn_kern.h): the pairwise comparison twins
 * rtn_beats_ref / rtn_beats_avx2 give the same bits, and rtn_pick on those bits keeps the same candidate as the
 * plain sequential scan written here from its definition (the loop RTN used before), on random sums with ties,
 * repeated candidates and empty (b = 0) ones. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../quantize/rtn_kern.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* The scan: i takes over when b_i > 0 and (nothing kept yet, or a_i²·b_w > a_w²·b_i). -1 if none. */
static int scan(const float *a, const float *b, int nc)
{
    float ba = 0.0f, bb = 0.0f;
    int best = -1;
    for (int i = 0; i < nc; i++) {
        if (b[i] > 0.0f && (bb == 0.0f || a[i] * a[i] * bb > ba * ba * b[i])) {
            ba = a[i];
            bb = b[i];
            best = i;
        }
    }
    return best;
}

/* Random sums like rtn_search's: b integer-valued (sums of squared codes) or weighted, a of either sign, with
 * copies of earlier candidates, near-ties and zeros mixed in. */
static void make_sums(float *a, float *b, int nc, int trial)
{
    for (int i = 0; i < nc; i++) {
        int kind = (int)(u32() % 8);
        if (i > 0 && kind == 0) { /* the same grid twice */
            int j = (int)(u32() % (uint32_t)i);
            a[i] = a[j], b[i] = b[j];
        } else if (kind == 1) {
            a[i] = 0.0f, b[i] = 0.0f;
        } else if (i > 0 && kind == 2) { /* proportional: equal a²/b up to rounding */
            int j = (int)(u32() % (uint32_t)i);
            float f = (float)(1 + u32() % 3);
            a[i] = a[j] * f, b[i] = b[j] * f * f;
        } else {
            b[i] = trial % 2 ? (float)(1 + u32() % 2000) : (float)(u32() % 1000000) / 1000.0f;
            a[i] = ((float)(u32() % 2000001) - 1000000.0f) / 1000.0f * (float)(1 + u32() % 4);
        }
    }
}

START_TEST(pick_matches_sequential_scan)
{
    int have_avx2 = __builtin_cpu_supports("avx2");
    for (int trial = 0; trial < 20000; trial++) {
        int nc = 1 + trial % RTN_MAX_CAND;
        float a[RTN_MAX_CAND + 8], b[RTN_MAX_CAND + 8];
        uint32_t m1[RTN_MAX_CAND], m2[RTN_MAX_CAND];
        make_sums(a, b, nc, trial);
        uint32_t v1 = rtn_beats_ref(m1, a, b, nc);
        int want = scan(a, b, nc), got = rtn_pick(m1, v1);
        ck_assert_msg(got == want, "trial %d (nc %d): rtn_pick kept %d, the scan %d", trial, nc, got, want);
        if (have_avx2) {
            memset(a + nc, 0xff, sizeof(float) * (size_t)(RTN_MAX_CAND + 8 - nc)); /* NaN beyond nc: ignored */
            memset(b + nc, 0xff, sizeof(float) * (size_t)(RTN_MAX_CAND + 8 - nc));
            uint32_t v2 = rtn_beats_avx2(m2, a, b, nc);
            ck_assert_uint_eq(v1, v2);
            ck_assert_int_eq(memcmp(m1, m2, sizeof(uint32_t) * (size_t)nc), 0);
        }
    }
}
END_TEST

START_TEST(pick_none_valid)
{
    float a[RTN_MAX_CAND + 8] = {1, 2, 3}, b[RTN_MAX_CAND + 8] = {0, 0, 0};
    uint32_t m[RTN_MAX_CAND];
    ck_assert_int_eq(rtn_pick(m, rtn_beats_ref(m, a, b, 3)), -1);
    b[2] = 1;
    ck_assert_int_eq(rtn_pick(m, rtn_beats_ref(m, a, b, 3)), 2);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("rtn_pick");
    TCase *tc = tcase_create("pick");
    tcase_add_test(tc, pick_matches_sequential_scan);
    tcase_add_test(tc, pick_none_valid);
    suite_add_tcase(s, tc);
    return s;
}
