/* gen_idle.c - `idle`: how much memory an allocator gives back to the OS when
 * the program goes quiet. Grow to `peak` bytes of small objects, free random
 * ones until `keep` of the peak is left (the survivors are scattered, so they
 * pin pages as a long-lived server's do), then an idle marker: the replayer
 * samples RSS before and after it. Grow back and repeat for `cycles`; at the end
 * free everything and idle once more (what stays when nothing is live).
 * In the spirit of the "memory returned after a load spike" measurements of
 * jemalloc's decay and tcmalloc's release-rate work. Keys:
 *   peak   = 200M             live bytes at the top of each cycle (shape)
 *   size   = uniform 16..512
 *   keep   = 10%              share of the peak left live while idle
 *   idle   = 1500ms           each idle period (scaled)
 *   cycles = 3                (scaled)
 * Phases: grow, shrink, idle (holding the idle marker), regrow, shrink, idle,
 * ..., drain, idle. */
#include "gen.h"

/* Allocate until live reaches `peak`. */
static void grow(struct gen *g, struct gen_set *v, uint64_t *live, uint64_t peak, const struct size_dist *size)
{
    while (*live < peak && !g->failed) {
        uint64_t sz = dist_sample(size, &g->rng);
        gen_set_push(v, (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz});
        *live += sz;
    }
}

int gen_idle_gen(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t peak, idle_ms, cycles;
    struct size_dist size;
    double keep;
    if (spec_size(s, "peak", 200 << 20, 1, (uint64_t)1 << 40, &peak) ||
        spec_dist(s, "size", "uniform 16..512", &size) || spec_real(s, "keep", 0.10, 0, 1, &keep) ||
        spec_duration_ms(s, "idle", 1500, TRACE_MAX_IDLE_MS, &idle_ms) ||
        spec_count(s, "cycles", 3, 1, 1000000, &cycles))
        return -1;
    if (idle_ms == 0)
        return gen_bad(g, "idle", "must be above 0ms: the idle period is what this workload measures");
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    cycles = gen_scaled(g, cycles, 1);
    idle_ms = gen_scaled_ms(g, idle_ms);

    struct gen_set v = {0};
    uint64_t live = 0, target = (uint64_t)((double)peak * keep);
    for (uint64_t c = 0; c < cycles && !g->failed; c++) {
        gen_phase(g, c ? "regrow" : "grow");
        grow(g, &v, &live, peak, &size);
        gen_phase(g, "shrink");
        while (live > target && v.n && !g->failed) {
            struct gen_obj o = gen_set_take(&v, rng_below(&g->rng, v.n));
            gen_free(g, 0, o.id);
            live -= o.size;
        }
        gen_phase(g, "idle");
        gen_idle(g, idle_ms);
    }
    gen_phase(g, "drain");
    for (size_t i = 0; i < v.n && !g->failed; i++)
        gen_free(g, 0, v.v[i].id);
    gen_phase(g, "idle");
    gen_idle(g, idle_ms);
    gen_set_free(&v);
    return gen_end(g);
}
