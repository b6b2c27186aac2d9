/* dgemm.c — C −= A·B in f64 (row-major, any strides): the update step of the blocked Cholesky and triangular
 * inverse GPTQ needs (quantize/linalg.c). _ref is the definition; dgemm_avx2.c is its twin. */
#include "llq/kernels.h"
#include "kern.h"

void llq_dgemm_sub_ref(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                       size_t n, size_t k)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++)
                s += a[i * lda + p] * b[p * ldb + j];
            c[i * ldc + j] -= s;
        }
}

void llq_dgemm_sub(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t m,
                   size_t n, size_t k)
{
    if (kern_impl == LLQ_KERNEL_FAST && llq_cpu_has_avx2())
        llq_dgemm_sub_avx2(c, ldc, a, lda, b, ldb, m, n, k);
    else
        llq_dgemm_sub_ref(c, ldc, a, lda, b, ldb, m, n, k);
}
