/* hf.c: a Hugging Face folder -> GGUF pairs and tensors (rules in hf.h).
 *
 * The keys and the tensor transformations follow llama.cpp's
 * convert_hf_to_gguf.py (GPT2Model, LlamaModel, Qwen2Model and gguf-py's
 * SpecialVocab); the pre-tokenizer, which llama.cpp recognises by hashing
 * the tokens of a test text, is recognised here by the regexes
 * tokenizer.json states, compared with those bpe.c runs for each name. */
#include "hf.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "formats/safetensors.h"
#include "tensor/dtype.h"
#include "tokenizer/vocab.h"

#define MAX_JSON ((size_t)256 << 20)
#define MAX_VOCAB (1 << 22)

enum { ARCH_GPT2, ARCH_LLAMA, ARCH_QWEN2 };

struct tk_hf {
    char dir[4096];
    int arch, n_layer, n_head, n_head_kv;
    tk_st *st;
    tk_gguf_writer *w;
    void **bufs;          /* converted tensors and strings we own */
    int n_bufs, cap_bufs;
};

static void *own(tk_hf *h, size_t n) {
    if (h->n_bufs == h->cap_bufs) {
        int nc = h->cap_bufs ? h->cap_bufs * 2 : 64;
        void **q = realloc(h->bufs, (size_t)nc * sizeof *q);
        if (!q) return NULL;
        h->bufs = q, h->cap_bufs = nc;
    }
    void *p = malloc(n ? n : 1);
    if (p) h->bufs[h->n_bufs++] = p;
    return p;
}

void tk_hf_free(tk_hf *h) {
    if (!h) return;
    for (int i = 0; i < h->n_bufs; i++) free(h->bufs[i]);
    free(h->bufs);
    tk_gguf_writer_free(h->w);
    tk_st_free(h->st);
    free(h);
}

tk_gguf_writer *tk_hf_writer(tk_hf *h) { return h->w; }

int tk_hf_is_folder(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (S_ISDIR(st.st_mode)) return 1;
    const char *b = strrchr(path, '/');
    return !strcmp(b ? b + 1 : path, "config.json");
}

/* ---- JSON helpers ----------------------------------------------------------- */

/* Parse dir/name; *out NULL (and TK_OK) when optional and absent. */
static int read_json(const tk_hf *h, const char *name, int optional, cJSON **out, tk_error *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", h->dir, name);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return optional ? TK_OK : tk_err(e, TK_EIO, "%s: cannot open", path);
    fclose(f);
    char *text;
    size_t len;
    int rc = tk_read_file(path, &text, &len, MAX_JSON, e);
    if (rc) return rc;
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!*out) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        free(text);
        return tk_err(e, TK_EFORMAT, "%s: not valid JSON (near byte %zu)", path, at);
    }
    free(text);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return tk_err(e, TK_EFORMAT, "%s: not a JSON object", path);
    }
    return TK_OK;
}

/* An integer field in [lo, hi]; def < lo means required. */
static int cfg_int(const cJSON *c, const char *key, long long def, long long lo, long long hi, long long *out,
                   tk_error *e) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!j || cJSON_IsNull(j)) {
        if (def < lo) return tk_err(e, TK_EFORMAT, "config.json: missing \"%s\"", key);
        *out = def;
        return TK_OK;
    }
    double d = j->valuedouble;
    if (!cJSON_IsNumber(j) || d != (double)(long long)d || d < (double)lo || d > (double)hi)
        return tk_err(e, TK_EFORMAT, "config.json: \"%s\" is not an integer in [%lld, %lld]", key, lo, hi);
    *out = (long long)d;
    return TK_OK;
}

static int cfg_float(const cJSON *c, const char *key, double def, double *out, tk_error *e) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!j || cJSON_IsNull(j)) {
        if (def < 0) return tk_err(e, TK_EFORMAT, "config.json: missing \"%s\"", key);
        *out = def;
        return TK_OK;
    }
    if (!cJSON_IsNumber(j) || !(j->valuedouble > 0) || j->valuedouble > 1e12)
        return tk_err(e, TK_EFORMAT, "config.json: \"%s\" is not a positive number", key);
    *out = j->valuedouble;
    return TK_OK;
}

/* ---- config.json -> hyper-parameters ----------------------------------------- */

