/* fuzz_gguf.c: libFuzzer entry point for the GGUF reader.
 *
 *   make fuzz && build-fuzz/fuzz_gguf -max_len=65536 fuzz/corpus/gguf
 *
 * Parses the input; when it is accepted, every accessor runs on every key
 * and tensor, and what they return is checked for consistency (a violation
 * traps, so libFuzzer saves the input). Seeds: any small GGUF files, e.g.
 * the ones tests/util_gguf.h builds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "formats/gguf.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

static volatile unsigned sink;

/* Touch n bytes at p (so ASan sees any read outside the input). */
static void touch(const void *p, uint64_t n) {
    const unsigned char *c = p;
    if (n) sink += c[0] + c[n - 1];
}

/* Walk a value view: scalars as numbers, strings touched, arrays by
 * element (first few and the last), recursing into nested arrays. */
static void walk(const tk_gguf_value *v, int depth) {
    int64_t i;
    double d;
    CHECK(depth <= 9);
    if (v->type == TK_GGUF_STRING) {
        touch(v->p, v->n);
        CHECK(v->size == v->n);
        return;
    }
    if (v->type != TK_GGUF_ARRAY) {
        touch(v->p, v->size);
        CHECK(tk_gguf_value_f64(v, &d) == TK_OK || v->type > TK_GGUF_FLOAT64);
        (void)tk_gguf_value_i64(v, &i);
        return;
    }
    tk_gguf_value el;
    for (uint64_t k = 0; k < v->n; k++) {
        if (k == 8 && v->n > 9) k = v->n - 1; /* the last one too */
        CHECK(tk_gguf_value_elem(v, k, &el) == TK_OK);
        CHECK(el.type == v->elem_type && el.p >= v->p && el.p + el.size <= v->p + v->size);
        walk(&el, depth + 1);
    }
    CHECK(tk_gguf_value_elem(v, v->n, &el) != TK_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tk_gguf *g;
    tk_error e;
    if (tk_gguf_parse(&g, data, size, &e) != TK_OK) {
        CHECK(g == NULL && e.code < 0 && strlen(e.msg) < sizeof e.msg);
        return 0;
    }
    CHECK(tk_gguf_version(g) == 2 || tk_gguf_version(g) == 3);
    uint64_t a = tk_gguf_alignment(g);
    CHECK(a && !(a & (a - 1)) && tk_gguf_data_offset(g) % a == 0);

    char buf[512], small[12];
    for (int i = 0; i < tk_gguf_n_kv(g); i++) {
        const char *key = tk_gguf_key(g, i);
        int type = tk_gguf_kv_type(g, i), et;
        CHECK(key && *key && tk_gguf_find(g, key) == i);
        int n = tk_gguf_render(g, i, buf, sizeof buf);
        CHECK(n >= 0 && (size_t)n == strlen(buf));
        n = tk_gguf_render(g, i, small, sizeof small);
        CHECK(n >= 0 && (size_t)n == strlen(small) && n < (int)sizeof small);
        int64_t i64;
        uint32_t u32;
        float f;
        int b;
        const char *s;
        uint64_t len, cnt;
        double d;
        if (tk_gguf_get_i64(g, key, &i64, &e) != TK_OK) CHECK(e.code < 0);
        if (tk_gguf_get_u32(g, key, &u32, &e) == TK_OK) CHECK(tk_gguf_get_i64(g, key, &i64, &e) == TK_OK && i64 == u32);
        (void)tk_gguf_get_f32(g, key, &f, &e);
        CHECK((tk_gguf_get_bool(g, key, &b, &e) == TK_OK) == (type == TK_GGUF_BOOL));
        if (tk_gguf_get_str(g, key, &s, &len, &e) == TK_OK) touch(s, len);
        tk_gguf_value v;
        CHECK(tk_gguf_value_of(g, i, &v) == TK_OK && v.type == type);
        walk(&v, 0);
        if (tk_gguf_get_arr(g, key, &et, &cnt, &e) != TK_OK) {
            CHECK(type != TK_GGUF_ARRAY);
            continue;
        }
        CHECK(et == v.elem_type && cnt == v.n);
        /* Indexed access: all elements of a small array, else a sample. */
        for (uint64_t k = 0; k <= cnt; k += (cnt > 256 ? cnt / 61 + 1 : 1)) {
            uint64_t k2 = k, sub_n;
            int sub_t, ok_s = tk_gguf_arr_str(g, key, k2, &s, &len) == TK_OK;
            if (ok_s) touch(s, len);
            CHECK(ok_s == (k2 < cnt && et == TK_GGUF_STRING));
            (void)tk_gguf_arr_f64(g, key, k2, &d);
            (void)tk_gguf_arr_i64(g, key, k2, &i64);
            CHECK((tk_gguf_arr_sub(g, key, k2, &sub_t, &sub_n) == TK_OK) == (k2 < cnt && et == TK_GGUF_ARRAY));
        }
        if (cnt) {
            int ok = tk_gguf_arr_str(g, key, cnt - 1, &s, &len) == TK_OK;
            CHECK(ok == (et == TK_GGUF_STRING));
            if (ok) touch(s, len);
        }
    }
    CHECK(tk_gguf_render(g, -1, buf, sizeof buf) < 0 && tk_gguf_render(g, tk_gguf_n_kv(g), buf, sizeof buf) < 0);

    const unsigned char *lo = data, *hi = data + size;
    for (int i = 0; i < tk_gguf_n_tensors(g); i++) {
        const tk_gguf_tensor *t = tk_gguf_tensor_at(g, i);
        CHECK(t && tk_gguf_find_tensor(g, t->name) == t);
        CHECK(t->n_dims >= 1 && t->n_dims <= 4 && t->nbytes > 0 && t->offset % a == 0);
        for (int d = 0; d < 4; d++) CHECK(t->ne[d] >= 1 && (d < t->n_dims || t->ne[d] == 1));
        const unsigned char *p = t->data;
        CHECK(p >= lo && p <= hi && t->nbytes <= (uint64_t)(hi - p));
        touch(p, t->nbytes);
    }
    CHECK(tk_gguf_tensor_at(g, tk_gguf_n_tensors(g)) == NULL);
    tk_gguf_free(g);
    return 0;
}
