/* tick.c: the `tick` command: subcommand dispatch, tokenize and inspect. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_quantize(int argc, char **argv); /* cmd_quantize.c */
int cmd_synth(int argc, char **argv);    /* cmd_synth.c    */
int cmd_convert(int argc, char **argv);  /* cmd_convert.c  */
int cmd_serve(int argc, char **argv);    /* serve.c        */
int cmd_chat(int argc, char **argv);     /* cmd_chat.c     */

static const char *USAGE =
    "usage: tick COMMAND [flags]\n"
    "\n"
    "commands:\n"
    "  run       -m MODEL [-z TOKENIZER] [-p TEXT | -f FILE] [-n N] [-c N] [-t N]\n"
    "            [-s SEED] [--temp T] [--top-k K] [--top-p P] [--min-p P]\n"
    "            [--repeat-penalty R] [--repeat-last-n N] [--no-bos]\n"
    "            [--clock] [--trace FILE]\n"
    "            generate text, streamed to stdout; a summary line on stderr;\n"
    "            --clock: a line per tick on stderr (stages, cycles, GB/s, %bw);\n"
    "            --trace: a Chrome trace (Perfetto) of every op on every thread\n"
    "  clock     the flags of run, plus [--json] [--tick N]: where the time of every tick\n"
    "            went, per stage, op kind and layer, against the machine's limits;\n"
    "            --tick N: tick N in detail (tick 0: the prompt, run as one burst)\n"
    "  bench     -m MODEL [-p N] [-n N] [-t N[,N...]] [-r REPS] [--seqs S[,S...]] [--json] [--clock]\n"
    "            prompt processing (ppN) and generation (tgN) tok/s, median and range\n"
    "            of REPS runs (default -p 128 -n 64 -r 5) at each thread count,\n"
    "            GB/s against the read bandwidth\n"
    "  chat      -m MODEL [--system TEXT] [--template FILE] [--verbose-prompt] [-n N] [-c N]\n"
    "            [-t N] [sampling flags of run]\n"
    "            a conversation on stdin/stdout with the model's chat template (or the\n"
    "            Jinja FILE); a line is a message; /exit or end of input quits;\n"
    "            -n: at most N tokens per reply (default: to the end of the turn);\n"
    "            --verbose-prompt: the rendered prompt and a summary line on stderr\n"
    "  tokenize  -m MODEL [-z TOKENIZER] [-p TEXT | -f FILE] [--pieces] [--no-bos]\n"
    "            print the token ids (with --pieces: one 'id piece' per line)\n"
    "  inspect   MODEL [-z TOKENIZER]\n"
    "            architecture, hyper-parameters, vocabulary, metadata, tensors\n"
    "  roofline  [--json] [--threads N] [--remeasure] [--seconds S]\n"
    "            this machine's read GB/s and peak F32 / int8 per thread count (cached)\n"
    "  report    the flags of run, plus -o FILE: the run of `clock` written as one\n"
    "            self-contained HTML page (time per tick, op kinds, roofline, tables)\n"
    "  graph     -m MODEL [-z TOKENIZER] [--format mermaid|dot]\n"
    "            the computation graph one tick runs (layer 0 in full, FLOPs, bytes)\n"
    "  quantize  IN.gguf OUT.gguf TYPE [-t N]\n"
    "            convert every weight matrix to TYPE (f32, f16, bf16, q8_0, q4_0,\n"
    "            q4_k, q6_k), norms stay F32; like llama-quantize --pure\n"
    "  convert   HF_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0] [-t N]\n"
    "            a Hugging Face folder (config.json, safetensors, tokenizer.json) as the\n"
    "            GGUF llama.cpp's converter writes; MODEL can also be such a folder\n"
    "  synth     SHAPE -o OUT.gguf [--type TYPE] [--vocab VOCAB.gguf] [--seed N] [-t N]\n"
    "            a random-weight Llama GGUF at a real shape (tinyllama-1.1b,\n"
    "            stories110m, stories15m, llama2-7b, llama3-8b, qwen2-0.5b), or explicit dims:\n"
    "            --embd N --layers N --heads N [--kv-heads N] --ffn N --ctx N\n"
    "            [--vocab-size N] [--tied] [--rope-base F] [--eps F] [--arch llama|qwen2]\n"
    "  serve     -m MODEL [--host ADDR] [--port N] [--slots N] [--api-key KEY] [-c N] [-t N]\n"
    "            an OpenAI-compatible HTTP server with continuous batching and a chat\n"
    "            page at /; see tick serve --help and README.md for every flag\n"
    "  help      this text\n"
    "\n"
    "every command that loads a model takes --isa scalar|avx2|avx512|avx512vnni|\n"
    "avx512bf16|amx to force a kernel level (default: the best this CPU has).\n"
    "\n"
    "defaults: -n 128, -c = the model's context capped at 4096, --temp 0.8,\n"
    "--top-k 40, --top-p 0.95, --min-p 0.05, --repeat-penalty 1 (off),\n"
    "--repeat-last-n 64, -t = the physical cores, seed from the clock;\n"
    "--temp 0 is greedy.\n";

