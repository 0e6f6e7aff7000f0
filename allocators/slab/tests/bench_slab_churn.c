/* bench_slab_churn.c - ns per operation of a steady churn loop on a slab pool:
 * LIVE blocks of random sizes 16..4096, each step frees a random one and
 * allocates a new one in its place (writing its first and last byte). Built
 * twice, against the release objects and the debug ones (make slab-debug), to
 * give the debug build's cost in allocators/slab/README.md.
 *   bench_slab_churn [options [ops [runs [live]]]]   options: slab_config_parse's; live <= 4096
 * Prints the median of the runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../slab.h"

#define LIVE 4096

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *opts = argc > 1 ? argv[1] : "";
    long ops = argc > 2 ? atol(argv[2]) : 20000000;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    unsigned n_live = argc > 4 ? (unsigned)atoi(argv[4]) : LIVE;
    if (runs < 1 || runs > 99 || ops < 1 || n_live < 1 || n_live > LIVE)
        return 2;
    struct slab_config c;
    char err[256];
    slab_config_default(&c);
    if (slab_config_parse(&c, opts, err, sizeof err) != 0) {
        fprintf(stderr, "bench_slab_churn: %s\n", err);
        return 2;
    }
    static unsigned char *live[LIVE];
    static size_t size[LIVE];
    double ns[99];
    for (int run = 0; run < runs; run++) {
        struct slab_pool *p = slab_create(&c);
        if (!p)
            return 1;
        unsigned long long rng = 88172645463325252ull;
        for (unsigned i = 0; i < n_live; i++) {
            size[i] = 16 + (size_t)(i * 997) % 4081;
            live[i] = slab_alloc(p, size[i]);
        }
        double t0 = now_ns();
        for (long op = 0; op < ops; op++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            unsigned i = (unsigned)(rng % n_live);
            slab_free(p, live[i]);
            size_t n = 16 + (size_t)(rng >> 32) % 4081;
            unsigned char *q = slab_alloc(p, n);
            q[0] = 1;
            q[n - 1] = 2;
            live[i] = q;
            size[i] = n;
        }
        ns[run] = (now_ns() - t0) / (2.0 * (double)ops); /* an op: one alloc or one free */
        for (unsigned i = 0; i < n_live; i++)
            slab_free(p, live[i]);
        slab_destroy(p);
    }
    qsort(ns, (size_t)runs, sizeof ns[0], cmp_double);
    printf("%.2f ns/op (median of %d runs of %ld alloc+free pairs, %u live, options '%s')\n", ns[runs / 2], runs, ops,
           n_live, opts);
    return 0;
}
