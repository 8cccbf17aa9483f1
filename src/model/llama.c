/* llama.c: the Llama architecture (and its relatives GPT-2, Qwen2, Phi-3)
 * as a graph; a run is n rows, each a token of sequence seq at position pos.
 *
 *   x = embed(token)                                            fetch
 *   per layer:  n = rmsnorm(x)
 *               q, k, v = Wq n, Wk n, Wv n;  rope(q, k)
 *               cache[seq][pos] = k, v                          write-back
 *               x += Wo attention(q, cache[seq][0..pos])
 *               n = rmsnorm(x);  x += Wdown (silu(Wgate n) * (Wup n))
 *   logits = Wout rmsnorm(x)  (rows that want logits only)      execute
 *
 * The other architectures are branches of the same builder: LayerNorm
 * with a shift instead of RMSNorm and learned positions added to the
 * embedding instead of rope (GPT-2), biases after the Q, K, V (Qwen2,
 * GPT-2), output and FFN projections (GPT-2), the NEOX rope layout (Qwen2,
 * Phi-3), a GELU FFN without gate (GPT-2). Fused tensors are split into
 * views when the model is bound (model.c), so they need no ops here.
 *
 * Attention is the only op that mixes positions (and only those of one
 * sequence); every other op treats rows alike, whatever their sequence.
 * Each matrix multiply is
 * preceded by one conversion of its input row to the weights' vec_dot_type
 * (done once, before the barrier, not once per thread). */
#include "llama.h"
#include "../base/status.h"
#include "../base/threadpool.h"
#include "../tensor/dtype.h"
#include "../tensor/ops.h"
#include "../tensor/vec.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers -------------------------------------------------------------- */

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static size_t max_act_bytes(const tk_model *m) {
    const tk_model_info *I = &m->info;
    size_t mx = tk_act_bytes(m->output.type, I->n_embd);
    for (int l = 0; l < I->n_layer; l++) {
        const tk_layer *L = &m->layers[l];
        const tk_weight *ws[TK_LAYER_MATRICES] = TK_LAYER_MATRIX_LIST(L);
        for (int i = 0; i < TK_LAYER_MATRICES; i++) {
            if (!ws[i]->data) continue; /* no gate in a GELU FFN */
            size_t b = tk_act_bytes(ws[i]->type, ws[i]->cols);
            if (b > mx) mx = b;
        }
    }
    return mx;
}

/* Walks the buffer plan: with base == NULL it only counts. */
static size_t plan(tk_llama_state *st, const tk_model *m, int n_ctx, int B, int n_seq, char *base) {
    const tk_model_info *I = &m->info;
    size_t off = 0, qd = (size_t)I->n_head * I->head_dim, kvd = (size_t)I->n_head_kv * I->head_dim;
    size_t b = (size_t)B, xqs = align64(max_act_bytes(m));
    uint64_t kv, kvb; /* the caches: the only part that can get huge */
    if (tk_mul_ovf((uint64_t)n_seq * (uint64_t)I->n_layer, (uint64_t)n_ctx * kvd, &kv) ||
        tk_mul_ovf(kv, sizeof(float), &kvb) || kvb > SIZE_MAX / 4)
        return 0;
#define TAKE(field, bytes) \
    do { if (base) st->field = (void *)(base + off); off += align64(bytes); } while (0)
    TAKE(x, b * I->n_embd * sizeof(float));
    TAKE(xb, b * I->n_embd * sizeof(float));
    TAKE(xb2, b * qd * sizeof(float));
    TAKE(q, b * qd * sizeof(float));
    TAKE(k, b * kvd * sizeof(float));
    TAKE(v, b * kvd * sizeof(float));
    TAKE(att, (size_t)I->n_head * n_ctx * sizeof(float));
    TAKE(hb, b * I->n_ff * sizeof(float));
    TAKE(hb2, b * I->n_ff * sizeof(float));
    TAKE(cs, b * I->rope_dim * sizeof(float));
    TAKE(logits, b * I->n_vocab * sizeof(float));
    TAKE(xq, b * xqs);
    TAKE(kcache, kv * sizeof(float));
    TAKE(vcache, kv * sizeof(float));
#undef TAKE
    if (base) st->xq_stride = xqs;
    return off;
}

