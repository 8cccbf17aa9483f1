/* roofline.c: read bandwidth, peak F32 and int8 throughput of this machine,
 * per thread count, and their JSON cache.
 *
 * Read: a buffer >= 4x the last-level cache (>= 512 MiB) is page-touched
 * by all the threads, then each repetition streams the next eighth of it
 * (so the data last touched 7/8 of a buffer ago: out of every cache), each
 * thread its slice, with aligned vector loads xor-ed into 8 independent
 * accumulators, as one stream per thread or (AVX-512, alternate
 * repetitions) two, the slice's halves at once: the better counts.
 * Compute: register-resident chains of independent FMAs / int8 dot
 * products, enough of them to hide latency. Every number is the
 * best repetition: the span from the first thread's start to the last
 * thread's end. */
#include "roofline.h"
#include "base/cpu.h"
#include "base/cycles.h"
#include "base/mapfile.h"
#include "base/status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define TGT(x) __attribute__((target(x)))
/* Make v opaque to the optimizer (no instruction): stops it from hoisting
 * or merging products of loop-invariant inputs. */
#define OPAQUE(v) __asm__ __volatile__("" : "+v"(v))
#elif defined(__aarch64__)
#include <arm_neon.h>
#define OPAQUE(v) __asm__ __volatile__("" : "+w"(v))
#endif

#define MiB ((size_t)1 << 20)
#define STEP_BYTES 512 /* read kernels consume multiples of this */

typedef uint64_t (*read_fn)(const unsigned char *p, size_t n);
typedef double (*comp_fn)(uint64_t iters, uint64_t seed);

typedef struct kernel {
    const char *name;
    comp_fn fn;
    double ops_per_iter;
} kernel;

#define REP4(M) M(0) M(1) M(2) M(3)
#define REP8(M) REP4(M) M(4) M(5) M(6) M(7)
#define REP12(M) REP8(M) M(8) M(9) M(10) M(11)
#define REP16(M) REP12(M) M(12) M(13) M(14) M(15)
#define REP24(M) REP16(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23)

/* ---- kernels: portable ------------------------------------------------- */
/* Every accumulator chain starts from a different value: identical chains
 * would be merged into one by the compiler. */

static uint64_t read_scalar(const unsigned char *p, size_t n) {
    uint64_t a[8] = {0};
    for (size_t i = 0; i < n; i += 64)
        for (int k = 0; k < 8; k++) {
            uint64_t v;
            memcpy(&v, p + i + 8 * (size_t)k, 8);
            a[k] ^= v;
        }
    return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
}

/* 8 chains of a = a*b + c: 2 FLOPs each (the compiler may vectorize) */
static double f32_scalar(uint64_t iters, uint64_t seed) {
    const float b = 0.9999f, c = 1e-4f;
#define D(k) float a##k = 0.5f + (float)(seed & 7) * 0.01f + (float)k * 1e-3f;
    REP8(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) a##k = a##k * b + c;
        REP8(S)
#undef S
    }
    return (double)(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
}

/* ---- kernels: x86-64 ---------------------------------------------------- */
#if defined(__x86_64__)

TGT("avx2") static uint64_t read_avx2(const unsigned char *p, size_t n) {
#define D(k) __m256i a##k = _mm256_setzero_si256();
    REP8(D)
#undef D
    for (size_t i = 0; i < n; i += 256) {
#define S(k) a##k = _mm256_xor_si256(a##k, _mm256_load_si256((const __m256i *)(const void *)(p + i + 32 * k)));
        REP8(S)
#undef S
    }
    a0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
                          _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
    return (uint64_t)_mm256_extract_epi64(a0, 0) ^ (uint64_t)_mm256_extract_epi64(a0, 3);
}

TGT("avx512f") static uint64_t read_avx512(const unsigned char *p, size_t n) {
#define D(k) __m512i a##k = _mm512_setzero_si512();
    REP8(D)
#undef D
    for (size_t i = 0; i < n; i += 512) {
#define S(k) a##k = _mm512_xor_si512(a##k, _mm512_load_si512((const void *)(p + i + 64 * k)));
        REP8(S)
#undef S
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)),
                          _mm512_xor_si512(_mm512_xor_si512(a4, a5), _mm512_xor_si512(a6, a7)));
    return (uint64_t)_mm512_reduce_add_epi64(a0);
}

/* As read_avx512, but the two halves of [p, p + n) at once: two streams.
 * On some machines (a 2-core Zen 5 VM) one stream per thread reads at only
 * ~75% of what two far-apart ones reach, and the kernels read two. */
