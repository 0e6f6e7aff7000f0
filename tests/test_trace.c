/* test_trace.c - trace format v1: text <-> binary round trips, .zst, the validator's
 * summary, and refusal (with file name and byte offset) of every corruption class;
 * text parse errors; the allocmark-trace CLI's exit status.
 * Link: all harness objects + allocators/glibc.o -lzstd -lm -lcmocka */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "scratch_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "../harness/membuf.h"
#include "../harness/trace.h"

extern char **environ;

/* ---------------------------------------------------------------- scratch files */

static unsigned g_seq;

static int setup_dir(void **state)
{
    (void)state;
    return scratch_dir_make("test-trace");
}

/* A fresh path in the scratch dir: "<dir>/<stem>-<n><ext>". */
static void scratch(char *out, size_t n, const char *stem, const char *ext)
{
    int k = snprintf(out, n, "%s/%s-%u%s", scratch_dir, stem, g_seq++, ext);
    assert_true(k > 0 && (size_t)k < n);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, malloc'd (NUL-terminated for convenience). */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    uint8_t *p = malloc((size_t)len + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    p[len] = 0;
    *n = (size_t)len;
    return p;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static void expect_text_error(const char *text, const char *where, const char *what);

/* ---------------------------------------------------------------- library shortcuts */

/* Parse text into a finished binary image (header + body). */
static void text_to_bin(const char *text, struct membuf *out)
{
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    if (trace_text_parse("inline.txt", text, strlen(text), &w, err) != 0)
        fail_msg("parse failed: %s", err);
    assert_int_equal(tw_finish(&w, out), 0);
    tw_free(&w);
}

/* Open and validate PATH; 0 if valid (then *t is open), else -1 with err set. */
static int open_valid(const char *path, struct trace *t, struct trace_summary *s, char *err)
{
    if (trace_open(path, t, err) != 0)
        return -1;
    if (trace_validate(t, s, err) != 0) {
        trace_close(t);
        return -1;
    }
    return 0;
}

/* The text form of the trace in PATH (must be valid), NUL-terminated, malloc'd. */
static char *file_to_text(const char *path)
{
    struct trace t;
    struct trace_summary s;
    char err[TRACE_ERR_LEN];
    if (open_valid(path, &t, &s, err) != 0)
        fail_msg("%s", err);
    struct membuf m;
    membuf_init(&m);
    if (trace_text_format(&t, &m, err) != 0)
        fail_msg("%s", err);
    trace_close(&t);
    char *s_out = malloc(m.len + 1);
    assert_non_null(s_out);
    memcpy(s_out, m.data, m.len);
    s_out[m.len] = 0;
    membuf_free(&m);
    return s_out;
}

/* Skip the formatter's leading "# allocmark ..." line (asserting it is there). */
static const char *after_banner(const char *text)
{
    assert_true(strncmp(text, "# allocmark trace v1: ", 22) == 0);
    const char *nl = strchr(text, '\n');
    assert_non_null(nl);
    return nl + 1;
}

/* Write IMG to a fresh file; it must be refused by open or validate with an error
 * naming the file and, if off >= 0, exactly "byte OFF:"; and holding `what`. */
static void expect_refused_at(const void *img, size_t len, long off, const char *what)
{
    char path[PATH_MAX];
    scratch(path, sizeof path, "bad", ".bin");
    write_bytes(path, img, len);
    struct trace t;
    struct trace_summary s;
    char err[TRACE_ERR_LEN] = "";
    if (open_valid(path, &t, &s, err) == 0) {
        trace_close(&t);
        fail_msg("%s: accepted, expected refusal (%s)", path, what ? what : "");
    }
    if (strncmp(err, path, strlen(path)) != 0)
        fail_msg("error does not start with the file name: %s", err);
    assert_contains(err, ": byte ");
    if (off >= 0) {
        char at[64];
        snprintf(at, sizeof at, ": byte %ld: ", off);
        assert_contains(err, at);
    }
    if (what)
        assert_contains(err, what);
    unlink(path);
}

static void expect_valid_img(const void *img, size_t len, struct trace_summary *s_out)
{
    char path[PATH_MAX];
    scratch(path, sizeof path, "good", ".bin");
    write_bytes(path, img, len);
    struct trace t;
    struct trace_summary s;
    char err[TRACE_ERR_LEN];
    if (open_valid(path, &t, &s, err) != 0)
        fail_msg("expected a valid trace: %s", err);
    trace_close(&t);
    if (s_out)
        *s_out = s;
    unlink(path);
}

/* ---------------------------------------------------------------- hand encoder */

/* Builds a body record by record, exactly as docs/trace-format.md lays it out:
 * kind byte = kind | thread << 4 (thread 15 = a varint thread follows), LEB128
 * fields. Records any byte sequence, so tests can build what the writer never would. */
struct bb {
    uint8_t body[4096];
    size_t len;
    uint64_t n_records, n_ops;
};

static void bb_byte(struct bb *b, uint8_t v)
{
    assert_true(b->len < sizeof b->body);
    b->body[b->len++] = v;
}

static void bb_varint(struct bb *b, uint64_t v)
{
    while (v >= 0x80) {
        bb_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    bb_byte(b, (uint8_t)v);
}

/* Start a record; returns its file offset (header included). */
static long bb_rec0(struct bb *b, unsigned kind, uint32_t thread)
{
    long off = (long)(TRACE_HEADER_SIZE + b->len);
    bb_byte(b, (uint8_t)(kind | (thread < 15 ? thread : 15u) << 4));
    if (thread >= 15)
        bb_varint(b, thread);
    b->n_records++;
    b->n_ops += trace_kind_is_op(kind);
    return off;
}

static long bb_rec_arr(struct bb *b, unsigned kind, uint32_t thread, const uint64_t *v, size_t n)
{
    long off = bb_rec0(b, kind, thread);
    for (size_t i = 0; i < n; i++)
        bb_varint(b, v[i]);
    return off;
}

#define U64S(...) ((const uint64_t[]){ __VA_ARGS__ })
#define REC(b, kind, thread, ...) \
    bb_rec_arr((b), (kind), (thread), U64S(__VA_ARGS__), sizeof U64S(__VA_ARGS__) / sizeof(uint64_t))

static long bb_phase(struct bb *b, uint32_t thread, const char *name)
{
    long off = bb_rec0(b, TR_PHASE, thread);
    bb_varint(b, strlen(name));
    for (const char *c = name; *c; c++)
        bb_byte(b, (uint8_t)*c);
    return off;
}

/* A header matching the body (counts, size, CRC); tests may then falsify a field. */
static struct trace_header bb_header(const struct bb *b, uint32_t n_objects, uint32_t n_threads)
{
    struct trace_header h = {
        .version = TRACE_VERSION,
        .header_size = TRACE_HEADER_SIZE,
        .n_records = b->n_records,
        .n_ops = b->n_ops,
        .n_objects = n_objects,
        .n_threads = n_threads,
        .body_bytes = b->len,
        .body_crc = trace_crc32c(0, b->body, b->len),
    };
    return h;
}

/* Header (encoded with its CRC) + body into out; returns the image size. */
static size_t bb_image(const struct bb *b, struct trace_header *h, uint8_t *out)
{
    trace_header_encode(h, out);
    memcpy(out + TRACE_HEADER_SIZE, b->body, b->len);
    return TRACE_HEADER_SIZE + b->len;
}

static void bb_expect_refused(const struct bb *b, uint32_t n_objects, uint32_t n_threads, long off, const char *what)
{
    uint8_t img[TRACE_HEADER_SIZE + sizeof b->body];
    struct trace_header h = bb_header(b, n_objects, n_threads);
    expect_refused_at(img, bb_image(b, &h, img), off, what);
}

static void bb_expect_valid(const struct bb *b, uint32_t n_objects, uint32_t n_threads)
{
    uint8_t img[TRACE_HEADER_SIZE + sizeof b->body];
    struct trace_header h = bb_header(b, n_objects, n_threads);
    expect_valid_img(img, bb_image(b, &h, img), NULL);
}

/* ---------------------------------------------------------------- traces used below */

/* Every record kind, comments, blank lines, trailing comments, CRLF, huge ids,
 * threads >= 15 (varint thread), id reuse, thread restart. */
static const char ALL_KINDS_TEXT[] =
    "# a comment line\n"
    "\n"
    "t0 malloc 18446744073709551615 64   # trailing comment\n"
    "   t0   calloc\t123456789012345 3 24\n"
    "   \n"
    "t1 start\r\n"
    "t1 realloc 18446744073709551615 200\n"
    "t1 aligned 42 4096 100\t# tab, then a comment\n"
    "phase warm-up.1:x_Y\n"
    "idle 0\n"
    "idle 86400000\n"
    "    # indented comment\n"
    "t15 malloc 7 1\n"
    "t300 calloc 8 0 0\n"
    "t65535 aligned 9 1 5\n"
    "t15 free 42\n"
    "t300 free 123456789012345\n"
    "t1 free 7\n"
    "t0 malloc 42 0\n"
    "t1 exit\n"
    "t15 exit\n"
    "t300 exit\n"
    "t65535 exit\n"
    "t1 start\n"
    "t1 free 8\n"
    "t1 free 9\n"
    "t1 free 18446744073709551615\n"
    "t0 free 42"; /* no final newline */

/* ALL_KINDS_TEXT as the formatter writes it: dense ids, explicit thread starts. */
static const char ALL_KINDS_CANON[] =
    "t0 malloc 0 64\n"
    "t0 calloc 1 3 24\n"
    "t1 start\n"
    "t1 realloc 0 200\n"
    "t1 aligned 2 4096 100\n"
    "phase warm-up.1:x_Y\n"
    "idle 0\n"
    "idle 86400000\n"
    "t15 start\n"
    "t15 malloc 3 1\n"
    "t300 start\n"
    "t300 calloc 4 0 0\n"
    "t65535 start\n"
    "t65535 aligned 5 1 5\n"
    "t15 free 2\n"
    "t300 free 1\n"
    "t1 free 3\n"
    "t0 malloc 3 0\n"
    "t1 exit\n"
    "t15 exit\n"
    "t300 exit\n"
    "t65535 exit\n"
    "t1 start\n"
    "t1 free 4\n"
    "t1 free 5\n"
    "t1 free 0\n"
    "t0 free 3\n";

/* Small, all kinds, multi-byte varints, a varint thread: for truncation and bit flips. */
static const char SMALL_TEXT[] = "t0 malloc 1 300\n"
                                 "t0 calloc 2 3 1000\n"
                                 "t20 realloc 1 70000\n"
                                 "t1 aligned 3 65536 5\n"
                                 "phase steady\n"
                                 "idle 1500\n"
                                 "t1 free 2\n"
                                 "t1 exit\n"
                                 "t0 free 1\n";

static int memfind(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- round trips */

static void test_roundtrip_all_kinds(void **state)
{
    (void)state;
    char bin1[PATH_MAX], bin2[PATH_MAX];
    scratch(bin1, sizeof bin1, "rt1", ".bin");
    scratch(bin2, sizeof bin2, "rt2", ".bin");

    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    if (trace_text_parse("all.txt", ALL_KINDS_TEXT, strlen(ALL_KINDS_TEXT), &w, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(w.n_records, 27);
    assert_int_equal(w.n_ops, 15);
    assert_int_equal(w.n_objects, 6); /* 6 objects at most live together: dense ids recycle */
    assert_int_equal(w.n_threads, 65536);
    assert_int_equal(tw_write_file(&w, bin1), 0);
    tw_free(&w);

    size_t n1;
    uint8_t *b1 = slurp(bin1, &n1);
    /* threads >= 15 use the escape: kind byte 0xF_, then a varint thread. */
    assert_true(memfind(b1 + TRACE_HEADER_SIZE, n1 - TRACE_HEADER_SIZE, (const uint8_t[]){ 0xF6, 0xAC, 0x02 }, 3));
    assert_true(memfind(b1 + TRACE_HEADER_SIZE, n1 - TRACE_HEADER_SIZE,
                        (const uint8_t[]){ 0xF4, 0xFF, 0xFF, 0x03, 0x05, 0x00, 0x05 }, 7)); /* t65535 aligned 5 1 5 */
    assert_true(memfind(b1 + TRACE_HEADER_SIZE, n1 - TRACE_HEADER_SIZE, (const uint8_t[]){ 0xF1, 0x0F, 0x03, 0x01 }, 4));

    /* binary -> text: exactly the canonical form. */
    char *text2 = file_to_text(bin1);
    static const char banner[] = "# allocmark trace v1: 27 records, 15 ops, 6 objects, 65536 threads\n";
    assert_true(strncmp(text2, banner, strlen(banner)) == 0);
    assert_string_equal(text2 + strlen(banner), ALL_KINDS_CANON);

    /* text -> binary again: byte-identical. Through a text *file* opened by trace_open. */
    char txt2[PATH_MAX];
    scratch(txt2, sizeof txt2, "rt2", ".txt");
    write_bytes(txt2, text2, strlen(text2));
    struct trace t;
    struct trace_summary s;
    if (open_valid(txt2, &t, &s, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(t.form, "text");
    assert_int_equal(t.size, n1);
    assert_memory_equal(t.data, b1, n1);
    trace_close(&t);

    /* and through the writer directly to a file */
    tw_init(&w);
    assert_int_equal(trace_text_parse(txt2, text2, strlen(text2), &w, err), 0);
    assert_int_equal(tw_write_file(&w, bin2), 0);
    tw_free(&w);
    size_t n2;
    uint8_t *b2 = slurp(bin2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);

    free(b1);
    free(b2);
    free(text2);
}

static void test_roundtrip_canonical_text(void **state)
{
    (void)state;
    struct membuf bin;
    text_to_bin(ALL_KINDS_CANON, &bin);
    char path[PATH_MAX];
    scratch(path, sizeof path, "canon", ".bin");
    write_bytes(path, bin.data, bin.len);
    membuf_free(&bin);
    char *text = file_to_text(path);
    assert_string_equal(after_banner(text), ALL_KINDS_CANON);
    free(text);

    /* A second, smaller canonical trace (single-threaded, one reused id). */
    static const char small[] = "t0 malloc 0 1\nt0 free 0\nt0 malloc 0 2\nidle 3\nt0 realloc 0 4\n";
    text_to_bin(small, &bin);
    scratch(path, sizeof path, "canon", ".bin");
    write_bytes(path, bin.data, bin.len);
    membuf_free(&bin);
    text = file_to_text(path);
    assert_string_equal(text, "# allocmark trace v1: 5 records, 4 ops, 1 objects, 1 threads\n"
                              "t0 malloc 0 1\nt0 free 0\nt0 malloc 0 2\nidle 3\nt0 realloc 0 4\n");
    free(text);
}

/* The empty trace: header only, valid, formats to just the banner. */
static void test_empty_trace(void **state)
{
    (void)state;
    struct membuf bin;
    text_to_bin("# nothing here\n\n", &bin);
    assert_int_equal(bin.len, TRACE_HEADER_SIZE);
    struct trace_summary s;
    expect_valid_img(bin.data, bin.len, &s);
    assert_int_equal(s.n_records, 0);
    assert_int_equal(s.n_threads, 1);
    membuf_free(&bin);
}

/* A UTF-8 byte-order mark before a text trace is skipped, by the parser and by trace_open;
 * anywhere else it is an ordinary (bad) token. */
static void test_text_bom(void **state)
{
    (void)state;
    static const char with_bom[] = "\xef\xbb\xbft0 malloc 1 8\nt0 free 1\n";
    struct membuf want, got;
    text_to_bin(with_bom + 3, &want);
    text_to_bin(with_bom, &got);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    char path[PATH_MAX];
    scratch(path, sizeof path, "bom", ".txt");
    write_bytes(path, with_bom, strlen(with_bom));
    struct trace t;
    struct trace_summary s;
    char err[TRACE_ERR_LEN];
    if (open_valid(path, &t, &s, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(t.form, "text");
    assert_int_equal(t.size, want.len);
    assert_memory_equal(t.data, want.data, want.len);
    trace_close(&t);
    membuf_free(&want);
    membuf_free(&got);
    expect_text_error("t0 malloc 1 8\n\xef\xbb\xbft0 free 1\n", "bad.txt:2: ", "expected a thread");
    expect_text_error("\xef\xbb\xbf\xef\xbb\xbft0 free 1\n", "bad.txt:1: ", "expected a thread");
}

/* ---------------------------------------------------------------- zstd */

static void test_zst(void **state)
{
    (void)state;
    char zpath[PATH_MAX];
    scratch(zpath, sizeof zpath, "out", ".zst");
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    assert_int_equal(trace_text_parse("small.txt", SMALL_TEXT, strlen(SMALL_TEXT), &w, err), 0);
    struct membuf plain;
    assert_int_equal(tw_finish(&w, &plain), 0);
    assert_int_equal(tw_write_file(&w, zpath), 0);
    tw_free(&w);

    size_t zn;
    uint8_t *z = slurp(zpath, &zn);
    assert_true(zn >= 4);
    assert_memory_equal(z, ((const uint8_t[]){ 0x28, 0xb5, 0x2f, 0xfd }), 4);
    /* an independent decoder agrees */
    uint8_t dec[4096];
    size_t dn = ZSTD_decompress(dec, sizeof dec, z, zn);
    assert_false(ZSTD_isError(dn));
    assert_int_equal(dn, plain.len);
    assert_memory_equal(dec, plain.data, plain.len);

    /* trace_open decompresses transparently */
    struct trace t;
    struct trace_summary s;
    if (open_valid(zpath, &t, &s, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(t.form, "zstd");
    assert_int_equal(t.size, plain.len);
    assert_memory_equal(t.data, plain.data, plain.len);
    assert_int_equal(s.n_records, 11);
    trace_close(&t);

    /* every truncation of the .zst is refused, never crashes */
    char cut[PATH_MAX];
    scratch(cut, sizeof cut, "cut", ".zst");
    for (size_t len = 0; len < zn; len++) {
        write_bytes(cut, z, len);
        if (open_valid(cut, &t, &s, err) == 0) {
            trace_close(&t);
            fail_msg(".zst truncated to %zu of %zu bytes accepted", len, zn);
        }
        assert_true(strncmp(err, cut, strlen(cut)) == 0);
        if (len >= 4 + 6) /* past magic and frame header: a zstd-level truncation */
            assert_contains(err, "truncated zstd stream");
    }

    /* bytes after the frame that are not another frame are refused */
    uint8_t *zz = malloc(2 * zn + 8);
    assert_non_null(zz);
    memcpy(zz, z, zn);
    memcpy(zz + zn, "abcdefgh", 8);
    expect_refused_at(zz, zn + 8, -1, "zstd: ");
    /* two whole frames decompress to their concatenation: here header+body twice,
     * which is then trailing garbage after the first trace's body */
    memcpy(zz + zn, z, zn);
    expect_refused_at(zz, 2 * zn, (long)plain.len, "bytes of trailing garbage after the body");
    /* a trace split across two frames is read whole */
    {
        uint8_t f2[8192];
        size_t half = plain.len / 2;
        size_t a = ZSTD_compress(f2, sizeof f2, plain.data, half, 3);
        assert_false(ZSTD_isError(a));
        size_t b2 = ZSTD_compress(f2 + a, sizeof f2 - a, plain.data + half, plain.len - half, 3);
        assert_false(ZSTD_isError(b2));
        char p2[PATH_MAX];
        scratch(p2, sizeof p2, "two", ".zst");
        write_bytes(p2, f2, a + b2);
        if (open_valid(p2, &t, &s, err) != 0)
            fail_msg("%s", err);
        assert_int_equal(t.size, plain.len);
        assert_memory_equal(t.data, plain.data, plain.len);
        trace_close(&t);
    }
    free(zz);

    /* a compressed text trace is parsed as text; its errors are by line */
    {
        uint8_t zt[4096];
        size_t ztn = ZSTD_compress(zt, sizeof zt, SMALL_TEXT, strlen(SMALL_TEXT), 3);
        assert_false(ZSTD_isError(ztn));
        char p3[PATH_MAX];
        scratch(p3, sizeof p3, "text", ".zst");
        write_bytes(p3, zt, ztn);
        if (open_valid(p3, &t, &s, err) != 0)
            fail_msg("%s", err);
        assert_int_equal(t.size, plain.len);
        assert_memory_equal(t.data, plain.data, plain.len);
        trace_close(&t);
        static const char badtext[] = "t0 malloc 1 8\nt0 free 2\n";
        ztn = ZSTD_compress(zt, sizeof zt, badtext, strlen(badtext), 3);
        assert_false(ZSTD_isError(ztn));
        write_bytes(p3, zt, ztn);
        assert_int_not_equal(open_valid(p3, &t, &s, err), 0);
        char want[PATH_MAX + 32];
        assert_true(snprintf(want, sizeof want, "%s:2: free of object 2, which is not live", p3) < (int)sizeof want);
        assert_true(strncmp(err, want, strlen(want)) == 0);
    }

    /* a well-formed frame holding a corrupt trace: the offset refers to the decompressed bytes */
    uint8_t bad[4096];
    memcpy(bad, plain.data, plain.len);
    bad[plain.len - 1] ^= 0x01; /* body byte: body CRC (or a record) now fails */
    uint8_t zb[8192];
    size_t zbn = ZSTD_compress(zb, sizeof zb, bad, plain.len, 3);
    assert_false(ZSTD_isError(zbn));
    char bpath[PATH_MAX];
    scratch(bpath, sizeof bpath, "bad", ".zst");
    write_bytes(bpath, zb, zbn);
    assert_int_not_equal(open_valid(bpath, &t, &s, err), 0);
    assert_contains(err, " (decompressed): byte ");

    membuf_free(&plain);
    free(z);
}

/* ---------------------------------------------------------------- summary */

static void test_summary_exact(void **state)
{
    (void)state;
    static const char text[] = "t0 malloc 1 100\n"     /* A t0: live 100 / 1 */
                               "t0 calloc 2 10 20\n"   /* B t0 200: 300 / 2 */
                               "t1 aligned 3 4096 0\n" /* implicit t1 start; C t1 0: 300 / 3 */
                               "t1 free 1\n"           /* cross-thread free: 200 / 2 */
                               "t0 realloc 2 1000\n"   /* same thread: 1000 / 2 */
                               "t1 realloc 2 1\n"      /* cross-thread realloc, B now t1: 1 / 2 */
                               "idle 250\n"
                               "phase p1\n"
                               "t2 start\n"
                               "t2 malloc 4 70000\n" /* D t2: 70001 / 3  <- peaks */
                               "t2 free 4\n"         /* 1 / 2 */
                               "t2 exit\n"
                               "idle 750\n"
                               "t0 free 3\n"     /* C (t1) freed on t0: cross. 1 / 1 */
                               "t0 malloc 5 3\n"; /* E: 4 / 2 */
    struct membuf bin;
    text_to_bin(text, &bin);
    struct trace_summary s;
    expect_valid_img(bin.data, bin.len, &s);
    membuf_free(&bin);

    assert_int_equal(s.n_records, 16);
    assert_int_equal(s.n_ops, 10);
    assert_int_equal(s.count[TR_INVALID], 0);
    assert_int_equal(s.count[TR_MALLOC], 3);
    assert_int_equal(s.count[TR_CALLOC], 1);
    assert_int_equal(s.count[TR_REALLOC], 2);
    assert_int_equal(s.count[TR_ALIGNED], 1);
    assert_int_equal(s.count[TR_FREE], 3);
    assert_int_equal(s.count[TR_THREAD_START], 2);
    assert_int_equal(s.count[TR_THREAD_EXIT], 1);
    assert_int_equal(s.count[TR_PHASE], 1);
    assert_int_equal(s.count[TR_IDLE], 2);
    assert_int_equal(s.n_objects, 3); /* A, B, C; D reuses A's id, E reuses C's */
    assert_int_equal(s.n_threads, 3);
    assert_int_equal(s.threads_used, 3);
    assert_int_equal(s.peak_live_bytes, 70001);
    assert_int_equal(s.peak_live_objects, 3);
    assert_int_equal(s.final_live_bytes, 4);
    assert_int_equal(s.final_live_objects, 2);
    assert_int_equal(s.cross_thread_frees, 2);
    assert_int_equal(s.cross_thread_reallocs, 1);
    assert_int_equal(s.requested_bytes, 100 + 200 + 0 + 1000 + 1 + 70000 + 3);
    assert_int_equal(s.max_size, 70000);
    assert_int_equal(s.max_align, 4096);
    assert_int_equal(s.idle_ms_total, 1000);
    uint64_t want[TRACE_SIZE_BUCKETS] = { 0 };
    want[0] = 1;  /* 0 */
    want[1] = 1;  /* 1 */
    want[2] = 1;  /* 3: [2,4) */
    want[7] = 1;  /* 100: [64,128) */
    want[8] = 1;  /* 200: [128,256) */
    want[10] = 1; /* 1000: [512,1024) */
    want[17] = 1; /* 70000: [65536,131072) */
    for (unsigned b = 0; b < TRACE_SIZE_BUCKETS; b++)
        if (s.size_hist[b] != want[b])
            fail_msg("size_hist[%u] = %llu, want %llu", b, (unsigned long long)s.size_hist[b],
                     (unsigned long long)want[b]);
}

/* The size limit is inclusive: 2^48 is fine (last bucket), 2^48+1 is not. */
static void test_size_limit_boundary(void **state)
{
    (void)state;
    struct membuf bin;
    text_to_bin("t0 malloc 1 281474976710656\nt0 calloc 2 65536 4294967296\nt0 aligned 3 1073741824 8\n", &bin);
    struct trace_summary s;
    expect_valid_img(bin.data, bin.len, &s);
    membuf_free(&bin);
    assert_int_equal(s.max_size, (uint64_t)1 << 48);
    assert_int_equal(s.size_hist[TRACE_SIZE_BUCKETS - 1], 2);
    assert_int_equal(s.max_align, (uint64_t)1 << 30);
    assert_int_equal(s.peak_live_bytes, ((uint64_t)1 << 49) + 8);
}

/* ---------------------------------------------------------------- corruption: whole files */

static void small_bin(struct membuf *bin)
{
    text_to_bin(SMALL_TEXT, bin);
    expect_valid_img(bin->data, bin->len, NULL); /* the control */
}

static void test_truncate_every_length(void **state)
{
    (void)state;
    struct membuf bin;
    small_bin(&bin);
    assert_true(bin.len > TRACE_HEADER_SIZE + 20);
    for (size_t len = 0; len < bin.len; len++)
        expect_refused_at(bin.data, len, (long)len,
                          len < TRACE_HEADER_SIZE ? "truncated header" : "truncated: the header promises");
    membuf_free(&bin);
}

/* A body cut at any point under a header that agrees with the cut (right size and
 * CRC): the validator itself must see the partial record, or the missing records. */
static void test_truncated_body_consistent_header(void **state)
{
    (void)state;
    struct membuf bin;
    small_bin(&bin);
    const uint8_t *body = bin.data + TRACE_HEADER_SIZE;
    size_t blen = bin.len - TRACE_HEADER_SIZE;
    struct trace_header full;
    trace_header_decode(bin.data, &full);

    /* record starts, from the decoder */
    size_t starts[64], nrec = 0;
    struct trace_rec r;
    for (const uint8_t *p = body, *next; p < body + blen; p = next) {
        assert_true(nrec < 64);
        starts[nrec++] = (size_t)(p - body);
        next = trace_decode(p, body + blen, &r);
        assert_non_null(next);
    }
    assert_int_equal(nrec, full.n_records);

    uint8_t img[4096];
    for (size_t cut = 1; cut < blen; cut++) { /* (cut 0 with 0 records is a valid empty trace) */
        struct trace_header h = full;
        h.body_bytes = cut;
        h.body_crc = trace_crc32c(0, body, cut);
        /* keep the header's counts plausible for its size, so check_header passes */
        if (h.n_records > cut) {
            h.n_records = cut;
            h.n_ops = h.n_ops > cut ? cut : h.n_ops;
            h.n_objects = h.n_objects > cut ? (uint32_t)cut : h.n_objects;
        }
        trace_header_encode(&h, img);
        memcpy(img + TRACE_HEADER_SIZE, body, cut);
        size_t rec = 0;
        while (rec + 1 < nrec && starts[rec + 1] <= cut)
            rec++;
        if (starts[rec] == cut) /* cut on a record boundary: records missing */
            expect_refused_at(img, TRACE_HEADER_SIZE + cut, (long)(TRACE_HEADER_SIZE + cut), "the header promises");
        else
            expect_refused_at(img, TRACE_HEADER_SIZE + cut, (long)(TRACE_HEADER_SIZE + starts[rec]),
                              "truncated record (the file ends inside it)");
    }
    membuf_free(&bin);
}

static void test_flip_every_bit(void **state)
{
    (void)state;
    struct membuf bin;
    small_bin(&bin);
    uint8_t img[4096];
    assert_true(bin.len <= sizeof img);
    char path[PATH_MAX];
    scratch(path, sizeof path, "flip", ".bin");
    unsigned by_body_crc = 0, by_header_crc = 0, by_record = 0;
    for (size_t i = 0; i < bin.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(img, bin.data, bin.len);
            img[i] ^= (uint8_t)(1u << bit);
            write_bytes(path, img, bin.len);
            struct trace t;
            struct trace_summary s;
            char err[TRACE_ERR_LEN];
            if (open_valid(path, &t, &s, err) == 0) {
                trace_close(&t);
                fail_msg("flip of bit %d of byte %zu accepted", bit, i);
            }
            if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, ": byte "))
                fail_msg("flip of bit %d of byte %zu: unlocated error: %s", bit, i, err);
            if (i < 8)
                assert_contains(err, "bad magic");
            else if (i < 10)
                assert_contains(err, "format version");
            else if (i < TRACE_HEADER_SIZE) {
                assert_contains(err, "header checksum mismatch");
                by_header_crc++;
            } else if (strstr(err, "body checksum mismatch"))
                by_body_crc++;
            else
                by_record++;
        }
    }
    /* Header flips past the version are all the CRC's catch; and some body flips
     * leave a structurally valid trace that only the body CRC refuses. */
    assert_int_equal(by_header_crc, (TRACE_HEADER_SIZE - 10) * 8);
    assert_true(by_body_crc > 0);
    assert_true(by_record > 0);
    assert_int_equal(by_body_crc + by_record, (bin.len - TRACE_HEADER_SIZE) * 8);
    membuf_free(&bin);
}

/* Recompute the header CRC of a header edited in place. */
static void put_header_crc(uint8_t *img)
{
    uint32_t c = trace_crc32c(0, img, 60);
    for (int i = 0; i < 4; i++)
        img[60 + i] = (uint8_t)(c >> (8 * i));
}

static void test_bad_version_and_magic(void **state)
{
    (void)state;
    struct membuf bin;
    small_bin(&bin);
    uint8_t img[4096];
    struct trace_header h;
    trace_header_decode(bin.data, &h);

    memcpy(img, bin.data, bin.len);
    h.version = 2;
    trace_header_encode(&h, img); /* correct header CRC */
    expect_refused_at(img, bin.len, 8, "format version 2 is newer than this build");
    h.version = 0;
    trace_header_encode(&h, img);
    expect_refused_at(img, bin.len, 8, "format version 0 is not supported");
    /* version 2 announced by a file too short for a whole header: still "newer" */
    h.version = 2;
    trace_header_encode(&h, img);
    expect_refused_at(img, 12, 8, "newer");

    h.version = TRACE_VERSION;
    h.header_size = 128;
    trace_header_encode(&h, img);
    expect_refused_at(img, bin.len, 10, "header size 128");
    h.header_size = TRACE_HEADER_SIZE;
    h.flags = 4;
    trace_header_encode(&h, img);
    expect_refused_at(img, bin.len, 12, "unknown flags 0x4");
    h.flags = 0;

    memcpy(img, bin.data, bin.len);
    memcpy(img, "AMTRACX\0", 8);
    expect_refused_at(img, bin.len, 0, "bad magic");
    expect_refused_at("\x7f" "ELF\x02\x01\x01\x00\x00\x00", 10, 0, "bad magic");
    expect_refused_at("\x89PNG\r\n\x1a\n", 8, 0, "bad magic");
    for (size_t len = 1; len < 8; len++) /* every proper prefix of the magic */
        expect_refused_at(TRACE_MAGIC, len, (long)len, "truncated header");
    expect_refused_at("AMTR", 4, 4, "truncated header (4 of 64 bytes)");
    expect_refused_at("", 0, 0, "truncated header (0 of 64 bytes)");

    /* reserved bytes 52..59 must be zero, even under a correct header CRC */
    for (int i = 52; i < 60; i++) {
        memcpy(img, bin.data, bin.len);
        img[i] = 0x20;
        put_header_crc(img);
        expect_refused_at(img, bin.len, i, "reserved header byte is not zero");
    }

    /* header CRC mismatch */
    memcpy(img, bin.data, bin.len);
    img[61] ^= 0xff;
    expect_refused_at(img, bin.len, 60, "header checksum mismatch");
    membuf_free(&bin);
}

/* ---------------------------------------------------------------- corruption: semantic */

static void test_builder_matches_writer(void **state)
{
    (void)state;
    /* the hand encoder must produce exactly what the writer does, or the semantic
     * tests below would be testing the encoder */
    struct bb b = { 0 };
    REC(&b, TR_MALLOC, 0, 0, 300);
    REC(&b, TR_CALLOC, 0, 1, 3, 1000);
    bb_rec0(&b, TR_THREAD_START, 20);
    REC(&b, TR_REALLOC, 20, 0, 70000);
    bb_rec0(&b, TR_THREAD_START, 1);
    REC(&b, TR_ALIGNED, 1, 2, 16, 5);
    bb_phase(&b, 0, "steady");
    REC(&b, TR_IDLE, 0, 1500);
    REC(&b, TR_FREE, 1, 1);
    bb_rec0(&b, TR_THREAD_EXIT, 1);
    REC(&b, TR_FREE, 0, 0);
    uint8_t img[TRACE_HEADER_SIZE + sizeof b.body];
    struct trace_header h = bb_header(&b, 3, 21);
    size_t n = bb_image(&b, &h, img);
    struct membuf bin;
    text_to_bin(SMALL_TEXT, &bin);
    assert_int_equal(n, bin.len);
    assert_memory_equal(img, bin.data, n);
    membuf_free(&bin);
}

static void test_bad_object_ops(void **state)
{
    (void)state;
    struct bb b = { 0 };
    long off;

    /* free of an id never allocated */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    bb_expect_valid(&b, 1, 1);
    off = REC(&b, TR_FREE, 0, 1);
    bb_expect_refused(&b, 2, 1, off, "free of object 1, which is not live (double free or never allocated)");

    /* double free */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    REC(&b, TR_FREE, 0, 0);
    bb_expect_valid(&b, 1, 1);
    off = REC(&b, TR_FREE, 0, 0);
    bb_expect_refused(&b, 1, 1, off, "free of object 0, which is not live (double free");

    /* malloc / calloc / aligned of a live id */
    static const unsigned kinds[] = { TR_MALLOC, TR_CALLOC, TR_ALIGNED };
    static const char *const msgs[] = { "malloc of object 0, which is still live",
                                        "calloc of object 0, which is still live",
                                        "aligned of object 0, which is still live" };
    for (int k = 0; k < 3; k++) {
        memset(&b, 0, sizeof b);
        REC(&b, TR_CALLOC, 0, 0, 2, 4);
        if (kinds[k] == TR_MALLOC)
            off = REC(&b, TR_MALLOC, 0, 0, 8);
        else if (kinds[k] == TR_CALLOC)
            off = REC(&b, TR_CALLOC, 0, 0, 1, 8);
        else
            off = REC(&b, TR_ALIGNED, 0, 0, 4, 8);
        bb_expect_refused(&b, 1, 1, off, msgs[k]);
    }

    /* realloc of a dead id (freed), and of one never allocated */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    REC(&b, TR_REALLOC, 0, 0, 16);
    REC(&b, TR_FREE, 0, 0);
    bb_expect_valid(&b, 1, 1);
    off = REC(&b, TR_REALLOC, 0, 0, 32);
    bb_expect_refused(&b, 1, 1, off, "realloc of object 0, which is not live");
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    off = REC(&b, TR_REALLOC, 0, 1, 32);
    bb_expect_refused(&b, 2, 1, off, "realloc of object 1, which is not live");

    /* id out of range of the header's n_objects (which may not exceed n_records) */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    off = REC(&b, TR_MALLOC, 0, 1, 8);
    bb_expect_valid(&b, 2, 1);
    bb_expect_refused(&b, 1, 1, off, "object id 1 out of range (the header says 1 objects)");
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    off = REC(&b, TR_MALLOC, 0, 4000000000u, 8);
    bb_expect_refused(&b, 2, 1, off, "object id 4000000000 out of range (the header says 2 objects)");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_FREE, 0, 1);
    bb_expect_refused(&b, 1, 1, off, "object id 1 out of range");
}

static void test_bad_threads(void **state)
{
    (void)state;
    struct bb b = { 0 };
    long off;

    /* thread out of range of the header's n_threads */
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 1);
    off = bb_rec0(&b, TR_THREAD_START, 3);
    bb_expect_valid(&b, 0, 4);
    bb_expect_refused(&b, 0, 3, off, "thread 3 out of range (the header says 3 threads)");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_MALLOC, 20, 0, 1); /* varint thread */
    bb_expect_refused(&b, 1, 20, off, "thread 20 out of range");

    /* op on a thread never started */
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_MALLOC, 1, 0, 8);
    bb_expect_refused(&b, 1, 2, off, "malloc on thread 1, which is not running");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_MALLOC, 17, 0, 8);
    bb_expect_refused(&b, 1, 18, off, "malloc on thread 17, which is not running");

    /* op after exit (free of a live object, from an exited thread) */
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 1);
    REC(&b, TR_MALLOC, 1, 0, 8);
    bb_rec0(&b, TR_THREAD_EXIT, 1);
    REC(&b, TR_FREE, 0, 0); /* the control: freeing it on a running thread is fine */
    bb_expect_valid(&b, 1, 2);
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 1);
    REC(&b, TR_MALLOC, 1, 0, 8);
    bb_rec0(&b, TR_THREAD_EXIT, 1);
    off = REC(&b, TR_FREE, 1, 0);
    bb_expect_refused(&b, 1, 2, off, "free on thread 1, which is not running");
    /* thread 0 can exit too; then its ops are refused */
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_EXIT, 0);
    off = REC(&b, TR_MALLOC, 0, 0, 8);
    bb_expect_refused(&b, 1, 1, off, "malloc on thread 0, which is not running");

    /* start while running (thread 0 runs from the start), exit while not running */
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_THREAD_START, 0);
    bb_expect_refused(&b, 0, 1, off, "thread 0 started while running");
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 2);
    off = bb_rec0(&b, TR_THREAD_START, 2);
    bb_expect_refused(&b, 0, 3, off, "thread 2 started while running");
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_THREAD_EXIT, 2);
    bb_expect_refused(&b, 0, 3, off, "thread 2 exits but is not running");
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 2);
    bb_rec0(&b, TR_THREAD_EXIT, 2);
    bb_rec0(&b, TR_THREAD_START, 2); /* a restart is allowed */
    bb_rec0(&b, TR_THREAD_EXIT, 2);
    bb_expect_valid(&b, 0, 3);
    off = bb_rec0(&b, TR_THREAD_EXIT, 2);
    bb_expect_refused(&b, 0, 3, off, "thread 2 exits but is not running");

    /* header thread count 0 or beyond the limit */
    memset(&b, 0, sizeof b);
    REC(&b, TR_IDLE, 0, 1);
    bb_expect_refused(&b, 0, 0, 36, "thread count 0 out of range");
    bb_expect_refused(&b, 0, TRACE_MAX_THREADS + 1, 36, "thread count 65537 out of range");
    /* a thread escape past the limit does not decode */
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_THREAD_START, TRACE_MAX_THREADS);
    bb_expect_refused(&b, 0, TRACE_MAX_THREADS, off, "malformed record (kind byte 0xf6)");
}

