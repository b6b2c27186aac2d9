/* harness.c — main() shared by every Check suite: each tests/unit/test_*.c defines make_suite(). */
#include "harness.h"

#include "llq/llq.h"

#include <check.h>
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
