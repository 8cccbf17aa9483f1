/* test_gguf.c: the GGUF reader on real files (stories260K, golden-tiny256,
 * llama.cpp vocab files), on builder round trips, and on corrupt input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "formats/gguf.h"
#include "t.h"
#include "tensor/dtype.h"
#include "util_gguf.h"

#define STORIES_SHA "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
#define STORIES_BIN_SHA "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696"

static int str_is(const char *s, uint64_t n, const char *want) {
    return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Parse a copy of p[0..n) in an exactly sized heap block (so ASan sees any
 * read past the end); returns the status, e filled. */
static int parse_copy(const void *p, size_t n, tk_error *e) {
    unsigned char *c = malloc(n ? n : 1);
    if (n) memcpy(c, p, n);
    tk_gguf *g = (tk_gguf *)1;
    e->msg[0] = 0;
    int rc = tk_gguf_parse(&g, c, n, e);
    if (rc == TK_OK) tk_gguf_free(g);
    else if (g != NULL) rc = 1; /* *out must be NULL on failure */
    free(c);
    return rc;
}

/* The builder's file must be rejected with status code (0: any failure)
 * and a message containing word. */
static void check_fail(const char *what, tg_builder *b, int code, const char *word) {
    size_t n;
    unsigned char *p = tg_bytes(b, &n);
    tk_error e = {0};
    int rc = parse_copy(p, n, &e);
    T_CHECK(rc < 0 && (code == 0 || rc == code), "%s: status %d, want %d (%s)", what, rc, code, e.msg);
    T_CHECK(rc == TK_OK || strstr(e.msg, word), "%s: message '%s' lacks '%s'", what, e.msg, word);
    free(p);
    tg_free(b);
}

/* ---- real files -------------------------------------------------------------- */

static void test_stories260k(void) {
    const char *path = t_shared("models/stories260K.gguf", STORIES_SHA);
    if (!path) T_SKIP("../shared/models/stories260K.gguf is absent or differs; cannot check a real GGUF v3 file");
    tk_gguf *g;
    tk_error e = {0};
    int rc = tk_gguf_open(&g, path, &e);
    T_CHECK(rc == TK_OK, "open: %s", e.msg);
    if (rc != TK_OK) return;
    T_CHECK(tk_gguf_version(g) == 3, "version %u", tk_gguf_version(g));
    T_CHECK(tk_gguf_alignment(g) == 32, "alignment %llu", (unsigned long long)tk_gguf_alignment(g));
    T_CHECK(tk_gguf_data_offset(g) == 14176, "data offset %llu", (unsigned long long)tk_gguf_data_offset(g));
    T_CHECK(tk_gguf_n_kv(g) == 19, "n_kv %d", tk_gguf_n_kv(g));
    T_CHECK(!strcmp(tk_gguf_key(g, 0), "tokenizer.ggml.tokens"), "key 0 %s", tk_gguf_key(g, 0));

    const char *s;
    uint64_t len, n;
    int64_t i64;
    uint32_t u32;
    float f;
    T_CHECK(tk_gguf_get_str(g, "general.architecture", &s, &len, &e) == TK_OK && str_is(s, len, "llama"), "arch");
    T_CHECK(tk_gguf_get_u32(g, "llama.embedding_length", &u32, &e) == TK_OK && u32 == 64, "n_embd %u", u32);
    T_CHECK(tk_gguf_get_i64(g, "llama.block_count", &i64, &e) == TK_OK && i64 == 5, "block_count %lld", (long long)i64);
    T_CHECK(tk_gguf_get_u32(g, "llama.feed_forward_length", &u32, &e) == TK_OK && u32 == 172, "n_ff %u", u32);
    T_CHECK(tk_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f, &e) == TK_OK && f == 1e-5f, "eps %g", f);
    T_CHECK(tk_gguf_get_i64(g, "tokenizer.ggml.seperator_token_id", &i64, &e) == TK_OK && i64 == 4294967295LL, "sep %lld", (long long)i64);
    T_CHECK(tk_gguf_find(g, "general.alignment") == -1, "no general.alignment key");

    int et;
    T_CHECK(tk_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &e) == TK_OK && et == TK_GGUF_STRING && n == 512,
            "tokens: type %d n %llu", et, (unsigned long long)n);
    T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.tokens", 1, &s, &len) == TK_OK && str_is(s, len, "<s>"), "token 1");
    T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.tokens", 0, &s, &len) == TK_OK && str_is(s, len, "<unk>"), "token 0");
    T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.tokens", 512, &s, &len) == TK_EINVAL, "token 512 is out of range");
    T_CHECK(tk_gguf_arr_i64(g, "tokenizer.ggml.token_type", 1, &i64) == TK_OK && i64 == 3, "token_type 1");
    double d;
    T_CHECK(tk_gguf_arr_f64(g, "tokenizer.ggml.scores", 0, &d) == TK_OK && d == 0, "score 0");
    char buf[256];
    int k = tk_gguf_find(g, "tokenizer.ggml.tokens");
    tk_gguf_render(g, k, buf, sizeof buf);
    T_CHECK(!strcmp(buf, "[STRING x 512] \"<unk>\", \"<s>\", \"</s>\", ..."), "render: %s", buf);

    T_CHECK(tk_gguf_n_tensors(g) == 48, "n_tensors %d", tk_gguf_n_tensors(g));
    const tk_gguf_tensor *t = tk_gguf_find_tensor(g, "token_embd.weight");
    T_CHECK(t && t->type == TK_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->ne[2] == 1 &&
                t->nbytes == 64 * 512 * 4 && t->offset == 0, "token_embd.weight");
    t = tk_gguf_find_tensor(g, "blk.4.ffn_down.weight");
    T_CHECK(t && t->ne[0] == 172 && t->ne[1] == 64 && t->nbytes == 172 * 64 * 4, "blk.4.ffn_down.weight");
    T_CHECK(tk_gguf_find_tensor(g, "blk.5.ffn_down.weight") == NULL, "no blk.5");
    /* Data lies in the file, aligned, and ends exactly at its end. */
    const unsigned char *base = tk_gguf_tensor_at(g, 0)->data;
    uint64_t last_end = 0;
    for (int i = 0; i < tk_gguf_n_tensors(g); i++) {
        t = tk_gguf_tensor_at(g, i);
        uint64_t at = (uint64_t)((const unsigned char *)t->data - base) + 14176;
        T_CHECK(t->type == TK_F32 && (uintptr_t)t->data % 32 == 0 && at + t->nbytes <= 1185376, "%s", t->name);
        if (at + t->nbytes > last_end) last_end = at + t->nbytes;
    }
    T_CHECK(last_end == 1185376, "last tensor ends at %llu", (unsigned long long)last_end);
    /* The embedding equals the llama2.c checkpoint's (after its 28-byte header). */
    const char *bin = t_shared("models/stories260K.bin", STORIES_BIN_SHA);
    if (bin) {
        size_t bl;
        char *b = t_read(bin, &bl);
        t = tk_gguf_find_tensor(g, "token_embd.weight");
        T_CHECK(b && bl > 28 + t->nbytes && !memcmp(b + 28, t->data, t->nbytes), "token_embd equals stories260K.bin");
        free(b);
    }
    tk_gguf_free(g);
}

