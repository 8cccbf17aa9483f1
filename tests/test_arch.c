/* test_arch.c: the architectures besides Llama (GPT-2, Qwen2, Phi-3) and
 * their ops, against references written here from the definitions (plain
 * loops, double accumulation): LayerNorm, GELU, NEOX rope; then whole tiny
 * models built in the test, run by tick and by the naive forward pass at
 * the bottom of this file. Plus: 1 vs 2 threads, burst vs one position at
 * a time, and clear errors for missing or bad tensors. */
#include "t.h"
#include "tick.h"
#include "util_gguf.h"
#include "tensor/dtype.h"
#include "tensor/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;
static double urand(void) { /* [0, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float grand(float s) { /* ~ N(0, s^2): Irwin-Hall of 4 */
    double u = urand() + urand() + urand() + urand() - 2.0;
    return (float)(u * 1.7320508 * s);
}

/* ---- ops ----------------------------------------------------------------- */

static void test_layernorm(void) {
    enum { N = 67 };
    float x[N], w[N], b[N], out[N];
    rng_state = 1;
    double worst = 0;
    for (int trial = 0; trial < 20; trial++) {
        float off = trial * 3.0f; /* a large mean: the variance must not cancel */
        for (int i = 0; i < N; i++) x[i] = off + grand(1.0f + trial), w[i] = 1.0f + grand(0.3f), b[i] = grand(0.5f);
        tk_layernorm(out, x, w, b, N, 1e-5f);
        double mean = 0, var = 0;
        for (int i = 0; i < N; i++) mean += x[i];
        mean /= N;
        for (int i = 0; i < N; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= N;
        for (int i = 0; i < N; i++) {
            double ref = (x[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
            double d = fabs(out[i] - ref) / (fabs(ref) + 1.0);
            if (d > worst) worst = d;
        }
    }
    printf("  layernorm: max error %.3g (relative to |y| + 1)\n", worst);
    T_CHECK(worst < 2e-6, "layernorm error %g", worst);
    /* no scale, no shift: mean 0, variance 1 */
    for (int i = 0; i < N; i++) x[i] = (float)i;
    tk_layernorm(out, x, NULL, NULL, N, 0.0f);
    double s = 0, ss = 0;
    for (int i = 0; i < N; i++) s += out[i], ss += (double)out[i] * out[i];
    T_CHECK(fabs(s / N) < 1e-6 && fabs(ss / N - 1) < 1e-5, "plain layernorm: mean %g, var %g", s / N, ss / N);
}

static double gelu_ref(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

static void test_gelu(void) {
    enum { N = 4001 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = -12.0f + 24.0f * i / (N - 1);
    float y[N];
    memcpy(y, x, sizeof x);
    tk_gelu(y, N);
    double worst = 0;
    int not_half = 0, tails = 1;
    for (int i = 0; i < N; i++) {
        if (x[i] <= -10.0f) { tails &= y[i] == 0.0f; continue; }
        if (x[i] >= 10.0f) { tails &= y[i] == x[i]; continue; }
        /* ggml's table: the result is an f16 value ... */
        if (tk_f16_to_f32(tk_f32_to_f16(y[i])) != y[i]) not_half++;
        /* ... of the GELU of x rounded to f16: within 2^-11 relative of x,
         * GELU's slope is < 1.13, then one more f16 rounding */
        double ref = gelu_ref(x[i]);
        double d = fabs(y[i] - ref) / (fabs(x[i]) * 1.13 + fabs(ref) + 1e-4);
        if (d > worst) worst = d;
    }
    printf("  gelu: max error %.3g of (1.13 |x| + |gelu x|)\n", worst);
    T_CHECK(worst <= 1.0 / 2048 + 1e-7, "gelu error %g", worst);
    T_CHECK(not_half == 0, "%d results are not f16 values", not_half);
    T_CHECK(tails, "gelu(x <= -10) = 0, gelu(x >= 10) = x");
    float z[3] = {0.0f, 1.0f, -1.0f};
    tk_gelu(z, 3);
    /* gelu(1) = 0.841192, gelu(-1) = -0.158808 (rounded to f16) */
    T_CHECK(z[0] == 0.0f && fabsf(z[1] - 0.841192f) < 5e-4f && fabsf(z[2] + 0.158808f) < 1e-4f, "gelu(0, 1, -1) = %g %g %g",
            z[0], z[1], z[2]);
}

static void test_rope_neox(void) {
    enum { H = 3, HD = 16 };
    int dims[2] = {16, 8}; /* full, and partial: the rest of each head stays */
    rng_state = 7;
    double worst = 0;
    int untouched = 1;
    for (int di = 0; di < 2; di++) {
        int rd = dims[di];
        for (int pos = 0; pos < 300; pos += 37) {
            float x[H * HD], x0[H * HD], cs[HD];
            for (int i = 0; i < H * HD; i++) x[i] = x0[i] = grand(1.0f);
            tk_rope_angles(cs, rd, pos, 1e6f, 0);
            tk_rope_neox(x, H, HD, rd, cs);
            for (int h = 0; h < H; h++) {
                const float *v = x0 + h * HD;
                for (int i = 0; i < rd / 2; i++) {
                    double th = pos * pow(1e6, -2.0 * i / rd);
                    double a = v[i] * cos(th) - v[i + rd / 2] * sin(th);
                    double b = v[i] * sin(th) + v[i + rd / 2] * cos(th);
                    double d = fmax(fabs(x[h * HD + i] - a), fabs(x[h * HD + i + rd / 2] - b));
                    if (d > worst) worst = d;
                }
                for (int i = rd; i < HD; i++) untouched &= x[h * HD + i] == v[i];
            }
        }
    }
    printf("  rope neox: max error %.3g\n", worst);
    /* the angles come from ggml's recurrence theta *= base^(-2/d) in float */
    T_CHECK(worst < 1e-4, "neox rope error %g", worst);
    T_CHECK(untouched, "dims past rope_dim are left alone");
}

/* ---- tiny models ----------------------------------------------------------- */

enum { ARCH_GPT2, ARCH_QWEN2, ARCH_PHI3, ARCH_LLAMA };
static const char *arch_name[] = {"gpt2", "qwen2", "phi3", "llama"};

typedef struct tw {
    char name[64];
    int nd;
    int64_t ne[2];
    float *d;
} tw;

typedef struct tmodel {
    int arch;
    int E, L, H, HKV, F, V, C, hd, rd;
    float eps, base;
    int fused;         /* phi3: attn_qkv instead of attn_q/k/v */
    int untied;
    tw t[96];
    int nt;
} tmodel;

/* what to get wrong in the file */
typedef struct defect {
    const char *skip;      /* tensor left out                   */
    const char *f16;       /* tensor written as F16             */
    const char *extra;     /* extra 1-D tensor                  */
    int swa;               /* ARCH.attention.sliding_window     */
} defect;

static void add_t(tmodel *m, const char *name, int64_t cols, int64_t rows, float s, float mean) {
    tw *t = &m->t[m->nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->nd = rows ? 2 : 1;
    t->ne[0] = cols, t->ne[1] = rows ? rows : 1;
    int64_t n = t->ne[0] * t->ne[1];
    t->d = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) t->d[i] = mean + grand(s);
}

static const float *W(const tmodel *m, const char *fmt, int l) {
    char n[64];
    snprintf(n, sizeof n, fmt, l);
    for (int i = 0; i < m->nt; i++)
        if (!strcmp(m->t[i].name, n)) return m->t[i].d;
    return NULL;
}

static void make_model(tmodel *m, int arch, uint64_t seed, int fused) {
    memset(m, 0, sizeof *m);
    rng_state = seed;
    m->arch = arch, m->fused = fused;
    m->E = 32, m->L = 2, m->H = 4, m->HKV = arch == ARCH_GPT2 ? 4 : 2, m->F = 48, m->V = 40, m->C = 64;
    m->hd = m->E / m->H, m->rd = m->hd;
    m->eps = arch == ARCH_GPT2 ? 1e-5f : 1e-6f;
    m->base = arch == ARCH_QWEN2 ? 1e6f : 10000.0f;
    m->untied = arch == ARCH_PHI3;
    int E = m->E, Q = E, KV = m->HKV * m->hd, F = m->F;
    const float w = 0.25f;
    add_t(m, "token_embd.weight", E, m->V, 1.0f, 0);
    if (arch == ARCH_GPT2) add_t(m, "position_embd.weight", E, m->C, 0.5f, 0);
    for (int l = 0; l < m->L; l++) {
        char n[64];
#define T(nm, c, r, s, mean) (snprintf(n, sizeof n, "blk.%d." nm, l), add_t(m, n, c, r, s, mean))
        T("attn_norm.weight", E, 0, 0.2f, 1.0f);
        if (arch == ARCH_GPT2) T("attn_norm.bias", E, 0, 0.2f, 0);
        if (arch == ARCH_GPT2 || m->fused) {
            T("attn_qkv.weight", E, Q + 2 * KV, w, 0);
            T("attn_qkv.bias", Q + 2 * KV, 0, 0.3f, 0);
        } else {
            T("attn_q.weight", E, Q, w, 0);
            T("attn_k.weight", E, KV, w, 0);
            T("attn_v.weight", E, KV, w, 0);
            if (arch == ARCH_QWEN2) {
                T("attn_q.bias", Q, 0, 0.5f, 0);
                T("attn_k.bias", KV, 0, 0.5f, 0);
                T("attn_v.bias", KV, 0, 0.3f, 0);
            }
        }
        T("attn_output.weight", Q, E, w, 0);
        if (arch == ARCH_GPT2) T("attn_output.bias", E, 0, 0.2f, 0);
        T("ffn_norm.weight", E, 0, 0.2f, 1.0f);
        if (arch == ARCH_GPT2) {
            T("ffn_norm.bias", E, 0, 0.2f, 0);
            T("ffn_up.weight", E, F, w, 0);
            T("ffn_up.bias", F, 0, 0.3f, 0);
            T("ffn_down.weight", F, E, w, 0);
            T("ffn_down.bias", E, 0, 0.2f, 0);
        } else if (arch == ARCH_PHI3) {
            T("ffn_up.weight", E, 2 * F, w, 0);
            T("ffn_down.weight", F, E, w, 0);
        } else {
            T("ffn_gate.weight", E, F, w, 0);
            T("ffn_up.weight", E, F, w, 0);
            T("ffn_down.weight", F, E, w, 0);
        }
#undef T
    }
    add_t(m, "output_norm.weight", E, 0, 0.2f, 1.0f);
    if (arch == ARCH_GPT2) add_t(m, "output_norm.bias", E, 0, 0.2f, 0);
    if (m->untied) add_t(m, "output.weight", E, m->V, 0.3f, 0);
}

static void free_model(tmodel *m) {
    for (int i = 0; i < m->nt; i++) free(m->t[i].d);
}

static const char *write_model(const tmodel *m, const defect *df, const char *fname) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), fname);
    const char *a = arch_name[m->arch];
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", a);
    char k[96];
#define KEY(x) (snprintf(k, sizeof k, "%s." x, a), k)
    tg_kv_u32(b, KEY("embedding_length"), (uint32_t)m->E);
    tg_kv_u32(b, KEY("block_count"), (uint32_t)m->L);
    tg_kv_u32(b, KEY("feed_forward_length"), (uint32_t)m->F);
    tg_kv_u32(b, KEY("attention.head_count"), (uint32_t)m->H);
    tg_kv_u32(b, KEY("attention.head_count_kv"), (uint32_t)m->HKV);
    tg_kv_u32(b, KEY("context_length"), (uint32_t)m->C);
    if (m->arch == ARCH_GPT2) {
        tg_kv_f32(b, KEY("attention.layer_norm_epsilon"), m->eps);
    } else {
        tg_kv_f32(b, KEY("attention.layer_norm_rms_epsilon"), m->eps);
        tg_kv_f32(b, KEY("rope.freq_base"), m->base);
    }
    if (df && df->swa) tg_kv_u32(b, KEY("attention.sliding_window"), (uint32_t)df->swa);
#undef KEY
    const char *toks[64];
    static char names[64][8];
    float scores[64];
    int32_t types[64];
    for (int i = 0; i < m->V; i++) {
        snprintf(names[i], sizeof names[i], i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "t%d", i);
        toks[i] = names[i], scores[i] = -(float)i, types[i] = i == 0 ? 2 : i < 3 ? 3 : 1;
    }
    tg_kv_str(b, "tokenizer.ggml.model", "llama");
    tg_kv_arr_str(b, "tokenizer.ggml.tokens", toks, (size_t)m->V);
    tg_kv_arr_f32(b, "tokenizer.ggml.scores", scores, (size_t)m->V);
    tg_kv_arr_i32(b, "tokenizer.ggml.token_type", types, (size_t)m->V);
    tg_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    tg_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    for (int i = 0; i < m->nt; i++) {
        const tw *t = &m->t[i];
        if (df && df->skip && !strcmp(df->skip, t->name)) continue;
        int64_t n = t->ne[0] * t->ne[1];
        if (df && df->f16 && !strcmp(df->f16, t->name)) {
            uint16_t *h = malloc((size_t)n * 2);
            for (int64_t j = 0; j < n; j++) h[j] = tk_f32_to_f16(t->d[j]);
            tg_tensor(b, t->name, TK_F16, t->nd, t->ne, h, (size_t)n * 2);
            free(h);
        } else {
            tg_tensor(b, t->name, TK_F32, t->nd, t->ne, t->d, (size_t)n * 4);
        }
    }
    if (df && df->extra) {
        int64_t ne[1] = {m->rd / 2};
        tg_tensor(b, df->extra, TK_F32, 1, ne, NULL, 0);
    }
    T_CHECK(tg_write(b, path) == 0, "write %s", path);
    tg_free(b);
    return path;
}

/* ---- the naive forward pass --------------------------------------------------- */

typedef struct ref {
    const tmodel *m;
    double *kc, *vc; /* [L][C][KV] */
} ref;

/* y[rows] = W x (+ bias) */
static void mv(double *y, const float *w, const float *bias, const double *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = bias ? bias[r] : 0.0;
        for (int c = 0; c < cols; c++) s += (double)w[(size_t)r * cols + c] * x[c];
        y[r] = s;
    }
}

static void rmsnorm_d(double *y, const double *x, const float *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double sc = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * sc * w[i];
}

static void layernorm_d(double *y, const double *x, const float *w, const float *b, int n, double eps) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    for (int i = 0; i < n; i++) y[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i];
}

