/* cpu.c: cpuid / xgetbv / __builtin_cpu_supports on x86-64, HWCAP on
 * aarch64, /proc/cpuinfo and /sys topology for the rest. */
#include "cpu.h"

#include <ctype.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#define MAX_CPUS 4096

/* Read a small sysfs/procfs file's first line; 0 on success. */
static int read_line(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *r = fgets(buf, (int)cap, f);
    fclose(f);
    if (!r) return -1;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

static int read_int(const char *path, long *v) {
    char b[64], *end;
    if (read_line(path, b, sizeof b)) return -1;
    *v = strtol(b, &end, 10);
    return end == b ? -1 : 0;
}

static void trim_copy(char *dst, size_t cap, const char *src) {
    while (isspace((unsigned char)*src)) src++;
    size_t n = strlen(src);
    while (n && isspace((unsigned char)src[n - 1])) n--;
    if (n >= cap) n = cap - 1;
    /* collapse runs of spaces (brand strings are padded) */
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (src[i] == ' ' && o && dst[o - 1] == ' ') continue;
        dst[o++] = src[i];
    }
    dst[o] = 0;
}

/* "model name : X" (x86), else "CPU implementer"/"CPU part" (arm). */
static void model_from_cpuinfo(tk_cpu *c) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512], impl[32] = "", part[32] = "";
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char key[64];
        trim_copy(key, sizeof key, line);
        char val[256];
        trim_copy(val, sizeof val, colon + 1);
        if (!val[0]) continue;
        if (!strcmp(key, "model name") || !strcmp(key, "Model") || !strcmp(key, "cpu model")) {
            trim_copy(c->model, sizeof c->model, val);
            break;
        }
        if (!strcmp(key, "CPU implementer") && !impl[0]) trim_copy(impl, sizeof impl, val);
        if (!strcmp(key, "CPU part") && !part[0]) trim_copy(part, sizeof part, val);
    }
    fclose(f);
    if (!c->model[0] && impl[0]) snprintf(c->model, sizeof c->model, "implementer %s part %s", impl, part[0] ? part : "?");
}

static void topology(tk_cpu *c) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->logical_cores = n > 0 ? (int)n : 1;
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    if (conf < n) conf = n;
    if (conf > MAX_CPUS) conf = MAX_CPUS;
    long *pk = malloc(sizeof(long) * 2 * (size_t)(conf > 0 ? conf : 1));
    int ncores = 0, seen = 0;
    for (long i = 0; pk && i < conf; i++) {
        char p[128];
        long pkg, core, online = 1;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%ld/online", i);
        if (read_int(p, &online) == 0 && !online) continue;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", i);
        if (read_int(p, &pkg)) continue;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%ld/topology/core_id", i);
        if (read_int(p, &core)) continue;
        seen++;
        int dup = 0;
        for (int k = 0; k < ncores && !dup; k++) dup = pk[2 * k] == pkg && pk[2 * k + 1] == core;
        if (!dup) pk[2 * ncores] = pkg, pk[2 * ncores + 1] = core, ncores++;
    }
    free(pk);
    /* trust the topology only if it covered every online CPU */
    c->physical_cores = (ncores > 0 && seen == c->logical_cores) ? ncores : c->logical_cores;

    /* last-level cache: the highest "level" under cpu0/cache */
    long best_level = 0;
    for (int i = 0; i < 16; i++) {
        char p[128], b[64];
        long level;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (read_int(p, &level)) continue;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (read_line(p, b, sizeof b)) continue;
        char *end;
        unsigned long long sz = strtoull(b, &end, 10);
        if (*end == 'K') sz <<= 10;
        else if (*end == 'M') sz <<= 20;
        else if (*end == 'G') sz <<= 30;
        if (level >= best_level && sz) best_level = level, c->llc_bytes = sz;
    }
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (!c->llc_bytes) {
        long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        c->llc_bytes = (uint64_t)(l3 > 0 ? l3 : l2 > 0 ? l2 : 0);
    }
#endif
}

