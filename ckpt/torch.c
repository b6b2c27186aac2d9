/* torch.c — torch.save checkpoints: the zip format (>= 1.6: <dir>/data.pkl + <dir>/data/<key>) and the legacy
 * stream (magic, protocol, sys_info and state pickles, storage keys, then raw storages). The state pickle is
 * run by the symbolic machine (pickle.c); here its tree is read as a (nested) dict of tensors. */
#include "pickle.h"
#include "srcint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WALK_DEPTH 32
#define MAX_WALK_VISITS 2000000u
#define LEGACY_PROTOCOL 1001

typedef struct {
    llq_src *s;
    size_t visits;
    char name[SRC_MAX_NAME + 1];
} walker;

static int get_int(const pk_val *v, int64_t *out)
{
    if (!v || (v->kind != PK_INT && v->kind != PK_BOOL))
        return -1;
    *out = v->i;
    return 0;
}

/* The storage index for a persistent id ('storage', <Storage class>, key, location, numel[, view]). */
static int storage_of(llq_src *s, const pk_val *pid, size_t *idx, uint64_t *view_off)
{
    *view_off = 0;
    const pk_val *t = pid->args;
    if (!t || t->kind != PK_TUPLE || t->n < 5 || t->items[0]->kind != PK_STR || strcmp(t->items[0]->s, "storage"))
        return llq_err(LLQ_EFORMAT, "persistent id is not a ('storage', type, key, location, size) tuple");
    const pk_val *type = t->items[1], *key = t->items[2];
    if (type->kind != PK_GLOBAL || type->global != PKG_STORAGE)
        return llq_err(LLQ_EUNSUPPORTED, "storage type '%s' is not supported", type->kind == PK_GLOBAL ? type->s : "?");
    char kbuf[32];
    const char *k;
    if (key->kind == PK_STR)
        k = key->s;
    else if (key->kind == PK_INT)
        snprintf(kbuf, sizeof kbuf, "%" PRId64, key->i), k = kbuf;
    else
        return llq_err(LLQ_EFORMAT, "storage key is not a string");
    if (t->n >= 6 && t->items[5]->kind != PK_NONE) { /* legacy view: (view_key, offset, size) into key */
        const pk_val *vm = t->items[5];
        int64_t off;
        if (vm->kind != PK_TUPLE || vm->n != 3 || get_int(vm->items[1], &off) || off < 0)
            return llq_err(LLQ_EFORMAT, "storage '%s': malformed view metadata", k);
        *view_off = (uint64_t)off;
    }
    for (size_t i = 0; i < s->n_st; i++) {
        if (strcmp(s->st[i].key, k) == 0) {
            if (s->st[i].dtype != type->dtype)
                return llq_err(LLQ_EUNSUPPORTED, "storage '%s' is used with two element types", k);
            *idx = i;
            return 0;
        }
    }
    return src_storage_add(s, idx, k, type->dtype);
}

/* The _rebuild_tensor_v2 argument tuple behind v (unwrapping _rebuild_parameter and _rebuild_from_type_v2),
 * or NULL if v is not a tensor. */
static const pk_val *rebuild_args(const pk_val *v)
{
    for (int k = 0; k < 4 && v && v->kind == PK_CALL; k++) {
        const pk_val *a = v->args;
        int g = v->callee->global;
        if (g == PKG_REBUILD_TENSOR_V2)
            return a;
        if (g == PKG_REBUILD_PARAMETER && a->n >= 1) {
            v = a->items[0];
        } else if (g == PKG_REBUILD_FROM_TYPE && a->n >= 3 && a->items[0]->kind == PK_GLOBAL &&
                   a->items[2]->kind == PK_TUPLE) {
            if (a->items[0]->global == PKG_REBUILD_TENSOR_V2)
                return a->items[2];
            if (a->items[0]->global != PKG_REBUILD_PARAMETER || a->items[2]->n < 1)
                return NULL;
            v = a->items[2]->items[0];
        } else {
            return NULL;
        }
    }
    return NULL;
}

