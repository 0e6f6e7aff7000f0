/* test_slab_memory.c - the slab allocator's memory bounds, seen from the
 * process's resident set: pre-allocation, overflow, the hard limit, requests
 * that cannot be met, and idle release (with the tick thread, never below the
 * pre-allocated floor, none with idle_ms=-1, all at once with slab_trim).
 *
 * RSS here is /proc/self/statm's resident - shared (private resident bytes),
 * read by the test itself, relative to a baseline taken just before the pool is
 * created; the test's own buffers are allocated and touched before that.
 *
 * Timing: the only timed assertion is idle release. With idle_ms = 200 and the
 * tick thread (which wakes every idle_ms / 4), the emptied slabs are due 200 ms
 * after the frees and gone by about 250 ms; the test polls every 10 ms for up to
 * 2 x idle_ms + 1 s (the second being an allowance for a loaded 2-core VM that
 * can deschedule the tick thread), asserts RSS got back to the floor + 8 MiB
 * within that, and prints how long it took and whether that was within
 * 2 x idle_ms. It checks that nothing was released early only when it got to
 * look well before idle_ms had passed since the first free.
 *
 * The depot (full magazines parked per class): its counts in the stats, that
 * slab_trim empties it and gives the memory back, that idle release reaches
 * chunks parked there (the tick thread; the allocation path's paced reap),
 * and that a class short of slabs under a limit gets the ones it holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "slab_test_util.h"

#define CAP 131072 /* blocks a test may hold */
#define SLACK (8 * MiB)

static void **blocks;    /* the test's own arrays: allocated and touched before any baseline */
static size_t *blk_size; /* requested size of each */

static void *idle_thread(void *arg)
{
    return arg;
}

static int setup(void **state)
{
    (void)state;
    blocks = calloc(CAP, sizeof *blocks);
    blk_size = calloc(CAP, sizeof *blk_size);
    if (!blocks || !blk_size)
        return -1;
    memset(blocks, 1, CAP * sizeof *blocks);
    memset(blk_size, 1, CAP * sizeof *blk_size);
    /* Two threads made and joined now leave glibc two cached stacks, which the
     * pools' tick threads (and the depot tests' freeing thread, beside one)
     * then reuse: the process's mappings balance across
     * slab_create/slab_destroy, so the tests can check that they do. */
    pthread_t t[2];
    for (unsigned i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, idle_thread, NULL) != 0)
            return -1;
    for (unsigned i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(blocks);
    free(blk_size);
    return 0;
}

/* Allocate sizes uniform in [lo, hi] until `bytes` of usable size are out,
 * writing every block in full (pattern tagged by its index). Returns the count. */
static size_t fill(struct slab_pool *p, size_t bytes, size_t lo, size_t hi, uint64_t seed)
{
    uint64_t rng = seed;
    size_t total = 0, n = 0;
    while (total < bytes) {
        assert_true(n < CAP);
        size_t size = rng_range(&rng, lo, hi);
        void *q = slab_alloc(p, size);
        if (!q)
            fail_msg("fill: allocation %zu (%zu bytes, %zu out) failed: %s", n, size, total, strerror(errno));
        pat_fill(q, size, n);
        blocks[n] = q;
        blk_size[n] = size;
        total += slab_usable_size(p, q);
        n++;
    }
    return n;
}

static void free_all(struct slab_pool *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_pattern(blocks[i], blk_size[i], i);
        slab_free(p, blocks[i]);
    }
}

static size_t mib(size_t bytes)
{
    return bytes >> 20;
}

/* ---- pre-allocation ---- */

static void check_prealloc(const char *opts)
{
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from(opts);
    size_t created = rss_private();
    print_message("[%s] RSS +%zu MiB right after slab_create\n", opts, mib(created - base));
    if (created < base + 64 * MiB)
        fail_msg("[%s] RSS grew by %zu KiB at create, expected >= 64 MiB", opts, (created - base) >> 10);
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.prealloc, 64 * MiB);
    assert_true(s.committed >= 64 * MiB);
    assert_int_equal(s.overflow, 0);
    /* Allocating and writing 48 MiB inside the floor costs no new resident memory. */
    size_t n = fill(p, 48 * MiB, 16, 4096, 1);
    size_t filled = rss_private();
    if (filled > created + 2 * MiB)
        fail_msg("[%s] writing 48 MiB inside the pre-faulted floor grew RSS by %zu KiB", opts, (filled - created) >> 10);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 64 * MiB);
    assert_int_equal(s.overflow, 0);
    free_all(p, n);
    slab_destroy(p);
    assert_true(rss_private() < base + MiB);
    assert_int_equal(vm_size(), vm_before);
}

static void test_prealloc(void **state)
{
    (void)state;
    check_prealloc("prealloc=64M");
    check_prealloc("prealloc=64M,prealloc_hugepage=1,thread_cache=0");
}

/* ---- overflow ---- */

static void test_overflow_on(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("prealloc=1M");
    for (unsigned i = 0; i < 4096; i++) { /* 4 MiB of 1 KiB blocks: past the 1 MiB floor */
        blocks[i] = slab_alloc(p, 1024);
        if (!blocks[i])
            fail_msg("allocation %u of 1 KiB failed past the floor: %s", i, strerror(errno));
        pat_fill(blocks[i], 1024, i);
        blk_size[i] = 1024;
    }
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.prealloc, 1 * MiB);
    assert_true(s.committed >= 4 * MiB);
    assert_true(s.overflow >= 3 * MiB);
    assert_int_equal(s.overflow, s.committed - 1 * MiB);
    free_all(p, 4096);
    slab_trim(p);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 1 * MiB);
    assert_int_equal(s.overflow, 0);
    slab_destroy(p);
}

