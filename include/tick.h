/* tick.h: the public API of tick, a C11 engine that runs LLMs on CPUs one
 * clock tick per token.
 *
 * Opaque handles, _new/_free pairs, every fallible call returns a status
 * (TK_OK == 0, negative on failure) and fills a tk_error with one line that
 * names the file/flag/object and the problem. No global mutable state: two
 * models or sessions in one process never interfere. */
#ifndef TICK_H
#define TICK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tk_status {
    TK_OK = 0,
    TK_EIO = -1,          /* cannot open / read / map a file          */
    TK_EFORMAT = -2,      /* file or data is malformed                */
    TK_ENOMEM = -3,       /* allocation failed                        */
    TK_EINVAL = -4,       /* bad argument or input                    */
    TK_EUNSUPPORTED = -5, /* well-formed but not supported (yet)      */
    TK_ECONTEXT = -6,     /* context window is full                   */
} tk_status;

typedef struct tk_error {
    int code;
    char msg[512];
} tk_error;

typedef struct tk_model tk_model;
typedef struct tk_session tk_session;
typedef struct tk_sampler tk_sampler;

/* ---- models ------------------------------------------------------------ */

typedef struct tk_load_opts {
    const char *tokenizer_path; /* llama2.c tokenizer.bin (for .bin checkpoints) */
    /* Kernels to run: NULL or "auto" = the best this CPU supports; else
     * "scalar" (the portable reference), "avx2", "avx512", "avx512vnni",
     * "avx512bf16" or "amx". An unknown name fails with TK_EINVAL, one this CPU
     * cannot run with TK_EUNSUPPORTED. */
    const char *isa;
    /* Only the vocabulary (for tokenizing): any architecture, vocab-only
     * GGUF files too; no weights are bound and no session can be made. */
    int vocab_only;
    /* Q8_0 / Q4_0 matrices are repacked at load for the AVX-512 VNNI
     * kernels (faster decode and prefill, bit-identical results, one copy
     * resident); no_repack keeps the file's layout (faster start-up). */
    int no_repack;
    /* Repack later, when tk_model_repack() is called (tick run: after the
     * first token, so the prompt runs on the file's layout and the first
     * token comes sooner); until then the file's layout runs. */
    int defer_repack;
    int n_threads; /* threads for load-time work (repacking); 0: physical cores */
} tk_load_opts;

/* Load a GGUF file (v2/v3) or a llama2.c checkpoint (legacy v0 or "ak42" v1).
 * The file is mapped read-only; tensors point into the map. */
tk_model *tk_model_load(const char *path, const tk_load_opts *o, tk_error *e);
void tk_model_free(tk_model *m);
/* Do the repacking defer_repack put off (nothing otherwise, or once done).
 * No session of m may be running a tick meanwhile. Returns 1 if it packed. */
int tk_model_repack(tk_model *m);
/* The share (0 .. 1) of the weight bytes a tick reads from the model's
 * mapping that are in memory now (mincore; repacked matrices are anonymous
 * memory and count as in), or -1 if it cannot be told. A share below 1
 * means ticks wait on the disk. */
double tk_model_resident(const tk_model *m);
/* Read one byte of every page of those weights, so they are in memory
 * (as far as memory allows). */
void tk_model_touch(const tk_model *m);

typedef struct tk_model_info {
    const char *arch;      /* "llama"                                   */
    const char *name;      /* general.name or the file name             */
    const char *format;    /* "gguf v3", "llama2.c v0", ...             */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    int head_dim, rope_dim;
    float rms_eps, rope_base;
    int tied_output;       /* classifier shares the token embedding     */
    int bos, eos;          /* -1 when absent                            */
    int add_bos;
    uint64_t n_params;     /* elements in all weight tensors            */
    uint64_t weight_bytes; /* bytes of all weight tensors               */
    const char *isa;       /* kernels it runs: "scalar", "avx2", ...     */
} tk_model_info;

const tk_model_info *tk_model_info_of(const tk_model *m);

/* Tensor table (for `tick inspect`). Returns 0 and fills the fields for
 * index i in [0, tk_model_n_tensors). ne[] has n_dims valid entries. */
