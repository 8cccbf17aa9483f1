/* serve.c: `tick serve`: an OpenAI-compatible HTTP server on libmicrohttpd.
 *
 * One connection, one thread (MHD_USE_THREAD_PER_CONNECTION): a handler may
 * block until its request is done, and a streaming response's reader blocks
 * until the scheduler (serve_sched.c) has published more text. Either wait
 * wakes every 100 ms to look whether the client hung up (POLLRDHUP on the
 * socket) and cancels the request if so: its slot frees at the next tick.
 *
 * SIGINT/SIGTERM are taken by sigwait() in the main thread (no handler, no
 * global flag): stop accepting, let in-flight requests finish for
 * --shutdown-timeout seconds, cancel the rest, exit 0. */
#include "serve.h"
#include "serve_page.h"
#include "../src/base/cycles.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cmd_serve(int argc, char **argv);

/* ChatML, for models without a tokenizer.chat_template (llama.cpp's
 * fallback too). */
static const char *CHATML =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

typedef struct server {
    tk_model *m;
    srv_sched *sched;
    atomic_int ready;          /* model loaded: 503 before */
    const char *api_key, *model_path;
    char model_id[256];
    char *chat_tmpl;           /* --chat-template file contents, or NULL */
    size_t max_body;
    srv_limits lim;
    long created;
    atomic_ullong n_req, n_ids;
    atomic_ullong by_status[6]; /* 2xx..5xx by hundreds, [0] unused */
} server;

enum { R_NONE, R_PAGE, R_HEALTH, R_METRICS, R_MODELS, R_CHAT, R_COMPL, R_EMBED, R_TOKENIZE, R_DETOKENIZE };

typedef struct conn {
    int route;
    char *body;
    size_t len, cap;
    int too_large;
} conn;

/* ---- replies ------------------------------------------------------------------- */

static enum MHD_Result reply(server *S, struct MHD_Connection *c, unsigned status, const char *type, char *body,
                             size_t len, int must_free) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    if (status == 405) MHD_add_response_header(r, "Allow", "GET, POST");
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (status >= 200 && status < 600) atomic_fetch_add(&S->by_status[status / 100], 1);
    return rc;
}

static enum MHD_Result reply_json(server *S, struct MHD_Connection *c, unsigned status, cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) return MHD_NO;
    return reply(S, c, status, "application/json", s, strlen(s), 1);
}

static cJSON *error_obj(unsigned status, const char *msg) {
    const char *type = status == 401 ? "authentication_error"
                       : status == 404 ? "not_found_error"
                       : status == 429 ? "rate_limit_error"
                       : status >= 500 ? (status == 503 ? "unavailable_error" : "server_error")
                                       : "invalid_request_error";
    cJSON *j = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "param");
    if (status == 401) cJSON_AddStringToObject(e, "code", "invalid_api_key");
    else if (status == 429) cJSON_AddStringToObject(e, "code", "rate_limit_exceeded");
    else cJSON_AddNullToObject(e, "code");
    return j;
}

static enum MHD_Result reply_error(server *S, struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result reply_error(server *S, struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* one line, whatever a client put in a URL */
        if ((unsigned char)*p < 0x20) *p = '?';
    return reply_json(S, c, status, error_obj(status, msg));
}

/* ---- helpers ------------------------------------------------------------------ */

static int client_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 1;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* The piece of id as JSON text: valid UTF-8 as is, else with U+FFFD. */
static void piece_str(const tk_model *m, int32_t id, char *out, int cap) {
    char b[256];
    int n = tk_token_piece(m, id, b, (int)sizeof b);
    if (n > (int)sizeof b) n = (int)sizeof b;
    int w = 0;
    for (int i = 0; i < n && w < cap - 4;) {
        unsigned c = (unsigned char)b[i];
        int k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c < 0x80 || (i + k <= n && srv_utf8_ok(b + i, (size_t)k))) memcpy(out + w, b + i, (size_t)k), w += k, i += k;
        else memcpy(out + w, "\xEF\xBF\xBD", 3), w += 3, i++;
    }
    out[w] = 0;
}

static cJSON *bytes_arr(const char *s) {
    cJSON *a = cJSON_CreateArray();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) cJSON_AddItemToArray(a, cJSON_CreateNumber(*p));
    return a;
}

/* logprobs of toks[from, to) in the chat shape ({"content":[...]}) or
 * the completions one ({"tokens","token_logprobs","top_logprobs","text_offset"}). */
static cJSON *logprobs_json(server *S, const srv_req *r, int from, int to) {
    cJSON *j = cJSON_CreateObject();
    char t[1100];
    if (r->p.kind == SRV_CHAT) {
        cJSON *content = cJSON_AddArrayToObject(j, "content");
        for (int i = from; i < to; i++) {
            const srv_tokinfo *ti = &r->toks[i];
            cJSON *o = cJSON_CreateObject();
            piece_str(S->m, ti->id, t, sizeof t);
            cJSON_AddStringToObject(o, "token", t);
            cJSON_AddNumberToObject(o, "logprob", ti->logprob);
            cJSON_AddItemToObject(o, "bytes", bytes_arr(t));
            cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs");
            for (int k = 0; k < ti->n_top; k++) {
                cJSON *a = cJSON_CreateObject();
                piece_str(S->m, ti->top_id[k], t, sizeof t);
                cJSON_AddStringToObject(a, "token", t);
                cJSON_AddNumberToObject(a, "logprob", ti->top_lp[k]);
                cJSON_AddItemToObject(a, "bytes", bytes_arr(t));
                cJSON_AddItemToArray(tops, a);
            }
            cJSON_AddItemToArray(content, o);
        }
        return j;
    }
    cJSON *toks = cJSON_AddArrayToObject(j, "tokens"), *lps = cJSON_AddArrayToObject(j, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(j, "top_logprobs"), *offs = cJSON_AddArrayToObject(j, "text_offset");
    for (int i = from; i < to; i++) {
        const srv_tokinfo *ti = &r->toks[i];
        piece_str(S->m, ti->id, t, sizeof t);
        cJSON_AddItemToArray(toks, cJSON_CreateString(t));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(ti->logprob));
        cJSON *o = cJSON_CreateObject();
        for (int k = 0; k < ti->n_top; k++) {
            piece_str(S->m, ti->top_id[k], t, sizeof t);
            if (!cJSON_GetObjectItemCaseSensitive(o, t)) cJSON_AddNumberToObject(o, t, ti->top_lp[k]);
        }
        cJSON_AddItemToArray(tops, o);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)r->tok_off[i]));
    }
    return j;
}

