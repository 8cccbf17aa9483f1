/* test_dtype.c: the scalar reference kernels of F32, F16, BF16, Q8_0, Q4_0
 * (src/tensor/dtype_float.c, dtype_q.c) and the type table.
 *
 *  - half conversions: exhaustive over all 65536 patterns, hand-picked
 *    rounding cases, nearest-even checked against double arithmetic, and
 *    a strided sweep of binary32 against ggml's FP16-library algorithm
 *    (re-derived here as an independent oracle)
 *  - quantize/dequantize round trips with error bounds
 *  - vec_dot against a double reference (and Q8_0/Q4_0 bit-exactly against
 *    a float replica of ggml's accumulation order)
 *  - golden: dequantizing llama.cpp's tiny256 GGUFs matches gguf-py's
 *    values bit for bit; quantizing the F32 file reproduces llama-quantize's
 *    bytes. */
#include "t.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "formats/gguf.h"
#include "tensor/dtype.h"

/* ---- helpers ------------------------------------------------------------ */

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float ffrom(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1.0p-53; } /* [0,1) */

static float rnd_normal(void) {
    double u = rnd_unit(), v = rnd_unit();
    if (u < 1e-300) u = 1e-300;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* Value of a half as double, from the definition (independent of the code
 * under test). */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static int half_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff); }
static int bf16_is_nan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f); }

static const tk_dtype_traits *traits(int type) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    return t;
}

/* ---- the type table ----------------------------------------------------- */

static void test_table(void) {
    static const struct { int type; const char *name; int block, bytes, vdt; } want[] = {
        {TK_F32, "F32", 1, 4, TK_F32},       {TK_F16, "F16", 1, 2, TK_F16},
        {TK_BF16, "BF16", 1, 2, TK_BF16},    {TK_Q8_0, "Q8_0", 32, 34, TK_Q8_0},
        {TK_Q4_0, "Q4_0", 32, 18, TK_Q8_0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tk_dtype_traits *t = traits(want[i].type);
        T_CHECK(t != NULL, "type %d missing", want[i].type);
        if (!t) continue;
        T_CHECK(strcmp(t->name, want[i].name) == 0, "name %s", t->name);
        T_CHECK(t->block == want[i].block && t->bytes == want[i].bytes, "%s: block %d bytes %d", t->name, t->block, t->bytes);
        T_CHECK(t->to_float && t->from_float && t->vec_dot, "%s: kernels missing", t->name);
        T_CHECK(t->vec_dot_type == want[i].vdt, "%s: vec_dot_type %d", t->name, t->vec_dot_type);
        T_CHECK(tk_dtype_from_name(want[i].name) == want[i].type, "from_name %s", want[i].name);
    }
    T_CHECK(tk_dtype_row_bytes(TK_Q4_0, 4096) == 128 * 18, "row bytes q4_0");
    T_CHECK(tk_dtype_row_bytes(TK_Q8_0, 33) == 0, "row bytes of a partial block");
}

/* ---- IEEE half ---------------------------------------------------------- */

static void test_f16_exhaustive(void) {
    int bad_val = 0, bad_rt = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tk_f16_to_f32((uint16_t)h);
        uint16_t back = tk_f32_to_f16(f);
        if (half_is_nan((uint16_t)h)) {
            /* NaN stays NaN of the same sign, quiet on the way out. */
            if (!isnan(f) || !half_is_nan(back) || (back & 0x8000) != (h & 0x8000) || !(back & 0x200)) bad_rt++;
            if (!(fbits(f) & 0x00400000u)) bad_val++; /* made quiet */
            continue;
        }
        double v = half_value((uint16_t)h);
        if ((double)f != v || (signbit(f) != 0) != (int)(h >> 15)) bad_val++;
        if (back != h) {
            if (bad_rt < 5) printf("  f16 %04x -> %08x -> %04x\n", h, fbits(f), back);
            bad_rt++;
        }
    }
    T_CHECK(bad_val == 0, "%d halves decode to the wrong float", bad_val);
    T_CHECK(bad_rt == 0, "%d halves do not survive f16->f32->f16", bad_rt);
}

static void test_f16_rounding(void) {
    static const struct { float f; uint16_t h; const char *what; } c[] = {
        {0.0f, 0x0000, "+0"},
        {-0.0f, 0x8000, "-0"},
        {1.0f, 0x3c00, "1"},
        {-2.0f, 0xc000, "-2"},
        {0.333333343f, 0x3555, "1/3"},
        {65504.0f, 0x7bff, "max half"},
        {65519.99609375f, 0x7bff, "just below the overflow tie"},
        {65520.0f, 0x7c00, "overflow tie rounds to even = inf"},
        {1e10f, 0x7c00, "overflow"},
        {-1e10f, 0xfc00, "-overflow"},
        {INFINITY, 0x7c00, "inf"},
        {-INFINITY, 0xfc00, "-inf"},
        {1.0f + 0x1p-11f, 0x3c00, "tie 1+2^-11 -> even (down)"},
        {1.0f + 3 * 0x1p-11f, 0x3c02, "tie 1+3*2^-11 -> even (up)"},
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01, "just above a tie"},
        {2047.0f + 0.5f, 0x6800, "tie 2047.5 -> 2048"},
        {2049.0f, 0x6800, "tie 2049 -> 2048 (even)"},
        {2051.0f, 0x6802, "tie 2051 -> 2052 (even)"},
        {0x1p-14f, 0x0400, "min normal"},
        {0x1p-14f - 0x1p-25f, 0x0400, "tie between max subnormal and min normal -> even"},
        {0x1p-14f - 0x1p-24f, 0x03ff, "max subnormal"},
        {0x1p-24f, 0x0001, "min subnormal"},
        {-0x1p-24f, 0x8001, "-min subnormal"},
        {0x1p-25f, 0x0000, "tie half the min subnormal -> 0 (even)"},
        {0x1p-25f + 0x1p-40f, 0x0001, "just above half the min subnormal"},
        {3 * 0x1p-25f, 0x0002, "tie 1.5 units -> 2 (even)"},
        {5 * 0x1p-25f, 0x0002, "tie 2.5 units -> 2 (even)"},
        {0x1p-26f, 0x0000, "underflow"},
        {0x1p-149f, 0x0000, "float subnormal"},
        {-0x1p-149f, 0x8000, "-float subnormal"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint16_t h = tk_f32_to_f16(c[i].f);
        T_CHECK(h == c[i].h, "%s: %a -> %04x, want %04x", c[i].what, (double)c[i].f, h, c[i].h);
    }
    T_CHECK(tk_f32_to_f16(NAN) == 0x7e00 || tk_f32_to_f16(NAN) == 0xfe00, "NaN -> %04x", tk_f32_to_f16(NAN));
    T_CHECK(tk_f32_to_f16(ffrom(0x7f800001u)) == 0x7e00, "sNaN -> %04x", tk_f32_to_f16(ffrom(0x7f800001u)));
    T_CHECK(tk_f32_to_f16(ffrom(0xffc12345u)) == 0xfe00, "-NaN -> %04x", tk_f32_to_f16(ffrom(0xffc12345u)));
}

