/* llq-eval — perplexity of a model, drift between two models, text generation and tokenization (docs/TOOLS.md). */
#include "cli.h"
#include "llq/eval.h"
#include "svg.h"
#include "llq/tokenizer.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

static const char *USAGE =
    "Usage: llq-eval ppl MODEL.llq (--text FILE | --tokens FILE) [options]\n"
    "       llq-eval drift BASE.llq QUANT.llq [QUANT2.llq ...] (--text FILE | --tokens FILE) [options]\n"
    "                      [--per-layer] [--svg FILE [--svg FILE2 ...] [--force]]\n"
    "       llq-eval generate MODEL.llq --prompt TEXT [-n N] [--temp T] [--seed S]\n"
    "       llq-eval tokenize MODEL (--text FILE | --prompt TEXT) [--bos] [--json]\n"
    "\n"
    "ppl       perplexity of MODEL on a text, with its standard error.\n"
    "drift     BASE and QUANT on the same windows in one pass: ppl of each, delta ppl (absolute and %),\n"
    "          KL divergence KL(base || quant) per position (mean, median, p99, max), top-1 agreement and\n"
    "          RMS of the change in the correct token's probability, each with its standard error.\n"
    "          Several QUANT models: each against BASE on the same windows, one after another (BASE is run\n"
    "          again for each), printed as one table with a row per model (size, bits per weight, ppl,\n"
    "          delta ppl %, KLD mean/median/p99/max, top-1, RMS); --json prints an array, one object per model.\n"
    "generate  continues a prompt one token at a time with a KV cache (a human sanity check).\n"
    "tokenize  the token ids (and pieces) of a text, to compare with a reference tokenizer. MODEL is a .llq\n"
    "          or .gguf file or a tokenizer file (tokenizer.json, tokenizer.model: SentencePiece or tiktoken).\n"
    "\n"
    "Input (ppl, drift):\n"
    "  --text FILE         text, tokenized with the model's own tokenizer, one BOS at the start\n"
    "  --tokens FILE       pre-tokenized input: little-endian uint32 ids, used as given (no BOS added)\n"
    "  --ctx N             window length (default: the model's context length, or 512 if unknown)\n"
    "  --chunks K          evaluate only the first K windows\n"
    "  --protocol P        default: every position of a window predicts the next (the GPTQ/AWQ papers');\n"
    "                      llama.cpp: each window's first token becomes BOS and only its second half is\n"
    "                      scored (llama-perplexity's), so figures sit beside llama.cpp's\n"
    "  --arith A           exact: f32 activations throughout; llama.cpp: its CPU arithmetic emulated (each\n"
    "                      matmul's activations rounded to ggml's Q8_0 / Q8_K / f16 of the weight type,\n"
    "                      f16 KV cache and attention probabilities), so drift figures of GGUF files sit\n"
    "                      beside llama-perplexity --kl-divergence's. Default: llama.cpp with --protocol\n"
    "                      llama.cpp, else exact\n"
    "  --act A             (exact arithmetic) the activations of the windows' matmuls: f32 (default, the\n"
    "                      reference) or q8: rounded to int8 per block of 32 once per matmul, integer dot\n"
    "                      products with q4 / q4_0 / q4_k / q6_k weights (several times faster; llama.cpp's\n"
    "                      kind of arithmetic, its activations per 32 as in Q8_0)\n"
    "  --per-layer         (drift) relative error of the hidden state after each layer\n"
    "  --svg FILE          (drift) also write a chart: per-layer relative error and the distribution of\n"
    "                      per-position KL divergence (self-contained SVG; temp file, then renamed); with\n"
    "                      several QUANT models, one --svg per model, in the same order\n"
    "  -f, --force         replace an existing --svg FILE (never one of the inputs)\n"
    ;
/* the help in two literals: C11 compilers need only take 4095 characters in one */
static const char *USAGE2 =
    "Generation:\n"
    "  --prompt TEXT       prompt (BOS is prepended)\n"
    "  -n N                tokens to generate (default 64)\n"
    "  --temp T            sampling temperature; 0 = greedy (default 0.8)\n"
    "  --seed S            random seed (default 1)\n"
    "Tokenization:\n"
    "  --bos               (tokenize) put the BOS token first, as ppl and generate do\n"
    "Common:\n"
    "  -t, --threads N     threads (default: all CPUs)\n"
    "  --kernel ref|fast   matmul kernels: scalar reference, or AVX2 (default fast, when the CPU has it)\n"
    "  --load auto|read|mmap  read: copy each model file into memory on huge pages (faster weight streaming,\n"
    "                      costs the file's size in RAM); mmap: map it from the page cache; auto (default):\n"
    "                      read when the file takes at most half of the available memory, else mmap\n"
    "  --json              machine-readable result on stdout\n"
    "  -q, --quiet         no progress or informational lines\n"
    "  -h, --help          this text\n"
    "  --version           print the version\n"
    "\n"
    "Exit status: 0 ok, 1 error (one line on stderr naming the file and the problem), 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  llq-eval ppl pydoc-7m.llq --text test.txt --ctx 256\n"
    "  llq-eval drift pydoc-7m.llq pydoc-7m-q4.llq --text test.txt --protocol llama.cpp --json\n"
    "  llq-eval drift pydoc-7m.llq pydoc-7m-q4.llq --text test.txt --svg drift.svg\n"
    "  llq-eval drift pydoc-7m.llq q8.llq q4.llq --text test.txt --ctx 256 --chunks 64\n"
    "  llq-eval generate pydoc-7m.llq --prompt 'The list type' -n 40 --temp 0\n"
    "  llq-eval tokenize Llama-3.2-1B/tokenizer.json --prompt \"I'M here\" --json\n";

enum { LOAD_AUTO, LOAD_READ, LOAD_MMAP };
#define MAX_MODELS 64 /* drift: BASE and up to 63 quantized models */

