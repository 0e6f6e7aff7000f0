/* replay_mt.c - the multi-thread replay engine: traces whose ops are on more than
 * one thread (replay_run hands them over; one-thread traces keep replay.c's loop).
 *
 * Threads. One replay thread (a pthread on a pre-faulted harness stack) per trace
 * thread with ops; a trace thread that exits and starts again keeps its replay
 * thread. The adapter's thread_init is called on that thread where the trace
 * starts the thread (and at the beginning for thread 0, which runs from the
 * start), thread_exit where the trace ends it. The main thread replays nothing:
 * it is the coordinator (markers and RSS sampling, below).
 *
 * Order. Each replay thread runs its own ops in trace order (mtstream.h). Across
 * threads only two things are ordered, so threads otherwise run freely:
 *  - an op whose object id was last used by another thread (a cross-thread free or
 *    realloc, or an id reused after another thread freed it) waits until that op
 *    has happened: every op bumps a per-slot version with a release store (a plain
 *    store on x86, to the line the op writes anyway), and the waiting op spins on
 *    it (pause, then sched_yield) until it reaches the count decoded for it. Ops
 *    with no cross-thread predecessor never look at another thread's state.
 *  - markers (phase, idle) are barriers: every replay thread finishes its ops
 *    before the marker and parks; the coordinator then samples, closes and opens
 *    phases, sleeps for idle (and releases with --release-at-idle, on the
 *    coordinator thread); then all go on. The end of the trace is a last barrier,
 *    so the final sample and the allocator's stats see every thread still alive.
 * No deadlock on a validated trace: take the earliest op or marker (in trace order)
 * that has not happened. Everything before it in its thread has happened, and an
 * op waits only for an earlier op, a barrier only for earlier ops.
 *
 * Figures. wall_ns runs from the start to the moment the last thread finishes,
 * minus the time the coordinator held a barrier (from the last arrival to the
 * release: sampling, idle sleeps), which goes to excluded_ns. Waiting for a slower
 * thread at a marker is replay time. Per thread: wall (its first to last record,
 * parked time excluded), busy (wall minus dependency waits), its CPU time (to
 * show a thread that had no core to itself), ops and counts, dependency waits,
 * latency histograms. Live bytes are summed from per-thread
 * deltas: exact at markers and at the end; peak live bytes and objects are the
 * trace order's (the trace summary), since the replay's interleaving has no single
 * order to take a peak in without a shared counter on every op.
 * RSS between markers is sampled by the coordinator without stopping anyone: it
 * polls every millisecond and samples each time the ops the threads have
 * published (every sample_interval / threads ops, at most 4096) pass the next
 * checkpoint, so the op count and live bytes of such a sample are approximate
 * and a run shorter than checkpoints milliseconds gets fewer samples. */
#include "replay.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "mtstream.h"
#include "os.h"
#include "replay_ops.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STACK_BYTES ((size_t)1 << 20)
#else
#define STACK_BYTES ((size_t)256 << 10)
#endif
#define STACK_PREFAULT ((size_t)64 << 10) /* the top of the stack: where it is used */
#define SPIN_WAIT 256                     /* pauses before a dependency wait yields */
#define SPIN_BARRIER 4096                 /* pauses before a marker wait sleeps */
#define POLL_NS 1000000u                  /* the coordinator's sampling period */
#define PUBLISH_MAX 4096u

struct mslot {
    struct replay_slot o;
    _Atomic uint64_t ver; /* ops on this slot so far */
};

struct mt;

struct worker {
    struct mt *m;
    const struct mts_thread *ts;
    struct thread_stat *st;
    struct hist *lat;
    struct os_thread th;
    uint64_t publish_every;
    uint64_t t_begin;
    int running;
    /* read by the coordinator: a line of its own */
    _Alignas(64) _Atomic uint64_t pub_ops;
    _Atomic uint64_t pub_live; /* bytes allocated minus freed, modulo 2^64 */
};

