/* session.h: internal accessors of a session for the apps that show the
 * engine's inner workings (tick graph, tick report). */
#ifndef TK_RUNTIME_SESSION_H
#define TK_RUNTIME_SESSION_H

#include "tick.h"
#include "../model/graph.h"

/* The graph one position runs (ops, shapes, FLOPs and bytes). */
const tk_graph *tk_session_graph(const tk_session *s);

/* The final-norm hidden state [n_embd] of the position whose logits
 * tk_logits() holds (NULL when it holds none): for checking tk_embed. */
const float *tk_session_hidden(const tk_session *s);

/* Forget the clock's records (bench repetitions). */
void tk_session_clock_reset(tk_session *s);

#endif
