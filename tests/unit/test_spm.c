/* test_spm.c — the tokenizer.model protobuf reader: hand-built models field by field, every malformed
 * shape refused with the right code, truncations and random corruptions of a real model never crash. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "llq/tokenizer.h"

typedef struct {
    uint8_t b[4096];
    size_t n;
} pbuf;

static void put_varint(pbuf *p, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        p->b[p->n++] = c | (v ? 0x80 : 0);
    } while (v);
}
static void put_key(pbuf *p, uint32_t field, uint32_t wire) { put_varint(p, (uint64_t)field << 3 | wire); }
static void put_bytes(pbuf *p, uint32_t field, const void *s, size_t n)
{
    put_key(p, field, 2);
    put_varint(p, n);
    memcpy(p->b + p->n, s, n);
    p->n += n;
}
static void put_msg(pbuf *p, uint32_t field, const pbuf *m) { put_bytes(p, field, m->b, m->n); }
static void put_int(pbuf *p, uint32_t field, int64_t v)
{
    put_key(p, field, 0);
    put_varint(p, (uint64_t)v);
}
static void put_piece(pbuf *p, const char *s, float score, int type)
{
    pbuf m = {.n = 0};
    put_bytes(&m, 1, s, strlen(s));
    put_key(&m, 2, 5);
    memcpy(m.b + m.n, &score, 4);
    m.n += 4;
    if (type != 1)
        put_int(&m, 3, type);
    put_msg(p, 1, &m);
}

/* Options for the hand-built model. */
typedef struct {
    int model_type, no_unk, dup, byte_piece, byte_fallback, charsmap, suffix, long_piece, bad_type;
    int64_t bos, pad;
    const char *bos_piece;
} opts;

static pbuf build(opts o)
{
    pbuf p = {.n = 0}, ts = {.n = 0}, ns = {.n = 0};
    put_piece(&p, "<unk>", 0, o.no_unk ? 1 : 2);
    put_piece(&p, "<s>", 0, 3);
    put_piece(&p, "</s>", 0, 3);
    put_piece(&p, "a", -1, 1);
    put_piece(&p, "b", -2, o.bad_type ? 9 : 1);
    put_piece(&p, "ab", -0.5f, 1);
    put_piece(&p, "\xe2\x96\x81", -3, 1);
    if (o.dup)
        put_piece(&p, "a", -4, 1);
    if (o.byte_piece)
        put_piece(&p, o.byte_piece == 1 ? "<0x41>" : "<0xZZ>", 0, 6);
    if (o.long_piece) {
        char big[301];
        memset(big, 'x', 300);
        big[300] = 0;
        put_piece(&p, big, -9, 1);
    }
    if (o.model_type)
        put_int(&ts, 3, o.model_type);
    put_int(&ts, 41, o.bos);
    put_int(&ts, 43, o.pad); /* -1 travels as a 10-byte varint */
    put_int(&ts, 40, o.no_unk == 2 ? 3 : 0);
    if (o.bos_piece)
        put_bytes(&ts, 46, o.bos_piece, strlen(o.bos_piece));
    if (o.byte_fallback)
        put_int(&ts, 35, 1);
    if (o.suffix)
        put_int(&ts, 24, 1);
    put_bytes(&ts, 1000, "skipped", 7); /* unknown fields of every wire type are skipped */
    put_key(&ts, 1001, 1);
    memset(ts.b + ts.n, 0, 8);
    ts.n += 8;
    put_key(&ts, 1002, 5);
    memset(ts.b + ts.n, 0, 4);
    ts.n += 4;
    put_int(&ts, 1003, 12345);
    put_msg(&p, 2, &ts);
    put_bytes(&ns, 1, o.charsmap ? "nmt_nfkc" : "identity", 8);
    if (o.charsmap)
        put_bytes(&ns, 2, "\x01\x02\x03", 3);
    put_int(&ns, 3, 0); /* add_dummy_prefix = false */
    put_msg(&p, 3, &ns);
    return p;
}

