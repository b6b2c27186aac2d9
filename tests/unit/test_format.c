/* test_format.c — .llq writer + reader: round trips of every metadata and tensor type, streaming writes,
 * commit/rename semantics, row layouts and dequantization, corruption caught at open, hyper-parameters. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llq/format.h"
#include "llq/hparams.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/llq_test_format.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.llq", dir);
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int n_files(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static void *read_whole(const char *p, size_t *n)
{
    FILE *fp = fopen(p, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *b = malloc(*n ? *n : 1);
    ck_assert_uint_eq(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

static void write_whole(const char *p, const void *b, size_t n)
{
    unlink(p); /* (truncating a file in place is slow on some file systems) */
    FILE *fp = fopen(p, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

/* ---- metadata ---- */

START_TEST(meta_roundtrip_every_type)
{
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_meta_u32(w, "a.u32", 4000000000u), 0);
    ck_assert_int_eq(llq_writer_meta_i32(w, "a.i32", -7), 0);
    ck_assert_int_eq(llq_writer_meta_u64(w, "a.u64", 1ull << 40), 0);
    ck_assert_int_eq(llq_writer_meta_f32(w, "a.f32", 1e-5f), 0);
    ck_assert_int_eq(llq_writer_meta_f64(w, "a.f64", 10000.5), 0);
    ck_assert_int_eq(llq_writer_meta_bool(w, "a.bool", 1), 0);
    ck_assert_int_eq(llq_writer_meta_str(w, "a.str", "llama", 5), 0);
    ck_assert_int_eq(llq_writer_meta_str(w, "a.empty", "", 0), 0);
    float fa[3] = {1.5f, -2.0f, 3.25f};
    ck_assert_int_eq(llq_writer_meta_arr(w, "a.arr_f32", LLQ_META_F32, fa, 3), 0);
    int32_t ia[2] = {-1, 5};
    ck_assert_int_eq(llq_writer_meta_arr(w, "a.arr_i32", LLQ_META_I32, ia, 2), 0);
    uint8_t ba[3] = {1, 0, 1};
    ck_assert_int_eq(llq_writer_meta_arr(w, "a.arr_bool", LLQ_META_BOOL, ba, 3), 0);
    ck_assert_int_eq(llq_writer_meta_arr(w, "a.arr_empty", LLQ_META_U64, NULL, 0), 0);
    const char *strs[3] = {"<s>", "", "hello world"};
    uint64_t lens[3] = {3, 0, 11};
    ck_assert_int_eq(llq_writer_meta_arr_str(w, "a.arr_str", strs, lens, 3), 0);
    /* duplicate key refused, writer still usable */
    ck_assert_int_eq(llq_writer_meta_u32(w, "a.u32", 1), LLQ_EINVAL);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);

    llq_file *f;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_uint_eq(llq_n_meta(f), 13);
    ck_assert_uint_eq(llq_n_tensors(f), 0);
    uint32_t u32;
    int32_t i32;
    uint64_t u64, len;
    float f32;
    double f64;
    int b;
    const char *s;
    ck_assert_int_eq(llq_meta_get_u32(f, "a.u32", &u32), 0);
    ck_assert_uint_eq(u32, 4000000000u);
    ck_assert_int_eq(llq_meta_get_i32(f, "a.i32", &i32), 0);
    ck_assert_int_eq(i32, -7);
    ck_assert_int_eq(llq_meta_get_u64(f, "a.u64", &u64), 0);
    ck_assert_uint_eq(u64, 1ull << 40);
    ck_assert_int_eq(llq_meta_get_f32(f, "a.f32", &f32), 0);
    ck_assert(f32 == 1e-5f);
    ck_assert_int_eq(llq_meta_get_f64(f, "a.f64", &f64), 0);
    ck_assert(f64 == 10000.5);
    ck_assert_int_eq(llq_meta_get_bool(f, "a.bool", &b), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(llq_meta_get_str(f, "a.str", &s, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert(memcmp(s, "llama", 5) == 0);
    ck_assert_int_eq(llq_meta_get_str(f, "a.empty", &s, &len), 0);
    ck_assert_uint_eq(len, 0);
    /* conversions and refusals */
    ck_assert_int_eq(llq_meta_get_u64(f, "a.u32", &u64), 0);
    ck_assert_uint_eq(u64, 4000000000u);
    ck_assert_int_eq(llq_meta_get_i32(f, "a.u32", &i32), LLQ_EFORMAT);
    ck_assert_int_eq(llq_meta_get_u32(f, "a.u64", &u32), LLQ_EFORMAT);
    ck_assert(strstr(llq_errmsg(), path) && strstr(llq_errmsg(), "a.u64"));
    ck_assert_int_eq(llq_meta_get_u32(f, "a.i32", &u32), LLQ_EFORMAT);
    ck_assert_int_eq(llq_meta_get_f64(f, "a.i32", &f64), 0);
    ck_assert(f64 == -7.0);
    ck_assert_int_eq(llq_meta_get_f32(f, "a.f64", &f32), 0);
    ck_assert(f32 == 10000.5f);
    ck_assert_int_eq(llq_meta_get_u32(f, "a.str", &u32), LLQ_EFORMAT);
    ck_assert_int_eq(llq_meta_get_str(f, "a.u32", &s, &len), LLQ_EFORMAT);
    ck_assert_int_eq(llq_meta_get_bool(f, "a.u32", &b), LLQ_EFORMAT);
    ck_assert_int_eq(llq_meta_get_u32(f, "nope", &u32), LLQ_ENOTFOUND);
    ck_assert(strstr(llq_errmsg(), "nope") != NULL);
    /* arrays */
    const llq_meta *m = llq_meta_find(f, "a.arr_f32");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->type, LLQ_META_ARR);
    ck_assert_uint_eq(m->elem_type, LLQ_META_F32);
    ck_assert_uint_eq(m->count, 3);
    ck_assert(llq_meta_arr_num(m, 2) == 3.25);
    m = llq_meta_find(f, "a.arr_i32");
    ck_assert(llq_meta_arr_num(m, 0) == -1.0 && llq_meta_arr_num(m, 1) == 5.0);
    m = llq_meta_find(f, "a.arr_bool");
    ck_assert(llq_meta_arr_num(m, 0) == 1.0 && llq_meta_arr_num(m, 1) == 0.0);
    m = llq_meta_find(f, "a.arr_empty");
    ck_assert_uint_eq(m->count, 0);
    m = llq_meta_find(f, "a.arr_str");
    ck_assert_uint_eq(m->count, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(llq_meta_arr_str(m, (uint64_t)i, &s, &len), 0);
        ck_assert_uint_eq(len, lens[i]);
        ck_assert(memcmp(s, strs[i], len) == 0);
    }
    ck_assert_int_eq(llq_meta_arr_str(m, 3, &s, &len), LLQ_EINVAL);
    ck_assert_int_eq(llq_meta_arr_str(llq_meta_find(f, "a.arr_f32"), 0, &s, &len), LLQ_EINVAL);
    /* table order */
    ck_assert_str_eq(llq_meta_at(f, 0)->key, "a.u32");
    ck_assert_ptr_null(llq_meta_at(f, 13));
    llq_close(f);
}
END_TEST

/* A big string array (a tokenizer's vocabulary) has O(1) element access. */
START_TEST(meta_large_string_array)
{
    enum { N = 50000 };
    char **strs = malloc(N * sizeof *strs);
    uint64_t *lens = malloc(N * sizeof *lens);
    for (int i = 0; i < N; i++) {
        strs[i] = malloc(16);
        lens[i] = (uint64_t)snprintf(strs[i], 16, "tok%d", i);
    }
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_meta_arr_str(w, "tokenizer.tokens", (const char *const *)strs, lens, N), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    llq_file *f;
    ck_assert_int_eq(llq_open(&f, path), 0);
    const llq_meta *m = llq_meta_find(f, "tokenizer.tokens");
    int bad = 0; /* (one ck_assert per element would be slow: Check reports every assertion to its parent) */
    for (int i = N - 1; i >= 0; i--) {
        const char *s;
        uint64_t len;
        bad += llq_meta_arr_str(m, (uint64_t)i, &s, &len) != 0 || len != lens[i] || memcmp(s, strs[i], len) != 0;
    }
    ck_assert_int_eq(bad, 0);
    llq_close(f);
    for (int i = 0; i < N; i++)
        free(strs[i]);
    free(strs);
    free(lens);
}
END_TEST

/* ---- layouts ---- */

START_TEST(row_bytes_and_geometry)
{
    uint64_t rb, g, G;
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_F32, 0, 10), 0);
    ck_assert_uint_eq(rb, 40);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_BF16, 0, 10), 0);
    ck_assert_uint_eq(rb, 20);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q4, 128, 4096), 0);
    ck_assert_uint_eq(rb, 2048 + 64);
    ck_assert(8.0 * (double)rb / 4096 == 4.125);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q4A, 128, 4096), 0);
    ck_assert(8.0 * (double)rb / 4096 == 4.1875);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q8, 32, 4096), 0);
    ck_assert(8.0 * (double)rb / 4096 == 8.5);
    /* K = 40, g = 32: two groups, Kp = 64 */
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q8, 32, 40), 0);
    ck_assert_uint_eq(rb, 64 + 4);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q4A, 32, 40), 0);
    ck_assert_uint_eq(rb, 32 + 6);
    /* per-row: K = 40 -> one group of 64 */
    llq_group_geometry(0, 40, &g, &G);
    ck_assert_uint_eq(g, 64);
    ck_assert_uint_eq(G, 1);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q4, 0, 40), 0);
    ck_assert_uint_eq(rb, 32 + 2);
    llq_group_geometry(128, 300, &g, &G);
    ck_assert_uint_eq(g, 128);
    ck_assert_uint_eq(G, 3);
    /* validity */
    ck_assert(llq_group_valid(LLQ_Q4, 64) && llq_group_valid(LLQ_Q8, 0));
    ck_assert(!llq_group_valid(LLQ_Q4, 16) && !llq_group_valid(LLQ_F32, 32) && !llq_group_valid(23, 0));
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_F16, 32, 10), LLQ_EINVAL);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_F32, 0, UINT64_MAX / 2), LLQ_EFORMAT);
    ck_assert_int_eq(llq_row_bytes(&rb, LLQ_Q8, 0, UINT64_MAX - 3), LLQ_EFORMAT);
}
END_TEST

