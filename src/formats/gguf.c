/* gguf.c: GGUF reader (v2, v3). The byte layout is in gguf.h.
 *
 * One forward pass over the header with a bounds-checked cursor: every
 * length, count, type and offset is checked against the bytes that are left
 * before it is used, and every value is fully validated (types, lengths,
 * nesting) before anything points at it. The accessors below therefore walk
 * values without re-validating, but still never read outside a value.
 *
 * Memory is proportional to what was actually parsed: tables grow as
 * entries are read, and counts that could not fit in the remaining bytes are
 * rejected before any allocation. Top-level arrays of strings or of arrays
 * (tokenizer vocabularies, merges) get an index of element starts. */
#include "gguf.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "tensor/dtype.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH 8       /* arrays nested at most this deep          */
#define MIN_KV_BYTES 14        /* u64 len + 1-byte key + u32 type + 1 byte */
#define MIN_TENSOR_BYTES 33    /* u64 len + 1-byte name + u32 n_dims +      */
                               /* one u64 dim + u32 type + u64 offset       */

typedef struct gguf_kv {
    char *key;                   /* NUL-terminated copy                     */
    int type;                    /* TK_GGUF_*                               */
    const unsigned char *v;      /* value bytes, right after the type field */
    uint64_t vsize;              /* their count                             */
    const unsigned char **elem;  /* top-level string/array arrays: element  */
                                 /* starts; NULL otherwise                  */
    int index;
} gguf_kv;

struct tk_gguf {
    tk_map map;                  /* tk_gguf_open only                       */
    const unsigned char *base;
    uint64_t size;
    uint32_t version;
    uint64_t alignment, data_offset;
    int n_kv, cap_kv;
    gguf_kv *kv;
    gguf_kv **kv_sorted;         /* by key, for lookups                     */
    int n_t, cap_t;
    tk_gguf_tensor *t;
    tk_gguf_tensor **t_sorted;   /* by name                                 */
};

/* ---- little-endian decoding (no alignment assumptions) ----------------- */

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Bytes of a scalar of this type; 0 for STRING and ARRAY; -1 if unknown. */
static int type_size(uint32_t t) {
    static const signed char sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof sz ? sz[t] : -1;
}

const char *tk_gguf_type_name(int t) {
    static const char *const names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                        "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
    return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "?";
}

/* ---- text helpers --------------------------------------------------------- */

/* A bounded string builder: appends until full, always NUL-terminated. */
typedef struct sb { char *b; size_t cap, n; } sb;

