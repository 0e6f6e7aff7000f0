/* gen_sizes.c - `sizes`: one short phase per size class, each a churn of
 * fixed-size objects, so the per-phase figures give alloc/free cost by size
 * (as glibc's benchtests/bench-malloc-simple.c times malloc/free size by size).
 * A phase `size-N` fills `live` objects of N bytes, replaces random ones for
 * `ops` allocator calls, and frees them all.
 *   sizes = (16-byte steps to 128, then 4 per doubling to `max`)
 *           or an explicit increasing list: `sizes = 16, 24, 32, 48, 64`
 *   max   = 4K               top of the default ladder (not with `sizes`)
 *   live  = 20000            objects per phase (shape)
 *   ops   = 2M               allocator calls per phase, fill and drain included (scaled) */
#include <stdio.h>

#include "gen.h"
#include "gen_list.h"

#define MAX_CLASSES 256

/* 16, 32, ..., 128, then 160, 192, 224, 256, 320, ... up to max. */
static size_t ladder(uint64_t max, uint64_t *out)
{
    size_t n = 0;
    for (uint64_t sz = 16; sz <= 128 && sz <= max; sz += 16)
        out[n++] = sz;
    for (uint64_t base = 128; n < MAX_CLASSES; base *= 2)
        for (int k = 1; k <= 4; k++) {
            uint64_t sz = base + base / 4 * (uint64_t)k;
            if (sz > max || n == MAX_CLASSES)
                return n;
            out[n++] = sz;
        }
    return n;
}

int gen_sizes(struct gen *g)
{
    struct spec *s = g->spec;
    const char *list;
    uint64_t max, live, ops, cls[MAX_CLASSES];
    int have_max = spec_peek(s, "max") != NULL;
    if (spec_string(s, "sizes", "", &list) || spec_size(s, "max", 4096, 16, (uint64_t)1 << 30, &max) ||
        spec_count(s, "live", 20000, 1, 10000000, &live) || spec_count(s, "ops", 2e6, 1, 1e11, &ops))
        return -1;
    int n;
    if (!list[0]) {
        n = (int)ladder(max, cls);
    } else if (have_max) {
        return gen_bad(g, "max", "give either `sizes` (a list) or `max` (the default ladder's top), not both");
    } else if ((n = gen_size_list(g, "sizes", list, 1, TRACE_MAX_SIZE, cls, MAX_CLASSES)) < 0) {
        return -1;
    }
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    ops = gen_scaled(g, ops, 2 * live);

    struct gen_set v = {0};
    char name[48];
    for (int c = 0; c < n && !g->failed; c++) {
        uint64_t sz = cls[c];
        snprintf(name, sizeof name, "size-%llu", (unsigned long long)sz);
        gen_phase(g, name);
        for (uint64_t i = 0; i < live && !g->failed; i++)
            gen_set_push(&v, (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz});
        /* fill and drain take 2*live of the ops; the churn the rest, in pairs */
        for (uint64_t done = 2 * live; done + 2 <= ops && !g->failed; done += 2) {
            struct gen_obj *o = &v.v[rng_below(&g->rng, v.n)];
            gen_free(g, 0, o->id);
            o->id = gen_malloc(g, 0, sz);
        }
        for (size_t i = 0; i < v.n && !g->failed; i++)
            gen_free(g, 0, v.v[i].id);
        v.n = 0;
    }
    gen_set_free(&v);
    return gen_end(g);
}
