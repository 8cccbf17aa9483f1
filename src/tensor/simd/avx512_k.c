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
#include "gemm.h"

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

/* A weight block unpacked: the 4 chunks of 64 weights (sub-blocks 2c,
 * 2c+1) as permuted bytes, the scale pairs of each two chunks, the mins
 * doubled (m0 m0 m1 m1 ...) and the two f16 scales. Done once per block
 * and row; the GEMM below uses it for several activation rows. */
typedef struct { __m512i v[4], st[2]; __m256i mm; float d, dmin; } q4k_w;

INLINE AVX512 void q4k_unpack(const tk_block_q4_K *w, q4k_w *u) {
    uint8_t sm[16];
    tk_q4k_scales(w->scales, sm);
    for (int c = 0; c < 4; c++) {
        const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w->qs + 32 * c)));
        const __m512i v =
            _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4)), _mm512_set1_epi8(0x0f));
        u->v[c] = _mm512_shuffle_epi8(v, pair_perm());
    }
    for (int c = 0; c < 4; c += 2) {
        /* lanes 0-1: sub-blocks 2c and 2c+2; lanes 2-3: 2c+1 and 2c+3 */
        const int lo = pk(sm[2 * c], sm[2 * c + 2]), hi = pk(sm[2 * c + 1], sm[2 * c + 3]);
        u->st[c / 2] = _mm512_setr_epi32(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi);
    }
    const __m128i m8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
    u->mm = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(m8, m8)), _mm_unpackhi_epi16(m8, m8), 1);
    u->d = _cvtsh_ss(w->d);
    u->dmin = _cvtsh_ss(w->dmin);
}

/* The reference's aux lanes of one block against one activation block,
 * and in *sumi the mins' integer sum sum_j bsums[j] * m[j/2]. */
INLINE AVX512 __m256i q4k_aux(const q4k_w *u, const xblock *xb, __m256i bsums, int32_t *sumi) {
    __m512i acc_a = _mm512_setzero_si512(), acc_b = _mm512_setzero_si512();
    acc2(&acc_a, &acc_b, _mm512_maddubs_epi16(u->v[0], xb->x[0]), _mm512_maddubs_epi16(u->v[1], xb->x[1]), u->st[0]);
    acc2(&acc_a, &acc_b, _mm512_maddubs_epi16(u->v[2], xb->x[2]), _mm512_maddubs_epi16(u->v[3], xb->x[3]), u->st[1]);
    *sumi = hsum_epi32(_mm256_madd_epi16(bsums, u->mm));
    return lanes8(acc_a, acc_b);
}

/* sums (8 lanes) and sumf of one weight row and one activation row, one
 * more block: the reference's float steps. */
INLINE AVX512 void q4k_step(const q4k_w *u, const tk_block_q8_K *x, const xblock *xb, __m256 *sums, float *sumf) {
    int32_t sumi;
    const __m256i aux = q4k_aux(u, xb, _mm256_loadu_si256((const __m256i *)x->bsums), &sumi);
    const float d = u->d * x->d;
    *sums = _mm256_add_ps(*sums, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
    const float dmin = u->dmin * x->d;
    *sumf -= dmin * (float)sumi;
}

INLINE AVX512 void q4k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    __m256 sums[MAXR];
    float sumf[MAXR];
    for (int r = 0; r < K; r++) sums[r] = _mm256_setzero_ps(), sumf[r] = 0;
    for (int64_t i = 0; i < nb; i++) {
        xblock xb;
        xprep(0, x + i, &xb);
        for (int r = 0; r < K; r++) {
            q4k_w u;
            q4k_unpack((const tk_block_q4_K *)(w + (size_t)r * stride) + i, &u);
            q4k_step(&u, x + i, &xb, &sums[r], &sumf[r]);
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(sumf[r], sums[r]);
}

/* ---- Q6_K ----------------------------------------------------------------- */

/* A weight block unpacked: 4 vectors of 64 unsigned 6-bit values (0..63),
 * permuted (v[2h]: elements 128h .. +63, v[2h+1]: 128h+64 .. +127), the
 * scale pairs of each half, the f16 scale. */
typedef struct { __m512i v[4], st[2]; float d; } q6k_w;

INLINE AVX512 void q6k_unpack(const tk_block_q6_K *w, q6k_w *u) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        const __m512i l = _mm512_loadu_si512((const void *)(w->ql + 64 * h));
        const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w->qh + 32 * h)));
        /* elements 0..31 take qh bits 0-1, 32..63 bits 2-3, 64..95 bits 4-5,
         * 96..127 bits 6-7, each moved to bits 4-5 (64-bit shifts; what
         * crosses into a neighbouring byte is masked off) */
        const __m512i h01 = _mm512_and_si512(_mm512_sllv_epi64(qh, _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2)), m30);
        const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi64(qh, _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2)), m30);
        u->v[2 * h] = _mm512_shuffle_epi8(_mm512_or_si512(_mm512_and_si512(l, m4), h01), pair_perm());
        u->v[2 * h + 1] =
            _mm512_shuffle_epi8(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), h23), pair_perm());
        /* lane j of v[2h] is sub-block 8h+j (16 elements), of v[2h+1] 8h+4+j */
        const int8_t *s = w->scales + 8 * h;
        const int a = pk(s[0], s[4]), b = pk(s[1], s[5]), c = pk(s[2], s[6]), d = pk(s[3], s[7]);
        u->st[h] = _mm512_setr_epi32(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d);
    }
    u->d = _cvtsh_ss(w->d);
}

