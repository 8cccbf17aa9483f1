/* cmd_synth.c: `tick synth SHAPE -o OUT.gguf [--type T] [--vocab V]
 * [--seed N] [-t N]`, or explicit dims instead of (or on top of) a SHAPE:
 * a random-weight Llama GGUF (src/formats/synth.h). */
#include "../src/formats/quantize.h"
#include "../src/formats/synth.h"
#include "../src/tensor/dtype.h"
#include "tick.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_VOCAB "../shared/models/vocab/ggml-vocab-llama-spm.gguf"
/* qwen2: its own vocabulary when present, else GPT-2's (byte-level BPE too) */
#define QWEN2_VOCAB "../shared/models/vocab/ggml-vocab-qwen2.gguf"
#define QWEN2_VOCAB_FALLBACK "../shared/models/vocab/ggml-vocab-gpt-2.gguf"

int cmd_synth(int argc, char **argv);

static int bad(const char *flag, const char *why) {
    fprintf(stderr, "tick synth: %s: %s\n", flag, why);
    return 2;
}

static int to_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cmd_synth(int argc, char **argv) {
    const char *shape_name = NULL, *out = NULL, *vocab = NULL, *type_name = "f32", *arch = NULL;
    uint64_t seed = 0;
    long threads = 1;
    /* explicit dims: -1 = not given */
    long dims[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    static const char *const dim_flag[8] = {"--embd", "--layers", "--heads", "--kv-heads", "--ffn", "--vocab-size", "--ctx", NULL};
    int tied = -1;
    float rope_base = 0.0f, eps = 0.0f;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--tied")) { tied = 1; continue; }
        if (!strcmp(a, "--untied")) { tied = 0; continue; }
        if (a[0] != '-' || !a[1]) {
            if (shape_name) return bad(a, "unexpected argument (the shape is already given)");
            shape_name = a;
            continue;
        }
        int d = -1;
        for (int k = 0; dim_flag[k]; k++)
            if (!strcmp(a, dim_flag[k])) d = k;
        int known = d >= 0 || !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--type") || !strcmp(a, "--vocab") ||
                    !strcmp(a, "--seed") || !strcmp(a, "-s") || !strcmp(a, "-t") || !strcmp(a, "--threads") ||
                    !strcmp(a, "--rope-base") || !strcmp(a, "--eps") || !strcmp(a, "--arch");
        if (!known) return bad(a, "unknown flag (see tick help)");
        if (i + 1 >= argc) return bad(a, "needs a value");
        const char *v = argv[++i];
        if (d >= 0) {
            if (to_int(v, 1, INT_MAX, &dims[d])) return bad(a, "expected a positive integer");
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out = v;
        } else if (!strcmp(a, "--type")) {
            type_name = v;
        } else if (!strcmp(a, "--vocab")) {
            vocab = v;
        } else if (!strcmp(a, "--arch")) {
            if (strcmp(v, "llama") && strcmp(v, "qwen2")) return bad(a, "expected llama or qwen2");
            arch = v;
        } else if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') return bad(a, "expected a non-negative integer");
            seed = s;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (to_int(v, 1, 1024, &threads)) return bad(a, "expected an integer in [1, 1024]");
        } else {
            char *end;
            errno = 0;
            float f = strtof(v, &end);
            if (errno || end == v || *end || !(f > 0.0f) || f > 1e12f) return bad(a, "expected a positive number");
            if (!strcmp(a, "--rope-base")) rope_base = f;
            else eps = f;
        }
    }
    if (!out) return bad("-o", "an output file is required (-o OUT.gguf)");
    int type = tk_quantize_type_from_name(type_name);
    if (type < 0) {
        fprintf(stderr, "tick synth: --type '%s': unknown type (supported: f32, f16, bf16, q8_0, q4_0)\n", type_name);
        return 2;
    }
    tk_error e = {0};
    tk_synth_opts o = {.type = type, .seed = seed, .n_threads = (int)threads};
    tk_synth_shape *s = &o.shape;
    if (shape_name) {
        int rc = tk_synth_shape_named(shape_name, s, &e);
        if (rc != TK_OK) {
            fprintf(stderr, "tick synth: %s\n", e.msg);
            return rc == TK_EUNSUPPORTED ? 1 : 2;
        }
    } else {
        for (int k = 0; k < 7; k++)
            if (dims[k] < 0 && k != 3 && k != 5) {
                fprintf(stderr, "tick synth: give a shape (%s) or explicit dims: %s is missing\n", tk_synth_shape_list(), dim_flag[k]);
                return 2;
            }
        snprintf(s->name, sizeof s->name, "custom");
        s->rope_base = 10000.0f, s->rms_eps = 1e-5f;
        s->n_vocab = 0; /* the vocabulary's size unless --vocab-size */
        s->tied = 0;
        if (dims[3] < 0) dims[3] = dims[2];
    }
    int *field[7] = {&s->n_embd, &s->n_layer, &s->n_head, &s->n_head_kv, &s->n_ff, &s->n_vocab, &s->n_ctx};
    for (int k = 0; k < 7; k++)
        if (dims[k] >= 0) *field[k] = (int)dims[k];
    if (shape_name && (dims[0] >= 0 || dims[1] >= 0 || dims[2] >= 0 || dims[3] >= 0 || dims[4] >= 0 || dims[5] >= 0 || dims[6] >= 0))
        snprintf(s->name, sizeof s->name, "%.20s-custom", shape_name);
    if (arch) snprintf(s->arch, sizeof s->arch, "%s", arch);
    if (tied >= 0) s->tied = tied;
    if (rope_base > 0.0f) s->rope_base = rope_base;
    if (eps > 0.0f) s->rms_eps = eps;
    if (tk_synth_shape_check(s, type, &e) != TK_OK) {
        fprintf(stderr, "tick synth: %s\n", e.msg);
        return 2;
    }
    const char *def = DEFAULT_VOCAB;
    int fallback = 0;
    if (!strcmp(s->arch, "qwen2")) {
        FILE *f = fopen(QWEN2_VOCAB, "rb");
        fallback = !f;
        def = f ? QWEN2_VOCAB : QWEN2_VOCAB_FALLBACK;
        if (f) fclose(f);
    }
    o.vocab_path = vocab ? vocab : def;
    if (!vocab) {
        FILE *f = fopen(def, "rb");
        if (!f) {
            fprintf(stderr, "tick synth: the default vocabulary %s is absent; pass --vocab VOCAB.gguf\n", def);
            return 1;
        }
        fclose(f);
        if (fallback)
            fprintf(stderr, "tick synth: note: %s is absent; using the GPT-2 vocabulary %s\n", QWEN2_VOCAB, def);
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tk_synth_stats st;
    if (tk_synth_write(&o, out, &st, &e) != TK_OK) {
        fprintf(stderr, "tick synth: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (st.vocab_padded)
        fprintf(stderr, "tick synth: note: %s has %d tokens; shape %s needs %d, so %d '<unused_ID>' tokens (type UNUSED) were added\n",
                o.vocab_path, st.n_vocab - st.vocab_padded, s->name, st.n_vocab, st.vocab_padded);
    printf("tick synth: wrote %s: %s %s (embd %d, layers %d, heads %d/%d, ffn %d, vocab %d, ctx %d, %s), %s, seed %" PRIu64
           ", %d tensors, %.1f M params, %" PRIu64 " bytes, %.2f s\n",
           out, s->arch[0] ? s->arch : "llama", s->name, s->n_embd, s->n_layer, s->n_head, s->n_head_kv, s->n_ff, st.n_vocab, s->n_ctx,
           s->tied ? "tied" : "untied", tk_dtype_name(type), seed, st.n_tensors, (double)st.n_params / 1e6, st.file_bytes, secs);
    return 0;
}
