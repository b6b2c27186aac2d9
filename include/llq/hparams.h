/* hparams.h — the one description of the LLaMA-family architectures llq runs: hyper-parameters as stored in
 * .llq metadata (keys in docs/FORMAT.md "Model"), the one validation of them (llq_hparams_check: convert, the
 * reader, the forward pass, quantization and calibration all go through it), the families, and the table of
 * canonical tensors (required / optional, shapes, Meta and Hugging Face names). Adding a family is a row in the
 * family table plus what is really new. */
#ifndef LLQ_HPARAMS_H
#define LLQ_HPARAMS_H

#include "llq/format.h"

#ifdef __cplusplus
extern "C" {
#endif

enum llq_rope_scaling {
    LLQ_ROPE_NONE = 0,
    LLQ_ROPE_LINEAR = 1, /* frequencies / factor (HF "linear") */
    LLQ_ROPE_LLAMA3 = 2  /* Llama 3.1's rule (HF "llama3", Meta's use_scaled_rope) */
};

#define LLQ_MAX_EOS 8

/* Zero in a 1.1 field means the
 * 1.0 behaviour: head_dim 0 = dim / n_heads, no rope scaling, no biases, untied, no sliding window. */
typedef struct llq_hparams {
    char arch[32];          /* "llama": the key namespace (general.architecture) */
    uint32_t dim;           /* model width */
    uint32_t n_layers;
    uint32_t n_heads;
    uint32_t n_kv_heads;    /* == n_heads without grouped-query attention */
    uint32_t ffn_dim;       /* SwiGLU hidden width */
    uint32_t vocab_size;
    uint32_t context_length;/* trained context (0 if unknown) */
    float norm_eps;
    float rope_theta;
    /* 1.1 */
    char family[16];        /* "llama" (also when empty), "qwen2", "mistral": llq_families[] */
    uint32_t head_dim;      /* width of one head; 0 = dim / n_heads (use llq_hp_head_dim) */
    uint32_t rope_scaling;  /* enum llq_rope_scaling */
    float rope_factor;      /* linear, llama3 */
    float rope_low_freq_factor, rope_high_freq_factor; /* llama3 */
    uint32_t rope_orig_context; /* llama3: original_max_position_embeddings */
    uint32_t qkv_bias;      /* 1: layers.L.attention.w{q,k,v}.bias are present and added */
    uint32_t tied;          /* 1: no output.weight; tok_embeddings.weight is also the output head */
    uint32_t sliding_window;/* > 0: a query attends to at most this many keys (itself and the ones before) */
    uint32_t has_bos, bos_id;
    uint32_t n_eos;         /* generation stops at any of eos_ids[0..n_eos) */
    uint32_t eos_ids[LLQ_MAX_EOS];
} llq_hparams;

/* Head width, q rows (n_heads · head_dim) and k/v rows (n_kv_heads · head_dim). */
static inline uint32_t llq_hp_head_dim(const llq_hparams *hp)
{
    return hp->head_dim ? hp->head_dim : hp->n_heads ? hp->dim / hp->n_heads : 0;
}
static inline uint32_t llq_hp_q_dim(const llq_hparams *hp) { return hp->n_heads * llq_hp_head_dim(hp); }
static inline uint32_t llq_hp_kv_dim(const llq_hparams *hp) { return hp->n_kv_heads * llq_hp_head_dim(hp); }

/* Whether generation stops at id: one of the model's EOS ids (config.json's eos_token_id, possibly several). */
static inline int llq_hp_is_eos(const llq_hparams *hp, uint32_t id)
{
    for (uint32_t i = 0; i < hp->n_eos && i < LLQ_MAX_EOS; i++)
        if (hp->eos_ids[i] == id)
            return 1;
    return 0;
}

/* The rotary frequencies of hp (head_dim / 2 values into freq): freq[i] = rope_theta^(-2i/hd), then the model's
 * rope scaling: linear divides each by rope_factor; llama3 (Meta's apply_scaling, HF's "llama3") keeps wavelengths
 * 2π/freq below orig/high_freq_factor, divides those above orig/low_freq_factor by rope_factor and blends
 * (1 − s)·freq/factor + s·freq in between, s = (orig/wavelength − low) / (high − low). The forward pass and the
 * GGUF rope_freqs tensor (llama.cpp's divisors: unscaled / scaled) both come from here. */
void llq_hp_rope_freqs(double *freq, const llq_hparams *hp);

/* ---- families ---- */
typedef struct llq_family {
    const char *name;       /* llama.family and the README's name */
    const char *hf_arch;    /* config.json "architectures" */
    const char *model_type; /* config.json "model_type" */
    uint32_t qkv_bias;      /* always has q/k/v biases */
    uint32_t sliding_window;/* config.json's sliding_window is honoured (else refused when set and in use) */
} llq_family;
extern const llq_family llq_families[];
extern const size_t llq_n_families;
/* The family named name (len bytes; "" = llama), NULL if unknown. */
const llq_family *llq_family_find(const char *name, size_t len);
/* "LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM" into buf (for "unsupported ... (supported: ...)"). */
void llq_family_list(char *buf, size_t n);

/* ---- the one validation ---- */
#define LLQ_HP_MAX_DIM (1u << 16)
#define LLQ_HP_MAX_LAYERS 4096u
#define LLQ_HP_MAX_HEAD_DIM 1024u
#define LLQ_HP_MAX_FFN (1u << 18)
#define LLQ_HP_MAX_VOCAB (1u << 22)
enum { LLQ_HP_VOCAB_LATER = 1 }; /* vocab_size 0 allowed (convert: a params.json with vocab_size -1) */
/* Checks every field: sizes non-zero and within the limits above, heads | q, kv heads | heads, head size even,
 * norm_eps and rope_theta positive and finite, a known family and its constraints, rope scaling parameters, EOS
 * and BOS ids < vocab. what (a file name) prefixes the message. LLQ_EFORMAT, LLQ_ELIMIT or LLQ_EUNSUPPORTED. */
int llq_hparams_check(const llq_hparams *hp, const char *what, unsigned flags);

/* Reads the llama.* keys of f and checks them (llq_hparams_check). Errors name the file and the key. */
int llq_hparams_read(llq_hparams *out, const llq_file *f);
/* One line of what is not plain LLaMA-1/2 ("family qwen2, head_dim 32, rope scaling llama3 (factor 32, low 1,
 * high 4, original context 8192), q/k/v biases, tied embeddings, sliding window 48, bos 1, eos 2 3") into buf;
 * "family llama" alone for a 1.0 model. */
void llq_hparams_describe(char *buf, size_t n, const llq_hparams *hp);
/* Name of a rope scaling type ("none", "linear", "llama3"). */
const char *llq_rope_scaling_name(uint32_t type);
/* Writes general.architecture and the llama.* keys (the 1.1 keys only when they differ from the 1.0 default). */
int llq_hparams_write(llq_writer *w, const llq_hparams *hp);
/* Checks that every tensor the forward pass needs is present with the right shape, and that no optional tensor
 * is present that hp says is absent (an output.weight in a tied model, biases without qkv_bias). */
int llq_hparams_check_tensors(const llq_hparams *hp, const llq_file *f);

/* ---- the canonical tensors ---- */
/* Per-layer tensors, in file order (index into llq_layer_tensors). */
enum llq_lt {
    LLQ_LT_ATTN_NORM, LLQ_LT_WQ, LLQ_LT_WQ_BIAS, LLQ_LT_WK, LLQ_LT_WK_BIAS, LLQ_LT_WV, LLQ_LT_WV_BIAS, LLQ_LT_WO,
    LLQ_LT_FFN_NORM, LLQ_LT_W1, LLQ_LT_W2, LLQ_LT_W3, LLQ_LT_COUNT
};
/* Model-wide tensors: slot 0 is the embedding, then the layers, then these two. */
enum llq_gt { LLQ_GT_EMBED, LLQ_GT_NORM, LLQ_GT_OUTPUT, LLQ_GT_COUNT };
enum llq_size { LLQ_SZ_NONE, LLQ_SZ_DIM, LLQ_SZ_Q, LLQ_SZ_KV, LLQ_SZ_FFN, LLQ_SZ_VOCAB };
enum llq_need { LLQ_NEED_ALWAYS, LLQ_NEED_QKV_BIAS, LLQ_NEED_UNTIED };
typedef struct llq_arch_tensor {
    const char *name;  /* canonical (Meta) name; per-layer ones after "layers.L." */
    const char *hf;    /* Hugging Face name; per-layer ones after "model.layers.L." */
    uint8_t d0, d1;    /* shape: enum llq_size; d1 NONE for 1-D */
    int8_t split;      /* Meta model-parallel shards are joined along this dim; -1: replicated */
    uint8_t permute;   /* HF rotary permutation to undo: 0 none, 1 over n_heads, 2 over n_kv_heads */
    uint8_t need;      /* enum llq_need */
} llq_arch_tensor;
extern const llq_arch_tensor llq_layer_tensors[LLQ_LT_COUNT];
extern const llq_arch_tensor llq_global_tensors[LLQ_GT_COUNT];

/* Whether hp's model has tensor e. */
int llq_arch_needed(const llq_arch_tensor *e, const llq_hparams *hp);
/* Shape of e under hp: n_dims 1 or 2. */
void llq_arch_shape(const llq_arch_tensor *e, const llq_hparams *hp, uint32_t *n_dims, uint64_t dims[2]);
/* "layers.L.<name>" into buf (n bytes). */
void llq_arch_layer_name(char *buf, size_t n, uint32_t layer, enum llq_lt k);

/* Slots number every tensor any model of n_layers may have: 0 embedding, 1 + LLQ_LT_COUNT·L + k layer L's k-th,
 * then norm, then output. */
uint32_t llq_arch_n_slots(uint32_t n_layers);
/* The table row of a slot; *layer its layer (UINT32_MAX for model-wide tensors). */
const llq_arch_tensor *llq_arch_slot(uint32_t slot, uint32_t n_layers, uint32_t *layer);
/* Canonical name of a slot into buf; and the slot of a canonical name (-1 if none). */
void llq_arch_slot_name(char *buf, size_t n, uint32_t slot, uint32_t n_layers);
int llq_arch_name_slot(const char *name, uint32_t n_layers);

#ifdef __cplusplus
}
#endif

#endif
