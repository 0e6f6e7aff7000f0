/* test_slab_shadow.c - a randomized differential test of the slab allocator
 * against a shadow model, with fixed seeds.
 *
 * The model keeps up to LIVE_MAX live blocks, each with its size, the class the
 * pool must have put it in (or the large path), and a tag. Every block is
 * pattern-filled over its whole usable size when it is allocated, and verified
 * in full before it is freed or reallocated, so two blocks that overlap, a chunk
 * handed out twice, a stray write by the allocator or a realloc that copies the
 * wrong bytes all show. The operations are malloc, calloc (must be zero),
 * realloc (the old bytes must follow), aligned alloc (must be aligned), and free,
 * sized and unsized; sizes are mostly <= 4096 with some large ones. The live
 * count swings between empty and full so that slabs fill, empty, go back to the
 * region (and, with idle_ms=0, to the OS) and come back.
 *
 * Every CHECK_EVERY operations the pool's stats must agree with the model: per
 * class, chunks in use = the model's live blocks of the class + the chunks in
 * this thread's magazines, and the cumulative allocation and requested-byte
 * counters; live large blocks and large allocations (a large -> large realloc
 * may count as one or not: it may resize the mapping in place). slab_trim runs half way
 * (slabs then match the model's distinct live slabs) and after everything is
 * freed (committed back to the floor). About 3.4 million operations in all. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "slab_test_util.h"

/* Built against the debug build too (-DSLAB_DEBUG=1, build/debug/): there a
 * class is chosen for size + the 8-byte canary, and the usable size is the
 * requested size (the canary follows it). */
#ifndef SLAB_DEBUG
#define SLAB_DEBUG 0
#endif
#define CANARY ((size_t)(SLAB_DEBUG ? 8 : 0))

#define LIVE_MAX 4096
#define CHECK_EVERY 100000
#define PHASE_OPS 20000

enum kind { K_MALLOC, K_CALLOC, K_ALIGNED, K_REALLOC };

struct blk {
    char *p;
    size_t size;  /* requested */
    size_t fill;  /* bytes patterned: the usable size */
    uint64_t tag;
    int cls;      /* expected class, -1 for the large path */
    int sized_ok; /* may be freed with slab_free_sized (malloc and calloc blocks) */
};

struct shadow {
    const char *opts;
    struct slab_pool *pool;
    uint64_t rng, next_tag;
    struct blk live[LIVE_MAX];
    size_t n_live;
    unsigned n_classes;
    size_t cls_size[SLAB_MAX_CLASSES], max_class, floor;
    int thread_cache;
    /* what the pool's counters must say */
    uint64_t allocs[SLAB_MAX_CLASSES], requested[SLAB_MAX_CLASSES];
    uint64_t live_cls[SLAB_MAX_CLASSES];
    uint64_t live_large, large_allocs;
    uint64_t large_resizes; /* large -> large reallocs: may resize in place (not an allocation) or allocate anew */
    /* seen along the way, so the test knows it exercised what it claims */
    uint64_t max_in_magazines, ops_by_kind[8], large_frees, sized_frees, inplace_reallocs, stats_checks;
};

static int a_static;

/* The class the pool must use for size (and align), or -1 for the large path:
 * the smallest class holding size, then for an alignment above 16 the first
 * class from there whose size is a multiple of it. */
static int expect_class(const struct shadow *m, size_t size, size_t align)
{
    if (size > m->max_class - CANARY)
        return -1;
    unsigned c = 0;
    while (m->cls_size[c] < size + CANARY)
        c++;
    if (align <= 16)
        return (int)c;
    if (align > SLAB_SIZE)
        return -1;
    for (; c < m->n_classes; c++)
        if (m->cls_size[c] % align == 0)
            return (int)c;
    return -1;
}

