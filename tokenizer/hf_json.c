/* hf_json.c — reads a Hugging Face tokenizer.json with a BPE model (and optionally its tokenizer_config.json)
 * into an llq_bpe_spec: the vocabulary (byte-level strings turned back into raw bytes), the merges as id
 * pairs, the added tokens, and the normalizer / pre_tokenizer / decoder parts as JSON text for bpe.c.
 * Fields used (tokenizers' serialisation): model {type, vocab, merges ("a b" or ["a", "b"]), unk_token,
 * fuse_unk, byte_fallback, ignore_merges, dropout, continuing_subword_prefix, end_of_word_suffix},
 * added_tokens [{id, content, single_word, lstrip, rstrip, normalized, special}], normalizer, pre_tokenizer,
 * post_processor (TemplateProcessing: the BOS it puts first), decoder. */
#include "tok_internal.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSON_BYTES ((size_t)512 << 20)

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return json_object_is_type(v, json_type_null) ? NULL : v;
}

static const char *get_str(json_object *o, const char *key, size_t *len)
{
    json_object *v = get(o, key);
    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static int get_bool(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static json_object *parse_json(const void *buf, size_t len, const char *name, int *rc)
{
    *rc = 0;
    if (len > MAX_JSON_BYTES || len > 0x7fffffff) {
        *rc = llq_err(LLQ_ELIMIT, "%s: %zu bytes is larger than the limit for a tokenizer.json", name, len);
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) {
        *rc = llq_err(LLQ_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (je == json_tokener_continue && o == NULL)
        je = json_tokener_error_parse_eof;
    size_t end = je == json_tokener_success ? json_tokener_get_parse_end(tok) : 0;
    json_tokener_free(tok);
    if (je != json_tokener_success) {
        json_object_put(o);
        *rc = llq_err(LLQ_EFORMAT, "%s: not valid JSON: %s", name, json_tokener_error_desc(je));
        return NULL;
    }
    for (const char *p = (const char *)buf + end; p < (const char *)buf + len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != 0) {
            json_object_put(o);
            *rc = llq_err(LLQ_EFORMAT, "%s: text after the JSON object", name);
            return NULL;
        }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        *rc = llq_err(LLQ_EFORMAT, "%s: not a JSON object", name);
        return NULL;
    }
    return o;
}

/* GPT-2's bytes_to_unicode inverse: code point -> byte, -1 if the code point is not one of the 256. */
static int byte_of_cp(uint32_t cp)
{
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    /* the others, in byte order, got 256, 257, ...: 0..32, 127..160, 173 */
    uint32_t k = cp - 256;
    if (k <= 32)
        return (int)k;
    if (k <= 32 + 34)
        return (int)(127 + k - 33);
    return 173;
}

/* Raw bytes of a byte-level string into dst (room for n bytes); returns the length or -1. */
static long unbyte(const char *s, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        if (c < 0x80) {
            cp = c;
            i++;
        } else if ((c & 0xe0) == 0xc0 && i + 1 < n) {
            cp = (uint32_t)(c & 0x1f) << 6 | ((unsigned char)s[i + 1] & 0x3f);
            i += 2;
        } else {
            return -1; /* every mapped code point is below U+0800 */
        }
        int b = byte_of_cp(cp);
        if (b < 0)
            return -1;
        dst[o++] = (char)b;
    }
    return (long)o;
}

typedef struct {
    const char *name;
    llq_bpe_spec s;
    char **pieces;
    uint64_t *lens;
    int32_t *types;
    uint32_t *merges, *added_ids, *added_flags;
    char *norm, *pre, *dec;
    json_object *vocab;
} hf;

/* Id of a vocabulary string (as written in the file), or -1. */
static int64_t vocab_id(hf *h, const char *s)
{
    json_object *v;
    if (!json_object_object_get_ex(h->vocab, s, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    int64_t id = json_object_get_int64(v);
    return id >= 0 && id < (int64_t)h->s.n_vocab ? id : -1;
}

static int set_piece(hf *h, int64_t id, const char *s, size_t n, int32_t type, int from_vocab)
{
    if (id < 0 || id >= (int64_t)h->s.n_vocab)
        return llq_err(LLQ_EFORMAT, "%s: token id %lld out of range", h->name, (long long)id);
    char *raw = malloc(n ? n : 1);
    if (!raw)
        return llq_err(LLQ_ENOMEM, "%s: out of memory", h->name);
    long rn = (long)n;
    if (from_vocab && h->s.byte_level) {
        rn = unbyte(s, n, raw);
        if (rn < 0) {
            free(raw);
            return llq_err(LLQ_EFORMAT, "%s: vocabulary entry %lld is not a byte-level string", h->name, (long long)id);
        }
    } else {
        memcpy(raw, s, n);
    }
    if (h->pieces[id]) { /* an added token that is also in the model's vocabulary: the same string */
        int same = h->lens[id] == (uint64_t)rn && memcmp(h->pieces[id], raw, (size_t)rn) == 0;
        free(raw);
        if (!same || from_vocab)
            return llq_err(LLQ_EFORMAT, "%s: token id %lld is given twice", h->name, (long long)id);
        if (h->types[id] != LLQ_PIECE_UNKNOWN) /* the unknown token stays unknown */
            h->types[id] = type;
        return 0;
    }
    h->pieces[id] = raw;
    h->lens[id] = (uint64_t)rn;
    h->types[id] = type;
    return 0;
}

static int has_type(json_object *o, const char *type, int depth)
{
    if (!o || depth > 16)
        return 0;
    json_object *t = get(o, "type");
    if (t && json_object_is_type(t, json_type_string) && strcmp(json_object_get_string(t), type) == 0)
        return 1;
    const char *lists[] = {"pretokenizers", "decoders", "normalizers"};
    for (int i = 0; i < 3; i++) {
        json_object *a = get(o, lists[i]);
        for (size_t j = 0; a && json_object_is_type(a, json_type_array) && j < json_object_array_length(a); j++)
            if (has_type(json_object_array_get_idx(a, j), type, depth + 1))
                return 1;
    }
    return 0;
}

static char *json_text(json_object *o)
{
    return strdup(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                    : "null");
}

/* Id of a special token named in tokenizer_config.json ("<s>" or {"content": "<s>"}), -1 if none. */
static int32_t config_token(hf *h, json_object *cfg, const char *key)
{
    json_object *v = get(cfg, key);
    size_t n;
    const char *s = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (v && !s)
        s = get_str(v, "content", &n);
    if (!s)
        return -1;
    n = strlen(s);
    for (uint32_t i = 0; i < h->s.n_added; i++) {
        uint32_t id = h->added_ids[i];
        if (h->lens[id] == n && memcmp(h->pieces[id], s, n) == 0)
            return (int32_t)id;
    }
    int64_t id = vocab_id(h, s);
    return id >= 0 && !h->s.byte_level ? (int32_t)id : -1;
}

/* The BOS that a TemplateProcessing post-processor (alone or in a Sequence, as Llama-3's official file has
 * it) puts before the sequence, or -1. */
static int32_t template_bos(json_object *post)
{
    json_object *procs = get(post, "processors");
    for (size_t i = 0; procs && json_object_is_type(procs, json_type_array) && i < json_object_array_length(procs); i++) {
        json_object *p = json_object_array_get_idx(procs, i);
        if (get(p, "single")) /* nested Sequences are not looked into */
            return template_bos(p);
    }
    json_object *single = get(post, "single"), *first, *st, *sp, *ids;
    if (!post || !single || !json_object_is_type(single, json_type_array) || json_object_array_length(single) < 2)
        return -1;
    first = json_object_array_get_idx(single, 0);
    size_t n;
    const char *name = (st = get(first, "SpecialToken")) ? get_str(st, "id", &n) : NULL;
    if (!name || !(sp = get(get(post, "special_tokens"), name)) || !(ids = get(sp, "ids")) ||
        !json_object_is_type(ids, json_type_array) || json_object_array_length(ids) != 1)
        return -1;
    int64_t id = json_object_get_int64(json_object_array_get_idx(ids, 0));
    return id >= 0 && id < INT32_MAX ? (int32_t)id : -1;
}

static int check_model(hf *h, json_object *m)
{
    size_t n;
    const char *type = get_str(m, "type", &n);
    if (type && strcmp(type, "BPE") != 0)
        return llq_err(LLQ_EUNSUPPORTED, "%s: tokenizer model '%.40s' is not supported (only BPE)", h->name, type);
    if (!get(m, "vocab") || !json_object_is_type(get(m, "vocab"), json_type_object) || !get(m, "merges") ||
        !json_object_is_type(get(m, "merges"), json_type_array))
        return llq_err(LLQ_EFORMAT, "%s: BPE model without a vocab object and a merges array", h->name);
    json_object *d = get(m, "dropout");
    if (d && json_object_get_double(d) != 0.0)
        return llq_err(LLQ_EUNSUPPORTED, "%s: BPE dropout is not supported", h->name);
    const char *px = get_str(m, "continuing_subword_prefix", &n);
    if (px && n)
        return llq_err(LLQ_EUNSUPPORTED, "%s: continuing_subword_prefix is not supported", h->name);
    px = get_str(m, "end_of_word_suffix", &n);
    if (px && n)
        return llq_err(LLQ_EUNSUPPORTED, "%s: end_of_word_suffix is not supported", h->name);
    return 0;
}

static int load_vocab(hf *h, json_object *m, json_object *added)
{
    h->vocab = get(m, "vocab");
    int64_t max_id = -1;
    json_object_object_foreach(h->vocab, key, val)
    {
        (void)key;
        if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
            json_object_get_int64(val) >= LLQ_TOK_MAX_VOCAB)
            return llq_err(LLQ_EFORMAT, "%s: vocab entry with a bad id", h->name);
        if (json_object_get_int64(val) > max_id)
            max_id = json_object_get_int64(val);
    }
    size_t na = added ? json_object_array_length(added) : 0;
    for (size_t i = 0; i < na; i++) {
        json_object *id = get(json_object_array_get_idx(added, i), "id");
        if (!id || !json_object_is_type(id, json_type_int) || json_object_get_int64(id) < 0 ||
            json_object_get_int64(id) >= LLQ_TOK_MAX_VOCAB)
            return llq_err(LLQ_EFORMAT, "%s: added token %zu without a valid id", h->name, i);
        if (json_object_get_int64(id) > max_id)
            max_id = json_object_get_int64(id);
    }
    if (max_id < 0)
        return llq_err(LLQ_EFORMAT, "%s: empty vocabulary", h->name);
    h->s.n_vocab = (uint32_t)max_id + 1;
    h->s.n_added = (uint32_t)na;
    h->pieces = calloc(h->s.n_vocab, sizeof *h->pieces);
    h->lens = calloc(h->s.n_vocab, sizeof *h->lens);
    h->types = calloc(h->s.n_vocab, sizeof *h->types);
    h->added_ids = calloc(na ? na : 1, sizeof *h->added_ids);
    h->added_flags = calloc(na ? na : 1, sizeof *h->added_flags);
    if (!h->pieces || !h->lens || !h->types || !h->added_ids || !h->added_flags)
        return llq_err(LLQ_ENOMEM, "%s: out of memory for the vocabulary", h->name);
    size_t un = 0;
    const char *unk = get_str(m, "unk_token", &un);
    int rc = 0;
    json_object_object_foreach(h->vocab, k2, v2)
    {
        size_t kn = strlen(k2);
        int32_t type = LLQ_PIECE_NORMAL;
        if (unk && un == kn && memcmp(unk, k2, kn) == 0)
            type = LLQ_PIECE_UNKNOWN;
        else if (h->s.byte_fallback && kn == 6 && memcmp(k2, "<0x", 3) == 0 && k2[5] == '>')
            type = LLQ_PIECE_BYTE;
        if ((rc = set_piece(h, json_object_get_int64(v2), k2, kn, type, 1)))
            return rc;
    }
    for (size_t i = 0; i < na; i++) {
        json_object *a = json_object_array_get_idx(added, i);
        size_t cn;
        const char *c = get_str(a, "content", &cn);
        if (!c || cn == 0)
            return llq_err(LLQ_EFORMAT, "%s: added token %zu without content", h->name, i);
        if (get_bool(a, "lstrip") || get_bool(a, "rstrip") || get_bool(a, "single_word"))
            return llq_err(LLQ_EUNSUPPORTED, "%s: added token '%.40s' uses lstrip/rstrip/single_word, which llq does "
                           "not implement", h->name, c);
        int special = get_bool(a, "special");
        int64_t id = json_object_get_int64(get(a, "id"));
        if ((rc = set_piece(h, id, c, cn, special ? LLQ_PIECE_CONTROL : LLQ_PIECE_USER_DEFINED, 0)))
            return rc;
        h->added_ids[i] = (uint32_t)id;
        h->added_flags[i] = (get_bool(a, "normalized") ? LLQ_ADDED_NORMALIZED : 0) | (special ? LLQ_ADDED_SPECIAL : 0);
    }
    for (uint32_t i = 0; i < h->s.n_vocab; i++)
        if (!h->pieces[i])
            return llq_err(LLQ_EFORMAT, "%s: no token has id %u (ids must be 0..%u without gaps)", h->name, i,
                           h->s.n_vocab - 1);
    if (unk && (h->s.unk_id = (int32_t)vocab_id(h, unk)) < 0)
        return llq_err(LLQ_EFORMAT, "%s: unk_token '%.40s' is not in the vocabulary", h->name, unk);
    return 0;
}

static int load_merges(hf *h, json_object *m)
{
    json_object *arr = get(m, "merges");
    size_t n = json_object_array_length(arr);
    if (n > 4 * (size_t)LLQ_TOK_MAX_VOCAB)
        return llq_err(LLQ_ELIMIT, "%s: %zu merges", h->name, n);
    h->merges = malloc((n ? 2 * n : 1) * sizeof *h->merges);
    char *tmp = NULL;
    size_t tcap = 0;
    int rc = h->merges ? 0 : llq_err(LLQ_ENOMEM, "%s: out of memory for the merges", h->name);
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *a = NULL, *b = NULL;
        if (json_object_is_type(e, json_type_string)) {
            const char *s = json_object_get_string(e), *sp = strchr(s, ' ');
            size_t sn = (size_t)json_object_get_string_len(e);
            if (!sp || strchr(sp + 1, ' ') || sp == s || sp == s + sn - 1 || strlen(s) != sn) {
                rc = llq_err(LLQ_EFORMAT, "%s: merge %zu is not two tokens separated by one space", h->name, i);
                break;
            }
            if (sn + 1 > tcap) {
                char *q = realloc(tmp, sn + 1);
                if (!q) {
                    rc = llq_err(LLQ_ENOMEM, "%s: out of memory", h->name);
                    break;
                }
                tmp = q;
                tcap = sn + 1;
            }
            memcpy(tmp, s, sn + 1);
            tmp[sp - s] = 0;
            a = tmp;
            b = tmp + (sp - s) + 1;
        } else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2 &&
                   json_object_is_type(json_object_array_get_idx(e, 0), json_type_string) &&
                   json_object_is_type(json_object_array_get_idx(e, 1), json_type_string)) {
            a = json_object_get_string(json_object_array_get_idx(e, 0));
            b = json_object_get_string(json_object_array_get_idx(e, 1));
        } else {
            rc = llq_err(LLQ_EFORMAT, "%s: merge %zu is neither \"a b\" nor [\"a\", \"b\"]", h->name, i);
            break;
        }
        int64_t ia = vocab_id(h, a), ib = vocab_id(h, b);
        if (ia < 0 || ib < 0) {
            rc = llq_err(LLQ_EFORMAT, "%s: merge %zu names a token not in the vocabulary", h->name, i);
            break;
        }
        h->merges[2 * i] = (uint32_t)ia;
        h->merges[2 * i + 1] = (uint32_t)ib;
    }
    free(tmp);
    h->s.n_merges = (uint32_t)n;
    return rc;
}

int llq_hf_parse(llq_tokenizer **out, const void *json, size_t len, const void *cfg, size_t cfg_len,
                 const char *name)
{
    *out = NULL;
    int rc;
    hf h = {.name = name};
    json_object *cfgo = NULL, *root = parse_json(json, len, name, &rc);
    if (!root)
        return rc;
    if (cfg && !(cfgo = parse_json(cfg, cfg_len, "tokenizer_config.json", &rc)))
        goto done;
    json_object *m = get(root, "model"), *added = get(root, "added_tokens"), *norm = get(root, "normalizer"),
                *pre = get(root, "pre_tokenizer"), *dec = get(root, "decoder");
    if (!m) {
        rc = llq_err(LLQ_EFORMAT, "%s: no \"model\" in the tokenizer.json", name);
        goto done;
    }
    if (added && !json_object_is_type(added, json_type_array)) {
        rc = llq_err(LLQ_EFORMAT, "%s: added_tokens is not an array", name);
        goto done;
    }
    if ((rc = check_model(&h, m)))
        goto done;
    h.s.kind = LLQ_TOKKIND_HF;
    h.s.byte_level = has_type(pre, "ByteLevel", 0) || has_type(dec, "ByteLevel", 0);
    h.s.byte_fallback = get_bool(m, "byte_fallback");
    h.s.fuse_unk = get_bool(m, "fuse_unk");
    h.s.ignore_merges = get_bool(m, "ignore_merges");
    h.s.unk_id = h.s.bos_id = h.s.eos_id = h.s.pad_id = -1;
    if ((rc = load_vocab(&h, m, added)) || (rc = load_merges(&h, m)))
        goto done;
    h.s.bos_id = template_bos(get(root, "post_processor"));
    if (h.s.bos_id >= (int32_t)h.s.n_vocab)
        h.s.bos_id = -1;
    if (cfgo) {
        int32_t b = config_token(&h, cfgo, "bos_token");
        h.s.bos_id = b >= 0 ? b : get(cfgo, "bos_token") ? -1 : h.s.bos_id;
        h.s.eos_id = config_token(&h, cfgo, "eos_token");
        h.s.pad_id = config_token(&h, cfgo, "pad_token");
    }
    h.norm = json_text(norm);
    h.pre = json_text(pre);
    h.dec = json_text(dec);
    if (!h.norm || !h.pre || !h.dec) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    h.s.pieces = (const char *const *)h.pieces;
    h.s.lens = h.lens;
    h.s.types = h.types;
    h.s.merges = h.merges;
    h.s.added_ids = h.added_ids;
    h.s.added_flags = h.added_flags;
    h.s.normalizer = h.norm;
    h.s.pre_tokenizer = h.pre;
    h.s.decoder = h.dec;
    json_object_put(root); /* the vocab is copied: free the 100+ MB tree before building the tables */
    root = NULL;
    rc = llq_bpe_new(out, &h.s, name);
done:
    json_object_put(root);
    json_object_put(cfgo);
    for (uint32_t i = 0; h.pieces && i < h.s.n_vocab; i++)
        free(h.pieces[i]);
    free(h.pieces);
    free(h.lens);
    free(h.types);
    free(h.merges);
    free(h.added_ids);
    free(h.added_flags);
    free(h.norm);
    free(h.pre);
    free(h.dec);
    return rc;
}