static void test_golden_tiny256(void) {
    static const struct { const char *file, *sha; int type; uint64_t q_bytes; } files[] = {
        {"tiny256-f32.gguf", "b4d01b7f4d4983e4418d3be66b418b64ff56a9e9cb592b21c82a8723224ed082", TK_F32, 262144},
        {"tiny256-f16.gguf", "8af206bfeb741b0c77350853bfec5cc8e9ba2b2fdc3ac56e1e87299ffab116f2", TK_F16, 131072},
        {"tiny256-bf16.gguf", "8ed47d604982c124facff31282303b8b5de4234e5dc8f3cb9675c64cc2ab91b7", TK_BF16, 131072},
        {"tiny256-q8_0.gguf", "41253032aa6542a14ad8efa9f48fe546a0eead839b5f7fbb1cdb213a8459ac77", TK_Q8_0, 69632},
        {"tiny256-q4_0.gguf", "407070089cbf4844703f8198858b244a9e81f60cdbc8fd9d65b0afc744532be2", TK_Q4_0, 36864},
        {"tiny256-q4_k.gguf", "04ffc324410a12a08314ff2983b8777d6d1213d0f65cae4bc6c1d2d0869cc99b", TK_Q4_K, 36864},
        {"tiny256-q6_k.gguf", "4edfae5acf50c335f48a32b42760d3fc4e6dc815e78d8a0daa4cc3554dc3c0ac", TK_Q6_K, 53760},
    };
    int seen = 0;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "models/golden-tiny256/%s", files[f].file);
        const char *path = t_shared(rel, files[f].sha);
        if (!path) continue;
        seen++;
        tk_gguf *g;
        tk_error e = {0};
        if (tk_gguf_open(&g, path, &e) != TK_OK) {
            T_CHECK(0, "%s: %s", files[f].file, e.msg);
            continue;
        }
        uint32_t u;
        T_CHECK(tk_gguf_n_tensors(g) == 39, "%s: %d tensors", files[f].file, tk_gguf_n_tensors(g));
        T_CHECK(tk_gguf_get_u32(g, "llama.embedding_length", &u, &e) == TK_OK && u == 256, "%s: n_embd", files[f].file);
        const tk_gguf_tensor *q = tk_gguf_find_tensor(g, "blk.0.attn_q.weight");
        const tk_gguf_tensor *n = tk_gguf_find_tensor(g, "blk.3.ffn_norm.weight");
        const tk_gguf_tensor *d = tk_gguf_find_tensor(g, "blk.0.ffn_down.weight");
        T_CHECK(q && q->type == files[f].type && q->ne[0] == 256 && q->ne[1] == 256 && q->nbytes == files[f].q_bytes,
                "%s: attn_q type %s, %llu bytes", files[f].file, q ? tk_dtype_name(q->type) : "-",
                q ? (unsigned long long)q->nbytes : 0ULL);
        T_CHECK(n && n->type == TK_F32 && n->n_dims == 1 && n->nbytes == 1024, "%s: ffn_norm", files[f].file);
        T_CHECK(d && d->ne[0] == 768 && d->ne[1] == 256 && d->nbytes == 3 * files[f].q_bytes, "%s: ffn_down", files[f].file);
        for (int i = 0; i < tk_gguf_n_tensors(g); i++)
            T_CHECK((uintptr_t)tk_gguf_tensor_at(g, i)->data % 32 == 0, "%s: tensor %d misaligned", files[f].file, i);
        tk_gguf_free(g);
    }
    if (!seen) T_SKIP("../shared/models/golden-tiny256/ is absent");
}

static void test_vocab_files(void) {
    static const struct { const char *name, *sha, *model; uint64_t n_tokens, n_merges; } files[] = {
        {"baichuan", "4f5b955697f3bd3108070b1d5936c7eb9fc542b81c6932e59abddec75bca1963", "llama", 64000, 0},
        {"bert-bge", "fbcbe22278fb302694d5f4a41bfe48c5f90e8e3554eab1c0435387dff654a854", "bert", 30522, 0},
        {"deepseek-coder", "91cb1379f2e33af1c4866b194622b7a0e12e8f0c9dba7ba2f10d55978730bec1", "gpt2", 32256, 31757},
        {"deepseek-llm", "867f77537b54565f0d81d508c04edc41aa1d4ffc1a92745f225b4c1b02755f76", "gpt2", 102400, 99757},
        {"falcon", "9f0bf8b0733680398b72e652e90f260f43782f326e75545fc0e49611a5ba35ad", "gpt2", 65024, 64784},
        {"gpt-2", "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac", "gpt2", 50257, 50000},
        {"gpt-neox", "ae593a7f9b8bb174ed4f5019e41530463e4dac7aa06e42dee8aa650d2bdac53d", "gpt2", 50432, 50009},
        {"llama-spm", "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69", "llama", 32000, 0},
        {"mpt", "59dc382612866d1fc6c11ea531318d327598f3412d9c8f8600607cdf3030898f", "gpt2", 50432, 50009},
        {"phi-3", "967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326", "llama", 32064, 0},
        {"refact", "ac3ceda902fed91ccf74312b305d9b86c37e4f8e35fa9cc6ef3ce34fca7d4678", "gpt2", 49216, 48891},
        {"starcoder", "fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d", "gpt2", 49152, 48872},
    };
    int seen = 0;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "models/vocab/ggml-vocab-%s.gguf", files[f].name);
        const char *path = t_shared(rel, files[f].sha);
        if (!path) continue;
        seen++;
        tk_gguf *g;
        tk_error e = {0};
        if (tk_gguf_open(&g, path, &e) != TK_OK) {
            T_CHECK(0, "%s: %s", files[f].name, e.msg);
            continue;
        }
        const char *s;
        uint64_t len, n = 0;
        int et = -1;
        T_CHECK(tk_gguf_version(g) == 3 && tk_gguf_n_tensors(g) == 0, "%s: version/tensors", files[f].name);
        T_CHECK(tk_gguf_get_str(g, "tokenizer.ggml.model", &s, &len, &e) == TK_OK && str_is(s, len, files[f].model),
                "%s: model", files[f].name);
        T_CHECK(tk_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &e) == TK_OK && et == TK_GGUF_STRING &&
                    n == files[f].n_tokens, "%s: %llu tokens", files[f].name, (unsigned long long)n);
        /* Walk every token (indexed access) and check the last one exists. */
        uint64_t total = 0;
        for (uint64_t i = 0; i < n; i++)
            if (tk_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &s, &len) == TK_OK) total++;
        T_CHECK(total == n, "%s: %llu of %llu tokens readable", files[f].name, (unsigned long long)total, (unsigned long long)n);
        if (files[f].n_merges) {
            T_CHECK(tk_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n, &e) == TK_OK && n == files[f].n_merges,
                    "%s: %llu merges", files[f].name, (unsigned long long)n);
        }
        if (!strcmp(files[f].name, "gpt-2")) {
            T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.merges", 0, &s, &len) == TK_OK && str_is(s, len, "\xc4\xa0 t"), "gpt-2 merge 0");
            T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.tokens", 50256, &s, &len) == TK_OK && str_is(s, len, "<|endoftext|>"),
                    "gpt-2 token 50256");
        }
        tk_gguf_free(g);
    }
    if (!seen) T_SKIP("../shared/models/vocab/ is absent");
}