static size_t pick_size(struct shadow *m)
{
    uint64_t r = rng_below(&m->rng, 1000);
    if (r < 10)
        return 0;
    if (r < 500)
        return rng_range(&m->rng, 1, 128);
    if (r < 800)
        return rng_range(&m->rng, 129, 1024);
    if (r < 975)
        return rng_range(&m->rng, 1025, 4096);
    if (r < 985) /* just past the largest class, either side */
        return rng_range(&m->rng, m->max_class > 64 ? m->max_class - 64 : 1, m->max_class + 64);
    return rng_range(&m->rng, 4097, rng_below(&m->rng, 8) ? 32768 : 300000);
}

/* The pool handed out q for size, to go in class c: check it and account it. */
static void took(struct shadow *m, struct blk *b, char *q, size_t size, size_t align, int c)
{
    if (!q)
        fail_msg("[%s] allocation of %zu (align %zu) failed: %s", m->opts, size, align, strerror(errno));
    if ((uintptr_t)q % (align < 16 ? 16 : align))
        fail_msg("[%s] %p for %zu bytes not aligned to %zu", m->opts, (void *)q, size, align);
    size_t usable = slab_usable_size(m->pool, q);
    if (SLAB_DEBUG ? usable != size : c >= 0 ? usable != m->cls_size[c] : usable < size)
        fail_msg("[%s] %p for %zu bytes (align %zu): usable %zu, expected %s %zu", m->opts, (void *)q, size, align,
                 usable, SLAB_DEBUG ? "the size" : c >= 0 ? "class size" : "at least",
                 SLAB_DEBUG || c < 0 ? size : m->cls_size[c]);
    if (!slab_owns(m->pool, q))
        fail_msg("[%s] slab_owns(%p) = 0 for a live block", m->opts, (void *)q);
    b->p = q;
    b->size = size;
    b->fill = usable;
    b->cls = c;
    if (c >= 0) {
        m->allocs[c]++;
        m->requested[c] += size;
        m->live_cls[c]++;
    } else {
        m->large_allocs++;
        m->live_large++;
    }
}

static void drop(struct shadow *m, const struct blk *b)
{
    if (b->cls >= 0)
        m->live_cls[b->cls]--;
    else
        m->live_large--;
}

static void stamp(struct shadow *m, struct blk *b)
{
    b->tag = ++m->next_tag * UINT64_C(0xD6E8FEB86659FD93);
    pat_fill(b->p, b->fill, b->tag);
}

static void do_alloc(struct shadow *m)
{
    struct blk *b = &m->live[m->n_live];
    uint64_t r = rng_below(&m->rng, 100);
    size_t size = pick_size(m);
    if (r < 70) {
        took(m, b, slab_alloc(m->pool, size), size, 16, expect_class(m, size, 16));
        b->sized_ok = 1;
        m->ops_by_kind[K_MALLOC]++;
    } else if (r < 85) {
        static const size_t elems[] = { 1, 2, 3, 4, 8, 12, 16, 24, 100 };
        size_t e = elems[rng_below(&m->rng, sizeof elems / sizeof elems[0])], n = size / e;
        took(m, b, slab_calloc(m->pool, n, e), n * e, 16, expect_class(m, n * e, 16));
        size_t bad = find_nonzero(b->p, n * e);
        if (bad != SIZE_MAX)
            fail_msg("[%s] calloc(%zu, %zu) = %p: byte %zu not zero", m->opts, n, e, (void *)b->p, bad);
        b->sized_ok = 1;
        m->ops_by_kind[K_CALLOC]++;
    } else {
        size_t align = (size_t)16 << rng_below(&m->rng, rng_below(&m->rng, 8) ? 9 : 14); /* 16..4K, or to 128K */
        took(m, b, slab_aligned_alloc(m->pool, align, size), size, align, expect_class(m, size, align));
        b->sized_ok = 0; /* slab.h: free_sized is not for aligned blocks */
        m->ops_by_kind[K_ALIGNED]++;
    }
    stamp(m, b);
    m->n_live++;
}

static void verify(struct shadow *m, const struct blk *b)
{
    size_t bad = pat_find_bad(b->p, b->fill, b->tag);
    if (bad != SIZE_MAX)
        fail_msg("[%s] block %p (%zu bytes, class %d): pattern broken at offset %zu: overlap or corruption", m->opts,
                 (void *)b->p, b->size, b->cls, bad);
}

