/* fuzz_llq.c — the .llq reader: llq_open on the bytes, then every accessor a tool uses: metadata
 * (typed getters, arrays), every tensor (lookup, CRC, first rows to f32), hparams, the embedded tokenizer.
 * So that mutations get past the checksums, an input whose reserved header byte 72 is 0 (every real file)
 * has its file_size, metadata/table CRCs and header CRC recomputed first; other inputs are opened as they are. */
#include "fuzz_util.h"
#include "fuzz_walk.h"

#include <string.h>

#include "llq/format.h"
#include "llq/hparams.h"
#include "llq/tokenizer.h"

static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Recomputes the fields a mutation breaks by accident (see the top comment). */
static void fix_header(uint8_t *b, uint64_t size)
{
    if (size < LLQ_HEADER_SIZE || b[72] != 0)
        return;
    memcpy(b + 16, &size, 8);
    for (int k = 0; k < 2; k++) {
        uint64_t off = get64(b + 24 + 16 * k), n = get64(b + 32 + 16 * k);
        if (off <= size && n <= size - off)
            put32(b + 60 + 4 * k, llq_crc32(0, b + off, n));
    }
    put32(b + 124, llq_crc32(0, b, 124));
}

static int fuzz_llq(const uint8_t *data, size_t size)
{
    char path[64];
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_header(copy, size);
    int fd = fuzz_memfile(copy, size, path);
    free(copy);
    if (fd < 0)
        return 0;
    llq_file *f = NULL;
    if (llq_open(&f, path) == 0) {
        walk_meta(f);
        walk_tensors(f);
        llq_hparams hp;
        if (llq_hparams_read(&hp, f) == 0)
            (void)llq_hparams_check_tensors(&hp, f);
        walk_tokenizer(f);
        llq_close(f);
    }
    close(fd);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_llq(data, size); }
#endif
