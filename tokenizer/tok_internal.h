/* tok_internal.h — the tokenizer's private layout, shared by tokenizer/tokenizer.c (vocabulary, decode),
 * tokenizer/tok_encode.c (normalise + BPE) and tokenizer/tok_meta.c (.llq metadata). Not installed. */
#ifndef LLQ_TOK_INTERNAL_H
#define LLQ_TOK_INTERNAL_H

#include "llq/tokenizer.h"

struct llq_tokenizer {
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

#endif
