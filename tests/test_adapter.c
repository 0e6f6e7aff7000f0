/* test_adapter.c - behaviour tests for one allocator adapter.
 *
 * Linked once per allocator with its adapter and library, e.g.
 *   gcc -std=c17 -D_GNU_SOURCE tests/test_adapter.c allocators/jemalloc.c \
 *       -ljemalloc -lcmocka -pthread -o build/test_adapter-jemalloc
 * and tests whatever `allocator_under_test` that links in. An optional entry
 * that is NULL makes its test SKIP (visible), never pass silently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../allocators/allocator.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__SANITIZE_ADDRESS__)
/* ASan aborts on calloc overflow by default; the contract here is NULL. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static const struct allocator *const A = &allocator_under_test;

/* ---- helpers ---------------------------------------------------------- */

static uint8_t pattern_byte(unsigned seed, size_t i)
{
    return (uint8_t)(seed * 131u + i * 7u + (i >> 9));
}

static void fill(void *p, size_t n, unsigned seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(seed, i);
}

/* Index of the first byte that differs from the pattern, or n. */
static size_t first_bad(const void *p, size_t n, unsigned seed)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(seed, i))
            return i;
    return n;
}

#define assert_pattern(p, n, seed)                                                          \
    do {                                                                                    \
        size_t bad_ = first_bad((p), (n), (seed));                                          \
        if (bad_ != (size_t)(n))                                                            \
            fail_msg("block %p (%zu bytes, seed %u): byte %zu corrupted", (void *)(p),      \
                     (size_t)(n), (unsigned)(seed), bad_);                                  \
    } while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    /* xorshift64: reproducible sizes and orders without libc rand(). */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct block {
    uint8_t *p;
    size_t n;
};

static int cmp_block(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct block *)a)->p;
    uintptr_t y = (uintptr_t)((const struct block *)b)->p;
    return (x > y) - (x < y);
}

/* Live blocks must not overlap (a zero-size block still owns its address). */
static void assert_disjoint(struct block *v, size_t count)
{
    struct block *s = malloc(count * sizeof *s);
    assert_non_null(s);
    memcpy(s, v, count * sizeof *s);
    qsort(s, count, sizeof *s, cmp_block);
    for (size_t i = 1; i < count; i++) {
        size_t len = s[i - 1].n ? s[i - 1].n : 1;
        if ((uintptr_t)s[i - 1].p + len > (uintptr_t)s[i].p)
            fail_msg("blocks %p (%zu bytes) and %p overlap", (void *)s[i - 1].p, s[i - 1].n,
                     (void *)s[i].p);
    }
    free(s);
}

static size_t pow2_floor(size_t n)
{
    size_t p = 1;
    while (p <= n / 2)
        p *= 2;
    return p;
}

/* malloc(n) must be aligned for any object of size n. */
static void assert_fundamental_alignment(const void *p, size_t n)
{
    size_t want = n >= _Alignof(max_align_t) ? _Alignof(max_align_t) : pow2_floor(n ? n : 1);
    if ((uintptr_t)p % want != 0)
        fail_msg("malloc(%zu) = %p is not %zu-byte aligned", n, p, want);
}

static void assert_usable(void *p, size_t n)
{
    if (A->usable_size == NULL)
        return;
    size_t u = A->usable_size(p);
    if (u < n)
        fail_msg("usable_size(%p) = %zu < requested %zu", p, u, n);
}

/* ---- tests ------------------------------------------------------------ */

static void test_interface(void **state)
{
    (void)state;
    assert_non_null(A->name);
    assert_true(A->name[0] != '\0');
    /* Required by allocator.h. */
    assert_non_null(A->malloc);
    assert_non_null(A->free);
    assert_non_null(A->aligned_alloc);
    /* The harness calls these unconditionally. */
    assert_non_null(A->init);
    assert_non_null(A->version);
}

static void test_init(void **state)
{
    (void)state;
    assert_int_equal(A->init(NULL), 0);
    assert_int_equal(A->init(""), 0);

    /* A bogus option must be refused with a message on stderr; capture it so a
     * passing run prints nothing. */
    FILE *cap = tmpfile();
    assert_non_null(cap);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
    int rc = A->init("no-such-option=42");
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);

    char msg[512] = {0};
    rewind(cap);
    size_t got = fread(msg, 1, sizeof msg - 1, cap);
    fclose(cap);
    assert_int_equal(rc, -1);
    if (got == 0 || strstr(msg, "no-such-option") == NULL)
        fail_msg("init refused the option but stderr said: \"%s\"", msg);

    /* Still usable after a refused init. */
    void *p = A->malloc(100);
    assert_non_null(p);
    A->free(p, 100);
}

