/* glibc.c - adapter for the C library's own malloc (ptmalloc2).
 *
 * Link: nothing extra. glibc ignores the size given to free, so sized free is a
 * plain free here.
 */
#include "allocator.h"

#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int glibc_init(const char *options)
{
    if (options != NULL && options[0] != '\0') {
        fprintf(stderr, "glibc: unknown allocator option '%s' (this adapter takes none)\n",
                options);
        return -1;
    }
    /* ptmalloc sets itself up on the first call; do it here so that cost is
     * counted as init_ns. The volatile store keeps the compiler from eliding
     * the malloc/free pair. */
    void *volatile p = malloc(64);
    free(p);
    return 0;
}

static void *glibc_malloc(size_t size)
{
    return malloc(size);
}

static void glibc_free(void *ptr, size_t size)
{
    (void)size;
    free(ptr);
}

static void *glibc_calloc(size_t nmemb, size_t size)
{
    return calloc(nmemb, size);
}

static void *glibc_realloc(void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    /* glibc's realloc(p, 0) frees p and returns NULL; every adapter does the same. */
    return realloc(ptr, new_size);
}

static void *glibc_aligned_alloc(size_t alignment, size_t size)
{
    /* aligned_alloc() may insist on size being a multiple of alignment;
     * memalign() has no such rule. memalign would round a bad alignment up;
     * refuse it instead, like the other adapters. */
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return NULL;
    return memalign(alignment, size);
}

static size_t glibc_usable_size(void *ptr)
{
    return malloc_usable_size(ptr);
}

static int glibc_release(void)
{
    /* malloc_trim returns 1 if it gave memory back, 0 if there was nothing to
     * give; neither is an error. */
    (void)malloc_trim(0);
    return 0;
}

static int glibc_stats(struct alloc_stats *st)
{
    /* mallinfo2 sums every arena. Chunks parked in the per-thread tcache count
     * as in use (uordblks); large mmapped chunks are only in hblkhd. */
    struct mallinfo2 mi = mallinfo2();
    st->allocated = (int64_t)(mi.uordblks + mi.hblkhd);
    st->mapped = (int64_t)(mi.arena + mi.hblkhd);
    alloc_stats_add(st, "glibc.arena", (int64_t)mi.arena);
    alloc_stats_add(st, "glibc.hblkhd", (int64_t)mi.hblkhd);
    alloc_stats_add(st, "glibc.uordblks", (int64_t)mi.uordblks);
    alloc_stats_add(st, "glibc.fordblks", (int64_t)mi.fordblks);
    alloc_stats_add(st, "glibc.keepcost", (int64_t)mi.keepcost);
    return 0;
}

static char version_buf[64];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_fill(void)
{
    snprintf(version_buf, sizeof version_buf, "glibc %s", gnu_get_libc_version());
}

static const char *glibc_version(void)
{
    pthread_once(&version_once, version_fill);
    return version_buf;
}

const struct allocator allocator_under_test = {
    .name = "glibc",
    .init = glibc_init,
    .malloc = glibc_malloc,
    .free = glibc_free,
    .calloc = glibc_calloc,
    .realloc = glibc_realloc,
    .aligned_alloc = glibc_aligned_alloc,
    .usable_size = glibc_usable_size,
    /* glibc's per-thread state (arena choice, tcache) is set up and torn down by
     * the C library itself; there is nothing to call. */
    .thread_init = NULL,
    .thread_exit = NULL,
    .release = glibc_release,
    .stats = glibc_stats,
    .version = glibc_version,
};
