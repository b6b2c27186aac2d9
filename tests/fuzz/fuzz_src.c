/* fuzz_src.c — libFuzzer entry point for llq_src (torch zip, torch legacy, safetensors): the input goes to a
 * memfd opened by path, then every tensor is read. Seed with copies of tests/fixtures/ckpt/misc and bad. */
#include "llq/ckpt.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_src", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        llq_src *s;
        if (llq_src_open(&s, path) == 0) {
            for (size_t i = 0; i < llq_src_count(s); i++) {
                const void *p;
                if (llq_src_data(s, i, &p) == 0)
                    llq_src_release(s, i);
            }
            llq_src_close(s);
        }
    }
    close(fd);
    return 0;
}
