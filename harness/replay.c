/* replay.c - the single-thread replay engine (multi-thread traces go to replay_mt.c).
 *
 * The hot loop reads one pre-decoded op (opstream.h), calls the allocator through
 * the function table, touches the new memory and updates the slot table and live
 * bytes. It makes no syscall and no libc allocation: RSS samples, rusage snapshots and idle
 * sleeps happen in cold helpers whose time is measured and excluded from wall_ns.
 * The loop is instantiated once per (latency, dry, touch) combination so that the
 * modes cost nothing when they are off. */
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "opstream.h"
#include "os.h"
#include "replay_ops.h"


struct ctx {
    struct allocator A; /* the allocator with fallbacks filled in */
    struct replay_slot *slots;
    struct replay_result *r;
    const struct replay_opts *o;
    struct hist *lat;
    uint64_t overhead;
    uint64_t live, live_objs;
    uint64_t op, countdown;
    uint64_t t_start, excluded_ns;
    struct os_usage phase_usage;
    uint64_t phase_t;
    /* the op stream: decoded words, and where decoding resumes in the trace */
    uint64_t *words;
    size_t words_cap, n_words;
    const uint8_t *next_rec, *trace_base, *trace_end;
};

/* ---- cold paths: sampling, markers ---- */

static uint64_t rss_now(const struct ctx *c)
{
    uint64_t rss = os_rss_anon_bytes();
    return rss > c->r->baseline_rss ? rss - c->r->baseline_rss : 0;
}

/* Record one sample stamped with replay time `when`; the caller accounts for
 * the time the sample itself takes. */
static void take_sample(struct ctx *c, enum sample_event ev, uint32_t index, uint64_t when)
{
    struct replay_result *r = c->r;
    uint64_t rss = rss_now(c);
    if (r->n_samples < r->samples_cap) {
        struct sample *s = &r->samples[r->n_samples++];
        s->op = c->op;
        s->t_ns = when;
        s->rss = rss;
        s->live = c->live;
        s->event = ev;
        s->index = index;
    }
    if (rss > r->peak_rss_sampled)
        r->peak_rss_sampled = rss;
    if (r->n_phases && rss > r->phases[r->n_phases - 1].peak_rss)
        r->phases[r->n_phases - 1].peak_rss = rss;
}

__attribute__((noinline, cold)) static void checkpoint(struct ctx *c)
{
    uint64_t t = os_now_ns();
    take_sample(c, EV_OPS, 0, t - c->t_start - c->excluded_ns);
    c->countdown = c->r->sample_interval;
    c->excluded_ns += os_now_ns() - t;
}

static void phase_close(struct ctx *c, uint64_t when)
{
    struct replay_result *r = c->r;
    if (!r->n_phases)
        return;
    struct phase_stat *p = &r->phases[r->n_phases - 1];
    struct os_usage u;
    os_usage_now(&u);
    p->ops = c->op - p->first_op;
    p->wall_ns = when - c->phase_t;
    p->minor_faults = u.minor_faults - c->phase_usage.minor_faults;
    p->major_faults = u.major_faults - c->phase_usage.major_faults;
    p->rss_end = rss_now(c);
    p->live_end = c->live;
}

static void phase_open(struct ctx *c, const char *name, size_t len, uint64_t when)
{
    struct replay_result *r = c->r;
    if (r->n_phases >= r->phases_cap)
        return;
    struct phase_stat *p = &r->phases[r->n_phases++];
    memset(p, 0, sizeof *p);
    memcpy(p->name, name, len < TRACE_MAX_PHASE_NAME ? len : TRACE_MAX_PHASE_NAME);
    p->first_op = c->op;
    os_usage_now(&c->phase_usage);
    c->phase_t = when;
    p->rss_start = p->peak_rss = rss_now(c);
}

