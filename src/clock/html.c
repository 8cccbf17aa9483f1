/* html.c: `tick report`: one self-contained page (see html.h). The charts
 * are SVG written here, point by point: no script runs when the page opens,
 * so what a browser shows is exactly what this file wrote. */
#include "html.h"
#include "../model/model.h"
#include "../tensor/dtype.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- colours and order of the op kinds ------------------------------------ */

static const char *kind_color[TK_KIND_COUNT] = {
    [TK_KIND_EMBED] = "#8c564b",    [TK_KIND_NORM] = "#bcbd22",     [TK_KIND_QUANT] = "#7f7f7f",
    [TK_KIND_QKV] = "#1f77b4",      [TK_KIND_ROPE] = "#17becf",     [TK_KIND_KV_STORE] = "#9467bd",
    [TK_KIND_ATTN] = "#d62728",     [TK_KIND_ATTN_OUT] = "#6baed6", [TK_KIND_RESIDUAL] = "#c5b0d5",
    [TK_KIND_FFN] = "#2ca02c",      [TK_KIND_ACT] = "#98df8a",      [TK_KIND_CLASSIFIER] = "#ff7f0e",
    [TK_KIND_SAMPLE] = "#e377c2",
};

/* Stacking order, bottom first: attention at the bottom so its growth with
 * the context rises from the axis; then the matrix multiplies. */
static const int kind_stack[TK_KIND_COUNT] = {
    TK_KIND_ATTN, TK_KIND_FFN, TK_KIND_QKV, TK_KIND_ATTN_OUT, TK_KIND_CLASSIFIER, TK_KIND_NORM, TK_KIND_QUANT,
    TK_KIND_ROPE, TK_KIND_KV_STORE, TK_KIND_RESIDUAL, TK_KIND_ACT, TK_KIND_EMBED, TK_KIND_SAMPLE,
};

static const char *phase_name[TK_PHASE_COUNT] = {"prefill", "decode"};
static const char *phase_color[TK_PHASE_COUNT] = {"#e6550d", "#3182bd"};

/* ---- text ----------------------------------------------------------------- */

static void esc(FILE *f, const char *s) {
    if (!s) return;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (ch < 0x20 && ch != '\n' && ch != '\t') fprintf(f, "\\x%02x", ch);
            else fputc(ch, f);
        }
    }
}

/* A number with about three significant digits, never in exponent form. */
static const char *num(char *buf, size_t cap, double v) {
    double a = fabs(v);
    if (!isfinite(v)) snprintf(buf, cap, "-");
    else if (a >= 100 || a == 0) snprintf(buf, cap, "%.0f", v);
    else if (a >= 10) snprintf(buf, cap, "%.1f", v);
    else if (a >= 1) snprintf(buf, cap, "%.2f", v);
    else if (a >= 0.01) snprintf(buf, cap, "%.3f", v);
    else snprintf(buf, cap, "%.*f", (int)(1 - floor(log10(a))), v); /* 0.000029 */
    return buf;
}

/* An axis label: as many decimals as the step needs (0, 2.5, 5, 7.5). */
static const char *tick_num(char *buf, size_t cap, double v, double step) {
    int d = 0;
    for (double s = step; d < 6 && fabs(s - floor(s + 0.5)) > 1e-6 * fabs(s); s *= 10) d++;
    snprintf(buf, cap, "%.*f", d, fabs(v) < step * 1e-6 ? 0.0 : v);
    return buf;
}

/* 1234567 -> "1.23 M" (decimal prefixes) */
static const char *si(char *buf, size_t cap, double v, const char *unit) {
    static const char *pre[] = {"", "k", "M", "G", "T", "P"};
    int i = 0;
    while (fabs(v) >= 1000 && i < 5) v /= 1000, i++;
    char n[32];
    snprintf(buf, cap, "%s %s%s", num(n, sizeof n, v), pre[i], unit);
    return buf;
}

/* ---- the numbers ------------------------------------------------------------ */

typedef struct page {
    FILE *f;
    const tk_clock *c;
    const tk_model *m;
    tk_limits lim;       /* zeros when unknown */
    const tk_html_opts *o;
    double hz;
} page;

static double secs(const page *p, double cycles) { return cycles / p->hz; }

static double tick_cycles(const tk_tick_rec *t) { return (double)(t->c_end - t->c_start); }

static double roof_pct(const page *p, const tk_clock_stat *st) {
    if (!st->cycles || st->bytes <= 0) return NAN;
    double s = secs(p, (double)st->cycles);
    if (st->flops <= 0) return p->lim.read_gbs > 0 ? 100.0 * st->bytes / s / 1e9 / p->lim.read_gbs : NAN;
    double att = tk_roof_attainable(&p->lim, st->flops / st->bytes);
    return att > 0 ? 100.0 * st->flops / s / 1e9 / att : NAN;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (v is reordered). */
static double quantile(double *v, int n, double q) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return v[(int)(q * (n - 1) + 0.5)];
}

static double nice_step(double range, int n) {
    if (range <= 0) return 1;
    double raw = range / n, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
}

/* ---- chart frame ------------------------------------------------------------ */

enum { CW = 1120, PL = 76, PR = 24 }; /* chart width, plot margins */

typedef struct frame {
    double x0, y0, w, h;   /* plot area in px (y0: top)  */
    double xlo, xhi, ylo, yhi;
    int logx, logy;
} frame;

static double fx(const frame *fr, double x) {
    double t = fr->logx ? (log10(x) - fr->xlo) / (fr->xhi - fr->xlo) : (x - fr->xlo) / (fr->xhi - fr->xlo);
    return fr->x0 + t * fr->w;
}
static double fy(const frame *fr, double y) {
    double t = fr->logy ? (log10(y) - fr->ylo) / (fr->yhi - fr->ylo) : (y - fr->ylo) / (fr->yhi - fr->ylo);
    return fr->y0 + fr->h - t * fr->h;
}

