/* fuzz_zip.c — the ZIP/ZIP64 reader (ckpt/zip.c, internal API): zip_open over the bytes, then for every
 * entry zip_find by name and zip_read with CRC check (inflating deflate entries). Entries declaring more than
 * 64 MB are not read (the reader allocates the declared size; zip_open already caps it at 1032 x the
 * compressed size, and the fuzzer's malloc limit is not the point here). */
#include "fuzz_util.h"

#include <string.h>

#include "../../ckpt/zip.h"

static int fuzz_zip(const uint8_t *data, size_t size)
{
    zip_archive z;
    memset(&z, 0, sizeof z);
    if (zip_open(&z, data, size) != 0)
        return 0;
    for (size_t i = 0; i < z.n; i++) {
        const zip_entry *e = &z.e[i];
        FUZZ_ASSERT(zip_find(&z, e->name) != NULL);
        if (e->usize > (64u << 20))
            continue;
        const void *out; void *owned;
        if (zip_read(&z, e, 1, &out, &owned) == 0) {
            fuzz_touch(out, (size_t)e->usize);
            free(owned);
        }
    }
    zip_close(&z);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_zip(data, size); }
#endif
