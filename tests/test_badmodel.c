/* test_badmodel.c: hostile model files. Every defect gets a non-OK status
 * and one message that names the problem; no crash, no out-of-bounds read
 * (this suite also runs under ASan + UBSan). */
#include "t.h"
#include "tick.h"
#include "util_gguf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { E = 16, F = 32, NV = 8, NL = 2 };

typedef struct spec {
    const char *skip;       /* tensor left out                    */
    const char *bad_shape;  /* tensor written with ne[0] doubled  */
    const char *bad_type;   /* tensor written as F16              */
    const char *ktype;      /* tensor written as Q4_K             */
    const char *dup;        /* tensor written twice               */
    int vocab_extra;        /* extra tokens in the vocabulary     */
    const char *arch;
    int drop_key;           /* leave out embedding_length         */
    int heads;              /* head_count (default 4)             */
} spec;

static float data[4 * E * F * NV];

static void tensor(tg_builder *b, const spec *s, const char *name, int64_t ne0, int64_t ne1) {
    if (s->skip && !strcmp(s->skip, name)) return;
    int64_t ne[2] = {ne0, ne1};
    int nd = ne1 ? 2 : 1;
    if (s->bad_shape && !strcmp(s->bad_shape, name)) ne[0] *= 2;
    int64_t n = ne[0] * (ne1 ? ne1 : 1);
    if (s->bad_type && !strcmp(s->bad_type, name)) {
        tg_tensor(b, name, 1, nd, ne, data, (size_t)n * 2);
    } else if (s->ktype && !strcmp(s->ktype, name)) {
        int64_t ne2[2] = {256, n / 256 ? n / 256 : 1};
        tg_tensor(b, name, 12, 2, ne2, data, (size_t)(ne2[1] * 144));
    } else {
        tg_tensor(b, name, 0, nd, ne, data, (size_t)n * 4);
    }
    if (s->dup && !strcmp(s->dup, name)) tg_tensor(b, name, 0, nd, ne, data, (size_t)n * 4);
}

static const char *build(const spec *s, const char *fname) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), fname);
    for (size_t i = 0; i < sizeof data / sizeof *data; i++) data[i] = (float)((i * 7919) % 97) / 97.0f - 0.5f;
    tg_builder *b = tg_new(3);
    const char *arch = s->arch ? s->arch : "llama";
    tg_kv_str(b, "general.architecture", arch);
    char k[64];
#define KEY(x) (snprintf(k, sizeof k, "%s." x, arch), k)
    if (!s->drop_key) tg_kv_u32(b, KEY("embedding_length"), E);
    tg_kv_u32(b, KEY("block_count"), NL);
    tg_kv_u32(b, KEY("feed_forward_length"), F);
    tg_kv_u32(b, KEY("attention.head_count"), s->heads ? (uint32_t)s->heads : 4);
    tg_kv_u32(b, KEY("attention.head_count_kv"), 2);
    tg_kv_u32(b, KEY("context_length"), 32);
    tg_kv_f32(b, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
    tg_kv_str(b, "tokenizer.ggml.model", "llama");
    const char *toks[NV + 4] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81" "a", "a", "b", "\xe2\x96\x81" "b", "ab", "c", "d", "e", "f"};
    float scores[NV + 4] = {0, 0, 0, -1, -2, -3, -4, -5, -6, -7, -8, -9};
    int32_t types[NV + 4] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int nv = NV + s->vocab_extra;
    tg_kv_arr_str(b, "tokenizer.ggml.tokens", toks, (size_t)nv);
    tg_kv_arr_f32(b, "tokenizer.ggml.scores", scores, (size_t)nv);
    tg_kv_arr_i32(b, "tokenizer.ggml.token_type", types, (size_t)nv);
    tg_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    tg_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    int kv = E / 4 * 2;
    tensor(b, s, "token_embd.weight", E, NV);
    tensor(b, s, "output_norm.weight", E, 0);
    for (int l = 0; l < NL; l++) {
        char n[64];
#define T(nm, a, c) (snprintf(n, sizeof n, "blk.%d." nm ".weight", l), tensor(b, s, n, a, c))
        T("attn_norm", E, 0);
        T("attn_q", E, E);
        T("attn_k", E, kv);
        T("attn_v", E, kv);
        T("attn_output", E, E);
        T("ffn_norm", E, 0);
        T("ffn_gate", E, F);
        T("ffn_down", F, E);
        T("ffn_up", E, F);
#undef T
    }
#undef KEY
    T_CHECK(tg_write(b, path) == 0, "write %s", path);
    tg_free(b);
    return path;
}

