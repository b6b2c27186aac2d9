/* bpe.c — the BPE engine of Hugging Face tokenizer.json files and tiktoken files (docs/TOKENIZERS.md):
 *
 *   text -> valid UTF-8 (U+FFFD per maximal invalid subpart, as Rust's from_utf8_lossy)
 *        -> added tokens cut out (longest match at the leftmost position; first those with
 *           normalized=false on the raw text, then the rest on each normalised segment)
 *        -> normaliser per segment (NFC/NFD/NFKC/NFKD via utf8proc, Prepend, Replace, Sequence)
 *        -> pre-tokeniser (Split with the file's own regex run by PCRE2 with JIT in UTF+UCP mode,
 *           ByteLevel, Metaspace, Digits, Sequence)
 *        -> BPE per pre-token: the whole pre-token if it is a piece and ignore_merges; else from single
 *           bytes (byte-level) or characters (with byte fallback / unknown), repeatedly merge the adjacent
 *           pair of lowest rank, leftmost first (HF's merges list; tiktoken: the id of the concatenation).
 *
 * Byte-level vocabularies are held as raw bytes (the GPT-2 byte-to-unicode map undone at load), so the
 * ByteLevel step costs nothing at encode time and tiktoken files share the same tables.
 * The normaliser, pre-tokeniser and decoder are kept as the JSON text of the tokenizer.json parts and
 * parsed here, for both tokenizer.json and .llq files: one interpretation of them.
 */
#include "tok_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <json-c/json.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define MAX_TEXT ((size_t)1 << 29)
#define MAX_STEPS 16
#define MAX_JSON_DEPTH 16

enum { NORM_NFC = 1, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_PREPEND, NORM_REPLACE };
enum { PRE_SPLIT = 1, PRE_BYTELEVEL, PRE_METASPACE };
enum { BEH_REMOVED, BEH_ISOLATED, BEH_MERGED_PREV, BEH_MERGED_NEXT, BEH_CONTIGUOUS };
enum { PREPEND_NEVER, PREPEND_ALWAYS, PREPEND_FIRST };

typedef struct {
    int kind;
    char *a, *b; /* Prepend: a; Replace: a -> b (NUL-terminated copies) */
    size_t an, bn;
} norm_step;

typedef struct {
    int kind;
    pcre2_code *re;    /* Split (and ByteLevel with use_regex) */
    int behavior, invert;
    int add_prefix_space; /* ByteLevel */
    char rep[8];       /* Metaspace replacement character (UTF-8) */
    size_t repn;
    int prepend, split; /* Metaspace */
} pre_step;

typedef struct {
    uint64_t key; /* left id << 32 | right id; UINT64_MAX = empty */
    uint32_t rank, id;
} merge_slot;

struct llq_bpe {
    llq_bpe_spec spec;      /* pointers into the owned copies below / the tokenizer's */
    uint32_t *merges, *added_ids, *added_flags;
    char *normalizer, *pre_tokenizer, *decoder;
    int32_t *vocab_tab;     /* open addressing: piece ids, -1 empty */
    uint32_t vocab_mask;
    merge_slot *merge_tab;
    uint32_t merge_mask;
    int32_t byte_tok[256];  /* byte-level: id of each single byte; byte fallback: id of <0xNN>; or -1 */
    norm_step norm[MAX_STEPS];
    int n_norm;
    pre_step pre[MAX_STEPS];
    int n_pre;
    /* decoder */
    int dec_byte_level, dec_byte_fallback, dec_strip_lead; /* strip_lead: drop one leading space */
    char dec_from[8], dec_to[8];
    size_t dec_from_n, dec_to_n;  /* Replace / Metaspace: dec_from -> dec_to in each piece */
    /* added tokens by first byte: indices into added_ids, longest content first */
    uint32_t *added_order;
    uint32_t added_start[257];
    size_t max_word;        /* longest pre-token handled without growing (grows on demand) */
};

static int32_t vocab_find(const llq_tokenizer *t, const char *s, size_t n)
{
    const struct llq_bpe *b = t->bpe;
    if (n == 0 || n > LLQ_TOK_MAX_PIECE)
        return -1;
    for (uint32_t i = llq_tok_hash(s, n) & b->vocab_mask;; i = (i + 1) & b->vocab_mask) {
        int32_t id = b->vocab_tab[i];
        if (id < 0)
            return -1;
        if (t->lens[id] == n && memcmp(t->pieces[id], s, n) == 0)
            return id;
    }
}

static uint32_t merge_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

/* Rank and result of merging ids l and r (HF merges mode), or -1. */
static int64_t merge_find(const struct llq_bpe *b, uint32_t l, uint32_t r, uint32_t *id)
{
    uint64_t k = (uint64_t)l << 32 | r;
    if (!b->merge_tab) /* a tokenizer.json with an empty merges list: no table */
        return -1;
    for (uint32_t i = merge_hash(k) & b->merge_mask;; i = (i + 1) & b->merge_mask) {
        const merge_slot *m = &b->merge_tab[i];
        if (m->key == UINT64_MAX)
            return -1;
        if (m->key == k) {
            *id = m->id;
            return m->rank;
        }
    }
}

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s, or 0 with *bad = bytes of the maximal invalid subpart. */
static size_t utf8_next(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned c = s[0];
    *bad = 1;
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return need + 1;
}

/* Valid UTF-8 copy of s into dst (room for 3 * n bytes); returns its length. */
static size_t utf8_lossy(const char *s, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t bad, k = utf8_next((const unsigned char *)s + i, n - i, &bad);
        if (k) {
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(dst + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += bad;
        }
    }
    return o;
}

static int utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t bad, k = utf8_next((const unsigned char *)s + i, n - i, &bad);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static size_t utf8_char_len(unsigned char c)
{
    return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* ---- growable buffers ---- */

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_reserve(sbuf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q)
        return llq_err(LLQ_ENOMEM, "out of memory tokenizing");
    b->p = q;
    b->cap = cap;
    return 0;
}

static int sb_put(sbuf *b, const char *s, size_t n)
{
    int rc = sb_reserve(b, n);
    if (!rc && n) {
        memcpy(b->p + b->n, s, n);
        b->n += n;
    }
    return rc;
}

typedef struct {
    size_t off, len;
    int first; /* starts at offset 0 of the original text (Metaspace prepend_scheme "first") */
} span;

typedef struct {
    sbuf text;
    span *s;
    size_t n, cap;
} plist;

static int pl_add(plist *l, const char *s, size_t n, int first)
{
    if (n == 0)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        span *q = realloc(l->s, cap * sizeof *q);
        if (!q)
            return llq_err(LLQ_ENOMEM, "out of memory tokenizing");
        l->s = q;
        l->cap = cap;
    }
    size_t off = l->text.n;
    int rc = sb_put(&l->text, s, n);
    if (!rc)
        l->s[l->n++] = (span){off, n, first};
    return rc;
}

