/* test_replay_mt.c - the multi-thread replay engine (replay_mt.c) on hand-written
 * and generated multi-thread traces whose figures are known exactly: per-thread
 * ops, counts and cross-thread dependencies, live bytes at markers and at the end,
 * thread start/exit hooks, thread restarts, traces where thread 0 has no ops, a
 * producer/consumer trace where every op depends on the other thread, allocation
 * failure while another thread waits, and the thread limit. Runs in-process
 * against glibc, --dry, and a counting stub; also built with TSan and ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scratch_dir.h"
#include "loaded_trace.h"

#include "../harness/membuf.h"
#include "../harness/mtstream.h"
#include "../harness/replay.h"
#include "../harness/trace.h"

static int setup(void **state)
{
    (void)state;
    return scratch_dir_make("test-replay-mt");
}

/* ---- a thread-safe counting stub on top of libc malloc ---- */

static atomic_int st_thread_inits, st_thread_exits, st_mallocs, st_fail_at = -1;

static void *st_malloc(size_t n)
{
    if (atomic_fetch_add(&st_mallocs, 1) == atomic_load(&st_fail_at))
        return NULL;
    return malloc(n ? n : 1);
}
static void st_free(void *p, size_t n) { (void)n; free(p); }
static void *st_calloc(size_t n, size_t s) { return calloc(n ? n : 1, s ? s : 1); }
static void *st_realloc(void *p, size_t o, size_t n) { (void)o; return realloc(p, n); }
static void *st_aligned(size_t a, size_t n) { return aligned_alloc(a, (n + a - 1) / a * a + a); }
static void st_thread_init(void) { atomic_fetch_add(&st_thread_inits, 1); }
static void st_thread_exit(void) { atomic_fetch_add(&st_thread_exits, 1); }

static const struct allocator stub = {
    .name = "stub", .malloc = st_malloc, .free = st_free, .calloc = st_calloc, .realloc = st_realloc,
    .aligned_alloc = st_aligned, .thread_init = st_thread_init, .thread_exit = st_thread_exit,
};

static void stub_reset(void)
{
    st_thread_inits = st_thread_exits = st_mallocs = 0;
    st_fail_at = -1;
}

static const struct thread_stat *thread_of(const struct replay_result *r, uint32_t thread)
{
    for (uint64_t i = 0; i < r->n_threads; i++)
        if (r->threads[i].thread == thread)
            return &r->threads[i];
    fail_msg("no figures for thread %u", thread);
    return NULL;
}

static void check_monotonic_samples(const struct replay_result *r)
{
    assert_true(r->n_samples >= 2);
    assert_int_equal(r->samples[0].event, EV_START);
    assert_int_equal(r->samples[r->n_samples - 1].event, EV_END);
    for (uint64_t i = 1; i < r->n_samples; i++) {
        assert_true(r->samples[i].t_ns >= r->samples[i - 1].t_ns);
        assert_true(r->samples[i].op >= r->samples[i - 1].op);
    }
}

/* Three threads; t2 exits and starts again; cross-thread frees and a realloc.
 * Object 4 reuses the dense id of object 1, which t1 freed, but not its slot
 * (slots a thread frees stay with it: mtstream.c), so that is no dependency.
 * live after each op: 100, 164 | 214, 114, 124, 144 | idle | 1144, 1151, 151, 87, 77 */
static const char trace_three[] = "t0 malloc 1 100\n"
                                  "t0 calloc 2 4 16\n"
                                  "phase two\n"
                                  "t1 malloc 3 50\n"
                                  "t1 free 1\n"
                                  "t2 aligned 4 64 10\n"
                                  "t0 realloc 3 70\n"
                                  "idle 5\n"
                                  "t2 exit\n"
                                  "t0 malloc 5 1000\n"
                                  "t2 malloc 6 7\n"
                                  "t2 free 5\n"
                                  "t1 free 2\n"
                                  "t2 free 4\n";

