/* llq-convert — a LLaMA checkpoint (Meta or Hugging Face layout), a .llq or a GGUF file to .llq or GGUF (the
 * output's extension chooses). The work is llq_convert (convert.h). */
#include "cli.h"
#include "llq/convert.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: llq-convert SRC -o OUT.llq|OUT.gguf [options]\n"
           "\n"
           "Converts a LLaMA checkpoint to one .llq file (docs/FORMAT.md), without Python and without executing\n"
           "anything from a pickle. The output's extension chooses the format: OUT.gguf is written as GGUF v3 for\n"
           "llama.cpp (docs/FORMAT.md \"GGUF\": q8 -> Q8_0 and q4 -> Q4_0 with the same values, q4a -> Q4_1 with its\n"
           "min rounded to f16, the worst deviation printed; tensors no GGUF type holds, a sliding window and a\n"
           "BPE pre-tokenizer llama.cpp has no name for are refused by name), any\n"
           "other name as .llq. SRC may also be a .llq file or a GGUF file (llama.cpp's; F32/F16/BF16/Q8_0/Q4_0\n"
           "tensors, copied as they are, or dequantized exactly with --dtype). Otherwise SRC is a directory or one\n"
           "checkpoint file (its params.json / config.json is read from the same directory):\n"
           "  Meta layout:         consolidated.00.pth ... consolidated.NN.pth + params.json (+ tokenizer.model);\n"
           "                       several files are model-parallel shards and are joined.\n"
           "  Hugging Face layout: config.json + model.safetensors, pytorch_model.bin, or their shards with\n"
           "                       model.safetensors.index.json / pytorch_model.bin.index.json (+ tokenizer.model).\n"
           "                       q/k rows are un-permuted to Meta's rotary order: both layouts give the same tensors.\n"
           "A directory holding both model.safetensors and pytorch_model.bin uses model.safetensors; name a file to\n"
           "choose. The SentencePiece tokenizer.model beside the checkpoint (for Meta, also one directory up) is\n"
           "stored in the metadata; without one the conversion fails unless --no-tokenizer is given.\n"
           "\n"
           "Options:\n"
           "  -o, --output FILE     output file (required): .gguf for GGUF, else .llq; written to a temp file\n"
           "                        beside it, then renamed\n"
           "  --layout meta|hf      force the layout instead of detecting it\n"
           "  --dtype f32|f16|bf16  type of every output tensor (default: matrices keep the source precision,\n"
           "                        f64 becomes f32; 1-D tensors become f32). Rounding is to nearest even.\n"
           "                        From a .llq / GGUF source: every tensor dequantized exactly, then rounded\n"
           "                        (.llq outputs only)\n"
           "  --tokenizer FILE      tokenizer.model to store instead of the one beside the checkpoint\n"
           "  --no-tokenizer        convert without a tokenizer when none is found\n"
           "  --lean                GGUF output: leave out llq's provenance and recipe keys (llq.version,\n"
           "                        llq.provenance.*, llq.quant.*) and the keys whose value llama.cpp assumes\n"
           "                        anyway, so the file is no larger than llama.cpp's own of the same tensors\n"
           "  --context N           store N as the trained context length (llama.context_length) instead of the\n"
           "                        source's max_seq_len / max_position_embeddings (0 when it has none)\n"
           "  -f, --force           replace OUT if it exists (an input file is never replaced)\n"
           "  --json                print a JSON summary on stdout\n"
           "  -q, --quiet           no progress bar or summary line on stderr\n"
           "  -h, --help            this help\n"
           "  --version             print the version\n"
           "\n"
           "Exit status: 0 ok, 1 error (one line on stderr naming the file and the problem), 2 usage error.\n"
           "\n"
           "Examples:\n"
           "  llq-convert models/pydoc-7m -o pydoc-7m.llq --context 256\n"
           "  llq-convert llama-2-13b/ -o llama-2-13b.f16.llq --dtype f16\n"
           "  llq-convert Llama-2-7b-hf/model.safetensors.index.json -o llama2-7b.llq --json\n"
           "  llq-convert hf/pytorch_model.bin -o model.llq --force\n"
           "  llq-convert model-q4.llq -o model-q4.gguf          # for llama.cpp\n"
           "  llq-convert pydoc-7m-Q8_0.gguf -o pydoc-7m-q8.llq  # llama.cpp's file as .llq\n");
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    cli_progress("converting", done, total);
}

