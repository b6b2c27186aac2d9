/* harness.h — helpers every Check suite may use (harness.c holds the shared main()). */
#ifndef LLQ_TEST_HARNESS_H
#define LLQ_TEST_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* The whole file at path (the library's one reader, llq_read_input), NUL-terminated (so text can be read as a string), its length in *len; the
 * test fails with the library's message if it cannot be read. Owned by the caller (free). */
void *tu_slurp(const char *path, size_t *len);

#endif
