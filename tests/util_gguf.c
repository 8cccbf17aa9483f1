/* util_gguf.c: the GGUF builder behind util_gguf.h (test-only). */
#include "util_gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "tensor/dtype.h"

typedef struct tg_tensor_rec {
    tg_buf name;
    uint32_t n_dims, type;
    uint64_t ne[8];
    unsigned char *data;
    size_t nbytes;
    int set_offset;
    uint64_t offset;
} tg_tensor_rec;

struct tg_builder {
    uint32_t version;
    tg_buf kv;            /* serialized records, in order */
    uint64_t n_kv;
    uint64_t align_kv;    /* from general.alignment, 0 if absent/invalid */
    tg_tensor_rec *t;
    int n_t, cap_t;
    int set_n_t, set_n_kv;
    uint64_t n_t_hdr, n_kv_hdr, layout_align;
};

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "util_gguf: out of memory\n");
        abort();
    }
    return q;
}

/* ---- tg_buf ---------------------------------------------------------------- */

void tg_put(tg_buf *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n) cap *= 2;
        w->p = xrealloc(w->p, cap);
        w->cap = cap;
    }
    if (n) memcpy(w->p + w->n, p, n);
    w->n += n;
}

static void put_le(tg_buf *w, uint64_t v, int bytes) {
    unsigned char b[8];
    for (int i = 0; i < bytes; i++) b[i] = (unsigned char)(v >> (8 * i));
    tg_put(w, b, (size_t)bytes);
}

void tg_put_u8(tg_buf *w, uint8_t v) { put_le(w, v, 1); }
void tg_put_u32(tg_buf *w, uint32_t v) { put_le(w, v, 4); }
void tg_put_u64(tg_buf *w, uint64_t v) { put_le(w, v, 8); }
void tg_put_f32(tg_buf *w, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    put_le(w, u, 4);
}
void tg_put_f64(tg_buf *w, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    put_le(w, u, 8);
}
void tg_put_strn(tg_buf *w, const void *s, size_t n) {
    tg_put_u64(w, n);
    tg_put(w, s, n);
}
void tg_put_str(tg_buf *w, const char *s) { tg_put_strn(w, s, strlen(s)); }
void tg_put_arr(tg_buf *w, uint32_t elem_type, uint64_t n) {
    tg_put_u32(w, elem_type);
    tg_put_u64(w, n);
}
void tg_buf_free(tg_buf *w) {
    free(w->p);
    memset(w, 0, sizeof *w);
}

/* ---- builder --------------------------------------------------------------- */

tg_builder *tg_new(uint32_t version) {
    tg_builder *b = xrealloc(NULL, sizeof *b);
    memset(b, 0, sizeof *b);
    b->version = version;
    return b;
}

void tg_free(tg_builder *b) {
    if (!b) return;
    tg_buf_free(&b->kv);
    for (int i = 0; i < b->n_t; i++) tg_buf_free(&b->t[i].name), free(b->t[i].data);
    free(b->t);
    free(b);
}

void tg_kv_raw_key(tg_builder *b, const void *key, size_t key_len, uint32_t type, const void *val, size_t n) {
    tg_put_strn(&b->kv, key, key_len);
    tg_put_u32(&b->kv, type);
    tg_put(&b->kv, val, n);
    b->n_kv++;
    if (key_len == 17 && !memcmp(key, "general.alignment", 17)) {
        uint32_t a = 0;
        const unsigned char *v = val;
        if (type == TK_GGUF_UINT32 && n == 4) a = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
        b->align_kv = a && !(a & (a - 1)) ? a : 0;
    }
}

void tg_kv_raw(tg_builder *b, const char *key, uint32_t type, const void *val, size_t n) {
    tg_kv_raw_key(b, key, strlen(key), type, val, n);
}

/* A scalar of `bytes` bytes holding v. */
static void kv_scalar(tg_builder *b, const char *key, uint32_t type, uint64_t v, int bytes) {
    tg_buf w = {0};
    put_le(&w, v, bytes);
    tg_kv_raw(b, key, type, w.p, w.n);
    tg_buf_free(&w);
}

