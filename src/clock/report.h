/* report.h: the clock's numbers as text a person reads at a glance and as
 * JSON for scripts (schema in docs/clock.md). The library writes to a
 * stream the caller owns; only apps decide where it goes. */
#ifndef TK_CLOCK_REPORT_H
#define TK_CLOCK_REPORT_H

#include <stdio.h>
#include "clock.h"

/* The machine's limits the numbers are compared with (from tick roofline).
 * Zero fields mean "unknown": percentages are then left out. */
typedef struct tk_limits {
    double read_gbs;     /* peak read bandwidth at the session's threads */
    double f32_gflops;   /* peak F32 FMA throughput at those threads     */
    const char *source;  /* where the numbers came from                  */
} tk_limits;

/* Per-tick lines (for `run --clock`). */
void tk_report_tick_header(FILE *f);
void tk_report_tick(FILE *f, const tk_clock *c, const tk_model *m, const tk_tick_rec *t, const tk_limits *lim);

/* The summary of `tick clock`: per phase, per stage, per op kind, per
 * layer, against the limits. */
void tk_report_summary(FILE *f, const tk_clock *c, const tk_model *m, const tk_limits *lim);
/* One tick in detail: where its cycles went, per stage and op kind, with
 * the bytes and FLOPs each kind moved at that position. */
int tk_report_tick_detail(FILE *f, const tk_clock *c, const tk_model *m, int tick, const tk_limits *lim);
void tk_report_json(FILE *f, const tk_clock *c, const tk_model *m, const tk_limits *lim);

/* Chrome trace event format (Perfetto, chrome://tracing). */
int tk_report_trace(FILE *f, const tk_clock *c, const tk_model *m);

/* Attainable GFLOP/s at arithmetic intensity ai (FLOP/byte). */
double tk_roof_attainable(const tk_limits *lim, double ai);

#endif
