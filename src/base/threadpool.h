/* threadpool.h: persistent workers, created once per session and reused
 * every tick. tk_pool_run runs fn(ctx, ith, nth) on all nth threads (the
 * caller is thread 0) and returns when every thread is done; inside fn,
 * tk_pool_barrier separates dependent ops. No allocation and no thread
 * creation after tk_pool_new. */
#ifndef TK_BASE_THREADPOOL_H
#define TK_BASE_THREADPOOL_H

#include "tick.h"

typedef struct tk_pool tk_pool;
typedef void (*tk_pool_fn)(void *ctx, int ith, int nth);

tk_pool *tk_pool_new(int n_threads, tk_error *e);
void tk_pool_free(tk_pool *p);
int tk_pool_size(const tk_pool *p);
void tk_pool_run(tk_pool *p, tk_pool_fn fn, void *ctx);
void tk_pool_barrier(tk_pool *p);

/* Rows [*r0, *r1) of n for thread ith of nth (contiguous, balanced). */
static inline void tk_split(int64_t n, int ith, int nth, int64_t *r0, int64_t *r1) {
    *r0 = n * ith / nth;
    *r1 = n * (ith + 1) / nth;
}

#endif