size_t tk_llama_state_bytes(const tk_model *m, int n_ctx, int n_batch, int n_seq) {
    return plan(NULL, m, n_ctx, n_batch, n_seq, NULL);
}

void tk_llama_state_init(tk_llama_state *st, const tk_model *m, int n_ctx, int n_batch, int n_seq, void *mem) {
    memset(st, 0, sizeof *st);
    plan(st, m, n_ctx, n_batch, n_seq, mem);
    st->n_ctx = n_ctx;
    st->n_batch = n_batch;
    st->n_seq = n_seq;
    st->n_layer = m->info.n_layer;
    st->kvd = (size_t)m->info.n_head_kv * m->info.head_dim;
    st->hd = (size_t)m->info.head_dim;
}

/* ---- ops ------------------------------------------------------------------ */
/* Each op handles the n rows of a run; row b of an activation belongs to
 * position row_pos(a, b) of sequence row_seq(a, b). Ops marked last_only
 * see just the rows in a->out: their row i is run row out_row(op, a, i). */

static const tk_model *M(const tk_op *op) { return (const tk_model *)op->ctx; }
static const tk_llama_state *ST(const tk_op *op) { return (const tk_llama_state *)op->state; }

static int row_pos(const tk_op_args *a, int b) { return a->pos[b]; }
static int row_seq(const tk_op_args *a, int b) { return a->seq[b]; }
/* rows an op works on, and the run row its row i reads */
static int op_rows(const tk_op *op, const tk_op_args *a) { return op->last_only ? a->n_out : a->n; }
static int out_row(const tk_op *op, const tk_op_args *a, int i) { return op->last_only ? a->out[i] : i; }

static void op_embed(const tk_op *op, const tk_op_args *a) {
    const tk_weight *w = op->w;
    for (int b = 0; b < a->n; b++)
        tk_get_row(w->type, M(op)->isa, w->data, w->cols, a->tokens[b], op->dst + (size_t)b * op->n);
}

/* src row b -> dst row b (last_only: src row out[i] -> dst row i) */
static void op_rmsnorm(const tk_op *op, const tk_op_args *a) {
    for (int i = 0, n = op_rows(op, a); i < n; i++)
        tk_rmsnorm(op->dst + (size_t)i * op->n, op->src + (size_t)out_row(op, a, i) * op->n, op->w->data, op->n,
                   M(op)->info.rms_eps);
}

static void op_quant(const tk_op *op, const tk_op_args *a) {
    int n = op_rows(op, a);
    size_t xs = ST(op)->xq_stride;
    for (int b = 0; b < n; b++)
        tk_act_convert(op->wtype, M(op)->isa, op->src + (size_t)b * op->n, op->n, (char *)op->xq + (size_t)b * xs);
}

/* dst[b][r] = W row r . xq row b. One position: matrix x vector, rows split
 * across threads. A burst: matrix x matrix (tk_matmul_rows), rows split in
 * whole tiles of 16 so every thread runs full tiles. */
static void op_matmul(const tk_op *op, const tk_op_args *a) {
    int64_t r0, r1, rows = op->w->rows;
    int n = op_rows(op, a);
    if (op->w->packed) { /* whole groups of 16 rows per thread */
        tk_split(rows / 16, a->ith, a->nth, &r0, &r1);
        if (n == 1) tk_matvec_packed(op->w->type, M(op)->isa, op->w->packed, op->w->cols, op->xq, op->dst, r0 * 16, r1 * 16);
        else
            tk_matmul_packed(op->w->type, M(op)->isa, op->w->packed, op->w->cols, op->xq, ST(op)->xq_stride, n, op->dst,
                             rows, r0 * 16, r1 * 16);
        return;
    }
    if (n == 1) {
        tk_split(rows, a->ith, a->nth, &r0, &r1);
        tk_matvec_rows(op->w->type, M(op)->isa, op->w->data, op->w->cols, op->xq, op->dst, r0, r1);
        return;
    }
    enum { TILE = 16 };
    tk_split((rows + TILE - 1) / TILE, a->ith, a->nth, &r0, &r1);
    r0 *= TILE, r1 *= TILE;
    if (r1 > rows) r1 = rows;
    tk_matmul_rows(op->w->type, M(op)->isa, op->w->data, op->w->cols, op->xq, ST(op)->xq_stride, n, op->dst, rows,
                   r0, r1);
}

