/* avx512_k.c: Q4_K x Q8_K and Q6_K x Q8_K for AVX-512 (F, BW, VL),
 * bit-identical to the scalar reference (dtype_k.c) by the lane scheme of
 * avx2_k.c (read that first): 64 elements per 512-bit step instead of 32.
 *
 * pshufb, maddubs, unpack and madd all work within 128-bit lanes, so the
 * AVX2 scheme carries over: a 512-bit vector holds 64 consecutive
 * elements, 4 lanes of 16, each lane pair-permuted so that maddubs gives
 * the per-lane sums (element k and k+8 of the lane). The activation side
 * is 4 contiguous 64-byte loads per block, permuted once per block for all
 * the rows of a _rows call:
 *
 *   Q4_K: 32 bytes of qs hold sub-blocks 2c (low nibbles) and 2c+1 (high
 *         nibbles), elements 64c .. 64c+63: broadcast to both halves, the
 *         upper half shifted right by 4, masked: one 512-bit vector.
 *   Q6_K: ql[0..63] of a half gives elements 0..63 (low nibbles) and 64..127
 *         (high nibbles) of it; qh is broadcast and shifted per half. The
 *         values are kept unsigned (0..63): sum (q - 32) x = sum q x -
 *         32 sum x, the second part per lane from maddubs(32, x), computed
 *         once per block with the permuted activations.
 *
 * Two 64-element steps are interleaved with unpacklo/hi_epi16 and scaled
 * by madd, as in AVX2. Bounds as in AVX2 (Q6_K: q x pairs <= 2*63*127 =
 * 16002, 32 x pairs <= 8128). */
#include "simd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define INLINE static inline __attribute__((always_inline))
#define MAXR 4

INLINE AVX512 __m512i pair_perm(void) {
    return _mm512_broadcast_i32x4(_mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
}

/* A block's 256 activation bytes as 4 vectors of 64, permuted; for Q6_K
 * also maddubs(32, x) of each. */
typedef struct { __m512i x[4], x32[4]; } xblock;

INLINE AVX512 void xprep(int q6, const tk_block_q8_K *b, xblock *xb) {
    const __m512i perm = pair_perm();
    for (int k = 0; k < 4; k++) {
        xb->x[k] = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(b->qs + 64 * k)), perm);
        if (q6) xb->x32[k] = _mm512_maddubs_epi16(_mm512_set1_epi8(32), xb->x[k]);
    }
}

INLINE AVX512 int pk(int a, int b) { return (int)((uint32_t)(uint16_t)(int16_t)a | ((uint32_t)(uint16_t)(int16_t)b << 16)); }

INLINE AVX512 void acc2(__m512i *acc_a, __m512i *acc_b, __m512i p, __m512i q, __m512i st) {
    *acc_a = _mm512_add_epi32(*acc_a, _mm512_madd_epi16(_mm512_unpacklo_epi16(p, q), st));
    *acc_b = _mm512_add_epi32(*acc_b, _mm512_madd_epi16(_mm512_unpackhi_epi16(p, q), st));
}

/* 4 lanes of [l0..l3] and 4 of [l4..l7] -> l0..l7 */
INLINE AVX512 __m256i lanes8(__m512i a, __m512i b) {
    const __m256i a2 = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
    const __m256i b2 = _mm256_add_epi32(_mm512_castsi512_si256(b), _mm512_extracti64x4_epi64(b, 1));
    const __m128i a4 = _mm_add_epi32(_mm256_castsi256_si128(a2), _mm256_extracti128_si256(a2, 1));
    const __m128i b4 = _mm_add_epi32(_mm256_castsi256_si128(b2), _mm256_extracti128_si256(b2, 1));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(a4), b4, 1);
}

INLINE AVX512 int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
    return _mm_cvtsi128_si32(s);
}

INLINE AVX512 float add_lanes(float sumf, __m256 s) {
    float t[8];
    _mm256_storeu_ps(t, s);
    for (int l = 0; l < 8; l++) sumf += t[l];
    return sumf;
}

/* ---- Q4_K ----------------------------------------------------------------- */

INLINE AVX512 void q4k_scales(const uint8_t *s12, uint8_t out[16]) {
    uint32_t u[4];
    memcpy(u, s12, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
    const uint32_t m03 = u[1] & 0x3f3f3f3f;
    u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
    u[2] = m03;
    u[0] &= 0x3f3f3f3f;
    memcpy(out, u, 16);
}

/* 64 weights of chunk c (sub-blocks 2c, 2c+1), permuted, times x: P. */
INLINE AVX512 __m512i q4k_p(const tk_block_q4_K *w, int c, __m512i x) {
    const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w->qs + 32 * c)));
    const __m512i v = _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4)), _mm512_set1_epi8(0x0f));
    return _mm512_maddubs_epi16(_mm512_shuffle_epi8(v, pair_perm()), x);
}

