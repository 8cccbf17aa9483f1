/* cmd_bench.c: `tick bench`: prompt processing (ppN) and generation (tgN)
 * speed, like llama-bench: each test repeated after a warm-up, the median
 * quoted with the range, and generation put against the machine's measured
 * read bandwidth (decode streams every weight once per token). `-t 1,2`
 * runs the tests at each thread count. `--seqs 1,2,4,8` adds generation
 * with that many sequences decoding together (tgNxS: one batched tick per
 * step reads the weights once for all S; tok/s counts every sequence's
 * tokens). */
#include "cli.h"
#include "../src/base/cycles.h"
#include "../src/runtime/session.h"
#include "../src/tensor/dtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sorts v */
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

typedef struct bench_opts {
    int n_prompt, n_gen, reps, json, clock;
    int threads[16], n_threads;
    int seqs[16], n_seqs;
} bench_opts;

/* "1,2,4" -> threads[]; 0 on success */
static int parse_threads(const char *s, bench_opts *b) {
    b->n_threads = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1024 || b->n_threads == 16) return -1;
        b->threads[b->n_threads++] = (int)v;
        if (*end == ',') end++;
        else if (*end) return -1;
        s = end;
    }
    return b->n_threads ? 0 : -1;
}

/* "1,2,4,8" -> seqs[]; 0 on success */
static int parse_seqs(const char *s, bench_opts *b) {
    b->n_seqs = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 256 || b->n_seqs == 16) return -1;
        b->seqs[b->n_seqs++] = (int)v;
        if (*end == ',') end++;
        else if (*end) return -1;
        s = end;
    }
    return b->n_seqs ? 0 : -1;
}

/* n_seq sequences at once: each gets the prompt (batched ticks of up to
 * n_batch rows, not timed), then n_gen ticks of one token per sequence.
 * Returns the median aggregate tok/s in *med (range in lo, hi). */
static int bench_seqs(tk_model *m, const bench_opts *b, int n_threads, int n_seq, int n_ctx, const int32_t *ids, double *med,
                      double *lo, double *hi, tk_error *e) {
    const tk_model_info *I = tk_model_info_of(m);
    tk_session_opts so = {.n_ctx = n_ctx, .n_threads = n_threads, .n_seq = n_seq, .n_batch = n_seq > 64 ? n_seq : 64};
    tk_session *s = tk_session_new(m, &so, e);
    if (!s) return 1;
    int nb = tk_session_n_batch(s), status = 0;
    tk_batch_item *it = calloc((size_t)nb, sizeof *it);
    double *tg = calloc((size_t)b->reps, sizeof *tg);
    if (!it || !tg || nb < n_seq) {
        snprintf(e->msg, sizeof e->msg, nb < n_seq ? "more sequences than the context (-c) holds positions" : "out of memory");
        status = 1;
    }
    for (int r = -1; r < b->reps && !status; r++) { /* r = -1: warm-up */
        for (int k = 0; k < n_seq; k++) tk_seq_truncate(s, k, 0, NULL);
        /* prompts: sequence after sequence, nb rows per tick */
        int n = 0;
        for (int k = 0; k < n_seq && !status; k++)
            for (int i = 0; i < b->n_prompt && !status; i++) {
                it[n++] = (tk_batch_item){k, ids[i], i == b->n_prompt - 1};
                if (n == nb || (k == n_seq - 1 && i == b->n_prompt - 1)) status = tk_batch_run(s, it, n, e), n = 0;
            }
        double t0 = tk_now_ns();
        for (int i = 0; i < b->n_gen && !status; i++) {
            for (int k = 0; k < n_seq; k++) it[k] = (tk_batch_item){k, I->bos >= 0 ? I->bos : 0, 1};
            status = tk_batch_run(s, it, n_seq, e);
        }
        double t1 = tk_now_ns();
        if (r >= 0) tg[r] = (double)n_seq * b->n_gen / ((t1 - t0) / 1e9);
    }
    if (!status) *med = median(tg, b->reps), *lo = tg[0], *hi = tg[b->reps - 1];
    free(it), free(tg);
    tk_session_free(s);
    return status ? 1 : 0;
}

