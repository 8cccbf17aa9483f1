/* llama2c.c: llama2.c checkpoint reader (layout in llama2c.h). */
#include "llama2c.h"
#include "../base/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L2C_MAGIC 0x616b3432u
#define L2C_V1_HEADER 256

static int32_t rd_i32(const unsigned char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

int tk_l2c_sniff(const void *data, size_t size) {
    if (size < 28) return 0;
    const unsigned char *p = data;
    if ((uint32_t)rd_i32(p) == L2C_MAGIC) return 1;
    /* legacy: all header fields plausible */
    int32_t h[7];
    for (int i = 0; i < 7; i++) h[i] = rd_i32(p + 4 * i);
    return h[0] > 0 && h[1] > 0 && h[2] > 0 && h[3] > 0 && h[4] > 0 && h[5] != 0 && h[6] > 0;
}

typedef struct {
    tk_l2c *c;
    const unsigned char *base;
    uint64_t size, off;
    tk_error *e;
} cursor;

/* Append a tensor of rows x cols f32 at the cursor (checked against size). */
static int take(cursor *k, const char *name, int layer, int64_t rows, int64_t cols) {
    uint64_t n, bytes, end;
    if (tk_mul_ovf((uint64_t)rows, (uint64_t)cols, &n) || tk_mul_ovf(n, 4, &bytes) ||
        tk_add_ovf(k->off, bytes, &end) || end > k->size)
        return tk_err(k->e, TK_EFORMAT,
                      "llama2.c checkpoint is truncated: tensor %s needs %llu bytes at offset %llu, file has %llu",
                      name, (unsigned long long)(rows * cols * 4), (unsigned long long)k->off,
                      (unsigned long long)k->size);
    if (layer >= 0) {
        tk_l2c_tensor *t = &k->c->tensors[k->c->n_tensors++];
        snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, name);
        t->n_dims = rows == 1 ? 1 : 2;
        t->ne[0] = cols;
        t->ne[1] = rows;
        t->data = (const float *)(k->base + k->off);
    } else if (layer == -1) {
        tk_l2c_tensor *t = &k->c->tensors[k->c->n_tensors++];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->n_dims = rows == 1 ? 1 : 2;
        t->ne[0] = cols;
        t->ne[1] = rows;
        t->data = (const float *)(k->base + k->off);
    } /* layer == -2: skipped (freq_cis tables) */
    k->off = end;
    return TK_OK;
}

/* n_layers tensors of rows x cols, stored one after another. */
static int take_layers(cursor *k, const char *name, int64_t rows, int64_t cols) {
    for (int l = 0; l < k->c->n_layers; l++) {
        int rc = take(k, name, l, rows, cols);
        if (rc) return rc;
    }
    return TK_OK;
}

