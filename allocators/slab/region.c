/* region.c - the reserved virtual region: hands slabs to classes, takes empty
 * ones back, and releases those that stayed empty for idle_ms.
 *
 * Slab choice, best first: an empty pre-allocated slab, an empty slab past the
 * floor (newest, so the oldest age towards release), a never-used pre-allocated
 * slab, a released slab, a never-used slab past the floor. The region lock is
 * taken only when a class needs or returns a whole slab. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "slab_internal.h"
#include "slab_os.h"

int _slab_region_init(struct slab_pool *p)
{
    struct slab_region *r = &p->region;
    const struct slab_config *c = &p->cfg;
    size_t reserve = (c->reserve + SLAB_SIZE - 1) & ~(SLAB_SIZE - 1);
    size_t floor_bytes = (c->prealloc + SLAB_SIZE - 1) & ~(SLAB_SIZE - 1);
    if (floor_bytes > reserve) {
        errno = EINVAL;
        return -1;
    }
    r->n_slabs = reserve >> SLAB_SHIFT;
    r->floor_slabs = floor_bytes >> SLAB_SHIFT;
    r->limit_slabs = c->overflow ? r->n_slabs : r->floor_slabs;
    r->limit_bytes = c->hard_limit ? c->hard_limit : SIZE_MAX;
    r->desc_bytes = r->n_slabs * sizeof(struct slab_desc);
    r->desc = slab_os_map(r->desc_bytes); /* faulted only where slabs are used */
    r->base = slab_os_reserve(reserve, SLAB_SIZE);
    if (!r->desc || !r->base) {
        slab_os_unmap(r->desc, r->desc_bytes);
        if (r->base)
            slab_os_unmap(r->base, reserve);
        errno = ENOMEM;
        return -1;
    }
    if (floor_bytes) {
        if (c->prealloc_hugepage)
            slab_os_hugepage(r->base, floor_bytes);
        slab_os_prefault(r->base, floor_bytes);
        slab_os_prefault(r->desc, r->floor_slabs * sizeof(struct slab_desc));
    }
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void _slab_region_destroy(struct slab_pool *p)
{
    struct slab_region *r = &p->region;
    slab_os_unmap(r->base, r->n_slabs << SLAB_SHIFT);
    slab_os_unmap(r->desc, r->desc_bytes);
    pthread_mutex_destroy(&r->lock);
}

static void list_remove(struct slab_desc **head, struct slab_desc **tail, struct slab_desc *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        *head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else if (tail)
        *tail = d->prev;
    d->next = d->prev = NULL;
}

static void list_push(struct slab_desc **head, struct slab_desc **tail, struct slab_desc *d)
{
    d->prev = NULL;
    d->next = *head;
    if (*head)
        (*head)->prev = d;
    else if (tail)
        *tail = d;
    *head = d;
}

/* Slab bytes the hard limit charges: the pre-allocated floor counts whole,
 * used or not, so large blocks cannot eat the memory it stands for. Region lock held. */
static size_t charged_slab_bytes(const struct slab_region *r)
{
    return (r->committed > r->floor_slabs ? r->committed : r->floor_slabs) << SLAB_SHIFT;
}

