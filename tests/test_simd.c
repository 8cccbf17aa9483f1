/* test_simd.c: the SIMD kernels (src/tensor/simd/) against the scalar
 * references, for every instruction-set level this CPU supports.
 *
 *  - dispatch: ISA names round trip, tk_isa_detect is supported here, every
 *    level's table agrees with the scalar one on everything but kernels
 *  - vec_dot of F32 / F16 / BF16: within 1e-5 of the reference relative
 *    to sum |w_i x_i| (the size of the sum before cancellation), on random
 *    rows of n = 1 ... 11008 (odd n too); bit-exact where every partial
 *    sum is exact (small integers). (The kernels that sum in double, as the
 *    reference, give its bits in practice: the worst error printed is 0;
 *    AVX-512's F32 / F16 sum in float: ~1e-7.)
 *  - vec_dot of Q8_0 / Q4_0 / Q4_K / Q6_K: bit-identical to the reference
 *    always (exact int32 block sums, or for K-quants the reference's 8
 *    per-lane sums; the reference's scaling and order of additions), on
 *    random rows and on rows of unit scales with weights over all bytes
 *  - vec_dot_rows: each row bit-identical to vec_dot, for 1 ... 47 rows
 *    (the 16-row quantized kernels, their partial last group), and for
 *    Q8_0 / Q4_0 to the scalar reference
 *  - from_float of F16 / BF16 / Q8_0: byte-identical to the reference
 *    (ties, zeros, subnormals, huge values, inf, NaN payloads)
 *  - attention (tk_attention): every level within 1e-5 of a double-precision
 *    softmax and weighted sum, relative to sum_t p_t |V[t]| per output, for
 *    head sizes 16 ... 256 (80, 100: not multiples of 16), GQA groups 1 ...
 *    32 (past the 16 heads done together), windows t0 > 0, 1 ... 300
 *    positions, head-major and position-major caches; each head's output
 *    bit-identical however the heads are split across calls (threads)
 *  - models: every level gives the scalar level's logits (within 1e-4
 *    relative RMS; 5e-3 for BF16 dot products summed in float) and greedy
 *    ids (up to near ties); --isa names are checked at load. */
#include "t.h"
#include "tick.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/dtype.h"
#include "tensor/vec.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1.0p-53; }

