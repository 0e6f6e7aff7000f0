/* test_slab_classes.c - size -> class boundaries, alignment, size 0, the large
 * path, and configuration parsing and validation of the slab allocator.
 *
 * Every size from 0 to the largest class is allocated once per configuration
 * (default 8 per doubling, 4 per doubling, 1 and 2 per doubling, a 32 KiB
 * largest class, and explicit lists), and must land in the smallest class that
 * holds it; the class lists of the default and of 4 per doubling are written out
 * here by hand rather than recomputed, so a change to the rule shows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "slab_test_util.h"

static const size_t default_classes[] = {
    16,   32,   48,   64,   80,   96,   112,  128,  144,  160,  176,  192,  208,  224,  240,  256,
    288,  320,  352,  384,  416,  448,  480,  512,  576,  640,  704,  768,  832,  896,  960,  1024,
    1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048, 2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096,
};
static const size_t quarter_classes[] = {
    16,  32,  48,  64,   80,   96,   112,  128,  160,  192,  224,  256,  320,  384,
    448, 512, 640, 768,  896,  1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
};
static const size_t explicit_classes[] = { 16, 48, 4096 };

/* The spacing rule for the other configurations: 16-byte steps to 128, then
 * `per` classes per doubling up to max. */
static unsigned rule_classes(size_t *out, unsigned per, size_t max)
{
    unsigned n = 0;
    for (size_t s = 16; s <= 128; s += 16)
        out[n++] = s;
    for (size_t base = 128; base < max; base *= 2)
        for (unsigned k = 1; k <= per; k++)
            out[n++] = base + k * (base / per);
    return n;
}

/* The pool's classes must be exactly `want`. */
static void assert_classes(struct slab_pool *p, const size_t *want, unsigned n)
{
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.n_classes, n);
    for (unsigned c = 0; c < n; c++)
        if (s.cls[c].size != want[c])
            fail_msg("class %u is %zu bytes, expected %zu", c, s.cls[c].size, want[c]);
}

/* Index of the smallest class holding `size` (size 0: the first). */
static unsigned expected_class(const size_t *cls, unsigned n, size_t size)
{
    for (unsigned c = 0; c < n; c++)
        if (cls[c] >= size)
            return c;
    fail_msg("size %zu above the largest class", size);
    return 0;
}

/* Every size 0..largest class lands in the smallest class that holds it (so
 * class_size maps to the class and class_size + 1 to the next), on a 16-byte
 * boundary; the per-class counters count exactly those allocations. Sizes just
 * above the largest class take the large path. Freed sized and unsized in turn. */
static void check_boundaries(const char *opts, const size_t *cls, unsigned n)
{
    struct slab_pool *p = pool_from(opts);
    assert_classes(p, cls, n);
    size_t max = cls[n - 1];
    uint64_t allocs[SLAB_MAX_CLASSES] = { 0 }, requested[SLAB_MAX_CLASSES] = { 0 };
    for (size_t size = 0; size <= max; size++) {
        unsigned c = expected_class(cls, n, size);
        char *q = slab_alloc(p, size);
        assert_non_null(q);
        if ((uintptr_t)q % 16)
            fail_msg("[%s] size %zu: %p not 16-byte aligned", opts, size, (void *)q);
        size_t usable = slab_usable_size(p, q);
        if (usable != cls[c])
            fail_msg("[%s] size %zu: usable %zu, expected class %u (%zu)", opts, size, usable, c, cls[c]);
        assert_true(slab_owns(p, q));
        memset(q, 0xa5, usable);
        allocs[c]++;
        requested[c] += size;
        if (size & 1)
            slab_free(p, q);
        else
            slab_free_sized(p, q, size);
    }
    struct slab_stats s;
    slab_stats(p, &s);
    for (unsigned c = 0; c < n; c++) {
        assert_int_equal(s.cls[c].allocs, allocs[c]);
        assert_int_equal(s.cls[c].requested, requested[c]);
        assert_int_equal(s.cls[c].in_use, s.cls[c].in_magazines); /* everything came back */
    }
    assert_int_equal(s.large_count, 0);
    assert_int_equal(s.large_allocs, 0);

    /* Just above the largest class, and well above: the large path, counted. */
    const size_t large[] = { max + 1, max + 15, max + 16, max + 4096, 1 * MiB + 3 };
    char *blocks[sizeof large / sizeof large[0]];
    for (unsigned i = 0; i < sizeof large / sizeof large[0]; i++) {
        blocks[i] = slab_alloc(p, large[i]);
        assert_non_null(blocks[i]);
        assert_int_equal((uintptr_t)blocks[i] % 16, 0);
        assert_true(slab_usable_size(p, blocks[i]) >= large[i]);
        assert_true(slab_owns(p, blocks[i]));
        pat_fill(blocks[i], large[i], i);
        slab_stats(p, &s);
        assert_int_equal(s.large_count, i + 1);
        assert_int_equal(s.large_allocs, i + 1);
        assert_true(s.large_bytes >= large[i]);
    }
    for (unsigned i = 0; i < sizeof large / sizeof large[0]; i++) {
        assert_pattern(blocks[i], large[i], i);
        slab_free(p, blocks[i]);
        assert_false(slab_owns(p, blocks[i]));
    }
    slab_stats(p, &s);
    assert_int_equal(s.large_count, 0);
    assert_int_equal(s.large_bytes, 0);
    assert_int_equal(s.large_allocs, sizeof large / sizeof large[0]);
    for (unsigned c = 0; c < n; c++)
        assert_int_equal(s.cls[c].allocs, allocs[c]); /* the large path touched no class */
    slab_destroy(p);
}

