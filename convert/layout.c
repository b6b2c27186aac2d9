/* layout.c — which files make up a checkpoint (Meta or Hugging Face layout) and the plan of canonical tensors:
 * for each, the source tensor(s) it is made of, how shards join, whether q/k rows need un-permuting. */
#include "layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (s) {
        memcpy(s, dir, a);
        s[a] = '/';
        memcpy(s + a + 1, name, b + 1);
    }
    return s;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int dir_has(const char *dir, const char *name)
{
    char *p = join(dir, name);
    int r = p && is_file(p);
    free(p);
    return r;
}

/* Reads a whole small file (<= max bytes) into a NUL-terminated buffer the caller frees. */
int conv_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int err = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    if (fd < 0)
        return llq_err(LLQ_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        err = llq_err(LLQ_EIO, "%s: not a regular file", path);
        goto done;
    }
    if ((uint64_t)st.st_size > max) {
        err = llq_err(LLQ_ELIMIT, "%s: %lld bytes, more than the %zu allowed", path, (long long)st.st_size, max);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        err = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = llq_err(LLQ_EIO, "%s: read failed: %s", path, r < 0 ? strerror(errno) : "file shrank");
            goto done;
        }
        got += (size_t)r;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    buf = NULL;
done:
    free(buf);
    close(fd);
    return err;
}

