/* model.c: open a model file (GGUF or llama2.c), read its hyper-parameters
 * and vocabulary, and bind every weight by name with its expected type and
 * shape. A mismatch names the tensor and says both, e.g.
 *   blk.3.attn_q.weight: expected [64 x 64], file has [64 x 32] */
#include "model.h"
#include "../base/status.h"
#include "../base/cpu.h"
#include "../base/threadpool.h"
#include "../tensor/dtype.h"
#include "../formats/hf.h"
#include "../tensor/pack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hyper-parameters from GGUF --------------------------------------- */

static int gguf_hparam(const tk_gguf *g, const char *arch, const char *key, int64_t *out,
                       int64_t def, int64_t lo, int64_t hi, tk_error *e) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (tk_gguf_find(g, k) < 0) {
        if (def < 0) return tk_err(e, TK_EFORMAT, "missing metadata key '%s'", k);
        *out = def;
        return TK_OK;
    }
    int rc = tk_gguf_get_i64(g, k, out, e);
    if (rc) return rc;
    if (*out < lo || *out > hi)
        return tk_err(e, TK_EFORMAT, "metadata %s = %lld is out of range [%lld, %lld]", k,
                      (long long)*out, (long long)lo, (long long)hi);
    return TK_OK;
}

static int gguf_hparam_f(const tk_gguf *g, const char *arch, const char *key, float *out,
                         float def, tk_error *e) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (tk_gguf_find(g, k) < 0) {
        *out = def;
        return TK_OK;
    }
    int rc = tk_gguf_get_f32(g, k, out, e);
    if (rc) return rc;
    if (!(*out > 0.0f) || *out > 1e12f)
        return tk_err(e, TK_EFORMAT, "metadata %s = %g is out of range", k, (double)*out);
    return TK_OK;
}

static void copy_str(char *dst, size_t cap, const char *s, uint64_t n) {
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, (size_t)n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20) dst[i] = '?';
}

static int load_gguf_meta(tk_model *m, int vocab_only, tk_error *e);

/* The architectures tick runs, and how each differs from Llama (the
 * conventions of llama.cpp's llama-arch.cpp / llama-model.cpp). */
static const struct arch_desc {
    const char *name;
    int id, norm, rope, ffn;
} ARCHS[] = {
    {"llama", TK_ARCH_LLAMA, TK_NORM_RMS, TK_ROPE_NORMAL, TK_FFN_SWIGLU},
    {"gpt2", TK_ARCH_GPT2, TK_NORM_LAYER, TK_ROPE_NONE, TK_FFN_GELU},
    {"qwen2", TK_ARCH_QWEN2, TK_NORM_RMS, TK_ROPE_NEOX, TK_FFN_SWIGLU},
    {"phi3", TK_ARCH_PHI3, TK_NORM_RMS, TK_ROPE_NEOX, TK_FFN_SWIGLU},
};

static int pick_arch(tk_model *m, tk_error *e) {
    for (size_t i = 0; i < sizeof ARCHS / sizeof *ARCHS; i++)
        if (!strcmp(m->arch, ARCHS[i].name)) {
            m->arch_id = ARCHS[i].id, m->norm_kind = ARCHS[i].norm;
            m->rope_kind = ARCHS[i].rope, m->ffn_kind = ARCHS[i].ffn;
            return TK_OK;
        }
    return tk_err(e, TK_EUNSUPPORTED, "architecture '%s' is not supported (supported: llama, gpt2, qwen2, phi3)", m->arch);
}

static int load_gguf(tk_model *m, const char *path, int vocab_only, tk_error *e) {
    int rc = tk_gguf_open(&m->gguf, path, e);
    if (rc) return rc;
    snprintf(m->format, sizeof m->format, "gguf v%u", tk_gguf_version(m->gguf));
    return load_gguf_meta(m, vocab_only, e);
}

/* A Hugging Face folder: its GGUF image (formats/hf.h), then the GGUF path. */
static int load_hf(tk_model *m, const char *path, int vocab_only, tk_error *e) {
    int rc = tk_hf_image(path, vocab_only, &m->hf_image, &m->hf_size, e);
    if (rc == TK_OK) rc = tk_gguf_parse(&m->gguf, m->hf_image, m->hf_size, e);
    if (rc) return rc;
    snprintf(m->format, sizeof m->format, "hf safetensors");
    return load_gguf_meta(m, vocab_only, e);
}

