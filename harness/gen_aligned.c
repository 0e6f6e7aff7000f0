/* gen_aligned.c - `aligned`: a churn mixing aligned allocations (memalign /
 * aligned_alloc / posix_memalign, as page-aligned I/O buffers, SIMD arrays and
 * cache-line-aligned structures need) with plain mallocs and some callocs, so
 * the allocator's aligned path and its effect on the plain path's reuse are
 * measured together. No widely used public benchmark isolates aligned
 * allocation; the mix follows how programs use it. Keys:
 *   live          = 20000           objects (shape)
 *   ops           = 40M             allocator calls in the steady phase (scaled)
 *   size          = uniform 16..4K
 *   align         = 16..4K          a range of powers of two (each equally likely)
 *                                   or a list: `align = 64, 4096`
 *   aligned_share = 30%             of allocations
 *   calloc_share  = 5%              of allocations (the rest are malloc)
 * Phases: warmup (fill), steady (replace), teardown (free all). */
#include <string.h>

#include "gen.h"
#include "gen_list.h"

#define MIN_ALIGN 8 /* posix_memalign's least legal alignment: every adapter takes it */
#define MAX_ALIGN ((uint64_t)1 << TRACE_MAX_ALIGN_LOG2)
#define MAX_ALIGNS (TRACE_MAX_ALIGN_LOG2 + 1)

static int is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* `A..B` (powers of two, both ends included) or a list of powers of two. */
static int parse_align(struct gen *g, const char *text, uint64_t *out)
{
    const char *dots = strstr(text, "..");
    int n;
    if (dots) {
        char a[64], bb[64];
        uint64_t lo, hi;
        size_t la = (size_t)(dots - text), lb = strlen(dots + 2);
        if (la >= sizeof a || lb >= sizeof bb)
            return gen_bad(g, "align", "expected A..B or a list of powers of two");
        memcpy(a, text, la);
        a[la] = '\0';
        memcpy(bb, dots + 2, lb + 1);
        if (spec_parse_size(a, &lo) || spec_parse_size(bb, &hi))
            return gen_bad(g, "align", "`%s`: the ends of A..B must be sizes (like 16..4K)", text);
        if (!is_pow2(lo) || !is_pow2(hi))
            return gen_bad(g, "align", "`%s`: both ends must be powers of two", text);
        if (lo < MIN_ALIGN || hi > MAX_ALIGN || lo > hi)
            return gen_bad(g, "align", "`%s`: must lie within %d..1G, low end first", text, MIN_ALIGN);
        n = 0;
        for (uint64_t x = lo; x <= hi; x *= 2)
            out[n++] = x;
        return n;
    }
    if ((n = gen_size_list(g, "align", text, MIN_ALIGN, MAX_ALIGN, out, MAX_ALIGNS)) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (!is_pow2(out[i]))
            return gen_bad(g, "align", "%llu is not a power of two", (unsigned long long)out[i]);
    return n;
}

struct mix {
    const struct size_dist *size;
    const uint64_t *align;
    int n_align;
    double aligned, calloc;
};

static uint64_t alloc_one(struct gen *g, const struct mix *m, uint64_t *size)
{
    uint64_t sz = *size = dist_sample(m->size, &g->rng);
    double u = rng_unit(&g->rng);
    if (u < m->aligned)
        return gen_aligned(g, 0, m->align[rng_below(&g->rng, (uint64_t)m->n_align)], sz);
    if (u < m->aligned + m->calloc) {
        /* element sizes as programs use them: bytes, ints, pointers, pairs */
        static const uint64_t elems[] = {1, 4, 8, 16};
        uint64_t e = elems[rng_below(&g->rng, 4)], nmemb = sz / e ? sz / e : 1;
        *size = nmemb * e;
        return gen_calloc(g, 0, nmemb, e);
    }
    return gen_malloc(g, 0, sz);
}

int gen_aligned_gen(struct gen *g)
{
    struct spec *s = g->spec;
    uint64_t live, ops, align[MAX_ALIGNS];
    struct size_dist size;
    const char *align_text;
    struct mix m = {.size = &size, .align = align};
    if (spec_count(s, "live", 20000, 1, 100000000, &live) || spec_count(s, "ops", 40e6, 1, 1e11, &ops) ||
        spec_dist(s, "size", "uniform 16..4K", &size) || spec_string(s, "align", "16..4K", &align_text) ||
        spec_real(s, "aligned_share", 0.30, 0, 1, &m.aligned) || spec_real(s, "calloc_share", 0.05, 0, 1, &m.calloc))
        return -1;
    if ((m.n_align = parse_align(g, align_text, align)) < 0)
        return -1;
    if (m.aligned + m.calloc > 1)
        return gen_bad(g, "calloc_share", "aligned_share + calloc_share is above 100%%");
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    ops = gen_scaled(g, ops, 2);

    struct gen_set v = {0};
    gen_phase(g, "warmup");
    for (uint64_t i = 0; i < live && !g->failed; i++) {
        struct gen_obj o;
        o.id = alloc_one(g, &m, &o.size);
        gen_set_push(&v, o);
    }
    gen_phase(g, "steady");
    for (uint64_t done = 0; done + 2 <= ops && !g->failed; done += 2) {
        struct gen_obj *o = &v.v[rng_below(&g->rng, v.n)];
        gen_free(g, 0, o->id);
        o->id = alloc_one(g, &m, &o->size);
    }
    gen_phase(g, "teardown");
    for (size_t i = 0; i < v.n && !g->failed; i++)
        gen_free(g, 0, v.v[i].id);
    gen_set_free(&v);
    return gen_end(g);
}
