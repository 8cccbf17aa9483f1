/* cmd_run.c: `tick run` and `tick clock`: load, prefill the prompt, then
 * one tick per generated token. `run` streams the text as it is produced
 * (with --clock, a line per tick on stderr; with --trace, a Chrome trace);
 * `clock` prints where the time went, per stage, op kind and layer. */
#include "cli.h"
#include "../src/clock/report.h"
#include "../src/clock/roofline.h"
#include "../src/tokenizer/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_RUN, MODE_CLOCK };

/* The machine's limits for n threads, from the roofline cache (measured
 * now when there is none). */
static void limits_for(tk_limits *lim, tk_roofline *r, int n_threads, int quiet) {
    memset(lim, 0, sizeof *lim);
    tk_error e = {0};
    if (!quiet) fprintf(stderr, "tick: reading this machine's limits (measured once by `tick roofline`, then cached)\n");
    if (tk_roofline_get(r, 0, &e) != TK_OK) {
        fprintf(stderr, "tick: no roofline (%s); percentages are left out\n", e.msg);
        return;
    }
    int t = n_threads < r->n_threads_max ? n_threads : r->n_threads_max;
    if (t < 1) t = 1;
    lim->read_gbs = r->read_gbs[t];
    lim->f32_gflops = r->f32_gflops[t];
    lim->source = "tick roofline";
}

