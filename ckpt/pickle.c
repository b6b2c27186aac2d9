/* pickle.c — symbolic pickle machine: inert value tree, allow-listed globals, nothing executed. */
#include "pickle.h"

#include "llq/ckpt.h"
#include "llq/llq.h"

#include <stdlib.h>
#include <string.h>

#define PK_MAX_REFS 40000000u /* item slots in all containers together */
#define PK_MAX_IDENT 256u     /* GLOBAL module / name length */

struct pk_ctx {
    pk_val *all;                /* every node, linked by next_alloc */
    size_t n_nodes, n_refs;
    pk_val **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nm, mcap;
    pk_val **memo;
    size_t memo_cap, memo_len;
    int nerr; /* code of the last failed node() */
};

static const struct allowed {
    const char *module, *name;
    uint8_t global;
    int32_t dtype;
} ALLOW[] = {
    {"collections", "OrderedDict", PKG_ORDERED_DICT, -1},
    {"torch._utils", "_rebuild_tensor_v2", PKG_REBUILD_TENSOR_V2, -1},
    {"torch._utils", "_rebuild_parameter", PKG_REBUILD_PARAMETER, -1},
    {"torch._utils", "_rebuild_parameter_with_state", PKG_REBUILD_PARAMETER, -1},
    {"torch._tensor", "_rebuild_from_type_v2", PKG_REBUILD_FROM_TYPE, -1},
    {"torch._tensor", "Tensor", PKG_TENSOR_CLASS, -1},
    {"torch", "Tensor", PKG_TENSOR_CLASS, -1},
    {"torch.nn.parameter", "Parameter", PKG_TENSOR_CLASS, -1},
    {"torch", "FloatStorage", PKG_STORAGE, LLQ_SRC_F32},
    {"torch", "HalfStorage", PKG_STORAGE, LLQ_SRC_F16},
    {"torch", "BFloat16Storage", PKG_STORAGE, LLQ_SRC_BF16},
    {"torch", "DoubleStorage", PKG_STORAGE, LLQ_SRC_F64},
    {"torch", "LongStorage", PKG_STORAGE, LLQ_SRC_I64},
    {"torch", "IntStorage", PKG_STORAGE, LLQ_SRC_I32},
    {"torch", "ShortStorage", PKG_STORAGE, LLQ_SRC_I16},
    {"torch", "CharStorage", PKG_STORAGE, LLQ_SRC_I8},
    {"torch", "ByteStorage", PKG_STORAGE, LLQ_SRC_U8},
    {"torch", "BoolStorage", PKG_STORAGE, LLQ_SRC_BOOL},
    {"torch", "float32", PKG_DTYPE, LLQ_SRC_F32},
    {"torch", "float", PKG_DTYPE, LLQ_SRC_F32},
    {"torch", "float16", PKG_DTYPE, LLQ_SRC_F16},
    {"torch", "half", PKG_DTYPE, LLQ_SRC_F16},
    {"torch", "bfloat16", PKG_DTYPE, LLQ_SRC_BF16},
    {"torch", "float64", PKG_DTYPE, LLQ_SRC_F64},
    {"torch", "double", PKG_DTYPE, LLQ_SRC_F64},
    {"torch", "int64", PKG_DTYPE, LLQ_SRC_I64},
    {"torch", "long", PKG_DTYPE, LLQ_SRC_I64},
    {"torch", "int32", PKG_DTYPE, LLQ_SRC_I32},
    {"torch", "int", PKG_DTYPE, LLQ_SRC_I32},
    {"torch", "int16", PKG_DTYPE, LLQ_SRC_I16},
    {"torch", "short", PKG_DTYPE, LLQ_SRC_I16},
    {"torch", "int8", PKG_DTYPE, LLQ_SRC_I8},
    {"torch", "uint8", PKG_DTYPE, LLQ_SRC_U8},
    {"torch", "bool", PKG_DTYPE, LLQ_SRC_BOOL},
};

static void printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        dst[k++] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    dst[k] = 0;
}

static pk_val *node(pk_ctx *c, int kind)
{
    if (c->n_nodes >= PK_MAX_NODES) {
        c->nerr = llq_err(LLQ_ELIMIT, "pickle: more than %u values", PK_MAX_NODES);
        return NULL;
    }
    pk_val *v = calloc(1, sizeof *v);
    if (!v) {
        c->nerr = llq_err(LLQ_ENOMEM, "pickle: out of memory");
        return NULL;
    }
    v->kind = (uint8_t)kind;
    v->dtype = -1;
    v->next_alloc = c->all;
    c->all = v;
    c->n_nodes++;
    return v;
}

