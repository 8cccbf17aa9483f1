/* test_quantize.c: the GGUF writer, `tick quantize` and `tick synth`.
 *
 * - quantizing golden-tiny256 F32 gives the files llama-quantize --pure
 *   made, byte for byte (tensors, metadata, whole file);
 * - f32 -> q8_0 -> f32 round trip within the Q8_0 error bound; the
 *   tensor selection and order rules on a built file;
 * - the writer copies every kind of value (nested arrays too) exactly,
 *   overrides keys llama.cpp's way, honours general.alignment, and a failed
 *   write leaves no file (and an old file untouched);
 * - synth: same seed, same bytes; the files load and generate in tick, in
 *   every type; vocabulary padding; bad arguments get one clear line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/status.h"
#include "formats/gguf.h"
#include "formats/gguf_write.h"
#include "formats/quantize.h"
#include "formats/synth.h"
#include "t.h"
#include "tensor/dtype.h"
#include "tick.h"
#include "util_gguf.h"

#define TINY "models/golden-tiny256/"
#define F32_SHA "b4d01b7f4d4983e4418d3be66b418b64ff56a9e9cb592b21c82a8723224ed082"
#define SPM_VOCAB "models/vocab/ggml-vocab-llama-spm.gguf"
#define SPM_SHA "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69"
#define S260 "models/stories260K.gguf"
#define S260_SHA "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"

static char *tmp(const char *name) {
    static char p[8][1024];
    static int slot;
    char *s = p[slot++ & 7];
    snprintf(s, 1024, "%s/%s", t_tmpdir(), name);
    return s;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Run `tick ARGS`; stdout+stderr (malloc'd) and the exit status. */
static char *run_merged(const char *args, int *status) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", t_tick(), args);
    return t_run_cmd(cmd, status);
}

static int n_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static int same_value(const tk_gguf_value *a, const tk_gguf_value *b) {
    return a->type == b->type && a->elem_type == b->elem_type && a->n == b->n && a->size == b->size &&
           memcmp(a->p, b->p, (size_t)a->size) == 0;
}

/* Every pair of a in b with the same value, and the same count; the keys
 * that differ are listed in diff. Returns the number of differences. */
static int compare_kv(const tk_gguf *a, const tk_gguf *b, char *diff, size_t cap) {
    int nd = 0;
    size_t o = 0;
    diff[0] = 0;
    for (int i = 0; i < tk_gguf_n_kv(a); i++) {
        const char *k = tk_gguf_key(a, i);
        int j = tk_gguf_find(b, k);
        tk_gguf_value va, vb;
        tk_gguf_value_of(a, i, &va);
        if (j < 0 || tk_gguf_value_of(b, j, &vb) != TK_OK || !same_value(&va, &vb) || j != i) {
            nd++;
            if (o < cap) o += (size_t)snprintf(diff + o, cap - o, " %s%s", k, j < 0 ? "(absent)" : j != i ? "(moved)" : "");
        }
    }
    if (tk_gguf_n_kv(a) != tk_gguf_n_kv(b)) {
        nd++;
        if (o < cap) snprintf(diff + o, cap - o, " (key counts %d vs %d)", tk_gguf_n_kv(a), tk_gguf_n_kv(b));
    }
    return nd;
}

/* Tensors of a and b: same order, names, types, shapes and bytes. */
static int compare_tensors(const tk_gguf *a, const tk_gguf *b, char *why, size_t cap) {
    why[0] = 0;
    if (tk_gguf_n_tensors(a) != tk_gguf_n_tensors(b))
        return snprintf(why, cap, "tensor counts %d vs %d", tk_gguf_n_tensors(a), tk_gguf_n_tensors(b)), 1;
    for (int i = 0; i < tk_gguf_n_tensors(a); i++) {
        const tk_gguf_tensor *x = tk_gguf_tensor_at(a, i), *y = tk_gguf_tensor_at(b, i);
        if (strcmp(x->name, y->name) || x->type != y->type || x->n_dims != y->n_dims || memcmp(x->ne, y->ne, sizeof x->ne) ||
            x->offset != y->offset || x->nbytes != y->nbytes)
            return snprintf(why, cap, "tensor %d: %s %s vs %s %s", i, x->name, tk_dtype_name(x->type), y->name, tk_dtype_name(y->type)), 1;
        if (memcmp(x->data, y->data, (size_t)x->nbytes))
            return snprintf(why, cap, "tensor %s: data differs", x->name), 1;
    }
    return 0;
}

static int files_equal(const char *a, const char *b) {
    size_t na, nb;
    char *x = t_read(a, &na), *y = t_read(b, &nb);
    int eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x), free(y);
    return eq;
}

/* ---- quantize: byte-identical with llama-quantize --pure ------------------------- */

static void test_quantize_matches_llamacpp(void) {
    static const struct { const char *type, *sha; } T[] = {
        {"f16", "8af206bfeb741b0c77350853bfec5cc8e9ba2b2fdc3ac56e1e87299ffab116f2"},
        {"bf16", "8ed47d604982c124facff31282303b8b5de4234e5dc8f3cb9675c64cc2ab91b7"},
        {"q8_0", "41253032aa6542a14ad8efa9f48fe546a0eead839b5f7fbb1cdb213a8459ac77"},
        {"q4_0", "407070089cbf4844703f8198858b244a9e81f60cdbc8fd9d65b0afc744532be2"},
    };
    char in[1024];
    const char *p = t_shared(TINY "tiny256-f32.gguf", F32_SHA);
    if (!p) T_SKIP("golden-tiny256 F32 is absent or altered");
    snprintf(in, sizeof in, "%s", p);
    for (size_t k = 0; k < sizeof T / sizeof *T; k++) {
        char rel[128], want[1024], *out = tmp("q.gguf");
        snprintf(rel, sizeof rel, TINY "tiny256-%s.gguf", T[k].type);
        if (!(p = t_shared(rel, T[k].sha))) T_SKIP("%s is absent or altered", rel);
        snprintf(want, sizeof want, "%s", p);
        tk_error e = {0};
        tk_quantize_opts o = {.type = tk_quantize_type_from_name(T[k].type), .n_threads = k % 2 ? 2 : 1};
        tk_quantize_stats st;
        int rc = tk_quantize_file(in, out, &o, &st, &e);
        T_CHECK(rc == TK_OK, "%s: %s", T[k].type, e.msg);
        if (rc != TK_OK) continue;
        T_CHECK(st.n_tensors == 39 && st.n_converted == 30, "%s: %d tensors, %d converted", T[k].type, st.n_tensors, st.n_converted);
        tk_gguf *a = NULL, *b = NULL;
        T_CHECK(tk_gguf_open(&a, out, &e) == TK_OK, "%s: read back: %s", T[k].type, e.msg);
        T_CHECK(tk_gguf_open(&b, want, &e) == TK_OK, "%s: %s", want, e.msg);
        if (a && b) {
            char why[512];
            T_CHECK(!compare_tensors(a, b, why, sizeof why), "%s: tensors differ from llama-quantize's: %s", T[k].type, why);
            T_CHECK(!compare_kv(a, b, why, sizeof why), "%s: metadata differs from llama-quantize's:%s", T[k].type, why);
        }
        tk_gguf_free(a), tk_gguf_free(b);
        T_CHECK(files_equal(out, want), "%s: the file is not byte-identical to %s", T[k].type, want);
        T_CHECK(!exists(tmp("q.gguf.tmp")), "%s: q.gguf.tmp was left behind", T[k].type);
        remove(out);
    }
}

