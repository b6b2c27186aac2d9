/* hparams.c — the one description of the architecture: families, the canonical tensor table, the one validation
 * of hyper-parameters, and the llama.* keys (docs/FORMAT.md section 3). */
#include "llq/hparams.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- families ---- */

const llq_family llq_families[] = {
    {"llama", "LlamaForCausalLM", "llama", 0, 0},
    {"qwen2", "Qwen2ForCausalLM", "qwen2", 1, 0},
    {"mistral", "MistralForCausalLM", "mistral", 0, 1},
};
const size_t llq_n_families = sizeof llq_families / sizeof llq_families[0];

const llq_family *llq_family_find(const char *name, size_t len)
{
    if (len == 0)
        return &llq_families[0];
    for (size_t i = 0; i < llq_n_families; i++)
        if (strlen(llq_families[i].name) == len && memcmp(llq_families[i].name, name, len) == 0)
            return &llq_families[i];
    return NULL;
}

void llq_family_list(char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < llq_n_families && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", llq_families[i].hf_arch);
}

/* ---- the canonical tensors ---- */

const llq_arch_tensor llq_layer_tensors[LLQ_LT_COUNT] = {
    [LLQ_LT_ATTN_NORM] = {"attention_norm.weight", "input_layernorm.weight", LLQ_SZ_DIM, LLQ_SZ_NONE, -1, 0, LLQ_NEED_ALWAYS},
    [LLQ_LT_WQ] = {"attention.wq.weight", "self_attn.q_proj.weight", LLQ_SZ_Q, LLQ_SZ_DIM, 0, 1, LLQ_NEED_ALWAYS},
    [LLQ_LT_WQ_BIAS] = {"attention.wq.bias", "self_attn.q_proj.bias", LLQ_SZ_Q, LLQ_SZ_NONE, 0, 1, LLQ_NEED_QKV_BIAS},
    [LLQ_LT_WK] = {"attention.wk.weight", "self_attn.k_proj.weight", LLQ_SZ_KV, LLQ_SZ_DIM, 0, 2, LLQ_NEED_ALWAYS},
    [LLQ_LT_WK_BIAS] = {"attention.wk.bias", "self_attn.k_proj.bias", LLQ_SZ_KV, LLQ_SZ_NONE, 0, 2, LLQ_NEED_QKV_BIAS},
    [LLQ_LT_WV] = {"attention.wv.weight", "self_attn.v_proj.weight", LLQ_SZ_KV, LLQ_SZ_DIM, 0, 0, LLQ_NEED_ALWAYS},
    [LLQ_LT_WV_BIAS] = {"attention.wv.bias", "self_attn.v_proj.bias", LLQ_SZ_KV, LLQ_SZ_NONE, 0, 0, LLQ_NEED_QKV_BIAS},
    [LLQ_LT_WO] = {"attention.wo.weight", "self_attn.o_proj.weight", LLQ_SZ_DIM, LLQ_SZ_Q, 1, 0, LLQ_NEED_ALWAYS},
    [LLQ_LT_FFN_NORM] = {"ffn_norm.weight", "post_attention_layernorm.weight", LLQ_SZ_DIM, LLQ_SZ_NONE, -1, 0, LLQ_NEED_ALWAYS},
    [LLQ_LT_W1] = {"feed_forward.w1.weight", "mlp.gate_proj.weight", LLQ_SZ_FFN, LLQ_SZ_DIM, 0, 0, LLQ_NEED_ALWAYS},
    [LLQ_LT_W2] = {"feed_forward.w2.weight", "mlp.down_proj.weight", LLQ_SZ_DIM, LLQ_SZ_FFN, 1, 0, LLQ_NEED_ALWAYS},
    [LLQ_LT_W3] = {"feed_forward.w3.weight", "mlp.up_proj.weight", LLQ_SZ_FFN, LLQ_SZ_DIM, 0, 0, LLQ_NEED_ALWAYS},
};

