/* gguf_write.c: GGUF v3 writer. Conventions in gguf_write.h.
 *
 * Each pair keeps its value already encoded as it goes in the file (the
 * bytes after the type field), so copying a reader's value is one memcpy of
 * bytes the reader validated, nested arrays included. */
#include "gguf_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "tensor/dtype.h"

#define DEFAULT_ALIGNMENT 32
#define MAX_NAME 64                 /* GGML_MAX_NAME: names are < 64 bytes  */
#define CHUNK_BYTES ((uint64_t)4 << 20) /* rows asked of a callback at once */
#define FILE_BUFFER ((size_t)1 << 20)

typedef struct wkv {
    char *key;
    int type;
    unsigned char *val;   /* encoded value                                   */
    size_t n;
} wkv;

typedef struct wtensor {
    char *name;
    int type, n_dims;
    int64_t ne[4];
    uint64_t nbytes, row_bytes, n_rows;
    const void *data;
    tk_gguf_rows_fn fn;
    void *ctx;
} wtensor;

struct tk_gguf_writer {
    wkv *kv;
    int n_kv, cap_kv;
    wtensor *t;
    int n_t, cap_t;
};

/* ---- encoding --------------------------------------------------------------- */

typedef struct buf { unsigned char *p; size_t n, cap; int oom; } buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->n) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc - b->n < n) {
            if (nc > SIZE_MAX / 2) { b->oom = 1; return; }
            nc *= 2;
        }
        unsigned char *q = realloc(b->p, nc);
        if (!q) { b->oom = 1; return; }
        b->p = q, b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u32(buf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(b, c, 4);
}