typedef struct args {
    const char *cmd, *model[MAX_MODELS], *text, *tokens, *prompt, *svg[MAX_MODELS];
    int n_models, n_svg;
    uint64_t ctx, chunks, n_gen, threads, seed;
    int ctx_set, protocol, json, per_layer, kernel, force, load, bos, arith; /* arith: -1 = as the protocol */
    int act; /* LLQ_MM_ACT_F32 / LLQ_MM_ACT_Q8 */
    double temp;
} args;

/* value of a --opt NAME from a list of names; -1 if none matches */
static int pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i]))
            return i;
    return -1;
}

static int parse_args(args *a, int argc, char **argv)
{
    enum { O_TEXT = 256, O_TOKENS, O_PROMPT, O_CTX, O_CHUNKS, O_TEMP, O_SEED, O_PROTOCOL, O_ARITH, O_ACT, O_KERNEL, O_LOAD,
           O_JSON, O_BOS, O_PER_LAYER, O_SVG, O_VERSION };
    static const struct option lo[] = {
        {"text", required_argument, NULL, O_TEXT}, {"tokens", required_argument, NULL, O_TOKENS},
        {"prompt", required_argument, NULL, O_PROMPT}, {"ctx", required_argument, NULL, O_CTX},
        {"chunks", required_argument, NULL, O_CHUNKS}, {"threads", required_argument, NULL, 't'},
        {"temp", required_argument, NULL, O_TEMP}, {"seed", required_argument, NULL, O_SEED},
        {"protocol", required_argument, NULL, O_PROTOCOL}, {"arith", required_argument, NULL, O_ARITH},
        {"act", required_argument, NULL, O_ACT}, {"kernel", required_argument, NULL, O_KERNEL},
        {"load", required_argument, NULL, O_LOAD}, {"json", no_argument, NULL, O_JSON},
        {"bos", no_argument, NULL, O_BOS},
        {"per-layer", no_argument, NULL, O_PER_LAYER}, {"svg", required_argument, NULL, O_SVG},
        {"force", no_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, O_VERSION}, {NULL, 0, NULL, 0}};
    static const char *const protocols[] = {"default", "llama.cpp"}, *const ariths[] = {"exact", "llama.cpp"},
                             *const acts[] = {"f32", "q8"},
                             *const kernels[] = {"ref", "fast"},
                             *const loads[] = {"auto", "read", "mmap"};
    int c, rc = 0;
    memset(a, 0, sizeof *a);
    a->n_gen = 64;
    a->temp = 0.8;
    a->seed = 1;
    a->kernel = LLQ_KERNEL_FAST;
    a->arith = -1;
    opterr = 0; /* one line of our own instead of getopt's */
    while (!rc && (c = getopt_long(argc, argv, ":n:t:fqh", lo, NULL)) != -1) {
        switch (c) {
        case O_TEXT: a->text = optarg; break;
        case O_TOKENS: a->tokens = optarg; break;
        case O_PROMPT: a->prompt = optarg; break;
        case O_CTX: rc = cli_parse_u64(&a->ctx, optarg, 0, 1u << 30, "--ctx"), a->ctx_set = 1; break;
        case O_CHUNKS: rc = cli_parse_u64(&a->chunks, optarg, 1, 1ull << 40, "--chunks"); break;
        case 'n': rc = cli_parse_u64(&a->n_gen, optarg, 0, 1u << 20, "-n"); break;
        case 't': rc = cli_parse_u64(&a->threads, optarg, 1, 256, "--threads"); break;
        case O_SEED: rc = cli_parse_u64(&a->seed, optarg, 0, UINT64_MAX, "--seed"); break;
        case O_TEMP: {
            char *end;
            a->temp = strtod(optarg, &end);
            if (end == optarg || *end || !(a->temp >= 0) || a->temp > 100)
                return cli_usage_error("--temp expects a number in 0..100, got '%s'", optarg);
            break;
        }
        case O_PROTOCOL:
            if ((a->protocol = pick(optarg, protocols, 2)) < 0)
                return cli_usage_error("--protocol expects default or llama.cpp, got '%s'", optarg);
            a->protocol = a->protocol ? LLQ_PROTO_LLAMACPP : LLQ_PROTO_DEFAULT;
            break;
        case O_ARITH:
            if ((a->arith = pick(optarg, ariths, 2)) < 0)
                return cli_usage_error("--arith expects exact or llama.cpp, got '%s'", optarg);
            a->arith = a->arith ? LLQ_ARITH_LLAMACPP : LLQ_ARITH_EXACT;
            break;
        case O_ACT:
            if ((a->act = pick(optarg, acts, 2)) < 0)
                return cli_usage_error("--act expects f32 or q8, got '%s'", optarg);
            a->act = a->act ? LLQ_MM_ACT_Q8 : LLQ_MM_ACT_F32;
            break;
        case O_KERNEL:
            if ((a->kernel = pick(optarg, kernels, 2)) < 0)
                return cli_usage_error("--kernel expects ref or fast, got '%s'", optarg);
            a->kernel = a->kernel ? LLQ_KERNEL_FAST : LLQ_KERNEL_REF;
            break;
        case O_LOAD: {
            static const int modes[] = {LOAD_AUTO, LOAD_READ, LOAD_MMAP};
            int i = pick(optarg, loads, 3);
            if (i < 0)
                return cli_usage_error("--load expects auto, read or mmap, got '%s'", optarg);
            a->load = modes[i];
            break;
        }
        case O_JSON: a->json = 1; break;
        case O_BOS: a->bos = 1; break;
        case O_PER_LAYER: a->per_layer = 1; break;
        case O_SVG:
            if (a->n_svg == MAX_MODELS)
                return cli_usage_error("too many --svg files (at most %d)", MAX_MODELS);
            a->svg[a->n_svg++] = optarg;
            break;
        case 'f': a->force = 1; break;
        case 'q': cli_quiet = 1; break;
        case 'h': fputs(USAGE, stdout), fputs(USAGE2, stdout); exit(CLI_OK);
        case O_VERSION: cli_version(); exit(CLI_OK);
        default: return cli_getopt_error(c, argv);
        }
    }
    if (rc)
        return rc;
    if (optind >= argc)
        return cli_usage_error("no command (ppl, drift, generate or tokenize)");
    a->cmd = argv[optind++];
    if (strcmp(a->cmd, "ppl") && strcmp(a->cmd, "drift") && strcmp(a->cmd, "generate") && strcmp(a->cmd, "tokenize"))
        return cli_usage_error("unknown command '%s' (ppl, drift, generate or tokenize)", a->cmd);
    int drift = !strcmp(a->cmd, "drift");
    if (argc - optind > MAX_MODELS)
        return cli_usage_error("too many model files (at most %d)", MAX_MODELS);
    for (; optind < argc; optind++)
        a->model[a->n_models++] = argv[optind];
    if (drift && a->n_models < 2)
        return cli_usage_error("drift takes a base model and at least one model to compare with it");
    if (!drift && a->n_models != 1)
        return cli_usage_error("%s takes 1 model file", a->cmd);
    if (a->n_svg && !drift)
        return cli_usage_error("--svg is an option of drift");
    if (a->n_svg && a->n_svg != a->n_models - 1)
        return cli_usage_error("give one --svg FILE per compared model (%d models, %d --svg)", a->n_models - 1,
                               a->n_svg);
    if (a->bos && strcmp(a->cmd, "tokenize"))
        return cli_usage_error("--bos is an option of tokenize");
    if (!strcmp(a->cmd, "tokenize")) {
        if (!a->text == !a->prompt || a->tokens)
            return cli_usage_error("tokenize needs exactly one of --text FILE and --prompt TEXT");
    } else if (strcmp(a->cmd, "generate")) {
        if (!a->text == !a->tokens)
            return cli_usage_error("give exactly one of --text FILE and --tokens FILE");
    } else if (!a->prompt) {
        return cli_usage_error("generate needs --prompt TEXT");
    }
    return 0;
}

