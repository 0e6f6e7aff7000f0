/* hist.h - log-linear latency histogram (HDR-style, fixed size, no allocation).
 *
 * Values below 256 get a bucket each. Above that, every power of two [2^e, 2^(e+1))
 * is cut into 128 equal buckets, so a bucket's width is at most 1/128 of its lower
 * bound. Reported percentiles are the bucket midpoint, hence within 1/256 of the
 * true order statistic (and exact below 256, and exact for the min and max ranks).
 *
 * One histogram per thread and op type; merge them after the run. The struct is
 * ~58 KiB, so allocate it (os_map) rather than putting it on a thread's stack. */
#ifndef ALLOCMARK_HIST_H
#define ALLOCMARK_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 7424 /* 256 exact + 56 octaves (2^8 .. 2^63) * 128 */

struct hist {
    uint64_t count, min, max, sum; /* sum wraps modulo 2^64, like any uint64 */
    uint64_t bucket[HIST_BUCKETS];
};

void hist_reset(struct hist *h); /* min = UINT64_MAX when empty */

/* Bucket of v. OR-ing in 128 puts every v < 256 on e = 7, shift 0, where the
 * octave formula gives index v itself, so the linear range needs no branch. */
static inline unsigned hist_index(uint64_t v)
{
    unsigned e = 63u - (unsigned)__builtin_clzll(v | 128u);
    unsigned shift = e - 7u;
    return (shift << 7) + (unsigned)(v >> shift);
}

/* Hot path: no calls, no allocation; min/max compile to cmov. */
static inline void hist_record(struct hist *h, uint64_t v)
{
    h->bucket[hist_index(v)]++;
    h->count++;
    h->sum += v;
    h->min = v < h->min ? v : h->min;
    h->max = v > h->max ? v : h->max;
}

/* Smallest / largest value in bucket idx; UINT64_MAX if idx >= HIST_BUCKETS. */
uint64_t hist_bucket_low(unsigned idx);
uint64_t hist_bucket_high(unsigned idx);

/* Value at percentile pct (0 < pct <= 100): the bucket holding the
 * rank-ceil(pct/100*count) value, reported as the bucket's midpoint, clamped into
 * [min, max]; rank 1 and rank count return min and max exactly. 0 when empty.
 * pct <= 0 is treated as rank 1, pct > 100 as 100. */
uint64_t hist_percentile(const struct hist *h, double pct);

void hist_merge(struct hist *dst, const struct hist *src);

#endif
