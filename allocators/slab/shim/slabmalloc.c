/* slabmalloc.c - the slab allocator as the process's malloc: build/lib/libslabmalloc.so,
 * for LD_PRELOAD=build/lib/libslabmalloc.so PROGRAM.
 *
 * Exports malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc and malloc_usable_size (and nothing
 * else: the library is built with -fvisibility=hidden). Every call goes to one
 * slab pool, created on the first call.
 *
 * Environment (read once, at the first call):
 *   SLAB_MALLOC_OPTS   the pool's config, slab_config_parse's "key=value,..."
 *                      syntax (slab.h). Default: the library's defaults, so no
 *                      tick thread: idle slabs are released from the
 *                      allocation path; tick_thread=1 starts the thread. A bad
 *                      value prints the parser's message and aborts (a
 *                      benchmark run on a config it did not ask for is worse
 *                      than no run).
 *   SLAB_MALLOC_STATS  non-empty and not "0": at exit, one line of statistics
 *                      on stderr ("slabmalloc: pid=... prog=... allocs=..."),
 *                      written with write(2). The tests use it to prove that a
 *                      program really ran on the shim.
 *
 * Rules this file keeps: no libc malloc, no stdio (both may allocate, and
 * allocating is what we are in the middle of), getenv and write(2) only.
 * getenv needs libc's environ, set by libc's own initialiser: every first
 * call seen (python3, sqlite3, gcc, cc1, as, ld, the tests) comes from main or
 * a constructor, after it. (A first call from ld.so before libc's initialiser
 * would see no options and run on the defaults.)
 *
 * Start-up. The first call creates the pool; a thread that finds creation
 * under way on another thread waits for it (in practice never happens: a
 * second thread cannot exist before the first malloc, as pthread_create itself
 * allocates). Creating the pool may call malloc again on the same thread:
 * pthread_create (tick_thread=1) allocates the new thread's TLS vector with
 * calloc, and glibc's pthread_atfork may allocate. Those nested calls, and any
 * other that arrives while this thread is initialising, are served from a
 * 64 KiB static bootstrap arena (bump allocation, zeroed, never reused; a free
 * of such a block is a no-op, realloc copies it out). pthread_once cannot be
 * used: the nested call would deadlock on it.
 *
 * Foreign pointers. free() of a pointer that is neither in the pool's region,
 * nor a live large block, nor in the bootstrap arena (memory the dynamic
 * linker or libc got elsewhere before or beside us) is ignored and counted
 * (foreign_frees in the statistics): giving it to glibc's free would need
 * dlsym, which allocates, and glibc's free would abort on it anyway if it were
 * not glibc's; leaking it is harmless. malloc_usable_size of such a pointer is
 * 0. realloc of one aborts with a message: its size is unknown, so no correct
 * copy can be made. A pointer inside the region that is not a chunk (a slab
 * holding no chunks) aborts with the library's message, as glibc aborts on
 * "free(): invalid pointer".
 *
 * fork: pthread_atfork handlers (registered at the first call, so ours run
 * last before a fork and first after it) take every pool lock across it; see
 * slab_fork_prepare in slab.h.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../slab.h"

#define API __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- messages without stdio ---- */

struct line {
    char buf[1024];
    size_t n;
};

static void put_str(struct line *l, const char *s)
{
    size_t len = strlen(s);
    if (len > sizeof l->buf - 1 - l->n)
        len = sizeof l->buf - 1 - l->n;
    memcpy(l->buf + l->n, s, len);
    l->n += len;
}

static void put_u64(struct line *l, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    tmp[--i] = 0;
    do
        tmp[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put_str(l, tmp + i);
}

static void put_kv(struct line *l, const char *key, uint64_t v)
{
    put_str(l, " ");
    put_str(l, key);
    put_str(l, "=");
    put_u64(l, v);
}

static void emit(struct line *l)
{
    l->buf[l->n++] = '\n';
    const char *s = l->buf;
    size_t left = l->n;
    while (left) {
        ssize_t w = write(2, s, left);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            break;
        }
        s += w;
        left -= (size_t)w;
    }
}

__attribute__((noreturn, cold)) static void die(const char *what, const char *detail, long err)
{
    struct line l = { .n = 0 };
    put_str(&l, "slabmalloc: ");
    put_str(&l, what);
    if (detail)
        put_str(&l, detail);
    if (err) {
        put_str(&l, " (errno ");
        put_u64(&l, (uint64_t)err);
        put_str(&l, ")");
    }
    emit(&l);
    abort();
}

/* ---- the bootstrap arena: allocations made while this thread creates the pool ---- */