static int generate(int argc, char **argv, int mode) {
    cli_opts o;
    const char *cmd = mode == MODE_RUN ? "run" : "clock";
    int flags = F_MODEL | F_PROMPT | F_GEN | F_SAMPLE | (mode == MODE_RUN ? F_CLOCK : F_JSON);
    int rc = cli_parse(argc, argv, 2, flags, cmd, &o);
    if (rc) return rc;
    if (mode == MODE_CLOCK) o.clock = 1;
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
    int32_t *ids = NULL;
    int n_ids = 0, status = 1;
    if (o.trace_path && !(trace = fopen(o.trace_path, "w"))) {
        fprintf(stderr, "tick %s: --trace %s: cannot create the file\n", cmd, o.trace_path);
        goto done;
    }
    s = tk_session_new(m, &so, &e);
    smp = s ? tk_sampler_new(&o.sp, tk_n_vocab(m), &e) : NULL;
    if (!smp) { fprintf(stderr, "tick %s: %s\n", cmd, e.msg); goto done; }

    int tflags = o.no_bos || !tk_model_info_of(m)->add_bos ? 0 : TK_TOKENIZE_ADD_BOS;
    n_ids = tk_tokenize(m, prompt, plen, tflags, NULL, 0, &e);
    if (n_ids < 0) { fprintf(stderr, "tick %s: prompt: %s\n", cmd, e.msg); goto done; }
    int n_ctx = tk_session_n_ctx(s);
    if (n_ids == 0) { fprintf(stderr, "tick %s: nothing to start from: the prompt is empty and no BOS token is added\n", cmd); goto done; }
    if (n_ids > n_ctx) {
        fprintf(stderr, "tick %s: the prompt is %d tokens but the context holds %d (-c %d)\n", cmd, n_ids, n_ctx, n_ctx);
        goto done;
    }
    ids = malloc((size_t)n_ids * sizeof *ids);
    if (!ids) { fprintf(stderr, "tick %s: out of memory\n", cmd); goto done; }
    tk_tokenize(m, prompt, plen, tflags, ids, n_ids, &e);

    tk_roofline roof;
    tk_limits lim = {0};
    if (o.clock) limits_for(&lim, &roof, o.n_threads > 0 ? o.n_threads : 1, mode == MODE_CLOCK && o.json);
    const tk_clock *clk = tk_session_clock(s);
    int printed = 0; /* tick records already printed */
    if (mode == MODE_RUN) {
        fwrite(prompt, 1, plen, stdout);
        fflush(stdout);
        if (o.clock) tk_report_tick_header(stderr);
    }
    for (int i = 0; i < n_ids; i++) tk_sampler_accept(smp, ids[i]);

    double t0 = tk_now_ns();
    if (tk_prefill(s, ids, n_ids, &e)) { fprintf(stderr, "tick %s: %s\n", cmd, e.msg); goto done; }
    double t1 = tk_now_ns();

    tk_utf8_stream us = {0};
    char piece[512], out[sizeof piece + 8];
    int n_gen = 0, first = plen == 0;
    const char *why = "limit (-n)";
    for (;;) {
        if (o.n_predict >= 0 && n_gen >= o.n_predict) break;
        int32_t id = tk_session_sample(s, smp);
        tk_sampler_accept(smp, id);
        if (mode == MODE_RUN && o.clock)
            for (; clk && printed < clk->n_ticks; printed++) tk_report_tick(stderr, clk, m, &clk->ticks[printed], &lim);
        if (tk_token_is_eog(m, id)) { why = "end of generation token"; break; }
        n_gen++;
        if (mode == MODE_RUN) {
            int len = tk_token_piece(m, id, piece, (int)sizeof piece);
            if (len > (int)sizeof piece) len = (int)sizeof piece;
            const char *p = piece;
            if (first && len > 0 && p[0] == ' ') p++, len--; /* as SentencePiece decodes after BOS */
            if (len > 0) first = 0;
            int w = tk_utf8_stream_push(&us, p, len, out);
            fwrite(out, 1, (size_t)w, stdout);
            fflush(stdout);
        }
        if (tk_session_pos(s) >= n_ctx) { why = "context full"; break; }
        if (tk_decode(s, id, &e)) { fprintf(stderr, "\ntick %s: %s\n", cmd, e.msg); goto done; }
    }
    double t2 = tk_now_ns();
    if (mode == MODE_RUN) {
        int w = tk_utf8_stream_flush(&us, out);
        fwrite(out, 1, (size_t)w, stdout);
        printf("\n");
        fflush(stdout);
        if (o.clock)
            for (; clk && printed < clk->n_ticks; printed++) tk_report_tick(stderr, clk, m, &clk->ticks[printed], &lim);
    }
    if (!strcmp(why, "context full"))
        fprintf(stderr, "tick %s: stopped: the context is full (%d tokens, -c %d)\n", cmd, n_ctx, n_ctx);
    double pp = (t1 - t0) / 1e9, tg = (t2 - t1) / 1e9;
    fprintf(stderr, "prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | stop: %s", n_ids,
            n_ids / (pp > 0 ? pp : 1e-9), n_gen, n_gen / (tg > 0 ? tg : 1e-9), why);
    if (o.sp.temp > 0) fprintf(stderr, " | seed %llu", (unsigned long long)o.sp.seed);
    fprintf(stderr, "\n");
    if (mode == MODE_CLOCK) {
        if (o.json) tk_report_json(stdout, clk, m, &lim);
        else tk_report_summary(stdout, clk, m, &lim);
        if (o.tick_index >= 0 && !o.json && tk_report_tick_detail(stdout, clk, m, o.tick_index, &lim) != 0)
            fprintf(stderr, "tick clock: --tick %d: only %d ticks ran (0..%d)\n", o.tick_index, clk->n_ticks, clk->n_ticks - 1);
    }
    if (trace) {
        if (tk_report_trace(trace, clk, m) != 0 || fclose(trace) != 0) {
            trace = NULL;
            fprintf(stderr, "tick %s: --trace %s: write failed\n", cmd, o.trace_path);
            goto done;
        }
        trace = NULL;
        fprintf(stderr, "tick %s: trace written to %s (open in https://ui.perfetto.dev or chrome://tracing)\n", cmd, o.trace_path);
    }
    status = 0;
done:
    if (trace) fclose(trace);
    free(ids);
    free(prompt);
    tk_sampler_free(smp);
    tk_session_free(s);
    tk_model_free(m);
    return status;
}

int cmd_run(int argc, char **argv) { return generate(argc, argv, MODE_RUN); }
int cmd_clock(int argc, char **argv) { return generate(argc, argv, MODE_CLOCK); }
