/* report.c: the clock's numbers for people (tables) and scripts (JSON). */
#include "report.h"
#include "../model/model.h"

#include <math.h>
#include <string.h>

static const char *phase_names[TK_PHASE_COUNT] = {"prefill", "decode"};

static void pct_str(char *buf, size_t cap, double v) {
    if (isnan(v)) snprintf(buf, cap, "    -");
    else snprintf(buf, cap, "%5.1f", v);
}

static double ms_of(const tk_clock *c, double cycles) { return cycles / c->ci.hz * 1e3; }

double tk_roof_attainable(const tk_limits *lim, double ai) {
    if (!lim || lim->read_gbs <= 0 || lim->f32_gflops <= 0) return 0;
    double bw_bound = ai * lim->read_gbs;
    return bw_bound < lim->f32_gflops ? bw_bound : lim->f32_gflops;
}

/* Share of the roof an op (flops, bytes in `cycles`) reached, in %. For a
 * bandwidth-bound op this is achieved GB/s over peak GB/s. */
static double roof_pct(const tk_clock *c, const tk_limits *lim, double flops, double bytes, double cycles) {
    if (cycles <= 0 || bytes <= 0) return NAN;
    double s = cycles / c->ci.hz;
    if (flops <= 0) return lim && lim->read_gbs > 0 ? 100.0 * bytes / s / 1e9 / lim->read_gbs : NAN;
    double att = tk_roof_attainable(lim, flops / bytes);
    return att > 0 ? 100.0 * flops / s / 1e9 / att : NAN;
}

static void piece(const tk_model *m, int32_t id, char *out, size_t cap) {
    char buf[64];
    int n = tk_token_piece(m, id, buf, (int)sizeof buf);
    if (n > (int)sizeof buf) n = (int)sizeof buf;
    size_t o = 0;
    out[o++] = '\'';
    for (int i = 0; i < n && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\n') out[o++] = '\\', out[o++] = 'n';
        else if (ch < 0x20 || ch == '\'') o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else out[o++] = (char)ch;
    }
    out[o++] = '\'';
    out[o] = 0;
}

void tk_report_tick_header(FILE *f) {
    fprintf(f, "%5s %5s %4s %-12s %8s %8s %8s %8s %10s %8s %7s %5s %8s\n", "tick", "pos", "n", "token", "fetch", "decode",
            "execute", "wr-back", "cycles", "ms", "GB/s", "%bw", "GFLOP/s");
    fprintf(f, "%5s %5s %4s %-12s %8s %8s %8s %8s %10s\n", "", "", "", "", "kcyc", "kcyc", "kcyc", "kcyc", "");
}

void tk_report_tick(FILE *f, const tk_clock *c, const tk_model *m, const tk_tick_rec *t, const tk_limits *lim) {
    char p[48];
    piece(m, t->token, p, sizeof p);
    uint64_t cy = t->c_end - t->c_start;
    double s = cy / c->ci.hz, gbs = s > 0 ? t->bytes / s / 1e9 : 0;
    char bw[16] = "    -";
    if (lim && lim->read_gbs > 0) snprintf(bw, sizeof bw, "%5.0f", 100.0 * gbs / lim->read_gbs);
    fprintf(f, "%5d %5d %4d %-12.12s %8.1f %8.1f %8.1f %8.1f %10llu %8.3f %7.2f %s %8.2f\n", (int)(t - c->ticks),
            t->pos, t->n, p, t->stage_cycles[TK_STAGE_FETCH] / 1e3, t->stage_cycles[TK_STAGE_DECODE] / 1e3,
            t->stage_cycles[TK_STAGE_EXECUTE] / 1e3, t->stage_cycles[TK_STAGE_WRITEBACK] / 1e3,
            (unsigned long long)cy, s * 1e3, gbs, bw, s > 0 ? t->flops / s / 1e9 : 0);
}


