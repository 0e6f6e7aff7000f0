/* depot.c - the magazine layer's depot: per class, a stack of full magazines
 * and one of empty ones (Bonwick & Adams, "Magazines and Vmem", USENIX 2001),
 * and the arena the magazines come from.
 *
 * A thread whose magazines are both full leaves one in its class's depot and
 * takes an empty one; a thread whose magazines are both empty takes a full
 * one: one short spinlock and a few pointer moves, whatever the magazine
 * size, where trading chunks with the slabs walks a magazine's worth of
 * chunks under the class lock. So chunks freed by one thread reach another
 * that allocates in magazine-sized steps without touching the slab lists.
 *
 * Bounds. At most cfg.depot full magazines per class: past it the caller
 * empties its magazine into the slabs instead. Empty magazines are only the
 * ones in circulation (two per thread per class at most, plus the full ones
 * the depot had), recycled here and never unmapped before the pool.
 *
 * Memory back to the OS. Chunks in the depot keep their slabs busy, so a
 * full magazine left unused for idle_ms / 2 is emptied into its slabs, which
 * then age for idle_ms like any empty slab: the tick thread reaps them all,
 * the allocation path a few at a time (the free path that leaves a
 * magazine here, paced), slab_trim every one at once. */
#include <errno.h>

#include "slab_internal.h"
#include "slab_os.h"

#define ARENA_CHUNK ((size_t)64 << 10)
#define ARENA_HEADER ((size_t)CACHE_LINE) /* the chunk list's link */
#define PACED_MAGS 8                      /* magazines the allocation path empties per reap */

