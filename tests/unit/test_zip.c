/* test_zip.c — the ZIP/ZIP64 reader: torch.save archives, deflate, ZIP64 records, and hostile archives. */
#include "ckpt_fixtures.h"

#include "../../ckpt/zip.h"

static zip_archive open_ok(const char *rel, unsigned char **buf)
{
    size_t n;
    char path[256];
    snprintf(path, sizeof path, FIX "%s", rel);
    *buf = slurp(path, &n);
    ck_assert_ptr_nonnull(*buf);
    zip_archive z;
    int err = zip_open(&z, *buf, n);
    ck_assert_msg(err == 0, "%s: %s", rel, llq_errmsg());
    return z;
}

/* The same torch archive written stored (torch), deflated and with ZIP64 records: same entries, same bytes. */
START_TEST(variants_same_contents)
{
    unsigned char *b0, *b1, *b2;
    zip_archive z0 = open_ok("misc/views.pth", &b0), z1 = open_ok("misc/views_deflate.pth", &b1),
                z2 = open_ok("misc/views_zip64.pth", &b2);
    ck_assert_uint_eq(z0.n, z1.n);
    ck_assert_uint_eq(z0.n, z2.n);
    ck_assert_ptr_nonnull(zip_find(&z0, "views/data.pkl"));
    ck_assert_ptr_null(zip_find(&z0, "archive/data.pkl"));
    int deflated = 0;
    for (size_t i = 0; i < z0.n; i++) {
        const zip_entry *e0 = &z0.e[i], *e1 = zip_find(&z1, e0->name), *e2 = zip_find(&z2, e0->name);
        ck_assert_ptr_nonnull(e1);
        ck_assert_ptr_nonnull(e2);
        ck_assert_uint_eq(e0->method, 0);
        ck_assert_uint_eq(e2->data_off % 64, 0); /* padded by an extra field in the local header only */
        deflated += e1->method == 8;
        const void *p0, *p1, *p2;
        void *o0, *o1, *o2;
        ck_assert_int_eq(zip_read(&z0, e0, 1, &p0, &o0), 0);
        ck_assert_int_eq(zip_read(&z1, e1, 1, &p1, &o1), 0);
        ck_assert_int_eq(zip_read(&z2, e2, 1, &p2, &o2), 0);
        ck_assert_ptr_null(o0); /* stored: in place */
        ck_assert(p0 == b0 + e0->data_off);
        ck_assert(e1->method == 0 || o1 != NULL);
        ck_assert_uint_eq(e0->usize, e1->usize);
        ck_assert_uint_eq(e0->usize, e2->usize);
        ck_assert_int_eq(memcmp(p0, p1, e0->usize), 0);
        ck_assert_int_eq(memcmp(p0, p2, e0->usize), 0);
        free(o1);
        free(o2);
    }
    ck_assert_int_gt(deflated, 0);
    zip_close(&z0);
    zip_close(&z1);
    zip_close(&z2);
    free(b0);
    free(b1);
    free(b2);
}
END_TEST

START_TEST(crc_mismatch)
{
    unsigned char *b;
    zip_archive z = open_ok("bad/zip_crc.pth", &b);
    const zip_entry *e = zip_find(&z, "views/data/0");
    ck_assert_ptr_nonnull(e);
    const void *p;
    void *o;
    ck_assert_int_eq(zip_read(&z, e, 1, &p, &o), LLQ_ECRC);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "views/data/0"));
    ck_assert_int_eq(zip_read(&z, e, 0, &p, &o), 0); /* unchecked read still works */
    zip_close(&z);
    free(b);
}
END_TEST

START_TEST(bombs_refused)
{
    unsigned char *b;
    zip_archive z = open_ok("bad/zip_bomb.pth", &b);
    const zip_entry *e = zip_find(&z, "views/data/0");
    const void *p;
    void *o;
    ck_assert_int_eq(zip_read(&z, e, 1, &p, &o), LLQ_ELIMIT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "zip bomb"));
    zip_close(&z);
    free(b);
    size_t n;
    b = slurp(FIX "bad/zip_bomb_ratio.pth", &n);
    ck_assert_int_eq(zip_open(&z, b, n), LLQ_ELIMIT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "zip bomb"));
    free(b);
}
END_TEST

START_TEST(malformed)
{
    size_t n;
    zip_archive z;
    unsigned char *b = slurp(FIX "bad/zip_cd_outside.pth", &n);
    ck_assert_int_eq(zip_open(&z, b, n), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "outside the file"));
    free(b);
    b = slurp(FIX "bad/zip_truncated.pth", &n);
    ck_assert_int_eq(zip_open(&z, b, n), LLQ_EFORMAT);
    free(b);
    /* no end record within the bounded search window */
    unsigned char *zeros = calloc(1, 200000);
    ck_assert_int_eq(zip_open(&z, zeros, 200000), LLQ_EFORMAT);
    ck_assert_int_eq(zip_open(&z, zeros, 10), LLQ_EFORMAT);
    /* an end record far before the end (comment would have to exceed 64 KiB) is not found */
    memcpy(zeros, "PK\5\6", 4);
    ck_assert_int_eq(zip_open(&z, zeros, 200000), LLQ_EFORMAT);
    free(zeros);
}
END_TEST

/* Every prefix and every single-byte corruption of a real archive: refused or parsed, never a crash (ASan). */
START_TEST(truncations_and_flips)
{
    size_t n;
    unsigned char *b = slurp(FIX "misc/views_zip64.pth", &n);
    zip_archive z;
    for (size_t k = 0; k < n; k++) {
        unsigned char *c = malloc(k ? k : 1);
        memcpy(c, b, k);
        if (zip_open(&z, c, k) == 0) {
            for (size_t i = 0; i < z.n; i++) {
                const void *p;
                void *o;
                if (zip_read(&z, &z.e[i], 1, &p, &o) == 0)
                    free(o);
            }
            zip_close(&z);
        }
        free(c);
    }
    unsigned char *c = malloc(n);
    for (size_t k = 0; k < n; k += 3) {
        memcpy(c, b, n);
        c[k] ^= 0xff;
        if (zip_open(&z, c, n) == 0) {
            for (size_t i = 0; i < z.n; i++) {
                const void *p;
                void *o;
                if (zip_read(&z, &z.e[i], 1, &p, &o) == 0)
                    free(o);
            }
            zip_close(&z);
        }
    }
    free(c);
    free(b);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("zip");
    TCase *tc = tcase_create("zip");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, variants_same_contents);
    tcase_add_test(tc, crc_mismatch);
    tcase_add_test(tc, bombs_refused);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, truncations_and_flips);
    suite_add_tcase(s, tc);
    return s;
}