/* Linear axes with grid lines, tick labels and titles. */
static void axes_linear(const page *p, const frame *fr, double xstep, double ystep, const char *xtitle, const char *ytitle) {
    FILE *f = p->f;
    char b[32];
    fprintf(f, "<g class=\"grid\">");
    for (double y = fr->ylo; y <= fr->yhi + ystep * 1e-6; y += ystep)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", fr->x0, fy(fr, y), fr->x0 + fr->w, fy(fr, y));
    fprintf(f, "</g><g class=\"ticks\">");
    for (double y = fr->ylo; y <= fr->yhi + ystep * 1e-6; y += ystep)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", fr->x0 - 6, fy(fr, y) + 4, tick_num(b, sizeof b, y, ystep));
    for (double x = fr->xlo; x <= fr->xhi + xstep * 1e-6; x += xstep) {
        fprintf(f, "<line class=\"tk\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", fx(fr, x), fr->y0 + fr->h, fx(fr, x), fr->y0 + fr->h + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", fx(fr, x), fr->y0 + fr->h + 17, tick_num(b, sizeof b, x, xstep));
    }
    fprintf(f, "</g><rect class=\"box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", fr->x0, fr->y0, fr->w, fr->h);
    fprintf(f, "<text class=\"atitle\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", fr->x0 + fr->w / 2, fr->y0 + fr->h + 36, xtitle);
    fprintf(f, "<text class=\"atitle\" transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>", fr->y0 + fr->h / 2, ytitle);
}

/* ---- per-tick series (binned when there are more ticks than pixels) ---------- */

typedef struct series {
    int n;                        /* bins                                  */
    int per;                      /* ticks per bin                         */
    double *t;                    /* [n] tick time in the chart's unit     */
    double *kind;                 /* [n * TK_KIND_COUNT] per kind, same unit */
    double *pos;                  /* [n] position of the bin's first tick  */
    int *phase;                   /* [n]                                   */
    double unit;                  /* seconds -> chart unit multiplier      */
    const char *uname;            /* "µs" or "ms"                          */
} series;

static void series_free(series *s) {
    free(s->t), free(s->kind), free(s->pos), free(s->phase);
    memset(s, 0, sizeof *s);
}

static int series_make(const page *p, series *s, int max_bins) {
    const tk_clock *c = p->c;
    memset(s, 0, sizeof *s);
    int nt = c->n_ticks;
    if (nt <= 0) return 0;
    s->per = (nt + max_bins - 1) / max_bins;
    s->n = (nt + s->per - 1) / s->per;
    s->t = calloc((size_t)s->n, sizeof *s->t);
    s->kind = calloc((size_t)s->n * TK_KIND_COUNT, sizeof *s->kind);
    s->pos = calloc((size_t)s->n, sizeof *s->pos);
    s->phase = calloc((size_t)s->n, sizeof *s->phase);
    double *tmp = malloc((size_t)nt * sizeof *tmp);
    if (!s->t || !s->kind || !s->pos || !s->phase || !tmp) {
        free(tmp);
        series_free(s);
        return -1;
    }
    for (int i = 0; i < nt; i++) tmp[i] = secs(p, tick_cycles(&c->ticks[i]));
    double med = quantile(tmp, nt, 0.5);
    free(tmp);
    s->unit = med >= 1e-3 ? 1e3 : 1e6;
    s->uname = med >= 1e-3 ? "ms" : "\xc2\xb5s";
    for (int b = 0; b < s->n; b++) {
        int i0 = b * s->per, i1 = i0 + s->per < nt ? i0 + s->per : nt, cnt = i1 - i0;
        s->pos[b] = c->ticks[i0].pos;
        s->phase[b] = c->ticks[i1 - 1].phase;
        for (int i = i0; i < i1; i++) {
            const tk_tick_rec *t = &c->ticks[i];
            s->t[b] += secs(p, tick_cycles(t)) * s->unit / cnt;
            for (int k = 0; k < TK_KIND_COUNT; k++) s->kind[b * TK_KIND_COUNT + k] += secs(p, (double)t->kind_cycles[k]) * s->unit / cnt;
        }
    }
    return 0;
}

/* A y range that a few slow ticks (page faults, preemption) do not flatten:
 * up to twice the 80th percentile; taller values are clipped and marked
 * with a triangle at the top (their value is in the tooltip). */
static double y_top(const double *v, int n, double *step) {
    double *tmp = malloc((size_t)n * sizeof *tmp), mx = 0, top;
    for (int i = 0; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    if (tmp) {
        memcpy(tmp, v, (size_t)n * sizeof *tmp);
        double q = quantile(tmp, n, 0.8) * 2;
        top = mx < q ? mx : q;
        free(tmp);
    } else top = mx;
    if (top <= 0) top = 1;
    *step = nice_step(top, 5);
    return ceil(top / *step * (1 - 1e-9)) * *step;
}

static void clipped_note(const page *p, const frame *fr, const double *v, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) k += v[i] > fr->yhi;
    if (k)
        fprintf(p->f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">&#9650; %d tick%s above the axis (preempted or faulting: value in the tooltip)</text>",
                fr->x0 + fr->w - 6, fr->y0 + 14, k, k > 1 ? "s" : "");
}

static int first_decode(const series *s) {
    for (int b = 0; b < s->n; b++)
        if (s->phase[b] == TK_PHASE_DECODE) return b;
    return -1;
}

static void phase_divider(const page *p, const frame *fr, const series *s) {
    int d = first_decode(s);
    if (d <= 0) return;
    double x = (fx(fr, s->pos[d - 1]) + fx(fr, s->pos[d])) / 2;
    fprintf(p->f, "<line class=\"divider\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, fr->y0, x, fr->y0 + fr->h);
    if (x - fr->x0 > 60) fprintf(p->f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">&#8592; prefill</text>", x - 4, fr->y0 + 12);
    fprintf(p->f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">decode &#8594;</text>", x + 4, fr->y0 + 12);
}

static void x_range(const series *s, frame *fr, double *xstep) {
    fr->xlo = 0;
    fr->xhi = s->n ? s->pos[s->n - 1] + s->per : 1;
    *xstep = nice_step(fr->xhi, 10);
}

/* Rolling median over w neighbours of the same phase (the trend under the
 * noise of single ticks). */
static void rolling_median(const series *s, double *out, int w) {
    double win[64];
    if (w > 63) w = 63;
    for (int b = 0; b < s->n; b++) {
        int n = 0;
        for (int j = b - w / 2; j <= b + w / 2; j++)
            if (j >= 0 && j < s->n && s->phase[j] == s->phase[b]) win[n++] = s->t[j];
        out[b] = quantile(win, n, 0.5);
    }
}

static void chart_cycles(const page *p, const series *s) {
    FILE *f = p->f;
    const int H = 330;
    frame fr = {PL, 30, CW - PL - PR, H - 30 - 48, 0, 1, 0, 1, 0, 0};
    double xstep, ystep;
    x_range(s, &fr, &xstep);
    fr.yhi = s->n ? y_top(s->t, s->n, &ystep) : (ystep = 1);
    fprintf(f, "<svg id=\"cycles-per-tick\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" data-points=\"%d\" data-unit=\"%s\" role=\"img\">\n",
            CW, H, CW, H, s->n, s->uname);
    char yt[64];
    snprintf(yt, sizeof yt, "time per tick (%s)", s->uname);
    axes_linear(p, &fr, xstep, ystep, "position in the sequence (one tick per token)", yt);
    phase_divider(p, &fr, s);
    double *med = s->n ? malloc((size_t)s->n * sizeof *med) : NULL;
    if (med) rolling_median(s, med, s->n > 40 ? 15 : 5);
    char b1[32], b2[32];
    /* attention (all layers) per tick */
    fprintf(f, "<polyline class=\"attn\" points=\"");
    for (int b = 0; b < s->n; b++) {
        double v = s->kind[b * TK_KIND_COUNT + TK_KIND_ATTN];
        fprintf(f, "%.1f,%.1f ", fx(&fr, s->pos[b] + s->per * 0.5), fy(&fr, v < fr.yhi ? v : fr.yhi));
    }
    fprintf(f, "\"/>\n");
    /* the ticks themselves: dots, the trend as a line, per phase */
    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        fprintf(f, "<g fill=\"%s\" class=\"dots\">", phase_color[ph]);
        for (int b = 0; b < s->n; b++) {
            if (s->phase[b] != ph) continue;
            double x = fx(&fr, s->pos[b] + s->per * 0.5), v = s->t[b];
            if (v > fr.yhi)
                fprintf(f, "<path d=\"M%.1f %.1fl-4 7h8z\"><title>pos %.0f: %s %s (clipped)</title></path>", x, fr.y0, s->pos[b], num(b1, sizeof b1, v), s->uname);
            else
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"><title>pos %.0f: %s %s, attention %s</title></circle>", x, fy(&fr, v),
                        s->n > 300 ? 1.4 : 2.0, s->pos[b], num(b1, sizeof b1, v), s->uname,
                        num(b2, sizeof b2, s->kind[b * TK_KIND_COUNT + TK_KIND_ATTN]));
        }
        fprintf(f, "</g>\n");
        if (!med) continue;
        fprintf(f, "<polyline class=\"trend\" stroke=\"%s\" points=\"", phase_color[ph]);
        for (int b = 0; b < s->n; b++)
            if (s->phase[b] == ph) fprintf(f, "%.1f,%.1f ", fx(&fr, s->pos[b] + s->per * 0.5), fy(&fr, med[b] < fr.yhi ? med[b] : fr.yhi));
        fprintf(f, "\"/>\n");
    }
    free(med);
    clipped_note(p, &fr, s->t, s->n);
    /* legend */
    double lx = fr.x0 + 8, ly = 16;
    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        if (!p->c->total[ph].calls) continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">%s tick (line: running median)</text>",
                lx, ly - 4, phase_color[ph], lx + 8, ly, phase_name[ph]);
        lx += 250;
    }
    fprintf(f, "<line class=\"attn\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">attention, all layers (grows with the context)</text>",
            lx, ly - 4, lx + 18, ly - 4, lx + 24, ly);
    if (s->per > 1)
        fprintf(f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">each point: mean of %d ticks</text>", fr.x0 + fr.w, ly, s->per);
    fprintf(f, "</svg>\n");
}

