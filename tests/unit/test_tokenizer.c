/* test_tokenizer.c — encode/decode against python3-sentencepiece's references
 * (tests/make_tokenizer_refs.py -> tests/fixtures/tokenizer/): the whole pydoc-7m test split, tricky and
 * random strings and random id sequences for five models (pydoc-7m's, its vocabulary with the other
 * normaliser flags, three trained with other options incl. unused pieces), streaming decode, metadata
 * round trip through a .llq, bad arguments. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "llq/tokenizer.h"

#define FIX "tests/fixtures/tokenizer/"
#define PYDOC_MODEL "models/pydoc-7m/tokenizer.model"
#define PYDOC_TEXT "models/pydoc-7m/test.txt"

static size_t unhex(const char *hex, char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
        out[i] = (char)v;
    }
    return n;
}

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key %s", key);
    return v;
}

static llq_tokenizer *load(const char *path)
{
    llq_tokenizer *t = NULL;
    int rc = llq_spm_load(&t, path);
    ck_assert_msg(rc == 0, "%s: %s", path, llq_errmsg());
    return t;
}

/* tokenizer.model -> metadata of a fresh .llq -> llq_tokenizer_from_llq (the .llq alone). */
static llq_tokenizer *load_via_llq(const char *path)
{
    llq_tokenizer *t = load(path), *t2 = tu_tokenizer_via_llq(t);
    const llq_tok_spec *a = llq_tokenizer_spec(t), *b = llq_tokenizer_spec(t2);
    ck_assert_uint_eq(a->n_pieces, b->n_pieces);
    ck_assert_uint_eq(a->model_type, b->model_type);
    ck_assert(a->unk_id == b->unk_id && a->bos_id == b->bos_id && a->eos_id == b->eos_id && a->pad_id == b->pad_id);
    ck_assert(a->add_dummy_prefix == b->add_dummy_prefix && a->remove_extra_whitespaces == b->remove_extra_whitespaces &&
              a->escape_whitespaces == b->escape_whitespaces && a->byte_fallback == b->byte_fallback &&
              a->split_digits == b->split_digits && a->split_by_whitespace == b->split_by_whitespace);
    ck_assert_str_eq(a->normalizer, b->normalizer);
    ck_assert_str_eq(a->unk_surface, b->unk_surface);
    for (uint32_t i = 0; i < a->n_pieces; i++)
        ck_assert(a->piece_lens[i] == b->piece_lens[i] && memcmp(a->pieces[i], b->pieces[i], a->piece_lens[i]) == 0 &&
                  a->scores[i] == b->scores[i] && a->types[i] == b->types[i]);
    llq_tokenizer_free(t);
    return t2;
}

/* Every piece, score and type; the special ids. */
static void check_vocab(const llq_tokenizer *t, json_object *v)
{
    uint32_t n = (uint32_t)json_object_get_int(jget(v, "n_vocab"));
    ck_assert_uint_eq(llq_tokenizer_n_vocab(t), n);
    ck_assert_int_eq(llq_tokenizer_bos(t), json_object_get_int(jget(v, "bos_id")));
    ck_assert_int_eq(llq_tokenizer_eos(t), json_object_get_int(jget(v, "eos_id")));
    ck_assert_int_eq(llq_tokenizer_unk(t), json_object_get_int(jget(v, "unk_id")));
    ck_assert_int_eq(llq_tokenizer_pad(t), json_object_get_int(jget(v, "pad_id")));
    json_object *ps = jget(v, "pieces_hex"), *sc = jget(v, "scores"), *ty = jget(v, "types");
    const llq_tok_spec *s = llq_tokenizer_spec(t);
    char buf[1024];
    for (uint32_t i = 0; i < n; i++) {
        size_t len, elen = unhex(json_object_get_string(json_object_array_get_idx(ps, i)), buf);
        const char *p = llq_token_piece(t, i, &len);
        ck_assert_msg(len == elen && memcmp(p, buf, len) == 0, "piece %u differs", i);
        ck_assert_msg(s->scores[i] == (float)json_object_get_double(json_object_array_get_idx(sc, i)),
                      "score %u differs", i);
        ck_assert_int_eq(llq_token_type(t, i), json_object_get_int(json_object_array_get_idx(ty, i)));
    }
    size_t len;
    ck_assert_ptr_null(llq_token_piece(t, n, &len));
    ck_assert_int_eq(llq_token_type(t, n), 0);
}

static void check_ids(const uint32_t *got, size_t n, json_object *want, size_t skip, const char *what)
{
    size_t m = json_object_array_length(want);
    ck_assert_msg(n == m + skip, "%s: %zu ids, expected %zu", what, n, m + skip);
    for (size_t i = 0; i < m; i++)
        ck_assert_msg(got[skip + i] == (uint32_t)json_object_get_int64(json_object_array_get_idx(want, i)),
                      "%s: id %zu is %u, expected %lld", what, i, got[skip + i],
                      (long long)json_object_get_int64(json_object_array_get_idx(want, i)));
}

