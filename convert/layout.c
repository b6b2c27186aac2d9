/* layout.c — the plan of canonical tensors: for each, the source tensor(s) it is made of (Meta's model-parallel
 * shards and how they join, or the one Hugging Face tensor and whether its q/k rows need un-permuting), checked
 * against the hyper-parameters. */
#include "layout.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_float(uint32_t dtype)
{
    return dtype == LLQ_SRC_F32 || dtype == LLQ_SRC_F16 || dtype == LLQ_SRC_BF16 || dtype == LLQ_SRC_F64;
}

static void shape_str(char *buf, size_t n, uint32_t n_dims, const uint64_t *dims)
{
    size_t off = (size_t)snprintf(buf, n, "[");
    for (uint32_t i = 0; i < n_dims && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%llu", i ? "," : "", (unsigned long long)dims[i]);
    if (off < n)
        snprintf(buf + off, n - off, "]");
}

static const llq_src_tensor *piece_t(const conv_plan *p, conv_piece c)
{
    return llq_src_at(p->srcs[c.file], c.index);
}

/* Places source tensor (file, index) into its slot's piece `piece` (of n). */
static int place(conv_plan *p, uint32_t slot, uint32_t piece, uint32_t n, uint32_t file, uint32_t index)
{
    conv_tensor *t = &p->tensors[slot];
    const llq_src_tensor *st = llq_src_at(p->srcs[file], index);
    if (!is_float(st->dtype))
        return llq_err(LLQ_EUNSUPPORTED, "%s: tensor %s has dtype %s (expected f32, f16, bf16 or f64)", p->files[file],
                       st->name, llq_src_dtype_name(st->dtype));
    if (!t->pieces) {
        if (!(t->pieces = malloc(n * sizeof *t->pieces)))
            return llq_err(LLQ_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++)
            t->pieces[i].file = UINT32_MAX;
        t->n_pieces = n;
    }
    if (t->pieces[piece].file != UINT32_MAX) {
        conv_piece o = t->pieces[piece];
        return llq_err(LLQ_EFORMAT, "%s: tensor %s appears twice (also as %s in %s)", p->files[file], st->name,
                       piece_t(p, o)->name, conv_base_name(p->files[o.file]));
    }
    t->pieces[piece] = (conv_piece){file, index};
    return 0;
}

/* Meta shards: every canonical tensor in every shard, same dtype and shape; joined shape from the split dim. */
static int plan_meta(conv_plan *p)
{
    uint32_t n = (uint32_t)p->n_files, slot;
    int err, split;
    for (uint32_t f = 0; f < n; f++) {
        for (size_t i = 0; i < llq_src_count(p->srcs[f]); i++) {
            const llq_src_tensor *st = llq_src_at(p->srcs[f], i);
            int r = conv_meta_name(&slot, &split, st->name, &p->hp);
            if (r == 0 && f == 0)
                p->n_dropped++;
            if (r == 0)
                continue;
            if (r < 0)
                return llq_err(LLQ_EFORMAT, "%s: unexpected tensor '%s' (not a LLaMA tensor of %u layers)",
                               p->files[f], st->name, p->hp.n_layers);
            if ((err = place(p, slot, f, n, f, (uint32_t)i)))
                return err;
            p->tensors[slot].split = split;
        }
    }
    for (slot = 0; slot < p->n_tensors; slot++) {
        conv_tensor *t = &p->tensors[slot];
        if (!t->pieces)
            continue;
        for (uint32_t s = 0; s < n; s++) {
            if (t->pieces[s].file == UINT32_MAX) {
                uint32_t k = 0;
                while (t->pieces[k].file == UINT32_MAX)
                    k++;
                return llq_err(LLQ_EFORMAT, "%s: shard %u has no tensor %s (shard %u has)", p->files[s], s,
                               piece_t(p, t->pieces[k])->name, k);
            }
        }
        const llq_src_tensor *t0 = piece_t(p, t->pieces[0]);
        for (uint32_t s = 1; s < n; s++) {
            const llq_src_tensor *ts = piece_t(p, t->pieces[s]);
            int same = ts->dtype == t0->dtype && ts->n_dims == t0->n_dims;
            for (uint32_t d = 0; same && d < ts->n_dims; d++)
                same = ts->dims[d] == t0->dims[d];
            if (!same) {
                char a[96], b[96];
                shape_str(a, sizeof a, ts->n_dims, ts->dims);
                shape_str(b, sizeof b, t0->n_dims, t0->dims);
                if (t->split < 0)
                    return llq_err(LLQ_EFORMAT, "%s: shard %u has %s of shape %s %s, expected %s %s (as shard 0; "
                                   "replicated in every shard)", p->files[s], s, ts->name, a,
                                   llq_src_dtype_name(ts->dtype), b, llq_src_dtype_name(t0->dtype));
                return llq_err(LLQ_EFORMAT, "%s: shard %u has %s of shape %s %s, expected %s %s (as shard 0; shards "
                               "are joined on dim %d)", p->files[s], s, ts->name, a, llq_src_dtype_name(ts->dtype), b,
                               llq_src_dtype_name(t0->dtype), t->split);
            }
        }
        t->n_dims = t0->n_dims;
        for (uint32_t d = 0; d < t0->n_dims && d < 2; d++)
            t->dims[d] = t0->dims[d];
        if (n == 1 || t0->n_dims != 2 || t->split < 0) {
            t->split = -1;
        } else {
            if (slot == 0 && t0->dims[1] == p->hp.dim) /* LLaMA-3's embedding is cut along the vocabulary */
                t->split = 0;
            if (llq_mul_u64(&t->dims[t->split], t->dims[t->split], n))
                return llq_err(LLQ_EFORMAT, "%s: %s too large", p->files[0], t0->name);
        }
    }
    return 0;
}

/* Hugging Face: each tensor once, in any file; the index (if any) must agree. */
static int plan_hf(conv_plan *p)
{
    uint32_t slot, permute;
    int err;
    for (uint32_t f = 0; f < p->n_files; f++) {
        for (size_t i = 0; i < llq_src_count(p->srcs[f]); i++) {
            const llq_src_tensor *st = llq_src_at(p->srcs[f], i);
            int r = conv_hf_name(&slot, &permute, st->name, &p->hp);
            if (r == 0)
                p->n_dropped++;
            if (r == 0 && strcmp(st->name, llq_global_tensors[LLQ_GT_OUTPUT].hf) == 0)
                p->tied_lm_head = 1; /* Hugging Face ties it to the embeddings, whatever it holds */
            if (r == 0)
                continue;
            if (r < 0)
                return llq_err(LLQ_EFORMAT, "%s: unexpected tensor '%s' (not a LLaMA tensor of %u layers)",
                               p->files[f], st->name, p->hp.n_layers);
            if ((err = place(p, slot, 0, 1, f, (uint32_t)i)))
                return err;
            conv_tensor *t = &p->tensors[slot];
            t->permute_heads = permute;
            t->split = -1;
            t->n_dims = st->n_dims;
            for (uint32_t d = 0; d < st->n_dims && d < 2; d++)
                t->dims[d] = st->dims[d];
        }
    }
    if (p->index_json) {
        json_object *map;
        json_object_object_get_ex(p->index_json, "weight_map", &map);
        struct json_object_iterator it = json_object_iter_begin(map), end = json_object_iter_end(map);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            const char *name = json_object_iter_peek_name(&it);
            const char *file = json_object_get_string(json_object_iter_peek_value(&it));
            int found = 0;
            for (uint32_t f = 0; f < p->n_files && !found; f++)
                if (strcmp(conv_base_name(p->files[f]), file) == 0)
                    found = llq_src_find(p->srcs[f], name) != NULL;
            if (!found)
                return llq_err(LLQ_ENOTFOUND, "%s/%s: no tensor %s (listed there by %s)", p->dir, file, name,
                               conv_base_name(p->index));
        }
    }
    return 0;
}