INLINE AVX512 __m256i q4k_block(const tk_block_q4_K *w, const xblock *xb, __m256i bsums, int32_t *sumi) {
    uint8_t sm[16];
    q4k_scales(w->scales, sm);
    __m512i acc_a = _mm512_setzero_si512(), acc_b = _mm512_setzero_si512();
    for (int c = 0; c < 4; c += 2) {
        /* lanes 0-1: sub-blocks 2c and 2c+2; lanes 2-3: 2c+1 and 2c+3 */
        const int lo = pk(sm[2 * c], sm[2 * c + 2]), hi = pk(sm[2 * c + 1], sm[2 * c + 3]);
        const __m512i st = _mm512_setr_epi32(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi);
        acc2(&acc_a, &acc_b, q4k_p(w, c, xb->x[c]), q4k_p(w, c + 1, xb->x[c + 1]), st);
    }
    const __m128i m8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
    const __m256i mm = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(m8, m8)),
                                               _mm_unpackhi_epi16(m8, m8), 1);
    *sumi = hsum_epi32(_mm256_madd_epi16(bsums, mm));
    return lanes8(acc_a, acc_b);
}

INLINE AVX512 void q4k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    __m256 sums[MAXR];
    float sumf[MAXR];
    for (int r = 0; r < K; r++) sums[r] = _mm256_setzero_ps(), sumf[r] = 0;
    for (int64_t i = 0; i < nb; i++) {
        xblock xb;
        xprep(0, x + i, &xb);
        const __m256i bs = _mm256_loadu_si256((const __m256i *)x[i].bsums);
        for (int r = 0; r < K; r++) {
            const tk_block_q4_K *b = (const tk_block_q4_K *)(w + (size_t)r * stride) + i;
            int32_t sumi;
            const __m256i aux = q4k_block(b, &xb, bs, &sumi);
            const float d = _cvtsh_ss(b->d) * x[i].d;
            sums[r] = _mm256_add_ps(sums[r], _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
            const float dmin = _cvtsh_ss(b->dmin) * x[i].d;
            sumf[r] -= dmin * (float)sumi;
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(sumf[r], sums[r]);
}

/* ---- Q6_K ----------------------------------------------------------------- */

/* 64 unsigned 6-bit values (0..63), permuted, times x, minus 32 x: P. */
INLINE AVX512 __m512i q6k_p(__m512i v, __m512i x, __m512i x32) {
    return _mm512_sub_epi16(_mm512_maddubs_epi16(_mm512_shuffle_epi8(v, pair_perm()), x), x32);
}

INLINE AVX512 __m256i q6k_block(const tk_block_q6_K *w, const xblock *xb) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    __m512i acc_a = _mm512_setzero_si512(), acc_b = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        const __m512i l = _mm512_loadu_si512((const void *)(w->ql + 64 * h));
        const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w->qh + 32 * h)));
        /* elements 0..31 take qh bits 0-1, 32..63 bits 2-3, 64..95 bits 4-5,
         * 96..127 bits 6-7, each moved to bits 4-5 (64-bit shifts; what
         * crosses into a neighbouring byte is masked off) */
        const __m512i h01 = _mm512_and_si512(_mm512_sllv_epi64(qh, _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2)), m30);
        const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2)), m30);
        const __m512i v01 = _mm512_or_si512(_mm512_and_si512(l, m4), h01);
        const __m512i v23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), h23);
        /* lane j of v01 is sub-block 8h+j (16 elements), of v23 8h+4+j */
        const int8_t *s = w->scales + 8 * h;
        const int a = pk(s[0], s[4]), b = pk(s[1], s[5]), c = pk(s[2], s[6]), d = pk(s[3], s[7]);
        const __m512i st = _mm512_setr_epi32(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d);
        acc2(&acc_a, &acc_b, q6k_p(v01, xb->x[2 * h], xb->x32[2 * h]), q6k_p(v23, xb->x[2 * h + 1], xb->x32[2 * h + 1]),
             st);
    }
    return lanes8(acc_a, acc_b);
}

INLINE AVX512 void q6k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    __m256 sums[MAXR];
    for (int r = 0; r < K; r++) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        xblock xb;
        xprep(1, x + i, &xb);
        for (int r = 0; r < K; r++) {
            const tk_block_q6_K *b = (const tk_block_q6_K *)(w + (size_t)r * stride) + i;
            const __m256i aux = q6k_block(b, &xb);
            const float d = _cvtsh_ss(b->d) * x[i].d;
            sums[r] = _mm256_add_ps(sums[r], _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(0.0f, sums[r]);
}

#define K_KERNELS(type, dot)                                                                        \
    AVX512 float tk_##type##_vec_dot_avx512(int64_t n, const void *w, const void *x) {              \
        float out;                                                                                  \
        dot(1, n, w, 0, x, &out);                                                                   \
        return out;                                                                                 \
    }                                                                                               \
    AVX512 void tk_##type##_vec_dot_rows_avx512(int64_t n, const void *w, size_t stride, const void *x, \
                                                float *out, int64_t nrows) {                        \
        const char *p = w;                                                                          \
        int64_t r = 0;                                                                              \
        for (; r + MAXR <= nrows; r += MAXR) dot(MAXR, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) dot(1, n, p + (size_t)r * stride, stride, x, out + r);              \
    }
K_KERNELS(q4_K, q4k_dot)
K_KERNELS(q6_K, q6k_dot)

#else
typedef int tk_simd_avx512_k_empty; /* ISO C wants a translation unit to declare something */
#endif
