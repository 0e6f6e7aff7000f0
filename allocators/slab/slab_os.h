/* slab_os.h - every OS call of the slab allocator (mmap, madvise, clock). */
#ifndef SLAB_OS_H
#define SLAB_OS_H

#include <stddef.h>
#include <stdint.h>

/* Reserve `size` bytes of address space aligned to `align` (readable and
 * writable, not committed: MAP_NORESERVE). NULL on failure. */
void *slab_os_reserve(size_t size, size_t align);
/* Anonymous memory for the allocator's own structures (zeroed). NULL on failure. */
void *slab_os_map(size_t size);
void slab_os_unmap(void *p, size_t size);
/* Resize a slab_os_map mapping, moving it if need be (mremap): the new address, or NULL. */
void *slab_os_remap(void *p, size_t old_size, size_t new_size);
/* Fault in [p, p+size) by writing each page. */
void slab_os_prefault(void *p, size_t size);
void slab_os_hugepage(void *p, size_t size);
/* Give the pages back to the OS; the range stays mapped and reads as zeros. */
void slab_os_release(void *p, size_t size);
/* A coarse monotonic clock in milliseconds (vDSO: no syscall). */
uint64_t slab_os_now_ms(void);
void slab_os_sleep_ms(uint64_t ms);
/* Give the CPU to another thread (a lock holder that was preempted). */
void slab_os_yield(void);
/* Write msg to stderr without stdio (which may allocate) and abort. */
__attribute__((noreturn)) void slab_os_die(const char *msg);

#endif
