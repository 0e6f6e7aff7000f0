/* mtstream.c - decode a validated multi-thread trace into per-thread op streams
 * (format in mtstream.h). Two passes over the trace: the first finds the threads
 * with ops, sizes each stream and records which thread uses each id first (for
 * the slot layout); the second writes the streams. */
#include "mtstream.h"

#include <stdio.h>
#include <string.h>

#include "os.h"

/* Per-id decoding state. */
struct idstate {
    uint64_t seq;   /* ops on this id so far (pass 2): the version the next op waits for */
    uint64_t slot;  /* where the id lives in the replay's slot table */
    uint32_t last;  /* thread of the last op on the id + 1; 0 = none yet */
    uint32_t owner; /* thread of the first op + 1 (pass 1) */
};

static int short_form(const struct trace_rec *r, uint64_t slot)
{
    return slot <= OPS_ID_MAX && (r->kind == TR_CALLOC ? r->elem : r->size) <= UINT32_MAX;
}

/* Pass 1 sizes with the id for the slot: where the id fits, the slot does too
 * (refused otherwise), so pass 2 never writes more than this. */
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

int mtstream_build(struct mtstream *m, const struct trace *t, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    uint32_t nt = t->hdr.n_threads;
    uint64_t nobj = t->hdr.n_objects ? t->hdr.n_objects : 1;
    size_t ids_bytes = (size_t)nobj * sizeof(struct idstate);
    size_t per_thread_bytes = (size_t)nt * 2 * sizeof(uint64_t);
    struct idstate *ids = os_map_lazy(ids_bytes);
    uint64_t *words_of = os_map_lazy(per_thread_bytes); /* words per trace thread, then write cursor */
    uint64_t *widx = words_of + nt;                      /* replay thread index + 1, 0 = no ops */
    int rc = -1;
    if (!ids || !words_of) {
        snprintf(err, errlen, "cannot map %zu bytes to decode %llu objects", ids_bytes, (unsigned long long)nobj);
        goto out;
    }

    /* Pass 1: threads with ops, stream sizes, first user of each id. */
    const uint8_t *p = trace_body(t), *end = trace_end(t);
    struct trace_rec r;
    while (p < end && (p = trace_decode(p, end, &r))) {
        if (r.kind == TR_THREAD_START || r.kind == TR_THREAD_EXIT) {
            words_of[r.thread] += 2;
            continue;
        }
        if (!trace_kind_is_op(r.kind)) {
            m->n_markers++;
            continue;
        }
        struct idstate *d = &ids[r.id];
        if (d->last && d->last != r.thread + 1)
            words_of[r.thread] += 2; /* MTS_WAIT */
        d->last = r.thread + 1;
        if (!d->owner)
            d->owner = r.thread + 1;
        words_of[r.thread] += op_words(&r, short_form(&r, r.id));
        widx[r.thread] = 1;
    }
    for (uint32_t i = 0; i < nt; i++)
        if (widx[i])
            widx[i] = ++m->n_threads;
    if (m->n_threads > MTS_MAX_THREADS) {
        snprintf(err, errlen, "%u threads have ops; multi-thread replay runs at most %u", m->n_threads, MTS_MAX_THREADS);
        goto out;
    }

    /* Slot layout: each replay thread's first-used ids together, each group
     * starting on a multiple of 8 slots (8 x 24 bytes = 3 cache lines). Ids never
     * used get no slot. */
    uint64_t *group = os_map_lazy((size_t)(m->n_threads + 1) * sizeof(uint64_t));
    if (!group) {
        snprintf(err, errlen, "out of memory decoding the trace");
        goto out;
    }
    for (uint64_t i = 0; i < nobj; i++)
        if (ids[i].owner)
            group[widx[ids[i].owner - 1] - 1]++;
    uint64_t next = 0;
    for (uint32_t g = 0; g < m->n_threads; g++) {
        uint64_t n = group[g];
        group[g] = next;
        next += (n + 7) & ~(uint64_t)7;
    }
    m->n_slots = next ? next : 1;
    for (uint64_t i = 0; i < nobj; i++) {
        if (ids[i].owner)
            ids[i].slot = group[widx[ids[i].owner - 1] - 1]++;
        ids[i].last = 0;
    }
    os_unmap(group, (size_t)(m->n_threads + 1) * sizeof(uint64_t));
    /* A slot table past the short form's 29-bit field would need more ops than
     * the stream limit allows anyway (every id needs an allocating op). */
    uint64_t total = 0;
    for (uint32_t i = 0; i < nt; i++)
        if (widx[i])
            total += words_of[i] + 2 * m->n_markers;
    if (total > MTS_MAX_BYTES / sizeof(uint64_t) || m->n_slots > OPS_ID_MAX) {
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
        cursor += words_of[i] + 2 * m->n_markers; /* an upper bound: see op_words */
    }

    /* Pass 2: write the streams. */
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
        struct idstate *d = &ids[r.id];
        uint64_t *q = w->words + w->n_words;
        if (d->last && d->last != r.thread + 1) {
            *q++ = MTS_WAIT;
            *q++ = d->seq;
            w->dep_ops++;
        }
        q = emit_op(q, &r, d->slot);
        w->n_words = (size_t)(q - w->words);
        d->seq++;
        d->last = r.thread + 1;
        w->ops++;
        w->count[r.kind]++;
    }
    rc = 0;
out:
    os_unmap(ids, ids_bytes);
    os_unmap(words_of, per_thread_bytes);
    if (rc != 0)
        mtstream_free(m);
    return rc;
}
