/* cmd_convert.c: `tick convert HF_DIR -o OUT.gguf [--type TYPE] [-t N]`:
 * a Hugging Face folder written as the GGUF file llama.cpp's
 * convert_hf_to_gguf.py would make (src/formats/hf.h). Without --type the
 * matrices keep the folder's dtype (F32, F16 or BF16), norms and biases are
 * F32; with --type they go through the quantizer (src/formats/quantize.h). */
#include "../src/formats/gguf.h"
#include "../src/formats/hf.h"
#include "../src/formats/quantize.h"
#include "../src/tensor/dtype.h"
#include "tick.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_convert(int argc, char **argv);

static const char *USAGE_CONVERT = "usage: tick convert HF_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0] [-t N]";

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *outp = NULL, *tname = NULL;
    int threads = 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!has) goto missing;
            outp = argv[++i];
        } else if (!strcmp(a, "--type")) {
            if (!has) goto missing;
            tname = argv[++i];
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            char *end;
            errno = 0;
            long v = has ? strtol(argv[i + 1], &end, 10) : 0;
            if (!has || errno || end == argv[i + 1] || *end || v < 1 || v > 1024) {
                fprintf(stderr, "tick convert: %s: expected an integer in [1, 1024]\n", a);
                return 2;
            }
            threads = (int)v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tick convert: %s: unknown flag (%s)\n", a, USAGE_CONVERT);
            return 2;
        } else if (in) {
            fprintf(stderr, "tick convert: '%s': unexpected argument (%s)\n", a, USAGE_CONVERT);
            return 2;
        } else {
            in = a;
        }
        continue;
    missing:
        fprintf(stderr, "tick convert: %s needs a value (%s)\n", a, USAGE_CONVERT);
        return 2;
    }
    if (!in || !outp) {
        fprintf(stderr, "tick convert: %s\n", USAGE_CONVERT);
        return 2;
    }
    int type = -1;
    if (tname && (type = tk_quantize_type_from_name(tname)) < 0) {
        fprintf(stderr, "tick convert: unknown type '%s' (supported: f32, f16, bf16, q8_0, q4_0)\n", tname);
        return 2;
    }
    if (!tk_hf_is_folder(in)) {
        fprintf(stderr, "tick convert: %s: not a Hugging Face model folder (a directory with config.json)\n", in);
        return 1;
    }
    tk_error e = {0};
    if (type < 0) { /* the folder's dtypes: straight from the maps to the file */
        tk_hf *h;
        if (tk_hf_open(&h, in, 0, &e) != TK_OK) {
            fprintf(stderr, "tick convert: %s\n", e.msg);
            return 1;
        }
        tk_gguf_writer *w = tk_hf_writer(h);
        int rc = tk_gguf_writer_write(w, outp, &e);
        if (rc == TK_OK)
            printf("wrote %s: %d tensors, %d metadata keys, %" PRIu64 " bytes\n", outp, tk_gguf_writer_n_tensors(w),
                   tk_gguf_writer_n_kv(w), tk_gguf_writer_size(w));
        else
            fprintf(stderr, "tick convert: %s\n", e.msg);
        tk_hf_free(h);
        return rc == TK_OK ? 0 : 1;
    }
    /* --type: the image in memory, then the quantizer */
    void *img;
    size_t size;
    tk_gguf *g = NULL;
    if (tk_hf_image(in, 0, &img, &size, &e) != TK_OK || tk_gguf_parse(&g, img, size, &e) != TK_OK) {
        fprintf(stderr, "tick convert: %s\n", e.msg);
        if (g == NULL && size) tk_hf_image_free(img, size);
        return 1;
    }
    tk_quantize_opts o = {.type = type, .n_threads = threads, .progress = NULL, .ctx = NULL};
    tk_quantize_stats st;
    int rc = tk_quantize_gguf(g, in, outp, &o, &st, &e);
    if (rc == TK_OK)
        printf("wrote %s: %d tensors (%d converted to %s), %" PRIu64 " bytes\n", outp, st.n_tensors, st.n_converted,
               tk_dtype_name(type), st.file_bytes);
    else
        fprintf(stderr, "tick convert: %s\n", e.msg);
    tk_gguf_free(g);
    tk_hf_image_free(img, size);
    return rc == TK_OK ? 0 : 1;
}
