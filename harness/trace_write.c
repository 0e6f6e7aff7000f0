/* trace_write.c - build a v1 trace: map the caller's object ids to dense ids,
 * refuse what the validator would refuse, encode records, write the file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "os.h"
#include "trace.h"

/* id map entry: external id -> dense id; `used` marks a full slot. */
struct idslot {
    uint64_t key;
    uint32_t dense;
    uint32_t used;
};

static void werr(struct trace_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void werr(struct trace_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

void tw_init(struct trace_writer *w)
{
    memset(w, 0, sizeof *w);
    membuf_init(&w->body);
    membuf_init(&w->ids);
    membuf_init(&w->free_ids);
    membuf_init(&w->threads);
    w->n_threads = 1;
}

void tw_free(struct trace_writer *w)
{
    membuf_free(&w->body);
    membuf_free(&w->ids);
    membuf_free(&w->free_ids);
    membuf_free(&w->threads);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static struct idslot *slots(struct trace_writer *w) { return (struct idslot *)w->ids.data; }

/* Find the slot of key, or the empty slot where it would go. */
static struct idslot *id_find(struct trace_writer *w, uint64_t key)
{
    size_t mask = w->id_cap - 1, i = mix(key) & mask;
    struct idslot *s = slots(w);
    while (s[i].used && s[i].key != key)
        i = (i + 1) & mask;
    return &s[i];
}

static int id_grow(struct trace_writer *w)
{
    size_t old_cap = w->id_cap;
    struct membuf old = w->ids;
    size_t cap = old_cap ? old_cap * 2 : 1024;
    membuf_init(&w->ids);
    if (!membuf_reserve(&w->ids, cap * sizeof(struct idslot))) {
        w->ids = old;
        werr(w, "out of memory growing the object id map");
        return -1;
    }
    memset(w->ids.data, 0, cap * sizeof(struct idslot));
    w->id_cap = cap;
    const struct idslot *o = (const struct idslot *)old.data;
    for (size_t i = 0; i < old_cap; i++)
        if (o[i].used)
            *id_find(w, o[i].key) = o[i];
    membuf_free(&old);
    return 0;
}

/* Remove a slot by shifting later members of its probe run back (no tombstones). */
static void id_remove(struct trace_writer *w, struct idslot *hole)
{
    size_t mask = w->id_cap - 1;
    struct idslot *s = slots(w);
    size_t i = (size_t)(hole - s), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!s[j].used)
            break;
        size_t home = mix(s[j].key) & mask;
        /* move j into the hole unless its home lies cyclically in (i, j] */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            s[i] = s[j];
            i = j;
        }
    }
    s[i].used = 0;
    w->id_used--;
}

static void put_varint(struct trace_writer *w, uint64_t v)
{
    uint8_t *p = membuf_reserve(&w->body, 10);
    if (!p)
        return;
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    w->body.len += n;
}

static void put_kind(struct trace_writer *w, unsigned kind, uint32_t thread)
{
    uint8_t b = (uint8_t)(kind | (thread < 15 ? thread : 15) << 4);
    membuf_append(&w->body, &b, 1);
    if (thread >= 15)
        put_varint(w, thread);
    w->n_records++;
    w->n_ops += trace_kind_is_op(kind);
}

static int thread_state(struct trace_writer *w, uint32_t thread)
{
    return thread < w->threads.len ? w->threads.data[thread] : (thread == 0 ? 1 : 0);
}

static int set_thread_state(struct trace_writer *w, uint32_t thread, uint8_t state)
{
    if (thread >= TRACE_MAX_THREADS) {
        werr(w, "thread %u out of range (at most %u threads)", thread, TRACE_MAX_THREADS);
        return -1;
    }
    while (w->threads.len <= thread) {
        uint8_t init = w->threads.len == 0; /* thread 0 starts running */
        membuf_append(&w->threads, &init, 1);
        if (w->threads.failed) {
            werr(w, "out of memory");
            return -1;
        }
    }
    w->threads.data[thread] = state;
    if (thread + 1 > w->n_threads)
        w->n_threads = thread + 1;
    return 0;
}

int tw_thread_start(struct trace_writer *w, uint32_t thread)
{
    if (thread_state(w, thread) == 1) {
        werr(w, "thread %u started while running", thread);
        return -1;
    }
    if (set_thread_state(w, thread, 1) != 0)
        return -1;
    put_kind(w, TR_THREAD_START, thread);
    return 0;
}