static cJSON *usage_json(const srv_req *r) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", r->n_ids);
    cJSON_AddNumberToObject(u, "completion_tokens", r->n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", r->n_ids + r->n_gen);
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", r->n_cached);
    return u;
}

/* llama.cpp's "timings": the server's own measure of the request (ms). */
static cJSON *timings_json(const srv_req *r) {
    cJSON *t = cJSON_CreateObject();
    double first = r->t_first > 0 ? (r->t_first - r->t_submit) / 1e6 : 0;
    double gen = r->t_first > 0 && r->t_done > r->t_first ? (r->t_done - r->t_first) / 1e6 : 0;
    cJSON_AddNumberToObject(t, "prompt_n", r->n_ids - r->n_cached);
    cJSON_AddNumberToObject(t, "prompt_ms", first);
    cJSON_AddNumberToObject(t, "predicted_n", r->n_gen);
    cJSON_AddNumberToObject(t, "predicted_ms", gen);
    /* the first token comes with the prompt: n_gen - 1 ticks after it */
    cJSON_AddNumberToObject(t, "predicted_per_second", gen > 0 && r->n_gen > 1 ? (r->n_gen - 1) / (gen / 1e3) : 0);
    return t;
}

/* The common head of every completion object. */
static cJSON *head(server *S, const srv_req *r, const char *id, int chunk) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", id);
    cJSON_AddStringToObject(j, "object", r->p.kind == SRV_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                               : "text_completion");
    cJSON_AddNumberToObject(j, "created", (double)time(NULL));
    cJSON_AddStringToObject(j, "model", S->model_id);
    cJSON_AddStringToObject(j, "system_fingerprint", "tick");
    return j;
}

/* One choice: the text (as message, delta or text), logprobs, finish. */
static cJSON *choice(server *S, const srv_req *r, int chunk, const char *text, size_t tlen, int from, int to,
                     const char *finish, int role) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    char *t = malloc(tlen + 1);
    if (t) memcpy(t, text, tlen), t[tlen] = 0;
    if (r->p.kind == SRV_CHAT) {
        cJSON *msg = cJSON_AddObjectToObject(c, chunk ? "delta" : "message");
        if (role || !chunk) cJSON_AddStringToObject(msg, "role", "assistant");
        if (!chunk || tlen || role) cJSON_AddStringToObject(msg, "content", t ? t : "");
        if (!chunk) cJSON_AddNullToObject(msg, "refusal");
    } else {
        cJSON_AddStringToObject(c, "text", t ? t : "");
    }
    free(t);
    if (r->p.logprobs && to > from) cJSON_AddItemToObject(c, "logprobs", logprobs_json(S, r, from, to));
    else if (r->p.logprobs && !chunk) cJSON_AddItemToObject(c, "logprobs", logprobs_json(S, r, 0, 0));
    else cJSON_AddNullToObject(c, "logprobs");
    if (finish) cJSON_AddStringToObject(c, "finish_reason", finish);
    else cJSON_AddNullToObject(c, "finish_reason");
    return c;
}

/* ---- generation requests -------------------------------------------------------- */

/* Tokenize the request's prompt into r->ids (chat: rendered by the template,
 * special tokens parsed). 0, or an HTTP status with msg set. */
static int prepare(server *S, srv_req *r, char *msg, size_t cap) {
    const tk_model_info *I = tk_model_info_of(S->m);
    char *text = NULL;
    int special = 0;
    if (r->p.kind == SRV_CHAT) {
        tk_error e = {0};
        const char *tmpl = S->chat_tmpl ? S->chat_tmpl : tk_model_chat_template(S->m) ? NULL : CHATML;
        if (tk_chat_render(S->m, tmpl, r->p.msgs, r->p.n_msgs, 1, &text, &e) < 0) {
            snprintf(msg, cap, "chat template: %.400s", e.msg);
            return 400;
        }
        special = 1;
    } else if (r->p.ids) {
        r->ids = r->p.ids, r->n_ids = r->p.n_ids;
        r->p.ids = NULL;
        return 0;
    } else {
        text = strdup(r->p.prompt);
        if (!text) { snprintf(msg, cap, "out of memory"); return 500; }
    }
    size_t len = strlen(text);
    int bos = I->add_bos && I->bos >= 0;
    if (special && bos) {
        /* a template that writes the BOS text itself gets no second one */
        int bl;
        const char *bt = tk_token_text(S->m, I->bos, &bl);
        if (bt && bl > 0 && len >= (size_t)bl && !memcmp(text, bt, (size_t)bl)) bos = 0;
    }
    if (!srv_utf8_ok(text, len) || len > (size_t)1 << 28) {
        free(text);
        snprintf(msg, cap, "the prompt is not valid UTF-8 or too long");
        return 400;
    }
    int flags = (bos ? TK_TOKENIZE_ADD_BOS : 0) | (special ? TK_TOKENIZE_PARSE_SPECIAL : 0);
    tk_error e = {0};
    int n = tk_tokenize(S->m, text, len, flags, NULL, 0, &e);
    if (n < 0) { free(text); snprintf(msg, cap, "the prompt: %.400s", e.msg); return 400; }
    if (n == 0) { free(text); snprintf(msg, cap, "the prompt is empty (no tokens)"); return 400; }
    if (n > S->lim.max_prompt) {
        free(text);
        snprintf(msg, cap, "the prompt is %d tokens but the context holds %d", n, S->lim.max_prompt);
        return 400;
    }
    r->ids = malloc((size_t)n * sizeof *r->ids);
    if (!r->ids) { free(text); snprintf(msg, cap, "out of memory"); return 500; }
    r->n_ids = tk_tokenize(S->m, text, len, flags, r->ids, n, &e);
    free(text);
    if (!r->p.seed_set) r->p.seed = (uint64_t)tk_now_ns() ^ (uint64_t)(uintptr_t)r;
    return 0;
}

