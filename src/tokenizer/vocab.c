/* vocab.c: building a tk_vocab (from GGUF metadata or a llama2.c
 * tokenizer.bin) and its accessors.
 *
 * Both sources end up in the same shape, the GGUF one (as llama.cpp keeps
 * it): token texts with "▁" (U+2581) for a space, byte-fallback tokens as
 * "<0xNN>" typed BYTE, "<s>" / "</s>" typed CONTROL, "<unk>" UNKNOWN. So the
 * Llama 2 vocab gives the same ids whichever file it came from.
 *
 * The text -> id map is an open-addressing hash table (linear probing,
 * FNV-1a, load factor <= 1/2) sized from the vocabulary and owned by it.
 * Like current llama.cpp, a vocabulary with two tokens of the same text is
 * rejected (the map would be ambiguous). */
#include "vocab_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

#define MAX_TOKENS (1 << 24)
static const char SPACE_ESC[] = "\xe2\x96\x81"; /* "▁" U+2581 */

/* ---- building ----------------------------------------------------------- */

static tk_vocab *vocab_new(int n, size_t blob_bytes) {
    tk_vocab *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->n = n;
    v->blob = malloc(blob_bytes ? blob_bytes : 1);
    v->off = calloc((size_t)n, sizeof *v->off);
    v->len = calloc((size_t)n, sizeof *v->len);
    v->score = calloc((size_t)n, sizeof *v->score);
    v->type = calloc((size_t)n, 1);
    v->eog = calloc((size_t)n, 1);
    v->bos = v->eos = v->unk = v->eot = v->pad = -1;
    if (!v->blob || !v->off || !v->len || !v->score || !v->type || !v->eog) {
        tk_vocab_free(v);
        return NULL;
    }
    return v;
}

void tk_vocab_free(tk_vocab *v) {
    if (!v) return;
    free(v->blob), free(v->off), free(v->len), free(v->score), free(v->type), free(v->eog);
    free(v->slot), free(v->slot_hash), free(v->ud), free(v->ud_flags), free(v->sp), free(v->sp_flags);
    free(v->chat_template);
    tk_bpe_free(v->bpe);
    free(v);
}

static int is_byte_text(const char *s, size_t n, int *byte) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return 0;
    int val = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return 0;
        val = val * 16 + d;
    }
    *byte = val;
    return 1;
}

/* Order of the user-defined tokens: longest text first, then lowest id
 * (llama.cpp sorts its special-token cache by length; ties are left in an
 * unspecified order there, here they are made deterministic). Sorted as
 * keys (~len << 32 | id). */
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int sort_ud(const tk_vocab *v, int32_t *ids, int n) {
    uint64_t *key = malloc((size_t)n * sizeof *key);
    if (!key) return -1;
    for (int i = 0; i < n; i++) key[i] = (uint64_t)(UINT32_MAX - v->len[ids[i]]) << 32 | (uint32_t)ids[i];
    qsort(key, (size_t)n, sizeof *key, cmp_u64);
    for (int i = 0; i < n; i++) ids[i] = (int32_t)(key[i] & 0xffffffffu);
    free(key);
    return 0;
}

static int text_is(const tk_vocab *v, int id, const char *s) {
    size_t n = strlen(s);
    return v->len[id] == n && memcmp(v->blob + v->off[id], s, n) == 0;
}

/* After texts, scores, types and special ids are in: build the hash map,
 * the byte table, the user-defined list and the end-of-generation set.
 * phi3 turns on llama.cpp's Phi-3 rule (user-defined tokens strip the
 * whitespace that follows them). */
