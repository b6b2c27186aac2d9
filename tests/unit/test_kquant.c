/* test_kquant.c — ggml block types (format 1.1): geometry, names, and dequantization of blocks cut from
 * llama.cpp's own files of pydoc-7m against llama.cpp's values (kquant_refs.h, tests/make_kquant_refs.py). */
#include <check.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/qdot.h"
#include "../../quantize/kquant.h"
#include "kquant_refs.h"
#include "llq/calib.h"
#include "llq/quant.h"
#include "llq/blocks.h"
#include "llq/format.h"
#include "llq/kernels.h"

START_TEST(blocks_dequantize_like_llama_cpp)
{
    for (size_t c = 0; c < sizeof kq_cases / sizeof kq_cases[0]; c++) {
        uint32_t t, elems, bytes;
        ck_assert_int_eq(llq_type_parse(&t, kq_cases[c].type), 0);
        ck_assert(llq_type_block(t, &elems, &bytes));
        uint64_t n = (uint64_t)kq_cases[c].n_blocks * elems, rb;
        ck_assert_int_eq(llq_row_bytes(&rb, t, 0, n), 0);
        ck_assert_uint_eq(rb, (uint64_t)kq_cases[c].n_blocks * bytes);
        float out[4 * LLQ_QK_K];
        ck_assert_uint_le(n, 4 * LLQ_QK_K);
        llq_row_to_f32(out, kq_cases[c].raw, t, 0, n);
        for (uint64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &out[i], 4);
            if (u != kq_cases[c].val[i])
                ck_abort_msg("%s case %zu element %llu: %08x, llama.cpp %08x", kq_cases[c].type, c,
                             (unsigned long long)i, u, kq_cases[c].val[i]);
        }
    }
}
END_TEST

START_TEST(block_geometry_and_names)
{
    static const struct { const char *name; uint32_t type, elems, bytes; int ggml; } tab[] = {
        {"q4_0", LLQ_Q4_0, 32, 18, 2},     {"q4_1", LLQ_Q4_1, 32, 20, 3},    {"q5_0", LLQ_Q5_0, 32, 22, 6},
        {"q5_1", LLQ_Q5_1, 32, 24, 7},     {"q8_0", LLQ_Q8_0, 32, 34, 8},    {"q2_k", LLQ_Q2_K, 256, 84, 10},
        {"q3_k", LLQ_Q3_K, 256, 110, 11},  {"q4_k", LLQ_Q4_K, 256, 144, 12}, {"q5_k", LLQ_Q5_K, 256, 176, 13},
        {"q6_k", LLQ_Q6_K, 256, 210, 14},  {"iq4_nl", LLQ_IQ4_NL, 32, 18, 20}, {"iq4_xs", LLQ_IQ4_XS, 256, 136, 23},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        uint32_t t, e, b;
        ck_assert_int_eq(llq_type_parse(&t, tab[i].name), 0);
        ck_assert_uint_eq(t, tab[i].type);
        ck_assert_str_eq(llq_type_name(t), tab[i].name);
        ck_assert(llq_type_is_block(t) && !llq_type_is_quant(t));
        ck_assert(llq_type_block(t, &e, &b));
        ck_assert_uint_eq(e, tab[i].elems);
        ck_assert_uint_eq(b, tab[i].bytes);
        ck_assert_int_eq(llq_type_to_ggml(t), tab[i].ggml);
        uint32_t back;
        ck_assert_int_eq(llq_type_from_ggml(&back, (uint32_t)tab[i].ggml), 0);
        ck_assert_uint_eq(back, t);
        uint64_t rb;
        ck_assert_int_eq(llq_row_bytes(&rb, t, 0, 3 * e), 0);
        ck_assert_uint_eq(rb, 3ull * b);
        ck_assert_int_eq(llq_row_bytes(&rb, t, 0, 3 * e + 16), LLQ_EINVAL); /* not whole blocks */
        ck_assert_int_eq(llq_row_bytes(&rb, t, 32, 3 * e), LLQ_EINVAL);     /* block types take group 0 */
        ck_assert(!llq_group_valid(t, 128) && llq_group_valid(t, 0));
    }
    ck_assert_int_eq(llq_type_parse(&(uint32_t){0}, "Q4_K"), 0);
    ck_assert(!llq_type_is_block(LLQ_Q4) && !llq_type_is_block(LLQ_F32));
    ck_assert_int_eq(llq_type_to_ggml(LLQ_Q4), -1);
    uint32_t t;
    ck_assert_int_eq(llq_type_from_ggml(&t, 15), LLQ_EUNSUPPORTED); /* q8_K: not a storage type */
    ck_assert_int_eq(llq_type_from_ggml(&t, 30), 0);
    ck_assert_uint_eq(t, LLQ_BF16);
}
END_TEST

