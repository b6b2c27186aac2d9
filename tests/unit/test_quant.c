/* test_quant.c — RTN group quantization: layout (bytes, nibble order, padding), round trip through a
 * dequantizer written from docs/FORMAT.md, search quality vs absmax, weights, threads, bad input, and the
 * scalar/AVX2 twins of the search loop. */
#include <check.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/quant.h"
#include "../../quantize/rtn_kern.h"
#include "ckpt_fixtures.h"

#include <sys/stat.h>
#include <unistd.h>

/* ---- test-local reference: geometry and dequantization straight from FORMAT.md section 5 ---- */
static void geom(uint32_t group, uint64_t K, uint64_t *g, uint64_t *G)
{
    *g = group ? group : (K + 31) / 32 * 32;
    *G = (K + *g - 1) / *g;
}

static uint64_t rbytes(uint32_t type, uint32_t group, uint64_t K)
{
    uint64_t g, G;
    geom(group, K, &g, &G);
    uint64_t Kp = g * G;
    return type == LLQ_Q8 ? Kp + 2 * G : type == LLQ_Q4 ? Kp / 2 + 2 * G : Kp / 2 + 3 * G;
}

/* code of padded element k (q8: signed; q4/q4a: nibble) */
static int code_at(const uint8_t *row, uint32_t type, uint64_t k)
{
    if (type == LLQ_Q8)
        return (int8_t)row[k];
    uint8_t b = row[(k / 32) * 16 + (k % 16)];
    return (k % 32) < 16 ? (b & 15) : (b >> 4);
}

