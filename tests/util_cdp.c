/* util_cdp.c: a minimal Chrome DevTools Protocol client over a pipe (see
 * util_cdp.h). */
#include "util_cdp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct t_cdp {
    pid_t pid;
    int to, from;          /* our ends: commands to the browser, replies from it */
    int next_id;
    char *session;         /* the attached page's session id */
    char *buf;             /* bytes read but not yet cut into messages */
    size_t len, cap;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The next whole message (parsed), waiting until deadline; NULL on
 * timeout, EOF or a message that is not JSON. */
static cJSON *next_message(t_cdp *c, double deadline) {
    for (;;) {
        char *end = c->len ? memchr(c->buf, 0, c->len) : NULL;
        if (end) {
            cJSON *m = cJSON_Parse(c->buf);
            size_t used = (size_t)(end - c->buf) + 1;
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            return m;
        }
        double left = deadline - now_s();
        if (left <= 0) return NULL;
        struct pollfd pf = {.fd = c->from, .events = POLLIN};
        int r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return NULL;
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 1 << 20;
            char *nb = realloc(c->buf, cap);
            if (!nb) return NULL;
            c->buf = nb;
            c->cap = cap;
        }
        ssize_t got = read(c->from, c->buf + c->len, c->cap - c->len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return NULL;
        c->len += (size_t)got;
    }
}

/* One command on the browser (session NULL) or the page; waits for the
 * reply with its id and returns the whole reply. */
static cJSON *command(t_cdp *c, const char *session, const char *method, cJSON *params, double timeout_s, char *err,
                      size_t errlen) {
    int id = ++c->next_id;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "id", id);
    cJSON_AddStringToObject(m, "method", method);
    if (session) cJSON_AddStringToObject(m, "sessionId", session);
    cJSON_AddItemToObject(m, "params", params ? params : cJSON_CreateObject());
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    int bad = !s || write_all(c->to, s, strlen(s) + 1); /* the NUL ends the message */
    free(s);
    if (bad) {
        snprintf(err, errlen, "%s: cannot write to the browser", method);
        return NULL;
    }
    double deadline = now_s() + timeout_s;
    for (;;) {
        cJSON *r = next_message(c, deadline);
        if (!r) {
            snprintf(err, errlen, "%s: no reply within %.0f s", method, timeout_s);
            return NULL;
        }
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsNumber(rid) && rid->valueint == id) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
            if (e) {
                const cJSON *em = cJSON_GetObjectItemCaseSensitive(e, "message");
                snprintf(err, errlen, "%s: %s", method, cJSON_IsString(em) ? em->valuestring : "error");
                cJSON_Delete(r);
                return NULL;
            }
            return r;
        }
        cJSON_Delete(r); /* an event, or a reply to something else */
    }
}

static cJSON *take_result(cJSON *reply) {
    if (!reply) return NULL;
    cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
    cJSON_Delete(reply);
    return res;
}

t_cdp *t_cdp_open(const char *chromium, const char *profile_dir, const char *url, char *err, size_t errlen) {
    int to[2], from[2];
    if (pipe(to)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return NULL;
    }
    if (pipe(from)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(to[0]), close(to[1]);
        return NULL;
    }
    char prof[600];
    snprintf(prof, sizeof prof, "--user-data-dir=%s", profile_dir);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(to[0]), close(to[1]), close(from[0]), close(from[1]);
        return NULL;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so close can end its helpers too */
        /* move the browser's ends above 4 first, then onto 3 and 4 */
        int r = fcntl(to[0], F_DUPFD, 10), w = fcntl(from[1], F_DUPFD, 10);
        if (r < 0 || w < 0 || dup2(r, 3) < 0 || dup2(w, 4) < 0) _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) dup2(null, 0), dup2(null, 1), dup2(null, 2);
        for (int fd = 5; fd < 1024; fd++) close(fd);
        setenv("HOME", profile_dir, 1);
        execl(chromium, chromium, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
              "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--window-size=900,700", prof,
              "about:blank", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    t_cdp *c = calloc(1, sizeof *c);
    c->pid = pid;
    c->to = to[1];
    c->from = from[0];
    signal(SIGPIPE, SIG_IGN); /* a browser that died is a write error, not our death */

    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "url", url);
    cJSON *r = take_result(command(c, NULL, "Target.createTarget", p, 60, err, errlen));
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(r, "targetId");
    if (!cJSON_IsString(tid)) {
        cJSON_Delete(r);
        t_cdp_close(c);
        return NULL;
    }
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "targetId", tid->valuestring);
    cJSON_AddTrueToObject(p, "flatten");
    cJSON_Delete(r);
    r = take_result(command(c, NULL, "Target.attachToTarget", p, 30, err, errlen));
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(r, "sessionId");
    if (!cJSON_IsString(sid)) {
        cJSON_Delete(r);
        t_cdp_close(c);
        return NULL;
    }
    c->session = strdup(sid->valuestring);
    cJSON_Delete(r);
    return c;
}

