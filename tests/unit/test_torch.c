/* test_torch.c — torch.save checkpoints (zip and legacy) read through llq_src against torch.load's values. */
#include "ckpt_fixtures.h"

START_TEST(model_checkpoints)
{
    static const char *files[] = {
        "meta-1/consolidated.00.pth", "meta-2/consolidated.00.pth", "meta-2/consolidated.01.pth",
        "meta-mha/consolidated.00.pth", "hf-bin/pytorch_model.bin", "hf-bin-sharded/pytorch_model-00001-of-00002.bin",
        "hf-bin-sharded/pytorch_model-00002-of-00002.bin",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        ck_assert_str_eq(check_refs(files[i], NULL), "torch-zip");
    ck_assert_str_eq(check_refs("meta-legacy/consolidated.00.pth", NULL), "torch-legacy");
}
END_TEST

/* Views sharing one storage (offsets), transposes and sub-blocks (materialised), every dtype, 0-d and empty. */
START_TEST(views_and_dtypes)
{
    ck_assert_str_eq(check_refs("misc/views.pth", NULL), "torch-zip");
    ck_assert_str_eq(check_refs("misc/views_proto4.pth", NULL), "torch-zip");
    ck_assert_str_eq(check_refs("misc/views_deflate.pth", NULL), "torch-zip");
    ck_assert_str_eq(check_refs("misc/views_zip64.pth", NULL), "torch-zip");
    ck_assert_str_eq(check_refs("misc/views_legacy.pth", NULL), "torch-legacy");
    ck_assert_str_eq(check_refs("misc/views_legacy_proto4.pth", NULL), "torch-legacy"); /* FRAME before the magic */
    llq_src *s;
    ck_assert_int_eq(llq_src_open(&s, FIX "misc/views.pth"), 0);
    const llq_src_tensor *t = llq_src_find(s, "scalar");
    ck_assert_uint_eq(t->n_dims, 0);
    ck_assert_uint_eq(t->n_elem, 1);
    t = llq_src_find(s, "empty");
    ck_assert_uint_eq(t->n_elem, 0);
    ck_assert_uint_eq(t->nbytes, 0);
    /* row1 = base[1]: points into the same bytes as base, 8 floats later (in place, no copy) */
    size_t ib = 0, ir = 1;
    ck_assert_str_eq(llq_src_at(s, ib)->name, "base");
    ck_assert_str_eq(llq_src_at(s, ir)->name, "row1");
    const void *pb, *pr;
    ck_assert_int_eq(llq_src_data(s, ib, &pb), 0);
    ck_assert_int_eq(llq_src_data(s, ir, &pr), 0);
    ck_assert_ptr_eq(pr, (const float *)pb + 8);
    llq_src_release(s, ir);
    llq_src_release(s, ib);
    llq_src_close(s);
}
END_TEST

START_TEST(state_dict_shapes)
{
    ck_assert_str_eq(check_refs("misc/nested.pth", NULL), "torch-zip"); /* nested dict: "model.w"; ints skipped */
    ck_assert_str_eq(check_refs("misc/module_sd.pth", NULL), "torch-zip"); /* OrderedDict + _metadata BUILD */
    ck_assert_str_eq(check_refs("misc/param.pth", NULL), "torch-zip");     /* _rebuild_parameter */
}
END_TEST

START_TEST(hostile_files)
{
    expect_bad("bad/evil_system.pth", LLQ_EUNSAFE, "evil/data.pkl: pickle GLOBAL 'posix system' is not allowed");
    expect_bad("bad/zip_truncated.pth", LLQ_EFORMAT, "end-of-central-directory");
    expect_bad("bad/zip_cd_outside.pth", LLQ_EFORMAT, "outside the file");
    expect_bad("bad/zip_crc.pth", LLQ_ECRC, "CRC-32");
    expect_bad("bad/zip_bomb.pth", LLQ_ELIMIT, "zip bomb");
    expect_bad("bad/zip_bomb_ratio.pth", LLQ_ELIMIT, "zip bomb");
    expect_bad("bad/legacy_truncated.pth", LLQ_EFORMAT, "runs past the end of the file");
    expect_bad("bad/laughs.pth", LLQ_ELIMIT, "more than");
    /* with verification off, the corrupted bytes come through (and differ from the reference) */
    llq_src *s;
    ck_assert_int_eq(llq_src_open(&s, FIX "bad/zip_crc.pth"), 0);
    llq_src_set_verify(s, 0);
    const void *p;
    ck_assert_int_eq(llq_src_data(s, 0, &p), 0);
    llq_src_set_verify(s, 1);
    llq_src_release(s, 0);
    ck_assert_int_eq(llq_src_data(s, 0, &p), LLQ_ECRC);
    llq_src_close(s);
}
END_TEST

/* llq_src_data_pending hands out whole stored entries unchecked; llq_src_check with the CRC of their bytes
 * refuses the corrupted entry of bad/zip_crc.pth (same message as llq_src_data) and accepts every entry of a
 * good file, which llq_src_data then serves without checking again. */
static int check_all_pending(const char *path, int *n_pending)
{
    llq_src *s;
    int err = llq_src_open(&s, path);
    *n_pending = 0;
    for (size_t i = 0; !err && i < llq_src_count(s); i++) {
        const void *p;
        int pending = -1;
        uint32_t crc;
        err = llq_src_data_pending(s, i, &p, &pending, &crc);
        ck_assert(err || pending == 0 || pending == 1);
        if (!err && pending) {
            ++*n_pending;
            err = llq_src_check(s, i, llq_crc32(0, p, llq_src_at(s, i)->nbytes));
            if (!err) {
                llq_src_release(s, i);
                ck_assert_int_eq(llq_src_data(s, i, &p), 0);
            }
        }
        llq_src_release(s, i);
    }
    llq_src_close(s);
    return err;
}

START_TEST(pending_crc_check)
{
    int n;
    ck_assert_int_eq(check_all_pending(FIX "bad/zip_crc.pth", &n), LLQ_ECRC);
    ck_assert_int_ge(n, 1);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "zip_crc.pth: zip: entry"));
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "does not match the recorded"));
    ck_assert_int_eq(check_all_pending(FIX "meta-1/consolidated.00.pth", &n), 0);
    ck_assert_int_ge(n, 1);
}
END_TEST

