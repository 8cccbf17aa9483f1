/* test_tokenizer.c: the SPM vocabulary and tokenizer (src/tokenizer/).
 *
 * Reference answers: llama.cpp's vocab-only GGUFs with their .inp/.out
 * pairs (Hugging Face's tokenizations), the stories260K vocab in both of
 * its forms (tok512.bin, stories260K.gguf), and the Llama 2 vocab in
 * llama2.c form (llama2-tokenizer.bin). Fixtures are checked by SHA-256. */
#include "t.h"
#include "util_gguf.h"

#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "tokenizer/vocab.h"
#include "tokenizer/vocab_int.h"

#define SHA_LLAMA_SPM "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69"
#define SHA_PHI3 "967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326"
#define SHA_GPT2 "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac"
#define SHA_INP "ef7a25a263fba141f64a8a842ceb1c572cdb8e1313f592d974f7a06bbd3a4934"
#define SHA_OUT "ea602819af9f9af53a7af285a284ee810e70a4a14a5972e4c891ccd683488af5"
#define SHA_TOK512 "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312"
#define SHA_STORIES_GGUF "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
#define SHA_LLAMA2_BIN "50a52ef822ee9e83de5ce9d0be0a025a773d019437f58b5ff9dcafb063ece361"

#define N_CASES 46

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

static tk_vocab *vocab_bin(const char *path, int n_vocab) {
    size_t n;
    char *d = t_read(path, &n);
    T_CHECK(d != NULL, "cannot read %s", path);
    if (!d) return NULL;
    tk_vocab *v = NULL;
    tk_error e = {0};
    int rc = tk_vocab_from_llama2c(&v, d, n, n_vocab, &e);
    free(d);
    T_CHECK(rc == TK_OK && v, "tk_vocab_from_llama2c(%s): %d %s", path, rc, e.msg);
    return rc ? NULL : v;
}

/* Tokenize into a malloc'd array (sized with a first call). */
static int32_t *tok(const tk_vocab *v, const char *s, size_t n, int bos, int *n_ids) {
    int need = tk_vocab_tokenize(v, s, n, bos, NULL, 0);
    if (need < 0) need = -need;
    int32_t *ids = malloc(((size_t)need + 1) * sizeof *ids);
    int got = tk_vocab_tokenize(v, s, n, bos, ids, need);
    T_CHECK(got == need, "second tokenize call gave %d, first said %d", got, need);
    *n_ids = got;
    return ids;
}

static int ids_eq(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

/* Run every case through v; returns the number that match. */
static int run_cases(const tk_vocab *v, const t_cases *c, const char *label) {
    int ok = 0;
    for (int i = 0; i < c->n; i++) {
        int n;
        int32_t *ids = tok(v, c->text[i], c->len[i], 0, &n);
        if (ids_eq(ids, n, c->ids[i], c->n_ids[i])) {
            ok++;
        } else {
            char got[256] = "", want[256] = "";
            for (int k = 0, o = 0; k < n && o < 200; k++) o += snprintf(got + o, sizeof got - (size_t)o, " %d", ids[k]);
            for (int k = 0, o = 0; k < c->n_ids[i] && o < 200; k++)
                o += snprintf(want + o, sizeof want - (size_t)o, " %d", c->ids[i][k]);
            T_CHECK(0, "%s case %d '%.*s': got [%s ] want [%s ]", label, i, (int)(c->len[i] > 40 ? 40 : c->len[i]),
                    c->text[i], got, want);
        }
        free(ids);
    }
    printf("  %s: %d/%d cases match\n", label, ok, c->n);
    return ok;
}

static void vectors_gguf(const char *name, const char *sha) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/vocab/%s", name);
    const char *path = t_shared(rel, sha);
    if (!path) T_SKIP("../shared/%s missing or changed", rel);
    t_cases c;
    if (t_cases_load(&c, name, SHA_INP, SHA_OUT)) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/%s.inp/.out missing or changed", name);
    }
    T_CHECK(c.n == N_CASES, "%d cases, expected %d", c.n, N_CASES);
    tk_vocab *v = vocab_gguf(path);
    if (v) T_CHECK(run_cases(v, &c, name) == c.n, "not all cases match");
    tk_vocab_free(v);
    t_cases_free(&c);
}

/* ---- reference vectors --------------------------------------------------- */

static void test_vectors_llama_spm(void) { vectors_gguf("ggml-vocab-llama-spm.gguf", SHA_LLAMA_SPM); }
static void test_vectors_phi3(void) { vectors_gguf("ggml-vocab-phi-3.gguf", SHA_PHI3); }

/* The Llama 2 vocab in llama2.c form gives the same answers: its 32000
 * texts and scores equal the GGUF's once mapped, and the mapping restores
 * the GGUF token types (<unk> UNKNOWN, <s> </s> CONTROL, <0xNN> BYTE). */