static void check_three(const struct replay_result *r)
{
    assert_string_equal(r->error, "");
    assert_int_equal(r->ops, 11);
    assert_int_equal(r->records, 17);
    assert_int_equal(r->final_live_bytes, 77);
    assert_int_equal(r->peak_live_bytes, 1151);
    assert_int_equal(r->peak_live_objects, 5);
    assert_int_equal(r->n_threads, 3);
    assert_int_equal(r->dep_ops, 4);
    assert_true(r->waited_ops <= r->dep_ops);

    const struct thread_stat *t0 = thread_of(r, 0), *t1 = thread_of(r, 1), *t2 = thread_of(r, 2);
    assert_int_equal(t0->ops, 4);
    assert_int_equal(t0->count[TR_MALLOC], 2);
    assert_int_equal(t0->count[TR_CALLOC], 1);
    assert_int_equal(t0->count[TR_REALLOC], 1);
    assert_int_equal(t0->dep_ops, 1); /* the realloc of t1's object 3 */
    assert_int_equal(t0->live_delta, 1184);
    assert_int_equal(t0->starts, 0);
    assert_int_equal(t1->ops, 3);
    assert_int_equal(t1->count[TR_MALLOC], 1);
    assert_int_equal(t1->count[TR_FREE], 2);
    assert_int_equal(t1->dep_ops, 2);
    assert_int_equal(t1->live_delta, -114);
    assert_int_equal(t1->starts, 1);
    assert_int_equal(t2->ops, 4);
    assert_int_equal(t2->count[TR_ALIGNED], 1);
    assert_int_equal(t2->count[TR_MALLOC], 1);
    assert_int_equal(t2->count[TR_FREE], 2);
    assert_int_equal(t2->dep_ops, 1); /* the free of t0's object 5; the aligned takes a fresh slot */
    assert_int_equal(t2->live_delta, -993);
    assert_int_equal(t2->starts, 2);
    assert_int_equal(t2->exits, 1);
    for (uint64_t i = 0; i < r->n_threads; i++) {
        const struct thread_stat *st = &r->threads[i];
        assert_true(st->busy_ns <= st->wall_ns);
        assert_true(st->cpu_ns > 0);
        assert_true(st->waited_ops <= st->dep_ops);
    }

    /* markers are barriers: exact figures there */
    assert_int_equal(r->n_idles, 1);
    assert_int_equal(r->idles[0].op, 6);
    assert_int_equal(r->idles[0].live, 144);
    assert_int_equal(r->idles[0].ms, 5);
    assert_int_equal(r->n_phases, 2);
    assert_string_equal(r->phases[0].name, "start");
    assert_int_equal(r->phases[0].ops, 2);
    assert_int_equal(r->phases[0].live_end, 164);
    assert_string_equal(r->phases[1].name, "two");
    assert_int_equal(r->phases[1].first_op, 2);
    assert_int_equal(r->phases[1].ops, 9);
    assert_int_equal(r->phases[1].live_end, 77);
    assert_true(r->excluded_ns >= 5000000); /* the idle sleep */
    check_monotonic_samples(r);
}

static void test_three_threads_glibc(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "three", trace_three);
    assert_int_equal(l.s.threads_used, 3);
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &default_opts, &r), 0);
    check_three(&r);
    assert_int_equal(r.stats_rc, 0);
    replay_result_free(&r);
    trace_close(&l.t);
}

static void test_three_threads_dry_latency(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "three-dry", trace_three);
    struct replay_opts o = default_opts;
    o.dry = 1;
    o.latency = 1;
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &o, &r), 0);
    check_three(&r);
    assert_int_equal(r.stats_rc, -1);
    assert_non_null(r.lat);
    assert_int_equal(r.lat[TR_FREE].count, 4);
    assert_int_equal(r.lat[TR_MALLOC].count, 4);
    for (uint64_t i = 0; i < r.n_threads; i++) {
        const struct thread_stat *st = &r.threads[i];
        assert_non_null(st->lat);
        for (unsigned k = TR_MALLOC; k <= TR_FREE; k++)
            assert_int_equal(st->lat[k].count, st->count[k]);
    }
    replay_result_free(&r);
    trace_close(&l.t);
}

/* thread_init where a thread starts (and for thread 0 at the beginning),
 * thread_exit where it exits; the leftovers are freed with the right objects. */
