/* llama.h: the Llama forward pass for one position (one tick's decode
 * stage), over a session's buffers and KV cache. */
#ifndef TK_MODEL_LLAMA_H
#define TK_MODEL_LLAMA_H

#include "model.h"

/* Work buffers of one sequence, planned before the first token. */
typedef struct tk_llama_state {
    float *x;      /* [n_embd]   residual stream                      */
    float *xb;     /* [n_embd]   normed input of a sub-block          */
    float *xb2;    /* [n_head*head_dim] attention output (pre-wo)     */
    float *q;      /* [n_head*head_dim]                               */
    float *att;    /* [n_head][n_ctx] attention scores                */
    float *hb;     /* [n_ff]     gate, then swiglu                    */
    float *hb2;    /* [n_ff]     up                                   */
    float *cs;     /* [rope_dim] cos/sin of this position             */
    float *logits; /* [n_vocab]                                       */
    void *xq;      /* activation row in the weight's vec_dot_type     */
    float *kcache; /* [n_layer][n_ctx][n_head_kv*head_dim]            */
    float *vcache; /* same                                            */
    int n_ctx;
} tk_llama_state;

/* Bytes needed for all buffers of a state with context n_ctx. */
size_t tk_llama_state_bytes(const tk_model *m, int n_ctx);
/* Point the state's buffers into mem (tk_llama_state_bytes of it). */
void tk_llama_state_init(tk_llama_state *st, const tk_model *m, int n_ctx, void *mem);

/* Run token `id` at position pos (< n_ctx): writes K/V at pos into the
 * cache and, when want_logits, the logits of the next token. */
void tk_llama_forward(const tk_model *m, tk_llama_state *st, int32_t id, int pos, int want_logits);

#endif