static void test_boundaries_default(void **state)
{
    (void)state;
    check_boundaries("", default_classes, 48);
    check_boundaries("thread_cache=0", default_classes, 48);
}

static void test_boundaries_quarter(void **state)
{
    (void)state;
    check_boundaries("classes_per_doubling=4", quarter_classes, 28);
}

static void test_boundaries_explicit(void **state)
{
    (void)state;
    check_boundaries("classes=16:48:4096", explicit_classes, 3);
    check_boundaries("classes=16:48:4096,thread_cache=0", explicit_classes, 3);
    const size_t single[] = { 256 };
    check_boundaries("classes=256", single, 1);
    const size_t odd[] = { 32, 112, 400, 1008, 4000, 10000 };
    check_boundaries("classes=32:112:400:1008:4000:10000", odd, 6);
}

static void test_boundaries_other_rules(void **state)
{
    (void)state;
    size_t cls[SLAB_MAX_CLASSES];
    unsigned n = rule_classes(cls, 1, 4096);
    assert_int_equal(n, 13);
    check_boundaries("classes_per_doubling=1", cls, n);
    n = rule_classes(cls, 2, 1024);
    assert_int_equal(n, 14);
    check_boundaries("classes_per_doubling=2,max_class=1K", cls, n);
    n = rule_classes(cls, 4, 32768);
    assert_int_equal(n, 40);
    check_boundaries("classes_per_doubling=4,max_class=32K", cls, n); /* 2 chunks per slab */
    n = rule_classes(cls, 8, 128);
    assert_int_equal(n, 8);
    check_boundaries("max_class=128", cls, n);
}

/* slab_aligned_alloc for every power of two 16..64 KiB (and beyond, the large
 * path), several sizes each, many blocks of each kept live at once (so they span
 * several slabs): every block aligned, usable >= size, and no two overlap. */
