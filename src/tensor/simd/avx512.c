/* avx512.c: the dtype kernels of the three AVX-512 levels, compiled with
 * per-function target attributes (avx2.c explains the scheme they share:
 * the reference's arithmetic, several at a time):
 *
 *   avx512      (F, BW, VL)  F32 / F16 dot products: products added by
 *               FMA into 2 x 16 float lanes per row, reduced once per row
 *               (not the reference's double sum: ~1e-7 of sum |w x| away;
 *               the model tests keep their greedy ids); BF16: float
 *               products summed in 2 x 8 double lanes, masked tails (no
 *               scalar remainder); the F16, BF16 and Q8_0 conversions.
 *               Q8_0 / Q4_0 dot products stay AVX2's (dtype.c's table).
 *   avx512vnni  Q8_0 x Q8_0 and Q4_0 x Q8_0 with vpdpbusd: vec_dot on 256
 *               bits (one block per register), vec_dot_rows 16 rows at a
 *               time on 512 bits, row r in lane r (see quant_dot16):
 *               exact int32 block sums, scaled as the reference, added in
 *               block order, so bit-identical to it. The unsigned operand
 *               is w + 128 (Q8_0) or q (Q4_0); the activation's part
 *               (128 * sum x, 8 * sum x) is computed once per block for all
 *               rows, which makes both exact for every byte of either
 *               operand.
 *   avx512bf16  BF16 x BF16 with vdpbf16ps: pairs of products added into
 *               16 float lanes, as llama.cpp does on such CPUs. Not
 *               bit-identical: within 1e-5 of the reference relative to
 *               sum |w x| (the hardware also flushes subnormals, which
 *               products of realistic weights and activations never are).
 *
 * Matrix x vector reads each weight once, so these kernels run at memory
 * speed only if enough of the matrix is on its way: the _rows kernels
 * prefetch the rows after the ones they read as one linear stream, at the
 * pace they read (into L2; measured on a 2-core Sapphire Rapids VM, 1
 * thread: F16 13 -> 15.8 GB/s, Q8_0 10 -> 13.5, Q4_0 8 -> 13 of 16.7).
 * The packed Q8_0 / Q4_0 kernels read two far-apart groups of 16 rows at
 * once (two streams): on a 2-core Zen 5 VM one stream read at ~75-80% of
 * two (a plain xor read loop: 26 vs 35 GB/s; the Q4_0 kernel, 1 GiB of
 * packed weights, prefetch kept: 71% -> 107-114% of the one-stream read).
 *
 * from_float gives exactly the bytes of the scalar reference (as avx2.c). */
#include "simd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define BF16X __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16")))
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 4")
#define MAXR 4 /* rows per step of the _rows kernels */

enum { F32, F16, BF16 };

/* Software prefetch of weight rows (see the top): PFEXTRA / FPFEXTRA bytes
 * beyond the rows after the ones being read (quantized / float kernels),
 * every PFSTEP-th byte, into L2 (T1 beat T0 and fewer lines: 13 vs 11 GB/s
 * on Q4_0). -D overrides are for tuning. */
#ifndef PFEXTRA
#define PFEXTRA 2048
#endif
#ifndef PFSTEP
#define PFSTEP 64
#endif
#ifndef FPFEXTRA
#define FPFEXTRA 2048
#endif
#ifndef PFHINT
#define PFHINT _MM_HINT_T1
#endif

/* ---- vocabulary ------------------------------------------------------------ */

/* Up to 16 elements (mask m) of a float row of kind k at element i, as
 * floats; masked-off lanes are 0 and their memory is not touched. */
INLINE AVX512 __m512 load16(int k, const void *p, int64_t i, __mmask16 m) {
    if (k == F32) return _mm512_maskz_loadu_ps(m, (const float *)p + i);
    const __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i);
    if (k == F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

INLINE AVX512 __m512 full16(int k, const void *p, int64_t i) {
    if (k == F32) return _mm512_loadu_ps((const float *)p + i);
    const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i));
    if (k == F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* 16 elements of a weight row: as full16, but F32 as two 256-bit halves.
 * GGUF aligns tensor data to 32 bytes, not 64, so a 512-bit load from a
 * row can straddle two cache lines, and straddling loads cost read
 * bandwidth: a 553 MB F32 matrix, 1 thread, Zen 5: 23 GB/s at 32 mod 64
 * against 33 at 64 mod 64; as halves 33 at either. Same lanes, same bits.
 * (F16 and BF16 rows are read 32 bytes per 16 elements already; the
 * vdpbf16ps kernel reads 32 BF16 elements as two halves, bf16_wpairs.) */
INLINE AVX512 __m512i halves512(const void *p) { /* the 64 bytes at p, as two 256-bit loads */
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)p + 1), 1);
}
INLINE AVX512 __m512 wfull16(int k, const void *p, int64_t i) {
    return k == F32 ? _mm512_castsi512_ps(halves512((const float *)p + i)) : full16(k, p, i);
}