static int dims_of(const pk_val *t, uint64_t *out, uint32_t *n, const char *what, const char *name)
{
    if (!t || t->kind != PK_TUPLE)
        return llq_err(LLQ_EFORMAT, "tensor '%s': %s is not a tuple", name, what);
    if (t->n > LLQ_SRC_MAX_DIMS)
        return llq_err(LLQ_EUNSUPPORTED, "tensor '%s' has %zu dimensions (max %d)", name, t->n, LLQ_SRC_MAX_DIMS);
    for (size_t d = 0; d < t->n; d++) {
        int64_t x;
        if (get_int(t->items[d], &x) || x < 0)
            return llq_err(LLQ_EFORMAT, "tensor '%s': %s[%zu] is not a non-negative integer", name, what, d);
        out[d] = (uint64_t)x;
    }
    *n = (uint32_t)t->n;
    return 0;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata]) -> tensor w->name. */
static int add_tensor(walker *w, const pk_val *a, size_t name_len)
{
    const char *name = w->name;
    if (a->n < 4 || a->items[0]->kind != PK_PERSID)
        return llq_err(LLQ_EFORMAT, "tensor '%s': malformed _rebuild_tensor_v2 arguments", name);
    size_t st;
    uint64_t view_off, dims[LLQ_SRC_MAX_DIMS], stride[LLQ_SRC_MAX_DIMS], off;
    uint32_t nd, ns;
    int64_t so;
    int err = storage_of(w->s, a->items[0], &st, &view_off);
    if (err)
        return llq_err_prefix(err, name);
    if (get_int(a->items[1], &so) || so < 0)
        return llq_err(LLQ_EFORMAT, "tensor '%s': storage offset is not a non-negative integer", name);
    if ((err = dims_of(a->items[2], dims, &nd, "size", name)) || (err = dims_of(a->items[3], stride, &ns, "stride", name)))
        return err;
    if (nd != ns)
        return llq_err(LLQ_EFORMAT, "tensor '%s': %u sizes but %u strides", name, nd, ns);
    if (llq_add_u64(&off, (uint64_t)so, view_off))
        return llq_err(LLQ_EFORMAT, "tensor '%s': storage offset overflows", name);
    return src_tensor_add(w->s, name, name_len, (uint32_t)w->s->st[st].dtype, nd, dims, st, off, stride);
}

static int cmp_key(const void *a, const void *b)
{
    const pk_val *x = *(const pk_val *const *)a, *y = *(const pk_val *const *)b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->s, y->s, x->len);
}

/* A string key twice in one dict: Python keeps the last value, a first-match reader the first, so the file
 * would mean one thing to torch.load and another here (torch.save never writes it). Refused. */
static int check_dup_keys(const pk_val *v)
{
    size_t n = 0;
    int err = 0;
    if (v->n < 4)
        return 0;
    if (v->n <= 16) { /* small dicts (every level of a memo bomb): pairwise, no allocation */
        for (size_t i = 0; i + 1 < v->n; i += 2)
            for (size_t j = i + 2; j + 1 < v->n; j += 2)
                if (v->items[i]->kind == PK_STR && v->items[j]->kind == PK_STR && !cmp_key(&v->items[i], &v->items[j]))
                    return llq_err(LLQ_EFORMAT, "dict key '%.200s' appears twice (torch.save never writes that)",
                                   v->items[i]->s);
        return 0;
    }
    const pk_val **k = malloc(v->n / 2 * sizeof *k);
    if (!k)
        return llq_err(LLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i + 1 < v->n; i += 2)
        if (v->items[i]->kind == PK_STR)
            k[n++] = v->items[i];
    qsort(k, n, sizeof *k, cmp_key);
    for (size_t i = 1; i < n && !err; i++)
        if (!cmp_key(&k[i - 1], &k[i]))
            err = llq_err(LLQ_EFORMAT, "dict key '%.200s' appears twice (torch.save never writes that)", k[i]->s);
    free(k);
    return err;
}

