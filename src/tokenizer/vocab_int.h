/* vocab_int.h: the inside of a tk_vocab, shared by vocab.c (building it)
 * and spm.c (tokenizing with it). Not part of the public API. */
#ifndef TK_TOKENIZER_VOCAB_INT_H
#define TK_TOKENIZER_VOCAB_INT_H

#include <stddef.h>
#include <stdint.h>
#include "vocab.h"

/* Per user-defined token flags (llama.cpp's LSTRIP / RSTRIP attributes). */
enum { TK_UD_LSTRIP = 1, TK_UD_RSTRIP = 2 };

struct tk_bpe; /* bpe.c: merges and pre-tokenizer of a byte-level BPE vocab */

struct tk_vocab {
    int n;                 /* number of tokens                                 */
    char *blob;            /* all token texts, each NUL-terminated             */
    uint32_t *off;         /* text of id i: blob + off[i], len[i] bytes        */
    uint32_t *len;
    float *score;
    uint8_t *type;         /* TK_TOKEN_* (0 or > 6: undefined)                 */
    uint8_t *eog;          /* 1 if id ends generation                          */
    uint32_t max_len;      /* longest token text in bytes                      */

    /* text -> id: open addressing with linear probing; slot holds id or -1. */
    int32_t *slot;
    uint32_t *slot_hash;
    uint32_t mask;         /* capacity - 1 (capacity is a power of two)        */

    int32_t byte_id[256];  /* "<0xNN>" (else the 1-byte text) or -1            */
    uint8_t isolated[256]; /* ASCII byte that no token longer than 1 byte has  */

    /* USER_DEFINED tokens, longest first: split out of the input before the
     * SPM algorithm runs (llama.cpp tokenizer_st_partition, parse_special
     * off), with their strip flags. */
    int n_ud;
    int32_t *ud;
    uint8_t *ud_flags;
    /* All CONTROL, USER_DEFINED and UNKNOWN tokens, in the same order and
     * with the same flags: split out when special-token parsing is on. */
    int n_sp;
    int32_t *sp;
    uint8_t *sp_flags;

    struct tk_bpe *bpe;    /* non-NULL for tokenizer.ggml.model "gpt2"       */
    int wpm;               /* 1 for "bert": WordPiece (wpm.c)                  */

    int bos, eos, unk, eot, pad;   /* -1 when absent */
    char *chat_template;           /* tokenizer.chat_template (malloc'd) or NULL */
    int add_bos, add_space_prefix;
    char model[16];
};

/* FNV-1a, the hash of the text map. */
static inline uint32_t tk_vocab_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* id of the token whose text is exactly s[0..n), or -1. */
static inline int32_t tk_vocab_find(const tk_vocab *v, const char *s, size_t n) {
    if (n == 0 || n > v->max_len) return -1;
    uint32_t h = tk_vocab_hash(s, n);
    for (uint32_t i = h & v->mask;; i = (i + 1) & v->mask) {
        int32_t id = v->slot[i];
        if (id < 0) return -1;
        if (v->slot_hash[i] == h && v->len[id] == n && __builtin_memcmp(v->blob + v->off[id], s, n) == 0)
            return id;
    }
}

/* Pieces of an input: raw text, or a token split out of it. */
typedef struct {
    int32_t id;      /* -1: raw text */
    size_t off, len; /* raw text: text[off .. off+len) */
} tk_frag;

typedef struct {
    tk_frag *a;
    size_t n, cap;
} tk_fraglist;

/* llama.cpp tokenizer_st_partition: cut text[0..len) at the special
 * tokens (USER_DEFINED ones always; CONTROL and UNKNOWN ones too when
 * parse_special), longest first, honouring LSTRIP / RSTRIP. L starts empty
 * and must be freed by the caller (also on failure). Returns 0, or -1 when
 * out of memory. */
int tk_vocab_partition(const tk_vocab *v, const char *text, size_t len, int parse_special, tk_fraglist *L);

/* Byte-level BPE (bpe.c). */
int tk_bpe_new(struct tk_bpe **out, const tk_gguf *g, const char *pre, size_t pre_len, tk_error *e);
void tk_bpe_free(struct tk_bpe *b);
int tk_bpe_ignore_merges(const struct tk_bpe *b); /* Llama 3 style: whole-word tokens first */
int tk_bpe_default_add_bos(const struct tk_bpe *b);
const char *tk_bpe_pre_name(const struct tk_bpe *b);
int tk_bpe_tokenize(const tk_vocab *v, const char *text, size_t len, int add_bos, int parse_special,
                    int32_t *ids, int cap);
/* Decoded bytes of a NORMAL token of a BPE vocab (byte-level text). */
int tk_bpe_decode(const struct tk_bpe *b, const char *s, size_t n, char *buf, int cap);

/* WordPiece (wpm.c); add_special puts BOS ([CLS]) first and EOS ([SEP]) last. */
int tk_wpm_tokenize(const tk_vocab *v, const char *text, size_t len, int add_special, int parse_special,
                    int32_t *ids, int cap);

#endif
