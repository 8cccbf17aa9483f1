/* test_bpe.c: the byte-level BPE tokenizer (src/tokenizer/bpe.c).
 *
 * Reference answers: llama.cpp's vocab-only GGUFs with tokenizer model
 * "gpt2" and their .inp/.out pairs (Hugging Face's tokenizations; see
 * ../shared/models/README.md), every fixture checked by SHA-256; plus small
 * synthetic vocabularies for the merge order and the error paths. */
#include "t.h"
#include "util_gguf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/gguf.h"
#include "tokenizer/vocab.h"

#define SHA_INP "ef7a25a263fba141f64a8a842ceb1c572cdb8e1313f592d974f7a06bbd3a4934"
#define SHA_BERT "fbcbe22278fb302694d5f4a41bfe48c5f90e8e3554eab1c0435387dff654a854"
#define SHA_NEOX "ae593a7f9b8bb174ed4f5019e41530463e4dac7aa06e42dee8aa650d2bdac53d"
#define N_CASES 46

/* The vocabularies with tokenizer model gpt2 and a .inp/.out pair. */
static const struct {
    const char *name, *pre, *sha_gguf, *sha_out;
} VOCABS[] = {
    {"gpt-2", "gpt-2", "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac",
     "a2630e9cf29c0ddbd9fd79fe358dc83e80af779f886eeaa7627dbfdeec54bae6"},
    {"deepseek-coder", "deepseek-coder", "91cb1379f2e33af1c4866b194622b7a0e12e8f0c9dba7ba2f10d55978730bec1",
     "aacf4fe0f1a8c4cf935963ffa625a8f3b44139fb948846d3768822aaa0c01b30"},
    {"deepseek-llm", "deepseek-llm", "867f77537b54565f0d81d508c04edc41aa1d4ffc1a92745f225b4c1b02755f76",
     "a193491c3c71fc008e3fbc5528cc26a1946f91dc0ec25778a5bc790b017baae5"},
    {"falcon", "falcon", "9f0bf8b0733680398b72e652e90f260f43782f326e75545fc0e49611a5ba35ad",
     "835d871a0c6d518dec839b9c176ef76e5fa7cf6e21a753f307f31cdb2a2b03f2"},
    {"mpt", "mpt", "59dc382612866d1fc6c11ea531318d327598f3412d9c8f8600607cdf3030898f",
     "34dd177f7725b1ca3f9b42d8ddd91375c3f6dbb2865835ea8ac4934931675f56"},
    {"refact", "refact", "ac3ceda902fed91ccf74312b305d9b86c37e4f8e35fa9cc6ef3ce34fca7d4678",
     "012bd633debc658c9ae0efa311d59b0cbf339959866254aea5e745878ccf6609"},
    {"starcoder", "starcoder", "fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d",
     "880c8d5109bc9800840d80909ecd28256d2698e750a30e74d4179bac54794429"},
};
#define N_VOCABS ((int)(sizeof VOCABS / sizeof *VOCABS))

/* ---- helpers ---------------------------------------------------------------- */

static tk_vocab *vocab_gguf(const char *path) {
    tk_gguf *g = NULL;
    tk_vocab *v = NULL;
    tk_error e = {0};
    int rc = tk_gguf_open(&g, path, &e);
    T_CHECK(rc == TK_OK, "tk_gguf_open(%s): %d %s", path, rc, e.msg);
    if (rc) return NULL;
    rc = tk_vocab_from_gguf(&v, g, &e);
    tk_gguf_free(g);
    T_CHECK(rc == TK_OK && v, "tk_vocab_from_gguf(%s): %d %s", path, rc, e.msg);
    return rc ? NULL : v;
}

/* The vocab of VOCABS[k], or NULL (printed why) if absent or changed. */
static tk_vocab *vocab_k(int k) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/vocab/ggml-vocab-%s.gguf", VOCABS[k].name);
    const char *p = t_shared(rel, VOCABS[k].sha_gguf);
    return p ? vocab_gguf(p) : NULL;
}

