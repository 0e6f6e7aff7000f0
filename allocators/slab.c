/* slab.c - adapter for the in-house slab allocator (allocators/slab/).
 *
 * Options come from --alloc-opt as slab.h's "key=value,..." (for example
 * prealloc=256M,idle_ms=-1). allocmark-slab runs the library's defaults
 * (thread cache on); allocmark-slab-locked (slab-locked.c) turns the thread
 * cache off by default, the seed author's configuration. */
#include "allocator.h"

#include <stdio.h>

#include "slab/slab.h"

#ifndef SLAB_ADAPTER_NAME
#define SLAB_ADAPTER_NAME "slab"
#define SLAB_ADAPTER_THREAD_CACHE 1
#endif

static struct slab_pool *pool;

static int sa_init(const char *options)
{
    struct slab_config c;
    char err[256];
    slab_config_default(&c);
    c.thread_cache = SLAB_ADAPTER_THREAD_CACHE;
    if (slab_config_parse(&c, options, err, sizeof err) != 0 || slab_config_check(&c, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", SLAB_ADAPTER_NAME, err);
        return -1;
    }
    pool = slab_create(&c);
    if (!pool) {
        perror(SLAB_ADAPTER_NAME ": slab_create");
        return -1;
    }
    return 0;
}

static void *sa_malloc(size_t size) { return slab_alloc(pool, size); }
static void *sa_calloc(size_t n, size_t size) { return slab_calloc(pool, n, size); }
static void *sa_aligned(size_t align, size_t size) { return slab_aligned_alloc(pool, align, size); }
static size_t sa_usable(void *p) { return slab_usable_size(pool, p); }

static void sa_free(void *p, size_t size)
{
    if (size)
        slab_free_sized(pool, p, size);
    else
        slab_free(pool, p);
}

static void *sa_realloc(void *p, size_t old, size_t size)
{
    (void)old;
    return slab_realloc(pool, p, size);
}

static void sa_thread_exit(void) { slab_thread_flush(pool); }

static int sa_release(void)
{
    slab_trim(pool);
    return 0;
}

static int sa_stats(struct alloc_stats *st)
{
    struct slab_stats s;
    slab_stats(pool, &s);
    int64_t allocated = 0, slabs = 0;
    for (unsigned c = 0; c < s.n_classes; c++) {
        allocated += (int64_t)((s.cls[c].in_use - s.cls[c].in_magazines) * s.cls[c].size);
        slabs += (int64_t)s.cls[c].slabs;
    }
    st->allocated = allocated + (int64_t)s.large_bytes;
    st->active = slabs * (int64_t)SLAB_SIZE + (int64_t)s.large_bytes;
    st->resident = st->mapped = (int64_t)(s.committed + s.large_bytes + s.large_cached_bytes);
    st->retained = -1;
    alloc_stats_add(st, "slab.prealloc", (int64_t)s.prealloc);
    alloc_stats_add(st, "slab.overflow", (int64_t)s.overflow);
    alloc_stats_add(st, "slab.released", (int64_t)s.released);
    alloc_stats_add(st, "slab.empty_slabs", (int64_t)s.empty_slabs);
    alloc_stats_add(st, "slab.large_count", (int64_t)s.large_count);
    alloc_stats_add(st, "slab.large_allocs", (int64_t)s.large_allocs);
    alloc_stats_add(st, "slab.large_maps", (int64_t)s.large_maps);
    alloc_stats_add(st, "slab.large_cached_bytes", (int64_t)s.large_cached_bytes);
    return 0;
}

static const char *sa_version(void) { return SLAB_ADAPTER_NAME " (allocmark in-house)"; }

const struct allocator allocator_under_test = {
    .name = SLAB_ADAPTER_NAME,
    .init = sa_init,
    .malloc = sa_malloc,
    .free = sa_free,
    .calloc = sa_calloc,
    .realloc = sa_realloc,
    .aligned_alloc = sa_aligned,
    .usable_size = sa_usable,
    .thread_init = NULL,
    .thread_exit = sa_thread_exit,
    .release = sa_release,
    .stats = sa_stats,
    .version = sa_version,
};
