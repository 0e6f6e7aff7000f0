/* gen_test_util.h - for the generator tests: run a spec (text in memory, or a
 * shipped file) through a generator into a validated, opened trace, and walk
 * its records. Include after cmocka.h and scratch_dir.h (whose group setup
 * makes the folder the traces are written to). */
#ifndef ALLOCMARK_GEN_TEST_UTIL_H
#define ALLOCMARK_GEN_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

#include "../harness/gen.h"
#include "../harness/trace.h"

/* Generate spec text (named `name` in messages) at `scale` into scratch_dir/name.trace,
 * open and validate it. Returns 0, or -1 with err holding the message. */
static inline int gen_text_to_trace(const char *name, const char *text, double scale, struct trace *t,
                                    struct trace_summary *s, char *err)
{
    struct spec sp;
    struct trace_writer w;
    char path[PATH_MAX + 700];
    int rc = -1;
    if (spec_parse(name, text, strlen(text), &sp) != 0) {
        snprintf(err, SPEC_ERR_LEN, "%s", sp.err);
        spec_free(&sp);
        return -1;
    }
    tw_init(&w);
    if (gen_run(&sp, &w, scale, 0, 0, 0, err) == 0) {
        snprintf(path, sizeof path, "%s/%.600s.trace", scratch_dir, name);
        if (tw_write_file(&w, path) != 0)
            snprintf(err, SPEC_ERR_LEN, "%s", w.err);
        else if (trace_open(path, t, err) != 0)
            ;
        else if (trace_validate(t, s, err) != 0)
            trace_close(t);
        else
            rc = 0;
    }
    tw_free(&w);
    spec_free(&sp);
    return rc;
}

/* The same for a spec file (a shipped workload). */
static inline int gen_file_to_trace(const char *spec_path, double scale, struct trace *t, struct trace_summary *s,
                                    char *err)
{
    FILE *f = fopen(spec_path, "r");
    if (!f) {
        snprintf(err, SPEC_ERR_LEN, "%s: cannot open", spec_path);
        return -1;
    }
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *base = strrchr(spec_path, '/');
    return gen_text_to_trace(base ? base + 1 : spec_path, text, scale, t, s, err);
}

/* Generate or fail the test, naming the spec. */
static inline void gen_must(const char *name, const char *text, double scale, struct trace *t, struct trace_summary *s)
{
    char err[SPEC_ERR_LEN];
    if (gen_text_to_trace(name, text, scale, t, s, err) != 0)
        fail_msg("%s: %s", name, err);
}

/* The spec must be refused with `message` in the error (file:line: key: reason). */
static inline void gen_expect_error(const char *text, const char *message)
{
    struct trace t;
    struct trace_summary s;
    char err[SPEC_ERR_LEN] = "";
    if (gen_text_to_trace("bad.wl", text, 0.01, &t, &s, err) == 0) {
        trace_close(&t);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(err, message))
        fail_msg("spec:\n%s\nexpected `%s` in: %s", text, message, err);
}

/* Each spec (without a seed line) with seed 7 twice gives the same bytes, and
 * with seed 8 other bytes. */
static inline void gen_check_determinism(const char *const *specs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char text[1024];
        struct trace a, b, c;
        struct trace_summary s;
        snprintf(text, sizeof text, "%sseed = 7\n", specs[i]);
        gen_must("det-a", text, 1, &a, &s);
        gen_must("det-b", text, 1, &b, &s);
        snprintf(text, sizeof text, "%sseed = 8\n", specs[i]);
        gen_must("det-c", text, 1, &c, &s);
        assert_int_equal(a.size, b.size);
        assert_memory_equal(a.data, b.data, a.size);
        if (a.size == c.size && memcmp(a.data, c.data, a.size) == 0)
            fail_msg("seed 8 gave the same trace as seed 7: %s", specs[i]);
        trace_close(&a);
        trace_close(&b);
        trace_close(&c);
    }
}

/* Call fn(rec, arg) on every record of an opened, validated trace. */
static inline void trace_each(const struct trace *t, void (*fn)(const struct trace_rec *, void *), void *arg)
{
    const uint8_t *p = trace_body(t), *end = trace_end(t);
    struct trace_rec r;
    while (p < end && (p = trace_decode(p, end, &r)) != NULL)
        fn(&r, arg);
}

#endif