/* Allocate `size` until NULL (at most CAP): the count; errno must be ENOMEM. */
static size_t until_null(struct slab_pool *p, size_t size, size_t first)
{
    size_t n = first;
    for (;;) {
        assert_true(n < CAP);
        errno = 0;
        void *q = slab_alloc(p, size);
        if (!q)
            break;
        if (slab_usable_size(p, q) < size)
            fail_msg("block %zu of %zu bytes: usable %zu (a short block)", n, size, slab_usable_size(p, q));
        pat_fill(q, slab_usable_size(p, q), n);
        blocks[n] = q;
        blk_size[n] = slab_usable_size(p, q);
        n++;
    }
    assert_int_equal(errno, ENOMEM);
    return n - first;
}

static void check_overflow_off(const char *opts)
{
    struct slab_pool *p = pool_from(opts);
    /* 1 MiB = 16 slabs of 64 x 1 KiB: exactly 1024 blocks, then ENOMEM. */
    size_t n = until_null(p, 1024, 0);
    assert_int_equal(n, 1024);
    errno = 0;
    assert_null(slab_alloc(p, 16)); /* no slab left for another class */
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(slab_alloc(p, 100000)); /* large blocks come from the OS: past the floor */
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(slab_calloc(p, 1, 1024));
    assert_int_equal(errno, ENOMEM);
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.committed, 1 * MiB);
    assert_int_equal(s.overflow, 0);
    assert_int_equal(s.large_count, 0);
    /* One freed: one more of its class. */
    assert_pattern(blocks[7], 1024, 7);
    slab_free(p, blocks[7]);
    blocks[7] = slab_alloc(p, 1000);
    assert_non_null(blocks[7]);
    pat_fill(blocks[7], 1024, 7);
    errno = 0;
    assert_null(slab_alloc(p, 1024));
    /* All freed: the slabs serve another class. Each class may keep one empty
     * slab as its spare, so 15 or 16 of them; after slab_trim, all 16. */
    free_all(p, n);
    slab_thread_flush(p);
    size_t small = until_null(p, 16, 0);
    print_message("[%s] after freeing all 1 KiB blocks: %zu 16-byte blocks (%zu slabs)\n", opts, small, small / 4096);
    assert_true(small >= 15 * 4096 && small <= 16 * 4096);
    free_all(p, small);
    slab_trim(p);
    small = until_null(p, 16, 0);
    assert_int_equal(small, 16 * 4096);
    free_all(p, small);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 1 * MiB);
    slab_destroy(p);
}

static void test_overflow_off(void **state)
{
    (void)state;
    check_overflow_off("prealloc=1M,overflow=0");
    check_overflow_off("prealloc=1M,overflow=0,thread_cache=0");
    check_overflow_off("prealloc=1M,overflow=0,magazine=1");
}

/* ---- hard limit ---- */

static void check_hard_limit(const char *opts)
{
    struct slab_pool *p = pool_from(opts);
    /* 4 MiB = 64 slabs of 16 x 4 KiB. */
    size_t n = until_null(p, 4096, 0);
    assert_int_equal(n, 1024);
    errno = 0;
    assert_null(slab_alloc(p, 10)); /* no slab for another class */
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(slab_alloc(p, 100000)); /* nor room for a large block */
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(slab_aligned_alloc(p, 8192, 100));
    assert_int_equal(errno, ENOMEM);
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.committed, 4 * MiB);
    assert_int_equal(s.large_count, 0);
    assert_int_equal(s.large_bytes, 0);
    free_all(p, n);
    slab_trim(p);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 0);

    /* Large blocks of 1 MiB: each maps 1 MiB + a page, so three fit, not four. */
    size_t large = 0;
    for (;; large++) {
        errno = 0;
        blocks[large] = slab_alloc(p, 1 * MiB);
        if (!blocks[large])
            break;
        assert_true(slab_usable_size(p, blocks[large]) >= 1 * MiB);
        pat_fill(blocks[large], 1 * MiB, large);
        blk_size[large] = 1 * MiB;
    }
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(large, 3);
    errno = 0;
    assert_null(slab_realloc(p, blocks[0], 2 * MiB)); /* growing one past the limit fails, the block kept */
    assert_int_equal(errno, ENOMEM);
    assert_pattern(blocks[0], 1 * MiB, 0);
    slab_stats(p, &s);
    assert_int_equal(s.large_count, 3);
    assert_true(s.large_bytes <= 4 * MiB);
    /* Small blocks get exactly the slabs that still fit under the limit. */
    size_t room_slabs = (4 * MiB - s.large_bytes) / SLAB_SIZE;
    size_t small = until_null(p, 4096, large);
    assert_int_equal(small, room_slabs * 16);
    slab_stats(p, &s);
    assert_true(s.committed + s.large_bytes <= 4 * MiB);
    /* A large block freed: room for one again. */
    assert_pattern(blocks[0], 1 * MiB, 0);
    slab_free(p, blocks[0]);
    blocks[0] = slab_alloc(p, 1 * MiB);
    assert_non_null(blocks[0]);
    pat_fill(blocks[0], 1 * MiB, 0);
    errno = 0;
    assert_null(slab_alloc(p, 1 * MiB));
    assert_int_equal(errno, ENOMEM);
    free_all(p, large + small);
    slab_trim(p);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 0);
    assert_int_equal(s.large_bytes, 0);
    slab_destroy(p);
}

