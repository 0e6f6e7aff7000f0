/* test_slab_threads.c - multi-thread stress of the slab allocator with
 * cross-thread frees, built three ways by the Makefile: plain, under
 * ThreadSanitizer and under AddressSanitizer + UBSan (the slab sources built the
 * same way, from source).
 *
 * NT threads form a ring: each allocates blocks and passes them to the next
 * through a single-producer single-consumer queue, and frees the blocks its
 * neighbour passed it (a cross-thread free: the chunk joins the freeing
 * thread's magazine, or its class, not the allocating thread's), while it also
 * churns blocks of its own (malloc, calloc, aligned, realloc, sized and unsized
 * free). Every block is pattern-filled and verified before it is freed. Now and
 * then a thread hands a block to the main thread, which keeps some across rounds.
 * The main thread meanwhile allocates and frees too, and calls slab_trim.
 *
 * Threads are created and joined in rounds, so thread exit (the magazines given
 * back) happens many times; after each round, with every worker joined and
 * slab_trim called, the chunks in use must be exactly the small blocks the main
 * thread still holds, with nothing left in any magazine, and the live large
 * blocks exactly its large ones.
 *
 * slab_owns and slab_stats run concurrently with the workers too, except under
 * TSan, where they are known data races (see the last test).
 *
 * A second stress, producer/consumer, is the depot's: producers allocate and
 * pass every block to their consumer, which frees most of them and sends a
 * quarter back to be freed by the producer, so whole magazines keep moving
 * between threads through the classes' depots (small magazines and depots,
 * so exchanges and a depot at its bound happen all the time), while the
 * main thread trims (emptying the depots under the threads' feet) and reads
 * the stats, checking the depot never holds more than its bound.
 *
 * A failure inside a worker prints what broke and aborts (a cmocka assertion
 * cannot leave a thread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "slab_test_util.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#if defined(__SANITIZE_THREAD__)
#define OPS_PER_THREAD 12000 /* TSan runs ~10x slower */
#define ROUNDS 3
#elif defined(__SANITIZE_ADDRESS__)
#define OPS_PER_THREAD 30000
#define ROUNDS 4
#else
#define OPS_PER_THREAD 100000
#define ROUNDS 5
#endif

/* Built against the debug build too (build/debug/): there a block takes the
 * large path from max_class - 8 up (room for its 8-byte canary). */
#ifndef SLAB_DEBUG
#define SLAB_DEBUG 0
#endif
#define CANARY ((size_t)(SLAB_DEBUG ? 8 : 0))

#define NT 4
#define RING 256
#define LOCAL_MAX 512
#define KEEP_MAX 4096
#define MAIN_MAX 8192
#define HDR 24 /* size, tag, size ^ tag ^ HDR_MAGIC */
#define HDR_MAGIC UINT64_C(0x5eed5eed5eed5eed)
#define STACK_BYTES ((size_t)1 << 20)

/* ---- a block that describes itself: [size][tag][check] then the pattern ---- */

static void die(const char *what, const void *p, size_t size)
{
    fprintf(stderr, "test_slab_threads: %s (block %p, %zu bytes)\n", what, p, size);
    abort();
}

static void stamp(void *q, size_t size, uint64_t tag)
{
    uint64_t h[3] = { size, tag, size ^ tag ^ HDR_MAGIC };
    memcpy(q, h, sizeof h);
    pat_fill((char *)q + HDR, size - HDR, tag);
}

/* Verify a block; returns its size. */
static size_t check(struct slab_pool *p, const void *q, size_t want_size)
{
    uint64_t h[3];
    memcpy(h, q, sizeof h);
    if ((h[0] ^ h[1] ^ HDR_MAGIC) != h[2])
        die("header overwritten", q, h[0]);
    if (want_size && h[0] != want_size)
        die("size in the header changed", q, h[0]);
    if (pat_find_bad((const char *)q + HDR, h[0] - HDR, h[1]) != SIZE_MAX)
        die("pattern broken: overlap or corruption", q, h[0]);
    if (slab_usable_size(p, (void *)q) < h[0])
        die("usable size below the size", q, h[0]);
    return h[0];
}

/* ---- the ring of queues ---- */