static void deq(float *out, const uint8_t *row, uint32_t type, uint32_t group, uint64_t K)
{
    uint64_t g, G;
    geom(group, K, &g, &G);
    uint64_t Kp = g * G;
    const uint8_t *sc = row + (type == LLQ_Q8 ? Kp : Kp / 2);
    for (uint64_t k = 0; k < K; k++) {
        uint64_t j = k / g;
        uint16_t h;
        memcpy(&h, sc + 2 * j, 2);
        float d = llq_f16_to_f32(h);
        int c = code_at(row, type, k);
        int z = type == LLQ_Q8 ? 0 : type == LLQ_Q4 ? 8 : sc[2 * G + j];
        out[k] = d * (float)(c - z);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float grand(void)
{
    double u = urand() + 1e-12, v = urand();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}
/* heavy-ish tails like real weights: gaussian with occasional outliers */
static void fill(float *x, uint64_t n, float scale)
{
    for (uint64_t i = 0; i < n; i++)
        x[i] = scale * grand() * (urand() < 0.02 ? 6.0f : 1.0f);
}

static double sqerr(const float *a, const float *b, uint64_t n)
{
    double s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s;
}

static const uint32_t types[] = {LLQ_Q8, LLQ_Q4, LLQ_Q4A};
static const uint32_t groups[] = {32, 64, 128, 0};
static const uint64_t Ks[] = {1, 5, 31, 32, 33, 64, 100, 127, 129, 256, 257, 1000, 4103};

/* Every type × group × odd length: row size, padding encodes zero, q8 never -128, q4a zero points ≤ 15, error
 * never worse than the plain absmax grid. */
START_TEST(roundtrip_all_shapes)
{
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t gi = 0; gi < 4; gi++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                uint32_t t = types[ti], gr = groups[gi];
                uint64_t K = Ks[ki], g, G;
                geom(gr, K, &g, &G);
                uint64_t rb = rbytes(t, gr, K);
                float *x = malloc(K * 4), *y = malloc(K * 4), *y0 = malloc(K * 4);
                uint8_t *q = malloc(rb + 1), *q0 = malloc(rb);
                fill(x, K, 0.02f);
                memset(q, 0xA5, rb + 1);
                ck_assert_int_eq(llq_quantize_row(q, x, K, t, gr, NULL), 0);
                ck_assert_uint_eq(q[rb], 0xA5); /* wrote exactly rb bytes */
                llq_quant_opts plain = {NULL, 0};
                ck_assert_int_eq(llq_quantize_row(q0, x, K, t, gr, &plain), 0);
                deq(y, q, t, gr, K);
                deq(y0, q0, t, gr, K);
                /* the library's reference dequantization (format/) agrees with the one written here */
                uint64_t lrb;
                ck_assert_int_eq(llq_row_bytes(&lrb, t, gr, K), 0);
                ck_assert_uint_eq(lrb, rb);
                llq_row_to_f32(y0, q, t, gr, K);
                ck_assert_int_eq(memcmp(y, y0, K * sizeof *y), 0);
                deq(y0, q0, t, gr, K);
                /* padding positions hold the encoding of zero */
                const uint8_t *sc = q + (t == LLQ_Q8 ? g * G : g * G / 2);
                for (uint64_t k = K; k < g * G; k++) {
                    int z = t == LLQ_Q8 ? 0 : t == LLQ_Q4 ? 8 : sc[2 * G + k / g];
                    ck_assert_int_eq(code_at(q, t, k), z);
                }
                /* q8 never emits -128; q4a zero points in 0..15 */
                if (t == LLQ_Q8)
                    for (uint64_t k = 0; k < g * G; k++)
                        ck_assert_int_ne((int8_t)q[k], -128);
                if (t == LLQ_Q4A)
                    for (uint64_t j = 0; j < G; j++)
                        ck_assert_uint_le(sc[2 * G + j], 15);
                double e = sqerr(x, y, K), e0 = sqerr(x, y0, K);
                double sxx = 0;
                for (uint64_t k = 0; k < K; k++)
                    sxx += (double)x[k] * x[k];
                /* (tolerance: f16 rounding of the scale when both errors are ~0) */
                ck_assert_msg(e <= e0 * 1.02 + 2.5e-7 * sxx, "type %u group %u K %llu: search %g > absmax %g", t, gr,
                              (unsigned long long)K, e, e0);
                free(x), free(y), free(y0), free(q), free(q0);
            }
}
END_TEST

/* Values already on a grid come back exactly (the least-squares step finds the grid's scale). */
START_TEST(exact_grid_values)
{
    float x[256], y[256];
    uint8_t q[512];
    for (int i = 0; i < 256; i++)
        x[i] = 0.5f * (float)((i * 37) % 255 - 127);
    x[3] = 63.5f, x[7] = -63.5f; /* ±127 in every group of 32? put extremes in group 0 */
    for (int j = 0; j < 8; j++)
        x[32 * j] = 63.5f;
    ck_assert_int_eq(llq_quantize_row(q, x, 256, LLQ_Q8, 32, NULL), 0);
    deq(y, q, LLQ_Q8, 32, 256);
    for (int i = 0; i < 256; i++)
        ck_assert_float_eq(y[i], x[i]);
    /* q4: codes -8..7 at scale 0.25, each group holding -8 */
    for (int i = 0; i < 256; i++)
        x[i] = 0.25f * (float)((i * 7) % 16 - 8);
    for (int j = 0; j < 8; j++)
        x[32 * j] = -2.0f;
    ck_assert_int_eq(llq_quantize_row(q, x, 256, LLQ_Q4, 32, NULL), 0);
    deq(y, q, LLQ_Q4, 32, 256);
    for (int i = 0; i < 256; i++)
        ck_assert_float_eq(y[i], x[i]);
    /* q4a: 0.1-step grid offset so that zero is code 3: values 0.125*(n-3) */
    for (int i = 0; i < 256; i++)
        x[i] = 0.125f * (float)((i * 5) % 16 - 3);
    for (int j = 0; j < 8; j++)
        x[32 * j] = -0.375f, x[32 * j + 1] = 1.5f;
    ck_assert_int_eq(llq_quantize_row(q, x, 256, LLQ_Q4A, 32, NULL), 0);
    deq(y, q, LLQ_Q4A, 32, 256);
    for (int i = 0; i < 256; i++)
        ck_assert_float_eq(y[i], x[i]);
}
END_TEST

/* Nibble order of FORMAT.md: byte 16c+i = element 32c+i (low), 32c+16+i (high). */
START_TEST(nibble_order)
{
    float x[64];
    uint8_t q[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)(i % 16) - 8.0f; /* codes n = i % 16 at scale 1 */
    x[0] = -8.0f;
    ck_assert_int_eq(llq_quantize_row(q, x, 64, LLQ_Q4, 64, NULL), 0);
    uint16_t h;
    memcpy(&h, q + 32, 2);
    ck_assert_float_eq(llq_f16_to_f32(h), 1.0f);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 16; i++) {
            int lo = (32 * c + i) % 16, hi = (32 * c + 16 + i) % 16;
            ck_assert_uint_eq(q[16 * c + i], (unsigned)(lo | hi << 4));
        }
}
END_TEST

