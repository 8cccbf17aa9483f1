/* generate.c: the generation loop shared by `tick run`, `tick clock` and
 * `tick report`: tokenize the prompt, prefill it, then one tick per
 * generated token until -n, an end-of-generation token or a full context,
 * and the one-line summary on stderr. What differs between the commands
 * (where the text goes, what is printed per tick) comes in as callbacks. */
#include "cli.h"
#include "../src/base/cycles.h"
#include "../src/tokenizer/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_limits(tk_limits *lim, tk_roofline *r, int n_threads, int quiet, double *int8_gops) {
    memset(lim, 0, sizeof *lim);
    if (int8_gops) *int8_gops = 0;
    tk_error e = {0};
    if (!quiet) fprintf(stderr, "tick: reading this machine's limits (measured once by `tick roofline`, then cached)\n");
    if (tk_roofline_get(r, 0, &e) != TK_OK) {
        fprintf(stderr, "tick: no roofline (%s); percentages are left out\n", e.msg);
        return -1;
    }
    int t = n_threads < r->n_threads_max ? n_threads : r->n_threads_max;
    if (t < 1) t = 1;
    lim->read_gbs = r->read_gbs[t];
    lim->f32_gflops = r->f32_gflops[t];
    lim->source = "tick roofline";
    if (int8_gops) *int8_gops = r->int8_gops[t];
    return 0;
}

int cli_generate(const char *cmd, const cli_opts *o, tk_model *m, tk_session *s, tk_sampler *smp,
                 const char *prompt, size_t plen, cli_gen *g) {
    tk_error e = {0};
    int tflags = o->no_bos || !tk_model_info_of(m)->add_bos ? 0 : TK_TOKENIZE_ADD_BOS;
    int n_ids = tk_tokenize(m, prompt, plen, tflags, NULL, 0, &e);
    int n_ctx = tk_session_n_ctx(s);
    if (n_ids < 0) {
        fprintf(stderr, "tick %s: prompt: %s\n", cmd, e.msg);
        return 1;
    }
    if (n_ids == 0) {
        fprintf(stderr, "tick %s: nothing to start from: the prompt is empty and no BOS token is added\n", cmd);
        return 1;
    }
    if (n_ids > n_ctx) {
        fprintf(stderr, "tick %s: the prompt is %d tokens but the context holds %d (-c %d)\n", cmd, n_ids, n_ctx, n_ctx);
        return 1;
    }
    int32_t *ids = malloc((size_t)n_ids * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "tick %s: out of memory\n", cmd);
        return 1;
    }
    tk_tokenize(m, prompt, plen, tflags, ids, n_ids, &e);
    for (int i = 0; i < n_ids; i++) tk_sampler_accept(smp, ids[i]);

    double t0 = tk_now_ns();
    int rc = tk_prefill(s, ids, n_ids, &e);
    free(ids);
    if (rc) {
        fprintf(stderr, "tick %s: %s\n", cmd, e.msg);
        return 1;
    }
    double t1 = tk_now_ns();

    tk_utf8_stream us = {0};
    char piece[512], out[sizeof piece + 8];
    int n_gen = 0, first = plen == 0;
    double t_first = 0, repack_ns = 0;
    const char *why = "limit (-n)";
    for (;;) {
        if (o->n_predict >= 0 && n_gen >= o->n_predict) break;
        int32_t id = tk_session_sample(s, smp);
        tk_sampler_accept(smp, id);
        if (g->after_sample) g->after_sample(g->ctx);
        if (tk_token_is_eog(m, id)) { why = "end of generation token"; break; }
        n_gen++;
        int len = tk_token_piece(m, id, piece, (int)sizeof piece);
        if (len > (int)sizeof piece) len = (int)sizeof piece;
        const char *p = piece;
        if (first && len > 0 && p[0] == ' ') p++, len--; /* as SentencePiece decodes after BOS */
        if (len > 0) first = 0;
        int w = tk_utf8_stream_push(&us, p, len, out);
        if (g->emit && w) g->emit(g->ctx, out, w);
        if (n_gen == 1) {
            t_first = tk_now_ns();
            /* what defer_repack put off, unless this was the last token */
            if ((o->n_predict < 0 || n_gen < o->n_predict) && tk_model_repack(m)) repack_ns = tk_now_ns() - t_first;
        }
        if (tk_session_pos(s) >= n_ctx) { why = "context full"; break; }
        if (tk_decode(s, id, &e)) {
            fprintf(stderr, "\ntick %s: %s\n", cmd, e.msg);
            return 1;
        }
    }
    double t2 = tk_now_ns();
    int w = tk_utf8_stream_flush(&us, out);
    if (g->emit && w) g->emit(g->ctx, out, w);
    if (!strcmp(why, "context full"))
        fprintf(stderr, "tick %s: stopped: the context is full (%d tokens, -c %d)\n", cmd, n_ctx, n_ctx);
    double pp = (t1 - t0) / 1e9, tg = (t2 - t1 - repack_ns) / 1e9;
    fprintf(stderr, "prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | stop: %s", n_ids,
            n_ids / (pp > 0 ? pp : 1e-9), n_gen, n_gen / (tg > 0 ? tg : 1e-9), why);
    if (t_first > 0 && o->t_start > 0) fprintf(stderr, " | first token after %.0f ms", (t_first - o->t_start) / 1e6);
    if (repack_ns > 0) fprintf(stderr, " | repacked after it in %.0f ms", repack_ns / 1e6);
    if (o->sp.temp > 0) fprintf(stderr, " | seed %llu", (unsigned long long)o->sp.seed);
    fprintf(stderr, "\n");
    g->n_prompt = n_ids, g->n_gen = n_gen, g->why = why;
    return 0;
}
