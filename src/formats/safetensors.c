/* safetensors.c: the safetensors reader (layout and checks in
 * safetensors.h). One tk_st holds the tensors of one file or of every shard
 * of a folder; each shard stays mapped until tk_st_free. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "tensor/dtype.h"

#define MAX_TENSORS (1 << 20)
#define MAX_SHARDS 4096
#define MAX_INDEX_BYTES ((size_t)64 << 20)

struct tk_st {
    tk_st_tensor *t;
    char **names;         /* owned copies, one per tensor                 */
    int n, cap;
    tk_map *maps;         /* one per mapped shard                         */
    int n_maps;
};

void tk_st_free(tk_st *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->names[i]);
    for (int i = 0; i < s->n_maps; i++) tk_map_close(&s->maps[i]);
    free(s->t), free(s->names), free(s->maps);
    free(s);
}

int tk_st_n_tensors(const tk_st *s) { return s->n; }
const tk_st_tensor *tk_st_tensor_at(const tk_st *s, int i) { return i >= 0 && i < s->n ? &s->t[i] : NULL; }

const tk_st_tensor *tk_st_find(const tk_st *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name)) return &s->t[i];
    return NULL;
}

/* A JSON number that is an integer in [0, 2^53]. */
static int json_u64(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || floor(d) != d) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int dtype_of(const char *s, int *type, uint64_t *size) {
    if (!strcmp(s, "F32")) *type = TK_F32, *size = 4;
    else if (!strcmp(s, "F16")) *type = TK_F16, *size = 2;
    else if (!strcmp(s, "BF16")) *type = TK_BF16, *size = 2;
    else return 0;
    return 1;
}

typedef struct span { uint64_t begin, end; int i; } span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->i - y->i;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const tk_st_tensor *)a)->name, ((const tk_st_tensor *)b)->name);
}

/* Entry `j` (key = its name) of a header, data section data[0..n). */
static int parse_entry(tk_st *s, const cJSON *j, const unsigned char *data, uint64_t n, tk_error *e) {
    const char *name = j->string;
    if (!cJSON_IsObject(j)) return tk_err(e, TK_EFORMAT, "tensor '%.64s': entry is not an object", name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of))
        return tk_err(e, TK_EFORMAT, "tensor '%.64s': needs a string dtype and arrays shape and data_offsets", name);
    int type;
    uint64_t esize;
    if (!dtype_of(dt->valuestring, &type, &esize))
        return tk_err(e, TK_EUNSUPPORTED, "tensor '%.64s': dtype %.16s is not supported (F32, F16, BF16)", name,
                      dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd > TK_ST_MAX_DIMS)
        return tk_err(e, TK_EUNSUPPORTED, "tensor '%.64s': %d dimensions (at most %d)", name, nd, TK_ST_MAX_DIMS);
    tk_st_tensor t = {0};
    t.type = type, t.n_dims = nd;
    uint64_t nel = 1, d;
    int k = 0;
    for (const cJSON *x = sh->child; x; x = x->next, k++) {
        if (!json_u64(x, &d) || d == 0 || d > INT64_MAX)
            return tk_err(e, TK_EFORMAT, "tensor '%.64s': shape[%d] is not a positive integer", name, k);
        t.shape[k] = (int64_t)d;
        if (tk_mul_ovf(nel, d, &nel)) return tk_err(e, TK_EFORMAT, "tensor '%.64s': element count overflows", name);
    }
    uint64_t b, en;
    if (cJSON_GetArraySize(of) != 2 || !json_u64(of->child, &b) || !json_u64(of->child->next, &en))
        return tk_err(e, TK_EFORMAT, "tensor '%.64s': data_offsets is not two integers", name);
    if (b > en || en > n)
        return tk_err(e, TK_EFORMAT, "tensor '%.64s': data_offsets [%llu, %llu] outside the data section (%llu bytes)",
                      name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)n);
    if (tk_mul_ovf(nel, esize, &t.nbytes) || t.nbytes != en - b)
        return tk_err(e, TK_EFORMAT, "tensor '%.64s': data_offsets span %llu bytes, shape x %s needs %llu", name,
                      (unsigned long long)(en - b), dt->valuestring, (unsigned long long)nel * esize);
    t.data = data + b;
    if (s->n >= MAX_TENSORS) return tk_err(e, TK_EFORMAT, "more than %d tensors", MAX_TENSORS);
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 64;
        tk_st_tensor *q = realloc(s->t, (size_t)nc * sizeof *q);
        if (q) s->t = q;
        char **qn = q ? realloc(s->names, (size_t)nc * sizeof *qn) : NULL;
        if (!q || !qn) return tk_err(e, TK_ENOMEM, "out of memory");
        s->names = qn, s->cap = nc;
    }
    if (!(s->names[s->n] = strdup(name))) return tk_err(e, TK_ENOMEM, "out of memory");
    t.name = s->names[s->n];
    s->t[s->n++] = t;
    return TK_OK;
}

