/* slab_internal.h - the pool's structures, shared by its source files.
 *
 * Lock order (a thread holding one may take the next, never the reverse):
 *   pool tcache-list lock  ->  class lock  ->  region lock
 *   class depot lock (a leaf: held alone)
 *   magazine-arena lock (a leaf: held alone)
 *   class lock  ->  large lock (only at the hard limit: a slab that does not
 *     fit drops the large cache, see _slab_region_get; the region lock is
 *     released first, and no other lock is taken under the large lock)
 *   large lock (otherwise alone; it also guards the large cache, large_cache.c,
 *     whose munmaps happen after it is released)
 * (tcache-list -> class: a thread's exit folds its counters into the classes
 * under the list lock.) No thread holds two class locks at once, except
 * slab_fork_prepare, which takes them all in index order: tcache-list lock,
 * class 0, depot 0, .. class n-1, depot n-1, region, large, magazine arena.
 * A depot lock is held only for a few pointer moves and never while another
 * lock is taken: magazines leave the depot first and are emptied into their
 * class afterwards, under the class lock alone.
 * Thread caches are touched only by their own thread, except at stats time,
 * when their counters are read without a lock (the figures may be a moment old).
 */
#ifndef SLAB_INTERNAL_H
#define SLAB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "slab.h"

/* The debug build (-DSLAB_DEBUG=1; see debug.c): every block gets SLAB_CANARY
 * bytes of canary after the requested size, so a class is chosen for size +
 * SLAB_CANARY. 0 in the release build, where every use below folds away. */
#ifndef SLAB_DEBUG
#define SLAB_DEBUG 0
#endif
#if SLAB_DEBUG
#define SLAB_CANARY ((size_t)8)
#else
#define SLAB_CANARY ((size_t)0)
#endif

#define CACHE_LINE 64
#define CLASS_NONE 0u /* desc->cls holds class + 1: a zeroed descriptor has no class */
#define LARGE_HEADER 64u
#define LARGE_MAGIC 0x736c61624c617267ull /* "slabLarg" */

enum slab_state { SLAB_UNUSED = 0, SLAB_PARTIAL, SLAB_FULL, SLAB_CURRENT_SPARE, SLAB_EMPTY, SLAB_RELEASED };

/* One per 64 KiB slab of the region, found by (p - base) >> SLAB_SHIFT. */
struct slab_desc {
    struct slab_desc *next, *prev; /* class partial list, or region empty/released list */
    void *free;                    /* chunks returned to this slab */
    uint32_t in_use;               /* chunks handed out */
    uint32_t carved;               /* chunks carved so far (the rest is untouched) */
    uint16_t cls; /* class + 1, CLASS_NONE for none; read with _slab_desc_class */
    uint8_t state;
    uint64_t empty_since_ms;
};

/* A size class: its lock and slabs on a cache line of their own. */
/* A class lock: test-and-test-and-set, spinning briefly, then yielding. One
 * atomic exchange and one store per uncontended lock/unlock, where a
 * pthread mutex costs two atomic read-modify-writes; the locked path takes it
 * on every call. Held only for a few list operations, never across a syscall
 * except the region's own (rare) work. */
