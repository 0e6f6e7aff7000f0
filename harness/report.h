/* report.h - render a replay result: the JSON record, the timeline CSV and the
 * latency histogram CSV. */
#ifndef ALLOCMARK_REPORT_H
#define ALLOCMARK_REPORT_H

#include "membuf.h"
#include "replay.h"

struct report_ctx {
    const char *allocator, *allocator_version;
    const struct trace *trace;
    const struct trace_summary *summary;
    const struct replay_opts *opts;
};

/* One JSON object (one line) describing the run. */
void report_json(struct membuf *out, const struct report_ctx *rc, const struct replay_result *r);
/* The merged (every thread) latency histogram of each op kind, --latency only:
 * header "kind,lo_ns,hi_ns,count", then one row per non-empty bucket, in kind then
 * value order. A bucket holds the latencies in [lo_ns, hi_ns), in ns after the
 * timer-overhead subtraction, the same values the JSON percentiles come from.
 * Writes nothing when the run had no latency histograms. */
void report_histogram_csv(struct membuf *out, const struct replay_result *r);
/* The RSS/live samples: header line then one row per sample. */
void report_timeline_csv(struct membuf *out, const struct report_ctx *rc, const struct replay_result *r);

#endif