void tk_report_summary(FILE *f, const tk_clock *c, const tk_model *m, const tk_limits *lim) {
    const tk_model_info *I = tk_model_info_of(m);
    fprintf(f, "tick clock: %s (%s, %s), %d layers, weights %.2f MiB, %d thread%s\n", I->name, I->arch, I->format,
            I->n_layer, I->weight_bytes / 1048576.0, c->n_threads, c->n_threads > 1 ? "s" : "");
    fprintf(f, "cycles: %s at %.3f GHz (a constant-rate counter, converted to time with that measured rate)\n",
            c->ci.source, c->ci.hz / 1e9);
    if (lim && lim->read_gbs > 0)
        fprintf(f, "limits: read bandwidth %.1f GB/s, F32 peak %.1f GFLOP/s (%s)\n", lim->read_gbs, lim->f32_gflops,
                lim->source ? lim->source : "measured");
    else
        fprintf(f, "limits: unknown (run `tick roofline`); percentages are left out\n");

    fprintf(f, "\n%-8s %7s %10s %9s %9s %6s %9s %6s %14s\n", "phase", "tokens", "ms/token", "tok/s", "GB/s", "%bw",
            "GFLOP/s", "%peak", "best tok/s(bw)");
    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        const tk_clock_stat *t = &c->total[ph];
        if (!t->calls) continue;
        double s = c->wall_ns[ph] / 1e9, per = s / t->calls;
        double gbs = t->bytes / s / 1e9, gfl = t->flops / s / 1e9;
        char bw[16], pk[16], best[24] = "             -";
        pct_str(bw, sizeof bw, lim && lim->read_gbs > 0 ? 100 * gbs / lim->read_gbs : NAN);
        pct_str(pk, sizeof pk, lim && lim->f32_gflops > 0 ? 100 * gfl / lim->f32_gflops : NAN);
        if (lim && lim->read_gbs > 0) snprintf(best, sizeof best, "%14.1f", lim->read_gbs * 1e9 / (t->bytes / t->calls));
        fprintf(f, "%-8s %7llu %10.4f %9.1f %9.2f %6s %9.2f %6s %s\n", phase_names[ph], (unsigned long long)t->calls,
                per * 1e3, 1.0 / per, gbs, bw, gfl, pk, best);
    }

    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        const tk_clock_stat *tot = &c->total[ph];
        if (!tot->calls) continue;
        double n = (double)tot->calls, all = (double)tot->cycles;
        fprintf(f, "\n%s, per stage:    ", phase_names[ph]);
        for (int s = 0; s < TK_STAGE_COUNT; s++)
            fprintf(f, "%s %.1f%% (%.4f ms)   ", tk_stage_name(s), 100.0 * c->stage[ph][s].cycles / all,
                    ms_of(c, c->stage[ph][s].cycles) / n);
        fprintf(f, "\n%s, per op kind:\n", phase_names[ph]);
        fprintf(f, "  %-16s %6s %10s %9s %10s %11s %9s %9s %6s\n", "kind", "share", "ms/token", "calls/tok", "MB/token",
                "MFLOP/token", "GB/s", "GFLOP/s", "%roof");
        for (int k = 0; k < TK_KIND_COUNT; k++) {
            const tk_clock_stat *st = &c->kind[ph][k];
            if (!st->calls) continue;
            double s = st->cycles / c->ci.hz;
            char rp[16];
            pct_str(rp, sizeof rp, roof_pct(c, lim, st->flops, st->bytes, (double)st->cycles));
            fprintf(f, "  %-16s %5.1f%% %10.4f %9.1f %10.4f %11.4f %9.2f %9.2f %6s\n", tk_op_kind_name(k),
                    100.0 * st->cycles / all, s * 1e3 / n, st->calls / n, st->bytes / n / 1e6, st->flops / n / 1e6,
                    s > 0 ? st->bytes / s / 1e9 : 0, s > 0 ? st->flops / s / 1e9 : 0, rp);
        }
        fprintf(f, "%s, per layer:\n  %-6s %6s %10s %9s %6s\n", phase_names[ph], "layer", "share", "ms/token", "GB/s", "%bw");
        for (int l = 0; l < c->n_layer; l++) {
            const tk_clock_stat *st = &c->layer[ph][l];
            double s = st->cycles / c->ci.hz, gbs = s > 0 ? st->bytes / s / 1e9 : 0;
            char bw[16];
            pct_str(bw, sizeof bw, lim && lim->read_gbs > 0 ? 100 * gbs / lim->read_gbs : NAN);
            fprintf(f, "  %-6d %5.1f%% %10.4f %9.2f %6s\n", l, 100.0 * st->cycles / all, s * 1e3 / n, gbs, bw);
        }
    }
    if (c->dropped_ticks) fprintf(f, "\n(%d ticks past the record capacity are in the totals but not in the per-tick records)\n", c->dropped_ticks);
}

