/* rtn_kern.h — internal: the inner loops of RTN quantization (quantize/rtn.c), scalar and AVX2 twins.
 * Both twins use the same operations in the same order (no FMA, sums in 8 lanes reduced the same way), so
 * their results are bit-identical and a quantized file does not depend on the CPU that made it. One exception,
 * exact too: rtn_scales8_avx2 adds the unweighted b = Σc² with FMA in its own order, since every term and partial
 * sum is an integer below 2^24 (|c| <= 127, at most 128 terms) and so every step is exact. */
#ifndef LLQ_RTN_KERN_H
#define LLQ_RTN_KERN_H

#include <stdint.h>

#define RTN_MAX_CAND 16

/* Search sums for nc candidate grids (inv[i] = 1/scale, codes clamped to [lo[i], hi[i]]) over nch chunks of
 * 32 elements x[32·nch] (weights w[32·nch], or NULL = 1) and, if xt != NULL, one more chunk xt (wt):
 * (a and b have room for nc rounded up to a multiple of 8; the extra entries are scratch)
 *     a[i] = Σ (w_e·x_e)·c_e      b[i] = Σ (w_e·c_e)·c_e      with c_e = round(clamp(x_e·inv[i], lo[i], hi[i])).
 * Order: per lane l = e % 8, each chunk adds (p0 + p1) + (p2 + p3) of its four products of the lane; the lanes
 * are then reduced as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). */
void rtn_search_ref(float *a, float *b, const float *x, const float *w, uint64_t nch, const float *xt,
                    const float *wt, const float *inv, const float *lo, const float *hi, int nc);
void rtn_search_avx2(float *a, float *b, const float *x, const float *w, uint64_t nch, const float *xt,
                     const float *wt, const float *inv, const float *lo, const float *hi, int nc);

/* Range of x[n] (n a multiple of 8): st[0] = min(st[0], min x), st[1] = max(st[1], max x).
 * Returns 1 if some x is NaN/Inf (then st is unspecified), else 0. */
int rtn_stats_ref(float *st, const float *x, uint64_t n);
int rtn_stats_avx2(float *st, const float *x, uint64_t n);

/* Pairwise comparison of nc <= RTN_MAX_CAND candidates' sums a, b (as rtn_search leaves them): bit i of m[w] is
 * set when a_i²·b_w > a_w²·b_i, computed in f32 as (a_i·a_i)·b_w > (a_w·a_w)·b_i (i.e. i has the smaller error,
 * tested the way a sequential scan holding w would). Returns the mask of candidates with b_i > 0. */
uint32_t rtn_beats_ref(uint32_t *m, const float *a, const float *b, int nc);
uint32_t rtn_beats_avx2(uint32_t *m, const float *a, const float *b, int nc);

/* The candidate a sequential scan keeps — "i takes over when b_i > 0 and (nothing kept yet, or i beats the kept
 * one)" — from the bits of rtn_beats (m, valid): jumps straight from one kept candidate to the first later one
 * that beats it, with no chain of dependent float compares. -1 when valid is 0. (quantize/rtn.c) */
int rtn_pick(const uint32_t *m, uint32_t valid);

/* Codes of a 32-element chunk: c_e = round(clamp(x_e·inv, lo, hi)) + zz. q8 (nib = 0): dst[e] = (int8)c_e;
 * q4/q4a (nib = 1): dst[i] = c_i | c_{16+i} << 4 for i < 16. */
void rtn_encode32_ref(uint8_t *dst, const float *x, float inv, float lo, float hi, float zz, int nib);
void rtn_encode32_avx2(uint8_t *dst, const float *x, float inv, float lo, float hi, float zz, int nib);

/* Scales of 8 whole groups side by side: group g = x[g·32·nch .. (g+1)·32·nch) (1 <= nch <= 4, contiguous, no
 * importance weights, search on). d[g] (f16-exact) and z[g] (q4a zero point, else 0) are exactly what the
 * one-group path of rtn.c gives (rtn_scales8_ref runs it on each group; the AVX2 twin keeps one group per
 * lane: same operations, same order). next: the 8 groups the caller passes next, prefetched meanwhile (or
 * NULL; a hint only). Returns the mask of groups holding a NaN/Inf (then d, z unspecified). */
int rtn_scales8_ref(float *d, uint8_t *z, const float *x, uint64_t nch, uint32_t type, const float *next);
int rtn_scales8_avx2(float *d, uint8_t *z, const float *x, uint64_t nch, uint32_t type, const float *next);

/* Codes of 8 whole groups of 32·nch (1 <= nch <= 4) at x with scales d[8] (f16-exact) and zero points z[8]
 * (q4a; NULL otherwise), as llq_quant_encode_row writes them group by group (dst: the groups' codes, one after
 * the other); h[g] = llq_f32_to_f16(d[g]). */
void rtn_encode8_ref(uint8_t *dst, uint16_t *h, const float *x, uint64_t nch, const float *d, const uint8_t *z,
                     uint32_t type);
void rtn_encode8_avx2(uint8_t *dst, uint16_t *h, const float *x, uint64_t nch, const float *d, const uint8_t *z,
                      uint32_t type);

#endif