/* tok_embeddings is cut along dim 1 in LLaMA-1/2 shards (convert notices LLaMA-3's cut along the vocabulary) */
const llq_arch_tensor llq_global_tensors[LLQ_GT_COUNT] = {
    [LLQ_GT_EMBED] = {"tok_embeddings.weight", "model.embed_tokens.weight", LLQ_SZ_VOCAB, LLQ_SZ_DIM, 1, 0, LLQ_NEED_ALWAYS},
    [LLQ_GT_NORM] = {"norm.weight", "model.norm.weight", LLQ_SZ_DIM, LLQ_SZ_NONE, -1, 0, LLQ_NEED_ALWAYS},
    [LLQ_GT_OUTPUT] = {"output.weight", "lm_head.weight", LLQ_SZ_VOCAB, LLQ_SZ_DIM, 0, 0, LLQ_NEED_UNTIED},
};

int llq_arch_needed(const llq_arch_tensor *e, const llq_hparams *hp)
{
    if (!e)
        return 0;
    switch (e->need) {
    case LLQ_NEED_QKV_BIAS: return hp->qkv_bias != 0;
    case LLQ_NEED_UNTIED: return hp->tied == 0;
    default: return 1;
    }
}

static uint64_t size_of(uint8_t code, const llq_hparams *hp)
{
    switch (code) {
    case LLQ_SZ_DIM: return hp->dim;
    case LLQ_SZ_Q: return llq_hp_q_dim(hp);
    case LLQ_SZ_KV: return llq_hp_kv_dim(hp);
    case LLQ_SZ_FFN: return hp->ffn_dim;
    case LLQ_SZ_VOCAB: return hp->vocab_size;
    default: return 0;
    }
}

void llq_arch_shape(const llq_arch_tensor *e, const llq_hparams *hp, uint32_t *n_dims, uint64_t dims[2])
{
    if (!e) {
        *n_dims = 0, dims[0] = dims[1] = 0;
        return;
    }
    *n_dims = e->d1 == LLQ_SZ_NONE ? 1 : 2;
    dims[0] = size_of(e->d0, hp);
    dims[1] = size_of(e->d1, hp);
}

void llq_arch_layer_name(char *buf, size_t n, uint32_t layer, enum llq_lt k)
{
    snprintf(buf, n, "layers.%u.%s", layer, llq_layer_tensors[k].name);
}

uint32_t llq_arch_n_slots(uint32_t n_layers)
{
    return 3 + LLQ_LT_COUNT * n_layers;
}

const llq_arch_tensor *llq_arch_slot(uint32_t slot, uint32_t n_layers, uint32_t *layer)
{
    uint32_t last = LLQ_LT_COUNT * n_layers;
    *layer = UINT32_MAX;
    if (slot == 0)
        return &llq_global_tensors[LLQ_GT_EMBED];
    if (slot == last + 1)
        return &llq_global_tensors[LLQ_GT_NORM];
    if (slot == last + 2)
        return &llq_global_tensors[LLQ_GT_OUTPUT];
    if (slot > last + 2)
        return NULL;
    *layer = (slot - 1) / LLQ_LT_COUNT;
    return &llq_layer_tensors[(slot - 1) % LLQ_LT_COUNT];
}

void llq_arch_slot_name(char *buf, size_t n, uint32_t slot, uint32_t n_layers)
{
    uint32_t layer;
    const llq_arch_tensor *e = llq_arch_slot(slot, n_layers, &layer);
    if (!e)
        snprintf(buf, n, "?");
    else if (layer == UINT32_MAX)
        snprintf(buf, n, "%s", e->name);
    else
        snprintf(buf, n, "layers.%u.%s", layer, e->name);
}

int llq_arch_name_slot(const char *name, uint32_t n_layers)
{
    for (int g = 0; g < LLQ_GT_COUNT; g++)
        if (strcmp(name, llq_global_tensors[g].name) == 0)
            return g == LLQ_GT_EMBED ? 0 : (int)(LLQ_LT_COUNT * n_layers + (uint32_t)g);
    if (strncmp(name, "layers.", 7) != 0)
        return -1;
    const char *p = name + 7;
    uint64_t v = 0;
    if (p[0] < '0' || p[0] > '9' || (p[0] == '0' && p[1] != '.'))
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((v = v * 10 + (uint64_t)(*p - '0')) >= n_layers)
            return -1;
    if (*p++ != '.')
        return -1;
    for (uint32_t k = 0; k < LLQ_LT_COUNT; k++)
        if (strcmp(p, llq_layer_tensors[k].name) == 0)
            return (int)(1 + LLQ_LT_COUNT * v + k);
    return -1;
}

