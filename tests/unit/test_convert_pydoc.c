/* test_convert_pydoc.c — the trained pydoc-7m model converted by llq_convert equals what torch.load gives:
 * per-tensor CRC-32 of the canonical bytes and sampled values recorded by tests/make_convert_refs.py.
 * Always: the demo model in the repo (models/pydoc-7m, Meta bf16). With ../shared/models/pydoc-7m (or
 * $LLQ_SHARED): its Meta and Hugging Face layouts (safetensors bf16 = Meta bf16 bit for bit; pytorch_model.bin f16 =
 * the fp32 weights rounded to f16); skipped with a note when absent. */
#include "llq/convert.h"
#include "llq/format.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REFS "tests/fixtures/convert/pydoc-7m.refs"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/llq-test-pydoc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    static const char *const names[] = {"a.llq", "b.llq", "c.llq", "d.llq"};
    char p[128];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static const char *shared_dir(void)
{
    static const char *const cands[] = {"../shared/models/pydoc-7m", "/work/shared/models/pydoc-7m"};
    struct stat st;
    const char *e = getenv("LLQ_SHARED");
    if (e && e[0])
        return stat(e, &st) == 0 ? e : NULL;
    for (size_t i = 0; i < 2; i++)
        if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cands[i];
    return NULL;
}