/* cos/sin of each row's position, shared by every layer's rope */
static void op_rope_angles(const tk_op *op, const tk_op_args *a) {
    const tk_model *m = M(op);
    for (int b = 0; b < a->n; b++)
        tk_rope_angles(op->dst + (size_t)b * m->info.rope_dim, m->info.rope_dim, row_pos(a, b), m->info.rope_base, m->rope_pow);
}

/* q rows in dst, k rows in src2, angles in src */
static void op_rope(const tk_op *op, const tk_op_args *a) {
    const tk_model_info *I = &M(op)->info;
    size_t qd = (size_t)I->n_head * I->head_dim, kvd = (size_t)I->n_head_kv * I->head_dim;
    for (int b = 0; b < a->n; b++) {
        const float *cs = op->src + (size_t)b * I->rope_dim;
        tk_rope(op->dst + b * qd, I->n_head, I->head_dim, I->rope_dim, cs);
        tk_rope((float *)op->src2 + b * kvd, I->n_head_kv, I->head_dim, I->rope_dim, cs);
    }
}

/* write-back: the new K (src) and V (src2) rows into layer `layer` of
 * their sequences' caches, each kv head's piece of a row to that head's
 * stream (tk_llama_kv) */
static void op_kv_store(const tk_op *op, const tk_op_args *a) {
    const tk_llama_state *st = ST(op);
    const size_t kvd = st->kvd, hd = st->hd, head = tk_llama_kv_head_stride(st);
    for (int b = 0; b < a->n; b++) {
        float *kc = tk_llama_kv(st, st->kcache, row_seq(a, b), op->layer) + (size_t)row_pos(a, b) * hd;
        float *vc = tk_llama_kv(st, st->vcache, row_seq(a, b), op->layer) + (size_t)row_pos(a, b) * hd;
        for (size_t g = 0; g * hd < kvd; g++) {
            memcpy(kc + g * head, op->src + (size_t)b * kvd + g * hd, hd * sizeof(float));
            memcpy(vc + g * head, op->src2 + (size_t)b * kvd + g * hd, hd * sizeof(float));
        }
    }
}

/* heads split across threads; row b reads K, V of positions 0..pos of its
 * own sequence (rows of that sequence earlier in this run included: they
 * were stored by kv_store) */
static void op_attention(const tk_op *op, const tk_op_args *a) {
    const tk_model_info *I = &M(op)->info;
    const tk_llama_state *st = ST(op);
    int hd = I->head_dim, qd = I->n_head * hd;
    int64_t h0, h1;
    tk_split(I->n_head, a->ith, a->nth, &h0, &h1);
    for (int b = 0; b < a->n; b++) {
        int pos = row_pos(a, b), n_swa = M(op)->n_swa;
        /* a sliding window (Mistral v0.1) sees the last n_swa positions,
         * itself included, as llama.cpp's mask does */
        tk_attn_row r = {
            .q = op->src + (size_t)b * qd,
            .k = tk_llama_kv(st, st->kcache, row_seq(a, b), op->layer),
            .v = tk_llama_kv(st, st->vcache, row_seq(a, b), op->layer),
            .out = op->dst + (size_t)b * qd,
            .att = st->att,
            .att_stride = (size_t)st->n_ctx,
            .hd = hd,
            .kv_head = tk_llama_kv_head_stride(st),
            .kv_row = hd,
            .group = I->n_head / I->n_head_kv,
            .t0 = n_swa > 0 && pos >= n_swa ? pos - n_swa + 1 : 0,
            .t1 = pos,
            .scale = 1.0f / sqrtf((float)hd),
        };
        tk_attention(M(op)->isa, &r, (int)h0, (int)h1);
    }
}

static void op_add(const tk_op *op, const tk_op_args *a) {
    size_t n = (size_t)a->n * op->n;
    for (size_t i = 0; i < n; i++) op->dst[i] += op->src[i];
}

