/* fuzz_wpm.c: libFuzzer entry point for the WordPiece tokenizer (wpm.c).
 *
 *   make fuzz && build-fuzz/fuzz_wpm -max_len=2048 CORPUS
 *
 * Loads ../shared/models/vocab/ggml-vocab-bert-bge.gguf once (run from the
 * repository root, or set TICK_FUZZ_VOCAB_DIR). The input's first byte
 * gives the flags (special-token parsing, [CLS]/[SEP]) and a cut point;
 * the rest is the text, valid UTF-8 or not. Checked: the count asked for
 * first equals the count written; every id is in range; a buffer one too
 * small is refused with the needed count; and, as whitespace ends every
 * word, tokenizing A " " B without special tokens gives the tokens of A
 * followed by those of B. Seeds: ggml-vocab-bert-bge.gguf.inp. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "tokenizer/vocab_int.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

static tk_vocab *V;

static void load(void) {
    const char *dir = getenv("TICK_FUZZ_VOCAB_DIR");
    if (!dir) dir = "../shared/models/vocab";
    char path[1024];
    snprintf(path, sizeof path, "%s/ggml-vocab-bert-bge.gguf", dir);
    tk_gguf *g = NULL;
    tk_error e = {0};
    if (tk_gguf_open(&g, path, &e) != TK_OK || tk_vocab_from_gguf(&V, g, &e) != TK_OK) {
        fprintf(stderr, "fuzz_wpm: cannot load %s: %s (run from the repository root or set TICK_FUZZ_VOCAB_DIR)\n", path,
                e.msg);
        exit(1);
    }
    tk_gguf_free(g);
}

/* Tokenize, checking the two-call protocol; returns the ids (malloc'd). */
static int32_t *tok(const char *text, size_t len, int flags, int *n_out) {
    int need = tk_vocab_tokenize_ex(V, text, len, flags, NULL, 0);
    CHECK(need != -2147483647);
    if (need < 0) need = -need;
    int32_t *ids = malloc((size_t)(need ? need : 1) * sizeof *ids);
    CHECK(ids);
    int n = tk_vocab_tokenize_ex(V, text, len, flags, ids, need);
    CHECK(n == need);
    for (int i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < tk_vocab_n(V));
    if (need > 0) CHECK(tk_vocab_tokenize_ex(V, text, len, flags, ids, need - 1) == -need);
    *n_out = n;
    return ids;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!V) load();
    if (size < 1) return 0;
    int flags = data[0] & 3; /* TK_VOCAB_ADD_BOS | TK_VOCAB_PARSE_SPECIAL */
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int n;
    free(tok(text, len, flags, &n));

    /* A " " B == A ++ B */
    size_t cut = len ? (size_t)(data[0] >> 2) * len / 63 : 0;
    if (cut > len) cut = len;
    char *joined = malloc(len + 1);
    CHECK(joined);
    memcpy(joined, text, cut);
    joined[cut] = ' ';
    memcpy(joined + cut + 1, text + cut, len - cut);
    int na, nb, nj;
    int32_t *a = tok(text, cut, 0, &na), *b = tok(text + cut, len - cut, 0, &nb), *j = tok(joined, len + 1, 0, &nj);
    CHECK(nj == na + nb);
    CHECK(memcmp(j, a, (size_t)na * sizeof *a) == 0 && memcmp(j + na, b, (size_t)nb * sizeof *b) == 0);
    free(a), free(b), free(j), free(joined);
    return 0;
}