/* Search lowers the error of the plain absmax grid on gaussian data (q4: by several percent). */
START_TEST(search_beats_absmax)
{
    enum { R = 64, K = 512 };
    static float x[R * K], y[K];
    static uint8_t q[R * K];
    fill(x, R * K, 1.0f);
    for (size_t ti = 0; ti < 3; ti++) {
        double e = 0, e0 = 0;
        llq_quant_opts plain = {NULL, 0};
        for (int r = 0; r < R; r++) {
            ck_assert_int_eq(llq_quantize_row(q, x + r * K, K, types[ti], 32, NULL), 0);
            deq(y, q, types[ti], 32, K);
            e += sqerr(x + r * K, y, K);
            ck_assert_int_eq(llq_quantize_row(q, x + r * K, K, types[ti], 32, &plain), 0);
            deq(y, q, types[ti], 32, K);
            e0 += sqerr(x + r * K, y, K);
        }
        ck_assert_msg(e < e0 * (types[ti] == LLQ_Q8 ? 0.999 : 0.95), "type %u: %g vs absmax %g", types[ti], e, e0);
    }
}
END_TEST

/* Importance weights: columns with large weight get a smaller error than unweighted quantization gives them. */
START_TEST(weighted_error)
{
    enum { R = 64, K = 256 };
    static float x[R * K], y[K], imp[K];
    static uint8_t q[R * K];
    fill(x, R * K, 1.0f);
    for (int k = 0; k < K; k++)
        imp[k] = k % 8 == 0 ? 100.0f : 1.0f;
    llq_quant_opts o = {imp, 1};
    double ew = 0, eu = 0, tw = 0, tu = 0;
    for (int r = 0; r < R; r++) {
        ck_assert_int_eq(llq_quantize_row(q, x + r * K, K, LLQ_Q4, 128, &o), 0);
        deq(y, q, LLQ_Q4, 128, K);
        for (int k = 0; k < K; k++) {
            double e = ((double)x[r * K + k] - y[k]) * ((double)x[r * K + k] - y[k]);
            ew += imp[k] * e;
            tw += e;
        }
        ck_assert_int_eq(llq_quantize_row(q, x + r * K, K, LLQ_Q4, 128, NULL), 0);
        deq(y, q, LLQ_Q4, 128, K);
        for (int k = 0; k < K; k++) {
            double e = ((double)x[r * K + k] - y[k]) * ((double)x[r * K + k] - y[k]);
            eu += imp[k] * e;
            tu += e;
        }
    }
    ck_assert_msg(ew < eu, "weighted %g >= unweighted %g", ew, eu);
    (void)tw, (void)tu;
    /* zero weights everywhere fall back to uniform; negative / NaN weights are refused */
    for (int k = 0; k < K; k++)
        imp[k] = 0.0f;
    ck_assert_int_eq(llq_quantize_row(q, x, K, LLQ_Q4, 32, &o), 0);
    imp[17] = -1.0f;
    ck_assert_int_eq(llq_quantize_row(q, x, K, LLQ_Q4, 32, &o), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "column 17"));
}
END_TEST

