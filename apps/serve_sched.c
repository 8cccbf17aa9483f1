/* serve_sched.c: the scheduler of `tick serve`: one thread owns the
 * session and runs the tick loop for every slot at once.
 *
 * Each tick: admit queued requests into idle slots (the slot whose cached
 * tokens share the longest prefix with the prompt, so chat turns reuse
 * their KV), then build ONE batch: a decode row for every generating slot
 * plus prompt rows of prefilling slots up to n_batch rows in all, run it
 * (every weight read once for all rows), and sample every slot that got
 * logits. A long prompt is thus fed in chunks of what is left of n_batch
 * after the decode rows, and decoding slots wait at most one such tick.
 * A request joins decoding at the tick after its last prompt chunk and
 * leaves at the tick it finishes, is cancelled or times out.
 *
 * The HTTP threads see requests only under mu: the scheduler takes it to
 * admit, and to publish what a tick produced (released text, logprobs,
 * done), never while the forward pass runs. */
#include "serve.h"
#include "../src/base/cycles.h"
#include "../src/tokenizer/vocab.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double srv_tick_bucket_le[SRV_TICK_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

typedef struct slot {
    srv_req *req;             /* NULL: idle */
    int32_t *cache;           /* the tokens in this sequence's KV cache */
    int n_cache;
    int n_fed;                /* prompt tokens in the cache so far */
    int prefill;              /* still feeding the prompt */
    int32_t next;             /* sampled, to be fed at the next tick */
    int n_gen;
    tk_sampler *smp;
    int *counts;              /* per id: times generated (penalties) */
    char *gen;                /* generated text (complete UTF-8 chars) */
    size_t gen_len, gen_cap, released;
    tk_utf8_stream us;
    char *pend;               /* released this tick, to publish */
    size_t pend_len, pend_cap;
    srv_tokinfo ti;           /* this tick's token, to publish */
    int has_ti;
    const char *finish;       /* set when it ends this tick */
    int new_cached;           /* prompt tokens reused at admission (for stats) */
    uint64_t last_used;
} slot;

typedef struct embed_job {
    const int32_t *ids;
    int n, rc, done;
    float *out;
    tk_error *e;
    struct embed_job *next;
} embed_job;

struct srv_sched {
    tk_model *m;
    tk_session *sess;
    srv_sched_opts o;
    int n_vocab, n_ctx;
    pthread_t th;
    int th_started;
    pthread_mutex_t mu;
    pthread_cond_t work, progress;
    int stop, draining;
    srv_req *qhead, *qtail;
    int qlen;
    embed_job *jobs;
    slot *slots;
    tk_batch_item *items;
    int *item_slot;
    float *lbuf;
    srv_stats st;
    uint64_t use_clock;
};

static int grow(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb) return -1;
    *buf = nb, *cap = c;
    return 0;
}

/* Append text to a slot's pending output, each byte that is not part of
 * well-formed UTF-8 replaced by U+FFFD (JSON needs valid UTF-8). */
static void release(slot *sl, const char *t, size_t n) {
    if (grow(&sl->pend, &sl->pend_cap, sl->pend_len + 3 * n + 1)) return;
    size_t i = 0;
    while (i < n) {
        size_t k = 1;
        unsigned c = (unsigned char)t[i];
        if (c >= 0x80) k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c < 0x80 || (i + k <= n && srv_utf8_ok(t + i, k))) {
            memcpy(sl->pend + sl->pend_len, t + i, k);
            sl->pend_len += k, i += k;
        } else {
            memcpy(sl->pend + sl->pend_len, "\xEF\xBF\xBD", 3);
            sl->pend_len += 3, i++;
        }
    }
}

/* Drop the scheduler's reference (under mu). */
static void unref(srv_req *r) {
    if (--r->refs) return;
    srv_params_free(&r->p);
    free(r->ids), free(r->out), free(r->toks), free(r->tok_off), free(r);
}

static void finish_locked(srv_sched *s, srv_req *r) {
    r->state = REQ_DONE;
    r->t_done = tk_now_ns();
    s->st.requests_done++;
    unref(r);
}

/* ---- sampling ------------------------------------------------------------- */

