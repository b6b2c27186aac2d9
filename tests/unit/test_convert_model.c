/* test_convert_model.c — llq_convert end to end on a small random LLaMA written here in every layout (Meta 1/2/3
 * shards, Hugging Face single / sharded + index, tied embeddings; f32 / bf16 / f64 sources): every layout must give
 * the same canonical tensors, equal to the weights the test made; broken checkpoints fail with one clear message
 * and leave no output. The checkpoints are safetensors bytes (st_write.h) under the layouts' file names: the
 * readers detect the container from the bytes, and this keeps the test independent of any Python fixture. */
#include "../../convert/layout.h"
#include "llq/convert.h"
#include "llq/format.h"
#include "st_write.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dim 16, 2 layers, 4 heads / 2 kv heads (head size 4), ffn from the formula: int(2*4*16/3) = 42 -> 48, vocab 40 */
static const llq_hparams HP = {.arch = "llama", .dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                               .ffn_dim = 48, .vocab_size = 40, .norm_eps = 1e-5f, .rope_theta = 1e4f};
#define N_SLOTS (3 + 9 * 2)

static float *W[N_SLOTS]; /* canonical f32 weights */
static char root[64];

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5) * 0.25f;
}

/* The test's slots: 0 embedding, 1 + 9L + k the k-th tensor of layer L (a LLaMA has no biases), then norm and
 * output; arch_slot gives the slot of the architecture table (include/llq/hparams.h). */
static uint32_t arch_slot(uint32_t s)
{
    static const enum llq_lt k9[9] = {LLQ_LT_ATTN_NORM, LLQ_LT_WQ, LLQ_LT_WK, LLQ_LT_WV, LLQ_LT_WO,
                                      LLQ_LT_FFN_NORM, LLQ_LT_W1, LLQ_LT_W2, LLQ_LT_W3};
    uint32_t n = llq_arch_n_slots(HP.n_layers);
    if (s == 0)
        return 0;
    if (s >= N_SLOTS - 2)
        return n - (N_SLOTS - s);
    return 1 + LLQ_LT_COUNT * ((s - 1) / 9) + k9[(s - 1) % 9];
}

static uint64_t slot_n(uint32_t s, uint64_t d[2], uint32_t *nd)
{
    uint32_t layer;
    llq_arch_shape(llq_arch_slot(arch_slot(s), HP.n_layers, &layer), &HP, nd, d);
    return *nd == 2 ? d[0] * d[1] : d[0];
}

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/llq-test-convert-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    for (uint32_t s = 0; s < N_SLOTS; s++) {
        uint64_t d[2];
        uint32_t nd;
        uint64_t n = slot_n(s, d, &nd);
        W[s] = malloc(n * 4);
        for (uint64_t i = 0; i < n; i++)
            W[s][i] = rnd();
    }
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char p[512];
    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_rf(p);
    }
    closedir(d);
    rmdir(path);
}

static void teardown(void)
{
    rm_rf(root);
    for (uint32_t s = 0; s < N_SLOTS; s++)
        free(W[s]);
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s/%s", root, dir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *mkdir_model(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, dir);
    mkdir(p, 0755);
    return path_in(dir, "");
}

/* Element data of canonical values v[0..n) in dtype ("F32", "BF16", "F64"); caller frees. */
static void *encode(const float *v, uint64_t n, const char *dtype)
{
    uint8_t *b = malloc(n * 8);
    for (uint64_t i = 0; i < n; i++) {
        if (!strcmp(dtype, "F32")) {
            memcpy(b + 4 * i, &v[i], 4);
        } else if (!strcmp(dtype, "BF16")) {
            uint16_t h = llq_f32_to_bf16(v[i]);
            memcpy(b + 2 * i, &h, 2);
        } else {
            double d = (double)v[i] + (double)v[i] * 1e-9; /* not representable in f32 */
            memcpy(b + 8 * i, &d, 8);
        }
    }
    return b;
}