void _slab_depot_init(struct slab_pool *p)
{
    pthread_mutex_init(&p->mag_lock, NULL);
    /* Whole cache lines: two threads' magazines never share one. */
    size_t bytes = sizeof(struct slab_magazine) + (size_t)p->cfg.magazine * sizeof(void *);
    p->mag_bytes = (bytes + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
    p->mag_used = ARENA_CHUNK; /* no chunk yet */
    atomic_store_explicit(&p->reap_due_ms, 0, memory_order_relaxed);
}

void _slab_depot_destroy(struct slab_pool *p)
{
    char *chunk = p->mag_chunks;
    while (chunk) {
        char *next = *(char **)chunk;
        slab_os_unmap(chunk, ARENA_CHUNK);
        chunk = next;
    }
    p->mag_chunks = NULL;
    pthread_mutex_destroy(&p->mag_lock);
}

/* A new magazine from the arena (zeroed memory); NULL (ENOMEM) if no chunk can be mapped. */
static struct slab_magazine *arena_new(struct slab_pool *p)
{
    struct slab_magazine *m = NULL;
    pthread_mutex_lock(&p->mag_lock);
    if (p->mag_used + p->mag_bytes > ARENA_CHUNK) {
        char *chunk = slab_os_map(ARENA_CHUNK); /* not malloc: we may be malloc */
        if (chunk) {
            *(char **)chunk = p->mag_chunks;
            p->mag_chunks = chunk;
            p->mag_used = ARENA_HEADER;
            p->mag_mapped += ARENA_CHUNK;
        }
    }
    if (p->mag_used + p->mag_bytes <= ARENA_CHUNK) {
        m = (struct slab_magazine *)(p->mag_chunks + p->mag_used);
        p->mag_used += p->mag_bytes;
    }
    pthread_mutex_unlock(&p->mag_lock);
    if (!m)
        errno = ENOMEM;
    return m;
}

struct slab_magazine *_slab_depot_get_empty(struct slab_pool *p, unsigned c)
{
    struct slab_depot *d = &p->cls[c].depot;
    struct slab_magazine *m;
    _slab_lock(&d->lock);
    if ((m = d->empty) != NULL) {
        d->empty = m->next;
        d->n_empty--;
    }
    _slab_unlock(&d->lock);
    return m ? m : arena_new(p);
}

void _slab_depot_put_empty(struct slab_pool *p, unsigned c, struct slab_magazine *m)
{
    struct slab_depot *d = &p->cls[c].depot;
    _slab_lock(&d->lock);
    m->next = d->empty;
    d->empty = m;
    d->n_empty++;
    _slab_unlock(&d->lock);
}

int _slab_depot_push_full(struct slab_pool *p, unsigned c, struct slab_magazine *full, uint64_t now_ms,
                          struct slab_magazine **empty)
{
    struct slab_depot *d = &p->cls[c].depot;
    struct slab_magazine *e = NULL;
    int ok = 0;
    full->since_ms = now_ms;
    _slab_lock(&d->lock);
    if (d->n_full < p->cfg.depot) {
        full->next = d->full;
        d->full = full;
        __atomic_store_n(&d->n_full, d->n_full + 1, __ATOMIC_RELAXED);
        if ((e = d->empty) != NULL) {
            d->empty = e->next;
            d->n_empty--;
        }
        ok = 1;
    }
    _slab_unlock(&d->lock);
    *empty = e;
    return ok;
}

struct slab_magazine *_slab_depot_take_full(struct slab_pool *p, unsigned c, struct slab_magazine *give)
{
    struct slab_depot *d = &p->cls[c].depot;
    struct slab_magazine *f;
    if (!__atomic_load_n(&d->n_full, __ATOMIC_RELAXED))
        return NULL; /* a peek: not worth the lock's cache line when the depot is dry */
    _slab_lock(&d->lock);
    if ((f = d->full) != NULL) {
        d->full = f->next;
        __atomic_store_n(&d->n_full, d->n_full - 1, __ATOMIC_RELAXED);
        if (give) {
            give->next = d->empty;
            d->empty = give;
            d->n_empty++;
        }
    }
    _slab_unlock(&d->lock);
    return f;
}

/* Detach up to max of the class's full magazines that are due (all, with
 * ignore_age), oldest first; returns the chain and its length in *count. */
static struct slab_magazine *detach_due(struct slab_pool *p, struct slab_depot *d, uint64_t now_ms, size_t max,
                                        int ignore_age, size_t *count)
{
    uint64_t age = (uint64_t)p->cfg.idle_ms / 2;
    struct slab_magazine **pp = &d->full;
    size_t young = 0;
    /* Newest first, so the due ones are a tail of the stack. */
    while (*pp && !ignore_age && now_ms - (*pp)->since_ms < age) {
        pp = &(*pp)->next;
        young++;
    }
    size_t due = d->n_full - young;
    for (; due > max; due--) /* keep the newer of the due ones */
        pp = &(*pp)->next;
    struct slab_magazine *chain = *pp;
    *pp = NULL;
    __atomic_store_n(&d->n_full, d->n_full - (uint32_t)due, __ATOMIC_RELAXED);
    *count = due;
    return chain;
}

size_t _slab_depot_reap(struct slab_pool *p, uint64_t now_ms, size_t max_mags, int ignore_age, int may_wait)
{
    size_t done = 0;
    unsigned start = atomic_fetch_add_explicit(&p->reap_cursor, 1, memory_order_relaxed);
    for (unsigned i = 0; i < p->n_classes && done < max_mags; i++) {
        unsigned c = (start + i) % p->n_classes;
        struct slab_depot *d = &p->cls[c].depot;
        if (!__atomic_load_n(&d->n_full, __ATOMIC_RELAXED))
            continue;
        if (may_wait)
            _slab_lock(&d->lock);
        else if (!_slab_trylock(&d->lock))
            continue; /* busy: its owner is using it, so it is not idle */
        size_t n;
        struct slab_magazine *chain = detach_due(p, d, now_ms, max_mags - done, ignore_age, &n);
        _slab_unlock(&d->lock);
        if (!chain)
            continue;
        /* The chunks go back to their slabs with the depot lock released (it
         * is a leaf); then the magazines, empty, back to the depot. */
        struct slab_magazine *last = chain;
        for (struct slab_magazine *m = chain; m; m = m->next) {
            _slab_class_free_batch(p, c, m->items, p->cls[c].mag_cap);
            last = m;
        }
        _slab_lock(&d->lock);
        last->next = d->empty;
        d->empty = chain;
        d->n_empty += (uint32_t)n;
        _slab_unlock(&d->lock);
        done += n;
    }
    return done;
}

void _slab_depot_reap_paced(struct slab_pool *p, uint64_t now_ms)
{
    uint64_t due = atomic_load_explicit(&p->reap_due_ms, memory_order_relaxed);
    if (now_ms < due || p->cfg.idle_ms < 0)
        return;
    uint64_t gap = (uint64_t)p->cfg.idle_ms / 4 > 10 ? (uint64_t)p->cfg.idle_ms / 4 : 10;
    /* One thread per period does it; the others go on. */
    if (atomic_compare_exchange_strong_explicit(&p->reap_due_ms, &due, now_ms + gap, memory_order_relaxed,
                                                memory_order_relaxed))
        _slab_depot_reap(p, now_ms, PACED_MAGS, 0, 0);
}