/* The command: a line per tensor and a total, the same bytes. */
static void test_quantize_cli(void) {
    char in[1024], want[1024], args[4096];
    const char *p = t_shared(TINY "tiny256-f32.gguf", F32_SHA);
    if (!p) T_SKIP("golden-tiny256 F32 is absent or altered");
    snprintf(in, sizeof in, "%s", p);
    if (!(p = t_shared(TINY "tiny256-q4_0.gguf", "407070089cbf4844703f8198858b244a9e81f60cdbc8fd9d65b0afc744532be2")))
        T_SKIP("tiny256-q4_0 is absent or altered");
    snprintf(want, sizeof want, "%s", p);
    const char *out = tmp("cli-q4.gguf");
    snprintf(args, sizeof args, "quantize %s %s Q4_0 -t 2", in, out);
    int st;
    char *o = run_merged(args, &st);
    T_CHECK(st == 0, "exit %d: %s", st, o);
    T_CHECK(o && strstr(o, "token_embd.weight") && strstr(o, "F32   -> Q4_0") && strstr(o, "total: 39 tensors (30 converted to Q4_0)"),
            "output: %s", o ? o : "(none)");
    T_CHECK(n_lines(o) == 40, "%d lines (want 39 tensors and a total)", n_lines(o));
    T_CHECK(files_equal(out, want), "tick quantize q4_0 differs from llama-quantize's file");
    free(o);
    remove(out);
}

/* ---- quantize: rules and round trip ------------------------------------------------ */

static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

/* A small model-like file: tensors in a scrambled order, one row length
 * that no block divides, a split key, general.file_type in the middle. */
static void build_model(const char *path, float **keep, int *n_keep) {
    static const struct { const char *name; int64_t ne0, ne1; } T[] = {
        {"blk.10.attn_q.weight", 64, 8}, {"output_norm.weight", 64, 0}, {"blk.2.attn_q.weight", 64, 8},
        {"token_embd.weight", 64, 16},   {"blk.2.attn_norm.weight", 64, 0}, {"blk.2.odd.weight", 48, 4},
        {"blk.2.ffn_gate_inp.weight", 64, 4}, {"blk.2.bias", 64, 2},
    };
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "llama");
    tg_kv_u32(b, "general.file_type", 0);
    tg_kv_u16(b, "split.count", 1);
    tg_kv_f32(b, "llama.rope.freq_base", 10000.0f);
    uint64_t seed = 7;
    *n_keep = (int)(sizeof T / sizeof *T);
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        int64_t ne[2] = {T[i].ne0, T[i].ne1}, n = T[i].ne0 * (T[i].ne1 ? T[i].ne1 : 1);
        float *d = malloc((size_t)n * sizeof *d);
        for (int64_t j = 0; j < n; j++) d[j] = frand(&seed) * (float)(1 + j % 7);
        tg_tensor(b, T[i].name, TK_F32, T[i].ne1 ? 2 : 1, ne, d, 0);
        keep[i] = d;
    }
    T_CHECK(tg_write(b, path) == 0, "cannot write %s", path);
    tg_free(b);
}

