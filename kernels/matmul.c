/* matmul.c — y = x·Wᵀ for any weight type: the kernel table (llq_mm_select), ref/fast choice, row split over
 * the thread pool, and per-thread kernel scratch. */
#include "llq/format.h"
#include "kern.h"
#include "mmq.h"
#include "qdot.h"

#include <stdlib.h>

int kern_impl = LLQ_KERNEL_FAST;
int kern_avx512 = 1;

int kern_use_avx512(void)
{
    return kern_avx512 && llq_cpu_has_avx512();
}

void llq_kernel_set_impl(int impl)
{
    kern_impl = impl == LLQ_KERNEL_REF ? LLQ_KERNEL_REF : LLQ_KERNEL_FAST;
}

static int fast(int impl)
{
    return impl == LLQ_KERNEL_FAST && llq_cpu_has_avx2();
}

const char *llq_kernel_impl_name(void)
{
    return fast(kern_impl) ? "fast" : "ref";
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
    default: /* ggml block types: dequantized tiles; one token: integer dot products (kq_dot.c, kq_avx2.c) */
        if (kq_has_dot(type))
            return f ? llq_mm_kq_avx2 : llq_mm_dequant_ref;
        if (llq_type_is_block(type))
            return f ? llq_mm_dequant_avx2 : llq_mm_dequant_ref;
        return NULL;
    }
}

