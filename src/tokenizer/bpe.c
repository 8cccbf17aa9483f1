/* bpe.c: the byte-level BPE tokenizer (GPT-2 style), as llama.cpp's
 * llm_tokenizer_bpe does it, which gives Hugging Face's answers for the
 * vocabularies with tokenizer.ggml.model "gpt2".
 *
 * tk_bpe_tokenize(text):
 *  1. Split out USER_DEFINED tokens (and CONTROL / UNKNOWN ones when the
 *     caller asks for special-token parsing; partition.c).
 *  2. Each raw fragment: ill-formed UTF-8 is cleaned the way llama.cpp's
 *     unicode_cpts_from_utf8 does it (a byte that does not start a
 *     structurally complete sequence becomes U+FFFD, overlong forms are
 *     re-encoded as the shortest form); llama.cpp keeps surrogates and
 *     throws on code points above U+10FFFF, both become U+FFFD here (PCRE2
 *     cannot match them).
 *  3. Pre-tokenize with the regexes of tokenizer.ggml.pre (llama.cpp's
 *     lists, the table below): each regex in turn splits every piece the
 *     previous one produced, and both the matches and the text between
 *     them become pieces (llama.cpp unicode_regex_split, Hugging Face
 *     Split with behavior "Isolated"). Each piece is the whole subject of
 *     the next regex, so ^, $ and look-arounds see only that piece. The
 *     regexes are the original Hugging Face ones run by PCRE2 (UTF + UCP,
 *     JIT when available); llama.cpp rewrites some for its own engine.
 *  4. Each word: its bytes through GPT-2's byte-to-unicode map, one symbol
 *     per byte; then merge, lowest merge rank first (ties: leftmost), the
 *     adjacent pair whose texts "left right" are in tokenizer.ggml.merges,
 *     with a heap and lazy deletion of stale pairs (as spm.c). With Llama 3
 *     style vocabularies (ignore_merges) a word that is a token as a whole
 *     is that token.
 *  5. Emit each symbol's token; a symbol that is no token (a vocabulary
 *     without some merge result) gives the tokens of its single bytes,
 *     where they exist (llama.cpp does exactly this).
 *
 * Everything is per call: the compiled regexes and the merge table are
 * read-only after loading, so one vocabulary may be used from several
 * threads. */
#include "vocab_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "merge_heap.h"

#include "base/status.h"

#define KEY_MERGES "tokenizer.ggml.merges"
#define MAX_MERGES (1 << 24)
#define MAX_RE 8

/* ---- the pre-tokenizers ------------------------------------------------------ */

/* GPT-2's regex without its final "|\s+" (llama.cpp's form; "\s+" can only
 * ever take one whitespace character before a non-space one, which the
 * split then leaves as a piece of its own anyway: the same pieces). */
#define RE_GPT2 TK_BPE_RE_GPT2 /* vocab.h */
#define RE_LLAMA3                                                                                       \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                    \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* CJK and Hangul as DeepSeek writes them: 一-龥 ࠀ-一 가-퟿ */
#define RE_DEEPSEEK_CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
/* DeepSeek LLM's letters: the cased letters (Unicode L&, about 11.0) as
 * ranges, written here with code points instead of the characters. */
#define RE_DEEPSEEK_LLM_LETTERS                                                                          \
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"   \
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"  \
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"         \
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"       \
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"      \
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"                 \
    "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"               \
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"     \
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"       \
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}"                \
    "\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}"                \
    "\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"       \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"      \
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}" \
    "\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"
/* !-/ :-~ ！-／ ：-～ ‘-‟ 　-。 */
#define RE_DEEPSEEK_LLM_PUNCT "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"

enum { PRE_LLAMA3 = 1 }; /* ignore_merges and BOS by default */

typedef struct {
    const char *name;
    int flags;
    const char *re[MAX_RE]; /* NULL-terminated */
} pre_def;

/* tokenizer.ggml.pre -> regexes, as llama.cpp's llama_vocab::impl::load
 * and llm_tokenizer_bpe map them. "default" is also what a vocabulary
 * without the key gets (llama.cpp warns and uses it). */
