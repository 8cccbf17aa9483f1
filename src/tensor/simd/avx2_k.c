/* avx2_k.c: Q4_K x Q8_K and Q6_K x Q8_K for AVX2, bit-identical to the
 * scalar reference (dtype_k.c, ggml's generic kernels).
 *
 * The reference keeps, per super-block of 256, 8 int32 lanes: lane l sums
 * scale * w * x over the elements whose index is l mod 8; then 8 float
 * lanes sums[l] += (d_w * d_x) * aux[l] across the row, added together at
 * the end. The integer part is exact, so any grouping gives the same aux;
 * what matters is that each int32 lane ends up holding exactly lane l's
 * elements. maddubs adds neighbouring bytes (2i, 2i+1), which belong to
 * different lanes; so both operands are first permuted within each 16-byte
 * half to the order 0 8 1 9 2 10 ... 7 15: maddubs then adds elements k and
 * k+8 of the half, which share lane k. That gives, per 32 elements,
 *
 *   P = 16 int16: [lane 0..7 of elements 0..15 | lane 0..7 of 16..31]
 *
 * Two such P of different scales (sub-blocks j, j') are interleaved with
 * unpacklo/hi_epi16, so that madd with (sc_j, sc_j') pairs multiplies each
 * by its scale and adds the two, still per lane: unpacklo gives lanes 0..3,
 * unpackhi lanes 4..7 (of each 128-bit half; the halves are added at the
 * end of the block). The float part is then the reference's, 8 lanes wide.
 *
 * Bounds: maddubs pairs |w| <= 15 (Q4_K) or 32 (Q6_K, by the sign trick)
 * times |x| <= 127: at most 8128, no int16 saturation; activations are in
 * [-127, 127] as the Q8_K quantizer makes them (as for Q8_0 in avx2.c, the
 * sign trick cannot negate -128). */
#include "simd.h"
#include "gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))
#define MAXR 4 /* rows per step of the _rows kernels */

/* Within each 16-byte half: elements k and k+8 side by side. */
INLINE AVX2 __m256i pair_perm(void) {
    return _mm256_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13,
                            6, 14, 7, 15);
}

/* The 8 chunks of 32 activation bytes of a block, permuted. */
INLINE AVX2 void xprep(const tk_block_q8_K *x, __m256i xp[8]) {
    const __m256i perm = pair_perm();
    for (int c = 0; c < 8; c++) xp[c] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(x->qs + 32 * c)), perm);
}

/* Two 16-bit values in one 32-bit lane (madd's pair). */
INLINE AVX2 int pk(int a, int b) { return (int)((uint32_t)(uint16_t)(int16_t)a | ((uint32_t)(uint16_t)(int16_t)b << 16)); }

/* acc_a/acc_b += P and Q (sub-blocks of scales s, t), per lane. */
INLINE AVX2 void acc2(__m256i *acc_a, __m256i *acc_b, __m256i p, __m256i q, __m256i st) {
    *acc_a = _mm256_add_epi32(*acc_a, _mm256_madd_epi16(_mm256_unpacklo_epi16(p, q), st));
    *acc_b = _mm256_add_epi32(*acc_b, _mm256_madd_epi16(_mm256_unpackhi_epi16(p, q), st));
}

/* [lanes 0..3 | 0..3] and [4..7 | 4..7] -> lanes 0..7 */
INLINE AVX2 __m256i lanes8(__m256i a, __m256i b) {
    const __m128i a4 = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    const __m128i b4 = _mm_add_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(a4), b4, 1);
}

INLINE AVX2 int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
    return _mm_cvtsi128_si32(s);
}

/* sumf + s[0] + ... + s[7], left to right: the reference's last step. */
INLINE AVX2 float add_lanes(float sumf, __m256 s) {
    float t[8];
    _mm256_storeu_ps(t, s);
    for (int l = 0; l < 8; l++) sumf += t[l];
    return sumf;
}

/* ---- Q4_K ----------------------------------------------------------------- */

/* One block: the reference's aux lanes, and in *sumi the mins' integer sum
 * sum_j bsums[j] * m[j/2]. */
