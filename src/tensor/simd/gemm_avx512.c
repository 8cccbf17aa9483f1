/* gemm_avx512.c: weights x a burst of activation rows (gemm.h), AVX-512.
 *
 * Q8_0 x Q8_0, Q4_0 x Q8_0 (avx512vnni): one int32 lane per weight row.
 *   A tile of 16 weight rows is transposed, block by block, into 8
 *   registers: register j, lane r = bytes 4j..4j+3 of row r's block (Q8_0
 *   as w + 128, Q4_0 as its nibbles q, both unsigned). Against activation
 *   row b, 8 vpdpbusd with the activation's dwords broadcast give the 16
 *   rows' exact block sums at once, no horizontal reduction; the unsigned
 *   offset (128 * sum x, 8 * sum x) is the lane's starting value,
 *   precomputed once per activation block. Each block sum is then scaled
 *   as the reference scales it (Q8_0 isum * (dw * dx), Q4_0 (isum * dw) *
 *   dx) and added to that row's running float sum in block order, so every
 *   result is bit-identical to the reference's vec_dot. Per block and
 *   activation row: 8 vpdpbusd + 4 float ops for 16 x 32 multiply-adds.
 *   Blocks are taken in chunks (the transposed tile and the activation
 *   terms stay in L1); the running sums live in dst between chunks.
 *
 * F32, F16, BF16 (avx512; BF16 also avx512bf16 with vdpbf16ps): 4 weight
 *   rows x 6 activation rows of 16-lane float accumulators (FMA), each
 *   weight and activation vector loaded once per 24 products, reduced at
 *   the end. Sums in float: within 1e-5 of the reference relative to
 *   sum |w x|, not bit-identical to vec_dot (which sums in double). */
#include "gemm.h"
#include "../dtype.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define BF16X __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16")))
#define INLINE static inline __attribute__((always_inline))
#define UNROLL8 _Pragma("GCC unroll 8")

/* ---- Q8_0 / Q4_0 with VNNI -------------------------------------------------- */

#define QT 16  /* weight rows per tile (int32 lanes)          */
#define QKB 32 /* blocks per chunk                            */
#define QNC 64 /* activation rows whose block terms are held  */
#define QCG 8  /* activation rows per register group          */

typedef struct {
    __m512i w[QKB][8];      /* transposed tile                      */
    __m512 dw[QKB];         /* the 16 rows' scales per block        */
    int32_t corr[QNC][QKB]; /* -c * sum x per activation block      */
    float dx[QNC][QKB];     /* activation block scales              */
} qscratch;

INLINE VNNI int32_t hsum8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
    return _mm_cvtsi128_si32(s);
}

/* Block b of rows [0, nr) (nr <= 16) of W -> 8 registers, lane r = row r;
 * rows past nr are zero. */
INLINE VNNI void qrepack(int Q4, const char *W, size_t ws, int nr, int64_t b, __m512i out[8], __m512 *dw, int pf) {
    const size_t bs = Q4 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
    uint16_t d[QT];
    __m512i z[8];
    for (int k = 0; k < 8; k++) {
        __m256i h[2];
        for (int half = 0; half < 2; half++) {
            const int r = k + 8 * half;
            if (r >= nr) {
                h[half] = _mm256_setzero_si256();
                d[r] = 0;
                continue;
            }
            const char *p = W + (size_t)r * ws + (size_t)b * bs;
            /* the next tile's rows: 16 streams of a few hundred bytes are
             * too short for the hardware prefetcher */
            if (pf) _mm_prefetch(p + QT * ws, _MM_HINT_T0);
            memcpy(&d[r], p, 2);
            if (Q4) {
                const __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
                const __m128i lo = _mm_and_si128(q, _mm_set1_epi8(0x0f));
                const __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0x0f));
                h[half] = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
            } else {
                h[half] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), _mm256_set1_epi8((char)0x80));
            }
        }
        z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(h[0]), h[1], 1);
    }
    /* 8 x 8 dword transpose in each 256-bit half (rows k | rows k + 8) */
    __m512i t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]);
        t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]);     /* dwords 0 | 4 of rows k..k+3 */
        u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]); /* 1 | 5 */
        u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]); /* 2 | 6 */
        u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]); /* 3 | 7 */
    }
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int j = 0; j < 4; j++) {
        out[j] = _mm512_permutex2var_epi64(u[j], lo, u[j + 4]);
        out[j + 4] = _mm512_permutex2var_epi64(u[j], hi, u[j + 4]);
    }
    *dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)d));
}