static void test_vectors_llama2_bin(void) {
    const char *path = t_shared("models/llama2-tokenizer.bin", SHA_LLAMA2_BIN);
    if (!path) T_SKIP("../shared/models/llama2-tokenizer.bin missing or changed");
    t_cases c;
    if (t_cases_load(&c, "ggml-vocab-llama-spm.gguf", SHA_INP, SHA_OUT)) {
        t_cases_free(&c);
        T_SKIP("../shared/models/vocab/ggml-vocab-llama-spm.gguf.inp/.out missing or changed");
    }
    T_CHECK(c.n == N_CASES, "%d cases, expected %d", c.n, N_CASES);
    tk_vocab *v = vocab_bin(path, 32000);
    if (v) T_CHECK(run_cases(v, &c, "llama2-tokenizer.bin") == c.n, "not all cases match");

    /* and token for token equal to the GGUF vocab */
    const char *gp = t_shared("models/vocab/ggml-vocab-llama-spm.gguf", SHA_LLAMA_SPM);
    tk_vocab *g = gp ? vocab_gguf(gp) : NULL;
    if (v && g) {
        T_CHECK(tk_vocab_n(v) == tk_vocab_n(g), "%d vs %d tokens", tk_vocab_n(v), tk_vocab_n(g));
        int bad = 0;
        for (int i = 0; i < tk_vocab_n(v) && i < tk_vocab_n(g); i++) {
            int la, lb;
            const char *a = tk_vocab_text(v, i, &la), *b = tk_vocab_text(g, i, &lb);
            if (la != lb || memcmp(a, b, (size_t)la) || tk_vocab_score(v, i) != tk_vocab_score(g, i) ||
                tk_vocab_type(v, i) != tk_vocab_type(g, i))
                bad++;
        }
        T_CHECK(bad == 0, "%d tokens differ between llama2-tokenizer.bin and ggml-vocab-llama-spm.gguf", bad);
        T_CHECK(tk_vocab_bos(v) == 1 && tk_vocab_eos(v) == 2 && tk_vocab_add_bos(v), "specials");
        /* test.c's vectors from llama2.c (with BOS) */
        static const char *t1 = "I believe the meaning of life is";
        static const int32_t w1[] = {1, 306, 4658, 278, 6593, 310, 2834, 338};
        int n;
        int32_t *ids = tok(v, t1, strlen(t1), 1, &n);
        T_CHECK(ids_eq(ids, n, w1, 8), "'%s' differs", t1);
        free(ids);
    }
    tk_vocab_free(v);
    tk_vocab_free(g);
    t_cases_free(&c);
}

/* ---- stories260K: tok512.bin and the GGUF ----------------------------------- */

static void test_tok512(void) {
    const char *pb = t_shared("models/tok512.bin", SHA_TOK512);
    const char *pg = t_shared("models/stories260K.gguf", SHA_STORIES_GGUF);
    if (!pb || !pg) T_SKIP("../shared/models/tok512.bin or stories260K.gguf missing or changed");
    tk_vocab *b = vocab_bin(pb, 512), *g = vocab_gguf(pg);
    if (!b || !g) goto out;
    static const char *text = "Once upon a time";
    static const int32_t want[] = {1, 403, 407, 261, 378};
    for (int k = 0; k < 2; k++) {
        int n;
        int32_t *ids = tok(k ? g : b, text, strlen(text), 1, &n);
        T_CHECK(ids_eq(ids, n, want, 5), "%s: '%s' gives %d ids (first %d)", k ? "gguf" : "bin", text, n, n ? ids[0] : -1);
        free(ids);
    }
    T_CHECK(tk_vocab_n(b) == 512 && tk_vocab_n(g) == 512, "sizes %d %d", tk_vocab_n(b), tk_vocab_n(g));
    int bad = 0;
    for (int i = 0; i < 512; i++) {
        int la, lb;
        const char *x = tk_vocab_text(b, i, &la), *y = tk_vocab_text(g, i, &lb);
        if (la != lb || memcmp(x, y, (size_t)la) || tk_vocab_score(b, i) != tk_vocab_score(g, i) ||
            tk_vocab_type(b, i) != tk_vocab_type(g, i)) {
            if (bad++ < 5) T_CHECK(0, "token %d: bin '%s' %g type %d, gguf '%s' %g type %d", i, x, tk_vocab_score(b, i),
                                   tk_vocab_type(b, i), y, tk_vocab_score(g, i), tk_vocab_type(g, i));
        }
    }
    T_CHECK(bad == 0, "%d of 512 tokens differ", bad);
    for (int k = 0; k < 2; k++) {
        tk_vocab *v = k ? g : b;
        T_CHECK(tk_vocab_bos(v) == 1 && tk_vocab_eos(v) == 2 && tk_vocab_add_bos(v), "specials");
        T_CHECK(tk_vocab_is_eog(v, 2) && !tk_vocab_is_eog(v, 1) && !tk_vocab_is_eog(v, 0) && !tk_vocab_is_eog(v, 600),
                "eog set");
        T_CHECK(strcmp(tk_vocab_model_name(v), "llama") == 0, "model name");
        /* every text maps back to its id */
        int miss = 0;
        for (int i = 0; i < 512; i++) {
            int l;
            const char *s = tk_vocab_text(v, i, &l);
            if (tk_vocab_find(v, s, (size_t)l) != i) miss++;
        }
        T_CHECK(miss == 0, "%d texts do not map back to their id", miss);
    }
    /* empty text: nothing, or just BOS */
    int32_t one[2] = {-7, -7};
    T_CHECK(tk_vocab_tokenize(b, "", 0, 0, one, 2) == 0, "empty text");
    T_CHECK(tk_vocab_tokenize(b, NULL, 0, 1, one, 2) == 1 && one[0] == 1, "empty text with BOS");
    T_CHECK(tk_vocab_tokenize(b, "", 0, 1, one, 0) == -1, "empty text with BOS, cap 0");
    /* cap too small: -(needed), and the prefix is written */
    int32_t few[3];
    T_CHECK(tk_vocab_tokenize(b, text, strlen(text), 1, few, 3) == -5, "cap 3 should give -5");
    T_CHECK(few[0] == 1 && few[1] == 403 && few[2] == 407, "prefix written");
out:
    tk_vocab_free(b);
    tk_vocab_free(g);
}