/* ggml's portable fp32->fp16 (Maratyszcza's FP16 library), re-derived from
 * its description as an oracle: scaling by 2^112 then 2^-110 rounds the
 * mantissa to 10 bits in float hardware, adding a bias constant aligns it. */
static uint16_t oracle_f32_to_f16(float f) {
    float base = (fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    uint32_t w = fbits(f), shl1 = w + w, sign = w & 0x80000000u;
    uint32_t bias = shl1 & 0xff000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = ffrom((bias >> 1) + 0x07800000u) + base;
    uint32_t bits = fbits(base);
    uint32_t nonsign = ((bits >> 13) & 0x7c00u) + (bits & 0x0fffu);
    return (uint16_t)((sign >> 16) | (shl1 > 0xff000000u ? 0x7e00u : nonsign));
}

/* Is h the nearest half to f, ties to even? Checked in double. */
static int f16_is_nearest_even(float f, uint16_t h) {
    double x = f, v = half_value(h);
    if (isinf(v)) return fabs(x) >= 65520.0 && (signbit(v) != 0) == (signbit(x) != 0);
    if ((h & 0x7fff) == 0x7bff && fabs(x) >= 65520.0) return 0;
    double err = fabs(x - v);
    uint16_t up = (uint16_t)(h + 1), dn = (uint16_t)(h - 1);
    if ((h & 0x7fff) != 0x7bff) { /* neighbour away from zero */
        double e2 = fabs(x - half_value(up));
        if (e2 < err || (e2 == err && (h & 1))) return 0;
    }
    if ((h & 0x7fff) != 0) { /* neighbour towards zero */
        double e2 = fabs(x - half_value(dn));
        if (e2 < err || (e2 == err && (h & 1))) return 0;
    } else if ((signbit(v) != 0) != (signbit(x) != 0)) {
        return 0;
    }
    return 1;
}

static void test_f16_vs_oracle(void) {
    int bad_oracle = 0, bad_near = 0;
    /* A stride co-prime with 2^32 visits every exponent and plenty of
     * mantissa patterns (about 4.2 M floats). */
    uint32_t u = 0;
    for (uint32_t k = 0; k < (1u << 22); k++, u += 1021u) {
        float f = ffrom(u);
        uint16_t h = tk_f32_to_f16(f);
        if (h != oracle_f32_to_f16(f)) {
            if (bad_oracle < 5) printf("  %08x: tick %04x, oracle %04x\n", u, h, oracle_f32_to_f16(f));
            bad_oracle++;
        }
        if (!isnan(f) && !f16_is_nearest_even(f, h)) {
            if (bad_near < 5) printf("  %08x -> %04x is not the nearest half\n", u, h);
            bad_near++;
        }
    }
    T_CHECK(bad_oracle == 0, "%d floats convert differently from ggml's algorithm", bad_oracle);
    T_CHECK(bad_near == 0, "%d floats do not round to the nearest even half", bad_near);
    /* Every tie and near-tie around each half (normal and subnormal). */
    int bad_tie = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float lo = tk_f16_to_f32((uint16_t)h);
        for (int d = -2; d <= 2; d++) {
            float f = ffrom(fbits(lo) + (uint32_t)d); /* neighbours of lo */
            if (h == 0 && d < 0) continue;
            uint16_t r = tk_f32_to_f16(f);
            if (r != oracle_f32_to_f16(f) || !f16_is_nearest_even(f, r)) bad_tie++;
        }
        if (h < 0x7bff) { /* exact midpoint to the next half and its float neighbours */
            double mid = (half_value((uint16_t)h) + half_value((uint16_t)(h + 1))) / 2;
            float m = (float)mid; /* exact: a midpoint has 12 significant bits */
            for (int d = -1; d <= 1; d++) {
                float f = ffrom(fbits(m) + (uint32_t)d);
                if (h == 0 && d < 0) f = m;
                uint16_t r = tk_f32_to_f16(f);
                if (r != oracle_f32_to_f16(f) || !f16_is_nearest_even(f, r)) bad_tie++;
            }
        }
    }
    T_CHECK(bad_tie == 0, "%d ties/near-ties round wrongly", bad_tie);
}

/* ---- bfloat16 ----------------------------------------------------------- */