/* Whole file into memory (NUL-terminated). */
static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_error("cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) {
            fclose(f);
            return cli_error("out of memory reading %s", path);
        }
        n += fread(b + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb)
            free(b);
        b = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return cli_error("cannot read %s", path);
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

typedef struct loaded {
    llq_file *f;
    llq_model *m;
    llq_tokenizer *tok; /* NULL if the file has none */
} loaded;

/* MemAvailable of /proc/meminfo in bytes; 0 if unknown. */
static unsigned long long mem_available(void)
{
    unsigned long long kb = 0;
    char line[256];
    FILE *fp = fopen("/proc/meminfo", "r");
    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(fp);
    return kb * 1024;
}

/* --load: LOAD_READ or LOAD_MMAP for path (auto: read when the file fits in half the available memory). */
static int load_mode(const char *path, int mode)
{
    struct stat st;
    if (mode != LOAD_AUTO)
        return mode;
    if (stat(path, &st) != 0) /* llq_open reports the problem */
        return LOAD_MMAP;
    return (unsigned long long)st.st_size <= mem_available() / 2 ? LOAD_READ : LOAD_MMAP;
}

/* --arith, or the protocol's arithmetic. */
static int arith_of(const args *a)
{
    return a->arith >= 0 ? a->arith : a->protocol == LLQ_PROTO_LLAMACPP ? LLQ_ARITH_LLAMACPP : LLQ_ARITH_EXACT;
}

static const char *arith_name(const args *a)
{
    return arith_of(a) == LLQ_ARITH_LLAMACPP ? "llama.cpp" : a->act == LLQ_MM_ACT_Q8 ? "exact (q8 activations)" : "exact";
}

static int load(loaded *L, const char *path, int threads, int mode, int arith, int act)
{
    int err = llq_open_flags(&L->f, path, load_mode(path, mode) == LOAD_READ ? LLQ_OPEN_READ : 0);
    if (!err)
        err = llq_model_open(&L->m, L->f, threads);
    if (err)
        return cli_lib_error(err);
    L->m->arith = arith;
    L->m->act = act;
    err = llq_tokenizer_from_llq(&L->tok, L->f);
    if (err && err != LLQ_ENOTFOUND)
        return cli_lib_error(err);
    return 0;
}

static void unload(loaded *L)
{
    llq_tokenizer_free(L->tok);
    llq_model_free(L->m);
    llq_close(L->f);
}