static void test_llama2_tiny_random(void) {
    const char *path = t_shared("models/llama-2-tiny-random.gguf", "81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb");
    if (!path) T_SKIP("../shared/models/llama-2-tiny-random.gguf is absent");
    tk_gguf *g;
    tk_error e = {0};
    int rc = tk_gguf_open(&g, path, &e);
    T_CHECK(rc == TK_OK, "%s", e.msg);
    if (rc) return;
    T_CHECK(tk_gguf_n_kv(g) == 18 && tk_gguf_n_tensors(g) == 12, "counts");
    const tk_gguf_tensor *t = tk_gguf_find_tensor(g, "token_embd.weight");
    T_CHECK(t && t->type == TK_F16 && t->ne[0] == 8 && t->ne[1] == 32000 && t->nbytes == 8 * 32000 * 2, "token_embd");
    tk_gguf_free(g);
}

/* ---- round trip -------------------------------------------------------------- */

static const char *const STRS[] = {"a", "", "with \"quotes\"\n", "\xe2\x96\x81hello"};

/* arrays of arrays of u32: [[1,2,3],[],[4000000000]]; of strings: [["x","yz"],[""]] */
static void add_nested(tg_builder *b) {
    tg_buf w = {0};
    tg_put_arr(&w, TK_GGUF_ARRAY, 3);
    tg_put_arr(&w, TK_GGUF_UINT32, 3), tg_put_u32(&w, 1), tg_put_u32(&w, 2), tg_put_u32(&w, 3);
    tg_put_arr(&w, TK_GGUF_UINT32, 0);
    tg_put_arr(&w, TK_GGUF_UINT32, 1), tg_put_u32(&w, 4000000000u);
    tg_kv_raw(b, "nested.u32", TK_GGUF_ARRAY, w.p, w.n);
    w.n = 0;
    tg_put_arr(&w, TK_GGUF_ARRAY, 2);
    tg_put_arr(&w, TK_GGUF_STRING, 2), tg_put_str(&w, "x"), tg_put_str(&w, "yz");
    tg_put_arr(&w, TK_GGUF_STRING, 1), tg_put_str(&w, "");
    tg_kv_raw(b, "nested.str", TK_GGUF_ARRAY, w.p, w.n);
    tg_buf_free(&w);
}

/* depth arrays nested, the innermost holding one u8 (7). */
static void add_deep(tg_builder *b, const char *key, int depth) {
    tg_buf w = {0};
    for (int i = 0; i < depth - 1; i++) tg_put_arr(&w, TK_GGUF_ARRAY, 1);
    tg_put_arr(&w, TK_GGUF_UINT8, 1), tg_put_u8(&w, 7);
    tg_kv_raw(b, key, TK_GGUF_ARRAY, w.p, w.n);
    tg_buf_free(&w);
}

