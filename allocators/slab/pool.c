/* pool.c - the public API: create/destroy, the entry points that route a
 * request to the thread cache, the locked class path or the large path, and
 * stats. See slab.h for the contract and slab_internal.h for the lock order. */
#include <errno.h>
#include <string.h>

#include "slab_internal.h"
#include "slab_os.h"

/* ---- configuration -> classes ---- */

/* Chunks per magazine for a class of size bytes: cfg.magazine, but at most
 * magazine_max_bytes of chunks (a thread holds two magazines per class and
 * the depot more: 32 chunks of 4 KiB are 128 KiB a magazine), and at least 4,
 * so a big class still goes to the depot or the slabs once per few calls,
 * not on every other one. */
static uint32_t magazine_cap(const struct slab_config *c, size_t size)
{
    size_t cap = c->magazine;
    if (c->magazine_max_bytes && c->magazine_max_bytes / size < cap)
        cap = c->magazine_max_bytes / size;
    if (cap < 4)
        cap = c->magazine < 4 ? c->magazine : 4;
    return (uint32_t)cap;
}

static int build_classes(struct slab_pool *p)
{
    size_t *cls = p->cfg.classes;
    unsigned n;
    if (_slab_config_classes(&p->cfg, cls, &n, NULL, 0) != 0)
        return -1;
    p->n_classes = n;
    p->cfg.n_classes = n;
    p->max_class = cls[n - 1];
    for (unsigned i = 0, k = 0; k <= p->max_class / 16; k++) {
        while (cls[i] < k * 16)
            i++;
        p->class_of[k] = (uint8_t)i;
    }
    for (unsigned i = 0; i < n; i++) {
        p->cls[i].size = (uint32_t)cls[i];
        p->cls[i].per_slab = (uint32_t)(SLAB_SIZE / cls[i]);
        p->cls[i].mag_cap = magazine_cap(&p->cfg, cls[i]);
    }
    return 0;
}

static void *tick_main(void *arg)
{
    struct slab_pool *p = arg;
    uint64_t period = p->cfg.idle_ms / 4 > 10 ? (uint64_t)p->cfg.idle_ms / 4 : 10;
    while (!atomic_load(&p->tick_stop)) {
        slab_os_sleep_ms(period);
        uint64_t now = slab_os_now_ms();
        _slab_depot_reap(p, now, SIZE_MAX, 0, 1); /* idle magazines to their slabs first */
        _slab_region_release(p, now, SIZE_MAX, 0);
        _slab_large_cache_release(p, now, SIZE_MAX, 0); /* large mappings cached for idle_ms */
    }
    return NULL;
}

struct slab_pool *slab_create(const struct slab_config *c)
{
    size_t bytes = (sizeof(struct slab_pool) + 4095) & ~(size_t)4095;
    struct slab_pool *p = slab_os_map(bytes); /* not malloc: we may be malloc */
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->self_bytes = bytes;
    p->cfg = *c;
    if (slab_config_check(c, NULL, 0) != 0 || build_classes(p) != 0) {
        slab_os_unmap(p, bytes);
        errno = EINVAL;
        return NULL;
    }
    if (_slab_region_init(p) != 0) {
        int e = errno;
        slab_os_unmap(p, bytes);
        errno = e;
        return NULL;
    }
    if (SLAB_DEBUG && _slab_debug_init(p) != 0) {
        _slab_region_destroy(p);
        slab_os_unmap(p, bytes);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&p->large.lock, NULL);
    _slab_depot_init(p);
    _slab_tcache_init(p);
    if (c->tick_thread && c->idle_ms >= 0) {
        if (pthread_create(&p->tick, NULL, tick_main, p) == 0)
            p->tick_running = 1;
    }
    return p;
}

void slab_destroy(struct slab_pool *p)
{
    if (!p)
        return;
    if (p->tick_running) {
        atomic_store(&p->tick_stop, 1);
        pthread_join(p->tick, NULL);
    }
    _slab_tcache_destroy(p);
    _slab_depot_destroy(p); /* after the caches: their magazines are the arena's */
    _slab_large_destroy(p);
    _slab_region_destroy(p);
    if (SLAB_DEBUG)
        _slab_debug_destroy(p);
    slab_os_unmap(p, p->self_bytes);
}