static const uint32_t all_types[] = {LLQ_Q4_0, LLQ_Q4_1, LLQ_Q5_0, LLQ_Q5_1, LLQ_Q8_0, LLQ_Q2_K,
                                     LLQ_Q3_K, LLQ_Q4_K, LLQ_Q5_K, LLQ_Q6_K, LLQ_IQ4_NL, LLQ_IQ4_XS};

static uint64_t rng = 88172645463325252ull;
static float urand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) / 8388608.0) - 1.0f;
}

/* The packer (kquant.c) and the decoder (format/blocks.c) are separate code: random parameters and codes packed
 * must decode to a·v − c (or a·T[v]) of the same parameters. */
START_TEST(pack_matches_decoder)
{
    for (size_t t = 0; t < sizeof all_types / sizeof all_types[0]; t++) {
        kq_spec s;
        ck_assert_int_eq(kq_spec_of(&s, all_types[t]), 0);
        uint32_t bytes;
        llq_type_block(s.type, NULL, &bytes);
        for (int rep = 0; rep < 20; rep++) {
            kq_params p;
            memset(&p, 0, sizeof p);
            p.d = llq_f32_to_f16(0.01f * urand());
            p.dmin = llq_f32_to_f16(0.01f * urand());
            if (s.blk == 256 && s.affine)
                p.dmin = llq_f32_to_f16(fabsf(llq_f16_to_f32(p.dmin)));
            for (int j = 0; j < 16; j++) {
                int lo = s.affine ? 0 : -(s.smax + 1), span = s.smax - lo + 1;
                p.sc[j] = s.smax ? lo + (int)((urand() + 1.0f) * 0.5f * (float)span) % span : 0;
                p.mn[j] = s.smax && s.affine ? (int)((urand() + 1.0f) * 0.5f * (float)(s.smax + 1)) % (s.smax + 1) : 0;
            }
            int v[256];
            for (int i = 0; i < s.blk; i++)
                v[i] = s.qmin + (int)((urand() + 1.0f) * 0.5f * (float)(s.qmax - s.qmin + 1)) % (s.qmax - s.qmin + 1);
            uint8_t blk[256];
            float out[256];
            kq_pack(&s, blk, &p, v);
            llq_block_to_f32(out, blk, s.type, 1);
            for (int i = 0; i < s.blk; i++) {
                float a, c;
                kq_sub_grid(&s, &p, i / s.sub, &a, &c);
                float want = s.table ? a * (float)llq_iq4_values[v[i]] : a * (float)v[i] - c;
                if (out[i] != want)
                    ck_abort_msg("%s element %d: decoded %g, packed %g", llq_type_name(s.type), i, (double)out[i],
                                 (double)want);
                ck_assert_float_eq(kq_snap(&s, &p, i, want), want); /* grid values are fixed points */
            }
        }
    }
}
END_TEST

static double rel_err(const float *x, const float *y, size_t n, const float *w)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        e += wi * (x[i] - y[i]) * (x[i] - y[i]);
        s += wi * x[i] * x[i];
    }
    return sqrt(e / s);
}

/* RTN onto every block type: relative error within the type's bits (bounds about 1.3× what a Gaussian row
 * gives), importance weights lower the weighted error, bad input refused. */
