/* tokenizer.c — the SentencePiece vocabulary: building and validating it, piece lookup, accessors and
 * decoding (ids -> text) exactly as sentencepiece's decode(). Encoding is in tok_encode.c. */
#include "tok_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char kSpace[] = "\xe2\x96\x81"; /* U+2581, sentencepiece's escaped space */

uint32_t llq_tok_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t table_find(const llq_tokenizer *t, const int32_t *tab, const char *s, size_t n)
{
    for (uint32_t i = llq_tok_hash(s, n) & t->h_mask;; i = (i + 1) & t->h_mask) {
        int32_t id = tab[i];
        if (id < 0)
            return -1;
        if (t->lens[id] == n && memcmp(t->pieces[id], s, n) == 0)
            return id;
    }
}

/* Inserts id; returns the id already holding the same piece, or -1. */
static int32_t table_insert(llq_tokenizer *t, int32_t *tab, int32_t id)
{
    const char *s = t->pieces[id];
    size_t n = t->lens[id];
    for (uint32_t i = llq_tok_hash(s, n) & t->h_mask;; i = (i + 1) & t->h_mask) {
        int32_t o = tab[i];
        if (o < 0) {
            tab[i] = id;
            return -1;
        }
        if (t->lens[o] == n && memcmp(t->pieces[o], s, n) == 0)
            return o;
    }
}

int32_t llq_tok_find_normal(const llq_tokenizer *t, const char *s, size_t len)
{
    if (len == 0 || len > t->max_len)
        return -1;
    return table_find(t, t->h_normal, s, len);
}

int32_t llq_tok_piece_to_id(const llq_tokenizer *t, const char *s, size_t len)
{
    int32_t id = len <= LLQ_TOK_MAX_PIECE ? table_find(t, t->h_reserved, s, len) : -1;
    if (id < 0)
        id = llq_tok_find_normal(t, s, len);
    return id < 0 ? t->spec.unk_id : id;
}

size_t llq_tok_user_prefix(const llq_tokenizer *t, const char *s, size_t len)
{
    for (size_t n = len < t->max_user_len ? len : t->max_user_len; n > 0; n--) {
        int32_t id = table_find(t, t->h_normal, s, n);
        if (id >= 0 && t->types[id] == LLQ_PIECE_USER_DEFINED)
            return n;
    }
    return 0;
}

