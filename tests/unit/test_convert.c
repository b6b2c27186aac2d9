/* test_convert.c — llq-convert's pieces: ffn width formula, name mapping, the rotary un-permutation, exact
 * element conversion, params.json / config.json parsing. */
#include "../../convert/layout.h"
#include "llq/kernels.h"

#include <check.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const llq_hparams HP = {.arch = "llama", .dim = 64, .n_layers = 3, .n_heads = 8, .n_kv_heads = 2,
                               .ffn_dim = 160, .vocab_size = 100, .norm_eps = 1e-5f, .rope_theta = 1e4f};

START_TEST(ffn_formula)
{
    ck_assert_uint_eq(conv_ffn_dim(4096, 256, 0), 11008);  /* LLaMA 7B */
    ck_assert_uint_eq(conv_ffn_dim(5120, 256, 0), 13824);  /* LLaMA 13B */
    ck_assert_uint_eq(conv_ffn_dim(6656, 256, 0), 17920);  /* LLaMA 30B */
    ck_assert_uint_eq(conv_ffn_dim(8192, 4096, 1.3), 28672); /* LLaMA-2 70B */
    ck_assert_uint_eq(conv_ffn_dim(4096, 1024, 1.3), 14336); /* LLaMA-3 8B */
    ck_assert_uint_eq(conv_ffn_dim(256, 256, 0), 768);     /* pydoc-7m */
}
END_TEST

START_TEST(names_meta)
{
    uint32_t slot;
    int split;
    char name[CONV_NAME_MAX];
    ck_assert_int_eq(conv_meta_name(&slot, &split, "tok_embeddings.weight", &HP), 1);
    ck_assert_uint_eq(slot, 0);
    ck_assert_int_eq(split, 1);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.2.attention.wo.weight", &HP), 1);
    ck_assert_uint_eq(slot, 1 + LLQ_LT_COUNT * 2 + LLQ_LT_WO);
    ck_assert_int_eq(split, 1);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.0.feed_forward.w3.weight", &HP), 1);
    ck_assert_int_eq(split, 0);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.1.ffn_norm.weight", &HP), 1);
    ck_assert_int_eq(split, -1);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "output.weight", &HP), 1);
    ck_assert_uint_eq(slot, llq_arch_n_slots(3) - 1);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "rope.freqs", &HP), 0);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.3.ffn_norm.weight", &HP), -1);   /* layer >= n_layers */
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.01.ffn_norm.weight", &HP), -1);  /* leading zero */
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.1.ffn_norm.bias", &HP), -1);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers..ffn_norm.weight", &HP), -1);
    ck_assert_int_eq(conv_meta_name(&slot, &split, "layers.1.attention.wq.bias", &HP), -1); /* no qkv_bias */
    for (uint32_t s = 0; s < llq_arch_n_slots(3); s++) { /* slot names round-trip (those the model has) */
        uint32_t layer;
        llq_arch_slot_name(name, sizeof name, s, 3);
        ck_assert_int_eq(llq_arch_name_slot(name, 3), (int)s);
        ck_assert_int_eq(conv_meta_name(&slot, &split, name, &HP),
                         llq_arch_needed(llq_arch_slot(s, 3, &layer), &HP) ? 1 : -1);
        if (llq_arch_needed(llq_arch_slot(s, 3, &layer), &HP))
            ck_assert_uint_eq(slot, s);
    }
}
END_TEST

