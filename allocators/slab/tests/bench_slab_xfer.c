/* bench_slab_xfer.c - two threads, one allocating and one freeing: the
 * producer allocates blocks of random sizes 16..MAX (writing their first
 * byte) and passes them through a single-producer single-consumer ring to the
 * consumer, which reads that byte and frees them. Every chunk crosses threads,
 * so every magazine the consumer fills has to reach the producer: the case
 * the per-class depot is for (allocators/slab/README.md).
 *   bench_slab_xfer [options [blocks [runs [max]]]]   options: slab_config_parse's
 * Prints the median and the minimum over the runs of ns per block (wall time
 * over blocks; the two threads run at once, so this is also ns per alloc in
 * the one and per free in the other). Not run by make test. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../slab.h"

#define RING 4096 /* a power of two */

static struct {
    _Alignas(64) atomic_size_t head; /* consumer's */
    _Alignas(64) atomic_size_t tail; /* producer's */
    _Alignas(64) void *slot[RING];
} ring;

static struct slab_pool *pool;
static long n_blocks;
static size_t max_size;
static atomic_int go;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Spin a little, then yield: the two threads may share a CPU on a busy machine. */
static void backoff(unsigned *spins)
{
    if (++*spins < 64)
        __builtin_ia32_pause();
    else
        sched_yield();
}

static void *consumer(void *arg)
{
    (void)arg;
    unsigned long sum = 0;
    size_t h = 0, t = 0;
    while (!atomic_load_explicit(&go, memory_order_acquire))
        ;
    for (long i = 0; i < n_blocks; i++) {
        for (unsigned spins = 0; h == t; backoff(&spins))
            t = atomic_load_explicit(&ring.tail, memory_order_acquire);
        unsigned char *q = ring.slot[h % RING];
        sum += q[0];
        slab_free(pool, q);
        atomic_store_explicit(&ring.head, ++h, memory_order_release);
    }
    return (void *)sum;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *opts = argc > 1 ? argv[1] : "";
    n_blocks = argc > 2 ? atol(argv[2]) : 10000000;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    max_size = argc > 4 ? (size_t)atol(argv[4]) : 1024;
    if (runs < 1 || runs > 99 || n_blocks < 1 || max_size < 16)
        return 2;
    struct slab_config c;
    char err[256];
    slab_config_default(&c);
    if (slab_config_parse(&c, opts, err, sizeof err) != 0) {
        fprintf(stderr, "bench_slab_xfer: %s\n", err);
        return 2;
    }
    double ns[99];
    for (int run = 0; run < runs; run++) {
        if (!(pool = slab_create(&c)))
            return 1;
        atomic_store(&ring.head, 0);
        atomic_store(&ring.tail, 0);
        atomic_store(&go, 0);
        pthread_t th;
        if (pthread_create(&th, NULL, consumer, NULL) != 0)
            return 1;
        unsigned long long rng = 88172645463325252ull;
        size_t t = 0, h = 0;
        double t0 = now_ns();
        atomic_store_explicit(&go, 1, memory_order_release);
        for (long i = 0; i < n_blocks; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t n = 16 + (size_t)(rng >> 32) % (max_size - 15);
            unsigned char *q = slab_alloc(pool, n);
            if (!q)
                return 1;
            q[0] = (unsigned char)i;
            for (unsigned spins = 0; t - h == RING; backoff(&spins))
                h = atomic_load_explicit(&ring.head, memory_order_acquire);
            ring.slot[t % RING] = q;
            atomic_store_explicit(&ring.tail, ++t, memory_order_release);
        }
        pthread_join(th, NULL);
        ns[run] = (now_ns() - t0) / (double)n_blocks;
        slab_destroy(pool);
    }
    qsort(ns, (size_t)runs, sizeof ns[0], cmp_double);
    printf("%.2f ns/block median, %.2f min (%d runs of %ld blocks of 16..%zu B, options '%s')\n", ns[runs / 2],
           ns[0], runs, n_blocks, max_size, opts);
    return 0;
}
