/* quantize.c: `tick quantize`: rules in quantize.h. The output is streamed
 * through the GGUF writer: each tensor's rows are converted a block of rows
 * at a time (split across threads when asked), so memory stays at a few
 * MiB whatever the model's size. */
#include "quantize.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "formats/gguf.h"
#include "formats/gguf_write.h"
#include "tensor/dtype.h"

int tk_quantize_type_from_name(const char *name) {
    int t = name ? tk_dtype_from_name(name) : -1;
    return tk_ftype_of(t) >= 0 ? t : -1;
}

int tk_ftype_of(int type) {
    switch (type) {
    case TK_F32: return 0;
    case TK_F16: return 1;
    case TK_Q4_0: return 2;
    case TK_Q8_0: return 7;
    case TK_Q4_K: return 15; /* LLAMA_FTYPE_MOSTLY_Q4_K_M, as llama-quantize --pure writes */
    case TK_Q6_K: return 18; /* LLAMA_FTYPE_MOSTLY_Q6_K */
    case TK_BF16: return 32;
    default: return -1;
    }
}

/* ggml_n_dims: dimensions up to the last one that is not 1 (at least 1). */
static int n_dims_of(const tk_gguf_tensor *t) {
    int n = t->n_dims;
    while (n > 1 && t->ne[n - 1] == 1) n--;
    return n;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !memcmp(s + a - b, suf, b);
}

/* llama.cpp's choice of the tensors to quantize (the parts that apply to
 * transformer LMs; the Mamba/RWKV exclusions do not name llama tensors). */
static int wants_quant(const tk_gguf_tensor *t) {
    return ends_with(t->name, "weight") && n_dims_of(t) >= 2 && !strstr(t->name, "_norm.weight") &&
           !strstr(t->name, "ffn_gate_inp.weight") && strcmp(t->name, "position_embd.weight") != 0 &&
           strcmp(t->name, "token_types.weight") != 0;
}

/* The layer of "blk.N.*" (-1 otherwise), as llama.cpp's
 * sscanf(name, "blk.%d.") reads it. */
static long layer_of(const char *s) {
    if (strncmp(s, "blk.", 4) != 0) return -1;
    s += 4;
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (*s < '0' || *s > '9') return -1;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) v = v < 100000000 ? v * 10 + (*s - '0') : v;
    return neg ? -v : v;
}

/* llama_model_loader's weight_name_comparer: by layer, then by name. */
static int cmp_weight(const void *a, const void *b) {
    const tk_gguf_tensor *x = *(const tk_gguf_tensor *const *)a, *y = *(const tk_gguf_tensor *const *)b;
    long lx = layer_of(x->name), ly = layer_of(y->name);
    if (lx != ly) return lx < ly ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef struct job job;

/* One output tensor. */
typedef struct qtensor {
    job *j;
    const tk_gguf_tensor *src;
    int to;
    uint64_t src_row, dst_row, n_rows, out_bytes;
} qtensor;

struct job {
    tk_pool *pool;          /* NULL: one thread                          */
    float **scratch;        /* [n_threads] rows of max_ne0 floats        */
    const tk_quantize_opts *o;
    /* the block being converted (read by the pool's threads) */
    const qtensor *cur;
    int64_t row0, n;
    void *dst;
};

static void convert_rows(const qtensor *q, float *scratch, int64_t r0, int64_t r1, int64_t base, unsigned char *dst) {
    const tk_gguf_tensor *t = q->src;
    const unsigned char *src = (const unsigned char *)t->data;
    for (int64_t r = r0; r < r1; r++) {
        const unsigned char *s = src + (uint64_t)r * q->src_row;
        unsigned char *d = dst + (uint64_t)(r - base) * q->dst_row;
        if (q->to == t->type) {
            memcpy(d, s, (size_t)q->src_row);
        } else {
            tk_dtype_get(t->type)->to_float(s, scratch, t->ne[0]);
            tk_dtype_get(q->to)->from_float(scratch, d, t->ne[0]);
        }
    }
}

static void pool_rows(void *ctx, int ith, int nth) {
    job *j = ctx;
    int64_t a, b;
    tk_split(j->n, ith, nth, &a, &b);
    convert_rows(j->cur, j->scratch[ith], j->row0 + a, j->row0 + b, j->row0, j->dst);
}

static int rows_fn(void *ctx, int64_t row0, int64_t n, void *dst, tk_error *e) {
    (void)e;
    qtensor *q = ctx;
    job *j = q->j;
    if (j->pool && q->to != q->src->type) {
        j->cur = q, j->row0 = row0, j->n = n, j->dst = dst;
        tk_pool_run(j->pool, pool_rows, j);
    } else {
        convert_rows(q, j->scratch[0], row0, row0 + n, row0, dst);
    }
    if ((uint64_t)(row0 + n) == q->n_rows && j->o->progress)
        j->o->progress(j->o->ctx, q->src->name, q->src->type, q->to, q->src->nbytes, q->out_bytes);
    return TK_OK;
}

static int keep_kv(void *ctx, const char *key) {
    (void)ctx;
    return strcmp(key, "split.no") && strcmp(key, "split.count") && strcmp(key, "split.tensors.count");
}

int tk_quantize_file(const char *in_path, const char *out_path, const tk_quantize_opts *o, tk_quantize_stats *stats,
                     tk_error *e) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (tk_ftype_of(o->type) < 0)
        return tk_err(e, TK_EINVAL, "cannot quantize to %s (supported: F32, F16, BF16, Q8_0, Q4_0)", tk_dtype_name(o->type));
    tk_gguf *g = NULL;
    int rc = tk_gguf_open(&g, in_path, e);
    if (rc != TK_OK) return rc;
    rc = tk_quantize_gguf(g, in_path, out_path, o, stats, e);
    tk_gguf_free(g);
    return rc;
}

