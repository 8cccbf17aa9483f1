/* test_report.c: what the clock shows people, end to end through ./tick
 * (or $TICK): the Chrome trace of `run --trace`, the JSON of `clock --json`,
 * the HTML page of `report` (rendered by headless Chromium when it is
 * installed) and the graph of `graph` (rendered by Graphviz when installed). */
#include "t.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GGUF "../shared/models/stories260K.gguf"
#define PROMPT "Once upon a time" /* 5 tokens with BOS */
#define N_PROMPT 5
/* The prompt runs as one burst (one tick record for its 5 positions);
 * then one tick per generated token. */
#define PROMPT_TICKS 1
#define CHROMIUM "/usr/bin/chromium"

static const char *S(const char *s) { return s ? s : "(none)"; }

static double num_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* "generated: N tokens" from the summary line on stderr; -1 if absent. */
static int generated(const char *err) {
    const char *g = err ? strstr(err, "generated: ") : NULL;
    return g ? atoi(g + 11) : -1;
}

/* The cycles of every tick from `run --clock` lines on stderr: "tick pos
 * 'piece' fetch decode execute wr-back cycles ms GB/s %bw GFLOP/s" (the
 * piece may hold spaces, so the cycles are the fifth word from the end). */
static int tick_cycles(const char *err, double *cyc, int cap) {
    int n = 0;
    for (const char *l = err; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[512], *w[64];
        int nw = 0;
        if (len < sizeof line) {
            memcpy(line, l, len);
            line[len] = 0;
            for (char *tok = strtok(line, " "); tok && nw < 64; tok = strtok(NULL, " ")) w[nw++] = tok;
            char *end1, *end2;
            long t = nw >= 10 ? strtol(w[0], &end1, 10) : -1;
            if (nw >= 10 && !*end1 && (strtol(w[1], &end2, 10), !*end2) && t >= 0 && t < cap) {
                cyc[t] = strtod(w[nw - 5], NULL);
                if (t + 1 > n) n = (int)t + 1;
            }
        }
        l = e ? e + 1 : NULL;
    }
    return n;
}

/* ---- trace ------------------------------------------------------------------ */