START_TEST(zero_and_tiny_rows)
{
    float x[100] = {0}, y[100];
    uint8_t q[200];
    for (size_t ti = 0; ti < 3; ti++) {
        ck_assert_int_eq(llq_quantize_row(q, x, 100, types[ti], 32, NULL), 0);
        deq(y, q, types[ti], 32, 100);
        for (int i = 0; i < 100; i++)
            ck_assert_float_eq(y[i], 0.0f);
    }
    x[5] = 1e-30f; /* scale underflows f16: encodes zero, no NaN */
    for (size_t ti = 0; ti < 3; ti++) {
        ck_assert_int_eq(llq_quantize_row(q, x, 100, types[ti], 0, NULL), 0);
        deq(y, q, types[ti], 0, 100);
        for (int i = 0; i < 100; i++)
            ck_assert(isfinite(y[i]) && fabsf(y[i]) < 1e-6f);
    }
}
END_TEST

START_TEST(bad_input)
{
    float x[64];
    uint8_t q[128];
    fill(x, 64, 1.0f);
    x[41] = NAN;
    ck_assert_int_eq(llq_quantize_row(q, x, 64, LLQ_Q4, 32, NULL), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "NaN weight at column 41"));
    x[41] = -INFINITY;
    ck_assert_int_eq(llq_quantize_row(q, x, 64, LLQ_Q8, 32, NULL), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "infinite weight at column 41"));
    x[41] = 1.0f;
    ck_assert_int_eq(llq_quantize_row(q, x, 64, LLQ_Q4, 48, NULL), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "group size 48"));
    ck_assert_int_eq(llq_quantize_row(q, x, 64, LLQ_F16, 32, NULL), LLQ_EINVAL);
    ck_assert_int_eq(llq_quantize_row(q, x, 0, LLQ_Q8, 32, NULL), LLQ_EINVAL);
    x[3] = 3e9f; /* q8 scale 3e9/127 does not fit f16 */
    ck_assert_int_eq(llq_quantize_row(q, x, 64, LLQ_Q8, 32, NULL), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "f16 scale"));
}
END_TEST

/* Tensor API: any thread count gives the bytes of row-by-row quantization; errors name the first bad row and its
 * column. */
START_TEST(tensor_threads)
{
    enum { R = 37, K = 200 };
    static float x[R * K];
    fill(x, R * K, 0.1f);
    uint64_t rb = rbytes(LLQ_Q4A, 64, K);
    uint8_t *a = malloc(R * rb), *b = malloc(R * rb);
    for (int r = 0; r < R; r++)
        ck_assert_int_eq(llq_quantize_row(a + r * rb, x + r * K, K, LLQ_Q4A, 64, NULL), 0);
    int nts[] = {1, 2, 3, 0, 64};
    llq_pool *pools[6] = {NULL}; /* the last: no pool, the calling thread */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(llq_pool_new(&pools[i], nts[i]), 0);
    for (int i = 0; i < 6; i++) {
        memset(b, 0, R * rb);
        ck_assert_int_eq(llq_quantize_tensor(b, x, R, K, LLQ_Q4A, 64, NULL, pools[i]), 0);
        ck_assert_int_eq(memcmp(a, b, R * rb), 0);
    }
    x[30 * K + 9] = NAN;
    x[20 * K + 7] = INFINITY;
    x[33 * K + 1] = NAN;
    for (int rep = 0; rep < 10; rep++) /* threads take rows dynamically: the lowest bad row wins every time */
        for (int i = 0; i < 6; i++) {
            ck_assert_int_eq(llq_quantize_tensor(b, x, R, K, LLQ_Q4A, 64, NULL, pools[i]), LLQ_EINVAL);
            ck_assert_str_eq(llq_errmsg(), "row 20: infinite weight at column 7");
        }
    for (int i = 0; i < 6; i++)
        llq_pool_free(pools[i]);
    free(a), free(b);
}
END_TEST