__attribute__((noinline, cold)) static void marker(struct ctx *c, const struct trace_rec *rec)
{
    struct replay_result *r = c->r;
    uint64_t t = os_now_ns(), when = t - c->t_start - c->excluded_ns;
    if (rec->kind == TR_PHASE) {
        phase_close(c, when);
        /* an opening phase that saw no ops says nothing: drop it */
        if (r->n_phases == 1 && r->phases[0].ops == 0 && strcmp(r->phases[0].name, "start") == 0)
            r->n_phases = 0;
        take_sample(c, EV_PHASE, (uint32_t)r->n_phases, when);
        phase_open(c, rec->name, rec->name_len, when);
    } else if (rec->kind == TR_IDLE && r->n_idles < r->idles_cap) {
        struct idle_stat *is = &r->idles[r->n_idles];
        take_sample(c, EV_IDLE_BEFORE, (uint32_t)r->n_idles, when);
        is->op = c->op;
        is->ms = rec->ms;
        is->rss_before = r->samples[r->n_samples - 1].rss;
        is->live = c->live;
        if (c->o->release_at_idle && c->A.release && !c->o->dry) {
            uint64_t t0 = os_now_ns();
            is->release_rc = c->A.release();
            is->release_ns = os_now_ns() - t0;
        }
        os_sleep_ms(rec->ms);
        take_sample(c, EV_IDLE_AFTER, (uint32_t)r->n_idles, when);
        is->rss_after = r->samples[r->n_samples - 1].rss;
        r->n_idles++;
    }
    /* thread start/exit: single-thread replay runs everything on this thread */
    c->excluded_ns += os_now_ns() - t;
}

/* ---- the hot loop ---- */

/* Hot state lives in locals: stores to the slot table could alias fields of
 * *c, which would force every counter through memory on every op. */
struct hot {
    uint64_t live, live_objs, op, countdown, peak_live, peak_objs;
};

/* Passed by value, so that the hot state's address never escapes the loop. */
static void hot_save(struct ctx *c, struct hot h)
{
    c->live = h.live;
    c->live_objs = h.live_objs;
    c->op = h.op;
    c->countdown = h.countdown;
    if (h.peak_live > c->r->peak_live_bytes)
        c->r->peak_live_bytes = h.peak_live;
    if (h.peak_objs > c->r->peak_live_objects)
        c->r->peak_live_objects = h.peak_objs;
}

__attribute__((noinline, cold)) static int alloc_failed(struct ctx *c, struct hot h, unsigned kind, uint64_t size)
{
    hot_save(c, h);
    c->r->failed_op = h.op;
    snprintf(c->r->error, sizeof c->r->error, "op %llu: %s of %llu bytes returned NULL", (unsigned long long)h.op,
             trace_kind_name(kind), (unsigned long long)size);
    return -1;
}

/* One op: the shared allocator call (replay_ops.h) and this engine's counters. */
static inline __attribute__((always_inline)) int do_op(struct ctx *c, struct replay_slot *slots, struct hot *h,
                                                       unsigned kind, uint64_t id, uint64_t size, uint64_t a,
                                                       const int LAT, const int DRY, const enum touch_mode TOUCH)
{
    int64_t dlive;
    int dobjs;
    uint64_t req;
    if (__builtin_expect(replay_call(&c->A, &slots[id], kind, size, a, c->lat, c->overhead, &dlive, &dobjs, &req,
                                     LAT, DRY, TOUCH) != 0,
                         0))
        return alloc_failed(c, *h, kind, req);
    h->live += (uint64_t)dlive;
    h->live_objs += (uint64_t)(int64_t)dobjs;
    if (dobjs > 0 && h->live_objs > h->peak_objs)
        h->peak_objs = h->live_objs;
    h->op++;
    if (h->live > h->peak_live)
        h->peak_live = h->live;
    if (__builtin_expect(--h->countdown == 0, 0)) {
        hot_save(c, *h);
        checkpoint(c);
        h->countdown = c->countdown;
    }
    return 0;
}

/* Decode the next chunk of the trace into the op stream. The first chunk is
 * decoded before the baseline; later ones (huge traces) in here, off the clock. */
__attribute__((noinline, cold)) static void refill(struct ctx *c)
{
    uint64_t t = os_now_ns();
    c->n_words = opstream_decode(&c->next_rec, c->trace_end, c->trace_base, c->words, c->words_cap);
    c->r->decode_chunks++;
    c->excluded_ns += os_now_ns() - t;
}

