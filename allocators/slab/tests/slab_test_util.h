/* slab_test_util.h - helpers shared by the slab allocator's tests: a fixed-seed
 * random generator, per-block byte patterns (fill, then verify on free), the
 * process's memory figures from /proc/self/statm, pool creation from an option
 * string, and the "known library bug" gate.
 *
 * Include after <cmocka.h>. Everything is static: each test program is one file. */
#ifndef SLAB_TEST_UTIL_H
#define SLAB_TEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../slab.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* ---- random: splitmix64, one state per user (threads keep their own) ---- */

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(s, hi - lo + 1);
}

/* ---- block patterns ----
 * A block of n bytes with tag t holds, at byte i, byte (i % 8) of the 64-bit word
 * t ^ ((i / 8 + 1) * golden): different for every tag and every word, so a block
 * that overlaps another, or a stray write, or a copy from the wrong place shows. */

static inline uint64_t pat_word(uint64_t tag, size_t k)
{
    return tag ^ ((uint64_t)(k + 1) * UINT64_C(0x9E3779B97F4A7C15));
}

static inline void pat_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++) {
        uint64_t w = pat_word(tag, k);
        memcpy(b + 8 * k, &w, 8);
    }
    if (n % 8) {
        uint64_t w = pat_word(tag, words);
        memcpy(b + 8 * words, &w, n % 8);
    }
}

/* Offset of the first byte of [0, n) that is not the pattern, or SIZE_MAX. */
static inline size_t pat_find_bad(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++) {
        uint64_t w = pat_word(tag, k), got;
        memcpy(&got, b + 8 * k, 8);
        if (got != w)
            for (size_t i = 0; i < 8; i++)
                if (b[8 * k + i] != ((const unsigned char *)&w)[i])
                    return 8 * k + i;
    }
    if (n % 8) {
        uint64_t w = pat_word(tag, words);
        for (size_t i = 0; i < n % 8; i++)
            if (b[8 * words + i] != ((const unsigned char *)&w)[i])
                return 8 * words + i;
    }
    return SIZE_MAX;
}

/* Offset of the first non-zero byte of [0, n), or SIZE_MAX. */
static inline size_t find_nonzero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return i;
    return SIZE_MAX;
}

/* Fail the test, naming the block, if it lost its pattern. */
#define assert_pattern(p, n, tag)                                                                            \
    do {                                                                                                     \
        size_t bad_ = pat_find_bad((p), (n), (tag));                                                         \
        if (bad_ != SIZE_MAX)                                                                                \
            fail_msg("block %p (%zu bytes, tag %llx): pattern broken at offset %zu", (void *)(p), (size_t)(n), \
                     (unsigned long long)(tag), bad_);                                                       \
    } while (0)

/* ---- the process's memory ---- */

static inline size_t page_bytes(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* /proc/self/statm fields (pages): size resident shared text lib data dt. */
static inline void statm_read(size_t *size, size_t *resident, size_t *shared)
{
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long sz = 0, res = 0, sh = 0;
    int n = fscanf(f, "%lu %lu %lu", &sz, &res, &sh);
    fclose(f);
    assert_int_equal(n, 3);
    *size = sz * page_bytes();
    *resident = res * page_bytes();
    *shared = sh * page_bytes();
}

/* Private resident bytes: resident - shared (anonymous memory, near enough). */
static inline size_t rss_private(void)
{
    size_t sz, res, sh;
    statm_read(&sz, &res, &sh);
    return res - sh;
}

/* Mapped virtual bytes (VmSize): a pool that leaves a mapping behind shows here. */
static inline size_t vm_size(void)
{
    size_t sz, res, sh;
    statm_read(&sz, &res, &sh);
    return sz;
}

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- pools ---- */

/* Defaults plus "key=value,..." options; the options must parse. */
static inline struct slab_config config_from(const char *opts)
{
    struct slab_config c;
    char err[256] = "";
    slab_config_default(&c);
    if (slab_config_parse(&c, opts, err, sizeof err) != 0)
        fail_msg("options '%s' refused: %s", opts, err);
    return c;
}

static inline struct slab_pool *pool_from(const char *opts)
{
    struct slab_config c = config_from(opts);
    struct slab_pool *p = slab_create(&c);
    if (!p)
        fail_msg("slab_create(%s): %s", opts, strerror(errno));
    return p;
}

#endif