/* The token stream of --text (tokenized by tok, BOS first) or --tokens. */
static int get_tokens(const args *a, const llq_tokenizer *tok, uint32_t **out, size_t *n)
{
    char *buf = NULL;
    size_t len = 0;
    const char *path = a->text ? a->text : a->tokens;
    if (read_file(path, &buf, &len))
        return CLI_ERROR;
    int rc = 0;
    if (a->tokens) {
        if (len % 4)
            rc = cli_error("%s: %zu bytes is not a whole number of uint32 token ids", path, len);
        else if (len == 0)
            rc = cli_error("%s: no tokens", path);
        else if (!(*out = malloc(len)))
            rc = cli_error("out of memory");
        else {
            const uint8_t *p = (const uint8_t *)buf;
            for (size_t i = 0; i < len / 4; i++)
                (*out)[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                            (uint32_t)p[4 * i + 3] << 24;
            *n = len / 4;
        }
    } else if (len == 0) {
        rc = cli_error("%s: the text is empty", path);
    } else if (!tok) {
        rc = cli_error("%s: the model has no tokenizer; use --tokens", a->model[0]);
    } else {
        int err = llq_tokenize(tok, buf, len, 1, out, n);
        if (err)
            rc = cli_lib_error(err);
    }
    free(buf);
    return rc;
}

/* Progress: tokens done (the library reports after every layer of every window), tokens/s, ETA (cli_progress
 * prints the bar and ETA; the label carries the rate). */
struct prog {
    double t0;
    char label[64]; /* same buffer every call, so cli_progress keeps its clock */
};

static void progress(void *ud, size_t done, size_t total)
{
    struct prog *p = ud;
    double el = cli_now() - p->t0;
    snprintf(p->label, sizeof p->label, "tokens (%.0f/s)", el > 0 ? (double)done / el : 0.0);
    cli_progress(p->label, done, total);
}

/* After a run with a window the model's metadata could not check (its trained context is unknown). */
static void note_unknown_ctx(const args *a, const loaded *L, size_t ctx)
{
    if (!L->m->hp.context_length)
        cli_info("%s: trained context unknown (llama.context_length 0): windows of %zu tokens were not checked "
                 "against it", a->model[0], ctx);
}

static int setup_opts(llq_eval_opts *o, const args *a, const loaded *L)
{
    memset(o, 0, sizeof *o);
    uint32_t cl = L->m->hp.context_length;
    /* An unknown trained context (0, e.g. Meta's params.json has none) gets no silent default window: 512 on a
     * model trained on 256 would score it past what it learned, and nothing bounds a given window. */
    if (!a->ctx_set && !cl)
        return cli_error("%s: llama.context_length is 0 (the context it was trained on is unknown): give the window "
                         "length with --ctx N (llq-convert --context N stores it in the file)", a->model[0]);
    o->ctx = a->ctx_set ? (size_t)a->ctx : cl;
    o->max_chunks = a->chunks > 0 ? (size_t)a->chunks : 0;
    o->protocol = a->protocol;
    o->per_layer = a->per_layer;
    int32_t bos = L->tok ? llq_tokenizer_bos(L->tok) : 1;
    o->bos = bos >= 0 ? (uint32_t)bos : 1;
    return 0;
}

static void jadd_d(json_object *o, const char *k, double v)
{
    json_object_object_add(o, k, isfinite(v) ? json_object_new_double(v) : NULL);
}

static void jadd_stat(json_object *o, const char *k, llq_stat s)
{
    json_object *j = json_object_new_object();
    jadd_d(j, "value", s.v);
    if (s.se >= 0)
        jadd_d(j, "se", s.se);
    else
        json_object_object_add(j, "se", NULL);
    json_object_object_add(o, k, j);
}

static const char *proto_name(int p)
{
    return p == LLQ_PROTO_LLAMACPP ? "llama.cpp" : "default";
}

static int cmd_ppl(const args *a)
{
    loaded L = {0};
    uint32_t *tokens = NULL;
    size_t n = 0;
    llq_eval_opts o;
    llq_ppl_result r;
    int rc = load(&L, a->model[0], (int)a->threads, a->load, arith_of(a), a->act);
    if (!rc)
        rc = get_tokens(a, L.tok, &tokens, &n);
    if (rc)
        goto done;
    if ((rc = setup_opts(&o, a, &L)))
        goto done;
    double t0 = cli_now();
    struct prog pg = {.t0 = t0};
    cli_progress(pg.label, 0, 1); /* starts the clock */
    int err = llq_eval_ppl(&r, L.m, tokens, n, &o, progress, &pg);
    double dt = cli_now() - t0;
    if (err) {
        rc = cli_lib_error(err);
        goto done;
    }
    double tps = (double)(r.n_windows * o.ctx) / dt;
    note_unknown_ctx(a, &L, o.ctx);
    if (a->json) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "model", json_object_new_string(a->model[0]));
        json_object_object_add(j, "protocol", json_object_new_string(proto_name(o.protocol)));
        json_object_object_add(j, "ctx", json_object_new_int64((int64_t)o.ctx));
        json_object_object_add(j, "tokens", json_object_new_int64((int64_t)n));
        json_object_object_add(j, "windows", json_object_new_int64((int64_t)r.n_windows));
        json_object_object_add(j, "scored", json_object_new_int64((int64_t)r.n_scored));
        jadd_d(j, "ppl", r.ppl);
        jadd_d(j, "ppl_se", r.ppl_se);
        jadd_d(j, "mean_nll", r.mean_nll);
        jadd_d(j, "mean_nll_se", r.nll_se);
        json_object_object_add(j, "arith",
                               json_object_new_string(arith_of(a) == LLQ_ARITH_LLAMACPP ? "llama.cpp" : "exact"));
        json_object_object_add(j, "act", json_object_new_string(a->act == LLQ_MM_ACT_Q8 ? "q8" : "f32"));
        json_object_object_add(j, "kernel", json_object_new_string(llq_kernel_impl_name()));
        json_object_object_add(j, "threads", json_object_new_int(llq_pool_size(L.m->pool)));
        jadd_d(j, "seconds", dt);
        jadd_d(j, "tokens_per_s", tps);
        cli_json_print(j);
    } else {
        printf("model     %s\n", a->model[0]);
        printf("protocol  %s, ctx %zu: %zu windows, %zu positions scored (%zu tokens); %s arithmetic\n",
               proto_name(o.protocol), o.ctx, r.n_windows, r.n_scored, n, arith_name(a));
        printf("ppl       %.6f ± %.6f\n", r.ppl, r.ppl_se);
        printf("mean NLL  %.8f ± %.8f\n", r.mean_nll, r.nll_se);
        printf("speed     %.1f tokens/s (%.2f s, %s kernels, %d threads)\n", tps, dt, llq_kernel_impl_name(),
               llq_pool_size(L.m->pool));
    }
done:
    free(tokens);
    unload(&L);
    return rc;
}

