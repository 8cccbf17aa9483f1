/* serve.h: the parts of `tick serve` (apps/serve*.c) that talk to each
 * other: request parsing (serve_req.c, pure: fuzzed by fuzz/fuzz_request.c),
 * the scheduler that owns the session (serve_sched.c) and the HTTP side
 * (serve.c). Only apps/ print, parse argv or exit. */
#ifndef TK_APPS_SERVE_H
#define TK_APPS_SERVE_H

#include "tick.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- requests (serve_req.c) ------------------------------------------------ */

enum { SRV_COMPLETION = 1, SRV_CHAT = 2 };
#define SRV_MAX_STOP 4
#define SRV_MAX_STOP_LEN 256
#define SRV_MAX_TOP_LOGPROBS 20

typedef struct srv_limits {
    int max_tokens;  /* largest max_tokens a request may ask for (and the default) */
    int n_vocab;     /* token ids in prompts must be below this */
    int max_prompt;  /* prompt tokens (the context) */
} srv_limits;

typedef struct srv_params {
    int kind;                 /* SRV_COMPLETION or SRV_CHAT */
    char *prompt;             /* completions: the prompt text (NULL if ids) */
    int32_t *ids;             /* completions: the prompt as token ids */
    int n_ids;
    tk_chat_msg *msgs;        /* chat: role/content point into store */
    int n_msgs;
    char *store;
    int max_tokens;
    float temperature, top_p, min_p, presence_penalty, frequency_penalty;
    int top_k;
    uint64_t seed;
    int seed_set;
    char *stop[SRV_MAX_STOP];
    int n_stop;
    int stream, include_usage;
    int logprobs;             /* report log-probabilities of the chosen tokens */
    int top_logprobs;         /* and of this many alternatives (0..20) */
} srv_params;

/* Parse and validate a /v1/completions or /v1/chat/completions body.
 * 0, or -1 with a one-line reason in err (a 400). */
int srv_parse_request(const char *body, size_t len, int kind, const srv_limits *lim,
                      srv_params *p, char *err, size_t errcap);
void srv_params_free(srv_params *p);

/* 1 if s[0..n) is valid UTF-8 (no NUL inside counts as valid too). */
int srv_utf8_ok(const char *s, size_t n);

/* ---- the scheduler (serve_sched.c) ------------------------------------------ */

typedef struct srv_tokinfo {      /* one generated token, for logprobs */
    int32_t id;
    float logprob;
    int n_top;
    int32_t top_id[SRV_MAX_TOP_LOGPROBS];
    float top_lp[SRV_MAX_TOP_LOGPROBS];
} srv_tokinfo;

enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE };

/* A generation request: filled by an HTTP thread, then shared with the
 * scheduler under srv_sched.mu until both have let go (refs). */
typedef struct srv_req {
    srv_params p;
    int32_t *ids;             /* the prompt's tokens */
    int n_ids;
    double t_submit, t_first, t_done; /* ns (tk_now_ns) */
    /* under the scheduler's mutex: */
    int state, cancelled, refs;
    char *out;                /* released text (valid UTF-8) */
    size_t out_len, out_cap;
    srv_tokinfo *toks;        /* generated tokens (when p.logprobs) */
    int n_toks, cap_toks;
    size_t *tok_off;          /* offset in out where each token's text begins */
    int n_gen, n_cached;      /* generated tokens; prompt tokens reused from the cache */
    const char *finish;       /* "stop" or "length" once done */
    int err_status;           /* non-zero: failed with this HTTP status */
    char err[256];
    struct srv_req *next;     /* queue link */
} srv_req;

typedef struct srv_sched_opts {
    int n_slots, n_ctx, n_threads, n_batch, queue_max;
    double timeout_s;         /* a request's whole life, queue included */
} srv_sched_opts;

typedef struct srv_sched srv_sched;

/* The histogram buckets of tick time (seconds) for /metrics. */
#define SRV_TICK_BUCKETS 10
extern const double srv_tick_bucket_le[SRV_TICK_BUCKETS];

typedef struct srv_stats {
    uint64_t prompt_tokens, gen_tokens, cached_tokens, requests_done;
    uint64_t ticks, tick_hist[SRV_TICK_BUCKETS]; /* cumulative counts per bucket */
    double tick_seconds;
    int queue_depth, slots_busy, n_slots;
    uint64_t kv_used, kv_cap;
} srv_stats;

srv_sched *srv_sched_new(tk_model *m, const srv_sched_opts *o, tk_error *e);
void srv_sched_free(srv_sched *s); /* stops the thread, fails what is left */
/* Queue r (refs taken for the scheduler). 0; 429 when the queue is full;
 * 503 when shutting down. */
int srv_submit(srv_sched *s, srv_req *r);
/* Mark r cancelled (client gone): its slot frees at the next tick. */
void srv_cancel(srv_sched *s, srv_req *r);
/* Drop the caller's reference. */
void srv_release(srv_sched *s, srv_req *r);
/* Wait (up to ms) until r has news beyond the given out_len / n_toks or is
 * done; the caller then reads r under srv_lock. */
void srv_lock(srv_sched *s);
void srv_unlock(srv_sched *s);
void srv_wait_locked(srv_sched *s, int ms);
void srv_stats_get(srv_sched *s, srv_stats *st);
/* Stop taking requests (new submits get 503); 1 while any is in flight. */
void srv_drain(srv_sched *s);
int srv_busy(srv_sched *s);
/* Cancel everything in flight (shutdown timeout). */
void srv_cancel_all(srv_sched *s);
/* Mean-pooled embedding (n_embd floats) of ids, run by the scheduler
 * between ticks. 0 or a tk_status with e set. */
int srv_embed(srv_sched *s, const int32_t *ids, int n, float *out, tk_error *e);
int srv_n_ctx(const srv_sched *s);

#endif
