/* template_eval.c: running a template's tree (template_parse.c): values
 * (undefined, none, booleans, integers, strings, lists, dicts), Jinja's
 * scoping, the filters, tests, methods and globals of template.h, the
 * step / memory / output limits; and tk_tmpl_render, which ties it up. */
#include "template_int.h"
#include "../base/status.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- evaluator ---------------------------------------------------------------------- */

static const jv UNDEF = {.t = V_UNDEF};

static void step(J *j, size_t pos) {
    if (++j->steps > j->max_steps) tk_tmpl_fail(j, pos, TK_ENOMEM, "step limit (%ld) exceeded: the template loops too long", j->max_steps);
}

static jv mkstr(jstr s) { jv v = {.t = V_STR}; v.s = s; return v; }
static jv mkint(int64_t i) { jv v = {.t = V_INT}; v.i = i; return v; }
static jv mkbool(int b) { jv v = {.t = V_BOOL}; v.i = b != 0; return v; }

static const char *type_name(int t) {
    static const char *const names[] = {"undefined", "none", "boolean", "integer", "string", "list", "dict"};
    return names[t];
}

static int truthy(jv v) {
    switch (v.t) {
    case V_BOOL: case V_INT: return v.i != 0;
    case V_STR: return v.s.n > 0;
    case V_LIST: return v.l->n > 0;
    case V_DICT: return v.d->n > 0;
    default: return 0;
    }
}

/* a growable string in the arena */
typedef struct sb { char *p; size_t n, cap; } sb;
static void sb_put(J *j, sb *b, const char *s, size_t n) {
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap - b->n < n) {
            if (cap > j->mem_max) tk_tmpl_fail(j, j->pos, TK_ENOMEM, "working memory limit exceeded");
            cap *= 2;
        }
        char *p = tk_tmpl_alloc(j, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void sb_str(J *j, sb *b, const char *s) { sb_put(j, b, s, strlen(s)); }

static void to_text(J *j, sb *b, jv v, int repr);

static void nest(J *j, int d) {
    j->rdepth += d;
    if (j->rdepth > MAX_DEPTH) tk_tmpl_fail(j, j->pos, TK_EINVAL, "value nested too deeply (over %d levels)", MAX_DEPTH);
}

/* [a, b] or {k: v}, each element (and key) printed by p: JSON for tojson,
 * Python's repr for str() */
typedef void (*printer)(J *j, sb *b, jv v);
static void container(J *j, sb *b, jv v, printer p) {
    int list = v.t == V_LIST, n = list ? v.l->n : v.d->n;
    sb_put(j, b, list ? "[" : "{", 1);
    nest(j, 1);
    for (int i = 0; i < n; i++) {
        if (i) sb_str(j, b, ", ");
        step(j, j->pos);
        if (list) {
            p(j, b, v.l->a[i]);
        } else {
            p(j, b, mkstr(v.d->k[i]));
            sb_str(j, b, ": ");
            p(j, b, v.d->v[i]);
        }
    }
    nest(j, -1);
    sb_put(j, b, list ? "]" : "}", 1);
}

static void repr_text(J *j, sb *b, jv v) { to_text(j, b, v, 1); }

static void json(J *j, sb *b, jv v) {
    char num[32];
    switch (v.t) {
    case V_UNDEF: case V_NONE: sb_str(j, b, "null"); return;
    case V_BOOL: sb_str(j, b, v.i ? "true" : "false"); return;
    case V_INT: snprintf(num, sizeof num, "%lld", (long long)v.i); sb_str(j, b, num); return;
    case V_STR:
        sb_put(j, b, "\"", 1);
        for (size_t i = 0; i < v.s.n; i++) {
            unsigned char c = (unsigned char)v.s.s[i];
            if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; sb_put(j, b, e, 2); }
            else if (c == '\n') sb_str(j, b, "\\n");
            else if (c == '\t') sb_str(j, b, "\\t");
            else if (c == '\r') sb_str(j, b, "\\r");
            else if (c < 0x20) { snprintf(num, sizeof num, "\\u%04x", c); sb_str(j, b, num); }
            else sb_put(j, b, (const char *)&c, 1);
        }
        sb_put(j, b, "\"", 1);
        return;
    case V_LIST: case V_DICT: container(j, b, v, json); return;
    }
}

/* str(v) as Python/Jinja print it; repr: strings quoted (inside lists) */
static void to_text(J *j, sb *b, jv v, int repr) {
    char num[32];
    switch (v.t) {
    case V_UNDEF: return;
    case V_NONE: sb_str(j, b, "None"); return;
    case V_BOOL: sb_str(j, b, v.i ? "True" : "False"); return;
    case V_INT: snprintf(num, sizeof num, "%lld", (long long)v.i); sb_str(j, b, num); return;
    case V_STR:
        if (repr) sb_put(j, b, "'", 1);
        sb_put(j, b, v.s.s, v.s.n);
        if (repr) sb_put(j, b, "'", 1);
        return;
    case V_LIST: case V_DICT: container(j, b, v, repr_text); return;
    }
}

static jstr as_text(J *j, jv v) {
    if (v.t == V_STR) return v.s;
    sb b = {0};
    to_text(j, &b, v, 0);
    return (jstr){b.p ? b.p : "", b.n};
}

static jv dict_get(const jdict *d, jstr k);