int tk_report_tick_detail(FILE *f, const tk_clock *c, const tk_model *m, int tick, const tk_limits *lim) {
    if (tick < 0 || tick >= c->n_ticks) return -1;
    const tk_tick_rec *t = &c->ticks[tick];
    double fl[TK_KIND_COUNT] = {0}, by[TK_KIND_COUNT] = {0};
    for (int i = 0; i < c->graph->n_ops; i++) {
        const tk_op *op = &c->graph->ops[i];
        if (i >= c->graph->first_logits_op && t->kind_cycles[TK_KIND_CLASSIFIER] == 0) break;
        fl[op->kind] += tk_op_flops(op, t);
        by[op->kind] += tk_op_bytes(op, t);
    }
    if (t->kind_cycles[TK_KIND_SAMPLE]) fl[TK_KIND_SAMPLE] = tk_n_vocab(m), by[TK_KIND_SAMPLE] = 4.0 * tk_n_vocab(m);
    uint64_t cy = t->c_end - t->c_start;
    double s = cy / c->ci.hz;
    char p[48];
    piece(m, t->token, p, sizeof p);
    char where[80];
    if (t->n_seq > 1) snprintf(where, sizeof where, "%d rows of %d sequences (a batch), first at position %d", t->n, t->n_seq, t->pos);
    else if (t->n > 1) snprintf(where, sizeof where, "positions %d..%d (a burst of %d)", t->pos, t->pos + t->n - 1, t->n);
    else snprintf(where, sizeof where, "position %d", t->pos);
    fprintf(f, "\ntick %d: %s, token %d %s, %s; %llu cycles = %.4f ms; %.3f MB read, %.3f MFLOP; %.2f GB/s",
            tick, where, t->token, p, phase_names[t->phase], (unsigned long long)cy, s * 1e3, t->bytes / 1e6,
            t->flops / 1e6, s > 0 ? t->bytes / s / 1e9 : 0);
    if (lim && lim->read_gbs > 0)
        fprintf(f, " = %.1f%% of %.1f GB/s (the limit would be %.4f ms)", 100 * t->bytes / s / 1e9 / lim->read_gbs,
                lim->read_gbs, t->bytes / (lim->read_gbs * 1e9) * 1e3);
    fprintf(f, "\n  stages:");
    for (int st = 0; st < TK_STAGE_COUNT; st++)
        fprintf(f, "  %s %.1f%%", tk_stage_name(st), cy ? 100.0 * t->stage_cycles[st] / cy : 0);
    fprintf(f, "\n  %-16s %6s %10s %10s %11s %9s %6s\n", "kind", "share", "ms", "MB", "MFLOP", "GB/s", "%roof");
    for (int k = 0; k < TK_KIND_COUNT; k++) {
        if (!t->kind_cycles[k]) continue;
        double ks = t->kind_cycles[k] / c->ci.hz;
        char rp[16];
        pct_str(rp, sizeof rp, roof_pct(c, lim, fl[k], by[k], (double)t->kind_cycles[k]));
        fprintf(f, "  %-16s %5.1f%% %10.4f %10.4f %11.4f %9.2f %6s\n", tk_op_kind_name(k), 100.0 * t->kind_cycles[k] / cy,
                ks * 1e3, by[k] / 1e6, fl[k] / 1e6, ks > 0 ? by[k] / ks / 1e9 : 0, rp);
    }
    return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fprintf(f, "null");
}