/* Block b of a packed group (../pack.h) -> the 8 registers and scales
 * qrepack makes: the layout is already lane-per-row, only Q4_0's nibbles
 * are split (low nibbles are bytes 0-15 of the block, high 16-31). */
INLINE VNNI void qunpack(int Q4, const char *G, int64_t b, __m512i out[8], __m512 *dw) {
    const char *p = G + (size_t)b * (Q4 ? 16 * sizeof(tk_block_q4_0) : 16 * sizeof(tk_block_q8_0));
    if (Q4) {
        const __m512i m4 = _mm512_set1_epi8(0x0f);
        for (int j = 0; j < 4; j++) {
            const __m512i v = _mm512_loadu_si512(p + 32 + 64 * j);
            out[j] = _mm512_and_si512(v, m4);
            out[4 + j] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
    } else {
        for (int j = 0; j < 8; j++) out[j] = _mm512_loadu_si512(p + 32 + 64 * j);
    }
    *dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

INLINE VNNI __m512i bcast32(const char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* Blocks [b0, b0 + kb) of activation rows [0, nc) (x: the first, xs apart)
 * -> corr[c][i] = -c * sum x (the unsigned offset c of the weights, as
 * vpdpbusd / tdpbsud see them: Q8_0 128, Q4_0 8) and dx[c][i], the
 * activation block's scale. */
INLINE VNNI void qterms(int Q4, const char *x, size_t xs, int nc, int64_t b0, int kb, int32_t (*corr)[QKB],
                        float (*dx)[QKB]) {
    const __m256i cc = _mm256_set1_epi8(Q4 ? 8 : (char)0x80);
    for (int c = 0; c < nc; c++)
        for (int i = 0; i < kb; i++) {
            const tk_block_q8_0 *xb = (const tk_block_q8_0 *)(const void *)(x + (size_t)c * xs) + b0 + i;
            const __m256i v = _mm256_loadu_si256((const __m256i *)xb->qs);
            corr[c][i] = -hsum8(_mm256_dpbusd_epi32(_mm256_setzero_si256(), cc, v));
            dx[c][i] = tk_f16_to_f32(xb->d);
        }
}

/* A block's exact int32 sums scaled as the reference scales them (Q8_0:
 * isum * (dw * dx); Q4_0: (isum * dw) * dx): what keeps every kernel here
 * bit-identical to vec_dot. */
INLINE VNNI __m512 qscale(int Q4, __m512i isum, __m512 dwv, float dx) {
    const __m512 f = _mm512_cvtepi32_ps(isum), dxv = _mm512_set1_ps(dx);
    return Q4 ? _mm512_mul_ps(_mm512_mul_ps(f, dwv), dxv) : _mm512_mul_ps(f, _mm512_mul_ps(dwv, dxv));
}

/* C activation rows (x: the first, xs apart; terms at column c0 of s)
 * against the tile in s, blocks [0, kb) of the chunk starting at block
 * b0; sums continue from dst unless first. */
INLINE VNNI void qgroup(int Q4, int C, const qscratch *s, int kb, int first, const char *x, size_t xs, int c0,
                        int64_t b0, float *dst, int64_t ds, __mmask16 m) {
    __m512 sum[QCG];
    UNROLL8 for (int c = 0; c < C; c++) sum[c] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, dst + (size_t)c * ds);
    for (int i = 0; i < kb; i++) {
        const __m512i w0 = s->w[i][0], w1 = s->w[i][1], w2 = s->w[i][2], w3 = s->w[i][3];
        const __m512i w4 = s->w[i][4], w5 = s->w[i][5], w6 = s->w[i][6], w7 = s->w[i][7];
        const __m512 dwv = s->dw[i];
        UNROLL8 for (int c = 0; c < C; c++) {
            const char *xb = x + (size_t)c * xs + (size_t)(b0 + i) * sizeof(tk_block_q8_0) + 2;
            __m512i acc = _mm512_set1_epi32(s->corr[c0 + c][i]);
            acc = _mm512_dpbusd_epi32(acc, w0, bcast32(xb));
            acc = _mm512_dpbusd_epi32(acc, w1, bcast32(xb + 4));
            acc = _mm512_dpbusd_epi32(acc, w2, bcast32(xb + 8));
            acc = _mm512_dpbusd_epi32(acc, w3, bcast32(xb + 12));
            acc = _mm512_dpbusd_epi32(acc, w4, bcast32(xb + 16));
            acc = _mm512_dpbusd_epi32(acc, w5, bcast32(xb + 20));
            acc = _mm512_dpbusd_epi32(acc, w6, bcast32(xb + 24));
            acc = _mm512_dpbusd_epi32(acc, w7, bcast32(xb + 28));
            sum[c] = _mm512_add_ps(sum[c], qscale(Q4, acc, dwv, s->dx[c0 + c][i]));
        }
    }
    UNROLL8 for (int c = 0; c < C; c++) _mm512_mask_storeu_ps(dst + (size_t)c * ds, m, sum[c]);
}

#define QGROUP_CASE(Cn) \
    case Cn: qgroup(Q4, Cn, s, kb, first, x, xs, c0, b0, dst, ds, m); break;

INLINE VNNI void qgroup_any(int Q4, int C, const qscratch *s, int kb, int first, const char *x, size_t xs, int c0,
                            int64_t b0, float *dst, int64_t ds, __mmask16 m) {
    switch (C) {
        QGROUP_CASE(1) QGROUP_CASE(2) QGROUP_CASE(3) QGROUP_CASE(4)
        QGROUP_CASE(5) QGROUP_CASE(6) QGROUP_CASE(7) QGROUP_CASE(8)
    default: break;
    }
}

/* packed: W is packed (../pack.h; nrows a multiple of 16), else in the
 * file's layout */
INLINE VNNI void quant_gemm(int Q4, int packed, const char *W, size_t ws, int64_t cols, const char *xq, size_t xs, int n,
                            float *dst, int64_t ds, int64_t nrows) {
    const int64_t nb = cols / 32;
    qscratch s;
    for (int p0 = 0; p0 < n; p0 += QNC) {
        const int nc = n - p0 < QNC ? n - p0 : QNC;
        const char *xp = xq + (size_t)p0 * xs;
        float *dp = dst + (size_t)p0 * ds;
        for (int64_t b0 = 0; b0 < nb; b0 += QKB) {
            const int kb = nb - b0 < QKB ? (int)(nb - b0) : QKB;
            qterms(Q4, xp, xs, nc, b0, kb, s.corr, s.dx);
            for (int64_t r = 0; r < nrows; r += QT) {
                const int nr = nrows - r < QT ? (int)(nrows - r) : QT;
                const __mmask16 m = (__mmask16)((1u << nr) - 1);
                const char *wr = W + (size_t)r * ws;
                const int pf = r + 2 * QT <= nrows;
                if (packed)
                    for (int i = 0; i < kb; i++) qunpack(Q4, wr, b0 + i, s.w[i], &s.dw[i]);
                else
                    for (int i = 0; i < kb; i++) qrepack(Q4, wr, ws, nr, b0 + i, s.w[i], &s.dw[i], pf);
                for (int g = 0; g < nc; g += QCG) {
                    const int C = nc - g < QCG ? nc - g : QCG;
                    qgroup_any(Q4, C, &s, kb, b0 == 0, xp + (size_t)g * xs, xs, g, b0, dp + (size_t)g * ds + r, ds, m);
                }
            }
        }
    }
}

VNNI void tk_gemm_q8_0_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                                  float *dst, int64_t dst_stride, int64_t nrows) {
    quant_gemm(0, 0, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

VNNI void tk_gemm_q8_0_packed_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride,
                                         int n, float *dst, int64_t dst_stride, int64_t nrows) {
    quant_gemm(0, 1, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

VNNI void tk_gemm_q4_0_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                                  float *dst, int64_t dst_stride, int64_t nrows) {
    quant_gemm(1, 0, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

VNNI void tk_gemm_q4_0_packed_avx512vnni(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride,
                                         int n, float *dst, int64_t dst_stride, int64_t nrows) {
    quant_gemm(1, 1, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

/* ---- Q8_0 / Q4_0 on AMX tiles (amx-int8) ---------------------------------------
 *
 * The same sums as quant_gemm, with the int8 products on a tile unit: per
 * block, B = the 16 weight rows' unsigned bytes in exactly the layout of
 * packed weights (../pack.h: a packed Q8_0 block is the B tile as it is, 8
 * rows of 64 bytes, dword r of row j = bytes 4j..4j+3 of weight row r; a
 * Q4_0 block's nibbles are split by qunpack first), A = up to
 * 16 activation rows' 32 signed bytes straight from the activation buffer,
 * and tdpbsud gives every (activation, weight row) block sum at once, exact
 * in int32. The unsigned offset is taken off as in quant_gemm (the same
 * integer), then each sum is scaled and added in block order exactly as
 * there: bit-identical to the reference's vec_dot. A block's tile work is
 * a few cycles; the scaling (16 vector steps per block) is what is left,
 * software-pipelined behind the tiles. Measured (TinyLlama pp128, 1
 * thread): Q4_0 138 -> 169 tok/s, Q8_0 129 -> 137 over the VNNI kernel.
 * On the file's layout each block is transposed (qrepack) for every 16
 * activation rows, which costs more than the tiles save once there are
 * several groups of 16 (pp128 Q4_0 122 -> 108, Q8_0 112 -> 101): there it
 * runs only for bursts of up to 16 rows (a short prompt before the
 * repacking: 8 tokens ~5% faster). */

#define AMXI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,amx-tile,amx-int8")))

/* tile 0: C, na x 16 int32; tile 1: A, na x 32 bytes; tile 2: B, 8 x 64 bytes */
static AMXI void amx_config(int na) {
    tk_amx_tilecfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    c.rows[0] = (uint8_t)na, c.colsb[0] = 64;
    c.rows[1] = (uint8_t)na, c.colsb[1] = 32;
    c.rows[2] = 8, c.colsb[2] = 64;
    _tile_loadconfig(&c);
}

/* packed: W is packed (../pack.h; nrows a multiple of 16), else in the
 * file's layout. Three stages, one block apart: the weights' B tile is
 * built (qrepack / qunpack, into one of two buffers), the tiles multiply
 * (the sums stored into one of two buffers), the sums are scaled; so no
 * tile load waits on the vector stores just made, and no vector load on
 * the tile store. */
INLINE AMXI void quant_amx(int Q4, int packed, const char *W, size_t ws, int64_t cols, const char *xq, size_t xs, int n,
                           float *dst, int64_t ds, int64_t nrows) {
    const int64_t nb = cols / 32;
    const size_t pbs = Q4 ? 16 * sizeof(tk_block_q4_0) : 16 * sizeof(tk_block_q8_0); /* a packed block */
    const int direct = packed && !Q4; /* the packed Q8_0 block is the B tile as it is */
    _Alignas(64) int32_t cbuf[2][16][16];
    _Alignas(64) __m512i bbuf[2][8];
    int32_t corr[16][QKB];
    float dx[16][QKB];
    int cfg = 0;
    for (int a0 = 0; a0 < n; a0 += 16) {
        const int na = n - a0 < 16 ? n - a0 : 16;
        if (na != cfg) amx_config(cfg = na);
        const char *xa = xq + (size_t)a0 * xs;
        float *da = dst + (size_t)a0 * ds;
        for (int64_t b0 = 0; b0 < nb; b0 += QKB) {
            const int kb = nb - b0 < QKB ? (int)(nb - b0) : QKB;
            qterms(Q4, xa, xs, na, b0, kb, corr, dx);
            for (int64_t r = 0; r < nrows; r += QT) {
                const int nr = nrows - r < QT ? (int)(nrows - r) : QT;
                const __mmask16 m = (__mmask16)((1u << nr) - 1);
                const char *wr = W + (size_t)r * ws;
                const int pf = !packed && r + 2 * QT <= nrows;
                __m512 sum[16], dw[3];
                for (int c = 0; c < na; c++)
                    sum[c] = b0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, da + (size_t)c * ds + r);
                for (int i = 0; i < kb + 2; i++) {
                    if (i < kb) { /* stage 1: block i's B tile (and scales) */
                        const int64_t bi = b0 + i;
                        if (direct)
                            dw[i % 3] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(wr + (size_t)bi * pbs)));
                        else if (packed) qunpack(Q4, wr, bi, bbuf[i & 1], &dw[i % 3]);
                        else qrepack(Q4, wr, ws, nr, bi, bbuf[i & 1], &dw[i % 3], pf);
                    }
                    if (i >= 1 && i <= kb) { /* stage 2: block j's tiles */
                        const int j = i - 1;
                        if (direct) _tile_loadd(2, wr + (size_t)(b0 + j) * pbs + 32, 64);
                        else _tile_loadd(2, bbuf[j & 1], 64);
                        _tile_loadd(1, xa + (size_t)(b0 + j) * sizeof(tk_block_q8_0) + 2, xs);
                        _tile_zero(0);
                        _tile_dpbsud(0, 1, 2);
                        _tile_stored(0, cbuf[j & 1], 64);
                    }
                    if (i >= 2) { /* stage 3: block j's sums, scaled and added in block order */
                        const int j = i - 2;
                        const __m512 dwv = dw[j % 3];
                        for (int c = 0; c < na; c++) {
                            const __m512i isum = _mm512_add_epi32(_mm512_load_si512(cbuf[j & 1][c]), _mm512_set1_epi32(corr[c][j]));
                            sum[c] = _mm512_add_ps(sum[c], qscale(Q4, isum, dwv, dx[c][j]));
                        }
                    }
                }
                for (int c = 0; c < na; c++) _mm512_mask_storeu_ps(da + (size_t)c * ds + r, m, sum[c]);
            }
        }
    }
    _tile_release();
}

AMXI void tk_gemm_q8_0_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                           int64_t dst_stride, int64_t nrows) {
    quant_amx(0, 0, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

AMXI void tk_gemm_q4_0_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n, float *dst,
                           int64_t dst_stride, int64_t nrows) {
    quant_amx(1, 0, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

AMXI void tk_gemm_q8_0_packed_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                                  float *dst, int64_t dst_stride, int64_t nrows) {
    quant_amx(0, 1, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

AMXI void tk_gemm_q4_0_packed_amx(const void *W, size_t wstride, int64_t cols, const void *xq, size_t xstride, int n,
                                  float *dst, int64_t dst_stride, int64_t nrows) {
    quant_amx(1, 1, W, wstride, cols, xq, xstride, n, dst, dst_stride, nrows);
}

/* ---- F32, F16, BF16 with FMA -------------------------------------------------- */

enum { F32, F16, BF16 };
#define FR 4 /* weight rows per tile      */
#define FC 6 /* activation rows per tile  */

/* 16 elements of a float row of kind k at element i (masked: lanes off m
 * are 0, their memory untouched). */
INLINE AVX512 __m512 fload(int k, const char *p, int64_t i, __mmask16 m, int full) {
    if (k == F32) return full ? _mm512_loadu_ps((const float *)p + i) : _mm512_maskz_loadu_ps(m, (const float *)p + i);
    const __m256i h = full ? _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i))
                           : _mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i);
    if (k == F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* 16 elements of a weight row, whole: as fload, but F32 as two 256-bit
 * halves, which never straddle a cache line in GGUF's 32-byte-aligned
 * data (avx512.c's wfull16 says what straddling costs). Same lanes. */
INLINE AVX512 __m512i halves512(const void *p) { /* the 64 bytes at p, as two 256-bit loads */
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)p + 1), 1);
}
INLINE AVX512 __m512 wload(int k, const char *p, int64_t i) {
    return k == F32 ? _mm512_castsi512_ps(halves512((const float *)p + i)) : fload(k, p, i, 0xffff, 1);
}

/* [sum a, sum b, sum c, sum d] */
INLINE AVX512 __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b)); /* a02 b02 a13 b13 */
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    const __m512 s = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, 0x44), _mm512_shuffle_ps(ab, cd, 0xee)); /* a b c d per lane */
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* A tile's sums to dst (add: onto what a previous k chunk left there). */
INLINE AVX512 void tile_store(int R, int C, __m512 (*acc)[FC], float *dst, int64_t ds, int add) {
    UNROLL8 for (int c = 0; c < C; c++) {
        float *d = dst + (size_t)c * ds;
        if (R == 4) {
            const __m128 v = reduce4(acc[0][c], acc[1][c], acc[2][c], acc[3][c]);
            _mm_storeu_ps(d, add ? _mm_add_ps(_mm_loadu_ps(d), v) : v);
        } else {
            UNROLL8 for (int r = 0; r < R; r++) {
                const float v = _mm512_reduce_add_ps(acc[r][c]);
                d[r] = add ? d[r] + v : v;
            }
        }
    }
}

