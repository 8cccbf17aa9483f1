/* session.c: n_seq sequences that share one set of buffers, one graph,
 * thread pool and (optional) clock; each has its own KV cache (planned
 * once, one allocation). A tick runs rows of any of them together
 * (tk_batch_run), so each weight is read once for all. Nothing is
 * allocated inside a tick. */
#include "tick.h"
#include "../base/status.h"
#include "../base/threadpool.h"
#include "../clock/exec.h"
#include "../model/llama.h"
#include "session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct tk_session {
    tk_model *m;
    tk_llama_state st;
    tk_graph graph;
    tk_pool *pool;
    tk_clock *clock;
    void *mem;        /* the state (KV cache, activations): anonymous pages */
    size_t mem_bytes;
    int n_ctx, n_seq, n_batch;
    int *seq_pos;                   /* [n_seq] positions in each cache          */
    int *seq_new;                   /* [n_seq] scratch: rows per seq in a batch  */
    int *row_pos, *row_seq, *out;   /* [n_batch] the rows of the run             */
    int32_t *row_tok;               /* [n_batch] their tokens (tk_batch_run)     */
    int *item_row;                  /* [n_batch] logits row of item i, or -1     */
    int n_items;                    /* items of the last tk_batch_run            */
    double *acc;                    /* [n_embd] tk_embed's sum                   */
    int have_logits;                /* logits row 0 is sequence 0's              */
};

tk_session *tk_session_new(tk_model *m, const tk_session_opts *o, tk_error *e) {
    const tk_model_info *I = tk_model_info_of(m);
    if (m->vocab_only) {
        tk_err(e, TK_EINVAL, "%s was loaded for its vocabulary only: no session can run it", I->name);
        return NULL;
    }
    int n_ctx = o ? o->n_ctx : 0;
    if (n_ctx < 0) {
        tk_err(e, TK_EINVAL, "context size %d is negative", n_ctx);
        return NULL;
    }
    if (n_ctx == 0) n_ctx = I->n_ctx_train < TK_DEFAULT_CTX ? I->n_ctx_train : TK_DEFAULT_CTX;
    if (n_ctx > (1 << 20)) {
        tk_err(e, TK_EINVAL, "context size %d is larger than the maximum 1048576", n_ctx);
        return NULL;
    }
    int n_threads = o && o->n_threads > 0 ? o->n_threads : 1;
    int n_seq = o && o->n_seq > 0 ? o->n_seq : 1;
    if (o && (o->n_seq < 0 || o->n_seq > 4096)) {
        tk_err(e, TK_EINVAL, "%d sequences: expected 1 to 4096", o->n_seq);
        return NULL;
    }
    int n_batch = o && o->n_batch > 0 ? o->n_batch : TK_DEFAULT_BATCH;
    if (n_batch > n_ctx) n_batch = n_ctx;
    if (n_batch > 4096) {
        tk_err(e, TK_EINVAL, "batch size %d is larger than the maximum 4096", n_batch);
        return NULL;
    }
    tk_session *s = calloc(1, sizeof *s);
    size_t bytes = tk_llama_state_bytes(m, n_ctx, n_batch, n_seq);
    /* anonymous memory: zero pages until first written, so neither the
     * start-up time nor the resident memory pays for context not yet used
     * (a calloc'd 92 MiB KV cache took 45 ms to clear) */
    void *mem = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    if (!s || mem == MAP_FAILED) {
        free(s);
        if (mem != MAP_FAILED) munmap(mem, bytes);
        tk_err(e, TK_ENOMEM, "cannot allocate %zu MiB for the session (%d sequence%s of context %d): try a smaller -c",
               bytes >> 20, n_seq, n_seq > 1 ? "s" : "", n_ctx);
        return NULL;
    }
    s->m = m;
    s->mem = mem;
    s->mem_bytes = bytes;
    s->n_ctx = n_ctx, s->n_seq = n_seq, s->n_batch = n_batch;
    s->seq_pos = calloc((size_t)n_seq, sizeof *s->seq_pos);
    s->seq_new = calloc((size_t)n_seq, sizeof *s->seq_new);
    s->row_pos = calloc((size_t)n_batch, sizeof *s->row_pos);
    s->row_seq = calloc((size_t)n_batch, sizeof *s->row_seq);
    s->out = calloc((size_t)n_batch, sizeof *s->out);
    s->item_row = calloc((size_t)n_batch, sizeof *s->item_row);
    s->row_tok = calloc((size_t)n_batch, sizeof *s->row_tok);
    s->acc = calloc((size_t)I->n_embd, sizeof *s->acc);
    if (!s->seq_pos || !s->seq_new || !s->row_pos || !s->row_seq || !s->out || !s->item_row || !s->row_tok || !s->acc) {
        tk_err(e, TK_ENOMEM, "out of memory");
        goto fail;
    }
    tk_llama_state_init(&s->st, m, n_ctx, n_batch, n_seq, mem);
    if (tk_llama_build(&s->graph, m, &s->st, e) != TK_OK) goto fail;
    if (!(s->pool = tk_pool_new(n_threads, e))) goto fail;
    if (o && (o->clock || o->trace)) {
        /* a record per tick of every sequence filling its context (past
         * that, ticks still count in the totals) */
        int max_ticks = o->trace || n_seq > 64 ? n_ctx + 1 : n_seq * n_ctx + 1;
        if (!(s->clock = tk_clock_new(&s->graph, n_threads, max_ticks, o->trace, e))) goto fail;
    }
    return s;
fail:
    tk_session_free(s);
    return NULL;
}