static void test_bf16(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tk_bf16_to_f32((uint16_t)h);
        if (fbits(f) != h << 16) bad++;
        uint16_t back = tk_f32_to_bf16(f);
        if (bf16_is_nan((uint16_t)h)) {
            if (back != (h | 0x40)) bad++; /* payload kept, forced quiet */
        } else if (back != h) {
            bad++;
        }
    }
    T_CHECK(bad == 0, "%d bf16 patterns fail bf16->f32->bf16", bad);

    static const struct { uint32_t f; uint16_t h; const char *what; } c[] = {
        {0x3f800000u, 0x3f80, "1"},
        {0x3f808000u, 0x3f80, "tie -> even (down)"},
        {0x3f818000u, 0x3f82, "tie -> even (up)"},
        {0x3f808001u, 0x3f81, "just above a tie"},
        {0x3f807fffu, 0x3f80, "just below a tie"},
        {0x7f7fffffu, 0x7f80, "max float rounds to inf"},
        {0x7f7f7fffu, 0x7f7f, "largest that stays finite"},
        {0xff800000u, 0xff80, "-inf"},
        {0x00008000u, 0x0000, "subnormal tie -> 0 (kept, not flushed)"},
        {0x00018000u, 0x0002, "subnormal tie -> even"},
        {0x00010001u, 0x0001, "subnormal"},
        {0x80000001u, 0x8000, "-tiny"},
        {0x7f800001u, 0x7fc0, "sNaN forced quiet"},
        {0xffa00000u, 0xffe0, "-NaN payload kept"},
        {0x7fc00000u, 0x7fc0, "qNaN"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint16_t h = tk_f32_to_bf16(ffrom(c[i].f));
        T_CHECK(h == c[i].h, "%s: %08x -> %04x, want %04x", c[i].what, c[i].f, h, c[i].h);
    }
    /* Nearest-even property on random finite floats, in double. */
    int bad_near = 0;
    for (int k = 0; k < 200000; k++) {
        uint32_t u = (uint32_t)rnd64();
        if ((u & 0x7f800000u) == 0x7f800000u) continue;
        uint16_t h = tk_f32_to_bf16(ffrom(u));
        double x = ffrom(u), v = tk_bf16_to_f32(h);
        if (isinf(v)) { if (fabs(x) < 0x1.ffp127) bad_near++; continue; } /* only from the tie up */
        double a = tk_bf16_to_f32((uint16_t)(h + 1)), b = tk_bf16_to_f32((uint16_t)(h - 1));
        double e = fabs(x - v);
        if ((!isnan(a) && !isinf(a) && (fabs(x - a) < e || (fabs(x - a) == e && (h & 1)))) ||
            ((h & 0x7fff) && (fabs(x - b) < e || (fabs(x - b) == e && (h & 1)))))
            bad_near++;
    }
    T_CHECK(bad_near == 0, "%d floats not rounded to the nearest even bf16", bad_near);
}

/* ---- float vec_dot -------------------------------------------------------- */

static void test_float_vec_dot(void) {
    static const int64_t ns[] = {1, 7, 32, 64, 4096};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        int64_t n = ns[k];
        float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
        float *ad = malloc((size_t)n * sizeof *ad), *bd = malloc((size_t)n * sizeof *bd);
        uint16_t *ah = malloc((size_t)n * 2), *bh = malloc((size_t)n * 2);
        for (int64_t i = 0; i < n; i++) a[i] = rnd_normal(), b[i] = rnd_normal();
        static const int types[] = {TK_F32, TK_F16, TK_BF16};
        for (int t = 0; t < 3; t++) {
            const tk_dtype_traits *tr = traits(types[t]);
            const void *wa = a, *xb = b;
            if (types[t] != TK_F32) {
                tr->from_float(a, ah, n);
                tr->from_float(b, bh, n);
                tr->to_float(ah, ad, n);
                tr->to_float(bh, bd, n);
                wa = ah, xb = bh;
            } else {
                memcpy(ad, a, (size_t)n * sizeof *a);
                memcpy(bd, b, (size_t)n * sizeof *b);
            }
            double ref = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) ref += (double)ad[i] * bd[i], mag += fabs((double)ad[i] * bd[i]);
            float got = tr->vec_dot(n, wa, xb);
            /* F16/BF16 products are exact in float and summed in double, so
             * the result is ref rounded once to float; F32 adds one float
             * rounding per product. */
            double tol = 1e-6 * mag + 1e-30;
            T_CHECK(fabs(got - ref) <= tol, "%s n=%lld: %.9g vs %.9g", tr->name, (long long)n, got, ref);
            if (types[t] != TK_F32)
                T_CHECK(got == (float)ref, "%s n=%lld: %.9g is not the rounded double sum %.9g", tr->name,
                        (long long)n, got, ref);
            /* Conversion errors of the activation/weight rows. */
            double rel = types[t] == TK_F16 ? 0x1p-11 : types[t] == TK_BF16 ? 0x1p-8 : 0;
            for (int64_t i = 0; i < n; i++)
                if (fabs(ad[i] - a[i]) > rel * fabs(a[i]) + 0x1p-25 * (types[t] == TK_F16)) {
                    T_CHECK(0, "%s: %a -> %a out of bounds", tr->name, (double)a[i], (double)ad[i]);
                    break;
                }
        }
        free(a), free(b), free(ad), free(bd), free(ah), free(bh);
    }
}

/* ---- Q8_0 / Q4_0 ---------------------------------------------------------- */

static void fill_row(float *x, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = rnd_normal(); break;
        case 1: x[i] = (float)(rnd_unit() * 2 - 1) * 1e-3f; break;
        default: x[i] = rnd_normal() * (float)ldexp(1.0, (int)(rnd64() % 16) - 8); break; /* mixed scales */
        }
    }
    if (n >= 64) { /* an all-zero block and one with a single non-zero */
        for (int j = 0; j < 32; j++) x[j] = 0.0f;
        for (int j = 32; j < 64; j++) x[j] = 0.0f;
        x[40] = -0.75f;
    }
}

static void test_q8_0_roundtrip(void) {
    const tk_dtype_traits *tr = traits(TK_Q8_0);
    static const int64_t ns[] = {32, 64, 4096};
    for (size_t k = 0; k < 3; k++) {
        for (int kind = 0; kind < 3; kind++) {
            int64_t n = ns[k], nb = n / 32;
            float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
            tk_block_q8_0 *q = malloc((size_t)nb * sizeof *q);
            fill_row(x, n, kind);
            tr->from_float(x, q, n);
            tr->to_float(q, y, n);
            int bad = 0;
            for (int64_t b = 0; b < nb; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
                double d = amax / 127.0f, d16 = tk_f16_to_f32(q[b].d);
                int saw127 = 0;
                for (int j = 0; j < 32; j++) {
                    double err = fabs((double)x[b * 32 + j] - y[b * 32 + j]);
                    /* half a step, plus the f16 rounding of d times |q| <= 127
                     * (relatively larger where d is an f16 subnormal) */
                    if (err > d * (0.5 + 1e-6) + 127 * fabs(d - d16) + 1e-30) bad++;
                    if (q[b].qs[j] == 127 || q[b].qs[j] == -127) saw127 = 1;
                    if (q[b].qs[j] == -128) bad++;
                }
                if (amax == 0) {
                    if (q[b].d != 0) bad++;
                    for (int j = 0; j < 32; j++) if (q[b].qs[j]) bad++;
                } else if (!saw127) {
                    bad++;
                }
            }
            T_CHECK(bad == 0, "Q8_0 n=%lld kind %d: %d elements out of bounds", (long long)n, kind, bad);
            free(x), free(y), free(q);
        }
    }
    /* Rounding: half away from zero, on a block whose scale is exact. */
    float x[32] = {127.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, 126.5f, -127.0f, 0.49999997f};
    tk_block_q8_0 b;
    tr->from_float(x, &b, 32);
    T_CHECK(b.d == 0x3c00, "d of amax 127 = 1.0, got %04x", b.d);
    static const int8_t want[9] = {127, 1, -1, 2, -2, 3, 127, -127, 0};
    for (int j = 0; j < 9; j++) T_CHECK(b.qs[j] == want[j], "qs[%d] = %d, want %d", j, b.qs[j], want[j]);
}