static void test_bad_header_counts(void **state)
{
    (void)state;
    struct bb b = { 0 };
    REC(&b, TR_MALLOC, 0, 0, 8);
    REC(&b, TR_IDLE, 0, 5);
    REC(&b, TR_FREE, 0, 0);
    bb_expect_valid(&b, 1, 1);
    uint8_t img[TRACE_HEADER_SIZE + sizeof b.body];
    struct trace_header h;
    size_t n;
    long end = (long)(TRACE_HEADER_SIZE + b.len);

    h = bb_header(&b, 1, 1);
    h.n_records = 2;
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, end, "the header promises 2 records (2 ops), the body holds 3 (2 ops)");
    h = bb_header(&b, 1, 1);
    h.n_records = 4;
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, end, "the header promises 4 records");
    h = bb_header(&b, 1, 1);
    h.n_ops = 1;
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, end, "the header promises 3 records (1 ops), the body holds 3 (2 ops)");
    h = bb_header(&b, 1, 1);
    h.n_ops = 4; /* more ops than records */
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, 16, "inconsistent counts");
    h = bb_header(&b, 1, 1);
    h.n_records = b.len + 1; /* more records than bytes */
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, 16, "inconsistent counts");
    h = bb_header(&b, 4, 1); /* more objects than records */
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, 16, "inconsistent counts");

    /* body_bytes disagreeing with the file */
    h = bb_header(&b, 1, 1);
    h.body_bytes = b.len + 1;
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, (long)n, "truncated: the header promises 8 body bytes, the file holds 7");
    /* trailing garbage: the file is longer than header + body */
    h = bb_header(&b, 1, 1);
    n = bb_image(&b, &h, img);
    memcpy(img + n, "\x01\x00\x08", 3);
    expect_refused_at(img, n + 3, (long)n, "3 bytes of trailing garbage after the body");
    /* body CRC wrong */
    h = bb_header(&b, 1, 1);
    h.body_crc ^= 1;
    n = bb_image(&b, &h, img);
    expect_refused_at(img, n, TRACE_HEADER_SIZE, "body checksum mismatch");
}

