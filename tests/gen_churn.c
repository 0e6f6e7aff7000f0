/* gen_churn.c - a simple random churn trace for tests and the harness benchmark
 * (the real workload generators come with the workload suite).
 * usage: gen_churn OUT OPS LIVE MIN MAX SEED [THREADS [REMOTE_PCT]]
 * Fills LIVE objects, then each step frees a random live object and allocates a
 * new one of a uniform random size in [MIN, MAX]; frees everything at the end.
 * With THREADS > 1 (multi-thread replay), the live set is split evenly, the steps
 * go round-robin over the threads, each freeing one of its own objects, or with
 * probability REMOTE_PCT% one of another thread's (a cross-thread free; the new
 * object takes its place, so its owner frees it later). THREADS 1 writes the same
 * trace as before the argument existed. */
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
    if (argc < 7 || argc > 9) {
        fprintf(stderr, "usage: %s OUT OPS LIVE MIN MAX SEED [THREADS [REMOTE_PCT]]\n", argv[0]);
        return 1;
    }
    uint64_t threads = argc > 7 ? strtoull(argv[7], NULL, 10) : 1;
    uint64_t remote = argc > 8 ? strtoull(argv[8], NULL, 10) : 0;
    uint64_t ops = strtoull(argv[2], NULL, 10), live = strtoull(argv[3], NULL, 10);
    uint64_t lo = strtoull(argv[4], NULL, 10), hi = strtoull(argv[5], NULL, 10);
    rng_state = strtoull(argv[6], NULL, 10);
    if (live == 0 || hi < lo || ops < 2 * live || threads == 0 || threads > live || threads > 65536 ||
        remote > 100) {
        fprintf(stderr, "%s: need LIVE > 0, MIN <= MAX, OPS >= 2*LIVE, 1 <= THREADS <= LIVE and REMOTE_PCT <= 100\n",
                argv[0]);
        return 1;
    }
    uint64_t per = live / threads; /* objects [t*per, (t+1)*per) belong to thread t; the rest to the last */
    uint64_t *ids = os_map(live * sizeof *ids);
    struct trace_writer w;
    tw_init(&w);
    uint64_t next_id = 0, done = 0;
    int rc = tw_phase(&w, "warmup", 6);
    for (uint64_t j = 0; j < live && rc == 0; j++, done++) { /* round-robin: ids interleave */
        uint64_t t = j < per * threads ? j % threads : threads - 1;
        uint64_t i = j < per * threads ? t * per + j / threads : j;
        ids[i] = next_id++;
        rc = tw_malloc(&w, (uint32_t)t, ids[i], lo + rng() % (hi - lo + 1));
    }
    if (rc == 0)
        rc = tw_phase(&w, "steady", 6);
    for (uint64_t step = 0; rc == 0 && done + 2 + live <= ops; step++) {
        uint64_t t = step % threads, u = t;
        if (threads > 1 && rng() % 100 < remote)
            u = (t + 1 + rng() % (threads - 1)) % threads;
        uint64_t first = u * per, n = u == threads - 1 ? live - first : per;
        uint64_t k = first + rng() % n;
        rc = tw_free_obj(&w, (uint32_t)t, ids[k]);
        ids[k] = next_id++;
        if (rc == 0)
            rc = tw_malloc(&w, (uint32_t)t, ids[k], lo + rng() % (hi - lo + 1));
        done += 2;
    }
    if (rc == 0)
        rc = tw_phase(&w, "teardown", 8);
    for (uint64_t i = 0; i < live && rc == 0; i++)
        rc = tw_free_obj(&w, (uint32_t)(i / per < threads ? i / per : threads - 1), ids[i]);
    if (rc == 0)
        rc = tw_write_file(&w, argv[1]);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", argv[0], w.err);
    tw_free(&w);
    return rc ? 1 : 0;
}