static int load_gguf_meta(tk_model *m, int vocab_only, tk_error *e) {
    int rc;
    tk_gguf *g = m->gguf;
    const char *s;
    uint64_t n;
    if ((rc = tk_gguf_get_str(g, "general.architecture", &s, &n, e))) return rc;
    copy_str(m->arch, sizeof m->arch, s, n);
    if (vocab_only) {
        if (tk_gguf_find(g, "general.name") >= 0 && tk_gguf_get_str(g, "general.name", &s, &n, NULL) == TK_OK)
            copy_str(m->name, sizeof m->name, s, n);
        return tk_vocab_from_gguf(&m->vocab, g, e);
    }
    if ((rc = pick_arch(m, e))) return rc;
    if (tk_gguf_find(g, "general.name") >= 0 && tk_gguf_get_str(g, "general.name", &s, &n, NULL) == TK_OK)
        copy_str(m->name, sizeof m->name, s, n);

    tk_model_info *I = &m->info;
    int64_t v;
    const char *a = m->arch;
#define HP(field, key, def, lo, hi) \
    if ((rc = gguf_hparam(g, a, key, &v, def, lo, hi, e))) return rc; \
    I->field = (int)v
    HP(n_embd, "embedding_length", -1, 1, 1 << 20);
    HP(n_layer, "block_count", -1, 1, 4096);
    HP(n_ff, "feed_forward_length", -1, 1, 1 << 22);
    HP(n_head, "attention.head_count", -1, 1, 1 << 14);
    HP(n_head_kv, "attention.head_count_kv", I->n_head, 1, I->n_head);
    HP(n_ctx_train, "context_length", 2048, 1, 1 << 24);
    if (I->n_embd % I->n_head) return tk_err(e, TK_EFORMAT, "embedding_length %d is not a multiple of head_count %d", I->n_embd, I->n_head);
    if (I->n_head % I->n_head_kv) return tk_err(e, TK_EFORMAT, "head_count %d is not a multiple of head_count_kv %d", I->n_head, I->n_head_kv);
    I->head_dim = I->n_embd / I->n_head;
    HP(rope_dim, "rope.dimension_count", I->head_dim, 2, I->head_dim);
#undef HP
    if (I->rope_dim % 2) return tk_err(e, TK_EFORMAT, "rope.dimension_count %d is odd", I->rope_dim);
    if ((rc = gguf_hparam_f(g, a, "attention.layer_norm_rms_epsilon", &I->rms_eps, 1e-5f, e))) return rc;
    if ((rc = gguf_hparam_f(g, a, "attention.layer_norm_epsilon", &m->norm_eps, 1e-5f, e))) return rc;
    if (m->norm_kind == TK_NORM_LAYER) I->rms_eps = m->norm_eps; /* the one epsilon `inspect` shows */
    /* Sliding-window attention. llama.cpp ignores phi3's key (its value
     * from the converters is unreliable; llama.cpp PR 13676), so does tick;
     * for the others llama.c refuses contexts larger than the window. */
    if ((rc = gguf_hparam(g, a, "attention.sliding_window", &v, 0, 0, 1 << 30, e))) return rc;
    m->n_swa = m->arch_id == TK_ARCH_PHI3 ? 0 : (int)v;
    if ((rc = gguf_hparam_f(g, a, "rope.freq_base", &I->rope_base, 10000.0f, e))) return rc;
    char k[128];
    snprintf(k, sizeof k, "%s.rope.scaling.type", a);
    if (tk_gguf_find(g, k) >= 0 && tk_gguf_get_str(g, k, &s, &n, NULL) == TK_OK && !(n == 4 && !memcmp(s, "none", 4)))
        return tk_err(e, TK_EUNSUPPORTED, "rope scaling '%.*s' is not supported yet", (int)(n > 32 ? 32 : n), s);

    if ((rc = tk_vocab_from_gguf(&m->vocab, g, e))) return rc;

    m->n_tensors = tk_gguf_n_tensors(g);
    m->tensors = calloc((size_t)m->n_tensors + 1, sizeof *m->tensors);
    if (!m->tensors) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int i = 0; i < m->n_tensors; i++) {
        const tk_gguf_tensor *t = tk_gguf_tensor_at(g, i);
        tk_tensor_desc *d = &m->tensors[i];
        d->name = t->name, d->type = t->type, d->n_dims = t->n_dims;
        memcpy(d->ne, t->ne, sizeof d->ne);
        d->nbytes = t->nbytes, d->data = t->data;
    }
    return TK_OK;
}

/* ---- llama2.c ------------------------------------------------------------ */

