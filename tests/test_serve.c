/* test_serve.c: `tick serve` over loopback with curl as the client:
 * every endpoint streamed and not, every error status, the API key,
 * stop strings split across tokens, logprobs, seeds, 16 concurrent
 * clients giving the single-client answers, hostile input (10 MB body,
 * invalid UTF-8, deep nesting, out-of-range numbers, slowloris), a client
 * hanging up, the prompt cache, graceful shutdown, and the chat page in
 * headless Chromium. Needs curl (skips without it) and
 * ../shared/models/stories260K.gguf. */
#include "t.h"
#include "util_cdp.h"

#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *MODEL;
static int have_curl;

typedef struct srv { pid_t pid; int port; char log[512]; } srv;

static double mono_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void msleep(int ms) { struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&ts, NULL); }

/* Start `tick serve -m model --port 0 EXTRA`; wait for "ready" in its log. */
static int start(srv *s, const char *model, const char *extra) {
    static int n;
    snprintf(s->log, sizeof s->log, "%s/serve%d.log", t_tmpdir(), n++);
    s->port = 0;
    s->pid = fork();
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1), dup2(fd, 2), close(fd);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "exec %s serve -m %s --host 127.0.0.1 --port 0 %s", t_tick(), model, extra);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        msleep(25);
        char *l = t_read(s->log, NULL);
        const char *p = l ? strstr(l, "listening on http://127.0.0.1:") : NULL;
        if (p) s->port = atoi(p + strlen("listening on http://127.0.0.1:"));
        int ready = l && strstr(l, "ready:");
        free(l);
        if (s->port && (ready || !strcmp(model, "-"))) return 0;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) return -1;
    }
    return s->port ? 0 : -1;
}

/* A sanitizer report in a server's log (make sanitize) fails the test. */
static void check_log(const srv *s) {
    char *l = t_read(s->log, NULL);
    const char *p = l ? strstr(l, "Sanitizer") : NULL;
    if (!p && l) p = strstr(l, "runtime error:");
    T_CHECK(!p, "server log %s: %.300s", s->log, p ? p : "");
    free(l);
}

/* SIGTERM, then the exit status (-1 if it did not exit within 15 s). */
static int stop(srv *s) {
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 600; i++) {
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            check_log(s);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        msleep(25);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    return -1;
}

/* curl METHOD path [body] [extra args]; returns the HTTP status, *out the body. */
static int http(const srv *s, const char *method, const char *path, const char *body, const char *extra, char **out) {
    static int n;
    char bf[512], of[512], cmd[2048];
    snprintf(bf, sizeof bf, "%s/body%d.json", t_tmpdir(), n);
    snprintf(of, sizeof of, "%s/out%d.txt", t_tmpdir(), n++);
    if (body) t_write(bf, body, strlen(body));
    snprintf(cmd, sizeof cmd, "curl -s -N -m 60 -X %s -o %s -w '%%{http_code}' %s%s%s %s http://127.0.0.1:%d%s", method, of,
             body ? "-H 'Content-Type: application/json' --data-binary @" : "", body ? bf : "", "", extra ? extra : "",
             s->port, path);
    int st;
    char *code = t_run_cmd(cmd, &st);
    int status = code ? atoi(code) : 0;
    free(code);
    char *o = t_read(of, NULL);
    if (out) *out = o ? o : strdup("");
    else free(o);
    unlink(bf), unlink(of);
    return status;
}

static cJSON *post_json(const srv *s, const char *path, const char *body, int *status) {
    char *o;
    *status = http(s, "POST", path, body, NULL, &o);
    cJSON *j = cJSON_Parse(o);
    free(o);
    return j;
}

static const char *str_at(const cJSON *j, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0), b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* choices[0].text of a completion, malloc'd ("" on failure). */
static char *completion_text(const srv *s, const char *body, int *status) {
    cJSON *j = post_json(s, "/v1/completions", body, status);
    const char *t = str_at(j, NULL, "text");
    char *r = strdup(t ? t : "");
    cJSON_Delete(j);
    return r;
}

/* The SSE stream of a request: checks its framing, returns the
 * concatenated text deltas (malloc'd) and the last finish_reason. */
static char *stream_text(const srv *s, const char *path, const char *body, char *finish, int *n_events, int *ok) {
    char *o;
    int status = http(s, "POST", path, body, NULL, &o);
    *ok = status == 200;
    size_t cap = strlen(o) + 1;
    char *text = calloc(1, cap);
    *n_events = 0;
    finish[0] = 0;
    int saw_done = 0;
    for (char *ev = o, *nx; ev && *ev; ev = nx) {
        nx = strstr(ev, "\n\n");
        if (!nx) { *ok = 0; break; } /* every event ends with a blank line */
        *nx = 0, nx += 2;
        if (strncmp(ev, "data: ", 6)) { *ok = 0; continue; }
        if (saw_done) *ok = 0; /* nothing after [DONE] */
        if (!strcmp(ev + 6, "[DONE]")) { saw_done = 1; continue; }
        (*n_events)++;
        cJSON *j = cJSON_Parse(ev + 6);
        if (!j) { *ok = 0; continue; }
        const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "text");
        if (!t) t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "delta"), "content");
        if (cJSON_IsString(t)) strcat(text, t->valuestring);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
        if (cJSON_IsString(f)) snprintf(finish, 16, "%s", f->valuestring);
        cJSON_Delete(j);
    }
    if (!saw_done) *ok = 0;
    free(o);
    return text;
}

static srv S; /* the shared server: --slots 8 */

static char *greedy_ref; /* the single-client greedy answer */
static const char *GREEDY = "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0}";

