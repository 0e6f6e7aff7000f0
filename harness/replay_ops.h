/* replay_ops.h - what the single- and multi-thread replay engines share: the
 * touch policy and the fallbacks for operations an adapter leaves NULL. */
#ifndef ALLOCMARK_REPLAY_OPS_H
#define ALLOCMARK_REPLAY_OPS_H

#include <stdint.h>
#include <string.h>

#include "../allocators/allocator.h"
#include "os.h"
#include "replay.h"

/* Write to each page of bytes [from, to) of p, or all of them. */
static inline __attribute__((always_inline)) void touch(char *p, uint64_t from, uint64_t to, enum touch_mode mode)
{
    if (from >= to || mode == TOUCH_NONE)
        return;
    if (mode == TOUCH_FULL) {
        memset(p + from, 0xa5, to - from);
        return;
    }
    p[from] = 1;
    uintptr_t q = ((uintptr_t)(p + from) + OS_PAGE_SIZE) & ~(uintptr_t)(OS_PAGE_SIZE - 1);
    for (; q < (uintptr_t)(p + to); q += OS_PAGE_SIZE)
        *(volatile char *)q = 1;
}

/* *dst = *a with calloc (malloc + memset) and realloc (malloc + copy + free)
 * filled in where a leaves them NULL. One allocator per process: the fallbacks
 * remember a. */
void replay_fill_fallbacks(struct allocator *dst, const struct allocator *a);

#endif