static void test_q4_0_roundtrip(void) {
    const tk_dtype_traits *tr = traits(TK_Q4_0);
    static const int64_t ns[] = {32, 64, 4096};
    for (size_t k = 0; k < 3; k++) {
        for (int kind = 0; kind < 3; kind++) {
            int64_t n = ns[k], nb = n / 32;
            float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
            tk_block_q4_0 *q = malloc((size_t)nb * sizeof *q);
            fill_row(x, n, kind);
            tr->from_float(x, q, n);
            tr->to_float(q, y, n);
            int bad = 0;
            for (int64_t b = 0; b < nb; b++) {
                float amax = 0, max = 0;
                for (int j = 0; j < 32; j++)
                    if (fabsf(x[b * 32 + j]) > amax) amax = fabsf(x[b * 32 + j]), max = x[b * 32 + j];
                double d = fabs(max / 8.0f), d16 = fabs(tk_f16_to_f32(q[b].d));
                for (int j = 0; j < 32; j++) {
                    double err = fabs((double)x[b * 32 + j] - y[b * 32 + j]);
                    /* half a step, except where +8*d clamps to +7*d (one
                     * step), plus the f16 rounding of d times |q-8| <= 8 */
                    double lim = (x[b * 32 + j] * (max < 0 ? -1 : 1) < -7.5 * d ? 1.0 : 0.5) * d;
                    if (err > lim + 1e-6 * d + 8 * fabs(d - d16) + 1e-30) bad++;
                }
                if (amax == 0) {
                    /* d = 0 / -8 = -0: the reference stores a negative zero */
                    if (q[b].d != 0x8000) bad++;
                    for (int j = 0; j < 16; j++) if (q[b].qs[j] != 0x88) bad++;
                }
            }
            T_CHECK(bad == 0, "Q4_0 n=%lld kind %d: %d elements out of bounds", (long long)n, kind, bad);
            free(x), free(y), free(q);
        }
    }
    /* Layout and rounding on a block with an exact scale: max = -8 gives
     * d = 1; element j is x = j - 8 for j < 16 (q = j, low nibbles), and
     * elements 16.. hold 0.5-steps that show the +8.5 truncation. */
    float x[32];
    for (int j = 0; j < 16; j++) x[j] = (float)j - 8.0f; /* x[0] = -8: the max */
    static const float hi[16] = {7.0f, 7.49f, 7.5f, 8.0f, -0.5f, 0.5f, -0.51f, 0.49f, 1.5f, -7.5f, 0, 0, 0, 0, 0, 0};
    static const int qhi[16] = {15, 15, 15, 15, 8, 9, 7, 8, 10, 1, 8, 8, 8, 8, 8, 8};
    for (int j = 0; j < 16; j++) x[16 + j] = hi[j];
    tk_block_q4_0 b;
    tr->from_float(x, &b, 32);
    T_CHECK(b.d == 0x3c00, "d = max / -8 = -8 / -8 = 1, got %04x", b.d);
    /* so q = trunc(x + 8.5), clamped to 15 */
    for (int j = 0; j < 16; j++) {
        T_CHECK((b.qs[j] & 15) == j, "lo nibble %d = %d", j, b.qs[j] & 15);
        T_CHECK((b.qs[j] >> 4) == qhi[j], "hi nibble %d = %d, want %d (x=%g)", j, b.qs[j] >> 4, qhi[j], (double)hi[j]);
    }
    float y[32];
    tr->to_float(&b, y, 32);
    T_CHECK(y[0] == -8.0f && y[15] == 7.0f && y[16] == 7.0f && y[20] == 0.0f, "dequant layout");
}

/* Replica of ggml's float accumulation for Q8_0/Q4_0 (weights) x Q8_0,
 * from unpacked integers: a different code path over the same formula. */
static float replica_dot(int wtype, int64_t n, const void *w, const tk_block_q8_0 *x) {
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int qw[32];
        uint16_t dw;
        if (wtype == TK_Q8_0) {
            const tk_block_q8_0 *p = (const tk_block_q8_0 *)w + b;
            for (int j = 0; j < 32; j++) qw[j] = p->qs[j];
            dw = p->d;
        } else {
            const tk_block_q4_0 *p = (const tk_block_q4_0 *)w + b;
            for (int j = 0; j < 16; j++) qw[j] = (p->qs[j] & 15) - 8, qw[j + 16] = (p->qs[j] >> 4) - 8;
            dw = p->d;
        }
        int isum = 0;
        for (int j = 0; j < 32; j++) isum += qw[j] * x[b].qs[j];
        volatile float t;
        if (wtype == TK_Q8_0) {
            volatile float dd = tk_f16_to_f32(dw) * tk_f16_to_f32(x[b].d);
            t = (float)isum * dd;
        } else {
            volatile float t1 = (float)isum * tk_f16_to_f32(dw);
            t = t1 * tk_f16_to_f32(x[b].d);
        }
        sum = sum + t;
    }
    return sum;
}

/* ggml's reference quantizers as formulas, written out independently of
 * src/tensor/dtype_q.c (finite input only): pins the exact arithmetic
 * (d = amax / 127 divided, not multiplied by 1/127; q from x * (1/d)). */
static void spec_q8_0(const float *x, tk_block_q8_0 *b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
    volatile float d = amax / 127.0f;
    volatile float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = tk_f32_to_f16(d);
    for (int j = 0; j < 32; j++) {
        volatile float v = x[j] * id;
        b->qs[j] = (int8_t)lroundf(v);
    }
}

