/* gen_kvserver.c - `kvserver`: an API server in front of an in-memory key-value
 * table (memcached / Redis in spirit; the request mix after YCSB, the value
 * sizes skewed as in Facebook's memcached "ETC" pool). Keys:
 *   workers         = 2        threads taking requests from a shared queue
 *   clients         = 1000     connected clients (shape: not scaled)
 *   session_objects = 3        objects of session state per client
 *   session_size    = uniform 32..512
 *   reconnect       = 0.2%     chance a request's client first disconnects and
 *                              reconnects (its session is freed and rebuilt)
 *   capacity        = 50000    table entries (each a key and a value object)
 *   keyspace        = 100000   distinct keys requests draw from (uniformly)
 *   eviction        = lru      or random: which entry a full table drops
 *   key_size        = lognormal 64,0.6 clamped 16..256
 *   value_size      = lognormal 512,1.0 clamped 16..4095
 *   request_size    = uniform 64..1K    the parse buffer of every request
 *   response_size   = uniform 32..512   the response buffer of every request
 *   sets            = 20%      of requests; an existing key is overwritten
 *   deletes         = 5%       of requests; the rest are gets
 *   requests        = 10M      requests in the steady phase (scaled)
 *   batch           = 50       requests one worker runs before the next one's turn
 *
 * Phases: warmup (clients connect, set requests fill the table), steady (the
 * request mix), teardown (the workers other than 0 exit; thread 0, the main
 * thread, frees the table and the sessions).
 *
 * A request: parse buffer, [session rebuilt], the operation, response buffer,
 * both buffers freed. An overwrite allocates the new value before freeing the
 * old one (the body is read before the swap); an insert into a full table
 * evicts first. Requests go to any worker, so an entry is usually dropped by
 * another worker than the one that stored it: cross-thread frees.
 *
 * Live-set bound (in trace order, where one request is in flight at a time):
 *   capacity * (key max + value max) + value max
 *   + clients * session_objects * session max + request max + response max
 * (a concurrent replay can have one request in flight per worker). */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define NONE UINT32_MAX

struct kv {
    struct gen *g;
    uint64_t workers, clients, session_objects, capacity, keyspace, batch;
    int lru;
    double reconnect, sets, deletes;
    struct size_dist session_size, key_size, value_size, request_size, response_size;
    uint64_t served; /* requests so far: picks the worker (batch after batch) */
    uint32_t started; /* workers that have run (1 + the highest one used) */
    /* per client: its session objects */
    uint64_t *session;
    /* per key: its objects, LRU links, and its place in `slot` */
    uint64_t *key_id, *val_id;
    uint32_t *prev, *next, *pos;
    /* a permutation of the keyspace: present keys first (n of them), then absent */
    uint32_t *slot;
    uint32_t n, head, tail; /* head: most recently used */
};

static void lru_unlink(struct kv *k, uint32_t key)
{
    if (k->prev[key] != NONE)
        k->next[k->prev[key]] = k->next[key];
    else
        k->head = k->next[key];
    if (k->next[key] != NONE)
        k->prev[k->next[key]] = k->prev[key];
    else
        k->tail = k->prev[key];
}

static void lru_push_head(struct kv *k, uint32_t key)
{
    k->prev[key] = NONE;
    k->next[key] = k->head;
    if (k->head != NONE)
        k->prev[k->head] = key;
    else
        k->tail = key;
    k->head = key;
}

static int present(const struct kv *k, uint32_t key) { return k->pos[key] < k->n; }

/* Swap key into slot position i. */
static void slot_move(struct kv *k, uint32_t key, uint32_t i)
{
    uint32_t other = k->slot[i], from = k->pos[key];
    k->slot[i] = key;
    k->pos[key] = i;
    k->slot[from] = other;
    k->pos[other] = from;
}

static void drop(struct kv *k, uint32_t w, uint32_t key)
{
    gen_free(k->g, w, k->key_id[key]);
    gen_free(k->g, w, k->val_id[key]);
    lru_unlink(k, key);
    slot_move(k, key, --k->n);
}

static void set(struct kv *k, uint32_t w, uint32_t key)
{
    struct gen *g = k->g;
    if (present(k, key)) {
        uint64_t old = k->val_id[key];
        k->val_id[key] = gen_malloc(g, w, dist_sample(&k->value_size, &g->rng));
        gen_free(g, w, old);
        lru_unlink(k, key);
        lru_push_head(k, key);
        return;
    }
    if (k->n == k->capacity)
        drop(k, w, k->lru ? k->tail : k->slot[rng_below(&g->rng, k->n)]);
    k->key_id[key] = gen_malloc(g, w, dist_sample(&k->key_size, &g->rng));
    k->val_id[key] = gen_malloc(g, w, dist_sample(&k->value_size, &g->rng));
    slot_move(k, key, k->n++);
    lru_push_head(k, key);
}

static void connect_client(struct kv *k, uint32_t w, uint64_t c)
{
    for (uint64_t i = 0; i < k->session_objects; i++)
        k->session[c * k->session_objects + i] = gen_malloc(k->g, w, dist_sample(&k->session_size, &k->g->rng));
}

static void disconnect_client(struct kv *k, uint32_t w, uint64_t c)
{
    for (uint64_t i = 0; i < k->session_objects; i++)
        gen_free(k->g, w, k->session[c * k->session_objects + i]);
}