TGT("avx512f") static uint64_t read2_avx512(const unsigned char *p, size_t n) {
    const size_t h = n / 2 / 256 * 256;
    const unsigned char *q = p + h;
#define D(k) __m512i a##k = _mm512_setzero_si512();
    REP8(D)
#undef D
    for (size_t i = 0; i < h; i += 256) {
#define S(k) a##k = _mm512_xor_si512(a##k, _mm512_load_si512((const void *)((k < 4 ? p : q) + i + 64 * (k & 3))));
        REP8(S)
#undef S
    }
    a0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)),
                          _mm512_xor_si512(_mm512_xor_si512(a4, a5), _mm512_xor_si512(a6, a7)));
    return (uint64_t)_mm512_reduce_add_epi64(a0) ^ (2 * h < n ? read_avx512(p + 2 * h, n - 2 * h) : 0);
}

/* 12 ymm FMA chains: 12 * 8 lanes * 2 FLOPs per iteration */
TGT("avx2,fma") static double f32_avx2(uint64_t iters, uint64_t seed) {
    const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
#define D(k) __m256 a##k = _mm256_set1_ps(0.5f + (float)(seed & 7) * 0.01f + (float)k * 1e-3f);
    REP12(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) a##k = _mm256_fmadd_ps(a##k, b, c);
        REP12(S)
#undef S
    }
    a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                       _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float t[8];
    _mm256_storeu_ps(t, a0);
    return (double)(t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7]);
}

/* 16 zmm FMA chains: 16 * 16 lanes * 2 FLOPs per iteration */
TGT("avx512f") static double f32_avx512(uint64_t iters, uint64_t seed) {
    const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
#define D(k) __m512 a##k = _mm512_set1_ps(0.5f + (float)(seed & 7) * 0.01f + (float)k * 1e-3f);
    REP16(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) a##k = _mm512_fmadd_ps(a##k, b, c);
        REP16(S)
#undef S
    }
#define A(k) if (k) a0 = _mm512_add_ps(a0, a##k);
    REP16(A)
#undef A
    return (double)_mm512_reduce_add_ps(a0);
}

/* AVX2 int8: vpmaddubsw (u8*s8 pairs -> s16) + vpmaddwd (-> s32) + vpaddd;
 * the products are independent (only the 1-cycle add is loop-carried), so
 * 4 accumulators take 8 products per iteration: 8 * 32 multiply-adds * 2 ops */
TGT("avx2") static double i8_avx2(uint64_t iters, uint64_t seed) {
    __m256i x = _mm256_set1_epi8((char)(1 + (seed & 1))), y = _mm256_set1_epi8(3), one = _mm256_set1_epi16(1);
#define D(k) __m256i a##k = _mm256_set1_epi32(k);
    REP4(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) OPAQUE(x); a##k = _mm256_add_epi32(a##k, _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), one));
        REP4(S)
        REP4(S)
#undef S
    }
#define A(k) if (k) a0 = _mm256_add_epi32(a0, a##k);
    REP4(A)
#undef A
    return (double)_mm256_extract_epi32(a0, 0);
}

/* AVX-512BW int8: as AVX2 on zmm; 8 products * 64 multiply-adds * 2 ops */
TGT("avx512f,avx512bw") static double i8_avx512bw(uint64_t iters, uint64_t seed) {
    __m512i x = _mm512_set1_epi8((char)(1 + (seed & 1))), y = _mm512_set1_epi8(3), one = _mm512_set1_epi16(1);
#define D(k) __m512i a##k = _mm512_set1_epi32(k);
    REP4(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) OPAQUE(x); a##k = _mm512_add_epi32(a##k, _mm512_madd_epi16(_mm512_maddubs_epi16(x, y), one));
        REP4(S)
        REP4(S)
#undef S
    }
#define A(k) if (k) a0 = _mm512_add_epi32(a0, a##k);
    REP4(A)
#undef A
    return (double)_mm512_reduce_add_epi32(a0);
}

/* VNNI kernels: vpdpbusd in inline asm, because compilers wrap the
 * intrinsic's destructive accumulator in register copies (GCC 12: one
 * vmovdqa per chain per iteration, ~10% slower). */

/* AVX-VNNI vpdpbusd ymm (VEX-encoded, so it runs without AVX-512):
 * 12 chains * 32 multiply-adds * 2 ops */
