/* test_roofline.c: the cycle counter, CPU features, the roofline probe, its
 * JSON cache (exact round trip, every corruption refused with a clear
 * message) and `tick roofline`. Numbers are checked for plausibility only. */
#include "t.h"
#include "base/cpu.h"
#include "base/cycles.h"
#include "clock/roofline.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_calibrate(void) {
    tk_cycle_info a, b;
    T_CHECK(tk_cycles_calibrate(&a) == TK_OK, "calibrate failed");
    T_CHECK(tk_cycles_calibrate(&b) == TK_OK, "calibrate failed");
    T_CHECK(a.source && (!strcmp(a.source, "rdtsc") || !strcmp(a.source, "cntvct_el0") || !strcmp(a.source, "clock_gettime")),
            "source %s", a.source ? a.source : "(null)");
#if defined(__x86_64__)
    T_CHECK(!strcmp(a.source, "rdtsc"), "x86-64 should use rdtsc, got %s", a.source);
    T_CHECK(a.hz >= 1e8 && a.hz <= 1e11, "rdtsc at %g Hz", a.hz);
#elif defined(__aarch64__)
    T_CHECK(a.hz >= 1e6 && a.hz <= 1e10, "cntvct_el0 at %g Hz", a.hz);
#else
    T_CHECK(fabs(a.hz - 1e9) < 5e7, "clock_gettime at %g Hz", a.hz);
#endif
    T_CHECK(fabs(a.hz - b.hz) <= 0.05 * a.hz, "two calibrations differ: %g vs %g Hz", a.hz, b.hz);
}

static void test_cycles_monotonic(void) {
    uint64_t prev = tk_cycles(), first = prev;
    double tprev = tk_now_ns();
    int back = 0, tback = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t c = tk_cycles();
        double t = tk_now_ns();
        back += c < prev;
        tback += t < tprev;
        prev = c, tprev = t;
    }
    T_CHECK(back == 0, "tk_cycles went backwards %d times", back);
    T_CHECK(tback == 0, "tk_now_ns went backwards %d times", tback);
    T_CHECK(prev > first, "tk_cycles did not advance over 200000 reads");
}

static void test_perf_cycles_graceful(void) {
    int fd = tk_perf_cycles_open();
    uint64_t c = 0;
    if (fd < 0) {
        T_CHECK(tk_perf_cycles_read(fd, &c) == -1, "read of a refused counter must fail");
        tk_perf_cycles_close(fd); /* accepts -1 */
        T_SKIP("perf_event_open(PERF_COUNT_HW_CPU_CYCLES) refused here: open returned -1 as it should");
    }
    uint64_t c2 = 0;
    T_CHECK(tk_perf_cycles_read(fd, &c) == 0, "read failed");
    volatile double x = 1;
    for (int i = 0; i < 1000000; i++) x = x * 1.0000001;
    T_CHECK(tk_perf_cycles_read(fd, &c2) == 0 && c2 > c, "perf cycles did not advance: %llu -> %llu",
            (unsigned long long)c, (unsigned long long)c2);
    tk_perf_cycles_close(fd);
}