START_TEST(names_hf)
{
    uint32_t slot, perm;
    char hf[CONV_NAME_MAX + 16], canon[CONV_NAME_MAX];
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.q_proj.weight", &HP), 1);
    llq_arch_slot_name(canon, sizeof canon, slot, 3);
    ck_assert_str_eq(canon, "layers.1.attention.wq.weight");
    ck_assert_uint_eq(perm, 8);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.k_proj.weight", &HP), 1);
    ck_assert_uint_eq(perm, 2); /* n_kv_heads for k */
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.v_proj.weight", &HP), 1);
    ck_assert_uint_eq(perm, 0);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.2.mlp.gate_proj.weight", &HP), 1);
    llq_arch_slot_name(canon, sizeof canon, slot, 3);
    ck_assert_str_eq(canon, "layers.2.feed_forward.w1.weight");
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.2.mlp.down_proj.weight", &HP), 1);
    llq_arch_slot_name(canon, sizeof canon, slot, 3);
    ck_assert_str_eq(canon, "layers.2.feed_forward.w2.weight");
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.0.post_attention_layernorm.weight", &HP), 1);
    llq_arch_slot_name(canon, sizeof canon, slot, 3);
    ck_assert_str_eq(canon, "layers.0.ffn_norm.weight");
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "lm_head.weight", &HP), 1);
    llq_arch_slot_name(canon, sizeof canon, slot, 3);
    ck_assert_str_eq(canon, "output.weight");
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.0.self_attn.rotary_emb.inv_freq", &HP), 0);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.9.mlp.up_proj.weight", &HP), -1);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "transformer.h.0.attn.c_attn.weight", &HP), -1);
    for (uint32_t s = 0; s < llq_arch_n_slots(3); s++) {
        uint32_t layer;
        int has = llq_arch_needed(llq_arch_slot(s, 3, &layer), &HP);
        conv_slot_hf_name(hf, s, 3);
        ck_assert_int_eq(conv_hf_name(&slot, &perm, hf, &HP), has ? 1 : -1);
        if (has)
            ck_assert_uint_eq(slot, s);
    }
    /* Qwen2: biases are tensors, q/k biases un-permuted like their weights; a tied model drops lm_head */
    llq_hparams q = HP;
    q.qkv_bias = 1, q.tied = 1;
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.q_proj.bias", &q), 1);
    llq_arch_slot_name(canon, sizeof canon, slot, 3);
    ck_assert_str_eq(canon, "layers.1.attention.wq.bias");
    ck_assert_uint_eq(perm, 8);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.k_proj.bias", &q), 1);
    ck_assert_uint_eq(perm, 2);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.v_proj.bias", &q), 1);
    ck_assert_uint_eq(perm, 0);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "model.layers.1.self_attn.o_proj.bias", &q), -1);
    ck_assert_int_eq(conv_hf_name(&slot, &perm, "lm_head.weight", &q), 0);
}
END_TEST

static void shape(uint32_t slot, uint32_t *n, uint64_t d[2])
{
    uint32_t layer;
    llq_arch_shape(llq_arch_slot(slot, HP.n_layers, &layer), &HP, n, d);
}

START_TEST(shapes)
{
    uint32_t n;
    uint64_t d[2];
    shape(0, &n, d);
    ck_assert(n == 2 && d[0] == 100 && d[1] == 64);
    shape(1 + LLQ_LT_WK, &n, d); /* layers.0 wk: n_kv_heads * head size = 2 * 8 */
    ck_assert(n == 2 && d[0] == 16 && d[1] == 64);
    shape(1 + LLQ_LT_WO, &n, d); /* wo */
    ck_assert(n == 2 && d[0] == 64 && d[1] == 64);
    shape(1 + LLQ_LT_W2, &n, d); /* w2 */
    ck_assert(n == 2 && d[0] == 64 && d[1] == 160);
    shape(1 + LLQ_LT_FFN_NORM, &n, d); /* ffn_norm */
    ck_assert(n == 1 && d[0] == 64);
}
END_TEST

/* transformers' permute, literally: w.view(h, d1/h/2, 2, d2).transpose(1, 2).reshape(d1, d2) on row indices. */
static void hf_permute_rows(uint64_t *hf_row_holds, uint64_t heads, uint64_t d1)
{
    uint64_t half = d1 / heads / 2;
    for (uint64_t h = 0; h < heads; h++)
        for (uint64_t j = 0; j < 2; j++)       /* after the transpose, dims are (h, 2, half) */
            for (uint64_t i = 0; i < half; i++)
                hf_row_holds[(h * 2 + j) * half + i] = (h * half + i) * 2 + j; /* source index in (h, half, 2) */
}