size_t llq_utf8_len(const unsigned char *s, size_t n)
{
    uint32_t c = s[0];
    if (c < 0x80)
        return 1;
    if (n >= 2 && (c & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
        uint32_t cp = ((c & 0x1f) << 6) | (s[1] & 0x3f);
        return cp >= 0x80 ? 2 : 0;
    }
    if (n >= 3 && (c & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
        uint32_t cp = ((c & 0x0f) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3f);
        return cp >= 0x800 && (cp < 0xd800 || cp >= 0xe000) ? 3 : 0;
    }
    if (n >= 4 && (c & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
        (s[3] & 0xc0) == 0x80) {
        uint32_t cp = ((c & 0x07) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3f);
        return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
    }
    return 0;
}

/* Byte value of a piece spelled "<0xNN>" (upper-case hex, as sentencepiece writes them), or -1. */
static int byte_piece_value(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    const char *hi = s[3] ? strchr(hex, s[3]) : NULL, *lo = s[4] ? strchr(hex, s[4]) : NULL;
    return hi && lo ? (int)((hi - hex) * 16 + (lo - hex)) : -1;
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Checks what does not need the copied vocabulary. */
static int check_spec(const llq_tok_spec *s, const char *name)
{
    if (s->model_type != LLQ_SPM_BPE) {
        static const char *names[] = {"?", "unigram", "bpe", "word", "char"};
        return llq_err(LLQ_EUNSUPPORTED, "%s: SentencePiece model_type %s (%u) is not supported (only bpe)", name,
                       s->model_type <= 4 ? names[s->model_type] : "unknown", s->model_type);
    }
    if (s->has_charsmap)
        return llq_err(LLQ_EUNSUPPORTED,
                       "%s: normalizer '%.*s' has a precompiled charsmap (Unicode normalisation), which llq does "
                       "not implement; only identity normalisation is supported",
                       name, (int)(s->normalizer_len > 64 ? 64 : s->normalizer_len),
                       s->normalizer ? s->normalizer : "");
    if (s->has_denorm_charsmap)
        return llq_err(LLQ_EUNSUPPORTED, "%s: a denormalizer charsmap is not supported", name);
    if (s->treat_whitespace_as_suffix)
        return llq_err(LLQ_EUNSUPPORTED, "%s: treat_whitespace_as_suffix is not supported", name);
    if (s->n_pieces == 0)
        return llq_err(LLQ_EFORMAT, "%s: tokenizer has no pieces", name);
    if (s->n_pieces > LLQ_TOK_MAX_VOCAB)
        return llq_err(LLQ_ELIMIT, "%s: %u pieces exceed the limit of %u", name, s->n_pieces, LLQ_TOK_MAX_VOCAB);
    if (s->unk_surface_len > LLQ_TOK_MAX_PIECE || s->normalizer_len > LLQ_TOK_MAX_PIECE)
        return llq_err(LLQ_ELIMIT, "%s: unk_surface or normalizer name longer than %d bytes", name,
                       LLQ_TOK_MAX_PIECE);
    const int32_t ids[3] = {s->bos_id, s->eos_id, s->pad_id};
    static const char *idn[3] = {"bos_id", "eos_id", "pad_id"};
    for (int i = 0; i < 3; i++)
        if (ids[i] < -1 || (ids[i] >= 0 && (uint32_t)ids[i] >= s->n_pieces))
            return llq_err(LLQ_EFORMAT, "%s: %s %d out of range (vocabulary of %u)", name, idn[i], ids[i],
                           s->n_pieces);
    for (uint32_t i = 0; i < s->n_pieces; i++) {
        if (s->piece_lens[i] == 0 || s->piece_lens[i] > LLQ_TOK_MAX_PIECE)
            return llq_err(s->piece_lens[i] ? LLQ_ELIMIT : LLQ_EFORMAT,
                           "%s: piece %u has %llu bytes (must be 1..%d)", name, i,
                           (unsigned long long)s->piece_lens[i], LLQ_TOK_MAX_PIECE);
        if (isnan(s->scores[i]))
            return llq_err(LLQ_EFORMAT, "%s: piece %u has a NaN score", name, i);
        if (s->types[i] < LLQ_PIECE_NORMAL || s->types[i] > LLQ_PIECE_BYTE)
            return llq_err(LLQ_EFORMAT, "%s: piece %u has unknown type %d", name, i, s->types[i]);
        if (s->types[i] == LLQ_PIECE_BYTE) {
            if (!s->byte_fallback)
                return llq_err(LLQ_EFORMAT, "%s: byte piece %u found although byte_fallback is false", name, i);
            if (byte_piece_value(s->pieces[i], s->piece_lens[i]) < 0)
                return llq_err(LLQ_EFORMAT, "%s: byte piece %u is not spelled <0xNN>", name, i);
        }
        if (s->types[i] == LLQ_PIECE_UNKNOWN && (int64_t)i != s->unk_id)
            return llq_err(LLQ_EFORMAT, "%s: piece %u is the unknown piece but unk_id is %d", name, i, s->unk_id);
    }
    if (s->unk_id < 0 || (uint32_t)s->unk_id >= s->n_pieces || s->types[s->unk_id] != LLQ_PIECE_UNKNOWN)
        return llq_err(LLQ_EFORMAT, "%s: unk_id %d is not an unknown-type piece", name, s->unk_id);
    return 0;
}

typedef struct {
    float score;
    uint32_t id;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return x > y ? -1 : x < y ? 1 : 0;
}

/* rank[i] = number of distinct scores greater than piece i's: merge priority as a small integer. */
static int build_ranks(llq_tokenizer *t)
{
    uint32_t n = t->spec.n_pieces;
    scored *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        v[i] = (scored){t->scores[i], i};
    qsort(v, n, sizeof *v, by_score_desc);
    uint32_t r = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && v[i].score != v[i - 1].score)
            r++;
        t->rank[v[i].id] = r;
    }
    free(v);
    return 0;
}

int llq_tokenizer_new(llq_tokenizer **out, const llq_tok_spec *s, const char *name)
{
    *out = NULL;
    int rc = check_spec(s, name);
    if (rc)
        return rc;
    uint32_t n = s->n_pieces;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += s->piece_lens[i] + 1; /* <= 2^22 * 257: no overflow */
    uint32_t cap = 1;
    while (cap < 2 * n)
        cap <<= 1;
    llq_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return llq_err(LLQ_ENOMEM, "%s: out of memory for the tokenizer", name);
    t->blob = malloc(total);
    t->pieces = malloc(n * sizeof *t->pieces);
    t->lens = malloc(n * sizeof *t->lens);
    t->scores = malloc(n * sizeof *t->scores);
    t->types = malloc(n * sizeof *t->types);
    t->rank = malloc(n * sizeof *t->rank);
    t->h_normal = malloc(cap * sizeof *t->h_normal);
    t->h_reserved = malloc(cap * sizeof *t->h_reserved);
    t->normalizer = dup_bytes(s->normalizer ? s->normalizer : "", s->normalizer ? s->normalizer_len : 0);
    t->unk_surface = dup_bytes(s->unk_surface ? s->unk_surface : "", s->unk_surface ? s->unk_surface_len : 0);
    if (!t->blob || !t->pieces || !t->lens || !t->scores || !t->types || !t->rank || !t->h_normal || !t->h_reserved ||
        !t->normalizer || !t->unk_surface) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory for the tokenizer", name);
        goto done;
    }
    t->h_mask = cap - 1;
    memset(t->h_normal, 0xff, cap * sizeof *t->h_normal);
    memset(t->h_reserved, 0xff, cap * sizeof *t->h_reserved);
    char *p = t->blob;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(p, s->pieces[i], s->piece_lens[i]);
        p[s->piece_lens[i]] = 0;
        t->pieces[i] = p;
        t->lens[i] = s->piece_lens[i];
        t->scores[i] = s->scores[i];
        t->types[i] = s->types[i];
        p += s->piece_lens[i] + 1;
        int32_t ty = t->types[i];
        int normal = ty == LLQ_PIECE_NORMAL || ty == LLQ_PIECE_USER_DEFINED || ty == LLQ_PIECE_UNUSED;
        int32_t dup = table_insert(t, normal ? t->h_normal : t->h_reserved, (int32_t)i);
        if (dup >= 0) {
            rc = llq_err(LLQ_EFORMAT, "%s: pieces %d and %u are the same string", name, dup, i);
            goto done;
        }
        if (normal && t->lens[i] > t->max_len)
            t->max_len = (uint32_t)t->lens[i];
        if (ty == LLQ_PIECE_USER_DEFINED && t->lens[i] > t->max_user_len)
            t->max_user_len = (uint32_t)t->lens[i];
        if (ty == LLQ_PIECE_UNUSED)
            t->has_unused = 1;
    }
    t->ws_split = 1;
    const char *ws = s->escape_whitespaces ? kSpace : " ";
    size_t wsn = strlen(ws);
    for (uint32_t i = 0; i < n; i++) {
        int32_t ty = t->types[i];
        if (ty != LLQ_PIECE_NORMAL && ty != LLQ_PIECE_USER_DEFINED && ty != LLQ_PIECE_UNUSED)
            continue;
        const char *q = t->pieces[i], *end = q + t->lens[i];
        while ((size_t)(end - q) >= wsn && memcmp(q, ws, wsn) == 0)
            q += wsn;
        if (memmem(q, (size_t)(end - q), ws, wsn))
            t->ws_split = 0;
    }
    t->spec = *s;
    t->spec.pieces = t->pieces;
    t->spec.piece_lens = t->lens;
    t->spec.scores = t->scores;
    t->spec.types = t->types;
    t->spec.normalizer = t->normalizer;
    t->spec.unk_surface = t->unk_surface;
    if (build_ranks(t)) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory for the tokenizer", name);
        goto done;
    }
    for (int b = 0; b < 256; b++) {
        char bp[8];
        snprintf(bp, sizeof bp, "<0x%02X>", b);
        t->byte_id[b] = llq_tok_piece_to_id(t, bp, 6);
    }
    *out = t;
    t = NULL;