/* The type table is the one authority: every row is named, parses back, and its geometry matches the
 * formulas of docs/FORMAT.md section 5 written out here independently. */
START_TEST(type_table_matches_format_doc)
{
    size_t n = 0;
    for (const llq_type_info *ti; (ti = llq_type_info_at(n)) != NULL; n++) {
        uint32_t back = UINT32_MAX;
        ck_assert_ptr_eq(llq_type_info_of(ti->type), ti);
        ck_assert_str_eq(llq_type_name(ti->type), ti->name);
        ck_assert_int_eq(llq_type_parse(&back, ti->name), 0);
        ck_assert_uint_eq(back, ti->type);
        ck_assert_int_eq(llq_type_is_quant(ti->type), ti->scale_bytes != 0);
        ck_assert_int_eq(llq_type_is_block(ti->type), ti->block_weights > 1 && ti->scale_bytes == 0);
        ck_assert_uint_gt(ti->block_bytes, 0);
        if (!ti->scale_bytes)
            continue;
        ck_assert(!llq_group_valid(ti->type, 96) && !llq_group_valid(ti->type, 256));
        for (uint32_t group = 0; group <= LLQ_QGROUP_MAX; group = group ? 2 * group : LLQ_QBLOCK) {
            for (uint64_t K = 1; K < 300; K += 37) {
                llq_qrow q;
                ck_assert_int_eq(llq_qrow_init(&q, ti->type, group, K), 0);
                uint64_t g = group ? group : (K + 31) / 32 * 32, G = (K + g - 1) / g, Kp = G * g;
                uint64_t codes = ti->type == LLQ_Q8 ? Kp : Kp / 2;
                ck_assert_uint_eq(q.glen, g);
                ck_assert_uint_eq(q.n_groups, G);
                ck_assert_uint_eq(q.padded, Kp);
                ck_assert_uint_eq(q.scales, codes);
                ck_assert_uint_eq(q.zeros, ti->type == LLQ_Q4A ? codes + 2 * G : 0);
                ck_assert_uint_eq(q.row_bytes, codes + (ti->type == LLQ_Q4A ? 3 : 2) * G);
            }
        }
    }
    ck_assert_uint_eq(n, 18); /* f32 f16 bf16 q8 q4 q4a + 12 ggml block types */
    ck_assert(llq_type_is_grouped(LLQ_Q4A) && !llq_type_is_grouped(LLQ_F16) && !llq_type_is_grouped(99));
    ck_assert_ptr_null(llq_type_info_of(99));
    uint32_t t;
    ck_assert_int_eq(llq_type_parse(&t, "q5"), LLQ_EINVAL);
    ck_assert_str_eq(llq_errmsg(), "unknown tensor type 'q5' (expected one of f32, f16, bf16, q8, q4, q4a, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs)");
}
END_TEST