/* Walks dicts (nested ones give dotted names) and adds every tensor; other values are skipped. */
static int walk(walker *w, const pk_val *v, size_t name_len, int depth)
{
    if (++w->visits > MAX_WALK_VISITS)
        return llq_err(LLQ_ELIMIT, "state dict has more than %u values", MAX_WALK_VISITS);
    const pk_val *a = rebuild_args(v);
    if (a) {
        if (name_len == 0)
            return llq_err(LLQ_EUNSUPPORTED, "the checkpoint is a single tensor, not a state dict");
        return add_tensor(w, a, name_len);
    }
    if (v->kind != PK_DICT)
        return depth == 0 ? llq_err(LLQ_EUNSUPPORTED, "top-level object is not a dict (a state dict was expected)") : 0;
    if (depth >= MAX_WALK_DEPTH)
        return llq_err(LLQ_ELIMIT, "dicts nested deeper than %d", MAX_WALK_DEPTH);
    int derr = check_dup_keys(v);
    if (derr)
        return derr;
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        const pk_val *k = v->items[i];
        char num[32];
        const char *ks;
        size_t kl;
        if (k->kind == PK_STR) {
            ks = k->s;
            kl = k->len;
        } else if (k->kind == PK_INT) {
            kl = (size_t)snprintf(num, sizeof num, "%" PRId64, k->i);
            ks = num;
        } else {
            continue;
        }
        size_t nl = name_len + (name_len ? 1 : 0) + kl;
        if (nl > SRC_MAX_NAME)
            return llq_err(LLQ_ELIMIT, "tensor name longer than %u bytes", SRC_MAX_NAME);
        if (name_len)
            w->name[name_len] = '.';
        memcpy(w->name + nl - kl, ks, kl);
        w->name[nl] = 0;
        int err = walk(w, v->items[i + 1], nl, depth + 1);
        w->name[name_len] = 0;
        if (err)
            return err;
    }
    return 0;
}

static int load_state(llq_src *s, const pk_val *root)
{
    walker *w = calloc(1, sizeof *w);
    if (!w)
        return llq_err(LLQ_ENOMEM, "out of memory");
    w->s = s;
    int err = walk(w, root, 0, 0);
    free(w);
    return err;
}

/* ---- zip format ---- */