/* One request on the worker whose turn it is. fill: a warm-up set of an absent key. */
static void request(struct kv *k, int fill)
{
    struct gen *g = k->g;
    uint32_t w = (uint32_t)(k->served++ / k->batch % k->workers);
    if (w >= k->started)
        k->started = w + 1;
    uint64_t req = gen_malloc(g, w, dist_sample(&k->request_size, &g->rng));
    if (fill) {
        set(k, w, k->slot[k->n + rng_below(&g->rng, k->keyspace - k->n)]);
    } else {
        uint64_t c = rng_below(&g->rng, k->clients);
        if (rng_chance(&g->rng, k->reconnect)) {
            disconnect_client(k, w, c);
            connect_client(k, w, c);
        }
        uint32_t key = (uint32_t)rng_below(&g->rng, k->keyspace);
        double u = rng_unit(&g->rng);
        if (u < k->sets)
            set(k, w, key);
        else if (u < k->sets + k->deletes) {
            if (present(k, key))
                drop(k, w, key);
        } else if (present(k, key) && k->lru) {
            lru_unlink(k, key);
            lru_push_head(k, key);
        }
    }
    uint64_t resp = gen_malloc(g, w, dist_sample(&k->response_size, &g->rng));
    gen_free(g, w, resp);
    gen_free(g, w, req);
}

static int read_keys(struct kv *k)
{
    struct gen *g = k->g;
    struct spec *s = g->spec;
    const char *eviction;
    if (spec_count(s, "workers", 2, 1, 4096, &k->workers) ||
        spec_count(s, "clients", 1000, 1, 10000000, &k->clients) ||
        spec_count(s, "session_objects", 3, 0, 1000, &k->session_objects) ||
        spec_dist(s, "session_size", "uniform 32..512", &k->session_size) ||
        spec_real(s, "reconnect", 0.002, 0, 1, &k->reconnect) ||
        spec_count(s, "capacity", 50000, 1, 16000000, &k->capacity) ||
        spec_count(s, "keyspace", 100000, 1, 16000000, &k->keyspace) ||
        spec_string(s, "eviction", "lru", &eviction) ||
        spec_dist(s, "key_size", "lognormal 64,0.6 clamped 16..256", &k->key_size) ||
        spec_dist(s, "value_size", "lognormal 512,1.0 clamped 16..4095", &k->value_size) ||
        spec_dist(s, "request_size", "uniform 64..1K", &k->request_size) ||
        spec_dist(s, "response_size", "uniform 32..512", &k->response_size) ||
        spec_real(s, "sets", 0.20, 0, 1, &k->sets) || spec_real(s, "deletes", 0.05, 0, 1, &k->deletes) ||
        spec_count(s, "batch", 50, 1, 1000000000, &k->batch))
        return -1;
    if (strcmp(eviction, "lru") != 0 && strcmp(eviction, "random") != 0)
        return gen_bad(g, "eviction", "`%s` is not a policy (lru or random)", eviction);
    k->lru = strcmp(eviction, "lru") == 0;
    if (k->capacity > k->keyspace)
        return gen_bad(g, "capacity", "%llu entries is more than the %llu keys of the keyspace: the table could never fill",
                       (unsigned long long)k->capacity, (unsigned long long)k->keyspace);
    if (k->sets + k->deletes > 1)
        return gen_bad(g, "deletes", "sets + deletes is %g, more than all requests", k->sets + k->deletes);
    if (k->clients * k->session_objects > 100000000)
        return gen_bad(g, "session_objects", "clients x session_objects is above 100M objects");
    return 0;
}

int gen_kvserver(struct gen *g)
{
    struct kv k = {.g = g, .head = NONE, .tail = NONE};
    uint64_t requests;
    if (read_keys(&k) || spec_count(g->spec, "requests", 10e6, 1, 1e11, &requests))
        return -1;
    int b = gen_begin(g);
    if (b)
        return b < 0 ? -1 : 0;
    requests = gen_scaled(g, requests, 1);

    size_t K = k.keyspace;
    k.session = calloc(k.clients * k.session_objects + 1, sizeof *k.session);
    k.key_id = calloc(K, sizeof *k.key_id);
    k.val_id = calloc(K, sizeof *k.val_id);
    k.prev = calloc(K, sizeof *k.prev);
    k.next = calloc(K, sizeof *k.next);
    k.pos = calloc(K, sizeof *k.pos);
    k.slot = calloc(K, sizeof *k.slot);
    int rc = -1;
    if (!k.session || !k.key_id || !k.val_id || !k.prev || !k.next || !k.pos || !k.slot) {
        gen_bad(g, "keyspace", "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < K; i++)
        k.slot[i] = k.pos[i] = i;

    gen_phase(g, "warmup");
    /* clients connect, each on the worker whose turn it is */
    for (uint64_t c = 0; c < k.clients && !g->failed; c++) {
        uint32_t w = (uint32_t)(c / k.batch % k.workers);
        connect_client(&k, w, c);
        if (w >= k.started && k.session_objects)
            k.started = w + 1;
    }
    while (k.n < k.capacity && !g->failed)
        request(&k, 1);
    gen_phase(g, "steady");
    for (uint64_t r = 0; r < requests && !g->failed; r++)
        request(&k, 0);
    /* shutdown: the workers stop, the main thread frees what is left */
    gen_phase(g, "teardown");
    for (uint32_t w = 1; w < k.started; w++)
        gen_thread_exit(g, w);
    while (k.n && !g->failed)
        drop(&k, 0, k.slot[k.n - 1]);
    for (uint64_t c = 0; c < k.clients && !g->failed; c++)
        disconnect_client(&k, 0, c);
    rc = gen_end(g);
out:
    free(k.session);
    free(k.key_id);
    free(k.val_id);
    free(k.prev);
    free(k.next);
    free(k.pos);
    free(k.slot);
    return rc;
}
