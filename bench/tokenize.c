/* bench/tokenize.c — tokenizer speed: the demo model's SentencePiece tokenizer on its test split (encode as
 * the evaluation protocol does, [BOS] + whole text; decode; streaming decode), then the BPE tokenizers —
 * the real Llama-3 and Qwen tokenizer.json from ../shared/tokenizers when present, else the committed small
 * fixtures — loaded from tokenizer.json and from .llq metadata, encoding 1 MiB of mixed text (the test split
 * and the stress corpus, repeated) on one thread. Prints figures; never fails on time. */
#include "llq/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void) /* this process's CPU time: meaningful on a shared machine */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*len + 1);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* One timed encode ([BOS] + text) and decode; keeps the best times in *enc, *enc_cpu, *dec. *ids replaced. */
static int time_encode_decode(const llq_tokenizer *t, const char *text, size_t len, uint32_t **ids, size_t *n,
                              double *enc, double *enc_cpu, double *dec)
{
    free(*ids);
    *ids = NULL;
    double t0 = now_ms(), c0 = cpu_ms();
    if (llq_tokenize(t, text, len, 1, ids, n))
        return 1;
    double e = now_ms() - t0, c = cpu_ms() - c0;
    *enc = e < *enc ? e : *enc;
    *enc_cpu = c < *enc_cpu ? c : *enc_cpu;
    char *out;
    size_t olen;
    t0 = now_ms();
    if (llq_detokenize(t, *ids, *n, &out, &olen))
        return 1;
    e = now_ms() - t0;
    *dec = e < *dec ? e : *dec;
    free(out);
    return 0;
}

/* A BPE tokenizer: load from its file, write to and load from a .llq, encode/decode 1 MiB. */
static int bench_bpe(const char *path, const char *text, size_t len)
{
    llq_tokenizer *t = NULL, *t2 = NULL;
    double t0 = now_ms(), c0, load_ms = 1e30, llq_ms = 1e30, load_cpu = 1e30, llq_cpu = 1e30, enc_cpu = 1e30;
    for (int r = 0; r < 3; r++) {
        llq_tokenizer_free(t);
        t0 = now_ms();
        c0 = cpu_ms();
        if (llq_tokenizer_load(&t, path)) {
            fprintf(stderr, "tokenize: %s\n", llq_errmsg());
            return 1;
        }
        double e = now_ms() - t0, c = cpu_ms() - c0;
        load_ms = e < load_ms ? e : load_ms;
        load_cpu = c < load_cpu ? c : load_cpu;
    }
    char tmp[] = "/tmp/llq-bench-tok-XXXXXX", file[64];
    llq_writer *w;
    llq_file *f = NULL;
    if (!mkdtemp(tmp))
        return 1;
    snprintf(file, sizeof file, "%s/t.llq", tmp);
    if (llq_writer_open(&w, file, 0) || llq_tokenizer_write_meta(t, w) || llq_writer_commit(w)) {
        fprintf(stderr, "tokenize: %s\n", llq_errmsg());
        return 1;
    }
    llq_writer_free(w);
    for (int r = 0; r < 3; r++) {
        llq_tokenizer_free(t2);
        t0 = now_ms();
        c0 = cpu_ms();
        if (llq_open(&f, file) || llq_tokenizer_from_llq(&t2, f)) {
            fprintf(stderr, "tokenize: %s\n", llq_errmsg());
            return 1;
        }
        llq_close(f);
        double e = now_ms() - t0, c = cpu_ms() - c0;
        llq_ms = e < llq_ms ? e : llq_ms;
        llq_cpu = c < llq_cpu ? c : llq_cpu;
    }
    remove(file);
    rmdir(tmp);
    uint32_t *ids = NULL;
    size_t n = 0;
    double enc = 1e30, dec = 1e30;
    for (int r = 0; r < 3; r++)
        if (time_encode_decode(t2, text, len, &ids, &n, &enc, &enc_cpu, &dec))
            return 1;
    printf("%s (%s, %u ids): load %.0f ms (CPU %.0f ms) from the file, %.0f ms (CPU %.0f ms) from .llq metadata "
           "(best of 3)\n", path, llq_tokenizer_kind(t), llq_tokenizer_n_vocab(t), load_ms, load_cpu, llq_ms, llq_cpu);
    printf("  encode %zu bytes -> %zu tokens: %8.1f ms (CPU %.1f ms)  %6.2f MB/s  %9.0f tokens/s (1 thread, best of "
           "3)\n", len, n, enc, enc_cpu, (double)len / enc / 1e3, (double)n / enc * 1e3);
    printf("  decode:                            %8.1f ms  %6.2f MB/s\n", dec, (double)len / dec / 1e3);
    free(ids);
    llq_tokenizer_free(t);
    llq_tokenizer_free(t2);
    return 0;
}