/* ---- pieces ------------------------------------------------------------------ */

static void test_pieces(void) {
    const char *path = t_shared("models/vocab/ggml-vocab-llama-spm.gguf", SHA_LLAMA_SPM);
    if (!path) T_SKIP("../shared/models/vocab/ggml-vocab-llama-spm.gguf missing or changed");
    tk_vocab *v = vocab_gguf(path);
    if (!v) return;
    char buf[64];
    for (int b = 0; b < 256; b++) {
        int n = tk_vocab_piece(v, 3 + b, buf, sizeof buf);
        T_CHECK(n == 1 && (unsigned char)buf[0] == b, "byte token %d", 3 + b);
    }
    int sp = tk_vocab_find(v, "\xe2\x96\x81", 3);
    T_CHECK(sp == 29871, "'▁' is id %d", sp);
    T_CHECK(tk_vocab_piece(v, sp, buf, sizeof buf) == 1 && buf[0] == ' ', "'▁' -> ' '");
    T_CHECK(tk_vocab_piece(v, 1, buf, sizeof buf) == 0, "BOS -> ''");
    T_CHECK(tk_vocab_piece(v, 2, buf, sizeof buf) == 0, "EOS -> ''");
    T_CHECK(tk_vocab_piece(v, 0, buf, sizeof buf) == 0, "UNK -> ''");
    T_CHECK(tk_vocab_piece(v, -1, buf, sizeof buf) == 0 && tk_vocab_piece(v, 32000, buf, sizeof buf) == 0, "out of range");
    int32_t the = tk_vocab_find(v, "\xe2\x96\x81the", 6);
    T_CHECK(the == 278, "'▁the' is %d", the);
    T_CHECK(tk_vocab_piece(v, the, buf, sizeof buf) == 4 && memcmp(buf, " the", 4) == 0, "'▁the' -> ' the'");
    memset(buf, '#', sizeof buf);
    T_CHECK(tk_vocab_piece(v, the, buf, 2) == 4 && memcmp(buf, " t#", 3) == 0, "truncated piece");
    T_CHECK(tk_vocab_piece(v, the, NULL, 0) == 4, "length only");
    T_CHECK(tk_vocab_text(v, 32000, NULL) == NULL, "text out of range");

    /* round trip over the reference inputs: pieces concatenate to " " + text
     * unless byte fallback or UNK was used */
    t_cases c;
    if (t_cases_load(&c, "ggml-vocab-llama-spm.gguf", SHA_INP, SHA_OUT) == 0) {
        int checked = 0;
        for (int i = 0; i < c.n; i++) {
            int n;
            int32_t *ids = tok(v, c.text[i], c.len[i], 0, &n);
            int fallback = 0;
            size_t cap = c.len[i] * 4 + 8, o = 0;
            char *s = malloc(cap);
            for (int k = 0; k < n; k++) {
                int t = tk_vocab_type(v, ids[k]);
                if (t == TK_TOKEN_BYTE || t == TK_TOKEN_UNKNOWN) fallback = 1;
                int l = tk_vocab_piece(v, ids[k], s + o, (int)(cap - o));
                o += (size_t)l;
            }
            if (!fallback && c.len[i]) {
                checked++;
                T_CHECK(o == c.len[i] + 1 && s[0] == ' ' && memcmp(s + 1, c.text[i], c.len[i]) == 0,
                        "case %d does not round-trip", i);
            }
            free(s);
            free(ids);
        }
        printf("  round trip: %d cases without byte fallback\n", checked);
        T_CHECK(checked >= 30, "only %d cases checked", checked);
    }
    t_cases_free(&c);
    tk_vocab_free(v);
}

/* Invalid UTF-8 goes through the byte fallback exactly as llama.cpp does it:
 * a lead byte claims the next bytes whatever they are. */
