/* serve_standin.h: TEMPORARY stand-ins for the APIs of branches `batch`
 * (multi-sequence sessions) and `chat` (chat templates), with the same
 * shapes as /work/notes/api-spec.md, so the server can be developed
 * before they land. Deleted (and sv_ renamed tk_) when they are merged. */
#ifndef TK_APPS_SERVE_STANDIN_H
#define TK_APPS_SERVE_STANDIN_H
#include "tick.h"

typedef struct tk_chat_msg { const char *role; const char *content; } tk_chat_msg;
int sv_chat_render(const tk_model *m, const char *tmpl, const tk_chat_msg *msgs, int n, int add_gen, char **out,
                   tk_error *e);
const char *sv_model_chat_template(const tk_model *m);

typedef struct sv_session sv_session;
typedef struct sv_batch_item { int seq; int32_t token; int logits; } sv_batch_item;
sv_session *sv_session_new(tk_model *m, const tk_session_opts *o, int n_seq, tk_error *e);
void sv_session_free(sv_session *s);
int sv_batch_run(sv_session *s, const sv_batch_item *items, int n, tk_error *e);
const float *sv_batch_logits(const sv_session *s, int i);
int sv_seq_pos(const sv_session *s, int seq);
int sv_seq_truncate(sv_session *s, int seq, int n_keep, tk_error *e);
int sv_embed(sv_session *s, int seq, const int32_t *ids, int n, float *out, tk_error *e);
int sv_session_n_ctx(const sv_session *s);
#endif