static int load_l2c(tk_model *m, const char *path, const tk_load_opts *o, tk_error *e) {
    int rc = tk_map_open(&m->map, path, e);
    if (rc) return rc;
    if ((rc = tk_l2c_parse(&m->l2c, m->map.data, m->map.size, e))) return rc;
    tk_l2c *c = &m->l2c;
    snprintf(m->format, sizeof m->format, "llama2.c v%d", c->version);
    snprintf(m->arch, sizeof m->arch, "llama");
    tk_model_info *I = &m->info;
    I->n_embd = c->dim, I->n_layer = c->n_layers, I->n_ff = c->hidden_dim;
    I->n_head = c->n_heads, I->n_head_kv = c->n_kv_heads, I->n_ctx_train = c->seq_len;
    I->head_dim = c->dim / c->n_heads, I->rope_dim = I->head_dim;
    I->rms_eps = 1e-5f, I->rope_base = 10000.0f;
    m->rope_pow = 1;
    m->bos_is_eog = 1;

    /* The tokenizer: -z, else tokenizer.bin beside the checkpoint. */
    char tpath[4096];
    if (o && o->tokenizer_path) {
        snprintf(tpath, sizeof tpath, "%s", o->tokenizer_path);
    } else {
        const char *slash = strrchr(path, '/');
        int dirlen = slash ? (int)(slash - path + 1) : 0;
        snprintf(tpath, sizeof tpath, "%.*stokenizer.bin", dirlen, path);
        FILE *f = fopen(tpath, "rb");
        if (!f) return tk_err(e, TK_EINVAL, "llama2.c checkpoint needs a tokenizer: pass -z tokenizer.bin (none found at %s)", tpath);
        fclose(f);
    }
    tk_map tm;
    if ((rc = tk_map_open(&tm, tpath, e))) return rc;
    rc = tk_vocab_from_llama2c(&m->vocab, tm.data, tm.size, c->vocab_size, e);
    tk_map_close(&tm);
    if (rc) {
        tk_err_prefix(e, tpath);
        return rc;
    }

    m->n_tensors = c->n_tensors;
    m->tensors = calloc((size_t)m->n_tensors + 1, sizeof *m->tensors);
    if (!m->tensors) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int i = 0; i < c->n_tensors; i++) {
        tk_tensor_desc *d = &m->tensors[i];
        const tk_l2c_tensor *t = &c->tensors[i];
        d->name = t->name, d->type = TK_F32, d->n_dims = t->n_dims;
        d->ne[0] = t->ne[0], d->ne[1] = t->n_dims > 1 ? t->ne[1] : 1, d->ne[2] = d->ne[3] = 1;
        d->nbytes = (uint64_t)t->ne[0] * (uint64_t)(t->n_dims > 1 ? t->ne[1] : 1) * 4;
        d->data = t->data;
    }
    return TK_OK;
}

/* ---- binding ------------------------------------------------------------ */

enum { USE_NORM, USE_MATMUL, USE_ROWS };

