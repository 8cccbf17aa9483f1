/* synth.c: random-weight Llama GGUF files (see synth.h). */
#include "synth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "formats/gguf.h"
#include "formats/gguf_write.h"
#include "formats/quantize.h"
#include "tensor/dtype.h"

#define TOKEN_TYPE_UNUSED 5
#define PAD_SCORE -1000.0f

/* ---- shapes ------------------------------------------------------------------ */

typedef struct named {
    const char *name, *arch;
    int embd, layers, heads, kv_heads, ffn, vocab, ctx, tied;
    float rope_base, rms_eps;
} named;

static const named SHAPES[] = {
    {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000, 2048, 0, 10000.0f, 1e-5f},
    {"stories110m", "llama", 768, 12, 12, 12, 2048, 32000, 1024, 1, 10000.0f, 1e-5f},
    {"stories15m", "llama", 288, 6, 6, 6, 768, 32000, 256, 1, 10000.0f, 1e-5f},
    {"llama2-7b", "llama", 4096, 32, 32, 32, 11008, 32000, 4096, 0, 10000.0f, 1e-5f},
    {"llama3-8b", "llama", 4096, 32, 32, 8, 14336, 128256, 8192, 0, 500000.0f, 1e-5f},
    {"qwen2-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1, 1000000.0f, 1e-6f},
};

const char *tk_synth_shape_list(void) { return "tinyllama-1.1b, stories110m, stories15m, llama2-7b, llama3-8b, qwen2-0.5b"; }

int tk_synth_shape_named(const char *name, tk_synth_shape *out, tk_error *e) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        const named *s = &SHAPES[i];
        if (strcmp(name, s->name)) continue;
        snprintf(out->name, sizeof out->name, "%s", s->name);
        snprintf(out->arch, sizeof out->arch, "%s", s->arch);
        out->n_embd = s->embd, out->n_layer = s->layers, out->n_head = s->heads, out->n_head_kv = s->kv_heads;
        out->n_ff = s->ffn, out->n_vocab = s->vocab, out->n_ctx = s->ctx, out->tied = s->tied;
        out->rope_base = s->rope_base, out->rms_eps = s->rms_eps;
        return TK_OK;
    }
    return tk_err(e, TK_EINVAL, "unknown shape '%s' (known: %s; or give explicit dims)", name, tk_synth_shape_list());
}

int tk_synth_shape_check(const tk_synth_shape *s, int type, tk_error *e) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    if (!t || !t->from_float) return tk_err(e, TK_EINVAL, "type %s cannot be written", tk_dtype_name(type));
    if (s->arch[0] && strcmp(s->arch, "llama") && strcmp(s->arch, "qwen2"))
        return tk_err(e, TK_EINVAL, "architecture '%.16s' cannot be synthesized (llama, qwen2)", s->arch);
#define RANGE(v, lo, hi, what) \
    if ((v) < (lo) || (v) > (hi)) return tk_err(e, TK_EINVAL, "%s %d is out of range [%d, %d]", what, (v), (lo), (hi))
    RANGE(s->n_embd, 1, 1 << 16, "embedding size");
    RANGE(s->n_layer, 1, 1024, "layer count");
    RANGE(s->n_head, 1, 1 << 12, "head count");
    RANGE(s->n_head_kv, 1, s->n_head, "KV head count");
    RANGE(s->n_ff, 1, 1 << 18, "FFN size");
    RANGE(s->n_vocab, 0, 1 << 22, "vocabulary size");
    RANGE(s->n_ctx, 1, 1 << 24, "context length");
