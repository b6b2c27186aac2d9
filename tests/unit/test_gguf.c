/* test_gguf.c — GGUF both ways: the reader against files written from ggml's spec by tests/make_gguf_fixtures.py
 * (tensors, dequantized values, logits equal to the .llq of the same weights), v2, every golden corrupt file
 * refused with its code and message; the writer: GGUF -> .llq -> GGUF keeps every tensor byte, q8/q4 of any
 * group export with the same values, q4a -> Q4_1 within its f16 bound, unexportable tensors refused by name;
 * with ../shared: llama.cpp's own GGUFs of pydoc-7m (F32 equals the fp32 .pth; Q8_0 round trip). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llq/convert.h"
#include "llq/format.h"
#include "llq/gguf.h"
#include "llq/hparams.h"
#include "llq/model.h"
#include "llq/quant.h"
#include "llq/tokenizer.h"
#include "../../format/gguf.h"

#define FX "tests/fixtures/gguf/"
#define SHARED "../shared/models/pydoc-7m/"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/llq_test_gguf.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static llq_file *open_ok(const char *path)
{
    llq_file *f = NULL;
    int rc = llq_open(&f, path);
    ck_assert_msg(rc == 0, "%s: %s", path, llq_errmsg());
    return f;
}

/* Every tensor of a has the same name, type, group, shape and bytes in b. */
static void same_tensors(const llq_file *a, const llq_file *b)
{
    ck_assert_uint_eq(llq_n_tensors(a), llq_n_tensors(b));
    for (size_t i = 0; i < llq_n_tensors(a); i++) {
        const llq_tensor *x = llq_tensor_at(a, i), *y = llq_tensor_find(b, x->name);
        ck_assert_msg(y != NULL, "%s missing", x->name);
        ck_assert_uint_eq(x->type, y->type);
        ck_assert_uint_eq(x->group, y->group);
        ck_assert_uint_eq(x->n_dims, y->n_dims);
        for (uint32_t d = 0; d < x->n_dims; d++)
            ck_assert_uint_eq(x->dims[d], y->dims[d]);
        ck_assert_uint_eq(x->size, y->size);
        ck_assert_msg(memcmp(x->data, y->data, x->size) == 0, "%s: bytes differ", x->name);
    }
}