static void test_start(void) {
    if (!MODEL) T_SKIP("../shared/models/stories260K.gguf is missing");
    if (!have_curl) T_SKIP("curl is not installed (Debian: curl)");
    T_CHECK(start(&S, MODEL, "--slots 8 -c 512") == 0, "the server did not start (log %s)", S.log);
    char *o;
    T_CHECK(http(&S, "GET", "/health", NULL, NULL, &o) == 200 && strstr(o, "\"ok\""), "/health: %s", o);
    free(o);
    T_CHECK(http(&S, "GET", "/v1/models", NULL, NULL, &o) == 200 && strstr(o, "\"stories260K.gguf\"") &&
                strstr(o, "\"object\":\"list\""), "/v1/models: %s", o);
    free(o);
}

#define NEED_SERVER() do { if (!S.port) T_SKIP("no server (see test_start)"); } while (0)

static void test_completion_matches_cli(void) {
    NEED_SERVER();
    int st;
    cJSON *j = post_json(&S, "/v1/completions", GREEDY, &st);
    T_CHECK(st == 200, "status %d", st);
    T_CHECK(str_at(j, "object", NULL) && !strcmp(str_at(j, "object", NULL), "text_completion"), "object");
    const char *fin = str_at(j, NULL, "finish_reason");
    T_CHECK(fin && !strcmp(fin, "length"), "finish_reason %s", fin ? fin : "(none)");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    int pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens") ? cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens")->valueint : -1;
    int ct = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens") ? cJSON_GetObjectItemCaseSensitive(u, "completion_tokens")->valueint : -1;
    T_CHECK(pt == 5 && ct == 48, "usage: prompt %d (BOS + 4) completion %d (48)", pt, ct);
    greedy_ref = strdup(str_at(j, NULL, "text") ? str_at(j, NULL, "text") : "");
    cJSON_Delete(j);
    /* the same greedy run through `tick run` (a different code path: one
     * session, tk_prefill/tk_decode) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run -m %s -p 'Once upon a time' -n 48 --temp 0 -c 512 2>/dev/null", t_tick(), MODEL);
    char *cli = t_run_cmd(cmd, &st);
    if (cli && strlen(cli) && cli[strlen(cli) - 1] == '\n') cli[strlen(cli) - 1] = 0;
    T_CHECK(cli && !strncmp(cli, "Once upon a time", 16) && !strcmp(cli + 16, greedy_ref), "server '%s' vs tick run '%s'",
            greedy_ref, cli ? cli : "");
    free(cli);
}

static void test_stream(void) {
    NEED_SERVER();
    char fin[16];
    int n, ok;
    char *t = stream_text(&S, "/v1/completions",
                          "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0,\"stream\":true}", fin, &n, &ok);
    T_CHECK(ok, "SSE framing (data: ...\\n\\n, ends with data: [DONE])");
    T_CHECK(greedy_ref && !strcmp(t, greedy_ref), "streamed '%s' vs not '%s'", t, greedy_ref ? greedy_ref : "");
    T_CHECK(!strcmp(fin, "length") && n >= 2, "finish %s, %d events", fin, n);
    free(t);
    /* chat: a role chunk first, a usage chunk with include_usage */
    char *o;
    int st = http(&S, "POST", "/v1/chat/completions",
                  "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":8,\"stream\":true,"
                  "\"stream_options\":{\"include_usage\":true},\"seed\":1}", NULL, &o);
    T_CHECK(st == 200, "chat stream status %d", st);
    T_CHECK(strstr(o, "\"object\":\"chat.completion.chunk\"") && strstr(o, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}"),
            "first chat chunk: %.300s", o);
    T_CHECK(strstr(o, "\"completion_tokens\":8") && strstr(o, "\"choices\":[],\"usage\""), "usage chunk: %.2000s", o);
    const char *end = o + strlen(o);
    T_CHECK(strlen(o) > 14 && !strcmp(end - 14, "data: [DONE]\n\n"), "ends with [DONE]");
    free(o);
}

static void test_chat(void) {
    NEED_SERVER();
    int st;
    cJSON *j = post_json(&S, "/v1/chat/completions",
                         "{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                         "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Tell me a story\"}]}],"
                         "\"max_tokens\":16,\"temperature\":0,\"user\":\"u1\"}", &st);
    T_CHECK(st == 200, "status %d", st);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0), "message");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role"), *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    T_CHECK(cJSON_IsString(role) && !strcmp(role->valuestring, "assistant"), "role");
    T_CHECK(cJSON_IsString(content) && content->valuestring[0], "content is empty");
    T_CHECK(!strcmp(str_at(j, "object", NULL) ? str_at(j, "object", NULL) : "", "chat.completion"), "object");
    cJSON_Delete(j);
}

static int usage_prompt(cJSON *j) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "usage"), "prompt_tokens");
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

static int n_tokens(const srv *s, const char *json_text) {
    char body[1024], *o;
    snprintf(body, sizeof body, "{\"content\":%s,\"add_special\":true}", json_text);
    http(s, "POST", "/tokenize", body, NULL, &o);
    cJSON *j = cJSON_Parse(o);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "tokens"));
    cJSON_Delete(j);
    free(o);
    return n;
}

/* The prompt a chat becomes: stories260K has no template, so ChatML (the
 * fallback); with --chat-template FILE, that template. */
