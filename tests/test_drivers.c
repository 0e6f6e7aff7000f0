/* test_drivers.c - the driver binaries end to end: every allocator in $ALLOCATORS
 * (from $ALLOCMARK_BIN) replays hand-written traces; the JSON carries every field
 * with the exact op and live figures; --dry, --latency, --timeline, --json, --histogram
 * and bad input behave as documented; multi-thread traces replay on every allocator
 * to the same final live bytes. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../harness/mtstream.h"
#include "scratch_dir.h"
#include "small_trace.h"

extern char **environ;

static char scratch_dir[] = "/tmp/allocmark-test-drivers-XXXXXX";
static const char *bindir;
static char allocators[256];
static char out[1 << 20], err[1 << 16];

static int setup(void **state)
{
    (void)state;
    bindir = getenv("ALLOCMARK_BIN") ? getenv("ALLOCMARK_BIN") : "build/bin";
    snprintf(allocators, sizeof allocators, "%s",
             getenv("ALLOCATORS") ? getenv("ALLOCATORS") : "glibc jemalloc tcmalloc mimalloc");
    return scratch_dir_make("test-drivers");
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

/* Run bindir/prog with args (NULL-terminated); stdout -> out, stderr -> err. */
static int run(const char *prog, ...)
{
    char path[PATH_MAX + 64], so[PATH_MAX + 16], se[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", bindir, prog);
    snprintf(so, sizeof so, "%s/stdout", scratch_dir);
    snprintf(se, sizeof se, "%s/stderr", scratch_dir);
    char *argv[32] = { path };
    int argc = 1;
    va_list ap;
    va_start(ap, prog);
    for (const char *a; argc < 31 && (a = va_arg(ap, const char *));)
        argv[argc++] = (char *)a;
    va_end(ap);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, so, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, se, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s", path);
    int status;
    waitpid(pid, &status, 0);
    slurp(so, out, sizeof out);
    slurp(se, err, sizeof err);
    if (!WIFEXITED(status))
        fail_msg("%s died: %s", path, err);
    return WEXITSTATUS(status);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[8][PATH_MAX + 64];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, PATH_MAX + 64, "%s/%s", scratch_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* The number after "key": in a JSON line (fails the test if absent). */
static double num(const char *json, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p)
        fail_msg("no %s in %s", key, json);
    return strtod(p + strlen(pat), NULL);
}

static int has(const char *json, const char *text) { return strstr(json, text) != NULL; }


static const char *required[] = {
    "allocator", "allocator_version", "trace", "ops", "threads", "wall_ns", "ns_per_op", "init_ns", "user_s",
    "sys_s", "minor_faults", "major_faults", "baseline_rss_bytes", "peak_rss_bytes", "final_rss_bytes",
    "peak_live_bytes", "frag_peak", "frag_mean", "frag_end", "idle", "alloc_stats", "phases",
};

static void check_small_json(const char *json, const char *alloc, int dry)
{
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\":", required[i]);
        if (!has(json, pat))
            fail_msg("%s: no %s in %s", alloc, required[i], json);
    }
    char want[64];
    snprintf(want, sizeof want, "\"allocator\":\"%s\"", alloc);
    assert_true(has(json, want));
    assert_true(has(json, dry ? "\"dry\":true" : "\"dry\":false"));
    assert_int_equal(num(json, "ops"), 8);
    assert_int_equal(num(json, "threads"), 1);
    assert_int_equal(num(json, "peak_live_bytes"), 5164);
    assert_int_equal(num(json, "final_live_bytes"), 5000);
    assert_true(num(json, "wall_ns") > 0);
    assert_true(num(json, "ns_per_op") > 0);
    assert_true(has(json, "\"idle\":[{\"op\":5,\"ms\":5,"));
    assert_true(has(json, "\"name\":\"steady\""));
    assert_int_equal(strchr(json, '\n') - json + 1, strlen(json)); /* one line */
}

static void test_every_allocator_small_trace(void **state)
{
    (void)state;
    const char *trace = write_file("small.txt", small_trace);
    char list[256], prog[64];
    snprintf(list, sizeof list, "%s", allocators);
    for (char *save, *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        snprintf(prog, sizeof prog, "allocmark-%s", a);
        assert_int_equal(run(prog, trace, NULL), 0);
        check_small_json(out, a, 0);
        assert_true(has(out, "\"alloc_stats\":{\"allocated\":")); /* every adapter has stats */
        assert_int_equal(run(prog, "--dry", trace, NULL), 0);
        check_small_json(out, a, 1);
        assert_int_equal(run(prog, "--latency", "--release-at-idle", "--touch", "full", trace, NULL), 0);
        check_small_json(out, a, 0);
        assert_true(has(out, "\"latency\":{\"timer\":{\"ticks_per_ns\":"));
        assert_true(has(out, "\"aligned\":{\"count\":1,"));
        assert_true(num(out, "p99_9_ns") >= 0);
        assert_true(has(out, "\"release_rc\":0"));
    }
}

