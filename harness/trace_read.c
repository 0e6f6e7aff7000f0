/* trace_read.c - open a trace (binary, zstd or text) and validate it fully.
 * Nothing is replayed from a file this file has not accepted: every problem is
 * reported with the file name and the byte offset where it was found. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
/* For ZSTD_createDCtx_advanced (custom allocation); Debian's libzstd.so exports it. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "os.h"
#include "trace.h"

static void errf(char *err, const struct trace *t, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void errf(char *err, const struct trace *t, uint64_t off, const char *fmt, ...)
{
    int n = snprintf(err, TRACE_ERR_LEN, "%s%s: byte %llu: ", t->path, t->decompressed ? " (decompressed)" : "",
                     (unsigned long long)off);
    if (n < 0 || n >= TRACE_ERR_LEN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, (size_t)(TRACE_ERR_LEN - n), fmt, ap);
    va_end(ap);
}

/* zstd's own allocations come from mmap too: the allocator under test must not
 * see (or be initialised by) the harness's decompression. */
static void *zmem_alloc(void *opaque, size_t size)
{
    (void)opaque;
    uint64_t *p = os_map_lazy(size + 16);
    if (!p)
        return NULL;
    p[0] = size + 16;
    return p + 2;
}

static void zmem_free(void *opaque, void *addr)
{
    (void)opaque;
    if (addr) {
        uint64_t *p = (uint64_t *)addr - 2;
        os_unmap(p, p[0]);
    }
}

static int decompress(struct trace *t, const uint8_t *in, size_t in_len, char *err)
{
    ZSTD_customMem mem = { zmem_alloc, zmem_free, NULL };
    ZSTD_DCtx *dctx = ZSTD_createDCtx_advanced(mem);
    struct membuf out;
    membuf_init(&out);
    if (!dctx) {
        errf(err, t, 0, "cannot create a zstd decompression context");
        return -1;
    }
    ZSTD_inBuffer ib = { in, in_len, 0 };
    size_t rc = 1;
    while (ib.pos < ib.size) {
        if (!membuf_reserve(&out, 1 << 20)) {
            errf(err, t, ib.pos, "out of memory while decompressing");
            goto fail;
        }
        ZSTD_outBuffer ob = { out.data + out.len, out.cap - out.len, 0 };
        rc = ZSTD_decompressStream(dctx, &ob, &ib);
        out.len += ob.pos;
        if (ZSTD_isError(rc)) {
            errf(err, t, ib.pos, "zstd: %s", ZSTD_getErrorName(rc));
            goto fail;
        }
    }
    if (rc != 0) { /* concatenated frames are fine; a frame cut short is not */
        errf(err, t, in_len, "truncated zstd stream");
        goto fail;
    }
    ZSTD_freeDCtx(dctx);
    t->data = out.data;
    t->size = out.len;
    t->map_size = out.cap;
    t->anon = 1;
    return 0;
fail:
    ZSTD_freeDCtx(dctx);
    membuf_free(&out);
    return -1;
}

/* Text if it is not a binary trace and its first 4 KiB are printable ASCII,
 * whitespace or UTF-8 (a byte-order mark included): the parser then reports
 * problems by line, which helps a person more than "bad magic". */
static int looks_like_text(const uint8_t *p, size_t n)
{
    if (n == 0 || memcmp(p, TRACE_MAGIC, n < 7 ? n : 7) == 0) /* a binary trace, or a prefix of one */
        return 0;
    for (size_t i = 0; i < n && i < 4096; i++)
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return 0;
    return 1;
}

static int from_text(struct trace *t, const uint8_t *in, size_t len, char *err)
{
    struct trace_writer w;
    struct membuf out;
    tw_init(&w);
    int rc = trace_text_parse(t->path, (const char *)in, len, &w, err);
    if (rc == 0 && tw_finish(&w, &out) != 0) {
        snprintf(err, TRACE_ERR_LEN, "%.100s: %.400s", t->path, w.err);
        rc = -1;
    }
    tw_free(&w);
    if (rc != 0)
        return -1;
    t->data = out.data;
    t->size = out.len;
    t->map_size = out.cap;
    t->anon = 1;
    return 0;
}