static void spec_q4_0(const float *x, tk_block_q4_0 *b) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
    volatile float d = max / -8.0f;
    volatile float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = tk_f32_to_f16(d);
    for (int j = 0; j < 16; j++) {
        volatile float v0 = x[j] * id, v1 = x[j + 16] * id;
        volatile float s0 = v0 + 8.5f, s1 = v1 + 8.5f;
        int q0 = (int)floorf(s0), q1 = (int)floorf(s1);
        b->qs[j] = (uint8_t)((q0 > 15 ? 15 : q0) | (q1 > 15 ? 15 : q1) << 4);
    }
}

static void test_quant_spec(void) {
    enum { NB = 4096 };
    float *x = malloc(NB * 32 * sizeof *x);
    tk_block_q8_0 *a = malloc(NB * sizeof *a), e8;
    tk_block_q4_0 *c = malloc(NB * sizeof *c), e4;
    int bad8 = 0, bad4 = 0;
    for (int kind = 0; kind < 3; kind++) {
        fill_row(x, NB * 32, kind);
        tk_dtype_get(TK_Q8_0)->from_float(x, a, NB * 32);
        tk_dtype_get(TK_Q4_0)->from_float(x, c, NB * 32);
        for (int b = 0; b < NB; b++) {
            spec_q8_0(x + b * 32, &e8);
            spec_q4_0(x + b * 32, &e4);
            if (memcmp(&e8, a + b, sizeof e8)) bad8++;
            if (memcmp(&e4, c + b, sizeof e4)) bad4++;
        }
    }
    T_CHECK(bad8 == 0, "%d Q8_0 blocks differ from the reference formula", bad8);
    T_CHECK(bad4 == 0, "%d Q4_0 blocks differ from the reference formula", bad4);
    free(x), free(a), free(c);
}

static void test_quant_vec_dot(void) {
    static const int64_t ns[] = {32, 64, 4096};
    static const int wtypes[] = {TK_Q8_0, TK_Q4_0};
    for (int wt = 0; wt < 2; wt++) {
        const tk_dtype_traits *tw = traits(wtypes[wt]);
        const tk_dtype_traits *tx = traits(tw->vec_dot_type);
        for (size_t k = 0; k < 3; k++) {
            for (int rep = 0; rep < 4; rep++) {
                int64_t n = ns[k];
                float *w = malloc((size_t)n * sizeof *w), *x = malloc((size_t)n * sizeof *x);
                float *wd = malloc((size_t)n * sizeof *wd), *xd = malloc((size_t)n * sizeof *xd);
                void *wq = malloc((size_t)tk_dtype_row_bytes(wtypes[wt], n));
                tk_block_q8_0 *xq = malloc((size_t)tk_dtype_row_bytes(TK_Q8_0, n));
                fill_row(w, n, rep % 3);
                fill_row(x, n, (rep + 1) % 3);
                tw->from_float(w, wq, n);
                tx->from_float(x, xq, n);
                tw->to_float(wq, wd, n);
                tx->to_float(xq, xd, n);
                /* Dequantized values are q*d exactly (<= 19 significant
                 * bits), their products exact in double. */
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < n; i++) ref += (double)wd[i] * xd[i], mag += fabs((double)wd[i] * xd[i]);
                float got = tw->vec_dot(n, wq, xq);
                /* float rounding of each block term (2) and of each running
                 * sum (n/32), relative to the magnitude. */
                double tol = (double)(n / 32 + 3) * 0x1p-24 * mag + 1e-30;
                T_CHECK(fabs(got - ref) <= tol, "%s n=%lld rep %d: %.9g vs %.9g (tol %.3g)", tw->name,
                        (long long)n, rep, got, ref, tol);
                float rep_got = replica_dot(wtypes[wt], n, wq, xq);
                T_CHECK(fbits(got) == fbits(rep_got), "%s n=%lld: %a differs from ggml's order %a", tw->name,
                        (long long)n, (double)got, (double)rep_got);
                free(w), free(x), free(wd), free(xd), free(wq), free(xq);
            }
        }
    }
}

/* Raw blocks (random bytes, including qs = -128 which the quantizer never
 * writes, and random normal f16 scales): the kernels agree bit for bit with
 * the replica. Large |isum| makes the two scaling orders (Q8_0: isum*(dw*dx),
 * Q4_0: (isum*dw)*dx) round differently, so a swapped order shows here. */
static void test_quant_vec_dot_raw(void) {
    enum { NB = 512 };
    static tk_block_q8_0 w8[NB], x8[NB];
    static tk_block_q4_0 w4[NB];
    int mism = 0;
    for (int rep = 0; rep < 8; rep++) {
        for (int b = 0; b < NB; b++) {
            /* exponents 0x2000..0x4bff: normal, magnitudes ~2^-7..2^3 */
            x8[b].d = (uint16_t)(0x2000 + rnd64() % 0x2c00) | (uint16_t)(rnd64() & 0x8000);
            w8[b].d = (uint16_t)(0x2000 + rnd64() % 0x2c00) | (uint16_t)(rnd64() & 0x8000);
            w4[b].d = w8[b].d;
            for (int j = 0; j < 32; j++) {
                /* mostly extreme values so |isum| has many significant bits */
                int v = rep & 1 ? (int)(rnd64() % 256) - 128 : (rnd64() & 1 ? 127 : -127) - (int)(rnd64() % 3);
                x8[b].qs[j] = (int8_t)v;
                w8[b].qs[j] = (int8_t)((int)(rnd64() % 256) - 128);
            }
            for (int j = 0; j < 16; j++) w4[b].qs[j] = (uint8_t)(rep & 1 ? rnd64() : (rnd64() & 1 ? 0x00 : 0xff) ^ (rnd64() & 0x11));
        }
        for (int64_t n = 32; n <= NB * 32; n *= 4) {
            float a = tk_dtype_get(TK_Q8_0)->vec_dot(n, w8, x8), ar = replica_dot(TK_Q8_0, n, w8, x8);
            float c = tk_dtype_get(TK_Q4_0)->vec_dot(n, w4, x8), cr = replica_dot(TK_Q4_0, n, w4, x8);
            if (fbits(a) != fbits(ar) || fbits(c) != fbits(cr)) {
                if (mism < 3) printf("  rep %d n=%lld: q8_0 %a vs %a, q4_0 %a vs %a\n", rep, (long long)n, (double)a,
                                     (double)ar, (double)c, (double)cr);
                mism++;
            }
        }
    }
    T_CHECK(mism == 0, "%d raw-block dot products differ from ggml's order", mism);
}

