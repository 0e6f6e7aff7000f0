/* tsc.h - cycle-counter timer for --latency mode (x86-64, invariant TSC).
 *
 * Fences rather than cpuid for ordering: under a hypervisor cpuid traps and costs
 * microseconds, which would swamp a per-op measurement. The lfence pair in
 * tsc_start keeps earlier work from leaking past the read and the timed call from
 * starting before it; rdtscp waits for the timed call, and the trailing lfence
 * keeps later work from starting before the read. */
#ifndef ALLOCMARK_TSC_H
#define ALLOCMARK_TSC_H

#include <stdint.h>

#if !defined(__x86_64__)
#error "tsc.h: x86-64 only"
#endif

#include <x86intrin.h>

static inline uint64_t tsc_start(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

static inline uint64_t tsc_stop(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

struct tsc_calibration {
    double ticks_per_ns;
    uint64_t overhead_min, overhead_median; /* ticks of an empty start/stop pair */
    /* Smallest step the counter takes: 1 on bare metal, but a hypervisor may
     * advance the TSC in coarser steps (26 ticks, 10 ns, on the machines we
     * run on), which bounds the resolution of every latency figure. */
    uint64_t resolution;
};

/* Measures the TSC frequency against os_now_ns() over ~40 ms (best of a few
 * tries), the cost of an empty tsc_start/tsc_stop pair (min and median of
 * 16384 pairs after warm-up), and the counter's resolution. Returns 0, or -1 if the CPU lacks rdtscp or an
 * invariant TSC, or the measured frequency is implausible (c is then zeroed). */
int tsc_calibrate(struct tsc_calibration *c);

/* stop - start - overhead, clamped at 0 (also when stop < start). */
static inline uint64_t tsc_net(uint64_t start, uint64_t stop, uint64_t overhead)
{
    return stop > start + overhead ? stop - start - overhead : 0;
}

#endif