static int32_t *tok_ex(const tk_vocab *v, const char *s, size_t n, int flags, int *n_ids) {
    int need = tk_vocab_tokenize_ex(v, s, n, flags, NULL, 0);
    T_CHECK(need != -INT_MAX, "tokenize failed");
    if (need < 0) need = -need;
    int32_t *ids = malloc(((size_t)need + 1) * sizeof *ids);
    int got = tk_vocab_tokenize_ex(v, s, n, flags, ids, need);
    T_CHECK(got == need, "second tokenize call gave %d, first said %d", got, need);
    *n_ids = got;
    return ids;
}

static int32_t *tok(const tk_vocab *v, const char *s, size_t n, int *n_ids) { return tok_ex(v, s, n, 0, n_ids); }

static int ids_eq(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

/* Decode ids into a malloc'd buffer. */
static char *detok(const tk_vocab *v, const int32_t *ids, int n, size_t *len) {
    size_t cap = 64, o = 0;
    char *s = malloc(cap);
    for (int k = 0; k < n; k++) {
        int l = tk_vocab_piece(v, ids[k], NULL, 0);
        while (o + (size_t)l + 1 > cap) s = realloc(s, cap *= 2);
        tk_vocab_piece(v, ids[k], s + o, l);
        o += (size_t)l;
    }
    *len = o;
    return s;
}

/* ggml-vocab-NAME.gguf's reference pairs (tests/util_t.c); inputs only
 * when sha_out is NULL. */
static int cases_load(t_cases *c, const char *name, const char *sha_out) {
    char vocab[128];
    snprintf(vocab, sizeof vocab, "ggml-vocab-%s.gguf", name);
    return t_cases_load(c, vocab, SHA_INP, sha_out);
}

/* ---- reference vectors --------------------------------------------------- */

static void compare(const tk_vocab *v, const char *name, const t_cases *c);

static void vectors(int k) {
    const char *name = VOCABS[k].name;
    t_cases c;
    if (cases_load(&c, name, VOCABS[k].sha_out)) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/ggml-vocab-%s.gguf.inp/.out missing or changed", name);
    }
    T_CHECK(c.n == N_CASES, "%d cases, expected %d", c.n, N_CASES);
    tk_vocab *v = vocab_k(k);
    if (!v) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/ggml-vocab-%s.gguf missing or changed", name);
    }
    T_CHECK(strcmp(tk_vocab_model_name(v), "gpt2") == 0, "model %s", tk_vocab_model_name(v));
    T_CHECK(tk_vocab_pre_name(v) && strcmp(tk_vocab_pre_name(v), VOCABS[k].pre) == 0, "pre %s", tk_vocab_pre_name(v));
    compare(v, name, &c);
    tk_vocab_free(v);
    t_cases_free(&c);
}

/* Every case of c tokenized without special tokens against its answer. */
static void compare(const tk_vocab *v, const char *name, const t_cases *c) {
    int ok = 0;
    for (int i = 0; i < c->n; i++) {
        int n;
        int32_t *ids = tok(v, c->text[i], c->len[i], &n);
        if (ids_eq(ids, n, c->ids[i], c->n_ids[i])) {
            ok++;
        } else {
            char got[256] = "", want[256] = "";
            for (int j = 0, o = 0; j < n && o < 200; j++) o += snprintf(got + o, sizeof got - (size_t)o, " %d", ids[j]);
            for (int j = 0, o = 0; j < c->n_ids[i] && o < 200; j++)
                o += snprintf(want + o, sizeof want - (size_t)o, " %d", c->ids[i][j]);
            T_CHECK(0, "%s case %d '%.*s': got [%s ] want [%s ]", name, i, (int)(c->len[i] > 40 ? 40 : c->len[i]), c->text[i],
                    got, want);
        }
        free(ids);
    }
    printf("  %s: %d/%d cases match\n", name, ok, c->n);
    T_CHECK(ok == c->n, "not all cases match");
}

static void test_vectors_gpt2(void) { vectors(0); }
static void test_vectors_deepseek_coder(void) { vectors(1); }
static void test_vectors_deepseek_llm(void) { vectors(2); }
static void test_vectors_falcon(void) { vectors(3); }
static void test_vectors_mpt(void) { vectors(4); }
static void test_vectors_refact(void) { vectors(5); }
static void test_vectors_starcoder(void) { vectors(6); }

