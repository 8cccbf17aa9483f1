/* dtype.h: the weight/activation type table.
 *
 * Type ids are GGUF's (ggml_type) so a file's type field indexes the table
 * directly. Each entry says how many elements a block holds and how many
 * bytes it takes, how to turn a row into floats and back, and how to take a
 * dot product of a weight row with an activation row that was first
 * converted to `vec_dot_type` (llama.cpp's scheme: Q8_0/Q4_0 weights meet
 * Q8_0 activations, Q4_K/Q6_K meet Q8_K, F16 meets F16, BF16 meets BF16,
 * F32 meets F32).
 *
 * Types that are only known by size (Q2_K/Q3_K/Q5_K, legacy Q4_1/Q5_x, ...) have
 * NULL function pointers: a file that uses them can be inspected but not run
 * until their kernels exist. */
#ifndef TK_TENSOR_DTYPE_H
#define TK_TENSOR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum tk_dtype {
    TK_F32 = 0,
    TK_F16 = 1,
    TK_Q4_0 = 2,
    TK_Q4_1 = 3,
    TK_Q5_0 = 6,
    TK_Q5_1 = 7,
    TK_Q8_0 = 8,
    TK_Q8_1 = 9,
    TK_Q2_K = 10,
    TK_Q3_K = 11,
    TK_Q4_K = 12,
    TK_Q5_K = 13,
    TK_Q6_K = 14,
    TK_Q8_K = 15,
    TK_I8 = 24,
    TK_I16 = 25,
    TK_I32 = 26,
    TK_I64 = 27,
    TK_F64 = 28,
    TK_BF16 = 30,
    TK_DTYPE_COUNT = 40,
} tk_dtype;

/* to_float / from_float: n is a multiple of block. */
typedef void (*tk_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*tk_from_float_fn)(const float *src, void *dst, int64_t n);
/* Dot product of one weight row (this type) with one activation row
 * (vec_dot_type), n elements, n a multiple of block. */
typedef float (*tk_vec_dot_fn)(int64_t n, const void *w, const void *x);
/* out[r] = vec_dot(n, w + r * stride, x) for r in [0, nrows): several
 * weight rows against one activation row (stride in bytes). Each out[r] is
 * bit-identical to what vec_dot of the same table gives for that row, so
 * results do not depend on how rows are split across threads. */
typedef void (*tk_vec_dot_rows_fn)(int64_t n, const void *w, size_t stride, const void *x,
                                   float *out, int64_t nrows);

typedef struct tk_dtype_traits {
    const char *name;      /* "Q8_0"                                        */
    int block;             /* elements per block                            */
    int bytes;             /* bytes per block                               */
    tk_to_float_fn to_float;
    tk_from_float_fn from_float; /* reference quantizer (round as GGUF does) */
    int vec_dot_type;      /* type the activation row is converted to       */
    tk_vec_dot_fn vec_dot;
    tk_vec_dot_rows_fn vec_dot_rows; /* optional; NULL: loop over vec_dot    */
} tk_dtype_traits;

/* NULL for an id tick does not know. The scalar reference kernels: the
 * oracle every SIMD table is tested against. */
const tk_dtype_traits *tk_dtype_get(int type);

/* ---- instruction sets ------------------------------------------------------
 *
 * One const table per ISA, each level a superset of the one below it (on
 * every CPU that ships it). A table holds only the types it has kernels
 * for; tk_dtype_get_isa falls back per type to the next lower level, then
 * to the scalar table. The SIMD kernels give the same bytes as the scalar
 * ones for every conversion (from_float) and the same dot products up to
 * the order of float additions (see tests/test_simd.c for the bounds).
 *
 *   scalar      portable C11, the reference
 *   avx2        AVX2 + FMA + F16C                 (Haswell, Zen 1)
 *   avx512      + AVX-512 F, BW, VL               (Skylake-X)
 *   avx512vnni  + AVX-512 VNNI: int8 dot products (Cascade Lake, Ice Lake)
 *   avx512bf16  + AVX-512 BF16: bf16 dot products (Cooper Lake, Sapphire
 *               Rapids, Zen 4; every such CPU also has VNNI)
 *   amx         + AMX tiles with BF16 and INT8 (Sapphire Rapids and later;
 *               Linux 5.16+ grants the tile state): prefill GEMM of F16,
 *               BF16, Q8_0, Q4_0
 *   neon        aarch64 Advanced SIMD (ARMv8.0; every aarch64 CPU)
 *   neon-dotprod + SDOT: int8 dot products (ARMv8.2 dotprod; Cortex-A55/
 *               A76 and later, Neoverse, Apple M1)
 *
 * The levels form two chains, one per architecture: scalar < avx2 <
 * avx512 < avx512vnni < avx512bf16 < amx on x86-64, scalar < neon < neon-dotprod
 * on aarch64. The enum keeps the x86-64 numbering and appends the ARM
 * levels, so compare levels with tk_isa_has, not with < or >=.
 *
 * Kernels are compiled with per-function target attributes (x86-64: avx2 and
 * up; aarch64: dotprod), so the binary runs on any CPU of its architecture;
 * only the levels this CPU and its OS support may be used; the levels of the
 * other architecture are never supported. */
