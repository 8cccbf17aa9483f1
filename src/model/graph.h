/* graph.h: the program a model runs for one position: an ordered list of
 * ops over the session's buffers. Built once per session by the
 * architecture file (llama.c); run by the clock's executor (clock/exec.c),
 * which splits parallel ops across the thread pool and accounts for each.
 *
 * Every op knows what it costs from its shapes and dtypes (not from
 * timers): flops and bytes for one position, plus a part that grows with
 * the number of positions attention reads (pos + 1). */
#ifndef TK_MODEL_GRAPH_H
#define TK_MODEL_GRAPH_H

#include <stdint.h>
#include "model.h"

/* What an op is, for accounting (the clock's per-op-kind table). */
typedef enum tk_op_kind {
    TK_KIND_EMBED,      /* token id -> embedding row                    */
    TK_KIND_NORM,       /* RMSNorm                                      */
    TK_KIND_QUANT,      /* activation row -> the weights' vec_dot_type  */
    TK_KIND_QKV,        /* Q, K, V projections                          */
    TK_KIND_ROPE,       /* rotary position embedding                    */
    TK_KIND_KV_STORE,   /* K, V of this position into the cache         */
    TK_KIND_ATTN,       /* scores, softmax, weighted sum over the cache */
    TK_KIND_ATTN_OUT,   /* output projection                            */
    TK_KIND_RESIDUAL,   /* x += sub-block output                        */
    TK_KIND_FFN,        /* gate, up, down projections                   */
    TK_KIND_ACT,        /* SwiGLU                                       */
    TK_KIND_CLASSIFIER, /* final projection to logits                   */
    TK_KIND_SAMPLE,     /* logits -> next token (outside the graph)     */
    TK_KIND_COUNT
} tk_op_kind;

/* The four stages of a tick. */
typedef enum tk_stage { TK_STAGE_FETCH, TK_STAGE_DECODE, TK_STAGE_EXECUTE, TK_STAGE_WRITEBACK, TK_STAGE_COUNT } tk_stage;

const char *tk_op_kind_name(int kind);  /* "qkv_matmul", ... */
const char *tk_stage_name(int stage);   /* "fetch", ...      */

struct tk_op;
/* What the executor passes to an op: the rows of this run and this
 * thread's share. A run is n rows, each one token of one sequence at one
 * position (a prefill burst of one sequence: consecutive positions; a
 * batched tick: rows of several sequences, each sequence's rows
 * consecutive and in order). Activations are n rows and each weight is
 * read once for all of them. Only the rows in out[] (ascending) go through
 * the ops after the layers (final norm, classifier): row out[i]'s result
 * is row i of their output. */
typedef struct tk_op_args {
    const int *pos;       /* [n] position of each row in its sequence  */
    const int *seq;       /* [n] sequence (KV cache slot) of each row  */
    int n;                /* rows in this run (>= 1)                   */
    const int32_t *tokens;/* [n] token ids                             */
    const int *out;       /* [n_out] rows that want the final ops      */
    int n_out;
    int ith, nth;         /* thread index and count                    */
} tk_op_args;
typedef void (*tk_op_fn)(const struct tk_op *op, const tk_op_args *a);

typedef struct tk_op {
    tk_op_fn run;
    uint8_t kind, stage;
    uint8_t parallel;   /* every thread runs its share; else thread 0 only  */
    uint8_t last_only;  /* only the rows in out[] (final norm, logits)      */
    int16_t layer;      /* -1 outside the layers                            */
    char name[40];      /* "blk.3.attn_q", "output", ...                    */
    /* operands (meaning depends on the op) */
    const tk_weight *w;
    float *dst;
    const float *src, *src2;
    void *xq;           /* activation row in the weights' vec_dot_type       */
    int n;              /* element count                                     */
    int wtype;          /* for activation conversion: the weights' type      */
    const void *ctx;    /* the model                                         */
    const void *state;  /* the sequence's buffers (tk_llama_state)           */
    /* cost of one position (weight_bytes is part of bytes and is read once
     * per run, whatever n); attention adds *_per_ctx x (pos + 1) */
    uint64_t flops, bytes, weight_bytes;
    uint64_t flops_per_ctx, bytes_per_ctx;
    /* shapes for `tick graph`: output [rows x cols] and the weight dtype */
    int64_t shape[2];
} tk_op;

typedef struct tk_graph {
    tk_op *ops;
    int n_ops, cap;
    int n_layer;
    int first_logits_op; /* ops from here on only run when logits are wanted */
    int first_classifier_op; /* ops [first_logits_op, this) leave the final-norm
                                hidden rows (one per out[] row) in `hidden` */
    const float *hidden;     /* [n_out][n_embd] */
} tk_graph;

#endif
