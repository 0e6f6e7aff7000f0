#include "report.h"

#include <math.h>

#include "json.h"

static const char *const touch_names[] = { "none", "pages", "full" };
static const char *const event_names[] = { "ops", "start", "phase", "idle_before", "idle_after", "end" };

static double per_op(uint64_t ns, uint64_t ops)
{
    return ops ? (double)ns / (double)ops : NAN;
}

static const struct {
    const char *key;
    double pct;
} pcts[] = { { "p50_ns", 50 }, { "p90_ns", 90 }, { "p99_ns", 99 }, { "p99_9_ns", 99.9 } };

/* One object per op kind that has samples in lat[TR_MALLOC..TR_FREE]. */
static void kinds_json(struct json *j, const struct hist *lat, double tpn)
{
    for (unsigned k = TR_MALLOC; k <= TR_FREE; k++) {
        const struct hist *h = &lat[k];
        if (!h->count)
            continue;
        json_obj(j, trace_kind_name(k));
        json_u64(j, "count", h->count);
        json_num(j, "mean_ns", (double)h->sum / (double)h->count / tpn);
        json_num(j, "min_ns", (double)h->min / tpn);
        for (unsigned i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
            json_num(j, pcts[i].key, (double)hist_percentile(h, pcts[i].pct) / tpn);
        json_num(j, "max_ns", (double)h->max / tpn);
        json_obj_end(j);
    }
}

static void latency_json(struct json *j, const struct replay_result *r)
{
    double tpn = r->tsc.ticks_per_ns;
    json_obj(j, "latency");
    json_obj(j, "timer");
    json_num(j, "ticks_per_ns", tpn);
    json_u64(j, "overhead_min_ticks", r->tsc.overhead_min);
    json_u64(j, "overhead_median_ticks", r->tsc.overhead_median);
    json_num(j, "overhead_ns", (double)r->tsc.overhead_median / tpn);
    json_u64(j, "resolution_ticks", r->tsc.resolution);
    json_num(j, "resolution_ns", (double)r->tsc.resolution / tpn);
    json_str(j, "subtracted", "overhead_median_ticks, clamped at 0");
    json_obj_end(j);
    kinds_json(j, r->lat, tpn);
    json_obj_end(j);
}

/* Multi-thread replays: one object per trace thread with ops. */
static void threads_json(struct json *j, const struct replay_result *r)
{
    json_u64(j, "dep_ops", r->dep_ops);
    json_u64(j, "waited_ops", r->waited_ops);
    json_u64(j, "wait_ns", r->wait_ns);
    json_u64(j, "stream_bytes", r->stream_bytes);
    json_arr(j, "per_thread");
    for (uint64_t i = 0; i < r->n_threads; i++) {
        const struct thread_stat *st = &r->threads[i];
        json_obj(j, NULL);
        json_u64(j, "thread", st->thread);
        json_u64(j, "ops", st->ops);
        json_obj(j, "ops_by_kind");
        for (unsigned k = TR_MALLOC; k <= TR_FREE; k++)
            json_u64(j, trace_kind_name(k), st->count[k]);
        json_obj_end(j);
        json_u64(j, "starts", st->starts);
        json_u64(j, "exits", st->exits);
        json_u64(j, "wall_ns", st->wall_ns);
        json_u64(j, "busy_ns", st->busy_ns);
        json_num(j, "ns_per_op", per_op(st->busy_ns, st->ops));
        json_u64(j, "dep_ops", st->dep_ops);
        json_u64(j, "waited_ops", st->waited_ops);
        json_u64(j, "wait_ns", st->wait_ns);
        json_u64(j, "barrier_ns", st->barrier_ns);
        json_u64(j, "cpu_ns", st->cpu_ns);
        json_i64(j, "live_delta_bytes", st->live_delta);
        if (st->lat) {
            json_obj(j, "latency");
            kinds_json(j, st->lat, r->tsc.ticks_per_ns);
            json_obj_end(j);
        }
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void stats_json(struct json *j, const struct replay_result *r)
{
    json_obj(j, "alloc_stats");
    if (r->stats_rc == 0) {
        const struct alloc_stats *st = &r->stats;
        json_i64(j, "allocated", st->allocated);
        json_i64(j, "active", st->active);
        json_i64(j, "resident", st->resident);
        json_i64(j, "mapped", st->mapped);
        json_i64(j, "retained", st->retained);
        for (int i = 0; i < st->n_extra; i++)
            json_i64(j, st->extra[i].name, st->extra[i].value);
    }
    json_obj_end(j);
}

void report_json(struct membuf *out, const struct report_ctx *rc, const struct replay_result *r)
{
    const struct trace_summary *s = rc->summary;
    struct json j;
    json_begin(&j, out);
    json_str(&j, "allocator", rc->allocator);
    json_str(&j, "allocator_version", rc->allocator_version);
    json_str(&j, "trace", rc->trace->path);
    json_str(&j, "trace_form", rc->trace->form);
    json_str(&j, "mode", rc->opts->latency ? "latency" : "throughput");
    json_bool(&j, "dry", rc->opts->dry);
    json_str(&j, "touch", touch_names[rc->opts->touch]);
    json_bool(&j, "release_at_idle", rc->opts->release_at_idle);
    json_str(&j, "alloc_opts", rc->opts->alloc_opts);
    if (r->error[0])
        json_str(&j, "error", r->error);
    json_u64(&j, "ops", r->ops);
    json_u64(&j, "records", r->records);
    json_obj(&j, "ops_by_kind");
    for (unsigned k = TR_MALLOC; k <= TR_FREE; k++)
        json_u64(&j, trace_kind_name(k), r->count[k]);
    json_obj_end(&j);
    json_u64(&j, "threads", s->threads_used ? s->threads_used : 1);
    json_u64(&j, "wall_ns", r->wall_ns);
    json_num(&j, "ns_per_op", per_op(r->wall_ns, r->ops));
    json_num(&j, "ops_per_s", r->wall_ns ? (double)r->ops * 1e9 / (double)r->wall_ns : NAN);
    json_u64(&j, "excluded_ns", r->excluded_ns);
    json_u64(&j, "decode_chunks", r->decode_chunks);
    json_u64(&j, "init_ns", r->init_ns);
    json_u64(&j, "init_minor_faults", r->init_minor_faults);
    json_num(&j, "user_s", (double)r->user_ns / 1e9);
    json_num(&j, "sys_s", (double)r->sys_ns / 1e9);
    json_u64(&j, "minor_faults", r->minor_faults);
    json_u64(&j, "major_faults", r->major_faults);
    json_u64(&j, "baseline_rss_bytes", r->baseline_rss);
    json_u64(&j, "peak_rss_bytes", r->peak_rss);
    json_u64(&j, "peak_rss_sampled_bytes", r->peak_rss_sampled);
    json_u64(&j, "peak_rss_hwm_bytes", r->peak_rss_hwm);
    json_u64(&j, "final_rss_bytes", r->final_rss);
    json_u64(&j, "peak_live_bytes", r->peak_live_bytes);
    json_u64(&j, "peak_live_objects", r->peak_live_objects);
    json_u64(&j, "final_live_bytes", r->final_live_bytes);
    json_num(&j, "frag_peak", r->frag_peak);
    json_num(&j, "frag_mean", r->frag_mean);
    json_num(&j, "frag_end", r->frag_end);
    json_u64(&j, "samples", r->n_samples);
    json_u64(&j, "sample_interval_ops", r->sample_interval);
    json_arr(&j, "idle");
    for (uint64_t i = 0; i < r->n_idles; i++) {
        const struct idle_stat *is = &r->idles[i];
        json_obj(&j, NULL);
        json_u64(&j, "op", is->op);
        json_u64(&j, "ms", is->ms);
        json_u64(&j, "rss_before_bytes", is->rss_before);
        json_u64(&j, "rss_bytes", is->rss_after);
        json_u64(&j, "live_bytes", is->live);
        json_num(&j, "rss_per_live", is->live ? (double)is->rss_after / (double)is->live : NAN);
        if (rc->opts->release_at_idle) {
            json_u64(&j, "release_ns", is->release_ns);
            json_i64(&j, "release_rc", is->release_rc);
        }
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_arr(&j, "phases");
    for (uint64_t i = 0; i < r->n_phases; i++) {
        const struct phase_stat *p = &r->phases[i];
        json_obj(&j, NULL);
        json_str(&j, "name", p->name);
        json_u64(&j, "first_op", p->first_op);
        json_u64(&j, "ops", p->ops);
        json_u64(&j, "wall_ns", p->wall_ns);
        json_num(&j, "ns_per_op", per_op(p->wall_ns, p->ops));
        json_u64(&j, "minor_faults", p->minor_faults);
        json_u64(&j, "major_faults", p->major_faults);
        json_u64(&j, "rss_start_bytes", p->rss_start);
        json_u64(&j, "peak_rss_bytes", p->peak_rss);
        json_u64(&j, "rss_end_bytes", p->rss_end);
        json_u64(&j, "live_end_bytes", p->live_end);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    stats_json(&j, r);
    if (r->lat)
        latency_json(&j, r);
    if (r->n_threads)
        threads_json(&j, r);
    json_end(&j);
}

void report_histogram_csv(struct membuf *out, const struct replay_result *r)
{
    if (!r->lat)
        return;
    double tpn = r->tsc.ticks_per_ns;
    membuf_printf(out, "kind,lo_ns,hi_ns,count\n");
    for (unsigned k = TR_MALLOC; k <= TR_FREE; k++) {
        const struct hist *h = &r->lat[k];
        for (unsigned i = 0; i < HIST_BUCKETS && h->count; i++) {
            if (!h->bucket[i])
                continue;
            /* [low, high] in whole ticks is [low, high + 1) as a real interval */
            double lo = (double)hist_bucket_low(i) / tpn, hi = ((double)hist_bucket_high(i) + 1.0) / tpn;
            membuf_printf(out, "%s,%.3f,%.3f,%llu\n", trace_kind_name(k), lo, hi, (unsigned long long)h->bucket[i]);
        }
    }
}

void report_timeline_csv(struct membuf *out, const struct report_ctx *rc, const struct replay_result *r)
{
    membuf_printf(out, "trace,op,t_ns,rss_bytes,live_bytes,event,index\n");
    for (uint64_t i = 0; i < r->n_samples; i++) {
        const struct sample *s = &r->samples[i];
        membuf_printf(out, "%s,%llu,%llu,%llu,%llu,%s,%u\n", rc->trace->path, (unsigned long long)s->op, (unsigned long long)s->t_ns,
                      (unsigned long long)s->rss, (unsigned long long)s->live, event_names[s->event], s->index);
    }
}
