/* cli.c: flag parsing with llama.cpp's names, every value checked. */
#include "cli.h"
#include "../src/base/cpu.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int bad(const char *cmd, const char *flag, const char *val, const char *why) {
    if (val) fprintf(stderr, "tick %s: %s '%s': %s\n", cmd, flag, val, why);
    else fprintf(stderr, "tick %s: %s: %s\n", cmd, flag, why);
    return 2;
}

static int to_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int to_float(const char *s, float lo, float hi, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse(int argc, char **argv, int first, int flags, const char *cmd, cli_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_predict = 128;
    o->tick_index = -1;
    o->sp = tk_sampler_defaults();
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        char range[96];
        /* flags without a value */
        if ((flags & F_PROMPT) && !strcmp(a, "--no-bos")) { o->no_bos = 1; continue; }
        if ((flags & F_PIECES) && !strcmp(a, "--pieces")) { o->pieces = 1; continue; }
        if ((flags & F_CLOCK) && !strcmp(a, "--clock")) { o->clock = 1; continue; }
        if ((flags & F_JSON) && !strcmp(a, "--json")) { o->json = 1; continue; }
        if ((flags & F_MODEL) && !strcmp(a, "--no-repack")) { o->no_repack = 1; continue; }
        if (a[0] != '-' || !a[1]) {
            if (o->model) return bad(cmd, a, NULL, "unexpected argument (the model is already given)");
            o->model = a;
            continue;
        }
        int known = (flags & F_MODEL && (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-z") || !strcmp(a, "--tokenizer") || !strcmp(a, "--isa"))) ||
                    (flags & F_CLOCK && !strcmp(a, "--trace")) ||
                    (flags & F_JSON && !strcmp(a, "--tick")) ||
                    (flags & F_PROMPT && (!strcmp(a, "-p") || !strcmp(a, "--prompt") || !strcmp(a, "-f") || !strcmp(a, "--file"))) ||
                    (flags & F_GEN && (!strcmp(a, "-n") || !strcmp(a, "--n-predict") || !strcmp(a, "-c") || !strcmp(a, "--ctx-size") || !strcmp(a, "-t") || !strcmp(a, "--threads"))) ||
                    (flags & F_SAMPLE && (!strcmp(a, "-s") || !strcmp(a, "--seed") || !strcmp(a, "--temp") || !strcmp(a, "--top-k") || !strcmp(a, "--top-p") ||
                                          !strcmp(a, "--min-p") || !strcmp(a, "--repeat-penalty") || !strcmp(a, "--repeat-last-n")));
        if (!known) return bad(cmd, a, NULL, "unknown flag (see tick help)");
        if (i + 1 >= argc) return bad(cmd, a, NULL, "needs a value");
        const char *v = argv[++i];
        long l;
        float f;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "-z") || !strcmp(a, "--tokenizer")) o->tokenizer = v;
        else if (!strcmp(a, "--isa")) o->isa = v; /* checked by tk_model_load */
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) o->prompt = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) o->prompt_file = v;
        else if (!strcmp(a, "--trace")) o->trace_path = v;
        else if (!strcmp(a, "--tick")) {
            if (to_long(v, 0, 1 << 20, &l)) return bad(cmd, a, v, "expected a tick index >= 0");
            o->tick_index = (int)l;
        }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            if (to_long(v, -1, INT_MAX, &l)) return bad(cmd, a, v, "expected an integer >= -1 (-1: until the context is full)");
            o->n_predict = (int)l;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (to_long(v, 0, 1 << 20, &l)) return bad(cmd, a, v, "expected an integer in [0, 1048576] (0: the model's, capped at 4096)");
            o->n_ctx = (int)l;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (to_long(v, 1, 1024, &l)) return bad(cmd, a, v, "expected an integer in [1, 1024]");
            o->n_threads = (int)l;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') return bad(cmd, a, v, "expected a non-negative integer");
            o->sp.seed = s;
            o->seed_set = 1;
        } else if (!strcmp(a, "--temp")) {
            if (to_float(v, 0.0f, 1e6f, &f)) return bad(cmd, a, v, "expected a number in [0, 1e6] (0: greedy)");
            o->sp.temp = f;
        } else if (!strcmp(a, "--top-k")) {
            if (to_long(v, 0, INT_MAX, &l)) return bad(cmd, a, v, "expected an integer >= 0 (0: off)");
            o->sp.top_k = (int)l;
        } else if (!strcmp(a, "--top-p")) {
            if (to_float(v, 0.0f, 1.0f, &f)) return bad(cmd, a, v, "expected a number in [0, 1] (1: off)");
            o->sp.top_p = f;
        } else if (!strcmp(a, "--min-p")) {
            if (to_float(v, 0.0f, 1.0f, &f)) return bad(cmd, a, v, "expected a number in [0, 1] (0: off)");
            o->sp.min_p = f;
        } else if (!strcmp(a, "--repeat-penalty")) {
            snprintf(range, sizeof range, "expected a number in (0, 100] (1: off)");
            if (to_float(v, 1e-6f, 100.0f, &f)) return bad(cmd, a, v, range);
            o->sp.repeat_penalty = f;
        } else if (!strcmp(a, "--repeat-last-n")) {
            if (to_long(v, 0, 1 << 20, &l)) return bad(cmd, a, v, "expected an integer in [0, 1048576]");
            o->sp.repeat_last_n = (int)l;
        }
    }
    if ((flags & F_MODEL) && !o->model) return bad(cmd, "-m", NULL, "a model file is required (-m MODEL)");
    if (o->prompt && o->prompt_file) return bad(cmd, "-f", NULL, "give either -p or -f, not both");
    if (o->n_threads == 0) { /* default: one thread per physical core */
        tk_cpu cpu;
        tk_cpu_features(&cpu);
        o->n_threads = cpu.physical_cores > 0 ? cpu.physical_cores : 1;
        if (o->n_threads > 1024) o->n_threads = 1024;
    }
    if (!o->seed_set) o->sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    return 0;
}

char *cli_prompt(const cli_opts *o, size_t *len) {
    if (o->prompt_file) {
        FILE *f = fopen(o->prompt_file, "rb");
        if (!f) {
            fprintf(stderr, "tick: -f %s: cannot open: %s\n", o->prompt_file, strerror(errno));
            return NULL;
        }
        size_t cap = 4096, n = 0, got;
        char *b = malloc(cap + 1);
        while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                if (cap >= (size_t)1 << 30) { free(b); b = NULL; fprintf(stderr, "tick: -f %s: larger than 1 GiB\n", o->prompt_file); break; }
                char *nb = realloc(b, cap * 2 + 1);
                if (!nb) { free(b); b = NULL; break; }
                b = nb, cap *= 2;
            }
        }
        fclose(f);
        if (!b) return NULL;
        b[n] = 0;
        *len = n;
        return b;
    }
    const char *p = o->prompt ? o->prompt : "";
    *len = strlen(p);
    return strdup(p);
}

tk_model *cli_load(const cli_opts *o) {
    tk_error e = {0};
    tk_load_opts lo = {.tokenizer_path = o->tokenizer, .isa = o->isa, .vocab_only = o->vocab_only,
                       .no_repack = o->no_repack, .defer_repack = o->defer_repack, .n_threads = o->n_threads};
    tk_model *m = tk_model_load(o->model, &lo, &e);
    if (!m) fprintf(stderr, "tick: %s\n", e.msg);
    return m;
}
