/* dtype_q.c: scalar reference kernels of the legacy 32-element block
 * quantizations Q8_0 and Q4_0.
 *
 * Reference: ggml (llama.cpp) ggml-quants.c / ggml-cpu quants.c:
 *   to_float   = dequantize_row_q8_0 / dequantize_row_q4_0
 *   from_float = quantize_row_q8_0_ref / quantize_row_q4_0_ref, the
 *                reference quantizers llama-quantize uses (without an
 *                importance matrix), rounding for rounding, so the same
 *                floats give byte-identical blocks
 *   vec_dot    = ggml_vec_dot_q8_0_q8_0 / ggml_vec_dot_q4_0_q8_0 (generic
 *                versions): an exact int32 sum per block, scaled by the two
 *                block scales in float, the blocks summed in float in order.
 *
 * Portable C11, no intrinsics. The scale d is stored as an IEEE half. */
#include "dtype.h"

#include <math.h>

#if defined(__clang__)
/* Keep a*b + c as two roundings (gcc does so already under -std=c11). */
#pragma STDC FP_CONTRACT OFF
#endif

#define QK 32 /* elements per block of both types */

/* float -> integer conversions as C does them for in-range values (the
 * reference casts), but defined for everything: out-of-range values
 * saturate and NaN gives 0. Only non-finite inputs can reach those cases,
 * so finite rows quantize exactly as ggml's reference. */
static inline int sat_trunc(float v, int lo, int hi) {
    if (v >= (float)lo && v <= (float)hi) return (int)v;
    return v > 0 ? hi : (v < 0 ? lo : 0);
}

/* ---- Q8_0 ----------------------------------------------------------------
 *
 *  one block = 32 elements, 34 bytes (little-endian):
 *
 *   byte 0      2                                                 34
 *       +-------+-------+-------+-------+- ... -+-------+-------+
 *       | d f16 | qs[0] | qs[1] | qs[2] |       |qs[30] |qs[31] |
 *       +-------+-------+-------+-------+- ... -+-------+-------+
 *        2 bytes  int8 each, two's complement
 *
 *   x[i] = d * qs[i],  i = 0..31
 *
 * A row of n elements (n % 32 == 0) is n/32 consecutive blocks; element k
 * is in block k/32 at qs[k%32].
 *
 * Quantize: amax = max |x|, d = amax / 127, qs = roundf(x / d) (computed as
 * x * (1/d), rounding half away from zero), qs in [-127, 127]; d == 0 when
 * the block is all zeros. The half stored is d rounded to f16, but qs uses
 * the unrounded d, exactly as the reference. */

void tk_q8_0_to_float(const void *src, float *dst, int64_t n) {
    const tk_block_q8_0 *b = src;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = tk_f16_to_f32(b[i].d);
        for (int j = 0; j < QK; j++) dst[i * QK + j] = (float)b[i].qs[j] * d;
    }
}

void tk_q8_0_from_float(const float *src, void *dst, int64_t n) {
    tk_block_q8_0 *b = dst;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QK;
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) {
            const float av = fabsf(x[j]);
            amax = amax > av ? amax : av;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tk_f32_to_f16(d);
        for (int j = 0; j < QK; j++) {
            const float v = x[j] * id;
            b[i].qs[j] = (int8_t)sat_trunc(roundf(v), -128, 127);
        }
    }
}

/* Q8_0 weights . Q8_0 activations:
 *   sum over blocks b of  (float)isum_b * (d_w[b] * d_x[b])
 * with isum_b = sum_j w.qs[j] * x.qs[j] exact in int32 (|isum| <= 32*128*128),
 * the product of scales formed first, the block terms summed in float. */
float tk_q8_0_vec_dot(int64_t n, const void *w, const void *x) {
    const tk_block_q8_0 *a = w, *b = x;
    const int64_t nb = n / QK;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int32_t isum = 0;
        for (int j = 0; j < QK; j++) isum += (int32_t)a[i].qs[j] * (int32_t)b[i].qs[j];
        const float dd = tk_f16_to_f32(a[i].d) * tk_f16_to_f32(b[i].d);
        const float t = (float)isum * dd;
        sum += t;
    }
    return sum;
}