TGT("avx2,avxvnni") static double i8_avx_vnni(uint64_t iters, uint64_t seed) {
    __m256i x = _mm256_set1_epi8((char)(1 + (seed & 1))), y = _mm256_set1_epi8(3);
#define D(k) __m256i a##k = _mm256_set1_epi32(k);
    REP12(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(a##k) : "x"(x), "x"(y));
        REP12(S)
#undef S
    }
#define A(k) if (k) a0 = _mm256_add_epi32(a0, a##k);
    REP12(A)
#undef A
    return (double)_mm256_extract_epi32(a0, 0);
}

/* AVX512-VNNI vpdpbusd zmm: 16 chains * 64 multiply-adds * 2 ops */
TGT("avx512f,avx512vnni") static double i8_avx512_vnni(uint64_t iters, uint64_t seed) {
    __m512i x = _mm512_set1_epi8((char)(1 + (seed & 1))), y = _mm512_set1_epi8(3);
#define D(k) __m512i a##k = _mm512_set1_epi32(k);
    REP16(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) __asm__("vpdpbusd %2, %1, %0" : "+v"(a##k) : "v"(x), "v"(y));
        REP16(S)
#undef S
    }
#define A(k) if (k) a0 = _mm512_add_epi32(a0, a##k);
    REP16(A)
#undef A
    return (double)_mm512_reduce_add_epi32(a0);
}
#endif /* __x86_64__ */

/* ---- kernels: aarch64 --------------------------------------------------- */
#if defined(__aarch64__)
static uint64_t read_neon(const unsigned char *p, size_t n) {
#define D(k) uint8x16_t a##k = vdupq_n_u8(0);
    REP8(D)
#undef D
    for (size_t i = 0; i < n; i += 128) {
#define S(k) a##k = veorq_u8(a##k, vld1q_u8(p + i + 16 * k));
        REP8(S)
#undef S
    }
    a0 = veorq_u8(veorq_u8(veorq_u8(a0, a1), veorq_u8(a2, a3)), veorq_u8(veorq_u8(a4, a5), veorq_u8(a6, a7)));
    return vgetq_lane_u64(vreinterpretq_u64_u8(a0), 0) ^ vgetq_lane_u64(vreinterpretq_u64_u8(a0), 1);
}

/* 24 q-register FMA chains: 24 * 4 lanes * 2 FLOPs per iteration */
static double f32_neon(uint64_t iters, uint64_t seed) {
    const float32x4_t b = vdupq_n_f32(0.9999f), c = vdupq_n_f32(1e-4f);
#define D(k) float32x4_t a##k = vdupq_n_f32(0.5f + (float)(seed & 7) * 0.01f + (float)k * 1e-3f);
    REP24(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
#define S(k) a##k = vfmaq_f32(c, a##k, b);
        REP24(S)
#undef S
    }
#define A(k) if (k) a0 = vaddq_f32(a0, a##k);
    REP24(A)
#undef A
    return (double)vaddvq_f32(a0);
}

#if defined(__ARM_FEATURE_DOTPROD)
/* sdot: 16 chains * 16 multiply-adds * 2 ops per iteration */
static double i8_neon_dotprod(uint64_t iters, uint64_t seed) {
    int8x16_t x = vdupq_n_s8((int8_t)(1 + (seed & 1))), y = vdupq_n_s8(3);
#define D(k) int32x4_t a##k = vdupq_n_s32(k);
    REP16(D)
#undef D
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(x);
#define S(k) a##k = vdotq_s32(a##k, x, y);
        REP16(S)
#undef S
    }
#define A(k) if (k) a0 = vaddq_s32(a0, a##k);
    REP16(A)
#undef A
    return (double)vaddvq_s32(a0);
}
#endif
#endif /* __aarch64__ */

/* The kernels this CPU runs, best guess first. */
static read_fn pick_read(const tk_cpu *c) {
    (void)c;
#if defined(__x86_64__)
    if (c->avx512f) return read_avx512;
    if (c->avx2) return read_avx2;
#elif defined(__aarch64__)
    if (c->neon) return read_neon;
#endif
    return read_scalar;
}

/* The two-stream read where there is one, else NULL. */
static read_fn pick_read2(const tk_cpu *c) {
    (void)c;
#if defined(__x86_64__)
    if (c->avx512f) return read2_avx512;
#endif
    return NULL;
}

static int f32_kernels(const tk_cpu *c, kernel *k) {
    int n = 0;
    (void)c;
#if defined(__x86_64__)
    if (c->avx512f) k[n++] = (kernel){"avx512f", f32_avx512, 16 * 16 * 2};
    if (c->avx2 && c->fma) k[n++] = (kernel){"avx2_fma", f32_avx2, 12 * 8 * 2};
#elif defined(__aarch64__)
    if (c->neon) k[n++] = (kernel){"neon", f32_neon, 24 * 4 * 2};
#endif
    if (!n) k[n++] = (kernel){"scalar", f32_scalar, 8 * 2};
    return n;
}

static int i8_kernels(const tk_cpu *c, kernel *k) {
    int n = 0;
    (void)c, (void)k;
#if defined(__x86_64__)
    if (c->avx512_vnni) k[n++] = (kernel){"avx512_vnni", i8_avx512_vnni, 16 * 64 * 2};
    if (c->avx_vnni) k[n++] = (kernel){"avx_vnni", i8_avx_vnni, 12 * 32 * 2};
    if (c->avx512bw) k[n++] = (kernel){"avx512bw", i8_avx512bw, 8 * 64 * 2};
    if (c->avx2) k[n++] = (kernel){"avx2", i8_avx2, 8 * 32 * 2};
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
    if (c->dotprod) k[n++] = (kernel){"neon_dotprod", i8_neon_dotprod, 16 * 16 * 2};
#endif
    return n;
}

/* ---- a team of pinned probe threads -------------------------------------- */

typedef struct bar {
    pthread_mutex_t m;
    pthread_cond_t c;
    int count, arrived;
    unsigned gen;
} bar;

static void bar_init(bar *b, int count) {
    pthread_mutex_init(&b->m, NULL);
    pthread_cond_init(&b->c, NULL);
    b->count = count, b->arrived = 0, b->gen = 0;
}

static void bar_destroy(bar *b) {
    pthread_mutex_destroy(&b->m);
    pthread_cond_destroy(&b->c);
}

static void bar_release_locked(bar *b) {
    b->arrived = 0;
    b->gen++;
    pthread_cond_broadcast(&b->c);
}

static void bar_wait(bar *b) {
    pthread_mutex_lock(&b->m);
    unsigned g = b->gen;
    if (++b->arrived >= b->count) bar_release_locked(b);
    else
        while (g == b->gen) pthread_cond_wait(&b->c, &b->m);
    pthread_mutex_unlock(&b->m);
}

/* Lower the number of parties (when thread creation failed part way). */
static void bar_set_count(bar *b, int count) {
    pthread_mutex_lock(&b->m);
    b->count = count;
    if (b->arrived && b->arrived >= count) bar_release_locked(b);
    pthread_mutex_unlock(&b->m);
}

enum { JOB_TOUCH, JOB_READ, JOB_COMP };

typedef struct team team;
typedef struct worker {
    team *t;
    int idx;
    double t0, t1;
    double sink;
    pthread_t th;
} worker;

struct team {
    bar start, end;
    int n, stop, job;
    unsigned char *buf; /* JOB_TOUCH / JOB_READ: [off, off + bytes) split n ways */
    size_t off, bytes;
    read_fn rf;
    comp_fn cf; /* JOB_COMP */
    uint64_t iters;
    worker w[TK_ROOFLINE_MAX_THREADS];
};

/* Thread i's slice of [off, off + bytes): STEP_BYTES-aligned sizes. */
static void slice_of(const team *t, int i, size_t *lo, size_t *len) {
    size_t each = t->bytes / (size_t)t->n / STEP_BYTES * STEP_BYTES;
    *lo = t->off + (size_t)i * each;
    *len = each;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    team *t = w->t;
    for (;;) {
        bar_wait(&t->start);
        if (t->stop) break;
        double t0 = tk_now_ns();
        size_t lo, len;
        switch (t->job) {
        case JOB_TOUCH:
            slice_of(t, w->idx, &lo, &len);
            if (w->idx == t->n - 1) len = t->off + t->bytes - lo; /* the tail too */
            for (size_t o = 0; o < len; o += 4096) t->buf[lo + o] = (unsigned char)(o >> 12);
            if (len) t->buf[lo + len - 1] = 1; /* the last, partial page */
            break;
        case JOB_READ:
            slice_of(t, w->idx, &lo, &len);
            w->sink += (double)(t->rf(t->buf + lo, len) & 0xff);
            break;
        default:
            w->sink += t->cf(t->iters, (uint64_t)w->idx);
            break;
        }
        w->t1 = tk_now_ns();
        w->t0 = t0;
        bar_wait(&t->end);
    }
    return NULL;
}

static int team_start(team *t, int n, const int *cpus, int ncpus, tk_error *e) {
    t->n = n, t->stop = 0;
    bar_init(&t->start, n + 1);
    bar_init(&t->end, n + 1);
    for (int i = 0; i < n; i++) {
        worker *w = &t->w[i];
        w->t = t, w->idx = i, w->sink = 0;
        int rc = -1;
        if (ncpus > 0) {
            pthread_attr_t a;
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpus[i % ncpus], &set);
            if (pthread_attr_init(&a) == 0) {
                pthread_attr_setaffinity_np(&a, sizeof set, &set);
                rc = pthread_create(&w->th, &a, worker_main, w);
                pthread_attr_destroy(&a);
            }
        }
        if (rc) rc = pthread_create(&w->th, NULL, worker_main, w); /* unpinned */
        if (rc) {
            t->stop = 1;
            bar_set_count(&t->start, i + 1);
            bar_wait(&t->start);
            for (int k = 0; k < i; k++) pthread_join(t->w[k].th, NULL);
            bar_destroy(&t->start), bar_destroy(&t->end);
            return tk_err(e, TK_ENOMEM, "roofline: cannot start probe thread %d of %d: %s", i + 1, n, strerror(rc));
        }
    }
    return TK_OK;
}

