/* raw.h - the recorder's raw event log: written by build/lib/libamrecord.so inside
 * the traced process, read by `allocmark-trace record` after it exits.
 *
 * One file per process image, PREFIX.<pid>.<n> (n counts exec images of one pid).
 * Layout: a 4 KiB file header, then chunks, back to back. Each chunk belongs to
 * one thread: slot 0 is its header (written before the chunk is handed out, so the
 * chunks can always be walked), the other slots are records in the thread's
 * program order. A thread's chunks double in size from RAW_CHUNK_MIN to
 * RAW_CHUNK_MAX, so a short thread wastes little and a busy one maps a new chunk
 * rarely. A chunk header whose magic is 0 ends the file's chunks. A record whose
 * first word is 0 was never written: the rest of that chunk is empty. The
 * recorder writes a record's first word last, so a process killed mid-record
 * leaves no half record.
 *
 * Timestamps are TSC ticks (rdtsc) shifted left by 8, the op in the low byte.
 * Allocation results are stamped after the call returns, frees before the call
 * starts: an address is then always released before another thread's stamp of
 * getting it back, so a merge by timestamp orders every reuse correctly. A realloc
 * writes two records (before: the old block is released; after: the result). */
#ifndef ALLOCMARK_RAW_H
#define ALLOCMARK_RAW_H

#include <stdint.h>

#define RAW_FILE_MAGIC 0x31474f4c4d41ull /* "AMLOG1" */
#define RAW_CHUNK_MAGIC 0x4b4e4843ull    /* "CHNK" */
#define RAW_VERSION 1
#define RAW_HEADER_BYTES 4096u
#define RAW_CHUNK_MIN (64u << 10)
#define RAW_CHUNK_MAX (2u << 20)
#define RAW_TS_SHIFT 8

/* One record, 32 bytes. */
struct raw_rec {
    uint64_t ts_op; /* tsc << 8 | op; 0 = unwritten */
    uint64_t a, b, c;
};


enum raw_op {
    RAW_MALLOC = 1,        /* a result, b size */
    RAW_CALLOC = 2,        /* a result, b nmemb, c elem size */
    RAW_ALIGNED = 3,       /* a result, b size, c alignment (as asked; 0 = page) */
    RAW_FREE = 4,          /* a pointer */
    RAW_REALLOC_BEGIN = 5, /* a old pointer, b new size (stamped before the call) */
    RAW_REALLOC_END = 6,   /* a result (stamped after the call) */
    RAW_THREAD_EXIT = 7,   /* the thread's last record (pthread key destructor) */
};

/* Chunk header: slot 0 of every chunk. */
struct raw_chunk_hdr {
    uint64_t magic; /* RAW_CHUNK_MAGIC, written last */
    uint32_t thread; /* per-process thread index, 0 = the first thread that allocated */
    uint32_t seq;    /* the thread's chunk number, 0, 1, 2, ... */
    uint64_t bytes;  /* the chunk's size, header included: a multiple of 4096 */
    uint64_t reserved;
};

/* The file header (offset 0, mapped shared by the recorder: the counters are
 * updated in place with atomic adds). */
struct raw_file_hdr {
    uint64_t magic; /* RAW_FILE_MAGIC */
    uint32_t version, chunk_max;
    uint64_t pid, ppid;
    uint64_t start_tsc;
    /* calls that were forwarded but not recorded: */
    uint64_t nested;      /* made while the thread was inside the recorder (a signal handler) */
    uint64_t after_exit;  /* made by a thread after its exit record (late libc frees) */
    uint64_t lost;        /* no chunk could be mapped (out of memory or disk) */
    uint64_t threads;     /* thread indexes handed out */
    char exe[256];        /* the program (/proc/self/exe), NUL-terminated */
};

#endif
