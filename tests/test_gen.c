/* test_gen.c - the spec parser (units, distributions, errors), the generator
 * framework (determinism, scale), every shipped spec, burst and churn, and the
 * `allocmark-trace gen` cache. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "scratch_dir.h"
#include "gen_test_util.h"

static int setup(void **state)
{
    (void)state;
    return scratch_dir_make("gen");
}

/* ---- units ---- */

static void test_units(void **state)
{
    (void)state;
    uint64_t v;
    static const struct {
        const char *text;
        uint64_t count, size; /* UINT64_MAX: refused */
    } cases[] = {
        {"0", 0, 0},
        {"1000", 1000, 1000},
        {"1_000_000", 1000000, 1000000},
        {"5k", 5000, 5120},
        {"2M", 2000000, 2097152},
        {"1G", 1000000000, 1073741824},
        {"4K", 4000, 4096},
        {"4KiB", UINT64_MAX, 4096},
        {"64B", UINT64_MAX, 64},
        {"1.5M", 1500000, 1572864},
        {" 12 ", 12, 12},
        {"", UINT64_MAX, UINT64_MAX},
        {"-5", UINT64_MAX, UINT64_MAX},
        {"5 parsecs", UINT64_MAX, UINT64_MAX},
        {"1.5", UINT64_MAX, UINT64_MAX},
        {"1__0", UINT64_MAX, UINT64_MAX},
        {"_1", UINT64_MAX, UINT64_MAX},
        {"4 K", UINT64_MAX, UINT64_MAX},
        {"99999999999999999999999", UINT64_MAX, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = spec_parse_count(cases[i].text, &v);
        if (cases[i].count == UINT64_MAX)
            assert_int_not_equal(rc, 0);
        else {
            assert_int_equal(rc, 0);
            assert_int_equal(v, cases[i].count);
        }
        rc = spec_parse_size(cases[i].text, &v);
        if (cases[i].size == UINT64_MAX)
            assert_int_not_equal(rc, 0);
        else {
            assert_int_equal(rc, 0);
            assert_int_equal(v, cases[i].size);
        }
    }
    assert_int_equal(spec_parse_duration_ms("500ms", &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(spec_parse_duration_ms("1.5s", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(spec_parse_duration_ms("1min", &v), 0);
    assert_int_equal(v, 60000);
    assert_int_equal(spec_parse_duration_ms("2500us", &v), 0);
    assert_int_equal(v, 3); /* rounded to whole ms */
    assert_int_not_equal(spec_parse_duration_ms("500", &v), 0); /* the unit is required */
    assert_int_not_equal(spec_parse_duration_ms("5 hours", &v), 0);
    assert_int_not_equal(spec_parse_duration_ms("-1s", &v), 0);
}

/* ---- distributions ---- */

static void test_dist_parse(void **state)
{
    (void)state;
    struct size_dist d;
    assert_null(dist_parse("fixed 64", &d));
    assert_int_equal(d.lo, 64);
    assert_int_equal(d.hi, 64);
    assert_null(dist_parse("uniform 16..4K", &d));
    assert_int_equal(d.lo, 16);
    assert_int_equal(d.hi, 4096);
    assert_null(dist_parse("lognormal 300,0.8 clamped 16..4K", &d));
    assert_true(fabs(d.mu - (log(300) - 0.32)) < 1e-12);
    assert_null(dist_parse("inverse-square 16..1M", &d));
    assert_null(dist_parse("table 16:50, 64:30 512:20", &d));
    assert_int_equal(d.n, 3);
    assert_true(fabs(d.cum[0] - 0.5) < 1e-12 && fabs(d.cum[1] - 0.8) < 1e-12 && d.cum[2] == 1.0);
    static const char *bad[] = {
        "", "fixed", "fixed 0", "fixed -3", "uniform 16", "uniform 64..16", "uniform 0..16", "uniform 16..4K x",
        "lognormal 300 clamped 16..4K", "lognormal 300,0 clamped 16..4K", "lognormal 300,0.8", "lognormal 0.5,1 clamped 1..2",
        "table", "table 16", "table 16:x", "table 64:1, 16:1", "table 16:0", "gaussian 1..2", "uniform 16..1000000T",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(dist_parse(bad[i], &d));
}

/* Kolmogorov-Smirnov distance between N samples and dist_cdf, over every size
 * the distribution can produce (or a grid for wide ranges). */
static double ks_distance(const struct size_dist *d, uint64_t n, uint64_t seed)
{
    uint64_t span = d->hi - d->lo + 1, buckets = span < 65536 ? span : 65536;
    uint64_t *count = calloc(buckets, sizeof *count);
    assert_non_null(count);
    struct rng r;
    rng_seed(&r, seed);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = dist_sample(d, &r);
        assert_true(x >= d->lo && x <= d->hi);
        count[(x - d->lo) * buckets / span]++;
    }
    double worst = 0, cum = 0;
    for (uint64_t b = 0; b < buckets; b++) {
        cum += (double)count[b];
        /* the largest size that falls in bucket b */
        uint64_t top = d->lo + ((b + 1) * span - 1) / buckets;
        double diff = fabs(cum / (double)n - dist_cdf(d, top));
        worst = diff > worst ? diff : worst;
    }
    free(count);
    return worst;
}

/* 400k samples: the KS distance of a correct sampler is below 1.95/sqrt(n) =
 * 0.0031 with probability 0.999; the seed is fixed, so the test is repeatable,
 * and a wrong shape (e.g. uniform instead of inverse-square) is off by > 0.1. */
static void test_dist_shape(void **state)
{
    (void)state;
    static const char *dists[] = {
        "fixed 100", "uniform 16..4K", "uniform 1..3", "lognormal 300,0.8 clamped 16..4K",
        "lognormal 1000,1.5 clamped 16..1M", "inverse-square 16..4K", "inverse-square 1..1M",
        "table 16:50, 64:30, 512:15, 4K:5",
    };
    struct size_dist d;
    for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++) {
        assert_null(dist_parse(dists[i], &d));
        double ks = ks_distance(&d, 400000, 1000 + i);
        if (ks > 0.0031)
            fail_msg("%s: KS distance %.5f > 0.0031", dists[i], ks);
    }
    /* dist_cdf against closed forms computed here, so a wrong cdf cannot hide
     * a wrong sampler: inverse-square on 16..4095 puts (1/16-1/32)/(1/16-1/4096)
     * below 32; a lognormal's mean (wide clamp) is its MEAN. */
    assert_null(dist_parse("inverse-square 16..4095", &d));
    assert_true(fabs(dist_cdf(&d, 31) - (1.0 / 16 - 1.0 / 32) / (1.0 / 16 - 1.0 / 4096)) < 1e-12);
    assert_null(dist_parse("lognormal 300,0.5 clamped 1..1G", &d));
    struct rng r;
    rng_seed(&r, 5);
    double sum = 0;
    for (int i = 0; i < 400000; i++)
        sum += (double)dist_sample(&d, &r);
    assert_true(fabs(sum / 400000 - 300) < 3); /* 1%: the sd of the mean is ~0.25 */
    assert_null(dist_parse("table 16:1, 64:3", &d));
    assert_true(fabs(dist_cdf(&d, 16) - 0.25) < 1e-12 && dist_cdf(&d, 63) == dist_cdf(&d, 16));
}

/* ---- spec errors: the file, the line and the reason ---- */

static void test_spec_errors(void **state)
{
    (void)state;
    gen_expect_error("generator = nosuch\n", "bad.wl:1: generator: unknown generator `nosuch` (known: kvserver");
    gen_expect_error("# no generator\nlive = 5\n", "bad.wl: missing required key `generator`");
    gen_expect_error("generator = churn\nops = 5 parsecs\n", "bad.wl:2: ops: `5 parsecs` is not a whole count");
    gen_expect_error("generator = churn\n\nlive = -20\n", "bad.wl:3: live: `-20`: must not be negative");
    gen_expect_error("generator = churn\nlive = 0\n", "bad.wl:2: live: 0 is below the minimum 1");
    gen_expect_error("generator = churn\nsize = uniform 64..16\n", "bad.wl:2: size: `uniform 64..16`: the range's low end");
    gen_expect_error("generator = churn\nsize = normal 5\n", "bad.wl:2: size: `normal 5`: unknown distribution");
    gen_expect_error("generator = churn\nlives = 5\n", "bad.wl:2: lives: unknown key for generator churn");
    gen_expect_error("generator = churn\nlive = 5\nlive = 6\n", "bad.wl:3: live: given twice (first on line 2)");
    gen_expect_error("generator = churn\n[churn]\n", "bad.wl:2: sections ([churn]) are not used");
    gen_expect_error("generator = churn\njust words\n", "bad.wl:2: not a `key = value` line");
    gen_expect_error("generator = churn\nscale = -1\n", "bad.wl:2: scale: `-1`: must not be negative");
    gen_expect_error("generator = burst\nfree_order = sideways\n", "bad.wl:2: free_order: `sideways`: expected fifo");
    gen_expect_error("generator = burst\nidle = 5\n", "bad.wl:2: idle: `5` is not a duration with its unit");
    char long_line[400];
    snprintf(long_line, sizeof long_line, "generator = churn\ndescription = %0300d\n", 0);
    gen_expect_error(long_line, "bad.wl:2: line longer than 199 characters");
    /* a long value may continue on indented lines */
    struct trace t;
    struct trace_summary s;
    char err[SPEC_ERR_LEN];
    assert_int_equal(gen_text_to_trace("cont.wl", "generator = churn\nlive = 4\nops = 100\nsize = table 16:1,\n  32:1, 48:1\n",
                                       1, &t, &s, err), 0);
    assert_int_equal(s.max_size, 48);
    trace_close(&t);
}

/* ---- determinism, seed and scale ---- */

static uint64_t file_hash(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint64_t h = 0xcbf29ce484222325ull;
    int c;
    while ((c = fgetc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 0x100000001b3ull;
    fclose(f);
    return h;
}

static uint64_t gen_hash(const char *name, const char *text, double scale)
{
    struct trace t;
    struct trace_summary s;
    char err[SPEC_ERR_LEN], path[PATH_MAX + 700];
    if (gen_text_to_trace(name, text, scale, &t, &s, err) != 0)
        fail_msg("%s", err);
    trace_close(&t);
    snprintf(path, sizeof path, "%s/%.600s.trace", scratch_dir, name);
    return file_hash(path);
}

static void test_determinism(void **state)
{
    (void)state;
    const char *spec = "generator = churn\nlive = 500\nops = 20k\nsize = lognormal 200,1 clamped 16..4K\nseed = 9\n";
    uint64_t a = gen_hash("a", spec, 1), b = gen_hash("b", spec, 1);
    assert_int_equal(a, b);
    uint64_t c = gen_hash("c", "generator = churn\nlive = 500\nops = 20k\nsize = lognormal 200,1 clamped 16..4K\nseed = 10\n", 1);
    assert_int_not_equal(a, c);
    /* the same trace through the CLI with --seed replacing the spec's seed */
    char cmd[PATH_MAX * 3], path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/seed.wl", scratch_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("generator = churn\nlive = 500\nops = 20k\nsize = lognormal 200,1 clamped 16..4K\nseed = 1\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/allocmark-trace gen %s --seed 10 -o %s/cli.trace 2>/dev/null >/dev/null",
             getenv("ALLOCMARK_BIN") ? getenv("ALLOCMARK_BIN") : "build/bin", path, scratch_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/cli.trace", scratch_dir);
    assert_int_equal(file_hash(path), c);
}

static void test_scale(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    char err[SPEC_ERR_LEN];
    const char *spec = "generator = churn\nlive = 100\nops = 10k\nscale = 2\n";
    assert_int_equal(gen_text_to_trace("s1", spec, 1, &t, &s, err), 0);
    assert_int_equal(s.n_ops, 100 + 20000 + 100); /* fill, 2 x 10k (spec scale), teardown */
    assert_int_equal(s.peak_live_objects, 100);     /* the shape does not scale */
    trace_close(&t);
    assert_int_equal(gen_text_to_trace("s2", spec, 0.25, &t, &s, err), 0);
    assert_int_equal(s.n_ops, 100 + 5000 + 100);
    trace_close(&t);
}

/* ---- the shipped specs: each generates a valid trace at smoke scale ---- */

static void test_shipped_specs(void **state)
{
    (void)state;
    DIR *d = opendir("workloads");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".wl") != 0)
            continue;
        char path[600], err[SPEC_ERR_LEN];
        snprintf(path, sizeof path, "workloads/%s", e->d_name);
        struct trace t;
        struct trace_summary s;
        if (gen_file_to_trace(path, 0.01, &t, &s, err) != 0)
            fail_msg("%s", err);
        assert_true(s.n_ops > 0);
        trace_close(&t);
        n++;
    }
    closedir(d);
    assert_true(n >= 2);
}

/* ---- burst and churn ---- */

struct walk {
    uint64_t live, peak, frees, phases, last_alloc_id, order_ok;
    uint64_t ops_between_phases;
    uint32_t threads_seen;
};

static void walk_burst(const struct trace_rec *r, void *arg)
{
    struct walk *w = arg;
    if (r->kind == TR_MALLOC) {
        w->live++;
        w->last_alloc_id = r->id;
        w->peak = w->live > w->peak ? w->live : w->peak;
    } else if (r->kind == TR_FREE) {
        /* lifo: the first free of a round is the object allocated last */
        if (w->live == w->peak && r->id == w->last_alloc_id)
            w->order_ok++;
        w->live--;
        w->frees++;
    } else if (r->kind == TR_PHASE) {
        w->phases++;
    }
}

static void test_burst(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    char err[SPEC_ERR_LEN];
    assert_int_equal(gen_text_to_trace("burst", "generator = burst\nobjects = 1000\nrounds = 5\nfree_order = lifo\n"
                                                "size = uniform 16..256\nidle = 10ms\n",
                                       1, &t, &s, err), 0);
    assert_int_equal(s.count[TR_MALLOC], 5000);
    assert_int_equal(s.count[TR_FREE], 5000);
    assert_int_equal(s.peak_live_objects, 1000);
    assert_int_equal(s.final_live_objects, 0);
    assert_int_equal(s.count[TR_IDLE], 4);
    assert_int_equal(s.idle_ms_total, 40);
    assert_int_equal(s.count[TR_PHASE], 2); /* first, repeat */
    assert_true(s.max_size <= 256);
    struct walk w = {0};
    trace_each(&t, walk_burst, &w);
    assert_int_equal(w.order_ok, 5);
    trace_close(&t);
    /* random order differs from fifo but frees the same objects */
    uint64_t fifo = gen_hash("bf", "generator = burst\nobjects = 1000\nrounds = 2\n", 1);
    uint64_t rnd = gen_hash("br", "generator = burst\nobjects = 1000\nrounds = 2\nfree_order = random\n", 1);
    assert_int_not_equal(fifo, rnd);
}

static void walk_churn(const struct trace_rec *r, void *arg)
{
    struct walk *w = arg;
    if (r->kind == TR_MALLOC)
        w->live++;
    else if (r->kind == TR_FREE)
        w->live--;
    else if (r->kind == TR_PHASE && r->name_len == 6 && memcmp(r->name, "steady", 6) == 0)
        w->peak = w->live; /* the live count when the steady phase starts */
    if (trace_kind_is_op(r->kind))
        w->threads_seen |= 1u << r->thread;
    if (w->peak && r->kind == TR_MALLOC && w->live != w->peak && w->phases == 0)
        w->order_ok++; /* after a replacement's malloc the count is back to the pool size */
    if (r->kind == TR_PHASE && r->name_len == 8 && memcmp(r->name, "teardown", 8) == 0)
        w->phases = 1;
}

static void test_churn(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    char err[SPEC_ERR_LEN];
    assert_int_equal(gen_text_to_trace("churn", "generator = churn\nthreads = 3\nlive = 300\nops = 30k\nbatch = 64\n", 1,
                                       &t, &s, err), 0);
    assert_int_equal(s.peak_live_objects, 900);
    assert_int_equal(s.n_ops, 900 + 30000 + 900);
    assert_int_equal(s.cross_thread_frees, 0);
    assert_int_equal(s.threads_used, 3);
    struct walk w = {0};
    trace_each(&t, walk_churn, &w);
    assert_int_equal(w.peak, 900);
    assert_int_equal(w.order_ok, 0);
    assert_int_equal(w.threads_seen, 7);
    trace_close(&t);
}

/* ---- the CLI: gen into the cache, then reuse it ---- */

static void test_cli_cache(void **state)
{
    (void)state;
    const char *bin = getenv("ALLOCMARK_BIN") ? getenv("ALLOCMARK_BIN") : "build/bin";
    char cmd[PATH_MAX * 3], out1[PATH_MAX], out2[PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s/allocmark-trace gen workloads/churn.wl --scale 0.001 --cache-dir %s 2>/dev/null", bin,
             scratch_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out1, sizeof out1, p));
    assert_int_equal(pclose(p), 0);
    out1[strcspn(out1, "\n")] = '\0';
    struct stat st1, st2;
    assert_int_equal(stat(out1, &st1), 0);
    assert_non_null(strstr(out1, "/churn-"));
    assert_non_null(strstr(out1, ".trace.zst"));
    p = popen(cmd, "r");
    assert_non_null(fgets(out2, sizeof out2, p));
    assert_int_equal(pclose(p), 0);
    out2[strcspn(out2, "\n")] = '\0';
    assert_string_equal(out1, out2);
    assert_int_equal(stat(out2, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino); /* not rewritten */
    assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
    /* another scale is another cache entry */
    snprintf(cmd, sizeof cmd, "%s/allocmark-trace gen workloads/churn.wl --scale 0.002 --cache-dir %s 2>/dev/null", bin,
             scratch_dir);
    p = popen(cmd, "r");
    assert_non_null(fgets(out2, sizeof out2, p));
    assert_int_equal(pclose(p), 0);
    out2[strcspn(out2, "\n")] = '\0';
    assert_string_not_equal(out1, out2);
    /* --check writes nothing and says ok; a bad spec exits 2 naming file:line */
    snprintf(cmd, sizeof cmd, "%s/allocmark-trace gen workloads/burst.wl --check >/dev/null 2>&1", bin);
    assert_int_equal(system(cmd), 0);
    char bad[PATH_MAX + 32];
    snprintf(bad, sizeof bad, "%s/bad.wl", scratch_dir);
    FILE *f = fopen(bad, "w");
    fputs("generator = churn\nops = lots\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/allocmark-trace gen %s -o %s/x.trace 2>&1", bin, bad, scratch_dir);
    p = popen(cmd, "r");
    char msg[1024] = "";
    assert_non_null(fgets(msg, sizeof msg, p));
    assert_int_equal(WEXITSTATUS(pclose(p)), 2);
    assert_non_null(strstr(msg, "bad.wl:2: ops: `lots` is not a whole count"));
    snprintf(cmd, sizeof cmd, "%s/allocmark-trace gen %s/missing.wl >/dev/null 2>&1", bin, scratch_dir);
    assert_int_equal(WEXITSTATUS(system(cmd)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units),      cmocka_unit_test(test_dist_parse),    cmocka_unit_test(test_dist_shape),
        cmocka_unit_test(test_spec_errors), cmocka_unit_test(test_determinism), cmocka_unit_test(test_scale),
        cmocka_unit_test(test_shipped_specs), cmocka_unit_test(test_burst),      cmocka_unit_test(test_churn),
        cmocka_unit_test(test_cli_cache),
    };
    return cmocka_run_group_tests(tests, setup, scratch_dir_teardown);
}
