/* hparams.h — LLaMA hyper-parameters as stored in .llq metadata (keys in docs/FORMAT.md "Model"). */
#ifndef LLQ_HPARAMS_H
#define LLQ_HPARAMS_H

#include "llq/format.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llq_hparams {
    char arch[32];          /* "llama" */
    uint32_t dim;           /* model width */
    uint32_t n_layers;
    uint32_t n_heads;
    uint32_t n_kv_heads;    /* == n_heads without grouped-query attention */
    uint32_t ffn_dim;       /* SwiGLU hidden width */
    uint32_t vocab_size;
    uint32_t context_length;/* trained context (0 if unknown) */
    float norm_eps;
    float rope_theta;
} llq_hparams;

/* Reads and checks the llama.* keys: all present, dim % n_heads == 0, n_heads % n_kv_heads == 0, head size even.
 * Errors name the file and the key. */
int llq_hparams_read(llq_hparams *out, const llq_file *f);
/* Writes general.architecture and the llama.* keys. */
int llq_hparams_write(llq_writer *w, const llq_hparams *hp);
/* Checks that every tensor a LLaMA forward pass needs is present with the right shape. */
int llq_hparams_check_tensors(const llq_hparams *hp, const llq_file *f);

#ifdef __cplusplus
}
#endif

#endif
