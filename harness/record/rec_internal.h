/* rec_internal.h - shared by the files of build/lib/libamrecord.so (the LD_PRELOAD
 * recorder). Nothing here is exported: the library is built with hidden visibility
 * and only the malloc API in rec_api.c is marked for export.
 *
 * Rules every file of the library keeps: no malloc (the recorder's memory is mmap'd
 * file pages and a static bootstrap arena), no stdio, and every call into libc that
 * might allocate is made with the thread's `busy` state at BUSY_INTERNAL, so that a
 * nested malloc is served from the bootstrap arena instead of being recorded. */
#ifndef ALLOCMARK_REC_INTERNAL_H
#define ALLOCMARK_REC_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <x86intrin.h>

#include "raw.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* A thread's state in the recorder; static TLS, so reachable from signal handlers
 * and after the thread's key destructors have run. */
enum { BUSY_NO = 0, BUSY_RECORDING = 1, BUSY_INTERNAL = 2 };
enum { TS_NEW = 0, TS_ACTIVE = 1, TS_EXITED = 2 };
#define REC_NO_THREAD UINT32_MAX

struct rec_thread {
    struct raw_rec *cur, *end; /* free slots of the current chunk */
    struct raw_rec *chunk;     /* the chunk's mapping (NULL: none yet) */
    uint32_t idx;              /* thread index in this process's file */
    uint32_t seq;              /* chunks this thread has had */
    uint32_t chunk_bytes;      /* the current chunk's size */
    volatile uint8_t busy;     /* BUSY_*: signal-safe reentrancy guard */
    uint8_t state;             /* TS_* */
    uint8_t registered;        /* the pthread key holds us: the destructor will run */
    uint8_t dtor_rounds;
};

extern __thread struct rec_thread rec_self __attribute__((tls_model("initial-exec")));

/* ---- rec_boot.c: the bootstrap arena ---- */
void *rec_boot_alloc(size_t align, size_t size); /* zeroed; NULL when full */
int rec_is_boot(const void *p);
size_t rec_boot_size(const void *p);

/* ---- rec_log.c: the raw log file and the per-thread chunks ---- */
void rec_log_init(void); /* once, from rec_api.c's initialiser (reads the environment) */
int rec_next_chunk(struct rec_thread *t); /* 1 if t has free slots now, 0 if not recording */
void rec_count(size_t field_offset);      /* atomic add 1 to a raw_file_hdr counter */

/* Append one record. Stamped here, so a caller stamps a free by calling this before
 * the real free and an allocation after. A call that finds the thread already inside
 * the recorder (a signal handler that interrupted us) is counted, not recorded: the
 * chunk slot being written belongs to the interrupted call. */
static inline void rec_put(unsigned op, uint64_t a, uint64_t b, uint64_t c)
{
    struct rec_thread *t = &rec_self;
    if (unlikely(t->busy)) {
        rec_count(offsetof(struct raw_file_hdr, nested));
        return;
    }
    t->busy = BUSY_RECORDING;
    atomic_signal_fence(memory_order_seq_cst);
    if (likely(t->cur != t->end) || rec_next_chunk(t)) {
        struct raw_rec *r = t->cur++;
        r->a = a;
        r->b = b;
        r->c = c;
        /* the first word last: a record is in the file whole or not at all */
        atomic_store_explicit((_Atomic uint64_t *)&r->ts_op, (__rdtsc() << RAW_TS_SHIFT) | op,
                              memory_order_release);
    }
    atomic_signal_fence(memory_order_seq_cst);
    t->busy = BUSY_NO;
}

#endif