static float rnd_normal(void) {
    double u = rnd_unit(), v = rnd_unit();
    if (u < 1e-300) u = 1e-300;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static float ffrom(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static const int TYPES[] = {TK_F32, TK_F16, TK_BF16, TK_Q8_0, TK_Q4_0, TK_Q4_K, TK_Q6_K};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

static int is_quant(int type) { return type == TK_Q8_0 || type == TK_Q4_0 || type == TK_Q4_K || type == TK_Q6_K; }
/* n fits the type's blocks (K-quants: 256; the lists mix both) */
static int fits(int type, int64_t n) { return n % tk_dtype_get(type)->block == 0; }
/* Where an activation row starts in its buffer: misaligned for 32 bytes,
 * aligned for its elements (Q8_K: its float scale, 4 bytes). */
static size_t x_offset(int type) {
    int xt = tk_dtype_get(type)->vec_dot_type;
    return xt == TK_Q8_K ? 4 : xt == TK_F32 ? 12 : 6;
}

/* Levels this CPU runs, above scalar. */
/* A row of `type` (n elements) from floats: through the scalar reference
 * quantizer, so the bytes are what a GGUF file would hold. */
static void encode(int type, const float *x, void *dst, int64_t n) { tk_dtype_get(type)->from_float(x, dst, n); }

/* Buffers at an offset that keeps the element alignment but not 32-byte
 * alignment, as rows inside a GGUF file are. */
typedef struct { unsigned char *base, *p; } buf;
static buf buf_new(size_t n, size_t offset) {
    buf b;
    b.base = calloc(n + 64, 1);
    b.p = b.base + offset;
    return b;
}

/* ---- dispatch ------------------------------------------------------------- */

static void test_isa_names(void) {
    for (int i = 0; i < TK_ISA_COUNT; i++) {
        const char *nm = tk_isa_name(i);
        T_CHECK(strcmp(nm, "?") != 0, "level %d has no name", i);
        T_CHECK(tk_isa_from_name(nm) == i, "%s does not round trip", nm);
        char up[32];
        size_t k = 0;
        for (; nm[k] && k + 1 < sizeof up; k++) up[k] = (char)(nm[k] >= 'a' && nm[k] <= 'z' ? nm[k] - 32 : nm[k]);
        up[k] = 0;
        T_CHECK(tk_isa_from_name(up) == i, "%s is not found case-insensitively", up);
    }
    T_CHECK(tk_isa_from_name("avx") == -1 && tk_isa_from_name("") == -1 && tk_isa_from_name("avx2x") == -1 &&
                tk_isa_from_name(NULL) == -1 && tk_isa_from_name("auto") == -1,
            "unknown names must give -1");
    T_CHECK(strcmp(tk_isa_name(-1), "?") == 0 && strcmp(tk_isa_name(TK_ISA_COUNT), "?") == 0, "out of range names");
    T_CHECK(!strcmp(tk_isa_name(TK_ISA_SCALAR), "scalar") && !strcmp(tk_isa_name(TK_ISA_AVX2), "avx2") &&
                !strcmp(tk_isa_name(TK_ISA_AVX512), "avx512"),
            "the documented names");
    int best = tk_isa_detect();
    T_CHECK(best >= TK_ISA_SCALAR && best < TK_ISA_COUNT, "detect gives %d", best);
    T_CHECK(tk_isa_supported(best), "detected level %s is not supported", tk_isa_name(best));
    for (int i = 0; i <= best; i++) T_CHECK(tk_isa_supported(i), "level %s below the detected one is unsupported", tk_isa_name(i));
    for (int i = best + 1; i < TK_ISA_COUNT; i++) T_CHECK(!tk_isa_supported(i), "level %s above the detected one", tk_isa_name(i));
    T_CHECK(!tk_isa_supported(-1) && !tk_isa_supported(TK_ISA_COUNT), "out of range levels are unsupported");
    printf("  this CPU: %s\n", tk_isa_name(best));
}

static void test_tables(void) {
    for (int type = 0; type < TK_DTYPE_COUNT; type++) {
        const tk_dtype_traits *s = tk_dtype_get(type);
        T_CHECK(tk_dtype_get_isa(type, TK_ISA_SCALAR) == s, "scalar level of %d is tk_dtype_get", type);
        for (int isa = 0; isa < TK_ISA_COUNT; isa++) {
            const tk_dtype_traits *t = tk_dtype_get_isa(type, isa);
            T_CHECK((t == NULL) == (s == NULL), "type %d at %s: known at one level only", type, tk_isa_name(isa));
            if (!t || !s) continue;
            T_CHECK(!strcmp(t->name, s->name) && t->block == s->block && t->bytes == s->bytes &&
                        t->vec_dot_type == s->vec_dot_type,
                    "%s at %s: the table disagrees with the scalar one", s->name, tk_isa_name(isa));
            T_CHECK(!t->vec_dot == !s->vec_dot && !t->to_float == !s->to_float && !t->from_float == !s->from_float,
                    "%s at %s: kernels present at one level only", s->name, tk_isa_name(isa));
        }
    }
    T_CHECK(tk_dtype_get_isa(TK_F32, -1) == NULL && tk_dtype_get_isa(TK_F32, TK_ISA_COUNT) == NULL &&
                tk_dtype_get_isa(-1, 0) == NULL && tk_dtype_get_isa(TK_DTYPE_COUNT, 0) == NULL && tk_dtype_get_isa(4, 1) == NULL,
            "out of range lookups give NULL");
#if defined(__x86_64__)
    /* the levels this machine has do have kernels of their own */
    if (tk_isa_detect() >= TK_ISA_AVX2)
        for (int i = 0; i < NTYPES; i++)
            T_CHECK(tk_dtype_get_isa(TYPES[i], TK_ISA_AVX2)->vec_dot != tk_dtype_get(TYPES[i])->vec_dot,
                    "%s has no AVX2 dot product", tk_dtype_name(TYPES[i]));
#endif
}

/* ---- vec_dot ------------------------------------------------------------- */

/* sum |w_i x_i| of a float-type row pair, from the decoded rows. */
static double magnitude(int type, const void *w, const void *x, int64_t n) {
    const tk_dtype_traits *t = tk_dtype_get(type), *a = tk_dtype_get(t->vec_dot_type);
    float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
    t->to_float(w, wf, n);
    a->to_float(x, xf, n);
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += fabs((double)wf[i] * xf[i]);
    free(wf), free(xf);
    return m;
}

typedef enum { GEN_NORMAL, GEN_INT, GEN_UNIT } gen_kind;

/* Fill a weight row w (type) and an activation row x (vec_dot_type) of n
 * elements. GEN_INT: small integers (every float sum exact); GEN_UNIT:
 * quantized rows with every block scale 1.0 (every block term and sum of
 * terms exact). */
static void gen_rows(int type, gen_kind g, void *w, void *x, int64_t n) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
    float ws = (float)exp(rnd_normal() * 2.0), xs = (float)exp(rnd_normal() * 2.0);
    for (int64_t i = 0; i < n; i++) {
        if (g == GEN_INT) {
            wf[i] = (float)((int)(rnd64() % 17) - 8);
            xf[i] = (float)((int)(rnd64() % 17) - 8);
        } else {
            wf[i] = rnd_normal() * ws;
            xf[i] = rnd_normal() * xs;
        }
    }
    encode(type, wf, w, n);
    encode(t->vec_dot_type, xf, x, n);
    if (g == GEN_UNIT && t->block == TK_QK_K) {
        /* K-quants: any weight bytes (every 6-bit scale and min, every
         * quant), f16 scales 1.0; activations in [-127, 127] with scale
         * 1.0 and their true bsums */
        unsigned char *wb = w;
        for (size_t i = 0; i < (size_t)tk_dtype_row_bytes(type, n); i++) wb[i] = (unsigned char)(rnd64() & 0xff);
        for (int64_t b = 0; b < n / TK_QK_K; b++) {
            if (type == TK_Q4_K) ((tk_block_q4_K *)w)[b].d = 0x3c00, ((tk_block_q4_K *)w)[b].dmin = 0x3c00;
            else ((tk_block_q6_K *)w)[b].d = 0x3c00;
            tk_block_q8_K *xb = (tk_block_q8_K *)x + b;
            xb->d = 1.0f;
            for (int j = 0; j < TK_QK_K; j++) xb->qs[j] = (int8_t)((int)(rnd64() % 255) - 127);
            for (int j = 0; j < 16; j++) {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += xb->qs[16 * j + k];
                xb->bsums[j] = (int16_t)sum;
            }
        }
    } else if (g == GEN_UNIT) {
        /* any bytes with scale 1.0 (0x3c00): weights over all of int8 (Q8_0)
         * or 0..15 (Q4_0), activations in [-127, 127] as the quantizer gives */
        for (int64_t b = 0; b < n / 32; b++) {
            tk_block_q8_0 *xb = (tk_block_q8_0 *)x + b;
            xb->d = 0x3c00;
            for (int j = 0; j < 32; j++) xb->qs[j] = (int8_t)((int)(rnd64() % 255) - 127);
            if (type == TK_Q8_0) {
                tk_block_q8_0 *wb = (tk_block_q8_0 *)w + b;
                wb->d = 0x3c00;
                for (int j = 0; j < 32; j++) wb->qs[j] = (int8_t)(rnd64() & 0xff);
            } else {
                tk_block_q4_0 *wb = (tk_block_q4_0 *)w + b;
                wb->d = 0x3c00;
                for (int j = 0; j < 16; j++) wb->qs[j] = (uint8_t)(rnd64() & 0xff);
            }
        }
    }
    free(wf), free(xf);
}

static void check_dot(int type, int isa, gen_kind g, int64_t n, double *worst) {
    const tk_dtype_traits *s = tk_dtype_get(type), *v = tk_dtype_get_isa(type, isa);
    size_t wb = (size_t)tk_dtype_row_bytes(type, n), xb = (size_t)tk_dtype_row_bytes(s->vec_dot_type, n);
    size_t align = type == TK_F32 ? 4 : 2;
    buf w = buf_new(wb, align), x = buf_new(xb, x_offset(type));
    gen_rows(type, g, w.p, x.p, n);
    float ref = s->vec_dot(n, w.p, x.p), got = v->vec_dot(n, w.p, x.p);
    int exact = g != GEN_NORMAL || is_quant(type);
    if (exact) {
        T_CHECK(fbits(ref) == fbits(got), "%s %s n=%lld gen %d: %.9g, reference %.9g (must be exact)", s->name,
                tk_isa_name(isa), (long long)n, (int)g, (double)got, (double)ref);
    } else {
        double mag = magnitude(type, w.p, x.p, n), tol = 1e-5;
        double err = fabs((double)got - (double)ref) / (mag > 0 ? mag : 1);
        if (err > *worst) *worst = err;
        T_CHECK(err <= tol, "%s %s n=%lld: %.9g vs reference %.9g: error %.3g of sum|w x| > %.0e", s->name,
                tk_isa_name(isa), (long long)n, (double)got, (double)ref, err, tol);
    }
    free(w.base), free(x.base);
}

static void test_vec_dot(void) {
    static const int64_t quant_n[] = {32, 64, 96, 128, 160, 224, 256, 352, 416, 512, 768, 1280, 4096, 4128, 11008};
    static const int64_t float_n[] = {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 100, 256, 1001, 4096, 4097, 11008};
    for (int isa = 1; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue; /* levels of other architectures */
        for (int ti = 0; ti < NTYPES; ti++) {
            int type = TYPES[ti];
            const int64_t *ns = is_quant(type) ? quant_n : float_n;
            int nn = is_quant(type) ? (int)(sizeof quant_n / sizeof *quant_n) : (int)(sizeof float_n / sizeof *float_n);
            double worst = 0;
            for (int k = 0; k < nn; k++) {
                if (!fits(type, ns[k])) continue;
                for (int rep = 0; rep < 4; rep++) check_dot(type, isa, GEN_NORMAL, ns[k], &worst);
                check_dot(type, isa, is_quant(type) ? GEN_UNIT : GEN_INT, ns[k], &worst);
            }
            if (!is_quant(type)) printf("  %-10s %-5s worst error %.2e of sum|w x|\n", tk_isa_name(isa), tk_dtype_name(type), worst);
        }
    }
}

/* Rows at a stride (the row's bytes, or more), 1..9 of them: each result
 * bit-identical to vec_dot of the same level. */
static void test_vec_dot_rows(void) {
    static const int64_t ns[] = {32, 96, 256, 1056, 1280};
    for (int isa = 0; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue; /* levels of other architectures */
        for (int ti = 0; ti < NTYPES; ti++) {
            int type = TYPES[ti];
            const tk_dtype_traits *t = tk_dtype_get_isa(type, isa), *s = tk_dtype_get(type);
            if (!t->vec_dot_rows) {
                T_CHECK(isa == TK_ISA_SCALAR, "%s at %s has no rows kernel", t->name, tk_isa_name(isa));
                continue;
            }
            for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
                if (!fits(type, ns[k])) continue;
                int64_t n = ns[k] + (is_quant(type) ? 0 : 3);
                size_t rb = (size_t)tk_dtype_row_bytes(type, n), xb = (size_t)tk_dtype_row_bytes(s->vec_dot_type, n);
                for (int pad = 0; pad <= 4; pad += 4) {
                    size_t stride = rb + (size_t)pad;
                    size_t align = type == TK_F32 ? 4 : 2; /* elements stay aligned, blocks not */
                    buf w = buf_new(stride * 9, align), x = buf_new(xb, x_offset(type));
                    float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
                    for (int64_t i = 0; i < n; i++) xf[i] = rnd_normal();
                    encode(s->vec_dot_type, xf, x.p, n);
                    for (int r = 0; r < 9; r++) {
                        for (int64_t i = 0; i < n; i++) wf[i] = rnd_normal();
                        encode(type, wf, w.p + (size_t)r * stride, n);
                    }
                    for (int nrows = 1; nrows <= 9; nrows++) {
                        float out[9];
                        t->vec_dot_rows(n, w.p, stride, x.p, out, nrows);
                        for (int r = 0; r < nrows; r++) {
                            float one = t->vec_dot(n, w.p + (size_t)r * stride, x.p);
                            T_CHECK(fbits(one) == fbits(out[r]), "%s %s n=%lld rows=%d row %d: %.9g vs vec_dot %.9g", t->name,
                                    tk_isa_name(isa), (long long)n, nrows, r, (double)out[r], (double)one);
                        }
                    }
                    free(wf), free(xf), free(w.base), free(x.base);
                }
            }
        }
    }
}