static void test_hard_limit(void **state)
{
    (void)state;
    check_hard_limit("hard_limit=4M");
    check_hard_limit("hard_limit=4M,thread_cache=0");
    check_hard_limit("hard_limit=4M,magazine=3");
}

/* With a floor under the limit, the floor stays usable whatever the large
 * blocks take, and floor + large blocks stay under the limit. */
static void test_hard_limit_with_floor(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("prealloc=1M,hard_limit=2M");
    void *big = slab_alloc(p, 1900 * KiB);
    size_t n = 0;
    if (big) {
        struct slab_stats s;
        slab_stats(p, &s);
        if (s.committed + s.large_bytes > 2 * MiB)
            fail_msg("floor %zu KiB + large %zu KiB pass the 2 MiB hard limit", s.committed >> 10, s.large_bytes >> 10);
    }
    n = until_null(p, 1024, 0); /* the pre-faulted 1 MiB holds 1024 of them */
    if (n < 1024)
        fail_msg("only %zu of the 1024 1-KiB blocks the pre-allocated floor holds", n);
    free_all(p, n);
    slab_free(p, big);
    slab_destroy(p);
}

/* ---- requests that cannot be met ---- */

static void test_impossible_requests(void **state)
{
    (void)state;
    const char *configs[] = { "", "hard_limit=8M", "thread_cache=0,prealloc=1M" };
    for (unsigned k = 0; k < 3; k++) {
        struct slab_pool *p = pool_from(configs[k]);
        const struct {
            size_t n, size;
        } calloc_over[] = {
            { SIZE_MAX / 2 + 1, 2 }, { 2, SIZE_MAX / 2 + 1 }, { SIZE_MAX, SIZE_MAX },
            { (size_t)1 << 32, (size_t)1 << 32 }, { SIZE_MAX / 16 + 1, 16 }, { 3, SIZE_MAX / 3 + 1 },
        };
        for (unsigned i = 0; i < sizeof calloc_over / sizeof calloc_over[0]; i++) {
            errno = 0;
            if (slab_calloc(p, calloc_over[i].n, calloc_over[i].size) || errno != ENOMEM)
                fail_msg("[%s] calloc(%zu, %zu): not NULL/ENOMEM (errno %d)", configs[k], calloc_over[i].n,
                         calloc_over[i].size, errno);
        }
        const size_t huge[] = { SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX - 100000, SIZE_MAX / 2,
                                SIZE_MAX / 2 + 1, (size_t)1 << 62, (size_t)1 << 47 };
        for (unsigned i = 0; i < sizeof huge / sizeof huge[0]; i++) {
            errno = 0;
            if (slab_alloc(p, huge[i]) || errno != ENOMEM)
                fail_msg("[%s] alloc(%zu): not NULL/ENOMEM (errno %d)", configs[k], huge[i], errno);
            errno = 0;
            if (slab_calloc(p, 1, huge[i]) || errno != ENOMEM)
                fail_msg("[%s] calloc(1, %zu): not NULL/ENOMEM (errno %d)", configs[k], huge[i], errno);
        }
        const struct {
            size_t align, size;
        } aligned[] = {
            { 4096, SIZE_MAX / 2 },
            { 4096, SIZE_MAX - 4096 },
            { 8192, SIZE_MAX - 8192 - 4096 }, /* the mapping length would wrap */
            { 65536, SIZE_MAX - 65536 },
            { (size_t)1 << 62, 100 },
            { (size_t)1 << 63, 100 }, /* the alignment alone wraps the length */
            { (size_t)1 << 63, 0 },
        };
        for (unsigned i = 0; i < sizeof aligned / sizeof aligned[0]; i++) {
            errno = 0;
            if (slab_aligned_alloc(p, aligned[i].align, aligned[i].size) || errno != ENOMEM)
                fail_msg("[%s] aligned_alloc(%zu, %zu): not NULL/ENOMEM (errno %d)", configs[k], aligned[i].align,
                         aligned[i].size, errno);
        }
        /* realloc that cannot be met leaves the block as it was */
        char *q = slab_alloc(p, 300);
        assert_non_null(q);
        pat_fill(q, 300, 42);
        for (unsigned i = 0; i < sizeof huge / sizeof huge[0]; i++) {
            errno = 0;
            assert_null(slab_realloc(p, q, huge[i]));
            assert_int_equal(errno, ENOMEM);
            assert_pattern(q, 300, 42);
        }
        /* Nothing leaked into the registry or the limit's account. */
        struct slab_stats s;
        slab_stats(p, &s);
        assert_int_equal(s.large_count, 0);
        assert_int_equal(s.large_bytes, 0);
        assert_int_equal(s.large_allocs, 0);
        if (strstr(configs[k], "hard_limit")) {
            void *big = slab_alloc(p, 7 * MiB);
            assert_non_null(big);
            slab_free(p, big);
        }
        slab_free(p, q);
        slab_destroy(p);
    }
}

/* ---- idle release ---- */

/* Poll RSS every 10 ms until it is at most `target` or `limit_ms` have passed
 * since `from`; returns the ms it took (or more than limit_ms). */
static uint64_t wait_rss_at_most(size_t target, uint64_t from, uint64_t limit_ms, size_t *last)
{
    for (;;) {
        *last = rss_private();
        uint64_t t = now_ms() - from;
        if (*last <= target || t > limit_ms)
            return t;
        sleep_ms(10);
    }
}