static int eq(J *j, jv a, jv b) {
    step(j, j->pos);
    if ((a.t == V_INT || a.t == V_BOOL) && (b.t == V_INT || b.t == V_BOOL)) return a.i == b.i;
    if (a.t != b.t) return 0;
    switch (a.t) {
    case V_UNDEF: case V_NONE: return 1;
    case V_STR: return str_eq(a.s, b.s);
    case V_LIST:
        if (a.l->n != b.l->n) return 0;
        nest(j, 1);
        for (int i = 0; i < a.l->n; i++)
            if (!eq(j, a.l->a[i], b.l->a[i])) { nest(j, -1); return 0; }
        nest(j, -1);
        return 1;
    case V_DICT: /* equal keys with equal values, in any order */
        if (a.d == b.d) return 1;
        if (a.d->n != b.d->n) return 0;
        nest(j, 1);
        for (int i = 0; i < a.d->n; i++) {
            jv w = dict_get(b.d, a.d->k[i]);
            if (w.t == V_UNDEF || !eq(j, a.d->v[i], w)) { nest(j, -1); return 0; }
        }
        nest(j, -1);
        return 1;
    }
    return 0;
}

static jv dict_get(const jdict *d, jstr k) {
    for (int i = 0; i < d->n; i++)
        if (str_eq(d->k[i], k)) return d->v[i];
    return UNDEF;
}

static void dict_set(J *j, jdict *d, jstr k, jv v) {
    for (int i = 0; i < d->n; i++)
        if (str_eq(d->k[i], k)) { d->v[i] = v; return; }
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 8;
        jstr *nk = tk_tmpl_alloc(j, (size_t)cap * sizeof *nk);
        jv *nv = tk_tmpl_alloc(j, (size_t)cap * sizeof *nv);
        if (d->n) memcpy(nk, d->k, (size_t)d->n * sizeof *nk), memcpy(nv, d->v, (size_t)d->n * sizeof *nv);
        d->k = nk, d->v = nv, d->cap = cap;
    }
    d->k[d->n] = k, d->v[d->n] = v, d->n++;
}

static jv new_dict(J *j) {
    jv v = {.t = V_DICT};
    v.d = tk_tmpl_alloc(j, sizeof *v.d);
    return v;
}

static jv new_list(J *j, int n) {
    jv v = {.t = V_LIST};
    v.l = tk_tmpl_alloc(j, sizeof *v.l);
    v.l->n = n;
    v.l->a = n ? tk_tmpl_alloc(j, (size_t)n * sizeof *v.l->a) : NULL;
    return v;
}

static jv lookup(J *j, jstr name) {
    for (var *x = j->vars; x; x = x->next)
        if (str_eq(x->name, name)) return x->v;
    return UNDEF;
}

static void assign(J *j, jstr name, jv v) {
    for (var *x = j->vars; x && x->scope == j->scope; x = x->next)
        if (str_eq(x->name, name)) { x->v = v; return; }
    var *x = tk_tmpl_alloc(j, sizeof *x);
    x->name = name, x->v = v, x->scope = j->scope, x->next = j->vars;
    j->vars = x;
}

static jv eval(J *j, jn *x);
static jv select_items(J *j, jv v, jn *x, int attr, int keep);

static int64_t as_int(J *j, jv v, size_t pos, const char *what) {
    if (v.t != V_INT && v.t != V_BOOL) tk_tmpl_fail(j, pos, TK_EINVAL, "%s must be an integer, not %s", what, type_name(v.t));
    return v.i;
}

static void need_defined(J *j, jv v, jn *x) {
    if (v.t != V_UNDEF) return;
    if (x->kind == N_NAME) tk_tmpl_fail(j, x->pos, TK_EINVAL, "'%.*s' is undefined", (int)(x->s.n > 60 ? 60 : x->s.n), x->s.s);
    tk_tmpl_fail(j, x->pos, TK_EINVAL, "the value is undefined");
}

/* argument i (positional) of a call's list, or the one named name */
static jn *arg_at(jn *args, int i, const char *name) {
    int k = 0;
    for (jn *a = args; a; a = a->next) {
        if (a->kind == N_KWARG) {
            if (name && str_is(a->s, name)) return a->a;
        } else if (k++ == i) {
            return a;
        }
    }
    return NULL;
}
static int n_args(jn *args) {
    int n = 0;
    for (jn *a = args; a; a = a->next) n++;
    return n;
}

static jstr strip(jstr s, jstr chars, int left, int right) {
    size_t b = 0, e = s.n;
#define STRIPPED(c) (chars.s ? memchr(chars.s, (c), chars.n) != NULL : is_space(c))
    if (left) while (b < e && STRIPPED(s.s[b])) b++;
    if (right) while (e > b && STRIPPED(s.s[e - 1])) e--;
#undef STRIPPED
    return (jstr){s.s + b, e - b};
}

static jstr change_case(J *j, jstr s, int mode) { /* 0 lower, 1 upper, 2 capitalize, 3 title */
    char *d = tk_tmpl_alloc(j, s.n + 1);
    int start = 1;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.s[i];
        int up = mode == 1 || (mode == 2 && i == 0) || (mode == 3 && start);
        if (up && c >= 'a' && c <= 'z') c = (char)(c - 32);
        else if (!up && c >= 'A' && c <= 'Z') c = (char)(c + 32);
        start = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (unsigned char)c >= 0x80);
        d[i] = c;
    }
    return (jstr){d, s.n};
}

static int starts_with(jstr s, jstr p) { return p.n <= s.n && memcmp(s.s, p.s, p.n) == 0; }
static int ends_with(jstr s, jstr p) { return p.n <= s.n && memcmp(s.s + s.n - p.n, p.s, p.n) == 0; }

static jv items_of(J *j, jv d) {
    jv r = new_list(j, d.d->n);
    for (int i = 0; i < d.d->n; i++) {
        jv p = new_list(j, 2);
        p.l->a[0] = mkstr(d.d->k[i]), p.l->a[1] = d.d->v[i];
        r.l->a[i] = p;
    }
    return r;
}

static jv str_arg(J *j, jn *args, int i, const char *name, size_t pos, const char *fn) {
    jn *a = arg_at(args, i, name);
    if (!a) tk_tmpl_fail(j, pos, TK_EINVAL, "%s() needs a string argument", fn);
    jv v = eval(j, a);
    if (v.t != V_STR) tk_tmpl_fail(j, a->pos, TK_EINVAL, "%s() needs a string, not %s", fn, type_name(v.t));
    return v;
}

