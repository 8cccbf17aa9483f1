/* cmd_chat.c: `tick chat`, an interactive conversation on stdin/stdout
 * with the model's chat template (or --template FILE).
 *
 * Each turn re-renders the whole conversation through the template and
 * tokenizes it (special-token text as those tokens). When the tokens
 * already in the KV cache are a prefix of the new ones, only the new
 * suffix is fed (the usual case: the last reply and the new user message);
 * otherwise (a template that rewrites earlier turns, or a reply whose text
 * tokenizes differently from how it was generated) the cache is reset and
 * the conversation prefilled again. A reply ends at an end-of-generation
 * token, -n tokens, or a full context. `/exit` or end of input quits. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/base/cycles.h"
#include "../src/tokenizer/vocab.h"

typedef struct chat {
    tk_model *m;
    tk_session *s;
    tk_sampler *smp;
    const char *tmpl;   /* NULL: the model's */
    int verbose;        /* --verbose-prompt */
    int spm;            /* SentencePiece: drop the space the first piece starts with */
    tk_chat_msg *msgs;
    int n_msgs, cap_msgs;
    int32_t *ctx;       /* the tokens in the KV cache, in order */
    int n_ctx_ids;
} chat;

static int add_msg(chat *c, const char *role, const char *content) {
    if (c->n_msgs == c->cap_msgs) {
        int cap = c->cap_msgs ? c->cap_msgs * 2 : 16;
        tk_chat_msg *n = realloc(c->msgs, (size_t)cap * sizeof *n);
        if (!n) return -1;
        c->msgs = n, c->cap_msgs = cap;
    }
    char *dup = strdup(content);
    if (!dup) return -1;
    c->msgs[c->n_msgs++] = (tk_chat_msg){role, dup};
    return 0;
}

static char *read_file(const char *path, const char *flag) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tick chat: %s %s: cannot open: %s\n", flag, path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0, got;
    char *b = malloc(cap + 1);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = cap < ((size_t)1 << 24) ? realloc(b, cap * 2 + 1) : NULL;
            if (!nb) {
                fprintf(stderr, "tick chat: %s %s: larger than 16 MiB\n", flag, path);
                free(b), b = NULL;
                break;
            }
            b = nb, cap *= 2;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    return b;
}

/* The conversation rendered and tokenized; *ids malloc'd. 0, or 1 after
 * printing the error. */
static int render_ids(chat *c, int32_t **ids, int *n) {
    tk_error e = {0};
    char *text = NULL;
    int len = tk_chat_render(c->m, c->tmpl, c->msgs, c->n_msgs, 1, &text, &e);
    if (len < 0) {
        fprintf(stderr, "tick chat: %s\n", e.msg);
        return 1;
    }
    if (c->verbose) fprintf(stderr, "tick chat: prompt (%d bytes):\n%s\n", len, text);
    /* BOS: the model's rule, unless the template wrote it already */
    const tk_model_info *I = tk_model_info_of(c->m);
    int bos_len = 0;
    const char *bos = I->bos >= 0 ? tk_token_text(c->m, I->bos, &bos_len) : NULL;
    int flags = TK_TOKENIZE_PARSE_SPECIAL;
    if (I->add_bos && !(bos && bos_len > 0 && len >= bos_len && memcmp(text, bos, (size_t)bos_len) == 0))
        flags |= TK_TOKENIZE_ADD_BOS;
    int need = tk_tokenize(c->m, text, (size_t)len, flags, NULL, 0, &e);
    *ids = need > 0 ? malloc((size_t)need * sizeof **ids) : NULL;
    if (need < 0 || (need > 0 && !*ids)) {
        fprintf(stderr, "tick chat: %s\n", need < 0 ? e.msg : "out of memory");
        free(text);
        return 1;
    }
    *n = tk_tokenize(c->m, text, (size_t)len, flags, *ids, need, &e);
    free(text);
    return 0;
}

/* One turn after the user's message was added: feed what is new, then
 * generate the reply into stdout and the history. 0, or 1 after printing
 * the error. */