static int vocab_finish(tk_vocab *v, int phi3, tk_error *e) {
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)v->n) cap <<= 1;
    v->mask = cap - 1;
    v->slot = malloc((size_t)cap * sizeof *v->slot);
    v->slot_hash = malloc((size_t)cap * sizeof *v->slot_hash);
    if (!v->slot || !v->slot_hash) return tk_err(e, TK_ENOMEM, "out of memory for the vocabulary");
    memset(v->slot, 0xff, (size_t)cap * sizeof *v->slot);

    v->max_len = 0;
    for (int id = 0; id < v->n; id++)
        if (v->len[id] > v->max_len) v->max_len = v->len[id];

    for (int id = 0; id < v->n; id++) {
        const char *s = v->blob + v->off[id];
        uint32_t n = v->len[id];
        if (n == 0) continue; /* an empty text can never be looked up */
        uint32_t h = tk_vocab_hash(s, n), i = h & v->mask;
        for (; v->slot[i] >= 0; i = (i + 1) & v->mask) {
            int32_t o = v->slot[i];
            if (v->slot_hash[i] == h && v->len[o] == n && memcmp(v->blob + v->off[o], s, n) == 0)
                return tk_err(e, TK_EFORMAT, "duplicate token in vocabulary: '%.*s' has ids %d and %d",
                              (int)(n > 64 ? 64 : n), s, o, id);
        }
        v->slot[i] = id;
        v->slot_hash[i] = h;
    }

    /* byte fallback: "<0xNN>" (uppercase hex, as llama.cpp looks it up),
     * else a token whose text is that single byte, else none (-> UNK). */
    for (int b = 0; b < 256; b++) {
        static const char hex[] = "0123456789ABCDEF";
        char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char one = (char)b;
        int32_t id = tk_vocab_find(v, buf, 6);
        v->byte_id[b] = id >= 0 ? id : tk_vocab_find(v, &one, 1);
    }

    /* isolated ASCII bytes: in no token longer than one byte (spm.c cuts
     * the merging into independent segments at them) */
    for (int b = 0; b < 128; b++) v->isolated[b] = 1;
    for (int id = 0; id < v->n; id++) {
        const unsigned char *s = (const unsigned char *)v->blob + v->off[id];
        if (v->len[id] > 1)
            for (uint32_t i = 0; i < v->len[id]; i++) v->isolated[s[i]] = 0;
    }
    for (int b = 128; b < 256; b++) v->isolated[b] = 0;

    /* user-defined tokens are split out of the input even with special-token
     * parsing off (llama.cpp and Hugging Face both do this); with it on, the
     * control and unknown ones too (the same order and flags) */
    v->n_ud = v->n_sp = 0;
    for (int id = 0; id < v->n; id++) {
        int t = v->type[id];
        if (v->len[id] == 0) continue;
        if (t == TK_TOKEN_USER_DEFINED) v->n_ud++;
        if (t == TK_TOKEN_USER_DEFINED || t == TK_TOKEN_CONTROL || t == TK_TOKEN_UNKNOWN) v->n_sp++;
    }
    if (v->n_ud) {
        v->ud = malloc((size_t)v->n_ud * sizeof *v->ud);
        v->ud_flags = calloc((size_t)v->n_ud, 1);
        if (!v->ud || !v->ud_flags) return tk_err(e, TK_ENOMEM, "out of memory for the vocabulary");
        int k = 0;
        for (int id = 0; id < v->n; id++)
            if (v->type[id] == TK_TOKEN_USER_DEFINED && v->len[id] > 0) v->ud[k++] = id;
        if (sort_ud(v, v->ud, v->n_ud)) return tk_err(e, TK_ENOMEM, "out of memory for the vocabulary");
        for (int i = 0; i < v->n_ud && phi3; i++) {
            int id = v->ud[i];
            if (!text_is(v, id, "<unk>") && !text_is(v, id, "<s>") && !text_is(v, id, "<|endoftext|>"))
                v->ud_flags[i] |= TK_UD_RSTRIP;
        }
    }
    if (v->n_sp) {
        v->sp = malloc((size_t)v->n_sp * sizeof *v->sp);
        v->sp_flags = calloc((size_t)v->n_sp, 1);
        if (!v->sp || !v->sp_flags) return tk_err(e, TK_ENOMEM, "out of memory for the vocabulary");
        int k = 0;
        for (int id = 0; id < v->n; id++) {
            int t = v->type[id];
            if (v->len[id] > 0 && (t == TK_TOKEN_USER_DEFINED || t == TK_TOKEN_CONTROL || t == TK_TOKEN_UNKNOWN))
                v->sp[k++] = id;
        }
        if (sort_ud(v, v->sp, v->n_sp)) return tk_err(e, TK_ENOMEM, "out of memory for the vocabulary");
        for (int i = 0; i < v->n_sp && phi3; i++) {
            int id = v->sp[i];
            if (!text_is(v, id, "<unk>") && !text_is(v, id, "<s>") && !text_is(v, id, "<|endoftext|>"))
                v->sp_flags[i] |= TK_UD_RSTRIP;
        }
    }

    /* end of generation: EOS, EOT, and control tokens spelled like an end
     * marker (llama.cpp matches these by text; it also forces non-control
     * tokens so spelled to control, which we do not: a NORMAL "</s>" is text) */
    static const char *const eog_text[] = {
        "</s>", "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
        "<|eom_id|>", "<|end_of_text|>", "<EOT>", "<end_of_utterance>",
    };
    for (size_t k = 0; k < sizeof eog_text / sizeof *eog_text; k++) {
        int32_t id = tk_vocab_find(v, eog_text[k], strlen(eog_text[k]));
        if (id >= 0 && v->type[id] == TK_TOKEN_CONTROL) v->eog[id] = 1;
    }
    if (v->eos >= 0) v->eog[v->eos] = 1;
    if (v->eot >= 0) v->eog[v->eot] = 1;

    if (v->bos < 0) v->add_bos = 0;
    return TK_OK;
}