static void sb_putc(sb *s, char c) {
    if (s->n + 1 < s->cap) s->b[s->n++] = c, s->b[s->n] = 0;
}
static void sb_puts(sb *s, const char *str) { while (*str) sb_putc(s, *str++); }
static void sb_printf(sb *s, const char *fmt, ...) {
    char tmp[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_puts(s, tmp);
}

/* Bytes as text: quotes and backslashes escaped, control bytes as \xNN, at
 * most max bytes (cut at a UTF-8 boundary), then "...". */
static void sb_escape(sb *s, const unsigned char *p, uint64_t n, uint64_t max) {
    uint64_t k = n;
    if (n > max) {
        k = max;
        while (k > 0 && (p[k] & 0xC0) == 0x80) k--;
    }
    for (uint64_t i = 0; i < k; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') sb_putc(s, '\\'), sb_putc(s, (char)c);
        else if (c == '\n') sb_puts(s, "\\n");
        else if (c == '\t') sb_puts(s, "\\t");
        else if (c == '\r') sb_puts(s, "\\r");
        else if (c < 0x20 || c == 0x7f) sb_printf(s, "\\x%02x", c);
        else sb_putc(s, (char)c);
    }
    if (k < n) sb_puts(s, "...");
}

/* A file name (key, tensor name) made safe for a one-line message. */
static const char *show(char *buf, size_t cap, const unsigned char *p, uint64_t n) {
    sb s = {buf, cap, 0};
    buf[0] = 0;
    sb_escape(&s, p, n, 64);
    return buf;
}

/* ---- the cursor ----------------------------------------------------------- */

typedef struct cur {
    const unsigned char *p;
    uint64_t size, pos;
    tk_error *e;        /* NULL: silent, for walking validated values      */
    char what[112];     /* what is being read, for messages: "key 'x'"     */
} cur;

static int take(cur *c, uint64_t n, const char *thing, const unsigned char **out) {
    if (n > c->size - c->pos) {
        tk_err(c->e, TK_EFORMAT, "%s: %s (%" PRIu64 " bytes at offset %" PRIu64
               ") runs past the end of the file (%" PRIu64 " bytes)", c->what, thing, n, c->pos, c->size);
        return TK_EFORMAT;
    }
    if (out) *out = c->p + c->pos;
    c->pos += n;
    return TK_OK;
}

static int rd_u32(cur *c, const char *thing, uint32_t *v) {
    const unsigned char *q = NULL;
    int rc = take(c, 4, thing, &q);
    if (rc == TK_OK) *v = le32(q);
    return rc;
}

static int rd_u64(cur *c, const char *thing, uint64_t *v) {
    const unsigned char *q = NULL;
    int rc = take(c, 8, thing, &q);
    if (rc == TK_OK) *v = le64(q);
    return rc;
}

static int rd_str(cur *c, const char *thing, const unsigned char **s, uint64_t *len) {
    uint64_t n;
    int rc = rd_u64(c, thing, &n);
    if (rc == TK_OK) rc = take(c, n, thing, s);
    if (rc == TK_OK && len) *len = n;
    return rc;
}

/* Validate and step over one value of type t. depth counts enclosing
 * arrays. Array counts are checked against the bytes left before the loop,
 * so the work is bounded by the file size. */
static int skip_value(cur *c, uint32_t t, int depth) {
    int es = type_size(t);
    if (es < 0) return tk_err(c->e, TK_EFORMAT, "%s: unknown value type %" PRIu32, c->what, t);
    if (es > 0) return take(c, (uint64_t)es, tk_gguf_type_name((int)t), NULL);
    if (t == TK_GGUF_STRING) return rd_str(c, "string", NULL, NULL);
    if (depth >= GGUF_MAX_DEPTH)
        return tk_err(c->e, TK_EFORMAT, "%s: arrays nested deeper than %d levels", c->what, GGUF_MAX_DEPTH);
    uint32_t et;
    uint64_t n;
    int rc = rd_u32(c, "array element type", &et);
    if (rc == TK_OK) rc = rd_u64(c, "array count", &n);
    if (rc != TK_OK) return rc;
    es = type_size(et);
    if (es < 0) return tk_err(c->e, TK_EFORMAT, "%s: unknown array element type %" PRIu32, c->what, et);
    uint64_t left = c->size - c->pos, min = es > 0 ? (uint64_t)es : et == TK_GGUF_STRING ? 8 : 12;
    if (n > left / min)
        return tk_err(c->e, TK_EFORMAT, "%s: array of %" PRIu64 " %s elements cannot fit in the %" PRIu64
                      " bytes left at offset %" PRIu64, c->what, n, tk_gguf_type_name((int)et), left, c->pos);
    if (es > 0) return take(c, n * (uint64_t)es, "array", NULL);
    for (uint64_t i = 0; i < n; i++)
        if ((rc = skip_value(c, et, depth + 1)) != TK_OK) return rc;
    return TK_OK;
}

/* Bytes taken by the (validated) value of type t at p, at most avail; 0 if
 * it does not fit (every value takes at least one byte). Walks arrays of
 * strings or arrays, so callers use it once per element. */
static uint64_t value_size(int t, const unsigned char *p, uint64_t avail) {
    cur c = {p, avail, 0, NULL, ""};
    return skip_value(&c, (uint32_t)t, 0) == TK_OK ? c.pos : 0;
}

/* A view of the value of type t at p that takes size bytes. */
static void view(int t, const unsigned char *p, uint64_t size, tk_gguf_value *v) {
    memset(v, 0, sizeof *v);
    v->type = t;
    v->p = p;
    v->size = size;
    if (t == TK_GGUF_STRING) v->n = le64(p), v->p = p + 8, v->size -= 8;
    if (t == TK_GGUF_ARRAY) v->elem_type = (int)le32(p), v->n = le64(p + 4), v->p = p + 12, v->size -= 12;
}

/* ---- parsing -------------------------------------------------------------- */

static int cmp_kv(const void *a, const void *b) {
    return strcmp((*(gguf_kv *const *)a)->key, (*(gguf_kv *const *)b)->key);
}
static int cmp_tensor(const void *a, const void *b) {
    return strcmp((*(tk_gguf_tensor *const *)a)->name, (*(tk_gguf_tensor *const *)b)->name);
}

/* Room for need elements in table p (doubling); NULL when out of memory,
 * p then still valid. */
static void *grow(void *p, int *cap, int need, size_t elem) {
    if (need <= *cap) return p;
    int nc = *cap ? *cap : 16;
    while (nc < need) nc = nc > INT_MAX / 2 ? INT_MAX : nc * 2;
    void *q = realloc(p, (size_t)nc * elem);
    if (q) *cap = nc;
    return q;
}

/* A key or tensor name: non-empty, no NUL bytes; returns a copy. */
static int rd_name(cur *c, const char *thing, char **out) {
    const unsigned char *s = NULL;
    uint64_t n = 0;
    char buf[160];
    int rc = rd_str(c, thing, &s, &n);
    if (rc != TK_OK) return rc;
    if (n == 0) return tk_err(c->e, TK_EFORMAT, "%s: %s is empty", c->what, thing);
    if (memchr(s, 0, n))
        return tk_err(c->e, TK_EFORMAT, "%s: %s '%s' contains a NUL byte", c->what, thing, show(buf, sizeof buf, s, n));
    if (!(*out = malloc(n + 1))) return tk_err(c->e, TK_ENOMEM, "%s: out of memory", c->what);
    memcpy(*out, s, n);
    (*out)[n] = 0;
    return TK_OK;
}

static int parse_kv(tk_gguf *g, cur *c, uint64_t n_kv) {
    char buf[160];
    for (uint64_t i = 0; i < n_kv; i++) {
        int rc;
        gguf_kv *kv = grow(g->kv, &g->cap_kv, g->n_kv + 1, sizeof *g->kv);
        if (!kv) return tk_err(c->e, TK_ENOMEM, "out of memory for %" PRIu64 " keys", n_kv);
        g->kv = kv;
        kv += g->n_kv;
        memset(kv, 0, sizeof *kv);
        snprintf(c->what, sizeof c->what, "key %" PRIu64 " of %" PRIu64, i, n_kv);
        if ((rc = rd_name(c, "key name", &kv->key)) != TK_OK) return rc;
        kv->index = g->n_kv++;
        snprintf(c->what, sizeof c->what, "key '%s'", show(buf, sizeof buf, (const unsigned char *)kv->key, strlen(kv->key)));
        uint32_t t;
        if ((rc = rd_u32(c, "value type", &t)) != TK_OK) return rc;
        kv->type = (int)t;
        kv->v = c->p + c->pos;
        uint64_t start = c->pos;
        if ((rc = skip_value(c, t, 0)) != TK_OK) return rc;
        kv->vsize = c->pos - start;
        if (t != TK_GGUF_ARRAY) continue;
        /* Index the elements of an array of strings or of arrays. */
        tk_gguf_value a;
        view(kv->type, kv->v, kv->vsize, &a);
        if (type_size((uint32_t)a.elem_type) != 0 || a.n == 0) continue;
        if (!(kv->elem = malloc(a.n * sizeof *kv->elem))) return tk_err(c->e, TK_ENOMEM, "%s: out of memory", c->what);
        const unsigned char *p = a.p, *end = a.p + a.size;
        for (uint64_t j = 0; j < a.n; j++) {
            kv->elem[j] = p;
            p += value_size(a.elem_type, p, (uint64_t)(end - p));
        }
    }
    return TK_OK;
}

static int parse_tensor_info(tk_gguf *g, cur *c, uint64_t n_t) {
    char buf[160];
    for (uint64_t i = 0; i < n_t; i++) {
        int rc;
        tk_gguf_tensor *t = grow(g->t, &g->cap_t, g->n_t + 1, sizeof *g->t);
        if (!t) return tk_err(c->e, TK_ENOMEM, "out of memory for %" PRIu64 " tensors", n_t);
        g->t = t;
        t += g->n_t;
        memset(t, 0, sizeof *t);
        snprintf(c->what, sizeof c->what, "tensor %" PRIu64 " of %" PRIu64, i, n_t);
        char *name;
        if ((rc = rd_name(c, "tensor name", &name)) != TK_OK) return rc;
        t->name = name;
        g->n_t++;
        snprintf(c->what, sizeof c->what, "tensor '%s'", show(buf, sizeof buf, (const unsigned char *)name, strlen(name)));
        uint32_t nd, type;
        if ((rc = rd_u32(c, "n_dims", &nd)) != TK_OK) return rc;
        if (nd < 1 || nd > 4) return tk_err(c->e, TK_EFORMAT, "%s: n_dims %" PRIu32 " is out of range (1..4)", c->what, nd);
        t->n_dims = (int)nd;
        uint64_t nel = 1;
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        for (int d = 0; d < t->n_dims; d++) {
            uint64_t ne;
            if ((rc = rd_u64(c, "dimension", &ne)) != TK_OK) return rc;
            if (ne == 0) return tk_err(c->e, TK_EFORMAT, "%s: dimension %d is zero", c->what, d);
            if (ne > INT64_MAX || tk_mul_ovf(nel, ne, &nel) || nel > INT64_MAX)
                return tk_err(c->e, TK_EFORMAT, "%s: dimension %d (%" PRIu64 ") makes the element count overflow",
                              c->what, d, ne);
            t->ne[d] = (int64_t)ne;
        }
        if ((rc = rd_u32(c, "type", &type)) != TK_OK) return rc;
        const tk_dtype_traits *tr = type < TK_DTYPE_COUNT ? tk_dtype_get((int)type) : NULL;
        if (!tr) return tk_err(c->e, TK_EFORMAT, "%s: unknown type id %" PRIu32, c->what, type);
        t->type = (int)type;
        if (t->ne[0] % tr->block)
            return tk_err(c->e, TK_EFORMAT, "%s: row length %" PRId64 " is not a multiple of the %s block size %d",
                          c->what, t->ne[0], tr->name, tr->block);
        uint64_t row = tk_dtype_row_bytes(t->type, t->ne[0]);
        if (tk_mul_ovf(row, nel / (uint64_t)t->ne[0], &t->nbytes))
            return tk_err(c->e, TK_EFORMAT, "%s: size in bytes overflows", c->what);
        if ((rc = rd_u64(c, "data offset", &t->offset)) != TK_OK) return rc;
    }
    return TK_OK;
}

/* general.alignment: a UINT32, a nonzero power of two; default 32. */
static int find_alignment(tk_gguf *g, tk_error *e) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int i = tk_gguf_find(g, "general.alignment");
    if (i < 0) return TK_OK;
    const gguf_kv *kv = &g->kv[i];
    if (kv->type != TK_GGUF_UINT32)
        return tk_err(e, TK_EFORMAT, "key 'general.alignment' has type %s, expected UINT32", tk_gguf_type_name(kv->type));
    uint32_t a = le32(kv->v);
    if (a == 0 || (a & (a - 1)))
        return tk_err(e, TK_EFORMAT, "key 'general.alignment': %" PRIu32 " is not a nonzero power of two", a);
    g->alignment = a;
    return TK_OK;
}

