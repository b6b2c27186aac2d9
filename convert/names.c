/* names.c — the Meta / Hugging Face tensor names that map onto the canonical slots (the table itself:
 * format/hparams.c, llq_layer_tensors / llq_global_tensors). */
#include "layout.h"

#include <stdio.h>
#include <string.h>

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

int conv_meta_name(uint32_t *slot, int *split, const char *name, const llq_hparams *hp)
{
    uint32_t layer;
    if (strcmp(name, "rope.freqs") == 0)
        return 0;
    int s = llq_arch_name_slot(name, hp->n_layers);
    if (s < 0)
        return -1;
    const llq_arch_tensor *e = llq_arch_slot((uint32_t)s, hp->n_layers, &layer);
    if (!llq_arch_needed(e, hp))
        return -1;
    *split = e->split;
    *slot = (uint32_t)s;
    return 1;
}

static uint32_t permute_heads(const llq_arch_tensor *e, const llq_hparams *hp)
{
    return e->permute == 1 ? hp->n_heads : e->permute == 2 ? hp->n_kv_heads : 0;
}

int conv_hf_name(uint32_t *slot, uint32_t *permute, const char *hf, const llq_hparams *hp)
{
    uint32_t layer, last = LLQ_LT_COUNT * hp->n_layers;
    *permute = 0;
    for (uint32_t g = 0; g < LLQ_GT_COUNT; g++) {
        const llq_arch_tensor *e = &llq_global_tensors[g];
        if (strcmp(hf, e->hf) == 0) {
            if (!llq_arch_needed(e, hp))
                return g == LLQ_GT_OUTPUT ? 0 : -1; /* a tied model's lm_head: HF itself ignores it */
            *slot = g == LLQ_GT_EMBED ? 0 : last + g;
            return 1;
        }
    }
    if (!starts(hf, "model.layers.") || (hf += 13, parse_layer(&hf, hp->n_layers, &layer)))
        return -1;
    if (strcmp(hf, "self_attn.rotary_emb.inv_freq") == 0)
        return 0;
    for (uint32_t k = 0; k < LLQ_LT_COUNT; k++) {
        const llq_arch_tensor *e = &llq_layer_tensors[k];
        if (strcmp(hf, e->hf) == 0) {
            if (!llq_arch_needed(e, hp))
                return -1;
            *slot = 1 + LLQ_LT_COUNT * layer + k;
            *permute = permute_heads(e, hp);
            return 1;
        }
    }
    return -1;
}

void conv_slot_hf_name(char out[CONV_NAME_MAX + 16], uint32_t slot, uint32_t n_layers)
{
    uint32_t layer;
    const llq_arch_tensor *e = llq_arch_slot(slot, n_layers, &layer);
    if (!e)
        snprintf(out, CONV_NAME_MAX + 16, "?");
    else if (layer == UINT32_MAX)
        snprintf(out, CONV_NAME_MAX + 16, "%s", e->hf);
    else
        snprintf(out, CONV_NAME_MAX + 16, "model.layers.%u.%s", layer, e->hf);
}