/* ---- from GGUF ------------------------------------------------------------ */

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES "tokenizer.ggml.token_type"
#define KEY_PRE "tokenizer.ggml.pre"

/* Optional special id: absent, of a non-integer type or out of range ->
 * keep *id (llama.cpp warns and keeps its default). */
static void get_special(const tk_gguf *g, const char *key, int n, int *id) {
    uint32_t u;
    if (tk_gguf_find(g, key) < 0) return;
    if (tk_gguf_get_u32(g, key, &u, NULL) == TK_OK && u < (uint32_t)n) *id = (int)u;
}

static int get_flag(const tk_gguf *g, const char *key, int *val, tk_error *e) {
    if (tk_gguf_find(g, key) < 0) return TK_OK;
    return tk_gguf_get_bool(g, key, val, e);
}

/* Optional numeric array of exactly n entries. */
static int check_arr(const tk_gguf *g, const char *key, uint64_t n, int want_int, int *present, tk_error *e) {
    int et, rc;
    uint64_t cnt;
    *present = 0;
    if (tk_gguf_find(g, key) < 0) return TK_OK;
    if ((rc = tk_gguf_get_arr(g, key, &et, &cnt, e))) return rc;
    int is_int = et == TK_GGUF_UINT8 || et == TK_GGUF_INT8 || et == TK_GGUF_UINT16 || et == TK_GGUF_INT16 ||
                 et == TK_GGUF_UINT32 || et == TK_GGUF_INT32 || et == TK_GGUF_UINT64 || et == TK_GGUF_INT64;
    int is_num = is_int || et == TK_GGUF_FLOAT32 || et == TK_GGUF_FLOAT64;
    if (want_int ? !is_int : !is_num)
        return tk_err(e, TK_EFORMAT, "%s: expected an array of %s, got element type %d", key,
                      want_int ? "integers" : "numbers", et);
    if (cnt != n)
        return tk_err(e, TK_EFORMAT, "%s has %llu entries but %s has %llu", key, (unsigned long long)cnt,
                      KEY_TOKENS, (unsigned long long)n);
    *present = 1;
    return TK_OK;
}

/* The next string of a GGUF string array: u64 LE length, then the bytes. */
static int next_str(const unsigned char **pp, const unsigned char *end, const char **s, uint64_t *len, int i, tk_error *e) {
    const unsigned char *p = *pp;
    if (end - p < 8) return tk_err(e, TK_EFORMAT, "%s: token %d is cut off", KEY_TOKENS, i);
    uint64_t l = 0;
    for (int k = 7; k >= 0; k--) l = l << 8 | p[k];
    if (l > (uint64_t)(end - p - 8)) return tk_err(e, TK_EFORMAT, "%s: token %d is cut off", KEY_TOKENS, i);
    *s = (const char *)p + 8, *len = l;
    *pp = p + 8 + l;
    return TK_OK;
}

/* 1 if s[0..n) contains the lowercase ASCII word w, ignoring ASCII case. */
static int contains_ci(const char *s, uint64_t n, const char *w) {
    size_t wl = strlen(w);
    for (uint64_t i = 0; i + wl <= n; i++) {
        size_t k = 0;
        for (; k < wl; k++) {
            char c = s[i + k];
            if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
            if (c != w[k]) break;
        }
        if (k == wl) return 1;
    }
    return 0;
}