done:
    llq_tokenizer_free(t);
    return rc;
}

void llq_tokenizer_free(llq_tokenizer *t)
{
    if (!t)
        return;
    llq_bpe_free(t->bpe);
    free(t->blob);
    free(t->pieces);
    free(t->lens);
    free(t->scores);
    free(t->types);
    free(t->rank);
    free(t->h_normal);
    free(t->h_reserved);
    free(t->normalizer);
    free(t->unk_surface);
    free(t);
}

uint32_t llq_tokenizer_n_vocab(const llq_tokenizer *t) { return t->spec.n_pieces; }
int32_t llq_tokenizer_bos(const llq_tokenizer *t) { return t->spec.bos_id; }
int32_t llq_tokenizer_eos(const llq_tokenizer *t) { return t->spec.eos_id; }
int32_t llq_tokenizer_unk(const llq_tokenizer *t) { return t->spec.unk_id; }
int32_t llq_tokenizer_pad(const llq_tokenizer *t) { return t->spec.pad_id; }
const llq_tok_spec *llq_tokenizer_spec(const llq_tokenizer *t) { return &t->spec; }

const char *llq_tokenizer_kind(const llq_tokenizer *t)
{
    const llq_bpe_spec *b = llq_bpe_get_spec(t);
    return !b ? "sentencepiece" : b->kind == LLQ_TOKKIND_TIKTOKEN ? "tiktoken" : "hf-bpe";
}