static void set_f16(uint8_t *p, float v)
{
    uint16_t h = llq_f32_to_f16(v);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* Hand-packed rows, written from the spec's words, dequantize as the spec says. */
START_TEST(dequant_q8_partial_group)
{
    /* K = 40, g = 32: q[64] then d[2]; elements 40..63 are padding */
    uint8_t row[68] = {0};
    int8_t *q = (int8_t *)row;
    for (int k = 0; k < 40; k++)
        q[k] = (int8_t)(k % 2 ? -k : k);
    q[50] = 99; /* padding: ignored */
    q[3] = -128; /* readers accept -128 */
    set_f16(row + 64, 0.5f);
    set_f16(row + 66, 0.25f);
    float out[40];
    llq_row_to_f32(out, row, LLQ_Q8, 32, 40);
    for (int k = 0; k < 40; k++) {
        float want = (k < 32 ? 0.5f : 0.25f) * (float)(k == 3 ? -128 : (k % 2 ? -k : k));
        ck_assert_msg(out[k] == want, "k=%d got %g want %g", k, (double)out[k], (double)want);
    }
}
END_TEST

START_TEST(dequant_q4_nibble_order)
{
    /* K = 70, g = 64: Kp = 128 -> 64 nibble bytes, then d[2] */
    uint8_t row[64 + 4];
    unsigned n[128];
    memset(row, 0, sizeof row);
    for (int k = 0; k < 128; k++)
        n[k] = (unsigned)(k * 5 + (k / 16) * 3 + 1) % 16; /* k and k+16 differ */
    for (int k = 0; k < 128; k++) { /* byte 16c+i: low = element 32c+i, high = element 32c+16+i */
        int c = k / 32, r = k % 32;
        row[16 * c + r % 16] |= (uint8_t)(r < 16 ? n[k] : n[k] << 4);
    }
    set_f16(row + 64, 2.0f);
    set_f16(row + 66, -0.125f);
    float out[70];
    llq_row_to_f32(out, row, LLQ_Q4, 64, 70);
    for (int k = 0; k < 70; k++)
        ck_assert(out[k] == (k < 64 ? 2.0f : -0.125f) * (float)((int)n[k] - 8));
    /* explicit bytes: element 0 low nibble of byte 0, element 16 its high nibble, element 32 byte 16 low */
    ck_assert_uint_eq(row[0] & 15, n[0]);
    ck_assert_uint_eq(row[0] >> 4, n[16]);
    ck_assert_uint_eq(row[16] & 15, n[32]);
}
END_TEST

START_TEST(dequant_q4a_per_row)
{
    /* K = 33, per-row: g = 64, one group: 32 nibble bytes, d[1], z[1] */
    uint8_t row[32 + 3] = {0};
    for (int k = 0; k < 33; k++) {
        unsigned v = (unsigned)(k * 3 + k / 16) % 16;
        int c = k / 32, r = k % 32;
        row[16 * c + r % 16] |= (uint8_t)(r < 16 ? v : v << 4);
    }
    set_f16(row + 32, 0.75f);
    row[34] = 3; /* zero point */
    float out[33];
    llq_row_to_f32(out, row, LLQ_Q4A, 0, 33);
    for (int k = 0; k < 33; k++)
        ck_assert(out[k] == 0.75f * (float)((int)((k * 3 + k / 16) % 16) - 3));
}
END_TEST

START_TEST(convert_float_rows)
{
    float src[5] = {1.0f, -2.5f, 0.0f, 65504.0f, 1e-3f}, out[5];
    uint8_t h[10], b[10];
    for (int i = 0; i < 5; i++) {
        set_f16(h + 2 * i, src[i]);
        uint16_t x = llq_f32_to_bf16(src[i]);
        b[2 * i] = (uint8_t)x;
        b[2 * i + 1] = (uint8_t)(x >> 8);
    }
    llq_row_to_f32(out, src, LLQ_F32, 0, 5);
    ck_assert(memcmp(out, src, sizeof src) == 0);
    llq_row_to_f32(out, h, LLQ_F16, 0, 5);
    for (int i = 0; i < 5; i++)
        ck_assert(out[i] == llq_f16_to_f32(llq_f32_to_f16(src[i])));
    llq_row_to_f32(out, b, LLQ_BF16, 0, 5);
    for (int i = 0; i < 5; i++)
        ck_assert(out[i] == llq_bf16_to_f32(llq_f32_to_bf16(src[i])));
}
END_TEST

/* ---- tensors ---- */

typedef struct spec {
    const char *name;
    uint32_t type, n_dims, group;
    uint64_t dims[4];
} spec;

static const spec SPECS[] = {
    {"t.f32", LLQ_F32, 1, 0, {7}},
    {"t.f16", LLQ_F16, 2, 0, {3, 5}},
    {"t.bf16", LLQ_BF16, 3, 0, {2, 3, 9}},
    {"t.q8.g32", LLQ_Q8, 2, 32, {4, 40}},
    {"t.q8.row", LLQ_Q8, 2, 0, {3, 100}},
    {"t.q4.g64", LLQ_Q4, 2, 64, {5, 130}},
    {"t.q4.g128", LLQ_Q4, 4, 128, {1, 2, 1, 256}},
    {"t.q4a.g32", LLQ_Q4A, 2, 32, {6, 33}},
    {"t.q4a.row", LLQ_Q4A, 1, 0, {77}},
};
#define N_SPECS (sizeof SPECS / sizeof SPECS[0])

static uint64_t spec_size(const spec *s)
{
    uint64_t rb, rows = 1;
    ck_assert_int_eq(llq_row_bytes(&rb, s->type, s->group, s->dims[s->n_dims - 1]), 0);
    for (uint32_t d = 0; d + 1 < s->n_dims; d++)
        rows *= s->dims[d];
    return rb * rows;
}

/* Writes every spec with random bytes, in chunks of chunk bytes (0 = one call); returns the data. */
static uint8_t **write_specs(size_t chunk)
{
    uint8_t **data = calloc(N_SPECS, sizeof *data);
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_meta_str(w, "general.name", "t", 1), 0);
    for (size_t i = 0; i < N_SPECS; i++) {
        const spec *s = &SPECS[i];
        uint64_t n = spec_size(s);
        data[i] = malloc(n);
        for (uint64_t k = 0; k < n; k++)
            data[i][k] = (uint8_t)rnd();
        if (!chunk) {
            ck_assert_int_eq(llq_writer_add(w, s->name, s->type, s->n_dims, s->dims, s->group, data[i], n), 0);
            continue;
        }
        ck_assert_int_eq(llq_writer_begin(w, s->name, s->type, s->n_dims, s->dims, s->group), 0);
        for (uint64_t k = 0; k < n;) {
            size_t c = chunk == 1 ? 1 + rnd() % 13 : chunk;
            if (c > n - k)
                c = n - k;
            ck_assert_int_eq(llq_writer_write(w, data[i] + k, c), 0);
            k += c;
        }
        ck_assert_int_eq(llq_writer_end(w), 0);
    }
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    return data;
}

