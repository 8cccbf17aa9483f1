/* cmd_run.c: `tick run`: load, prefill the prompt, then one tick per
 * generated token, streaming text as it is produced. */
#include "cli.h"
#include "../src/tokenizer/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_run(int argc, char **argv) {
    cli_opts o;
    int rc = cli_parse(argc, argv, 2, F_MODEL | F_PROMPT | F_GEN | F_SAMPLE, "run", &o);
    if (rc) return rc;
    size_t plen;
    char *prompt = cli_prompt(&o, &plen);
    if (!prompt) return 1;
    tk_model *m = cli_load(&o);
    if (!m) { free(prompt); return 1; }
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = o.n_ctx, .n_threads = o.n_threads};
    tk_session *s = tk_session_new(m, &so, &e);
    tk_sampler *smp = s ? tk_sampler_new(&o.sp, tk_n_vocab(m), &e) : NULL;
    int32_t *ids = NULL;
    int n_ids = 0, status = 1;
    if (!smp) { fprintf(stderr, "tick run: %s\n", e.msg); goto done; }

    int flags = o.no_bos ? 0 : TK_TOKENIZE_ADD_BOS;
    if (!tk_model_info_of(m)->add_bos) flags = 0;
    n_ids = tk_tokenize(m, prompt, plen, flags, NULL, 0, &e);
    if (n_ids < 0) { fprintf(stderr, "tick run: prompt: %s\n", e.msg); goto done; }
    int n_ctx = tk_session_n_ctx(s);
    if (n_ids == 0) { fprintf(stderr, "tick run: nothing to start from: the prompt is empty and no BOS token is added\n"); goto done; }
    if (n_ids > n_ctx) {
        fprintf(stderr, "tick run: the prompt is %d tokens but the context holds %d (-c %d)\n", n_ids, n_ctx, n_ctx);
        goto done;
    }
    ids = malloc((size_t)n_ids * sizeof *ids);
    if (!ids) { fprintf(stderr, "tick run: out of memory\n"); goto done; }
    tk_tokenize(m, prompt, plen, flags, ids, n_ids, &e);

    fwrite(prompt, 1, plen, stdout);
    fflush(stdout);
    for (int i = 0; i < n_ids; i++) tk_sampler_accept(smp, ids[i]);

    double t0 = now_s();
    if (tk_prefill(s, ids, n_ids, &e)) { fprintf(stderr, "tick run: %s\n", e.msg); goto done; }
    double t1 = now_s();

    tk_utf8_stream us = {0};
    char piece[512], out[sizeof piece + 8];
    int n_gen = 0, first = plen == 0;
    const char *why = "limit (-n)";
    for (;;) {
        if (o.n_predict >= 0 && n_gen >= o.n_predict) break;
        int32_t id = tk_session_sample(s, smp);
        tk_sampler_accept(smp, id);
        if (tk_token_is_eog(m, id)) { why = "end of generation token"; break; }
        int len = tk_token_piece(m, id, piece, (int)sizeof piece);
        if (len > (int)sizeof piece) len = (int)sizeof piece;
        const char *p = piece;
        if (first && len > 0 && p[0] == ' ') p++, len--; /* as SentencePiece decodes after BOS */
        if (len > 0) first = 0;
        int w = tk_utf8_stream_push(&us, p, len, out);
        fwrite(out, 1, (size_t)w, stdout);
        fflush(stdout);
        n_gen++;
        if (tk_session_pos(s) >= n_ctx) { why = "context full"; break; }
        if (tk_decode(s, id, &e)) { fprintf(stderr, "\ntick run: %s\n", e.msg); goto done; }
    }
    int w = tk_utf8_stream_flush(&us, out);
    fwrite(out, 1, (size_t)w, stdout);
    printf("\n");
    fflush(stdout);
    double t2 = now_s();
    if (!strcmp(why, "context full"))
        fprintf(stderr, "tick run: stopped: the context is full (%d tokens, -c %d)\n", n_ctx, n_ctx);
    fprintf(stderr, "prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | stop: %s",
            n_ids, n_ids / (t1 - t0 > 0 ? t1 - t0 : 1e-9), n_gen, n_gen / (t2 - t1 > 0 ? t2 - t1 : 1e-9), why);
    if (o.sp.temp > 0) fprintf(stderr, " | seed %llu", (unsigned long long)o.sp.seed);
    fprintf(stderr, "\n");
    status = 0;
done:
    free(ids);
    free(prompt);
    tk_sampler_free(smp);
    tk_session_free(s);
    tk_model_free(m);
    return status;
}
