/* rec_api.c - the interposed malloc API of build/lib/libamrecord.so.
 *
 * Each function forwards to the next definition in the lookup order (glibc's, or
 * another preloaded allocator's), found with dlsym(RTLD_NEXT) at the first call,
 * and appends one record to the calling thread's chunk (rec_internal.h):
 * allocations after the real call returns (the record holds the result; a NULL
 * result is recorded too, and the post-pass counts and skips it), frees before
 * the real free. malloc_usable_size is forwarded, not recorded: the trace format
 * has no such op.
 *
 * Bootstrap: dlsym allocates (calloc) before there is anything to forward to. The
 * thread doing the set-up is marked BUSY_INTERNAL, and every call it makes while
 * so marked is served from the bootstrap arena (rec_boot.c) and never recorded;
 * free() of a bootstrap block is ignored, realloc() copies it out.
 *
 * Signals: a handler that interrupts the recorder itself (the thread is
 * BUSY_RECORDING: a record half-written) has its calls forwarded but not recorded,
 * and counted in the raw file's `nested` field. A handler that interrupts the
 * program anywhere else, including inside glibc's malloc, is recorded normally. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_internal.h"

#define API __attribute__((visibility("default")))

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
} real;
static atomic_int g_init; /* 0 not yet, 1 being set up, 2 ready */
static size_t g_page = 4096;

__attribute__((noreturn, cold)) static void die(const char *msg)
{
    static const char pre[] = "libamrecord: ";
    ssize_t rc = write(2, pre, sizeof pre - 1);
    rc = write(2, msg, strlen(msg));
    (void)rc;
    abort();
}

static void *next_sym(const char *name, int required)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f && required)
        die("dlsym(RTLD_NEXT) found no malloc API to forward to\n");
    return f;
}

__attribute__((noinline, cold)) static int init_slow(void)
{
    struct rec_thread *t = &rec_self;
    if (t->busy == BUSY_INTERNAL)
        return 0; /* a nested call from our own set-up */
    int expect = 0;
    if (atomic_compare_exchange_strong(&g_init, &expect, 1)) {
        uint8_t b = t->busy;
        t->busy = BUSY_INTERNAL;
        real.malloc = (void *(*)(size_t))next_sym("malloc", 1);
        real.free = (void (*)(void *))next_sym("free", 1);
        real.calloc = (void *(*)(size_t, size_t))next_sym("calloc", 1);
        real.realloc = (void *(*)(void *, size_t))next_sym("realloc", 1);
        real.posix_memalign = (int (*)(void **, size_t, size_t))next_sym("posix_memalign", 1);
        real.aligned_alloc = (void *(*)(size_t, size_t))next_sym("aligned_alloc", 1);
        real.memalign = (void *(*)(size_t, size_t))next_sym("memalign", 1);
        real.valloc = (void *(*)(size_t))next_sym("valloc", 1);
        real.pvalloc = (void *(*)(size_t))next_sym("pvalloc", 1);
        real.malloc_usable_size = (size_t(*)(void *))next_sym("malloc_usable_size", 1);
        long page = sysconf(_SC_PAGESIZE);
        if (page > 0)
            g_page = (size_t)page;
        rec_log_init();
        atomic_store_explicit(&g_init, 2, memory_order_release);
        t->busy = b;
    } else {
        while (atomic_load_explicit(&g_init, memory_order_acquire) != 2)
            sched_yield();
    }
    return 1;
}

/* 1 when calls can be forwarded and recorded; 0 for the set-up's nested calls. */
static inline int ready(void)
{
    return likely(atomic_load_explicit(&g_init, memory_order_acquire) == 2) || init_slow();
}

static inline int internal(void)
{
    return unlikely(rec_self.busy == BUSY_INTERNAL);
}

/* A call made from inside the recorder: the bootstrap arena, or (if it is full)
 * the real allocator, unrecorded. */
static void *internal_alloc(size_t align, size_t size)
{
    void *p = rec_boot_alloc(align, size);
    if (!p && atomic_load(&g_init) == 2)
        p = align <= 16 ? real.malloc(size) : real.memalign(align, size);
    if (!p)
        errno = ENOMEM;
    return p;
}

static inline void put_alloc(unsigned op, const void *p, uint64_t b, uint64_t c)
{
    rec_put(op, (uintptr_t)p, b, c);
}

API void *malloc(size_t size)
{
    if (internal() || !ready())
        return internal_alloc(16, size);
    void *p = real.malloc(size);
    put_alloc(RAW_MALLOC, p, size, 0);
    return p;
}