/* A finished request that failed or was cancelled: its status and message. */
static unsigned failed(const srv_req *r, const char **msg) {
    if (r->err_status) { *msg = r->err; return (unsigned)r->err_status; }
    if (!r->finish) { *msg = "cancelled: the server is shutting down"; return 503; }
    return 0;
}

typedef struct stream {
    server *S;
    srv_req *r;
    struct MHD_Connection *c;
    char id[64];
    char *buf;
    size_t len, off, cap;
    size_t sent_out;
    int sent_toks, stage; /* 0: nothing sent; 1: streaming; 2: all written */
} stream;

static void put(stream *st, const char *s, size_t n) {
    if (st->len + n > st->cap) {
        size_t c = st->cap ? st->cap : 1024;
        while (c < st->len + n) c *= 2;
        char *nb = realloc(st->buf, c);
        if (!nb) return;
        st->buf = nb, st->cap = c;
    }
    memcpy(st->buf + st->len, s, n);
    st->len += n;
}

static void put_event(stream *st, cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s) return;
    put(st, "data: ", 6);
    put(st, s, strlen(s));
    put(st, "\n\n", 2);
    free(s);
}

/* Formats what the scheduler published since the last call (under the lock). */
static void stream_fill_locked(stream *st) {
    srv_req *r = st->r;
    server *S = st->S;
    if (st->stage == 0 && r->p.kind == SRV_CHAT) {
        cJSON *j = head(S, r, st->id, 1), *ch = cJSON_AddArrayToObject(j, "choices");
        cJSON_AddItemToArray(ch, choice(S, r, 1, "", 0, 0, 0, NULL, 1));
        put_event(st, j);
    }
    st->stage = 1;
    int done = r->state == REQ_DONE;
    const char *msg;
    if (done && failed(r, &msg)) {
        put_event(st, error_obj(failed(r, &msg), msg));
        put(st, "data: [DONE]\n\n", 14);
        st->stage = 2;
        return;
    }
    if (r->out_len > st->sent_out || r->n_toks > st->sent_toks) {
        cJSON *j = head(S, r, st->id, 1), *ch = cJSON_AddArrayToObject(j, "choices");
        cJSON_AddItemToArray(ch, choice(S, r, 1, r->out + st->sent_out, r->out_len - st->sent_out, st->sent_toks,
                                        r->n_toks, NULL, 0));
        if (r->p.include_usage) cJSON_AddNullToObject(j, "usage");
        put_event(st, j);
        st->sent_out = r->out_len, st->sent_toks = r->n_toks;
    }
    if (done) {
        cJSON *j = head(S, r, st->id, 1), *ch = cJSON_AddArrayToObject(j, "choices");
        cJSON_AddItemToArray(ch, choice(S, r, 1, "", 0, 0, 0, r->finish, 0));
        if (r->p.include_usage) cJSON_AddNullToObject(j, "usage");
        put_event(st, j);
        if (r->p.include_usage) {
            j = head(S, r, st->id, 1);
            cJSON_AddArrayToObject(j, "choices");
            cJSON_AddItemToObject(j, "usage", usage_json(r));
            cJSON_AddItemToObject(j, "timings", timings_json(r));
            put_event(st, j);
        }
        put(st, "data: [DONE]\n\n", 14);
        st->stage = 2;
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
    stream *st = cls;
    (void)pos;
    while (st->off == st->len) {
        if (st->stage == 2) return MHD_CONTENT_READER_END_OF_STREAM;
        st->off = st->len = 0;
        srv_lock(st->S->sched);
        srv_req *r = st->r;
        if (st->stage == 0 || r->out_len > st->sent_out || r->n_toks > st->sent_toks || r->state == REQ_DONE) {
            stream_fill_locked(st);
            srv_unlock(st->S->sched);
            continue;
        }
        srv_wait_locked(st->S->sched, 100);
        int news = r->out_len > st->sent_out || r->n_toks > st->sent_toks || r->state == REQ_DONE;
        srv_unlock(st->S->sched);
        if (!news && client_gone(st->c)) {
            srv_cancel(st->S->sched, r);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(out, st->buf + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls) {
    stream *st = cls;
    srv_cancel(st->S->sched, st->r); /* no-op if done; frees the slot if the client left */
    srv_release(st->S->sched, st->r);
    free(st->buf);
    free(st);
}

static enum MHD_Result generate(server *S, struct MHD_Connection *c, conn *k, int kind) {
    char msg[512];
    srv_req *r = calloc(1, sizeof *r);
    if (!r) return reply_error(S, c, 500, "out of memory");
    if (srv_parse_request(k->body ? k->body : "", k->len, kind, &S->lim, &r->p, msg, sizeof msg)) {
        free(r);
        return reply_error(S, c, 400, "%s", msg);
    }
    int st_code = prepare(S, r, msg, sizeof msg);
    if (!st_code) st_code = srv_submit(S->sched, r);
    if (st_code) {
        srv_params_free(&r->p);
        free(r->ids);
        free(r);
        if (st_code == 429) return reply_error(S, c, 429, "the queue is full; try again later");
        if (st_code == 503) return reply_error(S, c, 503, "the server is shutting down");
        return reply_error(S, c, (unsigned)st_code, "%s", msg);
    }
    char id[64];
    snprintf(id, sizeof id, "%s-%llx%04llx", kind == SRV_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)time(NULL), (unsigned long long)atomic_fetch_add(&S->n_ids, 1) & 0xffff);
    if (r->p.stream) {
        stream *st = calloc(1, sizeof *st);
        if (!st) { srv_cancel(S->sched, r); srv_release(S->sched, r); return reply_error(S, c, 500, "out of memory"); }
        st->S = S, st->r = r, st->c = c;
        memcpy(st->id, id, sizeof id);
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
        if (!resp) { stream_free(st); return MHD_NO; }
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: do not buffer the stream */
        enum MHD_Result rc = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        atomic_fetch_add(&S->by_status[2], 1);
        return rc;
    }
    /* not streamed: wait for the whole answer, watching for a hang-up */
    srv_lock(S->sched);
    while (r->state != REQ_DONE) {
        srv_wait_locked(S->sched, 100);
        if (r->state == REQ_DONE) break;
        srv_unlock(S->sched);
        if (client_gone(c)) {
            srv_cancel(S->sched, r);
            srv_release(S->sched, r);
            return MHD_NO;
        }
        srv_lock(S->sched);
    }
    srv_unlock(S->sched); /* done: the scheduler writes r no more */
    const char *fmsg;
    unsigned fs = failed(r, &fmsg);
    enum MHD_Result rc;
    if (fs) {
        rc = reply_error(S, c, fs, "%s", fmsg);
    } else {
        cJSON *j = head(S, r, id, 0), *ch = cJSON_AddArrayToObject(j, "choices");
        cJSON_AddItemToArray(ch, choice(S, r, 0, r->out ? r->out : "", r->out_len, 0, r->n_toks, r->finish, 0));
        cJSON_AddItemToObject(j, "usage", usage_json(r));
        cJSON_AddItemToObject(j, "timings", timings_json(r));
        rc = reply_json(S, c, 200, j);
    }
    srv_release(S->sched, r);
    return rc;
}

/* ---- other endpoints ------------------------------------------------------------- */

/* An array of token ids from a JSON value; NULL with msg set if bad. */
static int32_t *ids_of(server *S, const cJSON *a, int *n, char *msg, size_t cap) {
    if (!cJSON_IsArray(a)) { snprintf(msg, cap, "'tokens' must be an array of token ids"); return NULL; }
    int k = cJSON_GetArraySize(a);
    if (k > 1 << 20) { snprintf(msg, cap, "too many tokens"); return NULL; }
    int32_t *ids = malloc((size_t)(k ? k : 1) * sizeof *ids);
    if (!ids) { snprintf(msg, cap, "out of memory"); return NULL; }
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(x >= 0 && x < S->lim.n_vocab) || x != floor(x)) {
            free(ids);
            snprintf(msg, cap, "token ids must be integers in [0, %d)", S->lim.n_vocab);
            return NULL;
        }
        ids[i++] = (int32_t)x;
    }
    *n = i;
    return ids;
}

static enum MHD_Result tokenize(server *S, struct MHD_Connection *c, conn *k) {
    cJSON *in = cJSON_ParseWithLength(k->body ? k->body : "", k->len);
    const cJSON *ct = in ? cJSON_GetObjectItemCaseSensitive(in, "content") : NULL;
    if (!cJSON_IsString(ct)) { cJSON_Delete(in); return reply_error(S, c, 400, "the body must be a JSON object with a string 'content'"); }
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(in, "add_special"), *wp = cJSON_GetObjectItemCaseSensitive(in, "with_pieces");
    int add = cJSON_IsTrue(as), pieces = cJSON_IsTrue(wp);
    tk_error e = {0};
    size_t len = strlen(ct->valuestring);
    int flags = add ? TK_TOKENIZE_ADD_BOS : 0;
    int n = tk_tokenize(S->m, ct->valuestring, len, flags, NULL, 0, &e);
    int32_t *ids = n > 0 ? malloc((size_t)n * sizeof *ids) : NULL;
    if (n < 0 || (n > 0 && !ids)) {
        cJSON_Delete(in);
        free(ids);
        return reply_error(S, c, n < 0 ? 400 : 500, "%s", n < 0 ? e.msg : "out of memory");
    }
    if (n > 0) tk_tokenize(S->m, ct->valuestring, len, flags, ids, n, &e);
    cJSON_Delete(in);
    cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "tokens");
    for (int i = 0; i < n; i++) {
        if (!pieces) { cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i])); continue; }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", ids[i]);
        char b[256];
        int pl = tk_token_piece(S->m, ids[i], b, (int)sizeof b - 1);
        if (pl > (int)sizeof b - 1) pl = (int)sizeof b - 1;
        b[pl] = 0;
        /* llama.cpp: the piece as a string when valid UTF-8, else its bytes */
        if (srv_utf8_ok(b, (size_t)pl) && (int)strlen(b) == pl) cJSON_AddStringToObject(o, "piece", b);
        else {
            cJSON *bytes = cJSON_AddArrayToObject(o, "piece");
            for (int q = 0; q < pl; q++) cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)b[q]));
        }
        cJSON_AddItemToArray(a, o);
    }
    free(ids);
    return reply_json(S, c, 200, j);
}

