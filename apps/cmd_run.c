/* cmd_run.c: `tick run` and `tick clock`. `run` streams the text as it is
 * produced (with --clock, a line per tick on stderr; with --trace, a
 * Chrome trace); `clock` prints where the time went, per stage, op kind and
 * layer. The loop itself is cli_generate (generate.c). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_RUN, MODE_CLOCK };

typedef struct run_ctx {
    const tk_session *s;
    const tk_model *m;
    const tk_limits *lim;
    int tick_lines; /* print a line per tick record */
    int printed;    /* records printed so far       */
} run_ctx;

static void emit_stdout(void *ctx, const char *text, int n) {
    (void)ctx;
    fwrite(text, 1, (size_t)n, stdout);
    fflush(stdout);
}

static void print_ticks(void *ctx) {
    run_ctx *r = ctx;
    const tk_clock *c = tk_session_clock(r->s);
    for (; r->tick_lines && c && r->printed < c->n_ticks; r->printed++)
        tk_report_tick(stderr, c, r->m, &c->ticks[r->printed], r->lim);
}

static int generate(int argc, char **argv, int mode) {
    cli_opts o;
    const char *cmd = mode == MODE_RUN ? "run" : "clock";
    int flags = F_MODEL | F_PROMPT | F_GEN | F_SAMPLE | (mode == MODE_RUN ? F_CLOCK : F_JSON);
    const double t_start = tk_now_ns();
    int rc = cli_parse(argc, argv, 2, flags, cmd, &o);
    if (rc) return rc;
    if (mode == MODE_CLOCK) o.clock = 1;
    o.t_start = t_start;
    /* tick run: the prompt on the file's layout, repacked after the first
     * token (it comes ~2x sooner); measuring runs repack before they start */
    o.defer_repack = mode == MODE_RUN && !o.clock && !o.trace_path;
    size_t plen;
    char *prompt = cli_prompt(&o, &plen);
    if (!prompt) return 1;
    tk_model *m = cli_load(&o);
    if (!m) { free(prompt); return 1; }
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = o.n_ctx, .n_threads = o.n_threads, .clock = o.clock || o.trace_path, .trace = o.trace_path != NULL};
    FILE *trace = NULL;
    tk_session *s = NULL;
    tk_sampler *smp = NULL;
    int status = 1;
    if (o.trace_path && !(trace = fopen(o.trace_path, "w"))) {
        fprintf(stderr, "tick %s: --trace %s: cannot create the file\n", cmd, o.trace_path);
        goto done;
    }
    s = tk_session_new(m, &so, &e);
    smp = s ? tk_sampler_new(&o.sp, tk_n_vocab(m), &e) : NULL;
    if (!smp) { fprintf(stderr, "tick %s: %s\n", cmd, e.msg); goto done; }

    tk_roofline roof;
    tk_limits lim = {0};
    if (o.clock) cli_limits(&lim, &roof, o.n_threads > 0 ? o.n_threads : 1, mode == MODE_CLOCK && o.json, NULL);
    run_ctx rctx = {s, m, &lim, mode == MODE_RUN && o.clock, 0};
    cli_gen g = {mode == MODE_RUN ? emit_stdout : NULL, print_ticks, &rctx, 0, 0, NULL};
    if (mode == MODE_RUN) {
        fwrite(prompt, 1, plen, stdout);
        fflush(stdout);
        if (o.clock) tk_report_tick_header(stderr);
    }
    if (cli_generate(cmd, &o, m, s, smp, prompt, plen, &g)) goto done;
    if (mode == MODE_RUN) {
        printf("\n");
        fflush(stdout);
        print_ticks(&rctx);
    }
    const tk_clock *clk = tk_session_clock(s);
    if (mode == MODE_CLOCK) {
        if (o.json) tk_report_json(stdout, clk, m, &lim);
        else tk_report_summary(stdout, clk, m, &lim);
        if (o.tick_index >= 0 && !o.json && tk_report_tick_detail(stdout, clk, m, o.tick_index, &lim) != 0)
            fprintf(stderr, "tick clock: --tick %d: only %d ticks ran (0..%d)\n", o.tick_index, clk->n_ticks, clk->n_ticks - 1);
    }
    if (trace) {
        int bad = tk_report_trace(trace, clk, m) != 0;
        bad |= fclose(trace) != 0;
        trace = NULL;
        if (bad) {
            fprintf(stderr, "tick %s: --trace %s: write failed\n", cmd, o.trace_path);
            goto done;
        }
        fprintf(stderr, "tick %s: trace written to %s (open in https://ui.perfetto.dev or chrome://tracing)\n", cmd, o.trace_path);
    }
    status = 0;
done:
    if (trace) fclose(trace);
    free(prompt);
    tk_sampler_free(smp);
    tk_session_free(s);
    tk_model_free(m);
    return status;
}

int cmd_run(int argc, char **argv) { return generate(argc, argv, MODE_RUN); }
int cmd_clock(int argc, char **argv) { return generate(argc, argv, MODE_CLOCK); }