static void test_thread_hooks(void **state)
{
    (void)state;
    stub_reset();
    struct loaded l;
    load_text(&l, "hooks", trace_three);
    struct replay_opts o = default_opts;
    o.release_at_idle = 1; /* the stub has no release: skipped */
    struct replay_result r;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &o, &r), 0);
    check_three(&r);
    assert_int_equal(st_thread_inits, 4); /* t0, t1, t2 twice */
    assert_int_equal(st_thread_exits, 1);
    assert_int_equal(st_mallocs, 4);
    replay_result_free(&r);

    stub_reset();
    o.dry = 1; /* the allocator is never called, hooks included */
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &o, &r), 0);
    assert_int_equal(st_thread_inits, 0);
    assert_int_equal(st_mallocs, 0);
    replay_result_free(&r);
    trace_close(&l.t);
}

/* Thread 0 has no ops (markers are still on it); the replay threads are t1 and t2. */
static void test_thread0_without_ops(void **state)
{
    (void)state;
    struct loaded l;
    load_text(&l, "no-t0", "phase a\n"
                           "t1 malloc 1 10\n"
                           "t2 malloc 2 20\n"
                           "phase b\n"
                           "t2 free 1\n"
                           "t1 free 2\n"
                           "t1 malloc 3 30\n"
                           "idle 1\n"
                           "t2 realloc 3 40\n");
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &default_opts, &r), 0);
    assert_string_equal(r.error, "");
    assert_int_equal(r.n_threads, 2);
    assert_int_equal(r.threads[0].thread, 1);
    assert_int_equal(r.threads[1].thread, 2);
    assert_int_equal(r.ops, 6);
    assert_int_equal(r.final_live_bytes, 40);
    assert_int_equal(r.n_phases, 2); /* the empty opening phase is dropped */
    assert_string_equal(r.phases[0].name, "a");
    assert_int_equal(r.phases[0].ops, 2);
    assert_int_equal(r.phases[1].ops, 4);
    assert_int_equal(r.idles[0].op, 5);
    assert_int_equal(r.idles[0].live, 30);
    assert_int_equal(thread_of(&r, 1)->ops, 3);
    assert_int_equal(thread_of(&r, 2)->ops, 3);
    /* t2 frees t1's 1; t1 frees t2's 2; t1's malloc 3 reuses the id t1 freed (no wait);
     * t2's realloc of t1's 3 */
    assert_int_equal(r.dep_ops, 3);
    replay_result_free(&r);
    trace_close(&l.t);
}

/* Producer/consumer: t1 allocates, t2 reallocs every 4th and frees all but the
 * last `lag` objects, so every free is remote and the producer reuses the ids
 * the consumer freed. Returns the final live bytes. */
#define PC_N 20000
#define PC_LAG 32
static uint64_t pc_size(int i) { return 16 + (uint64_t)(i * 37) % 2000; }

static uint64_t prodcons_trace(struct membuf *b)
{
    membuf_init(b);
    membuf_printf(b, "phase run\n");
    for (int i = 0; i < PC_N; i++) {
        membuf_printf(b, "t1 malloc %d %llu\n", i % 64, (unsigned long long)pc_size(i));
        int j = i - PC_LAG;
        if (j >= 0) {
            if (j % 4 == 0)
                membuf_printf(b, "t2 realloc %d %llu\n", j % 64, (unsigned long long)pc_size(j) + 100);
            membuf_printf(b, "t2 free %d\n", j % 64);
        }
        if (i == PC_N / 2)
            membuf_printf(b, "idle 1\nphase second\n");
    }
    uint64_t live = 0;
    for (int j = PC_N - PC_LAG; j < PC_N; j++)
        live += pc_size(j);
    return live;
}