struct queue {
    _Alignas(64) atomic_size_t head;
    _Alignas(64) atomic_size_t tail;
    void *slot[RING];
};

static int q_push(struct queue *q, void *item)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (t - atomic_load_explicit(&q->head, memory_order_acquire) == RING)
        return 0;
    q->slot[t % RING] = item;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return 1;
}

static void *q_pop(struct queue *q)
{
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (h == atomic_load_explicit(&q->tail, memory_order_acquire))
        return NULL;
    void *item = q->slot[h % RING];
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return item;
}

/* ---- shared state of one run ---- */

struct run {
    struct slab_pool *pool;
    size_t max_class;
    struct queue queues[NT]; /* queue i: thread i -> thread (i + 1) % NT */
    atomic_int done[NT];
    atomic_int workers_running;
    pthread_mutex_t keep_lock;
    void *keep[KEEP_MAX]; /* blocks handed to the main thread */
    size_t n_keep;
    atomic_uint_fast64_t passed, cross_freed, local_ops;
    int racy; /* workers call slab_owns, main calls slab_stats, while all run */
};

static struct run R;

struct local {
    void *p;
    size_t size;
    int sized_ok;
};

static unsigned large_pct = 1; /* percent of blocks above 4 KiB (the large path) */

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = rng_below(rng, 100);
    if (r >= 100 - large_pct)
        return rng_range(rng, 4097, 100000);
    if (r < 45)
        return rng_range(rng, HDR, 128);
    if (r < 75)
        return rng_range(rng, 129, 1024);
    return rng_range(rng, 1025, 4096);
}

static void *new_block(struct slab_pool *p, size_t size, uint64_t tag)
{
    void *q = slab_alloc(p, size);
    if (!q)
        die("allocation failed", NULL, size);
    if ((uintptr_t)q % 16)
        die("not 16-byte aligned", q, size);
    stamp(q, size, tag);
    return q;
}

static void free_checked(struct slab_pool *p, void *q, size_t want_size, int sized_ok, uint64_t *rng)
{
    size_t size = check(p, q, want_size);
    if (sized_ok && rng_below(rng, 2))
        slab_free_sized(p, q, size);
    else
        slab_free(p, q);
}

struct worker_arg {
    unsigned id;
    uint64_t seed;
};

