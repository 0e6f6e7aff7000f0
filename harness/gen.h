/* gen.h - workload generators: a spec (spec.h) in, a trace (trace.h) out.
 *
 * Each generator is one function in its own file (gen_<name>.c), listed in the
 * table in gen.c. It reads its parameters from the spec, calls gen_begin (which
 * refuses unknown keys, and stops here when only checking a spec), then writes
 * records through the gen_* helpers. Same spec + seed + scale = the same bytes:
 * generators use only g->rng for randomness and never look at time or addresses.
 *
 * Scale: `scale` in the spec times --scale multiplies the work (op counts,
 * rounds, durations: gen_scaled / gen_scaled_ms), never the shape (sizes, live-set
 * bounds, client counts), so a smoke run stresses the same things, briefly. */
#ifndef ALLOCMARK_GEN_H
#define ALLOCMARK_GEN_H

#include <stdint.h>

#include "rng.h"
#include "spec.h"
#include "trace.h"

struct gen {
    struct spec *spec;
    struct trace_writer *w;
    struct rng rng;
    double scale;     /* spec scale x --scale */
    uint64_t seed;
    int check_only;   /* read and check the parameters, write nothing */
    uint64_t next_id; /* object ids handed out by gen_new_id */
    int failed;       /* a write failed; err says why */
    char err[SPEC_ERR_LEN];
};

struct generator {
    const char *name;
    int (*run)(struct gen *g); /* 0, or -1 with g->err (or g->spec->err) set */
    const char *summary;       /* one line for `allocmark-trace gen --list` */
};

extern const struct generator gen_table[];
const struct generator *gen_find(const char *name);

/* After the parameters are read: -1 on an unknown key (error set), 1 when only
 * checking (the generator returns 0 at once), 0 to go on. */
int gen_begin(struct gen *g);
/* The generator's return: 0, or -1 if any write failed. */
int gen_end(struct gen *g);
/* Refuse a combination of parameters: "FILE:LINE: key: reason" (the line of
 * key, or just FILE when the key was defaulted). Returns -1. */
int gen_bad(struct gen *g, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* n scaled by g->scale, at least `floor` (so a smoke run still does something). */
uint64_t gen_scaled(const struct gen *g, uint64_t n, uint64_t floor);
uint64_t gen_scaled_ms(const struct gen *g, uint64_t ms);

/* ---- writing records: each returns the object id (allocations) or 0/-1 and
 * marks g->failed with the reason on failure, so loops may test g->failed. */
uint64_t gen_malloc(struct gen *g, uint32_t thread, uint64_t size);
uint64_t gen_calloc(struct gen *g, uint32_t thread, uint64_t nmemb, uint64_t elem);
uint64_t gen_aligned(struct gen *g, uint32_t thread, uint64_t align, uint64_t size);
int gen_realloc(struct gen *g, uint32_t thread, uint64_t id, uint64_t size);
int gen_free(struct gen *g, uint32_t thread, uint64_t id);
int gen_phase(struct gen *g, const char *name);
int gen_idle(struct gen *g, uint64_t ms);
int gen_thread_exit(struct gen *g, uint32_t thread);

/* ---- a set of live objects with O(1) random removal (order not kept) ---- */
struct gen_obj {
    uint64_t id, size;
    uint32_t thread; /* the thread that allocated it */
    uint32_t tag;    /* the generator's own use */
};
struct gen_set {
    struct gen_obj *v;
    size_t n, cap;
};
void gen_set_push(struct gen_set *s, struct gen_obj o);
/* Remove and return element i (the last one takes its place). */
struct gen_obj gen_set_take(struct gen_set *s, size_t i);
void gen_set_free(struct gen_set *s);

/* Generate from a parsed spec into w. Returns 0 or -1 with err set. */
int gen_run(struct spec *s, struct trace_writer *w, double scale_factor, int have_seed, uint64_t seed,
            int check_only, char *err);

/* The generators (one file each). */
int gen_kvserver(struct gen *g);
int gen_churn(struct gen *g);
int gen_burst(struct gen *g);
int gen_larson(struct gen *g);
int gen_prodcons(struct gen *g);
int gen_fragment(struct gen *g);
int gen_idle_gen(struct gen *g);
int gen_realloc_gen(struct gen *g);
int gen_sizes(struct gen *g);
int gen_aligned_gen(struct gen *g);

#endif
