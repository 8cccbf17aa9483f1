/* vec.h: float vector primitives for attention (the only op whose operands
 * are activations on both sides): dot product and y += a*x, per
 * instruction-set level (tk_isa). The scalar versions are the reference;
 * the SIMD ones sum in a different order (several accumulators), so they
 * agree to float rounding, not bit for bit. */
#ifndef TK_TENSOR_VEC_H
#define TK_TENSOR_VEC_H

float tk_vec_dot_f32(int isa, const float *a, const float *b, int n);
void tk_vec_axpy_f32(int isa, float *y, float a, const float *x, int n);

#endif