static void roundtrip(uint32_t version, uint32_t align) {
    tg_builder *b = tg_new(version);
    tg_kv_u8(b, "t.u8", 200);
    tg_kv_i8(b, "t.i8", -100);
    tg_kv_u16(b, "t.u16", 60000);
    tg_kv_i16(b, "t.i16", -30000);
    tg_kv_u32(b, "t.u32", 4000000000u);
    tg_kv_i32(b, "t.i32", -2000000000);
    tg_kv_u64(b, "t.u64", (1ULL << 63) + 5);
    tg_kv_i64(b, "t.i64", -(1LL << 62));
    tg_kv_f32(b, "t.f32", 1.5f);
    tg_kv_f64(b, "t.f64", -2.25e300);
    tg_kv_f64(b, "t.f64small", 0.125);
    tg_kv_bool(b, "t.true", 1);
    tg_kv_bool(b, "t.false", 0);
    tg_kv_str(b, "t.str", "hello \"world\"\n");
    tg_kv_str(b, "t.empty", "");
    if (align) tg_kv_u32(b, "general.alignment", align);
    uint8_t u8s[] = {0, 255};
    int8_t i8s[] = {-128, 127};
    uint16_t u16s[] = {65535};
    int16_t i16s[] = {-32768, 1};
    uint32_t u32s[] = {7, 4294967295u};
    int32_t i32s[] = {-5, 2147483647};
    uint64_t u64s[] = {UINT64_MAX, 3};
    int64_t i64s[] = {INT64_MIN, 9};
    float f32s[] = {-0.5f, 3.25f, 1e-7f};
    double f64s[] = {1e-300, -7.5};
    uint8_t bools[] = {1, 0, 1};
    tg_kv_arr(b, "a.u8", TK_GGUF_UINT8, u8s, 2);
    tg_kv_arr(b, "a.i8", TK_GGUF_INT8, i8s, 2);
    tg_kv_arr(b, "a.u16", TK_GGUF_UINT16, u16s, 1);
    tg_kv_arr(b, "a.i16", TK_GGUF_INT16, i16s, 2);
    tg_kv_arr_u32(b, "a.u32", u32s, 2);
    tg_kv_arr_i32(b, "a.i32", i32s, 2);
    tg_kv_arr(b, "a.u64", TK_GGUF_UINT64, u64s, 2);
    tg_kv_arr(b, "a.i64", TK_GGUF_INT64, i64s, 2);
    tg_kv_arr_f32(b, "a.f32", f32s, 3);
    tg_kv_arr(b, "a.f64", TK_GGUF_FLOAT64, f64s, 2);
    tg_kv_arr(b, "a.bool", TK_GGUF_BOOL, bools, 3);
    tg_kv_arr_str(b, "a.str", STRS, 4);
    tg_kv_arr_str(b, "a.none", NULL, 0);
    add_nested(b);
    add_deep(b, "deep8", 8);

    float f32d[12];
    for (int i = 0; i < 12; i++) f32d[i] = (float)i - 5.5f;
    unsigned char q8[2 * 34], misc[70];
    for (int i = 0; i < (int)sizeof q8; i++) q8[i] = (unsigned char)(i * 7 + 1);
    for (int i = 0; i < (int)sizeof misc; i++) misc[i] = (unsigned char)(255 - i);
    int64_t ne_a[] = {4, 3}, ne_q[] = {64, 1}, ne_h[] = {5}, ne_i[] = {3, 2, 2, 1}, ne_b[] = {7, 3};
    tg_tensor(b, "a.f32", TK_F32, 2, ne_a, f32d, 0);
    tg_tensor(b, "q.q8_0", TK_Q8_0, 2, ne_q, q8, 0);
    tg_tensor(b, "h.f16", TK_F16, 1, ne_h, misc, 0);
    tg_tensor(b, "i.i32", TK_I32, 4, ne_i, misc, 0);
    tg_tensor(b, "b.bf16", TK_BF16, 2, ne_b, misc, 0);

    size_t size, doff;
    unsigned char *p = tg_bytes_ex(b, &size, &doff);
    tg_free(b);
    tk_gguf *g;
    tk_error e = {0};
    int rc = tk_gguf_parse(&g, p, size, &e);
    T_CHECK(rc == TK_OK, "v%u align %u: %s", version, align, e.msg);
    if (rc) {
        free(p);
        return;
    }
    uint64_t A = align ? align : 32;
    T_CHECK(tk_gguf_version(g) == version && tk_gguf_alignment(g) == A, "version/alignment");
    T_CHECK(tk_gguf_data_offset(g) == doff && doff % A == 0, "data offset %llu", (unsigned long long)tk_gguf_data_offset(g));
    T_CHECK(tk_gguf_n_kv(g) == 15 + (align != 0) + 13 + 3, "n_kv %d", tk_gguf_n_kv(g));
    T_CHECK(!strcmp(tk_gguf_key(g, 0), "t.u8") && tk_gguf_kv_type(g, 0) == TK_GGUF_UINT8, "key 0");
    T_CHECK(tk_gguf_key(g, tk_gguf_n_kv(g)) == NULL && tk_gguf_kv_type(g, -1) == -1, "bad index");

    int64_t i;
    uint32_t u;
    float f;
    int bl;
    const char *s;
    uint64_t len, n;
    int et;
    double d;
#define I64(k, v) T_CHECK(tk_gguf_get_i64(g, k, &i, &e) == TK_OK && i == (v), "%s: %lld (%s)", k, (long long)i, e.msg)
    I64("t.u8", 200);
    I64("t.i8", -100);
    I64("t.u16", 60000);
    I64("t.i16", -30000);
    I64("t.u32", 4000000000LL);
    I64("t.i32", -2000000000);
    I64("t.i64", -(1LL << 62));
#undef I64
    T_CHECK(tk_gguf_get_u32(g, "t.u32", &u, &e) == TK_OK && u == 4000000000u, "u32");
    T_CHECK(tk_gguf_get_u32(g, "t.u8", &u, &e) == TK_OK && u == 200, "u8 as u32");
    T_CHECK(tk_gguf_get_f32(g, "t.f32", &f, &e) == TK_OK && f == 1.5f, "f32");
    T_CHECK(tk_gguf_get_f32(g, "t.f64small", &f, &e) == TK_OK && f == 0.125f, "f64 as f32");
    T_CHECK(tk_gguf_get_bool(g, "t.true", &bl, &e) == TK_OK && bl == 1, "true");
    T_CHECK(tk_gguf_get_bool(g, "t.false", &bl, &e) == TK_OK && bl == 0, "false");
    T_CHECK(tk_gguf_get_str(g, "t.str", &s, &len, &e) == TK_OK && str_is(s, len, "hello \"world\"\n"), "str");
    T_CHECK(tk_gguf_get_str(g, "t.empty", &s, &len, &e) == TK_OK && len == 0, "empty str");
    tk_gguf_value v;
    T_CHECK(tk_gguf_value_of(g, tk_gguf_find(g, "t.u64"), &v) == TK_OK && v.type == TK_GGUF_UINT64 &&
                tk_gguf_value_f64(&v, &d) == TK_OK && d == 9223372036854775808.0, "u64 as f64");
    T_CHECK(tk_gguf_value_of(g, tk_gguf_find(g, "t.f64"), &v) == TK_OK && tk_gguf_value_f64(&v, &d) == TK_OK && d == -2.25e300, "f64");

    /* Arrays of every fixed-size type. */
    T_CHECK(tk_gguf_get_arr(g, "a.u8", &et, &n, &e) == TK_OK && et == TK_GGUF_UINT8 && n == 2, "a.u8");
    T_CHECK(tk_gguf_arr_i64(g, "a.u8", 1, &i) == TK_OK && i == 255, "a.u8[1]");
    T_CHECK(tk_gguf_arr_i64(g, "a.i8", 0, &i) == TK_OK && i == -128, "a.i8[0]");
    T_CHECK(tk_gguf_arr_i64(g, "a.u16", 0, &i) == TK_OK && i == 65535, "a.u16[0]");
    T_CHECK(tk_gguf_arr_i64(g, "a.i16", 0, &i) == TK_OK && i == -32768, "a.i16[0]");
    T_CHECK(tk_gguf_arr_i64(g, "a.u32", 1, &i) == TK_OK && i == 4294967295LL, "a.u32[1]");
    T_CHECK(tk_gguf_arr_i64(g, "a.i32", 1, &i) == TK_OK && i == 2147483647, "a.i32[1]");
    T_CHECK(tk_gguf_arr_i64(g, "a.u64", 0, &i) == TK_EINVAL, "a.u64[0] does not fit in int64");
    T_CHECK(tk_gguf_arr_f64(g, "a.u64", 0, &d) == TK_OK && d == 18446744073709551615.0, "a.u64[0] as f64");
    T_CHECK(tk_gguf_arr_i64(g, "a.u64", 1, &i) == TK_OK && i == 3, "a.u64[1]");
    T_CHECK(tk_gguf_arr_i64(g, "a.i64", 0, &i) == TK_OK && i == INT64_MIN, "a.i64[0]");
    T_CHECK(tk_gguf_arr_f64(g, "a.f32", 2, &d) == TK_OK && (float)d == 1e-7f, "a.f32[2]");
    T_CHECK(tk_gguf_arr_f64(g, "a.f32", 1, &d) == TK_OK && d == 3.25, "a.f32[1]");
    T_CHECK(tk_gguf_arr_i64(g, "a.f32", 1, &i) == TK_EINVAL, "floats are not integers");
    T_CHECK(tk_gguf_arr_f64(g, "a.f64", 0, &d) == TK_OK && d == 1e-300, "a.f64[0]");
    T_CHECK(tk_gguf_arr_i64(g, "a.bool", 2, &i) == TK_OK && i == 1, "a.bool[2]");
    T_CHECK(tk_gguf_arr_f64(g, "a.bool", 1, &d) == TK_OK && d == 0, "a.bool[1]");
    T_CHECK(tk_gguf_arr_i64(g, "a.i32", 2, &i) == TK_EINVAL, "index out of range");
    for (int k = 0; k < 4; k++)
        T_CHECK(tk_gguf_arr_str(g, "a.str", (uint64_t)k, &s, &len) == TK_OK && str_is(s, len, STRS[k]), "a.str[%d]", k);
    T_CHECK(tk_gguf_arr_f64(g, "a.str", 0, &d) == TK_EINVAL, "strings are not numbers");
    T_CHECK(tk_gguf_arr_str(g, "a.u8", 0, &s, &len) == TK_EINVAL, "numbers are not strings");
    T_CHECK(tk_gguf_get_arr(g, "a.none", &et, &n, &e) == TK_OK && et == TK_GGUF_STRING && n == 0, "empty array");
    T_CHECK(tk_gguf_arr_str(g, "a.none", 0, &s, &len) == TK_EINVAL, "empty array has no element 0");

    /* Nested arrays. */
    T_CHECK(tk_gguf_get_arr(g, "nested.u32", &et, &n, &e) == TK_OK && et == TK_GGUF_ARRAY && n == 3, "nested.u32");
    T_CHECK(tk_gguf_arr_sub(g, "nested.u32", 0, &et, &n) == TK_OK && et == TK_GGUF_UINT32 && n == 3, "nested.u32[0]");
    T_CHECK(tk_gguf_arr_sub(g, "nested.u32", 1, &et, &n) == TK_OK && n == 0, "nested.u32[1]");
    T_CHECK(tk_gguf_arr_sub(g, "nested.u32", 3, &et, &n) == TK_EINVAL, "nested.u32[3]");
    tk_gguf_value a, el, x;
    static const uint32_t want_u32[3][3] = {{1, 2, 3}, {0}, {4000000000u}};
    static const int want_n[3] = {3, 0, 1};
    T_CHECK(tk_gguf_value_of(g, tk_gguf_find(g, "nested.u32"), &a) == TK_OK && a.n == 3, "value nested.u32");
    for (uint64_t j = 0; j < 3; j++) {
        T_CHECK(tk_gguf_value_elem(&a, j, &el) == TK_OK && el.type == TK_GGUF_ARRAY && el.n == (uint64_t)want_n[j], "[%d]", (int)j);
        for (uint64_t k = 0; k < el.n; k++)
            T_CHECK(tk_gguf_value_elem(&el, k, &x) == TK_OK && tk_gguf_value_i64(&x, &i) == TK_OK && i == want_u32[j][k],
                    "nested.u32[%d][%d] = %lld", (int)j, (int)k, (long long)i);
        T_CHECK(tk_gguf_value_elem(&el, el.n, &x) == TK_EINVAL, "past the inner end");
    }
    T_CHECK(tk_gguf_value_of(g, tk_gguf_find(g, "nested.str"), &a) == TK_OK && a.n == 2, "value nested.str");
    T_CHECK(tk_gguf_value_elem(&a, 0, &el) == TK_OK && el.elem_type == TK_GGUF_STRING && el.n == 2 &&
                tk_gguf_value_elem(&el, 1, &x) == TK_OK && x.type == TK_GGUF_STRING && str_is((const char *)x.p, x.n, "yz"),
            "nested.str[0][1]");
    T_CHECK(tk_gguf_value_elem(&a, 1, &el) == TK_OK && el.n == 1 && tk_gguf_value_elem(&el, 0, &x) == TK_OK && x.n == 0,
            "nested.str[1][0]");
    T_CHECK(tk_gguf_value_of(g, tk_gguf_find(g, "deep8"), &a) == TK_OK, "deep8");
    for (int k = 0; k < 7; k++) T_CHECK(tk_gguf_value_elem(&a, 0, &a) == TK_OK && a.type == TK_GGUF_ARRAY, "deep8 level %d", k);
    T_CHECK(a.elem_type == TK_GGUF_UINT8 && tk_gguf_value_elem(&a, 0, &x) == TK_OK && tk_gguf_value_i64(&x, &i) == TK_OK && i == 7,
            "deep8 innermost");

    /* Tensors: names, shapes, sizes, bytes, placement. */
    T_CHECK(tk_gguf_n_tensors(g) == 5, "n_tensors %d", tk_gguf_n_tensors(g));
    const tk_gguf_tensor *t = tk_gguf_find_tensor(g, "a.f32");
    T_CHECK(t && t->type == TK_F32 && t->n_dims == 2 && t->ne[0] == 4 && t->ne[1] == 3 && t->ne[3] == 1 && t->nbytes == 48 &&
                !memcmp(t->data, f32d, 48), "a.f32");
    t = tk_gguf_find_tensor(g, "q.q8_0");
    T_CHECK(t && t->type == TK_Q8_0 && t->nbytes == 68 && !memcmp(t->data, q8, 68), "q.q8_0");
    t = tk_gguf_find_tensor(g, "h.f16");
    T_CHECK(t && t->n_dims == 1 && t->nbytes == 10 && !memcmp(t->data, misc, 10), "h.f16");
    t = tk_gguf_find_tensor(g, "i.i32");
    T_CHECK(t && t->n_dims == 4 && t->ne[2] == 2 && t->ne[3] == 1 && t->nbytes == 48 && !memcmp(t->data, misc, 48), "i.i32");
    t = tk_gguf_find_tensor(g, "b.bf16");
    T_CHECK(t && t->nbytes == 42 && !memcmp(t->data, misc, 42), "b.bf16");
    for (int k = 0; k < 5; k++) {
        t = tk_gguf_tensor_at(g, k);
        T_CHECK(t->offset % A == 0 && (size_t)((const unsigned char *)t->data - p) == doff + t->offset, "%s placement", t->name);
    }
    T_CHECK(tk_gguf_tensor_at(g, 5) == NULL && tk_gguf_find_tensor(g, "nope") == NULL, "absent tensor");
    tk_gguf_free(g);
    free(p);
}