int tk_l2c_parse(tk_l2c *c, const void *data, size_t size, tk_error *e) {
    memset(c, 0, sizeof *c);
    const unsigned char *p = data;
    uint64_t off;
    int32_t h[7];
    if (size >= 8 && (uint32_t)rd_i32(p) == L2C_MAGIC) {
        if (size < L2C_V1_HEADER) return tk_err(e, TK_EFORMAT, "llama2.c v1 checkpoint is truncated: header needs 256 bytes, file has %zu", size);
        int32_t version = rd_i32(p + 4);
        if (version != 1)
            return tk_err(e, TK_EUNSUPPORTED, "llama2.c checkpoint version %d is not supported (only 0 and 1: f32 weights)", version);
        for (int i = 0; i < 7; i++) h[i] = rd_i32(p + 8 + 4 * i);
        c->version = 1;
        c->shared_classifier = p[36] != 0;
        off = L2C_V1_HEADER;
    } else {
        if (size < 28) return tk_err(e, TK_EFORMAT, "file is too small to be a model (%zu bytes)", size);
        for (int i = 0; i < 7; i++) h[i] = rd_i32(p + 4 * i);
        c->version = 0;
        c->shared_classifier = h[5] > 0;
        if (h[5] < 0) h[5] = h[5] == INT32_MIN ? 0 : -h[5];
        off = 28;
    }
    c->dim = h[0], c->hidden_dim = h[1], c->n_layers = h[2], c->n_heads = h[3];
    c->n_kv_heads = h[4], c->vocab_size = h[5], c->seq_len = h[6];
    /* Plausibility bounds keep every product below 2^63. */
    if (c->dim <= 0 || c->dim > 65536 || c->hidden_dim <= 0 || c->hidden_dim > 1 << 20 ||
        c->n_layers <= 0 || c->n_layers > 1024 || c->n_heads <= 0 || c->n_heads > c->dim ||
        c->n_kv_heads <= 0 || c->n_kv_heads > c->n_heads || c->vocab_size <= 0 ||
        c->vocab_size > 1 << 22 || c->seq_len <= 0 || c->seq_len > 1 << 24)
        return tk_err(e, TK_EFORMAT,
                      "not a llama2.c checkpoint: implausible header dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d",
                      h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    if (c->dim % c->n_heads || c->n_heads % c->n_kv_heads || (c->dim / c->n_heads) % 2)
        return tk_err(e, TK_EFORMAT, "llama2.c checkpoint: dim %d, n_heads %d and n_kv_heads %d do not divide evenly",
                      c->dim, c->n_heads, c->n_kv_heads);

    int64_t dim = c->dim, hid = c->hidden_dim, head = dim / c->n_heads;
    int64_t kv_dim = head * c->n_kv_heads, vocab = c->vocab_size;
    c->tensors = calloc((size_t)c->n_layers * 9 + 4, sizeof *c->tensors);
    if (!c->tensors) return tk_err(e, TK_ENOMEM, "out of memory");
    cursor k = {c, p, size, off, e};
    int rc;
#define T(name, layer, r, cl) if ((rc = take(&k, name, layer, r, cl))) goto fail
#define TL(name, r, cl) if ((rc = take_layers(&k, name, r, cl))) goto fail
    if (c->version == 0) {
        T("token_embd.weight", -1, vocab, dim);
        TL("attn_norm.weight", 1, dim);
        TL("attn_q.weight", dim, dim);
        TL("attn_k.weight", kv_dim, dim);
        TL("attn_v.weight", kv_dim, dim);
        TL("attn_output.weight", dim, dim);
        TL("ffn_norm.weight", 1, dim);
        TL("ffn_gate.weight", hid, dim);
        TL("ffn_down.weight", dim, hid);
        TL("ffn_up.weight", hid, dim);
        T("output_norm.weight", -1, 1, dim);
        T("freq_cis_real", -2, c->seq_len, head / 2);
        T("freq_cis_imag", -2, c->seq_len, head / 2);
    } else {
        TL("attn_norm.weight", 1, dim);
        TL("ffn_norm.weight", 1, dim);
        T("output_norm.weight", -1, 1, dim);
        T("token_embd.weight", -1, vocab, dim);
        TL("attn_q.weight", dim, dim);
        TL("attn_k.weight", kv_dim, dim);
        TL("attn_v.weight", kv_dim, dim);
        TL("attn_output.weight", dim, dim);
        TL("ffn_gate.weight", hid, dim);
        TL("ffn_down.weight", dim, hid);
        TL("ffn_up.weight", hid, dim);
    }
    if (!c->shared_classifier) T("output.weight", -1, vocab, dim);
#undef T
#undef TL
    if (k.off != size)
        rc = tk_err(e, TK_EFORMAT, "llama2.c checkpoint has %llu bytes after the last tensor (expected end at %llu, file has %zu): wrong header or not a llama2.c file",
                    (unsigned long long)(size - k.off), (unsigned long long)k.off, size);
    else
        return TK_OK;
fail:
    tk_l2c_free(c);
    return rc;
}

void tk_l2c_free(tk_l2c *c) {
    free(c->tensors);
    c->tensors = NULL;
    c->n_tensors = 0;
}