static void expect_fail(const spec *s, const char *word) {
    const char *p = build(s, "bad.gguf");
    tk_error e = {0};
    tk_model *m = tk_model_load(p, NULL, &e);
    T_CHECK(m == NULL, "loaded a model that should fail (%s)", word);
    T_CHECK(strstr(e.msg, word) != NULL && !strchr(e.msg, '\n'), "message '%s' should mention '%s'", e.msg, word);
    T_CHECK(strstr(e.msg, "bad.gguf") != NULL, "message '%s' names the file", e.msg);
    tk_model_free(m);
}

static void test_valid_baseline(void) {
    spec s = {0};
    const char *p = build(&s, "good.gguf");
    tk_error e = {0};
    tk_model *m = tk_model_load(p, NULL, &e);
    T_CHECK(m != NULL, "the well-formed model loads: %s", e.msg);
    if (!m) return;
    tk_session *ss = tk_session_new(m, NULL, &e);
    int32_t ids[2] = {1, 3};
    T_CHECK(ss && tk_prefill(ss, ids, 2, &e) == TK_OK && tk_logits(ss), "and runs: %s", e.msg);
    T_CHECK(tk_session_n_ctx(ss) == 32, "default context is the model's (32)");
    int32_t big[40] = {0};
    T_CHECK(tk_prefill(ss, big, 40, &e) == TK_ECONTEXT && strstr(e.msg, "context"), "over-long input: %s", e.msg);
    int32_t bad = 99;
    T_CHECK(tk_decode(ss, bad, &e) == TK_EINVAL && strstr(e.msg, "99"), "id out of range: %s", e.msg);
    tk_session_free(ss);
    tk_model_free(m);
}

static void test_defects(void) {
    spec s;
    s = (spec){.skip = "blk.1.ffn_up.weight"};
    expect_fail(&s, "missing tensor 'blk.1.ffn_up.weight'");
    s = (spec){.skip = "token_embd.weight"};
    expect_fail(&s, "token_embd.weight");
    s = (spec){.bad_shape = "blk.0.attn_q.weight"};
    expect_fail(&s, "blk.0.attn_q.weight: expected shape [16 x 16], file has [32 x 16]");
    s = (spec){.bad_type = "blk.0.attn_norm.weight"};
    expect_fail(&s, "blk.0.attn_norm.weight: expected type F32, file has F16");
    s = (spec){.ktype = "blk.0.ffn_gate.weight"};
    expect_fail(&s, "blk.0.ffn_gate.weight");
    s = (spec){.dup = "blk.0.ffn_down.weight"};
    expect_fail(&s, "blk.0.ffn_down.weight");
    s = (spec){.vocab_extra = 3};
    expect_fail(&s, "vocabulary has 11 tokens but token_embd.weight has 8 rows");
    s = (spec){.arch = "mamba"};
    expect_fail(&s, "mamba");
    s = (spec){.drop_key = 1};
    expect_fail(&s, "embedding_length");
    s = (spec){.heads = 3};
    expect_fail(&s, "head_count");
}

