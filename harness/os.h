/* os.h - every OS call the harness makes (mmap, /proc reads, clocks, rusage, sleep).
 * Keeping them behind one small file makes the hot paths auditable: nothing in
 * replay.c or trace_*.c talks to the kernel directly. */
#ifndef ALLOCMARK_OS_H
#define ALLOCMARK_OS_H

#include <stddef.h>
#include <stdint.h>

#define OS_PAGE_SIZE 4096u

/* CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall). */
uint64_t os_now_ns(void);
/* CPU time the calling thread has used, in nanoseconds. */
uint64_t os_thread_cpu_ns(void);
void os_sleep_ms(uint64_t ms);

/* Anonymous private memory, zeroed and pre-faulted (so touching it later costs
 * no page fault inside a measurement). NULL on failure. */
void *os_map(size_t bytes);
/* Anonymous memory that is not pre-faulted (for buffers that grow). */
void *os_map_lazy(size_t bytes);
/* Anonymous memory shared with child processes, faulted in only when touched. */
void *os_map_shared(size_t bytes);
/* Grow or shrink a mapping made by os_map/os_map_lazy; may move. NULL on failure. */
void *os_remap(void *p, size_t old_bytes, size_t new_bytes);
void os_unmap(void *p, size_t bytes);
/* Fault in every page of [p, p+bytes) by writing to it. */
void os_prefault(void *p, size_t bytes);

/* Map a whole file read-only and fault it in. Returns 0, or -1 with errno set. */
int os_map_file(const char *path, const void **data, size_t *size);
void os_unmap_file(const void *data, size_t size);

/* Write all of buf to fd (retrying short writes). Returns 0 or -1 with errno. */
int os_write_all(int fd, const void *buf, size_t len);
/* Write a whole file atomically: temp file in the same directory, then rename.
 * Returns 0 or -1 with errno set (the temp file is removed on failure). */
int os_write_file_atomic(const char *path, const void *buf, size_t len);

/* Anonymous resident memory from a kept-open /proc/self/statm: resident - shared. */
int os_rss_open(void);              /* 0 or -1 */
uint64_t os_rss_anon_bytes(void);   /* 0 if not open */
/* Peak total RSS (VmHWM) and current file-backed + shmem RSS from /proc/self/status. */
int os_status_read(uint64_t *vmhwm_bytes, uint64_t *rss_file_shmem_bytes);
/* Reset VmHWM to the current RSS (writes 5 to /proc/self/clear_refs). 0 or -1. */
int os_reset_hwm(void);

struct os_usage {
    uint64_t minor_faults, major_faults;
    uint64_t user_ns, sys_ns;
};
void os_usage_now(struct os_usage *u);

/* Threads for multi-thread replay. The stack is the caller's (os_map: pre-faulted
 * harness memory, so a replay thread's stack never shows up as heap RSS). */
struct os_thread {
    unsigned long handle; /* pthread_t */
};
int os_thread_start(struct os_thread *t, void *(*fn)(void *), void *arg, void *stack, size_t stack_bytes); /* 0 or errno */
void os_thread_join(struct os_thread *t);
/* Give the CPU to another runnable thread (sched_yield). */
void os_yield(void);
/* Futex on a 32-bit word: sleep while *word == val (at most timeout_ns, 0 = no
 * limit; returns early on a wake or a spurious wake-up), and wake every sleeper. */
void os_futex_wait(const uint32_t *word, uint32_t val, uint64_t timeout_ns);
void os_futex_wake_all(const uint32_t *word);

/* Run fn(arg) in a child process and wait for it. Returns the child's exit
 * status (0..255), or -signal if a signal killed it, or -1000 if fork failed. */
int os_run_child(int (*fn)(void *), void *arg);

#endif
