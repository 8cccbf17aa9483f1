/* vec.c: see vec.h. */
#include "vec.h"
#include "dtype.h"
#include "ops.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static float dot_avx512(const float *a, const float *b, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) static void axpy_avx512(float *y, float a, const float *x, int n) {
    __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s0 = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float s = _mm_cvtss_f32(h);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) static void axpy_avx2(float *y, float a, const float *x, int n) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

/* ---- attention of one query row (tk_attention), AVX-512 ---------------------- */

#define AVX512 __attribute__((target("avx2,fma,avx512f,avx512dq")))
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")

/* exp(x), x <= 0 (a score minus the row's maximum): x = n ln2 + r with ln2
 * in two parts (n ln2hi is exact), |r| <= ln2/2, exp(r) by its Taylor
 * series to r^7 (truncation 5e-9 relative), times 2^n by vscalefps (which
 * also underflows to 0 correctly). Within 2 ulp of expf. */
INLINE AVX512 __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440054690583e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* lane j = sum of a[j]'s 16 lanes: pairs, then quads (as reduce4 in
 * gemm_avx512.c), then the four 128-bit blocks */
INLINE AVX512 __m512 reduce16(const __m512 *a) {
    __m512 p[8], q[4];
    UNROLL for (int i = 0; i < 8; i++)
        p[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    UNROLL for (int i = 0; i < 4; i++)
        q[i] = _mm512_add_ps(_mm512_shuffle_ps(p[2 * i], p[2 * i + 1], 0x44), _mm512_shuffle_ps(p[2 * i], p[2 * i + 1], 0xee));
    const __m512 s01 = _mm512_add_ps(_mm512_shuffle_f32x4(q[0], q[1], 0x88), _mm512_shuffle_f32x4(q[0], q[1], 0xdd));
    const __m512 s23 = _mm512_add_ps(_mm512_shuffle_f32x4(q[2], q[3], 0x88), _mm512_shuffle_f32x4(q[2], q[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, 0x88), _mm512_shuffle_f32x4(s01, s23, 0xdd));
}

/* q . K[t + j] for j < 16 (rows past nt repeat row nt - 1; their lanes
 * are not stored); whole: hd a multiple of 16 */
INLINE AVX512 __m512 dots16(int whole, const float *q, const float *k, size_t rs, int hd, int nt) {
    const float *kr[16];
    __m512 acc[16];
    UNROLL for (int j = 0; j < 16; j++) {
        kr[j] = k + (size_t)(j < nt ? j : nt - 1) * rs;
        acc[j] = _mm512_setzero_ps();
    }
    for (int d = 0; d < hd; d += 16) {
        const __mmask16 m = whole || hd - d >= 16 ? 0xffff : (__mmask16)((1u << (hd - d)) - 1);
        const __m512 qv = whole ? _mm512_loadu_ps(q + d) : _mm512_maskz_loadu_ps(m, q + d);
        UNROLL for (int j = 0; j < 16; j++)
            acc[j] = _mm512_fmadd_ps(whole ? _mm512_loadu_ps(kr[j] + d) : _mm512_maskz_loadu_ps(m, kr[j] + d), qv, acc[j]);
    }
    return reduce16(acc);
}

/* out_h = inv_h * sum_t att_h[t] V[t] for HB (1 or 2) heads sharing V; 64
 * dims (4 registers per head) at a time; even and odd positions in separate
 * accumulators (8 independent FMA chains for one head). Each head's sums
 * come out the same whichever heads it shares V with, so results do not
 * depend on how heads are split across threads. */
INLINE AVX512 void vsum(int HB, float *const *p, const float *v, size_t rs, int t0, int t1, int hd,
                        float *const *out, const float *inv) {
    for (int d = 0; d < hd; d += 64) {
        __mmask16 m[4];
        UNROLL for (int c = 0; c < 4; c++) {
            const int left = hd - d - 16 * c;
            m[c] = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
        }
        enum { PAR = 2 };
        __m512 acc[PAR][2][4];
        UNROLL for (int s = 0; s < PAR; s++)
            UNROLL for (int h = 0; h < HB; h++)
                UNROLL for (int c = 0; c < 4; c++) acc[s][h][c] = _mm512_setzero_ps();
        int t = t0;
        for (; t + PAR - 1 <= t1; t += PAR)
            UNROLL for (int s = 0; s < PAR; s++) {
                const float *vr = v + (size_t)(t + s) * rs + d;
                if (t + s + 16 <= t1) /* as the K rows in attn_group */
                    UNROLL for (int c = 0; c < 4; c++) _mm_prefetch((const char *)(vr + 16 * rs + 16 * c), _MM_HINT_T0);
                __m512 vv[4];
                UNROLL for (int c = 0; c < 4; c++) vv[c] = _mm512_maskz_loadu_ps(m[c], vr + 16 * c);
                UNROLL for (int h = 0; h < HB; h++) {
                    const __m512 pb = _mm512_set1_ps(p[h][t + s]);
                    UNROLL for (int c = 0; c < 4; c++) acc[s][h][c] = _mm512_fmadd_ps(pb, vv[c], acc[s][h][c]);
                }
            }
        for (; t <= t1; t++) { /* one position left */
            const float *vr = v + (size_t)t * rs + d;
            UNROLL for (int h = 0; h < HB; h++) {
                const __m512 pb = _mm512_set1_ps(p[h][t]);
                UNROLL for (int c = 0; c < 4; c++)
                    acc[0][h][c] = _mm512_fmadd_ps(pb, _mm512_maskz_loadu_ps(m[c], vr + 16 * c), acc[0][h][c]);
            }
        }
        UNROLL for (int h = 0; h < HB; h++) {
            const __m512 iv = _mm512_set1_ps(inv[h]);
            UNROLL for (int c = 0; c < 4; c++) {
                __m512 s = acc[0][h][c];
                s = _mm512_add_ps(s, acc[1][h][c]);
                _mm512_mask_storeu_ps(out[h] + d + 16 * c, m[c], _mm512_mul_ps(s, iv));
            }
        }
    }
}

/* scores of head h in place: exp(s - max), returns 1 / their sum (summed
 * in double, as tk_softmax) */
INLINE AVX512 float softmax_unnormed(float *s, int n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 16 <= n; i += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + i));
    const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    if (i < n) mx = _mm512_mask_max_ps(mx, tail, mx, _mm512_maskz_loadu_ps(tail, s + i));
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512d sum0 = _mm512_setzero_pd(), sum1 = _mm512_setzero_pd();
    for (i = 0; i + 16 <= n; i += 16) {
        const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + i), m));
        _mm512_storeu_ps(s + i, e);
        sum0 = _mm512_add_pd(sum0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        sum1 = _mm512_add_pd(sum1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    if (i < n) {
        const __m512 e = _mm512_maskz_mov_ps(tail, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, s + i), m)));
        _mm512_mask_storeu_ps(s + i, tail, e);
        sum0 = _mm512_add_pd(sum0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        sum1 = _mm512_add_pd(sum1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    return (float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(sum0, sum1)));
}