#if defined(__x86_64__)
static uint64_t xcr0(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int amx_permitted(void) {
#if defined(__linux__) && defined(SYS_arch_prctl)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}

static void x86_features(tk_cpu *c) {
    unsigned a, b, cx, d;
    if (!__get_cpuid(1, &a, &b, &cx, &d)) return;
    int osxsave = (cx >> 27) & 1;
    uint64_t x = osxsave ? xcr0() : 0;
    int os_avx = (x & 0x6) == 0x6;       /* XMM and YMM state          */
    int os_avx512 = os_avx && (x & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    int has_avx = os_avx && ((cx >> 28) & 1);
    __builtin_cpu_init();
    c->fma = has_avx && ((cx >> 12) & 1) && __builtin_cpu_supports("fma");
    c->f16c = has_avx && ((cx >> 29) & 1);
    c->avx2 = has_avx && __builtin_cpu_supports("avx2");
    c->avx512f = os_avx512 && __builtin_cpu_supports("avx512f");
    c->avx512bw = c->avx512f && __builtin_cpu_supports("avx512bw");
    c->avx512vl = c->avx512f && __builtin_cpu_supports("avx512vl");
    unsigned max_leaf = (unsigned)__get_cpuid_max(0, NULL);
    if (max_leaf >= 7) {
        unsigned a7, b7, c7, d7;
        __cpuid_count(7, 0, a7, b7, c7, d7);
        c->avx512_vnni = c->avx512f && ((c7 >> 11) & 1);
        if (a7 >= 1) {
            unsigned a71, b71, c71, d71;
            __cpuid_count(7, 1, a71, b71, c71, d71);
            c->avx_vnni = c->avx2 && ((a71 >> 4) & 1);
            c->avx512_bf16 = c->avx512f && ((a71 >> 5) & 1);
        }
        /* AMX: the CPU (tile, bf16), the OS (XTILECFG and XTILEDATA state
         * in XCR0), and this process's permission to use tile data, which
         * Linux grants on request (arch_prctl ARCH_REQ_XCOMP_PERM, once per
         * process; asking again is harmless) */
        int os_amx = os_avx512 && (x & 0x60000) == 0x60000;
        c->amx_bf16 = os_amx && ((d7 >> 24) & 1) && ((d7 >> 22) & 1) && amx_permitted();
        c->amx_int8 = c->amx_bf16 && ((d7 >> 25) & 1);
        (void)b7;
    }
    if (!c->model[0] && (unsigned)__get_cpuid_max(0x80000000, NULL) >= 0x80000004u) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002 + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char brand[49];
        memcpy(brand, r, 48);
        brand[48] = 0;
        trim_copy(c->model, sizeof c->model, brand);
    }
}
#endif

void tk_cpu_features(tk_cpu *c) {
    memset(c, 0, sizeof *c);
    model_from_cpuinfo(c);
#if defined(__x86_64__)
    snprintf(c->arch, sizeof c->arch, "x86_64");
    x86_features(c);
#elif defined(__aarch64__)
    snprintf(c->arch, sizeof c->arch, "aarch64");
    unsigned long hw = getauxval(AT_HWCAP);
    c->neon = (hw & HWCAP_ASIMD) != 0;
    c->dotprod = (hw & HWCAP_ASIMDDP) != 0;
#else
    snprintf(c->arch, sizeof c->arch, "other");
#endif
    if (!c->model[0]) snprintf(c->model, sizeof c->model, "unknown");
    topology(c);
}

int tk_cpu_features_str(const tk_cpu *c, char *buf, size_t cap) {
    static const struct { const char *name; size_t off; } F[] = {
        {"avx2", offsetof(tk_cpu, avx2)},         {"fma", offsetof(tk_cpu, fma)},
        {"f16c", offsetof(tk_cpu, f16c)},         {"avx512f", offsetof(tk_cpu, avx512f)},
        {"avx512bw", offsetof(tk_cpu, avx512bw)}, {"avx512vl", offsetof(tk_cpu, avx512vl)},
        {"avx512_vnni", offsetof(tk_cpu, avx512_vnni)}, {"avx512_bf16", offsetof(tk_cpu, avx512_bf16)},
        {"avx_vnni", offsetof(tk_cpu, avx_vnni)}, {"amx_bf16", offsetof(tk_cpu, amx_bf16)},
        {"amx_int8", offsetof(tk_cpu, amx_int8)},
        {"neon", offsetof(tk_cpu, neon)},
        {"dotprod", offsetof(tk_cpu, dotprod)},
    };
    if (!cap) return 0;
    buf[0] = 0;
    size_t o = 0;
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        if (!*(const bool *)((const char *)c + F[i].off)) continue;
        int w = snprintf(buf + o, cap - o, o ? " %s" : "%s", F[i].name);
        if (w < 0 || (size_t)w >= cap - o) { o = cap - 1; break; }
        o += (size_t)w;
    }
    if (!o) {
        int w = snprintf(buf, cap, "none");
        o = (w < 0) ? 0 : ((size_t)w >= cap ? cap - 1 : (size_t)w);
    }
    return (int)o;
}

int tk_cpu_order(int *cpus, int cap) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    int n = 0;
    /* pass 0: the first allowed CPU of each core; pass 1: the others */
    long *seen = malloc(sizeof(long) * 2 * CPU_SETSIZE);
    int nseen = 0;
    int *second = malloc(sizeof(int) * CPU_SETSIZE);
    int nsecond = 0;
    if (!seen || !second) {
        free(seen), free(second);
        for (int i = 0; i < CPU_SETSIZE && n < cap; i++)
            if (CPU_ISSET(i, &set)) cpus[n++] = i;
        return n;
    }
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (!CPU_ISSET(i, &set)) continue;
        char p[128];
        long pkg = -1, core = i;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", i);
        read_int(p, &pkg);
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%d/topology/core_id", i);
        read_int(p, &core);
        int dup = 0;
        for (int k = 0; k < nseen && !dup; k++) dup = seen[2 * k] == pkg && seen[2 * k + 1] == core;
        if (dup) {
            second[nsecond++] = i;
        } else {
            seen[2 * nseen] = pkg, seen[2 * nseen + 1] = core, nseen++;
            if (n < cap) cpus[n++] = i;
        }
    }
    for (int k = 0; k < nsecond && n < cap; k++) cpus[n++] = second[k];
    free(seen), free(second);
    return n;
}
