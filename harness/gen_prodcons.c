/* gen_prodcons.c - `prodcons`: producer threads allocate messages, consumer
 * threads free them, so every free is remote (mimalloc-bench's xmalloc-test,
 * after Lever & Boreham's "malloc() performance in a multithreaded Linux
 * environment", 2000). Keys:
 *   producers = 1         threads 0 .. producers-1
 *   consumers = 1         the next threads: disjoint from the producers
 *   messages  = 20M       messages sent, each one malloc and one remote free (scaled)
 *   size      = lognormal 256,1.0 clamped 16..4K   (xmalloc-test uses fixed 64)
 *   depth     = 1000      at most this many messages in flight (the queue bound)
 *   batch     = 64        messages a producer sends, or a consumer takes, in a row
 *
 * One shared FIFO queue. Each step either a producer (in turn) sends a batch,
 * as far as the queue has room, or a consumer (in turn) takes a batch, as far
 * as it holds messages; which one is a coin toss, so the queue's fill wanders
 * over 0..depth instead of sitting at one level. Phases: steady, then teardown
 * (the consumers drain the queue; the threads other than 0 exit). */
#include <stdlib.h>

#include "gen.h"

/* Consumer t takes up to batch messages from the head of the queue and frees them. */
static void consume(struct gen *g, uint32_t t, const uint64_t *q, uint64_t depth, uint64_t *head, uint64_t *n,
                    uint64_t batch)
{
    for (uint64_t i = 0; i < batch && *n; i++, --*n, *head = (*head + 1) % depth)
        gen_free(g, t, q[*head]);
}

int gen_prodcons(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t producers, consumers, messages, depth, batch;
    struct size_dist size;
    if (spec_count(s, "producers", 1, 1, 1024, &producers) || spec_count(s, "consumers", 1, 1, 1024, &consumers) ||
        spec_count(s, "messages", 20e6, 1, 1e11, &messages) ||
        spec_dist(s, "size", "lognormal 256,1.0 clamped 16..4K", &size) ||
        spec_count(s, "depth", 1000, 1, 100000000, &depth) || spec_count(s, "batch", 64, 1, 1e9, &batch))
        return -1;
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    messages = gen_scaled(g, messages, 1);

    /* the queue: a ring of depth ids, oldest at head */
    uint64_t *q = calloc(depth, sizeof *q);
    if (!q)
        return gen_bad(g, "depth", "out of memory");
    uint64_t head = 0, n = 0, sent = 0, next_p = 0, next_c = 0;
    uint32_t first_c = (uint32_t)producers;
    gen_phase(g, "steady");
    while (sent < messages && !g->failed) {
        if (n < depth && (n == 0 || rng_chance(&g->rng, 0.5))) {
            uint32_t t = (uint32_t)(next_p++ % producers);
            for (uint64_t i = 0; i < batch && n < depth && sent < messages; i++, sent++)
                q[(head + n++) % depth] = gen_malloc(g, t, dist_sample(&size, &g->rng));
        } else {
            consume(g, first_c + (uint32_t)(next_c++ % consumers), q, depth, &head, &n, batch);
        }
    }
    gen_phase(g, "teardown");
    while (n && !g->failed)
        consume(g, first_c + (uint32_t)(next_c++ % consumers), q, depth, &head, &n, batch);
    free(q);
    /* every thread that ran exits, except the main thread */
    for (uint64_t t = 1; t < producers + consumers && !g->failed; t++)
        if (t < producers ? t < next_p : t - producers < next_c)
            gen_thread_exit(g, (uint32_t)t);
    return gen_end(g);
}