static int set_hparams(tk_hf *h, const cJSON *c, tk_error *e) {
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    if (!cJSON_IsString(mt)) return tk_err(e, TK_EFORMAT, "config.json: missing \"model_type\"");
    const char *t = mt->valuestring, *arch;
    if (!strcmp(t, "gpt2")) h->arch = ARCH_GPT2, arch = "gpt2";
    else if (!strcmp(t, "llama") || !strcmp(t, "mistral")) h->arch = ARCH_LLAMA, arch = "llama";
    else if (!strcmp(t, "qwen2")) h->arch = ARCH_QWEN2, arch = "qwen2";
    else return tk_err(e, TK_EUNSUPPORTED, "config.json: unsupported model_type %.64s (supported: gpt2, llama, mistral, qwen2)", t);

    tk_gguf_writer *w = h->w;
    int rc;
    long long n_layer, n_ctx, n_embd, n_ff, n_head, n_kv;
    double eps, theta;
    char k[128];
#define KEY(s) (snprintf(k, sizeof k, "%s." s, arch), k)
#define TRY(x) if ((rc = (x))) return rc
    TRY(tk_gguf_writer_set_str(w, "general.architecture", arch, e));
    char real[PATH_MAX]; /* the folder's name, also for "." */
    const char *b = realpath(h->dir, real) ? real : h->dir, *sl = strrchr(b, '/');
    b = sl && sl[1] ? sl + 1 : b;
    TRY(tk_gguf_writer_set_str(w, "general.name", b, e));
    if (h->arch == ARCH_GPT2) {
        TRY(cfg_int(c, "n_layer", -1, 1, 4096, &n_layer, e));
        TRY(cfg_int(c, "n_ctx", 0, 0, 1 << 24, &n_ctx, e));
        if (!n_ctx) TRY(cfg_int(c, "n_positions", -1, 1, 1 << 24, &n_ctx, e));
        TRY(cfg_int(c, "n_embd", -1, 1, 1 << 20, &n_embd, e));
        TRY(cfg_int(c, "n_head", -1, 1, 1 << 14, &n_head, e));
        TRY(cfg_int(c, "n_inner", 4 * n_embd, 1, 1 << 22, &n_ff, e)); /* null: 4 x n_embd */
        TRY(cfg_float(c, "layer_norm_epsilon", 1e-5, &eps, e));
        n_kv = n_head;
    } else {
        TRY(cfg_int(c, "num_hidden_layers", -1, 1, 4096, &n_layer, e));
        TRY(cfg_int(c, "max_position_embeddings", 2048, 1, 1 << 24, &n_ctx, e));
        TRY(cfg_int(c, "hidden_size", -1, 1, 1 << 20, &n_embd, e));
        TRY(cfg_int(c, "intermediate_size", -1, 1, 1 << 22, &n_ff, e));
        TRY(cfg_int(c, "num_attention_heads", -1, 1, 1 << 14, &n_head, e));
        TRY(cfg_int(c, "num_key_value_heads", n_head, 1, n_head, &n_kv, e));
        TRY(cfg_float(c, "rms_norm_eps", 1e-6, &eps, e));
        TRY(cfg_float(c, "rope_theta", 10000.0, &theta, e));
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(c, "rope_scaling");
        if (rs && !cJSON_IsNull(rs)) {
            const cJSON *ty = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
            if (!cJSON_IsString(ty)) ty = cJSON_GetObjectItemCaseSensitive(rs, "type");
            return tk_err(e, TK_EUNSUPPORTED, "config.json: rope_scaling type %.32s is not supported yet",
                          cJSON_IsString(ty) ? ty->valuestring : "?");
        }
        if (n_head % n_kv) return tk_err(e, TK_EFORMAT, "config.json: num_attention_heads %lld is not a multiple of num_key_value_heads %lld", n_head, n_kv);
    }
    if (n_embd % n_head) return tk_err(e, TK_EFORMAT, "config.json: hidden size %lld is not a multiple of %lld heads", n_embd, n_head);
    h->n_layer = (int)n_layer, h->n_head = (int)n_head, h->n_head_kv = (int)n_kv;
    TRY(tk_gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)n_layer, e));
    TRY(tk_gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)n_ctx, e));
    TRY(tk_gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)n_embd, e));
    TRY(tk_gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)n_ff, e));
    TRY(tk_gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)n_head, e));
    if (h->arch == ARCH_GPT2) {
        TRY(tk_gguf_writer_set_f32(w, KEY("attention.layer_norm_epsilon"), (float)eps, e));
    } else {
        TRY(tk_gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)n_kv, e));
        TRY(tk_gguf_writer_set_f32(w, KEY("rope.freq_base"), (float)theta, e));
        TRY(tk_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), (float)eps, e));
        if (h->arch == ARCH_LLAMA)
            TRY(tk_gguf_writer_set_u32(w, KEY("rope.dimension_count"), (uint32_t)(n_embd / n_head), e));
    }
#undef KEY
    return TK_OK;
}

/* ---- tensors ------------------------------------------------------------------ */

enum { X_NONE, X_TRANSPOSE, X_PERMUTE_Q, X_PERMUTE_K };

/* A per-layer tensor: Hugging Face suffix after "h.N." / "layers.N.",
 * GGUF name after "blk.N.", transformation. NULL gguf: skipped. */
typedef struct { const char *hf, *gguf; int x; } tmap;

static const tmap GPT2_LAYER[] = {
    {"ln_1.weight", "attn_norm.weight", X_NONE},     {"ln_1.bias", "attn_norm.bias", X_NONE},
    {"attn.c_attn.weight", "attn_qkv.weight", X_TRANSPOSE}, {"attn.c_attn.bias", "attn_qkv.bias", X_NONE},
    {"attn.c_proj.weight", "attn_output.weight", X_TRANSPOSE}, {"attn.c_proj.bias", "attn_output.bias", X_NONE},
    {"ln_2.weight", "ffn_norm.weight", X_NONE},      {"ln_2.bias", "ffn_norm.bias", X_NONE},
    {"mlp.c_fc.weight", "ffn_up.weight", X_TRANSPOSE}, {"mlp.c_fc.bias", "ffn_up.bias", X_NONE},
    {"mlp.c_proj.weight", "ffn_down.weight", X_TRANSPOSE}, {"mlp.c_proj.bias", "ffn_down.bias", X_NONE},
    {"attn.bias", NULL, 0},                          {"attn.masked_bias", NULL, 0},
    {NULL, NULL, 0}};
static const tmap GPT2_TOP[] = {
    {"wte.weight", "token_embd.weight", X_NONE},     {"wpe.weight", "position_embd.weight", X_NONE},
    {"ln_f.weight", "output_norm.weight", X_NONE},   {"ln_f.bias", "output_norm.bias", X_NONE},
    {NULL, NULL, 0}};
