/* tsc.c - calibration of the TSC timer: frequency and the cost of the timer itself. */
#include "tsc.h"

#include "hist.h"
#include "os.h"

#include <cpuid.h>
#include <string.h>

#define FREQ_TRIES 4
#define FREQ_SPAN_NS 10000000u /* 10 ms per try: 4 tries ~ 40 ms in total */
#define STAMP_READS 16
#define WARMUP_PAIRS 4096
#define OVERHEAD_PAIRS 16384

/* cpuid here is a one-off feature query, not a fence, so its VM-exit cost is fine. */
static int tsc_usable(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000001u, &a, &b, &c, &d) || !(d & (1u << 27))) /* rdtscp */
        return 0;
    if (!__get_cpuid(0x80000007u, &a, &b, &c, &d) || !(d & (1u << 8))) /* invariant TSC */
        return 0;
    return 1;
}

struct stamp {
    uint64_t ns, tsc, err_ns;
};

/* A (clock, tsc) pair whose tsc read is bracketed by two clock reads; keep the
 * tightest bracket of several so a preemption or interrupt doesn't skew it. */
static struct stamp stamp_now(void)
{
    struct stamp best = {0, 0, UINT64_MAX};
    for (int i = 0; i < STAMP_READS; i++) {
        uint64_t a = os_now_ns();
        uint64_t t = tsc_start();
        uint64_t b = os_now_ns();
        if (b - a < best.err_ns) {
            best.ns = a + (b - a) / 2;
            best.tsc = t;
            best.err_ns = b - a;
        }
    }
    return best;
}

static double measure_ticks_per_ns(void)
{
    double best_rate = 0.0, best_err = 1e300;
    for (int i = 0; i < FREQ_TRIES; i++) {
        struct stamp s0 = stamp_now();
        /* Spin rather than sleep: keeps the core out of deep idle and the process
         * on-CPU, so the closing stamp is taken promptly. */
        while (os_now_ns() - s0.ns < FREQ_SPAN_NS)
            ;
        struct stamp s1 = stamp_now();
        if (s1.ns <= s0.ns || s1.tsc <= s0.tsc)
            continue;
        double span = (double)(s1.ns - s0.ns);
        double err = (double)(s0.err_ns + s1.err_ns) / span; /* relative uncertainty */
        if (err < best_err) {
            best_err = err;
            best_rate = (double)(s1.tsc - s0.tsc) / span;
        }
    }
    return best_rate;
}

/* Calibration statistics go through the latency histogram (exact below 256
 * ticks): qsort would be simpler, but glibc's qsort mallocs its scratch space,
 * and nothing here may touch the allocator under test. */
static struct hist scratch;

static void measure_overhead(uint64_t *min, uint64_t *median)
{
    for (int i = 0; i < WARMUP_PAIRS; i++) {
        uint64_t a = tsc_start();
        uint64_t b = tsc_stop();
        (void)tsc_net(a, b, 0);
    }
    hist_reset(&scratch);
    for (int i = 0; i < OVERHEAD_PAIRS; i++) {
        uint64_t a = tsc_start();
        uint64_t b = tsc_stop();
        hist_record(&scratch, tsc_net(a, b, 0));
    }
    *min = scratch.min;
    *median = hist_percentile(&scratch, 50);
}

/* The typical step of the counter: the median distance between two successive
 * changes of its value, each measured in a tight loop right after the previous
 * change (the minimum can be 1 where a hypervisor nudges the counter). */
static uint64_t measure_resolution(void)
{
    hist_reset(&scratch);
    for (int i = 0; i < 1024; i++) {
        uint64_t t0 = __rdtsc(), t1, t2;
        while ((t1 = __rdtsc()) == t0)
            ;
        while ((t2 = __rdtsc()) == t1)
            ;
        hist_record(&scratch, t2 - t1);
    }
    return hist_percentile(&scratch, 50);
}

int tsc_calibrate(struct tsc_calibration *c)
{
    memset(c, 0, sizeof *c);
    if (!tsc_usable())
        return -1;
    double rate = measure_ticks_per_ns();
    /* 10 MHz .. 100 GHz: anything outside means the clock or the TSC is broken. */
    if (!(rate > 0.01 && rate < 100.0))
        return -1;
    c->ticks_per_ns = rate;
    measure_overhead(&c->overhead_min, &c->overhead_median);
    c->resolution = measure_resolution();
    return 0;
}