API void free(void *ptr)
{
    if (!ptr || unlikely(rec_is_boot(ptr)))
        return;
    if (internal() || !ready()) {
        if (atomic_load(&g_init) == 2)
            real.free(ptr);
        return;
    }
    rec_put(RAW_FREE, (uintptr_t)ptr, 0, 0);
    real.free(ptr);
}

API void *calloc(size_t nmemb, size_t size)
{
    if (internal() || !ready()) {
        size_t total;
        if (__builtin_mul_overflow(nmemb, size, &total)) {
            errno = ENOMEM;
            return NULL;
        }
        return internal_alloc(16, total); /* the arena is .bss, never reused: zero */
    }
    void *p = real.calloc(nmemb, size);
    put_alloc(RAW_CALLOC, p, nmemb, size);
    return p;
}

/* realloc of a bootstrap block: copy it out into a recorded allocation. */
static void *boot_realloc(void *ptr, size_t size)
{
    if (size == 0)
        return NULL; /* glibc: realloc(p, 0) frees; freeing a bootstrap block is a no-op */
    size_t old = rec_boot_size(ptr);
    void *q = malloc(size);
    if (q)
        memcpy(q, ptr, old < size ? old : size);
    return q;
}

API void *realloc(void *ptr, size_t size)
{
    if (ptr && unlikely(rec_is_boot(ptr)))
        return boot_realloc(ptr, size);
    if (internal() || !ready()) {
        if (atomic_load(&g_init) != 2)
            return ptr ? NULL : internal_alloc(16, size); /* cannot happen: the set-up reallocs nothing */
        return real.realloc(ptr, size);
    }
    rec_put(RAW_REALLOC_BEGIN, (uintptr_t)ptr, size, 0);
    void *q = real.realloc(ptr, size);
    rec_put(RAW_REALLOC_END, (uintptr_t)q, 0, 0);
    return q;
}

/* As glibc's: realloc after an overflow check. Not forwarded to the next
 * reallocarray: glibc's calls realloc through the PLT, which would record the
 * call twice. An overflow is recorded as a failed realloc. */
API void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;
    if (!__builtin_mul_overflow(nmemb, size, &total))
        return realloc(ptr, total);
    if (!internal() && ready() && !(ptr && rec_is_boot(ptr))) {
        rec_put(RAW_REALLOC_BEGIN, (uintptr_t)ptr, SIZE_MAX, 0);
        rec_put(RAW_REALLOC_END, 0, 0, 0);
    }
    errno = ENOMEM;
    return NULL;
}

API int posix_memalign(void **memptr, size_t align, size_t size)
{
    if (internal() || !ready()) {
        if (align < sizeof(void *) || (align & (align - 1)))
            return EINVAL;
        void *p = internal_alloc(align, size);
        if (!p)
            return ENOMEM;
        *memptr = p;
        return 0;
    }
    int rc = real.posix_memalign(memptr, align, size);
    put_alloc(RAW_ALIGNED, rc == 0 ? *memptr : NULL, size, align);
    return rc;
}

API void *aligned_alloc(size_t align, size_t size)
{
    if (internal() || !ready())
        return internal_alloc(align, size);
    void *p = real.aligned_alloc(align, size);
    put_alloc(RAW_ALIGNED, p, size, align);
    return p;
}

API void *memalign(size_t align, size_t size)
{
    if (internal() || !ready())
        return internal_alloc(align, size);
    void *p = real.memalign(align, size);
    put_alloc(RAW_ALIGNED, p, size, align);
    return p;
}

API void *valloc(size_t size)
{
    if (internal() || !ready())
        return internal_alloc(g_page, size);
    void *p = real.valloc(size);
    put_alloc(RAW_ALIGNED, p, size, g_page);
    return p;
}

/* valloc of whole pages (at least one): recorded with the rounded size. */
API void *pvalloc(size_t size)
{
    if (internal() || !ready())
        return internal_alloc(g_page, size);
    void *p = real.pvalloc(size);
    size_t rounded = size > SIZE_MAX - g_page ? size : (size + g_page - 1) & ~(g_page - 1);
    put_alloc(RAW_ALIGNED, p, rounded ? rounded : g_page, g_page);
    return p;
}

API size_t malloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    if (rec_is_boot(ptr))
        return rec_boot_size(ptr);
    return atomic_load(&g_init) == 2 ? real.malloc_usable_size(ptr) : 0;
}

/* Set up before main even if the program never allocates before forking. */
__attribute__((constructor)) static void rec_init(void)
{
    ready();
}
