/* convert.c — llq_convert: plans a checkpoint (layout.c), then streams each canonical tensor to the .llq writer:
 * shards joined on the fly, Hugging Face q/k rows un-permuted, elements converted exactly, one tensor in memory. */
#include "llq/convert.h"

#include "layout.h"
#include "llq/format.h"
#include "llq/tokenizer.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


#define CHUNK (4u << 20) /* conversion buffer: bytes handed to the writer at once */

typedef struct stream {
    llq_writer *w;
    const llq_convert_opts *o;
    uint8_t *buf;
    size_t fill;
    uint32_t out_type;
    uint64_t done, total;
    const char *tname; /* the tensor being written, and how many of its elements were emitted */
    uint64_t elem;
} stream;

static int flush(stream *s)
{
    int err = s->fill ? llq_writer_write(s->w, s->buf, s->fill) : 0;
    s->done += s->fill;
    s->fill = 0;
    if (!err && s->o->progress)
        s->o->progress(s->o->progress_ctx, s->done, s->total);
    return err;
}

static int same_type(uint32_t src_dtype, uint32_t out_type)
{
    return (src_dtype == LLQ_SRC_F32 && out_type == LLQ_F32) || (src_dtype == LLQ_SRC_F16 && out_type == LLQ_F16) ||
           (src_dtype == LLQ_SRC_BF16 && out_type == LLQ_BF16);
}

/* Converted elements out[0..n) of src[0..n) that became Inf from a finite value (a narrowing past the output type's
 * range, e.g. 70000 to f16) are refused: a conversion is exact or fails, never silently Inf. */
static int check_range(const stream *s, const uint8_t *out, const uint8_t *src, uint32_t src_dtype, size_t n)
{
    uint16_t exp = s->out_type == LLQ_F16 ? 0x7c00 : 0x7f80;
    for (size_t i = 0; i < n; i++) {
        int inf;
        if (s->out_type == LLQ_F32) {
            float f;
            memcpy(&f, out + 4 * i, 4);
            inf = isinf(f);
        } else {
            uint16_t h;
            memcpy(&h, out + 2 * i, 2);
            inf = (h & 0x7fff) == exp; /* exponent all ones, mantissa 0 */
        }
        if (!inf)
            continue;
        double v;
        float f32;
        if (src_dtype == LLQ_SRC_F64) {
            memcpy(&v, src + 8 * i, 8);
        } else {
            conv_elems(&f32, LLQ_F32, src + i * llq_src_dtype_size(src_dtype), src_dtype, 1);
            v = f32;
        }
        if (isfinite(v))
            return llq_err(LLQ_EUNSUPPORTED, "tensor '%s': value %g at element %llu is beyond the range of %s "
                           "(largest %g) and would become Inf", s->tname, v,
                           (unsigned long long)(s->elem + i), llq_type_name(s->out_type),
                           s->out_type == LLQ_F16 ? 65504.0 : (double)FLT_MAX);
    }
    return LLQ_OK;
}

/* Appends n source elements (converted) to the tensor being written. */
static int emit(stream *s, const uint8_t *src, uint32_t src_dtype, uint64_t n)
{
    size_t isz = llq_src_dtype_size(src_dtype), osz = conv_type_size(s->out_type);
    int err = 0;
    if (same_type(src_dtype, s->out_type) && n * osz >= CHUNK / 4) {
        /* same type, large: straight from the mapping, in CHUNK pieces for the progress bar */
        if ((err = flush(s)))
            return err;
        for (uint64_t off = 0, len = n * osz; off < len && !err; off += CHUNK) {
            size_t k = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
            err = llq_writer_write(s->w, src + off, k);
            s->done += k;
            if (!err && s->o->progress)
                s->o->progress(s->o->progress_ctx, s->done, s->total);
        }
        return err;
    }
    while (n && !err) {
        size_t room = (CHUNK - s->fill) / osz;
        if (room == 0) {
            err = flush(s);
            continue;
        }
        size_t k = n < room ? (size_t)n : room;
        conv_elems(s->buf + s->fill, s->out_type, src, src_dtype, k);
        if (llq_src_dtype_size(src_dtype) > osz && (err = check_range(s, s->buf + s->fill, src, src_dtype, k)))
            return err;
        s->elem += k;
        s->fill += k * osz;
        src += k * isz;
        n -= k;
    }
    return err;
}