/* ---- decode(encode(text)) == text ------------------------------------------ */

static void roundtrip(const tk_vocab *v, const char *label, const t_cases *c, int *checked) {
    for (int i = 0; i < c->n; i++) {
        int n;
        int32_t *ids = tok(v, c->text[i], c->len[i], &n);
        size_t l;
        char *back = detok(v, ids, n, &l);
        T_CHECK(l == c->len[i] && memcmp(back, c->text[i], l) == 0, "%s case %d does not round-trip", label, i);
        (*checked)++;
        free(back);
        free(ids);
    }
}

static void test_roundtrip(void) {
    t_cases c;
    if (cases_load(&c, "gpt-2", NULL)) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/ggml-vocab-gpt-2.gguf.inp missing or changed");
    }
    int checked = 0, vocabs = 0;
    for (int k = 0; k < N_VOCABS; k++) {
        tk_vocab *v = vocab_k(k);
        if (!v) continue;
        roundtrip(v, VOCABS[k].name, &c, &checked);
        vocabs++;
        tk_vocab_free(v);
    }
    const char *p = t_shared("models/vocab/ggml-vocab-gpt-neox.gguf", SHA_NEOX);
    tk_vocab *v = p ? vocab_gguf(p) : NULL;
    if (v) {
        roundtrip(v, "gpt-neox", &c, &checked);
        vocabs++;
    }
    tk_vocab_free(v);
    t_cases_free(&c);
    printf("  round trip: %d texts over %d vocabularies\n", checked, vocabs);
    if (!vocabs) T_SKIP("no BPE vocabulary in ../shared/models/vocab");
}

/* ---- gpt-2 details ------------------------------------------------------------ */

static int tok_is(const tk_vocab *v, const char *text, size_t len, int flags, const int32_t *want, int nw) {
    int n;
    int32_t *ids = tok_ex(v, text, len, flags, &n);
    int ok = ids_eq(ids, n, want, nw);
    if (!ok) {
        printf("  '%.*s' ->", (int)len, text);
        for (int k = 0; k < n; k++) printf(" %d", ids[k]);
        printf("\n");
    }
    free(ids);
    return ok;
}