INLINE AVX512 __mmask16 mask16(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

/* ---- F32, F16, BF16: dot products ----------------------------------------- */

/* As avx2.c's float_dot: float products summed in double, here 2 x 8
 * double lanes per row, 16 elements per step, the tail masked. */
INLINE AVX512 void float_dot(int k, int K, int64_t n, const char *w, size_t stride, const void *x, float *out) {
    __m512d lo[MAXR], hi[MAXR];
    UNROLL for (int r = 0; r < K; r++) lo[r] = hi[r] = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = mask16(n - i);
        const __m512 x0 = m == 0xffff ? full16(k, x, i) : load16(k, x, i, m);
        UNROLL for (int r = 0; r < K; r++) {
            const char *row = w + (size_t)r * stride;
            const __m512 p = _mm512_mul_ps(m == 0xffff ? wfull16(k, row, i) : load16(k, row, i, m), x0);
            lo[r] = _mm512_add_pd(lo[r], _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
            hi[r] = _mm512_add_pd(hi[r], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1))));
        }
    }
    UNROLL for (int r = 0; r < K; r++) out[r] = (float)_mm512_reduce_add_pd(_mm512_add_pd(lo[r], hi[r]));
}

/* F32 and F16: float products added into float lanes by FMA, two
 * accumulators of 16 lanes per row, reduced once at the end of the row.
 * Not the reference's double sum: within ~1e-7 of it relative to
 * sum |w x| (test_simd checks 1e-5); the model tests give the scalar
 * level's greedy ids at every level. The same per-row arithmetic for every
 * K and NG, so vec_dot and vec_dot_rows agree bit for bit.
 *
 * NG (1 or 2) groups of K rows at once, group s at ws[s], each read as
 * its own stream (as packed_dot16: one stream per thread reads at ~75% of
 * two far-apart ones on Zen 5), each prefetching the K rows after it. */
INLINE AVX512 void float_dot_f(int k, int NG, int K, int64_t n, const char *const *ws, size_t stride, const void *x,
                               float *const *outs) {
    __m512 a0[2][MAXR], a1[2][MAXR];
    UNROLL for (int s = 0; s < NG; s++) UNROLL for (int r = 0; r < K; r++) a0[s][r] = a1[s][r] = _mm512_setzero_ps();
    const size_t esz = k == F32 ? 4 : 2;
    const char *w[2] = {ws[0], ws[NG - 1]};
    /* the next K rows, one after the other, at the pace this step reads */
    const uintptr_t pf[2] = {(uintptr_t)w[0] + (size_t)K * stride + FPFEXTRA, (uintptr_t)w[1] + (size_t)K * stride + FPFEXTRA};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 x0 = full16(k, x, i), x1 = full16(k, x, i + 16);
        UNROLL for (int s = 0; s < NG; s++) {
            if (K == MAXR) {
                const char *f = (const char *)(pf[s] + (size_t)i * esz * MAXR);
                _mm_prefetch(f, PFHINT), _mm_prefetch(f + 64, PFHINT), _mm_prefetch(f + 128, PFHINT), _mm_prefetch(f + 192, PFHINT);
                if (k == F32) {
                    _mm_prefetch(f + 256, PFHINT), _mm_prefetch(f + 320, PFHINT), _mm_prefetch(f + 384, PFHINT), _mm_prefetch(f + 448, PFHINT);
                }
            }
            UNROLL for (int r = 0; r < K; r++) {
                const char *row = w[s] + (size_t)r * stride;
                a0[s][r] = _mm512_fmadd_ps(wfull16(k, row, i), x0, a0[s][r]);
                a1[s][r] = _mm512_fmadd_ps(wfull16(k, row, i + 16), x1, a1[s][r]);
            }
        }
    }
    for (; i < n; i += 16) {
        const __mmask16 m = mask16(n - i);
        const __m512 x0 = load16(k, x, i, m);
        UNROLL for (int s = 0; s < NG; s++) UNROLL for (int r = 0; r < K; r++)
            a0[s][r] = _mm512_fmadd_ps(load16(k, w[s] + (size_t)r * stride, i, m), x0, a0[s][r]);
    }
    UNROLL for (int s = 0; s < NG; s++) UNROLL for (int r = 0; r < K; r++)
        outs[s][r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[s][r], a1[s][r]));
}

INLINE AVX512 void float_dot_f1(int k, int K, int64_t n, const char *w, size_t stride, const void *x, float *out) {
    const char *ws[1] = {w};
    float *outs[1] = {out};
    float_dot_f(k, 1, K, n, ws, stride, x, outs);
}

/* nrows rows in blocks of MAXR: blocks b and b + half together (two
 * streams), an odd block alone, then the last MAXR rows again (same bits)
 * or, under MAXR rows, one at a time. */
