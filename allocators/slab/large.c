/* large.c - requests above the largest class: one mapping each, a 64-byte
 * header in front of the block, and a registry of live blocks so that
 * ownership has a clear answer (a pointer outside the region is ours only if
 * registered). Freed mappings go to the large cache (large_cache.c) and serve
 * later requests of about their size; only misses mmap. One lock for both. */
#include <errno.h>
#include <string.h>

#include "slab_internal.h"
#include "slab_os.h"

struct large_header {
    uint64_t magic;
    void *map;
    size_t map_len;
    size_t size;
};

#define DELETED ((uintptr_t)1)

static size_t hash_ptr(uintptr_t v, size_t cap)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (size_t)v & (cap - 1);
}

/* Slot holding v, or NULL. Lock held. */
static uintptr_t *table_find(struct slab_large_table *t, uintptr_t v)
{
    if (!t->cap)
        return NULL;
    for (size_t i = hash_ptr(v, t->cap);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i] == v)
            return &t->slots[i];
        if (t->slots[i] == 0)
            return NULL;
    }
}

/* Make sure one more entry fits without passing half full. Lock held. */
static int table_room(struct slab_large_table *t)
{
    if ((t->used + t->tombstones + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        if (t->used * 4 < t->cap)
            cap = t->cap; /* mostly tombstones: rehash in place size */
        uintptr_t *slots = slab_os_map(cap * sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i] > DELETED) {
                size_t j = hash_ptr(t->slots[i], cap);
                while (slots[j])
                    j = (j + 1) & (cap - 1);
                slots[j] = t->slots[i];
            }
        slab_os_unmap(t->slots, t->cap * sizeof *t->slots);
        t->slots = slots;
        t->cap = cap;
        t->tombstones = 0;
    }
    return 0;
}

static int table_insert(struct slab_large_table *t, uintptr_t v)
{
    if (table_room(t) != 0)
        return -1;
    size_t i = hash_ptr(v, t->cap);
    while (t->slots[i] > DELETED)
        i = (i + 1) & (t->cap - 1);
    if (t->slots[i] == DELETED)
        t->tombstones--;
    t->slots[i] = v;
    t->used++;
    return 0;
}

