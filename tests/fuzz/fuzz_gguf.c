/* fuzz_gguf.c — the GGUF reader: llq_open on the bytes (format/gguf_read.c: header, key/value pairs, tensor infos,
 * alignment, translation to the llq view), then every accessor a tool uses (fuzz_walk.h), the hyper-parameters
 * and their tensor check, and a model over the view when it opens. */
#include "fuzz_util.h"
#include "fuzz_walk.h"

#include <string.h>

#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/model.h"

static int fuzz_gguf(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfile(data, size, path);
    if (fd < 0)
        return 0;
    llq_file *f = NULL;
    if (llq_open(&f, path) == 0) {
        FUZZ_ASSERT(strcmp(llq_file_format(f), "gguf") == 0 || strcmp(llq_file_format(f), "llq") == 0);
        walk_meta(f);
        walk_tensors(f);
        llq_hparams hp;
        llq_model *m = NULL;
        if (llq_hparams_read(&hp, f) == 0 && llq_hparams_check_tensors(&hp, f) == 0 && hp.dim <= 256 &&
            hp.n_layers <= 4 && hp.vocab_size <= 4096 && llq_model_open(&m, f, 1) == 0) {
            uint32_t tok[2] = {0, hp.vocab_size - 1};
            float *logits = malloc(2 * (size_t)hp.vocab_size * sizeof *logits);
            if (logits)
                (void)llq_model_forward(m, tok, 2, logits);
            free(logits);
            llq_model_free(m);
        }
        walk_tokenizer(f);
        llq_close(f);
    }
    close(fd);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_gguf(data, size); }
#endif
