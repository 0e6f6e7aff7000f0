/* debug.c - the debug build's checks (compiled in with -DSLAB_DEBUG=1; in the
 * release build this file is empty and pool.c's hooks fold away).
 *
 * What it catches, each with an abort message naming the pointer (through
 * _slab_bad_free, so "slab: free(0x...): why"):
 *   - a double free of a chunk, also when the first free left it in a thread
 *     magazine (the chunk's state is cleared at free time, before any cache),
 *     and of a large block (the registry no longer knows it);
 *   - a free of a pointer that is not a block: inside a chunk, past a slab's
 *     last chunk, in a slab that holds no chunks, outside the pool (stack,
 *     static, another allocator's, another pool's);
 *   - a write past the requested bytes: SLAB_CANARY bytes of canary follow
 *     every block (the class is chosen for size + SLAB_CANARY, large mappings
 *     are that much longer) and are checked when the block is freed or
 *     reallocated;
 *   - slab_free_sized with a size other than the block's, or for a block whose
 *     class is not the size's (an aligned one): a silent corruption in release.
 *
 * State: a side table with one 16-bit entry per possible chunk (SLAB_SIZE / 16
 * per slab: the smallest class is 16 bytes), indexed by slab index and chunk
 * index, holding the requested size + 1, or 0 when the chunk is not handed out.
 * It is reserved at create with MAP_NORESERVE (slab_os_reserve): only the pages
 * of slabs in use are ever touched. Entries are atomics, so that two threads
 * freeing one chunk at once are caught as well. Large blocks need no entry:
 * their header records the size (requested + canary).
 *
 * In a debug build slab_usable_size returns the requested size (the bytes the
 * caller may use: the canary follows them).
 */
#include "slab_internal.h"

#if SLAB_DEBUG

#include <errno.h>
#include <string.h>

#include "slab_os.h"

#define CHUNKS_PER_SLAB (SLAB_SIZE / 16)
static const uint64_t canary_value = 0xa5c3f00dd15ea5e5ull; /* no 0x00, no 0xff, no ASCII */

_Static_assert(SLAB_MAX_CLASS_SIZE + 1 <= UINT16_MAX, "a requested size + 1 must fit a state entry");

int _slab_debug_init(struct slab_pool *p)
{
    size_t bytes = p->region.n_slabs * CHUNKS_PER_SLAB * sizeof *p->dbg_state;
    bytes = (bytes + 4095) & ~(size_t)4095;
    p->dbg_state = slab_os_reserve(bytes, 4096);
    if (!p->dbg_state) {
        errno = ENOMEM;
        return -1;
    }
    p->dbg_bytes = bytes;
    return 0;
}

void _slab_debug_destroy(struct slab_pool *p)
{
    slab_os_unmap((void *)p->dbg_state, p->dbg_bytes);
    p->dbg_state = NULL;
}

/* "prefix<n>suffix" into buf (no stdio). */
static const char *with_number(char *buf, size_t len, const char *prefix, size_t n, const char *suffix)
{
    char digits[24];
    size_t k = 0;
    do
        digits[k++] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    size_t i = 0;
    for (const char *s = prefix; *s && i + 1 < len; s++)
        buf[i++] = *s;
    while (k && i + 1 < len)
        buf[i++] = digits[--k];
    for (const char *s = suffix; *s && i + 1 < len; s++)
        buf[i++] = *s;
    buf[i] = 0;
    return buf;
}

static void check_canary(const void *ptr, size_t size)
{
    if (memcmp((const char *)ptr + size, &canary_value, sizeof canary_value) != 0) {
        char why[96];
        _slab_bad_free(ptr, with_number(why, sizeof why, "write past the end of a ", size,
                                        "-byte block (its canary is damaged)"));
    }
}

/* ptr's entry in the side table; ptr is in slab d of class c (c < n_classes).
 * Aborts (with op's wording) if ptr is not the start of one of the slab's chunks. */
