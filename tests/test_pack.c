/* test_pack.c: Q8_0 / Q4_0 matrices repacked for the AVX-512 VNNI kernels
 * (src/tensor/pack.c) against the file's layout:
 *
 *  - the AVX-512 packing gives the scalar packing's bytes, and every row
 *    unpacks to the original blocks
 *  - tk_matvec_packed and tk_matmul_packed (n = 1 .. 65 activation rows;
 *    matmul at avx512vnni and, where the CPU has it, on AMX tiles;
 *    sub-ranges of row groups) are bit-identical to tk_matvec_rows at the
 *    scalar reference level, on random blocks and on blocks whose bytes
 *    cover the whole range (-128, 127, every nibble)
 *  - tk_pack_wanted: only Q8_0 / Q4_0, whole groups of 16 rows, VNNI
 *  - a model loads packed, unpacked, and packed after its prompt
 *    (defer_repack, tk_model_repack) with bit-identical logits. */
#include "t.h"

#include <stdlib.h>
#include <string.h>

#include "tick.h"
#include "tensor/dtype.h"
#include "tensor/ops.h"
#include "tensor/pack.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rnd_f(void) { return (float)((double)(rnd64() >> 11) * 0x1.0p-53 * 2.0 - 1.0); }

static int have_vnni(void) { return tk_isa_supported(TK_ISA_AVX512_VNNI); }

/* rows x cols of wtype: random floats quantized by the reference, or
 * (extreme) every byte random with unit-ish scales */
static unsigned char *make_matrix(int wtype, int64_t rows, int64_t cols, int extreme) {
    size_t rb = (size_t)tk_dtype_row_bytes(wtype, cols);
    unsigned char *w = malloc(rb * (size_t)rows);
    float *row = malloc(sizeof(float) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < cols; i++) row[i] = rnd_f() * (float)(1 + r % 7);
        tk_dtype_get(wtype)->from_float(row, w + (size_t)r * rb, cols);
        if (extreme) {
            size_t bs = wtype == TK_Q4_0 ? sizeof(tk_block_q4_0) : sizeof(tk_block_q8_0);
            for (int64_t b = 0; b < cols / 32; b++) {
                unsigned char *p = w + (size_t)r * rb + (size_t)b * bs;
                for (size_t k = 2; k < bs; k++) p[k] = (unsigned char)rnd64();
                if (b % 3 == 0) memset(p + 2, wtype == TK_Q4_0 ? 0xff : 0x80, bs - 2);
                uint16_t d = tk_f32_to_f16(0.5f + (float)(b % 5));
                memcpy(p, &d, 2);
            }
        }
    }
    free(row);
    return w;
}

static void test_pack_bytes(void) {
    if (!have_vnni()) T_SKIP("this CPU has no AVX-512 VNNI: the packed layout is not used here");
    const int types[] = {TK_Q4_0, TK_Q8_0};
    const int64_t shapes[][2] = {{16, 32}, {32, 64}, {48, 96}, {160, 2048}, {64, 5632}};
    for (size_t t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int wt = types[t];
            int64_t rows = shapes[s][0], cols = shapes[s][1];
            size_t rb = (size_t)tk_dtype_row_bytes(wt, cols), n = rb * (size_t)rows;
            unsigned char *w = make_matrix(wt, rows, cols, s % 2), *p1 = malloc(n), *p2 = malloc(n), *row = malloc(rb);
            memset(p1, 0xa5, n), memset(p2, 0x5a, n);
            tk_pack_rows(wt, w, cols, 0, rows, p1);
            tk_pack_rows_scalar(wt, w, cols, 0, rows, p2);
            T_CHECK(!memcmp(p1, p2, n), "%s %lldx%lld: AVX-512 and scalar packing differ", tk_dtype_name(wt),
                    (long long)rows, (long long)cols);
            int bad = 0;
            for (int64_t r = 0; r < rows; r++) {
                tk_unpack_row(wt, p1, cols, r, row);
                bad += memcmp(row, w + (size_t)r * rb, rb) != 0;
            }
            T_CHECK(bad == 0, "%s %lldx%lld: %d rows do not unpack to the original", tk_dtype_name(wt), (long long)rows,
                    (long long)cols, bad);
            free(w), free(p1), free(p2), free(row);
        }
}

