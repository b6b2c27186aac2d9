/* fuzz_src.h — shared by fuzz_torch.c and fuzz_safetensors.c: the public checkpoint reader llq_src_open on a
 * memfd holding the bytes (it detects the container), then every accessor a converter uses: find by name,
 * and llq_src_data + llq_src_release on each tensor (bytes delivered, CRC/inflate/strided gather). Tensors
 * of more than 64 MB are listed but not read (the reader allocates what a tensor declares). */
#ifndef LLQ_FUZZ_SRC_H
#define LLQ_FUZZ_SRC_H

#include "fuzz_util.h"

#include "llq/ckpt.h"

static inline void fuzz_src_file(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfile(data, size, path);
    if (fd < 0)
        return;
    llq_src *s = NULL;
    if (llq_src_open(&s, path) == 0) {
        FUZZ_ASSERT(llq_src_format(s) != NULL);
        for (size_t i = 0; i < llq_src_count(s); i++) {
            const llq_src_tensor *t = llq_src_at(s, i);
            FUZZ_ASSERT(t && llq_src_find(s, t->name) == t);
            FUZZ_ASSERT(t->nbytes == t->n_elem * llq_src_dtype_size(t->dtype));
            (void)llq_src_dtype_name(t->dtype);
            if (t->nbytes > (64u << 20))
                continue;
            const void *p;
            if (llq_src_data(s, i, &p) == 0) {
                fuzz_touch(p, (size_t)t->nbytes);
                llq_src_release(s, i);
            }
        }
        llq_src_close(s);
    }
    close(fd);
}

#endif