void *_slab_large_alloc(struct slab_pool *p, size_t align, size_t size, int zero)
{
    if (align < 16)
        align = 16;
    size += !size; /* a 0-byte block must still lie inside its mapping (align 4096 put it just past the end) */
    size_t page = 4096, lead = align > LARGE_HEADER ? align : LARGE_HEADER;
    if (size > SIZE_MAX - lead - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t len = (size + lead + page - 1) & ~(page - 1);
    if (align > page) {
        if (len > SIZE_MAX - align) { /* would wrap to a short mapping */
            errno = ENOMEM;
            return NULL;
        }
        len += align; /* room to align the block inside the mapping */
    }
    struct slab_large_table *t = &p->large;
    char *map = NULL, *user = NULL;
    int rc = 0;
    /* A cached mapping first: it is already charged and faulted in. */
    if (_slab_large_cache_bytes(p)) {
        pthread_mutex_lock(&t->lock);
        if (table_room(t) == 0 && (map = _slab_large_cache_take(p, len)) != NULL) {
            len = _slab_large_cached_len(map); /* maybe a little longer: it keeps its charge */
            user = (char *)(((uintptr_t)map + LARGE_HEADER + align - 1) & ~(uintptr_t)(align - 1));
            table_insert(t, (uintptr_t)user); /* cannot fail: room was made */
            t->count++;
            t->bytes += len;
            t->allocs++;
        }
        pthread_mutex_unlock(&t->lock);
        if (map) {
            struct large_header *h = (struct large_header *)(user - LARGE_HEADER);
            h->magic = LARGE_MAGIC;
            h->map = map;
            h->map_len = len;
            h->size = size;
            if (zero) /* mmap's pages are zero; reused ones are not */
                memset(user, 0, size);
            return user;
        }
    }
    if (_slab_region_charge(p, len) != 0) {
        /* Cached mappings hold charge: give them back and try once more. */
        if (!_slab_large_cache_drop(p) || _slab_region_charge(p, len) != 0)
            return NULL;
    }
    map = slab_os_map(len);
    if (!map) {
        _slab_region_uncharge(p, len);
        errno = ENOMEM;
        return NULL;
    }
    user = (char *)(((uintptr_t)map + LARGE_HEADER + align - 1) & ~(uintptr_t)(align - 1));
    struct large_header *h = (struct large_header *)(user - LARGE_HEADER);
    h->magic = LARGE_MAGIC;
    h->map = map;
    h->map_len = len;
    h->size = size;
    pthread_mutex_lock(&t->lock);
    rc = table_insert(t, (uintptr_t)user);
    if (rc == 0) {
        t->count++;
        t->bytes += len;
        t->allocs++;
        t->maps++;
    }
    pthread_mutex_unlock(&t->lock);
    if (rc != 0) {
        slab_os_unmap(map, len);
        _slab_region_uncharge(p, len);
        errno = ENOMEM;
        return NULL;
    }
    return user;
}

int _slab_large_free(struct slab_pool *p, void *ptr)
{
    struct slab_large_table *t = &p->large;
    struct large_cached *drop = NULL;
    pthread_mutex_lock(&t->lock);
    uintptr_t *slot = table_find(t, (uintptr_t)ptr);
    if (!slot) {
        pthread_mutex_unlock(&t->lock);
        return -1;
    }
    *slot = DELETED;
    t->used--;
    t->tombstones++;
    struct large_header *h = (struct large_header *)((char *)ptr - LARGE_HEADER);
    void *map = h->map;
    size_t len = h->map_len;
    t->count--;
    t->bytes -= len;
    int cached = _slab_large_cache_put(p, map, len, &drop);
    pthread_mutex_unlock(&t->lock);
    _slab_large_cache_unmap(p, drop); /* a few old ones, if any: outside the lock */
    if (!cached) {
        slab_os_unmap(map, len);
        _slab_region_uncharge(p, len);
    }
    return 0;
}

void *_slab_large_resize(struct slab_pool *p, void *ptr, size_t size)
{
    struct slab_large_table *t = &p->large;
    struct large_header *h = (struct large_header *)((char *)ptr - LARGE_HEADER);
    size_t page = 4096, off = (size_t)((char *)ptr - (char *)h->map), old_len = h->map_len;
    if (size > SIZE_MAX - off - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t len = (size + off + page - 1) & ~(page - 1);
    if (len == old_len) { /* the same pages: nothing moves */
        h->size = size;
        return ptr;
    }
    if (len > old_len && _slab_region_charge(p, len - old_len) != 0 &&
        (!_slab_large_cache_drop(p) || _slab_region_charge(p, len - old_len) != 0))
        return NULL; /* (cached mappings hold charge: dropped first, then once more) */
    pthread_mutex_lock(&t->lock);
    uintptr_t *slot = NULL;
    char *map = NULL;
    /* Room first: once the pages have moved, registering the new address must not fail. */
    if (table_room(t) == 0 && (slot = table_find(t, (uintptr_t)ptr)) != NULL)
        map = slab_os_remap(h->map, old_len, len);
    if (!map) {
        pthread_mutex_unlock(&t->lock);
        if (len > old_len)
            _slab_region_uncharge(p, len - old_len);
        errno = ENOMEM;
        return NULL;
    }
    char *user = map + off;
    h = (struct large_header *)(user - LARGE_HEADER);
    h->map = map;
    h->map_len = len;
    h->size = size;
    t->bytes = t->bytes - old_len + len;
    if (user != (char *)ptr) {
        *slot = DELETED;
        t->used--;
        t->tombstones++;
        table_insert(t, (uintptr_t)user); /* cannot fail: room was made above */
    }
    pthread_mutex_unlock(&t->lock);
    if (len < old_len)
        _slab_region_uncharge(p, old_len - len);
    return user;
}

size_t _slab_large_usable(struct slab_pool *p, const void *ptr)
{
    struct slab_large_table *t = &p->large;
    size_t usable = 0;
    pthread_mutex_lock(&t->lock);
    if (table_find(t, (uintptr_t)ptr)) {
        const struct large_header *h = (const struct large_header *)((const char *)ptr - LARGE_HEADER);
        usable = (size_t)((char *)h->map + h->map_len - (const char *)ptr);
    }
    pthread_mutex_unlock(&t->lock);
    return usable;
}

size_t _slab_large_size(const void *ptr)
{
    return ((const struct large_header *)((const char *)ptr - LARGE_HEADER))->size;
}

void _slab_large_destroy(struct slab_pool *p)
{
    struct slab_large_table *t = &p->large;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i] > DELETED) {
            struct large_header *h = (struct large_header *)((char *)t->slots[i] - LARGE_HEADER);
            slab_os_unmap(h->map, h->map_len);
        }
    _slab_large_cache_destroy(p);
    slab_os_unmap(t->slots, t->cap * sizeof *t->slots);
    pthread_mutex_destroy(&t->lock);
}
