/* test_bpe.c — the Hugging Face tokenizer.json / tiktoken engine (tokenizer/bpe.c) against Hugging Face's Rust
 * tokenizers: ids of the stress corpus (tests/fixtures/tokenizer/stress.txt, each case and the whole file) for
 * the committed small fixtures (byte-level Llama-3 and Qwen cuts, two SentencePiece-style files) and, when
 * ../shared/tokenizers is present, the real Llama-3 and Qwen tokenizer.json plus a tiktoken file derived from
 * Llama-3's; tiktoken files against tiktoken's own ids (npm tiktoken, tests/interop/make_tiktoken_refs.js): the
 * llama31-meta fixture's and the derived real one, special tokens named as Llama-3 and as Llama-3.1; the same
 * through .llq metadata; decoding; hostile files refused with an error. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "llq/tokenizer.h"

#define FIX "tests/fixtures/tokenizer/"

static const char *shared_dir(void)
{
    static const char *cand[] = {"../shared/tokenizers", "../../shared/tokenizers"};
    struct stat st;
    for (int i = 0; i < 2; i++)
        if (stat(cand[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cand[i];
    return NULL;
}

/* The tokenizer written to a fresh .llq's metadata and read back from it alone. */
static llq_tokenizer *via_llq(const llq_tokenizer *t)
{
    llq_tokenizer *t2 = tu_tokenizer_via_llq(t);
    for (uint32_t i = 0; i < llq_tokenizer_n_vocab(t); i++) {
        size_t a, b;
        const char *pa = llq_token_piece(t, i, &a), *pb = llq_token_piece(t2, i, &b);
        ck_assert(a == b && memcmp(pa, pb, a) == 0 && llq_token_type(t, i) == llq_token_type(t2, i));
    }
    return t2;
}

/* Compares t's ids on every case of the stress corpus (and the whole file) with the reference file;
 * returns the number of ids compared. */
static size_t check_stress(const llq_tokenizer *t, const char *ref_path, const char *what)
{
    size_t clen, rlen, compared = 0;
    char *corpus = tu_slurp(FIX "stress.txt", &clen), *ref = tu_slurp(ref_path, &rlen);
    json_object *r = json_tokener_parse(ref), *cases, *whole;
    ck_assert_ptr_nonnull(r);
    ck_assert(json_object_object_get_ex(r, "cases", &cases) && json_object_object_get_ex(r, "whole", &whole));
    size_t n_cases = json_object_array_length(cases), c = 0, from = 0;
    for (size_t i = 0; i <= clen; i++) {
        int end = i == clen, sep = !end && i + 3 <= clen && memcmp(corpus + i, "\n\x1e\n", 3) == 0;
        if (!end && !sep)
            continue;
        ck_assert_uint_lt(c, n_cases);
        json_object *want = json_object_array_get_idx(cases, c);
        uint32_t *ids;
        size_t n;
        ck_assert_msg(llq_tokenize(t, corpus + from, i - from, 0, &ids, &n) == 0, "%s", llq_errmsg());
        size_t k = 0, wn = json_object_array_length(want);
        while (k < n && k < wn && ids[k] == (uint32_t)json_object_get_int64(json_object_array_get_idx(want, k)))
            k++;
        ck_assert_msg(k == n && n == wn, "%s: case %zu differs at token %zu (%zu vs %zu tokens)", what, c, k, n, wn);
        compared += n;
        free(ids);
        c++;
        from = i + 3;
        i += 2;
    }
    ck_assert_uint_eq(c, n_cases);
    uint32_t *ids;
    size_t n;
    ck_assert_int_eq(llq_tokenize(t, corpus, clen, 0, &ids, &n), 0);
    ck_assert_uint_eq(n, json_object_array_length(whole));
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(ids[k] == (uint32_t)json_object_get_int64(json_object_array_get_idx(whole, k)),
                      "%s: whole corpus differs at token %zu", what, k);
    compared += n;
    free(ids);
    json_object_put(r);
    free(corpus);
    free(ref);
    return compared;
}