/* Many rows (the quantized kernels take 16 at a time, the float ones 4,
 * a last partial group as the group that ends at the last row): each row
 * bit-identical to vec_dot of the same level, and for Q8_0 / Q4_0 to the
 * scalar reference. Short rows of 768 (stories110m) and long ones. */
static void test_vec_dot_rows_many(void) {
    static const int64_t ns[] = {32, 96, 768, 2048};
    static const int counts[] = {1, 3, 4, 5, 15, 16, 17, 20, 31, 32, 33, 47};
    enum { MAXROWS = 47 };
    for (int isa = 1; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue; /* levels of other architectures */
        for (int ti = 0; ti < NTYPES; ti++) {
            int type = TYPES[ti];
            const tk_dtype_traits *t = tk_dtype_get_isa(type, isa), *s = tk_dtype_get(type);
            for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
                int64_t n = ns[k];
                if (!fits(type, n)) continue;
                size_t rb = (size_t)tk_dtype_row_bytes(type, n), xb = (size_t)tk_dtype_row_bytes(s->vec_dot_type, n);
                size_t stride = rb + (k & 1 ? 4 : 0);
                size_t align = type == TK_F32 ? 4 : 2;
                buf w = buf_new(stride * MAXROWS, align), x = buf_new(xb, x_offset(type));
                float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
                for (int64_t i = 0; i < n; i++) xf[i] = rnd_normal();
                encode(s->vec_dot_type, xf, x.p, n);
                for (int r = 0; r < MAXROWS; r++) {
                    float sc = (float)exp(rnd_normal());
                    for (int64_t i = 0; i < n; i++) wf[i] = rnd_normal() * sc;
                    encode(type, wf, w.p + (size_t)r * stride, n);
                }
                float one[MAXROWS], ref[MAXROWS];
                for (int r = 0; r < MAXROWS; r++) {
                    one[r] = t->vec_dot(n, w.p + (size_t)r * stride, x.p);
                    ref[r] = s->vec_dot(n, w.p + (size_t)r * stride, x.p);
                }
                for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
                    int nrows = counts[c];
                    for (int r0 = 0; r0 + nrows <= MAXROWS; r0 += MAXROWS - nrows > 0 ? MAXROWS - nrows : 1) {
                        float out[MAXROWS + 1];
                        out[nrows] = 12345.0f; /* must stay */
                        t->vec_dot_rows(n, w.p + (size_t)r0 * stride, stride, x.p, out, nrows);
                        T_CHECK(out[nrows] == 12345.0f, "%s %s n=%lld rows=%d: wrote past the end", t->name, tk_isa_name(isa),
                                (long long)n, nrows);
                        for (int r = 0; r < nrows; r++) {
                            T_CHECK(fbits(one[r0 + r]) == fbits(out[r]), "%s %s n=%lld rows=%d (from %d) row %d: %.9g vs vec_dot %.9g",
                                    t->name, tk_isa_name(isa), (long long)n, nrows, r0, r, (double)out[r], (double)one[r0 + r]);
                            if (is_quant(type))
                                T_CHECK(fbits(ref[r0 + r]) == fbits(out[r]), "%s %s n=%lld rows=%d row %d: %.9g vs reference %.9g",
                                        t->name, tk_isa_name(isa), (long long)n, nrows, r, (double)out[r], (double)ref[r0 + r]);
                        }
                        if (MAXROWS == nrows) break;
                    }
                }
                free(wf), free(xf), free(w.base), free(x.base);
            }
        }
    }
}

