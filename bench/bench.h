/* bench.h — what every benchmark of bench/ shares: clocks, the xorshift generator of their synthetic data, and the
 * load-average line (figures from a busy machine are marked as such). Static functions: each benchmark is one file. */
#ifndef LLQ_BENCH_H
#define LLQ_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_clock(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Wall-clock seconds (monotonic). */
static inline double bench_now(void)
{
    return bench_clock(CLOCK_MONOTONIC);
}

/* CPU seconds of the whole process (all threads): on a loaded machine wall time understates the code's speed;
 * work / (cpu / threads) is what the run would take with its threads on idle cores. */
static inline double bench_cpu(void)
{
    return bench_clock(CLOCK_PROCESS_CPUTIME_ID);
}

/* CPU seconds of the calling thread (short single-thread loops on a shared machine). */
static inline double bench_thread_cpu(void)
{
    return bench_clock(CLOCK_THREAD_CPUTIME_ID);
}

/* xorshift64 step of *s (the benchmarks' synthetic weights and codes; any non-zero seed). */
static inline uint64_t bench_xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* "1.00 0.50 0.25": the 1, 5 and 15 minute load averages (-1 where unknown), in a static buffer. */
static inline const char *bench_loadavg(void)
{
    static char s[64];
    double l[3] = {-1, -1, -1};
    getloadavg(l, 3);
    snprintf(s, sizeof s, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    return s;
}

#endif