static const tk_tensor_desc *find(const tk_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

static void fmt_shape(char *buf, size_t cap, int n_dims, const int64_t *ne) {
    int o = snprintf(buf, cap, "[");
    for (int i = 0; i < n_dims && o < (int)cap; i++)
        o += snprintf(buf + o, cap - (size_t)o, i ? " x %lld" : "%lld", (long long)ne[i]);
    if (o < (int)cap) snprintf(buf + o, cap - (size_t)o, "]");
}

/* Bind `name` expecting shape [cols] (rows == 0) or [cols x rows]. */
static int bind(const tk_model *m, tk_weight *w, const char *name, int64_t cols, int64_t rows,
                int use, int optional, tk_error *e) {
    const tk_tensor_desc *d = find(m, name);
    memset(w, 0, sizeof *w);
    if (!d) return optional ? TK_OK : tk_err(e, TK_EFORMAT, "missing tensor '%s'", name);
    int want_dims = rows ? 2 : 1;
    int64_t want[2] = {cols, rows};
    int ok = d->n_dims == want_dims && d->ne[0] == cols && (!rows || d->ne[1] == rows);
    if (!ok) {
        char a[80], b[80];
        fmt_shape(a, sizeof a, want_dims, want);
        fmt_shape(b, sizeof b, d->n_dims, d->ne);
        return tk_err(e, TK_EFORMAT, "%s: expected shape %s, file has %s", name, a, b);
    }
    const tk_dtype_traits *t = tk_dtype_get(d->type);
    if (use == USE_NORM && d->type != TK_F32)
        return tk_err(e, TK_EFORMAT, "%s: expected type F32, file has %s", name, tk_dtype_name(d->type));
    if (use == USE_MATMUL && (!t || !t->vec_dot))
        return tk_err(e, TK_EUNSUPPORTED, "%s: type %s is not supported for matrix multiplication yet", name, tk_dtype_name(d->type));
    if (use == USE_ROWS && (!t || !t->to_float))
        return tk_err(e, TK_EUNSUPPORTED, "%s: type %s cannot be converted to float yet", name, tk_dtype_name(d->type));
    w->type = d->type, w->cols = cols, w->rows = rows ? rows : 1, w->data = d->data;
    return TK_OK;
}

/* Rows [r0, r0 + n) of w as a weight of their own (a part of a fused
 * tensor: each row is whole blocks, so any row starts a view). For a
 * vector (rows == 1): elements [r0, r0 + n). */
static tk_weight rows_of(const tk_weight *w, int64_t r0, int64_t n) {
    tk_weight v = *w;
    if (!w->data) return v;
    if (w->rows == 1) {
        v.cols = n;
        v.data = (const float *)w->data + r0;
    } else {
        v.rows = n;
        v.data = (const unsigned char *)w->data + (size_t)r0 * tk_dtype_row_bytes(w->type, w->cols);
    }
    return v;
}

static int bind_all(tk_model *m, tk_error *e) {
    tk_model_info *I = &m->info;
    int64_t E = I->n_embd, F = I->n_ff, Q = (int64_t)I->n_head * I->head_dim;
    int64_t KV = (int64_t)I->n_head_kv * I->head_dim;
    I->n_vocab = tk_vocab_n(m->vocab);
    if (m->n_tensors == 0)
        return tk_err(e, TK_EFORMAT, "no tensors: a vocabulary-only %s file (tick tokenize reads it; running needs weights)", m->arch);
    const tk_tensor_desc *te = find(m, "token_embd.weight");
    if (te && te->n_dims == 2 && te->ne[0] == E && te->ne[1] != I->n_vocab)
        return tk_err(e, TK_EFORMAT, "vocabulary has %d tokens but token_embd.weight has %lld rows", I->n_vocab, (long long)te->ne[1]);
    int rc;
    if ((rc = bind(m, &m->tok_embd, "token_embd.weight", E, I->n_vocab, USE_ROWS, 0, e))) return rc;
    int layer_norm = m->norm_kind == TK_NORM_LAYER, gpt2 = m->arch_id == TK_ARCH_GPT2;
    int qwen2 = m->arch_id == TK_ARCH_QWEN2, phi3 = m->arch_id == TK_ARCH_PHI3;
    if (gpt2 && (rc = bind(m, &m->pos_embd, "position_embd.weight", E, I->n_ctx_train, USE_ROWS, 0, e))) return rc;
    if ((rc = bind(m, &m->output_norm, "output_norm.weight", E, 0, USE_NORM, 0, e))) return rc;
    if ((rc = bind(m, &m->output_norm_b, "output_norm.bias", E, 0, USE_NORM, !layer_norm, e))) return rc;
    if ((rc = bind(m, &m->output, "output.weight", E, I->n_vocab, USE_MATMUL, 1, e))) return rc;
    if ((rc = bind(m, &m->output_b, "output.bias", I->n_vocab, 0, USE_NORM, 1, e))) return rc;
    if (find(m, "rope_factors_long.weight") || find(m, "rope_factors_short.weight"))
        return tk_err(e, TK_EUNSUPPORTED, "LongRoPE (rope_factors_long/short, Phi-3 128k models) is not supported yet");
    I->tied_output = m->output.data == NULL;
    if (I->tied_output) {
        if ((rc = bind(m, &m->output, "token_embd.weight", E, I->n_vocab, USE_MATMUL, 0, e))) return rc;
    }
    m->layers = calloc((size_t)I->n_layer, sizeof *m->layers);
    if (!m->layers) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int l = 0; l < I->n_layer; l++) {
        tk_layer *L = &m->layers[l];
        char n[96];
        tk_weight fused;
#define BX(dst, nm, suffix, c, r, use, optional)                                \
    do {                                                                        \
        snprintf(n, sizeof n, "blk.%d." nm "." suffix, l);                      \
        if ((rc = bind(m, dst, n, c, r, use, optional, e))) return rc;          \
    } while (0)
#define B(field, nm, c, r, use) BX(&L->field, nm, "weight", c, r, use, 0)
#define BIAS(field, nm, c, optional) BX(&L->field, nm, "bias", c, 0, USE_NORM, optional)
        B(attn_norm, "attn_norm", E, 0, USE_NORM);
        if (layer_norm) BIAS(attn_norm_b, "attn_norm", E, 0);
        /* Q, K, V: one fused tensor (GPT-2 always, Phi-3 mostly) or three */
        snprintf(n, sizeof n, "blk.%d.attn_qkv.weight", l);
        if (gpt2 || (phi3 && find(m, n))) {
            BX(&fused, "attn_qkv", "weight", E, Q + 2 * KV, USE_MATMUL, 0);
            L->wq = rows_of(&fused, 0, Q), L->wk = rows_of(&fused, Q, KV), L->wv = rows_of(&fused, Q + KV, KV);
            BX(&fused, "attn_qkv", "bias", Q + 2 * KV, 0, USE_NORM, !gpt2);
            L->bq = rows_of(&fused, 0, Q), L->bk = rows_of(&fused, Q, KV), L->bv = rows_of(&fused, Q + KV, KV);
            if (!fused.data) { /* fused weights may come with separate biases */
                BIAS(bq, "attn_q", Q, 1);
                BIAS(bk, "attn_k", KV, 1);
                BIAS(bv, "attn_v", KV, 1);
            }
        } else {
            B(wq, "attn_q", E, Q, USE_MATMUL);
            B(wk, "attn_k", E, KV, USE_MATMUL);
            B(wv, "attn_v", E, KV, USE_MATMUL);
            BIAS(bq, "attn_q", Q, !qwen2);
            BIAS(bk, "attn_k", KV, !qwen2);
            BIAS(bv, "attn_v", KV, !qwen2);
        }
        B(wo, "attn_output", Q, E, USE_MATMUL);
        BIAS(bo, "attn_output", E, !gpt2);
        B(ffn_norm, "ffn_norm", E, 0, USE_NORM);
        if (layer_norm) BIAS(ffn_norm_b, "ffn_norm", E, 0);
        if (m->ffn_kind == TK_FFN_GELU) {
            B(w_up, "ffn_up", E, F, USE_MATMUL);
            BIAS(b_up, "ffn_up", F, 0);
            B(w_down, "ffn_down", F, E, USE_MATMUL);
            BIAS(b_down, "ffn_down", E, 0);
        } else if (phi3) { /* ffn_up holds gate then up: [n_embd x 2 n_ff] */
            BX(&fused, "ffn_up", "weight", E, 2 * F, USE_MATMUL, 0);
            L->w_gate = rows_of(&fused, 0, F), L->w_up = rows_of(&fused, F, F);
            B(w_down, "ffn_down", F, E, USE_MATMUL);
        } else {
            B(w_gate, "ffn_gate", E, F, USE_MATMUL);
            B(w_down, "ffn_down", F, E, USE_MATMUL);
            B(w_up, "ffn_up", E, F, USE_MATMUL);
        }
#undef BIAS
#undef B
#undef BX
    }
    for (int i = 0; i < m->n_tensors; i++) {
        uint64_t ne = 1;
        for (int d = 0; d < m->tensors[i].n_dims; d++) ne *= (uint64_t)m->tensors[i].ne[d];
        I->n_params += ne;
        I->weight_bytes += m->tensors[i].nbytes;
    }
    return TK_OK;
}