static void test_quantize_rules_and_round_trip(void) {
    float *orig[16];
    int n;
    const char *f32 = tmp("m-f32.gguf"), *q8 = tmp("m-q8.gguf"), *back = tmp("m-back.gguf");
    build_model(f32, orig, &n);
    tk_error e = {0};
    tk_quantize_opts o = {.type = TK_Q8_0};
    int rc = tk_quantize_file(f32, q8, &o, NULL, &e);
    T_CHECK(rc == TK_OK, "f32 -> q8_0: %s", e.msg);
    o.type = TK_F32;
    if (rc == TK_OK) T_CHECK((rc = tk_quantize_file(q8, back, &o, NULL, &e)) == TK_OK, "q8_0 -> f32: %s", e.msg);
    tk_gguf *g0 = NULL, *g1 = NULL, *g2 = NULL;
    if (rc == TK_OK && tk_gguf_open(&g0, f32, &e) == TK_OK && tk_gguf_open(&g1, q8, &e) == TK_OK &&
        tk_gguf_open(&g2, back, &e) == TK_OK) {
        /* llama.cpp's order: outside blk first, then blk.2 before blk.10. */
        static const char *const order[] = {"output_norm.weight", "token_embd.weight", "blk.2.attn_norm.weight",
                                            "blk.2.attn_q.weight", "blk.2.bias", "blk.2.ffn_gate_inp.weight",
                                            "blk.2.odd.weight", "blk.10.attn_q.weight"};
        for (int i = 0; i < 8; i++)
            T_CHECK(!strcmp(tk_gguf_tensor_at(g1, i)->name, order[i]), "tensor %d is %s, want %s", i,
                    tk_gguf_tensor_at(g1, i)->name, order[i]);
        /* Which tensors were quantized. */
        static const char *const q[] = {"token_embd.weight", "blk.2.attn_q.weight", "blk.10.attn_q.weight"};
        static const char *const kept[] = {"output_norm.weight", "blk.2.attn_norm.weight", "blk.2.odd.weight",
                                           "blk.2.ffn_gate_inp.weight", "blk.2.bias"};
        for (int i = 0; i < 3; i++) T_CHECK(tk_gguf_find_tensor(g1, q[i])->type == TK_Q8_0, "%s not Q8_0", q[i]);
        for (int i = 0; i < 5; i++) {
            const tk_gguf_tensor *a = tk_gguf_find_tensor(g0, kept[i]), *b = tk_gguf_find_tensor(g1, kept[i]);
            T_CHECK(b->type == TK_F32 && b->nbytes == a->nbytes && !memcmp(a->data, b->data, (size_t)a->nbytes),
                    "%s was not copied unchanged", kept[i]);
        }
        /* Metadata: split.count gone, quantization_version then file_type last. */
        int nk = tk_gguf_n_kv(g1);
        uint32_t ft = 99, qv = 0;
        T_CHECK(tk_gguf_find(g1, "split.count") < 0, "split.count was copied");
        T_CHECK(nk == 4 && !strcmp(tk_gguf_key(g1, nk - 1), "general.file_type") &&
                    !strcmp(tk_gguf_key(g1, nk - 2), "general.quantization_version"),
                "metadata order: %d keys, last %s", nk, tk_gguf_key(g1, nk - 1));
        tk_gguf_get_u32(g1, "general.file_type", &ft, NULL);
        tk_gguf_get_u32(g1, "general.quantization_version", &qv, NULL);
        T_CHECK(ft == 7 && qv == 2, "file_type %u, quantization_version %u", ft, qv);
        tk_gguf_get_u32(g2, "general.file_type", &ft, NULL);
        T_CHECK(ft == 0, "back to f32: file_type %u", ft);
        /* Round trip error: within half a step of each block's scale (plus
         * the scale's own F16 rounding). */
        double worst = 0;
        for (int i = 0; i < 3; i++) {
            const tk_gguf_tensor *a = tk_gguf_find_tensor(g0, q[i]), *b = tk_gguf_find_tensor(g2, q[i]);
            T_CHECK(b && b->type == TK_F32 && b->nbytes == a->nbytes, "%s: not back to F32", q[i]);
            if (!b || b->nbytes != a->nbytes) continue;
            const float *x = a->data, *y = b->data;
            int64_t ne = (int64_t)(a->nbytes / 4);
            for (int64_t s = 0; s < ne; s += 32) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[s + j]));
                for (int j = 0; j < 32; j++) {
                    double err = fabs((double)x[s + j] - (double)y[s + j]);
                    double bound = amax * (0.5 / 127.0 + 1.0 / 1024.0);
                    if (err / (amax > 0 ? amax : 1) > worst) worst = err / (amax > 0 ? amax : 1);
                    if (err > bound) {
                        T_CHECK(0, "%s[%lld]: |%g - %g| > %g", q[i], (long long)(s + j), x[s + j], y[s + j], bound);
                        s = ne;
                        break;
                    }
                }
            }
        }
        T_CHECK(worst > 0, "round trip was exact: nothing was quantized?");
        printf("  q8_0 round trip: worst |error| / block amax = %.5f (bound %.5f)\n", worst, 0.5 / 127.0 + 1.0 / 1024.0);
    } else {
        T_CHECK(rc != TK_OK, "read back: %s", e.msg);
    }
    tk_gguf_free(g0), tk_gguf_free(g1), tk_gguf_free(g2);
    for (int i = 0; i < n; i++) free(orig[i]);
    remove(f32), remove(q8), remove(back);
}

static void test_quantize_errors(void) {
    tk_error e = {0};
    tk_quantize_opts o = {.type = TK_Q4_K};
    T_CHECK(tk_quantize_file("x", "y", &o, NULL, &e) == TK_EINVAL && strstr(e.msg, "Q4_K"), "Q4_K target: %s", e.msg);
    o.type = TK_Q8_0;
    const char *out = tmp("never.gguf");
    T_CHECK(tk_quantize_file(tmp("absent.gguf"), out, &o, NULL, &e) == TK_EIO && strstr(e.msg, "absent.gguf"),
            "absent input: %s", e.msg);
    T_CHECK(!exists(out), "an output was written for an absent input");
    T_CHECK(tk_quantize_type_from_name("Q8_0") == TK_Q8_0 && tk_quantize_type_from_name("bf16") == TK_BF16 &&
                tk_quantize_type_from_name("q4_k") == -1 && tk_quantize_type_from_name("i8") == -1,
            "type names");
    T_CHECK(tk_ftype_of(TK_F32) == 0 && tk_ftype_of(TK_F16) == 1 && tk_ftype_of(TK_Q4_0) == 2 && tk_ftype_of(TK_Q8_0) == 7 &&
                tk_ftype_of(TK_BF16) == 32,
            "LLAMA_FTYPE values");
}

/* ---- the writer ------------------------------------------------------------------------ */

/* A file with a value of every type, nested arrays and tensors, as
 * llama.cpp lays it out (util_gguf). */
