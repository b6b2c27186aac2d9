/* config.c — hyper-parameters from Meta's params.json and Hugging Face's config.json. */
#include "layout.h"

#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Ranges a JSON value must lie in to be stored at all; llq_hparams_check then applies llq's limits. */
#define MAX_DIM UINT32_MAX
#define MAX_LAYERS UINT32_MAX
#define MAX_HEADS UINT32_MAX
#define MAX_VOCAB UINT32_MAX

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

int conv_parse_params(llq_hparams *hp, int *vocab_unknown, const char *text, size_t len, const char *path)
{
    int err = 0;
    int64_t dim, n_layers, n_heads, n_kv, vocab, multiple_of, hidden, ctx, head_dim, window;
    double mult, eps, theta;
    json_object *root = conv_json_parse(text, len, path, &err), *v;
    if (!root)
        return err;
    memset(hp, 0, sizeof *hp);
    int moe = json_object_object_get_ex(root, "moe", &v);
    if (moe || json_object_object_get_ex(root, "vision_encoder", &v)) { /* Mixtral, Pixtral params.json */
        err = llq_err(LLQ_EUNSUPPORTED, "%s: \"%s\" (%s) is not supported", path, moe ? "moe" : "vision_encoder",
                      moe ? "mixture of experts" : "a vision model");
        goto done;
    }
    if ((err = get_int(root, "dim", 1, MAX_DIM, &dim, 0, 0, path)) ||
        (err = get_int(root, "n_layers", 1, MAX_LAYERS, &n_layers, 0, 0, path)) ||
        (err = get_int(root, "n_heads", 1, MAX_HEADS, &n_heads, 0, 0, path)) ||
        (err = get_int(root, "n_kv_heads", 1, MAX_HEADS, &n_kv, 1, n_heads, path)) ||
        (err = get_int(root, "vocab_size", -1, MAX_VOCAB, &vocab, 1, -1, path)) ||
        (err = get_int(root, "multiple_of", 1, MAX_DIM, &multiple_of, 1, 256, path)) ||
        (err = get_int(root, "hidden_dim", 1, UINT32_MAX, &hidden, 1, 0, path)) ||
        (err = get_int(root, "max_seq_len", 0, UINT32_MAX, &ctx, 1, 0, path)) ||
        (err = get_num(root, "ffn_dim_multiplier", 0, &mult, 0, path)) ||
        (err = get_num(root, "norm_eps", 1, &eps, 1e-5, path)) || (err = get_num(root, "rope_theta", 1, &theta, 1e4, path)) ||
        /* Mistral's own download (mistral-inference): head_dim, and sliding_window in 7B-v0.1 (null or absent later) */
        (err = get_int(root, "head_dim", 1, UINT32_MAX, &head_dim, 1, 0, path)) ||
        (err = get_int(root, "sliding_window", 0, UINT32_MAX, &window, 1, 0, path)))
        goto done;
    if (vocab == 0) {
        err = llq_err(LLQ_EFORMAT, "%s: \"vocab_size\" = 0", path);
        goto done;
    }
    if (json_object_object_get_ex(root, "use_scaled_rope", &v) && json_object_get_boolean(v)) {
        /* Meta's reference code (llama-models apply_scaling): the llama3 rule with factor 8, low_freq_factor 1,
         * high_freq_factor 4, original context 8192, unless params.json names the factors */
        double f, hf;
        if ((err = get_num(root, "rope_scaling_factor", 1, &f, 8, path)) ||
            (err = get_num(root, "rope_high_freq_factor", 1, &hf, 4, path)))
            goto done;
        hp->rope_scaling = LLQ_ROPE_LLAMA3;
        hp->rope_factor = (float)f;
        hp->rope_low_freq_factor = 1;
        hp->rope_high_freq_factor = (float)hf;
        hp->rope_orig_context = 8192;
    }
    snprintf(hp->arch, sizeof hp->arch, "llama");
    if (window) /* the window is what the mistral family adds (its rotary is Meta's interleaved pairs) */
        snprintf(hp->family, sizeof hp->family, "mistral");
    hp->sliding_window = (uint32_t)window;
    hp->head_dim = (uint32_t)head_dim;
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
    err = llq_hparams_check(hp, path, LLQ_HP_VOCAB_LATER);
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

/* The family config.json names (architectures[] and model_type must agree with one row of llq_families). */
static int find_family(const llq_family **out, const json_object *root, const char *path)
{
    json_object *v;
    const char *arch = NULL, *type = NULL;
    char list[160];
    *out = NULL;
    llq_family_list(list, sizeof list);
    if (json_object_object_get_ex(root, "architectures", &v) && json_object_is_type(v, json_type_array) &&
        json_object_array_length(v) > 0) {
        if (json_object_array_length(v) != 1 || !json_object_is_type(json_object_array_get_idx(v, 0), json_type_string))
            return llq_err(LLQ_EUNSUPPORTED, "%s: \"architectures\" must list exactly one name (supported: %s)", path,
                           list);
        arch = json_object_get_string(json_object_array_get_idx(v, 0));
    }
    if (json_object_object_get_ex(root, "model_type", &v) && json_object_is_type(v, json_type_string))
        type = json_object_get_string(v);
    if (!arch && !type)
        return llq_err(LLQ_EUNSUPPORTED, "%s: no model_type or architectures (supported: %s)", path, list);
    for (size_t i = 0; i < llq_n_families; i++) {
        const llq_family *f = &llq_families[i];
        if ((!arch || strcmp(arch, f->hf_arch) == 0) && (!type || strcmp(type, f->model_type) == 0)) {
            *out = f;
            return 0;
        }
    }
    if (arch)
        return llq_err(LLQ_EUNSUPPORTED, "%s: unsupported architecture %s%s%s%s (supported: %s)", path, arch,
                       type ? " (model_type " : "", type ? type : "", type ? ")" : "", list);
    return llq_err(LLQ_EUNSUPPORTED, "%s: unsupported architecture: model_type \"%s\" (supported: %s)", path, type,
                   list);
}

/* rope_scaling: null, or {"rope_type"|"type": "default" | "linear" | "llama3", ...}. */
static int parse_rope_scaling(llq_hparams *hp, const json_object *root, const char *path)
{
    json_object *rs, *v;
    int64_t orig;
    double f, lo, hi;
    int err;
    if (!json_object_object_get_ex(root, "rope_scaling", &rs) || json_object_is_type(rs, json_type_null))
        return 0;
    if (!json_object_is_type(rs, json_type_object))
        return llq_err(LLQ_EFORMAT, "%s: \"rope_scaling\" must be an object or null", path);
    if (!(json_object_object_get_ex(rs, "rope_type", &v) && json_object_is_type(v, json_type_string)) &&
        !(json_object_object_get_ex(rs, "type", &v) && json_object_is_type(v, json_type_string)))
        return llq_err(LLQ_EFORMAT, "%s: \"rope_scaling\" has no \"rope_type\"", path);
    const char *t = json_object_get_string(v);
    if (strcmp(t, "default") == 0)
        return 0;
    if (strcmp(t, "linear") == 0) {
        if ((err = get_num(rs, "factor", 1, &f, 0, path)))
            return err;
        hp->rope_scaling = LLQ_ROPE_LINEAR;
        hp->rope_factor = (float)f;
        return 0;
    }
    if (strcmp(t, "llama3") == 0) {
        if ((err = get_num(rs, "factor", 1, &f, 0, path)) || (err = get_num(rs, "low_freq_factor", 1, &lo, 0, path)) ||
            (err = get_num(rs, "high_freq_factor", 1, &hi, 0, path)) ||
            (err = get_int(rs, "original_max_position_embeddings", 1, UINT32_MAX, &orig, 0, 0, path)))
            return err;
        hp->rope_scaling = LLQ_ROPE_LLAMA3;
        hp->rope_factor = (float)f;
        hp->rope_low_freq_factor = (float)lo;
        hp->rope_high_freq_factor = (float)hi;
        hp->rope_orig_context = (uint32_t)orig;
        return 0;
    }
    return llq_err(LLQ_EUNSUPPORTED, "%s: rope_scaling type \"%s\" is not supported (supported: linear, llama3)", path,
                   t);
}

/* bos_token_id: int or null; eos_token_id: int, list of ints or null. */
static int parse_special_ids(llq_hparams *hp, const json_object *root, const char *path)
{
    json_object *v;
    int64_t id;
    int err;
    if (json_object_object_get_ex(root, "bos_token_id", &v) && !json_object_is_type(v, json_type_null)) {
        if ((err = get_int(root, "bos_token_id", 0, UINT32_MAX, &id, 0, 0, path)))
            return err;
        hp->has_bos = 1;
        hp->bos_id = (uint32_t)id;
    }
    if (!json_object_object_get_ex(root, "eos_token_id", &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array)) {
        if ((err = get_int(root, "eos_token_id", 0, UINT32_MAX, &id, 0, 0, path)))
            return err;
        hp->eos_ids[hp->n_eos++] = (uint32_t)id;
        return 0;
    }
    size_t n = json_object_array_length(v);
    if (n > LLQ_MAX_EOS)
        return llq_err(LLQ_ELIMIT, "%s: %zu eos_token_id values (at most %u)", path, n, LLQ_MAX_EOS);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        int64_t x = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
        if (x < 0 || x > UINT32_MAX)
            return llq_err(LLQ_EFORMAT, "%s: \"eos_token_id\"[%zu] must be an integer >= 0", path, i);
        hp->eos_ids[hp->n_eos++] = (uint32_t)x;
    }
    return 0;
}