/* ---- repacking (tensor/pack.h) --------------------------------------------- */

/* Give the file's pages of [p, p + n) back (they are read again from the
 * page cache if ever touched): resident memory keeps one copy. */
static void drop_pages(const void *p, size_t n) {
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + (uintptr_t)ps - 1) & ~(uintptr_t)(ps - 1);
    uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(ps - 1);
    if (ps > 0 && b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Bytes of w's packed copy in the mapping (64-byte aligned). */
static size_t packed_bytes(const tk_weight *w) {
    return ((size_t)tk_dtype_row_bytes(w->type, w->cols) * (size_t)w->rows + 63) & ~(size_t)63;
}

typedef struct pack_job {
    tk_weight **w;
    int n;
    int drop; /* give the file's pages back once packed (not for an HF image) */
    const void *keep; /* pages that stay: the embedding rows tk_get_row reads */
} pack_job;

/* Thread ith of nth packs its share of every matrix's 16-row groups, then
 * gives that slice's file pages back at once: the peak stays one copy. */
static void pack_worker(void *ctx, int ith, int nth) {
    const pack_job *j = ctx;
    for (int i = 0; i < j->n; i++) {
        const tk_weight *w = j->w[i];
        int64_t g0, g1;
        tk_split(w->rows / 16, ith, nth, &g0, &g1);
        tk_pack_rows(w->type, w->data, w->cols, g0 * 16, g1 * 16, (void *)w->packed);
        if (j->drop && w->data != j->keep) {
            size_t rb = (size_t)tk_dtype_row_bytes(w->type, w->cols);
            drop_pages((const char *)w->data + (size_t)g0 * 16 * rb, (size_t)(g1 - g0) * 16 * rb);
        }
    }
}

/* Repack every Q8_0 / Q4_0 matrix the kernels want packed into one
 * anonymous mapping, on a thread pool made for it; the embedding rows stay
 * as they are (tk_get_row reads the file's layout), so a tied classifier
 * is packed as a copy and its file pages stay. Failure to map or to start
 * threads is not an error: the file's layout runs (bit-identical, slower),
 * or one thread packs. */
static void pack_weights(tk_model *m, int n_threads) {
    const tk_model_info *I = &m->info;
    tk_weight **ws = calloc((size_t)I->n_layer * TK_LAYER_MATRICES + 1, sizeof *ws);
    if (!ws) return;
    int n = 0;
    for (int l = 0; l < I->n_layer; l++) {
        tk_weight *c[TK_LAYER_MATRICES] = TK_LAYER_MATRIX_LIST(&m->layers[l]);
        for (int k = 0; k < TK_LAYER_MATRICES; k++) ws[n++] = c[k];
    }
    ws[n++] = &m->output;
    size_t total = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (tk_pack_wanted(ws[i]->type, m->isa, ws[i]->rows, ws[i]->cols)) total += packed_bytes(ws[i]), ws[k++] = ws[i];
    n = k;
    void *mem = n ? mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    if (mem == MAP_FAILED) {
        free(ws);
        return;
    }
#ifdef MADV_HUGEPAGE
    madvise(mem, total, MADV_HUGEPAGE); /* fewer faults on the first write */
#endif
    char *at = mem;
    for (int i = 0; i < n; i++) ws[i]->packed = at, at += packed_bytes(ws[i]);
    /* only pages of a mapped file come back when touched again: a Hugging
     * Face image is anonymous memory, and dropping it would lose it */
    pack_job job = {ws, n, !m->hf_image, m->tok_embd.data};
    tk_pool *pool = tk_pool_new(n_threads < 1 ? 1 : n_threads > 1024 ? 1024 : n_threads, NULL);
    if (pool) tk_pool_run(pool, pack_worker, &job);
    else pack_worker(&job, 0, 1);
    tk_pool_free(pool);
    m->packed = mem, m->packed_bytes = total;
    free(ws);
}

int tk_model_repack(tk_model *m) {
    if (!m || m->repack_threads <= 0) return 0;
    int nt = m->repack_threads;
    m->repack_threads = 0;
    pack_weights(m, nt);
    return m->packed != NULL;
}

/* ---- residency ----------------------------------------------------------- */

/* The matrices a tick reads: every layer's, the classifier, the embedding
 * rows (a malloc'd list of *n, NULL if out of memory). */
static const tk_weight **tick_weights(const tk_model *m, int *n) {
    const tk_weight **ws = calloc((size_t)m->info.n_layer * TK_LAYER_MATRICES + 2, sizeof *ws);
    *n = 0;
    if (!ws) return NULL;
    for (int l = 0; l < m->info.n_layer; l++) {
        const tk_weight *c[TK_LAYER_MATRICES] = TK_LAYER_MATRIX_LIST(&m->layers[l]);
        for (int k = 0; k < TK_LAYER_MATRICES; k++) ws[(*n)++] = c[k];
    }
    ws[(*n)++] = &m->output;
    ws[(*n)++] = &m->tok_embd;
    return ws;
}

/* Bytes of w a tick reads from the model's mapping: 0 if packed or none. */
static size_t mapped_bytes(const tk_weight *w) {
    return !w->data || w->packed || w->rows <= 0 ? 0 : (size_t)tk_dtype_row_bytes(w->type, w->cols) * (size_t)w->rows;
}

double tk_model_resident(const tk_model *m) {
    const long psl = sysconf(_SC_PAGESIZE);
    int n;
    const tk_weight **ws = m && psl > 0 ? tick_weights(m, &n) : NULL;
    if (!ws) return -1;
    const uintptr_t ps = (uintptr_t)psl;
    unsigned char vec[4096];
    double in = 0, all = 0;
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const size_t nb = mapped_bytes(ws[i]);
        if (!nb) continue;
        /* the whole pages the bytes lie on */
        const uintptr_t a = (uintptr_t)ws[i]->data & ~(ps - 1);
        const size_t len = (size_t)((((uintptr_t)ws[i]->data + nb + ps - 1) & ~(ps - 1)) - a);
        for (size_t off = 0; off < len && ok; off += sizeof vec * ps) {
            const size_t chunk = len - off < sizeof vec * ps ? len - off : sizeof vec * ps;
            if (mincore((void *)(a + off), chunk, vec)) { ok = 0; break; }
            for (size_t k = 0; k < chunk / ps; k++) in += vec[k] & 1;
            all += (double)(chunk / ps);
        }
    }
    free(ws);
    return !ok ? -1 : all > 0 ? in / all : 1;
}

