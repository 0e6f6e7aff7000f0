/* bumpalloc.c - an async-signal-safe malloc for the recorder's signal test:
 * build/tests/record/libbump.so, preloaded after libamrecord.so, so the recorder
 * forwards to it. Lock-free bump allocation from one 1 GiB mapping, free a no-op:
 * a signal handler may allocate while the interrupted code is inside malloc,
 * which glibc's malloc does not allow. Test use only. */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define API __attribute__((visibility("default")))
#define ARENA ((size_t)1 << 30)
#define HDR 16u

static char *base;
static atomic_size_t used;
static atomic_int state; /* 0 unmapped, 1 mapping, 2 ready */

static void *bump(size_t align, size_t size)
{
    if (atomic_load(&state) != 2) {
        int z = 0;
        if (atomic_compare_exchange_strong(&state, &z, 1)) {
            void *m = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            base = m == MAP_FAILED ? NULL : m;
            atomic_store(&state, 2);
        }
        while (atomic_load(&state) != 2)
            ;
    }
    if (!base || size > ARENA || align > 4096) {
        errno = ENOMEM;
        return NULL;
    }
    if (align < 16)
        align = 16;
    size_t old = atomic_load(&used), start, end;
    do {
        start = (old + HDR + align - 1) & ~(align - 1);
        end = start + size;
        if (end > ARENA) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!atomic_compare_exchange_weak(&used, &old, end));
    memcpy(base + start - HDR, &size, sizeof size);
    return base + start;
}

API void *malloc(size_t n) { return bump(16, n); }
API void free(void *p) { (void)p; }
API size_t malloc_usable_size(void *p)
{
    size_t s = 0;
    if (p)
        memcpy(&s, (char *)p - HDR, sizeof s);
    return s;
}
API void *calloc(size_t m, size_t n)
{
    size_t t;
    if (__builtin_mul_overflow(m, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    return bump(16, t); /* fresh pages: zero */
}
API void *realloc(void *p, size_t n)
{
    if (!p)
        return bump(16, n);
    if (!n)
        return NULL;
    void *q = bump(16, n);
    if (q) {
        size_t old = malloc_usable_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}
API int posix_memalign(void **r, size_t a, size_t n)
{
    void *p = bump(a, n);
    if (!p)
        return ENOMEM;
    *r = p;
    return 0;
}
API void *aligned_alloc(size_t a, size_t n) { return bump(a, n); }
API void *memalign(size_t a, size_t n) { return bump(a, n); }
API void *valloc(size_t n) { return bump(4096, n); }
API void *pvalloc(size_t n) { return bump(4096, (n + 4095) & ~(size_t)4095); }