static void check_trace(int threads) {
    char path[512], args[1024];
    snprintf(path, sizeof path, "%s/trace-%d.json", t_tmpdir(), threads);
    snprintf(args, sizeof args, "run -m " GGUF " -p '" PROMPT "' -n 16 --temp 0 -t %d --clock --trace %s", threads, path);
    int st;
    char *err, *out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0, "-t %d: exit %d: %s", threads, st, S(err));
    int n_gen = generated(err), n_ticks = PROMPT_TICKS + n_gen;
    T_CHECK(n_gen == 16, "-t %d: 16 tokens generated: %s", threads, S(err));
    double cyc[64] = {0};
    int n_lines = tick_cycles(err, cyc, 64);
    T_CHECK(n_lines == n_ticks, "-t %d: %d per-tick lines for %d ticks", threads, n_lines, n_ticks);
    char *js = t_read(path, NULL);
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    T_CHECK(root != NULL, "-t %d: the trace parses as JSON", threads);
    if (!root) goto out;
    double hz = num_of(cJSON_GetObjectItem(root, "otherData"), "hz");
    T_CHECK(hz > 1e6, "otherData.hz: %g", hz);
    const cJSON *evs = cJSON_GetObjectItem(root, "traceEvents"), *ev;
    T_CHECK(cJSON_IsArray(evs), "traceEvents is an array");
    int proc_name = 0, thread_name[8] = {0}, n_marks = 0, n_x = 0, bad = 0, bad_tick = 0, slices_on[8] = {0};
    double mark_ts[64], sum0[64] = {0};
    for (int i = 0; i < 64; i++) mark_ts[i] = NAN;
    cJSON_ArrayForEach(ev, evs) {
        const cJSON *ph = cJSON_GetObjectItem(ev, "ph"), *name = cJSON_GetObjectItem(ev, "name");
        int tid = (int)num_of(ev, "tid");
        if (!cJSON_IsString(ph) || !cJSON_IsString(name) || num_of(ev, "pid") != 1 || tid < 0 || tid >= 8) { bad++; continue; }
        if (!strcmp(ph->valuestring, "M")) {
            const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "args"), "name");
            if (!cJSON_IsString(a)) bad++;
            if (!strcmp(name->valuestring, "process_name")) proc_name++;
            else if (!strcmp(name->valuestring, "thread_name")) thread_name[tid]++;
        } else if (!strcmp(ph->valuestring, "i")) {
            int k = -1;
            if (sscanf(name->valuestring, "tick %d", &k) != 1 || k < 0 || k >= 64 || tid != 0) { bad++; continue; }
            mark_ts[k] = num_of(ev, "ts");
            n_marks++;
        } else if (!strcmp(ph->valuestring, "X")) {
            const cJSON *cat = cJSON_GetObjectItem(ev, "cat"), *args = cJSON_GetObjectItem(ev, "args");
            double ts = num_of(ev, "ts"), dur = num_of(ev, "dur"), tk = num_of(args, "tick");
            n_x++;
            if (!cJSON_IsString(cat) || !(ts >= 0) || !(dur >= 0) || !cJSON_IsNumber(cJSON_GetObjectItem(args, "layer"))) { bad++; continue; }
            if (!(tk >= 0 && tk < n_ticks && tk == floor(tk))) { bad_tick++; continue; }
            slices_on[tid]++;
            if (tid == 0) sum0[(int)tk] += dur;
        } else {
            bad++;
        }
    }
    T_CHECK(bad == 0, "-t %d: %d events lack a field or have a bad one", threads, bad);
    T_CHECK(bad_tick == 0, "-t %d: %d slices name a tick outside [0, %d)", threads, bad_tick, n_ticks);
    T_CHECK(proc_name == 1, "one process_name event (%d)", proc_name);
    for (int t = 0; t < threads; t++) T_CHECK(thread_name[t] == 1, "thread_name for tid %d", t);
    T_CHECK(n_marks == n_ticks, "-t %d: one instant marker per tick: %d, want %d", threads, n_marks, n_ticks);
    T_CHECK(n_x > n_ticks * 20, "-t %d: X slices for every op: %d", threads, n_x);
    for (int t = 0; t < threads; t++) T_CHECK(slices_on[t] > 0, "-t %d: slices on tid %d: %d", threads, t, slices_on[t]);
    /* With one thread, thread 0 runs every op, so its slices tile the
     * tick: their sum equals the tick's wall time but for the stamping
     * between ops (and first-touch page faults of the trace ring, ~15 us
     * each on a VM). Tolerance per tick: 10% or 40 us, whichever is larger,
     * with one tick allowed to miss it (preempted between two ops, outside
     * any slice); over all ticks: 10% or 20 us per tick. The slices never
     * add up to more than the tick. */
    double all_s = 0, all_w = 0;
    int over = 0, off = 0;
    if (threads > 1) goto done; /* thread 0's slices leave out its barrier waits */
    for (int k = 0; k < n_ticks && k < n_lines; k++) {
        double wall = cyc[k] / hz * 1e6, tol = fmax(0.10 * wall, 40.0);
        all_s += sum0[k], all_w += wall;
        if (sum0[k] > wall + 0.5) over++;
        if (fabs(sum0[k] - wall) > tol) {
            off++;
            printf("  tick %d: thread 0 slices %.1f us, tick %.1f us\n", k, sum0[k], wall);
        }
        if (k + 1 < n_ticks && !(mark_ts[k] < mark_ts[k + 1])) over++;
    }
    T_CHECK(over == 0, "-t %d: %d ticks whose slices add up to more than the tick (or whose markers are out of order)", threads, over);
    T_CHECK(off <= 1, "-t %d: %d ticks whose thread-0 slices differ from the tick's time by more than max(10%%, 40 us)", threads, off);
    T_CHECK(all_w > 0 && fabs(all_s - all_w) <= fmax(0.10 * all_w, 20.0 * n_ticks), "-t %d: all ticks: slices %.1f us, ticks %.1f us", threads, all_s,
            all_w);
done:
    cJSON_Delete(root);
out:
    free(js), free(out), free(err);
}

static void test_trace(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    check_trace(1);
    check_trace(2);
}

/* ---- clock --json ------------------------------------------------------------ */

