/* raw_read.h - read a raw log (raw.h) written by libamrecord.so: index its chunks
 * by thread and merge the threads' records into one stream by timestamp. */
#ifndef ALLOCMARK_RAW_READ_H
#define ALLOCMARK_RAW_READ_H

#include <stddef.h>
#include <stdint.h>

#include "raw.h"

struct raw_chunk_ref {
    uint32_t thread, seq;
    uint64_t off, bytes;
};

struct raw_log {
    const char *path;
    const uint8_t *data;
    size_t size;
    struct raw_file_hdr hdr;      /* a copy */
    struct raw_chunk_ref *chunks; /* by (thread, seq) */
    size_t n_chunks;
    uint32_t n_threads;           /* highest thread index + 1 */
};

/* Map and index PATH. 0, or -1 with err ("PATH: problem") filled. */
int raw_open(const char *path, struct raw_log *l, char *err, size_t err_len);
void raw_close(struct raw_log *l);

/* The k-way merge: each thread's records are in program order in its chunks. */
struct raw_cursor {
    const struct raw_rec *p, *end; /* the rest of the current chunk */
    size_t next_chunk, last_chunk; /* chunk indexes still to read: [next, last) */
};

struct raw_merge {
    const struct raw_log *log;
    struct raw_cursor *cur; /* per thread */
    uint32_t *heap;         /* threads with records left, by (timestamp, thread) */
    uint32_t heap_len;
};

int raw_merge_init(struct raw_merge *m, const struct raw_log *l); /* 0 or -1 (memory) */
/* The next record in timestamp order: 1 (with *r and *thread), or 0 at the end. */
int raw_merge_next(struct raw_merge *m, struct raw_rec *r, uint32_t *thread);
void raw_merge_free(struct raw_merge *m);

#endif
