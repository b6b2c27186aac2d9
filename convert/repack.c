/* repack.c — llq_convert for a source that llq_open reads (a .llq file or a GGUF file) and for a .gguf output:
 * .gguf -> .llq copies every tensor's bytes (llq types as the GGUF view has them) or, with a dtype, dequantizes them
 * exactly (llq_row_to_f32) and rounds once; any -> .gguf goes through llq_gguf_write (a checkpoint through a
 * temporary .llq beside the output first). */
#include "layout.h"
#include "llq/convert.h"
#include "llq/format.h"
#include "llq/gguf.h"
#include "llq/tokenizer.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int conv_is_gguf_path(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".gguf") == 0;
}

/* 1 if path is a regular file starting with the .llq or GGUF magic (what llq_open reads). */
int conv_opens_as_llq(const char *path)
{
    unsigned char m[4] = {0};
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t k = read(fd, m, 4);
    close(fd);
    return k == 4 && (!memcmp(m, "\x89LLQ", 4) || !memcmp(m, "GGUF", 4));
}

/* f's tensors (and metadata) to a .llq file. */
static int write_llq(const llq_file *f, const llq_convert_opts *o, uint64_t *bytes_out)
{
    llq_writer *w = NULL;
    float *row = NULL;
    uint8_t *buf = NULL;
    uint64_t total = 0, done = 0, maxrow = 1;
    int rc;
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        total += t->size;
        maxrow = t->row_len > maxrow ? t->row_len : maxrow;
    }
    if (o->dtype != LLQ_CONVERT_KEEP &&
        (!(row = malloc((size_t)maxrow * sizeof *row)) || !(buf = malloc((size_t)maxrow * 4)))) {
        rc = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = llq_writer_open(&w, o->out, (o->flags & LLQ_CONVERT_FORCE) ? LLQ_W_FORCE : 0)))
        goto done;
    if (o->on_temp)
        o->on_temp(llq_writer_temp_path(w));
    for (size_t i = 0; i < llq_n_meta(f); i++)
        if ((rc = llq_writer_meta_copy(w, llq_meta_at(f, i))) < 0)
            goto done;
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        uint32_t type = o->dtype == LLQ_CONVERT_KEEP ? t->type : o->dtype;
        if ((rc = llq_writer_begin(w, t->name, type, t->n_dims, t->dims, type == t->type ? t->group : 0)))
            goto done;
        if (type == t->type) {
            rc = llq_writer_write(w, t->data, (size_t)t->size);
        } else {
            for (uint64_t r = 0; !rc && r < t->n_rows; r++) {
                llq_row_to_f32(row, (const uint8_t *)t->data + r * t->row_bytes, t->type, t->group, t->row_len);
                conv_elems(buf, type, row, LLQ_SRC_F32, (size_t)t->row_len);
                rc = llq_writer_write(w, buf, (size_t)t->row_len * conv_type_size(type));
            }
        }
        if (rc || (rc = llq_writer_end(w)))
            goto done;
        llq_drop_pages(f, t->data, t->size);
        done += t->size;
        if (o->progress)
            o->progress(o->progress_ctx, done, total);
    }
    rc = llq_writer_commit(w);
    *bytes_out = done;
done:
    if (w && o->on_temp)
        o->on_temp(NULL);
    llq_writer_free(w);
    free(row);
    free(buf);
    return rc;
}