/* Scales + encode + snap give what quantize_row gives (the GPTQ building blocks agree with RTN). */
START_TEST(building_blocks_agree)
{
    enum { K = 300 };
    float x[K], d[3], s;
    uint8_t z[3], a[400], b[400];
    fill(x, K, 0.05f);
    for (size_t ti = 0; ti < 3; ti++) {
        ck_assert_int_eq(llq_quant_scales(d, z, x, K, types[ti], 128, NULL), 0);
        llq_quant_encode_row(a, x, K, types[ti], 128, d, z);
        ck_assert_int_eq(llq_quantize_row(b, x, K, types[ti], 128, NULL), 0);
        ck_assert_int_eq(memcmp(a, b, rbytes(types[ti], 128, K)), 0);
        float y[K];
        deq(y, a, types[ti], 128, K);
        for (int k = 0; k < K; k++) {
            s = llq_quant_snap(x[k], types[ti], d[k / 128], z[k / 128]);
            ck_assert_float_eq(s, y[k]);
        }
    }
}
END_TEST

/* The AVX2 search loop is bit-identical to the scalar one (so files do not depend on the CPU). */
START_TEST(search_avx2_matches_ref)
{
    if (!__builtin_cpu_supports("avx2"))
        return;
    for (int trial = 0; trial < 200; trial++) {
        float x[128], w[128], xt[32], wt[32], inv[RTN_MAX_CAND], lo[RTN_MAX_CAND], hi[RTN_MAX_CAND];
        float a1[RTN_MAX_CAND + 8], b1[RTN_MAX_CAND + 8], a2[RTN_MAX_CAND + 8], b2[RTN_MAX_CAND + 8];
        int nc = 1 + trial % RTN_MAX_CAND;
        uint64_t nch = (uint64_t)trial % 5;
        fill(x, 128, 1.0f);
        fill(xt, 32, 1.0f);
        for (int i = 0; i < 128; i++)
            w[i] = (float)urand();
        for (int i = 0; i < 32; i++)
            wt[i] = (float)urand();
        for (int i = 0; i < nc; i++) {
            inv[i] = (float)(1 + 10 * urand());
            float z = (float)(int)(16 * urand());
            lo[i] = -z, hi[i] = 15 - z;
        }
        const float *wp = trial % 2 ? w : NULL, *xtp = trial % 3 ? xt : NULL;
        rtn_search_ref(a1, b1, x, wp, nch > 4 ? 4 : nch, xtp, wp ? wt : NULL, inv, lo, hi, nc);
        rtn_search_avx2(a2, b2, x, wp, nch > 4 ? 4 : nch, xtp, wp ? wt : NULL, inv, lo, hi, nc);
        ck_assert_int_eq(memcmp(a1, a2, sizeof(float) * (size_t)nc), 0);
        ck_assert_int_eq(memcmp(b1, b2, sizeof(float) * (size_t)nc), 0);
    }
}
END_TEST

/* Stats and encode twins: bit-identical, NaN/Inf detected by both. */
START_TEST(stats_encode_avx2_match_ref)
{
    if (!__builtin_cpu_supports("avx2"))
        return;
    for (int trial = 0; trial < 300; trial++) {
        float x[64], st1[2] = {0, 0}, st2[2] = {0, 0};
        uint64_t n = 8 * (1 + (uint64_t)trial % 8);
        fill(x, 64, 1.0f);
        if (trial % 10 == 3)
            x[trial % n] = trial % 20 == 3 ? NAN : -INFINITY;
        int b1 = rtn_stats_ref(st1, x, n), b2 = rtn_stats_avx2(st2, x, n);
        ck_assert_int_eq(b1, b2);
        ck_assert_int_eq(b1, trial % 10 == 3);
        if (!b1) {
            ck_assert_int_eq(memcmp(st1, st2, sizeof st1), 0);
        }
        uint8_t e1[32], e2[32];
        int nib = trial % 3 != 0;
        float z = nib ? (float)(int)(16 * urand()) : 0.0f, lo = nib ? -z : -127.0f, hi = nib ? 15.0f - z : 127.0f;
        float inv = (float)(urand() * (nib ? 8 : 127));
        if (!b1) {
            rtn_encode32_ref(e1, x, inv, lo, hi, z, nib);
            rtn_encode32_avx2(e2, x, inv, lo, hi, z, nib);
            ck_assert_int_eq(memcmp(e1, e2, nib ? 16 : 32), 0);
        }
    }
}
END_TEST

