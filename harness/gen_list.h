/* gen_list.h - a spec value that is a list of sizes (`16, 24, 32, 4K`), for the
 * generators whose keys take one (sizes, aligned). */
#ifndef ALLOCMARK_GEN_LIST_H
#define ALLOCMARK_GEN_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

/* Parse `text`, the value of `key`: sizes separated by commas and/or spaces,
 * each in min..max, strictly increasing, at most `cap` of them. Returns the
 * count (>= 1), or -1 with the error set through gen_bad (file:line: key). */
int gen_size_list(struct gen *g, const char *key, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                  size_t cap);

#endif