static void pl_clear(plist *l)
{
    l->n = 0;
    l->text.n = 0;
}

typedef struct {
    uint32_t *p;
    size_t n, cap;
} idvec;

static int iv_push(idvec *v, uint32_t id)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 256;
        uint32_t *q = realloc(v->p, cap * sizeof *q);
        if (!q)
            return llq_err(LLQ_ENOMEM, "out of memory tokenizing");
        v->p = q;
        v->cap = cap;
    }
    v->p[v->n++] = id;
    return 0;
}

/* ---- configuration (JSON parts of tokenizer.json) ---- */

static const char *jstr(json_object *o, const char *key, size_t *len)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    if (len)
        *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* Boolean member (absent or null: def); -1 if present with another type. */
static int jbool(json_object *o, const char *key, int def)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return def;
    return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* One UTF-8 character (the Metaspace / Replace decoder's replacement), or -1. */
static int one_char(const char *s, size_t n, char *dst, size_t *dn)
{
    size_t bad;
    if (!s || n == 0 || n > 4 || utf8_next((const unsigned char *)s, n, &bad) != n)
        return -1;
    memcpy(dst, s, n);
    *dn = n;
    return 0;
}

static int add_norm(struct llq_bpe *b, json_object *o, const char *name, int depth)
{
    if (!o || json_object_is_type(o, json_type_null))
        return 0;
    const char *type = jstr(o, "type", NULL);
    if (!type || depth > MAX_JSON_DEPTH)
        return llq_err(LLQ_EFORMAT, "%s: normalizer without a type", name);
    if (strcmp(type, "Sequence") == 0) {
        json_object *arr;
        if (!json_object_object_get_ex(o, "normalizers", &arr) || !json_object_is_type(arr, json_type_array))
            return llq_err(LLQ_EFORMAT, "%s: Sequence normalizer without a normalizers array", name);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            int rc = add_norm(b, json_object_array_get_idx(arr, i), name, depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (b->n_norm == MAX_STEPS)
        return llq_err(LLQ_ELIMIT, "%s: more than %d normalizer steps", name, MAX_STEPS);
    norm_step *n = &b->norm[b->n_norm];
    /* not Lowercase: Rust's to_lowercase has context rules (final sigma, U+0130) a per-character map lacks */
    static const char *uni[] = {"NFC", "NFD", "NFKC", "NFKD"};
    static const int kinds[] = {NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD};
    for (int i = 0; i < 4; i++)
        if (strcmp(type, uni[i]) == 0) {
            n->kind = kinds[i];
            b->n_norm++;
            return 0;
        }
    if (strcmp(type, "Prepend") == 0) {
        const char *p = jstr(o, "prepend", &n->an);
        if (!p || !utf8_valid(p, n->an) || n->an > LLQ_TOK_MAX_PIECE)
            return llq_err(LLQ_EFORMAT, "%s: Prepend normalizer without a valid prepend string", name);
        n->kind = NORM_PREPEND;
        n->a = dupn(p, n->an);
    } else if (strcmp(type, "Replace") == 0) {
        json_object *pat = NULL;
        const char *from = NULL, *to = jstr(o, "content", &n->bn);
        if (json_object_object_get_ex(o, "pattern", &pat))
            from = jstr(pat, "String", &n->an);
        if (!from && pat && jstr(pat, "Regex", NULL))
            return llq_err(LLQ_EUNSUPPORTED, "%s: Replace normalizer with a regex pattern is not supported", name);
        if (!from || !to || n->an == 0 || !utf8_valid(from, n->an) || !utf8_valid(to, n->bn) ||
            n->an > LLQ_TOK_MAX_PIECE || n->bn > LLQ_TOK_MAX_PIECE)
            return llq_err(LLQ_EFORMAT, "%s: Replace normalizer without a valid pattern and content", name);
        n->kind = NORM_REPLACE;
        n->a = dupn(from, n->an);
        n->b = dupn(to, n->bn);
        if (!n->b) {
            free(n->a);
            n->a = NULL;
        }
    } else {
        return llq_err(LLQ_EUNSUPPORTED, "%s: normalizer '%.40s' is not supported (supported: NFC, NFD, NFKC, NFKD, "
                       "Prepend, Replace, Sequence)", name, type);
    }
    if (!n->a)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", name);
    b->n_norm++;
    return 0;
}

/* GPT-2's pre-tokenizer regex (ByteLevel with use_regex). */
static const char kGpt2Regex[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int compile_re(pcre2_code **out, const char *pat, size_t n, int literal, const char *name)
{
    int err;
    PCRE2_SIZE off;
    uint32_t opt = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP); /* LITERAL refuses UCP */
    *out = pcre2_compile((PCRE2_SPTR)pat, n, opt, &err, &off, NULL);
    if (!*out) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return llq_err(LLQ_EUNSUPPORTED, "%s: pre-tokenizer regex does not compile at offset %zu: %s", name,
                       (size_t)off, (const char *)msg);
    }
    pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is unavailable */
    return 0;
}

static int add_pre(struct llq_bpe *b, json_object *o, const char *name, int depth)
{
    if (!o || json_object_is_type(o, json_type_null))
        return 0;
    const char *type = jstr(o, "type", NULL);
    if (!type || depth > MAX_JSON_DEPTH)
        return llq_err(LLQ_EFORMAT, "%s: pre-tokenizer without a type", name);
    if (strcmp(type, "Sequence") == 0) {
        json_object *arr;
        if (!json_object_object_get_ex(o, "pretokenizers", &arr) || !json_object_is_type(arr, json_type_array))
            return llq_err(LLQ_EFORMAT, "%s: Sequence pre-tokenizer without a pretokenizers array", name);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            int rc = add_pre(b, json_object_array_get_idx(arr, i), name, depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (b->n_pre == MAX_STEPS)
        return llq_err(LLQ_ELIMIT, "%s: more than %d pre-tokenizer steps", name, MAX_STEPS);
    pre_step *p = &b->pre[b->n_pre];
    int rc = 0;
    if (strcmp(type, "Split") == 0) {
        static const char *beh[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        const char *bs = jstr(o, "behavior", NULL), *pat;
        size_t pn;
        json_object *po = NULL;
        p->behavior = -1;
        for (int i = 0; bs && i < 5; i++)
            if (strcmp(bs, beh[i]) == 0)
                p->behavior = i;
        p->invert = jbool(o, "invert", 0);
        if (p->behavior < 0 || p->invert < 0)
            return llq_err(LLQ_EUNSUPPORTED, "%s: Split pre-tokenizer with behavior '%.40s'", name, bs ? bs : "?");
        json_object_object_get_ex(o, "pattern", &po);
        int literal = 0;
        if (!(pat = jstr(po, "Regex", &pn))) {
            pat = jstr(po, "String", &pn);
            literal = 1;
        }
        if (!pat || pn == 0 || !utf8_valid(pat, pn))
            return llq_err(LLQ_EFORMAT, "%s: Split pre-tokenizer without a pattern", name);
        p->kind = PRE_SPLIT;
        rc = compile_re(&p->re, pat, pn, literal, name);
    } else if (strcmp(type, "ByteLevel") == 0) {
        p->kind = PRE_BYTELEVEL;
        p->add_prefix_space = jbool(o, "add_prefix_space", 1);
        int use_regex = jbool(o, "use_regex", 1);
        if (p->add_prefix_space < 0 || use_regex < 0)
            return llq_err(LLQ_EFORMAT, "%s: ByteLevel pre-tokenizer with non-boolean options", name);
        if (use_regex)
            rc = compile_re(&p->re, kGpt2Regex, strlen(kGpt2Regex), 0, name);
        p->behavior = BEH_ISOLATED;
    } else if (strcmp(type, "Metaspace") == 0) {
        size_t rn;
        const char *r = jstr(o, "replacement", &rn), *ps = jstr(o, "prepend_scheme", NULL);
        p->kind = PRE_METASPACE;
        p->split = jbool(o, "split", 1);
        int aps = jbool(o, "add_prefix_space", 1);
        p->prepend = !ps ? (aps ? PREPEND_ALWAYS : PREPEND_NEVER)
                     : strcmp(ps, "always") == 0 ? PREPEND_ALWAYS
                     : strcmp(ps, "first") == 0  ? PREPEND_FIRST
                     : strcmp(ps, "never") == 0  ? PREPEND_NEVER
                                                 : -1;
        if (one_char(r, rn, p->rep, &p->repn) || p->prepend < 0 || p->split < 0 || aps < 0)
            return llq_err(LLQ_EFORMAT, "%s: Metaspace pre-tokenizer with bad options", name);
    } else if (strcmp(type, "Digits") == 0) {
        int ind = jbool(o, "individual_digits", 0);
        if (ind < 0)
            return llq_err(LLQ_EFORMAT, "%s: Digits pre-tokenizer with a non-boolean option", name);
        p->kind = PRE_SPLIT;
        p->behavior = BEH_ISOLATED;
        rc = compile_re(&p->re, ind ? "\\p{N}" : "\\p{N}+", ind ? 5 : 6, 0, name);
    } else {
        return llq_err(LLQ_EUNSUPPORTED, "%s: pre-tokenizer '%.40s' is not supported (supported: Split, ByteLevel, "
                       "Metaspace, Digits, Sequence)", name, type);
    }
    if (!rc)
        b->n_pre++;
    return rc;
}

static int add_dec(struct llq_bpe *b, json_object *o, const char *name, int depth)
{
    if (!o || json_object_is_type(o, json_type_null))
        return 0;
    const char *type = jstr(o, "type", NULL);
    if (!type || depth > MAX_JSON_DEPTH)
        return llq_err(LLQ_EFORMAT, "%s: decoder without a type", name);
    if (strcmp(type, "Sequence") == 0) {
        json_object *arr;
        if (!json_object_object_get_ex(o, "decoders", &arr) || !json_object_is_type(arr, json_type_array))
            return llq_err(LLQ_EFORMAT, "%s: Sequence decoder without a decoders array", name);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            int rc = add_dec(b, json_object_array_get_idx(arr, i), name, depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        b->dec_byte_level = 1;
    } else if (strcmp(type, "ByteFallback") == 0) {
        b->dec_byte_fallback = 1;
    } else if (strcmp(type, "Fuse") == 0) {
        /* pieces are always concatenated */
    } else if (strcmp(type, "Strip") == 0) {
        json_object *v;
        size_t cn;
        const char *c = jstr(o, "content", &cn);
        int64_t start = json_object_object_get_ex(o, "start", &v) ? json_object_get_int64(v) : 0;
        int64_t stop = json_object_object_get_ex(o, "stop", &v) ? json_object_get_int64(v) : 0;
        if (!c || cn != 1 || c[0] != ' ' || start < 0 || start > 1 || stop != 0)
            return llq_err(LLQ_EUNSUPPORTED, "%s: Strip decoder other than one leading space", name);
        b->dec_strip_lead = (int)start;
    } else if (strcmp(type, "Replace") == 0 || strcmp(type, "Metaspace") == 0) {
        size_t fn = 0, tn = 0;
        const char *from, *to;
        if (type[0] == 'R') {
            json_object *pat = NULL;
            json_object_object_get_ex(o, "pattern", &pat);
            from = jstr(pat, "String", &fn);
            to = jstr(o, "content", &tn);
        } else {
            from = jstr(o, "replacement", &fn);
            to = " ";
            tn = 1;
            const char *ps = jstr(o, "prepend_scheme", NULL);
            int aps = jbool(o, "add_prefix_space", 1);
            b->dec_strip_lead = ps ? strcmp(ps, "never") != 0 : aps == 1;
        }
        if (one_char(from, fn, b->dec_from, &b->dec_from_n) || one_char(to, tn, b->dec_to, &b->dec_to_n) ||
            b->dec_to_n > b->dec_from_n) /* never longer: a decoded piece fits LLQ_TOKEN_DECODE_MAX */
            return llq_err(LLQ_EUNSUPPORTED, "%s: %s decoder other than one character by one character", name, type);
    } else {
        return llq_err(LLQ_EUNSUPPORTED, "%s: decoder '%.40s' is not supported (supported: ByteLevel, ByteFallback, "
                       "Fuse, Strip, Replace, Metaspace, Sequence)", name, type);
    }
    return 0;
}

static int parse_part(struct llq_bpe *b, const char *text, int which, const char *name)
{
    static const char *what[] = {"normalizer", "pre_tokenizer", "decoder"};
    json_tokener *tok = json_tokener_new_ex(MAX_JSON_DEPTH * 2);
    if (!tok)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", name);
    json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
    int rc = json_tokener_get_error(tok) == json_tokener_success
                 ? 0
                 : llq_err(LLQ_EFORMAT, "%s: the tokenizer's %s is not valid JSON", name, what[which]);
    json_tokener_free(tok);
    if (!rc && o && !json_object_is_type(o, json_type_object))
        rc = llq_err(LLQ_EFORMAT, "%s: the tokenizer's %s is not a JSON object", name, what[which]);
    if (!rc)
        rc = which == 0 ? add_norm(b, o, name, 0) : which == 1 ? add_pre(b, o, name, 0) : add_dec(b, o, name, 0);
    json_object_put(o);
    return rc;
}

/* ---- construction ---- */

void llq_bpe_free(struct llq_bpe *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->n_norm; i++) {
        free(b->norm[i].a);
        free(b->norm[i].b);
    }
    for (int i = 0; i < b->n_pre; i++)
        pcre2_code_free(b->pre[i].re);
    free(b->merges);
    free(b->added_ids);
    free(b->added_flags);
    free(b->added_order);
    free(b->normalizer);
    free(b->pre_tokenizer);
    free(b->decoder);
    free(b->vocab_tab);
    free(b->merge_tab);
    free(b);
}

const llq_bpe_spec *llq_bpe_get_spec(const llq_tokenizer *t) { return t->bpe ? &t->bpe->spec : NULL; }

static int by_first_byte_longest(const void *pa, const void *pb, void *ctx)
{
    const llq_tokenizer *t = ctx;
    uint32_t a = t->bpe->added_ids[*(const uint32_t *)pa], b = t->bpe->added_ids[*(const uint32_t *)pb];
    unsigned char ca = (unsigned char)t->pieces[a][0], cb = (unsigned char)t->pieces[b][0];
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (t->lens[a] != t->lens[b])
        return t->lens[a] > t->lens[b] ? -1 : 1;
    return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

static int check_bpe_spec(const llq_bpe_spec *s, const char *name)
{
    if (s->n_vocab == 0 || s->n_vocab > LLQ_TOK_MAX_VOCAB)
        return llq_err(s->n_vocab ? LLQ_ELIMIT : LLQ_EFORMAT, "%s: vocabulary of %u tokens (1..%u allowed)", name,
                       s->n_vocab, LLQ_TOK_MAX_VOCAB);
    if (s->n_merges > 4 * LLQ_TOK_MAX_VOCAB)
        return llq_err(LLQ_ELIMIT, "%s: %u merges exceed the limit of %u", name, s->n_merges, 4 * LLQ_TOK_MAX_VOCAB);
    const int32_t ids[4] = {s->unk_id, s->bos_id, s->eos_id, s->pad_id};
    static const char *idn[4] = {"unk_id", "bos_id", "eos_id", "pad_id"};
    for (int i = 0; i < 4; i++)
        if (ids[i] < -1 || (ids[i] >= 0 && (uint32_t)ids[i] >= s->n_vocab))
            return llq_err(LLQ_EFORMAT, "%s: %s %d out of range (vocabulary of %u)", name, idn[i], ids[i], s->n_vocab);
    for (uint32_t i = 0; i < s->n_vocab; i++) {
        if (s->lens[i] == 0 || s->lens[i] > LLQ_TOK_MAX_PIECE)
            return llq_err(s->lens[i] ? LLQ_ELIMIT : LLQ_EFORMAT, "%s: token %u has %llu bytes (must be 1..%d)", name,
                           i, (unsigned long long)s->lens[i], LLQ_TOK_MAX_PIECE);
        int ty = s->types[i];
        if (ty != LLQ_PIECE_NORMAL && ty != LLQ_PIECE_BYTE && ty != LLQ_PIECE_UNKNOWN && ty != LLQ_PIECE_CONTROL &&
            ty != LLQ_PIECE_USER_DEFINED)
            return llq_err(LLQ_EFORMAT, "%s: token %u has type %d (not one of 1, 2, 3, 4, 6)", name, i, ty);
    }
    if (s->n_added > s->n_vocab)
        return llq_err(LLQ_EFORMAT, "%s: %u added tokens in a vocabulary of %u", name, s->n_added, s->n_vocab);
    for (uint32_t i = 0; i < s->n_added; i++)
        if (s->added_ids[i] >= s->n_vocab || s->added_flags[i] > 3)
            return llq_err(LLQ_EFORMAT, "%s: added token %u: id %u or flags %u out of range", name, i,
                           s->added_ids[i], s->added_flags[i]);
    if (!s->rank_merges && s->n_merges && !s->merges)
        return llq_err(LLQ_EFORMAT, "%s: merges missing", name);
    return 0;
}

static int build_tables(llq_tokenizer *t, const char *name)
{
    struct llq_bpe *b = t->bpe;
    const llq_bpe_spec *s = &b->spec;
    uint32_t cap = 1;
    while (cap < 2 * s->n_vocab)
        cap <<= 1;
    b->vocab_tab = malloc(cap * sizeof *b->vocab_tab);
    if (!b->vocab_tab)
        return llq_err(LLQ_ENOMEM, "%s: out of memory for the tokenizer", name);
    memset(b->vocab_tab, 0xff, cap * sizeof *b->vocab_tab);
    b->vocab_mask = cap - 1;
    for (uint32_t id = 0; id < s->n_vocab; id++) { /* a string held twice keeps its lower id */
        for (uint32_t i = llq_tok_hash(t->pieces[id], t->lens[id]) & b->vocab_mask;; i = (i + 1) & b->vocab_mask) {
            int32_t o = b->vocab_tab[i];
            if (o < 0) {
                b->vocab_tab[i] = (int32_t)id;
                break;
            }
            if (t->lens[o] == t->lens[id] && memcmp(t->pieces[o], t->pieces[id], t->lens[id]) == 0)
                break;
        }
    }
    for (int c = 0; c < 256; c++) {
        b->byte_tok[c] = -1;
        if (s->byte_level) {
            char ch = (char)c;
            b->byte_tok[c] = vocab_find(t, &ch, 1);
        } else if (s->byte_fallback) {
            static const char hex[] = "0123456789ABCDEF";
            char bp[6] = {'<', '0', 'x', hex[c >> 4], hex[c & 15], '>'};
            b->byte_tok[c] = vocab_find(t, bp, 6);
        }
    }
    if (!s->rank_merges && s->n_merges) {
        cap = 1;
        while (cap < 2 * s->n_merges)
            cap <<= 1;
        b->merge_tab = malloc(cap * sizeof *b->merge_tab);
        if (!b->merge_tab)
            return llq_err(LLQ_ENOMEM, "%s: out of memory for the merges", name);
        memset(b->merge_tab, 0xff, cap * sizeof *b->merge_tab);
        b->merge_mask = cap - 1;
        char tmp[2 * LLQ_TOK_MAX_PIECE];
        for (uint32_t r = 0; r < s->n_merges; r++) {
            uint32_t l = s->merges[2 * r], rr = s->merges[2 * r + 1];
            if (l >= s->n_vocab || rr >= s->n_vocab)
                return llq_err(LLQ_EFORMAT, "%s: merge %u names token id %u outside the vocabulary", name, r,
                               l >= s->n_vocab ? l : rr);
            memcpy(tmp, t->pieces[l], t->lens[l]);
            memcpy(tmp + t->lens[l], t->pieces[rr], t->lens[rr]);
            int32_t id = vocab_find(t, tmp, t->lens[l] + t->lens[rr]);
            if (id < 0)
                return llq_err(LLQ_EFORMAT, "%s: merge %u (tokens %u + %u) makes a string not in the vocabulary", name,
                               r, l, rr);
            uint64_t k = (uint64_t)l << 32 | rr;
            for (uint32_t i = merge_hash(k) & b->merge_mask;; i = (i + 1) & b->merge_mask) {
                merge_slot *m = &b->merge_tab[i];
                if (m->key == UINT64_MAX || m->key == k) { /* a repeated merge keeps its later rank, as HF */
                    *m = (merge_slot){k, r, (uint32_t)id};
                    break;
                }
            }
        }
    }
    b->added_order = malloc((s->n_added ? s->n_added : 1) * sizeof *b->added_order);
    if (!b->added_order)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", name);
    for (uint32_t i = 0; i < s->n_added; i++)
        b->added_order[i] = i;
    if (s->n_added) /* glibc's qsort_r (_GNU_SOURCE): the tokenizer as context, no global */
        qsort_r(b->added_order, s->n_added, sizeof *b->added_order, by_first_byte_longest, t);
    uint32_t j = 0;
    for (int c = 0; c <= 256; c++) {
        while (j < s->n_added && (unsigned char)t->pieces[s->added_ids[b->added_order[j]]][0] < c)
            j++;
        b->added_start[c] = j;
    }
    return 0;
}

int llq_bpe_new(llq_tokenizer **out, const llq_bpe_spec *s, const char *name)
{
    *out = NULL;
    int rc = check_bpe_spec(s, name);
    if (rc)
        return rc;
    uint32_t n = s->n_vocab;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += s->lens[i] + 1;
    llq_tokenizer *t = calloc(1, sizeof *t);
    struct llq_bpe *b = calloc(1, sizeof *b);
    if (t)
        t->bpe = b;
    if (!t || !b) {
        free(b);
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory for the tokenizer", name);
        goto done;
    }
    b->spec = *s;
    t->blob = malloc(total);
    t->pieces = malloc(n * sizeof *t->pieces);
    t->lens = malloc(n * sizeof *t->lens);
    t->types = malloc(n * sizeof *t->types);
    size_t nm = s->rank_merges ? 0 : 2 * (size_t)s->n_merges;
    b->merges = malloc((nm ? nm : 1) * sizeof *b->merges);
    b->added_ids = malloc((s->n_added ? s->n_added : 1) * sizeof *b->added_ids);
    b->added_flags = malloc((s->n_added ? s->n_added : 1) * sizeof *b->added_flags);
    b->normalizer = strdup(s->normalizer ? s->normalizer : "null");
    b->pre_tokenizer = strdup(s->pre_tokenizer ? s->pre_tokenizer : "null");
    b->decoder = strdup(s->decoder ? s->decoder : "null");
    if (!t->blob || !t->pieces || !t->lens || !t->types || !b->merges || !b->added_ids || !b->added_flags ||
        !b->normalizer || !b->pre_tokenizer || !b->decoder) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory for the tokenizer", name);
        goto done;
    }
    char *p = t->blob;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(p, s->pieces[i], s->lens[i]);
        p[s->lens[i]] = 0;
        t->pieces[i] = p;
        t->lens[i] = s->lens[i];
        t->types[i] = s->types[i];
        p += s->lens[i] + 1;
    }
    if (nm)
        memcpy(b->merges, s->merges, nm * sizeof *b->merges);
    if (s->n_added) {
        memcpy(b->added_ids, s->added_ids, s->n_added * sizeof *b->added_ids);
        memcpy(b->added_flags, s->added_flags, s->n_added * sizeof *b->added_flags);
    }
    b->spec.pieces = t->pieces;
    b->spec.lens = t->lens;
    b->spec.types = t->types;
    b->spec.merges = nm ? b->merges : NULL;
    b->spec.added_ids = b->added_ids;
    b->spec.added_flags = b->added_flags;
    b->spec.normalizer = b->normalizer;
    b->spec.pre_tokenizer = b->pre_tokenizer;
    b->spec.decoder = b->decoder;
    t->spec = (llq_tok_spec){.n_pieces = n, .pieces = t->pieces, .piece_lens = t->lens, .types = t->types,
                             .unk_id = s->unk_id, .bos_id = s->bos_id, .eos_id = s->eos_id, .pad_id = s->pad_id};
    if ((rc = parse_part(b, b->normalizer, 0, name)) || (rc = parse_part(b, b->pre_tokenizer, 1, name)) ||
        (rc = parse_part(b, b->decoder, 2, name)) || (rc = build_tables(t, name)))
        goto done;
    for (int i = 0; i < b->n_pre; i++)
        if (b->pre[i].kind == PRE_BYTELEVEL && !s->byte_level) {
            rc = llq_err(LLQ_EFORMAT, "%s: ByteLevel pre-tokenizer on a vocabulary that is not byte-level", name);
            goto done;
        }
    *out = t;
    t = NULL;
done:
    llq_tokenizer_free(t);
    return rc;
}

/* ---- encoding ---- */

typedef struct {
    const llq_tokenizer *t;
    plist a, b;              /* pre-tokenizer ping-pong */
    sbuf norm, tmp;
    pcre2_match_data *md;
    /* BPE word state */
    struct sym {
        int32_t id, prev, next;
        uint32_t start, len;
    } *sym;
    uint64_t *heap;
    size_t cap, n_heap;
    idvec ids;
} enc;

static void heap_push(enc *e, uint64_t k)
{
    size_t i = e->n_heap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (e->heap[up] <= k)
            break;
        e->heap[i] = e->heap[up];
        i = up;
    }
    e->heap[i] = k;
}

static uint64_t heap_pop(enc *e)
{
    uint64_t top = e->heap[0], last = e->heap[--e->n_heap];
    size_t i = 0, n = e->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && e->heap[c + 1] < e->heap[c])
            c++;
        if (e->heap[c] >= last)
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n > 0)
        e->heap[i] = last;
    return top;
}

/* Rank of merging symbols l and r (and the result id), or -1. */
static int64_t pair_rank(const enc *e, const char *w, int32_t l, int32_t r, uint32_t *id)
{
    const struct llq_bpe *b = e->t->bpe;
    const struct sym *L = &e->sym[l], *R = &e->sym[r];
    if (L->id < 0 || R->id < 0)
        return -1;
    if (!b->spec.rank_merges)
        return merge_find(b, (uint32_t)L->id, (uint32_t)R->id, id);
    int32_t m = vocab_find(e->t, w + L->start, L->len + R->len); /* symbols are adjacent bytes of w */
    if (m < 0)
        return -1;
    *id = (uint32_t)m;
    return m;
}

static void push_pair(enc *e, const char *w, int32_t l)
{
    uint32_t id;
    if (l < 0 || e->sym[l].next < 0)
        return;
    int64_t r = pair_rank(e, w, l, e->sym[l].next, &id);
    if (r >= 0)
        heap_push(e, (uint64_t)r << 32 | (uint32_t)l);
}

static int add_sym(enc *e, size_t *n, int32_t id, uint32_t start, uint32_t len)
{
    e->sym[*n] = (struct sym){id, (int32_t)*n - 1, -1, start, len};
    if (*n > 0)
        e->sym[*n - 1].next = (int32_t)*n;
    (*n)++;
    return 0;
}

/* BPE of one pre-token w[0..n). */
static int bpe_word(enc *e, const char *w, size_t n)
{
    const llq_tokenizer *t = e->t;
    const struct llq_bpe *b = t->bpe;
    int32_t whole;
    if (b->spec.ignore_merges && (whole = vocab_find(t, w, n)) >= 0)
        return iv_push(&e->ids, (uint32_t)whole);
    if (n > e->cap) {
        size_t cap = n < 64 ? 64 : n;
        struct sym *s = realloc(e->sym, cap * sizeof *s);
        if (s)
            e->sym = s;
        uint64_t *h = realloc(e->heap, 2 * cap * sizeof *h);
        if (h)
            e->heap = h;
        if (!s || !h)
            return llq_err(LLQ_ENOMEM, "out of memory tokenizing a word of %zu bytes", n);
        e->cap = cap;
    }
    size_t ns = 0;
    int prev_unk = 0;
    for (size_t i = 0; i < n;) {
        size_t k = b->spec.byte_level ? 1 : utf8_char_len((unsigned char)w[i]);
        if (k > n - i)
            k = n - i;
        int32_t id = b->spec.byte_level ? b->byte_tok[(unsigned char)w[i]] : vocab_find(t, w + i, k);
        if (id >= 0) {
            add_sym(e, &ns, id, (uint32_t)i, (uint32_t)k);
            prev_unk = 0;
        } else {
            int all = b->spec.byte_fallback && !b->spec.byte_level;
            for (size_t j = 0; all && j < k; j++)
                all = b->byte_tok[(unsigned char)w[i + j]] >= 0;
            if (all) {
                for (size_t j = 0; j < k; j++) /* one symbol per byte (merges may still apply, as in HF) */
                    add_sym(e, &ns, b->byte_tok[(unsigned char)w[i + j]], (uint32_t)(i + j), 1);
                prev_unk = 0;
            } else if (b->spec.unk_id >= 0) {
                if (b->spec.fuse_unk && prev_unk)
                    e->sym[ns - 1].len += (uint32_t)k;
                else
                    add_sym(e, &ns, b->spec.unk_id, (uint32_t)i, (uint32_t)k);
                prev_unk = 1;
            } else {
                return llq_err(LLQ_EINVAL, "text has a character that is not in the vocabulary and the tokenizer has "
                               "no unknown token");
            }
        }
        i += k;
    }
    e->n_heap = 0;
    for (size_t i = 0; i + 1 < ns; i++)
        push_pair(e, w, (int32_t)i);
    while (e->n_heap > 0) {
        uint64_t top = heap_pop(e);
        int32_t l = (int32_t)(uint32_t)top, r;
        struct sym *L = &e->sym[l];
        if (L->len == 0 || (r = L->next) < 0)
            continue;
        uint32_t id;
        if (pair_rank(e, w, l, r, &id) != (int64_t)(top >> 32))
            continue; /* stale: a neighbour changed since this pair was queued */
        struct sym *R = &e->sym[r];
        L->id = (int32_t)id;
        L->len += R->len;
        L->next = R->next;
        if (R->next >= 0)
            e->sym[R->next].prev = l;
        R->len = 0;
        push_pair(e, w, L->prev);
        push_pair(e, w, l);
    }
    int rc = 0;
    for (int32_t i = ns ? 0 : -1; i >= 0 && !rc; i = e->sym[i].next)
        rc = iv_push(&e->ids, (uint32_t)e->sym[i].id);
    return rc;
}

/* Normalises s[0..n) (valid UTF-8) into e->norm. */
static int normalize(enc *e, const char *s, size_t n)
{
    const struct llq_bpe *b = e->t->bpe;
    e->norm.n = 0;
    int rc = sb_put(&e->norm, s, n);
    for (int i = 0; i < b->n_norm && !rc; i++) {
        const norm_step *st = &b->norm[i];
        sbuf *in = &e->norm, *o = &e->tmp;
        o->n = 0;
        if (in->n == 0)
            break;
        if (st->kind == NORM_PREPEND) {
            rc = sb_put(o, st->a, st->an);
            if (!rc)
                rc = sb_put(o, in->p, in->n);
        } else if (st->kind == NORM_REPLACE) {
            for (size_t j = 0; j < in->n && !rc;) {
                if (j + st->an <= in->n && memcmp(in->p + j, st->a, st->an) == 0) {
                    rc = sb_put(o, st->b, st->bn);
                    j += st->an;
                } else {
                    rc = sb_put(o, in->p + j, 1);
                    j++;
                }
            }
        } else {
            int opt = UTF8PROC_STABLE;
            opt |= st->kind == NORM_NFC    ? UTF8PROC_COMPOSE
                   : st->kind == NORM_NFD  ? UTF8PROC_DECOMPOSE
                   : st->kind == NORM_NFKC ? UTF8PROC_COMPOSE | UTF8PROC_COMPAT
                                           : UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
            utf8proc_uint8_t *d = NULL;
            utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)in->p, (utf8proc_ssize_t)in->n, &d,
                                              (utf8proc_option_t)opt);
            if (m < 0)
                rc = llq_err(LLQ_EINVAL, "Unicode normalisation failed: %s", utf8proc_errmsg(m));
            else
                rc = sb_put(o, (const char *)d, (size_t)m);
            free(d);
        }
        sbuf sw = *in;
        *in = *o;
        *o = sw;
    }
    return rc;
}