static void test_chat_template(void) {
    NEED_SERVER();
    int st;
    const char *req = "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}";
    cJSON *j = post_json(&S, "/v1/chat/completions", req, &st);
    int want = n_tokens(&S, "\"<|im_start|>system\\nS<|im_end|>\\n<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n\"");
    T_CHECK(st == 200 && usage_prompt(j) == want && want > 10, "ChatML prompt: %d tokens, want %d", usage_prompt(j), want);
    cJSON_Delete(j);
    char path[512];
    snprintf(path, sizeof path, "%s/tmpl.jinja", t_tmpdir());
    const char *tmpl = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";
    t_write(path, tmpl, strlen(tmpl));
    char extra[600];
    snprintf(extra, sizeof extra, "--slots 1 -c 256 --chat-template %s", path);
    srv t;
    T_CHECK(start(&t, MODEL, extra) == 0, "start with --chat-template");
    j = post_json(&t, "/v1/chat/completions", req, &st);
    want = n_tokens(&t, "\"[system] S [user] Hi [assistant]\"");
    T_CHECK(st == 200 && usage_prompt(j) == want, "--chat-template prompt: %d tokens, want %d", usage_prompt(j), want);
    cJSON_Delete(j);
    T_CHECK(stop(&t) == 0, "exit status");
}

/* A stop string that spans tokens: the text ends right before it. */
static void test_stop(void) {
    NEED_SERVER();
    if (!greedy_ref) T_SKIP("no reference text");
    const char *at = strstr(greedy_ref, "irl n"); /* " g","ir","l"," named" in stories260K's vocabulary */
    if (!at) T_SKIP("the greedy text has no 'irl n': '%s'", greedy_ref);
    size_t want = (size_t)(at - greedy_ref);
    int st;
    char *t = completion_text(&S, "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0,\"stop\":[\"zzz\",\"irl n\"]}", &st);
    T_CHECK(strlen(t) == want && !strncmp(t, greedy_ref, want), "stopped text '%s'", t);
    free(t);
    char fin[16];
    int n, ok;
    t = stream_text(&S, "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0,\"stop\":\"irl n\",\"stream\":true}", fin, &n, &ok);
    T_CHECK(ok && strlen(t) == want && !strncmp(t, greedy_ref, want) && !strcmp(fin, "stop"),
            "streamed stopped text '%s' finish %s", t, fin);
    free(t);
}

static void test_logprobs(void) {
    NEED_SERVER();
    int st;
    cJSON *j = post_json(&S, "/v1/chat/completions",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":6,\"temperature\":0,"
                         "\"logprobs\":true,\"top_logprobs\":3}", &st);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0), "logprobs"), "content");
    T_CHECK(st == 200 && cJSON_GetArraySize(c) == 6, "6 logprob entries, got %d", cJSON_GetArraySize(c));
    const cJSON *e;
    cJSON_ArrayForEach(e, c) {
        double lp = cJSON_GetObjectItemCaseSensitive(e, "logprob")->valuedouble;
        const cJSON *tops = cJSON_GetObjectItemCaseSensitive(e, "top_logprobs");
        T_CHECK(cJSON_GetArraySize(tops) == 3, "3 alternatives");
        double prev = 0, sum = 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, tops) {
            double x = cJSON_GetObjectItemCaseSensitive(a, "logprob")->valuedouble;
            T_CHECK(x <= prev + 1e-6, "alternatives sorted");
            prev = x, sum += exp(x);
        }
        T_CHECK(sum <= 1.0 + 1e-4, "probabilities sum to %g", sum);
        /* greedy: the chosen token is the most likely one */
        double top = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tops, 0), "logprob")->valuedouble;
        T_CHECK(fabs(lp - top) < 1e-5 && lp <= 0, "chosen %g vs best %g", lp, top);
    }
    cJSON_Delete(j);
    /* completions: the legacy shape */
    j = post_json(&S, "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4,\"logprobs\":2,\"temperature\":0}", &st);
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0), "logprobs");
    T_CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(lp, "tokens")) == 4 &&
                cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(lp, "token_logprobs")) == 4 &&
                cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(lp, "text_offset")) == 4,
            "completions logprobs shape");
    cJSON_Delete(j);
}

static void test_seed_and_penalties(void) {
    NEED_SERVER();
    int st;
    const char *a = "{\"prompt\":\"Once upon a time\",\"max_tokens\":32,\"temperature\":1,\"seed\":42}";
    char *x = completion_text(&S, a, &st), *y = completion_text(&S, a, &st);
    char *z = completion_text(&S, "{\"prompt\":\"Once upon a time\",\"max_tokens\":32,\"temperature\":1,\"seed\":43}", &st);
    T_CHECK(x[0] && !strcmp(x, y), "same seed, different text: '%s' vs '%s'", x, y);
    T_CHECK(strcmp(x, z), "seeds 42 and 43 gave the same 32 tokens");
    free(x), free(y), free(z);
    /* a strong frequency penalty changes the greedy answer (which repeats tokens) */
    x = completion_text(&S, "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0,\"frequency_penalty\":2}", &st);
    T_CHECK(st == 200 && greedy_ref && strcmp(x, greedy_ref), "frequency_penalty had no effect");
    free(x);
}

static void test_tokenize(void) {
    NEED_SERVER();
    char *o, cmd[1024];
    int st = http(&S, "POST", "/tokenize", "{\"content\":\"Hello world\"}", NULL, &o);
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s -p 'Hello world' --no-bos", t_tick(), MODEL);
    int cst;
    char *cli = t_run_cmd(cmd, &cst);
    /* "1 2 3\n" vs {"tokens":[1,2,3]} */
    char want[512] = "{\"tokens\":[";
    size_t wl = strlen(want);
    for (char *p = cli; p && *p && *p != '\n' && wl < sizeof want - 3; p++) want[wl++] = *p == ' ' ? ',' : *p;
    want[wl] = 0;
    strcat(want, "]}");
    T_CHECK(st == 200 && !strcmp(o, want), "/tokenize %s vs tick tokenize %s", o, want);
    free(o), free(cli);
    st = http(&S, "POST", "/tokenize", "{\"content\":\"Hello\",\"with_pieces\":true,\"add_special\":true}", NULL, &o);
    T_CHECK(st == 200 && strstr(o, "{\"id\":1,\"piece\":\"\"}") && strstr(o, "\"piece\":\" He"), "with pieces: %s", o);
    free(o);
    st = http(&S, "POST", "/detokenize", "{\"tokens\":[346,306,414,263,304,341]}", NULL, &o);
    T_CHECK(st == 200 && !strcmp(o, "{\"content\":\" Hello world\"}"), "/detokenize: %s", o);
    free(o);
    st = http(&S, "POST", "/detokenize", "{\"tokens\":[-1]}", NULL, &o);
    T_CHECK(st == 400, "bad id: %d", st);
    free(o);
}

