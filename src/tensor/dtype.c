/* dtype.c: the type tables. Kernels for each family live in their own files
 * (dtype_float.c, dtype_q.c: the scalar references; simd/avx2.c,
 * simd/avx512.c, simd/neon.c: the SIMD versions); this file only ties them together,
 * one const table per instruction-set level, and says which level this CPU
 * runs. */
#include "dtype.h"
#include "simd/simd.h"
#include "../base/cpu.h"

#include <ctype.h>
#include <string.h>

static const tk_dtype_traits table[TK_DTYPE_COUNT] = {
    [TK_F32]  = {"F32", 1, 4, tk_f32_to_float, tk_f32_from_float, TK_F32, tk_f32_vec_dot, NULL},
    [TK_F16]  = {"F16", 1, 2, tk_f16_to_float, tk_f16_from_float, TK_F16, tk_f16_vec_dot, NULL},
    [TK_BF16] = {"BF16", 1, 2, tk_bf16_to_float, tk_bf16_from_float, TK_BF16, tk_bf16_vec_dot, NULL},
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float, TK_Q8_0, tk_q8_0_vec_dot, NULL},
    [TK_Q4_0] = {"Q4_0", 32, 18, tk_q4_0_to_float, tk_q4_0_from_float, TK_Q8_0, tk_q4_0_vec_dot, NULL},
    [TK_Q4_K] = {"Q4_K", 256, 144, tk_q4_K_to_float, tk_q4_K_from_float, TK_Q8_K, tk_q4_K_vec_dot, NULL},
    [TK_Q6_K] = {"Q6_K", 256, 210, tk_q6_K_to_float, tk_q6_K_from_float, TK_Q8_K, tk_q6_K_vec_dot, NULL},
    /* Q8_K: activations only (no weight kernel meets it as weights). */
    [TK_Q8_K] = {"Q8_K", 256, 292, tk_q8_K_to_float, tk_q8_K_from_float, 0, 0, 0},
    /* Known by size only. */
    [TK_Q4_1] = {"Q4_1", 32, 20, 0, 0, 0, 0, 0},
    [TK_Q5_0] = {"Q5_0", 32, 22, 0, 0, 0, 0, 0},
    [TK_Q5_1] = {"Q5_1", 32, 24, 0, 0, 0, 0, 0},
    [TK_Q8_1] = {"Q8_1", 32, 36, 0, 0, 0, 0, 0},
    [TK_Q2_K] = {"Q2_K", 256, 84, 0, 0, 0, 0, 0},
    [TK_Q3_K] = {"Q3_K", 256, 110, 0, 0, 0, 0, 0},
    [TK_Q5_K] = {"Q5_K", 256, 176, 0, 0, 0, 0, 0},
    [TK_I8]   = {"I8", 1, 1, 0, 0, 0, 0, 0},
    [TK_I16]  = {"I16", 1, 2, 0, 0, 0, 0, 0},
    [TK_I32]  = {"I32", 1, 4, 0, 0, 0, 0, 0},
    [TK_I64]  = {"I64", 1, 8, 0, 0, 0, 0, 0},
    [TK_F64]  = {"F64", 1, 8, 0, 0, 0, 0, 0},
};

const tk_dtype_traits *tk_dtype_get(int type) {
    if (type < 0 || type >= TK_DTYPE_COUNT || !table[type].name) return NULL;
    return &table[type];
}

/* ---- per-ISA tables ----------------------------------------------------------
 *
 * Each level lists only the types it has kernels for, each entry complete
 * (kernels it does not improve on are taken from the level below by name);
 * a type a level does not list falls back to the next lower level. */

#if defined(__x86_64__)
#define ROWS(type, isa) tk_##type##_vec_dot_##isa, tk_##type##_vec_dot_rows_##isa

static const tk_dtype_traits table_avx2[TK_DTYPE_COUNT] = {
    [TK_F32]  = {"F32", 1, 4, tk_f32_to_float, tk_f32_from_float, TK_F32, ROWS(f32, avx2)},
    [TK_F16]  = {"F16", 1, 2, tk_f16_to_float, tk_f16_from_float_avx2, TK_F16, ROWS(f16, avx2)},
    [TK_BF16] = {"BF16", 1, 2, tk_bf16_to_float, tk_bf16_from_float_avx2, TK_BF16, ROWS(bf16, avx2)},
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float_avx2, TK_Q8_0, ROWS(q8_0, avx2)},
    [TK_Q4_0] = {"Q4_0", 32, 18, tk_q4_0_to_float, tk_q4_0_from_float, TK_Q8_0, ROWS(q4_0, avx2)},
    [TK_Q4_K] = {"Q4_K", 256, 144, tk_q4_K_to_float, tk_q4_K_from_float, TK_Q8_K, ROWS(q4_K, avx2)},
    [TK_Q6_K] = {"Q6_K", 256, 210, tk_q6_K_to_float, tk_q6_K_from_float, TK_Q8_K, ROWS(q6_K, avx2)},
};

