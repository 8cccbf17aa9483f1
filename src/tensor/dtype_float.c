/* dtype_float.c: scalar reference kernels of the float weight types F32,
 * F16 and BF16, and the half-precision conversions they rest on.
 *
 * Everything here is portable C11 on integer bit patterns, so the results do
 * not depend on the FPU's rounding mode, flush-to-zero or x87 excess
 * precision. SIMD versions live elsewhere and are tested against these.
 *
 * Reference: ggml (llama.cpp). The conversions are bit-identical with
 * ggml_compute_fp32_to_fp16 / ggml_compute_fp16_to_fp32 (the portable ones
 * in ggml-impl.h) and ggml_compute_fp32_to_bf16 / ggml_compute_bf16_to_fp32.
 * The dot products accumulate like ggml's scalar fallbacks of
 * ggml_vec_dot_f32 / _f16 / _bf16: each product is formed in float and the
 * products are summed in double, in index order; the double is rounded to
 * float at the end. */
#include "dtype.h"

#include <string.h>

#if defined(__clang__)
/* Keep a*b + c as two roundings (gcc does so already under -std=c11). */
#pragma STDC FP_CONTRACT OFF
#endif

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float f32_from(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- IEEE binary16 -------------------------------------------------------
 *
 *   bit 15   14..10     9..0
 *  +------+----------+------------+
 *  | sign | exp (5)  | mant (10)  |   bias 15
 *  +------+----------+------------+
 *   exp 0:  subnormal, value = mant * 2^-24 (mant 0: signed zero)
 *   exp 31: mant 0: infinity, else NaN (bit 9 set: quiet)
 *   otherwise value = (1024 + mant) * 2^(exp - 25)
 *
 * binary32 has exp (8) bias 127 and mant (23): a normal half maps to a
 * normal float by rebiasing the exponent (+112) and shifting the mantissa
 * left by 13; a subnormal half is normalised first. */

float tk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) {
        /* inf, or NaN with its payload kept and made quiet (as ggml's
         * conversion, and the hardware ones, give it). */
        return f32_from(sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0));
    }
    if (exp == 0) {
        if (mant == 0) return f32_from(sign);
        /* Subnormal: shift the leading 1 up to bit 10 (the implicit bit). */
        exp = 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            exp--;
        }
        mant &= 0x3ffu;
        /* exp is now <= 0; as unsigned arithmetic exp + 112 stays right. */
    }
    return f32_from(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t tk_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u; /* NaN -> canonical quiet NaN, as ggml */
    /* 65520 (0x477ff000) is halfway between 65504 (largest half, odd
     * mantissa) and 65536: ties-to-even rounds it, and all above, to inf. */
    if (a >= 0x477ff000u) return sign | 0x7c00u;
    if (a < 0x38800000u) {
        /* Below 2^-14: the result is a half subnormal, in units of 2^-24.
         * value = m * 2^(e - 150) with m the 24-bit significand, so the
         * count of units is m / 2^(126 - e), rounded to nearest even. */
        uint32_t e = a >> 23;
        if (e < 102) return sign; /* < 2^-25: rounds to zero (no exact tie possible) */
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++; /* may carry into the smallest normal: right */
        return (uint16_t)(sign | q);
    }
    /* Normal: rebias (127 -> 15) and round the 13 dropped bits to nearest
     * even; a carry out of the mantissa bumps the exponent, which is the
     * right answer (at most 0x7bff here, see the inf cut above). */
    a -= 0x38000000u;
    a += 0x0fffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | (a >> 13));
}

/* ---- bfloat16 ------------------------------------------------------------
 *
 *   bit 15   14..7     6..0
 *  +------+----------+-----------+
 *  | sign | exp (8)  | mant (7)  |   the top half of a binary32
 *  +------+----------+-----------+
 *
 * To float: shift left 16 (exact; NaN payloads kept as they are).
 * From float (ggml_compute_fp32_to_bf16): NaN keeps its top bits and is
 * forced quiet (bit 6); everything else rounds to nearest even on the 16
 * dropped bits (overflow rounds to inf; subnormals are kept, not flushed). */

float tk_bf16_to_f32(uint16_t h) { return f32_from((uint32_t)h << 16); }

uint16_t tk_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* ---- F32: a row is n floats -------------------------------------------- */

void tk_f32_to_float(const void *src, float *dst, int64_t n) {
    if (n > 0) memmove(dst, src, (size_t)n * sizeof(float));
}

void tk_f32_from_float(const float *src, void *dst, int64_t n) {
    if (n > 0) memmove(dst, src, (size_t)n * sizeof(float));
}

/* sum_i w[i]*x[i]: products in float, sum in double (ggml_vec_dot_f32's
 * scalar path). */
float tk_f32_vec_dot(int64_t n, const void *w, const void *x) {
    const float *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float p = a[i] * b[i];
        sum += (double)p;
    }
    return (float)sum;
}

/* ---- F16: a row is n uint16 (binary16 bit patterns) -------------------- */

void tk_f16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = tk_f16_to_f32(s[i]);
}

void tk_f16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = tk_f32_to_f16(src[i]);
}

/* Weight F16 x activation F16. Each product of two halves is exact in
 * float (11 x 11 significant bits); summed in double, as ggml_vec_dot_f16's
 * scalar path. */
float tk_f16_vec_dot(int64_t n, const void *w, const void *x) {
    const uint16_t *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float p = tk_f16_to_f32(a[i]) * tk_f16_to_f32(b[i]);
        sum += (double)p;
    }
    return (float)sum;
}

/* ---- BF16: a row is n uint16 (bfloat16 bit patterns) ------------------- */

void tk_bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = tk_bf16_to_f32(s[i]);
}

void tk_bf16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = tk_f32_to_bf16(src[i]);
}

/* Weight BF16 x activation BF16: products in float (exact, 8 x 8 bits),
 * summed in double, as ggml_vec_dot_bf16's scalar path. */
float tk_bf16_vec_dot(int64_t n, const void *w, const void *x) {
    const uint16_t *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float p = tk_bf16_to_f32(a[i]) * tk_bf16_to_f32(b[i]);
        sum += (double)p;
    }
    return (float)sum;
}