/* One repetition of the current job; returns its span in seconds. */
static double team_rep(team *t) {
    bar_wait(&t->start);
    bar_wait(&t->end);
    double lo = t->w[0].t0, hi = t->w[0].t1;
    for (int i = 1; i < t->n; i++) {
        if (t->w[i].t0 < lo) lo = t->w[i].t0;
        if (t->w[i].t1 > hi) hi = t->w[i].t1;
    }
    double s = (hi - lo) * 1e-9;
    return s > 1e-9 ? s : 1e-9;
}

static void team_stop(team *t) {
    t->stop = 1;
    bar_wait(&t->start);
    for (int i = 0; i < t->n; i++) pthread_join(t->w[i].th, NULL);
    bar_destroy(&t->start), bar_destroy(&t->end);
}

/* ---- measurement ---------------------------------------------------------- */

static double elapsed_s(double t0_ns) { return (tk_now_ns() - t0_ns) * 1e-9; }

/* x to 2 decimals, as the double nearest that decimal (prints short) */
static double round2(double x) { return round(x * 100) / 100; }

static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* Iterations of k on one thread that take >= target seconds (doubling);
 * leaves t set up to run k with them. */
static uint64_t calibrate_iters(team *t, const kernel *k, double target) {
    uint64_t it = 256;
    t->job = JOB_COMP, t->cf = k->fn;
    for (;;) {
        t->iters = it;
        double s = team_rep(t);
        if (s >= target || it >= ((uint64_t)1 << 40)) {
            double scale = target / s;
            uint64_t r = (uint64_t)((double)it * (scale > 1 ? scale : 1));
            t->iters = r ? r : 1;
            return t->iters;
        }
        it *= s < target / 64 ? 16 : 2;
    }
}

