/* heaptrack_cli.c - `allocmark-trace import-heaptrack IN OUT`: a heaptrack recording
 * (`heaptrack --raw` output, or the interpreted file; zstd-compressed or plain) into
 * a v1 trace.
 *
 * heaptrack's line format (heaptrack 1.x, file format version 2-3): `+ SIZE TRACE PTR`
 * an allocation, `- PTR` a free, `c MS` elapsed milliseconds, all numbers in hex;
 * every other line (modules, backtraces, strings, RSS) is skipped. What heaptrack does
 * not record cannot be imported, and the summary says so: it has no thread ids (every
 * op goes on thread 0), and it logs realloc as a free of the old block and an
 * allocation of the new one, and calloc and the aligned calls as plain allocations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "os.h"
#include "record/addr_map.h"
#include "trace.h"

#define ME "allocmark-trace import-heaptrack"

/* Lines of a plain or zstd-compressed file, decompressed a block at a time. */
struct lines {
    const uint8_t *in;
    size_t in_len, in_pos;
    ZSTD_DCtx *z;
    char *buf;
    size_t cap, len, pos; /* decompressed bytes in buf[pos, len) */
    int eof;
};

static int lines_open(struct lines *l, const void *data, size_t len)
{
    memset(l, 0, sizeof *l);
    l->in = data;
    l->in_len = len;
    static const uint8_t zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
    if (len >= 4 && memcmp(data, zmagic, 4) == 0) {
        l->z = ZSTD_createDCtx();
        l->cap = (size_t)4 << 20;
        l->buf = malloc(l->cap);
        if (!l->z || !l->buf)
            return -1;
    } else {
        l->buf = (char *)data; /* plain text: lines straight from the mapping */
        l->len = l->cap = len;
        l->eof = 1;
    }
    return 0;
}

static void lines_close(struct lines *l)
{
    if (l->z) {
        ZSTD_freeDCtx(l->z);
        free(l->buf);
    }
}

/* Decompress more into buf (keeping the unread tail). -1 on a zstd error. */
static int refill(struct lines *l, const char **err)
{
    if (l->pos && l->pos < l->len)
        memmove(l->buf, l->buf + l->pos, l->len - l->pos);
    l->len -= l->pos;
    l->pos = 0;
    if (l->len == l->cap) { /* one line longer than the buffer */
        char *b = realloc(l->buf, l->cap * 2);
        if (!b) {
            *err = "out of memory";
            return -1;
        }
        l->buf = b;
        l->cap *= 2;
    }
    ZSTD_inBuffer in = { l->in, l->in_len, l->in_pos };
    ZSTD_outBuffer out = { l->buf, l->cap, l->len };
    size_t rc = ZSTD_decompressStream(l->z, &out, &in);
    if (ZSTD_isError(rc)) {
        *err = ZSTD_getErrorName(rc);
        return -1;
    }
    l->in_pos = in.pos;
    l->len = out.pos;
    if (in.pos == in.size && out.pos < out.size)
        l->eof = 1;
    return 0;
}

/* The next line (without '\n') in *line, *n; 1, or 0 at the end, -1 on error. */
static int next_line(struct lines *l, const char **line, size_t *n, const char **err)
{
    for (;;) {
        char *s = l->buf + l->pos;
        char *nl = memchr(s, '\n', l->len - l->pos);
        if (nl || (l->eof && l->pos < l->len)) {
            size_t len = nl ? (size_t)(nl - s) : l->len - l->pos;
            *line = s;
            *n = len;
            l->pos += len + (nl != NULL);
            return 1;
        }
        if (l->eof)
            return 0;
        if (refill(l, err) != 0)
            return -1;
    }
}

/* Parse a hex field at *p (skipping spaces); 0 or -1. */
static int hex(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    uint64_t x = 0;
    const char *start = s;
    for (; s < end && *s != ' '; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
        if (d < 0 || x >> 60)
            return -1;
        x = x << 4 | (uint64_t)d;
    }
    if (s == start)
        return -1;
    *p = s;
    *v = x;
    return 0;
}

struct ht_stats {
    uint64_t lines, allocs, frees, dropped, implied, skipped, idle_markers, idle_ms;
};

