/* config.c - pool configuration: defaults, "key=value,..." parsing, and the
 * size-class rule.
 *
 * Why 8 classes per doubling by default: internal fragmentation (bytes wasted by
 * rounding up to the class, over bytes handed out), measured on 200,000 sizes:
 *
 *   classes per doubling      4 (28 classes)   8 (48 classes)
 *   uniform 16..4096 B            7.7%             4.0%
 *   uniform 1..256 B              8.2%             5.5%
 *   lognormal, median 300 B       8.3%             4.3%
 *
 * Twice the classes halve the waste; the cost is more partially used slabs, at
 * most one 64 KiB slab per class (3 MiB for 48 classes), which is small next
 * to the 4% of a live set in the hundreds of MiB this allocator is built for. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

/* Append s[0..len) to err (capacity errlen, fill *n), truncating. */
static void put(char *err, size_t errlen, size_t *n, const char *s, size_t len)
{
    size_t room = errlen - 1 - *n;
    if (len > room)
        len = room;
    memcpy(err + *n, s, len);
    *n += len;
}

/* err = "slab option '<key>': <what>", plus " '<value>'" when value is given.
 * No stdio: the LD_PRELOAD shim parses its options inside its first malloc. */
static void set_err(char *err, size_t errlen, const char *key, size_t kl, const char *what, const char *value,
                    size_t vl)
{
    if (!err || errlen == 0)
        return;
    size_t n = 0;
    put(err, errlen, &n, "slab option '", 13);
    put(err, errlen, &n, key, kl);
    put(err, errlen, &n, "': ", 3);
    put(err, errlen, &n, what, strlen(what));
    if (value) {
        put(err, errlen, &n, " '", 2);
        put(err, errlen, &n, value, vl);
        put(err, errlen, &n, "'", 1);
    }
    err[n] = 0;
}

void slab_config_default(struct slab_config *c)
{
    memset(c, 0, sizeof *c);
    c->classes_per_doubling = 8;
    c->max_class = 4096;
    c->overflow = 1;
    c->idle_ms = 10000;
    c->thread_cache = 1;
    c->magazine = 32; /* two per thread and class: 64 chunks at most, as one of 64 held before the depot */
    c->depot = 8;     /* why 32 and 8: allocators/slab/README.md, "Thread cache" */
    c->magazine_max_bytes = 16 << 10; /* why: allocators/slab/README.md, "Magazines bounded in bytes" */
    c->reserve = (size_t)64 << 30;
    c->large_cache = (size_t)64 << 20; /* why 64 MiB: allocators/slab/README.md, "Large objects" */
    c->large_cache_share = 50;         /* why 50%: the same section */
}