int conv_plan_open(conv_plan *p, uint32_t tok_vocab)
{
    int err;
    p->n_tensors = llq_arch_n_slots(p->hp.n_layers);
    if (!(p->srcs = calloc(p->n_files, sizeof *p->srcs)) || !(p->tensors = calloc(p->n_tensors, sizeof *p->tensors)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t f = 0; f < p->n_files; f++)
        if ((err = llq_src_open(&p->srcs[f], p->files[f])))
            return err;
    if ((err = p->layout == LLQ_LAYOUT_META ? plan_meta(p) : plan_hf(p)))
        return err;
    const char *vocab_from = conv_base_name(p->config);
    if (p->hp.vocab_size == 0) {
        if (tok_vocab) {
            p->hp.vocab_size = tok_vocab;
            vocab_from = "tokenizer.model";
        } else if (p->tensors[0].pieces) {
            if (p->tensors[0].dims[0] > UINT32_MAX)
                return llq_err(LLQ_EFORMAT, "%s: vocabulary too large", p->files[0]);
            p->hp.vocab_size = (uint32_t)p->tensors[0].dims[0];
        }
    }
    for (uint32_t slot = 0; slot < p->n_tensors; slot++) {
        conv_tensor *t = &p->tensors[slot];
        uint32_t n_dims, layer;
        uint64_t dims[2];
        const llq_arch_tensor *e = llq_arch_slot(slot, p->hp.n_layers, &layer);
        llq_arch_slot_name(t->name, sizeof t->name, slot, p->hp.n_layers);
        llq_arch_shape(e, &p->hp, &n_dims, dims);
        if (!llq_arch_needed(e, &p->hp)) /* the name mappings never place such a tensor */
            continue;
        if (!t->pieces) {
            char hf[CONV_NAME_MAX + 16] = "";
            if (p->layout == LLQ_LAYOUT_HF)
                conv_slot_hf_name(hf, slot, p->hp.n_layers);
            return llq_err(LLQ_ENOTFOUND, "%s: missing tensor %s%s%s%s", p->n_files == 1 ? p->files[0] : p->dir,
                           t->name, hf[0] ? " (" : "", hf, hf[0] ? ")" : "");
        }
        const llq_src_tensor *st = piece_t(p, t->pieces[0]);
        if (t->n_dims != n_dims || t->dims[0] != dims[0] || (n_dims == 2 && t->dims[1] != dims[1])) {
            char a[96], b[96];
            shape_str(a, sizeof a, t->n_dims > 2 ? st->n_dims : t->n_dims, t->n_dims > 2 ? st->dims : t->dims);
            shape_str(b, sizeof b, n_dims, dims);
            return llq_err(LLQ_EFORMAT, "%s: %s has shape %s%s, expected %s (from %s)", p->files[t->pieces[0].file],
                           st->name, a, t->n_pieces > 1 ? " joining its shards" : "", b,
                           slot == 0 || slot == p->n_tensors - 1 ? vocab_from : conv_base_name(p->config));
        }
        t->src_dtype = st->dtype;
    }
    return llq_hparams_check(&p->hp, p->config, 0);
}

void conv_plan_free(conv_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->srcs && i < p->n_files; i++)
        llq_src_close(p->srcs[i]);
    for (size_t i = 0; i < p->n_files; i++)
        free(p->files[i]);
    for (size_t i = 0; p->tensors && i < p->n_tensors; i++)
        free(p->tensors[i].pieces);
    json_object_put(p->index_json);
    free(p->srcs);
    free(p->files);
    free(p->tensors);
    free(p->dir);
    free(p->config);
    free(p->index);
    free(p->tokenizer);
    memset(p, 0, sizeof *p);
}
