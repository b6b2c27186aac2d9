/* spm.c — reads a SentencePiece tokenizer.model: a protobuf ModelProto (sentencepiece_model.proto),
 * decoded by the minimal wire-format reader below. Fields used:
 *   ModelProto:      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec, 5 denormalizer_spec
 *   SentencePiece:   1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
 *   TrainerSpec:     3 model_type (default UNIGRAM), 22 split_by_whitespace (default true),
 *                    24 treat_whitespace_as_suffix, 25 split_digits, 35 byte_fallback,
 *                    40 unk_id (default 0), 44 unk_surface (default " \u2047 "),
 *                    46..48 bos/eos/pad_piece (defaults "<s>", "</s>", "<pad>"); bos/eos/pad ids are those
 *                    of the control pieces so named, as sentencepiece's bos_id() etc. (fields 41..43 only
 *                    placed them at training time)
 *   NormalizerSpec:  1 name, 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces,
 *                    5 escape_whitespaces (all three default true)
 * Every other field is skipped by wire type. Wire types 3/4 (groups) are refused; lengths are checked
 * against the bytes left before use. */
#include "tok_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_MODEL_BYTES ((size_t)256 << 20)

typedef struct {
    const uint8_t *p, *end;
    const char *name; /* file name, for messages */
    const char *what; /* message being read */
} pb;

typedef struct {
    uint32_t field, wire;
    uint64_t v;          /* varint / fixed value */
    const uint8_t *data; /* length-delimited bytes */
    uint64_t len;
} pb_field;

static int pb_varint(pb *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return llq_err(LLQ_EFORMAT, "%s: truncated varint in %s", r->name, r->what);
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
        if (shift == 63)
            break;
    }
    return llq_err(LLQ_EFORMAT, "%s: varint longer than 10 bytes in %s", r->name, r->what);
}

/* Reads the next field; returns 1 on a field, 0 at the end of the message, < 0 on error. */
static int pb_next(pb *r, pb_field *f)
{
    if (r->p == r->end)
        return 0;
    uint64_t key;
    int rc = pb_varint(r, &key);
    if (rc)
        return rc;
    f->field = (uint32_t)(key >> 3);
    f->wire = key & 7;
    if ((key >> 3) == 0 || (key >> 3) > 536870911u)
        return llq_err(LLQ_EFORMAT, "%s: bad field number %llu in %s", r->name, (unsigned long long)(key >> 3),
                       r->what);
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case 0:
        rc = pb_varint(r, &f->v);
        return rc ? rc : 1;
    case 1:
    case 5: {
        size_t n = f->wire == 1 ? 8 : 4;
        if (left < n)
            return llq_err(LLQ_EFORMAT, "%s: truncated fixed%zu field %u in %s", r->name, n * 8, f->field, r->what);
        f->v = 0;
        for (size_t i = 0; i < n; i++)
            f->v |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 1;
    }
    case 2:
        if ((rc = pb_varint(r, &f->len)))
            return rc;
        left = (size_t)(r->end - r->p);
        if (f->len > left)
            return llq_err(LLQ_EFORMAT, "%s: field %u in %s claims %llu bytes, only %zu left", r->name, f->field,
                           r->what, (unsigned long long)f->len, left);
        f->data = r->p;
        r->p += f->len;
        return 1;
    default:
        return llq_err(LLQ_EFORMAT, "%s: unsupported wire type %u (field %u) in %s", r->name, f->wire, f->field,
                       r->what);
    }
}

static int want_wire(const pb *r, const pb_field *f, uint32_t wire)
{
    if (f->wire == wire)
        return 0;
    return llq_err(LLQ_EFORMAT, "%s: field %u of %s has wire type %u, expected %u", r->name, f->field, r->what,
                   f->wire, wire);
}

static float f32_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, 4);
    return x;
}

typedef struct {
    llq_tok_spec s;
    const char *special[3]; /* bos/eos/pad_piece */
    uint64_t special_len[3];
    const char **pieces;
    uint64_t *lens;
    float *scores;
    int32_t *types;
    uint32_t cap;
} spm_model;

