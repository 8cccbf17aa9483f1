/* serve_req.c: the JSON bodies of /v1/completions and /v1/chat/completions
 * checked field by field (OpenAI's names and ranges) into a srv_params.
 * Every input is hostile: wrong types, NaN-free but huge or negative
 * numbers, invalid UTF-8 in strings; the first problem is reported in one
 * line (the server answers 400 with it). Unknown fields are ignored, as
 * OpenAI clients send fields we have no use for. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int srv_utf8_ok(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        int k;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) k = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) k = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) k = 3, cp = c & 0x07;
        else return 0;
        if (n - i <= (size_t)k) return 0;
        for (int j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

#define FAIL(...) do { snprintf(err, errcap, __VA_ARGS__); goto fail; } while (0)

/* A number field in [lo, hi] (integral when want_int). 1 if present and
 * good, 0 if absent or null, -1 (err set) if bad. */
static int num(const cJSON *root, const char *name, double lo, double hi, int want_int, double *out,
               char *err, size_t errcap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v)) { snprintf(err, errcap, "'%s' must be a number", name); return -1; }
    double x = v->valuedouble;
    if (!isfinite(x) || x < lo || x > hi) {
        snprintf(err, errcap, "'%s' must be in [%g, %g]", name, lo, hi);
        return -1;
    }
    if (want_int && x != floor(x)) { snprintf(err, errcap, "'%s' must be an integer", name); return -1; }
    *out = x;
    return 1;
}

static int boolean(const cJSON *root, const char *name, int *out, char *err, size_t errcap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) { snprintf(err, errcap, "'%s' must be true or false", name); return -1; }
    *out = cJSON_IsTrue(v);
    return 1;
}

/* A string checked for UTF-8; NULL if bad (err set). */
static const char *text(const cJSON *v, const char *what, char *err, size_t errcap) {
    if (!cJSON_IsString(v) || !v->valuestring) { snprintf(err, errcap, "%s must be a string", what); return NULL; }
    if (!srv_utf8_ok(v->valuestring, strlen(v->valuestring))) {
        snprintf(err, errcap, "%s is not valid UTF-8", what);
        return NULL;
    }
    return v->valuestring;
}

/* Chat content: a string, or an array of {"type":"text","text":...} parts
 * (concatenated). Returns its length or -1; writes into dst if not NULL. */
static long content(const cJSON *c, char *dst, char *err, size_t errcap) {
    if (cJSON_IsString(c)) {
        const char *t = text(c, "'content'", err, errcap);
        if (!t) return -1;
        size_t n = strlen(t);
        if (dst) memcpy(dst, t, n);
        return (long)n;
    }
    if (cJSON_IsNull(c)) return 0;
    if (!cJSON_IsArray(c)) { snprintf(err, errcap, "'content' must be a string or an array of text parts"); return -1; }
    long total = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, c) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "text")) {
            snprintf(err, errcap, "only content parts of type 'text' are supported");
            return -1;
        }
        const char *t = text(cJSON_GetObjectItemCaseSensitive(part, "text"), "a content part's 'text'", err, errcap);
        if (!t) return -1;
        size_t n = strlen(t);
        if (dst) memcpy(dst + total, t, n);
        total += (long)n;
    }
    return total;
}