static void test_roundtrip(void) {
    roundtrip(3, 0);
    roundtrip(3, 64);
    roundtrip(2, 0);
    roundtrip(2, 64);
    roundtrip(3, 1);
}

/* ---- getters: types and ranges ------------------------------------------------ */

static void test_getter_errors(void) {
    tg_builder *b = tg_new(3);
    tg_kv_i32(b, "neg", -1);
    tg_kv_u64(b, "big", 1ULL << 40);
    tg_kv_u64(b, "huge", UINT64_MAX);
    tg_kv_f64(b, "f64big", 1e300);
    tg_kv_f64(b, "f64inf", INFINITY);
    tg_kv_f32(b, "f32", 2.5f);
    tg_kv_str(b, "str", "x");
    tg_kv_u8(b, "u8", 1);
    tg_kv_bool(b, "bool", 1);
    uint32_t arr[] = {1};
    tg_kv_arr_u32(b, "arr", arr, 1);
    size_t size;
    unsigned char *p = tg_bytes(b, &size);
    tg_free(b);
    tk_gguf *g;
    tk_error e = {0};
    T_CHECK(tk_gguf_parse(&g, p, size, &e) == TK_OK, "%s", e.msg);
    int64_t i;
    uint32_t u;
    float f;
    int bl, et;
    const char *s;
    uint64_t len, n;
#define FAILS(call, word) \
    do { e.msg[0] = 0; int rc_ = (call); T_CHECK(rc_ < 0 && strstr(e.msg, word), #call ": %d '%s' lacks '%s'", rc_, e.msg, word); } while (0)
    FAILS(tk_gguf_get_u32(g, "neg", &u, &e), "range");
    FAILS(tk_gguf_get_u32(g, "big", &u, &e), "range");
    FAILS(tk_gguf_get_i64(g, "huge", &i, &e), "range");
    FAILS(tk_gguf_get_f32(g, "f64big", &f, &e), "range");
    FAILS(tk_gguf_get_f32(g, "u8", &f, &e), "type");
    FAILS(tk_gguf_get_i64(g, "f32", &i, &e), "type");
    FAILS(tk_gguf_get_i64(g, "str", &i, &e), "STRING");
    FAILS(tk_gguf_get_i64(g, "bool", &i, &e), "BOOL");
    FAILS(tk_gguf_get_bool(g, "u8", &bl, &e), "type");
    FAILS(tk_gguf_get_str(g, "u8", &s, &len, &e), "type");
    FAILS(tk_gguf_get_arr(g, "str", &et, &n, &e), "type");
    FAILS(tk_gguf_get_u32(g, "arr", &u, &e), "ARRAY");
    FAILS(tk_gguf_get_u32(g, "missing", &u, &e), "absent");
    FAILS(tk_gguf_get_str(g, "missing", &s, &len, &e), "missing");
#undef FAILS
    T_CHECK(tk_gguf_get_i64(g, "neg", &i, &e) == TK_OK && i == -1, "neg as i64");
    T_CHECK(tk_gguf_get_i64(g, "big", &i, &e) == TK_OK && i == 1LL << 40, "big as i64");
    T_CHECK(tk_gguf_get_f32(g, "f64inf", &f, &e) == TK_OK && isinf(f), "inf passes");
    T_CHECK(tk_gguf_arr_i64(g, "missing", 0, &i) == TK_EINVAL && tk_gguf_arr_i64(g, "u8", 0, &i) == TK_EINVAL, "not arrays");
    T_CHECK(tk_gguf_arr_sub(g, "arr", 0, &et, &n) == TK_EINVAL, "not an array of arrays");
    tk_gguf_free(g);
    free(p);
}

static void test_render(void) {
    tg_builder *b = tg_new(3);
    tg_kv_u32(b, "u32", 4000000000u);
    tg_kv_i8(b, "i8", -3);
    tg_kv_f32(b, "f32", 1e-5f);
    tg_kv_bool(b, "bool", 0);
    tg_kv_str(b, "str", "tab\there \"q\" \x01");
    char long_str[200];
    memset(long_str, 'x', sizeof long_str - 1);
    long_str[sizeof long_str - 1] = 0;
    tg_kv_str(b, "long", long_str);
    const char *strs[] = {"<unk>", "<s>", "</s>", "a", "b"};
    tg_kv_arr_str(b, "strs", strs, 5);
    tg_kv_arr_str(b, "two", strs, 2);
    int32_t ints[12] = {1, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    tg_kv_arr_i32(b, "ints", ints, 12);
    add_nested(b);
    size_t size;
    unsigned char *p = tg_bytes(b, &size);
    tg_free(b);
    tk_gguf *g;
    tk_error e = {0};
    T_CHECK(tk_gguf_parse(&g, p, size, &e) == TK_OK, "%s", e.msg);
    static const struct { const char *key, *want; } cases[] = {
        {"u32", "4000000000"},
        {"i8", "-3"},
        {"f32", "1e-05"},
        {"bool", "false"},
        {"str", "\"tab\\there \\\"q\\\" \\x01\""},
        {"strs", "[STRING x 5] \"<unk>\", \"<s>\", \"</s>\", ..."},
        {"two", "[STRING x 2] \"<unk>\", \"<s>\""},
        {"ints", "[INT32 x 12] 1, -2, 3, 4, 5, 6, 7, 8, ..."},
        {"nested.u32", "[ARRAY x 3] [UINT32 x 3], [UINT32 x 0], [UINT32 x 1]"},
    };
    char buf[256];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int r = tk_gguf_render(g, tk_gguf_find(g, cases[k].key), buf, sizeof buf);
        T_CHECK(!strcmp(buf, cases[k].want) && r == (int)strlen(buf), "%s: got '%s' want '%s'", cases[k].key, buf, cases[k].want);
    }
    tk_gguf_render(g, tk_gguf_find(g, "long"), buf, sizeof buf);
    T_CHECK(strlen(buf) == 65 && !strcmp(buf + 61, "...\""), "long string truncated: %s", buf);
    T_CHECK(tk_gguf_render(g, tk_gguf_find(g, "strs"), buf, 8) == 7 && !strcmp(buf, "[STRING"), "small buffer: '%s'", buf);
    T_CHECK(tk_gguf_render(g, 99, buf, sizeof buf) == TK_EINVAL && buf[0] == 0, "bad index");
    T_CHECK(!strcmp(tk_gguf_type_name(TK_GGUF_FLOAT64), "FLOAT64") && !strcmp(tk_gguf_type_name(13), "?"), "type names");
    tk_gguf_free(g);
    free(p);
}

/* ---- corrupt input ----------------------------------------------------------- */

/* A small valid file: a few keys, two tensors. */
static tg_builder *small(void) {
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "llama");
    tg_kv_u32(b, "llama.block_count", 1);
    const char *toks[] = {"<unk>", "<s>", "</s>"};
    tg_kv_arr_str(b, "tokenizer.ggml.tokens", toks, 3);
    int64_t ne[] = {8, 2}, nq[] = {32};
    tg_tensor(b, "w.f32", TK_F32, 2, ne, NULL, 0);
    tg_tensor(b, "w.q8", TK_Q8_0, 1, nq, NULL, 0);
    return b;
}

static void test_small_ok(void) {
    tg_builder *b = small();
    size_t n;
    unsigned char *p = tg_bytes(b, &n);
    tk_error e = {0};
    T_CHECK(parse_copy(p, n, &e) == TK_OK, "%s", e.msg);
    free(p);
    tg_free(b);
    /* Header-only files (vocab style) may end before the padded data offset. */
    b = tg_new(3);
    tg_kv_str(b, "k", "abc");
    p = tg_bytes(b, &n);
    T_CHECK(n == 48 && parse_copy(p, n, &e) == TK_OK, "%zu bytes: %s", n, e.msg);
    free(p);
    tg_free(b);
}

static void test_bad_header(void) {
    tk_error e = {0};
    T_CHECK(parse_copy("", 0, &e) == TK_EFORMAT && strstr(e.msg, "bytes"), "empty: %s", e.msg);
    tg_builder *b = small();
    size_t n;
    unsigned char *p = tg_bytes(b, &n);
    memcpy(p, "GGML", 4);
    T_CHECK(parse_copy(p, n, &e) == TK_EFORMAT && strstr(e.msg, "magic"), "magic: %s", e.msg);
    free(p);
    tg_free(b);
    check_fail("version 1", tg_new(1), TK_EUNSUPPORTED, "version 1");
    check_fail("version 4", tg_new(4), TK_EUNSUPPORTED, "version 4");
    check_fail("version 0", tg_new(0), TK_EUNSUPPORTED, "version");
    check_fail("big-endian", tg_new(0x03000000), TK_EUNSUPPORTED, "big-endian");
    b = small();
    tg_set_n_kv(b, 1ULL << 62);
    check_fail("huge n_kv", b, TK_EFORMAT, "fit");
    b = small();
    tg_set_n_tensors(b, 1ULL << 62);
    check_fail("huge n_tensors", b, TK_EFORMAT, "fit");
    b = small();
    tg_set_n_kv(b, UINT64_MAX);
    check_fail("n_kv 2^64-1", b, TK_EFORMAT, "fit");
    b = small();
    tg_set_n_kv(b, 4);
    check_fail("one key too many", b, TK_EFORMAT, "");
    b = small();
    tg_set_n_tensors(b, 3);
    check_fail("one tensor too many", b, TK_EFORMAT, "");
}

static void test_prefixes(void) {
    tg_builder *b = small();
    size_t n;
    unsigned char *p = tg_bytes(b, &n);
    tg_free(b);
    tk_error e = {0};
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        int rc = parse_copy(p, k, &e);
        if (rc != TK_EFORMAT) bad++, printf("  prefix %zu of %zu: status %d (%s)\n", k, n, rc, e.msg);
    }
    T_CHECK(bad == 0, "%d of %zu prefixes not rejected as TK_EFORMAT", bad, n);
    free(p);

    const char *path = t_shared("models/stories260K.gguf", STORIES_SHA);
    if (!path) T_SKIP("../shared/models/stories260K.gguf is absent; built-file prefixes checked");
    size_t sn;
    char *s = t_read(path, &sn);
    T_CHECK(s != NULL, "read %s", path);
    if (!s) return;
    bad = 0;
    int tried = 0;
    for (size_t k = 0; k < 65536 && k < sn; k += 97, tried++)
        if (parse_copy(s, k, &e) != TK_EFORMAT) bad++;
    for (size_t k = sn - 1; k > sn - 8; k--, tried++)
        if (parse_copy(s, k, &e) != TK_EFORMAT || !strstr(e.msg, "blk.4.ffn_norm.weight")) bad++;
    T_CHECK(bad == 0, "%d of %d stories260K prefixes not rejected (%s)", bad, tried, e.msg);
    free(s);
}