static void test_gpt2_details(void) {
    tk_vocab *v = vocab_k(0);
    if (!v) T_SKIP("../shared/models/vocab/ggml-vocab-gpt-2.gguf missing or changed");
    T_CHECK(tk_vocab_n(v) == 50257, "%d tokens", tk_vocab_n(v));
    T_CHECK(!tk_vocab_add_bos(v), "gpt-2 adds no BOS");
    T_CHECK(tk_vocab_bos(v) == 50256 && tk_vocab_eos(v) == 50256, "bos %d eos %d", tk_vocab_bos(v), tk_vocab_eos(v));
    T_CHECK(tk_vocab_is_eog(v, 50256), "<|endoftext|> ends generation");
    /* "Hello world" -> Hello, Ġworld */
    T_CHECK(tok_is(v, "Hello world", 11, 0, (const int32_t[]){15496, 995}, 2), "Hello world");
    T_CHECK(tok_is(v, "Hello world", 11, TK_VOCAB_ADD_BOS, (const int32_t[]){50256, 15496, 995}, 3), "with BOS");
    /* special-token text: plain text unless asked */
    static const char et[] = "a<|endoftext|>b";
    int n;
    int32_t *ids = tok(v, et, sizeof et - 1, &n);
    T_CHECK(n > 3, "'%s' as text: %d tokens", et, n);
    for (int k = 0; k < n; k++) T_CHECK(ids[k] != 50256, "control token from plain text");
    free(ids);
    T_CHECK(tok_is(v, et, sizeof et - 1, TK_VOCAB_PARSE_SPECIAL, (const int32_t[]){64, 50256, 65}, 3), "parse_special");
    char buf[32];
    T_CHECK(tk_vocab_piece(v, 50256, buf, sizeof buf) == 0, "control piece is empty");
    T_CHECK(tk_vocab_piece(v, 995, buf, sizeof buf) == 6 && memcmp(buf, " world", 6) == 0, "'Ġworld' -> ' world'");
    memset(buf, '#', sizeof buf);
    T_CHECK(tk_vocab_piece(v, 995, buf, 3) == 6 && memcmp(buf, " wo#", 4) == 0, "truncated piece");
    /* every single byte is a token, and decodes back to that byte */
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        int m;
        int32_t *one = NULL;
        if (b < 0x80) {
            one = tok(v, &c, 1, &m);
            T_CHECK(m == 1 && tk_vocab_piece(v, one[0], buf, sizeof buf) == 1 && buf[0] == c, "byte %d", b);
            free(one);
        }
    }
    /* cap too small: -(needed), the prefix written */
    int32_t few[1];
    T_CHECK(tk_vocab_tokenize(v, "Hello world", 11, 0, few, 1) == -2 && few[0] == 15496, "cap 1");
    T_CHECK(tk_vocab_tokenize(v, "", 0, 0, few, 1) == 0, "empty");
    T_CHECK(tk_vocab_tokenize(v, NULL, 0, 1, few, 1) == 1 && few[0] == 50256, "empty with BOS");

    /* ill-formed UTF-8, as llama.cpp: bytes that start no complete
     * sequence become U+FFFD, overlong forms their shortest form */
    int nf, nx;
    int32_t *fffd = tok(v, "a\xef\xbf\xbd", 4, &nf);
    int32_t *bad = tok(v, "a\xff", 2, &nx);
    T_CHECK(ids_eq(bad, nx, fffd, nf), "\\xff is read as U+FFFD");
    free(bad);
    bad = tok(v, "a\xe2\x82", 3, &nx); /* a cut-off sequence: two U+FFFD */
    int32_t *two = tok(v, "a\xef\xbf\xbd\xef\xbf\xbd", 7, &n);
    T_CHECK(ids_eq(bad, nx, two, n), "cut-off sequence");
    free(bad), free(two), free(fffd);
    bad = tok(v, "\xc1\x81", 2, &nx); /* overlong 'A' */
    T_CHECK(nx == 1 && bad[0] == 32, "overlong 'A' gives 'A' (%d tokens, first %d)", nx, nx ? bad[0] : -1);
    free(bad);
    bad = tok(v, "\xed\xa0\x80 x", 5, &nx); /* surrogate: U+FFFD here */
    two = tok(v, "\xef\xbf\xbd x", 5, &n);
    T_CHECK(ids_eq(bad, nx, two, n), "surrogate");
    free(bad), free(two);

    /* pseudo-random text: valid UTF-8 round-trips; any bytes tokenize */
    static const char *const pool[] = {" ", "a", "Z", "7", "'s", "\n", "\t", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                       "\xe4\xbd\xa0", "\xc2\x85", "\xe3\x80\x80", ".", "<|endoftext|>"};
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 400; round++) {
        char s[512];
        int len = 0, want = round % 100 + 1;
        while (len < want) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (round & 1) {
                const char *c = pool[x % (sizeof pool / sizeof *pool)];
                memcpy(s + len, c, strlen(c));
                len += (int)strlen(c);
            } else {
                s[len++] = (char)(x % 256);
            }
        }
        ids = tok(v, s, (size_t)len, &n);
        if (round & 1) {
            size_t bl2;
            char *b2 = detok(v, ids, n, &bl2);
            T_CHECK(bl2 == (size_t)len && memcmp(b2, s, bl2) == 0, "round %d does not round-trip", round);
            free(b2);
        }
        free(ids);
    }

    /* long inputs: runs of spaces and of letters, quickly and correctly */
    size_t L = 300000;
    char *big = malloc(L + 1);
    memset(big, ' ', L);
    big[L - 1] = 'x';
    ids = tok(v, big, L, &n);
    size_t bl;
    char *back = detok(v, ids, n, &bl);
    T_CHECK(bl == L && memcmp(back, big, L) == 0, "long space run round trip");
    free(back), free(ids);
    for (size_t i = 0; i < L; i += 6) memcpy(big + i, "hello ", L - i < 6 ? L - i : 6);
    ids = tok(v, big, L, &n);
    /* hello, then 49999 x Ġhello, then the last Ġ alone */
    int same = n == 50001 && ids[0] == 31373 && ids[n - 1] == 220;
    for (int k = 1; same && k < n - 1; k++) same = ids[k] == 23748;
    T_CHECK(same, "%d tokens for 50000 x 'hello '", n);
    free(ids);
    memset(big, 'a', L);
    ids = tok(v, big, L, &n);
    back = detok(v, ids, n, &bl);
    T_CHECK(bl == L && memcmp(back, big, L) == 0, "one long word round trip (%d tokens)", n);
    free(back), free(ids);
    free(big);
    tk_vocab_free(v);
}