/* obj.name(args) */
static jv call_method(J *j, jv o, jstr name, jn *args, size_t pos) {
    if (o.t == V_STR) {
        jstr s = o.s;
        if (str_is(name, "strip") || str_is(name, "lstrip") || str_is(name, "rstrip")) {
            jstr chars = {NULL, 0};
            if (arg_at(args, 0, NULL)) {
                jv c = eval(j, arg_at(args, 0, NULL));
                if (c.t == V_STR) chars = c.s;
                else if (c.t != V_NONE) tk_tmpl_fail(j, pos, TK_EINVAL, "strip() needs a string");
            }
            return mkstr(strip(s, chars, name.s[0] != 'r', name.s[0] != 'l'));
        }
        if (str_is(name, "upper")) return mkstr(change_case(j, s, 1));
        if (str_is(name, "lower")) return mkstr(change_case(j, s, 0));
        if (str_is(name, "capitalize")) return mkstr(change_case(j, s, 2));
        if (str_is(name, "title")) return mkstr(change_case(j, s, 3));
        if (str_is(name, "startswith")) return mkbool(starts_with(s, str_arg(j, args, 0, NULL, pos, "startswith").s));
        if (str_is(name, "endswith")) return mkbool(ends_with(s, str_arg(j, args, 0, NULL, pos, "endswith").s));
        if (str_is(name, "replace")) {
            jstr a = str_arg(j, args, 0, NULL, pos, "replace").s, b = str_arg(j, args, 1, NULL, pos, "replace").s;
            if (!a.n) return o;
            sb r = {0};
            for (size_t i = 0; i < s.n;) {
                step(j, pos);
                if (i + a.n <= s.n && memcmp(s.s + i, a.s, a.n) == 0) sb_put(j, &r, b.s, b.n), i += a.n;
                else sb_put(j, &r, s.s + i, 1), i++;
            }
            return mkstr((jstr){r.p ? r.p : "", r.n});
        }
        if (str_is(name, "split")) {
            jn *sa = arg_at(args, 0, NULL);
            jv sepv = sa ? eval(j, sa) : (jv){.t = V_NONE};
            int n = 0;
            /* count, then fill */
            jv r = UNDEF;
            for (int pass = 0; pass < 2; pass++) {
                int k = 0;
                size_t i = 0;
                if (sepv.t == V_STR && sepv.s.n) {
                    size_t b = 0;
                    for (i = 0; i + sepv.s.n <= s.n;) {
                        step(j, pos);
                        if (memcmp(s.s + i, sepv.s.s, sepv.s.n) == 0) {
                            if (pass) r.l->a[k] = mkstr((jstr){s.s + b, i - b});
                            k++, i += sepv.s.n, b = i;
                        } else i++;
                    }
                    if (pass) r.l->a[k] = mkstr((jstr){s.s + b, s.n - b});
                    k++;
                } else if (sepv.t == V_NONE) {
                    while (i < s.n) {
                        step(j, pos);
                        while (i < s.n && is_space(s.s[i])) i++;
                        if (i >= s.n) break;
                        size_t b = i;
                        while (i < s.n && !is_space(s.s[i])) i++;
                        if (pass) r.l->a[k] = mkstr((jstr){s.s + b, i - b});
                        k++;
                    }
                } else tk_tmpl_fail(j, pos, TK_EINVAL, "split() needs a non-empty string separator");
                if (!pass) n = k, r = new_list(j, n);
            }
            return r;
        }
    } else if (o.t == V_DICT) {
        if (str_is(name, "get")) {
            jv k = str_arg(j, args, 0, NULL, pos, "get");
            jv v = dict_get(o.d, k.s);
            jn *d = arg_at(args, 1, "default");
            return v.t != V_UNDEF ? v : d ? eval(j, d) : (jv){.t = V_NONE};
        }
        if (str_is(name, "items")) return items_of(j, o);
        if (str_is(name, "keys") || str_is(name, "values")) {
            jv r = new_list(j, o.d->n);
            for (int i = 0; i < o.d->n; i++) r.l->a[i] = name.s[0] == 'k' ? mkstr(o.d->k[i]) : o.d->v[i];
            return r;
        }
    }
    tk_tmpl_fail(j, pos, TK_EUNSUPPORTED, "%s has no method '%.*s' here", type_name(o.t), (int)(name.n > 40 ? 40 : name.n), name.s);
}