static void check_decode(const llq_tokenizer *t, const uint32_t *ids, size_t n, const char *want_hex,
                         const char *what)
{
    char *want = malloc(strlen(want_hex) / 2 + 1), *got;
    size_t wn = unhex(want_hex, want), gn;
    int rc = llq_detokenize(t, ids, n, &got, &gn);
    ck_assert_msg(rc == 0, "%s: %s", what, llq_errmsg());
    ck_assert_msg(gn == wn && memcmp(got, want, gn) == 0 && got[gn] == 0, "%s: decoded text differs (%zu vs %zu bytes)",
                  what, gn, wn);
    free(got);
    free(want);
}

/* All encode and decode references of one model. */
static void check_model(const char *model, const char *json, int via_llq)
{
    llq_tokenizer *t = via_llq ? load_via_llq(model) : load(model);
    json_object *ref = json_object_from_file(json);
    ck_assert_msg(ref != NULL, "cannot read %s", json);
    check_vocab(t, jget(ref, "vocab"));
    json_object *cases = jget(ref, "encode");
    size_t nc = json_object_array_length(cases);
    ck_assert(nc > 150);
    for (size_t c = 0; c < nc; c++) {
        json_object *e = json_object_array_get_idx(cases, c);
        const char *hex = json_object_get_string(jget(e, "text_hex"));
        char *text = malloc(strlen(hex) / 2 + 1);
        size_t len = unhex(hex, text), n;
        uint32_t *ids;
        char what[128];
        snprintf(what, sizeof what, "%s encode case %zu", json, c);
        for (int bos = 0; bos < 2; bos++) {
            ck_assert_int_eq(llq_tokenize(t, text, len, bos, &ids, &n), 0);
            size_t skip = bos && llq_tokenizer_bos(t) >= 0;
            if (skip)
                ck_assert_uint_eq(ids[0], (uint32_t)llq_tokenizer_bos(t));
            check_ids(ids, n, jget(e, "ids"), skip, what);
            check_decode(t, ids, n, json_object_get_string(jget(e, "decoded_hex")), what);
            free(ids);
        }
        free(text);
    }
    cases = jget(ref, "decode");
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *d = json_object_array_get_idx(cases, c), *ja = jget(d, "ids");
        size_t n = json_object_array_length(ja);
        uint32_t ids[64];
        ck_assert(n <= 64);
        for (size_t i = 0; i < n; i++)
            ids[i] = (uint32_t)json_object_get_int64(json_object_array_get_idx(ja, i));
        char what[128];
        snprintf(what, sizeof what, "%s decode case %zu", json, c);
        check_decode(t, ids, n, json_object_get_string(jget(d, "text_hex")), what);
    }
    json_object_put(ref);
    llq_tokenizer_free(t);
}

/* _i = 0: from tokenizer.model; 1: from the .llq metadata written from it */
START_TEST(refs_pydoc) { check_model(PYDOC_MODEL, FIX "pydoc.json", _i); }
END_TEST
START_TEST(refs_bpe_ws) { check_model(FIX "bpe_ws.model", FIX "bpe_ws.json", _i); }
END_TEST
START_TEST(refs_bpe_nodummy) { check_model(FIX "bpe_nodummy.model", FIX "bpe_nodummy.json", _i); }
END_TEST
START_TEST(refs_bpe_unused) { check_model(FIX "bpe_unused.model", FIX "bpe_unused.json", _i); }
END_TEST
START_TEST(refs_pydoc_noesc) { check_model(FIX "pydoc_noesc.model", FIX "pydoc_noesc.json", _i); }
END_TEST