int torch_zip_load(llq_src *s)
{
    pk_ctx *pc = NULL;
    void *owned = NULL;
    char *ename = NULL;
    int err = zip_open(&s->zip, s->map, s->size);
    if (err)
        return err;
    /* The pickle is <dir>/data.pkl, <dir> being anything without a slash (not always "archive"). */
    const zip_entry *pkl = NULL;
    size_t dlen = 0;
    for (size_t i = 0; i < s->zip.n; i++) {
        const char *n = s->zip.e[i].name, *sl = strchr(n, '/');
        if (sl && strcmp(sl, "/data.pkl") == 0) {
            if (pkl) {
                err = llq_err(LLQ_EFORMAT, "zip holds several data.pkl ('%s', '%s')", pkl->name, n);
                goto done;
            }
            pkl = &s->zip.e[i];
            dlen = (size_t)(sl - n) + 1;
        }
    }
    if (!pkl) {
        err = llq_err(LLQ_EFORMAT, "zip has no <dir>/data.pkl: not a torch.save checkpoint");
        goto done;
    }
    if (!(ename = malloc(dlen + 32 + SRC_MAX_NAME))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(ename, pkl->name, dlen);
    strcpy(ename + dlen, "byteorder");
    const zip_entry *bo = zip_find(&s->zip, ename);
    if (bo) {
        const void *p;
        void *o;
        if ((err = zip_read(&s->zip, bo, 1, &p, &o)))
            goto done;
        int little = bo->usize == 6 && memcmp(p, "little", 6) == 0;
        free(o);
        if (!little) {
            err = llq_err(LLQ_EUNSUPPORTED, "big-endian checkpoint (byteorder is not 'little')");
            goto done;
        }
    }
    const void *p;
    if ((err = zip_read(&s->zip, pkl, 1, &p, &owned)))
        goto done;
    pk_val *root;
    size_t used;
    if ((err = pk_parse(&pc, &root, p, pkl->usize, &used))) {
        llq_err_prefix(err, pkl->name);
        goto done;
    }
    if ((err = load_state(s, root)))
        goto done;
    /* Place every storage on its entry <dir>/data/<key>. */
    for (size_t i = 0; i < s->n_st; i++) {
        src_storage *st = &s->st[i];
        snprintf(ename + dlen, 32 + SRC_MAX_NAME, "data/%s", st->key);
        if (!(st->entry = zip_find(&s->zip, ename))) {
            err = llq_err(LLQ_EFORMAT, "storage entry '%s' is missing", ename);
            goto done;
        }
        st->nbytes = st->entry->usize;
        st->placed = 1;
    }
done:
    pk_free(pc);
    free(owned);
    free(ename);
    return err;
}

/* ---- legacy format ---- */

static int parse_next(const llq_src *s, uint64_t *pos, pk_ctx **pc, pk_val **root, const char *what)
{
    size_t used;
    int err = pk_parse(pc, root, s->map + *pos, s->size - *pos, &used);
    if (err) {
        char pre[64];
        snprintf(pre, sizeof pre, "legacy %s pickle at byte %llu", what, (unsigned long long)*pos);
        return llq_err_prefix(err, pre);
    }
    *pos += used;
    return 0;
}

static const uint8_t LEGACY_MAGIC[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

size_t torch_legacy_magic(const uint8_t *b, uint64_t size)
{
    size_t p = 0;
    if (size < 2 || b[0] != 0x80 || b[1] < 2 || b[1] > 5)
        return 0;
    p = 2;
    if (size >= p + 9 && b[p] == 0x95) /* FRAME (protocol 4+) */
        p += 9;
    if (size < p + 13 || b[p] != 0x8a || b[p + 1] != 10 || memcmp(b + p + 2, LEGACY_MAGIC, 10) || b[p + 12] != '.')
        return 0;
    return p + 13;
}

int torch_legacy_load(llq_src *s)
{
    pk_ctx *pc = NULL, *tmp = NULL;
    pk_val *v;
    int64_t x;
    int err = 0;
    /* 1. magic number: matched on its bytes (its LONG1 does not fit the pickle machine's 64-bit integers) */
    uint64_t pos = torch_legacy_magic(s->map, s->size);
    if (pos == 0)
        return llq_err(LLQ_EFORMAT, "legacy: malformed magic-number pickle");
    /* 2. protocol version */
    if ((err = parse_next(s, &pos, &tmp, &v, "protocol")))
        goto done;
    if (get_int(v, &x) || x != LEGACY_PROTOCOL) {
        err = llq_err(LLQ_EUNSUPPORTED, "legacy: protocol version is not %d", LEGACY_PROTOCOL);
        goto done;
    }
    pk_free(tmp), tmp = NULL;
    /* 3. sys_info */
    if ((err = parse_next(s, &pos, &tmp, &v, "sys_info")))
        goto done;
    pk_val *le = pk_dict_get(v, "little_endian");
    if (le && (get_int(le, &x) || x != 1)) {
        err = llq_err(LLQ_EUNSUPPORTED, "legacy: big-endian checkpoint");
        goto done;
    }
    pk_free(tmp), tmp = NULL;
    /* 4. the state dict */
    if ((err = parse_next(s, &pos, &pc, &v, "state")) || (err = load_state(s, v)))
        goto done;
    /* 5. storage keys, in the order the raw storages follow */
    if ((err = parse_next(s, &pos, &tmp, &v, "storage keys")))
        goto done;
    if (v->kind != PK_LIST) {
        err = llq_err(LLQ_EFORMAT, "legacy: storage key list is not a list");
        goto done;
    }
    for (size_t k = 0; k < v->n; k++) {
        const pk_val *key = v->items[k];
        if (key->kind != PK_STR) {
            err = llq_err(LLQ_EFORMAT, "legacy: storage key %zu is not a string", k);
            goto done;
        }
        src_storage *st = NULL;
        for (size_t i = 0; i < s->n_st && !st; i++)
            if (strcmp(s->st[i].key, key->s) == 0)
                st = &s->st[i];
        if (!st) {
            err = llq_err(LLQ_EFORMAT, "legacy: storage '%s' is not used by any tensor", key->s);
            goto done;
        }
        if (st->placed) {
            err = llq_err(LLQ_EFORMAT, "legacy: storage '%s' listed twice", key->s);
            goto done;
        }
        /* 6. u64 element count, then the bytes */
        if (s->size - pos < 8) {
            err = llq_err(LLQ_EFORMAT, "legacy: truncated before storage '%s'", key->s);
            goto done;
        }
        uint64_t numel = 0, nb, end;
        for (int b = 7; b >= 0; b--)
            numel = numel << 8 | s->map[pos + (uint64_t)b];
        pos += 8;
        if (llq_mul_u64(&nb, numel, llq_src_dtype_size((uint32_t)st->dtype)) || llq_add_u64(&end, pos, nb) ||
            end > s->size) {
            err = llq_err(LLQ_EFORMAT, "legacy: storage '%s' (%llu elements) runs past the end of the file", key->s,
                          (unsigned long long)numel);
            goto done;
        }
        st->off = pos;
        st->nbytes = nb;
        st->placed = 1;
        pos = end;
    }
done:
    pk_free(tmp);
    pk_free(pc);
    return err;
}