static tg_builder *build_everything(float *f32, unsigned char *q8) {
    tg_builder *b = tg_new(3);
    tg_kv_u8(b, "t.u8", 200);
    tg_kv_i8(b, "t.i8", -100);
    tg_kv_u16(b, "t.u16", 60000);
    tg_kv_i16(b, "t.i16", -30000);
    tg_kv_u32(b, "t.u32", 4000000000u);
    tg_kv_i32(b, "t.i32", -2000000000);
    tg_kv_u64(b, "t.u64", 0xFFFFFFFFFFFFFFF0ull);
    tg_kv_i64(b, "t.i64", -5);
    tg_kv_f32(b, "t.f32", 1.5f);
    tg_kv_f64(b, "t.f64", -2.25);
    tg_kv_bool(b, "t.bool", 1);
    tg_kv_str(b, "t.str", "h\xC3\xA9llo");
    tg_kv_strn(b, "t.empty", "", 0);
    const char *const strs[] = {"a", "", "\xE2\x96\x81the"};
    tg_kv_arr_str(b, "t.arr_str", strs, 3);
    const float fs[] = {0.5f, -1.0f};
    tg_kv_arr_f32(b, "t.arr_f32", fs, 2);
    const int32_t is[] = {1, -2, 3};
    tg_kv_arr_i32(b, "t.arr_i32", is, 3);
    tg_kv_arr(b, "t.arr_empty", TK_GGUF_UINT64, NULL, 0);
    /* [[1, 2], [], [3]] as INT32 arrays, and [["x", "yz"], ["w"]]. */
    tg_buf v = {0};
    tg_put_arr(&v, TK_GGUF_ARRAY, 3);
    tg_put_arr(&v, TK_GGUF_INT32, 2), tg_put_u32(&v, 1), tg_put_u32(&v, 2);
    tg_put_arr(&v, TK_GGUF_INT32, 0);
    tg_put_arr(&v, TK_GGUF_INT32, 1), tg_put_u32(&v, 3);
    tg_kv_raw(b, "t.nested_i32", TK_GGUF_ARRAY, v.p, v.n);
    v.n = 0;
    tg_put_arr(&v, TK_GGUF_ARRAY, 2);
    tg_put_arr(&v, TK_GGUF_STRING, 2), tg_put_str(&v, "x"), tg_put_str(&v, "yz");
    tg_put_arr(&v, TK_GGUF_STRING, 1), tg_put_str(&v, "w");
    tg_kv_raw(b, "t.nested_str", TK_GGUF_ARRAY, v.p, v.n);
    v.n = 0;
    /* three levels: [[[7]]] of UINT8 */
    tg_put_arr(&v, TK_GGUF_ARRAY, 1);
    tg_put_arr(&v, TK_GGUF_ARRAY, 1);
    tg_put_arr(&v, TK_GGUF_UINT8, 1), tg_put_u8(&v, 7);
    tg_kv_raw(b, "t.nested3", TK_GGUF_ARRAY, v.p, v.n);
    tg_buf_free(&v);
    int64_t ne1[1] = {5}, ne2[2] = {32, 3};
    tg_tensor(b, "a.weight", TK_F32, 1, ne1, f32, 0);
    tg_tensor(b, "b.weight", TK_Q8_0, 2, ne2, q8, 0);
    return b;
}

static int keep_all_but_t_u8(void *ctx, const char *key) {
    (void)ctx;
    return strcmp(key, "t.u8") != 0;
}

static void test_writer_copies_everything(void) {
    float f32[5] = {1, 2, 3, 4, 5};
    unsigned char q8[3 * 34];
    for (int i = 0; i < (int)sizeof q8; i++) q8[i] = (unsigned char)(i * 7);
    tg_builder *b = build_everything(f32, q8);
    const char *src = tmp("everything.gguf"), *dst = tmp("copy.gguf");
    T_CHECK(tg_write(b, src) == 0, "tg_write");
    tg_free(b);
    tk_error e = {0};
    tk_gguf *g = NULL, *c = NULL;
    if (tk_gguf_open(&g, src, &e) != TK_OK) {
        T_CHECK(0, "open %s: %s", src, e.msg);
        return;
    }
    tk_gguf_writer *w = tk_gguf_writer_new();
    T_CHECK(tk_gguf_writer_copy_kv(w, g, NULL, NULL, &e) == TK_OK, "copy_kv: %s", e.msg);
    for (int i = 0; i < tk_gguf_n_tensors(g); i++) {
        const tk_gguf_tensor *t = tk_gguf_tensor_at(g, i);
        T_CHECK(tk_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, &e) == i, "add: %s", e.msg);
    }
    T_CHECK(tk_gguf_writer_write(w, dst, &e) == TK_OK, "write: %s", e.msg);
    T_CHECK(tk_gguf_writer_size(w) == (uint64_t)tk_gguf_data_offset(g) + 32 + 128, "size %llu",
            (unsigned long long)tk_gguf_writer_size(w));
    /* util_gguf leaves the last tensor unpadded; llama.cpp (gguf.cpp
     * write_tensor_data) and this writer pad it to the alignment too. */
    size_t ns, nd;
    char *xs = t_read(src, &ns), *xd = t_read(dst, &nd);
    int same = xs && xd && nd == (ns + 31) / 32 * 32 && !memcmp(xs, xd, ns);
    for (size_t k = ns; same && k < nd; k++) same = xd[k] == 0;
    T_CHECK(same, "the copy (%zu bytes) is not the original (%zu bytes) plus zero padding", nd, ns);
    free(xs), free(xd);
    if (tk_gguf_open(&c, dst, &e) == TK_OK) {
        char why[512];
        T_CHECK(!compare_kv(g, c, why, sizeof why), "values differ:%s", why);
        T_CHECK(!compare_tensors(g, c, why, sizeof why), "tensors differ: %s", why);
        int et;
        uint64_t n;
        T_CHECK(tk_gguf_arr_sub(c, "t.nested_str", 0, &et, &n) == TK_OK && et == TK_GGUF_STRING && n == 2, "nested strings");
    } else {
        T_CHECK(0, "read back: %s", e.msg);
    }
    tk_gguf_free(c);
    c = NULL;

    /* Overrides: a set key moves to the end (llama.cpp); a filter drops keys;
     * general.alignment lays out the data. */
    tk_gguf_writer_free(w);
    w = tk_gguf_writer_new();
    T_CHECK(tk_gguf_writer_copy_kv(w, g, keep_all_but_t_u8, NULL, &e) == TK_OK, "copy_kv: %s", e.msg);
    T_CHECK(tk_gguf_writer_find(w, "t.u8") < 0, "filtered key was copied");
    T_CHECK(tk_gguf_writer_set_i32(w, "t.i8", 12345, &e) == TK_OK, "set_i32");
    T_CHECK(tk_gguf_writer_set_u32(w, "general.alignment", 64, &e) == TK_OK, "set alignment");
    T_CHECK(tk_gguf_writer_set_u32(w, "general.alignment", 48, &e) == TK_EINVAL && strstr(e.msg, "power of two"), "48: %s", e.msg);
    T_CHECK(tk_gguf_writer_set_f32(w, "general.alignment", 64, &e) == TK_EINVAL, "f32 alignment accepted");
    const char *const s2[] = {"p", "q"};
    const uint64_t l2[] = {1, 0};
    T_CHECK(tk_gguf_writer_set_arr_str(w, "t.arr2", s2, l2, 2, &e) == TK_OK, "arr_str");
    T_CHECK(tk_gguf_writer_set_bool(w, "t.bool", 0, &e) == TK_OK && tk_gguf_writer_set_str(w, "t.str", "new", &e) == TK_OK,
            "set bool/str");
    tk_gguf_writer_remove(w, "t.f64");
    int64_t ne[2] = {32, 3};
    T_CHECK(tk_gguf_writer_add_tensor(w, "b.weight", TK_Q8_0, 2, ne, q8, &e) == 0, "add: %s", e.msg);
    T_CHECK(tk_gguf_writer_add_tensor(w, "b.weight", TK_Q8_0, 2, ne, q8, &e) < 0 && strstr(e.msg, "twice"), "dup: %s", e.msg);
    int64_t bad[2] = {33, 1};
    T_CHECK(tk_gguf_writer_add_tensor(w, "c.weight", TK_Q8_0, 2, bad, q8, &e) < 0 && strstr(e.msg, "block"), "33: %s", e.msg);
    T_CHECK(tk_gguf_writer_add_tensor(w, "0123456789012345678901234567890123456789012345678901234567890123", TK_F32, 1, ne, f32,
                                      &e) < 0 && strstr(e.msg, "63"), "long name: %s", e.msg);
    T_CHECK(tk_gguf_writer_add_tensor(w, "a.weight", TK_F32, 1, (int64_t[]){5}, f32, &e) == 1, "add: %s", e.msg);
    T_CHECK(tk_gguf_writer_write(w, dst, &e) == TK_OK, "write: %s", e.msg);
    if (tk_gguf_open(&c, dst, &e) == TK_OK) {
        int n = tk_gguf_n_kv(c);
        int64_t v = 0;
        T_CHECK(n == tk_gguf_n_kv(g), "n_kv %d", n); /* -u8 -f64, +alignment +arr2 */
        T_CHECK(!strcmp(tk_gguf_key(c, n - 1), "t.str") && !strcmp(tk_gguf_key(c, n - 2), "t.bool") &&
                    !strcmp(tk_gguf_key(c, n - 4), "general.alignment") && !strcmp(tk_gguf_key(c, n - 5), "t.i8"),
                "set keys are not at the end in order");
        T_CHECK(tk_gguf_get_i64(c, "t.i8", &v, NULL) == TK_OK && v == 12345 && tk_gguf_kv_type(c, tk_gguf_find(c, "t.i8")) == TK_GGUF_INT32,
                "t.i8 = %lld", (long long)v);
        T_CHECK(tk_gguf_alignment(c) == 64 && tk_gguf_data_offset(c) % 64 == 0, "alignment %llu, data at %llu",
                (unsigned long long)tk_gguf_alignment(c), (unsigned long long)tk_gguf_data_offset(c));
        const tk_gguf_tensor *ta = tk_gguf_find_tensor(c, "a.weight");
        T_CHECK(ta && ta->offset == 128 && !memcmp(ta->data, f32, 20), "a.weight at offset %llu", ta ? (unsigned long long)ta->offset : 0ull);
        const char *s;
        uint64_t sl;
        T_CHECK(tk_gguf_arr_str(c, "t.arr2", 1, &s, &sl) == TK_OK && sl == 0, "empty string element");
    } else {
        T_CHECK(0, "read back: %s", e.msg);
    }
    tk_gguf_free(c);
    tk_gguf_writer_free(w);
    tk_gguf_free(g);
    remove(src), remove(dst);
}