const char *llq_token_piece(const llq_tokenizer *t, uint32_t id, size_t *len)
{
    if (id >= t->spec.n_pieces) {
        *len = 0;
        return NULL;
    }
    *len = t->lens[id];
    return t->pieces[id];
}

int llq_token_type(const llq_tokenizer *t, uint32_t id)
{
    return id < t->spec.n_pieces ? t->types[id] : 0;
}

/* Surface of a non-byte piece: "" for control, unk_surface for unknown, else the piece with U+2581 turned
 * into spaces and, when strip_lead, one leading U+2581 dropped (*stripped tells whether it was).
 * Writes to dst (room for LLQ_TOKEN_DECODE_MAX bytes). */
static size_t piece_surface(const llq_tokenizer *t, uint32_t id, int strip_lead, char *dst, int *stripped)
{
    int32_t ty = t->types[id];
    *stripped = 0;
    if (ty == LLQ_PIECE_CONTROL)
        return 0;
    if (ty == LLQ_PIECE_UNKNOWN) {
        size_t n = strlen(t->unk_surface);
        memcpy(dst, t->unk_surface, n);
        return n;
    }
    const char *s = t->pieces[id];
    size_t n = t->lens[id], i = 0, o = 0;
    if (strip_lead && n >= 3 && memcmp(s, kSpace, 3) == 0) {
        i = 3;
        *stripped = 1;
    }
    while (i < n) {
        if (i + 3 <= n && memcmp(s + i, kSpace, 3) == 0) {
            dst[o++] = ' ';
            i += 3;
        } else {
            dst[o++] = s[i++];
        }
    }
    return o;
}