/* Log-probabilities from the model's own distribution (raw logits, before
 * penalties and temperature): the chosen id and the top n. */
static void logprobs(const float *lg, int nv, int32_t id, int n_top, srv_tokinfo *ti) {
    float mx = lg[0];
    for (int i = 1; i < nv; i++) mx = lg[i] > mx ? lg[i] : mx;
    double sum = 0;
    for (int i = 0; i < nv; i++) sum += exp((double)(lg[i] - mx));
    float lse = mx + (float)log(sum);
    ti->id = id;
    ti->logprob = lg[id] - lse;
    ti->n_top = 0;
    /* insertion into a short sorted list: n_top <= 20 */
    for (int i = 0; i < nv && n_top > 0; i++) {
        int k = ti->n_top;
        if (k == n_top && lg[i] - lse <= ti->top_lp[k - 1]) continue;
        if (k < n_top) ti->n_top++;
        else k--;
        while (k > 0 && ti->top_lp[k - 1] < lg[i] - lse) {
            ti->top_lp[k] = ti->top_lp[k - 1], ti->top_id[k] = ti->top_id[k - 1];
            k--;
        }
        ti->top_lp[k] = lg[i] - lse, ti->top_id[k] = i;
    }
}

/* The longest k < len(stop) such that text ends with stop's first k bytes. */
static size_t partial_stop(const char *t, size_t n, const char *stop) {
    size_t sl = strlen(stop);
    for (size_t k = sl - 1 < n ? sl - 1 : n; k > 0; k--)
        if (!memcmp(t + n - k, stop, k)) return k;
    return 0;
}

/* A generated token's text: into gen, then released up to what could still
 * be the start of a stop string; a completed stop string ends the request
 * and is not sent. */
static void take_text(slot *sl, const char *piece, int len, int final) {
    srv_req *r = sl->req;
    char buf[600];
    int w = final ? tk_utf8_stream_flush(&sl->us, buf) : tk_utf8_stream_push(&sl->us, piece, len, buf);
    if (grow(&sl->gen, &sl->gen_cap, sl->gen_len + (size_t)w + 1)) return;
    memcpy(sl->gen + sl->gen_len, buf, (size_t)w);
    sl->gen_len += (size_t)w;
    size_t from = sl->released > SRV_MAX_STOP_LEN ? sl->released - SRV_MAX_STOP_LEN : 0, hit = (size_t)-1;
    for (int i = 0; i < r->p.n_stop; i++) {
        const char *st = r->p.stop[i];
        size_t sl_ = strlen(st);
        for (size_t at = from; at + sl_ <= sl->gen_len && at < hit; at++)
            if (!memcmp(sl->gen + at, st, sl_)) { hit = at; break; }
    }
    if (hit != (size_t)-1) {
        sl->gen_len = hit;
        if (hit > sl->released) release(sl, sl->gen + sl->released, hit - sl->released);
        sl->released = hit;
        sl->finish = "stop";
        return;
    }
    size_t hold = 0;
    if (!final)
        for (int i = 0; i < r->p.n_stop; i++) {
            size_t k = partial_stop(sl->gen + sl->released, sl->gen_len - sl->released, r->p.stop[i]);
            hold = k > hold ? k : hold;
        }
    if (sl->gen_len - hold > sl->released) release(sl, sl->gen + sl->released, sl->gen_len - hold - sl->released);
    sl->released = sl->gen_len - hold;
}

static void sample(srv_sched *s, slot *sl, const float *lg) {
    srv_req *r = sl->req;
    const float *L = lg;
    if (r->p.presence_penalty != 0 || r->p.frequency_penalty != 0) {
        /* OpenAI's rule over the tokens generated so far:
         * logit -= count * frequency_penalty + (count > 0) * presence_penalty */
        memcpy(s->lbuf, lg, (size_t)s->n_vocab * sizeof *lg);
        for (int i = 0; i < s->n_vocab; i++)
            if (sl->counts[i]) s->lbuf[i] -= sl->counts[i] * r->p.frequency_penalty + r->p.presence_penalty;
        L = s->lbuf;
    }
    int32_t id = tk_sampler_sample(sl->smp, L);
    if (r->p.logprobs) logprobs(lg, s->n_vocab, id, r->p.top_logprobs, &sl->ti), sl->has_ti = 1;
    sl->counts[id]++;
    sl->n_gen++;
    if (tk_token_is_eog(s->m, id)) {
        take_text(sl, NULL, 0, 1);
        if (!sl->finish) sl->finish = "stop";
        return;
    }
    char piece[512];
    int len = tk_token_piece(s->m, id, piece, (int)sizeof piece);
    if (len > (int)sizeof piece) len = (int)sizeof piece;
    take_text(sl, piece, len, 0);
    if (sl->finish) return;
    /* the token must fit in the cache to be fed; it is not fed if we stop */
    if (sl->n_gen >= r->p.max_tokens || sl->n_cache + 1 > s->n_ctx) {
        take_text(sl, NULL, 0, 1);
        if (!sl->finish) sl->finish = "length";
        return;
    }
    sl->next = id;
}

