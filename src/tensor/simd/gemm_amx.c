/* gemm_amx.c: F16 and BF16 weights x a burst of activation rows
 * (gemm.h) on AMX tiles (Sapphire Rapids and later: amx-tile, amx-bf16).
 *
 * tdpbf16ps multiplies BF16 pairs and accumulates in F32:
 *     C[16 x 16] += A[16 x 32] . B[32 x 16]
 * a 16 x 16 x 32 block in one instruction, about 16 times what one AVX-512
 * FMA stream does per cycle. BF16 has an 8-bit significand, so a value of
 * a wider type is split exactly into BF16 pieces, each the next 8 bits of
 * the significand (truncation: p1 = v with its low 16 bits cleared, p2 =
 * v - p1): F16 (11 bits) into 2. The activations (F16 too, the weights'
 * vec_dot_type) are split the same way. Then w x = sum over i, j of wi xj:
 * each of the 4 cross products (1 for BF16) is exact in F32 and summed in
 * F32. So each path keeps what its AVX-512 kernel keeps (exact products,
 * F32 sums; tdpbf16ps flushes denormal inputs, i.e. pieces below 2^-126):
 * within 1e-5 of the reference relative to sum |w x|, like the other float
 * kernels. (F32 split into 3 pieces, 9 exact products, measured slower
 * than AVX-512's FMA here: 116 vs 158 GFLOP/s at 2048 x 768 x 128, so F32
 * stays there.)
 *
 * Layout: C is dst itself (rows = activation rows, 16 weight rows across,
 * stride dst_stride): no transposition of results. A = activation rows
 * (row-major BF16 pieces, converted once per chunk of columns and group of
 * weight rows). B = weight rows in the "pairs" layout tdpbf16ps wants:
 * B[p][r] = the dword (W[r][2p], W[r][2p + 1]), a 16 x 16 dword transpose of
 * 16 rows x 32 columns, packed once per chunk and pair of row tiles. Eight
 * tile registers: 4 C (2 activation tiles x 2 weight tiles), 2 A, 2 B.
 *
 * Only whole tiles run here (32 weight rows, 16 activation rows, 32
 * columns); the caller (ops.c) runs the leftover rows and activations on
 * AVX-512. */
#include "gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define AMX __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))
#define INLINE static inline __attribute__((always_inline))

#define KC 128  /* columns per chunk (4 tile steps of 32)       */
#define NS 128  /* activation rows converted at a time          */
#define RG 256  /* weight rows whose sums are kept in L2         */
#define NP 2    /* BF16 pieces of an F16 value                  */

enum { K_F16, K_BF16 };
static const int pieces[2] = {2, 1};