typedef enum tk_isa {
    TK_ISA_SCALAR,
    TK_ISA_AVX2,
    TK_ISA_AVX512,
    TK_ISA_AVX512_VNNI,
    TK_ISA_AVX512_BF16,
    TK_ISA_AMX, /* avx512bf16 + AMX tiles (amx-bf16): F16 / BF16 prefill */
    TK_ISA_NEON,
    TK_ISA_NEON_DOTPROD,
    TK_ISA_COUNT
} tk_isa;

/* 1 if level isa includes everything of level `level` (isa is `level` or
 * above it on the same chain; every level includes scalar), else 0; 0 for
 * out-of-range values. tk_isa_has(TK_ISA_NEON, TK_ISA_AVX2) is 0 although
 * TK_ISA_NEON > TK_ISA_AVX2. */
static inline int tk_isa_has(int isa, int level) {
    if (isa < 0 || isa >= TK_ISA_COUNT || level < 0 || level >= TK_ISA_COUNT) return 0;
    if (level == TK_ISA_SCALAR) return 1;
    if (level <= TK_ISA_AMX) return isa >= level && isa <= TK_ISA_AMX; /* x86-64 */
    return isa >= level;                                                               /* aarch64 */
}

/* The kernels of `type` at `isa` (falling back per type as above); NULL
 * for an unknown type, or an isa out of range. Does not check that this
 * CPU supports isa: see tk_isa_supported. */
const tk_dtype_traits *tk_dtype_get_isa(int type, int isa);
/* The best level this CPU and OS support (TK_ISA_SCALAR at worst). */
int tk_isa_detect(void);
/* 1 if this CPU and OS can run level isa, else 0. */
int tk_isa_supported(int isa);
/* "avx2", "neon-dotprod"; "?" for out of range. */
const char *tk_isa_name(int isa);
/* Case-insensitive lookup ("AVX2"); -1 if unknown. */
int tk_isa_from_name(const char *name);
const char *tk_dtype_name(int type); /* "?" for unknown */
/* Case-insensitive lookup by name ("q8_0"); -1 if unknown. */
int tk_dtype_from_name(const char *name);

/* Bytes of a row of n elements; 0 if n is not a multiple of the block or
 * the type is unknown. */
uint64_t tk_dtype_row_bytes(int type, int64_t n);

/* Scalar half-precision conversions (IEEE binary16 and bfloat16), exact
 * round-to-nearest-even like ggml's reference. */
float tk_f16_to_f32(uint16_t h);
uint16_t tk_f32_to_f16(float f);
float tk_bf16_to_f32(uint16_t h);
uint16_t tk_f32_to_bf16(float f);

/* Block layouts, exactly as in GGUF files (little-endian).
 *
 *  Q8_0, 32 elements, 34 bytes:   x[i] = d * qs[i]
 *  +--------+----------------------------------+
 *  | d: f16 | qs[32]: int8                     |
 *  +--------+----------------------------------+
 *
 *  Q4_0, 32 elements, 18 bytes:   x[i] = d * (q[i] - 8)
 *  +--------+----------------------------------+
 *  | d: f16 | qs[16]: low nibble = q[j],       |
 *  |        |         high nibble = q[j + 16]  |
 *  +--------+----------------------------------+
 */
typedef struct { uint16_t d; int8_t qs[32]; } tk_block_q8_0;
typedef struct { uint16_t d; uint8_t qs[16]; } tk_block_q4_0;
_Static_assert(sizeof(tk_block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(tk_block_q4_0) == 18, "Q4_0 block is 18 bytes");

/* K-quants: super-blocks of 256 elements (diagrams in dtype_k.c).
 *
 *  Q4_K, 144 bytes: 8 sub-blocks of 32, each with a 6-bit scale and min
 *    x = d * sc[j] * q - dmin * m[j],  q in 0..15
 *  Q6_K, 210 bytes: 16 sub-blocks of 16, each with an int8 scale
 *    x = d * sc[j] * (q - 32),  q in 0..63
 *  Q8_K, 292 bytes: the activations K-quant weights meet; a float scale
 *    and the sums of each 16 quants (bsums), x = d * qs */
#define TK_QK_K 256
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } tk_block_q4_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } tk_block_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } tk_block_q8_K;
_Static_assert(sizeof(tk_block_q4_K) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(tk_block_q6_K) == 210, "Q6_K block is 210 bytes");
_Static_assert(sizeof(tk_block_q8_K) == 292, "Q8_K block is 292 bytes");

#endif