/* Prefixes of a legacy file and of a torch zip: refused, never a crash. */
START_TEST(truncated_everywhere)
{
    static const char *files[] = {FIX "misc/views_legacy.pth", FIX "misc/views.pth"};
    for (size_t f = 0; f < 2; f++) {
        size_t n;
        unsigned char *b = slurp(files[f], &n);
        ck_assert_ptr_nonnull(b);
        char tmp[] = "/tmp/llq_trunc_XXXXXX";
        int fd = mkstemp(tmp);
        ck_assert_int_ge(fd, 0);
        FILE *fp = fdopen(fd, "wb");
        for (size_t k = 0; k < n; k += (n - k > 600 ? 7 : 1)) {
            ck_assert_int_eq(ftruncate(fd, 0), 0);
            rewind(fp);
            fwrite(b, 1, k, fp);
            fflush(fp);
            llq_src *s;
            int err = llq_src_open(&s, tmp);
            ck_assert_msg(err < 0, "%s cut at %zu opened", files[f], k);
        }
        fclose(fp);
        unlink(tmp);
        free(b);
    }
}
END_TEST

/* Every byte of a legacy file and of a torch zip flipped in turn: refused or read, never a crash (ASan);
 * whatever opens serves all its tensors. */
START_TEST(flipped_everywhere)
{
    static const char *files[] = {FIX "misc/views_legacy.pth", FIX "misc/views.pth", FIX "misc/views_proto4.pth"};
    for (size_t f = 0; f < 3; f++) {
        size_t n;
        unsigned char *b = slurp(files[f], &n);
        ck_assert_ptr_nonnull(b);
        char tmp[] = "/tmp/llq_flip_XXXXXX";
        int fd = mkstemp(tmp);
        ck_assert_int_ge(fd, 0);
        for (size_t k = 0; k < n; k++) {
            for (int v = 0; v < 2; v++) {
                unsigned char save = b[k];
                b[k] = v ? (unsigned char)(save ^ 0x80) : (unsigned char)(save + 1);
                ck_assert_int_eq(pwrite(fd, b, n, 0), (ssize_t)n);
                b[k] = save;
                llq_src *s;
                if (llq_src_open(&s, tmp) == 0) {
                    for (size_t i = 0; i < llq_src_count(s); i++) {
                        const void *p;
                        if (llq_src_data(s, i, &p) == 0)
                            llq_src_release(s, i);
                    }
                    llq_src_close(s);
                }
            }
        }
        close(fd);
        unlink(tmp);
        free(b);
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("torch");
    TCase *tc = tcase_create("torch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, model_checkpoints);
    tcase_add_test(tc, views_and_dtypes);
    tcase_add_test(tc, state_dict_shapes);
    tcase_add_test(tc, hostile_files);
    tcase_add_test(tc, pending_crc_check);
    tcase_add_test(tc, truncated_everywhere);
    tcase_add_test(tc, flipped_everywhere);
    suite_add_tcase(s, tc);
    return s;
}