/* The file at path holds data[] as SPECS says: opened mapped, then read into memory (LLQ_OPEN_READ: 2 MiB
 * aligned, and llq_verify_tensor's page dropping must not lose the copy, so the bytes are compared after it). */
static void check_specs(uint8_t **data)
{
    for (unsigned mode = 0; mode <= LLQ_OPEN_READ; mode += LLQ_OPEN_READ) {
        llq_file *f;
        ck_assert_int_eq(llq_open_flags(&f, path, mode), 0);
        ck_assert_uint_eq(llq_n_tensors(f), N_SPECS);
        for (size_t i = 0; i < N_SPECS; i++) {
            const spec *s = &SPECS[i];
            const llq_tensor *t = llq_tensor_find(f, s->name);
            ck_assert_ptr_nonnull(t);
            ck_assert_ptr_eq(t, llq_tensor_at(f, i));
            ck_assert_uint_eq(t->type, s->type);
            ck_assert_uint_eq(t->n_dims, s->n_dims);
            ck_assert_uint_eq(t->group, s->group);
            uint64_t ne = 1;
            for (uint32_t d = 0; d < s->n_dims; d++) {
                ck_assert_uint_eq(t->dims[d], s->dims[d]);
                ne *= s->dims[d];
            }
            ck_assert_uint_eq(t->n_elem, ne);
            ck_assert_uint_eq(t->row_len, s->dims[s->n_dims - 1]);
            ck_assert_uint_eq(t->n_rows * t->row_len, ne);
            ck_assert_uint_eq(t->size, spec_size(s));
            ck_assert_uint_eq(t->row_bytes * t->n_rows, t->size);
            ck_assert_uint_eq(t->offset % LLQ_ALIGN, 0);
            ck_assert_uint_eq((uintptr_t)t->data % LLQ_ALIGN, 0);
            if (mode == LLQ_OPEN_READ)
                ck_assert_uint_eq(((uintptr_t)t->data - t->offset) % (2u << 20), 0);
            ck_assert(memcmp(t->data, data[i], t->size) == 0);
            ck_assert_int_eq(llq_verify_tensor(f, t), 0);
            ck_assert(memcmp(t->data, data[i], t->size) == 0);
        }
        ck_assert_ptr_null(llq_tensor_find(f, "absent"));
        ck_assert_ptr_null(llq_tensor_at(f, N_SPECS));
        llq_close(f);
    }
    for (size_t i = 0; i < N_SPECS; i++)
        free(data[i]);
    free(data);
}