static void test_bytes_and_long(void) {
    const char *path = t_shared("models/vocab/ggml-vocab-llama-spm.gguf", SHA_LLAMA_SPM);
    if (!path) T_SKIP("../shared/models/vocab/ggml-vocab-llama-spm.gguf missing or changed");
    tk_vocab *v = vocab_gguf(path);
    if (!v) return;
    int n;
    int32_t *ids = tok(v, "\xe2" "ab", 3, 0, &n);
    static const int32_t want[] = {29871, 3 + 0xE2, 3 + 'a', 3 + 'b'};
    T_CHECK(ids_eq(ids, n, want, 4), "'\\xe2ab' gives %d ids", n);
    free(ids);
    ids = tok(v, "\xff", 1, 0, &n); /* F0..FF claim 4 bytes: clamped to 1 */
    static const int32_t want2[] = {29871, 3 + 0xFF};
    T_CHECK(ids_eq(ids, n, want2, 2), "'\\xff' gives %d ids", n);
    free(ids);

    /* pseudo-random text: whatever comes out decodes back to " " + text.
     * Even rounds: arbitrary bytes except ' ' (with a space inside a broken
     * sequence the "▁" it becomes is partly claimed by the lead byte and
     * comes back as raw bytes, as in llama.cpp); odd rounds: valid UTF-8. */
    static const char *const chars[] = {" ", "a", "b", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\n", "\xe1\x9e\x80"};
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 200; round++) {
        char s[300];
        int len = 0, want = round % 64 + 1;
        while (len < want) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (round & 1) {
                const char *c = chars[x % 8];
                memcpy(s + len, c, strlen(c));
                len += (int)strlen(c);
            } else {
                s[len++] = (char)(x % 256 == ' ' ? 'x' : x % 256);
            }
        }
        ids = tok(v, s, (size_t)len, 0, &n);
        char back[1024];
        int o = 0, special = 0;
        for (int k = 0; k < n; k++) {
            int t = tk_vocab_type(v, ids[k]);
            special |= t == TK_TOKEN_CONTROL || t == TK_TOKEN_UNKNOWN;
            o += tk_vocab_piece(v, ids[k], back + o, (int)sizeof back - o);
        }
        if (!special) T_CHECK(o == len + 1 && back[0] == ' ' && memcmp(back + 1, s, (size_t)len) == 0, "round %d", round);
        free(ids);
    }

    /* a long input (the heap, not rescans): 200k words */
    size_t L = 200000 * 6;
    char *big = malloc(L);
    for (size_t i = 0; i < L; i += 6) memcpy(big + i, "hello ", 6);
    ids = tok(v, big, L, 0, &n);
    int32_t *one;
    int n1, same = 1;
    one = tok(v, "hello", 5, 0, &n1);
    T_CHECK(n1 == 1, "'hello' is %d tokens", n1);
    for (int k = 0; k < n - 1 && n1 == 1; k++) same &= ids[k] == one[0];
    T_CHECK(n == 200000 + 1 && same && ids[n - 1] == 29871, "long input: %d ids", n);
    free(one);
    free(ids);
    free(big);
    tk_vocab_free(v);
}

/* ---- Phi-3: user-defined tokens, EOG ------------------------------------------ */

static void test_phi3_specials(void) {
    const char *path = t_shared("models/vocab/ggml-vocab-phi-3.gguf", SHA_PHI3);
    if (!path) T_SKIP("../shared/models/vocab/ggml-vocab-phi-3.gguf missing or changed");
    tk_vocab *v = vocab_gguf(path);
    if (!v) return;
    T_CHECK(tk_vocab_bos(v) == 1 && tk_vocab_eos(v) == 32000, "bos %d eos %d", tk_vocab_bos(v), tk_vocab_eos(v));
    T_CHECK(tk_vocab_is_eog(v, 32000) && tk_vocab_is_eog(v, 32007), "<|endoftext|> and <|end|> end generation");
    T_CHECK(!tk_vocab_is_eog(v, 2), "'</s>' is USER_DEFINED here, not an end marker");
    T_CHECK(tk_vocab_type(v, 2) == TK_TOKEN_USER_DEFINED, "type of 2");
    /* "</s>" is user-defined: split out of plain text, and (Phi-3 rule) the
     * whitespace after it is dropped; the text after it gets the space prefix */
    int n, na, nb;
    int32_t *ids = tok(v, "Hello</s>  world", 16, 0, &n);
    int32_t *a = tok(v, "Hello", 5, 0, &na), *b = tok(v, "world", 5, 0, &nb);
    int32_t want[64];
    int nw = 0;
    for (int k = 0; k < na; k++) want[nw++] = a[k];
    want[nw++] = 2;
    for (int k = 0; k < nb; k++) want[nw++] = b[k];
    T_CHECK(ids_eq(ids, n, want, nw), "'Hello</s>  world' gives %d ids", n);
    free(ids), free(a), free(b);
    /* control-token text stays plain text */
    ids = tok(v, "<|end|>", 7, 0, &n);
    T_CHECK(n > 1, "'<|end|>' as text should not be one token");
    for (int k = 0; k < n; k++) T_CHECK(ids[k] != 32007, "control token produced from text");
    free(ids);
    ids = tok(v, "</s>", 4, 1, &n);
    T_CHECK(n == 2 && ids[0] == 1 && ids[1] == 2, "BOS + '</s>'");
    free(ids);
    char buf[16];
    T_CHECK(tk_vocab_piece(v, 2, buf, sizeof buf) == 4 && memcmp(buf, "</s>", 4) == 0, "user-defined piece is its text");
    T_CHECK(tk_vocab_piece(v, 32007, buf, sizeof buf) == 0, "control piece is empty");
    tk_vocab_free(v);
}

static void test_unsupported_model(void) {
    /* Unigram (T5, tokenizer model "t5") is not supported: a clean refusal
     * naming the model (WordPiece, "bert", is: test_bpe) */
    static const char *const toks[] = {"<pad>", "</s>", "<unk>", "\xe2\x96\x81\x61"};
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "t5");
    tg_kv_str(b, "tokenizer.ggml.model", "t5");
    tg_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 4);
    size_t size;
    unsigned char *data = tg_bytes(b, &size);
    tg_free(b);
    tk_gguf *g = NULL;
    tk_vocab *v = NULL;
    tk_error e = {0};
    int rc = tk_gguf_parse(&g, data, size, &e);
    T_CHECK(rc == TK_OK, "parse: %s", e.msg);
    if (!rc) rc = tk_vocab_from_gguf(&v, g, &e);
    T_CHECK(rc == TK_EUNSUPPORTED && !v, "rc %d", rc);
    T_CHECK(strstr(e.msg, "tokenizer model 't5' is not supported yet") != NULL, "message: %s", e.msg);
    tk_vocab_free(v);
    tk_gguf_free(g);
    free(data);
}