static int write_tensor(stream *s, conv_plan *p, const conv_tensor *t, uint64_t *bytes_in)
{
    const uint8_t **data = calloc(t->n_pieces, sizeof *data);
    int err = 0, pending = 0;
    uint32_t got = 0, want_crc = 0;
    size_t isz = llq_src_dtype_size(t->src_dtype);
    uint64_t rows = t->n_dims == 2 ? t->dims[0] : 1, cols = t->n_dims == 2 ? t->dims[1] : t->dims[0];
    if (t->permute_heads && t->n_dims == 1) /* a q/k bias: its elements are the rows to un-permute */
        rows = t->dims[0], cols = 1;
    if (!data)
        return llq_err(LLQ_ENOMEM, "out of memory");
    s->out_type = conv_out_type(s->o->dtype, t->src_dtype, t->n_dims);
    s->tname = t->name;
    s->elem = 0;
    for (; got < t->n_pieces; got++) {
        conv_piece c = t->pieces[got];
        const llq_src_tensor *st = llq_src_at(p->srcs[c.file], c.index);
        const void *d;
        uint64_t want;
        if (llq_mul_u64(&want, st->n_elem, isz) || st->nbytes != want) {
            err = llq_err(LLQ_EFORMAT, "%s: tensor %s: %llu bytes for %llu elements", p->files[c.file], st->name,
                          (unsigned long long)st->nbytes, (unsigned long long)st->n_elem);
            goto done;
        }
        /* bytes copied unchanged from one whole zip entry: its CRC is checked against the output's, one pass */
        if (t->n_pieces == 1 && !t->permute_heads && same_type(t->src_dtype, s->out_type))
            err = llq_src_data_pending(p->srcs[c.file], c.index, &d, &pending, &want_crc);
        else
            err = llq_src_data(p->srcs[c.file], c.index, &d);
        if (err)
            goto done;
        data[got] = d;
        *bytes_in += st->nbytes;
        if (t->split < 0 && got > 0 && memcmp(data[0], d, st->nbytes) != 0) {
            err = llq_err(LLQ_EFORMAT, "%s: shard %u has %s different from shard 0 (it must be replicated)",
                          p->files[c.file], got, st->name);
            got++;
            goto done;
        }
    }
    if ((err = llq_writer_begin(s->w, t->name, s->out_type, t->n_dims, t->dims, 0)))
        goto done;
    if (t->permute_heads) {
        uint64_t hd = rows / t->permute_heads;
        for (uint64_t r = 0; r < rows && !err; r++)
            err = emit(s, data[0] + conv_hf_row(r, hd) * cols * isz, t->src_dtype, cols);
    } else if (t->split == 1) {
        uint64_t piece_cols = cols / t->n_pieces;
        for (uint64_t r = 0; r < rows && !err; r++)
            for (uint32_t k = 0; k < t->n_pieces && !err; k++)
                err = emit(s, data[k] + r * piece_cols * isz, t->src_dtype, piece_cols);
    } else {
        uint32_t n = t->split == 0 ? t->n_pieces : 1;
        uint64_t per = rows * cols / n;
        for (uint32_t k = 0; k < n && !err; k++)
            err = emit(s, data[k], t->src_dtype, per);
    }
    if (!err)
        err = flush(s);
    if (!err)
        err = llq_writer_end(s->w);
    if (!err && pending)
        err = llq_src_check(p->srcs[t->pieces[0].file], t->pieces[0].index, llq_writer_last_crc(s->w));
done:
    for (uint32_t k = 0; k < got; k++)
        llq_src_release(p->srcs[t->pieces[k].file], t->pieces[k].index);
    free(data);
    return err;
}

/* Refuses an output path that is one of the inputs (same inode), even with --force. */
static int check_not_input(const char *out, const conv_plan *p)
{
    for (size_t i = 0; i < p->n_files + 3; i++) {
        const char *in = i < p->n_files ? p->files[i] : i == p->n_files ? p->config
                         : i == p->n_files + 1 ? p->tokenizer : p->index;
        if (llq_same_file(in, out))
            return llq_err(LLQ_EINVAL, "%s: is an input file (%s); refusing to write over it", out, in);
    }
    return 0;
}