int tw_thread_exit(struct trace_writer *w, uint32_t thread)
{
    if (thread_state(w, thread) != 1) {
        werr(w, "thread %u exits but is not running", thread);
        return -1;
    }
    if (set_thread_state(w, thread, 2) != 0)
        return -1;
    put_kind(w, TR_THREAD_EXIT, thread);
    return 0;
}

/* First check of an op: field rules and thread range (nothing written yet). */
static int check_op(struct trace_writer *w, const struct trace_rec *r)
{
    const char *why = trace_check_rec(r);
    if (why) {
        werr(w, "%s %s", trace_kind_name(r->kind), why);
        return -1;
    }
    if (r->thread >= TRACE_MAX_THREADS) {
        werr(w, "thread %u out of range (at most %u threads)", r->thread, TRACE_MAX_THREADS);
        return -1;
    }
    return 0;
}

/* Start of an op's record, once every check has passed: a thread's first op
 * starts it implicitly. */
static void put_op(struct trace_writer *w, unsigned kind, uint32_t thread)
{
    if (thread_state(w, thread) != 1)
        tw_thread_start(w, thread); /* cannot fail: the thread is in range and not running */
    put_kind(w, kind, thread);
}

/* A new object: map its id to a fresh or recycled dense id. */
static int new_object(struct trace_writer *w, unsigned kind, uint64_t id, uint32_t *dense)
{
    if (w->id_used * 2 >= w->id_cap && id_grow(w) != 0)
        return -1;
    struct idslot *s = id_find(w, id);
    if (s->used) {
        werr(w, "%s of object %llu, which is still live", trace_kind_name(kind), (unsigned long long)id);
        return -1;
    }
    if (w->free_ids.len) {
        w->free_ids.len -= sizeof(uint32_t);
        memcpy(dense, w->free_ids.data + w->free_ids.len, sizeof *dense);
    } else {
        if (w->n_objects == UINT32_MAX) {
            werr(w, "more than 2^32-1 objects live at once");
            return -1;
        }
        *dense = w->n_objects++;
    }
    s->used = 1;
    s->key = id;
    s->dense = *dense;
    w->id_used++;
    return 0;
}

static struct idslot *live_object(struct trace_writer *w, unsigned kind, uint64_t id)
{
    struct idslot *s = w->id_cap ? id_find(w, id) : NULL;
    if (!s || !s->used) {
        werr(w, "%s of object %llu, which is not live%s", trace_kind_name(kind), (unsigned long long)id,
             kind == TR_FREE ? " (double free or never allocated)" : "");
        return NULL;
    }
    return s;
}

static int finish_record(struct trace_writer *w)
{
    if (w->body.failed) {
        werr(w, "out of memory");
        return -1;
    }
    return 0;
}

int tw_malloc(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t size)
{
    struct trace_rec r = { .kind = TR_MALLOC, .thread = thread, .size = size };
    uint32_t d;
    if (check_op(w, &r) != 0 || new_object(w, TR_MALLOC, id, &d) != 0)
        return -1;
    put_op(w, TR_MALLOC, thread);
    put_varint(w, d);
    put_varint(w, size);
    return finish_record(w);
}

int tw_calloc(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t nmemb, uint64_t elem)
{
    struct trace_rec r = { .kind = TR_CALLOC, .thread = thread, .nmemb = nmemb, .elem = elem };
    r.size = (elem && nmemb > TRACE_MAX_SIZE / elem) ? UINT64_MAX : nmemb * elem;
    uint32_t d;
    if (check_op(w, &r) != 0 || new_object(w, TR_CALLOC, id, &d) != 0)
        return -1;
    put_op(w, TR_CALLOC, thread);
    put_varint(w, d);
    put_varint(w, nmemb);
    put_varint(w, elem);
    return finish_record(w);
}

