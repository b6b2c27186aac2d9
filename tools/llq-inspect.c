/* llq-inspect — what is in a .llq file: summary, tensor table, statistics, error against a reference, CRCs. */
#include "cli.h"
#include "llq/ckpt.h"
#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/inspect.h"
#include "svg.h"

#include <fnmatch.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "Usage: llq-inspect [OPTIONS] FILE\n"
    "\n"
    "Shows what a .llq file holds. With no view option: a summary (hyper-parameters, tokenizer size,\n"
    "quantization recipe, provenance, tensor count, bytes, bits per weight).\n"
    "FILE may also be a source checkpoint (consolidated.00.pth, pytorch_model.bin, model.safetensors; one\n"
    "file, detected by its bytes; nothing in it is executed): tensor table, statistics, comparison and zip\n"
    "CRCs work the same way; the summary lists tensors and dtypes.\n"
    "\n"
    "Views (may be combined; they print in this order):\n"
    "  --tensors          tensor table: name, shape, type, group, bytes, offset\n"
    "  --stats            per tensor: min, max, mean, std, absmax, kurtosis (Pearson; 3 = normal),\n"
    "                     outlier fraction (|x - mean| > 6 std) and a histogram over [min, max] (log-scaled\n"
    "                     bar heights); quantized tensors: statistics of the dequantized values.\n"
    "                     Streams row by row over the mapping; memory stays near one row.\n"
    "  --compare REF      per tensor error of FILE against the same-named tensor of REF: RMSE, max abs\n"
    "                     error, SQNR in dB (10 log10(sum ref^2 / sum err^2)), cosine similarity; then the\n"
    "                     total over all compared tensors. Missing tensors and shape mismatches are listed.\n"
    "  --verify           checks the CRC-32 of every tensor's data; exit 1 if any is bad (all are listed,\n"
    "                     the error line names the first). Torch checkpoints: the zip entry CRCs;\n"
    "                     safetensors have no checksums (nothing to check beyond what opening does)\n"
    "\n"
    "Options:\n"
    "  --filter GLOB      only tensors whose name matches GLOB (fnmatch, e.g. 'layers.*.attention.w?.weight')\n"
    "  --svg FILE         (with --compare) also write a chart of the relative error of each tensor\n"
    "                     (self-contained SVG, log scale; temp file, then renamed)\n"
    "  --force            replace an existing --svg FILE (never an input)\n"
    "  --json             machine-readable output on stdout (one JSON object with a key per view)\n"
    "  -q, --quiet        no progress or informational lines on stderr\n"
    "  -h, --help         this text\n"
    "  --version          print the version\n"
    "\n"
    "Exit status: 0 ok, 1 error (one line on stderr: bad file, bad CRC with --verify), 2 usage.\n"
    "\n"
    "Examples:\n"
    "  llq-inspect model.llq\n"
    "  llq-inspect model.llq --tensors --filter 'layers.0.*'\n"
    "  llq-inspect model-q4.llq --stats --json > stats.json\n"
    "  llq-inspect model-q4.llq --compare model.llq --filter '*.w2.weight'\n"
    "  llq-inspect model-q4.llq --compare model.llq --svg tensors.svg\n"
    "  llq-inspect model.llq --verify\n"
    "  llq-inspect consolidated.00.pth --stats --filter 'layers.0.*'\n"
    "  llq-inspect model.llq --compare consolidated.00.pth   # conversion check (Meta names)\n";

enum { V_TENSORS = 1, V_STATS = 2, V_COMPARE = 4, V_VERIFY = 8 };

typedef struct opts {
    unsigned views;
    int json, force;
    const char *filter, *ref, *file, *svg;
} opts;

static const opts *O;
static json_object *J; /* root JSON object, when --json */
static cli_out svg_out; /* --svg: the chart's temp file */

static int selected(const char *name)
{
    return !O->filter || fnmatch(O->filter, name, 0) == 0;
}

static json_object *jnum(double x)
{
    return isfinite(x) ? json_object_new_double(x) : NULL; /* JSON has no inf/nan: null */
}

static json_object *jshape(const llq_any_tensor *t)
{
    json_object *a = json_object_new_array();
    for (uint32_t d = 0; d < t->n_dims; d++)
        json_object_array_add(a, json_object_new_uint64(t->dims[d]));
    return a;
}

static const char *human(char *buf, size_t n, double bytes)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (bytes >= 1024 && i < 4) {
        bytes /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
    return buf;
}

/* ---- metadata values ---- */

