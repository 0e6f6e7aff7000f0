/* raw_read.c - see raw_read.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../os.h"
#include "raw_read.h"

static int fail(char *err, size_t len, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, const char *path, const char *fmt, ...)
{
    int n = snprintf(err, len, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < len)
        vsnprintf(err + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int by_thread_seq(const void *a, const void *b)
{
    const struct raw_chunk_ref *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int raw_open(const char *path, struct raw_log *l, char *err, size_t err_len)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    const void *data;
    if (os_map_file(path, &data, &l->size) != 0)
        return fail(err, err_len, path, "cannot read: %s", strerror(errno));
    l->data = data;
    if (l->size < RAW_HEADER_BYTES) {
        raw_close(l);
        return fail(err, err_len, path, "not a raw recorder log (only %zu bytes)", l->size);
    }
    memcpy(&l->hdr, l->data, sizeof l->hdr);
    if (l->hdr.magic != RAW_FILE_MAGIC || l->hdr.version != RAW_VERSION || l->hdr.chunk_max != RAW_CHUNK_MAX) {
        raw_close(l);
        return fail(err, err_len, path, "not a version %d raw recorder log", RAW_VERSION);
    }
    l->hdr.exe[sizeof l->hdr.exe - 1] = '\0';
    size_t cap = 0;
    uint64_t off = RAW_HEADER_BYTES;
    while (off + sizeof(struct raw_chunk_hdr) <= l->size) {
        struct raw_chunk_hdr ch;
        memcpy(&ch, l->data + off, sizeof ch);
        if (ch.magic == 0)
            break; /* the end of the chunks handed out */
        if (ch.magic != RAW_CHUNK_MAGIC || ch.thread >= l->hdr.threads || ch.bytes < RAW_CHUNK_MIN ||
            ch.bytes > RAW_CHUNK_MAX || ch.bytes % 4096 || ch.bytes > l->size - off) {
            raw_close(l);
            return fail(err, err_len, path, "byte %llu: corrupt chunk header", (unsigned long long)off);
        }
        if (l->n_chunks == cap) {
            cap = cap ? cap * 2 : 64;
            struct raw_chunk_ref *v = realloc(l->chunks, cap * sizeof *v);
            if (!v) {
                raw_close(l);
                return fail(err, err_len, path, "out of memory");
            }
            l->chunks = v;
        }
        l->chunks[l->n_chunks++] = (struct raw_chunk_ref){ .thread = ch.thread, .seq = ch.seq, .off = off, .bytes = ch.bytes };
        if (ch.thread + 1 > l->n_threads)
            l->n_threads = ch.thread + 1;
        off += ch.bytes;
    }
    qsort(l->chunks, l->n_chunks, sizeof *l->chunks, by_thread_seq);
    return 0;
}

void raw_close(struct raw_log *l)
{
    if (l->data)
        os_unmap_file(l->data, l->size);
    free(l->chunks);
    memset(l, 0, sizeof *l);
}

/* ---- the merge ---- */

static uint64_t cur_ts(const struct raw_merge *m, uint32_t t)
{
    return m->cur[t].p->ts_op >> RAW_TS_SHIFT;
}

static int before(const struct raw_merge *m, uint32_t a, uint32_t b)
{
    uint64_t x = cur_ts(m, a), y = cur_ts(m, b);
    return x < y || (x == y && a < b);
}

static void sift_down(struct raw_merge *m, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->heap_len && before(m, m->heap[l], m->heap[best]))
            best = l;
        if (r < m->heap_len && before(m, m->heap[r], m->heap[best]))
            best = r;
        if (best == i)
            return;
        uint32_t tmp = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = tmp;
        i = best;
    }
}

/* Move thread t's cursor to its next written record; 0 when it has none left. */
static int cursor_fill(const struct raw_log *l, struct raw_cursor *c)
{
    for (;;) {
        if (c->p < c->end && c->p->ts_op != 0)
            return 1;
        /* an unwritten slot ends the chunk: the thread moved on, exited, or the process ended */
        if (c->next_chunk >= c->last_chunk)
            return 0;
        const struct raw_chunk_ref *ch = &l->chunks[c->next_chunk++];
        const struct raw_rec *base = (const struct raw_rec *)(l->data + ch->off);
        c->p = base + 1;
        c->end = base + ch->bytes / sizeof *base;
    }
}

int raw_merge_init(struct raw_merge *m, const struct raw_log *l)
{
    memset(m, 0, sizeof *m);
    m->log = l;
    uint32_t n = l->n_threads ? l->n_threads : 1;
    m->cur = calloc(n, sizeof *m->cur);
    m->heap = calloc(n, sizeof *m->heap);
    if (!m->cur || !m->heap) {
        raw_merge_free(m);
        return -1;
    }
    for (size_t i = 0; i < l->n_chunks;) {
        size_t j = i;
        while (j < l->n_chunks && l->chunks[j].thread == l->chunks[i].thread)
            j++;
        struct raw_cursor *c = &m->cur[l->chunks[i].thread];
        c->next_chunk = i;
        c->last_chunk = j;
        if (cursor_fill(l, c))
            m->heap[m->heap_len++] = l->chunks[i].thread;
        i = j;
    }
    for (uint32_t i = m->heap_len / 2; i-- > 0;)
        sift_down(m, i);
    return 0;
}

int raw_merge_next(struct raw_merge *m, struct raw_rec *r, uint32_t *thread)
{
    if (m->heap_len == 0)
        return 0;
    uint32_t t = m->heap[0];
    struct raw_cursor *c = &m->cur[t];
    *r = *c->p++;
    *thread = t;
    if (!cursor_fill(m->log, c))
        m->heap[0] = m->heap[--m->heap_len];
    sift_down(m, 0);
    return 1;
}

void raw_merge_free(struct raw_merge *m)
{
    free(m->cur);
    free(m->heap);
    memset(m, 0, sizeof *m);
}
