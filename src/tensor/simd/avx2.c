/* avx2.c: the dtype kernels for AVX2 + FMA + F16C (Haswell, Zen 1 and
 * later), compiled with per-function target attributes so the rest of the
 * binary stays baseline x86-64.
 *
 * Dot products (weights of one type x activations of its vec_dot_type):
 *
 *   F32, F16, BF16   widen 8 elements to float, multiply (in float, as the
 *                    reference does), add into double accumulators (as the
 *                    reference does: see float_dot), a scalar tail for n % 8.
 *   Q8_0 x Q8_0      per block an exact int32 sum: maddubs(|w|, x*sign(w))
 *                    then madd with ones; the int32 lanes of 4 blocks are
 *                    reduced to the 4 exact block sums (hadd), which are
 *                    scaled exactly as the scalar reference scales them
 *                    ((float)isum * (dw*dx)) and added into 4 float lanes.
 *   Q4_0 x Q8_0      the same with q in 0..15 unsigned:
 *                    isum = sum q*x - 8 * sum x, scaled (isum*dw)*dx.
 *
 * So a quantized dot product differs from the reference only in the order
 * in which the (bit-identical) block terms are added. Every `_rows` kernel
 * takes up to 4 weight rows against one activation row, sharing the
 * activation loads; each row's result is bit-identical to vec_dot's.
 *
 * Precondition of Q8_0 x Q8_0: activation bytes are in [-127, 127] (what
 * the quantizer produces); the weights may hold any byte.
 *
 * Conversions (from_float) give exactly the bytes of the scalar reference:
 * F16 by the hardware's round-to-nearest-even, with NaN made canonical as
 * the reference does; BF16 by the reference's integer rounding; Q8_0 with
 * roundf's half-away-from-zero built from truncation (_mm256_round_ps alone
 * would round ties to even), and blocks with inf, NaN or a tiny maximum
 * handed to the reference. */
#include "simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 4")
#define MAXR 4 /* rows per step of the _rows kernels */

enum { F32, F16, BF16 };

/* ---- vocabulary ------------------------------------------------------------ */