static int turn(chat *c, const cli_opts *o) {
    int32_t *ids = NULL;
    int n = 0;
    if (render_ids(c, &ids, &n)) return 1;
    int n_ctx = tk_session_n_ctx(c->s);
    if (n >= n_ctx) {
        fprintf(stderr, "tick chat: the conversation is %d tokens and no longer fits the context of %d (-c); start a new one\n", n, n_ctx);
        free(ids);
        return 1;
    }
    int keep = 0;
    while (keep < c->n_ctx_ids && keep < n && c->ctx[keep] == ids[keep]) keep++;
    if (keep < c->n_ctx_ids || keep == n) { /* the prefix changed (or nothing is new): start over */
        tk_session_reset(c->s);
        keep = 0;
    }
    tk_error e = {0};
    double t0 = tk_now_ns();
    for (int i = keep; i < n; i++) tk_sampler_accept(c->smp, ids[i]);
    if (tk_prefill(c->s, ids + keep, n - keep, &e)) {
        fprintf(stderr, "tick chat: %s\n", e.msg);
        free(ids);
        return 1;
    }
    double t1 = tk_now_ns();
    int32_t *nc = realloc(c->ctx, (size_t)n_ctx * sizeof *nc);
    if (!nc) {
        free(ids);
        fprintf(stderr, "tick chat: out of memory\n");
        return 1;
    }
    c->ctx = nc;
    memcpy(c->ctx, ids, (size_t)n * sizeof *ids);
    c->n_ctx_ids = n;
    free(ids);

    /* the reply, streamed and kept */
    size_t cap = 256, rl = 0;
    char *reply = malloc(cap);
    tk_utf8_stream us = {0};
    char piece[512], out[sizeof piece + 8];
    int n_gen = 0, first = 1;
    const char *why = "limit (-n)";
    while (reply) {
        if (o->n_predict >= 0 && n_gen >= o->n_predict) break;
        int32_t id = tk_session_sample(c->s, c->smp);
        tk_sampler_accept(c->smp, id);
        if (tk_token_is_eog(c->m, id)) { why = "end of generation token"; break; }
        n_gen++;
        int len = tk_token_piece(c->m, id, piece, (int)sizeof piece);
        if (len > (int)sizeof piece) len = (int)sizeof piece;
        const char *p = piece;
        if (first && c->spm && len > 0 && p[0] == ' ') p++, len--;
        if (len > 0) first = 0;
        int w = tk_utf8_stream_push(&us, p, len, out);
        if (w) {
            fwrite(out, 1, (size_t)w, stdout);
            fflush(stdout);
            if (rl + (size_t)w + 1 > cap) {
                char *nr = realloc(reply, cap * 2 + (size_t)w);
                if (!nr) { free(reply), reply = NULL; break; }
                reply = nr, cap = cap * 2 + (size_t)w;
            }
            memcpy(reply + rl, out, (size_t)w), rl += (size_t)w;
        }
        if (tk_session_pos(c->s) >= n_ctx) { why = "context full"; break; }
        if (tk_decode(c->s, id, &e)) {
            fprintf(stderr, "\ntick chat: %s\n", e.msg);
            free(reply);
            return 1;
        }
        c->ctx[c->n_ctx_ids++] = id;
    }
    int w = tk_utf8_stream_flush(&us, out);
    if (reply && w && rl + (size_t)w + 1 > cap) {
        char *nr = realloc(reply, rl + (size_t)w + 1);
        if (!nr) free(reply);
        reply = nr;
    }
    if (!reply) {
        fprintf(stderr, "\ntick chat: out of memory\n");
        return 1;
    }
    fwrite(out, 1, (size_t)w, stdout);
    memcpy(reply + rl, out, (size_t)w), rl += (size_t)w;
    reply[rl] = 0;
    printf("\n");
    fflush(stdout);
    double t2 = tk_now_ns();
    if (c->verbose) {
        double pp = (t1 - t0) / 1e9, tg = (t2 - t1) / 1e9;
        fprintf(stderr, "tick chat: prompt: %d tokens, %d reused, %d fed, %.1f tok/s | generated: %d tokens, %.1f tok/s | stop: %s\n",
                n, keep, n - keep, (n - keep) / (pp > 0 ? pp : 1e-9), n_gen, n_gen / (tg > 0 ? tg : 1e-9), why);
    }
    if (!strcmp(why, "context full")) fprintf(stderr, "tick chat: stopped: the context is full (%d tokens, -c)\n", n_ctx);
    int rc = add_msg(c, "assistant", reply);
    free(reply);
    if (rc) fprintf(stderr, "tick chat: out of memory\n");
    return rc ? 1 : 0;
}

