/* bench/tokenize.c — tokenizer speed on the demo model's test split: encode (the evaluation protocol,
 * [BOS] + whole text), decode, streaming decode. Prints figures; never fails on time. */
#include "llq/tokenizer.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "models/pydoc-7m/tokenizer.model";
    const char *text_path = argc > 2 ? argv[2] : "models/pydoc-7m/test.txt";
    llq_tokenizer *t = NULL;
    double t0 = 1e3 * bench_now();
    if (llq_spm_load(&t, model)) {
        fprintf(stderr, "tokenize: %s\n", llq_errmsg());
        return 1;
    }
    double load_ms = 1e3 * bench_now() - t0;
    FILE *f = fopen(text_path, "rb");
    if (!f) {
        fprintf(stderr, "tokenize: cannot open %s\n", text_path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    char *text = malloc(len + 1);
    if (!text || fread(text, 1, len, f) != len) {
        fprintf(stderr, "tokenize: cannot read %s\n", text_path);
        return 1;
    }
    fclose(f);
    uint32_t *ids = NULL;
    size_t n = 0;
    double enc = 1e30, dec = 1e30, stream = 1e30;
    for (int r = 0; r < 10; r++) {
        free(ids);
        t0 = 1e3 * bench_now();
        if (llq_tokenize(t, text, len, 1, &ids, &n))
            return 1;
        double e = 1e3 * bench_now() - t0;
        enc = e < enc ? e : enc;
        char *out;
        size_t olen;
        t0 = 1e3 * bench_now();
        if (llq_detokenize(t, ids, n, &out, &olen))
            return 1;
        e = 1e3 * bench_now() - t0;
        dec = e < dec ? e : dec;
        free(out);
        char buf[LLQ_TOKEN_DECODE_MAX];
        size_t total = 0;
        t0 = 1e3 * bench_now();
        for (size_t i = 0; i < n; i++)
            total += (size_t)llq_token_decode(t, i ? (int32_t)ids[i - 1] : -1, ids[i], buf, sizeof buf);
        e = 1e3 * bench_now() - t0;
        stream = e < stream ? e : stream;
        if (total != len)
            fprintf(stderr, "tokenize: streamed decode gave %zu bytes, expected %zu\n", total, len);
    }
    printf("model %s: %u pieces, loaded in %.2f ms\n", model, llq_tokenizer_n_vocab(t), load_ms);
    printf("text %s: %zu bytes -> %zu tokens ([BOS] + encode)\n", text_path, len, n);
    printf("encode:          %8.1f ms  %6.2f MB/s  %9.0f tokens/s  (best of 10)\n", enc, (double)len / enc / 1e3,
           (double)n / enc * 1e3);
    printf("decode:          %8.1f ms  %6.2f MB/s\n", dec, (double)len / dec / 1e3);
    printf("streamed decode: %8.1f ms  %9.0f tokens/s\n", stream, (double)n / stream * 1e3);
    free(ids);
    free(text);
    llq_tokenizer_free(t);
    return 0;
}