static float *read_f32(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    float *v = malloc((size_t)sz);
    ck_assert_uint_eq(fread(v, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz / 4;
    return v;
}

START_TEST(f32_equals_llq)
{
    llq_file *g = open_ok(FX "tiny-f32.gguf"), *l = open_ok("tests/fixtures/eval/tiny.llq");
    ck_assert_str_eq(llq_file_format(g), "gguf");
    ck_assert_str_eq(llq_file_format(l), "llq");
    ck_assert_uint_eq(llq_file_version_minor(g), 3);
    same_tensors(l, g);
    llq_hparams hg, hl;
    ck_assert_int_eq(llq_hparams_read(&hg, g), 0);
    ck_assert_int_eq(llq_hparams_read(&hl, l), 0);
    ck_assert(memcmp(&hg, &hl, sizeof hg) == 0);
    /* the same logits, bit for bit */
    llq_model *mg, *ml;
    ck_assert_int_eq(llq_model_open(&mg, g, 1), 0);
    ck_assert_int_eq(llq_model_open(&ml, l, 1), 0);
    uint32_t tok[8] = {1, 5, 9, 200, 3, 77, 12, 255};
    size_t V = hl.vocab_size;
    float *a = malloc(8 * V * sizeof *a), *b = malloc(8 * V * sizeof *b);
    ck_assert_int_eq(llq_model_forward(mg, tok, 8, a), 0);
    ck_assert_int_eq(llq_model_forward(ml, tok, 8, b), 0);
    ck_assert(memcmp(a, b, 8 * V * sizeof *a) == 0);
    /* the metadata: provenance and every GGUF key under gguf.* */
    const char *s;
    uint64_t n;
    ck_assert_int_eq(llq_meta_get_str(g, "provenance.source_layout", &s, &n), 0);
    ck_assert(n == 4 && !memcmp(s, "gguf", 4));
    uint32_t ft;
    ck_assert_int_eq(llq_meta_get_u32(g, "gguf.general.file_type", &ft), 0);
    ck_assert_uint_eq(ft, 0);
    free(a), free(b);
    llq_model_free(mg), llq_model_free(ml);
    llq_close(g), llq_close(l);
}
END_TEST

START_TEST(v2_reads)
{
    llq_file *a = open_ok(FX "small.gguf"), *b = open_ok(FX "small-v2.gguf");
    ck_assert_uint_eq(llq_file_version_minor(b), 2);
    same_tensors(a, b);
    llq_close(a), llq_close(b);
}
END_TEST

/* tokenizer.ggml (model "llama") becomes a SentencePiece tokenizer: llama.cpp's flags (space prefix, byte fallback,
 * no whitespace collapsing), and decode(encode(x)) == x, bytes outside the vocabulary through the byte pieces. */
START_TEST(tokenizer_from_gguf)
{
    llq_file *f = open_ok(FX "small-tok.gguf");
    llq_tokenizer *t;
    ck_assert_msg(llq_tokenizer_from_llq(&t, f) == 0, "%s", llq_errmsg());
    ck_assert_uint_eq(llq_tokenizer_n_vocab(t), 265);
    ck_assert_int_eq(llq_tokenizer_bos(t), 1);
    ck_assert_int_eq(llq_tokenizer_eos(t), 2);
    ck_assert_int_eq(llq_tokenizer_unk(t), 0);
    const llq_tok_spec *sp = llq_tokenizer_spec(t);
    ck_assert(sp->add_dummy_prefix && sp->byte_fallback && !sp->remove_extra_whitespaces);
    static const char *texts[] = {"ab a b", "a  b   ab", "c\u00e9\n\tx", "ab"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        uint32_t *ids;
        size_t n, len;
        char *back;
        ck_assert_int_eq(llq_tokenize(t, texts[i], strlen(texts[i]), 1, &ids, &n), 0);
        ck_assert_uint_eq(ids[0], 1);
        ck_assert_int_eq(llq_detokenize(t, ids, n, &back, &len), 0);
        ck_assert_str_eq(back, texts[i]);
        free(ids), free(back);
    }
    uint32_t *ids;
    size_t n;
    ck_assert_int_eq(llq_tokenize(t, "ab", 2, 0, &ids, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], 263); /* "\u2581ab" */
    free(ids);
    llq_tokenizer_free(t);
    llq_close(f);
}
END_TEST

/* Q8_0 / Q4_0 are llq's block types of the same layout, and dequantize to exactly what ggml's rules give. */
static void check_quant(const char *gguf, const char *deq, uint32_t type)
{
    llq_file *f = open_ok(gguf);
    size_t n, k = 0;
    float *want = read_f32(deq, &n);
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        if (t->n_dims == 2)
            ck_assert_uint_eq(t->type, type);
        ck_assert_uint_eq(t->group, 0);
        float *row = malloc(t->row_len * sizeof *row);
        for (uint64_t r = 0; r < t->n_rows; r++, k += t->row_len) {
            ck_assert_uint_le(k + t->row_len, n);
            llq_row_to_f32(row, (const uint8_t *)t->data + r * t->row_bytes, t->type, t->group, t->row_len);
            ck_assert_msg(memcmp(row, want + k, t->row_len * sizeof *row) == 0, "%s row %llu", t->name,
                          (unsigned long long)r);
        }
        free(row);
    }
    ck_assert_uint_eq(k, n);
    free(want);
    llq_close(f);
}

START_TEST(q8_0_values) { check_quant(FX "tiny-q8_0.gguf", FX "tiny-q8_0.dequant.f32", LLQ_Q8_0); }
END_TEST
START_TEST(q4_0_values) { check_quant(FX "tiny-q4_0.gguf", FX "tiny-q4_0.dequant.f32", LLQ_Q4_0); }
END_TEST

static int code_of(const char *s)
{
    static const struct { const char *n; int c; } C[] = {
        {"EFORMAT", LLQ_EFORMAT}, {"EUNSUPPORTED", LLQ_EUNSUPPORTED}, {"EVERSION", LLQ_EVERSION},
        {"ELIMIT", LLQ_ELIMIT}};
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++)
        if (!strcmp(s, C[i].n))
            return C[i].c;
    ck_abort_msg("unknown code %s", s);
    return 0;
}