enum { OK = 0, BAD_SHAPE = 1, BAD_NORM = 2, NO_TENSOR = 4, TIED = 8, DUP = 16, NO_W3 = 32, BIG = 64, TIED_LM = 128 };

/* Meta layout, n shards; corrupt per flags (in the last shard). */
static void write_meta(const char *dir, int n, const char *dtype, int flags)
{
    mkdir_model(dir);
    write_text(path_in(dir, "params.json"), "{\"dim\": 16, \"n_layers\": 2, \"n_heads\": 4, \"n_kv_heads\": 2, "
                                            "\"vocab_size\": -1, \"multiple_of\": 16, \"norm_eps\": 1e-05}");
    for (int k = 0; k < n; k++) {
        st_tensor t[N_SLOTS + 1];
        char names[N_SLOTS][CONV_NAME_MAX];
        void *data[N_SLOTS + 1] = {0};
        size_t nt = 0;
        float freqs[2] = {1.0f, 0.01f};
        t[nt++] = (st_tensor){"rope.freqs", "F32", 1, {2, 0}, freqs};
        for (uint32_t s = 0; s < N_SLOTS; s++) {
            uint64_t d[2];
            uint32_t nd, slot;
            int split;
            uint64_t total = slot_n(s, d, &nd);
            llq_arch_slot_name(names[s], CONV_NAME_MAX, arch_slot(s), HP.n_layers);
            conv_meta_name(&slot, &split, names[s], &HP);
            if (k == n - 1 && n > 1 && (flags & NO_TENSOR) && s == 7)
                continue;
            float *part = malloc(total * 4);
            uint64_t rows = nd == 2 ? d[0] : 1, cols = nd == 2 ? d[1] : d[0], pr = rows, pc = cols;
            if (nd == 2 && split == 0)
                pr = rows / (uint64_t)n;
            if (nd == 2 && split == 1)
                pc = cols / (uint64_t)n;
            for (uint64_t r = 0; r < pr; r++)
                for (uint64_t c = 0; c < pc; c++)
                    part[r * pc + c] = W[s][(split == 0 ? k * pr + r : r) * cols + (split == 1 ? k * pc + c : c)];
            if (k == n - 1 && (flags & BAD_NORM) && s == 15) /* layers.1.ffn_norm */
                part[3] += 1.0f;
            if (k == n - 1 && (flags & BAD_SHAPE) && s == 2) /* layers.0.attention.wq: 2 rows short */
                pr -= 2;
            data[nt] = encode(part, pr * pc, dtype);
            free(part);
            t[nt] = (st_tensor){names[s], dtype, (int)nd, {nd == 2 ? pr : pc, nd == 2 ? pc : 0}, data[nt]};
            nt++;
        }
        char fname[64];
        snprintf(fname, sizeof fname, "consolidated.%02d.pth", k);
        ck_assert_int_eq(st_write(path_in(dir, fname), t, nt, NULL, NULL), 0);
        for (size_t i = 0; i < nt; i++)
            free(data[i]);
    }
}

