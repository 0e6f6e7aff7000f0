/* test_replay.c - the replay engine's figures on hand-written traces whose ops,
 * live bytes and calls are known exactly; RSS, touch, idle release, latency,
 * checkpoints and allocation failure. Runs in-process against glibc and against
 * a recording stub allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch_dir.h"
#include "small_trace.h"
#include "loaded_trace.h"

#include "../harness/membuf.h"
#include "../harness/os.h"
#include "../harness/replay.h"
#include "../harness/trace.h"

#define MiB (1024ull * 1024ull)

/* Under AddressSanitizer, malloc is ASan's: mallinfo2 reads zero and malloc_trim
 * does nothing, so the assertions about glibc's own behaviour are skipped there. */
#ifdef __SANITIZE_ADDRESS__
#define REAL_GLIBC 0
#else
#define REAL_GLIBC 1
#endif

static int setup(void **state)
{
    (void)state;
    return scratch_dir_make("test-replay");
}


/* the figures small_trace.h spells out */
static void check_small_figures(const struct replay_result *r)
{
    assert_int_equal(r->ops, 8);
    assert_int_equal(r->records, 10);
    assert_int_equal(r->count[TR_MALLOC], 2);
    assert_int_equal(r->count[TR_CALLOC], 1);
    assert_int_equal(r->count[TR_REALLOC], 1);
    assert_int_equal(r->count[TR_ALIGNED], 1);
    assert_int_equal(r->count[TR_FREE], 3);
    assert_int_equal(r->peak_live_bytes, 5164);
    assert_int_equal(r->peak_live_objects, 3);
    assert_int_equal(r->final_live_bytes, 5000);
    assert_int_equal(r->n_idles, 1);
    assert_int_equal(r->idles[0].ms, 5);
    assert_int_equal(r->idles[0].op, 5);
    assert_int_equal(r->idles[0].live, 164);
    assert_int_equal(r->n_phases, 2);
    assert_string_equal(r->phases[0].name, "start");
    assert_int_equal(r->phases[0].ops, 4);
    assert_string_equal(r->phases[1].name, "steady");
    assert_int_equal(r->phases[1].ops, 4);
    assert_int_equal(r->phases[1].live_end, 5000);
    /* fewer ops than checkpoints: a sample after every op, plus start, phase, idle x2, end */
    assert_int_equal(r->sample_interval, 1);
    assert_int_equal(r->n_samples, 8 + 5);
    assert_int_equal(r->samples[0].event, EV_START);
    assert_int_equal(r->samples[r->n_samples - 1].event, EV_END);
    for (uint64_t i = 1; i < r->n_samples; i++) {
        assert_true(r->samples[i].t_ns >= r->samples[i - 1].t_ns);
        assert_true(r->samples[i].op >= r->samples[i - 1].op);
    }
    /* the 5 ms sleep is excluded from replay time */
    assert_true(r->excluded_ns >= 5000000);
    assert_true(r->wall_ns < r->excluded_ns);
}

static void test_small_trace_glibc(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "small", small_trace);
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &default_opts, &r), 0);
    check_small_figures(&r);
    assert_int_equal(r.stats_rc, 0);
    if (REAL_GLIBC)
        assert_true(r.stats.allocated > 0);
    assert_string_equal(r.error, "");
    replay_result_free(&r);
    trace_close(&l.t);
}

static void test_small_trace_dry(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "small-dry", small_trace);
    struct replay_opts o = default_opts;
    o.dry = 1;
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    check_small_figures(&r);
    assert_int_equal(r.stats_rc, -1); /* the allocator was never asked */
    replay_result_free(&r);
    trace_close(&l.t);
}

/* ---- a stub allocator that records every call ---- */

struct call {
    char op;
    size_t a, b, c;
    void *p;
};
static struct call calls[64];
static int n_calls, fail_at_malloc = -1, n_mallocs, inits, releases;
static char arena[64][8192] __attribute__((aligned(4096)));
static int arena_next;

static void rec(char op, size_t a, size_t b, size_t c, void *p)
{
    if (n_calls < 64)
        calls[n_calls++] = (struct call){ op, a, b, c, p };
}
static void *grab(void) { return arena_next < 64 ? arena[arena_next++] : NULL; }
static int stub_init(const char *o) { (void)o; inits++; return 0; }
static void *stub_malloc(size_t n)
{
    void *p = (n_mallocs++ == fail_at_malloc) ? NULL : grab();
    rec('m', n, 0, 0, p);
    return p;
}
static void stub_free(void *p, size_t n) { rec('f', n, 0, 0, p); }
static void *stub_calloc(size_t n, size_t s) { void *p = grab(); rec('c', n, s, 0, p); return p; }
static void *stub_realloc(void *p, size_t o, size_t n) { rec('r', o, n, 0, p); return p; }
static void *stub_aligned(size_t a, size_t n) { void *p = grab(); rec('a', a, n, 0, p); return p; }
static int stub_release(void) { releases++; return 0; }

