/* avx2.c: the dtype kernels for AVX2 + FMA + F16C (Haswell, Zen 1 and
 * later), compiled with per-function target attributes so the rest of the
 * binary stays baseline x86-64.
 *
 * The rule every kernel here keeps: the same arithmetic as the scalar
 * reference (dtype_float.c, dtype_q.c), so the results are the same bits,
 * only computed several at a time.
 *
 *   F32, F16, BF16   widen 8 elements to float, multiply in float (as the
 *                    reference forms each product; exact for F16 and
 *                    BF16), add into double accumulators (the reference
 *                    sums in double): equal to the reference up to the
 *                    order of double additions, so the float result is the
 *                    same but for a double rounding (never seen in tests).
 *   Q8_0 x Q8_0      per block an exact int32 sum: maddubs(|w|, x*sign(w))
 *                    then madd with ones, the 8 int32 lanes reduced (hadd)
 *                    to the block sum; scaled as the reference scales it,
 *                    (float)isum * (dw*dx), and added in block order:
 *                    bit-identical to the reference.
 *   Q4_0 x Q8_0      the same with q in 0..15 unsigned:
 *                    isum = sum q*x - 8 * sum x, scaled (isum*dw)*dx.
 *
 * Every `_rows` kernel takes weight rows 4 at a time against one activation
 * row, loading each activation block once for the 4; the quantized ones
 * keep row r in lane r, so each row still adds its terms in block order.
 * Each row's result is the one vec_dot gives.
 *
 * Precondition of Q8_0 x Q8_0: activation bytes are in [-127, 127] (what
 * the quantizer produces; the sign trick cannot negate -128); the weights
 * may hold any byte.
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

INLINE AVX2 double hsum_pd(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* s + t0 + t1 + t2 + t3, left to right in float: the reference's order
 * (one dependent add per block; the _rows kernels interleave 4 rows). */
INLINE AVX2 float add_in_order(float s, __m128 t) {
    s += _mm_cvtss_f32(t);
    s += _mm_cvtss_f32(_mm_shuffle_ps(t, t, 1));
    s += _mm_cvtss_f32(_mm_movehl_ps(t, t));
    s += _mm_cvtss_f32(_mm_shuffle_ps(t, t, 3));
    return s;
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
    /* both lanes hold the 16 bytes (a load, no shuffle); the high lane is
     * shifted right by 4 to bring the high nibbles down */
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)a->qs));
    const __m256i qq = _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0f));
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(qq, x), x8);
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

INLINE AVX2 __m256i times8(__m256i x) { return _mm256_maddubs_epi16(_mm256_set1_epi8(8), x); }

/* An activation block, and for Q4_0 its maddubs(8, x). */
typedef struct { __m256i x, e; } xblock;

INLINE AVX2 xblock xload(int Q4, const tk_block_q8_0 *b) {
    xblock r;
    r.x = _mm256_loadu_si256((const __m256i *)b->qs);
    r.e = Q4 ? times8(r.x) : _mm256_setzero_si256();
    return r;
}

INLINE AVX2 __m256i dot_block(int Q4, const char *a, xblock x) {
    return Q4 ? dot_q4((const tk_block_q4_0 *)a, x.x, x.e) : dot_q8((const tk_block_q8_0 *)a, x.x);
}

/* The f16 scale that starts every block (Q8_0 and Q4_0 alike). */
INLINE AVX2 short dbits(const void *block) { return (short)*(const uint16_t *)block; }

INLINE AVX2 __m128 halves4(short a, short b, short c, short d) {
    return _mm_cvtph_ps(_mm_setr_epi16(a, b, c, d, 0, 0, 0, 0));
}

/* The reference's block terms from exact block sums and the two scales:
 * Q8_0 isum * (dw * dx), Q4_0 (isum * dw) * dx. */
INLINE AVX2 __m128 terms(int Q4, __m128i isum, __m128 dw, __m128 dx) {
    const __m128 s = _mm_cvtepi32_ps(isum);
    return Q4 ? _mm_mul_ps(_mm_mul_ps(s, dw), dx) : _mm_mul_ps(s, _mm_mul_ps(dw, dx));
}

