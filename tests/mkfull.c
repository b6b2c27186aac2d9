/* mkfull.c — writes a tiny model with a REAL vocabulary size, deterministically, for tests/cli/fullvocab.sh:
 *   mkfull llama3 DIR   Llama-3.2-style LlamaForCausalLM: 128,256 embedding rows (the real Llama-3 tokenizer's
 *                       128,000 ranks + 256 special tokens), tied, rope_scaling llama3 (factor 32, low 1, high 4,
 *                       original 8192), rope_theta 500000, GQA 2/1, bos 128000, eos 128001 128008 128009
 *   mkfull qwen DIR     Qwen2.5-style Qwen2ForCausalLM: 151,936 rows (the real Qwen tokenizer has 151,665 ids:
 *                       padded as Qwen's checkpoints are), q/k/v biases, tied, rope_theta 1e6, GQA 4/2, eos 151643
 * DIR/config.json and DIR/model.safetensors (bf16 matrices and biases, f32 norms; hidden 64, 2 layers, ffn 128).
 * The weights come from an integer generator (splitmix64) and exact float operations only (no libm), so every
 * machine writes the same bytes; tests/make_full_refs.py computes the PyTorch reference from this same file, and
 * only the generator and the reference figures are committed (the files are 16-19 MB). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 64
#define LAYERS 2
#define FFN 128

typedef struct {
    const char *name;
    uint32_t vocab, heads, kv, head_dim, bias;
    uint64_t seed;
    const char *config; /* the family-specific part of config.json */
} family;

static const family kFamilies[] = {
    {"llama3", 128256, 2, 1, 32, 0, 21,
     "\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"rope_theta\": 500000.0,\n"
     "  \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0, "
     "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192},\n"
     "  \"max_position_embeddings\": 131072, \"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009],\n"
     "  \"head_dim\": 32"},
    {"qwen", 151936, 4, 2, 16, 1, 22,
     "\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", \"rope_theta\": 1000000.0,\n"
     "  \"rope_scaling\": null, \"max_position_embeddings\": 32768, \"sliding_window\": 32768,\n"
     "  \"use_sliding_window\": false, \"bos_token_id\": 151643, \"eos_token_id\": 151643"},
};

static uint64_t g_state;

static uint64_t splitmix64(void)
{
    uint64_t z = (g_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1): a 24-bit integer scaled by a power of two, exact in f32. */
static float uniform(void)
{
    return (float)(int32_t)((splitmix64() >> 40) - (1u << 23)) * (1.0f / 8388608.0f);
}

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1); /* round to nearest even (no NaN here) */
    return (uint16_t)(u >> 16);
}

typedef struct {
    char name[64];
    uint32_t rows, cols; /* cols 0: a vector */
    int f32;             /* norms; the rest bf16 */
    float scale, offset; /* value = offset + scale * uniform() */
} tensor;

static size_t tensor_bytes(const tensor *t)
{
    return (size_t)t->rows * (t->cols ? t->cols : 1) * (t->f32 ? 4 : 2);
}

static int plan(const family *f, tensor *t)
{
    int n = 0;
    uint32_t q = f->heads * f->head_dim, kv = f->kv * f->head_dim;
    /* uniform(-1, 1) has variance 1/3: scales are sqrt(3) * the std wanted (0.25 for the embeddings, gain/sqrt(in)) */
#define ADD(nm, r, c, is32, sc, off) (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].rows = r, t[n].cols = c, \
                                     t[n].f32 = is32, t[n].scale = sc, t[n].offset = off, n++)
    char nm[64];
    ADD("model.embed_tokens.weight", f->vocab, DIM, 0, 0.4330127f, 0.0f);
    for (int l = 0; l < LAYERS; l++) {
#define LAYER(suffix, r, c, is32, sc, off) (snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix), ADD(nm, r, c, is32, sc, off))
        LAYER("input_layernorm.weight", DIM, 0, 1, 0.3464102f, 1.0f);
        LAYER("self_attn.q_proj.weight", q, DIM, 0, 0.6495191f, 0.0f); /* gain 3: sharp attention, rope matters */
        LAYER("self_attn.k_proj.weight", kv, DIM, 0, 0.6495191f, 0.0f);
        LAYER("self_attn.v_proj.weight", kv, DIM, 0, 0.2165064f, 0.0f);
        if (f->bias) {
            LAYER("self_attn.q_proj.bias", q, 0, 0, 0.8660254f, 0.0f);
            LAYER("self_attn.k_proj.bias", kv, 0, 0, 0.8660254f, 0.0f);
            LAYER("self_attn.v_proj.bias", kv, 0, 0, 0.8660254f, 0.0f);
        }
        LAYER("self_attn.o_proj.weight", DIM, q, 0, 1.7320508f / 8.0f, 0.0f);
        LAYER("post_attention_layernorm.weight", DIM, 0, 1, 0.3464102f, 1.0f);
        LAYER("mlp.gate_proj.weight", FFN, DIM, 0, 0.2165064f, 0.0f);
        LAYER("mlp.up_proj.weight", FFN, DIM, 0, 0.2165064f, 0.0f);
        LAYER("mlp.down_proj.weight", DIM, FFN, 0, 0.1530931f, 0.0f);
#undef LAYER
    }
    ADD("model.norm.weight", DIM, 0, 1, 0.3464102f, 1.0f);