static jv call(J *j, jn *x) {
    jn *f = x->a, *args = x->b;
    if (f->kind == N_ATTR) {
        jv o = eval(j, f->a);
        need_defined(j, o, f->a);
        return call_method(j, o, f->s, args, x->pos);
    }
    if (f->kind != N_NAME) tk_tmpl_fail(j, x->pos, TK_EUNSUPPORTED, "only named functions and methods can be called");
    jstr name = f->s;
    if (str_is(name, "raise_exception")) {
        jn *a = arg_at(args, 0, NULL);
        jstr msg = a ? as_text(j, eval(j, a)) : (jstr){"", 0};
        tk_tmpl_fail(j, x->pos, TK_EINVAL, "raise_exception: %.*s", (int)(msg.n > 300 ? 300 : msg.n), msg.s);
    }
    if (str_is(name, "namespace")) {
        jv d = new_dict(j);
        for (jn *a = args; a; a = a->next) {
            if (a->kind != N_KWARG) tk_tmpl_fail(j, a->pos, TK_EUNSUPPORTED, "namespace() takes name=value arguments");
            dict_set(j, d.d, a->s, eval(j, a->a));
        }
        return d;
    }
    if (str_is(name, "range")) {
        int na = n_args(args);
        if (na < 1 || na > 3) tk_tmpl_fail(j, x->pos, TK_EINVAL, "range() takes 1 to 3 arguments");
        int64_t a = 0, b, st = 1;
        if (na == 1) b = as_int(j, eval(j, arg_at(args, 0, NULL)), x->pos, "range()'s argument");
        else {
            a = as_int(j, eval(j, arg_at(args, 0, NULL)), x->pos, "range()'s start");
            b = as_int(j, eval(j, arg_at(args, 1, NULL)), x->pos, "range()'s stop");
            if (na == 3) st = as_int(j, eval(j, arg_at(args, 2, NULL)), x->pos, "range()'s step");
        }
        if (st == 0) tk_tmpl_fail(j, x->pos, TK_EINVAL, "range() step must not be zero");
        /* the count in unsigned arithmetic: b - a may not fit an int64 */
        uint64_t cnt = 0;
        if (st > 0 && b > a) cnt = ((uint64_t)b - (uint64_t)a - 1) / (uint64_t)st + 1;
        if (st < 0 && a > b) cnt = ((uint64_t)a - (uint64_t)b - 1) / (0 - (uint64_t)st) + 1;
        if (cnt > 1000000 || cnt > (uint64_t)(j->max_steps - j->steps)) tk_tmpl_fail(j, x->pos, TK_ENOMEM, "range() too long");
        j->steps += (long)cnt; /* making the list is work too */
        jv r = new_list(j, (int)cnt);
        for (int64_t i = 0; i < (int64_t)cnt; i++) r.l->a[i] = mkint(a + i * st);
        return r;
    }
    tk_tmpl_fail(j, x->pos, TK_EUNSUPPORTED, "unknown function '%.*s'", (int)(name.n > 40 ? 40 : name.n), name.s);
}

static jv length_of(J *j, jv v, size_t pos) {
    if (v.t == V_STR) {
        int64_t n = 0; /* characters, not bytes */
        for (size_t i = 0; i < v.s.n; i++) n += ((unsigned char)v.s.s[i] & 0xC0) != 0x80;
        return mkint(n);
    }
    if (v.t == V_LIST) return mkint(v.l->n);
    if (v.t == V_DICT) return mkint(v.d->n);
    if (v.t == V_UNDEF) return mkint(0);
    tk_tmpl_fail(j, pos, TK_EINVAL, "%s has no length", type_name(v.t));
}

static jv filter(J *j, jn *x) {
    jv v = eval(j, x->a);
    jstr f = x->s;
    size_t pos = x->pos;
    if (str_is(f, "default") || str_is(f, "d")) {
        jn *d = arg_at(x->b, 0, "default_value");
        jn *b = arg_at(x->b, 1, "boolean");
        int use = v.t == V_UNDEF || (b && truthy(eval(j, b)) && !truthy(v));
        return use ? (d ? eval(j, d) : mkstr((jstr){"", 0})) : v;
    }
    if (str_is(f, "length") || str_is(f, "count")) return length_of(j, v, pos);
    if (str_is(f, "select") || str_is(f, "reject")) return select_items(j, v, x, 0, f.s[0] == 's');
    if (str_is(f, "selectattr") || str_is(f, "rejectattr")) return select_items(j, v, x, 1, f.s[0] == 's');
    if (str_is(f, "string")) return mkstr(as_text(j, v));
    if (str_is(f, "safe")) return v;
    if (str_is(f, "tojson")) {
        sb b = {0};
        json(j, &b, v);
        return mkstr((jstr){b.p ? b.p : "", b.n});
    }
    if (str_is(f, "items")) {
        if (v.t != V_DICT) tk_tmpl_fail(j, pos, TK_EINVAL, "items needs a dict, not %s", type_name(v.t));
        return items_of(j, v);
    }
    if (str_is(f, "trim") || str_is(f, "upper") || str_is(f, "lower") || str_is(f, "capitalize") || str_is(f, "title")) {
        if (v.t == V_UNDEF) v = mkstr((jstr){"", 0});
        jstr s = as_text(j, v);
        if (str_is(f, "trim")) {
            jn *c = arg_at(x->b, 0, "chars");
            jstr chars = {NULL, 0};
            if (c) chars = as_text(j, eval(j, c));
            return mkstr(strip(s, chars, 1, 1));
        }
        return mkstr(change_case(j, s, f.s[0] == 'u' ? 1 : f.s[0] == 'l' ? 0 : f.s[0] == 'c' ? 2 : 3));
    }
    if (str_is(f, "first") || str_is(f, "last")) {
        if (v.t == V_LIST) return v.l->n ? v.l->a[f.s[0] == 'f' ? 0 : v.l->n - 1] : UNDEF;
        if (v.t == V_STR) {
            if (!v.s.n) return UNDEF;
            return mkstr(f.s[0] == 'f' ? (jstr){v.s.s, 1} : (jstr){v.s.s + v.s.n - 1, 1});
        }
        tk_tmpl_fail(j, pos, TK_EINVAL, "%.*s needs a list, not %s", (int)f.n, f.s, type_name(v.t));
    }
    if (str_is(f, "list") || str_is(f, "reverse")) {
        jv r;
        if (v.t == V_LIST) {
            r = new_list(j, v.l->n);
            for (int i = 0; i < v.l->n; i++) r.l->a[i] = v.l->a[i];
        } else if (v.t == V_DICT) {
            r = new_list(j, v.d->n);
            for (int i = 0; i < v.d->n; i++) r.l->a[i] = mkstr(v.d->k[i]);
        } else if (v.t == V_STR && f.s[0] == 'r') {
            char *d = tk_tmpl_alloc(j, v.s.n + 1);
            for (size_t i = 0; i < v.s.n; i++) d[i] = v.s.s[v.s.n - 1 - i];
            return mkstr((jstr){d, v.s.n});
        } else tk_tmpl_fail(j, pos, TK_EINVAL, "%.*s needs a list, not %s", (int)f.n, f.s, type_name(v.t));
        if (f.s[0] == 'r')
            for (int i = 0; i < r.l->n / 2; i++) {
                jv t = r.l->a[i];
                r.l->a[i] = r.l->a[r.l->n - 1 - i], r.l->a[r.l->n - 1 - i] = t;
            }
        return r;
    }
    if (str_is(f, "join")) {
        if (v.t != V_LIST) tk_tmpl_fail(j, pos, TK_EINVAL, "join needs a list, not %s", type_name(v.t));
        jn *s = arg_at(x->b, 0, "d");
        jstr sep = s ? as_text(j, eval(j, s)) : (jstr){"", 0};
        sb b = {0};
        for (int i = 0; i < v.l->n; i++) {
            step(j, pos);
            if (i) sb_put(j, &b, sep.s, sep.n);
            to_text(j, &b, v.l->a[i], 0);
        }
        return mkstr((jstr){b.p ? b.p : "", b.n});
    }
    tk_tmpl_fail(j, pos, TK_EUNSUPPORTED, "unknown filter '%.*s'", (int)(f.n > 40 ? 40 : f.n), f.s);
}