static const pre_def PRE[] = {
    {"default", 0, {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}},
    {"gpt-2", 0, {RE_GPT2}},
    {"phi-2", 0, {RE_GPT2}},
    {"roberta-bpe", 0, {RE_GPT2}},
    {"mpt", 0, {RE_GPT2}},
    {"olmo", 0, {RE_GPT2}},
    {"llama-bpe", PRE_LLAMA3, {RE_LLAMA3}}, /* first: the name llama.cpp's converter writes */
    {"llama3", PRE_LLAMA3, {RE_LLAMA3}},
    {"llama-v3", PRE_LLAMA3, {RE_LLAMA3}},
    {"dbrx", 0, {RE_LLAMA3}},
    {"smaug-bpe", 0, {RE_LLAMA3}},
    {"qwen2", 0, {RE_QWEN2}},
    {"deepseek-r1-qwen", 0, {RE_QWEN2}},
    {"stablelm2", 0, {RE_QWEN2}},
    /* "\s+$" is written "(?<!\s)\s+$": the same matches (the leftmost one
     * starts where the trailing whitespace run starts), without trying
     * every start inside an earlier run (quadratic on long runs). */
    {"deepseek-llm", 0, {"[\r\n]", RE_DEEPSEEK_LLM_LETTERS, RE_DEEPSEEK_LLM_PUNCT, "(?<!\\s)\\s+$", RE_DEEPSEEK_CJK, "\\p{N}+"}},
    {"deepseek-coder", 0, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_DEEPSEEK_CJK, "\\p{N}"}},
    {"falcon", 0, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"}},
    {"starcoder", 0, {"\\p{N}", RE_GPT2}},
    {"refact", 0, {"\\p{N}", RE_GPT2}},
    {"command-r", 0, {"\\p{N}", RE_GPT2}},
    {"smollm", 0, {"\\p{N}", RE_GPT2}},
    {"codeshell", 0, {"\\p{N}", RE_GPT2}},
    {"exaone", 0, {"\\p{N}", RE_GPT2}},
};

/* ---- the tokenizer object ---------------------------------------------------- */

struct tk_bpe {
    const pre_def *pre;
    int n_re;
    pcre2_code *re[MAX_RE];

    /* merges: "left right" texts, their rank is their index in the GGUF
     * array; open addressing on the FNV-1a hash of the whole text, hash
     * and record side by side (one cache line per probe) */
    char *mblob;
    struct mslot {
        uint32_t hash;
        int32_t rank;          /* -1: empty                               */
        uint32_t off, len;     /* text: mblob[off .. off+len)             */
        uint32_t split;        /* length of "left"                        */
    } *slot;
    int n_merges;              /* entries kept (with a space)             */
    uint32_t mask;

    unsigned char enc[256][2]; /* byte -> UTF-8 of its code point       */
    uint8_t enc_len[256];
    int16_t dec[0x144];        /* code point -> byte, or -1             */
};

void tk_bpe_free(struct tk_bpe *b) {
    if (!b) return;
    for (int i = 0; i < b->n_re; i++) pcre2_code_free(b->re[i]);
    free(b->mblob), free(b->slot);
    free(b);
}

int tk_bpe_ignore_merges(const struct tk_bpe *b) { return (b->pre->flags & PRE_LLAMA3) != 0; }
int tk_bpe_default_add_bos(const struct tk_bpe *b) { return (b->pre->flags & PRE_LLAMA3) != 0; }
const char *tk_bpe_pre_name(const struct tk_bpe *b) { return b->pre->name; }

/* GPT-2's bytes_to_unicode: the printable bytes ! .. ~, ¡ .. ¬, ® .. ÿ map
 * to their own code point, the other 68 to U+0100.. in byte order. */
