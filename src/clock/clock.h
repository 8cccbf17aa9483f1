/* clock.h: what every tick cost.
 *
 * The executor (exec.c) stamps the cycle counter around every op of every
 * position and hands the difference here, with the op's FLOPs and bytes
 * (known from its shapes, not from timers). A tick record holds the four
 * stages (fetch, decode, execute, write-back) and the per-kind split of one
 * position; aggregates per op kind and per layer are kept separately for
 * prefill and decode. Everything is allocated when the clock is made
 * (one record per context position; trace events only with tracing on):
 * nothing is allocated inside a tick. */
#ifndef TK_CLOCK_CLOCK_H
#define TK_CLOCK_CLOCK_H

#include <stdint.h>
#include "tick.h"
#include "../base/cycles.h"
#include "../model/graph.h"

enum { TK_PHASE_PREFILL, TK_PHASE_DECODE, TK_PHASE_COUNT };

typedef struct tk_clock_stat {
    uint64_t cycles;
    uint64_t calls;
    double flops, bytes;
} tk_clock_stat;

typedef struct tk_tick_rec {
    int pos;       /* first row's position                            */
    int n;         /* rows (positions) in this tick (> 1: a burst or a batch) */
    int32_t token; /* first row's token                               */
    int phase;
    int n_seq;     /* sequences in this tick (> 1: a batched tick)     */
    int n_out;     /* rows that went through the final ops (logits)    */
    double ctx;    /* positions attention read: sum of (pos + 1) over rows */
    double t_start_ns, t_end_ns;   /* monotonic wall clock              */
    uint64_t c_start, c_end;       /* cycle counter                     */
    uint64_t stage_cycles[TK_STAGE_COUNT];
    uint64_t kind_cycles[TK_KIND_COUNT];
    double flops, bytes;
} tk_tick_rec;

/* One slice of the Chrome trace: thread tid ran op `op` of tick `tick`. */
typedef struct tk_trace_ev {
    uint32_t tick;
    int16_t op; /* index into the graph; -1: sampling */
    uint64_t c0, c1;
} tk_trace_ev;

typedef struct tk_clock {
    tk_cycle_info ci;
    int n_layer, n_threads;
    int cap_ticks, n_ticks, dropped_ticks;
    tk_tick_rec *ticks;
    tk_clock_stat kind[TK_PHASE_COUNT][TK_KIND_COUNT];
    tk_clock_stat stage[TK_PHASE_COUNT][TK_STAGE_COUNT];
    tk_clock_stat *layer[TK_PHASE_COUNT];  /* [n_layer] */
    tk_clock_stat total[TK_PHASE_COUNT];    /* whole ticks (wall); calls = positions */
    uint64_t n_tokens[TK_PHASE_COUNT];      /* positions run (a burst has many)  */
    double wall_ns[TK_PHASE_COUNT];
    /* trace: per thread, a preallocated ring of events (off when cap 0) */
    int trace_cap;
    int *trace_n;          /* [n_threads] */
    tk_trace_ev **trace;   /* [n_threads][trace_cap] */
    const tk_graph *graph;
} tk_clock;

/* Make a clock for a graph: room for max_ticks tick records and, when
 * trace is set, for every op of every tick on every thread. */
tk_clock *tk_clock_new(const tk_graph *g, int n_threads, int max_ticks, int trace, tk_error *e);
void tk_clock_free(tk_clock *c);
void tk_clock_reset(tk_clock *c);

/* Called by the executor (thread 0 only, except tk_clock_trace). */
tk_tick_rec *tk_clock_tick_begin(tk_clock *c, int pos, int n, int32_t token, int phase);
void tk_clock_op(tk_clock *c, tk_tick_rec *t, const tk_op *op, uint64_t cycles);
void tk_clock_tick_end(tk_clock *c, tk_tick_rec *t);
/* Sampling, after the tick that produced the logits. */
void tk_clock_sample(tk_clock *c, uint64_t c0, uint64_t c1, int n_vocab);
static inline void tk_clock_trace(tk_clock *c, int tid, uint32_t tick, int op, uint64_t c0, uint64_t c1) {
    if (c->trace_cap && c->trace_n[tid] < c->trace_cap)
        c->trace[tid][c->trace_n[tid]++] = (tk_trace_ev){tick, (int16_t)op, c0, c1};
}

/* FLOPs and bytes of an op run for the rows of tick t (n rows, n_out of
 * them through the last_only ops, attention reading ctx positions in
 * all): per-row work times the rows, weights once per tick (except
 * embedding rows: one per row), and attention's part for every position
 * it reads. */
static inline double tk_op_flops(const tk_op *op, const tk_tick_rec *t) {
    double rows = op->last_only ? t->n_out : t->n;
    return (double)op->flops * rows + (double)op->flops_per_ctx * t->ctx;
}
static inline double tk_op_bytes(const tk_op *op, const tk_tick_rec *t) {
    double rows = op->last_only ? t->n_out : t->n;
    double once = op->kind == TK_KIND_EMBED ? 0 : (double)op->weight_bytes;
    return once + ((double)op->bytes - once) * rows + (double)op->bytes_per_ctx * t->ctx;
}

#endif