START_TEST(tensor_roundtrip_every_type)
{
    check_specs(write_specs(0));
}
END_TEST

START_TEST(tensor_streaming_chunks)
{
    check_specs(write_specs(1)); /* random 1..13-byte chunks */
}
END_TEST

/* The file's layout is exactly what FORMAT.md says: header fields, data from 128, meta then table at the end. */
START_TEST(layout_matches_spec)
{
    check_specs(write_specs(0));
    size_t n;
    uint8_t *b = read_whole(path, &n);
    uint64_t fsize, moff, msize, toff, tsize;
    uint32_t major, minor, nt;
    memcpy(&major, b + 8, 4);
    memcpy(&minor, b + 12, 4);
    memcpy(&fsize, b + 16, 8);
    memcpy(&moff, b + 24, 8);
    memcpy(&msize, b + 32, 8);
    memcpy(&toff, b + 40, 8);
    memcpy(&tsize, b + 48, 8);
    memcpy(&nt, b + 56, 4);
    ck_assert(memcmp(b, "\x89LLQ\r\n\x1a\n", 8) == 0);
    ck_assert_uint_eq(major, 1);
    ck_assert_uint_eq(minor, LLQ_FORMAT_MINOR);
    ck_assert_uint_eq(fsize, n);
    ck_assert_uint_eq(toff + tsize, n);
    ck_assert_uint_eq(moff + msize, toff);
    ck_assert_uint_eq(moff % 64, 0);
    ck_assert_uint_eq(nt, N_SPECS);
    for (int i = 72; i < 124; i++)
        ck_assert_uint_eq(b[i], 0);
    uint32_t crc;
    memcpy(&crc, b + 124, 4);
    ck_assert_uint_eq(crc, llq_crc32(0, b, 124));
    memcpy(&crc, b + 60, 4);
    ck_assert_uint_eq(crc, llq_crc32(0, b + moff, msize));
    free(b);
}
END_TEST

/* ---- writer failure semantics ---- */

START_TEST(writer_no_output_until_commit)
{
    llq_writer *w;
    float x[4] = {1, 2, 3, 4};
    uint64_t d = 4;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_add(w, "x", LLQ_F32, 1, &d, 0, x, sizeof x), 0);
    const char *tmp = llq_writer_temp_path(w);
    ck_assert_ptr_nonnull(tmp);
    ck_assert(strncmp(tmp, path, strlen(path)) == 0 && strstr(tmp, ".tmp.") != NULL);
    ck_assert_int_eq(access(tmp, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    llq_writer_free(w); /* not committed: temp removed, nothing left */
    ck_assert_int_eq(n_files(), 0);
}
END_TEST

START_TEST(writer_refuses_existing_unless_force)
{
    write_whole(path, "precious", 8);
    llq_writer *w = (llq_writer *)1;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), LLQ_EEXIST);
    ck_assert_ptr_null(w);
    ck_assert(strstr(llq_errmsg(), path) != NULL);
    ck_assert_ptr_null(strstr(llq_errmsg(), "--")); /* the library names no flag; the tools add it */
    ck_assert_int_eq(n_files(), 1);
    /* appears between open and commit: still not replaced */
    unlink(path);
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    write_whole(path, "precious", 8);
    ck_assert_int_eq(llq_writer_commit(w), LLQ_EEXIST);
    ck_assert_ptr_null(strstr(llq_errmsg(), "--"));
    llq_writer_free(w);
    size_t n;
    char *b = read_whole(path, &n);
    ck_assert(n == 8 && memcmp(b, "precious", 8) == 0);
    free(b);
    ck_assert_int_eq(n_files(), 1);
    /* force replaces */
    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_writer_meta_u32(w, "k", 1), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    ck_assert_ptr_null(llq_writer_temp_path(w));
    llq_writer_free(w);
    ck_assert_int_eq(n_files(), 1);
    llq_file *f;
    ck_assert_int_eq(llq_open(&f, path), 0);
    llq_close(f);
}
END_TEST

START_TEST(writer_size_mismatch_poisons)
{
    llq_writer *w;
    float x[5] = {0};
    uint64_t d = 4;
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_begin(w, "x", LLQ_F32, 1, &d, 0), 0);
    ck_assert_int_eq(llq_writer_write(w, x, 20), LLQ_EINVAL); /* 16 expected */
    ck_assert_int_ne(llq_writer_commit(w), 0);
    llq_writer_free(w);
    ck_assert_int_eq(n_files(), 0);

    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_begin(w, "x", LLQ_F32, 1, &d, 0), 0);
    ck_assert_int_eq(llq_writer_write(w, x, 12), 0);
    ck_assert_int_eq(llq_writer_end(w), LLQ_EINVAL); /* short */
    ck_assert_int_ne(llq_writer_commit(w), 0);
    llq_writer_free(w);
    ck_assert_int_eq(n_files(), 0);
}
END_TEST