cJSON *t_cdp_call(t_cdp *c, const char *method, cJSON *params, double timeout_s, char *err, size_t errlen) {
    return take_result(command(c, c->session, method, params, timeout_s, err, errlen));
}

char *t_cdp_eval(t_cdp *c, const char *expr, double timeout_s) {
    char err[256];
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "expression", expr);
    cJSON_AddTrueToObject(p, "returnByValue");
    cJSON *r = t_cdp_call(c, "Runtime.evaluate", p, timeout_s, err, sizeof err);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "result"), "value");
    char *out = !v ? NULL : cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v);
    cJSON_Delete(r);
    return out;
}

int t_cdp_click(t_cdp *c, double x, double y) {
    static const char *const kinds[2] = {"mousePressed", "mouseReleased"};
    for (int i = 0; i < 2; i++) {
        char err[256];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", kinds[i]);
        cJSON_AddNumberToObject(p, "x", x);
        cJSON_AddNumberToObject(p, "y", y);
        cJSON_AddStringToObject(p, "button", "left");
        cJSON_AddNumberToObject(p, "clickCount", 1);
        cJSON *r = t_cdp_call(c, "Input.dispatchMouseEvent", p, 10, err, sizeof err);
        if (!r) return -1;
        cJSON_Delete(r);
    }
    return 0;
}

static int b64(int ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

int t_cdp_screenshot(t_cdp *c, const char *png_path, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "format", "png");
    cJSON *r = t_cdp_call(c, "Page.captureScreenshot", p, 60, err, errlen);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "data");
    if (!cJSON_IsString(d)) {
        cJSON_Delete(r);
        return -1;
    }
    size_t n = strlen(d->valuestring), o = 0;
    unsigned char *out = malloc(n / 4 * 3 + 3);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64((unsigned char)d->valuestring[i]);
        if (v < 0) continue; /* padding */
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) out[o++] = (unsigned char)(acc >> (bits -= 8));
    }
    cJSON_Delete(r);
    FILE *f = fopen(png_path, "wb");
    int bad = !f || fwrite(out, 1, o, f) != o;
    if (f && fclose(f)) bad = 1;
    free(out);
    if (bad) snprintf(err, errlen, "cannot write %s", png_path);
    return bad ? -1 : 0;
}

void t_cdp_close(t_cdp *c) {
    if (!c) return;
    char err[256];
    cJSON_Delete(command(c, NULL, "Browser.close", NULL, 5, err, sizeof err));
    close(c->to);
    close(c->from);
    int st, reaped = 0;
    double deadline = now_s() + 5;
    while (!(reaped = waitpid(c->pid, &st, WNOHANG) != 0) && now_s() < deadline) usleep(20000);
    kill(-c->pid, SIGKILL); /* the renderer and other helpers, if any linger */
    if (!reaped) waitpid(c->pid, &st, 0);
    free(c->session);
    free(c->buf);
    free(c);
}
