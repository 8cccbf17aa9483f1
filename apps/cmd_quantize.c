/* cmd_quantize.c: `tick quantize IN.gguf OUT.gguf TYPE [-t N]`: the rules
 * are in src/formats/quantize.h; this prints a line per tensor and a total. */
#include "../src/formats/quantize.h"
#include "../src/tensor/dtype.h"
#include "tick.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cmd_quantize(int argc, char **argv);

static void progress(void *ctx, const char *name, int from, int to, uint64_t from_bytes, uint64_t to_bytes) {
    (void)ctx;
    printf("  %-32s %-5s -> %-5s %12" PRIu64 " -> %12" PRIu64 " bytes\n", name, tk_dtype_name(from), tk_dtype_name(to),
           from_bytes, to_bytes);
    fflush(stdout);
}

int cmd_quantize(int argc, char **argv) {
    const char *pos[3] = {0};
    int npos = 0, threads = 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            char *end;
            errno = 0;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || errno || end == argv[i + 1] || *end || v < 1 || v > 1024) {
                fprintf(stderr, "tick quantize: %s: expected an integer in [1, 1024]\n", a);
                return 2;
            }
            threads = (int)v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tick quantize: %s: unknown flag (usage: tick quantize IN.gguf OUT.gguf TYPE [-t N])\n", a);
            return 2;
        } else if (npos == 3) {
            fprintf(stderr, "tick quantize: '%s': unexpected argument (usage: tick quantize IN.gguf OUT.gguf TYPE)\n", a);
            return 2;
        } else {
            pos[npos++] = a;
        }
    }
    if (npos < 3) {
        fprintf(stderr, "tick quantize: usage: tick quantize IN.gguf OUT.gguf TYPE (TYPE: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)\n");
        return 2;
    }
    int type = tk_quantize_type_from_name(pos[2]);
    if (type < 0) {
        fprintf(stderr, "tick quantize: unknown type '%s' (supported: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)\n", pos[2]);
        return 2;
    }
    tk_quantize_opts o = {.type = type, .n_threads = threads, .progress = progress, .ctx = NULL};
    tk_quantize_stats st;
    tk_error e = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (tk_quantize_file(pos[0], pos[1], &o, &st, &e) != TK_OK) {
        fflush(stdout);
        fprintf(stderr, "tick quantize: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("total: %d tensors (%d converted to %s), %.2f MiB -> %.2f MiB of tensor data; wrote %s: %" PRIu64 " bytes, %.2f s\n",
           st.n_tensors, st.n_converted, tk_dtype_name(type), (double)st.bytes_in / 1048576.0,
           (double)st.bytes_out / 1048576.0, pos[1], st.file_bytes, s);
    return 0;
}