int tw_aligned(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t align, uint64_t size)
{
    struct trace_rec r = { .kind = TR_ALIGNED, .thread = thread, .align = align, .size = size };
    if (align == 0 || (align & (align - 1)) || align > ((uint64_t)1 << TRACE_MAX_ALIGN_LOG2)) {
        werr(w, "aligned: alignment %llu is not a power of two up to 1 GiB", (unsigned long long)align);
        return -1;
    }
    uint32_t d;
    if (check_op(w, &r) != 0 || new_object(w, TR_ALIGNED, id, &d) != 0)
        return -1;
    put_op(w, TR_ALIGNED, thread);
    put_varint(w, d);
    put_varint(w, (uint64_t)__builtin_ctzll(align));
    put_varint(w, size);
    return finish_record(w);
}

int tw_realloc(struct trace_writer *w, uint32_t thread, uint64_t id, uint64_t size)
{
    struct trace_rec r = { .kind = TR_REALLOC, .thread = thread, .size = size };
    struct idslot *s;
    if (check_op(w, &r) != 0 || !(s = live_object(w, TR_REALLOC, id)))
        return -1;
    put_op(w, TR_REALLOC, thread);
    put_varint(w, s->dense);
    put_varint(w, size);
    return finish_record(w);
}

int tw_free_obj(struct trace_writer *w, uint32_t thread, uint64_t id)
{
    struct trace_rec r = { .kind = TR_FREE, .thread = thread };
    struct idslot *s;
    if (check_op(w, &r) != 0 || !(s = live_object(w, TR_FREE, id)))
        return -1;
    uint32_t d = s->dense;
    id_remove(w, s);
    membuf_append(&w->free_ids, &d, sizeof d);
    put_op(w, TR_FREE, thread);
    put_varint(w, d);
    return finish_record(w);
}

int tw_phase(struct trace_writer *w, const char *name, size_t len)
{
    struct trace_rec r = { .kind = TR_PHASE, .name = name, .name_len = len > UINT32_MAX ? 0 : (uint32_t)len };
    const char *why = trace_check_rec(&r);
    if (why) {
        werr(w, "phase %s", why);
        return -1;
    }
    put_kind(w, TR_PHASE, 0);
    put_varint(w, len);
    membuf_append(&w->body, name, len);
    return finish_record(w);
}

int tw_idle(struct trace_writer *w, uint64_t ms)
{
    struct trace_rec r = { .kind = TR_IDLE, .ms = ms };
    const char *why = trace_check_rec(&r);
    if (why) {
        werr(w, "idle %s", why);
        return -1;
    }
    put_kind(w, TR_IDLE, 0);
    put_varint(w, ms);
    return finish_record(w);
}

int tw_finish(struct trace_writer *w, struct membuf *out)
{
    struct trace_header h = {
        .version = TRACE_VERSION,
        .header_size = TRACE_HEADER_SIZE,
        .n_records = w->n_records,
        .n_ops = w->n_ops,
        .n_objects = w->n_objects,
        .n_threads = w->n_threads,
        .body_bytes = w->body.len,
        .body_crc = trace_crc32c(0, w->body.data, w->body.len),
    };
    uint8_t hdr[TRACE_HEADER_SIZE];
    trace_header_encode(&h, hdr);
    membuf_init(out);
    membuf_append(out, hdr, sizeof hdr);
    membuf_append(out, w->body.data, w->body.len);
    if (out->failed || w->body.failed) {
        membuf_free(out);
        werr(w, "out of memory");
        return -1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int tw_write_file(struct trace_writer *w, const char *path)
{
    struct membuf out;
    if (tw_finish(w, &out) != 0)
        return -1;
    const void *bytes = out.data;
    size_t len = out.len;
    struct membuf z;
    membuf_init(&z);
    if (ends_with(path, ".zst")) {
        size_t bound = ZSTD_compressBound(out.len);
        if (!membuf_reserve(&z, bound)) {
            membuf_free(&out);
            werr(w, "out of memory compressing");
            return -1;
        }
        size_t zn = ZSTD_compress(z.data, bound, out.data, out.len, w->zstd_level ? w->zstd_level : 9);
        if (ZSTD_isError(zn)) {
            werr(w, "zstd: %s", ZSTD_getErrorName(zn));
            membuf_free(&out);
            membuf_free(&z);
            return -1;
        }
        bytes = z.data;
        len = zn;
    }
    int rc = os_write_file_atomic(path, bytes, len);
    if (rc != 0)
        werr(w, "cannot write %s: %s", path, strerror(errno));
    membuf_free(&out);
    membuf_free(&z);
    return rc;
}
