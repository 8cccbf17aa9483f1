/* llama.h: the Llama architecture as a graph of ops over one sequence's
 * buffers and KV cache (planned before the first token, one allocation). */
#ifndef TK_MODEL_LLAMA_H
#define TK_MODEL_LLAMA_H

#include "model.h"
#include "graph.h"

typedef struct tk_llama_state {
    float *x;      /* [n_embd]   residual stream                      */
    float *xb;     /* [max(n_embd, n_head*head_dim)] normed input     */
    float *xb2;    /* [n_head*head_dim] attention output (pre-wo)     */
    float *q;      /* [n_head*head_dim]                               */
    float *k, *v;  /* [n_head_kv*head_dim] this position's K and V    */
    float *att;    /* [n_head][n_ctx] attention scores                */
    float *hb;     /* [n_ff]     gate, then swiglu                    */
    float *hb2;    /* [n_ff]     up                                   */
    float *cs;     /* [rope_dim] cos/sin of this position             */
    float *logits; /* [n_vocab]                                       */
    void *xq;      /* activation row in the weights' vec_dot_type     */
    float *kcache; /* [n_layer][n_ctx][n_head_kv*head_dim]            */
    float *vcache; /* same                                            */
    int n_ctx;
} tk_llama_state;

/* Bytes needed for all buffers of a state with context n_ctx. */
size_t tk_llama_state_bytes(const tk_model *m, int n_ctx);
/* Point the state's buffers into mem (tk_llama_state_bytes of it). */
void tk_llama_state_init(tk_llama_state *st, const tk_model *m, int n_ctx, void *mem);

/* Build the graph of one position over st (ops array malloc'd into g). */
int tk_llama_build(tk_graph *g, const tk_model *m, tk_llama_state *st, tk_error *e);
void tk_graph_free(tk_graph *g);

#endif