static int check_header(struct trace *t, char *err)
{
    struct trace_header *h = &t->hdr;
    if (t->size < 8 || memcmp(t->data, TRACE_MAGIC, t->size < 8 ? t->size : 8) != 0) {
        if (t->size < 8 && memcmp(t->data, TRACE_MAGIC, t->size) == 0)
            errf(err, t, t->size, "truncated header (%zu of %d bytes)", t->size, TRACE_HEADER_SIZE);
        else
            errf(err, t, 0, "bad magic: not an allocmark trace, zstd frame or text trace");
        return -1;
    }
    if (t->size < 10) {
        errf(err, t, t->size, "truncated header (%zu of %d bytes)", t->size, TRACE_HEADER_SIZE);
        return -1;
    }
    unsigned version = (unsigned)t->data[8] | (unsigned)t->data[9] << 8;
    if (version != TRACE_VERSION) {
        errf(err, t, 8, "format version %u is %s; this reader knows version %d", version,
             version > TRACE_VERSION ? "newer than this build of allocmark" : "not supported", TRACE_VERSION);
        return -1;
    }
    if (t->size < TRACE_HEADER_SIZE) {
        errf(err, t, t->size, "truncated header (%zu of %d bytes)", t->size, TRACE_HEADER_SIZE);
        return -1;
    }
    trace_header_decode(t->data, h);
    if (trace_crc32c(0, t->data, 60) != h->header_crc) {
        errf(err, t, 60, "header checksum mismatch (header corrupt)");
        return -1;
    }
    if (h->header_size != TRACE_HEADER_SIZE) {
        errf(err, t, 10, "header size %u, expected %d", h->header_size, TRACE_HEADER_SIZE);
        return -1;
    }
    if (h->flags != 0) {
        errf(err, t, 12, "unknown flags 0x%x", h->flags);
        return -1;
    }
    for (unsigned i = 52; i < 60; i++)
        if (t->data[i]) {
            errf(err, t, i, "reserved header byte is not zero");
            return -1;
        }
    uint64_t body = t->size - TRACE_HEADER_SIZE;
    if (h->body_bytes > body) {
        errf(err, t, t->size, "truncated: the header promises %llu body bytes, the file holds %llu",
             (unsigned long long)h->body_bytes, (unsigned long long)body);
        return -1;
    }
    if (h->body_bytes < body) {
        errf(err, t, TRACE_HEADER_SIZE + h->body_bytes, "%llu bytes of trailing garbage after the body",
             (unsigned long long)(body - h->body_bytes));
        return -1;
    }
    if (h->n_threads == 0 || h->n_threads > TRACE_MAX_THREADS) {
        errf(err, t, 36, "thread count %u out of range 1..%u", h->n_threads, TRACE_MAX_THREADS);
        return -1;
    }
    if (h->n_records > h->body_bytes || h->n_ops > h->n_records || h->n_objects > h->n_records) {
        errf(err, t, 16, "inconsistent counts: %llu records, %llu ops, %u objects in %llu bytes",
             (unsigned long long)h->n_records, (unsigned long long)h->n_ops, h->n_objects,
             (unsigned long long)h->body_bytes);
        return -1;
    }
    return 0;
}

int trace_open(const char *path, struct trace *t, char *err)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    t->form = "binary";
    const void *file;
    size_t len;
    if (os_map_file(path, &file, &len) != 0) {
        snprintf(err, TRACE_ERR_LEN, "%s: cannot open: %s", path, strerror(errno));
        return TRACE_EIO;
    }
    t->data = file;
    t->size = t->map_size = len;
    static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
    if (len >= 4 && memcmp(file, zstd_magic, 4) == 0) {
        int rc = decompress(t, file, len, err);
        os_unmap_file(file, len);
        if (rc != 0) {
            t->data = NULL;
            return -1;
        }
        t->form = "zstd";
        t->decompressed = 1;
    }
    if (looks_like_text(t->data, t->size)) {
        struct trace text = *t;
        if (!t->decompressed)
            t->form = "text";
        int rc = from_text(t, text.data, text.size, err);
        trace_close(&text);
        if (rc != 0) {
            t->data = NULL;
            return -1;
        }
    }
    if (check_header(t, err) != 0) {
        trace_close(t);
        return -1;
    }
    return 0;
}

void trace_close(struct trace *t)
{
    if (!t->data)
        return;
    if (t->anon)
        os_unmap((void *)t->data, t->map_size);
    else
        os_unmap_file(t->data, t->map_size);
    t->data = NULL;
}

/* Per-object state during validation. */
struct vobj {
    uint64_t size;
    uint32_t thread;
    uint32_t live;
};

enum { THREAD_NEW = 0, THREAD_RUNNING = 1, THREAD_EXITED = 2 };

/* Tell a record cut off by the end of the file from one that is malformed: pad
 * the tail with 0x01 bytes (each ends a varint minimally and is a legal value
 * for every field) and see if it then decodes. */
static int runs_past_end(const uint8_t *p, const uint8_t *end)
{
    uint8_t buf[160];
    memset(buf, 0x01, sizeof buf);
    size_t n = (size_t)(end - p);
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, p, n);
    if (n == 1 && buf[0] >> 4 == 15)
        buf[1] = 15; /* the escaped thread number that follows is >= 15 */
    struct trace_rec r;
    const uint8_t *q = trace_decode(buf, buf + sizeof buf, &r);
    return q && (size_t)(q - buf) > n;
}

static unsigned size_bucket(uint64_t size)
{
    unsigned b = size ? 64u - (unsigned)__builtin_clzll(size) : 0;
    return b < TRACE_SIZE_BUCKETS ? b : TRACE_SIZE_BUCKETS - 1;
}