static enum MHD_Result detokenize(server *S, struct MHD_Connection *c, conn *k) {
    char msg[256];
    cJSON *in = cJSON_ParseWithLength(k->body ? k->body : "", k->len);
    if (!cJSON_IsObject(in)) { cJSON_Delete(in); return reply_error(S, c, 400, "the body must be a JSON object with 'tokens'"); }
    int n = 0;
    int32_t *ids = ids_of(S, cJSON_GetObjectItemCaseSensitive(in, "tokens"), &n, msg, sizeof msg);
    cJSON_Delete(in);
    if (!ids) return reply_error(S, c, 400, "%s", msg);
    char *text = malloc((size_t)n * 3 * 256 + 1), b[256];
    if (!text) { free(ids); return reply_error(S, c, 500, "out of memory"); }
    size_t w = 0;
    for (int i = 0; i < n; i++) {
        int pl = tk_token_piece(S->m, ids[i], b, (int)sizeof b);
        if (pl > (int)sizeof b) pl = (int)sizeof b;
        memcpy(text + w, b, (size_t)pl);
        w += (size_t)pl;
    }
    free(ids);
    /* JSON text must be UTF-8: invalid bytes become U+FFFD */
    char *clean = malloc(w * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; clean && i < w;) {
        unsigned ch = (unsigned char)text[i];
        size_t q = ch < 0x80 ? 1 : ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : 2;
        if (ch && (ch < 0x80 || (i + q <= w && srv_utf8_ok(text + i, q)))) memcpy(clean + o, text + i, q), o += q, i += q;
        else memcpy(clean + o, "\xEF\xBF\xBD", 3), o += 3, i++;
    }
    free(text);
    if (!clean) return reply_error(S, c, 500, "out of memory");
    clean[o] = 0;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "content", clean);
    free(clean);
    return reply_json(S, c, 200, j);
}