static void test_bad_values(void) {
    tg_buf w = {0};
    tg_builder *b = small();
    tg_put_u64(&w, 1ULL << 62);
    tg_put(&w, "abc", 3);
    tg_kv_raw(b, "bad.str", TK_GGUF_STRING, w.p, w.n);
    check_fail("huge string", b, TK_EFORMAT, "past the end");

    const uint32_t elem[] = {TK_GGUF_UINT32, TK_GGUF_UINT64, TK_GGUF_STRING, TK_GGUF_ARRAY};
    for (int k = 0; k < 4; k++) {
        w.n = 0;
        tg_put_arr(&w, elem[k], 1ULL << 62);
        tg_put_u64(&w, 0);
        b = small();
        tg_kv_raw(b, "bad.arr", TK_GGUF_ARRAY, w.p, w.n);
        check_fail("huge array", b, TK_EFORMAT, "fit");
    }
    w.n = 0;
    tg_put_arr(&w, TK_GGUF_UINT64, (1ULL << 61) + 1); /* count x 8 wraps to 8 */
    tg_put_u64(&w, 0);
    b = small();
    tg_kv_raw(b, "bad.arr", TK_GGUF_ARRAY, w.p, w.n);
    check_fail("wrapping array size", b, TK_EFORMAT, "fit");

    b = small();
    add_deep(b, "deep9", 9);
    check_fail("nested too deep", b, TK_EFORMAT, "deep");
    b = small();
    tg_kv_raw(b, "bad.type", 13, "\0\0\0\0", 4);
    check_fail("unknown value type", b, TK_EFORMAT, "unknown value type 13");
    w.n = 0;
    tg_put_arr(&w, 99, 1);
    b = small();
    tg_kv_raw(b, "bad.elem", TK_GGUF_ARRAY, w.p, w.n);
    check_fail("unknown element type", b, TK_EFORMAT, "element type 99");
    b = small();
    tg_kv_str(b, "llama.block_count", "again");
    check_fail("duplicate key", b, TK_EFORMAT, "duplicate key 'llama.block_count'");
    b = small();
    tg_kv_raw_key(b, "", 0, TK_GGUF_UINT8, "x", 1);
    check_fail("empty key", b, TK_EFORMAT, "empty");
    b = small();
    tg_kv_raw_key(b, "a\0b", 3, TK_GGUF_UINT8, "x", 1);
    check_fail("NUL in key", b, TK_EFORMAT, "NUL");

    /* Key length field (right after the 24-byte header) made huge. */
    b = small();
    size_t n;
    unsigned char *p = tg_bytes(b, &n);
    memset(p + 24, 0xff, 8);
    tk_error e = {0};
    T_CHECK(parse_copy(p, n, &e) == TK_EFORMAT && strstr(e.msg, "past the end"), "huge key length: %s", e.msg);
    free(p);
    tg_free(b);

    static const uint32_t bad_align[] = {0, 3, 48};
    for (int k = 0; k < 3; k++) {
        b = small();
        tg_kv_u32(b, "general.alignment", bad_align[k]);
        check_fail("bad alignment", b, TK_EFORMAT, "power of two");
    }
    b = small();
    tg_kv_u64(b, "general.alignment", 32);
    check_fail("alignment type", b, TK_EFORMAT, "UINT32");
    tg_buf_free(&w);
}