static uint32_t *read_gz_ids(const char *path, size_t *n)
{
    gzFile g = gzopen(path, "rb");
    ck_assert_msg(g != NULL, "cannot open %s", path);
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    int k;
    while ((k = gzread(g, buf + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)k;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
        ck_assert(buf != NULL);
    }
    ck_assert_int_eq(k, 0);
    gzclose(g);
    ck_assert_uint_eq(len % 4, 0);
    *n = len / 4;
    uint32_t *ids = malloc(len);
    for (size_t i = 0; i < *n; i++)
        ids[i] = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 | (uint32_t)buf[4 * i + 2] << 16 |
                 (uint32_t)buf[4 * i + 3] << 24;
    free(buf);
    return ids;
}

/* The evaluation protocol: [BOS] + encode(whole test split), identical to the library; then decoding
 * (whole and streamed token by token) gives the text back byte for byte. */
START_TEST(full_test_split)
{
    llq_tokenizer *t = _i ? load_via_llq(PYDOC_MODEL) : load(PYDOC_MODEL);
    size_t len, n, n_want;
    char *text = tu_slurp(PYDOC_TEXT, &len);
    uint32_t *want = read_gz_ids(FIX "pydoc_test_ids.u32.gz", &n_want), *ids;
    ck_assert_int_eq(llq_tokenize(t, text, len, 1, &ids, &n), 0); /* speed: make bench (bench/tokenize.c) */
    ck_assert_uint_eq(n, n_want);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ids[i] == want[i], "token %zu: %u, expected %u", i, ids[i], want[i]);

    char *dec;
    size_t dn;
    ck_assert_int_eq(llq_detokenize(t, ids, n, &dec, &dn), 0);
    ck_assert(dn == len && memcmp(dec, text, len) == 0);
    free(dec);

    char *stream = malloc(len + 1), buf[LLQ_TOKEN_DECODE_MAX];
    size_t sn = 0;
    int32_t prev = -1;
    for (size_t i = 0; i < n; i++) {
        int k = llq_token_decode(t, prev, ids[i], buf, sizeof buf);
        ck_assert_int_ge(k, 0);
        ck_assert_uint_le(sn + (size_t)k, len);
        memcpy(stream + sn, buf, (size_t)k);
        sn += (size_t)k;
        prev = (int32_t)ids[i];
    }
    ck_assert(sn == len && memcmp(stream, text, len) == 0);
    free(stream);
    free(ids);
    free(want);
    free(text);
    llq_tokenizer_free(t);
}
END_TEST

START_TEST(stream_decode_rules)
{
    llq_tokenizer *t = load(PYDOC_MODEL);
    char buf[LLQ_TOKEN_DECODE_MAX];
    uint32_t a, h;
    size_t n;
    uint32_t *ids;
    ck_assert_int_eq(llq_tokenize(t, "a", 1, 0, &ids, &n), 0);
    ck_assert_uint_eq(n, 1);
    a = ids[0]; /* "\u2581a" */
    free(ids);
    ck_assert_int_eq(llq_token_decode(t, -1, a, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "a");
    ck_assert_int_eq(llq_token_decode(t, 1, a, buf, sizeof buf), 1); /* after BOS */
    ck_assert_int_eq(llq_token_decode(t, (int32_t)a, a, buf, sizeof buf), 2);
    ck_assert_str_eq(buf, " a");
    ck_assert_int_eq(llq_token_decode(t, -1, 1, buf, sizeof buf), 0); /* BOS is invisible */
    h = 3 + 0xF0;                                                      /* <0xF0>: the raw byte */
    ck_assert_int_eq(llq_token_decode(t, (int32_t)a, h, buf, sizeof buf), 1);
    ck_assert_uint_eq((unsigned char)buf[0], 0xF0);
    ck_assert_int_eq(llq_token_decode(t, -1, 0, buf, sizeof buf), 5); /* <unk> -> " \u2047 " */
    ck_assert_str_eq(buf, " \xe2\x81\x87 ");
    ck_assert_int_eq(llq_token_decode(t, -1, a, buf, 1), LLQ_EINVAL);
    ck_assert_int_eq(llq_token_decode(t, -1, 4096, buf, sizeof buf), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "4096"));
    char *out = (char *)1;
    size_t len = 7;
    uint32_t bad[2] = {5, 99999};
    ck_assert_int_eq(llq_detokenize(t, bad, 2, &out, &len), LLQ_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(llq_detokenize(t, bad, 0, &out, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(out, "");
    free(out);
    ck_assert_int_eq(llq_tokenize(t, NULL, 0, 1, &ids, &n), 0); /* empty text: just BOS */
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], 1);
    free(ids);
    llq_tokenizer_free(t);
}
END_TEST

/* Models llq does not implement are refused with a clear message, never tokenized differently. */
START_TEST(unsupported_models)
{
    llq_tokenizer *t = (llq_tokenizer *)1;
    ck_assert_int_eq(llq_spm_load(&t, FIX "nfkc.model"), LLQ_EUNSUPPORTED);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "nmt_nfkc"));
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "nfkc.model"));
    ck_assert_int_eq(llq_spm_load(&t, FIX "unigram.model"), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "unigram"));
    ck_assert_int_eq(llq_spm_load(&t, FIX "no-such.model"), LLQ_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "no-such.model"));
}
END_TEST