static void *worker(void *varg)
{
    const struct worker_arg *a = varg;
    struct slab_pool *p = R.pool;
    uint64_t rng = a->seed, tag = a->seed << 32;
    struct queue *out = &R.queues[a->id], *in = &R.queues[(a->id + NT - 1) % NT];
    unsigned upstream = (a->id + NT - 1) % NT;
    struct local live[LOCAL_MAX];
    size_t n = 0;
    uint64_t passed = 0, cross = 0;

    for (unsigned op = 0; op < OPS_PER_THREAD; op++) {
        /* what the neighbour passed: verify, free here */
        for (int k = 0; k < 2; k++) {
            void *q = q_pop(in);
            if (!q)
                break;
            free_checked(p, q, 0, 1, &rng);
            cross++;
        }
        uint64_t r = rng_below(&rng, 100);
        if (r < 25) { /* pass one on */
            size_t size = pick_size(&rng);
            void *q = new_block(p, size, ++tag);
            if (q_push(out, q))
                passed++;
            else if (n < LOCAL_MAX)
                live[n++] = (struct local){ q, size, 1 };
            else
                free_checked(p, q, size, 1, &rng);
        } else if (r < 60 && n < LOCAL_MAX) { /* one of our own */
            size_t size = pick_size(&rng);
            void *q;
            int sized_ok = 1;
            uint64_t how = rng_below(&rng, 10);
            if (how < 6) {
                q = new_block(p, size, ++tag);
            } else if (how < 8) {
                q = slab_calloc(p, 1, size);
                if (!q)
                    die("calloc failed", NULL, size);
                if (find_nonzero(q, size) != SIZE_MAX)
                    die("calloc block not zero", q, size);
                stamp(q, size, ++tag);
            } else {
                size_t align = (size_t)32 << rng_below(&rng, 8); /* 32..4096 */
                q = slab_aligned_alloc(p, align, size);
                if (!q || (uintptr_t)q % align)
                    die("aligned allocation failed or misaligned", q, size);
                stamp(q, size, ++tag);
                sized_ok = 0;
            }
            live[n++] = (struct local){ q, size, sized_ok };
        } else if (r < 90 && n) { /* free one of ours */
            size_t i = rng_below(&rng, n);
            free_checked(p, live[i].p, live[i].size, live[i].sized_ok, &rng);
            live[i] = live[--n];
        } else if (n) { /* realloc one of ours */
            size_t i = rng_below(&rng, n);
            size_t old = check(p, live[i].p, live[i].size), size = pick_size(&rng);
            uint64_t old_tag;
            memcpy(&old_tag, (char *)live[i].p + 8, 8);
            char *q = slab_realloc(p, live[i].p, size);
            if (!q)
                die("realloc failed", live[i].p, size);
            size_t keep = (old < size ? old : size) - HDR;
            if (pat_find_bad(q + HDR, keep, old_tag) != SIZE_MAX)
                die("realloc lost bytes", q, size);
            stamp(q, size, ++tag);
            live[i] = (struct local){ q, size, 0 };
        }
        if (R.racy && op % 997 == 0 && n) {
            size_t i = rng_below(&rng, n);
            if (!slab_owns(p, live[i].p))
                die("slab_owns says no for a live block", live[i].p, live[i].size);
        }
        if (op % 2003 == 0 && n) { /* to the main thread, which frees it later */
            size_t i = rng_below(&rng, n);
            pthread_mutex_lock(&R.keep_lock);
            if (R.n_keep < KEEP_MAX) {
                R.keep[R.n_keep++] = live[i].p;
                live[i] = live[--n];
            }
            pthread_mutex_unlock(&R.keep_lock);
        }
    }
    atomic_store_explicit(&R.done[a->id], 1, memory_order_release);
    /* Drain until the neighbour is done and its queue empty. */
    for (;;) {
        void *q = q_pop(in);
        if (q) {
            free_checked(p, q, 0, 1, &rng);
            cross++;
            continue;
        }
        if (atomic_load_explicit(&R.done[upstream], memory_order_acquire)) {
            if ((q = q_pop(in)) != NULL) {
                free_checked(p, q, 0, 1, &rng);
                cross++;
                continue;
            }
            break;
        }
        sched_yield();
    }
    while (n) {
        n--;
        free_checked(p, live[n].p, live[n].size, live[n].sized_ok, &rng);
    }
    atomic_fetch_add(&R.passed, passed);
    atomic_fetch_add(&R.cross_freed, cross);
    return NULL; /* thread exit gives this thread's magazines back */
}

/* ---- the main thread ---- */

struct mainblk {
    void *p;
    size_t size;
};

static struct mainblk mains[MAIN_MAX];
static size_t n_main;
static pthread_attr_t attr;

static void main_add(void *q)
{
    assert_true(n_main < MAIN_MAX);
    size_t size;
    memcpy(&size, q, sizeof size);
    mains[n_main++] = (struct mainblk){ q, size };
}

static void main_free(size_t i)
{
    size_t size = check(R.pool, mains[i].p, mains[i].size);
    assert_int_equal(size, mains[i].size);
    slab_free(R.pool, mains[i].p);
    mains[i] = mains[--n_main];
}

/* With every worker joined and slab_trim done: the pool holds exactly the main
 * thread's blocks. */
static void check_quiet(const char *opts, unsigned round)
{
    struct slab_stats s;
    slab_trim(R.pool);
    slab_stats(R.pool, &s);
    uint64_t in_use = 0, in_mag = 0, small = 0, large = 0;
    for (unsigned c = 0; c < s.n_classes; c++) {
        in_use += s.cls[c].in_use;
        in_mag += s.cls[c].in_magazines;
    }
    for (size_t i = 0; i < n_main; i++) {
        if (mains[i].size > R.max_class - CANARY)
            large++;
        else
            small++;
    }
    if (in_use != small || in_mag != 0 || s.large_count != large)
        fail_msg("[%s] round %u: in use %llu (in magazines %llu), large %zu; main holds %llu small, %llu large", opts,
                 round, (unsigned long long)in_use, (unsigned long long)in_mag, s.large_count,
                 (unsigned long long)small, (unsigned long long)large);
    for (unsigned i = 0; i < NT; i++)
        assert_null(q_pop(&R.queues[i]));
}

