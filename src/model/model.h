/* model.h: a loaded model: hyper-parameters, vocabulary, and the weights
 * bound by name (with expected type and shape) to views into the mapped
 * file. Built by model.c from a GGUF or llama2.c reader; run by llama.c. */
#ifndef TK_MODEL_MODEL_H
#define TK_MODEL_MODEL_H

#include "tick.h"
#include "../base/mapfile.h"
#include "../formats/gguf.h"
#include "../formats/llama2c.h"
#include "../tokenizer/vocab.h"

/* A weight matrix: `rows` rows of `cols` elements (GGUF ne[0] = cols). */
typedef struct tk_weight {
    int type;
    int64_t cols, rows;
    const void *data;
    const void *packed; /* the same matrix repacked (tensor/pack.h), or NULL */
} tk_weight;

/* Fused tensors (GPT-2's and Phi-3's attn_qkv, Phi-3's gate+up ffn_up)
 * are bound once and split into row views: wq, wk, wv (and their biases)
 * point into the one tensor, so the graph is the same for every file. A
 * bias or norm shift absent from the file has data == NULL. */
typedef struct tk_layer {
    tk_weight attn_norm;   /* [n_embd]                          F32 */
    tk_weight attn_norm_b; /* [n_embd] LayerNorm shift          F32 */
    tk_weight wq;          /* [n_head*head_dim x n_embd]             */
    tk_weight wk, wv;      /* [n_head_kv*head_dim x n_embd]          */
    tk_weight bq, bk, bv;  /* biases of wq, wk, wv              F32 */
    tk_weight wo;          /* [n_embd x n_head*head_dim]             */
    tk_weight bo;          /* [n_embd]                          F32 */
    tk_weight ffn_norm;    /* [n_embd]                          F32 */
    tk_weight ffn_norm_b;  /* [n_embd]                          F32 */
    tk_weight w_gate;      /* [n_ff x n_embd]  (absent: GELU FFN)    */
    tk_weight w_down;      /* [n_embd x n_ff]                        */
    tk_weight w_up;        /* [n_ff x n_embd]                        */
    tk_weight b_up;        /* [n_ff]                            F32 */
    tk_weight b_down;      /* [n_embd]                          F32 */
} tk_layer;

/* A layer's matrices that run as matrix multiplies, as an initializer:
 * `const tk_weight *ws[TK_LAYER_MATRICES] = TK_LAYER_MATRIX_LIST(L);`
 * (a GELU FFN has no gate: its data is NULL). */
#define TK_LAYER_MATRICES 7
#define TK_LAYER_MATRIX_LIST(L) {&(L)->wq, &(L)->wk, &(L)->wv, &(L)->wo, &(L)->w_gate, &(L)->w_up, &(L)->w_down}

/* What differs between the architectures tick runs (llama.c branches on
 * these; everything else is shared). */
typedef enum tk_arch { TK_ARCH_LLAMA, TK_ARCH_GPT2, TK_ARCH_QWEN2, TK_ARCH_PHI3 } tk_arch;
typedef enum tk_norm_kind { TK_NORM_RMS, TK_NORM_LAYER } tk_norm_kind;
typedef enum tk_rope_kind { TK_ROPE_NORMAL, TK_ROPE_NEOX, TK_ROPE_NONE } tk_rope_kind;
typedef enum tk_ffn_kind { TK_FFN_SWIGLU, TK_FFN_GELU } tk_ffn_kind;

/* Neutral tensor description (both readers produce a list of these). */
typedef struct tk_tensor_desc {
    const char *name;
    int type, n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    const void *data;
} tk_tensor_desc;

struct tk_model {
    tk_model_info info;
    char arch[32], name[128], format[32];
    tk_map map;
    tk_gguf *gguf;       /* NULL for llama2.c */
    void *hf_image;      /* a Hugging Face folder's GGUF image (gguf parses it) */
    size_t hf_size;
    tk_l2c l2c;          /* llama2.c tensors   */
    int rope_pow;        /* angles by powf (llama2.c) vs ggml's recurrence */
    int bos_is_eog;      /* llama2.c stories end at BOS                    */
    int vocab_only;      /* loaded for tokenizing only: no weights bound   */
    int isa;             /* tk_isa: the kernel tables every op uses         */
    int arch_id;         /* tk_arch                                         */
    int norm_kind;       /* tk_norm_kind: RMSNorm or LayerNorm              */
    int rope_kind;       /* tk_rope_kind                                    */
    int ffn_kind;        /* tk_ffn_kind                                     */
    float norm_eps;      /* LayerNorm epsilon (RMSNorm's is info.rms_eps)   */
    int n_swa;           /* sliding attention window (0: none)              */
    tk_vocab *vocab;
    int n_tensors;
    tk_tensor_desc *tensors;
    tk_weight tok_embd;    /* [n_vocab x n_embd] */
    tk_weight pos_embd;    /* [n_ctx_train x n_embd] learned positions (GPT-2) */
    tk_weight output_norm; /* [n_embd]           */
    tk_weight output_norm_b; /* [n_embd] LayerNorm shift */
    tk_weight output_b;    /* [n_vocab] classifier bias (optional) */
    tk_weight output;      /* [n_vocab x n_embd] (== tok_embd when tied) */
    tk_layer *layers;
    void *packed;          /* the repacked matrices (one mapping)            */
    size_t packed_bytes;
    int repack_threads;  /* > 0: repacking deferred to tk_model_repack */
};

#endif
