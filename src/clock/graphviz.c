/* graphviz.c: `tick graph` (see graphviz.h). The data flow is recovered
 * from the buffers each op reads and writes: which operand is which
 * depends on the op's kind (graph.h), as llama.c fills them in. */
#include "graphviz.h"
#include "../base/status.h"
#include "../model/model.h"
#include "../tensor/dtype.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A buffer: a pointer, plus the layer for the KV cache (every layer's
 * cache is its own buffer; the op points at the session state). */
typedef struct bkey {
    const void *p;
    int layer; /* -1000: a plain buffer */
} bkey;

enum { PLAIN = -1000, E_RESIDUAL = 1, E_CACHE = 2 };

typedef struct edge { int from, to, flags; } edge;

typedef struct walk {
    const tk_graph *g;
    const tk_model *m;
    int fold, token, logits;   /* node ids past the ops */
    bkey *wk;                  /* buffers written so far ... */
    int *wn;                   /* ... and the node that wrote each last */
    int n_w, cap_w;
    edge *ed;
    int n_e, cap_e;
    bkey resid;                /* the residual stream: what the embedding writes */
} walk;

static bkey plain(const void *p) { return (bkey){p, PLAIN}; }
static int same(bkey a, bkey b) { return a.p == b.p && a.layer == b.layer; }

/* Which buffers op reads and writes (by kind; see llama.c). */
static void access(const tk_op *op, bkey *rd, int *nr, bkey *wr, int *nw) {
    *nr = *nw = 0;
    bkey cache = {op->xq, op->layer};
    switch (op->kind) {
    case TK_KIND_EMBED:
        if (op->src) rd[(*nr)++] = plain(op->dst); /* learned positions: added to x */
        wr[(*nw)++] = plain(op->dst);
        break;
    case TK_KIND_QUANT: rd[(*nr)++] = plain(op->src), wr[(*nw)++] = plain(op->xq); break;
    case TK_KIND_QKV:
    case TK_KIND_ATTN_OUT:
    case TK_KIND_FFN:
    case TK_KIND_CLASSIFIER:
        /* a matmul reads xq; a bias after it (no xq) adds to dst in place */
        rd[(*nr)++] = plain(op->xq ? op->xq : op->dst), wr[(*nw)++] = plain(op->dst);
        break;
    case TK_KIND_ROPE:
        if (op->src2) { /* q in dst and k in src2, rotated in place with the angles in src */
            rd[(*nr)++] = plain(op->dst), rd[(*nr)++] = plain(op->src2), rd[(*nr)++] = plain(op->src);
            wr[(*nw)++] = plain(op->dst), wr[(*nw)++] = plain(op->src2);
        } else { /* the angles of this position */
            wr[(*nw)++] = plain(op->dst);
        }
        break;
    case TK_KIND_KV_STORE: rd[(*nr)++] = plain(op->src), rd[(*nr)++] = plain(op->src2), wr[(*nw)++] = cache; break;
    case TK_KIND_ATTN: rd[(*nr)++] = plain(op->src), rd[(*nr)++] = cache, wr[(*nw)++] = plain(op->dst); break;
    case TK_KIND_RESIDUAL:
    case TK_KIND_ACT:
        rd[(*nr)++] = plain(op->dst);
        if (op->src) rd[(*nr)++] = plain(op->src); /* GELU has none */
        wr[(*nw)++] = plain(op->dst);
        break;
    default: /* norm and anything new: src (and src2) in, dst out */
        if (op->src) rd[(*nr)++] = plain(op->src);
        if (op->src2) rd[(*nr)++] = plain(op->src2);
        if (op->dst) wr[(*nw)++] = plain(op->dst);
    }
}

static int node_of(const walk *w, int i) { return w->g->ops[i].layer >= 1 ? w->fold : i; }

static int add_edge(walk *w, int from, int to, int flags) {
    if (from == to || from < 0) return 0;
    for (int i = 0; i < w->n_e; i++)
        if (w->ed[i].from == from && w->ed[i].to == to) {
            w->ed[i].flags |= flags;
            return 0;
        }
    if (w->n_e == w->cap_e) return -1;
    w->ed[w->n_e++] = (edge){from, to, flags};
    return 0;
}

static int last_writer(const walk *w, bkey k) {
    for (int i = 0; i < w->n_w; i++)
        if (same(w->wk[i], k)) return w->wn[i];
    return -1;
}

