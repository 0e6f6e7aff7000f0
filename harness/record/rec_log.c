/* rec_log.c - the recorder's raw log: one file per process, written through shared
 * file mappings.
 *
 * Each thread owns one chunk of the file at a time (64 KiB, doubling up to 2 MiB
 * for a busy thread), mapped MAP_SHARED and pre-faulted, and appends records to it with plain stores: no lock and no system
 * call on the hot path. A record stored is in the page cache at once, so nothing
 * is lost when the process ends by exit() from any thread, _exit(), or even a
 * signal that kills it: there is no buffer to flush. A thread whose chunk is full
 * takes the next free chunk of the file; that reservation (growing the file and
 * writing the chunk's header) is the only place with a lock, once per 2047 to
 * 65535 records.
 *
 * Threads: a thread gets its index and first chunk at its first record. A pthread
 * key destructor writes its exit record and unmaps its chunk; it re-arms itself
 * for the later destructor rounds first, so that frees made by other libraries'
 * key destructors are still recorded. Calls a thread makes after that (glibc frees
 * a thread's dlerror buffer after the key destructors) are forwarded and counted,
 * not recorded.
 *
 * fork: the child must not write into the parent's chunks (they are shared with
 * the parent). Its atfork handler drops them and the child starts a file of its
 * own, PREFIX.<child pid>.<n>, at its next record. Inherited chunks of the
 * parent's other threads stay mapped in the child (at most one chunk per thread)
 * but are never written. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rec_internal.h"

__thread struct rec_thread rec_self __attribute__((tls_model("initial-exec"))) = { .idx = REC_NO_THREAD };

enum { LOG_UNOPENED = 0, LOG_OPEN = 1, LOG_OFF = -1 };

static char g_prefix[PATH_MAX - 32];
static int g_log_state = LOG_OFF;
static int g_fd = -1;
static _Atomic(struct raw_file_hdr *) g_hdr;
static uint64_t g_off, g_size; /* next free chunk; file size (under g_lock) */
static atomic_flag g_lock = ATOMIC_FLAG_INIT;
static pthread_key_t g_key;

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire))
        sched_yield();
}

static void unlock(void)
{
    atomic_flag_clear_explicit(&g_lock, memory_order_release);
}

void rec_count(size_t field_offset)
{
    struct raw_file_hdr *h = atomic_load_explicit(&g_hdr, memory_order_acquire);
    if (h)
        atomic_fetch_add_explicit((_Atomic uint64_t *)((char *)h + field_offset), 1, memory_order_relaxed);
}

/* Append the decimal v at p; returns the end. */
static char *put_dec(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = tmp[--n];
    *p = '\0';
    return p;
}