static int parse_piece(spm_model *m, const uint8_t *data, uint64_t len, const char *name)
{
    if (m->s.n_pieces == m->cap) {
        if (m->cap >= LLQ_TOK_MAX_VOCAB)
            return llq_err(LLQ_ELIMIT, "%s: more than %u pieces", name, LLQ_TOK_MAX_VOCAB);
        uint32_t cap = m->cap ? 2 * m->cap : 1024;
        const char **p = realloc(m->pieces, cap * sizeof *p);
        if (p)
            m->pieces = p;
        uint64_t *l = realloc(m->lens, cap * sizeof *l);
        if (l)
            m->lens = l;
        float *sc = realloc(m->scores, cap * sizeof *sc);
        if (sc)
            m->scores = sc;
        int32_t *ty = realloc(m->types, cap * sizeof *ty);
        if (ty)
            m->types = ty;
        if (!p || !l || !sc || !ty)
            return llq_err(LLQ_ENOMEM, "%s: out of memory reading pieces", name);
        m->cap = cap;
    }
    uint32_t i = m->s.n_pieces;
    pb r = {data, data + len, name, "a SentencePiece"};
    pb_field f;
    int rc, has_piece = 0;
    m->scores[i] = 0.0f;
    m->types[i] = LLQ_PIECE_NORMAL;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.field == 1) {
            if ((rc = want_wire(&r, &f, 2)))
                return rc;
            m->pieces[i] = (const char *)f.data;
            m->lens[i] = f.len;
            has_piece = 1;
        } else if (f.field == 2) {
            if ((rc = want_wire(&r, &f, 5)))
                return rc;
            m->scores[i] = f32_bits((uint32_t)f.v);
        } else if (f.field == 3) {
            if ((rc = want_wire(&r, &f, 0)))
                return rc;
            m->types[i] = f.v <= 1000 ? (int32_t)f.v : -1; /* validated by llq_tokenizer_new */
        }
    }
    if (rc < 0)
        return rc;
    if (!has_piece) {
        m->pieces[i] = "";
        m->lens[i] = 0; /* refused by llq_tokenizer_new with the piece's index */
    }
    m->s.n_pieces++;
    return 0;
}

static int parse_trainer(spm_model *m, const uint8_t *data, uint64_t len, const char *name)
{
    pb r = {data, data + len, name, "TrainerSpec"};
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        uint32_t k = f.field;
        if (k == 44) {
            if ((rc = want_wire(&r, &f, 2)))
                return rc;
            m->s.unk_surface = (const char *)f.data;
            m->s.unk_surface_len = f.len;
            continue;
        }
        if (k >= 46 && k <= 48) {
            if ((rc = want_wire(&r, &f, 2)))
                return rc;
            m->special[k - 46] = (const char *)f.data;
            m->special_len[k - 46] = f.len;
            continue;
        }
        if (k != 3 && k != 22 && k != 24 && k != 25 && k != 35 && k != 40)
            continue;
        if ((rc = want_wire(&r, &f, 0)))
            return rc;
        int32_t i32 = (int32_t)(uint32_t)f.v; /* protobuf int32: negative values are sign-extended varints */
        int b = f.v != 0;
        switch (k) {
        case 3: m->s.model_type = (uint32_t)(f.v > 1000 ? 1000 : f.v); break;
        case 22: m->s.split_by_whitespace = b; break;
        case 24: m->s.treat_whitespace_as_suffix = b; break;
        case 25: m->s.split_digits = b; break;
        case 35: m->s.byte_fallback = b; break;
        case 40: m->s.unk_id = i32; break;
        }
    }
    return rc < 0 ? rc : 0;
}

static int parse_normalizer(spm_model *m, const uint8_t *data, uint64_t len, const char *name, int denorm)
{
    pb r = {data, data + len, name, denorm ? "denormalizer_spec" : "NormalizerSpec"};
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.field < 1 || f.field > 5)
            continue;
        if ((rc = want_wire(&r, &f, f.field <= 2 ? 2 : 0)))
            return rc;
        if (denorm) {
            if (f.field == 2 && f.len > 0)
                m->s.has_denorm_charsmap = 1;
            continue;
        }
        switch (f.field) {
        case 1:
            m->s.normalizer = (const char *)f.data;
            m->s.normalizer_len = f.len;
            break;
        case 2: m->s.has_charsmap = f.len > 0; break;
        case 3: m->s.add_dummy_prefix = f.v != 0; break;
        case 4: m->s.remove_extra_whitespaces = f.v != 0; break;
        case 5: m->s.escape_whitespaces = f.v != 0; break;
        }
    }
    return rc < 0 ? rc : 0;
}

/* sentencepiece's bos_id()/eos_id()/pad_id(): the id of the control piece named by bos/eos/pad_piece,
 * else -1 (the *_id fields only place those pieces at training time). */
static void resolve_special(spm_model *m)
{
    int32_t *ids[3] = {&m->s.bos_id, &m->s.eos_id, &m->s.pad_id};
    for (int k = 0; k < 3; k++) {
        *ids[k] = -1;
        for (uint32_t i = 0; i < m->s.n_pieces; i++)
            if (m->types[i] == LLQ_PIECE_CONTROL && m->lens[i] == m->special_len[k] &&
                memcmp(m->pieces[i], m->special[k], m->lens[i]) == 0) {
                *ids[k] = (int32_t)i;
                break;
            }
    }
}