static void test_idle_release_tick(void **state)
{
    (void)state;
    const uint64_t idle = 200;
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from("prealloc=4M,idle_ms=200,tick_thread=1");
    size_t n = fill(p, 64 * MiB, 16, 4096, 2);
    size_t full = rss_private();
    assert_true(full >= base + 64 * MiB);
    uint64_t t_free = now_ms();
    free_all(p, n);
    slab_thread_flush(p);
    uint64_t t0 = now_ms();
    size_t early = rss_private();
    uint64_t t_early = now_ms();
    if (t_early + 30 < t_free + idle) { /* looked well before anything was due */
        if (early < base + 48 * MiB)
            fail_msg("RSS already down to +%zu MiB %llu ms after the first free (idle_ms %llu)", mib(early - base),
                     (unsigned long long)(t_early - t_free), (unsigned long long)idle);
    } else {
        print_message("(no early look: %llu ms passed since the first free)\n", (unsigned long long)(t_early - t_free));
    }
    size_t target = base + 4 * MiB + SLACK, last;
    uint64_t took = wait_rss_at_most(target, t0, 2 * idle + 1000, &last);
    print_message("idle release: RSS +%zu MiB full, +%zu MiB %llu ms after the frees (%s 2 x idle_ms = %llu ms)\n",
                  mib(full - base), mib(last - base), (unsigned long long)took,
                  took <= 2 * idle ? "within" : "NOT within", (unsigned long long)(2 * idle));
    if (last > target)
        fail_msg("RSS still +%zu MiB %llu ms after the frees; expected <= floor 4 MiB + %zu MiB", mib(last - base),
                 (unsigned long long)took, mib(SLACK));
    /* RSS can be under the target (floor + SLACK) while depot magazines
     * still pin a few MiB of slabs: those go within the same limit. */
    struct slab_stats s;
    for (;;) {
        slab_stats(p, &s);
        if (s.committed <= 4 * MiB + s.n_classes * SLAB_SIZE || now_ms() - t0 > 2 * idle + 1000)
            break;
        sleep_ms(10);
    }
    assert_true(s.committed <= 4 * MiB + s.n_classes * SLAB_SIZE); /* the floor and class spares */
    assert_true(s.released >= 64 * MiB - 4 * MiB - s.n_classes * SLAB_SIZE);
    assert_true(rss_private() >= base + 4 * MiB); /* the floor stays */
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

static void test_idle_never(void **state)
{
    (void)state;
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from("prealloc=4M,idle_ms=-1,tick_thread=1");
    size_t n = fill(p, 64 * MiB, 16, 4096, 3);
    free_all(p, n);
    slab_thread_flush(p);
    sleep_ms(500);
    /* more frees and allocations: the allocation path releases nothing either */
    n = fill(p, 1 * MiB, 16, 64, 4);
    free_all(p, n);
    slab_thread_flush(p);
    size_t kept = rss_private();
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.released, 0);
    if (kept < base + 60 * MiB)
        fail_msg("idle_ms=-1, yet RSS fell to +%zu MiB", mib(kept - base));
    /* slab_trim releases at once, down to the floor. */
    size_t trimmed = slab_trim(p);
    size_t after = rss_private();
    print_message("idle_ms=-1: RSS +%zu MiB after 500 ms idle; slab_trim released %zu MiB, RSS now +%zu MiB\n",
                  mib(kept - base), mib(trimmed), mib(after - base));
    assert_true(trimmed >= 60 * MiB - 4 * MiB);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 4 * MiB);
    assert_int_equal(s.released, trimmed);
    assert_int_equal(s.empty_slabs, 4 * MiB / SLAB_SIZE);
    if (after > base + 4 * MiB + 4 * MiB || after < base + 4 * MiB)
        fail_msg("after slab_trim RSS is +%zu KiB; expected the 4 MiB floor (+ < 4 MiB)", (after - base) >> 10);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

/* slab_trim until `floor` bytes are committed (up to 2 s). The tick thread may
 * hold a paced release in flight (slabs detached while it madvises them) and,
 * on a loaded machine, be descheduled for a while: a trim right then leaves
 * those slabs committed. Callers still assert the exact floor afterwards. */
static void trim_to_floor(struct slab_pool *p, size_t floor)
{
    struct slab_stats s;
    slab_trim(p);
    for (unsigned waited = 0; waited < 2000; waited += 20) {
        slab_stats(p, &s);
        if (s.committed == floor)
            return;
        sleep_ms(20);
        slab_trim(p);
    }
}

/* Below the floor nothing is ever released: not by idle release (idle_ms=0,
 * the tick thread), not by slab_trim. Released slabs serve again. */
