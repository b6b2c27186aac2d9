/* fuzz_torch.c — the PyTorch checkpoint readers through llq_src_open (fuzz_src.h): torch.save zip archives
 * (>= 1.6) and legacy magic-number streams, seeded with both (tests/fixtures/ckpt). */
#include "fuzz_src.h"

static int fuzz_torch(const uint8_t *data, size_t size)
{
    fuzz_src_file(data, size);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_torch(data, size); }
#endif