static int add_file(conv_plan *p, char *path)
{
    if (!path)
        return llq_err(LLQ_ENOMEM, "out of memory");
    if (p->n_files >= CONV_MAX_FILES) {
        free(path);
        return llq_err(LLQ_ELIMIT, "%s: more than %d checkpoint files", p->dir, CONV_MAX_FILES);
    }
    char **f = realloc(p->files, (p->n_files + 1) * sizeof *f);
    if (!f) {
        free(path);
        return llq_err(LLQ_ENOMEM, "out of memory");
    }
    p->files = f;
    p->files[p->n_files++] = path;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "consolidated.<digits>.pth": shard number, or -1. */
static long meta_shard(const char *name, int *width)
{
    const char *d = name + 13;
    char *end;
    if (strncmp(name, "consolidated.", 13) != 0 || *d < '0' || *d > '9')
        return -1;
    long v = strtol(d, &end, 10);
    if (strcmp(end, ".pth") != 0 || end - d > 6)
        return -1;
    *width = (int)(end - d);
    return v;
}

/* "<prefix>-<k>-of-<n>.<ext>" (Hugging Face shards without an index): k and n, or -1. */
static int hf_shard(const char *name, const char *ext, long *k, long *n)
{
    const char *of = strstr(name, "-of-");
    char *end;
    if (!of || !ends(name, ext) || of == name)
        return -1;
    const char *d = of - 1;
    while (d > name && d[-1] >= '0' && d[-1] <= '9')
        d--;
    if (d == of || d == name || d[-1] != '-')
        return -1;
    *k = strtol(d, &end, 10);
    if (end != of)
        return -1;
    *n = strtol(of + 4, &end, 10);
    if (end == of + 4 || strcmp(end, ext) != 0)
        return -1;
    return 0;
}

typedef struct dir_scan {
    char **meta;                /* consolidated.NN.pth names, sorted */
    size_t n_meta;
    int meta_width;
    char **st, **bin;           /* *-k-of-n.safetensors / .bin */
    size_t n_st, n_bin;
} dir_scan;

static int push(char ***list, size_t *n, const char *name)
{
    char **l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l)
        return llq_err(LLQ_ENOMEM, "out of memory");
    *list = l;
    if (!(l[*n] = strdup(name)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    (*n)++;
    return 0;
}

static void scan_free(dir_scan *d)
{
    for (size_t i = 0; i < d->n_meta; i++)
        free(d->meta[i]);
    for (size_t i = 0; i < d->n_st; i++)
        free(d->st[i]);
    for (size_t i = 0; i < d->n_bin; i++)
        free(d->bin[i]);
    free(d->meta);
    free(d->st);
    free(d->bin);
}

static int scan_dir(dir_scan *d, const char *dir)
{
    int err = 0, width;
    long k, n;
    DIR *dp = opendir(dir);
    struct dirent *e;
    if (!dp)
        return llq_err(LLQ_EIO, "%s: %s", dir, strerror(errno));
    while ((e = readdir(dp))) {
        size_t *cnt = NULL;
        char ***list = NULL;
        if (meta_shard(e->d_name, &width) >= 0)
            list = &d->meta, cnt = &d->n_meta;
        else if (hf_shard(e->d_name, ".safetensors", &k, &n) == 0)
            list = &d->st, cnt = &d->n_st;
        else if (hf_shard(e->d_name, ".bin", &k, &n) == 0)
            list = &d->bin, cnt = &d->n_bin;
        if (list && *cnt >= CONV_MAX_FILES) {
            err = llq_err(LLQ_ELIMIT, "%s: more than %d checkpoint files", dir, CONV_MAX_FILES);
            break;
        }
        if (list && (err = push(list, cnt, e->d_name)))
            break;
    }
    closedir(dp);
    if (err)
        return err;
    if (d->n_meta)
        qsort(d->meta, d->n_meta, sizeof *d->meta, cmp_str);
    if (d->n_st)
        qsort(d->st, d->n_st, sizeof *d->st, cmp_str);
    if (d->n_bin)
        qsort(d->bin, d->n_bin, sizeof *d->bin, cmp_str);
    return 0;
}

/* Meta shards consolidated.00.pth .. NN: all present, numbered from 0 without gaps. */
static int take_meta(conv_plan *p, dir_scan *d)
{
    int width = 2, err;
    for (size_t i = 0; i < d->n_meta; i++) {
        long v = meta_shard(d->meta[i], &width);
        if (v != (long)i) {
            char name[64];
            snprintf(name, sizeof name, "consolidated.%0*zu.pth", width, i);
            return llq_err(LLQ_ENOTFOUND, "%s/%s: missing shard (found %s)", p->dir, name, d->meta[i]);
        }
        if ((err = add_file(p, join(p->dir, d->meta[i]))))
            return err;
    }
    return 0;
}

/* Hugging Face shards without an index: <prefix>-00001-of-0000N.<ext>, all N present. */
static int take_hf_shards(conv_plan *p, char **names, size_t n_names, const char *ext)
{
    long k0, n0, k, n;
    int err;
    hf_shard(names[0], ext, &k0, &n0);
    for (size_t i = 0; i < n_names; i++) {
        hf_shard(names[i], ext, &k, &n);
        if (n != n0 || k != (long)i + 1 || strncmp(names[i], names[0], (size_t)(strstr(names[0], "-of-") - names[0]) - 5))
            return llq_err(LLQ_ENOTFOUND, "%s: shard %zu of %ld missing or misnamed (found %s)", p->dir, i + 1, n0,
                           names[i]);
        if ((err = add_file(p, join(p->dir, names[i]))))
            return err;
    }
    if ((long)n_names != n0)
        return llq_err(LLQ_ENOTFOUND, "%s: shard %zu of %ld missing (after %s)", p->dir, n_names + 1, n0,
                       names[n_names - 1]);
    return 0;
}

/* *.index.json: every file named in weight_map, each present. */
static int take_index(conv_plan *p, const char *index_path)
{
    char *text = NULL, **names = NULL;
    size_t len, n = 0;
    int err;
    json_object *root = NULL, *map;
    if ((err = conv_read_file(index_path, CONV_MAX_JSON, &text, &len)))
        return err;
    if (!(root = conv_json_parse(text, len, index_path, &err)))
        goto done;
    if (!json_object_object_get_ex(root, "weight_map", &map) || !json_object_is_type(map, json_type_object)) {
        err = llq_err(LLQ_EFORMAT, "%s: no \"weight_map\" object", index_path);
        goto done;
    }
    struct json_object_iterator it = json_object_iter_begin(map), end = json_object_iter_end(map);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        json_object *v = json_object_iter_peek_value(&it);
        const char *f = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!f || !f[0] || strchr(f, '/') || f[0] == '.') {
            err = llq_err(LLQ_EFORMAT, "%s: tensor %s maps to a bad file name", index_path,
                          json_object_iter_peek_name(&it));
            goto done;
        }
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(names[i], f) == 0;
        if (!seen && n >= CONV_MAX_FILES) {
            err = llq_err(LLQ_ELIMIT, "%s: more than %d files", index_path, CONV_MAX_FILES);
            goto done;
        }
        if (!seen && (err = push(&names, &n, f)))
            goto done;
    }
    if (n == 0) {
        err = llq_err(LLQ_EFORMAT, "%s: empty weight_map", index_path);
        goto done;
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *path = join(p->dir, names[i]);
        if (path && !is_file(path)) {
            err = llq_err(LLQ_ENOTFOUND, "%s: missing shard (listed in %s)", path, base_name(index_path));
            free(path);
            goto done;
        }
        if ((err = add_file(p, path)))
            goto done;
    }
    p->index_json = root;
    root = NULL;
done:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    json_object_put(root);
    free(text);
    return err;
}

