/* test_gen_shapes.c - the single-thread shape generators: fragment, idle,
 * realloc, sizes and aligned. Each shipped spec generates a valid trace at
 * smoke scale; same spec + seed = the same bytes; each trace has the shape its
 * README section promises (checked on the records); bad parameters are refused
 * with file:line. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "scratch_dir.h"
#include "gen_test_util.h"

static int setup(void **state)
{
    (void)state;
    return scratch_dir_make("gen-shapes");
}

/* The walkers below follow live objects by the trace's (dense) ids. */
static uint64_t *id_table(const struct trace *t)
{
    uint64_t *v = calloc(t->hdr.n_objects + 1, sizeof *v);
    assert_non_null(v);
    return v;
}

static int phase_is(const struct trace_rec *r, const char *name)
{
    return r->kind == TR_PHASE && r->name_len == strlen(name) && memcmp(r->name, name, r->name_len) == 0;
}

/* ---- the shipped specs, smoke scale ---- */

static void test_shipped(void **state)
{
    (void)state;
    static const char *const specs[] = {"workloads/fragment.wl", "workloads/fragment-shift.wl", "workloads/idle.wl",
                                        "workloads/realloc.wl",  "workloads/sizes.wl",          "workloads/aligned.wl"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct trace t;
        struct trace_summary s;
        char err[SPEC_ERR_LEN];
        if (gen_file_to_trace(specs[i], 0.01, &t, &s, err) != 0)
            fail_msg("%s", err);
        assert_true(s.n_ops > 1000);
        assert_int_equal(s.final_live_objects, 0);
        assert_int_equal(s.threads_used, 1);
        trace_close(&t);
    }
}

/* ---- determinism ---- */

static const char *const small_specs[] = {
    "generator = fragment\nfill = 200K\npattern = random 40%\nrounds = 2\n",
    "generator = fragment\nmode = shift\nlive = 200K\nsteps = 4\nops = 20k\n",
    "generator = idle\npeak = 1M\nkeep = 20%\nidle = 10ms\ncycles = 2\n",
    "generator = realloc\nbuffers = 2000\nbuilding = 50\nfinished = 100\n",
    "generator = sizes\nlive = 20\nops = 200\n",
    "generator = aligned\nlive = 200\nops = 5000\n",
};

static void test_determinism(void **state)
{
    (void)state;
    gen_check_determinism(small_specs, sizeof small_specs / sizeof small_specs[0]);
}

/* ---- fragment ---- */

struct frag_walk {
    uint64_t *size;
    int phase; /* 0 fill, 1 punch, 2 large, 3 drain */
    uint64_t filled, punched, punched_bytes, large_bytes, live, max_small, min_large;
    uint64_t rounds, bad_kept; /* rounds where the survivors were not the expected count */
    uint64_t (*expect_kept)(uint64_t n);
};

static void frag_rec(const struct trace_rec *r, void *arg)
{
    struct frag_walk *w = arg;
    if (r->kind == TR_PHASE) {
        if (w->phase == 1 && w->filled - w->punched != w->expect_kept(w->filled))
            w->bad_kept++;
        if (w->phase == 2) /* the large objects replace the bytes punched out, within one object */
            assert_true(w->large_bytes >= w->punched_bytes && w->large_bytes < w->punched_bytes + 2048);
        w->phase = phase_is(r, "fill") ? 0 : phase_is(r, "punch") ? 1 : phase_is(r, "large") ? 2 : 3;
        if (w->phase == 0) {
            w->rounds++;
            w->filled = w->punched = w->punched_bytes = w->large_bytes = 0;
        }
        return;
    }
    if (r->kind == TR_MALLOC) {
        w->size[r->id] = r->size;
        w->live++;
        if (w->phase == 0) {
            w->filled++;
            w->max_small = r->size > w->max_small ? r->size : w->max_small;
        } else {
            assert_int_equal(w->phase, 2);
            w->large_bytes += r->size;
            w->min_large = r->size < w->min_large ? r->size : w->min_large;
        }
    } else if (r->kind == TR_FREE) {
        w->live--;
        if (w->phase == 1) {
            w->punched++;
            w->punched_bytes += w->size[r->id];
        } else {
            assert_int_equal(w->phase, 3);
        }
    }
}

