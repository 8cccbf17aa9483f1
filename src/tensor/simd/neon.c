/* neon.c: the dtype kernels for aarch64 Advanced SIMD (ARMv8.0, every
 * aarch64 CPU: level neon) and for the ARMv8.2 int8 dot product SDOT
 * (level neon-dotprod), the latter compiled with a per-function target
 * attribute so the file builds with plain -march=armv8-a and the binary
 * runs on any aarch64 CPU.
 *
 * The rule of simd/avx2.c holds here too: the same arithmetic as the
 * scalar reference (dtype_float.c, dtype_q.c), only several at a time.
 *
 *   F32, F16, BF16   widen 4 elements to float (F16 by FCVTL, BF16 by a
 *                    shift), multiply in float as the reference forms each
 *                    product, widen the products to double and add them
 *                    into 4 double accumulators of 2 lanes (the reference
 *                    sums in double): equal to the reference up to the
 *                    order of double additions.
 *   Q8_0 x Q8_0      per block an exact int32 sum: neon multiplies int8
 *                    pairs to int16 (SMULL, every product fits) and adds
 *                    them pairwise into int32 (SADALP); neon-dotprod takes
 *                    4 products at a time into int32 (SDOT). Both are
 *                    exact for any bytes, activations of -128 included.
 *                    Scaled as the reference scales it, (float)isum *
 *                    (dw * dx), and added in block order: bit-identical.
 *   Q4_0 x Q8_0      the same with the nibbles made q - 8 in int8 first:
 *                    isum = sum (q - 8) * x, scaled (isum * dw) * dx.
 *
 * Every `_rows` kernel takes weight rows 4 at a time against one activation
 * row; the quantized ones keep row r in lane r, so each row still adds its
 * terms in block order, and each row's result is the one vec_dot gives.
 *
 * Conversions (from_float) give exactly the bytes of the scalar reference:
 * F16 by the hardware's round-to-nearest-even (FCVTN) with NaN made
 * canonical as the reference does; BF16 by the reference's integer
 * rounding; Q8_0 by FCVTAS, which rounds half away from zero exactly as
 * roundf, with blocks holding inf, NaN or a tiny maximum handed to the
 * reference. These rest on the FPCR Linux gives every process: round to
 * nearest, no flush-to-zero, no default NaN, IEEE half precision. */
#include "simd.h"

#if defined(__aarch64__)
#include <arm_neon.h>

/* GCC's arm_neon.h gives SDOT to functions targeting armv8.2-a+dotprod
 * (every CPU with dotprod is ARMv8.2 or later); clang's to functions with
 * the dotprod feature, and before clang 16 only to files compiled with it
 * (-march=...+dotprod), so older clangs get the builtin the intrinsic
 * wraps. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#define DOTPROD __attribute__((target("dotprod")))
#if !defined(__ARM_FEATURE_DOTPROD) && __clang_major__ < 16
#define SDOT(acc, a, b) ((int32x4_t)__builtin_neon_vdotq_v((int8x16_t)(acc), (a), (b), 34))
#endif
#else
#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
#ifndef SDOT
#define SDOT(acc, a, b) vdotq_s32((acc), (a), (b))
#endif

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 4")
#define MAXR 4 /* rows per step of the _rows kernels */

/* The kernels are defined here without a prototype in simd.h (see the
 * declarations in dtype.c); these keep -Wmissing-prototypes quiet and the
 * two lists in step with the definitions. */
#define NEON_DECL(type, isa)                                                                    \
    float tk_##type##_vec_dot_##isa(int64_t n, const void *w, const void *x);                   \
    void tk_##type##_vec_dot_rows_##isa(int64_t n, const void *w, size_t stride, const void *x, \
                                        float *out, int64_t nrows);