static const struct allocator stub = {
    .name = "stub", .init = stub_init, .malloc = stub_malloc, .free = stub_free, .calloc = stub_calloc,
    .realloc = stub_realloc, .aligned_alloc = stub_aligned, .release = stub_release,
};

static void stub_reset(void)
{
    n_calls = n_mallocs = inits = releases = arena_next = 0;
    fail_at_malloc = -1;
}

static void test_exact_calls(void **state)
{
    (void)state;
    stub_reset();
    struct loaded l;
    load_text(&l, "stub", small_trace);
    struct replay_opts o = default_opts;
    o.release_at_idle = 1;
    struct replay_result r;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &o, &r), 0);
    assert_int_equal(inits, 1);
    assert_int_equal(releases, 1); /* --release-at-idle: once, at the one idle marker */
    /* the 8 ops, then the leftover object 100 freed after measurement */
    assert_int_equal(n_calls, 9);
    struct call want[] = {
        { 'm', 64, 0, 0, arena[0] }, { 'c', 4, 16, 0, arena[1] },   { 'r', 64, 200, 0, arena[0] },
        { 'a', 64, 100, 0, arena[2] },
        { 'f', 0, 0, 0, arena[0] }, /* realloc'd objects are freed with size 0 */
        { 'm', 5000, 0, 0, arena[3] },
        { 'f', 64, 0, 0, arena[1] },   /* sized free passes the requested size (4*16) */
        { 'f', 0, 0, 0, arena[2] },    /* aligned objects are freed with size 0 */
        { 'f', 5000, 0, 0, arena[3] },
    };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(calls[i].op, want[i].op);
        assert_int_equal(calls[i].a, want[i].a);
        assert_int_equal(calls[i].b, want[i].b);
        assert_ptr_equal(calls[i].p, want[i].p);
    }
    replay_result_free(&r);
    trace_close(&l.t);
}

/* Records whose sizes do not fit the op stream's 32-bit field take the escape
 * path; the allocator must still see the exact sizes. */
static void test_oversized_records(void **state)
{
    (void)state;
    stub_reset();
    struct loaded l;
    load_text(&l, "big", "t0 malloc 1 8589934592\nt0 calloc 2 3 4294967297\nt0 free 1\nt0 free 2\n");
    struct replay_opts o = default_opts;
    o.touch = TOUCH_NONE; /* the stub's blocks are only 8 KiB */
    struct replay_result r;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &o, &r), 0);
    assert_int_equal(n_calls, 4);
    assert_int_equal(calls[0].op, 'm');
    assert_int_equal(calls[0].a, 8589934592ull);
    assert_int_equal(calls[1].op, 'c');
    assert_int_equal(calls[1].a, 3);
    assert_int_equal(calls[1].b, 4294967297ull);
    assert_int_equal(calls[2].a, 8589934592ull);
    assert_int_equal(calls[3].a, 3 * 4294967297ull);
    assert_int_equal(r.peak_live_bytes, 8589934592ull + 3 * 4294967297ull);
    replay_result_free(&r);
    trace_close(&l.t);
}

static void test_touch_pages_written(void **state)
{
    (void)state;
    stub_reset();
    struct loaded l;
    load_text(&l, "touch", "t0 malloc 1 8192\nt0 malloc 2 10\n");
    memset(arena, 0, sizeof arena);
    struct replay_result r;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &default_opts, &r), 0);
    /* one byte in each page of the 8 KiB object, nothing past it */
    assert_int_not_equal(arena[0][0], 0);
    assert_int_not_equal(arena[0][4096], 0);
    assert_int_equal(arena[0][1], 0);
    assert_int_not_equal(arena[1][0], 0);
    replay_result_free(&r);
    trace_close(&l.t);

    stub_reset();
    memset(arena, 0, sizeof arena);
    load_text(&l, "touch-full", "t0 malloc 1 8192\n");
    struct replay_opts o = default_opts;
    o.touch = TOUCH_FULL;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &o, &r), 0);
    for (int i = 0; i < 8192; i++)
        assert_int_not_equal(arena[0][i], 0);
    replay_result_free(&r);
    trace_close(&l.t);
}

static void test_allocation_failure(void **state)
{
    (void)state;
    stub_reset();
    fail_at_malloc = 1;
    struct loaded l;
    load_text(&l, "fail", "t0 malloc 1 16\nt0 free 1\nt0 malloc 2 32\nt0 malloc 3 48\n");
    struct replay_result r;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &default_opts, &r), -1);
    assert_int_equal(r.failed_op, 2);
    assert_non_null(strstr(r.error, "op 2: malloc of 32 bytes returned NULL"));
    assert_int_equal(r.ops, 2);
    replay_result_free(&r);
    trace_close(&l.t);
}

/* ---- RSS, touch policy and idle release against the real glibc ---- */

static void big_blocks(struct membuf *b, int n, unsigned size)
{
    membuf_init(b);
    for (int i = 0; i < n; i++)
        membuf_printf(b, "t0 malloc %d %u\n", i, size);
}

