/* harness.c — main() shared by every Check suite: each tests/unit/test_*.c defines make_suite(). */
#include "harness.h"

#include "llq/llq.h"
#include "llq/tokenizer.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

void *tu_slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    int rc = llq_read_input(&buf, len, path, SIZE_MAX, 0);
    ck_assert_msg(rc == 0, "cannot read %s: %s", path, llq_errmsg());
    return buf;
}

Suite *make_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

llq_tokenizer *tu_tokenizer_via_llq(const llq_tokenizer *t)
{
    llq_tokenizer *t2 = NULL;
    char tmp[] = "/tmp/llq-tok-XXXXXX", file[64];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(file, sizeof file, "%s/t.llq", tmp);
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, file, 0), 0);
    ck_assert_msg(llq_tokenizer_write_meta(t, w) == 0, "%s", llq_errmsg());
    ck_assert_msg(llq_writer_commit(w) == 0, "%s", llq_errmsg());
    llq_writer_free(w);
    llq_file *f;
    ck_assert_msg(llq_open(&f, file) == 0, "%s", llq_errmsg());
    ck_assert_msg(llq_tokenizer_from_llq(&t2, f) == 0, "%s", llq_errmsg());
    llq_close(f);
    remove(file);
    remove(tmp);
    ck_assert_str_eq(llq_tokenizer_kind(t), llq_tokenizer_kind(t2));
    ck_assert_uint_eq(llq_tokenizer_n_vocab(t), llq_tokenizer_n_vocab(t2));
    ck_assert_int_eq(llq_tokenizer_bos(t), llq_tokenizer_bos(t2));
    ck_assert_int_eq(llq_tokenizer_eos(t), llq_tokenizer_eos(t2));
    return t2;
}
