/* llama.c: the Llama architecture, one position at a time.
 *
 *   x = embed(token)
 *   per layer:  x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n),  n = rmsnorm(x)
 *               x += Wdown · (silu(Wgate·n) * (Wup·n)),              n = rmsnorm(x)
 *   logits = Wout · rmsnorm(x)
 *
 * Attention is the only op that mixes positions: it reads this layer's K
 * and V of every earlier position from the cache. */
#include "llama.h"
#include "../base/status.h"
#include "../tensor/dtype.h"
#include "../tensor/ops.h"

#include <math.h>
#include <string.h>

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static size_t max_act_bytes(const tk_model *m) {
    const tk_model_info *I = &m->info;
    size_t mx = tk_act_bytes(m->output.type, I->n_embd);
    for (int l = 0; l < I->n_layer; l++) {
        const tk_layer *L = &m->layers[l];
        const tk_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof *ws; i++) {
            size_t b = tk_act_bytes(ws[i]->type, ws[i]->cols);
            if (b > mx) mx = b;
        }
    }
    return mx;
}

/* Walks the buffer plan: with base == NULL it only counts. */
static size_t plan(tk_llama_state *st, const tk_model *m, int n_ctx, char *base) {
    const tk_model_info *I = &m->info;
    size_t off = 0, qd = (size_t)I->n_head * I->head_dim, kvd = (size_t)I->n_head_kv * I->head_dim;
    size_t kv = (size_t)I->n_layer * (size_t)n_ctx * kvd;
#define TAKE(field, bytes) \
    do { if (base) st->field = (void *)(base + off); off += align64(bytes); } while (0)
    TAKE(x, I->n_embd * sizeof(float));
    TAKE(xb, (qd > (size_t)I->n_embd ? qd : (size_t)I->n_embd) * sizeof(float));
    TAKE(xb2, qd * sizeof(float));
    TAKE(q, qd * sizeof(float));
    TAKE(att, (size_t)I->n_head * n_ctx * sizeof(float));
    TAKE(hb, (size_t)I->n_ff * sizeof(float));
    TAKE(hb2, (size_t)I->n_ff * sizeof(float));
    TAKE(cs, (size_t)I->rope_dim * sizeof(float));
    TAKE(logits, (size_t)I->n_vocab * sizeof(float));
    TAKE(xq, max_act_bytes(m));
    TAKE(kcache, kv * sizeof(float));
    TAKE(vcache, kv * sizeof(float));
#undef TAKE
    return off;
}

size_t tk_llama_state_bytes(const tk_model *m, int n_ctx) { return plan(NULL, m, n_ctx, NULL); }

void tk_llama_state_init(tk_llama_state *st, const tk_model *m, int n_ctx, void *mem) {
    memset(st, 0, sizeof *st);
    plan(st, m, n_ctx, mem);
    st->n_ctx = n_ctx;
}

/* y[w->rows] = W · x[w->cols] */
static void matvec(tk_llama_state *st, const tk_weight *w, const float *x, float *y) {
    tk_act_convert(w->type, x, w->cols, st->xq);
    tk_matvec_rows(w->type, w->data, w->cols, st->xq, y, 0, w->rows);
}

static void attention(const tk_model *m, tk_llama_state *st, int l, int pos) {
    const tk_model_info *I = &m->info;
    int hd = I->head_dim, kvd = I->n_head_kv * hd, group = I->n_head / I->n_head_kv;
    const float *kc = st->kcache + (size_t)l * st->n_ctx * kvd;
    const float *vc = st->vcache + (size_t)l * st->n_ctx * kvd;
    float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < I->n_head; h++) {
        const float *q = st->q + (size_t)h * hd;
        float *att = st->att + (size_t)h * st->n_ctx;
        int kvh = h / group;
        for (int t = 0; t <= pos; t++) {
            const float *k = kc + (size_t)t * kvd + (size_t)kvh * hd;
            float s = 0.0f;
            for (int i = 0; i < hd; i++) s += q[i] * k[i];
            att[t] = s * scale;
        }
        tk_softmax(att, pos + 1);
        float *out = st->xb2 + (size_t)h * hd;
        memset(out, 0, (size_t)hd * sizeof(float));
        for (int t = 0; t <= pos; t++) {
            const float *v = vc + (size_t)t * kvd + (size_t)kvh * hd;
            float a = att[t];
            for (int i = 0; i < hd; i++) out[i] += a * v[i];
        }
    }
}

void tk_llama_forward(const tk_model *m, tk_llama_state *st, int32_t id, int pos, int want_logits) {
    const tk_model_info *I = &m->info;
    TK_ASSERT(pos >= 0 && pos < st->n_ctx && id >= 0 && id < I->n_vocab);
    int E = I->n_embd, hd = I->head_dim, kvd = I->n_head_kv * hd;

    /* fetch: the embedding row */
    tk_get_row(m->tok_embd.type, m->tok_embd.data, E, id, st->x);
    tk_rope_angles(st->cs, I->rope_dim, pos, I->rope_base, m->rope_pow);

    for (int l = 0; l < I->n_layer; l++) {
        const tk_layer *L = &m->layers[l];
        float *kpos = st->kcache + ((size_t)l * st->n_ctx + pos) * kvd;
        float *vpos = st->vcache + ((size_t)l * st->n_ctx + pos) * kvd;

        tk_rmsnorm(st->xb, st->x, L->attn_norm.data, E, I->rms_eps);
        matvec(st, &L->wq, st->xb, st->q);
        matvec(st, &L->wk, st->xb, kpos); /* write-back: K and V go straight */
        matvec(st, &L->wv, st->xb, vpos); /* into the cache at this position */
        tk_rope(st->q, I->n_head, hd, I->rope_dim, st->cs);
        tk_rope(kpos, I->n_head_kv, hd, I->rope_dim, st->cs);
        attention(m, st, l, pos);
        matvec(st, &L->wo, st->xb2, st->xb);
        for (int i = 0; i < E; i++) st->x[i] += st->xb[i];

        tk_rmsnorm(st->xb, st->x, L->ffn_norm.data, E, I->rms_eps);
        matvec(st, &L->w_gate, st->xb, st->hb);
        matvec(st, &L->w_up, st->xb, st->hb2);
        tk_swiglu(st->hb, st->hb2, I->n_ff);
        matvec(st, &L->w_down, st->hb, st->xb);
        for (int i = 0; i < E; i++) st->x[i] += st->xb[i];
    }
    if (!want_logits) return;
    tk_rmsnorm(st->xb, st->x, m->output_norm.data, E, I->rms_eps);
    matvec(st, &m->output, st->xb, st->logits);
}