/* Data section start and each tensor's place in it. */
static int place_tensors(tk_gguf *g, uint64_t header_end, tk_error *e) {
    char buf[160];
    uint64_t a = g->alignment, pad = (a - header_end % a) % a;
    if (tk_add_ovf(header_end, pad, &g->data_offset))
        return tk_err(e, TK_EFORMAT, "data section offset overflows");
    for (int i = 0; i < g->n_t; i++) {
        tk_gguf_tensor *t = &g->t[i];
        const char *nm = show(buf, sizeof buf, (const unsigned char *)t->name, strlen(t->name));
        uint64_t at, end;
        if (t->offset % a)
            return tk_err(e, TK_EFORMAT, "tensor '%s': offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                          nm, t->offset, a);
        if (tk_add_ovf(g->data_offset, t->offset, &at) || at > g->size)
            return tk_err(e, TK_EFORMAT, "tensor '%s': data offset %" PRIu64 " starts past the end of the file (%" PRIu64 " bytes)",
                          nm, t->offset, g->size);
        if (tk_add_ovf(at, t->nbytes, &end) || end > g->size)
            return tk_err(e, TK_EFORMAT, "tensor '%s': data [offset %" PRIu64 " + %" PRIu64
                          " bytes] runs past the end of the file (%" PRIu64 " bytes)", nm, at, t->nbytes, g->size);
        t->data = g->base + at;
    }
    return TK_OK;
}

/* Name-sorted indexes for lookups; duplicates are errors. */
static int index_kv(tk_gguf *g, tk_error *e) {
    char buf[160];
    if (!(g->kv_sorted = malloc(((size_t)g->n_kv + 1) * sizeof *g->kv_sorted))) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int i = 0; i < g->n_kv; i++) g->kv_sorted[i] = &g->kv[i];
    qsort(g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv);
    for (int i = 1; i < g->n_kv; i++)
        if (!strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key)) {
            const char *k = g->kv_sorted[i]->key;
            return tk_err(e, TK_EFORMAT, "duplicate key '%s'", show(buf, sizeof buf, (const unsigned char *)k, strlen(k)));
        }
    return TK_OK;
}

