/* trace_format.c - the parts of the v1 format shared by reader and writer:
 * kind names, per-record field rules, and the CRC-32C that guards the file. */
#include <nmmintrin.h>
#include <string.h>

#include "trace.h"

static const char *const kind_names[TR_KIND_COUNT] = {
    [TR_INVALID] = "invalid",     [TR_MALLOC] = "malloc",      [TR_CALLOC] = "calloc",
    [TR_REALLOC] = "realloc",     [TR_ALIGNED] = "aligned",    [TR_FREE] = "free",
    [TR_THREAD_START] = "start",  [TR_THREAD_EXIT] = "exit",   [TR_PHASE] = "phase",
    [TR_IDLE] = "idle",
};

const char *trace_kind_name(unsigned kind)
{
    return kind < TR_KIND_COUNT ? kind_names[kind] : "invalid";
}

static int phase_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == ':';
}

const char *trace_check_rec(const struct trace_rec *r)
{
    switch (r->kind) {
    case TR_MALLOC:
    case TR_CALLOC:
    case TR_REALLOC:
    case TR_ALIGNED:
        if (r->size > TRACE_MAX_SIZE)
            return "size exceeds the v1 limit of 2^48 bytes";
        if (r->kind == TR_REALLOC && r->size == 0)
            return "to size 0 (record it as a free: its meaning differs between allocators)";
        break;
    case TR_PHASE:
        if (r->name_len == 0 || r->name_len > TRACE_MAX_PHASE_NAME)
            return "name must be 1..64 characters";
        for (uint32_t i = 0; i < r->name_len; i++)
            if (!phase_char_ok(r->name[i]))
                return "name may hold only letters, digits and _ - . :";
        __attribute__((fallthrough)); /* markers belong to no thread */
    case TR_IDLE:
        if (r->thread != 0)
            return "markers must be on thread 0";
        if (r->kind == TR_IDLE && r->ms > TRACE_MAX_IDLE_MS)
            return "longer than one day";
        break;
    case TR_FREE:
    case TR_THREAD_START:
    case TR_THREAD_EXIT:
        break;
    default:
        return "unknown record kind";
    }
    return NULL;
}

/* CRC-32C (Castagnoli): the SSE4.2 instruction when present, else bitwise. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; len; p++, len--)
        c32 = _mm_crc32_u8(c32, *p);
    return c32;
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return crc;
}

uint32_t trace_crc32c(uint32_t crc, const void *data, size_t len)
{
    crc = ~crc;
    crc = __builtin_cpu_supports("sse4.2") ? crc32c_hw(crc, data, len) : crc32c_sw(crc, data, len);
    return ~crc;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Offsets are spelled out in docs/trace-format.md. */
void trace_header_encode(struct trace_header *h, uint8_t out[TRACE_HEADER_SIZE])
{
    memset(out, 0, TRACE_HEADER_SIZE);
    memcpy(out, TRACE_MAGIC, 8);
    put_le(out + 8, h->version, 2);
    put_le(out + 10, h->header_size, 2);
    put_le(out + 12, h->flags, 4);
    put_le(out + 16, h->n_records, 8);
    put_le(out + 24, h->n_ops, 8);
    put_le(out + 32, h->n_objects, 4);
    put_le(out + 36, h->n_threads, 4);
    put_le(out + 40, h->body_bytes, 8);
    put_le(out + 48, h->body_crc, 4);
    h->header_crc = trace_crc32c(0, out, 60);
    put_le(out + 60, h->header_crc, 4);
}

void trace_header_decode(const uint8_t in[TRACE_HEADER_SIZE], struct trace_header *h)
{
    h->version = (uint16_t)get_le(in + 8, 2);
    h->header_size = (uint16_t)get_le(in + 10, 2);
    h->flags = (uint32_t)get_le(in + 12, 4);
    h->n_records = get_le(in + 16, 8);
    h->n_ops = get_le(in + 24, 8);
    h->n_objects = (uint32_t)get_le(in + 32, 4);
    h->n_threads = (uint32_t)get_le(in + 36, 4);
    h->body_bytes = get_le(in + 40, 8);
    h->body_crc = (uint32_t)get_le(in + 48, 4);
    h->header_crc = (uint32_t)get_le(in + 60, 4);
}