#define BOOT_BYTES ((size_t)64 << 10)
#define BOOT_HDR 16u /* the block's size, in front of it */

static _Alignas(4096) char boot[BOOT_BYTES];
static atomic_size_t boot_used;
static atomic_size_t boot_allocs;

static inline int is_boot(const void *ptr)
{
    return (uintptr_t)ptr - (uintptr_t)boot < BOOT_BYTES;
}

static size_t boot_size(const void *ptr)
{
    size_t s;
    memcpy(&s, (const char *)ptr - BOOT_HDR, sizeof s);
    return s;
}

static void *boot_alloc(size_t align, size_t size)
{
    if (align < 16)
        align = 16;
    if (size > BOOT_BYTES || align > BOOT_BYTES) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old = atomic_load(&boot_used), start, end;
    do {
        start = (old + BOOT_HDR + align - 1) & ~(align - 1);
        end = start + ((size + 15) & ~(size_t)15);
        if (end > BOOT_BYTES) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!atomic_compare_exchange_weak(&boot_used, &old, end));
    memcpy(boot + start - BOOT_HDR, &size, sizeof size);
    atomic_fetch_add_explicit(&boot_allocs, 1, memory_order_relaxed);
    return boot + start; /* zero: .bss, never reused */
}

/* ---- the pool and its lazy creation ---- */

static _Atomic(struct slab_pool *) g_pool;
static atomic_int g_state; /* 0 none, 1 being created, 2 ready */
static _Thread_local int t_in_init __attribute__((tls_model("initial-exec")));
static atomic_size_t g_foreign;
static int g_stats;
static size_t g_page = 4096;

static void fork_prepare(void)
{
    slab_fork_prepare(atomic_load(&g_pool));
}

static void fork_parent(void)
{
    slab_fork_parent(atomic_load(&g_pool));
}

static void fork_child(void)
{
    slab_fork_child(atomic_load(&g_pool));
}

/* Does "key=value,..." set key? */
static int opts_have(const char *opts, const char *key)
{
    size_t kl = strlen(key);
    for (const char *s = opts;;) {
        if (strncmp(s, key, kl) == 0 && s[kl] == '=')
            return 1;
        if (!(s = strchr(s, ',')))
            return 0;
        s++;
    }
}

static void create_pool(void)
{
    struct slab_config c;
    char err[256];
    slab_config_default(&c);
    c.tick_thread = 0; /* the shim's default: release from the allocation path */
    const char *opts = getenv("SLAB_MALLOC_OPTS");
    if ((opts && slab_config_parse(&c, opts, err, sizeof err) != 0) || slab_config_check(&c, err, sizeof err) != 0)
        die("SLAB_MALLOC_OPTS: ", err, 0);
    const char *st = getenv("SLAB_MALLOC_STATS");
    g_stats = st && *st && strcmp(st, "0") != 0;
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0)
        g_page = (size_t)page;
    struct slab_pool *p;
    /* Where address space is scarce (ulimit -v, strict overcommit), halve the
     * default reservation rather than fail: a malloc that cannot start has no
     * fallback. An explicit reserve= is taken as meant. */
    while (!(p = slab_create(&c))) {
        int e = errno;
        if (e != ENOMEM || (opts && opts_have(opts, "reserve")) || c.reserve <= ((size_t)256 << 20))
            die("cannot create the pool", NULL, e);
        c.reserve /= 2;
    }
    atomic_store_explicit(&g_pool, p, memory_order_release);
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
        die("pthread_atfork failed", NULL, 0);
}

/* The pool, created on first use; NULL while this thread is creating it. */
__attribute__((noinline)) static struct slab_pool *pool_slow(void)
{
    if (t_in_init)
        return NULL;
    int expect = 0;
    if (atomic_compare_exchange_strong(&g_state, &expect, 1)) {
        t_in_init = 1;
        create_pool();
        t_in_init = 0;
        atomic_store_explicit(&g_state, 2, memory_order_release);
    } else {
        while (atomic_load_explicit(&g_state, memory_order_acquire) != 2)
            sched_yield();
    }
    return atomic_load_explicit(&g_pool, memory_order_acquire);
}

static inline struct slab_pool *get_pool(void)
{
    struct slab_pool *p = atomic_load_explicit(&g_pool, memory_order_acquire);
    return likely(p != NULL) ? p : pool_slow();
}

/* ---- the malloc API ---- */

static void *do_malloc(size_t size)
{
    struct slab_pool *p = get_pool();
    return likely(p != NULL) ? slab_alloc(p, size) : boot_alloc(16, size);
}