static void test_cpu_features(void) {
    tk_cpu c;
    tk_cpu_features(&c);
    T_CHECK(c.model[0] && strlen(c.model) < sizeof c.model, "model '%s'", c.model);
    T_CHECK(c.model[0] != ' ' && c.model[strlen(c.model) - 1] != ' ', "model not trimmed: '%s'", c.model);
    T_CHECK(c.logical_cores >= 1, "logical %d", c.logical_cores);
    T_CHECK(c.physical_cores >= 1 && c.physical_cores <= c.logical_cores, "physical %d, logical %d", c.physical_cores,
            c.logical_cores);
    T_CHECK(!c.avx512bw || c.avx512f, "avx512bw without avx512f");
    T_CHECK(!c.avx512vl || c.avx512f, "avx512vl without avx512f");
    T_CHECK(!c.avx512_vnni || c.avx512f, "avx512_vnni without avx512f");
    T_CHECK(!c.avx512_bf16 || c.avx512f, "avx512_bf16 without avx512f");
    T_CHECK(!c.avx_vnni || c.avx2, "avx_vnni without avx2");
    T_CHECK(!c.dotprod || c.neon, "dotprod without neon");
#if defined(__x86_64__)
    T_CHECK(!strcmp(c.arch, "x86_64"), "arch %s", c.arch);
    T_CHECK(!c.neon && !c.dotprod, "arm features on x86-64");
#elif defined(__aarch64__)
    T_CHECK(!strcmp(c.arch, "aarch64") && c.neon, "arch %s neon %d", c.arch, c.neon);
#endif
    char s[256];
    int n = tk_cpu_features_str(&c, s, sizeof s);
    T_CHECK(n == (int)strlen(s) && n > 0, "features string '%s' (%d)", s, n);
    T_CHECK(!c.avx2 || strstr(s, "avx2"), "avx2 set but not listed: %s", s);
    T_CHECK(c.avx2 || c.neon || c.fma || strcmp(s, "none") == 0 || strlen(s) > 0, "features '%s'", s);
    char tiny[6];
    n = tk_cpu_features_str(&c, tiny, sizeof tiny);
    T_CHECK(n < (int)sizeof tiny && strlen(tiny) == (size_t)n, "truncation: '%s' %d", tiny, n);

    int cpus[1024];
    int nc = tk_cpu_order(cpus, 1024);
    T_CHECK(nc >= 1 && nc <= c.logical_cores, "cpu order gave %d cpus (logical %d)", nc, c.logical_cores);
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < i; j++) T_CHECK(cpus[i] != cpus[j], "cpu %d listed twice", cpus[i]);
    int d = tk_roofline_default_threads();
    T_CHECK(d >= 1 && d <= TK_ROOFLINE_MAX_THREADS && d <= (nc ? nc : c.logical_cores), "default threads %d", d);
}

static void check_plausible(const tk_roofline *r, int nthreads) {
    T_CHECK(r->n_threads_max == nthreads, "n_threads_max %d, want %d", r->n_threads_max, nthreads);
    double pr = 0, pf = 0, pi = 0;
    for (int n = 1; n <= r->n_threads_max; n++) {
        T_CHECK(isfinite(r->read_gbs[n]) && r->read_gbs[n] >= 0.5 && r->read_gbs[n] <= 2000, "read %g GB/s at %d threads",
                r->read_gbs[n], n);
        T_CHECK(isfinite(r->f32_gflops[n]) && r->f32_gflops[n] >= 0.5 && r->f32_gflops[n] <= 100000,
                "F32 %g GFLOP/s at %d threads", r->f32_gflops[n], n);
        if (strcmp(r->int8_isa, "none"))
            T_CHECK(isfinite(r->int8_gops[n]) && r->int8_gops[n] >= 0.5 && r->int8_gops[n] <= 400000,
                    "int8 %g GOP/s at %d threads (%s)", r->int8_gops[n], n, r->int8_isa);
        else
            T_CHECK(r->int8_gops[n] == 0, "int8 %g without an int8 isa", r->int8_gops[n]);
        pr = fmax(pr, r->read_gbs[n]), pf = fmax(pf, r->f32_gflops[n]), pi = fmax(pi, r->int8_gops[n]);
    }
    T_CHECK(r->read_gbs[0] == 0 && r->f32_gflops[0] == 0 && r->int8_gops[0] == 0, "index 0 must stay 0");
    T_CHECK(r->peak_read_gbs == pr && r->peak_f32_gflops == pf && r->peak_int8_gops == pi, "peaks %g %g %g, maxima %g %g %g",
            r->peak_read_gbs, r->peak_f32_gflops, r->peak_int8_gops, pr, pf, pi);
    tk_cpu c;
    tk_cpu_features(&c);
    T_CHECK(!strcmp(r->cpu, c.model), "cpu '%s' vs '%s'", r->cpu, c.model);
    static const char *isas[] = {"avx512_vnni", "avx_vnni", "avx512bw", "avx2", "neon_dotprod", "none"};
    int known = 0;
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) known |= !strcmp(r->int8_isa, isas[i]);
    T_CHECK(known, "int8_isa '%s'", r->int8_isa);
#if defined(__x86_64__)
    if (c.avx512_vnni || c.avx_vnni) T_CHECK(strstr(r->int8_isa, "vnni") != NULL, "VNNI CPU measured with %s", r->int8_isa);
    if (c.avx2) T_CHECK(strcmp(r->int8_isa, "none"), "AVX2 CPU without int8");