int trace_validate(const struct trace *t, struct trace_summary *out, char *err)
{
    const struct trace_header *h = &t->hdr;
    struct trace_summary s;
    memset(&s, 0, sizeof s);
    s.n_objects = h->n_objects;
    s.n_threads = h->n_threads;
    size_t obj_bytes = (size_t)h->n_objects * sizeof(struct vobj);
    struct vobj *obj = os_map_lazy(obj_bytes);
    uint8_t *thr = os_map_lazy(h->n_threads);
    uint8_t *used = os_map_lazy(h->n_threads);
    int rc = -1;
    if (!obj || !thr || !used) {
        snprintf(err, TRACE_ERR_LEN, "%s: out of memory validating %u objects", t->path, h->n_objects);
        goto done;
    }
    thr[0] = THREAD_RUNNING; /* thread 0 is the main thread: running from the start */
    uint64_t live = 0, live_objs = 0;
    const uint8_t *base = t->data, *p = trace_body(t), *end = trace_end(t);
    struct trace_rec r;
    while (p < end) {
        uint64_t off = (uint64_t)(p - base);
        const uint8_t *next = trace_decode(p, end, &r);
        if (!next) {
            if (runs_past_end(p, end))
                errf(err, t, off, "truncated record (the file ends inside it)");
            else
                errf(err, t, off, "malformed record (kind byte 0x%02x)", *p);
            goto done;
        }
        const char *why = trace_check_rec(&r);
        if (why) {
            errf(err, t, off, "%s %s", trace_kind_name(r.kind), why);
            goto done;
        }
        if (r.thread >= h->n_threads) {
            errf(err, t, off, "thread %u out of range (the header says %u threads)", r.thread, h->n_threads);
            goto done;
        }
        s.n_records++;
        s.count[r.kind]++;
        if (r.kind == TR_THREAD_START || r.kind == TR_THREAD_EXIT) {
            int start = r.kind == TR_THREAD_START;
            if (start ? thr[r.thread] == THREAD_RUNNING : thr[r.thread] != THREAD_RUNNING) {
                errf(err, t, off, "thread %u %s", r.thread, start ? "started while running" : "exits but is not running");
                goto done;
            }
            thr[r.thread] = start ? THREAD_RUNNING : THREAD_EXITED;
            p = next;
            continue;
        }
        if (r.kind == TR_IDLE)
            s.idle_ms_total += r.ms;
        if (!trace_kind_is_op(r.kind)) {
            p = next;
            continue;
        }
        s.n_ops++;
        if (thr[r.thread] != THREAD_RUNNING) {
            errf(err, t, off, "%s on thread %u, which is not running", trace_kind_name(r.kind), r.thread);
            goto done;
        }
        if (!used[r.thread]) {
            used[r.thread] = 1;
            s.threads_used++;
        }
        if (r.id >= h->n_objects) {
            errf(err, t, off, "object id %u out of range (the header says %u objects)", r.id, h->n_objects);
            goto done;
        }
        struct vobj *o = &obj[r.id];
        int allocates = r.kind == TR_MALLOC || r.kind == TR_CALLOC || r.kind == TR_ALIGNED;
        if (allocates && o->live) {
            errf(err, t, off, "%s of object %u, which is still live", trace_kind_name(r.kind), r.id);
            goto done;
        }
        if (!allocates && !o->live) {
            errf(err, t, off, "%s of object %u, which is not live%s", trace_kind_name(r.kind), r.id,
                 r.kind == TR_FREE ? " (double free or never allocated)" : "");
            goto done;
        }
        if (r.kind == TR_FREE) {
            s.cross_thread_frees += o->thread != r.thread;
            live -= o->size;
            live_objs--;
            o->live = 0;
        } else {
            if (r.kind == TR_REALLOC) {
                s.cross_thread_reallocs += o->thread != r.thread;
                live -= o->size;
                live_objs--;
            }
            o->live = 1;
            o->size = r.size;
            o->thread = r.thread;
            live += r.size;
            live_objs++;
            s.requested_bytes += r.size;
            s.size_hist[size_bucket(r.size)]++;
            if (r.size > s.max_size)
                s.max_size = r.size;
            if (r.kind == TR_ALIGNED && r.align > s.max_align)
                s.max_align = r.align;
            if (live > s.peak_live_bytes)
                s.peak_live_bytes = live;
            if (live_objs > s.peak_live_objects)
                s.peak_live_objects = live_objs;
        }
        p = next;
    }
    if (s.n_records != h->n_records || s.n_ops != h->n_ops) {
        errf(err, t, t->size, "the header promises %llu records (%llu ops), the body holds %llu (%llu ops)",
             (unsigned long long)h->n_records, (unsigned long long)h->n_ops, (unsigned long long)s.n_records,
             (unsigned long long)s.n_ops);
        goto done;
    }
    /* Last, so that structural damage is reported where it is. */
    if (trace_crc32c(0, trace_body(t), h->body_bytes) != h->body_crc) {
        errf(err, t, TRACE_HEADER_SIZE, "body checksum mismatch (the file is corrupt)");
        goto done;
    }
    s.final_live_bytes = live;
    s.final_live_objects = live_objs;
    if (out)
        *out = s;
    rc = 0;
done:
    os_unmap(obj, obj_bytes);
    os_unmap(thr, h->n_threads);
    os_unmap(used, h->n_threads);
    return rc;
}