INLINE AVX2 float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE AVX2 double hsum_pd(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

INLINE AVX2 float hsum4_ps(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE AVX2 int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
    return _mm_cvtsi128_si32(s);
}

/* [sum a, sum b, sum c, sum d] of four vectors of 8 int32, exact. */
INLINE AVX2 __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_hadd_epi32(a, b); /* a01 a23 b01 b23 | a45 a67 b45 b67 */
    __m256i cd = _mm256_hadd_epi32(c, d);
    __m256i s = _mm256_hadd_epi32(ab, cd); /* a0-3 b0-3 c0-3 d0-3 | a4-7 ... */
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* 8 elements of a float row of kind k, as floats. */
INLINE AVX2 __m256 load8(int k, const void *p, int64_t i) {
    if (k == F32) return _mm256_loadu_ps((const float *)p + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    if (k == F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

INLINE AVX2 float load1(int k, const void *p, int64_t i) {
    if (k == F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return k == F16 ? _cvtsh_ss(h) : tk_bf16_to_f32(h);
}

/* Four block scales (f16 at a stride of `bytes`) as floats. */
INLINE AVX2 __m128 scales4(const void *blocks, int bytes) {
    const unsigned char *p = blocks;
    const uint16_t *d0 = (const uint16_t *)p, *d1 = (const uint16_t *)(p + bytes);
    const uint16_t *d2 = (const uint16_t *)(p + 2 * bytes), *d3 = (const uint16_t *)(p + 3 * bytes);
    return _mm_cvtph_ps(_mm_setr_epi16((short)*d0, (short)*d1, (short)*d2, (short)*d3, 0, 0, 0, 0));
}

/* ---- F32, F16, BF16: dot products ----------------------------------------- */

/* out[r] = dot(row r, x), r < K; rows at w + r * stride. Products in
 * float as the reference forms them (exact for F16 and BF16), summed in
 * double in two accumulators of 4 lanes per row: the sum is then the
 * reference's to within double rounding, so the float result is almost
 * always bit-identical, and models give the same logits at every level. */
INLINE AVX2 void float_dot(int k, int K, int64_t n, const char *w, size_t stride, const void *x, float *out) {
    __m256d lo[MAXR], hi[MAXR];
    UNROLL for (int r = 0; r < K; r++) lo[r] = hi[r] = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x0 = load8(k, x, i);
        UNROLL for (int r = 0; r < K; r++) {
            const __m256 p = _mm256_mul_ps(load8(k, w + (size_t)r * stride, i), x0);
            lo[r] = _mm256_add_pd(lo[r], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
            hi[r] = _mm256_add_pd(hi[r], _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
        }
    }
    UNROLL for (int r = 0; r < K; r++) {
        const char *row = w + (size_t)r * stride;
        double s = hsum_pd(_mm256_add_pd(lo[r], hi[r]));
        for (int64_t j = i; j < n; j++) {
            const float p = load1(k, row, j) * load1(k, x, j);
            s += (double)p;
        }
        out[r] = (float)s;
    }
}

#define FLOAT_KERNELS(type, k)                                                                   \
    AVX2 float tk_##type##_vec_dot_avx2(int64_t n, const void *w, const void *x) {               \
        float out;                                                                               \
        float_dot(k, 1, n, w, 0, x, &out);                                                       \
        return out;                                                                              \
    }                                                                                            \
    AVX2 void tk_##type##_vec_dot_rows_avx2(int64_t n, const void *w, size_t stride, const void *x, \
                                            float *out, int64_t nrows) {                         \
        const char *p = w;                                                                       \
        int64_t r = 0;                                                                           \
        for (; r + MAXR <= nrows; r += MAXR) float_dot(k, MAXR, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) float_dot(k, 1, n, p + (size_t)r * stride, stride, x, out + r);  \
    }
FLOAT_KERNELS(f32, F32)
FLOAT_KERNELS(f16, F16)
FLOAT_KERNELS(bf16, BF16)

/* ---- Q8_0 x Q8_0, Q4_0 x Q8_0 ------------------------------------------------ */

/* 8 int32 lanes summing to sum_j w[j] * x[j] over one block (x in
 * [-127, 127]): |w| is the unsigned operand, x takes w's sign. */
INLINE AVX2 __m256i dot_q8(const tk_block_q8_0 *a, __m256i x) {
    const __m256i w = _mm256_loadu_si256((const __m256i *)a->qs);
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* The same for Q4_0: q (0..15, low nibbles then high nibbles, the order of
 * x) times x, minus x8 = maddubs(8, x) = 8 * pairwise sums of x; each int16
 * lane is (q0-8)x0 + (q1-8)x1, within [-2048, 2048]. */
INLINE AVX2 __m256i dot_q4(const tk_block_q4_0 *a, __m256i x, __m256i x8) {
    const __m128i q = _mm_loadu_si128((const __m128i *)a->qs);
    const __m256i qq = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(qq, x), x8);
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

INLINE AVX2 __m256i times8(__m256i x) { return _mm256_maddubs_epi16(_mm256_set1_epi8(8), x); }

INLINE AVX2 void q8_0_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_0 *x, float *out) {
    const int64_t nb = n / 32;
    __m128 acc[MAXR];
    float tail[MAXR];
    UNROLL for (int r = 0; r < K; r++) acc[r] = _mm_setzero_ps(), tail[r] = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)x[i + 1].qs);
        const __m256i x2 = _mm256_loadu_si256((const __m256i *)x[i + 2].qs);
        const __m256i x3 = _mm256_loadu_si256((const __m256i *)x[i + 3].qs);
        const __m128 dx = scales4(x + i, sizeof *x);
        UNROLL for (int r = 0; r < K; r++) {
            const tk_block_q8_0 *a = (const tk_block_q8_0 *)(w + (size_t)r * stride) + i;
            const __m128i s = hsum4_epi32(dot_q8(a, x0), dot_q8(a + 1, x1), dot_q8(a + 2, x2), dot_q8(a + 3, x3));
            const __m128 dd = _mm_mul_ps(scales4(a, sizeof *a), dx);
            acc[r] = _mm_add_ps(acc[r], _mm_mul_ps(_mm_cvtepi32_ps(s), dd));
        }
    }
    for (; i < nb; i++) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const float dx = _cvtsh_ss(x[i].d);
        UNROLL for (int r = 0; r < K; r++) {
            const tk_block_q8_0 *a = (const tk_block_q8_0 *)(w + (size_t)r * stride) + i;
            const float dd = _cvtsh_ss(a->d) * dx;
            const float t = (float)hsum_epi32(dot_q8(a, x0)) * dd;
            tail[r] += t;
        }
    }
    UNROLL for (int r = 0; r < K; r++) out[r] = hsum4_ps(acc[r]) + tail[r];
}

INLINE AVX2 void q4_0_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_0 *x, float *out) {
    const int64_t nb = n / 32;
    __m128 acc[MAXR];
    float tail[MAXR];
    UNROLL for (int r = 0; r < K; r++) acc[r] = _mm_setzero_ps(), tail[r] = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)x[i + 1].qs);
        const __m256i x2 = _mm256_loadu_si256((const __m256i *)x[i + 2].qs);
        const __m256i x3 = _mm256_loadu_si256((const __m256i *)x[i + 3].qs);
        const __m256i e0 = times8(x0), e1 = times8(x1), e2 = times8(x2), e3 = times8(x3);
        const __m128 dx = scales4(x + i, sizeof *x);
        UNROLL for (int r = 0; r < K; r++) {
            const tk_block_q4_0 *a = (const tk_block_q4_0 *)(w + (size_t)r * stride) + i;
            const __m128i s = hsum4_epi32(dot_q4(a, x0, e0), dot_q4(a + 1, x1, e1), dot_q4(a + 2, x2, e2),
                                          dot_q4(a + 3, x3, e3));
            const __m128 t = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(s), scales4(a, sizeof *a)), dx);
            acc[r] = _mm_add_ps(acc[r], t);
        }
    }
    for (; i < nb; i++) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)x[i].qs), e0 = times8(x0);
        const float dx = _cvtsh_ss(x[i].d);
        UNROLL for (int r = 0; r < K; r++) {
            const tk_block_q4_0 *a = (const tk_block_q4_0 *)(w + (size_t)r * stride) + i;
            const float t = ((float)hsum_epi32(dot_q4(a, x0, e0)) * _cvtsh_ss(a->d)) * dx;
            tail[r] += t;
        }
    }
    UNROLL for (int r = 0; r < K; r++) out[r] = hsum4_ps(acc[r]) + tail[r];
}