static int failing_rows(void *ctx, int64_t row0, int64_t n, void *dst, tk_error *e) {
    memset(dst, 0, (size_t)n * 4 * 65536);
    if (row0 >= *(int64_t *)ctx) return tk_err(e, TK_EIO, "the generator broke at row %lld", (long long)row0);
    return TK_OK;
}

static void test_writer_failures(void) {
    tk_error e = {0};
    float x[64] = {0};
    int64_t ne[1] = {64};
    tk_gguf_writer *w = tk_gguf_writer_new();
    tk_gguf_writer_set_str(w, "general.architecture", "llama", &e);
    tk_gguf_writer_add_tensor(w, "x.weight", TK_F32, 1, ne, x, &e);
    /* A directory that does not exist. */
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/no/such/dir/out.gguf", t_tmpdir());
    int rc = tk_gguf_writer_write(w, bad, &e);
    T_CHECK(rc == TK_EIO && strstr(e.msg, bad) && strstr(e.msg, "No such file"), "bad dir: rc %d, %s", rc, e.msg);
    T_CHECK(!exists(bad), "a file was left at %s", bad);
    tk_gguf_writer_free(w);

    /* A callback that fails midway: no OUT, no OUT.tmp, an old OUT untouched. */
    const char *out = tmp("fail.gguf"), *tmpf = tmp("fail.gguf.tmp");
    T_CHECK(t_write(out, "old", 3) == 0, "cannot write %s", out);
    w = tk_gguf_writer_new();
    int64_t big[2] = {1 << 16, 64}, fail_at = 32; /* rows of 256 KiB: 16 per chunk */
    tk_gguf_writer_add_tensor_fn(w, "big.weight", TK_F32, 2, big, failing_rows, &fail_at, &e);
    rc = tk_gguf_writer_write(w, out, &e);
    T_CHECK(rc == TK_EIO && strstr(e.msg, "fail.gguf") && strstr(e.msg, "big.weight") && strstr(e.msg, "broke at row 32"),
            "failing callback: rc %d, %s", rc, e.msg);
    size_t n;
    char *old = t_read(out, &n);
    T_CHECK(old && n == 3 && !memcmp(old, "old", 3), "the old file was changed");
    free(old);
    T_CHECK(!exists(tmpf), "%s was left behind", tmpf);
    fail_at = 1000;
    T_CHECK(tk_gguf_writer_write(w, out, &e) == TK_OK, "write: %s", e.msg);
    struct stat sb;
    T_CHECK(stat(out, &sb) == 0 && (uint64_t)sb.st_size == tk_gguf_writer_size(w) && sb.st_size > 4 * 64 * 65536, "size");
    tk_gguf *g = NULL;
    T_CHECK(tk_gguf_open(&g, out, &e) == TK_OK && tk_gguf_find_tensor(g, "big.weight"), "read back: %s", e.msg);
    tk_gguf_free(g);
    tk_gguf_writer_free(w);
    remove(out);
}