/* ---- from_float ------------------------------------------------------------ */

static void check_from(int type, int isa, const float *x, int64_t n, const char *what) {
    const tk_dtype_traits *s = tk_dtype_get(type), *v = tk_dtype_get_isa(type, isa);
    size_t nb = (size_t)tk_dtype_row_bytes(type, n);
    buf a = buf_new(nb, 2), b = buf_new(nb, 2);
    memset(a.p, 0x5a, nb), memset(b.p, 0xa5, nb);
    s->from_float(x, a.p, n);
    v->from_float(x, b.p, n);
    size_t at = 0;
    while (at < nb && a.p[at] == b.p[at]) at++;
    T_CHECK(at == nb, "%s from_float at %s (%s, n=%lld): byte %zu is %02x, reference %02x", s->name, tk_isa_name(isa),
            what, (long long)n, at, at < nb ? b.p[at] : 0, at < nb ? a.p[at] : 0);
    free(a.base), free(b.base);
}

/* Values that stress a conversion: every kind of special float. */
static float special(uint64_t r) {
    static const uint32_t bits[] = {
        0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000,
        0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xffffffff, 0x7fffe000, 0x477ff000,
        0x477fefff, 0x477ff001, 0xc77ff000, 0x387fc000, 0x387fe000, 0x33000000, 0x33000001, 0x32ffffff,
        0x3f808000, 0x3f818000, 0x3f80c000, 0x7f7f8000, 0x7f7fffff, 0x3effffff, 0x3f000000, 0xbf000000,
    };
    return ffrom(bits[r % (sizeof bits / sizeof bits[0])]);
}