void tk_session_free(tk_session *s) {
    if (!s) return;
    tk_clock_free(s->clock);
    tk_pool_free(s->pool);
    tk_graph_free(&s->graph);
    free(s->seq_pos), free(s->seq_new), free(s->row_pos), free(s->row_seq), free(s->out), free(s->item_row);
    free(s->row_tok), free(s->acc);
    if (s->mem) munmap(s->mem, s->mem_bytes);
    free(s);
}

int tk_session_n_ctx(const tk_session *s) { return s->n_ctx; }
int tk_session_pos(const tk_session *s) { return s->seq_pos[0]; }
const tk_model *tk_session_model(const tk_session *s) { return s->m; }
int tk_session_n_seq(const tk_session *s) { return s->n_seq; }
int tk_session_n_batch(const tk_session *s) { return s->n_batch; }

void tk_session_reset(tk_session *s) {
    s->seq_pos[0] = 0;
    s->have_logits = 0;
}

static int check_ids(const tk_session *s, const int32_t *ids, int n, tk_error *e) {
    int nv = tk_n_vocab(s->m);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv)
            return tk_err(e, TK_EINVAL, "token id %d is outside the vocabulary [0, %d)", ids[i], nv);
    return TK_OK;
}

static int check_room(const tk_session *s, int seq, int n, tk_error *e) {
    int pos = s->seq_pos[seq];
    if (n <= s->n_ctx - pos) return TK_OK;
    if (s->n_seq == 1)
        return tk_err(e, TK_ECONTEXT, "context is full: %d tokens in the cache + %d new > context size %d (-c)", pos,
                      n, s->n_ctx);
    return tk_err(e, TK_ECONTEXT, "sequence %d: context is full: %d tokens in the cache + %d new > context size %d (-c)",
                  seq, pos, n, s->n_ctx);
}

/* Run rows [0, n) already in row_pos / row_seq with tokens ids; the rows
 * out[0 .. n_out) go through the final ops, up to op n_ops. */
static void run_rows(tk_session *s, const int32_t *ids, int n, int n_out, int n_ops, int phase) {
    tk_op_args a = {s->row_pos, s->row_seq, n, ids, s->out, n_out, 0, 1};
    tk_exec(&s->graph, s->pool, s->clock, &a, n_ops, phase);
}

