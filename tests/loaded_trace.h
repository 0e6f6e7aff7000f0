/* loaded_trace.h - for the replay tests: write a text trace into the scratch
 * folder and open + validate it. Include after cmocka.h and scratch_dir.h. */
#ifndef ALLOCMARK_LOADED_TRACE_H
#define ALLOCMARK_LOADED_TRACE_H

#include <stdio.h>

#include "../harness/membuf.h"
#include "../harness/replay.h"
#include "../harness/trace.h"

struct loaded {
    char path[PATH_MAX + 64];
    struct trace t;
    struct trace_summary s;
};

/* Write text to a temp file and open + validate it as a trace. */
static inline void load_text(struct loaded *l, const char *name, const char *text)
{
    snprintf(l->path, sizeof l->path, "%s/%s.txt", scratch_dir, name);
    FILE *f = fopen(l->path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    char err[TRACE_ERR_LEN];
    if (trace_open(l->path, &l->t, err) != 0 || trace_validate(&l->t, &l->s, err) != 0)
        fail_msg("%s", err);
}

/* A text trace built line by line (for the big ones); frees b. */
static inline void load_membuf(struct loaded *l, const char *name, struct membuf *b)
{
    membuf_append(b, "", 1);
    assert_false(b->failed);
    load_text(l, name, (const char *)b->data);
    membuf_free(b);
}

static const struct replay_opts default_opts = { .touch = TOUCH_PAGES, .checkpoints = 1000 };

#endif
