/* shim_threads.c - threads and fork on the shim, run under LD_PRELOAD=libslabmalloc.so.
 *
 *   shim_threads threads  8 threads in a ring, each allocating blocks of mixed
 *                         sizes and kinds (malloc, calloc, aligned, realloc,
 *                         large), stamping them with a pattern and handing them
 *                         to the next thread, which verifies and frees them
 *                         (cross-thread frees); then 300 short-lived threads
 *                         whose blocks are freed by main after they exit.
 *   shim_threads exits    2000 threads, one after another, each allocating a
 *                         little and failing a dlopen: glibc frees the
 *                         thread's dlerror buffer after the TSD destructors
 *                         (test_shim.sh checks that no thread cache is left
 *                         holding chunks).
 *   shim_threads fork     6 threads churn (cross-thread frees included) while
 *                         the main thread forks 150 times; each child
 *                         allocates from every class, the large path and a new
 *                         thread, verifies, and exits 0. A child that has not
 *                         exited within 20 s inherited a held lock: failure.
 * Exit 0 when every check passed. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim_common.h"

#define NTHREADS 8
#define QCAP 4096
#define MAGIC 0x5eedf00dcafe1234ull

struct hdr {
    uint64_t magic;
    uint64_t size; /* bytes of the block, this header included */
    uint64_t seed;
    uint64_t zeroed;
};

struct queue {
    pthread_mutex_t lock;
    void *items[QCAP];
    unsigned head, n;
};

static struct queue queues[NTHREADS];
static atomic_int stop;

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void stamp(unsigned char *p, size_t size, uint64_t seed)
{
    struct hdr h = { MAGIC, size, seed, 0 };
    memcpy(p, &h, sizeof h);
    for (size_t i = sizeof h; i < size; i++)
        p[i] = (unsigned char)(seed + i * 31);
}

static void verify(const unsigned char *p)
{
    struct hdr h;
    memcpy(&h, p, sizeof h);
    CHECK(h.magic == MAGIC);
    CHECK(malloc_usable_size((void *)p) >= h.size);
    for (size_t i = sizeof h; i < h.size; i++)
        CHECK(p[i] == (unsigned char)(h.seed + i * 31));
}

/* A block of a random size and kind, stamped. */
static void *make_block(uint64_t *s)
{
    uint64_t r = rng(s);
    size_t size = sizeof(struct hdr) + (r >> 8) % (r % 16 == 0 ? 9000 : 600);
    unsigned char *p;
    switch (r % 8) {
    case 0:
        p = calloc(1, size);
        CHECK(p);
        for (size_t i = 0; i < size; i++)
            CHECK(p[i] == 0);
        break;
    case 1: {
        void *q = NULL;
        size_t align = (size_t)16 << ((r >> 4) % 9); /* 16 .. 4096 */
        CHECK(posix_memalign(&q, align, size) == 0);
        CHECK(((uintptr_t)q & (align - 1)) == 0);
        p = q;
        break;
    }
    case 2: /* grown by realloc from a smaller block */
        p = malloc(size / 3 + 1);
        CHECK(p);
        memset(p, 0xee, size / 3 + 1);
        p = realloc(p, size);
        CHECK(p);
        for (size_t i = 0; i < size / 3 + 1; i++)
            CHECK(p[i] == 0xee);
        break;
    default:
        p = malloc(size);
        CHECK(p);
    }
    stamp(p, size, rng(s));
    return p;
}

static int push(struct queue *q, void *p)
{
    pthread_mutex_lock(&q->lock);
    int ok = q->n < QCAP;
    if (ok)
        q->items[(q->head + q->n++) % QCAP] = p;
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static void *pop(struct queue *q)
{
    void *p = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->n) {
        p = q->items[q->head];
        q->head = (q->head + 1) % QCAP;
        q->n--;
    }
    pthread_mutex_unlock(&q->lock);
    return p;
}

static void consume(void *p)
{
    verify(p);
    if (rng(&(uint64_t){ (uintptr_t)p | 1 }) % 4 == 0) { /* shrink before freeing, sometimes */
        struct hdr h;
        memcpy(&h, p, sizeof h);
        p = realloc(p, sizeof h + 1);
        CHECK(p && ((struct hdr *)p)->magic == MAGIC);
    }
    free(p);
}

struct worker {
    int id;
    long iters; /* < 0: until stop */
};

