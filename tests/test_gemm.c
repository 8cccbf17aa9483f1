/* test_gemm.c: tk_matmul_rows (matrix x a burst of activation rows, the
 * prefill kernels of src/tensor/simd/gemm_*.c) against tk_matvec_rows, row
 * after row, for every weight type and every instruction-set level this
 * CPU runs.
 *
 *  - Q8_0 / Q4_0: bit-identical to tk_matvec_rows (exact int32 block sums,
 *    the reference's scaling and order of additions), on random rows and
 *    on rows of unit scales with bytes over the whole range
 *  - F32 / F16 / BF16: within 1e-5 of tk_matvec_rows relative to
 *    sum |w x| (float accumulation vs the reference's double)
 *  - shapes: n = 1, 2, 3, 5, 8, 17, 64, 65; odd row counts; sub-ranges
 *    [r0, r1) (nothing outside them is written); cols 32 ... 4096; rows and
 *    activations at unaligned addresses and padded strides. */
#include "t.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/dtype.h"
#include "tensor/ops.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1.0p-53; }

static float rnd_normal(void) {
    double u = rnd_unit(), v = rnd_unit();
    if (u < 1e-300) u = 1e-300;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static const int TYPES[] = {TK_F32, TK_F16, TK_BF16, TK_Q8_0, TK_Q4_0, TK_Q4_K, TK_Q6_K};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

static int is_quant(int type) { return type == TK_Q8_0 || type == TK_Q4_0 || type == TK_Q4_K || type == TK_Q6_K; }

typedef enum { GEN_NORMAL, GEN_UNIT } gen_kind;

/* A problem: W rows x cols of type, n activation rows (vec_dot_type) at
 * stride xs, both at odd offsets inside their allocations. */
typedef struct {
    int type, n;
    int64_t rows, cols;
    size_t rb, xs;
    unsigned char *wbase, *xbase;
    unsigned char *w, *x;
} problem;

static void problem_new(problem *p, int type, gen_kind g, int64_t rows, int64_t cols, int n) {
    const tk_dtype_traits *t = tk_dtype_get(type);
    p->type = type, p->rows = rows, p->cols = cols, p->n = n;
    p->rb = (size_t)tk_dtype_row_bytes(type, cols);
    p->xs = (size_t)tk_dtype_row_bytes(t->vec_dot_type, cols) + 4 * (rnd64() % 3); /* padded strides too */
    size_t align = type == TK_F32 ? 4 : 2;
    p->wbase = calloc(p->rb * (size_t)rows + 64, 1);
    p->xbase = calloc(p->xs * (size_t)n + 64, 1);
    p->w = p->wbase + align;
    p->x = p->xbase + (t->vec_dot_type == TK_Q8_K ? 4 : 3 * align); /* Q8_K: 4-byte aligned (its float) */
    float *f = malloc((size_t)cols * sizeof *f);
    float ws = (float)exp(rnd_normal()), xsc = (float)exp(rnd_normal());
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < cols; i++) f[i] = rnd_normal() * ws;
        t->from_float(f, p->w + (size_t)r * p->rb, cols);
    }
    for (int b = 0; b < n; b++) {
        for (int64_t i = 0; i < cols; i++) f[i] = rnd_normal() * xsc;
        tk_dtype_get(t->vec_dot_type)->from_float(f, p->x + (size_t)b * p->xs, cols);
    }
    free(f);
    if (g == GEN_UNIT && t->block == 256) {
        /* K-quants: any weight bytes, f16 scales 1.0; activations any
         * bytes in [-127, 127] (AVX2's sign trick), scale 1.0, true bsums */
        for (int64_t r = 0; r < rows; r++) {
            unsigned char *row = p->w + (size_t)r * p->rb;
            for (size_t j = 0; j < p->rb; j++) row[j] = (unsigned char)(rnd64() & 0xff);
            for (int64_t b = 0; b < cols / 256; b++) {
                if (type == TK_Q4_K) ((tk_block_q4_K *)row)[b].d = 0x3c00, ((tk_block_q4_K *)row)[b].dmin = 0x3c00;
                else ((tk_block_q6_K *)row)[b].d = 0x3c00;
            }
        }
        for (int c = 0; c < n; c++)
            for (int64_t b = 0; b < cols / 256; b++) {
                tk_block_q8_K *xb = (tk_block_q8_K *)(p->x + (size_t)c * p->xs) + b;
                xb->d = 1.0f;
                for (int j = 0; j < 256; j++) xb->qs[j] = (int8_t)((int)(rnd64() % 255) - 127);
                for (int j = 0; j < 16; j++) {
                    int sum = 0;
                    for (int k = 0; k < 16; k++) sum += xb->qs[16 * j + k];
                    xb->bsums[j] = (int16_t)sum;
                }
            }
    } else if (g == GEN_UNIT && is_quant(type)) {
        /* scale 1.0 (0x3c00), weights over all of int8 (Q8_0) or 0..15
         * (Q4_0), activations over [-128, 127] */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t b = 0; b < cols / 32; b++) {
                unsigned char *blk = p->w + (size_t)r * p->rb + (size_t)b * (size_t)t->bytes;
                blk[0] = 0x00, blk[1] = 0x3c;
                for (int j = 2; j < t->bytes; j++) blk[j] = (unsigned char)(rnd64() & 0xff);
            }
        for (int c = 0; c < n; c++)
            for (int64_t b = 0; b < cols / 32; b++) {
                tk_block_q8_0 *xb = (tk_block_q8_0 *)(p->x + (size_t)c * p->xs) + b;
                xb->d = 0x3c00;
                for (int j = 0; j < 32; j++) xb->qs[j] = (int8_t)(rnd64() & 0xff);
            }
    }
}

