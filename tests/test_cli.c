/* test_cli.c: the `tick` command end to end: text identical to the
 * reference engines', tokenize/inspect output, and every bad flag or input
 * answered with one clear line and a non-zero exit. */
#include "t.h"

#include <cjson/cJSON.h>
#include "tensor/dtype.h"
#include <stdlib.h>
#include <string.h>

#define GGUF "../shared/models/stories260K.gguf"
#define BIN "../shared/models/stories260K.bin"
#define TOK "../shared/models/tok512.bin"

#define S(x) ((x) ? (x) : "(null)")

static void test_run_matches_llama2c(void) {
    const char *j = t_shared("golden/stories260K.llama2c.json", "13060e7cd2c9e6c7a7588de4d264061ed3aeb49c9c3e8068096e51ba812de51b");
    if (!j || !t_shared("models/stories260K.bin", NULL) || !t_shared("models/tok512.bin", NULL)) T_SKIP("fixtures absent");
    char *js = t_read(j, NULL);
    cJSON *root = cJSON_Parse(js);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
        const char *want = cJSON_GetObjectItem(c, "text")->valuestring;
        int steps = cJSON_GetObjectItem(c, "steps")->valueint;
        int np = cJSON_GetArraySize(cJSON_GetObjectItem(c, "prompt_ids"));
        char args[1024];
        snprintf(args, sizeof args, "run -m " BIN " -z " TOK " -p '%s' -n %d --temp 0", prompt, steps - np + 1);
        int st;
        char *err, *out = t_tick_run(args, &st, &err);
        T_CHECK(st == 0, "exit %d: %s", st, S(err));
        T_CHECK(out && strcmp(out, want) == 0, "text differs from llama2.c's:\n--- got\n%s\n--- want\n%s", out, want);
        T_CHECK(err && strstr(err, "prompt:") && strstr(err, "tok/s") && t_one_line(err), "summary line: %s", S(err));
        free(out), free(err);
    }
    cJSON_Delete(root);
    free(js);
}

static void test_run_matches_llamacpp(void) {
    const char *j = t_shared("golden/stories260K.llamacpp.json", "0c29a82664b5dc13f582a21879d0edb97f8da8d6908864377f20068d3340cb92");
    if (!j || !t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    char *js = t_read(j, NULL);
    cJSON *root = cJSON_Parse(js);
    const char *hex = cJSON_GetObjectItem(root, "greedy_text_hex")->valuestring;
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(root, "greedy_ids"));
    char want[4096];
    size_t w = (size_t)snprintf(want, sizeof want, "Once upon a time");
    for (size_t i = 0; hex[2 * i] && w < sizeof want - 2; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        want[w++] = (char)v;
    }
    want[w++] = '\n';
    want[w] = 0;
    char args[256];
    snprintf(args, sizeof args, "run -m " GGUF " -p 'Once upon a time' -n %d --temp 0", n);
    int st;
    char *out = t_tick_run(args, &st, NULL);
    T_CHECK(st == 0 && out && strcmp(out, want) == 0, "text differs from llama.cpp's:\n--- got\n%s\n--- want\n%s", out, want);
    free(out);
    cJSON_Delete(root);
    free(js);
}

/* tick run puts the repacking off until after the first token (and says
 * when the first token came); the text is the one of the file's layout. */
static void test_run_deferred_repack(void) {
    const char *path = t_shared("models/golden-tiny256/tiny256-q8_0.gguf", NULL);
    if (!path) T_SKIP("fixture absent");
    char args[512], *err = NULL, *err2 = NULL;
    int st, st2;
    snprintf(args, sizeof args, "run -m %s -p 'Once upon a time' -n 12 --temp 0", path);
    char *out = t_tick_run(args, &st, &err);
    snprintf(args, sizeof args, "run -m %s -p 'Once upon a time' -n 12 --temp 0 --no-repack", path);
    char *out2 = t_tick_run(args, &st2, &err2);
    T_CHECK(st == 0 && st2 == 0 && out && out2 && !strcmp(out, out2), "deferred repack changed the text:\n%s\nvs\n%s", out, out2);
    T_CHECK(err && strstr(err, "| first token after "), "no first-token time: %s", err ? err : "");
    if (tk_isa_supported(TK_ISA_AVX512_VNNI))
        T_CHECK(err && strstr(err, "| repacked after it in "), "not repacked after the first token: %s", err ? err : "");
    T_CHECK(err2 && !strstr(err2, "repacked"), "--no-repack repacked: %s", err2 ? err2 : "");
    free(out), free(out2), free(err), free(err2);
}