void tk_model_touch(const tk_model *m) {
    const long psl = sysconf(_SC_PAGESIZE);
    int n;
    const tk_weight **ws = m && psl > 0 ? tick_weights(m, &n) : NULL;
    if (!ws) return;
    volatile unsigned char sink = 0;
    for (int i = 0; i < n; i++) {
        const unsigned char *p = ws[i]->data;
        const size_t nb = mapped_bytes(ws[i]);
        for (size_t off = 0; off < nb; off += (size_t)psl) sink ^= p[off];
        if (nb) sink ^= p[nb - 1];
    }
    (void)sink;
    free(ws);
}

/* The kernel level named by opts (NULL or "auto": the best this CPU runs). */
static int pick_isa(const char *name, int *isa, tk_error *e) {
    int best = tk_isa_detect();
    if (!name || !strcmp(name, "auto")) {
        *isa = best;
        return TK_OK;
    }
    int i = tk_isa_from_name(name);
    if (i < 0) {
        char known[128];
        int o = snprintf(known, sizeof known, "auto");
        for (int k = 0; k < TK_ISA_COUNT && o < (int)sizeof known; k++)
            o += snprintf(known + o, sizeof known - (size_t)o, ", %s", tk_isa_name(k));
        return tk_err(e, TK_EINVAL, "unknown ISA '%.64s' (known: %s)", name, known);
    }
    if (!tk_isa_supported(i))
        return tk_err(e, TK_EUNSUPPORTED, "ISA '%s' is not supported by this CPU (the best it runs is %s)",
                      tk_isa_name(i), tk_isa_name(best));
    *isa = i;
    return TK_OK;
}