INLINE AVX512 void float_rows_f(int k, int64_t n, const char *p, size_t stride, const void *x, float *out, int64_t nrows) {
    const int64_t nb = nrows / MAXR, half = nb / 2;
    for (int64_t b = 0; b < half; b++) {
        const char *ws[2] = {p + (size_t)(b * MAXR) * stride, p + (size_t)((b + half) * MAXR) * stride};
        float *outs[2] = {out + b * MAXR, out + (b + half) * MAXR};
        float_dot_f(k, 2, MAXR, n, ws, stride, x, outs);
    }
    if (nb & 1) float_dot_f1(k, MAXR, n, p + (size_t)((nb - 1) * MAXR) * stride, stride, x, out + (nb - 1) * MAXR);
    if (nb * MAXR == nrows) return;
    if (nb) float_dot_f1(k, MAXR, n, p + (size_t)(nrows - MAXR) * stride, stride, x, out + nrows - MAXR);
    else
        for (int64_t r = 0; r < nrows; r++) float_dot_f1(k, 1, n, p + (size_t)r * stride, stride, x, out + r);
}

#define FLOAT_KERNELS(type, k)                                                                   \
    AVX512 float tk_##type##_vec_dot_avx512(int64_t n, const void *w, const void *x) {           \
        float out;                                                                               \
        float_dot_f1(k, 1, n, w, 0, x, &out);                                                    \
        return out;                                                                              \
    }                                                                                            \
    AVX512 void tk_##type##_vec_dot_rows_avx512(int64_t n, const void *w, size_t stride, const void *x, \
                                                float *out, int64_t nrows) {                     \
        float_rows_f(k, n, w, stride, x, out, nrows);                                            \
    }
FLOAT_KERNELS(f32, F32)
FLOAT_KERNELS(f16, F16)

/* BF16 at this level: products summed in double (float_dot), 4 rows at a time. */
AVX512 float tk_bf16_vec_dot_avx512(int64_t n, const void *w, const void *x) {
    float out;
    float_dot(BF16, 1, n, w, 0, x, &out);
    return out;
}
AVX512 void tk_bf16_vec_dot_rows_avx512(int64_t n, const void *w, size_t stride, const void *x, float *out, int64_t nrows) {
    const char *p = w;
    int64_t r = 0;
    for (; r + MAXR <= nrows; r += MAXR) float_dot(BF16, MAXR, n, p + (size_t)r * stride, stride, x, out + r);
    if (r < nrows && nrows >= MAXR) /* the last MAXR rows again: same bits */
        float_dot(BF16, MAXR, n, p + (size_t)(nrows - MAXR) * stride, stride, x, out + nrows - MAXR);
    else
        for (; r < nrows; r++) float_dot(BF16, 1, n, p + (size_t)r * stride, stride, x, out + r);
}

/* BF16 with vdpbf16ps: 32 elements (16 pairs) per instruction. */
INLINE BF16X __m512bh bf16_pairs(const void *p, int64_t i, __mmask32 m) {
    return (__m512bh)_mm512_maskz_loadu_epi16(m, (const uint16_t *)p + i);
}

/* 32 elements of a weight row as two 256-bit halves (wfull16 says why) */
INLINE BF16X __m512bh bf16_wpairs(const void *p, int64_t i) { return (__m512bh)halves512((const uint16_t *)p + i); }

INLINE BF16X void bf16_dot(int K, int64_t n, const char *w, size_t stride, const void *x, float *out) {
    __m512 a0[MAXR], a1[MAXR];
    UNROLL for (int r = 0; r < K; r++) a0[r] = a1[r] = _mm512_setzero_ps();
    const __mmask32 all = 0xffffffffu;
    int64_t i = 0;
    const uintptr_t pf = (uintptr_t)w + (size_t)K * stride + FPFEXTRA; /* as float_dot_f */
    for (; i + 64 <= n; i += 64) {
        const __m512bh x0 = bf16_pairs(x, i, all), x1 = bf16_pairs(x, i + 32, all);
        if (K == MAXR) {
            const char *f = (const char *)(pf + (size_t)i * 2 * MAXR);
            _mm_prefetch(f, PFHINT), _mm_prefetch(f + 64, PFHINT), _mm_prefetch(f + 128, PFHINT), _mm_prefetch(f + 192, PFHINT);
            _mm_prefetch(f + 256, PFHINT), _mm_prefetch(f + 320, PFHINT), _mm_prefetch(f + 384, PFHINT), _mm_prefetch(f + 448, PFHINT);
        }
        UNROLL for (int r = 0; r < K; r++) {
            const char *row = w + (size_t)r * stride;
            a0[r] = _mm512_dpbf16_ps(a0[r], bf16_wpairs(row, i), x0);
            a1[r] = _mm512_dpbf16_ps(a1[r], bf16_wpairs(row, i + 32), x1);
        }
    }
    for (; i < n; i += 32) {
        const int64_t left = n - i;
        const __mmask32 m = left >= 32 ? all : (__mmask32)((1u << left) - 1);
        const __m512bh x0 = bf16_pairs(x, i, m);
        UNROLL for (int r = 0; r < K; r++) a0[r] = _mm512_dpbf16_ps(a0[r], bf16_pairs(w + (size_t)r * stride, i, m), x0);
    }
    UNROLL for (int r = 0; r < K; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
}

BF16X float tk_bf16_vec_dot_avx512bf16(int64_t n, const void *w, const void *x) {
    float out;
    bf16_dot(1, n, w, 0, x, &out);
    return out;
}

BF16X void tk_bf16_vec_dot_rows_avx512bf16(int64_t n, const void *w, size_t stride, const void *x, float *out,
                                           int64_t nrows) {
    const char *p = w;
    int64_t r = 0;
    for (; r + MAXR <= nrows; r += MAXR) bf16_dot(MAXR, n, p + (size_t)r * stride, stride, x, out + r);
    for (; r < nrows; r++) bf16_dot(1, n, p + (size_t)r * stride, stride, x, out + r);
}

/* ---- Q8_0 x Q8_0, Q4_0 x Q8_0 with VNNI ------------------------------------ */

/* s + t0 + t1 + t2 + t3, left to right in float: the reference's order
 * (one dependent add per block; the _rows kernels interleave 4 rows). */
INLINE VNNI float add_in_order(float s, __m128 t) {
    s += _mm_cvtss_f32(t);
    s += _mm_cvtss_f32(_mm_shuffle_ps(t, t, 1));
    s += _mm_cvtss_f32(_mm_movehl_ps(t, t));
    s += _mm_cvtss_f32(_mm_shuffle_ps(t, t, 3));
    return s;
}

INLINE VNNI int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
    return _mm_cvtsi128_si32(s);
}