/* n consecutive positions of seq as bursts of up to n_batch rows: each
 * weight is read once per burst instead of once per token. last: what the
 * last burst's last row gets (up to op n_ops); the other bursts stop
 * before the final ops. */
static void run_seq(tk_session *s, int seq, const int32_t *ids, int n, int n_ops, int phase) {
    for (int i = 0; i < n;) {
        int k = n - i < s->n_batch ? n - i : s->n_batch, pos = s->seq_pos[seq];
        for (int b = 0; b < k; b++) s->row_pos[b] = pos + b, s->row_seq[b] = seq;
        s->out[0] = k - 1;
        int last = i + k == n;
        run_rows(s, ids + i, k, last, last ? n_ops : s->graph.first_logits_op, phase);
        s->seq_pos[seq] += k;
        i += k;
    }
}

static int feed(tk_session *s, const int32_t *ids, int n, int phase, tk_error *e) {
    if (n < 0) return tk_err(e, TK_EINVAL, "negative token count %d", n);
    int rc = check_room(s, 0, n, e);
    if (!rc) rc = check_ids(s, ids, n, e);
    if (rc) return rc;
    if (n == 0) return TK_OK;
    run_seq(s, 0, ids, n, s->graph.n_ops, phase);
    s->have_logits = 1;
    return TK_OK;
}

int tk_prefill(tk_session *s, const int32_t *ids, int n, tk_error *e) { return feed(s, ids, n, TK_PHASE_PREFILL, e); }
int tk_decode(tk_session *s, int32_t id, tk_error *e) { return feed(s, &id, 1, TK_PHASE_DECODE, e); }

const float *tk_logits(const tk_session *s) { return s->have_logits ? s->st.logits : NULL; }

/* ---- several sequences ---------------------------------------------------- */

static int check_seq(const tk_session *s, int seq, tk_error *e) {
    if (seq >= 0 && seq < s->n_seq) return TK_OK;
    return tk_err(e, TK_EINVAL, "sequence %d does not exist: the session has %d (0..%d)", seq, s->n_seq, s->n_seq - 1);
}

int tk_batch_run(tk_session *s, const tk_batch_item *items, int n, tk_error *e) {
    if (n < 1 || n > s->n_batch)
        return tk_err(e, TK_EINVAL, "a batch of %d items: it must have 1 to %d (the session's batch size)", n, s->n_batch);
    /* check everything before changing anything */
    int nv = tk_n_vocab(s->m), groups = 0, rc;
    memset(s->seq_new, 0, (size_t)s->n_seq * sizeof *s->seq_new);
    for (int i = 0; i < n; i++) {
        const tk_batch_item *it = &items[i];
        if ((rc = check_seq(s, it->seq, e))) return rc;
        if (it->token < 0 || it->token >= nv)
            return tk_err(e, TK_EINVAL, "item %d: token id %d is outside the vocabulary [0, %d)", i, it->token, nv);
        if (i == 0 || it->seq != items[i - 1].seq) {
            if (s->seq_new[it->seq])
                return tk_err(e, TK_EINVAL, "item %d: the items of sequence %d are not consecutive", i, it->seq);
            groups++;
        }
        s->seq_new[it->seq]++;
    }
    for (int i = 0; i < n; i++)
        if (i == 0 || items[i].seq != items[i - 1].seq)
            if ((rc = check_room(s, items[i].seq, s->seq_new[items[i].seq], e))) return rc;

    /* rows: each item at its sequence's next position; a token per row */
    int32_t *ids = s->row_tok;
    int n_out = 0;
    for (int i = 0; i < n; i++) {
        int seq = items[i].seq;
        s->row_seq[i] = seq, s->row_pos[i] = s->seq_pos[seq]++;
        ids[i] = items[i].token;
        if (items[i].logits) s->out[n_out++] = i;
    }
    /* a decode tick when every sequence brings one token, else prefill */
    int phase = groups == n ? TK_PHASE_DECODE : TK_PHASE_PREFILL;
    run_rows(s, ids, n, n_out, n_out ? s->graph.n_ops : s->graph.first_logits_op, phase);
    for (int i = 0, r = 0; i < n; i++) s->item_row[i] = items[i].logits ? r++ : -1;
    s->n_items = n;
    s->have_logits = 0; /* row 0 of the logits is no longer sequence 0's */
    return TK_OK;
}

