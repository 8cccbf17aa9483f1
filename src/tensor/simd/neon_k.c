/* neon_k.c: Q4_K x Q8_K and Q6_K x Q8_K for aarch64 Advanced SIMD
 * (level neon; neon-dotprod uses these too), bit-identical to the scalar
 * reference (dtype_k.c): the reference's 8 int32 lanes, lane l summing
 * scale * w * x over the elements whose index is l mod 8 (avx2_k.c
 * explains why the lanes must be exact).
 *
 * NEON multiplies int8 to int16 element by element (SMULL / SMLAL2), so no
 * permutation is needed: for 16 elements, SMULL of the low 8 and SMLAL2 of
 * the high 8 give int16 lane l = w[l] x[l] + w[l+8] x[l+8]; a sub-block's
 * groups of 16 are added in int16 (Q4_K: 2 groups, |sum| <= 4 * 15 * 128;
 * Q6_K: 1 group, <= 2 * 32 * 128), then multiplied by the sub-block scale
 * and added into int32 lanes 0..3 and 4..7 (SMLAL / SMLAL2 by a scalar).
 * Exact for any bytes, activations of -128 included.
 *
 * SDOT adds 4 neighbouring products, which are in different lanes, so the
 * dotprod level has nothing to add here. */
#include "simd.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define INLINE static inline __attribute__((always_inline))
#define MAXR 4

/* float lanes: s += d * (float)aux, as the reference (no fused multiply-add) */
INLINE void scale_add(float32x4_t *lo, float32x4_t *hi, float d, int32x4_t a_lo, int32x4_t a_hi) {
    *lo = vaddq_f32(*lo, vmulq_n_f32(vcvtq_f32_s32(a_lo), d));
    *hi = vaddq_f32(*hi, vmulq_n_f32(vcvtq_f32_s32(a_hi), d));
}

INLINE float add_lanes(float sumf, float32x4_t lo, float32x4_t hi) {
    float t[8];
    vst1q_f32(t, lo);
    vst1q_f32(t + 4, hi);
    for (int l = 0; l < 8; l++) sumf += t[l];
    return sumf;
}

/* int16 lane l = w[l] x[l] + w[l+8] x[l+8] over 16 elements */
INLINE int16x8_t dot16(int8x16_t w, int8x16_t x) {
    return vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), w, x);
}

/* ---- Q4_K ----------------------------------------------------------------- */

INLINE void q4k_block(const tk_block_q4_K *w, const tk_block_q8_K *x, int32x4_t *lo, int32x4_t *hi, int32_t *sumi) {
    uint8_t sm[16];
    tk_q4k_scales(w->scales, sm);
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    int32x4_t a = vdupq_n_s32(0), b = vdupq_n_s32(0);
    for (int c = 0; c < 4; c++) { /* sub-blocks 2c (low nibbles), 2c+1 (high) */
        const uint8x16_t q0 = vld1q_u8(w->qs + 32 * c), q1 = vld1q_u8(w->qs + 32 * c + 16);
        const int8_t *xs = x->qs + 64 * c;
        const int16x8_t p = vaddq_s16(dot16(vreinterpretq_s8_u8(vandq_u8(q0, m4)), vld1q_s8(xs)),
                                      dot16(vreinterpretq_s8_u8(vandq_u8(q1, m4)), vld1q_s8(xs + 16)));
        const int16x8_t r = vaddq_s16(dot16(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), vld1q_s8(xs + 32)),
                                      dot16(vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), vld1q_s8(xs + 48)));
        a = vmlal_n_s16(a, vget_low_s16(p), sm[2 * c]);
        b = vmlal_high_n_s16(b, p, sm[2 * c]);
        a = vmlal_n_s16(a, vget_low_s16(r), sm[2 * c + 1]);
        b = vmlal_high_n_s16(b, r, sm[2 * c + 1]);
    }
    *lo = a, *hi = b;
    /* mins: sum_j bsums[j] * m[j/2] */
    const int16x8_t m = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(sm + 8)));
    const int16x8_t bs0 = vld1q_s16(x->bsums), bs1 = vld1q_s16(x->bsums + 8);
    /* pairwise sums of bsums: [b0+b1, b2+b3, ...] = the 8 sub-blocks' sums */
    const int16x8_t pair = vpaddq_s16(bs0, bs1);
    int32x4_t s = vmull_s16(vget_low_s16(pair), vget_low_s16(m));
    s = vmlal_high_s16(s, pair, m);
    *sumi = vaddvq_s32(s);
}