static void test_packed_kernels(void) {
    if (!have_vnni()) T_SKIP("this CPU has no AVX-512 VNNI: the packed kernels do not run here");
    const int types[] = {TK_Q4_0, TK_Q8_0};
    const int64_t shapes[][2] = {{16, 32}, {48, 96}, {64, 256}, {160, 2048}, {32, 5632}};
    const int ns[] = {1, 2, 3, 7, 8, 9, 17, 64, 65};
    int cases = 0;
    for (size_t t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int wt = types[t];
            int64_t rows = shapes[s][0], cols = shapes[s][1];
            size_t rb = (size_t)tk_dtype_row_bytes(wt, cols), xb = tk_act_bytes(wt, cols);
            unsigned char *w = make_matrix(wt, rows, cols, s % 2 == 1), *p = malloc(rb * (size_t)rows);
            tk_pack_rows(wt, w, cols, 0, rows, p);
            unsigned char *xq = malloc(xb * 65);
            float *x = malloc(sizeof(float) * (size_t)cols);
            for (int b = 0; b < 65; b++) {
                for (int64_t i = 0; i < cols; i++) x[i] = rnd_f() * 3.0f;
                tk_act_convert(wt, TK_ISA_SCALAR, x, cols, xq + (size_t)b * xb);
            }
            float *ref = malloc(sizeof(float) * (size_t)rows * 65), *got = malloc(sizeof(float) * (size_t)rows * 65);
            for (int b = 0; b < 65; b++)
                tk_matvec_rows(wt, TK_ISA_SCALAR, w, cols, xq + (size_t)b * xb, ref + (size_t)b * rows, 0, rows);
            /* matrix x vector over sub-ranges of groups */
            for (int64_t r0 = 0; r0 < rows; r0 += 16)
                for (int64_t r1 = r0 + 16; r1 <= rows; r1 += 32) {
                    for (int64_t i = 0; i < rows; i++) got[i] = -1.0f;
                    tk_matvec_packed(wt, TK_ISA_AVX512_VNNI, p, cols, xq, got, r0, r1);
                    int bad = 0;
                    for (int64_t i = 0; i < rows; i++)
                        bad += (i >= r0 && i < r1) ? memcmp(&got[i], &ref[i], 4) != 0 : got[i] != -1.0f;
                    T_CHECK(bad == 0, "%s %lldx%lld matvec [%lld, %lld): %d rows differ from the reference",
                            tk_dtype_name(wt), (long long)rows, (long long)cols, (long long)r0, (long long)r1, bad);
                    cases++;
                }
            /* matrix x matrix at every level with packed kernels: VNNI, and AMX tiles where there */
            static const int levels[] = {TK_ISA_AVX512_VNNI, TK_ISA_AMX};
            for (size_t li = 0; li < sizeof levels / sizeof *levels; li++) {
                const int isa = levels[li];
                if (!tk_isa_supported(isa)) continue;
                for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
                    int n = ns[k];
                    int64_t r0 = rows > 16 ? 16 : 0;
                    for (size_t i = 0; i < (size_t)rows * 65; i++) got[i] = -1.0f;
                    tk_matmul_packed(wt, isa, p, cols, xq, xb, n, got, rows, r0, rows);
                    int bad = 0;
                    for (int b = 0; b < 65; b++)
                        for (int64_t i = 0; i < rows; i++) {
                            size_t at = (size_t)b * rows + i;
                            bad += (b < n && i >= r0) ? memcmp(&got[at], &ref[at], 4) != 0 : got[at] != -1.0f;
                        }
                    T_CHECK(bad == 0, "%s %s %lldx%lld matmul n=%d: %d values differ from the reference", tk_dtype_name(wt),
                            tk_isa_name(isa), (long long)rows, (long long)cols, n, bad);
                    cases++;
                }
            }
            free(w), free(p), free(xq), free(x), free(ref), free(got);
        }
    printf("  packed kernels: %d cases bit-identical to the scalar reference\n", cases);
}