NEON_DECL(f32, neon)
NEON_DECL(f16, neon)
NEON_DECL(bf16, neon)
NEON_DECL(q8_0, neon)
NEON_DECL(q4_0, neon)
NEON_DECL(q8_0, neondot)
NEON_DECL(q4_0, neondot)
#undef NEON_DECL
void tk_f16_from_float_neon(const float *src, void *dst, int64_t n);
void tk_bf16_from_float_neon(const float *src, void *dst, int64_t n);
void tk_q8_0_from_float_neon(const float *src, void *dst, int64_t n);

enum { F32, F16, BF16 };

/* ---- F32, F16, BF16: dot products ----------------------------------------- */

/* 4 elements of a float row of kind k, as floats. */
INLINE float32x4_t load4(int k, const void *p, int64_t i) {
    if (k == F32) return vld1q_f32((const float *)p + i);
    const uint16x4_t h = vld1_u16((const uint16_t *)p + i);
    if (k == F16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

INLINE float load1(int k, const void *p, int64_t i) {
    if (k == F32) return ((const float *)p)[i];
    const uint16_t h = ((const uint16_t *)p)[i];
    return k == F16 ? tk_f16_to_f32(h) : tk_bf16_to_f32(h);
}

/* acc[0..1] += the 4 products of p widened to double. */
INLINE void add_pd(float64x2_t *acc, float32x4_t p) {
    acc[0] = vaddq_f64(acc[0], vcvt_f64_f32(vget_low_f32(p)));
    acc[1] = vaddq_f64(acc[1], vcvt_high_f64_f32(p));
}

/* out[r] = dot(row r, x), r < K; rows at w + r * stride. Products in float
 * as the reference forms them (exact for F16 and BF16), summed in double in
 * 4 accumulators of 2 lanes per row, 8 elements per step; the tail as the
 * reference does it. */
INLINE void float_dot(int k, int K, int64_t n, const char *w, size_t stride, const void *x, float *out) {
    float64x2_t acc[MAXR][4];
    UNROLL for (int r = 0; r < K; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = vdupq_n_f64(0.0);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t x0 = load4(k, x, i), x1 = load4(k, x, i + 4);
        UNROLL for (int r = 0; r < K; r++) {
            const char *row = w + (size_t)r * stride;
            add_pd(&acc[r][0], vmulq_f32(load4(k, row, i), x0));
            add_pd(&acc[r][2], vmulq_f32(load4(k, row, i + 4), x1));
        }
    }
    UNROLL for (int r = 0; r < K; r++) {
        const char *row = w + (size_t)r * stride;
        double s = vaddvq_f64(vaddq_f64(vaddq_f64(acc[r][0], acc[r][1]), vaddq_f64(acc[r][2], acc[r][3])));
        for (int64_t j = i; j < n; j++) {
            const float p = load1(k, row, j) * load1(k, x, j);
            s += (double)p;
        }
        out[r] = (float)s;
    }
}

#define FLOAT_KERNELS(type, k)                                                                   \
    float tk_##type##_vec_dot_neon(int64_t n, const void *w, const void *x) {                    \
        float out;                                                                               \
        float_dot(k, 1, n, w, 0, x, &out);                                                       \
        return out;                                                                              \
    }                                                                                            \
    void tk_##type##_vec_dot_rows_neon(int64_t n, const void *w, size_t stride, const void *x,   \
                                       float *out, int64_t nrows) {                              \
        const char *p = w;                                                                       \
        int64_t r = 0;                                                                           \
        for (; r + MAXR <= nrows; r += MAXR) float_dot(k, MAXR, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) float_dot(k, 1, n, p + (size_t)r * stride, stride, x, out + r);  \
    }
FLOAT_KERNELS(f32, F32)
FLOAT_KERNELS(f16, F16)
FLOAT_KERNELS(bf16, BF16)

/* ---- Q8_0 x Q8_0, Q4_0 x Q8_0 ------------------------------------------------ */

/* A weight block's 32 values as int8, in the order of the activation
 * block's: Q8_0 as stored, Q4_0 the low nibbles (elements 0..15) then the
 * high ones (16..31), minus 8. */
typedef struct { int8x16_t lo, hi; } wblock;

