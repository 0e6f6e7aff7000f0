/* shim_early.c - the shim's start-up, run under LD_PRELOAD=libslabmalloc.so.
 *
 * A constructor allocates and starts a thread before main; main then goes
 * through the dynamic linker's allocations (dlopen, dlsym, dlerror, dlclose:
 * ld.so and libdl call malloc/calloc/free) and stdio's. test_shim.sh also
 * runs it with tick_thread=1, where creating the pool creates a thread, whose
 * TLS vector ld.so allocates with calloc from inside our first malloc: those
 * nested calls must be served (bootstrap_allocs in the exit statistics).
 *
 *   shim_early          the above
 *   shim_early idle     also: 32 MiB of small blocks allocated and freed, then
 *                       0.6 s idle, so that a tick thread releases the slabs
 *                       (test_shim.sh checks released > 0 in the statistics).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include "shim_common.h"

static char *from_ctor;
static void *ctor_thread_result;

static void *ctor_thread(void *arg)
{
    (void)arg;
    char *s = malloc(100);
    strcpy(s, "from the constructor's thread");
    return s;
}

__attribute__((constructor(101))) static void early(void)
{
    void *a = malloc(10);
    void *b = calloc(3, 7);
    void *c = realloc(a, 5000);
    CHECK(b && c);
    free(b);
    free(c);
    from_ctor = strdup("constructor");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ctor_thread, NULL) == 0);
    CHECK(pthread_join(t, &ctor_thread_result) == 0);
}

static void idle_release(void)
{
    enum { N = 32 << 20 >> 6 };
    void **blocks = malloc(N * sizeof *blocks);
    CHECK(blocks);
    for (int i = 0; i < N; i++)
        CHECK((blocks[i] = malloc(64)) != NULL);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    free(blocks);
    usleep(600 * 1000);
}

int main(int argc, char **argv)
{
    CHECK(shim_active());
    CHECK(from_ctor && strcmp(from_ctor, "constructor") == 0);
    CHECK(ctor_thread_result && strcmp(ctor_thread_result, "from the constructor's thread") == 0);
    free(from_ctor);
    free(ctor_thread_result);

    for (int round = 0; round < 20; round++) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        CHECK(h);
        double (*cosine)(double) = (double (*)(double))dlsym(h, "cos");
        CHECK(cosine && cosine(0.0) == 1.0);
        CHECK(dlsym(h, "no_such_symbol_here") == NULL);
        const char *e = dlerror();
        CHECK(e && strstr(e, "no_such_symbol_here"));
        CHECK(dlopen("libno-such-library.so.42", RTLD_NOW) == NULL);
        e = dlerror();
        CHECK(e && strstr(e, "libno-such-library"));
        CHECK(dlclose(h) == 0);
    }
    if (argc == 2 && strcmp(argv[1], "idle") == 0)
        idle_release();
    printf("shim_early: ok\n");
    return 0;
}