/* A metadata value as text (arrays: the count and the first few elements). */
static void meta_text(char *buf, size_t n, const llq_meta *m)
{
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    switch (m->type) {
    case LLQ_META_U32: memcpy(&u32, m->value, 4); snprintf(buf, n, "%u", u32); break;
    case LLQ_META_I32: memcpy(&u32, m->value, 4); snprintf(buf, n, "%d", (int32_t)u32); break;
    case LLQ_META_U64: memcpy(&u64, m->value, 8); snprintf(buf, n, "%llu", (unsigned long long)u64); break;
    case LLQ_META_I64: memcpy(&u64, m->value, 8); snprintf(buf, n, "%lld", (long long)(int64_t)u64); break;
    case LLQ_META_F32: memcpy(&f, m->value, 4); snprintf(buf, n, "%g", (double)f); break;
    case LLQ_META_F64: memcpy(&d, m->value, 8); snprintf(buf, n, "%g", d); break;
    case LLQ_META_BOOL: snprintf(buf, n, "%s", m->value[0] ? "true" : "false"); break;
    case LLQ_META_STR:
        snprintf(buf, n, "%.*s", (int)(m->value_size > 200 ? 200 : m->value_size), (const char *)m->value);
        break;
    case LLQ_META_ARR: {
        size_t k = (size_t)snprintf(buf, n, "[%llu %s]", (unsigned long long)m->count,
                                    m->elem_type == LLQ_META_STR ? "strings" : "numbers");
        for (uint64_t i = 0; i < m->count && i < 4 && k < n; i++) {
            const char *s;
            uint64_t len;
            if (m->elem_type == LLQ_META_STR && !llq_meta_arr_str(m, i, &s, &len))
                k += (size_t)snprintf(buf + k, n - k, "%s'%.*s'", i ? ", " : " ", (int)(len > 40 ? 40 : len), s);
            else if (m->elem_type != LLQ_META_STR)
                k += (size_t)snprintf(buf + k, n - k, "%s%g", i ? ", " : " ", llq_meta_arr_num(m, i));
        }
        if (m->count > 4 && k < n)
            snprintf(buf + k, n - k, ", ...");
        break;
    }
    default: snprintf(buf, n, "(unknown type %u, %llu bytes)", m->type, (unsigned long long)m->value_size); break;
    }
}

static json_object *meta_json(const llq_meta *m)
{
    char buf[512];
    switch (m->type) {
    case LLQ_META_STR: return json_object_new_string_len((const char *)m->value, (int)m->value_size);
    case LLQ_META_BOOL: return json_object_new_boolean(m->value[0]);
    case LLQ_META_U32: case LLQ_META_U64: case LLQ_META_I32: case LLQ_META_I64: {
        meta_text(buf, sizeof buf, m);
        return m->type == LLQ_META_U64 ? json_object_new_uint64(strtoull(buf, NULL, 10))
                                       : json_object_new_int64(strtoll(buf, NULL, 10));
    }
    case LLQ_META_F32: case LLQ_META_F64: {
        double d;
        float f;
        if (m->type == LLQ_META_F32) {
            memcpy(&f, m->value, 4);
            d = f;
        } else {
            memcpy(&d, m->value, 8);
        }
        return jnum(d);
    }
    case LLQ_META_ARR: {
        if (m->count > 64) { /* large arrays (vocabularies): summarised */
            json_object *o = json_object_new_object();
            json_object_object_add(o, "array_of", json_object_new_string(m->elem_type == LLQ_META_STR ? "string" : "number"));
            json_object_object_add(o, "count", json_object_new_uint64(m->count));
            return o;
        }
        json_object *a = json_object_new_array();
        for (uint64_t i = 0; i < m->count; i++) {
            const char *s;
            uint64_t len;
            if (m->elem_type == LLQ_META_STR && !llq_meta_arr_str(m, i, &s, &len))
                json_object_array_add(a, json_object_new_string_len(s, (int)len));
            else
                json_object_array_add(a, jnum(llq_meta_arr_num(m, i)));
        }
        return a;
    }
    default: return NULL;
    }
}

/* ---- summary ---- */

static int prefixed(const char *key, const char *prefix)
{
    return strncmp(key, prefix, strlen(prefix)) == 0;
}

static void print_group(const llq_file *f, const char *title, const char *prefix)
{
    int first = 1;
    char buf[512];
    for (size_t i = 0; i < llq_n_meta(f); i++) {
        const llq_meta *m = llq_meta_at(f, i);
        if (!prefixed(m->key, prefix))
            continue;
        meta_text(buf, sizeof buf, m);
        printf("%-12s %s = %s\n", first ? title : "", m->key + strlen(prefix), buf);
        first = 0;
    }
}

