/* cmd_report.c: `tick report`: the generation of `tick clock` (prefill the
 * prompt, then one tick per generated token, the clock on), written as one
 * self-contained HTML page (src/clock/html.c) instead of a text summary. */
#include "cli.h"
#include "../src/base/cpu.h"
#include "../src/clock/html.h"
#include "../src/clock/roofline.h"
#include "../src/tokenizer/vocab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_report(int argc, char **argv);

/* The machine's limits for n threads, from the roofline cache (measured
 * now when there is none): as cmd_run.c's limits_for, plus the CPU's name
 * and int8 peak for the page. */
static int limits_for(tk_limits *lim, tk_roofline *r, int n_threads, double *int8) {
    memset(lim, 0, sizeof *lim);
    *int8 = 0;
    tk_error e = {0};
    fprintf(stderr, "tick: reading this machine's limits (measured once by `tick roofline`, then cached)\n");
    if (tk_roofline_get(r, 0, &e) < 0) {
        fprintf(stderr, "tick: no roofline (%s); percentages are left out\n", e.msg);
        return -1;
    }
    int t = n_threads < r->n_threads_max ? n_threads : r->n_threads_max;
    if (t < 1) t = 1;
    lim->read_gbs = r->read_gbs[t];
    lim->f32_gflops = r->f32_gflops[t];
    lim->source = "tick roofline";
    *int8 = r->int8_gops[t];
    return 0;
}

/* A growing text buffer for the generated text shown on the page. */
typedef struct text_buf {
    char *p;
    size_t n, cap;
} text_buf;

static void text_add(text_buf *t, const char *s, size_t n) {
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->n + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) return; /* the page shows what fitted */
        t->p = p, t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
}

/* The command line, quoted where a word needs it, for the page's footer. */
static void command_line(text_buf *t, int argc, char **argv) {
    text_add(t, "tick", 4);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *q = a; *q; q++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+", *q)) plain = 0;
        text_add(t, " ", 1);
        if (plain) {
            text_add(t, a, strlen(a));
            continue;
        }
        text_add(t, "'", 1);
        for (const char *q = a; *q; q++) {
            if (*q == '\'') text_add(t, "'\\''", 4);
            else text_add(t, q, 1);
        }
        text_add(t, "'", 1);
    }
}

int cmd_report(int argc, char **argv) {
    const char *cmd = "report", *out_path = NULL;
    /* take -o FILE out; everything else goes to the shared parser (values of
     * other flags are passed over, so `-p -o` stays a prompt) */
    char **av = malloc(((size_t)argc + 1) * sizeof *av);
    if (!av) { fprintf(stderr, "tick report: out of memory\n"); return 1; }
    int ac = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i >= 2 && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tick report: %s: needs a value (the HTML file to write)\n", a);
                free(av);
                return 2;
            }
            out_path = argv[++i];
            continue;
        }
        av[ac++] = argv[i];
        if (i >= 2 && a[0] == '-' && a[1] && strcmp(a, "--no-bos") && i + 1 < argc) av[ac++] = argv[++i];
    }
    av[ac] = NULL;
    cli_opts o;
    int rc = cli_parse(ac, av, 2, F_MODEL | F_PROMPT | F_GEN | F_SAMPLE, cmd, &o);
    free(av);
    if (rc) return rc;
    if (!out_path || !*out_path) {
        fprintf(stderr, "tick report: -o: an output file is required (-o report.html)\n");
        return 2;
    }
    size_t plen;
    char *prompt = cli_prompt(&o, &plen);
    if (!prompt) return 1;
    tk_model *m = cli_load(&o);
    if (!m) { free(prompt); return 1; }
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = o.n_ctx, .n_threads = o.n_threads, .clock = 1};
    FILE *html = NULL;
    tk_session *s = NULL;
    tk_sampler *smp = NULL;
    int32_t *ids = NULL;
    int n_ids = 0, status = 1, created = 0;
    text_buf gen = {0}, cmdline = {0};
    if (!(html = fopen(out_path, "w"))) {
        fprintf(stderr, "tick report: -o %s: cannot create the file: %s\n", out_path, strerror(errno));
        goto done;
    }
    created = 1;
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
    tk_limits lim;
    double int8 = 0;
    int have_roof = limits_for(&lim, &roof, o.n_threads > 0 ? o.n_threads : 1, &int8) == 0;
    const tk_clock *clk = tk_session_clock(s);
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
        if (tk_token_is_eog(m, id)) { why = "end of generation token"; break; }
        n_gen++;
        int len = tk_token_piece(m, id, piece, (int)sizeof piece);
        if (len > (int)sizeof piece) len = (int)sizeof piece;
        const char *p = piece;
        if (first && len > 0 && p[0] == ' ') p++, len--; /* as SentencePiece decodes after BOS */
        if (len > 0) first = 0;
        int w = tk_utf8_stream_push(&us, p, len, out);
        if (gen.n < (1u << 20)) text_add(&gen, out, (size_t)w);
        if (tk_session_pos(s) >= n_ctx) { why = "context full"; break; }
        if (tk_decode(s, id, &e)) { fprintf(stderr, "tick %s: %s\n", cmd, e.msg); goto done; }
    }
    double t2 = tk_now_ns();
    int w = tk_utf8_stream_flush(&us, out);
    text_add(&gen, out, (size_t)w);
    if (!strcmp(why, "context full"))
        fprintf(stderr, "tick %s: stopped: the context is full (%d tokens, -c %d)\n", cmd, n_ctx, n_ctx);
    double pp = (t1 - t0) / 1e9, tg = (t2 - t1) / 1e9;
    fprintf(stderr, "prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | stop: %s", n_ids,
            n_ids / (pp > 0 ? pp : 1e-9), n_gen, n_gen / (tg > 0 ? tg : 1e-9), why);
    if (o.sp.temp > 0) fprintf(stderr, " | seed %llu", (unsigned long long)o.sp.seed);
    fprintf(stderr, "\n");

    tk_cpu cpu;
    tk_cpu_features(&cpu);
    command_line(&cmdline, argc, argv);
    tk_html_opts ho = {
        .cpu = have_roof && roof.cpu[0] ? roof.cpu : cpu.model,
        .prompt = prompt,
        .output = gen.p ? gen.p : "",
        .command = cmdline.p,
        .int8_gops = int8,
    };
    int wr = tk_report_html(html, clk, m, &lim, &ho);
    if (fclose(html) != 0 || wr != 0) {
        html = NULL;
        fprintf(stderr, "tick %s: -o %s: write failed\n", cmd, out_path);
        goto done;
    }
    html = NULL;
    fprintf(stderr, "tick %s: report written to %s (one self-contained HTML file: open it in any browser)\n", cmd, out_path);
    status = 0;
done:
    if (html) fclose(html);
    if (status && created) remove(out_path); /* no half-written page */
    free(gen.p);
    free(cmdline.p);
    free(ids);
    free(prompt);
    tk_sampler_free(smp);
    tk_session_free(s);
    tk_model_free(m);
    return status;
}