/* ---- the one validation ---- */

int llq_hparams_check(const llq_hparams *hp, const char *what, unsigned flags)
{
    const char *w = what ? what : "model";
    uint32_t hd = llq_hp_head_dim(hp);
    const llq_family *fam = llq_family_find(hp->family, strnlen(hp->family, sizeof hp->family));
    if (!hp->dim || !hp->n_layers || !hp->n_heads || !hp->n_kv_heads || !hp->ffn_dim ||
        (!hp->vocab_size && !(flags & LLQ_HP_VOCAB_LATER)))
        return llq_err(LLQ_EFORMAT, "%s: a size is 0 (dim %u, n_layers %u, n_heads %u, n_kv_heads %u, ffn_dim %u, "
                       "vocab_size %u)", w, hp->dim, hp->n_layers, hp->n_heads, hp->n_kv_heads, hp->ffn_dim,
                       hp->vocab_size);
    if (hp->dim > LLQ_HP_MAX_DIM || hp->n_layers > LLQ_HP_MAX_LAYERS || hp->ffn_dim > LLQ_HP_MAX_FFN ||
        hp->vocab_size > LLQ_HP_MAX_VOCAB || hp->n_heads > hp->dim || hd > LLQ_HP_MAX_HEAD_DIM)
        return llq_err(LLQ_ELIMIT, "%s: sizes exceed llq's limits (dim %u <= %u, n_layers %u <= %u, n_heads %u <= "
                       "dim, head_dim %u <= %u, ffn_dim %u <= %u, vocab_size %u <= %u)", w, hp->dim, LLQ_HP_MAX_DIM,
                       hp->n_layers, LLQ_HP_MAX_LAYERS, hp->n_heads, hd, LLQ_HP_MAX_HEAD_DIM, hp->ffn_dim,
                       LLQ_HP_MAX_FFN, hp->vocab_size, LLQ_HP_MAX_VOCAB);
    if (!hp->head_dim && hp->dim % hp->n_heads)
        return llq_err(LLQ_EFORMAT, "%s: dim %u is not a multiple of n_heads %u (and no head_dim given)", w, hp->dim,
                       hp->n_heads);
    if (hp->n_heads % hp->n_kv_heads)
        return llq_err(LLQ_EFORMAT, "%s: n_heads %u is not a multiple of n_kv_heads %u", w, hp->n_heads,
                       hp->n_kv_heads);
    if (hd == 0 || hd % 2)
        return llq_err(LLQ_EFORMAT, "%s: head size %u is odd (rotary embedding needs pairs)", w, hd);
    if (!(hp->norm_eps > 0) || !isfinite(hp->norm_eps))
        return llq_err(LLQ_EFORMAT, "%s: norm_eps = %g is not a positive number", w, (double)hp->norm_eps);
    if (!(hp->rope_theta > 0) || !isfinite(hp->rope_theta))
        return llq_err(LLQ_EFORMAT, "%s: rope_theta = %g is not a positive number", w, (double)hp->rope_theta);
    if (!fam) {
        char list[128];
        llq_family_list(list, sizeof list);
        return llq_err(LLQ_EUNSUPPORTED, "%s: unsupported architecture family '%.*s' (supported: %s)", w,
                       (int)strnlen(hp->family, sizeof hp->family), hp->family, list);
    }
    if (fam->qkv_bias && !hp->qkv_bias)
        return llq_err(LLQ_EFORMAT, "%s: family %s has q/k/v biases, but the model says none", w, fam->name);
    if (hp->sliding_window && !fam->sliding_window)
        return llq_err(LLQ_EUNSUPPORTED, "%s: sliding-window attention is not supported for family %s", w, fam->name);
    switch (hp->rope_scaling) {
    case LLQ_ROPE_NONE:
        break;
    case LLQ_ROPE_LINEAR:
        if (!(hp->rope_factor >= 1) || !isfinite(hp->rope_factor))
            return llq_err(LLQ_EFORMAT, "%s: linear rope scaling factor %g must be >= 1", w, (double)hp->rope_factor);
        break;
    case LLQ_ROPE_LLAMA3:
        if (!(hp->rope_factor >= 1) || !isfinite(hp->rope_factor) || !(hp->rope_low_freq_factor > 0) ||
            !(hp->rope_high_freq_factor > hp->rope_low_freq_factor) || !isfinite(hp->rope_high_freq_factor) ||
            hp->rope_orig_context == 0)
            return llq_err(LLQ_EFORMAT, "%s: llama3 rope scaling needs factor >= 1 (%g), 0 < low_freq_factor (%g) < "
                           "high_freq_factor (%g) and original_max_position_embeddings > 0 (%u)", w,
                           (double)hp->rope_factor, (double)hp->rope_low_freq_factor,
                           (double)hp->rope_high_freq_factor, hp->rope_orig_context);
        break;
    default:
        return llq_err(LLQ_EUNSUPPORTED, "%s: rope scaling type %u is not supported (supported: linear, llama3)", w,
                       hp->rope_scaling);
    }
    if (hp->n_eos > LLQ_MAX_EOS)
        return llq_err(LLQ_ELIMIT, "%s: %u EOS ids (at most %u)", w, hp->n_eos, LLQ_MAX_EOS);
    for (uint32_t i = 0; hp->vocab_size && i < hp->n_eos + (hp->has_bos != 0); i++) {
        uint32_t id = i < hp->n_eos ? hp->eos_ids[i] : hp->bos_id;
        if (id >= hp->vocab_size)
            return llq_err(LLQ_EFORMAT, "%s: %s id %u is not below vocab_size %u", w, i < hp->n_eos ? "EOS" : "BOS",
                           id, hp->vocab_size);
    }
    return LLQ_OK;
}