static int view_summary(const llq_file *f)
{
    llq_hparams hp;
    int hrc = llq_hparams_read(&hp, f);
    char hperr[256], tcheck[256] = "", b1[32], b2[32];
    snprintf(hperr, sizeof hperr, "%s", llq_errmsg());
    if (!hrc && llq_hparams_check_tensors(&hp, f)) /* every tensor a forward pass needs, with its shape */
        snprintf(tcheck, sizeof tcheck, "%s", llq_errmsg());
    /* tokenizer size: tokenizer.pieces (docs/FORMAT.md section 6), else the largest array under tokenizer.* */
    const llq_meta *tok = llq_meta_find(f, "tokenizer.pieces");
    if (!tok || tok->type != LLQ_META_ARR) {
        tok = NULL;
        for (size_t i = 0; i < llq_n_meta(f); i++) {
            const llq_meta *m = llq_meta_at(f, i);
            if (prefixed(m->key, "tokenizer.") && m->type == LLQ_META_ARR && (!tok || m->count > tok->count))
                tok = m;
        }
    }
    /* bytes and bits per weight */
    uint64_t bytes = 0, elems = 0, qbytes = 0, qelems = 0, nq = 0;
    struct { uint64_t n, bytes; } per_type[64] = {{0, 0}}; /* by type value (all < 64) */
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        bytes += t->size;
        elems += t->n_elem;
        if (llq_type_is_quant(t->type) || llq_type_is_block(t->type)) {
            qbytes += t->size;
            qelems += t->n_elem;
            nq++;
        }
        per_type[t->type & 63].n++;
        per_type[t->type & 63].bytes += t->size;
    }
    double bpw = elems ? 8.0 * (double)bytes / (double)elems : 0, qbpw = qelems ? 8.0 * (double)qbytes / (double)qelems : 0;
    if (J) {
        json_object *s = json_object_new_object(), *meta = json_object_new_object(), *types = json_object_new_object();
        char ver[24];
        snprintf(ver, sizeof ver, "1.%u", llq_file_version_minor(f));
        json_object_object_add(s, "format_version", json_object_new_string(!strcmp(llq_file_format(f), "gguf") ? "gguf" : ver));
        if (!strcmp(llq_file_format(f), "gguf"))
            json_object_object_add(s, "gguf_version", json_object_new_int((int)llq_file_version_minor(f)));
        json_object_object_add(s, "file_size", json_object_new_uint64(llq_file_size(f)));
        if (!hrc) {
            json_object *h = json_object_new_object();
            json_object_object_add(h, "architecture", json_object_new_string(hp.arch));
            json_object_object_add(h, "dim", json_object_new_int64(hp.dim));
            json_object_object_add(h, "n_layers", json_object_new_int64(hp.n_layers));
            json_object_object_add(h, "n_heads", json_object_new_int64(hp.n_heads));
            json_object_object_add(h, "n_kv_heads", json_object_new_int64(hp.n_kv_heads));
            json_object_object_add(h, "ffn_dim", json_object_new_int64(hp.ffn_dim));
            json_object_object_add(h, "vocab_size", json_object_new_int64(hp.vocab_size));
            json_object_object_add(h, "context_length", json_object_new_int64(hp.context_length));
            json_object_object_add(h, "norm_eps", jnum(hp.norm_eps));
            json_object_object_add(h, "rope_theta", jnum(hp.rope_theta));
            json_object_object_add(h, "family", json_object_new_string(hp.family[0] ? hp.family : "llama"));
            json_object_object_add(h, "head_dim", json_object_new_int64(llq_hp_head_dim(&hp)));
            json_object *rs = json_object_new_object(), *eos = json_object_new_array();
            json_object_object_add(rs, "type", json_object_new_string(llq_rope_scaling_name(hp.rope_scaling)));
            if (hp.rope_scaling) {
                json_object_object_add(rs, "factor", jnum(hp.rope_factor));
                if (hp.rope_scaling == LLQ_ROPE_LLAMA3) {
                    json_object_object_add(rs, "low_freq_factor", jnum(hp.rope_low_freq_factor));
                    json_object_object_add(rs, "high_freq_factor", jnum(hp.rope_high_freq_factor));
                    json_object_object_add(rs, "original_context_length", json_object_new_int64(hp.rope_orig_context));
                }
            }
            json_object_object_add(h, "rope_scaling", rs);
            json_object_object_add(h, "attention_bias", json_object_new_boolean(hp.qkv_bias));
            json_object_object_add(h, "tied_embeddings", json_object_new_boolean(hp.tied));
            json_object_object_add(h, "sliding_window", json_object_new_int64(hp.sliding_window));
            json_object_object_add(h, "bos_id", hp.has_bos ? json_object_new_int64(hp.bos_id) : NULL);
            for (uint32_t i = 0; i < hp.n_eos; i++)
                json_object_array_add(eos, json_object_new_int64(hp.eos_ids[i]));
            json_object_object_add(h, "eos_ids", eos);
            json_object_object_add(s, "hparams", h);
            json_object_object_add(s, "llama_tensors_ok", json_object_new_boolean(!tcheck[0]));
            if (tcheck[0])
                json_object_object_add(s, "llama_tensors_error", json_object_new_string(tcheck));
        } else {
            json_object_object_add(s, "hparams", NULL);
            json_object_object_add(s, "hparams_error", json_object_new_string(hperr));
        }
        json_object_object_add(s, "tokenizer_size", tok ? json_object_new_uint64(tok->count) : NULL);
        for (size_t i = 0; i < llq_n_meta(f); i++) {
            const llq_meta *m = llq_meta_at(f, i);
            json_object_object_add(meta, m->key, meta_json(m));
        }
        json_object_object_add(s, "metadata", meta);
        json_object_object_add(s, "n_tensors", json_object_new_uint64(llq_n_tensors(f)));
        json_object_object_add(s, "tensor_bytes", json_object_new_uint64(bytes));
        json_object_object_add(s, "n_elements", json_object_new_uint64(elems));
        json_object_object_add(s, "bits_per_weight", jnum(bpw));
        json_object_object_add(s, "quantized_tensors", json_object_new_uint64(nq));
        json_object_object_add(s, "quantized_bits_per_weight", nq ? jnum(qbpw) : NULL);
        for (uint32_t ty = 0; ty < 64; ty++) {
            if (!per_type[ty].n)
                continue;
            json_object *o = json_object_new_object();
            json_object_object_add(o, "n_tensors", json_object_new_uint64(per_type[ty].n));
            json_object_object_add(o, "bytes", json_object_new_uint64(per_type[ty].bytes));
            json_object_object_add(types, llq_type_name(ty), o);
        }
        json_object_object_add(s, "types", types);
        json_object_object_add(J, "summary", s);
        return CLI_OK;
    }
    printf("%-12s %s (%s, %s %s%u)\n", "file", llq_file_path(f), human(b1, sizeof b1, (double)llq_file_size(f)),
           !strcmp(llq_file_format(f), "gguf") ? "GGUF" : "format", !strcmp(llq_file_format(f), "gguf") ? "v" : "1.",
           llq_file_version_minor(f));
    if (!hrc)
        printf("%-12s %s: dim %u, layers %u, heads %u, kv heads %u, ffn %u, vocab %u, context %u, norm_eps %g, "
               "rope_theta %g\n", "model", hp.arch, hp.dim, hp.n_layers, hp.n_heads, hp.n_kv_heads, hp.ffn_dim,
               hp.vocab_size, hp.context_length, (double)hp.norm_eps, (double)hp.rope_theta);
    else
        printf("%-12s (no usable hyper-parameters: %s)\n", "model", hperr);
    if (!hrc) {
        char arch[320];
        llq_hparams_describe(arch, sizeof arch, &hp);
        printf("%-12s %s\n", "", arch);
        printf("%-12s %s\n", "", tcheck[0] ? tcheck : "every tensor of the forward pass present, shapes match");
    }
    if (tok)
        printf("%-12s %llu entries (%s)\n", "tokenizer", (unsigned long long)tok->count, tok->key);
    print_group(f, "quant", "quant.");
    print_group(f, "provenance", "provenance.");
    print_group(f, "general", "general.");
    printf("%-12s %zu, %s of data, %zu metadata keys\n", "tensors", llq_n_tensors(f), human(b2, sizeof b2, (double)bytes),
           llq_n_meta(f));
    for (uint32_t ty = 0; ty < 64; ty++)
        if (per_type[ty].n)
            printf("%-12s %s: %llu tensors, %s\n", "", llq_type_name(ty), (unsigned long long)per_type[ty].n,
                   human(b1, sizeof b1, (double)per_type[ty].bytes));
    printf("%-12s %.4f overall", "bits/weight", bpw);
    if (nq)
        printf(", %.4f in the %llu quantized matrices", qbpw, (unsigned long long)nq);
    printf("\n");
    return CLI_OK;
}