/* [sum a, sum b, sum c, sum d] of four vectors of 8 int32, exact. */
INLINE VNNI __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/* An activation block and the negated sums that remove the unsigned
 * operand's offset: -c * (x0 + x1 + x2 + x3) per int32 lane. */
typedef struct { __m256i x, neg; } xblock;

INLINE VNNI xblock xload(const tk_block_q8_0 *b, char c) {
    xblock r;
    r.x = _mm256_loadu_si256((const __m256i *)b->qs);
    r.neg = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(c), r.x));
    return r;
}

/* 8 int32 lanes summing to sum_j w[j] * x[j]: (w + 128) . x - 128 . x */
INLINE VNNI __m256i dot_q8(const tk_block_q8_0 *a, xblock x) {
    const __m256i w = _mm256_loadu_si256((const __m256i *)a->qs);
    return _mm256_dpbusd_epi32(x.neg, _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80)), x.x);
}

/* sum_j (q[j] - 8) * x[j]: q . x - 8 . x */
INLINE VNNI __m256i dot_q4(const tk_block_q4_0 *a, xblock x) {
    /* both lanes hold the 16 bytes (a load, no shuffle); the high lane is
     * shifted right by 4 to bring the high nibbles down */
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)a->qs));
    const __m256i qq = _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0f));
    return _mm256_dpbusd_epi32(x.neg, qq, x.x);
}

INLINE VNNI __m256i dot_block(int Q4, const char *a, xblock x) {
    return Q4 ? dot_q4((const tk_block_q4_0 *)a, x) : dot_q8((const tk_block_q8_0 *)a, x);
}

/* The f16 scale that starts every block (Q8_0 and Q4_0 alike). */
INLINE VNNI short dbits(const void *block) { return (short)*(const uint16_t *)block; }

INLINE VNNI __m128 halves4(short a, short b, short c, short d) {
    return _mm_cvtph_ps(_mm_setr_epi16(a, b, c, d, 0, 0, 0, 0));
}

/* The reference's block terms from exact block sums and the two scales:
 * Q8_0 isum * (dw * dx), Q4_0 (isum * dw) * dx. */
INLINE VNNI __m128 terms(int Q4, __m128i isum, __m128 dw, __m128 dx) {
    const __m128 s = _mm_cvtepi32_ps(isum);
    return Q4 ? _mm_mul_ps(_mm_mul_ps(s, dw), dx) : _mm_mul_ps(s, _mm_mul_ps(dw, dx));
}

/* One row: 4 blocks per step, their terms added in order (as avx2.c). */
INLINE VNNI float quant_dot1(int Q4, int64_t n, const char *w, const tk_block_q8_0 *x) {
    const int64_t nb = n / 32;
    const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
    const char c = Q4 ? 8 : (char)0x80;
    float sum = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const char *a = w + (size_t)i * wb;
        const xblock x0 = xload(x + i, c), x1 = xload(x + i + 1, c), x2 = xload(x + i + 2, c), x3 = xload(x + i + 3, c);
        const __m128i s = hsum4_epi32(dot_block(Q4, a, x0), dot_block(Q4, a + wb, x1), dot_block(Q4, a + 2 * wb, x2),
                                      dot_block(Q4, a + 3 * wb, x3));
        const __m128 dw = halves4(dbits(a), dbits(a + wb), dbits(a + 2 * wb), dbits(a + 3 * wb));
        const __m128 dx = halves4(dbits(x + i), dbits(x + i + 1), dbits(x + i + 2), dbits(x + i + 3));
        sum = add_in_order(sum, terms(Q4, s, dw, dx));
    }
    for (; i < nb; i++) {
        const char *a = w + (size_t)i * wb;
        const __m128i s = _mm_cvtsi32_si128(hsum_epi32(dot_block(Q4, a, xload(x + i, c))));
        sum += _mm_cvtss_f32(terms(Q4, s, halves4(dbits(a), 0, 0, 0), halves4(dbits(x + i), 0, 0, 0)));
    }
    return sum;
}

