/* mtstream.c - decode a validated multi-thread trace into per-thread op streams
 * (format in mtstream.h). Two passes over the trace: the first finds the threads
 * with ops and sizes each stream, the second writes the streams; both rename
 * objects to slots the same way (below). */
#include "mtstream.h"

#include <stdio.h>
#include <string.h>

#include "os.h"

/* ---- slots: where each object lives in the replay's slot table ----
 *
 * The trace's ids are reused as the writer pleases (LIFO across all threads), so
 * indexing slots by id would make an allocation on thread A wait for a free on
 * thread B that merely released the id: a dependency the program never had, which
 * serialises the replay threads. So objects are renamed to slots here. A thread
 * reuses first the slots it freed itself (newest first: no wait, warm cache
 * lines); a thread's last RING slots are kept for it, older ones go to a shared
 * FIFO, which a thread with none of its own takes from (oldest first: freed at
 * least RING frees ago by their thread, so the wait it needs is nearly always
 * already satisfied). Only then does a thread take a fresh slot, from its own
 * run of 8, so two threads' fresh objects never share a cache line. */
#define RING MTS_RING
#define FRESH_RUN 8u

struct slotstate {
    uint64_t seq;  /* ops on this slot so far: the version the next op waits for */
    uint32_t last; /* thread of the last op on it + 1; 0 = none yet */
    uint32_t pad;
};

struct ring {
    uint64_t *v; /* RING slots, mapped at the thread's first free */
    uint32_t top, n;
};

struct renamer {
    uint32_t nt;
    uint64_t n_ids;
    uint64_t *id_slot; /* per trace id: its object's slot */
    struct slotstate *slot;
    uint64_t n_slots, slot_cap;
    struct ring *ring;    /* per trace thread */
    uint64_t *fresh_next; /* per trace thread: next slot of its fresh run */
    uint64_t *fifo;
    uint64_t fifo_head, fifo_tail, fifo_cap;
};

static void rn_free(struct renamer *R)
{
    if (R->ring)
        for (uint32_t t = 0; t < R->nt; t++)
            if (R->ring[t].v)
                os_unmap(R->ring[t].v, RING * sizeof(uint64_t));
    os_unmap(R->id_slot, R->n_ids * sizeof(uint64_t));
    os_unmap(R->slot, R->slot_cap * sizeof *R->slot);
    os_unmap(R->ring, (size_t)R->nt * sizeof *R->ring);
    os_unmap(R->fresh_next, (size_t)R->nt * sizeof(uint64_t));
    os_unmap(R->fifo, R->fifo_cap * sizeof(uint64_t));
    memset(R, 0, sizeof *R);
}

static int rn_init(struct renamer *R, uint32_t nt, uint64_t n_ids)
{
    memset(R, 0, sizeof *R);
    R->nt = nt;
    R->n_ids = n_ids;
    R->slot_cap = n_ids + 64;
    R->fifo_cap = 1024;
    R->id_slot = os_map_lazy(n_ids * sizeof(uint64_t));
    R->slot = os_map_lazy(R->slot_cap * sizeof *R->slot);
    R->ring = os_map_lazy((size_t)nt * sizeof *R->ring);
    R->fresh_next = os_map_lazy((size_t)nt * sizeof(uint64_t));
    R->fifo = os_map_lazy(R->fifo_cap * sizeof(uint64_t));
    if (!R->id_slot || !R->slot || !R->ring || !R->fresh_next || !R->fifo) {
        rn_free(R);
        return -1;
    }
    return 0;
}

static int rn_grow(void **p, uint64_t *cap, size_t elem)
{
    void *q = os_remap(*p, *cap * elem, 2 * *cap * elem);
    if (!q)
        return -1;
    *p = q;
    *cap *= 2;
    return 0;
}

static int fifo_push(struct renamer *R, uint64_t slot)
{
    if (R->fifo_tail == R->fifo_cap) {
        if (R->fifo_head > R->fifo_cap / 2) { /* slide down instead of growing */
            memmove(R->fifo, R->fifo + R->fifo_head, (R->fifo_tail - R->fifo_head) * sizeof(uint64_t));
            R->fifo_tail -= R->fifo_head;
            R->fifo_head = 0;
        } else if (rn_grow((void **)&R->fifo, &R->fifo_cap, sizeof(uint64_t)) != 0) {
            return -1;
        }
    }
    R->fifo[R->fifo_tail++] = slot;
    return 0;
}