int cmd_chat(int argc, char **argv) {
    /* chat's own flags out first; the rest are run's (cli_parse) */
    const char *system = NULL, *tmpl_path = NULL;
    int verbose = 0, n_given = 0;
    char **av = malloc((size_t)argc * sizeof *av);
    if (!av) return 1;
    int ac = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i >= 2 && (!strcmp(a, "--system") || !strcmp(a, "--template"))) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tick chat: %s: needs a value\n", a);
                free(av);
                return 2;
            }
            *(!strcmp(a, "--system") ? &system : &tmpl_path) = argv[++i];
            continue;
        }
        if (i >= 2 && !strcmp(a, "--verbose-prompt")) { verbose = 1; continue; }
        if (i >= 2 && (!strcmp(a, "-n") || !strcmp(a, "--n-predict"))) n_given = 1;
        av[ac++] = argv[i];
    }
    cli_opts o;
    int rc = cli_parse(ac, av, 2, F_MODEL | F_GEN | F_SAMPLE, "chat", &o);
    free(av);
    if (rc) return rc;
    if (!n_given) o.n_predict = -1; /* a reply runs to its end-of-turn token */

    char *tmpl = NULL;
    if (tmpl_path && !(tmpl = read_file(tmpl_path, "--template"))) return 1;
    tk_model *m = cli_load(&o);
    if (!m) { free(tmpl); return 1; }
    chat c = {.m = m, .tmpl = tmpl, .verbose = verbose};
    tk_vocab_info vi;
    tk_model_vocab_info(m, &vi);
    c.spm = !strcmp(vi.type, "spm");
    int status = 1;
    tk_error e = {0};
    char *line = NULL;
    size_t line_cap = 0;
    if (!tmpl && !tk_model_chat_template(m)) {
        fprintf(stderr, "tick chat: %s has no chat template (tokenizer.chat_template); give one with --template FILE\n", o.model);
        goto done;
    }
    if (system && add_msg(&c, "system", system)) goto oom;
    /* a broken template is said before the first question, not after it */
    char *probe = NULL;
    if (tk_chat_render(m, tmpl, c.msgs, c.n_msgs, 1, &probe, &e) < 0) {
        fprintf(stderr, "tick chat: %s%s\n", tmpl_path ? "--template: " : "", e.msg);
        goto done;
    }
    free(probe);
    tk_session_opts so = {.n_ctx = o.n_ctx, .n_threads = o.n_threads};
    if (!(c.s = tk_session_new(m, &so, &e)) || !(c.smp = tk_sampler_new(&o.sp, tk_n_vocab(m), &e))) {
        fprintf(stderr, "tick chat: %s\n", e.msg);
        goto done;
    }
    int tty = isatty(0);
    if (tty) fprintf(stderr, "tick chat: type a message; /exit or Ctrl-D quits\n");
    for (;;) {
        if (tty) fputs("> ", stderr);
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (!strcmp(line, "/exit")) break;
        if (got == 0) continue;
        size_t bad;
        if (strlen(line) != (size_t)got || !tk_utf8_valid(line, (size_t)got, &bad)) {
            fprintf(stderr, "tick chat: the message is not valid UTF-8 text; ignored\n");
            continue;
        }
        if (add_msg(&c, "user", line)) goto oom;
        if (turn(&c, &o)) goto done;
    }
    status = 0;
    goto done;
oom:
    fprintf(stderr, "tick chat: out of memory\n");
done:
    free(line);
    for (int i = 0; i < c.n_msgs; i++) free((char *)c.msgs[i].content);
    free(c.msgs);
    free(c.ctx);
    tk_sampler_free(c.smp);
    tk_session_free(c.s);
    tk_model_free(m);
    free(tmpl);
    return status;
}
