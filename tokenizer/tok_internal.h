/* tok_internal.h — the tokenizer's private layout, shared by tokenizer/tokenizer.c (vocabulary, decode),
 * tokenizer/tok_encode.c (normalise + BPE) and tokenizer/tok_meta.c (.llq metadata). Not installed. */
#ifndef LLQ_TOK_INTERNAL_H
#define LLQ_TOK_INTERNAL_H

#include "llq/tokenizer.h"

/* Hugging Face-style BPE (tokenizer.json, tiktoken): what it is built from. Pointers borrowed.
 * pieces are raw bytes: byte-level vocabularies are stored with the GPT-2 byte-to-unicode map undone. */
typedef struct llq_bpe_spec {
    int kind;                    /* LLQ_TOKKIND_HF or LLQ_TOKKIND_TIKTOKEN */
    uint32_t n_vocab;
    const char *const *pieces;
    const uint64_t *lens;
    const int32_t *types;        /* NORMAL, BYTE (<0xNN> with byte fallback), UNKNOWN, CONTROL (special
                                  * added token), USER_DEFINED (other added token) */
    uint32_t n_merges;
    const uint32_t *merges;      /* n_merges (left id, right id) pairs, by rank; NULL with rank_merges */
    int rank_merges;             /* tiktoken: a pair's priority is the id of its concatenation */
    int byte_level, ignore_merges, byte_fallback, fuse_unk;
    int32_t unk_id, bos_id, eos_id, pad_id;
    uint32_t n_added;
    const uint32_t *added_ids;   /* ids matched in the text before pre-tokenization, in file order */
    const uint32_t *added_flags; /* LLQ_ADDED_* */
    const char *normalizer, *pre_tokenizer, *decoder; /* JSON text of those tokenizer.json parts ("null") */
} llq_bpe_spec;

enum { LLQ_TOKKIND_SPM = 0, LLQ_TOKKIND_HF = 1, LLQ_TOKKIND_TIKTOKEN = 2 };
enum { LLQ_ADDED_NORMALIZED = 1, LLQ_ADDED_SPECIAL = 2 };

struct llq_bpe; /* the engine's private state (bpe.c) */

struct llq_tokenizer {
    struct llq_bpe *bpe;      /* non-NULL for the BPE kinds: then only spec's ids/pieces/types, blob,
                               * pieces, lens and types below are used */
    llq_tok_spec spec;        /* points at the owned arrays below */
    char *blob;               /* every piece's bytes, each followed by a NUL */
    const char **pieces;
    uint64_t *lens;
    float *scores;
    int32_t *types;
    char *normalizer;         /* NUL-terminated copies */
    char *unk_surface;
    /* Two open-addressing hash tables of piece ids (-1 = empty slot), as sentencepiece keeps them:
     * "normal" = NORMAL, USER_DEFINED, UNUSED pieces (the only ones BPE merges can produce);
     * "reserved" = UNKNOWN, CONTROL, BYTE pieces (looked up first when mapping a final piece to its id). */
    int32_t *h_normal, *h_reserved;
    uint32_t h_mask;
    uint32_t max_len;          /* longest normal piece, bytes */
    uint32_t max_user_len;     /* longest user-defined piece, 0 if none */
    int has_unused;
    int ws_split;              /* no normal/user-defined/unused piece has a space after a non-space */
    int32_t byte_id[256];      /* id of <0xNN>, or unk_id if the model lacks it (as sentencepiece) */
    uint32_t *rank;            /* dense rank of each piece's score: 0 = highest; equal scores, equal rank */
};

/* Id of the normal piece s[0..len), or -1. */
int32_t llq_tok_find_normal(const llq_tokenizer *t, const char *s, size_t len);
/* sentencepiece's PieceToId: reserved pieces first, then normal ones, else the unknown id. */
int32_t llq_tok_piece_to_id(const llq_tokenizer *t, const char *s, size_t len);
/* Length of the longest user-defined piece that prefixes s[0..len), or 0. */
size_t llq_tok_user_prefix(const llq_tokenizer *t, const char *s, size_t len);
/* Byte length of the valid UTF-8 character at s (sentencepiece's rules: no overlongs, no surrogates,
 * at most U+10FFFF), or 0 if the bytes there are not one. n >= 1. */
size_t llq_utf8_len(const unsigned char *s, size_t n);

/* FNV-1a of n bytes (the vocabulary hash tables). */
uint32_t llq_tok_hash(const char *s, size_t n);
/* Reads a whole regular file of at most max bytes; *buf malloc'd (caller frees). */
int llq_tok_read_file(const char *path, size_t max, unsigned char **buf, size_t *len);

/* Builds a BPE tokenizer (bpe.c); name is used in messages. */
int llq_bpe_new(llq_tokenizer **out, const llq_bpe_spec *s, const char *name);
void llq_bpe_free(struct llq_bpe *b);
const llq_bpe_spec *llq_bpe_get_spec(const llq_tokenizer *t);
int llq_bpe_tokenize(const llq_tokenizer *t, const char *text, size_t len, int add_bos, uint32_t **out,
                     size_t *n_out);
int llq_bpe_detokenize(const llq_tokenizer *t, const uint32_t *ids, size_t n, char **out, size_t *len);
int llq_bpe_token_decode(const llq_tokenizer *t, int32_t prev, uint32_t id, char *buf, size_t cap);
/* tok_meta.c: the BPE keys */
int llq_bpe_write_meta(const llq_tokenizer *t, llq_writer *w);
int llq_bpe_from_llq(llq_tokenizer **out, const llq_file *f, const char *model, size_t model_len);

#endif