static void test_tokenize_inspect(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *out = t_tick_run("tokenize -m " GGUF " -p 'Once upon a time'", &st, NULL);
    T_CHECK(st == 0 && out && strcmp(out, "1 403 407 261 378\n") == 0, "tokenize: %s", S(out));
    free(out);
    out = t_tick_run("tokenize -m " GGUF " -p 'Once upon a time' --no-bos --pieces", &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "403 '\xe2\x96\x81Once'") && !strstr(out, "'<s>'"), "pieces: %s", S(out));
    free(out);
    out = t_tick_run("inspect " GGUF, &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "n_embd 64") && strstr(out, "n_layer 5") &&
            strstr(out, "token_embd.weight") && strstr(out, "blk.4.ffn_down.weight") && strstr(out, "tokenizer.ggml.tokens"),
            "inspect: %s", S(out));
    free(out);
    if (!t_shared("models/stories260K.bin", NULL)) return;
    out = t_tick_run("inspect " BIN " -z " TOK, &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "llama2.c v0") && strstr(out, "n_head_kv 4"), "inspect .bin: %s", S(out));
    free(out);
}

/* tokenize takes vocab-only GGUF files of any tokenizer tick knows */
static void test_tokenize_vocab_only(void) {
    const char *v = t_shared("models/vocab/ggml-vocab-gpt-2.gguf", "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac");
    if (!v) T_SKIP("ggml-vocab-gpt-2.gguf absent");
    int st;
    char *err, *out = t_tick_run("tokenize -m ../shared/models/vocab/ggml-vocab-gpt-2.gguf -p 'Hello world'", &st, &err);
    T_CHECK(st == 0 && out && strcmp(out, "15496 995\n") == 0, "gpt-2 ids: %s %s", S(out), S(err));
    free(out), free(err);
    out = t_tick_run("run -m ../shared/models/vocab/ggml-vocab-gpt-2.gguf -p hi", &st, &err);
    T_CHECK(st == 1 && err && t_one_line(err) && strstr(err, "gpt2"), "run on a vocab-only file: %d %s", st, S(err));
    free(out), free(err);
}

static void test_seeded_sampling(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int s1, s2, s3;
    char *a = t_tick_run("run -m " GGUF " -p 'Once' -n 40 -s 42 --temp 1", &s1, NULL);
    char *b = t_tick_run("run -m " GGUF " -p 'Once' -n 40 -s 42 --temp 1", &s2, NULL);
    char *c = t_tick_run("run -m " GGUF " -p 'Once' -n 40 -s 43 --temp 1", &s3, NULL);
    T_CHECK(s1 == 0 && s2 == 0 && s3 == 0 && a && b && c, "runs succeed");
    T_CHECK(a && b && strcmp(a, b) == 0, "same seed, same text");
    T_CHECK(a && c && strcmp(a, c) != 0, "another seed, other text");
    free(a), free(b), free(c);
}

static void test_context_full(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *err, *out = t_tick_run("run -m " GGUF " -p 'Once upon a time' -c 16 -n 100 --temp 0", &st, &err);
    T_CHECK(st == 0, "context full is a normal stop (exit %d)", st);
    T_CHECK(err && strstr(err, "context is full"), "says so: %s", S(err));
    T_CHECK(err && strstr(err, "generated: 12 tokens"), "5 prompt + 11 decoded fill 16; the 12th is sampled from the last: %s", S(err));
    free(out), free(err);
    out = t_tick_run("run -m " GGUF " -p 'Once upon a time there was a little girl named Lily' -c 4", &st, &err);
    T_CHECK(st != 0 && err && t_one_line(err) && strstr(err, "context"), "prompt longer than context: %d %s", st, S(err));
    free(out), free(err);
}