int tk_vocab_from_gguf(tk_vocab **out, const tk_gguf *g, tk_error *e) {
    const char *model, *s;
    uint64_t mlen, n64, slen;
    int et, rc, has_scores, has_types;
    *out = NULL;

    if (tk_gguf_find(g, KEY_MODEL) < 0) return tk_err(e, TK_EFORMAT, "no tokenizer in the file (%s is missing)", KEY_MODEL);
    if ((rc = tk_gguf_get_str(g, KEY_MODEL, &model, &mlen, e))) return rc;
    int is_bpe = mlen == 4 && memcmp(model, "gpt2", 4) == 0;
    int is_wpm = mlen == 4 && memcmp(model, "bert", 4) == 0;
    if (!is_bpe && !is_wpm && (mlen != 5 || memcmp(model, "llama", 5) != 0))
        return tk_err(e, TK_EUNSUPPORTED, "tokenizer model '%.*s' is not supported yet", (int)(mlen > 64 ? 64 : mlen), model);

    if (tk_gguf_find(g, KEY_TOKENS) < 0) return tk_err(e, TK_EFORMAT, "no token list in the file (%s is missing)", KEY_TOKENS);
    if ((rc = tk_gguf_get_arr(g, KEY_TOKENS, &et, &n64, e))) return rc;
    if (et != TK_GGUF_STRING) return tk_err(e, TK_EFORMAT, "%s: expected an array of strings, got element type %d", KEY_TOKENS, et);
    if (n64 == 0 || n64 > MAX_TOKENS)
        return tk_err(e, TK_EFORMAT, "%s: %llu tokens (expected 1..%d)", KEY_TOKENS, (unsigned long long)n64, MAX_TOKENS);
    if ((rc = check_arr(g, KEY_SCORES, n64, 0, &has_scores, e))) return rc;
    if ((rc = check_arr(g, KEY_TYPES, n64, 1, &has_types, e))) return rc;
    int n = (int)n64;

    /* The token texts are walked straight through the array's bytes (u64
     * length + bytes each, every length checked against what is left), one
     * pass to size the blob and one to copy, so loading is O(n) whatever
     * the cost of random access into a string array. */
    tk_gguf_value arr;
    if (tk_gguf_value_of(g, tk_gguf_find(g, KEY_TOKENS), &arr) != TK_OK || arr.type != TK_GGUF_ARRAY)
        return tk_err(e, TK_EFORMAT, "%s: cannot read the array", KEY_TOKENS);
    uint64_t blob = 0;
    const unsigned char *p = arr.p;
    for (int i = 0; i < n; i++) {
        if ((rc = next_str(&p, arr.p + arr.size, &s, &slen, i, e))) return rc;
        blob += slen + 1;
        if (slen >= UINT32_MAX / 2 || blob >= UINT32_MAX) return tk_err(e, TK_EFORMAT, "%s: token texts too long", KEY_TOKENS);
    }
    /* byte-level BPE: the merges and the pre-tokenizer */
    struct tk_bpe *bpe = NULL;
    if (is_bpe) {
        const char *pre = NULL;
        uint64_t plen = 0;
        if (tk_gguf_find(g, KEY_PRE) >= 0 && (rc = tk_gguf_get_str(g, KEY_PRE, &pre, &plen, e))) return rc;
        if ((rc = tk_bpe_new(&bpe, g, pre, (size_t)plen, e))) return rc;
    }
    tk_vocab *v = vocab_new(n, (size_t)blob);
    if (!v) {
        tk_bpe_free(bpe);
        return tk_err(e, TK_ENOMEM, "out of memory for a vocabulary of %d tokens", n);
    }
    v->bpe = bpe;
    v->wpm = is_wpm;

    uint32_t pos = 0;
    p = arr.p;
    for (int i = 0; i < n; i++) {
        double d = 0;
        int64_t t = TK_TOKEN_NORMAL;
        next_str(&p, arr.p + arr.size, &s, &slen, i, NULL);
        if (slen) memcpy(v->blob + pos, s, slen);
        v->blob[pos + slen] = 0;
        v->off[i] = pos, v->len[i] = (uint32_t)slen;
        pos += (uint32_t)slen + 1;
        if (has_scores && tk_gguf_arr_f64(g, KEY_SCORES, (uint64_t)i, &d) != TK_OK) {
            tk_vocab_free(v);
            return tk_err(e, TK_EFORMAT, "%s: cannot read entry %d", KEY_SCORES, i);
        }
        if (has_types && tk_gguf_arr_i64(g, KEY_TYPES, (uint64_t)i, &t) != TK_OK) {
            tk_vocab_free(v);
            return tk_err(e, TK_EFORMAT, "%s: cannot read entry %d", KEY_TYPES, i);
        }
        v->score[i] = (float)d;
        v->type[i] = t >= 1 && t <= 6 ? (uint8_t)t : 0; /* 0: undefined */
    }

    /* llama.cpp's defaults for the "llama" (SPM) model, or for "gpt2"
     * (BPE: BOS = EOS = 11, no UNK, no BOS added except for Llama 3 style
     * pre-tokenizers), then the file's keys */
    if (bpe) {
        v->bos = v->eos = 11 < n ? 11 : -1;
        v->unk = -1;
    } else if (is_wpm) {
        /* llama.cpp's "bert": [CLS] 101 as BOS, [SEP] 102 ends, [UNK] 100,
         * [PAD] 0; files name them cls / seperator (sic) token ids */
        v->bos = 101 < n ? 101 : -1;
        v->eos = 102 < n ? 102 : -1;
        v->unk = 100 < n ? 100 : -1;
        v->pad = 0;
        get_special(g, "tokenizer.ggml.cls_token_id", n, &v->bos);
        get_special(g, "tokenizer.ggml.seperator_token_id", n, &v->eos);
    } else {
        v->bos = 1 < n ? 1 : -1;
        v->eos = 2 < n ? 2 : -1;
        v->unk = 0;
    }
    get_special(g, "tokenizer.ggml.bos_token_id", n, &v->bos);
    get_special(g, "tokenizer.ggml.eos_token_id", n, &v->eos);
    get_special(g, "tokenizer.ggml.unknown_token_id", n, &v->unk);
    get_special(g, "tokenizer.ggml.eot_token_id", n, &v->eot);
    get_special(g, "tokenizer.ggml.padding_token_id", n, &v->pad);
    v->add_bos = bpe ? tk_bpe_default_add_bos(bpe) : 1, v->add_space_prefix = bpe || is_wpm ? 0 : 1;
    if ((rc = get_flag(g, "tokenizer.ggml.add_bos_token", &v->add_bos, e)) ||
        (rc = get_flag(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, e))) {
        tk_vocab_free(v);
        return rc;
    }
    memcpy(v->model, bpe ? "gpt2" : is_wpm ? "bert" : "llama", bpe || is_wpm ? 5 : 6);
    if (tk_gguf_find(g, "tokenizer.chat_template") >= 0) {
        if ((rc = tk_gguf_get_str(g, "tokenizer.chat_template", &s, &slen, e)) ||
            (rc = tk_vocab_set_chat_template(v, s, (size_t)slen, e))) {
            tk_vocab_free(v);
            return rc;
        }
    }

    /* llama.cpp gives Phi-3 vocabularies (general.name contains "phi-3" or
     * "phi3", any case) strip-right on their user-defined tokens. */
    int phi3 = 0;
    const char *name;
    uint64_t nlen;
    if (tk_gguf_find(g, "general.name") >= 0 && tk_gguf_get_str(g, "general.name", &name, &nlen, NULL) == TK_OK)
        phi3 = contains_ci(name, nlen, "phi3") || contains_ci(name, nlen, "phi-3");
    if ((rc = vocab_finish(v, phi3, e))) {
        tk_vocab_free(v);
        return rc;
    }
    *out = v;
    return TK_OK;
}

