/* partition.c: cutting an input at special tokens before the tokenizer
 * proper runs (llama.cpp tokenizer_st_partition), shared by the SPM and
 * the BPE tokenizers.
 *
 * The candidates are the vocabulary's special tokens, longest text first
 * (vocab.c sorts them). USER_DEFINED tokens are always split out (llama.cpp
 * and Hugging Face both do that for added tokens, even with special-token
 * parsing off); CONTROL and UNKNOWN ones only when parse_special is set.
 * For each candidate in turn, every raw fragment is searched left to right:
 * left part, the token, then go on with the right part, honouring the
 * token's LSTRIP / RSTRIP flags. */
#include "vocab_int.h"

#include <stdlib.h>
#include <string.h>

static int frag_add(tk_fraglist *L, int32_t id, size_t off, size_t len) {
    if (L->n == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 16;
        tk_frag *a = realloc(L->a, nc * sizeof *a);
        if (!a) return -1;
        L->a = a, L->cap = nc;
    }
    L->a[L->n++] = (tk_frag){id, off, len};
    return 0;
}

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Split every raw fragment of *L at each occurrence of token id. */
static int split_at(int32_t id, uint8_t flags, const tk_vocab *v, const char *text, tk_fraglist *L, tk_fraglist *tmp) {
    const char *tt = v->blob + v->off[id];
    size_t tl = v->len[id];
    tmp->n = 0;
    for (size_t f = 0; f < L->n; f++) {
        tk_frag fr = L->a[f];
        if (fr.id >= 0) {
            if (frag_add(tmp, fr.id, 0, 0)) return -1;
            continue;
        }
        size_t off = fr.off, len = fr.len;
        for (;;) {
            const char *hit = memmem(text + off, len, tt, tl);
            if (!hit) {
                if (len && frag_add(tmp, -1, off, len)) return -1;
                break;
            }
            size_t at = (size_t)(hit - text), llen = at - off;
            if (flags & TK_UD_LSTRIP)
                while (llen > 0 && is_space(text[off + llen - 1])) llen--;
            if (llen && frag_add(tmp, -1, off, llen)) return -1;
            if (frag_add(tmp, id, 0, 0)) return -1;
            size_t roff = at + tl, rlen = off + len - roff;
            if (flags & TK_UD_RSTRIP)
                while (rlen > 0 && is_space(text[roff])) roff++, rlen--;
            off = roff, len = rlen;
            if (len == 0) break;
        }
    }
    tk_fraglist t = *L;
    *L = *tmp, *tmp = t;
    return 0;
}

int tk_vocab_partition(const tk_vocab *v, const char *text, size_t len, int parse_special, tk_fraglist *L) {
    tk_fraglist tmp = {0};
    int rc = 0;
    if (frag_add(L, -1, 0, len)) return -1;
    if (parse_special) {
        for (int k = 0; k < v->n_sp && !rc; k++) rc = split_at(v->sp[k], v->sp_flags[k], v, text, L, &tmp);
    } else {
        for (int k = 0; k < v->n_ud && !rc; k++) rc = split_at(v->ud[k], v->ud_flags[k], v, text, L, &tmp);
    }
    free(tmp.a);
    return rc;
}
