/* gguf_write.h: a GGUF v3 writer (the layout is in gguf.h).
 *
 *   tk_gguf_writer *w = tk_gguf_writer_new();
 *   tk_gguf_writer_copy_kv(w, src, NULL, NULL, &e);      // every pair of src
 *   tk_gguf_writer_set_u32(w, "general.file_type", 7, &e);
 *   tk_gguf_writer_add_tensor(w, "norm.weight", TK_F32, 1, ne, ptr, &e);
 *   tk_gguf_writer_add_tensor_fn(w, "big.weight", TK_Q8_0, 2, ne, rows_fn, ctx, &e);
 *   tk_gguf_writer_write(w, "out.gguf", &e);
 *   tk_gguf_writer_free(w);
 *
 * Conventions are llama.cpp's (gguf.cpp), so files it writes are byte-for-
 * byte what llama.cpp would write for the same pairs and tensors:
 *   - key-value pairs in the order they were added; setting a key that is
 *     already there removes the old pair and appends the new one at the end
 *     (as gguf_set_val_* does);
 *   - tensor infos in the order the tensors were added, each offset relative
 *     to the data section, every tensor's data padded with zeros to the
 *     alignment (the last one too);
 *   - the header padded with zeros so the data section starts at a multiple
 *     of the alignment: general.alignment when set (a UINT32 power of two),
 *     else 32. A file without tensors ends right after the header.
 *
 * Nothing touches the disk before tk_gguf_writer_write, which streams the
 * file to OUT.tmp (one buffer of a few MiB for tensor data made by a
 * callback) and renames it to OUT only when every write, the flush and the
 * close succeeded; on failure OUT.tmp is removed and OUT is left as it was.
 * Errors name the file. Strings given to the writer are copied; tensor data
 * pointers are not (they must stay valid until the write). */
#ifndef TK_FORMATS_GGUF_WRITE_H
#define TK_FORMATS_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "formats/gguf.h"
#include "tick.h"

typedef struct tk_gguf_writer tk_gguf_writer;

/* NULL when out of memory. */
tk_gguf_writer *tk_gguf_writer_new(void);
void tk_gguf_writer_free(tk_gguf_writer *w);

/* ---- metadata --------------------------------------------------------------- */

/* Copy the pairs of src, in its order. keep (may be NULL: every pair)
 * decides per key; a key already in w is replaced as by a set. Values of any
 * type, nested arrays included, are copied exactly. */
int tk_gguf_writer_copy_kv(tk_gguf_writer *w, const tk_gguf *src,
                           int (*keep)(void *ctx, const char *key), void *ctx, tk_error *e);
/* A value view from a reader (tk_gguf_value_of / _elem) under key. */
int tk_gguf_writer_set_value(tk_gguf_writer *w, const char *key, const tk_gguf_value *v, tk_error *e);

int tk_gguf_writer_set_u32(tk_gguf_writer *w, const char *key, uint32_t v, tk_error *e);
int tk_gguf_writer_set_i32(tk_gguf_writer *w, const char *key, int32_t v, tk_error *e);
int tk_gguf_writer_set_f32(tk_gguf_writer *w, const char *key, float v, tk_error *e);
int tk_gguf_writer_set_bool(tk_gguf_writer *w, const char *key, int v, tk_error *e);
int tk_gguf_writer_set_str(tk_gguf_writer *w, const char *key, const char *v, tk_error *e);
int tk_gguf_writer_set_strn(tk_gguf_writer *w, const char *key, const char *v, uint64_t n, tk_error *e);
/* Arrays. _arr_str: NUL-terminated strings, or (lens non-NULL) lens[i]
 * bytes each. */
int tk_gguf_writer_set_arr_str(tk_gguf_writer *w, const char *key, const char *const *v,
                               const uint64_t *lens, uint64_t n, tk_error *e);
int tk_gguf_writer_set_arr_f32(tk_gguf_writer *w, const char *key, const float *v, uint64_t n, tk_error *e);
int tk_gguf_writer_set_arr_i32(tk_gguf_writer *w, const char *key, const int32_t *v, uint64_t n, tk_error *e);

/* Remove key; TK_OK whether or not it was there. */
int tk_gguf_writer_remove(tk_gguf_writer *w, const char *key);
int tk_gguf_writer_n_kv(const tk_gguf_writer *w);
/* Index of key, -1 when absent. */
int tk_gguf_writer_find(const tk_gguf_writer *w, const char *key);

/* ---- tensors ---------------------------------------------------------------- */

/* Fill dst with rows [row0, row0 + n_rows) of the tensor, each
 * tk_dtype_row_bytes(type, ne[0]) bytes, in order. A tensor's rows are asked
 * for in increasing order, a few MiB at a time. Return TK_OK or a negative
 * status with e filled (the write then fails with that message). */
typedef int (*tk_gguf_rows_fn)(void *ctx, int64_t row0, int64_t n_rows, void *dst, tk_error *e);

/* name: 1..63 bytes (llama.cpp's limit), unique. type: a known tk_dtype;
 * n_dims 1..4, ne[0] (the row length) a multiple of the type's block.
 * data: the tensor's bytes, read at write time. Returns the tensor's index. */
int tk_gguf_writer_add_tensor(tk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                              const void *data, tk_error *e);
int tk_gguf_writer_add_tensor_fn(tk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                                 tk_gguf_rows_fn fn, void *ctx, tk_error *e);
int tk_gguf_writer_n_tensors(const tk_gguf_writer *w);

/* ---- writing ---------------------------------------------------------------- */

/* Bytes the file will take (header, padding and data) with the current
 * pairs and tensors; 0 if general.alignment is invalid. */
uint64_t tk_gguf_writer_size(const tk_gguf_writer *w);

/* Write the file (see above). Can be called again (e.g. to another path). */
int tk_gguf_writer_write(tk_gguf_writer *w, const char *path, tk_error *e);

/* The same bytes into dst[0..cap) (cap >= tk_gguf_writer_size). */
int tk_gguf_writer_write_mem(tk_gguf_writer *w, void *dst, uint64_t cap, tk_error *e);

#endif