struct slab_lock {
    atomic_int held;
};
void _slab_lock_wait(struct slab_lock *l); /* class.c: the contended path */
static inline void _slab_lock(struct slab_lock *l)
{
    if (__builtin_expect(atomic_exchange_explicit(&l->held, 1, memory_order_acquire), 0))
        _slab_lock_wait(l);
}
static inline int _slab_trylock(struct slab_lock *l)
{
    return !atomic_load_explicit(&l->held, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->held, 1, memory_order_acquire);
}
static inline void _slab_unlock(struct slab_lock *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* A magazine: a stack of up to mag_cap chunks of one class (room for
 * cfg.magazine, so it can serve any class). Threads
 * hold theirs by the items pointer (struct slab_mag); the header in front is
 * used only while the magazine sits in a depot. Magazines belong to the pool
 * (depot.c carves them from its own mappings), not to a thread, because they
 * move between threads. */
struct slab_magazine {
    struct slab_magazine *next; /* in a depot list */
    uint64_t since_ms;          /* when it entered the depot full (idle reaping) */
    void *items[];
};

/* A class's depot (Bonwick & Adams 2001): full magazines that threads
 * whose magazine filled up left behind, and empty ones to swap for them. At
 * most cfg.depot full ones; the empty ones are bounded by the magazines in
 * circulation. Its own cache line: the exchange path never touches the
 * class's slab lists. */
struct slab_depot {
    struct slab_lock lock;
    uint32_t n_full, n_empty;   /* n_full is peeked without the lock (relaxed) */
    struct slab_magazine *full; /* newest first: the warmest are handed out */
    struct slab_magazine *empty;
} __attribute__((aligned(CACHE_LINE)));

struct slab_class {
    struct slab_lock lock;
    uint32_t size, per_slab;
    uint32_t mag_cap; /* chunks per magazine: cfg.magazine, bounded by cfg.magazine_max_bytes */
    struct slab_desc *partial; /* slabs with a free chunk (doubly linked) */
    struct slab_desc *spare;   /* one empty slab kept, so a class at the edge does not thrash */
    uint64_t allocs, requested; /* locked-path counters */
    uint64_t in_use, slabs; /* slabs assigned, the spare included */
    struct slab_depot depot; /* the next cache line; unused without a thread cache */
} __attribute__((aligned(CACHE_LINE)));

/* The reserved region and its slabs. */
struct slab_region {
    pthread_mutex_t lock;
    char *base;
    size_t n_slabs;           /* slabs the region can hold */
    struct slab_desc *desc;   /* n_slabs descriptors */
    size_t desc_bytes;
    size_t next;              /* first never-used slab */
    size_t floor_slabs;       /* the pre-allocated slabs: never released */
    size_t limit_slabs;       /* committed slabs allowed (prealloc when overflow is off) */
    size_t limit_bytes;       /* hard_limit over slabs and large blocks together; SIZE_MAX: none */
    size_t large_bytes;       /* mapped bytes of live large blocks */
    size_t committed;         /* slabs in use by classes or empty-but-resident (stored
                               * atomically under the lock: large_cache.c peeks at it) */
    struct slab_desc *empty_floor; /* empty pre-allocated slabs: never released */
    struct slab_desc *empty;  /* empty slabs past the floor, newest first */
    struct slab_desc *empty_tail;
    struct slab_desc *released; /* released slabs, reusable */
    size_t empty_count;
    size_t released_bytes;
} __attribute__((aligned(CACHE_LINE)));

/* A class's loaded magazine and this thread's counters for the class,
 * together: an allocation touches one cache line of the cache, not three.
 * cap is the class's mag_cap while a magazine is loaded, 0 (items NULL) before the
 * first one, so the free fast path needs no other test. */
struct slab_mag {
    uint32_t n, cap;
    void **items;
    uint64_t allocs, requested;
};

/* The previous magazine (Bonwick): always full or empty, so that a thread
 * at a magazine boundary swaps its two magazines instead of going to the
 * depot on every other call. Cold: only the slow paths touch it. */
struct slab_prev {
    void **items; /* NULL: none yet */
    uint32_t n;   /* 0 or the class's mag_cap */
};

/* A thread's magazines for one pool. */
struct slab_tcache {
    struct slab_pool *pool;
    struct slab_tcache *next; /* in the pool's list */
    size_t bytes;
    struct slab_mag mag[SLAB_MAX_CLASSES];
    struct slab_prev prev[SLAB_MAX_CLASSES];
};

/* Freed large mappings kept for reuse (large_cache.c), under the large lock.
 * Buckets: exact page counts below 16, then 4 per doubling. */
#define SLAB_LC_BUCKETS 256
struct large_cached;
struct slab_large_cache {
    struct large_cached *bucket[SLAB_LC_BUCKETS];
    struct large_cached *newest, *oldest; /* the age list */
    size_t count;
    size_t bytes; /* written under the lock, peeked relaxed without it */
    uint64_t hits;
};

struct slab_large_table {
    pthread_mutex_t lock;
    uintptr_t *slots; /* open addressing; 0 empty, 1 deleted */
    size_t cap, used, tombstones;
    size_t count, bytes;
    uint64_t allocs;
    uint64_t maps; /* mmaps done for large blocks (cache misses) */
    struct slab_large_cache cache;
};

struct slab_pool {
    struct slab_config cfg;
    unsigned n_classes;
    size_t max_class;
    uint8_t class_of[SLAB_MAX_CLASS_SIZE / 16 + 1]; /* (size + 15) / 16 -> class */
    struct slab_class cls[SLAB_MAX_CLASSES];
    struct slab_region region;
    struct slab_large_table large;
    pthread_key_t tc_key;
    pthread_mutex_t tc_lock;
    struct slab_tcache *tcaches;
    uint64_t id; /* unique per pool ever created: a thread's cache names its pool by it */
    pthread_mutex_t mag_lock; /* the magazine arena (depot.c) */
    char *mag_chunks;         /* its mappings, linked through their first word */
    size_t mag_used, mag_bytes, mag_mapped; /* bytes carved from the newest; one magazine; mapped in all */
    _Atomic uint64_t reap_due_ms; /* the allocation path's next depot reap */
    atomic_uint reap_cursor;       /* the class it starts from */
    pthread_t tick;
    atomic_int tick_stop;
    int tick_running;
    size_t self_bytes;
#if SLAB_DEBUG
    _Atomic uint16_t *dbg_state; /* debug.c: per chunk, requested size + 1; 0 = not handed out */
    size_t dbg_bytes;
#endif
};

/* config.c: the class list the configuration describes (explicit or by rule). */
int _slab_config_classes(const struct slab_config *c, size_t out[SLAB_MAX_CLASSES], unsigned *count, char *err,
                         size_t errlen);

/* region.c */
int _slab_region_init(struct slab_pool *p);
void _slab_region_destroy(struct slab_pool *p);
struct slab_desc *_slab_region_get(struct slab_pool *p); /* a slab for a class; NULL if none */
void _slab_region_put(struct slab_pool *p, struct slab_desc *d); /* an empty slab back */
size_t _slab_region_release(struct slab_pool *p, uint64_t now_ms, size_t max_slabs, int ignore_age);
/* Account a large block's mapping against the limits: 0, or -1 (ENOMEM) if it would pass them. */
int _slab_region_charge(struct slab_pool *p, size_t bytes);
void _slab_region_uncharge(struct slab_pool *p, size_t bytes);
static inline char *_slab_addr(const struct slab_pool *p, const struct slab_desc *d)
{
    return p->region.base + ((size_t)(d - p->region.desc) << SLAB_SHIFT);
}
/* The slab's class, or a value >= n_classes when it has none (never used,
 * empty, or its class's spare). Relaxed atomic: slab_owns may read it for a
 * slab another thread is changing; for a live chunk's slab it is stable. */
static inline unsigned _slab_desc_class(const struct slab_desc *d)
{
    return (unsigned)__atomic_load_n(&d->cls, __ATOMIC_RELAXED) - 1u;
}
static inline void _slab_desc_set_class(struct slab_desc *d, unsigned c)
{
    __atomic_store_n(&d->cls, (uint16_t)(c + 1), __ATOMIC_RELAXED);
}
static inline void _slab_desc_clear_class(struct slab_desc *d)
{
    __atomic_store_n(&d->cls, (uint16_t)CLASS_NONE, __ATOMIC_RELAXED);
}
static inline struct slab_desc *_slab_desc_of(const struct slab_pool *p, const void *ptr)
{
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)p->region.base;
    return off < (p->region.n_slabs << SLAB_SHIFT) ? &p->region.desc[off >> SLAB_SHIFT] : NULL;
}

