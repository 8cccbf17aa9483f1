/* vocab_int.h: the inside of a tk_vocab, shared by vocab.c (building it)
 * and spm.c (tokenizing with it). Not part of the public API. */
#ifndef TK_TOKENIZER_VOCAB_INT_H
#define TK_TOKENIZER_VOCAB_INT_H

#include <stddef.h>
#include <stdint.h>
#include "vocab.h"

/* Per user-defined token flags (llama.cpp's LSTRIP / RSTRIP attributes). */
enum { TK_UD_LSTRIP = 1, TK_UD_RSTRIP = 2 };

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

    int bos, eos, unk, eot, pad;   /* -1 when absent */
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

#endif
