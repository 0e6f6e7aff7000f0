/* test_slab_debug.c - the debug build's checks (-DSLAB_DEBUG=1, allocators/slab/debug.c;
 * built only against build/debug/).
 *
 * Death tests: each case runs in a forked child, which must die of SIGABRT
 * with the pool's message on stderr ("slab: free(0x...): <why>") naming the
 * pointer it was given: double frees (small with and without the thread cache,
 * from a magazine, sized, across threads; large), foreign pointers (stack,
 * static, glibc's, inside a block, another pool's), writes one byte past the
 * requested size (small, large, a block kept in place by realloc, caught by
 * realloc itself), realloc of a freed block, a sized free with the wrong size.
 * Positive tests: correct use at every edge (the whole requested size written,
 * class edges, aligned, calloc, realloc both ways, free_if_owned) runs clean,
 * and destroy leaves nothing mapped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include "slab_test_util.h"
#include "death_test.h"

#define CANARY 8
#define DOUBLE_FREE "double free (or never allocated)"
#define FOREIGN "double free or foreign pointer"
#define INSIDE "free of a pointer inside a block"

/* ---- double frees ---- */

static void double_free_small(const char *opts, struct victim *v)
{
    struct slab_pool *p = cpool(opts);
    char *q = slab_alloc(p, 40);
    memset(q, 1, 40);
    slab_free(p, q);
    v->ptr = q;
    slab_free(p, q);
}

static void df_small_tcache(struct victim *v)
{
    double_free_small("", v);
}

static void df_small_locked(struct victim *v)
{
    double_free_small("thread_cache=0", v);
}

/* The first free left the chunk in the middle of this thread's magazine,
 * among others freed before and after it. */
static void df_in_magazine(struct victim *v)
{
    struct slab_pool *p = cpool("magazine=64");
    char *q[20];
    for (unsigned i = 0; i < 20; i++)
        q[i] = slab_alloc(p, 100);
    for (unsigned i = 0; i < 20; i++)
        slab_free(p, q[i]);
    v->ptr = q[7];
    slab_free(p, q[7]);
}

/* The chunk went back to its slab (magazine flushed) before the second free. */
static void df_after_flush(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 100), *keep = slab_alloc(p, 100); /* keep: the slab stays in the class */
    slab_free(p, q);
    slab_thread_flush(p);
    (void)keep;
    v->ptr = q;
    slab_free(p, q);
}

static void df_sized(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 64);
    slab_free_sized(p, q, 64);
    v->ptr = q;
    slab_free_sized(p, q, 64);
}

static void *free_in_thread(void *arg)
{
    void **a = arg;
    slab_free(a[0], a[1]);
    return NULL;
}

/* Freed by another thread (into its magazine), then here. */
static void df_cross_thread(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 200);
    void *arg[2] = { p, q };
    pthread_t t;
    if (pthread_create(&t, NULL, free_in_thread, arg) != 0)
        _exit(3);
    pthread_join(t, NULL);
    v->ptr = q;
    slab_free(p, q);
}

static void df_large(const char *opts, struct victim *v)
{
    struct slab_pool *p = cpool(opts);
    char *big = slab_alloc(p, 100000);
    slab_free(p, big);
    v->ptr = big;
    slab_free(p, big);
}

static void df_large_tcache(struct victim *v)
{
    df_large("", v);
}

static void df_large_locked(struct victim *v)
{
    df_large("thread_cache=0", v);
}

/* A chunk of a live slab that was never handed out. */
static void free_never_allocated(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 56); /* 56 + the canary: the 64-byte class */
    v->ptr = q + 64 * 10;        /* a chunk start in the same slab: no one has it */
    slab_free(p, v->ptr);
}

/* ---- foreign pointers ---- */

static void free_inside_small(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 64);
    v->ptr = q + 16;
    slab_free(p, q + 16);
}

static void free_inside_small_odd(struct victim *v)
{
    struct slab_pool *p = cpool("thread_cache=0");
    char *q = slab_alloc(p, 1000);
    v->ptr = q + 1;
    slab_free(p, q + 1);
}

static void free_inside_large(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *big = slab_alloc(p, 100000);
    v->ptr = big + 16;
    slab_free(p, big + 16);
}

