/* shim_api.c - the malloc API's contract, run under LD_PRELOAD=libslabmalloc.so:
 * glibc semantics for zero sizes, NULL, overflow (NULL + ENOMEM), alignment
 * (EINVAL rules of posix_memalign, aligned_alloc, memalign), valloc/pvalloc,
 * reallocarray, malloc_usable_size, errno left alone by free and
 * posix_memalign, and frees of pointers that are not the allocator's (ignored,
 * counted: test_shim.sh checks foreign_frees=3 in the exit statistics).
 * Built with -fno-builtin so the compiler keeps every call as written. */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim_common.h"

/* SIZE_MAX, hidden from the compiler's object-size warnings. */
static volatile size_t size_max = SIZE_MAX;

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void fill_check(unsigned char *p, size_t n, unsigned char v)
{
    memset(p, v, n);
    for (size_t i = 0; i < n; i++)
        CHECK(p[i] == v);
}

/* Every size from 0 to 70000 in steps: 16-aligned, usable >= size, writable, no overlap. */
static void test_sizes(void)
{
    enum { N = 400 };
    static unsigned char *blocks[N];
    static size_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = (size_t)i * 177 % 70001;
        blocks[i] = malloc(sizes[i]);
        CHECK(blocks[i] != NULL);
        CHECK(aligned(blocks[i], 16));
        CHECK(malloc_usable_size(blocks[i]) >= sizes[i]);
        memset(blocks[i], i & 0xff, sizes[i]);
    }
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            CHECK(blocks[i][k] == (unsigned char)(i & 0xff));
        free(blocks[i]);
    }
    void *z = malloc(0);
    CHECK(z != NULL); /* glibc: a unique pointer */
    free(z);
    free(NULL);
}

