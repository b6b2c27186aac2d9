/* llq-quantize — f32/f16/bf16 .llq -> q8/q4/q4a .llq: RTN with searched scales, or calibrated (AWQ, GPTQ). */
#include "cli.h"
#include "llq/calib.h"
#include "llq/format.h"
#include "llq/quant.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "Usage: llq-quantize [OPTIONS] MODEL.llq -o OUT.llq\n"
    "\n"
    "Quantizes the linear weights of an f32/f16/bf16 .llq model to int8 or int4 groups (docs/QUANTIZATION.md).\n"
    "Every 2-D weight gets --type/--group, except tok_embeddings.weight and output.weight (q8, same group);\n"
    "norms and other 1-D tensors keep their type. All metadata (hyper-parameters, tokenizer, provenance) is\n"
    "copied; the recipe is added as quant.* keys (llq-inspect shows it).\n"
    "\n"
    "Scheme:\n"
    "  --type T           q8 (int8, symmetric), q4 (int4, symmetric), q4a (int4 + zero point); default q4;\n"
    "                     or a ggml block type: q4_k q5_k q6_k q3_k q2_k iq4_xs iq4_nl q4_0 q4_1 q5_0 q5_1\n"
    "                     q8_0 (no --group)\n"
    "  --group G          32, 64, 128 or row (one group per row); default 32. A row that is not a multiple\n"
    "                     of the group ends in a shorter group (never skipped)\n"
    "  --preset P         llama.cpp's mix of that name: q4_k_m, q4_k_s, q5_k_m, q6_k, q3_k_m, iq4_xs (the\n"
    "                     per-tensor types llama-quantize picks; --keep rules still override)\n"
    "  --keep GLOB=TYPE[:GROUP]\n"
    "                     override for tensors whose name matches GLOB (fnmatch; repeatable, last match\n"
    "                     wins); TYPE any of f32 f16 bf16 q8 q4 q4a, e.g. --keep 'output.weight=q4:32'\n"
    "                     or --keep 'layers.0.*=q8'\n"
    "Method:\n"
    "  --method M         rtn (default): round to nearest, per-group scale (and zero point) searched to\n"
    "                     minimise the squared error; awq, gptq, awq+gptq: calibrated (need --calib);\n"
    "                     best: the most accurate combination measured (docs/QUANTIZATION.md), now\n"
    "                     awq+gptq (recorded as quant.method = awq+gptq)\n"
    "  --calib FILE       calibration text (UTF-8), tokenized with the model's tokenizer; never the test set.\n"
    "                     With rtn: importance weights (mean x² per input channel) for the scale search\n"
    "  --calib-tokens FILE  calibration tokens instead: little-endian uint32 ids (a model without tokenizer)\n"
    "  --calib-samples N  windows taken from it (default 128; 512 with --preset q6_k)\n"
    "  --calib-ctx L      tokens per window (default 256)\n"
    "  --seed N           window placement seed (default 0), recorded as quant.seed\n"
    "  --no-search        rtn with plain absmax scales (for comparison)\n"
    "  --own-targets      gptq towards each matrix's own weights, not the f32 model's outputs (comparison)\n"
    "  --embed-rtn        gptq: the token embedding by RTN, not by GPTQ first (comparison)\n"
    "  --head-one-h       gptq: the output head with one Hessian, not by rows (comparison)\n"
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
    "  llq-quantize model.llq -o model-q4km.llq --preset q4_k_m --method gptq --calib calib.txt\n"
    "  llq-quantize model.llq -o model-best.llq --type q4 --group 128 --method best --calib calib.txt\n";

typedef struct opts {
    llq_quantize_opts q;
    const char *method_name; /* as given (best = awq+gptq) */
    int json;
    llq_quant_policy pol;
} opts;

/* Calibration's "layer" steps (LLQ_CALIB_LAYER_STEPS per layer, total / LLQ_CALIB_LAYER_STEPS layers) are shown
 * as "layer L/N" (L the layer in progress; "head" after the last) with the ETA of the whole calibration. */