START_TEST(unpermute)
{
    /* torch: torch.arange(8).view(1, 4, 2, 1).transpose(1, 2).reshape(8) = [0, 2, 4, 6, 1, 3, 5, 7] */
    static const uint64_t want8[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    uint64_t holds[4096];
    hf_permute_rows(holds, 1, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(holds[i], want8[i]);
    for (uint64_t heads = 1; heads <= 8; heads++) {
        for (uint64_t hd = 2; hd <= 64; hd += 2) {
            uint64_t d1 = heads * hd;
            hf_permute_rows(holds, heads, d1);
            for (uint64_t r = 0; r < d1; r++) /* canonical row r sits at HF row conv_hf_row(r) */
                ck_assert_uint_eq(holds[conv_hf_row(r, hd)], r);
        }
    }
}
END_TEST

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

START_TEST(elems_exact)
{
    /* bf16 -> f32 and f16 -> f32 exact; f32 -> bf16 / f16 round to nearest even */
    uint16_t bf[3] = {0x3f80, 0xc000, 0x0001}, h[3] = {0x3c00, 0x0001, 0x7bff};
    float f[3];
    conv_elems(f, LLQ_F32, bf, LLQ_SRC_BF16, 3);
    ck_assert_uint_eq(bits(f[0]), 0x3f800000u);
    ck_assert_uint_eq(bits(f[1]), 0xc0000000u);
    ck_assert_uint_eq(bits(f[2]), 0x00010000u);
    conv_elems(f, LLQ_F32, h, LLQ_SRC_F16, 3);
    ck_assert(f[0] == 1.0f && f[1] == ldexpf(1, -24) && f[2] == 65504.0f);
    float in[4] = {1.00390625f /* 1 + 2^-8: bf16 tie -> even 1.0 */, 1.01171875f /* 1 + 3*2^-8: tie -> up */,
                   1.0f + ldexpf(1, -11) /* f16 tie -> 1.0 */, 70000.0f};
    uint16_t out[4];
    conv_elems(out, LLQ_BF16, in, LLQ_SRC_F32, 2);
    ck_assert_uint_eq(out[0], 0x3f80);
    ck_assert_uint_eq(out[1], 0x3f82);
    conv_elems(out, LLQ_F16, in + 2, LLQ_SRC_F32, 2);
    ck_assert_uint_eq(out[0], 0x3c00);
    ck_assert_uint_eq(out[1], 0x7c00); /* overflow -> inf */
    /* f64 -> f16 must round once: 1 + 2^-11 + 2^-40 is just above the tie, so it rounds up to 1 + 2^-10,
     * while rounding to f32 first (1 + 2^-11 exactly) and then to f16 would give 1.0 */
    double d[3] = {1.0 + ldexp(1, -11) + ldexp(1, -40), 1.0 + ldexp(1, -8) + ldexp(1, -45), -3.25};
    conv_elems(out, LLQ_F16, d, LLQ_SRC_F64, 1);
    ck_assert_uint_eq(out[0], 0x3c01);
    conv_elems(out, LLQ_BF16, d + 1, LLQ_SRC_F64, 2);
    ck_assert_uint_eq(out[0], 0x3f81);
    ck_assert_uint_eq(out[1], 0xc050);
    conv_elems(f, LLQ_F32, d + 2, LLQ_SRC_F64, 1);
    ck_assert(f[0] == -3.25f);
    /* f16 <-> bf16 through f32, one rounding */
    uint16_t h2 = 0x3c01, b2;
    conv_elems(&b2, LLQ_BF16, &h2, LLQ_SRC_F16, 1);
    ck_assert_uint_eq(b2, 0x3f80);
    conv_elems(&h2, LLQ_F16, &bf[1], LLQ_SRC_BF16, 1);
    ck_assert_uint_eq(h2, 0xc000);
}
END_TEST

START_TEST(out_types)
{
    ck_assert_uint_eq(conv_out_type(LLQ_CONVERT_KEEP, LLQ_SRC_BF16, 2), LLQ_BF16);
    ck_assert_uint_eq(conv_out_type(LLQ_CONVERT_KEEP, LLQ_SRC_F16, 2), LLQ_F16);
    ck_assert_uint_eq(conv_out_type(LLQ_CONVERT_KEEP, LLQ_SRC_F64, 2), LLQ_F32);
    ck_assert_uint_eq(conv_out_type(LLQ_CONVERT_KEEP, LLQ_SRC_BF16, 1), LLQ_F32);
    ck_assert_uint_eq(conv_out_type(LLQ_F16, LLQ_SRC_BF16, 1), LLQ_F16);
}
END_TEST

/* The AVX2 / F16C conversions give the scalar reference's bits, on random bit patterns (NaNs, infinities,
 * subnormals, rounding ties) and odd lengths. */
START_TEST(elems_avx2_vs_ref)
{
    static const uint32_t special[] = {0x7fc00001u, 0x7f800001u, 0xff800000u, 0x7f800000u, 0x80000000u, 0x00000001u,
                                       0x33800000u, 0x387fe000u, 0x3f801000u, 0x3f808000u, 0x3f818000u, 0x477ff000u,
                                       0x477fefffu, 0xc77ff000u, 0x7f7fffffu, 0x38800000u, 0x337fffffu, 0x00800000u};
    static const struct {
        uint32_t src, dst;
    } pairs[] = {{LLQ_SRC_F32, LLQ_F16}, {LLQ_SRC_F32, LLQ_BF16}, {LLQ_SRC_F16, LLQ_F32}, {LLQ_SRC_BF16, LLQ_F32}};
    enum { N = 4099 };
    uint32_t *in = malloc(N * 4);
    uint8_t *a = malloc(N * 4 + 16), *b = malloc(N * 4 + 16);
    uint64_t x = 12345;
    if (!llq_cpu_has_avx2()) {
        printf("note: no AVX2/F16C: elem_avx2 not tested\n");
        goto done;
    }
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < N; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            in[i] = (uint32_t)x;
            if (round % 2 && i % 3 == 0) /* values near 1 and f16's range, with random low bits */
                in[i] = (in[i] & 0x8001ffffu) | (round % 4 == 1 ? 0x3f800000u : 0x47000000u);
            if (i % 17 == 0)
                in[i] = special[(i / 17) % (sizeof special / sizeof special[0])];
        }
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            size_t n = round == 0 ? N : (size_t)(x % 70), osz = conv_type_size(pairs[p].dst);
            memset(a, 0xaa, N * 4 + 16);
            memset(b, 0xaa, N * 4 + 16);
            conv_elems_ref(a, pairs[p].dst, in, pairs[p].src, n);
            conv_elems(b, pairs[p].dst, in, pairs[p].src, n);
            for (size_t i = 0; i < n * osz; i++)
                ck_assert_msg(a[i] == b[i], "pair %zu, n %zu: byte %zu differs (input %08x)", p, n, i,
                              pairs[p].src == LLQ_SRC_F32 ? in[i / osz] : ((const uint16_t *)(const void *)in)[i / osz]);
            ck_assert(b[n * osz] == 0xaa); /* nothing past the end */
            ck_assert_uint_eq(conv_elems_avx2(b, pairs[p].dst, in, pairs[p].src, n), n / 8 * 8);
        }
    }
    ck_assert_uint_eq(conv_elems_avx2(b, LLQ_F16, in, LLQ_SRC_F64, 64), 0);