static void test_bad_tensors(void) {
    uint64_t dims[5] = {8, 2, 1, 1, 1};
    tg_builder *b = small();
    tg_tensor_set_dims(b, 0, 0, dims);
    check_fail("n_dims 0", b, TK_EFORMAT, "n_dims 0");
    b = small();
    tg_tensor_set_dims(b, 0, 5, dims);
    check_fail("n_dims 5", b, TK_EFORMAT, "n_dims 5");
    b = small();
    uint64_t zero[2] = {8, 0};
    tg_tensor_set_dims(b, 0, 2, zero);
    check_fail("zero dimension", b, TK_EFORMAT, "zero");
    b = small();
    uint64_t ovf[3] = {1ULL << 32, 1ULL << 32, 1ULL << 2};
    tg_tensor_set_dims(b, 0, 3, ovf);
    check_fail("element count overflow", b, TK_EFORMAT, "overflow");
    b = small();
    uint64_t big[1] = {1ULL << 63};
    tg_tensor_set_dims(b, 0, 1, big);
    check_fail("dimension > INT64_MAX", b, TK_EFORMAT, "overflow");
    b = small();
    uint64_t bytes_ovf[2] = {1ULL << 61, 4}; /* 2^63 elements... */
    tg_tensor_set_dims(b, 0, 2, bytes_ovf);
    check_fail("element count at INT64_MAX+1", b, TK_EFORMAT, "overflow");
    b = small();
    uint64_t f32big[2] = {1ULL << 61, 2}; /* 2^62 F32 elements: 2^64 bytes */
    tg_tensor_set_dims(b, 0, 2, f32big);
    check_fail("byte size overflow", b, TK_EFORMAT, "overflow");
    b = small();
    uint64_t q33[1] = {33};
    tg_tensor_set_dims(b, 1, 1, q33);
    check_fail("row not a multiple of the block", b, TK_EFORMAT, "block size 32");
    b = small();
    tg_tensor_set_type(b, 1, 99);
    check_fail("unknown type", b, TK_EFORMAT, "tensor 'w.q8': unknown type id 99");
    b = small();
    tg_tensor_set_type(b, 1, 0x80000005u);
    check_fail("unknown huge type", b, TK_EFORMAT, "unknown type id 2147483653");
    b = small();
    tg_tensor_set_type(b, 1, 4); /* a hole in the table (old Q4_2) */
    check_fail("removed type", b, TK_EFORMAT, "unknown type id 4");
    b = small();
    tg_tensor_set_offset(b, 1, 1ULL << 60);
    check_fail("offset past end", b, TK_EFORMAT, "past the end");
    b = small();
    tg_tensor_set_offset(b, 1, UINT64_MAX - 31);
    check_fail("offset wraps", b, TK_EFORMAT, "past the end");
    b = small();
    tg_tensor_set_offset(b, 1, 96); /* starts inside the file (98 data bytes), 34 bytes run past its end */
    check_fail("data past end", b, TK_EFORMAT, "tensor 'w.q8': data [offset");
    b = small();
    tg_tensor_set_offset(b, 1, 4);
    check_fail("misaligned offset", b, TK_EFORMAT, "alignment 32");
    b = small();
    tg_kv_u32(b, "general.alignment", 64);
    tg_tensor_set_offset(b, 1, 32);
    check_fail("misaligned for 64", b, TK_EFORMAT, "alignment 64");
    b = small();
    int64_t ne[1] = {4};
    tg_tensor(b, "w.f32", TK_F32, 1, ne, NULL, 0);
    check_fail("duplicate tensor", b, TK_EFORMAT, "duplicate tensor name 'w.f32'");
    b = small();
    tg_tensor(b, "", TK_F32, 1, ne, NULL, 0);
    check_fail("empty tensor name", b, TK_EFORMAT, "empty");
    b = small();
    tg_tensor(b, "bad\x01name\n", 77, 1, ne, NULL, 16);
    check_fail("name escaped in messages", b, TK_EFORMAT, "'bad\\x01name\\n'");
}