static const tmap LLAMA_LAYER[] = {
    {"input_layernorm.weight", "attn_norm.weight", X_NONE},
    {"post_attention_layernorm.weight", "ffn_norm.weight", X_NONE},
    {"self_attn.q_proj.weight", "attn_q.weight", X_PERMUTE_Q}, {"self_attn.q_proj.bias", "attn_q.bias", X_PERMUTE_Q},
    {"self_attn.k_proj.weight", "attn_k.weight", X_PERMUTE_K}, {"self_attn.k_proj.bias", "attn_k.bias", X_PERMUTE_K},
    {"self_attn.v_proj.weight", "attn_v.weight", X_NONE},  {"self_attn.v_proj.bias", "attn_v.bias", X_NONE},
    {"self_attn.o_proj.weight", "attn_output.weight", X_NONE},
    {"mlp.gate_proj.weight", "ffn_gate.weight", X_NONE},   {"mlp.up_proj.weight", "ffn_up.weight", X_NONE},
    {"mlp.down_proj.weight", "ffn_down.weight", X_NONE},
    {"self_attn.rotary_emb.inv_freq", NULL, 0},
    {NULL, NULL, 0}};
static const tmap LLAMA_TOP[] = {
    {"embed_tokens.weight", "token_embd.weight", X_NONE}, {"norm.weight", "output_norm.weight", X_NONE},
    {NULL, NULL, 0}};

static const tmap *lookup(const tmap *m, const char *s) {
    for (; m->hf; m++)
        if (!strcmp(m->hf, s)) return m;
    return NULL;
}

/* GGUF name of a Hugging Face tensor: 1 mapped, 0 skipped, -1 unknown. */
static int map_name(const tk_hf *h, const char *name, char *out, size_t cap, int *x) {
    const char *pre = h->arch == ARCH_GPT2 ? "transformer." : "model.";
    const char *layer = h->arch == ARCH_GPT2 ? "h." : "layers.";
    const tmap *top = h->arch == ARCH_GPT2 ? GPT2_TOP : LLAMA_TOP;
    const tmap *lay = h->arch == ARCH_GPT2 ? GPT2_LAYER : LLAMA_LAYER;
    *x = X_NONE;
    if (!strcmp(name, "lm_head.weight")) return snprintf(out, cap, "output.weight"), 1;
    size_t pl = strlen(pre);
    if (!strncmp(name, pre, pl)) name += pl;
    else if (h->arch != ARCH_GPT2) return -1; /* GPT-2 checkpoints also come without "transformer." */
    const tmap *m = lookup(top, name);
    if (m) return snprintf(out, cap, "%s", m->gguf), 1;
    size_t ll = strlen(layer);
    if (strncmp(name, layer, ll) || name[ll] < '0' || name[ll] > '9') return -1;
    char *end;
    long l = strtol(name + ll, &end, 10);
    if (*end != '.' || l >= h->n_layer || end - (name + ll) > 5) return -1;
    if (!(m = lookup(lay, end + 1))) return -1;
    if (!m->gguf) return 0;
    *x = m->x;
    snprintf(out, cap, "blk.%ld.%s", l, m->gguf);
    return 1;
}

/* n values of type (F32, F16, BF16) at src, possibly unaligned, to F32. */
static void to_f32(const void *src, int type, float *dst, int64_t n) {
    if (type == TK_F32) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    /* F16 / BF16: copy the halves to the end of dst (aligned), convert in place from the front */
    uint16_t *tmp = (uint16_t *)(dst + n) - n;
    memmove(tmp, src, (size_t)n * 2);
    for (int64_t i = 0; i < n; i++) {
        uint16_t u = tmp[i];
        /* dst[i] overlaps tmp only at indexes already read (dst grows 4 bytes per 2) */
        if (type == TK_BF16) {
            uint32_t v = (uint32_t)u << 16;
            memcpy(&dst[i], &v, 4);
        } else {
            float f;
            tk_dtype_get(TK_F16)->to_float(&u, &f, 1);
            dst[i] = f;
        }
    }
}