static llq_tokenizer *load(const char *path)
{
    llq_tokenizer *t = NULL;
    ck_assert_msg(llq_tokenizer_load(&t, path) == 0, "%s", llq_errmsg());
    return t;
}

static const char *const kSmall[5] = {"hf_llama3_small", "hf_qwen_small", "hf_spm_legacy", "hf_spm_metaspace",
                                      "hf_smollm2_small"};

START_TEST(stress_small)
{
    char path[256], ref[256];
    snprintf(path, sizeof path, FIX "%s.json", kSmall[_i]);
    snprintf(ref, sizeof ref, FIX "stress_%s.ids.json", kSmall[_i]);
    llq_tokenizer *t = load(path), *t2 = via_llq(t);
    ck_assert_str_eq(llq_tokenizer_kind(t), "hf-bpe");
    size_t n = check_stress(t, ref, kSmall[_i]);
    ck_assert_uint_eq(check_stress(t2, ref, kSmall[_i]), n);
    ck_assert_uint_gt(n, 3000);
    llq_tokenizer_free(t);
    llq_tokenizer_free(t2);
}
END_TEST

/* Decoding gives the text back (byte-level: any valid text without special tokens; SentencePiece-style:
 * the decoder's Strip drops one leading space, which Prepend always added but Metaspace does not add before a
 * text that starts with a space). */
START_TEST(decode_round_trip)
{
    static const char *texts[] = {"Hello world!\n\tTabs  and   spaces\r\n", "Größe 😀 👩‍💻 中文 ١٢٣ 12345",
                                  "  leading", "x", "trailing  "};
    for (int f = 0; f < 5; f++) {
        char path[256];
        snprintf(path, sizeof path, FIX "%s.json", kSmall[f]);
        llq_tokenizer *t = load(path);
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
            uint32_t *ids;
            size_t n, len;
            char *back;
            ck_assert_int_eq(llq_tokenize(t, texts[i], strlen(texts[i]), 1, &ids, &n), 0);
            ck_assert_int_eq(llq_detokenize(t, ids, n, &back, &len), 0);
            const char *want = texts[i] + (f == 3 && texts[i][0] == ' '); /* Metaspace prepends no ▁ before a space */
            ck_assert_msg(strcmp(back, want) == 0, "%s: '%s' came back as '%s'", kSmall[f], texts[i], back);
            /* streaming decode, concatenated, gives the same bytes */
            char acc[512] = "", piece[LLQ_TOKEN_DECODE_MAX];
            size_t al = 0;
            for (size_t k = 0; k < n; k++) {
                int m = llq_token_decode(t, k ? (int32_t)ids[k - 1] : -1, ids[k], piece, sizeof piece);
                ck_assert_int_ge(m, 0);
                memcpy(acc + al, piece, (size_t)m);
                al += (size_t)m;
            }
            ck_assert_msg(al == len && memcmp(acc, back, len) == 0, "%s: streamed decode of '%s'", kSmall[f], back);
            free(back);
            free(ids);
        }
        llq_tokenizer_free(t);
    }
}
END_TEST