static void byte_map(struct tk_bpe *b) {
    int next = 0x100;
    for (int i = 0; i < 0x144; i++) b->dec[i] = -1;
    for (int c = 0; c < 256; c++) {
        int printable = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
        int cp = printable ? c : next++;
        if (cp < 0x80) {
            b->enc[c][0] = (unsigned char)cp, b->enc_len[c] = 1;
        } else {
            b->enc[c][0] = (unsigned char)(0xC0 | cp >> 6), b->enc[c][1] = (unsigned char)(0x80 | (cp & 0x3F));
            b->enc_len[c] = 2;
        }
        b->dec[cp] = (int16_t)c;
    }
}

static uint32_t fnv_more(uint32_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Rank of the merge "l r", or -1. */
static int32_t merge_rank(const struct tk_bpe *b, const char *l, uint32_t ln, const char *r, uint32_t rn) {
    uint32_t h = fnv_more(fnv_more(fnv_more(2166136261u, l, ln), " ", 1), r, rn);
    uint32_t n = ln + 1 + rn;
    for (uint32_t i = h & b->mask;; i = (i + 1) & b->mask) {
        const struct mslot *m = &b->slot[i];
        if (m->rank < 0) return -1;
        if (m->hash == h && m->len == n && m->split == ln) {
            const char *s = b->mblob + m->off;
            if (memcmp(s, l, ln) == 0 && memcmp(s + ln + 1, r, rn) == 0) return m->rank;
        }
    }
}

/* One string of a GGUF string array: u64 LE length, then the bytes. */
static int next_str(const unsigned char **pp, const unsigned char *end, const char **s, uint64_t *len) {
    const unsigned char *p = *pp;
    if (end - p < 8) return -1;
    uint64_t l = 0;
    for (int k = 7; k >= 0; k--) l = l << 8 | p[k];
    if (l > (uint64_t)(end - p - 8)) return -1;
    *s = (const char *)p + 8, *len = l;
    *pp = p + 8 + l;
    return 0;
}

static int load_merges(struct tk_bpe *b, const tk_gguf *g, tk_error *e) {
    int ki = tk_gguf_find(g, KEY_MERGES), et, rc;
    uint64_t n64;
    if (ki < 0)
        return tk_err(e, TK_EUNSUPPORTED, "tokenizer model 'gpt2' is not supported without %s (missing from the file)",
                      KEY_MERGES);
    if ((rc = tk_gguf_get_arr(g, KEY_MERGES, &et, &n64, e))) return rc;
    if (et != TK_GGUF_STRING) return tk_err(e, TK_EFORMAT, "%s: expected an array of strings, got element type %d", KEY_MERGES, et);
    if (n64 > MAX_MERGES) return tk_err(e, TK_EFORMAT, "%s: %llu merges (at most %d)", KEY_MERGES, (unsigned long long)n64, MAX_MERGES);
    tk_gguf_value arr;
    if (tk_gguf_value_of(g, ki, &arr) != TK_OK || arr.type != TK_GGUF_ARRAY)
        return tk_err(e, TK_EFORMAT, "%s: cannot read the array", KEY_MERGES);
    int n = (int)n64;

    /* pass 1: check and size */
    const unsigned char *p = arr.p, *end = arr.p + arr.size;
    uint64_t blob = 0;
    const char *s = NULL;
    uint64_t sl = 0;
    for (int i = 0; i < n; i++) {
        if (next_str(&p, end, &s, &sl)) return tk_err(e, TK_EFORMAT, "%s: merge %d is cut off", KEY_MERGES, i);
        blob += sl;
        if (sl >= UINT32_MAX / 4 || blob >= UINT32_MAX / 2) return tk_err(e, TK_EFORMAT, "%s: merge texts too long", KEY_MERGES);
    }
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)n) cap <<= 1;
    b->mask = cap - 1;
    b->mblob = malloc(blob ? (size_t)blob : 1);
    b->slot = malloc((size_t)cap * sizeof *b->slot);
    if (!b->mblob || !b->slot) return tk_err(e, TK_ENOMEM, "out of memory for %d merges", n);
    memset(b->slot, 0xff, (size_t)cap * sizeof *b->slot);

    /* pass 2: copy and index. As llama.cpp: the text splits at its first
     * space after the first byte; one without such a space can never
     * apply; a repeated pair keeps its first (lowest) rank. */
    p = arr.p;
    uint32_t pos = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (next_str(&p, end, &s, &sl)) break; /* not after pass 1 */
        const char *sp = sl > 1 ? memchr(s + 1, ' ', (size_t)sl - 1) : NULL;
        if (!sp) continue;
        uint32_t h = fnv_more(2166136261u, s, (size_t)sl), j = h & b->mask;
        int dup = 0;
        for (; b->slot[j].rank >= 0; j = (j + 1) & b->mask) {
            const struct mslot *o = &b->slot[j];
            if (o->hash == h && o->len == sl && memcmp(b->mblob + o->off, s, (size_t)sl) == 0) {
                dup = 1;
                break;
            }
        }
        if (dup) continue;
        memcpy(b->mblob + pos, s, (size_t)sl);
        b->slot[j] = (struct mslot){h, i, pos, (uint32_t)sl, (uint32_t)(sp - s)};
        pos += (uint32_t)sl;
        k++;
    }
    b->n_merges = k;
    return TK_OK;
}