static void test_overflow(void)
{
    errno = 0;
    CHECK(malloc(size_max) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(size_max - 4096) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(size_max / 2 + 1) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(size_max / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc(size_max >> 31, size_max >> 31) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(aligned_alloc(8192, size_max - 8192 - 4096) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(memalign(8192, size_max - 100) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(pvalloc(size_max - 10) == NULL && errno == ENOMEM);
}

static void test_calloc(void)
{
    /* Reuse a chunk dirtied by a previous owner: calloc must zero it. */
    for (size_t n = 1; n <= 5000; n += 499) {
        unsigned char *p = malloc(n);
        CHECK(p);
        memset(p, 0xa5, n);
        free(p);
        unsigned char *q = calloc(1, n);
        CHECK(q);
        for (size_t i = 0; i < n; i++)
            CHECK(q[i] == 0);
        free(q);
    }
    unsigned char *big = calloc(1000, 1000);
    CHECK(big);
    for (size_t i = 0; i < 1000000; i += 4093)
        CHECK(big[i] == 0);
    free(big);
    void *z = calloc(0, 10);
    CHECK(z);
    free(z);
}

static void test_realloc(void)
{
    void *p = realloc(NULL, 10); /* = malloc */
    CHECK(p);
    memcpy(p, "abcdefghi", 10);
    /* Grow through classes into the large path and back, keeping the prefix. */
    size_t sizes[] = { 10, 100, 1000, 4000, 5000, 100000, 1 << 20, 3000, 64, 10 };
    size_t have = 10;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        p = realloc(p, sizes[i]);
        CHECK(p && aligned(p, 16));
        CHECK(memcmp(p, "abcdefghi", 10) == 0);
        CHECK(malloc_usable_size(p) >= sizes[i]);
        if (sizes[i] > have)
            memset((char *)p + have, 'x', sizes[i] - have);
        have = sizes[i];
    }
    /* A failing realloc keeps the block. */
    errno = 0;
    CHECK(realloc(p, size_max - 100) == NULL && errno == ENOMEM);
    CHECK(memcmp(p, "abcdefghi", 10) == 0);
    errno = 0;
    CHECK(reallocarray(p, size_max / 4, 8) == NULL && errno == ENOMEM);
    CHECK(memcmp(p, "abcdefghi", 10) == 0);
    p = reallocarray(p, 100, 20);
    CHECK(p && memcmp(p, "abcdefghi", 10) == 0 && malloc_usable_size(p) >= 2000);
    /* realloc(p, 0): glibc frees and returns NULL. */
    CHECK(realloc(p, 0) == NULL);
    void *q = realloc(NULL, 0);
    CHECK(q != NULL);
    free(q);
}

/* A buffer grown a few bytes at a time far past the classes (a string
 * builder): every byte kept, and done in time (test_shim.sh runs this under a
 * timeout; copying the whole block at every step would take hours). Then large
 * blocks shrunk and grown again, an over-aligned one included. */
static void test_realloc_growth(void)
{
    unsigned char *s = NULL;
    size_t n = 0;
    while (n < ((size_t)8 << 20)) {
        s = realloc(s, n + 8);
        CHECK(s);
        for (int k = 0; k < 8; k++)
            s[n + k] = (unsigned char)((n + k) * 7 >> 3);
        n += 8;
    }
    for (size_t i = 0; i < n; i += 1)
        CHECK(s[i] == (unsigned char)(i * 7 >> 3));
    size_t sizes[] = { 5 << 20, 100000, 3 << 20, 4097, 20000 };
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        s = realloc(s, sizes[k]);
        CHECK(s && aligned(s, 16) && malloc_usable_size(s) >= sizes[k]);
        for (size_t i = 0; i < 4097; i++)
            CHECK(s[i] == (unsigned char)(i * 7 >> 3));
    }
    free(s);
    void *q = NULL;
    CHECK(posix_memalign(&q, 65536, 100000) == 0 && aligned(q, 65536));
    fill_check(q, 100000, 0x21);
    for (size_t size = 100000; size < ((size_t)4 << 20); size = size * 3 / 2) {
        q = realloc(q, size);
        CHECK(q && aligned(q, 16) && malloc_usable_size(q) >= size);
        for (size_t i = 0; i < 100000; i++)
            CHECK(((unsigned char *)q)[i] == 0x21);
    }
    free(q);
}

static void test_alignment(void)
{
    void *p = (void *)0x1;
    int e;
    /* posix_memalign: EINVAL for non-powers of two and for < sizeof(void *); errno untouched. */
    size_t bad[] = { 0, 1, 2, 4, 3, 24, 48, 4097 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 1234;
        CHECK(posix_memalign(&p, bad[i], 16) == EINVAL);
        CHECK(errno == 1234 && p == (void *)0x1);
    }
    errno = 1234;
    CHECK(posix_memalign(&p, 64, size_max - 10) == ENOMEM);
    CHECK(errno == 1234 && p == (void *)0x1);
    for (size_t a = sizeof(void *); a <= ((size_t)1 << 21); a *= 2)
        for (size_t size = 0; size < 20000; size = size * 3 + 7) {
            errno = 1234;
            CHECK(posix_memalign(&p, a, size) == 0);
            CHECK(errno == 1234);
            CHECK(p && aligned(p, a) && malloc_usable_size(p) >= size);
            fill_check(p, size, 0x5a);
            free(p);
            void *q = aligned_alloc(a, size);
            CHECK(q && aligned(q, a) && malloc_usable_size(q) >= size);
            fill_check(q, size, 0x33);
            free(q);
            q = memalign(a, size);
            CHECK(q && aligned(q, a));
            fill_check(q, size, 0x44);
            free(q);
        }
    /* aligned_alloc: a non-power of two is EINVAL (glibc 2.38 and C17). */
    errno = 0;
    CHECK(aligned_alloc(3, 30) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(aligned_alloc(0, 30) == NULL && errno == EINVAL);
    /* memalign: rounded up to a power of two (glibc); too large is EINVAL. */
    void *q = memalign(48, 100);
    CHECK(q && aligned(q, 64));
    free(q);
    q = memalign(0, 100);
    CHECK(q && aligned(q, 16));
    free(q);
    errno = 0;
    CHECK(memalign(size_max / 2 + 2, 10) == NULL && errno == EINVAL);
    /* valloc, pvalloc: page-aligned; pvalloc rounds the size to pages. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    q = valloc(10);
    CHECK(q && aligned(q, page) && malloc_usable_size(q) >= 10);
    free(q);
    q = pvalloc(page + 1);
    CHECK(q && aligned(q, page) && malloc_usable_size(q) >= 2 * page);
    fill_check(q, 2 * page, 0x77);
    free(q);
    q = pvalloc(0);
    CHECK(q && aligned(q, page));
    free(q);
    (void)e;
}

static void test_usable_size(void)
{
    CHECK(malloc_usable_size(NULL) == 0);
    for (size_t n = 1; n < 9000; n += 97) {
        unsigned char *p = malloc(n);
        size_t u = malloc_usable_size(p);
        CHECK(u >= n);
        memset(p, 1, u); /* the whole usable size is the caller's */
        free(p);
    }
}

/* Frees of memory that is not the allocator's: ignored (and counted), never a crash. */
__attribute__((noinline)) static void free_it(void *p)
{
    free(p);
}

static void test_foreign(void)
{
    static char stat[64];
    char stack[64];
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    errno = 4321;
    free_it(stat + 16);
    free_it(stack + 16);
    free_it((char *)page + 64);
    CHECK(errno == 4321);
    CHECK(malloc_usable_size((char *)page + 64) == 0);
    munmap(page, 4096);
}

static void test_errno_kept(void)
{
    void *ps[100];
    for (int i = 0; i < 100; i++)
        ps[i] = malloc((size_t)i * 1000);
    errno = 777;
    for (int i = 0; i < 100; i++)
        free(ps[i]);
    CHECK(errno == 777);
}

int main(void)
{
    CHECK(shim_active());
    test_sizes();
    test_overflow();
    test_calloc();
    test_realloc();
    test_realloc_growth();
    test_alignment();
    test_usable_size();
    test_foreign();
    test_errno_kept();
    printf("shim_api: ok\n");
    return 0;
}