static int set_writer(walk *w, bkey k, int node) {
    for (int i = 0; i < w->n_w; i++)
        if (same(w->wk[i], k)) {
            w->wn[i] = node;
            return 0;
        }
    if (w->n_w == w->cap_w) return -1;
    w->wk[w->n_w] = k, w->wn[w->n_w++] = node;
    return 0;
}

static int build_edges(walk *w) {
    const tk_graph *g = w->g;
    for (int i = 0; i < g->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        bkey rd[4], wr[2];
        int nr, nw, me = node_of(w, i);
        access(op, rd, &nr, wr, &nw);
        if (op->kind == TK_KIND_EMBED) {
            if (add_edge(w, w->token, me, 0)) return -1;
            if (!w->resid.p) w->resid = wr[0];
        }
        for (int r = 0; r < nr; r++) {
            int flags = same(rd[r], w->resid) ? E_RESIDUAL : rd[r].layer != PLAIN ? E_CACHE : 0;
            if (add_edge(w, last_writer(w, rd[r]), me, flags)) return -1;
        }
        for (int k = 0; k < nw; k++)
            if (set_writer(w, wr[k], me)) return -1;
    }
    return g->n_ops ? add_edge(w, node_of(w, g->n_ops - 1), w->logits, 0) : 0;
}

/* ---- labels ------------------------------------------------------------------ */

static const char *si(char *buf, size_t cap, double v, const char *unit) {
    static const char *pre[] = {"", "k", "M", "G", "T", "P"};
    int i = 0;
    while (fabs(v) >= 1000 && i < 5) v /= 1000, i++;
    if (i == 0) snprintf(buf, cap, "%.0f %s", v, unit);
    else snprintf(buf, cap, "%.3g %s%s", v, pre[i], unit);
    return buf;
}

/* The lines of an op's label, joined by sep. */
static void op_label(char *out, size_t cap, const tk_op *op, const char *sep) {
    char sh[64] = "", dt[32] = "", f1[32], b1[32], f2[32], b2[32];
    int o;
    snprintf(sh, sizeof sh, "[%lld × %lld]", (long long)op->shape[0], (long long)op->shape[1]);
    int is_mm = op->kind == TK_KIND_QKV || op->kind == TK_KIND_ATTN_OUT || op->kind == TK_KIND_FFN || op->kind == TK_KIND_CLASSIFIER;
    if (op->w && (is_mm || op->kind == TK_KIND_EMBED))
        snprintf(dt, sizeof dt, " · %s %lld×%lld", tk_dtype_name(op->w->type), (long long)op->w->rows, (long long)op->w->cols);
    o = snprintf(out, cap, "%s%s%s out %s%s%s", op->name, sep, tk_op_kind_name(op->kind), sh, dt, sep);
    if (o < 0 || (size_t)o >= cap) return;
    if (op->flops_per_ctx || op->bytes_per_ctx)
        snprintf(out + o, cap - (size_t)o, "pos 0: %s · %s%s+%s · +%s per context position", si(f1, sizeof f1, (double)(op->flops + op->flops_per_ctx), "FLOP"),
                 si(b1, sizeof b1, (double)(op->bytes + op->bytes_per_ctx), "B"), sep, si(f2, sizeof f2, (double)op->flops_per_ctx, "FLOP"),
                 si(b2, sizeof b2, (double)op->bytes_per_ctx, "B"));
    else
        snprintf(out + o, cap - (size_t)o, "%s · %s per token", si(f1, sizeof f1, (double)op->flops, "FLOP"), si(b1, sizeof b1, (double)op->bytes, "B"));
}

static void fold_label(char *out, size_t cap, const tk_graph *g, const char *sep) {
    double fl = 0, by = 0, flc = 0, byc = 0;
    int n = g->n_layer - 1;
    for (int i = 0; i < g->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        if (op->layer < 1) continue;
        fl += (double)(op->flops + op->flops_per_ctx), by += (double)(op->bytes + op->bytes_per_ctx);
        flc += (double)op->flops_per_ctx, byc += (double)op->bytes_per_ctx;
    }
    char a[32], b[32], c[32], d[32], head[64];
    if (n == 1) snprintf(head, sizeof head, "blk.1: same as blk.0");
    else snprintf(head, sizeof head, "blk.1 .. blk.%d: same as blk.0, ×%d", g->n_layer - 1, n);
    snprintf(out, cap, "%s%stotal at pos 0: %s · %s per token%s+%s · +%s per context position", head, sep, si(a, sizeof a, fl, "FLOP"), si(b, sizeof b, by, "B"), sep,
             si(c, sizeof c, flc, "FLOP"), si(d, sizeof d, byc, "B"));
}

