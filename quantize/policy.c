/* policy.c — which tensor gets which type (see include/llq/quant.h and docs/QUANTIZATION.md "Policy"). */
#include "llq/quant.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int llq_policy_choose(const llq_quant_policy *p, const char *name, uint32_t in_type, uint32_t n_dims,
                      uint32_t *type, uint32_t *group)
{
    if (llq_type_is_quant(in_type))
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' is already quantized (%s); quantize an f32/f16/bf16 model",
                       name, llq_type_name(in_type));
    *type = in_type;
    *group = 0;
    if (n_dims == 2) {
        int embed = strcmp(name, "tok_embeddings.weight") == 0 || strcmp(name, "output.weight") == 0;
        *type = embed ? LLQ_Q8 : p->type;
        *group = p->group;
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