/* ---- rotary frequencies ---- */

void llq_hp_rope_freqs(double *freq, const llq_hparams *hp)
{
    uint32_t hd = llq_hp_head_dim(hp);
    double f = hp->rope_factor, lo = hp->rope_low_freq_factor, hi = hp->rope_high_freq_factor;
    double orig = hp->rope_orig_context, pi = 3.14159265358979323846;
    for (uint32_t i = 0; i < hd / 2; i++) {
        double fr = 1.0 / pow((double)hp->rope_theta, (double)(2 * i) / (double)hd);
        if (hp->rope_scaling == LLQ_ROPE_LINEAR) {
            fr /= f;
        } else if (hp->rope_scaling == LLQ_ROPE_LLAMA3) {
            double wavelen = 2 * pi / fr;
            if (wavelen > orig / lo) {
                fr /= f;
            } else if (wavelen >= orig / hi) {
                double smooth = (orig / wavelen - lo) / (hi - lo);
                fr = (1 - smooth) * fr / f + smooth * fr;
            }
        }
        freq[i] = fr;
    }
}

/* ---- keys ---- */

static int get_u32(const llq_file *f, const char *key, uint32_t *out, int required)
{
    int rc = llq_meta_get_u32(f, key, out);
    if (rc == LLQ_ENOTFOUND && !required) {
        *out = 0;
        return LLQ_OK;
    }
    return rc;
}

static int get_f32_opt(const llq_file *f, const char *key, float *out)
{
    int rc = llq_meta_get_f32(f, key, out);
    if (rc == LLQ_ENOTFOUND) {
        *out = 0;
        return LLQ_OK;
    }
    return rc;
}

static int get_bool_opt(const llq_file *f, const char *key, uint32_t *out)
{
    int v = 0, rc = llq_meta_get_bool(f, key, &v);
    if (rc == LLQ_ENOTFOUND)
        rc = LLQ_OK;
    *out = v != 0;
    return rc;
}

static const char *const rope_names[] = {"none", "linear", "llama3"};

const char *llq_rope_scaling_name(uint32_t type)
{
    return type < 3 ? rope_names[type] : "?";
}