static void chart_ops(const page *p, const series *s) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    int present[TK_KIND_COUNT] = {0}, n_present = 0;
    double share[TK_KIND_COUNT] = {0}, all = 0;
    for (int k = 0; k < TK_KIND_COUNT; k++) {
        for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
            present[k] |= c->kind[ph][k].calls > 0;
            share[k] += (double)c->kind[ph][k].cycles;
        }
        all += share[k];
        n_present += present[k];
    }
    const int per_row = 5, rows = (n_present + per_row - 1) / per_row, top = 14 + rows * 18;
    const int H = 330 + rows * 18;
    frame fr = {PL, top + 6, CW - PL - PR, H - top - 6 - 48, 0, 1, 0, 1, 0, 0};
    double xstep, ystep;
    x_range(s, &fr, &xstep);
    double *sum = s->n ? calloc((size_t)s->n, sizeof *sum) : NULL;
    for (int b = 0; sum && b < s->n; b++)
        for (int k = 0; k < TK_KIND_COUNT; k++) sum[b] += s->kind[b * TK_KIND_COUNT + k];
    fr.yhi = sum ? y_top(sum, s->n, &ystep) : (ystep = 1);
    fprintf(f, "<svg id=\"ops-per-tick\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" data-points=\"%d\" data-kinds=\"%d\" role=\"img\">\n",
            CW, H, CW, H, sum ? s->n : 0, n_present);
    char yt[64];
    snprintf(yt, sizeof yt, "time per tick (%s), by op kind", s->uname);
    axes_linear(p, &fr, xstep, ystep, "position in the sequence (one tick per token)", yt);
    double bw = fr.w / (fr.xhi - fr.xlo) * s->per, gap = bw > 3 ? 0.5 : 0;
    char b1[32];
    for (int b = 0; sum && b < s->n; b++) {
        fprintf(f, "<g><title>pos %.0f%s (%s): %s %s", s->pos[b], s->per > 1 ? "+" : "", phase_name[s->phase[b]], num(b1, sizeof b1, sum[b]), s->uname);
        for (int j = 0; j < TK_KIND_COUNT; j++) {
            int k = kind_stack[j];
            double v = s->kind[b * TK_KIND_COUNT + k];
            if (v > 0 && v >= sum[b] * 0.02) fprintf(f, "\n%s %s", tk_op_kind_name(k), num(b1, sizeof b1, v));
        }
        fprintf(f, "</title>");
        double acc = 0, x = fx(&fr, s->pos[b]) + gap / 2;
        for (int j = 0; j < TK_KIND_COUNT; j++) {
            int k = kind_stack[j];
            double v = s->kind[b * TK_KIND_COUNT + k];
            if (v <= 0 || acc >= fr.yhi) continue;
            double lo = acc, hi = acc + v < fr.yhi ? acc + v : fr.yhi;
            acc += v;
            double y1 = fy(&fr, hi), y0 = fy(&fr, lo);
            if (y0 - y1 < 0.05) continue;
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>", x, y1, bw - gap, y0 - y1, kind_color[k]);
        }
        if (sum[b] > fr.yhi) fprintf(f, "<path class=\"clip\" d=\"M%.1f %.1fl-4 7h8z\"/>", x + bw / 2, fr.y0);
        fprintf(f, "</g>\n");
    }
    phase_divider(p, &fr, s);
    if (sum) clipped_note(p, &fr, sum, s->n);
    /* legend: the kinds in stacking order, with their share of all ticks */
    int i = 0;
    for (int j = 0; j < TK_KIND_COUNT; j++) {
        int k = kind_stack[j];
        if (!present[k]) continue;
        double lx = fr.x0 + (i % per_row) * (fr.w / per_row), ly = 14 + (i / per_row) * 18;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"11\" height=\"11\" fill=\"%s\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">%s %s%%</text>",
                lx, ly - 9, kind_color[k], lx + 16, ly + 1, tk_op_kind_name(k), num(b1, sizeof b1, all > 0 ? 100 * share[k] / all : 0));
        i++;
    }
    if (s->per > 1)
        fprintf(f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">each bar: mean of %d ticks</text>", fr.x0 + fr.w - 6, fr.y0 + 28, s->per);
    fprintf(f, "</svg>\n");
    free(sum);
}

