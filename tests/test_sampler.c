/* test_sampler.c: the sampler chain on hand-made logits. */
#include "t.h"
#include "tick.h"

#include <math.h>
#include <stdlib.h>

static tk_sampler *mk(float temp, int top_k, float top_p, float min_p, float rp, uint64_t seed, int n) {
    tk_sampler_params p = tk_sampler_defaults();
    p.temp = temp, p.top_k = top_k, p.top_p = top_p, p.min_p = min_p, p.repeat_penalty = rp, p.seed = seed;
    tk_error e;
    tk_sampler *s = tk_sampler_new(&p, n, &e);
    T_CHECK(s != NULL, "sampler_new: %s", e.msg);
    return s;
}

static void test_greedy(void) {
    float l[6] = {0.1f, 2.0f, -1.0f, 2.5f, 2.5f, 0.0f};
    tk_sampler *s = mk(0.0f, 40, 0.95f, 0.05f, 1.0f, 1, 6);
    T_CHECK(tk_sampler_sample(s, l) == 3, "argmax with a tie picks the first index");
    tk_sampler_free(s);
}

static void test_distribution(void) {
    /* temp 1, no truncation: frequencies follow softmax(logits) */
    float l[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
    tk_sampler *s = mk(1.0f, 0, 1.0f, 0.0f, 1.0f, 12345, 3);
    int cnt[3] = {0};
    for (int i = 0; i < 20000; i++) cnt[tk_sampler_sample(s, l)]++;
    T_CHECK(fabs(cnt[0] / 20000.0 - 0.5) < 0.015 && fabs(cnt[1] / 20000.0 - 0.3) < 0.015 &&
            fabs(cnt[2] / 20000.0 - 0.2) < 0.015, "frequencies %d %d %d", cnt[0], cnt[1], cnt[2]);
    tk_sampler_free(s);
}

static void test_seed_reproducible(void) {
    float l[50];
    for (int i = 0; i < 50; i++) l[i] = sinf((float)i);
    tk_sampler *a = mk(1.0f, 0, 1.0f, 0.0f, 1.0f, 7, 50), *b = mk(1.0f, 0, 1.0f, 0.0f, 1.0f, 7, 50);
    tk_sampler *c = mk(1.0f, 0, 1.0f, 0.0f, 1.0f, 8, 50);
    int same = 1, diff = 0;
    for (int i = 0; i < 200; i++) {
        int x = tk_sampler_sample(a, l), y = tk_sampler_sample(b, l), z = tk_sampler_sample(c, l);
        same &= x == y;
        diff += x != z;
    }
    T_CHECK(same, "same seed gives the same draws");
    T_CHECK(diff > 50, "a different seed gives different draws (%d of 200 differ)", diff);
    tk_sampler_free(a), tk_sampler_free(b), tk_sampler_free(c);
}

static void test_truncation(void) {
    float l[5] = {5.0f, 4.0f, 3.0f, 0.0f, -1.0f};
    /* top-k 2: only ids 0 and 1 */
    tk_sampler *s = mk(5.0f, 2, 1.0f, 0.0f, 1.0f, 3, 5);
    int seen[5] = {0};
    for (int i = 0; i < 2000; i++) seen[tk_sampler_sample(s, l)]++;
    T_CHECK(seen[0] && seen[1] && !seen[2] && !seen[3] && !seen[4], "top-k 2: %d %d %d %d %d", seen[0], seen[1], seen[2], seen[3], seen[4]);
    tk_sampler_free(s);
    /* top-p: p = softmax = .64 .24 .09 .004 .002: top-p 0.8 keeps 0 and 1 */
    s = mk(1.0f, 0, 0.8f, 0.0f, 1.0f, 3, 5);
    int s2[5] = {0};
    for (int i = 0; i < 2000; i++) s2[tk_sampler_sample(s, l)]++;
    T_CHECK(s2[0] && s2[1] && !s2[2] && !s2[3] && !s2[4], "top-p 0.8: %d %d %d %d %d", s2[0], s2[1], s2[2], s2[3], s2[4]);
    tk_sampler_free(s);
    /* min-p 0.2: keeps p >= 0.2 * 0.64 = 0.128: ids 0 and 1 */
    s = mk(1.0f, 0, 1.0f, 0.2f, 1.0f, 3, 5);
    int s3[5] = {0};
    for (int i = 0; i < 2000; i++) s3[tk_sampler_sample(s, l)]++;
    T_CHECK(s3[0] && s3[1] && !s3[2] && !s3[3] && !s3[4], "min-p 0.2: %d %d %d %d %d", s3[0], s3[1], s3[2], s3[3], s3[4]);
    tk_sampler_free(s);
}

static void test_repeat_penalty(void) {
    float l[3] = {2.0f, 1.9f, -1.0f};
    tk_sampler *s = mk(0.0f, 0, 1.0f, 0.0f, 1.5f, 1, 3);
    T_CHECK(tk_sampler_sample(s, l) == 0, "no history: argmax");
    tk_sampler_accept(s, 0);
    tk_sampler_accept(s, 0); /* counted once: 2.0/1.5 = 1.33 < 1.9 */
    T_CHECK(tk_sampler_sample(s, l) == 1, "penalized token loses");
    T_CHECK(l[0] == 2.0f, "logits are not modified");
    tk_sampler_free(s);
}

static void test_bad_params(void) {
    tk_sampler_params p = tk_sampler_defaults();
    tk_error e;
    p.top_p = 1.5f;
    T_CHECK(tk_sampler_new(&p, 10, &e) == NULL, "top-p > 1 rejected");
    p = tk_sampler_defaults();
    p.temp = -1.0f;
    T_CHECK(tk_sampler_new(&p, 10, &e) == NULL, "negative temp rejected");
    p = tk_sampler_defaults();
    T_CHECK(tk_sampler_new(&p, 0, &e) == NULL, "empty vocab rejected");
}

int main(void) {
    T_RUN(test_greedy);
    T_RUN(test_distribution);
    T_RUN(test_seed_reproducible);
    T_RUN(test_truncation);
    T_RUN(test_repeat_penalty);
    T_RUN(test_bad_params);
    return t_done();
}