static int get_bool(const json_object *root, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(root, key, &v) && json_object_get_boolean(v);
}

int conv_parse_config(llq_hparams *hp, const char *text, size_t len, const char *path)
{
    int err = 0, present;
    int64_t dim, n_layers, n_heads, n_kv, vocab, ffn, ctx, head_dim, window = 0;
    double eps, theta;
    const llq_family *fam;
    json_object *root = conv_json_parse(text, len, path, &err), *v;
    if (!root)
        return err;
    memset(hp, 0, sizeof *hp);
    if ((err = find_family(&fam, root, path)))
        goto done;
    if ((err = get_int(root, "hidden_size", 1, MAX_DIM, &dim, 0, 0, path)) ||
        (err = get_int(root, "num_hidden_layers", 1, MAX_LAYERS, &n_layers, 0, 0, path)) ||
        (err = get_int(root, "num_attention_heads", 1, MAX_HEADS, &n_heads, 0, 0, path)) ||
        (err = get_int(root, "num_key_value_heads", 1, MAX_HEADS, &n_kv, 1, n_heads, path)) ||
        (err = get_int(root, "vocab_size", 1, MAX_VOCAB, &vocab, 0, 0, path)) ||
        (err = get_int(root, "intermediate_size", 1, UINT32_MAX, &ffn, 0, 0, path)) ||
        (err = get_int(root, "max_position_embeddings", 0, UINT32_MAX, &ctx, 1, 0, path)) ||
        (err = get_int(root, "head_dim", 1, UINT32_MAX, &head_dim, 1, 0, path)) ||
        (err = get_num(root, "rms_norm_eps", 1, &eps, 1e-6, path)) ||
        (err = get_num(root, "rope_theta", 1, &theta, 1e4, path)) || (err = parse_rope_scaling(hp, root, path)) ||
        (err = parse_special_ids(hp, root, path)))
        goto done;
    if (json_object_object_get_ex(root, "hidden_act", &v) && !is_str(root, "hidden_act", "silu", &present)) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: hidden_act other than silu is not supported", path);
        goto done;
    }
    if (get_bool(root, "attention_bias") || get_bool(root, "mlp_bias")) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: attention_bias / mlp_bias are not supported for %s (only Qwen2's q/k/v "
                      "biases)", path, fam->hf_arch);
        goto done;
    }
    if (fam->sliding_window) {
        if ((err = get_int(root, "sliding_window", 0, UINT32_MAX, &window, 1, 0, path)))
            goto done;
    } else if (get_bool(root, "use_sliding_window")) {
        err = llq_err(LLQ_EUNSUPPORTED, "%s: use_sliding_window is not supported for %s", path, fam->hf_arch);
        goto done;
    }
    snprintf(hp->arch, sizeof hp->arch, "llama");
    snprintf(hp->family, sizeof hp->family, "%s", fam->name);
    hp->dim = (uint32_t)dim;
    hp->n_layers = (uint32_t)n_layers;
    hp->n_heads = (uint32_t)n_heads;
    hp->n_kv_heads = (uint32_t)n_kv;
    hp->vocab_size = (uint32_t)vocab;
    hp->ffn_dim = (uint32_t)ffn;
    hp->context_length = (uint32_t)ctx;
    hp->head_dim = (uint32_t)head_dim;
    hp->norm_eps = (float)eps;
    hp->rope_theta = (float)theta;
    hp->qkv_bias = fam->qkv_bias;
    hp->tied = (uint32_t)get_bool(root, "tie_word_embeddings");
    hp->sliding_window = (uint32_t)window;
    err = llq_hparams_check(hp, path, 0);
done:
    json_object_put(root);
    return err;
}