/* Invalid UTF-8 becomes U+FFFD per maximal invalid subpart before tokenization (as the reference). */
START_TEST(invalid_utf8_rule)
{
    llq_tokenizer *t = load(FIX "hf_llama3_small.json");
    static const struct {
        const char *bad, *good;
    } cases[] = {{"a\x80" "b", "a\xef\xbf\xbd" "b"},
                 {"\xe2\x82", "\xef\xbf\xbd"},
                 {"\xe2\x82x", "\xef\xbf\xbdx"},
                 {"\xf0\x9f\x98", "\xef\xbf\xbd"},
                 {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
                 {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
                 {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
                 {"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint32_t *a, *b;
        size_t na, nb;
        ck_assert_int_eq(llq_tokenize(t, cases[i].bad, strlen(cases[i].bad), 0, &a, &na), 0);
        ck_assert_int_eq(llq_tokenize(t, cases[i].good, strlen(cases[i].good), 0, &b, &nb), 0);
        ck_assert_msg(na == nb && memcmp(a, b, na * sizeof *a) == 0, "case %zu", i);
        free(a);
        free(b);
    }
    llq_tokenizer_free(t);
}
END_TEST

/* Writes a tiktoken file of t's first n_ranks tokens (their raw bytes, base64, rank = id). */
static void write_tiktoken(const llq_tokenizer *t, uint32_t n_ranks, const char *path)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (uint32_t id = 0; id < n_ranks; id++) {
        size_t n;
        const unsigned char *p = (const unsigned char *)llq_token_piece(t, id, &n);
        for (size_t i = 0; i < n; i += 3) {
            uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
            fputc(b64[w >> 18], f);
            fputc(b64[(w >> 12) & 63], f);
            fputc(i + 1 < n ? b64[(w >> 6) & 63] : '=', f);
            fputc(i + 2 < n ? b64[w & 63] : '=', f);
        }
        fprintf(f, " %u\n", id);
    }
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(real_tokenizers)
{
    const char *sh = shared_dir();
    if (!sh) {
        fprintf(stderr, "test_bpe: ../shared/tokenizers absent: real Llama-3/Qwen tokenizer checks skipped\n");
        return;
    }
    static const char *names[2] = {"llama3", "qwen3"};
    char path[512], ref[256];
    snprintf(path, sizeof path, "%s/%s/tokenizer.json", sh, names[_i]);
    snprintf(ref, sizeof ref, FIX "stress_%s.ids.json", names[_i]);
    llq_tokenizer *t = load(path), *t2 = via_llq(t);
    size_t n = check_stress(t, ref, names[_i]);
    ck_assert_uint_eq(check_stress(t2, ref, names[_i]), n);
    fprintf(stderr, "test_bpe: %s tokenizer.json: %zu ids identical to HF tokenizers (also through .llq)\n",
            names[_i], n);
    if (_i == 0) {
        ck_assert_uint_eq(llq_tokenizer_n_vocab(t), 128256);
        ck_assert_int_eq(llq_tokenizer_bos(t), 128000); /* from tokenizer_config.json */
        ck_assert_int_eq(llq_tokenizer_eos(t), 128001);
        /* a tiktoken file derived from it (Meta's tokenizer.model of the same model): the same ids and special
         * tokens as the tokenizer.json with Llama-3's names; against tiktoken's own ids with both namings */
        char tmp[] = "/tmp/llq-tik-XXXXXX", file[64];
        ck_assert_ptr_nonnull(mkdtemp(tmp));
        snprintf(file, sizeof file, "%s/tokenizer.model", tmp);
        write_tiktoken(t, 128000, file);
        for (int nm = 0; nm < 2; nm++) {
            llq_tokenizer *k = NULL;
            ck_assert_int_eq(llq_tokenizer_load_ex(&k, file, nm ? LLQ_TIKTOKEN_LLAMA31 : LLQ_TIKTOKEN_LLAMA3), 0);
            llq_tokenizer *k2 = via_llq(k);
            ck_assert_str_eq(llq_tokenizer_kind(k), "tiktoken");
            ck_assert_uint_eq(llq_tokenizer_n_vocab(k), 128256);
            ck_assert_int_eq(llq_tokenizer_bos(k), 128000);
            for (uint32_t id = 0; !nm && id < 128256; id++) {
                size_t a, b;
                const char *pa = llq_token_piece(t, id, &a), *pb = llq_token_piece(k, id, &b);
                ck_assert_msg(a == b && memcmp(pa, pb, a) == 0, "tiktoken token %u differs from tokenizer.json", id);
            }
            if (!nm)
                ck_assert_uint_eq(check_stress(k, ref, "llama3 tiktoken vs HF"), n);
            char tref[128];
            snprintf(tref, sizeof tref, FIX "stress_llama3_tiktoken_%s.ids.json", nm ? "llama31" : "llama3");
            size_t m = check_stress(k, tref, tref);
            ck_assert_uint_eq(check_stress(k2, tref, "llama3 tiktoken via .llq"), m);
            fprintf(stderr, "test_bpe: llama3 tiktoken (derived, %s names): %zu ids identical to tiktoken's\n",
                    nm ? "Llama-3.1" : "Llama-3", m);
            llq_tokenizer_free(k);
            llq_tokenizer_free(k2);
        }
        remove(file);
        remove(tmp);
    }
    llq_tokenizer_free(t);
    llq_tokenizer_free(t2);
}
END_TEST

/* Meta's tokenizer.model of tests/fixtures/arch/llama31-meta (703 ranks cut from Llama-3's; rank-ordered merges
 * tokenize it differently from the tokenizer.json it was cut from) against tiktoken's ids, with the special tokens
 * named as Llama-3 and as Llama-3.1 (the corpus writes <|reserved_special_token_5|>, which has another id in each). */
START_TEST(tiktoken_stress_small)
{
    size_t len;
    char *buf = tu_slurp("tests/fixtures/arch/llama31-meta/tokenizer.model", &len);
    llq_tokenizer *t = NULL;
    ck_assert_msg(llq_tiktoken_parse(&t, buf, len, _i ? LLQ_TIKTOKEN_LLAMA31 : LLQ_TIKTOKEN_LLAMA3, "tokenizer.model") == 0,
                  "%s", llq_errmsg());
    free(buf);
    llq_tokenizer *t2 = via_llq(t);
    const char *ref = _i ? FIX "stress_tiktoken_small_llama31.ids.json" : FIX "stress_tiktoken_small_llama3.ids.json";
    size_t n = check_stress(t, ref, ref);
    ck_assert_uint_eq(check_stress(t2, ref, ref), n);
    llq_tokenizer_free(t);
    llq_tokenizer_free(t2);
}
END_TEST

START_TEST(tiktoken_small)
{
    static const char good[] = "IQ== 0\nIg== 1\nYQ== 2\nYg== 3\nYWI= 4\nIGFi 5\nIGE= 6\n";
    llq_tokenizer *t = NULL;
    ck_assert_msg(llq_tiktoken_parse(&t, good, sizeof good - 1, LLQ_TIKTOKEN_LLAMA31, "t.model") == 0, "%s",
                  llq_errmsg());
    ck_assert_uint_eq(llq_tokenizer_n_vocab(t), 7 + 256);
    size_t n;
    const char *p = llq_token_piece(t, 7 + 8, &n);
    ck_assert(n == 10 && memcmp(p, "<|eom_id|>", 10) == 0);
    p = llq_token_piece(t, 7 + 255, &n);
    ck_assert(n == strlen("<|reserved_special_token_245|>") && memcmp(p, "<|reserved_special_token_245|>", n) == 0);
    uint32_t *ids;
    size_t k;
    ck_assert_int_eq(llq_tokenize(t, "ab ab<|eom_id|>", 15, 1, &ids, &k), 0);
    ck_assert_uint_eq(k, 4);
    ck_assert(ids[0] == 7 && ids[1] == 4 && ids[2] == 5 && ids[3] == 7 + 8);
    free(ids);
    llq_tokenizer_free(t);
    /* the same file through llq_tokenizer_load_ex / llq_tokenizer_load: detected by content, names as asked */
    char tmp[] = "/tmp/llq-tik-XXXXXX", file[64];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(file, sizeof file, "%s/tokenizer.model", tmp);
    FILE *f = fopen(file, "wb");
    ck_assert(f && fwrite(good, 1, sizeof good - 1, f) == sizeof good - 1 && fclose(f) == 0);
    for (int names = 0; names < 2; names++) {
        ck_assert_int_eq(names ? llq_tokenizer_load_ex(&t, file, LLQ_TIKTOKEN_LLAMA31) : llq_tokenizer_load(&t, file), 0);
        ck_assert_str_eq(llq_tokenizer_kind(t), "tiktoken");
        p = llq_token_piece(t, 7 + 8, &n);
        const char *want = names ? "<|eom_id|>" : "<|reserved_special_token_4|>";
        ck_assert(n == strlen(want) && memcmp(p, want, n) == 0);
        llq_tokenizer_free(t);
    }
    remove(file);
    remove(tmp);
    static const char *bad[] = {"", "\n", "IQ==\n", "IQ== x\n", "IQ== 1\n", "IQ== 0\nIQ== 0\n", "I@== 0\n",
                                "IQ= 0\n", "IQ== 0\n\n", "IQ== 99999999999\n", "=Q== 0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t = (llq_tokenizer *)1;
        ck_assert_msg(llq_tiktoken_parse(&t, bad[i], strlen(bad[i]), 0, "bad.model") == LLQ_EFORMAT,
                      "case %zu accepted", i);
        ck_assert_ptr_null(t);
    }
}
END_TEST

/* Hostile or unsupported tokenizer.json files: an error code and a message, never a crash. */
START_TEST(hostile_json)
{
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        {"", LLQ_EFORMAT},
        {"[]", LLQ_EFORMAT},
        {"{", LLQ_EFORMAT},
        {"{}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":2},\"merges\":[]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"ab\"]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\"]]}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"dropout\":0.1}}", LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"x\"}}", LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"normalizer\":{\"type\":\"BertNormalizer\"}}",
         LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\","
         "\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"}}",
         LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Split\","
         "\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"}}",
         LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"decoder\":{\"type\":\"WordPiece\"}}",
         LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":[{\"id\":1,\"content\":"
         "\"<x>\",\"lstrip\":true}]}",
         LLQ_EUNSUPPORTED},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"added_tokens\":[{\"id\":0,\"content\":"
         "\"<x>\"}]}",
         LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\\u0100\\u0101\":0},\"merges\":[]},\"pre_tokenizer\":"
         "{\"type\":\"ByteLevel\"}}",
         0},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\\u4e2d\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":"
         "\"ByteLevel\"}}",
         LLQ_EFORMAT},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"normalizer\":{\"type\":\"Sequence\","
         "\"normalizers\":[[[[[[]]]]]]}}",
         LLQ_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        llq_tokenizer *t = (llq_tokenizer *)1;
        int rc = llq_hf_parse(&t, cases[i].json, strlen(cases[i].json), NULL, 0, "bad.json");
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d (want %d): %s", i, rc, cases[i].rc, llq_errmsg());
        if (rc) {
            ck_assert_ptr_null(t);
            ck_assert(strstr(llq_errmsg(), "bad.json") != NULL);
        }
        llq_tokenizer_free(rc ? NULL : t);
    }
}
END_TEST

