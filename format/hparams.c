/* hparams.c — the llama.* hyper-parameter keys (docs/FORMAT.md section 3) and the canonical tensor set. */
#include "llq/hparams.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 4096u

static int get_u32(const llq_file *f, const char *key, uint32_t *out, int required)
{
    int rc = llq_meta_get_u32(f, key, out);
    if (rc == LLQ_ENOTFOUND && !required) {
        *out = 0;
        return LLQ_OK;
    }
    return rc;
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
        (rc = llq_meta_get_f32(f, "llama.rope_theta", &hp.rope_theta)))
        return rc;
    if (!hp.dim || !hp.n_layers || !hp.n_heads || !hp.n_kv_heads || !hp.ffn_dim || !hp.vocab_size)
        return llq_err(LLQ_EFORMAT, "%s: a llama.* size is 0 (dim %u, n_layers %u, n_heads %u, n_kv_heads %u, "
                       "ffn_dim %u, vocab_size %u)", path, hp.dim, hp.n_layers, hp.n_heads, hp.n_kv_heads,
                       hp.ffn_dim, hp.vocab_size);
    if (hp.n_layers > MAX_LAYERS)
        return llq_err(LLQ_ELIMIT, "%s: llama.n_layers = %u exceeds %u", path, hp.n_layers, MAX_LAYERS);
    if (hp.dim % hp.n_heads)
        return llq_err(LLQ_EFORMAT, "%s: llama.dim %u is not a multiple of llama.n_heads %u", path, hp.dim,
                       hp.n_heads);
    if (hp.n_heads % hp.n_kv_heads)
        return llq_err(LLQ_EFORMAT, "%s: llama.n_heads %u is not a multiple of llama.n_kv_heads %u", path,
                       hp.n_heads, hp.n_kv_heads);
    if ((hp.dim / hp.n_heads) % 2)
        return llq_err(LLQ_EFORMAT, "%s: head size %u (llama.dim / llama.n_heads) is odd", path,
                       hp.dim / hp.n_heads);
    if (!(hp.norm_eps > 0) || !isfinite(hp.norm_eps))
        return llq_err(LLQ_EFORMAT, "%s: llama.norm_eps = %g is not a positive number", path, (double)hp.norm_eps);
    if (!(hp.rope_theta > 0) || !isfinite(hp.rope_theta))
        return llq_err(LLQ_EFORMAT, "%s: llama.rope_theta = %g is not a positive number", path,
                       (double)hp.rope_theta);
    *out = hp;
    return LLQ_OK;
}

int llq_hparams_write(llq_writer *w, const llq_hparams *hp)
{
    const char *arch = hp->arch[0] ? hp->arch : "llama";
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
    return LLQ_OK;
}

static int check_one(const llq_file *f, const char *name, uint32_t n_dims, uint64_t d0, uint64_t d1)
{
    const llq_tensor *t = llq_tensor_find(f, name);
    if (!t)
        return llq_err(LLQ_ENOTFOUND, "%s: tensor '%s' is missing", llq_file_path(f), name);
    if (t->n_dims != n_dims || t->dims[0] != d0 || (n_dims == 2 && t->dims[1] != d1)) {
        char want[64], got[96];
        int k;
        if (n_dims == 1)
            snprintf(want, sizeof want, "[%llu]", (unsigned long long)d0);
        else
            snprintf(want, sizeof want, "[%llu, %llu]", (unsigned long long)d0, (unsigned long long)d1);
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
    uint64_t dim = hp->dim, hd = hp->n_heads ? hp->dim / hp->n_heads : 0, ffn = hp->ffn_dim, vocab = hp->vocab_size;
    uint64_t q = hp->n_heads * hd, kv = hp->n_kv_heads * hd;
    int rc;
    if ((rc = check_one(f, "tok_embeddings.weight", 2, vocab, dim)) || (rc = check_one(f, "norm.weight", 1, dim, 0)) ||
        (rc = check_one(f, "output.weight", 2, vocab, dim)))
        return rc;
    for (uint32_t l = 0; l < hp->n_layers; l++) {
        static const struct {
            const char *name;
            int n_dims, d0, d1; /* 0 dim, 1 q, 2 kv, 3 ffn */
        } shapes[] = {
            {"attention_norm.weight", 1, 0, 0},      {"attention.wq.weight", 2, 1, 0},
            {"attention.wk.weight", 2, 2, 0},        {"attention.wv.weight", 2, 2, 0},
            {"attention.wo.weight", 2, 0, 1},        {"ffn_norm.weight", 1, 0, 0},
            {"feed_forward.w1.weight", 2, 3, 0},     {"feed_forward.w2.weight", 2, 0, 3},
            {"feed_forward.w3.weight", 2, 3, 0},
        };
        uint64_t size[4] = {dim, q, kv, ffn};
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            char name[96];
            snprintf(name, sizeof name, "layers.%u.%s", l, shapes[i].name);
            if ((rc = check_one(f, name, (uint32_t)shapes[i].n_dims, size[shapes[i].d0], size[shapes[i].d1])))
                return rc;
        }
    }
    for (size_t i = 0; i < llq_n_tensors(f); i++) { /* layers past n_layers would be silently skipped */
        const char *name = llq_tensor_at(f, i)->name;
        char *end;
        if (strncmp(name, "layers.", 7) || name[7] < '0' || name[7] > '9')
            continue;
        unsigned long l = strtoul(name + 7, &end, 10);
        if (*end == '.' && l >= hp->n_layers)
            return llq_err(LLQ_EFORMAT, "%s: tensor '%s' is of layer %lu, but llama.n_layers is %u (the metadata and "
                           "the tensors disagree)", llq_file_path(f), name, l, hp->n_layers);
    }
    return LLQ_OK;
}
