/* test_src.c — llq_src dispatch: detection, errors, API edges, and the pydoc-7m checkpoints (if present). */
#include "ckpt_fixtures.h"

#include <sys/stat.h>

START_TEST(detection_and_errors)
{
    llq_src *s = NULL;
    ck_assert_int_eq(llq_src_open(&s, FIX "no-such-file.pth"), LLQ_ENOTFOUND);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "no-such-file.pth"));
    ck_assert_int_eq(llq_src_open(&s, FIX "meta-1"), LLQ_EIO); /* a directory */
    expect_bad("bad/not_a_checkpoint.bin", LLQ_EFORMAT, "not a PyTorch");
    expect_bad("meta-1/params.json", LLQ_EFORMAT, "not a PyTorch");
    ck_assert_int_eq(llq_src_open(&s, FIX "meta-1/consolidated.00.pth"), 0);
    ck_assert_str_eq(llq_src_format(s), "torch-zip");
    const void *p;
    ck_assert_int_eq(llq_src_data(s, llq_src_count(s), &p), LLQ_EINVAL);
    ck_assert_ptr_null(llq_src_find(s, "nope"));
    llq_src_release(s, 12345); /* ignored */
    llq_src_close(s);
    llq_src_close(NULL);
    ck_assert_str_eq(llq_src_dtype_name(LLQ_SRC_BF16), "bf16");
    ck_assert_uint_eq(llq_src_dtype_size(LLQ_SRC_F64), 8);
    ck_assert_str_eq(llq_src_dtype_name(99), "?");
}
END_TEST

/* Meta rope.freqs kept by the reader (the converter drops it); the canonical reference matches meta-1 bytes
 * after the cast (every value is exact in bf16). */
START_TEST(meta_vs_canonical)
{
    llq_src *s;
    ck_assert_int_eq(llq_src_open(&s, FIX "meta-1/consolidated.00.pth"), 0);
    ck_assert_ptr_nonnull(llq_src_find(s, "rope.freqs"));
    ck_assert_uint_eq(llq_src_count(s), 22);
    llq_src *f;
    ck_assert_int_eq(llq_src_open(&f, FIX "meta-legacy/consolidated.00.pth"), 0); /* f32, same weights */
    for (size_t i = 0; i < llq_src_count(f); i++) {
        const llq_src_tensor *tf = llq_src_at(f, i), *tb = llq_src_find(s, tf->name);
        ck_assert_ptr_nonnull(tb);
        const void *pf, *pb;
        ck_assert_int_eq(llq_src_data(f, i, &pf), 0);
        ck_assert_int_eq(llq_src_data(s, (size_t)(tb - llq_src_at(s, 0)), &pb), 0);
        for (uint64_t k = 0; k < tf->n_elem; k++)
            ck_assert(((const float *)pf)[k] == llq_bf16_to_f32(((const uint16_t *)pb)[k]));
    }
    llq_src_close(f);
    llq_src_close(s);
}
END_TEST

/* ../shared/models/pydoc-7m (CI; ../../shared from a worktree under wt/), or skip. */
static char SHARED[256];
static int have_shared(void)
{
    static const char *roots[] = {"../shared/models/pydoc-7m/", "../../shared/models/pydoc-7m/"};
    struct stat sb;
    for (int i = 0; i < 2; i++) {
        snprintf(SHARED, sizeof SHARED, "%smeta/consolidated.00.pth", roots[i]);
        if (stat(SHARED, &sb) == 0) {
            snprintf(SHARED, sizeof SHARED, "%s", roots[i]);
            return 1;
        }
    }
    fprintf(stderr, "note: ../shared/models/pydoc-7m absent, pydoc-7m source checks skipped\n");
    return 0;
}

static const char *sh(const char *rel)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s%s", SHARED, rel);
    return buf[k];
}

static void expect_shape(const llq_src *s, const char *name, uint32_t dtype, uint64_t d0, uint64_t d1)
{
    const llq_src_tensor *t = llq_src_find(s, name);
    ck_assert_msg(t != NULL, "%s: missing %s", llq_src_path(s), name);
    ck_assert_uint_eq(t->dtype, dtype);
    ck_assert_uint_eq(t->n_dims, d1 ? 2 : 1);
    ck_assert_uint_eq(t->dims[0], d0);
    if (d1)
        ck_assert_uint_eq(t->dims[1], d1);
}