/* Append the tensors of one file image to s. */
static int parse_into(tk_st *s, const unsigned char *p, size_t size, tk_error *e) {
    if (size < 8) return tk_err(e, TK_EFORMAT, "not a safetensors file: %zu bytes, shorter than the 8-byte header length", size);
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = hl << 8 | p[k];
    if (hl < 2 || hl > TK_ST_MAX_HEADER || hl > size - 8)
        return tk_err(e, TK_EFORMAT, "safetensors header length %llu is out of range (file has %zu bytes, limit %llu)",
                      (unsigned long long)hl, size, (unsigned long long)TK_ST_MAX_HEADER);
    cJSON *root = cJSON_ParseWithLength((const char *)p + 8, (size_t)hl);
    if (!root) return tk_err(e, TK_EFORMAT, "safetensors header is not valid JSON");
    int rc = TK_OK, first = s->n;
    if (!cJSON_IsObject(root)) rc = tk_err(e, TK_EFORMAT, "safetensors header is not a JSON object");
    const unsigned char *data = p + 8 + hl;
    uint64_t n = size - 8 - hl;
    for (const cJSON *j = root->child; j && rc == TK_OK; j = j->next) {
        if (!j->string) rc = tk_err(e, TK_EFORMAT, "safetensors header entry without a name");
        else if (!strcmp(j->string, "__metadata__")) continue;
        else rc = parse_entry(s, j, data, n, e);
    }
    cJSON_Delete(root);
    if (rc) return rc;
    /* No two tensors of this file share a byte. */
    int m = s->n - first;
    span *sp = m ? malloc((size_t)m * sizeof *sp) : NULL;
    if (m && !sp) return tk_err(e, TK_ENOMEM, "out of memory");
    for (int i = 0; i < m; i++) {
        const tk_st_tensor *t = &s->t[first + i];
        sp[i].begin = (uint64_t)((const unsigned char *)t->data - data);
        sp[i].end = sp[i].begin + t->nbytes, sp[i].i = first + i;
    }
    qsort(sp, (size_t)m, sizeof *sp, cmp_span);
    for (int i = 1; i < m && rc == TK_OK; i++)
        if (sp[i].begin < sp[i - 1].end)
            rc = tk_err(e, TK_EFORMAT, "tensors '%.64s' and '%.64s' overlap in the data section", s->t[sp[i - 1].i].name,
                        s->t[sp[i].i].name);
    free(sp);
    return rc;
}

/* After every file: names are unique. */
static int check_names(tk_st *s, tk_error *e) {
    if (s->n < 2) return TK_OK;
    tk_st_tensor *c = malloc((size_t)s->n * sizeof *c);
    if (!c) return tk_err(e, TK_ENOMEM, "out of memory");
    memcpy(c, s->t, (size_t)s->n * sizeof *c);
    qsort(c, (size_t)s->n, sizeof *c, cmp_name);
    int rc = TK_OK;
    for (int i = 1; i < s->n && rc == TK_OK; i++)
        if (!strcmp(c[i].name, c[i - 1].name)) rc = tk_err(e, TK_EFORMAT, "tensor '%.64s' appears twice", c[i].name);
    free(c);
    return rc;
}