/* A vocabulary without tokenizer.ggml.pre gets llama.cpp's "default"
 * regexes; the ids are llama.cpp's (../shared/models/README.md). */
static void test_gpt_neox(void) {
    const char *p = t_shared("models/vocab/ggml-vocab-gpt-neox.gguf", SHA_NEOX);
    if (!p) T_SKIP("../shared/models/vocab/ggml-vocab-gpt-neox.gguf missing or changed");
    tk_vocab *v = vocab_gguf(p);
    if (!v) return;
    T_CHECK(strcmp(tk_vocab_pre_name(v), "default") == 0, "pre %s", tk_vocab_pre_name(v));
    static const char hw[] = "Hello world, \xe4\xbd\xa0\xe5\xa5\xbd";
    T_CHECK(tok_is(v, hw, sizeof hw - 1, 0, (const int32_t[]){12092, 1533, 13, 209, 24553, 34439}, 6), "Hello world, 你好");
    tk_vocab_free(v);
}

/* ---- errors ---------------------------------------------------------------------- */

/* WordPiece (wpm.c): BERT's vocabulary (bge-small), tokenizer model "bert". */
#define SHA_BERT_OUT "dab9c427d3a11f5b29a960d56e4cb5ba2918517265798563088cb9ce2ff627fe"
static void test_bert_wpm(void) {
    t_cases c;
    if (cases_load(&c, "bert-bge", SHA_BERT_OUT)) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/ggml-vocab-bert-bge.gguf.inp/.out missing or changed");
    }
    const char *path = t_shared("models/vocab/ggml-vocab-bert-bge.gguf", SHA_BERT);
    tk_vocab *v = path ? vocab_gguf(path) : NULL;
    if (!v) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/ggml-vocab-bert-bge.gguf missing or changed");
    }
    T_CHECK(c.n == N_CASES, "%d cases, expected %d", c.n, N_CASES);
    T_CHECK(strcmp(tk_vocab_model_name(v), "bert") == 0, "model %s", tk_vocab_model_name(v));
    compare(v, "bert-bge", &c);
    t_cases_free(&c);

    /* the special ids of the file; add_special wraps in [CLS] .. [SEP] */
    tk_vocab_info vi;
    tk_vocab_specials(v, &vi);
    T_CHECK(strcmp(vi.type, "wpm") == 0 && vi.bos == 101 && vi.eos == 102 && vi.unk == 100 && vi.pad == 0,
            "type %s bos %d eos %d unk %d pad %d", vi.type, vi.bos, vi.eos, vi.unk, vi.pad);
    T_CHECK(tok_is(v, "Hello world", 11, TK_VOCAB_ADD_BOS, (const int32_t[]){101, 7592, 2088, 102}, 4), "[CLS] .. [SEP]");
    T_CHECK(tok_is(v, "", 0, TK_VOCAB_ADD_BOS, (const int32_t[]){101, 102}, 2), "empty with specials");
    /* [SEP] as text is one token only when special tokens are parsed */
    T_CHECK(tok_is(v, "a[SEP]b", 7, TK_VOCAB_PARSE_SPECIAL, (const int32_t[]){1037, 102, 1038}, 3), "parse special");
    /* accents go (NFD, first code point), case goes, whitespace of all
     * kinds splits, controls vanish */
    T_CHECK(tok_is(v, "H\xc3\x89llo\xe2\x80\x83W\x01orld", 15, 0, (const int32_t[]){7592, 2088}, 2), "normalize");
    /* answers of llama.cpp (node-llama-cpp 3.22.1): a combining mark goes;
     * a Hangul syllable keeps only its initial jamo (U+C5AE -> U+110B) */
    T_CHECK(tok_is(v, "e\xcc\x81", 3, 0, (const int32_t[]){1041}, 1), "combining acute dropped");
    T_CHECK(tok_is(v, "\xec\x96\xaeG", 4, 0, (const int32_t[]){1463, 2290}, 2), "Hangul");
    /* a word whose remainder matches nothing is one [UNK] as a whole */
    int n;
    int32_t *ids = tok(v, "hello \xf0\x9f\xa6\x99x world", 17, &n);
    T_CHECK(n == 3 && ids[0] == 7592 && ids[1] == 100 && ids[2] == 2088, "UNK word: n %d", n);
    free(ids);
    /* pieces: "▁" is a space, continuation pieces are bare */
    char buf[32];
    int l = tk_vocab_piece(v, 7592, buf, sizeof buf);
    T_CHECK(l == 6 && memcmp(buf, " hello", 6) == 0, "piece of 7592: %.*s", l, buf);
    /* invalid UTF-8 is dropped, never read past */
    T_CHECK(tok_is(v, "hello\xff\xc3", 7, 0, (const int32_t[]){7592}, 1), "invalid bytes");
    tk_vocab_free(v);
}

