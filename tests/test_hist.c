/* test_hist.c - histogram bucketing, percentile accuracy and merge; the histogram CSV
 * (--histogram); TSC calibration.
 * Link: harness/hist.c harness/tsc.c harness/os.c -lcmocka -lm */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/hist.h"
#include "../harness/os.h"
#include "../harness/report.h"
#include "../harness/tsc.h"

#define NVALUES 1000000

/* ~58 KiB each: keep them off the stack. */
static struct hist *hist_new(void)
{
    struct hist *h = malloc(sizeof *h);
    assert_non_null(h);
    hist_reset(h);
    return h;
}

/* splitmix64: tiny, fixed-seed, good enough to spread test values. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so log() and division are safe. */
static double rng_unit(void)
{
    return (double)((rng_next() >> 11) + 1) * 0x1p-53;
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unit())) * cos(6.283185307179586 * rng_unit());
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The order statistic the histogram should approximate, with the rank computed in
 * integers (pct = per_10k / 100) so float rounding in the test cannot hide any. */
static uint64_t exact_percentile(const uint64_t *sorted, uint64_t n, uint64_t per_10k)
{
    uint64_t rank = (per_10k * n + 9999) / 10000;
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

/* ---- bucketing ---------------------------------------------------------- */

static void test_small_values_exact(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    for (uint64_t v = 0; v < 256; v++)
        hist_record(h, v);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(h->bucket[i], 1);
    for (unsigned i = 256; i < HIST_BUCKETS; i++)
        assert_int_equal(h->bucket[i], 0);
    assert_int_equal(h->count, 256);
    assert_int_equal(h->min, 0);
    assert_int_equal(h->max, 255);
    assert_int_equal(h->sum, 255 * 256 / 2);
    assert_int_equal(hist_percentile(h, 50.0), 127);
    assert_int_equal(hist_percentile(h, 100.0), 255);
    assert_int_equal(hist_percentile(h, 0.1), 0);

    /* Ranks against integer ceil(pct/100*n), over many n and a 0.01% grid; all
     * values are < 256, so any mismatch is a rank error, not bucketing. */
    static const uint64_t sizes[] = {1, 2, 3, 7, 10, 100, 999, 1000, 1001, 4096, 10000, 100003};
    uint64_t *vals = malloc(100003 * sizeof *vals);
    assert_non_null(vals);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t n = sizes[s];
        hist_reset(h);
        for (uint64_t i = 0; i < n; i++) {
            vals[i] = i * 256 / n; /* sorted, spans 0..255 */
            hist_record(h, vals[i]);
        }
        for (uint64_t p = 1; p <= 10000; p++) {
            uint64_t want = exact_percentile(vals, n, p);
            uint64_t got = hist_percentile(h, (double)p / 100.0);
            if (got != want)
                fail_msg("n=%llu pct=%.2f: got %llu want %llu", (unsigned long long)n,
                         (double)p / 100.0, (unsigned long long)got, (unsigned long long)want);
        }
    }
    free(vals);
    free(h);
}