/* 8 groups side by side: the AVX2 kernel gives the bits of the one-group path (rtn_scales8_ref) for every type
 * and group length, on groups that are random, all zero, one-signed, constant, tiny (subnormal scales), large
 * (scales that overflow f16) or huge (sums that overflow f32), and the same NaN/Inf mask. */
static void odd_group(float *x, int n, int kind)
{
    float s = (float)(0.01 + urand());
    for (int i = 0; i < n; i++) {
        float v = s * grand();
        switch (kind) {
        case 1: v = 0.0f; break;
        case 2: v = fabsf(v); break;
        case 3: v = -fabsf(v); break;
        case 4: v = s; break;
        case 5: v = i == n / 3 ? -s : 0.0f; break;
        case 6: v *= 1e-41f; break;
        case 7: v *= 3e5f; break;
        case 8: v = (i % 2 ? 1 : -1) * 3e38f; break;
        case 9: v = (float)(int)(16 * urand()) * 0.125f; break; /* exact grid values: ties */
        default: break;
        }
        x[i] = v;
    }
}

START_TEST(scales8_avx2_matches_ref)
{
    if (!llq_cpu_has_avx2()) /* avx2, fma, f16c */
        return;
    static float x[8 * 128];
    for (int trial = 0; trial < 600; trial++) {
        uint64_t nch = 1 + (uint64_t)trial % 4;
        int n = (int)(32 * nch);
        uint32_t type = types[(trial / 4) % 3];
        for (int g = 0; g < 8; g++)
            odd_group(x + g * n, n, (int)(urand() < 0.5 ? 0 : urand() * 10));
        if (trial % 17 == 5)
            x[(int)(urand() * 8 * n)] = trial % 2 ? NAN : -INFINITY;
        float d1[8], d2[8];
        uint8_t z1[8], z2[8];
        int m1 = rtn_scales8_ref(d1, z1, x, nch, type, NULL), m2 = rtn_scales8_avx2(d2, z2, x, nch, type, x);
        ck_assert_int_eq(m1, m2);
        ck_assert_int_eq(m1 != 0, trial % 17 == 5);
        if (m1)
            continue;
        ck_assert_int_eq(memcmp(d1, d2, sizeof d1), 0);
        ck_assert_int_eq(memcmp(z1, z2, sizeof z1), 0);
    }
}
END_TEST

/* The AVX2 path rounds scales to f16 with F16C: the same bits as llq_f32_to_f16 (and back) on every f32 class —
 * a stride through all bit patterns, and every f16 rounding boundary ±1 ulp (ties to even, subnormals,
 * overflow to inf, NaN). */
__attribute__((target("avx2,f16c"))) static int f16c_differs(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    uint16_t h = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
    float back = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))), ref = llq_f16_to_f32(llq_f32_to_f16(f));
    return h != llq_f32_to_f16(f) || memcmp(&back, &ref, 4) != 0;
}

START_TEST(f16c_matches_f32_to_f16)
{
    if (!llq_cpu_has_avx2()) /* avx2, fma, f16c */
        return;
    uint64_t bad = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 509)
        bad += (uint64_t)f16c_differs((uint32_t)u);
    for (uint32_t h = 0; h < 0x10000; h++) { /* the midpoint above each f16 value, and its neighbours */
        float v = llq_f16_to_f32((uint16_t)h);
        uint32_t u;
        memcpy(&u, &v, 4);
        uint32_t exp = (h >> 10) & 31, mid = exp ? u + (1u << 12) : 0;
        if (!exp) { /* subnormal f16: the midpoint is v + 2^-25 */
            float m = v + (h & 0x8000 ? -1.0f : 1.0f) * 0x1p-25f;
            memcpy(&mid, &m, 4);
        }
        for (int dlt = -2; dlt <= 2; dlt++)
            bad += (uint64_t)f16c_differs(mid + (uint32_t)dlt) + (uint64_t)f16c_differs(u + (uint32_t)dlt);
    }
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* The 8-group encoder: the bytes and f16 scales of the group-by-group one, for scales of both signs, zero,
 * tiny and huge, and every zero point. */