/* ---- from llama2.c tokenizer.bin ---------------------------------------------
 *
 *   int32 max_token_length
 *   n_vocab x { f32 score | int32 len | len bytes (no NUL) }
 *
 * llama2.c's exporter wrote SentencePiece's "▁" as a plain space and BOS /
 * EOS as "\n<s>\n" / "\n</s>\n"; undo that so the texts match GGUF. */

static int32_t rd_i32(const unsigned char *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t i;
    memcpy(&i, &u, 4);
    return i;
}

static float rd_f32(const unsigned char *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The GGUF-convention text and type of one llama2.c piece; writes the text
 * to dst if non-NULL and returns its length. */
static size_t map_piece(const char *s, size_t n, char *dst, int *type) {
    int b;
    const char *lit = NULL;
    *type = TK_TOKEN_NORMAL;
    if (n == 5 && memcmp(s, "\n<s>\n", 5) == 0) lit = "<s>", *type = TK_TOKEN_CONTROL;
    else if (n == 6 && memcmp(s, "\n</s>\n", 6) == 0) lit = "</s>", *type = TK_TOKEN_CONTROL;
    else if (n == 5 && memcmp(s, "<unk>", 5) == 0) lit = "<unk>", *type = TK_TOKEN_UNKNOWN;
    else if (is_byte_text(s, n, &b)) *type = TK_TOKEN_BYTE;
    if (lit) {
        size_t l = strlen(lit);
        if (dst) memcpy(dst, lit, l);
        return l;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' && *type == TK_TOKEN_NORMAL) {
            if (dst) memcpy(dst + o, SPACE_ESC, 3);
            o += 3;
        } else {
            if (dst) dst[o] = s[i];
            o++;
        }
    }
    return o;
}