static void test_index_spot_values(void **state)
{
    (void)state;
    assert_int_equal(hist_index(0), 0);
    assert_int_equal(hist_index(127), 127);
    assert_int_equal(hist_index(128), 128);
    assert_int_equal(hist_index(255), 255);
    assert_int_equal(hist_index(256), 256);
    assert_int_equal(hist_index(257), 256);
    assert_int_equal(hist_index(258), 257);
    assert_int_equal(hist_index(511), 383);
    assert_int_equal(hist_index(512), 384);
    assert_int_equal(hist_index(UINT64_C(1) << 63), HIST_BUCKETS - 128);
    assert_int_equal(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}

static void test_bucket_boundaries(void **state)
{
    (void)state;
    assert_int_equal(hist_bucket_low(0), 0);
    assert_int_equal(hist_bucket_high(HIST_BUCKETS - 1), UINT64_MAX);
    assert_int_equal(hist_bucket_low(HIST_BUCKETS), UINT64_MAX);
    assert_int_equal(hist_bucket_high(HIST_BUCKETS), UINT64_MAX);
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
        assert_true(lo <= hi);
        if (i + 1 < HIST_BUCKETS)
            assert_int_equal(hist_bucket_low(i + 1), hi + 1);
        assert_int_equal(hist_index(lo), i);
        assert_int_equal(hist_index(hi), i);
        if (i < 256)
            assert_int_equal(lo, hi);
        else /* width / low <= 1/128 */
            assert_true((hi - lo + 1) <= lo / 128);
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct hist *h = hist_new();
    assert_int_equal(h->count, 0);
    assert_int_equal(h->min, UINT64_MAX);
    assert_int_equal(h->max, 0);
    assert_int_equal(h->sum, 0);
    assert_int_equal(hist_percentile(h, 50.0), 0);
    assert_int_equal(hist_percentile(h, 100.0), 0);
    assert_int_equal(hist_percentile(h, 0.001), 0);

    struct hist *e = hist_new();
    hist_merge(h, e);
    assert_memory_equal(h, e, sizeof *h);
    free(e);
    free(h);
}

/* ---- accuracy ----------------------------------------------------------- */

enum dist { D_UNIFORM, D_LOGNORMAL, D_HEAVY, D_CONSTANT, D_AROUND_256 };
static const char *const dist_name[] = {"uniform", "lognormal", "heavy-tail", "constant",
                                        "around-256"};

static uint64_t draw(enum dist d)
{
    switch (d) {
    case D_UNIFORM: /* [0, 2^40) */
        return rng_next() >> 24;
    case D_LOGNORMAL: /* median ~2000 ticks, long right tail */
        return (uint64_t)llround(exp(log(2000.0) + 1.5 * rng_normal()));
    case D_HEAVY: { /* Pareto, alpha 0.4, from 100 up to a hard cap of 2^50 */
        double v = 100.0 * pow(rng_unit(), -1.0 / 0.4);
        double cap = 0x1p50;
        return v >= cap ? (uint64_t)1 << 50 : (uint64_t)v;
    }
    case D_CONSTANT:
        return 12345;
    case D_AROUND_256: /* straddles the exact/log-linear seam */
        return 200 + rng_next() % 400;
    }
    return 0;
}

static void fill(struct hist *h, uint64_t *vals, size_t n, enum dist d)
{
    for (size_t i = 0; i < n; i++) {
        vals[i] = draw(d);
        hist_record(h, vals[i]);
    }
}

static void check_accuracy(enum dist d)
{
    uint64_t *vals = malloc(NVALUES * sizeof *vals);
    assert_non_null(vals);
    struct hist *h = hist_new();
    rng_state = 0x5eed0000u + (uint64_t)d;
    fill(h, vals, NVALUES, d);
    qsort(vals, NVALUES, sizeof vals[0], cmp_u64);

    uint64_t sum = 0;
    for (size_t i = 0; i < NVALUES; i++)
        sum += vals[i];
    assert_int_equal(h->count, NVALUES);
    assert_int_equal(h->min, vals[0]);
    assert_int_equal(h->max, vals[NVALUES - 1]);
    assert_int_equal(h->sum, sum);

    /* The brief's points, then a 0.1% sweep. Per-10k units: 100 = p1. */
    static const uint64_t points[] = {100, 5000, 9000, 9900, 9990, 10000};
    double worst = 0.0;
    for (size_t k = 0; k < sizeof points / sizeof points[0] + 1000; k++) {
        uint64_t p = k < sizeof points / sizeof points[0]
                         ? points[k]
                         : 10 * (k - sizeof points / sizeof points[0] + 1);
        uint64_t want = exact_percentile(vals, NVALUES, p);
        uint64_t got = hist_percentile(h, (double)p / 100.0);
        double err = want ? fabs((double)got - (double)want) / (double)want : (double)(got != 0);
        if (err > worst)
            worst = err;
        if (err > 0.01)
            fail_msg("%s p%.2f: got %llu want %llu (err %.5f)", dist_name[d], (double)p / 100.0,
                     (unsigned long long)got, (unsigned long long)want, err);
        /* The header's tighter claim: the midpoint is within half a bucket. */
        if (err > 1.0 / 256.0)
            fail_msg("%s p%.2f: err %.6f exceeds 1/256", dist_name[d], (double)p / 100.0, err);
    }
    assert_int_equal(hist_percentile(h, 100.0), vals[NVALUES - 1]);
    print_message("  %-10s n=%d min=%llu p50=%llu max=%llu worst rel err %.5f\n", dist_name[d],
                  NVALUES, (unsigned long long)vals[0],
                  (unsigned long long)hist_percentile(h, 50.0),
                  (unsigned long long)vals[NVALUES - 1], worst);
    free(h);
    free(vals);
}

static void test_accuracy_uniform(void **state) { (void)state; check_accuracy(D_UNIFORM); }
static void test_accuracy_lognormal(void **state) { (void)state; check_accuracy(D_LOGNORMAL); }
static void test_accuracy_heavy(void **state) { (void)state; check_accuracy(D_HEAVY); }
static void test_accuracy_constant(void **state) { (void)state; check_accuracy(D_CONSTANT); }
static void test_accuracy_around_256(void **state) { (void)state; check_accuracy(D_AROUND_256); }

/* ---- merge -------------------------------------------------------------- */

static void test_merge(void **state)
{
    (void)state;
    enum { N = 200000 };
    uint64_t *vals = malloc(N * sizeof *vals);
    assert_non_null(vals);
    struct hist *a = hist_new(), *b = hist_new(), *all = hist_new(), *dst = hist_new();

    rng_state = 42;
    fill(a, vals, N, D_LOGNORMAL);
    for (size_t i = 0; i < N; i++)
        hist_record(all, vals[i]);
    fill(b, vals, N / 2, D_HEAVY);
    for (size_t i = 0; i < N / 2; i++)
        hist_record(all, vals[i]);

    hist_merge(dst, a); /* into an empty one: min must come from a, not stay UINT64_MAX */
    hist_merge(dst, b);
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        if (dst->bucket[i] != all->bucket[i])
            fail_msg("bucket %u: merged %llu, direct %llu", i,
                     (unsigned long long)dst->bucket[i], (unsigned long long)all->bucket[i]);
    assert_int_equal(dst->count, all->count);
    assert_int_equal(dst->min, all->min);
    assert_int_equal(dst->max, all->max);
    assert_int_equal(dst->sum, all->sum);
    assert_memory_equal(dst, all, sizeof *dst);

    free(dst);
    free(all);
    free(b);
    free(a);
    free(vals);
}

/* ---- the histogram CSV (driver --histogram) --------------------------------- */

/* Exact rows for known values: ticks -> ns at 2 ticks/ns; a bucket [low, high] in
 * whole ticks is [low, high + 1) in the CSV; empty kinds and buckets give no rows;
 * the top bucket's bound does not wrap. No histograms (no --latency): nothing. */
static void test_histogram_csv(void **state)
{
    (void)state;
    struct replay_result r;
    memset(&r, 0, sizeof r);
    struct membuf b;
    membuf_init(&b);
    report_histogram_csv(&b, &r);
    assert_int_equal(b.len, 0);

    r.lat = calloc(TR_KIND_COUNT, sizeof *r.lat);
    assert_non_null(r.lat);
    for (unsigned k = 0; k < TR_KIND_COUNT; k++)
        hist_reset(&r.lat[k]);
    r.tsc.ticks_per_ns = 2.0;
    hist_record(&r.lat[TR_MALLOC], 10);
    hist_record(&r.lat[TR_MALLOC], 10);
    hist_record(&r.lat[TR_MALLOC], 0);
    hist_record(&r.lat[TR_MALLOC], 300); /* bucket [300, 301] */
    hist_record(&r.lat[TR_MALLOC], 301);
    hist_record(&r.lat[TR_MALLOC], 302); /* the next one, [302, 303] */
    hist_record(&r.lat[TR_FREE], UINT64_MAX); /* [255 << 56, 2^64 - 1] */
    report_histogram_csv(&b, &r);
    static const char want[] = "kind,lo_ns,hi_ns,count\n"
                               "malloc,0.000,0.500,1\n"
                               "malloc,5.000,5.500,2\n"
                               "malloc,150.000,151.000,2\n"
                               "malloc,151.000,152.000,1\n"
                               "free,9187343239835811840.000,9223372036854775808.000,1\n";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    membuf_free(&b);
    free(r.lat);
}

/* ---- TSC ---------------------------------------------------------------- */

static void test_tsc_calibrate(void **state)
{
    (void)state;
    struct tsc_calibration c;
    assert_int_equal(tsc_calibrate(&c), 0);
    print_message("  ticks_per_ns=%.4f overhead min=%llu median=%llu ticks\n", c.ticks_per_ns,
                  (unsigned long long)c.overhead_min, (unsigned long long)c.overhead_median);
    assert_true(c.ticks_per_ns > 0.1 && c.ticks_per_ns < 10.0);
    assert_true(c.overhead_min <= c.overhead_median);
    /* the counter moves, and by less than a microsecond per step */
    assert_true(c.resolution >= 1);
    assert_true((double)c.resolution / c.ticks_per_ns < 1000.0);
    assert_true(c.resolution <= c.overhead_median + 1 || c.overhead_median == 0);

    uint64_t n0 = os_now_ns();
    uint64_t t0 = tsc_start();
    os_sleep_ms(10);
    uint64_t t1 = tsc_stop();
    uint64_t n1 = os_now_ns();
    double ms = (double)tsc_net(t0, t1, c.overhead_min) / c.ticks_per_ns / 1e6;
    double clock_ms = (double)(n1 - n0) / 1e6;
    print_message("  10 ms sleep: tsc %.3f ms, clock %.3f ms\n", ms, clock_ms);
    assert_true(ms >= 5.0 && ms <= 50.0);
    /* The tsc interval lies inside the clock one, so only the upper side is robust to
     * preemption; 1% over means the calibration is off. */
    assert_true(ms <= clock_ms * 1.01);

    assert_int_equal(tsc_net(100, 90, 0), 0);
    assert_int_equal(tsc_net(100, 150, 60), 0);
    assert_int_equal(tsc_net(100, 150, 20), 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_index_spot_values),
        cmocka_unit_test(test_bucket_boundaries),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_accuracy_uniform),
        cmocka_unit_test(test_accuracy_lognormal),
        cmocka_unit_test(test_accuracy_heavy),
        cmocka_unit_test(test_accuracy_constant),
        cmocka_unit_test(test_accuracy_around_256),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_histogram_csv),
        cmocka_unit_test(test_tsc_calibrate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