/* Best of repetitions: at least min_reps, then until budget seconds passed.
 * Returns the best span. */
static double best_span(team *t, int min_reps, double budget) {
    double t0 = tk_now_ns(), best = INFINITY;
    for (int r = 0; r < 100000 && (r < min_reps || elapsed_s(t0) < budget); r++) {
        double s = team_rep(t);
        if (s < best) best = s;
    }
    return best;
}

int tk_roofline_default_threads(void) {
    int cpus[CPU_SETSIZE];
    int n = tk_cpu_order(cpus, CPU_SETSIZE);
    if (n <= 0) {
        long l = sysconf(_SC_NPROCESSORS_ONLN);
        n = l > 0 ? (int)l : 1;
    }
    return n > TK_ROOFLINE_MAX_THREADS ? TK_ROOFLINE_MAX_THREADS : n;
}

int tk_roofline_measure(tk_roofline *r, int max_threads, double seconds_budget, tk_error *e) {
    double t_begin = tk_now_ns();
    memset(r, 0, sizeof *r);
    if (max_threads <= 0) max_threads = tk_roofline_default_threads();
    if (max_threads > TK_ROOFLINE_MAX_THREADS) max_threads = TK_ROOFLINE_MAX_THREADS;
    if (!(seconds_budget > 0) || !isfinite(seconds_budget)) seconds_budget = 3.0;

    tk_cpu c;
    tk_cpu_features(&c);
    snprintf(r->cpu, sizeof r->cpu, "%s", c.model);
    r->n_threads_max = max_threads;
    tk_cycle_info ci;
    tk_cycles_calibrate(&ci);
    snprintf(r->cycle_source, sizeof r->cycle_source, "%s", ci.source);
    r->cycle_hz = round(ci.hz);

    int cpus[CPU_SETSIZE];
    int ncpus = tk_cpu_order(cpus, CPU_SETSIZE);

    /* the read buffer: >= 512 MiB and 4x the LLC, <= 4 GiB, <= a quarter
     * of available memory, and no more than ~1 GiB per budgeted second */
    size_t want = 512 * MiB;
    if (c.llc_bytes && c.llc_bytes <= (uint64_t)1 << 40 && 4 * (size_t)c.llc_bytes > want) want = 4 * (size_t)c.llc_bytes;
    size_t by_budget = (size_t)(seconds_budget * 1024.0) * MiB;
    if (want > by_budget) want = by_budget;
    if (want < 512 * MiB) want = 512 * MiB;
    if (want > 4096 * MiB) want = 4096 * MiB;
    uint64_t avail = mem_available();
    if (avail && want > avail / 4) want = (size_t)(avail / 4);
    size_t chunk = want / 8 / (2 * MiB) * (2 * MiB); /* one repetition reads one eighth */
    unsigned char *buf = MAP_FAILED;
    size_t bytes = 0;
    while (chunk >= 8 * MiB) {
        bytes = 8 * chunk;
        buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf != MAP_FAILED) break;
        chunk /= 2;
    }
    if (buf == MAP_FAILED)
        return tk_err(e, TK_ENOMEM, "roofline: cannot map a read buffer of 64 MiB or more (%llu MiB available)",
                      (unsigned long long)(avail / MiB));