static void remove_at(struct shadow *m, size_t i)
{
    m->live[i] = m->live[--m->n_live];
}

static void do_free(struct shadow *m, size_t i)
{
    struct blk *b = &m->live[i];
    verify(m, b);
    drop(m, b);
    if (b->sized_ok && rng_below(&m->rng, 2)) {
        slab_free_sized(m->pool, b->p, b->size);
        m->sized_frees++;
    } else {
        slab_free(m->pool, b->p);
    }
    if (b->cls < 0) {
        /* The registry forgets it at once (nothing allocated since). */
        if (slab_owns(m->pool, b->p))
            fail_msg("[%s] slab_owns(%p) = 1 right after the large block was freed", m->opts, (void *)b->p);
        m->large_frees++;
    }
    remove_at(m, i);
}

static void do_realloc(struct shadow *m, size_t i)
{
    struct blk *b = &m->live[i];
    struct blk old = *b;
    verify(m, b);
    size_t size = rng_below(&m->rng, 100) ? pick_size(m) : 0;
    m->ops_by_kind[K_REALLOC]++;
    if (size == 0) { /* realloc to 0 frees */
        drop(m, b);
        errno = 0;
        assert_null(slab_realloc(m->pool, b->p, 0));
        remove_at(m, i);
        return;
    }
    /* The block stays where it is when the new size maps to its class. */
    int same = old.cls >= 0 && size <= m->max_class && expect_class(m, size, 16) == old.cls;
    char *q = slab_realloc(m->pool, b->p, size);
    if (same) {
        if (q != old.p)
            fail_msg("[%s] realloc(%p, %zu) moved within class %d", m->opts, (void *)old.p, size, old.cls);
        b->size = size;
        b->fill = slab_usable_size(m->pool, q); /* debug build: the new size */
        m->inplace_reallocs++;
    } else {
        drop(m, &old);
        int c = expect_class(m, size, 16);
        took(m, b, q, size, 16, c);
        if (old.cls < 0 && c < 0) {
            m->large_allocs--; /* counted in [large_allocs, large_allocs + large_resizes] */
            m->large_resizes++;
        }
    }
    /* The first min(old usable, new size) bytes come along. */
    size_t keep = old.fill < size ? old.fill : size;
    size_t bad = pat_find_bad(q, keep, old.tag);
    if (bad != SIZE_MAX)
        fail_msg("[%s] realloc(%p -> %p, %zu -> %zu): byte %zu not carried over", m->opts, (void *)old.p, (void *)q,
                 old.size, size, bad);
    b->sized_ok = 0;
    stamp(m, b);
}

