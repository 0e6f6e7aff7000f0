/* test_gen_server.c - the server-style generators: kvserver, larson, prodcons.
 * Their shipped specs at smoke scale, determinism, the properties each promises
 * (kvserver's live-set bound and table capacity, cross-thread frees, prodcons's
 * remote-only frees and queue depth) and their refusals of bad parameters. */
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
    return scratch_dir_make("gen-server");
}

/* ---- every shipped spec, smoke scale ---- */

static void test_shipped(void **state)
{
    (void)state;
    static const char *const specs[] = {"workloads/kvserver.wl", "workloads/larson.wl", "workloads/prodcons.wl"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct trace t;
        struct trace_summary s;
        char err[SPEC_ERR_LEN];
        if (gen_file_to_trace(specs[i], 0.01, &t, &s, err) != 0)
            fail_msg("%s", err);
        assert_true(s.n_ops > 1000);
        assert_int_equal(s.final_live_objects, 0);
        assert_int_equal(s.threads_used, 2);
        assert_true(s.cross_thread_frees > 0);
        trace_close(&t);
    }
}

/* ---- determinism: same spec and seed, same bytes; another seed, other bytes ---- */

static const char *const small_specs[] = {
    "generator = kvserver\nclients = 50\ncapacity = 500\nkeyspace = 1000\nrequests = 5000\n",
    "generator = larson\nthreads = 3\nslots = 200\nops = 20000\nrounds = 5\nhandoff = new-thread\n",
    "generator = prodcons\nproducers = 2\nconsumers = 2\nmessages = 10000\ndepth = 300\n",
};

static void test_determinism(void **state)
{
    (void)state;
    gen_check_determinism(small_specs, sizeof small_specs / sizeof small_specs[0]);
}

/* ---- kvserver ---- */

/* Keys are the only objects under 32 bytes here, so the live ones are the table. */
#define KV_CAPACITY 2000
#define KV_SPEC(workers)                                                                                             \
    "generator = kvserver\nworkers = " workers "\nclients = 100\nsession_objects = 4\n"                             \
    "session_size = uniform 32..300\ncapacity = 2000\nkeyspace = 5000\nkey_size = uniform 16..31\n"                 \
    "value_size = lognormal 500,1.0 clamped 32..4000\nrequest_size = uniform 64..1K\n"                              \
    "response_size = uniform 32..512\nsets = 30%\ndeletes = 10%\nreconnect = 1%\nrequests = 60000\nbatch = 20\n"
/* capacity x (key + value max) + value max (an overwrite) + sessions + request + response */
#define KV_BOUND ((uint64_t)KV_CAPACITY * (31 + 4000) + 4000 + 100 * 4 * 300 + 1024 + 512)

struct kv_walk {
    uint64_t *size; /* per live id */
    uint64_t live, peak, entries, peak_entries, over;
};

static void kv_rec(const struct trace_rec *r, void *arg)
{
    struct kv_walk *w = arg;
    if (r->kind == TR_MALLOC) {
        w->size[r->id] = r->size;
        w->live += r->size;
        w->entries += r->size < 32;
    } else if (r->kind == TR_FREE) {
        w->live -= w->size[r->id];
        w->entries -= w->size[r->id] < 32;
    } else
        return;
    w->peak = w->live > w->peak ? w->live : w->peak;
    w->peak_entries = w->entries > w->peak_entries ? w->entries : w->peak_entries;
    w->over += w->live > KV_BOUND;
}

static void test_kvserver(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    gen_must("kv2", KV_SPEC("2"), 1, &t, &s);
    struct kv_walk w = {.size = calloc(s.n_objects, sizeof(uint64_t))};
    assert_non_null(w.size);
    trace_each(&t, kv_rec, &w);
    assert_int_equal(w.over, 0);
    assert_true(w.peak <= KV_BOUND);
    assert_int_equal(w.peak, s.peak_live_bytes);
    assert_int_equal(w.peak_entries, KV_CAPACITY); /* filled, never over */
    assert_int_equal(w.live, 0);
    /* 2 workers: dropped entries and rebuilt sessions are often another worker's */
    assert_true(s.cross_thread_frees > s.count[TR_FREE] / 50);
    assert_int_equal(s.threads_used, 2);
    assert_int_equal(s.count[TR_THREAD_EXIT], 1);
    assert_int_equal(s.count[TR_PHASE], 3);
    free(w.size);
    trace_close(&t);

    gen_must("kv1", KV_SPEC("1"), 1, &t, &s);
    assert_int_equal(s.cross_thread_frees, 0);
    assert_int_equal(s.threads_used, 1);
    trace_close(&t);

    /* random eviction keeps the same bounds */
    gen_must("kvr", KV_SPEC("3") "eviction = random\n", 1, &t, &s);
    struct kv_walk r = {.size = calloc(s.n_objects, sizeof(uint64_t))};
    assert_non_null(r.size);
    trace_each(&t, kv_rec, &r);
    assert_int_equal(r.over, 0);
    assert_int_equal(r.peak_entries, KV_CAPACITY);
    assert_int_equal(s.threads_used, 3);
    free(r.size);
    trace_close(&t);
}