#define VSUM_CASE(HB)                                                                    \
    case HB:                                                                             \
        vsum(HB, p + i, v, rs, a->t0, a->t1, hd, out + i, inv + i);                     \
        break;

/* One kv head's query heads [ha, hb) (at most ATTN_GROUP at a time):
 * their scores 16 positions at a time (each block of K rows read once for
 * all of them), softmax, then V two heads at a time. */
enum { ATTN_GROUP = 16 };
static AVX512 void attn_group(const tk_attn_row *a, int ha, int hb) {
    const int hd = a->hd, g = ha / a->group, whole = hd % 16 == 0;
    const size_t rs = a->kv_row;
    const float *k = a->k + (size_t)g * a->kv_head, *v = a->v + (size_t)g * a->kv_head;
    float *p[ATTN_GROUP], *out[ATTN_GROUP];
    float inv[ATTN_GROUP];
    const int nh = hb - ha;
    for (int i = 0; i < nh; i++) {
        p[i] = a->att + (size_t)(ha + i) * a->att_stride;
        out[i] = a->out + (size_t)(ha + i) * hd;
    }
    const __m512 scale = _mm512_set1_ps(a->scale);
    for (int t = a->t0; t <= a->t1; t += 16) {
        const int nt = a->t1 - t + 1 < 16 ? a->t1 - t + 1 : 16;
        const __mmask16 m = (__mmask16)((1u << nt) - 1);
        const float *kt = k + (size_t)t * rs;
        /* the next block's K rows (the cache is not in the LLC after a
         * decode tick has streamed the weights through it) */
        for (int j = 16; j < 32 && t + j <= a->t1; j++)
            for (int d = 0; d < hd; d += 16) _mm_prefetch((const char *)(kt + (size_t)j * rs + d), _MM_HINT_T0);
        for (int i = 0; i < nh; i++) {
            const float *q = a->q + (size_t)(ha + i) * hd;
            const __m512 s = whole ? dots16(1, q, kt, rs, hd, nt) : dots16(0, q, kt, rs, hd, nt);
            _mm512_mask_storeu_ps(p[i] + t, m, _mm512_mul_ps(s, scale));
        }
    }
    const int n = a->t1 - a->t0 + 1;
    for (int i = 0; i < nh; i++) inv[i] = softmax_unnormed(p[i] + a->t0, n);
    for (int i = 0; i < nh; i += 2) {
        switch (nh - i < 2 ? 1 : 2) { VSUM_CASE(1) VSUM_CASE(2) default: break; }
    }
}