/* elementwise: each thread its share of the run's n rows x op->n */
static void op_swiglu(const tk_op *op, const tk_op_args *a) {
    int64_t i0, i1;
    tk_split((int64_t)a->n * op->n, a->ith, a->nth, &i0, &i1);
    tk_swiglu(op->dst + i0, op->src + i0, (int)(i1 - i0));
}

/* ---- ops of the other architectures ----------------------------------------- */

/* LayerNorm with scale w and shift src2: src row b -> dst row b (last_only
 * as op_rmsnorm) */
static void op_layernorm(const tk_op *op, const tk_op_args *a) {
    for (int i = 0, n = op_rows(op, a); i < n; i++)
        tk_layernorm(op->dst + (size_t)i * op->n, op->src + (size_t)out_row(op, a, i) * op->n, op->w->data, op->src2,
                     op->n, M(op)->norm_eps);
}

/* dst row b += bias (w) for each row (last_only: the rows of out[], which
 * the op before compacted into rows 0 .. n_out-1) */
static void op_bias(const tk_op *op, const tk_op_args *a) {
    int rows = op_rows(op, a);
    const float *bias = op->w->data;
    for (int b = 0; b < rows; b++) {
        float *d = op->dst + (size_t)b * op->n;
        for (int i = 0; i < op->n; i++) d[i] += bias[i];
    }
}

static void op_gelu(const tk_op *op, const tk_op_args *a) {
    int64_t i0, i1;
    tk_split((int64_t)a->n * op->n, a->ith, a->nth, &i0, &i1);
    tk_gelu(op->dst + i0, (int)(i1 - i0));
}

/* x row b += learned position embedding of the row's position (src: one
 * scratch row per position for the conversion to float) */
static void op_pos_embd(const tk_op *op, const tk_op_args *a) {
    const tk_weight *w = op->w;
    for (int b = 0; b < a->n; b++) {
        float *tmp = (float *)op->src + (size_t)b * op->n, *x = op->dst + (size_t)b * op->n;
        tk_get_row(w->type, M(op)->isa, w->data, w->cols, row_pos(a, b), tmp);
        for (int i = 0; i < op->n; i++) x[i] += tmp[i];
    }
}

/* op_rope with the NEOX pair layout */
static void op_rope_neox(const tk_op *op, const tk_op_args *a) {
    const tk_model_info *I = &M(op)->info;
    size_t qd = (size_t)I->n_head * I->head_dim, kvd = (size_t)I->n_head_kv * I->head_dim;
    for (int b = 0; b < a->n; b++) {
        const float *cs = op->src + (size_t)b * I->rope_dim;
        tk_rope_neox(op->dst + b * qd, I->n_head, I->head_dim, I->rope_dim, cs);
        tk_rope_neox((float *)op->src2 + b * kvd, I->n_head_kv, I->head_dim, I->rope_dim, cs);
    }
}

/* ---- graph building -------------------------------------------------------- */

typedef struct builder {
    tk_graph *g;
    const tk_model *m;
    tk_llama_state *st;
    int layer;
    /* what the activation buffer xq holds now (to convert once per input) */
    const float *xq_src;
    int xq_type;
} builder;

static tk_op *add(builder *b, tk_op_fn fn, int kind, int stage, const char *name) {
    tk_graph *g = b->g;
    TK_ASSERT(g->n_ops < g->cap);
    tk_op *op = &g->ops[g->n_ops++];
    memset(op, 0, sizeof *op);
    op->run = fn, op->kind = (uint8_t)kind, op->stage = (uint8_t)stage, op->layer = (int16_t)b->layer;
    op->ctx = b->m;
    op->state = b->st;
    if (b->layer >= 0) snprintf(op->name, sizeof op->name, "blk.%d.%s", b->layer, name);
    else snprintf(op->name, sizeof op->name, "%s", name);
    return op;
}