/* ---- malformed tokenizer.bin ---------------------------------------------------- */

static void put_i32(unsigned char *p, int32_t v) { memcpy(p, &v, 4); }

static void test_bad_llama2c(void) {
    const char *path = t_shared("models/tok512.bin", SHA_TOK512);
    if (!path) T_SKIP("../shared/models/tok512.bin missing or changed");
    size_t n;
    unsigned char *d = (unsigned char *)t_read(path, &n);
    if (!d) T_SKIP("cannot read tok512.bin");
    tk_vocab *v;
    tk_error e;
    int bad = 0;
    /* every proper prefix fails cleanly (a copy of exactly that size, so the
     * sanitizers see any read past the end) */
    for (size_t k = 0; k < n; k++) {
        unsigned char *c = malloc(k ? k : 1);
        memcpy(c, d, k);
        v = (tk_vocab *)1;
        e.msg[0] = 0;
        int rc = tk_vocab_from_llama2c(&v, c, k, 512, &e);
        if (rc != TK_EFORMAT || v != NULL || !e.msg[0]) bad++;
        free(c);
    }
    T_CHECK(bad == 0, "%d prefixes did not fail with TK_EFORMAT", bad);
    T_CHECK(tk_vocab_from_llama2c(&v, d, n, 512, &e) == TK_OK, "the whole file: %s", e.msg);
    tk_vocab_free(v);

    /* wrong token count, either way */
    T_CHECK(tk_vocab_from_llama2c(&v, d, n, 32000, &e) == TK_EFORMAT &&
                strstr(e.msg, "tokenizer has 512 tokens but the model expects 32000"), "fewer: %s", e.msg);
    T_CHECK(tk_vocab_from_llama2c(&v, d, n, 511, &e) == TK_EFORMAT && strstr(e.msg, "512 tokens but the model expects 511"),
            "more: %s", e.msg);
    T_CHECK(tk_vocab_from_llama2c(&v, d, n, 0, &e) == TK_EINVAL, "n_vocab 0");
    T_CHECK(tk_vocab_from_llama2c(&v, d, n, -5, &e) == TK_EINVAL, "n_vocab < 0");

    /* trailing garbage */
    unsigned char *c = malloc(n + 3);
    memcpy(c, d, n);
    memset(c + n, 0, 3);
    T_CHECK(tk_vocab_from_llama2c(&v, c, n + 3, 512, &e) == TK_EFORMAT, "trailing bytes");
    free(c);

    /* negative and huge lengths, in the first token and in the last */
    size_t last = 4;
    for (int i = 0; i < 511; i++) {
        int32_t l;
        memcpy(&l, d + last + 4, 4);
        last += 8 + (size_t)l;
    }
    size_t where[2] = {4, last};
    int32_t lens[3] = {-1, INT32_MIN, INT32_MAX};
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 3; k++) {
            c = malloc(n);
            memcpy(c, d, n);
            put_i32(c + where[w] + 4, lens[k]);
            v = (tk_vocab *)1;
            int rc = tk_vocab_from_llama2c(&v, c, n, 512, &e);
            T_CHECK(rc == TK_EFORMAT && v == NULL, "length %d at %zu: rc %d", lens[k], where[w], rc);
            free(c);
        }
    T_CHECK(tk_vocab_from_llama2c(&v, NULL, 0, 512, &e) == TK_EFORMAT, "no data");
    free(d);
}

/* ---- UTF-8 ---------------------------------------------------------------------- */

static void test_utf8_valid(void) {
    static const struct {
        const char *s;
        int n, ok, bad_at;
    } tv[] = {
        {"", 0, 1, 0},
        {"hello", 5, 1, 0},
        {"\xc3\xa9", 2, 1, 0},                     /* é */
        {"\xe2\x82\xac", 3, 1, 0},                 /* € */
        {"\xf0\x9f\x98\x80", 4, 1, 0},             /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, 1, 0},             /* U+10FFFF */
        {"\xed\x9f\xbf", 3, 1, 0},                 /* U+D7FF */
        {"\xee\x80\x80", 3, 1, 0},                 /* U+E000 */
        {"\xef\xbf\xbd", 3, 1, 0},                 /* U+FFFD */
        {"a\0b", 3, 1, 0},                         /* NUL is valid */
        {"\xc0\x80", 2, 0, 0},                     /* overlong NUL */
        {"\xc1\xbf", 2, 0, 0},                     /* overlong */
        {"\xe0\x80\x80", 3, 0, 0},                 /* overlong */
        {"\xe0\x9f\xbf", 3, 0, 0},                 /* overlong */
        {"\xf0\x8f\xbf\xbf", 4, 0, 0},             /* overlong */
        {"\xed\xa0\x80", 3, 0, 0},                 /* surrogate D800 */
        {"\xed\xbf\xbf", 3, 0, 0},                 /* surrogate DFFF */
        {"\xf4\x90\x80\x80", 4, 0, 0},             /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0, 0},
        {"\xff", 1, 0, 0},
        {"ab\x80", 3, 0, 2},                       /* stray continuation */
        {"\xe2\x82", 2, 0, 0},                     /* truncated */
        {"x\xf0\x9f\x98", 4, 0, 1},                 /* truncated */
        {"\xe2\x82x", 3, 0, 0},                    /* bad continuation */
        {"\xc3\xa9\xc3", 3, 0, 2},
    };
    for (size_t i = 0; i < sizeof tv / sizeof *tv; i++) {
        size_t bad = 12345;
        int ok = tk_utf8_valid(tv[i].s, (size_t)tv[i].n, &bad);
        T_CHECK(ok == tv[i].ok, "case %zu: valid %d, want %d", i, ok, tv[i].ok);
        if (!tv[i].ok) T_CHECK(bad == (size_t)tv[i].bad_at, "case %zu: bad_at %zu, want %d", i, bad, tv[i].bad_at);
    }
    T_CHECK(tk_utf8_valid("\xe2\x82", 2, NULL) == 0, "NULL bad_at");
}