static void test_embeddings(void) {
    NEED_SERVER();
    char *o;
    int st = http(&S, "POST", "/v1/embeddings", "{\"input\":[\"a cat\",\"a dog\"],\"model\":\"m\"}", NULL, &o);
    if (st == 501) { free(o); T_SKIP("embeddings not in this build (needs branch batch's tk_embed)"); }
    cJSON *j = cJSON_Parse(o);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    T_CHECK(st == 200 && cJSON_GetArraySize(d) == 2, "status %d: %.200s", st, o);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(d, 0), "embedding"), *v;
    double n2 = 0;
    cJSON_ArrayForEach(v, e) n2 += v->valuedouble * v->valuedouble;
    T_CHECK(cJSON_GetArraySize(e) == 64 && fabs(n2 - 1) < 1e-3, "n_embd 64, |v|^2 = %g", n2);
    cJSON_Delete(j);
    free(o);
}

static void test_metrics(void) {
    NEED_SERVER();
    char *o;
    int st = http(&S, "GET", "/metrics", NULL, NULL, &o);
    T_CHECK(st == 200, "status %d", st);
    const char *names[] = {"tick_requests_total{code=\"2xx\"}", "tick_prompt_tokens_total ", "tick_generated_tokens_total ",
                           "tick_queue_depth 0", "tick_kv_cache_used_cells ", "tick_tick_seconds_bucket{le=\"+Inf\"} ",
                           "tick_tick_seconds_count ", "tick_slots 8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) T_CHECK(strstr(o, names[i]), "no %s in /metrics", names[i]);
    free(o);
}

/* The official OpenAI Node client (npm `openai`, outside the repo:
 * $TICK_OPENAI_NODE_MODULES, default /tmp/oai/node_modules). */
static void test_openai_client(void) {
    NEED_SERVER();
    const char *nm = getenv("TICK_OPENAI_NODE_MODULES") ? getenv("TICK_OPENAI_NODE_MODULES") : "/tmp/oai/node_modules";
    char cmd[1024], path[600];
    snprintf(path, sizeof path, "%s/openai/package.json", nm);
    int st;
    char *v = t_run_cmd("node --version", &st);
    free(v);
    if (st != 0) T_SKIP("no node (the OpenAI client test needs node and the npm package openai)");
    if (access(path, R_OK)) T_SKIP("no npm package openai in %s (npm install --prefix /tmp/oai openai@4; CI has no npm registry)", nm);
    snprintf(cmd, sizeof cmd, "NODE_PATH=%s timeout 120 node tests/serve/openai_client.cjs http://127.0.0.1:%d/v1", nm, S.port);
    char *o = t_run_cmd(cmd, &st);
    int oks = 0;
    for (char *p = o; p && (p = strstr(p, "ok ")); p += 3) oks++;
    T_CHECK(st == 0 && !strstr(o, "fail ") && oks == 6, "openai client:\n%s", o);
    free(o);
}

static void test_errors(void) {
    NEED_SERVER();
    struct { const char *path, *body; int want; } cases[] = {
        {"/v1/completions", "{", 400},
        {"/v1/completions", "[1,2]", 400},
        {"/v1/completions", "{}", 400},
        {"/v1/completions", "{\"prompt\":[\"a\",\"b\"]}", 400},
        {"/v1/completions", "{\"prompt\":[99999999]}", 400},
        {"/v1/completions", "{\"prompt\":\"x\",\"n\":2}", 400},
        {"/v1/completions", "{\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400},
        {"/v1/completions", "{\"prompt\":\"x\",\"stream\":\"yes\"}", 400},
        {"/v1/chat/completions", "{\"messages\":[]}", 400},
        {"/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", 400},
        {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":3}", 400},
        {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":21,\"logprobs\":true}", 400},
        {"/tokenize", "{\"content\":5}", 400},
        {"/v1/embeddings", "{}", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *o;
        int st = http(&S, "POST", cases[i].path, cases[i].body, NULL, &o);
        cJSON *j = cJSON_Parse(o);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        T_CHECK(st == cases[i].want && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")) &&
                    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "type")),
                "%s %s: %d %s", cases[i].path, cases[i].body, st, o);
        cJSON_Delete(j);
        free(o);
    }
    /* every numeric field: negative, huge, wrong type */
    const char *fields[] = {"max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "presence_penalty",
                            "frequency_penalty", "n", "logprobs"};
    const char *vals[] = {"-1", "-2.5", "1e300", "-1e300", "\"1\"", "1e999", "99999999999999999999", "[1]", "{}"};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            if (strstr(fields[f], "penalty") && !strcmp(vals[v], "-1")) continue; /* valid: [-2, 2] */
            if (!strcmp(fields[f], "seed") && !strcmp(vals[v], "-1")) continue; /* a valid seed */
            char body[256];
            snprintf(body, sizeof body, "{\"prompt\":\"x\",\"max_tokens\":2,\"%s\":%s}", fields[f], vals[v]);
            if (!strcmp(fields[f], "max_tokens")) snprintf(body, sizeof body, "{\"prompt\":\"x\",\"max_tokens\":%s}", vals[v]);
            int st = http(&S, "POST", "/v1/completions", body, NULL, NULL);
            T_CHECK(st == 400, "%s: %d", body, st);
        }
    char *o;
    T_CHECK(http(&S, "GET", "/nope", NULL, NULL, &o) == 404 && strstr(o, "\"error\""), "404: %s", o);
    free(o);
    T_CHECK(http(&S, "DELETE", "/v1/models", NULL, NULL, &o) == 405 && strstr(o, "\"error\""), "405: %s", o);
    free(o);
    T_CHECK(http(&S, "GET", "/v1/completions", NULL, NULL, NULL) == 405, "GET on a POST endpoint");
    /* a prompt longer than the context (512) */
    char big[8192] = "{\"prompt\":\"";
    for (int i = 0; i < 700; i++) strcat(big, " cat");
    strcat(big, "\"}");
    T_CHECK(http(&S, "POST", "/v1/completions", big, NULL, &o) == 400 && strstr(o, "context"), "long prompt: %.200s", o);
    free(o);
}

