/* fuzz_bpe.c: libFuzzer entry point for the byte-level BPE encoder.
 *
 *   make fuzz && build-fuzz/fuzz_bpe -max_len=2048 CORPUS
 *
 * Loads, once, every BPE vocabulary of ../shared/models/vocab that is
 * present (run from the repository root, or set TICK_FUZZ_VOCAB_DIR), each
 * with its own pre-tokenizer regexes. The input's first byte picks the
 * vocabulary and the flags (special-token parsing, BOS); the rest is the
 * text, valid UTF-8 or not. Checked: the count asked for first equals the
 * count written; every id is in range; a buffer one too small is refused
 * with the needed count; and for valid UTF-8 without special-token
 * parsing, the decoded pieces give back the text exactly (byte-level BPE
 * loses nothing) when the vocabulary has a token for each of the 256
 * bytes (Falcon's lacks some control bytes: those are dropped, as
 * llama.cpp drops them). Seeds: the vocabularies' .inp files. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "tokenizer/vocab_int.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

static const char *const NAMES[] = {"gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "starcoder",
                                    "gpt-neox", "llama-bpe", "qwen2", "command-r", "roberta-bpe"};
enum { MAX_V = sizeof NAMES / sizeof *NAMES };
static tk_vocab *V[MAX_V];
static int lossless[MAX_V];
static int n_v;

/* 1 if every byte's GPT-2 stand-in character (bytes_to_unicode) is a token */
static int has_all_bytes(const tk_vocab *v) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        unsigned cp = printable ? (unsigned)b : 256u + (unsigned)n++;
        char u[2];
        size_t ul = cp < 0x80 ? 1 : 2;
        if (ul == 1) u[0] = (char)cp;
        else u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
        if (tk_vocab_find(v, u, ul) < 0) return 0;
    }
    return 1;
}

static void load_all(void) {
    const char *dir = getenv("TICK_FUZZ_VOCAB_DIR");
    if (!dir) dir = "../shared/models/vocab";
    for (int i = 0; i < MAX_V; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, NAMES[i]);
        tk_gguf *g = NULL;
        tk_error e = {0};
        if (tk_gguf_open(&g, path, &e) != TK_OK) continue;
        tk_vocab *v = NULL;
        if (tk_vocab_from_gguf(&v, g, &e) == TK_OK && tk_vocab_pre_name(v)) lossless[n_v] = has_all_bytes(v), V[n_v++] = v;
        else tk_vocab_free(v);
        tk_gguf_free(g);
    }
    if (!n_v) {
        fprintf(stderr, "fuzz_bpe: no BPE vocabulary found in %s (run from the repository root or set TICK_FUZZ_VOCAB_DIR)\n", dir);
        exit(1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!n_v) load_all();
    if (size < 1) return 0;
    int k = data[0] % n_v;
    const tk_vocab *v = V[k];
    int flags = (data[0] >> 4) & 3; /* TK_VOCAB_ADD_BOS | TK_VOCAB_PARSE_SPECIAL */
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    int need = tk_vocab_tokenize_ex(v, text, len, flags, NULL, 0);
    CHECK(need != -2147483647); /* out of memory or a regex failure: not on inputs this small */
    if (need < 0) need = -need;
    int32_t *ids = malloc((size_t)(need ? need : 1) * sizeof *ids);
    CHECK(ids);
    int n = tk_vocab_tokenize_ex(v, text, len, flags, ids, need);
    CHECK(n == need);
    for (int i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < tk_vocab_n(v));
    if (need > 0) CHECK(tk_vocab_tokenize_ex(v, text, len, flags, ids, need - 1) == -need);

    size_t bad;
    if (lossless[k] && !(flags & TK_VOCAB_PARSE_SPECIAL) && tk_utf8_valid(text, len, &bad)) {
        /* decode: the pieces concatenate to the text (BOS decodes to "") */
        char *back = malloc(len + 1), piece[1024];
        CHECK(back);
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            int pl = tk_vocab_piece(v, ids[i], piece, (int)sizeof piece);
            CHECK(pl >= 0 && pl <= (int)sizeof piece);
            if (i == 0 && (flags & TK_VOCAB_ADD_BOS) && ids[0] == tk_vocab_bos(v)) continue;
            CHECK(at + (size_t)pl <= len && memcmp(text + at, piece, (size_t)pl) == 0);
            at += (size_t)pl;
        }
        CHECK(at == len);
        free(back);
    }
    free(ids);
    return 0;
}
