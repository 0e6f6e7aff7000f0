/* rec_seq.c - known single-thread allocation sequences for the recorder tests
 * (tests/record/test_record.sh checks the recorded trace line by line).
 *   rec_seq calls     every interposed call once
 *   rec_seq realloc   realloc chains: moves, shrinks, realloc(NULL), realloc(p, 0), a failed realloc
 *   rec_seq aligned   posix_memalign, aligned_alloc, memalign, valloc, pvalloc
 *   rec_seq exit N    1000 mallocs, 500 frees, then _exit(N): nothing flushed, nothing lost
 *   rec_seq idle      malloc, 300 ms asleep, free: an idle gap
 * No stdio: its buffers would be allocations the expected traces do not list. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep[1000];

/* Opaque to the compiler, so that no call is folded away. */
static void *volatile sink;

static int calls(void)
{
    void *a = malloc(100);
    void *b = calloc(3, 40);
    a = realloc(a, 200);
    void *c = reallocarray(NULL, 10, 8);
    c = reallocarray(c, 20, 8);
    void *d;
    if (posix_memalign(&d, 64, 100) != 0)
        return 1;
    void *e = aligned_alloc(256, 512);
    void *f = memalign(32, 48);
    void *g = valloc(33);
    void *h = pvalloc(5000);
    sink = (void *)(uintptr_t)malloc_usable_size(a); /* forwarded, not recorded */
    free(NULL);                                      /* not recorded */
    sink = malloc((size_t)1 << 62);                  /* fails: skipped and counted */
    free(b);
    free(a);
    free(c);
    free(d);
    free(e);
    free(f);
    free(g);
    free(h);
    return 0;
}

static int reallocs(void)
{
    char *p = realloc(NULL, 16); /* = malloc */
    memset(p, 1, 16);
    void *block = malloc(64);    /* makes the next growth move the block */
    for (size_t n = 32; n <= 32768; n *= 4)
        p = realloc(p, n);
    p = realloc(p, 10);          /* shrink */
    sink = realloc(p, (size_t)1 << 62); /* fails: p is unchanged */
    if (sink)
        return 1;
    void *q = realloc(p, 0);     /* glibc: frees p, returns NULL */
    if (q)
        return 1;
    p = realloc(NULL, 300);
    p = reallocarray(p, 3, 1000);
    free(block);
    free(p);
    return 0;
}

static int aligned(void)
{
    void *p[6];
    for (int i = 0; i < 3; i++)
        if (posix_memalign(&p[i], (size_t)16 << (3 * i), 1000 + (size_t)i) != 0)
            return 1;
    p[3] = aligned_alloc(4096, 8192);
    p[4] = memalign(1 << 20, 100);
    p[5] = valloc(1);
    for (int i = 5; i >= 0; i--)
        free(p[i]);
    void *q = pvalloc(1);
    free(q);
    return 0;
}

static int exit_now(int status)
{
    for (int i = 0; i < 1000; i++)
        keep[i] = malloc(5555);
    for (int i = 0; i < 1000; i += 2)
        free(keep[i]);
    _exit(status);
}

static int idle(void)
{
    void *p = malloc(7777);
    usleep(300000);
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int rc = !strcmp(argv[1], "calls")     ? calls()
             : !strcmp(argv[1], "realloc") ? reallocs()
             : !strcmp(argv[1], "aligned") ? aligned()
             : !strcmp(argv[1], "exit")    ? exit_now(argc > 2 ? atoi(argv[2]) : 0)
             : !strcmp(argv[1], "idle")    ? idle()
                                           : 2;
    if (rc == 0 && write(1, "ok\n", 3) != 3)
        rc = 1;
    return rc;
}