static const char *matrix_dtype(const conv_plan *p)
{
    const char *d = NULL;
    for (size_t i = 0; i < p->n_tensors; i++) {
        if (p->tensors[i].n_dims != 2 || !p->tensors[i].n_pieces)
            continue;
        const char *n = llq_src_dtype_name(p->tensors[i].src_dtype);
        if (d && strcmp(d, n))
            return "mixed";
        d = n;
    }
    return d ? d : "f32";
}

static int write_meta(llq_writer *w, const conv_plan *p, const llq_tokenizer *tok)
{
    char conv[64], *real = realpath(p->dir, NULL);
    const char *files[CONV_MAX_FILES + 3];
    uint64_t lens[CONV_MAX_FILES + 3];
    uint64_t n = 0;
    int err;
    snprintf(conv, sizeof conv, "llq-convert %s", llq_version());
    files[n++] = conv_base_name(p->config);
    if (p->index)
        files[n++] = conv_base_name(p->index);
    if (tok)
        files[n++] = conv_base_name(p->tokenizer);
    for (size_t i = 0; i < p->n_files; i++)
        files[n++] = conv_base_name(p->files[i]);
    for (uint64_t i = 0; i < n; i++)
        lens[i] = strlen(files[i]);
    const char *name = conv_base_name(real ? real : p->dir), *dtype = matrix_dtype(p);
    const char *layout = p->layout == LLQ_LAYOUT_META ? "meta" : "hf";
    if ((err = llq_hparams_write(w, &p->hp)) || (name[0] && (err = llq_writer_meta_str(w, "general.name", name, strlen(name)))) ||
        (err = llq_writer_meta_str(w, "provenance.converter", conv, strlen(conv))) ||
        (err = llq_writer_meta_str(w, "provenance.source_layout", layout, strlen(layout))) ||
        (err = llq_writer_meta_arr_str(w, "provenance.source_files", files, lens, n)) ||
        (err = llq_writer_meta_str(w, "provenance.source_dtype", dtype, strlen(dtype))))
        goto done;
    if (tok)
        err = llq_tokenizer_write_meta(tok, w);
done:
    free(real);
    return err;
}

/* Meta's params.json names no EOS ids: for a tiktoken tokenizer, the stop tokens of Meta's reference code
 * (llama3: end_of_text, eot_id; llama-models 3.1+: also eom_id), as Hugging Face's configs of the same models list
 * them. Looked up by name among the special tokens that follow the ranks. */