static void problem_free(problem *p) { free(p->wbase), free(p->xbase); }

/* sum |w x| of W row r and activation row b, from the decoded rows */
static double magnitude(const problem *p, int64_t r, int b) {
    const tk_dtype_traits *t = tk_dtype_get(p->type), *a = tk_dtype_get(t->vec_dot_type);
    float *wf = malloc((size_t)p->cols * sizeof *wf), *xf = malloc((size_t)p->cols * sizeof *xf);
    t->to_float(p->w + (size_t)r * p->rb, wf, p->cols);
    a->to_float(p->x + (size_t)b * p->xs, xf, p->cols);
    double m = 0;
    for (int64_t i = 0; i < p->cols; i++) m += fabs((double)wf[i] * xf[i]);
    free(wf), free(xf);
    return m;
}

static const float SENTINEL = -12345.5f;

/* tk_matmul_rows over [r0, r1) vs tk_matvec_rows per activation row; the
 * largest error relative to sum |w x| goes to *worst. */
static void check(const problem *p, int isa, int64_t r0, int64_t r1, double *worst) {
    const int64_t ds = p->rows + 3; /* dst rows padded: nothing may land there */
    float *got = malloc((size_t)ds * (size_t)p->n * sizeof *got);
    float *want = malloc((size_t)p->rows * sizeof *want);
    for (size_t i = 0; i < (size_t)ds * (size_t)p->n; i++) got[i] = SENTINEL;
    tk_matmul_rows(p->type, isa, p->w, p->cols, p->x, p->xs, p->n, got, ds, r0, r1);
    int bad = 0;
    for (int b = 0; b < p->n && bad < 3; b++) {
        tk_matvec_rows(p->type, isa, p->w, p->cols, p->x + (size_t)b * p->xs, want, r0, r1);
        for (int64_t r = 0; r < ds && bad < 3; r++) {
            const float g = got[(size_t)b * (size_t)ds + (size_t)r];
            if (r < r0 || r >= r1) {
                if (g != SENTINEL) {
                    T_CHECK(0, "%s %s: row %lld outside [%lld, %lld) written", tk_dtype_name(p->type),
                            tk_isa_name(isa), (long long)r, (long long)r0, (long long)r1);
                    bad++;
                }
                continue;
            }
            const float w = want[r];
            if (is_quant(p->type)) {
                if (memcmp(&g, &w, sizeof g) != 0) {
                    T_CHECK(0, "%s %s rows %lld cols %lld n %d: [%d][%lld] %.9g != %.9g (not bit-identical)",
                            tk_dtype_name(p->type), tk_isa_name(isa), (long long)p->rows, (long long)p->cols, p->n, b,
                            (long long)r, g, w);
                    bad++;
                }
            } else {
                const double m = magnitude(p, r, b), e = fabs((double)g - (double)w) / (m > 0 ? m : 1);
                if (e > *worst) *worst = e;
                if (!(e <= 1e-5)) {
                    T_CHECK(0, "%s %s rows %lld cols %lld n %d: [%d][%lld] %.9g vs %.9g (rel %.3g)",
                            tk_dtype_name(p->type), tk_isa_name(isa), (long long)p->rows, (long long)p->cols, p->n, b,
                            (long long)r, g, w, e);
                    bad++;
                }
            }
        }
    }
    free(got), free(want);
}

