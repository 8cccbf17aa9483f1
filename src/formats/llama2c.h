/* llama2.c checkpoints (Karpathy's run.c format), f32 weights.
 *
 * Legacy (version 0): a header of 7 int32
 *   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 * (vocab_size < 0 means the classifier is NOT shared with the embedding),
 * then f32 arrays, each for all layers at once:
 *   token_embedding [vocab][dim]
 *   rms_att [layer][dim]  wq [layer][dim][dim]  wk [layer][kv_dim][dim]
 *   wv [layer][kv_dim][dim]  wo [layer][dim][dim]  rms_ffn [layer][dim]
 *   w1 [layer][hidden][dim]  w2 [layer][dim][hidden]  w3 [layer][hidden][dim]
 *   rms_final [dim]  freq_cis_real [seq_len][head/2]  freq_cis_imag [same]
 *   wcls [vocab][dim]            (only when unshared)
 *
 * Version 1 ("ak42", export.py --version 1): 256-byte header
 *   u32 magic 0x616b3432 | i32 version 1 | 7 x i32 params as above |
 *   u8 shared_classifier | zero padding to 256
 * then f32: rms_att, rms_ffn (all layers), rms_final, token_embedding,
 *   wq, wk, wv, wo, w1, w2, w3 (all layers each), wcls (when unshared).
 *   No freq_cis tables.
 *
 * The reader turns either into a list of tensors with GGUF's names
 * (token_embd.weight, blk.N.attn_q.weight, ...) that point into the map. */
#ifndef TK_FORMATS_LLAMA2C_H
#define TK_FORMATS_LLAMA2C_H

#include <stddef.h>
#include <stdint.h>
#include "tick.h"

typedef struct tk_l2c_tensor {
    char name[48];
    int n_dims;
    int64_t ne[2];     /* ne[0] = row length */
    const float *data; /* into the map (f32, 4-byte aligned in the file) */
} tk_l2c_tensor;

typedef struct tk_l2c {
    int version; /* 0 or 1 */
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int shared_classifier;
    int n_tensors;
    tk_l2c_tensor *tensors; /* malloc'd */
} tk_l2c;

/* 1 if the buffer starts like a llama2.c checkpoint of either version. */
int tk_l2c_sniff(const void *data, size_t size);
int tk_l2c_parse(tk_l2c *out, const void *data, size_t size, tk_error *e);
void tk_l2c_free(tk_l2c *c);

#endif