static const size_t malloc_sizes[] = {
    0,     1,     2,     3,      7,      8,      9,      15,     16,      17,      24,
    31,    32,    33,    48,     63,     64,     65,     96,     100,     127,     128,
    129,   255,   256,   257,    500,    512,    1000,   1024,   1025,    2048,    3000,
    4095,  4096,  4097,  8000,   8192,   10000,  16384,  16385,  32768,   32769,   65535,
    65536, 65537, 100000, 131072, 262144, 262145, 1 << 20, (4 << 20) + 1,
};

static void test_malloc_sizes(void **state)
{
    (void)state;
    struct block v[ARRAY_LEN(malloc_sizes)];
    for (size_t i = 0; i < ARRAY_LEN(malloc_sizes); i++) {
        size_t n = malloc_sizes[i];
        uint8_t *p = A->malloc(n);
        /* C also allows NULL for size 0; all four allocators give a unique
         * pointer, and this pins that down. */
        if (p == NULL)
            fail_msg("malloc(%zu) returned NULL", n);
        assert_fundamental_alignment(p, n);
        assert_usable(p, n);
        fill(p, n, (unsigned)i);
        v[i] = (struct block){p, n};
    }
    assert_disjoint(v, ARRAY_LEN(v));
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        assert_pattern(v[i].p, v[i].n, (unsigned)i);
        A->free(v[i].p, i % 2 ? v[i].n : 0); /* alternate sized and unsized */
    }
}

static void test_many_live_blocks(void **state)
{
    (void)state;
    enum { COUNT = 4000 };
    struct block *v = calloc(COUNT, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < COUNT; i++) {
        uint64_t r = rng();
        /* Mostly small, some medium, a few large: crosses every size regime. */
        size_t n = r % 16 == 0 ? (size_t)(r >> 8) % (256 << 10)
                 : r % 4 == 0  ? (size_t)(r >> 8) % 16384
                               : (size_t)(r >> 8) % 512 + 1;
        v[i].p = A->malloc(n);
        v[i].n = n;
        if (v[i].p == NULL)
            fail_msg("malloc(%zu) returned NULL", n);
        fill(v[i].p, n, (unsigned)i);
    }
    assert_disjoint(v, COUNT);
    for (size_t i = 0; i < COUNT; i++)
        assert_pattern(v[i].p, v[i].n, (unsigned)i);

    /* Free half in random order, refill the holes, check everything again. */
    for (size_t k = 0; k < COUNT / 2; k++) {
        size_t i = rng() % COUNT;
        A->free(v[i].p, k % 3 ? v[i].n : 0);
        v[i].n = (size_t)(rng() % 2048);
        v[i].p = A->malloc(v[i].n);
        assert_non_null(v[i].p);
        fill(v[i].p, v[i].n, (unsigned)i);
    }
    assert_disjoint(v, COUNT);
    for (size_t i = 0; i < COUNT; i++) {
        assert_pattern(v[i].p, v[i].n, (unsigned)i);
        A->free(v[i].p, v[i].n);
    }
    free(v);
}

static void test_calloc_zeroed(void **state)
{
    (void)state;
    if (A->calloc == NULL)
        skip();
    static const size_t sizes[] = {8, 16, 100, 640, 4096, 65536, 300000, 1 << 20};
    enum { K = 32 };
    void *v[K];
    for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
        size_t n = sizes[s];
        /* Dirty a batch of blocks of this size and free them, so calloc is
         * likely to be handed recycled memory that it must clear. */
        for (int k = 0; k < K; k++) {
            v[k] = A->malloc(n);
            assert_non_null(v[k]);
            memset(v[k], 0xa5, n);
        }
        for (int k = K - 1; k >= 0; k--)
            A->free(v[k], n);
        for (int k = 0; k < K; k++) {
            size_t elem = k % 2 && n % 8 == 0 ? 8 : 1;
            uint8_t *p = A->calloc(n / elem, elem);
            assert_non_null(p);
            assert_usable(p, n);
            for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                    fail_msg("calloc(%zu, %zu) = %p: byte %zu is 0x%02x", n / elem, elem,
                             (void *)p, i, p[i]);
            v[k] = p;
        }
        for (int k = 0; k < K; k++)
            A->free(v[k], n);
    }

    /* nmemb * size overflows: must fail, not allocate the wrapped size. */
    assert_null(A->calloc(SIZE_MAX / 2, 4));
    assert_null(A->calloc(4, SIZE_MAX / 2));
    assert_null(A->calloc(SIZE_MAX, SIZE_MAX));
}