/* ---- K-quants ------------------------------------------------------------- */

/* Q8_K: each value within half a step of the input, bsums the sums of
 * each 16 quants, qs in [-127, 127], the largest |x| at +-127. */
static void test_q8_K_roundtrip(void) {
    const int64_t n = 1024;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    tk_block_q8_K *q = malloc((size_t)tk_dtype_row_bytes(TK_Q8_K, n));
    for (int rep = 0; rep < 6; rep++) {
        fill_row(x, n, rep % 3);
        traits(TK_Q8_K)->from_float(x, q, n);
        traits(TK_Q8_K)->to_float(q, y, n);
        for (int64_t b = 0; b < n / 256; b++) {
            float amax = 0;
            int top = 0;
            for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[b * 256 + j]));
            for (int j = 0; j < 256; j++) {
                T_CHECK(q[b].qs[j] >= -127 && q[b].qs[j] <= 127, "qs %d", q[b].qs[j]);
                T_CHECK(fabsf(y[b * 256 + j] - x[b * 256 + j]) <= fabsf(q[b].d) * 0.5001f, "block %lld [%d]: %g vs %g",
                        (long long)b, j, (double)y[b * 256 + j], (double)x[b * 256 + j]);
                top |= abs(q[b].qs[j]) == 127;
            }
            T_CHECK(amax == 0 ? q[b].d == 0 : top, "block %lld: no quant at 127", (long long)b);
            for (int j = 0; j < 16; j++) {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += q[b].qs[16 * j + k];
                T_CHECK(q[b].bsums[j] == sum, "bsums[%d] %d, sum %d", j, q[b].bsums[j], sum);
            }
        }
    }
    free(x), free(y), free(q);
}

/* Hostile floats (inf, NaN, huge, subnormal) through the K quantizers: no
 * crash or undefined behaviour (run under make sanitize), and the
 * finite-scale blocks of a row with a non-finite one are unaffected. */
static void test_kquant_special(void) {
    static const uint32_t bits[] = {0x7f800000, 0xff800000, 0x7fc00000, 0x7f7fffff, 0xff7fffff, 0x00000001, 0x80000000};
    const int64_t n = 512;
    float *x = malloc(n * sizeof *x);
    unsigned char *q = malloc(1024), *r = malloc(1024);
    static const int types[] = {TK_Q4_K, TK_Q6_K, TK_Q8_K};
    for (size_t b = 0; b < sizeof bits / sizeof *bits; b++) {
        for (int64_t i = 0; i < n; i++) x[i] = rnd_normal();
        for (int k = 0; k < 3; k++) {
            float v;
            memcpy(&v, &bits[b], 4);
            x[k * 37] = v;
            for (int t = 0; t < 3; t++) {
                const tk_dtype_traits *tr = traits(types[t]);
                tr->from_float(x, q, n);
                tr->from_float(x + 256, r, 256); /* the second block alone */
                T_CHECK(memcmp(q + tr->bytes, r, (size_t)tr->bytes) == 0, "%s: block 2 depends on block 1", tr->name);
                float y[512];
                tr->to_float(q, y, n);
            }
        }
    }
    free(x), free(q), free(r);
}

/* Q4_K / Q6_K . Q8_K against the exact dot product of the dequantized
 * rows: the kernel's float steps are the scaling of each block's 8 lane
 * sums and of the mins' sum, and the running sums (8 lanes across blocks),
 * each rounded once; the bound is relative to the sizes of those terms
 * (for Q4_K the mins part -dmin*m*x is as large as the rest: it is
 * measured by dequantizing a copy with d = 0). */
static void test_kquant_vec_dot(void) {
    static const int64_t ns[] = {256, 512, 4096};
    static const int wtypes[] = {TK_Q4_K, TK_Q6_K};
    for (int wt = 0; wt < 2; wt++) {
        const tk_dtype_traits *tw = traits(wtypes[wt]), *tx = traits(TK_Q8_K);
        T_CHECK(tw->vec_dot_type == TK_Q8_K, "%s meets Q8_K", tw->name);
        for (size_t k = 0; k < 3; k++) {
            for (int rep = 0; rep < 4; rep++) {
                int64_t n = ns[k];
                float *w = malloc((size_t)n * sizeof *w), *x = malloc((size_t)n * sizeof *x);
                float *wd = malloc((size_t)n * sizeof *wd), *xd = malloc((size_t)n * sizeof *xd);
                float *md = malloc((size_t)n * sizeof *md);
                size_t wb = (size_t)tk_dtype_row_bytes(wtypes[wt], n);
                unsigned char *wq = malloc(wb), *wm = malloc(wb);
                void *xq = malloc((size_t)tk_dtype_row_bytes(TK_Q8_K, n));
                fill_row(w, n, rep % 3);
                fill_row(x, n, (rep + 1) % 3);
                tw->from_float(w, wq, n);
                tx->from_float(x, xq, n);
                tw->to_float(wq, wd, n);
                tx->to_float(xq, xd, n);
                memcpy(wm, wq, wb);
                for (int64_t b = 0; b < n / 256; b++) {
                    if (wtypes[wt] == TK_Q4_K) ((tk_block_q4_K *)wm)[b].d = 0;
                    else ((tk_block_q6_K *)wm)[b].d = 0;
                }
                tw->to_float(wm, md, n); /* -dmin*m per element (Q4_K), 0 (Q6_K) */
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < n; i++) {
                    ref += (double)wd[i] * xd[i];
                    mag += fabs((double)wd[i] * xd[i]) + 2 * fabs((double)md[i] * xd[i]);
                }
                float got = tw->vec_dot(n, wq, xq);
                double tol = (double)(n / 256 + 16) * 0x1p-24 * mag + 1e-30;
                T_CHECK(fabs(got - ref) <= tol, "%s n=%lld rep %d: %.9g vs %.9g (tol %.3g)", tw->name, (long long)n, rep,
                        (double)got, ref, tol);
                free(w), free(x), free(wd), free(xd), free(md), free(wq), free(wm), free(xq);
            }
        }
    }
}