done:
    free(in);
    free(a);
    free(b);
}
END_TEST

static int params(llq_hparams *hp, int *vu, const char *json)
{
    return conv_parse_params(hp, vu, json, strlen(json), "params.json");
}

START_TEST(parse_params)
{
    llq_hparams hp;
    int vu;
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 4096, \"multiple_of\": 256, \"n_heads\": 32, \"n_layers\": 32, "
                                      "\"norm_eps\": 1e-06, \"vocab_size\": -1}"), 0);
    ck_assert(vu == 1 && hp.vocab_size == 0 && hp.ffn_dim == 11008 && hp.n_kv_heads == 32);
    ck_assert(hp.norm_eps == 1e-6f && hp.rope_theta == 10000.0f && hp.context_length == 0);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 8192, \"multiple_of\": 4096, \"ffn_dim_multiplier\": 1.3, "
                                      "\"n_heads\": 64, \"n_kv_heads\": 8, \"n_layers\": 80, \"norm_eps\": 1e-05, "
                                      "\"vocab_size\": 32000, \"max_seq_len\": 4096}"), 0);
    ck_assert(vu == 0 && hp.vocab_size == 32000 && hp.ffn_dim == 28672 && hp.n_kv_heads == 8);
    ck_assert_uint_eq(hp.context_length, 4096);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"n_kv_heads\": 4, "
                                      "\"vocab_size\": 4096, \"multiple_of\": 256, \"hidden_dim\": 700}"), 0);
    ck_assert_uint_eq(hp.ffn_dim, 700); /* hidden_dim wins over the formula */
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6}"), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "params.json: missing \"n_heads\""));
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 250, \"n_layers\": 6, \"n_heads\": 8}"), LLQ_EFORMAT);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"n_kv_heads\": 3}"),
                     LLQ_EFORMAT);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 1e30, \"n_layers\": 6, \"n_heads\": 8}"), LLQ_EFORMAT);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": \"256\", \"n_layers\": 6, \"n_heads\": 8}"), LLQ_EFORMAT);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8"), LLQ_EFORMAT);
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8} x"), LLQ_EFORMAT);
    ck_assert_int_eq(params(&hp, &vu, "[1, 2]"), LLQ_EFORMAT);
    /* Meta's use_scaled_rope: the llama3 rule with Meta's constants */
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"use_scaled_rope\": true, "
                                      "\"rope_theta\": 500000.0}"), 0);
    ck_assert(hp.rope_scaling == LLQ_ROPE_LLAMA3 && hp.rope_factor == 8 && hp.rope_low_freq_factor == 1);
    ck_assert(hp.rope_high_freq_factor == 4 && hp.rope_orig_context == 8192 && hp.rope_theta == 500000.0f);
    /* the one limit: dim above 2^16 is refused here as by the forward pass */
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 131072, \"n_layers\": 6, \"n_heads\": 128}"), LLQ_ELIMIT);
}
END_TEST