START_TEST(encode8_avx2_matches_ref)
{
    if (!llq_cpu_has_avx2()) /* avx2, fma, f16c */
        return;
    static float x[8 * 128];
    for (int trial = 0; trial < 400; trial++) {
        uint64_t nch = 1 + (uint64_t)trial % 4;
        uint32_t type = types[(trial / 4) % 3];
        fill(x, 8 * 32 * nch, 1.0f);
        float d[8];
        uint8_t z[8], e1[8 * 128], e2[8 * 128];
        uint16_t h1[8], h2[8];
        for (int g = 0; g < 8; g++) {
            float v = (float)(urand() * (type == LLQ_Q8 ? 0.05 : 0.5)) * (urand() < 0.2 ? -1.0f : 1.0f);
            int kind = (int)(urand() * 8);
            v = kind == 0 ? 0.0f : kind == 1 ? v * 1e-6f : kind == 2 ? v * 1e4f : v;
            d[g] = llq_f16_to_f32(llq_f32_to_f16(v));
            z[g] = (uint8_t)(urand() * 16);
        }
        memset(e1, 0xa5, sizeof e1);
        memset(e2, 0xa5, sizeof e2);
        const uint8_t *zp = type == LLQ_Q4A ? z : NULL;
        rtn_encode8_ref(e1, h1, x, nch, d, zp, type);
        rtn_encode8_avx2(e2, h2, x, nch, d, zp, type);
        ck_assert_int_eq(memcmp(e1, e2, sizeof e1), 0);
        ck_assert_int_eq(memcmp(h1, h2, sizeof h1), 0);
    }
}
END_TEST

/* A long row goes 8 groups at a time where it can: its scales equal those of each group quantized on its own
 * (one group per call: never batched), and a bad value inside a batch is still reported by its column. */
START_TEST(scales_batched_row)
{
    static float x[4 * 8 * 128 + 128 + 17], d1[40], d2[40];
    static uint8_t z1[40], z2[40];
    const uint32_t gs[] = {32, 64, 128};
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t gi = 0; gi < 3; gi++) {
            uint64_t g = gs[gi], K = 3 * 8 * g + g + 17, G = (K + g - 1) / g;
            fill(x, K, 0.05f);
            for (uint64_t k = 5 * g; k < 6 * g; k++) /* an all-zero group inside a batch */
                x[k] = 0.0f;
            ck_assert_int_eq(llq_quant_scales(d1, z1, x, K, types[ti], (uint32_t)g, NULL), 0);
            for (uint64_t j = 0; j < G; j++) {
                uint64_t n = K - j * g < g ? K - j * g : g;
                ck_assert_int_eq(llq_quant_scales(&d2[j], &z2[j], x + j * g, n, types[ti], (uint32_t)g, NULL), 0);
            }
            ck_assert_int_eq(memcmp(d1, d2, G * sizeof *d1), 0);
            if (types[ti] == LLQ_Q4A)
                ck_assert_int_eq(memcmp(z1, z2, G), 0);
            uint64_t col = 4 * g + 1 + gi; /* in group 4 of the first batch */
            x[col] = NAN;
            x[col + 2] = -INFINITY;
            ck_assert_int_eq(llq_quant_scales(d1, z1, x, K, types[ti], (uint32_t)g, NULL), LLQ_EINVAL);
            char want[128];
            snprintf(want, sizeof want, "NaN weight at column %llu", (unsigned long long)col);
            ck_assert_str_eq(llq_errmsg(), want);
            x[col] = x[col + 2] = 0.5f;
            x[9 * g + 3] = 3e9f; /* group 9 (second batch): its scale overflows f16 */
            ck_assert_int_eq(llq_quant_scales(d1, z1, x, K, types[ti], (uint32_t)g, NULL), LLQ_EINVAL);
            snprintf(want, sizeof want, "weights at columns %llu..%llu too large for an f16 scale",
                     (unsigned long long)(9 * g), (unsigned long long)(10 * g - 1));
            ck_assert_str_eq(llq_errmsg(), want);
        }
}
END_TEST

/* ---- whole files: llq_quantize_file (what llq-quantize runs) ---- */