/* ---- allocation ---- */

static inline unsigned class_for(const struct slab_pool *p, size_t size)
{
    return p->class_of[(size + 15) >> 4];
}

static inline void *alloc_class(struct slab_pool *p, unsigned c, size_t size)
{
    return p->cfg.thread_cache ? _slab_tcache_alloc(p, c, size) : _slab_class_alloc(p, c, size);
}

/* The large path; in a debug build with room for the canary after size.
 * zero: the block must read as zeros (a cached mapping is not). */
static inline void *alloc_large(struct slab_pool *p, size_t align, size_t size, int zero)
{
    if (SLAB_DEBUG && size > SIZE_MAX - SLAB_CANARY) {
        errno = ENOMEM;
        return NULL;
    }
    return _slab_large_alloc(p, align, size + SLAB_CANARY, zero);
}

/* Debug builds (SLAB_DEBUG, debug.c): record the block and write its canary. */
static inline void *debug_alloc(struct slab_pool *p, void *q, size_t size)
{
    if (SLAB_DEBUG && q)
        _slab_debug_alloc(p, q, size);
    return q;
}

/* (SLAB_CANARY is 0 in release: the class for size, as always.) */
void *slab_alloc(struct slab_pool *p, size_t size)
{
    if (__builtin_expect(size <= p->max_class - SLAB_CANARY, 1))
        return debug_alloc(p, alloc_class(p, class_for(p, size + SLAB_CANARY), size), size);
    return debug_alloc(p, alloc_large(p, 16, size, 0), size);
}

void *slab_calloc(struct slab_pool *p, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total > p->max_class - SLAB_CANARY) /* zeroed by mmap, or by the cache if reused */
        return debug_alloc(p, alloc_large(p, 16, total, 1), total);
    void *q = slab_alloc(p, total);
    if (q) /* chunks may be reused */
        memset(q, 0, total);
    return q;
}

void *slab_aligned_alloc(struct slab_pool *p, size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16)
        return slab_alloc(p, size);
    /* Slabs are 64 KiB-aligned, so a class whose size is a multiple of align
     * hands out chunks aligned to it. */
    if (size <= p->max_class - SLAB_CANARY && align <= SLAB_SIZE)
        for (unsigned c = class_for(p, size + SLAB_CANARY); c < p->n_classes; c++)
            if (p->cls[c].size % align == 0)
                return debug_alloc(p, alloc_class(p, c, size), size);
    return debug_alloc(p, alloc_large(p, align, size, 0), size);
}

/* ---- free ---- */

void _slab_bad_free(const void *ptr, const char *why)
{
    /* No stdio: it may allocate, and the heap may be what is broken. */
    char msg[160] = "slab: free(";
    size_t n = strlen(msg);
    static const char hex[] = "0123456789abcdef";
    uintptr_t v = (uintptr_t)ptr;
    msg[n++] = '0';
    msg[n++] = 'x';
    for (int i = 60; i >= 0; i -= 4)
        msg[n++] = hex[(v >> i) & 15];
    msg[n] = 0;
    strcat(msg, "): ");
    strncat(msg, why, sizeof msg - strlen(msg) - 2);
    strcat(msg, "\n");
    slab_os_die(msg);
}

void slab_free(struct slab_pool *p, void *ptr)
{
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (__builtin_expect(d != NULL, 1)) {
        unsigned c = _slab_desc_class(d);
        if (__builtin_expect(c >= p->n_classes, 0))
            _slab_bad_free(ptr, "double free (or never allocated): pointer into a slab that holds no chunks");
        if (SLAB_DEBUG) /* double free, inside a block, canary; marks it free before any magazine */
            _slab_debug_check(p, ptr, 1);
        if (!p->cfg.thread_cache || !_slab_tcache_free(p, c, ptr))
            _slab_class_free(p, d, ptr);
        return;
    }
    if (SLAB_DEBUG && ptr)
        _slab_debug_check(p, ptr, 1); /* a live large block's canary */
    if (ptr && _slab_large_free(p, ptr) != 0)
        _slab_bad_free(ptr, "not a pointer from this pool (double free or foreign pointer)");
}