/* A vocabulary without a character's bytes: byte fallback, else the unknown token, else an error. */
START_TEST(unknown_and_fallback)
{
    static const char j[] = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"<unk>\":0,\"a\":1,\"b\":2,\"ab\":3,"
                            "\"<0xC3>\":4,\"<0xA9>\":5},\"merges\":[\"a b\"],\"unk_token\":\"<unk>\",\"fuse_unk\":true,"
                            "\"byte_fallback\":true},\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":"
                            "\"ByteFallback\"},{\"type\":\"Fuse\"}]}}";
    llq_tokenizer *t;
    ck_assert_msg(llq_hf_parse(&t, j, sizeof j - 1, NULL, 0, "u.json") == 0, "%s", llq_errmsg());
    uint32_t *ids;
    size_t n;
    ck_assert_int_eq(llq_tokenize(t, "ab\xc3\xa9xyab", 8, 0, &ids, &n), 0);
    ck_assert_uint_eq(n, 5); /* ab, <0xC3>, <0xA9>, <unk> (x and y fused), ab */
    ck_assert(ids[0] == 3 && ids[1] == 4 && ids[2] == 5 && ids[3] == 0 && ids[4] == 3);
    free(ids);
    char *back;
    size_t len;
    const uint32_t seq[] = {3, 4, 5, 4};
    ck_assert_int_eq(llq_detokenize(t, seq, 4, &back, &len), 0);
    /* HF's ByteFallback: a run of byte tokens that is not valid UTF-8 becomes U+FFFD per token */
    ck_assert_str_eq(back, "ab\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(back);
    ck_assert_int_eq(llq_detokenize(t, seq, 3, &back, &len), 0);
    ck_assert_str_eq(back, "ab\xc3\xa9");
    free(back);
    ck_assert_int_eq(llq_detokenize(t, seq, 1, &back, &len), 0);
    free(back);
    const uint32_t oob[] = {6};
    ck_assert_int_eq(llq_detokenize(t, oob, 1, &back, &len), LLQ_EINVAL);
    llq_tokenizer_free(t);
    static const char j2[] = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}";
    ck_assert_int_eq(llq_hf_parse(&t, j2, sizeof j2 - 1, NULL, 0, "u.json"), 0);
    ck_assert_int_eq(llq_tokenize(t, "ax", 2, 0, &ids, &n), LLQ_EINVAL);
    llq_tokenizer_free(t);
}
END_TEST

