/* matmul.c — y = x·Wᵀ for any weight type: the kernel table (llq_mm_select), ref/fast choice, row split over
 * the thread pool, and per-thread kernel scratch. */
#include "llq/format.h"
#include "llq/kernels.h"

#include <cpuid.h>
#include <stdlib.h>

int llq_kernel_impl = LLQ_KERNEL_FAST;

void llq_kernel_set_impl(int impl)
{
    llq_kernel_impl = impl == LLQ_KERNEL_REF ? LLQ_KERNEL_REF : LLQ_KERNEL_FAST;
}

int llq_cpu_has_avx2(void)
{
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d;
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
        __builtin_cpu_init();
        cached = f16c && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

static int fast(int impl)
{
    return impl == LLQ_KERNEL_FAST && llq_cpu_has_avx2();
}

const char *llq_kernel_impl_name(void)
{
    return fast(llq_kernel_impl) ? "fast" : "ref";
}

/* The registration point: one case per weight type. */
llq_mm_kernel llq_mm_select(uint32_t type, int impl)
{
    int f = fast(impl);
    switch (type) {
    case LLQ_F32:
        return f ? llq_mm_f32_avx2 : llq_mm_f32_ref;
    case LLQ_F16:
        return f ? llq_mm_f16_avx2 : llq_mm_f16_ref;
    case LLQ_BF16:
        return f ? llq_mm_bf16_avx2 : llq_mm_bf16_ref;
    case LLQ_Q8:
    case LLQ_Q4:
    case LLQ_Q4A:
        return f ? llq_mm_q_avx2 : llq_mm_dequant_ref;
    default:
        return NULL;
    }
}

int llq_mat_init(llq_mat *out, uint32_t type, uint32_t group, uint64_t rows, uint64_t cols, const void *data)
{
    uint64_t rb;
    int err = llq_row_bytes(&rb, type, group, cols);
    if (err)
        return err;
    *out = (llq_mat){.type = type, .group = group, .rows = rows, .cols = cols, .row_bytes = rb, .data = data};
    return LLQ_OK;
}

/* ---- scratch ---- */
static _Thread_local float *scratch;
static _Thread_local size_t scratch_cap;

float *llq_mm_scratch(size_t n)
{
    if (n > scratch_cap) {
        free(scratch);
        scratch = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        scratch_cap = scratch ? n : 0;
    }
    return scratch;
}

size_t llq_mm_scratch_need(const llq_mat *W)
{
    return LLQ_MM_TILE * (size_t)W->cols + 8192;
}

static _Thread_local float *xbuf;
static _Thread_local size_t xbuf_cap;

float *llq_mm_xbuf(size_t n)
{
    if (n > xbuf_cap) {
        free(xbuf);
        xbuf = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        xbuf_cap = xbuf ? n : 0;
    }
    return xbuf;
}

void llq_mm_scratch_release(void)
{
    free(xbuf);
    xbuf = NULL;
    xbuf_cap = 0;
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

/* ---- threaded matmul ---- */
/* Threads take slices of `chunk` rows from a shared counter until none is left, so a thread that runs slower
 * (a busy sibling core, an interrupt) does not hold up the others at the join. */
struct mm_task {
    float *y;
    const float *x;
    size_t n;
    const llq_mat *W;
    llq_mm_kernel k;
    uint64_t chunk; /* rows per slice, a multiple of 16 */
    uint64_t next;  /* next slice to take (atomic) */
    int failed;
};

static void mm_run(void *ud, int i, int nt)
{
    (void)i, (void)nt;
    struct mm_task *t = ud;
    if (!llq_mm_scratch(llq_mm_scratch_need(t->W)) || !llq_mm_xbuf(LLQ_MM_XBUF_FLOATS)) {
        __atomic_store_n(&t->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (;;) {
        uint64_t r0 = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED) * t->chunk;
        if (r0 >= t->W->rows)
            break;
        uint64_t r1 = t->W->rows - r0 < t->chunk ? t->W->rows : r0 + t->chunk;
        t->k(t->y, t->x, t->n, t->W, r0, r1);
    }
}

int llq_matmul(float *y, const float *x, size_t n, const llq_mat *W, llq_pool *pool)
{
    llq_mm_kernel k = llq_mm_select(W->type, llq_kernel_impl);
    if (!k)
        return llq_err(LLQ_EUNSUPPORTED, "no matmul kernel for tensor type %u", W->type);
    if (n == 0 || W->rows == 0)
        return LLQ_OK;
    /* windows: slices of at most 256 rows, at least 4 per thread; one token: 2 per thread (each kernel call
     * quantizes the activations once) */
    uint64_t nt = (uint64_t)llq_pool_size(pool), per = n <= 2 ? 2 : 4;
    uint64_t chunk = (W->rows + nt * per - 1) / (nt * per);
    chunk = (chunk + 15) / 16 * 16;
    if (n > 2 && chunk > 256)
        chunk = 256;
    struct mm_task t = {.y = y, .x = x, .n = n, .W = W, .k = k, .chunk = chunk};
    llq_pool_run(pool, mm_run, &t);
    if (t.failed)
        return llq_err(LLQ_ENOMEM, "out of memory (matmul scratch, %llu columns)", (unsigned long long)W->cols);
    return LLQ_OK;
}

void llq_gemm_f32(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                  size_t rows, size_t cols)
{
    if (fast(llq_kernel_impl) && (n <= 2 || llq_mm_xbuf(LLQ_MM_XBUF_FLOATS))) /* else ref: same numbers, no buffer */
        llq_gemm_f32_avx2(y, ldy, x, ldx, n, w, ldw, rows, cols);
    else
        llq_gemm_f32_ref(y, ldy, x, ldx, n, w, ldw, rows, cols);
}

void llq_gemm_f32_nn(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                     size_t rows, size_t cols)
{
    if (fast(llq_kernel_impl) && (n <= 2 || llq_mm_xbuf(LLQ_MM_XBUF_FLOATS)))
        llq_gemm_f32_nn_avx2(y, ldy, x, ldx, n, v, ldv, rows, cols);
    else
        llq_gemm_f32_nn_ref(y, ldy, x, ldx, n, v, ldv, rows, cols);
}