void slab_free_sized(struct slab_pool *p, void *ptr, size_t size)
{
    if (SLAB_DEBUG) { /* the size must be the block's; then the checked path */
        _slab_debug_check_sized(p, ptr, size);
        slab_free(p, ptr);
        return;
    }
    if (size > p->max_class || !p->cfg.thread_cache || !_slab_desc_of(p, ptr)) {
        slab_free(p, ptr); /* large, NULL, or not ours: the checked path */
        return;
    }
    /* The class comes from the size: no descriptor read on the way in. */
    if (!_slab_tcache_free(p, class_for(p, size), ptr))
        slab_free(p, ptr);
}

void *slab_realloc(struct slab_pool *p, void *ptr, size_t size)
{
    if (!ptr)
        return slab_alloc(p, size);
    if (size == 0) {
        slab_free(p, ptr);
        return NULL;
    }
    /* Debug: a live block of the pool, its canary intact; copy its requested bytes. */
    size_t old = SLAB_DEBUG ? _slab_debug_check(p, ptr, 0) : slab_usable_size(p, ptr);
    if (old == 0 && !SLAB_DEBUG)
        _slab_bad_free(ptr, "realloc of a pointer not from this pool");
    struct slab_desc *d = _slab_desc_of(p, ptr);
    /* Keep the block when the new size maps to the same class. */
    if (d && size <= p->max_class - SLAB_CANARY && class_for(p, size + SLAB_CANARY) == _slab_desc_class(d))
        return debug_alloc(p, ptr, size);
    /* Large to large: move the pages, not the bytes (a buffer grown a little at
     * a time would otherwise be copied whole at every step). */
    if (!d && size > p->max_class - SLAB_CANARY) {
        if (SLAB_DEBUG && size > SIZE_MAX - SLAB_CANARY) {
            errno = ENOMEM;
            return NULL;
        }
        return debug_alloc(p, _slab_large_resize(p, ptr, size + SLAB_CANARY), size);
    }
    void *q = slab_alloc(p, size);
    if (q) {
        memcpy(q, ptr, old < size ? old : size);
        slab_free(p, ptr);
    }
    return q;
}

int slab_free_if_owned(struct slab_pool *p, void *ptr)
{
    if (_slab_desc_of(p, ptr)) {
        slab_free(p, ptr);
        return 0;
    }
    if (SLAB_DEBUG && ptr)
        _slab_debug_check(p, ptr, 1); /* a live large block's canary */
    return ptr && _slab_large_free(p, ptr) != 0 ? -1 : 0;
}

size_t slab_usable_size(struct slab_pool *p, void *ptr)
{
    if (SLAB_DEBUG) /* the requested size: the canary follows it */
        return _slab_debug_usable(p, ptr);
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (d)
        return _slab_desc_class(d) < p->n_classes ? p->cls[_slab_desc_class(d)].size : 0;
    return ptr ? _slab_large_usable(p, ptr) : 0;
}

int slab_owns(struct slab_pool *p, const void *ptr)
{
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (d)
        return _slab_desc_class(d) < p->n_classes;
    return ptr && _slab_large_usable(p, ptr) != 0;
}

size_t slab_trim(struct slab_pool *p)
{
    slab_thread_flush(p);
    _slab_depot_reap(p, 0, SIZE_MAX, 1, 1); /* every depot's magazines into the slabs */
    /* Class spares go back to the region, then every empty slab above the floor. */
    for (unsigned c = 0; c < p->n_classes; c++) {
        struct slab_class *k = &p->cls[c];
        _slab_lock(&k->lock);
        struct slab_desc *spare = k->spare;
        k->spare = NULL;
        if (spare)
            k->slabs--;
        _slab_unlock(&k->lock);
        if (spare)
            _slab_region_put(p, spare);
    }
    return _slab_region_release(p, slab_os_now_ms(), SIZE_MAX, 1) + _slab_large_cache_drop(p);
}

