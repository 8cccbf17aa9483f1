/* chat.c: tk_chat_render, the public face of template.c: checks the
 * messages, finds the template (given, or the model's), and supplies the
 * variables Hugging Face's apply_chat_template gives a template (messages,
 * add_generation_prompt, bos_token, eos_token as the tokens' text). Also the
 * model's vocabulary facts for `tick inspect`. */
#include "template.h"
#include "../base/status.h"
#include "../model/model.h"

#include <string.h>

static int role_ok(const char *r) {
    return r && (!strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "tool"));
}

/* the text of a special token as the template should see it ("<s>") */
static const char *token_text(const tk_model *m, int id, char *buf, size_t cap) {
    int len;
    const char *t = id >= 0 ? tk_vocab_text(m->vocab, id, &len) : NULL;
    if (!t || (size_t)len >= cap) return "";
    memcpy(buf, t, (size_t)len);
    buf[len] = 0;
    return buf;
}

int tk_chat_render(const tk_model *m, const char *tmpl, const tk_chat_msg *msgs, int n,
                   int add_gen, char **out, tk_error *e) {
    *out = NULL;
    if (n < 0 || (n > 0 && !msgs)) return tk_err(e, TK_EINVAL, "chat: bad message list");
    for (int i = 0; i < n; i++) {
        if (!role_ok(msgs[i].role))
            return tk_err(e, TK_EINVAL, "chat: message %d has role '%.40s' (expected system, user, assistant or tool)", i,
                          msgs[i].role ? msgs[i].role : "(null)");
        if (!msgs[i].content) return tk_err(e, TK_EINVAL, "chat: message %d has no content", i);
    }
    if (!tmpl && m) tmpl = tk_vocab_chat_template(m->vocab);
    if (!tmpl)
        return tk_err(e, TK_EINVAL, "chat: the model has no chat template (tokenizer.chat_template); give one");
    char bos[256], eos[256];
    tk_tmpl_vars v = {msgs, n, add_gen, m ? token_text(m, tk_vocab_bos(m->vocab), bos, sizeof bos) : "",
                      m ? token_text(m, tk_vocab_eos(m->vocab), eos, sizeof eos) : ""};
    return tk_tmpl_render(tmpl, strlen(tmpl), &v, NULL, out, e);
}

const char *tk_model_chat_template(const tk_model *m) { return tk_vocab_chat_template(m->vocab); }

void tk_model_vocab_info(const tk_model *m, tk_vocab_info *out) { tk_vocab_specials(m->vocab, out); }