int cmd_tokenize(int argc, char **argv) {
    cli_opts o;
    int rc = cli_parse(argc, argv, 2, F_MODEL | F_PROMPT | F_PIECES, "tokenize", &o);
    if (rc) return rc;
    size_t len;
    char *text = cli_prompt(&o, &len);
    if (!text) return 1;
    o.vocab_only = 1; /* vocab-only GGUF files and any architecture tokenize */
    tk_model *m = cli_load(&o);
    if (!m) { free(text); return 1; }
    tk_error e = {0};
    int flags = (o.no_bos || !tk_model_info_of(m)->add_bos) ? 0 : TK_TOKENIZE_ADD_BOS;
    int n = tk_tokenize(m, text, len, flags, NULL, 0, &e);
    int32_t *ids = n > 0 ? malloc((size_t)n * sizeof *ids) : NULL;
    int status = 0;
    if (n < 0) {
        fprintf(stderr, "tick tokenize: %s\n", e.msg);
        status = 1;
    } else if (n > 0 && !ids) {
        fprintf(stderr, "tick tokenize: out of memory\n");
        status = 1;
    } else {
        tk_tokenize(m, text, len, flags, ids, n, &e);
        for (int i = 0; i < n; i++) {
            if (o.pieces) {
                int tl;
                const char *t = tk_token_text(m, ids[i], &tl);
                printf("%6d '%.*s'\n", ids[i], tl, t ? t : "");
            } else {
                printf(i ? " %d" : "%d", ids[i]);
            }
        }
        if (!o.pieces) printf("\n");
    }
    free(ids);
    free(text);
    tk_model_free(m);
    return status;
}

static void shape(char *buf, size_t cap, const tk_tensor_info *t) {
    int o = 0;
    for (int d = 0; d < t->n_dims && o < (int)cap; d++)
        o += snprintf(buf + o, cap - (size_t)o, d ? " x %lld" : "%lld", (long long)t->ne[d]);
}

/* Token id with its text: 2 '<s>', or -1. */
static void print_special(const tk_model *m, const char *name, int id) {
    int tl = 0;
    const char *t = id >= 0 ? tk_token_text(m, id, &tl) : NULL;
    if (t) printf(" %s %d '%.*s'", name, id, tl > 40 ? 40 : tl, t);
    else printf(" %s -", name);
}

/* The tokenizer's kind, special tokens and chat template (the first line
 * and the length, or all of it with --chat-template). */
static void print_tokenizer(const tk_model *m, int full_template) {
    tk_vocab_info v;
    tk_model_vocab_info(m, &v);
    printf("tokenizer    %s%s%s\n", !strcmp(v.type, "spm") ? "spm (SentencePiece)" : !strcmp(v.type, "wpm") ? "wpm (WordPiece)" : "bpe (byte-level)",
           v.pre ? ", pre-tokenizer " : "", v.pre ? v.pre : "");
    printf("special     ");
    print_special(m, "bos", v.bos), print_special(m, "eos", v.eos), print_special(m, "eot", v.eot);
    print_special(m, "pad", v.pad), print_special(m, "unk", v.unk);
    printf("; add_bos %s\n", v.add_bos ? "yes" : "no");
    printf("added tokens %d control, %d user-defined\n", v.n_control, v.n_user_defined);
    const char *t = v.chat_template;
    if (!t) printf("chat template: none\n");
    else if (full_template) printf("chat template (%zu bytes):\n%s\n", strlen(t), t);
    else {
        size_t line = strcspn(t, "\n");
        printf("chat template (%zu bytes; all of it: --chat-template): %.*s%s\n", strlen(t), (int)(line > 100 ? 100 : line), t,
               line > 100 || t[line] ? " ..." : "");
    }
}

