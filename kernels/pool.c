/* pool.c — a fixed set of worker threads that run one task at a time (fork/join), for matmuls and attention.
 *
 * Generating one token runs ~8 short tasks per layer (tens of microseconds each), so waking a sleeping thread
 * for every task (a futex, and in a VM an inter-processor interrupt through the hypervisor) would cost as much
 * as the work. Workers therefore poll for the next task for SPIN_NS after finishing one, and the caller polls
 * for the workers' completion, before either sleeps on its condition variable. A pool that stays idle costs
 * SPIN_NS of CPU per thread and then nothing. */
#include "kern.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SPIN_NS 200000 /* 0.2 ms */


struct llq_pool {
    int n;                 /* threads including the caller */
    pthread_t *th;         /* n - 1 workers */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long gen;     /* bumped for every run (written under mu, read atomically by spinning workers) */
    int pending;           /* workers still running the current task (atomic) */
    int stop;              /* written under mu, read atomically */
    llq_task_fn fn;
    void *ud;
};

struct worker_arg {
    llq_pool *p;
    int i;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Polls until *v != old or SPIN_NS pass; returns whether it changed. */
static int spin_ul(const unsigned long *v, unsigned long old, const int *stop)
{
    uint64_t t0 = now_ns();
    for (unsigned k = 1;; k++) {
        if (__atomic_load_n(v, __ATOMIC_ACQUIRE) != old || __atomic_load_n(stop, __ATOMIC_RELAXED))
            return 1;
        _mm_pause();
        if (k % 64 == 0 && now_ns() - t0 > SPIN_NS)
            return 0;
    }
}

static void *worker(void *arg)
{
    llq_pool *p = ((struct worker_arg *)arg)->p;
    int i = ((struct worker_arg *)arg)->i;
    free(arg);
    unsigned long seen = 0;
    for (;;) {
        if (!spin_ul(&p->gen, seen, &p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (p->gen == seen && !p->stop)
                pthread_cond_wait(&p->start, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
            break;
        seen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE); /* fn and ud were written before gen */
        p->fn(p->ud, i, p->n);
        if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&p->mu); /* the caller may be asleep on done */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    llq_mm_scratch_release();
    return NULL;
}

int llq_pool_new(llq_pool **out, int n_threads)
{
    *out = NULL;
    if (n_threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (int)c : 1;
    }
    if (n_threads > 256)
        return llq_err(LLQ_EINVAL, "too many threads (%d, at most 256)", n_threads);
    llq_pool *p = calloc(1, sizeof *p);
    if (!p)
        return llq_err(LLQ_ENOMEM, "out of memory (thread pool)");
    p->n = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1 && !(p->th = calloc((size_t)n_threads - 1, sizeof *p->th))) {
        llq_pool_free(p);
        return llq_err(LLQ_ENOMEM, "out of memory (thread pool)");
    }
    for (int i = 1; i < n_threads; i++) {
        struct worker_arg *a = malloc(sizeof *a);
        if (!a || (a->p = p, a->i = i, pthread_create(&p->th[i - 1], NULL, worker, a) != 0)) {
            free(a);
            llq_pool_free(p);
            return llq_err(LLQ_ENOMEM, "cannot start thread %d of %d", i, n_threads);
        }
        p->n = i + 1;
    }
    *out = p;
    return LLQ_OK;
}

void llq_pool_free(llq_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->th[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p);
}

int llq_pool_size(const llq_pool *p)
{
    return p ? p->n : 1;
}

void llq_pool_run(llq_pool *p, llq_task_fn fn, void *ud)
{
    if (!p || p->n == 1) {
        fn(ud, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ud = ud;
    __atomic_store_n(&p->pending, p->n - 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELEASE); /* publishes fn, ud, pending to spinning workers */
    pthread_cond_broadcast(&p->start);                /* and wakes the sleeping ones */
    pthread_mutex_unlock(&p->mu);
    fn(ud, 0, p->n);
    uint64_t t0 = now_ns();
    for (unsigned k = 1; __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0; k++) {
        _mm_pause();
        if (k % 64 == 0 && now_ns() - t0 > SPIN_NS) {
            pthread_mutex_lock(&p->mu);
            while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0)
                pthread_cond_wait(&p->done, &p->mu);
            pthread_mutex_unlock(&p->mu);
            break;
        }
    }
}

/* ---- blocks handed out by a shared counter ---- */

typedef struct pool_for {
    void (*fn)(void *ctx, size_t b);
    void *ctx;
    size_t n_blk, next; /* next: atomic */
} pool_for;

static void pool_for_run(void *ud, int i, int n)
{
    (void)i, (void)n;
    pool_for *t = ud;
    for (size_t b; (b = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED)) < t->n_blk;)
        t->fn(t->ctx, b);
}

void llq_pool_for(llq_pool *p, size_t n_blk, void (*fn)(void *ctx, size_t b), void *ctx)
{
    pool_for t = {fn, ctx, n_blk, 0};
    if (n_blk <= 1 || llq_pool_size(p) == 1) {
        for (size_t b = 0; b < n_blk; b++)
            fn(ctx, b);
        return;
    }
    llq_pool_run(p, pool_for_run, &t);
}