/* ---- summary of a source checkpoint ---- */

static int view_src_summary(const llq_any *a)
{
    char b1[32], b2[32];
    uint64_t bytes = 0, elems = 0;
    struct per_type { const char *type; uint64_t n, bytes; } per[16];
    size_t n_types = 0;
    for (size_t i = 0; i < llq_any_count(a); i++) {
        const llq_any_tensor *t = llq_any_at(a, i);
        bytes += t->bytes;
        elems += t->n_elem;
        size_t k = 0;
        while (k < n_types && strcmp(per[k].type, t->type))
            k++;
        if (k == n_types && n_types < 16)
            per[n_types++] = (struct per_type){t->type, 0, 0};
        if (k < n_types) {
            per[k].n++;
            per[k].bytes += t->bytes;
        }
    }
    double bpw = elems ? 8.0 * (double)bytes / (double)elems : 0;
    if (J) {
        json_object *s = json_object_new_object(), *types = json_object_new_object();
        json_object_object_add(s, "format", json_object_new_string(llq_any_format(a)));
        json_object_object_add(s, "n_tensors", json_object_new_uint64(llq_any_count(a)));
        json_object_object_add(s, "tensor_bytes", json_object_new_uint64(bytes));
        json_object_object_add(s, "n_elements", json_object_new_uint64(elems));
        json_object_object_add(s, "bits_per_weight", jnum(bpw));
        for (size_t k = 0; k < n_types; k++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "n_tensors", json_object_new_uint64(per[k].n));
            json_object_object_add(o, "bytes", json_object_new_uint64(per[k].bytes));
            json_object_object_add(types, per[k].type, o);
        }
        json_object_object_add(s, "types", types);
        json_object_object_add(J, "summary", s);
        return CLI_OK;
    }
    printf("%-12s %s (%s checkpoint; hyper-parameters live in params.json / config.json)\n", "file", O->file,
           llq_any_format(a));
    printf("%-12s %zu, %s of data, %llu elements\n", "tensors", llq_any_count(a), human(b1, sizeof b1, (double)bytes),
           (unsigned long long)elems);
    for (size_t k = 0; k < n_types; k++)
        printf("%-12s %s: %llu tensors, %s\n", "", per[k].type, (unsigned long long)per[k].n,
               human(b2, sizeof b2, (double)per[k].bytes));
    printf("%-12s %.4f overall\n", "bits/weight", bpw);
    return CLI_OK;
}