static void test_floor_kept(void **state)
{
    (void)state;
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from("prealloc=16M,idle_ms=0,tick_thread=1");
    size_t n = fill(p, 48 * MiB, 16, 4096, 5);
    struct slab_stats s;
    slab_stats(p, &s);
    size_t peak = s.committed;
    assert_true(peak >= 48 * MiB);
    free_all(p, n);
    slab_thread_flush(p);
    trim_to_floor(p, 16 * MiB);
    size_t after = rss_private();
    slab_stats(p, &s);
    print_message("floor 16 MiB: peak committed %zu MiB, released %zu MiB, RSS now +%zu MiB\n", mib(peak),
                  mib(s.released), mib(after - base));
    assert_int_equal(s.committed, 16 * MiB);
    assert_int_equal(s.released, peak - 16 * MiB);
    if (after < base + 16 * MiB)
        fail_msg("RSS +%zu KiB: the 16 MiB floor was given back", (after - base) >> 10);
    assert_true(after <= base + 16 * MiB + SLACK);
    /* Again: the released slabs (zero pages now) are reused and hold their data. */
    n = fill(p, 48 * MiB, 16, 4096, 6);
    free_all(p, n);
    trim_to_floor(p, 16 * MiB);
    slab_stats(p, &s);
    assert_int_equal(s.committed, 16 * MiB);
    assert_true(rss_private() >= base + 16 * MiB);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

/* ---- the depot ----
 * These tests count chunks in whole magazines of a set size, so they turn
 * the byte bound off (magazine_max_bytes=0); test_slab_classes checks it. */

static uint64_t depot_total(const struct slab_stats *s, uint64_t *in_depot, uint64_t *in_mags, uint64_t *in_use)
{
    uint64_t full = 0;
    *in_depot = *in_mags = *in_use = 0;
    for (unsigned c = 0; c < s->n_classes; c++) {
        full += s->cls[c].depot_full;
        *in_depot += s->cls[c].in_depot;
        *in_mags += s->cls[c].in_magazines;
        *in_use += s->cls[c].in_use;
    }
    return full;
}

/* One thread frees 768 blocks of one class: 64 fill the loaded magazine, 64
 * the previous one, and from then on each full magazine goes to the depot
 * (10 of them) until it holds its bound (8); the last two go to the slabs. */
static void test_depot_stats_and_trim(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("magazine=64,magazine_max_bytes=0,depot=8,idle_ms=-1");
    for (unsigned i = 0; i < 768; i++) {
        blocks[i] = slab_alloc(p, 1000);
        assert_non_null(blocks[i]);
        pat_fill(blocks[i], 1000, i);
        blk_size[i] = 1000;
    }
    free_all(p, 768);
    struct slab_stats s;
    slab_stats(p, &s);
    unsigned c = 0;
    while (s.cls[c].size < 1000)
        c++;
    print_message("class %zu B after 768 frees: depot %llu full (%llu chunks), %llu empty; in magazines %llu, in use "
                  "%llu; magazines map %zu KiB\n",
                  s.cls[c].size, (unsigned long long)s.cls[c].depot_full, (unsigned long long)s.cls[c].in_depot,
                  (unsigned long long)s.cls[c].depot_empty, (unsigned long long)s.cls[c].in_magazines,
                  (unsigned long long)s.cls[c].in_use, s.magazine_bytes >> 10);
    assert_int_equal(s.cls[c].depot_full, 8);
    assert_int_equal(s.cls[c].in_depot, 8 * 64);
    assert_int_equal(s.cls[c].in_magazines, 8 * 64 + 2 * 64); /* the depot and this thread's two */
    assert_int_equal(s.cls[c].in_use, s.cls[c].in_magazines);
    assert_true(s.magazine_bytes > 0);
    /* Other threads see the depot's magazines: a thread allocating takes them. */
    slab_thread_flush(p); /* this thread's two back to the slabs; the depot keeps its own */
    slab_stats(p, &s);
    assert_int_equal(s.cls[c].depot_full, 8);
    assert_int_equal(s.cls[c].in_magazines, 8 * 64);
    /* slab_trim empties the depot and releases the slabs (no floor: all of them). */
    size_t released = slab_trim(p);
    slab_stats(p, &s);
    uint64_t in_depot, in_mags, in_use;
    assert_int_equal(depot_total(&s, &in_depot, &in_mags, &in_use), 0);
    assert_int_equal(in_depot + in_mags + in_use, 0);
    assert_int_equal(released, 12 * SLAB_SIZE); /* 768 chunks of 1 KiB: 12 slabs */
    assert_int_equal(s.committed, 0);
    slab_destroy(p);
}

struct freer {
    struct slab_pool *p;
    size_t n;
};

static void *free_them(void *arg)
{
    struct freer *f = arg;
    free_all(f->p, f->n);
    return NULL; /* thread exit: this thread's own two magazines to the slabs */
}

/* Blocks allocated here and freed by another thread that then exits: what it
 * freed is parked in the depot, resident. */
static size_t fill_and_free_elsewhere(struct slab_pool *p, size_t bytes)
{
    size_t n = fill(p, bytes, 1024, 1024, 7);
    struct freer f = { p, n };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, free_them, &f), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    return n;
}

