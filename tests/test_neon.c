/* test_neon.c: the aarch64 levels (neon, neon-dotprod) and their kernels
 * (src/tensor/simd/neon.c) against the scalar references. On x86-64 only
 * the level bookkeeping is checked (the kernel tests skip); `make
 * check-arm` builds this for aarch64 and runs it under qemu-aarch64, whose
 * default CPU has both levels.
 *
 *  - levels: names, tk_isa_has (two chains, not numeric order), detection
 *    (aarch64 runs neon or neon-dotprod and no x86-64 level; x86-64 never
 *    runs an ARM level), tables fall back along their own chain
 *  - vec_dot of F32 / F16 / BF16: within 1e-5 of the reference relative to
 *    sum |w_i x_i| on random rows of n = 1 ... 11008; bit-exact where every
 *    partial sum is exact (small integers)
 *  - vec_dot of Q8_0 / Q4_0 / Q4_K / Q6_K: bit-identical to the reference always, on
 *    random rows and on rows of unit scales with bytes over all of int8
 *    (activations too: the NEON sums are exact even for -128)
 *  - vec_dot_rows: each row bit-identical to vec_dot of the same level
 *  - from_float of F16 / BF16 / Q8_0: byte-identical to the reference
 *  - models (when ../shared has them): each ARM level gives the scalar
 *    level's logits within the tolerances of test_simd.c */
