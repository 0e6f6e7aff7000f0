/* large_cache.c - freed large mappings kept for reuse instead of unmapped.
 *
 * Why: traces of real programs (gcc, sqlite3, python3, redis) free and
 * re-allocate blocks of 4..512 KiB all the time; one mmap + one munmap each,
 * plus the page faults of fresh pages, made the large path most of the
 * pool's time (gcc: 32,900 mmaps and as many munmaps for 1.3 M calls).
 *
 * Design. A cached mapping keeps its pages and its hard_limit charge; its
 * first bytes hold a node (below) linking it into a bucket by length and
 * into an age list, oldest at the tail. Not in the registry: it is not a
 * live block (a free of it is still a double free). Buckets: exact page
 * counts below 16 pages, then 4 per doubling, so a bucket spans at most 25%.
 * A request takes the smallest fit of at most 25% more pages than it needs
 * (the first LC_SCAN entries of each bucket looked at): the slack is
 * the spacing of jemalloc's large classes (4 per doubling), bounded waste
 * for many more hits on sizes that vary a little (a buffer grown by steps).
 *
 * Bounds and release. At most cfg.large_cache bytes, and at most
 * cfg.large_cache_share percent of the pool's other memory (committed slabs
 * and live large blocks) but never below LC_MIN: a program with a small heap
 * (sqlite3: 4 MiB live) should not carry tens of MiB of cached blocks, one
 * with a big heap (gcc, python3) keeps the reuse. A free that would pass the
 * bound evicts the oldest (at most LC_EVICT), else unmaps its own mapping.
 * Mappings cached for idle_ms go back to the OS: the tick thread unmaps
 * them all, each large free a few (LC_PACED), slab_trim every one, and a
 * charge against hard_limit that would fail drops them all first. Every
 * munmap happens with the large lock released: entries are detached
 * under it, unmapped after. All state is under the large table's lock
 * (no new lock; the fork handlers already take it). */
#include "slab_internal.h"
#include "slab_os.h"

#define LC_SCAN 8   /* entries looked at per bucket */
#define LC_EVICT 4  /* oldest entries a free may evict to make room */
#define LC_PACED 2  /* expired entries a free unmaps */
#define LC_MIN ((size_t)4 << 20) /* the proportional bound's floor: gcc's and sqlite3's misses
                                  * are as few with 4 MiB as with 64 (README, "Large objects") */

struct large_cached {
    struct large_cached *bnext, *bprev; /* bucket list, newest first */
    struct large_cached *anext, *aprev; /* age list: anext is older */
    size_t len;
    uint64_t since_ms;
    unsigned bucket;
};

static unsigned bucket_of(size_t pages)
{
    if (pages < 16)
        return (unsigned)pages;
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)pages); /* >= 4 */
    unsigned b = 16u + (k - 4u) * 4u + (unsigned)((pages >> (k - 2u)) & 3u);
    return b < SLAB_LC_BUCKETS ? b : SLAB_LC_BUCKETS - 1;
}

static void lc_unlink(struct slab_large_cache *c, struct large_cached *e)
{
    if (e->bprev)
        e->bprev->bnext = e->bnext;
    else
        c->bucket[e->bucket] = e->bnext;
    if (e->bnext)
        e->bnext->bprev = e->bprev;
    if (e->aprev)
        e->aprev->anext = e->anext;
    else
        c->newest = e->anext;
    if (e->anext)
        e->anext->aprev = e->aprev;
    else
        c->oldest = e->aprev;
    c->count--;
    __atomic_store_n(&c->bytes, c->bytes - e->len, __ATOMIC_RELAXED);
}

void *_slab_large_cache_take(struct slab_pool *p, size_t len)
{
    struct slab_large_cache *c = &p->large.cache;
    if (!c->count)
        return NULL;
    size_t pages = len >> 12, max = pages + pages / 4;
    struct large_cached *best = NULL;
    for (unsigned b = bucket_of(pages), last = bucket_of(max); b <= last && !best; b++) {
        unsigned seen = 0;
        for (struct large_cached *e = c->bucket[b]; e && seen < LC_SCAN; e = e->bnext, seen++)
            if (e->len >= len && (e->len >> 12) <= max && (!best || e->len < best->len)) {
                best = e;
                if (e->len == len)
                    break;
            }
    }
    if (best) {
        lc_unlink(c, best);
        c->hits++;
    }
    return best;
}

/* Detach the oldest entries into *out while they are due (age >= idle_ms,
 * any with ignore_age) or, with need, until need bytes are detached; at
 * most max. Returns bytes detached. Lock held. */
static size_t detach_oldest(struct slab_pool *p, uint64_t now_ms, size_t max, int ignore_age, size_t need,
                            struct large_cached **out)
{
    struct slab_large_cache *c = &p->large.cache;
    size_t bytes = 0, n = 0;
    while (c->oldest && n < max) {
        struct large_cached *e = c->oldest;
        int due = ignore_age || (p->cfg.idle_ms >= 0 && now_ms - e->since_ms >= (uint64_t)p->cfg.idle_ms);
        if (!due && bytes >= need)
            break;
        lc_unlink(c, e);
        e->anext = *out;
        *out = e;
        bytes += e->len;
        n++;
    }
    return bytes;
}