static int bench_bpe_all(const char *text_path)
{
    size_t a = 0, b = 0;
    char *x = slurp(text_path, &a), *y = slurp("tests/fixtures/tokenizer/stress.txt", &b);
    size_t len = (size_t)1 << 20, o = 0;
    char *text = malloc(len);
    if (!x || !y || !text || !a || !b)
        return 1;
    while (o < len) { /* alternate: the test split, then the stress corpus */
        size_t k = (o / (a + b)) % 2 ? b : a;
        const char *src = k == b ? y : x;
        if (k > len - o)
            k = len - o;
        memcpy(text + o, src, k);
        o += k;
    }
    static const char *cand[] = {"../shared/tokenizers", "../../shared/tokenizers"};
    const char *sh = NULL;
    struct stat st;
    for (int i = 0; i < 2 && !sh; i++)
        if (stat(cand[i], &st) == 0)
            sh = cand[i];
    int rc = 0;
    if (sh) {
        char p[512];
        snprintf(p, sizeof p, "%s/llama3/tokenizer.json", sh);
        rc |= bench_bpe(p, text, len);
        snprintf(p, sizeof p, "%s/qwen3/tokenizer.json", sh);
        rc |= bench_bpe(p, text, len);
    } else {
        printf("(../shared/tokenizers absent: the small committed fixtures instead of the real 128k/151k vocabularies)\n");
        rc |= bench_bpe("tests/fixtures/tokenizer/hf_llama3_small.json", text, len);
        rc |= bench_bpe("tests/fixtures/tokenizer/hf_spm_legacy.json", text, len);
    }
    free(x);
    free(y);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "models/pydoc-7m/tokenizer.model";
    const char *text_path = argc > 2 ? argv[2] : "models/pydoc-7m/test.txt";
    llq_tokenizer *t = NULL;
    double t0 = now_ms();
    if (llq_spm_load(&t, model)) {
        fprintf(stderr, "tokenize: %s\n", llq_errmsg());
        return 1;
    }
    double load_ms = now_ms() - t0;
    size_t len;
    char *text = slurp(text_path, &len);
    if (!text) {
        fprintf(stderr, "tokenize: cannot read %s\n", text_path);
        return 1;
    }
    uint32_t *ids = NULL;
    size_t n = 0;
    double enc = 1e30, enc_cpu = 1e30, dec = 1e30, stream = 1e30;
    for (int r = 0; r < 10; r++) {
        if (time_encode_decode(t, text, len, &ids, &n, &enc, &enc_cpu, &dec))
            return 1;
        char buf[LLQ_TOKEN_DECODE_MAX];
        size_t total = 0;
        t0 = now_ms();
        for (size_t i = 0; i < n; i++)
            total += (size_t)llq_token_decode(t, i ? (int32_t)ids[i - 1] : -1, ids[i], buf, sizeof buf);
        double e = now_ms() - t0;
        stream = e < stream ? e : stream;
        if (total != len)
            fprintf(stderr, "tokenize: streamed decode gave %zu bytes, expected %zu\n", total, len);
    }
    printf("model %s: %u pieces, loaded in %.2f ms\n", model, llq_tokenizer_n_vocab(t), load_ms);
    printf("text %s: %zu bytes -> %zu tokens ([BOS] + encode)\n", text_path, len, n);
    printf("encode:          %8.1f ms (CPU %.1f ms)  %6.2f MB/s  %9.0f tokens/s  (best of 10)\n", enc, enc_cpu,
           (double)len / enc / 1e3, (double)n / enc * 1e3);
    printf("decode:          %8.1f ms  %6.2f MB/s\n", dec, (double)len / dec / 1e3);
    printf("streamed decode: %8.1f ms  %9.0f tokens/s\n", stream, (double)n / stream * 1e3);
    free(ids);
    free(text);
    llq_tokenizer_free(t);
    return bench_bpe_all(text_path);
}