struct mt {
    struct allocator A;
    const struct allocator *a;
    const struct replay_opts *o;
    struct replay_result *r;
    const struct trace *t;
    struct mtstream ms;
    struct mslot *slots;
    struct worker *w;
    uint32_t n;
    uint64_t overhead;
    /* coordinator only */
    uint64_t t_start, excluded_ns, next_cp;
    struct os_usage phase_usage, u1, u2;
    uint64_t phase_t;
    /* barriers: threads run marker k while gen == k + 1; ready = k + 1 once all reached it */
    _Alignas(64) _Atomic uint32_t arrived;
    _Alignas(64) _Atomic uint32_t gen;
    _Alignas(64) _Atomic uint32_t ready;
    uint64_t arrive_ns; /* when the last thread reached the barrier (published by ready) */
    _Atomic uint32_t abort, failed;
};

static inline void cpu_relax(void)
{
    __builtin_ia32_pause();
}

static void abort_all(struct mt *m)
{
    atomic_store(&m->abort, 1);
    atomic_fetch_add(&m->gen, 1); /* a thread about to sleep on gen sees it change */
    os_futex_wake_all((const uint32_t *)&m->gen);
    os_futex_wake_all((const uint32_t *)&m->ready);
}

/* ---- the replay threads' cold paths ---- */

struct hot {
    uint64_t op, countdown, live;
};

static void publish(struct worker *w, struct hot h)
{
    atomic_store_explicit(&w->pub_ops, h.op, memory_order_relaxed);
    atomic_store_explicit(&w->pub_live, h.live, memory_order_relaxed);
}

/* Sleep while gen == g. -1 if the run was aborted. */
static int park(struct mt *m, uint32_t g)
{
    for (unsigned i = 0; atomic_load_explicit(&m->gen, memory_order_acquire) == g; i++) {
        if (atomic_load_explicit(&m->abort, memory_order_relaxed))
            return -1;
        if (i < SPIN_BARRIER)
            cpu_relax();
        else
            os_futex_wait((const uint32_t *)&m->gen, g, 0);
    }
    return atomic_load_explicit(&m->abort, memory_order_relaxed) ? -1 : 0;
}

/* A marker (or the end): publish, arrive, wait for the coordinator. */
static int barrier(struct worker *w, struct hot h)
{
    struct mt *m = w->m;
    publish(w, h);
    uint64_t t0 = os_now_ns();
    uint32_t g = atomic_load_explicit(&m->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&m->arrived, 1, memory_order_acq_rel) + 1 == m->n) {
        m->arrive_ns = t0;
        atomic_store_explicit(&m->ready, g, memory_order_release);
        os_futex_wake_all((const uint32_t *)&m->ready);
    }
    int rc = park(m, g);
    w->st->barrier_ns += os_now_ns() - t0;
    return rc;
}

__attribute__((noinline, cold)) static int control(struct worker *w, struct hot h, uint64_t off)
{
    struct mt *m = w->m;
    struct trace_rec rec;
    trace_decode(m->t->data + off, trace_end(m->t), &rec); /* validated */
    if (rec.kind == TR_THREAD_START) {
        if (!m->o->dry && m->A.thread_init)
            m->A.thread_init();
        return 0;
    }
    if (rec.kind == TR_THREAD_EXIT) {
        if (!m->o->dry && m->A.thread_exit)
            m->A.thread_exit();
        return 0;
    }
    return barrier(w, h);
}

__attribute__((noinline, cold)) static int wait_slow(struct worker *w, struct mslot *s, uint64_t expect)
{
    uint64_t t0 = os_now_ns();
    for (unsigned i = 0; atomic_load_explicit(&s->ver, memory_order_acquire) != expect; i++) {
        if (i < SPIN_WAIT) {
            cpu_relax();
            continue;
        }
        if (atomic_load_explicit(&w->m->abort, memory_order_relaxed))
            return -1;
        os_yield();
    }
    w->st->waited_ops++;
    w->st->wait_ns += os_now_ns() - t0;
    return 0;
}

