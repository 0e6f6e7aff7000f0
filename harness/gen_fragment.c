/* gen_fragment.c - `fragment`: memory the allocator holds but cannot use.
 *
 * mode = holes (Johnstone & Wilson's fragmentation measures; the sh6bench and
 * cfrac patterns): fill `fill` bytes with small objects, free a pattern of them
 * so the survivors pin the holes, then allocate larger objects, which the small
 * holes cannot hold, until they replace `refill` of the bytes punched out; free
 * everything and repeat for `rounds`. Phases: fill, punch, large, drain.
 *   fill    = 64M              small bytes per round (shape: not scaled)
 *   small   = uniform 16..128
 *   large   = uniform 256..4K  every large size must exceed every small one
 *   pattern = alternate | random F% | runs N
 *             (free every other; free a random F of them, exactly;
 *              free N in a row, keep one, repeat)
 *   refill  = 100%             large bytes as a share of the bytes punched out
 *   rounds  = 22               (scaled)
 *
 * mode = shift (memcached's slab calcification): a cache bounded at `live`
 * bytes whose value sizes grow: step k draws from `size` times growth^k, each op
 * stores one value, first evicting random ones until it fits under the bound. Memory
 * carved for the small values of early steps must be reused for the larger
 * ones. Phases: fill, step-0 .. step-(steps-1), drain.
 *   live   = 64M               bytes kept (shape)
 *   size   = lognormal 96,0.5 clamped 16..512   step 0's value sizes
 *   growth = 1.5               size factor per step
 *   steps  = 8
 *   ops    = 24M               allocator calls over all steps (scaled) */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "gen.h"

enum pattern { PAT_ALTERNATE, PAT_RANDOM, PAT_RUNS };

struct punch {
    enum pattern kind;
    double share;   /* random: the share freed */
    uint64_t run;   /* runs: objects freed between two kept ones */
};

static int parse_pattern(struct gen *g, const char *text, struct punch *p)
{
    const char *arg = text;
    while (*arg && !isspace((unsigned char)*arg))
        arg++;
    size_t wl = (size_t)(arg - text);
    while (isspace((unsigned char)*arg))
        arg++;
    if (wl == 9 && strncmp(text, "alternate", 9) == 0 && !*arg) {
        p->kind = PAT_ALTERNATE;
        return 0;
    }
    if (wl == 6 && strncmp(text, "random", 6) == 0) {
        char *end;
        double v = strtod(arg, &end);
        if (end != arg && *end == '%') {
            v /= 100;
            end++;
        }
        while (isspace((unsigned char)*end))
            end++;
        if (end == arg || *end || !(v > 0) || !(v < 1))
            return gen_bad(g, "pattern", "`random` takes the share freed, strictly between 0%% and 100%% "
                                         "(like `random 50%%`)");
        p->kind = PAT_RANDOM;
        p->share = v;
        return 0;
    }
    if (wl == 4 && strncmp(text, "runs", 4) == 0) {
        if (spec_parse_count(arg, &p->run) != 0 || p->run < 1 || p->run > 1000000)
            return gen_bad(g, "pattern", "`runs` takes the objects freed between two kept ones, 1..1000000 "
                                         "(like `runs 8`)");
        p->kind = PAT_RUNS;
        return 0;
    }
    return gen_bad(g, "pattern", "`%s`: expected `alternate`, `random F%%` or `runs N`", text);
}

/* Free objects of v (in allocation order) by the pattern; the survivors stay in
 * v, in order. Returns the bytes freed. */
static uint64_t punch(struct gen *g, struct gen_set *v, const struct punch *p)
{
    size_t n = v->n, kept = 0;
    /* random: selection sampling frees exactly round(n * share) objects */
    uint64_t to_free = p->kind == PAT_RANDOM ? (uint64_t)llround((double)n * p->share) : 0, bytes = 0;
    for (size_t i = 0; i < n && !g->failed; i++) {
        int freed;
        if (p->kind == PAT_ALTERNATE)
            freed = i % 2 == 1;
        else if (p->kind == PAT_RUNS)
            freed = i % (p->run + 1) != p->run;
        else if ((freed = rng_below(&g->rng, n - i) < to_free))
            to_free--;
        if (freed) {
            gen_free(g, 0, v->v[i].id);
            bytes += v->v[i].size;
        } else {
            v->v[kept++] = v->v[i];
        }
    }
    v->n = kept;
    return bytes;
}

static void drain(struct gen *g, struct gen_set *v)
{
    gen_phase(g, "drain");
    for (size_t i = 0; i < v->n && !g->failed; i++)
        gen_free(g, 0, v->v[i].id);
    v->n = 0;
}

