/* crc32.c — CRC-32 (zlib's, reflected polynomial 0xEDB88320), the one implementation every reader and the
 * writer use. llq_crc32_ref is zlib's crc32 (the reference, and the fallback). llq_crc32 folds by carry-less
 * multiplication (PCLMULQDQ, after Gopal et al., "Fast CRC computation for generic polynomials using PCLMULQDQ",
 * Intel 2009): four 128-bit lanes folded 64 bytes at a time, then folded to one lane, reduced to 64 bits and
 * Barrett-reduced to 32. Used when the CPU has PCLMUL + SSE4.1 (checked at run time) and n >= 64; the
 * reference handles short inputs and the tail. */
#include "llq/llq.h"

#include <immintrin.h>
#include <zlib.h>

#define CLMUL __attribute__((target("pclmul,sse4.1")))

/* x^(k) mod P constants in the bit-reflected domain (see the paper's appendix for CRC-32). */
static const uint64_t FOLD4[2] = {0x154442bd4ull, 0x1c6e41596ull}; /* x^(4*128+32), x^(4*128-32) */
static const uint64_t FOLD1[2] = {0x1751997d0ull, 0x0ccaa009eull}; /* x^(128+32),   x^(128-32)   */
static const uint64_t FOLD64 = 0x163cd6124ull;                      /* x^64                        */
static const uint64_t BARRETT[2] = {0x1db710641ull, 0x1f7011641ull}; /* P(x)' and mu                */

/* a * k.lo (low halves) xor a.hi * k.hi (high halves) xor b: one 128-bit fold step. */
CLMUL static inline __m128i fold(__m128i a, __m128i k, __m128i b)
{
    __m128i lo = _mm_clmulepi64_si128(a, k, 0x00), hi = _mm_clmulepi64_si128(a, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), b);
}

/* n >= 64 and a multiple of 16; crc is the pre-inverted running value; returns it pre-inverted. */
CLMUL static uint32_t crc_clmul(uint32_t crc, const uint8_t *p, uint64_t n)
{
    __m128i lane[4];
    for (int i = 0; i < 4; i++)
        lane[i] = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
    lane[0] = _mm_xor_si128(lane[0], _mm_cvtsi32_si128((int)crc));
    p += 64;
    n -= 64;
    __m128i k = _mm_loadu_si128((const __m128i *)(const void *)FOLD4);
    for (; n >= 64; p += 64, n -= 64)
        for (int i = 0; i < 4; i++)
            lane[i] = fold(lane[i], k, _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)));
    k = _mm_loadu_si128((const __m128i *)(const void *)FOLD1);
    __m128i x = lane[0];
    for (int i = 1; i < 4; i++)
        x = fold(x, k, lane[i]);
    for (; n >= 16; p += 16, n -= 16)
        x = fold(x, k, _mm_loadu_si128((const __m128i *)(const void *)p));
    /* 128 -> 64 bits: low half times x^(128-32) folded onto the high half */
    const __m128i mask32 = _mm_setr_epi32(-1, 0, -1, 0);
    x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(x, k, 0x10));
    /* 96 -> 64 bits */
    __m128i k64 = _mm_cvtsi64_si128((long long)FOLD64);
    x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, mask32), k64, 0x00));
    /* Barrett reduction to 32 bits */
    __m128i pm = _mm_loadu_si128((const __m128i *)(const void *)BARRETT);
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), pm, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), pm, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x, t), 1);
}

uint32_t llq_crc32_ref(uint32_t crc, const void *data, uint64_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

uint32_t llq_crc32(uint32_t crc, const void *data, uint64_t n)
{
    const uint8_t *p = data;
    if (n >= 64 && llq_cpu_has_clmul()) {
        uint64_t bulk = n & ~(uint64_t)15;
        crc = ~crc_clmul(~crc, p, bulk);
        p += bulk;
        n -= bulk;
    }
    return llq_crc32_ref(crc, p, n);
}
