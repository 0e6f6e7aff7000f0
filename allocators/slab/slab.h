/* slab.h - the in-house slab allocator: a pool of small-object size classes over
 * one reserved virtual region, pre-faulted up to a configured bound.
 *
 * Built for a server whose client count is bounded and stable and whose
 * allocations are almost all small (keys and values under 4 KiB). A pool:
 *   - reserves one virtual region and carves it into 64 KiB slabs, each holding
 *     chunks of one size class; a descriptor table indexed by
 *     (p - base) >> SLAB_SHIFT maps any pointer to its slab in O(1), with no
 *     per-object header;
 *   - pre-faults the first `prealloc` bytes at create (the bound it never gives
 *     back), and past it grows from the OS unless `overflow` is off, up to an
 *     optional `hard_limit` past which allocation fails cleanly (NULL, ENOMEM);
 *   - serves requests above the largest class from a large-object path (one
 *     mapping each, with a 64-byte header in front), counted in the stats;
 *     freed mappings are cached (up to `large_cache` bytes and
 *     `large_cache_share` percent of the pool's other memory) and reused by
 *     requests needing up to 25% fewer pages, so a program that frees and
 *     re-allocates buffers does not pay an mmap, a munmap and page faults
 *     each time;
 *   - optionally fronts each class with per-thread magazines (the thread cache)
 *     and, behind them, a per-class depot of full and empty magazines, so a
 *     thread whose magazine fills up swaps it for an empty one, and a thread
 *     whose magazine runs dry takes a full one, in O(1) under a short lock
 *     (Bonwick & Adams, "Magazines and Vmem", USENIX 2001); without the thread
 *     cache every call takes that class's lock (one cache-line-padded lock per
 *     class, never one global lock);
 *   - gives slabs that stayed empty for `idle_ms` back to the OS (MADV_DONTNEED),
 *     down to the pre-allocated floor: from the allocation path, a few at a
 *     time, or from an optional background tick thread.
 *
 * Sizes of 0 get the smallest class. Every function is thread-safe. Requests
 * that cannot be met (overflowing calloc, sizes past the limits, bad
 * alignment) return NULL with errno = ENOMEM (EINVAL for a bad alignment),
 * never a short block.
 */
#ifndef SLAB_H
#define SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SLAB_SHIFT 16 /* 64 KiB slabs */
#define SLAB_SIZE ((size_t)1 << SLAB_SHIFT)
#define SLAB_MAX_CLASSES 64
#define SLAB_MAX_CLASS_SIZE 32768 /* a class must leave room for 2 chunks per slab */
#define SLAB_MAX_MAGAZINE 1024
#define SLAB_MAX_DEPOT 256

struct slab_config {
    /* Size classes: an explicit ascending list of multiples of 16 (n_classes > 0),
     * or, when n_classes is 0, the spacing rule: 16-byte steps up to 128, then
     * classes_per_doubling (4 or 8; any power of two 1..16) classes per doubling
     * up to max_class (at most 64 classes in all). */
    size_t classes[SLAB_MAX_CLASSES];
    unsigned n_classes;
    unsigned classes_per_doubling; /* 1, 2, 4 or 8; default 8 */
    size_t max_class;              /* default 4096 */
    size_t prealloc;               /* bytes pre-faulted at create; default 0 */
    int prealloc_hugepage;         /* MADV_HUGEPAGE on the pre-allocated part; default 0 */
    int overflow;                  /* grow from the OS past prealloc; default 1 */
    size_t hard_limit;             /* max bytes of slabs and large blocks together, the
                                    * pre-allocated floor counted whole; >= prealloc; 0 = none */
    long idle_ms;                  /* empty-slab idle time before release; 0 at once, -1 never; default 10000 */
    int tick_thread;               /* a background thread that releases while the process idles; default 0 */
    int thread_cache;              /* per-thread magazines; default 1 */
    unsigned magazine;             /* chunks per magazine (a thread holds two per class); default 32 */
    size_t magazine_max_bytes;     /* and at most this many bytes of chunks per magazine: a class of
                                    * size S gets magazine_max_bytes / S chunks, never fewer than 4
                                    * (nor more than magazine); 0 = no byte bound; default 16 KiB
                                    * (allocators/slab/README.md, "Magazines bounded in bytes") */
    unsigned depot;                /* full magazines each class's depot keeps (0..256; 0 = no depot:
                                    * magazines trade only with the class's slabs); default 8. Full
                                    * magazines left unused for idle_ms / 2 go back to their slabs. */
    size_t reserve;                /* virtual region size; default 64 GiB */
    size_t large_cache;            /* bytes of freed large mappings kept for reuse; 0 = none (every
                                    * free unmaps); default 64 MiB. Reused for requests of up to 25%
                                    * fewer pages; still resident and charged to hard_limit (dropped
                                    * first when a charge would fail); unmapped after idle_ms
                                    * (idle_ms=0: not cached), by slab_trim, and oldest first past
                                    * the bound. */
    unsigned large_cache_share;    /* and at most this percentage of the pool's other memory (slab
                                    * bytes committed + live large blocks), but never less than
                                    * 4 MiB: a small heap does not carry 64 MiB of cached blocks;
                                    * 0 = only the large_cache bound; default 50 (0..1000) */
};

/* Default-initialise every field. */
void slab_config_default(struct slab_config *c);
/* Apply "key=value,key=value" (keys as the field names; classes as
 * "classes=16:32:48"; sizes accept K, M, G suffixes). Returns 0, or -1 with a
 * message naming the option in err. */
