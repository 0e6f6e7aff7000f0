/* membuf.h - a growable byte buffer on anonymous mmap.
 * The harness never takes its own memory from the allocator under test (DESIGN.md),
 * so buffers that grow (trace bodies, text, JSON) live here instead of on malloc. */
#ifndef ALLOCMARK_MEMBUF_H
#define ALLOCMARK_MEMBUF_H

#include <stddef.h>
#include <stdint.h>

struct membuf {
    uint8_t *data;
    size_t len, cap;
    int failed; /* sticky: a growth failed; contents are incomplete */
};

void membuf_init(struct membuf *b);
void membuf_free(struct membuf *b);
/* Make room for n more bytes; returns a pointer to them or NULL (and sets failed). */
uint8_t *membuf_reserve(struct membuf *b, size_t n);
void membuf_append(struct membuf *b, const void *src, size_t n);
void membuf_printf(struct membuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
