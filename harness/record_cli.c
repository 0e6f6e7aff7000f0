/* record_cli.c - `allocmark-trace record`: run a program under the LD_PRELOAD
 * recorder (build/lib/libamrecord.so, harness/record/rec_*.c), then turn the raw
 * logs it wrote (one per process) into v1 traces (harness/record/raw_convert.c).
 *
 * The traced command's process gives OUT; every other process that ran under the
 * recorder (forked children, programs it ran) gives OUT's name with ".PID" before
 * ".trace" (".PID-N" for the N-th program one pid exec'd). For the command's own
 * pid, the last program it exec'd is OUT (so `env X=1 prog` traces prog). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <x86intrin.h>

#include "os.h"
#include "os_proc.h"
#include "record/raw_convert.h"
#include "trace.h"

#define ME "allocmark-trace record"

static void usage(FILE *f)
{
    fprintf(f, "usage: allocmark-trace record [-o OUT] [--idle-gap MS] [--raw-dir DIR] [--keep-raw] -- CMD ARGS...\n"
               "  Run CMD with every malloc, free, calloc, realloc, reallocarray, posix_memalign,\n"
               "  aligned_alloc, memalign, valloc and pvalloc call recorded (LD_PRELOAD of\n"
               "  ../lib/libamrecord.so next to this program), and write the calls as a trace.\n"
               "  -o OUT          the trace of CMD's process (default CMD.trace.zst; zstd when it\n"
               "                  ends in .zst). Other processes CMD starts get OUT with\n"
               "                  .PID before its .trace[.zst] ending (x.PID.trace.zst).\n"
               "  --idle-gap MS   a pause of more than MS ms between two calls becomes an idle\n"
               "                  marker (default 1000; 0: no markers)\n"
               "  --raw-dir DIR   where the raw logs go (32 bytes per call; default a new folder in\n"
               "                  /dev/shm, so that they are never written back to a disk, else\n"
               "                  in $TMPDIR or /tmp)\n"
               "  --keep-raw      keep the raw logs\n"
               "A summary of each trace goes to stderr. Exit status: CMD's (128+N if signal N\n"
               "killed it), or 1 if a trace could not be written.\n");
}

struct raw_file {
    unsigned long pid, n;
    char name[64];
};

struct raw_list {
    struct raw_file *v;
    size_t len, cap;
};

static int collect(const char *name, void *arg)
{
    struct raw_list *l = arg;
    unsigned long pid, n;
    int end = 0;
    if (sscanf(name, "raw.%lu.%lu%n", &pid, &n, &end) != 2 || name[end] || strlen(name) >= sizeof l->v->name)
        return 0;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct raw_file *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    struct raw_file *f = &l->v[l->len++];
    f->pid = pid;
    f->n = n;
    strcpy(f->name, name);
    return 0;
}

static int by_pid_n(const void *a, const void *b)
{
    const struct raw_file *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* OUT with ".PID" (or ".PID-N") before its ".trace[.zst]" ending. */
static void side_name(char *buf, size_t len, const char *out, unsigned long pid, unsigned long n)
{
    size_t base = strlen(out);
    const char *zst = base >= 4 && strcmp(out + base - 4, ".zst") == 0 ? ".zst" : "";
    base -= strlen(zst);
    int trace = base >= 6 && strncmp(out + base - 6, ".trace", 6) == 0;
    if (trace)
        base -= 6;
    if (n)
        snprintf(buf, len, "%.*s.%lu-%lu.trace%s", (int)base, out, pid, n, zst);
    else
        snprintf(buf, len, "%.*s.%lu.trace%s", (int)base, out, pid, zst);
}