void tg_kv_u8(tg_builder *b, const char *key, uint8_t v) { kv_scalar(b, key, TK_GGUF_UINT8, v, 1); }
void tg_kv_i8(tg_builder *b, const char *key, int8_t v) { kv_scalar(b, key, TK_GGUF_INT8, (uint8_t)v, 1); }
void tg_kv_u16(tg_builder *b, const char *key, uint16_t v) { kv_scalar(b, key, TK_GGUF_UINT16, v, 2); }
void tg_kv_i16(tg_builder *b, const char *key, int16_t v) { kv_scalar(b, key, TK_GGUF_INT16, (uint16_t)v, 2); }
void tg_kv_u32(tg_builder *b, const char *key, uint32_t v) { kv_scalar(b, key, TK_GGUF_UINT32, v, 4); }
void tg_kv_i32(tg_builder *b, const char *key, int32_t v) { kv_scalar(b, key, TK_GGUF_INT32, (uint32_t)v, 4); }
void tg_kv_u64(tg_builder *b, const char *key, uint64_t v) { kv_scalar(b, key, TK_GGUF_UINT64, v, 8); }
void tg_kv_i64(tg_builder *b, const char *key, int64_t v) { kv_scalar(b, key, TK_GGUF_INT64, (uint64_t)v, 8); }
void tg_kv_bool(tg_builder *b, const char *key, int v) { kv_scalar(b, key, TK_GGUF_BOOL, v != 0, 1); }
void tg_kv_f32(tg_builder *b, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    kv_scalar(b, key, TK_GGUF_FLOAT32, u, 4);
}
void tg_kv_f64(tg_builder *b, const char *key, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    kv_scalar(b, key, TK_GGUF_FLOAT64, u, 8);
}

void tg_kv_strn(tg_builder *b, const char *key, const void *v, size_t n) {
    tg_buf w = {0};
    tg_put_strn(&w, v, n);
    tg_kv_raw(b, key, TK_GGUF_STRING, w.p, w.n);
    tg_buf_free(&w);
}
void tg_kv_str(tg_builder *b, const char *key, const char *v) { tg_kv_strn(b, key, v, strlen(v)); }

/* Bytes of one element of a fixed-size type; 0 otherwise. */
static int elem_size(uint32_t t) {
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof sz / sizeof *sz ? sz[t] : 0;
}

void tg_kv_arr(tg_builder *b, const char *key, uint32_t elem_type, const void *elems, size_t n) {
    int es = elem_size(elem_type);
    tg_buf w = {0};
    tg_put_arr(&w, elem_type, n);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)elems + i * (size_t)es;
        uint64_t v = 0;
        memcpy(&v, p, (size_t)es); /* little-endian host: low bytes */
        put_le(&w, v, es);
    }
    tg_kv_raw(b, key, TK_GGUF_ARRAY, w.p, w.n);
    tg_buf_free(&w);
}

void tg_kv_arr_str(tg_builder *b, const char *key, const char *const *v, size_t n) {
    tg_buf w = {0};
    tg_put_arr(&w, TK_GGUF_STRING, n);
    for (size_t i = 0; i < n; i++) tg_put_str(&w, v[i]);
    tg_kv_raw(b, key, TK_GGUF_ARRAY, w.p, w.n);
    tg_buf_free(&w);
}

void tg_kv_arr_f32(tg_builder *b, const char *key, const float *v, size_t n) { tg_kv_arr(b, key, TK_GGUF_FLOAT32, v, n); }
void tg_kv_arr_i32(tg_builder *b, const char *key, const int32_t *v, size_t n) { tg_kv_arr(b, key, TK_GGUF_INT32, v, n); }
void tg_kv_arr_u32(tg_builder *b, const char *key, const uint32_t *v, size_t n) { tg_kv_arr(b, key, TK_GGUF_UINT32, v, n); }

