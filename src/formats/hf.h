/* hf.h: a Hugging Face model folder as a GGUF image.
 *
 * A folder (config.json, model.safetensors or shards with
 * model.safetensors.index.json, tokenizer.json or tokenizer.model,
 * tokenizer_config.json, generation_config.json) is turned into what llama.cpp's
 * convert_hf_to_gguf.py would write for it: the same metadata keys
 * (general.architecture, ARCH.block_count, ..., tokenizer.ggml.*,
 * tokenizer.chat_template) and tensor names (token_embd.weight,
 * blk.N.attn_qkv.weight, ...), with its data transformations:
 *   - GPT-2's Conv1D weights (c_attn, c_proj, c_fc), stored [in, out], are
 *     transposed to GGUF's rows of inputs;
 *   - arch llama (model_type llama, mistral): q_proj/k_proj rows are
 *     permuted from Hugging Face's rotate-half RoPE layout back to the
 *     interleaved pairs GGUF "llama" uses; qwen2 keeps them (its GGUF RoPE
 *     is the NEOX, rotate-half style);
 *   - 1-D tensors (norms, biases) become F32; matrices keep their dtype.
 * So model.c, the tokenizers and everything after them have one path: a
 * GGUF. model_type gpt2, llama, mistral, qwen2; the vocabulary from a
 * SentencePiece tokenizer.model (llama, mistral: tokenizer.ggml.model
 * "llama"), else from tokenizer.json model BPE with a byte-level
 * pre-tokenizer whose regexes bpe.c knows ("gpt2"). Anything else is a
 * one-line TK_EUNSUPPORTED / TK_EFORMAT error. */
#ifndef TK_FORMATS_HF_H
#define TK_FORMATS_HF_H

#include <stddef.h>
#include "formats/gguf_write.h"
#include "tick.h"

typedef struct tk_hf tk_hf;

/* path: the folder, or its config.json. vocab_only: metadata and
 * tokenizer, no tensors. The writer's tensor data points into the
 * safetensors maps and buffers owned by h (valid until tk_hf_free). */
int tk_hf_open(tk_hf **out, const char *path, int vocab_only, tk_error *e);
tk_gguf_writer *tk_hf_writer(tk_hf *h);
void tk_hf_free(tk_hf *h);

/* The whole GGUF file image in anonymous memory (page-aligned; one copy of
 * the weights), the folder's maps closed again. Free with
 * tk_hf_image_free. */
int tk_hf_image(const char *path, int vocab_only, void **data, size_t *size, tk_error *e);
void tk_hf_image_free(void *data, size_t size);

/* 1 if path is a directory or a file named config.json. */
int tk_hf_is_folder(const char *path);

#endif