/* Hugging Face layout: q/k rows permuted exactly as transformers does; n files (+ index when n > 1). */
static void write_hf(const char *dir, int n, const char *dtype, int flags)
{
    mkdir_model(dir);
    write_text(path_in(dir, "config.json"),
               flags & (TIED | TIED_LM) ? "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": "
                              "16, \"intermediate_size\": 48, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                              "\"num_key_value_heads\": 2, \"vocab_size\": 40, \"rms_norm_eps\": 1e-05, "
                              "\"tie_word_embeddings\": true}"
                            : "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": "
                              "16, \"intermediate_size\": 48, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                              "\"num_key_value_heads\": 2, \"vocab_size\": 40, \"rms_norm_eps\": 1e-05}");
    char names[N_SLOTS][CONV_NAME_MAX + 16], index[8192];
    size_t ilen = (size_t)snprintf(index, sizeof index, "{\"metadata\": {}, \"weight_map\": {");
    for (int k = 0; k < n; k++) {
        st_tensor t[N_SLOTS];
        void *data[N_SLOTS] = {0};
        size_t nt = 0;
        char fname[64];
        if (n == 1)
            snprintf(fname, sizeof fname, "model.safetensors");
        else
            snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", k + 1, n);
        for (uint32_t s = 0; s < N_SLOTS; s++) {
            if ((int)(s % (uint32_t)n) != k && !((flags & DUP) && s == 4))
                continue;
            if (((flags & TIED) && s == N_SLOTS - 1) || ((flags & NO_W3) && s == 18))
                continue;
            uint64_t d[2];
            uint32_t nd;
            uint64_t total = slot_n(s, d, &nd);
            float *v = malloc(total * 4);
            uint32_t heads = s % 9 == 2 ? HP.n_heads : s % 9 == 3 ? HP.n_kv_heads : 0; /* wq, wk */
            if (s == 0 || s >= N_SLOTS - 2)
                heads = 0;
            if (heads) { /* transformers: w.view(h, d1/h/2, 2, d2).transpose(1, 2).reshape(d1, d2) */
                uint64_t half = d[0] / heads / 2;
                for (uint64_t h = 0; h < heads; h++)
                    for (uint64_t j = 0; j < 2; j++)
                        for (uint64_t i = 0; i < half; i++)
                            memcpy(v + ((h * 2 + j) * half + i) * d[1], W[s] + ((h * half + i) * 2 + j) * d[1],
                                   d[1] * 4);
            } else {
                memcpy(v, W[s], total * 4);
            }
            if ((flags & BIG) && s == 5) /* layers.0.attention.wo: one value beyond f16 */
                v[7] = 70000.0f;
            conv_slot_hf_name(names[s], arch_slot(s), HP.n_layers);
            data[nt] = encode(v, total, dtype);
            free(v);
            t[nt] = (st_tensor){names[s], dtype, (int)nd, {d[0], nd == 2 ? d[1] : 0}, data[nt]};
            nt++;
            ilen += (size_t)snprintf(index + ilen, sizeof index - ilen, "%s\"%s\": \"%s\"",
                                     index[ilen - 1] == '{' ? "" : ", ", names[s], fname);
        }
        ck_assert_int_eq(st_write(path_in(dir, fname), t, nt, NULL, NULL), 0);
        for (size_t i = 0; i < nt; i++)
            free(data[i]);
    }
    snprintf(index + ilen, sizeof index - ilen, "}}");
    if (n > 1)
        write_text(path_in(dir, "model.safetensors.index.json"), index);
}

static int convert(const char *src, const char *out, uint32_t dtype, unsigned flags)
{
    llq_convert_opts o = {0};
    o.src = src;
    o.out = out;
    o.dtype = dtype;
    o.flags = flags | LLQ_CONVERT_NO_TOKENIZER;
    return llq_convert(&o, NULL);
}

/* Every tensor of out equals the canonical weights, as the type conversion rules say. */
static void check_llq(const char *out, const char *src_dtype, uint32_t dtype)
{
    llq_file *f = NULL;
    ck_assert_msg(llq_open(&f, out) == 0, "%s", llq_errmsg());
    ck_assert_uint_eq(llq_n_tensors(f), N_SLOTS);
    llq_hparams hp;
    ck_assert_msg(llq_hparams_read(&hp, f) == 0, "%s", llq_errmsg());
    ck_assert(hp.dim == 16 && hp.n_layers == 2 && hp.n_heads == 4 && hp.n_kv_heads == 2 && hp.ffn_dim == 48 &&
              hp.vocab_size == 40);
    for (uint32_t s = 0; s < N_SLOTS; s++) {
        char name[CONV_NAME_MAX];
        uint64_t d[2];
        uint32_t nd;
        uint64_t n = slot_n(s, d, &nd);
        llq_arch_slot_name(name, sizeof name, arch_slot(s), HP.n_layers);
        const llq_tensor *t = llq_tensor_at(f, s);
        ck_assert_str_eq(t->name, name);
        ck_assert_uint_eq(t->n_dims, nd);
        ck_assert(t->dims[0] == d[0] && (nd == 1 || t->dims[1] == d[1]));
        ck_assert_int_eq(llq_verify_tensor(f, t), 0);
        uint32_t src = !strcmp(src_dtype, "F32") ? LLQ_SRC_F32 : !strcmp(src_dtype, "BF16") ? LLQ_SRC_BF16 : LLQ_SRC_F64;
        uint32_t want_type = conv_out_type(dtype, src, nd);
        ck_assert_uint_eq(t->type, want_type);
        void *srcb = encode(W[s], n, src_dtype);
        uint8_t *want = malloc(n * 4);
        conv_elems(want, want_type, srcb, src, n);
        ck_assert_msg(memcmp(t->data, want, n * conv_type_size(want_type)) == 0, "%s: %s differs", out, name);
        if (src == LLQ_SRC_F32 && want_type == LLQ_F32)
            ck_assert(memcmp(t->data, W[s], n * 4) == 0);
        free(want);
        free(srcb);
    }
    llq_close(f);
}

