/* fuzz_spm.c — the SentencePiece tokenizer.model protobuf reader (llq_spm_parse); a model it accepts
 * must then encode, decode and stream-decode without fault (fuzz_tok_check.h). */
#include "fuzz_tok_check.h"

static int fuzz_spm(const uint8_t *data, size_t size)
{
    llq_tokenizer *t = NULL;
    if (llq_spm_parse(&t, data, size, "fuzz.model") != 0)
        return 0;
    fuzz_tok_exercise(t);
    llq_tokenizer_free(t);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_spm(data, size); }
#endif