__attribute__((noinline, cold)) static int alloc_failed(struct worker *w, struct hot h, unsigned kind, uint64_t size)
{
    struct mt *m = w->m;
    publish(w, h);
    if (atomic_exchange(&m->failed, 1) == 0) {
        m->r->failed_op = h.op;
        snprintf(m->r->error, sizeof m->r->error, "thread %u, its op %llu: %s of %llu bytes returned NULL",
                 w->ts->thread, (unsigned long long)h.op, trace_kind_name(kind), (unsigned long long)size);
    }
    abort_all(m);
    return -1;
}

/* ---- the hot loop ---- */

/* One op: the shared allocator call (replay_ops.h), the slot's version, this
 * thread's counters. */
static inline __attribute__((always_inline)) int mt_op(struct worker *w, const struct allocator *A, struct mslot *s,
                                                       struct hot *h, unsigned kind, uint64_t size, uint64_t a,
                                                       const int LAT, const int DRY, const enum touch_mode TOUCH)
{
    int64_t dlive;
    int dobjs;
    uint64_t req;
    if (__builtin_expect(replay_call(A, &s->o, kind, size, a, w->lat, w->m->overhead, &dlive, &dobjs, &req, LAT,
                                     DRY, TOUCH) != 0,
                         0))
        return alloc_failed(w, *h, kind, req);
    (void)dobjs; /* live objects are not counted per thread */
    h->live += (uint64_t)dlive;
    /* only this thread touches the slot until the bump: no read-modify-write needed */
    atomic_store_explicit(&s->ver, atomic_load_explicit(&s->ver, memory_order_relaxed) + 1, memory_order_release);
    h->op++;
    if (__builtin_expect(--h->countdown == 0, 0)) {
        publish(w, *h);
        h->countdown = w->publish_every;
        if (atomic_load_explicit(&w->m->abort, memory_order_relaxed))
            return -1;
    }
    return 0;
}

static inline __attribute__((always_inline)) int mt_loop(struct worker *w, struct hot *hp, const int LAT,
                                                         const int DRY, const enum touch_mode TOUCH)
{
    struct hot h = *hp;
    struct mslot *const slots = w->m->slots;
    const struct allocator *const A = &w->m->A;
    const uint64_t *p = w->ts->words, *const end = p + w->ts->n_words;
    int rc = 0;
    while (p < end) {
        uint64_t x = *p++, a = 0, expect = 0;
        int dep = 0;
        unsigned kind = ops_kind(x);
        if (__builtin_expect(kind == MTS_WAIT, 0)) {
            expect = *p++;
            dep = 1;
            x = *p++;
            kind = ops_kind(x);
        }
        uint64_t slot = ops_id(x), size = ops_size(x);
        if (kind == TR_CALLOC || kind == TR_ALIGNED)
            a = *p++;
        if (__builtin_expect(kind == MTS_LONG || kind == OPS_ESCAPE, 0)) {
            if (kind == OPS_ESCAPE) {
                if ((rc = control(w, h, *p++)) != 0)
                    break;
                continue;
            }
            kind = (unsigned)(x >> 3) & 7;
            slot = p[0];
            size = p[1];
            a = p[2];
            p += 3;
        }
        struct mslot *s = &slots[slot];
        if (__builtin_expect(dep, 0) && atomic_load_explicit(&s->ver, memory_order_acquire) != expect &&
            (rc = wait_slow(w, s, expect)) != 0)
            break;
        if (__builtin_expect((rc = mt_op(w, A, s, &h, kind, size, a, LAT, DRY, TOUCH)) != 0, 0))
            break;
    }
    *hp = h;
    return rc;
}

#define LOOP(LAT, DRY, TOUCH)                                                                                    \
    __attribute__((noinline)) static int mt_loop_##LAT##_##DRY##_##TOUCH(struct worker *w, struct hot *h)       \
    {                                                                                                             \
        return mt_loop(w, h, LAT, DRY, TOUCH);                                                                    \
    }
LOOP(0, 0, TOUCH_NONE)
LOOP(0, 0, TOUCH_PAGES)
LOOP(0, 0, TOUCH_FULL)
LOOP(1, 0, TOUCH_NONE)
LOOP(1, 0, TOUCH_PAGES)
LOOP(1, 0, TOUCH_FULL)
LOOP(0, 1, TOUCH_NONE)
LOOP(1, 1, TOUCH_NONE)