/* Numbers a JSON parser takes but the model cannot: stored as f32 (Inf, which the .llq reader refuses, or 0), or an
 * ffn multiplier whose product is beyond any integer (a cast that was undefined behaviour). */
START_TEST(params_beyond_f32)
{
    llq_hparams hp;
    int vu;
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"rope_theta\": 1e50}"),
                     LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "params.json: \"rope_theta\" = 1e+50 is beyond the range of f32"));
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"norm_eps\": 1e300}"),
                     LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "\"norm_eps\" = 1e+300 is beyond the range of f32"));
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"norm_eps\": 1e-60}"),
                     LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "\"norm_eps\" = 1e-60 is below the range of f32"));
    ck_assert_int_eq(params(&hp, &vu, "{\"dim\": 256, \"n_layers\": 6, \"n_heads\": 8, \"ffn_dim_multiplier\": "
                                      "1e300}"), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "ffn width out of range"));
    ck_assert_uint_eq(conv_ffn_dim(4096, 256, 1e300), 0);
    ck_assert_uint_eq(conv_ffn_dim(4096, 256, 1e15), 0);
    ck_assert_uint_eq(conv_ffn_dim(4096, 256, 1.0), 11008);
    llq_hparams h2;
    const char *cfg = "{\"model_type\": \"llama\", \"hidden_size\": 16, \"intermediate_size\": 48, "
                      "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 40, \"rms_norm_eps\": 1e300}";
    ck_assert_int_eq(conv_parse_config(&h2, cfg, strlen(cfg), "config.json"), LLQ_EFORMAT);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "\"rms_norm_eps\" = 1e+300 is beyond the range of f32"));
}
END_TEST

static int config(llq_hparams *hp, const char *json)
{
    return conv_parse_config(hp, json, strlen(json), "config.json");
}

#define CFG_SIZES "\"hidden_size\": 64, \"intermediate_size\": 8, \"num_hidden_layers\": 1, " \
                  "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 200"

