/* cli.h: shared helpers of the `tick` subcommands (flag parsing, errors).
 * Only apps/ print, parse argv or exit. */
#ifndef TK_APPS_CLI_H
#define TK_APPS_CLI_H

#include "tick.h"
#include <stdint.h>

/* Everything a subcommand may be given; each subcommand says which it takes. */
typedef struct cli_opts {
    const char *model, *tokenizer, *prompt, *prompt_file;
    const char *isa; /* --isa: kernels to run (NULL: the best this CPU has) */
    const char *trace_path;
    int n_predict, n_ctx, n_threads, no_bos, pieces, seed_set, clock, json;
    int tick_index; /* clock --tick N (-1: none) */
    int vocab_only; /* load only the vocabulary (tokenize) */
    int no_repack;  /* --no-repack: keep the file's weight layout */
    int defer_repack; /* repack after the first token (tick run) */
    double t_start;   /* ns (tk_now_ns) when the command started; 0: unknown */
    tk_sampler_params sp;
} cli_opts;

/* Flag sets: which flags a subcommand accepts. */
enum { F_MODEL = 1, F_PROMPT = 2, F_GEN = 4, F_SAMPLE = 8, F_PIECES = 16, F_CLOCK = 32, F_JSON = 64 };

/* Parse argv[first..argc). Positional arguments (at most one) become the
 * model path. Returns 0, or 2 after printing one line to stderr. */
int cli_parse(int argc, char **argv, int first, int flags, const char *cmd, cli_opts *o);

/* The prompt text from -p or -f (malloc'd; empty string if neither). */
char *cli_prompt(const cli_opts *o, size_t *len);

tk_model *cli_load(const cli_opts *o);

/* The machine's limits at n threads from the roofline cache (measured now
 * when there is none); -1 (and zeros) when unknown. */
#include "../src/clock/report.h"
#include "../src/clock/roofline.h"
int cli_limits(tk_limits *lim, tk_roofline *r, int n_threads, int quiet, double *int8_gops);

/* One generation (apps/generate.c): the prompt's burst, then a tick per
 * token; the generated text goes to emit, after_sample runs after every
 * sampled token; the summary line goes to stderr. 0, or 1 after printing
 * the error. */
typedef struct cli_gen {
    void (*emit)(void *ctx, const char *text, int n);
    void (*after_sample)(void *ctx);
    void *ctx;
    int n_prompt, n_gen;
    const char *why;
} cli_gen;
int cli_generate(const char *cmd, const cli_opts *o, tk_model *m, tk_session *s, tk_sampler *smp,
                 const char *prompt, size_t plen, cli_gen *g);

int cmd_run(int argc, char **argv);
int cmd_clock(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_roofline(int argc, char **argv);

#endif