static void test_rss_follows_touch(void **state)
{
    (void)state;
    struct membuf b;
    big_blocks(&b, 64, 1024 * 1024); /* 64 MiB in 1 MiB blocks: glibc mmaps each */
    struct loaded l;
    load_membuf(&l, "rss", &b);
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &default_opts, &r), 0);
    assert_int_equal(r.peak_live_bytes, 64 * MiB);
    assert_true(r.peak_rss >= 63 * MiB);
    assert_true(r.peak_rss <= 72 * MiB);
    assert_true(r.frag_peak >= 0.98 && r.frag_peak < 1.2);
    assert_true(r.minor_faults >= 64 * 256); /* every page was touched once */
    replay_result_free(&r);

    struct replay_opts o = default_opts;
    o.touch = TOUCH_NONE; /* mmapped and never written: not resident */
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    assert_true(r.peak_rss < 8 * MiB);
    replay_result_free(&r);
    trace_close(&l.t);
}

static void idle_trace(struct membuf *b)
{
    /* 48 MiB in 32 KiB blocks (below glibc's mmap threshold: they live in the heap);
     * free all but the last, which pins the top so glibc cannot trim by itself */
    membuf_init(b);
    membuf_printf(b, "phase fill\n");
    for (int i = 0; i < 1536; i++)
        membuf_printf(b, "t0 malloc %d 32768\n", i);
    membuf_printf(b, "phase drain\n");
    for (int i = 0; i < 1535; i++)
        membuf_printf(b, "t0 free %d\n", i);
    membuf_printf(b, "idle 20\n");
}

static void test_idle_release(void **state)
{
    (void)state;
    struct membuf b;
    idle_trace(&b);
    struct loaded l;
    load_membuf(&l, "idle", &b);
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &default_opts, &r), 0);
    assert_int_equal(r.n_idles, 1);
    assert_int_equal(r.idles[0].live, 32768);
    if (REAL_GLIBC)
        assert_true(r.idles[0].rss_after >= 40 * MiB); /* glibc keeps freed heap memory */
    replay_result_free(&r);

    struct replay_opts o = default_opts;
    o.release_at_idle = 1; /* malloc_trim(0) returns it */
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    assert_true(r.idles[0].rss_before >= 40 * MiB);
    if (REAL_GLIBC)
        assert_true(r.idles[0].rss_after < 8 * MiB);
    assert_true(r.idles[0].release_ns > 0);
    replay_result_free(&r);
    trace_close(&l.t);
}

/* A trace decoded in many small chunks replays exactly as one decoded whole. */
static void test_chunked_decoding(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "chunks", small_trace);
    struct replay_opts o = default_opts;
    o.chunk_words = 3; /* room for one or two records per chunk */
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    check_small_figures(&r);
    assert_true(r.decode_chunks >= 6);
    replay_result_free(&r);
    o.chunk_words = 0;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    assert_int_equal(r.decode_chunks, 1);
    replay_result_free(&r);
    trace_close(&l.t);
}

static void test_latency_and_checkpoints(void **state)
{
    (void)state;
    struct membuf b;
    membuf_init(&b);
    for (int i = 0; i < 5000; i++)
        membuf_printf(&b, "t0 malloc %d %d\nt0 free %d\n", i, 16 + i % 1000, i);
    struct loaded l;
    load_membuf(&l, "latency", &b);
    struct replay_opts o = default_opts;
    o.latency = 1;
    o.checkpoints = 100;
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    assert_non_null(r.lat);
    assert_int_equal(r.lat[TR_MALLOC].count, 5000);
    assert_int_equal(r.lat[TR_FREE].count, 5000);
    assert_int_equal(r.lat[TR_CALLOC].count, 0);
    const struct hist *h = &r.lat[TR_MALLOC];
    assert_true(hist_percentile(h, 50) <= hist_percentile(h, 99));
    assert_true(hist_percentile(h, 99) <= h->max);
    assert_true(r.tsc.ticks_per_ns > 0.1 && r.tsc.ticks_per_ns < 10);
    uint64_t op_samples = 0;
    for (uint64_t i = 0; i < r.n_samples; i++)
        op_samples += r.samples[i].event == EV_OPS;
    assert_int_equal(r.sample_interval, 100);
    assert_int_equal(op_samples, 100);
    replay_result_free(&r);
    trace_close(&l.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_trace_glibc),
        cmocka_unit_test(test_small_trace_dry),
        cmocka_unit_test(test_exact_calls),
        cmocka_unit_test(test_oversized_records),
        cmocka_unit_test(test_touch_pages_written),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_rss_follows_touch),
        cmocka_unit_test(test_idle_release),
        cmocka_unit_test(test_chunked_decoding),
        cmocka_unit_test(test_latency_and_checkpoints),
    };
    return cmocka_run_group_tests_name("replay", tests, setup, scratch_dir_teardown);
}