static int add_tensor(tk_hf *h, const tk_st_tensor *t, tk_error *e) {
    char name[96];
    int x;
    int r = map_name(h, t->name, name, sizeof name, &x);
    if (r < 0) return tk_err(e, TK_EUNSUPPORTED, "tensor '%.80s' has no GGUF name for this model_type", t->name);
    if (r == 0) return TK_OK;
    if (h->arch == ARCH_QWEN2 && (x == X_PERMUTE_Q || x == X_PERMUTE_K)) x = X_NONE; /* NEOX RoPE: as stored */
    int nd = t->n_dims ? t->n_dims : 1;
    int64_t ne[4] = {1, 1, 1, 1};
    for (int d = 0; d < t->n_dims; d++) ne[d] = t->shape[t->n_dims - 1 - d]; /* GGUF: row length first */
    uint64_t nel = t->nbytes / (t->type == TK_F32 ? 4 : 2);
    size_t es = t->type == TK_F32 ? 4 : 2;
    const void *data = t->data;
    int type = t->type;
    if (nd == 1 && type != TK_F32) { /* norms and biases in F32, as llama.cpp writes them */
        float *f = own(h, (size_t)nel * 4);
        if (!f) return tk_err(e, TK_ENOMEM, "out of memory");
        to_f32(t->data, type, f, (int64_t)nel);
        data = f, type = TK_F32, es = 4;
    }
    if (x == X_TRANSPOSE) {
        if (nd != 2) return tk_err(e, TK_EFORMAT, "tensor '%.80s': expected 2 dimensions, has %d", t->name, nd);
        /* HF [in, out] (out fastest) -> rows of in: dst[o][i] = src[i][o] */
        int64_t in = t->shape[0], outn = t->shape[1];
        unsigned char *d = own(h, (size_t)nel * es);
        if (!d) return tk_err(e, TK_ENOMEM, "out of memory");
        const unsigned char *s = data;
        for (int64_t i = 0; i < in; i++)
            for (int64_t o = 0; o < outn; o++) memcpy(d + ((size_t)o * in + i) * es, s + ((size_t)i * outn + o) * es, es);
        data = d, ne[0] = in, ne[1] = outn;
    } else if (x == X_PERMUTE_Q || x == X_PERMUTE_K) {
        /* rows (dim 0) per head: HF keeps each head's rotate-half halves
         * [x0..x_{d/2-1} | y0..], GGUF llama the pairs (x0 y0 x1 y1 ..):
         * dst row hd*h + 2k + j = src row hd*h + j*hd/2 + k. */
        int heads = x == X_PERMUTE_Q ? h->n_head : h->n_head_kv;
        int64_t rows = t->n_dims ? t->shape[0] : 1;
        if (rows % (2 * heads))
            return tk_err(e, TK_EFORMAT, "tensor '%.80s': %lld rows do not split into %d heads of pairs", t->name, (long long)rows, heads);
        size_t rb = (size_t)(nel / (uint64_t)rows) * es;
        int64_t hd = rows / heads;
        unsigned char *d = own(h, (size_t)nel * es);
        if (!d) return tk_err(e, TK_ENOMEM, "out of memory");
        const unsigned char *s = data;
        for (int hh = 0; hh < heads; hh++)
            for (int64_t k = 0; k < hd / 2; k++)
                for (int j = 0; j < 2; j++)
                    memcpy(d + (size_t)(hh * hd + 2 * k + j) * rb, s + (size_t)(hh * hd + j * hd / 2 + k) * rb, rb);
        data = d;
    }
    int rc = tk_gguf_writer_add_tensor(h->w, name, type, nd, ne, data, e);
    if (rc < 0) return rc;
    if (!strcmp(name, "token_embd.weight")) { /* the file type, as llama.cpp's LLAMA_FTYPE */
        int ft = type == TK_F16 ? 1 : type == TK_BF16 ? 32 : 0;
        if ((rc = tk_gguf_writer_set_u32(h->w, "general.file_type", (uint32_t)ft, e))) return rc;
    }
    return TK_OK;
}

/* ---- tokenizer.json -> tokenizer.ggml.* --------------------------------------- */

/* The regexes a pre_tokenizer node stands for, appended to re[*n]. */
static int pre_regexes(const cJSON *p, const char **re, int *n, int depth, tk_error *e) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(p, "type");
    if (!cJSON_IsString(ty) || depth > 4) return tk_err(e, TK_EFORMAT, "tokenizer.json: pre_tokenizer without a type");
    const char *t = ty->valuestring;
    if (*n >= 8) return tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: too many pre-tokenizer steps");
    if (!strcmp(t, "Sequence")) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        if (!cJSON_IsArray(l)) return tk_err(e, TK_EFORMAT, "tokenizer.json: Sequence pre_tokenizer without a list");
        int rc;
        for (const cJSON *c = l->child; c; c = c->next)
            if ((rc = pre_regexes(c, re, n, depth + 1, e))) return rc;
        return TK_OK;
    }
    if (!strcmp(t, "ByteLevel")) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(p, "use_regex");
        if (!cJSON_IsFalse(u)) re[(*n)++] = TK_BPE_RE_GPT2;
        return TK_OK;
    }
    if (!strcmp(t, "Digits")) {
        re[(*n)++] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "individual_digits")) ? "\\p{N}" : "\\p{N}+";
        return TK_OK;
    }
    if (!strcmp(t, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const cJSON *rx = pat ? cJSON_GetObjectItemCaseSensitive(pat, "Regex") : NULL;
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(p, "behavior");
        if (!cJSON_IsString(rx) || !cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "invert")))
            return tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: only Split pre-tokenizers with an Isolated regex are supported");
        /* GPT-2's regex as Hugging Face writes it ends in "|\s+" (see bpe.c) */
        static const char gpt2_hf[] = TK_BPE_RE_GPT2 "|\\s+";
        re[(*n)++] = !strcmp(rx->valuestring, gpt2_hf) ? TK_BPE_RE_GPT2 : rx->valuestring;
        return TK_OK;
    }
    return tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: pre_tokenizer %.32s is not supported", t);
}

/* A token's text: a string, or an object with "content". */
static const char *tok_text(const cJSON *j) {
    if (cJSON_IsString(j)) return j->valuestring;
    const cJSON *c = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "content") : NULL;
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* llama.cpp's does_token_look_special (the forms that apply to BPE vocabs). */
static int looks_special(const char *s) {
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") || !strcmp(s, "[@BOS@]")) return 1;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) return 1;
    if (n >= 8 && !strncmp(s, "<\xef\xbd\x9c", 4) && !strcmp(s + n - 4, "\xef\xbd\x9c>")) return 1;
    if (n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>') return 1;
    return 0;
}

static int id_of(char **tok, int n, const char *s) {
    for (int i = n - 1; i >= 0; i--) /* added tokens sit at the end */
        if (tok[i] && !strcmp(tok[i], s)) return i;
    return -1;
}

/* An id from config.json / generation_config.json: an integer or a list. */
static int json_id(const cJSON *c, const char *key, int n) {
    const cJSON *j = c ? cJSON_GetObjectItemCaseSensitive(c, key) : NULL;
    if (cJSON_IsArray(j)) j = j->child;
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble >= n || j->valuedouble != (int)j->valuedouble) return -1;
    return (int)j->valuedouble;
}