struct slab_desc *_slab_region_get(struct slab_pool *p)
{
    struct slab_region *r = &p->region;
    struct slab_desc *d = NULL;
    int retried = 0;
retry:
    pthread_mutex_lock(&r->lock);
    if (r->empty_floor) {
        d = r->empty_floor;
        list_remove(&r->empty_floor, NULL, d);
        r->empty_count--;
    } else if (r->empty) {
        d = r->empty;
        list_remove(&r->empty, &r->empty_tail, d);
        r->empty_count--;
    } else if (r->committed < r->floor_slabs ||
               (r->committed < r->limit_slabs &&
                charged_slab_bytes(r) + SLAB_SIZE <= r->limit_bytes - r->large_bytes)) {
        if (r->next < r->floor_slabs || !r->released) {
            if (r->next < r->n_slabs)
                d = &r->desc[r->next++];
        } else {
            d = r->released;
            list_remove(&r->released, NULL, d);
        }
        if (d)
            __atomic_store_n(&r->committed, r->committed + 1, __ATOMIC_RELAXED); /* peeked by large_cache.c */
    }
    pthread_mutex_unlock(&r->lock);
    /* At the hard limit, cached large mappings are the first to go (their
     * munmaps under the caller's class lock: rare, and only at the limit). */
    if (!d && !retried && r->limit_bytes != SIZE_MAX && _slab_large_cache_bytes(p)) {
        retried = 1;
        if (_slab_large_cache_drop(p))
            goto retry;
    }
    if (!d)
        errno = ENOMEM;
    return d;
}

void _slab_region_put(struct slab_pool *p, struct slab_desc *d)
{
    struct slab_region *r = &p->region;
    uint64_t now = slab_os_now_ms();
    _slab_desc_clear_class(d);
    d->state = SLAB_EMPTY;
    d->empty_since_ms = now;
    int floor = (size_t)(d - r->desc) < r->floor_slabs;
    pthread_mutex_lock(&r->lock);
    if (floor)
        list_push(&r->empty_floor, NULL, d);
    else
        list_push(&r->empty, &r->empty_tail, d);
    r->empty_count++;
    pthread_mutex_unlock(&r->lock);
    /* Pacing: a caller that empties a slab releases at most a few old ones. */
    if (!floor && p->cfg.idle_ms >= 0)
        _slab_region_release(p, now, 4, 0);
}

/* Release up to max_slabs empty slabs above the floor that have been empty for
 * idle_ms (or any, with ignore_age). Oldest first. Returns bytes released. */
size_t _slab_region_release(struct slab_pool *p, uint64_t now_ms, size_t max_slabs, int ignore_age)
{
    struct slab_region *r = &p->region;
    size_t released = 0;
    if (pthread_mutex_trylock(&r->lock) != 0) {
        if (!ignore_age)
            return 0; /* someone else is in there: never wait for a release */
        pthread_mutex_lock(&r->lock);
    }
    struct slab_desc *d = r->empty_tail;
    while (d && released < max_slabs) {
        struct slab_desc *older = d->prev;
        if (!ignore_age && now_ms - d->empty_since_ms < (uint64_t)p->cfg.idle_ms)
            break; /* the rest are younger */
        size_t idx = (size_t)(d - r->desc);
        list_remove(&r->empty, &r->empty_tail, d);
        r->empty_count--;
        slab_os_release(r->base + (idx << SLAB_SHIFT), SLAB_SIZE);
        d->state = SLAB_RELEASED;
        list_push(&r->released, NULL, d);
        __atomic_store_n(&r->committed, r->committed - 1, __ATOMIC_RELAXED);
        r->released_bytes += SLAB_SIZE;
        released++;
        d = older;
    }
    pthread_mutex_unlock(&r->lock);
    return released * SLAB_SIZE;
}

int _slab_region_charge(struct slab_pool *p, size_t bytes)
{
    struct slab_region *r = &p->region;
    int ok;
    pthread_mutex_lock(&r->lock);
    /* large blocks come from the OS: past the floor by definition */
    ok = p->cfg.overflow && bytes <= r->limit_bytes - r->large_bytes - charged_slab_bytes(r);
    if (ok)
        r->large_bytes += bytes;
    pthread_mutex_unlock(&r->lock);
    if (!ok)
        errno = ENOMEM;
    return ok ? 0 : -1;
}

void _slab_region_uncharge(struct slab_pool *p, size_t bytes)
{
    struct slab_region *r = &p->region;
    pthread_mutex_lock(&r->lock);
    r->large_bytes -= bytes;
    pthread_mutex_unlock(&r->lock);
}
