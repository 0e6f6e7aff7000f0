#include "membuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "os.h"

void membuf_init(struct membuf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void membuf_free(struct membuf *b)
{
    os_unmap(b->data, b->cap);
    membuf_init(b);
}

uint8_t *membuf_reserve(struct membuf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = b->data ? os_remap(b->data, b->cap, cap) : os_map_lazy(cap);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->data = p;
        b->cap = cap;
    }
    return b->data + b->len;
}

void membuf_append(struct membuf *b, const void *src, size_t n)
{
    uint8_t *p = membuf_reserve(b, n);
    if (p && n) { /* n == 0: src may be NULL (an empty buffer), and memcpy must not see it */
        memcpy(p, src, n);
        b->len += n;
    }
}

void membuf_printf(struct membuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        membuf_append(b, small, (size_t)n);
        return;
    }
    uint8_t *p = membuf_reserve(b, (size_t)n + 1);
    if (!p)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
