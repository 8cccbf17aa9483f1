/* wpm.c: WordPiece (BERT), llama.cpp's "WPM" tokenizer, tokenizer.ggml.model
 * "bert".
 *
 * The GGUF vocabulary spells a word-initial piece with a leading U+2581
 * ("▁hello") and a continuation piece bare ("llo", Hugging Face's "##llo").
 * As llama.cpp's llm_tokenizer_wpm:
 *
 *   1. split out special tokens (partition.c);
 *   2. per code point of each raw fragment: replace it by the first code
 *      point of its full canonical decomposition ("é" -> "e", a Hangul
 *      syllable -> its initial jamo); White_Space ends a word; NUL, U+FFFD,
 *      control characters (Unicode Cc, Cf, Co, Cs) and marks (M*) are
 *      dropped; the rest is lowercased; punctuation (P*), ASCII symbols (S*
 *      below 0x7F) and CJK ideographs are words of their own; anything else
 *      extends the current word;
 *   3. each word gets "▁" in front and is cut greedily, longest vocabulary
 *      match first from the left; if some part of it matches nothing the
 *      whole word becomes the UNK token.
 *
 * (Checked against llama.cpp itself on War and Peace and on ~45k random
 * words mixing every Unicode category: identical ids.)
 *
 * Unicode data (decomposition, category, lowercase) comes from libutf8proc;
 * ASCII, the common case, never calls it. Invalid UTF-8 bytes become U+FFFD
 * (and so are dropped), as llama.cpp's unicode_cpts_from_utf8 does. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "vocab_int.h"

/* Longest canonical decomposition of one code point (Unicode 15: 4). */
enum { NFD_MAX = 8 };

typedef struct {
    const tk_vocab *v;
    int32_t *ids;
    int cap;
    long n_out;
    char *w;  /* the current word: "▁" + its lowercased UTF-8 */
    size_t wn;
} session;

static void emit(session *S, int32_t id) {
    if (S->n_out < S->cap) S->ids[S->n_out] = id;
    S->n_out++;
}

/* Decode one code point at s[0..n) (n > 0), as llama.cpp's lenient
 * unicode_cpt_from_utf8: lead byte and continuation bytes are checked, an
 * overlong form or a surrogate is not; anything else is U+FFFD for one byte. */
static uint32_t decode(const unsigned char *s, size_t n, size_t *used) {
    unsigned c = s[0];
    int k;
    uint32_t cp;
    if (c < 0x80) return *used = 1, c;
    if (!(c & 0x40)) return *used = 1, 0xFFFD;
    if (!(c & 0x20)) k = 1, cp = c & 0x1F;
    else if (!(c & 0x10)) k = 2, cp = c & 0x0F;
    else if (!(c & 0x08)) k = 3, cp = c & 0x07;
    else return *used = 1, 0xFFFD;
    if ((size_t)k >= n) return *used = 1, 0xFFFD;
    for (int i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80) return *used = 1, 0xFFFD;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    *used = (size_t)k + 1;
    return cp;
}

static size_t encode(uint32_t cp, char *o) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | (cp >> 6 & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F)), 3;
    o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* llama.cpp's is_chinese_char (the ranges of Hugging Face's BERT
 * tokenizer, including its 0x2B920 where Unicode's block starts at 0x2B820). */
static int is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Unicode's White_Space property (llama.cpp's unicode_set_whitespace). */
static int is_space(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* What a code point is to the pre-tokenizer. */
enum { C_DROP, C_SPACE, C_ALONE, C_WORD };

static int classify(uint32_t cp) {
    if (is_space(cp)) return C_SPACE;
    if (cp < 0x80) {
        if (cp < 0x20 || cp == 0x7F) return C_DROP;
        if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return C_WORD;
        return C_ALONE; /* every other printable ASCII is P* or S* */
    }
    if (cp == 0xFFFD || cp > 0x10FFFF) return cp == 0xFFFD ? C_DROP : C_WORD;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: return C_DROP;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: return C_ALONE;
    default: return is_cjk(cp) ? C_ALONE : C_WORD;
    }
}