/* Special ids, add_bos/add_eos and the chat template, as gguf-py's
 * SpecialVocab finds them: tokenizer_config.json's texts looked up among the
 * tokens, then the ids in config.json and generation_config.json. */
static int set_specials(tk_hf *h, const cJSON *cfg, const cJSON *tc, const cJSON *gc, char **tok, int n, tk_error *e) {
    tk_gguf_writer *w = h->w;
    int rc = TK_OK;
    static const char *const kinds[] = {"bos", "eos", "unk", "pad"};
    static const char *const keys[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                       "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"};
    for (int s = 0; s < 4; s++) {
        char kk[32];
        snprintf(kk, sizeof kk, "%s_token", kinds[s]);
        const char *txt = tc ? tok_text(cJSON_GetObjectItemCaseSensitive(tc, kk)) : NULL;
        int id = txt ? id_of(tok, n, txt) : -1;
        snprintf(kk, sizeof kk, "%s_token_id", kinds[s]);
        if (id < 0) id = json_id(cfg, kk, n);
        if (id < 0) id = json_id(gc, kk, n);
        if (id >= 0 && (rc = tk_gguf_writer_set_u32(w, keys[s], (uint32_t)id, e))) return rc;
    }
    const cJSON *ab = tc ? cJSON_GetObjectItemCaseSensitive(tc, "add_bos_token") : NULL;
    if (cJSON_IsBool(ab) && (rc = tk_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", cJSON_IsTrue(ab), e))) return rc;
    const cJSON *ae = tc ? cJSON_GetObjectItemCaseSensitive(tc, "add_eos_token") : NULL;
    if (cJSON_IsBool(ae) && (rc = tk_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", cJSON_IsTrue(ae), e))) return rc;
    const cJSON *ct = tc ? cJSON_GetObjectItemCaseSensitive(tc, "chat_template") : NULL;
    if (cJSON_IsArray(ct)) { /* [{name, template}]: the "default" one */
        const cJSON *c = ct->child;
        for (; c; c = c->next) {
            const cJSON *nmj = cJSON_GetObjectItemCaseSensitive(c, "name");
            if (cJSON_IsString(nmj) && !strcmp(nmj->valuestring, "default")) break;
        }
        ct = c ? cJSON_GetObjectItemCaseSensitive(c, "template") : NULL;
    }
    if (cJSON_IsString(ct) && (rc = tk_gguf_writer_set_str(w, "tokenizer.chat_template", ct->valuestring, e))) return rc;
    return TK_OK;
}

/* Ids without a token: "[PADn]", UNUSED (llama.cpp's converters), the
 * texts in one block. */
static int pad_tokens(tk_hf *h, char **tok, int32_t *types, int n, tk_error *e) {
    int k = 0;
    for (int i = 0; i < n; i++) k += !tok[i];
    char *blk = k ? own(h, (size_t)k * 16) : NULL; /* "[PAD4194303]" fits */
    if (k && !blk) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        if (!tok[i]) {
            snprintf(blk, 16, "[PAD%d]", i);
            tok[i] = blk, types[i] = TK_TOKEN_UNUSED;
            blk += 16;
        }
    return TK_OK;
}

/* ---- tokenizer.model (SentencePiece) -> tokenizer.ggml.* ---------------------
 *
 * A protobuf ModelProto: field 1 (repeated) SentencePiece { 1: piece string,
 * 2: score float, 3: type enum (NORMAL 1, UNKNOWN 2, CONTROL 3,
 * USER_DEFINED 4, UNUSED 5, BYTE 6) }, field 3 NormalizerSpec
 * { 3: add_dummy_prefix bool }. Every other field is skipped by its wire
 * type. The token list is what llama.cpp's _create_vocab_sentencepiece
 * makes of it: pieces by id with their scores and types (USER_DEFINED
 * pieces count as NORMAL there), "[PADn]" UNUSED up to vocab_size, then
 * added_tokens.json and tokenizer_config.json's added_tokens_decoder
 * (score -1000, CONTROL when special or special-looking, else
 * USER_DEFINED with "▁" written as a space). */

typedef struct pb { const unsigned char *p, *end; } pb;

static int pb_varint(pb *b, uint64_t *v) {
    *v = 0;
    for (int sh = 0; sh < 64 && b->p < b->end; sh += 7) {
        unsigned char c = *b->p++;
        *v |= (uint64_t)(c & 127) << sh;
        if (!(c & 128)) return 1;
    }
    return 0;
}

/* The next field: number, wire type, and for type 2 its bytes; 0 at the
 * end, -1 when malformed. */
static int pb_next(pb *b, int *field, int *wt, uint64_t *val, pb *sub) {
    uint64_t key;
    if (b->p >= b->end) return 0;
    if (!pb_varint(b, &key) || key >> 3 == 0 || key >> 3 > INT32_MAX) return -1;
    *field = (int)(key >> 3), *wt = (int)(key & 7);
    switch (*wt) {
    case 0: return pb_varint(b, val) ? 1 : -1;
    case 1:
    case 5: {
        size_t k = *wt == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < k) return -1;
        *val = 0;
        for (size_t i = 0; i < k; i++) *val |= (uint64_t)b->p[i] << (8 * i);
        b->p += k;
        return 1;
    }
    case 2:
        if (!pb_varint(b, val) || *val > (uint64_t)(b->end - b->p)) return -1;
        sub->p = b->p, sub->end = b->p + *val;
        b->p += *val;
        return 1;
    default: return -1;
    }
}

static int set_tokenizer_spm(tk_hf *h, const cJSON *cfg, const cJSON *tc, const cJSON *gc, const char *path, tk_error *e) {
    tk_map m;
    int rc = tk_map_open(&m, path, e);
    if (rc) return rc;
    char **tok = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    int n_pieces = 0, add_prefix = 1, n = 0, f, wt, r;
    uint64_t val;
    pb b = {m.data, m.data + m.size}, sub, ps;
    /* pass 1: count the pieces, check the framing */
    while ((r = pb_next(&b, &f, &wt, &val, &sub)) > 0) {
        if (f == 1 && wt == 2) n_pieces++;
        if (f == 3 && wt == 2)
            while ((r = pb_next(&sub, &f, &wt, &val, &ps)) > 0)
                if (f == 3 && wt == 0) add_prefix = val != 0;
        if (r < 0) break;
    }
    long long vs;
    if (r < 0) rc = tk_err(e, TK_EFORMAT, "%s: not a SentencePiece model (bad protobuf framing)", path);
    else if (n_pieces < 1 || n_pieces > MAX_VOCAB) rc = tk_err(e, TK_EFORMAT, "%s: %d pieces", path, n_pieces);
    else rc = cfg_int(cfg, "vocab_size", n_pieces, 1, MAX_VOCAB, &vs, e);
    if (rc) goto done;
    n = (int)vs;
    tok = calloc((size_t)n, sizeof *tok), scores = calloc((size_t)n, sizeof *scores), types = calloc((size_t)n, sizeof *types);
    if (!tok || !scores || !types) {
        rc = tk_err(e, TK_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) scores[i] = -10000.0f, types[i] = TK_TOKEN_UNUSED;
    /* pass 2: the pieces, by id */
    b = (pb){m.data, m.data + m.size};
    int id = 0;
    while (pb_next(&b, &f, &wt, &val, &sub) > 0 && id < n) {
        if (f != 1 || wt != 2) continue;
        const unsigned char *txt = NULL;
        uint64_t tl = 0;
        float sc = 0;
        int ty = 1;
        while ((r = pb_next(&sub, &f, &wt, &val, &ps)) > 0) {
            if (f == 1 && wt == 2) txt = ps.p, tl = (uint64_t)(ps.end - ps.p);
            else if (f == 2 && wt == 5) memcpy(&sc, &(uint32_t){(uint32_t)val}, 4);
            else if (f == 3 && wt == 0) ty = (int)(val > 6 ? 1 : val);
        }
        if (r < 0 || !txt || memchr(txt, 0, (size_t)tl)) {
            rc = tk_err(e, TK_EFORMAT, "%s: piece %d is malformed", path, id);
            goto done;
        }
        if (!(tok[id] = own(h, (size_t)tl + 1))) {
            rc = tk_err(e, TK_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(tok[id], txt, (size_t)tl);
        tok[id][tl] = 0;
        scores[id] = sc;
        types[id] = ty == 2 || ty == 3 || ty == 5 || ty == 6 ? ty : TK_TOKEN_NORMAL;
        id++;
    }
    if ((rc = pad_tokens(h, tok, types, n, e))) goto done;
    /* added_tokens.json, then tokenizer_config.json's added_tokens_decoder */
    cJSON *at = NULL;
    if ((rc = read_json(h, "added_tokens.json", 1, &at, e))) goto done;
    for (const cJSON *j = at ? at->child : NULL; j; j = j->next)
        if (cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble < n && j->string) {
            int k = (int)j->valuedouble;
            tok[k] = j->string, scores[k] = -1000.0f, types[k] = TK_TOKEN_USER_DEFINED;
        }
    const cJSON *dec = tc ? cJSON_GetObjectItemCaseSensitive(tc, "added_tokens_decoder") : NULL;
    for (const cJSON *j = cJSON_IsObject(dec) ? dec->child : NULL; j; j = j->next) {
        char *end;
        long k = strtol(j->string, &end, 10);
        const char *c = tok_text(j);
        if (*end || k < 0 || k >= n || !c) continue;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "special")) || looks_special(c)) {
            tok[k] = (char *)c, types[k] = TK_TOKEN_CONTROL;
        } else { /* "▁" -> " " */
            char *t = own(h, strlen(c) + 1);
            if (!t) {
                rc = tk_err(e, TK_ENOMEM, "out of memory");
                break;
            }
            size_t o = 0;
            for (const char *q = c; *q;)
                if (!strncmp(q, "\xe2\x96\x81", 3)) t[o++] = ' ', q += 3;
                else t[o++] = *q++;
            t[o] = 0;
            tok[k] = t, types[k] = TK_TOKEN_USER_DEFINED;
        }
        scores[k] = -1000.0f;
    }
    tk_gguf_writer *w = h->w;
    if (!rc) rc = tk_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", e);
    if (!rc) rc = tk_gguf_writer_set_str(w, "tokenizer.ggml.pre", "default", e);
    if (!rc) rc = tk_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, NULL, (uint64_t)n, e);
    if (!rc) rc = tk_gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", scores, (uint64_t)n, e);
    if (!rc) rc = tk_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", types, (uint64_t)n, e);
    if (!rc && !add_prefix) rc = tk_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", 0, e);
    if (!rc) rc = set_specials(h, cfg, tc, gc, tok, n, e);
    cJSON_Delete(at);
done:
    free(tok), free(scores), free(types);
    tk_map_close(&m);
    return rc;
}

static int set_tokenizer(tk_hf *h, const cJSON *cfg, tk_error *e) {
    cJSON *tj = NULL, *tc = NULL, *gc = NULL;
    int rc = read_json(h, "tokenizer_config.json", 1, &tc, e);
    if (!rc) rc = read_json(h, "generation_config.json", 1, &gc, e);
    /* Llama-family folders: tokenizer.model (SentencePiece) when there is
     * one, as llama.cpp's converter prefers it; else tokenizer.json. */
    char spm_path[4200];
    snprintf(spm_path, sizeof spm_path, "%s/tokenizer.model", h->dir);
    struct stat sst;
    if (!rc && h->arch == ARCH_LLAMA && stat(spm_path, &sst) == 0) {
        rc = set_tokenizer_spm(h, cfg, tc, gc, spm_path, e);
        cJSON_Delete(tc), cJSON_Delete(gc);
        return rc;
    }
    if (!rc) rc = read_json(h, "tokenizer.json", 0, &tj, e);
    char **tok = NULL, **merges = NULL;
    int32_t *types = NULL;
    int n = 0, nm = 0;
    const cJSON *model = tj ? cJSON_GetObjectItemCaseSensitive(tj, "model") : NULL;
    const cJSON *mty = model ? cJSON_GetObjectItemCaseSensitive(model, "type") : NULL;
    const cJSON *vocab = model ? cJSON_GetObjectItemCaseSensitive(model, "vocab") : NULL;
    const cJSON *mer = model ? cJSON_GetObjectItemCaseSensitive(model, "merges") : NULL;
    const cJSON *added = tj ? cJSON_GetObjectItemCaseSensitive(tj, "added_tokens") : NULL;
    if (rc) goto done;
    if (!cJSON_IsObject(model) || !cJSON_IsString(mty)) {
        rc = tk_err(e, TK_EFORMAT, "tokenizer.json: no \"model\" with a \"type\"");
        goto done;
    }
    if (strcmp(mty->valuestring, "BPE")) {
        rc = tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: model type %.32s is not supported (only BPE)", mty->valuestring);
        goto done;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"))) {
        rc = tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: SentencePiece-style BPE (byte_fallback) is read from "
                                        "tokenizer.model, which this folder lacks");
        goto done;
    }
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(mer) || (added && !cJSON_IsArray(added))) {
        rc = tk_err(e, TK_EFORMAT, "tokenizer.json: model.vocab must be an object, model.merges and added_tokens arrays");
        goto done;
    }
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(tj, "normalizer");
    if (norm && !cJSON_IsNull(norm)) {
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(norm, "type");
        /* NFC: ignored, as llama.cpp does (its BPE tokenizer applies none) */
        if (!cJSON_IsString(nt) || strcmp(nt->valuestring, "NFC")) {
            rc = tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: normalizer %.32s is not supported",
                        cJSON_IsString(nt) ? nt->valuestring : "?");
            goto done;
        }
    }

    /* The vocabulary size: config.json's (the embedding's rows), else the
     * largest id + 1; ids without a token become "[PADn]" (UNUSED). */
    long long vs = 0;
    for (int pass = 0; pass < 2; pass++)
        for (const cJSON *j = pass ? (added ? added->child : NULL) : vocab->child; j; j = j->next) {
            const cJSON *idj = pass ? cJSON_GetObjectItemCaseSensitive(j, "id") : j;
            double d = cJSON_IsNumber(idj) ? idj->valuedouble : -1;
            if (d < 0 || d >= MAX_VOCAB || d != (int)d || (pass && !tok_text(j)) || (!pass && !j->string)) {
                rc = tk_err(e, TK_EFORMAT, "tokenizer.json: %s entry with a bad id or text", pass ? "added_tokens" : "vocab");
                goto done;
            }
            if ((long long)d + 1 > vs) vs = (long long)d + 1;
        }
    long long cvs;
    if ((rc = cfg_int(cfg, "vocab_size", vs, 1, MAX_VOCAB, &cvs, e))) goto done;
    if (cvs < vs) {
        rc = tk_err(e, TK_EFORMAT, "tokenizer.json has token id %lld, beyond config.json vocab_size %lld", vs - 1, cvs);
        goto done;
    }
    n = (int)cvs;
    tok = calloc((size_t)n, sizeof *tok);
    types = calloc((size_t)n, sizeof *types);
    if (!tok || !types) {
        rc = tk_err(e, TK_ENOMEM, "out of memory");
        goto done;
    }
    for (const cJSON *j = vocab->child; j; j = j->next) tok[(int)j->valuedouble] = j->string, types[(int)j->valuedouble] = TK_TOKEN_NORMAL;
    for (const cJSON *j = added ? added->child : NULL; j; j = j->next) {
        int id = (int)cJSON_GetObjectItemCaseSensitive(j, "id")->valuedouble;
        tok[id] = (char *)tok_text(j);
        types[id] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "special")) || looks_special(tok[id])
                        ? TK_TOKEN_CONTROL : TK_TOKEN_USER_DEFINED;
    }
    if ((rc = pad_tokens(h, tok, types, n, e))) goto done;

    /* merges: "a b", or ["a", "b"] (tokenizers >= 0.20), written "a b" */
    nm = cJSON_GetArraySize(mer);
    if (!(merges = calloc((size_t)nm + 1, sizeof *merges))) {
        rc = tk_err(e, TK_ENOMEM, "out of memory");
        goto done;
    }
    int k = 0;
    for (const cJSON *j = mer->child; j; j = j->next, k++) {
        if (cJSON_IsString(j)) {
            merges[k] = j->valuestring;
            continue;
        }
        const cJSON *a = cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2 ? j->child : NULL;
        if (!a || !cJSON_IsString(a) || !cJSON_IsString(a->next)) {
            rc = tk_err(e, TK_EFORMAT, "tokenizer.json: merge %d is neither \"a b\" nor [\"a\", \"b\"]", k);
            goto done;
        }
        size_t la = strlen(a->valuestring), lb = strlen(a->next->valuestring);
        if (!(merges[k] = own(h, la + lb + 2))) {
            rc = tk_err(e, TK_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(merges[k], a->valuestring, la);
        merges[k][la] = ' ';
        memcpy(merges[k] + la + 1, a->next->valuestring, lb + 1);
    }

    /* the pre-tokenizer, by its regexes */
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(tj, "pre_tokenizer");
    const char *re[8];
    int nre = 0;
    if (!pt || cJSON_IsNull(pt)) {
        rc = tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: no pre_tokenizer (a byte-level BPE needs one)");
        goto done;
    }
    if ((rc = pre_regexes(pt, re, &nre, 0, e))) goto done;
    const char *pre = tk_bpe_pre_by_regexes(re, nre);
    if (!pre) {
        rc = tk_err(e, TK_EUNSUPPORTED, "tokenizer.json: the pre-tokenizer's regexes match none tick knows (%d regexes, the first: %.60s)",
                    nre, nre ? re[0] : "none");
        goto done;
    }

    tk_gguf_writer *w = h->w;
    if ((rc = tk_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", e)) ||
        (rc = tk_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre, e)) ||
        (rc = tk_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, NULL, (uint64_t)n, e)) ||
        (rc = tk_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", types, (uint64_t)n, e)) ||
        (rc = tk_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges, NULL, (uint64_t)nm, e)))
        goto done;

    rc = set_specials(h, cfg, tc, gc, tok, n, e);
done:
    free(tok), free(types), free(merges);
    cJSON_Delete(tj), cJSON_Delete(tc), cJSON_Delete(gc);
    return rc;
}

