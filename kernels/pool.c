/* pool.c — a fixed set of worker threads that run one task at a time (fork/join), for matmuls and attention. */
#include "llq/kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

void llq_mm_scratch_release(void);

struct llq_pool {
    int n;                 /* threads including the caller */
    pthread_t *th;         /* n - 1 workers */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long gen;     /* bumped for every run */
    int pending;           /* workers still running the current task */
    int stop;
    llq_task_fn fn;
    void *ud;
};

struct worker_arg {
    llq_pool *p;
    int i;
};

static void *worker(void *arg)
{
    llq_pool *p = ((struct worker_arg *)arg)->p;
    int i = ((struct worker_arg *)arg)->i;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->stop)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        llq_task_fn fn = p->fn;
        void *ud = p->ud;
        pthread_mutex_unlock(&p->mu);
        fn(ud, i, p->n);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
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
    p->stop = 1;
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
    p->pending = p->n - 1;
    p->gen++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    fn(ud, 0, p->n);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