static void test_bad_record_fields(void **state)
{
    (void)state;
    struct bb b;
    long off;
    const uint64_t big = ((uint64_t)1 << 48) + 1;

    /* realloc to 0 */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    off = REC(&b, TR_REALLOC, 0, 0, 0);
    bb_expect_refused(&b, 1, 1, off, "realloc to size 0 (record it as a free");

    /* calloc whose nmemb*size overflows 64 bits, and one past 2^48 without overflowing */
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_CALLOC, 0, 0, (uint64_t)1 << 33, (uint64_t)1 << 33);
    bb_expect_refused(&b, 1, 1, off, "calloc size exceeds the v1 limit of 2^48 bytes");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_CALLOC, 0, 0, UINT64_MAX, 2);
    bb_expect_refused(&b, 1, 1, off, "calloc size exceeds");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_CALLOC, 0, 0, ((uint64_t)1 << 47) + 1, 2);
    bb_expect_refused(&b, 1, 1, off, "calloc size exceeds");
    memset(&b, 0, sizeof b);
    REC(&b, TR_CALLOC, 0, 0, (uint64_t)1 << 47, 2); /* exactly 2^48: fine */
    REC(&b, TR_CALLOC, 0, 1, UINT64_MAX, 0);        /* 0 bytes: fine */
    bb_expect_valid(&b, 2, 1);

    /* size > 2^48 on each sized kind */
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_MALLOC, 0, 0, big);
    bb_expect_refused(&b, 1, 1, off, "malloc size exceeds the v1 limit");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_MALLOC, 0, 0, UINT64_MAX);
    bb_expect_refused(&b, 1, 1, off, "malloc size exceeds the v1 limit");
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_ALIGNED, 0, 0, 3, big);
    bb_expect_refused(&b, 1, 1, off, "aligned size exceeds");
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    off = REC(&b, TR_REALLOC, 0, 0, big);
    bb_expect_refused(&b, 1, 1, off, "realloc size exceeds");

    /* alignment beyond 2^30 does not decode */
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_ALIGNED, 0, 0, 31, 8);
    bb_expect_refused(&b, 1, 1, off, "malformed record (kind byte 0x04)");

    /* markers on a thread other than 0 */
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 1);
    off = bb_phase(&b, 1, "p");
    bb_expect_refused(&b, 0, 2, off, "phase markers must be on thread 0");
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 1);
    off = REC(&b, TR_IDLE, 1, 5);
    bb_expect_refused(&b, 0, 2, off, "idle markers must be on thread 0");
    memset(&b, 0, sizeof b);
    off = bb_phase(&b, 16, "p");
    bb_expect_refused(&b, 0, 17, off, "must be on thread 0");

    /* phase names and idle lengths */
    memset(&b, 0, sizeof b);
    off = bb_phase(&b, 0, "bad name");
    bb_expect_refused(&b, 0, 1, off, "phase name may hold only letters");
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_PHASE, 0);
    bb_varint(&b, 0);
    bb_expect_refused(&b, 0, 1, off, "malformed record (kind byte 0x08)");
    memset(&b, 0, sizeof b);
    bb_phase(&b, 0, "0123456789012345678901234567890123456789012345678901234567890123"); /* 64: fine */
    bb_expect_valid(&b, 0, 1);
    off = bb_phase(&b, 0, "01234567890123456789012345678901234567890123456789012345678901234"); /* 65 */
    bb_expect_refused(&b, 0, 1, off, "malformed record (kind byte 0x08)");
    memset(&b, 0, sizeof b);
    REC(&b, TR_IDLE, 0, TRACE_MAX_IDLE_MS);
    bb_expect_valid(&b, 0, 1);
    off = REC(&b, TR_IDLE, 0, TRACE_MAX_IDLE_MS + 1);
    bb_expect_refused(&b, 0, 1, off, "idle longer than one day");

    /* unknown kinds */
    static const uint8_t kinds[] = { 0x00, 0x0a, 0x0b, 0x0f, 0x1c };
    for (size_t i = 0; i < sizeof kinds; i++) {
        memset(&b, 0, sizeof b);
        REC(&b, TR_IDLE, 0, 1);
        off = (long)(TRACE_HEADER_SIZE + b.len);
        bb_byte(&b, kinds[i]);
        bb_byte(&b, 0);
        char want[64];
        snprintf(want, sizeof want, "malformed record (kind byte 0x%02x)", kinds[i]);
        bb_expect_refused(&b, 0, 2, off, want);
    }
}

