/* fuzz_safetensors.c — the safetensors reader (JSON header, offsets, dtypes) through llq_src_open
 * (fuzz_src.h). Inputs shorter than 9 bytes or not starting their header like JSON are mapped onto the
 * safetensors path by a fixed prefix so that every run reaches the header parser: the first 8 bytes are the
 * header length, and byte 8 is forced to '{' when it is not a JSON opener. */
#include "fuzz_src.h"

#include <string.h>

static int fuzz_safetensors(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (!copy[8] || !strchr("{[ \t\r\n", copy[8]))
        copy[8] = '{';
    fuzz_src_file(copy, size);
    free(copy);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_safetensors(data, size); }
#endif
