/* ops.h: the kernels the forward pass is made of.
 *
 * Shapes are in elements. A weight matrix W is stored as GGUF stores it:
 * `rows` rows of `cols` elements each (ne[0] = cols), row-major, in its
 * dtype's blocks; y = W x reads every row once. The per-dtype work
 * (conversions, dot products) goes through the dtype table of the model's
 * instruction-set level (tk_dtype_get_isa); the rest is plain C. */
#ifndef TK_TENSOR_OPS_H
#define TK_TENSOR_OPS_H

#include <stddef.h>
#include <stdint.h>

/* out[n] = x[n] / sqrt(mean(x^2) + eps) * w[n]      (w may be NULL: no scale) */
void tk_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/* LayerNorm: out[n] = (x - mean) / sqrt(var + eps) * w + b (mean and
 * variance summed in double; w, b may be NULL: no scale / no shift). */
void tk_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps);

/* Rotary position embedding, "normal" (GPT-J style, adjacent pairs) layout as
 * used by Llama GGUF files and llama2.c: for each head, pairs (2i, 2i+1) with
 * i < rope_dim/2 are rotated by pos * base^(-2i/rope_dim). cs holds the
 * precomputed cos/sin pairs for one position (tk_rope_angles). */
void tk_rope_angles(float *cs, int rope_dim, int pos, float base, int use_pow);
void tk_rope(float *x, int n_heads, int head_dim, int rope_dim, const float *cs);

/* The NEOX layout (GPT-NeoX, Qwen2, Phi-3; llama.cpp's LLAMA_ROPE_TYPE_NEOX):
 * for each head, pairs (i, i + rope_dim/2) with i < rope_dim/2 are rotated
 * by the same angles as tk_rope's pair i (cs from tk_rope_angles). */
void tk_rope_neox(float *x, int n_heads, int head_dim, int rope_dim, const float *cs);

/* In-place softmax of x[n] (max-subtracted, sum in double). */
void tk_softmax(float *x, int n);

/* gate[n] = silu(gate) * up   (SwiGLU) */
void tk_swiglu(float *gate, const float *up, int n);

/* Activation conversion for matvec: x[cols] (f32) -> the weight type's
 * vec_dot_type, with the kernels of level isa (tk_isa; every level gives
 * the same bytes). tk_act_bytes says how many bytes xq needs. */
/* x[n] = gelu(x) with the tanh approximation
 *     0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * as ggml's CPU backend computes it: through its f16 table, i.e. x rounded
 * to f16, the GELU of that in float, the result rounded to f16 (x <= -10:
 * 0; x >= 10: x). Results match llama.cpp bit for bit and are within
 * 2^-11 relative (+ 2^-24 absolute) of the exact GELU of x. */
void tk_gelu(float *x, int n);

size_t tk_act_bytes(int wtype, int64_t cols);
void tk_act_convert(int wtype, int isa, const float *x, int64_t cols, void *xq);

/* y[r] = dot(W row r, x) for r in [r0, r1) with the kernels of level isa:
 * W is `rows x cols` of type wtype, xq is x already converted by
 * tk_act_convert. */
void tk_matvec_rows(int wtype, int isa, const void *W, int64_t cols, const void *xq, float *y,
                    int64_t r0, int64_t r1);

/* Matrix x matrix (a burst of n activation rows, prefill):
 *     dst[b * dst_stride + r] = dot(W row r, xq row b)
 * for r in [r0, r1) and b in [0, n), xq row b at xq + b * xq_stride (each
 * converted by tk_act_convert). With tiled kernels where level isa has
 * them (avx512vnni: Q8_0, Q4_0; avx512: F32, F16, BF16; avx512bf16: BF16
 * with vdpbf16ps; amx: F16 and BF16 on tiles, simd/gemm_amx.c), else the dot products of tk_matvec_rows. Q8_0 and Q4_0
 * results are bit-identical to tk_matvec_rows's; F32 / F16 / BF16 are
 * within 1e-5 of them relative to sum |w x| (float accumulation). */
void tk_matmul_rows(int wtype, int isa, const void *W, int64_t cols, const void *xq, size_t xq_stride, int n,
                    float *dst, int64_t dst_stride, int64_t r0, int64_t r1);

/* tk_matvec_rows and tk_matmul_rows on a matrix packed by tk_pack_rows
 * (pack.h: Q8_0 / Q4_0 where tk_pack_wanted says so), r0 and r1 multiples
 * of 16. Bit-identical to the unpacked kernels. */
void tk_matvec_packed(int wtype, int isa, const void *P, int64_t cols, const void *xq, float *y, int64_t r0, int64_t r1);
void tk_matmul_packed(int wtype, int isa, const void *P, int64_t cols, const void *xq, size_t xq_stride, int n,
                      float *dst, int64_t dst_stride, int64_t r0, int64_t r1);

/* out[cols] = row `row` of W as floats (embedding lookup). */
void tk_get_row(int wtype, int isa, const void *W, int64_t cols, int64_t row, float *out);

#endif