static void test_realloc_keeps_contents(void **state)
{
    (void)state;
    if (A->realloc == NULL)
        skip();
    static const size_t steps[] = {1,      8,      24,     100,     1000,    4096,
                                   5000,   70000,  300000, 2 << 20, 3 << 20, (3 << 20) + 7};
    const unsigned seed = 7;
    uint8_t *p = A->malloc(steps[0]);
    assert_non_null(p);
    fill(p, steps[0], seed);
    for (size_t i = 1; i < ARRAY_LEN(steps); i++) { /* grow */
        uint8_t *q = A->realloc(p, steps[i - 1], steps[i]);
        assert_non_null(q);
        assert_pattern(q, steps[i - 1], seed);
        assert_usable(q, steps[i]);
        fill(q, steps[i], seed);
        p = q;
    }
    for (size_t i = ARRAY_LEN(steps) - 1; i-- > 0;) { /* shrink */
        uint8_t *q = A->realloc(p, steps[i + 1], steps[i]);
        assert_non_null(q);
        assert_pattern(q, steps[i], seed);
        assert_usable(q, steps[i]);
        p = q;
    }
    A->free(p, steps[0]);

    /* Small steps, several blocks interleaved: hits every size class, in-place
     * growth and allocators' grow/shrink hysteresis; each block is then freed
     * with its last requested size. */
    enum { B = 8 };
    struct block v[B];
    for (int b = 0; b < B; b++) {
        v[b].n = (size_t)b + 1;
        v[b].p = A->malloc(v[b].n);
        assert_non_null(v[b].p);
        fill(v[b].p, v[b].n, (unsigned)b);
    }
    for (size_t n = 1; n < 9000; n += 13) {
        for (int b = 0; b < B; b++) {
            size_t to = n + (size_t)b * 5;
            uint8_t *q = A->realloc(v[b].p, v[b].n, to);
            assert_non_null(q);
            assert_pattern(q, v[b].n < to ? v[b].n : to, (unsigned)b);
            fill(q, to, (unsigned)b);
            v[b] = (struct block){q, to};
        }
    }
    assert_disjoint(v, B);
    for (size_t n = 8000; n > 100; n = n * 7 / 8) {
        for (int b = 0; b < B; b++) {
            uint8_t *q = A->realloc(v[b].p, v[b].n, n);
            assert_non_null(q);
            assert_pattern(q, n, (unsigned)b);
            v[b] = (struct block){q, n};
        }
    }
    for (int b = 0; b < B; b++)
        A->free(v[b].p, v[b].n);

    /* Edge cases, identical in every adapter: NULL grows like malloc, and a
     * new size of 0 frees the block and returns NULL (glibc's meaning). */
    p = A->realloc(NULL, 0, 64);
    assert_non_null(p);
    fill(p, 64, seed);
    assert_null(A->realloc(p, 64, 0));
}

static void test_aligned_alloc(void **state)
{
    (void)state;
    for (size_t a = 8; a <= 65536; a *= 2) {
        const size_t sizes[] = {1, 7, a - 1, a, a + 1, 3 * a + 5, 100, 5000};
        struct block v[ARRAY_LEN(sizes)];
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
            size_t n = sizes[i];
            uint8_t *p = A->aligned_alloc(a, n);
            if (p == NULL)
                fail_msg("aligned_alloc(%zu, %zu) returned NULL", a, n);
            if ((uintptr_t)p % a != 0)
                fail_msg("aligned_alloc(%zu, %zu) = %p is misaligned", a, n, (void *)p);
            assert_usable(p, n);
            fill(p, n, (unsigned)(a + i));
            v[i] = (struct block){p, n};
        }
        assert_disjoint(v, ARRAY_LEN(v));
        for (size_t i = 0; i < ARRAY_LEN(v); i++) {
            assert_pattern(v[i].p, v[i].n, (unsigned)(a + i));
            A->free(v[i].p, 0); /* aligned objects are freed with size unknown */
        }
    }
    void *p = A->aligned_alloc(64, 0);
    if (p != NULL) {
        assert_true((uintptr_t)p % 64 == 0);
        A->free(p, 0);
    }
    /* Not a power of two: refused, like C's aligned_alloc. */
    assert_null(A->aligned_alloc(0, 16));
    assert_null(A->aligned_alloc(24, 48));
}