/* pf: the next row tile, fetched into L1 while this one computes (NULL:
 * none) */
INLINE AVX512 void ftile(int k, int R, int C, int64_t cols, const char *w, size_t ws, const char *x, size_t xs,
                         float *dst, int64_t ds, const char *pf, int add) {
    const int es = k == F32 ? 4 : 2;
    __m512 acc[FR][FC];
    UNROLL8 for (int r = 0; r < R; r++)
        UNROLL8 for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= cols; i += 16) {
        if (pf)
            UNROLL8 for (int r = 0; r < FR; r++) _mm_prefetch(pf + (size_t)r * ws + (size_t)i * es, _MM_HINT_T0);
        __m512 wv[FR];
        UNROLL8 for (int r = 0; r < R; r++) wv[r] = wload(k, w + (size_t)r * ws, i);
        UNROLL8 for (int c = 0; c < C; c++) {
            const __m512 xv = fload(k, x + (size_t)c * xs, i, 0xffff, 1);
            UNROLL8 for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], xv, acc[r][c]);
        }
    }
    if (i < cols) {
        const __mmask16 m = (__mmask16)((1u << (cols - i)) - 1);
        __m512 wv[FR];
        UNROLL8 for (int r = 0; r < R; r++) wv[r] = fload(k, w + (size_t)r * ws, i, m, 0);
        UNROLL8 for (int c = 0; c < C; c++) {
            const __m512 xv = fload(k, x + (size_t)c * xs, i, m, 0);
            UNROLL8 for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], xv, acc[r][c]);
        }
    }
    tile_store(R, C, acc, dst, ds, add);
}

