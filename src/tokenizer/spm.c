/* spm.c: the SentencePiece-style (BPE with scores) tokenizer, as llama.cpp's
 * llm_tokenizer_spm does it, which gives Hugging Face's answers for Llama /
 * Phi-3 style vocabularies.
 *
 * tk_vocab_tokenize(text):
 *  1. Split out USER_DEFINED tokens (longest text first; llama.cpp does this
 *     even with special-token parsing off, as HF does for added tokens;
 *     partition.c). Control-token text stays plain text unless the caller
 *     asks for special-token parsing. Each remaining raw fragment is
 *     tokenized on its own; a fragment that comes first or right after a
 *     user-defined token gets the space prefix (add_space_prefix).
 *  2. Normalize a fragment: (" " +) text, then every ' ' becomes "▁".
 *  3. Cut it into symbols, one per UTF-8 character. The length comes from
 *     the lead byte alone (llama.cpp unicode_len_utf8: 0x00-0xBF -> 1,
 *     0xC0-0xDF -> 2, 0xE0-0xEF -> 3, 0xF0-0xFF -> 4), clamped to the bytes
 *     left; continuation bytes are not checked.
 *  4. Greedy merging. Symbols form a doubly linked list. Every adjacent pair
 *     whose concatenation is a vocabulary token goes into a max-heap keyed
 *     by that token's score (ties: leftmost first). Pop the best; if either
 *     side has changed since it was queued (a side was emptied, or the sizes
 *     no longer add up) it is stale and skipped; otherwise merge the right
 *     symbol into the left and queue the two new pairs around it.
 *  5. Emit each final symbol: its token if the text is one; otherwise its
 *     bytes as byte-fallback tokens <0xNN> (UNK when the vocabulary lacks
 *     the byte token). llama.cpp would first try to split a merged symbol
 *     back into the two parts it came from (rev_merge), but a symbol is only
 *     ever merged when its whole text is a token, so for a merged symbol the
 *     lookup always succeeds and only unmerged single characters reach the
 *     byte fallback; that branch is therefore not needed here.
 *
 * Everything is O(n log n) in the text length: symbols are slices of the
 * normalized buffer, so a candidate pair's text is looked up in place, and
 * steps 4-5 run on independent segments cut at bytes no merge can touch
 * (see spm_fragment), which keeps the heap small on long texts. */
#include "vocab_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "merge_heap.h"

typedef struct {
    int32_t prev, next; /* neighbours in the list, -1 at the ends         */
    uint32_t off, n;    /* text: buf[off .. off+n); n == 0 once merged away */
} sym;

typedef tk_merge bigram;

typedef struct {
    const tk_vocab *v;
    char *buf;       /* normalized fragment                                 */
    sym *sy;
    tk_merge_heap heap;
    int32_t *ids;
    int cap;
    int64_t n_out;   /* tokens produced so far (may exceed cap)             */
    int oom;
} session;

static void emit(session *S, int32_t id) {
    if (S->n_out < S->cap) S->ids[S->n_out] = id;
    S->n_out++;
}

/* ---- the heap (merge_heap.c): best = highest score, then lowest left index */

static void heap_push(session *S, bigram b) {
    if (tk_merge_heap_push(&S->heap, b)) S->oom = 1;
}

/* Queue the pair (left, right) if its concatenated text is a token. */
static void try_add_bigram(session *S, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const sym *l = &S->sy[left], *r = &S->sy[right];
    uint32_t size = l->n + r->n; /* r starts where l ends: one slice */
    int32_t id = tk_vocab_find(S->v, S->buf + l->off, size);
    if (id < 0) return;
    bigram b = {S->v->score[id], left, right, size};
    heap_push(S, b);
}

static void emit_bytes(session *S, const char *s, uint32_t n) {
    for (uint32_t j = 0; j < n; j++) {
        int32_t id = S->v->byte_id[(unsigned char)s[j]];
        if (id < 0) id = S->v->unk;
        if (id >= 0) emit(S, id); /* no byte token and no UNK: dropped */
    }
}

