/* simd.h: the SIMD kernels of the dtype table, one set per instruction-set
 * level (see tk_isa in ../dtype.h), and the scalar references they fall back
 * to. Only dtype.c (which builds the per-ISA tables) and the kernels
 * themselves include this; everything else goes through tk_dtype_get_isa.
 *
 * Signatures are those of tk_dtype_traits: vec_dot(n, w, x), vec_dot_rows
 * (n, w, stride, x, out, nrows), from_float(src, dst, n). The files compile
 * to nothing on other architectures than x86-64. */
#ifndef TK_TENSOR_SIMD_SIMD_H
#define TK_TENSOR_SIMD_SIMD_H

#include "../dtype.h"

#include <string.h>

/* A Q4_K block's 8 scales (bytes 0..7) and 8 mins (bytes 8..15), unpacked
 * from its 12 bytes of 6-bit fields (layout in dtype_k.c) 32 bits at a
 * time; for the SIMD kernels of every level (little-endian). */
static inline void tk_q4k_scales(const uint8_t *s12, uint8_t out[16]) {
    uint32_t u[4];
    memcpy(u, s12, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4); /* mins 4..7 */
    const uint32_t m03 = u[1] & 0x3f3f3f3f;                                 /* mins 0..3 */
    u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);         /* scales 4..7 */
    u[2] = m03;
    u[0] &= 0x3f3f3f3f; /* scales 0..3 */
    memcpy(out, u, 16);
}

/* Scalar references (dtype_float.c, dtype_q.c). */
void tk_f32_to_float(const void *src, float *dst, int64_t n);
void tk_f32_from_float(const float *src, void *dst, int64_t n);
float tk_f32_vec_dot(int64_t n, const void *w, const void *x);
void tk_f16_to_float(const void *src, float *dst, int64_t n);
void tk_f16_from_float(const float *src, void *dst, int64_t n);
float tk_f16_vec_dot(int64_t n, const void *w, const void *x);
void tk_bf16_to_float(const void *src, float *dst, int64_t n);
void tk_bf16_from_float(const float *src, void *dst, int64_t n);
float tk_bf16_vec_dot(int64_t n, const void *w, const void *x);
void tk_q8_0_to_float(const void *src, float *dst, int64_t n);
void tk_q8_0_from_float(const float *src, void *dst, int64_t n);
float tk_q8_0_vec_dot(int64_t n, const void *w, const void *x);
void tk_q4_0_to_float(const void *src, float *dst, int64_t n);
void tk_q4_0_from_float(const float *src, void *dst, int64_t n);
float tk_q4_0_vec_dot(int64_t n, const void *w, const void *x);
void tk_q4_K_to_float(const void *src, float *dst, int64_t n);
void tk_q4_K_from_float(const float *src, void *dst, int64_t n);
float tk_q4_K_vec_dot(int64_t n, const void *w, const void *x);
void tk_q6_K_to_float(const void *src, float *dst, int64_t n);
void tk_q6_K_from_float(const float *src, void *dst, int64_t n);
float tk_q6_K_vec_dot(int64_t n, const void *w, const void *x);
void tk_q8_K_to_float(const void *src, float *dst, int64_t n);
void tk_q8_K_from_float(const float *src, void *dst, int64_t n);

#if defined(__x86_64__)
#define TK_SIMD_DECL(type, isa)                                                             \
    float tk_##type##_vec_dot_##isa(int64_t n, const void *w, const void *x);               \
    void tk_##type##_vec_dot_rows_##isa(int64_t n, const void *w, size_t stride, const void *x, \
                                        float *out, int64_t nrows);

/* simd/avx2.c: AVX2 + FMA + F16C */
TK_SIMD_DECL(f32, avx2)
TK_SIMD_DECL(f16, avx2)
TK_SIMD_DECL(bf16, avx2)
TK_SIMD_DECL(q8_0, avx2)
TK_SIMD_DECL(q4_0, avx2)
void tk_f16_from_float_avx2(const float *src, void *dst, int64_t n);
void tk_bf16_from_float_avx2(const float *src, void *dst, int64_t n);
void tk_q8_0_from_float_avx2(const float *src, void *dst, int64_t n);
/* simd/avx2_k.c: K-quants */
TK_SIMD_DECL(q4_K, avx2)
TK_SIMD_DECL(q6_K, avx2)

/* simd/avx512.c: AVX-512 F/BW/VL; VNNI; BF16 */
TK_SIMD_DECL(f32, avx512)
TK_SIMD_DECL(f16, avx512)
TK_SIMD_DECL(bf16, avx512)
void tk_f16_from_float_avx512(const float *src, void *dst, int64_t n);
void tk_bf16_from_float_avx512(const float *src, void *dst, int64_t n);
void tk_q8_0_from_float_avx512(const float *src, void *dst, int64_t n);
TK_SIMD_DECL(q8_0, avx512vnni)
TK_SIMD_DECL(q4_0, avx512vnni)
TK_SIMD_DECL(bf16, avx512bf16)
/* simd/avx512_k.c: K-quants (AVX-512 F/BW/VL) */
TK_SIMD_DECL(q4_K, avx512)
TK_SIMD_DECL(q6_K, avx512)
#undef TK_SIMD_DECL
/* Packed Q8_0 / Q4_0 (../pack.h): out[16 g + r] for ngroups groups of 16
 * rows, rb the file's bytes per row; n <= 32768. */
void tk_q8_0_packed_rows_avx512vnni(int64_t n, const void *P, size_t rb, const void *x, float *out, int64_t ngroups);
void tk_q4_0_packed_rows_avx512vnni(int64_t n, const void *P, size_t rb, const void *x, float *out, int64_t ngroups);
/* One group of 16 rows (rb bytes apart) of nb blocks, packed into P. */
void tk_pack16_avx512vnni(int q4, const void *W, size_t rb, int64_t nb, void *P);
#endif

#endif