/* ---- roofline ---------------------------------------------------------------- */

typedef struct rpoint {
    double ai, gflops, x, y;
    int kind, phase;
} rpoint;

typedef struct lbox { double x0, y0, x1, y1; } lbox;

static int overlaps(const lbox *a, const lbox *b) { return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1; }

/* Do the graph's matrix multiplies take int8 dot products (Q8_0 / Q4_0 / K-quant
 * weights meet 8-bit activations)? Then the int8 ceiling is the one they see. */
static int uses_int8(const tk_graph *g) {
    for (int i = 0; g && i < g->n_ops; i++) {
        const tk_op *op = &g->ops[i];
        int mm = op->kind == TK_KIND_QKV || op->kind == TK_KIND_ATTN_OUT || op->kind == TK_KIND_FFN || op->kind == TK_KIND_CLASSIFIER;
        const tk_dtype_traits *t = mm && op->w ? tk_dtype_get(op->w->type) : NULL;
        if (t && (t->vec_dot_type == TK_Q8_0 || t->vec_dot_type == TK_Q8_K)) return 1;
    }
    return 0;
}

/* log axis labels at 1, 2 and 5 of each decade inside [lo, hi] (log10) */
static void log_labels(FILE *f, const frame *fr, int xaxis) {
    double lo = xaxis ? fr->xlo : fr->ylo, hi = xaxis ? fr->xhi : fr->yhi;
    for (double e = floor(lo); e <= ceil(hi); e++)
        for (int m = 1; m < 10; m++) {
            double v = m * pow(10, e), l = log10(v);
            if (l < lo - 1e-9 || l > hi + 1e-9) continue;
            if (xaxis) fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", m == 1 ? "major" : "minor", fx(fr, v), fr->y0, fx(fr, v), fr->y0 + fr->h);
            else fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", m == 1 ? "major" : "minor", fr->x0, fy(fr, v), fr->x0 + fr->w, fy(fr, v));
            if (m != 1 && m != 2 && m != 5) continue;
            if (xaxis) fprintf(f, "<text class=\"tl%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>", m == 1 ? "" : " m", fx(fr, v), fr->y0 + fr->h + 17, v);
            else fprintf(f, "<text class=\"tl%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>", m == 1 ? "" : " m", fr->x0 - 6, fy(fr, v) + 4, v);
        }
}