INLINE wblock wload(int Q4, const char *a) {
    wblock b;
    if (Q4) {
        const uint8x16_t q = vld1q_u8(((const tk_block_q4_0 *)a)->qs);
        const int8x16_t eight = vdupq_n_s8(8);
        b.lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), eight);
        b.hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
    } else {
        const int8_t *qs = ((const tk_block_q8_0 *)a)->qs;
        b.lo = vld1q_s8(qs);
        b.hi = vld1q_s8(qs + 16);
    }
    return b;
}

typedef struct { int8x16_t lo, hi; } xblock;

INLINE xblock xload(const tk_block_q8_0 *b) {
    xblock r;
    r.lo = vld1q_s8(b->qs);
    r.hi = vld1q_s8(b->qs + 16);
    return r;
}

/* ARMv8.0: 4 int32 lanes summing to the block's sum of products. Each
 * int16 product is exact (|w x| <= 128 * 128), SADALP adds pairs of them
 * into int32. */
INLINE int32x4_t block_v80(int Q4, const char *a, xblock x) {
    const wblock w = wload(Q4, a);
    int32x4_t s = vpaddlq_s16(vmull_s8(vget_low_s8(w.lo), vget_low_s8(x.lo)));
    s = vpadalq_s16(s, vmull_high_s8(w.lo, x.lo));
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(w.hi), vget_low_s8(x.hi)));
    return vpadalq_s16(s, vmull_high_s8(w.hi, x.hi));
}

/* ARMv8.2 dotprod: the same by SDOT (4 products into each int32 lane). */
DOTPROD INLINE int32x4_t block_dp(int Q4, const char *a, xblock x) {
    const wblock w = wload(Q4, a);
    return SDOT(SDOT(vdupq_n_s32(0), w.lo, x.lo), w.hi, x.hi);
}

/* [sum a, sum b, sum c, sum d], exact. */
INLINE int32x4_t hsum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

/* The f16 scale that starts every block (Q8_0 and Q4_0 alike). */
INLINE uint16_t dbits(const void *block) { return *(const uint16_t *)block; }

