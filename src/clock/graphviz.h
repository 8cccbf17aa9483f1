/* graphviz.h: the graph one tick runs, drawn as text (`tick graph`):
 * Mermaid (`graph TD`, renders on GitHub and in many editors) or Graphviz
 * DOT (`dot -Tsvg`).
 *
 * What is drawn: the ops before layer 0 (embedding, RoPE angles), layer 0
 * with one node per op (name, kind, output shape, the weights' dtype, FLOPs
 * and bytes for one token; attention at position 0 plus what each further
 * context position adds), layers 1 .. N-1 folded into one node with their
 * totals, then the output ops. Edges follow the data: an edge goes from the
 * op that last wrote a buffer to each op that reads it, so the residual
 * stream (x) appears as the edges that skip over each sub-block. */
#ifndef TK_CLOCK_GRAPHVIZ_H
#define TK_CLOCK_GRAPHVIZ_H

#include <stdio.h>
#include "tick.h"
#include "../model/graph.h"

enum { TK_GRAPH_MERMAID, TK_GRAPH_DOT };

/* Write graph g (built for model m) in format fmt to f. Returns 0, -1 when
 * writing failed or memory ran out (e says which). */
int tk_graph_write(FILE *f, const tk_graph *g, const tk_model *m, int fmt, tk_error *e);

#endif