static void json_stat(FILE *f, const tk_clock *c, const tk_limits *lim, const tk_clock_stat *st, double n, double all) {
    double s = st->cycles / c->ci.hz;
    fprintf(f, "{\"cycles\": %llu, \"calls\": %llu, \"share\": ", (unsigned long long)st->cycles, (unsigned long long)st->calls);
    json_num(f, all > 0 ? st->cycles / all : 0);
    fprintf(f, ", \"ms_per_token\": ");
    json_num(f, n > 0 ? s * 1e3 / n : 0);
    fprintf(f, ", \"bytes_per_token\": ");
    json_num(f, n > 0 ? st->bytes / n : 0);
    fprintf(f, ", \"flops_per_token\": ");
    json_num(f, n > 0 ? st->flops / n : 0);
    fprintf(f, ", \"gbs\": ");
    json_num(f, s > 0 ? st->bytes / s / 1e9 : 0);
    fprintf(f, ", \"gflops\": ");
    json_num(f, s > 0 ? st->flops / s / 1e9 : 0);
    fprintf(f, ", \"roof_pct\": ");
    json_num(f, roof_pct(c, lim, st->flops, st->bytes, (double)st->cycles));
    fprintf(f, "}");
}

void tk_report_json(FILE *f, const tk_clock *c, const tk_model *m, const tk_limits *lim) {
    const tk_model_info *I = tk_model_info_of(m);
    fprintf(f, "{\n  \"schema\": \"tick.clock/1\",\n  \"model\": {\"name\": ");
    json_str(f, I->name);
    fprintf(f, ", \"arch\": ");
    json_str(f, I->arch);
    fprintf(f, ", \"format\": ");
    json_str(f, I->format);
    fprintf(f, ", \"n_layer\": %d, \"n_embd\": %d, \"n_vocab\": %d, \"weight_bytes\": %llu, \"n_params\": %llu},\n",
            I->n_layer, I->n_embd, I->n_vocab, (unsigned long long)I->weight_bytes, (unsigned long long)I->n_params);
    fprintf(f, "  \"threads\": %d,\n  \"cycle_counter\": {\"source\": ", c->n_threads);
    json_str(f, c->ci.source);
    fprintf(f, ", \"hz\": ");
    json_num(f, c->ci.hz);
    fprintf(f, "},\n  \"limits\": {\"read_gbs\": ");
    json_num(f, lim ? lim->read_gbs : 0);
    fprintf(f, ", \"f32_gflops\": ");
    json_num(f, lim ? lim->f32_gflops : 0);
    fprintf(f, ", \"source\": ");
    json_str(f, lim && lim->source ? lim->source : "unknown");
    fprintf(f, "},\n  \"phases\": {");
    int first = 1;
    for (int ph = 0; ph < TK_PHASE_COUNT; ph++) {
        const tk_clock_stat *t = &c->total[ph];
        if (!t->calls) continue;
        double n = (double)t->calls, all = (double)t->cycles, s = c->wall_ns[ph] / 1e9;
        fprintf(f, "%s\n    \"%s\": {\"tokens\": %llu, \"wall_ms\": ", first ? "" : ",", phase_names[ph], (unsigned long long)t->calls);
        first = 0;
        json_num(f, s * 1e3);
        fprintf(f, ", \"tok_s\": ");
        json_num(f, n / s);
        fprintf(f, ", \"best_tok_s\": ");
        json_num(f, lim && lim->read_gbs > 0 ? lim->read_gbs * 1e9 / (t->bytes / n) : NAN);
        fprintf(f, ", \"bytes_per_token\": ");
        json_num(f, t->bytes / n);
        fprintf(f, ", \"flops_per_token\": ");
        json_num(f, t->flops / n);
        fprintf(f, ", \"gbs\": ");
        json_num(f, t->bytes / s / 1e9);
        fprintf(f, ", \"gflops\": ");
        json_num(f, t->flops / s / 1e9);
        fprintf(f, ",\n      \"stages\": {");
        for (int st = 0; st < TK_STAGE_COUNT; st++) {
            fprintf(f, "%s\"%s\": ", st ? ", " : "", tk_stage_name(st));
            json_stat(f, c, lim, &c->stage[ph][st], n, all);
        }
        fprintf(f, "},\n      \"kinds\": {");
        int fk = 1;
        for (int k = 0; k < TK_KIND_COUNT; k++) {
            if (!c->kind[ph][k].calls) continue;
            fprintf(f, "%s\n        \"%s\": ", fk ? "" : ",", tk_op_kind_name(k));
            fk = 0;
            json_stat(f, c, lim, &c->kind[ph][k], n, all);
        }
        fprintf(f, "},\n      \"layers\": [");
        for (int l = 0; l < c->n_layer; l++) {
            fprintf(f, "%s\n        ", l ? "," : "");
            json_stat(f, c, lim, &c->layer[ph][l], n, all);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "},\n  \"ticks\": [");
    for (int i = 0; i < c->n_ticks; i++) {
        const tk_tick_rec *t = &c->ticks[i];
        fprintf(f, "%s\n    {\"pos\": %d, \"n\": %d, \"token\": %d, \"phase\": \"%s\", \"cycles\": %llu, \"ms\": ", i ? "," : "", t->pos,
                t->n, t->token, phase_names[t->phase], (unsigned long long)(t->c_end - t->c_start));
        json_num(f, (t->c_end - t->c_start) / c->ci.hz * 1e3);
        if (t->n_seq > 1) fprintf(f, ", \"seqs\": %d", t->n_seq);
        fprintf(f, ", \"bytes\": ");
        json_num(f, t->bytes);
        fprintf(f, ", \"flops\": ");
        json_num(f, t->flops);
        fprintf(f, ", \"stage_cycles\": [");
        for (int s = 0; s < TK_STAGE_COUNT; s++) fprintf(f, "%s%llu", s ? ", " : "", (unsigned long long)t->stage_cycles[s]);
        fprintf(f, "], \"kind_cycles\": [");
        for (int k = 0; k < TK_KIND_COUNT; k++) fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)t->kind_cycles[k]);
        fprintf(f, "]}");
    }
    fprintf(f, "],\n  \"kind_names\": [");
    for (int k = 0; k < TK_KIND_COUNT; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", tk_op_kind_name(k));
    fprintf(f, "],\n  \"stage_names\": [");
    for (int s = 0; s < TK_STAGE_COUNT; s++) fprintf(f, "%s\"%s\"", s ? ", " : "", tk_stage_name(s));
    fprintf(f, "]\n}\n");
}