INLINE void q4k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    float32x4_t lo[MAXR], hi[MAXR];
    float sumf[MAXR];
    for (int r = 0; r < K; r++) lo[r] = hi[r] = vdupq_n_f32(0), sumf[r] = 0;
    for (int64_t i = 0; i < nb; i++) {
        for (int r = 0; r < K; r++) {
            const tk_block_q4_K *b = (const tk_block_q4_K *)(w + (size_t)r * stride) + i;
            int32x4_t a_lo, a_hi;
            int32_t sumi;
            q4k_block(b, x + i, &a_lo, &a_hi, &sumi);
            scale_add(&lo[r], &hi[r], tk_f16_to_f32(b->d) * x[i].d, a_lo, a_hi);
            const float dmin = tk_f16_to_f32(b->dmin) * x[i].d;
            sumf[r] -= dmin * (float)sumi;
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(sumf[r], lo[r], hi[r]);
}

/* ---- Q6_K ----------------------------------------------------------------- */

INLINE void q6k_block(const tk_block_q6_K *w, const tk_block_q8_K *x, int32x4_t *lo, int32x4_t *hi) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m30 = vdupq_n_u8(0x30);
    const int8x16_t k32 = vdupq_n_s8(32);
    int32x4_t a = vdupq_n_s32(0), b = vdupq_n_s32(0);
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = w->ql + 64 * h, *qh = w->qh + 32 * h;
        const int8_t *sc = w->scales + 8 * h, *xs = x->qs + 128 * h;
        for (int g = 0; g < 2; g++) { /* elements 16g .. 16g+15 of each quarter */
            const uint8x16_t l0 = vld1q_u8(ql + 16 * g), l1 = vld1q_u8(ql + 32 + 16 * g), hb = vld1q_u8(qh + 16 * g);
            const uint8x16_t v[4] = {
                vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(hb, 4), m30)),
                vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(hb, 2), m30)),
                vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hb, m30)),
                vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(hb, 2), m30)),
            };
            for (int k = 0; k < 4; k++) { /* elements 32k + 16g ..: sub-block 2k + g of the half */
                const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(v[k]), k32);
                const int16x8_t p = dot16(q, vld1q_s8(xs + 32 * k + 16 * g));
                a = vmlal_n_s16(a, vget_low_s16(p), sc[2 * k + g]);
                b = vmlal_high_n_s16(b, p, sc[2 * k + g]);
            }
        }
    }
    *lo = a, *hi = b;
}

INLINE void q6k_dot(int K, int64_t n, const char *w, size_t stride, const tk_block_q8_K *x, float *out) {
    const int64_t nb = n / TK_QK_K;
    float32x4_t lo[MAXR], hi[MAXR];
    for (int r = 0; r < K; r++) lo[r] = hi[r] = vdupq_n_f32(0);
    for (int64_t i = 0; i < nb; i++) {
        for (int r = 0; r < K; r++) {
            const tk_block_q6_K *b = (const tk_block_q6_K *)(w + (size_t)r * stride) + i;
            int32x4_t a_lo, a_hi;
            q6k_block(b, x + i, &a_lo, &a_hi);
            scale_add(&lo[r], &hi[r], tk_f16_to_f32(b->d) * x[i].d, a_lo, a_hi);
        }
    }
    for (int r = 0; r < K; r++) out[r] = add_lanes(0.0f, lo[r], hi[r]);
}

#define K_KERNELS(type, dot)                                                                      \
    float tk_##type##_vec_dot_neon(int64_t n, const void *w, const void *x) {                     \
        float out;                                                                                \
        dot(1, n, w, 0, x, &out);                                                                 \
        return out;                                                                               \
    }                                                                                             \
    void tk_##type##_vec_dot_rows_neon(int64_t n, const void *w, size_t stride, const void *x, float *out, \
                                       int64_t nrows) {                                           \
        const char *p = w;                                                                        \
        int64_t r = 0;                                                                            \
        for (; r + MAXR <= nrows; r += MAXR) dot(MAXR, n, p + (size_t)r * stride, stride, x, out + r); \
        for (; r < nrows; r++) dot(1, n, p + (size_t)r * stride, stride, x, out + r);            \
    }
K_KERNELS(q4_K, q4k_dot)
K_KERNELS(q6_K, q6k_dot)

#else
typedef int tk_simd_neon_k_empty; /* ISO C wants a translation unit to declare something */
#endif