/* One raw request over a socket (for bodies curl would not send). */
static int raw(int port, const void *req, size_t n, char *resp, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, (const char *)req + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = recv(fd, resp + got, cap - 1 - got, 0)) > 0) got += (size_t)r;
    resp[got] = 0;
    close(fd);
    return (int)got;
}

static void test_hostile(void) {
    NEED_SERVER();
    char resp[4096], *o;
    /* 10 MB body: 413 (refused from Content-Length, before reading it) */
    size_t big = 10u << 20;
    char *b = malloc(big + 256);
    int h = snprintf(b, 256, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n", big);
    memset(b + h, 'a', big);
    raw(S.port, b, (size_t)h + big, resp, sizeof resp);
    T_CHECK(!strncmp(resp, "HTTP/1.1 413", 12), "10 MB body: %.60s", resp);
    /* the same without Content-Length (chunked): counted while read */
    h = snprintf(b, 256, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    size_t w = (size_t)h;
    for (int i = 0; i < 10; i++) {
        w += (size_t)sprintf(b + w, "100000\r\n");
        memset(b + w, 'a', 0x100000), w += 0x100000;
        memcpy(b + w, "\r\n", 2), w += 2;
        if (w + 0x100010 > big + 256) break;
    }
    raw(S.port, b, w, resp, sizeof resp);
    T_CHECK(!strncmp(resp, "HTTP/1.1 413", 12) || resp[0] == 0, "chunked 8+ MB body: %.60s", resp);
    free(b);
    /* invalid UTF-8 in a prompt, a stop string, a message */
    const char *bad[] = {"{\"prompt\":\"a\xff\xfe b\"}", "{\"prompt\":\"a\",\"stop\":\"\xc0\xaf\"}",
                         "{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}"};
    for (int i = 0; i < 3; i++) {
        int st = http(&S, "POST", i == 2 ? "/v1/chat/completions" : "/v1/completions", bad[i], NULL, &o);
        T_CHECK(st == 400 && strstr(o, "UTF-8"), "invalid UTF-8 %d: %d %s", i, st, o);
        free(o);
    }
    /* deeply nested JSON (200000 levels): 400, no stack overflow */
    size_t depth = 200000;
    char *nest = malloc(2 * depth + 32);
    strcpy(nest, "{\"prompt\":");
    size_t p = strlen(nest);
    memset(nest + p, '[', depth), memset(nest + p + depth, ']', depth);
    strcpy(nest + p + 2 * depth, "}");
    int st = http(&S, "POST", "/v1/completions", nest, NULL, &o);
    T_CHECK(st == 400, "deep nesting: %d", st);
    free(o), free(nest);
    /* slowloris: 40 connections that send half a header, a byte at a time */
    int fds[40];
    for (int i = 0; i < 40; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)S.port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) == 0) send(fds[i], "POST /v1/completions HTTP/1.1\r\nHo", 33, MSG_NOSIGNAL);
    }
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 40; i++) send(fds[i], "s", 1, MSG_NOSIGNAL);
        st = http(&S, "GET", "/health", NULL, NULL, NULL);
        T_CHECK(st == 200, "health while 40 slow clients hang on: %d", st);
        msleep(100);
    }
    char *t = completion_text(&S, GREEDY, &st);
    T_CHECK(st == 200 && greedy_ref && !strcmp(t, greedy_ref), "a completion while slow clients hang on");
    free(t);
    for (int i = 0; i < 40; i++) close(fds[i]);
    /* garbage instead of HTTP */
    raw(S.port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 22, resp, sizeof resp);
    T_CHECK(http(&S, "GET", "/health", NULL, NULL, NULL) == 200, "alive after garbage");
}

/* 16 clients at once against 8 slots: every answer the single-client one. */
static void concurrent_round(int n_clients, const char *body, const char *want, int *fails) {
    char cmd[4096];
    int w = snprintf(cmd, sizeof cmd, "cd %s && for i in $(seq %d); do curl -s -m 120 -o conc$i.json "
                     "-H 'Content-Type: application/json' -d '%s' http://127.0.0.1:%d/v1/completions & done; wait",
                     t_tmpdir(), n_clients, body, S.port);
    (void)w;
    int st;
    free(t_run_cmd(cmd, &st));
    for (int i = 1; i <= n_clients; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/conc%d.json", t_tmpdir(), i);
        char *o = t_read(path, NULL);
        cJSON *j = cJSON_Parse(o ? o : "");
        const char *t = str_at(j, NULL, "text");
        if (!t || strcmp(t, want)) {
            (*fails)++;
            printf("  client %d: '%.80s' vs '%.80s'\n", i, t ? t : (o ? o : "(no answer)"), want);
        }
        cJSON_Delete(j);
        free(o);
        unlink(path);
    }
}

