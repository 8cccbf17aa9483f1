/* serve_standin.c: TEMPORARY (see serve_standin.h): one single-sequence
 * session per slot, run one after another; truncation replays the kept
 * tokens. Chat: ChatML rendering only. */
#include "serve_standin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sv_session {
    int n_seq;
    tk_session **s;
    int32_t **toks; /* what each seq's cache holds */
    const float **lg; /* logits per item of the last run */
    int cap_lg;
};

sv_session *sv_session_new(tk_model *m, const tk_session_opts *o, int n_seq, tk_error *e) {
    sv_session *s = calloc(1, sizeof *s);
    s->n_seq = n_seq;
    s->s = calloc((size_t)n_seq, sizeof *s->s);
    s->toks = calloc((size_t)n_seq, sizeof *s->toks);
    for (int i = 0; i < n_seq; i++) {
        s->s[i] = tk_session_new(m, o, e);
        if (!s->s[i]) return NULL;
        s->toks[i] = malloc((size_t)tk_session_n_ctx(s->s[i]) * sizeof(int32_t));
    }
    s->cap_lg = 4096;
    s->lg = calloc((size_t)s->cap_lg, sizeof *s->lg);
    return s;
}

void sv_session_free(sv_session *s) {
    if (!s) return;
    for (int i = 0; i < s->n_seq; i++) tk_session_free(s->s[i]), free(s->toks[i]);
    free(s->s), free(s->toks), free(s->lg), free(s);
}

int sv_session_n_ctx(const sv_session *s) { return tk_session_n_ctx(s->s[0]); }
int sv_seq_pos(const sv_session *s, int seq) { return tk_session_pos(s->s[seq]); }

int sv_batch_run(sv_session *s, const sv_batch_item *it, int n, tk_error *e) {
    for (int i = 0; i < n; i++) s->lg[i] = NULL;
    for (int i = 0; i < n;) {
        int j = i, seq = it[i].seq;
        int32_t ids[4096];
        while (j < n && it[j].seq == seq) ids[j - i] = it[j].token, j++;
        int pos = tk_session_pos(s->s[seq]);
        if (tk_prefill(s->s[seq], ids, j - i, e)) return e->code;
        memcpy(s->toks[seq] + pos, ids, (size_t)(j - i) * sizeof *ids);
        if (it[j - 1].logits) s->lg[j - 1] = tk_logits(s->s[seq]);
        i = j;
    }
    return 0;
}

const float *sv_batch_logits(const sv_session *s, int i) { return s->lg[i]; }

int sv_seq_truncate(sv_session *s, int seq, int n_keep, tk_error *e) {
    if (n_keep >= tk_session_pos(s->s[seq])) return 0;
    tk_session_reset(s->s[seq]);
    return n_keep ? tk_prefill(s->s[seq], s->toks[seq], n_keep, e) : 0;
}

int sv_embed(sv_session *s, int seq, const int32_t *ids, int n, float *out, tk_error *e) {
    (void)s, (void)seq, (void)ids, (void)n, (void)out;
    e->code = TK_EUNSUPPORTED;
    snprintf(e->msg, sizeof e->msg, "embeddings need multi-sequence sessions (branch batch)");
    return TK_EUNSUPPORTED;
}

const char *sv_model_chat_template(const tk_model *m) { (void)m; return NULL; }

int sv_chat_render(const tk_model *m, const char *tmpl, const tk_chat_msg *msgs, int n, int add_gen, char **out,
                   tk_error *e) {
    (void)m, (void)tmpl, (void)e;
    size_t need = 64;
    for (int i = 0; i < n; i++) need += strlen(msgs[i].role) + strlen(msgs[i].content) + 32;
    char *o = malloc(need);
    size_t w = 0;
    for (int i = 0; i < n; i++) w += (size_t)sprintf(o + w, "<|im_start|>%s\n%s<|im_end|>\n", msgs[i].role, msgs[i].content);
    if (add_gen) w += (size_t)sprintf(o + w, "<|im_start|>assistant\n");
    *out = o;
    return (int)w;
}