/* Weight rows are read 18 or 34 bytes per block and row, too little work
 * per byte for the out-of-order window alone to keep enough cache misses
 * in flight: fetch each row 512 bytes ahead (measured on a 1 GB Q4_0
 * matrix, 2 threads: 13 -> 17 GB/s; Q8_0 22 -> 24 GB/s). */
#define PREFETCH_AHEAD 512
INLINE VNNI void prefetch4(const char *a, const char *b, const char *c, const char *d) {
    _mm_prefetch(a + PREFETCH_AHEAD, _MM_HINT_T0);
    _mm_prefetch(b + PREFETCH_AHEAD, _MM_HINT_T0);
    _mm_prefetch(c + PREFETCH_AHEAD, _MM_HINT_T0);
    _mm_prefetch(d + PREFETCH_AHEAD, _MM_HINT_T0);
}

/* Four rows, lane r = row r, block after block (as avx2.c). */
INLINE VNNI void quant_dot4(int Q4, int64_t n, const char *w, size_t stride, const tk_block_q8_0 *x, float *out) {
    const int64_t nb = n / 32;
    const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
    const char c = Q4 ? 8 : (char)0x80;
    const char *r0 = w, *r1 = w + stride, *r2 = w + 2 * stride, *r3 = w + 3 * stride;
    __m128 sum = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const size_t o = (size_t)i * wb;
        prefetch4(r0 + o, r1 + o, r2 + o, r3 + o);
        const xblock xb = xload(x + i, c);
        const __m128i s = hsum4_epi32(dot_block(Q4, r0 + o, xb), dot_block(Q4, r1 + o, xb), dot_block(Q4, r2 + o, xb),
                                      dot_block(Q4, r3 + o, xb));
        const __m128 dw = halves4(dbits(r0 + o), dbits(r1 + o), dbits(r2 + o), dbits(r3 + o));
        const __m128 dx = _mm_set1_ps(_cvtsh_ss((unsigned short)dbits(x + i)));
        sum = _mm_add_ps(sum, terms(Q4, s, dw, dx));
    }
    _mm_storeu_ps(out, sum);
}

/* Sixteen rows, lane r of every 512-bit vector = row r, block after block:
 * each lane adds its row's terms in block order, so every row is the
 * reference's arithmetic, bit for bit. Per block:
 *
 *   Q4_0  four vectors of 4 rows x 16 bytes (one 128-bit lane per row),
 *         low and high nibbles each against their half of the activation
 *         block (broadcast to the 4 lanes): 4 int32 partials per row
 *   Q8_0  eight vectors of 2 rows x 32 bytes: 8 partials per row, folded
 *         to 4 by one 128-bit-lane shuffle per pair of vectors
 *
 * then the 4-partial vectors are reduced and transposed at once (unpack
 * 32, unpack 64, adds: exact in int32) into one vector of 16 block sums,
 * the 16 weight scales come in by one gather, and one float multiply-add
 * step per block covers all 16 rows. Vector g (of 4) holds rows 4k + g in
 * its 128-bit lane k, which the unpacks put in lane 4k + g: row order.
 * Rows are at a uniform stride; PREFETCH16 bytes ahead of each. */


INLINE VNNI __m512i lanes4(const char *p, size_t s4, size_t s8, size_t s12) { /* 16 bytes each of 4 rows */
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + s4)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + s8)), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + s12)), 3);
}

INLINE VNNI __m512i lanes2(const char *p, const char *q) { /* 32 bytes of p, then of q */
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)q), 1);
}

/* [a, b, c, d] (4 int32 partials of one row per 128-bit lane) -> lane
 * 4k + j = sum of the 4 partials in lane k of the j-th vector. */
INLINE VNNI __m512i reduce4x4(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
}

/* Two vectors of 2 rows x 8 partials -> 4 rows x 4 partials:
 * [a.lo, a.hi, b.lo, b.hi], each row's partials 0-3 plus 4-7. */
INLINE VNNI __m512i fold8(__m512i a, __m512i b) {
    return _mm512_add_epi32(_mm512_shuffle_i64x2(a, b, 0x88), _mm512_shuffle_i64x2(a, b, 0xdd));
}

/* What every 16-row step needs of activation block i, computed once per
 * call: its scale as a float, and -c * sum x (c = 8 for Q4_0, 128 for
 * Q8_0), which turns the sums of q . x (unsigned q) into the signed ones. */
#define XPREP_MAX 1024 /* blocks: rows of up to 32768 elements */
typedef struct { float d[XPREP_MAX]; int32_t corr[XPREP_MAX]; } xprep;