void llq_hparams_describe(char *buf, size_t n, const llq_hparams *hp)
{
    size_t k = 0;
#define PUT(...) (k += k < n ? (size_t)snprintf(buf + k, n - k, __VA_ARGS__) : 0)
    PUT("family %s", hp->family[0] ? hp->family : "llama");
    if (hp->head_dim)
        PUT(", head_dim %u", hp->head_dim);
    if (hp->rope_scaling == LLQ_ROPE_LINEAR)
        PUT(", rope scaling linear (factor %g)", (double)hp->rope_factor);
    else if (hp->rope_scaling == LLQ_ROPE_LLAMA3)
        PUT(", rope scaling llama3 (factor %g, low %g, high %g, original context %u)", (double)hp->rope_factor,
            (double)hp->rope_low_freq_factor, (double)hp->rope_high_freq_factor, hp->rope_orig_context);
    if (hp->qkv_bias)
        PUT(", q/k/v biases");
    if (hp->tied)
        PUT(", tied embeddings");
    if (hp->sliding_window)
        PUT(", sliding window %u", hp->sliding_window);
    if (hp->has_bos)
        PUT(", bos %u", hp->bos_id);
    for (uint32_t i = 0; i < hp->n_eos && i < LLQ_MAX_EOS; i++)
        PUT("%s%u", i ? " " : ", eos ", hp->eos_ids[i]);
#undef PUT
}

/* The 1.1 keys (all optional). */
static int read_v11(llq_hparams *hp, const llq_file *f, const char *path)
{
    const char *s;
    uint64_t len;
    int rc = llq_meta_get_str(f, "llama.family", &s, &len);
    if (rc == LLQ_OK) {
        if (len >= sizeof hp->family || !llq_family_find(s, len)) {
            char list[128];
            llq_family_list(list, sizeof list);
            return llq_err(LLQ_EUNSUPPORTED, "%s: unsupported architecture family '%.*s' (supported: %s)", path,
                           (int)(len < 31 ? len : 31), s, list);
        }
        memcpy(hp->family, s, len);
    } else if (rc != LLQ_ENOTFOUND) {
        return rc;
    }
    rc = llq_meta_get_str(f, "llama.rope_scaling.type", &s, &len);
    if (rc == LLQ_OK) {
        hp->rope_scaling = UINT32_MAX;
        for (uint32_t i = 0; i < 3; i++)
            if (strlen(rope_names[i]) == len && memcmp(rope_names[i], s, len) == 0)
                hp->rope_scaling = i;
        if (hp->rope_scaling == UINT32_MAX)
            return llq_err(LLQ_EUNSUPPORTED, "%s: rope scaling type '%.*s' is not supported (supported: linear, "
                           "llama3)", path, (int)(len < 31 ? len : 31), s);
    } else if (rc != LLQ_ENOTFOUND) {
        return rc;
    }
    if ((rc = get_u32(f, "llama.head_dim", &hp->head_dim, 0)) ||
        (rc = get_f32_opt(f, "llama.rope_scaling.factor", &hp->rope_factor)) ||
        (rc = get_f32_opt(f, "llama.rope_scaling.low_freq_factor", &hp->rope_low_freq_factor)) ||
        (rc = get_f32_opt(f, "llama.rope_scaling.high_freq_factor", &hp->rope_high_freq_factor)) ||
        (rc = get_u32(f, "llama.rope_scaling.original_context_length", &hp->rope_orig_context, 0)) ||
        (rc = get_bool_opt(f, "llama.attention_bias", &hp->qkv_bias)) ||
        (rc = get_bool_opt(f, "llama.tied_embeddings", &hp->tied)) ||
        (rc = get_u32(f, "llama.sliding_window", &hp->sliding_window, 0)))
        return rc;
    rc = llq_meta_get_u32(f, "llama.bos_id", &hp->bos_id);
    if (rc == LLQ_OK)
        hp->has_bos = 1;
    else if (rc != LLQ_ENOTFOUND)
        return rc;
    const llq_meta *m = llq_meta_find(f, "llama.eos_ids");
    if (m) {
        if (m->type != LLQ_META_ARR || (m->elem_type != LLQ_META_U32 && m->elem_type != LLQ_META_I32) ||
            m->count > LLQ_MAX_EOS)
            return llq_err(LLQ_EFORMAT, "%s: llama.eos_ids must be an array of at most %u u32", path, LLQ_MAX_EOS);
        for (uint64_t i = 0; i < m->count; i++) {
            double v = llq_meta_arr_num(m, i);
            if (!(v >= 0 && v < 4294967296.0))
                return llq_err(LLQ_EFORMAT, "%s: llama.eos_ids[%llu] = %g", path, (unsigned long long)i, v);
            hp->eos_ids[i] = (uint32_t)v;
        }
        hp->n_eos = (uint32_t)m->count;
    }
    return LLQ_OK;
}