/* Writes a .llq whose tokenizer keys are those of pydoc's except one change (mode), and reads it back. */
static int from_bad_llq(int mode)
{
    llq_tokenizer *t = load(PYDOC_MODEL), *t2 = (llq_tokenizer *)1;
    const llq_tok_spec *s = llq_tokenizer_spec(t);
    char tmp[] = "/tmp/llq-tok-XXXXXX", file[64];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(file, sizeof file, "%s/t.llq", tmp);
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, file, 0), 0);
    if (mode == 1) { /* everything but the scores have one element fewer */
        ck_assert_int_eq(llq_writer_meta_str(w, "tokenizer.model", "sentencepiece", 13), 0);
        ck_assert_int_eq(llq_writer_meta_u32(w, "tokenizer.spm.model_type", 2), 0);
        ck_assert_int_eq(llq_writer_meta_arr_str(w, "tokenizer.pieces", s->pieces, s->piece_lens, s->n_pieces), 0);
        ck_assert_int_eq(llq_writer_meta_arr(w, "tokenizer.scores", LLQ_META_F32, s->scores, s->n_pieces - 1), 0);
    } else if (mode == 2) {
        ck_assert_int_eq(llq_writer_meta_str(w, "tokenizer.model", "tiktoken", 8), 0);
    } else if (mode == 3) { /* pieces only */
        ck_assert_int_eq(llq_writer_meta_str(w, "tokenizer.model", "sentencepiece", 13), 0);
        ck_assert_int_eq(llq_writer_meta_u32(w, "tokenizer.spm.model_type", 2), 0);
        ck_assert_int_eq(llq_writer_meta_arr_str(w, "tokenizer.pieces", s->pieces, s->piece_lens, s->n_pieces), 0);
    } else if (mode == 4) { /* a type out of range */
        int32_t *ty = malloc(s->n_pieces * sizeof *ty);
        memcpy(ty, s->types, s->n_pieces * sizeof *ty);
        ty[100] = 77;
        ck_assert_int_eq(llq_writer_meta_str(w, "tokenizer.model", "sentencepiece", 13), 0);
        ck_assert_int_eq(llq_writer_meta_u32(w, "tokenizer.spm.model_type", 2), 0);
        ck_assert_int_eq(llq_writer_meta_arr_str(w, "tokenizer.pieces", s->pieces, s->piece_lens, s->n_pieces), 0);
        ck_assert_int_eq(llq_writer_meta_arr(w, "tokenizer.scores", LLQ_META_F32, s->scores, s->n_pieces), 0);
        ck_assert_int_eq(llq_writer_meta_arr(w, "tokenizer.types", LLQ_META_I32, ty, s->n_pieces), 0);
        const char *k[] = {"unk_id", "bos_id", "eos_id", "pad_id"};
        for (int i = 0; i < 4; i++) {
            char key[64];
            snprintf(key, sizeof key, "tokenizer.%s", k[i]);
            ck_assert_int_eq(llq_writer_meta_i32(w, key, i == 3 ? -1 : i), 0);
        }
        const char *b[] = {"add_dummy_prefix", "remove_extra_whitespaces", "escape_whitespaces", "byte_fallback",
                           "split_digits", "split_by_whitespace"};
        for (int i = 0; i < 6; i++) {
            char key[64];
            snprintf(key, sizeof key, "tokenizer.%s", b[i]);
            ck_assert_int_eq(llq_writer_meta_bool(w, key, 1), 0);
        }
        ck_assert_int_eq(llq_writer_meta_str(w, "tokenizer.normalizer", "identity", 8), 0);
        free(ty);
    } else {
        ck_assert_int_eq(llq_writer_meta_str(w, "general.architecture", "llama", 5), 0);
    }
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    llq_file *f;
    ck_assert_int_eq(llq_open(&f, file), 0);
    int rc = llq_tokenizer_from_llq(&t2, f);
    ck_assert_ptr_null(t2);
    llq_close(f);
    remove(file);
    remove(tmp);
    llq_tokenizer_free(t);
    return rc;
}

START_TEST(meta_refused)
{
    ck_assert_int_eq(from_bad_llq(0), LLQ_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "no tokenizer"));
    ck_assert_int_eq(from_bad_llq(1), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "tokenizer.scores"));
    ck_assert_int_eq(from_bad_llq(2), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "tiktoken"));
    ck_assert_int_eq(from_bad_llq(3), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "missing"));
    ck_assert_int_eq(from_bad_llq(4), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "piece 100 has unknown type 77"));
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, refs_pydoc, 0, 2);
    tcase_add_loop_test(tc, refs_bpe_ws, 0, 2);
    tcase_add_loop_test(tc, refs_bpe_nodummy, 0, 2);
    tcase_add_loop_test(tc, refs_bpe_unused, 0, 2);
    tcase_add_loop_test(tc, refs_pydoc_noesc, 0, 2);
    tcase_add_loop_test(tc, full_test_split, 0, 2);
    tcase_add_test(tc, stream_decode_rules);
    tcase_add_test(tc, unsupported_models);
    tcase_add_test(tc, meta_refused);
    suite_add_tcase(s, tc);
    return s;
}