int tg_tensor(tg_builder *b, const char *name, int ggml_type, int n_dims, const int64_t *ne,
              const void *data, size_t nbytes) {
    if (b->n_t == b->cap_t) {
        b->cap_t = b->cap_t ? 2 * b->cap_t : 16;
        b->t = xrealloc(b->t, (size_t)b->cap_t * sizeof *b->t);
    }
    tg_tensor_rec *t = &b->t[b->n_t];
    memset(t, 0, sizeof *t);
    tg_put(&t->name, name, strlen(name));
    t->n_dims = (uint32_t)n_dims;
    t->type = (uint32_t)ggml_type;
    uint64_t rows = 1;
    for (int d = 0; d < n_dims && d < 8; d++) {
        t->ne[d] = (uint64_t)ne[d];
        if (d > 0) rows *= (uint64_t)ne[d];
    }
    if (nbytes == 0 && n_dims > 0) nbytes = (size_t)(tk_dtype_row_bytes(ggml_type, ne[0]) * rows);
    t->nbytes = nbytes;
    t->data = xrealloc(NULL, nbytes);
    if (data) memcpy(t->data, data, nbytes);
    else memset(t->data, 0, nbytes);
    return b->n_t++;
}

void tg_tensor_set_offset(tg_builder *b, int i, uint64_t offset) { b->t[i].set_offset = 1, b->t[i].offset = offset; }
void tg_tensor_set_type(tg_builder *b, int i, uint32_t type) { b->t[i].type = type; }
void tg_tensor_set_dims(tg_builder *b, int i, uint32_t n_dims, const uint64_t *ne) {
    b->t[i].n_dims = n_dims;
    for (uint32_t d = 0; d < n_dims && d < 8; d++) b->t[i].ne[d] = ne[d];
}

void tg_set_n_tensors(tg_builder *b, uint64_t n) { b->set_n_t = 1, b->n_t_hdr = n; }
void tg_set_n_kv(tg_builder *b, uint64_t n) { b->set_n_kv = 1, b->n_kv_hdr = n; }
void tg_set_layout_alignment(tg_builder *b, uint64_t a) { b->layout_align = a; }

static size_t pad_to(size_t x, size_t a) { return (x + a - 1) / a * a; }

unsigned char *tg_bytes_ex(tg_builder *b, size_t *size, size_t *data_offset) {
    size_t a = b->layout_align ? b->layout_align : b->align_kv ? b->align_kv : 32;
    tg_buf w = {0};
    tg_put(&w, "GGUF", 4);
    tg_put_u32(&w, b->version);
    tg_put_u64(&w, b->set_n_t ? b->n_t_hdr : (uint64_t)b->n_t);
    tg_put_u64(&w, b->set_n_kv ? b->n_kv_hdr : b->n_kv);
    tg_put(&w, b->kv.p, b->kv.n);
    /* Tensor infos; offsets relative to the data section. */
    size_t *off = xrealloc(NULL, ((size_t)b->n_t + 1) * sizeof *off), end = 0;
    for (int i = 0; i < b->n_t; i++) {
        tg_tensor_rec *t = &b->t[i];
        off[i] = pad_to(end, a);
        end = off[i] + t->nbytes;
        tg_put_strn(&w, t->name.p, t->name.n);
        tg_put_u32(&w, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims && d < 8; d++) tg_put_u64(&w, t->ne[d]);
        tg_put_u32(&w, t->type);
        tg_put_u64(&w, t->set_offset ? t->offset : off[i]);
    }
    size_t data = pad_to(w.n, a);
    if (data_offset) *data_offset = data;
    static const unsigned char zeros[256];
    while (b->n_t && w.n < data) /* no tensors: no padding (as gguf-py writes) */ tg_put(&w, zeros, data - w.n < sizeof zeros ? data - w.n : sizeof zeros);
    for (int i = 0; i < b->n_t; i++) {
        while (w.n < data + off[i]) tg_put(&w, zeros, data + off[i] - w.n < sizeof zeros ? data + off[i] - w.n : sizeof zeros);
        tg_put(&w, b->t[i].data, b->t[i].nbytes);
    }
    free(off);
    *size = w.n;
    return w.p ? w.p : xrealloc(NULL, 1);
}

unsigned char *tg_bytes(tg_builder *b, size_t *size) { return tg_bytes_ex(b, size, NULL); }

int tg_write(tg_builder *b, const char *path) {
    size_t n;
    unsigned char *p = tg_bytes(b, &n);
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (f) {
        size_t w = fwrite(p, 1, n, f);
        rc = (fclose(f) == 0 && w == n) ? 0 : -1;
    }
    free(p);
    return rc;
}
