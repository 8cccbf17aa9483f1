/* vocab.h: the vocabulary and its tokenizers.
 *
 * A tk_vocab holds the token texts (as GGUF stores them: for SentencePiece
 * vocabularies "▁" U+2581 for a space and byte-fallback tokens as "<0xNN>";
 * for byte-level BPE ones GPT-2's byte-to-unicode mapping, "Ġ" for a
 * space), scores and types, the special ids, and a hash from text to id.
 * It is built from a GGUF file's tokenizer.ggml.* keys or from a llama2.c
 * tokenizer.bin (whose pieces are mapped to the GGUF conventions so one
 * tokenizer serves both).
 *
 * Three tokenizers, as llama.cpp has them: tokenizer.ggml.model "llama" is
 * the SentencePiece-style one (spm.c), "gpt2" the byte-level BPE one with
 * the pre-tokenizer regexes named by tokenizer.ggml.pre (bpe.c), "bert"
 * WordPiece (wpm.c; TK_VOCAB_ADD_BOS adds [CLS] first and [SEP] last). */
#ifndef TK_TOKENIZER_VOCAB_H
#define TK_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>
#include "tick.h"
#include "../formats/gguf.h"

/* Token types as in GGUF tokenizer.ggml.token_type. */
enum {
    TK_TOKEN_NORMAL = 1, TK_TOKEN_UNKNOWN = 2, TK_TOKEN_CONTROL = 3,
    TK_TOKEN_USER_DEFINED = 4, TK_TOKEN_UNUSED = 5, TK_TOKEN_BYTE = 6,
};

typedef struct tk_vocab tk_vocab;

/* From GGUF metadata. tokenizer.ggml.model "llama" (SPM), "bert" (WPM) or "gpt2"
 * (byte-level BPE; needs tokenizer.ggml.merges, and tokenizer.ggml.pre
 * must be one bpe.c knows or absent); other models, or an unknown
 * pre-tokenizer, give TK_EUNSUPPORTED with a message naming them. */
int tk_vocab_from_gguf(tk_vocab **out, const tk_gguf *g, tk_error *e);
/* From a llama2.c tokenizer.bin buffer; n_vocab is the model's vocabulary
 * size (the file must hold exactly that many tokens). */
int tk_vocab_from_llama2c(tk_vocab **out, const void *data, size_t size, int n_vocab, tk_error *e);
void tk_vocab_free(tk_vocab *v);

int tk_vocab_n(const tk_vocab *v);
int tk_vocab_bos(const tk_vocab *v);   /* -1 if none */
int tk_vocab_eos(const tk_vocab *v);   /* -1 if none */
int tk_vocab_add_bos(const tk_vocab *v);
int tk_vocab_is_eog(const tk_vocab *v, int32_t id); /* EOS, EOT, ... */
const char *tk_vocab_text(const tk_vocab *v, int32_t id, int *len);
float tk_vocab_score(const tk_vocab *v, int32_t id);
int tk_vocab_type(const tk_vocab *v, int32_t id);
const char *tk_vocab_model_name(const tk_vocab *v); /* "llama" or "gpt2" */
/* The pre-tokenizer of a BPE vocab ("gpt-2", "default", ...); NULL for SPM. */
const char *tk_vocab_pre_name(const tk_vocab *v);

/* The chat template (tokenizer.chat_template in GGUF, chat_template of
 * tokenizer_config.json), NUL-terminated, or NULL when the file has none. */
const char *tk_vocab_chat_template(const tk_vocab *v);
/* Set it from s[0..n) (copied); a NUL inside is TK_EFORMAT. */
int tk_vocab_set_chat_template(tk_vocab *v, const char *s, size_t n, tk_error *e);
/* Type, pre-tokenizer, special ids and token-type counts (tick.h). */
void tk_vocab_specials(const tk_vocab *v, tk_vocab_info *out);

/* Tokenize len bytes of text (special-token text is treated as plain text).
 * Returns the number of ids written; if more than cap are needed, returns
 * -(needed). Invalid UTF-8: SPM encodes the bytes through byte fallback;
 * BPE, as llama.cpp, first turns each byte that does not start a
 * well-formed sequence into U+FFFD (see bpe.c).
 * As in llama.cpp, USER_DEFINED tokens (not CONTROL ones) found in the text
 * are still split out as single tokens. Out of memory, len over about
 * 700 MB, or a failure of the regex engine: returns -INT_MAX. */
int tk_vocab_tokenize(const tk_vocab *v, const char *text, size_t len, int add_bos,
                      int32_t *ids, int cap);
/* The same with flags: TK_VOCAB_ADD_BOS, and TK_VOCAB_PARSE_SPECIAL, which
 * also splits CONTROL (and UNKNOWN) token texts out as those tokens
 * (llama.cpp parse_special). */
enum { TK_VOCAB_ADD_BOS = 1, TK_VOCAB_PARSE_SPECIAL = 2 };
int tk_vocab_tokenize_ex(const tk_vocab *v, const char *text, size_t len, int flags,
                         int32_t *ids, int cap);

/* Decoded bytes of one token: SPM "▁" -> " ", "<0xNN>" -> that byte; BPE
 * NORMAL tokens through GPT-2's unicode-to-byte map (so the pieces of an
 * encoded text concatenate to the text); user-defined tokens -> their
 * text; control and unknown-type tokens -> "" . Returns the full length
 * (may exceed cap, then the output is truncated). */
int tk_vocab_piece(const tk_vocab *v, int32_t id, char *buf, int cap);

/* The tokenizer.ggml.pre name whose regexes are exactly re[0..n) (in the
 * form bpe.c runs them: GPT-2's without its final "|\\s+"), the first of
 * the known names in table order; NULL if none. For Hugging Face folders,
 * whose tokenizer.json states the regexes instead of a name. */
const char *tk_bpe_pre_by_regexes(const char *const *re, int n);
/* GPT-2's regex as bpe.c runs it (what a ByteLevel pre-tokenizer means). */
#define TK_BPE_RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"

/* 1 if s[0..n) is valid UTF-8; otherwise 0 and *bad_at is the offset of
 * the first invalid byte. */
int tk_utf8_valid(const char *s, size_t n, size_t *bad_at);

/* Streaming output that never emits half a multi-byte character: push
 * bytes, get back the prefix that is complete. */
typedef struct tk_utf8_stream {
    unsigned char pend[4];
    int n_pend;
} tk_utf8_stream;
/* Appends the complete part of pend+in to out (cap >= n + 4), keeps the
 * incomplete tail; invalid sequences are passed through byte by byte.
 * Returns bytes written to out. */
int tk_utf8_stream_push(tk_utf8_stream *s, const char *in, int n, char *out);
/* Flush whatever is pending (at the end of generation). */
int tk_utf8_stream_flush(tk_utf8_stream *s, char *out);

#endif
