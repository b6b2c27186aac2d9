/* tok_meta.c — the tokenizer in .llq metadata (docs/FORMAT.md section 6): written by llq-convert,
 * read back by every tool, so that no tokenizer.model is needed after conversion. */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

#define K(name) "tokenizer." name

int llq_tokenizer_write_meta(const llq_tokenizer *t, llq_writer *w)
{
    if (t->bpe)
        return llq_bpe_write_meta(t, w);
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
    if (slen == 3 && memcmp(str, "bpe", 3) == 0)
        return llq_bpe_from_llq(out, f, str, (size_t)slen);
    if (slen != strlen("sentencepiece") || memcmp(str, "sentencepiece", slen) != 0)
        return llq_err(LLQ_EUNSUPPORTED, "%s: tokenizer.model '%.*s' is not supported (sentencepiece, bpe)", path,
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

/* ---- BPE (tokenizer.json, tiktoken): format 1.1 ---- */

static const char *const kBpeFlags[5] = {K("bpe.rank_merges"), K("bpe.byte_level"), K("bpe.ignore_merges"),
                                         K("bpe.byte_fallback"), K("bpe.fuse_unk")};

int llq_bpe_write_meta(const llq_tokenizer *t, llq_writer *w)
{
    const llq_bpe_spec *s = llq_bpe_get_spec(t);
    const char *kind = s->kind == LLQ_TOKKIND_TIKTOKEN ? "tiktoken" : "tokenizer.json";
    int rc = llq_writer_meta_str(w, K("model"), "bpe", 3);
    if (!rc)
        rc = llq_writer_meta_str(w, K("bpe.source"), kind, strlen(kind));
    if (!rc)
        rc = llq_writer_meta_arr_str(w, K("pieces"), t->pieces, t->lens, s->n_vocab);
    if (!rc)
        rc = llq_writer_meta_arr(w, K("types"), LLQ_META_I32, t->types, s->n_vocab);
    const char *idk[4] = {K("unk_id"), K("bos_id"), K("eos_id"), K("pad_id")};
    const int32_t ids[4] = {s->unk_id, s->bos_id, s->eos_id, s->pad_id};
    for (int i = 0; i < 4 && !rc; i++)
        rc = llq_writer_meta_i32(w, idk[i], ids[i]);
    const int fv[5] = {s->rank_merges, s->byte_level, s->ignore_merges, s->byte_fallback, s->fuse_unk};
    for (int i = 0; i < 5 && !rc; i++)
        rc = llq_writer_meta_bool(w, kBpeFlags[i], fv[i] != 0);
    if (!rc && !s->rank_merges)
        rc = llq_writer_meta_arr(w, K("bpe.merges"), LLQ_META_U32, s->merges ? (const void *)s->merges : "",
                                 2 * (uint64_t)s->n_merges);
    if (!rc)
        rc = llq_writer_meta_arr(w, K("bpe.added_ids"), LLQ_META_U32, s->added_ids, s->n_added);
    if (!rc)
        rc = llq_writer_meta_arr(w, K("bpe.added_flags"), LLQ_META_U32, s->added_flags, s->n_added);
    const char *jk[3] = {K("bpe.normalizer"), K("bpe.pre_tokenizer"), K("bpe.decoder")};
    const char *jv[3] = {s->normalizer, s->pre_tokenizer, s->decoder};
    for (int i = 0; i < 3 && !rc; i++)
        rc = llq_writer_meta_str(w, jk[i], jv[i], strlen(jv[i]));
    return rc;
}

/* A string key as a NUL-terminated copy (no NUL inside). */
static int get_cstr(char **out, const llq_file *f, const char *key)
{
    const char *s;
    uint64_t n;
    int rc = need(llq_meta_get_str(f, key, &s, &n), f, key);
    if (rc)
        return rc;
    if (memchr(s, 0, (size_t)n))
        return llq_err(LLQ_EFORMAT, "%s: '%s' holds a NUL byte", llq_file_path(f), key);
    if (!(*out = malloc((size_t)n + 1)))
        return llq_err(LLQ_ENOMEM, "%s: out of memory", llq_file_path(f));
    memcpy(*out, s, (size_t)n);
    (*out)[n] = 0;
    return 0;
}

/* A numeric array of at most max elements, as u32 (each element must be an integer in range). */
static int get_u32s(uint32_t **out, uint64_t *count, const llq_file *f, const char *key, uint64_t max)
{
    const llq_meta *m;
    int rc = get_array(&m, f, key, LLQ_META_U32, UINT64_MAX);
    if (rc)
        return rc;
    if (m->count > max)
        return llq_err(LLQ_ELIMIT, "%s: '%s' has %llu elements", llq_file_path(f), key, (unsigned long long)m->count);
    *count = m->count;
    if (!(*out = malloc((m->count ? m->count : 1) * sizeof **out)))
        return llq_err(LLQ_ENOMEM, "%s: out of memory", llq_file_path(f));
    for (uint64_t i = 0; i < m->count; i++)
        (*out)[i] = (uint32_t)llq_meta_arr_num(m, i);
    return 0;
}

int llq_bpe_from_llq(llq_tokenizer **out, const llq_file *f, const char *model, size_t model_len)
{
    (void)model;
    (void)model_len;
    const char *path = llq_file_path(f), *src;
    uint64_t slen, n_merge_words = 0, n_ids = 0, n_flags = 0;
    llq_bpe_spec s = {0};
    const char **pieces = NULL;
    uint64_t *lens = NULL;
    int32_t *types = NULL;
    uint32_t *merges = NULL, *added = NULL, *flags = NULL;
    char *js[3] = {NULL, NULL, NULL};
    const llq_meta *mp, *mt;
    int rc = need(llq_meta_get_str(f, K("bpe.source"), &src, &slen), f, K("bpe.source"));
    if (rc)
        goto done;
    if (slen == 8 && memcmp(src, "tiktoken", 8) == 0) {
        s.kind = LLQ_TOKKIND_TIKTOKEN;
    } else if (slen == 14 && memcmp(src, "tokenizer.json", 14) == 0) {
        s.kind = LLQ_TOKKIND_HF;
    } else {
        rc = llq_err(LLQ_EUNSUPPORTED, "%s: tokenizer.bpe.source '%.*s' is not supported", path,
                     (int)(slen > 64 ? 64 : slen), src);
        goto done;
    }
    if ((rc = get_array(&mp, f, K("pieces"), LLQ_META_STR, UINT64_MAX)))
        goto done;
    if (mp->count == 0 || mp->count > LLQ_TOK_MAX_VOCAB) {
        rc = llq_err(mp->count ? LLQ_ELIMIT : LLQ_EFORMAT, "%s: tokenizer.pieces has %llu entries (1..%u allowed)",
                     path, (unsigned long long)mp->count, LLQ_TOK_MAX_VOCAB);
        goto done;
    }
    if ((rc = get_array(&mt, f, K("types"), LLQ_META_I32, mp->count)))
        goto done;
    const char *idk[4] = {K("unk_id"), K("bos_id"), K("eos_id"), K("pad_id")};
    int32_t *idv[4] = {&s.unk_id, &s.bos_id, &s.eos_id, &s.pad_id};
    for (int i = 0; i < 4; i++)
        if ((rc = need(llq_meta_get_i32(f, idk[i], idv[i]), f, idk[i])))
            goto done;
    int *fv[5] = {&s.rank_merges, &s.byte_level, &s.ignore_merges, &s.byte_fallback, &s.fuse_unk};
    for (int i = 0; i < 5; i++)
        if ((rc = need(llq_meta_get_bool(f, kBpeFlags[i], fv[i]), f, kBpeFlags[i])))
            goto done;
    if (!s.rank_merges) {
        if ((rc = get_u32s(&merges, &n_merge_words, f, K("bpe.merges"), 8 * (uint64_t)LLQ_TOK_MAX_VOCAB)))
            goto done;
        if (n_merge_words % 2) {
            rc = llq_err(LLQ_EFORMAT, "%s: tokenizer.bpe.merges has an odd number of ids", path);
            goto done;
        }
    }
    if ((rc = get_u32s(&added, &n_ids, f, K("bpe.added_ids"), mp->count)) ||
        (rc = get_u32s(&flags, &n_flags, f, K("bpe.added_flags"), mp->count)))
        goto done;
    if (n_ids != n_flags) {
        rc = llq_err(LLQ_EFORMAT, "%s: tokenizer.bpe.added_ids and added_flags differ in length", path);
        goto done;
    }
    const char *jk[3] = {K("bpe.normalizer"), K("bpe.pre_tokenizer"), K("bpe.decoder")};
    for (int i = 0; i < 3; i++)
        if ((rc = get_cstr(&js[i], f, jk[i])))
            goto done;
    s.n_vocab = (uint32_t)mp->count;
    pieces = malloc(s.n_vocab * sizeof *pieces);
    lens = malloc(s.n_vocab * sizeof *lens);
    types = malloc(s.n_vocab * sizeof *types);
    if (!pieces || !lens || !types) {
        rc = llq_err(LLQ_ENOMEM, "%s: out of memory reading the tokenizer", path);
        goto done;
    }
    for (uint32_t i = 0; i < s.n_vocab; i++) {
        if ((rc = llq_meta_arr_str(mp, i, &pieces[i], &lens[i])))
            goto done;
        types[i] = (int32_t)llq_meta_arr_num(mt, i);
    }
    s.pieces = pieces;
    s.lens = lens;
    s.types = types;
    s.n_merges = (uint32_t)(n_merge_words / 2);
    s.merges = merges;
    s.n_added = (uint32_t)n_ids;
    s.added_ids = added;
    s.added_flags = flags;
    s.normalizer = js[0];
    s.pre_tokenizer = js[1];
    s.decoder = js[2];
    rc = llq_bpe_new(out, &s, path);
done:
    free(pieces);
    free(lens);
    free(types);
    free(merges);
    free(added);
    free(flags);
    for (int i = 0; i < 3; i++)
        free(js[i]);
    return rc;
}
