/* gen_cli.c - `allocmark-trace gen`: a spec in, a trace file out, cached by
 * content hash so that run_all.sh generates each workload once.
 *
 * The cache key covers everything the bytes depend on: the spec's text, the
 * effective seed and scale, and the allocmark-trace executable itself (so a
 * changed generator never serves a stale trace). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "os.h"
#include "os_proc.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: allocmark-trace gen SPEC [-o OUT] [--scale X] [--seed N] [--cache-dir DIR] [--check]\n"
               "       allocmark-trace gen --list\n"
               "  Generate the trace a workload spec (workloads/*.wl) describes.\n"
               "  -o OUT         write OUT (zstd-compressed when it ends in .zst); always generates\n"
               "  (no -o)        use the cache: DIR/NAME-HASH.trace.zst, generated only if missing;\n"
               "                 the path is printed on stdout\n"
               "  --cache-dir D  the cache folder (default $ALLOCMARK_CACHE, else build/workloads)\n"
               "  --scale X      multiply the spec's work (ops, rounds, durations) by X\n"
               "  --seed N       replace the spec's seed\n"
               "  --check        check the spec and write nothing\n"
               "  --list         the generators and what each does\n"
               "The spec format is in workloads/README.md.\n");
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int cache_key(const char *spec_path, double scale, int have_seed, uint64_t seed, uint64_t *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const void *buf;
    size_t len;
    if (os_map_file("/proc/self/exe", &buf, &len) != 0)
        return -1;
    h = fnv1a(h, buf, len);
    os_unmap_file(buf, len);
    if (os_map_file(spec_path, &buf, &len) != 0)
        return -1;
    h = fnv1a(h, buf, len);
    os_unmap_file(buf, len);
    char extra[96];
    int n = snprintf(extra, sizeof extra, "|scale=%.17g|seed=%d:%llu", scale, have_seed, (unsigned long long)seed);
    *key = fnv1a(h, extra, (size_t)n);
    return 0;
}

/* DIR/NAME-HASH.trace.zst, NAME = the spec's file name without .wl */
static void cache_path(char *out, size_t len, const char *dir, const char *spec_path, uint64_t key)
{
    const char *base = strrchr(spec_path, '/');
    base = base ? base + 1 : spec_path;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".wl") == 0)
        n -= 3;
    snprintf(out, len, "%s/%.*s-%016llx.trace.zst", dir, (int)n, base, (unsigned long long)key);
}

int gen_command(int argc, char **argv)
{
    const char *spec_path = NULL, *out = NULL, *cache_dir = getenv("ALLOCMARK_CACHE");
    double scale = 1.0;
    int have_seed = 0, check_only = 0;
    uint64_t seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--list") == 0) {
            for (const struct generator *g = gen_table; g->name; g++)
                printf("%-10s %s\n", g->name, g->summary);
            return 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0 && more) {
            out = argv[++i];
        } else if (strcmp(a, "--cache-dir") == 0 && more) {
            cache_dir = argv[++i];
        } else if (strcmp(a, "--scale") == 0 && more) {
            char *end;
            scale = strtod(argv[++i], &end);
            if (*end || !(scale > 0) || scale > 1e6) {
                fprintf(stderr, "allocmark-trace gen: --scale %s: not a number in (0, 1e6]\n", argv[i]);
                return 1;
            }
        } else if (strcmp(a, "--seed") == 0 && more) {
            if (spec_parse_count(argv[++i], &seed) != 0) {
                fprintf(stderr, "allocmark-trace gen: --seed %s: not a non-negative whole number\n", argv[i]);
                return 1;
            }
            have_seed = 1;
        } else if (strcmp(a, "--check") == 0) {
            check_only = 1;
        } else if (a[0] == '-' || spec_path) {
            fprintf(stderr, "allocmark-trace gen: unexpected argument `%s`\n", a);
            usage(stderr);
            return 1;
        } else {
            spec_path = a;
        }
    }
    if (!spec_path) {
        usage(stderr);
        return 1;
    }
    if (!cache_dir || !cache_dir[0])
        cache_dir = "build/workloads";

    struct spec s;
    char err[SPEC_ERR_LEN];
    int lrc = spec_load(spec_path, &s);
    if (lrc != 0) {
        fprintf(stderr, "allocmark-trace: %s\n", s.err);
        spec_free(&s);
        return lrc == -2 ? 1 : 2;
    }
    char cached[4096];
    if (!out && !check_only) {
        uint64_t key;
        if (cache_key(spec_path, scale, have_seed, seed, &key) != 0) {
            fprintf(stderr, "allocmark-trace: %s: cannot read for the cache key: %s\n", spec_path, strerror(errno));
            spec_free(&s);
            return 1;
        }
        cache_path(cached, sizeof cached, cache_dir, spec_path, key);
        unsigned long long size;
        if (os_file_size(cached, &size) == 0 && size > 0) {
            /* cached: the spec must still be valid (same text, same program: it is) */
            printf("%s\n", cached);
            spec_free(&s);
            return 0;
        }
        if (os_make_dirs(cache_dir) != 0) {
            fprintf(stderr, "allocmark-trace: cannot create %s: %s\n", cache_dir, strerror(errno));
            spec_free(&s);
            return 1;
        }
        out = cached;
    }

    struct trace_writer w;
    tw_init(&w);
    /* Generated traces are big and their sizes random: level 3 compresses them
     * within 0.3% of level 9 in a quarter of the time (burst.wl: 0.6 s vs 2.2 s). */
    w.zstd_level = 3;
    uint64_t t0 = os_now_ns();
    int rc = gen_run(&s, &w, scale, have_seed, seed, check_only, err);
    if (rc != 0) {
        fprintf(stderr, "allocmark-trace: %s\n", err);
        rc = 2;
    } else if (check_only) {
        printf("%s: ok\n", spec_path);
    } else if (tw_write_file(&w, out) != 0) {
        fprintf(stderr, "allocmark-trace: %s\n", w.err);
        rc = 1;
    } else {
        fprintf(stderr, "allocmark-trace: %s -> %s: %llu records, %llu ops, %.1f s\n", spec_path, out,
                (unsigned long long)w.n_records, (unsigned long long)w.n_ops, (double)(os_now_ns() - t0) / 1e9);
        printf("%s\n", out);
    }
    tw_free(&w);
    spec_free(&s);
    return rc;
}
