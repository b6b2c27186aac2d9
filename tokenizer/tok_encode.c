/* tok_encode.c — text -> ids, as sentencepiece 0.1.x encodes with a BPE model and an identity normaliser.
 *
 * 1. Normalise (normalizer.cc): invalid UTF-8 bytes become U+FFFD one byte at a time; user-defined pieces
 *    pass through whole; with remove_extra_whitespaces leading/trailing spaces go and runs of spaces
 *    collapse to one; a dummy space is prepended (add_dummy_prefix); spaces become U+2581
 *    (escape_whitespaces). Only ' ' counts as a space: tabs and newlines are ordinary characters.
 * 2. BPE (bpe_model.cc): start from characters (user-defined pieces are one frozen symbol); repeatedly
 *    merge the adjacent pair whose concatenation is a normal/user-defined/unused piece with the highest
 *    score, the leftmost on ties (a max-heap with lazy deletion of stale pairs). The whole text is one
 *    sequence: sentencepiece does not pre-split on whitespace when encoding (split_by_whitespace only
 *    shapes the vocabulary at training time). Unused pieces are split back into the pair that made them.
 *    Speed-up with identical results: when no piece has a space after a non-space character (checked on
 *    the vocabulary, t->ws_split), no merge can cross the point before a space that follows a non-space,
 *    and merges on the two sides never interact, so each such segment is merged on its own (small heaps).
 * 3. A final piece missing from the vocabulary is the unknown id (a run of them gives one unknown id),
 *    or with byte_fallback its UTF-8 bytes as <0xNN> pieces.
 */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TEXT ((size_t)1 << 29) /* keeps every index of the normalised text in an int32 */

/* One step of the normaliser: the next input unit (a user-defined piece, a UTF-8 character, or one bad
 * byte that becomes U+FFFD). Sets *out and *out_len to its normalised bytes; returns the input consumed. */
static size_t norm_prefix(const llq_tokenizer *t, const char *s, size_t n, const char **out, size_t *out_len)
{
    size_t k = t->max_user_len ? llq_tok_user_prefix(t, s, n) : 0;
    if (!k)
        k = llq_utf8_len((const unsigned char *)s, n);
    if (!k) {
        *out = "\xef\xbf\xbd";
        *out_len = 3;
        return 1;
    }
    *out = s;
    *out_len = k;
    return k;
}

/* Writes the normalised text to dst (room for 3 * n + 3 bytes) and returns its length. */
static size_t normalize(const llq_tokenizer *t, const char *s, size_t n, char *dst)
{
    const llq_tok_spec *sp = &t->spec;
    const char *ws = sp->escape_whitespaces ? "\xe2\x96\x81" : " ";
    size_t wsn = strlen(ws), o = 0, k, plen;
    const char *p;
    if (sp->remove_extra_whitespaces) {
        while (n > 0 && (k = norm_prefix(t, s, n, &p, &plen)) && plen == 1 && p[0] == ' ') {
            s += k;
            n -= k;
        }
    }
    if (n == 0)
        return 0;
    if (sp->add_dummy_prefix) {
        memcpy(dst, ws, wsn);
        o = wsn;
    }
    int prev_space = sp->remove_extra_whitespaces;
    while (n > 0) {
        k = norm_prefix(t, s, n, &p, &plen);
        if (prev_space)
            while (plen > 0 && p[0] == ' ') {
                p++;
                plen--;
            }
        if (plen > 0) {
            for (size_t i = 0; i < plen; i++) {
                if (p[i] == ' ') {
                    memcpy(dst + o, ws, wsn);
                    o += wsn;
                } else {
                    dst[o++] = p[i];
                }
            }
            prev_space = p[plen - 1] == ' ';
        }
        s += k;
        n -= k;
        if (!sp->remove_extra_whitespaces)
            prev_space = 0;
    }
    if (sp->remove_extra_whitespaces)
        while (o >= wsn && memcmp(dst + o - wsn, ws, wsn) == 0)
            o -= wsn;
    return o;
}

typedef struct {
    int32_t prev, next;
    uint32_t start, len; /* bytes of the normalised text; len 0 once merged into its left neighbour */
    int32_t freeze;      /* user-defined piece: never merged */
} symbol;