/* 16 elements of a row of kind k, as floats */
INLINE AMX __m512 load16(int k, const void *row, int64_t i) {
    const __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)row + i));
    if (k == K_BF16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

/* 16 floats -> their np BF16 pieces (exact: see the top) */
INLINE AMX void split(__m512 f, int np, __m256i out[NP]) {
    const __m512 top = _mm512_castsi512_ps(_mm512_set1_epi32((int)0xffff0000u));
    for (int i = 0; i < np; i++) {
        const __m512 p = i + 1 < np ? _mm512_and_ps(f, top) : f; /* the last piece is all that is left */
        out[i] = (__m256i)_mm512_cvtneps_pbh(p);                  /* exact: p has at most 8 bits */
        f = _mm512_sub_ps(f, p);
    }
}

/* r[i] = row i of a 16 x 16 dword block -> r[j] = column j */
INLINE AMX void transpose16(__m512i r[16]) {
    __m512i t[16], u[16], v[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* u[4g + j], 128-bit lane l: rows 4g..4g+3, dword 4l + j */
    for (int g = 0; g < 4; g++) {
        const __m512i *q = t + 4 * g;
        u[4 * g + 0] = _mm512_unpacklo_epi64(q[0], q[2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(q[0], q[2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(q[1], q[3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(q[1], q[3]);
    }
    for (int j = 0; j < 4; j++) {
        v[4 * j + 0] = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
        v[4 * j + 1] = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
        v[4 * j + 2] = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
        v[4 * j + 3] = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_i32x4(v[4 * j], v[4 * j + 2], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(v[4 * j], v[4 * j + 2], 0xdd);
        r[4 + j] = _mm512_shuffle_i32x4(v[4 * j + 1], v[4 * j + 3], 0x88);
        r[12 + j] = _mm512_shuffle_i32x4(v[4 * j + 1], v[4 * j + 3], 0xdd);
    }
}

/* Activation rows [0, n) (n <= NS), columns [k0, k0 + kc) -> xa[piece][row][KC] */
INLINE AMX void pack_x(int k, const char *xq, size_t xs, int n, int64_t k0, int kc, uint16_t *xa) {
    const int np = pieces[k];
    for (int b = 0; b < n; b++)
        for (int c = 0; c < kc; c += 16) {
            __m256i p[NP];
            split(load16(k, xq + (size_t)b * xs, k0 + c), np, p);
            for (int i = 0; i < np; i++) _mm256_store_si256((__m256i *)(void *)(xa + (size_t)(i * NS + b) * KC + c), p[i]);
        }
}

/* Weight rows [0, 32), columns [k0, k0 + kc) -> wb[piece][tile t][step s]
 * [16 pairs][16 rows] dwords: one 1 KiB B tile each. next (or NULL): the
 * next call's first row and column, fetched meanwhile (32 short pieces of
 * rows far apart: the hardware prefetcher does not see them coming) */
INLINE AMX void pack_w(int k, const char *W, size_t ws, int64_t k0, int kc, uint32_t *wb, const char *next) {
    const int np = pieces[k];
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < kc / 32; s++) {
            if (next)
                for (int r = 0; r < 16; r++) _mm_prefetch(next + (size_t)(16 * t + r) * ws + 64 * s, _MM_HINT_T0);
            _Alignas(64) uint32_t tmp[NP][16][16]; /* [piece][row][pair] */
            for (int r = 0; r < 16; r++) {
                const char *w = W + (size_t)(16 * t + r) * ws;
                __m256i p0[NP], p1[NP];
                split(load16(k, w, k0 + 32 * s), np, p0);
                split(load16(k, w, k0 + 32 * s + 16), np, p1);
                for (int i = 0; i < np; i++)
                    _mm512_store_si512(tmp[i][r], _mm512_inserti64x4(_mm512_castsi256_si512(p0[i]), p1[i], 1));
            }
            for (int i = 0; i < np; i++) {
                __m512i rows[16];
                for (int r = 0; r < 16; r++) rows[r] = _mm512_load_si512(tmp[i][r]);
                transpose16(rows);
                uint32_t *o = wb + ((size_t)(i * 2 + t) * (KC / 32) + s) * 256;
                for (int q = 0; q < 16; q++) _mm512_store_si512(o + 16 * q, rows[q]);
            }
        }
}

#define B_TILE(piece, t, s) (wb + ((size_t)((piece) * 2 + (t)) * (KC / 32) + (s)) * 256)
#define A_ROW(piece, row, s) (xa + (size_t)((piece) * NS + (row)) * KC + 32 * (s))

/* nrows a multiple of 32, cols of 32, n of 16 */
/* The 2 x 2 C tiles at c00 (two = 0: the first activation tile only)
 * += activation rows a0.. (xa) x the packed weight tiles (wb), kc columns;
 * first: the sums start from 0, else from dst */
INLINE AMX void tiles(int np, int kc, int first, int two, const uint16_t *xa, int a0, const uint32_t *wb, float *c00,
                      size_t cs) {
    float *c10 = (float *)((char *)c00 + 16 * cs);
    if (first) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    } else {
        _tile_loadd(0, c00, cs);
        _tile_loadd(1, c00 + 16, cs);
        if (two) {
            _tile_loadd(2, c10, cs);
            _tile_loadd(3, c10 + 16, cs);
        }
    }
    for (int s = 0; s < kc / 32; s++)
        for (int pa = 0; pa < np; pa++) {
            _tile_loadd(4, A_ROW(pa, a0, s), KC * 2);
            if (two) _tile_loadd(5, A_ROW(pa, a0 + 16, s), KC * 2);
            for (int pb = 0; pb < np; pb++) {
                _tile_loadd(6, B_TILE(pb, 0, s), 64);
                _tile_loadd(7, B_TILE(pb, 1, s), 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                if (two) {
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
        }
    _tile_stored(0, c00, cs);
    _tile_stored(1, c00 + 16, cs);
    if (two) {
        _tile_stored(2, c10, cs);
        _tile_stored(3, c10 + 16, cs);
    }
}

INLINE AMX void amx_gemm(int k, const char *W, size_t ws, int64_t cols, const char *xq, size_t xs, int n, float *dst,
                         int64_t ds, int64_t nrows) {
    _Alignas(64) uint16_t xa[NP * NS * KC];             /* 64 KiB */
    _Alignas(64) uint32_t wb[NP * 2 * (KC / 32) * 256]; /* 16 KiB */
    tk_amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) cfg.colsb[i] = 64, cfg.rows[i] = 16;
    _tile_loadconfig(&cfg);
    const int np = pieces[k];
    const size_t cs = (size_t)ds * sizeof(float);
    for (int s0 = 0; s0 < n; s0 += NS) {
        const int ns = n - s0 < NS ? n - s0 : NS;
        for (int64_t g0 = 0; g0 < nrows; g0 += RG) { /* these rows' sums stay in L2 */
            const int64_t g1 = nrows - g0 < RG ? nrows : g0 + RG;
            for (int64_t k0 = 0; k0 < cols; k0 += KC) {
                const int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
                pack_x(k, xq + (size_t)s0 * xs, xs, ns, k0, kc, xa);
                for (int64_t r0 = g0; r0 < g1; r0 += 32) {
                    /* the next call's rows and columns (64 bytes per step of 32 columns) */
                    const char *next = r0 + 32 < g1 ? W + (size_t)(r0 + 32) * ws + 2 * k0
                                       : k0 + KC < cols ? W + (size_t)g0 * ws + 2 * (k0 + KC)
                                       : g1 < nrows   ? W + (size_t)g1 * ws
                                                      : NULL;
                    pack_w(k, W + (size_t)r0 * ws, ws, k0, kc, wb, next);
                    for (int a0 = 0; a0 < ns; a0 += 32)
                        tiles(np, kc, k0 == 0, a0 + 32 <= ns, xa, a0, wb, dst + (size_t)(s0 + a0) * ds + r0, cs);
                }
            }
        }
    }
    _tile_release();
}

AMX void tk_gemm_f16_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                         int64_t dst_stride, int64_t nrows) {
    amx_gemm(K_F16, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

AMX void tk_gemm_bf16_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                          int64_t dst_stride, int64_t nrows) {
    amx_gemm(K_BF16, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

#else
typedef int tk_gemm_amx_empty; /* ISO C wants a translation unit to declare something */
#endif
