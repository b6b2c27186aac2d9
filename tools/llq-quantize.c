/* llq-quantize — f32/f16/bf16 .llq -> q8/q4/q4a .llq: RTN with searched scales, or calibrated (AWQ, GPTQ). */
#include "cli.h"
#include "llq/calib.h"
#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/quant.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char USAGE[] =
    "Usage: llq-quantize [OPTIONS] MODEL.llq -o OUT.llq\n"
    "\n"
    "Quantizes the linear weights of an f32/f16/bf16 .llq model to int8 or int4 groups (docs/QUANTIZATION.md).\n"
    "Every 2-D weight gets --type/--group, except tok_embeddings.weight and output.weight (q8, same group);\n"
    "norms and other 1-D tensors keep their type. All metadata (hyper-parameters, tokenizer, provenance) is\n"
    "copied; the recipe is added as quant.* keys (llq-inspect shows it).\n"
    "\n"
    "Scheme:\n"
    "  --type T           q8 (int8, symmetric), q4 (int4, symmetric), q4a (int4 + zero point); default q4\n"
    "  --group G          32, 64, 128 or row (one group per row); default 32. A row that is not a multiple\n"
    "                     of the group ends in a shorter group (never skipped)\n"
    "  --keep GLOB=TYPE[:GROUP]\n"
    "                     override for tensors whose name matches GLOB (fnmatch; repeatable, last match\n"
    "                     wins); TYPE any of f32 f16 bf16 q8 q4 q4a, e.g. --keep 'output.weight=q4:32'\n"
    "                     or --keep 'layers.0.*=q8'\n"
    "Method:\n"
    "  --method M         rtn (default): round to nearest, per-group scale (and zero point) searched to\n"
    "                     minimise the squared error; awq, gptq, awq+gptq: calibrated (need --calib);\n"
    "                     best: the most accurate combination measured (docs/QUANTIZATION.md), now\n"
    "                     awq+gptq (recorded as quant.method = awq+gptq)\n"
    "  --calib FILE       calibration text (UTF-8), tokenized with the model's tokenizer; never the test set\n"
    "  --calib-tokens FILE  calibration tokens instead: little-endian uint32 ids (a model without tokenizer)\n"
    "  --calib-samples N  windows taken from it (default 128)\n"
    "  --calib-ctx L      tokens per window (default 256)\n"
    "  --seed N           window placement seed (default 0), recorded as quant.seed\n"
    "  --no-search        rtn with plain absmax scales (for comparison)\n"
    "Output:\n"
    "  -o, --output FILE  output .llq (written to a temp file, then renamed; never the input)\n"
    "  -f, --force        replace an existing output file (never the input)\n"
    "  -t, --threads N    threads for everything, calibration included (default: all CPUs)\n"
    "  --dry-run          plan and check every tensor, print the output size and, for a calibrated method, the\n"
    "                     peak memory (docs/QUANTIZATION.md, \"Memory\"); write nothing (-o still required)\n"
    "  --json             machine-readable report on stdout\n"
    "  -q, --quiet        no progress or informational lines on stderr\n"
    "  -h, --help         this text\n"
    "  --version          print the version\n"
    "\n"
    "Refused (exit 1, one line on stderr, no output file): an input tensor that is already quantized, NaN or\n"
    "Inf in a weight (the line names tensor, row and column), an existing output without --force.\n"
    "Exit status: 0 ok, 1 error, 2 usage.\n"
    "\n"
    "Examples:\n"
    "  llq-quantize model.llq -o model-q8.llq --type q8 --group 32\n"
    "  llq-quantize model.llq -o model-q4.llq --type q4 --group 128\n"
    "  llq-quantize model.llq -o model-q4a.llq --type q4a --group 64 --keep 'output.weight=q4a:32'\n"
    "  llq-quantize model.llq -o model-awq.llq --type q4 --group 128 --method awq --calib calib.txt\n"
    "  llq-quantize model.llq -o model-gptq.llq --method awq+gptq --calib calib.txt --calib-samples 64 --json\n"
    "  llq-quantize model.llq -o model-best.llq --type q4 --group 128 --method best --calib calib.txt\n";

typedef struct opts {
    const char *in, *out, *calib;
    int calib_ids; /* calib holds uint32 token ids */
    uint32_t type, group, samples, ctx;
    unsigned methods; /* LLQ_CALIB_* bits; 0 = rtn */
    uint64_t seed;
    int threads, force, json, search, dry_run;
    const char *method_name;
    char keep[1024];  /* the --keep rules, comma-separated, for quant.keep */
    llq_quant_policy pol;
} opts;