/* A candidate merge packed in one integer, smallest first: the piece's score rank (higher score = smaller
 * rank), then the left symbol's index (leftmost first, sentencepiece's tie rule), then the merged length.
 * A pair is stale once its left symbol was merged away or grew, or its right neighbour changed length:
 * exactly when len(left) + len(next of left) no longer equals the length recorded here. */
#define KEY(rank, left, len) ((uint64_t)(rank) << 41 | (uint64_t)(left) << 10 | (uint64_t)(len))
#define KEY_LEFT(k) ((int32_t)(((k) >> 10) & 0x7fffffff))
#define KEY_LEN(k) ((uint32_t)((k) & 0x3ff))

typedef struct {
    const llq_tokenizer *t;
    const char *text;
    symbol *sym;
    uint64_t *heap; /* 4-ary min-heap of KEYs */
    size_t n_heap;
    size_t cap;      /* symbols the arrays hold (heap: 3 * cap) */
    uint32_t *split; /* unused pieces: byte length of the left part of the last pair that made them */
    int prev_unk;    /* the last piece emitted was unknown (consecutive ones become one) */
} bpe;

static void heap_push(bpe *b, uint64_t k)
{
    size_t i = b->n_heap++;
    while (i > 0) {
        size_t up = (i - 1) / 4;
        if (b->heap[up] <= k)
            break;
        b->heap[i] = b->heap[up];
        i = up;
    }
    b->heap[i] = k;
}

static uint64_t heap_pop(bpe *b)
{
    uint64_t top = b->heap[0], last = b->heap[--b->n_heap];
    size_t i = 0, n = b->n_heap;
    for (;;) {
        size_t c = 4 * i + 1, end = c + 4 < n ? c + 4 : n, m = c;
        if (c >= n)
            break;
        for (size_t j = c + 1; j < end; j++)
            if (b->heap[j] < b->heap[m])
                m = j;
        if (b->heap[m] >= last)
            break;
        b->heap[i] = b->heap[m];
        i = m;
    }
    if (n > 0)
        b->heap[i] = last;
    return top;
}

static void maybe_add_pair(bpe *b, int32_t l, int32_t r)
{
    if (l < 0 || r < 0 || b->sym[l].freeze || b->sym[r].freeze)
        return;
    uint32_t len = b->sym[l].len + b->sym[r].len;
    int32_t id = llq_tok_find_normal(b->t, b->text + b->sym[l].start, len);
    if (id < 0)
        return;
    heap_push(b, KEY(b->t->rank[id], (uint32_t)l, len));
    if (b->split && b->t->types[id] == LLQ_PIECE_UNUSED)
        b->split[id] = b->sym[l].len;
}

/* Appends the ids of a final piece: unused pieces split back recursively, unknown ones as bytes. */
static void emit(bpe *b, const char *s, uint32_t n, uint32_t *out, size_t *n_out)
{
    const llq_tokenizer *t = b->t;
    int32_t id = llq_tok_piece_to_id(t, s, n);
    if (t->types[id] == LLQ_PIECE_UNUSED && b->split && b->split[id] > 0 && b->split[id] < n) {
        uint32_t k = b->split[id];
        emit(b, s, k, out, n_out);
        emit(b, s + k, n - k, out, n_out);
        return;
    }
    if (t->types[id] == LLQ_PIECE_UNKNOWN && t->spec.byte_fallback) {
        for (uint32_t i = 0; i < n; i++)
            out[(*n_out)++] = (uint32_t)t->byte_id[(unsigned char)s[i]];
        return;
    }
    int unk = t->types[id] == LLQ_PIECE_UNKNOWN;
    if (!(unk && b->prev_unk))
        out[(*n_out)++] = (uint32_t)id;
    b->prev_unk = unk;
}

