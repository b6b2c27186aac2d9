/* fuzz_tok_check.h — what the tokenizer-file targets (fuzz_spm, fuzz_hfjson, fuzz_tiktoken) check on a
 * tokenizer a parser accepted: encode a fixed hostile text (ids in range), decode it (NUL-terminated), every
 * piece addressable and stream-decodable into LLQ_TOKEN_DECODE_MAX bytes. */
#ifndef LLQ_FUZZ_TOK_CHECK_H
#define LLQ_FUZZ_TOK_CHECK_H

#include "fuzz_util.h"

#include "llq/tokenizer.h"

static void fuzz_tok_exercise(const llq_tokenizer *t)
{
    static const char text[] = "  Hello,  WORLD'S 123456 x\r\n\n\tdef f(x): \xe2\x96\x81 <s> <|eot_id|> \xff\xc3 "
                               "e\xcc\x81 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xe4\xb8\xad\xe6\x96\x87 \xc2\xa0 end";
    uint32_t *ids = NULL;
    size_t n = 0;
    uint32_t nv = llq_tokenizer_n_vocab(t);
    if (llq_tokenize(t, text, sizeof text - 1, 1, &ids, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(ids[i] < nv);
        char *back = NULL;
        size_t blen = 0;
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
}

#endif