/* Push s in the pieces cut at the bit positions of mask; returns the total
 * output (push + flush) in out and the number of bytes, checking that no
 * push emits an incomplete valid character. */
static int stream_run(const char *s, int n, unsigned mask, char *out, int *emitted_early) {
    tk_utf8_stream st = {{0}, 0};
    int o = 0, start = 0;
    *emitted_early = 0;
    for (int i = 1; i <= n; i++) {
        if (i == n || (mask >> (i - 1) & 1)) {
            char tmp[64];
            int k = tk_utf8_stream_push(&st, s + start, i - start, tmp);
            T_CHECK(k <= i - start + 4, "push wrote %d for %d bytes", k, i - start);
            if (k && !tk_utf8_valid(tmp, (size_t)k, NULL) && tk_utf8_valid(s, (size_t)n, NULL)) *emitted_early = 1;
            memcpy(out + o, tmp, (size_t)k);
            o += k;
            start = i;
        }
    }
    o += tk_utf8_stream_flush(&st, out + o);
    T_CHECK(st.n_pend == 0, "flush leaves %d pending", st.n_pend);
    return o;
}

static void test_utf8_stream(void) {
    /* a 4-byte emoji between ASCII, cut at every combination of points */
    static const char emoji[] = "a\xf0\x9f\x98\x80" "b";
    int n = 6;
    for (unsigned mask = 0; mask < (1u << (n - 1)); mask++) {
        char out[64];
        int early;
        int o = stream_run(emoji, n, mask, out, &early);
        T_CHECK(o == n && memcmp(out, emoji, (size_t)n) == 0, "mask %u: output differs", mask);
        T_CHECK(!early, "mask %u: half a character was emitted", mask);
    }
    /* pending bytes are held until complete */
    tk_utf8_stream st = {{0}, 0};
    char out[16];
    T_CHECK(tk_utf8_stream_push(&st, "\xf0\x9f", 2, out) == 0 && st.n_pend == 2, "held");
    T_CHECK(tk_utf8_stream_push(&st, "\x98", 1, out) == 0 && st.n_pend == 3, "held");
    T_CHECK(tk_utf8_stream_push(&st, "\x80!", 2, out) == 5 && memcmp(out, "\xf0\x9f\x98\x80!", 5) == 0, "complete");
    /* flush of an incomplete tail gives it back as is */
    T_CHECK(tk_utf8_stream_push(&st, "\xe2\x82", 2, out) == 0, "held");
    T_CHECK(tk_utf8_stream_flush(&st, out) == 2 && memcmp(out, "\xe2\x82", 2) == 0, "flush");
    T_CHECK(tk_utf8_stream_flush(&st, out) == 0, "second flush");
    /* a sequence that can no longer complete is passed through at once */
    T_CHECK(tk_utf8_stream_push(&st, "\xe2\x82x", 3, out) == 3 && memcmp(out, "\xe2\x82x", 3) == 0, "broken");
    T_CHECK(tk_utf8_stream_push(&st, "\xe2", 1, out) == 0, "held");
    T_CHECK(tk_utf8_stream_push(&st, "\xe2\x82\xac", 3, out) == 4 && memcmp(out, "\xe2\xe2\x82\xac", 4) == 0,
            "new lead after an unfinished one");
    T_CHECK(tk_utf8_stream_push(&st, "\xff\x80\xc0", 3, out) == 3, "invalid bytes pass through");
    T_CHECK(tk_utf8_stream_push(&st, "\xed\xa0", 2, out) == 2 && st.n_pend == 0, "surrogate start passes through");
    /* nothing is ever lost, whatever the bytes and the cuts */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 2000; round++) {
        char s[12], o2[64];
        for (int i = 0; i < 12; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            static const unsigned char pool[] = {'a', 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0xed, 0xff};
            s[i] = (char)pool[x % sizeof pool];
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int early;
        int o = stream_run(s, 12, (unsigned)x & 0x7ff, o2, &early);
        T_CHECK(o == 12 && memcmp(o2, s, 12) == 0, "round %d loses bytes", round);
    }
}

