/* config.c — hyper-parameters from Meta's params.json and Hugging Face's config.json. */
#include "layout.h"

#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DIM (1u << 20)
#define MAX_LAYERS 4096u
#define MAX_HEADS 65536u
#define MAX_VOCAB (1u << 24)

uint32_t conv_ffn_dim(uint32_t dim, uint32_t multiple_of, double mult)
{
    uint64_t h = (2 * 4 * (uint64_t)dim) / 3;
    if (mult > 0) {
        double m = mult * (double)h; /* may be far beyond any integer type: check before the cast */
        if (!(m <= UINT32_MAX))
            return 0;
        h = (uint64_t)m;
    }
    if (multiple_of > 0)
        h = (h + multiple_of - 1) / multiple_of * multiple_of;
    return h > UINT32_MAX ? 0 : (uint32_t)h;
}

json_object *conv_json_parse(const char *text, size_t len, const char *path, int *err)
{
    json_tokener *tok = json_tokener_new_ex(64);
    json_object *root = NULL;
    if (!tok) {
        *err = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (len > INT32_MAX) {
        *err = llq_err(LLQ_ELIMIT, "%s: too large", path);
        goto done;
    }
    root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (!root || je != json_tokener_success) {
        json_object_put(root);
        root = NULL;
        *err = llq_err(LLQ_EFORMAT, "%s: invalid JSON (%s)", path,
                       je == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(je));
        goto done;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (!strchr(" \t\r\n", text[i])) {
            json_object_put(root);
            root = NULL;
            *err = llq_err(LLQ_EFORMAT, "%s: invalid JSON (garbage after the object)", path);
            goto done;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        root = NULL;
        *err = llq_err(LLQ_EFORMAT, "%s: not a JSON object", path);
    }
done:
    json_tokener_free(tok);
    return root;
}

/* Integer key in [lo, hi]. Absent: *out = def and 0 if def_ok, else an error. */
static int get_int(const json_object *root, const char *key, int64_t lo, int64_t hi, int64_t *out, int def_ok,
                   int64_t def, const char *path)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null)) {
        if (def_ok) {
            *out = def;
            return 0;
        }
        return llq_err(LLQ_EFORMAT, "%s: missing \"%s\"", path, key);
    }
    double d = 0;
    if (json_object_is_type(v, json_type_int)) {
        d = (double)json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_double)) {
        d = json_object_get_double(v);
        if (d != floor(d))
            return llq_err(LLQ_EFORMAT, "%s: \"%s\" must be an integer", path, key);
    } else {
        return llq_err(LLQ_EFORMAT, "%s: \"%s\" must be an integer", path, key);
    }
    if (!(d >= (double)lo && d <= (double)hi))
        return llq_err(LLQ_EFORMAT, "%s: \"%s\" = %.17g is out of range [%lld, %lld]", path, key, d, (long long)lo,
                       (long long)hi);
    *out = (int64_t)d;
    return 0;
}

/* Number key >= 0 (f32: one stored as f32, so within its range). Absent: *out = def. */
static int get_num(const json_object *root, const char *key, int f32, double *out, double def, const char *path)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null)) {
        *out = def;
        return 0;
    }
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return llq_err(LLQ_EFORMAT, "%s: \"%s\" must be a number", path, key);
    *out = json_object_get_double(v);
    if (!isfinite(*out) || *out < 0)
        return llq_err(LLQ_EFORMAT, "%s: \"%s\" must be a finite number >= 0", path, key);
    if (f32 && *out > FLT_MAX) /* stored as f32: it would become Inf, which the .llq reader refuses */
        return llq_err(LLQ_EFORMAT, "%s: \"%s\" = %g is beyond the range of f32 (largest %g)", path, key, *out,
                       (double)FLT_MAX);
    if (f32 && *out > 0 && (float)*out == 0)
        return llq_err(LLQ_EFORMAT, "%s: \"%s\" = %g is below the range of f32 (it would become 0)", path, key,
                       *out);
    return 0;
}