START_TEST(quantize_file_library)
{
    const char *in = "tests/fixtures/eval/tiny.llq";
    char dir[] = "/tmp/llq_qfile_XXXXXX", out1[64], out2[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(out1, sizeof out1, "%s/a.llq", dir);
    snprintf(out2, sizeof out2, "%s/b.llq", dir);
    llq_quant_policy pol;
    ck_assert_int_eq(llq_policy_init(&pol, LLQ_Q4, 32), 0);
    ck_assert_int_eq(llq_policy_add_rule(&pol, "output.weight=q8:row"), 0);
    llq_quantize_opts o = {.in = in, .out = out1, .policy = &pol, .n_threads = 1};
    llq_quantize_report r1, r2;
    ck_assert_int_eq(llq_quantize_file(&r1, &o), 0);
    o.out = out2;
    o.n_threads = 2;
    ck_assert_int_eq(llq_quantize_file(&r2, &o), 0);
    /* the thread count changes nothing in the output */
    size_t n1, n2;
    unsigned char *b1 = slurp(out1, &n1), *b2 = slurp(out2, &n2);
    ck_assert(b1 && b2);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    /* the report and the recipe */
    llq_file *f;
    ck_assert_int_eq(llq_open(&f, out1), 0);
    ck_assert_str_eq(r1.method, "rtn");
    ck_assert_uint_eq(r1.file_size, n1);
    ck_assert_uint_eq(r1.n_tensors, llq_n_tensors(f));
    ck_assert(r1.bits_per_weight > 4.0 && r1.bits_per_weight < 9.0);
    const llq_tensor *t = llq_tensor_find(f, "output.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->type, LLQ_Q8);
    ck_assert_uint_eq(t->group, 0);
    t = llq_tensor_find(f, "layers.0.attention.wq.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->type, LLQ_Q4);
    ck_assert_uint_eq(t->group, 32);
    const char *v;
    uint64_t len;
    ck_assert_int_eq(llq_meta_get_str(f, "quant.keep", &v, &len), 0);
    ck_assert(len == strlen("output.weight=q8:row") && memcmp(v, "output.weight=q8:row", len) == 0);
    ck_assert_int_eq(llq_meta_get_str(f, "quant.method", &v, &len), 0);
    ck_assert(len == 3 && memcmp(v, "rtn", 3) == 0);
    llq_close(f);
    llq_quantize_report_free(&r1);
    llq_quantize_report_free(&r2);
    /* an existing output needs LLQ_QUANTIZE_FORCE; the input is never an output */
    ck_assert_int_eq(llq_quantize_file(NULL, &o), LLQ_EEXIST);
    o.flags = LLQ_QUANTIZE_FORCE;
    ck_assert_int_eq(llq_quantize_file(NULL, &o), 0);
    o.out = in;
    ck_assert_int_eq(llq_quantize_file(NULL, &o), LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "is one of the inputs"));
    /* an already quantized input is refused before anything is written */
    o.in = out1;
    o.out = out2;
    ck_assert_int_eq(llq_quantize_file(NULL, &o), LLQ_EUNSUPPORTED);
    llq_policy_free(&pol);
    unlink(out1);
    unlink(out2);
    rmdir(dir);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("rtn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip_all_shapes);
    tcase_add_test(tc, exact_grid_values);
    tcase_add_test(tc, nibble_order);
    tcase_add_test(tc, search_beats_absmax);
    tcase_add_test(tc, weighted_error);
    tcase_add_test(tc, zero_and_tiny_rows);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, tensor_threads);
    tcase_add_test(tc, building_blocks_agree);
    tcase_add_test(tc, search_avx2_matches_ref);
    tcase_add_test(tc, stats_encode_avx2_match_ref);
    tcase_add_test(tc, scales8_avx2_matches_ref);
    tcase_add_test(tc, f16c_matches_f32_to_f16);
    tcase_add_test(tc, encode8_avx2_matches_ref);
    tcase_add_test(tc, scales_batched_row);
    tcase_add_test(tc, quantize_file_library);
    suite_add_tcase(s, tc);
    return s;
}