/* Appends the pieces of s[0..n) split by the regex re with behavior (Split semantics) to out. */
static int split_regex(enc *e, const pre_step *p, const char *s, size_t n, int first, plist *out)
{
    /* segments of s: alternating gaps and matches; start positions of each and whether it is a match */
    size_t pos = 0, seg_start = 0;
    int rc = 0, prev_match = 0;
    size_t pend_start = 0, pend_end = 0; /* the piece being assembled (merged behaviours) */
    int have_pend = 0;
#define FLUSH()                                                                                                    \
    do {                                                                                                           \
        if (have_pend && !rc)                                                                                      \
            rc = pl_add(out, s + pend_start, pend_end - pend_start, first && pend_start == 0);                    \
        have_pend = 0;                                                                                             \
    } while (0)
    /* emit one segment [a, b) that is a match (m = 1) or a gap (m = 0) */
#define SEG(a, b, m)                                                                                               \
    do {                                                                                                           \
        size_t a_ = (a), b_ = (b);                                                                                 \
        int m_ = (m) ^ p->invert;                                                                                  \
        if (a_ == b_)                                                                                              \
            break;                                                                                                 \
        switch (p->behavior) {                                                                                     \
        case BEH_REMOVED:                                                                                          \
            if (!m_ && !rc)                                                                                        \
                rc = pl_add(out, s + a_, b_ - a_, first && a_ == 0);                                              \
            break;                                                                                                 \
        case BEH_ISOLATED:                                                                                         \
            if (!rc)                                                                                               \
                rc = pl_add(out, s + a_, b_ - a_, first && a_ == 0);                                              \
            break;                                                                                                 \
        case BEH_MERGED_PREV:                                                                                      \
            if (!have_pend)                                                                                        \
                pend_start = a_;                                                                                   \
            have_pend = 1;                                                                                         \
            pend_end = b_;                                                                                         \
            if (m_)                                                                                                \
                FLUSH();                                                                                           \
            break;                                                                                                 \
        case BEH_MERGED_NEXT:                                                                                      \
            if (m_)                                                                                                \
                FLUSH();                                                                                           \
            if (!have_pend)                                                                                        \
                pend_start = a_;                                                                                   \
            have_pend = 1;                                                                                         \
            pend_end = b_;                                                                                         \
            break;                                                                                                 \
        default: /* contiguous: consecutive matches form one piece */                                            \
            if (!(m_ && prev_match))                                                                               \
                FLUSH();                                                                                           \
            if (!have_pend)                                                                                        \
                pend_start = a_;                                                                                   \
            have_pend = 1;                                                                                         \
            pend_end = b_;                                                                                         \
            prev_match = m_;                                                                                       \
            break;                                                                                                 \
        }                                                                                                          \
    } while (0)
    while (pos <= n && !rc) {
        int m = pcre2_match(p->re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, e->md, NULL);
        if (m == PCRE2_ERROR_NOMATCH)
            break;
        if (m < 0) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(m, msg, sizeof msg);
            rc = llq_err(LLQ_EINVAL, "pre-tokenizer regex failed: %s", (const char *)msg);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { /* empty match: not a piece; move on one character */
            if (ms >= n)
                break;
            pos = ms + utf8_char_len((unsigned char)s[ms]);
            continue;
        }
        SEG(seg_start, ms, 0);
        SEG(ms, me, 1);
        seg_start = me;
        pos = me;
    }
    SEG(seg_start, n, 0);
    FLUSH();
#undef SEG
#undef FLUSH
    return rc;
}