static int check_hparams(const llq_hparams *hp, const char *path)
{
    if (hp->dim % hp->n_heads)
        return llq_err(LLQ_EFORMAT, "%s: dim %u is not a multiple of the %u heads", path, hp->dim, hp->n_heads);
    if (hp->n_heads % hp->n_kv_heads)
        return llq_err(LLQ_EFORMAT, "%s: %u heads is not a multiple of the %u kv heads", path, hp->n_heads,
                       hp->n_kv_heads);
    if ((hp->dim / hp->n_heads) % 2)
        return llq_err(LLQ_EFORMAT, "%s: head size %u is odd (rotary embedding needs pairs)", path,
                       hp->dim / hp->n_heads);
    if (hp->norm_eps <= 0 || hp->rope_theta <= 0)
        return llq_err(LLQ_EFORMAT, "%s: norm_eps and rope_theta must be > 0", path);
    return 0;
}

int conv_parse_params(llq_hparams *hp, int *vocab_unknown, const char *text, size_t len, const char *path)
{
    int err = 0;
    int64_t dim, n_layers, n_heads, n_kv, vocab, multiple_of, hidden, ctx;
    double mult, eps, theta;
    json_object *root = conv_json_parse(text, len, path, &err), *v;
    if (!root)
        return err;
    memset(hp, 0, sizeof *hp);
    if ((err = get_int(root, "dim", 1, MAX_DIM, &dim, 0, 0, path)) ||
        (err = get_int(root, "n_layers", 1, MAX_LAYERS, &n_layers, 0, 0, path)) ||
        (err = get_int(root, "n_heads", 1, MAX_HEADS, &n_heads, 0, 0, path)) ||
        (err = get_int(root, "n_kv_heads", 1, MAX_HEADS, &n_kv, 1, n_heads, path)) ||
        (err = get_int(root, "vocab_size", -1, MAX_VOCAB, &vocab, 1, -1, path)) ||
        (err = get_int(root, "multiple_of", 1, MAX_DIM, &multiple_of, 1, 256, path)) ||
        (err = get_int(root, "hidden_dim", 1, 16 * (int64_t)MAX_DIM, &hidden, 1, 0, path)) ||
        (err = get_int(root, "max_seq_len", 0, UINT32_MAX, &ctx, 1, 0, path)) ||
        (err = get_num(root, "ffn_dim_multiplier", 0, &mult, 0, path)) ||
        (err = get_num(root, "norm_eps", 1, &eps, 1e-5, path)) || (err = get_num(root, "rope_theta", 1, &theta, 1e4, path)))
        goto done;
    if (vocab == 0) {
        err = llq_err(LLQ_EFORMAT, "%s: \"vocab_size\" = 0", path);
        goto done;
    }
    if (json_object_object_get_ex(root, "use_scaled_rope", &v) && json_object_get_boolean(v)) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: use_scaled_rope (LLaMA 3.1 rope scaling) is not supported", path);
        goto done;
    }
    snprintf(hp->arch, sizeof hp->arch, "llama");
    hp->dim = (uint32_t)dim;
    hp->n_layers = (uint32_t)n_layers;
    hp->n_heads = (uint32_t)n_heads;
    hp->n_kv_heads = (uint32_t)n_kv;
    hp->vocab_size = vocab < 0 ? 0 : (uint32_t)vocab;
    *vocab_unknown = vocab < 0;
    hp->ffn_dim = hidden ? (uint32_t)hidden : conv_ffn_dim(hp->dim, (uint32_t)multiple_of, mult);
    hp->context_length = (uint32_t)ctx;
    hp->norm_eps = (float)eps;
    hp->rope_theta = (float)theta;
    if (hp->ffn_dim == 0) {
        err = llq_err(LLQ_EFORMAT, "%s: ffn width out of range", path);
        goto done;
    }
    err = check_hparams(hp, path);
done:
    json_object_put(root);
    return err;
}

static int is_str(const json_object *root, const char *key, const char *want, int *present)
{
    json_object *v;
    *present = json_object_object_get_ex(root, key, &v) && !json_object_is_type(v, json_type_null);
    return *present && json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), want) == 0;
}