/* One row: 4 blocks per step, their terms added in order. */
INLINE AVX2 float quant_dot1(int Q4, int64_t n, const char *w, const tk_block_q8_0 *x) {
    const int64_t nb = n / 32;
    const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
    float sum = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const char *a = w + (size_t)i * wb;
        const xblock x0 = xload(Q4, x + i), x1 = xload(Q4, x + i + 1), x2 = xload(Q4, x + i + 2), x3 = xload(Q4, x + i + 3);
        const __m128i s = hsum4_epi32(dot_block(Q4, a, x0), dot_block(Q4, a + wb, x1), dot_block(Q4, a + 2 * wb, x2),
                                      dot_block(Q4, a + 3 * wb, x3));
        const __m128 dw = halves4(dbits(a), dbits(a + wb), dbits(a + 2 * wb), dbits(a + 3 * wb));
        const __m128 dx = halves4(dbits(x + i), dbits(x + i + 1), dbits(x + i + 2), dbits(x + i + 3));
        sum = add_in_order(sum, terms(Q4, s, dw, dx));
    }
    for (; i < nb; i++) {
        const char *a = w + (size_t)i * wb;
        const __m128i s = _mm_cvtsi32_si128(hsum_epi32(dot_block(Q4, a, xload(Q4, x + i))));
        sum += _mm_cvtss_f32(terms(Q4, s, halves4(dbits(a), 0, 0, 0), halves4(dbits(x + i), 0, 0, 0)));
    }
    return sum;
}

/* Weight rows are read 18 or 34 bytes per block and row, too little work
 * per byte for the out-of-order window alone to keep enough cache misses
 * in flight: fetch each row 512 bytes ahead (measured on a 1 GB Q4_0
 * matrix, 2 threads: 13 -> 17 GB/s; Q8_0 22 -> 24 GB/s). */
#define PREFETCH_AHEAD 512
INLINE AVX2 void prefetch4(const char *a, const char *b, const char *c, const char *d) {
    _mm_prefetch(a + PREFETCH_AHEAD, _MM_HINT_T0);
    _mm_prefetch(b + PREFETCH_AHEAD, _MM_HINT_T0);
    _mm_prefetch(c + PREFETCH_AHEAD, _MM_HINT_T0);
    _mm_prefetch(d + PREFETCH_AHEAD, _MM_HINT_T0);
}

/* Four rows: lane r of every vector is row r, block after block, so each
 * lane adds its row's terms in order; the activation block is loaded once
 * for the four. */
INLINE AVX2 void quant_dot4(int Q4, int64_t n, const char *w, size_t stride, const tk_block_q8_0 *x, float *out) {
    const int64_t nb = n / 32;
    const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
    const char *r0 = w, *r1 = w + stride, *r2 = w + 2 * stride, *r3 = w + 3 * stride;
    __m128 sum = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const size_t o = (size_t)i * wb;
        prefetch4(r0 + o, r1 + o, r2 + o, r3 + o);
        const xblock xb = xload(Q4, x + i);
        const __m128i s = hsum4_epi32(dot_block(Q4, r0 + o, xb), dot_block(Q4, r1 + o, xb), dot_block(Q4, r2 + o, xb),
                                      dot_block(Q4, r3 + o, xb));
        const __m128 dw = halves4(dbits(r0 + o), dbits(r1 + o), dbits(r2 + o), dbits(r3 + o));
        const __m128 dx = _mm_set1_ps(_cvtsh_ss((unsigned short)dbits(x + i)));
        sum = _mm_add_ps(sum, terms(Q4, s, dw, dx));
    }
    _mm_storeu_ps(out, sum);
}

#define QUANT_KERNELS(type, q4)                                                                  \
    AVX2 float tk_##type##_vec_dot_avx2(int64_t n, const void *w, const void *x) {               \
        return quant_dot1(q4, n, w, x);                                                          \
    }                                                                                            \
    AVX2 void tk_##type##_vec_dot_rows_avx2(int64_t n, const void *w, size_t stride, const void *x, \
                                            float *out, int64_t nrows) {                         \
        const char *p = w;                                                                       \
        int64_t r = 0;                                                                           \
        for (; r + 4 <= nrows; r += 4) quant_dot4(q4, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) out[r] = quant_dot1(q4, n, p + (size_t)r * stride, x);            \
    }
QUANT_KERNELS(q8_0, 0)
QUANT_KERNELS(q4_0, 1)

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
