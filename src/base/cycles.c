/* cycles.c: rdtsc / cntvct_el0 / clock_gettime, calibration, perf cycles. */
#include "cycles.h"
#include "status.h"

#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

double tk_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tk_cycles(void) {
#if defined(__x86_64__)
    return __rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return mono_ns();
#endif
}

static const char *cycle_source(void) {
#if defined(__x86_64__)
    return "rdtsc";
#elif defined(__aarch64__)
    return "cntvct_el0";
#else
    return "clock_gettime";
#endif
}

/* One (ns, ticks) sample whose clock read is bracketed tightly by two
 * counter reads: the tick taken is their midpoint. The tightest of a few
 * tries wins, so a preemption between reads does not skew the rate. */
static void sample(uint64_t *ns, uint64_t *ticks) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 8; i++) {
        uint64_t c0 = tk_cycles(), t = mono_ns(), c1 = tk_cycles();
        if (c1 - c0 < best) {
            best = c1 - c0;
            *ns = t;
            *ticks = c0 + (c1 - c0) / 2;
        }
    }
}

int tk_cycles_calibrate(tk_cycle_info *ci) {
    ci->source = cycle_source();
    ci->hz = 0;
    uint64_t ns0, c0, ns1, c1;
    sample(&ns0, &c0);
    do sample(&ns1, &c1);
    while (ns1 - ns0 < 60000000u);
    if (c1 <= c0) return TK_EUNSUPPORTED;
    ci->hz = (double)(c1 - c0) * 1e9 / (double)(ns1 - ns0);
    return TK_OK;
}

int tk_perf_cycles_open(void) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_HARDWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_HW_CPU_CYCLES;
    a.exclude_kernel = 1; /* allowed at perf_event_paranoid <= 2 */
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1 /* any cpu */, -1, 0UL);
    if (fd < 0) return -1;
    /* Some kernels accept the event but never count it (no PMU passed to
     * the VM): treat a counter that does not move as refused. */
    uint64_t v = 0;
    for (int i = 0; i < 100000; i++) __asm__ __volatile__("");
    if (read((int)fd, &v, sizeof v) != (ssize_t)sizeof v || v == 0) {
        close((int)fd);
        return -1;
    }
    return (int)fd;
}

int tk_perf_cycles_read(int fd, uint64_t *cycles) {
    if (fd < 0) return -1;
    uint64_t v;
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v) return -1;
    *cycles = v;
    return 0;
}

void tk_perf_cycles_close(int fd) {
    if (fd >= 0) close(fd);
}