/* BF16 x BF16 with vdpbf16ps: 32 elements (16 pairs) per instruction. */
INLINE BF16X __m512bh bpairs(const char *p, int64_t i, __mmask32 m) {
    return (__m512bh)_mm512_maskz_loadu_epi16(m, (const uint16_t *)p + i);
}

/* 32 elements of a weight row as two 256-bit halves (as wload) */
INLINE BF16X __m512bh bwpairs(const char *p, int64_t i) { return (__m512bh)halves512((const uint16_t *)p + i); }

INLINE BF16X void btile(int R, int C, int64_t cols, const char *w, size_t ws, const char *x, size_t xs, float *dst,
                        int64_t ds, const char *pf, int add) {
    __m512 acc[FR][FC];
    UNROLL8 for (int r = 0; r < R; r++)
        UNROLL8 for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < cols; i += 32) {
        const int64_t left = cols - i;
        const __mmask32 m = left >= 32 ? 0xffffffffu : (__mmask32)((1u << left) - 1);
        if (pf)
            UNROLL8 for (int r = 0; r < FR; r++) {
                _mm_prefetch(pf + (size_t)r * ws + (size_t)i * 2, _MM_HINT_T0);
                _mm_prefetch(pf + (size_t)r * ws + (size_t)i * 2 + 63, _MM_HINT_T0);
            }
        __m512bh wv[FR];
        UNROLL8 for (int r = 0; r < R; r++) wv[r] = m == 0xffffffffu ? bwpairs(w + (size_t)r * ws, i) : bpairs(w + (size_t)r * ws, i, m);
        UNROLL8 for (int c = 0; c < C; c++) {
            const __m512bh xv = bpairs(x + (size_t)c * xs, i, m);
            UNROLL8 for (int r = 0; r < R; r++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv[r], xv);
        }
    }
    tile_store(R, C, acc, dst, ds, add);
}