static opts ok_opts(void) { return (opts){.model_type = LLQ_SPM_BPE, .bos = 1, .pad = -1}; }

static int parse(const pbuf *p)
{
    llq_tokenizer *t = (llq_tokenizer *)1;
    int rc = llq_spm_parse(&t, p->b, p->n, "hand.model");
    if (rc)
        ck_assert_ptr_null(t);
    llq_tokenizer_free(t);
    return rc;
}

START_TEST(hand_built_model)
{
    pbuf p = build(ok_opts());
    llq_tokenizer *t;
    ck_assert_int_eq(llq_spm_parse(&t, p.b, p.n, "hand.model"), 0);
    ck_assert_uint_eq(llq_tokenizer_n_vocab(t), 7);
    ck_assert_int_eq(llq_tokenizer_bos(t), 1);
    ck_assert_int_eq(llq_tokenizer_eos(t), 2); /* default */
    ck_assert_int_eq(llq_tokenizer_unk(t), 0);
    ck_assert_int_eq(llq_tokenizer_pad(t), -1);
    const llq_tok_spec *s = llq_tokenizer_spec(t);
    ck_assert_int_eq(s->add_dummy_prefix, 0);
    ck_assert_int_eq(s->remove_extra_whitespaces, 1); /* defaults */
    ck_assert_int_eq(s->escape_whitespaces, 1);
    ck_assert_int_eq(s->split_by_whitespace, 1);
    ck_assert_int_eq(s->byte_fallback, 0);
    ck_assert(s->scores[5] == -0.5f && s->types[1] == LLQ_PIECE_CONTROL && s->types[0] == LLQ_PIECE_UNKNOWN);
    ck_assert_str_eq(s->normalizer, "identity");
    ck_assert_str_eq(s->unk_surface, " \xe2\x81\x87 ");
    /* "abba c": remove_extra_whitespaces collapses, no dummy prefix; 'c' is unknown (no byte fallback) */
    uint32_t *ids;
    size_t n;
    ck_assert_int_eq(llq_tokenize(t, "  abba   cc ", 12, 1, &ids, &n), 0);
    uint32_t want[] = {1, 5, 4, 3, 6, 0};
    ck_assert_uint_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(ids[i], want[i]);
    free(ids);
    llq_tokenizer_free(t);

    /* as sentencepiece's bos_id(): the control piece named bos_piece, whatever bos_id says */
    opts o = ok_opts();
    o.pad = 4;
    o.bos = -1;
    p = build(o);
    ck_assert_int_eq(llq_spm_parse(&t, p.b, p.n, "hand.model"), 0);
    ck_assert_int_eq(llq_tokenizer_pad(t), -1); /* no control piece "<pad>" */
    ck_assert_int_eq(llq_tokenizer_bos(t), 1);
    llq_tokenizer_free(t);
    o.bos_piece = "a"; /* not a control piece: no BOS */
    p = build(o);
    ck_assert_int_eq(llq_spm_parse(&t, p.b, p.n, "hand.model"), 0);
    ck_assert_int_eq(llq_tokenizer_bos(t), -1);
    ck_assert_int_eq(llq_tokenize(t, "a", 1, 1, &ids, &n), 0); /* no BOS piece: none added */
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], 3);
    free(ids);
    llq_tokenizer_free(t);
    o.bos_piece = "</s>";
    p = build(o);
    ck_assert_int_eq(llq_spm_parse(&t, p.b, p.n, "hand.model"), 0);
    ck_assert_int_eq(llq_tokenizer_bos(t), 2);
    llq_tokenizer_free(t);
}
END_TEST