static int add_item(pk_ctx *c, pk_val *box, pk_val *item)
{
    if (++c->n_refs > PK_MAX_REFS)
        return llq_err(LLQ_ELIMIT, "pickle: more than %u container items", PK_MAX_REFS);
    if (box->n == box->cap) {
        size_t cap = box->cap ? box->cap * 2 : 4;
        pk_val **it = realloc(box->items, cap * sizeof *it);
        if (!it)
            return llq_err(LLQ_ENOMEM, "pickle: out of memory");
        box->items = it;
        box->cap = cap;
    }
    box->items[box->n++] = item;
    return 0;
}

void pk_free(pk_ctx *c)
{
    if (!c)
        return;
    for (pk_val *v = c->all, *nx; v; v = nx) {
        nx = v->next_alloc;
        free(v->items);
        free(v->s);
        free(v);
    }
    free(c->stack);
    free(c->marks);
    free(c->memo);
    free(c);
}

pk_val *pk_dict_get(const pk_val *d, const char *key)
{
    if (!d || d->kind != PK_DICT)
        return NULL;
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == PK_STR && strcmp(d->items[i]->s, key) == 0)
            return d->items[i + 1];
    return NULL;
}

/* ---- the machine ---- */

typedef struct {
    pk_ctx *c;
    const uint8_t *b;
    size_t len, pos, op_pos;
} vm;

#define NEED(n)                                                                                              \
    do {                                                                                                     \
        if ((uint64_t)(n) > m->len - m->pos)                                                                 \
            return llq_err(LLQ_EFORMAT, "pickle: truncated at byte %zu (opcode 0x%02x needs %llu more bytes)", \
                           m->len, m->b[m->op_pos], (unsigned long long)(n));                               \
    } while (0)

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int push(vm *m, pk_val *v)
{
    pk_ctx *c = m->c;
    if (!v)
        return c->nerr; /* node() failed and set the message */
    if (c->sp == c->scap) {
        if (c->scap >= PK_MAX_STACK)
            return llq_err(LLQ_ELIMIT, "pickle: stack deeper than %u at byte %zu", PK_MAX_STACK, m->op_pos);
        size_t cap = c->scap ? c->scap * 2 : 64;
        if (cap > PK_MAX_STACK)
            cap = PK_MAX_STACK;
        pk_val **s = realloc(c->stack, cap * sizeof *s);
        if (!s)
            return llq_err(LLQ_ENOMEM, "pickle: out of memory");
        c->stack = s;
        c->scap = cap;
    }
    c->stack[c->sp++] = v;
    return 0;
}

/* Bottom of the current frame: the last mark, or 0. */
static size_t frame_base(const pk_ctx *c)
{
    return c->nm ? c->marks[c->nm - 1] : 0;
}

static int pop(vm *m, pk_val **out)
{
    pk_ctx *c = m->c;
    if (c->sp <= frame_base(c))
        return llq_err(LLQ_EFORMAT, "pickle: stack underflow at byte %zu (opcode 0x%02x)", m->op_pos, m->b[m->op_pos]);
    *out = c->stack[--c->sp];
    return 0;
}

static int top(vm *m, pk_val **out)
{
    pk_ctx *c = m->c;
    if (c->sp <= frame_base(c))
        return llq_err(LLQ_EFORMAT, "pickle: stack underflow at byte %zu (opcode 0x%02x)", m->op_pos, m->b[m->op_pos]);
    *out = c->stack[c->sp - 1];
    return 0;
}

/* Pops the last mark; *base = where its items start. */
static int pop_mark(vm *m, size_t *base)
{
    pk_ctx *c = m->c;
    if (c->nm == 0)
        return llq_err(LLQ_EFORMAT, "pickle: opcode 0x%02x at byte %zu without a MARK", m->b[m->op_pos], m->op_pos);
    *base = c->marks[--c->nm];
    return 0;
}

static int err_kind(vm *m, const char *what)
{
    return llq_err(LLQ_EFORMAT, "pickle: opcode 0x%02x at byte %zu applied to a value that is not %s", m->b[m->op_pos],
                   m->op_pos, what);
}