int cmd_inspect(int argc, char **argv) {
    cli_opts o;
    int full_template = 0;
    for (int i = 2; i < argc; i++) /* inspect's own flag, out of cli_parse's way */
        if (!strcmp(argv[i], "--chat-template")) {
            full_template = 1;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof *argv);
            argc--, i--;
        }
    int rc = cli_parse(argc, argv, 2, F_MODEL, "inspect", &o);
    if (rc) return rc;
    /* a file whose weights tick cannot run (a vocabulary-only GGUF, an
     * architecture not supported yet) still shows its vocabulary; nothing
     * runs, so the file's layout is all it needs (no repacking) */
    tk_error e = {0};
    tk_load_opts lo = {.tokenizer_path = o.tokenizer, .isa = o.isa, .no_repack = 1};
    tk_model *m = tk_model_load(o.model, &lo, &e);
    if (!m && (e.code == TK_EUNSUPPORTED || e.code == TK_EFORMAT)) {
        tk_error e2 = {0};
        lo.vocab_only = 1;
        m = tk_model_load(o.model, &lo, &e2);
        if (m) printf("(vocabulary only: %s)\n", e.msg);
    }
    if (!m) {
        fprintf(stderr, "tick: %s\n", e.msg);
        return 1;
    }
    const tk_model_info *I = tk_model_info_of(m);
    printf("model        %s\n", I->name);
    printf("format       %s\n", I->format);
    printf("kernels      %s\n", I->isa);
    printf("architecture %s\n", I->arch);
    printf("n_vocab %d  n_embd %d  n_layer %d  n_head %d  n_head_kv %d  head_dim %d  n_ff %d\n",
           I->n_vocab, I->n_embd, I->n_layer, I->n_head, I->n_head_kv, I->head_dim, I->n_ff);
    printf("n_ctx_train %d  rope_dim %d  rope_base %g  rms_eps %g  output %s\n", I->n_ctx_train,
           I->rope_dim, (double)I->rope_base, (double)I->rms_eps, I->tied_output ? "tied to token_embd" : "separate");
    printf("parameters %.3f M  weights %.2f MiB\n", I->n_params / 1e6, I->weight_bytes / 1048576.0);
    printf("vocab: %d tokens, bos %d, eos %d, add_bos %s; first tokens:", I->n_vocab, I->bos, I->eos,
           I->add_bos ? "yes" : "no");
    for (int i = 0; i < I->n_vocab && i < 8; i++) {
        int tl;
        const char *t = tk_token_text(m, i, &tl);
        printf(" %d:'%.*s'", i, tl > 24 ? 24 : tl, t);
    }
    printf("\n");
    print_tokenizer(m, full_template);
    int nm = tk_model_n_meta(m);
    if (nm) printf("\nmetadata (%d keys)\n", nm);
    char buf[256];
    for (int i = 0; i < nm; i++) {
        const char *k;
        if (tk_model_meta(m, i, &k, buf, sizeof buf) >= 0) printf("  %-40s %s\n", k, buf);
    }
    int nt = tk_model_n_tensors(m);
    printf("\ntensors (%d)\n  %-32s %-6s %-20s %12s\n", nt, "name", "type", "shape", "bytes");
    for (int i = 0; i < nt; i++) {
        tk_tensor_info t;
        tk_model_tensor_info(m, i, &t);
        shape(buf, sizeof buf, &t);
        printf("  %-32s %-6s %-20s %12llu\n", t.name, t.type, buf, (unsigned long long)t.nbytes);
    }
    tk_model_free(m);
    return 0;
}

int cmd_report(int argc, char **argv); /* cmd_report.c */
int cmd_graph(int argc, char **argv);  /* cmd_graph.c  */

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "run")) return cmd_run(argc, argv);
    if (!strcmp(argv[1], "clock")) return cmd_clock(argc, argv);
    if (!strcmp(argv[1], "bench")) return cmd_bench(argc, argv);
    if (!strcmp(argv[1], "tokenize")) return cmd_tokenize(argc, argv);
    if (!strcmp(argv[1], "chat")) return cmd_chat(argc, argv);
    if (!strcmp(argv[1], "inspect")) return cmd_inspect(argc, argv);
    if (!strcmp(argv[1], "roofline")) return cmd_roofline(argc, argv);
    if (!strcmp(argv[1], "quantize")) return cmd_quantize(argc, argv);
    if (!strcmp(argv[1], "synth")) return cmd_synth(argc, argv);
    if (!strcmp(argv[1], "convert")) return cmd_convert(argc, argv);
    if (!strcmp(argv[1], "report")) return cmd_report(argc, argv);
    if (!strcmp(argv[1], "graph")) return cmd_graph(argc, argv);
    if (!strcmp(argv[1], "serve")) return cmd_serve(argc, argv);
    fprintf(stderr, "tick: unknown command '%s' (try: tick help)\n", argv[1]);
    return 2;
}