static inline __attribute__((always_inline)) int run_loop(struct ctx *c, const int LAT, const int DRY,
                                                          const enum touch_mode TOUCH)
{
    struct hot h = { c->live, c->live_objs, c->op, c->countdown, c->r->peak_live_bytes, c->r->peak_live_objects };
    struct replay_slot *const slots = c->slots;
    for (;;) {
        const uint64_t *w = c->words, *wend = c->words + c->n_words;
        while (w < wend) {
            uint64_t x = *w++, a = 0;
            unsigned kind = ops_kind(x);
            uint64_t id = ops_id(x), size = ops_size(x);
            if (kind == TR_CALLOC || kind == TR_ALIGNED)
                a = *w++;
            if (__builtin_expect(kind == OPS_ESCAPE, 0)) {
                struct trace_rec rec;
                const uint8_t *at = c->trace_base + *w++;
                if (!trace_decode(at, c->trace_end, &rec)) {
                    hot_save(c, h);
                    snprintf(c->r->error, sizeof c->r->error, "undecodable record after validation (op %llu)",
                             (unsigned long long)h.op);
                    return -1;
                }
                if (!trace_kind_is_op(rec.kind)) {
                    hot_save(c, h);
                    marker(c, &rec);
                    continue;
                }
                kind = rec.kind;
                id = rec.id;
                size = kind == TR_CALLOC ? rec.elem : rec.size;
                a = kind == TR_CALLOC ? rec.nmemb : rec.align;
            }
            if (__builtin_expect(do_op(c, slots, &h, kind, id, size, a, LAT, DRY, TOUCH) != 0, 0))
                return -1;
        }
        if (c->next_rec >= c->trace_end)
            break;
        hot_save(c, h);
        refill(c);
    }
    hot_save(c, h);
    return 0;
}

#define LOOP(LAT, DRY, TOUCH)                                                                                    \
    __attribute__((noinline)) static int loop_##LAT##_##DRY##_##TOUCH(struct ctx *c)                             \
    {                                                                                                             \
        return run_loop(c, LAT, DRY, TOUCH);                                                                      \
    }
LOOP(0, 0, TOUCH_NONE)
LOOP(0, 0, TOUCH_PAGES)
LOOP(0, 0, TOUCH_FULL)
LOOP(1, 0, TOUCH_NONE)
LOOP(1, 0, TOUCH_PAGES)
LOOP(1, 0, TOUCH_FULL)
LOOP(0, 1, TOUCH_NONE)
LOOP(1, 1, TOUCH_NONE)

typedef int (*loop_fn)(struct ctx *);

static loop_fn pick_loop(const struct replay_opts *o)
{
    if (o->dry)
        return o->latency ? loop_1_1_TOUCH_NONE : loop_0_1_TOUCH_NONE;
    static const loop_fn table[2][3] = {
        { loop_0_0_TOUCH_NONE, loop_0_0_TOUCH_PAGES, loop_0_0_TOUCH_FULL },
        { loop_1_0_TOUCH_NONE, loop_1_0_TOUCH_PAGES, loop_1_0_TOUCH_FULL },
    };
    return table[!!o->latency][o->touch];
}

/* ---- set-up and figures ---- */



/* Words for the op stream: the whole trace when it fits in 256 MiB (two words per
 * record at most), else chunks of that size. */
#define OPSTREAM_CHUNK_WORDS ((size_t)32 << 20)

static size_t words_cap(const struct trace_summary *s, const struct replay_opts *o)
{
    uint64_t need = 2 * s->n_records + 2;
    size_t chunk = o->chunk_words >= 2 ? o->chunk_words : OPSTREAM_CHUNK_WORDS;
    return need < chunk ? (size_t)need : chunk;
}

static size_t slot_bytes(const struct trace *t)
{
    return (size_t)(t->hdr.n_objects ? t->hdr.n_objects : 1) * sizeof(struct replay_slot);
}

/* Free what the trace left live: not measured, but it keeps leak checkers quiet
 * and makes in-process replays independent. */
static void free_leftovers(struct ctx *c, uint32_t n)
{
    if (c->o->dry)
        return;
    for (uint32_t i = 0; i < n; i++)
        replay_free_leftover(&c->A, &c->slots[i]);
}