static void chart_roofline(const page *p) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    rpoint pts[TK_PHASE_COUNT * TK_KIND_COUNT];
    int np = 0;
    for (int ph = TK_PHASE_COUNT - 1; ph >= 0; ph--)
        for (int k = 0; k < TK_KIND_COUNT; k++) {
            const tk_clock_stat *st = &c->kind[ph][k];
            if (!st->calls || !st->cycles || st->flops <= 0 || st->bytes <= 0) continue;
            pts[np++] = (rpoint){st->flops / st->bytes, st->flops / secs(p, (double)st->cycles) / 1e9, 0, 0, k, ph};
        }
    double bw = p->lim.read_gbs, peak = p->lim.f32_gflops, i8 = p->o && uses_int8(c->graph) ? p->o->int8_gops : 0;
    int roof = bw > 0 && peak > 0;
    /* where the roof's own labels are: point labels keep off them */
    enum { MAX_BOX = TK_PHASE_COUNT * TK_KIND_COUNT * 2 + 48 };
    lbox placed[MAX_BOX];
    int nl = 0;
    double axlo = 1e300, axhi = -1e300, aylo = 1e300, ayhi = -1e300;
    for (int i = 0; i < np; i++) {
        axlo = fmin(axlo, pts[i].ai), axhi = fmax(axhi, pts[i].ai);
        aylo = fmin(aylo, pts[i].gflops), ayhi = fmax(ayhi, pts[i].gflops);
    }
    if (roof) {
        double ridge = fmax(peak, i8) / bw;
        if (!np) axlo = ridge / 100, aylo = bw * axlo;
        axhi = fmax(axhi, ridge), ayhi = fmax(ayhi, fmax(peak, i8));
    }
    if (axlo > axhi) axlo = 0.1, axhi = 10, aylo = 0.1, ayhi = 10;
    const int H = 470;
    frame fr = {PL, 18, CW - PL - PR - 150, H - 18 - 48, log10(axlo) - 0.3, log10(axhi) + 0.45, log10(aylo) - 0.3, log10(ayhi) + 0.25, 1, 1};
    if (fr.xhi - fr.xlo < 1.5) fr.xlo = fr.xhi - 1.5;
    if (fr.yhi - fr.ylo < 1.5) fr.ylo = fr.yhi - 1.5;
    fprintf(f, "<svg id=\"roofline\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" data-points=\"%d\" role=\"img\">\n", CW, H, CW, H, np);
    fprintf(f, "<g class=\"grid ticks\">");
    log_labels(f, &fr, 1);
    log_labels(f, &fr, 0);
    char b1[32], b2[32];
    fprintf(f, "</g><rect class=\"box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", fr.x0, fr.y0, fr.w, fr.h);
    fprintf(f, "<text class=\"atitle\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">arithmetic intensity (FLOP per byte moved), log scale</text>", fr.x0 + fr.w / 2, fr.y0 + fr.h + 36);
    fprintf(f, "<text class=\"atitle\" transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">GFLOP/s achieved, log scale</text>", fr.y0 + fr.h / 2);
    fprintf(f, "<defs><clipPath id=\"roof-clip\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath></defs>", fr.x0, fr.y0, fr.w, fr.h);
    if (roof) {
        double ridge = peak / bw, xa = pow(10, fr.xlo), xb = pow(10, fr.xhi);
        fprintf(f, "<g clip-path=\"url(#roof-clip)\"><polyline class=\"roof\" points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>", fx(&fr, xa), fy(&fr, xa * bw),
                fx(&fr, ridge), fy(&fr, peak), fx(&fr, xb), fy(&fr, peak));
        if (i8 > peak) fprintf(f, "<polyline class=\"roof2\" points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>", fx(&fr, ridge), fy(&fr, peak), fx(&fr, i8 / bw), fy(&fr, i8), fx(&fr, xb), fy(&fr, i8));
        fprintf(f, "</g>");
        /* the slope's label along the line, ending left of the ridge */
        double ang = -atan2(fy(&fr, 1) - fy(&fr, 10), fx(&fr, 10) - fx(&fr, 1)) * 180 / M_PI, le = ridge / 1.6;
        if (fx(&fr, le) - fr.x0 > 190 && fy(&fr, le * bw) < fr.y0 + fr.h) {
            char txt[64];
            snprintf(txt, sizeof txt, "memory read %s GB/s", num(b1, sizeof b1, bw));
            double ex = fx(&fr, le), ey = fy(&fr, le * bw) - 7, th = ang * M_PI / 180, len = 7.4 * (double)strlen(txt);
            fprintf(f, "<text class=\"rooflabel\" text-anchor=\"end\" transform=\"translate(%.1f %.1f) rotate(%.1f)\">%s</text>", ex, ey, ang, txt);
            for (double t = 0; t <= len && nl < MAX_BOX - TK_PHASE_COUNT * TK_KIND_COUNT * 2; t += 12) {
                double cx = ex - (len - t) * cos(th) + 5 * sin(th), cy = ey - (len - t) * sin(th) - 5 * cos(th);
                placed[nl++] = (lbox){cx - 7, cy - 7, cx + 7, cy + 7};
            }
        }
        fprintf(f, "<text class=\"rooflabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">F32 peak %s GFLOP/s</text>", fr.x0 + fr.w - 6, fy(&fr, peak) - 6, num(b1, sizeof b1, peak));
        if (i8 > peak) fprintf(f, "<text class=\"rooflabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">int8 dot peak %s GOP/s (quantized weights)</text>", fr.x0 + fr.w - 6, fy(&fr, i8) - 6, num(b1, sizeof b1, i8));
        fprintf(f, "<line class=\"divider\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", fx(&fr, ridge), fy(&fr, peak), fx(&fr, ridge), fr.y0 + fr.h);
        fprintf(f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">ridge %s FLOP/B</text>", fx(&fr, ridge) + 4, fr.y0 + fr.h - 6, num(b1, sizeof b1, ridge));
    } else {
        fprintf(f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">the machine's limits are unknown (run tick roofline): no roof drawn</text>", fr.x0 + 10, fr.y0 + 16);
    }
    /* points: decode filled, prefill hollow, colour by kind */
    for (int i = 0; i < np; i++) {
        rpoint *q = &pts[i];
        q->x = fx(&fr, q->ai), q->y = fy(&fr, q->gflops);
        const char *col = kind_color[q->kind];
        fprintf(f, "<g class=\"pt\"><title>%s, %s: %s FLOP/B, %s GFLOP/s</title>", tk_op_kind_name(q->kind), phase_name[q->phase],
                num(b1, sizeof b1, q->ai), num(b2, sizeof b2, q->gflops));
        if (q->phase == TK_PHASE_DECODE) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"#222\" stroke-width=\"0.8\"/>", q->x, q->y, col);
        else fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"2\" transform=\"rotate(45 %.1f %.1f)\"/>", q->x - 4.5, q->y - 4.5, col, q->x, q->y);
        fprintf(f, "</g>\n");
    }
    /* labels: points of a phase closer than a few pixels share one label; a
     * prefill point next to its decode twin needs none (same colour). Each
     * label goes right (or left) of its point, moved up or down until it
     * overlaps no point and no other label. */
    int done[TK_PHASE_COUNT * TK_KIND_COUNT] = {0};
    for (int i = 0; i < np; i++) placed[nl++] = (lbox){pts[i].x - 5, pts[i].y - 5, pts[i].x + 5, pts[i].y + 5};
    for (int i = 0; i < np; i++) {
        if (done[i]) continue;
        const rpoint *q = &pts[i];
        char label[256];
        size_t o = 0;
        int need = 0;
        for (int j = i; j < np; j++) {
            const rpoint *r = &pts[j];
            if (done[j] || r->phase != q->phase || hypot(r->x - q->x, r->y - q->y) > 9) continue;
            done[j] = 1;
            int twin_near = 0;
            for (int t = 0; t < np && r->phase == TK_PHASE_PREFILL; t++)
                if (pts[t].phase == TK_PHASE_DECODE && pts[t].kind == r->kind && hypot(pts[t].x - r->x, pts[t].y - r->y) < 16) twin_near = 1;
            if (twin_near) continue;
            need = 1;
            o += (size_t)snprintf(label + o, sizeof label - o, "%s%s", o ? ", " : "", tk_op_kind_name(r->kind));
            if (o >= sizeof label) o = sizeof label - 1;
        }
        if (!need) continue;
        if (q->phase == TK_PHASE_PREFILL && o + 12 < sizeof label) snprintf(label + o, sizeof label - o, " (prefill)");
        double w = 6.3 * (double)strlen(label), best_dy = 0;
        int side = 1, ok = 0;
        for (int t = 0; t < 32 && !ok; t++) {
            double dy = (t / 2 + 1) / 2 * 13.0 * (t / 2 % 2 ? -1 : 1);
            side = t % 2 ? -1 : 1;
            lbox bx = side > 0 ? (lbox){q->x + 8, q->y + dy - 9, q->x + 8 + w, q->y + dy + 3} : (lbox){q->x - 8 - w, q->y + dy - 9, q->x - 8, q->y + dy + 3};
            if (bx.x0 < fr.x0 || bx.x1 > fr.x0 + fr.w || bx.y0 < fr.y0 || bx.y1 > fr.y0 + fr.h) continue;
            ok = 1;
            for (int j = 0; j < nl && ok; j++)
                if (overlaps(&bx, &placed[j])) ok = 0;
            if (ok) placed[nl++] = bx, best_dy = dy;
        }
        if (!ok) continue;
        double tx = side > 0 ? q->x + 8 : q->x - 8;
        if (fabs(best_dy) > 6) fprintf(f, "<line class=\"leader\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", q->x, q->y, tx, q->y + best_dy - 3);
        fprintf(f, "<text class=\"plabel%s\" x=\"%.1f\" y=\"%.1f\"%s>", q->phase == TK_PHASE_PREFILL ? " pre" : "", tx, q->y + best_dy, side > 0 ? "" : " text-anchor=\"end\"");
        esc(f, label);
        fprintf(f, "</text>\n");
    }
    /* legend at the right */
    double lx = fr.x0 + fr.w + 16, ly = fr.y0 + 14;
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#999\" stroke=\"#222\" stroke-width=\"0.8\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">decode</text>", lx + 5, ly - 4, lx + 16, ly);
    ly += 20;
    if (c->total[TK_PHASE_PREFILL].calls)
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" fill=\"#fff\" stroke=\"#999\" stroke-width=\"2\" transform=\"rotate(45 %.1f %.1f)\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">prefill</text>",
                lx + 0.5, ly - 8.5, lx + 5, ly - 4, lx + 16, ly), ly += 20;
    fprintf(f, "<line class=\"roof\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">roof (at %d thread%s)</text>", lx, ly - 4, lx + 12,
            ly - 4, lx + 16, ly, c->n_threads, c->n_threads > 1 ? "s" : "");
    ly += 26;
    int first = 1;
    for (int k = 0; k < TK_KIND_COUNT; k++) {
        int on = 0, off = 0;
        for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
            const tk_clock_stat *st = &c->kind[ph][k];
            if (st->calls && (st->flops <= 0 || !st->cycles)) off = 1;
            if (st->calls && st->flops > 0 && st->cycles) on = 1;
        }
        if (!off || on) continue;
        if (first) fprintf(f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">no FLOPs, not drawn:</text>", lx, ly), ly += 15, first = 0;
        fprintf(f, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">%s</text>", lx + 6, ly, tk_op_kind_name(k));
        ly += 15;
    }
    fprintf(f, "</svg>\n");
}