static void run_threads(const char *opts, uint64_t seed, int racy)
{
    memset(&R, 0, sizeof R);
    R.racy = racy;
    n_main = 0;
    pthread_mutex_init(&R.keep_lock, NULL);
    size_t vm_before = vm_size();
    R.pool = pool_from(opts);
    struct slab_stats s;
    slab_stats(R.pool, &s);
    R.max_class = s.cls[s.n_classes - 1].size;
    uint64_t rng = seed, tag = 1;
    uint64_t t0 = now_ms();
    for (unsigned round = 0; round < ROUNDS; round++) {
        pthread_t th[NT];
        struct worker_arg args[NT];
        for (unsigned i = 0; i < NT; i++) {
            atomic_store(&R.done[i], 0);
            args[i] = (struct worker_arg){ i, seed * 1000 + round * NT + i + 1 };
            assert_int_equal(pthread_create(&th[i], &attr, worker, &args[i]), 0);
        }
        /* The main thread works alongside: its own blocks, and slab_trim now and then. */
        for (unsigned k = 0; k < 200; k++) {
            if (n_main < MAIN_MAX / 2 && rng_below(&rng, 3)) {
                size_t size = pick_size(&rng);
                main_add(new_block(R.pool, size, ++tag));
            } else if (n_main) {
                main_free(rng_below(&rng, n_main));
            }
            if (k % 40 == 0)
                slab_trim(R.pool);
            if (R.racy) {
                struct slab_stats st;
                slab_stats(R.pool, &st);
                for (unsigned c = 0; c < st.n_classes; c++)
                    if (st.cls[c].size != s.cls[c].size)
                        fail_msg("class %u: %zu bytes, was %zu", c, st.cls[c].size, s.cls[c].size);
            }
            sched_yield();
        }
        for (unsigned i = 0; i < NT; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        /* The blocks the workers handed over: verify, keep about half. */
        for (size_t i = 0; i < R.n_keep; i++) {
            size_t size = check(R.pool, R.keep[i], 0);
            if (i % 2 && n_main < MAIN_MAX) {
                main_add(R.keep[i]);
                assert_int_equal(mains[n_main - 1].size, size);
            } else {
                slab_free(R.pool, R.keep[i]);
            }
        }
        R.n_keep = 0;
        check_quiet(opts, round);
    }
    uint64_t ms = now_ms() - t0;
    assert_true(atomic_load(&R.passed) > 1000);
    assert_int_equal(atomic_load(&R.passed), atomic_load(&R.cross_freed));
    print_message("[%s] %u rounds x %u threads x %u ops in %llu ms: %llu blocks passed and freed across threads, "
                  "main holds %zu\n",
                  opts, ROUNDS, NT, OPS_PER_THREAD, (unsigned long long)ms, (unsigned long long)atomic_load(&R.passed),
                  n_main);
    while (n_main)
        main_free(n_main - 1);
    check_quiet(opts, ROUNDS);
    slab_stats(R.pool, &s);
    assert_int_equal(s.committed, s.prealloc);
    slab_destroy(R.pool);
    pthread_mutex_destroy(&R.keep_lock);
#if !SANITIZED
    assert_int_equal(vm_size(), vm_before); /* every mapping of the pool is gone */
#else
    (void)vm_before;
#endif
}

static void test_threads_default(void **state)
{
    (void)state;
    run_threads("", 1, 1);
}

static void test_threads_small_magazine(void **state)
{
    (void)state;
    run_threads("magazine=2", 2, 1);
}

static void test_threads_locked(void **state)
{
    (void)state;
    run_threads("thread_cache=0", 3, 1);
}

/* Slabs emptied go back to the OS at once, and the tick thread releases too,
 * while the workers allocate: release races with reuse. */
static void test_threads_release_at_once(void **state)
{
    (void)state;
    run_threads("prealloc=2M,idle_ms=0,tick_thread=1,magazine=16,classes=32:48:96:240:512:1024:2048:4096", 4, 1);
}

/* The large cache under cross-thread frees: a fifth of the blocks are large,
 * freed on other threads into a cache small enough (1 MiB) to evict all the
 * time, reused by every thread, expiring after 20 ms (the tick thread and the
 * free path's paced release racing with reuse), emptied by slab_trim. */
static void test_threads_large_cache(void **state)
{
    (void)state;
    large_pct = 20;
    run_threads("large_cache=1M,idle_ms=20,tick_thread=1", 5, 1);
    large_pct = 1;
}

/* slab.h: "Every function is thread-safe": slab_owns and slab_stats while other
 * threads allocate and free (every test above does this too; TSan checks that
 * the unlocked reads are atomic). */
static void test_threads_owns_and_stats_concurrent(void **state)
{
    (void)state;
    run_threads("magazine=8", 5, 1);
}

/* ---- producer/consumer: magazines move between threads through the depot ---- */

#define NPAIR 2
#if defined(__SANITIZE_THREAD__)
#define XFER_BLOCKS 40000
#elif defined(__SANITIZE_ADDRESS__)
#define XFER_BLOCKS 100000
#else
#define XFER_BLOCKS 400000
#endif

static struct {
    struct slab_pool *pool;
    struct queue fwd[NPAIR], back[NPAIR]; /* producer i -> consumer i, and back */
    atomic_int prod_done[NPAIR], cons_done[NPAIR];
    atomic_uint_fast64_t returned;
} X;

static void *producer(void *varg)
{
    unsigned id = (unsigned)(uintptr_t)varg;
    struct slab_pool *p = X.pool;
    uint64_t rng = 1000 + id, tag = (uint64_t)(id + 1) << 40;
    uint64_t returned = 0;
    for (unsigned i = 0; i < XFER_BLOCKS; i++) {
        /* sizes in a few classes, so that their magazines fill fast */
        size_t size = rng_below(&rng, 8) ? rng_range(&rng, HDR, 256) : pick_size(&rng);
        void *q = new_block(p, size, ++tag);
        while (!q_push(&X.fwd[id], q)) {
            void *b = q_pop(&X.back[id]);
            if (b) {
                free_checked(p, b, 0, 1, &rng);
                returned++;
            } else {
                sched_yield();
            }
        }
        void *b = q_pop(&X.back[id]);
        if (b) {
            free_checked(p, b, 0, 1, &rng);
            returned++;
        }
    }
    atomic_store_explicit(&X.prod_done[id], 1, memory_order_release);
    for (;;) { /* what comes back until the consumer is done */
        void *b = q_pop(&X.back[id]);
        if (b) {
            free_checked(p, b, 0, 1, &rng);
            returned++;
        } else if (atomic_load_explicit(&X.cons_done[id], memory_order_acquire)) {
            if (!(b = q_pop(&X.back[id])))
                break;
            free_checked(p, b, 0, 1, &rng);
            returned++;
        } else {
            sched_yield();
        }
    }
    atomic_fetch_add(&X.returned, returned);
    return NULL;
}

static void *consumer(void *varg)
{
    unsigned id = (unsigned)(uintptr_t)varg;
    struct slab_pool *p = X.pool;
    uint64_t rng = 2000 + id;
    for (;;) {
        void *q = q_pop(&X.fwd[id]);
        if (!q) {
            if (atomic_load_explicit(&X.prod_done[id], memory_order_acquire) && !(q = q_pop(&X.fwd[id])))
                break;
            if (!q) {
                sched_yield();
                continue;
            }
        }
        check(p, q, 0);
        if (rng_below(&rng, 4) == 0 && q_push(&X.back[id], q))
            continue; /* the producer frees this one */
        free_checked(p, q, 0, 1, &rng);
    }
    atomic_store_explicit(&X.cons_done[id], 1, memory_order_release);
    return NULL;
}

static void run_xfer(const char *opts)
{
    memset(&X, 0, sizeof X);
    X.pool = pool_from(opts);
    struct slab_config cfg = config_from(opts);
    pthread_t th[2 * NPAIR];
    uint64_t t0 = now_ms(), max_full = 0, polls = 0;
    for (unsigned i = 0; i < NPAIR; i++) {
        assert_int_equal(pthread_create(&th[2 * i], &attr, producer, (void *)(uintptr_t)i), 0);
        assert_int_equal(pthread_create(&th[2 * i + 1], &attr, consumer, (void *)(uintptr_t)i), 0);
    }
    /* Meanwhile: stats (the depot within its bound) and, now and then, a trim. */
    for (;;) {
        int all_done = 1;
        for (unsigned i = 0; i < NPAIR; i++)
            all_done &= atomic_load(&X.cons_done[i]);
        if (all_done)
            break;
        struct slab_stats s;
        slab_stats(X.pool, &s);
        for (unsigned c = 0; c < s.n_classes; c++) {
            if (s.cls[c].depot_full > cfg.depot)
                fail_msg("[%s] class %u: %llu full magazines in a depot of %u", opts, c,
                         (unsigned long long)s.cls[c].depot_full, cfg.depot);
            if (s.cls[c].magazine == 0 || s.cls[c].magazine > cfg.magazine ||
                s.cls[c].in_depot != s.cls[c].depot_full * s.cls[c].magazine ||
                s.cls[c].in_depot > s.cls[c].in_magazines)
                fail_msg("[%s] class %u: in_depot %llu, depot_full %llu, in_magazines %llu", opts, c,
                         (unsigned long long)s.cls[c].in_depot, (unsigned long long)s.cls[c].depot_full,
                         (unsigned long long)s.cls[c].in_magazines);
            if (s.cls[c].depot_full > max_full)
                max_full = s.cls[c].depot_full;
        }
        if (++polls % 16 == 0)
            slab_trim(X.pool);
        sleep_ms(1);
    }
    for (unsigned i = 0; i < 2 * NPAIR; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    /* Every thread gone and a trim: nothing in use, nothing in any magazine or depot. */
    slab_trim(X.pool);
    struct slab_stats s;
    slab_stats(X.pool, &s);
    for (unsigned c = 0; c < s.n_classes; c++)
        if (s.cls[c].in_use || s.cls[c].in_magazines || s.cls[c].depot_full)
            fail_msg("[%s] class %u after the run: in use %llu, in magazines %llu, depot %llu", opts, c,
                     (unsigned long long)s.cls[c].in_use, (unsigned long long)s.cls[c].in_magazines,
                     (unsigned long long)s.cls[c].depot_full);
    assert_int_equal(s.large_count, 0);
    assert_int_equal(s.committed, s.prealloc);
    print_message("[%s] %u pairs x %u blocks in %llu ms, %llu sent back; up to %llu full magazines seen in a depot\n",
                  opts, NPAIR, XFER_BLOCKS, (unsigned long long)(now_ms() - t0),
                  (unsigned long long)atomic_load(&X.returned), (unsigned long long)max_full);
    slab_destroy(X.pool);
}

static void test_xfer_depot(void **state)
{
    (void)state;
    run_xfer("magazine=4,depot=2");    /* exchanges every few blocks; the bound is hit all the time */
    run_xfer("magazine=16,depot=64");  /* a deep depot */
    run_xfer("");                      /* the defaults */
    run_xfer("magazine=8,depot=0");    /* no depot: magazines trade with the slabs */
    run_xfer("magazine=2,depot=1,idle_ms=0,tick_thread=1"); /* the tick reaps the depot as it works */
}

static void *nothing(void *arg)
{
    return arg;
}

/* Worker stacks of 1 MiB; one round of threads made and joined first, so
 * that glibc's stack cache holds their stacks (and a default one, for the
 * tick thread) and the process's mappings balance across a run. */
static int setup(void **state)
{
    (void)state;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    pthread_t th[NT + 1];
    for (unsigned i = 0; i < NT + 1; i++)
        if (pthread_create(&th[i], i < NT ? &attr : NULL, nothing, NULL) != 0)
            return -1;
    for (unsigned i = 0; i < NT + 1; i++)
        pthread_join(th[i], NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pthread_attr_destroy(&attr);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_default),
        cmocka_unit_test(test_threads_small_magazine),
        cmocka_unit_test(test_threads_locked),
        cmocka_unit_test(test_threads_release_at_once),
        cmocka_unit_test(test_threads_large_cache),
        cmocka_unit_test(test_threads_owns_and_stats_concurrent),
        cmocka_unit_test(test_xfer_depot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