static uint64_t kept_alternate(uint64_t n) { return n - n / 2; }
static uint64_t kept_random40(uint64_t n) { return n - (uint64_t)llround((double)n * 0.4); }
static uint64_t kept_runs3(uint64_t n) { return n / 4; } /* free 3, keep the 4th */

static void check_holes(const char *pattern, uint64_t (*kept)(uint64_t))
{
    char text[256];
    snprintf(text, sizeof text,
             "generator = fragment\nfill = 300K\nsmall = uniform 16..128\nlarge = uniform 129..2K\npattern = %s\n"
             "rounds = 3\n",
             pattern);
    struct trace t;
    struct trace_summary s;
    gen_must("frag", text, 1, &t, &s);
    struct frag_walk w = {.size = id_table(&t), .phase = 3, .min_large = UINT64_MAX, .expect_kept = kept};
    trace_each(&t, frag_rec, &w);
    assert_int_equal(w.rounds, 3);
    if (w.bad_kept)
        fail_msg("pattern %s: %llu rounds left the wrong share live", pattern, (unsigned long long)w.bad_kept);
    assert_true(w.max_small <= 128 && w.min_large >= 129 && w.min_large > w.max_small);
    assert_int_equal(w.live, 0);
    free(w.size);
    trace_close(&t);
}

static void test_fragment_holes(void **state)
{
    (void)state;
    check_holes("alternate", kept_alternate);
    check_holes("random 40%", kept_random40);
    check_holes("runs 3", kept_runs3);
}

struct shift_walk {
    uint64_t *size, live, bound, over;
    int step;
    double sum[8];
    uint64_t n[8];
};

static void shift_rec(const struct trace_rec *r, void *arg)
{
    struct shift_walk *w = arg;
    if (r->kind == TR_PHASE) {
        w->step = r->name_len > 5 && memcmp(r->name, "step-", 5) == 0 ? r->name[5] - '0' : -1;
    } else if (r->kind == TR_MALLOC) {
        w->size[r->id] = r->size;
        w->live += r->size;
        w->over += w->live > w->bound;
        if (w->step >= 0) {
            w->sum[w->step] += (double)r->size;
            w->n[w->step]++;
        }
    } else if (r->kind == TR_FREE) {
        w->live -= w->size[r->id];
    }
}

static void test_fragment_shift(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    gen_must("shift", "generator = fragment\nmode = shift\nlive = 1M\nsize = uniform 64..256\ngrowth = 2\nsteps = 4\n"
                      "ops = 200k\n",
             1, &t, &s);
    struct shift_walk w = {.size = id_table(&t), .bound = 1 << 20, .step = -1};
    trace_each(&t, shift_rec, &w);
    assert_int_equal(w.over, 0); /* the cache never holds more than its bound */
    for (int k = 0; k < 4; k++) {
        /* uniform 64..256 has mean 160; step k multiplies by 2^k (within 3%) */
        double mean = w.sum[k] / (double)w.n[k], want = 160.0 * (1 << k);
        if (fabs(mean - want) > 0.03 * want)
            fail_msg("step-%d: mean size %.1f, expected %.0f", k, mean, want);
    }
    assert_true(s.peak_live_bytes <= 1 << 20 && s.peak_live_bytes > (1 << 20) - 4 * 256);
    free(w.size);
    trace_close(&t);
}

/* ---- idle ---- */

struct idle_walk {
    uint64_t *size, live, peak, max_obj;
    uint64_t idles, live_at[8], ms[8];
};

static void idle_rec(const struct trace_rec *r, void *arg)
{
    struct idle_walk *w = arg;
    if (r->kind == TR_MALLOC) {
        w->size[r->id] = r->size;
        w->live += r->size;
        w->peak = w->live > w->peak ? w->live : w->peak;
        w->max_obj = r->size > w->max_obj ? r->size : w->max_obj;
    } else if (r->kind == TR_FREE) {
        w->live -= w->size[r->id];
    } else if (r->kind == TR_IDLE) {
        assert_true(w->idles < 8);
        w->live_at[w->idles] = w->live;
        w->ms[w->idles++] = r->ms;
    }
}