/* The drift in llama-perplexity --kl-divergence's words and layout, so that the lines compare one by one. */
static void print_lcpp(const llq_drift_lcpp *l, const llq_drift_result *r)
{
    static const char *const kn[LLQ_LCPP_KLD_PCT] = {"99.9%", "99.0%", "95.0%", "90.0%", "Median", "10.0%", " 5.0%",
                                                      " 1.0%", " 0.1%"};
    static const char *const dn[LLQ_LCPP_DP_PCT] = {"99.9%", "99.0%", "95.0%", "90.0%", "75.0%", "Median", "25.0%",
                                                     "10.0%", " 5.0%", " 1.0%", " 0.1%"};
    printf("\n====== Perplexity statistics (llama-perplexity's terms) ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", r->ppl_quant.v, r->ppl_quant.se);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", r->ppl_base.v, r->ppl_base.se);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100 * l->cor);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", l->ln_ratio.v, l->ln_ratio.se);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", l->ratio.v, l->ratio.se);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", l->diff.v, l->diff.se);
    printf("\n====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", l->kld_mean.v, l->kld_mean.se);
    printf("Maximum KLD: %10.6f\n", l->kld_max);
    for (int i = 0; i < LLQ_LCPP_KLD_PCT; i++)
        printf("%-6s  KLD: %10.6f\n", kn[i], l->kld_pct[i]);
    printf("Minimum KLD: %10.6f\n", l->kld_min);
    printf("\n====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100 * l->dp_mean.v, 100 * l->dp_mean.se);
    printf("Maximum Δp: %6.3f%%\n", 100 * l->dp_max);
    for (int i = 0; i < LLQ_LCPP_DP_PCT; i++)
        printf("%-6s  Δp: %6.3f%%\n", dn[i], 100 * l->dp_pct[i]);
    printf("Minimum Δp: %6.3f%%\n", 100 * l->dp_min);
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100 * l->rms_dp.v, 100 * l->rms_dp.se);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100 * l->same_top.v, 100 * l->same_top.se);
}

static json_object *lcpp_json(const llq_drift_lcpp *l)
{
    json_object *j = json_object_new_object(), *kp = json_object_new_object(), *dp = json_object_new_object();
    char k[16];
    jadd_stat(j, "ln_ppl_ratio", l->ln_ratio);
    jadd_stat(j, "ppl_ratio", l->ratio);
    jadd_stat(j, "ppl_diff", l->diff);
    jadd_d(j, "cor_ln_ppl", l->cor);
    jadd_stat(j, "kld_mean", l->kld_mean);
    jadd_d(j, "kld_max", l->kld_max);
    jadd_d(j, "kld_min", l->kld_min);
    for (int i = 0; i < LLQ_LCPP_KLD_PCT; i++) {
        snprintf(k, sizeof k, "%g", 100 * llq_lcpp_kld_pct()[i]);
        jadd_d(kp, k, l->kld_pct[i]);
    }
    json_object_object_add(j, "kld_percentiles", kp);
    jadd_stat(j, "dp_mean", l->dp_mean);
    jadd_d(j, "dp_max", l->dp_max);
    jadd_d(j, "dp_min", l->dp_min);
    for (int i = 0; i < LLQ_LCPP_DP_PCT; i++) {
        snprintf(k, sizeof k, "%g", 100 * llq_lcpp_dp_pct()[i]);
        jadd_d(dp, k, l->dp_pct[i]);
    }
    json_object_object_add(j, "dp_percentiles", dp);
    jadd_stat(j, "rms_dp", l->rms_dp);
    jadd_stat(j, "same_top", l->same_top);
    return j;
}

/* One compared model of drift: its file's size and bits per weight (tensor bytes · 8 / weights, as
 * llq-inspect), the result and the seconds its pass took. */
typedef struct drift_row {
    const char *path;
    uint64_t file_size;
    double bpw, seconds;
    llq_drift_result r;
} drift_row;

static double bits_per_weight(const llq_file *f)
{
    uint64_t bytes = 0, elems = 0;
    for (size_t i = 0; i < llq_n_tensors(f); i++) {
        const llq_tensor *t = llq_tensor_at(f, i);
        bytes += t->size;
        elems += t->n_elem;
    }
    return elems ? 8.0 * (double)bytes / (double)elems : 0;
}

static json_object *drift_json(const args *a, const llq_eval_opts *o, size_t n, const drift_row *d, int threads)
{
    const llq_drift_result *r = &d->r;
    json_object *j = json_object_new_object();
    json_object_object_add(j, "base", json_object_new_string(a->model[0]));
    json_object_object_add(j, "quant", json_object_new_string(d->path));
    json_object_object_add(j, "file_size", json_object_new_int64((int64_t)d->file_size));
    jadd_d(j, "bits_per_weight", d->bpw);
    json_object_object_add(j, "protocol", json_object_new_string(proto_name(o->protocol)));
    json_object_object_add(j, "ctx", json_object_new_int64((int64_t)o->ctx));
    json_object_object_add(j, "tokens", json_object_new_int64((int64_t)n));
    json_object_object_add(j, "windows", json_object_new_int64((int64_t)r->n_windows));
    json_object_object_add(j, "scored", json_object_new_int64((int64_t)r->n_scored));
    jadd_stat(j, "ppl_base", r->ppl_base);
    jadd_stat(j, "ppl_quant", r->ppl_quant);
    jadd_stat(j, "dppl", r->dppl);
    jadd_stat(j, "dppl_pct", r->dppl_pct);
    jadd_stat(j, "kld_mean", r->kld_mean);
    jadd_stat(j, "kld_median", r->kld_median);
    jadd_stat(j, "kld_p99", r->kld_p99);
    jadd_stat(j, "kld_max", r->kld_max);
    jadd_stat(j, "top1_pct", r->top1);
    jadd_stat(j, "rms_dp", r->rms_dp);
    if (r->layer_relerr && a->per_layer) {
        json_object *arr = json_object_new_array();
        for (uint32_t l = 0; l < r->n_layers; l++)
            json_object_array_add(arr, isfinite(r->layer_relerr[l]) ? json_object_new_double(r->layer_relerr[l]) : NULL);
        json_object_object_add(j, "layer_relerr", arr);
    }
    const char *ar = arith_of(a) == LLQ_ARITH_LLAMACPP ? "llama.cpp" : "exact";
    json_object_object_add(j, "arith", json_object_new_string(ar));
    json_object_object_add(j, "act", json_object_new_string(a->act == LLQ_MM_ACT_Q8 ? "q8" : "f32"));
    json_object_object_add(j, "llama_cpp", lcpp_json(&r->lcpp));
    json_object_object_add(j, "kernel", json_object_new_string(llq_kernel_impl_name()));
    json_object_object_add(j, "threads", json_object_new_int(threads));
    jadd_d(j, "seconds", d->seconds);
    return j;
}

