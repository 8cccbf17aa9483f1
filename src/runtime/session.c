/* session.c: one sequence: its buffers and KV cache (planned once, one
 * allocation), its graph, thread pool and (optional) clock. Nothing is
 * allocated inside a tick. */
#include "tick.h"
#include "../base/status.h"
#include "../base/threadpool.h"
#include "../clock/exec.h"
#include "../model/llama.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

struct tk_session {
    tk_model *m;
    tk_llama_state st;
    tk_graph graph;
    tk_pool *pool;
    tk_clock *clock;
    void *mem;
    int n_ctx, pos;
    int have_logits;
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
    int n_batch = o && o->n_batch > 0 ? o->n_batch : TK_DEFAULT_BATCH;
    if (n_batch > n_ctx) n_batch = n_ctx;
    if (n_batch > 4096) {
        tk_err(e, TK_EINVAL, "batch size %d is larger than the maximum 4096", n_batch);
        return NULL;
    }
    tk_session *s = calloc(1, sizeof *s);
    size_t bytes = tk_llama_state_bytes(m, n_ctx, n_batch);
    void *mem = NULL;
    if (!s || posix_memalign(&mem, 64, bytes) != 0) {
        free(s);
        tk_err(e, TK_ENOMEM, "cannot allocate %zu MiB for the session (context %d): try a smaller -c",
               bytes >> 20, n_ctx);
        return NULL;
    }
    memset(mem, 0, bytes);
    s->m = m;
    s->mem = mem;
    s->n_ctx = n_ctx;
    tk_llama_state_init(&s->st, m, n_ctx, n_batch, mem);
    if (tk_llama_build(&s->graph, m, &s->st, e) != TK_OK) goto fail;
    if (!(s->pool = tk_pool_new(n_threads, e))) goto fail;
    if (o && (o->clock || o->trace)) {
        int max_ticks = n_ctx + 1;
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
    free(s->mem);
    free(s);
}

int tk_session_n_ctx(const tk_session *s) { return s->n_ctx; }
int tk_session_pos(const tk_session *s) { return s->pos; }
const tk_model *tk_session_model(const tk_session *s) { return s->m; }

void tk_session_reset(tk_session *s) {
    s->pos = 0;
    s->have_logits = 0;
}

static int check_ids(tk_session *s, const int32_t *ids, int n, tk_error *e) {
    int nv = tk_n_vocab(s->m);
    if (n < 0) return tk_err(e, TK_EINVAL, "negative token count %d", n);
    if (n > s->n_ctx - s->pos)
        return tk_err(e, TK_ECONTEXT, "context is full: %d tokens in the cache + %d new > context size %d (-c)",
                      s->pos, n, s->n_ctx);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv)
            return tk_err(e, TK_EINVAL, "token id %d is outside the vocabulary [0, %d)", ids[i], nv);
    return TK_OK;
}

/* A prompt runs as bursts of up to n_batch positions: each weight is read
 * once per burst instead of once per token. */
static int feed(tk_session *s, const int32_t *ids, int n, int phase, tk_error *e) {
    int rc = check_ids(s, ids, n, e);
    if (rc) return rc;
    for (int i = 0; i < n;) {
        int k = n - i < s->st.n_batch ? n - i : s->st.n_batch;
        tk_exec(&s->graph, s->pool, s->clock, ids + i, k, s->pos, phase, i + k == n);
        s->pos += k;
        i += k;
    }
    if (n > 0) s->have_logits = 1;
    return TK_OK;
}

int tk_prefill(tk_session *s, const int32_t *ids, int n, tk_error *e) { return feed(s, ids, n, TK_PHASE_PREFILL, e); }
int tk_decode(tk_session *s, int32_t id, tk_error *e) { return feed(s, &id, 1, TK_PHASE_DECODE, e); }

const float *tk_logits(const tk_session *s) { return s->have_logits ? s->st.logits : NULL; }

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

void tk_session_clock_reset(tk_session *s) {
    if (s->clock) tk_clock_reset(s->clock);
}
