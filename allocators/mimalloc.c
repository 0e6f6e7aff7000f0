/* mimalloc.c - adapter for Microsoft's mimalloc through its mi_* API.
 *
 * Link: -lmimalloc (Debian's library also replaces malloc for the whole process).
 */
#include "allocator.h"

#include <mimalloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

static int mi_adapter_init(const char *options)
{
    if (options != NULL && options[0] != '\0') {
        fprintf(stderr, "mimalloc: unknown allocator option '%s' (this adapter takes none)\n",
                options);
        return -1;
    }
    /* The process is set up by a load-time constructor, but this thread's heap
     * and first pages come with the first allocation: count them as init_ns. */
    void *volatile p = mi_malloc(64);
    mi_free(p);
    return 0;
}

static void *mi_adapter_malloc(size_t size)
{
    return mi_malloc(size);
}

static void mi_adapter_free(void *ptr, size_t size)
{
    /* mi_free_size only checks the size in debug builds, so any size is safe. */
    if (size != 0)
        mi_free_size(ptr, size);
    else
        mi_free(ptr);
}

static void *mi_adapter_calloc(size_t nmemb, size_t size)
{
    return mi_calloc(nmemb, size);
}

static void *mi_adapter_realloc(void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    /* mi_realloc(p, 0) returns a fresh minimal block; every adapter gives
     * realloc(p, 0) glibc's meaning instead: free p, return NULL. */
    if (ptr != NULL && new_size == 0) {
        mi_free(ptr);
        return NULL;
    }
    return mi_realloc(ptr, new_size);
}

static void *mi_adapter_aligned_alloc(size_t alignment, size_t size)
{
    /* mi_malloc_aligned returns NULL itself for a bad alignment, but may also
     * print an error; refuse quietly like the other adapters. */
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return NULL;
    /* mimalloc 2.0.9 (Debian 12) takes a shortcut for power-of-two sizes up to
     * 1 KiB, assuming such blocks are naturally aligned; for alignments of
     * 256..1024 they are not (microsoft/mimalloc#700, fixed upstream after
     * 2.0.9). The shortcut is the only difference from the _at variant, so
     * above 128 we go there directly. */
    if (alignment > 128)
        return mi_malloc_aligned_at(size, alignment, 0);
    return mi_malloc_aligned(size, alignment);
}

static size_t mi_adapter_usable_size(void *ptr)
{
    return mi_usable_size(ptr);
}

static void mi_adapter_thread_init(void)
{
    mi_thread_init();
}

static void mi_adapter_thread_exit(void)
{
    mi_thread_done();
}

static int mi_adapter_release(void)
{
    mi_collect(true);
    return 0;
}

static int mi_adapter_stats(struct alloc_stats *st)
{
    /* mimalloc 2.0 has no API for live bytes (mi_stats_print only prints), so
     * allocated/active stay unknown. mapped is mimalloc's own commit count.
     * resident stays unknown too: on Linux mi_process_info's "current_rss" is
     * just a copy of current_commit (an "estimate" in its source), and peak_rss
     * is getrusage's ru_maxrss for the whole process, harness included. */
    size_t elapsed, utime, stime, rss, peak_rss, commit, peak_commit, faults;
    mi_process_info(&elapsed, &utime, &stime, &rss, &peak_rss, &commit, &peak_commit, &faults);
    st->mapped = (int64_t)commit;
    alloc_stats_add(st, "mimalloc.current_commit", (int64_t)commit);
    alloc_stats_add(st, "mimalloc.peak_commit", (int64_t)peak_commit);
    alloc_stats_add(st, "mimalloc.peak_rss", (int64_t)peak_rss);
    return 0;
}

static char version_buf[32];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_fill(void)
{
    /* mi_version() is major*100 + minor*10 + patch, e.g. 209 for 2.0.9. */
    int v = mi_version();
    snprintf(version_buf, sizeof version_buf, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
}

static const char *mi_adapter_version(void)
{
    pthread_once(&version_once, version_fill);
    return version_buf;
}

const struct allocator allocator_under_test = {
    .name = "mimalloc",
    .init = mi_adapter_init,
    .malloc = mi_adapter_malloc,
    .free = mi_adapter_free,
    .calloc = mi_adapter_calloc,
    .realloc = mi_adapter_realloc,
    .aligned_alloc = mi_adapter_aligned_alloc,
    .usable_size = mi_adapter_usable_size,
    .thread_init = mi_adapter_thread_init,
    .thread_exit = mi_adapter_thread_exit,
    .release = mi_adapter_release,
    .stats = mi_adapter_stats,
    .version = mi_adapter_version,
};
