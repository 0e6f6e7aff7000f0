/* crash_adapter.c - a fake allocator that dies on purpose: build/tests/bin/allocmark-crash.
 *
 * For the failure tests of run_all.sh (a crashing cell must be recorded with its
 * exit status and stderr tail while the rest of the matrix goes on). It is built
 * from the same harness objects as the real drivers, by `make test` only, into
 * build/tests/bin/, so it never shows up among the real allocators in build/bin/.
 *
 * The first N allocating calls (malloc, calloc, realloc, aligned alloc) are served
 * by glibc; the next one prints a line on stderr and then crashes:
 *   --alloc-opt crash_after=N      N allocating calls work (default 1000, 0 = none)
 *   --alloc-opt crash_mode=segv    write to NULL through a volatile pointer: SIGSEGV (default)
 *   --alloc-opt crash_mode=abort   abort(): SIGABRT
 * Options combine with commas: crash_after=3,crash_mode=abort.
 */
#include "../allocators/allocator.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum crash_mode { CRASH_SEGV, CRASH_ABORT };

static uint64_t crash_after = 1000;
static enum crash_mode crash_mode = CRASH_SEGV;
static uint64_t calls;

static int parse_option(const char *opt, size_t len)
{
    char buf[64];
    if (len >= sizeof buf)
        goto bad;
    memcpy(buf, opt, len);
    buf[len] = 0;
    if (strncmp(buf, "crash_after=", 12) == 0) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(buf + 12, &end, 10);
        if (errno || end == buf + 12 || *end || buf[12] == '-')
            goto bad;
        crash_after = n;
        return 0;
    }
    if (strcmp(buf, "crash_mode=segv") == 0) {
        crash_mode = CRASH_SEGV;
        return 0;
    }
    if (strcmp(buf, "crash_mode=abort") == 0) {
        crash_mode = CRASH_ABORT;
        return 0;
    }
bad:
    fprintf(stderr, "crash: bad allocator option '%.*s' (crash_after=N, crash_mode=segv|abort)\n", (int)len, opt);
    return -1;
}

static int crash_init(const char *options)
{
    for (const char *p = options; p && *p;) {
        size_t len = strcspn(p, ",");
        if (parse_option(p, len) != 0)
            return -1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* Called before every allocating call: past the limit, say so and die. */
static void maybe_crash(void)
{
    if (++calls <= crash_after)
        return;
    /* write(2), not stdio: nothing buffered may be lost with the process */
    char msg[160];
    int n = snprintf(msg, sizeof msg, "crash: allocating call %" PRIu64 " after crash_after=%" PRIu64 ": crashing on purpose (%s)\n",
                     calls, crash_after, crash_mode == CRASH_ABORT ? "abort, SIGABRT" : "NULL write, SIGSEGV");
    if (n > 0)
        (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    if (crash_mode == CRASH_ABORT)
        abort();
    /* both volatile: the compiler may neither assume the pointer is NULL nor drop the
     * store as dead before the noreturn abort() (gcc -O2 does, with a plain int *) */
    volatile int *volatile null = NULL;
    *null = 1;
    abort(); /* not reached */
}

static void *crash_malloc(size_t size)
{
    maybe_crash();
    return malloc(size);
}

static void crash_free(void *ptr, size_t size)
{
    (void)size;
    free(ptr);
}

static void *crash_calloc(size_t nmemb, size_t size)
{
    maybe_crash();
    return calloc(nmemb, size);
}

static void *crash_realloc(void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    maybe_crash();
    return realloc(ptr, new_size);
}

static void *crash_aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return NULL;
    maybe_crash();
    return memalign(alignment, size);
}

static const char *crash_version(void)
{
    return "crash (glibc malloc, dies after crash_after allocating calls; tests only)";
}

const struct allocator allocator_under_test = {
    .name = "crash",
    .init = crash_init,
    .malloc = crash_malloc,
    .free = crash_free,
    .calloc = crash_calloc,
    .realloc = crash_realloc,
    .aligned_alloc = crash_aligned_alloc,
    .version = crash_version,
};