static void test_non_minimal_varints(void **state)
{
    (void)state;
    struct bb b;
    long off;
    /* id 0 as 80 00 */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    off = bb_rec0(&b, TR_FREE, 0);
    bb_byte(&b, 0x80);
    bb_byte(&b, 0x00);
    bb_expect_refused(&b, 1, 1, off, "malformed record (kind byte 0x05)");
    /* size 1 as 81 80 00, in the middle of the body */
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_MALLOC, 0);
    bb_byte(&b, 0);
    bb_byte(&b, 0x81);
    bb_byte(&b, 0x80);
    bb_byte(&b, 0x00);
    REC(&b, TR_FREE, 0, 0);
    bb_expect_refused(&b, 1, 1, off, "malformed record (kind byte 0x01)");
    /* the escaped thread number, non-minimal */
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_THREAD_START, 20);
    b.len--;
    bb_byte(&b, 0x94);
    bb_byte(&b, 0x00);
    bb_expect_refused(&b, 0, 21, off, "malformed record (kind byte 0xf6)");
    /* the escape with a thread below 15 is not canonical: malformed */
    for (uint8_t th = 0; th < 15; th++) {
        memset(&b, 0, sizeof b);
        off = bb_rec0(&b, TR_THREAD_START, 20);
        b.body[b.len - 1] = th;
        bb_expect_refused(&b, 0, 21, off, "malformed record (kind byte 0xf6)");
    }
    memset(&b, 0, sizeof b);
    bb_rec0(&b, TR_THREAD_START, 15); /* f6 0f: the smallest escaped thread */
    assert_int_equal(b.body[1], 15);
    bb_expect_valid(&b, 0, 16);
    /* 65-bit values: an 11th byte, or a 10th byte above 1 */
    memset(&b, 0, sizeof b);
    off = bb_rec0(&b, TR_IDLE, 0);
    for (int i = 0; i < 9; i++)
        bb_byte(&b, 0xff);
    bb_byte(&b, 0x02);
    bb_expect_refused(&b, 0, 1, off, "malformed record (kind byte 0x09)");
    /* id above 2^32-1 */
    memset(&b, 0, sizeof b);
    off = REC(&b, TR_MALLOC, 0, (uint64_t)UINT32_MAX + 1, 8);
    bb_expect_refused(&b, 1, 1, off, "malformed record (kind byte 0x01)");
    /* the same values, minimal, are fine: the control */
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 1);
    REC(&b, TR_FREE, 0, 0);
    bb_rec0(&b, TR_THREAD_START, 20);
    REC(&b, TR_IDLE, 0, TRACE_MAX_IDLE_MS);
    bb_expect_valid(&b, 1, 21);
}