/* One model at one thread count: pp and tg medians (and ranges). */
static int bench_one(tk_model *m, const bench_opts *b, int n_threads, int n_ctx, int *first_json) {
    const tk_model_info *I = tk_model_info_of(m);
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = n_ctx, .n_threads = n_threads, .clock = b->clock};
    tk_session *s = tk_session_new(m, &so, &e);
    if (!s) { fprintf(stderr, "tick bench: %s\n", e.msg); return 1; }
    if (b->n_prompt + b->n_gen > tk_session_n_ctx(s)) {
        fprintf(stderr, "tick bench: -p %d + -n %d does not fit the context %d (-c)\n", b->n_prompt, b->n_gen, tk_session_n_ctx(s));
        tk_session_free(s);
        return 2;
    }
    tk_roofline roof;
    tk_limits lim;
    cli_limits(&lim, &roof, n_threads, 1, NULL);
    int32_t *ids = malloc(((size_t)b->n_prompt + 1) * sizeof *ids);
    double *pp = calloc((size_t)b->reps, sizeof *pp), *tg = calloc((size_t)b->reps, sizeof *tg);
    int status = 0;
    if (!ids || !pp || !tg) { fprintf(stderr, "tick bench: out of memory\n"); status = 1; }
    /* a fixed pseudo-random prompt of ordinary tokens, BOS first */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; !status && i < b->n_prompt; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ids[i] = i == 0 && I->bos >= 0 ? I->bos : (int32_t)(x % (uint64_t)I->n_vocab);
    }
    /* weights the page cache dropped would be read from disk, timed */
    if (tk_model_resident(m) < 1) tk_model_touch(m);
    for (int r = -1; r < b->reps && !status; r++) { /* r = -1: warm-up */
        tk_session_reset(s);
        if (b->clock) tk_session_clock_reset(s);
        double t0 = tk_now_ns();
        if (b->n_prompt && tk_prefill(s, ids, b->n_prompt, &e)) status = 1;
        double t1 = tk_now_ns();
        int32_t tok = I->bos >= 0 ? I->bos : 0;
        for (int i = 0; i < b->n_gen && !status; i++)
            if (tk_decode(s, tok, &e)) status = 1;
        double t2 = tk_now_ns();
        if (r >= 0) {
            pp[r] = b->n_prompt / ((t1 - t0) / 1e9);
            tg[r] = b->n_gen / ((t2 - t1) / 1e9);
        }
    }
    if (status) fprintf(stderr, "tick bench: %s\n", e.msg);
    const double resident = tk_model_resident(m);
    if (!status && resident >= 0 && resident < 0.99)
        fprintf(stderr, "tick bench: warning: %.1f%% of the weights were in memory after the runs (the rest was dropped "
                "from the page cache): these figures include reading the file from disk\n", 100 * resident);
    const char *type = "?";
    const tk_graph *g = tk_session_graph(s);
    for (int i = 0; i < g->n_ops; i++) /* the first layer's Q matrix names the model's type */
        if (g->ops[i].w && g->ops[i].kind == TK_KIND_QKV) { type = tk_dtype_name(g->ops[i].w->type); break; }
    double wb = weight_bytes_per_token(s), fl = 2.0 * (double)I->n_params;
    for (int k = 0; k < 2 && !status; k++) {
        int n = k ? b->n_gen : b->n_prompt;
        if (!n) continue;
        double *all = k ? tg : pp, med = median(all, b->reps), lo = all[0], hi = all[b->reps - 1];
        /* GB/s only for generation: a prompt burst reads the weights once for many tokens */
        double gbs = k ? med * wb / 1e9 : 0, pct = k && lim.read_gbs > 0 ? 100 * gbs / lim.read_gbs : 0;
        if (b->json) {
            printf("%s\n  {\"model\": \"%s\", \"type\": \"%s\", \"weight_bytes\": %llu, \"isa\": \"%s\", \"threads\": %d, \"test\": \"%s%d\", "
                   "\"reps\": %d, \"tok_s\": %.3f, \"tok_s_min\": %.3f, \"tok_s_max\": %.3f, \"bytes_per_token\": %.0f, "
                   "\"gbs\": %.3f, \"read_gbs\": %.3f, \"pct_bw\": %.2f, \"gflops\": %.3f, \"peak_gflops\": %.3f}",
                   *first_json ? "" : ",", I->name, type, (unsigned long long)I->weight_bytes, I->isa ? I->isa : "?", n_threads,
                   k ? "tg" : "pp", n, b->reps, med, lo, hi, k ? wb : wb / n, gbs, lim.read_gbs, pct, med * fl / 1e9, lim.f32_gflops);
            *first_json = 0;
        } else {
            char gs[32] = "-", ps[32] = "-";
            if (k) snprintf(gs, sizeof gs, "%.2f", gbs);
            if (k && lim.read_gbs > 0) snprintf(ps, sizeof ps, "%.1f%% of %.1f", pct, lim.read_gbs);
            printf("| %s | %s | %.1f MiB | %d | %s%d | %.2f | %.2f–%.2f | %.1f | %s | %s |\n", I->name, type, I->weight_bytes / 1048576.0,
                   n_threads, k ? "tg" : "pp", n, med, lo, hi, (k ? wb : wb / n) / 1048576.0, gs, ps);
        }
        fflush(stdout);
    }
    tk_session_free(s); /* its thread pool would compete with the next session's */
    /* several sequences decoding together: one tick reads the weights for all */
    for (int q = 0; q < b->n_seqs && !status && b->n_gen; q++) {
        int S = b->seqs[q];
        double med, lo, hi;
        if ((status = bench_seqs(m, b, n_threads, S, n_ctx, ids, &med, &lo, &hi, &e))) {
            fprintf(stderr, "tick bench: %d sequences: %s\n", S, e.msg);
            break;
        }
        double gbs = med / S * wb / 1e9, pct = lim.read_gbs > 0 ? 100 * gbs / lim.read_gbs : 0;
        if (b->json) {
            printf(",\n  {\"model\": \"%s\", \"type\": \"%s\", \"weight_bytes\": %llu, \"isa\": \"%s\", \"threads\": %d, \"test\": \"tg%dx%d\", "
                   "\"seqs\": %d, \"reps\": %d, \"tok_s\": %.3f, \"tok_s_min\": %.3f, \"tok_s_max\": %.3f, \"bytes_per_token\": %.0f, "
                   "\"gbs\": %.3f, \"read_gbs\": %.3f, \"pct_bw\": %.2f, \"gflops\": %.3f, \"peak_gflops\": %.3f}",
                   I->name, type, (unsigned long long)I->weight_bytes, I->isa ? I->isa : "?", n_threads, b->n_gen, S, S, b->reps,
                   med, lo, hi, wb / S, gbs, lim.read_gbs, pct, med * fl / 1e9, lim.f32_gflops);
        } else {
            char ps[32] = "-";
            if (lim.read_gbs > 0) snprintf(ps, sizeof ps, "%.1f%% of %.1f", pct, lim.read_gbs);
            printf("| %s | %s | %.1f MiB | %d | tg%dx%d | %.2f | %.2f–%.2f | %.1f | %.2f | %s |\n", I->name, type,
                   I->weight_bytes / 1048576.0, n_threads, b->n_gen, S, med, lo, hi, wb / S / 1048576.0, gbs, ps);
        }
        fflush(stdout);
    }
    free(ids), free(pp), free(tg);
    return status;
}

