/* clock.c: accumulating what ticks cost (see clock.h). */
#include "clock.h"
#include "../base/status.h"

#include <stdlib.h>
#include <string.h>

tk_clock *tk_clock_new(const tk_graph *g, int n_threads, int max_ticks, int trace, tk_error *e) {
    tk_clock *c = calloc(1, sizeof *c);
    if (!c) goto oom;
    c->graph = g;
    c->n_layer = g->n_layer;
    c->n_threads = n_threads;
    c->cap_ticks = max_ticks;
    c->ticks = calloc((size_t)max_ticks, sizeof *c->ticks);
    for (int p = 0; p < TK_PHASE_COUNT; p++) c->layer[p] = calloc((size_t)g->n_layer + 1, sizeof **c->layer);
    if (!c->ticks || !c->layer[0] || !c->layer[1]) goto oom;
    if (trace) {
        /* every op plus one sampling slice per tick */
        size_t cap = (size_t)max_ticks * (size_t)(g->n_ops + 1);
        if (cap > (size_t)64 << 20) {
            tk_clock_free(c);
            tk_err(e, TK_EINVAL, "trace would need %zu events per thread: use a smaller context (-c)", cap);
            return NULL;
        }
        c->trace_cap = (int)cap;
        c->trace_n = calloc((size_t)n_threads, sizeof *c->trace_n);
        c->trace = calloc((size_t)n_threads, sizeof *c->trace);
        if (!c->trace_n || !c->trace) goto oom;
        for (int t = 0; t < n_threads; t++) {
            if (!(c->trace[t] = malloc(cap * sizeof **c->trace))) goto oom;
            memset(c->trace[t], 0, cap * sizeof **c->trace); /* fault the pages in now, not inside a tick */
        }
    }
    memset(c->ticks, 0, (size_t)max_ticks * sizeof *c->ticks); /* same for the records */
    if (tk_cycles_calibrate(&c->ci) != TK_OK) {
        c->ci.source = "clock_gettime";
        c->ci.hz = 1e9;
    }
    return c;
oom:
    tk_clock_free(c);
    tk_err(e, TK_ENOMEM, "clock: out of memory");
    return NULL;
}

void tk_clock_free(tk_clock *c) {
    if (!c) return;
    if (c->trace)
        for (int t = 0; t < c->n_threads; t++) free(c->trace[t]);
    free(c->trace);
    free(c->trace_n);
    free(c->ticks);
    free(c->layer[0]);
    free(c->layer[1]);
    free(c);
}

void tk_clock_reset(tk_clock *c) {
    c->n_ticks = c->dropped_ticks = 0;
    memset(c->kind, 0, sizeof c->kind);
    memset(c->stage, 0, sizeof c->stage);
    memset(c->total, 0, sizeof c->total);
    memset(c->wall_ns, 0, sizeof c->wall_ns);
    memset(c->n_tokens, 0, sizeof c->n_tokens);
    for (int p = 0; p < TK_PHASE_COUNT; p++) memset(c->layer[p], 0, (size_t)c->n_layer * sizeof **c->layer);
    if (c->trace_n) memset(c->trace_n, 0, (size_t)c->n_threads * sizeof *c->trace_n);
}

/* Past the record capacity the aggregates still count; the record is a
 * scratch slot that is overwritten. */
tk_tick_rec *tk_clock_tick_begin(tk_clock *c, int pos, int n, int32_t token, int phase) {
    tk_tick_rec *t;
    if (c->n_ticks < c->cap_ticks) t = &c->ticks[c->n_ticks++];
    else {
        c->dropped_ticks++;
        t = &c->ticks[c->cap_ticks - 1];
    }
    memset(t, 0, sizeof *t);
    t->pos = pos, t->n = n, t->token = token, t->phase = phase;
    c->n_tokens[phase] += (uint64_t)n;
    t->t_start_ns = tk_now_ns();
    t->c_start = tk_cycles();
    return t;
}

void tk_clock_op(tk_clock *c, tk_tick_rec *t, const tk_op *op, uint64_t cycles) {
    double fl = tk_op_flops(op, t), by = tk_op_bytes(op, t);
    int ph = t->phase;
    t->stage_cycles[op->stage] += cycles;
    t->kind_cycles[op->kind] += cycles;
    t->flops += fl, t->bytes += by;
    tk_clock_stat *k = &c->kind[ph][op->kind], *s = &c->stage[ph][op->stage];
    k->cycles += cycles, k->calls++, k->flops += fl, k->bytes += by;
    s->cycles += cycles, s->calls++, s->flops += fl, s->bytes += by;
    if (op->layer >= 0 && op->layer < c->n_layer) {
        tk_clock_stat *l = &c->layer[ph][op->layer];
        l->cycles += cycles, l->calls++, l->flops += fl, l->bytes += by;
    }
}

void tk_clock_tick_end(tk_clock *c, tk_tick_rec *t) {
    t->c_end = tk_cycles();
    t->t_end_ns = tk_now_ns();
    tk_clock_stat *s = &c->total[t->phase];
    /* calls of a total count positions, so every "per token" is exact for bursts too */
    s->cycles += t->c_end - t->c_start, s->calls += (uint64_t)t->n, s->flops += t->flops, s->bytes += t->bytes;
    c->wall_ns[t->phase] += t->t_end_ns - t->t_start_ns;
}

void tk_clock_sample(tk_clock *c, uint64_t c0, uint64_t c1, int n_vocab) {
    if (c->n_ticks == 0) return;
    tk_tick_rec *t = &c->ticks[c->n_ticks - 1];
    uint64_t cy = c1 - c0;
    double by = (double)n_vocab * 4, fl = (double)n_vocab;
    t->stage_cycles[TK_STAGE_EXECUTE] += cy;
    t->kind_cycles[TK_KIND_SAMPLE] += cy;
    t->flops += fl, t->bytes += by;
    t->c_end = c1;
    double ns = cy / c->ci.hz * 1e9;
    t->t_end_ns += ns;
    int ph = t->phase;
    tk_clock_stat *k = &c->kind[ph][TK_KIND_SAMPLE], *s = &c->stage[ph][TK_STAGE_EXECUTE];
    k->cycles += cy, k->calls++, k->flops += fl, k->bytes += by;
    s->cycles += cy, s->calls++, s->flops += fl, s->bytes += by;
    c->total[ph].cycles += cy, c->total[ph].flops += fl, c->total[ph].bytes += by;
    c->wall_ns[ph] += ns;
    tk_clock_trace(c, 0, (uint32_t)(c->n_ticks - 1), -1, c0, c1);
}