/* ---- tables ------------------------------------------------------------------ */

static void bar_cell(FILE *f, double pct, const char *color) {
    char b[32];
    if (!isfinite(pct)) { fprintf(f, "<td class=\"bar\">-</td>"); return; }
    double w = pct < 0 ? 0 : pct > 100 ? 100 : pct;
    fprintf(f, "<td class=\"bar\"><span class=\"fill\" style=\"width:%.1f%%;background:%s\"></span><span class=\"v\">%s%%</span></td>", w, color,
            num(b, sizeof b, pct));
}

static void td(FILE *f, double v) {
    char b[32];
    fprintf(f, "<td>%s</td>", num(b, sizeof b, v));
}

static void headline(const page *p) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    char b[32];
    fprintf(f, "<div class=\"cards\">");
    for (int ph = TK_PHASE_COUNT - 1; ph >= 0; ph--) {
        const tk_clock_stat *t = &c->total[ph];
        if (!t->calls) continue;
        double s = c->wall_ns[ph] / 1e9, per = s / t->calls, gbs = t->bytes / s / 1e9;
        fprintf(f, "<div class=\"card\" style=\"border-color:%s\"><div class=\"k\">%s</div><div class=\"big\">%s <small>tok/s</small></div>", phase_color[ph],
                phase_name[ph], num(b, sizeof b, 1.0 / per));
        fprintf(f, "<div>%s ms/token", num(b, sizeof b, per * 1e3));
        fprintf(f, " &middot; %s GB/s", num(b, sizeof b, gbs));
        if (p->lim.read_gbs > 0) fprintf(f, " = <b>%s%%</b> of read bandwidth", num(b, sizeof b, 100 * gbs / p->lim.read_gbs));
        fprintf(f, "</div>");
        if (p->lim.read_gbs > 0)
            fprintf(f, "<div>limit at full bandwidth: %s tok/s</div>", num(b, sizeof b, p->lim.read_gbs * 1e9 / (t->bytes / t->calls)));
        fprintf(f, "</div>");
    }
    /* where decode's time went */
    int ph = c->total[TK_PHASE_DECODE].calls ? TK_PHASE_DECODE : TK_PHASE_PREFILL;
    if (c->total[ph].calls) {
        int order[TK_KIND_COUNT];
        for (int k = 0; k < TK_KIND_COUNT; k++) order[k] = k;
        for (int i = 0; i < TK_KIND_COUNT; i++)
            for (int j = i + 1; j < TK_KIND_COUNT; j++)
                if (c->kind[ph][order[j]].cycles > c->kind[ph][order[i]].cycles) {
                    int t = order[i];
                    order[i] = order[j], order[j] = t;
                }
        double all = (double)c->total[ph].cycles;
        fprintf(f, "<div class=\"card\"><div class=\"k\">where %s time goes</div>", phase_name[ph]);
        for (int i = 0; i < 3; i++) {
            int k = order[i];
            if (!c->kind[ph][k].cycles) break;
            fprintf(f, "<div><span class=\"sw\" style=\"background:%s\"></span>%s <b>%s%%</b></div>", kind_color[k], tk_op_kind_name(k),
                    num(b, sizeof b, 100 * c->kind[ph][k].cycles / all));
        }
        fprintf(f, "</div>");
    }
    fprintf(f, "</div>\n");
}

static void table_phases(const page *p) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    char b[32];
    fprintf(f, "<section id=\"phases\"><h2>Prefill and decode</h2>\n<table><tr><th>phase</th><th>tokens</th><th>ms/token</th><th>tok/s</th>"
               "<th>MB/token</th><th>GB/s</th><th>%% of read bandwidth</th><th>GFLOP/s</th><th>%% of F32 peak</th><th>best tok/s at the bandwidth limit</th></tr>\n");
    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        const tk_clock_stat *t = &c->total[ph];
        if (!t->calls) continue;
        double s = c->wall_ns[ph] / 1e9, n = (double)t->calls, per = s / n, gbs = t->bytes / s / 1e9, gfl = t->flops / s / 1e9;
        fprintf(f, "<tr><td class=\"l\"><span class=\"sw\" style=\"background:%s\"></span>%s</td><td>%llu</td>", phase_color[ph], phase_name[ph],
                (unsigned long long)t->calls);
        td(f, per * 1e3), td(f, 1 / per), td(f, t->bytes / n / 1e6), td(f, gbs);
        bar_cell(f, p->lim.read_gbs > 0 ? 100 * gbs / p->lim.read_gbs : NAN, "#9ecae1");
        td(f, gfl);
        bar_cell(f, p->lim.f32_gflops > 0 ? 100 * gfl / p->lim.f32_gflops : NAN, "#fdae6b");
        fprintf(f, "<td>%s</td></tr>\n", p->lim.read_gbs > 0 ? num(b, sizeof b, p->lim.read_gbs * 1e9 / (t->bytes / n)) : "-");
    }
    fprintf(f, "</table>\n<table class=\"stages\"><tr><th>phase</th>");
    for (int s = 0; s < TK_STAGE_COUNT; s++) fprintf(f, "<th>%s</th>", tk_stage_name(s));
    fprintf(f, "</tr>\n");
    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        const tk_clock_stat *t = &c->total[ph];
        if (!t->calls) continue;
        fprintf(f, "<tr><td class=\"l\">%s, per stage</td>", phase_name[ph]);
        for (int s = 0; s < TK_STAGE_COUNT; s++) {
            char ms[32];
            fprintf(f, "<td>%s%% <small>(%s ms/token)</small></td>", num(b, sizeof b, 100.0 * c->stage[ph][s].cycles / (double)t->cycles),
                    num(ms, sizeof ms, secs(p, (double)c->stage[ph][s].cycles) * 1e3 / t->calls));
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n<p class=\"note\">fetch: token id &#8594; embedding row; decode: the layers; execute: final norm, classifier and sampling; "
               "write-back: this position's K and V into the cache. Decode reads every weight once per token, so its limit is "
               "read bandwidth &#247; bytes per token.</p></section>\n");
}