static void *ring_worker(void *arg)
{
    struct worker *w = arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
    void *local[64] = { 0 };
    for (long i = 0; w->iters < 0 ? !atomic_load(&stop) : i < w->iters; i++) {
        void *p = make_block(&s);
        if (!push(&queues[(w->id + 1) % NTHREADS], p))
            consume(p);
        void *q = pop(&queues[w->id]);
        if (q)
            consume(q);
        unsigned k = (unsigned)(rng(&s) % 64); /* some blocks live a while, freed by their maker */
        if (local[k])
            consume(local[k]);
        local[k] = make_block(&s);
    }
    for (int k = 0; k < 64; k++)
        if (local[k])
            consume(local[k]);
    return NULL;
}

static void drain(void)
{
    for (int t = 0; t < NTHREADS; t++)
        for (void *p; (p = pop(&queues[t])) != NULL;)
            consume(p);
}

/* A short-lived thread: its blocks outlive it, main frees them. */
static void *short_lived(void *arg)
{
    void **out = arg;
    uint64_t s = (uintptr_t)arg | 1;
    for (int i = 0; i < 200; i++)
        free(make_block(&s));
    for (int i = 0; i < 16; i++)
        out[i] = make_block(&s);
    return NULL;
}

static int run_threads(void)
{
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        w[t] = (struct worker){ t, 60000 };
        CHECK(pthread_create(&th[t], NULL, ring_worker, &w[t]) == 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    drain();
    for (int i = 0; i < 300; i++) {
        void *out[16];
        pthread_t t;
        CHECK(pthread_create(&t, NULL, short_lived, out) == 0);
        CHECK(pthread_join(t, NULL) == 0);
        for (int k = 0; k < 16; k++)
            consume(out[k]);
    }
    printf("shim_threads threads: ok\n");
    return 0;
}

static void *exiting_thread(void *arg)
{
    (void)arg;
    uint64_t s = 99;
    for (int i = 0; i < 20; i++)
        consume(make_block(&s));
    CHECK(dlopen("libshim-test-no-such-library.so", RTLD_NOW) == NULL);
    return NULL;
}

static int run_exits(void)
{
    for (int i = 0; i < 2000; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, exiting_thread, NULL) == 0);
        CHECK(pthread_join(t, NULL) == 0);
    }
    printf("shim_threads exits: ok\n");
    return 0;
}

static void *child_thread(void *arg)
{
    (void)arg;
    uint64_t s = 77;
    for (int i = 0; i < 1000; i++)
        consume(make_block(&s));
    return NULL;
}

/* In the child: every class, the large path, aligned blocks and a thread. */
static void child_work(void)
{
    void *blocks[300];
    int n = 0;
    for (size_t size = 32; size <= 4096 && n < 290; size += 16) {
        blocks[n] = malloc(size);
        CHECK(blocks[n]);
        stamp(blocks[n], size, size);
        n++;
    }
    blocks[n] = malloc(200000);
    CHECK(blocks[n]);
    stamp(blocks[n++], 200000, 5);
    CHECK(posix_memalign(&blocks[n], 65536, 100) == 0);
    stamp(blocks[n++], 100, 6);
    for (int i = 0; i < n; i++)
        consume(blocks[i]);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, child_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
}

static int run_fork(void)
{
    enum { WORKERS = 6, FORKS = 150 };
    pthread_t th[WORKERS];
    struct worker w[WORKERS];
    for (int t = 0; t < WORKERS; t++) {
        w[t] = (struct worker){ t, -1 };
        CHECK(pthread_create(&th[t], NULL, ring_worker, &w[t]) == 0);
    }
    for (int i = 0; i < FORKS; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            child_work();
            exit(0);
        }
        int status = 0;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            CHECK(r >= 0);
            if (r == pid)
                break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec > 20) {
                kill(pid, SIGKILL);
                fprintf(stderr, "fork %d: child %d still running after 20 s (deadlocked on an inherited lock?)\n", i,
                        (int)pid);
                exit(1);
            }
            usleep(1000);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork %d: child status 0x%x\n", i, status);
            exit(1);
        }
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < WORKERS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    /* The ring's last hop (to worker 6, 7: not running) is drained here. */
    drain();
    printf("shim_threads fork: ok (%d children)\n", FORKS);
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(shim_active());
    for (int t = 0; t < NTHREADS; t++)
        pthread_mutex_init(&queues[t].lock, NULL);
    if (argc == 2 && strcmp(argv[1], "threads") == 0)
        return run_threads();
    if (argc == 2 && strcmp(argv[1], "exits") == 0)
        return run_exits();
    if (argc == 2 && strcmp(argv[1], "fork") == 0)
        return run_fork();
    fprintf(stderr, "usage: shim_threads threads|exits|fork\n");
    return 2;
}