/* ---- the folder ------------------------------------------------------------------ */

int tk_hf_open(tk_hf **out, const char *path, int vocab_only, tk_error *e) {
    *out = NULL;
    tk_hf *h = calloc(1, sizeof *h);
    if (!h || !(h->w = tk_gguf_writer_new())) {
        free(h);
        return tk_err(e, TK_ENOMEM, "out of memory");
    }
    size_t pl = strlen(path);
    if (pl >= sizeof h->dir - 16) {
        tk_hf_free(h);
        return tk_err(e, TK_EINVAL, "path is too long");
    }
    memcpy(h->dir, path, pl + 1);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) { /* .../config.json */
        char *sl = strrchr(h->dir, '/');
        if (sl) *sl = 0;
        else snprintf(h->dir, sizeof h->dir, ".");
    }
    while (pl > 1 && h->dir[strlen(h->dir) - 1] == '/') h->dir[strlen(h->dir) - 1] = 0, pl--;
    cJSON *cfg = NULL;
    int rc = read_json(h, "config.json", 0, &cfg, e);
    if (!rc) rc = set_hparams(h, cfg, e);
    if (!rc) rc = set_tokenizer(h, cfg, e);
    if (!rc && !vocab_only) {
        if (!(rc = tk_st_open_dir(&h->st, h->dir, e)))
            for (int i = 0; i < tk_st_n_tensors(h->st) && !rc; i++) rc = add_tensor(h, tk_st_tensor_at(h->st, i), e);
        if (!rc && !tk_st_find(h->st, h->arch == ARCH_GPT2 ? "transformer.wte.weight" : "model.embed_tokens.weight") &&
            !tk_st_find(h->st, "wte.weight"))
            rc = tk_err(e, TK_EFORMAT, "%s: no token embedding among the tensors", h->dir);
    }
    cJSON_Delete(cfg);
    if (rc) {
        tk_hf_free(h);
        for (char *c = e ? e->msg : NULL; c && *c; c++) /* JSON strings in the message: one printable line */
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
        return rc;
    }
    *out = h;
    return TK_OK;
}

int tk_hf_image(const char *path, int vocab_only, void **data, size_t *size, tk_error *e) {
    *data = NULL, *size = 0;
    tk_hf *h;
    int rc = tk_hf_open(&h, path, vocab_only, e);
    if (rc) return rc;
    uint64_t n = tk_gguf_writer_size(h->w);
    void *p = n && n <= SIZE_MAX ? mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                 : MAP_FAILED;
    if (p == MAP_FAILED) rc = tk_err(e, TK_ENOMEM, "out of memory for a %llu-byte GGUF image", (unsigned long long)n);
    else if ((rc = tk_gguf_writer_write_mem(h->w, p, n, e))) munmap(p, (size_t)n);
    else {
        mprotect(p, (size_t)n, PROT_READ);
        *data = p, *size = (size_t)n;
    }
    tk_hf_free(h);
    return rc;
}

void tk_hf_image_free(void *data, size_t size) {
    if (data) munmap(data, size);
}
