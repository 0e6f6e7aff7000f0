/* rec_threads.c - multi-thread, fork, exit() and signal programs for the recorder
 * tests (tests/record/test_record.sh). Each uses its own request sizes, so the
 * test can pick its objects out of whatever else libc allocates.
 *   threads      main allocates 64 x 1001; thread A frees them (cross-thread) and
 *                allocates 1000 x 1002; after A has ended, B and C start together:
 *                B frees A's objects (cross-thread, from an ended thread) and
 *                allocates and frees 500 x 1003, C allocates and frees 700 x 1004
 *   fork         the parent allocates 10 x 2001, forks; the child allocates 5 x 2002,
 *                frees 3 of them and 2 of the parent's blocks, and exits; the parent
 *                then frees its 10
 *   exit-thread  three threads allocate and free 3001..3003 without end; a fourth
 *                allocates 777 x 4444, frees 333 of them and calls exit(0)
 *   signal       a handler for SIGUSR1 allocates and frees 6001; main raises it
 *                100 times between its own 6002 allocations
 *   storm        a timer signal every 200 us whose handler allocates and frees 204,
 *                while main allocates and frees 203 (at least 2000 signals): handlers land inside
 *                the recorder too (run on libbump.so, an async-signal-safe malloc)
 */
#include <sys/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *main_objs[64];
static void *a_objs[1000];

static void *thread_a(void *arg)
{
    (void)arg;
    for (int i = 0; i < 64; i++)
        free(main_objs[i]);
    for (int i = 0; i < 1000; i++)
        a_objs[i] = malloc(1002);
    return NULL;
}

static void *thread_b(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        free(a_objs[i]);
    for (int i = 0; i < 500; i++)
        free(malloc(1003));
    return NULL;
}

static void *thread_c(void *arg)
{
    (void)arg;
    void *p[700];
    for (int i = 0; i < 700; i++)
        p[i] = malloc(1004);
    for (int i = 0; i < 700; i++)
        free(p[i]);
    return NULL;
}

static int threads(void)
{
    pthread_t a, b, c;
    for (int i = 0; i < 64; i++)
        main_objs[i] = malloc(1001);
    if (pthread_create(&a, NULL, thread_a, NULL) || pthread_join(a, NULL))
        return 1;
    if (pthread_create(&b, NULL, thread_b, NULL) || pthread_create(&c, NULL, thread_c, NULL))
        return 1;
    pthread_join(b, NULL);
    pthread_join(c, NULL);
    return 0;
}

static int do_fork(void)
{
    void *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = malloc(2001);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        void *q[5];
        for (int i = 0; i < 5; i++)
            q[i] = malloc(2002);
        for (int i = 0; i < 3; i++)
            free(q[i]);
        free(p[0]);
        free(p[1]);
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    for (int i = 0; i < 10; i++)
        free(p[i]);
    printf("child %d\n", (int)pid);
    return 0;
}

static void *churn(void *arg)
{
    size_t size = (size_t)(uintptr_t)arg;
    void *ring[16] = { 0 };
    for (unsigned i = 0;; i++) {
        free(ring[i % 16]);
        ring[i % 16] = malloc(size);
    }
    return NULL;
}

static void *exiter(void *arg)
{
    (void)arg;
    void *p[777];
    usleep(20000); /* let the others get going */
    for (int i = 0; i < 777; i++)
        p[i] = malloc(4444);
    for (int i = 0; i < 333; i++)
        free(p[i]);
    exit(0);
}

static int exit_thread(void)
{
    pthread_t t;
    for (uintptr_t s = 3001; s <= 3003; s++)
        if (pthread_create(&t, NULL, churn, (void *)s))
            return 1;
    if (pthread_create(&t, NULL, exiter, NULL))
        return 1;
    for (;;)
        pause();
}

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    free(malloc(6001));
    handled++;
}

static int signals(void)
{
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return 1;
    void *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = malloc(6002);
        raise(SIGUSR1);
    }
    for (int i = 0; i < 100; i++)
        free(p[i]);
    printf("handled %d\n", (int)handled);
    return handled == 100 ? 0 : 1;
}

static volatile sig_atomic_t storm_handled;

static void on_alarm(int sig)
{
    (void)sig;
    free(malloc(204));
    storm_handled++;
}

static int storm(void)
{
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    struct itimerval it = { .it_interval = { 0, 200 }, .it_value = { 0, 200 } };
    if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &it, NULL) != 0)
        return 1;
    long n = 0;
    for (; n < 3000000 && (n < 200000 || storm_handled < 2000); n++)
        free(malloc(203));
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("loop %ld handled %d\n", n, (int)storm_handled);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *m = argv[1];
    int rc = !strcmp(m, "threads")       ? threads()
             : !strcmp(m, "fork")        ? do_fork()
             : !strcmp(m, "exit-thread") ? exit_thread()
             : !strcmp(m, "signal")      ? signals()
             : !strcmp(m, "storm")       ? storm()
                                         : 2;
    if (rc == 0)
        printf("ok\n");
    return rc;
}