static const tk_dtype_traits table_avx512[TK_DTYPE_COUNT] = {
    [TK_F32]  = {"F32", 1, 4, tk_f32_to_float, tk_f32_from_float, TK_F32, ROWS(f32, avx512)},
    [TK_F16]  = {"F16", 1, 2, tk_f16_to_float, tk_f16_from_float_avx512, TK_F16, ROWS(f16, avx512)},
    [TK_BF16] = {"BF16", 1, 2, tk_bf16_to_float, tk_bf16_from_float_avx512, TK_BF16, ROWS(bf16, avx512)},
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float_avx512, TK_Q8_0, ROWS(q8_0, avx2)},
    [TK_Q4_K] = {"Q4_K", 256, 144, tk_q4_K_to_float, tk_q4_K_from_float, TK_Q8_K, ROWS(q4_K, avx512)},
    [TK_Q6_K] = {"Q6_K", 256, 210, tk_q6_K_to_float, tk_q6_K_from_float, TK_Q8_K, ROWS(q6_K, avx512)},
};

static const tk_dtype_traits table_avx512vnni[TK_DTYPE_COUNT] = {
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float_avx512, TK_Q8_0, ROWS(q8_0, avx512vnni)},
    [TK_Q4_0] = {"Q4_0", 32, 18, tk_q4_0_to_float, tk_q4_0_from_float, TK_Q8_0, ROWS(q4_0, avx512vnni)},
};

static const tk_dtype_traits table_avx512bf16[TK_DTYPE_COUNT] = {
    [TK_BF16] = {"BF16", 1, 2, tk_bf16_to_float, tk_bf16_from_float_avx512, TK_BF16, ROWS(bf16, avx512bf16)},
};
#undef ROWS

/* amx: the same vector kernels as avx512bf16 (tiles only run prefill GEMM,
 * simd/gemm_amx.c) */
static const tk_dtype_traits table_amx[TK_DTYPE_COUNT] = {{0}};

static const tk_dtype_traits *const tables[TK_ISA_COUNT] = {
    table, table_avx2, table_avx512, table_avx512vnni, table_avx512bf16, table_amx, table, table,
};
#elif defined(__aarch64__)
/* simd/neon.c. (These declarations belong in simd/simd.h beside the x86
 * ones; kept here for now.) */
#define TK_NEON_DECL(type, isa)                                                             \
    float tk_##type##_vec_dot_##isa(int64_t n, const void *w, const void *x);               \
    void tk_##type##_vec_dot_rows_##isa(int64_t n, const void *w, size_t stride, const void *x, \
                                        float *out, int64_t nrows);
TK_NEON_DECL(f32, neon)
TK_NEON_DECL(f16, neon)
TK_NEON_DECL(bf16, neon)
TK_NEON_DECL(q8_0, neon)
TK_NEON_DECL(q4_0, neon)
TK_NEON_DECL(q8_0, neondot)
TK_NEON_DECL(q4_0, neondot)
TK_NEON_DECL(q4_K, neon) /* simd/neon_k.c */
TK_NEON_DECL(q6_K, neon)
#undef TK_NEON_DECL
void tk_f16_from_float_neon(const float *src, void *dst, int64_t n);
void tk_bf16_from_float_neon(const float *src, void *dst, int64_t n);
void tk_q8_0_from_float_neon(const float *src, void *dst, int64_t n);

#define ROWS(type, isa) tk_##type##_vec_dot_##isa, tk_##type##_vec_dot_rows_##isa

static const tk_dtype_traits table_neon[TK_DTYPE_COUNT] = {
    [TK_F32]  = {"F32", 1, 4, tk_f32_to_float, tk_f32_from_float, TK_F32, ROWS(f32, neon)},
    [TK_F16]  = {"F16", 1, 2, tk_f16_to_float, tk_f16_from_float_neon, TK_F16, ROWS(f16, neon)},
    [TK_BF16] = {"BF16", 1, 2, tk_bf16_to_float, tk_bf16_from_float_neon, TK_BF16, ROWS(bf16, neon)},
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float_neon, TK_Q8_0, ROWS(q8_0, neon)},
    [TK_Q4_0] = {"Q4_0", 32, 18, tk_q4_0_to_float, tk_q4_0_from_float, TK_Q8_0, ROWS(q4_0, neon)},
    /* K-quants: neon-dotprod has nothing better (SDOT mixes the lanes the
     * reference keeps apart), so it falls back to these */
    [TK_Q4_K] = {"Q4_K", 256, 144, tk_q4_K_to_float, tk_q4_K_from_float, TK_Q8_K, ROWS(q4_K, neon)},
    [TK_Q6_K] = {"Q6_K", 256, 210, tk_q6_K_to_float, tk_q6_K_from_float, TK_Q8_K, ROWS(q6_K, neon)},
};