int llq_matmul_supports(uint32_t type)
{
    return llq_mm_select(type, LLQ_KERNEL_REF) != NULL;
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

static _Thread_local float *qbuf, *kbuf; /* the int8 activations of one-token q (qbuf) and K-quant (kbuf) matmuls */
static _Thread_local size_t qbuf_cap, kbuf_cap;

static float *grow(float **buf, size_t *cap, size_t n)
{
    if (n > *cap) {
        free(*buf);
        *buf = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        *cap = *buf ? n : 0;
    }
    return *buf;
}

static float *qact_buf(size_t n)
{
    return grow(&qbuf, &qbuf_cap, n);
}

/* The caller's buffer of int8 activations for llq_matmul_act (read by the pool's threads during the call). */
static _Thread_local void *abuf;
static _Thread_local size_t abuf_cap;

static void *act_buf(size_t bytes)
{
    if (bytes > abuf_cap) {
        free(abuf);
        abuf = aligned_alloc(64, (bytes + 63) / 64 * 64);
        abuf_cap = abuf ? bytes : 0;
    }
    return abuf;
}

void llq_mm_scratch_release(void)
{
    free(abuf);
    abuf = NULL;
    abuf_cap = 0;
    free(qbuf);
    qbuf = NULL;
    qbuf_cap = 0;
    free(kbuf);
    kbuf = NULL;
    kbuf_cap = 0;
    free(xbuf);
    xbuf = NULL;
    xbuf_cap = 0;
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

/* ---- threaded matmul ---- */
#ifndef SLICE1
#define SLICE1 64 /* rows per slice for one token */
#endif

/* Threads take slices of rows (of all the matrices of one call, in order) from a shared counter until none is
 * left, so a thread that runs slower (a busy sibling core, an interrupt) does not hold up the others at the
 * join. */
struct mm_task {
    const float *x;
    size_t n;
    int count;
    float *y[LLQ_MM_MAX];
    const llq_mat *W[LLQ_MM_MAX];
    llq_mm_kernel k[LLQ_MM_MAX];
    const mmq_act *qa;              /* int8 activations (LLQ_MM_ACT_Q8), or NULL */
    int q8[LLQ_MM_MAX];             /* 1: matrix j takes the integer window path on qa */
    uint64_t chunk[LLQ_MM_MAX];     /* rows per slice, a multiple of 16 (32 on the integer path) */
    uint64_t first[LLQ_MM_MAX + 1]; /* index of each matrix's first slice; first[count] = all slices */
    uint64_t next;                  /* next slice to take (atomic) */
    int failed;
};

/* One slice: matrix j, rows r0..r1-1. One token on a q type with the fast kernels quantizes the activations
 * once per thread and call (again only when a matrix with another group size comes); on the ggml block types once
 * per thread and call (*kq_done; all matrices of a call have the same columns). */
static int slice(struct mm_task *t, int j, uint64_t r0, uint64_t r1, qact *a, uint32_t *a_group, kq_act *ka,
                 int *kq_done)
{
    const llq_mat *W = t->W[j];
    if (t->q8[j]) {
        if (!fast(kern_impl)) {
            llq_mmq_ref(t->y[j], t->qa, W, r0, r1);
            return 0;
        }
        if (!llq_mm_xbuf(LLQ_MM_XBUF_FLOATS))
            return -1;
        llq_mmq_avx2(t->y[j], t->qa, W, r0, r1);
        return 0;
    }
    if (t->n == 1 && t->k[j] == llq_mm_kq_avx2) {
        if (!*kq_done) {
            size_t need = W->cols / 4 + 2 * (W->cols / 32) + 16;
            if (!kq_act_layout(ka, grow(&kbuf, &kbuf_cap, need), need, W->cols))
                return -1;
            kq_act_quantize(ka, t->x, W->cols);
            *kq_done = 1;
        }
        llq_mv_kq_rows_avx2(t->y[j], ka, W, r0, r1);
        return 0;
    }
    if (t->n == 1 && t->k[j] == llq_mm_q_avx2) {
        if (*a_group != W->group) {
            float *buf = qact_buf(qact_floats(W));
            if (!buf)
                return -1;
            qact_init(a, W, buf);
            qact_quantize_avx2(a, t->x, W->cols);
            *a_group = W->group;
        }
        llq_mv_q_rows_avx2(t->y[j], a, W, r0, r1);
        return 0;
    }
    if (!llq_mm_scratch(llq_mm_scratch_need(W)) || !llq_mm_xbuf(LLQ_MM_XBUF_FLOATS))
        return -1;
    t->k[j](t->y[j], t->x, t->n, W, r0, r1);
    return 0;
}

/* One token streams the weights: the start of the slice some thread takes next, towards the caches (the kernels
 * prefetch QDOT_PF_AHEAD bytes ahead within a slice; a slice's start would otherwise wait on memory). */
static void prefetch_slice(const struct mm_task *t, uint64_t s)
{
    if (s >= t->first[t->count])
        return;
    int j = 0;
    while (s >= t->first[j + 1])
        j++;
    const char *p = (const char *)t->W[j]->data + (s - t->first[j]) * t->chunk[j] * t->W[j]->row_bytes;
    for (int b = 0; b < QDOT_PF_AHEAD; b += 64)
        __builtin_prefetch(p + b, 0, 2);
}

static void mm_run(void *ud, int i, int nt)
{
    (void)i, (void)nt;
    struct mm_task *t = ud;
    qact a;
    kq_act ka;
    uint32_t a_group = UINT32_MAX; /* no activations quantized yet (no group size is UINT32_MAX) */
    int kq_done = 0;
    for (;;) {
        uint64_t s = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
        if (s >= t->first[t->count])
            break;
        int j = 0;
        while (s >= t->first[j + 1])
            j++;
        uint64_t r0 = (s - t->first[j]) * t->chunk[j], rows = t->W[j]->rows;
        if (t->n == 1)
            prefetch_slice(t, __atomic_load_n(&t->next, __ATOMIC_RELAXED));
        if (slice(t, j, r0, rows - r0 < t->chunk[j] ? rows : r0 + t->chunk[j], &a, &a_group, &ka, &kq_done)) {
            __atomic_store_n(&t->failed, 1, __ATOMIC_RELAXED);
            break;
        }
    }
}

/* Quantizing the activations for llq_matmul_act: rows in blocks of QROWS, on the pool's threads. */
#define QROWS 16
struct q_task {
    mmq_act *a;
    const float *x;
};

static void q_rows(void *ctx, size_t b)
{
    struct q_task *q = ctx;
    size_t t0 = b * QROWS, t1 = q->a->n - t0 < QROWS ? q->a->n : t0 + QROWS;
    if (fast(kern_impl))
        mmq_act_rows_avx2(q->a, q->x, t0, t1);
    else
        mmq_act_rows_ref(q->a, q->x, t0, t1);
}

int llq_matmul_n(float *const *y, const float *x, size_t n, const llq_mat *const *W, int count, llq_pool *pool)
{
    return llq_matmul_act(y, x, n, W, count, LLQ_MM_ACT_F32, pool);
}

int llq_matmul_act(float *const *y, const float *x, size_t n, const llq_mat *const *W, int count, int act,
                   llq_pool *pool)
{
    if (count < 1 || count > LLQ_MM_MAX)
        return llq_err(LLQ_EINVAL, "llq_matmul_n: %d matrices (1 to %d)", count, LLQ_MM_MAX);
    struct mm_task t = {.x = x, .n = n, .count = count};
    mmq_act qa;
    int any_q8 = 0;
    /* windows: slices of at most 256 rows, at least 4 per thread; one token: at most SLICE1 rows, at least 2
     * per thread (small slices keep the threads finishing together) */
    uint64_t nt = (uint64_t)llq_pool_size(pool), per = n <= 2 ? 2 : 4, cap = n == 1 ? SLICE1 : 256;
    for (int j = 0; j < count; j++) {
        if (W[j]->cols != W[0]->cols)
            return llq_err(LLQ_EINVAL, "llq_matmul_n: matrices of %llu and %llu columns",
                           (unsigned long long)W[0]->cols, (unsigned long long)W[j]->cols);
        if (!(t.k[j] = llq_mm_select(W[j]->type, kern_impl)))
            return llq_err(LLQ_EUNSUPPORTED, "no matmul kernel for tensor type %u", W[j]->type);
        uint64_t chunk = (W[j]->rows + nt * per - 1) / (nt * per);
        t.q8[j] = act == LLQ_MM_ACT_Q8 && n >= 3 && mmq_supports(W[j]);
        any_q8 |= t.q8[j];
        uint64_t unit = t.q8[j] ? MMQ_NR : 16; /* whole panels of the integer path */
        chunk = (chunk + unit - 1) / unit * unit;
        t.chunk[j] = chunk < unit ? unit : chunk > cap ? cap : chunk;
        t.y[j] = y[j];
        t.W[j] = W[j];
        t.first[j + 1] = t.first[j] + (n ? (W[j]->rows + t.chunk[j] - 1) / t.chunk[j] : 0);
    }
    if (t.first[count] == 0)
        return LLQ_OK;
    if (any_q8) { /* the activations quantized once, shared by every thread and matrix */
        size_t bytes = mmq_act_bytes(n, W[0]->cols);
        void *buf = bytes ? act_buf(bytes) : NULL;
        if (!buf)
            return llq_err(LLQ_ENOMEM, "out of memory (int8 activations, %zu tokens)", n);
        mmq_act_layout(&qa, buf, n, W[0]->cols);
        struct q_task q = {&qa, x};
        llq_pool_for(pool, (n + QROWS - 1) / QROWS, q_rows, &q);
        t.qa = &qa;
    }
    llq_pool_run(pool, mm_run, &t);
    if (t.failed)
        return llq_err(LLQ_ENOMEM, "out of memory (matmul scratch, %llu columns)", (unsigned long long)W[0]->cols);
    return LLQ_OK;
}

int llq_matmul(float *y, const float *x, size_t n, const llq_mat *W, llq_pool *pool)
{
    return llq_matmul_n(&y, x, n, &W, 1, pool);
}

void llq_gemm_f32(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                  size_t rows, size_t cols)
{
    if (fast(kern_impl) && (n <= 2 || llq_mm_xbuf(LLQ_MM_XBUF_FLOATS))) /* else ref: same numbers, no buffer */
        llq_gemm_f32_avx2(y, ldy, x, ldx, n, w, ldw, rows, cols);
    else
        llq_gemm_f32_ref(y, ldy, x, ldx, n, w, ldw, rows, cols);
}

void llq_gemm_f32_acc(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *w, size_t ldw,
                      size_t rows, size_t cols)
{
    if (fast(kern_impl) && llq_mm_xbuf(LLQ_MM_XBUF_FLOATS))
        llq_gemm_f32_acc_avx2(y, ldy, x, ldx, n, w, ldw, rows, cols);
    else
        llq_gemm_f32_acc_ref(y, ldy, x, ldx, n, w, ldw, rows, cols);
}

void llq_gemm_f32_nn(float *y, size_t ldy, const float *x, size_t ldx, size_t n, const float *v, size_t ldv,
                     size_t rows, size_t cols)
{
    if (fast(kern_impl) && (n <= 2 || llq_mm_xbuf(LLQ_MM_XBUF_FLOATS)))
        llq_gemm_f32_nn_avx2(y, ldy, x, ldx, n, v, ldv, rows, cols);
    else
        llq_gemm_f32_nn_ref(y, ldy, x, ldx, n, v, ldv, rows, cols);
}