/* One model against the base: the report of earlier versions, kept line for line. */
static void drift_print_one(const args *a, const llq_eval_opts *o, const drift_row *d, int threads)
{
    const llq_drift_result *r = &d->r;
    printf("base       %s\nquant      %s\n", a->model[0], d->path);
    printf("protocol   %s, ctx %zu: %zu windows, %zu positions scored; %s arithmetic\n", proto_name(o->protocol),
           o->ctx, r->n_windows, r->n_scored, arith_name(a));
    printf("kernel     %s (%d threads, %.2f s)\n", llq_kernel_impl_name(), threads, d->seconds);
    printf("ppl base   %.6f ± %.6f\n", r->ppl_base.v, r->ppl_base.se);
    printf("ppl quant  %.6f ± %.6f\n", r->ppl_quant.v, r->ppl_quant.se);
    printf("Δppl       %+.6f ± %.6f (%+.4f %% ± %.4f %%)\n", r->dppl.v, r->dppl.se, r->dppl_pct.v, r->dppl_pct.se);
    printf("KLD mean   %.6g ± %.2g\n", r->kld_mean.v, r->kld_mean.se);
    printf("KLD median %.6g ± %.2g\n", r->kld_median.v, r->kld_median.se);
    printf("KLD p99    %.6g ± %.2g\n", r->kld_p99.v, r->kld_p99.se);
    printf("KLD max    %.6g\n", r->kld_max.v);
    printf("top-1 same %.4f %% ± %.4f %%\n", r->top1.v, r->top1.se);
    printf("RMS Δp     %.6f ± %.6f\n", r->rms_dp.v, r->rms_dp.se);
    for (uint32_t l = 0; r->layer_relerr && a->per_layer && l < r->n_layers; l++)
        printf("layer %-4u relative error of the hidden state %.6g\n", l, r->layer_relerr[l]);
    print_lcpp(&r->lcpp, r);
}

/* s right-aligned in w columns after two spaces (UTF-8: a column per character, not per byte) */
static void cell(const char *s, int w)
{
    int cols = 0;
    for (const char *p = s; *p; p++)
        cols += ((unsigned char)*p & 0xC0) != 0x80;
    printf("  %*s%s", w > cols ? w - cols : 0, "", s);
}

/* Several models: one row each (the base's ppl once above the table). */
static void drift_print_table(const args *a, const llq_eval_opts *o, const drift_row *d, int nq, int threads)
{
    int w = 5;
    double secs = 0;
    for (int i = 0; i < nq; i++) {
        int len = (int)strlen(d[i].path);
        w = len > w ? len : w;
        secs += d[i].seconds;
    }
    printf("base       %s\n", a->model[0]);
    printf("protocol   %s, ctx %zu: %zu windows, %zu positions scored; %s arithmetic\n", proto_name(o->protocol),
           o->ctx, d[0].r.n_windows, d[0].r.n_scored, arith_name(a));
    printf("kernel     %s (%d threads, %.2f s)\n", llq_kernel_impl_name(), threads, secs);
    printf("ppl base   %.6f ± %.6f\n\n", d[0].r.ppl_base.v, d[0].r.ppl_base.se);
    static const char *const head[] = {"MB", "bits/w", "ppl", "Δppl %", "KLD mean", "KLD median", "KLD p99",
                                       "KLD max", "top-1 %", "RMS Δp"};
    static const int width[] = {8, 7, 20, 16, 20, 10, 10, 8, 8, 9};
    printf("%-*s", w, "model");
    for (int c = 0; c < 10; c++)
        cell(head[c], width[c]);
    putchar('\n');
    for (int i = 0; i < nq; i++) {
        const llq_drift_result *r = &d[i].r;
        char v[10][48];
        snprintf(v[0], sizeof v[0], "%.2f", (double)d[i].file_size / 1e6);
        snprintf(v[1], sizeof v[1], "%.3f", d[i].bpw);
        snprintf(v[2], sizeof v[2], "%.4f ± %.4f", r->ppl_quant.v, r->ppl_quant.se);
        snprintf(v[3], sizeof v[3], "%+.3f ± %.3f", r->dppl_pct.v, r->dppl_pct.se);
        snprintf(v[4], sizeof v[4], "%.6f ± %.1e", r->kld_mean.v, r->kld_mean.se);
        snprintf(v[5], sizeof v[5], "%.6f", r->kld_median.v);
        snprintf(v[6], sizeof v[6], "%.6f", r->kld_p99.v);
        snprintf(v[7], sizeof v[7], "%.4f", r->kld_max.v);
        snprintf(v[8], sizeof v[8], "%.3f", r->top1.v);
        snprintf(v[9], sizeof v[9], "%.6f", r->rms_dp.v);
        printf("%-*s", w, d[i].path);
        for (int c = 0; c < 10; c++)
            cell(v[c], width[c]);
        putchar('\n');
    }
    if (!a->per_layer)
        return;
    printf("\nrelative error of the hidden state after each layer\n%-5s", "layer");
    for (int i = 0; i < nq; i++)
        cell(d[i].path, 12);
    putchar('\n');
    for (uint32_t l = 0; l < d[0].r.n_layers; l++) {
        printf("%-5u", l);
        for (int i = 0; i < nq; i++) {
            char v[32];
            snprintf(v, sizeof v, "%.6g", l < d[i].r.n_layers ? d[i].r.layer_relerr[l] : NAN);
            cell(v, (int)strlen(d[i].path) > 12 ? (int)strlen(d[i].path) : 12);
        }
        putchar('\n');
    }
}