int tk_model_n_tensors(const tk_model *m);
typedef struct tk_tensor_info {
    const char *name;
    const char *type;
    int n_dims;
    int64_t ne[4];
    uint64_t nbytes;
} tk_tensor_info;
int tk_model_tensor_info(const tk_model *m, int i, tk_tensor_info *out);

/* Metadata (for `tick inspect`): key i rendered as text into buf. */
int tk_model_n_meta(const tk_model *m);
int tk_model_meta(const tk_model *m, int i, const char **key, char *buf, size_t cap);

/* ---- tokens ------------------------------------------------------------ */

enum {
    TK_TOKENIZE_ADD_BOS = 1, /* prepend BOS (if the model has one)        */
    TK_TOKENIZE_PARSE_SPECIAL = 2, /* control-token text (<|im_start|>) becomes
                                      those tokens, as a chat prompt needs */
};

/* Tokenize n bytes of UTF-8 text (special-token text is plain text).
 * Returns the number of ids the text needs; ids[] holds them when that
 * number is <= cap (call again with a bigger buffer otherwise). A negative
 * return is a tk_status (TK_EINVAL for invalid UTF-8) and e says why. */
int tk_tokenize(const tk_model *m, const char *text, size_t n, int flags,
                int32_t *ids, int cap, tk_error *e);

/* The bytes of token id's piece ("▁" as space, <0xNN> as the byte, control
 * tokens empty). Returns the byte length (may exceed cap: then truncated). */
int tk_token_piece(const tk_model *m, int32_t id, char *buf, int cap);
/* Raw vocabulary text of id as stored (not NUL-terminated; *len bytes),
 * for `tokenize --pieces`; NULL for an id out of range. */
const char *tk_token_text(const tk_model *m, int32_t id, int *len);
int tk_token_is_eog(const tk_model *m, int32_t id);

/* The tokenizer's kind and special tokens (for `tick inspect`). */
typedef struct tk_vocab_info {
    const char *type;          /* "spm" (SentencePiece), "bpe" (byte-level), "wpm" (WordPiece) */
    const char *pre;           /* BPE pre-tokenizer name, NULL for spm        */
    int bos, eos, eot, pad, unk; /* ids, -1 when absent                       */
    int add_bos;
    int n_control, n_user_defined; /* tokens of those types                   */
    const char *chat_template; /* as tk_model_chat_template                   */
} tk_vocab_info;
void tk_model_vocab_info(const tk_model *m, tk_vocab_info *out);

/* ---- chat templates -------------------------------------------------------- */

typedef struct tk_chat_msg { const char *role; const char *content; } tk_chat_msg;
/* Render msgs with tmpl (Jinja source), or with the model's tokenizer.chat_template
   when tmpl is NULL. add_gen: append the assistant prefix. *out is malloc'd,
   NUL-terminated; returns its length or a negative tk_status with e set
   (no template, unknown role, template error, step/output limit exceeded).
   Roles must be system, user, assistant or tool. m may be NULL when tmpl is
   given (bos_token and eos_token are then ""). The supported Jinja subset is
   described in src/chat/template.h. Tokenize the result with
   TK_TOKENIZE_PARSE_SPECIAL and without TK_TOKENIZE_ADD_BOS when the
   template writes bos_token itself. */
int tk_chat_render(const tk_model *m, const char *tmpl, const tk_chat_msg *msgs, int n,
                   int add_gen, char **out, tk_error *e);
/* the model's template source or NULL */
const char *tk_model_chat_template(const tk_model *m);

/* ---- sessions: the tick loop -------------------------------------------- */

typedef struct tk_session_opts {
    int n_ctx;     /* 0: min(model context, TK_DEFAULT_CTX)           */
    int n_threads; /* 0: 1 thread                                     */
    int n_batch;   /* prefill burst size; 0: TK_DEFAULT_BATCH         */
    int clock;     /* account for every op of every tick (tk_clock)   */
    int trace;     /* also keep a per-thread trace of every op slice  */
    int n_seq;     /* sequences (slots) that share the weights, buffers and
                      thread pool; 0 means 1. Each has its own KV cache of
                      n_ctx positions (memory grows with n_seq x n_ctx). */
} tk_session_opts;

#define TK_DEFAULT_CTX 4096
#define TK_DEFAULT_BATCH 128