const char *tk_bpe_pre_by_regexes(const char *const *re, int n) {
    for (size_t i = 0; i < sizeof PRE / sizeof *PRE; i++) {
        int k = 0;
        while (k < n && k < MAX_RE && PRE[i].re[k] && !strcmp(PRE[i].re[k], re[k])) k++;
        if (k == n && (k == MAX_RE || !PRE[i].re[k])) return PRE[i].name;
    }
    return NULL;
}

int tk_bpe_new(struct tk_bpe **out, const tk_gguf *g, const char *pre, size_t pre_len, tk_error *e) {
    *out = NULL;
    const pre_def *d = NULL;
    if (!pre || pre_len == 0) pre = "default", pre_len = 7;
    for (size_t i = 0; i < sizeof PRE / sizeof *PRE && !d; i++)
        if (strlen(PRE[i].name) == pre_len && memcmp(PRE[i].name, pre, pre_len) == 0) d = &PRE[i];
    if (!d)
        return tk_err(e, TK_EUNSUPPORTED, "pre-tokenizer '%.*s' (tokenizer.ggml.pre) is not supported", (int)(pre_len > 64 ? 64 : pre_len),
                      pre);

    struct tk_bpe *b = calloc(1, sizeof *b);
    if (!b) return tk_err(e, TK_ENOMEM, "out of memory for the BPE tokenizer");
    b->pre = d;
    byte_map(b);
    int rc = load_merges(b, g, e);
    for (int i = 0; rc == TK_OK && i < MAX_RE && d->re[i]; i++) {
        int code;
        PCRE2_SIZE at;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)d->re[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
        if (!re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof msg);
            rc = tk_err(e, TK_EUNSUPPORTED, "pre-tokenizer '%s': regex %d does not compile at offset %zu: %s", d->name, i,
                        (size_t)at, (const char *)msg);
            break;
        }
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* no JIT: the interpreter */
        b->re[b->n_re++] = re;
    }
    if (rc) {
        tk_bpe_free(b);
        return rc;
    }
    *out = b;
    return TK_OK;
}

/* ---- decoding ------------------------------------------------------------------ */