START_TEST(writer_rejects_bad_tensors)
{
    llq_writer *w;
    uint64_t d2[2] = {2, 40}, d0[2] = {2, 0};
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    ck_assert_int_eq(llq_writer_begin(w, "a", 23, 2, d2, 0), LLQ_EINVAL);
    ck_assert_int_eq(llq_writer_begin(w, "a", LLQ_Q4, 2, d2, 16), LLQ_EINVAL);
    ck_assert_int_eq(llq_writer_begin(w, "a", LLQ_F16, 2, d2, 32), LLQ_EINVAL);
    ck_assert_int_eq(llq_writer_begin(w, "a", LLQ_F16, 5, d2, 0), LLQ_EINVAL);
    ck_assert_int_eq(llq_writer_begin(w, "a", LLQ_F16, 2, d0, 0), LLQ_EINVAL);
    ck_assert_int_eq(llq_writer_begin(w, "", LLQ_F16, 2, d2, 0), LLQ_EINVAL);
    uint64_t huge[2] = {1ull << 40, 1ull << 40};
    ck_assert_int_eq(llq_writer_begin(w, "a", LLQ_F32, 2, huge, 0), LLQ_EINVAL);
    uint16_t z[80] = {0};
    ck_assert_int_eq(llq_writer_add(w, "a", LLQ_F16, 2, d2, 0, z, sizeof z), 0);
    ck_assert_int_eq(llq_writer_begin(w, "a", LLQ_F16, 2, d2, 0), LLQ_EINVAL); /* duplicate name */
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
}
END_TEST

/* Every write is checked: a file-size limit makes a write fail; the error names the temp file and nothing
 * is left behind. */
START_TEST(writer_write_failure_leaves_nothing)
{
    struct rlimit rl = {1 << 20, 1 << 20};
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    llq_writer *w;
    uint64_t d = 1 << 20; /* 4 MiB of f32 > the 1 MiB limit */
    float *x = calloc(d, sizeof *x);
    ck_assert_int_eq(llq_writer_open(&w, path, 0), 0);
    int rc = llq_writer_add(w, "x", LLQ_F32, 1, &d, 0, x, d * 4);
    if (rc == 0)
        rc = llq_writer_commit(w);
    ck_assert_int_eq(rc, LLQ_EIO);
    ck_assert(strstr(llq_errmsg(), ".tmp.") != NULL);
    ck_assert_int_ne(llq_writer_commit(w), 0);
    llq_writer_free(w);
    ck_assert_int_eq(n_files(), 0);
    free(x);
}
END_TEST

START_TEST(writer_missing_folder)
{
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, "/nonexistent-llq-dir/x.llq", 0), LLQ_ENOTFOUND);
    ck_assert(strstr(llq_errmsg(), "/nonexistent-llq-dir: no such directory (for /nonexistent-llq-dir/x.llq)") != NULL);
}
END_TEST

/* ---- the reader refuses damaged files (more in tests/fixtures/format via tests/cli/inspect.sh) ---- */

static void fix_header_crc(uint8_t *b)
{
    uint32_t c = llq_crc32(0, b, 124);
    memcpy(b + 124, &c, 4);
}

static int open_bytes(const uint8_t *b, size_t n)
{
    char p[160];
    snprintf(p, sizeof p, "%s/bad.llq", dir);
    write_whole(p, b, n);
    llq_file *f = NULL;
    int rc = llq_open(&f, p);
    if (rc) {
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(llq_errmsg(), p) == llq_errmsg(), "message does not start with the file: %s",
                      llq_errmsg());
    }
    llq_close(f);
    ck_assert_int_eq(llq_open_flags(&f, p, LLQ_OPEN_READ), rc); /* read into memory: the same verdict */
    if (rc)
        ck_assert_ptr_null(f);
    llq_close(f);
    unlink(p);
    return rc;
}

START_TEST(reader_refuses_damage)
{
    check_specs(write_specs(0));
    size_t n;
    uint8_t *good = read_whole(path, &n), *b = malloc(n + 64);
    ck_assert_int_eq(open_bytes(good, n), 0);
    /* every truncation is refused */
    for (size_t k = 0; k < n; k += (k < 256 ? 1 : 97))
        ck_assert_int_ne(open_bytes(good, k), 0);
    /* appended garbage */
    memcpy(b, good, n);
    memset(b + n, 0, 64);
    ck_assert_int_eq(open_bytes(b, n + 64), LLQ_EFORMAT);
    /* magic */
    memcpy(b, good, n);
    b[3] = 'X';
    ck_assert_int_eq(open_bytes(b, n), LLQ_EFORMAT);
    ck_assert(strstr(llq_errmsg(), "magic") != NULL);
    /* newer major */
    memcpy(b, good, n);
    b[8] = 2;
    fix_header_crc(b);
    ck_assert_int_eq(open_bytes(b, n), LLQ_EVERSION);
    /* header crc */
    memcpy(b, good, n);
    b[100] = 1;
    ck_assert_int_eq(open_bytes(b, n), LLQ_ECRC);
    /* flags */
    memcpy(b, good, n);
    b[68] = 1;
    fix_header_crc(b);
    ck_assert_int_eq(open_bytes(b, n), LLQ_EUNSUPPORTED);
    /* a flipped byte in the metadata or the table: CRC */
    uint64_t moff, toff;
    memcpy(&moff, good + 24, 8);
    memcpy(&toff, good + 40, 8);
    memcpy(b, good, n);
    b[moff + 5] ^= 1;
    ck_assert_int_eq(open_bytes(b, n), LLQ_ECRC);
    memcpy(b, good, n);
    b[toff + 5] ^= 1;
    ck_assert_int_eq(open_bytes(b, n), LLQ_ECRC);
    /* metadata offset past the end */
    memcpy(b, good, n);
    uint64_t big = n;
    memcpy(b + 24, &big, 8);
    fix_header_crc(b);
    ck_assert_int_eq(open_bytes(b, n), LLQ_EFORMAT);
    /* table size wrapping around */
    memcpy(b, good, n);
    big = UINT64_MAX - 10;
    memcpy(b + 48, &big, 8);
    fix_header_crc(b);
    ck_assert_int_eq(open_bytes(b, n), LLQ_EFORMAT);
    /* a flipped data byte is not seen at open, only by llq_verify_tensor */
    memcpy(b, good, n);
    b[128 + 3] ^= 0x40;
    char p[160];
    snprintf(p, sizeof p, "%s/bad.llq", dir);
    write_whole(p, b, n);
    llq_file *f;
    ck_assert_int_eq(llq_open(&f, p), 0);
    ck_assert_int_eq(llq_verify_tensor(f, llq_tensor_at(f, 0)), LLQ_ECRC);
    ck_assert(strstr(llq_errmsg(), "t.f32") != NULL && strstr(llq_errmsg(), p) != NULL);
    ck_assert_int_eq(llq_verify_tensor(f, llq_tensor_at(f, 1)), 0);
    llq_close(f);
    free(good);
    free(b);
}
END_TEST


