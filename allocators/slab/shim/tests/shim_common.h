/* shim_common.h - helpers for the programs test_shim.sh runs under
 * LD_PRELOAD=libslabmalloc.so: a CHECK that reports file:line and exits 1,
 * and the proof that the shim, not glibc, is the malloc in use. */
#ifndef SHIM_COMMON_H
#define SHIM_COMMON_H

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

/* 1 if libslabmalloc.so is mapped into this process and is the malloc in use:
 * a 17-byte request gets a 32-byte chunk (the slab class), where glibc gives 24. */
static inline int shim_active(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int mapped = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "libslabmalloc.so"))
            mapped = 1;
    fclose(f);
    void *p = malloc(17);
    size_t usable = malloc_usable_size(p);
    free(p);
    return mapped && usable == 32;
}

#endif