typedef int (*loop_fn)(struct worker *, struct hot *);

static loop_fn pick_loop(const struct replay_opts *o)
{
    if (o->dry)
        return o->latency ? mt_loop_1_1_TOUCH_NONE : mt_loop_0_1_TOUCH_NONE;
    static const loop_fn table[2][3] = {
        { mt_loop_0_0_TOUCH_NONE, mt_loop_0_0_TOUCH_PAGES, mt_loop_0_0_TOUCH_FULL },
        { mt_loop_1_0_TOUCH_NONE, mt_loop_1_0_TOUCH_PAGES, mt_loop_1_0_TOUCH_FULL },
    };
    return table[!!o->latency][o->touch];
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct mt *m = w->m;
    if (park(m, 0) != 0) /* the start gate */
        return NULL;
    w->t_begin = os_now_ns();
    uint64_t cpu0 = os_thread_cpu_ns();
    if (w->ts->thread == 0 && !m->o->dry && m->A.thread_init) /* thread 0 runs from the start */
        m->A.thread_init();
    struct hot h = { 0, w->publish_every, 0 };
    int rc = pick_loop(m->o)(w, &h);
    if (rc != 0)
        return NULL;
    uint64_t t_end = os_now_ns();
    w->st->cpu_ns = os_thread_cpu_ns() - cpu0;
    w->st->wall_ns = t_end - w->t_begin - w->st->barrier_ns;
    w->st->busy_ns = w->st->wall_ns - w->st->wait_ns;
    w->st->live_delta = (int64_t)h.live;
    barrier(w, h); /* the end: the coordinator takes the last figures */
    return NULL;
}

/* ---- the coordinator ---- */

static uint64_t rss_now(const struct mt *m)
{
    uint64_t rss = os_rss_anon_bytes();
    return rss > m->r->baseline_rss ? rss - m->r->baseline_rss : 0;
}

static void published(const struct mt *m, uint64_t *ops, uint64_t *live)
{
    uint64_t o = 0, l = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        o += atomic_load_explicit(&m->w[i].pub_ops, memory_order_relaxed);
        l += atomic_load_explicit(&m->w[i].pub_live, memory_order_relaxed);
    }
    *ops = o;
    *live = l;
}

static void take_sample(struct mt *m, enum sample_event ev, uint32_t index, uint64_t when)
{
    struct replay_result *r = m->r;
    uint64_t ops, live;
    published(m, &ops, &live);
    uint64_t rss = rss_now(m);
    if (r->n_samples < r->samples_cap)
        r->samples[r->n_samples++] = (struct sample){ ops, when, rss, live, ev, index };
    if (rss > r->peak_rss_sampled)
        r->peak_rss_sampled = rss;
    if (r->n_phases && rss > r->phases[r->n_phases - 1].peak_rss)
        r->phases[r->n_phases - 1].peak_rss = rss;
}

static void phase_close(struct mt *m, uint64_t when)
{
    struct replay_result *r = m->r;
    if (!r->n_phases)
        return;
    struct phase_stat *p = &r->phases[r->n_phases - 1];
    struct os_usage u;
    os_usage_now(&u);
    uint64_t ops, live;
    published(m, &ops, &live);
    p->ops = ops - p->first_op;
    p->wall_ns = when - m->phase_t;
    p->minor_faults = u.minor_faults - m->phase_usage.minor_faults;
    p->major_faults = u.major_faults - m->phase_usage.major_faults;
    p->rss_end = rss_now(m);
    p->live_end = live;
}

static void phase_open(struct mt *m, const char *name, size_t len, uint64_t when)
{
    struct replay_result *r = m->r;
    if (r->n_phases >= r->phases_cap)
        return;
    struct phase_stat *p = &r->phases[r->n_phases++];
    memset(p, 0, sizeof *p);
    memcpy(p->name, name, len < TRACE_MAX_PHASE_NAME ? len : TRACE_MAX_PHASE_NAME);
    uint64_t live;
    published(m, &p->first_op, &live);
    os_usage_now(&m->phase_usage);
    m->phase_t = when;
    p->rss_start = p->peak_rss = rss_now(m);
}