int tk_vocab_from_llama2c(tk_vocab **out, const void *data, size_t size, int n_vocab, tk_error *e) {
    const unsigned char *p = data;
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > MAX_TOKENS)
        return tk_err(e, TK_EINVAL, "tokenizer: the model's vocabulary size %d is out of range", n_vocab);
    if (!p || size < 4) return tk_err(e, TK_EFORMAT, "tokenizer is too short (%zu bytes)", size);

    /* pass 1: walk every entry, checking each length against what is left,
     * count the tokens and size the text blob */
    size_t pos = 4, blob = 0;
    long count = 0;
    while (pos < size) {
        if (size - pos < 8)
            return tk_err(e, TK_EFORMAT, "tokenizer: token %ld is cut off (%zu bytes left at offset %zu)", count, size - pos, pos);
        int32_t len = rd_i32(p + pos + 4);
        if (len < 0) return tk_err(e, TK_EFORMAT, "tokenizer: token %ld has a negative length (%d)", count, (int)len);
        if ((size_t)len > size - pos - 8)
            return tk_err(e, TK_EFORMAT, "tokenizer: token %ld has length %d but only %zu bytes are left", count, (int)len, size - pos - 8);
        if (count < n_vocab) {
            int type;
            blob += map_piece((const char *)p + pos + 8, (size_t)len, NULL, &type) + 1;
        }
        pos += 8 + (size_t)len;
        count++;
    }
    if (count != n_vocab)
        return tk_err(e, TK_EFORMAT, "tokenizer has %ld tokens but the model expects %d", count, n_vocab);
    if (blob >= UINT32_MAX) return tk_err(e, TK_EFORMAT, "tokenizer: token texts too long");

    tk_vocab *v = vocab_new(n_vocab, blob);
    if (!v) return tk_err(e, TK_ENOMEM, "out of memory for a vocabulary of %d tokens", n_vocab);
    pos = 4;
    uint32_t o = 0;
    for (int i = 0; i < n_vocab; i++) {
        int32_t len = rd_i32(p + pos + 4);
        int type;
        size_t l = map_piece((const char *)p + pos + 8, (size_t)len, v->blob + o, &type);
        v->blob[o + l] = 0;
        v->off[i] = o, v->len[i] = (uint32_t)l;
        o += (uint32_t)l + 1;
        v->score[i] = rd_f32(p + pos);
        v->type[i] = (uint8_t)type;
        pos += 8 + (size_t)len;
    }
    v->bos = n_vocab > 1 ? 1 : -1;
    v->eos = n_vocab > 2 ? 2 : -1;
    v->unk = 0;
    v->add_bos = 1, v->add_space_prefix = 1;
    memcpy(v->model, "llama", 6);
    int rc = vocab_finish(v, 0, e);
    if (rc) {
        tk_vocab_free(v);
        return rc;
    }
    *out = v;
    return TK_OK;
}

/* ---- accessors ------------------------------------------------------------- */