static void table_kinds(const page *p) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    fprintf(f, "<section id=\"kinds\"><h2>Per op kind</h2>\n");
    for (int ph = TK_PHASE_COUNT - 1; ph >= 0; ph--) {
        const tk_clock_stat *tot = &c->total[ph];
        if (!tot->calls) continue;
        double n = (double)tot->calls, all = (double)tot->cycles;
        fprintf(f, "<h3>%s</h3><table><tr><th>op kind</th><th>share of the tick</th><th>ms/token</th><th>calls/token</th><th>MB/token</th>"
                   "<th>MFLOP/token</th><th>FLOP/byte</th><th>GB/s</th><th>GFLOP/s</th><th>%% of roof</th></tr>\n", phase_name[ph]);
        for (int k = 0; k < TK_KIND_COUNT; k++) {
            const tk_clock_stat *st = &c->kind[ph][k];
            if (!st->calls) continue;
            double s = secs(p, (double)st->cycles);
            fprintf(f, "<tr><td class=\"l\"><span class=\"sw\" style=\"background:%s\"></span>%s</td>", kind_color[k], tk_op_kind_name(k));
            bar_cell(f, 100.0 * st->cycles / all, kind_color[k]);
            td(f, s * 1e3 / n), td(f, st->calls / n), td(f, st->bytes / n / 1e6), td(f, st->flops / n / 1e6);
            td(f, st->bytes > 0 ? st->flops / st->bytes : 0), td(f, s > 0 ? st->bytes / s / 1e9 : 0), td(f, s > 0 ? st->flops / s / 1e9 : 0);
            double rp = roof_pct(p, st);
            bar_cell(f, rp, "#c7e9c0");
            fprintf(f, "</tr>\n");
        }
        fprintf(f, "</table>\n");
    }
    fprintf(f, "<p class=\"note\">%% of roof: achieved GFLOP/s over what the roofline allows at the op's FLOP/byte "
               "(for ops without FLOPs: achieved GB/s over read bandwidth). Small ops whose data sits in cache can pass 100%%.</p></section>\n");
}

static void table_layers(const page *p) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    fprintf(f, "<section id=\"layers\"><h2>Per layer</h2>\n<table><tr><th>layer</th>");
    for (int ph = TK_PHASE_COUNT - 1; ph >= 0; ph--)
        if (c->total[ph].calls) fprintf(f, "<th>%s: share</th><th>ms/token</th><th>GB/s</th><th>%% of bandwidth</th>", phase_name[ph]);
    fprintf(f, "</tr>\n");
    for (int l = 0; l < c->n_layer; l++) {
        fprintf(f, "<tr><td class=\"l\">blk.%d</td>", l);
        for (int ph = TK_PHASE_COUNT - 1; ph >= 0; ph--) {
            const tk_clock_stat *tot = &c->total[ph], *st = &c->layer[ph][l];
            if (!tot->calls) continue;
            double s = secs(p, (double)st->cycles), gbs = s > 0 ? st->bytes / s / 1e9 : 0;
            bar_cell(f, 100.0 * st->cycles / (double)tot->cycles, phase_color[ph]);
            td(f, s * 1e3 / tot->calls), td(f, gbs);
            bar_cell(f, p->lim.read_gbs > 0 ? 100 * gbs / p->lim.read_gbs : NAN, "#9ecae1");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table></section>\n");
}

static void table_machine(const page *p) {
    FILE *f = p->f;
    const tk_clock *c = p->c;
    const tk_model_info *I = tk_model_info_of(p->m);
    char b[32];
    fprintf(f, "<section id=\"machine\"><h2>Machine and model</h2><div class=\"two\">\n<table class=\"kv\">");
    fprintf(f, "<tr><th colspan=\"2\">machine</th></tr><tr><td>CPU</td><td>");
    esc(f, p->o && p->o->cpu ? p->o->cpu : "unknown");
    fprintf(f, "</td></tr><tr><td>threads</td><td>%d</td></tr>", c->n_threads);
    fprintf(f, "<tr><td>cycle counter</td><td>%s at %s GHz</td></tr>", c->ci.source, num(b, sizeof b, c->ci.hz / 1e9));
    if (p->lim.read_gbs > 0) {
        fprintf(f, "<tr><td>read bandwidth</td><td>%s GB/s</td></tr>", num(b, sizeof b, p->lim.read_gbs));
        fprintf(f, "<tr><td>F32 peak</td><td>%s GFLOP/s</td></tr>", num(b, sizeof b, p->lim.f32_gflops));
        if (p->o && p->o->int8_gops > 0) fprintf(f, "<tr><td>int8 dot peak</td><td>%s GOP/s</td></tr>", num(b, sizeof b, p->o->int8_gops));
        fprintf(f, "<tr><td>limits from</td><td>");
        esc(f, p->lim.source ? p->lim.source : "measured");
        fprintf(f, " (at %d thread%s)</td></tr>", c->n_threads, c->n_threads > 1 ? "s" : "");
    } else {
        fprintf(f, "<tr><td>limits</td><td>unknown (run tick roofline)</td></tr>");
    }
    fprintf(f, "</table>\n<table class=\"kv\"><tr><th colspan=\"2\">model</th></tr><tr><td>name</td><td>");
    esc(f, I->name);
    fprintf(f, "</td></tr><tr><td>architecture</td><td>");
    esc(f, I->arch);
    fprintf(f, " (");
    esc(f, I->format);
    fprintf(f, ")</td></tr><tr><td>weights</td><td>%s MiB, %s parameters</td></tr>", num(b, sizeof b, I->weight_bytes / 1048576.0),
            si((char[32]){0}, 32, (double)I->n_params, ""));
    fprintf(f, "<tr><td>layers</td><td>%d</td></tr><tr><td>shape</td><td>n_embd %d, n_head %d (kv %d), head_dim %d, n_ff %d, n_vocab %d</td></tr>", I->n_layer,
            I->n_embd, I->n_head, I->n_head_kv, I->head_dim, I->n_ff, I->n_vocab);
    fprintf(f, "</table></div></section>\n");
}

static const char *CSS =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:0;background:#f6f6f4;color:#222;font-size:14px}"
    "main{max-width:1160px;margin:0 auto;padding:16px 20px 40px}"
    "h1{font-size:22px;margin:4px 0 2px}h2{font-size:17px;margin:26px 0 6px;border-bottom:1px solid #ccc;padding-bottom:3px}"
    "h3{font-size:14px;margin:12px 0 4px}.sub{color:#555;margin:0 0 12px}"
    ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:10px 0}"
    ".card{background:#fff;border:1px solid #ddd;border-left:5px solid #888;border-radius:4px;padding:8px 12px;min-width:250px;flex:1;font-size:13px}"
    ".card .k{color:#555;font-size:12px;text-transform:uppercase;letter-spacing:.05em}.card .big{font-size:26px;font-weight:bold;margin:2px 0}"
    ".card small{font-size:13px;font-weight:normal;color:#555}"
    "figure{margin:8px 0 4px;background:#fff;border:1px solid #ddd;border-radius:4px;padding:6px 0}"
    "figcaption{font-size:13px;color:#444;padding:2px 14px 4px}svg.chart{display:block;max-width:100%;height:auto}"
    "svg text{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:11px;fill:#333}"
    ".grid line{stroke:#e4e4e4;stroke-width:1}.grid line.major{stroke:#d8d8d8}.grid line.minor{stroke:#f0f0f0}text.tl.m{fill:#888;font-size:10px}.tk{stroke:#888}.box{fill:none;stroke:#888}"
    "text.atitle{font-size:12px;fill:#444}text.legend{font-size:12px}text.note{font-size:11px;fill:#666}"
    ".divider{stroke:#555;stroke-dasharray:4 3}.attn{fill:none;stroke:#d62728;stroke-width:1.6}"
    ".trend{fill:none;stroke-width:2.4;opacity:.9}.dots{opacity:.55}.clip{fill:#000}"
    ".roof{fill:none;stroke:#111;stroke-width:2.2}.roof2{fill:none;stroke:#111;stroke-width:1.4;stroke-dasharray:6 4}"
    "text.rooflabel{font-size:12px;font-weight:bold;fill:#111}text.plabel{font-size:11px;fill:#111}text.plabel.pre{fill:#777}"
    ".leader{stroke:#aaa;stroke-width:.8}#ops-per-tick rect{shape-rendering:crispEdges}"
    "table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;font-variant-numeric:tabular-nums}th{background:#eee;font-weight:600}"
    "td.l{text-align:left;white-space:nowrap}.kv td,.kv th{text-align:left}.kv td:first-child{color:#555}"
    "td.bar{position:relative;min-width:90px;text-align:left}td.bar .fill{position:absolute;left:0;top:2px;bottom:2px;opacity:.55}"
    "td.bar .v{position:relative}.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border:1px solid #0003}"
    ".two{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}.note{color:#666;font-size:12px}"
    ".text{background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px 12px;white-space:pre-wrap;font-size:13px;max-height:9em;overflow:auto}"
    ".text b{color:#555}footer{color:#777;font-size:12px;margin-top:28px}"
    "@media print{body{background:#fff}}";

