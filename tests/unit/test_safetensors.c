/* test_safetensors.c — safetensors files against the recorded values, and every validation rule. */
#include "ckpt_fixtures.h"

START_TEST(model_files)
{
    static const char *files[] = {"hf-st/model.safetensors", "hf-st-mha/model.safetensors",
                                  "hf-st-sharded/model-00001-of-00002.safetensors",
                                  "hf-st-sharded/model-00002-of-00002.safetensors", "misc/dtypes.safetensors",
                                  "misc/unaligned.safetensors" /* odd header length: copied to aligned buffers */};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        ck_assert_str_eq(check_refs(files[i], NULL), "safetensors");
}
END_TEST

/* Tensors are listed in data order; data is served in place. */
START_TEST(order_and_in_place)
{
    llq_src *s;
    ck_assert_int_eq(llq_src_open(&s, FIX "hf-st/model.safetensors"), 0);
    const void *prev = NULL;
    for (size_t i = 0; i < llq_src_count(s); i++) {
        const void *p;
        ck_assert_int_eq(llq_src_data(s, i, &p), 0);
        if (prev)
            ck_assert_ptr_eq(p, (const char *)prev + llq_src_at(s, i - 1)->nbytes);
        prev = p;
    }
    for (size_t i = 0; i < llq_src_count(s); i++)
        llq_src_release(s, i);
    llq_src_close(s);
}
END_TEST

START_TEST(malformed)
{
    expect_bad("bad/st_overlap.safetensors", LLQ_EFORMAT, "overlap");
    expect_bad("bad/st_gap.safetensors", LLQ_EFORMAT, "gap");
    expect_bad("bad/st_huge_header.safetensors", LLQ_ELIMIT, "header claims 107374182400 bytes");
    expect_bad("bad/st_header_past_eof.safetensors", LLQ_EFORMAT, "header claims 4000 bytes");
    expect_bad("bad/st_dup.safetensors", LLQ_EFORMAT, "key 'a' twice");
    expect_bad("bad/st_dup_inner.safetensors", LLQ_EFORMAT, "repeats a key");
    expect_bad("bad/st_bad_dtype.safetensors", LLQ_EUNSUPPORTED, "F8_E4M3");
    expect_bad("bad/st_size_mismatch.safetensors", LLQ_EFORMAT, "20 bytes but data_offsets span 16");
    expect_bad("bad/st_trailing.safetensors", LLQ_EFORMAT, "data section is 20 bytes");
    expect_bad("bad/st_not_object.safetensors", LLQ_EFORMAT, "not a JSON object");
    expect_bad("bad/st_bad_json.safetensors", LLQ_EFORMAT, "not valid JSON");
    expect_bad("bad/st_overflow.safetensors", LLQ_EFORMAT, "overflows");
}
END_TEST

/* Every single-byte corruption of a real header: refused or read consistently, never a crash. */
START_TEST(header_flips)
{
    size_t n;
    unsigned char *b = slurp(FIX "misc/dtypes.safetensors", &n);
    ck_assert_ptr_nonnull(b);
    size_t hl = 8 + b[0] + 256u * b[1];
    char tmp[] = "/tmp/llq_stflip_XXXXXX";
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    for (size_t k = 0; k < hl && k < n; k++) {
        unsigned char save = b[k];
        b[k] = (unsigned char)(k < 8 ? 0xff : (k & 1 ? '"' : '9'));
        ck_assert_int_eq(pwrite(fd, b, n, 0), (ssize_t)n);
        b[k] = save;
        llq_src *s;
        if (llq_src_open(&s, tmp) == 0) {
            for (size_t i = 0; i < llq_src_count(s); i++) {
                const void *p;
                ck_assert_int_eq(llq_src_data(s, i, &p), 0);
                ck_assert(llq_crc32(0, p, llq_src_at(s, i)->nbytes) || 1);
            }
            llq_src_close(s);
        }
    }
    close(fd);
    unlink(tmp);
    free(b);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, model_files);
    tcase_add_test(tc, order_and_in_place);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, header_flips);
    suite_add_tcase(s, tc);
    return s;
}