static long rss_kb(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static void test_concurrent(void) {
    NEED_SERVER();
    if (!greedy_ref) T_SKIP("no reference text");
    int st;
    const char *seeded = "{\"prompt\":\"Once upon a time\",\"max_tokens\":48,\"temperature\":0.9,\"seed\":7}";
    char *seed_ref = completion_text(&S, seeded, &st);
    int fails = 0, rounds = 2;
    concurrent_round(16, GREEDY, greedy_ref, &fails);
    concurrent_round(16, seeded, seed_ref, &fails);
    long r0 = rss_kb(S.pid);
    /* a few seconds more here; TICK_SERVE_LOAD_SECONDS=60 for the long run
     * (tests/serve/load.sh) */
    const char *env = getenv("TICK_SERVE_LOAD_SECONDS");
    double secs = env ? atof(env) : 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0;; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (secs > 0 ? el >= secs : i >= 4) break;
        concurrent_round(16, i % 2 ? seeded : GREEDY, i % 2 ? seed_ref : greedy_ref, &fails);
        rounds++;
    }
    long r1 = rss_kb(S.pid);
    printf("  %d rounds of 16 concurrent clients, %d answers differ; RSS %ld -> %ld kB\n", rounds, fails, r0, r1);
    T_CHECK(fails == 0, "%d of %d concurrent answers differ from the single-client ones", fails, 16 * rounds);
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifdef T_ASAN
    printf("  RSS not checked: AddressSanitizer keeps freed memory in quarantine\n");
#else
    T_CHECK(r0 > 0 && r1 - r0 < 4096, "RSS grew from %ld to %ld kB after warm-up", r0, r1);
#endif
    free(seed_ref);
}

/* A streaming client that hangs up frees its slot. */
static void test_disconnect(void) {
    NEED_SERVER();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "curl -s -N -m 0.5 -d '{\"prompt\":\"Once\",\"max_tokens\":500,\"stream\":true,\"temperature\":1}' "
             "http://127.0.0.1:%d/v1/completions >/dev/null; curl -s -m 0.3 -d '{\"prompt\":\"Once\",\"max_tokens\":500,\"temperature\":1}' "
             "http://127.0.0.1:%d/v1/completions >/dev/null", S.port, S.port);
    int st;
    free(t_run_cmd(cmd, &st));
    int busy = -1;
    for (int i = 0; i < 40 && busy != 0; i++) {
        char *o;
        http(&S, "GET", "/metrics", NULL, NULL, &o);
        const char *p = strstr(o, "\ntick_slots_busy ");
        busy = p ? atoi(p + 17) : -1;
        free(o);
        if (busy) msleep(50);
    }
    T_CHECK(busy == 0, "slots still busy after the clients hung up: %d", busy);
}

/* A prompt that extends an earlier one reuses its KV (prompt cache). */
static void test_prompt_cache(void) {
    NEED_SERVER();
    int st;
    const char *p1 = "{\"prompt\":\"Lily and Ben went to the park to play with a big red ball.\",\"max_tokens\":4,\"temperature\":0}";
    const char *p2 = "{\"prompt\":\"Lily and Ben went to the park to play with a big red ball. They\",\"max_tokens\":4,\"temperature\":0}";
    cJSON *j = post_json(&S, "/v1/completions", p1, &st);
    cJSON_Delete(j);
    j = post_json(&S, "/v1/completions", p2, &st);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details"), "cached_tokens");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    T_CHECK(st == 200 && c && pt && c->valueint >= 10 && c->valueint < pt->valueint, "cached %d of %d prompt tokens",
            c ? c->valueint : -1, pt ? pt->valueint : -1);
    /* and the answer is the uncached one */
    char *a = completion_text(&S, p2, &st);
    srv fresh;
    if (start(&fresh, MODEL, "--slots 1 -c 512") == 0) {
        char *b = completion_text(&fresh, p2, &st);
        T_CHECK(!strcmp(a, b), "cached '%s' vs fresh '%s'", a, b);
        free(b);
        stop(&fresh);
    }
    free(a);
    cJSON_Delete(j);
}

static void test_api_key(void) {
    if (!MODEL || !have_curl) T_SKIP("no model or no curl");
    srv k;
    T_CHECK(start(&k, MODEL, "--api-key s3cret --slots 1") == 0, "start");
    char *o;
    T_CHECK(http(&k, "GET", "/v1/models", NULL, NULL, &o) == 401 && strstr(o, "invalid_api_key"), "no key: %s", o);
    free(o);
    T_CHECK(http(&k, "GET", "/v1/models", NULL, "-H 'Authorization: Bearer wrong'", NULL) == 401, "wrong key");
    T_CHECK(http(&k, "GET", "/v1/models", NULL, "-H 'Authorization: Bearer s3cret'", NULL) == 200, "right key");
    T_CHECK(http(&k, "POST", "/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":2}", "-H 'Authorization: Bearer s3cret'", NULL) == 200,
            "right key, completion");
    T_CHECK(http(&k, "POST", "/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":2}", NULL, NULL) == 401, "no key, completion");
    T_CHECK(http(&k, "GET", "/health", NULL, NULL, NULL) == 200, "health needs no key");
    T_CHECK(stop(&k) == 0, "exit status");
}

/* 429 when the queue is full: 1 slot, a queue of 1, eight long requests at once. */
static void test_queue_full(void) {
    if (!MODEL || !have_curl) T_SKIP("no model or no curl");
    srv q;
    T_CHECK(start(&q, MODEL, "--slots 1 --queue 1 -c 512") == 0, "start");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null -w '%%{http_code}\\n' -d '{\"prompt\":\"Once\",\"max_tokens\":500,\"temperature\":1}' "
             "http://127.0.0.1:%d/v1/completions & done; wait", q.port);
    int st;
    char *o = t_run_cmd(cmd, &st);
    int n429 = 0, n200 = 0;
    for (char *p = o; p && *p; p++)
        if (!strncmp(p, "429", 3)) n429++;
        else if (!strncmp(p, "200", 3)) n200++;
    T_CHECK(n429 >= 1 && n200 >= 1 && n429 + n200 == 8, "statuses: %s", o);
    free(o);
    T_CHECK(stop(&q) == 0, "exit status");
}