/* Random damage with every CRC recomputed, so that the parser itself (not the checksums) must catch it; whatever
 * opens must be safe to use fully (ASan/UBSan run this too). */
static void fix_all_crcs(uint8_t *b, size_t n)
{
    uint64_t moff, msize, toff, tsize;
    memcpy(&moff, b + 24, 8);
    memcpy(&msize, b + 32, 8);
    memcpy(&toff, b + 40, 8);
    memcpy(&tsize, b + 48, 8);
    if (moff <= n && msize <= n - moff) {
        uint32_t c = llq_crc32(0, b + moff, msize);
        memcpy(b + 60, &c, 4);
    }
    if (toff <= n && tsize <= n - toff) {
        uint32_t c = llq_crc32(0, b + toff, tsize);
        memcpy(b + 64, &c, 4);
    }
    fix_header_crc(b);
}

/* Touches every byte the reader hands out; returns the number of inconsistencies found. */
static int use_everything(const llq_file *f)
{
    int bad = 0;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        bad += llq_meta_find(f, m->key) != m;
        for (uint64_t k = 0; k < m->value_size; k++)
            sink ^= m->value[k];
        for (uint64_t k = 0; m->type == LLQ_META_ARR && k < m->count; k++) {
            const char *s;
            uint64_t len;
            if (m->elem_type == LLQ_META_STR) {
                bad += llq_meta_arr_str(m, k, &s, &len) != 0;
                for (uint64_t c = 0; c < len; c++)
                    sink ^= (uint8_t)s[c];
            } else {
                sink ^= (uint8_t)(llq_meta_arr_num(m, k) > 0);
            }
        }
    }
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        bad += llq_tensor_find(f, t->name) != t || t->offset + t->size > llq_file_size(f);
        float *row = malloc(t->row_len * sizeof *row);
        for (uint64_t r = 0; r < t->n_rows; r++)
            llq_row_to_f32(row, (const uint8_t *)t->data + r * t->row_bytes, t->type, t->group, t->row_len);
        free(row);
        llq_verify_tensor(f, t);
    }
    (void)sink;
    return bad;
}

START_TEST(reader_fuzz_fixed_crcs)
{
    check_specs(write_specs(0));
    llq_writer *w;
    /* add metadata of every kind to the file to be damaged */
    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    const char *strs[2] = {"ab", "cde"};
    uint64_t lens[2] = {2, 3};
    uint32_t nums[3] = {1, 2, 3};
    uint64_t d[2] = {2, 40};
    uint8_t q[80] = {0}; /* q4a: 2 rows of 38 bytes; f16: 40 values */
    ck_assert_int_eq(llq_writer_meta_arr_str(w, "s", strs, lens, 2), 0);
    ck_assert_int_eq(llq_writer_meta_arr(w, "n", LLQ_META_U32, nums, 3), 0);
    ck_assert_int_eq(llq_writer_meta_bool(w, "b", 1), 0);
    ck_assert_int_eq(llq_writer_meta_str(w, "t", "xyz", 3), 0);
    ck_assert_int_eq(llq_writer_add(w, "q", LLQ_Q4A, 2, d, 32, q, 2 * 38), 0);
    ck_assert_int_eq(llq_writer_add(w, "r", LLQ_F16, 1, d + 1, 0, q, 80), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    size_t n;
    uint8_t *good = read_whole(path, &n), *b = malloc(n);
    char p[160];
    snprintf(p, sizeof p, "%s/fuzz.llq", dir);
    int opened = 0, bad = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(b, good, n);
        int flips = 1 + (int)(rnd() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = it % 3 == 0 ? 8 + rnd() % 64 : 128 + rnd() % (n - 128); /* header fields, or the rest */
            b[at] = (uint8_t)(rnd() % 3 == 0 ? b[at] ^ (1u << (rnd() % 8)) : rnd());
        }
        fix_all_crcs(b, n);
        write_whole(p, b, n);
        llq_file *f = NULL;
        int rc = llq_open(&f, p);
        if (rc == 0) {
            opened++;
            bad += use_everything(f);
            llq_close(f);
        } else {
            bad += f != NULL || strncmp(llq_errmsg(), p, strlen(p)) != 0;
        }
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_gt(opened, 0); /* damage to data bytes leaves a file that opens */
    free(good);
    free(b);
}
END_TEST

/* ---- hyper-parameters ---- */

static const llq_hparams HP = {.arch = "llama", .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 96,
                               .vocab_size = 50, .context_length = 128, .norm_eps = 1e-5f, .rope_theta = 10000.0f};

static void write_model(const llq_hparams *hp, int skip_wk1)
{
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_hparams_write(w, hp), 0);
    uint64_t dim = hp->dim, hd = dim / hp->n_heads, kv = hp->n_kv_heads * hd;
    float *z = calloc(hp->vocab_size * dim + hp->ffn_dim * dim, sizeof *z);
    struct {
        const char *n;
        uint32_t nd;
        uint64_t d0, d1;
    } t[] = {{"attention_norm.weight", 1, dim, 0}, {"attention.wq.weight", 2, dim, dim},
             {"attention.wk.weight", 2, kv, dim},  {"attention.wv.weight", 2, kv, dim},
             {"attention.wo.weight", 2, dim, dim}, {"ffn_norm.weight", 1, dim, 0},
             {"feed_forward.w1.weight", 2, hp->ffn_dim, dim}, {"feed_forward.w2.weight", 2, dim, hp->ffn_dim},
             {"feed_forward.w3.weight", 2, hp->ffn_dim, dim}};
    uint64_t ed[2] = {hp->vocab_size, dim};
    ck_assert_int_eq(llq_writer_add(w, "tok_embeddings.weight", LLQ_F32, 2, ed, 0, z, ed[0] * ed[1] * 4), 0);
    for (uint32_t l = 0; l < hp->n_layers; l++)
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "layers.%u.%s", l, t[i].n);
            if (skip_wk1 && l == 1 && i == 2)
                continue;
            uint64_t d[2] = {t[i].d0, t[i].d1};
            ck_assert_int_eq(llq_writer_add(w, name, LLQ_F32, t[i].nd, d, 0, z, d[0] * (t[i].nd == 2 ? d[1] : 1) * 4), 0);
        }
    ck_assert_int_eq(llq_writer_add(w, "norm.weight", LLQ_F32, 1, ed + 1, 0, z, dim * 4), 0);
    ck_assert_int_eq(llq_writer_add(w, "output.weight", LLQ_F32, 2, ed, 0, z, ed[0] * ed[1] * 4), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    free(z);
}

