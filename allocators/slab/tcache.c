/* tcache.c - per-thread magazines in front of the classes.
 *
 * The fast paths pop from or push to this thread's magazine for the class:
 * no lock, no atomic, no syscall. An empty magazine is refilled with half a
 * magazine from the class under its lock, a full one gives half back; so a
 * thread that allocates and frees in a steady mix takes a class lock once per
 * magazine/2 operations. A thread caches for one pool (the first it uses with
 * a thread cache); calls on other pools take the locked path. Chunks freed by
 * another thread simply join that thread's magazine: chunks belong to a class,
 * not to a thread. At thread exit a key destructor gives everything back. */
#include <errno.h>
#include <string.h>

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

static void tcache_flush(struct slab_tcache *tc)
{
    struct slab_pool *p = tc->pool;
    for (unsigned c = 0; c < p->n_classes; c++) {
        struct slab_mag *m = &tc->mag[c];
        if (m->n)
            _slab_class_free_batch(p, c, m->items, m->n);
        __atomic_store_n(&m->n, 0, __ATOMIC_RELAXED); /* slab_stats may be reading */
    }
}

/* Thread exit: flush, fold the counters into the classes, unlink, unmap. */
static void tcache_exit(void *arg)
{
    struct slab_tcache *tc = arg;
    struct slab_pool *p = tc->pool;
    tcache_flush(tc);
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
    size_t mag = p->cfg.magazine;
    size_t bytes = sizeof(struct slab_tcache) + (size_t)p->n_classes * mag * sizeof(void *);
    bytes = (bytes + 4095) & ~(size_t)4095;
    struct slab_tcache *tc = slab_os_map(bytes); /* never malloc: this may be the process's malloc */
    if (!tc)
        return NULL;
    tc->pool = p;
    tc->bytes = bytes;
    void **items = (void **)(tc + 1);
    for (unsigned c = 0; c < p->n_classes; c++)
        tc->mag[c].items = items + (size_t)c * mag;
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

uint32_t _slab_tcache_refill(struct slab_pool *p, struct slab_mag *m, unsigned c)
{
    return _slab_class_alloc_batch(p, c, m->items, p->cfg.magazine / 2 ? p->cfg.magazine / 2 : 1);
}

uint32_t _slab_tcache_spill(struct slab_pool *p, struct slab_mag *m, unsigned c, uint32_t n)
{
    unsigned half = n / 2 ? n / 2 : n; /* the older half: the newer stays warm */
    _slab_class_free_batch(p, c, m->items, half);
    memmove(m->items, m->items + half, (n - half) * sizeof(void *));
    return n - half;
}

void slab_thread_flush(struct slab_pool *p)
{
    if (_slab_tls_pool_id == p->id && _slab_tls_tc)
        tcache_flush(_slab_tls_tc);
}