static void ok_case(const char *src, const char *src_dtype, uint32_t dtype)
{
    char *out = path_in("", "out.llq");
    unlink(out);
    ck_assert_msg(convert(src, out, dtype, 0) == 0, "%s: %s", src, llq_errmsg());
    check_llq(out, src_dtype, dtype);
    unlink(out);
}

START_TEST(all_layouts_agree)
{
    write_meta("meta1", 1, "F32", OK);
    write_meta("meta2", 2, "F32", OK);
    write_hf("hf1", 1, "F32", OK);
    write_hf("hf3", 3, "F32", OK);
    ok_case(path_in("meta1", ""), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("meta2", ""), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("hf1", ""), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("hf3", ""), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("hf3", "model.safetensors.index.json"), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("meta1", "consolidated.00.pth"), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("hf1", "model.safetensors"), "F32", LLQ_CONVERT_KEEP);
    ok_case(path_in("meta2", ""), "F32", LLQ_F16);
    ok_case(path_in("hf3", ""), "F32", LLQ_BF16);
}
END_TEST

START_TEST(dtypes)
{
    write_meta("meta2b", 2, "BF16", OK);
    write_hf("hf1b", 1, "BF16", OK);
    write_meta("meta4d", 4, "F64", OK);
    write_hf("hf2d", 2, "F64", OK);
    ok_case(path_in("meta2b", ""), "BF16", LLQ_CONVERT_KEEP);
    ok_case(path_in("hf1b", ""), "BF16", LLQ_CONVERT_KEEP);
    ok_case(path_in("hf1b", ""), "BF16", LLQ_F32);
    ok_case(path_in("hf1b", ""), "BF16", LLQ_F16);
    ok_case(path_in("meta4d", ""), "F64", LLQ_CONVERT_KEEP);
    ok_case(path_in("meta4d", ""), "F64", LLQ_F16);
    ok_case(path_in("hf2d", ""), "F64", LLQ_BF16);
}
END_TEST

START_TEST(tied_embeddings)
{
    write_hf("tied", 1, "F32", TIED);
    char *out = path_in("", "tied.llq");
    ck_assert_msg(convert(path_in("tied", ""), out, LLQ_CONVERT_KEEP, 0) == 0, "%s", llq_errmsg());
    llq_file *f = NULL;
    ck_assert_int_eq(llq_open(&f, out), 0);
    /* the matrix is stored once: no output.weight, llama.tied_embeddings says the embedding is the head */
    const llq_tensor *e = llq_tensor_find(f, "tok_embeddings.weight"), *o = llq_tensor_find(f, "output.weight");
    ck_assert(e && !o);
    ck_assert_uint_eq(llq_n_tensors(f), N_SLOTS - 1);
    llq_hparams hp;
    ck_assert_msg(llq_hparams_read(&hp, f) == 0, "%s", llq_errmsg());
    ck_assert_uint_eq(hp.tied, 1);
    ck_assert_int_eq(llq_hparams_check_tensors(&hp, f), 0);
    llq_close(f);
}
END_TEST

