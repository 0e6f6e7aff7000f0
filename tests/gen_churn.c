/* gen_churn.c - a simple random churn trace for tests and the harness benchmark
 * (the real workload generators come with the workload suite).
 * usage: gen_churn OUT OPS LIVE MIN MAX SEED
 * Fills LIVE objects, then each step frees a random live object and allocates a
 * new one of a uniform random size in [MIN, MAX]; frees everything at the end. */
#include <stdio.h>
#include <stdlib.h>

#include "../harness/os.h"
#include "../harness/trace.h"

static uint64_t rng_state;

static uint64_t rng(void) /* splitmix64: tiny, deterministic */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s OUT OPS LIVE MIN MAX SEED\n", argv[0]);
        return 1;
    }
    uint64_t ops = strtoull(argv[2], NULL, 10), live = strtoull(argv[3], NULL, 10);
    uint64_t lo = strtoull(argv[4], NULL, 10), hi = strtoull(argv[5], NULL, 10);
    rng_state = strtoull(argv[6], NULL, 10);
    if (live == 0 || hi < lo || ops < 2 * live) {
        fprintf(stderr, "%s: need LIVE > 0, MIN <= MAX and OPS >= 2*LIVE\n", argv[0]);
        return 1;
    }
    uint64_t *ids = os_map(live * sizeof *ids);
    struct trace_writer w;
    tw_init(&w);
    uint64_t next_id = 0, done = 0;
    int rc = tw_phase(&w, "warmup", 6);
    for (uint64_t i = 0; i < live && rc == 0; i++, done++) {
        ids[i] = next_id++;
        rc = tw_malloc(&w, 0, ids[i], lo + rng() % (hi - lo + 1));
    }
    if (rc == 0)
        rc = tw_phase(&w, "steady", 6);
    while (rc == 0 && done + 2 + live <= ops) {
        uint64_t k = rng() % live;
        rc = tw_free_obj(&w, 0, ids[k]);
        ids[k] = next_id++;
        if (rc == 0)
            rc = tw_malloc(&w, 0, ids[k], lo + rng() % (hi - lo + 1));
        done += 2;
    }
    if (rc == 0)
        rc = tw_phase(&w, "teardown", 8);
    for (uint64_t i = 0; i < live && rc == 0; i++)
        rc = tw_free_obj(&w, 0, ids[i]);
    if (rc == 0)
        rc = tw_write_file(&w, argv[1]);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", argv[0], w.err);
    tw_free(&w);
    return rc ? 1 : 0;
}