static void summary(const char *out, const struct raw_log *l, const struct raw_convert_stats *s, int full)
{
    uint64_t ops = 0;
    for (unsigned k = TR_MALLOC; k <= TR_FREE; k++)
        ops += s->ops[k];
    unsigned long long tsize = 0;
    os_file_size(out, &tsize);
    if (!full) { /* another process: one line */
        fprintf(stderr, "%s: %s (pid %llu, %s): %llu ops, %llu threads, %llu dropped frees\n", ME, out,
                (unsigned long long)l->hdr.pid, l->hdr.exe, (unsigned long long)ops, (unsigned long long)s->threads,
                (unsigned long long)s->dropped_frees);
        return;
    }
    fprintf(stderr, "%s: %s (pid %llu, %s)\n", ME, out, (unsigned long long)l->hdr.pid, l->hdr.exe);
    fprintf(stderr, "  ops      %llu: malloc %llu, calloc %llu, realloc %llu, aligned %llu, free %llu\n",
            (unsigned long long)ops, (unsigned long long)s->ops[TR_MALLOC], (unsigned long long)s->ops[TR_CALLOC],
            (unsigned long long)s->ops[TR_REALLOC], (unsigned long long)s->ops[TR_ALIGNED],
            (unsigned long long)s->ops[TR_FREE]);
    fprintf(stderr, "  threads  %llu\n", (unsigned long long)s->threads);
    fprintf(stderr, "  dropped  %llu frees of pointers never seen allocated; %llu reallocs of such pointers (as malloc)\n",
            (unsigned long long)s->dropped_frees, (unsigned long long)s->unknown_reallocs);
    fprintf(stderr, "  skipped  %llu failed allocations, %llu too large for the format; %llu implied frees\n",
            (unsigned long long)s->failed, (unsigned long long)s->skipped, (unsigned long long)s->implied_frees);
    if (s->nested || s->after_exit || s->lost)
        fprintf(stderr,
                "  unrecorded calls  %llu in signal handlers inside the recorder, %llu after their thread's exit, "
                "%llu lost (no log space)\n",
                (unsigned long long)s->nested, (unsigned long long)s->after_exit, (unsigned long long)s->lost);
    fprintf(stderr, "  idle     %llu markers (%llu ms)\n", (unsigned long long)s->idle_markers,
            (unsigned long long)s->idle_ms);
    uint64_t raw_bytes = s->records * sizeof(struct raw_rec);
    fprintf(stderr, "  size     trace %llu bytes (%.2f bytes/op); raw log %llu records, %llu bytes (%.1f bytes/op)\n",
            tsize, ops ? (double)tsize / (double)ops : 0.0, (unsigned long long)s->records,
            (unsigned long long)raw_bytes, ops ? (double)raw_bytes / (double)ops : 0.0);
}