/* Pre-tokenizes s[0..n) and appends the BPE ids of every piece. */
static int pretok_and_bpe(enc *e, const char *s, size_t n, int first)
{
    const struct llq_bpe *b = e->t->bpe;
    plist *in = &e->a, *out = &e->b;
    pl_clear(in);
    int rc = pl_add(in, s, n, first);
    for (int i = 0; i < b->n_pre && !rc; i++) {
        const pre_step *p = &b->pre[i];
        pl_clear(out);
        for (size_t j = 0; j < in->n && !rc; j++) {
            const char *ps = in->text.p + in->s[j].off;
            size_t pn = in->s[j].len;
            int pf = in->s[j].first;
            if (p->kind == PRE_SPLIT) {
                rc = split_regex(e, p, ps, pn, pf, out);
            } else if (p->kind == PRE_BYTELEVEL) {
                const char *src = ps;
                if (p->add_prefix_space && ps[0] != ' ') {
                    e->tmp.n = 0;
                    if (!(rc = sb_put(&e->tmp, " ", 1)) && !(rc = sb_put(&e->tmp, ps, pn))) {
                        src = e->tmp.p;
                        pn++;
                    }
                }
                if (!rc)
                    rc = p->re ? split_regex(e, p, src, pn, pf, out) : pl_add(out, src, pn, pf);
            } else { /* Metaspace: spaces become the replacement, maybe prepended, split before each */
                e->tmp.n = 0;
                int pre = p->prepend == PREPEND_ALWAYS || (p->prepend == PREPEND_FIRST && pf);
                if (pre && ps[0] != ' ' && !(pn >= p->repn && memcmp(ps, p->rep, p->repn) == 0))
                    rc = sb_put(&e->tmp, p->rep, p->repn);
                for (size_t k = 0; k < pn && !rc; k++)
                    rc = ps[k] == ' ' ? sb_put(&e->tmp, p->rep, p->repn) : sb_put(&e->tmp, ps + k, 1);
                const char *q = e->tmp.p;
                size_t qn = e->tmp.n, st = 0;
                for (size_t k = 0; p->split && k < qn && !rc; k++)
                    if (k > st && k + p->repn <= qn && memcmp(q + k, p->rep, p->repn) == 0) {
                        rc = pl_add(out, q + st, k - st, pf && st == 0);
                        st = k;
                    }
                if (!rc && qn > st)
                    rc = pl_add(out, q + st, qn - st, pf && st == 0);
            }
        }
        plist sw = *in;
        *in = *out;
        *out = sw;
    }
    for (size_t j = 0; j < in->n && !rc; j++)
        rc = bpe_word(e, in->text.p + in->s[j].off, in->s[j].len);
    return rc;
}

