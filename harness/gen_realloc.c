/* gen_realloc.c - `realloc`: buffers that grow, as vectors and string builders
 * do. `building` buffers grow at once, a step at a time in random interleaving
 * (so a neighbour is often in the way of growing in place). A vector (share
 * `doubling`) starts at `initial` bytes and doubles its capacity until it holds
 * its final size (drawn from `final`); `shrink` of them are then shrunk to fit
 * (realloc down to the final size). A string builder starts with one append and
 * grows by appends drawn from `step` until it is exactly its final size. A
 * finished buffer joins a pool of `finished` ones (a random old one is freed
 * to make room), and a new buffer starts in its place. The growth rules are those
 * of C++'s std::vector (geometric) and of append-built C strings and Redis's sds.
 *   buffers  = 3500k           buffers built in all (scaled)
 *   building = 1000            growing at once (shape)
 *   finished = 10000           finished buffers kept alive (shape; 0 = freed at once)
 *   final    = lognormal 1024,1.0 clamped 16..256K
 *   doubling = 30%             share of buffers that are vectors
 *   initial  = 16              a vector's first capacity
 *   step     = uniform 16..256 a string append
 *   shrink   = 25%             share of vectors shrunk to fit at the end
 * Phases: warmup (until the finished pool is full), steady, teardown. */
#include <stdlib.h>

#include "gen.h"

enum { VECTOR = 1 };

struct build {
    const struct size_dist *final, *step;
    double doubling, shrink;
    uint64_t initial;
};

/* Start a buffer (tag: vector or string) and draw its final size into *fin. */
static struct gen_obj start(struct gen *g, const struct build *b, uint64_t *fin)
{
    *fin = dist_sample(b->final, &g->rng);
    int vec = rng_chance(&g->rng, b->doubling);
    uint64_t sz = vec ? b->initial : dist_sample(b->step, &g->rng);
    if (!vec && sz > *fin)
        sz = *fin;
    return (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz, .tag = vec ? VECTOR : 0};
}

/* One growth step; 1 when the buffer is finished (shrunk to fit if chosen). */
static int grow(struct gen *g, const struct build *b, struct gen_obj *o, uint64_t fin)
{
    if (o->size >= fin) { /* a vector whose first capacity already holds it */
        if (o->size > fin && rng_chance(&g->rng, b->shrink)) {
            gen_realloc(g, 0, o->id, fin);
            o->size = fin;
        }
        return 1;
    }
    uint64_t sz = o->tag == VECTOR ? 2 * o->size : o->size + dist_sample(b->step, &g->rng);
    if (o->tag != VECTOR && sz > fin)
        sz = fin; /* the last append ends the string */
    gen_realloc(g, 0, o->id, sz);
    o->size = sz;
    return 0;
}

int gen_realloc_gen(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t buffers, building, finished;
    struct size_dist final, step;
    struct build b = {.final = &final, .step = &step};
    if (spec_count(s, "buffers", 3.5e6, 1, 1e10, &buffers) || spec_count(s, "building", 1000, 1, 10000000, &building) ||
        spec_count(s, "finished", 10000, 0, 100000000, &finished) ||
        spec_dist(s, "final", "lognormal 1024,1.0 clamped 16..256K", &final) ||
        spec_real(s, "doubling", 0.30, 0, 1, &b.doubling) || spec_size(s, "initial", 16, 1, (uint64_t)1 << 30, &b.initial) ||
        spec_dist(s, "step", "uniform 16..256", &step) || spec_real(s, "shrink", 0.25, 0, 1, &b.shrink))
        return -1;
    if (final.hi > TRACE_MAX_SIZE / 2)
        return gen_bad(g, "final", "a vector doubling past it would exceed the trace format's limit");
    int bg = gen_begin(g);
    if (bg)
        return bg < 0 ? -1 : 0;
    buffers = gen_scaled(g, buffers, 1);
    if (building > buffers)
        building = buffers;

    struct gen_set act = {0}, done = {0};
    uint64_t *fin = malloc(building * sizeof *fin), started = 0;
    if (!fin)
        return gen_bad(g, "building", "out of memory");
    gen_phase(g, finished ? "warmup" : "steady");
    for (; started < building && !g->failed; started++) {
        gen_set_push(&act, start(g, &b, &fin[act.n]));
    }
    int steady = !finished;
    while (act.n && !g->failed) {
        size_t i = rng_below(&g->rng, act.n);
        if (!grow(g, &b, &act.v[i], fin[i]))
            continue;
        if (finished) {
            if (done.n == finished) {
                if (!steady) {
                    gen_phase(g, "steady");
                    steady = 1;
                }
                gen_free(g, 0, gen_set_take(&done, rng_below(&g->rng, done.n)).id);
            }
            gen_set_push(&done, act.v[i]);
        } else {
            gen_free(g, 0, act.v[i].id);
        }
        if (started < buffers) {
            act.v[i] = start(g, &b, &fin[i]);
            started++;
        } else { /* the last one takes its place, with its final size */
            fin[i] = fin[act.n - 1];
            gen_set_take(&act, i);
        }
    }
    gen_phase(g, "teardown");
    for (size_t i = 0; i < done.n && !g->failed; i++)
        gen_free(g, 0, done.v[i].id);
    free(fin);
    gen_set_free(&act);
    gen_set_free(&done);
    return gen_end(g);
}
