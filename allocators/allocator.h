/* allocator.h - the one interface every allocator under test is reached through.
 *
 * The replay engine calls an allocator only through `const struct allocator *`.
 * Each adapter (glibc.c, jemalloc.c, ...) defines exactly one instance named
 * `allocator_under_test`; a driver binary links the harness with one adapter and
 * that allocator's library (one allocator per process, see DESIGN.md).
 *
 * A NULL function pointer means "not supported": the harness then uses the
 * documented fallback (calloc -> malloc+memset, realloc -> malloc+copy+free,
 * usable_size/release/stats/thread_* -> skipped and reported as unknown).
 * malloc, free and aligned_alloc are required.
 */
#ifndef ALLOCMARK_ALLOCATOR_H
#define ALLOCMARK_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

#define ALLOC_STATS_MAX_EXTRA 12

/* The allocator's own view of its memory. Every field is bytes, -1 = not exposed. */
struct alloc_stats {
    int64_t allocated; /* bytes in live allocations as the allocator counts them */
    int64_t active;    /* bytes in pages holding live allocations */
    int64_t resident;  /* bytes the allocator believes are resident */
    int64_t mapped;    /* bytes mapped/committed from the OS */
    int64_t retained;  /* bytes kept mapped but released (unmapped/decommitted) */
    /* Native figures under their native names (e.g. "tcmalloc.pageheap_free_bytes"). */
    int n_extra;
    struct {
        const char *name;
        int64_t value;
    } extra[ALLOC_STATS_MAX_EXTRA];
};

struct allocator {
    const char *name;

    /* Called once before the first allocation, after the RSS baseline is taken;
     * its wall time is reported as init_ns. `options` is the driver's
     * --alloc-opt string or NULL. Returns 0, or -1 with a message on stderr. */
    int (*init)(const char *options);

    void *(*malloc)(size_t size);
    /* `size` is the size the object was requested with, or 0 when it must not
     * be trusted for sized free: objects from aligned_alloc (sized free would
     * also need the alignment) and objects last resized by realloc (a realloc
     * may keep a block outside the size class of its new size; gperftools
     * 2.10's tc_realloc does). */
    void (*free)(void *ptr, size_t size);
    void *(*calloc)(size_t nmemb, size_t size);
    void *(*realloc)(void *ptr, size_t old_size, size_t new_size);
    void *(*aligned_alloc)(size_t alignment, size_t size);
    size_t (*usable_size)(void *ptr);

    /* Called on the replay thread when a trace thread starts / ends. */
    void (*thread_init)(void);
    void (*thread_exit)(void);

    /* Give free memory back to the OS now. Returns 0 on success. */
    int (*release)(void);
    /* Fill *st (all fields pre-set to -1 by the caller). Returns 0 on success. */
    int (*stats)(struct alloc_stats *st);
    /* A static string such as "jemalloc 5.3.0-0-g54eaed1d8b56". */
    const char *(*version)(void);
};

extern const struct allocator allocator_under_test;

/* Set every figure of *st to "unknown". */
static inline void alloc_stats_clear(struct alloc_stats *st)
{
    st->allocated = st->active = st->resident = st->mapped = st->retained = -1;
    st->n_extra = 0;
}

/* Append a native figure; silently ignores overflow of the fixed table. */
static inline void alloc_stats_add(struct alloc_stats *st, const char *name, int64_t value)
{
    if (st->n_extra < ALLOC_STATS_MAX_EXTRA) {
        st->extra[st->n_extra].name = name;
        st->extra[st->n_extra].value = value;
        st->n_extra++;
    }
}

#endif