START_TEST(hparams_roundtrip_and_tensors)
{
    write_model(&HP, 0);
    llq_file *f;
    llq_hparams hp;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), 0);
    ck_assert(memcmp(&hp, &HP, sizeof hp) == 0);
    ck_assert_int_eq(llq_hparams_check_tensors(&hp, f), 0);
    llq_close(f);

    write_model(&HP, 1);
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_hparams_check_tensors(&hp, f), LLQ_ENOTFOUND);
    ck_assert(strstr(llq_errmsg(), "layers.1.attention.wk.weight") != NULL);
    hp.n_kv_heads = 4; /* wk now expected [64, 64] */
    write_model(&HP, 0);
    llq_close(f);
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_hparams_check_tensors(&hp, f), LLQ_EFORMAT);
    ck_assert(strstr(llq_errmsg(), "layers.0.attention.wk.weight") && strstr(llq_errmsg(), "[32, 64]"));
    llq_close(f);
    /* llama.n_layers smaller than the layers in the file: the extra layers would be silently skipped */
    hp = HP;
    hp.n_layers = HP.n_layers - 1;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_hparams_check_tensors(&hp, f), LLQ_EFORMAT);
    ck_assert_msg(strstr(llq_errmsg(), "tensor 'layers.1.attention_norm.weight' is of layer 1, but llama.n_layers is "
                                       "1"), "%s", llq_errmsg());
    llq_close(f);
}
END_TEST

START_TEST(hparams_refuses_inconsistent)
{
    llq_hparams bad = HP;
    bad.n_kv_heads = 3; /* 4 % 3 != 0 */
    write_model(&HP, 0);
    llq_writer *w;
    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_hparams_write(w, &bad), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    llq_file *f;
    llq_hparams hp;
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), LLQ_EFORMAT);
    ck_assert(strstr(llq_errmsg(), "n_kv_heads") != NULL);
    llq_close(f);

    ck_assert_int_eq(llq_writer_open(&w, path, LLQ_W_FORCE), 0);
    ck_assert_int_eq(llq_writer_meta_str(w, "general.architecture", "llama", 5), 0);
    ck_assert_int_eq(llq_writer_meta_u32(w, "llama.dim", 64), 0);
    ck_assert_int_eq(llq_writer_commit(w), 0);
    llq_writer_free(w);
    ck_assert_int_eq(llq_open(&f, path), 0);
    ck_assert_int_eq(llq_hparams_read(&hp, f), LLQ_ENOTFOUND);
    ck_assert(strstr(llq_errmsg(), "llama.n_layers") != NULL);
    llq_close(f);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("format");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, meta_roundtrip_every_type);
    tcase_add_test(tc, meta_large_string_array);
    tcase_add_test(tc, row_bytes_and_geometry);
    tcase_add_test(tc, type_table_matches_format_doc);
    tcase_add_test(tc, dequant_q8_partial_group);
    tcase_add_test(tc, dequant_q4_nibble_order);
    tcase_add_test(tc, dequant_q4a_per_row);
    tcase_add_test(tc, convert_float_rows);
    tcase_add_test(tc, tensor_roundtrip_every_type);
    tcase_add_test(tc, tensor_streaming_chunks);
    tcase_add_test(tc, layout_matches_spec);
    tcase_add_test(tc, writer_no_output_until_commit);
    tcase_add_test(tc, writer_refuses_existing_unless_force);
    tcase_add_test(tc, writer_size_mismatch_poisons);
    tcase_add_test(tc, writer_rejects_bad_tensors);
    tcase_add_test(tc, writer_write_failure_leaves_nothing);
    tcase_add_test(tc, writer_missing_folder);
    tcase_add_test(tc, reader_refuses_damage);
    tcase_add_test(tc, reader_fuzz_fixed_crcs);
    tcase_add_test(tc, hparams_roundtrip_and_tensors);
    tcase_add_test(tc, hparams_refuses_inconsistent);
    suite_add_tcase(s, tc);
    return s;
}
