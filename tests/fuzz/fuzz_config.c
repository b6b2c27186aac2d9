/* fuzz_config.c — the checkpoint configs llq-convert reads (convert/config.c, internal API): the bytes as
 * params.json (Meta) and as config.json (Hugging Face). For hyper-parameters either accepts: they pass
 * llq_hparams_check; the canonical
 * tensor of every slot (first layers and the last ones) maps back to its slot through both the Meta and the
 * Hugging Face name parsers, and its shape is computed. */
#include "fuzz_util.h"

#include <string.h>

#include "../../convert/layout.h"

static void check_slots(const llq_hparams *hp)
{
    uint32_t n = llq_arch_n_slots(hp->n_layers);
    FUZZ_ASSERT(llq_hparams_check(hp, "fuzz", LLQ_HP_VOCAB_LATER) == 0); /* what a parser accepts passes the check */
    for (uint32_t i = 0; i < n; i++) {
        if (i == 32 && n > 64)
            i = n - 32; /* first and last slots only */
        char name[CONV_NAME_MAX], hf[CONV_NAME_MAX + 16];
        uint32_t slot, permute, nd, layer;
        uint64_t dims[2];
        int split;
        const llq_arch_tensor *e = llq_arch_slot(i, hp->n_layers, &layer);
        FUZZ_ASSERT(e != NULL);
        llq_arch_slot_name(name, sizeof name, i, hp->n_layers);
        conv_slot_hf_name(hf, i, hp->n_layers);
        llq_arch_shape(e, hp, &nd, dims);
        FUZZ_ASSERT(nd == 1 || nd == 2);
        if (!llq_arch_needed(e, hp)) { /* biases of a model without them, a tied model's output head */
            FUZZ_ASSERT(conv_meta_name(&slot, &split, name, hp) == -1);
            FUZZ_ASSERT(conv_hf_name(&slot, &permute, hf, hp) <= 0);
            continue;
        }
        FUZZ_ASSERT(conv_meta_name(&slot, &split, name, hp) == 1 && slot == i);
        FUZZ_ASSERT(conv_hf_name(&slot, &permute, hf, hp) == 1 && slot == i);
    }
}

static int fuzz_config(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    llq_hparams hp;
    int flag;
    memset(&hp, 0, sizeof hp);
    if (conv_parse_params(&hp, &flag, text, size, "params.json") == 0)
        check_slots(&hp);
    memset(&hp, 0, sizeof hp);
    if (conv_parse_config(&hp, text, size, "config.json") == 0)
        check_slots(&hp);
    free(text);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_config(data, size); }
#endif