INLINE VNNI void xprepare(int Q4, int64_t nb, const tk_block_q8_0 *x, xprep *xp) {
    const __m256i c = _mm256_set1_epi8(Q4 ? 8 : (char)0x80);
    for (int64_t i = 0; i < nb; i++) {
        xp->d[i] = _cvtsh_ss((unsigned short)dbits(x + i));
        xp->corr[i] = -hsum_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), c, _mm256_loadu_si256((const __m256i *)x[i].qs)));
    }
}

INLINE VNNI void quant_dot16(int Q4, int64_t n, const char *w, size_t stride, const tk_block_q8_0 *x, const xprep *xp,
                             float *out) {
    const int64_t nb = n / 32;
    const size_t wb = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
    const size_t s4 = 4 * stride, s8 = 8 * stride, s12 = 12 * stride;
    /* rows 0..3 at block i (past the scale); rows 4g + k are at + k * s4 */
    const char *r0 = w + 2, *r1 = r0 + stride, *r2 = r1 + stride, *r3 = r2 + stride;
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)stride));
    const __m512i m4 = _mm512_set1_epi8(0x0f), bias = _mm512_set1_epi8((char)0x80);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++, r0 += wb, r1 += wb, r2 += wb, r3 += wb) {
        const char *p = r0 - 2; /* block i of row 0 */
        const char *rg[4] = {r0, r1, r2, r3};
        {
            /* the next 16 rows as one linear stream, as fast as these are read */
            const uintptr_t f0 = (uintptr_t)w + PFEXTRA + 16 * stride + (size_t)i * 16 * wb;
            for (uintptr_t f = (f0 + PFSTEP - 1) & ~(uintptr_t)(PFSTEP - 1); f < f0 + 16 * wb; f += PFSTEP)
                _mm_prefetch((const char *)f, PFHINT);
        }
        const char *xq = (const char *)x[i].qs;
        __m512i acc[4];
        if (Q4) {
            const __m512i xl = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)xq));
            const __m512i xh = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(xq + 16)));
            UNROLL for (int g = 0; g < 4; g++) {
                const __m512i q = lanes4(rg[g], s4, s8, s12);
                const __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
                acc[g] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xl), hi, xh);
            }
        } else {
            const __m512i xx = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)xq));
            UNROLL for (int g = 0; g < 4; g++) {
                const char *a = rg[g];
                const __m512i u = _mm512_xor_si512(lanes2(a, a + s4), bias);
                const __m512i v = _mm512_xor_si512(lanes2(a + s8, a + s12), bias);
                acc[g] = fold8(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u, xx), _mm512_dpbusd_epi32(_mm512_setzero_si512(), v, xx));
            }
        }
        const __m512i s = _mm512_add_epi32(reduce4x4(acc[0], acc[1], acc[2], acc[3]), _mm512_set1_epi32(xp->corr[i]));
        const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx, p, 1)));
        const __m512 dx = _mm512_set1_ps(xp->d[i]);
        const __m512 f = _mm512_cvtepi32_ps(s);
        sum = _mm512_add_ps(sum, Q4 ? _mm512_mul_ps(_mm512_mul_ps(f, dw), dx) : _mm512_mul_ps(f, _mm512_mul_ps(dw, dx)));
    }
    _mm512_storeu_ps(out, sum);
}

/* Blocks of 16 rows; a last partial block is done as the 16 rows that end
 * at the last one (rows computed twice give the same bits). Fewer than 16
 * rows, rows too far apart for the gather's int32 offsets, or rows longer
 * than XPREP_MAX blocks: 4 and 1 at a time. */
INLINE VNNI void quant_rows(int Q4, int64_t n, const char *p, size_t stride, const tk_block_q8_0 *x, float *out,
                            int64_t nrows) {
    int64_t r = 0;
    if (nrows >= 16 && stride <= (size_t)INT32_MAX / 16 && n / 32 <= XPREP_MAX) {
        xprep xp;
        xprepare(Q4, n / 32, x, &xp);
        for (; r + 16 <= nrows; r += 16) quant_dot16(Q4, n, p + (size_t)r * stride, stride, x, &xp, out + r);
        if (r < nrows) quant_dot16(Q4, n, p + (size_t)(nrows - 16) * stride, stride, x, &xp, out + nrows - 16);
        return;
    }
    for (; r + 4 <= nrows; r += 4) quant_dot4(Q4, n, p + (size_t)r * stride, stride, x, out + r);
    for (; r < nrows; r++) out[r] = quant_dot1(Q4, n, p + (size_t)r * stride, x);
}

/* Packed weights (../pack.h): each block of 16 rows is 4 (Q4_0) or 8
 * (Q8_0) 512-bit vectors already in lane-per-row order and the 16 scales
 * in a row, so a block costs its loads, the nibble split, 8 vpdpbusd and
 * the scaling: no inserts, no gather, no horizontal sums. Lane r adds row
 * r's terms in block order: bit-identical to the reference, like
 * quant_dot16. Two accumulators halve the vpdpbusd dependency chain. */
