/* template_parse.c: the template's source to a tree: raw text split at
 * {{ }}, {% %} and {# #} tags with Jinja's whitespace control and Hugging
 * Face's trim_blocks + lstrip_blocks, a lexer for inside the tags, and a
 * recursive-descent parser with Jinja's precedence (filters and tests bind
 * tightest, then * / // %, ~, + -, comparisons, not, and, or, a if c else
 * b). Nesting and tree depth are bounded, so evaluating the tree cannot
 * recurse without limit either. */
#include "template_int.h"
#include "../base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static size_t line_col(const J *j, size_t pos, size_t *col) {
    size_t line = 1, c = 1;
    for (size_t i = 0; i < pos && i < j->n; i++) {
        if (j->src[i] == '\n') line++, c = 1;
        else c++;
    }
    *col = c;
    return line;
}

void tk_tmpl_fail(J *j, size_t pos, int code, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++) /* one line, whatever the template's text holds */
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
    size_t col, line = line_col(j, pos, &col);
    j->code = code;
    tk_err(j->e, code, "template line %zu col %zu: %s", line, col, msg);
    longjmp(j->jb, 1);
}

void *tk_tmpl_alloc(J *j, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n > j->mem_max) tk_tmpl_fail(j, j->pos, TK_ENOMEM, "working memory limit exceeded");
    if (!j->mem || j->mem->cap - j->mem->used < n) {
        size_t cap = n > 60000 ? n : 60000;
        if (j->mem_total + cap > j->mem_max) tk_tmpl_fail(j, j->pos, TK_ENOMEM, "working memory limit (%zu bytes) exceeded", j->mem_max);
        blk *b = malloc(sizeof(blk) + 15 + cap);
        if (!b) tk_tmpl_fail(j, j->pos, TK_ENOMEM, "out of memory");
        b->next = j->mem, b->used = 0, b->cap = cap;
        b->base = (char *)(((uintptr_t)(b + 1) + 15) & ~(uintptr_t)15);
        j->mem = b;
        j->mem_total += cap;
    }
    void *p = j->mem->base + j->mem->used;
    j->mem->used += n;
    memset(p, 0, n);
    return p;
}


/* ---- lexer (inside a tag) ------------------------------------------------------ */

static int is_name0(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

static void lex(J *j) {
    const char *s = j->src;
    size_t n = j->n, p = j->pos;
    while (p < n && is_space(s[p])) p++;
    j->tpos = p;
    if (p >= n) { j->tk = T_EOF, j->pos = p; return; }
    int c = s[p];
    /* the end of the tag: [-]}} or [-]%} */
    int trim = c == '-' && p + 2 < n && (s[p + 1] == '}' || s[p + 1] == '%') && s[p + 2] == '}';
    size_t q = p + (size_t)trim;
    if (q + 1 < n && (s[q] == '}' || s[q] == '%') && s[q + 1] == '}') {
        j->tk = T_END, j->tend = s[q], j->ttrim = trim, j->pos = q + 2;
        return;
    }
    if (is_name0(c)) {
        size_t b = p;
        while (p < n && (is_name0(s[p]) || is_digit(s[p]))) p++;
        j->tk = T_NAME, j->tstr = (jstr){s + b, p - b}, j->pos = p;
        return;
    }
    if (is_digit(c)) {
        int64_t v = 0;
        while (p < n && is_digit(s[p])) {
            if (v > (INT64_MAX - (s[p] - '0')) / 10) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "integer literal too large");
            v = v * 10 + (s[p++] - '0');
        }
        if (p < n && (s[p] == '.' || is_name0(s[p]))) tk_tmpl_fail(j, j->tpos, TK_EUNSUPPORTED, "only integer number literals are supported");
        j->tk = T_INT, j->tint = v, j->pos = p;
        return;
    }
    if (c == '\'' || c == '"') {
        /* decode escapes into a copy; the copy is never longer */
        size_t b = ++p, k = 0;
        while (p < n && s[p] != c) p += s[p] == '\\' && p + 1 < n ? 2 : 1;
        if (p >= n) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "unterminated string literal");
        char *d = tk_tmpl_alloc(j, p - b + 1);
        for (size_t i = b; i < p; i++) {
            if (s[i] != '\\') { d[k++] = s[i]; continue; }
            char e = s[++i];
            d[k++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
        }
        j->tk = T_STR, j->tstr = (jstr){d, k}, j->pos = p + 1;
        return;
    }
    static const char *const two[] = {"==", "!=", "<=", ">=", "//", "**"};
    for (size_t i = 0; i < sizeof two / sizeof *two; i++)
        if (p + 1 < n && s[p] == two[i][0] && s[p + 1] == two[i][1]) {
            j->tk = T_OP, j->top = OP2(s[p], s[p + 1]), j->pos = p + 2;
            return;
        }
    if (strchr("()[]{}.,:|~+-*/%<>=", c)) {
        j->tk = T_OP, j->top = c, j->pos = p + 1;
        return;
    }
    tk_tmpl_fail(j, p, TK_EFORMAT, "unexpected character '%c' in a tag", c >= 32 && c < 127 ? c : '?');
}