static void put_u64(buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(buf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(b, u);
}

static void put_str(buf *b, const char *s, uint64_t n) {
    put_u64(b, n);
    put(b, s, (size_t)n);
}

/* Bytes of a scalar of type t; 0 for STRING and ARRAY; -1 if unknown. */
static int scalar_size(int t) {
    static const signed char sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t >= 0 && t < (int)sizeof sz ? sz[t] : -1;
}

/* ---- the writer -------------------------------------------------------------- */

tk_gguf_writer *tk_gguf_writer_new(void) { return calloc(1, sizeof(tk_gguf_writer)); }

void tk_gguf_writer_free(tk_gguf_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n_kv; i++) free(w->kv[i].key), free(w->kv[i].val);
    for (int i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

int tk_gguf_writer_n_kv(const tk_gguf_writer *w) { return w->n_kv; }
int tk_gguf_writer_n_tensors(const tk_gguf_writer *w) { return w->n_t; }

int tk_gguf_writer_find(const tk_gguf_writer *w, const char *key) {
    for (int i = 0; key && i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) return i;
    return -1;
}

int tk_gguf_writer_remove(tk_gguf_writer *w, const char *key) {
    int i = tk_gguf_writer_find(w, key);
    if (i < 0) return TK_OK;
    free(w->kv[i].key), free(w->kv[i].val);
    memmove(&w->kv[i], &w->kv[i + 1], (size_t)(w->n_kv - i - 1) * sizeof *w->kv);
    w->n_kv--;
    return TK_OK;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Append key = (type, encoded value b); takes b's memory in every case. */
static int put_kv(tk_gguf_writer *w, const char *key, int type, buf *b, tk_error *e) {
    int rc = TK_OK;
    if (b->oom) {
        rc = tk_err(e, TK_ENOMEM, "key '%s': out of memory", key ? key : "(null)");
    } else if (!key || !*key) {
        rc = tk_err(e, TK_EINVAL, "gguf writer: empty key");
    } else if (!strcmp(key, "general.alignment")) {
        uint32_t a = type == TK_GGUF_UINT32 && b->n == 4 ? le32(b->p) : 0;
        if (type != TK_GGUF_UINT32)
            rc = tk_err(e, TK_EINVAL, "key 'general.alignment' must be UINT32, not %s", tk_gguf_type_name(type));
        else if (a == 0 || (a & (a - 1)))
            rc = tk_err(e, TK_EINVAL, "key 'general.alignment': %" PRIu32 " is not a nonzero power of two", a);
    }
    char *k = NULL;
    if (rc == TK_OK && !(k = strdup(key))) rc = tk_err(e, TK_ENOMEM, "key '%s': out of memory", key);
    if (rc == TK_OK && w->n_kv == w->cap_kv) {
        int nc = w->cap_kv ? w->cap_kv * 2 : 32;
        wkv *q = realloc(w->kv, (size_t)nc * sizeof *q);
        if (!q) rc = tk_err(e, TK_ENOMEM, "key '%s': out of memory", key);
        else w->kv = q, w->cap_kv = nc;
    }
    if (rc != TK_OK) {
        free(k);
        free(b->p);
        return rc;
    }
    tk_gguf_writer_remove(w, key);
    w->kv[w->n_kv++] = (wkv){k, type, b->p, b->n};
    return TK_OK;
}

int tk_gguf_writer_set_value(tk_gguf_writer *w, const char *key, const tk_gguf_value *v, tk_error *e) {
    buf b = {0};
    int es = scalar_size(v->type);
    if (es < 0 || (v->type == TK_GGUF_ARRAY && scalar_size(v->elem_type) < 0))
        return tk_err(e, TK_EINVAL, "key '%s': unknown value type %d", key ? key : "(null)", v->type);
    if (es > 0) {
        put(&b, v->p, (size_t)es);
    } else if (v->type == TK_GGUF_STRING) {
        put_str(&b, (const char *)v->p, v->n);
    } else {
        put_u32(&b, (uint32_t)v->elem_type);
        put_u64(&b, v->n);
        put(&b, v->p, (size_t)v->size);
    }
    return put_kv(w, key, v->type, &b, e);
}

int tk_gguf_writer_copy_kv(tk_gguf_writer *w, const tk_gguf *src, int (*keep)(void *ctx, const char *key), void *ctx,
                           tk_error *e) {
    for (int i = 0; i < tk_gguf_n_kv(src); i++) {
        const char *k = tk_gguf_key(src, i);
        if (keep && !keep(ctx, k)) continue;
        tk_gguf_value v;
        int rc = tk_gguf_value_of(src, i, &v);
        if (rc == TK_OK) rc = tk_gguf_writer_set_value(w, k, &v, e);
        if (rc != TK_OK) return rc;
    }
    return TK_OK;
}

int tk_gguf_writer_set_u32(tk_gguf_writer *w, const char *key, uint32_t v, tk_error *e) {
    buf b = {0};
    put_u32(&b, v);
    return put_kv(w, key, TK_GGUF_UINT32, &b, e);
}

int tk_gguf_writer_set_i32(tk_gguf_writer *w, const char *key, int32_t v, tk_error *e) {
    buf b = {0};
    put_u32(&b, (uint32_t)v);
    return put_kv(w, key, TK_GGUF_INT32, &b, e);
}

int tk_gguf_writer_set_f32(tk_gguf_writer *w, const char *key, float v, tk_error *e) {
    buf b = {0};
    put_f32(&b, v);
    return put_kv(w, key, TK_GGUF_FLOAT32, &b, e);
}

int tk_gguf_writer_set_bool(tk_gguf_writer *w, const char *key, int v, tk_error *e) {
    buf b = {0};
    unsigned char c = v != 0;
    put(&b, &c, 1);
    return put_kv(w, key, TK_GGUF_BOOL, &b, e);
}

int tk_gguf_writer_set_strn(tk_gguf_writer *w, const char *key, const char *v, uint64_t n, tk_error *e) {
    buf b = {0};
    put_str(&b, v, n);
    return put_kv(w, key, TK_GGUF_STRING, &b, e);
}

int tk_gguf_writer_set_str(tk_gguf_writer *w, const char *key, const char *v, tk_error *e) {
    return tk_gguf_writer_set_strn(w, key, v, strlen(v), e);
}

int tk_gguf_writer_set_arr_str(tk_gguf_writer *w, const char *key, const char *const *v, const uint64_t *lens,
                               uint64_t n, tk_error *e) {
    buf b = {0};
    put_u32(&b, TK_GGUF_STRING);
    put_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) put_str(&b, v[i], lens ? lens[i] : strlen(v[i]));
    return put_kv(w, key, TK_GGUF_ARRAY, &b, e);
}

int tk_gguf_writer_set_arr_f32(tk_gguf_writer *w, const char *key, const float *v, uint64_t n, tk_error *e) {
    buf b = {0};
    put_u32(&b, TK_GGUF_FLOAT32);
    put_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) put_f32(&b, v[i]);
    return put_kv(w, key, TK_GGUF_ARRAY, &b, e);
}

int tk_gguf_writer_set_arr_i32(tk_gguf_writer *w, const char *key, const int32_t *v, uint64_t n, tk_error *e) {
    buf b = {0};
    put_u32(&b, TK_GGUF_INT32);
    put_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) put_u32(&b, (uint32_t)v[i]);
    return put_kv(w, key, TK_GGUF_ARRAY, &b, e);
}