static void run_shapes(gen_kind g) {
    static const int64_t COLS[] = {32, 64, 96, 160, 256, 768, 1056, 1280, 2048, 4096};
    static const int64_t ROWS[] = {1, 3, 15, 16, 17, 33, 47, 64};
    static const int NS[] = {1, 2, 3, 5, 8, 17, 64, 65};
    const int best = tk_isa_detect();
    for (int ti = 0; ti < NTYPES; ti++) {
        const int type = TYPES[ti];
        if (g == GEN_UNIT && !is_quant(type)) continue;
        double worst = 0;
        int cases = 0;
        for (size_t ci = 0; ci < sizeof COLS / sizeof *COLS; ci++)
            for (size_t ri = 0; ri < sizeof ROWS / sizeof *ROWS; ri++) {
                const int64_t cols = COLS[ci], rows = ROWS[ri];
                if (cols % tk_dtype_get(type)->block) continue;
                /* keep the big shapes to a few burst sizes */
                for (size_t ni = 0; ni < sizeof NS / sizeof *NS; ni++) {
                    const int n = NS[ni];
                    if (cols * rows * n > 4096 * 64 * 17 && n != 64) continue;
                    problem p;
                    problem_new(&p, type, g, rows, cols, n);
                    for (int isa = 0; isa <= best; isa++) {
                        check(&p, isa, 0, rows, &worst);
                        if (rows > 2) {
                            const int64_t a = 1 + (int64_t)(rnd64() % (uint64_t)(rows - 1));
                            const int64_t b = a + (int64_t)(rnd64() % (uint64_t)(rows - a + 1));
                            check(&p, isa, a, b, &worst);
                        }
                        cases++;
                    }
                    problem_free(&p);
                }
            }
        if (!is_quant(type)) printf("  %s: %d cases, worst error %.3g of sum |w x|\n", tk_dtype_name(type), cases, worst);
        else printf("  %s: %d cases, bit-identical\n", tk_dtype_name(type), cases);
    }
}

static void test_matmul_random(void) { run_shapes(GEN_NORMAL); }
static void test_matmul_unit_scales(void) { run_shapes(GEN_UNIT); }

/* Nothing happens for an empty range or no activation rows. */
static void test_matmul_empty(void) {
    problem p;
    problem_new(&p, TK_Q8_0, GEN_NORMAL, 4, 64, 2);
    float d[8];
    for (int i = 0; i < 8; i++) d[i] = SENTINEL;
    for (int isa = 0; isa <= tk_isa_detect(); isa++) {
        tk_matmul_rows(p.type, isa, p.w, p.cols, p.x, p.xs, 2, d, 4, 2, 2);
        tk_matmul_rows(p.type, isa, p.w, p.cols, p.x, p.xs, 0, d, 4, 0, 4);
    }
    for (int i = 0; i < 8; i++) T_CHECK(d[i] == SENTINEL, "dst[%d] written", i);
    problem_free(&p);
}

int main(void) {
    printf("  this CPU: %s\n", tk_isa_name(tk_isa_detect()));
    T_RUN(test_matmul_random);
    T_RUN(test_matmul_unit_scales);
    T_RUN(test_matmul_empty);
    return t_done();
}