static const tk_dtype_traits table_neondot[TK_DTYPE_COUNT] = {
    [TK_Q8_0] = {"Q8_0", 32, 34, tk_q8_0_to_float, tk_q8_0_from_float_neon, TK_Q8_0, ROWS(q8_0, neondot)},
    [TK_Q4_0] = {"Q4_0", 32, 18, tk_q4_0_to_float, tk_q4_0_from_float, TK_Q8_0, ROWS(q4_0, neondot)},
};
#undef ROWS

static const tk_dtype_traits *const tables[TK_ISA_COUNT] = {
    table, table, table, table, table, table, table_neon, table_neondot,
};
#else
static const tk_dtype_traits *const tables[TK_ISA_COUNT] = {table, table, table, table, table, table, table, table};
#endif

/* The level each one builds on: its table falls back there (see dtype.h:
 * one chain per architecture). */
static const int isa_below[TK_ISA_COUNT] = {
    [TK_ISA_SCALAR] = TK_ISA_SCALAR,
    [TK_ISA_AVX2] = TK_ISA_SCALAR,
    [TK_ISA_AVX512] = TK_ISA_AVX2,
    [TK_ISA_AVX512_VNNI] = TK_ISA_AVX512,
    [TK_ISA_AVX512_BF16] = TK_ISA_AVX512_VNNI,
    [TK_ISA_AMX] = TK_ISA_AVX512_BF16,
    [TK_ISA_NEON] = TK_ISA_SCALAR,
    [TK_ISA_NEON_DOTPROD] = TK_ISA_NEON,
};

const tk_dtype_traits *tk_dtype_get_isa(int type, int isa) {
    if (type < 0 || type >= TK_DTYPE_COUNT || isa < 0 || isa >= TK_ISA_COUNT) return NULL;
    for (int l = isa; l != TK_ISA_SCALAR; l = isa_below[l])
        if (tables[l][type].name) return &tables[l][type];
    return tk_dtype_get(type);
}

static const char *const isa_names[TK_ISA_COUNT] = {"scalar", "avx2", "avx512", "avx512vnni", "avx512bf16",
                                                   "amx", "neon", "neon-dotprod"};

const char *tk_isa_name(int isa) { return isa >= 0 && isa < TK_ISA_COUNT ? isa_names[isa] : "?"; }

int tk_isa_from_name(const char *name) {
    for (int i = 0; name && i < TK_ISA_COUNT; i++) {
        const char *a = isa_names[i], *b = name;
        while (*a && *b && *a == tolower((unsigned char)*b)) a++, b++;
        if (!*a && !*b) return i;
    }
    return -1;
}

/* Within a chain the levels are nested, and the other architecture's
 * levels are never there, so the best one is the highest whose features are
 * all there. */
static int isa_ok(const tk_cpu *c, int isa) {
    int avx2 = c->avx2 && c->fma && c->f16c;
    int avx512 = avx2 && c->avx512f && c->avx512bw && c->avx512vl;
    switch (isa) {
    case TK_ISA_SCALAR: return 1;
    case TK_ISA_AVX2: return avx2;
    case TK_ISA_AVX512: return avx512;
    case TK_ISA_AVX512_VNNI: return avx512 && c->avx512_vnni;
    case TK_ISA_AVX512_BF16: return avx512 && c->avx512_vnni && c->avx512_bf16;
    case TK_ISA_AMX: return avx512 && c->avx512_vnni && c->avx512_bf16 && c->amx_bf16 && c->amx_int8;
#if defined(__aarch64__)
    case TK_ISA_NEON: return c->neon;
    case TK_ISA_NEON_DOTPROD: return c->neon && c->dotprod;
#endif
    default: return 0;
    }
}

int tk_isa_supported(int isa) {
    tk_cpu c;
    tk_cpu_features(&c);
    return isa_ok(&c, isa);
}

int tk_isa_detect(void) {
    tk_cpu c;
    tk_cpu_features(&c);
    int best = TK_ISA_SCALAR;
    for (int i = TK_ISA_SCALAR + 1; i < TK_ISA_COUNT; i++)
        if (isa_ok(&c, i)) best = i;
    return best;
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