int tk_quantize_gguf(const tk_gguf *g, const char *in_path, const char *out_path, const tk_quantize_opts *o,
                     tk_quantize_stats *stats, tk_error *e) {
    if (stats) memset(stats, 0, sizeof *stats);
    int to = o->type, rc;
    if (tk_ftype_of(to) < 0)
        return tk_err(e, TK_EINVAL, "cannot quantize to %s (supported: F32, F16, BF16, Q8_0, Q4_0)", tk_dtype_name(to));
    int n = tk_gguf_n_tensors(g);
    const tk_gguf_tensor **order = calloc((size_t)n + 1, sizeof *order);
    qtensor *qs = calloc((size_t)n + 1, sizeof *qs);
    tk_gguf_writer *w = tk_gguf_writer_new();
    job j = {0};
    j.o = o;
    int nth = o->n_threads > 1 ? o->n_threads : 1;
    j.scratch = calloc((size_t)nth, sizeof *j.scratch);
    if (!order || !qs || !w || !j.scratch) {
        rc = tk_err(e, TK_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) order[i] = tk_gguf_tensor_at(g, i);
    qsort(order, (size_t)n, sizeof *order, cmp_weight);

    if ((rc = tk_gguf_writer_copy_kv(w, g, keep_kv, NULL, e)) != TK_OK ||
        (rc = tk_gguf_writer_set_u32(w, "general.quantization_version", 2, e)) != TK_OK ||
        (rc = tk_gguf_writer_set_u32(w, "general.file_type", (uint32_t)tk_ftype_of(to), e)) != TK_OK)
        goto done;

    int64_t max_ne0 = 1;
    const tk_dtype_traits *tt = tk_dtype_get(to);
    for (int i = 0; i < n; i++) {
        const tk_gguf_tensor *t = order[i];
        qtensor *q = &qs[i];
        q->j = &j, q->src = t, q->to = t->type;
        if (wants_quant(t) && t->ne[0] % tt->block == 0) q->to = to;
        if (q->to != t->type) {
            const tk_dtype_traits *ft = tk_dtype_get(t->type);
            if (!ft || !ft->to_float) {
                rc = tk_err(e, TK_EUNSUPPORTED, "%s: tensor '%s': cannot convert %s to %s (no %s dequantizer yet)",
                            in_path, t->name, tk_dtype_name(t->type), tt->name, tk_dtype_name(t->type));
                goto done;
            }
            if (t->ne[0] > max_ne0) max_ne0 = t->ne[0];
        }
        q->src_row = tk_dtype_row_bytes(t->type, t->ne[0]);
        q->dst_row = tk_dtype_row_bytes(q->to, t->ne[0]);
        q->n_rows = t->nbytes / q->src_row;
        q->out_bytes = q->dst_row * q->n_rows;
        if ((rc = tk_gguf_writer_add_tensor_fn(w, t->name, q->to, n_dims_of(t), t->ne, rows_fn, q, e)) < 0) {
            tk_err_prefix(e, out_path);
            goto done;
        }
        rc = TK_OK;
        if (stats) {
            stats->n_tensors++;
            stats->n_converted += q->to != t->type;
            stats->bytes_in += t->nbytes;
            stats->bytes_out += q->out_bytes;
        }
    }
    for (int i = 0; i < nth; i++)
        if (!(j.scratch[i] = malloc((size_t)max_ne0 * sizeof(float)))) {
            rc = tk_err(e, TK_ENOMEM, "out of memory");
            goto done;
        }
    if (nth > 1 && !(j.pool = tk_pool_new(nth, e))) {
        rc = e ? e->code : TK_ENOMEM;
        goto done;
    }
    rc = tk_gguf_writer_write(w, out_path, e);
    if (rc == TK_OK && stats) stats->file_bytes = tk_gguf_writer_size(w);
done:
    if (j.pool) tk_pool_free(j.pool);
    if (j.scratch)
        for (int i = 0; i < nth; i++) free(j.scratch[i]);
    free(j.scratch);
    tk_gguf_writer_free(w);
    free(qs);
    free(order);
    return rc;
}