#undef RANGE
    if (s->n_embd % s->n_head)
        return tk_err(e, TK_EINVAL, "embedding size %d is not a multiple of the head count %d", s->n_embd, s->n_head);
    if (s->n_head % s->n_head_kv)
        return tk_err(e, TK_EINVAL, "head count %d is not a multiple of the KV head count %d", s->n_head, s->n_head_kv);
    if ((s->n_embd / s->n_head) % 2)
        return tk_err(e, TK_EINVAL, "head size %d (embedding %d / %d heads) is odd; RoPE needs it even",
                      s->n_embd / s->n_head, s->n_embd, s->n_head);
    if (s->n_embd % t->block)
        return tk_err(e, TK_EINVAL, "embedding size %d is not a multiple of the %s block size %d", s->n_embd, t->name, t->block);
    if (s->n_ff % t->block)
        return tk_err(e, TK_EINVAL, "FFN size %d is not a multiple of the %s block size %d", s->n_ff, t->name, t->block);
    if (!(s->rope_base > 0.0f) || !(s->rms_eps > 0.0f))
        return tk_err(e, TK_EINVAL, "rope base and RMS epsilon must be positive");
    return TK_OK;
}

/* ---- random rows ------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Row r of tensor id: n values ~ N(0, 0.02). The sum of four 16-bit
 * uniforms has mean 2 * 65535 and standard deviation 65536 / sqrt(3). */
static void random_row(uint64_t seed, uint64_t id, uint64_t r, float *dst, int64_t n) {
    uint64_t s = seed ^ (id * 0xD1B54A32D192ED03ull) ^ (r * 0x8CB92BA72F3D8DD7ull), st;
    st = splitmix64(&s); /* decorrelate nearby seeds */
    s = st;
    const float scale = 0.02f / 37837.23f;
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = splitmix64(&s);
        int32_t sum = (int32_t)(x & 0xffff) + (int32_t)((x >> 16) & 0xffff) + (int32_t)((x >> 32) & 0xffff) +
                      (int32_t)(x >> 48) - 2 * 65535;
        dst[i] = (float)sum * scale;
    }
}

typedef struct job job;

typedef struct stensor {
    job *j;
    char name[64];
    uint64_t id;
    int type, n_dims, norm;
    int64_t ne[2];
    uint64_t row_bytes, n_rows;
} stensor;

struct job {
    const tk_synth_opts *o;
    tk_pool *pool;
    float **scratch;          /* [threads] one row of floats each */
    const stensor *cur;
    int64_t row0, n;
    unsigned char *dst;
};

static void make_rows(const stensor *t, float *scratch, int64_t r0, int64_t r1, int64_t base, unsigned char *dst) {
    const tk_dtype_traits *tr = tk_dtype_get(t->type);
    for (int64_t r = r0; r < r1; r++) {
        if (t->norm) {
            for (int64_t i = 0; i < t->ne[0]; i++) scratch[i] = 1.0f;
        } else {
            random_row(t->j->o->seed, t->id, (uint64_t)r, scratch, t->ne[0]);
        }
        tr->from_float(scratch, dst + (uint64_t)(r - base) * t->row_bytes, t->ne[0]);
    }
}

static void pool_rows(void *ctx, int ith, int nth) {
    job *j = ctx;
    int64_t a, b;
    tk_split(j->n, ith, nth, &a, &b);
    make_rows(j->cur, j->scratch[ith], j->row0 + a, j->row0 + b, j->row0, j->dst);
}

static int rows_fn(void *ctx, int64_t row0, int64_t n, void *dst, tk_error *e) {
    (void)e;
    stensor *t = ctx;
    job *j = t->j;
    if (j->pool && n > 1) {
        j->cur = t, j->row0 = row0, j->n = n, j->dst = dst;
        tk_pool_run(j->pool, pool_rows, j);
    } else {
        make_rows(t, j->scratch[0], row0, row0 + n, row0, dst);
    }
    if ((uint64_t)(row0 + n) == t->n_rows && j->o->progress)
        j->o->progress(j->o->ctx, t->name, t->type, t->row_bytes * t->n_rows);
    return TK_OK;
}

/* ---- vocabulary ------------------------------------------------------------- */

static int is_tokenizer_key(void *ctx, const char *key) {
    (void)ctx;
    return !strncmp(key, "tokenizer.", 10);
}

/* Re-set tokens, scores and token types with n_pad "<unused_ID>" tokens
 * after the n_tok of the file. */
