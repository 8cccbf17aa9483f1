/* vec.h: float vector primitives for attention (the only op whose operands
 * are activations on both sides): dot product, y += a*x, and one query
 * row's attention over a cache, per instruction-set level (tk_isa). The
 * scalar versions are the reference; the SIMD ones sum in a different
 * order (several accumulators), so they agree to float rounding, not bit
 * for bit. */
#ifndef TK_TENSOR_VEC_H
#define TK_TENSOR_VEC_H

#include <stddef.h>

float tk_vec_dot_f32(int isa, const float *a, const float *b, int n);
void tk_vec_axpy_f32(int isa, float *y, float a, const float *x, int n);

/* One query row's attention: for each head h,
 *     att_h[t] = softmax over t in [t0, t1] of (q_h . K[t][g]) * scale
 *     out_h    = sum_t att_h[t] V[t][g],   g = h / group (its kv head)
 * q_h at q + h*hd, K[t][g] at k + g*kv_head + t*kv_row (V alike), out_h
 * at out + h*hd, scores at att + h*att_stride + t (scratch, t in [t0, t1]). */
typedef struct {
    const float *q, *k, *v;
    float *out, *att;
    size_t att_stride, kv_head, kv_row;
    int hd, group;
    int t0, t1;
    float scale;
} tk_attn_row;

/* heads [h0, h1) of row a. At AVX-512: the query heads of one kv head share
 * each K and V row while it is in L1, 16 scores come out of one transposing
 * reduction, exp is vectorized (within 2 ulp of expf); below it the
 * reference loop (dot, softmax, axpy per position) with that level's dot
 * and axpy. */
void tk_attention(int isa, const tk_attn_row *a, int h0, int h1);

#endif