static void test_bad_flags(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    static const struct { const char *args, *word; int code; } cases[] = {
        {"run -m " GGUF " --bogus", "--bogus", 2},
        {"run -m " GGUF " -n abc", "-n", 2},
        {"run -m " GGUF " -n -5", "-n", 2},
        {"run -m " GGUF " --temp -1", "--temp", 2},
        {"run -m " GGUF " --temp nan", "--temp", 2},
        {"run -m " GGUF " --top-p 1.5", "--top-p", 2},
        {"run -m " GGUF " --min-p -0.1", "--min-p", 2},
        {"run -m " GGUF " --top-k -3", "--top-k", 2},
        {"run -m " GGUF " -c 99999999999", "-c", 2},
        {"run -m " GGUF " -t 0", "-t", 2},
        {"run -m " GGUF " -s -1", "-s", 2},
        {"run -m " GGUF " --repeat-penalty 0", "--repeat-penalty", 2},
        {"run -m " GGUF " -p", "needs a value", 2},
        {"run -p hello", "model", 2},
        {"run -m /nonexistent/model.gguf", "/nonexistent/model.gguf", 1},
        {"run -m " TOK, "tok512.bin", 1},
        {"run -m " BIN " -z /nonexistent/tok.bin", "/nonexistent/tok.bin", 1},
        {"run -m " BIN " -z ../shared/models/llama2-tokenizer.bin", "tokens", 1},
        {"run -m " GGUF " -f /nonexistent/prompt.txt", "prompt.txt", 1},
        {"frobnicate", "frobnicate", 2},
        {"inspect", "model", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int st;
        char *err, *out = t_tick_run(cases[i].args, &st, &err);
        T_CHECK(st == cases[i].code && err && t_one_line(err) && strstr(err, cases[i].word),
                "`tick %s`: exit %d (want %d), stderr: %s", cases[i].args, st, cases[i].code, err ? err : "(none)");
        free(out), free(err);
    }
}

/* tick clock: the summary, and one tick in detail */
static void test_clock_summary(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *err, *out = t_tick_run("clock -m " GGUF " -p 'Once upon a time' -n 12 --temp 0 --tick 3", &st, &err);
    T_CHECK(st == 0, "exit %d: %s", st, S(err));
    T_CHECK(out && strstr(out, "prefill") && strstr(out, "decode") && strstr(out, "ffn_matmul") && strstr(out, "per layer"),
            "summary has phases, kinds and layers: %s", S(out));
    /* tick 0 is the prompt's burst (positions 0..4), then one tick per token */
    T_CHECK(out && strstr(out, "tick 3: position 7") && strstr(out, "qkv_matmul"), "tick 3 in detail: %s", S(out));
    free(out), free(err);
    out = t_tick_run("clock -m " GGUF " -p 'Once' -n 4 --tick 99", &st, &err);
    T_CHECK(st == 0 && err && strstr(err, "--tick 99"), "a tick past the end is said: %s", S(err));
    free(out), free(err);
}

static void test_invalid_utf8_prompt(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    char path[512], args[1024];
    snprintf(path, sizeof path, "%s/bad-prompt.txt", t_tmpdir());
    t_write(path, "Once \xff\xfe upon", 11);
    snprintf(args, sizeof args, "run -m " GGUF " -f %s -n 4", path);
    int st;
    char *err, *out = t_tick_run(args, &st, &err);
    T_CHECK(st == 1 && err && t_one_line(err) && strstr(err, "UTF-8"), "invalid UTF-8: %d %s", st, S(err));
    free(out), free(err);
}

/* tick inspect: the tokenizer's kind, special tokens and chat template */
static void test_inspect_tokenizer(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    int st;
    char *out = t_tick_run("inspect " GGUF, &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "tokenizer    spm (SentencePiece)\n") &&
            strstr(out, "special      bos 1 '<s>' eos 2 '</s>' eot - pad - unk 0 '<unk>'; add_bos yes\n") &&
            strstr(out, "added tokens 2 control, 0 user-defined\n") && strstr(out, "chat template: none\n"),
            "inspect tokenizer: %s", S(out));
    free(out);
    if (!t_shared("models/vocab/ggml-vocab-phi-3.gguf", NULL)) return;
    /* a vocabulary-only file: its tokenizer and template are still shown */
    out = t_tick_run("inspect ../shared/models/vocab/ggml-vocab-phi-3.gguf", &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "(vocabulary only: ") && strstr(out, "eos 32000 '<|endoftext|>'") &&
            strstr(out, "chat template (269 bytes; all of it: --chat-template): {{ bos_token }}{% for message in messages %}"),
            "inspect phi-3 vocab: %s", S(out));
    free(out);
    out = t_tick_run("inspect ../shared/models/vocab/ggml-vocab-phi-3.gguf --chat-template", &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "chat template (269 bytes):\n{{ bos_token }}") &&
            strstr(out, "{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}\n"), "--chat-template: %s", S(out));
    free(out);
    if (!t_shared("models/vocab/ggml-vocab-gpt-2.gguf", NULL)) return;
    out = t_tick_run("inspect ../shared/models/vocab/ggml-vocab-gpt-2.gguf", &st, NULL);
    T_CHECK(st == 0 && out && strstr(out, "tokenizer    bpe (byte-level), pre-tokenizer gpt-2\n") &&
            strstr(out, "bos 50256 '<|endoftext|>'"), "inspect gpt-2 vocab: %s", S(out));
    free(out);
}