int slab_config_parse(struct slab_config *c, const char *opts, char *err, size_t errlen);

/* Check a whole configuration: 0, or -1 with a message naming the option at
 * fault in err (slab_create refuses the same configurations with EINVAL). */
int slab_config_check(const struct slab_config *c, char *err, size_t errlen);

struct slab_pool;

/* NULL with errno set (and nothing left mapped) if the config is invalid or the
 * region or pre-allocation cannot be had. */
struct slab_pool *slab_create(const struct slab_config *c);
/* Unmap everything. Pointers from the pool are invalid afterwards. */
void slab_destroy(struct slab_pool *p);

void *slab_alloc(struct slab_pool *p, size_t size);
void *slab_calloc(struct slab_pool *p, size_t nmemb, size_t size);
void *slab_realloc(struct slab_pool *p, void *ptr, size_t size);       /* size 0: free, NULL */
void *slab_aligned_alloc(struct slab_pool *p, size_t align, size_t size); /* align: power of two */
void slab_free(struct slab_pool *p, void *ptr);                       /* NULL is a no-op */
/* Free with the size it was allocated with (skips the descriptor lookup for
 * the class). Not for aligned or realloc'd blocks. */
void slab_free_sized(struct slab_pool *p, void *ptr, size_t size);
size_t slab_usable_size(struct slab_pool *p, void *ptr); /* debug build (README): the requested size */
/* 1 if ptr is a live block of this pool (a slab chunk or a large block), else 0. */
int slab_owns(struct slab_pool *p, const void *ptr);
/* slab_free for a pointer that may not be the pool's: frees it and returns 0
 * if it lies in the pool's region or is a live large block (NULL: nothing, 0);
 * returns -1 and does nothing if it is neither (a pointer from another
 * allocator), where slab_free would abort. The LD_PRELOAD shim's free. */
int slab_free_if_owned(struct slab_pool *p, void *ptr);
/* Empty this thread's magazines and every depot into their classes, then
 * release every empty slab above the pre-allocated floor and unmap every
 * cached large mapping now; returns bytes released. (Other threads' own
 * magazines stay theirs.) */
size_t slab_trim(struct slab_pool *p);
/* This thread's magazines back to the classes' slabs, not to the depot (also
 * done at thread exit, where the emptied magazines go to the depots). */
void slab_thread_flush(struct slab_pool *p);

struct slab_class_stats {
    size_t size;          /* chunk bytes */
    uint64_t allocs;      /* allocations served, cumulative */
    uint64_t requested;   /* bytes requested by those allocations, cumulative */
    uint64_t in_use;      /* chunks handed out and not returned to a slab (magazines count as in use) */
    uint64_t in_magazines;/* of those, chunks sitting in magazines: threads' and the depot's */
    uint64_t in_depot;    /* of those, chunks in the depot's full magazines (depot_full * magazine) */
    uint64_t depot_full;  /* full magazines in the class's depot (at most cfg.depot) */
    uint64_t depot_empty; /* empty magazines in the depot, ready to swap for a full one */
    uint64_t magazine;    /* chunks a magazine of this class holds (magazine, magazine_max_bytes) */
    uint64_t slabs;       /* slabs assigned to the class */
};

struct slab_stats {
    unsigned n_classes;
    struct slab_class_stats cls[SLAB_MAX_CLASSES];
    size_t prealloc;       /* the configured floor */
    size_t committed;      /* slab bytes carved from the region and not released */
    size_t overflow;       /* committed bytes past the pre-allocated floor */
    size_t released;       /* bytes given back to the OS, cumulative */
    size_t empty_slabs;    /* slabs holding no chunk, kept for reuse */
    size_t large_count, large_bytes; /* live large blocks and their mapped bytes */
    uint64_t large_allocs; /* large allocations, cumulative */
    uint64_t large_maps;   /* of those, served by a new mmap (the rest: from the cache) */
    uint64_t large_cache_hits; /* served from the cache, cumulative */
    size_t large_cached_count, large_cached_bytes; /* freed mappings cached: resident, committed
                                                    * memory on top of committed and large_bytes */
    size_t magazine_bytes; /* mapped for magazines (threads' and depots'): the thread cache's own cost */
};

void slab_stats(struct slab_pool *p, struct slab_stats *s);

/* Fork safety. A process that forks while other threads may be inside the
 * pool must take every pool lock across the fork, or the child can inherit a
 * lock held by a thread that does not exist there and deadlock. Register, per
 * pool (pthread_atfork takes functions without arguments):
 *     static void prep(void) { slab_fork_prepare(pool); }
 *     static void parent(void) { slab_fork_parent(pool); }
 *     static void child(void) { slab_fork_child(pool); }
 *     pthread_atfork(prep, parent, child);
 * slab_fork_prepare takes every lock of the pool in the documented order (see
 * slab_internal.h); slab_fork_parent and slab_fork_child release them. In the
 * child, the other threads' magazines are lost (their chunks stay counted as
 * in use; they cannot be taken back safely, as those threads may have been
 * half-way through a lock-free magazine update), and the tick thread does not
 * exist: idle release runs from the allocation path only. With several pools,
 * prepare them in one order and release them in the reverse order. */
void slab_fork_prepare(struct slab_pool *p);
void slab_fork_parent(struct slab_pool *p);
void slab_fork_child(struct slab_pool *p);

#endif
