/* fuzz_zip.c — libFuzzer entry point for the ZIP reader: parse, then read (inflate, CRC) every entry. */
#include "../../convert/zip.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zip_archive z;
    if (zip_open(&z, data, size) != 0)
        return 0;
    for (size_t i = 0; i < z.n; i++) {
        const void *p;
        void *owned;
        if (zip_read(&z, &z.e[i], 1, &p, &owned) == 0)
            free(owned);
    }
    (void)zip_find(&z, "archive/data.pkl");
    zip_close(&z);
    return 0;
}
