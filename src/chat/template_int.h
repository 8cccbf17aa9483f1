/* template_int.h: the inside of the template interpreter, shared by
 * template_parse.c (source -> tree) and template_eval.c (tree -> text):
 * values, tree nodes, and the context both work in. Errors longjmp back to
 * tk_tmpl_render through tk_tmpl_fail; all memory comes from one arena
 * (tk_tmpl_alloc) freed at the end. Not part of the public API. */
#ifndef TK_CHAT_TEMPLATE_INT_H
#define TK_CHAT_TEMPLATE_INT_H

#include "template.h"

#include <setjmp.h>
#include <stdint.h>
#include <string.h>

enum { MAX_DEPTH = 100,       /* nested blocks / parentheses / unary ops  */
       MAX_TREE = 256,        /* depth of an expression tree (a+b+c+...)  */
       MAX_ARGS = 64 };       /* arguments of one call                    */

/* ---- values ---------------------------------------------------------------- */

typedef struct { const char *s; size_t n; } jstr;
typedef struct jv jv;
typedef struct jlist { int n; jv *a; } jlist;
typedef struct jdict { int n, cap; jstr *k; jv *v; } jdict;
enum { V_UNDEF, V_NONE, V_BOOL, V_INT, V_STR, V_LIST, V_DICT };
struct jv {
    int t;
    union { int64_t i; jstr s; jlist *l; jdict *d; };
};

/* ---- tree ------------------------------------------------------------------ */

enum {
    /* statements */
    N_TEXT, N_OUT, N_IF, N_FOR, N_SET, N_BREAK, N_CONTINUE,
    /* expressions */
    N_LIT, N_NAME, N_ATTR, N_INDEX, N_SLICE, N_CALL, N_FILTER, N_TEST, N_BIN, N_NOT, N_NEG,
    N_AND, N_OR, N_COND, N_LIST, N_DICT, N_KWARG,
};
/* binary operators (N_BIN op) */
enum { OP_EQ = 1, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE, OP_IN, OP_NOTIN, OP_ADD, OP_SUB, OP_MUL,
       OP_DIV, OP_FDIV, OP_MOD, OP_CAT };

typedef struct jn jn;
struct jn {
    int kind, op, depth;
    size_t pos;          /* source offset, for errors */
    jn *a, *b, *c, *d;   /* children (meaning per kind, see the parser) */
    jn *next;            /* next statement / argument / list item       */
    jstr s, s2;          /* names, text                                 */
    jv v;                /* N_LIT                                       */
};

/* ---- context ---------------------------------------------------------------- */

typedef struct blk { struct blk *next; char *base; size_t used, cap; } blk;

typedef struct var { struct var *next; jstr name; jv v; int scope; } var;

typedef struct J {
    jmp_buf jb;
    tk_error *e;
    int code;          /* the failure's tk_status */
    int rdepth;        /* recursion of printing / comparing nested values */
    const char *src;
    size_t n;
    /* arena */
    blk *mem;
    size_t mem_total, mem_max;
    /* parser */
    size_t pos;        /* lexer position                              */
    int lstrip_next;   /* the last tag ended with '-': strip the next text's leading space */
    int depth;         /* nesting of blocks / parentheses              */
    /* lexer token */
    int tk;            /* T_*                                         */
    size_t tpos;
    jstr tstr;         /* T_NAME, T_STR (decoded)                      */
    int64_t tint;
    int top;           /* T_OP: operator code (chars packed)           */
    int tend;          /* T_END: '}' or '%', and trim flag              */
    int ttrim;
    /* evaluator */
    var *vars;
    int scope;
    long steps, max_steps;
    char *out;
    size_t out_n, out_cap, out_max;
} J;

enum { T_EOF, T_NAME, T_STR, T_INT, T_OP, T_END };
#define OP2(a, b) ((a) << 8 | (b))

/* Format an error (one line, with the line and column of pos) into j->e
 * and jump back to tk_tmpl_render. */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 4, 5)))
#endif
void tk_tmpl_fail(J *j, size_t pos, int code, const char *fmt, ...);
/* n zeroed bytes from the arena (fails past the working-memory limit) */
void *tk_tmpl_alloc(J *j, size_t n);
/* the whole source as a statement list */
jn *tk_tmpl_parse(J *j);

static inline int str_is(jstr a, const char *b) { return a.n == strlen(b) && memcmp(a.s, b, a.n) == 0; }
static inline int str_eq(jstr a, jstr b) { return a.n == b.n && memcmp(a.s, b.s, a.n) == 0; }
static inline int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

#endif
