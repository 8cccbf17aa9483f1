/* synth.h: random-weight Llama GGUF files at real model shapes, for
 * benchmarks and tests that need a model of a given size but not its
 * knowledge.
 *
 * The file has the metadata llama.cpp's convert script writes for a Llama
 * model (general.architecture, general.name, llama.block_count,
 * llama.context_length, llama.embedding_length, llama.feed_forward_length,
 * llama.attention.head_count, llama.attention.head_count_kv,
 * llama.rope.freq_base, llama.attention.layer_norm_rms_epsilon,
 * general.file_type, llama.vocab_size, llama.rope.dimension_count, then
 * every tokenizer.* pair of the vocabulary file in its order, then
 * general.quantization_version = 2 for Q8_0/Q4_0), and the tensors in the
 * convert script's order: token_embd, per layer attn_norm, attn_q, attn_k,
 * attn_v, attn_output, ffn_norm, ffn_gate, ffn_down, ffn_up, then
 * output_norm and (untied shapes only) output.
 *
 * Weights: norms are 1.0 (F32); every matrix, token_embd and output
 * included, is in the chosen type with values ~ N(0, 0.02) (an Irwin-Hall
 * sum of four uniforms, bounded at +-3.5 sigma). Each row comes from its
 * own splitmix64 stream seeded by (seed, tensor, row), so the file depends
 * only on the seed and shape, not on threads or buffer sizes: same seed,
 * same bytes. Rows are made and converted a few MiB at a time and streamed
 * to the file, so memory stays small for any shape.
 *
 * Vocabulary: every tokenizer.* pair is copied from a GGUF vocabulary file
 * (e.g. llama.cpp's ggml-vocab-llama-spm.gguf). When the shape wants more
 * tokens than the file has (llama3-8b's 128256 with a 32000-token vocab),
 * the vocabulary is padded with tokens "<unused_ID>" (ID = the token id),
 * score -1000 and type UNUSED (5), the way llama.cpp's convert script pads
 * a short vocabulary; stats->vocab_padded says how many. A vocabulary with
 * more tokens than the shape is an error. */
#ifndef TK_FORMATS_SYNTH_H
#define TK_FORMATS_SYNTH_H

#include <stdint.h>
#include "tick.h"

typedef struct tk_synth_shape {
    char name[32];          /* "tinyllama-1.1b"; "custom" for explicit dims */
    char arch[16];          /* "llama" (also when empty) or "qwen2"         */
    int n_embd, n_layer, n_head, n_head_kv, n_ff;
    int n_vocab;            /* 0: the vocabulary file's token count         */
    int n_ctx;
    int tied;               /* no output.weight (the embedding is shared)   */
    float rope_base, rms_eps;
} tk_synth_shape;

/* A named shape: tinyllama-1.1b, stories110m, stories15m, llama2-7b,
 * llama3-8b, qwen2-0.5b. TK_EINVAL for unknown names (the message lists
 * the known ones).
 *
 * Architecture qwen2 writes the same tensors as llama plus the biases
 * blk.N.attn_q.bias, attn_k.bias, attn_v.bias (F32, random like the
 * weights), and its keys under "qwen2." instead of "llama.". */
int tk_synth_shape_named(const char *name, tk_synth_shape *out, tk_error *e);
/* "tinyllama-1.1b, stories110m, ..." */
const char *tk_synth_shape_list(void);
/* Consistency of a shape for a weight type: positive sizes, heads divide
 * the embedding, KV heads divide the heads, an even head size, row lengths
 * (n_embd, n_ff) multiples of the type's block, sizes within limits. */
int tk_synth_shape_check(const tk_synth_shape *s, int type, tk_error *e);

typedef void (*tk_synth_progress_fn)(void *ctx, const char *name, int type, uint64_t bytes);

typedef struct tk_synth_opts {
    tk_synth_shape shape;
    int type;                  /* F32, F16, BF16, Q8_0 or Q4_0              */
    const char *vocab_path;    /* a GGUF with tokenizer.ggml.tokens         */
    uint64_t seed;
    int n_threads;             /* 0 or 1: the calling thread only           */
    tk_synth_progress_fn progress; /* after each tensor; may be NULL        */
    void *ctx;
} tk_synth_opts;

typedef struct tk_synth_stats {
    int n_tensors;
    int n_vocab;               /* tokens in the file                        */
    int vocab_padded;          /* of which "<unused_ID>" padding            */
    uint64_t n_params;         /* elements of all tensors                   */
    uint64_t file_bytes;
} tk_synth_stats;

/* Write the model to out_path (through out_path.tmp; see gguf_write.h).
 * stats may be NULL. */
int tk_synth_write(const tk_synth_opts *o, const char *out_path, tk_synth_stats *stats, tk_error *e);

#endif