/* tick chat, fed from a pipe, with a ChatML template from a file (the tiny
 * model has none): the rendered prompt, a reply, and the second turn
 * feeding only what is new */
static void test_chat(void) {
    if (!t_shared("models/stories260K.gguf", NULL)) T_SKIP("fixtures absent");
    char tmpl[512], in[512], args[2048];
    snprintf(tmpl, sizeof tmpl, "%s/chatml.jinja", t_tmpdir());
    snprintf(in, sizeof in, "%s/chat-in.txt", t_tmpdir());
    const char *chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                         "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    t_write(tmpl, chatml, strlen(chatml));
    const char *lines = "Once upon a time\nThe dog ran\n/exit\nnever read\n";
    t_write(in, lines, strlen(lines));
    snprintf(args, sizeof args, "chat -m " GGUF " --template %s --system 'Be kind' --verbose-prompt -n 12 --temp 0 < %s", tmpl, in);
    int st;
    char *err, *out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0, "exit %d: %s", st, S(err));
    T_CHECK(err && strstr(err, "<|im_start|>system\nBe kind<|im_end|>\n<|im_start|>user\nOnce upon a time<|im_end|>\n"
                               "<|im_start|>assistant\n\n"), "first prompt: %s", S(err));
    T_CHECK(err && strstr(err, "<|im_start|>user\nThe dog ran<|im_end|>\n<|im_start|>assistant\n\n") && !strstr(err, "never read"),
            "second prompt, nothing after /exit: %s", S(err));
    T_CHECK(err && strstr(err, "0 reused") && strstr(err, "generated: 12 tokens"), "first turn: %s", S(err));
    /* turn 2 reuses at least turn 1's prompt */
    const char *first = err ? strstr(err, "tick chat: prompt: ") : NULL;
    const char *second = first ? strstr(first + 1, "tick chat: prompt: ") : NULL;
    int reused = 0;
    T_CHECK(second && sscanf(second, "tick chat: prompt: %*d tokens, %d reused", &reused) == 1 && reused > 20,
            "second turn reuses the cache: %s", S(err));
    /* two replies of text, one line each */
    int nl = 0;
    for (const char *p = out; p && *p; p++) nl += *p == '\n';
    T_CHECK(out && strlen(out) > 4 && nl >= 2, "replies: '%s'", S(out));
    free(out), free(err);
    /* greedy is deterministic */
    char *out2 = t_tick_run(args, &st, NULL);
    out = t_tick_run(args, &st, NULL);
    T_CHECK(out && out2 && strcmp(out, out2) == 0, "same replies twice");
    free(out), free(out2);

    /* end of input quits too; no --verbose-prompt: nothing on stderr */
    snprintf(args, sizeof args, "chat -m " GGUF " --template %s -n 4 < /dev/null", tmpl);
    out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0 && err && !*err, "EOF: %d '%s'", st, S(err));
    free(out), free(err);

    /* errors: no template; a broken one; a missing file */
    static const struct { const char *args, *word; int code; } cases[] = {
        {"chat -m " GGUF " < /dev/null", "has no chat template", 1},
        {"chat -m " GGUF " --template /nonexistent.jinja < /dev/null", "/nonexistent.jinja", 1},
        {"chat -m " GGUF " --template", "--template: needs a value", 2},
        {"chat -m " GGUF " --bogus", "--bogus", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        out = t_tick_run(cases[i].args, &st, &err);
        T_CHECK(st == cases[i].code && err && t_one_line(err) && strstr(err, cases[i].word), "`tick %s`: %d %s",
                cases[i].args, st, S(err));
        free(out), free(err);
    }
    /* a line that is not UTF-8 is refused, the conversation goes on */
    t_write(in, "bad \xff line\nOnce\n", 16);
    snprintf(args, sizeof args, "chat -m " GGUF " --template %s -n 3 --temp 0 < %s", tmpl, in);
    out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0 && err && t_one_line(err) && strstr(err, "not valid UTF-8") && out && *out, "bad line: %d %s", st, S(err));
    free(out), free(err);
    /* a conversation longer than the context */
    snprintf(args, sizeof args, "chat -m " GGUF " --template %s -c 32 < %s", tmpl, in);
    out = t_tick_run(args, &st, &err);
    T_CHECK(st == 1 && err && strstr(err, "no longer fits the context of 32"), "context: %d %s", st, S(err));
    free(out), free(err);
    t_write(tmpl, "{% for m in messages %}{{ m.role", 32);
    snprintf(args, sizeof args, "chat -m " GGUF " --template %s < %s", tmpl, in);
    out = t_tick_run(args, &st, &err);
    T_CHECK(st == 1 && err && t_one_line(err) && strstr(err, "--template: template line 1 col 33"), "broken template: %d %s", st, S(err));
    free(out), free(err);
}

