/* roofline.h: this machine's physical limits, measured.
 *
 * Decode is bound by memory read bandwidth, prompt processing by peak
 * arithmetic: tick measures both where it runs, thread count by thread
 * count, and keeps the result in a JSON cache (docs/clock.md documents the
 * schema). Probes run on their own pthreads, pinned one per core first,
 * created and joined inside tk_roofline_measure. */
#ifndef TK_CLOCK_ROOFLINE_H
#define TK_CLOCK_ROOFLINE_H

#include <stddef.h>
#include "tick.h"

#define TK_ROOFLINE_MAX_THREADS 32

typedef struct tk_roofline {
    char cpu[96];                /* CPU model name (tk_cpu.model)                    */
    int n_threads_max;           /* thread counts measured: 1..n_threads_max         */
    double read_gbs[33];         /* index = threads, 1..n (index 0 unused, 0)        */
    double peak_read_gbs;        /* max over read_gbs; 1 GB/s = 1e9 bytes/s          */
    double f32_gflops[33];       /* 2 FLOPs per fused multiply-add lane              */
    double peak_f32_gflops;
    double int8_gops[33];        /* 2 ops per int8 x int8 multiply-add               */
    double peak_int8_gops;       /* 0 when the CPU has no int8 dot instructions      */
    char int8_isa[16];           /* "avx512_vnni", "avx_vnni", "avx512bw", "avx2",
                                    "neon_dotprod" or "none"                         */
    double cycle_hz;             /* rate of tk_cycles(), measured                    */
    char cycle_source[16];       /* "rdtsc", "cntvct_el0", "clock_gettime"           */
    char measured_at[32];        /* UTC, ISO 8601: "2025-01-31T12:34:56Z"            */
} tk_roofline;

/* Measure. max_threads <= 0: the CPUs this process may use (at most 32);
 * seconds_budget <= 0: 3 s. The budget is split between page-touching the
 * read buffer, read bandwidth (most of it), F32 and int8; at least two
 * repetitions run per thread count, so tiny budgets overrun a little.
 * Needs a read buffer of >= 64 MiB (512 MiB and >= 4x the last-level cache
 * when memory and budget allow). */
int tk_roofline_measure(tk_roofline *r, int max_threads, double seconds_budget, tk_error *e);

/* JSON text (malloc'd, NUL-terminated; NULL when out of memory) and back.
 * from_json checks every field: the schema in docs/clock.md. */
char *tk_roofline_to_json(const tk_roofline *r);
int tk_roofline_from_json(tk_roofline *r, const char *text, tk_error *e);

/* Write atomically (temp file + rename), creating missing directories. */
int tk_roofline_save(const tk_roofline *r, const char *path, tk_error *e);
int tk_roofline_load(tk_roofline *r, const char *path, tk_error *e);

/* $XDG_CACHE_HOME/tick/roofline.json, else $HOME/.cache/tick/roofline.json.
 * Returns TK_OK, or TK_EINVAL when neither variable gives an absolute path
 * or the path does not fit in cap. */
int tk_roofline_default_path(char *buf, size_t cap);

/* The cached roofline when it exists, parses, and was measured on this CPU
 * (same model name and default thread count); otherwise (or with
 * remeasure) measure with the defaults (~3 s) and save it. Returns TK_OK
 * with r filled (also when the cache could not be written: it is only a
 * cache), negative when measuring failed. */
int tk_roofline_get(tk_roofline *r, int remeasure, tk_error *e);

/* The default thread count of tk_roofline_measure on this machine. */
int tk_roofline_default_threads(void);

#endif