static AVX512 void attention_avx512(const tk_attn_row *a, int h0, int h1) {
    for (int ha = h0; ha < h1;) {
        const int gend = (ha / a->group + 1) * a->group; /* first head of the next kv head */
        int hb = gend < h1 ? gend : h1;
        if (hb - ha > ATTN_GROUP) hb = ha + ATTN_GROUP;
        attn_group(a, ha, hb);
        ha = hb;
    }
}
#endif

float tk_vec_dot_f32(int isa, const float *a, const float *b, int n) {
#if defined(__x86_64__)
    if (tk_isa_has(isa, TK_ISA_AVX512)) return dot_avx512(a, b, n);
    if (tk_isa_has(isa, TK_ISA_AVX2)) return dot_avx2(a, b, n);
#else
    (void)isa;
#endif
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void tk_vec_axpy_f32(int isa, float *y, float a, const float *x, int n) {
#if defined(__x86_64__)
    if (tk_isa_has(isa, TK_ISA_AVX512)) { axpy_avx512(y, a, x, n); return; }
    if (tk_isa_has(isa, TK_ISA_AVX2)) { axpy_avx2(y, a, x, n); return; }
#else
    (void)isa;
#endif
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* the reference: per head, a dot product per position, softmax, an axpy
 * per position */
static void attention_ref(int isa, const tk_attn_row *a, int h0, int h1) {
    for (int h = h0; h < h1; h++) {
        const float *q = a->q + (size_t)h * a->hd;
        const float *k = a->k + (size_t)(h / a->group) * a->kv_head, *v = a->v + (size_t)(h / a->group) * a->kv_head;
        float *att = a->att + (size_t)h * a->att_stride;
        for (int t = a->t0; t <= a->t1; t++) att[t] = tk_vec_dot_f32(isa, q, k + (size_t)t * a->kv_row, a->hd) * a->scale;
        tk_softmax(att + a->t0, a->t1 + 1 - a->t0);
        float *out = a->out + (size_t)h * a->hd;
        memset(out, 0, (size_t)a->hd * sizeof(float));
        for (int t = a->t0; t <= a->t1; t++) tk_vec_axpy_f32(isa, out, att[t], v + (size_t)t * a->kv_row, a->hd);
    }
}

void tk_attention(int isa, const tk_attn_row *a, int h0, int h1) {
#if defined(__x86_64__)
    if (tk_isa_has(isa, TK_ISA_AVX512)) { attention_avx512(a, h0, h1); return; }
#endif
    attention_ref(isa, a, h0, h1);
}
