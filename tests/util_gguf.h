/* util_gguf.h: build GGUF files in memory, for tests (test-only code).
 *
 *   tg_builder *b = tg_new(3);
 *   tg_kv_str(b, "general.architecture", "llama");
 *   tg_kv_u32(b, "llama.block_count", 1);
 *   int64_t ne[2] = {64, 512};
 *   tg_tensor(b, "token_embd.weight", TK_F32, 2, ne, NULL, 0); // zeros
 *   tg_write(b, path);   // or: unsigned char *p = tg_bytes(b, &size); ... free(p);
 *   tg_free(b);
 *
 * Layout as llama.cpp writes it: header, key-value pairs in the order they
 * were added, tensor infos, zero padding to the alignment, then each
 * tensor's data at the next multiple of the alignment (a file without
 * tensors ends right after the header, like llama.cpp's vocab files). The alignment is
 * general.alignment when it was added as a valid UINT32 (a power of two),
 * else 32, unless tg_set_layout_alignment says otherwise.
 *
 * Corrupt files: every field can be overridden as written (header counts,
 * a tensor's dims, type, offset), raw key-value records can hold any type
 * field and value bytes, and tg_buf builds nested or hostile values. The
 * builder never validates: what you ask for is what gets written.
 * Allocation failures abort (test code). */
#ifndef TK_TESTS_UTIL_GGUF_H
#define TK_TESTS_UTIL_GGUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_builder tg_builder;

/* A growable byte buffer with little-endian writers, for raw values. */
typedef struct tg_buf {
    unsigned char *p;
    size_t n, cap;
} tg_buf;
void tg_put(tg_buf *w, const void *p, size_t n);
void tg_put_u8(tg_buf *w, uint8_t v);
void tg_put_u32(tg_buf *w, uint32_t v);
void tg_put_u64(tg_buf *w, uint64_t v);
void tg_put_f32(tg_buf *w, float v);
void tg_put_f64(tg_buf *w, double v);
void tg_put_str(tg_buf *w, const char *s);               /* u64 length + bytes */
void tg_put_strn(tg_buf *w, const void *s, size_t n);
void tg_put_arr(tg_buf *w, uint32_t elem_type, uint64_t n); /* array header only */
void tg_buf_free(tg_buf *w);

tg_builder *tg_new(uint32_t version); /* any version number is written as given */
void tg_free(tg_builder *b);

/* Scalars (the TK_GGUF_* type named by the suffix). */
void tg_kv_u8(tg_builder *b, const char *key, uint8_t v);
void tg_kv_i8(tg_builder *b, const char *key, int8_t v);
void tg_kv_u16(tg_builder *b, const char *key, uint16_t v);
void tg_kv_i16(tg_builder *b, const char *key, int16_t v);
void tg_kv_u32(tg_builder *b, const char *key, uint32_t v);
void tg_kv_i32(tg_builder *b, const char *key, int32_t v);
void tg_kv_u64(tg_builder *b, const char *key, uint64_t v);
void tg_kv_i64(tg_builder *b, const char *key, int64_t v);
void tg_kv_f32(tg_builder *b, const char *key, float v);
void tg_kv_f64(tg_builder *b, const char *key, double v);
void tg_kv_bool(tg_builder *b, const char *key, int v);
void tg_kv_str(tg_builder *b, const char *key, const char *v);
void tg_kv_strn(tg_builder *b, const char *key, const void *v, size_t n);

/* Arrays. tg_kv_arr takes n elements of a fixed-size type in host layout
 * (uint8_t ... double; BOOL as uint8_t). */
void tg_kv_arr(tg_builder *b, const char *key, uint32_t elem_type, const void *elems, size_t n);
void tg_kv_arr_str(tg_builder *b, const char *key, const char *const *v, size_t n);
void tg_kv_arr_f32(tg_builder *b, const char *key, const float *v, size_t n);
void tg_kv_arr_i32(tg_builder *b, const char *key, const int32_t *v, size_t n);
void tg_kv_arr_u32(tg_builder *b, const char *key, const uint32_t *v, size_t n);

/* A raw record: key, the type field as given and n value bytes exactly as
 * they go in the file (nested arrays, unknown types, hostile counts).
 * tg_kv_raw_key also takes the key as bytes (empty, embedded NUL, ...). */
void tg_kv_raw(tg_builder *b, const char *key, uint32_t type, const void *val, size_t n);
void tg_kv_raw_key(tg_builder *b, const void *key, size_t key_len, uint32_t type, const void *val, size_t n);

/* A tensor (n_dims 1..4, ne[0] first). nbytes 0: the size its type and
 * shape need (tk_dtype_row_bytes). data NULL: zeros. Returns its index. */
int tg_tensor(tg_builder *b, const char *name, int ggml_type, int n_dims, const int64_t *ne,
              const void *data, size_t nbytes);

/* Overrides of what tensor i's info says; its data goes where it would
 * have gone anyway. */
void tg_tensor_set_offset(tg_builder *b, int i, uint64_t offset);
void tg_tensor_set_type(tg_builder *b, int i, uint32_t type);
void tg_tensor_set_dims(tg_builder *b, int i, uint32_t n_dims, const uint64_t *ne); /* n_dims <= 8 written */

/* Header counts as written (defaults: the real counts). */
void tg_set_n_tensors(tg_builder *b, uint64_t n);
void tg_set_n_kv(tg_builder *b, uint64_t n);
/* Alignment used to lay out the data (0: from general.alignment / 32). */
void tg_set_layout_alignment(tg_builder *b, uint64_t a);

/* The file (malloc'd; free it). *data_offset, if not NULL, gets the start
 * of the data section. */
unsigned char *tg_bytes(tg_builder *b, size_t *size);
unsigned char *tg_bytes_ex(tg_builder *b, size_t *size, size_t *data_offset);
/* Write the file; 0 on success. */
int tg_write(tg_builder *b, const char *path);

#endif