/* RMSNorm, or LayerNorm with shift wb (the model's norm_kind) */
static void norm(builder *b, const tk_weight *w, const tk_weight *wb, float *dst, const float *src, int stage, const char *name) {
    int n = b->m->info.n_embd;
    if (b->m->norm_kind == TK_NORM_LAYER) {
        tk_op *op = add(b, op_layernorm, TK_KIND_NORM, stage, name);
        op->w = w, op->src2 = wb->data, op->dst = dst, op->src = src, op->n = n;
        /* mean; subtract, square, sum; subtract, scale, times w, plus b */
        op->flops = 8ull * n, op->bytes = 4ull * n * 4, op->weight_bytes = 2ull * n * 4;
        op->shape[0] = 1, op->shape[1] = n;
        return;
    }
    tk_op *op = add(b, op_rmsnorm, TK_KIND_NORM, stage, name);
    op->w = w, op->dst = dst, op->src = src, op->n = n;
    op->flops = 4ull * n, op->bytes = 3ull * n * 4, op->weight_bytes = (uint64_t)n * 4;
    op->shape[0] = 1, op->shape[1] = n;
}

/* dst rows += bias, accounted to the kind of the matmul it follows; none
 * when the model has no such bias */
static void bias(builder *b, const tk_weight *w, float *dst, int kind, int stage, const char *name) {
    if (!w->data) return;
    int n = (int)w->cols;
    tk_op *op = add(b, op_bias, kind, stage, name);
    op->w = w, op->dst = dst, op->n = n;
    op->flops = (uint64_t)n, op->bytes = 3ull * n * 4, op->weight_bytes = (uint64_t)n * 4;
    op->shape[0] = 1, op->shape[1] = n;
}

/* y = W x, with the conversion of x to W's vec_dot_type when xq does not
 * already hold it. */
static void matmul(builder *b, const tk_weight *w, float *dst, const float *src, int kind, int stage, const char *name) {
    const tk_dtype_traits *t = tk_dtype_get(w->type);
    uint64_t act = tk_act_bytes(w->type, w->cols);
    if (b->xq_src != src || b->xq_type != t->vec_dot_type) {
        char qn[40];
        snprintf(qn, sizeof qn, "%s.quant", name);
        tk_op *q = add(b, op_quant, TK_KIND_QUANT, stage, qn);
        q->src = src, q->n = (int)w->cols, q->wtype = w->type, q->xq = b->st->xq;
        q->flops = t->vec_dot_type == TK_F32 ? 0 : 2ull * (uint64_t)w->cols;
        q->bytes = (uint64_t)w->cols * 4 + act;
        q->shape[0] = 1, q->shape[1] = w->cols;
        b->xq_src = src, b->xq_type = t->vec_dot_type;
    }
    tk_op *op = add(b, op_matmul, kind, stage, name);
    op->w = w, op->dst = dst, op->xq = b->st->xq, op->parallel = 1, op->n = (int)w->rows;
    op->weight_bytes = tk_dtype_row_bytes(w->type, w->cols) * (uint64_t)w->rows;
    op->flops = 2ull * (uint64_t)w->rows * (uint64_t)w->cols;
    op->bytes = op->weight_bytes + act + (uint64_t)w->rows * 4;
    op->shape[0] = 1, op->shape[1] = w->rows;
}

static tk_op *simple(builder *b, tk_op_fn fn, int kind, float *dst, const float *src, int n, uint64_t flops_per_elem, const char *name) {
    tk_op *op = add(b, fn, kind, TK_STAGE_DECODE, name);
    op->dst = dst, op->src = src, op->n = n;
    op->flops = flops_per_elem * (uint64_t)n, op->bytes = 3ull * (uint64_t)n * 4;
    op->shape[0] = 1, op->shape[1] = n;
    return op;
}