int llq_token_decode(const llq_tokenizer *t, int32_t prev, uint32_t id, char *buf, size_t cap)
{
    if (t->bpe)
        return llq_bpe_token_decode(t, prev, id, buf, cap);
    if (id >= t->spec.n_pieces)
        return llq_err(LLQ_EINVAL, "token id %u out of range (vocabulary of %u)", id, t->spec.n_pieces);
    char tmp[LLQ_TOKEN_DECODE_MAX];
    size_t n;
    if (t->types[id] == LLQ_PIECE_BYTE) {
        tmp[0] = (char)byte_piece_value(t->pieces[id], t->lens[id]);
        n = 1;
    } else {
        int at_start = prev < 0 || (uint32_t)prev >= t->spec.n_pieces || t->types[prev] == LLQ_PIECE_CONTROL;
        int strip = at_start && (t->spec.add_dummy_prefix || t->spec.remove_extra_whitespaces), stripped;
        n = piece_surface(t, id, strip, tmp, &stripped);
    }
    if (cap < n + 1)
        return llq_err(LLQ_EINVAL, "decode buffer of %zu bytes too small for token %u (%zu needed)", cap, id, n + 1);
    memcpy(buf, tmp, n);
    buf[n] = 0;
    return (int)n;
}

/* ---- whole-sequence decode ---- */

typedef struct {
    char *p;
    size_t n, cap;
} strbuf;

static int sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return llq_err(LLQ_ENOMEM, "out of memory decoding tokens");
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

/* Appends a run of byte-piece bytes: each valid UTF-8 character as is, each bad byte as U+FFFD. */
static int put_bytes(strbuf *b, const unsigned char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t k = llq_utf8_len(s + i, n - i);
        rc = k ? sb_put(b, (const char *)s + i, k) : sb_put(b, "\xef\xbf\xbd", 3);
        i += k ? k : 1;
    }
    return rc;
}

/* The leading-space rule of sentencepiece's decode(): one leading U+2581 is dropped from the first piece
 * while nothing has been output, unless the previous piece already dropped one; with
 * remove_extra_whitespaces every leading U+2581 is dropped until some text appears. */
int llq_detokenize(const llq_tokenizer *t, const uint32_t *ids, size_t n, char **out, size_t *len)
{
    if (t->bpe)
        return llq_bpe_detokenize(t, ids, n, out, len);
    *out = NULL;
    *len = 0;
    strbuf b = {0};
    unsigned char *bytes = n ? malloc(n) : NULL;
    char piece[LLQ_TOKEN_DECODE_MAX];
    size_t nb = 0;
    int bos_ws = 1, bos_ws_seen = 0, rc = sb_put(&b, "", 0);
    int may_strip = t->spec.add_dummy_prefix || t->spec.remove_extra_whitespaces;
    if (!rc && n && !bytes)
        rc = llq_err(LLQ_ENOMEM, "out of memory decoding tokens");
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t id = ids[i];
        if (id >= t->spec.n_pieces) {
            rc = llq_err(LLQ_EINVAL, "token %zu: id %u out of range (vocabulary of %u)", i, id, t->spec.n_pieces);
            break;
        }
        if (t->types[id] == LLQ_PIECE_BYTE) {
            bytes[nb++] = (unsigned char)byte_piece_value(t->pieces[id], t->lens[id]);
            continue;
        }
        rc = put_bytes(&b, bytes, nb);
        nb = 0;
        if (bos_ws_seen || b.n > 0)
            bos_ws = 0;
        size_t k = piece_surface(t, id, bos_ws && may_strip, piece, &bos_ws_seen);
        if (t->spec.remove_extra_whitespaces)
            bos_ws_seen = 0;
        if (!rc)
            rc = sb_put(&b, piece, k);
    }
    if (!rc)
        rc = put_bytes(&b, bytes, nb);
    free(bytes);
    if (rc) {
        free(b.p);
        return rc;
    }
    b.p[b.n] = 0;
    *out = b.p;
    *len = b.n;
    return 0;
}
