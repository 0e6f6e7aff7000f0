#include "slab_os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

void *slab_os_reserve(size_t size, size_t align)
{
    /* Over-reserve, then trim the ends so that the base is aligned. */
    size_t len = size + align;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *base = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (base > p)
        munmap(p, (size_t)(base - p));
    if (base + size < p + len)
        munmap(base + size, (size_t)(p + len - (base + size)));
    return base;
}

void *slab_os_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void slab_os_unmap(void *p, size_t size)
{
    if (p && size) {
        int e = errno; /* free() must not change errno */
        munmap(p, size);
        errno = e;
    }
}

void *slab_os_remap(void *p, size_t old_size, size_t new_size)
{
    void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

void slab_os_prefault(void *p, size_t size)
{
    volatile char *c = p;
    for (size_t off = 0; off < size; off += 4096)
        c[off] = 0;
}

void slab_os_hugepage(void *p, size_t size)
{
    madvise(p, size, MADV_HUGEPAGE); /* advice only: ignore failure */
}

void slab_os_release(void *p, size_t size)
{
    int e = errno;
    madvise(p, size, MADV_DONTNEED);
    errno = e;
}

uint64_t slab_os_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void slab_os_sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void slab_os_die(const char *msg)
{
    (void)!write(2, msg, strlen(msg));
    abort();
}

void slab_os_yield(void)
{
    sched_yield();
}
