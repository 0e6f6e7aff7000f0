/* gen.c - the generator table, the keys every spec shares, and the helpers
 * generators write records with. */
#include "gen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct generator gen_table[] = {
    {"kvserver", gen_kvserver, "API server: bounded clients, keys and values in a bounded table, worker threads"},
    {"churn", gen_churn, "a pool of N live objects, each op replaces a random one"},
    {"burst", gen_burst, "allocate N small objects, free them all, repeat"},
    {"larson", gen_larson, "threads churn and hand a share of their objects to the next thread"},
    {"prodcons", gen_prodcons, "producers allocate, consumers free: every free is remote"},
    {"fragment", gen_fragment, "fill small, free a pattern, then allocate larger; or sizes that grow"},
    {"idle", gen_idle_gen, "grow to a peak, drop to a share, idle, grow again"},
    {"realloc", gen_realloc_gen, "growing buffers: doubling and small steps"},
    {"sizes", gen_sizes, "one short phase per size class: latency by size"},
    {"aligned", gen_aligned_gen, "aligned allocations mixed with plain ones"},
    {NULL, NULL, NULL},
};

const struct generator *gen_find(const char *name)
{
    for (const struct generator *g = gen_table; g->name; g++)
        if (strcmp(g->name, name) == 0)
            return g;
    return NULL;
}

static void fail(struct gen *g, const char *what)
{
    if (!g->failed)
        snprintf(g->err, sizeof g->err, "%.255s: %s: %.511s", g->spec->name, what, g->w->err);
    g->failed = 1;
}

int gen_begin(struct gen *g)
{
    const char *name = spec_peek(g->spec, "generator");
    if (spec_check_unused(g->spec, name ? name : "?") != 0)
        return -1;
    return g->check_only ? 1 : 0;
}

int gen_end(struct gen *g) { return g->failed ? -1 : 0; }

int gen_bad(struct gen *g, const char *key, const char *fmt, ...)
{
    char why[SPEC_ERR_LEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    struct spec *s = g->spec;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, key) == 0) {
            snprintf(s->err, sizeof s->err, "%.255s:%u: %.64s: %.400s", s->name, s->e[i].line, key, why);
            return -1;
        }
    snprintf(s->err, sizeof s->err, "%.255s: %.64s (default): %.400s", s->name, key, why);
    return -1;
}

uint64_t gen_scaled(const struct gen *g, uint64_t n, uint64_t floor)
{
    double v = round((double)n * g->scale);
    uint64_t r = v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
    return r < floor ? floor : r;
}

uint64_t gen_scaled_ms(const struct gen *g, uint64_t ms) { return ms ? gen_scaled(g, ms, 1) : 0; }

uint64_t gen_malloc(struct gen *g, uint32_t thread, uint64_t size)
{
    uint64_t id = g->next_id++;
    if (tw_malloc(g->w, thread, id, size) != 0)
        fail(g, "malloc");
    return id;
}

uint64_t gen_calloc(struct gen *g, uint32_t thread, uint64_t nmemb, uint64_t elem)
{
    uint64_t id = g->next_id++;
    if (tw_calloc(g->w, thread, id, nmemb, elem) != 0)
        fail(g, "calloc");
    return id;
}

uint64_t gen_aligned(struct gen *g, uint32_t thread, uint64_t align, uint64_t size)
{
    uint64_t id = g->next_id++;
    if (tw_aligned(g->w, thread, id, align, size) != 0)
        fail(g, "aligned");
    return id;
}

int gen_realloc(struct gen *g, uint32_t thread, uint64_t id, uint64_t size)
{
    if (tw_realloc(g->w, thread, id, size) == 0)
        return 0;
    fail(g, "realloc");
    return -1;
}

int gen_free(struct gen *g, uint32_t thread, uint64_t id)
{
    if (tw_free_obj(g->w, thread, id) == 0)
        return 0;
    fail(g, "free");
    return -1;
}

int gen_phase(struct gen *g, const char *name)
{
    if (tw_phase(g->w, name, strlen(name)) == 0)
        return 0;
    fail(g, "phase");
    return -1;
}

int gen_idle(struct gen *g, uint64_t ms)
{
    if (tw_idle(g->w, ms) == 0)
        return 0;
    fail(g, "idle");
    return -1;
}

int gen_thread_exit(struct gen *g, uint32_t thread)
{
    if (tw_thread_exit(g->w, thread) == 0)
        return 0;
    fail(g, "thread exit");
    return -1;
}

/* The generator's own bookkeeping comes from libc: allocmark-trace is never a
 * measured process. Running out of memory here is fatal and says so. */
void gen_set_push(struct gen_set *s, struct gen_obj o)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        struct gen_obj *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "allocmark-trace: out of memory for %zu live objects\n", cap);
            exit(1);
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = o;
}

struct gen_obj gen_set_take(struct gen_set *s, size_t i)
{
    struct gen_obj o = s->v[i];
    s->v[i] = s->v[--s->n];
    return o;
}

void gen_set_free(struct gen_set *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

int gen_run(struct spec *s, struct trace_writer *w, double scale_factor, int have_seed, uint64_t seed,
            int check_only, char *err)
{
    const char *name, *description;
    uint64_t spec_seed;
    double spec_scale;
    if (spec_string(s, "generator", NULL, &name) != 0 || spec_string(s, "description", "", &description) != 0 ||
        spec_count(s, "seed", 1, 0, UINT64_MAX, &spec_seed) != 0 ||
        spec_real(s, "scale", 1.0, 1e-6, 1e6, &spec_scale) != 0) {
        snprintf(err, SPEC_ERR_LEN, "%s", s->err);
        return -1;
    }
    const struct generator *gd = gen_find(name);
    if (!gd) {
        char list[256] = "";
        for (const struct generator *x = gen_table; x->name; x++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", x == gen_table ? "" : ", ", x->name);
        for (size_t i = 0; i < s->n; i++)
            if (strcmp(s->e[i].key, "generator") == 0)
                snprintf(err, SPEC_ERR_LEN, "%s:%u: generator: unknown generator `%s` (known: %s)", s->name,
                         s->e[i].line, name, list);
        return -1;
    }
    struct gen g = {.spec = s, .w = w, .scale = spec_scale * scale_factor, .check_only = check_only};
    g.seed = have_seed ? seed : spec_seed;
    rng_seed(&g.rng, g.seed);
    if (!(g.scale > 0) || g.scale > 1e6) {
        snprintf(err, SPEC_ERR_LEN, "%s: scale %g (spec scale x --scale) is outside (0, 1e6]", s->name, g.scale);
        return -1;
    }
    int rc = gd->run(&g);
    if (rc != 0)
        snprintf(err, SPEC_ERR_LEN, "%s", g.failed ? g.err : s->err);
    return rc;
}