static int holes(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t fill, rounds;
    struct size_dist small, large;
    double refill;
    const char *pattern;
    struct punch p = {0};
    if (spec_size(s, "fill", 64 << 20, 1, (uint64_t)1 << 40, &fill) || spec_dist(s, "small", "uniform 16..128", &small) ||
        spec_dist(s, "large", "uniform 256..4K", &large) || spec_string(s, "pattern", "alternate", &pattern) ||
        spec_real(s, "refill", 1.0, 0, 100, &refill) || spec_count(s, "rounds", 22, 1, 1000000, &rounds))
        return -1;
    if (parse_pattern(g, pattern, &p) != 0)
        return -1;
    /* the point is that the holes cannot hold the large objects; blame the key the user wrote */
    if (large.lo <= small.hi && spec_peek(s, "large"))
        return gen_bad(g, "large", "its smallest size (%llu) must be above the largest small size (%llu)",
                       (unsigned long long)large.lo, (unsigned long long)small.hi);
    if (large.lo <= small.hi)
        return gen_bad(g, "small", "its largest size (%llu) must be below the smallest large size (%llu)",
                       (unsigned long long)small.hi, (unsigned long long)large.lo);
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    rounds = gen_scaled(g, rounds, 1);

    struct gen_set v = {0};
    for (uint64_t r = 0; r < rounds && !g->failed; r++) {
        gen_phase(g, "fill");
        for (uint64_t live = 0; live < fill && !g->failed;) {
            uint64_t sz = dist_sample(&small, &g->rng);
            gen_set_push(&v, (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz});
            live += sz;
        }
        gen_phase(g, "punch");
        uint64_t freed = punch(g, &v, &p);
        gen_phase(g, "large");
        uint64_t want = (uint64_t)((double)freed * refill);
        for (uint64_t got = 0; got < want && !g->failed;) {
            uint64_t sz = dist_sample(&large, &g->rng);
            gen_set_push(&v, (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz});
            got += sz;
        }
        drain(g, &v);
    }
    gen_set_free(&v);
    return gen_end(g);
}

static int shift(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t live, steps, ops;
    struct size_dist size;
    double growth;
    if (spec_size(s, "live", 64 << 20, 1, (uint64_t)1 << 40, &live) ||
        spec_dist(s, "size", "lognormal 96,0.5 clamped 16..512", &size) ||
        spec_real(s, "growth", 1.5, 1.0, 16, &growth) || spec_count(s, "steps", 8, 1, 1000, &steps) ||
        spec_count(s, "ops", 24e6, 1, 1e11, &ops))
        return -1;
    if ((double)size.hi * pow(growth, (double)(steps - 1)) > (double)TRACE_MAX_SIZE)
        return gen_bad(g, "growth", "sizes would pass the trace format's limit by the last step");
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    ops = gen_scaled(g, ops, 2 * steps);

    struct gen_set v = {0};
    uint64_t bytes = 0;
    double factor = 1; /* growth^k by multiplication: exact IEEE steps, the same everywhere */
    gen_phase(g, "fill");
    for (;;) {
        uint64_t sz = dist_sample(&size, &g->rng);
        if (bytes + sz > live || g->failed)
            break;
        gen_set_push(&v, (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz});
        bytes += sz;
    }
    char name[32];
    for (uint64_t k = 0; k < steps && !g->failed; k++, factor *= growth) {
        snprintf(name, sizeof name, "step-%llu", (unsigned long long)k);
        gen_phase(g, name);
        uint64_t quota = ops / steps + (k < ops % steps);
        for (uint64_t done = 0; done < quota && !g->failed;) {
            uint64_t sz = (uint64_t)llround((double)dist_sample(&size, &g->rng) * factor);
            /* evict random values until the new one fits under the bound */
            while (bytes + sz > live && v.n && !g->failed) {
                struct gen_obj o = gen_set_take(&v, rng_below(&g->rng, v.n));
                gen_free(g, 0, o.id);
                bytes -= o.size;
                done++;
            }
            gen_set_push(&v, (struct gen_obj){.id = gen_malloc(g, 0, sz), .size = sz});
            bytes += sz;
            done++;
        }
    }
    drain(g, &v);
    gen_set_free(&v);
    return gen_end(g);
}

int gen_fragment(struct gen *g)
{
    const char *mode;
    if (spec_string(g->spec, "mode", "holes", &mode))
        return -1;
    if (strcmp(mode, "holes") == 0)
        return holes(g);
    if (strcmp(mode, "shift") == 0)
        return shift(g);
    return gen_bad(g, "mode", "`%s`: expected `holes` or `shift`", mode);
}