/* One output tensor's plan. */
typedef struct plan {
    uint32_t type, group;
} plan;

typedef struct ctx {
    const opts *o;
    llq_file *f;
    plan *p;
} ctx;

static int policy_cb(void *ud, const char *name, uint32_t *type, uint32_t *group)
{
    ctx *c = ud;
    const llq_tensor *t = llq_tensor_find(c->f, name);
    if (!t)
        return llq_err(LLQ_ENOTFOUND, "no tensor '%s'", name);
    size_t i = (size_t)(t - llq_tensor_at(c->f, 0));
    *type = c->p[i].type;
    *group = c->p[i].group;
    return LLQ_OK;
}

static void progress_cb(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)ud;
    cli_progress(stage, done, total);
}

static int put_meta(llq_writer *w, const opts *o, const llq_calib_result *cr)
{
    char name[64];
    snprintf(name, sizeof name, "llq-quantize %s", LLQ_VERSION_STRING);
    const char *tn = llq_type_name(o->type);
    int err = llq_writer_meta_str(w, "quant.method", o->method_name, strlen(o->method_name));
    if (!err) err = llq_writer_meta_str(w, "quant.type", tn, strlen(tn));
    if (!err) err = llq_writer_meta_u32(w, "quant.group", o->group);
    if (!err) err = llq_writer_meta_u64(w, "quant.seed", o->seed);
    if (!err) err = llq_writer_meta_bool(w, "quant.search", o->search);
    if (!err) err = llq_writer_meta_str(w, "quant.keep", o->keep, strlen(o->keep));
    if (!err) err = llq_writer_meta_str(w, "quant.quantizer", name, strlen(name));
    if (!err && cr) {
        const char *base = strrchr(o->calib, '/') ? strrchr(o->calib, '/') + 1 : o->calib;
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

/* Streams one tensor into the writer converted to p (rows in chunks of about 64 MB of f32). qsec and qbytes
 * accumulate the time and f32 bytes of the quantization itself. */
static int write_tensor(llq_writer *w, const llq_file *f, const llq_tensor *t, plan p, const opts *o, double *qsec,
                        uint64_t *qbytes)
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
    llq_quant_opts qo = {NULL, o->search};
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
        if (llq_type_is_quant(p.type)) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            err = llq_quantize_tensor(q, xs, nr, K, p.type, p.group, &qo, o->threads);
            clock_gettime(CLOCK_MONOTONIC, &b);
            *qsec += (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
            *qbytes += nr * K * 4;
            for (uint64_t r = 0; err && r < nr; r++) { /* name the first bad row of the tensor */
                int e = llq_quantize_row(q, xs + r * K, K, p.type, p.group, &qo);
                if (e) {
                    char msg[300];
                    snprintf(msg, sizeof msg, "%s", llq_errmsg());
                    err = llq_err(e, "tensor '%s': row %llu: %s", t->name, (unsigned long long)(r0 + r), msg);
                    goto done;
                }
            }
            if (err)
                goto done;
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

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* --dry-run: the plan's sizes and, when calibrating, the peak memory term by term (stdout). */
static int dry_run(const opts *o, llq_file *f, const plan *p, const llq_calib_opts *co)
{
    uint64_t in = 0, out = 0, rb;
    size_t n = llq_n_tensors(f);
    for (size_t i = 0; i < n; i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        int err = llq_row_bytes(&rb, p[i].type, p[i].group, t->row_len);
        if (err)
            return cli_lib_error(err);
        in += t->size, out += rb * t->n_rows;
    }
    llq_calib_mem mem;
    int have_mem = 0;
    if (o->methods) {
        llq_hparams hp;
        struct stat st;
        int err = llq_hparams_read(&hp, f);
        if (!err)
            err = llq_calib_mem_estimate(&mem, &hp, stat(o->in, &st) == 0 ? (uint64_t)st.st_size : 0, co);
        if (err)
            return cli_lib_error(err);
        have_mem = 1;
    }
    if (o->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "dry_run", json_object_new_boolean(1));
        json_object_object_add(j, "method", json_object_new_string(o->method_name));
        json_object_object_add(j, "tensors", json_object_new_int64((int64_t)n));
        json_object_object_add(j, "tensor_bytes_in", json_object_new_uint64(in));
        json_object_object_add(j, "tensor_bytes_out", json_object_new_uint64(out));
        if (have_mem) {
            json_object *m = json_object_new_object();
            const char *k[9] = {"fixed", "model_file", "activations", "results", "threads", "layer_stats",
                                "layer_quant", "head", "total"};
            uint64_t v[9] = {mem.fixed, mem.model_file, mem.activations, mem.results, mem.threads, mem.layer_stats,
                             mem.layer_quant, mem.head, mem.total};
            for (int i = 0; i < 9; i++)
                json_object_object_add(m, k[i], json_object_new_uint64(v[i]));
            json_object_object_add(j, "peak_memory", m);
        }
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
        return CLI_OK;
    }
    printf("dry run: %zu tensors, %llu bytes -> %llu bytes (%s), nothing written\n", n, (unsigned long long)in,
           (unsigned long long)out, o->method_name);
    if (have_mem) {
        printf("peak memory: %llu bytes (%.1f MiB) = fixed %llu + model file %llu + activations %llu + results %llu"
               " + threads %llu + max(layer statistics %llu, layer quantization %llu, head %llu)\n",
               (unsigned long long)mem.total, (double)mem.total / 1048576.0, (unsigned long long)mem.fixed,
               (unsigned long long)mem.model_file, (unsigned long long)mem.activations,
               (unsigned long long)mem.results, (unsigned long long)mem.threads, (unsigned long long)mem.layer_stats,
               (unsigned long long)mem.layer_quant, (unsigned long long)mem.head);
    }
    return CLI_OK;
}

static int run(const opts *o)
{
    llq_file *f = NULL;
    llq_writer *w = NULL;
    llq_calib_result *cr = NULL;
    plan *p = NULL;
    json_object *jt = o->json ? json_object_new_array() : NULL;
    int rc = CLI_ERROR, err;
    double t0 = now(), qsec = 0;
    uint64_t qbytes = 0, bytes_in = 0, bytes_out = 0, qw_bytes = 0, qw_elems = 0;

    if ((err = llq_output_check(o->out, o->force ? LLQ_W_FORCE : 0, NULL))) { /* before any work */
        rc = cli_lib_error(err);
        goto done;
    }
    if (same_file(o->in, o->out) || (o->calib && same_file(o->calib, o->out))) {
        rc = cli_error("%s: is one of the inputs (%s); not overwritten", o->out,
                       same_file(o->in, o->out) ? "the model" : "the calibration text");
        goto done;
    }
    if ((err = llq_open(&f, o->in))) {
        rc = cli_lib_error(err);
        goto done;
    }
    size_t n = llq_n_tensors(f);
    p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) { /* plan everything before writing anything */
        const llq_tensor *t = llq_tensor_at(f, i);
        err = llq_policy_choose(&o->pol, t->name, t->type, t->n_dims, &p[i].type, &p[i].group);
        if (!err && llq_type_is_quant(p[i].type) && (err = llq_quant_check(p[i].type, p[i].group, t->row_len))) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", llq_errmsg());
            err = llq_err(err, "tensor '%s': %s", t->name, msg);
        }
        if (err) {
            rc = cli_lib_error(err);
            goto done;
        }
    }
    ctx c = {o, f, p};
    llq_calib_opts co = {.methods = o->methods, .text_path = o->calib, .text_is_tokens = o->calib_ids,
                         .n_samples = o->samples, .ctx = o->ctx,
                         .seed = o->seed, .policy = policy_cb, .policy_ud = &c, .progress = progress_cb,
                         .n_threads = o->threads};
    if (o->dry_run) {
        rc = dry_run(o, f, p, &co);
        goto done;
    }
    if (o->methods) {
        cli_info("calibrating (%s) on %s", o->method_name, o->calib);
        if ((err = llq_calib_run(&cr, o->in, &co))) {
            rc = cli_lib_error(err);
            goto done;
        }
    }
    cli_hold_signals(1);
    err = llq_writer_open(&w, o->out, o->force ? LLQ_W_FORCE : 0);
    if (!err)
        cli_set_temp(llq_writer_temp_path(w));
    cli_hold_signals(0);
    if (err) {
        rc = cli_lib_error(err);
        goto done;
    }
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        if (strncmp(m->key, "quant.", 6) == 0)
            continue;
        if ((err = llq_writer_meta_copy(w, m)) < 0) {
            rc = cli_lib_error(err);
            goto done;
        }
        if (err > 0)
            cli_info("metadata '%s' has an unknown value type %u: not copied", m->key, m->type);
    }
    if ((err = put_meta(w, o, cr))) {
        rc = cli_lib_error(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        const llq_calib_tensor *ct = cr ? llq_calib_find(cr, t->name) : NULL;
        uint32_t type = ct ? ct->type : p[i].type, group = ct ? ct->group : p[i].group;
        uint64_t size = 0;
        cli_progress("writing", i, n);
        if (ct) {
            err = llq_writer_add(w, ct->name, ct->type, ct->n_dims, ct->dims, ct->group, ct->data, ct->size);
            size = ct->size;
        } else {
            err = write_tensor(w, f, t, p[i], o, &qsec, &qbytes);
            if (!err)
                err = llq_row_bytes(&size, type, group, t->row_len);
            size *= t->n_rows;
        }
        if (err) {
            rc = cli_lib_error(err);
            goto done;
        }
        bytes_in += t->size;
        bytes_out += size;
        if (llq_type_is_quant(type)) {
            qw_bytes += size;
            qw_elems += t->n_elem;
        }
        if (jt) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "name", json_object_new_string(t->name));
            json_object_object_add(e, "type", json_object_new_string(llq_type_name(type)));
            json_object_object_add(e, "group", json_object_new_int64(group));
            json_object_object_add(e, "bytes", json_object_new_uint64(size));
            json_object_array_add(jt, e);
        }
    }
    cli_progress("writing", n, n);
    if ((err = llq_writer_commit(w))) {
        rc = cli_lib_error(err);
        goto done;
    }
    cli_set_temp(NULL);
    double secs = now() - t0, bpw = qw_elems ? 8.0 * (double)qw_bytes / (double)qw_elems : 0.0;
    struct stat st;
    uint64_t file_size = stat(o->out, &st) == 0 ? (uint64_t)st.st_size : 0;
    cli_info("%s: %llu bytes (%.4f bits/weight in the quantized matrices), %.2f s%s", o->out,
             (unsigned long long)file_size, bpw, secs, "");
    if (qsec > 0)
        cli_info("rtn: %.1f MB of f32 in %.3f s = %.0f MB/s", (double)qbytes / 1e6, qsec, (double)qbytes / 1e6 / qsec);
    if (o->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "output", json_object_new_string(o->out));
        json_object_object_add(j, "method", json_object_new_string(o->method_name));
        json_object_object_add(j, "type", json_object_new_string(llq_type_name(o->type)));
        json_object_object_add(j, "group", json_object_new_int64(o->group));
        json_object_object_add(j, "file_bytes", json_object_new_uint64(file_size));
        json_object_object_add(j, "tensor_bytes_in", json_object_new_uint64(bytes_in));
        json_object_object_add(j, "tensor_bytes_out", json_object_new_uint64(bytes_out));
        json_object_object_add(j, "quantized_bits_per_weight", json_object_new_double(bpw));
        json_object_object_add(j, "seconds", json_object_new_double(secs));
        json_object_object_add(j, "rtn_seconds", json_object_new_double(qsec));
        json_object_object_add(j, "rtn_f32_bytes", json_object_new_uint64(qbytes));
        json_object_object_add(j, "rtn_mb_per_s", json_object_new_double(qsec > 0 ? (double)qbytes / 1e6 / qsec : 0));
        if (cr) {
            json_object_object_add(j, "calib_seconds", json_object_new_double(cr->seconds));
            json_object_object_add(j, "calib_tokens", json_object_new_uint64(cr->text_tokens));
        }
        json_object_object_add(j, "tensors", jt);
        jt = NULL;
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    }
    rc = CLI_OK;
