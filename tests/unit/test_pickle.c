/* test_pickle.c — the symbolic pickle machine: opcodes, memo sharing, allow-list, caps, hostile pickles. */
#include "ckpt_fixtures.h"

#include "../../ckpt/pickle.h"
#include "../../ckpt/zip.h"

static int run(const void *b, size_t n, pk_ctx **c, pk_val **root)
{
    size_t used;
    int err = pk_parse(c, root, b, n, &used);
    if (!err)
        ck_assert_uint_eq(used, n);
    return err;
}

static int run_file(const char *rel)
{
    size_t n;
    char path[256];
    snprintf(path, sizeof path, FIX "%s", rel);
    unsigned char *b = slurp(path, &n);
    ck_assert_ptr_nonnull(b);
    pk_ctx *c;
    pk_val *r;
    int err = run(b, n, &c, &r);
    pk_free(c);
    free(b);
    return err;
}

#define S(lit) (const unsigned char *)(lit), sizeof(lit) - 1

START_TEST(protocol2_values)
{
    /* {'a': 5, 'b': (-2, 70000, 1.5), 'c': [None, True, False, -1 (LONG1), 'xy' (BINSTRING)], 'd': 'a'} */
    static const unsigned char p[] =
        "\x80\x02}q\x00(X\x01\x00\x00\x00" "aK\x05X\x01\x00\x00\x00" "bJ\xfe\xff\xff\xffJp\x11\x01\x00"
        "G\x3f\xf8\x00\x00\x00\x00\x00\x00\x87X\x01\x00\x00\x00" "c]q\x01(N\x88\x89\x8a\x01\xffT\x02\x00\x00\x00xye"
        "X\x01\x00\x00\x00" "dh\x00u.";
    pk_ctx *c;
    pk_val *r;
    ck_assert_int_eq(run(p, sizeof p - 1, &c, &r), 0);
    ck_assert_int_eq(r->kind, PK_DICT);
    ck_assert_uint_eq(r->n, 8);
    pk_val *a = pk_dict_get(r, "a"), *b = pk_dict_get(r, "b"), *l = pk_dict_get(r, "c");
    ck_assert_int_eq(a->kind, PK_INT);
    ck_assert_int_eq(a->i, 5);
    ck_assert_int_eq(b->kind, PK_TUPLE);
    ck_assert_uint_eq(b->n, 3);
    ck_assert_int_eq(b->items[0]->i, -2);
    ck_assert_int_eq(b->items[1]->i, 70000);
    ck_assert(b->items[2]->kind == PK_FLOAT && b->items[2]->f == 1.5);
    ck_assert_int_eq(l->kind, PK_LIST);
    ck_assert_uint_eq(l->n, 5);
    ck_assert_int_eq(l->items[0]->kind, PK_NONE);
    ck_assert(l->items[1]->kind == PK_BOOL && l->items[1]->i == 1);
    ck_assert(l->items[2]->kind == PK_BOOL && l->items[2]->i == 0);
    ck_assert_int_eq(l->items[3]->i, -1);
    ck_assert_str_eq(l->items[4]->s, "xy");
    ck_assert_ptr_eq(pk_dict_get(r, "d"), r); /* BINGET returns the memoised object itself (a cycle) */
    ck_assert_ptr_null(pk_dict_get(r, "zz"));
    pk_free(c);
}
END_TEST

