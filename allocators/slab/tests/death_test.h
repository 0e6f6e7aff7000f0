/* death_test.h - running a case in a child that must abort with a message:
 * shared by the release death tests and the debug-mode tests. Include after
 * cmocka and slab_test_util.h. */
#ifndef SLAB_DEATH_TEST_H
#define SLAB_DEATH_TEST_H

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* What a child hands to the pool, in memory shared with the parent, so that
 * the parent can look for that pointer in the abort message. */
struct victim {
    void *ptr; /* filled in by the child: the pointer it hands to the pool */
};

static struct victim *shared_victim(void)
{
    static struct victim *v;
    if (!v) {
        v = mmap(NULL, sizeof *v, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(v != MAP_FAILED);
    }
    v->ptr = NULL;
    return v;
}

/* Run body in a child with stderr captured; the child must die of SIGABRT
 * having written `why` and the pointer body put in v->ptr. */
static void expect_abort(void (*body)(struct victim *), const char *why)
{
    struct victim *v = shared_victim();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        close(fds[0]);
        dup2(fds[1], 2);
        body(v);
        _exit(0); /* survived: the parent reports it */
    }
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("expected death by SIGABRT with '%s'; child %s %d, stderr: '%s'", why,
                 WIFSIGNALED(status) ? "died of signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out);
    if (!strstr(out, why))
        fail_msg("child aborted, but stderr lacks '%s': '%s'", why, out);
    char ptr_text[64];
    snprintf(ptr_text, sizeof ptr_text, "slab: free(0x%016llx)", (unsigned long long)(uintptr_t)v->ptr);
    if (!strstr(out, ptr_text))
        fail_msg("child aborted, but stderr lacks '%s': '%s'", ptr_text, out);
}

/* In the child no cmocka assertion may fail (it would jump back into the
 * runner, in the child): a pool that cannot be had ends the child with 2. */
static struct slab_pool *cpool(const char *opts)
{
    struct slab_config c;
    char err[256];
    slab_config_default(&c);
    if (slab_config_parse(&c, opts, err, sizeof err) != 0)
        _exit(2);
    struct slab_pool *p = slab_create(&c);
    if (!p)
        _exit(2);
    return p;
}

/* ---- the foreign pointers both the release and the debug tests free ---- */

static int a_static;

static void free_stack(struct victim *v)
{
    struct slab_pool *p = cpool("");
    int local;
    slab_free(p, slab_alloc(p, 32)); /* the thread cache exists */
    v->ptr = &local;
    slab_free(p, &local);
}

static void free_glibc(struct victim *v)
{
    struct slab_pool *p = cpool("");
    void *m = malloc(48);
    v->ptr = m;
    slab_free(p, m);
}

static void free_static(struct victim *v)
{
    struct slab_pool *p = cpool("thread_cache=0");
    v->ptr = &a_static;
    slab_free(p, &a_static);
}

/* Another pool's block. */
static void free_other_pool(struct victim *v)
{
    struct slab_pool *a = cpool(""), *b = cpool("");
    void *q = slab_alloc(a, 64);
    v->ptr = q;
    slab_free(b, q);
}

#endif