/* ---- colours ------------------------------------------------------------------ */

static const unsigned kind_rgb[TK_KIND_COUNT] = {
    [TK_KIND_EMBED] = 0x8c564b,    [TK_KIND_NORM] = 0xbcbd22,     [TK_KIND_QUANT] = 0x7f7f7f, [TK_KIND_QKV] = 0x1f77b4,
    [TK_KIND_ROPE] = 0x17becf,     [TK_KIND_KV_STORE] = 0x9467bd, [TK_KIND_ATTN] = 0xd62728,  [TK_KIND_ATTN_OUT] = 0x6baed6,
    [TK_KIND_RESIDUAL] = 0xc5b0d5, [TK_KIND_FFN] = 0x2ca02c,      [TK_KIND_ACT] = 0x98df8a,   [TK_KIND_CLASSIFIER] = 0xff7f0e,
    [TK_KIND_SAMPLE] = 0xe377c2,
};

/* The kind's colour mixed with white (fill) or as is (stroke). */
static void color(char *buf, size_t cap, int kind, int tint) {
    unsigned c = kind < TK_KIND_COUNT ? kind_rgb[kind] : 0x888888, r = c >> 16 & 255, g = c >> 8 & 255, b = c & 255;
    if (tint) r = 255 - (255 - r) * 3 / 10, g = 255 - (255 - g) * 3 / 10, b = 255 - (255 - b) * 3 / 10;
    snprintf(buf, cap, "#%02x%02x%02x", r, g, b);
}

/* ---- writers ------------------------------------------------------------------- */

/* Mermaid label text: entity codes for what a quoted label cannot hold. */
static void mm_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '"': fputs("#quot;", f); break;
        case '#': fputs("#35;", f); break;
        case '<': fputs("#lt;", f); break;
        case '>': fputs("#gt;", f); break;
        case '&': fputs("#amp;", f); break;
        case '\n': fputs("<br/>", f); break; /* our own line separator */
        default:
            if ((unsigned char)*s >= 0x20) fputc(*s, f);
        }
    }
}

static void dot_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f), fputc(*s, f);
        else if (*s == '\n') fputs("\\n", f);
        else if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
}

static void node_id(char *buf, size_t cap, const walk *w, int n) {
    if (n == w->fold) snprintf(buf, cap, "fold");
    else if (n == w->token) snprintf(buf, cap, "token");
    else if (n == w->logits) snprintf(buf, cap, "logits");
    else snprintf(buf, cap, "op%d", n);
}

static void write_node(FILE *f, const walk *w, int fmt, int i, const char *indent) {
    char label[512], fill[16], line[16];
    const tk_op *op = &w->g->ops[i];
    op_label(label, sizeof label, op, "\n");
    color(fill, sizeof fill, op->kind, 1), color(line, sizeof line, op->kind, 0);
    if (fmt == TK_GRAPH_MERMAID) {
        fprintf(f, "%sop%d[\"", indent, i);
        mm_text(f, label);
        fprintf(f, "\"]\n%sstyle op%d fill:%s,stroke:%s\n", indent, i, fill, line);
    } else {
        fprintf(f, "%sop%d [label=\"", indent, i);
        dot_text(f, label);
        fprintf(f, "\", fillcolor=\"%s\", color=\"%s\"];\n", fill, line);
    }
}