/* Unmap a detached chain and give back its charge. No lock held. */
static void unmap_chain(struct slab_pool *p, struct large_cached *e)
{
    size_t bytes = 0;
    while (e) {
        struct large_cached *next = e->anext;
        size_t len = e->len;
        slab_os_unmap(e, len);
        bytes += len;
        e = next;
    }
    if (bytes)
        _slab_region_uncharge(p, bytes);
}

/* The cache's bound now: large_cache, and large_cache_share of the pool's
 * other memory (LC_MIN at least). Large lock held (large.bytes); the
 * region's committed count is peeked without its lock. */
static size_t cache_bound(const struct slab_pool *p)
{
    size_t cap = p->cfg.large_cache;
    if (p->cfg.large_cache_share) {
        size_t slabs = __atomic_load_n(&p->region.committed, __ATOMIC_RELAXED) << SLAB_SHIFT;
        size_t share = (slabs + p->large.bytes) / 100 * p->cfg.large_cache_share;
        if (share < LC_MIN)
            share = LC_MIN;
        if (share < cap)
            cap = share;
    }
    return cap;
}

int _slab_large_cache_put(struct slab_pool *p, void *map, size_t len, struct large_cached **drop)
{
    struct slab_large_cache *c = &p->large.cache;
    size_t cap = cache_bound(p);
    uint64_t now = slab_os_now_ms();
    /* Paced idle release: a few of the oldest that have waited idle_ms. */
    if (c->count)
        detach_oldest(p, now, LC_PACED, 0, 0, drop);
    if (cap == 0 || p->cfg.idle_ms == 0 || len > cap) {
        /* Not cached; but a cache the proportional bound has fallen under still
         * shrinks towards it here, as it does on the path below. */
        if (c->bytes > cap)
            detach_oldest(p, now, LC_EVICT, 0, c->bytes - cap, drop);
        return 0;
    }
    if (c->bytes + len > cap) {
        /* Room by evicting a few of the oldest, or not at all. (The
         * proportional bound can shrink below what is cached: need counts
         * the excess too.) */
        size_t need = c->bytes + len - cap, freed = 0, n = 0;
        for (struct large_cached *e = c->oldest; e && n < LC_EVICT && freed < need; e = e->aprev, n++)
            freed += e->len;
        if (freed < need && c->bytes <= cap)
            return 0;
        detach_oldest(p, now, LC_EVICT, 0, need, drop); /* over the bound: shrink towards it anyway */
        if (freed < need)
            return 0;
    }
    struct large_cached *e = map;
    e->len = len;
    e->since_ms = now;
    e->bucket = bucket_of(len >> 12);
    e->bprev = NULL;
    e->bnext = c->bucket[e->bucket];
    if (e->bnext)
        e->bnext->bprev = e;
    c->bucket[e->bucket] = e;
    e->aprev = NULL;
    e->anext = c->newest;
    if (e->anext)
        e->anext->aprev = e;
    else
        c->oldest = e;
    c->newest = e;
    c->count++;
    __atomic_store_n(&c->bytes, c->bytes + len, __ATOMIC_RELAXED);
    return 1;
}

void _slab_large_cache_unmap(struct slab_pool *p, struct large_cached *drop)
{
    unmap_chain(p, drop);
}

size_t _slab_large_cache_release(struct slab_pool *p, uint64_t now_ms, size_t max, int ignore_age)
{
    struct slab_large_cache *c = &p->large.cache;
    if (!__atomic_load_n(&c->bytes, __ATOMIC_RELAXED))
        return 0; /* a peek: nothing cached, no lock */
    struct large_cached *drop = NULL;
    pthread_mutex_lock(&p->large.lock);
    size_t bytes = detach_oldest(p, now_ms, max, ignore_age, 0, &drop);
    pthread_mutex_unlock(&p->large.lock);
    unmap_chain(p, drop);
    return bytes;
}

size_t _slab_large_cache_drop(struct slab_pool *p)
{
    return _slab_large_cache_release(p, 0, SIZE_MAX, 1);
}

size_t _slab_large_cache_bytes(const struct slab_pool *p)
{
    return __atomic_load_n(&p->large.cache.bytes, __ATOMIC_RELAXED);
}

void _slab_large_cache_destroy(struct slab_pool *p)
{
    struct slab_large_cache *c = &p->large.cache;
    for (struct large_cached *e = c->newest, *next; e; e = next) {
        next = e->anext;
        slab_os_unmap(e, e->len);
    }
    c->newest = c->oldest = NULL;
    c->count = 0;
    c->bytes = 0;
}

size_t _slab_large_cached_len(const void *map)
{
    return ((const struct large_cached *)map)->len;
}