static int check_arch(const json_object *root, const char *path)
{
    json_object *v;
    int has_type, has_arch = json_object_object_get_ex(root, "architectures", &v), llama_arch = 0;
    int llama_type = is_str(root, "model_type", "llama", &has_type);
    const char *what = NULL;
    if (has_arch && json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (json_object_is_type(e, json_type_string)) {
                if (strcmp(json_object_get_string(e), "LlamaForCausalLM") == 0)
                    llama_arch = 1;
                else if (!what)
                    what = json_object_get_string(e);
            }
        }
    }
    if (has_type && !llama_type) {
        json_object_object_get_ex(root, "model_type", &v);
        return llq_err(LLQ_EUNSUPPORTED, "%s: unsupported architecture: model_type \"%s\" (only llama)", path,
                       json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "?");
    }
    if (has_arch && !llama_arch)
        return llq_err(LLQ_EUNSUPPORTED, "%s: unsupported architecture: %s (only LlamaForCausalLM)", path,
                       what ? what : "architectures lists no LlamaForCausalLM");
    if (!has_type && !has_arch)
        return llq_err(LLQ_EUNSUPPORTED, "%s: no model_type or architectures (expected llama / LlamaForCausalLM)",
                       path);
    return 0;
}

int conv_parse_config(llq_hparams *hp, int *tied, const char *text, size_t len, const char *path)
{
    int err = 0, present;
    int64_t dim, n_layers, n_heads, n_kv, vocab, ffn, ctx, head_dim;
    double eps, theta;
    json_object *root = conv_json_parse(text, len, path, &err), *v;
    if (!root)
        return err;
    memset(hp, 0, sizeof *hp);
    if ((err = check_arch(root, path)))
        goto done;
    if ((err = get_int(root, "hidden_size", 1, MAX_DIM, &dim, 0, 0, path)) ||
        (err = get_int(root, "num_hidden_layers", 1, MAX_LAYERS, &n_layers, 0, 0, path)) ||
        (err = get_int(root, "num_attention_heads", 1, MAX_HEADS, &n_heads, 0, 0, path)) ||
        (err = get_int(root, "num_key_value_heads", 1, MAX_HEADS, &n_kv, 1, n_heads, path)) ||
        (err = get_int(root, "vocab_size", 1, MAX_VOCAB, &vocab, 0, 0, path)) ||
        (err = get_int(root, "intermediate_size", 1, 16 * (int64_t)MAX_DIM, &ffn, 0, 0, path)) ||
        (err = get_int(root, "max_position_embeddings", 0, UINT32_MAX, &ctx, 1, 0, path)) ||
        (err = get_int(root, "head_dim", 1, MAX_DIM, &head_dim, 1, dim / n_heads, path)) ||
        (err = get_num(root, "rms_norm_eps", 1, &eps, 1e-6, path)) ||
        (err = get_num(root, "rope_theta", 1, &theta, 1e4, path)))
        goto done;
    if (head_dim * n_heads != dim) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: head_dim %lld x %lld heads != hidden_size %lld is not supported", path,
                      (long long)head_dim, (long long)n_heads, (long long)dim);
        goto done;
    }
    if (json_object_object_get_ex(root, "rope_scaling", &v) && !json_object_is_type(v, json_type_null)) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: rope_scaling is not supported", path);
        goto done;
    }
    if (json_object_object_get_ex(root, "hidden_act", &v) && !is_str(root, "hidden_act", "silu", &present)) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: hidden_act other than silu is not supported", path);
        goto done;
    }
    if ((json_object_object_get_ex(root, "attention_bias", &v) && json_object_get_boolean(v)) ||
        (json_object_object_get_ex(root, "mlp_bias", &v) && json_object_get_boolean(v))) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: attention_bias / mlp_bias are not supported", path);
        goto done;
    }
    *tied = json_object_object_get_ex(root, "tie_word_embeddings", &v) && json_object_get_boolean(v);
    snprintf(hp->arch, sizeof hp->arch, "llama");
    hp->dim = (uint32_t)dim;
    hp->n_layers = (uint32_t)n_layers;
    hp->n_heads = (uint32_t)n_heads;
    hp->n_kv_heads = (uint32_t)n_kv;
    hp->vocab_size = (uint32_t)vocab;
    hp->ffn_dim = (uint32_t)ffn;
    hp->context_length = (uint32_t)ctx;
    hp->norm_eps = (float)eps;
    hp->rope_theta = (float)theta;
    err = check_hparams(hp, path);
done:
    json_object_put(root);
    return err;
}