static int make_str(vm *m, int kind, uint64_t n)
{
    if (n > PK_MAX_STR)
        return llq_err(LLQ_ELIMIT, "pickle: string of %llu bytes at byte %zu exceeds the limit (%u)",
                       (unsigned long long)n, m->op_pos, PK_MAX_STR);
    NEED(n);
    pk_val *v = node(m->c, kind);
    if (!v)
        return m->c->nerr;
    if (!(v->s = malloc(n + 1)))
        return llq_err(LLQ_ENOMEM, "pickle: out of memory");
    memcpy(v->s, m->b + m->pos, n);
    v->s[n] = 0;
    v->len = n;
    m->pos += n;
    return push(m, v);
}

static int make_global(vm *m, const char *mod, size_t mlen, const char *name, size_t nlen)
{
    for (size_t i = 0; i < sizeof ALLOW / sizeof ALLOW[0]; i++) {
        if (strlen(ALLOW[i].module) == mlen && strlen(ALLOW[i].name) == nlen && !memcmp(ALLOW[i].module, mod, mlen) &&
            !memcmp(ALLOW[i].name, name, nlen)) {
            pk_val *v = node(m->c, PK_GLOBAL);
            if (!v)
                return m->c->nerr;
            v->global = ALLOW[i].global;
            v->dtype = ALLOW[i].dtype;
            size_t n = mlen + 1 + nlen;
            if (!(v->s = malloc(n + 1)))
                return llq_err(LLQ_ENOMEM, "pickle: out of memory");
            memcpy(v->s, mod, mlen);
            v->s[mlen] = ' ';
            memcpy(v->s + mlen + 1, name, nlen);
            v->s[n] = 0;
            v->len = n;
            return push(m, v);
        }
    }
    char a[160], b[160];
    printable(a, sizeof a, mod, mlen);
    printable(b, sizeof b, name, nlen);
    /* a tensor type torch has and llq does not take: not an attack, say what it is */
    if (!strcmp(a, "torch") && (!strncmp(b, "Complex", 7) || !strncmp(b, "complex", 7) || !strcmp(b, "cfloat") ||
                                !strcmp(b, "cdouble") || !strcmp(b, "chalf")))
        return llq_err(LLQ_EUNSUPPORTED, "a tensor of complex type (torch.%s): complex tensors are not supported", b);
    return llq_err(LLQ_EUNSAFE, "pickle GLOBAL '%s %s' is not allowed (only torch tensor symbols are)", a, b);
}

/* GLOBAL: "module\nname\n" */
static int op_global(vm *m)
{
    const char *p[2];
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        size_t avail = m->len - m->pos, lim = avail < PK_MAX_IDENT + 1 ? avail : PK_MAX_IDENT + 1;
        const uint8_t *nl = memchr(m->b + m->pos, '\n', lim);
        if (!nl) {
            if (avail <= PK_MAX_IDENT)
                return llq_err(LLQ_EFORMAT, "pickle: truncated GLOBAL at byte %zu", m->op_pos);
            return llq_err(LLQ_ELIMIT, "pickle: GLOBAL name at byte %zu longer than %u bytes", m->op_pos, PK_MAX_IDENT);
        }
        p[k] = (const char *)m->b + m->pos;
        n[k] = (size_t)(nl - (m->b + m->pos));
        m->pos += n[k] + 1;
    }
    return make_global(m, p[0], n[0], p[1], n[1]);
}

static int memo_put(vm *m, uint64_t idx)
{
    pk_ctx *c = m->c;
    pk_val *v;
    int err = top(m, &v);
    if (err)
        return err;
    if (idx >= PK_MAX_MEMO)
        return llq_err(LLQ_ELIMIT, "pickle: memo index %llu at byte %zu exceeds the limit (%u)", (unsigned long long)idx,
                       m->op_pos, PK_MAX_MEMO);
    if (idx >= c->memo_cap) {
        size_t cap = c->memo_cap ? c->memo_cap : 64;
        while (cap <= idx)
            cap *= 2;
        if (cap > PK_MAX_MEMO)
            cap = PK_MAX_MEMO;
        pk_val **mm = realloc(c->memo, cap * sizeof *mm);
        if (!mm)
            return llq_err(LLQ_ENOMEM, "pickle: out of memory");
        memset(mm + c->memo_cap, 0, (cap - c->memo_cap) * sizeof *mm);
        c->memo = mm;
        c->memo_cap = cap;
    }
    if (!c->memo[idx])
        c->memo_len++;
    c->memo[idx] = v;
    return 0;
}