START_TEST(hostile_files)
{
    FILE *fp = fopen(FX "hostile.txt", "r");
    char line[512];
    int n = 0;
    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof line, fp)) {
        char file[128], code[32], path[256];
        int off;
        if (line[0] == '#' || sscanf(line, "%127s %31s %n", file, code, &off) < 2)
            continue;
        char *msg = line + off;
        msg[strcspn(msg, "\n")] = 0;
        snprintf(path, sizeof path, FX "%s", file);
        llq_file *f = NULL;
        int rc = llq_open(&f, path);
        ck_assert_msg(rc == code_of(code), "%s: rc %d, expected %s (%s)", file, rc, code, llq_errmsg());
        ck_assert_msg(strstr(llq_errmsg(), msg) != NULL, "%s: message '%s' lacks '%s'", file, llq_errmsg(), msg);
        ck_assert_msg(strstr(llq_errmsg(), file) != NULL, "%s: message does not name the file", file);
        ck_assert_ptr_null(f);
        n++;
    }
    fclose(fp);
    ck_assert_int_ge(n, 25);
}
END_TEST

/* src (.gguf) -> .llq -> .gguf: the second GGUF's view equals the first's tensor for tensor (the views are a
 * bijection of the bytes). */
static void round_trip(const char *src)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/x.llq", dir);
    snprintf(b, sizeof b, "%s/x.gguf", dir);
    llq_convert_opts o = {.src = src, .out = a, .dtype = LLQ_CONVERT_KEEP, .flags = LLQ_CONVERT_FORCE};
    llq_convert_report r;
    ck_assert_msg(llq_convert(&o, &r) == 0, "%s", llq_errmsg());
    ck_assert_int_eq(r.gguf, 0);
    o.src = a;
    o.out = b;
    ck_assert_msg(llq_convert(&o, &r) == 0, "%s", llq_errmsg());
    ck_assert_int_eq(r.gguf, 1);
    llq_file *x = open_ok(src), *y = open_ok(a), *z = open_ok(b);
    ck_assert_str_eq(llq_file_format(y), "llq");
    same_tensors(x, y);
    same_tensors(x, z);
    llq_close(x), llq_close(y), llq_close(z);
}

START_TEST(round_trips)
{
    round_trip(FX "tiny-f32.gguf");
    round_trip(FX "tiny-q8_0.gguf");
    round_trip(FX "tiny-q4_0.gguf");
}
END_TEST

/* A .llq with the tiny model's matrices quantized as type/group; returns its path in buf. */
static void make_quant(char *buf, size_t cap, uint32_t type, uint32_t group, uint64_t odd_cols)
{
    llq_file *f = open_ok("tests/fixtures/eval/tiny.llq");
    llq_writer *w;
    snprintf(buf, cap, "%s/q-%u-%u-%llu.llq", dir, type, group, (unsigned long long)odd_cols);
    ck_assert_int_eq(llq_writer_open(&w, buf, LLQ_W_FORCE), 0);
    for (size_t i = 0; i < llq_n_meta(f); i++)
        ck_assert_int_ge(llq_writer_meta_copy(w, llq_meta_at(f, i)), 0);
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        if (t->n_dims == 1) {
            ck_assert_int_eq(llq_writer_add(w, t->name, t->type, 1, t->dims, 0, t->data, t->size), 0);
            continue;
        }
        uint64_t rb, K = odd_cols && i == 2 ? odd_cols : t->row_len, dims[2] = {t->dims[0], K};
        ck_assert_int_eq(llq_row_bytes(&rb, type, group, K), 0);
        uint8_t *q = malloc(rb * t->n_rows);
        float *x = malloc(K * t->n_rows * sizeof *x);
        for (uint64_t r = 0; r < t->n_rows; r++)
            for (uint64_t k = 0; k < K; k++)
                x[r * K + k] = ((const float *)t->data)[r * t->row_len + k % t->row_len];
        ck_assert_int_eq(llq_quantize_tensor(q, x, t->n_rows, K, type, group, NULL, NULL), 0);
        ck_assert_int_eq(llq_writer_add(w, t->name, type, 2, dims, group, q, rb * t->n_rows), 0);
        free(q), free(x);
    }
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    llq_close(f);
}