static void add_int(json_object *j, const char *key, int64_t v)
{
    json_object_object_add(j, key, json_object_new_int64(v));
}

static void add_str(json_object *j, const char *key, const char *v)
{
    json_object_object_add(j, key, json_object_new_string(v));
}

static void print_json(const char *out, const llq_convert_report *r)
{
    json_object *j = json_object_new_object(), *hp = json_object_new_object();
    add_str(j, "output", out);
    add_str(j, "layout", r->layout);
    add_str(j, "source_format", r->src_format);
    add_str(j, "source_dtype", r->src_dtype);
    add_str(j, "dtype", r->out_dtype);
    add_int(j, "files", r->n_files);
    add_int(j, "tensors", r->n_tensors);
    add_int(j, "dropped", r->n_dropped);
    json_object_object_add(j, "tokenizer", json_object_new_boolean(r->tokenizer));
    add_int(j, "bytes_in", (int64_t)r->bytes_in);
    add_int(j, "bytes", (int64_t)r->bytes_out);
    add_int(j, "file_size", (int64_t)r->file_size);
    add_str(j, "format", r->gguf ? "gguf" : "llq");
    if (r->gguf) {
        add_int(j, "gguf_file_type", r->gg.file_type);
        json_object_object_add(j, "q4_1_max_dev", json_object_new_double(r->gg.q4_1_max_dev));
        json_object_object_add(j, "q4_1_max_rel", json_object_new_double(r->gg.q4_1_max_rel));
    }
    json_object_object_add(j, "seconds", json_object_new_double(r->seconds));
    add_int(hp, "dim", r->hp.dim);
    add_int(hp, "n_layers", r->hp.n_layers);
    add_int(hp, "n_heads", r->hp.n_heads);
    add_int(hp, "n_kv_heads", r->hp.n_kv_heads);
    add_int(hp, "ffn_dim", r->hp.ffn_dim);
    add_int(hp, "vocab_size", r->hp.vocab_size);
    add_int(hp, "context_length", r->hp.context_length);
    json_object_object_add(hp, "norm_eps", json_object_new_double(r->hp.norm_eps));
    json_object_object_add(hp, "rope_theta", json_object_new_double(r->hp.rope_theta));
    json_object_object_add(j, "hparams", hp);
    cli_json_print(j);
}