int tk_graph_write(FILE *f, const tk_graph *g, const tk_model *m, int fmt, tk_error *e) {
    walk w = {g, m, g->n_ops, g->n_ops + 1, g->n_ops + 2, NULL, NULL, 0, 2 * g->n_ops + 8, NULL, 0, 6 * g->n_ops + 8, {NULL, PLAIN}};
    w.wk = malloc((size_t)w.cap_w * sizeof *w.wk);
    w.wn = malloc((size_t)w.cap_w * sizeof *w.wn);
    w.ed = malloc((size_t)w.cap_e * sizeof *w.ed);
    if (!w.wk || !w.wn || !w.ed || build_edges(&w) != 0) {
        free(w.wk), free(w.wn), free(w.ed);
        return tk_err(e, TK_ENOMEM, "graph: out of memory");
    }
    const tk_model_info *I = tk_model_info_of(m);
    int mm = fmt == TK_GRAPH_MERMAID, has_fold = 0;
    for (int i = 0; i < g->n_ops; i++) has_fold |= g->ops[i].layer >= 1;
    char title[256], label[512];
    snprintf(title, sizeof title, "%s (%s, %s): %d layers, n_embd %d, n_head %d, n_ff %d, n_vocab %d; FLOPs and bytes for one token", I->name, I->arch,
             I->format, I->n_layer, I->n_embd, I->n_head, I->n_ff, I->n_vocab);
    for (char *p = title; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
    if (mm) {
        fprintf(f, "graph TD\n%%%% tick graph: ");
        mm_text(f, title);
        fprintf(f, "\n%%%% edges follow the data; dotted edges carry the residual stream x\n");
        fprintf(f, "  token([\"token id\"])\n");
    } else {
        fprintf(f, "digraph tick {\n  graph [rankdir=TB, fontname=\"DejaVu Sans\", fontsize=12, labelloc=t, label=\"");
        dot_text(f, title);
        fprintf(f, "\"];\n  node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\", fontsize=10];\n"
                   "  edge [fontname=\"DejaVu Sans\", fontsize=9, color=\"#555555\"];\n"
                   "  token [label=\"token id\", shape=oval, fillcolor=\"#eeeeee\"];\n");
    }
    /* before layer 0, layer 0 in a box, the fold, after the layers */
    int i = 0;
    for (; i < g->n_ops && g->ops[i].layer < 0; i++) write_node(f, &w, fmt, i, "  ");
    if (i < g->n_ops && g->ops[i].layer == 0) {
        if (mm) fprintf(f, "  subgraph blk0[\"blk.0: one node per op\"]\n");
        else fprintf(f, "  subgraph cluster_blk0 {\n    label=\"blk.0: one node per op\"; style=dashed; color=\"#888888\";\n");
        for (; i < g->n_ops && g->ops[i].layer == 0; i++) write_node(f, &w, fmt, i, "    ");
        fprintf(f, mm ? "  end\n" : "  }\n");
    }
    if (has_fold) {
        fold_label(label, sizeof label, g, "\n");
        if (mm) {
            fprintf(f, "  fold[[\"");
            mm_text(f, label);
            fprintf(f, "\"]]\n  style fold fill:#f3f3f3,stroke:#333333,stroke-width:2px\n");
        } else {
            fprintf(f, "  fold [label=\"");
            dot_text(f, label);
            fprintf(f, "\", shape=box3d, style=filled, fillcolor=\"#f3f3f3\", penwidth=2];\n");
        }
    }
    for (; i < g->n_ops; i++)
        if (g->ops[i].layer < 0) write_node(f, &w, fmt, i, "  ");
    fprintf(f, mm ? "  logits([\"logits → sampler → next token\"])\n" : "  logits [label=\"logits → sampler → next token\", shape=oval, fillcolor=\"#eeeeee\"];\n");
    for (int k = 0; k < w.n_e; k++) {
        char a[16], b[16];
        node_id(a, sizeof a, &w, w.ed[k].from), node_id(b, sizeof b, &w, w.ed[k].to);
        int fl = w.ed[k].flags;
        if (mm) {
            if (fl & E_RESIDUAL) fprintf(f, "  %s -. x .-> %s\n", a, b);
            else if (fl & E_CACHE) fprintf(f, "  %s -- KV cache --> %s\n", a, b);
            else fprintf(f, "  %s --> %s\n", a, b);
        } else {
            if (fl & E_RESIDUAL) fprintf(f, "  %s -> %s [style=dashed, penwidth=1.6, label=\"x\"];\n", a, b);
            else if (fl & E_CACHE) fprintf(f, "  %s -> %s [style=bold, label=\"KV cache\"];\n", a, b);
            else fprintf(f, "  %s -> %s;\n", a, b);
        }
    }
    if (!mm) fprintf(f, "}\n");
    free(w.wk), free(w.wn), free(w.ed);
    if (ferror(f)) return tk_err(e, TK_EIO, "graph: write failed");
    return TK_OK;
}
