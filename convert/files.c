/* files.c — which files make up a checkpoint: the layout (Meta or Hugging Face, detected or forced), its shards
 * in order (all present), its params.json / config.json (parsed into the hyper-parameters), any *.index.json, and
 * the tokenizer.model beside it. */
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

const char *conv_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Present as a file: anything but a directory. A FIFO or device named like a checkpoint file is taken, and its
 * reader (llq_open_input) then says what it is, instead of "missing". */
static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int dir_has(const char *dir, const char *name)
{
    char *p = join(dir, name);
    int r = p && is_file(p);
    free(p);
    return r;
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
    if ((err = llq_read_input(&text, &len, index_path, CONV_MAX_JSON, 0)))
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
            err = llq_err(LLQ_ENOTFOUND, "%s: missing shard (listed in %s)", path, conv_base_name(index_path));
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
    /* Mistral's own download (mistral-inference): Meta's tensor names in one consolidated.safetensors */
    int mistral_st = !d.n_meta && has_params && dir_has(p->dir, "consolidated.safetensors");
    if (layout == LLQ_LAYOUT_AUTO) {
        if ((d.n_meta || mistral_st) && has_params)
            layout = LLQ_LAYOUT_META;
        else if (has_config && has_hf)
            layout = LLQ_LAYOUT_HF;
        else if (d.n_meta)
            layout = LLQ_LAYOUT_META; /* reported below: no params.json */
        else if (has_config)
            layout = LLQ_LAYOUT_HF;
        else {
            err = llq_err(LLQ_ENOTFOUND,
                          "%s: no LLaMA checkpoint found (expected consolidated.NN.pth or consolidated.safetensors + "
                          "params.json, or config.json + model.safetensors / pytorch_model.bin)",
                          p->dir);
            goto done;
        }
    }
    p->layout = layout;
    if (layout == LLQ_LAYOUT_META && mistral_st) {
        p->config = join(p->dir, "params.json");
        err = take_named(p, "consolidated.safetensors");
    } else if (layout == LLQ_LAYOUT_META) {
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
    const char *name = conv_base_name(path);
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
        return llq_err(LLQ_ENOTFOUND, "%s: no %s beside it", path, conv_base_name(p->config));
    if (ends(name, ".index.json")) {
        p->index = strdup(path);
        return p->index ? take_index(p, path) : llq_err(LLQ_ENOMEM, "out of memory");
    }
    char *f = strdup(path);
    return add_file(p, f);
}

/* The tokenizer beside the checkpoint: tokenizer.model (SentencePiece, or Meta's tiktoken file for Llama-3),
 * else tokenizer.json (Hugging Face); for the Meta layout also tokenizer.model one directory up. */
static int find_tokenizer(conv_plan *p, const char *given)
{
    if (given) {
        struct stat st;
        if (stat(given, &st) != 0)
            return llq_err(LLQ_ENOTFOUND, "%s: no such tokenizer file", given);
        p->tokenizer = strdup(given);
        return p->tokenizer ? 0 : llq_err(LLQ_ENOMEM, "out of memory");
    }
    static const char *const cand[3] = {"tokenizer.model", "tokenizer.json", "../tokenizer.model"};
    for (int i = 0; i < (p->layout == LLQ_LAYOUT_META ? 3 : 2); i++) {
        if (!(p->tokenizer = join(p->dir, cand[i])))
            return llq_err(LLQ_ENOMEM, "out of memory");
        if (is_file(p->tokenizer))
            return 0;
        free(p->tokenizer);
        p->tokenizer = NULL;
    }
    return 0;
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
    if ((err = llq_read_input(&text, &len, p->config, CONV_MAX_JSON, 0)))
        return err;
    if (p->layout == LLQ_LAYOUT_META)
        err = conv_parse_params(&p->hp, &p->vocab_unknown, text, len, p->config);
    else
        err = conv_parse_config(&p->hp, text, len, p->config);
    free(text);
    return err ? err : find_tokenizer(p, o->tokenizer);
}
