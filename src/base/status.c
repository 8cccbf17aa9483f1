#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tk_err(tk_error *e, int code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

void tk_err_prefix(tk_error *e, const char *prefix) {
    if (!e || !prefix) return;
    size_t pl = strlen(prefix), cap = sizeof e->msg;
    if (pl + 2 >= cap) return;
    size_t ml = strnlen(e->msg, cap - 1);
    if (pl + 2 + ml >= cap) ml = cap - 1 - pl - 2;
    memmove(e->msg + pl + 2, e->msg, ml);
    memcpy(e->msg, prefix, pl);
    e->msg[pl] = ':', e->msg[pl + 1] = ' ';
    e->msg[pl + 2 + ml] = 0;
}

void tk_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "tick: internal error: %s:%d: assertion '%s' failed\n", file, line, expr);
    abort();
}