static int take_named(conv_plan *p, const char *name)
{
    char *path = join(p->dir, name);
    if (path && ends(name, ".index.json")) {
        int err = take_index(p, path);
        p->index = path;
        return err;
    }
    return add_file(p, path);
}

static int find_in_dir(conv_plan *p, int layout)
{
    dir_scan d = {0};
    int err = scan_dir(&d, p->dir);
    int has_params = dir_has(p->dir, "params.json"), has_config = dir_has(p->dir, "config.json");
    static const char *const hf_names[] = {"model.safetensors.index.json", "model.safetensors",
                                           "pytorch_model.bin.index.json", "pytorch_model.bin"};
    const char *hf = NULL;
    if (err)
        goto done;
    for (size_t i = 0; i < 4 && !hf; i++)
        if (dir_has(p->dir, hf_names[i]))
            hf = hf_names[i];
    int has_hf = hf || d.n_st || d.n_bin;
    if (layout == LLQ_LAYOUT_AUTO) {
        if (d.n_meta && has_params)
            layout = LLQ_LAYOUT_META;
        else if (has_config && has_hf)
            layout = LLQ_LAYOUT_HF;
        else if (d.n_meta)
            layout = LLQ_LAYOUT_META; /* reported below: no params.json */
        else if (has_config)
            layout = LLQ_LAYOUT_HF;
        else {
            err = llq_err(LLQ_ENOTFOUND,
                          "%s: no LLaMA checkpoint found (expected consolidated.NN.pth + params.json, or config.json + "
                          "model.safetensors / pytorch_model.bin)",
                          p->dir);
            goto done;
        }
    }
    p->layout = layout;
    if (layout == LLQ_LAYOUT_META) {
        if (!d.n_meta || !has_params) {
            err = llq_err(LLQ_ENOTFOUND, "%s: Meta layout needs consolidated.NN.pth and params.json (%s missing)",
                          p->dir, d.n_meta ? "params.json" : "consolidated.00.pth");
            goto done;
        }
        p->config = join(p->dir, "params.json");
        err = take_meta(p, &d);
    } else {
        if (!has_config || !has_hf) {
            err = llq_err(LLQ_ENOTFOUND,
                          "%s: Hugging Face layout needs config.json and model.safetensors / pytorch_model.bin "
                          "(or their shards) (%s missing)",
                          p->dir, has_config ? "weights" : "config.json");
            goto done;
        }
        p->config = join(p->dir, "config.json");
        if (hf)
            err = take_named(p, hf);
        else if (d.n_st)
            err = take_hf_shards(p, d.st, d.n_st, ".safetensors");
        else
            err = take_hf_shards(p, d.bin, d.n_bin, ".bin");
    }
done:
    scan_free(&d);
    return err;
}

static int find_single(conv_plan *p, const char *path, int layout)
{
    const char *name = base_name(path);
    int has_params = dir_has(p->dir, "params.json"), has_config = dir_has(p->dir, "config.json");
    if (ends(name, ".index.json")) {
        layout = LLQ_LAYOUT_HF;
    } else if (layout == LLQ_LAYOUT_AUTO) {
        int meta_first = ends(name, ".pth");
        if ((meta_first && has_params) || (!has_config && has_params))
            layout = LLQ_LAYOUT_META;
        else if (has_config)
            layout = LLQ_LAYOUT_HF;
        else
            return llq_err(LLQ_ENOTFOUND, "%s: no params.json or config.json beside it", path);
    }
    p->layout = layout;
    p->config = join(p->dir, layout == LLQ_LAYOUT_META ? "params.json" : "config.json");
    if (!p->config)
        return llq_err(LLQ_ENOMEM, "out of memory");
    if (!is_file(p->config))
        return llq_err(LLQ_ENOTFOUND, "%s: no %s beside it", path, base_name(p->config));
    if (ends(name, ".index.json")) {
        p->index = strdup(path);
        return p->index ? take_index(p, path) : llq_err(LLQ_ENOMEM, "out of memory");
    }
    char *f = strdup(path);
    return add_file(p, f);
}

