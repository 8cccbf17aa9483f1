/* pack.c: repacking Q8_0 / Q4_0 weight matrices (pack.h has the layout).
 *
 * Why: in the file's layout a matrix x vector kernel that keeps one row per
 * int32 lane (so every row adds its block terms in the reference's order,
 * bit for bit) gathers each block from 16 rows with 128/256-bit inserts
 * and a gather for the scales: about 30 port-0/5 uops per block of 16
 * rows, as many cycles as the weights take to arrive on one core. Packed,
 * the same block is 4 (Q4_0) or 8 (Q8_0) plain 512-bit loads, one 256-bit
 * load of scales, no shuffles, and the matrix is one linear stream.
 * Measured on a 1 GB matrix, one thread (AVX-512 VNNI, 16.7 GB/s read):
 * Q4_0 10.4 -> 13.4 GB/s, Q8_0 12.5 -> 15.1 GB/s, bit-identical results.
 * The prefill tiles (gemm_avx512.c) skip their per-tile transpose as well.
 *
 * The cost is a copy made once at load (model.c: in parallel, the file's
 * pages given back afterwards, so resident memory stays one copy). */
#include "pack.h"
#include "dtype.h"
#include "simd/simd.h"

#include <string.h>

enum { GROUP = 16 };

int tk_pack_wanted(int wtype, int isa, int64_t rows, int64_t cols) {
    if (wtype != TK_Q8_0 && wtype != TK_Q4_0) return 0;
    if (!tk_isa_has(isa, TK_ISA_AVX512_VNNI)) return 0;
    return rows >= GROUP && rows % GROUP == 0 && cols % 32 == 0 && cols > 0 && cols <= 32768;
}

static size_t block_bytes(int wtype) { return wtype == TK_Q4_0 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0); }

void tk_pack_rows_scalar(int wtype, const void *W, int64_t cols, int64_t r0, int64_t r1, void *P) {
    const int q4 = wtype == TK_Q4_0;
    const size_t bs = block_bytes(wtype), rb = (size_t)(cols / 32) * bs, pb = GROUP * bs;
    const int nj = q4 ? 4 : 8;
    const uint32_t flip = q4 ? 0 : 0x80808080u;
    for (int64_t g = r0; g < r1; g += GROUP) {
        const unsigned char *src = (const unsigned char *)W + (size_t)g * rb;
        unsigned char *dst = (unsigned char *)P + (size_t)g * rb;
        for (int64_t i = 0; i < cols / 32; i++, dst += pb) {
            for (int r = 0; r < GROUP; r++) {
                const unsigned char *b = src + (size_t)r * rb + (size_t)i * bs;
                memcpy(dst + 2 * r, b, 2);
                for (int j = 0; j < nj; j++) {
                    uint32_t v;
                    memcpy(&v, b + 2 + 4 * j, 4);
                    v ^= flip;
                    memcpy(dst + 32 + 64 * j + 4 * r, &v, 4);
                }
            }
        }
    }
}

/* With AVX-512 (every CPU that runs the packed kernels has it) by
 * transposes, else the scalar copy; the same bytes. */
void tk_pack_rows(int wtype, const void *W, int64_t cols, int64_t r0, int64_t r1, void *P) {
#if defined(__x86_64__)
    if (tk_isa_supported(TK_ISA_AVX512_VNNI)) {
        const size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
        for (int64_t g = r0; g < r1; g += GROUP)
            tk_pack16_avx512vnni(wtype == TK_Q4_0, (const char *)W + (size_t)g * rb, rb, cols / 32, (char *)P + (size_t)g * rb);
        return;
    }
#endif
    tk_pack_rows_scalar(wtype, W, cols, r0, r1, P);
}

void tk_unpack_row(int wtype, const void *P, int64_t cols, int64_t r, void *row) {
    const int q4 = wtype == TK_Q4_0;
    const size_t bs = block_bytes(wtype), rb = (size_t)(cols / 32) * bs, pb = GROUP * bs;
    const int nj = q4 ? 4 : 8, lane = (int)(r % GROUP);
    const uint32_t flip = q4 ? 0 : 0x80808080u;
    const unsigned char *src = (const unsigned char *)P + (size_t)(r - lane) * rb;
    unsigned char *out = row;
    for (int64_t i = 0; i < cols / 32; i++, src += pb, out += bs) {
        memcpy(out, src + 2 * lane, 2);
        for (int j = 0; j < nj; j++) {
            uint32_t v;
            memcpy(&v, src + 32 + 64 * j + 4 * lane, 4);
            v ^= flip;
            memcpy(out + 2 + 4 * j, &v, 4);
        }
    }
}