static const unsigned char UTF8_LEN[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

/* Each character of a token's text back to its byte; a character outside
 * the map (a literal added token, say) is copied as it is (llama.cpp writes
 * "[UNK_BYTE_0x...]" instead). */
int tk_bpe_decode(const struct tk_bpe *b, const char *s, size_t n, char *buf, int cap) {
    int o = 0;
    for (size_t i = 0; i < n;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t l = UTF8_LEN[u[0] >> 4];
        if (l > n - i) l = n - i;
        int cp = -1;
        if (l == 1) cp = u[0];
        else if (l == 2 && (u[1] & 0xC0) == 0x80) cp = (u[0] & 0x1F) << 6 | (u[1] & 0x3F);
        if (cp >= 0 && cp < 0x144 && b->dec[cp] >= 0) {
            if (o < cap) buf[o] = (char)b->dec[cp];
            o++;
        } else {
            for (size_t k = 0; k < l; k++, o++)
                if (o < cap) buf[o] = s[i + k];
        }
        i += l;
    }
    return o;
}

/* ---- tokenizing ----------------------------------------------------------------- */

typedef struct {
    int32_t prev, next;
    uint32_t off, n; /* encoded text: enc[off .. off+n); n == 0 once merged away */
} sym;

typedef tk_merge bigram;

typedef struct {
    const tk_vocab *v;
    const struct tk_bpe *b;
    pcre2_match_data *md;
    char *enc;       /* the encoded word                                     */
    sym *sy;
    size_t cap_word; /* enc holds 2 * cap_word bytes, sy cap_word symbols   */
    tk_merge_heap heap;
    int32_t *ids;
    int cap;
    int64_t n_out;
    int fail;        /* out of memory or a regex engine error              */
} session;

static void emit(session *S, int32_t id) {
    if (S->n_out < S->cap) S->ids[S->n_out] = id;
    S->n_out++;
}

static void heap_push(session *S, bigram b) {
    if (tk_merge_heap_push(&S->heap, b)) S->fail = 1;
}

static void try_add_bigram(session *S, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const sym *l = &S->sy[left], *r = &S->sy[right];
    int32_t rank = merge_rank(S->b, S->enc + l->off, l->n, S->enc + r->off, r->n);
    if (rank < 0) return;
    bigram g = {-(double)rank, left, right, l->n + r->n}; /* lowest rank first */
    heap_push(S, g);
}

static void emit_sym(session *S, const char *s, uint32_t n) {
    int32_t id = tk_vocab_find(S->v, s, n);
    if (id >= 0) {
        emit(S, id);
        return;
    }
    for (uint32_t j = 0; j < n; j++) { /* llama.cpp: the single bytes that are tokens */
        id = tk_vocab_find(S->v, s + j, 1);
        if (id >= 0) emit(S, id);
    }
}

/* Steps 4 and 5 on one word of n raw bytes. */
static void bpe_word(session *S, const char *w, size_t n) {
    const struct tk_bpe *b = S->b;
    if (n == 0) return;
    if (n > S->cap_word) {
        size_t nc = n < 256 ? 256 : n;
        char *enc = realloc(S->enc, 2 * nc);
        if (!enc) {
            S->fail = 1;
            return;
        }
        S->enc = enc;
        sym *sy = realloc(S->sy, nc * sizeof *sy);
        if (!sy) {
            S->fail = 1;
            return;
        }
        S->sy = sy, S->cap_word = nc;
    }
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        sym *s = &S->sy[i];
        s->off = m, s->n = b->enc_len[c];
        S->enc[m] = (char)b->enc[c][0];
        if (s->n == 2) S->enc[m + 1] = (char)b->enc[c][1];
        m += s->n;
        s->prev = (int32_t)i - 1;
        s->next = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    if (n == 1 || (tk_bpe_ignore_merges(b) && tk_vocab_find(S->v, S->enc, m) >= 0)) {
        emit_sym(S, S->enc, m);
        return;
    }

    S->heap.n = 0;
    for (size_t i = 1; i < n; i++) try_add_bigram(S, (int32_t)i - 1, (int32_t)i);
    while (S->heap.n && !S->fail) {
        bigram g = tk_merge_heap_pop(&S->heap);
        sym *l = &S->sy[g.left], *r = &S->sy[g.right];
        /* stale: a side was merged away, or grew (l's next is r as long as r
         * has text, so the sizes add up only if neither changed) */
        if (l->n == 0 || r->n == 0 || l->n + r->n != g.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) S->sy[r->next].prev = g.left;
        try_add_bigram(S, l->prev, g.left);
        try_add_bigram(S, g.left, l->next);
    }
    if (S->fail) return;
    for (int32_t i = 0; i != -1; i = S->sy[i].next) emit_sym(S, S->enc + S->sy[i].off, S->sy[i].n);
}

/* Step 3: regex `level` splits s[0..n) into matches and the gaps between
 * them; each piece goes on to the next regex, the last level's to BPE. */
static void split(session *S, int level, const char *s, size_t n) {
    if (S->fail || n == 0) return;
    if (level == S->b->n_re) {
        bpe_word(S, s, n);
        return;
    }
    const pcre2_code *re = S->b->re[level];
    size_t pos = 0, gap = 0;
    while (pos < n && !S->fail) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, S->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, S->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            S->fail = 1;
            return;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(S->md);
        size_t a = ov[0], z = ov[1];
        if (a < gap || z < a || z > n) { /* not with these patterns (no \K) */
            S->fail = 1;
            return;
        }
        if (z == a) { /* an empty match splits nothing: go on one character later */
            size_t l = UTF8_LEN[(unsigned char)s[a] >> 4];
            pos = a + l;
            continue;
        }
        if (a > gap) split(S, level + 1, s + gap, a - gap);
        split(S, level + 1, s + a, z - a);
        gap = pos = z;
    }
    if (gap < n) split(S, level + 1, s + gap, n - gap);
}

