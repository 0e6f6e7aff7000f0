/* fuzz_trace.c - libFuzzer target for the trace reader, validator, text form and writer.
 * Build: make build/fuzz/fuzz_trace   Run: build/fuzz/fuzz_trace build/fuzz/corpus tests/corpus
 *
 * Each input is handled two ways:
 *  - as a file: written to a temp file (created once, rewritten per input) and opened
 *    with trace_open (binary, zstd or text), then trace_validate. A refusal must carry
 *    the file name; a validation error also a byte offset.
 *  - as text: trace_text_parse straight from libFuzzer's exactly-sized buffer (so ASan
 *    sees any overread); whatever the writer then produces must validate.
 * For every accepted trace the decoded bytes are copied to an exactly-sized heap buffer
 * and validated again there (the harness's own buffers are mmaps, which ASan cannot
 * bound), formatted as text, parsed back and re-validated: the summary must agree, the
 * writer's output must be a fixed point of to-text/from-text, and when the trace's
 * records are already as the writer numbers them, the re-encoded body must equal the
 * original byte for byte (the v1 encoding is canonical).
 * The CRCs would keep almost every mutated binary away from acceptance, so an input
 * that starts with the magic is also tried "repaired": body_bytes, the record and op
 * counts (from the decoder), n_objects (clamped) and both CRCs recomputed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/membuf.h"
#include "../harness/trace.h"

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_trace: %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* Two temp files, unlinked as soon as they are made (so a crash leaves nothing
 * behind) and opened again by trace_open through /proc/self/fd. */
static char g_in[64], g_bin[64]; /* the fuzz input; the writer's output */
static int g_in_fd = -1, g_bin_fd = -1;

