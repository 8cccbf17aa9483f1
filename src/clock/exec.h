/* exec.h: the executor: runs a graph for one run (a tick of n rows) on the
 * thread pool, with the clock's accounting when a clock is given (same
 * code path). */
#ifndef TK_CLOCK_EXEC_H
#define TK_CLOCK_EXEC_H

#include "clock.h"
#include "../base/threadpool.h"

/* Run the first n_ops ops of graph g for the rows of a run (its pos, seq,
 * tokens, n, out, n_out; ith and nth are filled per thread), n <= the
 * state's n_batch: g->n_ops for logits, g->first_classifier_op for the
 * final-norm hidden rows only, g->first_logits_op for neither. clk may be
 * NULL (accounting off). */
void tk_exec(const tk_graph *g, tk_pool *pool, tk_clock *clk, const tk_op_args *run, int n_ops, int phase);

#endif
