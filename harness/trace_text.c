/* trace_text.c - the readable form of a trace, both ways.
 * One line per record: `t0 malloc 7 64`, `t0 calloc 8 4 16`, `t0 realloc 7 200`,
 * `t0 aligned 9 64 100`, `t0 free 7`, `t1 start`, `t1 exit`, `idle 500`,
 * `phase steady`; blank lines and `#` comments are skipped. The grammar is
 * documented in docs/trace-format.md; to-text writes exactly what parse reads. */
#include <stdio.h>
#include <string.h>

#include "trace.h"

struct line {
    const char *p, *end;
};

static void skip_blanks(struct line *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\r'))
        l->p++;
}

/* Next whitespace-separated token; empty (len 0) at end of line or comment. */
static size_t token(struct line *l, const char **tok)
{
    skip_blanks(l);
    *tok = l->p;
    if (l->p < l->end && *l->p == '#')
        return 0;
    while (l->p < l->end && *l->p != ' ' && *l->p != '\t' && *l->p != '\r')
        l->p++;
    return (size_t)(l->p - *tok);
}

static int tok_is(const char *tok, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(tok, word, n) == 0;
}

/* Parse an unsigned decimal token. 0 on success. */
static int parse_u64(const char *tok, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(tok[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

#define MAX_ARGS 3

/* One line. Returns 0, or -1 with err set to the problem (no location). */
static int parse_line(struct line *l, struct trace_writer *w, char *err, size_t errlen)
{
    const char *tok;
    size_t n = token(l, &tok);
    if (n == 0)
        return 0; /* blank or comment */
    uint64_t v[MAX_ARGS];
    if (tok_is(tok, n, "idle") || tok_is(tok, n, "phase")) {
        int idle = tok[0] == 'i';
        const char *arg;
        size_t an = token(l, &arg);
        const char *extra;
        if (an == 0 || token(l, &extra) != 0) {
            snprintf(err, errlen, "%s needs exactly one argument", idle ? "idle" : "phase");
            return -1;
        }
        if (!idle)
            return tw_phase(w, arg, an) == 0 ? 0 : (snprintf(err, errlen, "%.300s", w->err), -1);
        if (parse_u64(arg, an, &v[0]) != 0) {
            snprintf(err, errlen, "idle: '%.*s' is not a number of milliseconds", (int)(an > 40 ? 40 : an), arg);
            return -1;
        }
        return tw_idle(w, v[0]) == 0 ? 0 : (snprintf(err, errlen, "%.300s", w->err), -1);
    }
    uint64_t thread;
    if (tok[0] != 't' || parse_u64(tok + 1, n - 1, &thread) != 0) {
        snprintf(err, errlen, "expected a thread (t0, t1, ...), 'idle' or 'phase', got '%.*s'",
                 (int)(n > 40 ? 40 : n), tok);
        return -1;
    }
    if (thread >= TRACE_MAX_THREADS) {
        snprintf(err, errlen, "thread %.*s out of range (t0..t%u)", (int)(n > 40 ? 40 : n), tok,
                 TRACE_MAX_THREADS - 1);
        return -1;
    }
    const char *op;
    size_t on = token(l, &op);
    static const struct {
        const char *name;
        int nargs;
        unsigned kind;
    } ops[] = {
        { "malloc", 2, TR_MALLOC }, { "calloc", 3, TR_CALLOC },     { "realloc", 2, TR_REALLOC },
        { "aligned", 3, TR_ALIGNED }, { "free", 1, TR_FREE },       { "start", 0, TR_THREAD_START },
        { "exit", 0, TR_THREAD_EXIT },
    };
    int k = -1;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (tok_is(op, on, ops[i].name))
            k = (int)i;
    if (k < 0) {
        snprintf(err, errlen, "unknown operation '%.*s' (malloc calloc realloc aligned free start exit)",
                 (int)(on > 40 ? 40 : on), op);
        return -1;
    }
    for (int i = 0; i < ops[k].nargs; i++) {
        const char *a;
        size_t an = token(l, &a);
        if (an == 0) {
            snprintf(err, errlen, "%s needs %d arguments", ops[k].name, ops[k].nargs);
            return -1;
        }
        if (parse_u64(a, an, &v[i]) != 0) {
            snprintf(err, errlen, "%s: '%.*s' is not an unsigned integer", ops[k].name, (int)(an > 40 ? 40 : an), a);
            return -1;
        }
    }
    const char *extra;
    if (token(l, &extra) != 0) {
        snprintf(err, errlen, "%s takes %d arguments, found more", ops[k].name, ops[k].nargs);
        return -1;
    }
    uint32_t t = (uint32_t)thread;
    int rc;
    switch (ops[k].kind) {
    case TR_MALLOC: rc = tw_malloc(w, t, v[0], v[1]); break;
    case TR_CALLOC: rc = tw_calloc(w, t, v[0], v[1], v[2]); break;
    case TR_REALLOC: rc = tw_realloc(w, t, v[0], v[1]); break;
    case TR_ALIGNED: rc = tw_aligned(w, t, v[0], v[1], v[2]); break;
    case TR_FREE: rc = tw_free_obj(w, t, v[0]); break;
    case TR_THREAD_START: rc = tw_thread_start(w, t); break;
    default: rc = tw_thread_exit(w, t); break;
    }
    if (rc != 0)
        snprintf(err, errlen, "%.300s", w->err);
    return rc;
}

int trace_text_parse(const char *name, const char *buf, size_t len, struct trace_writer *w, char *err)
{
    const char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte-order mark */
        p += 3;
    for (uint64_t lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct line l = { p, nl ? nl : end };
        char why[400];
        if (memchr(p, 0, (size_t)(l.end - p))) {
            snprintf(err, TRACE_ERR_LEN, "%.100s:%llu: NUL byte in a text trace", name, (unsigned long long)lineno);
            return -1;
        }
        if (parse_line(&l, w, why, sizeof why) != 0) {
            snprintf(err, TRACE_ERR_LEN, "%.100s:%llu: %s", name, (unsigned long long)lineno, why);
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int trace_text_format(const struct trace *t, struct membuf *out, char *err)
{
    const uint8_t *p = trace_body(t), *end = trace_end(t);
    struct trace_rec r = { 0 };
    membuf_printf(out, "# allocmark trace v%d: %llu records, %llu ops, %u objects, %u threads\n", TRACE_VERSION,
                  (unsigned long long)t->hdr.n_records, (unsigned long long)t->hdr.n_ops, t->hdr.n_objects,
                  t->hdr.n_threads);
    while (p < end) {
        const uint8_t *next = trace_decode(p, end, &r);
        if (!next) {
            snprintf(err, TRACE_ERR_LEN, "%.100s: byte %zu: malformed record", t->path, (size_t)(p - t->data));
            return -1;
        }
        unsigned long long id = r.id;
        switch (r.kind) {
        case TR_MALLOC:
        case TR_REALLOC:
            membuf_printf(out, "t%u %s %llu %llu\n", r.thread, trace_kind_name(r.kind), id, (unsigned long long)r.size);
            break;
        case TR_CALLOC:
            membuf_printf(out, "t%u calloc %llu %llu %llu\n", r.thread, id, (unsigned long long)r.nmemb,
                          (unsigned long long)r.elem);
            break;
        case TR_ALIGNED:
            membuf_printf(out, "t%u aligned %llu %llu %llu\n", r.thread, id, (unsigned long long)r.align,
                          (unsigned long long)r.size);
            break;
        case TR_FREE: membuf_printf(out, "t%u free %llu\n", r.thread, id); break;
        case TR_THREAD_START:
        case TR_THREAD_EXIT: membuf_printf(out, "t%u %s\n", r.thread, trace_kind_name(r.kind)); break;
        case TR_PHASE: membuf_printf(out, "phase %.*s\n", (int)r.name_len, r.name); break;
        default: membuf_printf(out, "idle %llu\n", (unsigned long long)r.ms); break;
        }
        p = next;
    }
    if (out->failed) {
        snprintf(err, TRACE_ERR_LEN, "%.100s: out of memory formatting the text form", t->path);
        return -1;
    }
    return 0;
}
