/* safetensors.c — u64 header length + JSON header (json-c) + data section; fully validated. */
#include "srcint.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100ull << 20)
#define ST_MAX_JSON_DEPTH 8

static const struct {
    const char *name;
    uint32_t dtype;
} ST_DTYPES[] = {
    {"F32", LLQ_SRC_F32}, {"F16", LLQ_SRC_F16}, {"BF16", LLQ_SRC_BF16}, {"F64", LLQ_SRC_F64},
    {"I64", LLQ_SRC_I64}, {"I32", LLQ_SRC_I32}, {"I16", LLQ_SRC_I16},   {"I8", LLQ_SRC_I8},
    {"U8", LLQ_SRC_U8},   {"BOOL", LLQ_SRC_BOOL},
};

typedef struct {
    const char *name;
    uint32_t dtype, n_dims;
    uint64_t dims[LLQ_SRC_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

typedef struct {
    const char *p;
    size_t n;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int cmp_entry(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* json-c keeps the last of duplicate keys silently: count keys in the raw text (every string followed by
 * ':'), and name a duplicate among the top-level ones. */
static int prescan(const char *j, size_t n, size_t *n_keys, span **top, size_t *n_top)
{
    int depth = 0;
    size_t cap = 0;
    *n_keys = 0;
    *top = NULL;
    *n_top = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = j[i];
        if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        } else if (ch == '"') {
            size_t b = ++i;
            while (i < n && j[i] != '"')
                i += j[i] == '\\' ? 2 : 1;
            if (i >= n)
                return 0; /* unterminated: json-c reports it */
            size_t e = i, k = i + 1;
            while (k < n && (j[k] == ' ' || j[k] == '\t' || j[k] == '\n' || j[k] == '\r'))
                k++;
            if (k < n && j[k] == ':') {
                (*n_keys)++;
                if (depth == 1) {
                    if (*n_top == cap) {
                        cap = cap ? cap * 2 : 64;
                        span *t = realloc(*top, cap * sizeof *t);
                        if (!t)
                            return llq_err(LLQ_ENOMEM, "out of memory");
                        *top = t;
                    }
                    (*top)[(*n_top)++] = (span){j + b, e - b};
                }
            }
        }
    }
    return 0;
}

static size_t count_keys(struct json_object *o)
{
    size_t n = 0;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v) {
            (void)k;
            n += 1 + count_keys(v);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            n += count_keys(json_object_array_get_idx(o, i));
    }
    return n;
}

static int get_u64(struct json_object *o, uint64_t *out)
{
    if (!json_object_is_type(o, json_type_int))
        return -1;
    int64_t v = json_object_get_int64(o);
    if (v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_entry(st_entry *e, const char *name, struct json_object *v)
{
    struct json_object *dt, *sh, *off;
    if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "dtype", &dt) ||
        !json_object_object_get_ex(v, "shape", &sh) || !json_object_object_get_ex(v, "data_offsets", &off) ||
        !json_object_is_type(dt, json_type_string) || !json_object_is_type(sh, json_type_array) ||
        !json_object_is_type(off, json_type_array))
        return llq_err(LLQ_EFORMAT, "tensor '%s': entry needs dtype (string), shape and data_offsets (arrays)", name);
    e->name = name;
    const char *d = json_object_get_string(dt);
    size_t k = 0;
    while (k < sizeof ST_DTYPES / sizeof ST_DTYPES[0] && strcmp(ST_DTYPES[k].name, d) != 0)
        k++;
    if (k == sizeof ST_DTYPES / sizeof ST_DTYPES[0])
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%s': dtype '%.32s' is not supported", name, d);
    e->dtype = ST_DTYPES[k].dtype;
    size_t nd = json_object_array_length(sh);
    if (nd > LLQ_SRC_MAX_DIMS)
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' has %zu dimensions (max %d)", name, nd, LLQ_SRC_MAX_DIMS);
    e->n_dims = (uint32_t)nd;
    for (size_t i = 0; i < nd; i++)
        if (get_u64(json_object_array_get_idx(sh, i), &e->dims[i]))
            return llq_err(LLQ_EFORMAT, "tensor '%s': shape[%zu] is not a non-negative integer", name, i);
    if (json_object_array_length(off) != 2 || get_u64(json_object_array_get_idx(off, 0), &e->begin) ||
        get_u64(json_object_array_get_idx(off, 1), &e->end) || e->begin > e->end)
        return llq_err(LLQ_EFORMAT, "tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end", name);
    uint64_t nb = llq_src_dtype_size(e->dtype);
    for (size_t i = 0; i < nd; i++)
        if (llq_mul_u64(&nb, nb, e->dims[i]))
            return llq_err(LLQ_EFORMAT, "tensor '%s': byte size overflows", name);
    if (nb != e->end - e->begin)
        return llq_err(LLQ_EFORMAT, "tensor '%s': shape x dtype is %llu bytes but data_offsets span %llu", name,
                       (unsigned long long)nb, (unsigned long long)(e->end - e->begin));
    return 0;
}

int safetensors_load(llq_src *s)
{
    int err = 0;
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    span *top = NULL;
    st_entry *ents = NULL;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | s->map[i];
    if (hlen > ST_MAX_HEADER) {
        return llq_err(LLQ_ELIMIT, "safetensors header claims %llu bytes (limit %llu)", (unsigned long long)hlen,
                       ST_MAX_HEADER);
    }
    if (hlen > s->size - 8)
        return llq_err(LLQ_EFORMAT, "safetensors header claims %llu bytes but the file has %llu after the length",
                       (unsigned long long)hlen, (unsigned long long)(s->size - 8));
    const char *j = (const char *)s->map + 8;
    size_t n_keys, n_top;
    if ((err = prescan(j, hlen, &n_keys, &top, &n_top)))
        goto done;
    if (n_top > 1)
        qsort(top, n_top, sizeof *top, cmp_span);
    for (size_t i = 1; i < n_top; i++) {
        if (cmp_span(&top[i - 1], &top[i]) == 0) {
            err = llq_err(LLQ_EFORMAT, "safetensors header has the key '%.*s' twice", (int)(top[i].n > 200 ? 200 : top[i].n),
                          top[i].p);
            goto done;
        }
    }
    if (!(tok = json_tokener_new_ex(ST_MAX_JSON_DEPTH))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, j, (int)hlen);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (!root || je != json_tokener_success) {
        err = llq_err(LLQ_EFORMAT, "safetensors header is not valid JSON (%s at byte %zu)",
                      je == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(je),
                      (size_t)json_tokener_get_parse_end(tok));
        goto done;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < hlen; i++) {
        if (j[i] != ' ' && j[i] != '\n' && j[i] != '\t' && j[i] != '\r') {
            err = llq_err(LLQ_EFORMAT, "safetensors header has trailing bytes after the JSON object");
            goto done;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        err = llq_err(LLQ_EFORMAT, "safetensors header is not a JSON object");
        goto done;
    }
    if (count_keys(root) != n_keys) {
        err = llq_err(LLQ_EFORMAT, "safetensors header repeats a key inside an entry");
        goto done;
    }
    size_t n = (size_t)json_object_object_length(root), m = 0;
    if (!(ents = calloc(n ? n : 1, sizeof *ents))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    json_object_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_object_is_type(val, json_type_object)) {
                err = llq_err(LLQ_EFORMAT, "safetensors __metadata__ is not an object");
                goto done;
            }
            continue;
        }
        if ((err = parse_entry(&ents[m++], key, val)))
            goto done;
    }
    if (m > 1)
        qsort(ents, m, sizeof *ents, cmp_entry);
    uint64_t data = 8 + hlen, dsize = s->size - data, at = 0;
    for (size_t i = 0; i < m; i++) {
        if (ents[i].begin != at) {
            err = llq_err(LLQ_EFORMAT, "tensor '%s': data_offsets [%llu, %llu] %s the previous tensor's end %llu",
                          ents[i].name, (unsigned long long)ents[i].begin, (unsigned long long)ents[i].end,
                          ents[i].begin < at ? "overlap" : "leave a gap after", (unsigned long long)at);
            goto done;
        }
        at = ents[i].end;
    }
    if (at != dsize) {
        err = llq_err(LLQ_EFORMAT, "safetensors data section is %llu bytes but the tensors cover %llu",
                      (unsigned long long)dsize, (unsigned long long)at);
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        size_t si;
        if ((err = src_storage_add(s, &si, ents[i].name, (int32_t)ents[i].dtype)))
            goto done;
        s->st[si].off = data + ents[i].begin;
        s->st[si].nbytes = ents[i].end - ents[i].begin;
        s->st[si].placed = 1;
        if ((err = src_tensor_add(s, ents[i].name, strlen(ents[i].name), ents[i].dtype, ents[i].n_dims, ents[i].dims,
                                  si, 0, NULL)))
            goto done;
    }
done:
    free(ents);
    free(top);
    if (root)
        json_object_put(root);
    if (tok)
        json_tokener_free(tok);
    return err;
}
