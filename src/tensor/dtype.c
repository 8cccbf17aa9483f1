/* dtype.c: the type table. Kernels for each family live in their own files
 * (dtype_float.c, dtype_q.c); this file only ties them together. */
#include "dtype.h"

#include <ctype.h>
#include <string.h>

/* Provided by the family files. */
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

static const tk_dtype_traits table[TK_DTYPE_COUNT] = {
    [TK_F32]  = {"F32", 1, 4, tk_f32_to_float, tk_f32_from_float, TK_F32, tk_f32_vec_dot},
    [TK_F16]  = {"F16", 1, 2, tk_f16_to_float, tk_f16_from_float, TK_F16, tk_f16_vec_dot},
    [TK_BF16] = {"BF16", 1, 2, tk_bf16_to_float, tk_bf16_from_float, TK_BF16, tk_bf16_vec_dot},
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float, TK_Q8_0, tk_q8_0_vec_dot},
    [TK_Q4_0] = {"Q4_0", 32, 18, tk_q4_0_to_float, tk_q4_0_from_float, TK_Q8_0, tk_q4_0_vec_dot},
    /* Known by size only. */
    [TK_Q4_1] = {"Q4_1", 32, 20, 0, 0, 0, 0},
    [TK_Q5_0] = {"Q5_0", 32, 22, 0, 0, 0, 0},
    [TK_Q5_1] = {"Q5_1", 32, 24, 0, 0, 0, 0},
    [TK_Q8_1] = {"Q8_1", 32, 36, 0, 0, 0, 0},
    [TK_Q2_K] = {"Q2_K", 256, 84, 0, 0, 0, 0},
    [TK_Q3_K] = {"Q3_K", 256, 110, 0, 0, 0, 0},
    [TK_Q4_K] = {"Q4_K", 256, 144, 0, 0, 0, 0},
    [TK_Q5_K] = {"Q5_K", 256, 176, 0, 0, 0, 0},
    [TK_Q6_K] = {"Q6_K", 256, 210, 0, 0, 0, 0},
    [TK_Q8_K] = {"Q8_K", 256, 292, 0, 0, 0, 0},
    [TK_I8]   = {"I8", 1, 1, 0, 0, 0, 0},
    [TK_I16]  = {"I16", 1, 2, 0, 0, 0, 0},
    [TK_I32]  = {"I32", 1, 4, 0, 0, 0, 0},
    [TK_I64]  = {"I64", 1, 8, 0, 0, 0, 0},
    [TK_F64]  = {"F64", 1, 8, 0, 0, 0, 0},
};

const tk_dtype_traits *tk_dtype_get(int type) {
    if (type < 0 || type >= TK_DTYPE_COUNT || !table[type].name) return NULL;
    return &table[type];
}

const char *tk_dtype_name(int type) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    return t ? t->name : "?";
}

int tk_dtype_from_name(const char *name) {
    for (int i = 0; i < TK_DTYPE_COUNT; i++) {
        const char *a = table[i].name, *b = name;
        if (!a) continue;
        while (*a && *b && toupper((unsigned char)*a) == toupper((unsigned char)*b)) a++, b++;
        if (!*a && !*b) return i;
    }
    return -1;
}

uint64_t tk_dtype_row_bytes(int type, int64_t n) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    if (!t || n < 0 || n % t->block) return 0;
    return (uint64_t)(n / t->block) * (uint64_t)t->bytes;
}