static void test_free_sized_and_unsized(void **state)
{
    (void)state;
    /* NULL is a no-op whatever size comes with it. */
    A->free(NULL, 0);
    A->free(NULL, 64);

    enum { ROUNDS = 4, COUNT = 2000 };
    struct block *v = calloc(COUNT, sizeof *v);
    assert_non_null(v);
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < COUNT; i++) {
            size_t n = (size_t)(rng() % 3000) + 1;
            uint8_t *p;
            if (i % 4 == 1 && A->calloc) {
                n = n / 4 * 4;
                p = A->calloc(n / 4, 4); /* freed with nmemb * size */
            } else if (i % 4 == 2 && A->realloc) {
                p = A->malloc(n / 2); /* freed with the size it was resized to */
                assert_non_null(p);
                p = A->realloc(p, n / 2, n);
            } else {
                p = A->malloc(n);
            }
            assert_non_null(p);
            fill(p, n, (unsigned)(i + round));
            v[i] = (struct block){p, n};
        }
        assert_disjoint(v, COUNT);
        for (size_t i = 0; i < COUNT; i++) {
            assert_pattern(v[i].p, v[i].n, (unsigned)(i + round));
            /* Every other object's size is "unknown". */
            A->free(v[i].p, (i / 4 + round) % 2 ? v[i].n : 0);
        }
    }
    free(v);
}

static void check_extras(const struct alloc_stats *st)
{
    assert_in_range(st->n_extra, 0, ALLOC_STATS_MAX_EXTRA);
    for (int i = 0; i < st->n_extra; i++) {
        assert_non_null(st->extra[i].name);
        assert_true(st->extra[i].name[0] != '\0');
        if (st->extra[i].value < 0)
            fail_msg("extra %s = %lld", st->extra[i].name, (long long)st->extra[i].value);
        for (int j = 0; j < i; j++)
            if (strcmp(st->extra[i].name, st->extra[j].name) == 0)
                fail_msg("extra %s appears twice", st->extra[i].name);
    }
}

static void test_release(void **state)
{
    (void)state;
    if (A->release == NULL)
        skip();
    enum { COUNT = 128 };
    void *v[COUNT];
    for (int i = 0; i < COUNT; i++) {
        v[i] = A->malloc(256 << 10);
        assert_non_null(v[i]);
        memset(v[i], 1, 256 << 10);
    }
    for (int i = 0; i < COUNT; i++)
        A->free(v[i], 256 << 10);
    assert_int_equal(A->release(), 0);
    assert_int_equal(A->release(), 0); /* nothing left to give back: still fine */
    void *p = A->malloc(1000);          /* and the allocator still works */
    assert_non_null(p);
    fill(p, 1000, 3);
    assert_pattern(p, 1000, 3);
    A->free(p, 1000);
}

/* Anonymous resident memory of this process in bytes, -1 if unreadable. */
static int64_t rss_anon(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %lld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : (int64_t)kib * 1024;
}

static int64_t rss_at_start = -1; /* set by group_setup, after init */

#define LIVE_BLOCK ((size_t)64 << 10)
#define LIVE_COUNT 1024 /* 64 MiB live */