/* Fails, the message contains want, and nothing is left at the output path. */
static void fail_case(const char *src, const char *want)
{
    char *out = path_in("", "bad.llq");
    int err = convert(src, out, LLQ_CONVERT_KEEP, 0);
    ck_assert_msg(err < 0, "%s converted", src);
    ck_assert_msg(strstr(llq_errmsg(), want) != NULL, "message '%s' lacks '%s'", llq_errmsg(), want);
    ck_assert_msg(strchr(llq_errmsg(), '\n') == NULL, "multi-line message");
    ck_assert_int_ne(access(out, F_OK), 0);
    DIR *d = opendir(root); /* no temp file left either */
    struct dirent *e;
    while ((e = readdir(d)))
        ck_assert_msg(strncmp(e->d_name, "bad.llq", 7) != 0, "left %s", e->d_name);
    closedir(d);
}

START_TEST(bad_checkpoints)
{
    write_meta("shape", 2, "F32", BAD_SHAPE);
    fail_case(path_in("shape", ""), "consolidated.01.pth: shard 1 has layers.0.attention.wq.weight of shape [6,16] "
                                    "f32, expected [8,16] f32");
    write_meta("norm", 2, "F32", BAD_NORM);
    fail_case(path_in("norm", ""), "consolidated.01.pth: shard 1 has layers.1.ffn_norm.weight different from shard 0");
    write_meta("notensor", 2, "F32", NO_TENSOR);
    fail_case(path_in("notensor", ""), "consolidated.01.pth: shard 1 has no tensor layers.0.feed_forward.w1.weight");
    write_meta("gap", 3, "F32", OK);
    unlink(path_in("gap", "consolidated.01.pth"));
    fail_case(path_in("gap", ""), "gap/consolidated.01.pth: missing shard");
    write_meta("last", 2, "F32", OK);
    unlink(path_in("last", "consolidated.01.pth"));
    fail_case(path_in("last", ""), "tok_embeddings.weight has shape [40,8], expected [40,16] (from params.json)");
    unlink(path_in("last", "params.json"));
    fail_case(path_in("last", ""), "needs consolidated.NN.pth and params.json (params.json missing)");
    write_hf("now3", 1, "F32", NO_W3);
    fail_case(path_in("now3", ""), "missing tensor layers.1.feed_forward.w3.weight (model.layers.1.mlp.up_proj.weight)");
    write_hf("dup", 2, "F32", DUP);
    fail_case(path_in("dup", ""), "appears twice");
    write_hf("lost", 3, "F32", OK);
    unlink(path_in("lost", "model-00002-of-00003.safetensors"));
    fail_case(path_in("lost", ""), "lost/model-00002-of-00003.safetensors: missing shard (listed in "
                                   "model.safetensors.index.json)");
    write_hf("arch", 1, "F32", OK);
    write_text(path_in("arch", "config.json"), "{\"architectures\": [\"Qwen3ForCausalLM\"], \"model_type\": "
                                               "\"qwen3\", \"hidden_size\": 16}");
    fail_case(path_in("arch", ""), "arch/config.json: unsupported architecture Qwen3ForCausalLM (model_type qwen3) "
                                   "(supported: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)");
    mkdir_model("empty");
    write_text(path_in("empty", "README"), "nothing here");
    fail_case(path_in("empty", ""), "empty: no LLaMA checkpoint found");
    fail_case(path_in("nonexistent", ""), "nonexistent");
    fail_case(path_in("empty", "README"), "README: no params.json or config.json beside it");
}
END_TEST