static int index_tensors(tk_gguf *g, tk_error *e) {
    char buf[160];
    if (!(g->t_sorted = malloc(((size_t)g->n_t + 1) * sizeof *g->t_sorted))) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int i = 0; i < g->n_t; i++) g->t_sorted[i] = &g->t[i];
    qsort(g->t_sorted, (size_t)g->n_t, sizeof *g->t_sorted, cmp_tensor);
    for (int i = 1; i < g->n_t; i++)
        if (!strcmp(g->t_sorted[i - 1]->name, g->t_sorted[i]->name)) {
            const char *k = g->t_sorted[i]->name;
            return tk_err(e, TK_EFORMAT, "duplicate tensor name '%s'", show(buf, sizeof buf, (const unsigned char *)k, strlen(k)));
        }
    return TK_OK;
}

static int parse(tk_gguf *g, tk_error *e) {
    cur c = {g->base, g->size, 0, e, "file header"};
    const unsigned char *magic;
    uint64_t n_t, n_kv;
    char buf[32];
    int rc;
    if (g->size < 4) return tk_err(e, TK_EFORMAT, "not a GGUF file: only %" PRIu64 " bytes, too short for the magic", g->size);
    take(&c, 4, "magic", &magic);
    if (memcmp(magic, GGUF_MAGIC, 4))
        return tk_err(e, TK_EFORMAT, "not a GGUF file: magic '%s', expected 'GGUF'", show(buf, sizeof buf, magic, 4));
    if ((rc = rd_u32(&c, "version", &g->version)) != TK_OK) return rc;
    if (g->version == 1)
        return tk_err(e, TK_EUNSUPPORTED, "GGUF version 1 is not supported (only versions 2 and 3; convert the file again)");
    if (g->version != 2 && g->version != 3)
        return tk_err(e, TK_EUNSUPPORTED, "unsupported GGUF version %" PRIu32 "%s (only versions 2 and 3)", g->version,
                      (g->version & 0xffff) == 0 ? ", perhaps a big-endian file" : "");
    if ((rc = rd_u64(&c, "tensor count", &n_t)) != TK_OK || (rc = rd_u64(&c, "key count", &n_kv)) != TK_OK) return rc;
    uint64_t left = c.size - c.pos;
    if (n_kv > left / MIN_KV_BYTES || n_kv > INT_MAX)
        return tk_err(e, TK_EFORMAT, "file header: %" PRIu64 " keys cannot fit in the %" PRIu64 " bytes left", n_kv, left);
    left -= n_kv * MIN_KV_BYTES;
    if (n_t > left / MIN_TENSOR_BYTES || n_t > INT_MAX)
        return tk_err(e, TK_EFORMAT, "file header: %" PRIu64 " tensors (and %" PRIu64 " keys) cannot fit in the %" PRIu64
                      " bytes left", n_t, n_kv, c.size - c.pos);
    if ((rc = parse_kv(g, &c, n_kv)) != TK_OK) return rc;
    if ((rc = index_kv(g, e)) != TK_OK || (rc = find_alignment(g, e)) != TK_OK) return rc;
    if ((rc = parse_tensor_info(g, &c, n_t)) != TK_OK || (rc = index_tensors(g, e)) != TK_OK) return rc;
    return place_tensors(g, c.pos, e);
}