static void norm_d(const tmodel *m, double *y, const double *x, const char *wname, const char *bname, int l) {
    if (m->arch == ARCH_GPT2) layernorm_d(y, x, W(m, wname, l), W(m, bname, l), m->E, m->eps);
    else rmsnorm_d(y, x, W(m, wname, l), m->E, m->eps);
}

/* NEOX: pairs (i, i + d/2); Llama: pairs (2i, 2i + 1) */
static void rope_d(const tmodel *m, double *v, int n_heads, int pos) {
    int d = m->rd;
    for (int h = 0; h < n_heads; h++) {
        double *x = v + h * m->hd;
        for (int i = 0; i < d / 2; i++) {
            double th = pos * pow(m->base, -2.0 * i / d), c = cos(th), s = sin(th);
            int a = m->arch == ARCH_LLAMA ? 2 * i : i, b = m->arch == ARCH_LLAMA ? 2 * i + 1 : i + d / 2;
            double x0 = x[a], x1 = x[b];
            x[a] = x0 * c - x1 * s;
            x[b] = x0 * s + x1 * c;
        }
    }
}

/* logits[V] of position pos, given token tok and the cache of 0..pos-1 */
static void ref_step(ref *R, int tok, int pos, double *logits) {
    const tmodel *m = R->m;
    int E = m->E, Q = E, hd = m->hd, KV = m->HKV * hd, F = m->F, C = m->C;
    double x[64], h[64], q[64], qkv[192], att[64], o[64], up[128], g[128];
    const float *te = W(m, "token_embd.weight", 0);
    for (int i = 0; i < E; i++) x[i] = te[(size_t)tok * E + i];
    if (m->arch == ARCH_GPT2) {
        const float *pe = W(m, "position_embd.weight", 0);
        for (int i = 0; i < E; i++) x[i] += pe[(size_t)pos * E + i];
    }
    for (int l = 0; l < m->L; l++) {
        double *kc = R->kc + (size_t)l * C * KV, *vc = R->vc + (size_t)l * C * KV;
        norm_d(m, h, x, "blk.%d.attn_norm.weight", "blk.%d.attn_norm.bias", l);
        if (W(m, "blk.%d.attn_qkv.weight", l)) {
            mv(qkv, W(m, "blk.%d.attn_qkv.weight", l), W(m, "blk.%d.attn_qkv.bias", l), h, Q + 2 * KV, E);
            memcpy(q, qkv, sizeof(double) * Q);
            memcpy(kc + (size_t)pos * KV, qkv + Q, sizeof(double) * KV);
            memcpy(vc + (size_t)pos * KV, qkv + Q + KV, sizeof(double) * KV);
        } else {
            mv(q, W(m, "blk.%d.attn_q.weight", l), W(m, "blk.%d.attn_q.bias", l), h, Q, E);
            mv(kc + (size_t)pos * KV, W(m, "blk.%d.attn_k.weight", l), W(m, "blk.%d.attn_k.bias", l), h, KV, E);
            mv(vc + (size_t)pos * KV, W(m, "blk.%d.attn_v.weight", l), W(m, "blk.%d.attn_v.bias", l), h, KV, E);
        }
        if (m->arch != ARCH_GPT2) {
            rope_d(m, q, m->H, pos);
            rope_d(m, kc + (size_t)pos * KV, m->HKV, pos);
        }
        for (int hh = 0; hh < m->H; hh++) {
            int kvh = hh / (m->H / m->HKV);
            double mx = -1e300, sum = 0;
            for (int t = 0; t <= pos; t++) {
                double s = 0;
                for (int i = 0; i < hd; i++) s += q[hh * hd + i] * kc[(size_t)t * KV + kvh * hd + i];
                att[t] = s / sqrt((double)hd);
                if (att[t] > mx) mx = att[t];
            }
            for (int t = 0; t <= pos; t++) sum += att[t] = exp(att[t] - mx);
            for (int i = 0; i < hd; i++) {
                double s = 0;
                for (int t = 0; t <= pos; t++) s += att[t] / sum * vc[(size_t)t * KV + kvh * hd + i];
                o[hh * hd + i] = s;
            }
        }
        mv(h, W(m, "blk.%d.attn_output.weight", l), W(m, "blk.%d.attn_output.bias", l), o, E, Q);
        for (int i = 0; i < E; i++) x[i] += h[i];
        norm_d(m, h, x, "blk.%d.ffn_norm.weight", "blk.%d.ffn_norm.bias", l);
        if (m->arch == ARCH_GPT2) {
            mv(up, W(m, "blk.%d.ffn_up.weight", l), W(m, "blk.%d.ffn_up.bias", l), h, F, E);
            for (int i = 0; i < F; i++) g[i] = gelu_ref(up[i]);
        } else {
            double gu[256];
            if (m->arch == ARCH_PHI3) {
                mv(gu, W(m, "blk.%d.ffn_up.weight", l), NULL, h, 2 * F, E); /* gate, then up */
            } else {
                mv(gu, W(m, "blk.%d.ffn_gate.weight", l), NULL, h, F, E);
                mv(gu + F, W(m, "blk.%d.ffn_up.weight", l), NULL, h, F, E);
            }
            for (int i = 0; i < F; i++) g[i] = gu[i] / (1 + exp(-gu[i])) * gu[F + i];
        }
        mv(h, W(m, "blk.%d.ffn_down.weight", l), W(m, "blk.%d.ffn_down.bias", l), g, E, F);
        for (int i = 0; i < E; i++) x[i] += h[i];
    }
    norm_d(m, h, x, "output_norm.weight", "output_norm.bias", 0);
    const float *out = m->untied ? W(m, "output.weight", 0) : te;
    mv(logits, out, NULL, h, m->V, E);
}

