/* test_batch.c: several sequences in one session (tk_batch_run) against
 * each sequence run alone (tk_prefill / tk_decode in a session of its
 * own): interleaved prompts and decodes in batched ticks, sequences
 * joining and leaving, prompt-cache reuse with tk_seq_truncate, on 1-3
 * threads. The same logits (bit-identical for Q8_0/Q4_0, whose batched
 * and single-row matmuls give the same bits; within 1e-4 for float
 * weights, whose tiled GEMM sums in another order than the single-row
 * dot products, the tolerance test_model uses for a burst) and the same
 * greedy ids. Plus the errors, the clock of a batched tick, and tk_embed
 * against the mean of the hidden states taken one position at a time. */
#include "t.h"
#include "tick.h"
#include "../src/clock/clock.h"
#include "../src/runtime/session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORIES "models/stories260K.gguf"
#define STORIES_SHA "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
#define TINY_Q8 "models/golden-tiny256/tiny256-q8_0.gguf"
#define TINY_Q8_SHA "41253032aa6542a14ad8efa9f48fe546a0eead839b5f7fbb1cdb213a8459ac77"
#define TINY_Q4 "models/golden-tiny256/tiny256-q4_0.gguf"
#define TINY_Q4_SHA "407070089cbf4844703f8198858b244a9e81f60cdbc8fd9d65b0afc744532be2"
#define TINY_F32 "models/golden-tiny256/tiny256-f32.gguf"
#define TINY_F32_SHA "b4d01b7f4d4983e4418d3be66b418b64ff56a9e9cb592b21c82a8723224ed082"

enum { MAXSEQ = 8, MAXP = 40, MAXG = 24, MAXT = MAXP + MAXG };

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static double max_diff(const float *a, const float *b, int n) {
    double d = 0;
    for (int i = 0; i < n; i++) {
        double x = fabs((double)a[i] - b[i]);
        if (x > d || x != x) d = x != x ? INFINITY : x;
    }
    return d;
}

static tk_model *load(const char *rel, const char *sha) {
    const char *p = t_shared(rel, sha);
    if (!p) return NULL;
    tk_error e = {0};
    tk_model *m = tk_model_load(p, NULL, &e);
    T_CHECK(m != NULL, "load %s: %s", p, e.msg);
    return m;
}

/* A request: its prompt, and what running it alone gives: the logits after
 * the prompt and after each of n_gen greedy tokens, and those tokens. */
typedef struct req {
    int32_t prompt[MAXP];
    int n_prompt, n_gen, join; /* join: the tick it arrives at */
    float *ref;                /* [n_gen][n_vocab] */
    int32_t ref_ids[MAXG];
    /* while it runs in the batch */
    int slot, fed, got; /* prompt tokens in the cache, greedy tokens produced */
    int32_t ids[MAXG];
    double err;
} req;

/* prompt i: a BOS and pseudo-random ids (different lengths per request) */
static void make_prompt(req *r, int i, int n_vocab, const int32_t *prefix, int n_prefix) {
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    r->n_prompt = 3 + (i * 7) % (MAXP - 8);
    r->prompt[0] = 1;
    for (int k = 1; k < r->n_prompt; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        r->prompt[k] = 3 + (int32_t)(x % (uint64_t)(n_vocab - 3));
    }
    if (prefix) { /* a follow-up request sharing a prefix with an earlier one */
        memcpy(r->prompt, prefix, (size_t)n_prefix * sizeof *prefix);
        if (r->n_prompt <= n_prefix) r->n_prompt = n_prefix + 2;
    }
    r->n_gen = 4 + (i * 5) % (MAXG - 4);
}

/* The request alone in a one-sequence session: prefill, then greedy. */
static void reference(tk_model *m, req *r) {
    int nv = tk_n_vocab(m);
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = MAXT + 4};
    tk_session *s = tk_session_new(m, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    if (!s) return;
    r->ref = malloc((size_t)r->n_gen * (size_t)nv * sizeof(float));
    T_CHECK(tk_prefill(s, r->prompt, r->n_prompt, &e) == TK_OK, "prefill: %s", e.msg);
    for (int g = 0; g < r->n_gen; g++) {
        memcpy(r->ref + (size_t)g * nv, tk_logits(s), (size_t)nv * sizeof(float));
        r->ref_ids[g] = argmax(tk_logits(s), nv);
        if (g + 1 < r->n_gen) T_CHECK(tk_decode(s, r->ref_ids[g], &e) == TK_OK, "decode: %s", e.msg);
    }
    tk_session_free(s);
}