INLINE AVX2 __m256i q4k_block(const tk_block_q4_K *w, const __m256i xp[8], __m256i bsums, int32_t *sumi) {
    uint8_t sm[16];
    tk_q4k_scales(w->scales, sm);
    const __m256i perm = pair_perm(), m4 = _mm256_set1_epi8(0x0f);
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) { /* 32 bytes: sub-blocks 2c (low nibbles), 2c+1 (high) */
        const __m256i q = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * c));
        const __m256i lo = _mm256_shuffle_epi8(_mm256_and_si256(q, m4), perm);
        const __m256i hi = _mm256_shuffle_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), perm);
        const __m256i p = _mm256_maddubs_epi16(lo, xp[2 * c]), r = _mm256_maddubs_epi16(hi, xp[2 * c + 1]);
        acc2(&acc_a, &acc_b, p, r, _mm256_set1_epi32(pk(sm[2 * c], sm[2 * c + 1])));
    }
    const __m128i m8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
    const __m256i mm = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(m8, m8)),
                                               _mm_unpackhi_epi16(m8, m8), 1); /* m0 m0 m1 m1 ... m7 m7 */
    *sumi = hsum_epi32(_mm256_madd_epi16(bsums, mm));
    return lanes8(acc_a, acc_b);
}

/* K rows (K <= MAXR) at w, w + stride, ... against one activation row. */
INLINE AVX2 void q4k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    __m256 sums[MAXR];
    float sumf[MAXR];
    for (int r = 0; r < K; r++) sums[r] = _mm256_setzero_ps(), sumf[r] = 0;
    for (int64_t i = 0; i < nb; i++) {
        __m256i xp[8];
        xprep(x + i, xp);
        const __m256i bs = _mm256_loadu_si256((const __m256i *)x[i].bsums);
        for (int r = 0; r < K; r++) {
            const tk_block_q4_K *b = (const tk_block_q4_K *)(w + (size_t)r * stride) + i;
            int32_t sumi;
            const __m256i aux = q4k_block(b, xp, bs, &sumi);
            const float d = _cvtsh_ss(b->d) * x[i].d;
            sums[r] = _mm256_add_ps(sums[r], _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
            const float dmin = _cvtsh_ss(b->dmin) * x[i].d;
            sumf[r] -= dmin * (float)sumi;
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(sumf[r], sums[r]);
}

/* ---- Q6_K ----------------------------------------------------------------- */

/* Signed 6-bit values of 32 elements (q - 32), permuted; P per lane. */
INLINE AVX2 __m256i q6k_p(__m256i v, __m256i xp) {
    const __m256i a = _mm256_shuffle_epi8(_mm256_sub_epi8(v, _mm256_set1_epi8(32)), pair_perm());
    return _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(xp, a));
}

INLINE AVX2 __m256i q6k_block(const tk_block_q6_K *w, const __m256i xp[8]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) { /* elements 128h .. 128h+127 */
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h));
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(w->qh + 32 * h));
        /* the two high bits of each element to bits 4..5 (16-bit shifts:
         * what crosses into the neighbouring byte is masked off) */
        const __m256i v0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
        const __m256i v1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
        const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30));
        const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
        const int8_t *sc = w->scales + 8 * h; /* 16 elements each: sc[2k] low half of chunk k, sc[2k+1] high */
        const __m256i s01 = _mm256_setr_epi32(pk(sc[0], sc[2]), pk(sc[0], sc[2]), pk(sc[0], sc[2]), pk(sc[0], sc[2]),
                                              pk(sc[1], sc[3]), pk(sc[1], sc[3]), pk(sc[1], sc[3]), pk(sc[1], sc[3]));
        const __m256i s23 = _mm256_setr_epi32(pk(sc[4], sc[6]), pk(sc[4], sc[6]), pk(sc[4], sc[6]), pk(sc[4], sc[6]),
                                              pk(sc[5], sc[7]), pk(sc[5], sc[7]), pk(sc[5], sc[7]), pk(sc[5], sc[7]));
        acc2(&acc_a, &acc_b, q6k_p(v0, xp[4 * h]), q6k_p(v1, xp[4 * h + 1]), s01);
        acc2(&acc_a, &acc_b, q6k_p(v2, xp[4 * h + 2]), q6k_p(v3, xp[4 * h + 3]), s23);
    }
    return lanes8(acc_a, acc_b);
}

