/* policy.c — which tensor gets which type (see include/llq/quant.h and docs/QUANTIZATION.md "Policy"). */
#include "llq/format.h"
#include "llq/quant.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int llq_group_parse(uint32_t *out, const char *s)
{
    if (strcmp(s, "row") == 0) /* not "0": a group of 0 values is not a size, and per-row is asked by name */
        *out = 0;
    else if (strcmp(s, "32") == 0)
        *out = 32;
    else if (strcmp(s, "64") == 0)
        *out = 64;
    else if (strcmp(s, "128") == 0)
        *out = 128;
    else
        return llq_err(LLQ_EINVAL, "group size '%s' not supported (use 32, 64, 128 or row)", s);
    return LLQ_OK;
}

int llq_policy_init(llq_quant_policy *p, uint32_t type, uint32_t group)
{
    *p = (llq_quant_policy){.type = type, .group = group};
    return llq_quant_check(type, group, 1);
}

int llq_policy_add_rule(llq_quant_policy *p, const char *spec)
{
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return llq_err(LLQ_EINVAL, "bad rule '%s' (expected NAME=TYPE or NAME=TYPE:GROUP)", spec);
    char tbuf[32];
    const char *colon = strchr(eq + 1, ':');
    size_t tlen = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
    if (tlen >= sizeof tbuf)
        return llq_err(LLQ_EINVAL, "bad type in rule '%s'", spec);
    memcpy(tbuf, eq + 1, tlen);
    tbuf[tlen] = 0;
    llq_quant_rule r = {0};
    int err = llq_type_parse(&r.type, tbuf);
    if (err == LLQ_OK && colon) {
        err = llq_group_parse(&r.group, colon + 1);
        r.has_group = 1;
        if (err == LLQ_OK && !llq_type_is_quant(r.type))
            err = llq_err(LLQ_EINVAL, "rule '%s': a group only applies to q8, q4, q4a", spec);
    }
    if (err) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", llq_errmsg());
        return llq_err(err, "rule '%s': %s", spec, msg);
    }
    llq_quant_rule *nr = realloc(p->rules, (p->n_rules + 1) * sizeof *nr);
    if (!nr)
        return llq_err(LLQ_ENOMEM, "out of memory");
    p->rules = nr;
    r.glob = strndup(spec, (size_t)(eq - spec));
    if (!r.glob)
        return llq_err(LLQ_ENOMEM, "out of memory");
    p->rules[p->n_rules++] = r;
    return LLQ_OK;
}

static const struct {
    const char *name;
    int preset;
    uint32_t base;
} presets[] = {
    {"q4_k_m", LLQ_PRESET_Q4_K_M, LLQ_Q4_K}, {"q4_k_s", LLQ_PRESET_Q4_K_S, LLQ_Q4_K},
    {"q5_k_m", LLQ_PRESET_Q5_K_M, LLQ_Q5_K}, {"q6_k", LLQ_PRESET_Q6_K, LLQ_Q6_K},
    {"q3_k_m", LLQ_PRESET_Q3_K_M, LLQ_Q3_K}, {"iq4_xs", LLQ_PRESET_IQ4_XS, LLQ_IQ4_XS},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

int llq_preset_parse(int *out, const char *name)
{
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcasecmp(presets[i].name, name) == 0) {
            *out = presets[i].preset;
            return LLQ_OK;
        }
    return llq_err(LLQ_EINVAL, "unknown preset '%s' (q4_k_m, q4_k_s, q5_k_m, q6_k, q3_k_m, iq4_xs)", name);
}

const char *llq_preset_name(int preset)
{
    for (size_t i = 0; i < N_PRESETS; i++)
        if (presets[i].preset == preset)
            return presets[i].name;
    return NULL;
}