/* ---- admission -------------------------------------------------------------- */

static int lcp(const int32_t *a, int na, const int32_t *b, int nb) {
    int i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

/* Under mu: move queued requests into idle slots; returns how many. */
static int admit_locked(srv_sched *s, double now) {
    int n = 0;
    /* queued requests past their deadline fail */
    for (srv_req **pp = &s->qhead; *pp;) {
        srv_req *r = *pp;
        if (r->cancelled || now - r->t_submit > s->o.timeout_s * 1e9) {
            *pp = r->next;
            if (!r->cancelled) {
                r->err_status = 503;
                snprintf(r->err, sizeof r->err, "timed out after %g s waiting for a free slot", s->o.timeout_s);
            }
            s->qlen--;
            finish_locked(s, r);
            continue;
        }
        pp = &r->next;
    }
    s->qtail = NULL;
    for (srv_req *r = s->qhead; r; r = r->next) s->qtail = r;
    while (s->qhead) {
        srv_req *r = s->qhead;
        int best = -1, best_len = -1;
        for (int i = 0; i < s->o.n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->req) continue;
            int l = lcp(sl->cache, sl->n_cache, r->ids, r->n_ids);
            if (l > best_len || (l == best_len && sl->last_used < s->slots[best].last_used)) best = i, best_len = l;
        }
        if (best < 0) break;
        s->qhead = r->next;
        if (!s->qhead) s->qtail = NULL;
        s->qlen--;
        r->next = NULL;
        r->state = REQ_RUNNING;
        s->slots[best].req = r;
        s->slots[best].prefill = -1; /* set up outside the lock */
        n++;
    }
    return n;
}

/* Outside mu: a freshly admitted slot: keep the cached prefix, new sampler. */
static int setup(srv_sched *s, int i, tk_error *e) {
    slot *sl = &s->slots[i];
    srv_req *r = sl->req;
    int keep = lcp(sl->cache, sl->n_cache, r->ids, r->n_ids);
    if (keep >= r->n_ids) keep = r->n_ids - 1; /* the last prompt token gives the logits */
    if (tk_seq_truncate(s->sess, i, keep, e)) return -1;
    sl->n_cache = sl->n_fed = keep;
    r->n_cached = sl->new_cached = keep;
    sl->prefill = 1;
    sl->n_gen = 0;
    sl->gen_len = sl->released = 0;
    sl->us = (tk_utf8_stream){0};
    sl->finish = NULL;
    memset(sl->counts, 0, (size_t)s->n_vocab * sizeof *sl->counts);
    tk_sampler_params sp = tk_sampler_defaults();
    sp.temp = r->p.temperature;
    sp.top_k = r->p.top_k;
    sp.top_p = r->p.top_p;
    sp.min_p = r->p.min_p;
    sp.repeat_penalty = 1.0f;
    sp.repeat_last_n = 0;
    sp.seed = r->p.seed;
    tk_sampler_free(sl->smp);
    sl->smp = tk_sampler_new(&sp, s->n_vocab, e);
    return sl->smp ? 0 : -1;
}

/* ---- the loop ----------------------------------------------------------------- */

