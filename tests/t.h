/* t.h: a tiny test harness. Each tests/test_*.c is its own program:
 *
 *   static void test_something(void) { T_CHECK(x == 1, "x is %d", x); }
 *   int main(void) { T_RUN(test_something); return t_done(); }
 *
 * A test passes when none of its checks failed; T_SKIP ends a test as
 * skipped (printed with its reason, never counted as passed). */
#ifndef TK_TESTS_T_H
#define TK_TESTS_T_H

#include <stdio.h>
#include <stdint.h>
#include <stddef.h>

extern int t_pass_, t_fail_, t_skip_, t_cur_fail_, t_cur_skip_;
extern const char *t_cur_name_;

#define T_CHECK(cond, ...)                                                  \
    do {                                                                    \
        if (!(cond)) {                                                      \
            t_cur_fail_++;                                                  \
            printf("FAIL %s (%s:%d): ", t_cur_name_, __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                                            \
            printf("\n");                                                   \
        }                                                                   \
    } while (0)

#define T_SKIP(...)                                                         \
    do {                                                                    \
        t_cur_skip_ = 1;                                                    \
        printf("SKIP %s: ", t_cur_name_);                                   \
        printf(__VA_ARGS__);                                                \
        printf("\n");                                                       \
        return;                                                             \
    } while (0)

#define T_RUN(fn) t_run_(#fn, fn)
void t_run_(const char *name, void (*fn)(void));
int t_done(void);

/* Path of a file under ../shared (relative to the repo root, where the
 * suite runs). Returns NULL, after printing why, if it is missing or its
 * SHA-256 differs from sha256_hex (pass NULL to skip the hash check). */
const char *t_shared(const char *rel, const char *sha256_hex);

/* SHA-256 of a file as 64 hex chars; 0 on success. */
int t_sha256_file(const char *path, char out[65]);

/* Read a whole file (malloc'd, NUL-terminated); NULL on failure. */
char *t_read(const char *path, size_t *len);
/* Write a buffer to a file; 0 on success. */
int t_write(const char *path, const void *data, size_t len);
/* A fresh temporary directory for this test program (created once). */
const char *t_tmpdir(void);

/* Run a shell command, capture stdout+stderr (malloc'd) and exit status. */
char *t_run_cmd(const char *cmd, int *status);

/* The tick binary under test: $TICK, else ./tick. */
const char *t_tick(void);
/* Run `tick ARGS`: stdout returned (malloc'd), stderr in *err (malloc'd,
 * when err is non-NULL), exit status in *status. */
char *t_tick_run(const char *args, int *status, char **err);
/* 1 if s is exactly one line ending in a newline (a one-line error). */
int t_one_line(const char *s);

/* The .inp/.out tokenizer reference pairs of ../shared/models/vocab:
 * inputs cut at every "\n__ggml_vocab_test__\n", one line of ids per
 * input (see ../shared/models/README.md). */
typedef struct t_cases {
    char *inp;
    int n;
    const char *text[64];
    size_t len[64];
    int32_t *ids[64];
    int n_ids[64];
} t_cases;
/* models/vocab/VOCAB.inp (checked against sha_inp) and, when sha_out is
 * not NULL, VOCAB.out; 0 on success, -1 when missing or changed. */
int t_cases_load(t_cases *c, const char *vocab, const char *sha_inp, const char *sha_out);
void t_cases_free(t_cases *c);

#endif