/* Byte-level texts: 'a' 'b' 'c' are themselves, ' ' is "Ġ". */
#define G "\xc4\xa0"

static int synth(const char *pre, const char *const *tok, int n_tok, const char *const *merges, int n_merges,
                 tk_vocab **out, tk_error *e) {
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "gpt2");
    tg_kv_str(b, "tokenizer.ggml.model", "gpt2");
    if (pre) tg_kv_str(b, "tokenizer.ggml.pre", pre);
    tg_kv_arr_str(b, "tokenizer.ggml.tokens", tok, (size_t)n_tok);
    if (merges) tg_kv_arr_str(b, "tokenizer.ggml.merges", merges, (size_t)n_merges);
    size_t size;
    unsigned char *data = tg_bytes(b, &size);
    tg_free(b);
    tk_gguf *g = NULL;
    *out = NULL;
    int rc = tk_gguf_parse(&g, data, size, e);
    if (rc == TK_OK) {
        rc = tk_vocab_from_gguf(out, g, e);
        tk_gguf_free(g);
    }
    free(data);
    return rc;
}

static void test_synthetic(void) {
    static const char *const toks[] = {"a", "b", "c", G, "ab", "bc", "abc", G "a", "x", "y", "xy"};
    tk_vocab *v;
    tk_error e = {0};

    /* rank order: "b c" before "a b"; then "a bc" is no merge */
    static const char *const m1[] = {"b c", "a b", "ab c"};
    int rc = synth("gpt-2", toks, 11, m1, 3, &v, &e);
    T_CHECK(rc == TK_OK, "%d %s", rc, e.msg);
    if (rc) return;
    T_CHECK(tok_is(v, "abc", 3, 0, (const int32_t[]){0, 5}, 2), "lowest rank first");
    T_CHECK(tok_is(v, "ab ab", 5, 0, (const int32_t[]){4, 3, 4}, 3), "' ab' has no merge 'Ġ a' here");
    T_CHECK(!tk_vocab_add_bos(v) && tk_vocab_bos(v) == -1, "no BOS (id 11 does not exist)");
    T_CHECK(tok_is(v, "cc", 2, 0, (const int32_t[]){2, 2}, 2), "no merge");
    tk_vocab_free(v);

    static const char *const m2[] = {"a b", "b c", "ab c", "Ġ a", "x y"};
    rc = synth("gpt-2", toks, 11, m2, 5, &v, &e);
    T_CHECK(rc == TK_OK && tok_is(v, "abc", 3, 0, (const int32_t[]){6}, 1), "abc");
    T_CHECK(rc == TK_OK && tok_is(v, "a abc", 5, 0, (const int32_t[]){0, 3, 6}, 3), "'a b' (rank 0) wins over 'Ġ a' (rank 3)");
    /* merges apply only inside a pre-tokenizer word: "xy" yes, "x y" no */
    T_CHECK(rc == TK_OK && tok_is(v, "xy x y", 6, 0, (const int32_t[]){10, 3, 8, 3, 9}, 5), "words");
    tk_vocab_free(v);

    /* merge result missing from the vocabulary ("y x" -> "yx") */
    static const char *const m3[] = {"y x"};
    rc = synth("gpt-2", toks, 11, m3, 1, &v, &e);
    T_CHECK(rc == TK_OK && tok_is(v, "yx", 2, 0, (const int32_t[]){9, 8}, 2), "bytes of an unknown merge result");
    tk_vocab_free(v);

    /* no pre key: llama.cpp's "default" */
    rc = synth(NULL, toks, 11, m2, 5, &v, &e);
    T_CHECK(rc == TK_OK && strcmp(tk_vocab_pre_name(v), "default") == 0, "%s", e.msg);
    tk_vocab_free(v);

    /* Llama 3 style: BOS by default */
    rc = synth("llama-bpe", toks, 11, m2, 5, &v, &e);
    T_CHECK(rc == TK_OK, "%s", e.msg);
    tk_vocab_free(v);

    /* errors: unknown pre-tokenizer, no merges */
    v = (tk_vocab *)1;
    rc = synth("no-such-pre", toks, 11, m2, 5, &v, &e);
    T_CHECK(rc == TK_EUNSUPPORTED && !v && strstr(e.msg, "pre-tokenizer 'no-such-pre'"), "unknown pre: %d %s", rc, e.msg);
    v = (tk_vocab *)1;
    rc = synth("gpt-2", toks, 11, NULL, 0, &v, &e);
    T_CHECK(rc == TK_EUNSUPPORTED && !v && strstr(e.msg, "tokenizer.ggml.merges"), "no merges: %d %s", rc, e.msg);
}