int tk_gguf_parse(tk_gguf **out, const void *data, size_t size, tk_error *e) {
    *out = NULL;
    if (!data && size) return tk_err(e, TK_EINVAL, "gguf: NULL buffer");
    tk_gguf *g = calloc(1, sizeof *g);
    if (!g) return tk_err(e, TK_ENOMEM, "out of memory");
    g->base = data;
    g->size = size;
    int rc = parse(g, e);
    if (rc != TK_OK) {
        tk_gguf_free(g);
        return rc;
    }
    *out = g;
    return TK_OK;
}

int tk_gguf_open(tk_gguf **out, const char *path, tk_error *e) {
    tk_map m;
    *out = NULL;
    int rc = tk_map_open(&m, path, e); /* its messages name the path */
    if (rc != TK_OK) return rc;
    if ((rc = tk_gguf_parse(out, m.data, m.size, e)) != TK_OK) {
        tk_map_close(&m);
        tk_err_prefix(e, path);
        return rc;
    }
    (*out)->map = m;
    return TK_OK;
}

void tk_gguf_free(tk_gguf *g) {
    if (!g) return;
    for (int i = 0; i < g->n_kv; i++) free(g->kv[i].key), free(g->kv[i].elem);
    for (int i = 0; i < g->n_t; i++) free((char *)g->t[i].name);
    free(g->kv), free(g->kv_sorted), free(g->t), free(g->t_sorted);
    tk_map_close(&g->map);
    free(g);
}

