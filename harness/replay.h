/* replay.h - replay of a validated trace against one allocator, and the figures
 * it measures (definitions in DESIGN.md, "Measurement"). Traces whose ops are on
 * one thread run on the single-thread engine (replay.c); the others on the
 * multi-thread engine (replay_mt.c, one replay thread per trace thread). */
#ifndef ALLOCMARK_REPLAY_H
#define ALLOCMARK_REPLAY_H

#include <stdint.h>

#include "../allocators/allocator.h"
#include "hist.h"
#include "trace.h"
#include "tsc.h"

enum touch_mode { TOUCH_NONE, TOUCH_PAGES, TOUCH_FULL };

struct replay_opts {
    int latency;          /* time each allocator call (rdtsc) */
    int dry;              /* decode and book-keep, but never call the allocator */
    enum touch_mode touch;
    int release_at_idle;  /* call allocator->release before each idle sleep */
    uint64_t checkpoints; /* RSS samples spread over the ops (at least this many if ops allow) */
    const char *alloc_opts;
    size_t chunk_words;   /* op-stream chunk size in words; 0 = default (tests set it small) */
};

enum sample_event { EV_OPS = 0, EV_START, EV_PHASE, EV_IDLE_BEFORE, EV_IDLE_AFTER, EV_END };

struct sample {
    uint64_t op;   /* ops replayed before the sample */
    uint64_t t_ns; /* replay time (idle sleeps and sampling excluded) */
    uint64_t rss;  /* RssAnon - baseline */
    uint64_t live; /* requested bytes of live objects */
    uint32_t event;
    uint32_t index; /* phase or idle number for marker events */
};

struct phase_stat {
    char name[TRACE_MAX_PHASE_NAME + 1];
    uint64_t first_op, ops, wall_ns;
    uint64_t minor_faults, major_faults;
    uint64_t rss_start, rss_end, peak_rss, live_end;
};

struct idle_stat {
    uint64_t op, ms;
    uint64_t rss_before, rss_after, live;
    uint64_t release_ns; /* 0 unless --release-at-idle */
    int release_rc;
};

/* One trace thread's figures in a multi-thread replay (replay_mt.c). */
struct thread_stat {
    uint32_t thread;                 /* the trace's thread number */
    uint64_t ops, count[TR_KIND_COUNT];
    uint64_t starts, exits;          /* thread start / exit records (adapter thread_init / thread_exit) */
    uint64_t wall_ns;                /* first to last record, time parked at markers excluded */
    uint64_t busy_ns;                /* wall_ns minus time spent waiting on other threads */
    uint64_t dep_ops;                /* ops ordered after another thread's op on the same object id */
    uint64_t waited_ops, wait_ns;    /* of those, the ones that found it not done yet, and their wait */
    uint64_t barrier_ns;             /* time parked at markers (waiting for the others, and idle) */
    uint64_t cpu_ns;                 /* CPU time of the replay thread over wall_ns (and its parked
                                      * spins): well below wall_ns means it did not have a core */
    int64_t live_delta;              /* bytes this thread allocated minus bytes it freed */
    struct hist *lat;                /* TR_FREE + 1 histograms (ticks), NULL without --latency */
};

struct replay_result {
    uint64_t ops, records, count[TR_KIND_COUNT];
    uint64_t wall_ns, excluded_ns, init_ns;
    uint64_t init_minor_faults;
    uint64_t user_ns, sys_ns, minor_faults, major_faults;
    uint64_t baseline_rss, peak_rss, peak_rss_sampled, peak_rss_hwm, final_rss;
    uint64_t peak_live_bytes, peak_live_objects, final_live_bytes;
    double frag_peak, frag_mean, frag_end; /* NaN when live is 0 */
    uint64_t sample_interval;
    uint64_t decode_chunks; /* op-stream chunks decoded (the first before the baseline) */
    struct sample *samples;
    uint64_t n_samples, samples_cap;
    struct phase_stat *phases;
    uint64_t n_phases, phases_cap;
    struct idle_stat *idles;
    uint64_t n_idles, idles_cap;
    struct hist *lat; /* TR_KIND_COUNT histograms (ticks), NULL without --latency */
    struct tsc_calibration tsc;
    struct alloc_stats stats;
    int stats_rc;
    /* multi-thread replay only (n_threads == 0 for the single-thread engine) */
    struct thread_stat *threads;
    uint64_t n_threads, threads_cap;
    uint64_t dep_ops, waited_ops, wait_ns; /* sums over the threads */
    uint64_t stream_bytes;                 /* the per-thread op streams, decoded whole */
    uint64_t failed_op; /* op index of a failed allocation (the thread's own index in a multi-thread
                         * replay), valid when error set */
    char error[256];    /* empty on success */
};

/* Replay t (validated, summary s) against a (unused with o->dry). All harness
 * memory is mapped and pre-faulted before the RSS baseline. Returns 0, or -1
 * with r->error set (figures up to the failure are still filled in). */
int replay_run(const struct allocator *a, const struct trace *t, const struct trace_summary *s,
               const struct replay_opts *o, struct replay_result *r);
/* The multi-thread engine (replay_mt.c); replay_run hands it every trace whose
 * ops are on more than one thread. Same contract as replay_run. */
int replay_mt_run(const struct allocator *a, const struct trace *t, const struct trace_summary *s,
                  const struct replay_opts *o, struct replay_result *r);
/* Unmap the buffers a result holds. */
void replay_result_free(struct replay_result *r);

#endif