static void test_idle(void **state)
{
    (void)state;
    /* scale 0.5: 4 cycles become 2, 2s becomes 1000 ms; the 4M peak does not scale */
    struct trace t;
    struct trace_summary s;
    gen_must("idle", "generator = idle\npeak = 4M\nsize = uniform 16..1K\nkeep = 15%\nidle = 2s\ncycles = 4\n", 0.5, &t,
             &s);
    struct idle_walk w = {.size = id_table(&t)};
    trace_each(&t, idle_rec, &w);
    assert_int_equal(w.idles, 3); /* two cycles, and one after the drain */
    uint64_t target = (uint64_t)(0.15 * (4 << 20));
    for (uint64_t i = 0; i < w.idles; i++) {
        assert_int_equal(w.ms[i], 1000);
        if (i + 1 < w.idles && (w.live_at[i] > target || w.live_at[i] + w.max_obj <= target))
            fail_msg("idle %llu: %llu bytes live, expected 15%% of the peak (%llu) within one object",
                     (unsigned long long)i, (unsigned long long)w.live_at[i], (unsigned long long)target);
    }
    assert_int_equal(w.live_at[w.idles - 1], 0);
    assert_true(w.peak >= 4 << 20 && w.peak < (4 << 20) + 1024);
    assert_int_equal(s.idle_ms_total, 3000);
    free(w.size);
    trace_close(&t);
}

/* ---- realloc ---- */

#define RE_FINAL 5000
#define RE_VECTOR_CAP 8192 /* 16 doubled until it holds 5000 */

struct re_walk {
    uint64_t *size, *shrunk;
    uint64_t grows, shrinks, strings, vectors, max_live_buffers, live;
};

static void re_rec(const struct trace_rec *r, void *arg)
{
    struct re_walk *w = arg;
    if (r->kind == TR_MALLOC) {
        w->size[r->id] = r->size;
        w->shrunk[r->id] = 0;
        w->live++;
        w->max_live_buffers = w->live > w->max_live_buffers ? w->live : w->max_live_buffers;
    } else if (r->kind == TR_REALLOC) {
        uint64_t old = w->size[r->id];
        if (w->shrunk[r->id])
            fail_msg("object %u resized after its shrink-to-fit", r->id);
        if (r->size > old) {
            w->grows++;
        } else if (old == RE_VECTOR_CAP && r->size == RE_FINAL) {
            w->shrinks++;
            w->shrunk[r->id] = 1;
        } else {
            fail_msg("object %u: realloc %llu -> %llu is neither growth nor a shrink to fit", r->id,
                     (unsigned long long)old, (unsigned long long)r->size);
        }
        w->size[r->id] = r->size;
    } else if (r->kind == TR_FREE) {
        uint64_t sz = w->size[r->id];
        if (sz == RE_FINAL)
            w->strings++; /* strings, and shrunk vectors */
        else if (sz == RE_VECTOR_CAP)
            w->vectors++;
        else
            fail_msg("object %u freed at %llu bytes, short of or past its final size", r->id, (unsigned long long)sz);
        w->live--;
    }
}

static void test_realloc_buffers(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    gen_must("realloc", "generator = realloc\nbuffers = 3000\nbuilding = 100\nfinished = 200\nfinal = fixed 5000\n"
                        "doubling = 50%\ninitial = 16\nstep = uniform 16..256\nshrink = 50%\n",
             1, &t, &s);
    struct re_walk w = {.size = id_table(&t), .shrunk = id_table(&t)};
    trace_each(&t, re_rec, &w);
    assert_int_equal(s.count[TR_MALLOC], 3000);
    assert_int_equal(s.count[TR_FREE], 3000);
    /* half vectors, half of those shrunk: 750 each way, 2250 at exactly 5000 (within 5 sd) */
    assert_true(w.vectors > 650 && w.vectors < 850);
    assert_true(w.shrinks > 650 && w.shrinks < 850);
    assert_int_equal(w.strings + w.vectors, 3000);
    assert_true(w.grows > 3000 * 9); /* vectors double 9 times; strings append ~36 times */
    assert_int_equal(w.max_live_buffers, 300); /* building + finished */
    free(w.size);
    free(w.shrunk);
    trace_close(&t);
}

/* ---- sizes ---- */