static void test_from_float_half(void) {
    enum { N = 4096 };
    float *x = malloc(N * sizeof *x);
    for (int isa = 1; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue; /* levels of other architectures */
        for (int type = TK_F16; type <= TK_BF16; type = type == TK_F16 ? TK_BF16 : TK_BF16 + 1) {
            /* a strided sweep over all 2^32 patterns, N at a time */
            for (uint64_t u = 0; u < (1ull << 32); u += (uint64_t)N * 2053) {
                for (int i = 0; i < N; i++) x[i] = ffrom((uint32_t)(u + (uint64_t)i * 2053));
                check_from(type, isa, x, N, "bit-pattern sweep");
            }
            for (int i = 0; i < N; i++) x[i] = special(rnd64());
            check_from(type, isa, x, N, "special values");
            for (int i = 0; i < N; i++) x[i] = rnd_normal() * (float)exp(rnd_normal() * 8);
            check_from(type, isa, x, N, "random");
            /* every tail length */
            for (int n = 1; n <= 48; n++) {
                for (int i = 0; i < n; i++) x[i] = rnd_normal();
                check_from(type, isa, x, n, "short row");
            }
        }
    }
    free(x);
}

/* Q8_0: blocks of every flavour, then whole rows. */
static void fill_q8_block(float *x, int kind) {
    float e = ldexpf(1.0f, (int)(rnd64() % 60) - 30);
    switch (kind) {
    case 0: for (int j = 0; j < 32; j++) x[j] = rnd_normal() * e; break;
    case 1: for (int j = 0; j < 32; j++) x[j] = 0.0f; break;
    case 2: for (int j = 0; j < 32; j++) x[j] = (rnd64() & 1) ? -0.0f : 0.0f; break;
    case 3: /* ties: amax 127 * 2^k makes d = 2^k and x / d = k + 0.5 exactly */
        x[0] = (rnd64() & 1 ? 127.0f : -127.0f) * e;
        for (int j = 1; j < 32; j++) x[j] = ((float)((int)(rnd64() % 254) - 127) + 0.5f) * e;
        break;
    case 4: /* next to ties */
        x[0] = 127.0f * e;
        for (int j = 1; j < 32; j++) {
            float t = ((float)((int)(rnd64() % 254) - 127) + 0.5f) * e;
            x[j] = nextafterf(t, (rnd64() & 1) ? INFINITY : -INFINITY);
        }
        break;
    case 5: for (int j = 0; j < 32; j++) x[j] = rnd_normal() * 3e37f; break; /* huge */
    case 6: x[rnd64() % 32] = FLT_MAX; for (int j = 0; j < 32; j++) if (x[j] != FLT_MAX) x[j] = -rnd_normal() * 1e38f; break;
    case 7: for (int j = 0; j < 32; j++) x[j] = rnd_normal() * 1e-38f; break;  /* subnormal and tiny */
    case 8: for (int j = 0; j < 32; j++) x[j] = rnd_normal() * 1e-31f; break;  /* near the 2^-100 cut */
    case 9: for (int j = 0; j < 32; j++) x[j] = ffrom((uint32_t)(rnd64() % 0x1000)); break;
    case 10: for (int j = 0; j < 32; j++) x[j] = rnd_normal(); x[rnd64() % 32] = special(rnd64()); break;
    case 11: for (int j = 0; j < 32; j++) x[j] = special(rnd64()); break;
    case 12: /* one value, the rest zero */
        for (int j = 0; j < 32; j++) x[j] = 0.0f;
        x[rnd64() % 32] = rnd_normal() * e;
        break;
    default: /* +-0.5, +-1.5 steps around small amax */
        x[0] = 127.0f;
        for (int j = 1; j < 32; j++) x[j] = (float)((int)(rnd64() % 7) - 3) + 0.5f;
        break;
    }
}