/* 24 MiB of small and medium objects, then churn: RSS must cover the live bytes. */
static void test_fragmentation_at_least_one(void **state)
{
    (void)state;
    static char text[4 << 20];
    size_t n = 0;
    uint64_t x = 12345;
    for (int i = 0; i < 12000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        n += (size_t)snprintf(text + n, sizeof text - n, "t0 malloc %d %llu\n", i, (unsigned long long)(16 + (x >> 33) % 4081));
    }
    for (int i = 0; i < 12000; i += 2)
        n += (size_t)snprintf(text + n, sizeof text - n, "t0 free %d\nt0 malloc %d 3000\n", i, i + 100000);
    const char *trace = write_file("frag.txt", text);
    char list[256], prog[64];
    snprintf(list, sizeof list, "%s", allocators);
    for (char *save, *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        snprintf(prog, sizeof prog, "allocmark-%s", a);
        assert_int_equal(run(prog, trace, NULL), 0);
        double frag = num(out, "frag_peak");
        if (frag < 1.0 || frag > 3.0)
            fail_msg("%s: frag_peak %g outside [1, 3]: %s", a, frag, out);
        assert_true(num(out, "peak_rss_bytes") >= num(out, "peak_live_bytes"));
        assert_true(num(out, "minor_faults") > 1000);
    }
}

static void test_outputs_to_files(void **state)
{
    (void)state;
    const char *trace = write_file("out.txt", small_trace);
    char json[PATH_MAX + 16], csv[PATH_MAX + 16], buf[1 << 16];
    snprintf(json, sizeof json, "%s/out.json", scratch_dir);
    snprintf(csv, sizeof csv, "%s/out.csv", scratch_dir);
    assert_int_equal(run("allocmark-glibc", "--json", json, "--timeline", csv, trace, trace, NULL), 0);
    assert_string_equal(out, ""); /* JSON went to the file */
    slurp(json, buf, sizeof buf);
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    assert_true(has(buf, "\"ops\":8") && has(second + 1, "\"ops\":8"));
    slurp(csv, buf, sizeof buf);
    static const char header[] = "trace,op,t_ns,rss_bytes,live_bytes,event,index\n";
    assert_true(strncmp(buf, header, strlen(header)) == 0);
    int lines = 0;
    for (char *p = buf; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 1 + 2 * 13); /* header, then 8 op samples + 5 marker samples per trace */
    assert_true(has(buf, ",idle_after,0\n") && has(buf, ",phase,1\n"));
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *bad = write_file("bad.txt", "t0 malloc 1 16\nt0 free 2\n");
    assert_int_equal(run("allocmark-glibc", bad, NULL), 2);
    assert_true(has(err, "bad.txt:2:") && has(err, "not live"));
    const char *junk = write_file("junk.trace", "\x01\x02garbage");
    const char *typo = write_file("typo.trace", "t0 malloc 1 16\nT0 free 1\n");
    assert_int_equal(run("allocmark-glibc", typo, NULL), 2);
    assert_true(has(err, "typo.trace:2: expected a thread"));
    assert_int_equal(run("allocmark-glibc", junk, NULL), 2);
    assert_true(has(err, "junk.trace: byte 0: bad magic"));
    assert_int_equal(run("allocmark-glibc", "/nonexistent/trace", NULL), 1); /* I/O, not a bad trace */
    assert_true(has(err, "/nonexistent/trace: cannot open"));
    assert_int_equal(run("allocmark-glibc", "--touch", "some", bad, NULL), 1);
    assert_true(has(err, "--touch"));
    assert_int_equal(run("allocmark-glibc", NULL), 1);
    assert_int_equal(run("allocmark-glibc", "--help", NULL), 0);
    static const char *opts[] = { "--latency", "--dry", "--touch", "--release-at-idle", "--checkpoints",
                                  "--alloc-opt", "--json", "--timeline", "--histogram" };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_true(has(out, opts[i]));
}

/* Producer/consumer on two threads: t1 allocates, t2 reallocs some and frees all
 * but the last 16, so every free is remote and ids are reused across threads;
 * plus a short-lived thread 3 that exits and starts again. Every allocator
 * (through --json) ends with the same, exact live bytes. */