/* Exports type/group, reopens the GGUF and compares every dequantized value with the .llq's. */
static void export_same_values(uint32_t type, uint32_t group)
{
    char src[128], out[128];
    make_quant(src, sizeof src, type, group, 0);
    snprintf(out, sizeof out, "%s/e.gguf", dir);
    llq_file *f = open_ok(src);
    llq_gguf_opts o = {.out = out, .flags = LLQ_W_FORCE};
    llq_gguf_report r;
    ck_assert_msg(llq_gguf_write(f, &o, &r) == 0, "%s", llq_errmsg());
    ck_assert_uint_eq(r.file_type, type == LLQ_Q8 ? 7 : 2);
    llq_file *g = open_ok(out);
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *a = llq_tensor_at(f, i), *b = llq_tensor_find(g, a->name);
        ck_assert_ptr_nonnull(b);
        float *x = malloc(a->row_len * 4), *y = malloc(a->row_len * 4);
        for (uint64_t rr = 0; rr < a->n_rows; rr++) {
            llq_row_to_f32(x, (const uint8_t *)a->data + rr * a->row_bytes, a->type, a->group, a->row_len);
            llq_row_to_f32(y, (const uint8_t *)b->data + rr * b->row_bytes, b->type, b->group, b->row_len);
            ck_assert_msg(memcmp(x, y, a->row_len * 4) == 0, "%s row %llu", a->name, (unsigned long long)rr);
        }
        free(x), free(y);
    }
    llq_close(f), llq_close(g);
}

START_TEST(export_q8_groups)
{
    export_same_values(LLQ_Q8, 32);
    export_same_values(LLQ_Q8, 64);
    export_same_values(LLQ_Q8, 0);
}
END_TEST

START_TEST(export_q4_groups)
{
    export_same_values(LLQ_Q4, 32);
    export_same_values(LLQ_Q4, 128);
}
END_TEST

START_TEST(export_q4a_q4_1)
{
    char src[128], out[128];
    make_quant(src, sizeof src, LLQ_Q4A, 32, 0);
    snprintf(out, sizeof out, "%s/a.gguf", dir);
    llq_file *f = open_ok(src);
    llq_gguf_opts o = {.out = out, .flags = LLQ_W_FORCE};
    llq_gguf_report r;
    ck_assert_msg(llq_gguf_write(f, &o, &r) == 0, "%s", llq_errmsg());
    ck_assert_uint_eq(r.file_type, 3);
    /* min = -z·d rounded to f16: at most half an f16 ulp of 15·d, i.e. 2^-11 of it */
    ck_assert(r.q4_1_max_dev > 0);
    ck_assert_msg(r.q4_1_max_rel <= 15.0 / 2048 + 1e-9, "relative deviation %g", r.q4_1_max_rel);
    ck_assert(r.q4_1_worst[0]);
    llq_close(f);
}
END_TEST

