/* exec.c: every thread walks the whole graph; a parallel op is split by
 * rows (or heads) across threads, a serial op runs on thread 0; a barrier
 * separates consecutive ops. With a clock, thread 0 stamps the cycle
 * counter after each op's barrier, so an op's cycles are the wall time from
 * the end of the previous op to the end of this one on every thread. */
#include "exec.h"

typedef struct exec_job {
    const tk_graph *g;
    tk_pool *pool;
    tk_clock *clk;
    tk_tick_rec *rec;
    const int32_t *tokens;
    int pos, n, n_ops;
} exec_job;

static void run_graph(void *arg, int ith, int nth) {
    exec_job *j = arg;
    const tk_graph *g = j->g;
    tk_clock *clk = j->clk;
    tk_op_args a = {j->pos, j->n, j->tokens, ith, nth};
    uint32_t tick = clk ? (uint32_t)(clk->n_ticks - 1) : 0;
    uint64_t prev = clk ? tk_cycles() : 0;
    for (int i = 0; i < j->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        if (op->parallel || ith == 0) op->run(op, &a);
        if (clk && clk->trace_cap && (op->parallel || ith == 0)) tk_clock_trace(clk, ith, tick, i, prev, tk_cycles());
        if (nth > 1) tk_pool_barrier(j->pool);
        if (clk) {
            uint64_t now = tk_cycles();
            if (ith == 0) tk_clock_op(clk, j->rec, op, now - prev);
            prev = now;
        }
    }
}

void tk_exec(const tk_graph *g, tk_pool *pool, tk_clock *clk, const int32_t *tokens, int n, int pos, int phase,
             int want_logits) {
    exec_job j = {g, pool, clk, NULL, tokens, pos, n, want_logits ? g->n_ops : g->first_logits_op};
    if (clk) j.rec = tk_clock_tick_begin(clk, pos, n, tokens[0], phase);
    tk_pool_run(pool, run_graph, &j);
    if (clk) tk_clock_tick_end(clk, j.rec);
}