/* P of 64 elements: q x - 32 x per lane */
INLINE AVX512 __m512i q6k_p(__m512i v, __m512i x, __m512i x32) { return _mm512_sub_epi16(_mm512_maddubs_epi16(v, x), x32); }

INLINE AVX512 void q6k_step(const q6k_w *u, const tk_block_q8_K *x, const xblock *xb, __m256 *sums) {
    __m512i acc_a = _mm512_setzero_si512(), acc_b = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++)
        acc2(&acc_a, &acc_b, q6k_p(u->v[2 * h], xb->x[2 * h], xb->x32[2 * h]),
             q6k_p(u->v[2 * h + 1], xb->x[2 * h + 1], xb->x32[2 * h + 1]), u->st[h]);
    const __m256i aux = lanes8(acc_a, acc_b);
    const float d = u->d * x->d;
    *sums = _mm256_add_ps(*sums, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
}

INLINE AVX512 void q6k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    __m256 sums[MAXR];
    float sumf[MAXR];
    for (int r = 0; r < K; r++) sums[r] = _mm256_setzero_ps(), sumf[r] = 0;
    for (int64_t i = 0; i < nb; i++) {
        xblock xb;
        xprep(1, x + i, &xb);
        for (int r = 0; r < K; r++) {
            q6k_w u;
            q6k_unpack((const tk_block_q6_K *)(w + (size_t)r * stride) + i, &u);
            q6k_step(&u, x + i, &xb, &sums[r]);
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(sumf[r], sums[r]);
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

/* ---- GEMM (prefill) ---------------------------------------------------------
 *
 * dst[b * dst_stride + r] = vec_dot(W row r, xq row b) (gemm.h), with each
 * weight block unpacked once for NC activation rows instead of once per
 * activation row; per (row, activation row) the same steps in the same
 * order as vec_dot, so the same bits. */
#define NC 4

#define K_GEMM(type, q6, W_T, UNPACK, STEP_ARGS)                                                         \
    AVX512 void tk_gemm_##type##_avx512(const void *W, size_t wstride, int64_t cols, const void *xq,        \
                                        size_t xstride, int n, float *dst, int64_t dst_stride, int64_t nrows) { \
        const int64_t nb = cols / TK_QK_K;                                                                \
        for (int64_t r = 0; r < nrows; r++) {                                                             \
            const W_T##_blk *w = (const W_T##_blk *)((const char *)W + (size_t)r * wstride);            \
            for (int b0 = 0; b0 < n; b0 += NC) {                                                          \
                const int nc = n - b0 < NC ? n - b0 : NC;                                                 \
                __m256 sums[NC];                                                                          \
                float sumf[NC];                                                                           \
                for (int c = 0; c < NC; c++) sums[c] = _mm256_setzero_ps(), sumf[c] = 0;                  \
                for (int64_t i = 0; i < nb; i++) {                                                        \
                    W_T u;                                                                                \
                    UNPACK(w + i, &u);                                                                    \
                    for (int c = 0; c < nc; c++) {                                                        \
                        const tk_block_q8_K *x = (const tk_block_q8_K *)((const char *)xq + (size_t)(b0 + c) * xstride) + i; \
                        xblock xb;                                                                        \
                        xprep(q6, x, &xb);                                                                \
                        STEP_ARGS;                                                                        \
                    }                                                                                     \
                }                                                                                         \
                for (int c = 0; c < nc; c++) dst[(size_t)(b0 + c) * (size_t)dst_stride + (size_t)r] = add_lanes(sumf[c], sums[c]); \
            }                                                                                             \
        }                                                                                                 \
    }
typedef tk_block_q4_K q4k_w_blk;
typedef tk_block_q6_K q6k_w_blk;
K_GEMM(q4_K, 0, q4k_w, q4k_unpack, q4k_step(&u, x, &xb, &sums[c], &sumf[c]))
K_GEMM(q6_K, 1, q6k_w, q6k_unpack, q6k_step(&u, x, &xb, &sums[c]))

#else
typedef int tk_simd_avx512_k_empty; /* ISO C wants a translation unit to declare something */
#endif