static void test_pack_wanted(void) {
    T_CHECK(!tk_pack_wanted(TK_F16, TK_ISA_AVX512_VNNI, 64, 64), "F16 is not packed");
    T_CHECK(!tk_pack_wanted(TK_Q4_0, TK_ISA_AVX512, 64, 64), "no VNNI: not packed");
    T_CHECK(!tk_pack_wanted(TK_Q4_0, TK_ISA_AVX512_VNNI, 40, 64), "40 rows: not whole groups");
    T_CHECK(!tk_pack_wanted(TK_Q8_0, TK_ISA_AVX512_VNNI, 64, 65536), "rows longer than 32768: not packed");
    T_CHECK(tk_pack_wanted(TK_Q8_0, TK_ISA_AVX512_VNNI, 64, 64), "Q8_0 64x64 is packed");
    T_CHECK(tk_pack_wanted(TK_Q4_0, TK_ISA_AVX512_BF16, 32000, 2048), "Q4_0 at avx512bf16 is packed");
}

/* the whole model: packed and file layout give the same logits bit for bit */
/* A model packed at load, one in the file's layout, and one whose packing
 * is put off (defer_repack) until after its prompt: bit-identical logits,
 * and tk_model_repack packs only once. */
static void test_model_packed(void) {
    if (!have_vnni()) T_SKIP("this CPU has no AVX-512 VNNI");
    const char *names[] = {"../shared/models/golden-tiny256/tiny256-q8_0.gguf", "../shared/models/golden-tiny256/tiny256-q4_0.gguf"};
    for (int k = 0; k < 2; k++) {
        const char *path = t_shared(names[k] + 10, NULL);
        if (!path) T_SKIP("%s is missing", names[k]);
        float *l[3] = {NULL, NULL, NULL};
        int nv = 0;
        for (int pk = 0; pk < 3; pk++) { /* 0 packed at load, 1 file layout, 2 packed after the prompt */
            tk_error e = {0};
            tk_load_opts o = {.no_repack = pk == 1, .defer_repack = pk == 2, .n_threads = 2};
            tk_model *m = tk_model_load(path, &o, &e);
            T_CHECK(m, "load %s: %s", path, e.msg);
            if (!m) return;
            tk_session_opts so = {.n_ctx = 64, .n_threads = 2};
            tk_session *s = tk_session_new(m, &so, &e);
            int32_t ids[12];
            for (int i = 0; i < 12; i++) ids[i] = 1 + i * 7;
            T_CHECK(s && tk_prefill(s, ids, 12, &e) == TK_OK, "prefill: %s", e.msg);
            int packed_now = tk_model_repack(m);
            T_CHECK(packed_now == (pk == 2), "tk_model_repack returned %d for load mode %d", packed_now, pk);
            T_CHECK(tk_model_repack(m) == 0, "a second tk_model_repack packed again");
            T_CHECK(s && tk_decode(s, 5, &e) == TK_OK && tk_decode(s, 9, &e) == TK_OK, "decode: %s", e.msg);
            nv = tk_n_vocab(m);
            l[pk] = malloc(sizeof(float) * (size_t)nv);
            if (s && tk_logits(s)) memcpy(l[pk], tk_logits(s), sizeof(float) * (size_t)nv);
            tk_session_free(s);
            tk_model_free(m);
        }
        T_CHECK(!memcmp(l[0], l[1], sizeof(float) * (size_t)nv), "%s: packed and file-layout logits differ", names[k]);
        T_CHECK(!memcmp(l[0], l[2], sizeof(float) * (size_t)nv), "%s: packed at load and after the prompt differ", names[k]);
        free(l[0]), free(l[1]), free(l[2]);
    }
}

int main(void) {
    T_RUN(test_pack_bytes);
    T_RUN(test_packed_kernels);
    T_RUN(test_pack_wanted);
    T_RUN(test_model_packed);
    return t_done();
}
