/* rec_boot.c - the recorder's bootstrap arena.
 *
 * dlsym(RTLD_NEXT, "malloc") may itself call calloc (for its error buffer) before
 * there is a real calloc to forward to, and libc calls the recorder makes while
 * setting up (pthread_atfork, pthread_setspecific) may allocate too. Those nested
 * calls get memory from here: a static bump arena, zeroed, never reused. free() of
 * such a block is a no-op and is not recorded (rec_api.c checks rec_is_boot). */
#include <errno.h>
#include <string.h>

#include "rec_internal.h"

#define BOOT_BYTES ((size_t)256 << 10)
#define BOOT_HDR 16u /* the block's size, stored in front of it */

static _Alignas(4096) char boot[BOOT_BYTES];
static atomic_size_t boot_used;

int rec_is_boot(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot < BOOT_BYTES;
}

size_t rec_boot_size(const void *p)
{
    size_t s;
    memcpy(&s, (const char *)p - BOOT_HDR, sizeof s);
    return s;
}

void *rec_boot_alloc(size_t align, size_t size)
{
    if (align < 16)
        align = 16;
    if (size > BOOT_BYTES || align > BOOT_BYTES)
        return NULL;
    size_t old = atomic_load(&boot_used), start, end;
    do {
        start = (old + BOOT_HDR + align - 1) & ~(align - 1);
        end = start + ((size + 15) & ~(size_t)15);
        if (end > BOOT_BYTES)
            return NULL;
    } while (!atomic_compare_exchange_weak(&boot_used, &old, end));
    memcpy(boot + start - BOOT_HDR, &size, sizeof size);
    return boot + start;
}