#ifdef MADV_HUGEPAGE
    madvise(buf, bytes, MADV_HUGEPAGE); /* fewer TLB misses; failure is fine */
#endif

    team *t = calloc(1, sizeof *t);
    int rc = t ? TK_OK : tk_err(e, TK_ENOMEM, "roofline: out of memory");
    /* touch every page, each thread its part (first-touch NUMA placement) */
    if (rc == TK_OK && (rc = team_start(t, max_threads, cpus, ncpus, e)) == TK_OK) {
        t->job = JOB_TOUCH, t->buf = buf, t->off = 0, t->bytes = bytes;
        team_rep(t);
        team_stop(t);
    }

    /* pick the fastest F32 and int8 kernels on one thread, and their
     * repetition lengths (~10 ms) */
    kernel fk[4], ik[6];
    int nf = f32_kernels(&c, fk), ni = i8_kernels(&c, ik);
    kernel f32k = fk[0], i8k = {"none", NULL, 0};
    uint64_t f32_iters = 0, i8_iters = 0;
    const double rep_s = 0.01;
    if (rc == TK_OK && (rc = team_start(t, 1, cpus, ncpus, e)) == TK_OK) {
        double best = 0;
        for (int i = 0; i < nf; i++) {
            uint64_t it = calibrate_iters(t, &fk[i], rep_s / 4);
            double s = best_span(t, 3, 0);
            double rate = fk[i].ops_per_iter * (double)it / s;
            if (rate > best) best = rate, f32k = fk[i], f32_iters = it * 4;
        }
        best = 0;
        for (int i = 0; i < ni; i++) {
            uint64_t it = calibrate_iters(t, &ik[i], rep_s / 4);
            double s = best_span(t, 3, 0);
            double rate = ik[i].ops_per_iter * (double)it / s;
            if (rate > best) best = rate, i8k = ik[i], i8_iters = it * 4;
        }
        team_stop(t);
    }
    snprintf(r->int8_isa, sizeof r->int8_isa, "%s", i8k.name);

    /* thread counts 1..n: the remaining budget shared equally, each share
     * 60% read, 20% F32, 20% int8 (75/25 without int8) */
    /* repetitions alternate one and two streams per thread (where there
     * is a two-stream kernel); the best of either counts */
    read_fn rfs[2] = {pick_read(&c), pick_read2(&c)};
    size_t next = 0; /* chunk index: consecutive repetitions read consecutive eighths */
    for (int n = 1; rc == TK_OK && n <= max_threads; n++) {
        double share = (seconds_budget - elapsed_s(t_begin)) / (max_threads - n + 1);
        if (share < 0) share = 0;
        double rd = i8k.fn ? 0.6 : 0.75;
        if ((rc = team_start(t, n, cpus, ncpus, e)) != TK_OK) break;

        t->job = JOB_READ, t->buf = buf, t->bytes = chunk;
        double t0 = tk_now_ns(), best = INFINITY;
        for (int k = 0; k < 100000 && (k < 4 || elapsed_s(t0) < share * rd); k++) {
            t->rf = rfs[k & 1] ? rfs[k & 1] : rfs[0];
            t->off = (next++ % 8) * chunk;
            double s = team_rep(t);
            if (s < best) best = s;
        }
        size_t per = chunk / (size_t)n / STEP_BYTES * STEP_BYTES;
        r->read_gbs[n] = round2((double)per * n / best / 1e9);

        t->job = JOB_COMP, t->cf = f32k.fn, t->iters = f32_iters;
        best = best_span(t, 2, share * (i8k.fn ? 0.2 : 0.25));
        r->f32_gflops[n] = round2(f32k.ops_per_iter * (double)f32_iters * n / best / 1e9);

        if (i8k.fn) {
            t->cf = i8k.fn, t->iters = i8_iters;
            best = best_span(t, 2, share * 0.2);
            r->int8_gops[n] = round2(i8k.ops_per_iter * (double)i8_iters * n / best / 1e9);
        }
        team_stop(t);
    }
    free(t);
    munmap(buf, bytes);
    if (rc != TK_OK) return rc;

    for (int n = 1; n <= max_threads; n++) {
        if (r->read_gbs[n] > r->peak_read_gbs) r->peak_read_gbs = r->read_gbs[n];
        if (r->f32_gflops[n] > r->peak_f32_gflops) r->peak_f32_gflops = r->f32_gflops[n];
        if (r->int8_gops[n] > r->peak_int8_gops) r->peak_int8_gops = r->int8_gops[n];
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r->measured_at, sizeof r->measured_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return TK_OK;
}

