/* cmd_roofline.c: `tick roofline`: this machine's read bandwidth and peak
 * F32 / int8 throughput per thread count, measured once and cached. */
#include "cli.h"
#include "base/cpu.h"
#include "base/cycles.h"
#include "clock/roofline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int bad(const char *flag, const char *val, const char *why) {
    if (val) fprintf(stderr, "tick roofline: %s '%s': %s\n", flag, val, why);
    else fprintf(stderr, "tick roofline: %s: %s\n", flag, why);
    return 2;
}

static void print_table(const tk_roofline *r, const char *cache_line) {
    tk_cpu c;
    tk_cpu_features(&c);
    char feat[256];
    tk_cpu_features_str(&c, feat, sizeof feat);
    int fd = tk_perf_cycles_open();
    tk_perf_cycles_close(fd);

    printf("cpu       %s (%s), %d physical / %d logical cores", r->cpu, c.arch, c.physical_cores, c.logical_cores);
    if (c.llc_bytes) printf(", last-level cache %.0f MiB", (double)c.llc_bytes / 1048576.0);
    printf("\nfeatures  %s\n", feat);
    printf("counter   %s at %.3f GHz; core cycles via perf_event_open: %s\n", r->cycle_source, r->cycle_hz / 1e9,
           fd >= 0 ? "available" : "unavailable");
    printf("\nthreads   read GB/s   F32 GFLOP/s   int8 GOP/s\n");
    for (int n = 1; n <= r->n_threads_max; n++)
        printf("%7d %11.2f %13.2f %12.2f\n", n, r->read_gbs[n], r->f32_gflops[n], r->int8_gops[n]);
    printf("%7s %11.2f %13.2f %12.2f\n", "peak", r->peak_read_gbs, r->peak_f32_gflops, r->peak_int8_gops);
    printf("\nint8 via %s; GB/s = 1e9 bytes/s; 2 FLOPs per FMA lane, 2 ops per int8 multiply-add\n", r->int8_isa);
    printf("measured %s; %s\n", r->measured_at, cache_line);
}

int cmd_roofline(int argc, char **argv) {
    int json = 0, remeasure = 0, threads = 0;
    double seconds = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!strcmp(a, "--remeasure")) { remeasure = 1; continue; }
        if (strcmp(a, "--threads") && strcmp(a, "-t") && strcmp(a, "--seconds"))
            return bad(a, NULL, a[0] == '-' ? "unknown flag (see tick help)" : "unexpected argument");
        if (i + 1 >= argc) return bad(a, NULL, "needs a value");
        const char *v = argv[++i];
        char *end;
        errno = 0;
        if (!strcmp(a, "--seconds")) {
            seconds = strtod(v, &end);
            if (errno || end == v || *end || !isfinite(seconds) || seconds < 0.1 || seconds > 600)
                return bad(a, v, "expected a number of seconds in [0.1, 600]");
        } else {
            long l = strtol(v, &end, 10);
            if (errno || end == v || *end || l < 1 || l > TK_ROOFLINE_MAX_THREADS)
                return bad(a, v, "expected an integer in [1, 32]");
            threads = (int)l;
        }
    }

    char path[4096], cache_line[4200];
    int have_path = tk_roofline_default_path(path, sizeof path) == TK_OK;
    int def = tk_roofline_default_threads();
    tk_roofline r;
    tk_error e = {0};
    int measure = remeasure || threads || seconds > 0, cached = 0;
    if (!measure && have_path && tk_roofline_load(&r, path, NULL) == TK_OK) {
        /* the cache, when it was measured on this CPU with the default threads */
        tk_cpu c;
        tk_cpu_features(&c);
        cached = !strcmp(r.cpu, c.model) && r.n_threads_max == def;
    }
    if (cached) {
        snprintf(cache_line, sizeof cache_line, "cached in %s (--remeasure to redo)", path);
    } else {
        if (isatty(2)) fprintf(stderr, "tick roofline: measuring (about %.1f s)...\n", seconds > 0 ? seconds : 3.0);
        int rc = tk_roofline_measure(&r, threads, seconds, &e);
        if (rc) {
            fprintf(stderr, "tick roofline: %s\n", e.msg);
            return 1;
        }
        if (!have_path) snprintf(cache_line, sizeof cache_line, "not cached: neither XDG_CACHE_HOME nor HOME is an absolute path");
        else if (r.n_threads_max < def)
            snprintf(cache_line, sizeof cache_line, "not cached (--threads %d is below the default %d)", r.n_threads_max, def);
        else if (tk_roofline_save(&r, path, &e) != TK_OK) snprintf(cache_line, sizeof cache_line, "not cached: %s", e.msg);
        else snprintf(cache_line, sizeof cache_line, "saved to %s", path);
    }

    if (json) {
        char *s = tk_roofline_to_json(&r);
        if (!s) {
            fprintf(stderr, "tick roofline: out of memory\n");
            return 1;
        }
        printf("%s\n", s);
        free(s);
    } else {
        print_table(&r, cache_line);
    }
    return 0;
}