/* tick chat with the model's own template: a random-weight model (tick
 * synth) carrying the Phi-3 vocabulary and its tokenizer.chat_template */
static void test_chat_model_template(void) {
    if (!t_shared("models/vocab/ggml-vocab-phi-3.gguf", NULL)) T_SKIP("ggml-vocab-phi-3.gguf absent");
    char model[512], args[2048];
    snprintf(model, sizeof model, "%s/phi3-tiny.gguf", t_tmpdir());
    snprintf(args, sizeof args, "synth --embd 64 --layers 1 --heads 2 --ffn 64 --ctx 256 "
             "--vocab ../shared/models/vocab/ggml-vocab-phi-3.gguf -o %s", model);
    int st;
    char *err, *out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0, "synth: %s", S(err));
    free(out), free(err);
    char in[512];
    snprintf(in, sizeof in, "%s/chat-hello.txt", t_tmpdir());
    t_write(in, "Hello\n", 6);
    snprintf(args, sizeof args, "chat -m %s --verbose-prompt -n 4 --temp 0 < %s", model, in);
    out = t_tick_run(args, &st, &err);
    T_CHECK(st == 0 && err && strstr(err, "<s><|user|>\nHello<|end|>\n<|assistant|>\n"), "the model's template: %d %s", st, S(err));
    /* its special-token text became single tokens (as plain text: 21) */
    int n = 0;
    const char *p = err ? strstr(err, "tick chat: prompt: ") : NULL;
    T_CHECK(p && sscanf(p, "tick chat: prompt: %d tokens", &n) == 1 && n > 5 && n < 15, "prompt tokens %d: %s", n, S(err));
    free(out), free(err);
}

int main(void) {
    T_RUN(test_run_matches_llama2c);
    T_RUN(test_run_matches_llamacpp);
    T_RUN(test_run_deferred_repack);
    T_RUN(test_tokenize_inspect);
    T_RUN(test_tokenize_vocab_only);
    T_RUN(test_seeded_sampling);
    T_RUN(test_context_full);
    T_RUN(test_bad_flags);
    T_RUN(test_invalid_utf8_prompt);
    T_RUN(test_clock_summary);
    T_RUN(test_inspect_tokenizer);
    T_RUN(test_chat);
    T_RUN(test_chat_model_template);
    return t_done();
}