static int pad_vocab(tk_gguf_writer *w, const tk_gguf *v, const char *path, uint64_t n_tok, uint64_t n_pad, tk_error *e) {
    uint64_t n = n_tok + n_pad;
    const char **txt = malloc(n * sizeof *txt);
    uint64_t *len = malloc(n * sizeof *len);
    char *pads = malloc(n_pad * 24 + 1);
    float *sc = malloc(n * sizeof *sc);
    int32_t *ty = malloc(n * sizeof *ty);
    int rc = TK_OK, et;
    uint64_t cnt;
    if (!txt || !len || !pads || !sc || !ty) {
        rc = tk_err(e, TK_ENOMEM, "out of memory padding the vocabulary");
        goto done;
    }
    for (uint64_t i = 0; i < n_tok && rc == TK_OK; i++)
        if (tk_gguf_arr_str(v, "tokenizer.ggml.tokens", i, &txt[i], &len[i]) != TK_OK)
            rc = tk_err(e, TK_EFORMAT, "%s: tokenizer.ggml.tokens[%" PRIu64 "] is not a string", path, i);
    for (uint64_t i = 0; i < n_pad; i++) {
        char *p = pads + i * 24;
        len[n_tok + i] = (uint64_t)snprintf(p, 24, "<unused_%" PRIu64 ">", n_tok + i);
        txt[n_tok + i] = p;
    }
    if (rc == TK_OK) rc = tk_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", txt, len, n, e);
    /* Scores and types, when the file has them for every token. */
    if (rc == TK_OK && tk_gguf_get_arr(v, "tokenizer.ggml.scores", &et, &cnt, NULL) == TK_OK) {
        if (cnt != n_tok) {
            rc = tk_err(e, TK_EFORMAT, "%s: %" PRIu64 " scores for %" PRIu64 " tokens", path, cnt, n_tok);
            goto done;
        }
        for (uint64_t i = 0; i < n_tok; i++) {
            double d;
            if (tk_gguf_arr_f64(v, "tokenizer.ggml.scores", i, &d) != TK_OK) {
                rc = tk_err(e, TK_EFORMAT, "%s: tokenizer.ggml.scores[%" PRIu64 "] is not a number", path, i);
                goto done;
            }
            sc[i] = (float)d;
        }
        for (uint64_t i = n_tok; i < n; i++) sc[i] = PAD_SCORE;
        rc = tk_gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", sc, n, e);
    }
    if (rc == TK_OK && tk_gguf_get_arr(v, "tokenizer.ggml.token_type", &et, &cnt, NULL) == TK_OK) {
        if (cnt != n_tok) {
            rc = tk_err(e, TK_EFORMAT, "%s: %" PRIu64 " token types for %" PRIu64 " tokens", path, cnt, n_tok);
            goto done;
        }
        for (uint64_t i = 0; i < n_tok; i++) {
            int64_t x;
            if (tk_gguf_arr_i64(v, "tokenizer.ggml.token_type", i, &x) != TK_OK || x < INT32_MIN || x > INT32_MAX) {
                rc = tk_err(e, TK_EFORMAT, "%s: tokenizer.ggml.token_type[%" PRIu64 "] is not an int32", path, i);
                goto done;
            }
            ty[i] = (int32_t)x;
        }
        for (uint64_t i = n_tok; i < n; i++) ty[i] = TOKEN_TYPE_UNUSED;
        rc = tk_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", ty, n, e);
    }
done:
    free(txt), free(len), free(pads), free(sc), free(ty);
    return rc;
}

/* ---- the file ---------------------------------------------------------------- */

static int add(tk_gguf_writer *w, stensor *ts, int *nt, job *j, const char *name, int type, int64_t cols, int64_t rows,
               tk_error *e) {
    stensor *t = &ts[*nt];
    memset(t, 0, sizeof *t);
    t->j = j;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->id = (uint64_t)*nt;
    t->type = type;
    t->norm = rows == 0;
    t->n_dims = rows ? 2 : 1;
    t->ne[0] = cols, t->ne[1] = rows ? rows : 1;
    t->row_bytes = tk_dtype_row_bytes(type, cols);
    t->n_rows = (uint64_t)t->ne[1];
    int rc = tk_gguf_writer_add_tensor_fn(w, t->name, type, t->n_dims, t->ne, rows_fn, t, e);
    if (rc < 0) return rc;
    (*nt)++;
    return TK_OK;
}