/* 503 while the model loads: a FIFO as the model file blocks the load. */
static void test_loading(void) {
    if (!MODEL || !have_curl) T_SKIP("no model or no curl");
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/model.fifo", t_tmpdir());
    unlink(fifo);
    if (mkfifo(fifo, 0600)) T_SKIP("cannot make a FIFO");
    srv l;
    T_CHECK(start(&l, fifo, "") == 0 || l.port, "start");
    if (l.port) {
        char *o;
        T_CHECK(http(&l, "GET", "/health", NULL, NULL, &o) == 503 && strstr(o, "loading"), "/health while loading: %s", o);
        free(o);
        T_CHECK(http(&l, "POST", "/v1/completions", "{\"prompt\":\"a\"}", NULL, NULL) == 503, "completion while loading");
    }
    kill(l.pid, SIGKILL);
    waitpid(l.pid, NULL, 0);
    unlink(fifo);
}

static void test_page_in_browser(void) {
    NEED_SERVER();
    char *o;
    int st = http(&S, "GET", "/", NULL, NULL, &o);
    T_CHECK(st == 200 && strstr(o, "<html") && !strstr(o, "src=\"http") && !strstr(o, "href=\"http"), "the page is self-contained");
    free(o);
    const char *chromium = access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : NULL;
    if (!chromium) T_SKIP("no /usr/bin/chromium (Debian: chromium)");
    /* A real browser, in real time: load the page, type into the box, click
     * Send, wait for the stream to end (the page sets its title), then read
     * the answer and take a screenshot. */
    char prof[512], url[256], err[512], png[512];
    snprintf(prof, sizeof prof, "%s/chromium", t_tmpdir());
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?max_tokens=40", S.port);
    snprintf(png, sizeof png, "%s/page.png", t_tmpdir());
    t_cdp *b = t_cdp_open(chromium, prof, url, err, sizeof err);
    T_CHECK(b, "chromium: %s", err);
    if (!b) return;
    char *v = NULL;
    for (double end = mono_s() + 60; mono_s() < end;) { /* the page and its model name loaded */
        free(v);
        v = t_cdp_eval(b, "document.readyState+' '+document.getElementById('model').textContent", 10);
        if (v && !strncmp(v, "complete ", 9) && v[9]) break;
        msleep(100);
    }
    T_CHECK(v && !strncmp(v, "complete ", 9) && v[9], "page not loaded: %s", v ? v : "(no answer)");
    free(v);
    free(t_cdp_eval(b, "document.getElementById('q').focus()", 10));
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "text", "Once upon a time");
    cJSON_Delete(t_cdp_call(b, "Input.insertText", p, 10, err, sizeof err));
    v = t_cdp_eval(b, "(r=>(r.x+r.width/2)+' '+(r.y+r.height/2))(document.getElementById('send').getBoundingClientRect())", 10);
    double x = -1, y = -1;
    T_CHECK(v && sscanf(v, "%lf %lf", &x, &y) == 2 && x > 0 && y > 0, "send button at %s", v ? v : "?");
    free(v);
    T_CHECK(t_cdp_click(b, x, y) == 0, "click");
    char *title = NULL;
    for (double end = mono_s() + 120; mono_s() < end;) { /* real seconds: slow under sanitizers */
        free(title);
        title = t_cdp_eval(b, "document.title", 10);
        if (title && strncmp(title, "tick: ", 6) == 0) break;
        msleep(100);
    }
    T_CHECK(title && !strcmp(title, "tick: done"), "title '%s' (the page sets 'tick: done' when the stream ends)",
            title ? title : "(no answer)");
    free(title);
    char *user = t_cdp_eval(b, "document.querySelector('.msg.user').textContent", 10);
    char *ans = t_cdp_eval(b, "document.querySelector('.msg.assistant[data-done=\"1\"]').firstChild.textContent", 10);
    char *stat = t_cdp_eval(b, "document.querySelector('.msg.assistant .stat').textContent", 10);
    T_CHECK(user && !strcmp(user, "Once upon a time"), "the typed message: %s", user ? user : "(none)");
    T_CHECK(ans && *ans, "no streamed answer in the page");
    T_CHECK(stat && strstr(stat, " tok/s"), "no tok/s shown: %s", stat ? stat : "(none)");
    printf("  browser: typed, clicked Send; answer %zu chars; %s\n", ans ? strlen(ans) : 0, stat ? stat : "");
    free(user);
    free(ans);
    free(stat);
    T_CHECK(t_cdp_screenshot(b, png, err, sizeof err) == 0, "screenshot: %s", err);
    t_cdp_close(b);
    size_t n = 0;
    char *img = t_read(png, &n);
    T_CHECK(img && n > 1000 && !memcmp(img, "\x89PNG", 4), "screenshot %s", png);
    free(img);
    if (getenv("TICK_SERVE_SCREENSHOT")) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "cp %s %s", png, getenv("TICK_SERVE_SCREENSHOT"));
        free(t_run_cmd(cmd, &st));
    }
}

