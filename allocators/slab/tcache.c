/* tcache.c - per-thread magazines in front of the classes' depots.
 *
 * The fast paths pop from or push to this thread's loaded magazine for the
 * class: no lock, no atomic, no syscall. Behind the loaded magazine each
 * thread keeps a previous one, always full or empty (Bonwick & Adams 2001):
 *   - allocation, loaded empty: swap with the previous if it is full; else
 *     take a full magazine from the depot (leaving an empty one there); else
 *     fill half a magazine from the class's slabs under the class lock;
 *   - free, loaded full: swap with the previous if it is empty; else leave
 *     the previous (full) in the depot and take an empty one; if the depot
 *     is at its bound (or cfg.depot is 0), empty the previous into the slabs.
 * So a thread goes past its own two magazines at most once per magazine of
 * operations, and then, when chunks move between threads (one frees what
 * another allocates), trades whole magazines in O(1) (depot.c).
 * A thread caches for one pool (the first it uses with a thread cache);
 * calls on other pools take the locked path. Chunks freed by another thread
 * simply join the freeing thread's magazine: chunks belong to a class, not to
 * a thread. At thread exit a key destructor empties both magazines into the
 * slabs and gives them, empty, to the depots. */
#include <errno.h>

#include "slab_internal.h"
#include "slab_os.h"

/* initial-exec: the shim is loaded at start-up, and a dynamic TLS access could
 * call malloc, which would be us. _slab_tls_pool_id names _slab_tls_tc's pool and is
 * compared before _slab_tls_tc is touched: a destroyed pool's cache is gone, and a
 * new pool may reuse its address, never its id. */
_Thread_local struct slab_tcache *_slab_tls_tc __attribute__((tls_model("initial-exec")));
_Thread_local uint64_t _slab_tls_pool_id __attribute__((tls_model("initial-exec")));
static atomic_uint_fast64_t next_pool_id = 1;
/* _slab_tls_pool_id once this thread's cache has been given back at thread exit: no
 * pool has it, so calls that come later (glibc frees per-thread buffers after
 * the key destructors ran) take the locked path; a cache made then would never
 * be flushed or unmapped. */
#define POOL_ID_EXITED UINT64_MAX

/* Both of this thread's magazines of every class into the slabs; with
 * release, the magazines themselves back to the depots (thread exit). */
static void tcache_flush(struct slab_tcache *tc, int release)
{
    struct slab_pool *p = tc->pool;
    for (unsigned c = 0; c < p->n_classes; c++) {
        struct slab_mag *m = &tc->mag[c];
        struct slab_prev *pv = &tc->prev[c];
        if (m->n)
            _slab_class_free_batch(p, c, m->items, m->n);
        if (pv->n)
            _slab_class_free_batch(p, c, pv->items, pv->n);
        __atomic_store_n(&m->n, 0, __ATOMIC_RELAXED); /* slab_stats may be reading */
        __atomic_store_n(&pv->n, 0, __ATOMIC_RELAXED);
        if (release) {
            if (m->items)
                _slab_depot_put_empty(p, c, _slab_mag_of(m->items));
            if (pv->items)
                _slab_depot_put_empty(p, c, _slab_mag_of(pv->items));
            m->items = pv->items = NULL;
            m->cap = 0;
        }
    }
}

/* Thread exit: flush, fold the counters into the classes, unlink, unmap. */
static void tcache_exit(void *arg)
{
    struct slab_tcache *tc = arg;
    struct slab_pool *p = tc->pool;
    tcache_flush(tc, 1);
    pthread_mutex_lock(&p->tc_lock);
    for (struct slab_tcache **pp = &p->tcaches; *pp; pp = &(*pp)->next)
        if (*pp == tc) {
            *pp = tc->next;
            break;
        }
    for (unsigned c = 0; c < p->n_classes; c++) {
        _slab_lock(&p->cls[c].lock);
        p->cls[c].allocs += tc->mag[c].allocs;
        p->cls[c].requested += tc->mag[c].requested;
        _slab_unlock(&p->cls[c].lock);
    }
    pthread_mutex_unlock(&p->tc_lock);
    if (_slab_tls_tc == tc) {
        _slab_tls_tc = NULL;
        _slab_tls_pool_id = POOL_ID_EXITED;
    }
    slab_os_unmap(tc, tc->bytes);
}