tk_model *tk_model_load(const char *path, const tk_load_opts *o, tk_error *e) {
    int isa = TK_ISA_SCALAR;
    if (pick_isa(o ? o->isa : NULL, &isa, e)) return NULL;
    tk_model *m = calloc(1, sizeof *m);
    if (!m) {
        tk_err(e, TK_ENOMEM, "out of memory");
        return NULL;
    }
    m->isa = isa;
    int rc;
    FILE *f = fopen(path, "rb");
    unsigned char magic[4] = {0};
    size_t got = f ? fread(magic, 1, 4, f) : 0;
    if (f) fclose(f);
    if (!f) {
        rc = tk_map_open(&m->map, path, e); /* for its error message */
        if (rc == TK_OK) rc = tk_err(e, TK_EIO, "%s: cannot open", path);
        goto fail;
    }
    if (tk_hf_is_folder(path)) {
        rc = load_hf(m, path, o && o->vocab_only, e);
        if (rc && e && strncmp(e->msg, path, strlen(path)) != 0) tk_err_prefix(e, path);
    } else if (got == 4 && !memcmp(magic, "GGUF", 4)) {
        rc = load_gguf(m, path, o && o->vocab_only, e);
        if (rc && e && strncmp(e->msg, path, strlen(path)) != 0) tk_err_prefix(e, path);
    } else {
        rc = tk_map_open(&m->map, path, e);
        if (rc) goto fail;
        if (!tk_l2c_sniff(m->map.data, m->map.size)) {
            rc = tk_err(e, TK_EFORMAT, "%s: not a GGUF or llama2.c model file", path);
            goto fail;
        }
        tk_map_close(&m->map);
        rc = load_l2c(m, path, o, e);
        if (rc && e && strncmp(e->msg, path, strlen(path)) != 0 && !strstr(e->msg, "tokenizer")) tk_err_prefix(e, path);
    }
    if (rc) goto fail;
    m->vocab_only = o && o->vocab_only;
    if (m->vocab_only) m->info.n_vocab = tk_vocab_n(m->vocab);
    else if ((rc = bind_all(m, e))) {
        tk_err_prefix(e, path);
        goto fail;
    } else if (!(o && o->no_repack)) {
        int nt = o ? o->n_threads : 0;
        if (nt <= 0) {
            tk_cpu c;
            tk_cpu_features(&c);
            nt = c.physical_cores > 0 ? c.physical_cores : 1;
        }
        if (o && o->defer_repack) m->repack_threads = nt;
        else pack_weights(m, nt);
    }
    if (!m->name[0]) {
        const char *b = strrchr(path, '/');
        snprintf(m->name, sizeof m->name, "%s", b ? b + 1 : path);
    }
    tk_model_info *I = &m->info;
    I->arch = m->arch, I->name = m->name, I->format = m->format;
    I->isa = tk_isa_name(m->isa);
    I->bos = tk_vocab_bos(m->vocab), I->eos = tk_vocab_eos(m->vocab);
    I->add_bos = tk_vocab_add_bos(m->vocab);
    return m;
fail:
    tk_model_free(m);
    return NULL;
}

