/* calib_text.c — calibration text: UTF-8 check, tokenizing with the model's tokenizer, choosing sample windows. */
#include "calib_q.h"
#include "llq/calib.h"
#include "llq/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT ((uint64_t)1 << 31) /* calibration text hard limit: 2 GiB */

int llq_calib_check_utf8(const char *buf, size_t n)
{
    const unsigned char *s = (const unsigned char *)buf;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c == 0)
            return llq_err(LLQ_EFORMAT, "not UTF-8 text (NUL byte at offset %zu)", i);
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return llq_err(LLQ_EFORMAT, "not UTF-8 text (byte 0x%02x at offset %zu)", c, i);
        }
        if (n - i < len)
            return llq_err(LLQ_EFORMAT, "not UTF-8 text (truncated sequence at offset %zu)", i);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return llq_err(LLQ_EFORMAT, "not UTF-8 text (bad continuation byte at offset %zu)", i + k);
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return llq_err(LLQ_EFORMAT, "not UTF-8 text (invalid code point at offset %zu)", i);
        i += len;
    }
    return 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n) /* uniform in [0, n), n >= 1 */
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;
    do
        v = splitmix(s);
    while (v >= lim);
    return v % n;
}

int llq_calib_windows(uint64_t *starts, uint64_t n, uint64_t n_tok, uint64_t len, uint64_t seed)
{
    if (!len || n_tok < len)
        return llq_err(LLQ_EINVAL, "calibration text has %llu tokens, fewer than one window of %llu",
                       (unsigned long long)n_tok, (unsigned long long)len);
    uint64_t slots = n_tok / len, st = seed ^ 0x6c6c712d63616c69ull;
    if (n > slots) { /* more samples than disjoint windows: random (overlapping) starts */
        for (uint64_t i = 0; i < n; i++)
            starts[i] = below(&st, n_tok - len + 1);
        return 0;
    }
    uint64_t *idx = malloc(slots * sizeof *idx);
    if (!idx)
        return llq_err(LLQ_ENOMEM, "out of memory (%llu windows)", (unsigned long long)slots);
    for (uint64_t i = 0; i < slots; i++)
        idx[i] = i;
    for (uint64_t i = 0; i < n; i++) { /* partial Fisher-Yates: n distinct slots */
        uint64_t j = i + below(&st, slots - i), t = idx[i];
        idx[i] = idx[j], idx[j] = t;
        starts[i] = idx[i] * len;
    }
    free(idx);
    return 0;
}

/* Reads, checks and tokenizes the calibration text (no BOS: samples are cut from the running text); tok NULL: the
 * file holds little-endian uint32 token ids, each < vocab. */
int cq_load_tokens(const char *path, const llq_tokenizer *tok, uint32_t vocab, uint32_t **ids, size_t *n_ids,
                   uint64_t *bytes)
{
    char *buf = NULL;
    size_t size = 0;
    /* a file or a stream (a pipe, `<(cmd)`), read once; a directory or FIFO-less oddity is named as such */
    int err = llq_read_input(&buf, &size, path, MAX_TEXT, LLQ_INPUT_STREAM);
    if (err == LLQ_ELIMIT)
        err = llq_err(LLQ_ELIMIT, "%s: calibration text larger than 2 GiB", path);
    if (!err && !tok) { /* token ids */
        if (size % 4) {
            err = llq_err(LLQ_EFORMAT, "%s: %zu bytes is not a whole number of uint32 token ids", path, size);
        } else if (!(*ids = malloc(size ? size : 1))) {
            err = llq_err(LLQ_ENOMEM, "%s: out of memory", path);
        } else {
            *n_ids = size / 4;
            for (size_t i = 0; !err && i < *n_ids; i++) {
                const uint8_t *p = (const uint8_t *)buf + 4 * i;
                (*ids)[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                if ((*ids)[i] >= vocab)
                    err = llq_err(LLQ_EINVAL, "%s: token id %u at position %zu is out of range (vocab %u)", path,
                                  (*ids)[i], i, vocab);
            }
            if (err) {
                free(*ids);
                *ids = NULL;
            }
        }
    } else if (!err && ((err = llq_calib_check_utf8(buf, size)) || (err = llq_tokenize(tok, buf, size, 0, ids, n_ids)))) {
        llq_err_prefix(err, path);
    }
    if (!err)
        *bytes = size;
    free(buf);
    return err;
}

