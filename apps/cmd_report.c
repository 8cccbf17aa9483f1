/* cmd_report.c: `tick report`: the generation of `tick clock` (prefill the
 * prompt, then one tick per generated token, the clock on), written as one
 * self-contained HTML page (src/clock/html.c) instead of a text summary. */
#include "cli.h"
#include "../src/base/cpu.h"
#include "../src/clock/html.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_report(int argc, char **argv);

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

/* the generated text, for the page (at most 1 MiB of it) */
static void emit_text(void *ctx, const char *s, int n) {
    text_buf *t = ctx;
    if (t->n < (1u << 20)) text_add(t, s, (size_t)n);
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
    int status = 1, created = 0;
    text_buf gen = {0}, cmdline = {0};
    if (!(html = fopen(out_path, "w"))) {
        fprintf(stderr, "tick report: -o %s: cannot create the file: %s\n", out_path, strerror(errno));
        goto done;
    }
    created = 1;
    s = tk_session_new(m, &so, &e);
    smp = s ? tk_sampler_new(&o.sp, tk_n_vocab(m), &e) : NULL;
    if (!smp) { fprintf(stderr, "tick %s: %s\n", cmd, e.msg); goto done; }

    tk_roofline roof;
    tk_limits lim;
    double int8 = 0;
    int have_roof = cli_limits(&lim, &roof, o.n_threads > 0 ? o.n_threads : 1, 0, &int8) == 0;
    const tk_clock *clk = tk_session_clock(s);
    cli_gen g = {emit_text, NULL, &gen, 0, 0, NULL};
    if (cli_generate(cmd, &o, m, s, smp, prompt, plen, &g)) goto done;

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
    free(prompt);
    tk_sampler_free(smp);
    tk_session_free(s);
    tk_model_free(m);
    return status;
}
