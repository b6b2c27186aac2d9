/* fuzz_util.h — shared by the libFuzzer targets tests/fuzz/fuzz_*.c and by tests/unit/test_fuzz_regress.c,
 * which #includes every target with FUZZ_NO_MAIN defined and replays the committed inputs through the same
 * fuzz_<target>() entry points. */
#ifndef LLQ_FUZZ_UTIL_H
#define LLQ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Puts data into an anonymous in-memory file and writes a path that opens it ("/proc/self/fd/N") into
 * path[64]. Returns the fd (the caller closes it) or -1. Parsers that take a path read it like a file. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("llq-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

/* Reads the first and last byte of [p, p+n) so ASan checks that the whole range is addressable. */
static volatile uint8_t fuzz_sink;
static inline void fuzz_touch(const void *p, size_t n)
{
    if (n)
        fuzz_sink ^= (uint8_t)(((const uint8_t *)p)[0] ^ ((const uint8_t *)p)[n - 1]);
}

/* A finding the sanitizers cannot see (a broken invariant): abort so libFuzzer records the input. */
#define FUZZ_ASSERT(c)                                                                   \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#endif
