/* gemm.h: matrix x matrix kernels (weights x a burst of activation rows),
 * used by tk_matmul_rows (ops.c) for prefill. Only ops.c and the kernels
 * include this.
 *
 * Every kernel computes, for r < nrows and b < n,
 *     dst[b * dst_stride + r] = dot(W row r, xq row b)
 * with W rows `wstride` bytes apart (the weight type's row bytes) and
 * activation rows `xstride` bytes apart, already in the weight type's
 * vec_dot_type (tk_act_convert).
 *
 *   Q8_0 / Q4_0 (avx512vnni): bit-identical to the dtype table's vec_dot
 *     (exact int32 block sums, the reference's float scaling, blocks added
 *     in order), so prefill and decode give the same logits.
 *   Q4_K / Q6_K (avx2, avx512: simd/avx2_k.c, avx512_k.c): each weight block unpacked once
 *     for 4 activation rows, then vec_dot's steps: bit-identical to it.
 *   F32 / F16 / BF16 (avx512; BF16 also avx512bf16): float FMA
 *     accumulation, within 1e-5 of the reference relative to sum |w x|.
 *   F16 / BF16 (amx, gemm_amx.c): values split exactly into BF16 pieces,
 *     every cross product exact, F32 sums: the same bound. */
#ifndef TK_TENSOR_SIMD_GEMM_H
#define TK_TENSOR_SIMD_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* The 64-byte operand of ldtilecfg (palette 1), for the AMX kernels. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tk_amx_tilecfg;

typedef void (*tk_gemm_fn)(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                           float *dst, int64_t dst_stride, int64_t nrows);

#if defined(__x86_64__)
void tk_gemm_q8_0_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                             float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q4_0_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                             float *dst, int64_t dst_stride, int64_t nrows);
/* the same on packed weights (../pack.h; nrows a multiple of 16) */
void tk_gemm_q8_0_packed_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                                    float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q4_0_packed_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                                    float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q4_K_avx2(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                       float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q6_K_avx2(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                       float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q4_K_avx512(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                         float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q6_K_avx512(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                         float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_f32_avx512(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                        float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_f16_avx512(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                        float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_bf16_avx512(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                         float *dst, int64_t dst_stride, int64_t nrows);
/* Q8_0 / Q4_0 on AMX tiles (gemm_avx512.c; amx-int8): bit-identical to the
 * VNNI kernels above; packed: nrows a multiple of 16 */
void tk_gemm_q8_0_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                      int64_t dst_stride, int64_t nrows);
void tk_gemm_q4_0_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                      int64_t dst_stride, int64_t nrows);
void tk_gemm_q8_0_packed_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                             float *dst, int64_t dst_stride, int64_t nrows);
void tk_gemm_q4_0_packed_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                             float *dst, int64_t dst_stride, int64_t nrows);
/* AMX tiles (gemm_amx.c): nrows a multiple of 32, cols of 32, n of 16 */
void tk_gemm_f16_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                     int64_t dst_stride, int64_t nrows);
void tk_gemm_bf16_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                      int64_t dst_stride, int64_t nrows);
void tk_gemm_bf16_avx512bf16(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                             float *dst, int64_t dst_stride, int64_t nrows);
#endif

#endif