void llq_policy_preset(llq_quant_policy *p, int preset, uint32_t n_layers, uint32_t n_gqa)
{
    p->preset = preset;
    p->n_layers = n_layers;
    p->n_gqa = n_gqa;
    p->group = 0;
    for (size_t i = 0; i < N_PRESETS; i++)
        if (presets[i].preset == preset)
            p->type = presets[i].base;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between. */
static int more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The layer index of "layers.N.rest", and whether rest is `what`; -1 if name is not such a name. */
static int layer_of(const char *name, const char *what)
{
    unsigned L;
    int off = 0;
    if (sscanf(name, "layers.%u.%n", &L, &off) != 1 || off == 0 || strcmp(name + off, what) != 0)
        return -1;
    return (int)L;
}

/* llama-quantize's llama_tensor_get_type for a LLaMA model, restricted to the presets above (docs/QUANTIZATION.md
 * "Presets"): attention.wv = attn_v, feed_forward.w2 = ffn_down, attention.wo = attn_output. */
static uint32_t preset_type(const llq_quant_policy *p, const char *name)
{
    int pr = p->preset, n = (int)p->n_layers, L;
    uint32_t t = p->type;
    if (strcmp(name, "output.weight") == 0)
        return LLQ_Q6_K;
    if (strcmp(name, "tok_embeddings.weight") == 0)
        return t;
    if ((L = layer_of(name, "attention.wv.weight")) >= 0) {
        if (pr == LLQ_PRESET_Q3_K_M)
            return L < 2 ? LLQ_Q5_K : LLQ_Q4_K;
        if (pr == LLQ_PRESET_IQ4_XS && p->n_gqa >= 4)
            return LLQ_Q5_K;
        if ((pr == LLQ_PRESET_Q4_K_M || pr == LLQ_PRESET_Q5_K_M) && more_bits(L, n))
            return LLQ_Q6_K;
        if (pr == LLQ_PRESET_Q4_K_S && L < 4)
            return LLQ_Q5_K;
        return t;
    }
    if ((L = layer_of(name, "feed_forward.w2.weight")) >= 0) {
        if (pr == LLQ_PRESET_Q3_K_M)
            return L < n / 16 ? LLQ_Q5_K : LLQ_Q4_K;
        if ((pr == LLQ_PRESET_Q4_K_M || pr == LLQ_PRESET_Q5_K_M) && more_bits(L, n))
            return LLQ_Q6_K;
        if (pr == LLQ_PRESET_Q4_K_S && L < n / 8)
            return LLQ_Q5_K;
        /* (iq4_xs without an importance matrix promotes the first eighth to q5_k in llama.cpp; llq's presets
         * describe the mixes of its imatrix files, which do not) */
        return t;
    }
    if (layer_of(name, "attention.wo.weight") >= 0 && pr == LLQ_PRESET_Q3_K_M)
        return LLQ_Q4_K;
    return t;
}

/* llama-quantize's fallback for rows that are not whole blocks. */
static uint32_t fallback(uint32_t t, uint64_t row_len)
{
    uint32_t be;
    if (!llq_type_block(t, &be, NULL) || row_len % be == 0)
        return t;
    switch (t) {
    case LLQ_Q4_K: return LLQ_Q5_0;
    case LLQ_Q5_K: return LLQ_Q5_1;
    case LLQ_Q6_K: return LLQ_Q8_0;
    default: return LLQ_IQ4_NL; /* q2_k, q3_k, iq4_xs */
    }
}

int llq_policy_choose(const llq_quant_policy *p, const char *name, uint32_t in_type, uint32_t n_dims,
                      uint64_t row_len, uint32_t *type, uint32_t *group)
{
    if (llq_type_is_quant(in_type) || llq_type_is_block(in_type))
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' is already quantized (%s); quantize an f32/f16/bf16 model",
                       name, llq_type_name(in_type));
    *type = in_type;
    *group = 0;
    if (n_dims == 2) {
        int embed = strcmp(name, "tok_embeddings.weight") == 0 || strcmp(name, "output.weight") == 0;
        *type = p->preset ? fallback(preset_type(p, name), row_len) : embed ? LLQ_Q8 : p->type;
        *group = p->preset ? 0 : p->group;
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        const llq_quant_rule *r = &p->rules[i];
        if (fnmatch(r->glob, name, 0) != 0)
            continue;
        *type = r->type;
        *group = !llq_type_is_quant(r->type) ? 0 : r->has_group ? r->group : p->group;
    }
    return LLQ_OK;
}

int llq_policy_plan(llq_quant_choice **out, const llq_quant_policy *p, const llq_file *f)
{
    size_t n = llq_n_tensors(f);
    llq_quant_choice *c = calloc(n ? n : 1, sizeof *c);
    int err = c ? LLQ_OK : llq_err(LLQ_ENOMEM, "out of memory planning %zu tensors", n);
    for (size_t i = 0; err == LLQ_OK && i < n; i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        err = llq_policy_choose(p, t->name, t->type, t->n_dims, t->row_len, &c[i].type, &c[i].group);
        /* every target but the float types goes through a quantizer, which says whether it can (the hook for a
         * new quantized type: llq_quant_check and llq_quantize_tensor) */
        int is_float = c[i].type == LLQ_F32 || c[i].type == LLQ_F16 || c[i].type == LLQ_BF16;
        if (err == LLQ_OK && !is_float &&
            (err = llq_quant_check(c[i].type, c[i].group, t->row_len)) != LLQ_OK) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", llq_errmsg());
            err = llq_err(err, "tensor '%s': %s", t->name, msg);
        }
    }
    if (err != LLQ_OK) {
        free(c);
        c = NULL;
    }
    *out = c;
    return err;
}

void llq_policy_free(llq_quant_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++)
        free(p->rules[i].glob);
    free(p->rules);
    p->rules = NULL;
    p->n_rules = 0;
}