/* ---- Chrome trace ---------------------------------------------------------- */

int tk_report_trace(FILE *f, const tk_clock *c, const tk_model *m) {
    (void)m;
    if (!c->trace_cap) return -1;
    uint64_t base = c->n_ticks ? c->ticks[0].c_start : 0;
    for (int t = 0; t < c->n_threads; t++)
        if (c->trace_n[t] && c->trace[t][0].c0 < base) base = c->trace[t][0].c0;
    double us = 1e6 / c->ci.hz;
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"cycle_counter\": \"%s\", \"hz\": %.0f},\n\"traceEvents\": [\n",
            c->ci.source, c->ci.hz);
    fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, \"args\": {\"name\": \"tick\"}}");
    for (int t = 0; t < c->n_threads; t++)
        fprintf(f, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %d, \"args\": {\"name\": \"thread %d\"}}", t, t);
    for (int i = 0; i < c->n_ticks; i++) {
        const tk_tick_rec *r = &c->ticks[i];
        fprintf(f, ",\n{\"name\": \"tick %d (pos %d, n %d)\", \"cat\": \"tick\", \"ph\": \"i\", \"s\": \"p\", \"pid\": 1, \"tid\": 0, \"ts\": %.3f}",
                i, r->pos, r->n, (r->c_start - base) * us);
    }
    for (int t = 0; t < c->n_threads; t++) {
        for (int i = 0; i < c->trace_n[t]; i++) {
            const tk_trace_ev *ev = &c->trace[t][i];
            const tk_op *op = ev->op >= 0 ? &c->graph->ops[ev->op] : NULL;
            fprintf(f, ",\n{\"name\": \"%s\", \"cat\": \"%s\", \"ph\": \"X\", \"pid\": 1, \"tid\": %d, \"ts\": %.3f, \"dur\": %.3f, \"args\": {\"tick\": %u, \"layer\": %d}}",
                    op ? op->name : "sample", op ? tk_op_kind_name(op->kind) : "sampling", t, (ev->c0 - base) * us,
                    (ev->c1 - ev->c0) * us, ev->tick, op ? op->layer : -1);
        }
    }
    fprintf(f, "\n]}\n");
    return ferror(f) ? -1 : 0;
}