START_TEST(export_refuses_by_name)
{
    char src[128], out[128];
    make_quant(src, sizeof src, LLQ_Q8, 0, 80); /* layers.0.attention.wq with rows of 80: not a multiple of 32 */
    snprintf(out, sizeof out, "%s/r.gguf", dir);
    llq_file *f = open_ok(src);
    llq_gguf_opts o = {.out = out, .flags = LLQ_W_FORCE};
    ck_assert_int_eq(llq_gguf_write(f, &o, NULL), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "layers.0.attention.wq.weight"));
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "groups of 32")); /* what exports, in the library's terms */
    ck_assert_ptr_null(strstr(llq_errmsg(), "--"));
    ck_assert_int_ne(access(out, F_OK), 0); /* nothing left behind */
    llq_close(f);
}
END_TEST

/* ---- with ../shared: llama.cpp's own files ---- */


/* GPT-2's bytes-to-unicode spelling of "gpt2" vocabularies: every byte round-trips, printable bytes stand for
 * themselves, a space does not (U+0120), and strings that are no such spelling are refused. */
START_TEST(gpt2_byte_map)
{
    uint8_t in[256], back[256];
    char sp[512];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    size_t n = gguf_bytes_to_unicode(sp, in, 256);
    ck_assert_uint_eq(n, 94 + 2 * (94 + 68)); /* ASCII 1 byte; U+00A1..U+00FF and U+0100.. 2 bytes */
    ck_assert_int_eq(gguf_unicode_to_bytes(back, sp, n), 256);
    ck_assert_mem_eq(back, in, 256);
    /* GPT-2's construction: printable bytes first, then the others in byte order from U+0100 */
    int used[256] = {0}, next = 256;
    for (int c = '!'; c <= '~'; c++)
        used[c] = 1;
    for (int c = 0xA1; c <= 0xFF; c++)
        used[c] = c != 0xAD;
    for (int c = 0; c < 256; c++) {
        uint8_t one = (uint8_t)c;
        char o[4];
        size_t k = gguf_bytes_to_unicode(o, &one, 1);
        unsigned cp = k == 1 ? (uint8_t)o[0] : ((unsigned)(o[0] & 0x1F) << 6 | (o[1] & 0x3F));
        ck_assert_uint_eq(cp, used[c] ? (unsigned)c : (unsigned)next);
        next += !used[c];
    }
    ck_assert_int_eq(next, 256 + 68);
    uint8_t b = ' ';
    ck_assert_uint_eq(gguf_bytes_to_unicode(sp, &b, 1), 2);
    ck_assert_mem_eq(sp, "\xc4\xa0", 2); /* U+0120 "Ġ" */
    ck_assert_int_eq(gguf_unicode_to_bytes(back, "a b", 3), -1);          /* a raw space */
    ck_assert_int_eq(gguf_unicode_to_bytes(back, "\xc5\x84", 2), -1);     /* U+0144: past the 68 */
    ck_assert_int_eq(gguf_unicode_to_bytes(back, "\xe2\x96\x81", 3), -1); /* three-byte UTF-8 */
    ck_assert_int_eq(gguf_unicode_to_bytes(back, "\xc4", 1), -1);         /* cut */
}
END_TEST

/* tokenizer.ggml.pre: every row is found by its name and by its pre-tokenizer text, with trim_offsets either way
 * (it does not change tokens); a changed regex is none of them. */
START_TEST(pre_names)
{
    static const char *const names[] = {"llama-bpe", "qwen2", "smollm", "gpt-2"};
    for (size_t i = 0; i < 4; i++) {
        const gguf_pre *p = gguf_pre_by_name(names[i], strlen(names[i]));
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_eq(gguf_pre_identify(p->pre_tokenizer), p);
        char buf[2048];
        const char *bl = strstr(p->pre_tokenizer, "\"add_prefix_space\":false");
        ck_assert_ptr_nonnull(bl);
        size_t k = (size_t)(bl - p->pre_tokenizer) + strlen("\"add_prefix_space\":false");
        snprintf(buf, sizeof buf, "%.*s,\"trim_offsets\":%s%s", (int)k, p->pre_tokenizer, i % 2 ? "true" : "false",
                 p->pre_tokenizer + k);
        ck_assert_ptr_eq(gguf_pre_identify(buf), p);
    }
    const gguf_pre *l3 = gguf_pre_by_name("llama-bpe", 9);
    char odd[2048];
    snprintf(odd, sizeof odd, "%s", l3->pre_tokenizer);
    char *q = strstr(odd, "{1,3}");
    ck_assert_ptr_nonnull(q);
    q[3] = '4';
    ck_assert_ptr_null(gguf_pre_identify(odd));
    ck_assert_ptr_null(gguf_pre_by_name("llama3x", 7));
}
END_TEST