int replay_run(const struct allocator *a, const struct trace *t, const struct trace_summary *s,
               const struct replay_opts *o, struct replay_result *r)
{
    if (s->threads_used > 1)
        return replay_mt_run(a, t, s, o, r);
    memset(r, 0, sizeof *r);
    r->frag_peak = r->frag_mean = r->frag_end = NAN; /* until measured */
    r->stats_rc = -1;
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.o = o;
    replay_fill_fallbacks(&c.A, a);
    if (!o->dry && (!a->malloc || !a->free || (s->count[TR_ALIGNED] && !a->aligned_alloc))) {
        snprintf(r->error, sizeof r->error, "allocator %s lacks an operation this trace needs", a->name);
        return -1;
    }

    /* Harness memory: mapped and pre-faulted before the baseline. */
    uint64_t checkpoints = o->checkpoints ? o->checkpoints : 1;
    r->sample_interval = s->n_ops / checkpoints ? s->n_ops / checkpoints : 1;
    c.slots = os_map(slot_bytes(t));
    c.words_cap = words_cap(s, o);
    c.words = os_map(c.words_cap * sizeof *c.words);
    r->samples = replay_map_array(s->n_ops / r->sample_interval + 2 * s->count[TR_IDLE] + s->count[TR_PHASE] + 4,
                           sizeof *r->samples, &r->samples_cap);
    r->phases = replay_map_array(s->count[TR_PHASE] + 1, sizeof *r->phases, &r->phases_cap);
    r->idles = replay_map_array(s->count[TR_IDLE], sizeof *r->idles, &r->idles_cap);
    if (o->latency) {
        r->lat = os_map(TR_KIND_COUNT * sizeof(struct hist));
        if (r->lat)
            for (unsigned k = 0; k < TR_KIND_COUNT; k++)
                hist_reset(&r->lat[k]);
    }
    int rc = -1;
    if (!c.slots || !c.words || !r->samples || !r->phases || !r->idles || (o->latency && !r->lat)) {
        snprintf(r->error, sizeof r->error, "cannot map harness memory for %u objects", t->hdr.n_objects);
        goto out;
    }
    c.lat = r->lat;
    c.trace_base = t->data;
    c.trace_end = trace_end(t);
    c.next_rec = trace_body(t);
    c.n_words = opstream_decode(&c.next_rec, c.trace_end, c.trace_base, c.words, c.words_cap);
    r->decode_chunks = 1;
    if (o->latency) {
        if (tsc_calibrate(&r->tsc) != 0) {
            snprintf(r->error, sizeof r->error, "--latency needs an invariant TSC with rdtscp");
            goto out;
        }
        c.overhead = r->tsc.overhead_median;
    }
    if (os_rss_open() != 0) {
        snprintf(r->error, sizeof r->error, "cannot open /proc/self/statm");
        goto out;
    }

    /* Baseline: after the harness's set-up, before the allocator's init. */
    os_reset_hwm();
    r->baseline_rss = os_rss_anon_bytes();
    struct os_usage u0, u1, u2;
    os_usage_now(&u0);
    uint64_t t0 = os_now_ns();
    if (!o->dry && a->init && a->init(o->alloc_opts) != 0) {
        snprintf(r->error, sizeof r->error, "allocator %s: init failed", a->name);
        goto out;
    }
    r->init_ns = os_now_ns() - t0;
    os_usage_now(&u1);
    r->init_minor_faults = u1.minor_faults - u0.minor_faults;

    c.countdown = r->sample_interval;
    c.t_start = os_now_ns();
    take_sample(&c, EV_START, 0, 0);
    phase_open(&c, "start", 5, 0);
    c.excluded_ns = os_now_ns() - c.t_start; /* the first sample is not replay time */
    os_usage_now(&u1);

    rc = pick_loop(o)(&c);

    uint64_t t_end = os_now_ns();
    os_usage_now(&u2);
    r->wall_ns = t_end - c.t_start - c.excluded_ns;
    r->excluded_ns = c.excluded_ns;
    phase_close(&c, r->wall_ns);
    take_sample(&c, EV_END, 0, r->wall_ns);

    r->ops = c.op;
    r->records = s->n_records;
    memcpy(r->count, s->count, sizeof r->count);
    r->final_live_bytes = c.live;
    replay_end_figures(r, &u1, &u2);

    alloc_stats_clear(&r->stats);
    r->stats_rc = (!o->dry && a->stats) ? a->stats(&r->stats) : -1;
    free_leftovers(&c, t->hdr.n_objects);
out:
    os_unmap(c.slots, slot_bytes(t));
    os_unmap(c.words, c.words_cap * sizeof *c.words);
    return rc;
}

void replay_result_free(struct replay_result *r)
{
    os_unmap(r->samples, r->samples_cap * sizeof *r->samples);
    os_unmap(r->phases, r->phases_cap * sizeof *r->phases);
    os_unmap(r->idles, r->idles_cap * sizeof *r->idles);
    if (r->lat)
        os_unmap(r->lat, TR_KIND_COUNT * sizeof(struct hist));
    if (r->threads) {
        if (r->threads[0].lat) /* one mapping for every thread's histograms */
            os_unmap(r->threads[0].lat, r->n_threads * (TR_FREE + 1) * sizeof(struct hist));
        os_unmap(r->threads, r->threads_cap * sizeof *r->threads);
    }
    memset(r, 0, sizeof *r);
}