int _slab_tcache_init(struct slab_pool *p)
{
    p->id = atomic_fetch_add(&next_pool_id, 1);
    pthread_mutex_init(&p->tc_lock, NULL);
    return pthread_key_create(&p->tc_key, tcache_exit) == 0 ? 0 : -1;
}

void _slab_tcache_destroy(struct slab_pool *p)
{
    pthread_key_delete(p->tc_key);
    /* Other threads' caches die with the pool; their memory is the pool's own. */
    pthread_mutex_lock(&p->tc_lock);
    struct slab_tcache *tc = p->tcaches;
    while (tc) {
        struct slab_tcache *next = tc->next;
        if (_slab_tls_tc == tc) {
            _slab_tls_tc = NULL;
            _slab_tls_pool_id = 0;
        }
        slab_os_unmap(tc, tc->bytes);
        tc = next;
    }
    p->tcaches = NULL;
    pthread_mutex_unlock(&p->tc_lock);
    pthread_mutex_destroy(&p->tc_lock);
}

/* This thread's cache for p, made on first use; NULL means "use the locked path". */
struct slab_tcache *_slab_tcache_create(struct slab_pool *p)
{
    if (_slab_tls_pool_id != 0) {
        /* this thread caches for another pool, alive or destroyed, or is exiting */
        return NULL;
    }
    size_t bytes = (sizeof(struct slab_tcache) + 4095) & ~(size_t)4095; /* magazines come from the depots */
    struct slab_tcache *tc = slab_os_map(bytes); /* never malloc: this may be the process's malloc */
    if (!tc)
        return NULL;
    tc->pool = p;
    tc->bytes = bytes; /* every magazine NULL, cap 0: the first call of a class takes the slow path */
    if (pthread_setspecific(p->tc_key, tc) != 0) {
        slab_os_unmap(tc, bytes);
        return NULL;
    }
    pthread_mutex_lock(&p->tc_lock);
    tc->next = p->tcaches;
    p->tcaches = tc;
    pthread_mutex_unlock(&p->tc_lock);
    _slab_tls_tc = tc;
    _slab_tls_pool_id = p->id;
    return tc;
}

/* ---- the slow paths ---- */

static void swap_prev(struct slab_mag *m, struct slab_prev *pv, uint32_t cap)
{
    void **items = m->items;
    uint32_t n = m->n;
    m->items = pv->items;
    m->cap = pv->items ? cap : 0;
    SLAB_OWNER_SET(m->n, pv->n);
    pv->items = items;
    SLAB_OWNER_SET(pv->n, n);
}

static void load(struct slab_mag *m, struct slab_magazine *mag, uint32_t n, uint32_t cap)
{
    m->items = mag ? mag->items : NULL;
    m->cap = mag ? cap : 0;
    SLAB_OWNER_SET(m->n, n);
}