/* What a slot holds: the tokens in its cache (for prefix reuse). */
typedef struct slot {
    int32_t toks[MAXT];
    int n;
    req *r;
} slot;

/* A server's loop in small: requests arrive over time; each tick takes up
 * to `chunk` prompt tokens of each prefilling request and one token of each
 * decoding one, at most n_batch rows; a finished request frees its slot,
 * and a new one reuses the longest prefix its slot's cache shares with it. */
static void scheduler(tk_model *m, const char *name, int n_threads, double tol, int n_seq, int n_req, int chunk) {
    int nv = tk_n_vocab(m);
    req rq[16];
    memset(rq, 0, sizeof rq);
    for (int i = 0; i < n_req; i++) {
        /* every third request repeats the start of an earlier one */
        int shared = i >= 3 && i % 3 == 0;
        make_prompt(&rq[i], i, nv, shared ? rq[i - 3].prompt : NULL, shared ? rq[i - 3].n_prompt - 1 : 0);
        rq[i].join = i < n_seq ? i / 2 : 6 * i;
        rq[i].slot = -1;
        reference(m, &rq[i]);
    }
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = MAXT + 4, .n_threads = n_threads, .n_seq = n_seq, .n_batch = 16};
    tk_session *s = tk_session_new(m, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    if (!s) return;
    T_CHECK(tk_session_n_seq(s) == n_seq && tk_session_n_batch(s) == 16, "n_seq %d, n_batch %d", tk_session_n_seq(s),
            tk_session_n_batch(s));
    slot sl[MAXSEQ];
    memset(sl, 0, sizeof sl);
    int done = 0, reused = 0, mixed = 0, max_rows = 0;
    tk_batch_item it[16];
    req *owner[16];
    for (int tick = 0; done < n_req && tick < 1000; tick++) {
        /* arrivals: a free slot, the one sharing the longest prefix */
        for (int i = 0; i < n_req; i++) {
            req *r = &rq[i];
            if (r->slot >= 0 || r->got == r->n_gen || r->join > tick) continue;
            int best = -1, best_keep = -1;
            for (int k = 0; k < n_seq; k++) {
                if (sl[k].r) continue;
                int keep = 0;
                while (keep < sl[k].n && keep < r->n_prompt - 1 && sl[k].toks[keep] == r->prompt[keep]) keep++;
                if (keep > best_keep) best = k, best_keep = keep;
            }
            if (best < 0) continue;
            T_CHECK(tk_seq_truncate(s, best, best_keep, &e) == TK_OK, "truncate: %s", e.msg);
            T_CHECK(tk_seq_pos(s, best) == best_keep, "slot %d keeps %d", best, best_keep);
            reused += best_keep;
            sl[best].n = best_keep, sl[best].r = r;
            r->slot = best, r->fed = best_keep;
        }
        /* this tick's rows */
        int n = 0, pre = 0, dec = 0;
        for (int k = 0; k < n_seq && n < 16; k++) {
            req *r = sl[k].r;
            if (!r) continue;
            if (r->fed < r->n_prompt) {
                int c = r->n_prompt - r->fed;
                if (c > chunk) c = chunk;
                if (c > 16 - n) c = 16 - n;
                for (int j = 0; j < c; j++) {
                    it[n] = (tk_batch_item){k, r->prompt[r->fed + j], r->fed + j == r->n_prompt - 1};
                    owner[n++] = r;
                }
                pre = 1;
            } else {
                it[n] = (tk_batch_item){k, r->ids[r->got - 1], 1};
                owner[n++] = r;
                dec = 1;
            }
        }
        if (n == 0) continue;
        mixed += pre && dec;
        if (n > max_rows) max_rows = n;
        int rc = tk_batch_run(s, it, n, &e);
        T_CHECK(rc == TK_OK, "%s: batch of %d: %s", name, n, e.msg);
        if (rc) break;
        for (int i = 0; i < n; i++) {
            req *r = owner[i];
            slot *q = &sl[r->slot];
            q->toks[q->n++] = it[i].token;
            if (r->fed < r->n_prompt) r->fed++;
            const float *l = tk_batch_logits(s, i);
            T_CHECK((l != NULL) == (it[i].logits != 0), "logits of item %d only when asked", i);
            if (!l) continue;
            double d = max_diff(l, r->ref + (size_t)r->got * nv, nv);
            if (d > r->err) r->err = d;
            r->ids[r->got++] = argmax(l, nv);
            T_CHECK(tk_seq_pos(s, r->slot) == q->n, "slot %d at %d", r->slot, q->n);
            if (r->got == r->n_gen) { /* leaves */
                q->r = NULL;
                r->slot = -1;
                done++;
            }
        }
    }
    double worst = 0;
    int same = 1;
    for (int i = 0; i < n_req; i++) {
        if (rq[i].err > worst) worst = rq[i].err;
        if (rq[i].got != rq[i].n_gen || memcmp(rq[i].ids, rq[i].ref_ids, (size_t)rq[i].n_gen * sizeof(int32_t))) same = 0;
        free(rq[i].ref);
    }
    T_CHECK(done == n_req, "%s: %d of %d requests finished", name, done, n_req);
    T_CHECK(same, "%s, %d threads: greedy ids differ from the requests run alone", name, n_threads);
    T_CHECK(worst <= tol, "%s, %d threads: max |logit diff| %.3g > %.1g", name, n_threads, worst, tol);
    T_CHECK(mixed > 0 && reused >= 20 && max_rows > n_seq, "prefill and decode mixed in %d ticks, %d positions reused, up to %d rows",
            mixed, reused, max_rows);
    printf("  %-40s %d threads, %d slots, %d requests: max|dlogit| %.2e, ids identical; %d mixed ticks, %d positions reused\n",
           name, n_threads, n_seq, n_req, worst, mixed, reused);
    tk_session_free(s);
}