/* A freed slot goes to its thread's ring; the ring's oldest goes to the FIFO. */
static int ring_push(struct renamer *R, uint32_t t, uint64_t slot)
{
    struct ring *g = &R->ring[t];
    if (!g->v && !(g->v = os_map_lazy(RING * sizeof(uint64_t))))
        return -1;
    if (g->n == RING) { /* full: the oldest entry sits where the new one goes */
        if (fifo_push(R, g->v[g->top]) != 0)
            return -1;
    } else {
        g->n++;
    }
    g->v[g->top] = slot;
    g->top = (g->top + 1) % RING;
    return 0;
}

static int new_slot(struct renamer *R, uint32_t t, uint64_t *slot)
{
    struct ring *g = &R->ring[t];
    if (g->n) {
        g->top = (g->top + RING - 1) % RING;
        g->n--;
        *slot = g->v[g->top];
        return 0;
    }
    if (R->fifo_head < R->fifo_tail) {
        *slot = R->fifo[R->fifo_head++];
        return 0;
    }
    /* Runs start at multiples of FRESH_RUN, so a multiple means "used up"
     * (or, at 0, "none yet"): the run is taken and its first slot used at once. */
    if (R->fresh_next[t] % FRESH_RUN == 0) {
        R->fresh_next[t] = R->n_slots;
        R->n_slots += FRESH_RUN;
        while (R->n_slots > R->slot_cap)
            if (rn_grow((void **)&R->slot, &R->slot_cap, sizeof *R->slot) != 0)
                return -1;
    }
    *slot = R->fresh_next[t]++;
    return 0;
}

/* The slot of op r, and the version it must wait for (UINT64_MAX: none). */
static int rn_op(struct renamer *R, const struct trace_rec *r, uint64_t *slot, uint64_t *wait)
{
    uint32_t t = r->thread;
    if (r->kind == TR_MALLOC || r->kind == TR_CALLOC || r->kind == TR_ALIGNED) {
        if (new_slot(R, t, slot) != 0)
            return -1;
        R->id_slot[r->id] = *slot;
    } else {
        *slot = R->id_slot[r->id];
    }
    struct slotstate *st = &R->slot[*slot];
    *wait = st->last && st->last != t + 1 ? st->seq : UINT64_MAX;
    st->seq++;
    st->last = t + 1;
    return r->kind == TR_FREE ? ring_push(R, t, *slot) : 0;
}

static int short_form(const struct trace_rec *r, uint64_t slot)
{
    return slot <= OPS_ID_MAX && (r->kind == TR_CALLOC ? r->elem : r->size) <= UINT32_MAX;
}

/* Words of one op in its stream (with its slot already known). */
static uint64_t op_words(const struct trace_rec *r, int short_ok)
{
    if (!short_ok)
        return 4;
    return (r->kind == TR_CALLOC || r->kind == TR_ALIGNED) ? 2 : 1;
}

/* Pass 2: one op at p; returns the word after it. */
static uint64_t *emit_op(uint64_t *p, const struct trace_rec *r, uint64_t slot)
{
    uint64_t size = r->kind == TR_CALLOC ? r->elem : r->size;
    uint64_t a = r->kind == TR_CALLOC ? r->nmemb : r->kind == TR_ALIGNED ? r->align : 0;
    if (!short_form(r, slot)) {
        *p++ = MTS_LONG | (uint64_t)r->kind << 3;
        *p++ = slot;
        *p++ = size;
        *p++ = a;
        return p;
    }
    *p++ = r->kind | slot << 3 | (r->kind == TR_FREE ? 0 : size << 32);
    if (r->kind == TR_CALLOC || r->kind == TR_ALIGNED)
        *p++ = a;
    return p;
}

void mtstream_free(struct mtstream *m)
{
    os_unmap(m->words, m->words_bytes);
    os_unmap(m->threads, m->threads_bytes);
    os_unmap(m->marker_off, m->markers_bytes);
    memset(m, 0, sizeof *m);
}

/* Pass 1 (count) and pass 2 (write) run the renaming from the same start, so
 * both see the same slots and waits. */
