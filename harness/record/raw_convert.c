/* raw_convert.c - a raw recorder log -> a v1 trace.
 *
 * The threads' records are merged by timestamp (raw_read.c). Addresses become
 * objects: an allocation binds its result address to a new object number (the
 * writer turns those into dense ids), a free unbinds it, so an address freed and
 * handed out again is a new object. A realloc unbinds its old address at its first
 * record (stamped before the call: from then on glibc may give the address to
 * another thread) and binds the result at its second (stamped after).
 *
 * What cannot be replayed is left out and counted: frees of pointers never seen
 * allocated (allocated before the recorder started, by the recorder's bootstrap,
 * or in a call that was not recorded), failed allocations, and requests the format
 * cannot hold. An allocation that returns an address still bound to a live object
 * means that object's free was not recorded (a late free of an exited thread, or
 * one in a signal handler that interrupted the recorder): it is freed just before,
 * on the allocating thread, and counted as implied.
 *
 * Program threads become trace threads 1:1, numbered in order of their first
 * call, so a free of an object allocated by a thread that has since ended is still
 * a cross-thread free. Only past the format's 65 536 threads are the numbers of
 * ended threads reused (last ended first). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr_map.h"
#include "raw_convert.h"

#define NO_OBJ UINT64_MAX
#define NO_THREAD UINT32_MAX

struct pending { /* a realloc between its two records */
    int active;
    uint64_t old_ptr, size, obj;
};

struct conv {
    struct trace_writer *w;
    struct raw_convert_stats *s;
    struct addr_map map;
    uint64_t next_obj;
    uint32_t *tnum;           /* program thread -> trace thread, NO_THREAD if none */
    struct pending *pend;     /* per program thread */
    uint32_t *free_nums;      /* trace thread numbers of exited threads (a stack) */
    uint32_t n_free, next_num;
    uint8_t *running;         /* per trace thread: the writer has it running */
    char *err;
    size_t err_len;
};

static int wfail(struct conv *c)
{
    snprintf(c->err, c->err_len, "%s", c->w->err);
    return -1;
}

static int oom(struct conv *c)
{
    snprintf(c->err, c->err_len, "out of memory");
    return -1;
}

static uint32_t trace_thread(struct conv *c, uint32_t t)
{
    if (c->tnum[t] == NO_THREAD) {
        c->tnum[t] = c->next_num < TRACE_MAX_THREADS || !c->n_free ? c->next_num++ : c->free_nums[--c->n_free];
        c->s->threads++;
    }
    return c->tnum[t];
}

static int emitted(struct conv *c, uint32_t tt, unsigned kind)
{
    c->running[tt] = 1;
    c->s->ops[kind]++;
    return 0;
}

static int do_free(struct conv *c, uint32_t tt, uint64_t obj)
{
    if (tw_free_obj(c->w, tt, obj) != 0)
        return wfail(c);
    return emitted(c, tt, TR_FREE);
}

/* A new object at addr (non-zero); *obj gets its number. */
static int bind_new(struct conv *c, uint32_t tt, uint64_t addr, uint64_t *obj)
{
    uint64_t old;
    if (addr_map_take(&c->map, addr, &old)) {
        c->s->implied_frees++;
        if (do_free(c, tt, old) != 0)
            return -1;
    }
    *obj = c->next_obj++;
    return addr_map_put(&c->map, addr, *obj) == 0 ? 0 : oom(c);
}

static int rebind(struct conv *c, uint32_t tt, uint64_t addr, uint64_t obj)
{
    uint64_t old;
    if (addr_map_take(&c->map, addr, &old)) {
        c->s->implied_frees++;
        if (do_free(c, tt, old) != 0)
            return -1;
    }
    return addr_map_put(&c->map, addr, obj) == 0 ? 0 : oom(c);
}

static uint64_t pow2_ceil(uint64_t a)
{
    if (a <= 1)
        return 1;
    return (a & (a - 1)) ? (uint64_t)1 << (64 - __builtin_clzll(a)) : a;
}

static int on_alloc(struct conv *c, uint32_t tt, const struct raw_rec *r, unsigned op)
{
    if (!r->a) {
        c->s->failed++;
        return 0;
    }
    uint64_t align = op == RAW_ALIGNED ? pow2_ceil(r->c) : 0; /* glibc rounds up, as here */
    int fits = op == RAW_CALLOC ? (!r->c || r->b <= TRACE_MAX_SIZE / r->c) : r->b <= TRACE_MAX_SIZE;
    if (!fits || align > ((uint64_t)1 << TRACE_MAX_ALIGN_LOG2)) {
        c->s->skipped++; /* its free will be a dropped free */
        uint64_t old;
        if (addr_map_take(&c->map, r->a, &old)) {
            c->s->implied_frees++;
            return do_free(c, tt, old);
        }
        return 0;
    }
    uint64_t obj;
    if (bind_new(c, tt, r->a, &obj) != 0)
        return -1;
    int rc = op == RAW_MALLOC  ? tw_malloc(c->w, tt, obj, r->b)
             : op == RAW_CALLOC ? tw_calloc(c->w, tt, obj, r->b, r->c)
                                : tw_aligned(c->w, tt, obj, align, r->b);
    if (rc != 0)
        return wfail(c);
    return emitted(c, tt, op == RAW_MALLOC ? TR_MALLOC : op == RAW_CALLOC ? TR_CALLOC : TR_ALIGNED);
}

static int on_free(struct conv *c, uint32_t tt, uint64_t ptr)
{
    uint64_t obj;
    if (!addr_map_take(&c->map, ptr, &obj)) {
        c->s->dropped_frees++;
        return 0;
    }
    return do_free(c, tt, obj);
}