/* ---- tensors ---------------------------------------------------------------- */

static int add_tensor(tk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne, const void *data,
                      tk_gguf_rows_fn fn, void *ctx, tk_error *e) {
    if (!name || !*name) return tk_err(e, TK_EINVAL, "gguf writer: empty tensor name");
    size_t nl = strlen(name);
    if (nl >= MAX_NAME) return tk_err(e, TK_EINVAL, "tensor '%s': name is %zu bytes, at most %d allowed", name, nl, MAX_NAME - 1);
    for (int i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return tk_err(e, TK_EINVAL, "tensor '%s' is added twice", name);
    const tk_dtype_traits *tr = tk_dtype_get(type);
    if (!tr) return tk_err(e, TK_EINVAL, "tensor '%s': unknown type id %d", name, type);
    if (n_dims < 1 || n_dims > 4) return tk_err(e, TK_EINVAL, "tensor '%s': n_dims %d is out of range (1..4)", name, n_dims);
    if (!data && !fn) return tk_err(e, TK_EINVAL, "tensor '%s': no data", name);
    wtensor t = {0};
    uint64_t nel = 1;
    for (int d = 0; d < 4; d++) t.ne[d] = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] <= 0) return tk_err(e, TK_EINVAL, "tensor '%s': dimension %d is %" PRId64, name, d, ne[d]);
        if (tk_mul_ovf(nel, (uint64_t)ne[d], &nel) || nel > INT64_MAX)
            return tk_err(e, TK_EINVAL, "tensor '%s': element count overflows", name);
        t.ne[d] = ne[d];
    }
    if (ne[0] % tr->block)
        return tk_err(e, TK_EINVAL, "tensor '%s': row length %" PRId64 " is not a multiple of the %s block size %d",
                      name, ne[0], tr->name, tr->block);
    t.row_bytes = tk_dtype_row_bytes(type, ne[0]);
    t.n_rows = nel / (uint64_t)ne[0];
    if (tk_mul_ovf(t.row_bytes, t.n_rows, &t.nbytes) || t.nbytes > INT64_MAX / 2)
        return tk_err(e, TK_EINVAL, "tensor '%s': size in bytes overflows", name);
    t.type = type, t.n_dims = n_dims, t.data = data, t.fn = fn, t.ctx = ctx;
    if (w->n_t == w->cap_t) {
        int nc = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *q = realloc(w->t, (size_t)nc * sizeof *q);
        if (!q) return tk_err(e, TK_ENOMEM, "tensor '%s': out of memory", name);
        w->t = q, w->cap_t = nc;
    }
    if (!(t.name = strdup(name))) return tk_err(e, TK_ENOMEM, "tensor '%s': out of memory", name);
    w->t[w->n_t] = t;
    return w->n_t++;
}

int tk_gguf_writer_add_tensor(tk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                              const void *data, tk_error *e) {
    if (!data) return tk_err(e, TK_EINVAL, "tensor '%s': no data", name ? name : "(null)");
    return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL, e);
}

int tk_gguf_writer_add_tensor_fn(tk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                                 tk_gguf_rows_fn fn, void *ctx, tk_error *e) {
    if (!fn) return tk_err(e, TK_EINVAL, "tensor '%s': no row callback", name ? name : "(null)");
    return add_tensor(w, name, type, n_dims, ne, NULL, fn, ctx, e);
}

/* ---- layout ------------------------------------------------------------------ */

static uint64_t alignment(const tk_gguf_writer *w) {
    int i = tk_gguf_writer_find(w, "general.alignment");
    return i < 0 ? DEFAULT_ALIGNMENT : le32(w->kv[i].val); /* checked by put_kv */
}