/* The longest added token at s[0..n) of the wanted normalized flag, or -1 (its id), *len its bytes. */
static int32_t added_at(const struct llq_bpe *b, const llq_tokenizer *t, const char *s, size_t n, int normalized,
                        size_t *len)
{
    unsigned c = (unsigned char)s[0];
    for (uint32_t j = b->added_start[c]; j < b->added_start[c + 1]; j++) {
        uint32_t k = b->added_order[j], id = b->added_ids[k];
        if (!(b->added_flags[k] & LLQ_ADDED_NORMALIZED) != !normalized)
            continue;
        if (t->lens[id] <= n && memcmp(t->pieces[id], s, t->lens[id]) == 0) {
            *len = t->lens[id];
            return (int32_t)id;
        }
    }
    return -1;
}

static int split_added(enc *e, const char *s, size_t n, int first, int phase);

/* Text between added tokens: phase 1 (raw text) normalises it and splits it again on the normalized
 * added tokens (phase 2); phase 2 pre-tokenizes it. */
static int segment(enc *e, const char *s, size_t n, int first, int phase)
{
    if (phase == 2)
        return pretok_and_bpe(e, s, n, first);
    int rc = normalize(e, s, n); /* e->norm is not touched again before phase 2 is done with it */
    return rc ? rc : split_added(e, e->norm.p, e->norm.n, first, 2);
}

