/* harness.c — main() shared by every Check suite: each tests/unit/test_*.c defines make_suite(). */
#include <check.h>
#include <stdlib.h>

Suite *make_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(make_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