static int is_op(J *j, int op) { return j->tk == T_OP && j->top == op; }
static int is_kw(J *j, const char *kw) { return j->tk == T_NAME && str_is(j->tstr, kw); }
static void expect_op(J *j, int op, const char *what) {
    if (!is_op(j, op)) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "expected %s", what);
    lex(j);
}
static jstr expect_name(J *j, const char *what) {
    if (j->tk != T_NAME) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "expected %s", what);
    jstr s = j->tstr;
    lex(j);
    return s;
}

/* ---- expression parser ----------------------------------------------------------- */

static jn *mk(J *j, int kind, size_t pos, jn *a, jn *b) {
    jn *x = tk_tmpl_alloc(j, sizeof *x);
    x->kind = kind, x->pos = pos, x->a = a, x->b = b;
    int d = 0;
    if (a && a->depth > d) d = a->depth;
    if (b && b->depth > d) d = b->depth;
    x->depth = d + 1;
    if (x->depth > MAX_TREE) tk_tmpl_fail(j, pos, TK_EFORMAT, "expression nested too deeply (over %d levels)", MAX_TREE);
    return x;
}
static void deepen(J *j, jn *x, jn *child) {
    if (child && child->depth + 1 > x->depth) x->depth = child->depth + 1;
    if (x->depth > MAX_TREE) tk_tmpl_fail(j, x->pos, TK_EFORMAT, "expression nested too deeply (over %d levels)", MAX_TREE);
}

static jn *parse_expr(J *j);

static void enter(J *j) {
    if (++j->depth > MAX_DEPTH) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "nested too deeply (over %d levels)", MAX_DEPTH);
}

/* ( args ) after a callee or filter name: positional and name=value */
static jn *parse_args(J *j, jn *call) {
    jn *head = NULL, **tail = &head;
    int n = 0;
    lex(j); /* ( */
    while (!is_op(j, ')')) {
        if (++n > MAX_ARGS) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "too many arguments");
        jn *arg;
        if (j->tk == T_NAME) {
            /* name=value? look one token ahead */
            size_t save = j->pos;
            jstr name = j->tstr;
            size_t npos = j->tpos;
            lex(j);
            if (is_op(j, '=')) {
                lex(j);
                arg = mk(j, N_KWARG, npos, parse_expr(j), NULL);
                arg->s = name;
            } else {
                j->pos = save - name.n; /* re-lex the name as an expression */
                lex(j);
                arg = parse_expr(j);
            }
        } else {
            arg = parse_expr(j);
        }
        deepen(j, call, arg);
        *tail = arg, tail = &arg->next;
        if (!is_op(j, ',')) break;
        lex(j);
    }
    expect_op(j, ')', "')' after the arguments");
    return head;
}