#include "t.h"
#include "tick.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/dtype.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rnd64(uint64_t *st) { /* splitmix64 */
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float rnd_normal(uint64_t *st) {
    double u = (double)(rnd64(st) >> 11) * 0x1.0p-53, v = (double)(rnd64(st) >> 11) * 0x1.0p-53;
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

/* The ARM levels this CPU runs; 0 of them off aarch64. */
static int arm_levels(int *lv) {
    int n = 0;
    for (int i = TK_ISA_NEON; i <= TK_ISA_NEON_DOTPROD; i++)
        if (tk_isa_supported(i)) lv[n++] = i;
    return n;
}

static void encode(int type, const float *x, void *dst, int64_t n) { tk_dtype_get(type)->from_float(x, dst, n); }

/* Buffers at an offset that keeps the element alignment but not 16-byte
 * alignment, as rows inside a GGUF file are. */
typedef struct { unsigned char *base, *p; } buf;
static buf buf_new(size_t n, size_t offset) {
    buf b;
    b.base = calloc(n + 64, 1);
    b.p = b.base + offset;
    return b;
}

/* ---- levels -------------------------------------------------------------- */

static void test_levels(void) {
    T_CHECK(!strcmp(tk_isa_name(TK_ISA_NEON), "neon") && !strcmp(tk_isa_name(TK_ISA_NEON_DOTPROD), "neon-dotprod"),
            "names %s, %s", tk_isa_name(TK_ISA_NEON), tk_isa_name(TK_ISA_NEON_DOTPROD));
    T_CHECK(tk_isa_from_name("NEON") == TK_ISA_NEON && tk_isa_from_name("Neon-DotProd") == TK_ISA_NEON_DOTPROD &&
                tk_isa_from_name("neon-") == -1 && tk_isa_from_name("neondotprod") == -1,
            "name lookup");
    T_CHECK(TK_ISA_AVX2 == 1 && TK_ISA_AVX512 == 2 && TK_ISA_AVX512_VNNI == 3 && TK_ISA_AVX512_BF16 == 4 && TK_ISA_AMX == 5,
            "the x86-64 numbering is kept");
    /* the two chains */
    for (int i = 0; i < TK_ISA_COUNT; i++) {
        T_CHECK(tk_isa_has(i, TK_ISA_SCALAR) && tk_isa_has(i, i), "%s has scalar and itself", tk_isa_name(i));
        T_CHECK(!tk_isa_has(i, -1) && !tk_isa_has(i, TK_ISA_COUNT) && !tk_isa_has(-1, i) && !tk_isa_has(TK_ISA_COUNT, i),
                "out of range");
        for (int j = 1; j < TK_ISA_COUNT; j++) {
            int arm_i = i >= TK_ISA_NEON, arm_j = j >= TK_ISA_NEON;
            int want = i != TK_ISA_SCALAR && arm_i == arm_j && i >= j;
            T_CHECK(tk_isa_has(i, j) == want, "tk_isa_has(%s, %s) is %d", tk_isa_name(i), tk_isa_name(j), tk_isa_has(i, j));
        }
    }
    int best = tk_isa_detect();
    T_CHECK(tk_isa_supported(best), "the detected level %s is supported", tk_isa_name(best));
#if defined(__aarch64__)
    T_CHECK(best == TK_ISA_NEON || best == TK_ISA_NEON_DOTPROD, "aarch64 detects %s", tk_isa_name(best));
    for (int i = TK_ISA_AVX2; i <= TK_ISA_AMX; i++) T_CHECK(!tk_isa_supported(i), "aarch64 runs %s", tk_isa_name(i));
    T_CHECK(tk_isa_supported(TK_ISA_NEON), "aarch64 always runs neon");
#else
    T_CHECK(!tk_isa_supported(TK_ISA_NEON) && !tk_isa_supported(TK_ISA_NEON_DOTPROD), "an ARM level runs here");
    T_CHECK(best < TK_ISA_NEON, "detects %s", tk_isa_name(best));
#endif
    for (int i = 0; i < TK_ISA_COUNT; i++)
        if (tk_isa_supported(i) && i != TK_ISA_SCALAR) T_CHECK(tk_isa_has(best, i), "%s runs but is not below %s", tk_isa_name(i), tk_isa_name(best));
    printf("  this CPU: %s\n", tk_isa_name(best));
}

static void test_tables(void) {
    for (int type = 0; type < TK_DTYPE_COUNT; type++) {
        const tk_dtype_traits *s = tk_dtype_get(type);
        for (int isa = TK_ISA_NEON; isa <= TK_ISA_NEON_DOTPROD; isa++) {
            const tk_dtype_traits *t = tk_dtype_get_isa(type, isa);
            T_CHECK((t == NULL) == (s == NULL), "type %d at %s: known at one level only", type, tk_isa_name(isa));
            if (!t || !s) continue;
            T_CHECK(!strcmp(t->name, s->name) && t->block == s->block && t->bytes == s->bytes && t->vec_dot_type == s->vec_dot_type &&
                        !t->vec_dot == !s->vec_dot && !t->to_float == !s->to_float && !t->from_float == !s->from_float,
                    "%s at %s: the table disagrees with the scalar one", s->name, tk_isa_name(isa));
#if defined(__aarch64__)
            /* neon-dotprod falls back to neon, never to an x86-64 table */
            if (isa == TK_ISA_NEON_DOTPROD && (type == TK_F32 || type == TK_F16 || type == TK_BF16 || type == TK_Q4_K || type == TK_Q6_K))
                T_CHECK(t == tk_dtype_get_isa(type, TK_ISA_NEON), "%s at neon-dotprod is not neon's", s->name);
#else
            T_CHECK(t == s, "%s at %s off aarch64 is not the scalar entry", s->name, tk_isa_name(isa));
#endif
        }
    }
#if defined(__aarch64__)
    for (int i = 0; i < NTYPES; i++) {
        T_CHECK(tk_dtype_get_isa(TYPES[i], TK_ISA_NEON)->vec_dot != tk_dtype_get(TYPES[i])->vec_dot,
                "%s has no NEON dot product", tk_dtype_name(TYPES[i]));
        for (int isa = TK_ISA_AVX2; isa <= TK_ISA_AMX; isa++)
            T_CHECK(tk_dtype_get_isa(TYPES[i], isa) == tk_dtype_get(TYPES[i]), "%s at %s on aarch64 is not scalar",
                    tk_dtype_name(TYPES[i]), tk_isa_name(isa));
    }
    T_CHECK(tk_dtype_get_isa(TK_Q8_0, TK_ISA_NEON_DOTPROD)->vec_dot != tk_dtype_get_isa(TK_Q8_0, TK_ISA_NEON)->vec_dot &&
                tk_dtype_get_isa(TK_Q4_0, TK_ISA_NEON_DOTPROD)->vec_dot != tk_dtype_get_isa(TK_Q4_0, TK_ISA_NEON)->vec_dot,
            "neon-dotprod has its own int8 dot products");
#endif
}

/* ---- vec_dot ------------------------------------------------------------- */

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

typedef enum { GEN_NORMAL, GEN_INT, GEN_UNIT, GEN_WIDE } gen_kind;

/* A weight row w (type) and an activation row x (vec_dot_type). GEN_INT:
 * small integers (every float sum exact); GEN_UNIT: quantized rows of
 * scale 1.0 with bytes over all of int8 (Q4_0 weights: all nibbles);
 * GEN_WIDE: the same bytes with random scales of full 11-bit significands,
 * so that block sums of 15 bits and more times a scale need rounding and
 * the order of the scalings shows. */
static void gen_rows(uint64_t *st, int type, gen_kind g, void *w, void *x, int64_t n) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
    float ws = (float)exp(rnd_normal(st) * 2.0), xs = (float)exp(rnd_normal(st) * 2.0);
    for (int64_t i = 0; i < n; i++) {
        if (g == GEN_INT) {
            wf[i] = (float)((int)(rnd64(st) % 17) - 8);
            xf[i] = (float)((int)(rnd64(st) % 17) - 8);
        } else {
            wf[i] = rnd_normal(st) * ws;
            xf[i] = rnd_normal(st) * xs;
        }
    }
    encode(type, wf, w, n);
    encode(t->vec_dot_type, xf, x, n);
    if ((g == GEN_UNIT || g == GEN_WIDE) && t->block == TK_QK_K) {
        /* K-quants: any weight bytes, any activation bytes (-128 too) with
         * their true bsums; scales 1.0 (GEN_UNIT) or random (GEN_WIDE) */
        unsigned char *wb = w;
        for (size_t i = 0; i < (size_t)tk_dtype_row_bytes(type, n); i++) wb[i] = (unsigned char)(rnd64(st) & 0xff);
        for (int64_t b = 0; b < n / TK_QK_K; b++) {
            uint16_t d = g == GEN_UNIT ? 0x3c00 : (uint16_t)((0x1c00 + rnd64(st) % 0x3c00) | (rnd64(st) & 0x8000));
            if (type == TK_Q4_K) ((tk_block_q4_K *)w)[b].d = d, ((tk_block_q4_K *)w)[b].dmin = g == GEN_UNIT ? 0x3c00 : d ^ 0x400;
            else ((tk_block_q6_K *)w)[b].d = d;
            tk_block_q8_K *xb = (tk_block_q8_K *)x + b;
            xb->d = g == GEN_UNIT ? 1.0f : (float)ldexp(1.0 + (double)(rnd64(st) % 1000) / 1000.0, (int)(rnd64(st) % 16) - 8);
            for (int j = 0; j < TK_QK_K; j++) xb->qs[j] = (int8_t)(rnd64(st) & 0xff);
            for (int j = 0; j < 16; j++) {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += xb->qs[16 * j + k];
                xb->bsums[j] = (int16_t)sum;
            }
        }
    } else if (g == GEN_UNIT || g == GEN_WIDE) {
        for (int64_t b = 0; b < n / 32; b++) {
            tk_block_q8_0 *xb = (tk_block_q8_0 *)x + b;
            xb->d = 0x3c00;
            for (int j = 0; j < 32; j++) xb->qs[j] = (int8_t)(rnd64(st) & 0xff);
            if (type == TK_Q8_0) {
                tk_block_q8_0 *wb = (tk_block_q8_0 *)w + b;
                wb->d = 0x3c00;
                for (int j = 0; j < 32; j++) wb->qs[j] = (int8_t)(rnd64(st) & 0xff);
            } else {
                tk_block_q4_0 *wb = (tk_block_q4_0 *)w + b;
                wb->d = 0x3c00;
                for (int j = 0; j < 16; j++) wb->qs[j] = (uint8_t)(rnd64(st) & 0xff);
            }
            if (g == GEN_WIDE && (b & 1)) { /* x follows w's sign: block sums of 14..18 bits */
                for (int j = 0; j < 32; j++) {
                    int wj = type == TK_Q8_0 ? ((tk_block_q8_0 *)w)[b].qs[j]
                                             : (((tk_block_q4_0 *)w)[b].qs[j % 16] >> (j < 16 ? 0 : 4) & 15) - 8;
                    int mag = 100 + (int)(rnd64(st) % 28);
                    xb->qs[j] = (int8_t)(wj < 0 ? -mag : mag);
                }
            }
            if (g == GEN_WIDE) { /* 2^-8 .. 2^7, any significand, either sign (weights) */
                xb->d = (uint16_t)(0x1c00 + rnd64(st) % 0x3c00);
                const uint16_t dw = (uint16_t)((0x1c00 + rnd64(st) % 0x3c00) | (rnd64(st) & 0x8000));
                memcpy((char *)w + (size_t)b * (size_t)t->bytes, &dw, sizeof dw);
            }
        }
        /* the extremes in the first block: -128 * -128 everywhere */
        if (type == TK_Q8_0) {
            memset(((tk_block_q8_0 *)w)->qs, 0x80, 32);
            memset(((tk_block_q8_0 *)x)->qs, 0x80, 32);
        }
    }
    free(wf), free(xf);
}