#undef ADD
    return n;
}

int main(int argc, char **argv)
{
    const family *f = NULL;
    for (size_t i = 0; argc == 3 && i < sizeof kFamilies / sizeof *kFamilies; i++)
        if (!strcmp(argv[1], kFamilies[i].name))
            f = &kFamilies[i];
    if (!f) {
        fprintf(stderr, "usage: mkfull (llama3|qwen) DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", argv[2]);
    FILE *c = fopen(path, "w");
    if (!c) {
        perror(path);
        return 1;
    }
    fprintf(c, "{\n  %s,\n  \"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d,\n"
               "  \"num_attention_heads\": %u, \"num_key_value_heads\": %u, \"vocab_size\": %u, \"rms_norm_eps\": 1e-05,\n"
               "  \"hidden_act\": \"silu\", \"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\"\n}\n",
            f->config, DIM, FFN, LAYERS, f->heads, f->kv, f->vocab);
    if (fclose(c)) {
        perror(path);
        return 1;
    }
    tensor t[64];
    int n = plan(f, t);
    char header[16384];
    size_t h = 0, off = 0;
    h += (size_t)snprintf(header + h, sizeof header - h, "{");
    for (int i = 0; i < n; i++) {
        size_t b = tensor_bytes(&t[i]);
        if (t[i].cols)
            h += (size_t)snprintf(header + h, sizeof header - h, "\"%s\":{\"dtype\":\"%s\",\"shape\":[%u,%u],", t[i].name,
                                  t[i].f32 ? "F32" : "BF16", t[i].rows, t[i].cols);
        else
            h += (size_t)snprintf(header + h, sizeof header - h, "\"%s\":{\"dtype\":\"%s\",\"shape\":[%u],", t[i].name,
                                  t[i].f32 ? "F32" : "BF16", t[i].rows);
        h += (size_t)snprintf(header + h, sizeof header - h, "\"data_offsets\":[%zu,%zu]},", off, off + b);
        off += b;
    }
    h += (size_t)snprintf(header + h, sizeof header - h, "\"__metadata__\":{\"format\":\"pt\"}}");
    while (h % 8)
        header[h++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", argv[2]);
    FILE *o = fopen(path, "wb");
    if (!o) {
        perror(path);
        return 1;
    }
    uint8_t len8[8];
    for (int k = 0; k < 8; k++)
        len8[k] = (uint8_t)((uint64_t)h >> (8 * k));
    int ok = fwrite(len8, 1, 8, o) == 8 && fwrite(header, 1, h, o) == h;
    g_state = f->seed;
    for (int i = 0; i < n && ok; i++) {
        size_t count = (size_t)t[i].rows * (t[i].cols ? t[i].cols : 1);
        for (size_t k = 0; k < count && ok; k++) {
            float v = t[i].offset + t[i].scale * uniform();
            uint8_t b[4];
            if (t[i].f32) {
                uint32_t u;
                memcpy(&u, &v, 4);
                for (int j = 0; j < 4; j++)
                    b[j] = (uint8_t)(u >> (8 * j));
                ok = fwrite(b, 1, 4, o) == 4;
            } else {
                uint16_t u = to_bf16(v);
                b[0] = (uint8_t)u;
                b[1] = (uint8_t)(u >> 8);
                ok = fwrite(b, 1, 2, o) == 2;
            }
        }
    }
    if (fclose(o) || !ok) {
        perror(path);
        return 1;
    }
    return 0;
}