#endif
    T_CHECK(r->cycle_hz > 0 && isfinite(r->cycle_hz), "cycle_hz %g", r->cycle_hz);
    T_CHECK(r->cycle_source[0], "no cycle source");
    int y, mo, d, h, mi, s;
    char z = 0;
    T_CHECK(strlen(r->measured_at) == 20 && sscanf(r->measured_at, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) == 7 &&
                z == 'Z' && y >= 2020 && mo >= 1 && mo <= 12,
            "measured_at '%s'", r->measured_at);
}

static void test_measure(void) {
    tk_roofline r;
    tk_error e = {0};
    double t0 = tk_now_ns();
    int rc = tk_roofline_measure(&r, 2, 0.5, &e);
    double s = (tk_now_ns() - t0) * 1e-9;
    T_CHECK(rc == TK_OK, "measure: %d %s", rc, e.msg);
    if (rc) return;
    check_plausible(&r, 2);
    T_CHECK(s < 10, "a 0.5 s budget took %.1f s", s); /* generous: sanitizers, first-touch VMs */
    printf("  measured in %.2f s: read %.1f/%.1f GB/s, F32 %.1f/%.1f GFLOP/s, int8 %.1f/%.1f GOP/s (%s)\n", s,
           r.read_gbs[1], r.read_gbs[2], r.f32_gflops[1], r.f32_gflops[2], r.int8_gops[1], r.int8_gops[2], r.int8_isa);
}

/* A roofline with awkward doubles in every field. */
static void synthetic(tk_roofline *r, int n, const char *cpu) {
    memset(r, 0, sizeof *r);
    snprintf(r->cpu, sizeof r->cpu, "%s", cpu);
    r->n_threads_max = n;
    for (int i = 1; i <= n; i++) {
        r->read_gbs[i] = 1.0 / 3.0 * i + 1e-9;
        r->f32_gflops[i] = 12345.678901234567 * i;
        r->int8_gops[i] = 0.1 + 0.2 * i; /* not exactly a short decimal */
        r->peak_read_gbs = fmax(r->peak_read_gbs, r->read_gbs[i]);
        r->peak_f32_gflops = fmax(r->peak_f32_gflops, r->f32_gflops[i]);
        r->peak_int8_gops = fmax(r->peak_int8_gops, r->int8_gops[i]);
    }
    r->int8_gops[n] = 5e-324; /* the smallest subnormal */
    snprintf(r->int8_isa, sizeof r->int8_isa, "avx512_vnni");
    r->cycle_hz = 2999999999.9999995;
    snprintf(r->cycle_source, sizeof r->cycle_source, "rdtsc");
    snprintf(r->measured_at, sizeof r->measured_at, "2026-01-31T12:34:56Z");
}

static void test_save_load_roundtrip(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/rt/sub/roofline.json", t_tmpdir()); /* directories made on save */
    int sizes[] = {1, 2, 32};
    for (int k = 0; k < 3; k++) {
        tk_roofline a, b;
        synthetic(&a, sizes[k], "Test CPU \"quoted\" \\ name");
        tk_error e = {0};
        T_CHECK(tk_roofline_save(&a, path, &e) == TK_OK, "save: %s", e.msg);
        memset(&b, 0x5a, sizeof b);
        T_CHECK(tk_roofline_load(&b, path, &e) == TK_OK, "load: %s", e.msg);
        T_CHECK(memcmp(&a, &b, sizeof a) == 0, "round trip differs for %d threads", sizes[k]);
        for (int i = 1; i <= a.n_threads_max; i++)
            T_CHECK(a.read_gbs[i] == b.read_gbs[i] && a.f32_gflops[i] == b.f32_gflops[i] && a.int8_gops[i] == b.int8_gops[i],
                    "thread %d: %.17g/%.17g %.17g/%.17g %.17g/%.17g", i, a.read_gbs[i], b.read_gbs[i], a.f32_gflops[i],
                    b.f32_gflops[i], a.int8_gops[i], b.int8_gops[i]);
        T_CHECK(a.cycle_hz == b.cycle_hz, "cycle_hz %.17g vs %.17g", a.cycle_hz, b.cycle_hz);
    }
    /* a real measurement too */
    tk_roofline m, l;
    tk_error e = {0};
    if (tk_roofline_measure(&m, 1, 0.2, &e) != TK_OK) {
        T_CHECK(0, "measure: %s", e.msg);
        return;
    }
    T_CHECK(tk_roofline_save(&m, path, &e) == TK_OK, "save: %s", e.msg);
    T_CHECK(tk_roofline_load(&l, path, &e) == TK_OK && memcmp(&m, &l, sizeof m) == 0, "measured round trip: %s", e.msg);
}

