/* opstream.h - the replay's pre-decoded form of a validated trace.
 *
 * Decoding varints costs more than some allocators' fast paths, so the replayer
 * decodes the trace into fixed 64-bit words before the measurement starts (and, for
 * traces too big for one buffer, between chunks, outside the timed region):
 *
 *   word0 = kind (bits 0-2) | id (bits 3-31) | size (bits 32-63)
 *   kind TR_MALLOC, TR_REALLOC, TR_FREE   one word (size 0 for free)
 *   kind TR_CALLOC                        size = element size; word1 = nmemb
 *   kind TR_ALIGNED                       word1 = alignment
 *   kind OPS_ESCAPE (0)                   word1 = byte offset of the record in the
 *                                         trace: markers, thread records, and ops
 *                                         whose id or sizes do not fit the fields
 */
#ifndef ALLOCMARK_OPSTREAM_H
#define ALLOCMARK_OPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define OPS_ESCAPE 0u
#define OPS_ID_BITS 29
#define OPS_ID_MAX (((uint64_t)1 << OPS_ID_BITS) - 1)

static inline unsigned ops_kind(uint64_t w) { return (unsigned)(w & 7); }
static inline uint64_t ops_id(uint64_t w) { return (w >> 3) & OPS_ID_MAX; }
static inline uint64_t ops_size(uint64_t w) { return w >> 32; }

/* Decode records from *p (validated trace body, base = start of the file) into
 * buf until the body ends or fewer than 2 words of room remain. Advances *p and
 * returns the number of words written. */
size_t opstream_decode(const uint8_t **p, const uint8_t *end, const uint8_t *base, uint64_t *buf, size_t cap);

#endif
