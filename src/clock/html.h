/* html.h: the clock's numbers as one self-contained HTML page (`tick
 * report`): inline SVG charts drawn here, inline CSS, no script, no network
 * and no fonts to fetch, so the file opens anywhere, offline, and prints.
 *
 *   #cycles-per-tick  time of every tick along the sequence (prefill and
 *                     decode in two colours, attention's share as a line)
 *   #ops-per-tick     the same ticks, stacked by op kind (kind_cycles)
 *   #roofline         log-log: FLOP/byte against GFLOP/s, the machine's
 *                     bandwidth slope and F32 ceiling, one point per op kind
 *   #phases, #machine, #kinds, #layers: the tables of `tick clock`
 *
 * Every chart's <svg> carries data-points="N", the number of points or bars
 * it draws, so a reader (or a test) can tell an empty chart from a full one. */
#ifndef TK_CLOCK_HTML_H
#define TK_CLOCK_HTML_H

#include <stdio.h>
#include "report.h"

typedef struct tk_html_opts {
    const char *cpu;       /* CPU model name; NULL: "unknown"                  */
    const char *prompt;    /* the prompt text (escaped on output); may be NULL */
    const char *output;    /* the generated text; may be NULL                  */
    const char *command;   /* the command line, for the page footer; may be NULL */
    double int8_gops;      /* int8 dot-product peak, drawn dashed; 0: not drawn */
} tk_html_opts;

/* Write the page for clock c of a run of model m, compared with the
 * machine's limits lim (zero fields: unknown, the roof is left out).
 * Returns 0, or -1 when writing to f failed. */
int tk_report_html(FILE *f, const tk_clock *c, const tk_model *m, const tk_limits *lim, const tk_html_opts *o);

#endif
