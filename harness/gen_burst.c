/* gen_burst.c - `burst`: allocate `objects` small objects, free them all, repeat.
 * The first round touches fresh memory (page faults dominate: where a
 * pre-faulting allocator wins); later rounds show whether an allocator kept the
 * memory or gave it back between rounds (glibc trims the heap top when a burst
 * is freed, so it faults again; decaying allocators keep it unless `idle` lets
 * them decay). Inspired by mimalloc-bench's "alloc-test"/"glibc-simple" bursts and
 * the server-restart pattern of loading a cache and dropping it. Keys:
 *   objects    = 1M             per round (shape: not scaled)
 *   rounds     = 10             (scaled, at least 1)
 *   size       = uniform 16..256
 *   free_order = fifo           fifo (oldest first), lifo, or random
 *   idle       = 0ms            an idle marker after each round but the last (scaled)
 * Phases: `first` (round 1: first touch) and `repeat` (the others). */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

int gen_burst(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t objects, rounds, idle_ms;
    struct size_dist size;
    const char *order;
    if (spec_count(s, "objects", 1e6, 1, 1e9, &objects) || spec_count(s, "rounds", 10, 1, 1e9, &rounds) ||
        spec_dist(s, "size", "uniform 16..256", &size) || spec_string(s, "free_order", "fifo", &order) ||
        spec_duration_ms(s, "idle", 0, 3600000, &idle_ms))
        return -1;
    int fifo = strcmp(order, "fifo") == 0, lifo = strcmp(order, "lifo") == 0;
    if (!fifo && !lifo && strcmp(order, "random") != 0)
        return gen_bad(g, "free_order", "`%s`: expected fifo, lifo or random", order);
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    rounds = gen_scaled(g, rounds, 1);
    idle_ms = gen_scaled_ms(g, idle_ms);

    uint64_t *ids = malloc(objects * sizeof *ids);
    if (!ids)
        return gen_bad(g, "objects", "out of memory for %llu ids", (unsigned long long)objects);
    for (uint64_t r = 0; r < rounds && !g->failed; r++) {
        if (r < 2)
            gen_phase(g, r == 0 ? "first" : "repeat");
        for (uint64_t i = 0; i < objects; i++)
            ids[i] = gen_malloc(g, 0, dist_sample(&size, &g->rng));
        if (!fifo && !lifo) /* Fisher-Yates */
            for (uint64_t i = objects - 1; i > 0; i--) {
                uint64_t j = rng_below(&g->rng, i + 1), t = ids[i];
                ids[i] = ids[j];
                ids[j] = t;
            }
        for (uint64_t i = 0; i < objects && !g->failed; i++)
            gen_free(g, 0, ids[lifo ? objects - 1 - i : i]);
        if (idle_ms && r + 1 < rounds)
            gen_idle(g, idle_ms);
    }
    free(ids);
    return gen_end(g);
}
