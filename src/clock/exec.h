/* exec.h: the executor: runs a graph for one position on the thread pool,
 * with the clock's accounting when a clock is given (same code path). */
#ifndef TK_CLOCK_EXEC_H
#define TK_CLOCK_EXEC_H

#include "clock.h"
#include "../base/threadpool.h"

/* Run graph g for the n tokens at positions pos .. pos+n-1 (n <= the
 * state's n_batch); ops from g->first_logits_op on only when want_logits.
 * clk may be NULL (accounting off). */
void tk_exec(const tk_graph *g, tk_pool *pool, tk_clock *clk, const int32_t *tokens, int n, int pos, int phase,
             int want_logits);

#endif