/* Jinja test t on v with evaluated arguments args[0..na) */
static int apply_test(J *j, jstr t, jv v, const jv *args, int na, size_t pos) {
    if (str_is(t, "defined")) return v.t != V_UNDEF;
    if (str_is(t, "undefined")) return v.t == V_UNDEF;
    if (str_is(t, "none")) return v.t == V_NONE;
    if (str_is(t, "string")) return v.t == V_STR;
    if (str_is(t, "number") || str_is(t, "integer")) return v.t == V_INT;
    if (str_is(t, "boolean")) return v.t == V_BOOL;
    if (str_is(t, "true")) return v.t == V_BOOL && v.i;
    if (str_is(t, "false")) return v.t == V_BOOL && !v.i;
    if (str_is(t, "mapping")) return v.t == V_DICT;
    if (str_is(t, "sequence") || str_is(t, "iterable")) return v.t == V_LIST || v.t == V_STR || v.t == V_DICT;
    if (str_is(t, "odd") || str_is(t, "even")) return (as_int(j, v, pos, "odd/even's value") & 1) == (t.s[0] == 'o');
    if (str_is(t, "equalto") || str_is(t, "eq") || str_is(t, "==") || str_is(t, "sameas") ||
        str_is(t, "ne") || str_is(t, "!=")) {
        if (na < 1) tk_tmpl_fail(j, pos, TK_EINVAL, "test '%.*s' needs an argument", (int)t.n, t.s);
        int r = eq(j, v, args[0]);
        return t.s[0] == 'n' || t.s[0] == '!' ? !r : r;
    }
    tk_tmpl_fail(j, pos, TK_EUNSUPPORTED, "unknown test '%.*s'", (int)(t.n > 40 ? 40 : t.n), t.s);
}

/* the positional arguments of a call list, evaluated, from index `from` */
static int eval_args(J *j, jn *args, int from, jv *out, int cap) {
    int n = 0, k = 0;
    for (jn *a = args; a; a = a->next) {
        if (a->kind == N_KWARG) continue;
        if (k++ < from) continue;
        if (n < cap) out[n++] = eval(j, a);
    }
    return n;
}

static jv test(J *j, jn *x) {
    jv v = eval(j, x->a), args[4];
    int na = eval_args(j, x->b, 0, args, 4);
    int r = apply_test(j, x->s, v, args, na, x->pos);
    return mkbool(x->op ? !r : r);
}

/* select / reject (a test on each item) and selectattr / rejectattr (on an
 * attribute of each item; without a test, its truth) */
static jv select_items(J *j, jv v, jn *x, int attr, int keep) {
    if (v.t == V_UNDEF) return new_list(j, 0);
    if (v.t != V_LIST) tk_tmpl_fail(j, x->pos, TK_EINVAL, "%.*s needs a list, not %s", (int)x->s.n, x->s.s, type_name(v.t));
    jv a[5];
    int na = eval_args(j, x->b, 0, a, 5), base = attr ? 1 : 0;
    if (attr && (na < 1 || a[0].t != V_STR)) tk_tmpl_fail(j, x->pos, TK_EINVAL, "%.*s needs an attribute name", (int)x->s.n, x->s.s);
    if (na > base && a[base].t != V_STR) tk_tmpl_fail(j, x->pos, TK_EINVAL, "%.*s needs a test name", (int)x->s.n, x->s.s);
    jv r = new_list(j, v.l->n);
    int n = 0;
    for (int i = 0; i < v.l->n; i++) {
        step(j, x->pos);
        jv it = v.l->a[i];
        if (attr) it = it.t == V_DICT ? dict_get(it.d, a[0].s) : UNDEF;
        int t = na > base ? apply_test(j, a[base].s, it, a + base + 1, na - base - 1, x->pos) : truthy(it);
        if (t == keep) r.l->a[n++] = v.l->a[i];
    }
    r.l->n = n;
    return r;
}

static int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

static jv subscript(J *j, jv o, jv k, jn *x) {
    need_defined(j, o, x->a);
    if (o.t == V_DICT) {
        if (k.t != V_STR) return UNDEF;
        return dict_get(o.d, k.s);
    }
    if (o.t == V_LIST || o.t == V_STR) {
        if (k.t != V_INT && k.t != V_BOOL) tk_tmpl_fail(j, x->pos, TK_EINVAL, "%s index must be an integer, not %s", type_name(o.t), type_name(k.t));
        int64_t n = o.t == V_LIST ? o.l->n : (int64_t)o.s.n, i = norm_index(k.i, n);
        if (i < 0 || i >= n) return UNDEF;
        return o.t == V_LIST ? o.l->a[i] : mkstr((jstr){o.s.s + i, 1});
    }
    return UNDEF;
}