static int on_realloc_begin(struct conv *c, uint32_t t, const struct raw_rec *r)
{
    struct pending *p = &c->pend[t];
    p->active = 1;
    p->old_ptr = r->a;
    p->size = r->b;
    p->obj = NO_OBJ;
    if (r->a && !addr_map_take(&c->map, r->a, &p->obj))
        p->obj = NO_OBJ; /* allocated before the recorder saw it */
    return 0;
}

static int on_realloc_end(struct conv *c, uint32_t t, uint32_t tt, const struct raw_rec *r)
{
    struct pending *p = &c->pend[t];
    if (!p->active)
        return 0; /* its first record was not written (cannot happen in a whole log) */
    p->active = 0;
    uint64_t q = r->a;
    if (p->old_ptr && p->size == 0) { /* glibc: realloc(p, 0) frees p */
        if (p->obj == NO_OBJ)
            c->s->dropped_frees++;
        else if (do_free(c, tt, p->obj) != 0)
            return -1;
        if (!q)
            return 0;
        struct raw_rec m = { .a = q, .b = 0 }; /* an allocator that returns a block instead */
        return on_alloc(c, tt, &m, RAW_MALLOC);
    }
    if (!q) { /* failed: the old block is unchanged */
        c->s->failed++;
        return p->obj == NO_OBJ ? 0 : rebind(c, tt, p->old_ptr, p->obj);
    }
    if (p->obj == NO_OBJ || p->size > TRACE_MAX_SIZE) {
        /* realloc(NULL, n) is malloc; so, as best we can, is a realloc of an unknown block */
        if (p->old_ptr)
            c->s->unknown_reallocs++;
        struct raw_rec m = { .a = q, .b = p->size };
        return on_alloc(c, tt, &m, RAW_MALLOC);
    }
    if (rebind(c, tt, q, p->obj) != 0)
        return -1;
    if (tw_realloc(c->w, tt, p->obj, p->size) != 0)
        return wfail(c);
    return emitted(c, tt, TR_REALLOC);
}

static int on_thread_exit(struct conv *c, uint32_t t)
{
    uint32_t tt = c->tnum[t];
    c->tnum[t] = NO_THREAD;
    if (c->running[tt]) {
        if (tw_thread_exit(c->w, tt) != 0)
            return wfail(c);
        c->running[tt] = 0;
    }
    c->free_nums[c->n_free++] = tt;
    return 0;
}

static int idle_gap(struct conv *c, const struct raw_convert_opts *o, uint64_t gap_ticks)
{
    double ms = (double)gap_ticks / o->ticks_per_ms;
    if (!(ms > (double)o->idle_gap_ms))
        return 0;
    uint64_t n = ms >= TRACE_MAX_IDLE_MS ? TRACE_MAX_IDLE_MS : (uint64_t)ms;
    if (tw_idle(c->w, n) != 0)
        return wfail(c);
    c->s->idle_markers++;
    c->s->idle_ms += n;
    return 0;
}

static int convert(struct conv *c, const struct raw_log *l, const struct raw_convert_opts *o)
{
    struct raw_merge m;
    if (raw_merge_init(&m, l) != 0)
        return oom(c);
    struct raw_rec r;
    uint32_t t;
    uint64_t last_ts = 0;
    int rc = 0;
    while (rc == 0 && raw_merge_next(&m, &r, &t)) {
        c->s->records++;
        uint64_t ts = r.ts_op >> RAW_TS_SHIFT;
        unsigned op = (unsigned)(r.ts_op & 0xff);
        if (o->idle_gap_ms && last_ts && ts > last_ts && (rc = idle_gap(c, o, ts - last_ts)) != 0)
            break;
        last_ts = ts > last_ts ? ts : last_ts;
        uint32_t tt = trace_thread(c, t);
        switch (op) {
        case RAW_MALLOC:
        case RAW_CALLOC:
        case RAW_ALIGNED:
            rc = on_alloc(c, tt, &r, op);
            break;
        case RAW_FREE:
            rc = on_free(c, tt, r.a);
            break;
        case RAW_REALLOC_BEGIN:
            rc = on_realloc_begin(c, t, &r);
            break;
        case RAW_REALLOC_END:
            rc = on_realloc_end(c, t, tt, &r);
            break;
        case RAW_THREAD_EXIT:
            rc = on_thread_exit(c, t);
            break;
        default:
            snprintf(c->err, c->err_len, "%s: corrupt record (op %u) on thread %u", l->path, op, t);
            rc = -1;
        }
    }
    raw_merge_free(&m);
    return rc;
}

int raw_convert(const struct raw_log *l, const struct raw_convert_opts *o, struct trace_writer *w,
                struct raw_convert_stats *s, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    s->nested = l->hdr.nested;
    s->after_exit = l->hdr.after_exit;
    s->lost = l->hdr.lost;
    struct conv c = { .w = w, .s = s, .err = err, .err_len = err_len };
    addr_map_init(&c.map);
    size_t n = l->n_threads ? l->n_threads : 1;
    c.tnum = malloc(n * sizeof *c.tnum);
    c.pend = calloc(n, sizeof *c.pend);
    c.free_nums = malloc(n * sizeof *c.free_nums);
    c.running = calloc(n, 1);
    int rc;
    if (!c.tnum || !c.pend || !c.free_nums || !c.running) {
        rc = oom(&c);
    } else {
        memset(c.tnum, 0xff, n * sizeof *c.tnum);
        c.running[0] = 1; /* trace thread 0 runs from the start */
        rc = convert(&c, l, o);
    }
    addr_map_free(&c.map);
    free(c.tnum);
    free(c.pend);
    free(c.free_nums);
    free(c.running);
    return rc;
}
