/* gen_churn.c - `churn`: a pool of `live` objects; each step frees a random one
 * and allocates its replacement (mimalloc-bench's "alloc-test" and glibc's
 * bench-malloc-simple in spirit). Keys:
 *   threads = 1          each thread churns its own pool (frees stay local)
 *   live    = 20000      objects per thread (shape: not scaled)
 *   ops     = 10M        allocator calls in the steady phase, all threads (scaled)
 *   size    = uniform 16..4K
 *   batch   = 256        ops a thread runs before the next thread's turn
 * Phases: warmup (fill), steady (replace), teardown (free all). */
#include <stdlib.h>

#include "gen.h"

int gen_churn(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t threads, live, ops, batch;
    struct size_dist size;
    if (spec_count(s, "threads", 1, 1, 256, &threads) || spec_count(s, "live", 20000, 1, 100000000, &live) ||
        spec_count(s, "ops", 10e6, 1, 1e11, &ops) || spec_dist(s, "size", "uniform 16..4K", &size) ||
        spec_count(s, "batch", 256, 1, 1e9, &batch))
        return -1;
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    ops = gen_scaled(g, ops, 2);

    struct gen_set *pool = calloc(threads, sizeof *pool);
    if (!pool)
        return gen_bad(g, "threads", "out of memory");
    gen_phase(g, "warmup");
    for (uint32_t t = 0; t < threads; t++)
        for (uint64_t i = 0; i < live && !g->failed; i++) {
            uint64_t sz = dist_sample(&size, &g->rng);
            gen_set_push(&pool[t], (struct gen_obj){.id = gen_malloc(g, t, sz), .size = sz, .thread = t});
        }
    gen_phase(g, "steady");
    for (uint64_t done = 0; done < ops && !g->failed;)
        for (uint32_t t = 0; t < threads && done < ops; t++)
            for (uint64_t k = 0; k < batch && done < ops; k += 2, done += 2) {
                struct gen_set *p = &pool[t];
                struct gen_obj *o = &p->v[rng_below(&g->rng, p->n)];
                gen_free(g, t, o->id);
                o->size = dist_sample(&size, &g->rng);
                o->id = gen_malloc(g, t, o->size);
            }
    gen_phase(g, "teardown");
    for (uint32_t t = 0; t < threads; t++) {
        for (size_t i = 0; i < pool[t].n && !g->failed; i++)
            gen_free(g, t, pool[t].v[i].id);
        gen_set_free(&pool[t]);
    }
    free(pool);
    return gen_end(g);
}