int tk_vocab_n(const tk_vocab *v) { return v->n; }
int tk_vocab_bos(const tk_vocab *v) { return v->bos; }
int tk_vocab_eos(const tk_vocab *v) { return v->eos; }
int tk_vocab_add_bos(const tk_vocab *v) { return v->add_bos; }
const char *tk_vocab_model_name(const tk_vocab *v) { return v->model; }
const char *tk_vocab_pre_name(const tk_vocab *v) { return v->bpe ? tk_bpe_pre_name(v->bpe) : NULL; }

const char *tk_vocab_chat_template(const tk_vocab *v) { return v->chat_template; }

int tk_vocab_set_chat_template(tk_vocab *v, const char *s, size_t n, tk_error *e) {
    if (memchr(s, 0, n)) return tk_err(e, TK_EFORMAT, "tokenizer.chat_template contains a NUL byte");
    char *c = malloc(n + 1);
    if (!c) return tk_err(e, TK_ENOMEM, "out of memory for the chat template (%zu bytes)", n);
    memcpy(c, s, n);
    c[n] = 0;
    free(v->chat_template);
    v->chat_template = c;
    return TK_OK;
}

void tk_vocab_specials(const tk_vocab *v, tk_vocab_info *o) {
    o->type = v->bpe ? "bpe" : v->wpm ? "wpm" : "spm";
    o->pre = v->bpe ? tk_bpe_pre_name(v->bpe) : NULL;
    o->bos = v->bos, o->eos = v->eos, o->eot = v->eot, o->pad = v->pad, o->unk = v->unk;
    o->add_bos = v->add_bos;
    o->n_control = o->n_user_defined = 0;
    for (int i = 0; i < v->n; i++) {
        o->n_control += v->type[i] == TK_TOKEN_CONTROL;
        o->n_user_defined += v->type[i] == TK_TOKEN_USER_DEFINED;
    }
    o->chat_template = v->chat_template;
}

int tk_vocab_is_eog(const tk_vocab *v, int32_t id) { return id >= 0 && id < v->n && v->eog[id]; }

const char *tk_vocab_text(const tk_vocab *v, int32_t id, int *len) {
    if (id < 0 || id >= v->n) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = (int)v->len[id];
    return v->blob + v->off[id];
}

float tk_vocab_score(const tk_vocab *v, int32_t id) { return id >= 0 && id < v->n ? v->score[id] : 0.0f; }
int tk_vocab_type(const tk_vocab *v, int32_t id) { return id >= 0 && id < v->n ? v->type[id] : 0; }

/* The decoded bytes of a token, as llama.cpp's token_to_piece with
 * special=false for an SPM vocabulary: NORMAL -> text with "▁" as ' ';
 * BYTE "<0xNN>" -> that byte; USER_DEFINED -> text as is; CONTROL,
 * UNKNOWN, UNUSED and undefined types -> nothing. For a BPE vocabulary
 * NORMAL texts go through the unicode-to-byte map instead (bpe.c). */
int tk_vocab_piece(const tk_vocab *v, int32_t id, char *buf, int cap) {
    if (id < 0 || id >= v->n) return 0;
    const char *s = v->blob + v->off[id];
    uint32_t n = v->len[id];
    int b, o = 0;
    if (cap < 0) cap = 0;
    switch (v->type[id]) {
    case TK_TOKEN_NORMAL:
        if (v->bpe) return tk_bpe_decode(v->bpe, s, n, buf, cap);
        for (uint32_t i = 0; i < n; i++) {
            char c = s[i];
            if (i + 3 <= n && memcmp(s + i, SPACE_ESC, 3) == 0) c = ' ', i += 2;
            if (o < cap) buf[o] = c;
            o++;
        }
        return o;
    case TK_TOKEN_BYTE:
    case TK_TOKEN_USER_DEFINED:
        if (v->type[id] == TK_TOKEN_BYTE && is_byte_text(s, n, &b)) {
            if (cap > 0) buf[0] = (char)b;
            return 1;
        }
        /* user-defined, or a BYTE token not spelled <0xNN>: the text as is */
        if (cap > 0) memcpy(buf, s, n < (uint32_t)cap ? n : (size_t)cap);
        return (int)n;
    default:
        return 0;
    }
}
