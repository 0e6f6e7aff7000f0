/* small_trace.h - the hand-written trace whose figures the replay and driver
 * tests know exactly: every op kind, a phase and an idle marker.
 * live bytes after each op: 64, 128, 264, 364 | 164 | 5164 (peak), 5100, 5000;
 * 8 ops, 10 records, peak 3 live objects, object 100 left live at the end. */
#ifndef ALLOCMARK_SMALL_TRACE_H
#define ALLOCMARK_SMALL_TRACE_H

static const char small_trace[] = "# every op kind, a phase and an idle marker\n"
                                  "t0 malloc 7 64\n"
                                  "t0 calloc 8 4 16\n"
                                  "t0 realloc 7 200\n"
                                  "t0 aligned 9 64 100\n"
                                  "phase steady\n"
                                  "t0 free 7\n"
                                  "idle 5\n"
                                  "t0 malloc 100 5000\n"
                                  "t0 free 8\n"
                                  "t0 free 9\n";

#endif