tk_session *tk_session_new(tk_model *m, const tk_session_opts *o, tk_error *e);
void tk_session_free(tk_session *s);
int tk_session_n_ctx(const tk_session *s);
int tk_session_pos(const tk_session *s); /* positions already in the KV cache */
void tk_session_reset(tk_session *s);
/* The single-sequence calls (tk_session_pos, tk_session_reset, tk_prefill,
 * tk_decode, tk_logits, tk_session_sample) act on sequence 0. */

/* Feed n tokens (a burst of ticks); afterwards tk_logits() holds the logits
 * for the position after the last one. TK_ECONTEXT if they do not fit. */
int tk_prefill(tk_session *s, const int32_t *ids, int n, tk_error *e);
/* Feed one token: one tick. */
int tk_decode(tk_session *s, int32_t id, tk_error *e);
const float *tk_logits(const tk_session *s);
const tk_model *tk_session_model(const tk_session *s);
/* Sample the next token from the session's logits; with the clock on, the
 * time is accounted to the tick's execute stage. -1 if no logits yet. */
int32_t tk_session_sample(tk_session *s, tk_sampler *smp);

/* The clock of a session made with opts.clock (NULL otherwise); read it
 * with the functions of src/clock/report.h. */
typedef struct tk_clock tk_clock;
const tk_clock *tk_session_clock(const tk_session *s);
int tk_n_vocab(const tk_model *m);

/* ---- several sequences: batched ticks ----------------------------------- */

/* One row of a batched tick: the next token of sequence seq; logits: keep
 * the logits after it (for sampling the sequence's next token). */
typedef struct tk_batch_item {
    int seq;
    int32_t token;
    int logits;
} tk_batch_item;

/* One forward pass (one tick) over n items: each weight is read once for
 * all rows. Items of one seq must be consecutive and in order; each seq's
 * tokens go at its next positions, so the prefill of one seq and the
 * decode of others mix in one call. n <= tk_session_n_batch. Errors
 * (TK_EINVAL: bad seq, bad token, n out of range, a seq's items not
 * consecutive; TK_ECONTEXT: a seq's context would overflow) leave every
 * sequence as it was. Afterwards tk_logits() (sequence 0's) is NULL until
 * the next tk_prefill / tk_decode. */
int tk_batch_run(tk_session *s, const tk_batch_item *items, int n, tk_error *e);
/* Logits [n_vocab] of item i of the last tk_batch_run (NULL unless
 * items[i].logits was set); valid until the next call that runs the model. */
const float *tk_batch_logits(const tk_session *s, int i);
int tk_session_n_seq(const tk_session *s);
int tk_session_n_batch(const tk_session *s); /* most rows one tick can take */
int tk_seq_pos(const tk_session *s, int seq); /* positions in seq's cache; -1 for a bad seq */
/* Keep positions [0, n_keep) of seq's cache (0 = reset): a new prompt that
 * starts with the same n_keep tokens reuses them (prompt cache). TK_EINVAL
 * for a bad seq or n_keep outside [0, tk_seq_pos]. */
int tk_seq_truncate(tk_session *s, int seq, int n_keep, tk_error *e);
/* An embedding of ids: the mean over positions of the final-norm hidden
 * state, L2-normalized (out has n_embd floats). Runs ids in sequence seq,
 * which is reset before and after. */
int tk_embed(tk_session *s, int seq, const int32_t *ids, int n, float *out, tk_error *e);

/* ---- sampling ------------------------------------------------------------ */

typedef struct tk_sampler_params {
    float temp;           /* <= 0: greedy (argmax)                         */
    int top_k;            /* <= 0: off                                     */
    float top_p;          /* >= 1: off                                     */
    float min_p;          /* <= 0: off                                     */
    float repeat_penalty; /* 1: off                                        */
    int repeat_last_n;    /* tokens of history the penalty looks at        */
    uint64_t seed;
} tk_sampler_params;

tk_sampler_params tk_sampler_defaults(void);
tk_sampler *tk_sampler_new(const tk_sampler_params *p, int n_vocab, tk_error *e);
void tk_sampler_free(tk_sampler *s);
/* Record a token in the history used by the repetition penalty. */
void tk_sampler_accept(tk_sampler *s, int32_t id);
/* Pick the next token from logits[n_vocab] (logits are not modified). */
int32_t tk_sampler_sample(tk_sampler *s, const float *logits);

#ifdef __cplusplus
}
#endif
#endif