/* ---- synth ------------------------------------------------------------------------------ */

static void test_synth_stories15m(void) {
    char vocab[1024];
    const char *p = t_shared(SPM_VOCAB, SPM_SHA);
    if (!p) T_SKIP("%s is absent or altered", SPM_VOCAB);
    snprintf(vocab, sizeof vocab, "%s", p);
    tk_synth_opts o = {.type = TK_Q8_0, .vocab_path = vocab, .seed = 42};
    tk_error e = {0};
    T_CHECK(tk_synth_shape_named("stories15m", &o.shape, &e) == TK_OK, "%s", e.msg);
    const char *a = tmp("s15a.gguf"), *b = tmp("s15b.gguf"), *c = tmp("s15c.gguf");
    tk_synth_stats st;
    T_CHECK(tk_synth_write(&o, a, &st, &e) == TK_OK, "synth: %s", e.msg);
    T_CHECK(st.n_tensors == 2 + 9 * 6 && st.n_vocab == 32000 && st.vocab_padded == 0, "stats: %d tensors, vocab %d",
            st.n_tensors, st.n_vocab);
    o.n_threads = 2; /* threads do not change the bytes */
    T_CHECK(tk_synth_write(&o, b, NULL, &e) == TK_OK, "synth: %s", e.msg);
    T_CHECK(files_equal(a, b), "same seed, different bytes");
    o.seed = 43;
    T_CHECK(tk_synth_write(&o, c, NULL, &e) == TK_OK, "synth: %s", e.msg);
    T_CHECK(!files_equal(a, c), "different seeds, same bytes");

    tk_model *m = tk_model_load(a, NULL, &e);
    T_CHECK(m != NULL, "load: %s", e.msg);
    if (m) {
        const tk_model_info *I = tk_model_info_of(m);
        T_CHECK(I->n_embd == 288 && I->n_layer == 6 && I->n_head == 6 && I->n_head_kv == 6 && I->n_ff == 768 &&
                    I->n_vocab == 32000 && I->n_ctx_train == 256 && I->tied_output && I->rope_dim == 48 &&
                    I->rope_base == 10000.0f && I->rms_eps == 1e-5f && I->bos == 1 && I->eos == 2,
                "hyper-parameters: embd %d layers %d heads %d/%d ff %d vocab %d ctx %d tied %d", I->n_embd, I->n_layer,
                I->n_head, I->n_head_kv, I->n_ff, I->n_vocab, I->n_ctx_train, I->tied_output);
        tk_session *s = tk_session_new(m, NULL, &e);
        int32_t ids[16];
        int n = tk_tokenize(m, "Once upon a time", 16, TK_TOKENIZE_ADD_BOS, ids, 16, &e);
        T_CHECK(s && n == 5 && tk_prefill(s, ids, n, &e) == TK_OK, "prefill: %s", e.msg);
        for (int k = 0; s && k < 4; k++) {
            const float *l = tk_logits(s);
            int best = 0, finite = 1;
            for (int i = 0; i < I->n_vocab; i++) {
                finite &= isfinite(l[i]);
                if (l[i] > l[best]) best = i;
            }
            T_CHECK(finite, "token %d: non-finite logits", k);
            T_CHECK(tk_decode(s, best, &e) == TK_OK, "decode: %s", e.msg);
        }
        T_CHECK(s && tk_session_pos(s) == 9, "position %d", s ? tk_session_pos(s) : -1);
        tk_session_free(s);
        tk_model_free(m);
    }
    remove(a), remove(b), remove(c);
}

/* A small explicit shape in every type, through the command; it loads and
 * runs in tick. */
static void test_synth_every_type(void) {
    char vocab[1024];
    const char *p = t_shared(S260, S260_SHA);
    if (!p) T_SKIP("%s is absent or altered", S260);
    snprintf(vocab, sizeof vocab, "%s", p);
    static const char *const types[] = {"f32", "F16", "bf16", "q8_0", "Q4_0"};
    for (int i = 0; i < 5; i++) {
        char args[4096];
        const char *out = tmp("small.gguf");
        snprintf(args, sizeof args, "synth --embd 64 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --ctx 64 --vocab %s --type %s -o %s --seed %d",
                 vocab, types[i], out, i);
        int st;
        char *o = run_merged(args, &st);
        T_CHECK(st == 0 && o && strstr(o, "wrote") && strstr(o, "vocab 512") && n_lines(o) == 1, "%s: exit %d: %s", types[i], st, o);
        free(o);
        tk_error e = {0};
        tk_model *m = tk_model_load(out, NULL, &e);
        T_CHECK(m != NULL, "%s: load: %s", types[i], e.msg);
        if (m) {
            const tk_model_info *I = tk_model_info_of(m);
            T_CHECK(I->n_embd == 64 && I->n_layer == 2 && I->n_head == 4 && I->n_head_kv == 2 && I->n_ff == 96 &&
                        I->n_vocab == 512 && I->n_ctx_train == 64 && !I->tied_output,
                    "%s: hyper-parameters", types[i]);
            tk_gguf *g = NULL;
            if (tk_gguf_open(&g, out, &e) == TK_OK) {
                const tk_gguf_tensor *t = tk_gguf_find_tensor(g, "blk.1.ffn_down.weight");
                const tk_gguf_tensor *nrm = tk_gguf_find_tensor(g, "blk.1.ffn_norm.weight");
                T_CHECK(t && t->type == tk_dtype_from_name(types[i]) && nrm && nrm->type == TK_F32 &&
                            ((const float *)nrm->data)[5] == 1.0f,
                        "%s: tensor types", types[i]);
                uint32_t ft = 99;
                tk_gguf_get_u32(g, "general.file_type", &ft, NULL);
                T_CHECK((int)ft == tk_ftype_of(tk_dtype_from_name(types[i])), "%s: file_type %u", types[i], ft);
                T_CHECK((tk_gguf_find(g, "general.quantization_version") >= 0) == (i >= 3), "%s: quantization_version", types[i]);
                /* The weights are ~N(0, 0.02). */
                if (i == 0) {
                    const tk_gguf_tensor *q = tk_gguf_find_tensor(g, "token_embd.weight");
                    const float *x = q->data;
                    double s1 = 0, s2 = 0;
                    int64_t n = 64 * 512;
                    for (int64_t k = 0; k < n; k++) s1 += x[k], s2 += (double)x[k] * x[k];
                    double mean = s1 / (double)n, sd = sqrt(s2 / (double)n - mean * mean);
                    T_CHECK(fabs(mean) < 1e-3 && fabs(sd - 0.02) < 1e-3, "token_embd mean %g sd %g", mean, sd);
                }
            }
            tk_gguf_free(g);
            tk_model_free(m);
        }
        snprintf(args, sizeof args, "run -m %s -p hi -n 4 --temp 0", out);
        o = run_merged(args, &st);
        T_CHECK(st == 0 && o && strstr(o, "generated: 4 tokens"), "%s: run: exit %d: %s", types[i], st, o);
        free(o);
        remove(out);
    }
}