/* ---- --tensors ---- */

static int name_width(const llq_any *a, int w)
{
    for (size_t i = 0; i < llq_any_count(a); i++) {
        const llq_any_tensor *t = llq_any_at(a, i);
        int l = (int)strlen(t->name);
        if (selected(t->name) && l > w)
            w = l;
    }
    return w;
}

static int view_tensors(const llq_any *a)
{
    json_object *arr = J ? json_object_new_array() : NULL;
    int w = name_width(a, 4);
    if (!J)
        printf("%-*s  %-22s %-5s %5s %14s %14s\n", w, "name", "shape", "type", "group", "bytes", "offset");
    for (size_t i = 0; i < llq_any_count(a); i++) {
        const llq_any_tensor *t = llq_any_at(a, i);
        if (!selected(t->name))
            continue;
        int has_off = t->offset != UINT64_MAX;
        if (J) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(t->name));
            json_object_object_add(o, "shape", jshape(t));
            json_object_object_add(o, "type", json_object_new_string(t->type));
            json_object_object_add(o, "group", json_object_new_int64(t->group));
            json_object_object_add(o, "bytes", json_object_new_uint64(t->bytes));
            json_object_object_add(o, "offset", has_off ? json_object_new_uint64(t->offset) : NULL);
            if (t->llq)
                json_object_object_add(o, "crc32", json_object_new_uint64(t->llq->crc));
            json_object_array_add(arr, o);
            continue;
        }
        char shape[200], group[16], off[24];
        llq_dims_str(shape, sizeof shape, t->dims, t->n_dims);
        if (t->quant)
            snprintf(group, sizeof group, t->group ? "%u" : "row", t->group);
        else
            snprintf(group, sizeof group, "-");
        if (has_off)
            snprintf(off, sizeof off, "%llu", (unsigned long long)t->offset);
        else
            snprintf(off, sizeof off, "-");
        printf("%-*s  %-22s %-5s %5s %14llu %14s\n", w, t->name, shape, t->type, group, (unsigned long long)t->bytes,
               off);
    }
    if (J)
        json_object_object_add(J, "tensors", arr);
    return CLI_OK;
}

/* ---- --stats ---- */