static void test_multi_thread_every_allocator(void **state)
{
    (void)state;
    static char text[1 << 20];
    size_t n = 0;
    uint64_t live = 0;
    for (int i = 0; i < 5000; i++) {
        unsigned size = 16 + (unsigned)(i * 53) % 3000;
        n += (size_t)snprintf(text + n, sizeof text - n, "t1 malloc %d %u\n", i % 32, size);
        if (i >= 5000 - 16)
            live += size;
        int j = i - 16;
        if (j >= 0 && j % 5 == 0)
            n += (size_t)snprintf(text + n, sizeof text - n, "t2 realloc %d %u\n", j % 32, 100 + j % 700);
        if (j >= 0)
            n += (size_t)snprintf(text + n, sizeof text - n, "t2 free %d\n", j % 32);
        if (i % 1000 == 999)
            n += (size_t)snprintf(text + n, sizeof text - n, "phase p%d\nt3 calloc 9999 3 7\nt3 free 9999\nt3 exit\n", i);
    }
    const char *trace = write_file("prodcons.txt", text);
    char list[256], prog[64], json[PATH_MAX + 16], buf[1 << 16];
    snprintf(json, sizeof json, "%s/mt.json", scratch_dir);
    snprintf(list, sizeof list, "%s", allocators);
    for (char *save, *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        snprintf(prog, sizeof prog, "allocmark-%s", a);
        for (int dry = 0; dry < 2; dry++) {
            if (run(prog, "--json", json, dry ? "--dry" : "--touch", dry ? trace : "full", dry ? NULL : trace, NULL) != 0)
                fail_msg("%s: %s", a, err);
            slurp(json, buf, sizeof buf);
            if (num(buf, "final_live_bytes") != (double)live)
                fail_msg("%s: final_live_bytes %g, want %llu: %s", a, num(buf, "final_live_bytes"),
                         (unsigned long long)live, buf);
            assert_int_equal(num(buf, "threads"), 3);
            assert_int_equal(num(buf, "ops"), 5000 + 4984 + 997 + 10);
            /* t2's first op on each of t1's objects waits; t1 frees nothing, so it
             * takes fresh slots until t2 has freed more than the MTS_RING slots it
             * keeps, then each slot t2 passed on (mtstream.c), waiting for its free */
            assert_int_equal(num(buf, "dep_ops"), 4984 + (5000 - 16 - MTS_RING - 1));
            assert_true(has(buf, "\"per_thread\":[{\"thread\":1,\"ops\":5000,"));
            assert_true(has(buf, "{\"thread\":3,\"ops\":10,"));
            assert_true(has(buf, "\"starts\":5,\"exits\":5,"));
            assert_true(has(buf, "\"name\":\"p3999\""));
        }
    }
}

/* --histogram FILE: kind,lo_ns,hi_ns,count rows, as parsed back by the test. */
struct hist_csv {
    int n;
    struct {
        char kind[16];
        double lo, hi;
        unsigned long long count;
    } row[8192];
};

static void read_hist_csv(const char *path, struct hist_csv *h)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("no histogram file %s", path);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "kind,lo_ns,hi_ns,count\n");
    h->n = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(h->n < (int)(sizeof h->row / sizeof h->row[0]));
        if (sscanf(line, "%15[a-z],%lf,%lf,%llu", h->row[h->n].kind, &h->row[h->n].lo, &h->row[h->n].hi,
                   &h->row[h->n].count) != 4)
            fail_msg("bad histogram row: %s", line);
        assert_true(h->row[h->n].lo < h->row[h->n].hi && h->row[h->n].count > 0);
        if (h->n > 0 && strcmp(h->row[h->n - 1].kind, h->row[h->n].kind) == 0)
            assert_true(h->row[h->n - 1].hi <= h->row[h->n].lo); /* in value order, disjoint */
        h->n++;
    }
    fclose(f);
}

/* The bucket [*lo, *hi) holding rank ceil(pct/100*count) of kind's rows. */
static void csv_percentile(const struct hist_csv *h, const char *kind, unsigned long long count, double pct,
                           double *lo, double *hi)
{
    unsigned long long rank = (unsigned long long)ceil(pct / 100.0 * (double)count - 1e-9), seen = 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < h->n; i++) {
        if (strcmp(h->row[i].kind, kind) != 0)
            continue;
        seen += h->row[i].count;
        if (seen >= rank) {
            *lo = h->row[i].lo;
            *hi = h->row[i].hi;
            return;
        }
    }
    fail_msg("%s: rank %llu beyond the %llu counts of the CSV", kind, rank, seen);
}

/* Every kind's bucket counts sum to the JSON's count for that kind (the top-level,
 * all-threads "latency" object), and the JSON's p50 and p99 lie in the bucket the
 * CSV puts that rank in (the CSV rounds to 0.001 ns, the JSON to 6 digits). */