uint32_t tk_gguf_version(const tk_gguf *g) { return g->version; }
uint64_t tk_gguf_alignment(const tk_gguf *g) { return g->alignment; }
uint64_t tk_gguf_data_offset(const tk_gguf *g) { return g->data_offset; }

/* ---- metadata ------------------------------------------------------------- */

int tk_gguf_n_kv(const tk_gguf *g) { return g->n_kv; }

int tk_gguf_find(const tk_gguf *g, const char *key) {
    if (!g->kv_sorted || !key) return -1;
    gguf_kv k = {0}, *kp = &k, **hit;
    k.key = (char *)key;
    hit = bsearch(&kp, g->kv_sorted, (size_t)g->n_kv, sizeof *g->kv_sorted, cmp_kv);
    return hit ? (*hit)->index : -1;
}

const char *tk_gguf_key(const tk_gguf *g, int i) { return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL; }
int tk_gguf_kv_type(const tk_gguf *g, int i) { return i >= 0 && i < g->n_kv ? g->kv[i].type : -1; }

int tk_gguf_value_of(const tk_gguf *g, int i, tk_gguf_value *v) {
    if (i < 0 || i >= g->n_kv) return TK_EINVAL;
    view(g->kv[i].type, g->kv[i].v, g->kv[i].vsize, v);
    return TK_OK;
}

int tk_gguf_value_elem(const tk_gguf_value *a, uint64_t i, tk_gguf_value *out) {
    if (a->type != TK_GGUF_ARRAY || i >= a->n) return TK_EINVAL;
    int es = type_size((uint32_t)a->elem_type);
    if (es < 0) return TK_EINVAL;
    if (es > 0) {
        if (i >= a->size / (uint64_t)es) return TK_EINVAL;
        view(a->elem_type, a->p + i * (uint64_t)es, (uint64_t)es, out);
        return TK_OK;
    }
    const unsigned char *p = a->p, *end = a->p + a->size;
    for (uint64_t j = 0;; j++) {
        uint64_t sz = value_size(a->elem_type, p, (uint64_t)(end - p));
        if (!sz) return TK_EINVAL;
        if (j == i) {
            view(a->elem_type, p, sz, out);
            return TK_OK;
        }
        p += sz;
    }
}

/* A scalar as a number: *kind 's' signed, 'u' unsigned, 'f' float, 'b'
 * bool; 0 if the value is not a number. */
typedef struct num { char kind; int64_t i; uint64_t u; double f; } num;

static num to_num(const tk_gguf_value *v) {
    num n = {0, 0, 0, 0};
    const unsigned char *p = v->p;
    switch (v->type) {
    case TK_GGUF_UINT8: n.kind = 'u', n.u = p[0]; break;
    case TK_GGUF_INT8: n.kind = 's', n.i = (int8_t)p[0]; break;
    case TK_GGUF_UINT16: n.kind = 'u', n.u = le16(p); break;
    case TK_GGUF_INT16: n.kind = 's', n.i = (int16_t)le16(p); break;
    case TK_GGUF_UINT32: n.kind = 'u', n.u = le32(p); break;
    case TK_GGUF_INT32: n.kind = 's', n.i = (int32_t)le32(p); break;
    case TK_GGUF_UINT64: n.kind = 'u', n.u = le64(p); break;
    case TK_GGUF_INT64: n.kind = 's', n.i = (int64_t)le64(p); break;
    case TK_GGUF_BOOL: n.kind = 'b', n.u = p[0] != 0; break;
    case TK_GGUF_FLOAT32: {
        uint32_t b = le32(p);
        float f;
        memcpy(&f, &b, 4);
        n.kind = 'f', n.f = f;
        break;
    }
    case TK_GGUF_FLOAT64: {
        uint64_t b = le64(p);
        memcpy(&n.f, &b, 8);
        n.kind = 'f';
        break;
    }
    }
    return n;
}

int tk_gguf_value_i64(const tk_gguf_value *v, int64_t *out) {
    num n = to_num(v);
    if (n.kind == 's') return *out = n.i, TK_OK;
    if ((n.kind == 'u' || n.kind == 'b') && n.u <= INT64_MAX) return *out = (int64_t)n.u, TK_OK;
    return TK_EINVAL;
}