static char *base64_f32(const float *v, int n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = (size_t)n * 4;
    unsigned char *b = malloc(len);
    char *o = malloc((len + 2) / 3 * 4 + 1);
    if (!b || !o) { free(b), free(o); return NULL; }
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int k = 0; k < 4; k++) b[4 * i + k] = (unsigned char)(u >> (8 * k));
    }
    size_t w = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t x = (uint32_t)b[i] << 16 | (i + 1 < len ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < len ? b[i + 2] : 0);
        o[w++] = A[x >> 18 & 63], o[w++] = A[x >> 12 & 63];
        o[w++] = i + 1 < len ? A[x >> 6 & 63] : '=';
        o[w++] = i + 2 < len ? A[x & 63] : '=';
    }
    o[w] = 0;
    free(b);
    return o;
}

static enum MHD_Result embeddings(server *S, struct MHD_Connection *c, conn *k) {
    char msg[512];
    cJSON *in = cJSON_ParseWithLength(k->body ? k->body : "", k->len);
    const cJSON *inp = in ? cJSON_GetObjectItemCaseSensitive(in, "input") : NULL;
    if (!inp) { cJSON_Delete(in); return reply_error(S, c, 400, "the body must be a JSON object with 'input'"); }
    const cJSON *ef = cJSON_GetObjectItemCaseSensitive(in, "encoding_format");
    int b64 = cJSON_IsString(ef) && !strcmp(ef->valuestring, "base64");
    if (ef && !cJSON_IsNull(ef) && !b64 && !(cJSON_IsString(ef) && !strcmp(ef->valuestring, "float"))) {
        cJSON_Delete(in);
        return reply_error(S, c, 400, "'encoding_format' must be \"float\" or \"base64\"");
    }
    /* inputs: a string, an array of strings, an array of ids, or an array of id arrays */
    const cJSON *list[64];
    int n_in = 0, single_ids = 0;
    if (cJSON_IsString(inp)) list[n_in++] = inp;
    else if (cJSON_IsArray(inp) && cJSON_GetArraySize(inp) > 0 && cJSON_IsNumber(inp->child)) list[n_in++] = inp, single_ids = 1;
    else if (cJSON_IsArray(inp)) {
        const cJSON *v;
        cJSON_ArrayForEach(v, inp) {
            if (n_in == 64) { cJSON_Delete(in); return reply_error(S, c, 400, "at most 64 inputs per request"); }
            list[n_in++] = v;
        }
    }
    if (n_in == 0) { cJSON_Delete(in); return reply_error(S, c, 400, "'input' must be a non-empty string, array of strings or of token ids"); }
    int n_embd = tk_model_info_of(S->m)->n_embd, total = 0;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(j, "data");
    float *vec = malloc((size_t)n_embd * sizeof *vec);
    unsigned status = 0;
    for (int i = 0; i < n_in && !status && vec; i++) {
        const cJSON *v = list[i];
        int32_t *ids = NULL;
        int n = 0;
        if (cJSON_IsString(v)) {
            tk_error e = {0};
            size_t len = strlen(v->valuestring);
            int fl = tk_model_info_of(S->m)->add_bos ? TK_TOKENIZE_ADD_BOS : 0;
            n = tk_tokenize(S->m, v->valuestring, len, fl, NULL, 0, &e);
            if (n < 0) { status = 400; snprintf(msg, sizeof msg, "input %d: %.400s", i, e.msg); break; }
            ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
            if (ids) tk_tokenize(S->m, v->valuestring, len, fl, ids, n, &e);
        } else {
            ids = ids_of(S, single_ids ? inp : v, &n, msg, sizeof msg);
            if (!ids) { status = 400; break; }
        }
        if (!ids) { status = 500; snprintf(msg, sizeof msg, "out of memory"); break; }
        if (n == 0 || n > S->lim.max_prompt) {
            free(ids);
            status = 400;
            snprintf(msg, sizeof msg, "input %d is %d tokens; it must be 1 to %d", i, n, S->lim.max_prompt);
            break;
        }
        tk_error e = {0};
        int rc = srv_embed(S->sched, ids, n, vec, &e);
        free(ids);
        if (rc) { status = rc == TK_EUNSUPPORTED ? 501 : 503; snprintf(msg, sizeof msg, "%s", e.msg); break; }
        total += n;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "embedding");
        cJSON_AddNumberToObject(o, "index", i);
        if (b64) {
            /* the float32 values, little-endian, in base64 (what OpenAI's clients ask for) */
            char *enc = base64_f32(vec, n_embd);
            cJSON_AddStringToObject(o, "embedding", enc ? enc : "");
            free(enc);
        } else {
            cJSON *ev = cJSON_AddArrayToObject(o, "embedding");
            for (int d = 0; d < n_embd; d++) cJSON_AddItemToArray(ev, cJSON_CreateNumber(vec[d]));
        }
        cJSON_AddItemToArray(data, o);
    }
    cJSON_Delete(in);
    if (!vec) status = 500, snprintf(msg, sizeof msg, "out of memory");
    free(vec);
    if (status) { cJSON_Delete(j); return reply_error(S, c, status, "%s", msg); }
    cJSON_AddStringToObject(j, "model", S->model_id);
    cJSON *u = cJSON_AddObjectToObject(j, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", total);
    cJSON_AddNumberToObject(u, "total_tokens", total);
    return reply_json(S, c, 200, j);
}

