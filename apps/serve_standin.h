/* serve_standin.h: TEMPORARY stand-in for the API of branch `chat` (chat templates), with the same
 * shapes as /work/notes/api-spec.md, so the server can be developed
 * before it lands. Deleted (and sv_ renamed tk_) when it is merged. */
#ifndef TK_APPS_SERVE_STANDIN_H
#define TK_APPS_SERVE_STANDIN_H
#include "tick.h"

typedef struct tk_chat_msg { const char *role; const char *content; } tk_chat_msg;
int sv_chat_render(const tk_model *m, const char *tmpl, const tk_chat_msg *msgs, int n, int add_gen, char **out,
                   tk_error *e);
const char *sv_model_chat_template(const tk_model *m);

#endif