static void check_alignment(const char *opts)
{
    struct slab_pool *p = pool_from(opts);
    struct slab_stats s;
    slab_stats(p, &s);
    size_t max = s.cls[s.n_classes - 1].size;
    enum { PER = 40 };
    for (size_t align = 16; align <= 256 * KiB; align *= 2) {
        const size_t sizes[] = { 0, 1, 15, 16, 17, align - 1, align, align + 1, 100, 1000, 3000, 4095, 4096, 4097, 3 * align, max, max + 1 };
        for (unsigned si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t size = sizes[si];
            char *blk[PER];
            for (unsigned i = 0; i < PER; i++) {
                errno = 0;
                blk[i] = slab_aligned_alloc(p, align, size);
                if (!blk[i])
                    fail_msg("[%s] aligned_alloc(%zu, %zu): NULL, %s", opts, align, size, strerror(errno));
                if ((uintptr_t)blk[i] % align)
                    fail_msg("[%s] aligned_alloc(%zu, %zu) = %p: misaligned", opts, align, size, (void *)blk[i]);
                size_t usable = slab_usable_size(p, blk[i]);
                if (usable < size)
                    fail_msg("[%s] aligned_alloc(%zu, %zu): usable %zu", opts, align, size, usable);
                if (!slab_owns(p, blk[i]))
                    fail_msg("[%s] aligned_alloc(%zu, %zu) = %p: slab_owns says no", opts, align, size, (void *)blk[i]);
                pat_fill(blk[i], size, align * 1000 + si * 100 + i);
            }
            for (unsigned i = 0; i < PER; i++) {
                assert_pattern(blk[i], size, align * 1000 + si * 100 + i);
                slab_free(p, blk[i]);
            }
        }
    }
    /* Not a power of two: EINVAL, nothing allocated. */
    const size_t bad[] = { 0, 3, 24, 48, 100, 4095, SIZE_MAX };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_null(slab_aligned_alloc(p, bad[i], 64));
        assert_int_equal(errno, EINVAL);
    }
    /* Small alignments (1..8) are met by every chunk. */
    for (size_t align = 1; align < 16; align *= 2) {
        void *q = slab_aligned_alloc(p, align, 40);
        assert_non_null(q);
        assert_int_equal((uintptr_t)q % 16, 0);
        slab_free(p, q);
    }
    slab_stats(p, &s);
    assert_int_equal(s.large_count, 0);
    slab_destroy(p);
}

static void test_alignment(void **state)
{
    (void)state;
    check_alignment("");
    check_alignment("thread_cache=0");
    check_alignment("classes_per_doubling=4");
    check_alignment("classes=16:48:4096");
    check_alignment("classes=48:80:208:1040"); /* no class a multiple of 32: large path for align >= 32 */
}

