/* driver_main.c - allocmark-<allocator>: replay traces against the allocator this
 * binary was linked with (allocator_under_test) and print one JSON object per trace.
 *
 * Each trace is replayed in a child process of its own, so every measurement
 * starts from a fresh heap and a crash is recorded as that trace's failure while
 * the others go on. Results come back through a shared anonymous mapping. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../allocators/allocator.h"
#include "json.h"
#include "os.h"
#include "replay.h"
#include "report.h"

enum exit_code { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_BAD_TRACE = 2, EXIT_REPLAY = 3 };

#define SHARED_JSON_CAP ((size_t)16 << 20)
#define SHARED_CSV_CAP ((size_t)1 << 30)
/* 5 op kinds x 7424 buckets x at most ~70 bytes a row */
#define SHARED_HIST_CAP ((size_t)4 << 20)

/* What a child hands back. */
struct shared_out {
    size_t json_len, csv_len, hist_len;
    char json[SHARED_JSON_CAP];
    char hist[SHARED_HIST_CAP];
    char csv[]; /* SHARED_CSV_CAP bytes */
};

struct job {
    const char *path;
    const struct replay_opts *opts;
    int want_csv, want_hist;
    struct shared_out *out;
};

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [options] TRACE...\n"
            "Replay each TRACE (binary, .zst or text form; see docs/trace-format.md) against\n"
            "%s and print one JSON object per trace (one per line).\n"
            "\n"
            "options:\n"
            "  --latency            time every allocator call with rdtsc (timer cost calibrated\n"
            "                       and subtracted) and report p50/p90/p99/p99.9/max per op kind;\n"
            "                       without it, the run measures throughput with no per-op timers\n"
            "  --dry                replay without calling the allocator (the harness's own cost)\n"
            "  --touch MODE         what to write into new memory: none, pages (one byte per\n"
            "                       page, the default) or full (every byte)\n"
            "  --release-at-idle    at each idle marker, ask the allocator to release free\n"
            "                       memory to the OS before sleeping\n"
            "  --checkpoints N      RSS samples spread evenly over the ops (default 1000);\n"
            "                       every marker is sampled as well\n"
            "  --alloc-opt STR      options passed to the allocator's init (none defined yet\n"
            "                       for the third-party allocators)\n"
            "  --json FILE          write the JSON lines to FILE (atomically) instead of stdout\n"
            "  --timeline FILE      write every RSS/live sample as CSV to FILE\n"
            "  --histogram FILE     with --latency and one TRACE: write the latency histogram\n"
            "                       of each op kind, merged over the threads, as CSV to FILE\n"
            "                       (atomically): kind,lo_ns,hi_ns,count, one row per non-empty\n"
            "                       bucket [lo_ns, hi_ns), ns after the timer-cost subtraction\n"
            "                       (the values the JSON percentiles come from); not written\n"
            "                       if the replay process crashed\n"
            "  -h, --help           this text\n"
            "\n"
            "Each trace runs in a fresh child process. Exit status: 0 ok, 1 usage or I/O\n"
            "error, 2 a trace is invalid, 3 a replay failed (allocation failure, crash, or a\n"
            "multi-thread trace over the limits: 1024 threads, 4 GiB of decoded op streams).\n"
            "A trace with ops on several threads is replayed with one thread per trace thread\n"
            "(see README.md).\n",
            prog, allocator_under_test.name);
}

static void copy_out(char *dst, size_t *len, size_t cap, const struct membuf *b)
{
    size_t n = b->len < cap ? b->len : cap;
    memcpy(dst, b->data, n);
    *len = n;
}

/* In the child: validate, replay, render. */
static int run_trace(void *arg)
{
    struct job *job = arg;
    struct trace t;
    struct trace_summary s;
    char err[TRACE_ERR_LEN];
    int orc = trace_open(job->path, &t, err);
    if (orc != 0 || trace_validate(&t, &s, err) != 0) {
        fprintf(stderr, "allocmark-%s: %s\n", allocator_under_test.name, err);
        if (orc == 0)
            trace_close(&t);
        return orc == TRACE_EIO ? EXIT_USAGE : EXIT_BAD_TRACE;
    }
    struct replay_result r;
    int rc = replay_run(&allocator_under_test, &t, &s, job->opts, &r);
    if (rc != 0)
        fprintf(stderr, "allocmark-%s: %s: %s\n", allocator_under_test.name, job->path, r.error);
    struct report_ctx rctx = {
        .allocator = allocator_under_test.name,
        .allocator_version = allocator_under_test.version ? allocator_under_test.version() : "unknown",
        .trace = &t,
        .summary = &s,
        .opts = job->opts,
    };
    struct membuf b;
    membuf_init(&b);
    report_json(&b, &rctx, &r);
    copy_out(job->out->json, &job->out->json_len, SHARED_JSON_CAP, &b);
    membuf_free(&b);
    if (job->want_csv) {
        report_timeline_csv(&b, &rctx, &r);
        copy_out(job->out->csv, &job->out->csv_len, SHARED_CSV_CAP, &b);
        membuf_free(&b);
    }
    if (job->want_hist) {
        report_histogram_csv(&b, &r);
        copy_out(job->out->hist, &job->out->hist_len, SHARED_HIST_CAP, &b);
        membuf_free(&b);
    }
    replay_result_free(&r);
    trace_close(&t);
    return rc == 0 ? EXIT_OK : EXIT_REPLAY;
}

