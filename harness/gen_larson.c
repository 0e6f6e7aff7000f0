/* gen_larson.c - `larson`: Larson & Krishnan's server benchmark ("Memory
 * allocation for long-running server applications", ISMM 1998), as
 * mimalloc-bench runs it (`larson 5 8 1000 5000 100 4141 N`). Keys:
 *   threads = 2             slot arrays, one worker each at a time
 *   slots   = 5000          objects per array (shape: not scaled)
 *   size    = uniform 8..1000   mimalloc-bench's larson sizes
 *   ops     = 60M           allocator calls in the steady phase, all threads (scaled)
 *   rounds  = 50            the steady phase's rounds; after each, every array
 *                           changes hands (not scaled: a smoke run hands over as often)
 *   handoff = next          next: array i goes to thread (i+1) mod threads, a fixed
 *                           pool of threads; new-thread: as the original, the
 *                           worker exits and a new thread takes its array
 *   batch   = 256           ops a thread runs before the next thread's turn
 *
 * Thread 0 is the main thread: as in larson's warmup() it allocates every
 * array's objects, so the first round already frees remotely. A step frees a
 * random slot and allocates a new object of random size into it; a thread frees
 * what the array's previous owner allocated, so each round boundary brings a
 * wave of cross-thread frees. With handoff = next, thread 0 is also the first
 * owner of array 0; with new-thread, array i's owner in round r is thread
 * 1 + r*threads + i. Phases: warmup (fill), steady, teardown (each array freed
 * by its last owner, which then exits). */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

struct larson {
    struct gen *g;
    uint64_t threads, slots, rounds, batch;
    int fresh_threads; /* handoff = new-thread */
    struct size_dist size;
    uint64_t *slot; /* threads x slots object ids */
};

static uint32_t owner(const struct larson *l, uint64_t array, uint64_t round)
{
    if (l->fresh_threads)
        return (uint32_t)(1 + round * l->threads + array);
    return (uint32_t)((array + round) % l->threads);
}

/* n replacements in array a by thread t. */
static void replace(struct larson *l, uint64_t a, uint32_t t, uint64_t n)
{
    struct gen *g = l->g;
    uint64_t *v = l->slot + a * l->slots;
    for (uint64_t i = 0; i < n && !g->failed; i++) {
        uint64_t *o = &v[rng_below(&g->rng, l->slots)];
        gen_free(g, t, *o);
        *o = gen_malloc(g, t, dist_sample(&l->size, &g->rng));
    }
}

int gen_larson(struct gen *g)
{
    struct spec *s = g->spec;
    struct larson l = {.g = g};
    uint64_t ops;
    const char *handoff;
    if (spec_count(s, "threads", 2, 1, 1024, &l.threads) || spec_count(s, "slots", 5000, 1, 10000000, &l.slots) ||
        spec_dist(s, "size", "uniform 8..1000", &l.size) || spec_count(s, "ops", 60e6, 2, 1e11, &ops) ||
        spec_count(s, "rounds", 50, 1, 1000000, &l.rounds) || spec_string(s, "handoff", "next", &handoff) ||
        spec_count(s, "batch", 256, 2, 1e9, &l.batch))
        return -1;
    if (strcmp(handoff, "next") != 0 && strcmp(handoff, "new-thread") != 0)
        return gen_bad(g, "handoff", "`%s` is not a handoff (next or new-thread)", handoff);
    l.fresh_threads = strcmp(handoff, "new-thread") == 0;
    if (l.threads * l.slots > 100000000)
        return gen_bad(g, "slots", "threads x slots is above 100M objects");
    if (l.fresh_threads && 1 + l.rounds * l.threads > TRACE_MAX_THREADS)
        return gen_bad(g, "rounds", "with handoff = new-thread, 1 + rounds x threads threads must be at most %u",
                       TRACE_MAX_THREADS);
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    uint64_t steps = gen_scaled(g, ops, 2) / 2; /* a step is a free and a malloc */

    l.slot = calloc(l.threads * l.slots, sizeof *l.slot);
    if (!l.slot)
        return gen_bad(g, "slots", "out of memory");
    gen_phase(g, "warmup");
    for (uint64_t i = 0; i < l.threads * l.slots && !g->failed; i++)
        l.slot[i] = gen_malloc(g, 0, dist_sample(&l.size, &g->rng));
    gen_phase(g, "steady");
    uint64_t per_batch = l.batch / 2;
    for (uint64_t r = 0; r < l.rounds && !g->failed; r++) {
        /* this round's steps, split evenly over the arrays, run batch by batch */
        uint64_t round_steps = steps * (r + 1) / l.rounds - steps * r / l.rounds;
        uint64_t per_array = round_steps / l.threads, extra = round_steps % l.threads;
        for (uint64_t done = 0; done < per_array + (extra > 0) && !g->failed; done += per_batch)
            for (uint64_t a = 0; a < l.threads; a++) {
                uint64_t mine = per_array + (a < extra);
                if (done < mine)
                    replace(&l, a, owner(&l, a, r), mine - done < per_batch ? mine - done : per_batch);
            }
        if (l.fresh_threads && r + 1 < l.rounds)
            for (uint64_t a = 0; a < l.threads; a++)
                if (per_array + (a < extra) > 0) /* a thread with no step never started */
                    gen_thread_exit(g, owner(&l, a, r));
    }
    gen_phase(g, "teardown");
    uint64_t last = l.rounds - 1;
    for (uint64_t a = 0; a < l.threads && !g->failed; a++)
        for (uint64_t i = 0; i < l.slots; i++)
            gen_free(g, owner(&l, a, last), l.slot[a * l.slots + i]);
    for (uint64_t a = 0; a < l.threads && !g->failed; a++)
        if (owner(&l, a, last) != 0)
            gen_thread_exit(g, owner(&l, a, last));
    free(l.slot);
    return gen_end(g);
}
