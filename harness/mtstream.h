/* mtstream.h - a multi-thread trace pre-decoded into one op stream per trace thread.
 *
 * The multi-thread replay (replay_mt.c) runs one replay thread per trace thread
 * with ops. Before the measurement, the validated trace is decoded whole into one
 * stream of 64-bit words per such thread, in trace order:
 *
 *   kinds 1-5 (ops)  as in opstream.h, but the id field holds the op's *slot*
 *   MTS_WAIT (6)     word1 = the slot version the next op must wait for: the op's
 *                    slot was last used by another thread (a cross-thread free or
 *                    realloc, or a slot another thread freed, reused from the
 *                    shared pool). Every op bumps its slot's version by one, so
 *                    version v means "the first v ops on this slot have happened".
 *   MTS_LONG (7)     an op whose slot or sizes do not fit the short form:
 *                    op kind in bits 3-5; word1 = slot, word2 = size (calloc: element
 *                    size), word3 = nmemb (calloc) or alignment (aligned), else 0
 *   OPS_ESCAPE (0)   word1 = byte offset of a record in the trace: this thread's
 *                    start and exit records, and every marker (phase, idle), which
 *                    is copied into every stream because markers are barriers
 *
 * Slots are not the trace's ids: objects are renamed so that a thread reuses the
 * slots it freed itself, and takes fresh ones in runs of its own (mtstream.c says
 * why: the writer's id reuse would otherwise chain the threads together, and a
 * flat table would put two threads' objects on one cache line).
 *
 * The whole trace is decoded up front (no chunks, unlike the single-thread
 * engine): at most MTS_MAX_BYTES of streams and MTS_MAX_THREADS replay threads;
 * a larger trace is refused with a message saying so. */
#ifndef ALLOCMARK_MTSTREAM_H
#define ALLOCMARK_MTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "opstream.h"
#include "trace.h"

#define MTS_WAIT 6u
#define MTS_LONG 7u

#define MTS_RING 4096u /* freed slots a thread keeps for itself (mtstream.c) */
#define MTS_MAX_THREADS 1024u                 /* trace threads with ops */
#define MTS_MAX_BYTES ((uint64_t)4 << 30)     /* all streams together: 4 GiB */

struct mts_thread {
    uint32_t thread;  /* the trace's thread number */
    uint64_t *words;  /* into mtstream.words */
    size_t n_words;
    uint64_t ops, count[TR_KIND_COUNT];
    uint64_t dep_ops; /* ops preceded by MTS_WAIT */
    uint64_t starts, exits;
};

struct mtstream {
    uint32_t n_threads; /* replay threads */
    struct mts_thread *threads;
    uint64_t *words;
    size_t words_bytes;
    uint64_t n_slots;
    uint64_t n_markers;
    uint64_t *marker_off; /* byte offset of each marker record, in trace order */
    size_t threads_bytes, markers_bytes;
};

/* Decode validated trace t into m; all memory mapped and pre-faulted.
 * Returns 0, or -1 with err (errlen bytes) saying why (limits, out of memory). */
int mtstream_build(struct mtstream *m, const struct trace *t, char *err, size_t errlen);
void mtstream_free(struct mtstream *m);

#endif