/* A record cut inside a multi-byte varint is reported as truncated, not malformed. */
static void test_truncated_inside_varint(void **state)
{
    (void)state;
    struct bb b;
    memset(&b, 0, sizeof b);
    REC(&b, TR_MALLOC, 0, 0, 8);
    long off = REC(&b, TR_MALLOC, 0, 1, 300); /* 01 01 ac 02 */
    b.len--;                                  /* ... 01 01 ac */
    bb_expect_refused(&b, 2, 1, off, "truncated record (the file ends inside it)");
}

/* ---------------------------------------------------------------- text errors */

static void expect_text_error(const char *text, const char *where, const char *what)
{
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN] = "";
    int rc = trace_text_parse("bad.txt", text, strlen(text), &w, err);
    tw_free(&w);
    if (rc == 0)
        fail_msg("parse of \"%s\" succeeded, expected \"%s\"", text, what);
    if (strncmp(err, where, strlen(where)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, where);
    assert_contains(err, what);
}

static void test_text_errors(void **state)
{
    (void)state;
#define P "# comment\n\n" /* the bad line is line 3 */
    static const struct {
        const char *text, *what;
    } cases[] = {
        { P "t0 frob 1\n", "unknown operation 'frob'" },
        { P "t0\n", "unknown operation ''" },
        { P "t0 malloc 1\n", "malloc needs 2 arguments" },
        { P "t0 calloc 1 2 # 3\n", "calloc needs 3 arguments" },
        { P "t0 free\n", "free needs 1 arguments" },
        { P "t0 malloc 1 2 3\n", "malloc takes 2 arguments, found more" },
        { P "t1 start now\n", "start takes 0 arguments, found more" },
        { P "t0 malloc x 5\n", "malloc: 'x' is not an unsigned integer" },
        { P "t0 malloc 1 -5\n", "malloc: '-5' is not an unsigned integer" },
        { P "t0 malloc 1 0x10\n", "'0x10' is not an unsigned integer" },
        { P "t0 malloc 1 18446744073709551616\n", "'18446744073709551616' is not an unsigned integer" },
        { P "t0 malloc 1 8#c\n", "'8#c' is not an unsigned integer" },
        { P "t0 free 9\n", "free of object 9, which is not live (double free or never allocated)" },
        { P "t0 realloc 9 5\n", "realloc of object 9, which is not live" },
        { P "t0 aligned 1 3 10\n", "alignment 3 is not a power of two" },
        { P "t0 aligned 1 0 10\n", "alignment 0 is not a power of two" },
        { P "t0 aligned 1 2147483648 10\n", "alignment 2147483648 is not a power of two up to 1 GiB" },
        { P "x0 malloc 1 1\n", "expected a thread (t0, t1, ...), 'idle' or 'phase', got 'x0'" },
        { P "t malloc 1 1\n", "expected a thread (t0, t1, ...), 'idle' or 'phase', got 't'" },
        { P "t-1 malloc 1 1\n", "got 't-1'" },
        { P "tx start\n", "got 'tx'" },
        { P "T0 start\n", "got 'T0'" },
        { P "t65536 start\n", "thread t65536 out of range (t0..t65535)" },
        { P "t99999999999999999999 start\n", "got 't99999999999999999999'" }, /* not a u64 */
        { P "malloc 1 1\n", "got 'malloc'" },
        { P "idle\n", "idle needs exactly one argument" },
        { P "idle 5 6\n", "idle needs exactly one argument" },
        { P "idle soon\n", "idle: 'soon' is not a number of milliseconds" },
        { P "idle 86400001\n", "idle longer than one day" },
        { P "phase\n", "phase needs exactly one argument" },
        { P "phase a b\n", "phase needs exactly one argument" },
        { P "phase a/b\n", "phase name may hold only letters, digits and _ - . :" },
        { P "phase 01234567890123456789012345678901234567890123456789012345678901234\n",
          "phase name must be 1..64 characters" },
        { P "t1 exit\n", "thread 1 exits but is not running" },
        { P "t0 start\n", "thread 0 started while running" },
        { P "t0 realloc 1 0\n", "realloc to size 0" }, /* the field rules come before liveness */
        { "t0 malloc 1 1\n\nt0 realloc 1 0\n", "realloc to size 0" },
        { P "t0 malloc 1 281474976710657\n", "malloc size exceeds the v1 limit of 2^48 bytes" },
        { P "t0 calloc 1 4294967296 4294967296\n", "calloc size exceeds" },
        { "t0 malloc 1 8\n# c\nt0 malloc 1 9\n", "malloc of object 1, which is still live" },
        { "t0 malloc 1 8\n# c\nt0 calloc 1 1 9\n", "calloc of object 1, which is still live" },
        { "# c\r\n\r\nt0 frob\r\n", "unknown operation 'frob'" },
    };
#undef P
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_text_error(cases[i].text, "bad.txt:3: ", cases[i].what);

    /* a NUL byte (not strlen-able: call directly) */
    struct trace_writer w;
    tw_init(&w);
    char err[TRACE_ERR_LEN];
    static const char nul[] = "t0 malloc 1 8\nt0 free\0 1\n";
    assert_int_not_equal(trace_text_parse("nul.txt", nul, sizeof nul - 1, &w, err), 0);
    tw_free(&w);
    assert_string_equal(err, "nul.txt:2: NUL byte in a text trace");

    /* line numbers count every line, past the first */
    expect_text_error("t0 malloc 1 1\nt0 malloc 2 2\nt0 free 1\nt0 free 2\nt0 free 2\n", "bad.txt:5: ", "not live");
    /* the last line without a newline */
    expect_text_error("t0 malloc 1 1\nt0 oops", "bad.txt:2: ", "unknown operation 'oops'");

    /* and through trace_open, the error names the file and line */
    char path[PATH_MAX];
    scratch(path, sizeof path, "bad", ".txt");
    write_bytes(path, "# x\nt0 malloc 1 8\nt0 free 2\n", 28);
    struct trace t;
    struct trace_summary s;
    assert_int_not_equal(open_valid(path, &t, &s, err), 0);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s:3: free of object 2", path);
    assert_true(strncmp(err, want, strlen(want)) == 0);
}