/* drift BASE Q1 [Q2 ...]: each Qi against BASE on the same windows, one model at a time (the base is run
 * again for each: only two models are in memory at once). */
static int cmd_drift(const args *a)
{
    loaded B = {0};
    uint32_t *tokens = NULL;
    size_t n = 0;
    llq_eval_opts o;
    int nq = a->n_models - 1, rc = 0, threads = 0;
    drift_row *d = calloc((size_t)nq, sizeof *d);
    cli_out svg[MAX_MODELS];
    const char *inputs[MAX_MODELS + 1];
    memset(svg, 0, sizeof svg);
    for (int i = 0; i < a->n_models; i++)
        inputs[i] = a->model[i];
    inputs[a->n_models] = a->text ? a->text : a->tokens;
    if (!d)
        rc = cli_error("out of memory");
    for (int i = 0; !rc && i < a->n_svg; i++) /* every chart path checked before the work */
        rc = cli_out_open(&svg[i], a->svg[i], a->force, inputs, a->n_models + 1);
    for (int i = 0; !rc && i < a->n_svg; i++)
        for (int k = 0; !rc && k < i; k++)
            if (!strcmp(a->svg[i], a->svg[k]))
                rc = cli_usage_error("--svg %s is given twice", a->svg[i]);
    if (!rc)
        rc = load(&B, a->model[0], (int)a->threads, a->load, arith_of(a), a->act);
    if (!rc)
        rc = get_tokens(a, B.tok, &tokens, &n);
    if (rc)
        goto done;
    threads = llq_pool_size(B.m->pool);
    if ((rc = setup_opts(&o, a, &B)))
        goto done;
    o.per_layer |= a->n_svg > 0;
    o.keep_kld = a->n_svg > 0;
    for (int i = 0; i < nq; i++) {
        loaded Q = {0};
        d[i].path = a->model[i + 1];
        if ((rc = load(&Q, d[i].path, (int)a->threads, a->load, arith_of(a), a->act))) {
            unload(&Q); /* what load opened before it failed */
            goto done;
        }
        d[i].file_size = llq_file_size(Q.f);
        d[i].bpw = bits_per_weight(Q.f);
        double t0 = cli_now();
        struct prog pg = {.t0 = t0};
        cli_progress(pg.label, 0, 1);
        int err = llq_eval_drift(&d[i].r, B.m, Q.m, tokens, n, &o, progress, &pg);
        d[i].seconds = cli_now() - t0;
        unload(&Q);
        if (err) {
            rc = nq > 1 ? cli_error("%s: %s", d[i].path, llq_errmsg()) : cli_lib_error(err);
            goto done;
        }
        if (a->n_svg) {
            if ((err = cli_svg_drift(svg[i].f, a->model[0], d[i].path, &d[i].r))) {
                rc = cli_error("%s: %s", a->svg[i], llq_errmsg());
                goto done;
            }
            if ((rc = cli_out_commit(&svg[i])))
                goto done;
            cli_info("wrote %s", a->svg[i]);
        }
    }
    note_unknown_ctx(a, &B, o.ctx);
    if (a->json) {
        json_object *j = nq == 1 ? drift_json(a, &o, n, &d[0], threads) : json_object_new_array();
        for (int i = 0; nq > 1 && i < nq; i++)
            json_object_array_add(j, drift_json(a, &o, n, &d[i], threads));
        cli_json_print(j);
    } else if (nq == 1) {
        drift_print_one(a, &o, &d[0], threads);
    } else {
        drift_print_table(a, &o, d, nq, threads);
    }
done:
    for (int i = 0; i < a->n_svg; i++)
        cli_out_abort(&svg[i]);
    for (int i = 0; d && i < nq; i++)
        llq_drift_result_free(&d[i].r);
    free(d);
    free(tokens);
    unload(&B);
    return rc;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t sample(const float *logits, uint32_t vocab, double temp, uint64_t *rng, double *probs)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    if (temp <= 0)
        return best;
    double sum = 0;
    for (uint32_t i = 0; i < vocab; i++)
        sum += probs[i] = exp(((double)logits[i] - logits[best]) / temp);
    double u = (double)(rng_next(rng) >> 11) * (1.0 / 9007199254740992.0) * sum;
    for (uint32_t i = 0; i < vocab; i++) {
        u -= probs[i];
        if (u < 0)
            return i;
    }
    return best;
}

