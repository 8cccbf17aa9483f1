/* ops.c: the forward pass's kernels (see ops.h). */
#include "ops.h"
#include "dtype.h"
#include "simd/gemm.h"
#include "simd/simd.h"
#include "pack.h"
#include "../base/status.h"

#include <math.h>
#include <string.h>

void tk_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float mean = (float)(ss / n);
    float scale = 1.0f / sqrtf(mean + eps);
    if (w)
        for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
    else
        for (int i = 0; i < n; i++) out[i] = x[i] * scale;
}

void tk_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += x[i];
    float mean = (float)(sum / n);
    double ss = 0.0;
    for (int i = 0; i < n; i++) {
        float v = x[i] - mean;
        ss += (double)(v * v);
    }
    float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++) {
        float y = (x[i] - mean) * scale;
        if (w) y *= w[i];
        if (b) y += b[i];
        out[i] = y;
    }
}

/* cs[2i], cs[2i+1] = cos, sin of pos * base^(-2i/rope_dim).
 * use_pow: compute each angle with powf (llama2.c's run.c); otherwise by
 * repeated multiplication with base^(-2/rope_dim) (ggml's rope), so each
 * engine's golden logits are reproduced to the last bits. */
void tk_rope_angles(float *cs, int rope_dim, int pos, float base, int use_pow) {
    float theta_scale = powf(base, -2.0f / (float)rope_dim);
    float theta = (float)pos;
    for (int i = 0; i < rope_dim / 2; i++) {
        float a = theta;
        if (use_pow) a = (float)pos * (1.0f / powf(base, (float)(2 * i) / (float)rope_dim));
        cs[2 * i] = cosf(a);
        cs[2 * i + 1] = sinf(a);
        theta *= theta_scale;
    }
}

/* x: [n_heads][head_dim]; rotates the first rope_dim dims of each head. */
void tk_rope(float *x, int n_heads, int head_dim, int rope_dim, const float *cs) {
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < rope_dim; i += 2) {
            float c = cs[i], s = cs[i + 1];
            float x0 = v[i], x1 = v[i + 1];
            v[i] = x0 * c - x1 * s;
            v[i + 1] = x0 * s + x1 * c;
        }
    }
}

void tk_rope_neox(float *x, int n_heads, int head_dim, int rope_dim, const float *cs) {
    int half = rope_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            float c = cs[2 * i], s = cs[2 * i + 1];
            float x0 = v[i], x1 = v[i + half];
            v[i] = x0 * c - x1 * s;
            v[i + half] = x0 * s + x1 * c;
        }
    }
}

