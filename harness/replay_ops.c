/* replay_ops.c - fallbacks for operations an adapter leaves NULL (replay_ops.h). */
#include "replay_ops.h"

static const struct allocator *fallback_of;

static void *fallback_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    void *p = fallback_of->malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

static void *fallback_realloc(void *p, size_t old_size, size_t new_size)
{
    void *q = fallback_of->malloc(new_size);
    if (q) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        fallback_of->free(p, 0); /* p may be aligned or realloc'd: no size */
    }
    return q;
}

void replay_fill_fallbacks(struct allocator *dst, const struct allocator *a)
{
    *dst = *a;
    fallback_of = a;
    if (!dst->calloc)
        dst->calloc = fallback_calloc;
    if (!dst->realloc)
        dst->realloc = fallback_realloc;
}
