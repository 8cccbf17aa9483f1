/* cpu.h: what this CPU is and can do (instruction sets the OS has enabled,
 * model name, cores, last-level cache), and which CPUs to run threads on. */
#ifndef TK_BASE_CPU_H
#define TK_BASE_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tk_cpu {
    char model[96];     /* "Intel(R) Xeon(R) ..."; "unknown" when nothing says */
    char arch[16];      /* "x86_64", "aarch64", ...                            */
    int physical_cores; /* distinct (package, core) among online CPUs          */
    int logical_cores;  /* online CPUs                                         */
    uint64_t llc_bytes; /* size of the largest-level cache of cpu0; 0 unknown  */
    /* x86-64: usable only when both the CPU and the OS (XCR0) enable them */
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512_vnni, avx512_bf16;
    bool avx_vnni;
    bool amx_bf16; /* amx-tile + amx-bf16, and the OS let this process use tiles */
    bool amx_int8; /* and amx-int8                                              */
    /* aarch64 */
    bool neon, dotprod;
} tk_cpu;

/* Fill c (never fails; unknowns stay 0 / "unknown"). */
void tk_cpu_features(tk_cpu *c);

/* The features as one line of names, e.g. "avx2 fma f16c avx512f ...";
 * "none" when none. Returns the length written (truncated to cap). */
int tk_cpu_features_str(const tk_cpu *c, char *buf, size_t cap);

/* The CPUs this process may run on, ordered one logical CPU per physical
 * core first, then their SMT siblings: pinning thread i to cpus[i] spreads
 * threads over cores before doubling up. Returns how many (<= cap), or 0 if
 * the affinity mask cannot be read. */
int tk_cpu_order(int *cpus, int cap);

#endif
