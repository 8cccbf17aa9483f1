/* llama.h: the Llama architecture as a graph of ops over a session's
 * buffers and the KV caches of its sequences (planned before the first
 * token, one allocation). */
#ifndef TK_MODEL_LLAMA_H
#define TK_MODEL_LLAMA_H

#include "model.h"
#include "graph.h"

/* Buffers of a session; activations hold n_batch rows (B below), one per
 * row of a run (a position of one of the n_seq sequences). */
typedef struct tk_llama_state {
    float *x;      /* [B][n_embd]   residual stream                   */
    float *xb;     /* [B][n_embd]   normed input / sub-block output   */
    float *xb2;    /* [B][n_head*head_dim] attention output (pre-wo)  */
    float *q;      /* [B][n_head*head_dim]                            */
    float *k, *v;  /* [B][n_head_kv*head_dim] new K and V             */
    float *att;    /* [n_head][n_ctx] attention scores                */
    float *hb;     /* [B][n_ff]     gate, then swiglu                 */
    float *hb2;    /* [B][n_ff]     up                                */
    float *cs;     /* [B][rope_dim] cos/sin of each position          */
    float *logits; /* [B][n_vocab]  one row per row that wants logits  */
    void *xq;      /* [B] activation rows in the weights' vec_dot_type */
    size_t xq_stride; /* bytes per xq row                             */
    float *kcache; /* [n_seq][n_layer][n_head_kv][n_ctx][head_dim]    */
    float *vcache; /* same                                            */
    int n_ctx, n_batch, n_seq, n_layer;
    size_t kvd;    /* n_head_kv*head_dim                              */
    size_t hd;     /* head_dim                                        */
} tk_llama_state;

/* Bytes needed for all buffers of a state with n_seq sequences of context
 * n_ctx and runs of up to n_batch rows; 0 when that overflows size_t. */
size_t tk_llama_state_bytes(const tk_model *m, int n_ctx, int n_batch, int n_seq);
/* Point the state's buffers into mem (tk_llama_state_bytes of it). */
void tk_llama_state_init(tk_llama_state *st, const tk_model *m, int n_ctx, int n_batch, int n_seq, void *mem);

/* K (or V) cache of layer l of sequence seq: [n_head_kv][n_ctx][head_dim],
 * so one kv head's positions are one contiguous stream for attention */
static inline float *tk_llama_kv(const tk_llama_state *st, float *cache, int seq, int l) {
    return cache + ((size_t)seq * (size_t)st->n_layer + (size_t)l) * (size_t)st->n_ctx * st->kvd;
}
/* floats from one kv head's stream to the next's in that cache */
static inline size_t tk_llama_kv_head_stride(const tk_llama_state *st) { return (size_t)st->n_ctx * st->hd; }

/* Build the graph of a run over st (ops array malloc'd into g). */
int tk_llama_build(tk_graph *g, const tk_model *m, tk_llama_state *st, tk_error *e);
void tk_graph_free(tk_graph *g);

#endif