static _Atomic uint16_t *state_of(struct slab_pool *p, struct slab_desc *d, unsigned c, const void *ptr,
                                  int release)
{
    size_t off = (size_t)((const char *)ptr - _slab_addr(p, d)), size = p->cls[c].size;
    if (off % size != 0)
        _slab_bad_free(ptr, release ? "free of a pointer inside a block" : "realloc of a pointer inside a block");
    if (off / size >= p->cls[c].per_slab)
        _slab_bad_free(ptr, "pointer past the last block of its slab");
    return &p->dbg_state[(size_t)(d - p->region.desc) * CHUNKS_PER_SLAB + off / size];
}

void _slab_debug_alloc(struct slab_pool *p, void *ptr, size_t size)
{
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (d)
        atomic_store_explicit(state_of(p, d, _slab_desc_class(d), ptr, 0), (uint16_t)(size + 1),
                              memory_order_relaxed);
    memcpy((char *)ptr + size, &canary_value, sizeof canary_value);
}

size_t _slab_debug_check(struct slab_pool *p, void *ptr, int release)
{
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (!d) {
        if (!ptr || _slab_large_usable(p, ptr) == 0) {
            if (!release)
                _slab_bad_free(ptr, "realloc of a pointer not from this pool");
            return 0; /* not a live large block: slab_free's message says so */
        }
        size_t size = _slab_large_size(ptr) - SLAB_CANARY;
        check_canary(ptr, size);
        return size;
    }
    unsigned c = _slab_desc_class(d);
    if (c >= p->n_classes) {
        if (!release)
            _slab_bad_free(ptr, "realloc of a pointer not from this pool");
        return 0; /* a slab holding no chunks: slab_free's message says so */
    }
    _Atomic uint16_t *st = state_of(p, d, c, ptr, release);
    uint16_t v = release ? atomic_exchange_explicit(st, 0, memory_order_relaxed)
                         : atomic_load_explicit(st, memory_order_relaxed);
    if (v == 0)
        _slab_bad_free(ptr, release ? "double free (or never allocated)"
                                    : "realloc of a freed block (or never allocated)");
    check_canary(ptr, (size_t)v - 1);
    return (size_t)v - 1;
}

void _slab_debug_check_sized(struct slab_pool *p, void *ptr, size_t size)
{
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (!d || _slab_desc_class(d) >= p->n_classes)
        return; /* large, foreign or no chunks: slab_free checks and reports */
    unsigned c = _slab_desc_class(d);
    uint16_t v = atomic_load_explicit(state_of(p, d, c, ptr, 1), memory_order_relaxed);
    if (v == 0)
        return; /* slab_free reports the double free */
    char why[112];
    if ((size_t)v - 1 != size)
        _slab_bad_free(ptr, with_number(why, sizeof why, "sized free with the wrong size (the block has ", v - 1u,
                                        " bytes)"));
    if (p->class_of[(size + SLAB_CANARY + 15) >> 4] != c)
        _slab_bad_free(ptr, "sized free of a block whose class is not its size's (aligned alloc?)");
}

size_t _slab_debug_usable(struct slab_pool *p, const void *ptr)
{
    struct slab_desc *d = _slab_desc_of(p, ptr);
    if (!d)
        return ptr && _slab_large_usable(p, ptr) ? _slab_large_size(ptr) - SLAB_CANARY : 0;
    unsigned c = _slab_desc_class(d);
    if (c >= p->n_classes)
        return 0;
    size_t off = (size_t)((const char *)ptr - _slab_addr(p, d)), size = p->cls[c].size;
    if (off % size != 0 || off / size >= p->cls[c].per_slab)
        return 0;
    uint16_t v = atomic_load_explicit(&p->dbg_state[(size_t)(d - p->region.desc) * CHUNKS_PER_SLAB + off / size],
                                      memory_order_relaxed);
    return v ? (size_t)v - 1 : 0;
}

#else

typedef int slab_debug_not_built; /* ISO C wants a translation unit to declare something */

#endif