static void check_dot(uint64_t *st, int type, int isa, gen_kind g, int64_t n, double *worst) {
    const tk_dtype_traits *s = tk_dtype_get(type), *v = tk_dtype_get_isa(type, isa);
    size_t wb = (size_t)tk_dtype_row_bytes(type, n), xb = (size_t)tk_dtype_row_bytes(s->vec_dot_type, n);
    size_t align = type == TK_F32 ? 4 : 2;
    buf w = buf_new(wb, align), x = buf_new(xb, x_offset(type));
    gen_rows(st, type, g, w.p, x.p, n);
    float ref = s->vec_dot(n, w.p, x.p), got = v->vec_dot(n, w.p, x.p);
    if (g != GEN_NORMAL || is_quant(type)) {
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
    int lv[2], nl = arm_levels(lv);
    if (!nl) T_SKIP("no ARM level on this CPU (make check-arm runs this under qemu-aarch64)");
    static const int64_t quant_n[] = {32, 64, 96, 128, 160, 224, 256, 352, 416, 512, 1280, 4096, 4128, 11008};
    static const int64_t float_n[] = {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 100, 256, 1001, 4096, 4097, 11008};
    uint64_t st = 0x243f6a8885a308d3ull;
    for (int l = 0; l < nl; l++) {
        for (int ti = 0; ti < NTYPES; ti++) {
            int type = TYPES[ti];
            const int64_t *ns = is_quant(type) ? quant_n : float_n;
            int nn = is_quant(type) ? (int)(sizeof quant_n / sizeof *quant_n) : (int)(sizeof float_n / sizeof *float_n);
            double worst = 0;
            for (int k = 0; k < nn; k++) {
                if (!fits(type, ns[k])) continue;
                for (int rep = 0; rep < 4; rep++) check_dot(&st, type, lv[l], GEN_NORMAL, ns[k], &worst);
                check_dot(&st, type, lv[l], is_quant(type) ? GEN_UNIT : GEN_INT, ns[k], &worst);
                if (is_quant(type))
                    for (int rep = 0; rep < 4; rep++) check_dot(&st, type, lv[l], GEN_WIDE, ns[k], &worst);
            }
            if (!is_quant(type)) printf("  %-12s %-5s worst error %.2e of sum|w x|\n", tk_isa_name(lv[l]), tk_dtype_name(type), worst);
        }
    }
}

static void test_vec_dot_rows(void) {
    int lv[2], nl = arm_levels(lv);
    if (!nl) T_SKIP("no ARM level on this CPU");
    static const int64_t ns[] = {32, 96, 256, 1056, 1280};
    uint64_t st = 0x13198a2e03707344ull;
    for (int l = 0; l < nl; l++) {
        int isa = lv[l];
        for (int ti = 0; ti < NTYPES; ti++) {
            int type = TYPES[ti];
            const tk_dtype_traits *t = tk_dtype_get_isa(type, isa), *s = tk_dtype_get(type);
            T_CHECK(t->vec_dot_rows != NULL, "%s at %s has no rows kernel", t->name, tk_isa_name(isa));
            if (!t->vec_dot_rows) continue;
            for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
                if (!fits(type, ns[k])) continue;
                int64_t n = ns[k] + (is_quant(type) ? 0 : 3);
                size_t rb = (size_t)tk_dtype_row_bytes(type, n), xb = (size_t)tk_dtype_row_bytes(s->vec_dot_type, n);
                for (int pad = 0; pad <= 4; pad += 4) {
                    size_t stride = rb + (size_t)pad, align = type == TK_F32 ? 4 : 2;
                    buf w = buf_new(stride * 9, align), x = buf_new(xb, x_offset(type));
                    float *wf = malloc((size_t)n * sizeof *wf), *xf = malloc((size_t)n * sizeof *xf);
                    for (int64_t i = 0; i < n; i++) xf[i] = rnd_normal(&st);
                    encode(s->vec_dot_type, xf, x.p, n);
                    for (int r = 0; r < 9; r++) {
                        for (int64_t i = 0; i < n; i++) wf[i] = rnd_normal(&st);
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
    T_CHECK(at == nb, "%s from_float at %s (%s, n=%lld): byte %zu is %02x, reference %02x", s->name, tk_isa_name(isa), what,
            (long long)n, at, at < nb ? b.p[at] : 0, at < nb ? a.p[at] : 0);
    free(a.base), free(b.base);
}

static float special(uint64_t r) {
    static const uint32_t bits[] = {
        0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000,
        0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xffffffff, 0x7fffe000, 0x477ff000,
        0x477fefff, 0x477ff001, 0xc77ff000, 0x387fc000, 0x387fe000, 0x33000000, 0x33000001, 0x32ffffff,
        0x3f808000, 0x3f818000, 0x3f80c000, 0x7f7f8000, 0x3effffff, 0x3f000000, 0xbf000000, 0xff812345,
    };
    return ffrom(bits[r % (sizeof bits / sizeof bits[0])]);
}

static void test_from_float_half(void) {
    int lv[2], nl = arm_levels(lv);
    if (!nl) T_SKIP("no ARM level on this CPU");
    enum { N = 4096 };
    float *x = malloc(N * sizeof *x);
    uint64_t st = 0xa4093822299f31d0ull;
    for (int l = 0; l < nl; l++) {
        for (int type = TK_F16; type <= TK_BF16; type = type == TK_F16 ? TK_BF16 : TK_BF16 + 1) {
            if (l > 0 && tk_dtype_get_isa(type, lv[l])->from_float == tk_dtype_get_isa(type, lv[0])->from_float) continue;
            for (uint64_t u = 0; u < (1ull << 32); u += (uint64_t)N * 2053) {
                for (int i = 0; i < N; i++) x[i] = ffrom((uint32_t)(u + (uint64_t)i * 2053));
                check_from(type, lv[l], x, N, "bit-pattern sweep");
            }
            for (int i = 0; i < N; i++) x[i] = special(rnd64(&st));
            check_from(type, lv[l], x, N, "special values");
            for (int i = 0; i < N; i++) x[i] = rnd_normal(&st) * (float)exp(rnd_normal(&st) * 8);
            check_from(type, lv[l], x, N, "random");
            for (int n = 1; n <= 48; n++) {
                for (int i = 0; i < n; i++) x[i] = rnd_normal(&st);
                check_from(type, lv[l], x, n, "short row");
            }
        }
    }
    free(x);
}

static void fill_q8_block(uint64_t *st, float *x, int kind) {
    float e = ldexpf(1.0f, (int)(rnd64(st) % 60) - 30);
    switch (kind) {
    case 0: for (int j = 0; j < 32; j++) x[j] = rnd_normal(st) * e; break;
    case 1: for (int j = 0; j < 32; j++) x[j] = 0.0f; break;
    case 2: for (int j = 0; j < 32; j++) x[j] = (rnd64(st) & 1) ? -0.0f : 0.0f; break;
    case 3: /* ties: amax 127 * 2^k makes d = 2^k and x / d = k + 0.5 exactly */
        x[0] = (rnd64(st) & 1 ? 127.0f : -127.0f) * e;
        for (int j = 1; j < 32; j++) x[j] = ((float)((int)(rnd64(st) % 254) - 127) + 0.5f) * e;
        break;
    case 4: /* next to ties */
        x[0] = 127.0f * e;
        for (int j = 1; j < 32; j++) {
            float t = ((float)((int)(rnd64(st) % 254) - 127) + 0.5f) * e;
            x[j] = nextafterf(t, (rnd64(st) & 1) ? INFINITY : -INFINITY);
        }
        break;
    case 5: for (int j = 0; j < 32; j++) x[j] = rnd_normal(st) * 3e37f; break;
    case 6:
        x[rnd64(st) % 32] = FLT_MAX;
        for (int j = 0; j < 32; j++)
            if (x[j] != FLT_MAX) x[j] = -rnd_normal(st) * 1e38f;
        break;
    case 7: for (int j = 0; j < 32; j++) x[j] = rnd_normal(st) * 1e-38f; break;
    case 8: for (int j = 0; j < 32; j++) x[j] = rnd_normal(st) * 1e-31f; break;
    case 9: for (int j = 0; j < 32; j++) x[j] = ffrom((uint32_t)(rnd64(st) % 0x1000)); break;
    case 10:
        for (int j = 0; j < 32; j++) x[j] = rnd_normal(st);
        x[rnd64(st) % 32] = special(rnd64(st));
        break;
    case 11: for (int j = 0; j < 32; j++) x[j] = special(rnd64(st)); break;
    case 12:
        for (int j = 0; j < 32; j++) x[j] = 0.0f;
        x[rnd64(st) % 32] = rnd_normal(st) * e;
        break;
    default:
        x[0] = 127.0f;
        for (int j = 1; j < 32; j++) x[j] = (float)((int)(rnd64(st) % 7) - 3) + 0.5f;
        break;
    }
}

static void test_from_float_q8_0(void) {
    int lv[2], nl = arm_levels(lv);
    if (!nl) T_SKIP("no ARM level on this CPU");
    enum { NB = 512 };
    float *x = malloc(NB * 32 * sizeof *x);
    uint64_t st = 0x082efa98ec4e6c89ull;
    for (int l = 0; l < nl; l++) {
        for (int kind = 0; kind <= 13; kind++) {
            for (int b = 0; b < NB; b++) fill_q8_block(&st, x + b * 32, kind);
            char what[32];
            snprintf(what, sizeof what, "block kind %d", kind);
            check_from(TK_Q8_0, lv[l], x, NB * 32, what);
        }
        for (int b = 0; b < NB; b++) fill_q8_block(&st, x + b * 32, (int)(rnd64(&st) % 14));
        check_from(TK_Q8_0, lv[l], x, NB * 32, "mixed blocks");
        for (int nb = 1; nb <= 9; nb++) {
            for (int i = 0; i < nb * 32; i++) x[i] = rnd_normal(&st);
            check_from(TK_Q8_0, lv[l], x, nb * 32, "short row");
        }
    }
    free(x);
}

/* ---- models ---------------------------------------------------------------- */

/* Logits of n_pos fixed tokens then n_greedy greedy steps. */
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
            tok = (int32_t)(7 + p * 31) % *nv;
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

/* Each ARM level against scalar: logits within the relative RMS bounds of
 * test_simd.c (the float dot products sum in another order than the scalar
 * loop; F16/BF16 activations amplify that), greedy ids equal up to near
 * ties. */
static void test_models(void) {
    int lv[2], nl = arm_levels(lv);
    if (!nl) T_SKIP("no ARM level on this CPU");
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
        for (int l = 0; l < nl; l++) {
            float *got = run_model(p, tk_isa_name(lv[l]), POS, g, GREEDY, &nv);
            if (!got) continue;
            double se = 0, sw = 0;
            for (size_t i = 0; i < (size_t)POS * nv; i++) {
                se += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
                sw += (double)ref[i] * ref[i];
            }
            double rr = sqrt(se / (sw > 0 ? sw : 1));
            double tol = strstr(files[f], "bf16") ? 5e-3 : strstr(files[f], "f16") ? 5e-4 : 1e-4;
            T_CHECK(rr <= tol, "%s at %s: logits differ from scalar by %.3g relative RMS > %.0e", files[f], tk_isa_name(lv[l]), rr, tol);
            int same = 0;
            while (same < GREEDY && g[same] == g0[same]) same++;
            if (same < GREEDY) {
                const float *lg = ref + (size_t)(POS - 1 + same) * nv;
                double gap = (double)lg[g0[same]] - lg[g[same]];
                T_CHECK(gap <= 1e-3, "%s at %s: greedy id %d is %d, scalar has %d (gap %.3g: not a near tie)", files[f],
                        tk_isa_name(lv[l]), same, g[same], g0[same], gap);
            }
            printf("  %-40s %-12s rel-rms vs scalar %.2e  greedy %d/%d\n", files[f], tk_isa_name(lv[l]), rr, same, GREEDY);
            free(got);
            ran++;
        }
        free(ref);
    }
    if (!ran) T_SKIP("no model fixtures in ../shared");
}

int main(void) {
    T_RUN(test_levels);
    T_RUN(test_tables);
    T_RUN(test_vec_dot);
    T_RUN(test_vec_dot_rows);
    T_RUN(test_from_float_half);
    T_RUN(test_from_float_q8_0);
    T_RUN(test_models);
    return t_done();
}