static enum MHD_Result models(server *S, struct MHD_Connection *c) {
    cJSON *j = cJSON_CreateObject(), *d;
    cJSON_AddStringToObject(j, "object", "list");
    d = cJSON_AddArrayToObject(j, "data");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", S->model_id);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", (double)S->created);
    cJSON_AddStringToObject(o, "owned_by", "tick");
    cJSON_AddItemToArray(d, o);
    return reply_json(S, c, 200, j);
}

static enum MHD_Result metrics(server *S, struct MHD_Connection *c) {
    srv_stats st;
    srv_stats_get(S->sched, &st);
    size_t cap = 8192;
    char *b = malloc(cap);
    if (!b) return MHD_NO;
    int w = 0;
#define P(...) (w += snprintf(b + w, cap - (size_t)w, __VA_ARGS__))
    P("# HELP tick_requests_total HTTP requests answered, by status class.\n# TYPE tick_requests_total counter\n");
    for (int i = 2; i <= 5; i++)
        P("tick_requests_total{code=\"%dxx\"} %llu\n", i, (unsigned long long)atomic_load(&S->by_status[i]));
    P("# HELP tick_generations_total Completions finished (any reason).\n# TYPE tick_generations_total counter\n"
      "tick_generations_total %llu\n", (unsigned long long)st.requests_done);
    P("# HELP tick_prompt_tokens_total Prompt tokens computed.\n# TYPE tick_prompt_tokens_total counter\n"
      "tick_prompt_tokens_total %llu\n", (unsigned long long)st.prompt_tokens);
    P("# HELP tick_prompt_tokens_cached_total Prompt tokens reused from a slot's cache.\n"
      "# TYPE tick_prompt_tokens_cached_total counter\ntick_prompt_tokens_cached_total %llu\n",
      (unsigned long long)st.cached_tokens);
    P("# HELP tick_generated_tokens_total Tokens generated.\n# TYPE tick_generated_tokens_total counter\n"
      "tick_generated_tokens_total %llu\n", (unsigned long long)st.gen_tokens);
    P("# HELP tick_queue_depth Requests waiting for a slot.\n# TYPE tick_queue_depth gauge\ntick_queue_depth %d\n",
      st.queue_depth);
    P("# HELP tick_slots_busy Slots generating.\n# TYPE tick_slots_busy gauge\ntick_slots_busy %d\n", st.slots_busy);
    P("# HELP tick_slots Slots in all.\n# TYPE tick_slots gauge\ntick_slots %d\n", st.n_slots);
    P("# HELP tick_kv_cache_used_cells Positions held in the KV caches of all slots.\n"
      "# TYPE tick_kv_cache_used_cells gauge\ntick_kv_cache_used_cells %llu\n", (unsigned long long)st.kv_used);
    P("# HELP tick_kv_cache_cells Positions the KV caches of all slots hold.\n# TYPE tick_kv_cache_cells gauge\n"
      "tick_kv_cache_cells %llu\n", (unsigned long long)st.kv_cap);
    P("# HELP tick_tick_seconds Time of one tick (one batched forward pass).\n# TYPE tick_tick_seconds histogram\n");
    for (int i = 0; i < SRV_TICK_BUCKETS; i++)
        P("tick_tick_seconds_bucket{le=\"%g\"} %llu\n", srv_tick_bucket_le[i], (unsigned long long)st.tick_hist[i]);
    P("tick_tick_seconds_bucket{le=\"+Inf\"} %llu\ntick_tick_seconds_sum %.6f\ntick_tick_seconds_count %llu\n",
      (unsigned long long)st.ticks, st.tick_seconds, (unsigned long long)st.ticks);
#undef P
    return reply(S, c, 200, "text/plain; version=0.0.4", b, strlen(b), 1);
}