static int parse_messages(const cJSON *msgs, srv_params *p, char *err, size_t errcap) {
    if (!cJSON_IsArray(msgs)) { snprintf(err, errcap, "'messages' must be an array"); return -1; }
    int n = cJSON_GetArraySize(msgs);
    if (n < 1) { snprintf(err, errcap, "'messages' must not be empty"); return -1; }
    if (n > 4096) { snprintf(err, errcap, "'messages' has %d entries; at most 4096", n); return -1; }
    /* first pass: check and size; second: copy role and content, NUL-ended */
    size_t need = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        if (!cJSON_IsObject(m)) { snprintf(err, errcap, "each message must be an object"); return -1; }
        const char *role = text(cJSON_GetObjectItemCaseSensitive(m, "role"), "a message's 'role'", err, errcap);
        if (!role) return -1;
        if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "developer") &&
            strcmp(role, "tool")) {
            snprintf(err, errcap, "a message role is not one of system, developer, user, assistant, tool");
            return -1;
        }
        long cl = content(cJSON_GetObjectItemCaseSensitive(m, "content"), NULL, err, errcap);
        if (cl < 0) return -1;
        need += strlen(role) + 1 + (size_t)cl + 1;
    }
    p->msgs = calloc((size_t)n, sizeof *p->msgs);
    p->store = malloc(need + 1);
    if (!p->msgs || !p->store) { snprintf(err, errcap, "out of memory"); return -1; }
    char *w = p->store;
    cJSON_ArrayForEach(m, msgs) {
        const char *role = cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring;
        if (!strcmp(role, "developer")) role = "system"; /* OpenAI's newer name for it */
        size_t rl = strlen(role);
        memcpy(w, role, rl + 1);
        p->msgs[p->n_msgs].role = w;
        w += rl + 1;
        long cl = content(cJSON_GetObjectItemCaseSensitive(m, "content"), w, err, errcap);
        w[cl] = 0;
        p->msgs[p->n_msgs].content = w;
        w += cl + 1;
        p->n_msgs++;
    }
    return 0;
}

/* prompt: a string, an array of one string, or an array of token ids. */
static int parse_prompt(const cJSON *pr, const srv_limits *lim, srv_params *p, char *err, size_t errcap) {
    if (!pr) { snprintf(err, errcap, "'prompt' is required"); return -1; }
    if (cJSON_IsArray(pr) && cJSON_GetArraySize(pr) == 1 && cJSON_IsString(pr->child)) pr = pr->child;
    if (cJSON_IsString(pr)) {
        const char *t = text(pr, "'prompt'", err, errcap);
        if (!t) return -1;
        p->prompt = strdup(t);
        if (!p->prompt) { snprintf(err, errcap, "out of memory"); return -1; }
        return 0;
    }
    if (!cJSON_IsArray(pr)) { snprintf(err, errcap, "'prompt' must be a string or an array of token ids"); return -1; }
    int n = cJSON_GetArraySize(pr);
    if (n < 1) { snprintf(err, errcap, "'prompt' must not be empty"); return -1; }
    if (n > lim->max_prompt) {
        snprintf(err, errcap, "the prompt is %d tokens but the context holds %d", n, lim->max_prompt);
        return -1;
    }
    p->ids = malloc((size_t)n * sizeof *p->ids);
    if (!p->ids) { snprintf(err, errcap, "out of memory"); return -1; }
    const cJSON *v;
    cJSON_ArrayForEach(v, pr) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < lim->n_vocab) ||
            v->valuedouble != floor(v->valuedouble)) {
            snprintf(err, errcap, "'prompt' must be one string or token ids in [0, %d); several prompts are not supported",
                     lim->n_vocab);
            return -1;
        }
        p->ids[p->n_ids++] = (int32_t)v->valuedouble;
    }
    return 0;
}