static jv slice(J *j, jn *x) {
    jv o = eval(j, x->a);
    need_defined(j, o, x->a);
    if (o.t != V_LIST && o.t != V_STR) tk_tmpl_fail(j, x->pos, TK_EINVAL, "cannot slice %s", type_name(o.t));
    int64_t n = o.t == V_LIST ? o.l->n : (int64_t)o.s.n;
    int64_t st = x->d ? as_int(j, eval(j, x->d), x->pos, "the slice step") : 1;
    if (st == 0) tk_tmpl_fail(j, x->pos, TK_EINVAL, "slice step must not be zero");
    int64_t a, b;
    /* Python's rules: defaults by the step's sign, negatives from the end, clamped */
    if (x->b) {
        a = norm_index(as_int(j, eval(j, x->b), x->pos, "the slice start"), n);
        a = st > 0 ? (a < 0 ? 0 : a > n ? n : a) : (a < -1 ? -1 : a > n - 1 ? n - 1 : a);
    } else a = st > 0 ? 0 : n - 1;
    if (x->c) {
        b = norm_index(as_int(j, eval(j, x->c), x->pos, "the slice stop"), n);
        b = st > 0 ? (b < 0 ? 0 : b > n ? n : b) : (b < -1 ? -1 : b > n - 1 ? n - 1 : b);
    } else b = st > 0 ? n : -1;
    int64_t cnt = st > 0 ? (b > a ? (b - a - 1) / st + 1 : 0) : (a > b ? (a - b - 1) / -st + 1 : 0);
    if (o.t == V_STR) {
        char *d = tk_tmpl_alloc(j, (size_t)cnt + 1);
        for (int64_t i = 0; i < cnt; i++) d[i] = o.s.s[a + i * st];
        return mkstr((jstr){d, (size_t)cnt});
    }
    jv r = new_list(j, (int)cnt);
    for (int64_t i = 0; i < cnt; i++) r.l->a[i] = o.l->a[a + i * st];
    return r;
}

static jv binop(J *j, jn *x) {
    int op = x->op;
    jv a = eval(j, x->a), b = eval(j, x->b);
    switch (op) {
    case OP_EQ: return mkbool(eq(j, a, b));
    case OP_NE: return mkbool(!eq(j, a, b));
    case OP_IN: case OP_NOTIN: {
        int r = 0;
        if (b.t == V_STR) {
            if (a.t != V_STR) tk_tmpl_fail(j, x->pos, TK_EINVAL, "'in <string>' needs a string on the left, not %s", type_name(a.t));
            r = a.s.n == 0 || memmem(b.s.s, b.s.n, a.s.s, a.s.n) != NULL;
        } else if (b.t == V_LIST) {
            for (int i = 0; i < b.l->n && !r; i++) r = eq(j, a, b.l->a[i]);
        } else if (b.t == V_DICT) {
            r = a.t == V_STR && dict_get(b.d, a.s).t != V_UNDEF;
        } else if (b.t != V_UNDEF) {
            tk_tmpl_fail(j, x->pos, TK_EINVAL, "'in' needs a string, list or dict on the right, not %s", type_name(b.t));
        } else need_defined(j, b, x->b);
        return mkbool(op == OP_IN ? r : !r);
    }
    case OP_CAT: {
        jstr s = as_text(j, a), t = as_text(j, b);
        char *d = tk_tmpl_alloc(j, s.n + t.n + 1);
        memcpy(d, s.s, s.n), memcpy(d + s.n, t.s, t.n);
        return mkstr((jstr){d, s.n + t.n});
    }
    default: break;
    }
    need_defined(j, a, x->a);
    need_defined(j, b, x->b);
    if (op == OP_ADD && a.t == V_STR && b.t == V_STR) {
        char *d = tk_tmpl_alloc(j, a.s.n + b.s.n + 1);
        memcpy(d, a.s.s, a.s.n), memcpy(d + a.s.n, b.s.s, b.s.n);
        return mkstr((jstr){d, a.s.n + b.s.n});
    }
    if (op == OP_ADD && a.t == V_LIST && b.t == V_LIST) {
        jv r = new_list(j, a.l->n + b.l->n);
        for (int i = 0; i < a.l->n; i++) r.l->a[i] = a.l->a[i];
        for (int i = 0; i < b.l->n; i++) r.l->a[a.l->n + i] = b.l->a[i];
        return r;
    }
    if ((op >= OP_LT && op <= OP_GE) && a.t == V_STR && b.t == V_STR) {
        size_t m = a.s.n < b.s.n ? a.s.n : b.s.n;
        int c = memcmp(a.s.s, b.s.s, m);
        if (!c) c = a.s.n < b.s.n ? -1 : a.s.n > b.s.n;
        return mkbool(op == OP_LT ? c < 0 : op == OP_GT ? c > 0 : op == OP_LE ? c <= 0 : c >= 0);
    }
    if (!((a.t == V_INT || a.t == V_BOOL) && (b.t == V_INT || b.t == V_BOOL)))
        tk_tmpl_fail(j, x->pos, TK_EINVAL, "unsupported operand types %s and %s", type_name(a.t), type_name(b.t));
    int64_t p = a.i, q = b.i, r;
    switch (op) {
    case OP_LT: return mkbool(p < q);
    case OP_GT: return mkbool(p > q);
    case OP_LE: return mkbool(p <= q);
    case OP_GE: return mkbool(p >= q);
    case OP_ADD: if (__builtin_add_overflow(p, q, &r)) break; return mkint(r);
    case OP_SUB: if (__builtin_sub_overflow(p, q, &r)) break; return mkint(r);
    case OP_MUL: if (__builtin_mul_overflow(p, q, &r)) break; return mkint(r);
    case OP_DIV: tk_tmpl_fail(j, x->pos, TK_EUNSUPPORTED, "'/' gives a float; floats are not supported (use //)");
    case OP_FDIV: case OP_MOD: {
        if (q == 0) tk_tmpl_fail(j, x->pos, TK_EINVAL, "division by zero");
        if (p == INT64_MIN && q == -1) break;
        int64_t d = p / q, m = p % q;
        if (m && ((m < 0) != (q < 0))) d--, m += q; /* Python floors */
        return mkint(op == OP_FDIV ? d : m);
    }
    }
    tk_tmpl_fail(j, x->pos, TK_EINVAL, "integer overflow");
}