static void progress_cb(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)ud;
    uint64_t n = total / LLQ_CALIB_LAYER_STEPS, L = done / LLQ_CALIB_LAYER_STEPS;
    if (strcmp(stage, "layer") || !n) {
        cli_progress(stage, done, total);
        return;
    }
    char count[48];
    if (L < n || done >= total)
        snprintf(count, sizeof count, "layer %llu/%llu", (unsigned long long)(L < n ? L + 1 : n),
                 (unsigned long long)n);
    else
        snprintf(count, sizeof count, "head");
    cli_progress_count("calibrating", done, total, count);
}

static void print_json(const llq_quantize_opts *q, const llq_quantize_report *r)
{
    json_object *j = json_object_new_object(), *jt = json_object_new_array();
    json_object_object_add(j, "output", json_object_new_string(q->out));
    json_object_object_add(j, "method", json_object_new_string(r->method));
    json_object_object_add(j, "type", json_object_new_string(llq_type_name(q->policy->type)));
    json_object_object_add(j, "group", json_object_new_int64(q->policy->group));
    json_object_object_add(j, "file_bytes", json_object_new_uint64(r->file_size));
    json_object_object_add(j, "tensor_bytes_in", json_object_new_uint64(r->bytes_in));
    json_object_object_add(j, "tensor_bytes_out", json_object_new_uint64(r->bytes_out));
    json_object_object_add(j, "quantized_bits_per_weight", json_object_new_double(r->bits_per_weight));
    json_object_object_add(j, "seconds", json_object_new_double(r->seconds));
    json_object_object_add(j, "rtn_seconds", json_object_new_double(r->rtn_seconds));
    json_object_object_add(j, "rtn_f32_bytes", json_object_new_uint64(r->rtn_f32_bytes));
    json_object_object_add(j, "rtn_mb_per_s", json_object_new_double(
                                  r->rtn_seconds > 0 ? (double)r->rtn_f32_bytes / 1e6 / r->rtn_seconds : 0));
    if (q->methods) {
        json_object_object_add(j, "calib_seconds", json_object_new_double(r->calib_seconds));
        json_object_object_add(j, "calib_tokens", json_object_new_uint64(r->calib_tokens));
    }
    for (size_t i = 0; i < r->n_tensors; i++) {
        const llq_quantize_tensor_info *t = &r->tensors[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(t->name));
        json_object_object_add(e, "type", json_object_new_string(llq_type_name(t->type)));
        json_object_object_add(e, "group", json_object_new_int64(t->group));
        json_object_object_add(e, "bytes", json_object_new_uint64(t->bytes));
        json_object_array_add(jt, e);
    }
    json_object_object_add(j, "tensors", jt);
    puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

/* --dry-run: the plan's sizes and, when calibrating, the peak memory term by term (stdout). */
static void print_dry_run(const opts *o, const llq_quantize_report *r)
{
    const llq_calib_mem *mem = &r->calib_mem;
    if (o->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "dry_run", json_object_new_boolean(1));
        json_object_object_add(j, "method", json_object_new_string(o->method_name));
        json_object_object_add(j, "tensors", json_object_new_int64((int64_t)r->n_tensors));
        json_object_object_add(j, "tensor_bytes_in", json_object_new_uint64(r->bytes_in));
        json_object_object_add(j, "tensor_bytes_out", json_object_new_uint64(r->bytes_out));
        if (o->q.methods) {
            json_object *m = json_object_new_object();
            const char *k[10] = {"fixed", "model_file", "activations", "results", "threads", "layer_stats",
                                 "layer_quant", "head", "embed", "total"};
            uint64_t v[10] = {mem->fixed, mem->model_file, mem->activations, mem->results, mem->threads,
                              mem->layer_stats, mem->layer_quant, mem->head, mem->embed, mem->total};
            for (int i = 0; i < 10; i++)
                json_object_object_add(m, k[i], json_object_new_uint64(v[i]));
            json_object_object_add(j, "peak_memory", m);
        }
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
        return;
    }
    printf("dry run: %zu tensors, %llu bytes -> %llu bytes (%s), nothing written\n", r->n_tensors,
           (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, o->method_name);
    if (o->q.methods)
        printf("peak memory: %llu bytes (%.1f MiB) = fixed %llu + model file %llu + activations %llu + results %llu"
               " + threads %llu + max(layer statistics %llu, layer quantization %llu, head %llu, embedding %llu)\n",
               (unsigned long long)mem->total, (double)mem->total / 1048576.0, (unsigned long long)mem->fixed,
               (unsigned long long)mem->model_file, (unsigned long long)mem->activations,
               (unsigned long long)mem->results, (unsigned long long)mem->threads,
               (unsigned long long)mem->layer_stats, (unsigned long long)mem->layer_quant,
               (unsigned long long)mem->head, (unsigned long long)mem->embed);
}

static int run(opts *o)
{
    llq_quantize_report r = {0};
    o->q.policy = &o->pol;
    o->q.progress = progress_cb;
    o->q.before_temp = cli_before_temp;
    o->q.on_temp = cli_on_temp;
    if (o->q.methods && !(o->q.flags & LLQ_QUANTIZE_DRY_RUN))
        cli_info("calibrating (%s) on %s", o->method_name, o->q.calib_text);
    int err = llq_quantize_file(&r, &o->q);
    cli_hold_signals(0); /* if the temp file was never created */
    if (err)
        return cli_lib_error(err);
    if (r.dry_run) {
        print_dry_run(o, &r);
        llq_quantize_report_free(&r);
        return CLI_OK;
    }
    if (r.n_meta_skipped)
        cli_info("%u metadata entries of an unknown value type not copied (first: '%s')", r.n_meta_skipped,
                 r.meta_skipped);
    cli_info("%s: %llu bytes (%.4f bits/weight in the quantized matrices), %.2f s", o->q.out,
             (unsigned long long)r.file_size, r.bits_per_weight, r.seconds);
    if (r.rtn_seconds > 0)
        cli_info("rtn: %.1f MB of f32 in %.3f s = %.0f MB/s", (double)r.rtn_f32_bytes / 1e6, r.rtn_seconds,
                 (double)r.rtn_f32_bytes / 1e6 / r.rtn_seconds);
    if (o->json)
        print_json(&o->q, &r);
    llq_quantize_report_free(&r);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    cli_init("llq-quantize");
    opts o = {.method_name = "rtn"};
    uint32_t type = LLQ_Q4, group = 32;
    const char *type_s = "q4", *group_s = "32";
    char **rules = calloc((size_t)argc + 1, sizeof *rules);
    size_t n_rules = 0;
    uint64_t v;
    int calib_opts = 0, rc = CLI_USAGE, preset = 0, group_given = 0, gptq_opts = 0;
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
        {"dry-run", no_argument, NULL, 'D'}, {"preset", required_argument, NULL, 'P'},
        {"own-targets", no_argument, NULL, 'O'}, {"embed-rtn", no_argument, NULL, 'E'},
        {"head-one-h", no_argument, NULL, 'H'}, {NULL, 0, NULL, 0}};
    int ch;
    if (!rules)
        return cli_error("out of memory");
    opterr = 0; /* one line of our own instead of getopt's */
    while ((ch = getopt_long(argc, argv, ":o:t:fhq", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': o.q.out = optarg; break;
        case 'T': type_s = optarg; break;
        case 'g': group_s = optarg, group_given = 1; break;
        case 'P':
            if (llq_preset_parse(&preset, optarg)) {
                rc = cli_usage_error("--preset must be q4_k_m, q4_k_s, q5_k_m, q6_k, q3_k_m or iq4_xs, not '%s'",
                                     optarg);
                goto usage;
            }
            break;
        case 'k': rules[n_rules++] = optarg; break;
        case 'm': o.method_name = optarg; break;
        case 'c': o.q.calib_text = optarg; break;
        case 'I': o.q.calib_text = optarg, o.q.calib_is_tokens = 1; break;
        case 'S':
            if (cli_parse_u64(&v, optarg, 1, 1000000, "--calib-samples"))
                goto usage;
            o.q.calib_samples = (uint32_t)v, calib_opts = 1;
            break;
        case 'C':
            if (cli_parse_u64(&v, optarg, 2, 1000000, "--calib-ctx"))
                goto usage;
            o.q.calib_ctx = (uint32_t)v, calib_opts = 1;
            break;
        case 's':
            if (cli_parse_u64(&o.q.seed, optarg, 0, UINT64_MAX, "--seed"))
                goto usage;
            break;
        case 't':
            if (cli_parse_u64(&v, optarg, 1, 256, "--threads"))
                goto usage;
            o.q.n_threads = (int)v;
            break;
        case 'n': o.q.no_search = 1; break;
        case 'f': o.q.flags |= LLQ_QUANTIZE_FORCE; break;
        case 'j': o.json = 1; break;
        case 'D': o.q.flags |= LLQ_QUANTIZE_DRY_RUN; break;
        case 'O': o.q.flags |= LLQ_QUANTIZE_OWN_TARGETS, gptq_opts = 1; break;
        case 'E': o.q.flags |= LLQ_QUANTIZE_EMBED_RTN, gptq_opts = 1; break;
        case 'H': o.q.flags |= LLQ_QUANTIZE_HEAD_ONE_H, gptq_opts = 1; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(USAGE, stdout); rc = CLI_OK; goto usage;
        case 'V': cli_version(); rc = CLI_OK; goto usage;
        default: rc = cli_getopt_error(ch, argv); goto usage;
        }
    }
    if (optind != argc - 1) {
        rc = cli_usage_error(optind >= argc ? "no input file" : "exactly one input file expected");
        goto usage;
    }
    o.q.in = argv[optind];
    if (!o.q.out) {
        rc = cli_usage_error("no output file (-o OUT.llq)");
        goto usage;
    }
    if (llq_type_parse(&type, type_s) || !(llq_type_is_quant(type) || llq_type_is_block(type))) {
        rc = cli_usage_error("--type must be q8, q4, q4a or a block type (q4_k, q6_k, iq4_xs, ...), not '%s'",
                             type_s);
        goto usage;
    }
    if (group_given && llq_type_is_block(type)) {
        rc = cli_usage_error("--group does not apply to block type %s", type_s);
        goto usage;
    }
    if (llq_type_is_block(type))
        group_s = "row";
    if (llq_group_parse(&group, group_s)) {
        rc = cli_usage_error("--group must be 32, 64, 128 or row, not '%s'", group_s);
        goto usage;
    }
    if (strcmp(o.method_name, "rtn") == 0)
        o.q.methods = 0;
    else if (strcmp(o.method_name, "awq") == 0)
        o.q.methods = LLQ_CALIB_AWQ;
    else if (strcmp(o.method_name, "gptq") == 0)
        o.q.methods = LLQ_CALIB_GPTQ;
    else if (strcmp(o.method_name, "awq+gptq") == 0)
        o.q.methods = LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ;
    else if (strcmp(o.method_name, "best") == 0) { /* alias: the best row of docs/QUANTIZATION.md */
        o.q.methods = LLQ_CALIB_AWQ | LLQ_CALIB_GPTQ;
        o.method_name = "awq+gptq";
    } else {
        rc = cli_usage_error("--method must be rtn, awq, gptq, awq+gptq or best, not '%s'", o.method_name);
        goto usage;
    }
    if (o.q.methods && !o.q.calib_text) {
        rc = cli_usage_error("--method %s needs --calib FILE or --calib-tokens FILE", o.method_name);
        goto usage;
    }
    if (!o.q.methods && o.q.calib_text) /* rtn with --calib: importance weights from the calibration activations */
        o.q.methods = LLQ_CALIB_IMP;
    if (!o.q.methods && calib_opts) {
        rc = cli_usage_error("--calib-samples/--calib-ctx need --calib");
        goto usage;
    }
    if (o.q.no_search && o.q.calib_text) {
        rc = cli_usage_error("--no-search applies to --method rtn only");
        goto usage;
    }
    if (gptq_opts && o.q.methods != LLQ_CALIB_GPTQ) {
        rc = cli_usage_error("--own-targets, --embed-rtn and --head-one-h apply to --method gptq only");
        goto usage;
    }
    llq_policy_init(&o.pol, type, group);
    if (preset)
        llq_policy_preset(&o.pol, preset, 0, 0); /* layer count and grouping: llq_quantize_file reads the model's */
    for (size_t i = 0; i < n_rules; i++) {
        if (llq_policy_add_rule(&o.pol, rules[i])) {
            rc = cli_usage_error("--keep %s", llq_errmsg());
            goto usage;
        }
    }
    rc = run(&o);
usage:
    llq_policy_free(&o.pol);
    free(rules);
    return rc;
}
