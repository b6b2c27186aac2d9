/* mkllq.c — test helper: writes small .llq files through the library for tests/cli/inspect.sh.
 *
 *   mkllq model OUT [--quant q8|q4|q4a GROUP] [--shift X] [--drop NAME]
 *       a tiny LLaMA (dim 64, 2 layers, 4 heads, 2 kv heads, ffn 80, vocab 50) with tokenizer.* and
 *       provenance.* keys; deterministic pseudo-random weights (+X on every value with --shift); --quant
 *       rounds every 2-D matrix to nearest with the given type and group (0 = per row) and adds quant.* keys;
 *       --drop leaves tensor NAME out.
 *   mkllq known OUT
 *       tensors with known statistics: k.sym = [-3, -1, 1, 3], k.outlier = 1000 zeros and one 1000,
 *       k.nan = [1, NaN, 3], k.q4 = q4 g32 row of 40 with scale 0.5 and nibbles k % 16.
 *   mkllq mismatch OUT
 *       norm.weight of shape [32] (the model's is [64]) and extra.weight.
 *   mkllq big OUT MIB
 *       one f32 tensor "big.weight" of about MIB MiB (rows of 4096), streamed in rows: for memory tests.
 */
#include "llq/format.h"
#include "llq/hparams.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static const char *drop = "";

static float gauss(void) /* sum of 4 uniforms: roughly normal, deterministic */
{
    float s = 0;
    for (int i = 0; i < 4; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        s += (float)(rng >> 40) / (float)(1 << 24) - 0.5f;
    }
    return s * 0.1f;
}

static int die(int rc)
{
    if (!rc)
        return 0;
    fprintf(stderr, "mkllq: %s\n", llq_errmsg());
    return 1;
}

