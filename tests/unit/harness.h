/* harness.h — helpers every Check suite may use (harness.c holds the shared main()). */
#ifndef LLQ_TEST_HARNESS_H
#define LLQ_TEST_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* The whole file at path (the library's one reader, llq_read_input), NUL-terminated (so text can be read as a string), its length in *len; the
 * test fails with the library's message if it cannot be read. Owned by the caller (free). */
void *tu_slurp(const char *path, size_t *len);

/* t written to a fresh .llq's metadata and read back from that file alone (llq_tokenizer_from_llq); the test fails
 * on any library error. Kind, vocabulary size and bos/eos are checked equal; the caller compares the rest. The
 * result is owned by the caller (llq_tokenizer_free); t is left as it was. */
struct llq_tokenizer;
struct llq_tokenizer *tu_tokenizer_via_llq(const struct llq_tokenizer *t);

#endif