static void tiktoken_stop_ids(llq_hparams *hp, const llq_tokenizer *tok)
{
    static const char *const stop[] = {"<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"};
    uint32_t n = llq_tokenizer_n_vocab(tok);
    for (size_t k = 0; k < sizeof stop / sizeof *stop; k++)
        for (uint32_t id = n > 256 ? n - 256 : 0; id < n && hp->n_eos < LLQ_MAX_EOS; id++) {
            size_t len;
            const char *piece = llq_token_piece(tok, id, &len);
            if (piece && len == strlen(stop[k]) && !memcmp(piece, stop[k], len)) {
                hp->eos_ids[hp->n_eos++] = id;
                break;
            }
        }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int llq_convert(const llq_convert_opts *o, llq_convert_report *rep)
{
    conv_plan p;
    llq_tokenizer *tok = NULL;
    llq_writer *w = NULL;
    stream s = {0};
    uint64_t bytes_in = 0;
    uint32_t rep_tensors = 0;
    double t0 = now();
    int err;
    memset(&p, 0, sizeof p);
    if (!o || !o->out || !o->out[0])
        return llq_err(LLQ_EINVAL, "no output file given");
    if (o->dtype != LLQ_CONVERT_KEEP && o->dtype != LLQ_F32 && o->dtype != LLQ_F16 && o->dtype != LLQ_BF16)
        return llq_err(LLQ_EINVAL, "output dtype must be f32, f16 or bf16");
    if ((err = llq_output_check(o->out, (o->flags & LLQ_CONVERT_FORCE) ? LLQ_W_FORCE : 0, NULL)))
        return err;
    if (o->src && (conv_opens_as_llq(o->src) || conv_is_gguf_path(o->out))) {
        llq_gguf_report g = {0};
        if ((err = conv_repack(o, rep, &g)))
            return err;
        if (rep) {
            rep->gguf = conv_is_gguf_path(o->out);
            rep->gg = g;
            rep->seconds = now() - t0;
        }
        return LLQ_OK;
    }
    if ((err = conv_plan_find(&p, o)))
        goto done;
    if (!p.tokenizer && !(o->flags & LLQ_CONVERT_NO_TOKENIZER)) {
        err = llq_err(LLQ_ENOTFOUND, "%s: no tokenizer.model or tokenizer.json beside the checkpoint (converting "
                      "without one must be asked for)", p.dir);
        goto done;
    }
    /* A tiktoken tokenizer.model names its 256 special tokens as Meta's code for the model does: the llama3 rope
     * scaling (params.json use_scaled_rope, config.json rope_type llama3) is what Llama-3.1+ adds to Llama-3 */
    if (p.tokenizer && (err = llq_tokenizer_load_ex(&tok, p.tokenizer,
                                                     p.hp.rope_scaling == LLQ_ROPE_LLAMA3 ? LLQ_TIKTOKEN_LLAMA31
                                                                                          : LLQ_TIKTOKEN_LLAMA3)))
        goto done;
    if (tok && !p.hp.n_eos && !strcmp(llq_tokenizer_kind(tok), "tiktoken"))
        tiktoken_stop_ids(&p.hp, tok);
    if ((err = conv_plan_open(&p, tok ? llq_tokenizer_n_vocab(tok) : 0)))
        goto done;
    if (o->context_length)
        p.hp.context_length = o->context_length;
    if (tok && llq_tokenizer_n_vocab(tok) > p.hp.vocab_size) {
        err = llq_err(LLQ_EFORMAT, "%s: %u pieces, more than the model's %u embedding rows", p.tokenizer,
                      llq_tokenizer_n_vocab(tok), p.hp.vocab_size);
        goto done;
    }
    if ((err = check_not_input(o->out, &p)))
        goto done;
    for (size_t i = 0; i < p.n_tensors; i++) {
        const conv_tensor *t = &p.tensors[i];
        if (!t->n_pieces) /* not in this model (biases, a tied output head) */
            continue;
        rep_tensors++;
        uint64_t n = t->n_dims == 2 ? t->dims[0] * t->dims[1] : t->dims[0];
        s.total += n * conv_type_size(conv_out_type(o->dtype, t->src_dtype, t->n_dims));
    }
    if (!(s.buf = malloc(CHUNK))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    if (o->before_temp)
        o->before_temp();
    if ((err = llq_writer_open(&w, o->out, (o->flags & LLQ_CONVERT_FORCE) ? LLQ_W_FORCE : 0)))
        goto done;
    if (o->on_temp)
        o->on_temp(llq_writer_temp_path(w));
    if ((err = write_meta(w, &p, tok)))
        goto done;
    s.w = w;
    s.o = o;
    for (size_t i = 0; i < p.n_tensors && !err; i++)
        if (p.tensors[i].n_pieces)
            err = write_tensor(&s, &p, &p.tensors[i], &bytes_in);
    if (err || (err = llq_writer_commit(w)))
        goto done;
    if (rep) {
        struct stat st;
        memset(rep, 0, sizeof *rep);
        snprintf(rep->layout, sizeof rep->layout, "%s", p.layout == LLQ_LAYOUT_META ? "meta" : "hf");
        snprintf(rep->src_format, sizeof rep->src_format, "%s", llq_src_format(p.srcs[0]));
        snprintf(rep->src_dtype, sizeof rep->src_dtype, "%s", matrix_dtype(&p));
        snprintf(rep->out_dtype, sizeof rep->out_dtype, "%s",
                 llq_type_name(conv_out_type(o->dtype, p.tensors[0].src_dtype, 2)));
        rep->n_files = (uint32_t)p.n_files;
        rep->n_tensors = rep_tensors;
        rep->n_dropped = p.n_dropped;
        rep->tokenizer = tok != NULL;
        rep->tok_pieces = tok ? llq_tokenizer_n_vocab(tok) : 0;
        rep->tied_lm_head = p.tied_lm_head;
        rep->bytes_in = bytes_in;
        rep->bytes_out = s.done;
        rep->file_size = stat(o->out, &st) == 0 ? (uint64_t)st.st_size : 0;
        rep->hp = p.hp;
    }
done:
    if (w && o->on_temp)
        o->on_temp(NULL);
    llq_writer_free(w);
    llq_tokenizer_free(tok);
    conv_plan_free(&p);
    free(s.buf);
    if (!err && rep)
        rep->seconds = now() - t0;
    return err;
}
