/* dtype_k.c: scalar reference kernels of the K-quants Q4_K and Q6_K and of
 * their activation type Q8_K (super-blocks of 256 elements).
 *
 * Reference: ggml (llama.cpp) ggml-quants.c / ggml-cpu quants.c:
 *   to_float   = dequantize_row_q4_K / _q6_K / _q8_K
 *   from_float = quantize_row_q4_K_ref / _q6_K_ref (what llama-quantize
 *                runs without an importance matrix: make_qkx2_quants /
 *                make_qx_quants per sub-block, then the sub-block scales
 *                quantized against the super-block's) and
 *                quantize_row_q8_K_ref, step for step and rounding for
 *                rounding (nearest_int's round-half-even by the 1.5*2^23
 *                trick), so the same floats give the same bytes
 *   vec_dot    = ggml_vec_dot_q4_K_q8_K / _q6_K_q8_K, generic versions:
 *                per super-block 8 exact int32 lanes (lane l sums the
 *                elements whose index is l mod 8, each times its
 *                sub-block scale), scaled by d_w*d_x into 8 float lanes
 *                that run across the whole row, added together at the end.
 *                The SIMD kernels keep that lane structure, so they give
 *                the same bits.
 *
 * Portable C11, no intrinsics. */
#include "dtype.h"
#include "simd/simd.h"

#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define QK TK_QK_K

/* ggml's nearest_int: round half to even by adding 1.5 * 2^23 and reading
 * the low mantissa bits. Defined by ggml for |f| <= 4194303 only; outside
 * that (reached only from inf or NaN input) it saturates, NaN gives 0. */