/* Every prefix of a small model file fails cleanly. */
static void test_every_prefix(void) {
    spec s = {0};
    const char *p = build(&s, "prefix.gguf");
    size_t n;
    char *full = t_read(p, &n);
    int ok = 0;
    for (size_t len = n; len-- > 0;) {
        T_CHECK(truncate(p, (off_t)len) == 0, "truncate");
        tk_error e = {0};
        tk_model *m = tk_model_load(p, NULL, &e);
        if (m) { T_CHECK(0, "prefix of %zu of %zu bytes loaded", len, n); tk_model_free(m); break; }
        ok += e.msg[0] != 0;
    }
    T_CHECK(ok == (int)n, "all %zu prefixes fail with a message (%d did)", n, ok);
    printf("  %zu prefixes of a %zu-byte GGUF model rejected\n", n, n);
    free(full);
}

/* Prefixes (strided) and header corruptions of the real llama2.c file. */
static void test_llama2c_corrupt(void) {
    const char *bin = t_shared("models/stories260K.bin", "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696");
    const char *tok = t_shared("models/tok512.bin", "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312");
    if (!bin || !tok) T_SKIP("stories260K.bin or tok512.bin absent");
    size_t n;
    unsigned char *d = (unsigned char *)t_read(bin, &n);
    char path[512];
    snprintf(path, sizeof path, "%s/corrupt.bin", t_tmpdir());
    tk_load_opts lo = {.tokenizer_path = tok};
    int rejected = 0, tried = 0;
    for (size_t len = 0; len < n; len += len < 64 ? 1 : 4099) {
        t_write(path, d, len);
        tk_error e = {0};
        tk_model *m = tk_model_load(path, &lo, &e);
        tried++;
        if (!m && e.msg[0]) rejected++;
        tk_model_free(m);
    }
    T_CHECK(rejected == tried, "%d of %d truncated llama2.c files rejected", rejected, tried);
    /* header fields: dim, hidden, layers, heads, kv_heads, vocab, seq_len */
    static const struct { int field; int32_t value; } bad[] = {
        {0, -64}, {0, 0}, {1, -1}, {2, 100000}, {3, 7}, {4, 3}, {4, 16}, {5, (int32_t)0x80000000}, {5, 1 << 30}, {6, 0}, {2, 6},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char *c = malloc(n);
        memcpy(c, d, n);
        memcpy(c + 4 * bad[i].field, &bad[i].value, 4);
        t_write(path, c, n);
        free(c);
        tk_error e = {0};
        tk_model *m = tk_model_load(path, &lo, &e);
        T_CHECK(m == NULL && e.msg[0] && !strchr(e.msg, '\n'), "header field %d = %d rejected: %s", bad[i].field, bad[i].value, e.msg);
        tk_model_free(m);
    }
    /* a tokenizer that does not fit the model */
    const char *big = t_shared("models/llama2-tokenizer.bin", NULL);
    if (big) {
        tk_load_opts lb = {.tokenizer_path = big};
        tk_error e = {0};
        tk_model *m = tk_model_load(bin, &lb, &e);
        T_CHECK(m == NULL && strstr(e.msg, "32000") && strstr(e.msg, "512"), "mismatched tokenizer: %s", e.msg);
        tk_model_free(m);
    }
    free(d);
}

static void test_gguf_real_prefixes(void) {
    const char *g = t_shared("models/stories260K.gguf", "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
    if (!g) T_SKIP("stories260K.gguf absent");
    size_t n;
    char *d = t_read(g, &n);
    char path[512];
    snprintf(path, sizeof path, "%s/prefix-real.gguf", t_tmpdir());
    int tried = 0, rejected = 0;
    for (size_t len = 0; len < n; len += len < 4096 ? 7 : 8191) {
        t_write(path, d, len);
        tk_error e = {0};
        tk_model *m = tk_model_load(path, NULL, &e);
        tried++;
        if (!m && e.msg[0]) rejected++;
        tk_model_free(m);
    }
    T_CHECK(rejected == tried, "%d of %d truncated stories260K.gguf rejected", rejected, tried);
    free(d);
}

int main(void) {
    T_RUN(test_valid_baseline);
    T_RUN(test_defects);
    T_RUN(test_every_prefix);
    T_RUN(test_llama2c_corrupt);
    T_RUN(test_gguf_real_prefixes);
    return t_done();
}