#ifndef PACKED_PF
#define PACKED_PF 2048 /* bytes ahead in the group's linear stream, into L2 (as PFEXTRA) */
#endif
#ifndef PACKED_HINT
#define PACKED_HINT _MM_HINT_T1
#endif
/* A packed block is 288 (Q4_0) or 544 (Q8_0) bytes, 32 mod 64, so every
 * other block's vectors straddle two cache lines (wfull16). Q4_0 reads
 * them as 256-bit halves (1 GiB packed, 1 thread, Zen 5, interleaved:
 * 24-27 -> 25-30 GB/s, better in 6 of 7 pairs); Q8_0, with twice the
 * loads per block, was no faster that way (27.7 -> 26.8). */
INLINE VNNI __m512i pload(int Q4, const char *p) { return Q4 ? halves512(p) : _mm512_loadu_si512(p); }
INLINE VNNI __m512i bcast_dw(const int8_t *p) { /* activation blocks are 2-byte aligned */
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}
/* NG (1 or 2) groups at once, each its own stream: on Zen 5 one stream
 * per thread reads at ~75% of two far-apart ones (the note at the top) */
INLINE VNNI void packed_dot16(int Q4, int NG, int64_t nb, const char *const *gs, const tk_block_q8_0 *x, const xprep *xp,
                              float *const *outs) {
    const size_t pb = Q4 ? 16 * sizeof(tk_block_q4_0) : 16 * sizeof(tk_block_q8_0);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const char *g[2] = {gs[0], gs[NG - 1]};
    __m512 sum[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < nb; i++, g[0] += pb, g[1] += pb) {
        const int8_t *xq = x[i].qs;
        const __m512 dx = _mm512_set1_ps(xp->d[i]);
        UNROLL for (int s = 0; s < NG; s++) {
            for (size_t k = 0; k < pb; k += 64) _mm_prefetch(g[s] + PACKED_PF + k, PACKED_HINT);
            __m512i a0 = _mm512_set1_epi32(xp->corr[i]), a1 = _mm512_setzero_si512();
            if (Q4) {
                UNROLL for (int j = 0; j < 4; j++) {
                    const __m512i v = pload(Q4, g[s] + 32 + 64 * j);
                    a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(v, m4), bcast_dw(xq + 4 * j));
                    a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), bcast_dw(xq + 16 + 4 * j));
                }
            } else {
                UNROLL for (int j = 0; j < 8; j += 2) {
                    a0 = _mm512_dpbusd_epi32(a0, pload(Q4, g[s] + 32 + 64 * j), bcast_dw(xq + 4 * j));
                    a1 = _mm512_dpbusd_epi32(a1, pload(Q4, g[s] + 96 + 64 * j), bcast_dw(xq + 4 * j + 4));
                }
            }
            const __m512 f = _mm512_cvtepi32_ps(_mm512_add_epi32(a0, a1));
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)g[s]));
            sum[s] = _mm512_add_ps(sum[s], Q4 ? _mm512_mul_ps(_mm512_mul_ps(f, dw), dx) : _mm512_mul_ps(f, _mm512_mul_ps(dw, dx)));
        }
    }
    UNROLL for (int s = 0; s < NG; s++) _mm512_storeu_ps(outs[s], sum[s]);
}

/* ngroups groups of 16 rows, rb bytes per (file) row, from P: groups g and
 * g + half together (two streams), the odd one alone. Each row's sums are
 * the same whichever way: bit-identical. */
INLINE VNNI void packed_rows(int Q4, int64_t n, const char *P, size_t rb, const tk_block_q8_0 *x, float *out,
                             int64_t ngroups) {
    xprep xp;
    xprepare(Q4, n / 32, x, &xp);
    const int64_t half = ngroups / 2;
    for (int64_t g = 0; g < half; g++) {
        const char *gs[2] = {P + (size_t)g * 16 * rb, P + (size_t)(g + half) * 16 * rb};
        float *outs[2] = {out + 16 * g, out + 16 * (g + half)};
        packed_dot16(Q4, 2, n / 32, gs, x, &xp, outs);
    }
    if (ngroups & 1) {
        const char *gs[1] = {P + (size_t)(ngroups - 1) * 16 * rb};
        float *outs[1] = {out + 16 * (ngroups - 1)};
        packed_dot16(Q4, 1, n / 32, gs, x, &xp, outs);
    }
}

VNNI void tk_q8_0_packed_rows_avx512vnni(int64_t n, const void *P, size_t rb, const void *x, float *out, int64_t ngroups) {
    packed_rows(0, n, P, rb, x, out, ngroups);
}
VNNI void tk_q4_0_packed_rows_avx512vnni(int64_t n, const void *P, size_t rb, const void *x, float *out, int64_t ngroups) {
    packed_rows(1, n, P, rb, x, out, ngroups);
}

/* Packing (../pack.h) for one group of 16 rows, blocks [0, nb): the
 * scalar tk_pack_rows's bytes, by 4 x 4 dword transposes. Per 16-byte
 * half of a block (Q4_0 has one, Q8_0 two): vector k holds rows 4k..4k+3
 * (a 128-bit lane each); two rounds of unpacks give vector j = dword j of
 * every row with row 4m + i at 4i + m, and one vpermd puts row r at r. */
