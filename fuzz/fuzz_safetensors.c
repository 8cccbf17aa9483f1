/* fuzz_safetensors.c: libFuzzer entry point for the safetensors header
 * parser.
 *
 *   make fuzz && build-fuzz/fuzz_safetensors -max_len=4096 fuzz/corpus/safetensors
 *
 * Parses the input; when it is accepted, every tensor's facts are checked
 * against the rules of safetensors.h (a violation traps, so libFuzzer
 * saves the input) and its bytes are touched (so ASan sees any read outside
 * the input). Seeds: the headers test_hf.c builds, or the first bytes of
 * any small .safetensors file. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "formats/safetensors.h"
#include "tensor/dtype.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tk_st *s;
    tk_error e;
    if (tk_st_parse(&s, data, size, &e) != TK_OK) {
        CHECK(s == NULL && e.code < 0 && strlen(e.msg) < sizeof e.msg && !strchr(e.msg, '\n'));
        return 0;
    }
    const uint8_t *lo = data, *hi = data + size;
    for (int i = 0; i < tk_st_n_tensors(s); i++) {
        const tk_st_tensor *t = tk_st_tensor_at(s, i);
        CHECK(t && t->name && tk_st_find(s, t->name) == t);
        CHECK(t->type == TK_F32 || t->type == TK_F16 || t->type == TK_BF16);
        CHECK(t->n_dims >= 0 && t->n_dims <= TK_ST_MAX_DIMS);
        uint64_t nel = 1;
        for (int d = 0; d < t->n_dims; d++) {
            CHECK(t->shape[d] >= 1);
            CHECK(!__builtin_mul_overflow(nel, (uint64_t)t->shape[d], &nel));
        }
        CHECK(nel * (t->type == TK_F32 ? 4u : 2u) == t->nbytes && t->nbytes > 0);
        const uint8_t *p = t->data;
        CHECK(p >= lo + 8 && p <= hi && t->nbytes <= (uint64_t)(hi - p));
        sink += p[0] + p[t->nbytes - 1];
        for (int j = 0; j < i; j++) { /* no overlap */
            const tk_st_tensor *u = tk_st_tensor_at(s, j);
            const uint8_t *q = u->data;
            CHECK(p + t->nbytes <= q || q + u->nbytes <= p);
        }
    }
    CHECK(tk_st_tensor_at(s, tk_st_n_tensors(s)) == NULL);
    tk_st_free(s);
    return 0;
}