static jv eval(J *j, jn *x) {
    step(j, x->pos);
    j->pos = x->pos;
    switch (x->kind) {
    case N_LIT: return x->v;
    case N_NAME: return lookup(j, x->s);
    case N_ATTR: {
        jv o = eval(j, x->a);
        need_defined(j, o, x->a);
        return o.t == V_DICT ? dict_get(o.d, x->s) : UNDEF;
    }
    case N_INDEX: {
        jv o = eval(j, x->a);
        return subscript(j, o, eval(j, x->b), x);
    }
    case N_SLICE: return slice(j, x);
    case N_CALL: return call(j, x);
    case N_FILTER: return filter(j, x);
    case N_TEST: return test(j, x);
    case N_BIN: return binop(j, x);
    case N_NOT: return mkbool(!truthy(eval(j, x->a)));
    case N_NEG: {
        jv v = eval(j, x->a);
        int64_t i = as_int(j, v, x->pos, "the operand of '-'");
        if (i == INT64_MIN) tk_tmpl_fail(j, x->pos, TK_EINVAL, "integer overflow");
        return mkint(-i);
    }
    case N_AND: { jv a = eval(j, x->a); return truthy(a) ? eval(j, x->b) : a; }
    case N_OR: { jv a = eval(j, x->a); return truthy(a) ? a : eval(j, x->b); }
    case N_COND: return truthy(eval(j, x->b)) ? eval(j, x->a) : x->c ? eval(j, x->c) : UNDEF;
    case N_LIST: {
        jv r = new_list(j, n_args(x->b));
        int i = 0;
        for (jn *it = x->b; it; it = it->next) r.l->a[i++] = eval(j, it);
        return r;
    }
    case N_DICT: {
        jv r = new_dict(j);
        for (jn *it = x->b; it; it = it->next) {
            jv k = eval(j, it->a);
            if (k.t != V_STR) tk_tmpl_fail(j, it->pos, TK_EUNSUPPORTED, "dict keys must be strings");
            dict_set(j, r.d, k.s, eval(j, it->b));
        }
        return r;
    }
    default: tk_tmpl_fail(j, x->pos, TK_EFORMAT, "not an expression");
    }
}

static void emit(J *j, const char *s, size_t n, size_t pos) {
    if (n > j->out_max - j->out_n) tk_tmpl_fail(j, pos, TK_ENOMEM, "output limit (%zu bytes) exceeded", j->out_max);
    if (j->out_cap - j->out_n < n + 1) {
        size_t cap = j->out_cap ? j->out_cap : 256;
        while (cap - j->out_n < n + 1) cap *= 2;
        char *p = realloc(j->out, cap);
        if (!p) tk_tmpl_fail(j, pos, TK_ENOMEM, "out of memory");
        j->out = p, j->out_cap = cap;
    }
    memcpy(j->out + j->out_n, s, n);
    j->out_n += n;
    j->out[j->out_n] = 0;
}

enum { FLOW_NEXT, FLOW_BREAK, FLOW_CONTINUE };

static int exec(J *j, jn *st);

static int exec_for(J *j, jn *x) {
    jv it = eval(j, x->a);
    if (it.t == V_DICT) { /* a dict loops over its keys */
        jv r = new_list(j, it.d->n);
        for (int i = 0; i < it.d->n; i++) r.l->a[i] = mkstr(it.d->k[i]);
        it = r;
    } else if (it.t == V_STR) {
        jv r = new_list(j, (int)(it.s.n > INT32_MAX ? INT32_MAX : it.s.n));
        for (int i = 0; i < r.l->n; i++) r.l->a[i] = mkstr((jstr){it.s.s + i, 1});
        it = r;
    } else if (it.t == V_UNDEF || it.t == V_NONE) {
        if (it.t == V_NONE) tk_tmpl_fail(j, x->a->pos, TK_EINVAL, "cannot loop over none");
        it = new_list(j, 0);
    } else if (it.t != V_LIST) tk_tmpl_fail(j, x->a->pos, TK_EINVAL, "cannot loop over %s", type_name(it.t));
    var *saved = j->vars;
    j->scope++;
    /* with a loop filter, loop.* counts the items that pass it (as Jinja) */
    int n = it.l->n, m = 0, flow = FLOW_NEXT, ran = 0;
    jv *items = it.l->a;
    if (x->d) {
        jv *keep = tk_tmpl_alloc(j, (size_t)(n ? n : 1) * sizeof *keep);
        for (int i = 0; i < n; i++) {
            j->vars = saved;
            assign(j, x->s, items[i]);
            if (truthy(eval(j, x->d))) keep[m++] = items[i];
        }
        items = keep, n = m;
    }
    /* One loop object and one variable node per name for the whole loop,
     * updated in place, so an iteration allocates nothing by itself. */
    jv loop = new_dict(j);
    static const char *const keys[] = {"index0", "index", "first", "last", "length", "revindex", "revindex0", "previtem", "nextitem"};
    for (int k = 0; k < 9; k++) dict_set(j, loop.d, (jstr){keys[k], strlen(keys[k])}, UNDEF);
    var *vs[3];
    jstr names[3] = {{"loop", 4}, x->s, x->s2};
    for (int k = 0; k < 3; k++) {
        vs[k] = tk_tmpl_alloc(j, sizeof *vs[k]);
        vs[k]->name = names[k], vs[k]->scope = j->scope;
    }
    vs[0]->v = loop;
    for (int i = 0; i < n && flow != FLOW_BREAK; i++) {
        step(j, x->pos);
        jv *lv = loop.d->v;
        lv[0] = mkint(i), lv[1] = mkint(i + 1), lv[2] = mkbool(i == 0), lv[3] = mkbool(i == n - 1);
        lv[4] = mkint(n), lv[5] = mkint(n - i), lv[6] = mkint(n - i - 1);
        lv[7] = i > 0 ? items[i - 1] : UNDEF, lv[8] = i + 1 < n ? items[i + 1] : UNDEF;
        /* sets in the body last one iteration: back to the loop's own names */
        vs[0]->next = saved, vs[1]->next = vs[0], vs[2]->next = vs[1];
        j->vars = x->s2.n ? vs[2] : vs[1];
        if (x->s2.n) {
            jv p = items[i];
            if (p.t != V_LIST || p.l->n != 2) tk_tmpl_fail(j, x->pos, TK_EINVAL, "cannot unpack %s into two loop variables", type_name(p.t));
            vs[1]->v = p.l->a[0], vs[2]->v = p.l->a[1];
        } else {
            vs[1]->v = items[i];
        }
        ran = 1;
        flow = exec(j, x->b);
    }
    j->vars = saved;
    j->scope--;
    if (!ran && x->c) return exec(j, x->c);
    return FLOW_NEXT;
}