INLINE float32x4_t halves4(uint16_t a, uint16_t b, uint16_t c, uint16_t d) {
    const uint16_t h[4] = {a, b, c, d};
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

/* The reference's block terms from exact block sums and the two scales:
 * Q8_0 isum * (dw * dx), Q4_0 (isum * dw) * dx. */
INLINE float32x4_t terms(int Q4, int32x4_t isum, float32x4_t dw, float32x4_t dx) {
    const float32x4_t s = vcvtq_f32_s32(isum);
    return Q4 ? vmulq_f32(vmulq_f32(s, dw), dx) : vmulq_f32(s, vmulq_f32(dw, dx));
}

/* s + t0 + t1 + t2 + t3, left to right in float: the reference's order. */
INLINE float add_in_order(float s, float32x4_t t) {
    s += vgetq_lane_f32(t, 0);
    s += vgetq_lane_f32(t, 1);
    s += vgetq_lane_f32(t, 2);
    s += vgetq_lane_f32(t, 3);
    return s;
}

#define PREFETCH_AHEAD 512

/* The two quantized dot products, one row (4 blocks per step, their terms
 * added in order) and four rows (lane r is row r, block after block; the
 * activation block is loaded once for the four), for one way of summing a
 * block (BLOCK: block_v80 or block_dp) under the function attribute ATTR.
 * A macro because the dotprod versions need the attribute on every
 * function SDOT is inlined into. */
#define QUANT_DOTS(isa, ATTR, BLOCK)                                                                               \
    ATTR INLINE float quant_dot1_##isa(int Q4, int64_t n, const char *w, const tk_block_q8_0 *x) {                 \
        const int64_t nb = n / 32;                                                                                 \
        const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);                                     \
        float sum = 0.0f;                                                                                          \
        int64_t i = 0;                                                                                             \
        for (; i + 4 <= nb; i += 4) {                                                                              \
            const char *a = w + (size_t)i * wb;                                                                    \
            const int32x4_t s = hsum4(BLOCK(Q4, a, xload(x + i)), BLOCK(Q4, a + wb, xload(x + i + 1)),             \
                                      BLOCK(Q4, a + 2 * wb, xload(x + i + 2)), BLOCK(Q4, a + 3 * wb, xload(x + i + 3))); \
            const float32x4_t dw = halves4(dbits(a), dbits(a + wb), dbits(a + 2 * wb), dbits(a + 3 * wb));         \
            const float32x4_t dx = halves4(dbits(x + i), dbits(x + i + 1), dbits(x + i + 2), dbits(x + i + 3));    \
            sum = add_in_order(sum, terms(Q4, s, dw, dx));                                                         \
        }                                                                                                          \
        for (; i < nb; i++) {                                                                                      \
            const char *a = w + (size_t)i * wb;                                                                    \
            const int32x4_t s = vdupq_n_s32(vaddvq_s32(BLOCK(Q4, a, xload(x + i))));                               \
            sum += vgetq_lane_f32(terms(Q4, s, halves4(dbits(a), 0, 0, 0), halves4(dbits(x + i), 0, 0, 0)), 0);    \
        }                                                                                                          \
        return sum;                                                                                                \
    }                                                                                                              \
    ATTR INLINE void quant_dot4_##isa(int Q4, int64_t n, const char *w, size_t stride, const tk_block_q8_0 *x,     \
                                      float *out) {                                                                \
        const int64_t nb = n / 32;                                                                                 \
        const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);                                     \
        const char *r0 = w, *r1 = w + stride, *r2 = w + 2 * stride, *r3 = w + 3 * stride;                          \
        float32x4_t sum = vdupq_n_f32(0.0f);                                                                       \
        for (int64_t i = 0; i < nb; i++) {                                                                         \
            const size_t o = (size_t)i * wb;                                                                       \
            __builtin_prefetch(r0 + o + PREFETCH_AHEAD);                                                           \
            __builtin_prefetch(r1 + o + PREFETCH_AHEAD);                                                           \
            __builtin_prefetch(r2 + o + PREFETCH_AHEAD);                                                           \
            __builtin_prefetch(r3 + o + PREFETCH_AHEAD);                                                           \
            const xblock xb = xload(x + i);                                                                        \
            const int32x4_t s = hsum4(BLOCK(Q4, r0 + o, xb), BLOCK(Q4, r1 + o, xb), BLOCK(Q4, r2 + o, xb),         \
                                      BLOCK(Q4, r3 + o, xb));                                                      \
            const float32x4_t dw = halves4(dbits(r0 + o), dbits(r1 + o), dbits(r2 + o), dbits(r3 + o));           \
            const float32x4_t dx = vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(dbits(x + i))));                   \
            sum = vaddq_f32(sum, terms(Q4, s, dw, dx));                                                            \
        }                                                                                                          \
        vst1q_f32(out, sum);                                                                                       \
    }

#define QUANT_KERNELS(type, q4, isa, ATTR)                                                                         \
    ATTR float tk_##type##_vec_dot_##isa(int64_t n, const void *w, const void *x) {                               \
        return quant_dot1_##isa(q4, n, w, x);                                                                      \
    }                                                                                                              \
    ATTR void tk_##type##_vec_dot_rows_##isa(int64_t n, const void *w, size_t stride, const void *x, float *out,   \
                                             int64_t nrows) {                                                      \
        const char *p = w;                                                                                         \
        int64_t r = 0;                                                                                             \
        for (; r + MAXR <= nrows; r += MAXR) quant_dot4_##isa(q4, n, p + (size_t)r * stride, stride, x, out + r);  \
        for (; r < nrows; r++) out[r] = quant_dot1_##isa(q4, n, p + (size_t)r * stride, x);                        \
    }

