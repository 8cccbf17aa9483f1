/* fuzz_hf.c: libFuzzer entry point for a Hugging Face folder's small files
 * (config.json, tokenizer.json, tokenizer_config.json, tokenizer.model).
 *
 *   make fuzz && build-fuzz/fuzz_hf -max_len=8192 fuzz/corpus-hf
 *
 * The first byte picks the file the rest of the input replaces; the other
 * files are small valid ones (a Llama config with a byte-level BPE
 * tokenizer.json, or a SentencePiece tokenizer.model when that is the file
 * fuzzed). The folder, in a temporary directory made once, is loaded
 * vocabulary-only: accepted or refused with one printable line, never a
 * crash (ASan and UBSan watch every read). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/hf.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

static const char CONFIG[] = "{\"model_type\":\"llama\",\"hidden_size\":8,\"num_attention_heads\":2,"
                             "\"num_hidden_layers\":1,\"intermediate_size\":16,\"bos_token_id\":0}";
static const char TOKENIZER[] = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"\\u0120\":3},"
                                "\"merges\":[\"a b\",[\"\\u0120\",\"a\"]]},\"added_tokens\":[{\"id\":4,\"content\":\"<|e|>\","
                                "\"special\":true}],\"pre_tokenizer\":{\"type\":\"ByteLevel\"}}";
static const char TCONFIG[] = "{\"bos_token\":\"<|e|>\",\"eos_token\":{\"content\":\"<|e|>\"},\"add_bos_token\":true,"
                              "\"chat_template\":\"{{ x }}\"}";
static const char *const FILES[] = {"config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model"};

static char dir[256];

static void put(const char *name, const void *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (n) CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-hf-XXXXXX");
        CHECK(mkdtemp(dir) != NULL);
    }
    if (size < 1) return 0;
    int which = data[0] & 3;
    put("config.json", CONFIG, sizeof CONFIG - 1);
    put("tokenizer.json", TOKENIZER, sizeof TOKENIZER - 1);
    put("tokenizer_config.json", TCONFIG, sizeof TCONFIG - 1);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    unlink(path);
    put(FILES[which], data + 1, size - 1);
    void *img;
    size_t n;
    tk_error e;
    if (tk_hf_image(dir, 1, &img, &n, &e) != TK_OK) {
        CHECK(e.code < 0 && strlen(e.msg) < sizeof e.msg);
        for (const char *c = e.msg; *c; c++) CHECK((unsigned char)*c >= 0x20);
        return 0;
    }
    CHECK(img && n > 0);
    tk_hf_image_free(img, n);
    return 0;
}
