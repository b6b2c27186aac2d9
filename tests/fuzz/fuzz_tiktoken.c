/* fuzz_tiktoken.c — the tiktoken tokenizer.model reader (llq_tiktoken_parse: base64 tokens, ranks, the 256
 * Llama-3 special tokens) and llq_tokenizer_load's detection of it by content; a tokenizer it accepts must then
 * encode, decode and stream-decode without fault (fuzz_tok_check.h). */
#include "fuzz_tok_check.h"

static int fuzz_tiktoken(const uint8_t *data, size_t size)
{
    llq_tokenizer *t = NULL;
    if (llq_tiktoken_parse(&t, data, size, size & 1 ? LLQ_TIKTOKEN_LLAMA31 : LLQ_TIKTOKEN_LLAMA3, "fuzz.model") == 0) {
        fuzz_tok_exercise(t);
        llq_tokenizer_free(t);
    }
    char path[64];
    int fd = fuzz_memfile(data, size, path);
    if (fd >= 0) {
        if (llq_tokenizer_load(&t, path) == 0)
            llq_tokenizer_free(t);
        close(fd);
    }
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tiktoken(data, size); }
#endif
