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
    const tk_op_args *run;
    int n_ops;
} exec_job;

static void run_graph(void *arg, int ith, int nth) {
    exec_job *j = arg;
    const tk_graph *g = j->g;
    tk_clock *clk = j->clk;
    tk_op_args a = *j->run;
    a.ith = ith, a.nth = nth;
    tk_op_args solo = a;
    solo.ith = 0, solo.nth = 1;
    uint32_t tick = clk ? (uint32_t)(clk->n_ticks - 1) : 0;
    uint64_t prev = clk ? tk_cycles() : 0;
    for (int i = 0; i < j->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        if (op->parallel) op->run(op, &a);
        else if (ith == 0) op->run(op, &solo); /* a serial op sees one thread */
        if (clk && clk->trace_cap && (op->parallel || ith == 0)) tk_clock_trace(clk, ith, tick, i, prev, tk_cycles());
        if (nth > 1) tk_pool_barrier(j->pool);
        if (clk) {
            uint64_t now = tk_cycles();
            if (ith == 0) tk_clock_op(clk, j->rec, op, now - prev);
            prev = now;
        }
    }
}

void tk_exec(const tk_graph *g, tk_pool *pool, tk_clock *clk, const tk_op_args *run, int n_ops, int phase) {
    exec_job j = {g, pool, clk, NULL, run, n_ops};
    if (clk) {
        /* what attention reads: positions 0..pos of each row's sequence;
         * sequences: the changes of seq along the rows (each one's rows are
         * consecutive) */
        double ctx = 0;
        int n_seq = 1;
        for (int b = 0; b < run->n; b++) {
            ctx += (double)run->pos[b] + 1;
            n_seq += b > 0 && run->seq[b] != run->seq[b - 1];
        }
        j.rec = tk_clock_tick_begin(clk, run->pos[0], run->n, run->tokens[0], phase);
        j.rec->ctx = ctx, j.rec->n_out = run->n_out, j.rec->n_seq = n_seq;
    }
    tk_pool_run(pool, run_graph, &j);
    if (clk) tk_clock_tick_end(clk, j.rec);
}
