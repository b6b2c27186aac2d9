/* llq_logits.c — llq's side of the interop suite (tests/interop/run.sh), through the public API only:
 *   llq_logits logp MODEL exact|llama.cpp ID...   log-softmax of the next token after ID... (one value a line)
 *   llq_logits tok MODEL TEXTFILE                 the model's tokenization of the file's bytes (no BOS), one id a line
 * MODEL is a .llq or GGUF file. The reference (scalar) kernels compute the logits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llq/eval.h"
#include "llq/format.h"
#include "llq/kernels.h"
#include "llq/model.h"
#include "llq/tokenizer.h"

static int fail(const char *what)
{
    fprintf(stderr, "llq_logits: %s: %s\n", what, llq_errmsg());
    return 1;
}

static int logp(llq_file *f, const char *arith, int argc, char **argv)
{
    llq_model *m;
    size_t n = (size_t)argc;
    llq_kernel_set_impl(LLQ_KERNEL_REF); /* the definition: exactness is what is compared */
    if (llq_model_open(&m, f, 1))
        return fail("model");
    m->arith = strcmp(arith, "llama.cpp") == 0 ? LLQ_ARITH_LLAMACPP : LLQ_ARITH_EXACT;
    uint32_t *ids = malloc(n * sizeof *ids);
    size_t V = m->hp.vocab_size;
    float *lg = malloc(n * V * sizeof *lg);
    for (size_t i = 0; i < n; i++)
        ids[i] = (uint32_t)strtoul(argv[i], NULL, 10);
    if (llq_model_forward(m, ids, n, lg))
        return fail("forward");
    const float *last = lg + (n - 1) * V;
    double z = llq_nll(last, V, 0) + (double)last[0]; /* log-sum-exp */
    for (size_t v = 0; v < V; v++)
        printf("%.9g\n", (double)last[v] - z);
    free(ids), free(lg);
    llq_model_free(m);
    return 0;
}

static int tok(llq_file *f, const char *path)
{
    llq_tokenizer *t;
    FILE *fp = fopen(path, "rb");
    char buf[1 << 16];
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    uint32_t *ids;
    size_t n;
    if (fp)
        fclose(fp);
    if (llq_tokenizer_from_llq(&t, f) || llq_tokenize(t, buf, len, 0, &ids, &n))
        return fail("tokenizer");
    for (size_t i = 0; i < n; i++)
        printf("%u\n", ids[i]);
    free(ids);
    llq_tokenizer_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    llq_file *f;
    if (argc < 4) {
        fprintf(stderr, "usage: llq_logits logp MODEL exact|llama.cpp ID... | tok MODEL TEXTFILE\n");
        return 2;
    }
    if (llq_open(&f, argv[2]))
        return fail(argv[2]);
    int rc = !strcmp(argv[1], "tok") ? tok(f, argv[3]) : logp(f, argv[3], argc - 4, argv + 4);
    llq_close(f);
    return rc;
}
