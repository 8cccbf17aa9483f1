/* quantize.h: convert a GGUF model's weights to another type, like
 * llama.cpp's `llama-quantize --pure`.
 *
 * What changes:
 *   - every tensor whose name ends in "weight", with at least 2 dimensions
 *     (trailing 1s not counted), that is not a norm ("_norm.weight") or an
 *     expert router ("ffn_gate_inp.weight"), goes to the target type:
 *     token_embd.weight and output.weight included. Its rows are converted
 *     one at a time: to_float of the source type, then the target's
 *     reference quantizer (from_float, byte-identical with llama.cpp's for
 *     F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K). A tensor already in the target type, or whose
 *     row length is not a multiple of the target's block (llama.cpp refuses
 *     those under --pure), is copied unchanged, as is every other tensor
 *     (norms stay F32);
 *   - tensors are written in llama.cpp's order: those outside blk.N first,
 *     then by layer number, by name within each group;
 *   - metadata: every pair of the input in its order, minus split.no,
 *     split.count and split.tensors.count, then general.quantization_version
 *     = 2 and general.file_type = the LLAMA_FTYPE of the target type (set as
 *     llama.cpp sets them: removed where they were, appended at the end; it
 *     does so for every target type, F16 and F32 included);
 *   - general.alignment (if any) is kept, and the layout follows it.
 * So quantizing an F32 file gives the same bytes as llama-quantize --pure. */
#ifndef TK_FORMATS_QUANTIZE_H
#define TK_FORMATS_QUANTIZE_H

#include <stdint.h>
#include "tick.h"

/* The target types: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K by name
 * (case-insensitive, "q8_0"); -1 for any other name. */
int tk_quantize_type_from_name(const char *name);
/* llama.cpp's LLAMA_FTYPE for a target type (ALL_F32 0, MOSTLY_F16 1,
 * MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_Q4_K_M 15 (what llama-quantize --pure
 * q4_k_m writes), MOSTLY_Q6_K 18, MOSTLY_BF16 32); -1 for others. */
int tk_ftype_of(int type);

/* Called after each tensor is written: its name, source and written type,
 * and its bytes in the source and in the output. */
typedef void (*tk_quantize_progress_fn)(void *ctx, const char *name, int from_type, int to_type,
                                        uint64_t from_bytes, uint64_t to_bytes);

typedef struct tk_quantize_opts {
    int type;                        /* target: a tk_dtype of the list above */
    int n_threads;                   /* 0 or 1: the calling thread only      */
    tk_quantize_progress_fn progress; /* may be NULL                         */
    void *ctx;
} tk_quantize_opts;

typedef struct tk_quantize_stats {
    int n_tensors, n_converted;
    uint64_t bytes_in, bytes_out;    /* tensor data, without padding         */
    uint64_t file_bytes;             /* the whole output file                */
} tk_quantize_stats;

/* Read in_path, write out_path (through out_path.tmp; see gguf_write.h).
 * stats may be NULL. */
int tk_quantize_file(const char *in_path, const char *out_path, const tk_quantize_opts *o,
                     tk_quantize_stats *stats, tk_error *e);

/* The same from a parsed GGUF (e.g. a Hugging Face folder's image);
 * in_name names it in messages. */
struct tk_gguf;
int tk_quantize_gguf(const struct tk_gguf *g, const char *in_name, const char *out_path, const tk_quantize_opts *o,
                     tk_quantize_stats *stats, tk_error *e);

#endif