/* ---- JSON ---------------------------------------------------------------- */

/* The shortest %.{15,16,17}g that reads back to exactly x. */
static cJSON *num(double x) {
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, x);
        if (strtod(b, NULL) == x) break;
    }
    return cJSON_CreateRaw(b);
}

static int add(cJSON *o, const char *k, cJSON *v) {
    if (!v) return -1;
    cJSON_AddItemToObject(o, k, v);
    return 0;
}

static int add_array(cJSON *o, const char *k, const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    if (!a) return -1;
    cJSON_AddItemToObject(o, k, a);
    for (int i = 1; i <= n; i++) {
        cJSON *x = num(v[i]);
        if (!x) return -1;
        cJSON_AddItemToArray(a, x);
    }
    return 0;
}

char *tk_roofline_to_json(const tk_roofline *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int n = r->n_threads_max < 0 ? 0 : r->n_threads_max > TK_ROOFLINE_MAX_THREADS ? TK_ROOFLINE_MAX_THREADS : r->n_threads_max;
    int bad = add(o, "schema", cJSON_CreateString("tick-roofline")) | add(o, "version", cJSON_CreateNumber(1)) |
              add(o, "cpu", cJSON_CreateString(r->cpu)) | add(o, "n_threads_max", cJSON_CreateNumber(n)) |
              add_array(o, "read_gbs", r->read_gbs, n) | add(o, "peak_read_gbs", num(r->peak_read_gbs)) |
              add_array(o, "f32_gflops", r->f32_gflops, n) | add(o, "peak_f32_gflops", num(r->peak_f32_gflops)) |
              add_array(o, "int8_gops", r->int8_gops, n) | add(o, "peak_int8_gops", num(r->peak_int8_gops)) |
              add(o, "int8_isa", cJSON_CreateString(r->int8_isa)) | add(o, "cycle_hz", num(r->cycle_hz)) |
              add(o, "cycle_source", cJSON_CreateString(r->cycle_source)) |
              add(o, "measured_at", cJSON_CreateString(r->measured_at));
    char *s = bad ? NULL : cJSON_Print(o);
    cJSON_Delete(o);
    if (!s) return NULL;
    /* hand back memory the caller frees with free() */
    char *out = strdup(s);
    cJSON_free(s);
    return out;
}

static int want_num(const cJSON *o, const char *k, double *out, tk_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return tk_err(e, TK_EFORMAT, "missing field \"%s\"", k);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
        return tk_err(e, TK_EFORMAT, "field \"%s\" is not a finite number >= 0", k);
    *out = v->valuedouble;
    return TK_OK;
}

static int want_str(const cJSON *o, const char *k, char *dst, size_t cap, tk_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return tk_err(e, TK_EFORMAT, "missing field \"%s\"", k);
    if (!cJSON_IsString(v) || !v->valuestring) return tk_err(e, TK_EFORMAT, "field \"%s\" is not a string", k);
    size_t n = strlen(v->valuestring);
    if (n >= cap) return tk_err(e, TK_EFORMAT, "field \"%s\" is longer than %zu bytes", k, cap - 1);
    memcpy(dst, v->valuestring, n + 1);
    return TK_OK;
}

static int want_array(const cJSON *o, const char *k, double *dst, int n, tk_error *e) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!a) return tk_err(e, TK_EFORMAT, "missing field \"%s\"", k);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return tk_err(e, TK_EFORMAT, "field \"%s\" is not an array of n_threads_max (%d) numbers", k, n);
    int i = 1;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
            return tk_err(e, TK_EFORMAT, "field \"%s\"[%d] is not a finite number >= 0", k, i - 1);
        dst[i++] = v->valuedouble;
    }
    return TK_OK;
}