static void test_stats(void **state)
{
    (void)state;
    if (A->stats == NULL)
        skip();
    if (UNDER_ASAN) /* ASan's own allocator serves malloc; glibc's figures miss it */
        skip();
    const int64_t live = (int64_t)(LIVE_BLOCK * LIVE_COUNT);
    struct alloc_stats st;

    alloc_stats_clear(&st);
    assert_int_equal(A->stats(&st), 0);
    check_extras(&st);

    static void *v[LIVE_COUNT];
    for (int i = 0; i < LIVE_COUNT; i++) {
        v[i] = A->malloc(LIVE_BLOCK);
        assert_non_null(v[i]);
        for (size_t off = 0; off < LIVE_BLOCK; off += 4096) /* make it resident */
            ((volatile uint8_t *)v[i])[off] = 1;
    }

    struct alloc_stats hi;
    alloc_stats_clear(&hi);
    assert_int_equal(A->stats(&hi), 0);
    check_extras(&hi);
    int exposed = 0;
    /* Lower bounds: 64 MiB is live and touched. Upper bound on allocated: the
     * test's own other blocks are far below 64 MiB. */
    if (hi.allocated != -1) {
        exposed++;
        if (hi.allocated < live || hi.allocated > 2 * live)
            fail_msg("allocated = %lld with %lld live", (long long)hi.allocated, (long long)live);
    }
    if (hi.active != -1) {
        exposed++;
        if (hi.active < live || (hi.allocated != -1 && hi.active < hi.allocated))
            fail_msg("active = %lld, allocated = %lld", (long long)hi.active,
                     (long long)hi.allocated);
    }
    if (hi.resident != -1) {
        exposed++;
        if (hi.resident < live)
            fail_msg("resident = %lld with %lld live and touched", (long long)hi.resident,
                     (long long)live);
    }
    if (hi.mapped != -1) {
        exposed++;
        if (hi.mapped < live || (hi.allocated != -1 && hi.mapped < hi.allocated) ||
            (hi.active != -1 && hi.mapped < hi.active))
            fail_msg("mapped = %lld, allocated = %lld, active = %lld", (long long)hi.mapped,
                     (long long)hi.allocated, (long long)hi.active);
    }
    if (hi.retained != -1) {
        exposed++;
        assert_true(hi.retained >= 0);
    }
    if (exposed == 0)
        fail_msg("%s exposes none of allocated/active/resident/mapped/retained", A->name);

    /* Freed and released: the figures must follow, and so must the process's
     * real anonymous RSS, back near where it was when the tests began (what is
     * left is the allocators' caches, e.g. tcmalloc's thread caches). glibc
     * trims 64 KiB blocks on free by itself. mimalloc decommits free spans of
     * a live segment only mi_option_decommit_delay (25 ms) after they became
     * free, so it gets a second release() after a pause. */
    for (int i = 0; i < LIVE_COUNT; i++)
        A->free(v[i], LIVE_BLOCK);
    if (A->release) {
        assert_int_equal(A->release(), 0);
        int64_t rss = rss_anon();
        if (rss_at_start >= 0 && rss > rss_at_start + live / 2) {
            usleep(100 * 1000);
            assert_int_equal(A->release(), 0);
            rss = rss_anon();
        }
        if (rss_at_start >= 0 && rss > rss_at_start + live / 2)
            fail_msg("RssAnon is %lld after freeing %lld and release(), %lld at start",
                     (long long)rss, (long long)live, (long long)rss_at_start);
    }
    struct alloc_stats lo;
    alloc_stats_clear(&lo);
    assert_int_equal(A->stats(&lo), 0);
    check_extras(&lo);
    if (hi.allocated != -1 && lo.allocated > hi.allocated - live / 2)
        fail_msg("allocated only fell from %lld to %lld after freeing %lld",
                 (long long)hi.allocated, (long long)lo.allocated, (long long)live);
    if (A->release && hi.resident != -1 && lo.resident > hi.resident - live / 2)
        fail_msg("resident only fell from %lld to %lld after freeing %lld and release()",
                 (long long)hi.resident, (long long)lo.resident, (long long)live);
}

static void test_version(void **state)
{
    (void)state;
    const char *v = A->version();
    assert_non_null(v);
    size_t len = strlen(A->name);
    /* "<name> <version...>" */
    if (strncmp(v, A->name, len) != 0 || v[len] != ' ' || v[len + 1] == '\0')
        fail_msg("version \"%s\" does not start with \"%s \"", v, A->name);
    assert_string_equal(A->version(), v); /* stable */
}

/* ---- threads ---------------------------------------------------------- */

enum { THREAD_BLOCKS = 2000 };

struct thread_arg {
    unsigned id;
    struct block kept[THREAD_BLOCKS / 2]; /* handed to the main thread to free */
    int ok;
};