/* Every thread is parked at marker k (its figures published): as replay.c's marker. */
static void marker(struct mt *m, uint64_t k, uint64_t when)
{
    struct replay_result *r = m->r;
    struct trace_rec rec;
    trace_decode(m->t->data + m->ms.marker_off[k], trace_end(m->t), &rec);
    if (rec.kind == TR_PHASE) {
        phase_close(m, when);
        if (r->n_phases == 1 && r->phases[0].ops == 0 && strcmp(r->phases[0].name, "start") == 0)
            r->n_phases = 0;
        take_sample(m, EV_PHASE, (uint32_t)r->n_phases, when);
        phase_open(m, rec.name, rec.name_len, when);
    } else if (rec.kind == TR_IDLE && r->n_idles < r->idles_cap) {
        struct idle_stat *is = &r->idles[r->n_idles];
        uint64_t live;
        take_sample(m, EV_IDLE_BEFORE, (uint32_t)r->n_idles, when);
        published(m, &is->op, &live);
        is->ms = rec.ms;
        is->rss_before = r->samples[r->n_samples - 1].rss;
        is->live = live;
        if (m->o->release_at_idle && m->A.release && !m->o->dry) {
            uint64_t t0 = os_now_ns();
            is->release_rc = m->A.release();
            is->release_ns = os_now_ns() - t0;
        }
        os_sleep_ms(rec.ms);
        take_sample(m, EV_IDLE_AFTER, (uint32_t)r->n_idles, when);
        is->rss_after = r->samples[r->n_samples - 1].rss;
        r->n_idles++;
    }
}

/* Every thread has finished: the last figures, with the threads still alive. */
static void finish(struct mt *m, uint64_t when)
{
    struct replay_result *r = m->r;
    os_usage_now(&m->u2);
    r->wall_ns = when;
    phase_close(m, when);
    take_sample(m, EV_END, 0, when);
    alloc_stats_clear(&r->stats);
    r->stats_rc = (!m->o->dry && m->a->stats) ? m->a->stats(&r->stats) : -1;
}

static void maybe_sample(struct mt *m)
{
    uint64_t ops, live;
    published(m, &ops, &live);
    if (ops < m->next_cp)
        return;
    uint64_t t = os_now_ns();
    take_sample(m, EV_OPS, 0, t - m->t_start - m->excluded_ns);
    m->next_cp = (ops / m->r->sample_interval + 1) * m->r->sample_interval;
}

/* Open the gate, then serve every barrier in turn. 0, or -1 if aborted. */
static int coordinate(struct mt *m)
{
    atomic_store_explicit(&m->gen, 1, memory_order_release);
    os_futex_wake_all((const uint32_t *)&m->gen);
    for (uint64_t k = 0;;) {
        uint32_t rd = atomic_load_explicit(&m->ready, memory_order_acquire);
        if (atomic_load_explicit(&m->abort, memory_order_relaxed))
            return -1;
        if (rd != k + 1) {
            maybe_sample(m);
            os_futex_wait((const uint32_t *)&m->ready, rd, POLL_NS);
            continue;
        }
        uint64_t from = m->arrive_ns, when = from - m->t_start - m->excluded_ns;
        if (k == m->ms.n_markers)
            finish(m, when);
        else
            marker(m, k, when);
        atomic_store_explicit(&m->arrived, 0, memory_order_relaxed);
        m->excluded_ns += os_now_ns() - from;
        atomic_store_explicit(&m->gen, (uint32_t)(k + 2), memory_order_release);
        os_futex_wake_all((const uint32_t *)&m->gen);
        if (k++ == m->ms.n_markers)
            return 0;
    }
}

/* ---- set-up and figures ---- */