static void test_depot_trim_releases(void **state)
{
    (void)state;
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from("magazine=256,magazine_max_bytes=0,depot=256,idle_ms=-1");
    size_t n = fill_and_free_elsewhere(p, 48 * MiB);
    struct slab_stats s;
    slab_stats(p, &s);
    uint64_t in_depot, in_mags, in_use;
    uint64_t full = depot_total(&s, &in_depot, &in_mags, &in_use);
    size_t parked = rss_private();
    print_message("%zu blocks of 1 KiB freed by a thread that exited: %llu full magazines (%llu chunks) in the depot, "
                  "RSS +%zu MiB\n",
                  n, (unsigned long long)full, (unsigned long long)in_depot, mib(parked - base));
    assert_true(in_depot * 1024 >= 40 * MiB);
    assert_int_equal(in_mags, in_depot); /* the freeing thread's own went to the slabs at its exit */
    assert_int_equal(in_use, in_depot);
    assert_true(parked >= base + 40 * MiB);
    size_t released = slab_trim(p);
    size_t after = rss_private();
    slab_stats(p, &s);
    print_message("slab_trim: released %zu MiB, RSS now +%zu MiB\n", mib(released), mib(after - base));
    assert_int_equal(depot_total(&s, &in_depot, &in_mags, &in_use), 0);
    assert_int_equal(in_use, 0);
    assert_int_equal(s.committed, 0);
    assert_true(released >= 48 * MiB);
    assert_true(after <= base + SLACK);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

/* Idle release reaches the depot: the tick thread empties magazines unused
 * for idle_ms / 2 into their slabs, which are released idle_ms later. */
static void test_depot_idle_release_tick(void **state)
{
    (void)state;
    const uint64_t idle = 200;
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from("magazine=256,magazine_max_bytes=0,depot=256,idle_ms=200,tick_thread=1");
    fill_and_free_elsewhere(p, 48 * MiB);
    uint64_t t0 = now_ms();
    size_t target = base + SLACK, last;
    uint64_t took = wait_rss_at_most(target, t0, 2 * idle + 1000, &last);
    struct slab_stats s;
    slab_stats(p, &s);
    uint64_t in_depot, in_mags, in_use;
    uint64_t full = depot_total(&s, &in_depot, &in_mags, &in_use);
    print_message("depot idle release: RSS +%zu MiB %llu ms after the frees (%s 2 x idle_ms = %llu ms); depot now %llu "
                  "full\n",
                  mib(last - base), (unsigned long long)took, took <= 2 * idle ? "within" : "NOT within",
                  (unsigned long long)(2 * idle), (unsigned long long)full);
    if (last > target)
        fail_msg("RSS still +%zu MiB %llu ms after the frees into the depot", mib(last - base),
                 (unsigned long long)took);
    assert_int_equal(full, 0);
    assert_true(s.released >= 40 * MiB);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

/* Without the tick thread, a free that leaves a magazine in a depot also
 * empties a few (8) idle ones, of any class, at most every idle_ms / 4. */
static void test_depot_paced_reap(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("magazine=64,magazine_max_bytes=0,depot=64,idle_ms=100");
    /* 42 magazines of 1 KiB chunks: 2 stay with the freeing thread (gone), 40 in the depot */
    fill_and_free_elsewhere(p, 42 * 64 * 1024);
    struct slab_stats s;
    uint64_t in_depot, in_mags, in_use;
    slab_stats(p, &s);
    uint64_t before = depot_total(&s, &in_depot, &in_mags, &in_use);
    assert_true(before >= 16);
    sleep_ms(120); /* the parked magazines are now due (idle_ms / 2), and the pace allows a reap */
    /* Another class: 200 blocks of 64 B freed here push 2 magazines, the first reaps. */
    for (unsigned i = 0; i < 200; i++) {
        blocks[i] = slab_alloc(p, 64);
        assert_non_null(blocks[i]);
        pat_fill(blocks[i], 64, i);
        blk_size[i] = 64;
    }
    free_all(p, 200);
    slab_stats(p, &s);
    uint64_t after = depot_total(&s, &in_depot, &in_mags, &in_use);
    print_message("paced reap: %llu full magazines in the depots before, %llu after 2 more were left there\n",
                  (unsigned long long)before, (unsigned long long)after);
    assert_int_equal(after, before + 2 - 8);
    assert_int_equal(in_use, in_mags);
    slab_trim(p);
    slab_destroy(p);
}

/* Under a limit, slabs held by one class's depot serve another class. */
static void test_depot_yields_under_limit(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("prealloc=1M,overflow=0,magazine=16,magazine_max_bytes=0,depot=64");
    size_t n = fill_and_free_elsewhere(p, 1 * MiB); /* every slab's chunks parked in the depot */
    assert_int_equal(n, 1024);
    struct slab_stats s;
    uint64_t in_depot, in_mags, in_use;
    slab_stats(p, &s);
    depot_total(&s, &in_depot, &in_mags, &in_use);
    assert_true(in_depot >= 1024 - 2 * 16 - 64); /* all but the thread's two magazines and one slab's worth */
    size_t small = until_null(p, 16, 0);
    print_message("with %llu chunks of 1 KiB parked in the depot: %zu blocks of 16 B (%zu slabs) before ENOMEM\n",
                  (unsigned long long)in_depot, small, small / 4096);
    assert_true(small >= 15 * 4096);
    free_all(p, small);
    slab_destroy(p);
}

/* ---- the large cache (large_cache.c) ---- */

/* A freed large block is reused by the next request of its size (or up to
 * 25% fewer pages) without a new mapping, and calloc still gets zeros. */
static void test_large_cache_reuse(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("idle_ms=-1");
    struct slab_stats s;
    char *a = slab_alloc(p, 100000);
    assert_non_null(a);
    memset(a, 0xab, 100000);
    slab_free(p, a);
    slab_stats(p, &s);
    assert_int_equal(s.large_maps, 1);
    assert_int_equal(s.large_count, 0);
    assert_int_equal(s.large_cached_count, 1);
    assert_true(s.large_cached_bytes >= 100000);
    char *b = slab_alloc(p, 100000); /* the same size: the same mapping */
    assert_ptr_equal(b, a);
    slab_stats(p, &s);
    assert_int_equal(s.large_maps, 1);
    assert_int_equal(s.large_cache_hits, 1);
    assert_int_equal(s.large_cached_bytes, 0);
    assert_int_equal(s.large_count, 1);
    assert_true(slab_owns(p, b));
    slab_free(p, b);
    char *c = slab_calloc(p, 1, 90000); /* 10% fewer pages: reused, and zeroed */
    assert_ptr_equal(c, a);
    assert_int_equal(find_nonzero(c, 90000), SIZE_MAX);
    slab_stats(p, &s);
    assert_int_equal(s.large_maps, 1);
    slab_free(p, c);
    char *d = slab_alloc(p, 60000); /* 40% fewer pages: past the fit, a new mapping */
    slab_stats(p, &s);
    assert_int_equal(s.large_maps, 2);
    assert_int_equal(s.large_cached_count, 1);
    char *e = slab_alloc(p, 200000); /* bigger than anything cached */
    slab_stats(p, &s);
    assert_int_equal(s.large_maps, 3);
    slab_free(p, d);
    slab_free(p, e);
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_count, 3);
    assert_int_equal(s.large_allocs, 5);
    assert_int_equal(s.large_count, 0);
    assert_int_equal(s.large_bytes, 0);
    slab_destroy(p);
}

/* large_cache=0 (and idle_ms=0: release at once): every free unmaps. */
static void test_large_cache_off(void **state)
{
    (void)state;
    const char *opts[] = { "large_cache=0", "idle_ms=0" };
    for (unsigned k = 0; k < 2; k++) {
        size_t vm_before = vm_size();
        struct slab_pool *p = pool_from(opts[k]);
        for (unsigned i = 0; i < 4; i++) {
            void *q = slab_alloc(p, 100000);
            assert_non_null(q);
            slab_free(p, q);
        }
        struct slab_stats s;
        slab_stats(p, &s);
        assert_int_equal(s.large_maps, 4);
        assert_int_equal(s.large_cache_hits, 0);
        assert_int_equal(s.large_cached_bytes, 0);
        assert_int_equal(s.large_cached_count, 0);
        slab_destroy(p);
        assert_int_equal(vm_size(), vm_before);
    }
}

/* The cache never holds more than large_cache bytes; a mapping bigger than
 * the bound is unmapped at once. */
static void test_large_cache_bound(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("large_cache=1M,idle_ms=-1");
    struct slab_stats s;
    for (size_t i = 0; i < 16; i++) {
        blocks[i] = slab_alloc(p, 200000 + i * 4096);
        assert_non_null(blocks[i]);
    }
    for (size_t i = 0; i < 16; i++) {
        slab_free(p, blocks[i]);
        slab_stats(p, &s);
        assert_true(s.large_cached_bytes <= 1 * MiB);
    }
    assert_true(s.large_cached_count >= 3);
    print_message("large_cache=1M: 16 blocks of ~200 KiB freed, %zu cached (%zu KiB)\n", s.large_cached_count,
                  s.large_cached_bytes >> 10);
    size_t before = s.large_cached_bytes;
    void *big = slab_alloc(p, 2 * MiB);
    assert_non_null(big);
    slab_free(p, big);
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_bytes, before); /* past the bound: not cached */
    slab_destroy(p);
}