static void test_clock_json(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *err, *out = t_tick_run("clock -m " GGUF " -p '" PROMPT "' -n 20 --temp 0 --json", &st, &err);
    T_CHECK(st == 0, "exit %d: %s", st, S(err));
    int n_gen = generated(err);
    T_CHECK(n_gen == 20, "20 generated: %s", S(err));
    cJSON *root = out ? cJSON_Parse(out) : NULL;
    T_CHECK(root != NULL, "stdout parses as JSON: %.200s", out ? out : "(none)");
    if (!root) goto out;
    const cJSON *schema = cJSON_GetObjectItem(root, "schema");
    T_CHECK(cJSON_IsString(schema) && !strcmp(schema->valuestring, "tick.clock/1"), "schema tick.clock/1");
    const cJSON *phases = cJSON_GetObjectItem(root, "phases"), *dec = cJSON_GetObjectItem(phases, "decode"),
                *pre = cJSON_GetObjectItem(phases, "prefill");
    T_CHECK(num_of(dec, "tokens") == n_gen, "phases.decode.tokens %g == %d generated", num_of(dec, "tokens"), n_gen);
    T_CHECK(num_of(pre, "tokens") == N_PROMPT, "phases.prefill.tokens %g == %d", num_of(pre, "tokens"), N_PROMPT);
    const cJSON *kinds = cJSON_GetObjectItem(dec, "kinds");
    static const char *want[] = {"embed", "norm", "qkv_matmul", "rope", "kv_store", "attention", "attn_out_matmul", "residual",
                                 "ffn_matmul", "activation", "classifier", "sampling"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const cJSON *k = cJSON_GetObjectItem(kinds, want[i]);
        T_CHECK(k && num_of(k, "cycles") > 0 && num_of(k, "calls") > 0, "decode kind %s present with cycles", want[i]);
    }
    T_CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(dec, "layers")) == 5, "5 layers");
    const cJSON *ticks = cJSON_GetObjectItem(root, "ticks"), *t;
    T_CHECK(cJSON_GetArraySize(ticks) == PROMPT_TICKS + n_gen, "%d tick records, want %d", cJSON_GetArraySize(ticks), PROMPT_TICKS + n_gen);
    int bad = 0, i = 0;
    cJSON_ArrayForEach(t, ticks) {
        double cyc = num_of(t, "cycles"), stages = 0, kinds_sum = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(t, "stage_cycles")) stages += v->valuedouble;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(t, "kind_cycles")) kinds_sum += v->valuedouble;
        const cJSON *ph = cJSON_GetObjectItem(t, "phase");
        int want_dec = i >= PROMPT_TICKS, want_pos = want_dec ? N_PROMPT + i - PROMPT_TICKS : 0;
        int want_n = want_dec ? 1 : N_PROMPT;
        if (!(cyc > 0) || stages > cyc || stages <= 0 || kinds_sum != stages || num_of(t, "pos") != want_pos ||
            num_of(t, "n") != want_n || !cJSON_IsString(ph) ||
            strcmp(ph->valuestring, want_dec ? "decode" : "prefill")) {
            if (bad++ < 3) printf("  tick %d: cycles %.0f, stages %.0f, kinds %.0f\n", i, cyc, stages, kinds_sum);
        }
        i++;
    }
    T_CHECK(bad == 0, "%d tick records whose stage cycles exceed the tick's (or are inconsistent)", bad);
    cJSON_Delete(root);
out:
    free(out), free(err);
}

/* ---- report --------------------------------------------------------------------- */

/* data-points="N" of the element with id="ID" in html; -1 if absent. */
static int data_points(const char *html, const char *id) {
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = strstr(html, key);
    if (!p) return -1;
    const char *end = strchr(p, '>'), *d = strstr(p, "data-points=\"");
    return d && end && d < end ? atoi(d + 13) : -1;
}