void tk_model_free(tk_model *m) {
    if (!m) return;
    tk_vocab_free(m->vocab);
    if (m->packed) munmap(m->packed, m->packed_bytes);
    free(m->layers);
    free(m->tensors);
    tk_l2c_free(&m->l2c);
    tk_gguf_free(m->gguf);
    tk_hf_image_free(m->hf_image, m->hf_size);
    tk_map_close(&m->map);
    free(m);
}

const tk_model_info *tk_model_info_of(const tk_model *m) { return &m->info; }
int tk_n_vocab(const tk_model *m) { return m->info.n_vocab; }
int tk_model_n_tensors(const tk_model *m) { return m->n_tensors; }

int tk_model_tensor_info(const tk_model *m, int i, tk_tensor_info *out) {
    if (i < 0 || i >= m->n_tensors) return TK_EINVAL;
    const tk_tensor_desc *d = &m->tensors[i];
    out->name = d->name;
    out->type = tk_dtype_name(d->type);
    out->n_dims = d->n_dims;
    memcpy(out->ne, d->ne, sizeof out->ne);
    out->nbytes = d->nbytes;
    return TK_OK;
}

int tk_model_n_meta(const tk_model *m) { return m->gguf ? tk_gguf_n_kv(m->gguf) : 0; }

int tk_model_meta(const tk_model *m, int i, const char **key, char *buf, size_t cap) {
    if (!m->gguf || i < 0 || i >= tk_gguf_n_kv(m->gguf)) return TK_EINVAL;
    *key = tk_gguf_key(m->gguf, i);
    return tk_gguf_render(m->gguf, i, buf, cap);
}

/* ---- tokens --------------------------------------------------------------- */

int tk_tokenize(const tk_model *m, const char *text, size_t n, int flags, int32_t *ids, int cap,
                tk_error *e) {
    size_t bad;
    if (!tk_utf8_valid(text, n, &bad))
        return tk_err(e, TK_EINVAL, "text is not valid UTF-8 (bad byte 0x%02x at offset %zu)", (unsigned char)text[bad], bad);
    if (n > (size_t)1 << 30) return tk_err(e, TK_EINVAL, "text is too long (%zu bytes)", n);
    int add_bos = (flags & TK_TOKENIZE_ADD_BOS) && tk_vocab_bos(m->vocab) >= 0;
    int vflags = (add_bos ? TK_VOCAB_ADD_BOS : 0) | (flags & TK_TOKENIZE_PARSE_SPECIAL ? TK_VOCAB_PARSE_SPECIAL : 0);
    int r = tk_vocab_tokenize_ex(m->vocab, text, n, vflags, ids, cap);
    return r < 0 ? -r : r;
}

int tk_token_piece(const tk_model *m, int32_t id, char *buf, int cap) {
    return tk_vocab_piece(m->vocab, id, buf, cap);
}

const char *tk_token_text(const tk_model *m, int32_t id, int *len) {
    *len = 0;
    if (id < 0 || id >= m->info.n_vocab) return NULL;
    return tk_vocab_text(m->vocab, id, len);
}

int tk_token_is_eog(const tk_model *m, int32_t id) {
    if (m->bos_is_eog && id == m->info.bos) return 1;
    return tk_vocab_is_eog(m->vocab, id);
}