/* BPE over norm[from, to): symbols, merges, then the ids appended to out. */
static int bpe_segment(bpe *b, size_t from, size_t to, uint32_t *out, size_t *n_out)
{
    if (to - from > b->cap) { /* room for the longest segment so far: memory ~ segment, not text */
        size_t cap = to - from;
        symbol *sym = realloc(b->sym, cap * sizeof *sym);
        if (sym)
            b->sym = sym;
        uint64_t *heap = realloc(b->heap, 3 * cap * sizeof *heap);
        if (heap)
            b->heap = heap;
        if (!sym || !heap)
            return llq_err(LLQ_ENOMEM, "out of memory tokenizing a segment of %zu bytes", cap);
        b->cap = cap;
    }
    static const unsigned char one_char_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    const llq_tokenizer *t = b->t;
    const char *norm = b->text;
    int32_t n_sym = 0;
    for (size_t i = from; i < to;) { /* characters (or whole user-defined pieces) as the initial symbols */
        size_t k = t->max_user_len ? llq_tok_user_prefix(t, norm + i, to - i) : 0;
        symbol *s = &b->sym[n_sym];
        s->freeze = k > 0;
        if (!k) {
            k = one_char_len[(unsigned char)norm[i] >> 4];
            if (k > to - i)
                k = to - i;
        }
        s->start = (uint32_t)i;
        s->len = (uint32_t)k;
        s->prev = n_sym - 1;
        s->next = i + k < to ? n_sym + 1 : -1;
        n_sym++;
        i += k;
    }
    for (int32_t i = 1; i < n_sym; i++)
        maybe_add_pair(b, i - 1, i);
    while (b->n_heap > 0) {
        uint64_t top = heap_pop(b);
        int32_t left = KEY_LEFT(top);
        symbol *l = &b->sym[left];
        if (l->len == 0 || l->next < 0)
            continue; /* stale */
        symbol *r = &b->sym[l->next];
        if (l->len + r->len != KEY_LEN(top))
            continue; /* stale */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0)
            b->sym[r->next].prev = left;
        r->len = 0;
        maybe_add_pair(b, l->prev, left);
        maybe_add_pair(b, left, l->next);
    }
    for (int32_t i = n_sym ? 0 : -1; i >= 0; i = b->sym[i].next)
        emit(b, norm + b->sym[i].start, b->sym[i].len, out, n_out);
    return 0;
}

int llq_tokenize(const llq_tokenizer *t, const char *text, size_t len, int add_bos, uint32_t **out, size_t *n_out)
{
    if (t->bpe)
        return llq_bpe_tokenize(t, text, len, add_bos, out, n_out);
    *out = NULL;
    *n_out = 0;
    if (len > MAX_TEXT)
        return llq_err(LLQ_ELIMIT, "text of %zu bytes exceeds the tokenizer's limit of %zu", len, MAX_TEXT);
    if (len && !text)
        return llq_err(LLQ_EINVAL, "tokenize: NULL text");
    int rc = 0;
    bpe b = {.t = t};
    char *norm = malloc(3 * len + 4);
    if (!norm)
        return llq_err(LLQ_ENOMEM, "out of memory tokenizing %zu bytes", len);
    size_t n = normalize(t, text, len, norm);
    uint32_t *ids = malloc((n + 1) * sizeof *ids);
    b.text = norm;
    if (t->has_unused)
        b.split = calloc(t->spec.n_pieces, sizeof *b.split);
    if (!ids || (t->has_unused && !b.split)) {
        rc = llq_err(LLQ_ENOMEM, "out of memory tokenizing %zu bytes", len);
        goto done;
    }
    size_t count = 0;
    if (add_bos && t->spec.bos_id >= 0)
        ids[count++] = (uint32_t)t->spec.bos_id;
    const char *ws = t->spec.escape_whitespaces ? "\xe2\x96\x81" : " ";
    size_t wsn = strlen(ws);
    for (size_t from = 0, to; from < n && !rc; from = to) {
        to = n;
        if (t->ws_split) { /* next space that follows a non-space: no piece spans it */
            const char *q = norm + from + 1, *end = norm + n;
            while ((q = memchr(q, ws[0], (size_t)(end - q))) && (size_t)(end - q) >= wsn) {
                if (memcmp(q, ws, wsn) == 0 && (q < norm + from + wsn || memcmp(q - wsn, ws, wsn) != 0)) {
                    to = (size_t)(q - norm);
                    break;
                }
                q++;
            }
        }
        rc = bpe_segment(&b, from, to, ids, &count);
    }
    if (rc)
        goto done;
    *out = ids;
    *n_out = count;
    ids = NULL;
done:
    free(ids);
    free(norm);
    free(b.sym);
    free(b.heap);
    free(b.split);
    return rc;
}