static void test_producer_consumer(void **state)
{
    (void)state;
    struct membuf b;
    uint64_t live = prodcons_trace(&b);
    struct loaded l;
    load_membuf(&l, "prodcons", &b);
    static const struct replay_opts variants[] = {
        { .touch = TOUCH_PAGES, .checkpoints = 1000 },
        { .touch = TOUCH_FULL, .checkpoints = 7 },
        { .dry = 1, .touch = TOUCH_NONE, .checkpoints = 1000 },
        { .latency = 1, .touch = TOUCH_NONE, .checkpoints = 100 },
    };
    for (unsigned v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        struct replay_result r;
        assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &variants[v], &r), 0);
        assert_string_equal(r.error, "");
        assert_int_equal(r.final_live_bytes, live);
        assert_int_equal(r.final_live_bytes, l.s.final_live_bytes);
        assert_int_equal(r.ops, l.s.n_ops);
        const struct thread_stat *p = thread_of(&r, 1), *c = thread_of(&r, 2);
        assert_int_equal(r.dep_ops, p->dep_ops + c->dep_ops);
        assert_int_equal(p->ops, PC_N);
        assert_int_equal(p->count[TR_MALLOC], PC_N);
        assert_int_equal(c->count[TR_FREE], PC_N - PC_LAG);
        assert_int_equal(c->count[TR_REALLOC], (PC_N - PC_LAG + 3) / 4);
        /* each object: the consumer's first op on it waits for the producer */
        assert_int_equal(c->dep_ops, c->count[TR_FREE]);
        /* The consumer keeps its last MTS_RING freed slots; older ones go to the
         * shared pool, and the producer, which frees nothing, takes each of them
         * (waiting for its free) from malloc PC_LAG + MTS_RING + 1 on: before
         * that it takes fresh slots. */
        assert_int_equal(p->dep_ops, PC_N - PC_LAG - MTS_RING - 1);
        assert_int_equal(p->live_delta + c->live_delta, (int64_t)live);
        assert_int_equal(r.n_idles, 1);
        assert_int_equal(r.idles[0].op, PC_N / 2 + 1 + (PC_N / 2 + 1 - PC_LAG) + (PC_N / 2 + 1 - PC_LAG + 3) / 4);
        check_monotonic_samples(&r);
        replay_result_free(&r);
    }
    trace_close(&l.t);
}

/* An allocation fails on one thread while the other waits for it: no hang, the
 * error names the thread. */
static void test_failure_while_waiting(void **state)
{
    (void)state;
    stub_reset();
    st_fail_at = 3;
    struct membuf b;
    prodcons_trace(&b);
    struct loaded l;
    load_membuf(&l, "fail", &b);
    struct replay_opts o = default_opts;
    o.touch = TOUCH_NONE;
    struct replay_result r;
    assert_int_equal(replay_run(&stub, &l.t, &l.s, &o, &r), -1);
    assert_non_null(strstr(r.error, "thread 1, its op 3: malloc of"));
    assert_int_equal(r.failed_op, 3);
    assert_true(r.ops < l.s.n_ops);
    replay_result_free(&r);
    trace_close(&l.t);
}

/* The op-stream decoder: slots renamed per thread (fresh ones in runs of 8 of
 * a thread's own), waits where the slot's last op was on another thread,
 * streams in trace order. */
static void test_stream_layout(void **state)
{
    (void)state;
    struct membuf b;
    membuf_init(&b);
    for (int i = 0; i < 40; i++) /* interleaved: t0 and t1 take turns */
        membuf_printf(&b, "t%d malloc %d 16\n", i % 2, i);
    membuf_printf(&b, "t1 free 0\nphase x\nt0 malloc 100 8589934592\n");
    struct loaded l;
    load_membuf(&l, "layout", &b);
    struct mtstream m;
    char err[256];
    assert_int_equal(mtstream_build(&m, &l.t, err, sizeof err), 0);
    assert_int_equal(m.n_threads, 2);
    assert_int_equal(m.n_markers, 1);
    assert_int_equal(m.n_slots, 48); /* each thread: 3 runs of 8 for its 20 + 1 objects */
    const struct mts_thread *t0 = &m.threads[0], *t1 = &m.threads[1];
    assert_int_equal(t0->ops, 21);
    assert_int_equal(t1->ops, 21);
    assert_int_equal(t1->dep_ops, 1);
    assert_int_equal(t0->dep_ops, 0);
    /* runs alternate as the threads need them: t0 0..7, t1 8..15, t0 16..23, ... */
    for (int k = 0; k < 20; k++) {
        assert_int_equal(ops_kind(t0->words[k]), TR_MALLOC);
        assert_int_equal(ops_id(t0->words[k]), (k / 8) * 16 + k % 8);
        assert_int_equal(ops_id(t1->words[2 + k]), (k / 8) * 16 + 8 + k % 8); /* after t1's start escape */
    }
    /* t1: start escape, 20 mallocs, the wait + free of t0's object 0, the marker */
    assert_int_equal(t1->words[0], OPS_ESCAPE);
    assert_int_equal(ops_kind(t1->words[22]), MTS_WAIT);
    assert_int_equal(t1->words[23], 1); /* one op on that slot before */
    assert_int_equal(ops_kind(t1->words[24]), TR_FREE);
    assert_int_equal(ops_id(t1->words[24]), 0);
    assert_int_equal(t1->words[25], OPS_ESCAPE);
    assert_int_equal(t1->n_words, 27);
    /* t0: 20 mallocs, the marker, then the long form (size over 32 bits). The
     * slot t1 freed stays in t1's ring, so t0 takes its next fresh slot (36)
     * and waits for nobody, though the trace reuses object 0's id. */
    assert_int_equal(t0->words[20], OPS_ESCAPE);
    assert_int_equal(t0->words[22], MTS_LONG | (uint64_t)TR_MALLOC << 3);
    assert_int_equal(t0->words[23], 36);
    assert_int_equal(t0->words[24], 8589934592ull);
    assert_int_equal(t0->n_words, 26);
    mtstream_free(&m);
    trace_close(&l.t);
}