static const char *out_path(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void convert(const char *src, const char *out, uint32_t dtype, llq_convert_report *rep)
{
    llq_convert_opts o = {0};
    o.src = src;
    o.out = out;
    o.dtype = dtype;
    o.flags = LLQ_CONVERT_NO_TOKENIZER | LLQ_CONVERT_FORCE;
    ck_assert_msg(llq_convert(&o, rep) == 0, "%s: %s", src, llq_errmsg());
}

static uint32_t f32_bits(const llq_tensor *t, uint64_t i)
{
    uint32_t u = 0;
    uint16_t h;
    float f;
    if (t->type == LLQ_F32) {
        memcpy(&u, (const uint8_t *)t->data + 4 * i, 4);
        return u;
    }
    memcpy(&h, (const uint8_t *)t->data + 2 * i, 2);
    f = t->type == LLQ_F16 ? llq_f16_to_f32(h) : llq_bf16_to_f32(h);
    memcpy(&u, &f, 4);
    return u;
}

/* Checks every tensor of path against the refs of variant; returns the number checked. */
static int check_refs(const char *path, const char *variant)
{
    FILE *fp = fopen(REFS, "r");
    llq_file *f = NULL;
    char line[1024];
    int n = 0;
    ck_assert_msg(fp != NULL, "%s missing (run tests/make_convert_refs.py)", REFS);
    ck_assert_msg(llq_open(&f, path) == 0, "%s", llq_errmsg());
    while (fgets(line, sizeof line, fp)) {
        char var[32], name[128], type[8], shape[64], *tok, *save;
        unsigned crc;
        int used;
        if (line[0] == '#' || sscanf(line, "%31s %127s %7s %63s %x%n", var, name, type, shape, &crc, &used) != 5 ||
            strcmp(var, variant) != 0)
            continue;
        const llq_tensor *t = llq_tensor_find(f, name);
        ck_assert_msg(t != NULL, "%s: no %s", path, name);
        ck_assert_msg(strcmp(llq_type_name(t->type), type) == 0, "%s: %s is %s, torch says %s", path, name,
                      llq_type_name(t->type), type);
        char got[64];
        if (t->n_dims == 1)
            snprintf(got, sizeof got, "%llu", (unsigned long long)t->dims[0]);
        else
            snprintf(got, sizeof got, "%llux%llu", (unsigned long long)t->dims[0], (unsigned long long)t->dims[1]);
        ck_assert_msg(strcmp(got, shape) == 0, "%s: %s shape %s, torch says %s", path, name, got, shape);
        ck_assert_msg(llq_crc32(0, t->data, t->size) == crc, "%s: %s bytes differ from torch's (crc %08x, want %08x)",
                      path, name, llq_crc32(0, t->data, t->size), crc);
        ck_assert_uint_eq(t->crc, crc);
        for (tok = strtok_r(line + used, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
            unsigned long long idx;
            unsigned bits;
            ck_assert_int_eq(sscanf(tok, "%llu:%x", &idx, &bits), 2);
            ck_assert(idx < t->n_elem);
            ck_assert_msg(f32_bits(t, idx) == bits, "%s: %s[%llu] = %08x, torch says %08x", path, name, idx,
                          f32_bits(t, idx), bits);
        }
        n++;
    }
    ck_assert_msg(n > 0 && (size_t)n == llq_n_tensors(f), "%s: %d refs for %zu tensors", path, n, llq_n_tensors(f));
    fclose(fp);
    llq_close(f);
    return n;
}

/* Same tensors (names, types, shapes, bytes) in the same order. */
static void same_tensors(const char *a, const char *b)
{
    llq_file *fa = NULL, *fb = NULL;
    ck_assert_int_eq(llq_open(&fa, a), 0);
    ck_assert_int_eq(llq_open(&fb, b), 0);
    ck_assert_uint_eq(llq_n_tensors(fa), llq_n_tensors(fb));
    for (size_t i = 0; i < llq_n_tensors(fa); i++) {
        const llq_tensor *x = llq_tensor_at(fa, i), *y = llq_tensor_at(fb, i);
        ck_assert_str_eq(x->name, y->name);
        ck_assert(x->type == y->type && x->n_dims == y->n_dims && x->size == y->size && x->crc == y->crc);
        ck_assert_msg(memcmp(x->data, y->data, x->size) == 0, "%s differs between %s and %s", x->name, a, b);
    }
    llq_close(fa);
    llq_close(fb);
}

START_TEST(repo_model)
{
    llq_convert_report rep;
    const char *a = out_path("a.llq");
    convert("models/pydoc-7m", a, LLQ_CONVERT_KEEP, &rep);
    ck_assert_str_eq(rep.layout, "meta");
    ck_assert_str_eq(rep.src_format, "torch-zip");
    ck_assert_str_eq(rep.src_dtype, "bf16");
    ck_assert_uint_eq(rep.n_tensors, 57);
    ck_assert_int_eq(check_refs(a, "meta-bf16"), 57);
    llq_file *f = NULL;
    const char *s;
    uint64_t len;
    llq_hparams hp;
    ck_assert_int_eq(llq_open(&f, a), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert(hp.dim == 256 && hp.n_layers == 6 && hp.n_heads == 8 && hp.n_kv_heads == 4 && hp.ffn_dim == 768 &&
              hp.vocab_size == 4096 && hp.norm_eps == 1e-5f && hp.rope_theta == 10000.0f);
    ck_assert_int_eq(llq_hparams_check_tensors(&hp, f), 0);
    ck_assert_int_eq(llq_meta_get_str(f, "provenance.source_layout", &s, &len), 0);
    ck_assert(len == 4 && memcmp(s, "meta", 4) == 0);
    ck_assert_int_eq(llq_meta_get_str(f, "provenance.source_dtype", &s, &len), 0);
    ck_assert(len == 4 && memcmp(s, "bf16", 4) == 0);
    ck_assert_int_eq(llq_meta_get_str(f, "general.name", &s, &len), 0);
    ck_assert(len == 8 && memcmp(s, "pydoc-7m", 8) == 0);
    const llq_meta *m = llq_meta_find(f, "provenance.source_files");
    ck_assert(m && m->type == LLQ_META_ARR);
    int found = 0;
    for (uint64_t i = 0; i < m->count; i++) {
        ck_assert_int_eq(llq_meta_arr_str(m, i, &s, &len), 0);
        found |= len == 19 && memcmp(s, "consolidated.00.pth", 19) == 0;
    }
    ck_assert(found);
    llq_close(f);
}
END_TEST

START_TEST(shared_model)
{
    const char *sh = shared_dir();
    char src[512];
    if (!sh) {
        printf("note: ../shared/models/pydoc-7m absent: shared pydoc-7m conversions skipped\n");
        return;
    }
    const char *a = out_path("a.llq"), *b = out_path("b.llq"), *c = out_path("c.llq"), *d = out_path("d.llq");
    llq_convert_report rep;
    snprintf(src, sizeof src, "%s/meta/consolidated.00.pth", sh);
    convert(src, a, LLQ_CONVERT_KEEP, &rep);
    check_refs(a, "meta-bf16");
    snprintf(src, sizeof src, "%s/hf", sh); /* model.safetensors is preferred over pytorch_model.bin */
    convert(src, b, LLQ_CONVERT_KEEP, &rep);
    ck_assert_str_eq(rep.layout, "hf");
    ck_assert_str_eq(rep.src_format, "safetensors");
    check_refs(b, "hf-safetensors");
    same_tensors(a, b); /* Meta and HF layouts: bit-identical canonical tensors */
    snprintf(src, sizeof src, "%s/hf/pytorch_model.bin", sh);
    convert(src, c, LLQ_CONVERT_KEEP, &rep);
    ck_assert_str_eq(rep.src_dtype, "f16");
    check_refs(c, "hf-bin");
    snprintf(src, sizeof src, "%s/meta/consolidated.fp32.pth", sh);
    convert(src, d, LLQ_CONVERT_KEEP, &rep);
    ck_assert_str_eq(rep.src_dtype, "f32");
    check_refs(d, "meta-fp32");
    /* fp32 weights rounded to f16 by llq-convert = the f16 checkpoint torch wrote */
    convert(src, a, LLQ_F16, &rep);
    snprintf(src, sizeof src, "%s/hf/pytorch_model.bin", sh);
    convert(src, b, LLQ_F16, &rep);
    same_tensors(a, b);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("convert_pydoc");
    TCase *tc = tcase_create("pydoc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, repo_model);
    tcase_add_test(tc, shared_model);
    suite_add_tcase(s, tc);
    return s;
}