int tk_report_html(FILE *f, const tk_clock *c, const tk_model *m, const tk_limits *lim, const tk_html_opts *o) {
    page p = {f, c, m, {0, 0, NULL}, o, c->ci.hz > 0 ? c->ci.hz : 1e9};
    if (lim) p.lim = *lim;
    const tk_model_info *I = tk_model_info_of(m);
    char b[32];
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>tick report: ");
    esc(f, I->name);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body><main>\n<h1>tick report: ", CSS);
    esc(f, I->name);
    int n_pre = (int)c->total[TK_PHASE_PREFILL].calls, n_dec = (int)c->total[TK_PHASE_DECODE].calls;
    fprintf(f, "</h1>\n<p class=\"sub\">%d prompt token%s and %d generated, one tick per token, %d thread%s on ", n_pre, n_pre == 1 ? "" : "s", n_dec,
            c->n_threads, c->n_threads > 1 ? "s" : "");
    esc(f, o && o->cpu ? o->cpu : "an unknown CPU");
    fprintf(f, "; %s MiB of weights (%s)</p>\n", num(b, sizeof b, I->weight_bytes / 1048576.0), I->arch);
    headline(&p);

    series s;
    if (series_make(&p, &s, 560) != 0) return -1;
    fprintf(f, "<h2>Time per tick</h2><figure>\n");
    chart_cycles(&p, &s);
    fprintf(f, "<figcaption>Every dot is one tick (one token through every layer), measured with the %s counter. Decode ticks grow with the "
               "position because attention reads the K and V of every earlier position; the red line is attention alone.</figcaption></figure>\n",
            c->ci.source);
    fprintf(f, "<h2>Where each tick went, by op kind</h2><figure>\n");
    chart_ops(&p, &s);
    fprintf(f, "<figcaption>The cycles of each tick split by op kind (the executor stamps the counter around every op). "
               "Percentages: share of all ticks.</figcaption></figure>\n");
    series_free(&s);
    fprintf(f, "<h2>Roofline</h2><figure>\n");
    chart_roofline(&p);
    fprintf(f, "<figcaption>Each op kind at its arithmetic intensity (FLOPs and bytes come from the op's shapes and dtypes, not from timers) "
               "against the GFLOP/s it achieved. Left of the ridge an op is bound by memory bandwidth (the slope), right of it by compute "
               "(the ceiling); the distance below the roof is what is left on the table.</figcaption></figure>\n");

    table_phases(&p);
    table_kinds(&p);
    table_layers(&p);
    table_machine(&p);
    if (o && (o->prompt || o->output)) {
        fprintf(f, "<section id=\"text\"><h2>Text</h2><div class=\"text\"><b>");
        esc(f, o->prompt);
        fprintf(f, "</b>");
        esc(f, o->output);
        fprintf(f, "</div></section>\n");
    }
    if (c->dropped_ticks)
        fprintf(f, "<p class=\"note\">%d ticks past the record capacity are in the totals but not in the per-tick charts.</p>\n", c->dropped_ticks);
    fprintf(f, "<footer>Made by <code>");
    esc(f, o && o->command ? o->command : "tick report");
    fprintf(f, "</code>. Cycles: %s at %s GHz, converted to time with that measured rate. The JSON of the same numbers: tick clock --json "
               "(schema in docs/clock.md).</footer>\n</main></body></html>\n", c->ci.source, num(b, sizeof b, c->ci.hz / 1e9));
    return ferror(f) ? -1 : 0;
}