static void test_report(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    char html[512], args[1024];
    snprintf(html, sizeof html, "%s/report.html", t_tmpdir());
    snprintf(args, sizeof args, "report -m " GGUF " -p '" PROMPT "' -n 48 --temp 0 -o %s", html);
    int st;
    char *err, *out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0, "exit %d: %s", st, S(err));
    free(out), free(err);
    size_t len = 0;
    char *page = t_read(html, &len);
    T_CHECK(page && len > 10000, "the page is written (%zu bytes)", len);
    if (!page) return;
    T_CHECK(data_points(page, "cycles-per-tick") == PROMPT_TICKS + 48, "#cycles-per-tick: %d points", data_points(page, "cycles-per-tick"));
    T_CHECK(data_points(page, "ops-per-tick") == PROMPT_TICKS + 48, "#ops-per-tick: %d bars", data_points(page, "ops-per-tick"));
    T_CHECK(data_points(page, "roofline") > 5, "#roofline: %d points", data_points(page, "roofline"));
    T_CHECK(strstr(page, "id=\"phases\"") && strstr(page, "id=\"machine\"") && strstr(page, "id=\"kinds\"") && strstr(page, "id=\"layers\""),
            "tables #phases, #machine, #kinds, #layers");
    /* self-contained: nothing to fetch */
    static const char *ext[] = {"http://", "https://", "src=", "<link", "url(http", "@import", "<script"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) T_CHECK(!strstr(page, ext[i]), "the page holds no '%s'", ext[i]);
    free(page);

    if (access(CHROMIUM, X_OK) != 0) T_SKIP("%s is not installed: the page was not rendered (CI installs chromium)", CHROMIUM);
    char cmd[2048], prof[512], png[512];
    snprintf(prof, sizeof prof, "%s/chromium", t_tmpdir());
    snprintf(png, sizeof png, "%s/report.png", t_tmpdir());
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
                        "--disable-component-update --disable-sync --hide-scrollbars";
    snprintf(cmd, sizeof cmd, "timeout 60 " CHROMIUM " %s --user-data-dir=%s --dump-dom file://%s 2>/dev/null", flags, prof, html);
    char *dom = t_run_cmd(cmd, &st);
    T_CHECK(st == 0 && dom && strstr(dom, "</html>"), "chromium --dump-dom: exit %d", st);
    const char *ids[] = {"cycles-per-tick", "ops-per-tick", "roofline"};
    for (int i = 0; i < 3; i++) T_CHECK(dom && data_points(dom, ids[i]) > 0, "rendered #%s has data-points %d", ids[i], dom ? data_points(dom, ids[i]) : -1);
    free(dom);
    snprintf(cmd, sizeof cmd, "timeout 60 " CHROMIUM " %s --user-data-dir=%s --screenshot=%s --window-size=1280,2000 file://%s >/dev/null 2>&1", flags, prof,
             png, html);
    free(t_run_cmd(cmd, &st));
    size_t plen = 0;
    char *img = t_read(png, &plen);
    T_CHECK(st == 0 && img && plen > 10 * 1024 && !memcmp(img, "\x89PNG", 4), "screenshot: exit %d, %zu bytes", st, plen);
    free(img);
}

/* ---- graph ----------------------------------------------------------------------- */

static int is_id(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'; }

static void test_graph_mermaid(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *err, *out = t_tick_run("graph -m " GGUF " --format mermaid", &st, &err);
    T_CHECK(st == 0 && out, "exit %d: %s", st, S(err));
    if (!out) { free(err); return; }
    T_CHECK(!strncmp(out, "graph TD\n", 9), "starts with graph TD: %.40s", out);
    /* node definitions: `id[...`, `id(...`; edges: `a --> b`, `a -. x .-> b`, `a -- t --> b` */
    char defs[256][32];
    int n_def = 0, n_edge = 0, undefined = 0;
    char *text = strdup(out);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ') line++;
        if (!*line || !strncmp(line, "%%", 2) || !strncmp(line, "subgraph", 8) || !strcmp(line, "end") || !strncmp(line, "style ", 6) ||
            !strncmp(line, "classDef ", 9) || !strncmp(line, "class ", 6) || !strncmp(line, "graph ", 6))
            continue;
        size_t n = 0;
        while (is_id(line[n])) n++;
        if (strstr(line, "-->") || strstr(line, ".->")) {
            n_edge++;
            char from[32] = "", to[32] = "";
            snprintf(from, sizeof from, "%.*s", (int)n, line);
            const char *last = strrchr(line, ' ');
            snprintf(to, sizeof to, "%s", last ? last + 1 : "");
            for (int k = 0; k < 2; k++) {
                const char *id = k ? to : from;
                int found = 0;
                for (int d = 0; d < n_def && !found; d++) found = !strcmp(defs[d], id);
                if (!found) {
                    undefined++;
                    printf("  edge '%s' uses undefined node '%s'\n", line, id);
                }
            }
        } else if (n > 0 && (line[n] == '[' || line[n] == '(') && n_def < 256) {
            snprintf(defs[n_def++], sizeof defs[0], "%.*s", (int)n, line);
        } else {
            printf("  unexpected line: %s\n", line);
            undefined++;
        }
    }
    free(text);
    T_CHECK(n_def > 20 && n_edge >= n_def - 1, "%d nodes, %d edges", n_def, n_edge);
    T_CHECK(undefined == 0, "%d edges use undefined nodes (or lines do not parse)", undefined);
    static const char *ops[] = {"blk.0.attn_norm", "blk.0.attn_q", "blk.0.attn_k", "blk.0.attn_v", "blk.0.rope", "blk.0.kv_store",
                                "blk.0.attention", "blk.0.attn_output", "blk.0.ffn_norm", "blk.0.ffn_gate", "blk.0.ffn_up",
                                "blk.0.ffn_down", "token_embd", "output_norm"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) T_CHECK(strstr(out, ops[i]), "label of %s", ops[i]);
    T_CHECK(strstr(out, "blk.1 .. blk.4") && strstr(out, "\xc3\x97" "4"), "the fold node names blk.1 .. blk.4, x4");
    T_CHECK(!strstr(out, "blk.1.attn_q") && !strstr(out, "blk.4."), "later layers are folded, not drawn");
    T_CHECK(strstr(out, "per context position"), "attention's growth per context position is given");
    T_CHECK(strstr(out, "-. x .->"), "the residual stream is drawn");
    free(out), free(err);
}