static jn *parse_primary(J *j) {
    size_t pos = j->tpos;
    jn *x;
    if (j->tk == T_STR) {
        /* adjacent literals concatenate: 'a' 'b' */
        x = mk(j, N_LIT, pos, NULL, NULL);
        x->v.t = V_STR, x->v.s = j->tstr;
        lex(j);
        while (j->tk == T_STR) {
            jstr a = x->v.s, b = j->tstr;
            char *c = tk_tmpl_alloc(j, a.n + b.n + 1);
            memcpy(c, a.s, a.n), memcpy(c + a.n, b.s, b.n);
            x->v.s = (jstr){c, a.n + b.n};
            lex(j);
        }
        return x;
    }
    if (j->tk == T_INT) {
        x = mk(j, N_LIT, pos, NULL, NULL);
        x->v.t = V_INT, x->v.i = j->tint;
        lex(j);
        return x;
    }
    if (j->tk == T_NAME) {
        x = mk(j, N_LIT, pos, NULL, NULL);
        if (is_kw(j, "true") || is_kw(j, "True")) x->v.t = V_BOOL, x->v.i = 1;
        else if (is_kw(j, "false") || is_kw(j, "False")) x->v.t = V_BOOL, x->v.i = 0;
        else if (is_kw(j, "none") || is_kw(j, "None")) x->v.t = V_NONE;
        else x->kind = N_NAME, x->s = j->tstr;
        lex(j);
        return x;
    }
    if (is_op(j, '(')) {
        enter(j);
        lex(j);
        x = parse_expr(j);
        expect_op(j, ')', "')'");
        j->depth--;
        return x;
    }
    if (is_op(j, '[') || is_op(j, '{')) {
        int dict = is_op(j, '{');
        enter(j);
        lex(j);
        x = mk(j, dict ? N_DICT : N_LIST, pos, NULL, NULL);
        jn **tail = &x->b;
        int n = 0;
        while (!is_op(j, dict ? '}' : ']')) {
            if (++n > 4096) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "literal too long");
            jn *it = parse_expr(j);
            if (dict) {
                expect_op(j, ':', "':' in a dict literal");
                it = mk(j, N_KWARG, it->pos, it, parse_expr(j));
            }
            deepen(j, x, it);
            *tail = it, tail = &it->next;
            if (!is_op(j, ',')) break;
            lex(j);
        }
        expect_op(j, dict ? '}' : ']', dict ? "'}'" : "']'");
        j->depth--;
        return x;
    }
    if (j->tk == T_END || j->tk == T_EOF) tk_tmpl_fail(j, pos, TK_EFORMAT, "expected an expression");
    tk_tmpl_fail(j, pos, TK_EFORMAT, "unexpected '%c' where an expression should start", j->src[pos]);
}

/* postfix: .name  [index]  [a:b:c]  (args) */
static jn *parse_postfix(J *j, jn *x) {
    for (;;) {
        size_t pos = j->tpos;
        if (is_op(j, '.')) {
            lex(j);
            jn *y = mk(j, N_ATTR, pos, x, NULL);
            y->s = expect_name(j, "an attribute name after '.'");
            x = y;
        } else if (is_op(j, '[')) {
            enter(j);
            lex(j);
            jn *idx[3] = {NULL, NULL, NULL};
            int k = 0, slice = 0;
            for (;;) {
                if (!is_op(j, ':') && !is_op(j, ']')) idx[k] = parse_expr(j);
                if (!is_op(j, ':') || k == 2) break;
                slice = 1, k++;
                lex(j);
            }
            expect_op(j, ']', "']'");
            j->depth--;
            if (slice) {
                x = mk(j, N_SLICE, pos, x, idx[0]);
                x->c = idx[1], x->d = idx[2];
                deepen(j, x, idx[1]), deepen(j, x, idx[2]);
            } else {
                if (!idx[0]) tk_tmpl_fail(j, pos, TK_EFORMAT, "empty subscript");
                x = mk(j, N_INDEX, pos, x, idx[0]);
            }
        } else if (is_op(j, '(')) {
            x = mk(j, N_CALL, x->pos, x, NULL); /* errors point at the callee */
            x->b = parse_args(j, x);
        } else {
            return x;
        }
    }
}

/* filters and tests bind tighter than any operator: a + b | trim is a + (b|trim) */
static jn *parse_filters(J *j, jn *x) {
    for (;;) {
        size_t pos = j->tpos;
        if (is_op(j, '|')) {
            lex(j);
            x = mk(j, N_FILTER, pos, x, NULL);
            x->s = expect_name(j, "a filter name after '|'");
            if (is_op(j, '(')) x->b = parse_args(j, x);
        } else if (is_kw(j, "is")) {
            lex(j);
            x = mk(j, N_TEST, pos, x, NULL);
            if (is_kw(j, "not")) x->op = 1, lex(j);
            /* "is none" / "is true": keywords as test names */
            x->s = expect_name(j, "a test name after 'is'");
            if (is_op(j, '(')) x->b = parse_args(j, x);
            else if (j->tk == T_STR || j->tk == T_INT) { /* is equalto 'x' */
                jn *arg = parse_primary(j);
                x->b = arg;
                deepen(j, x, arg);
            }
        } else {
            return x;
        }
    }
}