/* ---- Q4_0 ----------------------------------------------------------------
 *
 *  one block = 32 elements, 18 bytes (little-endian):
 *
 *   byte 0      2        3        4              17       18
 *       +-------+--------+--------+----- ... ----+--------+
 *       | d f16 | qs[0]  | qs[1]  |              | qs[15] |
 *       +-------+--------+--------+----- ... ----+--------+
 *
 *   qs[j], j = 0..15:   bit 7..4          bit 3..0
 *                     +-----------------+-----------------+
 *                     | q[j + 16] (hi)  | q[j] (lo)       |
 *                     +-----------------+-----------------+
 *
 *   x[i] = d * (q[i] - 8),  q[i] in 0..15,  i = 0..31
 *
 * So the low nibbles hold the first half of the block (elements 0..15) and
 * the high nibbles the second half (16..31), not interleaved pairs.
 *
 * Quantize: take the element of largest magnitude, max (the first one if
 * tied), d = max / -8 (so max itself maps to q = 0, i.e. -8 * d = max),
 * q = min(15, trunc(x / d + 8.5)) with x / d computed as x * (1/d). */

void tk_q4_0_to_float(const void *src, float *dst, int64_t n) {
    const tk_block_q4_0 *b = src;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = tk_f16_to_f32(b[i].d);
        for (int j = 0; j < QK / 2; j++) {
            const int lo = (b[i].qs[j] & 0x0f) - 8;
            const int hi = (b[i].qs[j] >> 4) - 8;
            dst[i * QK + j] = (float)lo * d;
            dst[i * QK + j + QK / 2] = (float)hi * d;
        }
    }
}

void tk_q4_0_from_float(const float *src, void *dst, int64_t n) {
    tk_block_q4_0 *b = dst;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QK;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK; j++) {
            const float av = fabsf(x[j]);
            if (amax < av) {
                amax = av;
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tk_f32_to_f16(d);
        for (int j = 0; j < QK / 2; j++) {
            const float v0 = x[j] * id;
            const float v1 = x[j + QK / 2] * id;
            /* The reference truncates to int8 and then clamps above at 15;
             * for finite input the value is >= 0 already (|v| <= ~8). */
            int q0 = sat_trunc(v0 + 8.5f, -128, 127);
            int q1 = sat_trunc(v1 + 8.5f, -128, 127);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            b[i].qs[j] = (uint8_t)((q0 & 0x0f) | ((q1 & 0x0f) << 4));
        }
    }
}

/* Q4_0 weights . Q8_0 activations:
 *   sum over blocks b of  ((float)isum_b * d_w[b]) * d_x[b]
 * with isum_b = sum_j (q_w[j] - 8) * x.qs[j] exact in int32; note the
 * left-to-right scaling (sumi*dw*dx), as ggml_vec_dot_q4_0_q8_0 writes it,
 * unlike the Q8_0 kernel's sumi*(dw*dx). Block terms summed in float. */
float tk_q4_0_vec_dot(int64_t n, const void *w, const void *x) {
    const tk_block_q4_0 *a = w;
    const tk_block_q8_0 *b = x;
    const int64_t nb = n / QK;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int32_t s0 = 0, s1 = 0;
        for (int j = 0; j < QK / 2; j++) {
            const int32_t v0 = (a[i].qs[j] & 0x0f) - 8;
            const int32_t v1 = (a[i].qs[j] >> 4) - 8;
            s0 += v0 * (int32_t)b[i].qs[j];
            s1 += v1 * (int32_t)b[i].qs[j + QK / 2];
        }
        const int32_t isum = s0 + s1;
        const float t = ((float)isum * tk_f16_to_f32(a[i].d)) * tk_f16_to_f32(b[i].d);
        sum += t;
    }
    return sum;
}
