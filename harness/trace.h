/* trace.h - allocmark trace format v1: definitions, the record decoder, and the
 * reader / validator / writer APIs. The byte layout is documented in
 * docs/trace-format.md; this header is its executable form. */
#ifndef ALLOCMARK_TRACE_H
#define ALLOCMARK_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "membuf.h"

#define TRACE_MAGIC "AMTRACE\0"
#define TRACE_VERSION 1
#define TRACE_HEADER_SIZE 64

/* Limits a v1 file must respect; the validator refuses anything beyond them. */
#define TRACE_MAX_SIZE ((uint64_t)1 << 48)     /* largest request, bytes */
#define TRACE_MAX_ALIGN_LOG2 30                /* largest alignment: 1 GiB */
#define TRACE_MAX_THREADS 65536u
#define TRACE_MAX_IDLE_MS (24u * 3600u * 1000u)
#define TRACE_MAX_PHASE_NAME 64u

enum trace_kind {
    TR_INVALID = 0,
    TR_MALLOC = 1,  /* id size */
    TR_CALLOC = 2,  /* id nmemb size */
    TR_REALLOC = 3, /* id new_size: the same object, resized */
    TR_ALIGNED = 4, /* id log2(alignment) size */
    TR_FREE = 5,    /* id */
    TR_THREAD_START = 6,
    TR_THREAD_EXIT = 7,
    TR_PHASE = 8, /* name_len name: a marker, thread 0 */
    TR_IDLE = 9,  /* ms: a marker, thread 0 */
    TR_KIND_COUNT
};

/* Allocator calls ("ops"); markers and thread records are not ops. */
static inline int trace_kind_is_op(unsigned k) { return k >= TR_MALLOC && k <= TR_FREE; }
const char *trace_kind_name(unsigned kind);

/* One decoded record. */
struct trace_rec {
    uint8_t kind;
    uint32_t thread;
    uint32_t id;
    uint64_t size;  /* bytes requested (malloc, realloc, aligned; calloc: nmemb*size) */
    uint64_t nmemb; /* calloc */
    uint64_t elem;  /* calloc element size */
    uint64_t align; /* aligned */
    uint64_t ms;    /* idle */
    const char *name; /* phase, not NUL-terminated */
    uint32_t name_len;
};

/* The header, decoded. */
struct trace_header {
    uint16_t version, header_size;
    uint32_t flags;
    uint64_t n_records, n_ops;
    uint32_t n_objects, n_threads;
    uint64_t body_bytes;
    uint32_t body_crc, header_crc;
};

/* A mapped (or decompressed) trace. */
struct trace {
    const char *path;
    const uint8_t *data; /* the whole decoded file, header first */
    size_t size;
    size_t map_size;     /* bytes to unmap */
    int anon;            /* data is an anonymous mapping (decompressed / converted text) */
    const char *form;    /* "binary", "zstd" or "text": what the file held */
    int decompressed;    /* byte offsets in errors are into the decompressed data */
    struct trace_header hdr;
};

#define TRACE_SIZE_BUCKETS 50 /* bucket b: sizes in [2^(b-1), 2^b), bucket 0: size 0 */

struct trace_summary {
    uint64_t n_records, n_ops;
    uint64_t count[TR_KIND_COUNT];
    uint32_t n_objects, n_threads, threads_used;
    uint64_t peak_live_bytes, peak_live_objects;
    uint64_t final_live_bytes, final_live_objects;
    uint64_t cross_thread_frees, cross_thread_reallocs;
    uint64_t requested_bytes, max_size, max_align;
    uint64_t idle_ms_total;
    uint64_t size_hist[TRACE_SIZE_BUCKETS];
};

/* Error text: "FILE: byte OFFSET: problem". */
#define TRACE_ERR_LEN 512

/* ---- decoding (shared by the validator, to-text and the replay loop) ---- */

/* LEB128, minimal encoding only. Returns the byte after it, or NULL. */
static inline const uint8_t *trace_get_varint(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    if (p < end && *p < 0x80) { /* the common case: one byte */
        *out = *p;
        return p + 1;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return NULL;
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return NULL; /* overflows 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift)
                return NULL; /* not minimal */
            *out = v;
            return p;
        }
    }
    return NULL;
}

/* The replay loop's varint reader: no bounds or overflow checks, so only for a
 * trace that trace_validate accepted (which proved every varint well-formed). */
static inline const uint8_t *trace_get_varint_valid(const uint8_t *p, uint64_t *out)
{
    uint64_t v = *p++;
    if (v >= 0x80) {
        v &= 0x7f;
        unsigned shift = 7;
        uint8_t b;
        do {
            b = *p++;
            v |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
        } while (b & 0x80);
    }
    *out = v;
    return p;
}

/* Decode one record's fields (no semantic checks). Returns the next record or NULL
 * when the bytes do not form a record (truncated, bad kind, oversized field). */
