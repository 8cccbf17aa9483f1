/* status.h: status codes and error messages.
 *
 * Every fallible call in the library returns a tk_status (0 = ok, negative
 * = failure) and, when given a tk_error, writes one human-readable line into
 * it naming the file/flag/object and the problem. Nothing below apps/ prints
 * or exits. Broken invariants (bugs, not bad input) use TK_ASSERT, which is
 * always on and aborts with file:line. */
#ifndef TK_BASE_STATUS_H
#define TK_BASE_STATUS_H

#include "tick.h"

/* Format a message into e (if e is non-NULL) and return code. */
int tk_err(tk_error *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix an existing message with "prefix: " (used to add a file name). */
void tk_err_prefix(tk_error *e, const char *prefix);

void tk_assert_fail(const char *expr, const char *file, int line);
#define TK_ASSERT(x) ((x) ? (void)0 : tk_assert_fail(#x, __FILE__, __LINE__))

/* Overflow-checked size arithmetic: return 0 on success, 1 on overflow. */
static inline int tk_mul_ovf(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline int tk_add_ovf(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_add_overflow(a, b, r); }

#endif