static int cmd_generate(const args *a)
{
    loaded L = {0};
    uint32_t *ids = NULL;
    size_t n = 0;
    llq_kv *kv = NULL;
    float *logits = NULL;
    double *probs = NULL;
    int rc = load(&L, a->model[0], (int)a->threads, a->load, arith_of(a), a->act), err = 0;
    if (rc)
        goto done;
    if (!L.tok) {
        rc = cli_error("%s: the model has no tokenizer", a->model[0]);
        goto done;
    }
    if ((err = llq_tokenize(L.tok, a->prompt, strlen(a->prompt), 1, &ids, &n)))
        goto done;
    uint32_t vocab = L.m->hp.vocab_size;
    if (n == 0 || n + (size_t)a->n_gen > L.m->max_pos) {
        rc = cli_error("prompt (%zu tokens) + %llu new tokens exceed the model's context of %u", n,
                       (unsigned long long)a->n_gen,
                       L.m->max_pos);
        goto done;
    }
    logits = malloc(vocab * sizeof *logits);
    probs = malloc(vocab * sizeof *probs);
    if (!logits || !probs) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((err = llq_kv_new(&kv, L.m, (uint32_t)(n + (size_t)a->n_gen))))
        goto done;
    uint64_t rng = a->seed;
    double t0 = cli_now();
    if ((err = llq_model_step(L.m, kv, ids, n, logits)))
        goto done;
    double t1 = cli_now();
    fputs(a->prompt, stdout);
    fflush(stdout);
    int32_t prev = (int32_t)ids[n - 1], eos = llq_tokenizer_eos(L.tok);
    uint64_t made = 0;
    char piece[LLQ_TOKEN_DECODE_MAX];
    for (; made < a->n_gen; made++) {
        uint32_t next = sample(logits, vocab, a->temp, &rng, probs);
        if ((int32_t)next == eos || llq_hp_is_eos(&L.m->hp, next)) /* the tokenizer's EOS or any of the model's */
            break;
        int len = llq_token_decode(L.tok, prev, next, piece, sizeof piece);
        if (len > 0)
            fwrite(piece, 1, (size_t)len, stdout);
        fflush(stdout);
        prev = (int32_t)next;
        if (made + 1 < a->n_gen && (err = llq_model_step(L.m, kv, &next, 1, logits)))
            goto done;
    }
    double t2 = cli_now();
    putchar('\n');
    cli_info("prompt %zu tokens in %.3f s; generated %llu tokens in %.3f s (%.2f tokens/s, %s kernels, %d threads)", n,
             t1 - t0, (unsigned long long)made, t2 - t1, made > 0 ? (double)made / (t2 - t1) : 0.0, llq_kernel_impl_name(),
             llq_pool_size(L.m->pool));
done:
    if (err)
        rc = cli_lib_error(err);
    llq_kv_free(kv);
    free(logits);
    free(probs);
    free(ids);
    unload(&L);
    return rc;
}

/* A piece for printing: printable ASCII and valid UTF-8 as is; backslash, control and stray bytes as \xNN. */
static char *escape_piece(const char *p, size_t n)
{
    char *o = malloc(4 * n + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        int ok = len > 1 && i + len <= n;
        for (size_t j = 1; ok && j < len; j++)
            ok = ((unsigned char)p[i + j] & 0xc0) == 0x80;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            o[k++] = (char)c;
            i++;
        } else if (ok) {
            memcpy(o + k, p + i, len);
            k += len;
            i += len;
        } else {
            k += (size_t)snprintf(o + k, 5, "\\x%02x", c);
            i++;
        }
    }
    o[k] = 0;
    return o;
}

static int cmd_tokenize(const args *a)
{
    const char *path = a->model[0];
    size_t pl = strlen(path), len = 0, n = 0;
    llq_file *f = NULL;
    llq_tokenizer *tok = NULL;
    char *text = NULL;
    uint32_t *ids = NULL;
    json_object *j = NULL;
    int rc = 0, err;
    if ((pl >= 4 && !strcmp(path + pl - 4, ".llq")) || (pl >= 5 && !strcmp(path + pl - 5, ".gguf"))) {
        if (!(err = llq_open(&f, path)))
            err = llq_tokenizer_from_llq(&tok, f);
    } else {
        err = llq_tokenizer_load(&tok, path);
    }
    if (err) {
        rc = cli_lib_error(err);
        goto done;
    }
    if (a->text && read_file(a->text, &text, &len)) {
        rc = CLI_ERROR;
        goto done;
    }
    if ((err = llq_tokenize(tok, a->text ? text : a->prompt, a->text ? len : strlen(a->prompt), a->bos, &ids, &n))) {
        rc = cli_lib_error(err);
        goto done;
    }
    json_object *ja = NULL, *jp = NULL;
    if (a->json) {
        j = json_object_new_object();
        ja = json_object_new_array();
        jp = json_object_new_array();
        json_object_object_add(j, "model", json_object_new_string(path));
        json_object_object_add(j, "tokenizer", json_object_new_string(llq_tokenizer_kind(tok)));
        json_object_object_add(j, "n_vocab", json_object_new_int64(llq_tokenizer_n_vocab(tok)));
        json_object_object_add(j, "n_tokens", json_object_new_int64((int64_t)n));
        json_object_object_add(j, "ids", ja);
        json_object_object_add(j, "pieces", jp);
    }
    for (size_t i = 0; i < n; i++) {
        size_t plen;
        const char *p = llq_token_piece(tok, ids[i], &plen);
        char *e = escape_piece(p, plen);
        if (!e) {
            rc = cli_error("out of memory");
            goto done;
        }
        if (a->json) {
            json_object_array_add(ja, json_object_new_int64(ids[i]));
            json_object_array_add(jp, json_object_new_string(e));
        } else {
            printf("%u\t%s\n", ids[i], e);
        }
        free(e);
    }
    if (a->json)
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    cli_info("%zu tokens (%s tokenizer, %u ids)", n, llq_tokenizer_kind(tok), llq_tokenizer_n_vocab(tok));
done:
    json_object_put(j);
    free(ids);
    free(text);
    llq_tokenizer_free(tok);
    llq_close(f);
    return rc;
}

int main(int argc, char **argv)
{
    args a;
    cli_init("llq-eval");
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc;
    llq_kernel_set_impl(a.kernel);
    if (!strcmp(a.cmd, "ppl"))
        return cmd_ppl(&a);
    if (!strcmp(a.cmd, "drift"))
        return cmd_drift(&a);
    if (!strcmp(a.cmd, "tokenize"))
        return cmd_tokenize(&a);
    return cmd_generate(&a);
}