static void test_synth_vocab_padding(void) {
    char vocab[1024];
    const char *p = t_shared(S260, S260_SHA);
    if (!p) T_SKIP("%s is absent or altered", S260);
    snprintf(vocab, sizeof vocab, "%s", p);
    tk_synth_opts o = {.type = TK_Q8_0, .vocab_path = vocab, .seed = 1};
    tk_synth_shape *s = &o.shape;
    snprintf(s->name, sizeof s->name, "custom");
    s->n_embd = 64, s->n_layer = 1, s->n_head = 2, s->n_head_kv = 1, s->n_ff = 64, s->n_vocab = 600, s->n_ctx = 32, s->tied = 1;
    s->rope_base = 500000.0f, s->rms_eps = 1e-6f;
    tk_error e = {0};
    tk_synth_stats st;
    const char *out = tmp("pad.gguf");
    T_CHECK(tk_synth_write(&o, out, &st, &e) == TK_OK, "synth: %s", e.msg);
    T_CHECK(st.n_vocab == 600 && st.vocab_padded == 88 && st.n_tensors == 2 + 9, "stats: vocab %d padded %d tensors %d",
            st.n_vocab, st.vocab_padded, st.n_tensors);
    tk_gguf *g = NULL;
    if (tk_gguf_open(&g, out, &e) == TK_OK) {
        const char *t;
        uint64_t n;
        int64_t ty;
        double sc;
        T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.tokens", 512, &t, &n) == TK_OK && n == 12 && !memcmp(t, "<unused_512>", 12),
                "token 512");
        T_CHECK(tk_gguf_arr_str(g, "tokenizer.ggml.tokens", 511, &t, &n) == TK_OK && n && t[0] != '<', "token 511 kept");
        T_CHECK(tk_gguf_arr_i64(g, "tokenizer.ggml.token_type", 599, &ty) == TK_OK && ty == 5, "type of 599: %lld", (long long)ty);
        T_CHECK(tk_gguf_arr_f64(g, "tokenizer.ggml.scores", 599, &sc) == TK_OK && sc == -1000.0, "score of 599: %g", sc);
        T_CHECK(tk_gguf_find_tensor(g, "output.weight") == NULL, "tied shape has output.weight");
        float rb = 0;
        T_CHECK(tk_gguf_get_f32(g, "llama.rope.freq_base", &rb, NULL) == TK_OK && rb == 500000.0f, "rope base %g", rb);
    } else {
        T_CHECK(0, "read back: %s", e.msg);
    }
    tk_gguf_free(g);
    tk_model *m = tk_model_load(out, NULL, &e);
    T_CHECK(m && tk_n_vocab(m) == 600, "load padded: %s", m ? "" : e.msg);
    tk_model_free(m);
    remove(out);

    /* Fewer tokens than the vocabulary file: an error, no file. */
    s->n_vocab = 400;
    T_CHECK(tk_synth_write(&o, out, NULL, &e) == TK_EINVAL && strstr(e.msg, "512 tokens"), "short shape: %s", e.msg);
    T_CHECK(!exists(out), "a file was written");
    /* A file without a vocabulary. */
    s->n_vocab = 0;
    char novocab[1024];
    snprintf(novocab, sizeof novocab, "%s", tmp("novocab.gguf"));
    tg_builder *b = tg_new(3);
    tg_kv_str(b, "general.architecture", "llama");
    tg_write(b, novocab);
    tg_free(b);
    o.vocab_path = novocab;
    T_CHECK(tk_synth_write(&o, out, NULL, &e) == TK_EFORMAT && strstr(e.msg, "tokenizer.ggml.tokens") && strstr(e.msg, "novocab"),
            "no vocab: %s", e.msg);
    remove(novocab);
}

/* arch qwen2: qwen2.* keys, random (not all-ones) Q/K/V biases, and the
 * file runs */
static void test_synth_qwen2(void) {
    char vocab[1024];
    const char *p = t_shared(S260, S260_SHA);
    if (!p) T_SKIP("%s is absent or altered", S260);
    snprintf(vocab, sizeof vocab, "%s", p);
    tk_synth_opts o = {.type = TK_F32, .vocab_path = vocab, .seed = 3};
    tk_error e = {0};
    T_CHECK(tk_synth_shape_named("qwen2-0.5b", &o.shape, &e) == TK_OK, "%s", e.msg);
    tk_synth_shape *s = &o.shape;
    s->n_embd = 64, s->n_layer = 2, s->n_head = 4, s->n_head_kv = 2, s->n_ff = 96, s->n_vocab = 0, s->n_ctx = 64;
    tk_synth_stats st;
    const char *out = tmp("qwen2.gguf");
    T_CHECK(tk_synth_write(&o, out, &st, &e) == TK_OK, "synth: %s", e.msg);
    T_CHECK(st.n_tensors == 2 + 2 * 12, "tensors %d", st.n_tensors);
    tk_gguf *g = NULL;
    if (tk_gguf_open(&g, out, &e) == TK_OK) {
        const char *a;
        uint64_t n;
        float rb = 0;
        T_CHECK(tk_gguf_get_str(g, "general.architecture", &a, &n, NULL) == TK_OK && n == 5 && !memcmp(a, "qwen2", 5), "arch");
        T_CHECK(tk_gguf_get_f32(g, "qwen2.rope.freq_base", &rb, NULL) == TK_OK && rb == 1e6f, "rope base %g", rb);
        const tk_gguf_tensor *b = tk_gguf_find_tensor(g, "blk.1.attn_k.bias");
        T_CHECK(b && b->type == TK_F32 && b->n_dims == 1 && b->ne[0] == 32, "blk.1.attn_k.bias");
        if (b) {
            const float *v = b->data;
            double ss = 0;
            for (int i = 0; i < 32; i++) ss += (double)v[i] * v[i];
            T_CHECK(ss > 32 * 1e-4 && ss < 32 * 1e-3, "bias values ~ N(0, 0.02): mean square %g", ss / 32);
        }
    } else {
        T_CHECK(0, "read back: %s", e.msg);
    }
    tk_gguf_free(g);
    int rs;
    char args[1024];
    snprintf(args, sizeof args, "run -m %s -p hello -n 4 --temp 0", out);
    char *r = run_merged(args, &rs);
    T_CHECK(rs == 0 && r && strstr(r, "generated: 4 tokens"), "run: exit %d: %s", rs, r);
    free(r);
    remove(out);
}