int main(int argc, char **argv)
{
    enum { O_LAYOUT = 256, O_DTYPE, O_TOKENIZER, O_NO_TOKENIZER, O_JSON, O_VERSION, O_CONTEXT, O_LEAN };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},
        {"layout", required_argument, 0, O_LAYOUT},
        {"dtype", required_argument, 0, O_DTYPE},
        {"tokenizer", required_argument, 0, O_TOKENIZER},
        {"no-tokenizer", no_argument, 0, O_NO_TOKENIZER},
        {"context", required_argument, 0, O_CONTEXT},
        {"lean", no_argument, 0, O_LEAN},
        {"force", no_argument, 0, 'f'},
        {"json", no_argument, 0, O_JSON},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0}};
    llq_convert_opts o = {0};
    llq_convert_report rep;
    int c, json = 0, err;
    cli_init("llq-convert");
    o.dtype = LLQ_CONVERT_KEEP;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'f': o.flags |= LLQ_CONVERT_FORCE; break;
        case 'q': cli_quiet = 1; break;
        case 'h': usage(); return CLI_OK;
        case O_VERSION: cli_version(); return CLI_OK;
        case O_JSON: json = 1; break;
        case O_TOKENIZER: o.tokenizer = optarg; break;
        case O_NO_TOKENIZER: o.flags |= LLQ_CONVERT_NO_TOKENIZER; break;
        case O_LEAN: o.flags |= LLQ_CONVERT_LEAN; break;
        case O_CONTEXT: {
            uint64_t v;
            if (cli_parse_u64(&v, optarg, 1, 1u << 24, "--context"))
                return CLI_USAGE;
            o.context_length = (uint32_t)v;
            break;
        }
        case O_LAYOUT:
            if (strcmp(optarg, "meta") == 0)
                o.layout = LLQ_LAYOUT_META;
            else if (strcmp(optarg, "hf") == 0)
                o.layout = LLQ_LAYOUT_HF;
            else
                return cli_usage_error("--layout must be meta or hf, not '%s'", optarg);
            break;
        case O_DTYPE:
            if (llq_type_parse(&o.dtype, optarg) || llq_type_is_quant(o.dtype))
                return cli_usage_error("--dtype must be f32, f16 or bf16, not '%s' (quantize with llq-quantize)",
                                       optarg);
            break;
        default: return cli_getopt_error(c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("no source checkpoint given");
    if (optind + 1 < argc)
        return cli_usage_error("one source only (got '%s' and '%s')", argv[optind], argv[optind + 1]);
    if (!o.out)
        return cli_usage_error("no output file given (-o OUT.llq)");
    size_t ol = strlen(o.out);
    if ((o.flags & LLQ_CONVERT_LEAN) && (ol < 5 || strcmp(o.out + ol - 5, ".gguf")))
        return cli_usage_error("--lean applies to .gguf outputs (got -o %s)", o.out);
    o.src = argv[optind];
    o.progress = progress;
    o.before_temp = cli_before_temp;
    o.on_temp = cli_on_temp;
    err = llq_convert(&o, &rep);
    cli_hold_signals(0); /* if the temp file was never created */
    if (err == LLQ_ENOTFOUND && !o.tokenizer && !(o.flags & LLQ_CONVERT_NO_TOKENIZER) &&
        strstr(llq_errmsg(), "no tokenizer.model"))
        return cli_error("%s; --tokenizer FILE names one, --no-tokenizer converts without", llq_errmsg());
    if (err)
        return cli_lib_error(err);
    if (json)
        print_json(o.out, &rep);
    if (rep.gguf && rep.gg.q4_1_max_dev > 0)
        cli_info("q4a -> Q4_1: min = -z*d rounded to f16, worst deviation %.3g (%.3g of the scale d) in %s",
                 rep.gg.q4_1_max_dev, rep.gg.q4_1_max_rel, rep.gg.q4_1_worst);
    int from_file = strcmp(rep.src_format, "llq") && strcmp(rep.src_format, "gguf"); /* a checkpoint's */
    const char *tp = o.tokenizer ? o.tokenizer : from_file ? "tokenizer.model" : "the source's tokenizer";
    uint32_t rows = rep.hp.vocab_size, pieces = rep.tok_pieces;
    if (rep.tokenizer && pieces < rows && rows - pieces <= rows / 64) /* ~1.5 %: rounded up for the kernels */
        cli_info("note: %s has %u pieces for %u embedding rows: the last %u rows are padding no token maps to", tp,
                 pieces, rows, rows - pieces);
    else if (rep.tokenizer && pieces < rows)
        cli_warn("%s has %u pieces, far fewer than the %u embedding rows: probably another model's tokenizer", tp,
                 pieces, rows);
    if (rep.tied_lm_head)
        cli_info("note: config.json says tie_word_embeddings, but the checkpoint has its own lm_head.weight: "
                 "dropped, the embeddings are the head (as Hugging Face ties them)");
    cli_info("wrote %s: %u tensors, %.1f MB, %s %s -> %s, %.2f s%s", o.out, rep.n_tensors,
             (double)rep.file_size / 1e6, rep.layout, rep.src_dtype, rep.out_dtype, rep.seconds,
             rep.tokenizer ? "" : ", no tokenizer");
    return CLI_OK;
}