int srv_parse_request(const char *body, size_t len, int kind, const srv_limits *lim, srv_params *p, char *err,
                      size_t errcap) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->max_tokens = lim->max_tokens;
    p->temperature = 1.0f; /* OpenAI's defaults */
    p->top_p = 1.0f;
    cJSON *root = cJSON_ParseWithLength(body, len);
    double x;
    int r;
    if (!root) FAIL("the body is not valid JSON");
    if (!cJSON_IsObject(root)) FAIL("the body must be a JSON object");

    if (kind == SRV_CHAT) {
        if (parse_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), p, err, errcap)) goto fail;
    } else if (parse_prompt(cJSON_GetObjectItemCaseSensitive(root, "prompt"), lim, p, err, errcap)) {
        goto fail;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsNull(model) && !text(model, "'model'", err, errcap)) goto fail;

    /* max_completion_tokens is the chat API's newer name for max_tokens */
    const char *mt = kind == SRV_CHAT && cJSON_GetObjectItemCaseSensitive(root, "max_completion_tokens")
                         ? "max_completion_tokens" : "max_tokens";
    if ((r = num(root, mt, 1, lim->max_tokens, 1, &x, err, errcap)) < 0) goto fail;
    if (r) p->max_tokens = (int)x;
    if ((r = num(root, "temperature", 0, 2, 0, &x, err, errcap)) < 0) goto fail;
    if (r) p->temperature = (float)x;
    if ((r = num(root, "top_p", 0, 1, 0, &x, err, errcap)) < 0) goto fail;
    if (r) p->top_p = (float)x;
    if ((r = num(root, "min_p", 0, 1, 0, &x, err, errcap)) < 0) goto fail;
    if (r) p->min_p = (float)x;
    if ((r = num(root, "top_k", 0, 1 << 30, 1, &x, err, errcap)) < 0) goto fail;
    if (r) p->top_k = (int)x;
    if ((r = num(root, "presence_penalty", -2, 2, 0, &x, err, errcap)) < 0) goto fail;
    if (r) p->presence_penalty = (float)x;
    if ((r = num(root, "frequency_penalty", -2, 2, 0, &x, err, errcap)) < 0) goto fail;
    if (r) p->frequency_penalty = (float)x;
    /* seeds: any integer a double holds exactly; negatives wrap to uint64 */
    if ((r = num(root, "seed", -9007199254740992.0, 9007199254740992.0, 1, &x, err, errcap)) < 0) goto fail;
    if (r) p->seed = (uint64_t)(int64_t)x, p->seed_set = 1;
    if ((r = num(root, "n", 1, 1, 1, &x, err, errcap)) < 0) {
        snprintf(err, errcap, "'n' must be 1: one choice per request");
        goto fail;
    }
    if ((r = num(root, "best_of", 1, 1, 1, &x, err, errcap)) < 0) {
        snprintf(err, errcap, "'best_of' must be 1");
        goto fail;
    }
    if (boolean(root, "stream", &p->stream, err, errcap) < 0) goto fail;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) FAIL("'stream_options' must be an object");
        if (boolean(so, "include_usage", &p->include_usage, err, errcap) < 0) goto fail;
    }
    int echo = 0;
    if (boolean(root, "echo", &echo, err, errcap) < 0) goto fail;
    if (echo) FAIL("'echo' is not supported");

    if (kind == SRV_CHAT) {
        if (boolean(root, "logprobs", &p->logprobs, err, errcap) < 0) goto fail;
        if ((r = num(root, "top_logprobs", 0, SRV_MAX_TOP_LOGPROBS, 1, &x, err, errcap)) < 0) goto fail;
        if (r) {
            if (!p->logprobs && x > 0) FAIL("'top_logprobs' needs 'logprobs': true");
            p->top_logprobs = (int)x;
        }
    } else {
        /* completions: logprobs is the number of alternatives, 0..5 */
        if ((r = num(root, "logprobs", 0, 5, 1, &x, err, errcap)) < 0) goto fail;
        if (r) p->logprobs = 1, p->top_logprobs = (int)x;
    }

    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (st && !cJSON_IsNull(st)) {
        const cJSON *one = st, *v;
        if (cJSON_IsArray(st)) {
            if (cJSON_GetArraySize(st) > SRV_MAX_STOP) FAIL("'stop' has more than %d strings", SRV_MAX_STOP);
            one = NULL;
        } else if (!cJSON_IsString(st)) {
            FAIL("'stop' must be a string or an array of up to %d strings", SRV_MAX_STOP);
        }
        for (v = one ? one : st->child; v; v = one ? NULL : v->next) {
            const char *t = text(v, "each 'stop' entry", err, errcap);
            if (!t) goto fail;
            size_t n = strlen(t);
            if (n == 0) continue; /* an empty stop string stops nothing */
            if (n > SRV_MAX_STOP_LEN) FAIL("a 'stop' string is longer than %d bytes", SRV_MAX_STOP_LEN);
            if (!(p->stop[p->n_stop] = strdup(t))) FAIL("out of memory");
            p->n_stop++;
        }
    }
    cJSON_Delete(root);
    return 0;
fail:
    cJSON_Delete(root);
    srv_params_free(p);
    return -1;
}

void srv_params_free(srv_params *p) {
    free(p->prompt);
    free(p->ids);
    free(p->msgs);
    free(p->store);
    for (int i = 0; i < p->n_stop; i++) free(p->stop[i]);
    memset(p, 0, sizeof *p);
}
