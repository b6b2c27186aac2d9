/* fuzz_hfjson.c — the Hugging Face tokenizer.json reader (llq_hf_parse: JSON, vocabulary, byte-level strings,
 * merges, added tokens, and the normalizer / pre-tokenizer (PCRE2 regex) / decoder parts); a tokenizer it
 * accepts must then encode, decode and stream-decode without fault (fuzz_tok_check.h). */
#include "fuzz_tok_check.h"

static int fuzz_hfjson(const uint8_t *data, size_t size)
{
    llq_tokenizer *t = NULL;
    if (llq_hf_parse(&t, data, size, NULL, 0, "fuzz.json") != 0)
        return 0;
    fuzz_tok_exercise(t);
    llq_tokenizer_free(t);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_hfjson(data, size); }
#endif
