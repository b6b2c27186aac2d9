/* quantize.c — llq_quantize_file: a whole model file quantized (include/llq/quant.h): plan, optional
 * calibration, metadata copy with the quant.* recipe, streaming of every tensor. */
#include "llq/calib.h"
#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/kernels.h"
#include "llq/quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *method_name(unsigned methods)
{
    switch (methods & (LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ)) {
    case LLQ_CALIB_AWQ: return "awq";
    case LLQ_CALIB_GPTQ: return "gptq";
    case LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ: return "awq+gptq";
    default: return "rtn";
    }
}

/* Whether paths a and b name the same existing file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The policy's rules as given ("GLOB=TYPE[:GROUP]", comma-separated): the quant.keep value. */
static void keep_string(char *buf, size_t cap, const llq_quant_policy *p)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < p->n_rules && k < cap; i++) {
        const llq_quant_rule *r = &p->rules[i];
        char g[16] = "";
        if (r->has_group && r->group)
            snprintf(g, sizeof g, ":%u", r->group);
        else if (r->has_group)
            snprintf(g, sizeof g, ":row");
        int w = snprintf(buf + k, cap - k, "%s%s=%s%s", k ? "," : "", r->glob, llq_type_name(r->type), g);
        k = w > 0 && (size_t)w < cap - k ? k + (size_t)w : cap;
    }
}

/* The recipe keys (docs/QUANTIZATION.md "Recipe metadata"). */
static int put_recipe(llq_writer *w, const llq_quantize_opts *o, const llq_calib_result *cr)
{
    char name[64], keep[1024];
    snprintf(name, sizeof name, "llq-quantize %s", llq_version());
    keep_string(keep, sizeof keep, o->policy);
    const char *mn = method_name(o->methods);
    const char *tn = o->policy->preset ? llq_preset_name(o->policy->preset) : llq_type_name(o->policy->type);
    int err = llq_writer_meta_str(w, "quant.method", mn, strlen(mn));
    if (!err) err = llq_writer_meta_str(w, "quant.type", tn, strlen(tn));
    if (!err) err = llq_writer_meta_u32(w, "quant.group", o->policy->group);
    if (!err) err = llq_writer_meta_u64(w, "quant.seed", o->seed);
    if (!err) err = llq_writer_meta_bool(w, "quant.search", !o->no_search);
    if (!err) err = llq_writer_meta_str(w, "quant.keep", keep, strlen(keep));
    if (!err) err = llq_writer_meta_str(w, "quant.quantizer", name, strlen(name));
    if (!err && cr) {
        const char *base = strrchr(o->calib_text, '/') ? strrchr(o->calib_text, '/') + 1 : o->calib_text;
        err = llq_writer_meta_str(w, "quant.calib.file", base, strlen(base));
        if (!err) err = llq_writer_meta_u64(w, "quant.calib.bytes", cr->text_bytes);
        if (!err) err = llq_writer_meta_u64(w, "quant.calib.tokens", cr->text_tokens);
        if (!err) err = llq_writer_meta_u32(w, "quant.calib.samples", cr->n_samples);
        if (!err) err = llq_writer_meta_u32(w, "quant.calib.ctx", cr->ctx);
    }
    return err;
}

