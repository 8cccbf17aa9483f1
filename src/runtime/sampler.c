/* sampler.c: the sampler chain, in llama.cpp's order:
 *   repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw
 * Greedy (argmax, first index on ties) when temp <= 0. The generator is
 * xoshiro256** seeded through splitmix64: the same seed gives the same
 * draws on every machine. Scratch is allocated once in tk_sampler_new. */
#include "tick.h"
#include "../base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { float logit, p; int32_t id; } cand;

struct tk_sampler {
    tk_sampler_params p;
    int n_vocab;
    cand *c;          /* [n_vocab] */
    int32_t *hist;    /* ring of the last repeat_last_n accepted ids */
    int hist_n, hist_head;
    uint64_t s[4];    /* xoshiro256** state */
};

tk_sampler_params tk_sampler_defaults(void) {
    tk_sampler_params p = {
        .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
        .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 0x5eed,
    };
    return p;
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(tk_sampler *s) {
    uint64_t *q = s->s, r = rotl(q[1] * 5, 7) * 9, t = q[1] << 17;
    q[2] ^= q[0], q[3] ^= q[1], q[1] ^= q[2], q[0] ^= q[3], q[2] ^= t, q[3] = rotl(q[3], 45);
    return r;
}

/* Uniform in [0, 1) with 53 bits. */
static double next_f64(tk_sampler *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

tk_sampler *tk_sampler_new(const tk_sampler_params *p, int n_vocab, tk_error *e) {
    if (n_vocab <= 0) { tk_err(e, TK_EINVAL, "sampler: vocabulary size %d", n_vocab); return NULL; }
    if (!(p->temp >= 0.0f) || p->temp > 1e6f) { tk_err(e, TK_EINVAL, "--temp %g is out of range [0, 1e6]", (double)p->temp); return NULL; }
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f)) { tk_err(e, TK_EINVAL, "--top-p %g is out of range [0, 1]", (double)p->top_p); return NULL; }
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f)) { tk_err(e, TK_EINVAL, "--min-p %g is out of range [0, 1]", (double)p->min_p); return NULL; }
    if (!(p->repeat_penalty > 0.0f) || p->repeat_penalty > 1e6f) { tk_err(e, TK_EINVAL, "--repeat-penalty %g must be > 0", (double)p->repeat_penalty); return NULL; }
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 20)) { tk_err(e, TK_EINVAL, "--repeat-last-n %d is out of range [0, 1048576]", p->repeat_last_n); return NULL; }
    tk_sampler *s = calloc(1, sizeof *s);
    if (s) {
        s->c = malloc((size_t)n_vocab * sizeof *s->c);
        s->hist = malloc(((size_t)p->repeat_last_n + 1) * sizeof *s->hist);
    }
    if (!s || !s->c || !s->hist) {
        if (s) free(s->c), free(s->hist), free(s);
        tk_err(e, TK_ENOMEM, "sampler: out of memory");
        return NULL;
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    uint64_t x = p->seed;
    for (int i = 0; i < 4; i++) s->s[i] = splitmix64(&x);
    return s;
}

void tk_sampler_free(tk_sampler *s) {
    if (!s) return;
    free(s->c);
    free(s->hist);
    free(s);
}

void tk_sampler_accept(tk_sampler *s, int32_t id) {
    int cap = s->p.repeat_last_n;
    if (cap <= 0) return;
    s->hist[s->hist_head] = id;
    s->hist_head = (s->hist_head + 1) % cap;
    if (s->hist_n < cap) s->hist_n++;
}

static int by_logit_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Min-heap on "better" order: c[0] is the worst of the heap. */
static void sift_down(cand *c, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && by_logit_desc(&c[l], &c[w]) > 0) w = l;
        if (r < n && by_logit_desc(&c[r], &c[w]) > 0) w = r;
        if (w == i) return;
        cand t = c[i];
        c[i] = c[w], c[w] = t;
        i = w;
    }
}

/* p = softmax(logit) over c[0..n) (sorted descending: max is c[0]). */
static void softmax_sorted(cand *c, int n) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (c[i].p = expf(c[i].logit - c[0].logit));
    for (int i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
}

int32_t tk_sampler_sample(tk_sampler *s, const float *logits) {
    int n = s->n_vocab;
    cand *c = s->c;
    for (int i = 0; i < n; i++) c[i] = (cand){logits[i], 0.0f, i};

    /* repetition penalty: each distinct recent id once (llama.cpp rule) */
    if (s->p.repeat_penalty != 1.0f) {
        for (int j = 0; j < s->hist_n; j++) {
            int32_t id = s->hist[j];
            if (id < 0 || id >= n || c[id].p != 0.0f) continue;
            c[id].p = 1.0f; /* mark: penalized once */
            float *l = &c[id].logit;
            *l = *l > 0 ? *l / s->p.repeat_penalty : *l * s->p.repeat_penalty;
        }
    }

    if (s->p.temp <= 0.0f) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (c[i].logit > c[best].logit) best = i;
        return c[best].id;
    }

    if (s->p.top_k > 0 && s->p.top_k < n) {
        /* the k best in O(n log k) with a min-heap in c[0..k), then sorted */
        int k = s->p.top_k;
        for (int i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
        for (int i = k; i < n; i++)
            if (by_logit_desc(&c[i], &c[0]) < 0) {
                c[0] = c[i];
                sift_down(c, k, 0);
            }
        n = k;
    }
    qsort(c, (size_t)n, sizeof *c, by_logit_desc);
    softmax_sorted(c, n);
    if (s->p.top_p < 1.0f) {
        double cum = 0.0;
        for (int i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= s->p.top_p) { n = i + 1; break; }
        }
    }
    if (s->p.min_p > 0.0f) {
        float lim = c[0].p * s->p.min_p;
        int k = 1;
        while (k < n && c[k].p >= lim) k++;
        n = k;
    }
    for (int i = 0; i < n; i++) c[i].logit /= s->p.temp;
    softmax_sorted(c, n);
    double r = next_f64(s), cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += c[i].p;
        if (r < cum) return c[i].id;
    }
    return c[n - 1].id;
}