/* Load text written to a file; returns the status and leaves e filled. */
static int load_text(const char *text, tk_error *e, char *path, size_t cap) {
    static int k;
    snprintf(path, cap, "%s/bad%d.json", t_tmpdir(), k++);
    t_write(path, text, strlen(text));
    tk_roofline r;
    memset(e, 0, sizeof *e);
    int rc = tk_roofline_load(&r, path, e);
    tk_roofline zero;
    memset(&zero, 0, sizeof zero);
    if (rc != TK_OK) T_CHECK(memcmp(&r, &zero, sizeof r) == 0, "a failed load must leave r zeroed");
    return rc;
}

/* Replace the first occurrence of `from` in s with `to` (malloc'd). */
static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p) return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *o = malloc(n + 1);
    size_t pre = (size_t)(p - s);
    memcpy(o, s, pre);
    strcpy(o + pre, to);
    strcat(o, p + strlen(from));
    return o;
}

static void test_load_corrupt(void) {
    tk_roofline a;
    synthetic(&a, 2, "Test CPU");
    char *good = tk_roofline_to_json(&a);
    T_CHECK(good != NULL, "to_json");
    if (!good) return;
    char path[512];
    tk_error e;
    T_CHECK(load_text(good, &e, path, sizeof path) == TK_OK, "the good text: %s", e.msg);

    /* truncated at many points: always a clean failure naming the file */
    size_t len = strlen(good);
    for (size_t cut = 0; cut < len - 2; cut += 7) {
        char *t = strndup(good, cut);
        int rc = load_text(t, &e, path, sizeof path);
        T_CHECK(rc == TK_EFORMAT, "truncated at %zu: rc %d (%s)", cut, rc, e.msg);
        T_CHECK(strstr(e.msg, path) && strstr(e.msg, "malformed JSON"), "truncated at %zu: '%s'", cut, e.msg);
        free(t);
    }
    struct {
        const char *from, *to, *want;
        int code;
    } cases[] = {
        {"\"version\":\t1", "\"version\":\t2", "version 2 is not supported", TK_EUNSUPPORTED},
        {"\"tick-roofline\"", "\"other\"", "schema is \"other\"", TK_EFORMAT},
        {"\"n_threads_max\":\t2", "\"n_threads_max\":\t3", "\"read_gbs\" is not an array of n_threads_max (3)", TK_EFORMAT},
        {"\"n_threads_max\":\t2", "\"n_threads_max\":\t0", "n_threads_max 0 is not an integer in [1, 32]", TK_EFORMAT},
        {"\"n_threads_max\":\t2", "\"n_threads_max\":\t33", "n_threads_max 33", TK_EFORMAT},
        {"\"n_threads_max\":\t2", "\"n_threads_max\":\t1.5", "n_threads_max 1.5", TK_EFORMAT},
        {"\"n_threads_max\":\t2", "\"n_threads_max\":\t\"2\"", "\"n_threads_max\" is not a finite number", TK_EFORMAT},
        {"\"peak_read_gbs\":", "\"peak_read_gbz\":", "missing field \"peak_read_gbs\"", TK_EFORMAT},
        {"\"cycle_hz\":\t", "\"cycle_hz\":\t-", "\"cycle_hz\" is not a finite number >= 0", TK_EFORMAT},
        {"\"f32_gflops\":\t[", "\"f32_gflops\":\t[null, ", "\"f32_gflops\"", TK_EFORMAT},
        {"\"int8_isa\":\t\"avx512_vnni\"", "\"int8_isa\":\t\"avx512_vnni_and_then_some\"", "\"int8_isa\" is longer than 15", TK_EFORMAT},
        {"\"cpu\":\t\"Test CPU\"", "\"cpu\":\t7", "\"cpu\" is not a string", TK_EFORMAT},
        {"\"read_gbs\":\t[", "\"read_gbs\":\t{\"a\":[", "malformed JSON", TK_EFORMAT},
        {"\"peak_int8_gops\":\t", "\"peak_int8_gops\":\t1e999, \"x\":", "\"peak_int8_gops\" is not a finite number", TK_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *t = replace(good, cases[i].from, cases[i].to);
        T_CHECK(t != NULL, "case %zu: '%s' not in the JSON", i, cases[i].from);
        if (!t) continue;
        int rc = load_text(t, &e, path, sizeof path);
        T_CHECK(rc == cases[i].code && strstr(e.msg, cases[i].want) && strstr(e.msg, path),
                "case %zu (%s): rc %d '%s', want %d '%s'", i, cases[i].to, rc, e.msg, cases[i].code, cases[i].want);
        free(t);
    }
    const char *odd[] = {"", "[1, 2]", "null", "{}", "\"x\"", "{\"schema\": \"tick-roofline\"}", "{\"a\":1} trailing"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        int rc = load_text(odd[i], &e, path, sizeof path);
        T_CHECK(rc == TK_EFORMAT && strstr(e.msg, path), "'%s': rc %d '%s'", odd[i], rc, e.msg);
    }
    tk_roofline r;
    snprintf(path, sizeof path, "%s/does-not-exist.json", t_tmpdir());
    int rc = tk_roofline_load(&r, path, &e);
    T_CHECK(rc == TK_EIO && strstr(e.msg, path) && strstr(e.msg, "cannot open"), "missing file: %d '%s'", rc, e.msg);
    free(good);
}

static void test_default_path(void) {
    char *ox = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    char *oh = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char b[256];
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    T_CHECK(tk_roofline_default_path(b, sizeof b) == TK_OK && !strcmp(b, "/x/cache/tick/roofline.json"), "xdg: %s", b);
    setenv("XDG_CACHE_HOME", "relative", 1);
    setenv("HOME", "/home/u", 1);
    T_CHECK(tk_roofline_default_path(b, sizeof b) == TK_OK && !strcmp(b, "/home/u/.cache/tick/roofline.json"), "home: %s", b);
    unsetenv("XDG_CACHE_HOME");
    T_CHECK(tk_roofline_default_path(b, sizeof b) == TK_OK && !strcmp(b, "/home/u/.cache/tick/roofline.json"), "home: %s", b);
    T_CHECK(tk_roofline_default_path(b, 10) == TK_EINVAL, "a too small buffer must fail");
    unsetenv("HOME");
    T_CHECK(tk_roofline_default_path(b, sizeof b) == TK_EINVAL, "no HOME, no XDG must fail");
    if (ox) setenv("XDG_CACHE_HOME", ox, 1);
    if (oh) setenv("HOME", oh, 1);
    free(ox), free(oh);
}

/* tk_roofline_get returns a matching cache as is (and fast). */
static void test_get_uses_cache(void) {
    char *ox = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    char dir[512], path[512];
    snprintf(dir, sizeof dir, "%s/getcache", t_tmpdir());
    setenv("XDG_CACHE_HOME", dir, 1);
    T_CHECK(tk_roofline_default_path(path, sizeof path) == TK_OK, "path");
    tk_cpu c;
    tk_cpu_features(&c);
    tk_roofline a, b;
    synthetic(&a, tk_roofline_default_threads(), c.model);
    tk_error e = {0};
    T_CHECK(tk_roofline_save(&a, path, &e) == TK_OK, "save: %s", e.msg);
    double t0 = tk_now_ns();
    T_CHECK(tk_roofline_get(&b, 0, &e) == TK_OK, "get: %s", e.msg);
    T_CHECK((tk_now_ns() - t0) < 1e9 && memcmp(&a, &b, sizeof a) == 0, "get did not return the cache");
    if (ox) setenv("XDG_CACHE_HOME", ox, 1);
    else unsetenv("XDG_CACHE_HOME");
    free(ox);
}

static void test_cli_json(void) {
    if (access(t_tick(), X_OK)) T_SKIP("%s is not built", t_tick());
    char cmd[1024], dir[512], cache[600];
    snprintf(dir, sizeof dir, "%s/cli-cache", t_tmpdir());
    snprintf(cache, sizeof cache, "%s/tick/roofline.json", dir);
    snprintf(cmd, sizeof cmd, "XDG_CACHE_HOME=%s %s roofline --json --seconds 0.5 2>/dev/null", dir, t_tick());
    int st;
    char *out = t_run_cmd(cmd, &st);
    T_CHECK(st == 0, "exit %d: %s", st, out);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    T_CHECK(j != NULL, "not JSON: %s", out);
    if (!j) { free(out); return; }
    const char *fields[] = {"schema", "version", "cpu", "n_threads_max", "read_gbs", "peak_read_gbs", "f32_gflops",
                            "peak_f32_gflops", "int8_gops", "peak_int8_gops", "int8_isa", "cycle_hz", "cycle_source",
                            "measured_at"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        T_CHECK(cJSON_GetObjectItemCaseSensitive(j, fields[i]) != NULL, "field %s missing", fields[i]);
    T_CHECK(cJSON_GetArraySize(j) == (int)(sizeof fields / sizeof *fields), "%d fields", cJSON_GetArraySize(j));
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "n_threads_max");
    T_CHECK(cJSON_IsNumber(n) && n->valueint == tk_roofline_default_threads(), "n_threads_max");
    T_CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "read_gbs")) == (n ? n->valueint : -1), "read_gbs length");
    cJSON_Delete(j);
    tk_roofline r;
    tk_error e = {0};
    T_CHECK(tk_roofline_from_json(&r, out, &e) == TK_OK, "from_json: %s", e.msg);
    check_plausible(&r, tk_roofline_default_threads());
    /* the cache holds the same text */
    char *file = t_read(cache, NULL);
    T_CHECK(file && !strcmp(file, out), "cache %s differs from the printed JSON", cache);
    free(file);

    /* no flags: the cache is used, no measuring */
    snprintf(cmd, sizeof cmd, "XDG_CACHE_HOME=%s %s roofline", dir, t_tick());
    char *tab = t_run_cmd(cmd, &st);
    T_CHECK(st == 0 && tab && strstr(tab, "cached in") && strstr(tab, "read GB/s") && strstr(tab, "peak") &&
                strstr(tab, r.cpu) && strstr(tab, r.cycle_source),
            "table: %s", tab);
    free(tab);
    snprintf(cmd, sizeof cmd, "XDG_CACHE_HOME=%s %s roofline --json 2>/dev/null", dir, t_tick());
    char *again = t_run_cmd(cmd, &st);
    T_CHECK(st == 0 && again && !strcmp(again, out), "cached --json differs:\n%s\n---\n%s", again, out);
    free(again);
    free(out);
}