struct sizes_walk {
    uint64_t phase_size[64];
    int n_phases;
    uint64_t mallocs[64], frees[64], wrong;
};

static void sizes_rec(const struct trace_rec *r, void *arg)
{
    struct sizes_walk *w = arg;
    if (r->kind == TR_PHASE) {
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)r->name_len, r->name);
        assert_true(w->n_phases < 64);
        assert_int_equal(strncmp(name, "size-", 5), 0);
        w->phase_size[w->n_phases++] = strtoull(name + 5, NULL, 10);
    } else if (r->kind == TR_MALLOC) {
        assert_true(w->n_phases > 0);
        w->wrong += r->size != w->phase_size[w->n_phases - 1];
        w->mallocs[w->n_phases - 1]++;
    } else if (r->kind == TR_FREE) {
        w->frees[w->n_phases - 1]++;
    }
}

static void check_sizes(const char *text, const uint64_t *expect, int n)
{
    struct trace t;
    struct trace_summary s;
    gen_must("sizes", text, 1, &t, &s);
    struct sizes_walk w = {0};
    trace_each(&t, sizes_rec, &w);
    assert_int_equal(w.n_phases, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(w.phase_size[i], expect[i]);
        assert_int_equal(w.mallocs[i], 500); /* 1000 ops: as many frees as mallocs */
        assert_int_equal(w.frees[i], 500);
    }
    assert_int_equal(w.wrong, 0);
    trace_close(&t);
}

static void test_sizes(void **state)
{
    (void)state;
    static const uint64_t ladder[] = {16,  32,  48,  64,  80,   96,   112,  128,  160,  192,  224,  256,  320,  384,
                                      448, 512, 640, 768, 896,  1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096};
    check_sizes("generator = sizes\nlive = 50\nops = 1000\n", ladder, 28);
    check_sizes("generator = sizes\nlive = 50\nops = 1000\nmax = 1K\n", ladder, 20);
    static const uint64_t list[] = {16, 24, 100, 4096, 100000};
    check_sizes("generator = sizes\nlive = 50\nops = 1000\nsizes = 16, 24 100,4K,\n  100000\n", list, 5);
}

/* ---- aligned ---- */

struct al_walk {
    uint64_t allocs, aligned, callocs, bad_align, by_log2[31];
    uint64_t lo, hi;
};

static void al_rec(const struct trace_rec *r, void *arg)
{
    struct al_walk *w = arg;
    if (r->kind == TR_MALLOC || r->kind == TR_CALLOC || r->kind == TR_ALIGNED)
        w->allocs++;
    if (r->kind == TR_CALLOC)
        w->callocs++;
    if (r->kind == TR_ALIGNED) {
        w->aligned++;
        if ((r->align & (r->align - 1)) || r->align < w->lo || r->align > w->hi)
            w->bad_align++;
        else
            w->by_log2[__builtin_ctzll(r->align)]++;
    }
}

static void test_aligned(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    /* 100k allocations: the sd of a 30% share is 0.15%; the tolerance, 1%, is ~7 sd */
    gen_must("aligned", "generator = aligned\nlive = 1000\nops = 198k\naligned_share = 30%\ncalloc_share = 10%\n"
                        "align = 16..4K\n",
             1, &t, &s);
    struct al_walk w = {.lo = 16, .hi = 4096};
    trace_each(&t, al_rec, &w);
    assert_int_equal(w.allocs, 100000);
    assert_true(fabs((double)w.aligned / (double)w.allocs - 0.30) < 0.01);
    assert_true(fabs((double)w.callocs / (double)w.allocs - 0.10) < 0.01);
    assert_int_equal(w.bad_align, 0);
    for (int k = 4; k <= 12; k++) /* every alignment of the range is used, about equally */
        assert_true(w.by_log2[k] > w.aligned / 9 * 0.9 && w.by_log2[k] < w.aligned / 9 * 1.1);
    trace_close(&t);

    gen_must("aligned-list", "generator = aligned\nlive = 100\nops = 10k\naligned_share = 50%\nalign = 64, 2M\n", 1, &t,
             &s);
    struct al_walk l = {.lo = 64, .hi = 2 << 20};
    trace_each(&t, al_rec, &l);
    assert_int_equal(l.bad_align, 0);
    assert_int_equal(l.by_log2[6] + l.by_log2[21], l.aligned);
    assert_true(l.by_log2[6] > 0 && l.by_log2[21] > 0);
    trace_close(&t);
}