static inline int nearest_int(float f) {
    if (!(fabsf(f) <= 4194303.0f)) return f > 0 ? 4194303 : (f < 0 ? -4194303 : 0);
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

#define GROUP_MAX_EPS 1e-15f

/* ---- Q4_K ----------------------------------------------------------------
 *
 *  one super-block = 256 elements, 144 bytes:
 *
 *   byte 0       2          4                16                    144
 *       +--------+----------+----------------+---------------------+
 *       | d f16  | dmin f16 | scales[12]     | qs[128]             |
 *       +--------+----------+----------------+---------------------+
 *
 *  8 sub-blocks of 32 elements, j = 0..7, each with a 6-bit scale sc[j]
 *  and a 6-bit min m[j], packed into the 12 bytes:
 *
 *   j < 4:   sc[j] = scales[j] & 63          m[j] = scales[j + 4] & 63
 *   j >= 4:  sc[j] = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4
 *            m[j]  = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4
 *
 *  (the top two bits of bytes 0..7 hold the high bits of sub-blocks 4..7).
 *  qs in 4 chunks of 32 bytes: chunk c holds sub-block 2c in its low
 *  nibbles and sub-block 2c+1 in its high nibbles, element by element.
 *
 *   x = (d * sc[j]) * q - (dmin * m[j]),  q in 0..15
 */

static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void tk_q4_K_to_float(const void *src, float *dst, int64_t n) {
    const tk_block_q4_K *b = src;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = tk_f16_to_f32(b[i].d), min = tk_f16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        float *y = dst + i * QK;
        for (int c = 0; c < 4; c++, q += 32, y += 64) {
            uint8_t sc, m;
            scale_min_k4(2 * c, b[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(2 * c + 1, b[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) y[l] = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++) y[l + 32] = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* ggml's make_qkx2_quants: quantize n values to L in 0..nmax as
 * scale * L - the_min, with weights; first from the plain range, then
 * nstep+1 trial scales (rmin + rdelta * is + nmax) / range each refined by
 * weighted least squares, the lowest weighted squared error kept. Returns
 * the scale, the (positive) min in *the_min. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)imax(0, imin(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = imax(0, imin(nmax, l));
            Laux[i] = (uint8_t)l;
            const float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

void tk_q4_K_from_float(const float *src, void *dst, int64_t n) {
    tk_block_q4_K *y = dst;
    const int64_t nb = n / QK;
    uint8_t L[QK], Laux[32];
    float weights[32], mins[QK / 32], scales[QK / 32];
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QK;
        float max_scale = 0, max_min = 0; /* the min is subtracted: scales are >= 0 */
        for (int j = 0; j < QK / 32; j++) {
            /* weights: the sub-block's RMS plus each |x| */
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
            const float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        memset(y[i].scales, 0, sizeof y[i].scales);
        for (int j = 0; j < QK / 32; j++) {
            /* the reference stores nearest_int's result in a uint8_t */
            const uint8_t ls = (uint8_t)imin(63, (uint8_t)nearest_int(inv_scale * scales[j]));
            const uint8_t lm = (uint8_t)imin(63, (uint8_t)nearest_int(inv_min * mins[j]));
            if (j < 4) {
                y[i].scales[j] = ls;
                y[i].scales[j + 4] = lm;
            } else {
                y[i].scales[j + 4] = (uint8_t)((ls & 0x0f) | ((lm & 0x0f) << 4));
                y[i].scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
                y[i].scales[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        y[i].d = tk_f32_to_f16(max_scale / 63.0f);
        y[i].dmin = tk_f32_to_f16(max_min / 63.0f);
        /* requantize every element against the stored (rounded) scales */
        for (int j = 0; j < QK / 32; j++) {
            uint8_t sc, m;
            scale_min_k4(j, y[i].scales, &sc, &m);
            const float d = tk_f16_to_f32(y[i].d) * sc;
            if (d == 0.0f) continue; /* keeps make_qkx2_quants's L */
            const float dm = tk_f16_to_f32(y[i].dmin) * m;
            for (int l = 0; l < 32; l++) {
                const int q = nearest_int((x[32 * j + l] + dm) / d);
                L[32 * j + l] = (uint8_t)imax(0, imin(15, q));
            }
        }
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK; j += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

/* Q4_K weights . Q8_K activations, ggml's generic order:
 *   per super-block, aux[l] = sum over sub-blocks j of sc[j] * (sum of
 *   q * x over the elements of j with index = l mod 8), exact int32;
 *   sums[l] += (d_w * d_x) * aux[l] in float, 8 lanes kept across blocks;
 *   sumf -= (dmin_w * d_x) * sum_j m[j/2] * bsums[j] (the mins through the
 *   activation's 16-element sums);
 * and at the end sumf + sums[0] + ... + sums[7], left to right. */
float tk_q4_K_vec_dot(int64_t n, const void *w, const void *xv) {
    const tk_block_q4_K *a = w;
    const tk_block_q8_K *b = xv;
    const int64_t nb = n / QK;
    float sums[8] = {0};
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        int32_t aux[8] = {0};
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) scale_min_k4(j, a[i].scales, &sc[j], &m[j]);
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = a[i].qs + 32 * (j / 2);
            const int8_t *x = b[i].qs + 32 * j;
            const int shift = 4 * (j & 1);
            for (int l = 0; l < 32; l++) aux[l % 8] += (int32_t)sc[j] * (((q[l] >> shift) & 0x0f) * x[l]);
        }
        int32_t sumi = 0;
        for (int j = 0; j < 16; j++) sumi += (int32_t)b[i].bsums[j] * m[j / 2];
        const float d = tk_f16_to_f32(a[i].d) * b[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)aux[l];
        const float dmin = tk_f16_to_f32(a[i].dmin) * b[i].d;
        sumf -= dmin * (float)sumi;
    }
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

/* ---- Q6_K ----------------------------------------------------------------
 *
 *  one super-block = 256 elements, 210 bytes:
 *
 *   byte 0                128            192             208      210
 *       +-----------------+--------------+---------------+--------+
 *       | ql[128]         | qh[64]       | scales[16]    | d f16  |
 *       +-----------------+--------------+---------------+--------+
 *                                          int8 each
 *
 *  Each half h (elements 128h .. 128h+127) uses ql[64h .. 64h+63] and
 *  qh[32h .. 32h+31]; for l = 0..31 the 6-bit q of element 128h + e is
 *
 *     e = l       (ql[l]      & 15) | ((qh[l] >> 0) & 3) << 4
 *     e = l + 32  (ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4
 *     e = l + 64  (ql[l]      >> 4) | ((qh[l] >> 4) & 3) << 4
 *     e = l + 96  (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4
 *
 *   x = (d * scales[k / 16]) * (q - 32),  k the element's index 0..255
 */

/* The 256 signed values q - 32 of one block, in element order. */
static void q6_K_values(const tk_block_q6_K *b, int8_t *v) {
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        int8_t *o = v + 128 * h;
        for (int l = 0; l < 32; l++) {
            o[l] = (int8_t)(((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32);
            o[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
            o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
        }
    }
}

void tk_q6_K_to_float(const void *src, float *dst, int64_t n) {
    const tk_block_q6_K *b = src;
    const int64_t nb = n / QK;
    int8_t v[QK];
    for (int64_t i = 0; i < nb; i++) {
        const float d = tk_f16_to_f32(b[i].d);
        q6_K_values(&b[i], v);
        for (int k = 0; k < QK; k++) dst[i * QK + k] = d * (float)b[i].scales[k / 16] * (float)v[k];
    }
}

/* ggml's make_qx_quants with rmse_type 1 (weights x^2), no importance:
 * L = nmax + round(x * iscale) in 0..2*nmax-1, the scale refined by least
 * squares over 19 trial iscales around -nmax / max. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) { /* all zero */
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = imax(-nmax, imin(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = imax(-nmax, imin(nmax - 1, l));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                const int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void tk_q6_K_from_float(const float *src, void *dst, int64_t n) {
    tk_block_q6_K *y = dst;
    const int64_t nb = n / QK;
    int8_t L[QK];
    float scales[QK / 16];
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QK;
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK / 16; ib++) {
            const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        memset(&y[i], 0, sizeof y[i]);
        if (max_abs_scale < GROUP_MAX_EPS) continue; /* all zero: d = +0 */
        const float iscale = -128.0f / max_scale;
        y[i].d = tk_f32_to_f16(1 / iscale);
        for (int ib = 0; ib < QK / 16; ib++) y[i].scales[ib] = (int8_t)imin(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK / 16; j++) {
            const float d = tk_f16_to_f32(y[i].d) * (float)y[i].scales[j];
            if (d == 0.0f) continue; /* keeps make_qx_quants's L */
            for (int l = 0; l < 16; l++) {
                const int q = nearest_int(x[16 * j + l] / d);
                L[16 * j + l] = (int8_t)(imax(-32, imin(31, q)) + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < QK; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int q1 = L[j + l] & 0x0f, q2 = L[j + l + 32] & 0x0f;
                const int q3 = L[j + l + 64] & 0x0f, q4 = L[j + l + 96] & 0x0f;
                ql[l] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

/* Q6_K weights . Q8_K activations, ggml's generic order: as Q4_K's with
 * 16 sub-blocks of 16 and int8 scales, and no mins. */
float tk_q6_K_vec_dot(int64_t n, const void *w, const void *xv) {
    const tk_block_q6_K *a = w;
    const tk_block_q8_K *b = xv;
    const int64_t nb = n / QK;
    float sums[8] = {0};
    int8_t v[QK];
    for (int64_t i = 0; i < nb; i++) {
        int32_t aux[8] = {0};
        q6_K_values(&a[i], v);
        for (int k = 0; k < QK; k++) aux[k % 8] += (int32_t)a[i].scales[k / 16] * (v[k] * b[i].qs[k]);
        const float d = tk_f16_to_f32(a[i].d) * b[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)aux[l];
    }
    float sumf = 0;
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

/* ---- Q8_K ----------------------------------------------------------------
 *
 *  one block = 256 elements, 292 bytes:
 *
 *   byte 0        4                          260                  292
 *       +---------+--------------------------+--------------------+
 *       | d f32   | qs[256] int8             | bsums[16] int16    |
 *       +---------+--------------------------+--------------------+
 *
 *   x = d * qs,  bsums[j] = qs[16j] + ... + qs[16j + 15]
 *
 * Never in files (activations only); rows must be 4-byte aligned for the
 * float (the engine's activation buffers are 64-byte aligned).
 *
 * Quantize: max = the element of largest magnitude (the first if tied),
 * iscale = -127 / max, qs = min(127, nearest_int(iscale * x)), d = 1 /
 * iscale; an all-zero block is d = 0, qs = 0. qs is in [-127, 127] for
 * finite input. */

void tk_q8_K_to_float(const void *src, float *dst, int64_t n) {
    const tk_block_q8_K *b = src;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++)
        for (int k = 0; k < QK; k++) dst[i * QK + k] = b[i].d * (float)b[i].qs[k];
}

void tk_q8_K_from_float(const float *src, void *dst, int64_t n) {
    tk_block_q8_K *y = dst;
    const int64_t nb = n / QK;
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QK;
        float max = 0, amax = 0;
        for (int k = 0; k < QK; k++) {
            const float ax = fabsf(x[k]);
            if (ax > amax) {
                amax = ax;
                max = x[k];
            }
        }
        memset(&y[i], 0, sizeof y[i]);
        if (amax == 0.0f) continue;
        const float iscale = -127.0f / max;
        for (int k = 0; k < QK; k++) {
            /* saturates below too: only NaN / inf input gets there */
            y[i].qs[k] = (int8_t)imax(-128, imin(127, nearest_int(iscale * x[k])));
        }
        for (int j = 0; j < QK / 16; j++) {
            int sum = 0;
            for (int k = 0; k < 16; k++) sum += y[i].qs[16 * j + k];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}