/* large_cache_share (default 50%): on a small heap the cache keeps 4 MiB at
 * most, not large_cache's 64; beside 40 MiB of slabs it keeps half of that;
 * with the share off, large_cache alone bounds it. */
static void test_large_cache_share(void **state)
{
    (void)state;
    const size_t map = MiB + 4096; /* a 1 MiB block's mapping: header page included */
    for (unsigned k = 0; k < 3; k++) {
        struct slab_pool *p = pool_from(k == 2 ? "large_cache_share=0,idle_ms=-1" : "idle_ms=-1");
        size_t n = k == 1 ? fill(p, 40 * MiB, 1024, 1024, 3) : 0; /* the other memory: 40 MiB of slabs */
        void *big[16];
        for (unsigned i = 0; i < 16; i++)
            assert_non_null(big[i] = slab_alloc(p, MiB));
        for (unsigned i = 0; i < 16; i++)
            slab_free(p, big[i]);
        struct slab_stats s;
        slab_stats(p, &s);
        print_message("share %s, %zu MiB of slabs: 16 blocks of 1 MiB freed, %zu cached (%zu KiB)\n",
                      k == 2 ? "off" : "50%", s.committed >> 20, s.large_cached_count, s.large_cached_bytes >> 10);
        if (k == 0) /* floor 4 MiB */
            assert_in_range(s.large_cached_bytes, 3 * map, 4 * MiB);
        else /* half of 40+ MiB, or the 64 MiB bound: all 16 */
            assert_int_equal(s.large_cached_bytes, 16 * map);
        free_all(p, n);
        slab_destroy(p);
    }
}

/* A free too big to cache still shrinks a cache its bound has fallen under:
 * 16 MiB cached beside a live 40 MiB block (bound: half of the other memory),
 * then that block freed (bound back to the 4 MiB floor). The free evicts
 * LC_EVICT (4) of the oldest, as a cached free does; not none. */
static void test_large_cache_shrinks_on_uncached_free(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("idle_ms=-1");
    void *huge = slab_alloc(p, 40 * MiB);
    assert_non_null(huge);
    void *big[16];
    for (unsigned i = 0; i < 16; i++)
        assert_non_null(big[i] = slab_alloc(p, MiB));
    for (unsigned i = 0; i < 16; i++)
        slab_free(p, big[i]);
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_count, 16);
    slab_free(p, huge);
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_count, 12);
    slab_destroy(p);
}

