/* replay_ops.h - what the single- and multi-thread replay engines share: the
 * per-op allocator call with its timing and touch, the slot it updates, and
 * the fallbacks for operations an adapter leaves NULL. */
#ifndef ALLOCMARK_REPLAY_OPS_H
#define ALLOCMARK_REPLAY_OPS_H

#include <stdint.h>
#include <string.h>

#include "../allocators/allocator.h"
#include "hist.h"
#include "os.h"
#include "replay.h"
#include "tsc.h"

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

/* Per-object replay state. The top bit of size marks objects whose size is not
 * passed to sized free: aligned ones and realloc'd ones (see allocator.h). */
struct replay_slot {
    char *ptr;
    uint64_t size;
};
#define SLOT_UNSIZED ((uint64_t)1 << 63)
#define SLOT_SIZE(s) ((s) & ~SLOT_UNSIZED)

/* Time STMT into lat[KIND] when LAT (a constant in each loop instance). */
#define REPLAY_TIMED(LAT, lat, overhead, KIND, STMT)                                                             \
    do {                                                                                                          \
        if (LAT) {                                                                                                \
            uint64_t t0_ = tsc_start();                                                                           \
            STMT;                                                                                                 \
            uint64_t t1_ = tsc_stop();                                                                            \
            hist_record(&(lat)[KIND], tsc_net(t0_, t1_, (overhead)));                                            \
        } else {                                                                                                  \
            STMT;                                                                                                 \
        }                                                                                                         \
    } while (0)

/* One replayed op's allocator call, its touch and its slot's new state: the
 * part both engines run per op (each keeps its own counters around it). For
 * calloc `size` is the element size and `a` the count; for aligned `a` is the
 * alignment. Sets *dlive (live bytes) and *dobjs (live objects: +1, -1, 0).
 * Returns 0, or -1 when an allocation returned NULL, with *req the bytes asked
 * for (the slot is then unchanged). In dry mode nothing is called or touched,
 * but the calls are still timed with LAT: the timer's own cost, measured. */
static inline __attribute__((always_inline)) int replay_call(const struct allocator *A, struct replay_slot *s,
                                                             unsigned kind, uint64_t size, uint64_t a,
                                                             struct hist *lat, uint64_t overhead, int64_t *dlive,
                                                             int *dobjs, uint64_t *req, const int LAT, const int DRY,
                                                             const enum touch_mode TOUCH)
{
    char *q;
    switch (kind) {
    case TR_MALLOC:
        if (DRY)
            REPLAY_TIMED(LAT, lat, overhead, TR_MALLOC, q = (char *)s);
        else
            REPLAY_TIMED(LAT, lat, overhead, TR_MALLOC, q = A->malloc(size));
        s->size = size;
        break;
    case TR_CALLOC:
        if (DRY)
            REPLAY_TIMED(LAT, lat, overhead, TR_CALLOC, q = (char *)s);
        else
            REPLAY_TIMED(LAT, lat, overhead, TR_CALLOC, q = A->calloc(a, size));
        size *= a; /* validated: cannot overflow */
        s->size = size;
        break;
    case TR_ALIGNED:
        if (DRY)
            REPLAY_TIMED(LAT, lat, overhead, TR_ALIGNED, q = (char *)s);
        else
            REPLAY_TIMED(LAT, lat, overhead, TR_ALIGNED, q = A->aligned_alloc(a, size));
        s->size = size | SLOT_UNSIZED;
        break;
    case TR_REALLOC: {
        uint64_t old = SLOT_SIZE(s->size);
        if (DRY)
            REPLAY_TIMED(LAT, lat, overhead, TR_REALLOC, q = s->ptr);
        else
            REPLAY_TIMED(LAT, lat, overhead, TR_REALLOC, q = A->realloc(s->ptr, old, size));
        if (__builtin_expect(!q, 0)) {
            *req = size;
            return -1;
        }
        s->size = size | SLOT_UNSIZED;
        if (!DRY)
            touch(q, old, size, TOUCH);
        s->ptr = q;
        *dlive = (int64_t)(size - old);
        *dobjs = 0;
        return 0;
    }
    default: { /* TR_FREE */
        uint64_t sz = SLOT_SIZE(s->size);
        if (DRY)
            REPLAY_TIMED(LAT, lat, overhead, TR_FREE, (void)0);
        else
            REPLAY_TIMED(LAT, lat, overhead, TR_FREE, A->free(s->ptr, (s->size & SLOT_UNSIZED) ? 0 : sz));
        s->ptr = NULL;
        *dlive = -(int64_t)sz;
        *dobjs = -1;
        return 0;
    }
    }
    /* malloc, calloc, aligned */
    if (__builtin_expect(!q && size, 0)) {
        *req = size;
        return -1;
    }
    if (!DRY)
        touch(q, 0, size, TOUCH);
    s->ptr = q;
    *dlive = (int64_t)size;
    *dobjs = 1;
    return 0;
}

/* Free an object still live when the replay ends (not timed, not counted). */
static inline void replay_free_leftover(const struct allocator *A, struct replay_slot *s)
{
    if (s->ptr)
        A->free(s->ptr, (s->size & SLOT_UNSIZED) ? 0 : SLOT_SIZE(s->size));
}

/* A result array of n elements (at least one), mapped and pre-faulted; *cap = its length. */
void *replay_map_array(uint64_t n, size_t elem, uint64_t *cap);

/* The figures both engines derive the same way at the end: CPU and faults
 * (u2 - u1), final and peak RSS (samples and VmHWM), fragmentation. Needs the
 * samples, baseline_rss, peak_rss_sampled, peak_live_bytes and final_live_bytes. */
void replay_end_figures(struct replay_result *r, const struct os_usage *u1, const struct os_usage *u2);

/* *dst = *a with calloc (malloc + memset) and realloc (malloc + copy + free)
 * filled in where a leaves them NULL. One allocator per process: the fallbacks
 * remember a. */
void replay_fill_fallbacks(struct allocator *dst, const struct allocator *a);

#endif
