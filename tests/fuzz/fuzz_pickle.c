/* fuzz_pickle.c — libFuzzer entry point for the symbolic pickle machine (`make fuzz`, then e.g.
 * mkdir -p build-fuzz/c && build-fuzz/fuzz_pickle -max_total_time=60 build-fuzz/c tests/fixtures/ckpt/bad). */
#include "../../convert/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_ctx *c = NULL;
    pk_val *root;
    size_t used;
    if (pk_parse(&c, &root, data, size, &used) == 0)
        (void)pk_dict_get(root, "state_dict");
    pk_free(c);
    return 0;
}
