/* replay_ops.c - what both replay engines share off the hot path (replay_ops.h):
 * result arrays, the end-of-run figures, and fallbacks for operations an adapter
 * leaves NULL. */
#include "replay_ops.h"

#include <math.h>

void *replay_map_array(uint64_t n, size_t elem, uint64_t *cap)
{
    *cap = n ? n : 1;
    return os_map(*cap * elem);
}

static double ratio(uint64_t num, uint64_t den) { return den ? (double)num / (double)den : NAN; }

void replay_end_figures(struct replay_result *r, const struct os_usage *u1, const struct os_usage *u2)
{
    r->user_ns = u2->user_ns - u1->user_ns;
    r->sys_ns = u2->sys_ns - u1->sys_ns;
    r->minor_faults = u2->minor_faults - u1->minor_faults;
    r->major_faults = u2->major_faults - u1->major_faults;
    r->final_rss = r->samples[r->n_samples - 1].rss;
    uint64_t hwm = 0, file = 0;
    if (os_status_read(&hwm, &file) == 0 && hwm > file + r->baseline_rss)
        r->peak_rss_hwm = hwm - file - r->baseline_rss;
    r->peak_rss = r->peak_rss_sampled > r->peak_rss_hwm ? r->peak_rss_sampled : r->peak_rss_hwm;
    /* J&W #4 (peak/peak), #1 (time-averaged: ratio of the means over the evenly
     * spaced op checkpoints), and at the end. */
    uint64_t sum_rss = 0, sum_live = 0;
    for (uint64_t i = 0; i < r->n_samples; i++)
        if (r->samples[i].event == EV_OPS) {
            sum_rss += r->samples[i].rss;
            sum_live += r->samples[i].live;
        }
    r->frag_peak = ratio(r->peak_rss, r->peak_live_bytes);
    r->frag_mean = ratio(sum_rss, sum_live);
    r->frag_end = ratio(r->final_rss, r->final_live_bytes);
}

static const struct allocator *fallback_of;

static void *fallback_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    void *p = fallback_of->malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

static void *fallback_realloc(void *p, size_t old_size, size_t new_size)
{
    void *q = fallback_of->malloc(new_size);
    if (q) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        fallback_of->free(p, 0); /* p may be aligned or realloc'd: no size */
    }
    return q;
}

void replay_fill_fallbacks(struct allocator *dst, const struct allocator *a)
{
    *dst = *a;
    fallback_of = a;
    if (!dst->calloc)
        dst->calloc = fallback_calloc;
    if (!dst->realloc)
        dst->realloc = fallback_realloc;
}
