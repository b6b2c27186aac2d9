/* fuzz_spm.c — the SentencePiece tokenizer.model protobuf reader (llq_spm_parse); a model it accepts
 * must then encode, decode and stream-decode without fault. */
#include "fuzz_util.h"

#include <string.h>

#include "llq/tokenizer.h"

static int fuzz_spm(const uint8_t *data, size_t size)
{
    llq_tokenizer *t = NULL;
    if (llq_spm_parse(&t, data, size, "fuzz.model") != 0)
        return 0;
    static const char text[] = "  Hello,  world!\n\tdef f(x): return x**2 \xe2\x96\x81 <s> \xff\xc3 \xf0\x9f\x98\x80";
    uint32_t *ids = NULL; size_t n = 0;
    uint32_t nv = llq_tokenizer_n_vocab(t);
    if (llq_tokenize(t, text, sizeof text - 1, 1, &ids, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(ids[i] < nv);
        char *back = NULL; size_t blen = 0;
        if (llq_detokenize(t, ids, n, &back, &blen) == 0) {
            FUZZ_ASSERT(back[blen] == '\0');
            free(back);
        }
    }
    free(ids);
    char buf[LLQ_TOKEN_DECODE_MAX];
    int32_t prev = -1;
    for (uint32_t id = 0; id < nv && id < 512; id++) {
        size_t plen;
        const char *p = llq_token_piece(t, id, &plen);
        FUZZ_ASSERT(p != NULL);
        fuzz_touch(p, plen);
        int r = llq_token_decode(t, prev, id, buf, sizeof buf);
        FUZZ_ASSERT(r >= 0 && (size_t)r < sizeof buf);
        prev = (int32_t)id;
    }
    llq_tokenizer_free(t);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_spm(data, size); }
#endif