/* The pool's stats against the model. */
static void check_stats(struct shadow *m)
{
    struct slab_stats s;
    slab_stats(m->pool, &s);
    assert_int_equal(s.n_classes, m->n_classes);
    uint64_t in_mag = 0, slabs = 0;
    for (unsigned c = 0; c < m->n_classes; c++) {
        const struct slab_class_stats *k = &s.cls[c];
        if (k->in_use != m->live_cls[c] + k->in_magazines)
            fail_msg("[%s] class %u (%zu B): in_use %llu, model %llu live + %llu in magazines", m->opts, c,
                     m->cls_size[c], (unsigned long long)k->in_use, (unsigned long long)m->live_cls[c],
                     (unsigned long long)k->in_magazines);
        if (k->allocs != m->allocs[c] || k->requested != m->requested[c])
            fail_msg("[%s] class %u: allocs %llu requested %llu, model %llu and %llu", m->opts, c,
                     (unsigned long long)k->allocs, (unsigned long long)k->requested,
                     (unsigned long long)m->allocs[c], (unsigned long long)m->requested[c]);
        if (!m->thread_cache && k->in_magazines)
            fail_msg("[%s] class %u: %llu chunks in magazines without a thread cache", m->opts, c,
                     (unsigned long long)k->in_magazines);
        in_mag += k->in_magazines;
        slabs += k->slabs;
        /* the slabs the class holds can hold what it has out */
        assert_true(k->in_use <= k->slabs * (SLAB_SIZE / m->cls_size[c]));
    }
    if (in_mag > m->max_in_magazines)
        m->max_in_magazines = in_mag;
    assert_int_equal(s.large_count, m->live_large);
    if (s.large_allocs < m->large_allocs || s.large_allocs > m->large_allocs + m->large_resizes)
        fail_msg("[%s] large_allocs %llu, model %llu + up to %llu large->large reallocs", m->opts,
                 (unsigned long long)s.large_allocs, (unsigned long long)m->large_allocs,
                 (unsigned long long)m->large_resizes);
    assert_int_equal(s.prealloc, m->floor);
    assert_true(s.committed >= m->floor);
    assert_int_equal(s.committed % SLAB_SIZE, 0);
    assert_true(s.committed >= slabs * SLAB_SIZE);
    assert_int_equal(s.overflow, s.committed - m->floor);
    /* Ownership: never a stack, glibc heap or static address. */
    int local;
    void *heap = malloc(64);
    assert_false(slab_owns(m->pool, &local));
    assert_false(slab_owns(m->pool, heap));
    assert_false(slab_owns(m->pool, &a_static));
    assert_false(slab_owns(m->pool, NULL));
    free(heap);
    m->stats_checks++;
}

/* Distinct slabs holding the model's live chunks (an open-addressing set: no
 * allocation here, so the test's own mappings do not move). */
static size_t distinct_slabs(const struct shadow *m)
{
    static uintptr_t set[2 * LIVE_MAX];
    size_t distinct = 0;
    memset(set, 0, sizeof set);
    for (size_t i = 0; i < m->n_live; i++) {
        if (m->live[i].cls < 0)
            continue;
        uintptr_t slab = ((uintptr_t)m->live[i].p >> SLAB_SHIFT) + 1;
        size_t h = (size_t)(slab * UINT64_C(0x9E3779B97F4A7C15) >> 40) % (2 * LIVE_MAX);
        while (set[h] && set[h] != slab)
            h = (h + 1) % (2 * LIVE_MAX);
        if (!set[h]) {
            set[h] = slab;
            distinct++;
        }
    }
    return distinct;
}

/* After slab_trim: no chunk in this thread's magazines, no spare, and so each
 * class holds exactly the slabs of its live chunks; committed is the floor plus
 * those of them above it. */
static void check_after_trim(struct shadow *m, size_t released)
{
    check_stats(m);
    struct slab_stats s;
    slab_stats(m->pool, &s);
    size_t distinct = distinct_slabs(m);
    uint64_t slabs = 0;
    for (unsigned c = 0; c < m->n_classes; c++) {
        assert_int_equal(s.cls[c].in_magazines, 0);
        slabs += s.cls[c].slabs;
    }
    if (slabs != distinct)
        fail_msg("[%s] after trim the classes hold %llu slabs; the live chunks are in %zu", m->opts,
                 (unsigned long long)slabs, distinct);
    assert_true(s.committed <= m->floor + distinct * SLAB_SIZE);
    assert_true(s.committed >= distinct * SLAB_SIZE);
    assert_true(s.empty_slabs * SLAB_SIZE <= m->floor); /* only pre-allocated ones are kept */
    assert_true(s.released >= released);
}