START_TEST(shared_f32_equals_pth)
{
    char out[128];
    llq_file *g = NULL;
    if (access(SHARED "gguf/pydoc-7m-F32.gguf", R_OK) || access(SHARED "meta/consolidated.fp32.pth", R_OK)) {
        fprintf(stderr, "test_gguf: ../shared absent, llama.cpp's GGUFs not checked\n");
        return;
    }
    /* the .pth in a directory of its own (consolidated.00.pth + params.json + tokenizer.model) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/m && ln -sf $(realpath " SHARED "meta/consolidated.fp32.pth) %s/m/consolidated.00.pth"
             " && ln -sf $(realpath " SHARED "meta/params.json) %s/m/ && ln -sf $(realpath " SHARED "meta/tokenizer.model) %s/m/",
             dir, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(out, sizeof out, "%s/m.llq", dir);
    snprintf(cmd, sizeof cmd, "%s/m", dir);
    llq_convert_opts o = {.src = cmd, .out = out, .dtype = LLQ_CONVERT_KEEP};
    ck_assert_msg(llq_convert(&o, NULL) == 0, "%s", llq_errmsg());
    llq_file *l = open_ok(out);
    g = open_ok(SHARED "gguf/pydoc-7m-F32.gguf");
    same_tensors(l, g);
    /* and the same tokenizer */
    llq_tokenizer *tg, *tl;
    ck_assert_int_eq(llq_tokenizer_from_llq(&tg, g), 0);
    ck_assert_int_eq(llq_tokenizer_from_llq(&tl, l), 0);
    const char *text = "def f(x):\n    return  x ** 2  # ünïcödé \t tab";
    uint32_t *a, *b;
    size_t na, nb;
    ck_assert_int_eq(llq_tokenize(tg, text, strlen(text), 1, &a, &na), 0);
    ck_assert_int_eq(llq_tokenize(tl, text, strlen(text), 1, &b, &nb), 0);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(a, b, na * sizeof *a) == 0);
    free(a), free(b);
    llq_tokenizer_free(tg), llq_tokenizer_free(tl);
    llq_close(l), llq_close(g);
}
END_TEST

START_TEST(shared_q8_0_round_trip)
{
    if (access(SHARED "gguf/pydoc-7m-Q8_0.gguf", R_OK)) {
        fprintf(stderr, "test_gguf: ../shared absent, llama.cpp's Q8_0 GGUF not checked\n");
        return;
    }
    round_trip(SHARED "gguf/pydoc-7m-Q8_0.gguf");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("gguf");
    TCase *t = tcase_create("gguf");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, f32_equals_llq);
    tcase_add_test(t, v2_reads);
    tcase_add_test(t, tokenizer_from_gguf);
    tcase_add_test(t, q8_0_values);
    tcase_add_test(t, q4_0_values);
    tcase_add_test(t, hostile_files);
    tcase_add_test(t, round_trips);
    tcase_add_test(t, export_q8_groups);
    tcase_add_test(t, export_q4_groups);
    tcase_add_test(t, export_q4a_q4_1);
    tcase_add_test(t, export_refuses_by_name);
    tcase_add_test(t, gpt2_byte_map);
    tcase_add_test(t, pre_names);
    tcase_add_test(t, shared_f32_equals_pth);
    tcase_add_test(t, shared_q8_0_round_trip);
    suite_add_tcase(s, t);
    return s;
}