/* ---- synthetic GGUF vocabularies (tests/util_gguf.h) ------------------------------ */

#define SP "\xe2\x96\x81"

/* A vocab from tokens (+ optional scores, types) and a few extra keys;
 * returns the tk_vocab_from_gguf status, *out the vocab (or NULL). */
typedef struct {
    const char *model;         /* NULL: no tokenizer.ggml.model key */
    const char *const *tok;
    int n;
    const float *score;        /* NULL: no key */
    int n_score;
    const int32_t *type;       /* NULL: no key */
    int n_type;
    int add_space_prefix;      /* -1: no key */
    int add_bos;               /* -1: no key */
    int64_t bos;               /* -1: no key; else written as u32 */
    const char *name;          /* general.name, NULL: none */
} synth;

static int synth_vocab(const synth *sy, tk_vocab **out, tk_error *e) {
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "llama");
    if (sy->name) tg_kv_str(b, "general.name", sy->name);
    if (sy->model) tg_kv_str(b, "tokenizer.ggml.model", sy->model);
    if (sy->tok) tg_kv_arr_str(b, "tokenizer.ggml.tokens", sy->tok, (size_t)sy->n);
    if (sy->score) tg_kv_arr_f32(b, "tokenizer.ggml.scores", sy->score, (size_t)sy->n_score);
    if (sy->type) tg_kv_arr_i32(b, "tokenizer.ggml.token_type", sy->type, (size_t)sy->n_type);
    if (sy->add_space_prefix >= 0) tg_kv_bool(b, "tokenizer.ggml.add_space_prefix", sy->add_space_prefix);
    if (sy->add_bos >= 0) tg_kv_bool(b, "tokenizer.ggml.add_bos_token", sy->add_bos);
    if (sy->bos >= 0) tg_kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)sy->bos);
    tg_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
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

static int tok_is(const tk_vocab *v, const char *text, int bos, const int32_t *want, int nw) {
    int n;
    int32_t *ids = tok(v, text, strlen(text), bos, &n);
    int ok = ids_eq(ids, n, want, nw);
    if (!ok) {
        printf("  '%s' ->", text);
        for (int k = 0; k < n; k++) printf(" %d", ids[k]);
        printf("\n");
    }
    free(ids);
    return ok;
}