/* ---------------------------------------------------------------- writer API directly */

static void test_writer_api(void **state)
{
    (void)state;
    struct trace_writer w;
    tw_init(&w);
    /* ids are arbitrary; dense ids are reused LIFO */
    assert_int_equal(tw_malloc(&w, 0, 1000, 1), 0);
    assert_int_equal(tw_malloc(&w, 0, 2000, 1), 0);
    assert_int_equal(tw_free_obj(&w, 0, 1000), 0);
    assert_int_equal(tw_free_obj(&w, 0, 2000), 0);
    assert_int_equal(tw_malloc(&w, 0, 5, 1), 0);
    assert_int_equal(w.n_objects, 2);
    /* refusals leave the error in w.err */
    assert_int_equal(tw_free_obj(&w, 0, 1000), -1);
    assert_contains(w.err, "free of object 1000, which is not live");
    assert_int_equal(tw_thread_start(&w, TRACE_MAX_THREADS), -1);
    assert_contains(w.err, "thread 65536 out of range");
    assert_int_equal(tw_phase(&w, "", 0), -1);
    assert_contains(w.err, "phase name must be 1..64 characters");
    assert_int_equal(tw_aligned(&w, 0, 9, 48, 8), -1);
    assert_contains(w.err, "alignment 48 is not a power of two");
    assert_int_equal(tw_idle(&w, TRACE_MAX_IDLE_MS + 1), -1);
    assert_int_equal(tw_realloc(&w, 0, 5, 0), -1);
    assert_contains(w.err, "realloc to size 0");
    /* a refused op on a thread not yet running writes nothing, not even the implicit start */
    uint64_t nrec = w.n_records;
    uint32_t nthr = w.n_threads;
    assert_int_equal(tw_free_obj(&w, 7, 123456), -1);
    assert_int_equal(tw_realloc(&w, 8, 123456, 5), -1);
    assert_int_equal(tw_malloc(&w, 9, 5, 1), -1); /* 5 is live */
    assert_contains(w.err, "malloc of object 5, which is still live");
    assert_int_equal(tw_calloc(&w, 9, 77, (uint64_t)1 << 40, (uint64_t)1 << 40), -1);
    assert_int_equal(tw_malloc(&w, TRACE_MAX_THREADS, 77, 1), -1);
    assert_contains(w.err, "thread 65536 out of range");
    assert_int_equal(w.n_records, nrec);
    assert_int_equal(w.n_threads, nthr);
    /* many ids: the hash table grows and shrinks by backward shift; every id stays findable */
    for (uint64_t i = 0; i < 5000; i++)
        assert_int_equal(tw_malloc(&w, 1, i * 0x9e3779b97f4a7c15ull + 7, i), 0);
    for (uint64_t i = 0; i < 5000; i += 2)
        assert_int_equal(tw_free_obj(&w, 0, i * 0x9e3779b97f4a7c15ull + 7), 0);
    for (uint64_t i = 1; i < 5000; i += 2)
        assert_int_equal(tw_realloc(&w, 2, i * 0x9e3779b97f4a7c15ull + 7, 3), 0);
    for (uint64_t i = 0; i < 5000; i += 2)
        assert_int_equal(tw_free_obj(&w, 0, i * 0x9e3779b97f4a7c15ull + 7), -1);
    for (uint64_t i = 1; i < 5000; i += 2)
        assert_int_equal(tw_free_obj(&w, 2, i * 0x9e3779b97f4a7c15ull + 7), 0);
    assert_int_equal(w.n_objects, 5001);
    struct membuf out;
    assert_int_equal(tw_finish(&w, &out), 0);
    tw_free(&w);
    struct trace_summary s;
    expect_valid_img(out.data, out.len, &s);
    membuf_free(&out);
    assert_int_equal(s.count[TR_MALLOC], 5003);
    assert_int_equal(s.count[TR_FREE], 5002);
    assert_int_equal(s.count[TR_THREAD_START], 2); /* t1, t2 implicitly */
    assert_int_equal(s.final_live_objects, 1);
    assert_int_equal(s.peak_live_objects, 5001);
    assert_int_equal(s.cross_thread_frees, 2500);
    assert_int_equal(s.cross_thread_reallocs, 2500);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct trace t;
    char err[TRACE_ERR_LEN];
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/does-not-exist", scratch_dir);
    assert_int_equal(trace_open(path, &t, err), TRACE_EIO);
    assert_contains(err, path);
    assert_contains(err, "cannot open");
    assert_int_equal(trace_open(scratch_dir, &t, err), TRACE_EIO); /* a directory */
    /* an invalid trace is -1, not TRACE_EIO */
    char bad[PATH_MAX];
    scratch(bad, sizeof bad, "eio", ".bin");
    write_bytes(bad, "AMTRACE", 7);
    assert_int_equal(trace_open(bad, &t, err), -1);
}