/* ---- writes past the end ---- */

static void overrun(const char *opts, size_t size, struct victim *v)
{
    struct slab_pool *p = cpool(opts);
    char *q = slab_alloc(p, size);
    memset(q, 7, size); /* every requested byte: fine */
    q[size] = 0;        /* one past: not */
    v->ptr = q;
    slab_free(p, q);
}

static void overrun_24(struct victim *v)
{
    overrun("", 24, v);
}

static void overrun_24_locked(struct victim *v)
{
    overrun("thread_cache=0", 24, v);
}

static void overrun_0(struct victim *v)
{
    overrun("", 0, v);
}

/* The largest size that still gets a chunk (the canary fills the class's last bytes). */
static void overrun_class_top(struct victim *v)
{
    overrun("", 4096 - CANARY, v);
}

static void overrun_large(struct victim *v)
{
    overrun("", 100000, v);
}

/* Just past the largest class with the canary: large. */
static void overrun_large_edge(struct victim *v)
{
    overrun("", 4096 - CANARY + 1, v);
}

/* The last canary byte (one byte written 8 past the end). */
static void overrun_last_canary_byte(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 50);
    q[50 + CANARY - 1] ^= 0x5a;
    v->ptr = q;
    slab_free(p, q);
}

static void overrun_sized(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 33);
    q[33] = 'x';
    v->ptr = q;
    slab_free_sized(p, q, 33);
}

static void overrun_aligned(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_aligned_alloc(p, 256, 300);
    q[300] = 0;
    v->ptr = q;
    slab_free(p, q);
}

/* realloc keeps the block (same class), shrinking: the canary moves to the new end. */
static void overrun_realloc_shrunk(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 40); /* class 48 */
    char *r = slab_realloc(p, q, 36);
    if (r != q)
        _exit(3);
    r[36] = 0; /* within the old size, past the new one */
    v->ptr = r;
    slab_free(p, r);
}

/* realloc keeps the block, growing: the new end is checked. */
static void overrun_realloc_grown(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 20); /* 28 with the canary: class 32 */
    char *r = slab_realloc(p, q, 24);
    if (r != q)
        _exit(3);
    memset(r, 1, 24);
    r[24] = 0;
    v->ptr = r;
    slab_free(p, r);
}

/* A large block resized within its pages stays put: the canary follows the new size. */
static void overrun_realloc_large(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 100000);
    char *r = slab_realloc(p, q, 100100);
    if (r != q)
        _exit(3);
    r[100100] = 0;
    v->ptr = r;
    slab_free(p, r);
}

/* The write past the end is found when the block is reallocated. */
static void overrun_then_realloc(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 24);
    q[24] = 0;
    v->ptr = q;
    slab_realloc(p, q, 1000);
}

static void realloc_freed(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 24);
    slab_free(p, q);
    v->ptr = q;
    slab_realloc(p, q, 1000);
}

static void realloc_inside(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 64);
    v->ptr = q + 32;
    slab_realloc(p, q + 32, 10);
}

static void sized_wrong_size(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_alloc(p, 40);
    v->ptr = q;
    slab_free_sized(p, q, 30); /* same class in release: silently fine there, but wrong */
}

static void sized_aligned(struct victim *v)
{
    struct slab_pool *p = cpool("");
    char *q = slab_aligned_alloc(p, 1024, 100); /* a 1024-byte class, not 100's */
    v->ptr = q;
    slab_free_sized(p, q, 100);
}

#define DEATH(name, fn, why)                                                                                  \
    static void test_##name(void **state)                                                                     \
    {                                                                                                         \
        (void)state;                                                                                          \
        expect_abort(fn, why);                                                                                \
    }