static void run_shadow(const char *opts, uint64_t seed, uint64_t ops)
{
    static struct shadow model; /* large: not on the stack */
    struct shadow *m = &model;
    memset(m, 0, sizeof *m);
    m->opts = *opts ? opts : "defaults";
    m->rng = seed;
    struct slab_config cfg = config_from(opts);
    m->thread_cache = cfg.thread_cache;
    size_t vm_before = vm_size();
    m->pool = slab_create(&cfg);
    assert_non_null(m->pool);
    struct slab_stats s;
    slab_stats(m->pool, &s);
    m->n_classes = s.n_classes;
    for (unsigned c = 0; c < s.n_classes; c++)
        m->cls_size[c] = s.cls[c].size;
    m->max_class = m->cls_size[m->n_classes - 1];
    m->floor = s.prealloc;
    assert_true(m->floor >= cfg.prealloc);

    int growing = 1;
    for (uint64_t op = 1; op <= ops; op++) {
        if (op % PHASE_OPS == 0)
            growing = !growing;
        uint64_t r = rng_below(&m->rng, 100);
        int alloc = m->n_live == 0 || (m->n_live < LIVE_MAX && r < (growing ? 62u : 38u));
        if (alloc) {
            do_alloc(m);
        } else {
            size_t i = rng_below(&m->rng, m->n_live);
            if (rng_below(&m->rng, 5) == 0)
                do_realloc(m, i);
            else
                do_free(m, i);
        }
        if (op % CHECK_EVERY == 0)
            check_stats(m);
        if (op == ops / 2) {
            slab_stats(m->pool, &s);
            size_t released = s.released;
            slab_trim(m->pool);
            check_after_trim(m, released);
        }
    }
    /* Free everything (verified), then trim: back to the floor. */
    while (m->n_live)
        do_free(m, m->n_live - 1);
    slab_thread_flush(m->pool);
    check_stats(m);
    slab_stats(m->pool, &s);
    assert_int_equal(s.large_bytes, 0);
    slab_trim(m->pool);
    check_after_trim(m, 0);
    slab_stats(m->pool, &s);
    if (s.committed != m->floor || s.committed > m->floor + m->n_classes * SLAB_SIZE)
        fail_msg("[%s] after freeing everything and slab_trim, committed %zu, floor %zu", m->opts, s.committed,
                 m->floor);
    for (unsigned c = 0; c < m->n_classes; c++) {
        assert_int_equal(s.cls[c].in_use, 0);
        assert_int_equal(s.cls[c].slabs, 0);
    }
    /* The released slabs serve again. */
    for (unsigned i = 0; i < 2000; i++)
        do_alloc(m);
    while (m->n_live)
        do_free(m, m->n_live - 1);
    check_stats(m);

    /* It did what it claims. */
    assert_true(m->stats_checks >= ops / CHECK_EVERY);
    assert_true(m->large_frees > 100);
    assert_true(m->sized_frees > 1000);
    assert_true(m->inplace_reallocs > 100);
    for (unsigned k = 0; k <= K_REALLOC; k++)
        assert_true(m->ops_by_kind[k] > 1000);
    if (m->thread_cache)
        assert_true(m->max_in_magazines > 0);
    print_message("[%s] %llu ops, %llu stats checks, up to %llu chunks in magazines, %llu large frees\n", m->opts,
                  (unsigned long long)ops, (unsigned long long)m->stats_checks,
                  (unsigned long long)m->max_in_magazines, (unsigned long long)m->large_frees);
    slab_destroy(m->pool);
    assert_int_equal(vm_size(), vm_before);
}

static void test_shadow_default(void **state)
{
    (void)state;
    run_shadow("", 1, 1000000);
}

static void test_shadow_locked(void **state)
{
    (void)state;
    run_shadow("thread_cache=0", 2, 800000);
}

/* A magazine of 2 refills and flushes all the time; odd class sizes. */
static void test_shadow_small_magazine_odd_classes(void **state)
{
    (void)state;
    run_shadow("magazine=2,classes=16:48:80:208:496:1024:2000:4000", 3, 800000);
}

/* Four per doubling, a floor, and idle_ms=0: emptied slabs past the floor go
 * back to the OS at once and are reused from there (they read as zeros: a chunk
 * still in use in one would show). A magazine of 7: odd halves. */
static void test_shadow_release_at_once(void **state)
{
    (void)state;
    run_shadow("classes_per_doubling=4,prealloc=2M,idle_ms=0,magazine=7", 4, 800000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shadow_default),
        cmocka_unit_test(test_shadow_locked),
        cmocka_unit_test(test_shadow_small_magazine_odd_classes),
        cmocka_unit_test(test_shadow_release_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