static int import(struct lines *l, struct trace_writer *w, uint64_t idle_gap, struct ht_stats *st, char *err,
                  size_t err_len)
{
    struct addr_map map;
    addr_map_init(&map);
    uint64_t next_obj = 0, now_ms = 0, last_op_ms = 0;
    const char *line, *zerr = NULL;
    size_t n;
    int r, rc = 0;
    while (rc == 0 && (r = next_line(l, &line, &n, &zerr)) == 1) {
        st->lines++;
        if (n < 2 || line[1] != ' ')
            continue;
        const char *p = line + 2, *end = line + n;
        uint64_t a, b, c;
        if (line[0] == 'c') {
            if (hex(&p, end, &a) == 0 && a > now_ms)
                now_ms = a;
            continue;
        }
        if (line[0] != '+' && line[0] != '-')
            continue;
        if (idle_gap && st->allocs + st->frees + st->dropped && now_ms > last_op_ms + idle_gap) {
            uint64_t ms = now_ms - last_op_ms > TRACE_MAX_IDLE_MS ? TRACE_MAX_IDLE_MS : now_ms - last_op_ms;
            if (tw_idle(w, ms) != 0)
                break;
            st->idle_markers++;
            st->idle_ms += ms;
        }
        last_op_ms = now_ms;
        uint64_t obj;
        if (line[0] == '+') {
            if (hex(&p, end, &a) || hex(&p, end, &b) || hex(&p, end, &c)) {
                snprintf(err, err_len, "line %llu: malformed allocation line", (unsigned long long)st->lines);
                rc = -1;
                break;
            }
            if (!c || a > TRACE_MAX_SIZE) {
                st->skipped++;
                continue;
            }
            if (addr_map_take(&map, c, &obj)) { /* its free was not recorded */
                st->implied++;
                if (tw_free_obj(w, 0, obj) != 0)
                    break;
            }
            if (addr_map_put(&map, c, next_obj) != 0 || tw_malloc(w, 0, next_obj, a) != 0) {
                snprintf(err, err_len, "%s", w->err[0] ? w->err : "out of memory");
                rc = -1;
                break;
            }
            next_obj++;
            st->allocs++;
        } else {
            if (hex(&p, end, &a)) {
                snprintf(err, err_len, "line %llu: malformed free line", (unsigned long long)st->lines);
                rc = -1;
                break;
            }
            if (!addr_map_take(&map, a, &obj)) {
                st->dropped++;
                continue;
            }
            if (tw_free_obj(w, 0, obj) != 0)
                break;
            st->frees++;
        }
    }
    if (rc == 0 && w->err[0]) {
        snprintf(err, err_len, "%s", w->err);
        rc = -1;
    } else if (rc == 0 && r < 0) {
        snprintf(err, err_len, "zstd: %s", zerr ? zerr : "error");
        rc = -1;
    }
    addr_map_free(&map);
    return rc;
}

int import_heaptrack_command(int argc, char **argv)
{
    uint64_t idle_gap = 1000;
    const char *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--idle-gap") == 0 && i + 1 < argc) {
            char *e;
            unsigned long long v = strtoull(argv[++i], &e, 10);
            if (*e || argv[i][0] == '-' || !argv[i][0] || v > TRACE_MAX_IDLE_MS) {
                fprintf(stderr, "%s: --idle-gap %s: not a whole number of ms\n", ME, argv[i]);
                return 1;
            }
            idle_gap = v;
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            in = NULL;
            break;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "usage: allocmark-trace import-heaptrack IN OUT [--idle-gap MS]\n"
                        "  IN: heaptrack --raw output (heaptrack.PROG.PID.raw.zst), or the interpreted\n"
                        "  file; zstd-compressed or plain. OUT: a trace (zstd when it ends in .zst).\n");
        return 1;
    }
    const void *data;
    size_t len;
    if (os_map_file(in, &data, &len) != 0) {
        fprintf(stderr, "%s: %s: cannot open: %s\n", ME, in, strerror(errno));
        return 1;
    }
    struct lines l;
    struct trace_writer w;
    tw_init(&w);
    struct ht_stats st = { 0 };
    char err[TRACE_ERR_LEN];
    int rc = 0;
    if (lines_open(&l, data, len) != 0) {
        fprintf(stderr, "%s: out of memory\n", ME);
        rc = 1;
    } else if (import(&l, &w, idle_gap, &st, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s: %s\n", ME, in, err);
        rc = 2;
    } else if (st.allocs == 0 && st.frees == 0) {
        fprintf(stderr, "%s: %s: no heaptrack allocation lines ('+ SIZE TRACE PTR') in %llu lines\n", ME, in,
                (unsigned long long)st.lines);
        rc = 2;
    } else if (tw_write_file(&w, out) != 0) {
        fprintf(stderr, "%s: %s\n", ME, w.err);
        rc = 1;
    } else {
        fprintf(stderr,
                "%s: %s: %llu ops (malloc %llu, free %llu), %llu idle markers (%llu ms)\n"
                "  dropped %llu frees of pointers never seen allocated; %llu implied frees; %llu failed or too large\n"
                "  heaptrack records no thread ids: every op is on thread 0. It logs realloc as a free and\n"
                "  a malloc, and calloc and the aligned calls as malloc: they are imported as such.\n",
                ME, out, (unsigned long long)(st.allocs + st.frees), (unsigned long long)st.allocs,
                (unsigned long long)st.frees, (unsigned long long)st.idle_markers, (unsigned long long)st.idle_ms,
                (unsigned long long)st.dropped, (unsigned long long)st.implied, (unsigned long long)st.skipped);
    }
    lines_close(&l);
    tw_free(&w);
    os_unmap_file(data, len);
    return rc;
}
