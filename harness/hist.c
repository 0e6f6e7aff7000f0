/* hist.c - the cold half of the histogram: reset, bucket bounds, percentiles, merge. */
#include "hist.h"

#include <string.h>

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

/* Inverse of hist_index: idx = shift*128 + mantissa, mantissa in [128, 255]. */
uint64_t hist_bucket_low(unsigned idx)
{
    if (idx >= HIST_BUCKETS)
        return UINT64_MAX;
    if (idx < 256)
        return idx;
    unsigned shift = (idx >> 7) - 1u;
    return (uint64_t)(128u + (idx & 127u)) << shift;
}

uint64_t hist_bucket_high(unsigned idx)
{
    if (idx >= HIST_BUCKETS)
        return UINT64_MAX;
    if (idx < 256)
        return idx;
    unsigned shift = (idx >> 7) - 1u;
    /* low + width - 1, not (mantissa+1) << shift - 1, which overflows in the top bucket */
    return hist_bucket_low(idx) + ((UINT64_C(1) << shift) - 1u);
}

/* 1-based rank of the pct-th percentile among count values: ceil(pct/100*count). */
static uint64_t percentile_rank(double pct, uint64_t count)
{
    if (!(pct > 0.0)) /* also catches NaN */
        return 1;
    if (pct >= 100.0)
        return count;
    /* Multiply before dividing so that exact cases stay exact (50% of an odd count). */
    double r = pct * (double)count / 100.0;
    /* pct is usually a decimal such as 99.9 that binary cannot hold; without this
     * slack, 99.9% of 1000 may come out as 999.0000000001 and round up to 1000. */
    r -= r * 1e-12;
    if (r <= 1.0)
        return 1;
    uint64_t k = (uint64_t)r;
    if ((double)k < r) /* ceil without libm */
        k++;
    return k < count ? k : count;
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = percentile_rank(pct, h->count);
    /* The extremes are known exactly, so don't blur them to a bucket midpoint. */
    if (rank >= h->count)
        return h->max;
    if (rank <= 1)
        return h->min;

    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
            uint64_t mid = lo + (hi - lo) / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max; /* only if count disagrees with the buckets */
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}