/* ---- larson ---- */

static void test_larson(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    gen_must("larson", "generator = larson\nthreads = 4\nslots = 300\nops = 100000\nrounds = 10\n", 1, &t, &s);
    assert_int_equal(s.threads_used, 4);
    assert_int_equal(s.peak_live_objects, 4 * 300);
    /* warm-up by thread 0 for arrays 1..3, then about one array's worth per handoff */
    assert_true(s.cross_thread_frees >= 3 * 300);
    assert_true(s.cross_thread_frees > s.count[TR_FREE] / 20);
    assert_true(s.max_size <= 1000);
    trace_close(&t);

    gen_must("larson-new", "generator = larson\nthreads = 2\nslots = 100\nops = 20000\nrounds = 6\nhandoff = new-thread\n",
             1, &t, &s);
    assert_int_equal(s.threads_used, 1 + 6 * 2); /* the main thread and one per array per round */
    assert_int_equal(s.count[TR_THREAD_EXIT], 6 * 2);
    assert_true(s.cross_thread_frees >= 2 * 100);
    trace_close(&t);

    gen_must("larson-1", "generator = larson\nthreads = 1\nslots = 100\nops = 20000\n", 1, &t, &s);
    assert_int_equal(s.cross_thread_frees, 0);
    trace_close(&t);
}

/* ---- prodcons ---- */

struct pc_walk {
    uint32_t producers;
    uint64_t inflight, peak, bad_thread;
};

static void pc_rec(const struct trace_rec *r, void *arg)
{
    struct pc_walk *w = arg;
    if (r->kind == TR_MALLOC) {
        w->bad_thread += r->thread >= w->producers;
        w->peak = ++w->inflight > w->peak ? w->inflight : w->peak;
    } else if (r->kind == TR_FREE) {
        w->bad_thread += r->thread < w->producers;
        w->inflight--;
    }
}

static void test_prodcons(void **state)
{
    (void)state;
    struct trace t;
    struct trace_summary s;
    gen_must("pc", "generator = prodcons\nproducers = 2\nconsumers = 3\nmessages = 50000\ndepth = 500\nbatch = 40\n",
             1, &t, &s);
    struct pc_walk w = {.producers = 2};
    trace_each(&t, pc_rec, &w);
    assert_int_equal(s.count[TR_MALLOC], 50000);
    assert_int_equal(s.cross_thread_frees, s.count[TR_FREE]);
    assert_int_equal(s.count[TR_FREE], 50000);
    assert_int_equal(w.bad_thread, 0);
    assert_true(w.peak <= 500);
    assert_true(w.peak > 250); /* the fill wanders over the queue, not pinned near empty */
    assert_int_equal(s.threads_used, 5);
    trace_close(&t);

    gen_must("pc1", "generator = prodcons\nmessages = 3000\ndepth = 1\n", 1, &t, &s);
    assert_int_equal(s.cross_thread_frees, 3000);
    assert_int_equal(s.peak_live_objects, 1);
    trace_close(&t);
}

/* ---- bad parameters: refused with the file, the line and the key ---- */

static void test_bad_params(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"generator = kvserver\nworkers = 0\n", "bad.wl:2: workers: 0 is below the minimum 1"},
        {"generator = kvserver\ncapacity = 200\nkeyspace = 100\n", "bad.wl:2: capacity: "},
        {"generator = kvserver\nsets = 80%\ndeletes = 30%\n", "bad.wl:3: deletes: "},
        {"generator = kvserver\neviction = fifo\n", "bad.wl:2: eviction: "},
        {"generator = kvserver\nkey_size = uniform 300..100\n", "bad.wl:2: key_size: "},
        {"generator = kvserver\nreconnect = 2\n", "bad.wl:2: reconnect: "},
        {"generator = kvserver\nthreads = 2\n", "bad.wl:2: threads: unknown key"},
        {"generator = larson\nthreads = 0\n", "bad.wl:2: threads: 0 is below the minimum 1"},
        {"generator = larson\nsize = uniform 500..8\n", "bad.wl:2: size: "},
        {"generator = larson\nhandoff = sideways\n", "bad.wl:2: handoff: "},
        {"generator = larson\nthreads = 100\nrounds = 1000\nhandoff = new-thread\n", "bad.wl:3: rounds: "},
        {"generator = larson\nslots = 0\n", "bad.wl:2: slots: 0 is below the minimum 1"},
        {"generator = prodcons\nproducers = 0\n", "bad.wl:2: producers: 0 is below the minimum 1"},
        {"generator = prodcons\nconsumers = -1\n", "bad.wl:2: consumers: `-1`: must not be negative"},
        {"generator = prodcons\ndepth = 0\n", "bad.wl:2: depth: 0 is below the minimum 1"},
        {"generator = prodcons\nsize = lognormal 0,1 clamped 16..4K\n", "bad.wl:2: size: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        gen_expect_error(cases[i].text, cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped), cmocka_unit_test(test_determinism), cmocka_unit_test(test_kvserver),
        cmocka_unit_test(test_larson),  cmocka_unit_test(test_prodcons),    cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, setup, scratch_dir_teardown);
}
