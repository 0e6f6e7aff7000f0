/* report.h - render a replay result: the JSON record and the timeline CSV. */
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
/* The RSS/live samples: header line then one row per sample. */
void report_timeline_csv(struct membuf *out, const struct report_ctx *rc, const struct replay_result *r);

#endif