static void publish_locked(srv_sched *s, slot *sl) {
    srv_req *r = sl->req;
    if (sl->has_ti && r->n_toks < sl->n_gen) {
        if (r->n_toks == r->cap_toks) {
            int c = r->cap_toks ? 2 * r->cap_toks : 16;
            srv_tokinfo *nt = realloc(r->toks, (size_t)c * sizeof *nt);
            size_t *no = nt ? realloc(r->tok_off, (size_t)c * sizeof *no) : NULL;
            if (nt) r->toks = nt;
            if (no) r->tok_off = no, r->cap_toks = c;
        }
        if (r->n_toks < r->cap_toks) r->tok_off[r->n_toks] = r->out_len, r->toks[r->n_toks++] = sl->ti;
    }
    sl->has_ti = 0;
    if (sl->pend_len && !grow(&r->out, &r->out_cap, r->out_len + sl->pend_len + 1)) {
        memcpy(r->out + r->out_len, sl->pend, sl->pend_len);
        r->out_len += sl->pend_len;
        r->out[r->out_len] = 0;
    }
    sl->pend_len = 0;
    if (!r->t_first && sl->n_gen) r->t_first = tk_now_ns();
    r->n_gen = sl->n_gen;
    if (sl->finish || r->cancelled) {
        r->finish = sl->finish ? sl->finish : "length";
        s->st.gen_tokens += (uint64_t)sl->n_gen;
        sl->req = NULL;
        finish_locked(s, r);
    }
}

static void fail_slot_locked(srv_sched *s, slot *sl, const char *msg) {
    srv_req *r = sl->req;
    r->err_status = 500;
    snprintf(r->err, sizeof r->err, "%.250s", msg);
    sl->req = NULL;
    sl->n_cache = 0;
    finish_locked(s, r);
}

static void run_jobs(srv_sched *s) {
    pthread_mutex_lock(&s->mu);
    embed_job *j = s->jobs;
    int idle = -1;
    for (int i = 0; i < s->o.n_slots && j; i++)
        if (!s->slots[i].req) idle = i;
    if (idle < 0 || !j) { pthread_mutex_unlock(&s->mu); return; }
    s->jobs = j->next;
    pthread_mutex_unlock(&s->mu);
    j->rc = tk_embed(s->sess, idle, j->ids, j->n, j->out, j->e);
    s->slots[idle].n_cache = 0; /* tk_embed resets the sequence */
    pthread_mutex_lock(&s->mu);
    j->done = 1;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->mu);
}