static void test_synthetic(void) {
    static const char *const toks[] = {"<unk>", "<s>", "</s>", SP, "a", "b", "ab", SP "ab", "<0x41>",
                                       "<|im_end|>", "<|user|>", "c", "bc", ""};
    static const int32_t types[15] = {2, 3, 3, 1, 1, 1, 1, 1, 6, 3, 4, 1, 1, 1, 1}; /* one spare */
    float sc[14] = {0};
    synth sy = {"llama", toks, 14, sc, 14, types, 14, -1, -1, -1, NULL};
    tk_vocab *v;
    tk_error e = {0};
    int rc = synth_vocab(&sy, &v, &e);
    T_CHECK(rc == TK_OK, "%d %s", rc, e.msg);
    if (rc) return;
    T_CHECK(tk_vocab_bos(v) == 1 && tk_vocab_eos(v) == 2 && tk_vocab_add_bos(v), "defaults");
    T_CHECK(tk_vocab_is_eog(v, 2) && tk_vocab_is_eog(v, 9) && !tk_vocab_is_eog(v, 10), "eog: eos and <|im_end|>");
    T_CHECK(tok_is(v, "ab", 1, (const int32_t[]){1, 7}, 2), "'ab' with BOS");
    T_CHECK(tok_is(v, "A", 0, (const int32_t[]){3, 8}, 2), "byte fallback");
    T_CHECK(tok_is(v, "d", 0, (const int32_t[]){3, 0}, 2), "no byte token: UNK");
    /* equal scores: the leftmost pair merges first */
    T_CHECK(tok_is(v, "xabc", 0, (const int32_t[]){3, 0, 6, 11}, 4), "tie -> leftmost");
    T_CHECK(tok_is(v, "<|user|>ab", 0, (const int32_t[]){10, 7}, 2), "user-defined split, then the space prefix");
    T_CHECK(tok_is(v, "ab<|user|>", 0, (const int32_t[]){7, 10}, 2), "user-defined at the end");
    /* control-token text stays text */
    int n;
    int32_t *ids = tok(v, "<|im_end|>", 10, 0, &n);
    for (int k = 0; k < n; k++) T_CHECK(ids[k] != 9, "control token from text");
    free(ids);
    int l;
    T_CHECK(tk_vocab_text(v, 13, &l) != NULL && l == 0, "empty token text kept");
    char buf[8];
    T_CHECK(tk_vocab_piece(v, 13, buf, sizeof buf) == 0 && tk_vocab_piece(v, 10, buf, sizeof buf) == 8, "pieces");
    tk_vocab_free(v);

    /* a higher score wins over position */
    sc[12] = 1.0f;
    rc = synth_vocab(&sy, &v, &e);
    T_CHECK(rc == TK_OK && tok_is(v, "xabc", 0, (const int32_t[]){3, 0, 4, 12}, 4), "score order");
    tk_vocab_free(v);
    sc[12] = 0;

    /* no space prefix, no BOS, no scores, no types */
    synth s2 = {"llama", toks, 13, NULL, 0, NULL, 0, 0, 0, -1, NULL};
    rc = synth_vocab(&s2, &v, &e);
    T_CHECK(rc == TK_OK, "%s", e.msg);
    if (v) {
        T_CHECK(!tk_vocab_add_bos(v) && tk_vocab_type(v, 0) == TK_TOKEN_NORMAL && tk_vocab_score(v, 4) == 0, "flags");
        T_CHECK(tok_is(v, "ab", 0, (const int32_t[]){6}, 1), "no prefix");
        T_CHECK(tok_is(v, "a b", 0, (const int32_t[]){4, 3, 5}, 3), "inner space");
        T_CHECK(!tk_vocab_is_eog(v, 9), "NORMAL <|im_end|> is text, not EOG");
    }
    tk_vocab_free(v);

    /* Phi-3 rule: whitespace after a user-defined token is dropped */
    synth s3 = sy;
    s3.name = "Phi3";
    rc = synth_vocab(&s3, &v, &e);
    T_CHECK(rc == TK_OK && tok_is(v, "<|user|> \n ab", 0, (const int32_t[]){10, 7}, 2), "phi3 rstrip");
    tk_vocab_free(v);
    rc = synth_vocab(&sy, &v, &e);
    T_CHECK(rc == TK_OK && tok_is(v, "<|user|> ab", 0, (const int32_t[]){10, 3, 7}, 3), "no rstrip otherwise");
    tk_vocab_free(v);

    /* user-defined tokens: the longest is split out first */
    static const char *const udt[] = {"<unk>", "<s>", "</s>", SP, "xy", "xyz", "z"};
    static const int32_t udty[] = {2, 3, 3, 1, 4, 4, 1};
    synth s5 = {"llama", udt, 7, NULL, 0, udty, 7, -1, -1, -1, NULL};
    rc = synth_vocab(&s5, &v, &e);
    T_CHECK(rc == TK_OK && tok_is(v, "xyzxy", 0, (const int32_t[]){5, 4}, 2), "longest first");
    T_CHECK(rc == TK_OK && tok_is(v, "z xy", 0, (const int32_t[]){3, 6, 3, 4}, 4), "raw text before");
    tk_vocab_free(v);

    /* special ids: out of range or "none" keep the default */
    synth s4 = sy;
    s4.bos = 0xFFFFFFFFu;
    rc = synth_vocab(&s4, &v, &e);
    T_CHECK(rc == TK_OK && tk_vocab_bos(v) == 1, "bos 0xFFFFFFFF");
    tk_vocab_free(v);
    s4.bos = 5;
    rc = synth_vocab(&s4, &v, &e);
    T_CHECK(rc == TK_OK && tk_vocab_bos(v) == 5, "bos 5");
    tk_vocab_free(v);

    /* errors */
    synth bad = sy;
    bad.model = "gpt2";
    T_CHECK(synth_vocab(&bad, &v, &e) == TK_EUNSUPPORTED && !v && strstr(e.msg, "'gpt2' is not supported"), "%s", e.msg);
    bad = sy, bad.model = NULL;
    T_CHECK(synth_vocab(&bad, &v, &e) == TK_EFORMAT && !v, "no model: %s", e.msg);
    bad = sy, bad.tok = NULL;
    T_CHECK(synth_vocab(&bad, &v, &e) == TK_EFORMAT && !v, "no tokens: %s", e.msg);
    bad = sy, bad.n_score = 13;
    T_CHECK(synth_vocab(&bad, &v, &e) == TK_EFORMAT && !v && strstr(e.msg, "scores"), "scores: %s", e.msg);
    bad = sy, bad.n_type = 15;
    T_CHECK(synth_vocab(&bad, &v, &e) == TK_EFORMAT && !v && strstr(e.msg, "token_type"), "types: %s", e.msg);
    static const char *const dup[] = {"<unk>", "<s>", "</s>", "a", "b", "a"};
    bad = (synth){"llama", dup, 6, NULL, 0, NULL, 0, -1, -1, -1, NULL};
    T_CHECK(synth_vocab(&bad, &v, &e) == TK_EFORMAT && !v && strstr(e.msg, "duplicate"), "dup: %s", e.msg);
    static const char *const one[] = {"a"};
    bad = (synth){"llama", one, 1, NULL, 0, NULL, 0, -1, -1, -1, NULL};
    rc = synth_vocab(&bad, &v, &e);
    T_CHECK(rc == TK_OK && tk_vocab_bos(v) == -1 && !tk_vocab_add_bos(v) && tk_vocab_eos(v) == -1, "1 token: %s", e.msg);
    /* no BOS to add; "▁" has no token and no byte tokens: 3 x UNK, then a */
    T_CHECK(rc == TK_OK && tok_is(v, "a", 1, (const int32_t[]){0, 0, 0, 0}, 4), "no BOS to add");
    tk_vocab_free(v);
}

int main(void) {
    T_RUN(test_utf8_valid);
    T_RUN(test_utf8_stream);
    T_RUN(test_vectors_llama_spm);
    T_RUN(test_vectors_phi3);
    T_RUN(test_vectors_llama2_bin);
    T_RUN(test_tok512);
    T_RUN(test_pieces);
    T_RUN(test_bytes_and_long);
    T_RUN(test_phi3_specials);
    T_RUN(test_unsupported_model);
    T_RUN(test_bad_llama2c);
    T_RUN(test_synthetic);
    return t_done();
}
