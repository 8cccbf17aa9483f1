/* cmd_graph.c: `tick graph`: the computation graph one tick runs, as
 * Mermaid or Graphviz DOT on stdout (src/clock/graphviz.c draws it). The
 * graph is the one a session builds; a context of one position is enough
 * to build it, and nothing is run. */
#include "cli.h"
#include "../src/clock/graphviz.h"
#include "../src/runtime/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_graph(int argc, char **argv);

int cmd_graph(int argc, char **argv) {
    int fmt = TK_GRAPH_MERMAID;
    /* take --format NAME out; the rest goes to the shared parser */
    char **av = malloc(((size_t)argc + 1) * sizeof *av);
    if (!av) { fprintf(stderr, "tick graph: out of memory\n"); return 1; }
    int ac = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i >= 2 && !strcmp(a, "--format")) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            if (v && !strcmp(v, "mermaid")) fmt = TK_GRAPH_MERMAID;
            else if (v && !strcmp(v, "dot")) fmt = TK_GRAPH_DOT;
            else {
                if (v) fprintf(stderr, "tick graph: --format '%s': expected mermaid or dot\n", v);
                else fprintf(stderr, "tick graph: --format: needs a value (mermaid or dot)\n");
                free(av);
                return 2;
            }
            continue;
        }
        av[ac++] = argv[i];
        if (i >= 2 && a[0] == '-' && a[1] && i + 1 < argc) av[ac++] = argv[++i];
    }
    av[ac] = NULL;
    cli_opts o;
    int rc = cli_parse(ac, av, 2, F_MODEL, "graph", &o);
    free(av);
    if (rc) return rc;
    o.no_repack = 1; /* the graph is drawn, not run */
    tk_model *m = cli_load(&o);
    if (!m) return 1;
    tk_error e = {0};
    tk_session_opts so = {.n_ctx = 1, .n_threads = 1};
    tk_session *s = tk_session_new(m, &so, &e);
    int status = 1;
    if (!s) fprintf(stderr, "tick graph: %s\n", e.msg);
    else if (tk_graph_write(stdout, tk_session_graph(s), m, fmt, &e) != TK_OK) fprintf(stderr, "tick graph: %s\n", e.msg);
    else if (fflush(stdout) != 0) fprintf(stderr, "tick graph: writing to stdout failed\n");
    else status = 0;
    tk_session_free(s);
    tk_model_free(m);
    return status;
}