static uint64_t pad_to(uint64_t n, uint64_t a) { return (a - n % a) % a; }

static uint64_t header_bytes(const tk_gguf_writer *w) {
    uint64_t n = 4 + 4 + 8 + 8;
    for (int i = 0; i < w->n_kv; i++) n += 8 + strlen(w->kv[i].key) + 4 + w->kv[i].n;
    for (int i = 0; i < w->n_t; i++) n += 8 + strlen(w->t[i].name) + 4 + 8 * (uint64_t)w->t[i].n_dims + 4 + 8;
    return n;
}

uint64_t tk_gguf_writer_size(const tk_gguf_writer *w) {
    uint64_t a = alignment(w), n = header_bytes(w);
    if (w->n_t == 0) return n;
    n += pad_to(n, a);
    for (int i = 0; i < w->n_t; i++) n += w->t[i].nbytes + pad_to(w->t[i].nbytes, a);
    return n;
}

/* ---- writing ----------------------------------------------------------------- */

typedef struct out {
    FILE *f;
    unsigned char *mem;   /* or a buffer of cap bytes (write_mem)       */
    uint64_t cap;
    const char *path;     /* the final name, for messages */
    uint64_t pos;
    int failed;
    tk_error *e;
} out;

static int emit(out *o, const void *p, size_t n) {
    if (o->failed) return TK_EIO;
    if (o->mem) {
        if (n > o->cap - o->pos) {
            o->failed = 1;
            return tk_err(o->e, TK_EINVAL, "%s: buffer of %" PRIu64 " bytes is too small", o->path, o->cap);
        }
        if (n) memcpy(o->mem + o->pos, p, n);
        o->pos += n;
        return TK_OK;
    }
    errno = 0;
    if (n && fwrite(p, 1, n, o->f) != n) {
        o->failed = 1;
        return tk_err(o->e, TK_EIO, "%s: write failed at byte %" PRIu64 ": %s", o->path, o->pos,
                      strerror(errno ? errno : EIO));
    }
    o->pos += n;
    return TK_OK;
}

static int emit_buf(out *o, buf *b) {
    if (b->oom) {
        o->failed = 1;
        return tk_err(o->e, TK_ENOMEM, "%s: out of memory", o->path);
    }
    int rc = emit(o, b->p, b->n);
    b->n = 0;
    return rc;
}

static int emit_zeros(out *o, uint64_t n) {
    static const unsigned char zeros[4096];
    int rc = TK_OK;
    while (n && rc == TK_OK) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        rc = emit(o, zeros, k);
        n -= k;
    }
    return rc;
}

static int emit_header(out *o, const tk_gguf_writer *w) {
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, (uint64_t)w->n_t);
    put_u64(&b, (uint64_t)w->n_kv);
    for (int i = 0; i < w->n_kv; i++) {
        put_str(&b, w->kv[i].key, strlen(w->kv[i].key));
        put_u32(&b, (uint32_t)w->kv[i].type);
        put(&b, w->kv[i].val, w->kv[i].n);
        if (b.n >= FILE_BUFFER && emit_buf(o, &b) != TK_OK) break;
    }
    uint64_t a = alignment(w), off = 0;
    for (int i = 0; i < w->n_t && !o->failed; i++) {
        const wtensor *t = &w->t[i];
        put_str(&b, t->name, strlen(t->name));
        put_u32(&b, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&b, (uint64_t)t->ne[d]);
        put_u32(&b, (uint32_t)t->type);
        put_u64(&b, off);
        off += t->nbytes + pad_to(t->nbytes, a);
    }
    int rc = o->failed ? TK_EIO : emit_buf(o, &b);
    free(b.p);
    if (rc == TK_OK && w->n_t) rc = emit_zeros(o, pad_to(o->pos, a));
    return rc;
}

