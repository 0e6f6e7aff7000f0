/* class.c - the locked path: chunks from a class's slabs, one lock per class.
 *
 * A class keeps its slabs that have a free chunk on a list; a chunk comes from
 * the first slab's free list, else is carved from its untouched tail (so a new
 * slab is never walked or written as a whole). A slab whose last chunk comes
 * back becomes the class's spare, and the previous spare goes back to the
 * region. The public wrappers in pool.c take no lock themselves. */
#include <errno.h>

#include "slab_internal.h"
#include "slab_os.h"

void _slab_lock_wait(struct slab_lock *l)
{
    for (unsigned spins = 0;; spins++) {
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (spins++ < 128)
                __builtin_ia32_pause();
            else
                slab_os_yield(); /* the holder may have been preempted: let it run */
        }
        if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
    }
}

static void partial_push(struct slab_class *k, struct slab_desc *d)
{
    d->prev = NULL;
    d->next = k->partial;
    if (k->partial)
        k->partial->prev = d;
    k->partial = d;
    d->state = SLAB_PARTIAL;
}

static void partial_remove(struct slab_class *k, struct slab_desc *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        k->partial = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->next = d->prev = NULL;
}

/* A slab with room, or NULL (errno ENOMEM). Called with the class lock held. */
static struct slab_desc *slab_with_room(struct slab_pool *p, unsigned c)
{
    struct slab_class *k = &p->cls[c];
    if (k->partial)
        return k->partial;
    struct slab_desc *d = k->spare;
    if (d)
        k->spare = NULL;
    else if (!(d = _slab_region_get(p)))
        return NULL;
    else
        k->slabs++;
    _slab_desc_set_class(d, c);
    d->free = NULL;
    d->in_use = 0;
    d->carved = 0;
    partial_push(k, d);
    return d;
}

/* One chunk; class lock held. */
static void *take_chunk(struct slab_pool *p, unsigned c)
{
    struct slab_class *k = &p->cls[c];
    struct slab_desc *d = slab_with_room(p, c);
    if (!d)
        return NULL;
    void *chunk;
    if (d->free) {
        chunk = d->free;
        d->free = *(void **)chunk;
    } else {
        chunk = _slab_addr(p, d) + (size_t)d->carved * k->size;
        d->carved++;
    }
    d->in_use++;
    k->in_use++;
    if (!d->free && d->carved == k->per_slab) {
        partial_remove(k, d);
        d->state = SLAB_FULL;
    }
    return chunk;
}

/* Return one chunk; class lock held. */
static void give_chunk(struct slab_pool *p, struct slab_desc *d, void *ptr)
{
    struct slab_class *k = &p->cls[_slab_desc_class(d)];
    *(void **)ptr = d->free;
    d->free = ptr;
    d->in_use--;
    k->in_use--;
    if (d->state == SLAB_FULL)
        partial_push(k, d);
    if (d->in_use == 0) {
        partial_remove(k, d);
        d->state = SLAB_CURRENT_SPARE;
        _slab_desc_clear_class(d); /* not ours until handed out again: frees into it abort */
        struct slab_desc *old = k->spare;
        k->spare = d;
        if (old) {
            k->slabs--;
            _slab_region_put(p, old);
        }
    }
}

void *_slab_class_alloc(struct slab_pool *p, unsigned c, size_t requested)
{
    struct slab_class *k = &p->cls[c];
    _slab_lock(&k->lock);
    void *chunk = take_chunk(p, c);
    if (chunk) {
        k->allocs++;
        k->requested += requested;
    }
    _slab_unlock(&k->lock);
    return chunk;
}

unsigned _slab_class_alloc_batch(struct slab_pool *p, unsigned c, void **out, unsigned n)
{
    struct slab_class *k = &p->cls[c];
    unsigned got = 0;
    _slab_lock(&k->lock);
    while (got < n && (out[got] = take_chunk(p, c)) != NULL)
        got++;
    _slab_unlock(&k->lock);
    return got;
}

void _slab_class_free(struct slab_pool *p, struct slab_desc *d, void *ptr)
{
    struct slab_class *k = &p->cls[_slab_desc_class(d)];
    _slab_lock(&k->lock);
    give_chunk(p, d, ptr);
    _slab_unlock(&k->lock);
}

void _slab_class_free_batch(struct slab_pool *p, unsigned c, void **items, unsigned n)
{
    struct slab_class *k = &p->cls[c];
    _slab_lock(&k->lock);
    for (unsigned i = 0; i < n; i++)
        give_chunk(p, _slab_desc_of(p, items[i]), items[i]);
    _slab_unlock(&k->lock);
}