/* A JSON line for a trace whose child died before reporting. */
static void crash_json(struct membuf *out, const char *path, int status)
{
    char why[128];
    if (status == -1000)
        snprintf(why, sizeof why, "could not start a child process");
    else
        snprintf(why, sizeof why, "replay process killed by signal %d (%s)", -status, strsignal(-status));
    struct json j;
    json_begin(&j, out);
    json_str(&j, "allocator", allocator_under_test.name);
    json_str(&j, "trace", path);
    json_str(&j, "error", why);
    json_end(&j);
    fprintf(stderr, "allocmark-%s: %s: %s\n", allocator_under_test.name, path, why);
}

static int parse_u64_opt(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

int main(int argc, char **argv)
{
    struct replay_opts o = { .touch = TOUCH_PAGES, .checkpoints = 1000 };
    const char *json_path = NULL, *timeline_path = NULL, *histogram_path = NULL;
    static const struct option longopts[] = {
        { "latency", no_argument, NULL, 'l' },      { "dry", no_argument, NULL, 'd' },
        { "touch", required_argument, NULL, 't' },  { "release-at-idle", no_argument, NULL, 'r' },
        { "checkpoints", required_argument, NULL, 'c' }, { "alloc-opt", required_argument, NULL, 'a' },
        { "json", required_argument, NULL, 'j' },   { "timeline", required_argument, NULL, 'T' },
        { "histogram", required_argument, NULL, 'H' }, { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': o.latency = 1; break;
        case 'd': o.dry = 1; break;
        case 'r': o.release_at_idle = 1; break;
        case 'a': o.alloc_opts = optarg; break;
        case 'j': json_path = optarg; break;
        case 'T': timeline_path = optarg; break;
        case 'H': histogram_path = optarg; break;
        case 't':
            if (strcmp(optarg, "none") == 0)
                o.touch = TOUCH_NONE;
            else if (strcmp(optarg, "pages") == 0)
                o.touch = TOUCH_PAGES;
            else if (strcmp(optarg, "full") == 0)
                o.touch = TOUCH_FULL;
            else {
                fprintf(stderr, "%s: --touch: '%s' is not none, pages or full\n", argv[0], optarg);
                return EXIT_USAGE;
            }
            break;
        case 'c':
            if (parse_u64_opt(optarg, &o.checkpoints) != 0 || o.checkpoints == 0) {
                fprintf(stderr, "%s: --checkpoints: '%s' is not a positive integer\n", argv[0], optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout, argv[0]); return EXIT_OK;
        default: usage(stderr, argv[0]); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr, argv[0]);
        return EXIT_USAGE;
    }
    /* Refused rather than guessed: without timers there is nothing to write, and
     * the CSV has no trace column, so several traces' rows could not be told apart. */
    if (histogram_path && !o.latency) {
        fprintf(stderr, "%s: --histogram %s needs --latency (the histograms are of the per-op timings)\n", argv[0],
                histogram_path);
        return EXIT_USAGE;
    }
    if (histogram_path && argc - optind > 1) {
        fprintf(stderr, "%s: --histogram %s takes one TRACE, not %d (its CSV has no trace column)\n", argv[0],
                histogram_path, argc - optind);
        return EXIT_USAGE;
    }
    struct shared_out *shared = os_map_shared(sizeof *shared + SHARED_CSV_CAP);
    if (!shared) {
        fprintf(stderr, "%s: cannot map the result buffer\n", argv[0]);
        return EXIT_USAGE;
    }
    struct membuf json, csv;
    membuf_init(&json);
    membuf_init(&csv);
    int worst = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        struct job job = { .path = argv[i], .opts = &o, .want_csv = timeline_path != NULL,
                           .want_hist = histogram_path != NULL, .out = shared };
        shared->json_len = shared->csv_len = shared->hist_len = 0;
        int status = os_run_child(run_trace, &job);
        if (status < 0) {
            crash_json(&json, argv[i], status);
            shared->hist_len = 0; /* whatever a dying child left is not a whole histogram */
        } else {
            membuf_append(&json, shared->json, shared->json_len);
            /* one header line for the whole file */
            const char *c = shared->csv;
            size_t n = shared->csv_len;
            if (csv.len && n) {
                const char *nl = memchr(c, '\n', n);
                n -= nl ? (size_t)(nl + 1 - c) : n;
                c = nl ? nl + 1 : c;
            }
            membuf_append(&csv, c, n);
        }
        int code = status < 0 ? EXIT_REPLAY : status;
        if (code > worst)
            worst = code;
        if (!json_path && json.len) {
            os_write_all(1, json.data, json.len);
            json.len = 0;
        }
    }
    if (json_path && os_write_file_atomic(json_path, json.data, json.len) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", argv[0], json_path, strerror(errno));
        worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
    }
    /* Only with rows from a child that reported: a 0-byte file from a crashed replay
     * would read as a timeline without samples. */
    if (timeline_path && csv.len && os_write_file_atomic(timeline_path, csv.data, csv.len) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", argv[0], timeline_path, strerror(errno));
        worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
    }
    /* Only from a child that reported (one that crashed left no histograms). */
    if (histogram_path && shared->hist_len &&
        os_write_file_atomic(histogram_path, shared->hist, shared->hist_len) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", argv[0], histogram_path, strerror(errno));
        worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
    }
    return worst;
}
