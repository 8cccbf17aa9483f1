/* gguf.h: GGUF reader (versions 2 and 3).
 *
 * File layout (little-endian):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x { string key | u32 value_type | value }
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to general.alignment (default 32)
 *   tensor data; each tensor at data_start + offset (offset % alignment == 0)
 *   string = u64 length + bytes (no NUL)
 *   array  = u32 elem_type + u64 count + count x elem (may nest)
 *
 * The file is mapped read-only; strings and tensor data point into the map.
 * Every count, length, offset, dimension and size is checked against the
 * file size and for overflow before use. */
#ifndef TK_FORMATS_GGUF_H
#define TK_FORMATS_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "tick.h"

enum {
    TK_GGUF_UINT8 = 0, TK_GGUF_INT8 = 1, TK_GGUF_UINT16 = 2, TK_GGUF_INT16 = 3,
    TK_GGUF_UINT32 = 4, TK_GGUF_INT32 = 5, TK_GGUF_FLOAT32 = 6, TK_GGUF_BOOL = 7,
    TK_GGUF_STRING = 8, TK_GGUF_ARRAY = 9, TK_GGUF_UINT64 = 10, TK_GGUF_INT64 = 11,
    TK_GGUF_FLOAT64 = 12,
};

typedef struct tk_gguf tk_gguf;

typedef struct tk_gguf_tensor {
    const char *name;      /* NUL-terminated copy owned by the tk_gguf      */
    int type;              /* ggml type id (tk_dtype)                       */
    int n_dims;            /* 1..4                                          */
    int64_t ne[4];         /* ne[0] is the row length; unused dims are 1    */
    uint64_t offset;       /* relative to the data section                  */
    uint64_t nbytes;
    const void *data;      /* points into the map                           */
} tk_gguf_tensor;

/* Parse a file (mapped read-only, kept mapped until tk_gguf_free). */
int tk_gguf_open(tk_gguf **out, const char *path, tk_error *e);
/* Parse a buffer the caller keeps alive (used by the fuzzer and tests). */
int tk_gguf_parse(tk_gguf **out, const void *data, size_t size, tk_error *e);
void tk_gguf_free(tk_gguf *g);

uint32_t tk_gguf_version(const tk_gguf *g);
uint64_t tk_gguf_alignment(const tk_gguf *g);
uint64_t tk_gguf_data_offset(const tk_gguf *g);

/* Metadata: keys by index or by name (-1 when absent). */
int tk_gguf_n_kv(const tk_gguf *g);
int tk_gguf_find(const tk_gguf *g, const char *key);
const char *tk_gguf_key(const tk_gguf *g, int i);          /* NUL-terminated */
int tk_gguf_kv_type(const tk_gguf *g, int i);              /* TK_GGUF_*      */

/* Name of a value type ("UINT32", "STRING", ...; "?" when unknown). */
const char *tk_gguf_type_name(int type);

/* Scalar getters by key: return TK_OK, or a negative status (TK_EFORMAT)
 * with e naming the key (absent, wrong type, out of range). Any integer type
 * converts to the requested one when the value fits; f32 and f64 convert to
 * each other (f64 -> f32 only within float range); bool is only a bool. */
int tk_gguf_get_i64(const tk_gguf *g, const char *key, int64_t *out, tk_error *e);
int tk_gguf_get_u32(const tk_gguf *g, const char *key, uint32_t *out, tk_error *e);
int tk_gguf_get_f32(const tk_gguf *g, const char *key, float *out, tk_error *e);
int tk_gguf_get_bool(const tk_gguf *g, const char *key, int *out, tk_error *e);
/* String value: pointer into the map (not NUL-terminated) and its length. */
int tk_gguf_get_str(const tk_gguf *g, const char *key, const char **s, uint64_t *len, tk_error *e);

/* Arrays. tk_gguf_get_arr gives the element type and count. Elements:
 * strings by index, numbers by index (any numeric elem type as double or
 * int64), nested arrays by index as a (type, count) pair through _sub. */
int tk_gguf_get_arr(const tk_gguf *g, const char *key, int *elem_type, uint64_t *n, tk_error *e);
int tk_gguf_arr_str(const tk_gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len);
int tk_gguf_arr_f64(const tk_gguf *g, const char *key, uint64_t i, double *out);
int tk_gguf_arr_i64(const tk_gguf *g, const char *key, uint64_t i, int64_t *out);
/* Element i of an array of arrays: its element type and count. */
int tk_gguf_arr_sub(const tk_gguf *g, const char *key, uint64_t i, int *elem_type, uint64_t *n);
/* The element accessors return TK_OK or TK_EINVAL (absent key, wrong type,
 * index out of range, value does not fit). _f64 takes any integer, float or
 * bool element; _i64 takes integer and bool elements (not floats). Arrays
 * of strings and of arrays at the top level are indexed: O(1) per element. */

/* A read-only view of any value, for nested arrays and tools. Views come
 * only from tk_gguf_value_of / tk_gguf_value_elem and live as long as g. */
typedef struct tk_gguf_value {
    int type;                /* TK_GGUF_*                                     */
    int elem_type;           /* arrays: the element type                      */
    uint64_t n;              /* arrays: element count; strings: byte length   */
    const unsigned char *p;  /* scalars: the value (LE); strings: the bytes;  */
                             /* arrays: the first element                     */
    uint64_t size;           /* bytes from p to the end of the value          */
} tk_gguf_value;
int tk_gguf_value_of(const tk_gguf *g, int i, tk_gguf_value *v);
/* Element i of an array view: O(1) for fixed-size elements, O(i) for
 * strings and arrays. */
int tk_gguf_value_elem(const tk_gguf_value *arr, uint64_t i, tk_gguf_value *out);
/* Scalars of a view, with the same rules as tk_gguf_arr_i64 / _f64. */
int tk_gguf_value_i64(const tk_gguf_value *v, int64_t *out);
int tk_gguf_value_f64(const tk_gguf_value *v, double *out);

/* Render value i as short text (numbers, strings quoted, arrays as
 * "[type x n]" with the first few elements); for `tick inspect`. Always
 * NUL-terminates when cap > 0; returns the length written, or TK_EINVAL
 * for a bad index. */
int tk_gguf_render(const tk_gguf *g, int i, char *buf, size_t cap);

/* Tensors. */
int tk_gguf_n_tensors(const tk_gguf *g);
const tk_gguf_tensor *tk_gguf_tensor_at(const tk_gguf *g, int i);
const tk_gguf_tensor *tk_gguf_find_tensor(const tk_gguf *g, const char *name);

#endif