static int memo_get(vm *m, uint64_t idx)
{
    pk_ctx *c = m->c;
    if (idx >= c->memo_cap || !c->memo[idx])
        return llq_err(LLQ_EFORMAT, "pickle: memo key %llu at byte %zu was never stored", (unsigned long long)idx,
                       m->op_pos);
    return push(m, c->memo[idx]);
}

/* Collects stack[base..sp) into a new container of kind (TUPLE/LIST/SET/DICT) and pushes it. */
static int collect(vm *m, int kind, size_t base)
{
    pk_ctx *c = m->c;
    pk_val *v = node(c, kind);
    if (!v)
        return c->nerr;
    if (kind == PK_DICT && (c->sp - base) % 2)
        return llq_err(LLQ_EFORMAT, "pickle: odd number of items for a dict at byte %zu", m->op_pos);
    for (size_t i = base; i < c->sp; i++) {
        int err = add_item(c, v, c->stack[i]);
        if (err)
            return err;
    }
    c->sp = base;
    return push(m, v);
}

/* Appends stack[base..sp) to the container just below base (APPENDS, SETITEMS, ADDITEMS). */
static int extend(vm *m, int kind, size_t base)
{
    pk_ctx *c = m->c;
    if (base == 0 || base - 1 < frame_base(c))
        return llq_err(LLQ_EFORMAT, "pickle: no container below the MARK at byte %zu", m->op_pos);
    pk_val *box = c->stack[base - 1];
    if (box->kind != kind)
        return err_kind(m, kind == PK_DICT ? "a dict" : kind == PK_LIST ? "a list" : "a set");
    if (kind == PK_DICT && (c->sp - base) % 2)
        return llq_err(LLQ_EFORMAT, "pickle: odd number of items for SETITEMS at byte %zu", m->op_pos);
    for (size_t i = base; i < c->sp; i++) {
        int err = add_item(c, box, c->stack[i]);
        if (err)
            return err;
    }
    c->sp = base;
    return 0;
}

static int tuple_n(vm *m, size_t n)
{
    pk_ctx *c = m->c;
    if (c->sp - frame_base(c) < n)
        return llq_err(LLQ_EFORMAT, "pickle: stack underflow at byte %zu (TUPLE%zu)", m->op_pos, n);
    return collect(m, PK_TUPLE, c->sp - n);
}

/* REDUCE / NEWOBJ: callee(args) as an inert PK_CALL; OrderedDict() is a dict. */
static int call(vm *m, pk_val *callee, pk_val *args)
{
    if (callee->kind != PK_GLOBAL)
        return llq_err(LLQ_EFORMAT, "pickle: call of a value that is not a GLOBAL at byte %zu", m->op_pos);
    if (args->kind != PK_TUPLE)
        return llq_err(LLQ_EFORMAT, "pickle: call of '%s' with arguments that are not a tuple at byte %zu", callee->s,
                       m->op_pos);
    if (callee->global == PKG_ORDERED_DICT) { /* OrderedDict() or OrderedDict([(k, v), ...]) */
        pk_val *d = node(m->c, PK_DICT), *l = args->n ? args->items[0] : NULL;
        if (!d)
            return m->c->nerr;
        if (args->n > 1 || (l && l->kind != PK_LIST && l->kind != PK_TUPLE))
            return llq_err(LLQ_EUNSUPPORTED, "pickle: OrderedDict built from unsupported arguments at byte %zu",
                           m->op_pos);
        for (size_t i = 0; l && i < l->n; i++) {
            pk_val *kv = l->items[i];
            int err;
            if ((kv->kind != PK_TUPLE && kv->kind != PK_LIST) || kv->n != 2)
                return llq_err(LLQ_EFORMAT, "pickle: OrderedDict item %zu is not a (key, value) pair", i);
            if ((err = add_item(m->c, d, kv->items[0])) || (err = add_item(m->c, d, kv->items[1])))
                return err;
        }
        return push(m, d);
    }
    pk_val *v = node(m->c, PK_CALL);
    if (!v)
        return m->c->nerr;
    v->callee = callee;
    v->args = args;
    return push(m, v);
}