static int exec(J *j, jn *st) {
    for (; st; st = st->next) {
        step(j, st->pos);
        switch (st->kind) {
        case N_TEXT: emit(j, st->s.s, st->s.n, st->pos); break;
        case N_OUT: {
            jv v = eval(j, st->a);
            if (v.t == V_STR) emit(j, v.s.s, v.s.n, st->pos);
            else {
                jstr s = as_text(j, v);
                emit(j, s.s, s.n, st->pos);
            }
            break;
        }
        case N_IF: {
            int flow = exec(j, truthy(eval(j, st->a)) ? st->b : st->c);
            if (flow != FLOW_NEXT) return flow;
            break;
        }
        case N_FOR: exec_for(j, st); break;
        case N_SET: {
            jv v = eval(j, st->a);
            if (st->s2.n) {
                jv ns = lookup(j, st->s);
                if (ns.t != V_DICT) tk_tmpl_fail(j, st->pos, TK_EINVAL, "cannot set an attribute of %s (use namespace())", type_name(ns.t));
                dict_set(j, ns.d, st->s2, v);
            } else {
                assign(j, st->s, v);
            }
            break;
        }
        case N_BREAK: case N_CONTINUE:
            if (!j->scope) tk_tmpl_fail(j, st->pos, TK_EFORMAT, "%s outside a loop", st->kind == N_BREAK ? "break" : "continue");
            return st->kind == N_BREAK ? FLOW_BREAK : FLOW_CONTINUE;
        default: tk_tmpl_fail(j, st->pos, TK_EFORMAT, "not a statement");
        }
    }
    return FLOW_NEXT;
}

int tk_tmpl_render(const char *src, size_t n, const tk_tmpl_vars *vars, const tk_tmpl_limits *lim,
                   char **out, tk_error *e) {
    *out = NULL;
    J *j = calloc(1, sizeof *j);
    if (!j) return tk_err(e, TK_ENOMEM, "template: out of memory");
    j->e = e, j->src = src, j->n = n;
    j->max_steps = lim && lim->max_steps > 0 ? lim->max_steps : 4000000;
    j->out_max = lim && lim->max_out ? lim->max_out : (size_t)16 << 20;
    j->mem_max = lim && lim->max_mem ? lim->max_mem : (size_t)64 << 20;
    if (j->out_max > INT32_MAX - 1) j->out_max = INT32_MAX - 1; /* the length is returned as an int */
    int rc;
    if (setjmp(j->jb)) {
        rc = j->code < 0 ? j->code : TK_EINVAL;
        free(j->out);
        j->out = NULL;
    } else {
        jn *root = tk_tmpl_parse(j);
        if (vars->n_msgs < 0) tk_tmpl_fail(j, 0, TK_EINVAL, "negative message count");
        jv msgs = new_list(j, vars->n_msgs);
        for (int i = 0; i < vars->n_msgs; i++) {
            jv m = new_dict(j);
            const char *r = vars->msgs[i].role ? vars->msgs[i].role : "", *c = vars->msgs[i].content ? vars->msgs[i].content : "";
            dict_set(j, m.d, (jstr){"role", 4}, mkstr((jstr){r, strlen(r)}));
            dict_set(j, m.d, (jstr){"content", 7}, mkstr((jstr){c, strlen(c)}));
            msgs.l->a[i] = m;
        }
        const char *bos = vars->bos ? vars->bos : "", *eos = vars->eos ? vars->eos : "";
        assign(j, (jstr){"messages", 8}, msgs);
        assign(j, (jstr){"add_generation_prompt", 21}, mkbool(vars->add_gen));
        assign(j, (jstr){"bos_token", 9}, mkstr((jstr){bos, strlen(bos)}));
        assign(j, (jstr){"eos_token", 9}, mkstr((jstr){eos, strlen(eos)}));
        exec(j, root);
        emit(j, "", 0, n);
        *out = j->out;
        j->out = NULL;
        rc = (int)j->out_n;
    }
    for (blk *b = j->mem, *nb; b; b = nb) nb = b->next, free(b);
    free(j->out);
    free(j);
    return rc;
}