INLINE VNNI void pack_half(const char *p, size_t rb, int off, int flip, char *dst) {
    __m512i v[4];
    for (int k = 0; k < 4; k++) v[k] = lanes4(p + 4 * (size_t)k * rb + off, rb, 2 * rb, 3 * rb);
    const __m512i a = _mm512_unpacklo_epi32(v[0], v[1]), b = _mm512_unpackhi_epi32(v[0], v[1]);
    const __m512i c = _mm512_unpacklo_epi32(v[2], v[3]), d = _mm512_unpackhi_epi32(v[2], v[3]);
    const __m512i t[4] = {_mm512_unpacklo_epi64(a, c), _mm512_unpackhi_epi64(a, c), _mm512_unpacklo_epi64(b, d),
                          _mm512_unpackhi_epi64(b, d)};
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i x = _mm512_set1_epi8(flip ? (char)0x80 : 0);
    for (int j = 0; j < 4; j++) _mm512_storeu_si512(dst + 64 * j, _mm512_xor_si512(_mm512_permutexvar_epi32(idx, t[j]), x));
}

VNNI void tk_pack16_avx512vnni(int q4, const void *W, size_t rb, int64_t nb, void *P) {
    const size_t bs = q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0), pb = 16 * bs;
    const char *w = W;
    char *out = P;
    for (int64_t i = 0; i < nb; i++, out += pb) {
        const char *b = w + (size_t)i * bs;
        for (int r = 0; r < 16; r++) memcpy(out + 2 * r, b + (size_t)r * rb, 2);
        pack_half(b + 2, rb, 0, !q4, out + 32);
        if (!q4) pack_half(b + 2, rb, 16, 1, out + 32 + 256);
    }
}

#define QUANT_KERNELS(type, q4)                                                                  \
    VNNI float tk_##type##_vec_dot_avx512vnni(int64_t n, const void *w, const void *x) {         \
        return quant_dot1(q4, n, w, x);                                                          \
    }                                                                                            \
    VNNI void tk_##type##_vec_dot_rows_avx512vnni(int64_t n, const void *w, size_t stride, const void *x, \
                                                  float *out, int64_t nrows) {                   \
        quant_rows(q4, n, w, stride, x, out, nrows);                                             \
    }
QUANT_KERNELS(q8_0, 0)
QUANT_KERNELS(q4_0, 1)

/* ---- conversions ------------------------------------------------------------- */

AVX512 void tk_f16_from_float_avx512(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = mask16(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, src + i);
        const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        /* NaN: the reference gives sign | 0x7e00 whatever the payload */
        const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        const __m256i canon = _mm256_or_si256(_mm256_and_si256(h, _mm256_set1_epi16((short)0x8000)), _mm256_set1_epi16(0x7e00));
        _mm256_mask_storeu_epi16(d + i, m, _mm256_mask_blend_epi16(nan, h, canon));
    }
}

AVX512 void tk_bf16_from_float_avx512(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = mask16(n - i);
        const __m512i u = _mm512_maskz_loadu_epi32(m, src + i);
        const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd), 16);
        const __m512i q = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
        const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
        _mm256_mask_storeu_epi16(d + i, m, _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, r, q)));
    }
}

/* roundf (ties away from zero) for |v| < 2^23, as avx2.c's round_away. */
INLINE AVX512 __m512 round_away(__m512 v) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 frac = _mm512_castsi512_ps(_mm512_andnot_si512(sign, _mm512_castps_si512(_mm512_sub_ps(v, t))));
    const __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), sign),
                                                           _mm512_castps_si512(_mm512_set1_ps(1.0f))));
    return _mm512_mask_add_ps(t, up, t, one);
}

#define Q8_TINY 0x0d800000u /* 2^-100: below it (or at inf / NaN) the reference decides */

AVX512 void tk_q8_0_from_float_avx512(const float *src, void *dst, int64_t n) {
    tk_block_q8_0 *b = dst;
    const int64_t nb = n / 32;
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * 32;
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const __m512i m = _mm512_max_epu32(_mm512_and_si512(_mm512_castps_si512(v0), abs_mask),
                                           _mm512_and_si512(_mm512_castps_si512(v1), abs_mask));
        const uint32_t bits = _mm512_reduce_max_epu32(m);
        if (bits >= 0x7f800000u || (bits != 0 && bits < Q8_TINY)) {
            tk_q8_0_from_float(x, &b[i], 32);
            continue;
        }
        const float amax = _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128((int)bits)));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tk_f32_to_f16(d);
        const __m512 s = _mm512_set1_ps(id);
        const __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(round_away(_mm512_mul_ps(v0, s))));
        const __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(round_away(_mm512_mul_ps(v1, s))));
        _mm_storeu_si128((__m128i *)b[i].qs, q0);
        _mm_storeu_si128((__m128i *)(b[i].qs + 16), q1);
    }
}

#else
typedef int tk_simd_avx512_empty; /* ISO C wants a translation unit to declare something */
#endif