void tk_softmax(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void tk_swiglu(float *gate, const float *up, int n) {
    for (int i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void tk_gelu(float *x, int n) {
    const float a = 0.044715f, c = 0.79788456080286535587989211986876f; /* sqrt(2/pi) */
    for (int i = 0; i < n; i++) {
        float v = x[i];
        if (v <= -10.0f) {
            x[i] = 0.0f;
        } else if (v < 10.0f) {
            v = tk_f16_to_f32(tk_f32_to_f16(v));
            x[i] = tk_f16_to_f32(tk_f32_to_f16(0.5f * v * (1.0f + tanhf(c * v * (1.0f + a * v * v)))));
        }
    }
}

size_t tk_act_bytes(int wtype, int64_t cols) {
    const tk_dtype_traits *t = tk_dtype_get(wtype);
    TK_ASSERT(t && t->vec_dot);
    return (size_t)tk_dtype_row_bytes(t->vec_dot_type, cols);
}

void tk_act_convert(int wtype, int isa, const float *x, int64_t cols, void *xq) {
    const tk_dtype_traits *t = tk_dtype_get(wtype);
    if (t->vec_dot_type == TK_F32) memcpy(xq, x, (size_t)cols * sizeof(float));
    else tk_dtype_get_isa(t->vec_dot_type, isa)->from_float(x, xq, cols);
}

void tk_matvec_rows(int wtype, int isa, const void *W, int64_t cols, const void *xq, float *y,
                    int64_t r0, int64_t r1) {
    const tk_dtype_traits *t = tk_dtype_get_isa(wtype, isa);
    size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
    const unsigned char *w = (const unsigned char *)W;
    if (r1 <= r0) return;
    if (t->vec_dot_rows) {
        t->vec_dot_rows(cols, w + (size_t)r0 * rb, rb, xq, y + r0, r1 - r0);
        return;
    }
    for (int64_t r = r0; r < r1; r++) y[r] = t->vec_dot(cols, w + (size_t)r * rb, xq);
}

/* The tiled kernel of wtype at level isa for a burst of n rows, or NULL.
 * Q8_0 / Q4_0 in the file's layout go on AMX tiles only for up to 16 rows
 * (a short prompt): past that the per-block transpose, repeated for every
 * 16 rows, costs more than the tiles save (simd/gemm_avx512.c). */
static tk_gemm_fn gemm_kernel(int wtype, int isa, int n) {
#if defined(__x86_64__)
    const int amx16 = n <= 16 && tk_isa_has(isa, TK_ISA_AMX);
    switch (wtype) {
    case TK_Q8_0: return amx16 ? tk_gemm_q8_0_amx : isa >= TK_ISA_AVX512_VNNI ? tk_gemm_q8_0_avx512vnni : NULL;
    case TK_Q4_0: return amx16 ? tk_gemm_q4_0_amx : isa >= TK_ISA_AVX512_VNNI ? tk_gemm_q4_0_avx512vnni : NULL;
    case TK_Q4_K: return isa >= TK_ISA_AVX512 ? tk_gemm_q4_K_avx512 : isa >= TK_ISA_AVX2 ? tk_gemm_q4_K_avx2 : NULL;
    case TK_Q6_K: return isa >= TK_ISA_AVX512 ? tk_gemm_q6_K_avx512 : isa >= TK_ISA_AVX2 ? tk_gemm_q6_K_avx2 : NULL;
    case TK_F32: return isa >= TK_ISA_AVX512 ? tk_gemm_f32_avx512 : NULL;
    case TK_F16: return isa >= TK_ISA_AVX512 ? tk_gemm_f16_avx512 : NULL;
    case TK_BF16:
        return isa >= TK_ISA_AVX512_BF16 ? tk_gemm_bf16_avx512bf16 : isa >= TK_ISA_AVX512 ? tk_gemm_bf16_avx512 : NULL;
    default: return NULL;
    }
#else
    (void)wtype, (void)isa, (void)n;
    return NULL;
#endif
}

/* The AMX kernel of wtype, or NULL: F16 and BF16 with cols a multiple
 * of 32 (a tile's depth). */
static tk_gemm_fn amx_kernel(int wtype, int isa, int64_t cols) {
#if defined(__x86_64__)
    if (!tk_isa_has(isa, TK_ISA_AMX) || cols % 32) return NULL;
    switch (wtype) {
    case TK_F16: return tk_gemm_f16_amx;
    case TK_BF16: return tk_gemm_bf16_amx;
    default: return NULL;
    }
#else
    (void)wtype, (void)isa, (void)cols;
    return NULL;
#endif
}

void tk_matmul_rows(int wtype, int isa, const void *W, int64_t cols, const void *xq, size_t xq_stride, int n,
                    float *dst, int64_t dst_stride, int64_t r0, int64_t r1) {
    if (r1 <= r0 || n <= 0) return;
    const size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
    const tk_gemm_fn amx = amx_kernel(wtype, isa, cols);
    const int64_t m32 = (r1 - r0) / 32 * 32;
    const int n16 = n / 16 * 16;
    if (amx && m32 && n16) {
        /* whole 32-row x 16-activation tiles on AMX, the edges below */
        amx((const unsigned char *)W + (size_t)r0 * rb, rb, cols, xq, xq_stride, n16, dst + r0, dst_stride, m32);
        if (r0 + m32 < r1) tk_matmul_rows(wtype, TK_ISA_AVX512_BF16, W, cols, xq, xq_stride, n16, dst, dst_stride, r0 + m32, r1);
        if (n16 < n)
            tk_matmul_rows(wtype, TK_ISA_AVX512_BF16, W, cols, (const char *)xq + (size_t)n16 * xq_stride, xq_stride, n - n16,
                           dst + (size_t)n16 * (size_t)dst_stride, dst_stride, r0, r1);
        return;
    }
    const tk_gemm_fn f = gemm_kernel(wtype, isa, n);
    if (f) {
        f((const unsigned char *)W + (size_t)r0 * rb, rb, cols, xq, xq_stride, n, dst + r0, dst_stride, r1 - r0);
        return;
    }
    /* dot products, a chunk of rows at a time so it stays in L1 for all n */
    enum { CHUNK = 16 };
    for (int64_t c0 = r0; c0 < r1; c0 += CHUNK) {
        const int64_t c1 = c0 + CHUNK < r1 ? c0 + CHUNK : r1;
        for (int b = 0; b < n; b++)
            tk_matvec_rows(wtype, isa, W, cols, (const char *)xq + (size_t)b * xq_stride, dst + (size_t)b * dst_stride,
                           c0, c1);
    }
}

void tk_matvec_packed(int wtype, int isa, const void *P, int64_t cols, const void *xq, float *y, int64_t r0, int64_t r1) {
    TK_ASSERT(r0 % 16 == 0 && r1 % 16 == 0 && tk_isa_has(isa, TK_ISA_AVX512_VNNI));
    if (r1 <= r0) return;
    const size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
    const unsigned char *p = (const unsigned char *)P + (size_t)r0 * rb;
#if defined(__x86_64__)
    if (wtype == TK_Q4_0) tk_q4_0_packed_rows_avx512vnni(cols, p, rb, xq, y + r0, (r1 - r0) / 16);
    else tk_q8_0_packed_rows_avx512vnni(cols, p, rb, xq, y + r0, (r1 - r0) / 16);
#else
    (void)p, (void)xq, (void)y;
#endif
}

void tk_matmul_packed(int wtype, int isa, const void *P, int64_t cols, const void *xq, size_t xq_stride, int n,
                      float *dst, int64_t dst_stride, int64_t r0, int64_t r1) {
    TK_ASSERT(r0 % 16 == 0 && r1 % 16 == 0 && tk_isa_has(isa, TK_ISA_AVX512_VNNI));
    if (r1 <= r0 || n <= 0) return;
    const size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
    const unsigned char *p = (const unsigned char *)P + (size_t)r0 * rb;
#if defined(__x86_64__)
    const int amx = tk_isa_has(isa, TK_ISA_AMX);
    const tk_gemm_fn f = wtype == TK_Q4_0 ? (amx ? tk_gemm_q4_0_packed_amx : tk_gemm_q4_0_packed_avx512vnni)
                                          : (amx ? tk_gemm_q8_0_packed_amx : tk_gemm_q8_0_packed_avx512vnni);
    f(p, rb, cols, xq, xq_stride, n, dst + r0, dst_stride, r1 - r0);
#else
    (void)p, (void)xq, (void)xq_stride, (void)dst, (void)dst_stride;
#endif
}

void tk_get_row(int wtype, int isa, const void *W, int64_t cols, int64_t row, float *out) {
    const tk_dtype_traits *t = tk_dtype_get_isa(wtype, isa);
    size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
    t->to_float((const unsigned char *)W + (size_t)row * rb, out, cols);
}