static void put_f16(uint8_t *p, float v)
{
    uint16_t h = llq_f32_to_f16(v);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* Round-to-nearest quantization of one row of k values into out (llq_row_bytes bytes), per docs/FORMAT.md. */
static void quant_row(uint8_t *out, const float *x, uint32_t type, uint32_t group, uint64_t k)
{
    uint64_t g, G;
    llq_group_geometry(group, k, &g, &G);
    uint64_t kp = g * G;
    uint8_t *d = out + (type == LLQ_Q8 ? kp : kp / 2), *z = d + 2 * G;
    memset(out, 0, type == LLQ_Q8 ? kp : kp / 2);
    for (uint64_t j = 0; j < G; j++) {
        uint64_t a = j * g, b = a + g < k ? a + g : k;
        float mn = 0, mx = 0, amax = 0;
        for (uint64_t i = a; i < b; i++) {
            amax = fmaxf(amax, fabsf(x[i]));
            mn = fminf(mn, x[i]);
            mx = fmaxf(mx, x[i]);
        }
        float s;
        int zero = 8;
        if (type == LLQ_Q8)
            s = amax / 127;
        else if (type == LLQ_Q4)
            s = amax / 7;
        else {
            s = (mx - mn) / 15;
            zero = s > 0 ? (int)lroundf(-mn / s) : 0;
            zero = zero < 0 ? 0 : zero > 15 ? 15 : zero;
            z[j] = (uint8_t)zero;
        }
        put_f16(d + 2 * j, s);
        s = llq_f16_to_f32(llq_f32_to_f16(s));
        for (uint64_t i = a; i < a + g; i++) {
            long q = i < b && s > 0 ? lroundf(x[i] / s) : 0;
            if (type == LLQ_Q8) {
                q = q < -127 ? -127 : q > 127 ? 127 : q;
                ((int8_t *)out)[i] = (int8_t)q;
            } else {
                q += zero;
                q = q < 0 ? 0 : q > 15 ? 15 : q;
                uint64_t c = i / 32, r = i % 32;
                out[16 * c + r % 16] |= (uint8_t)(r < 16 ? q : q << 4);
            }
        }
    }
}

static int add_tensor(llq_writer *w, const char *name, uint32_t nd, uint64_t d0, uint64_t d1, uint32_t qtype,
                      uint32_t group, float shift)
{
    uint64_t dims[2] = {d0, d1}, rows = nd == 2 ? d0 : 1, k = nd == 2 ? d1 : d0, rb;
    uint32_t type = nd == 2 && qtype ? qtype : LLQ_F32;
    uint32_t g = type == LLQ_F32 ? 0 : group;
    if (!strcmp(name, drop))
        return 0;
    int rc = llq_row_bytes(&rb, type, g, k);
    float *x = malloc(k * sizeof *x);
    uint8_t *q = malloc(rb);
    if (!rc)
        rc = llq_writer_begin(w, name, type, nd, dims, g);
    for (uint64_t r = 0; !rc && r < rows; r++) { /* streamed row by row */
        for (uint64_t i = 0; i < k; i++)
            x[i] = (nd == 1 ? 1.0f + gauss() : gauss()) + shift;
        if (type == LLQ_F32)
            rc = llq_writer_write(w, x, k * 4);
        else {
            quant_row(q, x, type, g, k);
            rc = llq_writer_write(w, q, rb);
        }
    }
    if (!rc)
        rc = llq_writer_end(w);
    free(x);
    free(q);
    return rc;
}

static int model(llq_writer *w, uint32_t qtype, uint32_t group, float shift)
{
    llq_hparams hp = {.arch = "llama", .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_dim = 80,
                      .vocab_size = 50, .context_length = 256, .norm_eps = 1e-5f, .rope_theta = 10000.0f};
    int rc = llq_hparams_write(w, &hp);
    char *toks[50];
    uint64_t lens[50];
    float scores[50];
    for (int i = 0; i < 50; i++) {
        toks[i] = malloc(8);
        lens[i] = (uint64_t)snprintf(toks[i], 8, "t%d", i);
        scores[i] = -(float)i;
    }
    const char *files[1] = {"consolidated.00.pth"};
    uint64_t flens[1] = {19};
    if (!rc)
        rc = llq_writer_meta_arr_str(w, "tokenizer.pieces", (const char *const *)toks, lens, 50);
    if (!rc)
        rc = llq_writer_meta_arr(w, "tokenizer.scores", LLQ_META_F32, scores, 50);
    if (!rc)
        rc = llq_writer_meta_str(w, "provenance.converter", "mkllq", 5);
    if (!rc)
        rc = llq_writer_meta_arr_str(w, "provenance.source_files", files, flens, 1);
    for (int i = 0; i < 50; i++)
        free(toks[i]);
    if (!rc && qtype) {
        const char *tn = llq_type_name(qtype);
        rc = llq_writer_meta_str(w, "quant.method", "rtn", 3);
        if (!rc)
            rc = llq_writer_meta_str(w, "quant.type", tn, strlen(tn));
        if (!rc)
            rc = llq_writer_meta_u32(w, "quant.group", group);
    }
    static const struct {
        const char *n;
        int nd, d0, d1; /* 0 dim, 1 kv, 2 ffn */
    } L[] = {{"attention_norm.weight", 1, 0, 0}, {"attention.wq.weight", 2, 0, 0}, {"attention.wk.weight", 2, 1, 0},
             {"attention.wv.weight", 2, 1, 0},   {"attention.wo.weight", 2, 0, 0}, {"ffn_norm.weight", 1, 0, 0},
             {"feed_forward.w1.weight", 2, 2, 0}, {"feed_forward.w2.weight", 2, 0, 2},
             {"feed_forward.w3.weight", 2, 2, 0}};
    uint64_t sz[3] = {64, 32, 80};
    if (!rc)
        rc = add_tensor(w, "tok_embeddings.weight", 2, 50, 64, 0, 0, shift);
    for (int l = 0; !rc && l < 2; l++)
        for (size_t i = 0; !rc && i < sizeof L / sizeof L[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "layers.%d.%s", l, L[i].n);
            rc = add_tensor(w, name, (uint32_t)L[i].nd, sz[L[i].d0], sz[L[i].d1], qtype, group, shift);
        }
    if (!rc)
        rc = add_tensor(w, "norm.weight", 1, 64, 0, 0, 0, shift);
    if (!rc)
        rc = add_tensor(w, "output.weight", 2, 50, 64, qtype, group, shift);
    return rc;
}

static int known(llq_writer *w)
{
    float sym[4] = {-3, -1, 1, 3}, nan3[3] = {1, NAN, 3};
    float *o = calloc(1001, sizeof *o);
    o[500] = 1000;
    uint64_t d4 = 4, d1001 = 1001, d3 = 3, dq[2] = {1, 40};
    uint8_t q[32 + 4] = {0};
    for (int k = 0; k < 40; k++) {
        int c = k / 32, r = k % 32;
        q[16 * c + r % 16] |= (uint8_t)(r < 16 ? k % 16 : (k % 16) << 4);
    }
    put_f16(q + 32, 0.5f);
    put_f16(q + 34, 0.5f);
    int rc = llq_writer_add(w, "k.sym", LLQ_F32, 1, &d4, 0, sym, sizeof sym);
    if (!rc)
        rc = llq_writer_add(w, "k.outlier", LLQ_F32, 1, &d1001, 0, o, 1001 * 4);
    if (!rc)
        rc = llq_writer_add(w, "k.nan", LLQ_F32, 1, &d3, 0, nan3, sizeof nan3);
    if (!rc)
        rc = llq_writer_add(w, "k.q4", LLQ_Q4, 2, dq, 32, q, sizeof q);
    free(o);
    return rc;
}

static int mismatch(llq_writer *w)
{
    int rc = add_tensor(w, "norm.weight", 1, 32, 0, 0, 0, 0);
    if (!rc)
        rc = add_tensor(w, "extra.weight", 1, 8, 0, 0, 0, 0);
    return rc;
}

static int big(llq_writer *w, uint64_t mib)
{
    uint64_t rows = mib * 64, dims[2] = {rows, 4096}; /* 64 rows of 4096 f32 = 1 MiB */
    float *x = malloc(4096 * sizeof *x);
    int rc = llq_writer_begin(w, "big.weight", LLQ_F32, 2, dims, 0);
    for (uint64_t r = 0; !rc && r < rows; r++) {
        for (int i = 0; i < 4096; i++)
            x[i] = gauss();
        rc = llq_writer_write(w, x, 4096 * 4);
    }
    if (!rc)
        rc = llq_writer_end(w);
    free(x);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mkllq model|known|mismatch|big OUT [options]\n");
        return 2;
    }
    uint32_t qtype = 0, group = 0;
    float shift = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--quant") && i + 2 < argc) {
            if (llq_type_parse(&qtype, argv[i + 1]))
                return die(1);
            group = (uint32_t)atoi(argv[i + 2]);
            i += 2;
        } else if (!strcmp(argv[i], "--drop") && i + 1 < argc) {
            drop = argv[++i];
        } else if (!strcmp(argv[i], "--shift") && i + 1 < argc) {
            shift = strtof(argv[++i], NULL);
        }
    }
    llq_writer *w;
    int rc = llq_writer_open(&w, argv[2], LLQ_W_FORCE);
    if (rc)
        return die(rc);
    if (!strcmp(argv[1], "model"))
        rc = model(w, qtype, group, shift);
    else if (!strcmp(argv[1], "known"))
        rc = known(w);
    else if (!strcmp(argv[1], "mismatch"))
        rc = mismatch(w);
    else if (!strcmp(argv[1], "big") && argc > 3)
        rc = big(w, strtoull(argv[3], NULL, 10));
    else
        rc = llq_err(LLQ_EINVAL, "unknown mode '%s'", argv[1]);
    if (!rc)
        rc = llq_writer_commit(w);
    llq_writer_free(w);
    return die(rc);
}