/* class.c: the locked path. */
void *_slab_class_alloc(struct slab_pool *p, unsigned c, size_t requested);
unsigned _slab_class_alloc_batch(struct slab_pool *p, unsigned c, void **out, unsigned n);
void _slab_class_free(struct slab_pool *p, struct slab_desc *d, void *ptr);
void _slab_class_free_batch(struct slab_pool *p, unsigned c, void **items, unsigned n);

/* depot.c: the magazine arena and the per-class depots. */
void _slab_depot_init(struct slab_pool *p);
void _slab_depot_destroy(struct slab_pool *p);
static inline struct slab_magazine *_slab_mag_of(void **items)
{
    return (struct slab_magazine *)((char *)items - offsetof(struct slab_magazine, items));
}
/* An empty magazine: the depot's, else a new one; NULL if none can be mapped. */
struct slab_magazine *_slab_depot_get_empty(struct slab_pool *p, unsigned c);
void _slab_depot_put_empty(struct slab_pool *p, unsigned c, struct slab_magazine *m);
/* Leave a full magazine in the depot and take an empty one (*empty: NULL
 * if the depot has none). 0 if the depot is at its bound (full stays the caller's). */
int _slab_depot_push_full(struct slab_pool *p, unsigned c, struct slab_magazine *full, uint64_t now_ms,
                          struct slab_magazine **empty);