int tk_synth_write(const tk_synth_opts *o, const char *out_path, tk_synth_stats *stats, tk_error *e) {
    if (stats) memset(stats, 0, sizeof *stats);
    tk_synth_shape s = o->shape;
    int type = o->type, rc;
    if (type != TK_F32 && type != TK_F16 && type != TK_BF16 && type != TK_Q8_0 && type != TK_Q4_0)
        return tk_err(e, TK_EINVAL, "cannot write weights of type %s (supported: F32, F16, BF16, Q8_0, Q4_0)", tk_dtype_name(type));
    if (!o->vocab_path) return tk_err(e, TK_EINVAL, "a vocabulary file is required");

    tk_gguf *v = NULL;
    tk_gguf_writer *w = NULL;
    stensor *ts = NULL;
    job j = {0};
    j.o = o;
    int nth = o->n_threads > 1 ? o->n_threads : 1;
    if ((rc = tk_gguf_open(&v, o->vocab_path, e)) != TK_OK) return rc;
    int et;
    uint64_t n_tok;
    if (tk_gguf_get_arr(v, "tokenizer.ggml.tokens", &et, &n_tok, NULL) != TK_OK || et != TK_GGUF_STRING || n_tok == 0) {
        rc = tk_err(e, TK_EFORMAT, "%s: no vocabulary (tokenizer.ggml.tokens, an array of strings, is absent)", o->vocab_path);
        goto done;
    }
    if (s.n_vocab == 0) s.n_vocab = n_tok < (1u << 22) ? (int)n_tok : 1 << 22;
    if ((rc = tk_synth_shape_check(&s, type, e)) != TK_OK) goto done;
    if (n_tok > (uint64_t)s.n_vocab) {
        rc = tk_err(e, TK_EINVAL, "%s has %" PRIu64 " tokens, more than the %d of shape %s", o->vocab_path, n_tok,
                    s.n_vocab, s.name[0] ? s.name : "custom");
        goto done;
    }

    w = tk_gguf_writer_new();
    const char *arch = s.arch[0] ? s.arch : "llama";
    int qwen2 = !strcmp(arch, "qwen2");
    int max_t = 3 + 12 * s.n_layer;
    ts = calloc((size_t)max_t, sizeof *ts);
    j.scratch = calloc((size_t)nth, sizeof *j.scratch);
    if (!w || !ts || !j.scratch) {
        rc = tk_err(e, TK_ENOMEM, "out of memory");
        goto done;
    }
    int hd = s.n_embd / s.n_head;
    char name[160];
    snprintf(name, sizeof name, "tick-synth-%s", s.name[0] ? s.name : "custom");
#define KV(call) if ((rc = (call)) != TK_OK) goto done
    char key[64];
#define AK(k) (snprintf(key, sizeof key, "%s." k, arch), key)
    KV(tk_gguf_writer_set_str(w, "general.architecture", arch, e));
    KV(tk_gguf_writer_set_str(w, "general.name", name, e));
    KV(tk_gguf_writer_set_u32(w, AK("block_count"), (uint32_t)s.n_layer, e));
    KV(tk_gguf_writer_set_u32(w, AK("context_length"), (uint32_t)s.n_ctx, e));
    KV(tk_gguf_writer_set_u32(w, AK("embedding_length"), (uint32_t)s.n_embd, e));
    KV(tk_gguf_writer_set_u32(w, AK("feed_forward_length"), (uint32_t)s.n_ff, e));
    KV(tk_gguf_writer_set_u32(w, AK("attention.head_count"), (uint32_t)s.n_head, e));
    KV(tk_gguf_writer_set_u32(w, AK("attention.head_count_kv"), (uint32_t)s.n_head_kv, e));
    KV(tk_gguf_writer_set_f32(w, AK("rope.freq_base"), s.rope_base, e));
    KV(tk_gguf_writer_set_f32(w, AK("attention.layer_norm_rms_epsilon"), s.rms_eps, e));
    KV(tk_gguf_writer_set_u32(w, "general.file_type", (uint32_t)tk_ftype_of(type), e));
    KV(tk_gguf_writer_set_u32(w, AK("vocab_size"), (uint32_t)s.n_vocab, e));
    KV(tk_gguf_writer_set_u32(w, AK("rope.dimension_count"), (uint32_t)hd, e));
#undef AK
    KV(tk_gguf_writer_copy_kv(w, v, is_tokenizer_key, NULL, e));
    if (n_tok < (uint64_t)s.n_vocab) KV(pad_vocab(w, v, o->vocab_path, n_tok, (uint64_t)s.n_vocab - n_tok, e));
    if (type == TK_Q8_0 || type == TK_Q4_0) KV(tk_gguf_writer_set_u32(w, "general.quantization_version", 2, e));

    int nt = 0;
    int64_t E = s.n_embd, F = s.n_ff, Q = (int64_t)s.n_head * hd, KVD = (int64_t)s.n_head_kv * hd;
    KV(add(w, ts, &nt, &j, "token_embd.weight", type, E, s.n_vocab, e));
    for (int l = 0; l < s.n_layer; l++) {
        char n[64];
#define T(nm, ty, c, r) snprintf(n, sizeof n, "blk.%d." nm ".weight", l); KV(add(w, ts, &nt, &j, n, ty, c, r, e))
        T("attn_norm", TK_F32, E, 0);
        T("attn_q", type, E, Q);
        T("attn_k", type, E, KVD);
        T("attn_v", type, E, KVD);
        if (qwen2) { /* biases: random like the weights, not ones like the norms */
#define TB(nm, c) snprintf(n, sizeof n, "blk.%d." nm ".bias", l); KV(add(w, ts, &nt, &j, n, TK_F32, c, 0, e)); ts[nt - 1].norm = 0
            TB("attn_q", Q);
            TB("attn_k", KVD);
            TB("attn_v", KVD);
#undef TB
        }
        T("attn_output", type, Q, E);
        T("ffn_norm", TK_F32, E, 0);
        T("ffn_gate", type, E, F);
        T("ffn_down", type, F, E);
        T("ffn_up", type, E, F);
#undef T
    }
    KV(add(w, ts, &nt, &j, "output_norm.weight", TK_F32, E, 0, e));
    if (!s.tied) KV(add(w, ts, &nt, &j, "output.weight", type, E, s.n_vocab, e));
#undef KV

    int64_t max_ne0 = E > F ? E : F;
    for (int i = 0; i < nth; i++)
        if (!(j.scratch[i] = malloc((size_t)max_ne0 * sizeof(float)))) {
            rc = tk_err(e, TK_ENOMEM, "out of memory");
            goto done;
        }
    if (nth > 1 && !(j.pool = tk_pool_new(nth, e))) {
        rc = e ? e->code : TK_ENOMEM;
        goto done;
    }
    if ((rc = tk_gguf_writer_write(w, out_path, e)) != TK_OK) goto done;
    if (stats) {
        stats->n_tensors = nt;
        stats->n_vocab = s.n_vocab;
        stats->vocab_padded = (int)((uint64_t)s.n_vocab - n_tok);
        for (int i = 0; i < nt; i++) stats->n_params += (uint64_t)ts[i].ne[0] * (uint64_t)ts[i].ne[1];
        stats->file_bytes = tk_gguf_writer_size(w);
    }
done:
    if (j.pool) tk_pool_free(j.pool);
    if (j.scratch)
        for (int i = 0; i < nth; i++) free(j.scratch[i]);
    free(j.scratch);
    free(ts);
    tk_gguf_writer_free(w);
    tk_gguf_free(v);
    return rc;
}