/* Create PREFIX.<pid>.<n> with the first free n, map its header. Under g_lock. */
static int open_file(void)
{
    char path[PATH_MAX];
    size_t plen = strlen(g_prefix);
    memcpy(path, g_prefix, plen);
    char *p = path + plen;
    *p++ = '.';
    p = put_dec(p, (uint64_t)getpid());
    *p++ = '.';
    int fd = -1;
    for (unsigned n = 0; n < 10000 && fd < 0; n++) {
        put_dec(p, n); /* a new n for each exec'd image of the same pid */
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    uint64_t size = RAW_HEADER_BYTES + (uint64_t)RAW_CHUNK_MAX;
    if (ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        return -1;
    }
    struct raw_file_hdr *h = mmap(NULL, RAW_HEADER_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED) {
        close(fd);
        return -1;
    }
    h->version = RAW_VERSION;
    h->chunk_max = RAW_CHUNK_MAX;
    h->pid = (uint64_t)getpid();
    h->ppid = (uint64_t)getppid();
    h->start_tsc = __rdtsc();
    ssize_t n = readlink("/proc/self/exe", h->exe, sizeof h->exe - 1);
    h->exe[n > 0 ? n : 0] = '\0';
    atomic_store_explicit((_Atomic uint64_t *)&h->magic, RAW_FILE_MAGIC, memory_order_release);
    g_fd = fd;
    g_off = RAW_HEADER_BYTES;
    g_size = size;
    atomic_store_explicit(&g_hdr, h, memory_order_release);
    return 0;
}

/* Reserve the thread's next chunk and write its header (so that the file's chunks
 * can be walked even if the process dies now); under g_lock. */
static int reserve_chunk(struct rec_thread *t, uint64_t *off, uint32_t *bytes)
{
    if (g_log_state == LOG_UNOPENED)
        g_log_state = open_file() == 0 ? LOG_OPEN : LOG_OFF;
    if (g_log_state != LOG_OPEN)
        return -1;
    uint32_t shift = t->seq < 5 ? t->seq : 5;
    *bytes = RAW_CHUNK_MIN << shift;
    _Static_assert((RAW_CHUNK_MIN << 5) == RAW_CHUNK_MAX, "chunk sizes");
    uint64_t end = g_off + *bytes;
    if (end + sizeof(struct raw_chunk_hdr) > g_size) { /* grow geometrically: few ftruncate calls */
        uint64_t grow = g_size < ((uint64_t)256 << 20) ? g_size : ((uint64_t)256 << 20);
        uint64_t size = g_size + grow > end + RAW_CHUNK_MAX ? g_size + grow : end + RAW_CHUNK_MAX;
        if (ftruncate(g_fd, (off_t)size) != 0)
            return -1;
        g_size = size;
    }
    struct raw_file_hdr *h = atomic_load_explicit(&g_hdr, memory_order_relaxed);
    if (t->idx == REC_NO_THREAD)
        t->idx = (uint32_t)h->threads++;
    struct raw_chunk_hdr ch = { .magic = RAW_CHUNK_MAGIC, .thread = t->idx, .seq = t->seq, .bytes = *bytes };
    if (pwrite(g_fd, &ch, sizeof ch, (off_t)g_off) != (ssize_t)sizeof ch)
        return -1;
    t->seq++;
    *off = g_off;
    g_off = end;
    return 0;
}

static int next_chunk_masked(struct rec_thread *t);

int rec_next_chunk(struct rec_thread *t)
{
    if (t->state == TS_EXITED) {
        rec_count(offsetof(struct raw_file_hdr, after_exit));
        return 0;
    }
    if (g_log_state == LOG_OFF)
        return 0;
    /* No signal handler runs while the thread is BUSY_INTERNAL: its calls would be
     * served, unrecorded and uncounted, from the bootstrap arena. Two system calls
     * per chunk, against the mmap and munmap already made. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int ok = next_chunk_masked(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

static int next_chunk_masked(struct rec_thread *t)
{
    t->busy = BUSY_INTERNAL; /* libc below may allocate: from the bootstrap arena */
    if (t->chunk)
        munmap(t->chunk, t->chunk_bytes); /* full: its records are in the file */
    t->chunk = t->cur = t->end = NULL;
    uint64_t off;
    uint32_t bytes;
    lock();
    int rc = reserve_chunk(t, &off, &bytes);
    int fd = g_fd;
    unlock();
    /* MAP_POPULATE: one system call faults the whole chunk in, not one fault per page */
    struct raw_rec *m = rc == 0 ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)off)
                                : MAP_FAILED;
    if (m == MAP_FAILED) {
        rec_count(offsetof(struct raw_file_hdr, lost));
        t->busy = BUSY_RECORDING;
        return 0;
    }
    t->chunk = m;
    t->chunk_bytes = bytes;
    t->cur = m + 1;
    t->end = m + bytes / sizeof *m;
    if (!t->registered) { /* so that the key destructor runs at this thread's exit */
        t->registered = 1;
        pthread_setspecific(g_key, t);
    }
    t->state = TS_ACTIVE;
    t->busy = BUSY_RECORDING;
    return 1;
}

static void thread_exit(void *arg)
{
    struct rec_thread *t = &rec_self;
    sigset_t all, old;
    sigfillset(&all);
    if (++t->dtor_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
        /* Come back in the next round: other keys' destructors may still free. */
        pthread_sigmask(SIG_SETMASK, &all, &old);
        uint8_t b = t->busy;
        t->busy = BUSY_INTERNAL;
        pthread_setspecific(g_key, arg);
        t->busy = b;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return;
    }
    rec_put(RAW_THREAD_EXIT, 0, 0, 0);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    t->busy = BUSY_INTERNAL;
    if (t->chunk)
        munmap(t->chunk, t->chunk_bytes);
    t->chunk = t->cur = t->end = NULL;
    t->state = TS_EXITED;
    t->busy = BUSY_NO;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void fork_prepare(void)
{
    lock(); /* no chunk reservation in flight across the fork */
}

static void fork_parent(void)
{
    unlock();
}

static void fork_child(void)
{
    struct rec_thread *t = &rec_self;
    struct raw_file_hdr *h = atomic_load(&g_hdr);
    if (g_log_state == LOG_OPEN) {
        atomic_store(&g_hdr, NULL);
        munmap(h, RAW_HEADER_BYTES);
        close(g_fd);
        g_fd = -1;
        g_log_state = LOG_UNOPENED;
    }
    if (t->chunk)
        munmap(t->chunk, t->chunk_bytes);
    t->chunk = t->cur = t->end = NULL;
    t->idx = REC_NO_THREAD;
    t->seq = 0;
    if (t->state == TS_ACTIVE)
        t->state = TS_NEW;
    atomic_flag_clear(&g_lock);
}

void rec_log_init(void)
{
    const char *prefix = getenv("AMRECORD_RAW");
    if (!prefix || !*prefix || strlen(prefix) >= sizeof g_prefix)
        return; /* not under `allocmark-trace record`: forward only */
    strcpy(g_prefix, prefix);
    if (pthread_key_create(&g_key, thread_exit) != 0 || pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
        return;
    g_log_state = LOG_UNOPENED;
}
