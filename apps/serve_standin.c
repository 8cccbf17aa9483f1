/* serve_standin.c: TEMPORARY (see serve_standin.h): ChatML rendering only. */
#include "serve_standin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