static void test_from_float_q8_0(void) {
    enum { NB = 512 };
    float *x = malloc(NB * 32 * sizeof *x);
    for (int isa = 1; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue; /* levels of other architectures */
        for (int kind = 0; kind <= 13; kind++) {
            for (int b = 0; b < NB; b++) fill_q8_block(x + b * 32, kind);
            char what[32];
            snprintf(what, sizeof what, "block kind %d", kind);
            check_from(TK_Q8_0, isa, x, NB * 32, what);
        }
        for (int b = 0; b < NB; b++) fill_q8_block(x + b * 32, (int)(rnd64() % 14));
        check_from(TK_Q8_0, isa, x, NB * 32, "mixed blocks");
        for (int nb = 1; nb <= 9; nb++) {
            for (int i = 0; i < nb * 32; i++) x[i] = rnd_normal();
            check_from(TK_Q8_0, isa, x, nb * 32, "short row");
        }
    }
    free(x);
}

/* ---- models ---------------------------------------------------------------- */

/* Logits of n_pos fixed tokens then n_greedy greedy steps (greedy[] gets
 * the ids), (n_pos + n_greedy) x n_vocab floats. */
static float *run_model(const char *path, const char *isa, int n_pos, int32_t *greedy, int n_greedy, int *nv) {
    tk_error e = {0};
    tk_load_opts lo = {.isa = isa};
    tk_model *m = tk_model_load(path, &lo, &e);
    T_CHECK(m != NULL, "load %s --isa %s: %s", path, isa, e.msg);
    if (!m) return NULL;
    T_CHECK(!strcmp(tk_model_info_of(m)->isa, isa), "model runs %s, asked %s", tk_model_info_of(m)->isa, isa);
    *nv = tk_n_vocab(m);
    float *logits = calloc((size_t)(n_pos + n_greedy) * *nv, sizeof *logits);
    tk_session_opts so = {.n_ctx = 64};
    tk_session *s = tk_session_new(m, &so, &e);
    T_CHECK(s != NULL, "session: %s", e.msg);
    int32_t tok = 1;
    for (int p = 0; s && p < n_pos + n_greedy; p++) {
        T_CHECK(tk_decode(s, tok, &e) == TK_OK, "decode: %s", e.msg);
        const float *l = tk_logits(s);
        memcpy(logits + (size_t)p * *nv, l, (size_t)*nv * sizeof *logits);
        if (p + 1 < n_pos) {
            tok = (int32_t)(7 + p * 31) % *nv; /* a fixed prompt */
        } else {
            int b = 0;
            for (int i = 1; i < *nv; i++)
                if (l[i] > l[b]) b = i;
            if (p + 1 - n_pos < n_greedy) greedy[p + 1 - n_pos] = b;
            tok = b;
        }
    }
    tk_session_free(s);
    tk_model_free(m);
    return logits;
}

/* Each level against the scalar one on the same model: logits within
 * 1e-4 relative RMS over the prompt (5e-3 for BF16 weights with the BF16
 * dot-product instruction, which sums in float: the activations' rounding
 * to BF16 amplifies any change in the last bits to ~1e-3), and the same
 * greedy ids, except that the paths may part where the reference's two
 * best logits were within 1e-3 of each other (a near tie). */