/* ---------------------------------------------------------------- the CLI */

static void cli_path(char *out, size_t n)
{
    const char *env = getenv("ALLOCMARK_BIN"); /* build/bin; build/asan/bin has no allocmark-trace */
    if (env && *env) {
        int len = snprintf(out, n, "%s/allocmark-trace", env);
        if (len > 0 && (size_t)len < n && access(out, X_OK) == 0)
            return;
    }
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0; /* build/tests or build/asan/tests */
            static const char *const rel[] = { "/../bin/allocmark-trace", "/../../bin/allocmark-trace" };
            for (int i = 0; i < 2; i++) {
                int len = snprintf(out, n, "%s%s", exe, rel[i]);
                if (len > 0 && (size_t)len < n && access(out, X_OK) == 0)
                    return;
            }
        }
    }
    snprintf(out, n, "build/bin/allocmark-trace");
}

/* Run the CLI with argv (NULL-terminated after argv[0]); return its exit status;
 * stdout and stderr land in the files named. */
static int run_cli(const char *const *args, const char *out_path, const char *err_path)
{
    char bin[PATH_MAX];
    cli_path(bin, sizeof bin);
    if (access(bin, X_OK) != 0)
        fail_msg("%s not found: build it (make all) or set ALLOCMARK_BIN", bin);
    char *argv[16];
    int argc = 0;
    argv[argc++] = bin;
    for (; args[argc - 1] && argc < 15; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_cli(void **state)
{
    (void)state;
    char good[PATH_MAX], bad[PATH_MAX], out[PATH_MAX], errp[PATH_MAX], txt[PATH_MAX], zst[PATH_MAX];
    scratch(good, sizeof good, "cli-good", ".bin");
    scratch(bad, sizeof bad, "cli-bad", ".bin");
    scratch(out, sizeof out, "cli", ".out");
    scratch(errp, sizeof errp, "cli", ".err");
    scratch(txt, sizeof txt, "cli", ".txt");
    scratch(zst, sizeof zst, "cli", ".zst");
    struct membuf bin;
    text_to_bin(SMALL_TEXT, &bin);
    write_bytes(good, bin.data, bin.len);
    bin.data[bin.len - 2] ^= 0x40; /* body damage */
    write_bytes(bad, bin.data, bin.len);
    bin.data[bin.len - 2] ^= 0x40;

    size_t n;
    char *o, *e;
    /* validate a bad file: status 2; stderr names the file and a byte offset */
    assert_int_equal(run_cli((const char *[]){ "validate", bad, NULL }, out, errp), 2);
    e = (char *)slurp(errp, &n);
    assert_contains(e, bad);
    assert_contains(e, ": byte ");
    free(e);
    /* a good one: status 0, "valid" on stdout, nothing on stderr */
    assert_int_equal(run_cli((const char *[]){ "validate", good, NULL }, out, errp), 0);
    o = (char *)slurp(out, &n);
    assert_contains(o, "valid (11 records, 6 ops)");
    free(o);
    e = (char *)slurp(errp, &n);
    assert_int_equal(n, 0);
    free(e);
    /* both: 2, and the good one is still reported valid */
    assert_int_equal(run_cli((const char *[]){ "validate", good, bad, NULL }, out, errp), 2);
    o = (char *)slurp(out, &n);
    assert_contains(o, good);
    free(o);
    /* a file that cannot be read is an I/O error (1), not an invalid trace (2) */
    char missing[PATH_MAX + 16];
    snprintf(missing, sizeof missing, "%s/nope.bin", scratch_dir);
    assert_int_equal(run_cli((const char *[]){ "validate", missing, NULL }, out, errp), 1);
    e = (char *)slurp(errp, &n);
    assert_contains(e, "cannot open");
    free(e);

    /* from-text: same bytes as the library's writer; .zst readable; to-text canonical */
    write_bytes(txt, SMALL_TEXT, strlen(SMALL_TEXT));
    char conv[PATH_MAX];
    scratch(conv, sizeof conv, "cli-conv", ".bin");
    assert_int_equal(run_cli((const char *[]){ "from-text", txt, conv, NULL }, out, errp), 0);
    uint8_t *c = slurp(conv, &n);
    assert_int_equal(n, bin.len);
    assert_memory_equal(c, bin.data, n);
    free(c);
    assert_int_equal(run_cli((const char *[]){ "from-text", txt, zst, NULL }, out, errp), 0);
    assert_int_equal(run_cli((const char *[]){ "to-text", zst, NULL }, out, errp), 0);
    o = (char *)slurp(out, &n);
    char *lib = file_to_text(good);
    assert_string_equal(o, lib);
    free(o);
    free(lib);
    /* from-text of bad text: status 2, NAME:LINE */
    write_bytes(txt, "t0 malloc 1 8\nt0 malloc 1 8\n", 28);
    assert_int_equal(run_cli((const char *[]){ "from-text", txt, conv, NULL }, out, errp), 2);
    e = (char *)slurp(errp, &n);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s:2: ", txt);
    assert_contains(e, want);
    free(e);
    /* info prints the summary */
    assert_int_equal(run_cli((const char *[]){ "info", good, NULL }, out, errp), 0);
    o = (char *)slurp(out, &n);
    assert_contains(o, "ops by kind         malloc 1 calloc 1 realloc 1 aligned 1 free 2");
    assert_contains(o, "peak live bytes     73005\n");
    free(o);
    assert_int_equal(run_cli((const char *[]){ "info", bad, NULL }, out, errp), 2);
    /* usage */
    assert_int_equal(run_cli((const char *[]){ "frobnicate", NULL }, out, errp), 1);
    membuf_free(&bin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_kinds),
        cmocka_unit_test(test_roundtrip_canonical_text),
        cmocka_unit_test(test_empty_trace),
        cmocka_unit_test(test_text_bom),
        cmocka_unit_test(test_zst),
        cmocka_unit_test(test_summary_exact),
        cmocka_unit_test(test_size_limit_boundary),
        cmocka_unit_test(test_truncate_every_length),
        cmocka_unit_test(test_truncated_body_consistent_header),
        cmocka_unit_test(test_flip_every_bit),
        cmocka_unit_test(test_bad_version_and_magic),
        cmocka_unit_test(test_builder_matches_writer),
        cmocka_unit_test(test_bad_object_ops),
        cmocka_unit_test(test_bad_threads),
        cmocka_unit_test(test_bad_header_counts),
        cmocka_unit_test(test_bad_record_fields),
        cmocka_unit_test(test_non_minimal_varints),
        cmocka_unit_test(test_truncated_inside_varint),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_writer_api),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup_dir, scratch_dir_teardown);
}