/* ---- golden: tiny256 ----------------------------------------------------- */

#define DEQUANT_JSON "golden/tiny256.dequant.json"
#define DEQUANT_SHA "656a86a1f23812d63531204a018f85e3e5964b4044c64a9ce2291be9bdb59b0b"

static const struct { const char *key; const char *sha; } tiny256[] = {
    {"f32", "b4d01b7f4d4983e4418d3be66b418b64ff56a9e9cb592b21c82a8723224ed082"},
    {"f16", "8af206bfeb741b0c77350853bfec5cc8e9ba2b2fdc3ac56e1e87299ffab116f2"},
    {"bf16", "8ed47d604982c124facff31282303b8b5de4234e5dc8f3cb9675c64cc2ab91b7"},
    {"q8_0", "41253032aa6542a14ad8efa9f48fe546a0eead839b5f7fbb1cdb213a8459ac77"},
    {"q4_0", "407070089cbf4844703f8198858b244a9e81f60cdbc8fd9d65b0afc744532be2"},
    {"q4_k", "04ffc324410a12a08314ff2983b8777d6d1213d0f65cae4bc6c1d2d0869cc99b"},
    {"q6_k", "4edfae5acf50c335f48a32b42760d3fc4e6dc815e78d8a0daa4cc3554dc3c0ac"},
};

static const char *tiny256_sha(const char *key) {
    for (size_t i = 0; i < sizeof tiny256 / sizeof tiny256[0]; i++)
        if (strcmp(tiny256[i].key, key) == 0) return tiny256[i].sha;
    return NULL;
}

/* Opens ../shared/models/golden-tiny256/tiny256-<key>.gguf after checking
 * its SHA-256; NULL (after saying why) when absent or unreadable. */
static tk_gguf *open_tiny256(const char *key) {
    char rel[128];
    snprintf(rel, sizeof rel, "models/golden-tiny256/tiny256-%s.gguf", key);
    const char *p = t_shared(rel, tiny256_sha(key));
    if (!p) return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s", p);
    tk_gguf *g = NULL;
    tk_error e = {0};
    if (tk_gguf_open(&g, path, &e) != TK_OK) {
        T_CHECK(0, "%s: %s", path, e.msg);
        return NULL;
    }
    return g;
}

static int64_t n_elements(const tk_gguf_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < 4; d++) n *= t->ne[d];
    return n;
}

static cJSON *load_dequant_json(void) {
    const char *p = t_shared(DEQUANT_JSON, DEQUANT_SHA);
    if (!p) return NULL;
    char *text = t_read(p, NULL);
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    T_CHECK(j != NULL, "cannot parse %s", DEQUANT_JSON);
    return j;
}

/* Checks every tensor the JSON lists for one type; returns how many. */
static int check_dequant_type(cJSON *types, const char *key) {
    cJSON *list = cJSON_GetObjectItemCaseSensitive(types, key);
    T_CHECK(cJSON_IsObject(list), "%s: no entry in the JSON", key);
    if (!cJSON_IsObject(list)) return 0;
    tk_gguf *g = open_tiny256(key);
    if (!g) return 0;
    int checked = 0;
    cJSON *tj;
    cJSON_ArrayForEach(tj, list) {
        const char *name = tj->string;
        const tk_gguf_tensor *t = tk_gguf_find_tensor(g, name);
        T_CHECK(t != NULL, "%s: tensor %s not in the file", key, name);
        if (!t) continue;
        cJSON *jt = cJSON_GetObjectItemCaseSensitive(tj, "type");
        cJSON *jn = cJSON_GetObjectItemCaseSensitive(tj, "n");
        cJSON *js = cJSON_GetObjectItemCaseSensitive(tj, "sum");
        cJSON *jq = cJSON_GetObjectItemCaseSensitive(tj, "sumsq");
        cJSON *jf = cJSON_GetObjectItemCaseSensitive(tj, "first512");
        if (!cJSON_IsString(jt) || !cJSON_IsNumber(jn) || !cJSON_IsNumber(js) || !cJSON_IsNumber(jq) || !cJSON_IsArray(jf)) {
            T_CHECK(0, "%s/%s: malformed JSON entry", key, name);
            continue;
        }
        T_CHECK(strcmp(tk_dtype_name(t->type), jt->valuestring) == 0, "%s/%s: type %s in the file, %s in the JSON", key,
                name, tk_dtype_name(t->type), jt->valuestring);
        int64_t n = n_elements(t);
        T_CHECK(n == (int64_t)jn->valuedouble, "%s/%s: %lld elements, JSON says %.0f", key, name, (long long)n,
                jn->valuedouble);
        const tk_dtype_traits *tr = tk_dtype_get(t->type);
        if (!tr || !tr->to_float) {
            T_CHECK(0, "%s/%s: no to_float for %s", key, name, tk_dtype_name(t->type));
            continue;
        }
        T_CHECK(tk_dtype_row_bytes(t->type, n) == t->nbytes, "%s/%s: nbytes %llu", key, name,
                (unsigned long long)t->nbytes);
        float *y = malloc((size_t)n * sizeof *y);
        tr->to_float(t->data, y, n);
        int nf = cJSON_GetArraySize(jf), bad = 0;
        T_CHECK(nf == (n < 512 ? n : 512), "%s/%s: first512 has %d values", key, name, nf);
        for (int i = 0; i < nf && i < n; i++) {
            float want = (float)cJSON_GetArrayItem(jf, i)->valuedouble;
            if (!(y[i] == want)) {
                if (bad < 3) printf("  %s/%s[%d]: %.9g, want %.9g\n", key, name, i, (double)y[i], (double)want);
                bad++;
            }
        }
        T_CHECK(bad == 0, "%s/%s: %d of the first %d values differ", key, name, bad, nf);
        double sum = 0, sumsq = 0;
        for (int64_t i = 0; i < n; i++) sum += y[i], sumsq += (double)y[i] * y[i];
        T_CHECK(fabs(sum - js->valuedouble) <= 1e-9 * fabs(js->valuedouble), "%s/%s: sum %.17g, want %.17g", key, name,
                sum, js->valuedouble);
        T_CHECK(fabs(sumsq - jq->valuedouble) <= 1e-9 * fabs(jq->valuedouble), "%s/%s: sumsq %.17g, want %.17g", key,
                name, sumsq, jq->valuedouble);
        free(y);
        checked++;
    }
    tk_gguf_free(g);
    return checked;
}

