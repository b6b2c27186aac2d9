/* names.c — canonical tensor names (docs/FORMAT.md), their order and shapes, and the Meta / Hugging Face names
 * that map onto them. */
#include "layout.h"

#include <stdio.h>
#include <string.h>

/* Per-layer tensors in canonical order, with the Hugging Face name and Meta's model-parallel split. */
static const struct {
    const char *canon, *hf;
    int split;
} per_layer[CONV_PER_LAYER] = {
    {"attention_norm.weight", "input_layernorm.weight", -1},
    {"attention.wq.weight", "self_attn.q_proj.weight", 0},
    {"attention.wk.weight", "self_attn.k_proj.weight", 0},
    {"attention.wv.weight", "self_attn.v_proj.weight", 0},
    {"attention.wo.weight", "self_attn.o_proj.weight", 1},
    {"ffn_norm.weight", "post_attention_layernorm.weight", -1},
    {"feed_forward.w1.weight", "mlp.gate_proj.weight", 0},
    {"feed_forward.w2.weight", "mlp.down_proj.weight", 1},
    {"feed_forward.w3.weight", "mlp.up_proj.weight", 0},
};

/* Parses "<digits>." at *s (no leading zeros, < n_layers); advances *s past the dot. */
static int parse_layer(const char **s, uint32_t n_layers, uint32_t *layer)
{
    const char *p = *s;
    uint64_t v = 0;
    if (p[0] < '0' || p[0] > '9' || (p[0] == '0' && p[1] != '.'))
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v >= n_layers)
            return -1;
    }
    if (*p != '.')
        return -1;
    *layer = (uint32_t)v;
    *s = p + 1;
    return 0;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

uint32_t conv_n_slots(uint32_t n_layers)
{
    return 3 + CONV_PER_LAYER * n_layers;
}

/* Slot: 0 tok_embeddings, 1 + 9L + k layer L's k-th tensor, then norm, then output. */
void conv_slot_name(char out[CONV_NAME_MAX], uint32_t slot, uint32_t n_layers)
{
    uint32_t last = CONV_PER_LAYER * n_layers;
    if (slot == 0)
        snprintf(out, CONV_NAME_MAX, "tok_embeddings.weight");
    else if (slot == last + 1)
        snprintf(out, CONV_NAME_MAX, "norm.weight");
    else if (slot == last + 2)
        snprintf(out, CONV_NAME_MAX, "output.weight");
    else
        snprintf(out, CONV_NAME_MAX, "layers.%u.%s", (slot - 1) / CONV_PER_LAYER,
                 per_layer[(slot - 1) % CONV_PER_LAYER].canon);
}

void conv_slot_shape(uint32_t slot, const llq_hparams *hp, uint32_t *n_dims, uint64_t dims[2])
{
    uint32_t last = CONV_PER_LAYER * hp->n_layers;
    uint64_t hd = hp->dim / hp->n_heads, q = hd * hp->n_heads, kv = hd * hp->n_kv_heads;
    *n_dims = 2;
    dims[1] = hp->dim;
    if (slot == 0 || slot == last + 2) {
        dims[0] = hp->vocab_size;
        return;
    }
    if (slot == last + 1) {
        *n_dims = 1;
        dims[0] = hp->dim;
        dims[1] = 0;
        return;
    }
    switch ((slot - 1) % CONV_PER_LAYER) {
    case 0: case 5: *n_dims = 1; dims[0] = hp->dim; dims[1] = 0; break;
    case 1: dims[0] = q; break;
    case 2: case 3: dims[0] = kv; break;
    case 4: dims[0] = hp->dim; dims[1] = q; break;
    case 6: case 8: dims[0] = hp->ffn_dim; break;
    default: dims[0] = hp->dim; dims[1] = hp->ffn_dim; break;
    }
}

/* Slot of a canonical name, -1 if it is none. */
static int canon_slot(const char *name, uint32_t n_layers, int *split)
{
    uint32_t layer;
    *split = -1;
    if (strcmp(name, "tok_embeddings.weight") == 0) {
        *split = 1;
        return 0;
    }
    if (strcmp(name, "norm.weight") == 0)
        return (int)(CONV_PER_LAYER * n_layers + 1);
    if (strcmp(name, "output.weight") == 0) {
        *split = 0;
        return (int)(CONV_PER_LAYER * n_layers + 2);
    }
    if (!starts(name, "layers.") || (name += 7, parse_layer(&name, n_layers, &layer)))
        return -1;
    for (uint32_t k = 0; k < CONV_PER_LAYER; k++) {
        if (strcmp(name, per_layer[k].canon) == 0) {
            *split = per_layer[k].split;
            return (int)(1 + CONV_PER_LAYER * layer + k);
        }
    }
    return -1;
}

int conv_meta_name(uint32_t *slot, int *split, const char *name, const llq_hparams *hp)
{
    if (strcmp(name, "rope.freqs") == 0)
        return 0;
    int s = canon_slot(name, hp->n_layers, split);
    if (s < 0)
        return -1;
    *slot = (uint32_t)s;
    return 1;
}

int conv_hf_name(uint32_t *slot, uint32_t *permute, const char *hf, const llq_hparams *hp)
{
    uint32_t layer, last = CONV_PER_LAYER * hp->n_layers;
    *permute = 0;
    if (strcmp(hf, "model.embed_tokens.weight") == 0) {
        *slot = 0;
        return 1;
    }
    if (strcmp(hf, "model.norm.weight") == 0) {
        *slot = last + 1;
        return 1;
    }
    if (strcmp(hf, "lm_head.weight") == 0) {
        *slot = last + 2;
        return 1;
    }
    if (!starts(hf, "model.layers.") || (hf += 13, parse_layer(&hf, hp->n_layers, &layer)))
        return -1;
    if (strcmp(hf, "self_attn.rotary_emb.inv_freq") == 0)
        return 0;
    for (uint32_t k = 0; k < CONV_PER_LAYER; k++) {
        if (strcmp(hf, per_layer[k].hf) == 0) {
            *slot = 1 + CONV_PER_LAYER * layer + k;
            *permute = k == 1 ? hp->n_heads : k == 2 ? hp->n_kv_heads : 0;
            return 1;
        }
    }
    return -1;
}

void conv_slot_hf_name(char out[CONV_NAME_MAX + 16], uint32_t slot, uint32_t n_layers)
{
    uint32_t last = CONV_PER_LAYER * n_layers;
    if (slot == 0)
        snprintf(out, CONV_NAME_MAX + 16, "model.embed_tokens.weight");
    else if (slot == last + 1)
        snprintf(out, CONV_NAME_MAX + 16, "model.norm.weight");
    else if (slot == last + 2)
        snprintf(out, CONV_NAME_MAX + 16, "lm_head.weight");
    else
        snprintf(out, CONV_NAME_MAX + 16, "model.layers.%u.%s", (slot - 1) / CONV_PER_LAYER,
                 per_layer[(slot - 1) % CONV_PER_LAYER].hf);
}