void slab_stats(struct slab_pool *p, struct slab_stats *s)
{
    memset(s, 0, sizeof *s);
    s->n_classes = p->n_classes;
    for (unsigned c = 0; c < p->n_classes; c++) {
        struct slab_class *k = &p->cls[c];
        _slab_lock(&k->lock);
        s->cls[c].size = k->size;
        s->cls[c].allocs = k->allocs;
        s->cls[c].requested = k->requested;
        s->cls[c].in_use = k->in_use;
        s->cls[c].slabs = k->slabs; /* the spare included */
        _slab_unlock(&k->lock);
        _slab_lock(&k->depot.lock); /* a leaf, taken alone */
        s->cls[c].depot_full = k->depot.n_full;
        s->cls[c].depot_empty = k->depot.n_empty;
        _slab_unlock(&k->depot.lock);
        s->cls[c].magazine = k->mag_cap;
        s->cls[c].in_depot = s->cls[c].depot_full * k->mag_cap;
        s->cls[c].in_magazines = s->cls[c].in_depot;
    }
    pthread_mutex_lock(&p->tc_lock);
    for (struct slab_tcache *tc = p->tcaches; tc; tc = tc->next)
        for (unsigned c = 0; c < p->n_classes; c++) {
            /* relaxed: the owner thread may be updating them (see tcache.c) */
            s->cls[c].allocs += __atomic_load_n(&tc->mag[c].allocs, __ATOMIC_RELAXED);
            s->cls[c].requested += __atomic_load_n(&tc->mag[c].requested, __ATOMIC_RELAXED);
            s->cls[c].in_magazines += __atomic_load_n(&tc->mag[c].n, __ATOMIC_RELAXED);
            s->cls[c].in_magazines += __atomic_load_n(&tc->prev[c].n, __ATOMIC_RELAXED);
        }
    pthread_mutex_unlock(&p->tc_lock);
    struct slab_region *r = &p->region;
    pthread_mutex_lock(&r->lock);
    size_t untouched_floor = r->next < r->floor_slabs ? r->floor_slabs - r->next : 0;
    s->prealloc = r->floor_slabs << SLAB_SHIFT;
    s->committed = (r->committed + untouched_floor) << SLAB_SHIFT;
    s->overflow = r->committed + untouched_floor > r->floor_slabs
                      ? (r->committed + untouched_floor - r->floor_slabs) << SLAB_SHIFT
                      : 0;
    s->released = r->released_bytes;
    s->empty_slabs = r->empty_count;
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_lock(&p->large.lock);
    s->large_count = p->large.count;
    s->large_bytes = p->large.bytes;
    s->large_allocs = p->large.allocs;
    s->large_maps = p->large.maps;
    s->large_cached_count = p->large.cache.count;
    s->large_cached_bytes = p->large.cache.bytes;
    s->large_cache_hits = p->large.cache.hits;
    pthread_mutex_unlock(&p->large.lock);
    pthread_mutex_lock(&p->mag_lock);
    s->magazine_bytes = p->mag_mapped;
    pthread_mutex_unlock(&p->mag_lock);
}

/* ---- fork ---- */

void slab_fork_prepare(struct slab_pool *p)
{
    pthread_mutex_lock(&p->tc_lock);
    for (unsigned c = 0; c < p->n_classes; c++) {
        _slab_lock(&p->cls[c].lock);
        _slab_lock(&p->cls[c].depot.lock);
    }
    pthread_mutex_lock(&p->region.lock);
    pthread_mutex_lock(&p->large.lock);
    pthread_mutex_lock(&p->mag_lock);
}

void slab_fork_parent(struct slab_pool *p)
{
    pthread_mutex_unlock(&p->mag_lock);
    pthread_mutex_unlock(&p->large.lock);
    pthread_mutex_unlock(&p->region.lock);
    for (unsigned c = p->n_classes; c-- > 0;) {
        _slab_unlock(&p->cls[c].depot.lock);
        _slab_unlock(&p->cls[c].lock);
    }
    pthread_mutex_unlock(&p->tc_lock);
}

void slab_fork_child(struct slab_pool *p)
{
    /* The child's only thread is the one that took the locks, so it may
     * release them. The tick thread was not copied. */
    p->tick_running = 0;
    slab_fork_parent(p);
}
