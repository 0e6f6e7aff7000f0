/* raw_convert.h - a raw recorder log -> a v1 trace (through the tw_* writer). */
#ifndef ALLOCMARK_RAW_CONVERT_H
#define ALLOCMARK_RAW_CONVERT_H

#include <stdint.h>

#include "../trace.h"
#include "raw_read.h"

struct raw_convert_opts {
    uint64_t idle_gap_ms;  /* 0: no idle markers */
    double ticks_per_ms;   /* TSC ticks per millisecond */
};

struct raw_convert_stats {
    uint64_t records;          /* raw records read */
    uint64_t ops[TR_KIND_COUNT]; /* trace records written, by kind */
    uint64_t threads;          /* program threads that recorded anything */
    uint64_t dropped_frees;    /* free of a pointer never seen allocated */
    uint64_t unknown_reallocs; /* realloc of such a pointer: recorded as a malloc */
    uint64_t failed;           /* allocations and reallocs that returned NULL: skipped */
    uint64_t implied_frees;    /* an address handed out again while still live: its free was not recorded */
    uint64_t skipped;          /* allocations the format cannot hold (alignment > 1 GiB, size > 2^48) */
    uint64_t idle_markers, idle_ms;
    uint64_t nested, after_exit, lost; /* from the raw file's header: calls not recorded */
};

/* Returns 0, or -1 with err set (the writer refused a record: a bug, or memory). */
int raw_convert(const struct raw_log *l, const struct raw_convert_opts *o, struct trace_writer *w,
                struct raw_convert_stats *s, char *err, size_t err_len);

#endif