static int setup(struct mt *m, const struct trace_summary *s)
{
    struct replay_result *r = m->r;
    const struct replay_opts *o = m->o;
    char why[200];
    if (mtstream_build(&m->ms, m->t, why, sizeof why) != 0) {
        snprintf(r->error, sizeof r->error, "%s", why);
        return -1;
    }
    m->n = m->ms.n_threads;
    r->stream_bytes = m->ms.words_bytes;
    r->decode_chunks = 1; /* the whole trace, before the baseline */
    uint64_t checkpoints = o->checkpoints ? o->checkpoints : 1;
    r->sample_interval = s->n_ops / checkpoints ? s->n_ops / checkpoints : 1;
    m->slots = os_map(m->ms.n_slots * sizeof *m->slots);
    m->w = os_map(m->n * sizeof *m->w);
    r->threads = replay_map_array(m->n, sizeof *r->threads, &r->threads_cap);
    r->n_threads = m->n;
    r->samples = replay_map_array(s->n_ops / r->sample_interval + 2 * s->count[TR_IDLE] + s->count[TR_PHASE] + 4,
                           sizeof *r->samples, &r->samples_cap);
    r->phases = replay_map_array(s->count[TR_PHASE] + 1, sizeof *r->phases, &r->phases_cap);
    r->idles = replay_map_array(s->count[TR_IDLE], sizeof *r->idles, &r->idles_cap);
    struct hist *lat = NULL;
    if (o->latency) {
        r->lat = os_map(TR_KIND_COUNT * sizeof(struct hist));
        lat = os_map(m->n * (TR_FREE + 1) * sizeof(struct hist));
    }
    if (!m->slots || !m->w || !r->threads || !r->samples || !r->phases || !r->idles ||
        (o->latency && (!r->lat || !lat))) {
        snprintf(r->error, sizeof r->error, "cannot map harness memory for %u objects and %u threads",
                 m->t->hdr.n_objects, m->n);
        return -1;
    }
    if (o->latency)
        for (unsigned k = 0; k < TR_KIND_COUNT; k++)
            hist_reset(&r->lat[k]);
    uint64_t every = r->sample_interval / m->n;
    for (uint32_t i = 0; i < m->n; i++) {
        struct worker *w = &m->w[i];
        const struct mts_thread *ts = &m->ms.threads[i];
        struct thread_stat *st = &r->threads[i];
        w->m = m;
        w->ts = ts;
        w->st = st;
        w->publish_every = every < 1 ? 1 : every > PUBLISH_MAX ? PUBLISH_MAX : every;
        st->thread = ts->thread;
        st->ops = ts->ops;
        memcpy(st->count, ts->count, sizeof st->count);
        st->starts = ts->starts;
        st->exits = ts->exits;
        st->dep_ops = ts->dep_ops;
        if (lat) {
            w->lat = st->lat = lat + (size_t)i * (TR_FREE + 1);
            for (unsigned k = 0; k <= TR_FREE; k++)
                hist_reset(&w->lat[k]);
        }
    }
    if (o->latency) {
        if (tsc_calibrate(&r->tsc) != 0) {
            snprintf(r->error, sizeof r->error, "--latency needs an invariant TSC with rdtscp");
            return -1;
        }
        m->overhead = r->tsc.overhead_median;
    }
    if (os_rss_open() != 0) {
        snprintf(r->error, sizeof r->error, "cannot open /proc/self/statm");
        return -1;
    }
    return 0;
}

/* Start the replay threads (parked at the gate) on pre-faulted stacks. */
static int start_threads(struct mt *m, char **stacks)
{
    *stacks = os_map_lazy(m->n * STACK_BYTES);
    if (!*stacks) {
        snprintf(m->r->error, sizeof m->r->error, "cannot map stacks for %u threads", m->n);
        return -1;
    }
    for (uint32_t i = 0; i < m->n; i++) {
        char *stack = *stacks + (size_t)i * STACK_BYTES;
        os_prefault(stack + STACK_BYTES - STACK_PREFAULT, STACK_PREFAULT);
        int e = os_thread_start(&m->w[i].th, worker_main, &m->w[i], stack, STACK_BYTES);
        if (e != 0) {
            snprintf(m->r->error, sizeof m->r->error, "cannot start replay thread %u of %u: %s", i + 1, m->n,
                     strerror(e));
            return -1;
        }
        m->w[i].running = 1;
    }
    return 0;
}