static void *thread_body(void *varg)
{
    struct thread_arg *arg = varg;
    arg->ok = 0;
    if (A->thread_init)
        A->thread_init();
    struct block own[THREAD_BLOCKS / 2];
    for (int i = 0; i < THREAD_BLOCKS / 2; i++) {
        size_t n = ((size_t)i * 37 + arg->id * 11) % 3000;
        own[i] = (struct block){A->malloc(n), n};
        arg->kept[i] = (struct block){A->malloc(n + 1), n + 1};
        if (own[i].p == NULL || arg->kept[i].p == NULL)
            return NULL;
        fill(own[i].p, n, arg->id + (unsigned)i);
        fill(arg->kept[i].p, n + 1, arg->id * 7 + (unsigned)i);
    }
    for (int i = 0; i < THREAD_BLOCKS / 2; i++) {
        if (first_bad(own[i].p, own[i].n, arg->id + (unsigned)i) != own[i].n)
            return NULL;
        A->free(own[i].p, own[i].n);
    }
    if (A->thread_exit)
        A->thread_exit();
    arg->ok = 1;
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    /* Four threads at once, each then leaving half its blocks for the main
     * thread to free (cross-thread free, as the replayer does). */
    enum { T = 4 };
    static struct thread_arg args[T];
    pthread_t tid[T];
    for (unsigned t = 0; t < T; t++) {
        args[t].id = t + 1;
        assert_int_equal(pthread_create(&tid[t], NULL, thread_body, &args[t]), 0);
    }
    for (unsigned t = 0; t < T; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        if (!args[t].ok)
            fail_msg("thread %u failed to allocate or found its blocks corrupted", t);
    }
    for (unsigned t = 0; t < T; t++)
        for (int i = 0; i < THREAD_BLOCKS / 2; i++) {
            struct block b = args[t].kept[i];
            assert_pattern(b.p, b.n, args[t].id * 7 + (unsigned)i);
            A->free(b.p, b.n);
        }
}

static void *two_trace_threads(void *varg)
{
    struct thread_arg *arg = varg;
    thread_body(arg); /* thread_init ... thread_exit */
    if (!arg->ok)
        return NULL;
    for (int i = 0; i < THREAD_BLOCKS / 2; i++) /* the first one's leftovers */
        A->free(arg->kept[i].p, arg->kept[i].n);
    arg->id += 1000;
    thread_body(arg); /* then a second trace thread on the same OS thread */
    return NULL;
}

static void test_thread_hooks_reused_thread(void **state)
{
    (void)state;
    static struct thread_arg arg;
    arg.id = 5;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, two_trace_threads, &arg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(arg.ok);
    for (int i = 0; i < THREAD_BLOCKS / 2; i++) {
        assert_pattern(arg.kept[i].p, arg.kept[i].n, arg.id * 7 + (unsigned)i);
        A->free(arg.kept[i].p, arg.kept[i].n);
    }
}

/* The replayer may also run a trace thread on the main thread. */
static void test_thread_hooks_on_main_thread(void **state)
{
    (void)state;
    for (unsigned r = 0; r < 3; r++) {
        if (A->thread_init)
            A->thread_init();
        struct block v[64];
        for (size_t i = 0; i < ARRAY_LEN(v); i++) {
            v[i] = (struct block){A->malloc(100 + i), 100 + i};
            assert_non_null(v[i].p);
            fill(v[i].p, v[i].n, r);
        }
        if (A->thread_exit)
            A->thread_exit();
        for (size_t i = 0; i < ARRAY_LEN(v); i++) { /* freed after the "thread" ended */
            assert_pattern(v[i].p, v[i].n, r);
            A->free(v[i].p, v[i].n);
        }
    }
    void *p = A->malloc(50);
    assert_non_null(p);
    A->free(p, 50);
}

static int group_setup(void **state)
{
    (void)state;
    if (A->init(NULL) != 0)
        return -1;
    rss_at_start = rss_anon();
    return 0;
}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interface),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_malloc_sizes),
        cmocka_unit_test(test_many_live_blocks),
        cmocka_unit_test(test_calloc_zeroed),
        cmocka_unit_test(test_realloc_keeps_contents),
        cmocka_unit_test(test_aligned_alloc),
        cmocka_unit_test(test_free_sized_and_unsized),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_thread_hooks_reused_thread),
        cmocka_unit_test(test_thread_hooks_on_main_thread),
    };
    /* cmocka's default output omits the group name: put the allocator's name
     * in every test's name ("jemalloc/test_init") so the output says which. */
    static char names[ARRAY_LEN(tests)][80];
    for (size_t i = 0; i < ARRAY_LEN(tests); i++) {
        snprintf(names[i], sizeof names[i], "%s/%s", A->name, tests[i].name);
        tests[i].name = names[i];
    }
    return cmocka_run_group_tests_name(A->name, tests, group_setup, NULL);
}