/* ---- bad parameters: file, line, reason ---- */

static void test_bad_params(void **state)
{
    (void)state;
    gen_expect_error("generator = idle\nkeep = 150%\n", "bad.wl:2: keep: 1.5 is outside 0..1");
    gen_expect_error("generator = idle\n\nidle = 0ms\n", "bad.wl:3: idle: must be above 0ms");
    gen_expect_error("generator = idle\nidle = 3\n", "bad.wl:2: idle: `3` is not a duration with its unit");
    gen_expect_error("generator = aligned\nalign = 48\n", "bad.wl:2: align: 48 is not a power of two");
    gen_expect_error("generator = aligned\nalign = 64, 96\n", "bad.wl:2: align: 96 is not a power of two");
    gen_expect_error("generator = aligned\nalign = 16..3000\n", "bad.wl:2: align: `16..3000`: both ends must be powers");
    gen_expect_error("generator = aligned\nalign = 4..64\n", "bad.wl:2: align: `4..64`: must lie within 8..1G");
    gen_expect_error("generator = aligned\nalign = 2G\n", "bad.wl:2: align: 2G is outside 8..1073741824");
    gen_expect_error("generator = aligned\naligned_share = 80%\ncalloc_share = 30%\n",
                 "bad.wl:3: calloc_share: aligned_share + calloc_share is above 100%");
    gen_expect_error("generator = sizes\nsizes = ,\n", "bad.wl:2: sizes: the list is empty");
    gen_expect_error("generator = sizes\nsizes =\n", "bad.wl:2: sizes: empty value");
    gen_expect_error("generator = sizes\nsizes = 64, 32\n", "bad.wl:2: sizes: 32: the list must be in increasing order");
    gen_expect_error("generator = sizes\nsizes = 64, 0\n", "bad.wl:2: sizes: 0 is outside 1..");
    gen_expect_error("generator = sizes\nsizes = 64, lots\n", "bad.wl:2: sizes: `lots` is not a size");
    gen_expect_error("generator = sizes\nsizes = 64\nmax = 1K\n", "bad.wl:3: max: give either `sizes`");
    gen_expect_error("generator = fragment\nlarge = uniform 64..1K\n", "bad.wl:2: large: its smallest size (64) must be above");
    /* with `large` defaulted, the message points at `small` */
    gen_expect_error("generator = fragment\nsmall = uniform 16..1K\n", "bad.wl:2: small: its largest size (1024) must be below");
    gen_expect_error("generator = fragment\npattern = random 100%\n", "bad.wl:2: pattern: `random` takes the share freed");
    gen_expect_error("generator = fragment\npattern = runs 0\n", "bad.wl:2: pattern: `runs` takes");
    gen_expect_error("generator = fragment\npattern = zigzag\n", "bad.wl:2: pattern: `zigzag`: expected `alternate`");
    gen_expect_error("generator = fragment\nmode = sideways\n", "bad.wl:2: mode: `sideways`: expected `holes` or `shift`");
    gen_expect_error("generator = fragment\nmode = shift\nfill = 1M\n", "bad.wl:3: fill: unknown key for generator fragment");
    gen_expect_error("generator = fragment\nmode = shift\ngrowth = 0.5\n", "bad.wl:3: growth: 0.5 is outside 1..16");
    gen_expect_error("generator = realloc\ndoubling = 2\n", "bad.wl:2: doubling: 2 is outside 0..1");
    gen_expect_error("generator = realloc\nfinal = uniform 16..200T\n", "bad.wl:2: final");
    gen_expect_error("generator = realloc\nbuilding = 0\n", "bad.wl:2: building: 0 is below the minimum 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),        cmocka_unit_test(test_determinism), cmocka_unit_test(test_fragment_holes),
        cmocka_unit_test(test_fragment_shift), cmocka_unit_test(test_idle),        cmocka_unit_test(test_realloc_buffers),
        cmocka_unit_test(test_sizes),          cmocka_unit_test(test_aligned),     cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, setup, scratch_dir_teardown);
}