/* Convert one raw log to out. 0 or -1 (message printed). */
static int convert_one(const char *raw, const char *out, const struct raw_convert_opts *o, int full)
{
    struct raw_log l;
    char err[512];
    if (raw_open(raw, &l, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", ME, err);
        return -1;
    }
    struct trace_writer w;
    tw_init(&w);
    struct raw_convert_stats s;
    int rc = raw_convert(&l, o, &w, &s, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s: %s: %s\n", ME, raw, err);
    else if ((rc = tw_write_file(&w, out)) != 0)
        fprintf(stderr, "%s: %s\n", ME, w.err);
    else
        summary(out, &l, &s, full);
    tw_free(&w);
    raw_close(&l);
    return rc;
}

static int write_empty(const char *out)
{
    struct trace_writer w;
    tw_init(&w);
    int rc = tw_write_file(&w, out);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", ME, w.err);
    tw_free(&w);
    return rc;
}

static int parse_ms(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || x > TRACE_MAX_IDLE_MS)
        return -1;
    *v = x;
    return 0;
}

int record_command(int argc, char **argv)
{
    const char *out = NULL, *raw_dir_opt = NULL;
    uint64_t idle_gap = 1000;
    int keep = 0, i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0 && more) {
            out = argv[++i];
        } else if (strcmp(a, "--idle-gap") == 0 && more) {
            if (parse_ms(argv[++i], &idle_gap) != 0) {
                fprintf(stderr, "%s: --idle-gap %s: not a whole number of ms up to %u\n", ME, argv[i],
                        TRACE_MAX_IDLE_MS);
                return 1;
            }
        } else if (strcmp(a, "--raw-dir") == 0 && more) {
            raw_dir_opt = argv[++i];
        } else if (strcmp(a, "--keep-raw") == 0) {
            keep = 1;
        } else if (a[0] == '-') {
            usage(stderr);
            return 1;
        } else {
            break; /* CMD without "--" */
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    char **cmd = argv + i;
    char default_out[PATH_MAX];
    if (!out) {
        const char *base = strrchr(cmd[0], '/');
        snprintf(default_out, sizeof default_out, "%s.trace.zst", base ? base + 1 : cmd[0]);
        out = default_out;
    }

    char lib[PATH_MAX], dir[PATH_MAX], prefix[PATH_MAX + 8];
    const char *env_lib = getenv("AMRECORD_LIB");
    if (env_lib && *env_lib)
        snprintf(lib, sizeof lib, "%s", env_lib);
    else if (os_self_dir(dir, sizeof dir) == 0)
        snprintf(lib, sizeof lib, "%.*s/../lib/libamrecord.so", PATH_MAX - 32, dir);
    else
        lib[0] = '\0';
    if (!lib[0] || access(lib, R_OK) != 0) {
        fprintf(stderr, "%s: cannot find the recorder library %s (build it with make)\n", ME, lib);
        return 1;
    }
    int made_dir = !raw_dir_opt;
    if (raw_dir_opt ? (snprintf(dir, sizeof dir, "%s", raw_dir_opt), os_make_dir(dir))
                    : os_make_temp_dir(dir, sizeof dir, os_dir_writable("/dev/shm") ? "/dev/shm" : NULL, "amrecord")) {
        fprintf(stderr, "%s: cannot make a folder for the raw logs (%s): %s\n", ME, dir, strerror(errno));
        return 1;
    }
    snprintf(prefix, sizeof prefix, "%s/raw", dir);
    const char *old = getenv("LD_PRELOAD");
    char *preload = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    if (!preload)
        return 1;
    sprintf(preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    setenv("AMRECORD_RAW", prefix, 1);
    setenv("LD_PRELOAD", preload, 1);
    free(preload);

    uint64_t tsc0 = __rdtsc(), ns0 = os_now_ns();
    pid_t pid = 0;
    int status = 0;
    if (os_spawn_wait(cmd, &pid, &status) != 0) {
        fprintf(stderr, "%s: cannot run %s: %s\n", ME, cmd[0], strerror(errno));
        return 1;
    }
    uint64_t tsc1 = __rdtsc(), ns1 = os_now_ns();
    unsetenv("LD_PRELOAD");
    unsetenv("AMRECORD_RAW");
    struct raw_convert_opts o = { .idle_gap_ms = idle_gap };
    o.ticks_per_ms = ns1 > ns0 && tsc1 > tsc0 ? (double)(tsc1 - tsc0) * 1e6 / (double)(ns1 - ns0) : 1e6;

    struct raw_list raws = { 0 };
    int rc = 0;
    if (os_list_dir(dir, collect, &raws) != 0) {
        fprintf(stderr, "%s: cannot list %s: %s\n", ME, dir, strerror(errno));
        rc = 1;
    }
    qsort(raws.v, raws.len, sizeof *raws.v, by_pid_n);
    size_t main_idx = SIZE_MAX;
    for (size_t k = 0; k < raws.len; k++)
        if (raws.v[k].pid == (unsigned long)pid)
            main_idx = k; /* the last image of the command's pid */
    if (rc == 0 && main_idx == SIZE_MAX && status != 127) {
        fprintf(stderr, "%s: %s made no allocation under the recorder (a static program?): "
                        "%s holds an empty trace\n", ME, cmd[0], out);
        if (write_empty(out) != 0)
            rc = 1;
    }
    for (size_t k = 0; k < raws.len; k++) {
        char raw[PATH_MAX + 80], side[PATH_MAX + 48];
        snprintf(raw, sizeof raw, "%s/%s", dir, raws.v[k].name);
        if (k != main_idx)
            side_name(side, sizeof side, out, raws.v[k].pid, raws.v[k].n);
        if (convert_one(raw, k == main_idx ? out : side, &o, k == main_idx) != 0)
            rc = 1;
        if (!keep)
            os_remove_file(raw);
    }
    if (keep)
        fprintf(stderr, "%s: raw logs kept in %s\n", ME, dir);
    else if (made_dir)
        os_remove_dir(dir);
    free(raws.v);
    if (status < 0)
        fprintf(stderr, "%s: %s was killed by signal %d\n", ME, cmd[0], -status);
    else if (status)
        fprintf(stderr, "%s: %s exited with status %d\n", ME, cmd[0], status);
    if (rc)
        return 1;
    return status < 0 ? 128 - status : status;
}