START_TEST(parse_config)
{
    llq_hparams hp;
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
                                 "\"hidden_size\": 256, \"intermediate_size\": 768, \"num_hidden_layers\": 6, "
                                 "\"num_attention_heads\": 8, \"num_key_value_heads\": 4, \"vocab_size\": 4096, "
                                 "\"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, "
                                 "\"max_position_embeddings\": 256, \"rope_scaling\": null, "
                                 "\"hidden_act\": \"silu\", \"tie_word_embeddings\": false}"), 0);
    ck_assert(hp.dim == 256 && hp.ffn_dim == 768 && hp.n_layers == 6 && hp.n_heads == 8 && hp.n_kv_heads == 4);
    ck_assert(hp.vocab_size == 4096 && hp.context_length == 256 && hp.norm_eps == 1e-5f && hp.tied == 0);
    ck_assert_str_eq(hp.family, "llama");
    ck_assert_int_eq(config(&hp, "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 8, "
                                 "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"vocab_size\": 10, "
                                 "\"tie_word_embeddings\": true}"), 0);
    ck_assert(hp.tied == 1 && hp.n_kv_heads == 4 && hp.norm_eps == 1e-6f);
    /* refused by name, with the list of what is supported */
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"Qwen3ForCausalLM\"], \"model_type\": \"qwen3\", "
                                 CFG_SIZES "}"), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "config.json: unsupported architecture Qwen3ForCausalLM"));
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "(supported: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)"));
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"GPT2LMHeadModel\"], \"n_embd\": 64}"), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "GPT2LMHeadModel"));
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"mistral\", "
                                 CFG_SIZES "}"), LLQ_EUNSUPPORTED); /* the two names disagree */
    ck_assert_int_eq(config(&hp, "{\"hidden_size\": 64}"), LLQ_EUNSUPPORTED);
    /* rope scaling: linear, llama3; anything else refused by name */
    ck_assert_int_eq(config(&hp, "{\"model_type\": \"llama\", " CFG_SIZES ", "
                                 "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}"), 0);
    ck_assert(hp.rope_scaling == LLQ_ROPE_LINEAR && hp.rope_factor == 2);
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"LlamaForCausalLM\"], " CFG_SIZES ", \"head_dim\": 32, "
                                 "\"rope_theta\": 500000.0, \"tie_word_embeddings\": true, \"bos_token_id\": 128000, "
                                 "\"eos_token_id\": [128001, 128008, 128009], \"vocab_size\": 128256, "
                                 "\"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0, "
                                 "\"low_freq_factor\": 1.0, \"original_max_position_embeddings\": 8192, "
                                 "\"rope_type\": \"llama3\"}}"), 0);
    ck_assert(hp.rope_scaling == LLQ_ROPE_LLAMA3 && hp.rope_factor == 32 && hp.rope_orig_context == 8192);
    ck_assert(hp.head_dim == 32 && llq_hp_q_dim(&hp) == 128 && hp.tied == 1 && hp.has_bos && hp.bos_id == 128000);
    ck_assert(hp.n_eos == 3 && hp.eos_ids[0] == 128001 && hp.eos_ids[2] == 128009);
    ck_assert_int_eq(config(&hp, "{\"model_type\": \"llama\", " CFG_SIZES ", "
                                 "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}}"), LLQ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "rope_scaling type \"yarn\" is not supported"));
    ck_assert_int_eq(config(&hp, "{\"model_type\": \"llama\", " CFG_SIZES ", \"eos_token_id\": 200}"), LLQ_EFORMAT);
    ck_assert_int_eq(config(&hp, "{\"model_type\": \"llama\", " CFG_SIZES ", \"attention_bias\": true}"),
                     LLQ_EUNSUPPORTED);
    /* Qwen2: q/k/v biases always; sliding window only if used */
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", " CFG_SIZES
                                 ", \"sliding_window\": 32768, \"use_sliding_window\": false}"), 0);
    ck_assert(hp.qkv_bias == 1 && hp.sliding_window == 0);
    ck_assert_str_eq(hp.family, "qwen2");
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"Qwen2ForCausalLM\"], " CFG_SIZES
                                 ", \"sliding_window\": 32768, \"use_sliding_window\": true}"), LLQ_EUNSUPPORTED);
    /* Mistral: the sliding window is kept */
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"MistralForCausalLM\"], " CFG_SIZES
                                 ", \"sliding_window\": 4096}"), 0);
    ck_assert(hp.sliding_window == 4096 && hp.qkv_bias == 0);
    ck_assert_str_eq(hp.family, "mistral");
    ck_assert_int_eq(config(&hp, "{\"architectures\": [\"MistralForCausalLM\"], " CFG_SIZES
                                 ", \"sliding_window\": null}"), 0);
    ck_assert_uint_eq(hp.sliding_window, 0);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ffn_formula);
    tcase_add_test(tc, names_meta);
    tcase_add_test(tc, names_hf);
    tcase_add_test(tc, shapes);
    tcase_add_test(tc, unpermute);
    tcase_add_test(tc, elems_exact);
    tcase_add_test(tc, elems_avx2_vs_ref);
    tcase_add_test(tc, out_types);
    tcase_add_test(tc, parse_params);
    tcase_add_test(tc, parse_config);
    tcase_add_test(tc, params_beyond_f32);
    suite_add_tcase(s, tc);
    return s;
}