/* BOS: from a TemplateProcessing post-processor (alone or in a Sequence), overridden by tokenizer_config.json. */
START_TEST(bos_sources)
{
    static const char j[] = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"<s>\":1,\"</s>\":2},\"merges\":[]},"
                            "\"added_tokens\":[{\"id\":1,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":"
                            "\"</s>\",\"special\":true}],\"post_processor\":{\"type\":\"Sequence\",\"processors\":[{\"type\":"
                            "\"ByteLevel\"},{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\"}},"
                            "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1]}}}]}}";
    static const char cfg[] = "{\"bos_token\":{\"content\":\"</s>\"},\"eos_token\":\"</s>\",\"pad_token\":null}";
    llq_tokenizer *t;
    ck_assert_msg(llq_hf_parse(&t, j, sizeof j - 1, NULL, 0, "b.json") == 0, "%s", llq_errmsg());
    ck_assert_int_eq(llq_tokenizer_bos(t), 1);
    ck_assert_int_eq(llq_tokenizer_eos(t), -1);
    uint32_t *ids;
    size_t n;
    ck_assert_int_eq(llq_tokenize(t, "a<s>", 4, 1, &ids, &n), 0);
    ck_assert(n == 3 && ids[0] == 1 && ids[1] == 0 && ids[2] == 1);
    free(ids);
    llq_tokenizer_free(t);
    ck_assert_int_eq(llq_hf_parse(&t, j, sizeof j - 1, cfg, sizeof cfg - 1, "b.json"), 0);
    ck_assert_int_eq(llq_tokenizer_bos(t), 2);
    ck_assert_int_eq(llq_tokenizer_eos(t), 2);
    ck_assert_int_eq(llq_tokenizer_pad(t), -1);
    llq_tokenizer_free(t);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("bpe");
    TCase *tc = tcase_create("bpe");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, stress_small, 0, 5);
    tcase_add_test(tc, decode_round_trip);
    tcase_add_test(tc, invalid_utf8_rule);
    tcase_add_loop_test(tc, real_tokenizers, 0, 2);
    tcase_add_test(tc, tiktoken_small);
    tcase_add_loop_test(tc, tiktoken_stress_small, 0, 2);
    tcase_add_test(tc, hostile_json);
    tcase_add_test(tc, unknown_and_fallback);
    tcase_add_test(tc, bos_sources);
    suite_add_tcase(s, tc);
    return s;
}