int llq_hparams_read(llq_hparams *out, const llq_file *f)
{
    llq_hparams hp;
    memset(&hp, 0, sizeof hp);
    const char *path = llq_file_path(f), *arch;
    uint64_t alen;
    int rc = llq_meta_get_str(f, "general.architecture", &arch, &alen);
    if (rc)
        return rc;
    if (alen != 5 || memcmp(arch, "llama", 5) != 0)
        return llq_err(LLQ_EUNSUPPORTED, "%s: architecture '%.*s' is not supported (only 'llama')", path,
                       (int)(alen < 31 ? alen : 31), arch);
    memcpy(hp.arch, "llama", 6);
    if ((rc = get_u32(f, "llama.dim", &hp.dim, 1)) || (rc = get_u32(f, "llama.n_layers", &hp.n_layers, 1)) ||
        (rc = get_u32(f, "llama.n_heads", &hp.n_heads, 1)) ||
        (rc = get_u32(f, "llama.n_kv_heads", &hp.n_kv_heads, 1)) ||
        (rc = get_u32(f, "llama.ffn_dim", &hp.ffn_dim, 1)) ||
        (rc = get_u32(f, "llama.vocab_size", &hp.vocab_size, 1)) ||
        (rc = get_u32(f, "llama.context_length", &hp.context_length, 0)) ||
        (rc = llq_meta_get_f32(f, "llama.norm_eps", &hp.norm_eps)) ||
        (rc = llq_meta_get_f32(f, "llama.rope_theta", &hp.rope_theta)) || (rc = read_v11(&hp, f, path)))
        return rc;
    if ((rc = llq_hparams_check(&hp, path, 0)))
        return rc;
    *out = hp;
    return LLQ_OK;
}

int llq_hparams_write(llq_writer *w, const llq_hparams *hp)
{
    const char *arch = hp->arch[0] ? hp->arch : "llama";
    size_t flen = strnlen(hp->family, sizeof hp->family);
    int rc;
    if ((rc = llq_writer_meta_str(w, "general.architecture", arch, strnlen(arch, sizeof hp->arch))) ||
        (rc = llq_writer_meta_u32(w, "llama.dim", hp->dim)) ||
        (rc = llq_writer_meta_u32(w, "llama.n_layers", hp->n_layers)) ||
        (rc = llq_writer_meta_u32(w, "llama.n_heads", hp->n_heads)) ||
        (rc = llq_writer_meta_u32(w, "llama.n_kv_heads", hp->n_kv_heads)) ||
        (rc = llq_writer_meta_u32(w, "llama.ffn_dim", hp->ffn_dim)) ||
        (rc = llq_writer_meta_u32(w, "llama.vocab_size", hp->vocab_size)) ||
        (rc = llq_writer_meta_f32(w, "llama.norm_eps", hp->norm_eps)) ||
        (rc = llq_writer_meta_f32(w, "llama.rope_theta", hp->rope_theta)) ||
        (rc = llq_writer_meta_u32(w, "llama.context_length", hp->context_length)))
        return rc;
    if (flen && !(flen == 5 && memcmp(hp->family, "llama", 5) == 0) &&
        (rc = llq_writer_meta_str(w, "llama.family", hp->family, flen)))
        return rc;
    if (hp->head_dim && (!hp->n_heads || hp->head_dim * hp->n_heads != hp->dim) &&
        (rc = llq_writer_meta_u32(w, "llama.head_dim", hp->head_dim)))
        return rc;
    if (hp->rope_scaling && hp->rope_scaling < 3) {
        const char *t = rope_names[hp->rope_scaling];
        if ((rc = llq_writer_meta_str(w, "llama.rope_scaling.type", t, strlen(t))) ||
            (rc = llq_writer_meta_f32(w, "llama.rope_scaling.factor", hp->rope_factor)))
            return rc;
        if (hp->rope_scaling == LLQ_ROPE_LLAMA3 &&
            ((rc = llq_writer_meta_f32(w, "llama.rope_scaling.low_freq_factor", hp->rope_low_freq_factor)) ||
             (rc = llq_writer_meta_f32(w, "llama.rope_scaling.high_freq_factor", hp->rope_high_freq_factor)) ||
             (rc = llq_writer_meta_u32(w, "llama.rope_scaling.original_context_length", hp->rope_orig_context))))
            return rc;
    }
    if ((hp->qkv_bias && (rc = llq_writer_meta_bool(w, "llama.attention_bias", 1))) ||
        (hp->tied && (rc = llq_writer_meta_bool(w, "llama.tied_embeddings", 1))) ||
        (hp->sliding_window && (rc = llq_writer_meta_u32(w, "llama.sliding_window", hp->sliding_window))) ||
        (hp->has_bos && (rc = llq_writer_meta_u32(w, "llama.bos_id", hp->bos_id))) ||
        (hp->n_eos && (rc = llq_writer_meta_arr(w, "llama.eos_ids", LLQ_META_U32, hp->eos_ids,
                                                hp->n_eos > LLQ_MAX_EOS ? LLQ_MAX_EOS : hp->n_eos))))
        return rc;
    return LLQ_OK;
}