static void hist_text(char *buf, size_t n, const uint64_t *h)
{
    static const char *bars[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    uint64_t mx = 0;
    for (int i = 0; i < LLQ_HIST_BINS; i++)
        mx = h[i] > mx ? h[i] : mx;
    size_t k = 0;
    for (int i = 0; i < LLQ_HIST_BINS && k + 4 < n; i++) {
        int lv = 0;
        if (h[i])
            lv = 1 + (int)(7.0 * log1p((double)h[i]) / log1p((double)mx) + 0.5); /* log scale, 1..8 */
        k += (size_t)snprintf(buf + k, n - k, "%s", bars[lv]);
    }
}

static size_t n_selected(const llq_any *a)
{
    size_t n = 0;
    for (size_t i = 0; i < llq_any_count(a); i++)
        n += selected(llq_any_at(a, i)->name) != 0;
    return n;
}

static int view_stats(llq_any *a)
{
    json_object *arr = J ? json_object_new_array() : NULL;
    int w = name_width(a, 4);
    size_t n_sel = n_selected(a), done = 0;
    if (!J)
        printf("%-*s  %-4s %11s %11s %11s %11s %11s %8s %8s  %s\n", w, "name", "type", "min", "max", "mean", "std",
               "absmax", "kurt", "outl%", "histogram [min, max]");
    for (size_t i = 0; i < llq_any_count(a); i++) {
        const llq_any_tensor *t = llq_any_at(a, i);
        if (!selected(t->name))
            continue;
        llq_stats s;
        int rc = llq_any_stats(&s, a, i);
        if (rc) {
            json_object_put(arr);
            return cli_lib_error(rc);
        }
        cli_progress("stats", ++done, n_sel);
        if (J) {
            json_object *o = json_object_new_object(), *h = json_object_new_array();
            json_object_object_add(o, "name", json_object_new_string(t->name));
            json_object_object_add(o, "type", json_object_new_string(t->type));
            json_object_object_add(o, "n", json_object_new_uint64(s.n));
            json_object_object_add(o, "n_nonfinite", json_object_new_uint64(s.n_nonfinite));
            json_object_object_add(o, "min", jnum(s.min));
            json_object_object_add(o, "max", jnum(s.max));
            json_object_object_add(o, "mean", jnum(s.mean));
            json_object_object_add(o, "std", jnum(s.std));
            json_object_object_add(o, "absmax", jnum(s.absmax));
            json_object_object_add(o, "kurtosis", jnum(s.kurtosis));
            json_object_object_add(o, "outlier_frac", jnum(s.outlier_frac));
            for (int b = 0; b < LLQ_HIST_BINS; b++)
                json_object_array_add(h, json_object_new_uint64(s.hist[b]));
            json_object_object_add(o, "hist", h);
            json_object_array_add(arr, o);
            continue;
        }
        char hist[LLQ_HIST_BINS * 4 + 1] = "";
        hist_text(hist, sizeof hist, s.hist);
        printf("%-*s  %-4s %11.4g %11.4g %11.4g %11.4g %11.4g %8.3f %8.4f  |%s|", w, t->name, t->type, s.min, s.max,
               s.mean, s.std, s.absmax, s.kurtosis, 100 * s.outlier_frac, hist);
        if (s.n_nonfinite)
            printf("  %llu non-finite", (unsigned long long)s.n_nonfinite);
        if (!s.n && !s.n_nonfinite)
            printf("  (empty)");
        printf("\n");
    }
    if (J)
        json_object_object_add(J, "stats", arr);
    return CLI_OK;
}

/* ---- --compare ---- */

static json_object *cmp_fields(json_object *o, const llq_cmp *c)
{
    json_object_object_add(o, "n", json_object_new_uint64(c->n));
    json_object_object_add(o, "rmse", jnum(c->rmse));
    json_object_object_add(o, "max_abs", jnum(c->max_abs));
    json_object_object_add(o, "sqnr_db", jnum(c->sqnr_db));
    json_object_object_add(o, "cosine", jnum(c->cosine));
    return o;
}

static int view_compare(llq_any *a)
{
    llq_any *ref;
    int rc = llq_any_open(&ref, O->ref);
    if (rc)
        return cli_lib_error(rc);
    json_object *arr = J ? json_object_new_array() : NULL, *missing = J ? json_object_new_array() : NULL;
    llq_cmp total;
    memset(&total, 0, sizeof total);
    size_t n_ok = 0, n_bad = 0, n_missing = 0, n_nan = 0, n_sel = n_selected(a), done = 0;
    const char *first_nan = NULL;
    int w = name_width(a, 5);
    const char **names = O->svg ? calloc(n_sel + 1, sizeof *names) : NULL; /* --svg: relative error per tensor */
    double *relerr = O->svg ? calloc(n_sel + 1, sizeof *relerr) : NULL;
    if (O->svg && (!names || !relerr)) {
        free(names), free(relerr), llq_any_close(ref);
        json_object_put(arr), json_object_put(missing);
        return cli_error("out of memory");
    }
    if (!J)
        printf("%-*s  %-4s %-4s %12s %12s %9s %10s\n", w, "name", "type", "ref", "rmse", "max_abs", "sqnr_db", "cosine");
    for (size_t i = 0; i < llq_any_count(a); i++) {
        const llq_any_tensor *t = llq_any_at(a, i);
        if (!selected(t->name))
            continue;
        cli_progress("compare", ++done, n_sel);
        const llq_any_tensor *r = llq_any_find(ref, t->name);
        json_object *o = J ? json_object_new_object() : NULL;
        if (o)
            json_object_object_add(o, "name", json_object_new_string(t->name));
        llq_cmp c;
        if (!r) {
            n_missing++;
            if (J)
                json_object_object_add(o, "error", json_object_new_string("missing in the reference"));
            else
                printf("%-*s  %-4s %-4s  missing in the reference\n", w, t->name, t->type, "-");
        } else if ((rc = llq_any_compare(&c, a, i, ref, r->index)) == LLQ_EINVAL) {
            n_bad++;
            if (J)
                json_object_object_add(o, "error", json_object_new_string(llq_errmsg()));
            else
                printf("%-*s  %-4s %-4s  %s\n", w, t->name, t->type, r->type, llq_errmsg());
        } else if (rc) {
            json_object_put(o);
            json_object_put(arr);
            json_object_put(missing);
            llq_any_close(ref);
            free(names), free(relerr);
            return cli_lib_error(rc);
        } else {
            if (names) {
                names[n_ok] = t->name;
                relerr[n_ok] = c.ss_ref > 0 ? sqrt(c.sse / c.ss_ref) : c.sse > 0 ? INFINITY : 0;
            }
            n_ok++;
            total.n += c.n;
            total.sse += c.sse;
            total.ss_ref += c.ss_ref;
            total.ss_x += c.ss_x;
            total.dot += c.dot;
            total.max_abs = isnan(c.max_abs) || c.max_abs > total.max_abs ? c.max_abs : total.max_abs;
            if (isnan(c.sse) || isnan(c.ss_ref) || isinf(c.ss_x) || isinf(c.ss_ref)) {
                n_nan++; /* NaN or Inf on either side: the error is meaningless, never "identical" */
                first_nan = first_nan ? first_nan : t->name;
            }
            if (J) {
                json_object_object_add(o, "type", json_object_new_string(t->type));
                json_object_object_add(o, "ref_type", json_object_new_string(r->type));
                cmp_fields(o, &c);
            } else {
                printf("%-*s  %-4s %-4s %12.6g %12.6g %9.3f %10.7f\n", w, t->name, t->type, r->type, c.rmse,
                       c.max_abs, c.sqnr_db, c.cosine);
            }
        }
        if (J)
            json_object_array_add(arr, o);
    }
    /* tensors of REF that FILE lacks */
    for (size_t i = 0; i < llq_any_count(ref); i++) {
        const llq_any_tensor *r = llq_any_at(ref, i);
        if (!selected(r->name) || llq_any_find(a, r->name))
            continue;
        n_missing++;
        if (J)
            json_object_array_add(missing, json_object_new_string(r->name));
        else
            printf("%-*s  %-4s %-4s  only in the reference\n", w, r->name, "-", r->type);
    }
    llq_cmp_finish(&total);
    if (J) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ref", json_object_new_string(O->ref));
        json_object_object_add(o, "tensors", arr);
        json_object_object_add(o, "only_in_ref", missing);
        json_object_object_add(o, "total", cmp_fields(json_object_new_object(), &total));
        json_object_object_add(o, "compared", json_object_new_uint64(n_ok));
        json_object_object_add(o, "shape_mismatches", json_object_new_uint64(n_bad));
        json_object_object_add(J, "compare", o);
    } else {
        printf("%-*s  %-4s %-4s %12.6g %12.6g %9.3f %10.7f\n", w, "total", "", "", total.rmse, total.max_abs,
               total.sqnr_db, total.cosine);
        printf("%zu tensors compared, %zu shape mismatches, %zu missing on one side\n", n_ok, n_bad, n_missing);
    }
    int ret = CLI_OK;
    if (n_nan)
        ret = cli_error("%s%s holds NaN or Inf values (%zu tensor%s): its error against the reference is not a "
                        "number", first_nan, n_nan > 1 ? " and others" : "", n_nan, n_nan > 1 ? "s" : "");
    if (O->svg && ret == CLI_OK) {
        char sub[1200];
        snprintf(sub, sizeof sub, "%s against %s: %zu tensors; total relative error %.4g (SQNR %.2f dB)", O->file,
                 O->ref, n_ok, total.ss_ref > 0 ? sqrt(total.sse / total.ss_ref) : 0.0, total.sqnr_db);
        if (n_ok == 0)
            ret = cli_error("%s: no tensor compared; no chart written", O->svg);
        else if ((rc = cli_svg_bars(svg_out.f, "Relative error per tensor", sub,
                                    "sqrt(sum (x - ref)^2 / sum ref^2), log scale", n_ok, names, relerr)))
            ret = cli_error("%s: %s", O->svg, llq_errmsg());
    }
    free(names), free(relerr);
    llq_any_close(ref);
    return ret;
}

