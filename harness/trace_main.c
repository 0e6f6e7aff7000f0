/* trace_main.c - allocmark-trace: convert, inspect and validate trace files. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "os.h"
#include "trace.h"

int gen_command(int argc, char **argv); /* gen_cli.c */
int record_command(int argc, char **argv); /* record_cli.c */
int import_heaptrack_command(int argc, char **argv); /* heaptrack_cli.c */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: allocmark-trace COMMAND ...\n"
            "  from-text IN OUT   convert the text form IN to a binary trace OUT\n"
            "                     (zstd-compressed when OUT ends in .zst)\n"
            "  to-text IN [OUT]   write the text form of trace IN to OUT (default stdout)\n"
            "  info FILE          ops by kind, threads, peak live bytes and objects,\n"
            "                     size histogram, cross-thread frees\n"
            "  validate FILE...   check every record; exit 0 if all are valid, 2 if not\n"
            "  gen SPEC [-o OUT] [--scale X] [--seed N]\n"
            "                     generate the trace a workload spec describes (gen --help)\n"
            "  record [-o OUT] [--idle-gap MS] -- CMD ARGS...  record CMD's malloc calls (record --help)\n"
            "  import-heaptrack IN OUT [--idle-gap MS]  a heaptrack --raw recording as a trace\n"
            "Any command reads binary, .zst and text traces alike. The formats are\n"
            "documented in docs/trace-format.md.\n"
            "Exit status: 0 ok, 1 usage or I/O error, 2 invalid trace.\n");
}

/* Open and fully validate, printing the error. Returns 0, 1 (cannot read) or 2 (invalid). */
static int open_valid(const char *path, struct trace *t, struct trace_summary *s)
{
    char err[TRACE_ERR_LEN];
    int rc = trace_open(path, t, err);
    if (rc == 0 && trace_validate(t, s, err) != 0) {
        trace_close(t);
        rc = -1;
    }
    if (rc != 0)
        fprintf(stderr, "allocmark-trace: %s\n", err);
    return rc == 0 ? 0 : rc == TRACE_EIO ? 1 : 2;
}

static int cmd_from_text(const char *in, const char *out)
{
    const void *buf;
    size_t len;
    if (os_map_file(in, &buf, &len) != 0) {
        fprintf(stderr, "allocmark-trace: %s: cannot open: %s\n", in, strerror(errno));
        return 1;
    }
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    int rc = 0;
    if (trace_text_parse(in, buf, len, &w, err) != 0) {
        fprintf(stderr, "allocmark-trace: %s\n", err);
        rc = 2;
    } else if (tw_write_file(&w, out) != 0) {
        fprintf(stderr, "allocmark-trace: %s\n", w.err);
        rc = 1;
    }
    tw_free(&w);
    os_unmap_file(buf, len);
    return rc;
}

static int cmd_to_text(const char *in, const char *out)
{
    struct trace t;
    struct trace_summary s;
    int rc = open_valid(in, &t, &s);
    if (rc)
        return rc;
    struct membuf text;
    membuf_init(&text);
    char err[TRACE_ERR_LEN];
    if (trace_text_format(&t, &text, err) != 0) {
        fprintf(stderr, "allocmark-trace: %s\n", err);
        rc = 1;
    } else if (out ? os_write_file_atomic(out, text.data, text.len) : os_write_all(1, text.data, text.len)) {
        fprintf(stderr, "allocmark-trace: cannot write %s: %s\n", out ? out : "stdout", strerror(errno));
        rc = 1;
    }
    membuf_free(&text);
    trace_close(&t);
    return rc;
}

static void print_size_bucket(unsigned b, uint64_t n)
{
    if (b == 0)
        printf("  %-22s %llu\n", "0", (unsigned long long)n);
    else if (b == 1)
        printf("  %-22s %llu\n", "1", (unsigned long long)n);
    else {
        char range[48];
        snprintf(range, sizeof range, "%llu..%llu", 1ull << (b - 1), (1ull << b) - 1);
        printf("  %-22s %llu\n", range, (unsigned long long)n);
    }
}

static int cmd_info(const char *path)
{
    struct trace t;
    struct trace_summary s;
    int rc = open_valid(path, &t, &s);
    if (rc)
        return rc;
    printf("trace               %s (%s)\n", path, t.form);
    printf("size                %llu bytes decoded, %.2f bytes/record\n", (unsigned long long)t.size,
           s.n_records ? (double)t.hdr.body_bytes / (double)s.n_records : 0.0);
    printf("records             %llu (%llu ops)\n", (unsigned long long)s.n_records, (unsigned long long)s.n_ops);
    printf("ops by kind        ");
    for (unsigned k = TR_MALLOC; k <= TR_FREE; k++)
        printf(" %s %llu", trace_kind_name(k), (unsigned long long)s.count[k]);
    printf("\nmarkers             phase %llu, idle %llu (%llu ms in all)\n", (unsigned long long)s.count[TR_PHASE],
           (unsigned long long)s.count[TR_IDLE], (unsigned long long)s.idle_ms_total);
    printf("threads             %u declared, %u with ops; %llu starts, %llu exits\n", s.n_threads, s.threads_used,
           (unsigned long long)s.count[TR_THREAD_START], (unsigned long long)s.count[TR_THREAD_EXIT]);
    printf("cross-thread        %llu frees, %llu reallocs\n", (unsigned long long)s.cross_thread_frees,
           (unsigned long long)s.cross_thread_reallocs);
    printf("objects             %u ids; peak live %llu; live at end %llu\n", s.n_objects,
           (unsigned long long)s.peak_live_objects, (unsigned long long)s.final_live_objects);
    printf("peak live bytes     %llu\n", (unsigned long long)s.peak_live_bytes);
    printf("live bytes at end   %llu\n", (unsigned long long)s.final_live_bytes);
    printf("requested bytes     %llu in all; largest %llu; largest alignment %llu\n",
           (unsigned long long)s.requested_bytes, (unsigned long long)s.max_size, (unsigned long long)s.max_align);
    printf("request sizes (bytes, allocations):\n");
    for (unsigned b = 0; b < TRACE_SIZE_BUCKETS; b++)
        if (s.size_hist[b])
            print_size_bucket(b, s.size_hist[b]);
    trace_close(&t);
    return 0;
}

static int cmd_validate(int n, char **paths)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        struct trace t;
        struct trace_summary s;
        int v = open_valid(paths[i], &t, &s);
        if (v != 0) {
            rc = v > rc ? v : rc;
            continue;
        }
        printf("%s: valid (%llu records, %llu ops)\n", paths[i], (unsigned long long)s.n_records,
               (unsigned long long)s.n_ops);
        trace_close(&t);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "from-text") == 0)
        return cmd_from_text(argv[2], argv[3]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "to-text") == 0)
        return cmd_to_text(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 3 && strcmp(argv[1], "info") == 0)
        return cmd_info(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "gen") == 0)
        return gen_command(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "record") == 0)
        return record_command(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "import-heaptrack") == 0)
        return import_heaptrack_command(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "validate") == 0)
        return cmd_validate(argc - 2, argv + 2);
    usage(stderr);
    return 1;
}