static void test_golden_dequant(void) {
    cJSON *j = load_dequant_json();
    if (!j) T_SKIP("fixture ../shared/" DEQUANT_JSON " absent or its SHA-256 differs");
    cJSON *types = cJSON_GetObjectItemCaseSensitive(j, "tensors");
    static const char *keys[] = {"f32", "f16", "bf16", "q8_0", "q4_0"};
    int total = 0;
    for (int k = 0; k < 5; k++) {
        int c = check_dequant_type(types, keys[k]);
        if (c) printf("  dequant %s: %d tensors match\n", keys[k], c);
        total += c;
    }
    cJSON_Delete(j);
    if (total == 0 && t_cur_fail_ == 0) T_SKIP("tiny256 GGUF fixtures absent under ../shared/models/golden-tiny256");
}

/* Q4_K and Q6_K (dtype_k.c): every value bit-exact, as for the others. */
static void test_golden_dequant_kquants(void) {
    const tk_dtype_traits *a = tk_dtype_get(TK_Q4_K), *b = tk_dtype_get(TK_Q6_K);
    T_CHECK(a && a->to_float && b && b->to_float, "Q4_K/Q6_K have no to_float");
    cJSON *j = load_dequant_json();
    if (!j) T_SKIP("fixture ../shared/" DEQUANT_JSON " absent or its SHA-256 differs");
    cJSON *types = cJSON_GetObjectItemCaseSensitive(j, "tensors");
    int c4 = check_dequant_type(types, "q4_k"), c6 = check_dequant_type(types, "q6_k"), c = c4 + c6;
    if (c4) printf("  dequant q4_k: %d tensors match\n", c4);
    if (c6) printf("  dequant q6_k: %d tensors match\n", c6);
    cJSON_Delete(j);
    if (c == 0 && t_cur_fail_ == 0) T_SKIP("tiny256 K-quant fixtures absent");
}

/* Quantize the F32 model's tensors with tick's from_float and compare with
 * the bytes llama-quantize --pure wrote, for every tensor the target file
 * holds in its target type (norms stay F32 and are not compared). */
static void test_golden_quantize(void) {
    tk_gguf *src = open_tiny256("f32");
    if (!src) T_SKIP("fixture ../shared/models/golden-tiny256/tiny256-f32.gguf absent or its SHA-256 differs");
    static const struct { const char *key; int type; } tg[] = {
        {"f16", TK_F16}, {"bf16", TK_BF16}, {"q8_0", TK_Q8_0}, {"q4_0", TK_Q4_0}, {"q4_k", TK_Q4_K}, {"q6_k", TK_Q6_K}};
    int files = 0;
    for (size_t k = 0; k < sizeof tg / sizeof tg[0]; k++) {
        tk_gguf *dst = open_tiny256(tg[k].key);
        if (!dst) continue;
        files++;
        const tk_dtype_traits *tr = tk_dtype_get(tg[k].type);
        int same = 0, differ = 0, other = 0;
        for (int i = 0; i < tk_gguf_n_tensors(dst); i++) {
            const tk_gguf_tensor *t = tk_gguf_tensor_at(dst, i);
            if (t->type != tg[k].type) {
                other++;
                continue;
            }
            const tk_gguf_tensor *s = tk_gguf_find_tensor(src, t->name);
            T_CHECK(s && s->type == TK_F32, "%s: %s has no F32 source", tg[k].key, t->name);
            if (!s || s->type != TK_F32) continue;
            int64_t n = n_elements(t);
            T_CHECK(n == n_elements(s) && t->ne[0] == s->ne[0], "%s: %s shape differs", tg[k].key, t->name);
            if (n != n_elements(s)) continue;
            uint64_t nbytes = tk_dtype_row_bytes(tg[k].type, n);
            T_CHECK(nbytes == t->nbytes, "%s: %s: %llu bytes, expected %llu", tg[k].key, t->name,
                    (unsigned long long)t->nbytes, (unsigned long long)nbytes);
            if (nbytes != t->nbytes) continue;
            unsigned char *buf = malloc((size_t)nbytes);
            tr->from_float((const float *)s->data, buf, n);
            if (memcmp(buf, t->data, (size_t)nbytes) == 0) {
                same++;
            } else {
                const unsigned char *ref = t->data;
                uint64_t at = 0, nd = 0;
                for (uint64_t b = 0; b < nbytes; b++)
                    if (buf[b] != ref[b]) { if (!nd) at = b; nd++; }
                printf("  %s %s: %llu of %llu bytes differ, first at %llu (block %llu): tick %02x, llama.cpp %02x\n",
                       tg[k].key, t->name, (unsigned long long)nd, (unsigned long long)nbytes, (unsigned long long)at,
                       (unsigned long long)(at / (uint64_t)tr->bytes), buf[at], ref[at]);
                differ++;
            }
            free(buf);
        }
        printf("  quantize -> %s: %d tensors byte-identical, %d differ (%d tensors in other types)\n", tg[k].key, same,
               differ, other);
        T_CHECK(differ == 0, "%s: %d tensors not byte-identical with llama-quantize", tg[k].key, differ);
        T_CHECK(same > 0, "%s: no tensor of type %s to compare", tg[k].key, tr->name);
        tk_gguf_free(dst);
    }
    tk_gguf_free(src);
    if (files == 0) T_SKIP("quantized tiny256 fixtures absent");
}

int main(void) {
    T_RUN(test_table);
    T_RUN(test_f16_exhaustive);
    T_RUN(test_f16_rounding);
    T_RUN(test_f16_vs_oracle);
    T_RUN(test_bf16);
    T_RUN(test_float_vec_dot);
    T_RUN(test_q8_0_roundtrip);
    T_RUN(test_q4_0_roundtrip);
    T_RUN(test_quant_spec);
    T_RUN(test_quant_vec_dot);
    T_RUN(test_quant_vec_dot_raw);
    T_RUN(test_q8_K_roundtrip);
    T_RUN(test_kquant_vec_dot);
    T_RUN(test_kquant_special);
    T_RUN(test_golden_dequant);
    T_RUN(test_golden_dequant_kquants);
    T_RUN(test_golden_quantize);
    return t_done();
}