/* Names and dtypes come from the file: keep the message one printable line. */
static int one_line(tk_error *e, int rc) {
    if (e && rc)
        for (char *c = e->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return rc;
}

int tk_st_parse(tk_st **out, const void *data, size_t size, tk_error *e) {
    *out = NULL;
    tk_st *s = calloc(1, sizeof *s);
    if (!s) return tk_err(e, TK_ENOMEM, "out of memory");
    int rc = parse_into(s, data, size, e);
    if (rc == TK_OK) rc = check_names(s, e);
    if (rc) {
        tk_st_free(s);
        return one_line(e, rc);
    }
    *out = s;
    return TK_OK;
}

/* Map path and append its tensors. */
static int add_file(tk_st *s, const char *path, tk_error *e) {
    tk_map *q = realloc(s->maps, (size_t)(s->n_maps + 1) * sizeof *q);
    if (!q) return tk_err(e, TK_ENOMEM, "out of memory");
    s->maps = q;
    tk_map *m = &s->maps[s->n_maps];
    int rc = tk_map_open(m, path, e);
    if (rc) return rc;
    s->n_maps++;
    if ((rc = parse_into(s, m->data, m->size, e))) tk_err_prefix(e, path);
    return rc;
}

int tk_st_open(tk_st **out, const char *path, tk_error *e) {
    *out = NULL;
    tk_st *s = calloc(1, sizeof *s);
    if (!s) return tk_err(e, TK_ENOMEM, "out of memory");
    int rc = add_file(s, path, e);
    if (rc == TK_OK && (rc = check_names(s, e))) tk_err_prefix(e, path);
    if (rc) {
        tk_st_free(s);
        return one_line(e, rc);
    }
    *out = s;
    return TK_OK;
}

/* A shard name from the index: a plain file name, no path. */
static int plain_name(const char *f) {
    return *f && !strchr(f, '/') && strcmp(f, ".") && strcmp(f, "..") && strlen(f) < 256;
}

static int open_index(tk_st *s, const char *dir, const char *ipath, tk_error *e) {
    char *text;
    size_t len;
    int rc = tk_read_file(ipath, &text, &len, MAX_INDEX_BYTES, e);
    if (rc) return rc;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return tk_err(e, TK_EFORMAT, "%s: not valid JSON", ipath);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(wm) || !wm->child) rc = tk_err(e, TK_EFORMAT, "%s: no \"weight_map\" object", ipath);
    /* The distinct shard files, in order of first mention. */
    const char **files = NULL;
    int nf = 0;
    for (const cJSON *j = wm ? wm->child : NULL; j && rc == TK_OK; j = j->next) {
        if (!cJSON_IsString(j) || !j->string || !plain_name(j->valuestring)) {
            rc = tk_err(e, TK_EFORMAT, "%s: weight_map entry '%.64s' is not a file name in the folder", ipath,
                        j->string ? j->string : "");
            break;
        }
        int k = 0;
        while (k < nf && strcmp(files[k], j->valuestring)) k++;
        if (k < nf) continue;
        if (nf >= MAX_SHARDS) {
            rc = tk_err(e, TK_EFORMAT, "%s: more than %d shards", ipath, MAX_SHARDS);
            break;
        }
        const char **q = realloc(files, (size_t)(nf + 1) * sizeof *q);
        if (!q) {
            rc = tk_err(e, TK_ENOMEM, "out of memory");
            break;
        }
        files = q;
        files[nf++] = j->valuestring;
    }
    /* Map each shard; remember where its tensors start to check the map. */
    int *start = rc == TK_OK ? calloc((size_t)nf + 1, sizeof *start) : NULL;
    if (rc == TK_OK && !start) rc = tk_err(e, TK_ENOMEM, "out of memory");
    for (int k = 0; k < nf && rc == TK_OK; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        start[k] = s->n;
        rc = add_file(s, path, e);
        start[k + 1] = s->n;
    }
    for (const cJSON *j = wm ? wm->child : NULL; j && rc == TK_OK; j = j->next) {
        int k = 0;
        while (strcmp(files[k], j->valuestring)) k++;
        int found = 0;
        for (int i = start[k]; i < start[k + 1] && !found; i++) found = !strcmp(s->t[i].name, j->string);
        if (!found)
            rc = tk_err(e, TK_EFORMAT, "%s: tensor '%.64s' is not in %s as the index says", ipath, j->string, files[k]);
    }
    free(start);
    free(files);
    cJSON_Delete(root);
    return rc;
}

int tk_st_open_dir(tk_st **out, const char *dir, tk_error *e) {
    *out = NULL;
    tk_st *s = calloc(1, sizeof *s);
    if (!s) return tk_err(e, TK_ENOMEM, "out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    FILE *f = fopen(path, "rb");
    int rc;
    if (f) {
        fclose(f);
        rc = open_index(s, dir, path, e);
    } else {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        f = fopen(path, "rb");
        if (f) fclose(f);
        rc = f ? add_file(s, path, e)
               : tk_err(e, TK_EIO, "%s: no model.safetensors or model.safetensors.index.json", dir);
    }
    if (rc == TK_OK && (rc = check_names(s, e))) tk_err_prefix(e, dir);
    if (rc) {
        tk_st_free(s);
        return one_line(e, rc);
    }
    *out = s;
    return TK_OK;
}