/* pydoc-7m: dim 256, 6 layers, 8 heads, 4 kv heads, ffn 768, vocab 4096. */
START_TEST(pydoc7m_layouts)
{
    if (!have_shared())
        return;
    llq_src *m, *hb, *hs;
    ck_assert_int_eq(llq_src_open(&m, sh("meta/consolidated.00.pth")), 0);
    ck_assert_int_eq(llq_src_open(&hb, sh("hf/pytorch_model.bin")), 0);
    ck_assert_int_eq(llq_src_open(&hs, sh("hf/model.safetensors")), 0);
    ck_assert_uint_eq(llq_src_count(m), 57);
    ck_assert_uint_eq(llq_src_count(hb), 57);
    ck_assert_uint_eq(llq_src_count(hs), 57);
    uint32_t dt = llq_src_at(m, 0)->dtype;
    expect_shape(m, "tok_embeddings.weight", dt, 4096, 256);
    expect_shape(m, "output.weight", dt, 4096, 256);
    expect_shape(m, "norm.weight", dt, 256, 0);
    uint32_t dh = llq_src_at(hs, 0)->dtype;
    expect_shape(hs, "model.embed_tokens.weight", dh, 4096, 256);
    expect_shape(hs, "lm_head.weight", dh, 4096, 256);
    for (int l = 0; l < 6; l++) {
        char n[128];
#define M(suffix, a, b)                                                                                         \
    snprintf(n, sizeof n, "layers.%d." suffix, l);                                                             \
    expect_shape(m, n, dt, a, b)
        M("attention.wq.weight", 256, 256);
        M("attention.wk.weight", 128, 256);
        M("attention.wv.weight", 128, 256);
        M("attention.wo.weight", 256, 256);
        M("feed_forward.w1.weight", 768, 256);
        M("feed_forward.w2.weight", 256, 768);
        M("feed_forward.w3.weight", 768, 256);
        M("attention_norm.weight", 256, 0);
        M("ffn_norm.weight", 256, 0);
#undef M
        static const char *hn[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                   "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj"};
        static const uint64_t hd[][2] = {{256, 256}, {128, 256}, {128, 256}, {256, 256}, {768, 256}, {256, 768}, {768, 256}};
        for (int k = 0; k < 7; k++) {
            snprintf(n, sizeof n, "model.layers.%d.%s.weight", l, hn[k]);
            expect_shape(hs, n, dh, hd[k][0], hd[k][1]);
            const llq_src_tensor *tb = llq_src_find(hb, n);
            ck_assert_ptr_nonnull(tb);
            ck_assert_uint_eq(tb->dims[0], hd[k][0]);
            ck_assert_uint_eq(tb->dims[1], hd[k][1]);
        }
    }
    /* Same model: the Meta and HF embeddings hold the same bits when the dtypes agree. */
    const llq_src_tensor *a = llq_src_find(m, "tok_embeddings.weight"), *b = llq_src_find(hs, "model.embed_tokens.weight");
    if (a->dtype == b->dtype) {
        const void *pa, *pb;
        ck_assert_int_eq(llq_src_data(m, (size_t)(a - llq_src_at(m, 0)), &pa), 0);
        ck_assert_int_eq(llq_src_data(hs, (size_t)(b - llq_src_at(hs, 0)), &pb), 0);
        ck_assert_int_eq(memcmp(pa, pb, a->nbytes), 0);
    }
    /* Every tensor of every file readable. */
    llq_src *all[] = {m, hb, hs};
    for (int f = 0; f < 3; f++) {
        for (size_t i = 0; i < llq_src_count(all[f]); i++) {
            const void *p;
            int err = llq_src_data(all[f], i, &p);
            ck_assert_msg(err == 0, "%s", llq_errmsg());
            llq_src_release(all[f], i);
        }
        llq_src_close(all[f]);
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("src");
    TCase *tc = tcase_create("src");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, detection_and_errors);
    tcase_add_test(tc, meta_vs_canonical);
    tcase_add_test(tc, pydoc7m_layouts);
    suite_add_tcase(s, tc);
    return s;
}