START_TEST(refused_models)
{
    opts o = ok_opts();
    o.model_type = 0; /* default: unigram */
    pbuf p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "unigram"));
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "hand.model"));
    o = ok_opts(), o.charsmap = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "nmt_nfkc"));
    o = ok_opts(), o.suffix = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EUNSUPPORTED);
    o = ok_opts(), o.no_unk = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EFORMAT);
    o = ok_opts(), o.dup = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "same string"));
    o = ok_opts(), o.byte_piece = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EFORMAT); /* byte piece without byte_fallback */
    o.byte_fallback = 1, p = build(o);
    ck_assert_int_eq(parse(&p), 0);
    o.byte_piece = 2, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EFORMAT); /* <0xZZ> */
    o = ok_opts(), o.long_piece = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_ELIMIT);
    o = ok_opts(), o.bad_type = 1, p = build(o);
    ck_assert_int_eq(parse(&p), LLQ_EFORMAT);
    o = ok_opts(), o.no_unk = 2, p = build(o); /* unk_id 3 is not the unknown piece */
    ck_assert_int_eq(parse(&p), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "unk_id"));
}
END_TEST

START_TEST(malformed_wire)
{
    llq_tokenizer *t;
    ck_assert_int_eq(llq_spm_parse(&t, "", 0, "empty.model"), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "no pieces"));
    static const struct {
        const char *b;
        size_t n;
    } bad[] = {
        {"\x0a\x80", 2},                                              /* truncated length varint */
        {"\x0a\x05<unk", 6},                                          /* length past the end */
        {"\x0b\x00", 2},                                              /* wire type 3 (group) */
        {"\x08\x01", 2},                                              /* pieces as a varint */
        {"\x0a\x02\x08\x01", 4},                                      /* piece string as a varint */
        {"\x0a\x03\x15\x00\x00", 5},                                  /* truncated fixed32 score */
        {"\x00\x00", 2},                                              /* field number 0 */
        {"\x0a\x01\x80", 3},                                          /* truncated key inside a piece */
        {"\xf8\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11},         /* 11-byte varint */
        {"\x12\x02\x18\x80", 4},                                      /* truncated model_type in TrainerSpec */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = (llq_tokenizer *)1;
        ck_assert_msg(llq_spm_parse(&t, bad[i].b, bad[i].n, "bad.model") == LLQ_EFORMAT, "case %zu: %s", i,
                      llq_errmsg());
        ck_assert_ptr_null(t);
    }
}
END_TEST

static void try_parse(const uint8_t *b, size_t n)
{
    llq_tokenizer *t = NULL;
    int rc = llq_spm_parse(&t, b, n, "fuzz.model");
    ck_assert_msg(rc == 0 || rc == LLQ_EFORMAT || rc == LLQ_EUNSUPPORTED || rc == LLQ_ELIMIT, "rc %d", rc);
    if (rc == 0) { /* whatever parsed must tokenize and decode without trouble */
        uint32_t *ids;
        size_t k, len;
        char *text;
        ck_assert_int_eq(llq_tokenize(t, "Hello  wor\xffld\n\xf0\x9f\x98\x80 42", 21, 1, &ids, &k), 0);
        ck_assert_int_eq(llq_detokenize(t, ids, k, &text, &len), 0);
        free(text);
        free(ids);
    }
    llq_tokenizer_free(t);
}

START_TEST(truncations_and_corruptions)
{
    size_t n;
    uint8_t *model = tu_slurp("tests/fixtures/tokenizer/bpe_ws.model", &n);
    for (size_t k = 0; k < n; k += 1 + k / 512)
        try_parse(model, k);
    uint8_t *b = malloc(n);
    uint32_t s = 12345;
    for (int it = 0; it < 1500; it++) {
        memcpy(b, model, n);
        for (int j = 0; j < 1 + it % 4; j++) {
            s = s * 1103515245u + 12345u;
            size_t pos = (s >> 8) % n;
            s = s * 1103515245u + 12345u;
            b[pos] = (uint8_t)(s >> 16);
        }
        try_parse(b, n);
    }
    free(b);
    free(model);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("spm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hand_built_model);
    tcase_add_test(tc, refused_models);
    tcase_add_test(tc, malformed_wire);
    tcase_add_test(tc, truncations_and_corruptions);
    suite_add_tcase(s, tc);
    return s;
}