/* Splits s[0..n) on the added tokens of one phase (normalized=false on the raw text, then normalized=true),
 * longest token at the leftmost position first, as HF's AddedVocabulary. */
static int split_added(enc *e, const char *s, size_t n, int first, int phase)
{
    const struct llq_bpe *b = e->t->bpe;
    int rc = 0;
    size_t from = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t len;
        int32_t id = b->spec.n_added ? added_at(b, e->t, s + i, n - i, phase == 2, &len) : -1;
        if (id < 0) {
            i++;
            continue;
        }
        if (i > from)
            rc = segment(e, s + from, i - from, first && from == 0, phase);
        if (!rc)
            rc = iv_push(&e->ids, (uint32_t)id);
        i += len;
        from = i;
    }
    if (!rc && n > from)
        rc = segment(e, s + from, n - from, first && from == 0, phase);
    return rc;
}

int llq_bpe_tokenize(const llq_tokenizer *t, const char *text, size_t len, int add_bos, uint32_t **out,
                     size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (len > MAX_TEXT)
        return llq_err(LLQ_ELIMIT, "text of %zu bytes exceeds the tokenizer's limit of %zu", len, MAX_TEXT);
    if (len && !text)
        return llq_err(LLQ_EINVAL, "tokenize: NULL text");
    enc e = {.t = t};
    char *valid = NULL;
    int rc = 0;
    e.md = pcre2_match_data_create(2, NULL);
    if (!e.md) {
        rc = llq_err(LLQ_ENOMEM, "out of memory tokenizing");
        goto done;
    }
    if (!utf8_valid(text, len)) {
        if (!(valid = malloc(3 * len + 1))) {
            rc = llq_err(LLQ_ENOMEM, "out of memory tokenizing %zu bytes", len);
            goto done;
        }
        len = utf8_lossy(text, len, valid);
        text = valid;
    }
    if (add_bos && t->spec.bos_id >= 0)
        rc = iv_push(&e.ids, (uint32_t)t->spec.bos_id);
    if (!rc && len)
        rc = split_added(&e, text, len, 1, 1);
    if (!rc) {
        *out = e.ids.p;
        *n_out = e.ids.n;
        e.ids.p = NULL;
    }
done:
    free(valid);
    free(e.ids.p);
    free(e.a.text.p);
    free(e.a.s);
    free(e.b.text.p);
    free(e.b.s);
    free(e.norm.p);
    free(e.tmp.p);
    free(e.sym);
    free(e.heap);
    pcre2_match_data_free(e.md);
    return rc;
}

