/* bench_src.c — checkpoint reader throughput and peak RSS: reads every tensor of the synthetic ~1 GB model
 * (tests/make_fixtures.py --bench DIR; DIR from $LLQ_BENCH_DATA, default build/bench-data) through llq_src,
 * touching every byte, with and without the zip CRC check. Prints figures; never fails on time. */
#include "llq/ckpt.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static int run(const char *path, int verify, uint64_t *largest)
{
    double t0 = bench_now();
    llq_src *s;
    if (llq_src_open(&s, path)) {
        fprintf(stderr, "bench_src: %s\n", llq_errmsg());
        return 1;
    }
    llq_src_set_verify(s, verify);
    uint64_t total = 0, acc = 0;
    for (size_t i = 0; i < llq_src_count(s); i++) {
        const llq_src_tensor *t = llq_src_at(s, i);
        const void *p;
        if (llq_src_data(s, i, &p)) {
            fprintf(stderr, "bench_src: %s\n", llq_errmsg());
            llq_src_close(s);
            return 1;
        }
        const unsigned char *b = p;
        for (uint64_t k = 0; k < t->nbytes; k += 64) /* one read per cache line */
            acc += b[k];
        total += t->nbytes;
        if (t->nbytes > *largest)
            *largest = t->nbytes;
        llq_src_release(s, i);
    }
    const char *fmt = llq_src_format(s);
    llq_src_close(s);
    double dt = bench_now() - t0;
    printf("%-12s %-9s %7.0f MB in %6.3f s = %6.0f MB/s (%llu)\n", fmt,
           fmt[0] == 's' ? "(no crc)" : verify ? "crc on" : "crc off", (double)total / 1e6, dt, (double)total / 1e6 / dt,
           (unsigned long long)(acc & 0xff));
    return 0;
}

int main(void)
{
    const char *dir = getenv("LLQ_BENCH_DATA") ? getenv("LLQ_BENCH_DATA") : "build/bench-data";
    char pth[1024], st[1024];
    snprintf(pth, sizeof pth, "%s/meta/consolidated.00.pth", dir);
    snprintf(st, sizeof st, "%s/hf-st/model.safetensors", dir);
    struct stat sb;
    if (stat(pth, &sb) != 0 || stat(st, &sb) != 0) {
        printf("bench_src: skipped, no %s (make it: /usr/bin/python3 tests/make_fixtures.py --bench %s)\n", dir, dir);
        return 0;
    }
    uint64_t largest = 0;
    int err = run(pth, 0, &largest) || run(pth, 0, &largest) || run(pth, 1, &largest) || run(st, 1, &largest);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %ld MB (largest tensor %.0f MB; bound 2 x largest + 64 MB = %.0f MB)\n", ru.ru_maxrss / 1024,
           (double)largest / 1e6, 2.0 * (double)largest / 1e6 + 64);
    return err;
}