const float *tk_batch_logits(const tk_session *s, int i) {
    if (i < 0 || i >= s->n_items || s->item_row[i] < 0) return NULL;
    return s->st.logits + (size_t)s->item_row[i] * (size_t)tk_n_vocab(s->m);
}

int tk_seq_pos(const tk_session *s, int seq) { return seq >= 0 && seq < s->n_seq ? s->seq_pos[seq] : -1; }

int tk_seq_truncate(tk_session *s, int seq, int n_keep, tk_error *e) {
    int rc = check_seq(s, seq, e);
    if (rc) return rc;
    if (n_keep < 0 || n_keep > s->seq_pos[seq])
        return tk_err(e, TK_EINVAL, "sequence %d: cannot keep %d positions of the %d in its cache", seq, n_keep,
                      s->seq_pos[seq]);
    if (n_keep == s->seq_pos[seq]) return TK_OK;
    s->seq_pos[seq] = n_keep;
    if (seq == 0) s->have_logits = 0;
    return TK_OK;
}

/* The final-norm hidden rows of every position (the ops before the
 * classifier), summed in double in position order, then averaged and
 * L2-normalized. */
int tk_embed(tk_session *s, int seq, const int32_t *ids, int n, float *out, tk_error *e) {
    int rc = check_seq(s, seq, e);
    if (rc) return rc;
    if (n < 1) return tk_err(e, TK_EINVAL, "nothing to embed: %d tokens", n);
    if (n > s->n_ctx) return tk_err(e, TK_ECONTEXT, "%d tokens to embed > context size %d (-c)", n, s->n_ctx);
    if ((rc = check_ids(s, ids, n, e))) return rc;
    int E = tk_model_info_of(s->m)->n_embd;
    memset(s->acc, 0, (size_t)E * sizeof *s->acc);
    s->seq_pos[seq] = 0;
    for (int i = 0; i < n;) {
        int k = n - i < s->n_batch ? n - i : s->n_batch;
        for (int b = 0; b < k; b++) s->row_pos[b] = i + b, s->row_seq[b] = seq, s->out[b] = b;
        run_rows(s, ids + i, k, k, s->graph.first_classifier_op, TK_PHASE_PREFILL);
        s->seq_pos[seq] += k;
        for (int b = 0; b < k; b++) {
            const float *h = s->graph.hidden + (size_t)b * E;
            for (int j = 0; j < E; j++) s->acc[j] += h[j];
        }
        i += k;
    }
    s->seq_pos[seq] = 0;
    if (seq == 0) s->have_logits = 0;
    double ss = 0;
    for (int j = 0; j < E; j++) ss += (s->acc[j] / n) * (s->acc[j] / n);
    double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
    for (int j = 0; j < E; j++) out[j] = (float)(s->acc[j] / n * inv);
    return TK_OK;
}

int32_t tk_session_sample(tk_session *s, tk_sampler *smp) {
    const float *l = tk_logits(s);
    if (!l) return -1;
    if (!s->clock) return tk_sampler_sample(smp, l);
    uint64_t c0 = tk_cycles();
    int32_t id = tk_sampler_sample(smp, l);
    tk_clock_sample(s->clock, c0, tk_cycles(), tk_n_vocab(s->m));
    return id;
}

const tk_clock *tk_session_clock(const tk_session *s) { return s->clock; }

const tk_graph *tk_session_graph(const tk_session *s) { return &s->graph; }

const float *tk_session_hidden(const tk_session *s) { return s->have_logits ? s->graph.hidden : NULL; }

void tk_session_clock_reset(tk_session *s) {
    if (s->clock) tk_clock_reset(s->clock);
}