/* A one-off throughput number for the notes, not a timed test. */
static void test_throughput(void) {
    const char *p = t_shared("data/war-and-peace.txt", "eaecfcb30408e2bc35ffe69b297127e3a6ca75548c033df4d2e703b5ff711f8d");
    if (!p) T_SKIP("../shared/data/war-and-peace.txt missing or changed");
    tk_vocab *v = vocab_k(0);
    if (!v) T_SKIP("../shared/models/vocab/ggml-vocab-gpt-2.gguf missing or changed");
    size_t n;
    char *text = t_read(p, &n);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int k = tk_vocab_tokenize(v, text, n, 0, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    T_CHECK(k < 0 && k != -INT_MAX, "tokenize: %d", k);
    printf("  war-and-peace.txt, gpt-2: %zu bytes -> %d tokens in %.3f s (%.1f MB/s)\n", n, -k, s, (double)n / s / 1e6);
    tk_vocab_free(v);
    /* the same for WordPiece */
    const char *pb = t_shared("models/vocab/ggml-vocab-bert-bge.gguf", SHA_BERT);
    if ((v = pb ? vocab_gguf(pb) : NULL)) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        k = tk_vocab_tokenize(v, text, n, 0, NULL, 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        T_CHECK(k < 0 && k != -INT_MAX, "tokenize: %d", k);
        printf("  war-and-peace.txt, bert-bge: %zu bytes -> %d tokens in %.3f s (%.1f MB/s)\n", n, -k, s, (double)n / s / 1e6);
        tk_vocab_free(v);
    }
    free(text);
}

int main(void) {
    T_RUN(test_vectors_gpt2);
    T_RUN(test_vectors_deepseek_coder);
    T_RUN(test_vectors_deepseek_llm);
    T_RUN(test_vectors_falcon);
    T_RUN(test_vectors_mpt);
    T_RUN(test_vectors_refact);
    T_RUN(test_vectors_starcoder);
    T_RUN(test_roundtrip);
    T_RUN(test_gpt2_details);
    T_RUN(test_gpt_neox);
    T_RUN(test_bert_wpm);
    T_RUN(test_synthetic);
    T_RUN(test_throughput);
    return t_done();
}