static int find_tokenizer(conv_plan *p, const char *given)
{
    if (given) {
        if (!is_file(given))
            return llq_err(LLQ_ENOTFOUND, "%s: no such tokenizer file", given);
        p->tokenizer = strdup(given);
    } else {
        p->tokenizer = join(p->dir, "tokenizer.model");
        if (p->tokenizer && !is_file(p->tokenizer)) {
            free(p->tokenizer);
            p->tokenizer = NULL;
            if (p->layout == LLQ_LAYOUT_META) { /* Meta's downloads keep it one level up */
                p->tokenizer = join(p->dir, "../tokenizer.model");
                if (p->tokenizer && !is_file(p->tokenizer)) {
                    free(p->tokenizer);
                    p->tokenizer = NULL;
                }
            }
            return 0;
        }
    }
    return p->tokenizer ? 0 : llq_err(LLQ_ENOMEM, "out of memory");
}

int conv_plan_find(conv_plan *p, const llq_convert_opts *o)
{
    struct stat st;
    char *text = NULL;
    size_t len;
    int err;
    memset(p, 0, sizeof *p);
    if (!o->src || !o->src[0])
        return llq_err(LLQ_EINVAL, "no source given");
    if (stat(o->src, &st))
        return llq_err(LLQ_ENOTFOUND, "%s: %s", o->src, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        size_t n = strlen(o->src);
        while (n > 1 && o->src[n - 1] == '/')
            n--;
        if (!(p->dir = strndup(o->src, n)))
            return llq_err(LLQ_ENOMEM, "out of memory");
        err = find_in_dir(p, o->layout);
    } else if (S_ISREG(st.st_mode)) {
        const char *slash = strrchr(o->src, '/');
        p->dir = slash ? strndup(o->src, slash == o->src ? 1 : (size_t)(slash - o->src)) : strdup(".");
        if (!p->dir)
            return llq_err(LLQ_ENOMEM, "out of memory");
        err = find_single(p, o->src, o->layout);
    } else {
        return llq_err(LLQ_EINVAL, "%s: not a file or directory", o->src);
    }
    if (err)
        return err;
    if ((err = conv_read_file(p->config, CONV_MAX_JSON, &text, &len)))
        return err;
    if (p->layout == LLQ_LAYOUT_META)
        err = conv_parse_params(&p->hp, &p->vocab_unknown, text, len, p->config);
    else
        err = conv_parse_config(&p->hp, &p->tied, text, len, p->config);
    free(text);
    return err ? err : find_tokenizer(p, o->tokenizer);
}

/* ---- planning the tensors ---- */

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
                       piece_t(p, o)->name, base_name(p->files[o.file]));
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
                if (strcmp(base_name(p->files[f]), file) == 0)
                    found = llq_src_find(p->srcs[f], name) != NULL;
            if (!found)
                return llq_err(LLQ_ENOTFOUND, "%s/%s: no tensor %s (listed there by %s)", p->dir, file, name,
                               base_name(p->index));
        }
    }
    conv_tensor *out = &p->tensors[p->n_tensors - 1], *emb = &p->tensors[0];
    if (!out->pieces && p->tied && emb->pieces) {
        if (!(out->pieces = malloc(sizeof *out->pieces)))
            return llq_err(LLQ_ENOMEM, "out of memory");
        out->pieces[0] = emb->pieces[0];
        out->n_pieces = 1;
        out->split = -1;
        out->n_dims = emb->n_dims;
        memcpy(out->dims, emb->dims, sizeof out->dims);
    }
    return 0;
}

int conv_plan_open(conv_plan *p, uint32_t tok_vocab)
{
    int err;
    p->n_tensors = conv_n_slots(p->hp.n_layers);
    if (!(p->srcs = calloc(p->n_files, sizeof *p->srcs)) || !(p->tensors = calloc(p->n_tensors, sizeof *p->tensors)))
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t f = 0; f < p->n_files; f++)
        if ((err = llq_src_open(&p->srcs[f], p->files[f])))
            return err;
    if ((err = p->layout == LLQ_LAYOUT_META ? plan_meta(p) : plan_hf(p)))
        return err;
    const char *vocab_from = base_name(p->config);
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
        uint32_t n_dims;
        uint64_t dims[2];
        conv_slot_name(t->name, slot, p->hp.n_layers);
        conv_slot_shape(slot, &p->hp, &n_dims, dims);
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
                           slot == 0 || slot == p->n_tensors - 1 ? vocab_from : base_name(p->config));
        }
        t->src_dtype = st->dtype;
    }
    return 0;
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
