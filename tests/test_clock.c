/* test_clock.c: the clock's accounting against closed forms, and the
 * executor's results independent of the clock and of the thread count. */
#include "t.h"
#include "tick.h"
#include "../src/clock/clock.h"
#include "../src/runtime/session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TINY "models/golden-tiny256/tiny256-q8_0.gguf"
#define TINY_SHA "41253032aa6542a14ad8efa9f48fe546a0eead839b5f7fbb1cdb213a8459ac77"
#define STORIES "models/stories260K.gguf"
#define STORIES_SHA "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"

static tk_session *run(tk_model *m, int clock, int threads, int n_decode, int32_t *last_token) {
    tk_error e;
    tk_session_opts so = {.n_ctx = 64, .n_threads = threads, .clock = clock};
    tk_session *s = tk_session_new(m, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    if (!s) return NULL;
    int32_t ids[5] = {1, 403, 407, 261, 378};
    T_CHECK(tk_prefill(s, ids, 5, &e) == TK_OK, "prefill: %s", e.msg);
    int32_t id = 0;
    for (int i = 0; i < n_decode; i++) {
        const float *l = tk_logits(s);
        id = 0;
        for (int k = 1; k < tk_n_vocab(m); k++)
            if (l[k] > l[id]) id = k;
        T_CHECK(tk_decode(s, id, &e) == TK_OK, "decode: %s", e.msg);
    }
    if (last_token) *last_token = id;
    return s;
}

static void closed_forms(const char *rel, const char *sha) {
    const char *p = t_shared(rel, sha);
    if (!p) T_SKIP("%s absent", rel);
    tk_error e;
    tk_model *m = tk_model_load(p, NULL, &e);
    T_CHECK(m != NULL, "load: %s", e.msg);
    if (!m) return;
    const tk_model_info *I = tk_model_info_of(m);
    tk_session *s = run(m, 1, 1, 8, NULL);
    const tk_clock *c = tk_session_clock(s);
    T_CHECK(c != NULL, "clock is on");
    if (!c) { tk_session_free(s); tk_model_free(m); return; }
    double E = I->n_embd, F = I->n_ff, V = I->n_vocab, Q = (double)I->n_head * I->head_dim;
    double KV = (double)I->n_head_kv * I->head_dim;
    double params = I->n_layer * (E * Q + 2 * E * KV + Q * E + 3 * E * F) + E * V;
    double n = (double)c->total[TK_PHASE_DECODE].calls;
    T_CHECK(n == 8 && c->total[TK_PHASE_PREFILL].calls == 5, "5 prefill and 8 decode ticks (%g)", n);
    double mm = 0;
    int mk[] = {TK_KIND_QKV, TK_KIND_ATTN_OUT, TK_KIND_FFN, TK_KIND_CLASSIFIER};
    for (int i = 0; i < 4; i++) mm += c->kind[TK_PHASE_DECODE][mk[i]].flops;
    T_CHECK(mm / n == 2 * params, "matmul FLOPs per token %.0f == 2 x %.0f parameters", mm / n, params);
    /* the prompt is one burst: every matrix for 5 positions, the classifier
     * for the last one only (its logits are the only ones needed) */
    double pm = 0;
    for (int i = 0; i < 4; i++) pm += c->kind[TK_PHASE_PREFILL][mk[i]].flops;
    T_CHECK(c->ticks[0].n == 5 && c->ticks[0].phase == TK_PHASE_PREFILL && c->ticks[0].pos == 0, "tick 0 is the prompt's burst");
    T_CHECK(pm == 2 * (params - E * V) * 5 + 2 * E * V, "burst matmul FLOPs %.0f", pm);
    /* and it reads each weight once, not five times */
    T_CHECK(c->ticks[0].bytes < (double)I->weight_bytes * 1.5, "burst bytes %.0f about the weights %llu, not 5x", c->ticks[0].bytes,
            (unsigned long long)I->weight_bytes);

    /* attention FLOPs grow linearly with position: constant increments */
    double d0 = c->ticks[2].flops - c->ticks[1].flops;
    int lin = d0 > 0;
    for (int i = 2; i < c->n_ticks - 1; i++) lin &= fabs((c->ticks[i + 1].flops - c->ticks[i].flops) - d0) < 1e-6 * d0;
    double per_pos = I->n_layer * (double)I->n_head * (4.0 * I->head_dim + 5);
    T_CHECK(lin && fabs(d0 - per_pos) < 1e-9 * per_pos, "tick FLOPs grow by %.0f per position (expect %.0f)", d0, per_pos);

    /* every weight byte is read once per token, except the embedding rows
     * not looked up */
    uint64_t emb_row = c->graph->ops[0].weight_bytes;
    double floor = (double)I->weight_bytes - (V - 1) * (double)emb_row;
    double bytes = c->total[TK_PHASE_DECODE].bytes / n;
    T_CHECK(bytes >= floor, "bytes per token %.0f >= weights minus unused embedding rows %.0f", bytes, floor);
    T_CHECK(bytes < floor * 1.2 + 1e6, "bytes per token %.0f are not wildly above %.0f", bytes, floor);

    /* stages: all four present in a decode tick and within the tick */
    T_CHECK(c->n_ticks == 9, "1 burst + 8 decode ticks (%d)", c->n_ticks);
    for (int i = 1; i < c->n_ticks; i++) {
        const tk_tick_rec *t = &c->ticks[i];
        uint64_t sum = 0;
        for (int st = 0; st < TK_STAGE_COUNT; st++) {
            T_CHECK(t->stage_cycles[st] > 0, "tick %d stage %s has cycles", i, tk_stage_name(st));
            sum += t->stage_cycles[st];
        }
        T_CHECK(sum <= t->c_end - t->c_start, "tick %d: stages %llu <= tick %llu", i, (unsigned long long)sum,
                (unsigned long long)(t->c_end - t->c_start));
        T_CHECK(t->phase == TK_PHASE_DECODE && t->pos == i + 4 && t->n == 1, "tick %d: decode at pos %d", i, t->pos);
    }
    T_CHECK(c->ci.hz > 1e6, "cycle counter calibrated (%s, %.3g Hz)", c->ci.source, c->ci.hz);
    tk_session_free(s);
    tk_model_free(m);
}

static void test_closed_forms_q8_0(void) { closed_forms(TINY, TINY_SHA); }
static void test_closed_forms_stories(void) { closed_forms(STORIES, STORIES_SHA); }

/* The same logits with the clock on or off, on 1 or 2 threads. */
static void test_results_independent(void) {
    const char *p = t_shared(TINY, TINY_SHA);
    if (!p) T_SKIP("%s absent", TINY);
    tk_error e;
    tk_model *m = tk_model_load(p, NULL, &e);
    if (!m) { T_CHECK(0, "load: %s", e.msg); return; }
    int32_t t1, t2, t3, t4;
    tk_session *a = run(m, 0, 1, 20, &t1), *b = run(m, 1, 1, 20, &t2), *c = run(m, 0, 2, 20, &t3);
    tk_session *d = run(m, 1, 3, 20, &t4);
    T_CHECK(tk_session_clock(a) == NULL, "clock off: no clock");
    int nv = tk_n_vocab(m);
    T_CHECK(!memcmp(tk_logits(a), tk_logits(b), (size_t)nv * 4), "clock on: identical logits");
    T_CHECK(!memcmp(tk_logits(a), tk_logits(c), (size_t)nv * 4), "2 threads: identical logits");
    T_CHECK(!memcmp(tk_logits(a), tk_logits(d), (size_t)nv * 4), "3 threads (rows split unevenly): identical logits");
    T_CHECK(t1 == t2 && t1 == t3 && t1 == t4, "same greedy tokens");
    tk_session_free(a), tk_session_free(b), tk_session_free(c), tk_session_free(d);
    tk_model_free(m);
}

/* The graph: each layer has the same ops; matmul ops carry their weight. */
static void test_graph_shape(void) {
    const char *p = t_shared(STORIES, STORIES_SHA);
    if (!p) T_SKIP("%s absent", STORIES);
    tk_error e;
    tk_model *m = tk_model_load(p, NULL, &e);
    if (!m) { T_CHECK(0, "load: %s", e.msg); return; }
    tk_session_opts so = {.n_ctx = 8};
    tk_session *s = tk_session_new(m, &so, &e);
    const tk_graph *g = tk_session_graph(s);
    int per_layer[8] = {0}, matmuls = 0;
    for (int i = 0; i < g->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        if (op->layer >= 0 && op->layer < 8) per_layer[op->layer]++;
        if (op->kind == TK_KIND_QKV || op->kind == TK_KIND_FFN || op->kind == TK_KIND_ATTN_OUT || op->kind == TK_KIND_CLASSIFIER) {
            matmuls++;
            T_CHECK(op->w && op->flops == 2ull * (uint64_t)op->w->rows * (uint64_t)op->w->cols, "%s: 2 x rows x cols", op->name);
        }
    }
    for (int l = 1; l < 5; l++) T_CHECK(per_layer[l] == per_layer[0], "layer %d has %d ops, layer 0 %d", l, per_layer[l], per_layer[0]);
    T_CHECK(matmuls == 5 * 7 + 1, "%d matmuls (7 per layer + classifier)", matmuls);
    T_CHECK(g->ops[0].kind == TK_KIND_EMBED && g->ops[0].stage == TK_STAGE_FETCH, "starts with the fetch");
    T_CHECK(g->ops[g->n_ops - 1].kind == TK_KIND_CLASSIFIER, "ends with the classifier");
    tk_session_free(s);
    tk_model_free(m);
}

int main(void) {
    T_RUN(test_closed_forms_q8_0);
    T_RUN(test_closed_forms_stories);
    T_RUN(test_results_independent);
    T_RUN(test_graph_shape);
    return t_done();
}