static void do_free(void *ptr)
{
    if (!ptr || is_boot(ptr))
        return;
    struct slab_pool *p = atomic_load_explicit(&g_pool, memory_order_acquire);
    if (likely(p != NULL) && slab_free_if_owned(p, ptr) == 0)
        return;
    atomic_fetch_add_explicit(&g_foreign, 1, memory_order_relaxed);
}

/* align: a power of two. */
static void *do_aligned(size_t align, size_t size)
{
    struct slab_pool *p = get_pool();
    return likely(p != NULL) ? slab_aligned_alloc(p, align, size) : boot_alloc(align, size);
}

static void *do_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return do_malloc(size);
    if (size == 0) { /* glibc: free, NULL */
        do_free(ptr);
        return NULL;
    }
    if (is_boot(ptr)) {
        size_t old = boot_size(ptr);
        void *q = do_malloc(size);
        if (q)
            memcpy(q, ptr, old < size ? old : size);
        return q;
    }
    struct slab_pool *p = get_pool();
    if (!p)
        die("realloc of a pointer not from this allocator (size unknown, cannot copy)", NULL, 0);
    return slab_realloc(p, ptr, size); /* aborts with a message on a foreign pointer */
}

API void *malloc(size_t size)
{
    return do_malloc(size);
}

API void free(void *ptr)
{
    do_free(ptr);
}

API void *calloc(size_t nmemb, size_t size)
{
    struct slab_pool *p = get_pool();
    if (likely(p != NULL))
        return slab_calloc(p, nmemb, size);
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return boot_alloc(16, total);
}

API void *realloc(void *ptr, size_t size)
{
    return do_realloc(ptr, size);
}

API void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(ptr, total);
}

/* EINVAL (errno untouched) unless align is a power of two multiple of sizeof(void *). */
API int posix_memalign(void **memptr, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int e = errno;
    void *q = do_aligned(align, size);
    errno = e;
    if (!q)
        return ENOMEM;
    *memptr = q;
    return 0;
}

/* As glibc 2.38 on (C17 DR 460): NULL with EINVAL unless align is a power of
 * two; the size need not be a multiple of it. */
API void *aligned_alloc(size_t align, size_t size)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return do_aligned(align, size);
}

/* As glibc: an alignment that is not a power of two is rounded up to one;
 * past SIZE_MAX / 2 + 1 it is EINVAL. */
API void *memalign(size_t align, size_t size)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16)
        return do_malloc(size);
    if (align & (align - 1))
        align = (size_t)1 << (64 - __builtin_clzll((unsigned long long)align));
    return do_aligned(align, size);
}

API void *valloc(size_t size)
{
    get_pool(); /* g_page */
    return do_aligned(g_page, size);
}

/* valloc with the size rounded up to a whole number of pages. */
API void *pvalloc(size_t size)
{
    get_pool();
    if (size > SIZE_MAX - (g_page - 1)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_aligned(g_page, (size + g_page - 1) & ~(g_page - 1));
}

API size_t malloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    if (is_boot(ptr))
        return boot_size(ptr);
    struct slab_pool *p = atomic_load_explicit(&g_pool, memory_order_acquire);
    return p ? slab_usable_size(p, ptr) : 0;
}

/* ---- SLAB_MALLOC_STATS ---- */

__attribute__((destructor)) static void print_stats(void)
{
    struct slab_pool *p = atomic_load(&g_pool);
    if (!g_stats || !p)
        return;
    static struct slab_stats s; /* 3 KiB: not on a possibly small stack */
    slab_stats(p, &s);
    uint64_t allocs = 0, in_use = 0, mags = 0;
    for (unsigned c = 0; c < s.n_classes; c++) {
        allocs += s.cls[c].allocs;
        in_use += s.cls[c].in_use;
        mags += s.cls[c].in_magazines;
    }
    struct line l = { .n = 0 };
    put_str(&l, "slabmalloc:");
    put_kv(&l, "pid", (uint64_t)getpid());
    put_str(&l, " prog=");
    put_str(&l, program_invocation_short_name);
    put_kv(&l, "allocs", allocs + s.large_allocs);
    put_kv(&l, "large_allocs", s.large_allocs);
    put_kv(&l, "chunks_in_use", in_use);
    put_kv(&l, "in_magazines", mags);
    put_kv(&l, "large_live", s.large_count);
    put_kv(&l, "committed", s.committed);
    put_kv(&l, "released", s.released);
    put_kv(&l, "foreign_frees", atomic_load(&g_foreign));
    put_kv(&l, "bootstrap_allocs", atomic_load(&boot_allocs));
    emit(&l);
}