void *_slab_tcache_alloc_slow(struct slab_pool *p, struct slab_tcache *tc, unsigned c, size_t requested)
{
    struct slab_mag *m = &tc->mag[c];
    struct slab_prev *pv = &tc->prev[c];
    const uint32_t cap = p->cls[c].mag_cap;
    if (pv->n) { /* the previous one is full */
        swap_prev(m, pv, cap);
    } else {
        /* Both empty (or missing). A full one from the depot: one of ours,
         * empty, stays there for it, the other becomes the previous. */
        struct slab_magazine *give = m->items && pv->items ? _slab_mag_of(pv->items) : NULL;
        struct slab_magazine *full = p->cfg.depot ? _slab_depot_take_full(p, c, give) : NULL;
        if (full) {
            if (m->items) /* else the previous one (if any) stays */
                pv->items = m->items;
            load(m, full, cap, cap);
        } else {
            /* The depot is dry: half a magazine from the slabs (half, so a
             * thread that allocates one chunk does not pin a magazine's worth). */
            if (!m->items) {
                struct slab_magazine *e = pv->items ? _slab_mag_of(pv->items) : _slab_depot_get_empty(p, c);
                if (!e)
                    return _slab_class_alloc(p, c, requested); /* no memory for a magazine */
                if (pv->items)
                    pv->items = NULL;
                load(m, e, 0, cap);
            }
            uint32_t want = cap / 2 ? cap / 2 : 1;
            uint32_t n = _slab_class_alloc_batch(p, c, m->items, want);
            /* Out of slabs (a limit): chunks parked in the depots may free some. */
            if (n == 0 && p->cfg.depot && _slab_depot_reap(p, 0, SIZE_MAX, 1, 1))
                n = _slab_class_alloc_batch(p, c, m->items, want);
            if (n == 0)
                return NULL; /* errno from the region */
            SLAB_OWNER_SET(m->n, n);
        }
    }
    uint32_t n = m->n;
    SLAB_OWNER_SET(m->allocs, m->allocs + 1);
    SLAB_OWNER_SET(m->requested, m->requested + requested);
    SLAB_OWNER_SET(m->n, n - 1);
    return m->items[n - 1];
}

int _slab_tcache_free_slow(struct slab_pool *p, struct slab_tcache *tc, unsigned c, void *ptr)
{
    struct slab_mag *m = &tc->mag[c];
    struct slab_prev *pv = &tc->prev[c];
    const uint32_t cap = p->cls[c].mag_cap;
    if (!m->items && !(pv->items && pv->n == 0)) { /* none loaded yet (or none could be had) */
        struct slab_magazine *e = _slab_depot_get_empty(p, c);
        if (!e)
            return 0;
        load(m, e, 0, cap);
    } else if (pv->items && pv->n == 0) { /* the previous one is empty */
        swap_prev(m, pv, cap);
    } else if (!pv->items) { /* no previous yet: the full one becomes it */
        struct slab_magazine *e = _slab_depot_get_empty(p, c);
        if (!e) {
            _slab_class_free_batch(p, c, m->items, m->n);
            SLAB_OWNER_SET(m->n, 0);
        } else {
            pv->items = m->items;
            SLAB_OWNER_SET(pv->n, m->n);
            load(m, e, 0, cap);
        }
    } else { /* both full: the previous one to the depot, for an empty one */
        struct slab_magazine *e = NULL;
        uint64_t now = p->cfg.depot && p->cfg.idle_ms >= 0 ? slab_os_now_ms() : 0; /* vDSO: no syscall */
        if (p->cfg.depot && _slab_depot_push_full(p, c, _slab_mag_of(pv->items), now, &e)) {
            pv->items = m->items;
            SLAB_OWNER_SET(pv->n, m->n);
            if (!e)
                e = _slab_depot_get_empty(p, c); /* a new one (the depot's empty list is dry) */
            load(m, e, 0, cap);
            _slab_depot_reap_paced(p, now);
            if (!e)
                return 0; /* no memory for a magazine: the locked path */
        } else {
            /* The depot is full (or off): the previous magazine's chunks back to the slabs. */
            _slab_class_free_batch(p, c, pv->items, pv->n);
            SLAB_OWNER_SET(pv->n, 0);
            swap_prev(m, pv, cap);
        }
    }
    uint32_t n = m->n;
    m->items[n] = ptr;
    SLAB_OWNER_SET(m->n, n + 1);
    return 1;
}

void slab_thread_flush(struct slab_pool *p)
{
    if (_slab_tls_pool_id == p->id && _slab_tls_tc)
        tcache_flush(_slab_tls_tc, 0);
}