/* ---- attention ------------------------------------------------------------ */

/* one case: n_kv kv heads of `group` query heads, positions t0..t1 of a
 * cache of n_ctx; head_major: [kv head][t][hd], else [t][kv head][hd] */
static void check_attention(int isa, int hd, int group, int n_kv, int t0, int t1, int head_major, double *worst) {
    const int n_head = n_kv * group, n_ctx = t1 + 3;
    const size_t kvn = (size_t)n_ctx * n_kv * hd;
    float *q = malloc(sizeof(float) * (size_t)n_head * hd), *k = malloc(sizeof(float) * kvn), *v = malloc(sizeof(float) * kvn);
    float *out = malloc(sizeof(float) * (size_t)n_head * hd), *out2 = malloc(sizeof(float) * (size_t)n_head * hd);
    float *att = malloc(sizeof(float) * (size_t)n_head * n_ctx);
    for (int i = 0; i < n_head * hd; i++) q[i] = 2.0f * rnd_normal(); /* scores spread over ~4 units */
    for (size_t i = 0; i < kvn; i++) k[i] = rnd_normal(), v[i] = rnd_normal();
    tk_attn_row r = {.q = q, .k = k, .v = v, .out = out, .att = att, .att_stride = (size_t)n_ctx,
                     .kv_head = head_major ? (size_t)n_ctx * hd : (size_t)hd,
                     .kv_row = head_major ? (size_t)hd : (size_t)n_kv * hd,
                     .hd = hd, .group = group, .t0 = t0, .t1 = t1, .scale = 1.0f / sqrtf((float)hd)};
    tk_attention(isa, &r, 0, n_head);
    double *p = malloc(sizeof(double) * (size_t)n_ctx);
    int bad = 0;
    for (int h = 0; h < n_head && !bad; h++) {
        const float *kh = k + (size_t)(h / group) * r.kv_head, *vh = v + (size_t)(h / group) * r.kv_head;
        double mx = -INFINITY, sum = 0;
        for (int t = t0; t <= t1; t++) {
            double s = 0;
            for (int d = 0; d < hd; d++) s += (double)q[(size_t)h * hd + d] * kh[(size_t)t * r.kv_row + d];
            p[t] = s * r.scale;
            if (p[t] > mx) mx = p[t];
        }
        for (int t = t0; t <= t1; t++) sum += p[t] = exp(p[t] - mx);
        for (int d = 0; d < hd && !bad; d++) {
            double want = 0, size = 0;
            for (int t = t0; t <= t1; t++) {
                double x = p[t] / sum * vh[(size_t)t * r.kv_row + d];
                want += x, size += fabs(x);
            }
            const double err = fabs(out[(size_t)h * hd + d] - want) / size;
            if (err > *worst) *worst = err;
            T_CHECK(err <= 1e-5, "%s hd %d group %d t %d..%d %s: head %d dim %d: %.9g, want %.9g (error %.2e of sum p|v|)",
                    tk_isa_name(isa), hd, group, t0, t1, head_major ? "head-major" : "position-major", h, d,
                    (double)out[(size_t)h * hd + d], want, err);
            bad |= err > 1e-5;
        }
    }
    /* the same heads in pieces of 1, 3, 5 (a thread's share): the same bits */
    for (int piece = 1; piece <= 5; piece += 2) {
        r.out = out2;
        for (int h = 0; h < n_head; h += piece) tk_attention(isa, &r, h, h + piece < n_head ? h + piece : n_head);
        T_CHECK(!memcmp(out, out2, sizeof(float) * (size_t)n_head * hd), "%s hd %d group %d t %d..%d: heads in pieces of %d differ",
                tk_isa_name(isa), hd, group, t0, t1, piece);
    }
    free(q), free(k), free(v), free(out), free(out2), free(att), free(p);
}

static void test_attention(void) {
    static const int hds[] = {16, 48, 64, 80, 100, 128, 256};
    static const int spans[][2] = {{0, 0}, {0, 1}, {0, 14}, {0, 15}, {0, 16}, {0, 31}, {0, 100}, {5, 5}, {7, 40}, {100, 299}};
    static const int groups[][2] = {{1, 3}, {4, 2}, {8, 1}, {32, 1}}; /* group, kv heads */
    for (int isa = 0; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue;
        double worst = 0;
        for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
            for (size_t s = 0; s < sizeof spans / sizeof spans[0]; s++)
                for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
                    check_attention(isa, hds[a], groups[g][0], groups[g][1], spans[s][0], spans[s][1], (int)((a + s + g) & 1), &worst);
        printf("  %-10s attention worst error %.2e of sum p|v|\n", tk_isa_name(isa), worst);
    }
}

