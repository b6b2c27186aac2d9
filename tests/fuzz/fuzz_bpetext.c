/* fuzz_bpetext.c — BPE encoding of arbitrary text (bytes) with two committed tokenizer.json fixtures, loaded once
 * (run from the repo root): hf_qwen_small.json (NFC, added tokens, the Qwen regex) and hf_spm_metaspace.json
 * (Metaspace, byte fallback). Checks: ids in range; decode works; for the SentencePiece-style one with valid
 * UTF-8 not starting with a space, without '<' or U+2581, decode(encode(x)) == x (byte fallback covers every
 * character). */
#include "fuzz_util.h"

#include <string.h>

#include "llq/tokenizer.h"

static llq_tokenizer *fuzz_bpetext_tok[2];

static int fuzz_bpetext_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : 9;
        if (k == 9 || n - i <= k)
            return k == 0;
        uint32_t cp = k == 0 ? c : c & (0x3f >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int fuzz_bpetext(const uint8_t *data, size_t size)
{
    static const char *files[2] = {"tests/fixtures/tokenizer/hf_qwen_small.json",
                                   "tests/fixtures/tokenizer/hf_spm_metaspace.json"};
    for (int k = 0; k < 2; k++) {
        if (!fuzz_bpetext_tok[k] && llq_tokenizer_load(&fuzz_bpetext_tok[k], files[k]) != 0) {
            fprintf(stderr, "fuzz_bpetext: %s (run from the repo root)\n", llq_errmsg());
            abort();
        }
        const llq_tokenizer *t = fuzz_bpetext_tok[k];
        uint32_t *ids = NULL;
        size_t n = 0;
        FUZZ_ASSERT(llq_tokenize(t, (const char *)data, size, 0, &ids, &n) == 0);
        uint32_t nv = llq_tokenizer_n_vocab(t);
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(ids[i] < nv);
        char *back = NULL;
        size_t blen = 0;
        FUZZ_ASSERT(llq_detokenize(t, ids, n, &back, &blen) == 0);
        if (k == 1 && size && data[0] != ' ' && fuzz_bpetext_valid(data, size) && !memchr(data, '<', size) &&
            !memmem(data, size, "\xe2\x96\x81", 3)) /* '<': added tokens; U+2581 decodes to a space */
            FUZZ_ASSERT(blen == size && memcmp(back, data, size) == 0);
        free(back);
        free(ids);
    }
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_bpetext(data, size); }
#endif