/* ---- routing ---------------------------------------------------------------------- */

static int route_of(const char *url, const char *method, int *method_ok) {
    static const struct { const char *path, *method; int route; } R[] = {
        {"/", "GET", R_PAGE}, {"/index.html", "GET", R_PAGE}, {"/health", "GET", R_HEALTH},
        {"/metrics", "GET", R_METRICS}, {"/v1/models", "GET", R_MODELS}, {"/v1/chat/completions", "POST", R_CHAT},
        {"/v1/completions", "POST", R_COMPL}, {"/v1/embeddings", "POST", R_EMBED}, {"/tokenize", "POST", R_TOKENIZE},
        {"/detokenize", "POST", R_DETOKENIZE}, {"/models", "GET", R_MODELS}, {"/chat/completions", "POST", R_CHAT},
        {"/completions", "POST", R_COMPL}, {"/embeddings", "POST", R_EMBED},
    };
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        if (!strcmp(url, R[i].path)) {
            *method_ok = !strcmp(method, R[i].method) || (!strcmp(R[i].method, "GET") && !strcmp(method, "HEAD"));
            return R[i].route;
        }
    *method_ok = 0;
    return R_NONE;
}

/* Constant-time comparison of the bearer token with the key. */
static int key_ok(server *S, struct MHD_Connection *c) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t a = strlen(h), b = strlen(S->api_key);
    unsigned d = a != b;
    for (size_t i = 0; i < b; i++) d |= (unsigned char)S->api_key[i] ^ (unsigned char)(i < a ? h[i] : 0);
    return d == 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    server *S = cls;
    conn *k = *con_cls;
    (void)version;
    if (!k) {
        /* first call: the headers are in; refuse early what we can */
        if (!(k = calloc(1, sizeof *k))) return MHD_NO;
        *con_cls = k;
        atomic_fetch_add(&S->n_req, 1);
        int ok;
        k->route = route_of(url, method, &ok);
        if (k->route == R_NONE) return reply_error(S, c, 404, "no such endpoint: %.200s", url);
        if (!ok) return reply_error(S, c, 405, "%.200s does not take %.16s", url, method);
        if (S->api_key && k->route != R_PAGE && k->route != R_HEALTH && !key_ok(S, c))
            return reply_error(S, c, 401, "a valid API key is needed (Authorization: Bearer KEY)");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > S->max_body)
            return reply_error(S, c, 413, "the body is larger than %zu bytes", S->max_body);
        return MHD_YES;
    }
    if (*upload_size) {
        if (!k->too_large) {
            if (*upload_size > S->max_body - k->len) {
                k->too_large = 1;
                free(k->body), k->body = NULL, k->len = k->cap = 0;
            } else {
                if (k->len + *upload_size + 1 > k->cap) {
                    size_t nc = k->cap ? k->cap : 4096;
                    while (nc < k->len + *upload_size + 1) nc *= 2;
                    char *nb = realloc(k->body, nc);
                    if (!nb) return MHD_NO;
                    k->body = nb, k->cap = nc;
                }
                memcpy(k->body + k->len, upload, *upload_size);
                k->len += *upload_size;
                k->body[k->len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (k->too_large) return reply_error(S, c, 413, "the body is larger than %zu bytes", S->max_body);
    if (k->route == R_PAGE) return reply(S, c, 200, "text/html; charset=utf-8", (char *)SERVE_PAGE, strlen(SERVE_PAGE), 0);
    if (!atomic_load(&S->ready)) return reply_error(S, c, 503, "the model is loading");
    switch (k->route) {
    case R_HEALTH: {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "status", "ok");
        return reply_json(S, c, 200, j);
    }
    case R_METRICS: return metrics(S, c);
    case R_MODELS: return models(S, c);
    case R_CHAT: return generate(S, c, k, SRV_CHAT);
    case R_COMPL: return generate(S, c, k, SRV_COMPLETION);
    case R_EMBED: return embeddings(S, c, k);
    case R_TOKENIZE: return tokenize(S, c, k);
    case R_DETOKENIZE: return detokenize(S, c, k);
    }
    return reply_error(S, c, 404, "no such endpoint");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)cls, (void)c, (void)why;
    conn *k = *con_cls;
    if (k) free(k->body), free(k);
    *con_cls = NULL;
}

/* ---- the command ---------------------------------------------------------------------- */

static const char *USAGE =
    "usage: tick serve -m MODEL [--host ADDR] [--port N] [--slots N] [--api-key KEY] [-c N] [-t N]\n"
    "       [--max-body BYTES] [--max-tokens N] [--timeout S] [--queue N] [--shutdown-timeout S]\n"
    "       [--idle-timeout S] [--max-conns N] [--chat-template FILE] [--isa ISA]\n";

static int bad(const char *flag, const char *val, const char *why) {
    fprintf(stderr, "tick serve: %s '%s': %s\n", flag, val ? val : "", why);
    return 2;
}

static int num_arg(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static char *read_file(const char *path, size_t max) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = malloc(max + 1);
    size_t n = b ? fread(b, 1, max + 1, f) : 0;
    fclose(f);
    if (!b || n > max) { free(b); return NULL; }
    b[n] = 0;
    return b;
}

int cmd_serve(int argc, char **argv) {
    const char *model = NULL, *host = "127.0.0.1", *key = NULL, *isa = NULL, *tmpl_path = NULL;
    double port = 8080, slots = 8, ctx = 0, threads = 0, max_body = 1 << 20, max_tokens = 0, timeout = 600,
           queue = 64, shut = 10, idle = 30, conns = 256;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        struct { const char *name; double *dst, lo, hi; } nums[] = {
            {"--port", &port, 0, 65535}, {"--slots", &slots, 1, 256}, {"-c", &ctx, 0, 1 << 20},
            {"--ctx-size", &ctx, 0, 1 << 20}, {"-t", &threads, 0, 1024}, {"--threads", &threads, 0, 1024},
            {"--max-body", &max_body, 1024, 1 << 30}, {"--max-tokens", &max_tokens, 1, 1 << 20},
            {"--timeout", &timeout, 1, 86400}, {"--queue", &queue, 0, 1 << 20},
            {"--shutdown-timeout", &shut, 0, 3600}, {"--idle-timeout", &idle, 1, 3600},
            {"--max-conns", &conns, 4, 65536},
        };
        int done = 0;
        for (size_t q = 0; q < sizeof nums / sizeof nums[0] && !done; q++) {
            if (strcmp(a, nums[q].name)) continue;
            if (!v) return bad(a, NULL, "needs a value");
            if (num_arg(v, nums[q].lo, nums[q].hi, nums[q].dst) || *nums[q].dst != floor(*nums[q].dst)) {
                char why[96];
                snprintf(why, sizeof why, "must be an integer in [%g, %g]", nums[q].lo, nums[q].hi);
                return bad(a, v, why);
            }
            done = 1;
        }
        if (done) { i++; continue; }
        const char **strs[] = {&model, &model, &host, &key, &isa, &tmpl_path};
        const char *snames[] = {"-m", "--model", "--host", "--api-key", "--isa", "--chat-template"};
        for (size_t q = 0; q < 6 && !done; q++) {
            if (strcmp(a, snames[q])) continue;
            if (!v) return bad(a, NULL, "needs a value");
            *strs[q] = v;
            done = 1;
        }
        if (done) { i++; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); return 0; }
        fprintf(stderr, "tick serve: unknown flag '%s'\n%s", a, USAGE);
        return 2;
    }
    if (!model) { fprintf(stderr, "tick serve: -m MODEL is required\n%s", USAGE); return 2; }
    if (key && !*key) return bad("--api-key", key, "must not be empty");

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!strcmp(host, "localhost")) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return bad("--host", host, "not an IPv4 address");

    server S = {0};
    S.api_key = key;
    S.model_path = model;
    S.max_body = (size_t)max_body;
    S.created = (long)time(NULL);
    if (tmpl_path && !(S.chat_tmpl = read_file(tmpl_path, 1 << 20)))
        return bad("--chat-template", tmpl_path, "cannot read it (or it is over 1 MiB)");
    const char *base = strrchr(model, '/');
    snprintf(S.model_id, sizeof S.model_id, "%s", base ? base + 1 : model);

    /* SIGINT/SIGTERM go to sigwait below; every thread inherits the mask.
     * SIGPIPE: a client that hangs up must not kill the server. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* listen first: /health says 503 while the model loads */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL, NULL, handler, &S,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed, &S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)conns, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)idle,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "tick serve: cannot listen on %s:%d (%s)\n", host, (int)port, strerror(errno));
        free(S.chat_tmpl);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : (int)port;
    fprintf(stderr, "tick serve: listening on http://%s:%d (loading %s)\n", host, bound, model);

    tk_error e = {0};
    tk_load_opts lo = {.isa = isa};
    S.m = tk_model_load(model, &lo, &e);
    if (S.m) {
        const tk_model_info *I = tk_model_info_of(S.m);
        int n_ctx = ctx > 0 ? (int)ctx : (I->n_ctx_train > 0 && I->n_ctx_train < TK_DEFAULT_CTX ? I->n_ctx_train : TK_DEFAULT_CTX);
        srv_sched_opts so = {
            .n_slots = (int)slots, .n_ctx = n_ctx, .n_threads = (int)threads, .queue_max = (int)queue,
            .n_batch = (int)slots > TK_DEFAULT_BATCH ? (int)slots : TK_DEFAULT_BATCH, .timeout_s = timeout,
        };
        if (so.n_threads <= 0) so.n_threads = 1;
        S.sched = srv_sched_new(S.m, &so, &e);
        if (S.sched) {
            S.lim.n_vocab = tk_n_vocab(S.m);
            S.lim.max_prompt = srv_n_ctx(S.sched);
            S.lim.max_tokens = max_tokens > 0 ? (int)max_tokens : S.lim.max_prompt;
        }
    }
    if (!S.sched) {
        fprintf(stderr, "tick serve: %s\n", e.msg);
        MHD_stop_daemon(d);
        tk_model_free(S.m);
        free(S.chat_tmpl);
        return 1;
    }
    atomic_store(&S.ready, 1);
    fprintf(stderr, "tick serve: ready: %s, %d slots of %d tokens\n", S.model_id, (int)slots, S.lim.max_prompt);

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "tick serve: %s: finishing in-flight requests (up to %g s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM", shut);
    MHD_socket ls = MHD_quiesce_daemon(d); /* no new connections */
    if (ls != MHD_INVALID_SOCKET) close(ls);
    srv_drain(S.sched);
    double t_end = tk_now_ns() + shut * 1e9;
    while (srv_busy(S.sched) && tk_now_ns() < t_end) usleep(20000);
    srv_cancel_all(S.sched);
    for (int i = 0; i < 100 && srv_busy(S.sched); i++) usleep(20000);
    MHD_stop_daemon(d);
    srv_sched_free(S.sched);
    tk_model_free(S.m);
    free(S.chat_tmpl);
    fprintf(stderr, "tick serve: stopped\n");
    return 0;
}