int tk_gguf_value_f64(const tk_gguf_value *v, double *out) {
    num n = to_num(v);
    if (!n.kind) return TK_EINVAL;
    *out = n.kind == 'f' ? n.f : n.kind == 's' ? (double)n.i : (double)n.u;
    return TK_OK;
}

/* The value of key, required to have type t (-1: any). */
static int lookup(const tk_gguf *g, const char *key, int t, tk_gguf_value *v, tk_error *e) {
    int i = tk_gguf_find(g, key);
    if (i < 0) return tk_err(e, TK_EFORMAT, "key '%s' is absent", key ? key : "(null)");
    if (t >= 0 && g->kv[i].type != t)
        return tk_err(e, TK_EFORMAT, "key '%s' has type %s, expected %s", key, tk_gguf_type_name(g->kv[i].type), tk_gguf_type_name(t));
    return tk_gguf_value_of(g, i, v);
}

static int lookup_int(const tk_gguf *g, const char *key, num *n, tk_error *e) {
    tk_gguf_value v;
    int rc = lookup(g, key, -1, &v, e);
    if (rc != TK_OK) return rc;
    *n = to_num(&v);
    if (n->kind != 's' && n->kind != 'u')
        return tk_err(e, TK_EFORMAT, "key '%s' has type %s, expected an integer", key, tk_gguf_type_name(v.type));
    return TK_OK;
}

int tk_gguf_get_i64(const tk_gguf *g, const char *key, int64_t *out, tk_error *e) {
    num n;
    int rc = lookup_int(g, key, &n, e);
    if (rc != TK_OK) return rc;
    if (n.kind == 'u' && n.u > INT64_MAX)
        return tk_err(e, TK_EFORMAT, "key '%s': value %" PRIu64 " is out of range for int64", key, n.u);
    *out = n.kind == 's' ? n.i : (int64_t)n.u;
    return TK_OK;
}

int tk_gguf_get_u32(const tk_gguf *g, const char *key, uint32_t *out, tk_error *e) {
    num n;
    int rc = lookup_int(g, key, &n, e);
    if (rc != TK_OK) return rc;
    if (n.kind == 's' && (n.i < 0 || n.i > UINT32_MAX))
        return tk_err(e, TK_EFORMAT, "key '%s': value %" PRId64 " is out of range for uint32", key, n.i);
    if (n.kind == 'u' && n.u > UINT32_MAX)
        return tk_err(e, TK_EFORMAT, "key '%s': value %" PRIu64 " is out of range for uint32", key, n.u);
    *out = n.kind == 's' ? (uint32_t)n.i : (uint32_t)n.u;
    return TK_OK;
}

int tk_gguf_get_f32(const tk_gguf *g, const char *key, float *out, tk_error *e) {
    tk_gguf_value v;
    int rc = lookup(g, key, -1, &v, e);
    if (rc != TK_OK) return rc;
    num n = to_num(&v);
    if (n.kind != 'f')
        return tk_err(e, TK_EFORMAT, "key '%s' has type %s, expected FLOAT32", key, tk_gguf_type_name(v.type));
    if (isfinite(n.f) && (n.f > FLT_MAX || n.f < -FLT_MAX)) /* inf and NaN pass through */
        return tk_err(e, TK_EFORMAT, "key '%s': value %g is out of range for float32", key, n.f);
    *out = (float)n.f;
    return TK_OK;
}

int tk_gguf_get_bool(const tk_gguf *g, const char *key, int *out, tk_error *e) {
    tk_gguf_value v;
    int rc = lookup(g, key, TK_GGUF_BOOL, &v, e);
    if (rc == TK_OK) *out = v.p[0] != 0;
    return rc;
}

int tk_gguf_get_str(const tk_gguf *g, const char *key, const char **s, uint64_t *len, tk_error *e) {
    tk_gguf_value v;
    int rc = lookup(g, key, TK_GGUF_STRING, &v, e);
    if (rc == TK_OK) *s = (const char *)v.p, *len = v.n;
    return rc;
}

int tk_gguf_get_arr(const tk_gguf *g, const char *key, int *elem_type, uint64_t *n, tk_error *e) {
    tk_gguf_value v;
    int rc = lookup(g, key, TK_GGUF_ARRAY, &v, e);
    if (rc == TK_OK) *elem_type = v.elem_type, *n = v.n;
    return rc;
}

