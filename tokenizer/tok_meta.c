/* tok_meta.c — the tokenizer in .llq metadata (docs/FORMAT.md section 6): written by llq-convert,
 * read back by every tool, so that no tokenizer.model is needed after conversion. */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

#define K(name) "tokenizer." name

int llq_tokenizer_write_meta(const llq_tokenizer *t, llq_writer *w)
{
    const llq_tok_spec *s = &t->spec;
    int rc = llq_writer_meta_str(w, K("model"), "sentencepiece", strlen("sentencepiece"));
    if (!rc)
        rc = llq_writer_meta_u32(w, K("spm.model_type"), s->model_type);
    if (!rc)
        rc = llq_writer_meta_arr_str(w, K("pieces"), t->pieces, t->lens, s->n_pieces);
    if (!rc)
        rc = llq_writer_meta_arr(w, K("scores"), LLQ_META_F32, t->scores, s->n_pieces);
    if (!rc)
        rc = llq_writer_meta_arr(w, K("types"), LLQ_META_I32, t->types, s->n_pieces);
    const char *idk[4] = {K("unk_id"), K("bos_id"), K("eos_id"), K("pad_id")};
    const int32_t ids[4] = {s->unk_id, s->bos_id, s->eos_id, s->pad_id};
    for (int i = 0; i < 4 && !rc; i++)
        rc = llq_writer_meta_i32(w, idk[i], ids[i]);
    const char *fk[6] = {K("add_dummy_prefix"), K("remove_extra_whitespaces"), K("escape_whitespaces"),
                         K("byte_fallback"),    K("split_digits"),             K("split_by_whitespace")};
    const int fv[6] = {s->add_dummy_prefix, s->remove_extra_whitespaces, s->escape_whitespaces,
                       s->byte_fallback,    s->split_digits,             s->split_by_whitespace};
    for (int i = 0; i < 6 && !rc; i++)
        rc = llq_writer_meta_bool(w, fk[i], fv[i] != 0);
    if (!rc)
        rc = llq_writer_meta_str(w, K("normalizer"), t->normalizer, strlen(t->normalizer));
    if (!rc)
        rc = llq_writer_meta_str(w, K("unk_surface"), t->unk_surface, strlen(t->unk_surface));
    return rc;
}

/* A required key: ENOTFOUND becomes a format error naming the key. */
static int need(int rc, const llq_file *f, const char *key)
{
    if (rc == LLQ_ENOTFOUND)
        return llq_err(LLQ_EFORMAT, "%s: tokenizer metadata '%s' is missing", llq_file_path(f), key);
    return rc;
}

/* The array key, checked to hold n elements of elem_type. */
static int get_array(const llq_meta **out, const llq_file *f, const char *key, uint32_t elem_type, uint64_t n)
{
    const llq_meta *m = llq_meta_find(f, key);
    *out = m;
    if (!m)
        return need(LLQ_ENOTFOUND, f, key);
    if (m->type != LLQ_META_ARR || m->elem_type != elem_type)
        return llq_err(LLQ_EFORMAT, "%s: tokenizer metadata '%s' has the wrong type", llq_file_path(f), key);
    if (n != UINT64_MAX && m->count != n)
        return llq_err(LLQ_EFORMAT, "%s: '%s' has %llu elements but tokenizer.pieces has %llu", llq_file_path(f),
                       key, (unsigned long long)m->count, (unsigned long long)n);
    return 0;
}

int llq_tokenizer_from_llq(llq_tokenizer **out, const llq_file *f)
{
    *out = NULL;
    const char *path = llq_file_path(f), *str;
    uint64_t slen;
    llq_tok_spec s = {0};
    const char **pieces = NULL;
    uint64_t *lens = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    int rc = llq_meta_get_str(f, K("model"), &str, &slen);
    if (rc == LLQ_ENOTFOUND) {
        return llq_err(LLQ_ENOTFOUND, "%s: no tokenizer in this file (tokenizer.model missing)", path);
    } else if (rc) {
        return rc;
    }
    if (slen != strlen("sentencepiece") || memcmp(str, "sentencepiece", slen) != 0)
        return llq_err(LLQ_EUNSUPPORTED, "%s: tokenizer.model '%.*s' is not supported (only sentencepiece)", path,
                       (int)(slen > 64 ? 64 : slen), str);
    const llq_meta *mp, *ms, *mt;
    if ((rc = need(llq_meta_get_u32(f, K("spm.model_type"), &s.model_type), f, K("spm.model_type"))) ||
        (rc = get_array(&mp, f, K("pieces"), LLQ_META_STR, UINT64_MAX)))
        return rc;
    if (mp->count == 0 || mp->count > LLQ_TOK_MAX_VOCAB)
        return llq_err(mp->count ? LLQ_ELIMIT : LLQ_EFORMAT, "%s: tokenizer.pieces has %llu entries (1..%u allowed)",
                       path, (unsigned long long)mp->count, LLQ_TOK_MAX_VOCAB);
    if ((rc = get_array(&ms, f, K("scores"), LLQ_META_F32, mp->count)) ||
        (rc = get_array(&mt, f, K("types"), LLQ_META_I32, mp->count)))
        return rc;
    const char *idk[4] = {K("unk_id"), K("bos_id"), K("eos_id"), K("pad_id")};
    int32_t *idv[4] = {&s.unk_id, &s.bos_id, &s.eos_id, &s.pad_id};
    for (int i = 0; i < 4; i++)
        if ((rc = need(llq_meta_get_i32(f, idk[i], idv[i]), f, idk[i])))
            return rc;
    const char *fk[6] = {K("add_dummy_prefix"), K("remove_extra_whitespaces"), K("escape_whitespaces"),
                         K("byte_fallback"),    K("split_digits"),             K("split_by_whitespace")};
    int *fv[6] = {&s.add_dummy_prefix, &s.remove_extra_whitespaces, &s.escape_whitespaces,
                  &s.byte_fallback,    &s.split_digits,             &s.split_by_whitespace};
    for (int i = 0; i < 6; i++)
        if ((rc = need(llq_meta_get_bool(f, fk[i], fv[i]), f, fk[i])))
            return rc;
    if ((rc = need(llq_meta_get_str(f, K("normalizer"), &s.normalizer, &slen), f, K("normalizer"))))
        return rc;
    s.normalizer_len = (size_t)slen;
    s.unk_surface = " \xe2\x81\x87 "; /* optional: sentencepiece's default */
    s.unk_surface_len = 5;
    rc = llq_meta_get_str(f, K("unk_surface"), &s.unk_surface, &slen);
    if (rc && rc != LLQ_ENOTFOUND)
        return rc;
    if (!rc)
        s.unk_surface_len = (size_t)slen;

    s.n_pieces = (uint32_t)mp->count;
    pieces = malloc(s.n_pieces * sizeof *pieces);
    lens = malloc(s.n_pieces * sizeof *lens);
    scores = malloc(s.n_pieces * sizeof *scores);
    types = malloc(s.n_pieces * sizeof *types);
    if (!pieces || !lens || !scores || !types) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory reading the tokenizer", path);
        goto done;
    }
    for (uint32_t i = 0; i < s.n_pieces; i++) {
        if ((rc = llq_meta_arr_str(mp, i, &pieces[i], &lens[i])))
            goto done;
        scores[i] = (float)llq_meta_arr_num(ms, i);
        types[i] = (int32_t)llq_meta_arr_num(mt, i);
    }
    s.pieces = pieces;
    s.piece_lens = lens;
    s.scores = scores;
    s.types = types;
    rc = llq_tokenizer_new(out, &s, path);
done:
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    return rc;
}