static void check_histogram_against_json(const char *json, const struct hist_csv *h, int want_kinds)
{
    static const char *const kinds[] = { "malloc", "calloc", "realloc", "aligned", "free" };
    const char *lat = strstr(json, "\"latency\":{\"timer\":");
    assert_non_null(lat);
    int kinds_seen = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        unsigned long long sum = 0;
        for (int i = 0; i < h->n; i++)
            if (strcmp(h->row[i].kind, kinds[k]) == 0)
                sum += h->row[i].count;
        char pat[48];
        snprintf(pat, sizeof pat, "\"%s\":{\"count\":", kinds[k]);
        const char *obj = strstr(lat, pat);
        if (!obj) {
            assert_int_equal(sum, 0);
            continue;
        }
        kinds_seen++;
        unsigned long long count = (unsigned long long)num(obj, "count");
        if (sum != count)
            fail_msg("%s: CSV counts sum to %llu, JSON count %llu", kinds[k], sum, count);
        static const struct {
            const char *key;
            double pct;
        } ps[] = { { "p50_ns", 50 }, { "p99_ns", 99 } };
        for (size_t p = 0; p < 2; p++) {
            double lo = 0, hi = 0, v = num(obj, ps[p].key), slack = 1e-3 + 1e-5 * v;
            csv_percentile(h, kinds[k], count, ps[p].pct, &lo, &hi);
            if (v < lo - slack || v > hi + slack)
                fail_msg("%s %s: JSON %g outside the CSV's bucket [%g, %g)", kinds[k], ps[p].key, v, lo, hi);
        }
    }
    assert_int_equal(kinds_seen, want_kinds);
}

static void test_histogram_file(void **state)
{
    (void)state;
    static char text[1 << 20];
    size_t n = 0;
    /* one thread: every op kind, sizes spread so the latencies spread over buckets */
    for (int i = 0; i < 6000; i++) {
        unsigned size = 16 + (unsigned)(i * 7919) % 20000;
        n += (size_t)snprintf(text + n, sizeof text - n, "t0 malloc %d %u\n", i, size);
        if (i % 3 == 0)
            n += (size_t)snprintf(text + n, sizeof text - n, "t0 realloc %d %u\n", i, size * 2);
        if (i % 50 == 0)
            n += (size_t)snprintf(text + n, sizeof text - n, "t0 calloc %d 3 %u\nt0 aligned %d 256 %u\n",
                                  100000 + i, size, 200000 + i, size);
        if (i >= 100)
            n += (size_t)snprintf(text + n, sizeof text - n, "t0 free %d\n", i - 100);
    }
    const char *one = write_file("hist1.txt", text);
    /* two threads: t1 allocates, t2 frees (merged over the threads in the CSV) */
    n = 0;
    for (int i = 0; i < 4000; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "t1 malloc %d %d\nt2 free %d\n", i, 16 + i % 3000, i);
    const char *two = write_file("hist2.txt", text);
    static struct hist_csv h;
    static char json[sizeof out];
    char csv[PATH_MAX + 16];
    snprintf(csv, sizeof csv, "%s/hist.csv", scratch_dir);
    char list[256], prog[64];
    snprintf(list, sizeof list, "%s", allocators);
    for (char *save, *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        snprintf(prog, sizeof prog, "allocmark-%s", a);
        unlink(csv);
        if (run(prog, "--latency", "--histogram", csv, one, NULL) != 0)
            fail_msg("%s: %s", a, err);
        memcpy(json, out, sizeof out);
        read_hist_csv(csv, &h);
        check_histogram_against_json(json, &h, 5);
        unlink(csv);
        if (run(prog, "--latency", "--histogram", csv, two, NULL) != 0)
            fail_msg("%s: %s", a, err);
        memcpy(json, out, sizeof out);
        assert_int_equal(num(json, "threads"), 2);
        read_hist_csv(csv, &h);
        check_histogram_against_json(json, &h, 2);
        assert_int_equal(num(strstr(json, "\"latency\":{\"timer\":"), "count"), 4000); /* malloc, all of t1 */
    }
    /* refused, with nothing written: without --latency, and with several traces */
    unlink(csv);
    assert_int_equal(run("allocmark-glibc", "--histogram", csv, one, NULL), 1);
    assert_true(has(err, "--histogram") && has(err, "needs --latency"));
    assert_int_equal(run("allocmark-glibc", "--latency", "--histogram", csv, one, two, NULL), 1);
    assert_true(has(err, "--histogram") && has(err, "one TRACE"));
    assert_int_equal(access(csv, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocator_small_trace),
        cmocka_unit_test(test_fragmentation_at_least_one),
        cmocka_unit_test(test_outputs_to_files),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_multi_thread_every_allocator),
        cmocka_unit_test(test_histogram_file),
    };
    return cmocka_run_group_tests_name("drivers", tests, setup, scratch_dir_teardown);
}