static void fill_report(llq_convert_report *rep, const llq_file *f, const char *out, uint64_t bytes, uint32_t dtype)
{
    struct stat st;
    const char *fmt = llq_file_format(f);
    memset(rep, 0, sizeof *rep);
    snprintf(rep->layout, sizeof rep->layout, "%s", fmt);
    snprintf(rep->src_format, sizeof rep->src_format, "%s", fmt);
    const llq_tensor *t = llq_tensor_find(f, "layers.0.attention.wq.weight");
    const char *tn = t ? llq_type_name(t->type) : NULL;
    snprintf(rep->src_dtype, sizeof rep->src_dtype, "%s", tn ? tn : "?");
    snprintf(rep->out_dtype, sizeof rep->out_dtype, "%s",
             dtype == LLQ_CONVERT_KEEP ? rep->src_dtype : llq_type_name(dtype));
    rep->n_files = 1;
    rep->n_tensors = (uint32_t)llq_n_tensors(f);
    rep->tokenizer = llq_meta_find(f, "tokenizer.model") != NULL;
    llq_tokenizer *tok = NULL; /* counted as the tokenizer counts them (a BPE file has no tokenizer.pieces) */
    int tok_ok = rep->tokenizer && llq_tokenizer_from_llq(&tok, f) == LLQ_OK;
    if (tok_ok)
        rep->tok_pieces = llq_tokenizer_n_vocab(tok);
    llq_tokenizer_free(tok);
    rep->bytes_in = bytes;
    rep->bytes_out = bytes;
    rep->file_size = stat(out, &st) == 0 ? (uint64_t)st.st_size : 0;
    llq_hparams_read(&rep->hp, f);
    if (rep->tokenizer && !tok_ok) /* not readable as a tokenizer here (the copy did not need it): no count */
        rep->tok_pieces = rep->hp.vocab_size;
}

int conv_repack(const llq_convert_opts *o, llq_convert_report *rep, llq_gguf_report *grep)
{
    llq_file *f = NULL;
    llq_convert_opts tmp = *o;
    char *tmp_llq = NULL;
    uint64_t bytes = 0;
    int rc = LLQ_OK;
    int to_gguf = conv_is_gguf_path(o->out);
    if (llq_same_file(o->src, o->out))
        return llq_err(LLQ_EINVAL, "%s: is the input file; refusing to write over it", o->out);
    if (!conv_opens_as_llq(o->src)) { /* a checkpoint to .gguf: convert to a temporary .llq first */
        size_t n = strlen(o->out) + 16;
        if (!(tmp_llq = malloc(n)))
            return llq_err(LLQ_ENOMEM, "out of memory");
        snprintf(tmp_llq, n, "%s.tmp-llq", o->out);
        tmp.out = tmp_llq;
        tmp.flags |= LLQ_CONVERT_FORCE;
        if ((rc = llq_convert(&tmp, rep)))
            goto done;
        tmp.src = tmp_llq;
    } else if (!to_gguf && !(o->flags & LLQ_CONVERT_FORCE) && access(o->out, F_OK) == 0) {
        return llq_err(LLQ_EEXIST, "%s: already exists", o->out);
    }
    if ((rc = llq_open(&f, tmp.src)))
        goto done;
    if (to_gguf) {
        llq_gguf_opts g = {.out = o->out, .flags = (o->flags & LLQ_CONVERT_FORCE) ? LLQ_W_FORCE : 0,
                           .progress = o->progress, .progress_ctx = o->progress_ctx, .on_temp = o->on_temp,
                           .lean = (o->flags & LLQ_CONVERT_LEAN) != 0};
        if (o->dtype != LLQ_CONVERT_KEEP && !tmp_llq) { /* a checkpoint took it in its conversion */
            rc = llq_err(LLQ_EINVAL, "a dtype change applies to .llq outputs (convert to .llq with it, then to .gguf)");
            goto done;
        }
        if ((rc = llq_gguf_write(f, &g, grep)))
            goto done;
        bytes = grep ? grep->data_bytes : 0;
    } else if ((rc = write_llq(f, o, &bytes))) {
        goto done;
    }
    if (rep && !tmp_llq)
        fill_report(rep, f, o->out, bytes, o->dtype);
    else if (rep) {
        struct stat st;
        rep->file_size = stat(o->out, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
done:
    llq_close(f);
    if (tmp_llq)
        unlink(tmp_llq);
    free(tmp_llq);
    return rc;
}
