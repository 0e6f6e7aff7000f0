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

/* One chunk; class lock held. The locked path's every call: kept apart from
 * take_chunks, whose run loops cost the single-chunk case ~40 instructions. */
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

/* Up to n chunks into out, from as many slabs as it takes; class lock held.
 * Returns how many (fewer only when no slab can be had: errno ENOMEM). A
 * slab's chunks go in runs: its free list first, then its untouched tail
 * carved in one step, and its counters and state change once per run, not
 * once per chunk (a burst refills a magazine from fresh slabs at a few
 * instructions a chunk). */
static unsigned take_chunks(struct slab_pool *p, unsigned c, void **out, unsigned n)
{
    struct slab_class *k = &p->cls[c];
    unsigned got = 0;
    while (got < n) {
        struct slab_desc *d = slab_with_room(p, c);
        if (!d)
            break;
        unsigned first = got;
        void *f = d->free;
        while (f && got < n) {
            out[got++] = f;
            f = *(void **)f;
        }
        d->free = f;
        if (got < n && !f) {
            unsigned room = k->per_slab - d->carved, m = n - got < room ? n - got : room;
            char *chunk = _slab_addr(p, d) + (size_t)d->carved * k->size;
            for (unsigned i = 0; i < m; i++, chunk += k->size)
                out[got++] = chunk;
            d->carved += m;
        }
        d->in_use += got - first;
        k->in_use += got - first;
        if (!d->free && d->carved == k->per_slab) {
            partial_remove(k, d);
            d->state = SLAB_FULL;
        }
    }
    return got;
}

/* Return a run of cnt chunks of one slab, already linked from head to tail;
 * class lock held. */
static void give_chunks(struct slab_pool *p, struct slab_class *k, struct slab_desc *d, void *head, void *tail,
                        uint32_t cnt)
{
    *(void **)tail = d->free;
    d->free = head;
    d->in_use -= cnt;
    k->in_use -= cnt;
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
    _slab_lock(&k->lock);
    unsigned got = take_chunks(p, c, out, n);
    _slab_unlock(&k->lock);
    return got;
}

void _slab_class_free(struct slab_pool *p, struct slab_desc *d, void *ptr)
{
    struct slab_class *k = &p->cls[_slab_desc_class(d)];
    _slab_lock(&k->lock);
    give_chunks(p, k, d, ptr, ptr, 1);
    _slab_unlock(&k->lock);
}

/* Chunks of class c back to their slabs. Consecutive chunks of one slab (a
 * magazine filled in free order, as a burst frees) are linked into one run
 * and handed back at once; a run ends where the next chunk is another slab's. */
void _slab_class_free_batch(struct slab_pool *p, unsigned c, void **items, unsigned n)
{
    struct slab_class *k = &p->cls[c];
    const uintptr_t base = (uintptr_t)p->region.base;
    _slab_lock(&k->lock);
    for (unsigned i = 0; i < n;) {
        void *tail = items[i], *head = tail;
        uintptr_t slab = ((uintptr_t)tail - base) >> SLAB_SHIFT;
        uint32_t cnt = 1;
        for (i++; i < n && (((uintptr_t)items[i] - base) >> SLAB_SHIFT) == slab; i++, cnt++) {
            *(void **)items[i] = head;
            head = items[i];
        }
        give_chunks(p, k, &p->region.desc[slab], head, tail, cnt);
    }
    _slab_unlock(&k->lock);
}