static void batch_model(const char *rel, const char *sha, double tol) {
    tk_model *m = load(rel, sha);
    if (!m) T_SKIP("fixture %s is absent or altered", rel);
    for (int nt = 1; nt <= 3; nt++) scheduler(m, rel, nt, tol, nt == 2 ? 8 : 4, nt == 2 ? 12 : 9, nt == 3 ? 5 : 16);
    tk_model_free(m);
}

static void test_batch_stories(void) { batch_model(STORIES, STORIES_SHA, 1e-4); }
static void test_batch_tiny_f32(void) { batch_model(TINY_F32, TINY_F32_SHA, 1e-4); }
static void test_batch_tiny_q8_0(void) { batch_model(TINY_Q8, TINY_Q8_SHA, 0); }
static void test_batch_tiny_q4_0(void) { batch_model(TINY_Q4, TINY_Q4_SHA, 0); }

/* Bad calls fail with one message and change nothing: the other
 * sequences go on as if the call had not been made. */
static void test_errors(void) {
    tk_model *m = load(TINY_Q8, TINY_Q8_SHA);
    if (!m) T_SKIP("fixture %s is absent or altered", TINY_Q8);
    int nv = tk_n_vocab(m);
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = 8, .n_seq = 3, .n_batch = 4};
    tk_session *s = tk_session_new(m, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    if (!s) { tk_model_free(m); return; }
    /* seq 1 fills its context; seq 0 has 2 tokens */
    tk_batch_item fill[4] = {{1, 1, 0}, {1, 5, 0}, {1, 6, 0}, {1, 7, 1}};
    T_CHECK(tk_batch_run(s, fill, 4, &e) == TK_OK && tk_batch_run(s, fill, 4, &e) == TK_OK, "fill: %s", e.msg);
    tk_batch_item a[2] = {{0, 1, 0}, {0, 9, 1}};
    T_CHECK(tk_batch_run(s, a, 2, &e) == TK_OK, "seq 0: %s", e.msg);
    T_CHECK(tk_seq_pos(s, 0) == 2 && tk_seq_pos(s, 1) == 8 && tk_seq_pos(s, 2) == 0, "positions 2, 8, 0");
    struct { tk_batch_item it[5]; int n, code; const char *what; } bad[] = {
        {{{0, 3, 1}, {1, 4, 1}}, 2, TK_ECONTEXT, "sequence 1: context is full"},
        {{{0, 3, 1}, {3, 4, 1}}, 2, TK_EINVAL, "sequence 3 does not exist"},
        {{{-1, 3, 1}}, 1, TK_EINVAL, "sequence -1 does not exist"},
        {{{0, 3, 1}, {0, (int32_t)nv, 1}}, 2, TK_EINVAL, "outside the vocabulary"},
        {{{0, -2, 1}}, 1, TK_EINVAL, "outside the vocabulary"},
        {{{0, 3, 0}, {2, 4, 0}, {0, 5, 1}}, 3, TK_EINVAL, "not consecutive"},
        {{{0, 3, 0}, {0, 4, 0}, {0, 5, 0}, {0, 6, 0}, {0, 7, 1}}, 5, TK_EINVAL, "1 to 4"},
        {{{0, 3, 1}}, 0, TK_EINVAL, "1 to 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.msg[0] = 0;
        int rc = tk_batch_run(s, bad[i].it, bad[i].n, &e);
        T_CHECK(rc == bad[i].code && strstr(e.msg, bad[i].what) && !strchr(e.msg, '\n'), "bad batch %zu: %d \"%s\"", i, rc,
                e.msg);
        T_CHECK(tk_seq_pos(s, 0) == 2 && tk_seq_pos(s, 1) == 8 && tk_seq_pos(s, 2) == 0, "bad batch %zu changed nothing", i);
    }
    T_CHECK(tk_batch_logits(s, 0) == NULL && tk_batch_logits(s, -1) == NULL && tk_batch_logits(s, 99) == NULL,
            "no logits after a failed call or for an item out of range");
    T_CHECK(tk_seq_truncate(s, 0, 3, &e) == TK_EINVAL && strstr(e.msg, "cannot keep 3"), "truncate past pos: %s", e.msg);
    T_CHECK(tk_seq_truncate(s, 0, -1, &e) == TK_EINVAL, "negative truncate");
    T_CHECK(tk_seq_truncate(s, 5, 0, &e) == TK_EINVAL && tk_seq_pos(s, 5) == -1, "truncate of a bad seq");
    float emb[64];
    int32_t many[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    T_CHECK(tk_embed(s, 0, many, 0, emb, &e) == TK_EINVAL, "embed of nothing");
    T_CHECK(tk_embed(s, 2, many, 9, emb, &e) == TK_ECONTEXT, "embed past the context: %s", e.msg);
    T_CHECK(tk_embed(s, 3, many, 2, emb, &e) == TK_EINVAL, "embed in a bad seq");

    /* seq 0 goes on, alone, and gets what a one-sequence session gets */
    tk_batch_item b[1] = {{0, 3, 1}};
    T_CHECK(tk_batch_run(s, b, 1, &e) == TK_OK, "seq 0 after the errors: %s", e.msg);
    tk_session *r = tk_session_new(m, &(tk_session_opts){.n_ctx = 8}, &e);
    int32_t ids[3] = {1, 9, 3};
    T_CHECK(r && tk_prefill(r, ids, 3, &e) == TK_OK, "reference: %s", e.msg);
    T_CHECK(r && !memcmp(tk_batch_logits(s, 0), tk_logits(r), (size_t)nv * 4), "seq 0 unaffected by the errors");
    T_CHECK(tk_logits(s) == NULL, "tk_logits (sequence 0's last tk_decode) is NULL after a batch run");
    /* reset through the one-sequence calls acts on sequence 0 only */
    tk_session_reset(s);
    T_CHECK(tk_session_pos(s) == 0 && tk_seq_pos(s, 1) == 8, "reset: seq 0 only");
    tk_session_free(r);
    tk_session_free(s);
    T_CHECK(tk_session_new(m, &(tk_session_opts){.n_seq = 5000}, &e) == NULL && e.code == TK_EINVAL, "5000 sequences: %s",
            e.msg);
    T_CHECK(tk_session_new(m, &(tk_session_opts){.n_seq = -1}, &e) == NULL && e.code == TK_EINVAL, "-1 sequences: %s", e.msg);
    tk_model_free(m);
}

/* A tick of 8 sequences decoding reads each weight once: about the bytes
 * of a one-sequence tick, with 8 x its matmul FLOPs. */
static void test_clock_batched_tick(void) {
    tk_model *m = load(STORIES, STORIES_SHA);
    if (!m) T_SKIP("fixture %s is absent or altered", STORIES);
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = 32, .n_seq = 8, .clock = 1};
    tk_session *s = tk_session_new(m, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    if (!s) { tk_model_free(m); return; }
    tk_batch_item it[8];
    for (int k = 0; k < 8; k++) it[k] = (tk_batch_item){k, 1, 1};
    T_CHECK(tk_batch_run(s, it, 1, &e) == TK_OK, "one: %s", e.msg);   /* seq 0 at position 0 */
    T_CHECK(tk_batch_run(s, it + 1, 7, &e) == TK_OK, "seven: %s", e.msg); /* seqs 1..7 at position 0 */
    for (int k = 0; k < 8; k++) it[k].token = 100 + k;
    T_CHECK(tk_batch_run(s, it, 1, &e) == TK_OK, "one: %s", e.msg);   /* seq 0 at 1 */
    for (int k = 1; k < 8; k++) it[k].token = 100;
    T_CHECK(tk_batch_run(s, it, 8, &e) == TK_OK, "eight: %s", e.msg); /* seq 0 at 2, the others at 1 */
    const tk_clock *c = tk_session_clock(s);
    T_CHECK(c && c->n_ticks == 4, "4 ticks");
    if (!c || c->n_ticks != 4) { tk_session_free(s); tk_model_free(m); return; }
    const tk_tick_rec *one = &c->ticks[2], *eight = &c->ticks[3];
    T_CHECK(one->n == 1 && one->n_seq == 1 && eight->n == 8 && eight->n_seq == 8 && eight->n_out == 8 &&
            eight->phase == TK_PHASE_DECODE && eight->pos == 2, "the batched tick's record: %d rows of %d sequences",
            eight->n, eight->n_seq);
    T_CHECK(eight->ctx == 3 + 7 * 2, "attention reads 3 + 7 x 2 positions (%g)", eight->ctx);
    double mm1 = 0, mm8 = 0;
    const tk_graph *g = tk_session_graph(s);
    for (int i = 0; i < g->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        if (op->kind == TK_KIND_QKV || op->kind == TK_KIND_FFN || op->kind == TK_KIND_ATTN_OUT || op->kind == TK_KIND_CLASSIFIER)
            mm1 += tk_op_flops(op, one), mm8 += tk_op_flops(op, eight);
    }
    T_CHECK(mm8 == 8 * mm1, "matmul FLOPs of 8 rows %.0f = 8 x %.0f", mm8, mm1);
    T_CHECK(eight->bytes < 2 * one->bytes, "8 sequences' tick reads %.0f bytes, one's %.0f: weights once", eight->bytes,
            one->bytes);
    printf("  bytes per tick: 1 sequence %.0f, 8 sequences %.0f (x%.2f for 8x the tokens)\n", one->bytes, eight->bytes,
           eight->bytes / one->bytes);
    T_CHECK(c->ticks[1].phase == TK_PHASE_DECODE && c->n_tokens[TK_PHASE_DECODE] == 17, "decode rows counted: %llu",
            (unsigned long long)c->n_tokens[TK_PHASE_DECODE]);
    tk_session_free(s);
    tk_model_free(m);
}

/* tk_embed against the mean of the final-norm hidden states taken one
 * position at a time (tk_decode in a one-sequence session), normalized
 * here; in a slot of a busy session (whose other sequence is unaffected)
 * and in bursts smaller than the text. */
static void embed_model(const char *rel, const char *sha, double tol) {
    tk_model *m = load(rel, sha);
    if (!m) T_SKIP("fixture %s is absent or altered", rel);
    const tk_model_info *I = tk_model_info_of(m);
    int E = I->n_embd, nv = I->n_vocab;
    int32_t ids[11] = {1, 403, 407, 261, 378, 432, 383, 286, 300, 301, 302};
    for (int i = 0; i < 11; i++) ids[i] %= nv;
    tk_error e = {0};
    tk_session *r = tk_session_new(m, &(tk_session_opts){.n_ctx = 16}, &e);
    double *mean = calloc((size_t)E, sizeof *mean), ss = 0;
    for (int i = 0; i < 11; i++) {
        T_CHECK(tk_decode(r, ids[i], &e) == TK_OK, "decode: %s", e.msg);
        const float *h = tk_session_hidden(r);
        for (int j = 0; j < E; j++) mean[j] += h[j] / 11.0;
    }
    for (int j = 0; j < E; j++) ss += mean[j] * mean[j];
    float *out = malloc((size_t)E * sizeof *out);
    for (int nb = 4; nb <= 16; nb += 12) {
        tk_session *s = tk_session_new(m, &(tk_session_opts){.n_ctx = 16, .n_seq = 2, .n_batch = nb, .n_threads = 2}, &e);
        tk_batch_item it[3] = {{0, 1, 0}, {0, 403 % nv, 0}, {0, 407 % nv, 1}};
        T_CHECK(s && tk_batch_run(s, it, 3, &e) == TK_OK, "seq 0: %s", e.msg);
        if (!s) continue;
        float keep[512];
        memcpy(keep, tk_batch_logits(s, 2), (size_t)nv * 4);
        T_CHECK(tk_embed(s, 1, ids, 11, out, &e) == TK_OK, "embed: %s", e.msg);
        double d = 0, norm = 0;
        for (int j = 0; j < E; j++) {
            double x = fabs(out[j] - mean[j] / sqrt(ss));
            if (x > d) d = x;
            norm += (double)out[j] * out[j];
        }
        T_CHECK(d <= tol, "%s: embedding differs by %.3g from the hidden states' mean (n_batch %d)", rel, d, nb);
        T_CHECK(fabs(sqrt(norm) - 1) < 1e-6, "unit norm (%.9f)", sqrt(norm));
        T_CHECK(tk_seq_pos(s, 1) == 0 && tk_seq_pos(s, 0) == 3, "embed leaves seq 1 reset, seq 0 as it was");
        tk_batch_item next = {0, 261 % nv, 1};
        T_CHECK(tk_batch_run(s, &next, 1, &e) == TK_OK, "seq 0 goes on: %s", e.msg);
        tk_session_reset(r);
        T_CHECK(tk_prefill(r, (int32_t[]){1, 403 % nv, 407 % nv, 261 % nv}, 4, &e) == TK_OK, "reference: %s", e.msg);
        T_CHECK(max_diff(tk_batch_logits(s, 0), tk_logits(r), nv) <= tol * 10, "seq 0 unaffected by the embedding next to it");
        printf("  %-40s n_batch %2d: |embedding - mean of hidden rows| %.2e, norm %.9f\n", rel, nb, d, sqrt(norm));
        tk_session_free(s);
    }
    free(out);
    free(mean);
    tk_session_free(r);
    tk_model_free(m);
}

static void test_embed_stories(void) { embed_model(STORIES, STORIES_SHA, 1e-5); }
static void test_embed_tiny_q8_0(void) { embed_model(TINY_Q8, TINY_Q8_SHA, 1e-6); }

/* tick bench --seqs: a tgNxS row per sequence count, JSON included; a bad
 * list is one line on stderr and exit status 2. */
static void test_bench_seqs(void) {
    const char *p = t_shared(STORIES, STORIES_SHA);
    if (!p) T_SKIP("fixture %s is absent or altered", STORIES);
    char args[512];
    snprintf(args, sizeof args, "bench -m %s -p 4 -n 3 -r 1 -t 1 --seqs 1,3 --json", p);
    int st;
    char *err = NULL, *out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0 && out && strstr(out, "\"test\": \"tg3x1\"") && strstr(out, "\"test\": \"tg3x3\", \"seqs\": 3"),
            "bench --seqs 1,3 --json: status %d, %s %s", st, out ? out : "", err ? err : "");
    free(out), free(err);
    snprintf(args, sizeof args, "bench -m %s --seqs 1,x", p);
    out = t_tick_run(args, &st, &err);
    T_CHECK(st == 2 && err && t_one_line(err) && strstr(err, "--seqs"), "bad --seqs: status %d, %s", st, err ? err : "");
    free(out), free(err);
}

int main(void) {
    T_RUN(test_batch_stories);
    T_RUN(test_batch_tiny_f32);
    T_RUN(test_batch_tiny_q8_0);
    T_RUN(test_batch_tiny_q4_0);
    T_RUN(test_errors);
    T_RUN(test_clock_batched_tick);
    T_RUN(test_embed_stories);
    T_RUN(test_embed_tiny_q8_0);
    T_RUN(test_bench_seqs);
    return t_done();
}
