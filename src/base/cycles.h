/* cycles.h: the cycle counter and the clock.
 *
 * tk_cycles() is the cheapest monotonic tick this CPU offers: the TSC
 * (rdtsc) on x86-64, the virtual counter (cntvct_el0) on aarch64, else
 * CLOCK_MONOTONIC in ns. Its rate is not assumed: tk_cycles_calibrate
 * measures it against CLOCK_MONOTONIC. On x86-64 with an invariant TSC (and
 * on aarch64 always) the counter ticks at a fixed rate, which is not the
 * core clock: core cycles come from perf_event_open when the kernel allows
 * it (tk_perf_cycles_*), which in VMs and locked-down kernels it often
 * does not. */
#ifndef TK_BASE_CYCLES_H
#define TK_BASE_CYCLES_H

#include <stdint.h>

/* Counter ticks (see above). Not serializing; cheap (~20-40 cycles). */
uint64_t tk_cycles(void);
/* CLOCK_MONOTONIC in nanoseconds. */
double tk_now_ns(void);

typedef struct tk_cycle_info {
    const char *source; /* "rdtsc", "cntvct_el0" or "clock_gettime" (static) */
    double hz;          /* measured ticks per second                         */
} tk_cycle_info;

/* Measure the counter's rate against CLOCK_MONOTONIC (busy-waits ~60 ms).
 * Returns TK_OK, or TK_EUNSUPPORTED if the counter did not advance. */
int tk_cycles_calibrate(tk_cycle_info *ci);

/* Core cycles of the calling thread (user space only) via perf_event_open.
 * open returns a file descriptor, or -1 when the kernel refuses (no PMU in
 * the VM, perf_event_paranoid, seccomp); read returns 0 and the count so
 * far, or -1; close accepts -1. The counter runs from open. */
int tk_perf_cycles_open(void);
int tk_perf_cycles_read(int fd, uint64_t *cycles);
void tk_perf_cycles_close(int fd);

#endif