done:
    cli_set_temp(NULL);
    json_object_put(jt);
    llq_writer_free(w);
    llq_calib_free(cr);
    free(p);
    llq_close(f);
    return rc;
}

/* Parses a decimal integer in [lo, hi]; prints the usage error itself. */
static int parse_num(uint64_t *out, const char *s, uint64_t lo, uint64_t hi, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi)
        return cli_usage_error("bad %s '%s' (expected %llu..%llu)", what, s, (unsigned long long)lo,
                               (unsigned long long)hi);
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    cli_init("llq-quantize");
    opts o = {.type = LLQ_Q4, .group = 32, .threads = 0, .search = 1, .method_name = "rtn"};
    const char *type_s = "q4", *group_s = "32";
    char **rules = calloc((size_t)argc + 1, sizeof *rules);
    size_t n_rules = 0;
    uint64_t v;
    int calib_opts = 0, rc = CLI_USAGE;
    static const struct option lo[] = {
        {"output", required_argument, NULL, 'o'}, {"type", required_argument, NULL, 'T'},
        {"group", required_argument, NULL, 'g'}, {"keep", required_argument, NULL, 'k'},
        {"method", required_argument, NULL, 'm'}, {"calib", required_argument, NULL, 'c'},
        {"calib-tokens", required_argument, NULL, 'I'},
        {"calib-samples", required_argument, NULL, 'S'}, {"calib-ctx", required_argument, NULL, 'C'},
        {"seed", required_argument, NULL, 's'}, {"threads", required_argument, NULL, 't'},
        {"no-search", no_argument, NULL, 'n'}, {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
        {"dry-run", no_argument, NULL, 'D'}, {NULL, 0, NULL, 0}};
    int ch;
    if (!rules)
        return cli_error("out of memory");
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, ":o:t:fhq", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': o.out = optarg; break;
        case 'T': type_s = optarg; break;
        case 'g': group_s = optarg; break;
        case 'k': rules[n_rules++] = optarg; break;
        case 'm': o.method_name = optarg; break;
        case 'c': o.calib = optarg, o.calib_ids = 0; break;
        case 'I': o.calib = optarg, o.calib_ids = 1; break;
        case 'S':
            if (parse_num(&v, optarg, 1, 1000000, "--calib-samples"))
                goto usage;
            o.samples = (uint32_t)v, calib_opts = 1;
            break;
        case 'C':
            if (parse_num(&v, optarg, 2, 1000000, "--calib-ctx"))
                goto usage;
            o.ctx = (uint32_t)v, calib_opts = 1;
            break;
        case 's':
            if (parse_num(&o.seed, optarg, 0, UINT64_MAX, "--seed"))
                goto usage;
            break;
        case 't':
            if (parse_num(&v, optarg, 1, 256, "--threads"))
                goto usage;
            o.threads = (int)v;
            break;
        case 'n': o.search = 0; break;
        case 'D': o.dry_run = 1; break;
        case 'f': o.force = 1; break;
        case 'j': o.json = 1; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(USAGE, stdout); rc = CLI_OK; goto usage;
        case 'V': cli_version(); rc = CLI_OK; goto usage;
        case ':': rc = cli_usage_error("option '%s' needs a value", argv[optind - 1]); goto usage;
        default: rc = cli_usage_error("unknown option '%s'", argv[optind - 1]); goto usage;
        }
    }
    if (optind != argc - 1) {
        rc = cli_usage_error(optind >= argc ? "no input file" : "exactly one input file expected");
        goto usage;
    }
    o.in = argv[optind];
    if (!o.out) {
        rc = cli_usage_error("no output file (-o OUT.llq)");
        goto usage;
    }
    if (llq_type_parse(&o.type, type_s) || !llq_type_is_quant(o.type)) {
        rc = cli_usage_error("--type must be q8, q4 or q4a, not '%s'", type_s);
        goto usage;
    }
    if (llq_group_parse(&o.group, group_s)) {
        rc = cli_usage_error("--group must be 32, 64, 128 or row, not '%s'", group_s);
        goto usage;
    }
    if (strcmp(o.method_name, "rtn") == 0)
        o.methods = 0;
    else if (strcmp(o.method_name, "awq") == 0)
        o.methods = LLQ_CALIB_AWQ;
    else if (strcmp(o.method_name, "gptq") == 0)
        o.methods = LLQ_CALIB_GPTQ;
    else if (strcmp(o.method_name, "awq+gptq") == 0)
        o.methods = LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ;
    else if (strcmp(o.method_name, "best") == 0) { /* alias: the best row of docs/QUANTIZATION.md */
        o.methods = LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ;
        o.method_name = "awq+gptq";
    } else {
        rc = cli_usage_error("--method must be rtn, awq, gptq, awq+gptq or best, not '%s'", o.method_name);
        goto usage;
    }
    if (o.methods && !o.calib) {
        rc = cli_usage_error("--method %s needs --calib FILE or --calib-tokens FILE", o.method_name);
        goto usage;
    }
    if (!o.methods && (o.calib || calib_opts)) {
        rc = cli_usage_error("--calib options need --method awq, gptq, awq+gptq or best");
        goto usage;
    }
    if (!o.search && o.methods) {
        rc = cli_usage_error("--no-search applies to --method rtn only");
        goto usage;
    }
    llq_policy_init(&o.pol, o.type, o.group);
    for (size_t i = 0; i < n_rules; i++) {
        if (llq_policy_add_rule(&o.pol, rules[i])) {
            rc = cli_usage_error("--keep %s", llq_errmsg());
            goto usage;
        }
        size_t k = strlen(o.keep);
        snprintf(o.keep + k, sizeof o.keep - k, "%s%s", k ? "," : "", rules[i]);
    }
    rc = run(&o);
usage:
    llq_policy_free(&o.pol);
    free(rules);
    return rc;
}