/* k < 0: BF16 with vdpbf16ps */
#define FCASE(R, Cn) \
    case Cn: ftile(k, R, Cn, cols, w, ws, x, xs, dst, ds, pf, add); break;
#define FTILES(R) \
    switch (C) { FCASE(R, 1) FCASE(R, 2) FCASE(R, 3) FCASE(R, 4) FCASE(R, 5) FCASE(R, 6) default: break; }

INLINE AVX512 void ftile_any(int k, int R, int C, int64_t cols, const char *w, size_t ws, const char *x, size_t xs,
                             float *dst, int64_t ds, const char *pf, int add) {
    if (R == FR) FTILES(FR) else FTILES(1)
}

#define BCASE(R, Cn) \
    case Cn: btile(R, Cn, cols, w, ws, x, xs, dst, ds, pf, add); break;
#define BTILES(R) \
    switch (C) { BCASE(R, 1) BCASE(R, 2) BCASE(R, 3) BCASE(R, 4) BCASE(R, 5) BCASE(R, 6) default: break; }

INLINE BF16X void btile_any(int R, int C, int64_t cols, const char *w, size_t ws, const char *x, size_t xs, float *dst,
                            int64_t ds, const char *pf, int add) {
    if (R == FR) BTILES(FR) else BTILES(1)
}

