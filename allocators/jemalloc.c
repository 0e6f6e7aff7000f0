/* jemalloc.c - adapter for jemalloc through its non-standard API.
 *
 * Link: -ljemalloc (Debian's build is unprefixed, so it also replaces malloc for
 * the whole process).
 */
#include "allocator.h"

#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static int jm_init(const char *options)
{
    if (options != NULL && options[0] != '\0') {
        fprintf(stderr, "jemalloc: unknown allocator option '%s' (this adapter takes none)\n",
                options);
        return -1;
    }
    /* jemalloc initialises lazily (malloc_init, arenas, tcache) on the first
     * allocation: make that happen inside init_ns. */
    void *volatile p = mallocx(64, 0);
    dallocx(p, 0);
    return 0;
}

static void *jm_malloc(size_t size)
{
    /* Plain malloc: it has jemalloc's fast path and, unlike mallocx, is defined
     * for size 0. */
    return malloc(size);
}

static void jm_free(void *ptr, size_t size)
{
    /* sdallocx trusts `size` to pick the size class (skipping the radix-tree
     * lookup), so it is only used when the request size is known and maps to
     * the object's class: aligned and realloc'd objects come with size 0 (see
     * allocator.h). It must never see NULL. */
    if (size != 0 && ptr != NULL)
        sdallocx(ptr, size, 0);
    else
        free(ptr);
}

static void *jm_calloc(size_t nmemb, size_t size)
{
    return calloc(nmemb, size);
}

static void *jm_realloc(void *ptr, size_t old_size, size_t new_size)
{
    /* rallocx is undefined for NULL and for size 0: give those the glibc
     * meaning (malloc; free and return NULL) as every adapter does. The free is
     * unsized because old_size of a once-aligned object would mislead sdallocx.
     * rallocx only keeps an object in place when the new size maps to the same
     * class, so a later sdallocx(ptr, new_size) stays valid. */
    (void)old_size;
    if (ptr == NULL)
        return malloc(new_size);
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return rallocx(ptr, new_size, 0);
}

static void *jm_aligned_alloc(size_t alignment, size_t size)
{
    /* mallocx needs a power of two and a nonzero size. MALLOCX_ALIGN would call
     * ffs() out of line on every allocation; the lg form is the same flag. */
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return NULL;
    return mallocx(size != 0 ? size : 1, MALLOCX_LG_ALIGN(__builtin_ctzl(alignment)));
}

static size_t jm_usable_size(void *ptr)
{
    return sallocx(ptr, 0);
}

static int jm_release(void)
{
    /* Purge dirty and muzzy pages of every arena back to the OS now. */
    char name[64];
    snprintf(name, sizeof name, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    return mallctl(name, NULL, NULL, NULL, 0) == 0 ? 0 : -1;
}

static int64_t jm_stat(const char *name)
{
    size_t v, len = sizeof v;
    if (mallctl(name, &v, &len, NULL, 0) != 0)
        return -1;
    return (int64_t)v;
}

static int jm_stats(struct alloc_stats *st)
{
    /* Statistics are a snapshot refreshed only when "epoch" is written. */
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    if (mallctl("epoch", &epoch, &len, &epoch, len) != 0)
        return -1;
    st->allocated = jm_stat("stats.allocated");
    st->active = jm_stat("stats.active");
    st->resident = jm_stat("stats.resident");
    st->mapped = jm_stat("stats.mapped");
    st->retained = jm_stat("stats.retained");
    int64_t v;
    if ((v = jm_stat("stats.metadata")) >= 0)
        alloc_stats_add(st, "jemalloc.stats.metadata", v);
    if ((v = jm_stat("stats.metadata_thp")) >= 0)
        alloc_stats_add(st, "jemalloc.stats.metadata_thp", v);
    return st->allocated >= 0 ? 0 : -1; /* -1: built without --enable-stats */
}

static char version_buf[128];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_fill(void)
{
    const char *v = NULL;
    size_t len = sizeof v;
    if (mallctl("version", &v, &len, NULL, 0) != 0 || v == NULL)
        v = JEMALLOC_VERSION; /* the header we were built against */
    snprintf(version_buf, sizeof version_buf, "jemalloc %s", v);
}

static const char *jm_version(void)
{
    pthread_once(&version_once, version_fill);
    return version_buf;
}

const struct allocator allocator_under_test = {
    .name = "jemalloc",
    .init = jm_init,
    .malloc = jm_malloc,
    .free = jm_free,
    .calloc = jm_calloc,
    .realloc = jm_realloc,
    .aligned_alloc = jm_aligned_alloc,
    .usable_size = jm_usable_size,
    /* jemalloc creates a thread's tcache on its first allocation and flushes it
     * from a TSD destructor at thread exit; nothing to call. */
    .thread_init = NULL,
    .thread_exit = NULL,
    .release = jm_release,
    .stats = jm_stats,
    .version = jm_version,
};