START_TEST(rtn_block_types)
{
    enum { K = 1024 };
    static const struct { uint32_t t; double bound; } tab[] = {
        {LLQ_Q2_K, 0.40}, {LLQ_Q3_K, 0.22}, {LLQ_Q4_K, 0.11}, {LLQ_Q5_K, 0.055}, {LLQ_Q6_K, 0.028},
        {LLQ_IQ4_XS, 0.13}, {LLQ_IQ4_NL, 0.16}, {LLQ_Q4_0, 0.16}, {LLQ_Q4_1, 0.16}, {LLQ_Q5_0, 0.08},
        {LLQ_Q5_1, 0.08}, {LLQ_Q8_0, 0.01},
    };
    float *x = malloc(K * sizeof *x), *y = malloc(K * sizeof *y), *imp = malloc(K * sizeof *imp);
    uint8_t *q = malloc(2 * K);
    for (int i = 0; i < K; i++) { /* roughly Gaussian (sum of uniforms), a few outliers */
        x[i] = 0.02f * (urand() + urand() + urand() + urand()) + (i % 97 == 0 ? 0.2f : 0.0f);
        imp[i] = i % 8 == 0 ? 50.0f : 1.0f;
    }
    for (size_t t = 0; t < sizeof tab / sizeof tab[0]; t++) {
        llq_quant_opts o = {NULL, 1}, oi = {imp, 1};
        ck_assert_int_eq(llq_quantize_row(q, x, K, tab[t].t, 0, &o), 0);
        llq_row_to_f32(y, q, tab[t].t, 0, K);
        double e = rel_err(x, y, K, NULL), ew = rel_err(x, y, K, imp);
        ck_assert_msg(e < tab[t].bound, "%s: relative error %g", llq_type_name(tab[t].t), e);
        ck_assert_int_eq(llq_quantize_row(q, x, K, tab[t].t, 0, &oi), 0);
        llq_row_to_f32(y, q, tab[t].t, 0, K);
        double ewi = rel_err(x, y, K, imp);
        ck_assert_msg(ewi < ew, "%s: importance did not help (%g vs %g)", llq_type_name(tab[t].t), ewi, ew);
        ck_assert_int_eq(llq_quantize_row(q, x, K, tab[t].t, 32, &o), LLQ_EINVAL);
        ck_assert_int_eq(llq_quantize_row(q, x, K - 16, tab[t].t, 0, &o), LLQ_EINVAL);
    }
    x[700] = NAN;
    ck_assert_int_eq(llq_quantize_row(q, x, K, LLQ_Q4_K, 0, NULL), LLQ_EINVAL);
    ck_assert(strstr(llq_errmsg(), "column 700") != NULL);
    free(x), free(y), free(imp), free(q);
}
END_TEST

/* GPTQ onto a block type: with an H from correlated inputs, its output error ‖(W − Q)·Xᵀ‖ beats RTN's. */
START_TEST(gptq_block_types)
{
    enum { R = 16, C = 256, N = 512 };
    float *w = malloc(R * C * sizeof *w), *x = malloc(N * C * sizeof *x), *y = malloc(C * sizeof *y);
    double *h = calloc(C * C, sizeof *h);
    uint8_t *q = malloc(R * 256);
    for (int i = 0; i < R * C; i++)
        w[i] = 0.05f * (urand() + urand() + urand());
    for (int n = 0; n < N; n++) {
        float common = urand();
        for (int k = 0; k < C; k++)
            x[n * C + k] = 0.7f * common + 0.3f * urand() * (k % 16 == 0 ? 8.0f : 1.0f);
    }
    llq_xtx_acc(h, x, N, C, NULL);
    llq_sym_fill(h, C);
    const uint32_t types[] = {LLQ_Q4_K, LLQ_Q6_K, LLQ_IQ4_XS, LLQ_Q3_K};
    for (int t = 0; t < 4; t++) {
        double e[2] = {0, 0};
        for (int m = 0; m < 2; m++) {
            if (m == 0)
                ck_assert_int_eq(llq_gptq(q, w, R, C, h, types[t], 0, NULL), 0);
            else
                ck_assert_int_eq(llq_quantize_tensor(q, w, R, C, types[t], 0, NULL, NULL), 0);
            uint64_t rb;
            ck_assert_int_eq(llq_row_bytes(&rb, types[t], 0, C), 0);
            for (int r = 0; r < R; r++) {
                llq_row_to_f32(y, q + r * rb, types[t], 0, C);
                for (int n = 0; n < N; n++) {
                    double o = 0;
                    for (int k = 0; k < C; k++)
                        o += (double)(w[r * C + k] - y[k]) * x[n * C + k];
                    e[m] += o * o;
                }
            }
        }
        ck_assert_msg(e[0] < 0.9 * e[1], "%s: GPTQ %g vs RTN %g", llq_type_name(types[t]), e[0], e[1]);
    }
    free(w), free(x), free(y), free(h), free(q);
}
END_TEST