/* Step 2: the llama.cpp reading of possibly ill-formed UTF-8 (see the top).
 * Writes at most 3 bytes per input byte to out; returns the length. */
static size_t clean_utf8(const unsigned char *p, size_t n, unsigned char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned c = p[i];
        uint32_t cp = 0;
        size_t l = 0;
        if (c < 0x80) cp = c, l = 1;
        else if ((c & 0xE0) == 0xC0) l = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) l = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) l = 4, cp = c & 0x07;
        int ok = l > 0 && l <= n - i;
        for (size_t k = 1; ok && k < l; k++) {
            ok = (p[i + k] & 0xC0) == 0x80;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (!ok) {
            cp = 0xFFFD, l = 1;
        } else if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            cp = 0xFFFD;
        }
        i += l;
        if (cp < 0x80) {
            out[o++] = (unsigned char)cp;
        } else if (cp < 0x800) {
            out[o++] = (unsigned char)(0xC0 | cp >> 6), out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (unsigned char)(0xE0 | cp >> 12), out[o++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (unsigned char)(0xF0 | cp >> 18), out[o++] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
            out[o++] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

int tk_bpe_tokenize(const tk_vocab *v, const char *text, size_t len, int add_bos, int parse_special, int32_t *ids,
                    int cap) {
    session S = {.v = v, .b = v->bpe, .ids = ids, .cap = cap < 0 ? 0 : cap};
    tk_fraglist L = {0};
    unsigned char *clean = NULL;
    int rc;

    if (add_bos && v->bos >= 0) emit(&S, v->bos);
    if (len == 0) return S.n_out <= S.cap ? (int)S.n_out : -(int)S.n_out;
    if (len > (size_t)(INT_MAX - 8) / 3) return -INT_MAX;

    S.md = pcre2_match_data_create(1, NULL);
    if (!S.md || tk_vocab_partition(v, text, len, parse_special, &L)) goto fail;
    for (size_t f = 0; f < L.n && !S.fail; f++) {
        if (L.a[f].id >= 0) {
            emit(&S, L.a[f].id);
            continue;
        }
        const char *s = text + L.a[f].off;
        size_t n = L.a[f].len;
        if (!tk_utf8_valid(s, n, NULL)) {
            free(clean);
            clean = malloc(3 * n);
            if (!clean) goto fail;
            n = clean_utf8((const unsigned char *)s, n, clean);
            s = (const char *)clean;
        }
        split(&S, 0, s, n);
    }
    if (S.fail) goto fail;
    rc = S.n_out > INT_MAX ? -INT_MAX : S.n_out <= S.cap ? (int)S.n_out : -(int)S.n_out;
    goto done;
fail:
    rc = -INT_MAX;
done:
    pcre2_match_data_free(S.md);
    free(clean), free(S.enc), free(S.sy), free(S.heap.a), free(L.a);
    return rc;
}