/* A full magazine from the depot, leaving `give` (an empty one, or NULL) in
 * its place; NULL if the depot has none (give stays the caller's). */
struct slab_magazine *_slab_depot_take_full(struct slab_pool *p, unsigned c, struct slab_magazine *give);
/* Empty into their classes up to max_mags full magazines that sat in a depot
 * for idle_ms / 2 (any, with ignore_age), oldest first; returns how many.
 * may_wait 0: skip a depot another thread holds. */
size_t _slab_depot_reap(struct slab_pool *p, uint64_t now_ms, size_t max_mags, int ignore_age, int may_wait);
/* The allocation path's paced reap: a few magazines, at most every
 * idle_ms / 4 (10 ms at least). */
void _slab_depot_reap_paced(struct slab_pool *p, uint64_t now_ms);

/* tcache.c: set-up and the slow paths; the fast paths are inline below so
 * that slab_alloc and slab_free reach a magazine without a call. */
int _slab_tcache_init(struct slab_pool *p);
void _slab_tcache_destroy(struct slab_pool *p);
extern _Thread_local struct slab_tcache *_slab_tls_tc __attribute__((tls_model("initial-exec")));
extern _Thread_local uint64_t _slab_tls_pool_id __attribute__((tls_model("initial-exec")));
/* This thread's cache for p on first use; NULL: use the locked path. */
__attribute__((cold, noinline)) struct slab_tcache *_slab_tcache_create(struct slab_pool *p);
/* An allocation whose magazine is empty: the previous magazine, a full one
 * from the depot, or chunks from the class; NULL (errno) if none is left. */
__attribute__((noinline)) void *_slab_tcache_alloc_slow(struct slab_pool *p, struct slab_tcache *tc, unsigned c,
                                                        size_t requested);
/* A free whose magazine is full (or not there yet): 1 if the chunk went into a
 * magazine, 0 if the caller must take the locked path. */
__attribute__((noinline)) int _slab_tcache_free_slow(struct slab_pool *p, struct slab_tcache *tc, unsigned c,
                                                     void *ptr);

static inline struct slab_tcache *_slab_tcache_get(struct slab_pool *p)
{
    if (__builtin_expect(_slab_tls_pool_id == p->id, 1))
        return _slab_tls_tc;
    return _slab_tcache_create(p);
}

/* Fields only their thread writes but slab_stats reads from another: stored
 * relaxed-atomically (a plain store on x86) so that the read is no data race. */
#define SLAB_OWNER_SET(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)

static inline void *_slab_tcache_alloc(struct slab_pool *p, unsigned c, size_t requested)
{
    struct slab_tcache *tc = _slab_tcache_get(p);
    if (__builtin_expect(tc == NULL, 0))
        return _slab_class_alloc(p, c, requested);
    struct slab_mag *m = &tc->mag[c];
    uint32_t n = m->n;
    if (__builtin_expect(n == 0, 0))
        return _slab_tcache_alloc_slow(p, tc, c, requested);
    SLAB_OWNER_SET(m->allocs, m->allocs + 1);
    SLAB_OWNER_SET(m->requested, m->requested + requested);
    SLAB_OWNER_SET(m->n, n - 1);
    /* The next chunk's line, for the caller's first write into it: a chunk
     * carved from a fresh or long-freed slab is a miss the allocation would
     * otherwise leave entirely to the caller (a free-list allocator takes
     * it reading the link). */
    if (n > 1)
        __builtin_prefetch(m->items[n - 2], 1, 3);
    return m->items[n - 1];
}

/* 1 if the chunk went into this thread's magazine, 0 if the caller must take
 * the locked path. */