static int check_one(const llq_file *f, const char *name, uint32_t n_dims, const uint64_t *dims)
{
    const llq_tensor *t = llq_tensor_find(f, name);
    if (!t)
        return llq_err(LLQ_ENOTFOUND, "%s: tensor '%s' is missing", llq_file_path(f), name);
    if (t->n_dims != n_dims || t->dims[0] != dims[0] || (n_dims == 2 && t->dims[1] != dims[1])) {
        char want[64], got[96];
        int k;
        if (n_dims == 1)
            snprintf(want, sizeof want, "[%llu]", (unsigned long long)dims[0]);
        else
            snprintf(want, sizeof want, "[%llu, %llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
        k = snprintf(got, sizeof got, "[");
        for (uint32_t i = 0; i < t->n_dims; i++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%llu", i ? ", " : "", (unsigned long long)t->dims[i]);
        snprintf(got + k, sizeof got - (size_t)k, "]");
        return llq_err(LLQ_EFORMAT, "%s: tensor '%s' has shape %s, expected %s", llq_file_path(f), name, got, want);
    }
    return LLQ_OK;
}

int llq_hparams_check_tensors(const llq_hparams *hp, const llq_file *f)
{
    uint32_t n = llq_arch_n_slots(hp->n_layers), n_dims, layer;
    uint64_t dims[2];
    char name[128];
    int rc;
    for (uint32_t s = 0; s < n; s++) {
        const llq_arch_tensor *e = llq_arch_slot(s, hp->n_layers, &layer);
        llq_arch_slot_name(name, sizeof name, s, hp->n_layers);
        if (!e)
            break;
        if (!llq_arch_needed(e, hp)) {
            if (llq_tensor_find(f, name))
                return llq_err(LLQ_EFORMAT, "%s: tensor '%s' is present, but the model has none (%s)",
                               llq_file_path(f), name, e->need == LLQ_NEED_UNTIED ? "llama.tied_embeddings"
                                                                                   : "no llama.attention_bias");
            continue;
        }
        llq_arch_shape(e, hp, &n_dims, dims);
        if ((rc = check_one(f, name, n_dims, dims)))
            return rc;
    }
    for (size_t i = 0; i < llq_n_tensors(f); i++) { /* layers past n_layers would be silently skipped */
        const char *tname = llq_tensor_at(f, i)->name;
        char *end;
        if (strncmp(tname, "layers.", 7) || tname[7] < '0' || tname[7] > '9')
            continue;
        unsigned long l = strtoul(tname + 7, &end, 10);
        if (*end == '.' && l >= hp->n_layers)
            return llq_err(LLQ_EFORMAT, "%s: tensor '%s' is of layer %lu, but llama.n_layers is %u (the metadata and "
                           "the tensors disagree)", llq_file_path(f), tname, l, hp->n_layers);
    }
    return LLQ_OK;
}