START_TEST(protocol4_opcodes)
{
    /* FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL(collections OrderedDict), EMPTY_TUPLE, REDUCE,
     * SHORT_BINBYTES, BINUNICODE8, EMPTY_SET + ADDITEMS, FROZENSET, LONG_BINGET, BUILD on the dict */
    static const unsigned char p[] =
        "\x80\x04\x95\x50\x00\x00\x00\x00\x00\x00\x00"
        "\x8c\x0b" "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94"
        "\x8c\x01k\x94" "C\x03\x01\x02\x03s"
        "\x8d\x02\x00\x00\x00\x00\x00\x00\x00k2\x8f(K\x01K\x02\x90s"
        "\x8c\x02k3(K\x07\x91s"
        "\x8c\x02k4j\x01\x00\x00\x00s"
        "}b.";
    pk_ctx *c;
    pk_val *r;
    int err = run(p, sizeof p - 1, &c, &r);
    ck_assert_msg(err == 0, "%s", llq_errmsg());
    ck_assert_int_eq(r->kind, PK_DICT);
    pk_val *k = pk_dict_get(r, "k"), *k2 = pk_dict_get(r, "k2"), *k3 = pk_dict_get(r, "k3"), *k4 = pk_dict_get(r, "k4");
    ck_assert(k->kind == PK_BYTES && k->len == 3 && k->s[2] == 3);
    ck_assert(k2->kind == PK_SET && k2->n == 2);
    ck_assert(k3->kind == PK_SET && k3->n == 1 && k3->items[0]->i == 7);
    ck_assert(k4->kind == PK_STR && strcmp(k4->s, "OrderedDict") == 0); /* memo 1 via MEMOIZE */
    pk_free(c);
}
END_TEST

START_TEST(torch_globals_allowed)
{
    static const unsigned char p[] = "\x80\x02(ctorch\nFloatStorage\nctorch._utils\n_rebuild_tensor_v2\n"
                                     "ctorch\nbfloat16\nctorch.nn.parameter\nParameter\nl.";
    pk_ctx *c;
    pk_val *r;
    ck_assert_int_eq(run(p, sizeof p - 1, &c, &r), 0);
    ck_assert_uint_eq(r->n, 4);
    ck_assert(r->items[0]->kind == PK_GLOBAL && r->items[0]->global == PKG_STORAGE && r->items[0]->dtype == LLQ_SRC_F32);
    ck_assert_int_eq(r->items[1]->global, PKG_REBUILD_TENSOR_V2);
    ck_assert(r->items[2]->global == PKG_DTYPE && r->items[2]->dtype == LLQ_SRC_BF16);
    ck_assert_int_eq(r->items[3]->global, PKG_TENSOR_CLASS);
    ck_assert_str_eq(r->items[1]->s, "torch._utils _rebuild_tensor_v2");
    pk_free(c);
}
END_TEST

static void expect(const char *rel, int code, const char *what)
{
    int err = run_file(rel);
    ck_assert_msg(err == code, "%s: got %d (%s)", rel, err, llq_errmsg());
    ck_assert_msg(strstr(llq_errmsg(), what) != NULL, "%s: '%s' lacks '%s'", rel, llq_errmsg(), what);
}

START_TEST(malicious_files)
{
    expect("bad/evil_system.pkl", LLQ_EUNSAFE, "pickle GLOBAL 'posix system' is not allowed");
    expect("bad/evil_eval.pkl", LLQ_EUNSAFE, "__builtin__ eval'");
    expect("bad/evil_exec.pkl", LLQ_EUNSAFE, "__builtin__ exec'");
    expect("bad/evil_subprocess.pkl", LLQ_EUNSAFE, "check_call'");
    expect("bad/evil_stack_global.pkl", LLQ_EUNSAFE, "'posix system'");
    expect("bad/memo_bomb.pkl", LLQ_ELIMIT, "memo index");
    expect("bad/long_absurd.pkl", LLQ_ELIMIT, "does not fit 64 bits");
    expect("bad/truncated.pkl", LLQ_EFORMAT, "truncated");
}
END_TEST

