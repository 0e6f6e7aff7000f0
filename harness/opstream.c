#include "opstream.h"

#include "trace.h"

static uint64_t word0(unsigned kind, uint64_t id, uint64_t size)
{
    return kind | id << 3 | size << 32;
}

size_t opstream_decode(const uint8_t **pp, const uint8_t *end, const uint8_t *base, uint64_t *buf, size_t cap)
{
    const uint8_t *p = *pp;
    size_t n = 0;
    struct trace_rec r;
    while (p < end && n + 2 <= cap) {
        const uint8_t *rec = p;
        p = trace_decode(p, end, &r);
        if (!p) /* cannot happen on a validated trace; stop rather than guess */
            break;
        int fits = r.id <= OPS_ID_MAX && (r.kind == TR_CALLOC ? r.elem : r.size) <= UINT32_MAX;
        if (!trace_kind_is_op(r.kind) || !fits) {
            buf[n++] = OPS_ESCAPE;
            buf[n++] = (uint64_t)(rec - base);
            continue;
        }
        switch (r.kind) {
        case TR_CALLOC:
            buf[n++] = word0(TR_CALLOC, r.id, r.elem);
            buf[n++] = r.nmemb;
            break;
        case TR_ALIGNED:
            buf[n++] = word0(TR_ALIGNED, r.id, r.size);
            buf[n++] = r.align;
            break;
        case TR_FREE:
            buf[n++] = word0(TR_FREE, r.id, 0);
            break;
        default: /* malloc, realloc */
            buf[n++] = word0(r.kind, r.id, r.size);
            break;
        }
    }
    *pp = p;
    return n;
}