/* ---- decoding ---- */

static int byte_value(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    const char *hi = s[3] ? strchr(hex, s[3]) : NULL, *lo = s[4] ? strchr(hex, s[4]) : NULL;
    return hi && lo ? (int)((hi - hex) * 16 + (lo - hex)) : -1;
}

/* The text of one piece (not a byte piece): the decoder's replacement applied. */
static int put_piece(const struct llq_bpe *b, sbuf *o, const char *s, size_t n)
{
    int rc = 0;
    if (!b->dec_from_n)
        return sb_put(o, s, n);
    for (size_t i = 0; i < n && !rc;) {
        if (i + b->dec_from_n <= n && memcmp(s + i, b->dec_from, b->dec_from_n) == 0) {
            rc = sb_put(o, b->dec_to, b->dec_to_n);
            i += b->dec_from_n;
        } else {
            rc = sb_put(o, s + i, 1);
            i++;
        }
    }
    return rc;
}

/* Flushes collected fallback bytes: as text if valid UTF-8, else U+FFFD per byte (HF's ByteFallback). */
static int flush_bytes(sbuf *o, const char *bytes, size_t n)
{
    if (utf8_valid(bytes, n))
        return sb_put(o, bytes, n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = sb_put(o, "\xef\xbf\xbd", 3);
    return rc;
}

int llq_bpe_detokenize(const llq_tokenizer *t, const uint32_t *ids, size_t n, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const struct llq_bpe *b = t->bpe;
    sbuf o = {0}, bytes = {0};
    int rc = sb_reserve(&o, 0);
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t id = ids[i];
        if (id >= t->spec.n_pieces) {
            rc = llq_err(LLQ_EINVAL, "token %zu: id %u out of range (vocabulary of %u)", i, id, t->spec.n_pieces);
            break;
        }
        int ty = t->types[id], bv;
        if (ty == LLQ_PIECE_CONTROL)
            continue;
        if (b->spec.byte_level) {
            rc = sb_put(&bytes, t->pieces[id], t->lens[id]);
        } else if (ty == LLQ_PIECE_BYTE && b->dec_byte_fallback && (bv = byte_value(t->pieces[id], t->lens[id])) >= 0) {
            char c = (char)bv;
            rc = sb_put(&bytes, &c, 1);
        } else {
            rc = flush_bytes(&o, bytes.p, bytes.n);
            bytes.n = 0;
            if (!rc)
                rc = put_piece(b, &o, t->pieces[id], t->lens[id]);
        }
    }
    if (!rc && b->spec.byte_level) { /* raw bytes -> text, U+FFFD per maximal invalid subpart */
        rc = sb_reserve(&o, 3 * bytes.n);
        if (!rc)
            o.n = utf8_lossy(bytes.p ? bytes.p : "", bytes.n, o.p);
    } else if (!rc) {
        rc = flush_bytes(&o, bytes.p, bytes.n);
    }
    free(bytes.p);
    if (rc) {
        free(o.p);
        return rc;
    }
    if (b->dec_strip_lead && o.n > 0 && o.p[0] == ' ') {
        memmove(o.p, o.p + 1, o.n - 1);
        o.n--;
    }
    o.p[o.n] = 0;
    *out = o.p;
    *len = o.n;
    return 0;
}