DEATH(df_small_tcache, df_small_tcache, DOUBLE_FREE)
DEATH(df_small_locked, df_small_locked, DOUBLE_FREE)
DEATH(df_in_magazine, df_in_magazine, DOUBLE_FREE)
DEATH(df_after_flush, df_after_flush, DOUBLE_FREE)
DEATH(df_sized, df_sized, DOUBLE_FREE)
DEATH(df_cross_thread, df_cross_thread, DOUBLE_FREE)
DEATH(df_large_tcache, df_large_tcache, FOREIGN)
DEATH(df_large_locked, df_large_locked, FOREIGN)
DEATH(free_never_allocated, free_never_allocated, DOUBLE_FREE)
DEATH(free_stack, free_stack, FOREIGN)
DEATH(free_static, free_static, FOREIGN)
DEATH(free_glibc, free_glibc, FOREIGN)
DEATH(free_inside_small, free_inside_small, INSIDE)
DEATH(free_inside_small_odd, free_inside_small_odd, INSIDE)
DEATH(free_inside_large, free_inside_large, FOREIGN)
DEATH(free_other_pool, free_other_pool, FOREIGN)
DEATH(overrun_24, overrun_24, "write past the end of a 24-byte block")
DEATH(overrun_24_locked, overrun_24_locked, "write past the end of a 24-byte block")
DEATH(overrun_0, overrun_0, "write past the end of a 0-byte block")
DEATH(overrun_class_top, overrun_class_top, "write past the end of a 4088-byte block")
DEATH(overrun_large, overrun_large, "write past the end of a 100000-byte block")
DEATH(overrun_large_edge, overrun_large_edge, "write past the end of a 4089-byte block")
DEATH(overrun_last_canary_byte, overrun_last_canary_byte, "write past the end of a 50-byte block")
DEATH(overrun_sized, overrun_sized, "write past the end of a 33-byte block")
DEATH(overrun_aligned, overrun_aligned, "write past the end of a 300-byte block")
DEATH(overrun_realloc_shrunk, overrun_realloc_shrunk, "write past the end of a 36-byte block")
DEATH(overrun_realloc_grown, overrun_realloc_grown, "write past the end of a 24-byte block")
DEATH(overrun_realloc_large, overrun_realloc_large, "write past the end of a 100100-byte block")
DEATH(overrun_then_realloc, overrun_then_realloc, "write past the end of a 24-byte block")
DEATH(realloc_freed, realloc_freed, "realloc of a freed block")
DEATH(realloc_inside, realloc_inside, "realloc of a pointer inside a block")
DEATH(sized_wrong_size, sized_wrong_size, "sized free with the wrong size (the block has 40 bytes)")
DEATH(sized_aligned, sized_aligned, "sized free of a block whose class is not its size's")

/* ---- correct programs run clean ---- */

/* Every edge, every byte of every block written, in both cache modes. */
static void clean_run(const char *opts)
{
    struct slab_pool *p = pool_from(opts);
    static const size_t sizes[] = { 0, 1, 7, 8, 9, 15, 16, 17, 24, 40, 120, 121, 128, 1000, 4087, 4088, 4089,
                                    4096, 4097, 5000, 65536, 100000, 1 << 20 };
    enum { N = sizeof sizes / sizeof sizes[0] };
    char *q[N];
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            q[i] = slab_alloc(p, sizes[i]);
            assert_non_null(q[i]);
            assert_int_equal(slab_usable_size(p, q[i]), sizes[i]); /* the requested size */
            assert_true(slab_owns(p, q[i]));
            pat_fill(q[i], sizes[i], i);
        }
        for (size_t i = 0; i < N; i++) {
            assert_pattern(q[i], sizes[i], i);
            /* realloc up and down (in place or moved), writing the whole new size */
            size_t to = sizes[(i * 7 + (size_t)round) % N];
            char *r = slab_realloc(p, q[i], to ? to : 1);
            assert_non_null(r);
            size_t keep = sizes[i] < to ? sizes[i] : to;
            assert_pattern(r, keep, i);
            assert_int_equal(slab_usable_size(p, r), to ? to : 1);
            memset(r, 0xee, to ? to : 1);
            q[i] = r;
        }
        for (size_t i = 0; i < N; i++)
            if (i % 3 == 0)
                slab_free(p, q[i]);
            else if (i % 3 == 1)
                assert_int_equal(slab_free_if_owned(p, q[i]), 0);
            else
                slab_free(p, q[i]);
    }
    /* calloc, aligned, sized frees with the right size */
    for (size_t n = 1; n < 5000; n += 37) {
        char *c = slab_calloc(p, 1, n);
        assert_int_equal(find_nonzero(c, n), SIZE_MAX);
        memset(c, 0xff, n);
        slab_free_sized(p, c, n);
        char *a = slab_aligned_alloc(p, 64, n);
        assert_int_equal((uintptr_t)a % 64, 0);
        memset(a, 0xff, n);
        slab_free(p, a);
    }
    /* the same chunk over and over through the magazine */
    for (int i = 0; i < 10000; i++) {
        char *a = slab_alloc(p, 48), *b = slab_alloc(p, 48);
        memset(a, 1, 48);
        memset(b, 2, 48);
        slab_free(p, b);
        slab_free(p, a);
    }
    /* overflowing requests still fail cleanly */
    errno = 0;
    assert_null(slab_alloc(p, SIZE_MAX));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(slab_alloc(p, SIZE_MAX - 4));
    assert_int_equal(errno, ENOMEM);
    slab_destroy(p);
}