static void test_open_errors(void) {
    tk_gguf *g = (tk_gguf *)1;
    tk_error e = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/missing.gguf", t_tmpdir());
    T_CHECK(tk_gguf_open(&g, path, &e) == TK_EIO && g == NULL && strstr(e.msg, path), "missing: %s", e.msg);
    tg_builder *b = small();
    tg_tensor_set_offset(b, 1, 4);
    snprintf(path, sizeof path, "%s/misaligned.gguf", t_tmpdir());
    T_CHECK(tg_write(b, path) == 0, "write %s", path);
    tg_free(b);
    T_CHECK(tk_gguf_open(&g, path, &e) == TK_EFORMAT && !strncmp(e.msg, path, strlen(path)) && strstr(e.msg, "w.q8"),
            "prefixed with the path: %s", e.msg);
    b = small();
    snprintf(path, sizeof path, "%s/ok.gguf", t_tmpdir());
    T_CHECK(tg_write(b, path) == 0, "write %s", path);
    tg_free(b);
    T_CHECK(tk_gguf_open(&g, path, &e) == TK_OK && tk_gguf_n_tensors(g) == 2, "open: %s", e.msg);
    if (g) tk_gguf_free(g);
    snprintf(path, sizeof path, "%s/empty.gguf", t_tmpdir());
    t_write(path, "", 0);
    T_CHECK(tk_gguf_open(&g, path, &e) == TK_EFORMAT && strstr(e.msg, "empty.gguf"), "empty file: %s", e.msg);
}

int main(void) {
    T_RUN(test_stories260k);
    T_RUN(test_golden_tiny256);
    T_RUN(test_vocab_files);
    T_RUN(test_llama2_tiny_random);
    T_RUN(test_roundtrip);
    T_RUN(test_getter_errors);
    T_RUN(test_render);
    T_RUN(test_small_ok);
    T_RUN(test_bad_header);
    T_RUN(test_prefixes);
    T_RUN(test_bad_values);
    T_RUN(test_bad_tensors);
    T_RUN(test_open_errors);
    return t_done();
}