/* Row tiles outer (a tile's weights stay in L1 while every activation row
 * passes), activation tiles inner. When the activations are larger than
 * FL2 bytes (128 rows of 2048 F32: 1 MiB, more than a core's L2), the
 * columns go in chunks of kc (a multiple of 64) that fit, outermost, each
 * chunk's sums added onto the last's: the activation rows then come from
 * L2 for every row tile (Zen 5, 1 thread, 768 x 2048, n 128: 134 -> see
 * docs/ARCHITECTURE.md). The split changes where the float sum is rounded:
 * still within test_gemm's 1e-5 of sum |w x|. */
#ifndef FL2
#define FL2 (384 * 1024)
#endif
INLINE int64_t float_kc(int64_t cols, int n, int es) {
    const int64_t kc = (int64_t)FL2 / ((int64_t)n * es) / 64 * 64;
    return (int64_t)n * cols * es <= FL2 || kc >= cols ? cols : kc < 256 ? 256 : kc;
}

#define FLOAT_GEMM(name, attr, es, call)                                                                     \
    attr void name(const void *W, size_t ws, int64_t cols, const void *xq, size_t xs, int n, float *dst,     \
                   int64_t ds, int64_t nrows) {                                                              \
        const int64_t kc = float_kc(cols, n, es);                                                            \
        for (int64_t k0 = 0; k0 < cols; k0 += kc) {                                                          \
            const int64_t kn = cols - k0 < kc ? cols - k0 : kc;                                              \
            const int add = k0 > 0;                                                                          \
            int64_t r = 0;                                                                                   \
            for (; r < nrows;) {                                                                             \
                const int R = nrows - r >= FR ? FR : 1;                                                      \
                const char *w = (const char *)W + (size_t)r * ws + (size_t)k0 * es;                          \
                for (int c0 = 0; c0 < n; c0 += FC) {                                                         \
                    const int C = n - c0 < FC ? n - c0 : FC;                                                 \
                    const char *x = (const char *)xq + (size_t)c0 * xs + (size_t)k0 * es;                    \
                    float *d = dst + (size_t)c0 * ds + r;                                                    \
                    const char *pf = c0 == 0 && r + 2 * FR <= nrows ? w + FR * ws : NULL;                    \
                    call;                                                                                    \
                }                                                                                            \
                r += R;                                                                                      \
            }                                                                                                \
        }                                                                                                    \
    }

FLOAT_GEMM(tk_gemm_f32_avx512, AVX512, 4, ftile_any(F32, R, C, kn, w, ws, x, xs, d, ds, pf, add))
FLOAT_GEMM(tk_gemm_f16_avx512, AVX512, 2, ftile_any(F16, R, C, kn, w, ws, x, xs, d, ds, pf, add))
FLOAT_GEMM(tk_gemm_bf16_avx512, AVX512, 2, ftile_any(BF16, R, C, kn, w, ws, x, xs, d, ds, pf, add))
FLOAT_GEMM(tk_gemm_bf16_avx512bf16, BF16X, 2, btile_any(R, C, kn, w, ws, x, xs, d, ds, pf, add))

#else
typedef int tk_gemm_avx512_empty; /* ISO C wants a translation unit to declare something */
#endif