/* A value beyond the output type's range is refused (naming tensor and value), never turned into Inf. */
/* tie_word_embeddings with an lm_head of its own: dropped as Hugging Face does, and the report says so */
START_TEST(tied_with_lm_head)
{
    write_hf("tiedlm", 1, "F32", TIED_LM);
    char out[512];
    snprintf(out, sizeof out, "%s", path_in("", "tiedlm.llq"));
    llq_convert_opts o = {.src = path_in("tiedlm", ""), .out = out, .dtype = LLQ_CONVERT_KEEP,
                          .flags = LLQ_CONVERT_NO_TOKENIZER};
    llq_convert_report rep;
    ck_assert_msg(llq_convert(&o, &rep) == 0, "%s", llq_errmsg());
    ck_assert_int_eq(rep.tied_lm_head, 1);
    llq_file *f = NULL;
    ck_assert_int_eq(llq_open(&f, out), 0);
    /* Hugging Face ties lm_head to the embeddings whatever the checkpoint's lm_head holds: it is dropped */
    ck_assert_ptr_null(llq_tensor_find(f, "output.weight"));
    ck_assert_ptr_nonnull(llq_tensor_find(f, "tok_embeddings.weight"));
    llq_close(f);
    unlink(out);
    write_hf("tied2", 1, "F32", TIED);
    o.src = path_in("tied2", "");
    ck_assert_msg(llq_convert(&o, &rep) == 0, "%s", llq_errmsg());
    ck_assert_int_eq(rep.tied_lm_head, 0);
    unlink(out);
}
END_TEST

START_TEST(narrowing_overflow)
{
    write_hf("big", 1, "F32", BIG);
    write_hf("big64", 1, "F64", BIG);
    char out[512];
    snprintf(out, sizeof out, "%s", path_in("", "big.llq"));
    ck_assert_int_eq(convert(path_in("big", ""), out, LLQ_F16, 0), LLQ_EUNSUPPORTED);
    ck_assert_msg(strstr(llq_errmsg(), "tensor 'layers.0.attention.wo.weight': value 70000 at element 7 is beyond "
                                       "the range of f16 (largest 65504)"), "%s", llq_errmsg());
    ck_assert_int_ne(access(out, F_OK), 0);
    ck_assert_int_eq(convert(path_in("big64", ""), out, LLQ_F16, 0), LLQ_EUNSUPPORTED);
    ck_assert_int_ne(access(out, F_OK), 0);
    ck_assert_msg(convert(path_in("big", ""), out, LLQ_BF16, 0) == 0, "%s", llq_errmsg()); /* bf16 holds 70000 */
    unlink(out);
    ck_assert_msg(convert(path_in("big64", ""), out, LLQ_CONVERT_KEEP, 0) == 0, "%s", llq_errmsg());
    unlink(out);
}
END_TEST

START_TEST(output_rules)
{
    write_meta("out", 1, "F32", OK);
    char *out = path_in("", "exists.llq"), *in = path_in("out", "consolidated.00.pth");
    write_text(out, "precious");
    ck_assert_int_eq(convert(path_in("out", ""), out, LLQ_CONVERT_KEEP, 0), LLQ_EEXIST);
    ck_assert_int_eq(convert(path_in("out", ""), out, LLQ_CONVERT_KEEP, LLQ_CONVERT_FORCE), 0);
    check_llq(out, "F32", LLQ_CONVERT_KEEP);
    struct stat before, after;
    ck_assert_int_eq(stat(in, &before), 0);
    ck_assert_int_eq(convert(path_in("out", ""), in, LLQ_CONVERT_KEEP, LLQ_CONVERT_FORCE), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "is an input file"));
    ck_assert_int_eq(stat(in, &after), 0);
    ck_assert(before.st_ino == after.st_ino && before.st_size == after.st_size);
    ck_assert_int_eq(convert(path_in("out", ""), out, LLQ_Q4, LLQ_CONVERT_FORCE), LLQ_EINVAL);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("convert_model");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, all_layouts_agree);
    tcase_add_test(tc, dtypes);
    tcase_add_test(tc, tied_embeddings);
    tcase_add_test(tc, bad_checkpoints);
    tcase_add_test(tc, output_rules);
    tcase_add_test(tc, narrowing_overflow);
    tcase_add_test(tc, tied_with_lm_head);
    suite_add_tcase(s, tc);
    return s;
}