INLINE AVX2 void q6k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    __m256 sums[MAXR];
    for (int r = 0; r < K; r++) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i xp[8];
        xprep(x + i, xp);
        for (int r = 0; r < K; r++) {
            const tk_block_q6_K *b = (const tk_block_q6_K *)(w + (size_t)r * stride) + i;
            const __m256i aux = q6k_block(b, xp);
            const float d = _cvtsh_ss(b->d) * x[i].d;
            sums[r] = _mm256_add_ps(sums[r], _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(0.0f, sums[r]);
}

#define K_KERNELS(type, dot)                                                                      \
    AVX2 float tk_##type##_vec_dot_avx2(int64_t n, const void *w, const void *x) {                \
        float out;                                                                                \
        dot(1, n, w, 0, x, &out);                                                                 \
        return out;                                                                               \
    }                                                                                             \
    AVX2 void tk_##type##_vec_dot_rows_avx2(int64_t n, const void *w, size_t stride, const void *x, \
                                            float *out, int64_t nrows) {                          \
        const char *p = w;                                                                        \
        int64_t r = 0;                                                                            \
        for (; r + MAXR <= nrows; r += MAXR) dot(MAXR, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) dot(1, n, p + (size_t)r * stride, stride, x, out + r);            \
    }
K_KERNELS(q4_K, q4k_dot)
K_KERNELS(q6_K, q6k_dot)

/* ---- unpacked weight blocks (GEMM) ----------------------------------------
 *
 * The same arithmetic as q4k_block / q6k_block, split in two: the weight
 * side once per block and row, then one step per activation row. (The
 * dot products above stream instead: unpacked, a block takes more ymm
 * registers than AVX2 has, which costs the single-row kernels ~20% more
 * instructions in spills; the GEMM pays that once for NC rows.) */

/* A weight block unpacked (once per block and row; the GEMM below uses it
 * for several activation rows): the 8 sub-blocks' 32 weights as permuted
 * bytes, the scale pairs (2c, 2c+1), the mins doubled (m0 m0 m1 m1 ...),
 * the two f16 scales. */
typedef struct { __m256i v[8], st[4], mm; float d, dmin; } q4k_w;

INLINE AVX2 void q4k_unpack(const tk_block_q4_K *w, q4k_w *u) {
    uint8_t sm[16];
    tk_q4k_scales(w->scales, sm);
    const __m256i perm = pair_perm(), m4 = _mm256_set1_epi8(0x0f);
    for (int c = 0; c < 4; c++) { /* 32 bytes: sub-blocks 2c (low nibbles), 2c+1 (high) */
        const __m256i q = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * c));
        u->v[2 * c] = _mm256_shuffle_epi8(_mm256_and_si256(q, m4), perm);
        u->v[2 * c + 1] = _mm256_shuffle_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), perm);
        u->st[c] = _mm256_set1_epi32(pk(sm[2 * c], sm[2 * c + 1]));
    }
    const __m128i m8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
    u->mm = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(m8, m8)), _mm_unpackhi_epi16(m8, m8), 1);
    u->d = _cvtsh_ss(w->d);
    u->dmin = _cvtsh_ss(w->dmin);
}

/* One more block of one weight row and one activation row: the
 * reference's aux lanes and mins' sum, then its float steps. */
INLINE AVX2 void q4k_step(const q4k_w *u, const tk_block_q8_K *x, const __m256i xp[8], __m256 *sums, float *sumf) {
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++)
        acc2(&acc_a, &acc_b, _mm256_maddubs_epi16(u->v[2 * c], xp[2 * c]), _mm256_maddubs_epi16(u->v[2 * c + 1], xp[2 * c + 1]),
             u->st[c]);
    const int32_t sumi = hsum_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums), u->mm));
    const __m256i aux = lanes8(acc_a, acc_b);
    const float d = u->d * x->d;
    *sums = _mm256_add_ps(*sums, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
    const float dmin = u->dmin * x->d;
    *sumf -= dmin * (float)sumi;
}

/* A weight block unpacked: the 8 chunks of 32 signed values (q - 32),
 * permuted, and the scale pairs of chunks (4h, 4h+1) and (4h+2, 4h+3). */
typedef struct { __m256i a[8], st[4]; float d; } q6k_w;