static void test_size_zero(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("");
    char *a = slab_alloc(p, 0), *b = slab_alloc(p, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal(slab_usable_size(p, a), 16);
    memset(a, 1, 16);
    memset(b, 2, 16);
    assert_int_equal(a[15], 1);
    assert_true(slab_owns(p, a));
    char *c0 = slab_calloc(p, 0, 8), *c1 = slab_calloc(p, 8, 0), *c2 = slab_aligned_alloc(p, 256, 0);
    assert_non_null(c0);
    assert_non_null(c1);
    assert_non_null(c2);
    assert_int_equal((uintptr_t)c2 % 256, 0);
    /* realloc to 0 frees and returns NULL; from NULL it allocates */
    errno = 0;
    assert_null(slab_realloc(p, a, 0));
    char *r = slab_realloc(p, NULL, 0);
    assert_non_null(r);
    slab_free(p, NULL); /* a no-op */
    slab_free(p, b);
    slab_free(p, c0);
    slab_free(p, c1);
    slab_free(p, c2);
    slab_free(p, r);
    struct slab_stats s;
    slab_stats(p, &s);
    for (unsigned c = 0; c < s.n_classes; c++)
        assert_int_equal(s.cls[c].in_use, s.cls[c].in_magazines);
    assert_int_equal(s.cls[0].allocs, 5); /* a, b, c0, c1, r; c2 went to a 256-byte class */
    assert_int_equal(s.cls[0].requested, 0);
    slab_destroy(p);
}

/* Large blocks: calloc zeroes, realloc small <-> large keeps the bytes. */
static void test_large_path(void **state)
{
    (void)state;
    struct slab_pool *p = pool_from("");
    char *z = slab_calloc(p, 1000, 1000);
    assert_non_null(z);
    assert_int_equal(find_nonzero(z, 1000000), SIZE_MAX);
    slab_free(p, z);

    char *q = slab_alloc(p, 100);
    pat_fill(q, 100, 7);
    q = slab_realloc(p, q, 20000); /* small -> large */
    assert_non_null(q);
    assert_pattern(q, 100, 7);
    pat_fill(q, 20000, 8);
    q = slab_realloc(p, q, 300000); /* large -> larger */
    assert_non_null(q);
    assert_pattern(q, 20000, 8);
    q = slab_realloc(p, q, 3000); /* large -> small */
    assert_non_null(q);
    assert_pattern(q, 3000, 8);
    assert_int_equal(slab_usable_size(p, q), 3072);
    struct slab_stats s;
    slab_stats(p, &s);
    assert_int_equal(s.large_count, 0);
    /* the calloc and the 20000; the large -> larger realloc may resize in place */
    assert_true(s.large_allocs == 2 || s.large_allocs == 3);
    slab_free(p, q);
    slab_destroy(p);
}

/* Every key, every suffix. */
static void test_parse_every_key(void **state)
{
    (void)state;
    struct slab_config c;
    char err[256] = "";
    slab_config_default(&c);
    assert_int_equal(c.n_classes, 0);
    assert_int_equal(c.classes_per_doubling, 8);
    assert_int_equal(c.max_class, 4096);
    assert_int_equal(c.prealloc, 0);
    assert_int_equal(c.prealloc_hugepage, 0);
    assert_int_equal(c.overflow, 1);
    assert_int_equal(c.hard_limit, 0);
    assert_int_equal(c.idle_ms, 10000);
    assert_int_equal(c.tick_thread, 0);
    assert_int_equal(c.thread_cache, 1);
    assert_int_equal(c.magazine, 32);
    assert_int_equal(c.magazine_max_bytes, 16 * KiB);
    assert_int_equal(c.depot, 8);
    assert_int_equal(c.reserve, (size_t)64 << 30);
    assert_int_equal(c.large_cache, 64 * MiB);
    assert_int_equal(c.large_cache_share, 50);

    assert_int_equal(slab_config_parse(&c,
                                       "classes=16:32:1K:2k,classes_per_doubling=4,max_class=8K,prealloc=3M,"
                                       "prealloc_hugepage=1,overflow=0,hard_limit=2G,idle_ms=-1,tick_thread=1,"
                                       "thread_cache=0,magazine=8,magazine_max_bytes=16K,depot=16,reserve=4g,"
                                       "large_cache=8M,large_cache_share=25",
                                       err, sizeof err),
                     0);
    assert_int_equal(c.n_classes, 4);
    assert_int_equal(c.classes[0], 16);
    assert_int_equal(c.classes[1], 32);
    assert_int_equal(c.classes[2], 1024);
    assert_int_equal(c.classes[3], 2048);
    assert_int_equal(c.classes_per_doubling, 4);
    assert_int_equal(c.max_class, 8192);
    assert_int_equal(c.prealloc, 3 * MiB);
    assert_int_equal(c.prealloc_hugepage, 1);
    assert_int_equal(c.overflow, 0);
    assert_int_equal(c.hard_limit, (size_t)2 << 30);
    assert_int_equal(c.idle_ms, -1);
    assert_int_equal(c.tick_thread, 1);
    assert_int_equal(c.thread_cache, 0);
    assert_int_equal(c.magazine, 8);
    assert_int_equal(c.magazine_max_bytes, 16 * KiB);
    assert_int_equal(c.depot, 16);
    assert_int_equal(c.reserve, (size_t)4 << 30);
    assert_int_equal(c.large_cache, 8 * MiB);
    assert_int_equal(c.large_cache_share, 25);

    /* suffixes, both cases, and plain numbers; a later key wins */
    const struct {
        const char *opt;
        size_t want;
    } sizes[] = {
        { "prealloc=0", 0 },          { "prealloc=4096", 4096 },     { "prealloc=3k", 3 * KiB },
        { "prealloc=3K", 3 * KiB },   { "prealloc=5m", 5 * MiB },    { "prealloc=5M", 5 * MiB },
        { "prealloc=2g", 2ul << 30 }, { "prealloc=2G", 2ul << 30 }, { "prealloc=1K,prealloc=2K", 2 * KiB },
        { "prealloc=16777215G", ((size_t)16777215) << 30 },
    };
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        slab_config_default(&c);
        if (slab_config_parse(&c, sizes[i].opt, err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", sizes[i].opt, err);
        assert_int_equal(c.prealloc, sizes[i].want);
    }
    slab_config_default(&c);
    assert_int_equal(slab_config_parse(&c, "idle_ms=0,magazine=1K,thread_cache=1,overflow=1,tick_thread=0", err,
                                       sizeof err),
                     0);
    assert_int_equal(c.idle_ms, 0);
    assert_int_equal(c.magazine, 1024);
    /* empty and NULL options change nothing; a trailing comma is fine */
    struct slab_config d;
    slab_config_default(&c);
    slab_config_default(&d);
    assert_int_equal(slab_config_parse(&c, "", err, sizeof err), 0);
    assert_int_equal(slab_config_parse(&c, NULL, err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(slab_config_parse(&c, "magazine=4,", err, sizeof err), 0);
    assert_int_equal(c.magazine, 4);

    /* A full list of SLAB_MAX_CLASSES classes is accepted and works. */
    char opts[1024] = "classes=";
    for (unsigned i = 1; i <= SLAB_MAX_CLASSES; i++)
        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s%u", i > 1 ? ":" : "", 16 * i);
    slab_config_default(&c);
    assert_int_equal(slab_config_parse(&c, opts, err, sizeof err), 0);
    assert_int_equal(c.n_classes, SLAB_MAX_CLASSES);
    struct slab_pool *p = slab_create(&c);
    assert_non_null(p);
    assert_int_equal(slab_usable_size(p, slab_alloc(p, 1000)), 1008);
    slab_destroy(p);
}

/* Chunks per magazine, per class: magazine, bounded by magazine_max_bytes,
 * never below 4 (nor above magazine); and a thread's magazine of a big class
 * really holds no more than that: the chunk freed past it goes on. */
static void test_magazine_bytes(void **state)
{
    (void)state;
    const struct {
        const char *opts;
        size_t size;
        unsigned want;
    } cases[] = {
        { "", 16, 32 },      { "", 512, 32 },     { "", 576, 28 },    { "", 1024, 16 },
        { "", 2048, 8 },     { "", 4096, 4 },     { "magazine_max_bytes=0", 4096, 32 },
        { "magazine_max_bytes=8K", 1024, 8 }, { "magazine_max_bytes=8K", 4096, 4 },
        { "magazine_max_bytes=64K", 4096, 16 }, { "magazine=2", 4096, 2 }, { "magazine=64,magazine_max_bytes=1K", 16, 64 },
    };
    char err[256];
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct slab_config c;
        slab_config_default(&c);
        c.reserve = 1 << 30;
        if (slab_config_parse(&c, cases[i].opts, err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", cases[i].opts, err);
        struct slab_pool *p = slab_create(&c);
        assert_non_null(p);
        struct slab_stats s;
        slab_stats(p, &s);
        unsigned k = 0;
        while (s.cls[k].size != cases[i].size)
            k++;
        if (s.cls[k].magazine != cases[i].want)
            fail_msg("[%s] class %zu: %llu chunks a magazine, want %u", cases[i].opts, cases[i].size,
                     (unsigned long long)s.cls[k].magazine, cases[i].want);
        slab_destroy(p);
    }

    /* 4 KiB chunks, default bound: 4 a magazine, two magazines a thread.
     * Thirteen frees fill the thread's two and leave two full ones in the
     * depot: the thread holds at most 2 x 4 chunks, never a 32-chunk
     * magazine's worth (with 32 a magazine, all 13 would stay with it). */
    struct slab_config c;
    slab_config_default(&c);
    c.reserve = 1 << 30;
    struct slab_pool *p = slab_create(&c);
    assert_non_null(p);
    void *b[13];
    for (unsigned i = 0; i < 13; i++)
        assert_non_null(b[i] = slab_alloc(p, 4096));
    for (unsigned i = 0; i < 13; i++)
        slab_free(p, b[i]);
    struct slab_stats s;
    slab_stats(p, &s);
    unsigned k = s.n_classes - 1;
    assert_int_equal(s.cls[k].size, 4096);
    assert_int_equal(s.cls[k].magazine, 4);
    assert_int_equal(s.cls[k].in_depot, 8); /* two full magazines left there */
    assert_int_equal(s.cls[k].in_magazines, s.cls[k].in_use); /* every chunk in a magazine */
    assert_in_range(s.cls[k].in_magazines - s.cls[k].in_depot, 13 - 8, 2 * 4); /* the thread's */
    slab_destroy(p);
}

/* Every malformed option is refused by the parser with a message naming it. */
static void test_parse_refused(void **state)
{
    (void)state;
    char many[1200] = "classes=";
    for (unsigned i = 1; i <= SLAB_MAX_CLASSES + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s%u", i > 1 ? ":" : "", 16 * i);
    const struct {
        const char *opts, *names;
    } bad[] = {
        { "bogus=1", "'bogus'" },
        { "Prealloc=1M", "'Prealloc'" }, /* keys are case-sensitive */
        { "prealloc", "'prealloc'" },    /* no '=' */
        { "prealloc=1M,,magazine=2", "''" },
        { "prealloc=", "'prealloc'" },
        { "prealloc=K", "'prealloc'" },
        { "prealloc=12X", "'prealloc'" },
        { "prealloc=1.5M", "'prealloc'" },
        { "prealloc=-1", "'prealloc'" },
        { "prealloc= 1", "'prealloc'" },
        { "prealloc=99999999999999999999", "'prealloc'" }, /* overflows size_t */
        { "prealloc=17179869184G", "'prealloc'" },         /* overflows with the suffix */
        { "hard_limit=1T", "'hard_limit'" },
        { "reserve=x", "'reserve'" },
        { "max_class=", "'max_class'" },
        { "magazine=4294967296", "'magazine'" },
        { "magazine=-2", "'magazine'" },
        { "depot=-1", "'depot'" },
        { "depot=4294967296", "'depot'" },
        { "large_cache_share=4294967296", "'large_cache_share'" },
        { "magazine_max_bytes=x", "'magazine_max_bytes'" },
        { "classes_per_doubling=4294967297", "'classes_per_doubling'" },
        { "overflow=2", "'overflow'" },
        { "overflow=yes", "'overflow'" },
        { "prealloc_hugepage=2", "'prealloc_hugepage'" },
        { "tick_thread=-1", "'tick_thread'" },
        { "thread_cache=on", "'thread_cache'" },
        { "idle_ms=-2", "'idle_ms'" },
        { "idle_ms=abc", "'idle_ms'" },
        { "idle_ms=", "'idle_ms'" },
        { "classes=", "'classes'" },
        { "classes=16:", "'classes'" },
        { "classes=:16", "'classes'" },
        { "classes=16::32", "'classes'" },
        { "classes=16,32", "'32'" }, /* the list separator is ':' */
        { "classes=16:x", "'classes'" },
        { many, "'classes'" }, /* SLAB_MAX_CLASSES + 1 classes */
        { "magazine=8,bogus", "'bogus'" },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct slab_config c;
        char err[512] = "";
        slab_config_default(&c);
        if (slab_config_parse(&c, bad[i].opts, err, sizeof err) != -1)
            fail_msg("'%.60s' accepted", bad[i].opts);
        if (!strstr(err, bad[i].names) || !strstr(err, "slab option"))
            fail_msg("'%.60s': message '%s' does not name %s", bad[i].opts, err, bad[i].names);
    }
    /* A short message buffer is filled, never overrun, and terminated. */
    char small[12];
    memset(small, 'x', sizeof small);
    struct slab_config c;
    slab_config_default(&c);
    assert_int_equal(slab_config_parse(&c, "unknown_key_with_a_long_name=1", small, 8), -1);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(small[8], 'x');
}

/* Configurations the parser takes but slab_create refuses: NULL, EINVAL, and
 * nothing left mapped (VmSize unchanged over all the refusals). */
static void test_create_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "classes=24",                 /* not a multiple of 16 */
        "classes=17",                 /* not a multiple of 16 */
        "classes=16:40:64",           /* 40 not a multiple of 16 */
        "classes=32:16",              /* unsorted */
        "classes=16:64:48:128",       /* unsorted */
        "classes=16:16",              /* not strictly ascending */
        "classes=0",                  /* empty class */
        "classes=16:32784",           /* above SLAB_MAX_CLASS_SIZE */
        "classes=16:65536",           /* a chunk as big as a slab */
        "magazine=0",                 /* magazine 0 */
        "magazine=1025",              /* above the largest magazine */
        "depot=257",                  /* above the deepest depot */
        "large_cache_share=1001",     /* above 1000% */
        "prealloc=2M,hard_limit=1M",  /* hard_limit < prealloc */
        "prealloc=1M,hard_limit=960K",
        "overflow=0",                 /* overflow=0 without prealloc */
        "overflow=0,prealloc=0",
        "classes_per_doubling=0",
        "classes_per_doubling=3",     /* not a power of two */
        "classes_per_doubling=32",    /* above 8 */
        "classes_per_doubling=16,max_class=128", /* 16 is never allowed, even where it would add no class */
        "classes_per_doubling=8,max_class=32K", /* 72 classes: too many */
        "max_class=100",              /* not a power of two */
        "max_class=64",               /* below 128 */
        "max_class=64K",              /* above SLAB_MAX_CLASS_SIZE */
        "reserve=32K",                /* smaller than one slab */
        "reserve=1M,prealloc=2M",     /* floor larger than the region */
    };
    size_t vm_before = vm_size();
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct slab_config c;
        char err[256] = "";
        slab_config_default(&c);
        if (slab_config_parse(&c, bad[i], err, sizeof err) != 0)
            fail_msg("'%s': the parser refused it (%s); expected slab_create to", bad[i], err);
        /* slab_config_check refuses it too, naming an option */
        if (slab_config_check(&c, err, sizeof err) != -1 || strncmp(err, "slab option '", 13) != 0)
            fail_msg("'%s': slab_config_check said '%s'", bad[i], err);
        errno = 0;
        struct slab_pool *p = slab_create(&c);
        if (p) {
            slab_destroy(p);
            fail_msg("'%s': slab_create accepted it", bad[i]);
        }
        if (errno != EINVAL)
            fail_msg("'%s': errno %d (%s), expected EINVAL", bad[i], errno, strerror(errno));
    }
    /* Explicit classes set in the struct, past the parser: too many. */
    struct slab_config c;
    slab_config_default(&c);
    c.n_classes = SLAB_MAX_CLASSES + 1;
    errno = 0;
    assert_null(slab_create(&c));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(vm_size(), vm_before);

    /* The edges that are fine. */
    const char *good[] = {
        "prealloc=1M,hard_limit=1M", "overflow=0,prealloc=64K", "magazine=1", "magazine=1024", "depot=0", "depot=256",
        "classes=32768",             "classes_per_doubling=1", "reserve=64K",
    };
    for (unsigned i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct slab_pool *p = pool_from(good[i]);
        void *q = slab_alloc(p, 16);
        if (!q)
            fail_msg("'%s': first allocation failed: %s", good[i], strerror(errno));
        slab_free(p, q);
        slab_destroy(p);
    }
    assert_int_equal(vm_size(), vm_before);
}

/* A pool, used every way, leaves nothing mapped after slab_destroy. */
static void test_destroy_unmaps(void **state)
{
    (void)state;
    void *keep[64];
    size_t vm_before = vm_size();
    struct slab_pool *p = pool_from("prealloc=2M,idle_ms=0");
    for (unsigned i = 0; i < 64; i++)
        keep[i] = slab_alloc(p, i * 777 + (i % 4 == 0 ? 100000 : 0)); /* small and large, live at destroy */
    void *a = slab_aligned_alloc(p, 1 << 20, 10); /* large, over-aligned */
    assert_non_null(a);
    for (unsigned i = 0; i < 32; i++)
        slab_free(p, keep[i]);
    slab_trim(p);
    assert_true(vm_size() > vm_before);
    slab_destroy(p);
    assert_int_equal(vm_size(), vm_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries_default),
        cmocka_unit_test(test_boundaries_quarter),
        cmocka_unit_test(test_boundaries_explicit),
        cmocka_unit_test(test_boundaries_other_rules),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_size_zero),
        cmocka_unit_test(test_large_path),
        cmocka_unit_test(test_parse_every_key),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_magazine_bytes),
        cmocka_unit_test(test_create_refused),
        cmocka_unit_test(test_destroy_unmaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