static int step(vm *m, int op, int *stop)
{
    pk_ctx *c = m->c;
    pk_val *a, *b, *v;
    size_t base;
    int err = 0;
    uint64_t n;
    switch (op) {
    case 0x80: /* PROTO */
        NEED(1);
        if (m->b[m->pos] > 5)
            return llq_err(LLQ_EUNSUPPORTED, "pickle: protocol %u is not supported", m->b[m->pos]);
        m->pos++;
        return 0;
    case 0x95: /* FRAME: a length hint only */
        NEED(8);
        m->pos += 8;
        return 0;
    case '.': /* STOP */
        *stop = 1;
        return 0;
    case '(': /* MARK */
        if (c->nm == c->mcap) {
            if (c->mcap >= PK_MAX_MARKS)
                return llq_err(LLQ_ELIMIT, "pickle: more than %u nested MARKs at byte %zu", PK_MAX_MARKS, m->op_pos);
            size_t cap = c->mcap ? c->mcap * 2 : 16;
            size_t *mk = realloc(c->marks, cap * sizeof *mk);
            if (!mk)
                return llq_err(LLQ_ENOMEM, "pickle: out of memory");
            c->marks = mk;
            c->mcap = cap;
        }
        c->marks[c->nm++] = c->sp;
        return 0;
    case 'N': return push(m, node(c, PK_NONE));
    case 0x88:
    case 0x89:
        if (!(v = node(c, PK_BOOL)))
            return c->nerr;
        v->i = op == 0x88;
        return push(m, v);
    case 'J': case 'K': case 'M': {
        int w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
        NEED(w);
        if (!(v = node(c, PK_INT)))
            return c->nerr;
        uint64_t u = le(m->b + m->pos, w);
        v->i = op == 'J' ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
        m->pos += (size_t)w;
        return push(m, v);
    }
    case 0x8a: /* LONG1 */
    case 0x8b: /* LONG4 */
        if (op == 0x8a) {
            NEED(1);
            n = m->b[m->pos++];
        } else {
            NEED(4);
            int32_t k = (int32_t)(uint32_t)le(m->b + m->pos, 4);
            if (k < 0)
                return llq_err(LLQ_EFORMAT, "pickle: LONG4 with negative length at byte %zu", m->op_pos);
            n = (uint64_t)k;
            m->pos += 4;
        }
        if (n > 8)
            return llq_err(LLQ_ELIMIT, "pickle: integer of %llu bytes at byte %zu does not fit 64 bits",
                           (unsigned long long)n, m->op_pos);
        NEED(n);
        if (!(v = node(c, PK_INT)))
            return c->nerr;
        {
            uint64_t u = le(m->b + m->pos, (int)n);
            if (n > 0 && n < 8 && (m->b[m->pos + n - 1] & 0x80))
                u |= ~0ull << (8 * n);
            v->i = (int64_t)u;
        }
        m->pos += n;
        return push(m, v);
    case 'G': { /* BINFLOAT, big-endian */
        NEED(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | m->b[m->pos + (size_t)i];
        m->pos += 8;
        if (!(v = node(c, PK_FLOAT)))
            return c->nerr;
        memcpy(&v->f, &u, 8);
        return push(m, v);
    }
    case 'X': case 'B': NEED(4); n = le(m->b + m->pos, 4); m->pos += 4; goto str;
    case 0x8c: case 'U': case 'C': NEED(1); n = m->b[m->pos++]; goto str;
    case 0x8d: case 0x8e: NEED(8); n = le(m->b + m->pos, 8); m->pos += 8; goto str;
    case 'T': {
        NEED(4);
        int32_t k = (int32_t)(uint32_t)le(m->b + m->pos, 4);
        if (k < 0)
            return llq_err(LLQ_EFORMAT, "pickle: BINSTRING with negative length at byte %zu", m->op_pos);
        n = (uint64_t)k;
        m->pos += 4;
        goto str;
    }
    str:
        return make_str(m, (op == 'B' || op == 'C' || op == 0x8e) ? PK_BYTES : PK_STR, n);
    case 'c': return op_global(m);
    case 0x93: /* STACK_GLOBAL */
        if ((err = pop(m, &b)) || (err = pop(m, &a)))
            return err;
        if (a->kind != PK_STR || b->kind != PK_STR)
            return llq_err(LLQ_EFORMAT, "pickle: STACK_GLOBAL of non-strings at byte %zu", m->op_pos);
        return make_global(m, a->s, a->len, b->s, b->len);
    case 'q': NEED(1); n = m->b[m->pos++]; return memo_put(m, n);
    case 'r': NEED(4); n = le(m->b + m->pos, 4); m->pos += 4; return memo_put(m, n);
    case 0x94: return memo_put(m, c->memo_len);
    case 'h': NEED(1); n = m->b[m->pos++]; return memo_get(m, n);
    case 'j': NEED(4); n = le(m->b + m->pos, 4); m->pos += 4; return memo_get(m, n);
    case ')': return push(m, node(c, PK_TUPLE));
    case 't': return (err = pop_mark(m, &base)) ? err : collect(m, PK_TUPLE, base);
    case 0x85: return tuple_n(m, 1);
    case 0x86: return tuple_n(m, 2);
    case 0x87: return tuple_n(m, 3);
    case '}': return push(m, node(c, PK_DICT));
    case 'd': return (err = pop_mark(m, &base)) ? err : collect(m, PK_DICT, base);
    case ']': return push(m, node(c, PK_LIST));
    case 'l': return (err = pop_mark(m, &base)) ? err : collect(m, PK_LIST, base);
    case 0x8f: return push(m, node(c, PK_SET));
    case 0x91: return (err = pop_mark(m, &base)) ? err : collect(m, PK_SET, base);
    case 's': /* SETITEM */
        if ((err = pop(m, &b)) || (err = pop(m, &a)) || (err = top(m, &v)))
            return err;
        if (v->kind != PK_DICT)
            return err_kind(m, "a dict");
        return (err = add_item(c, v, a)) ? err : add_item(c, v, b);
    case 'u': return (err = pop_mark(m, &base)) ? err : extend(m, PK_DICT, base);
    case 'a': /* APPEND */
        if ((err = pop(m, &b)) || (err = top(m, &v)))
            return err;
        if (v->kind != PK_LIST)
            return err_kind(m, "a list");
        return add_item(c, v, b);
    case 'e': return (err = pop_mark(m, &base)) ? err : extend(m, PK_LIST, base);
    case 0x90: return (err = pop_mark(m, &base)) ? err : extend(m, PK_SET, base);
    case 'R': /* REDUCE */
    case 0x81: /* NEWOBJ */
        if ((err = pop(m, &b)) || (err = pop(m, &a)))
            return err;
        return call(m, a, b);
    case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
        if ((err = pop(m, &v)) || (err = pop(m, &b)) || (err = pop(m, &a)))
            return err;
        if (v->kind != PK_DICT)
            return err_kind(m, "a dict (NEWOBJ_EX kwargs)");
        return call(m, a, b);
    case 'b': /* BUILD */
        if ((err = pop(m, &b)) || (err = top(m, &v)))
            return err;
        if (v->kind == PK_CALL)
            v->state = b;
        else if (v->kind != PK_DICT) /* OrderedDict state (e.g. _metadata) is dropped */
            return err_kind(m, "an object or dict (BUILD)");
        return 0;
    case 'Q': /* BINPERSID */
        if ((err = pop(m, &a)))
            return err;
        if (!(v = node(c, PK_PERSID)))
            return c->nerr;
        v->args = a;
        return push(m, v);
    case '0': return pop(m, &a);
    case '2': return (err = top(m, &a)) ? err : push(m, a);
    case '1': /* POP_MARK */
        if ((err = pop_mark(m, &base)))
            return err;
        c->sp = base;
        return 0;
    default:
        return llq_err(LLQ_EUNSUPPORTED, "pickle: opcode 0x%02x at byte %zu is not supported", op, m->op_pos);
    }
}

int pk_parse(pk_ctx **out, pk_val **root, const uint8_t *buf, size_t len, size_t *used)
{
    *root = NULL;
    *used = 0;
    pk_ctx *c = calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return llq_err(LLQ_ENOMEM, "pickle: out of memory");
    vm m = {c, buf, len, 0, 0};
    int err = 0, stop = 0;
    for (uint64_t ops = 0; !stop; ops++) {
        if (ops >= PK_MAX_OPS)
            return llq_err(LLQ_ELIMIT, "pickle: more than %u opcodes", PK_MAX_OPS);
        if (m.pos >= m.len)
            return llq_err(LLQ_EFORMAT, "pickle: truncated at byte %zu (no STOP opcode)", m.len);
        m.op_pos = m.pos;
        int op = buf[m.pos++];
        if ((err = step(&m, op, &stop)))
            return err;
    }
    if (c->sp != 1 || c->nm != 0)
        return llq_err(LLQ_EFORMAT, "pickle: STOP with %zu values and %zu marks on the stack (expected one value)", c->sp,
                       c->nm);
    *root = c->stack[0];
    *used = m.pos;
    return 0;
}
