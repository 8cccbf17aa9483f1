/* pack.h: Q8_0 / Q4_0 weights repacked at load for the AVX-512 VNNI
 * kernels (pack.c has the why and the measurements).
 *
 * Layout: rows in groups of 16; group g holds blocks 0 .. cols/32 - 1 of
 * its 16 rows, one packed block after the other, each
 *
 *     16 x f16 scales (32 bytes: row r's block scale at r)
 *     Q4_0: 4 x 64 bytes, Q8_0: 8 x 64 bytes: vector j, dword r = bytes
 *           4j .. 4j+3 of row r's quants (Q8_0 with each byte ^ 0x80, the
 *           unsigned operand of vpdpbusd)
 *
 * so one 512-bit load gives one dword of all 16 rows (lane r = row r), the
 * order vpdpbusd against a broadcast activation dword needs. A packed
 * block is exactly the 16 blocks it replaces in size (Q4_0 288 bytes, Q8_0
 * 544): group g starts at g * 16 * row_bytes, as in the file. */
#ifndef TK_TENSOR_PACK_H
#define TK_TENSOR_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Whether a rows x cols matrix of wtype is packed at level isa. */
int tk_pack_wanted(int wtype, int isa, int64_t rows, int64_t cols);

/* Pack rows [r0, r1) (multiples of 16) of W into P (both in the file's
 * row order and offsets: P is as large as W). */
void tk_pack_rows(int wtype, const void *W, int64_t cols, int64_t r0, int64_t r1, void *P);

/* The portable copy tk_pack_rows uses without AVX-512 (tests). */
void tk_pack_rows_scalar(int wtype, const void *W, int64_t cols, int64_t r0, int64_t r1, void *P);

/* Row r of the packed P back as file blocks (tests). */
void tk_unpack_row(int wtype, const void *P, int64_t cols, int64_t r, void *row);

#endif