QUANT_DOTS(neon, , block_v80)
QUANT_DOTS(neondot, DOTPROD, block_dp)
QUANT_KERNELS(q8_0, 0, neon, )
QUANT_KERNELS(q4_0, 1, neon, )
QUANT_KERNELS(q8_0, 0, neondot, DOTPROD)
QUANT_KERNELS(q4_0, 1, neondot, DOTPROD)

/* ---- conversions ------------------------------------------------------------- */

void tk_f16_from_float_neon(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(src + i);
        const uint16x4_t h = vreinterpret_u16_f16(vcvt_f16_f32(v));
        /* NaN: the reference gives sign | 0x7e00 whatever the payload */
        const uint16x4_t nan = vmvn_u16(vmovn_u32(vceqq_f32(v, v)));
        const uint16x4_t canon = vorr_u16(vand_u16(h, vdup_n_u16(0x8000)), vdup_n_u16(0x7e00));
        vst1_u16(d + i, vbsl_u16(nan, canon, h));
    }
    for (; i < n; i++) d[i] = tk_f32_to_f16(src[i]);
}

/* The reference's rounding on 4 lanes: NaN -> top half | 0x40, else round
 * to nearest even on the 16 dropped bits. */
INLINE uint16x4_t bf16_round(uint32x4_t u) {
    const uint32x4_t odd = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    const uint32x4_t r = vshrq_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fff)), odd), 16);
    const uint32x4_t q = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40));
    const uint32x4_t nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
    return vmovn_u32(vbslq_u32(nan, q, r));
}

void tk_bf16_from_float_neon(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint16x4_t a = bf16_round(vreinterpretq_u32_f32(vld1q_f32(src + i)));
        const uint16x4_t b = bf16_round(vreinterpretq_u32_f32(vld1q_f32(src + i + 4)));
        vst1q_u16(d + i, vcombine_u16(a, b));
    }
    for (; i < n; i++) d[i] = tk_f32_to_bf16(src[i]);
}

/* Blocks whose largest |x| is not finite, or below 2^-100 (where 1/d may
 * overflow), go to the reference, which defines those cases. */
#define Q8_TINY 0x0d800000u /* 2^-100 */

void tk_q8_0_from_float_neon(const float *src, void *dst, int64_t n) {
    tk_block_q8_0 *b = dst;
    const int64_t nb = n / 32;
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * 32;
        float32x4_t v[8];
        uint32x4_t m = vdupq_n_u32(0);
        for (int k = 0; k < 8; k++) {
            v[k] = vld1q_f32(x + 4 * k);
            /* |x| as bits: for non-negative floats integer order is float
             * order, and inf / NaN compare above every finite value */
            m = vmaxq_u32(m, vandq_u32(vreinterpretq_u32_f32(v[k]), vdupq_n_u32(0x7fffffff)));
        }
        const uint32_t bits = vmaxvq_u32(m);
        if (bits >= 0x7f800000u || (bits != 0 && bits < Q8_TINY)) {
            tk_q8_0_from_float(x, &b[i], 32);
            continue;
        }
        const float amax = vgetq_lane_f32(vreinterpretq_f32_u32(vdupq_n_u32(bits)), 0);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tk_f32_to_f16(d);
        const float32x4_t s = vdupq_n_f32(id);
        int16x8_t h[4];
        for (int k = 0; k < 4; k++) {
            /* FCVTAS: round to nearest, ties away from zero (roundf), then
             * the int32 the reference's cast gives (|q| <= 127 here) */
            const int32x4_t q0 = vcvtaq_s32_f32(vmulq_f32(v[2 * k], s));
            const int32x4_t q1 = vcvtaq_s32_f32(vmulq_f32(v[2 * k + 1], s));
            h[k] = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
        }
        vst1q_s8(b[i].qs, vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1])));
        vst1q_s8(b[i].qs + 16, vcombine_s8(vqmovn_s16(h[2]), vqmovn_s16(h[3])));
    }
}

#else
typedef int tk_simd_neon_empty; /* ISO C wants a translation unit to declare something */
#endif