int llq_bpe_token_decode(const llq_tokenizer *t, int32_t prev, uint32_t id, char *buf, size_t cap)
{
    const struct llq_bpe *b = t->bpe;
    if (id >= t->spec.n_pieces)
        return llq_err(LLQ_EINVAL, "token id %u out of range (vocabulary of %u)", id, t->spec.n_pieces);
    char tmp[LLQ_TOKEN_DECODE_MAX];
    size_t n = 0;
    int ty = t->types[id], bv;
    if (ty == LLQ_PIECE_CONTROL) {
        n = 0;
    } else if (b->spec.byte_level) {
        memcpy(tmp, t->pieces[id], t->lens[id]);
        n = t->lens[id];
    } else if (ty == LLQ_PIECE_BYTE && b->dec_byte_fallback && (bv = byte_value(t->pieces[id], t->lens[id])) >= 0) {
        tmp[0] = (char)bv;
        n = 1;
    } else {
        sbuf o = {0};
        if (put_piece(b, &o, t->pieces[id], t->lens[id]))
            return LLQ_ENOMEM;
        int at_start = prev < 0 || (uint32_t)prev >= t->spec.n_pieces || t->types[prev] == LLQ_PIECE_CONTROL;
        size_t skip = at_start && b->dec_strip_lead && o.n > 0 && o.p[0] == ' ';
        n = o.n - skip; /* <= the piece's length: the replacement is never longer */
        memcpy(tmp, o.p + skip, n);
        free(o.p);
    }
    if (cap < n + 1)
        return llq_err(LLQ_EINVAL, "decode buffer of %zu bytes too small for token %u (%zu needed)", cap, id, n + 1);
    memcpy(buf, tmp, n);
    buf[n] = 0;
    return (int)n;
}