static int temp_file(char *path, size_t n)
{
    char tmpl[] = "/tmp/fuzz_trace.XXXXXX";
    int fd = mkstemp(tmpl);
    CHECK(fd >= 0, "mkstemp failed");
    unlink(tmpl);
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

static void init_once(void)
{
    if (g_in_fd >= 0)
        return;
    g_in_fd = temp_file(g_in, sizeof g_in);
    g_bin_fd = temp_file(g_bin, sizeof g_bin);
}

static void put_file(int fd, const void *p, size_t n)
{
    CHECK(ftruncate(fd, 0) == 0, "ftruncate");
    const uint8_t *c = p;
    for (off_t off = 0; n;) {
        ssize_t k = pwrite(fd, c, n, off);
        CHECK(k > 0, "pwrite");
        c += k;
        off += k;
        n -= (size_t)k;
    }
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Validate a copy of t's decoded bytes in an exactly-sized heap buffer: the result
 * (and summary) must match the validation of the original. */
static void validate_heap_copy(const struct trace *t, const struct trace_summary *want)
{
    uint8_t *copy = malloc(t->size ? t->size : 1);
    CHECK(copy, "malloc");
    memcpy(copy, t->data, t->size);
    struct trace m = *t;
    m.data = copy;
    m.map_size = 0;
    struct trace_summary s;
    char err[TRACE_ERR_LEN];
    CHECK(trace_validate(&m, &s, err) == 0, "heap copy refused: %s", err);
    CHECK(memcmp(&s, want, sizeof s) == 0, "heap copy: different summary");
    free(copy);
}

/* The text form of a valid trace, in an exactly-sized heap buffer (not NUL-terminated). */
static char *format_text(const struct trace *t, size_t *len)
{
    struct membuf m;
    membuf_init(&m);
    char err[TRACE_ERR_LEN];
    CHECK(trace_text_format(t, &m, err) == 0, "to-text of a valid trace failed: %s", err);
    char *s = malloc(m.len ? m.len : 1);
    CHECK(s, "malloc");
    memcpy(s, m.data, m.len);
    *len = m.len;
    membuf_free(&m);
    return s;
}

/* Parse text (which must succeed) into a finished binary image. */
static void parse_text(const char *name, const char *text, size_t len, struct membuf *out)
{
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    CHECK(trace_text_parse(name, text, len, &w, err) == 0, "from-text of to-text output failed: %s", err);
    CHECK(tw_finish(&w, out) == 0, "tw_finish: %s", w.err);
    tw_free(&w);
}

/* Open an image the writer produced: it must be valid. */
static void open_writer_image(const struct membuf *img, struct trace *t, struct trace_summary *s)
{
    put_file(g_bin_fd, img->data, img->len);
    char err[TRACE_ERR_LEN];
    CHECK(trace_open(g_bin, t, err) == 0, "writer output refused by trace_open: %s", err);
    CHECK(strcmp(t->form, "binary") == 0, "writer output read as %s", t->form);
    CHECK(t->size == img->len && memcmp(t->data, img->data, img->len) == 0, "writer output read back differently");
    CHECK(trace_validate(t, s, err) == 0, "writer output refused by trace_validate: %s", err);
}

/* The text after the formatter's first ("# allocmark ...") line. */
static const char *text_body(const char *text, size_t len, size_t *body_len)
{
    const char *nl = memchr(text, '\n', len);
    CHECK(nl && starts_with(text, "# allocmark trace v1: "), "to-text output lacks its banner line");
    *body_len = len - (size_t)(nl + 1 - text);
    return nl + 1;
}

/* Summaries of the same records, possibly renumbered: all but n_objects / n_threads agree. */
static void same_workload(const struct trace_summary *a, const struct trace_summary *b)
{
    struct trace_summary x = *a, y = *b;
    x.n_objects = y.n_objects = 0;
    x.n_threads = y.n_threads = 0;
    CHECK(memcmp(&x, &y, sizeof x) == 0, "round trip changed the workload: peak %llu/%llu ops %llu/%llu",
          (unsigned long long)a->peak_live_bytes, (unsigned long long)b->peak_live_bytes,
          (unsigned long long)a->n_ops, (unsigned long long)b->n_ops);
    CHECK(b->n_objects <= a->n_objects && b->n_threads <= a->n_threads, "the writer used more ids or threads");
}

/* A valid trace t: to-text, from-text, and the checks in the header comment. */
static void round_trip(const struct trace *t, const struct trace_summary *s)
{
    validate_heap_copy(t, s);

    size_t len2;
    char *text2 = format_text(t, &len2);
    struct membuf bin2;
    parse_text("to-text", text2, len2, &bin2);
    struct trace t2;
    struct trace_summary s2;
    open_writer_image(&bin2, &t2, &s2);
    same_workload(s, &s2);

    /* the writer's output is a fixed point */
    size_t len3;
    char *text3 = format_text(&t2, &len3);
    struct membuf bin3;
    parse_text("to-text-2", text3, len3, &bin3);
    CHECK(bin3.len == bin2.len && memcmp(bin3.data, bin2.data, bin2.len) == 0, "to-text/from-text is not a fixed point");

    /* same records as the writer would number them => same bytes */
    size_t b2, b3;
    const char *body2 = text_body(text2, len2, &b2), *body3 = text_body(text3, len3, &b3);
    if (b2 == b3 && memcmp(body2, body3, b2) == 0) {
        CHECK(t->hdr.body_bytes == t2.hdr.body_bytes &&
                  memcmp(trace_body(t), trace_body(&t2), t->hdr.body_bytes) == 0,
              "records equal to the writer's but encoded differently (non-canonical encoding accepted)");
        if (t->hdr.n_objects == t2.hdr.n_objects && t->hdr.n_threads == t2.hdr.n_threads)
            CHECK(t->size == t2.size && memcmp(t->data, t2.data, t->size) == 0, "same trace, different header bytes");
    }

    membuf_free(&bin3);
    free(text3);
    trace_close(&t2);
    membuf_free(&bin2);
    free(text2);
}

/* The input as a text trace, straight from the fuzzer's buffer. */
static void fuzz_text(const uint8_t *data, size_t size)
{
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    err[0] = 0;
    if (trace_text_parse("input.txt", (const char *)data, size, &w, err) != 0) {
        CHECK(starts_with(err, "input.txt:"), "text error without a location: %s", err);
        tw_free(&w);
        return;
    }
    struct membuf bin;
    CHECK(tw_finish(&w, &bin) == 0, "tw_finish: %s", w.err);
    CHECK(w.n_records <= bin.len, "record count");
    tw_free(&w);
    struct trace t;
    struct trace_summary s;
    open_writer_image(&bin, &t, &s);
    round_trip(&t, &s);
    trace_close(&t);
    membuf_free(&bin);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A copy of a binary-looking input with its header made consistent with its body,
 * or NULL if there is nothing to repair (not a binary trace, or already consistent). */
static uint8_t *repaired(const uint8_t *data, size_t size)
{
    if (size < TRACE_HEADER_SIZE || memcmp(data, TRACE_MAGIC, 8) != 0)
        return NULL;
    uint8_t *img = malloc(size);
    CHECK(img, "malloc");
    memcpy(img, data, size);
    struct trace_header h;
    trace_header_decode(img, &h);
    const uint8_t *p = img + TRACE_HEADER_SIZE, *end = img + size;
    struct trace_rec r;
    uint64_t n_records = 0, n_ops = 0;
    for (const uint8_t *q; p < end && (q = trace_decode(p, end, &r)) != NULL; p = q) {
        n_records++;
        n_ops += trace_kind_is_op(r.kind);
    }
    h.n_records = n_records;
    h.n_ops = n_ops;
    if (h.n_objects > n_records)
        h.n_objects = (uint32_t)n_records;
    put_le(img + 16, h.n_records, 8);
    put_le(img + 24, h.n_ops, 8);
    put_le(img + 32, h.n_objects, 4);
    put_le(img + 40, size - TRACE_HEADER_SIZE, 8);
    put_le(img + 48, trace_crc32c(0, img + TRACE_HEADER_SIZE, size - TRACE_HEADER_SIZE), 4);
    put_le(img + 60, trace_crc32c(0, img, 60), 4);
    if (memcmp(img, data, TRACE_HEADER_SIZE) == 0) {
        free(img);
        return NULL;
    }
    return img;
}

static void fuzz_file(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    fuzz_text(data, size);
    fuzz_file(data, size);
    uint8_t *fixed = repaired(data, size);
    if (fixed) {
        fuzz_file(fixed, size);
        free(fixed);
    }
    return 0;
}

/* The input as a file, through trace_open. */
static void fuzz_file(const uint8_t *data, size_t size)
{
    put_file(g_in_fd, data, size);
    struct trace t;
    char err[TRACE_ERR_LEN];
    err[0] = 0;
    int rc = trace_open(g_in, &t, err);
    if (rc != 0) {
        CHECK(rc == -1, "trace_open: %d for a readable file: %s", rc, err);
        CHECK(starts_with(err, g_in), "open error does not name the file: %s", err);
        return;
    }
    struct trace_summary s;
    if (trace_validate(&t, &s, err) != 0) {
        CHECK(starts_with(err, g_in) && strstr(err, ": byte "), "validation error without a location: %s", err);
        trace_close(&t);
        return;
    }
    if (strcmp(t.form, "text") == 0) {
        /* the reader's text path and the parser agree */
        struct trace_writer w;
        tw_init(&w);
        CHECK(trace_text_parse(g_in, (const char *)data, size, &w, err) == 0, "reader took it, parser refuses: %s", err);
        struct membuf bin;
        CHECK(tw_finish(&w, &bin) == 0, "tw_finish");
        CHECK(bin.len == t.size && memcmp(bin.data, t.data, t.size) == 0, "reader and parser disagree");
        membuf_free(&bin);
        tw_free(&w);
    }
    round_trip(&t, &s);
    trace_close(&t);
}