/* ---- --verify ---- */

static int view_verify(llq_any *a)
{
    json_object *bad = J ? json_object_new_array() : NULL;
    size_t n = 0, n_bad = 0, n_sel = n_selected(a);
    char first[1100] = "";
    int has_crc = strcmp(llq_any_format(a), "safetensors") != 0;
    for (size_t i = 0; i < llq_any_count(a); i++) {
        const llq_any_tensor *t = llq_any_at(a, i);
        if (!selected(t->name))
            continue;
        n++;
        cli_progress("verify", n, n_sel);
        if (llq_any_verify(a, i) == 0)
            continue;
        if (!n_bad++)
            snprintf(first, sizeof first, "%s", llq_errmsg());
        if (J) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(t->name));
            json_object_object_add(o, "error", json_object_new_string(llq_errmsg()));
            json_object_array_add(bad, o);
        } else {
            printf("BAD  %s\n", llq_errmsg());
        }
    }
    if (J) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "checked", json_object_new_uint64(n));
        json_object_object_add(o, "has_checksums", json_object_new_boolean(has_crc));
        json_object_object_add(o, "ok", json_object_new_boolean(n_bad == 0));
        json_object_object_add(o, "bad", bad);
        json_object_object_add(J, "verify", o);
    } else if (!n_bad) {
        if (has_crc)
            printf("%zu tensors checked, all CRCs match\n", n);
        else
            printf("%zu tensors: safetensors files have no checksums, nothing to verify\n", n);
    }
    if (n_bad)
        return n_bad > 1 ? cli_error("%s (%zu of %zu tensors bad)", first, n_bad, n) : cli_error("%s", first);
    return CLI_OK;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    cli_init("llq-inspect");
    static const struct option lo[] = {
        {"tensors", no_argument, NULL, 't'}, {"stats", no_argument, NULL, 's'},
        {"compare", required_argument, NULL, 'c'}, {"verify", no_argument, NULL, 'v'},
        {"filter", required_argument, NULL, 'f'}, {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {"svg", required_argument, NULL, 'g'},
        {"force", no_argument, NULL, 'F'}, {NULL, 0, NULL, 0},
    };
    opts o = {0};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", lo, NULL)) != -1) {
        switch (c) {
        case 't': o.views |= V_TENSORS; break;
        case 's': o.views |= V_STATS; break;
        case 'c': o.views |= V_COMPARE; o.ref = optarg; break;
        case 'v': o.views |= V_VERIFY; break;
        case 'f': o.filter = optarg; break;
        case 'g': o.svg = optarg; break;
        case 'F': o.force = 1; break;
        case 'j': o.json = 1; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(USAGE, stdout); return CLI_OK;
        case 'V': cli_version(); return CLI_OK;
        default: return cli_getopt_error(c, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(optind == argc ? "missing FILE" : "exactly one FILE expected");
    o.file = argv[optind];
    O = &o;
    if (o.svg && !(o.views & V_COMPARE))
        return cli_usage_error("--svg needs --compare REF");
    const char *inputs[2] = {o.file, o.ref};
    if (o.svg && cli_out_open(&svg_out, o.svg, o.force, inputs, 2))
        return CLI_ERROR;

    llq_any *a;
    int rc = llq_any_open(&a, o.file);
    if (rc) {
        cli_out_abort(&svg_out);
        return cli_lib_error(rc);
    }
    if (o.filter && !n_selected(a)) {
        llq_any_close(a);
        cli_out_abort(&svg_out);
        return cli_error("%s: no tensor matches '%s'", o.file, o.filter);
    }
    if (o.json) {
        J = json_object_new_object();
        json_object_object_add(J, "file", json_object_new_string(o.file));
        json_object_object_add(J, "format", json_object_new_string(llq_any_format(a)));
    }
    int ret = CLI_OK;
    if (!o.views)
        ret = llq_any_llq(a) ? view_summary(llq_any_llq(a)) : view_src_summary(a);
    if (!ret && (o.views & V_TENSORS))
        ret = view_tensors(a);
    if (!ret && (o.views & V_STATS))
        ret = view_stats(a);
    if (!ret && (o.views & V_COMPARE))
        ret = view_compare(a);
    int vret = CLI_OK;
    if (!ret && (o.views & V_VERIFY))
        vret = view_verify(a); /* a bad CRC still prints the JSON report */
    if (J) {
        if (!ret)
            cli_json_print(J);
        else
            json_object_put(J);
    }
    llq_any_close(a);
    if (!ret && o.svg)
        ret = cli_out_commit(&svg_out);
    cli_out_abort(&svg_out);
    return ret ? ret : vret;
}