static int emit_tensor(out *o, const wtensor *t, unsigned char *chunk, uint64_t chunk_cap, uint64_t a) {
    int rc = TK_OK;
    if (t->data) {
        rc = emit(o, t->data, (size_t)t->nbytes);
    } else {
        uint64_t per = chunk_cap / t->row_bytes;
        TK_ASSERT(per >= 1);
        for (uint64_t r = 0; r < t->n_rows && rc == TK_OK; r += per) {
            uint64_t n = t->n_rows - r < per ? t->n_rows - r : per;
            tk_error ce = {0};
            if ((rc = t->fn(t->ctx, (int64_t)r, (int64_t)n, chunk, &ce)) != TK_OK) {
                o->failed = 1;
                tk_err(o->e, rc, "%s: tensor '%s': %s", o->path, t->name, ce.msg[0] ? ce.msg : "could not produce the data");
                break;
            }
            rc = emit(o, chunk, (size_t)(n * t->row_bytes));
        }
    }
    if (rc == TK_OK) rc = emit_zeros(o, pad_to(t->nbytes, a));
    return rc;
}

/* The chunk buffer for callback tensors: CHUNK_BYTES, or one row. */
static uint64_t chunk_bytes(const tk_gguf_writer *w) {
    uint64_t chunk_cap = 0;
    for (int i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        if (!t->fn) continue;
        uint64_t c = t->row_bytes > CHUNK_BYTES ? t->row_bytes : CHUNK_BYTES;
        if (c > t->nbytes) c = t->nbytes;
        if (c > chunk_cap) chunk_cap = c;
    }
    return chunk_cap;
}

int tk_gguf_writer_write_mem(tk_gguf_writer *w, void *dst, uint64_t cap, tk_error *e) {
    uint64_t chunk_cap = chunk_bytes(w);
    unsigned char *chunk = chunk_cap ? malloc((size_t)chunk_cap) : NULL;
    if (chunk_cap && !chunk) return tk_err(e, TK_ENOMEM, "gguf image: out of memory");
    out o = {NULL, dst, cap, "gguf image", 0, 0, e};
    uint64_t a = alignment(w);
    int rc = emit_header(&o, w);
    for (int i = 0; i < w->n_t && rc == TK_OK; i++) rc = emit_tensor(&o, &w->t[i], chunk, chunk_cap, a);
    if (rc == TK_OK) TK_ASSERT(o.pos == tk_gguf_writer_size(w));
    free(chunk);
    return rc;
}

int tk_gguf_writer_write(tk_gguf_writer *w, const char *path, tk_error *e) {
    if (!path || !*path) return tk_err(e, TK_EINVAL, "gguf writer: empty output path");
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    if (!tmp) return tk_err(e, TK_ENOMEM, "%s: out of memory", path);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);

    uint64_t chunk_cap = chunk_bytes(w);
    unsigned char *chunk = chunk_cap ? malloc((size_t)chunk_cap) : NULL;
    char *fbuf = malloc(FILE_BUFFER);
    if ((chunk_cap && !chunk) || !fbuf) {
        free(chunk), free(fbuf), free(tmp);
        return tk_err(e, TK_ENOMEM, "%s: out of memory", path);
    }

    out o = {NULL, NULL, 0, path, 0, 0, e};
    errno = 0;
    o.f = fopen(tmp, "wb");
    if (!o.f) {
        int rc = tk_err(e, TK_EIO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        free(chunk), free(fbuf), free(tmp);
        return rc;
    }
    setvbuf(o.f, fbuf, _IOFBF, FILE_BUFFER);

    uint64_t a = alignment(w);
    int rc = emit_header(&o, w);
    for (int i = 0; i < w->n_t && rc == TK_OK; i++) rc = emit_tensor(&o, &w->t[i], chunk, chunk_cap, a);
    if (rc == TK_OK) TK_ASSERT(o.pos == tk_gguf_writer_size(w));
    if (rc == TK_OK && (fflush(o.f) != 0 || ferror(o.f)))
        rc = tk_err(e, TK_EIO, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
    if (rc == TK_OK && fsync(fileno(o.f)) != 0 && errno != EINVAL && errno != EROFS)
        rc = tk_err(e, TK_EIO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(o.f) != 0 && rc == TK_OK) rc = tk_err(e, TK_EIO, "%s: close failed: %s", path, strerror(errno));
    if (rc == TK_OK && rename(tmp, path) != 0)
        rc = tk_err(e, TK_EIO, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
    if (rc != TK_OK) remove(tmp);
    free(chunk), free(fbuf), free(tmp);
    return rc;
}