int mtstream_build(struct mtstream *m, const struct trace *t, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    uint32_t nt = t->hdr.n_threads;
    uint64_t nobj = t->hdr.n_objects ? t->hdr.n_objects : 1;
    size_t per_thread_bytes = (size_t)nt * 2 * sizeof(uint64_t);
    uint64_t *words_of = os_map_lazy(per_thread_bytes); /* words per trace thread */
    uint64_t *widx = words_of ? words_of + nt : NULL;    /* replay thread index + 1, 0 = no ops */
    struct renamer R;
    int rc = -1, have_rn = 0;
    if (!words_of || rn_init(&R, nt, nobj) != 0) {
        snprintf(err, errlen, "cannot map memory to decode %llu objects", (unsigned long long)nobj);
        goto out;
    }
    have_rn = 1;

    /* Pass 1: threads with ops, and the words of each stream. */
    const uint8_t *p = trace_body(t), *end = trace_end(t);
    struct trace_rec r;
    uint64_t slot, wait;
    while (p < end && (p = trace_decode(p, end, &r))) {
        if (r.kind == TR_THREAD_START || r.kind == TR_THREAD_EXIT) {
            words_of[r.thread] += 2;
            continue;
        }
        if (!trace_kind_is_op(r.kind)) {
            m->n_markers++;
            continue;
        }
        if (rn_op(&R, &r, &slot, &wait) != 0) {
            snprintf(err, errlen, "out of memory renaming objects to slots");
            goto out;
        }
        words_of[r.thread] += (wait != UINT64_MAX ? 2 : 0) + op_words(&r, short_form(&r, slot));
        widx[r.thread] = 1;
    }
    for (uint32_t i = 0; i < nt; i++)
        if (widx[i])
            widx[i] = ++m->n_threads;
    if (m->n_threads > MTS_MAX_THREADS) {
        snprintf(err, errlen, "%u threads have ops; multi-thread replay runs at most %u", m->n_threads, MTS_MAX_THREADS);
        goto out;
    }
    m->n_slots = R.n_slots ? R.n_slots : 1;
    uint64_t total = 0;
    for (uint32_t i = 0; i < nt; i++)
        if (widx[i])
            total += words_of[i] + 2 * m->n_markers;
    if (total > MTS_MAX_BYTES / sizeof(uint64_t)) {
        snprintf(err, errlen,
                 "multi-thread traces are decoded whole, and this one needs %llu MiB of op streams for %llu "
                 "objects; the limit is %llu MiB (about 250 million ops)",
                 (unsigned long long)(total * 8 >> 20), (unsigned long long)nobj,
                 (unsigned long long)(MTS_MAX_BYTES >> 20));
        goto out;
    }

    m->threads_bytes = (size_t)m->n_threads * sizeof *m->threads;
    m->markers_bytes = (size_t)(m->n_markers ? m->n_markers : 1) * sizeof *m->marker_off;
    m->words_bytes = (size_t)(total ? total : 1) * sizeof(uint64_t);
    m->threads = os_map(m->threads_bytes);
    m->marker_off = os_map(m->markers_bytes);
    m->words = os_map(m->words_bytes);
    if (!m->threads || !m->marker_off || !m->words) {
        snprintf(err, errlen, "cannot map %llu MiB of op streams", (unsigned long long)(m->words_bytes >> 20));
        goto out;
    }
    uint64_t *cursor = m->words;
    for (uint32_t i = 0; i < nt; i++) {
        if (!widx[i])
            continue;
        struct mts_thread *w = &m->threads[widx[i] - 1];
        w->thread = i;
        w->words = cursor;
        cursor += words_of[i] + 2 * m->n_markers;
    }

    /* Pass 2: the same renaming again, writing the streams. */
    rn_free(&R);
    if (rn_init(&R, nt, nobj) != 0) {
        have_rn = 0;
        snprintf(err, errlen, "cannot map memory to decode %llu objects", (unsigned long long)nobj);
        goto out;
    }
    uint64_t n_marker = 0;
    p = trace_body(t);
    while (p < end) {
        const uint8_t *at = p;
        if (!(p = trace_decode(p, end, &r)))
            break; /* cannot happen on a validated trace */
        if (!trace_kind_is_op(r.kind)) {
            int marker = r.kind == TR_PHASE || r.kind == TR_IDLE;
            if (marker)
                m->marker_off[n_marker++] = (uint64_t)(at - t->data);
            for (uint32_t k = 0; k < m->n_threads; k++) {
                struct mts_thread *w = &m->threads[k];
                if (!marker && w->thread != r.thread)
                    continue;
                w->words[w->n_words++] = OPS_ESCAPE;
                w->words[w->n_words++] = (uint64_t)(at - t->data);
                w->starts += r.kind == TR_THREAD_START;
                w->exits += r.kind == TR_THREAD_EXIT;
                if (!marker)
                    break;
            }
            continue;
        }
        struct mts_thread *w = &m->threads[widx[r.thread] - 1];
        if (rn_op(&R, &r, &slot, &wait) != 0) {
            snprintf(err, errlen, "out of memory renaming objects to slots");
            goto out;
        }
        uint64_t *q = w->words + w->n_words;
        if (wait != UINT64_MAX) {
            *q++ = MTS_WAIT;
            *q++ = wait;
            w->dep_ops++;
        }
        q = emit_op(q, &r, slot);
        w->n_words = (size_t)(q - w->words);
        w->ops++;
        w->count[r.kind]++;
    }
    rc = 0;
out:
    if (have_rn)
        rn_free(&R);
    os_unmap(words_of, per_thread_bytes);
    if (rc != 0)
        mtstream_free(m);
    return rc;
}
