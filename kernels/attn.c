/* attn.c — attention of one query position (a generation step) over the cached keys and values of one kv head
 * and the G query heads that share it (grouped-query attention). The _ref twin is the per-head path of windows
 * (scores, softmax, weighted sum of values through the f32 building blocks); the _avx2 twin (attn_avx2.c) reads
 * each key and value row once for all G heads, where the per-head path reads them G times. */
#include "kern.h"

void llq_attn_one_ref(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                      size_t G, float scale, float *s)
{
    for (size_t h = 0; h < G; h++) {
        float *sh = s + h * L;
        llq_gemm_f32_ref(sh, L, q + h * hd, hd, 1, k, ldkv, L, hd);
        llq_softmax_ref(sh, L, scale);
        llq_gemm_f32_nn_ref(out + h * hd, hd, sh, L, 1, v, ldkv, hd, L);
    }
}

void llq_attn_one(float *out, const float *q, const float *k, const float *v, size_t ldkv, size_t L, size_t hd,
                  size_t G, float scale, float *s)
{
    if (kern_impl == LLQ_KERNEL_FAST && llq_cpu_has_avx2() && hd % 16 == 0)
        llq_attn_one_avx2(out, q, k, v, ldkv, L, hd, G, scale, s);
    else
        llq_attn_one_ref(out, q, k, v, ldkv, L, hd, G, scale, s);
}