static const unsigned char UTF8_LEN[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

/* Steps 4 and 5 on the symbols [a, b), linked among themselves. */
static void merge_segment(session *S, int32_t a, int32_t b) {
    /* 4. greedy merging, best-scoring pair first */
    S->heap.n = 0;
    for (int32_t i = a + 1; i < b; i++) try_add_bigram(S, i - 1, i);
    while (S->heap.n && !S->oom) {
        bigram bg = tk_merge_heap_pop(&S->heap);
        sym *l = &S->sy[bg.left], *r = &S->sy[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) S->sy[r->next].prev = bg.left;
        try_add_bigram(S, l->prev, bg.left);
        try_add_bigram(S, bg.left, l->next);
    }
    if (S->oom) return;

    /* 5. emit (see the header comment for why no rev_merge split is needed) */
    for (int32_t i = a; i != -1; i = S->sy[i].next) {
        const sym *s = &S->sy[i];
        int32_t id = tk_vocab_find(S->v, S->buf + s->off, s->n);
        if (id >= 0) emit(S, id);
        else emit_bytes(S, S->buf + s->off, s->n);
    }
}

/* Tokenize one raw fragment (steps 2-5). buf/sy are sized by the caller. */
static void spm_fragment(session *S, const char *text, size_t len, int prefix) {
    /* 2. normalize */
    uint32_t m = 0;
    if (prefix) memcpy(S->buf, "\xe2\x96\x81", 3), m = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(S->buf + m, "\xe2\x96\x81", 3), m += 3;
        else S->buf[m++] = text[i];
    }
    if (m == 0) return;

    /* 3. one symbol per UTF-8 character */
    int32_t ns = 0;
    for (uint32_t off = 0; off < m;) {
        uint32_t n = UTF8_LEN[(unsigned char)S->buf[off] >> 4];
        if (n > m - off) n = m - off;
        sym *s = &S->sy[ns];
        s->off = off, s->n = n;
        off += n;
        s->prev = ns - 1;
        s->next = off == m ? -1 : ns + 1;
        ns++;
    }

    /* 4 + 5, one segment at a time. A symbol that is a single "isolated"
     * byte (one that no token longer than one byte contains, such as '\n'
     * in Llama's vocabulary) can never be part of a merge, so no pair
     * across it is ever queued and the merges on either side never
     * interact: running the algorithm on each segment alone gives exactly
     * the same tokens, with a small heap that stays in cache. */
    int32_t a = 0;
    while (a < ns) {
        int32_t b = a + 1;
        if (!(S->sy[a].n == 1 && S->v->isolated[(unsigned char)S->buf[S->sy[a].off]]))
            while (b < ns && !(S->sy[b].n == 1 && S->v->isolated[(unsigned char)S->buf[S->sy[b].off]])) b++;
        S->sy[a].prev = -1;
        S->sy[b - 1].next = -1;
        merge_segment(S, a, b);
        if (S->oom) return;
        a = b;
    }
}

static int spm_tokenize(const tk_vocab *v, const char *text, size_t len, int add_bos, int parse_special, int32_t *ids,
                        int cap) {
    session S = {.v = v, .ids = ids, .cap = cap < 0 ? 0 : cap};
    tk_fraglist L = {0};
    int rc = 0;

    if (add_bos && v->bos >= 0) emit(&S, v->bos);
    if (len == 0) return S.n_out <= S.cap ? (int)S.n_out : -(int)S.n_out;
    /* the normalized text must fit the 32-bit offsets and int32 indices */
    if (len > (size_t)(INT_MAX - 8) / 3) return -INT_MAX;

    if (tk_vocab_partition(v, text, len, parse_special, &L)) goto oom;

    size_t maxlen = 0;
    for (size_t f = 0; f < L.n; f++)
        if (L.a[f].id < 0 && L.a[f].len > maxlen) maxlen = L.a[f].len;
    size_t bufcap = 3 * maxlen + 3;
    S.buf = malloc(bufcap);
    S.sy = malloc(bufcap * sizeof *S.sy);
    if (!S.buf || !S.sy) goto oom;

    int prev_special = 1; /* the first fragment gets the space prefix */
    for (size_t f = 0; f < L.n; f++) {
        if (L.a[f].id >= 0) {
            emit(&S, L.a[f].id);
            prev_special = 1;
            continue;
        }
        spm_fragment(&S, text + L.a[f].off, L.a[f].len, v->add_space_prefix && prev_special);
        if (S.oom) goto oom;
        prev_special = 0;
    }
    rc = S.n_out > INT_MAX ? -INT_MAX : S.n_out <= S.cap ? (int)S.n_out : -(int)S.n_out;
    goto done;
oom:
    rc = -INT_MAX;
done:
    free(S.buf), free(S.sy), free(S.heap.a), free(L.a);
    return rc;
}

/* ---- entry points: SPM here, byte-level BPE in bpe.c ------------------------ */

int tk_vocab_tokenize_ex(const tk_vocab *v, const char *text, size_t len, int flags, int32_t *ids, int cap) {
    int add_bos = (flags & TK_VOCAB_ADD_BOS) != 0, special = (flags & TK_VOCAB_PARSE_SPECIAL) != 0;
    if (v->bpe) return tk_bpe_tokenize(v, text, len, add_bos, special, ids, cap);
    if (v->wpm) return tk_wpm_tokenize(v, text, len, add_bos, special, ids, cap);
    return spm_tokenize(v, text, len, add_bos, special, ids, cap);
}

int tk_vocab_tokenize(const tk_vocab *v, const char *text, size_t len, int add_bos, int32_t *ids, int cap) {
    return tk_vocab_tokenize_ex(v, text, len, add_bos ? TK_VOCAB_ADD_BOS : 0, ids, cap);
}