int llq_spm_parse(llq_tokenizer **out, const void *buf, size_t len, const char *name)
{
    *out = NULL;
    if (!name)
        name = "tokenizer.model";
    spm_model m = {.s = {.model_type = LLQ_SPM_UNIGRAM,
                         .unk_id = 0,
                         .add_dummy_prefix = 1, .remove_extra_whitespaces = 1, .escape_whitespaces = 1,
                         .split_by_whitespace = 1,
                         .normalizer = "", .unk_surface = " \xe2\x81\x87 ", .unk_surface_len = 5},
                   .special = {"<s>", "</s>", "<pad>"}, .special_len = {3, 4, 5}};
    pb r = {buf, (const uint8_t *)buf + len, name, "ModelProto"};
    pb_field f;
    int rc;
    const char *what = llq_sniff_text(buf, len);
    if (what)
        return llq_err(LLQ_EFORMAT, "%s: not a SentencePiece model: %s", name, what);
    while ((rc = pb_next(&r, &f)) > 0) {
        rc = 0;
        if (f.field == 1 || f.field == 2 || f.field == 3 || f.field == 5) {
            if ((rc = want_wire(&r, &f, 2)))
                break;
        }
        if (f.field == 1)
            rc = parse_piece(&m, f.data, f.len, name);
        else if (f.field == 2)
            rc = parse_trainer(&m, f.data, f.len, name);
        else if (f.field == 3 || f.field == 5)
            rc = parse_normalizer(&m, f.data, f.len, name, f.field == 5);
        if (rc)
            break;
    }
    if (rc == 0) {
        if (m.s.n_pieces == 0)
            rc = llq_err(LLQ_EFORMAT, "%s: not a SentencePiece model (no pieces)", name);
        else {
            m.s.pieces = m.pieces;
            m.s.piece_lens = m.lens;
            m.s.scores = m.scores;
            m.s.types = m.types;
            resolve_special(&m);
            rc = llq_tokenizer_new(out, &m.s, name);
        }
    }
    free(m.pieces);
    free(m.lens);
    free(m.scores);
    free(m.types);
    return rc;
}

int llq_tok_read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
    char *buf = NULL;
    int rc = llq_read_input(&buf, len, path, max, 0); /* a regular file; never blocks on a FIFO */
    *out = (unsigned char *)buf;
    return rc;
}

int llq_spm_load(llq_tokenizer **out, const char *path)
{
    *out = NULL;
    unsigned char *buf;
    size_t n;
    int rc = llq_tok_read_file(path, MAX_MODEL_BYTES, &buf, &n);
    if (!rc)
        rc = llq_spm_parse(out, buf, n, path);
    free(buf);
    return rc;
}

/* A tiktoken file starts with a line "base64 rank". */
static int looks_tiktoken(const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (i < n && (isalnum(b[i]) || b[i] == '+' || b[i] == '/' || b[i] == '='))
        i++;
    if (i == 0 || i >= n || b[i] != ' ')
        return 0;
    size_t d = ++i;
    while (i < n && isdigit(b[i]))
        i++;
    return i > d && (i == n || b[i] == '\n' || b[i] == '\r');
}

int llq_tokenizer_load(llq_tokenizer **out, const char *path)
{
    return llq_tokenizer_load_ex(out, path, LLQ_TIKTOKEN_LLAMA3);
}

int llq_tokenizer_load_ex(llq_tokenizer **out, const char *path, int tiktoken_names)
{
    *out = NULL;
    unsigned char *buf = NULL, *cfg = NULL;
    size_t n, cn = 0, i = 0;
    char *cfg_path = NULL;
    int rc = llq_tok_read_file(path, (size_t)512 << 20, &buf, &n);
    if (rc)
        return rc;
    while (i < n && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
        i++;
    if (i < n && buf[i] == '{') {
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
        struct stat st;
        cfg_path = malloc(dl + sizeof "tokenizer_config.json");
        if (!cfg_path) {
            rc = llq_err(LLQ_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(cfg_path, path, dl);
        memcpy(cfg_path + dl, "tokenizer_config.json", sizeof "tokenizer_config.json");
        if (stat(cfg_path, &st) == 0 && (rc = llq_tok_read_file(cfg_path, (size_t)64 << 20, &cfg, &cn)))
            goto done;
        rc = llq_hf_parse(out, buf, n, cfg, cn, path);
    } else if (looks_tiktoken(buf, n)) {
        rc = llq_tiktoken_parse(out, buf, n, tiktoken_names, path);
    } else {
        rc = n > MAX_MODEL_BYTES ? llq_err(LLQ_ELIMIT, "%s: too large for a SentencePiece model", path)
                                 : llq_spm_parse(out, buf, n, path);
    }
done:
    free(buf);
    free(cfg);
    free(cfg_path);
    return rc;
}