/* Element i of the top-level array key (indexed when variable-sized). */
static int arr_elem(const tk_gguf *g, const char *key, uint64_t i, tk_gguf_value *el) {
    tk_gguf_value a;
    int k = tk_gguf_find(g, key);
    if (k < 0 || g->kv[k].type != TK_GGUF_ARRAY || tk_gguf_value_of(g, k, &a) != TK_OK || i >= a.n) return TK_EINVAL;
    if (!g->kv[k].elem) return tk_gguf_value_elem(&a, i, el);
    const unsigned char *p = g->kv[k].elem[i], *end = i + 1 < a.n ? g->kv[k].elem[i + 1] : a.p + a.size;
    view(a.elem_type, p, (uint64_t)(end - p), el);
    return TK_OK;
}

int tk_gguf_arr_str(const tk_gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len) {
    tk_gguf_value el;
    if (arr_elem(g, key, i, &el) != TK_OK || el.type != TK_GGUF_STRING) return TK_EINVAL;
    *s = (const char *)el.p, *len = el.n;
    return TK_OK;
}

int tk_gguf_arr_f64(const tk_gguf *g, const char *key, uint64_t i, double *out) {
    tk_gguf_value el;
    if (arr_elem(g, key, i, &el) != TK_OK) return TK_EINVAL;
    return tk_gguf_value_f64(&el, out);
}

int tk_gguf_arr_i64(const tk_gguf *g, const char *key, uint64_t i, int64_t *out) {
    tk_gguf_value el;
    if (arr_elem(g, key, i, &el) != TK_OK) return TK_EINVAL;
    return tk_gguf_value_i64(&el, out);
}

int tk_gguf_arr_sub(const tk_gguf *g, const char *key, uint64_t i, int *elem_type, uint64_t *n) {
    tk_gguf_value el;
    if (arr_elem(g, key, i, &el) != TK_OK || el.type != TK_GGUF_ARRAY) return TK_EINVAL;
    *elem_type = el.elem_type, *n = el.n;
    return TK_OK;
}

/* ---- rendering -------------------------------------------------------------- */

static void render_value(sb *s, const tk_gguf_value *v, uint64_t max_str) {
    num n = to_num(v);
    switch (n.kind) {
    case 's': sb_printf(s, "%" PRId64, n.i); return;
    case 'u': sb_printf(s, "%" PRIu64, n.u); return;
    case 'b': sb_puts(s, n.u ? "true" : "false"); return;
    case 'f': sb_printf(s, v->type == TK_GGUF_FLOAT32 ? "%.7g" : "%.15g", n.f); return;
    }
    if (v->type == TK_GGUF_STRING) {
        sb_putc(s, '"');
        sb_escape(s, v->p, v->n, max_str);
        sb_putc(s, '"');
        return;
    }
    sb_printf(s, "[%s x %" PRIu64 "]", tk_gguf_type_name(v->elem_type), v->n);
}

int tk_gguf_render(const tk_gguf *g, int i, char *buf, size_t cap) {
    tk_gguf_value v, el;
    if (cap) buf[0] = 0;
    if (tk_gguf_value_of(g, i, &v) != TK_OK) return TK_EINVAL;
    sb s = {buf, cap, 0};
    render_value(&s, &v, 60);
    if (v.type != TK_GGUF_ARRAY) return (int)s.n;
    /* The first few elements, walking the array once. */
    const unsigned char *p = v.p, *end = v.p + v.size;
    int es = type_size((uint32_t)v.elem_type), shown = 0;
    for (uint64_t j = 0; j < v.n; j++) {
        if (shown == (es > 0 ? 8 : 3) || s.n > 72) {
            sb_puts(&s, ", ...");
            break;
        }
        uint64_t sz = value_size(v.elem_type, p, (uint64_t)(end - p));
        if (!sz) break;
        view(v.elem_type, p, sz, &el);
        sb_puts(&s, j ? ", " : " ");
        render_value(&s, &el, 24);
        p += sz;
        shown++;
    }
    return (int)s.n;
}

/* ---- tensors ---------------------------------------------------------------- */

int tk_gguf_n_tensors(const tk_gguf *g) { return g->n_t; }

const tk_gguf_tensor *tk_gguf_tensor_at(const tk_gguf *g, int i) { return i >= 0 && i < g->n_t ? &g->t[i] : NULL; }

const tk_gguf_tensor *tk_gguf_find_tensor(const tk_gguf *g, const char *name) {
    if (!g->t_sorted || !name) return NULL;
    tk_gguf_tensor k, *kp = &k, **hit;
    k.name = name;
    hit = bsearch(&kp, g->t_sorted, (size_t)g->n_t, sizeof *g->t_sorted, cmp_tensor);
    return hit ? *hit : NULL;
}