/* slab_trim unmaps every cached mapping: RSS drops. */
static void test_large_cache_trim(void **state)
{
    (void)state;
    size_t vm_before = vm_size();
    size_t base = rss_private();
    struct slab_pool *p = pool_from("large_cache_share=0,idle_ms=-1"); /* 16 MiB cached on a small heap */
    for (size_t i = 0; i < 16; i++) {
        blocks[i] = slab_alloc(p, 1 * MiB);
        assert_non_null(blocks[i]);
        memset(blocks[i], 1, 1 * MiB);
    }
    for (size_t i = 0; i < 16; i++)
        slab_free(p, blocks[i]);
    struct slab_stats s;
    slab_stats(p, &s);
    size_t kept = rss_private();
    assert_true(s.large_cached_bytes >= 16 * MiB);
    assert_true(kept >= base + 15 * MiB); /* cached: still resident */
    size_t trimmed = slab_trim(p);
    size_t after = rss_private();
    slab_stats(p, &s);
    print_message("large cache: RSS +%zu MiB with 16 MiB cached; slab_trim released %zu MiB, RSS now +%zu MiB\n",
                  mib(kept - base), mib(trimmed), mib(after > base ? after - base : 0));
    assert_true(trimmed >= 16 * MiB);
    assert_int_equal(s.large_cached_bytes, 0);
    assert_int_equal(s.large_cached_count, 0);
    assert_true(after < base + 2 * MiB);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

/* Idle release: the tick thread unmaps mappings cached for idle_ms; and
 * without it, a large free unmaps a few that have waited that long. */
static void test_large_cache_idle(void **state)
{
    (void)state;
    const uint64_t idle = 200;
    size_t base = rss_private();
    struct slab_pool *p = pool_from("large_cache_share=0,idle_ms=200,tick_thread=1");
    for (size_t i = 0; i < 16; i++) {
        blocks[i] = slab_alloc(p, 1 * MiB);
        assert_non_null(blocks[i]);
        memset(blocks[i], 1, 1 * MiB);
    }
    for (size_t i = 0; i < 16; i++)
        slab_free(p, blocks[i]);
    uint64_t t0 = now_ms();
    struct slab_stats s;
    slab_stats(p, &s);
    assert_true(s.large_cached_bytes >= 16 * MiB || now_ms() - t0 >= idle);
    size_t last;
    uint64_t took = wait_rss_at_most(base + 2 * MiB, t0, 2 * idle + 1000, &last);
    slab_stats(p, &s);
    print_message("large cache idle release: RSS +%zu MiB %llu ms after the frees (%s 2 x idle_ms = %llu ms)\n",
                  mib(last > base ? last - base : 0), (unsigned long long)took,
                  took <= 2 * idle ? "within" : "NOT within", (unsigned long long)(2 * idle));
    if (last > base + 2 * MiB)
        fail_msg("RSS still +%zu MiB %llu ms after the frees of 16 MiB of large blocks", mib(last - base),
                 (unsigned long long)took);
    assert_int_equal(s.large_cached_bytes, 0);
    slab_destroy(p);

    /* Paced: no tick thread; a later large free unmaps the expired ones (a few per call). */
    p = pool_from("idle_ms=50");
    for (size_t i = 0; i < 4; i++)
        blocks[i] = slab_alloc(p, 100000);
    for (size_t i = 0; i < 4; i++)
        slab_free(p, blocks[i]);
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_count, 4);
    sleep_ms(80);
    for (unsigned k = 0; k < 3; k++) {
        void *q = slab_alloc(p, 300000); /* no fit for those; then its own mapping again */
        slab_free(p, q);
    }
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_count, 1); /* only the newest, 300 KB one */
    slab_destroy(p);
}

/* hard_limit: cached mappings stay charged; a charge that would fail drops
 * them first (large blocks and slabs alike). */
static void test_large_cache_hard_limit(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("hard_limit=4M,idle_ms=-1");
    struct slab_stats s;
    for (size_t i = 0; i < 3; i++) {
        blocks[i] = slab_alloc(p, 1 * MiB);
        assert_non_null(blocks[i]);
    }
    for (size_t i = 0; i < 3; i++)
        slab_free(p, blocks[i]);
    slab_stats(p, &s);
    assert_true(s.large_cached_bytes > 3 * MiB);
    void *big = slab_alloc(p, 2 * MiB); /* fits only once the cache is dropped */
    assert_non_null(big);
    slab_stats(p, &s);
    assert_int_equal(s.large_cached_bytes, 0);
    assert_true(s.committed + s.large_bytes + s.large_cached_bytes <= 4 * MiB);
    slab_free(p, big);
    slab_stats(p, &s);
    assert_true(s.large_cached_bytes > 2 * MiB);
    /* Slabs too: the cached 2 MiB make way for small blocks. */
    size_t small = until_null(p, 4096, 0);
    slab_stats(p, &s);
    print_message("hard_limit=4M with 2 MiB cached: %zu blocks of 4 KiB before ENOMEM; cached now %zu KiB\n", small,
                  s.large_cached_bytes >> 10);
    assert_int_equal(s.large_cached_bytes, 0);
    assert_true(small >= 3 * MiB / 4096);
    assert_true(s.committed + s.large_bytes + s.large_cached_bytes <= 4 * MiB);
    free_all(p, small);
    slab_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prealloc),
        cmocka_unit_test(test_overflow_on),
        cmocka_unit_test(test_overflow_off),
        cmocka_unit_test(test_hard_limit),
        cmocka_unit_test(test_hard_limit_with_floor),
        cmocka_unit_test(test_impossible_requests),
        cmocka_unit_test(test_idle_release_tick),
        cmocka_unit_test(test_idle_never),
        cmocka_unit_test(test_floor_kept),
        cmocka_unit_test(test_depot_stats_and_trim),
        cmocka_unit_test(test_depot_trim_releases),
        cmocka_unit_test(test_depot_idle_release_tick),
        cmocka_unit_test(test_depot_paced_reap),
        cmocka_unit_test(test_depot_yields_under_limit),
        cmocka_unit_test(test_large_cache_reuse),
        cmocka_unit_test(test_large_cache_off),
        cmocka_unit_test(test_large_cache_bound),
        cmocka_unit_test(test_large_cache_share),
        cmocka_unit_test(test_large_cache_shrinks_on_uncached_free),
        cmocka_unit_test(test_large_cache_trim),
        cmocka_unit_test(test_large_cache_idle),
        cmocka_unit_test(test_large_cache_hard_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