static void test_models_every_isa(void) {
    static const char *files[] = {"models/stories260K.gguf", "models/golden-tiny256/tiny256-f32.gguf",
                                  "models/golden-tiny256/tiny256-f16.gguf", "models/golden-tiny256/tiny256-bf16.gguf",
                                  "models/golden-tiny256/tiny256-q8_0.gguf", "models/golden-tiny256/tiny256-q4_0.gguf",
                                  "models/golden-tiny256/tiny256-q4_k.gguf", "models/golden-tiny256/tiny256-q6_k.gguf"};
    enum { POS = 8, GREEDY = 24 };
    int ran = 0;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        const char *path = t_shared(files[f], NULL);
        if (!path) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s", path);
        int32_t g0[GREEDY], g[GREEDY];
        int nv = 0;
        float *ref = run_model(p, "scalar", POS, g0, GREEDY, &nv);
        if (!ref) continue;
        for (int isa = 1; isa < TK_ISA_COUNT; isa++) {
        if (!tk_isa_supported(isa)) continue; /* levels of other architectures */
            float *got = run_model(p, tk_isa_name(isa), POS, g, GREEDY, &nv);
            if (!got) continue;
            double se = 0, sw = 0;
            for (size_t i = 0; i < (size_t)POS * nv; i++) {
                se += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
                sw += (double)ref[i] * ref[i];
            }
            double rr = sqrt(se / (sw > 0 ? sw : 1));
            /* Attention's SIMD dot products sum in another order than the
             * scalar loop (1e-7 relative); models whose activations are
             * rounded to F16/BF16 before each matmul amplify that: a value
             * that lands on the other side of a rounding boundary moves by a
             * whole F16/BF16 step. Measured: F16 2.5e-4, BF16 2.6e-3. */
            double tol = strstr(files[f], "bf16") ? 5e-3 : strstr(files[f], "f16") ? 5e-4 : 1e-4;
            T_CHECK(rr <= tol, "%s at %s: logits differ from scalar by %.3g relative RMS > %.0e", files[f], tk_isa_name(isa), rr, tol);
            int same = 0;
            while (same < GREEDY && g[same] == g0[same]) same++;
            if (same < GREEDY) {
                const float *l = ref + (size_t)(POS - 1 + same) * nv;
                double gap = (double)l[g0[same]] - l[g[same]];
                T_CHECK(gap <= 1e-3, "%s at %s: greedy id %d is %d, scalar has %d (logit gap %.3g: not a near tie)", files[f],
                        tk_isa_name(isa), same, g[same], g0[same], gap);
            }
            printf("  %-40s %-10s rel-rms vs scalar %.2e  greedy %d/%d\n", files[f], tk_isa_name(isa), rr, same, GREEDY);
            free(got);
            ran++;
        }
        free(ref);
    }
    if (!ran && tk_isa_detect() != TK_ISA_SCALAR) T_SKIP("no model fixtures in ../shared");
}

static void test_load_isa_names(void) {
    const char *path = t_shared("models/stories260K.gguf", NULL);
    if (!path) T_SKIP("models/stories260K.gguf is absent");
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    tk_error e = {0};
    tk_load_opts lo = {.isa = "avx9000"};
    tk_model *m = tk_model_load(p, &lo, &e);
    T_CHECK(m == NULL && e.code == TK_EINVAL && strstr(e.msg, "avx9000") && strstr(e.msg, "scalar"),
            "an unknown ISA must fail naming it and the known ones: %s", e.msg);
    tk_model_free(m);
    lo.isa = "auto";
    m = tk_model_load(p, &lo, &e);
    T_CHECK(m && !strcmp(tk_model_info_of(m)->isa, tk_isa_name(tk_isa_detect())), "auto must pick the detected level");
    tk_model_free(m);
    m = tk_model_load(p, NULL, &e);
    T_CHECK(m && !strcmp(tk_model_info_of(m)->isa, tk_isa_name(tk_isa_detect())), "no options must pick the detected level");
    tk_model_free(m);
    if (tk_isa_detect() + 1 < TK_ISA_COUNT) {
        lo.isa = tk_isa_name(TK_ISA_COUNT - 1);
        m = tk_model_load(p, &lo, &e);
        T_CHECK(m == NULL && e.code == TK_EUNSUPPORTED && strstr(e.msg, lo.isa),
                "an ISA this CPU lacks must fail with TK_EUNSUPPORTED: %s", e.msg);
        tk_model_free(m);
    }
}

int main(void) {
    T_RUN(test_isa_names);
    T_RUN(test_tables);
    T_RUN(test_vec_dot);
    T_RUN(test_vec_dot_rows);
    T_RUN(test_vec_dot_rows_many);
    T_RUN(test_from_float_half);
    T_RUN(test_from_float_q8_0);
    T_RUN(test_attention);
    T_RUN(test_models_every_isa);
    T_RUN(test_load_isa_names);
    return t_done();
}