INLINE AVX2 void q6k_unpack(const tk_block_q6_K *w, q6k_w *u) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    const __m256i perm = pair_perm();
    for (int h = 0; h < 2; h++) { /* elements 128h .. 128h+127 */
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h));
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(w->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(w->qh + 32 * h));
        /* the two high bits of each element to bits 4..5 (16-bit shifts:
         * what crosses into the neighbouring byte is masked off) */
        const __m256i v[4] = {
            _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
            _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)),
        };
        for (int k = 0; k < 4; k++) u->a[4 * h + k] = _mm256_shuffle_epi8(_mm256_sub_epi8(v[k], k32), perm);
        const int8_t *sc = w->scales + 8 * h; /* 16 elements each: sc[2k] low half of chunk k, sc[2k+1] high */
        const int p02 = pk(sc[0], sc[2]), p13 = pk(sc[1], sc[3]), p46 = pk(sc[4], sc[6]), p57 = pk(sc[5], sc[7]);
        u->st[2 * h] = _mm256_setr_epi32(p02, p02, p02, p02, p13, p13, p13, p13);
        u->st[2 * h + 1] = _mm256_setr_epi32(p46, p46, p46, p46, p57, p57, p57, p57);
    }
    u->d = _cvtsh_ss(w->d);
}

/* P per lane by the sign trick: |a| times x with a's sign */
INLINE AVX2 __m256i q6k_ps(__m256i a, __m256i xp) { return _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(xp, a)); }

INLINE AVX2 void q6k_step(const q6k_w *u, const tk_block_q8_K *x, const __m256i xp[8], __m256 *sums) {
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    for (int k = 0; k < 8; k += 2) acc2(&acc_a, &acc_b, q6k_ps(u->a[k], xp[k]), q6k_ps(u->a[k + 1], xp[k + 1]), u->st[k / 2]);
    const __m256i aux = lanes8(acc_a, acc_b);
    const float d = u->d * x->d;
    *sums = _mm256_add_ps(*sums, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(aux)));
}

/* ---- GEMM (prefill) ---------------------------------------------------------
 *
 * dst[b * dst_stride + r] = vec_dot(W row r, xq row b) (gemm.h), each
 * weight block unpacked once for NC activation rows; per (row, activation
 * row) vec_dot's steps in its order, so the same bits. */
#define NC 4

#define K_GEMM(type, W_T, B_T, UNPACK, STEP)                                                              \
    AVX2 void tk_gemm_##type##_avx2(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, \
                                    int n, float *dst, int64_t dst_stride, int64_t nrows) {                   \
        const int64_t nb = cols / TK_QK_K;                                                                 \
        for (int64_t r = 0; r < nrows; r++) {                                                              \
            const B_T *w = (const B_T *)((const char *)W + (size_t)r * wstride);                           \
            for (int b0 = 0; b0 < n; b0 += NC) {                                                           \
                const int nc = n - b0 < NC ? n - b0 : NC;                                                  \
                __m256 sums[NC];                                                                           \
                float sumf[NC];                                                                            \
                for (int c = 0; c < NC; c++) sums[c] = _mm256_setzero_ps(), sumf[c] = 0;                   \
                for (int64_t i = 0; i < nb; i++) {                                                         \
                    W_T u;                                                                                 \
                    UNPACK(w + i, &u);                                                                     \
                    for (int c = 0; c < nc; c++) {                                                         \
                        const tk_block_q8_K *x = (const tk_block_q8_K *)((const char *)xq + (size_t)(b0 + c) * xstride) + i; \
                        __m256i xp[8];                                                                     \
                        xprep(x, xp);                                                                      \
                        STEP;                                                                              \
                    }                                                                                      \
                }                                                                                          \
                for (int c = 0; c < nc; c++) dst[(size_t)(b0 + c) * (size_t)dst_stride + (size_t)r] = add_lanes(sumf[c], sums[c]); \
            }                                                                                              \
        }                                                                                                  \
    }
K_GEMM(q4_K, q4k_w, tk_block_q4_K, q4k_unpack, q4k_step(&u, x, xp, &sums[c], &sumf[c]))
K_GEMM(q6_K, q6k_w, tk_block_q6_K, q6k_unpack, q6k_step(&u, x, xp, &sums[c]))


#else
typedef int tk_simd_avx2_k_empty; /* ISO C wants a translation unit to declare something */
#endif