int cmd_bench(int argc, char **argv) {
    /* bench's own flags: -p N (prompt tokens), -r N, -t LIST, --json,
     * --clock; the rest (-m -z -n -c --isa ...) go through the common
     * parser */
    bench_opts b = {.n_prompt = 128, .n_gen = 64, .reps = 5};
    int n_given = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return 1;
    int nr = 0;
    rest[nr++] = argv[0];
    rest[nr++] = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) { b.json = 1; continue; }
        if (!strcmp(a, "--clock")) { b.clock = 1; continue; } /* to measure the clock's own cost */
        if (!strcmp(a, "--seqs")) {
            if (i + 1 >= argc || parse_seqs(argv[i + 1], &b)) {
                fprintf(stderr, "tick bench: --seqs '%s': expected sequence counts in [1, 256], comma separated (e.g. 1,2,4,8)\n",
                        i + 1 < argc ? argv[i + 1] : "");
                free(rest);
                return 2;
            }
            i++;
            continue;
        }
        if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc || parse_threads(argv[i + 1], &b)) {
                fprintf(stderr, "tick bench: %s '%s': expected thread counts in [1, 1024], comma separated (e.g. 1,2)\n", a,
                        i + 1 < argc ? argv[i + 1] : "");
                free(rest);
                return 2;
            }
            i++;
            continue;
        }
        if (!strcmp(a, "-p") || !strcmp(a, "-r")) {
            char *end = NULL;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || *end || end == argv[i + 1] || v < 0 || v > (a[1] == 'p' ? 65536 : 1000) || (a[1] == 'r' && v < 1)) {
                fprintf(stderr, "tick bench: %s '%s': expected %s\n", a, i + 1 < argc ? argv[i + 1] : "",
                        a[1] == 'p' ? "a prompt length in [0, 65536]" : "a repetition count in [1, 1000]");
                free(rest);
                return 2;
            }
            if (a[1] == 'p') b.n_prompt = (int)v;
            else b.reps = (int)v;
            i++;
            continue;
        }
        if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) n_given = 1;
        rest[nr++] = argv[i];
    }
    cli_opts o;
    int rc = cli_parse(nr, rest, 2, F_MODEL | F_GEN, "bench", &o);
    free(rest);
    if (rc) return rc;
    if (!b.n_threads) b.threads[b.n_threads++] = o.n_threads > 0 ? o.n_threads : 1;
    if (n_given) b.n_gen = o.n_predict;
    if (b.n_gen < 0) { fprintf(stderr, "tick bench: -n %d: expected a token count >= 0\n", b.n_gen); return 2; }
    if (b.n_prompt == 0 && b.n_gen == 0) { fprintf(stderr, "tick bench: nothing to measure (-p 0 -n 0)\n"); return 2; }
    tk_model *m = cli_load(&o);
    if (!m) return 1;
    int n_ctx = o.n_ctx > 0 ? o.n_ctx : b.n_prompt + b.n_gen + 1, first = 1, status = 0;
    if (b.json) printf("[");
    else {
        printf("| model | type | size | threads | test | tok/s (median of %d) | min–max | MiB/token | GB/s | %% of read bandwidth |\n", b.reps);
        printf("|---|---|---:|---:|---|---:|---:|---:|---:|---:|\n");
    }
    for (int t = 0; t < b.n_threads && !status; t++) status = bench_one(m, &b, b.threads[t], n_ctx, &first);
    if (b.json) printf("\n]\n");
    tk_model_free(m);
    return status;
}