static jn *parse_unary(J *j) {
    size_t pos = j->tpos;
    if (is_op(j, '-') || is_op(j, '+')) {
        int neg = is_op(j, '-');
        enter(j);
        lex(j);
        jn *x = parse_unary(j);
        j->depth--;
        return neg ? mk(j, N_NEG, pos, x, NULL) : x;
    }
    return parse_filters(j, parse_postfix(j, parse_primary(j)));
}

static jn *bin(J *j, int op, size_t pos, jn *a, jn *b) {
    jn *x = mk(j, N_BIN, pos, a, b);
    x->op = op;
    return x;
}

static jn *parse_mul(J *j) {
    jn *x = parse_unary(j);
    for (;;) {
        size_t pos = j->tpos;
        int op = is_op(j, '*') ? OP_MUL : is_op(j, '/') ? OP_DIV : is_op(j, OP2('/', '/')) ? OP_FDIV : is_op(j, '%') ? OP_MOD : 0;
        if (!op) return x;
        lex(j);
        x = bin(j, op, pos, x, parse_unary(j));
    }
}

static jn *parse_cat(J *j) {
    jn *x = parse_mul(j);
    while (is_op(j, '~')) {
        size_t pos = j->tpos;
        lex(j);
        x = bin(j, OP_CAT, pos, x, parse_mul(j));
    }
    return x;
}

static jn *parse_add(J *j) {
    jn *x = parse_cat(j);
    for (;;) {
        size_t pos = j->tpos;
        int op = is_op(j, '+') ? OP_ADD : is_op(j, '-') ? OP_SUB : 0;
        if (!op) return x;
        lex(j);
        x = bin(j, op, pos, x, parse_cat(j));
    }
}

static jn *parse_cmp(J *j) {
    jn *x = parse_add(j);
    for (;;) {
        size_t pos = j->tpos;
        int op = is_op(j, OP2('=', '=')) ? OP_EQ : is_op(j, OP2('!', '=')) ? OP_NE : is_op(j, OP2('<', '=')) ? OP_LE
               : is_op(j, OP2('>', '=')) ? OP_GE : is_op(j, '<') ? OP_LT : is_op(j, '>') ? OP_GT : is_kw(j, "in") ? OP_IN : 0;
        if (!op && is_kw(j, "not")) {
            /* "not in": only when 'in' follows */
            size_t save = j->pos;
            lex(j);
            if (!is_kw(j, "in")) { j->pos = save - 3, lex(j); return x; }
            op = OP_NOTIN;
        }
        if (!op) return x;
        lex(j);
        x = bin(j, op, pos, x, parse_add(j));
    }
}

static jn *parse_not(J *j) {
    if (is_kw(j, "not")) {
        size_t pos = j->tpos;
        enter(j);
        lex(j);
        jn *x = mk(j, N_NOT, pos, parse_not(j), NULL);
        j->depth--;
        return x;
    }
    return parse_cmp(j);
}

static jn *parse_and(J *j) {
    jn *x = parse_not(j);
    while (is_kw(j, "and")) {
        size_t pos = j->tpos;
        lex(j);
        x = mk(j, N_AND, pos, x, parse_not(j));
    }
    return x;
}

static jn *parse_or(J *j) {
    jn *x = parse_and(j);
    while (is_kw(j, "or")) {
        size_t pos = j->tpos;
        lex(j);
        x = mk(j, N_OR, pos, x, parse_and(j));
    }
    return x;
}

/* a if cond [else b] */
static jn *parse_expr(J *j) {
    enter(j);
    jn *x = parse_or(j);
    if (is_kw(j, "if")) {
        size_t pos = j->tpos;
        lex(j);
        jn *c = parse_or(j);
        jn *y = mk(j, N_COND, pos, x, c);
        if (is_kw(j, "else")) {
            lex(j);
            y->c = parse_expr(j);
            deepen(j, y, y->c);
        }
        x = y;
    }
    j->depth--;
    return x;
}