static inline const uint8_t *trace_decode(const uint8_t *p, const uint8_t *end, struct trace_rec *r)
{
    if (p >= end)
        return NULL;
    uint8_t b = *p++;
    uint64_t v = 0, id = 0;
    r->size = r->nmemb = r->elem = r->align = r->ms = 0;
    r->name = NULL;
    r->name_len = 0;
    r->kind = b & 0x0f;
    r->thread = b >> 4;
    if (r->thread == 15) {
        if (!(p = trace_get_varint(p, end, &v)) || v < 15 || v >= TRACE_MAX_THREADS)
            return NULL; /* threads below 15 must use the short form */
        r->thread = (uint32_t)v;
    }
    switch (r->kind) {
    case TR_MALLOC:
    case TR_REALLOC:
        if (!(p = trace_get_varint(p, end, &id)) || !(p = trace_get_varint(p, end, &r->size)))
            return NULL;
        break;
    case TR_CALLOC:
        if (!(p = trace_get_varint(p, end, &id)) || !(p = trace_get_varint(p, end, &r->nmemb)) ||
            !(p = trace_get_varint(p, end, &r->elem)))
            return NULL;
        if (r->elem && r->nmemb > TRACE_MAX_SIZE / r->elem)
            r->size = UINT64_MAX; /* rejected by trace_check_rec */
        else
            r->size = r->nmemb * r->elem;
        break;
    case TR_ALIGNED:
        if (!(p = trace_get_varint(p, end, &id)) || !(p = trace_get_varint(p, end, &v)) ||
            !(p = trace_get_varint(p, end, &r->size)))
            return NULL;
        if (v > TRACE_MAX_ALIGN_LOG2)
            return NULL;
        r->align = (uint64_t)1 << v;
        break;
    case TR_FREE:
        if (!(p = trace_get_varint(p, end, &id)))
            return NULL;
        break;
    case TR_THREAD_START:
    case TR_THREAD_EXIT:
        break;
    case TR_PHASE:
        if (!(p = trace_get_varint(p, end, &v)) || v == 0 || v > TRACE_MAX_PHASE_NAME || (uint64_t)(end - p) < v)
            return NULL;
        r->name = (const char *)p;
        r->name_len = (uint32_t)v;
        p += v;
        break;
    case TR_IDLE:
        if (!(p = trace_get_varint(p, end, &r->ms)))
            return NULL;
        break;
    default:
        return NULL;
    }
    if (id > UINT32_MAX)
        return NULL;
    r->id = (uint32_t)id;
    return p;
}

/* Semantic checks on one record's own fields (limits, names); NULL if fine,
 * else a static description of the problem. Shared by the validator and writer. */
const char *trace_check_rec(const struct trace_rec *r);

uint32_t trace_crc32c(uint32_t crc, const void *data, size_t len);

/* The 64-byte header <-> struct (little-endian); encode also computes header_crc. */
void trace_header_encode(struct trace_header *h, uint8_t out[TRACE_HEADER_SIZE]);
void trace_header_decode(const uint8_t in[TRACE_HEADER_SIZE], struct trace_header *h);

/* ---- reading ---- */

/* Map PATH (binary, zstd-compressed, or the text form, which may itself be
 * compressed), check the header. Returns 0, or with err filled: TRACE_EIO when
 * the file cannot be read, -1 when it is not a valid trace. */
#define TRACE_EIO (-2)
int trace_open(const char *path, struct trace *t, char *err);
/* Full validation pass: structure, checksum, every free names a live object,
 * ids and threads in range, counts match the header. Fills *s (may be NULL). */
int trace_validate(const struct trace *t, struct trace_summary *s, char *err);
void trace_close(struct trace *t);
/* Body bounds of an opened trace. */
static inline const uint8_t *trace_body(const struct trace *t) { return t->data + TRACE_HEADER_SIZE; }
static inline const uint8_t *trace_end(const struct trace *t) { return t->data + t->size; }

/* ---- writing ---- */

struct trace_writer {
    struct membuf body;
    struct membuf ids;     /* hash table: external id -> dense id */
    struct membuf free_ids; /* dense ids free for reuse (a stack) */
    struct membuf threads; /* per-thread state byte: 0 never, 1 running, 2 exited */
    size_t id_cap, id_used;
    uint32_t n_objects, n_threads;
    uint64_t n_records, n_ops;
    int zstd_level; /* for .zst output; 0 = 9 */
    char err[TRACE_ERR_LEN];
};

void tw_init(struct trace_writer *w);
void tw_free(struct trace_writer *w);
/* Each returns 0, or -1 with w->err describing the problem (without location).
 * Object ids are the caller's (any uint64); the writer maps them to dense ids,
 * reusing an id only after its object was freed. A record on a thread not yet
 * started first emits a thread-start record. */
int tw_malloc(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t size);
int tw_calloc(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t nmemb, uint64_t elem);
int tw_realloc(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t size);
int tw_aligned(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t align, uint64_t size);
int tw_free_obj(struct trace_writer *w, uint32_t thread, uint64_t id);
int tw_thread_start(struct trace_writer *w, uint32_t thread);
int tw_thread_exit(struct trace_writer *w, uint32_t thread);
int tw_phase(struct trace_writer *w, const char *name, size_t len);
int tw_idle(struct trace_writer *w, uint64_t ms);
/* Header + body as one buffer (caller frees with membuf_free). */
int tw_finish(struct trace_writer *w, struct membuf *out);
/* Finish and write PATH atomically; zstd-compressed when PATH ends in ".zst". */
int tw_write_file(struct trace_writer *w, const char *path);

/* ---- text form ---- */

/* Parse the text form in buf into w; on error, err = "NAME:LINE: problem". */
int trace_text_parse(const char *name, const char *buf, size_t len, struct trace_writer *w, char *err);
/* Append the text form of an opened (validated) trace to out. */
int trace_text_format(const struct trace *t, struct membuf *out, char *err);

#endif
