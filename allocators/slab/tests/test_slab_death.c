/* test_slab_death.c - frees the pool must refuse: each case runs in a forked
 * child, which must die of SIGABRT with the pool's message on stderr
 * ("slab: free(0x...): <why>"), naming the pointer it was given.
 *
 * (These are the checks of the normal build; double frees of small chunks and
 * writes past a chunk are the debug build's.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/mman.h>

#include "slab_test_util.h"
#include "death_test.h"

#define NOT_OURS "not a pointer from this pool"
#define NO_CHUNKS "pointer into a slab that holds no chunks"

/* A pointer 16 bytes into a live large block: not the block. */
static void free_large_interior(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *big = slab_alloc(p, 100000);
    v->ptr = big + 16;
    slab_free(p, big + 16);
}

/* A large block freed twice: the registry no longer knows it. */
static void free_large_twice(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *big = slab_alloc(p, 100000);
    slab_free(p, big);
    v->ptr = big;
    slab_free(p, big);
}

/* A pre-allocated slab that no class ever used. */
static void free_unused_floor_slab(struct victim *v)
{
    struct slab_pool *p = cpool("prealloc=1M");
    char *q = slab_alloc(p, 64); /* the first slab of the region */
    char *base = (char *)((uintptr_t)q & ~(uintptr_t)(SLAB_SIZE - 1));
    v->ptr = base + 9 * SLAB_SIZE + 128; /* slab 9 of the 16 pre-allocated */
    slab_free(p, v->ptr);
}

/* A slab that held chunks, emptied and released back to the OS. */
static void free_released_slab(struct victim *v)
{
    struct slab_pool *p = cpool("idle_ms=0");
    char *q[64];
    for (unsigned i = 0; i < 64; i++)
        q[i] = slab_alloc(p, 2048); /* 32 per slab: two slabs */
    for (unsigned i = 0; i < 64; i++)
        slab_free(p, q[i]);
    slab_trim(p); /* both slabs empty, released */
    struct slab_stats s;
    slab_stats(p, &s);
    if (s.committed != 0)
        _exit(3);
    v->ptr = q[5];
    slab_free(p, q[5]);
}

/* Within the reserved region, a slab no class has used yet, past the floor. */
static void free_untouched_slab(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 64);
    v->ptr = q + 100 * SLAB_SIZE;
    slab_free(p, v->ptr);
}

static void realloc_foreign(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char buf[32];
    v->ptr = buf;
    slab_realloc(p, buf, 100);
}

/* free_sized skips the descriptor lookup for the class, but a pointer that is
 * not in the region at all must still be refused, not cached. */
static void free_sized_foreign(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char buf[64];
    slab_free(p, slab_alloc(p, 32));
    v->ptr = buf;
    slab_free_sized(p, buf, 32);
}

static void test_free_stack(void **state)
{
    (void)state;
    expect_abort(free_stack, NOT_OURS);
}

static void test_free_glibc(void **state)
{
    (void)state;
    expect_abort(free_glibc, NOT_OURS);
}

static void test_free_static(void **state)
{
    (void)state;
    expect_abort(free_static, NOT_OURS);
}

static void test_free_large_interior(void **state)
{
    (void)state;
    expect_abort(free_large_interior, NOT_OURS);
}

static void test_free_large_twice(void **state)
{
    (void)state;
    expect_abort(free_large_twice, NOT_OURS);
}

static void test_free_other_pool(void **state)
{
    (void)state;
    expect_abort(free_other_pool, NOT_OURS);
}

static void test_free_unused_floor_slab(void **state)
{
    (void)state;
    expect_abort(free_unused_floor_slab, NO_CHUNKS);
}

static void test_free_released_slab(void **state)
{
    (void)state;
    expect_abort(free_released_slab, NO_CHUNKS);
}

static void test_realloc_foreign(void **state)
{
    (void)state;
    expect_abort(realloc_foreign, "realloc of a pointer not from this pool");
}

static void test_free_untouched_slab(void **state)
{
    (void)state;
    expect_abort(free_untouched_slab, NO_CHUNKS);
}

static void test_free_sized_foreign(void **state)
{
    (void)state;
    expect_abort(free_sized_foreign, NOT_OURS);
}

/* The parent's own use of a pool is unaffected by the deaths (and leaves no mapping). */
static void test_parent_pool_fine(void **state)
{
    (void)state;
    shared_victim(); /* mapped once, before the count */
    size_t vm_before = vm_size();
    struct slab_pool *p = pool_from("prealloc=1M");
    char *q = slab_alloc(p, 100);
    pat_fill(q, 100, 1);
    expect_abort(free_stack, NOT_OURS);
    assert_pattern(q, 100, 1);
    slab_free(p, q);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_stack),
        cmocka_unit_test(test_free_glibc),
        cmocka_unit_test(test_free_static),
        cmocka_unit_test(test_free_large_interior),
        cmocka_unit_test(test_free_large_twice),
        cmocka_unit_test(test_free_other_pool),
        cmocka_unit_test(test_free_unused_floor_slab),
        cmocka_unit_test(test_free_released_slab),
        cmocka_unit_test(test_realloc_foreign),
        cmocka_unit_test(test_free_untouched_slab),
        cmocka_unit_test(test_free_sized_foreign),
        cmocka_unit_test(test_parent_pool_fine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