static void test_graph_dot(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *err, *out = t_tick_run("graph -m " GGUF " --format dot", &st, &err);
    T_CHECK(st == 0 && out && !strncmp(out, "digraph ", 8) && strstr(out, "blk.0.ffn_down") && strstr(out, "fold"), "dot: exit %d: %.60s", st,
            out ? out : "");
    char dotf[512], svg[512], cmd[2048];
    snprintf(dotf, sizeof dotf, "%s/graph.dot", t_tmpdir());
    snprintf(svg, sizeof svg, "%s/graph.svg", t_tmpdir());
    if (out) t_write(dotf, out, strlen(out));
    free(out), free(err);
    if (access("/usr/bin/dot", X_OK) != 0) T_SKIP("graphviz (/usr/bin/dot) is not installed: the DOT was not rendered (CI installs graphviz)");
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o %s", dotf, svg);
    char *msg = t_run_cmd(cmd, &st);
    T_CHECK(st == 0 && msg && !*msg, "dot -Tsvg: exit %d: %s", st, S(msg));
    free(msg);
    char *s = t_read(svg, NULL);
    T_CHECK(s && strstr(s, "<svg") && strstr(s, "blk.0.attention"), "an SVG with the ops");
    free(s);
}

/* ---- bad flags -------------------------------------------------------------------- */

static void test_bad_flags(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    static const struct { const char *args, *word; int code; } cases[] = {
        {"report -m " GGUF " -p hi -n 4", "-o", 2},
        {"report -m " GGUF " -p hi -n 4 -o", "-o", 2},
        {"report -m " GGUF " -p hi -n 4 --bogus -o /tmp/x.html", "--bogus", 2},
        {"report -m " GGUF " -p hi -n 4 -o /nonexistent-dir/r.html", "/nonexistent-dir/r.html", 1},
        {"report -p hi -o /tmp/x.html", "model", 2},
        {"graph -m " GGUF " --format bogus", "--format", 2},
        {"graph -m " GGUF " --format", "--format", 2},
        {"graph -m " GGUF " -n 3", "-n", 2},
        {"graph", "model", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int st;
        char *err, *out = t_tick_run(cases[i].args, &st, &err);
        T_CHECK(st == cases[i].code && err && t_one_line(err) && strstr(err, cases[i].word) && out && !*out,
                "`tick %s`: exit %d (want %d), stderr: %s", cases[i].args, st, cases[i].code, S(err));
        free(out), free(err);
    }
}

int main(void) {
    T_RUN(test_trace);
    T_RUN(test_clock_json);
    T_RUN(test_report);
    T_RUN(test_graph_mermaid);
    T_RUN(test_graph_dot);
    T_RUN(test_bad_flags);
    return t_done();
}
