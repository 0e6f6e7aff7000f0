/* tcmalloc.c - adapter for gperftools' tcmalloc through its tc_* API.
 *
 * Link: -ltcmalloc_minimal (it also replaces malloc for the whole process).
 */
#include "allocator.h"

#include <gperftools/malloc_extension_c.h>
#include <gperftools/tcmalloc.h>
#include <pthread.h>
#include <stdio.h>

/* tc_free_sized() takes the size class from `size` without looking the block
 * up, so it is only safe when the block really is in that class. tc_realloc()
 * can keep a block outside the class of its new size (it keeps the block at
 * 1/2..1x of its class, and a growth under 25% gets 1.25x the old class); the
 * replayer therefore passes size 0 for objects last resized by realloc, and
 * those are freed unsized (see allocator.h). */
static int tc_adapter_init(const char *options)
{
    if (options != NULL && options[0] != '\0') {
        fprintf(stderr, "tcmalloc: unknown allocator option '%s' (this adapter takes none)\n",
                options);
        return -1;
    }
    /* The thread cache and size map are set up lazily on the first allocation:
     * do it here so it is counted as init_ns. */
    void *volatile p = tc_malloc(64);
    tc_free(p);
    return 0;
}

static void *tc_adapter_malloc(size_t size)
{
    return tc_malloc(size);
}

static void tc_adapter_free(void *ptr, size_t size)
{
    if (size != 0)
        tc_free_sized(ptr, size);
    else
        tc_free(ptr);
}

static void *tc_adapter_calloc(size_t nmemb, size_t size)
{
    return tc_calloc(nmemb, size);
}

static void *tc_adapter_realloc(void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    /* tc_realloc(p, 0) frees p and returns NULL, as every adapter does. */
    return tc_realloc(ptr, new_size);
}

static void *tc_adapter_aligned_alloc(size_t alignment, size_t size)
{
    /* tc_memalign only asserts (in debug builds) that alignment is a power of
     * two; refuse anything else. */
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return NULL;
    return tc_memalign(alignment, size);
}

static size_t tc_adapter_usable_size(void *ptr)
{
    return tc_malloc_size(ptr);
}

static int tc_adapter_release(void)
{
    MallocExtension_ReleaseFreeMemory();
    return 0;
}

static int64_t tc_prop(struct alloc_stats *st, const char *name)
{
    size_t v;
    if (!MallocExtension_GetNumericProperty(name, &v))
        return -1;
    alloc_stats_add(st, name, (int64_t)v);
    return (int64_t)v;
}

static int tc_adapter_stats(struct alloc_stats *st)
{
    /* heap_size is what the page heap holds from the OS, unmapped (released)
     * pages included; so resident = heap_size - unmapped. Metadata is not in
     * heap_size. The extras keep tcmalloc's own property names. */
    int64_t allocated = tc_prop(st, "generic.current_allocated_bytes");
    int64_t heap = tc_prop(st, "generic.heap_size");
    int64_t unmapped = tc_prop(st, "tcmalloc.pageheap_unmapped_bytes");
    tc_prop(st, "tcmalloc.pageheap_free_bytes");
    tc_prop(st, "tcmalloc.central_cache_free_bytes");
    tc_prop(st, "tcmalloc.transfer_cache_free_bytes");
    tc_prop(st, "tcmalloc.current_total_thread_cache_bytes");
    tc_prop(st, "generic.total_physical_bytes");
    st->allocated = allocated;
    st->mapped = heap;
    st->retained = unmapped;
    if (heap >= 0 && unmapped >= 0)
        st->resident = heap - unmapped;
    return allocated >= 0 || heap >= 0 ? 0 : -1;
}

static char version_buf[64];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_fill(void)
{
    int major = 0, minor = 0;
    const char *patch = "";
    const char *full = tc_version(&major, &minor, &patch);
    snprintf(version_buf, sizeof version_buf, "tcmalloc %d.%d%s (%s)", major, minor,
             patch != NULL ? patch : "", full != NULL ? full : "gperftools");
}

static const char *tc_adapter_version(void)
{
    pthread_once(&version_once, version_fill);
    return version_buf;
}

const struct allocator allocator_under_test = {
    .name = "tcmalloc",
    .init = tc_adapter_init,
    .malloc = tc_adapter_malloc,
    .free = tc_adapter_free,
    .calloc = tc_adapter_calloc,
    .realloc = tc_adapter_realloc,
    .aligned_alloc = tc_adapter_aligned_alloc,
    .usable_size = tc_adapter_usable_size,
    /* The thread cache is created on a thread's first allocation and returned
     * by a TSD destructor at thread exit; nothing to call. */
    .thread_init = NULL,
    .thread_exit = NULL,
    .release = tc_adapter_release,
    .stats = tc_adapter_stats,
    .version = tc_adapter_version,
};
