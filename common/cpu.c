/* cpu.c — run-time CPU feature checks, the one place that asks the CPU (kernels, conversion, quantization and
 * CRC-32 choose their SIMD paths here). Answers are computed once and cached. */
#include "llq/llq.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

int llq_cpu_has_avx2(void)
{
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d;
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
        __builtin_cpu_init(); /* idempotent; needed when called before constructors have run */
        cached = f16c && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

int llq_cpu_has_avx512(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init(); /* libgcc's check includes the OS's XCR0 support of the zmm state */
        cached = llq_cpu_has_avx2() && __builtin_cpu_supports("avx512f");
    }
    return cached;
}

int llq_cpu_has_avx512vnni(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = llq_cpu_has_avx512() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    }
    return cached;
}

int llq_cpu_has_clmul(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    }
    return cached;
}
#else
int llq_cpu_has_avx2(void)
{
    return 0;
}

int llq_cpu_has_avx512(void)
{
    return 0;
}

int llq_cpu_has_avx512vnni(void)
{
    return 0;
}

int llq_cpu_has_clmul(void)
{
    return 0;
}
#endif