/* ---- statement parser ------------------------------------------------------------- */

static int is_ws_line(int c) { return c == ' ' || c == '\t'; }

/* The end of a tag (}} or %}); remembers '-' for the next text, and for
 * block tags applies trim_blocks (drop one newline right after). */
static void end_tag(J *j, int kind) {
    if (j->tk != T_END || j->tend != kind)
        tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "expected '%s' to close the tag", kind == '%' ? "%}" : "}}");
    j->lstrip_next = j->ttrim;
    if (kind == '%' && !j->ttrim) {
        if (j->pos < j->n && j->src[j->pos] == '\n') j->pos++;
        else if (j->pos + 1 < j->n && j->src[j->pos] == '\r' && j->src[j->pos + 1] == '\n') j->pos += 2;
    }
}

static jn *parse_body(J *j, const char *const *ends, jstr *end_kw, size_t *end_pos);

static jn *parse_if(J *j, size_t pos) {
    jn *x = mk(j, N_IF, pos, parse_expr(j), NULL);
    end_tag(j, '%');
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    jstr kw;
    size_t kpos;
    x->b = parse_body(j, ends, &kw, &kpos);
    if (str_is(kw, "elif")) {
        enter(j); /* an elif chain is nesting too (parsed and run recursively) */
        x->c = parse_if(j, kpos);
        j->depth--;
        return x;
    }
    if (str_is(kw, "else")) {
        end_tag(j, '%');
        static const char *const ends2[] = {"endif", NULL};
        x->c = parse_body(j, ends2, &kw, &kpos);
    }
    end_tag(j, '%');
    return x;
}

static jn *parse_for(J *j, size_t pos) {
    jn *x = mk(j, N_FOR, pos, NULL, NULL);
    x->s = expect_name(j, "a loop variable after 'for'");
    if (is_op(j, ',')) {
        lex(j);
        x->s2 = expect_name(j, "a second loop variable");
    }
    if (!is_kw(j, "in")) tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "expected 'in' in the for loop");
    lex(j);
    x->a = parse_or(j); /* not parse_expr: 'if' here filters the loop */
    if (is_kw(j, "if")) {
        lex(j);
        x->d = parse_expr(j);
    }
    if (is_kw(j, "recursive")) tk_tmpl_fail(j, j->tpos, TK_EUNSUPPORTED, "recursive loops are not supported");
    end_tag(j, '%');
    static const char *const ends[] = {"else", "endfor", NULL};
    jstr kw;
    size_t kpos;
    x->b = parse_body(j, ends, &kw, &kpos);
    if (str_is(kw, "else")) {
        end_tag(j, '%');
        static const char *const ends2[] = {"endfor", NULL};
        x->c = parse_body(j, ends2, &kw, &kpos);
    }
    end_tag(j, '%');
    return x;
}

static jn *parse_set(J *j, size_t pos) {
    jn *x = mk(j, N_SET, pos, NULL, NULL);
    x->s = expect_name(j, "a variable name after 'set'");
    if (is_op(j, '.')) {
        lex(j);
        x->s2 = expect_name(j, "an attribute name");
    }
    if (!is_op(j, '=')) {
        if (j->tk == T_END) tk_tmpl_fail(j, j->tpos, TK_EUNSUPPORTED, "block {%% set %%} is not supported");
        tk_tmpl_fail(j, j->tpos, TK_EFORMAT, "expected '=' in set");
    }
    lex(j);
    x->a = parse_expr(j);
    end_tag(j, '%');
    return x;
}

/* Text and tags up to a {% KEYWORD %} in ends (NULL-terminated; NULL
 * itself: up to the end of the source). On return the lexer stands after
 * that keyword and *end_kw names it. */
