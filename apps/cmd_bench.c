/* cmd_bench.c: `tick bench`: prompt processing (ppN) and generation (tgN)
 * speed, like llama-bench: each test repeated, the median quoted, and
 * generation put against the machine's measured read bandwidth (decode
 * streams every weight once per token). */
#include "cli.h"
#include "../src/base/cycles.h"
#include "../src/clock/roofline.h"
#include "../src/runtime/session.h"
#include "../src/tensor/dtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Weight bytes one decoded token streams (every matrix once, one
 * embedding row). */
static double weight_bytes_per_token(const tk_session *s) {
    const tk_graph *g = tk_session_graph(s);
    double b = 0;
    for (int i = 0; i < g->n_ops; i++) b += (double)g->ops[i].weight_bytes;
    return b;
}

int cmd_bench(int argc, char **argv) {
    /* bench's own flags: -p N (prompt tokens), -r N, --json; the rest
     * (-m -z -n -c -t ...) go through the common parser */
    int n_prompt = 128, reps = 5, json = 0, clock = 0, n_given = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return 1;
    int nr = 0;
    rest[nr++] = argv[0];
    rest[nr++] = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) { json = 1; continue; }
        if (!strcmp(argv[i], "--clock")) { clock = 1; continue; } /* to measure the clock's own cost */
        if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "-r")) {
            char *end;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || *end || end == argv[i + 1] || v < 0 || v > (argv[i][1] == 'p' ? 65536 : 1000) || (argv[i][1] == 'r' && v < 1)) {
                fprintf(stderr, "tick bench: %s '%s': expected %s\n", argv[i], i + 1 < argc ? argv[i + 1] : "",
                        argv[i][1] == 'p' ? "a prompt length in [0, 65536]" : "a repetition count in [1, 1000]");
                free(rest);
                return 2;
            }
            if (argv[i][1] == 'p') n_prompt = (int)v;
            else reps = (int)v;
            i++;
            continue;
        }
        if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--n-predict")) n_given = 1;
        rest[nr++] = argv[i];
    }
    cli_opts o;
    int rc = cli_parse(nr, rest, 2, F_MODEL | F_GEN, "bench", &o);
    free(rest);
    if (rc) return rc;
    int n_gen = n_given ? o.n_predict : 64; /* llama-bench's defaults: -p 128 -n 64 */
    if (n_gen < 0) { fprintf(stderr, "tick bench: -n %d: expected a token count >= 0\n", n_gen); return 2; }
    if (n_prompt == 0 && n_gen == 0) { fprintf(stderr, "tick bench: nothing to measure (-p 0 -n 0)\n"); return 2; }
    tk_model *m = cli_load(&o);
    if (!m) return 1;
    const tk_model_info *I = tk_model_info_of(m);
    int n_threads = o.n_threads > 0 ? o.n_threads : 1;
    int n_ctx = o.n_ctx > 0 ? o.n_ctx : n_prompt + n_gen + 1;
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = n_ctx, .n_threads = n_threads, .clock = clock};
    tk_session *s = tk_session_new(m, &so, &e);
    if (!s) { fprintf(stderr, "tick bench: %s\n", e.msg); tk_model_free(m); return 1; }
    if (n_prompt + n_gen > tk_session_n_ctx(s)) {
        fprintf(stderr, "tick bench: -p %d + -n %d does not fit the context %d (-c)\n", n_prompt, n_gen, tk_session_n_ctx(s));
        tk_session_free(s), tk_model_free(m);
        return 2;
    }
    tk_roofline roof;
    double bw = 0, peak = 0;
    if (tk_roofline_get(&roof, 0, &e) == TK_OK) {
        int t = n_threads < roof.n_threads_max ? n_threads : roof.n_threads_max;
        bw = roof.read_gbs[t], peak = roof.f32_gflops[t];
    }
    int32_t *ids = malloc(((size_t)n_prompt + 1) * sizeof *ids);
    double *pp = calloc((size_t)reps, sizeof *pp), *tg = calloc((size_t)reps, sizeof *tg);
    if (!ids || !pp || !tg) { fprintf(stderr, "tick bench: out of memory\n"); free(ids), free(pp), free(tg); return 1; }
    /* a fixed pseudo-random prompt of ordinary tokens */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n_prompt; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ids[i] = (int32_t)(x % (uint64_t)I->n_vocab);
    }
    if (n_prompt) ids[0] = I->bos >= 0 ? I->bos : ids[0];
    int status = 0;
    for (int r = -1; r < reps && !status; r++) { /* r = -1: warm-up */
        tk_session_reset(s);
        if (clock) tk_session_clock_reset(s);
        double t0 = tk_now_ns();
        if (n_prompt && tk_prefill(s, ids, n_prompt, &e)) status = 1;
        double t1 = tk_now_ns();
        int32_t tok = I->bos >= 0 ? I->bos : 0;
        for (int i = 0; i < n_gen && !status; i++)
            if (tk_decode(s, tok, &e)) status = 1;
        double t2 = tk_now_ns();
        if (r >= 0) {
            pp[r] = n_prompt / ((t1 - t0) / 1e9);
            tg[r] = n_gen / ((t2 - t1) / 1e9);
        }
    }
    if (status) fprintf(stderr, "tick bench: %s\n", e.msg);
    else {
        double wb = weight_bytes_per_token(s), fl = 2.0 * (double)I->n_params;
        double mpp = n_prompt ? median(pp, reps) : 0, mtg = n_gen ? median(tg, reps) : 0;
        const char *type = "?";
        { /* the type of the first layer's Q matrix names the model's type */
            const tk_graph *g = tk_session_graph(s);
            for (int i = 0; i < g->n_ops; i++)
                if (g->ops[i].w && g->ops[i].kind == TK_KIND_QKV) { type = tk_dtype_name(g->ops[i].w->type); break; }
        }
        if (json) {
            printf("[");
            int first = 1;
            for (int k = 0; k < 2; k++) {
                int n = k ? n_gen : n_prompt;
                if (!n) continue;
                double med = k ? mtg : mpp, *all = k ? tg : pp;
                printf("%s\n  {\"model\": \"%s\", \"type\": \"%s\", \"weight_bytes\": %llu, \"threads\": %d, \"test\": \"%s%d\", \"reps\": %d, \"tok_s\": %.3f, \"tok_s_all\": [",
                       first ? "" : ",", I->name, type, (unsigned long long)I->weight_bytes, n_threads, k ? "tg" : "pp", n, reps, med);
                for (int r = 0; r < reps; r++) printf("%s%.3f", r ? ", " : "", all[r]);
                printf("], \"gbs\": %.3f, \"read_gbs\": %.3f, \"pct_bw\": %.2f, \"gflops\": %.3f, \"peak_gflops\": %.3f}",
                       k ? med * wb / 1e9 : 0, bw, k && bw > 0 ? 100 * med * wb / 1e9 / bw : 0, med * fl / 1e9, peak);
                first = 0;
            }
            printf("\n]\n");
        } else {
            printf("| model | type | size | threads | test | tok/s (median of %d) | GB/s | %% of %.1f GB/s | GFLOP/s |\n", reps, bw);
            printf("|---|---|---:|---:|---|---:|---:|---:|---:|\n");
            for (int k = 0; k < 2; k++) {
                int n = k ? n_gen : n_prompt;
                if (!n) continue;
                double med = k ? mtg : mpp;
                /* GB/s only for generation: a prompt burst reads the weights once for many tokens */
                char gbs[32] = "-", pct[32] = "-";
                if (k) {
                    snprintf(gbs, sizeof gbs, "%.2f", med * wb / 1e9);
                    if (bw > 0) snprintf(pct, sizeof pct, "%.1f%%", 100 * med * wb / 1e9 / bw);
                }
                printf("| %s | %s | %.1f MiB | %d | %s%d | %.2f | %s | %s | %.2f |\n", I->name, type,
                       I->weight_bytes / 1048576.0, n_threads, k ? "tg" : "pp", n, med, gbs, pct, med * fl / 1e9);
            }
        }
    }
    free(ids), free(pp), free(tg);
    tk_session_free(s);
    tk_model_free(m);
    return status;
}