int tk_llama_build(tk_graph *g, const tk_model *m, tk_llama_state *st, tk_error *e) {
    const tk_model_info *I = &m->info;
    memset(g, 0, sizeof *g);
    if (m->pos_embd.data && st->n_ctx > m->pos_embd.rows)
        return tk_err(e, TK_EINVAL, "context %d is larger than the model's %lld learned positions: use -c %lld or less",
                      st->n_ctx, (long long)m->pos_embd.rows, (long long)m->pos_embd.rows);
    g->cap = 16 + I->n_layer * 32;
    g->ops = calloc((size_t)g->cap, sizeof *g->ops);
    if (!g->ops) return tk_err(e, TK_ENOMEM, "out of memory");
    g->n_layer = I->n_layer;
    builder b = {g, m, st, -1, NULL, -1};
    int E = I->n_embd, hd = I->head_dim, qd = I->n_head * hd, kvd = I->n_head_kv * hd;

    tk_op *op = add(&b, op_embed, TK_KIND_EMBED, TK_STAGE_FETCH, "token_embd");
    op->w = &m->tok_embd, op->dst = st->x, op->n = E;
    op->bytes = tk_dtype_row_bytes(m->tok_embd.type, E) + (uint64_t)E * 4;
    op->weight_bytes = tk_dtype_row_bytes(m->tok_embd.type, E);
    op->shape[0] = 1, op->shape[1] = E;
    if (m->pos_embd.data) {
        uint64_t rb = tk_dtype_row_bytes(m->pos_embd.type, E);
        op = add(&b, op_pos_embd, TK_KIND_EMBED, TK_STAGE_FETCH, "position_embd");
        op->w = &m->pos_embd, op->dst = st->x, op->src = st->xb, op->n = E;
        op->flops = (uint64_t)E, op->bytes = rb + 3ull * E * 4, op->weight_bytes = rb;
        op->shape[0] = 1, op->shape[1] = E;
    }
    if (m->rope_kind != TK_ROPE_NONE) {
        op = add(&b, op_rope_angles, TK_KIND_ROPE, TK_STAGE_DECODE, "rope_angles");
        op->dst = st->cs, op->n = I->rope_dim;
        op->flops = 3ull * I->rope_dim, op->bytes = (uint64_t)I->rope_dim * 4;
        op->shape[0] = 1, op->shape[1] = I->rope_dim;
    }

    for (int l = 0; l < I->n_layer; l++) {
        const tk_layer *L = &m->layers[l];
        b.layer = l;
        norm(&b, &L->attn_norm, &L->attn_norm_b, st->xb, st->x, TK_STAGE_DECODE, "attn_norm");
        matmul(&b, &L->wq, st->q, st->xb, TK_KIND_QKV, TK_STAGE_DECODE, "attn_q");
        bias(&b, &L->bq, st->q, TK_KIND_QKV, TK_STAGE_DECODE, "attn_q.bias");
        matmul(&b, &L->wk, st->k, st->xb, TK_KIND_QKV, TK_STAGE_DECODE, "attn_k");
        bias(&b, &L->bk, st->k, TK_KIND_QKV, TK_STAGE_DECODE, "attn_k.bias");
        matmul(&b, &L->wv, st->v, st->xb, TK_KIND_QKV, TK_STAGE_DECODE, "attn_v");
        bias(&b, &L->bv, st->v, TK_KIND_QKV, TK_STAGE_DECODE, "attn_v.bias");

        if (m->rope_kind != TK_ROPE_NONE) {
            op = add(&b, m->rope_kind == TK_ROPE_NEOX ? op_rope_neox : op_rope, TK_KIND_ROPE, TK_STAGE_DECODE, "rope");
            op->dst = st->q, op->src = st->cs, op->src2 = st->k, op->n = qd + kvd;
            op->flops = 6ull * (uint64_t)(I->n_head + I->n_head_kv) * (I->rope_dim / 2);
            op->bytes = 2ull * (uint64_t)(qd + kvd) * 4;
            op->shape[0] = 1, op->shape[1] = qd + kvd;
        }

        op = add(&b, op_kv_store, TK_KIND_KV_STORE, TK_STAGE_WRITEBACK, "kv_store");
        op->src = st->k, op->src2 = st->v, op->n = kvd;
        op->bytes = 4ull * (uint64_t)kvd * 4; /* read k, v; write both */
        op->shape[0] = 2, op->shape[1] = kvd;

        op = add(&b, op_attention, TK_KIND_ATTN, TK_STAGE_DECODE, "attention");
        op->src = st->q, op->dst = st->xb2, op->n = qd, op->parallel = 1;
        op->bytes = 2ull * (uint64_t)qd * 4;
        op->flops_per_ctx = (uint64_t)I->n_head * (4ull * (uint64_t)hd + 5);
        op->bytes_per_ctx = 2ull * (uint64_t)kvd * 4 + (uint64_t)I->n_head * 8;
        op->shape[0] = 1, op->shape[1] = qd;

        matmul(&b, &L->wo, st->xb, st->xb2, TK_KIND_ATTN_OUT, TK_STAGE_DECODE, "attn_output");
        bias(&b, &L->bo, st->xb, TK_KIND_ATTN_OUT, TK_STAGE_DECODE, "attn_output.bias");
        simple(&b, op_add, TK_KIND_RESIDUAL, st->x, st->xb, E, 1, "attn_residual");

        norm(&b, &L->ffn_norm, &L->ffn_norm_b, st->xb, st->x, TK_STAGE_DECODE, "ffn_norm");
        b.xq_src = NULL; /* xb was rewritten */
        if (m->ffn_kind == TK_FFN_GELU) {
            matmul(&b, &L->w_up, st->hb, st->xb, TK_KIND_FFN, TK_STAGE_DECODE, "ffn_up");
            bias(&b, &L->b_up, st->hb, TK_KIND_FFN, TK_STAGE_DECODE, "ffn_up.bias");
            op = add(&b, op_gelu, TK_KIND_ACT, TK_STAGE_DECODE, "ffn_gelu");
            op->parallel = 1;
            op->dst = st->hb, op->n = I->n_ff;
            /* x^2, x^3 term, scale, tanh (~ 8), 1 +, times x / 2; read, write */
            op->flops = 14ull * (uint64_t)I->n_ff, op->bytes = 2ull * (uint64_t)I->n_ff * 4;
            op->shape[0] = 1, op->shape[1] = I->n_ff;
        } else {
            matmul(&b, &L->w_gate, st->hb, st->xb, TK_KIND_FFN, TK_STAGE_DECODE, "ffn_gate");
            matmul(&b, &L->w_up, st->hb2, st->xb, TK_KIND_FFN, TK_STAGE_DECODE, "ffn_up");
            simple(&b, op_swiglu, TK_KIND_ACT, st->hb, st->hb2, I->n_ff, 6, "ffn_swiglu")->parallel = 1;
        }
        b.xq_src = NULL;
        matmul(&b, &L->w_down, st->xb, st->hb, TK_KIND_FFN, TK_STAGE_DECODE, "ffn_down");
        bias(&b, &L->b_down, st->xb, TK_KIND_FFN, TK_STAGE_DECODE, "ffn_down.bias");
        simple(&b, op_add, TK_KIND_RESIDUAL, st->x, st->xb, E, 1, "ffn_residual");
        b.xq_src = NULL;
    }
    b.layer = -1;
    g->first_logits_op = g->n_ops;
    norm(&b, &m->output_norm, &m->output_norm_b, st->xb, st->x, TK_STAGE_EXECUTE, "output_norm");
    g->first_classifier_op = g->n_ops, g->hidden = st->xb;
    b.xq_src = NULL;
    matmul(&b, &m->output, st->logits, st->xb, TK_KIND_CLASSIFIER, TK_STAGE_EXECUTE, "output");
    bias(&b, &m->output_b, st->logits, TK_KIND_CLASSIFIER, TK_STAGE_EXECUTE, "output.bias");
    for (int i = g->first_logits_op; i < g->n_ops; i++) g->ops[i].last_only = 1; /* only rows that want logits */
    return TK_OK;
}

void tk_graph_free(tk_graph *g) {
    free(g->ops);
    memset(g, 0, sizeof *g);
}

static const char *kind_names[TK_KIND_COUNT] = {
    "embed", "norm", "quantize_act", "qkv_matmul", "rope", "kv_store", "attention",
    "attn_out_matmul", "residual", "ffn_matmul", "activation", "classifier", "sampling",
};
static const char *stage_names[TK_STAGE_COUNT] = {"fetch", "decode", "execute", "write-back"};

const char *tk_op_kind_name(int k) { return k >= 0 && k < TK_KIND_COUNT ? kind_names[k] : "?"; }
const char *tk_stage_name(int s) { return s >= 0 && s < TK_STAGE_COUNT ? stage_names[s] : "?"; }
