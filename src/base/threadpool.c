/* threadpool.c: workers sleep on a condition variable between jobs and
 * spin (briefly) on an atomic generation counter, so a tick's many small
 * jobs start fast while an idle process burns no CPU. The barrier is
 * sense-reversing on atomics. */
#include "threadpool.h"
#include "status.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define SPIN_BEFORE_SLEEP 20000

struct tk_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;       /* bumped for each job                  */
    atomic_int done;       /* workers finished with the current job */
    atomic_int stop;
    tk_pool_fn fn;
    void *ctx;
    struct worker_arg *args; /* [n], one per worker */
    /* barrier */
    atomic_int bar_count;
    atomic_uint bar_phase;
};

typedef struct worker_arg { tk_pool *p; int ith; } worker_arg;

static void *worker(void *arg) {
    worker_arg *w = arg;
    tk_pool *p = w->p;
    int ith = w->ith;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen && !atomic_load(&p->stop)) {
            if (++spins < SPIN_BEFORE_SLEEP) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        p->fn(p->ctx, ith, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
    return NULL;
}

tk_pool *tk_pool_new(int n, tk_error *e) {
    if (n < 1 || n > 1024) {
        tk_err(e, TK_EINVAL, "thread count %d is out of range [1, 1024]", n);
        return NULL;
    }
    tk_pool *p = calloc(1, sizeof *p);
    worker_arg *args = calloc((size_t)n, sizeof *args);
    if (!p || !args) goto oom;
    p->n = n;
    p->args = args;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads) goto oom;
    for (int i = 1; i < n; i++) {
        args[i] = (worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker, &args[i]) != 0) {
            p->n = i;
            tk_pool_free(p);
            tk_err(e, TK_ENOMEM, "cannot create thread %d of %d", i, n);
            return NULL;
        }
    }
    return p;
oom:
    if (p) free(p->threads);
    free(p);
    free(args);
    tk_err(e, TK_ENOMEM, "out of memory");
    return NULL;
}

void tk_pool_free(tk_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->args);
    free(p);
}

int tk_pool_size(const tk_pool *p) { return p->n; }

void tk_pool_run(tk_pool *p, tk_pool_fn fn, void *ctx) {
    if (p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) != p->n - 1; spins++) {
        if (spins < 2000) CPU_RELAX();
        else sched_yield();
    }
}

void tk_pool_barrier(tk_pool *p) {
    if (p->n == 1) return;
    unsigned phase = atomic_load_explicit(&p->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_phase, 1, memory_order_release);
    } else {
        /* spin, then yield: with more threads than free cores a pure spin
         * would wait for the descheduled thread's whole time slice */
        for (int spins = 0; atomic_load_explicit(&p->bar_phase, memory_order_acquire) == phase; spins++) {
            if (spins < 2000) CPU_RELAX();
            else sched_yield();
        }
    }
}