static void test_clean_tcache(void **state)
{
    (void)state;
    clean_run("");
}

static void test_clean_locked(void **state)
{
    (void)state;
    clean_run("thread_cache=0,idle_ms=0");
}

static void test_clean_odd_classes(void **state)
{
    (void)state;
    clean_run("classes=16:48:80:208:496:1024:2000:4000,magazine=3");
}

/* The side table goes with the pool; pools come and go. */
static void test_destroy_unmaps(void **state)
{
    (void)state;
    shared_victim();
    size_t before = vm_size();
    for (int i = 0; i < 3; i++) {
        struct slab_pool *p = pool_from("prealloc=1M");
        char *q = slab_alloc(p, 100);
        slab_free(p, q);
        slab_destroy(p);
    }
    assert_int_equal(vm_size(), before);
}

/* The parent's own pool is unaffected by the deaths. */
static void test_parent_pool_fine(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("");
    char *q = slab_alloc(p, 100);
    pat_fill(q, 100, 1);
    expect_abort(df_small_tcache, DOUBLE_FREE);
    assert_pattern(q, 100, 1);
    slab_free(p, q);
    slab_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_df_small_tcache),
        cmocka_unit_test(test_df_small_locked),
        cmocka_unit_test(test_df_in_magazine),
        cmocka_unit_test(test_df_after_flush),
        cmocka_unit_test(test_df_sized),
        cmocka_unit_test(test_df_cross_thread),
        cmocka_unit_test(test_df_large_tcache),
        cmocka_unit_test(test_df_large_locked),
        cmocka_unit_test(test_free_never_allocated),
        cmocka_unit_test(test_free_stack),
        cmocka_unit_test(test_free_static),
        cmocka_unit_test(test_free_glibc),
        cmocka_unit_test(test_free_inside_small),
        cmocka_unit_test(test_free_inside_small_odd),
        cmocka_unit_test(test_free_inside_large),
        cmocka_unit_test(test_free_other_pool),
        cmocka_unit_test(test_overrun_24),
        cmocka_unit_test(test_overrun_24_locked),
        cmocka_unit_test(test_overrun_0),
        cmocka_unit_test(test_overrun_class_top),
        cmocka_unit_test(test_overrun_large),
        cmocka_unit_test(test_overrun_large_edge),
        cmocka_unit_test(test_overrun_last_canary_byte),
        cmocka_unit_test(test_overrun_sized),
        cmocka_unit_test(test_overrun_aligned),
        cmocka_unit_test(test_overrun_realloc_shrunk),
        cmocka_unit_test(test_overrun_realloc_grown),
        cmocka_unit_test(test_overrun_realloc_large),
        cmocka_unit_test(test_overrun_then_realloc),
        cmocka_unit_test(test_realloc_freed),
        cmocka_unit_test(test_realloc_inside),
        cmocka_unit_test(test_sized_wrong_size),
        cmocka_unit_test(test_sized_aligned),
        cmocka_unit_test(test_clean_tcache),
        cmocka_unit_test(test_clean_locked),
        cmocka_unit_test(test_clean_odd_classes),
        cmocka_unit_test(test_destroy_unmaps),
        cmocka_unit_test(test_parent_pool_fine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
