/* safetensors.h: Hugging Face safetensors reader.
 *
 * File layout:
 *   u64 N (little-endian) | N bytes of UTF-8 JSON | data section
 *   JSON: { "__metadata__": {str: str}            (optional, ignored)
 *           "NAME": { "dtype": "F32" | "F16" | "BF16" | ...,
 *                     "shape": [d0, d1, ...]      (outermost first, C order)
 *                     "data_offsets": [begin, end] (relative to the data section) },
 *           ... }
 *
 * Checked: N in [2, 100 MB] and within the file; the JSON an object of
 * objects; dtype one of F32, F16, BF16 (others: TK_EUNSUPPORTED naming
 * it); shape at most 4 integers >= 1; offsets integers with begin <= end <=
 * the data section; end - begin == elements x dtype size (no overflow); no
 * two tensors overlap; no name twice. Tensor data points into the map (it
 * may be unaligned: readers memcpy).
 *
 * A model folder holds model.safetensors, or shards named by the
 * "weight_map" of model.safetensors.index.json (plain file names in the
 * folder; every mapped name must be in the shard the index names). */
#ifndef TK_FORMATS_SAFETENSORS_H
#define TK_FORMATS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "tick.h"

#define TK_ST_MAX_DIMS 4
#define TK_ST_MAX_HEADER ((uint64_t)100 << 20) /* the format's own limit */

typedef struct tk_st_tensor {
    const char *name;        /* NUL-terminated, owned by the tk_st         */
    int type;                /* TK_F32, TK_F16 or TK_BF16                  */
    int n_dims;              /* 0 (a scalar) .. 4                          */
    int64_t shape[TK_ST_MAX_DIMS]; /* as in the file: shape[n_dims-1] is the row */
    uint64_t nbytes;
    const void *data;        /* into the map; may be unaligned             */
} tk_st_tensor;

typedef struct tk_st tk_st;

/* Parse one buffer (the caller keeps it alive; used by the fuzzer). */
int tk_st_parse(tk_st **out, const void *data, size_t size, tk_error *e);
/* One file, mapped read-only until tk_st_free. */
int tk_st_open(tk_st **out, const char *path, tk_error *e);
/* A folder: model.safetensors.index.json and its shards, else
 * model.safetensors. */
int tk_st_open_dir(tk_st **out, const char *dir, tk_error *e);
void tk_st_free(tk_st *s);

int tk_st_n_tensors(const tk_st *s);
const tk_st_tensor *tk_st_tensor_at(const tk_st *s, int i);
const tk_st_tensor *tk_st_find(const tk_st *s, const char *name);

#endif