static void *loop(void *arg) {
    srv_sched *s = arg;
    tk_error e = {0};
    for (;;) {
        pthread_mutex_lock(&s->mu);
        for (;;) {
            if (s->stop) { pthread_mutex_unlock(&s->mu); return NULL; }
            double now = tk_now_ns();
            admit_locked(s, now);
            int busy = 0;
            for (int i = 0; i < s->o.n_slots; i++) {
                slot *sl = &s->slots[i];
                if (!sl->req) continue;
                if (sl->req->cancelled || now - sl->req->t_submit > s->o.timeout_s * 1e9) {
                    if (!sl->req->cancelled) sl->finish = "length";
                    sl->req->cancelled = 1;
                    publish_locked(s, sl);
                    continue;
                }
                busy++;
            }
            if (busy || s->jobs) break;
            /* nothing to do: sleep until a submit (or the queue's deadlines) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->work, &s->mu, &ts);
        }
        pthread_mutex_unlock(&s->mu);

        if (s->jobs) run_jobs(s);
        for (int i = 0; i < s->o.n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->req && sl->prefill == -1 && setup(s, i, &e)) {
                pthread_mutex_lock(&s->mu);
                fail_slot_locked(s, sl, e.msg);
                pthread_mutex_unlock(&s->mu);
            }
        }

        /* one batch: decode rows first, then prompt chunks in what is left */
        int n = 0;
        for (int i = 0; i < s->o.n_slots; i++) {
            slot *sl = &s->slots[i];
            if (!sl->req || sl->prefill) continue;
            s->items[n] = (tk_batch_item){i, sl->next, 1};
            s->item_slot[n++] = i;
        }
        int budget = s->o.n_batch - n;
        for (int k = 0; k < s->o.n_slots && budget > 0; k++) {
            /* start at a rotating slot so no prompt waits behind others forever */
            int i = (int)((k + s->st.ticks) % (uint64_t)s->o.n_slots);
            slot *sl = &s->slots[i];
            if (!sl->req || sl->prefill != 1) continue;
            srv_req *r = sl->req;
            int c = r->n_ids - sl->n_fed < budget ? r->n_ids - sl->n_fed : budget;
            for (int j = 0; j < c; j++) {
                int last = sl->n_fed + j == r->n_ids - 1;
                s->items[n] = (tk_batch_item){i, r->ids[sl->n_fed + j], last};
                s->item_slot[n++] = i;
            }
            budget -= c;
        }
        if (n == 0) continue;
        double t0 = tk_now_ns();
        int rc = tk_batch_run(s->sess, s->items, n, &e);
        double dt = (tk_now_ns() - t0) / 1e9;
        if (rc) {
            /* should not happen (contexts are checked before); fail the slots of this batch */
            pthread_mutex_lock(&s->mu);
            for (int j = 0; j < n; j++)
                if (s->slots[s->item_slot[j]].req) fail_slot_locked(s, &s->slots[s->item_slot[j]], e.msg);
            for (int i = 0; i < s->o.n_slots; i++) tk_seq_truncate(s->sess, i, 0, &e), s->slots[i].n_cache = 0;
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        uint64_t n_prompt = 0;
        for (int j = 0; j < n; j++) {
            slot *sl = &s->slots[s->item_slot[j]];
            sl->cache[sl->n_cache++] = s->items[j].token;
            if (sl->prefill) sl->n_fed++, n_prompt++;
            if (!s->items[j].logits) continue;
            sl->prefill = 0;
            sample(s, sl, tk_batch_logits(s->sess, j));
        }
        pthread_mutex_lock(&s->mu);
        s->st.ticks++;
        s->st.tick_seconds += dt;
        for (int b = 0; b < SRV_TICK_BUCKETS; b++)
            if (dt <= srv_tick_bucket_le[b]) s->st.tick_hist[b]++;
        s->st.prompt_tokens += n_prompt;
        s->use_clock++;
        for (int i = 0; i < s->o.n_slots; i++) {
            slot *sl = &s->slots[i];
            if (!sl->req) continue;
            sl->last_used = s->use_clock;
            s->st.cached_tokens += (uint64_t)sl->new_cached;
            sl->new_cached = 0;
            publish_locked(s, sl);
        }
        pthread_cond_broadcast(&s->progress);
        pthread_mutex_unlock(&s->mu);
    }
}

/* ---- the API --------------------------------------------------------------------- */

srv_sched *srv_sched_new(tk_model *m, const srv_sched_opts *o, tk_error *e) {
    srv_sched *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->m = m;
    s->o = *o;
    s->n_vocab = tk_n_vocab(m);
    tk_session_opts so = {.n_ctx = o->n_ctx, .n_threads = o->n_threads, .n_batch = o->n_batch, .n_seq = o->n_slots};
    s->sess = tk_session_new(m, &so, e);
    if (!s->sess) { free(s); return NULL; }
    s->n_ctx = tk_session_n_ctx(s->sess);
    if (s->o.n_batch > tk_session_n_batch(s->sess)) s->o.n_batch = tk_session_n_batch(s->sess);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->progress, NULL);
    s->slots = calloc((size_t)o->n_slots, sizeof *s->slots);
    s->items = calloc((size_t)o->n_batch, sizeof *s->items);
    s->item_slot = calloc((size_t)o->n_batch, sizeof *s->item_slot);
    s->lbuf = malloc((size_t)s->n_vocab * sizeof *s->lbuf);
    int ok = s->slots && s->items && s->item_slot && s->lbuf;
    for (int i = 0; ok && i < o->n_slots; i++) {
        s->slots[i].cache = malloc((size_t)s->n_ctx * sizeof(int32_t));
        s->slots[i].counts = calloc((size_t)s->n_vocab, sizeof(int));
        ok = s->slots[i].cache && s->slots[i].counts;
    }
    s->st.n_slots = o->n_slots;
    s->st.kv_cap = (uint64_t)o->n_slots * (uint64_t)s->n_ctx;
    if (!ok || pthread_create(&s->th, NULL, loop, s)) {
        srv_sched_free(s);
        goto nomem;
    }
    s->th_started = 1;
    return s;
nomem:
    e->code = TK_ENOMEM;
    snprintf(e->msg, sizeof e->msg, "out of memory");
    return NULL;
}

void srv_sched_free(srv_sched *s) {
    if (!s) return;
    if (s->th_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    for (srv_req *r = s->qhead, *nx; r; r = nx) nx = r->next, r->state = REQ_DONE, unref(r);
    for (int i = 0; s->slots && i < s->o.n_slots; i++) {
        if (s->slots[i].req) s->slots[i].req->state = REQ_DONE, unref(s->slots[i].req);
        free(s->slots[i].cache), free(s->slots[i].counts), free(s->slots[i].gen), free(s->slots[i].pend);
        tk_sampler_free(s->slots[i].smp);
    }
    tk_session_free(s->sess);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->progress);
    free(s->slots), free(s->items), free(s->item_slot), free(s->lbuf), free(s);
}

int srv_n_ctx(const srv_sched *s) { return s->n_ctx; }

int srv_submit(srv_sched *s, srv_req *r) {
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->draining || s->stop) rc = 503;
    else if (s->qlen >= s->o.queue_max) rc = 429;
    else {
        r->refs = 2;
        r->state = REQ_QUEUED;
        r->t_submit = tk_now_ns();
        r->next = NULL;
        if (s->qtail) s->qtail->next = r;
        else s->qhead = r;
        s->qtail = r;
        s->qlen++;
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void srv_cancel(srv_sched *s, srv_req *r) {
    pthread_mutex_lock(&s->mu);
    r->cancelled = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

void srv_release(srv_sched *s, srv_req *r) {
    pthread_mutex_lock(&s->mu);
    unref(r);
    pthread_mutex_unlock(&s->mu);
}

void srv_lock(srv_sched *s) { pthread_mutex_lock(&s->mu); }
void srv_unlock(srv_sched *s) { pthread_mutex_unlock(&s->mu); }

void srv_wait_locked(srv_sched *s, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&s->progress, &s->mu, &ts);
}

void srv_stats_get(srv_sched *s, srv_stats *st) {
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    st->queue_depth = s->qlen;
    st->slots_busy = 0;
    st->kv_used = 0;
    for (int i = 0; i < s->o.n_slots; i++) {
        st->slots_busy += s->slots[i].req != NULL;
        st->kv_used += (uint64_t)s->slots[i].n_cache;
    }
    pthread_mutex_unlock(&s->mu);
}

void srv_drain(srv_sched *s) {
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
}

int srv_busy(srv_sched *s) {
    pthread_mutex_lock(&s->mu);
    int b = s->qlen > 0 || s->jobs;
    for (int i = 0; i < s->o.n_slots; i++) b |= s->slots[i].req != NULL;
    pthread_mutex_unlock(&s->mu);
    return b;
}

void srv_cancel_all(srv_sched *s) {
    pthread_mutex_lock(&s->mu);
    for (srv_req *r = s->qhead; r; r = r->next) r->cancelled = 1;
    for (int i = 0; i < s->o.n_slots; i++)
        if (s->slots[i].req) s->slots[i].req->cancelled = 1;
    for (embed_job *j = s->jobs; j; j = j->next) {
        j->e->code = j->rc = TK_EINVAL;
        snprintf(j->e->msg, sizeof j->e->msg, "the server is shutting down");
        j->done = 1;
    }
    s->jobs = NULL;
    pthread_cond_broadcast(&s->progress);
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
}

int srv_embed(srv_sched *s, const int32_t *ids, int n, float *out, tk_error *e) {
    embed_job j = {.ids = ids, .n = n, .out = out, .e = e};
    pthread_mutex_lock(&s->mu);
    if (s->draining || s->stop) {
        pthread_mutex_unlock(&s->mu);
        e->code = TK_EINVAL;
        snprintf(e->msg, sizeof e->msg, "the server is shutting down");
        return TK_EINVAL;
    }
    embed_job **pp = &s->jobs;
    while (*pp) pp = &(*pp)->next;
    *pp = &j;
    pthread_cond_signal(&s->work);
    while (!j.done) srv_wait_locked(s, 100);
    pthread_mutex_unlock(&s->mu);
    return j.rc;
}
