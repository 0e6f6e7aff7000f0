/* os.c - the harness's only door to the kernel. See os.h. */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t os_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void os_sleep_ms(uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

void *os_map_lazy(size_t bytes)
{
    if (bytes == 0)
        bytes = OS_PAGE_SIZE;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *os_map_shared(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void os_prefault(void *p, size_t bytes)
{
    volatile char *c = p;
    for (size_t off = 0; off < bytes; off += OS_PAGE_SIZE)
        c[off] = 0;
}

void *os_map(size_t bytes)
{
    void *p = os_map_lazy(bytes);
    if (p)
        os_prefault(p, bytes); /* MAP_POPULATE can fail silently; writing cannot */
    return p;
}

void *os_remap(void *p, size_t old_bytes, size_t new_bytes)
{
    void *q = mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

void os_unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : OS_PAGE_SIZE);
}

int os_map_file(const char *path, const void **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    *size = (size_t)st.st_size;
    if (*size == 0) {
        /* mmap of 0 bytes fails; an empty file is still a (bad) trace to report on */
        close(fd);
        *data = "";
        return 0;
    }
    void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        errno = e;
        return -1;
    }
    *data = p;
    return 0;
}

void os_unmap_file(const void *data, size_t size)
{
    if (size)
        munmap((void *)data, size);
}

int os_write_all(int fd, const void *buf, size_t len)
{
    const char *c = buf;
    while (len) {
        ssize_t n = write(fd, c, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

int os_write_file_atomic(const char *path, const void *buf, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (os_write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

static int statm_fd = -1;

int os_rss_open(void)
{
    if (statm_fd < 0)
        statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    return statm_fd < 0 ? -1 : 0;
}

/* Parse the next unsigned decimal field; advances *s past it. */
static uint64_t next_u64(const char **s)
{
    const char *c = *s;
    while (*c == ' ' || *c == '\t')
        c++;
    uint64_t v = 0;
    while (*c >= '0' && *c <= '9')
        v = v * 10 + (uint64_t)(*c++ - '0');
    *s = c;
    return v;
}

uint64_t os_rss_anon_bytes(void)
{
    char buf[256];
    if (statm_fd < 0)
        return 0;
    ssize_t n = pread(statm_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* statm: size resident shared text lib data dt, in pages */
    const char *c = buf;
    (void)next_u64(&c);
    uint64_t resident = next_u64(&c);
    uint64_t shared = next_u64(&c);
    return (resident > shared ? resident - shared : 0) * OS_PAGE_SIZE;
}

int os_status_read(uint64_t *vmhwm_bytes, uint64_t *rss_file_shmem_bytes)
{
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    uint64_t hwm = 0, file = 0, shmem = 0;
    for (const char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *c = strchr(line, ':');
        if (!c)
            break;
        c++;
        if (strncmp(line, "VmHWM:", 6) == 0)
            hwm = next_u64(&c) * 1024;
        else if (strncmp(line, "RssFile:", 8) == 0)
            file = next_u64(&c) * 1024;
        else if (strncmp(line, "RssShmem:", 9) == 0)
            shmem = next_u64(&c) * 1024;
    }
    *vmhwm_bytes = hwm;
    *rss_file_shmem_bytes = file + shmem;
    return 0;
}

int os_reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = os_write_all(fd, "5", 1);
    close(fd);
    return rc;
}

static uint64_t tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

void os_usage_now(struct os_usage *u)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    u->minor_faults = (uint64_t)ru.ru_minflt;
    u->major_faults = (uint64_t)ru.ru_majflt;
    u->user_ns = tv_ns(ru.ru_utime);
    u->sys_ns = tv_ns(ru.ru_stime);
}

int os_run_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1000;
    if (pid == 0)
        _exit(fn(arg));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1000;
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

int os_thread_start(struct os_thread *t, void *(*fn)(void *), void *arg, void *stack, size_t stack_bytes)
{
    _Static_assert(sizeof(pthread_t) <= sizeof t->handle, "pthread_t does not fit");
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_attr_setstack(&attr, stack, stack_bytes);
    pthread_t th;
    if (rc == 0)
        rc = pthread_create(&th, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        t->handle = (unsigned long)th;
    return rc;
}

void os_thread_join(struct os_thread *t)
{
    pthread_join((pthread_t)t->handle, NULL);
}

void os_yield(void)
{
    sched_yield();
}

void os_futex_wait(const uint32_t *word, uint32_t val, uint64_t timeout_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000u), .tv_nsec = (long)(timeout_ns % 1000000000u) };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout_ns ? &ts : NULL, NULL, 0);
}

void os_futex_wake_all(const uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