/* tick's logits at every position of ids (one decode each, or one burst
 * when burst: then only the last), compared with the reference */
static double run_compare(const tmodel *m, const char *path, const int32_t *ids, int n, int threads, float *last) {
    tk_error e = {0};
    tk_model *tm = tk_model_load(path, NULL, &e);
    T_CHECK(tm != NULL, "load %s: %s", arch_name[m->arch], e.msg);
    if (!tm) return INFINITY;
    tk_session_opts so = {.n_ctx = m->C, .n_threads = threads};
    tk_session *s = tk_session_new(tm, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    if (!s) { tk_model_free(tm); return INFINITY; }
    ref R = {m, calloc((size_t)m->L * m->C * m->E, sizeof(double)), calloc((size_t)m->L * m->C * m->E, sizeof(double))};
    double worst = 0, scale = 0, lg[64];
    for (int p = 0; p < n; p++) {
        T_CHECK(tk_decode(s, ids[p], &e) == TK_OK, "decode: %s", e.msg);
        const float *l = tk_logits(s);
        ref_step(&R, ids[p], p, lg);
        for (int i = 0; i < m->V; i++) {
            if (fabs(lg[i]) > scale) scale = fabs(lg[i]);
            double d = fabs(l[i] - lg[i]);
            if (d > worst || d != d) worst = d != d ? INFINITY : d;
        }
        if (p == n - 1 && last) memcpy(last, l, sizeof(float) * (size_t)m->V);
    }
    free(R.kc), free(R.vc);
    tk_session_free(s);
    tk_model_free(tm);
    return worst / (scale > 0 ? scale : 1);
}

static void check_arch(int arch, int fused, double tol) {
    tmodel m;
    make_model(&m, arch, 100 + (uint64_t)arch, fused);
    int32_t ids[24];
    rng_state = 55;
    for (int i = 0; i < 24; i++) ids[i] = 3 + (int32_t)(urand() * (m.V - 3));
    char fname[64];
    snprintf(fname, sizeof fname, "%s%s.gguf", arch_name[arch], fused ? "-fused" : "");
    const char *path = write_model(&m, NULL, fname);
    float l1[64], l2[64];
    double err = run_compare(&m, path, ids, 24, 1, l1);
    printf("  %s%s: max |tick - reference| / max |logit| = %.3g over 24 positions\n", arch_name[arch], fused ? " (fused qkv)" : "", err);
    T_CHECK(err < tol, "%s: error %g > %g", arch_name[arch], err, tol);
    /* 2 threads: the same numbers */
    run_compare(&m, path, ids, 24, 2, l2);
    T_CHECK(!memcmp(l1, l2, sizeof(float) * (size_t)m.V), "%s: 1 and 2 threads differ", arch_name[arch]);
    /* one burst of 24 positions vs 24 decodes */
    tk_error e = {0};
    tk_model *tm = tk_model_load(path, NULL, &e);
    tk_session_opts so = {.n_ctx = m.C, .n_threads = 2, .n_batch = 16};
    tk_session *s = tm ? tk_session_new(tm, &so, &e) : NULL;
    T_CHECK(s && tk_prefill(s, ids, 24, &e) == TK_OK, "burst: %s", e.msg);
    if (s) {
        const float *lb = tk_logits(s);
        double d = 0, sc = 0;
        for (int i = 0; i < m.V; i++) d = fmax(d, fabs(lb[i] - l1[i])), sc = fmax(sc, fabs(l1[i]));
        printf("  %s: burst vs one at a time: %.3g of max |logit|\n", arch_name[arch], d / sc);
        T_CHECK(d / sc < 1e-5, "%s: burst differs by %g", arch_name[arch], d / sc);
    }
    tk_session_free(s);
    /* batched ticks (tk_batch_run): sequence 0 gets the 24 ids while
     * sequences 1 and 2 get the first 9 and 16, their rows interleaved in
     * ticks of up to 3 + 4 + 5 rows, logits for every row of sequence 2 */
    so.n_seq = 3;
    s = tm ? tk_session_new(tm, &so, &e) : NULL;
    T_CHECK(s != NULL, "batch session: %s", e.msg);
    int len[3] = {24, 9, 16}, fed[3] = {0, 0, 0};
    double worst = 0;
    while (s && (fed[0] < 24 || fed[1] < 9 || fed[2] < 16)) {
        tk_batch_item it[12];
        int n = 0;
        for (int q = 0; q < 3; q++)
            for (int k = 0; k < 3 + q && fed[q] + k < len[q]; k++)
                it[n++] = (tk_batch_item){q, ids[fed[q] + k], q == 2 || fed[q] + k == len[q] - 1};
        if (tk_batch_run(s, it, n, &e) != TK_OK) { T_CHECK(0, "batch: %s", e.msg); break; }
        for (int i = 0; i < n; i++) {
            int q = it[i].seq, p = fed[q]++;
            if (!it[i].logits) continue;
            /* the same ids alone, one burst */
            tk_session *r = tk_session_new(tm, &(tk_session_opts){.n_ctx = m.C}, &e);
            T_CHECK(r && tk_prefill(r, ids, p + 1, &e) == TK_OK, "alone: %s", e.msg);
            const float *lb = tk_batch_logits(s, i), *lr = r ? tk_logits(r) : NULL;
            for (int v = 0; lr && v < m.V; v++) worst = fmax(worst, fabs(lb[v] - lr[v]) / fmax(fabs(lr[v]), 1));
            tk_session_free(r);
        }
    }
    printf("  %s: batched ticks of 3 sequences vs each alone: %.3g\n", arch_name[arch], worst);
    T_CHECK(worst < 1e-5, "%s: batched sequences differ by %g", arch_name[arch], worst);
    tk_session_free(s);
    tk_model_free(tm);
    free_model(&m);
}

static void test_gpt2(void) {
    /* GELU through ggml's f16 rounding: ~2^-11 relative per activation */
    check_arch(ARCH_GPT2, 0, 2e-3);
}
static void test_qwen2(void) { check_arch(ARCH_QWEN2, 0, 1e-5); }
static void test_phi3(void) {
    check_arch(ARCH_PHI3, 0, 1e-5);
    check_arch(ARCH_PHI3, 1, 1e-5);
}
static void test_llama(void) { check_arch(ARCH_LLAMA, 0, 1e-5); } /* the reference itself, on the known arch */

/* ---- bad files ------------------------------------------------------------------- */

static void expect_fail(int arch, const defect *df, int n_ctx, const char *word) {
    tmodel m;
    make_model(&m, arch, 9, 0);
    const char *path = write_model(&m, df, "bad.gguf");
    tk_error e = {0};
    tk_model *tm = tk_model_load(path, NULL, &e);
    tk_session *s = NULL;
    if (tm) {
        tk_session_opts so = {.n_ctx = n_ctx};
        s = tk_session_new(tm, &so, &e);
    }
    T_CHECK(!s && e.msg[0] && strstr(e.msg, word) && !strchr(e.msg, '\n'), "%s: want an error with '%s', got '%s'",
            arch_name[arch], word, e.msg);
    tk_session_free(s);
    tk_model_free(tm);
    free_model(&m);
}

static void test_errors(void) {
    defect d;
    d = (defect){.skip = "blk.1.attn_q.bias"};
    expect_fail(ARCH_QWEN2, &d, 0, "missing tensor 'blk.1.attn_q.bias'");
    d = (defect){.skip = "position_embd.weight"};
    expect_fail(ARCH_GPT2, &d, 0, "missing tensor 'position_embd.weight'");
    d = (defect){.skip = "blk.0.attn_norm.bias"};
    expect_fail(ARCH_GPT2, &d, 0, "missing tensor 'blk.0.attn_norm.bias'");
    d = (defect){.skip = "blk.0.attn_qkv.bias"};
    expect_fail(ARCH_GPT2, &d, 0, "missing tensor 'blk.0.attn_qkv.bias'");
    d = (defect){.skip = "blk.1.ffn_down.bias"};
    expect_fail(ARCH_GPT2, &d, 0, "missing tensor 'blk.1.ffn_down.bias'");
    d = (defect){.skip = "output_norm.bias"};
    expect_fail(ARCH_GPT2, &d, 0, "missing tensor 'output_norm.bias'");
    d = (defect){.f16 = "blk.0.attn_k.bias"};
    expect_fail(ARCH_QWEN2, &d, 0, "blk.0.attn_k.bias: expected type F32");
    d = (defect){.skip = "blk.0.ffn_up.weight"};
    expect_fail(ARCH_PHI3, &d, 0, "missing tensor 'blk.0.ffn_up.weight'");
    d = (defect){.extra = "rope_factors_long.weight"};
    expect_fail(ARCH_PHI3, &d, 0, "LongRoPE");
    /* learned positions: no context beyond them */
    expect_fail(ARCH_GPT2, NULL, 65, "64 learned positions");
    /* a sliding window smaller than the context (Mistral v0.1 style) */
    d = (defect){.swa = 16};
    expect_fail(ARCH_LLAMA, &d, 32, "sliding attention window 16");
    /* ... but a context within the window runs */
    tmodel m;
    make_model(&m, ARCH_LLAMA, 9, 0);
    const char *path = write_model(&m, &d, "swa.gguf");
    tk_error e = {0};
    tk_model *tm = tk_model_load(path, NULL, &e);
    tk_session_opts so = {.n_ctx = 16};
    tk_session *s = tm ? tk_session_new(tm, &so, &e) : NULL;
    T_CHECK(s != NULL, "context 16 with window 16: %s", e.msg);
    tk_session_free(s);
    tk_model_free(tm);
    free_model(&m);
    /* phi3's window is ignored, as llama.cpp does */
    d = (defect){.swa = 16};
    make_model(&m, ARCH_PHI3, 9, 0);
    path = write_model(&m, &d, "phi3swa.gguf");
    tm = tk_model_load(path, NULL, &e);
    so.n_ctx = 32;
    s = tm ? tk_session_new(tm, &so, &e) : NULL;
    T_CHECK(s != NULL, "phi3 with a window: %s", e.msg);
    tk_session_free(s);
    tk_model_free(tm);
    free_model(&m);
}

static void test_unknown_arch(void) {
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "falcon");
    char path[512];
    snprintf(path, sizeof path, "%s/falcon.gguf", t_tmpdir());
    tg_write(b, path);
    tg_free(b);
    tk_error e = {0};
    tk_model *m = tk_model_load(path, NULL, &e);
    T_CHECK(!m && strstr(e.msg, "architecture 'falcon' is not supported (supported: llama, gpt2, qwen2, phi3)"), "%s", e.msg);
    tk_model_free(m);
}

int main(void) {
    T_RUN(test_layernorm);
    T_RUN(test_gelu);
    T_RUN(test_rope_neox);
    T_RUN(test_llama);
    T_RUN(test_gpt2);
    T_RUN(test_qwen2);
    T_RUN(test_phi3);
    T_RUN(test_errors);
    T_RUN(test_unknown_arch);
    return t_done();
}