#define QUANT_KERNELS(type)                                                                      \
    AVX2 float tk_##type##_vec_dot_avx2(int64_t n, const void *w, const void *x) {               \
        float out;                                                                               \
        type##_dot(1, n, w, 0, x, &out);                                                         \
        return out;                                                                              \
    }                                                                                            \
    AVX2 void tk_##type##_vec_dot_rows_avx2(int64_t n, const void *w, size_t stride, const void *x, \
                                            float *out, int64_t nrows) {                         \
        const char *p = w;                                                                       \
        int64_t r = 0;                                                                           \
        for (; r + MAXR <= nrows; r += MAXR) type##_dot(MAXR, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) type##_dot(1, n, p + (size_t)r * stride, stride, x, out + r);    \
    }
QUANT_KERNELS(q8_0)
QUANT_KERNELS(q4_0)

/* ---- conversions ------------------------------------------------------------- */

AVX2 void tk_f16_from_float_avx2(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
        /* NaN: the reference gives sign | 0x7e00 whatever the payload */
        const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        const __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
        const __m128i canon = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16((short)0x8000)), _mm_set1_epi16(0x7e00));
        h = _mm_blendv_epi8(h, canon, nan16);
        _mm_storeu_si128((__m128i *)(d + i), h);
    }
    for (; i < n; i++) d[i] = tk_f32_to_f16(src[i]);
}

/* The reference's rounding on 8 lanes: NaN -> top half | 0x40, else
 * round to nearest even on the 16 dropped bits (as 32-bit lanes). */
INLINE AVX2 __m256i bf16_round(__m256i u) {
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), odd), 16);
    const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(r, q, nan);
}

AVX2 void tk_bf16_from_float_avx2(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i a = bf16_round(_mm256_loadu_si256((const __m256i *)(src + i)));
        const __m256i b = bf16_round(_mm256_loadu_si256((const __m256i *)(src + i + 8)));
        /* packus works per 128-bit lane: a0-3 b0-3 | a4-7 b4-7 -> reorder */
        const __m256i ab = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
        _mm256_storeu_si256((__m256i *)(d + i), ab);
    }
    for (; i < n; i++) d[i] = tk_f32_to_bf16(src[i]);
}

/* roundf (ties away from zero) of lanes with |v| < 2^23: truncate, then
 * step one away from zero when the dropped fraction is >= 0.5 (v - t is
 * exact). */
INLINE AVX2 __m256 round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/* Blocks whose largest |x| is not finite, or below 2^-100 (where 1/d may
 * overflow), go to the reference, which defines those cases. */
#define Q8_TINY 0x0d800000u /* 2^-100 */

AVX2 void tk_q8_0_from_float_avx2(const float *src, void *dst, int64_t n) {
    tk_block_q8_0 *b = dst;
    const int64_t nb = n / 32;
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * 32;
        __m256 v[4];
        __m256i m = _mm256_setzero_si256();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            /* |x| as bits: for non-negative floats integer order is float
             * order, and inf / NaN compare above every finite value */
            m = _mm256_max_epi32(m, _mm256_and_si256(_mm256_castps_si256(v[k]), abs_mask));
        }
        __m128i m4 = _mm_max_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
        m4 = _mm_max_epi32(m4, _mm_unpackhi_epi64(m4, m4));
        m4 = _mm_max_epi32(m4, _mm_shuffle_epi32(m4, 0x55));
        const uint32_t bits = (uint32_t)_mm_cvtsi128_si32(m4);
        if (bits >= 0x7f800000u || (bits != 0 && bits < Q8_TINY)) {
            tk_q8_0_from_float(x, &b[i], 32);
            continue;
        }
        const float amax = _mm_cvtss_f32(_mm_castsi128_ps(m4));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tk_f32_to_f16(d);
        const __m256 s = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[k], s)));
        /* 4 x 8 int32 -> 32 int8: packs interleave the 128-bit lanes,
         * the permute restores element order */
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        const __m256i o = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)b[i].qs, o);
    }
}

#else
typedef int tk_simd_avx2_empty; /* ISO C wants a translation unit to declare something */
#endif