int tk_roofline_from_json(tk_roofline *r, const char *text, tk_error *e) {
    memset(r, 0, sizeof *r);
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithOpts(text, &end, 1);
    if (!o) {
        long at = end && end >= text ? (long)(end - text) : 0;
        return tk_err(e, TK_EFORMAT, "malformed JSON near byte %ld", at);
    }
    int rc = TK_OK;
    double v, n;
    char schema[32];
    if (!cJSON_IsObject(o)) rc = tk_err(e, TK_EFORMAT, "not a JSON object");
    if (rc == TK_OK && (rc = want_str(o, "schema", schema, sizeof schema, e)) == TK_OK && strcmp(schema, "tick-roofline"))
        rc = tk_err(e, TK_EFORMAT, "schema is \"%s\", not \"tick-roofline\"", schema);
    if (rc == TK_OK && (rc = want_num(o, "version", &v, e)) == TK_OK && v != 1)
        rc = tk_err(e, TK_EUNSUPPORTED, "version %g is not supported (this tick reads version 1)", v);
    if (rc == TK_OK && (rc = want_num(o, "n_threads_max", &n, e)) == TK_OK && (n < 1 || n > TK_ROOFLINE_MAX_THREADS || n != floor(n)))
        rc = tk_err(e, TK_EFORMAT, "n_threads_max %g is not an integer in [1, %d]", n, TK_ROOFLINE_MAX_THREADS);
    if (rc == TK_OK) {
        r->n_threads_max = (int)n;
        (void)((rc = want_str(o, "cpu", r->cpu, sizeof r->cpu, e)) ||
               (rc = want_array(o, "read_gbs", r->read_gbs, r->n_threads_max, e)) ||
               (rc = want_num(o, "peak_read_gbs", &r->peak_read_gbs, e)) ||
               (rc = want_array(o, "f32_gflops", r->f32_gflops, r->n_threads_max, e)) ||
               (rc = want_num(o, "peak_f32_gflops", &r->peak_f32_gflops, e)) ||
               (rc = want_array(o, "int8_gops", r->int8_gops, r->n_threads_max, e)) ||
               (rc = want_num(o, "peak_int8_gops", &r->peak_int8_gops, e)) ||
               (rc = want_str(o, "int8_isa", r->int8_isa, sizeof r->int8_isa, e)) ||
               (rc = want_num(o, "cycle_hz", &r->cycle_hz, e)) ||
               (rc = want_str(o, "cycle_source", r->cycle_source, sizeof r->cycle_source, e)) ||
               (rc = want_str(o, "measured_at", r->measured_at, sizeof r->measured_at, e)));
    }
    cJSON_Delete(o);
    if (rc != TK_OK) memset(r, 0, sizeof *r);
    return rc;
}

/* mkdir -p of path's directory part */
static int make_parents(const char *path, tk_error *e) {
    char d[4096];
    size_t n = strlen(path);
    if (n >= sizeof d) return tk_err(e, TK_EINVAL, "%s: path too long", path);
    memcpy(d, path, n + 1);
    for (char *p = d + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(d, 0755) != 0 && errno != EEXIST)
            return tk_err(e, TK_EIO, "%s: cannot create directory %s: %s", path, d, strerror(errno));
        *p = '/';
    }
    return TK_OK;
}

int tk_roofline_save(const tk_roofline *r, const char *path, tk_error *e) {
    int rc = make_parents(path, e);
    if (rc) return rc;
    char *s = tk_roofline_to_json(r);
    if (!s) return tk_err(e, TK_ENOMEM, "%s: out of memory", path);
    char tmp[4096 + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = tk_err(e, TK_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(s);
        return rc;
    }
    size_t len = strlen(s);
    int bad = fwrite(s, 1, len, f) != len || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    free(s);
    if (bad) {
        unlink(tmp);
        return tk_err(e, TK_EIO, "%s: write error", tmp);
    }
    if (rename(tmp, path) != 0) {
        rc = tk_err(e, TK_EIO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return TK_OK;
}

int tk_roofline_load(tk_roofline *r, const char *path, tk_error *e) {
    memset(r, 0, sizeof *r);
    char *text;
    int rc = tk_read_file(path, &text, NULL, 1 << 20, e);
    if (rc) return rc;
    rc = tk_roofline_from_json(r, text, e);
    free(text);
    if (rc) tk_err_prefix(e, path);
    return rc;
}

int tk_roofline_default_path(char *buf, size_t cap) {
    const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int n;
    if (x && x[0] == '/') n = snprintf(buf, cap, "%s/tick/roofline.json", x);
    else if (h && h[0] == '/') n = snprintf(buf, cap, "%s/.cache/tick/roofline.json", h);
    else return TK_EINVAL;
    return (n < 0 || (size_t)n >= cap) ? TK_EINVAL : TK_OK;
}

int tk_roofline_get(tk_roofline *r, int remeasure, tk_error *e) {
    char path[4096];
    int have_path = tk_roofline_default_path(path, sizeof path) == TK_OK;
    if (have_path && !remeasure) {
        tk_cpu c;
        tk_cpu_features(&c);
        if (tk_roofline_load(r, path, NULL) == TK_OK && !strcmp(r->cpu, c.model) &&
            r->n_threads_max == tk_roofline_default_threads())
            return TK_OK;
    }
    int rc = tk_roofline_measure(r, 0, 0, e);
    if (rc == TK_OK && have_path) tk_roofline_save(r, path, NULL); /* best effort */
    return rc;
}