/* A thread's ring holds MTS_RING freed slots; the oldest beyond it go to the
 * shared pool, where another thread takes them oldest first, waiting for the
 * free. */
static void test_stream_shared_pool(void **state)
{
    (void)state;
    struct membuf b;
    membuf_init(&b);
    const int n = MTS_RING + 3;
    for (int i = 0; i < n; i++)
        membuf_printf(&b, "t0 malloc %d 16\n", i);
    for (int i = 0; i < n; i++)
        membuf_printf(&b, "t1 free %d\n", i);
    for (int i = 0; i < 4; i++) /* 3 from the pool (objects 0, 1, 2's slots), then fresh */
        membuf_printf(&b, "t0 malloc %d 32\n", n + i);
    membuf_printf(&b, "t1 malloc %d 8\n", 2 * n); /* t1's own newest freed slot: no wait */
    struct loaded l;
    load_membuf(&l, "pool", &b);
    struct mtstream m;
    char err[256];
    assert_int_equal(mtstream_build(&m, &l.t, err, sizeof err), 0);
    const struct mts_thread *t0 = &m.threads[0], *t1 = &m.threads[1];
    assert_int_equal(t1->dep_ops, (uint64_t)n);
    assert_int_equal(t0->dep_ops, 3);
    const uint64_t *w = t0->words + n;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ops_kind(w[3 * i]), MTS_WAIT);
        assert_int_equal(w[3 * i + 1], 2); /* malloc and free on it before */
        assert_int_equal(ops_id(w[3 * i + 2]), (uint64_t)i);
    }
    assert_int_equal(ops_kind(w[9]), TR_MALLOC);
    assert_int_equal(ops_id(w[9]), (uint64_t)n); /* the next fresh slot of t0's run */
    const uint64_t *last = t1->words + t1->n_words - 1;
    assert_int_equal(ops_kind(*last), TR_MALLOC);
    assert_int_equal(ops_id(*last), (uint64_t)n - 1); /* the slot t1 freed last */
    mtstream_free(&m);
    trace_close(&l.t);
}

static void test_too_many_threads(void **state)
{
    (void)state;
    struct membuf b;
    membuf_init(&b);
    for (unsigned i = 0; i <= MTS_MAX_THREADS; i++)
        membuf_printf(&b, "t%u malloc %u 8\n", i, i);
    struct loaded l;
    load_membuf(&l, "threads", &b);
    struct replay_result r;
    assert_int_equal(replay_run(&allocator_under_test, &l.t, &l.s, &default_opts, &r), -1);
    assert_non_null(strstr(r.error, "1025 threads have ops; multi-thread replay runs at most 1024"));
    replay_result_free(&r);
    trace_close(&l.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_threads_glibc),
        cmocka_unit_test(test_three_threads_dry_latency),
        cmocka_unit_test(test_thread_hooks),
        cmocka_unit_test(test_thread0_without_ops),
        cmocka_unit_test(test_producer_consumer),
        cmocka_unit_test(test_failure_while_waiting),
        cmocka_unit_test(test_stream_layout), cmocka_unit_test(test_stream_shared_pool),
        cmocka_unit_test(test_too_many_threads),
    };
    return cmocka_run_group_tests_name("replay_mt", tests, setup, scratch_dir_teardown);
}