static void test_synth_shapes(void) {
    tk_synth_shape s;
    tk_error e = {0};
    T_CHECK(tk_synth_shape_named("tinyllama-1.1b", &s, &e) == TK_OK && s.n_embd == 2048 && s.n_layer == 22 && s.n_head == 32 &&
                s.n_head_kv == 4 && s.n_ff == 5632 && s.n_vocab == 32000 && !s.tied && s.n_ctx == 2048,
            "tinyllama");
    T_CHECK(tk_synth_shape_named("stories110m", &s, &e) == TK_OK && s.n_embd == 768 && s.tied && s.n_ctx == 1024, "stories110m");
    T_CHECK(tk_synth_shape_named("llama2-7b", &s, &e) == TK_OK && s.n_ff == 11008 && s.n_head_kv == 32, "llama2-7b");
    T_CHECK(tk_synth_shape_named("llama3-8b", &s, &e) == TK_OK && s.n_vocab == 128256 && s.rope_base == 500000.0f &&
                s.n_head_kv == 8 && s.n_ctx == 8192,
            "llama3-8b");
    T_CHECK(tk_synth_shape_named("qwen2-0.5b", &s, &e) == TK_OK && !strcmp(s.arch, "qwen2") && s.n_embd == 896 &&
                s.n_layer == 24 && s.n_head == 14 && s.n_head_kv == 2 && s.n_ff == 4864 && s.n_vocab == 151936 &&
                s.rope_base == 1e6f && s.tied,
            "qwen2: %s", e.msg);
    T_CHECK(tk_synth_shape_named("gpt5", &s, &e) == TK_EINVAL && strstr(e.msg, "tinyllama-1.1b"), "unknown: %s", e.msg);
    tk_synth_shape_named("stories15m", &s, &e);
    s.n_embd = 100;
    T_CHECK(tk_synth_shape_check(&s, TK_F32, &e) == TK_EINVAL && strstr(e.msg, "head count"), "100/6: %s", e.msg);
    s.n_embd = 6 * 20;
    T_CHECK(tk_synth_shape_check(&s, TK_F16, &e) == TK_OK, "120 in F16: %s", e.msg);
    T_CHECK(tk_synth_shape_check(&s, TK_Q4_0, &e) == TK_EINVAL && strstr(e.msg, "block"), "120 in Q4_0: %s", e.msg);
    s.n_embd = 6 * 3;
    T_CHECK(tk_synth_shape_check(&s, TK_F32, &e) == TK_EINVAL && strstr(e.msg, "odd"), "odd head: %s", e.msg);
}

/* Bad arguments: exit 2 (or 1 for an unsupported architecture), one line,
 * no file. */
static void test_cli_errors(void) {
    static const struct { const char *args, *word; int status; } C[] = {
        {"synth gpt5 -o OUT", "unknown shape 'gpt5'", 2},
        {"synth stories15m -o OUT --type q5_1", "unknown type", 2},
        {"synth stories15m", "-o", 2},
        {"synth stories15m --arch gpt2 -o OUT", "expected llama or qwen2", 2},
        {"synth stories15m -o OUT --seed -3", "--seed", 2},
        {"synth stories15m -o OUT --frobnicate 1", "unknown flag", 2},
        {"synth --embd 64 -o OUT", "--layers is missing", 2},
        {"synth --embd 64 --layers 1 --heads 3 --ffn 64 --ctx 8 -o OUT", "not a multiple of the head count", 2},
        {"synth stories15m -o OUT --vocab /nonexistent/v.gguf", "/nonexistent/v.gguf", 1},
        {"quantize", "usage", 2},
        {"quantize a.gguf OUT q4_k", "unknown type 'q4_k'", 2},
        {"quantize /nonexistent/in.gguf OUT q8_0", "/nonexistent/in.gguf", 1},
        {"quantize a b c d", "unexpected argument", 2},
    };
    for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
        char args[1024], *out = tmp("err.gguf");
        const char *at = strstr(C[i].args, "OUT");
        if (at) snprintf(args, sizeof args, "%.*s%s%s", (int)(at - C[i].args), C[i].args, out, at + 3);
        else snprintf(args, sizeof args, "%s", C[i].args);
        int st;
        char *o = run_merged(args, &st);
        T_CHECK(st == C[i].status, "tick %s: exit %d, want %d (%s)", C[i].args, st, C[i].status, o);
        T_CHECK(o && strstr(o, C[i].word) && n_lines(o) == 1, "tick %s: want one line with '%s', got: %s", C[i].args, C[i].word, o);
        T_CHECK(!exists(out), "tick %s left a file", C[i].args);
        free(o);
        remove(out);
    }
}

int main(void) {
    T_RUN(test_quantize_matches_llamacpp);
    T_RUN(test_quantize_cli);
    T_RUN(test_quantize_rules_and_round_trip);
    T_RUN(test_quantize_errors);
    T_RUN(test_writer_copies_everything);
    T_RUN(test_writer_failures);
    T_RUN(test_synth_stories15m);
    T_RUN(test_synth_every_type);
    T_RUN(test_synth_vocab_padding);
    T_RUN(test_synth_qwen2);
    T_RUN(test_synth_shapes);
    T_RUN(test_cli_errors);
    return t_done();
}