/* Presets: llama.cpp's per-tensor types for a 6-layer model with 2 query heads per kv head (pydoc-7m's shape: the
 * tensor types of llama.cpp's own files of that model), and the fallbacks for rows that are not whole blocks. */
START_TEST(presets_pick_llama_cpp_types)
{
    llq_quant_policy p;
    uint32_t t, g;
    int pr;
    ck_assert_int_eq(llq_policy_init(&p, LLQ_Q4, 32), 0);
    ck_assert_int_eq(llq_preset_parse(&pr, "q4_k_m"), 0);
    llq_policy_preset(&p, pr, 6, 2);
    static const struct { const char *name; uint32_t type; } km[] = {
        {"output.weight", LLQ_Q6_K}, {"tok_embeddings.weight", LLQ_Q4_K},
        {"layers.0.attention.wv.weight", LLQ_Q4_K}, {"layers.2.attention.wv.weight", LLQ_Q6_K},
        {"layers.5.attention.wv.weight", LLQ_Q6_K}, {"layers.2.feed_forward.w2.weight", LLQ_Q6_K},
        {"layers.3.feed_forward.w2.weight", LLQ_Q4_K}, {"layers.5.feed_forward.w2.weight", LLQ_Q6_K},
        {"layers.2.attention.wq.weight", LLQ_Q4_K}, {"layers.1.feed_forward.w1.weight", LLQ_Q4_K},
    };
    for (size_t i = 0; i < sizeof km / sizeof km[0]; i++) {
        ck_assert_int_eq(llq_policy_choose(&p, km[i].name, LLQ_F32, 2, 256, &t, &g), 0);
        ck_assert_msg(t == km[i].type && g == 0, "%s: %s", km[i].name, llq_type_name(t));
    }
    ck_assert_int_eq(llq_policy_choose(&p, "layers.0.attention_norm.weight", LLQ_F32, 1, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_F32);
    /* rows of 320 elements: q4_k -> q5_0, q6_k -> q8_0 */
    ck_assert_int_eq(llq_policy_choose(&p, "layers.0.attention.wq.weight", LLQ_F32, 2, 320, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q5_0);
    ck_assert_int_eq(llq_policy_choose(&p, "output.weight", LLQ_F32, 2, 320, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q8_0);
    ck_assert_int_eq(llq_policy_add_rule(&p, "output.weight=q8"), 0); /* rules still win */
    ck_assert_int_eq(llq_policy_choose(&p, "output.weight", LLQ_F32, 2, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q8);
    llq_policy_free(&p);

    ck_assert_int_eq(llq_preset_parse(&pr, "q4_k_s"), 0);
    llq_policy_init(&p, LLQ_Q4, 32);
    llq_policy_preset(&p, pr, 6, 2);
    for (int L = 0; L < 6; L++) {
        char n[64];
        snprintf(n, sizeof n, "layers.%d.attention.wv.weight", L);
        ck_assert_int_eq(llq_policy_choose(&p, n, LLQ_F32, 2, 256, &t, &g), 0);
        ck_assert_uint_eq(t, L < 4 ? LLQ_Q5_K : LLQ_Q4_K);
    }
    ck_assert_int_eq(llq_preset_parse(&pr, "iq4_xs"), 0);
    llq_policy_preset(&p, pr, 6, 2);
    ck_assert_int_eq(llq_policy_choose(&p, "layers.0.attention.wv.weight", LLQ_F32, 2, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_IQ4_XS);
    ck_assert_int_eq(llq_policy_choose(&p, "layers.0.attention.wv.weight", LLQ_F32, 2, 288, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_IQ4_NL);
    ck_assert_int_eq(llq_preset_parse(&pr, "q3_k_m"), 0);
    llq_policy_preset(&p, pr, 32, 4);
    ck_assert_int_eq(llq_policy_choose(&p, "layers.1.attention.wv.weight", LLQ_F32, 2, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q5_K);
    ck_assert_int_eq(llq_policy_choose(&p, "layers.2.attention.wv.weight", LLQ_F32, 2, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q4_K);
    ck_assert_int_eq(llq_policy_choose(&p, "layers.1.feed_forward.w2.weight", LLQ_F32, 2, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q5_K); /* L < 32/16 */
    ck_assert_int_eq(llq_policy_choose(&p, "layers.9.attention.wo.weight", LLQ_F32, 2, 256, &t, &g), 0);
    ck_assert_uint_eq(t, LLQ_Q4_K);
    ck_assert_int_eq(llq_preset_parse(&pr, "q9_k"), LLQ_EINVAL);
    llq_policy_free(&p);
}
END_TEST

/* Random bytes for n blocks of type at p, with finite f16 scale fields (d, and dmin / m where the type has one). */
static void random_blocks(uint8_t *row, uint32_t type, uint64_t n)
{
    uint32_t bytes;
    llq_type_block(type, NULL, &bytes);
    for (size_t i = 0; i < n * bytes; i++)
        row[i] = (uint8_t)((urand() + 1.0f) * 128.0f);
    for (uint64_t b = 0; b < n; b++) {
        uint8_t *p = row + b * bytes;
        uint16_t d = llq_f32_to_f16(0.01f * urand()), m = llq_f32_to_f16(0.01f * urand());
        if (type == LLQ_Q2_K)
            memcpy(p + 80, &d, 2), memcpy(p + 82, &m, 2);
        else if (type == LLQ_Q3_K)
            memcpy(p + 108, &d, 2);
        else if (type == LLQ_Q6_K)
            memcpy(p + 208, &d, 2);
        else
            memcpy(p, &d, 2), memcpy(p + 2, &m, 2); /* d first; q4_1/q5_1 m, q4_k/q5_k dmin next */
    }
}

/* Twin test: the AVX2 decoders of every block type give llq_block_to_f32's values bit for bit (llama.cpp's real
 * blocks and random bytes with finite scales). */
START_TEST(avx2_decoders_match_ref)
{
    if (!llq_cpu_has_avx2())
        return;
    for (size_t t = 0; t < sizeof all_types / sizeof all_types[0]; t++) {
        uint32_t elems;
        llq_type_block(all_types[t], &elems, NULL);
        uint64_t n = elems == 32 ? 32 : 4;
        uint8_t blk[32 * 34]; /* 32 blocks of q8_0 or 4 of q6_k */
        float a[4 * 256], b[4 * 256];
        for (int rep = 0; rep < 50; rep++) {
            random_blocks(blk, all_types[t], n);
            llq_block_to_f32(a, blk, all_types[t], n);
            ck_assert(llq_kq_dequant_avx2(b, blk, all_types[t], n));
            ck_assert_msg(memcmp(a, b, n * elems * sizeof(float)) == 0, "%s", llq_type_name(all_types[t]));
        }
    }
    for (size_t c = 0; c < sizeof kq_cases / sizeof kq_cases[0]; c++) {
        uint32_t t, elems;
        llq_type_parse(&t, kq_cases[c].type);
        llq_type_block(t, &elems, NULL);
        float a[4 * 256], b[4 * 256];
        llq_block_to_f32(a, kq_cases[c].raw, t, kq_cases[c].n_blocks);
        ck_assert(llq_kq_dequant_avx2(b, kq_cases[c].raw, t, kq_cases[c].n_blocks));
        ck_assert_msg(memcmp(a, b, kq_cases[c].n_blocks * elems * sizeof(float)) == 0, "%s", kq_cases[c].type);
    }
    ck_assert(!llq_kq_dequant_avx2(NULL, NULL, LLQ_Q4, 1));
}
END_TEST

/* One-token integer path. check_dot: kq_dot_avx2 gives kq_dot_ref's value bit for bit (same integer sums, same
 * f32 order), and kq_dot_ref is the f32 product of the dequantized row w within the int8 activations' rounding:
 * |ref − Σ w·x| ≤ 1.001 · Σ_b (amax_b / 254) · Σ_{k in b} |w_k| + 2e-5 · Σ |w·x| (each activation is off by at
 * most half a step xd_b/2 = amax_b/254; the second term covers the f32 arithmetic). */
static void check_dot(const uint8_t *row, const float *x, uint64_t K, uint32_t type, const char *what)
{
    float *w = malloc(K * sizeof *w), *buf = malloc((K / 4 + 2 * (K / 32) + 16) * sizeof *buf);
    ck_assert(w && buf);
    kq_act a;
    ck_assert(kq_act_layout(&a, buf, K / 4 + 2 * (K / 32) + 16, K));
    kq_act_quantize(&a, x, K);
    float r = kq_dot_ref(row, &a, type, K);
    llq_row_to_f32(w, row, type, 0, K);
    double exact = 0, mag = 0, bound = 0;
    for (uint64_t b = 0; b < K / 32; b++) {
        double amax = 0, wabs = 0;
        for (uint64_t i = 32 * b; i < 32 * b + 32; i++) {
            exact += (double)w[i] * x[i], mag += fabs((double)w[i] * x[i]);
            amax = fmax(amax, fabs(x[i])), wabs += fabs(w[i]);
        }
        bound += amax / 254 * wabs;
    }
    ck_assert_msg(fabs(r - exact) <= 1.001 * bound + 2e-5 * mag, "%s %s K=%llu: %g vs %g (bound %g)",
                  llq_type_name(type), what, (unsigned long long)K, r, exact, bound);
    if (llq_cpu_has_avx2()) {
        float f = kq_dot_avx2(row, &a, type, K);
        ck_assert_msg(memcmp(&f, &r, 4) == 0, "%s %s K=%llu: avx2 %a ref %a", llq_type_name(type), what,
                      (unsigned long long)K, f, r);
    }
    free(w), free(buf);
}

/* Every block type: RTN-quantized rows (K = 512; the blocks of 32 also K = 480 and 96: a row's last K/32 mod 8
 * blocks take the per-block path), random bytes with finite scales (every code, q8_0's −128), and llama.cpp's
 * blocks of kquant_refs.h. */
START_TEST(kq_dot_twins)
{
    float x[512], w[512];
    float buf[512 / 4 + 2 * (512 / 32) + 16];
    uint8_t row[16 * 34]; /* the largest row of 512: q8_0 */
    kq_act a;
    ck_assert(kq_act_layout(&a, buf, sizeof buf / sizeof buf[0], 512));
    ck_assert(!kq_act_layout(&a, buf, 10, 512));
    ck_assert(!kq_has_dot(LLQ_Q4) && !kq_has_dot(LLQ_F32));
    for (size_t t = 0; t < sizeof all_types / sizeof all_types[0]; t++) {
        uint32_t ty = all_types[t], elems, bytes;
        ck_assert(kq_has_dot(ty));
        llq_type_block(ty, &elems, &bytes);
        const uint64_t Ks[3] = {512, 480, 96};
        for (int k = 0; k < (elems == 32 ? 3 : 1); k++)
            for (int rep = 0; rep < 20; rep++) {
                uint64_t K = Ks[k];
                for (uint64_t i = 0; i < K; i++)
                    x[i] = urand() * (i % 7 == 0 ? 3.0f : 1.0f), w[i] = 0.05f * (urand() + urand());
                if (rep == 3)
                    memset(x, 0, 32 * sizeof x[0]); /* a block of zero activations (xd = 0) */
                ck_assert_int_eq(llq_quantize_row(row, w, K, ty, 0, NULL), 0);
                check_dot(row, x, K, ty, "rtn");
                random_blocks(row, ty, K / elems); /* random codes and scales, finite f16 fields */
                for (uint64_t b = 0; b < K / elems; b++) {
                    uint8_t *p = row + b * bytes;
                    if (ty == LLQ_Q8_0 && rep == 0)
                        p[2 + b % 32] = 0x80; /* code −128 */
                }
                check_dot(row, x, K, ty, "random");
            }
    }
    for (size_t c = 0; c < sizeof kq_cases / sizeof kq_cases[0]; c++) {
        uint32_t t, elems;
        ck_assert_int_eq(llq_type_parse(&t, kq_cases[c].type), 0);
        llq_type_block(t, &elems, NULL);
        uint64_t K = (uint64_t)kq_cases[c].n_blocks * elems;
        float xs[4 * 256];
        for (uint64_t i = 0; i < K; i++)
            xs[i] = urand();
        check_dot(kq_cases[c].raw, xs, K, t, "llama.cpp block");
    }
}
END_TEST

/* llama.cpp's own files of pydoc-7m (../shared; skipped without it): the first, a middle and the last row of
 * every tensor of an integer-path type, against random activations. */
START_TEST(kq_dot_llama_cpp_files)
{
    static const char *const files[] = {"Q4_K_M", "Q4_K_M-imatrix", "Q4_K_S-imatrix", "IQ4_XS-imatrix", "Q6_K",
                                        "Q4_0", "Q4_0-imatrix", "Q8_0"};
    const char *dirs[] = {"../shared/models/pydoc-7m/gguf", "/work/shared/models/pydoc-7m/gguf"};
    int seen = 0, rows = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        llq_file *f = NULL;
        char path[256];
        for (size_t d = 0; d < 2 && !f; d++) {
            snprintf(path, sizeof path, "%s/pydoc-7m-%s.gguf", dirs[d], files[i]);
            if (llq_open(&f, path))
                f = NULL;
        }
        if (!f)
            continue;
        seen++;
        for (size_t j = 0; j < llq_n_tensors(f); j++) {
            const llq_tensor *t = llq_tensor_at(f, j);
            if (!kq_has_dot(t->type))
                continue;
            float *x = malloc(t->row_len * sizeof *x);
            ck_assert_ptr_nonnull(x);
            for (uint64_t k = 0; k < t->row_len; k++)
                x[k] = urand() * (k % 11 == 0 ? 4.0f : 1.0f);
            const uint64_t r3[3] = {0, t->n_rows / 2, t->n_rows - 1};
            for (int r = 0; r < 3; r++, rows++)
                check_dot((const uint8_t *)t->data + r3[r] * t->row_bytes, x, t->row_len, t->type, t->name);
            free(x);
        }
        llq_close(f);
    }
    if (!seen)
        printf("note: ../shared/models/pydoc-7m/gguf absent: llama.cpp files' rows skipped\n");
    else
        ck_assert_int_gt(rows, 0);
}
END_TEST

/* The threaded one-token matmul on each block type (activations quantized once per thread and call, rows in
 * slices across threads, two matrices of different types in one llq_matmul_n) gives the single-call kernel's
 * bits. */
START_TEST(kq_threaded_matmul_same_bits)
{
    if (!llq_cpu_has_avx2())
        return;
    enum { K = 512, R = 200 };
    size_t nty = sizeof all_types / sizeof all_types[0];
    for (size_t p0 = 0; p0 < nty; p0 += 2) {
        const uint32_t types[2] = {all_types[p0], all_types[(p0 + 3) % nty]};
        llq_mat W[2];
        uint8_t *d[2];
        float *w = malloc(K * sizeof *w), x[K], y0[2][R], y1[2][R];
        ck_assert_ptr_nonnull(w);
        for (int i = 0; i < K; i++)
            x[i] = urand();
        for (int t = 0; t < 2; t++) {
            ck_assert(llq_mm_select(types[t], LLQ_KERNEL_FAST) == llq_mm_kq_avx2);
            ck_assert_int_eq(llq_mat_init(&W[t], types[t], 0, R, K, NULL), 0);
            d[t] = malloc(R * W[t].row_bytes);
            ck_assert_ptr_nonnull(d[t]);
            for (int r = 0; r < R; r++) {
                for (int i = 0; i < K; i++)
                    w[i] = 0.05f * (urand() + urand());
                ck_assert_int_eq(llq_quantize_row(d[t] + r * W[t].row_bytes, w, K, types[t], 0, NULL), 0);
            }
            W[t].data = d[t];
            ck_assert_ptr_nonnull(llq_mm_scratch(llq_mm_scratch_need(&W[t])));
            llq_mm_kq_avx2(y0[t], x, 1, &W[t], 0, R);
        }
        for (int nt = 1; nt <= 3; nt++) {
            llq_pool *p;
            ck_assert_int_eq(llq_pool_new(&p, nt), 0);
            float *ys[2] = {y1[0], y1[1]};
            const llq_mat *Ws[2] = {&W[0], &W[1]};
            ck_assert_int_eq(llq_matmul_n(ys, x, 1, Ws, 2, p), 0);
            ck_assert(memcmp(y0, y1, sizeof y0) == 0);
            llq_pool_free(p);
        }
        free(w), free(d[0]), free(d[1]);
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("kquant");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, blocks_dequantize_like_llama_cpp);
    tcase_add_test(tc, block_geometry_and_names);
    tcase_add_test(tc, pack_matches_decoder);
    tcase_add_test(tc, rtn_block_types);
    tcase_add_test(tc, gptq_block_types);
    tcase_add_test(tc, presets_pick_llama_cpp_types);
    tcase_add_test(tc, avx2_decoders_match_ref);
    tcase_add_test(tc, kq_dot_twins);
    tcase_add_test(tc, kq_dot_llama_cpp_files);
    tcase_add_test(tc, kq_threaded_matmul_same_bits);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
