/* fuzz_batch.c: libFuzzer entry point for the batch API (tk_batch_run,
 * tk_seq_truncate, tk_embed, tk_decode), whose items come from requests a
 * server does not control.
 *
 *   make fuzz && build-fuzz/fuzz_batch -max_len=256
 *
 * The input is a program of calls on a session of 3 sequences (context 12,
 * batch 5) of stories260K (../shared/models, or $TICK_FUZZ_MODEL): seq ids,
 * tokens and counts come from the bytes, out of range ones included. After
 * every call the positions must be what the call says: unchanged after an
 * error, advanced by each sequence's items after a success; logits finite
 * and present exactly for the items that asked (a violation traps, so
 * libFuzzer saves the input). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tick.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

enum { NSEQ = 3, NCTX = 12, NB = 5 };

static tk_model *model;
static tk_session *sess;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *p = getenv("TICK_FUZZ_MODEL");
    tk_error e;
    model = tk_model_load(p ? p : "../shared/models/stories260K.gguf", NULL, &e);
    if (!model) {
        fprintf(stderr, "fuzz_batch: %s (set TICK_FUZZ_MODEL)\n", e.msg);
        exit(1);
    }
    tk_session_opts so = {.n_ctx = NCTX, .n_seq = NSEQ, .n_batch = NB};
    if (!(sess = tk_session_new(model, &so, &e))) {
        fprintf(stderr, "fuzz_batch: %s\n", e.msg);
        exit(1);
    }
    return 0;
}

/* a byte as a seq id or token: mostly valid, sometimes just outside */
static int seq_of(uint8_t b) { return b < 240 ? b % NSEQ : (int)(b - 248); }
static int32_t tok_of(uint8_t b, int nv) { return b < 250 ? (int32_t)(b * 2 % nv) : b == 250 ? nv : -1 - (b - 251); }

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    int nv = tk_n_vocab(model), E = tk_model_info_of(model)->n_embd;
    tk_error e;
    for (int s = 0; s < NSEQ; s++) tk_seq_truncate(sess, s, 0, &e);
    tk_session_reset(sess);
    size_t i = 0;
    while (i < n) {
        int before[NSEQ];
        for (int s = 0; s < NSEQ; s++) before[s] = tk_seq_pos(sess, s);
        uint8_t op = d[i++];
        if (op % 4 <= 1) { /* a batch of up to NB + 1 items */
            tk_batch_item it[NB + 1];
            int k = op / 4 % (NB + 2), grow[NSEQ] = {0};
            for (int j = 0; j < k; j++) {
                if (i + 2 > n) return 0;
                it[j] = (tk_batch_item){seq_of(d[i]), tok_of(d[i + 1], nv), d[i + 1] & 1};
                i += 2;
            }
            int rc = tk_batch_run(sess, it, k, &e);
            for (int j = 0; j < k && rc == TK_OK; j++) grow[it[j].seq]++;
            for (int s = 0; s < NSEQ; s++) CHECK(tk_seq_pos(sess, s) == before[s] + grow[s]);
            for (int j = 0; j < k && rc == TK_OK; j++) {
                const float *l = tk_batch_logits(sess, j);
                CHECK((l != NULL) == (it[j].logits != 0));
                if (l) CHECK(isfinite(l[0]) && isfinite(l[nv - 1]));
            }
            if (rc) CHECK(e.msg[0] && !strchr(e.msg, '\n'));
        } else if (op % 4 == 2) { /* truncate */
            if (i + 1 > n) return 0;
            int s = seq_of(d[i]), keep = (int)(d[i] >> 4) - 1;
            i++;
            int rc = tk_seq_truncate(sess, s, keep, &e);
            if (rc == TK_OK) CHECK(tk_seq_pos(sess, s) == keep);
            for (int t = 0; t < NSEQ; t++)
                if (rc || t != s) CHECK(tk_seq_pos(sess, t) == before[t]);
        } else if (op & 4) { /* embed up to 15 tokens */
            int s = seq_of(op), k = op >> 4;
            if (i + (size_t)k > n) return 0;
            int32_t ids[16];
            float out[512];
            for (int j = 0; j < k; j++) ids[j] = tok_of(d[i + j], nv);
            i += (size_t)k;
            CHECK(E <= 512);
            int rc = tk_embed(sess, s, ids, k, out, &e);
            for (int t = 0; t < NSEQ; t++) CHECK(tk_seq_pos(sess, t) == (rc == TK_OK && t == s ? 0 : before[t]));
            if (rc == TK_OK) {
                double ss = 0;
                for (int j = 0; j < E; j++) ss += (double)out[j] * out[j];
                CHECK(fabs(ss - 1) < 1e-4);
            }
        } else { /* one token of sequence 0 through the single-sequence call */
            if (i + 1 > n) return 0;
            int rc = tk_decode(sess, tok_of(d[i++], nv), &e);
            CHECK(tk_seq_pos(sess, 0) == before[0] + (rc == TK_OK));
            if (rc == TK_OK) CHECK(tk_logits(sess) != NULL);
        }
    }
    return 0;
}