/* SIGTERM with a stream in flight: it finishes, exit status 0. */
static void test_shutdown(void) {
    NEED_SERVER();
    char cmd[1024], out[512];
    snprintf(out, sizeof out, "%s/inflight.txt", t_tmpdir());
    snprintf(cmd, sizeof cmd, "curl -s -N -m 60 -o %s -d '{\"prompt\":\"Once\",\"max_tokens\":300,\"stream\":true,\"temperature\":1}' "
             "http://127.0.0.1:%d/v1/completions &", out, S.port);
    int st;
    free(t_run_cmd(cmd, &st));
    msleep(150);
    int rc = stop(&S);
    T_CHECK(rc == 0, "exit status %d", rc);
    msleep(200);
    char *o = t_read(out, NULL);
    T_CHECK(o && strstr(o, "\"finish_reason\":\"length\"") && strstr(o, "data: [DONE]"), "in-flight stream: %.200s", o ? o : "");
    free(o);
    S.port = 0;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0) port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static long metric(const srv *s, const char *name) {
    char *o;
    if (http(s, "GET", "/metrics", NULL, NULL, &o) != 200) { free(o); return -1; }
    const char *p = strstr(o, name);
    long v = p ? atol(p + strlen(name)) : -1;
    free(o);
    return v;
}

/* docs/deploy.md's setup: two replicas behind nginx (least_conn, passive
 * health checks): requests spread over both and survive one being killed. */
static void test_nginx(void) {
    if (!MODEL || !have_curl) T_SKIP("no model or no curl");
    const char *ng = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : NULL;
    if (!ng) T_SKIP("no /usr/sbin/nginx (Debian: nginx)");
    srv a, b, front;
    T_CHECK(start(&a, MODEL, "--slots 2 -c 256") == 0 && start(&b, MODEL, "--slots 2 -c 256") == 0, "replicas");
    char dir[256], conf[8192], path[300];
    snprintf(dir, sizeof dir, "%s/nginx", t_tmpdir());
    mkdir(dir, 0755);
    front.port = free_port();
    snprintf(conf, sizeof conf,
             "daemon off; worker_processes 1; pid %s/nginx.pid; error_log %s/error.log;\n"
             "events { worker_connections 256; }\n"
             "http {\n access_log off;\n"
             " client_body_temp_path %s/body; proxy_temp_path %s/proxy; fastcgi_temp_path %s/fcgi;\n"
             " uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
             " upstream tick { least_conn;\n"
             "  server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n"
             "  server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n  keepalive 16; }\n"
             " server { listen 127.0.0.1:%d;\n"
             "  location / { proxy_pass http://tick; proxy_http_version 1.1; proxy_set_header Connection \"\";\n"
             "   proxy_buffering off; proxy_read_timeout 600s; client_max_body_size 1m;\n"
             "   proxy_next_upstream error timeout http_502 http_503; } } }\n",
             dir, dir, dir, dir, dir, dir, dir, a.port, b.port, front.port);
    snprintf(path, sizeof path, "%s/nginx.conf", dir);
    t_write(path, conf, strlen(conf));
    pid_t ngx = fork();
    if (ngx == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1), dup2(fd, 2);
        execl(ng, "nginx", "-p", dir, "-c", path, (char *)NULL);
        _exit(127);
    }
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        msleep(50);
        up = http(&front, "GET", "/health", NULL, NULL, NULL) == 200;
    }
    T_CHECK(up, "nginx did not come up (see %s/error.log)", dir);
    long a0 = metric(&a, "\ntick_generations_total "), b0 = metric(&b, "\ntick_generations_total ");
    /* 8 at once: least_conn puts them on both */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null -w '%%{http_code}\\n' "
             "-d '{\"prompt\":\"Once\",\"max_tokens\":64,\"temperature\":0}' http://127.0.0.1:%d/v1/completions & done; wait", front.port);
    int st;
    char *o = t_run_cmd(cmd, &st);
    int ok = 0;
    for (char *p = o; p && (p = strstr(p, "200")); p += 3) ok++;
    free(o);
    long a1 = metric(&a, "\ntick_generations_total "), b1 = metric(&b, "\ntick_generations_total ");
    T_CHECK(ok == 8 && a1 - a0 >= 1 && b1 - b0 >= 1, "%d of 8 ok; replica A took %ld, B %ld", ok, a1 - a0, b1 - b0);
    /* kill A: every request still answered (by B) */
    kill(a.pid, SIGKILL);
    waitpid(a.pid, NULL, 0);
    ok = 0;
    for (int i = 0; i < 6; i++) ok += http(&front, "POST", "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":4}", NULL, NULL) == 200;
    T_CHECK(ok == 6, "%d of 6 answered after replica A died", ok);
    kill(ngx, SIGTERM);
    waitpid(ngx, NULL, 0);
    T_CHECK(stop(&b) == 0, "replica B exit status");
}

int main(void) {
    MODEL = t_shared("models/stories260K.gguf", NULL);
    int st;
    char *v = t_run_cmd("curl --version", &st);
    have_curl = st == 0;
    free(v);
    T_RUN(test_start);
    T_RUN(test_completion_matches_cli);
    T_RUN(test_stream);
    T_RUN(test_chat);
    T_RUN(test_chat_template);
    T_RUN(test_stop);
    T_RUN(test_logprobs);
    T_RUN(test_seed_and_penalties);
    T_RUN(test_tokenize);
    T_RUN(test_embeddings);
    T_RUN(test_openai_client);
    T_RUN(test_errors);
    T_RUN(test_hostile);
    T_RUN(test_concurrent);
    T_RUN(test_disconnect);
    T_RUN(test_prompt_cache);
    T_RUN(test_metrics);
    T_RUN(test_page_in_browser);
    T_RUN(test_api_key);
    T_RUN(test_queue_full);
    T_RUN(test_loading);
    T_RUN(test_nginx);
    T_RUN(test_shutdown);
    if (S.port) stop(&S);
    return t_done();
}