START_TEST(caps_and_malformed)
{
    pk_ctx *c;
    pk_val *r;
    size_t n = 300000;
    unsigned char *b = malloc(n + 1);
    memset(b, '(', n); /* nested MARKs */
    ck_assert_int_eq(run(b, n, &c, &r), LLQ_ELIMIT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "MARK"));
    pk_free(c);
    memset(b, 'N', n); /* a deep stack */
    ck_assert_int_eq(run(b, n, &c, &r), LLQ_ELIMIT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "stack"));
    pk_free(c);
    free(b);
    ck_assert_int_eq(run(S("\x80\x02X\xff\xff\xff\x7f" "abc."), &c, &r), LLQ_ELIMIT); /* 2 GB string */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02X\x10\x00\x00\x00" "abc."), &c, &r), LLQ_EFORMAT); /* past the end */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02I12\n."), &c, &r), LLQ_EUNSUPPORTED); /* text INT */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x06N."), &c, &r), LLQ_EUNSUPPORTED); /* protocol 6 */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02."), &c, &r), LLQ_EFORMAT); /* STOP on an empty stack */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02h\x05."), &c, &r), LLQ_EFORMAT); /* BINGET of nothing */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02NNa."), &c, &r), LLQ_EFORMAT); /* APPEND to a non-list */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02Nt."), &c, &r), LLQ_EFORMAT); /* TUPLE without MARK */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02X\x01\x00\x00\x00x)R."), &c, &r), LLQ_EFORMAT); /* call of a string */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02N"), &c, &r), LLQ_EFORMAT); /* no STOP */
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02\x8a\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01."), &c, &r), LLQ_ELIMIT);
    pk_free(c);
    ck_assert_int_eq(run(S("cos\nsystem"), &c, &r), LLQ_EFORMAT); /* truncated GLOBAL */
    pk_free(c);
    ck_assert_int_eq(run(S("cos\nsystem\n."), &c, &r), LLQ_EUNSAFE);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "'os system'"));
    pk_free(c);
    ck_assert_int_eq(run(S("cbuiltins\n__import__\n."), &c, &r), LLQ_EUNSAFE);
    pk_free(c);
    ck_assert_int_eq(run(S("ctorch\nload\n."), &c, &r), LLQ_EUNSAFE); /* torch, but not a listed symbol */
    pk_free(c);
}
END_TEST

/* Every prefix of a real torch data.pkl fails cleanly; the whole one parses. */
START_TEST(truncations_of_real_pickle)
{
    size_t n;
    unsigned char *z = slurp(FIX "misc/views.pth", &n);
    zip_archive za;
    ck_assert_int_eq(zip_open(&za, z, n), 0);
    const zip_entry *e = zip_find(&za, "views/data.pkl");
    const void *p;
    void *o;
    ck_assert_int_eq(zip_read(&za, e, 1, &p, &o), 0);
    pk_ctx *c;
    pk_val *r;
    ck_assert_int_eq(run(p, e->usize, &c, &r), 0);
    pk_free(c);
    for (size_t k = 0; k < e->usize; k++) {
        unsigned char *t = malloc(k ? k : 1);
        memcpy(t, p, k);
        size_t used;
        ck_assert_int_ne(pk_parse(&c, &r, t, k, &used), 0);
        pk_free(c);
        free(t);
    }
    zip_close(&za);
    free(z);
}
END_TEST

/* OrderedDict([('a', 1), ('b', 2)]) as written by pickle protocol 0-1 style reducers */
START_TEST(ordered_dict_from_pairs)
{
    static const unsigned char p[] = "\x80\x02" "ccollections\nOrderedDict\n((X\x01\x00\x00\x00" "aK\x01t"
                                     "(X\x01\x00\x00\x00" "bK\x02tl\x85R.";
    pk_ctx *c;
    pk_val *r;
    int err = run(p, sizeof p - 1, &c, &r);
    ck_assert_msg(err == 0, "%s", llq_errmsg());
    ck_assert_int_eq(r->kind, PK_DICT);
    ck_assert_int_eq(pk_dict_get(r, "b")->i, 2);
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02" "ccollections\nOrderedDict\n(K\x01l\x85R."), &c, &r), LLQ_EFORMAT);
    pk_free(c);
    ck_assert_int_eq(run(S("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R."), &c, &r), LLQ_EUNSUPPORTED);
    pk_free(c);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("pickle");
    TCase *tc = tcase_create("pickle");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, protocol2_values);
    tcase_add_test(tc, protocol4_opcodes);
    tcase_add_test(tc, torch_globals_allowed);
    tcase_add_test(tc, malicious_files);
    tcase_add_test(tc, caps_and_malformed);
    tcase_add_test(tc, truncations_of_real_pickle);
    tcase_add_test(tc, ordered_dict_from_pairs);
    suite_add_tcase(s, tc);
    return s;
}
