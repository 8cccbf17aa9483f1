/* util_t.c: the harness behind t.h, plus SHA-256 (FIPS 180-4) for
 * checking fixtures before trusting them. */
#include "t.h"

#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int t_pass_, t_fail_, t_skip_, t_cur_fail_, t_cur_skip_;
const char *t_cur_name_ = "";

void t_run_(const char *name, void (*fn)(void)) {
    t_cur_name_ = name;
    t_cur_fail_ = 0;
    t_cur_skip_ = 0;
    fn();
    fflush(stdout);
    if (t_cur_fail_) t_fail_++;
    else if (t_cur_skip_) t_skip_++;
    else t_pass_++;
}

int t_done(void) {
    printf("%d passed, %d failed, %d skipped\n", t_pass_, t_fail_, t_skip_);
    return t_fail_ ? 1 : 0;
}

/* ---- SHA-256 ---------------------------------------------------------- */

typedef struct { uint32_t h[8]; uint64_t len; unsigned char buf[64]; size_t n; } sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(sha256 *s, const unsigned char *p) {
    uint32_t w[64], a, b, c, d, e, f, g, h;
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->n = 0;
}

static void sha_update(sha256 *s, const unsigned char *p, size_t n) {
    s->len += n;
    while (n) {
        size_t k = 64 - s->n < n ? 64 - s->n : n;
        memcpy(s->buf + s->n, p, k);
        s->n += k, p += k, n -= k;
        if (s->n == 64) sha_block(s, s->buf), s->n = 0;
    }
}

static void sha_final(sha256 *s, char out[65]) {
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, z = 0, lenb[8];
    sha_update(s, &pad, 1);
    while (s->n != 56) sha_update(s, &z, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(s, lenb, 8);
    for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

int t_sha256_file(const char *path, char out[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    sha256 s;
    sha_init(&s);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha_update(&s, buf, n);
    fclose(f);
    sha_final(&s, out);
    return 0;
}

const char *t_shared(const char *rel, const char *sha256_hex) {
    static char path[4][1024];
    static int slot;
    char *p = path[slot++ & 3];
    snprintf(p, 1024, "../shared/%s", rel);
    struct stat st;
    if (stat(p, &st) != 0) {
        printf("  (%s: ../shared/%s is absent)\n", t_cur_name_, rel);
        return NULL;
    }
    if (sha256_hex) {
        char got[65];
        if (t_sha256_file(p, got) != 0 || strcmp(got, sha256_hex) != 0) {
            printf("  (%s: ../shared/%s has SHA-256 %s, expected %s)\n", t_cur_name_, rel, got, sha256_hex);
            return NULL;
        }
    }
    return p;
}

char *t_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; if (len) *len = (size_t)n; }
    return b;
}

int t_write(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static char tmp_dir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path) ? -1 : 0;
}

/* the test's scratch directory goes when the test exits (TICK_TEST_KEEP=1
 * keeps it to look at) */
static void rm_tmpdir(void) {
    const char *keep = getenv("TICK_TEST_KEEP");
    if (tmp_dir[0] && !(keep && *keep == '1')) nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *t_tmpdir(void) {
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/tick-test-XXXXXX");
        if (!mkdtemp(tmp_dir)) { perror("mkdtemp"); exit(2); }
        atexit(rm_tmpdir);
    }
    return tmp_dir;
}

char *t_run_cmd(const char *cmd, int *status) {
    char full[4096];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) { *status = -1; return NULL; }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 2) { cap *= 2; b = realloc(b, cap); }
    }
    b[n] = 0;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return b;
}

const char *t_tick(void) {
    const char *t = getenv("TICK");
    return t ? t : "./tick";
}

char *t_tick_run(const char *args, int *status, char **err) {
    char cmd[4096], errf[512];
    snprintf(errf, sizeof errf, "%s/stderr.txt", t_tmpdir());
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", t_tick(), args, errf);
    char *out = t_run_cmd(cmd, status);
    if (err) *err = t_read(errf, NULL);
    return out;
}

int t_one_line(const char *s) {
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '\n' && memchr(s, '\n', n - 1) == NULL;
}

/* ---- the .inp/.out tokenizer reference pairs ------------------------------- */

void t_cases_free(t_cases *c) {
    free(c->inp);
    for (int i = 0; i < c->n; i++) free(c->ids[i]);
}

int t_cases_load(t_cases *c, const char *vocab, const char *sha_inp, const char *sha_out) {
    char ri[256], ro[256];
    memset(c, 0, sizeof *c);
    snprintf(ri, sizeof ri, "models/vocab/%s.inp", vocab);
    snprintf(ro, sizeof ro, "models/vocab/%s.out", vocab);
    const char *pi = t_shared(ri, sha_inp), *po = pi && sha_out ? t_shared(ro, sha_out) : NULL;
    if (!pi || (sha_out && !po)) return -1;
    size_t ni, no = 0;
    c->inp = t_read(pi, &ni);
    char *out = po ? t_read(po, &no) : NULL;
    if (!c->inp || (po && !out)) {
        free(out);
        return -1;
    }
    /* inputs: cut at every "\n__ggml_vocab_test__\n", left to right */
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sl = sizeof sep - 1;
    size_t p = 0;
    while (p < ni && c->n < 64) {
        char *hit = memmem(c->inp + p, ni - p, sep, sl);
        if (!hit) break;
        c->text[c->n] = c->inp + p;
        c->len[c->n] = (size_t)(hit - (c->inp + p));
        c->n++;
        p = (size_t)(hit - c->inp) + sl;
    }
    T_CHECK(p == ni, "%s: %zu bytes after the last separator", ri, ni - p);
    if (!out) return 0;
    /* outputs: one line per case, space-separated ids */
    int line = 0;
    char *s = out;
    while (*s && line < 64) {
        char *eol = strchr(s, '\n');
        if (eol) *eol = 0;
        int32_t tmp[1024];
        int k = 0;
        for (char *q = s; *q;) {
            while (*q == ' ') q++;
            if (!*q) break;
            char *end;
            long id = strtol(q, &end, 10);
            if (end == q) break;
            if (k < 1024) tmp[k++] = (int32_t)id;
            q = end;
        }
        c->ids[line] = malloc(((size_t)k + 1) * sizeof(int32_t));
        memcpy(c->ids[line], tmp, (size_t)k * sizeof(int32_t));
        c->n_ids[line] = k;
        line++;
        if (!eol) break;
        s = eol + 1;
    }
    free(out);
    T_CHECK(line == c->n, "%s has %d lines for %d inputs", ro, line, c->n);
    return line == c->n ? 0 : -1;
}