/* Step 3 for the word in S->w (which starts with "▁"). */
static void word_end(session *S) {
    if (S->wn <= 3) return;
    const tk_vocab *v = S->v;
    long start = S->n_out;
    size_t n = S->wn;
    for (size_t i = 0; i < n;) {
        size_t j = n - i > v->max_len ? i + v->max_len : n;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = tk_vocab_find(v, S->w + i, j - i)) >= 0) break;
        if (id < 0) { /* discard the word's pieces: one UNK instead */
            S->n_out = start;
            break;
        }
        emit(S, id);
        i = j;
    }
    if (S->n_out == start && v->unk >= 0) emit(S, v->unk);
    S->wn = 3;
}

/* Step 2 for one code point of the NFD form. */
static void wpm_cp(session *S, uint32_t cp) {
    switch (classify(cp)) {
    case C_DROP: break;
    case C_SPACE: word_end(S); break;
    case C_ALONE:
        word_end(S);
        S->wn += encode(cp < 0x80 ? cp : (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), S->w + S->wn);
        word_end(S);
        break;
    default:
        if (cp < 0x80) S->w[S->wn++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        else S->wn += encode(cp > 0x10FFFF ? cp : (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), S->w + S->wn);
    }
}

static void wpm_fragment(session *S, const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    S->wn = 3;
    for (size_t i = 0; i < len;) {
        size_t used;
        uint32_t cp = s[i] < 0x80 ? (used = 1, s[i]) : decode(s + i, len - i, &used);
        i += used;
        /* llama.cpp's "NFD": the first code point of the canonical
         * decomposition, the rest (combining marks; for a Hangul syllable
         * its vowel and final jamo) is lost */
        if (cp >= 0xC0 && cp <= 0x10FFFF) {
            utf8proc_int32_t d[NFD_MAX];
            int last = 0;
            utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)cp, d, NFD_MAX, UTF8PROC_DECOMPOSE, &last);
            if (nd >= 1 && nd <= NFD_MAX) cp = (uint32_t)d[0];
        }
        wpm_cp(S, cp);
    }
    word_end(S);
}

int tk_wpm_tokenize(const tk_vocab *v, const char *text, size_t len, int add_special, int parse_special, int32_t *ids,
                    int cap) {
    session S = {.v = v, .ids = ids, .cap = cap < 0 ? 0 : cap};
    tk_fraglist L = {0};
    long rc;

    /* llama.cpp's add_special for WPM: [CLS] first and [SEP] last */
    if (add_special && v->bos >= 0) emit(&S, v->bos);
    if (len > (size_t)(INT_MAX - 8) / 2) return -INT_MAX;
    if (len && tk_vocab_partition(v, text, len, parse_special, &L)) goto oom;
    size_t maxlen = 0;
    for (size_t f = 0; f < L.n; f++)
        if (L.a[f].id < 0 && L.a[f].len > maxlen) maxlen = L.a[f].len;
    /* each code point read (ASCII: 1 byte in, 1 out; else 2..4 bytes in;
     * a byte of invalid UTF-8 is dropped) adds one code point of at most
     * 4 bytes to the word: 4 bytes per input byte + "▁" is plenty */
    S.w = malloc(4 * maxlen + 8);
    if (!S.w) goto oom;
    memcpy(S.w, "\xe2\x96\x81", 3);
    for (size_t f = 0; f < L.n; f++) {
        if (L.a[f].id >= 0) emit(&S, L.a[f].id);
        else wpm_fragment(&S, text + L.a[f].off, L.a[f].len);
    }
    if (add_special && v->eos >= 0) emit(&S, v->eos);
    rc = S.n_out > INT_MAX ? -INT_MAX : S.n_out <= S.cap ? S.n_out : -S.n_out;
    goto done;
oom:
    rc = -INT_MAX;
done:
    free(S.w), free(L.a);
    return (int)rc;
}