static inline int _slab_tcache_free(struct slab_pool *p, unsigned c, void *ptr)
{
    struct slab_tcache *tc = _slab_tcache_get(p);
    if (__builtin_expect(tc == NULL, 0))
        return 0;
    struct slab_mag *m = &tc->mag[c];
    uint32_t n = m->n;
    if (__builtin_expect(n == m->cap, 0))
        return _slab_tcache_free_slow(p, tc, c, ptr);
    /* The chunk's line, for the link _slab_class_free_batch writes into it
     * if the magazine goes back to the slabs: fetched now, its miss overlaps
     * the caller's work instead of a magazine's worth of misses in a row
     * under the class lock (a burst's frees). */
    __builtin_prefetch(ptr, 1, 3);
    m->items[n] = ptr;
    SLAB_OWNER_SET(m->n, n + 1);
    return 1;
}

/* large.c; zero: the block must read as zeros (calloc) */
void *_slab_large_alloc(struct slab_pool *p, size_t align, size_t size, int zero);
int _slab_large_free(struct slab_pool *p, void *ptr); /* -1 if not a large block of p */
/* Resize a live large block of p to size bytes by moving its pages (mremap), not
 * its bytes: the block, maybe at a new address; NULL (ENOMEM) leaves it as it was. */
void *_slab_large_resize(struct slab_pool *p, void *ptr, size_t size);
size_t _slab_large_usable(struct slab_pool *p, const void *ptr); /* 0 if not ours */
/* The size a live large block was allocated or last resized with (no lock, no check). */
size_t _slab_large_size(const void *ptr);
void _slab_large_destroy(struct slab_pool *p);

/* large_cache.c: freed mappings kept for reuse. take and put with the large lock held. */
/* A cached mapping of len..len * 5/4 bytes (its length in its header's place:
 * the caller reads it first), or NULL. */
void *_slab_large_cache_take(struct slab_pool *p, size_t len);
/* Cache a freed mapping: 1, or 0 if the caller must unmap it. Mappings to
 * unmap (old or evicted) are chained on *drop: pass it to
 * _slab_large_cache_unmap once the lock is released. */
int _slab_large_cache_put(struct slab_pool *p, void *map, size_t len, struct large_cached **drop);
void _slab_large_cache_unmap(struct slab_pool *p, struct large_cached *drop);
/* Unmap up to max cached mappings cached for idle_ms (any, with ignore_age),
 * oldest first; takes the lock; returns bytes unmapped. */
size_t _slab_large_cache_release(struct slab_pool *p, uint64_t now_ms, size_t max, int ignore_age);
size_t _slab_large_cache_drop(struct slab_pool *p); /* every one (hard limit, trim) */
size_t _slab_large_cache_bytes(const struct slab_pool *p); /* relaxed peek */
size_t _slab_large_cached_len(const void *map); /* the length of a mapping take returned */
void _slab_large_cache_destroy(struct slab_pool *p);

/* pool.c: abort with "slab: free(0x...): why" (via slab_os_die). */
__attribute__((noreturn, cold)) void _slab_bad_free(const void *ptr, const char *why);

/* debug.c: the debug build's checks (only called when SLAB_DEBUG is 1).
 * Each block's state (requested size, live or not) is kept in a side table,
 * and a canary follows its requested bytes. */
int _slab_debug_init(struct slab_pool *p);    /* 0, or -1 (ENOMEM) */
void _slab_debug_destroy(struct slab_pool *p);
/* A block was handed out (or kept by realloc) for size bytes: record it, write its canary. */
void _slab_debug_alloc(struct slab_pool *p, void *ptr, size_t size);
/* Check the block about to be freed (release != 0: and mark it free) or
 * reallocated (release == 0): abort on a pointer that is not a live block's
 * start or a damaged canary. Returns the requested size. A pointer outside
 * the pool's blocks (not a live large block, or in a slab holding no chunks)
 * aborts for realloc, and returns 0 for free (slab_free reports it). */
size_t _slab_debug_check(struct slab_pool *p, void *ptr, int release);
/* slab_free_sized's extra check: size must be the block's requested size. */
void _slab_debug_check_sized(struct slab_pool *p, void *ptr, size_t size);
/* The requested size of a live block, 0 if it is not one. */
size_t _slab_debug_usable(struct slab_pool *p, const void *ptr);

#endif