static void encode_plain(uint8_t *dst, const float *x, uint64_t n, uint32_t type)
{
    if (type == LLQ_F32) {
        memcpy(dst, x, n * 4);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint16_t h = type == LLQ_F16 ? llq_f32_to_f16(x[i]) : llq_f32_to_bf16(x[i]);
        dst[2 * i] = (uint8_t)h;
        dst[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

/* Streams one tensor into the writer converted to p (rows in chunks of about 64 MB of f32). rep's RTN time and
 * f32 bytes accumulate the quantization itself. */
static int write_tensor(llq_writer *w, const llq_file *f, const llq_tensor *t, llq_quant_choice p,
                        const llq_quantize_opts *o, llq_pool *pool, llq_quantize_report *rep)
{
    if (p.type == t->type)
        return llq_writer_add(w, t->name, t->type, t->n_dims, t->dims, t->group, t->data, t->size);
    uint64_t K = t->row_len, rb, chunk = (64u << 20) / (K * 4) + 1;
    if (chunk > t->n_rows)
        chunk = t->n_rows;
    int err = llq_row_bytes(&rb, p.type, p.group, K);
    float *x = NULL;
    uint8_t *q = NULL;
    if (err == LLQ_OK)
        err = llq_writer_begin(w, t->name, p.type, t->n_dims, t->dims, p.group);
    if (err)
        goto done;
    /* f32 rows are quantized in place from the mapping (no copy); other types are decoded into x */
    int direct = t->type == LLQ_F32 && (uintptr_t)t->data % sizeof(float) == 0 && t->row_bytes == K * 4;
    if (!direct)
        x = malloc(chunk * K * sizeof *x);
    q = malloc(chunk * rb);
    if ((!direct && !x) || !q) {
        err = llq_err(LLQ_ENOMEM, "out of memory for %llu rows of '%s'", (unsigned long long)chunk, t->name);
        goto done;
    }
    llq_quant_opts qo = {NULL, !o->no_search};
    for (uint64_t r0 = 0; r0 < t->n_rows; r0 += chunk) {
        uint64_t nr = t->n_rows - r0 < chunk ? t->n_rows - r0 : chunk;
        const uint8_t *src = (const uint8_t *)t->data + r0 * t->row_bytes;
        const float *xs = (const float *)(const void *)src;
        if (!direct) {
            for (uint64_t r = 0; r < nr; r++)
                llq_row_to_f32(x + r * K, src + r * t->row_bytes, t->type, t->group, K);
            llq_drop_pages(f, src, nr * t->row_bytes);
            xs = x;
        }
        if (llq_type_is_quant(p.type) || llq_type_is_block(p.type)) {
            double t0 = now();
            err = llq_quantize_tensor(q, xs, nr, K, p.type, p.group, &qo, pool);
            rep->rtn_seconds += now() - t0;
            rep->rtn_f32_bytes += nr * K * 4;
            if (err) { /* the message names the row within this chunk: name the tensor and its row */
                char msg[300];
                snprintf(msg, sizeof msg, "%s", llq_errmsg());
                for (uint64_t r = 0; r < nr; r++) {
                    int e = llq_quantize_row(q, xs + r * K, K, p.type, p.group, &qo);
                    if (e) {
                        snprintf(msg, sizeof msg, "%s", llq_errmsg());
                        err = llq_err(e, "tensor '%s': row %llu: %s", t->name, (unsigned long long)(r0 + r), msg);
                        goto done;
                    }
                }
                err = llq_err(err, "tensor '%s': %s", t->name, msg);
                goto done;
            }
        } else {
            encode_plain(q, xs, nr * K, p.type);
        }
        if (direct)
            llq_drop_pages(f, src, nr * t->row_bytes);
        if ((err = llq_writer_write(w, q, nr * rb)))
            goto done;
    }
    err = llq_writer_end(w);
done:
    free(x);
    free(q);
    return err;
}

/* The calibration policy: the plan's choice for a tensor. */
typedef struct plan_ctx {
    const llq_file *f;
    const llq_quant_choice *p;
} plan_ctx;

static int plan_policy(void *ud, const char *name, uint32_t *type, uint32_t *group)
{
    const plan_ctx *c = ud;
    const llq_tensor *t = llq_tensor_find(c->f, name);
    if (!t)
        return llq_err(LLQ_ENOTFOUND, "no tensor '%s'", name);
    size_t i = (size_t)(t - llq_tensor_at(c->f, 0));
    *type = c->p[i].type;
    *group = c->p[i].group;
    return LLQ_OK;
}

/* LLQ_QUANTIZE_DRY_RUN: the plan's sizes and, when calibrating, the peak memory; nothing written. */
static int dry_run(llq_quantize_report *r, const llq_file *f, const llq_quant_choice *p, const llq_quantize_opts *o,
                   const llq_calib_opts *co)
{
    int err = LLQ_OK;
    r->dry_run = 1;
    for (size_t i = 0; err == LLQ_OK && i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        llq_quantize_tensor_info *ti = &r->tensors[i];
        uint64_t rb;
        if ((err = llq_row_bytes(&rb, p[i].type, p[i].group, t->row_len)))
            break;
        if (!(ti->name = strdup(t->name))) {
            err = llq_err(LLQ_ENOMEM, "out of memory");
            break;
        }
        r->n_tensors++;
        ti->type = p[i].type;
        ti->group = p[i].group;
        ti->bytes = rb * t->n_rows;
        r->bytes_in += t->size;
        r->bytes_out += ti->bytes;
    }
    if (err == LLQ_OK && o->methods) {
        llq_hparams hp;
        struct stat st;
        if ((err = llq_hparams_read(&hp, f)) == LLQ_OK)
            err = llq_calib_mem_estimate(&r->calib_mem, &hp, stat(o->in, &st) == 0 ? (uint64_t)st.st_size : 0, co);
    }
    return err;
}

static void progress(const llq_quantize_opts *o, const char *stage, uint64_t done, uint64_t total)
{
    if (o->progress)
        o->progress(o->progress_ud, stage, done, total);
}

int llq_quantize_file(llq_quantize_report *rep, const llq_quantize_opts *o)
{
    llq_quantize_report r = {0};
    llq_file *f = NULL;
    llq_writer *w = NULL;
    llq_calib_result *cr = NULL;
    llq_quant_choice *p = NULL;
    llq_pool *pool = NULL;
    double t0 = now();
    uint64_t qw_bytes = 0, qw_elems = 0;
    int err;

    if (!o || !o->in || !o->out || !o->policy) {
        err = llq_err(LLQ_EINVAL, "no input, output or policy given");
        goto done;
    }
    if (o->methods && !o->calib_text) {
        err = llq_err(LLQ_EINVAL, "method %s needs a calibration text", method_name(o->methods));
        goto done;
    }
    if ((err = llq_output_check(o->out, o->flags & LLQ_QUANTIZE_FORCE ? LLQ_W_FORCE : 0, NULL))) /* before any work */
        goto done;
    if (same_file(o->in, o->out) || (o->calib_text && same_file(o->calib_text, o->out))) {
        err = llq_err(LLQ_EINVAL, "%s: is one of the inputs (%s); not overwritten", o->out,
                      same_file(o->in, o->out) ? "the model" : "the calibration text");
        goto done;
    }
    r.method = method_name(o->methods);
    if ((err = llq_open(&f, o->in)))
        goto done;
    llq_quant_policy pol = *o->policy; /* shallow: the rules stay the caller's */
    if (pol.preset) { /* the preset's per-layer promotions need the model's layer count and grouping */
        llq_hparams hp;
        if ((err = llq_hparams_read(&hp, f)))
            goto done;
        llq_policy_preset(&pol, pol.preset, hp.n_layers, hp.n_kv_heads ? hp.n_heads / hp.n_kv_heads : 1);
    }
    if ((err = llq_policy_plan(&p, &pol, f)))
        goto done;
    size_t n = llq_n_tensors(f);
    if (!(r.tensors = calloc(n ? n : 1, sizeof *r.tensors))) {
        err = llq_err(LLQ_ENOMEM, "out of memory");
        goto done;
    }
    plan_ctx pc = {f, p};
    /* the q6_k preset calibrates on 512 windows unless told: at 6 bits the weights' error is small beside the
     * sampling error of the calibration statistics (docs/QUANTIZATION.md, "Presets") */
    uint32_t samples = o->calib_samples ? o->calib_samples : pol.preset == LLQ_PRESET_Q6_K ? 512 : 0;
    llq_calib_opts co = {.methods = o->methods, .text_path = o->calib_text, .text_is_tokens = o->calib_is_tokens, .n_samples = samples,
                         .ctx = o->calib_ctx, .seed = o->seed, .policy = plan_policy, .policy_ud = &pc,
                         .progress = o->progress, .progress_ud = o->progress_ud, .n_threads = o->n_threads,
                         .own_targets = !!(o->flags & LLQ_QUANTIZE_OWN_TARGETS),
                         .embed_rtn = !!(o->flags & LLQ_QUANTIZE_EMBED_RTN),
                         .head_one_h = !!(o->flags & LLQ_QUANTIZE_HEAD_ONE_H)};
    if (o->flags & LLQ_QUANTIZE_DRY_RUN) {
        err = dry_run(&r, f, p, o, &co);
        goto done;
    }
    /* the output's temp file exists from here on (a tool can remove it on a signal, also during calibration) */
    if ((err = llq_pool_new(&pool, o->n_threads)))
        goto done;
    if (o->before_temp)
        o->before_temp();
    if ((err = llq_writer_open(&w, o->out, o->flags & LLQ_QUANTIZE_FORCE ? LLQ_W_FORCE : 0)))
        goto done;
    if (o->on_temp)
        o->on_temp(llq_writer_temp_path(w));
    if (o->methods) {
        if ((err = llq_calib_run(&cr, o->in, &co)))
            goto done;
        r.calib_seconds = cr->seconds;
        r.calib_tokens = cr->text_tokens;
    }
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        if (strncmp(m->key, "quant.", 6) == 0)
            continue;
        if ((err = llq_writer_meta_copy(w, m)) < 0)
            goto done;
        if (err > 0 && r.n_meta_skipped++ == 0)
            snprintf(r.meta_skipped, sizeof r.meta_skipped, "%s", m->key);
    }
    if ((err = put_recipe(w, o, cr)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        const llq_calib_tensor *ct = cr ? llq_calib_find(cr, t->name) : NULL;
        uint32_t type = ct ? ct->type : p[i].type, group = ct ? ct->group : p[i].group;
        uint64_t size = 0;
        progress(o, "writing", i, n);
        if (ct) {
            err = llq_writer_add(w, ct->name, ct->type, ct->n_dims, ct->dims, ct->group, ct->data, ct->size);
            size = ct->size;
        } else {
            err = write_tensor(w, f, t, p[i], o, pool, &r);
            if (!err)
                err = llq_row_bytes(&size, type, group, t->row_len);
            size *= t->n_rows;
        }
        if (err)
            goto done;
        r.bytes_in += t->size;
        r.bytes_out += size;
        if (llq_type_is_quant(type) || llq_type_is_block(type)) {
            qw_bytes += size;
            qw_elems += t->n_elem;
        }
        llq_quantize_tensor_info *ti = &r.tensors[r.n_tensors];
        if (!(ti->name = strdup(t->name))) {
            err = llq_err(LLQ_ENOMEM, "out of memory");
            goto done;
        }
        r.n_tensors++;
        ti->type = type;
        ti->group = group;
        ti->bytes = size;
    }
    progress(o, "writing", n, n);
    if ((err = llq_writer_commit(w)))
        goto done;
    struct stat st;
    r.file_size = stat(o->out, &st) == 0 ? (uint64_t)st.st_size : 0;
    r.bits_per_weight = qw_elems ? 8.0 * (double)qw_bytes / (double)qw_elems : 0.0;
    r.seconds = now() - t0;
done:
    if (w && o->on_temp)
        o->on_temp(NULL);
    llq_writer_free(w);
    llq_pool_free(pool);
    llq_calib_free(cr);
    free(p);
    llq_close(f);
    if (err == LLQ_OK && rep)
        *rep = r;
    else
        llq_quantize_report_free(&r);
    return err;
}

void llq_quantize_report_free(llq_quantize_report *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n_tensors; i++)
        free(rep->tensors[i].name);
    free(rep->tensors);
    rep->tensors = NULL;
    rep->n_tensors = 0;
}