/* "123", "64K", "1M", "2G". */
static int parse_size(const char *s, size_t len, size_t *out)
{
    if (len == 0)
        return -1;
    size_t mult = 1;
    char last = s[len - 1];
    if (last == 'K' || last == 'k')
        mult = (size_t)1 << 10;
    else if (last == 'M' || last == 'm')
        mult = (size_t)1 << 20;
    else if (last == 'G' || last == 'g')
        mult = (size_t)1 << 30;
    if (mult != 1)
        len--;
    if (len == 0)
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (SIZE_MAX - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (v > SIZE_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

static int parse_long(const char *s, size_t len, long *out)
{
    int neg = len > 0 && s[0] == '-';
    size_t v;
    if (parse_size(s + neg, len - (size_t)neg, &v) != 0 || v > (size_t)LONG_MAX)
        return -1;
    *out = neg ? -(long)v : (long)v;
    return 0;
}

static int parse_classes(struct slab_config *c, const char *s, size_t len)
{
    unsigned n = 0;
    while (len) {
        const char *colon = memchr(s, ':', len);
        size_t tl = colon ? (size_t)(colon - s) : len;
        if (n == SLAB_MAX_CLASSES || parse_size(s, tl, &c->classes[n]) != 0)
            return -1;
        n++;
        s += tl;
        len -= tl;
        if (colon) {
            s++;
            len--;
            if (!len)
                return -1;
        }
    }
    c->n_classes = n;
    return n ? 0 : -1;
}

int slab_config_parse(struct slab_config *c, const char *opts, char *err, size_t errlen)
{
    const char *p = opts ? opts : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq) {
            set_err(err, errlen, p, n, "expected key=value", NULL, 0);
            return -1;
        }
        size_t kl = (size_t)(eq - p), vl = n - kl - 1;
        const char *v = eq + 1;
        size_t sz;
        long l;
        int ok;
#define KEY(name) (kl == sizeof(name) - 1 && memcmp(p, name, kl) == 0)
        if (KEY("classes"))
            ok = parse_classes(c, v, vl) == 0;
        else if (KEY("classes_per_doubling"))
            ok = parse_size(v, vl, &sz) == 0 && (c->classes_per_doubling = (unsigned)sz) == sz;
        else if (KEY("max_class"))
            ok = parse_size(v, vl, &c->max_class) == 0;
        else if (KEY("prealloc"))
            ok = parse_size(v, vl, &c->prealloc) == 0;
        else if (KEY("prealloc_hugepage"))
            ok = parse_size(v, vl, &sz) == 0 && sz <= 1 && ((c->prealloc_hugepage = (int)sz), 1);
        else if (KEY("overflow"))
            ok = parse_size(v, vl, &sz) == 0 && sz <= 1 && ((c->overflow = (int)sz), 1);
        else if (KEY("hard_limit"))
            ok = parse_size(v, vl, &c->hard_limit) == 0;
        else if (KEY("idle_ms"))
            ok = parse_long(v, vl, &l) == 0 && l >= -1 && ((c->idle_ms = l), 1);
        else if (KEY("tick_thread"))
            ok = parse_size(v, vl, &sz) == 0 && sz <= 1 && ((c->tick_thread = (int)sz), 1);
        else if (KEY("thread_cache"))
            ok = parse_size(v, vl, &sz) == 0 && sz <= 1 && ((c->thread_cache = (int)sz), 1);
        else if (KEY("magazine"))
            ok = parse_size(v, vl, &sz) == 0 && (c->magazine = (unsigned)sz) == sz;
        else if (KEY("magazine_max_bytes"))
            ok = parse_size(v, vl, &c->magazine_max_bytes) == 0;
        else if (KEY("depot"))
            ok = parse_size(v, vl, &sz) == 0 && (c->depot = (unsigned)sz) == sz;
        else if (KEY("reserve"))
            ok = parse_size(v, vl, &c->reserve) == 0;
        else if (KEY("large_cache"))
            ok = parse_size(v, vl, &c->large_cache) == 0;
        else if (KEY("large_cache_share"))
            ok = parse_size(v, vl, &sz) == 0 && (c->large_cache_share = (unsigned)sz) == sz;
        else {
            set_err(err, errlen, p, kl,
                    "unknown key (classes, classes_per_doubling, max_class, prealloc, prealloc_hugepage, overflow, "
                    "hard_limit, idle_ms, tick_thread, thread_cache, magazine, magazine_max_bytes, depot, reserve, "
                    "large_cache, large_cache_share)",
                    NULL, 0);
            return -1;
        }
#undef KEY
        if (!ok) {
            set_err(err, errlen, p, kl, "bad value", v, vl);
            return -1;
        }
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

#define FAIL(key, what)                                           \
    do {                                                          \
        set_err(err, errlen, key, sizeof(key) - 1, what, NULL, 0); \
        return -1;                                                \
    } while (0)

int _slab_config_classes(const struct slab_config *c, size_t out[SLAB_MAX_CLASSES], unsigned *count, char *err,
                         size_t errlen)
{
    unsigned n = c->n_classes;
    if (n > SLAB_MAX_CLASSES)
        FAIL("classes", "more than 64 classes");
    if (n) {
        memcpy(out, c->classes, n * sizeof *out);
    } else {
        unsigned per = c->classes_per_doubling;
        if (per == 0 || per > 8 || (per & (per - 1)))
            FAIL("classes_per_doubling", "must be 1, 2, 4 or 8");
        if (c->max_class < 128 || c->max_class > SLAB_MAX_CLASS_SIZE || (c->max_class & (c->max_class - 1)))
            FAIL("max_class", "must be a power of two from 128 to 32K");
        for (size_t s = 16; s <= 128; s += 16)
            out[n++] = s;
        for (size_t base = 128; base < c->max_class; base *= 2)
            for (unsigned k = 1; k <= per; k++) {
                if (n == SLAB_MAX_CLASSES)
                    FAIL("classes_per_doubling", "gives more than 64 classes up to max_class");
                out[n++] = base + k * (base / per);
            }
    }
    for (unsigned i = 0; i < n; i++)
        if (out[i] == 0 || out[i] % 16 || out[i] > SLAB_MAX_CLASS_SIZE || (i && out[i] <= out[i - 1]))
            FAIL("classes", "must be ascending multiples of 16 up to 32K");
    *count = n;
    return 0;
}

int slab_config_check(const struct slab_config *c, char *err, size_t errlen)
{
    size_t classes[SLAB_MAX_CLASSES];
    unsigned n;
    if (_slab_config_classes(c, classes, &n, err, errlen) != 0)
        return -1;
    if (c->magazine == 0 || c->magazine > SLAB_MAX_MAGAZINE)
        FAIL("magazine", "must be 1..1024");
    if (c->large_cache_share > 1000)
        FAIL("large_cache_share", "must be 0 (no proportional bound) .. 1000 percent");
    if (c->depot > SLAB_MAX_DEPOT)
        FAIL("depot", "must be 0 (none) .. 256 full magazines per class");
    if (c->reserve < SLAB_SIZE || c->prealloc > c->reserve)
        FAIL("reserve", "must be at least 64K and at least prealloc");
    if (c->hard_limit && c->hard_limit < c->prealloc)
        FAIL("hard_limit", "must be 0 (none) or at least prealloc");
    if (!c->overflow && c->prealloc == 0)
        FAIL("overflow", "overflow=0 needs a prealloc bound to allocate from");
    if (c->idle_ms < -1)
        FAIL("idle_ms", "must be -1 (never), 0 (at once) or a number of milliseconds");
    return 0;
}