static jn *parse_body(J *j, const char *const *ends, jstr *end_kw, size_t *end_pos) {
    jn *head = NULL, **tail = &head;
    const char *s = j->src;
    size_t n = j->n;
    enter(j);
    for (;;) {
        /* raw text up to the next tag */
        size_t b = j->pos, p = b;
        while (p + 1 < n && !(s[p] == '{' && (s[p + 1] == '{' || s[p + 1] == '%' || s[p + 1] == '#'))) p++;
        if (p + 1 >= n) p = n;
        size_t tb = b, te = p;
        if (j->lstrip_next)
            while (tb < te && is_space(s[tb])) tb++;
        j->lstrip_next = 0;
        int tag = p < n ? s[p + 1] : 0;
        int minus = p + 2 < n && s[p + 2] == '-', plus = p + 2 < n && s[p + 2] == '+';
        if (tag && minus) {
            while (te > tb && is_space(s[te - 1])) te--;
        } else if ((tag == '%' || tag == '#') && !plus) {
            /* lstrip_blocks: spaces and tabs from the start of the line */
            size_t k = te;
            while (k > tb && is_ws_line(s[k - 1])) k--;
            if ((k > tb && s[k - 1] == '\n') || (k == tb && (k == 0 || s[k - 1] == '\n'))) te = k;
        }
        if (te > tb) {
            jn *t = mk(j, N_TEXT, tb, NULL, NULL);
            t->s = (jstr){s + tb, te - tb};
            *tail = t, tail = &t->next;
        }
        if (!tag) {
            if (ends) {
                int k = 0;
                while (ends[k + 1]) k++;
                tk_tmpl_fail(j, n, TK_EFORMAT, "unexpected end of template: a block is not closed (expected {%% %s %%})", ends[k]);
            }
            *end_kw = (jstr){"", 0};
            j->pos = n;
            j->depth--;
            return head;
        }
        size_t tagpos = p;
        j->pos = p + 2 + (size_t)(minus || plus);
        if (tag == '#') {
            size_t q = j->pos;
            while (q + 1 < n && !(s[q] == '#' && s[q + 1] == '}')) q++;
            if (q + 1 >= n) tk_tmpl_fail(j, tagpos, TK_EFORMAT, "unterminated comment");
            int trim = q > j->pos && s[q - 1] == '-';
            j->pos = q + 2;
            j->lstrip_next = trim;
            if (!trim && j->pos < n && s[j->pos] == '\n') j->pos++;
            continue;
        }
        lex(j);
        jn *st;
        if (tag == '{') {
            st = mk(j, N_OUT, tagpos, parse_expr(j), NULL);
            end_tag(j, '}');
        } else {
            size_t kpos = j->tpos;
            jstr kw = expect_name(j, "a statement keyword after '{%'");
            for (int i = 0; ends && ends[i]; i++)
                if (str_is(kw, ends[i])) {
                    *end_kw = kw, *end_pos = kpos;
                    j->depth--;
                    return head;
                }
            if (str_is(kw, "if")) st = parse_if(j, kpos);
            else if (str_is(kw, "for")) st = parse_for(j, kpos);
            else if (str_is(kw, "set")) st = parse_set(j, kpos);
            else if (str_is(kw, "break") || str_is(kw, "continue")) {
                st = mk(j, str_is(kw, "break") ? N_BREAK : N_CONTINUE, kpos, NULL, NULL);
                end_tag(j, '%');
            } else if (str_is(kw, "generation")) {
                /* transformers' marker of the assistant's tokens (for
                 * training masks): rendering just keeps the body */
                static const char *const gends[] = {"endgeneration", NULL};
                jstr gkw;
                size_t gpos;
                end_tag(j, '%');
                st = mk(j, N_IF, kpos, NULL, NULL);
                st->a = mk(j, N_LIT, kpos, NULL, NULL);
                st->a->v.t = V_BOOL, st->a->v.i = 1;
                st->b = parse_body(j, gends, &gkw, &gpos);
                end_tag(j, '%');
            } else if (str_is(kw, "macro") || str_is(kw, "call") || str_is(kw, "filter") || str_is(kw, "raw") ||
                       str_is(kw, "block") || str_is(kw, "include") || str_is(kw, "import") || str_is(kw, "extends") ||
                       str_is(kw, "with") || str_is(kw, "from"))
                tk_tmpl_fail(j, kpos, TK_EUNSUPPORTED, "{%% %.*s %%} is not supported", (int)kw.n, kw.s);
            else
                tk_tmpl_fail(j, kpos, TK_EFORMAT, "unexpected {%% %.*s %%}", (int)(kw.n > 40 ? 40 : kw.n), kw.s);
        }
        *tail = st, tail = &st->next;
    }
}

jn *tk_tmpl_parse(J *j) {
    jstr kw;
    size_t kpos;
    return parse_body(j, NULL, &kw, &kpos);
}