static void join_threads(struct mt *m)
{
    for (uint32_t i = 0; m->w && i < m->n; i++)
        if (m->w[i].running) {
            os_thread_join(&m->w[i].th);
            m->w[i].running = 0;
        }
}

static void figures(struct mt *m, const struct trace_summary *s)
{
    struct replay_result *r = m->r;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct thread_stat *st = &r->threads[i];
        r->dep_ops += st->dep_ops;
        r->waited_ops += st->waited_ops;
        r->wait_ns += st->wait_ns;
        if (r->lat)
            for (unsigned k = 0; k <= TR_FREE; k++)
                hist_merge(&r->lat[k], &st->lat[k]);
    }
    uint64_t live; /* the sum of the threads' deltas */
    published(m, &r->ops, &live);
    r->records = s->n_records;
    memcpy(r->count, s->count, sizeof r->count);
    r->excluded_ns = m->excluded_ns;
    r->final_live_bytes = live;
    r->peak_live_bytes = s->peak_live_bytes; /* trace order: see the top comment */
    r->peak_live_objects = s->peak_live_objects;
    replay_end_figures(r, &m->u1, &m->u2);
}

/* Free what the trace left live (after the threads are gone: every op has happened). */
static void free_leftovers(struct mt *m)
{
    if (m->o->dry)
        return;
    for (uint64_t i = 0; i < m->ms.n_slots; i++) {
        struct mslot *s = &m->slots[i];
        replay_free_leftover(&m->A, &s->o);
    }
}

int replay_mt_run(const struct allocator *a, const struct trace *t, const struct trace_summary *s,
                  const struct replay_opts *o, struct replay_result *r)
{
    memset(r, 0, sizeof *r);
    r->frag_peak = r->frag_mean = r->frag_end = NAN;
    r->stats_rc = -1;
    static struct mt mt; /* one replay at a time; too big a frame for nothing */
    struct mt *m = &mt;
    memset(m, 0, sizeof *m);
    m->a = a;
    m->o = o;
    m->r = r;
    m->t = t;
    replay_fill_fallbacks(&m->A, a);
    if (!o->dry && (!a->malloc || !a->free || (s->count[TR_ALIGNED] && !a->aligned_alloc))) {
        snprintf(r->error, sizeof r->error, "allocator %s lacks an operation this trace needs", a->name);
        return -1;
    }
    char *stacks = NULL;
    int rc = -1;
    if (setup(m, s) != 0)
        goto out;
    if (start_threads(m, &stacks) != 0) {
        abort_all(m);
        goto out;
    }

    /* Baseline: after the harness's set-up (threads included), before the allocator's init. */
    os_reset_hwm();
    r->baseline_rss = os_rss_anon_bytes();
    struct os_usage u0;
    os_usage_now(&u0);
    uint64_t t0 = os_now_ns();
    if (!o->dry && a->init && a->init(o->alloc_opts) != 0) {
        snprintf(r->error, sizeof r->error, "allocator %s: init failed", a->name);
        abort_all(m);
        goto out;
    }
    r->init_ns = os_now_ns() - t0;
    os_usage_now(&m->u1);
    r->init_minor_faults = m->u1.minor_faults - u0.minor_faults;

    m->next_cp = r->sample_interval;
    m->t_start = os_now_ns();
    take_sample(m, EV_START, 0, 0);
    phase_open(m, "start", 5, 0);
    m->excluded_ns = os_now_ns() - m->t_start;
    os_usage_now(&m->u1);
    rc = coordinate(m);
    join_threads(m);
    if (rc != 0) { /* a failed allocation: figures up to there */
        os_usage_now(&m->u2);
        r->wall_ns = os_now_ns() - m->t_start - m->excluded_ns;
    }
    figures(m, s);
    free_leftovers(m);
out:
    join_threads(m);
    os_unmap(stacks, m->n * STACK_BYTES);
    os_unmap(m->slots, m->ms.n_slots * sizeof *m->slots);
    os_unmap(m->w, m->n * sizeof *m->w);
    mtstream_free(&m->ms);
    return rc;
}