static void test_cli_bad_flags(void) {
    if (access(t_tick(), X_OK)) T_SKIP("%s is not built", t_tick());
    const char *bad[] = {"--bogus", "--threads 0", "--threads 33", "--threads x", "--threads", "--seconds abc",
                         "--seconds 0", "--seconds 1e9", "--seconds nan", "extra"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "XDG_CACHE_HOME=%s/never %s roofline %s", t_tmpdir(), t_tick(), bad[i]);
        int st;
        char *out = t_run_cmd(cmd, &st);
        size_t len = out ? strlen(out) : 0;
        T_CHECK(st == 2, "'%s': exit %d, want 2: %s", bad[i], st, out);
        T_CHECK(out && len && out[len - 1] == '\n' && !memchr(out, '\n', len - 1) && strstr(out, "tick roofline:"),
                "'%s': want one line, got: %s", bad[i], out);
        free(out);
    }
}

int main(void) {
    T_RUN(test_calibrate);
    T_RUN(test_cycles_monotonic);
    T_RUN(test_perf_cycles_graceful);
    T_RUN(test_cpu_features);
    T_RUN(test_measure);
    T_RUN(test_save_load_roundtrip);
    T_RUN(test_load_corrupt);
    T_RUN(test_default_path);
    T_RUN(test_get_uses_cache);
    T_RUN(test_cli_json);
    T_RUN(test_cli_bad_flags);
    return t_done();
}
