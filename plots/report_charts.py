"""report_charts - the report's matplotlib charts, each returned as a base64 PNG.

Agg backend only (no display). Each function returns a Chart or None when the
results hold nothing to draw (no timelines, no latency, no phases ...), so the
report never shows an empty frame.
"""

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

import report_data as D  # noqa: E402
import report_format as F  # noqa: E402
import report_verdict as V  # noqa: E402

DPI = 90
MIB = 1 << 20


class Chart:
    def __init__(self, title, caption, png_b64):
        self.title = title
        self.caption = caption
        self.png_b64 = png_b64


def colours(allocators):
    """One fixed colour per allocator across every chart."""
    palette = plt.get_cmap("tab10").colors
    return {a: palette[i % len(palette)] for i, a in enumerate(allocators)}


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _real(res):
    return [a for a in res.allocators if a != D.DRY]


def _ns_label(v, _pos=None):
    """A tick in nanoseconds as people read it: 50 ns, 2 µs, 10 ms."""
    for unit, div in (("s", 1e9), ("ms", 1e6), ("\u00b5s", 1e3)):
        if v >= div:
            return f"{v / div:g} {unit}"
    return f"{v:g} ns"


def _log_if_wide(ax, values, label, fmt=lambda v, _: f"{v:g}"):
    """A log y axis when values span more than 20x (peak RSS from KiB to GiB, latency
    tails), else linear: a log axis over a narrow range has no readable labels."""
    xs = [v for v in values if v is not None and v > 0]
    if xs and max(xs) / min(xs) > 20:
        ax.set_yscale("log")
        decades = math.log10(max(xs) / min(xs))
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 4 else (1.0,)))
        ax.yaxis.set_major_formatter(FuncFormatter(fmt))
        ax.yaxis.set_minor_formatter(NullFormatter())
        label += " (log)"
    ax.set_ylabel(label, fontsize=9)


def _width(n_groups, n_bars):
    return min(24.0, max(7.0, 0.22 * n_groups * max(n_bars, 1) + 2.0))


def _group_offsets(n):
    w = 0.8 / max(n, 1)
    return w, [(-0.4 + w / 2 + i * w) for i in range(n)]


def relative_time(res):
    allocs = _real(res)
    if not allocs:
        return None
    col = colours(res.allocators)
    w, offs = _group_offsets(len(allocs))
    fig, ax = plt.subplots(figsize=(_width(len(res.workloads), len(allocs)), 4.2))
    labels, no_ref, labelled = [], False, set()
    for x, wl in enumerate(res.workloads):
        ref = res.cells.get((wl, res.reference))
        fastest = V.podium(res, wl)[0] or next(iter(V.ranked_by_time(res, wl)), None)
        if ref is not None and ref.ok and ref.get("ns_per_op_median"):
            base, label = ref.get("ns_per_op_median"), wl
        elif fastest is not None:
            base, label, no_ref = fastest.get("ns_per_op_median"), wl + " *", True
        else:
            base, label = None, wl
        labels.append(label)
        for i, a in enumerate(allocs):
            c = res.cell(wl, a)
            if not c.ok or not base:
                ax.text(x + offs[i], 0.02, f"{a}: {'FAILED' if c.failed else 'n/a'}", rotation=90, fontsize=7,
                        ha="center", va="bottom", color="#b00020" if c.failed else "#777",
                        transform=ax.get_xaxis_transform())
                continue
            med = c.get("ns_per_op_median") / base
            lo = (c.get("ns_per_op_min") or c.get("ns_per_op_median")) / base
            hi = (c.get("ns_per_op_max") or c.get("ns_per_op_median")) / base
            ax.bar(x + offs[i], med, w, color=col[a], label=a if a not in labelled else None,
                   hatch="//" if c.noisy else None, edgecolor="black" if c.noisy else None, linewidth=0)
            labelled.add(a)
            ax.errorbar(x + offs[i], med, yerr=[[max(med - lo, 0)], [max(hi - med, 0)]], fmt="none",
                        ecolor="black", elinewidth=0.8, capsize=2)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlim(-0.5, len(res.workloads) - 0.5)   # room for the FAILED marks of the outer bars
    if all(lab.endswith(" *") for lab in labels if lab):   # no reference row anywhere
        labels = [lab[:-2] if lab.endswith(" *") else lab for lab in labels]
        base_name = "each workload's fastest"
    else:
        base_name = res.reference
    ax.set_xticks(range(len(res.workloads)))
    ax.set_xticklabels(labels, rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set_ylabel(f"ns/op relative to {base_name}")
    ax.set_title(f"Time per op relative to {base_name} (median; whiskers: min\u2013max over rounds)")
    if not labelled:   # every cell failed: nothing to compare
        plt.close(fig)
        return None
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    caption = ("Lower is faster. Hatched bars: CV over 5% (noisy). The harness baseline (dry) is left out: "
               "its ns/op is in the tables.")
    if no_ref and base_name == res.reference:
        caption += f" * no {res.reference} figure for this workload: relative to its fastest allocator instead."
    return Chart("Relative time per workload", caption, _png(fig))


def memory(res):
    allocs = _real(res)
    if not allocs:
        return None
    col = colours(res.allocators)
    w, offs = _group_offsets(len(allocs))
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True,
                                   figsize=(_width(len(res.workloads), len(allocs)), 6.5))
    drew, frag, rss_mib = False, [], []
    for x, wl in enumerate(res.workloads):
        for i, a in enumerate(allocs):
            c = res.cell(wl, a)
            if not c.ok:
                continue
            rss, fp, fe = c.get("peak_rss_bytes_median"), c.get("frag_peak_median"), c.get("frag_end_median")
            lab = a if a not in ax1.get_legend_handles_labels()[1] else None
            if rss:
                ax1.bar(x + offs[i], rss / MIB, w, color=col[a], label=lab)
                rss_mib.append(rss / MIB)
                drew = True
            if fp is not None:
                ax2.bar(x + offs[i], fp, w, color=col[a])
                frag.append(fp)
            if fe is not None:
                frag.append(fe)
                ax2.plot(x + offs[i], fe, marker="o", markersize=4, color="black",
                         label="frag_end" if "frag_end" not in ax2.get_legend_handles_labels()[1] else None)
    if not drew:
        plt.close(fig)
        return None
    _log_if_wide(ax1, rss_mib, "peak RSS (MiB)")
    ax1.set_title("Peak RSS (RssAnon minus baseline) and fragmentation, medians")
    ax1.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax1.grid(axis="y", alpha=0.3)
    ax2.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    # frag_end of a trace that ends with a few live bytes can be in the thousands.
    _log_if_wide(ax2, frag, "RSS / live")
    if ax2.get_legend_handles_labels()[1]:
        ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax2.grid(axis="y", alpha=0.3)
    ax2.set_xticks(range(len(res.workloads)))
    rot = len(res.workloads) > 4
    ax2.set_xticklabels(res.workloads, rotation=30 if rot else 0, ha="right" if rot else "center")
    return Chart("Peak RSS and fragmentation",
                 "Bars: peak RSS and frag_peak (each on a log axis when its values span more than 20\u00d7); "
                 "dots: frag_end (RSS / live at the end), where "
                 "the end has live bytes. 1.0 = no overhead over the bytes the program asked for.",
                 _png(fig))


def tradeoff(res):
    """Time vs peak memory: one small panel per workload, a point per allocator."""
    allocs = _real(res)
    wls = [wl for wl in res.workloads if any(res.cell(wl, a).ok for a in allocs)]
    if not wls:
        return None
    col = colours(res.allocators)
    ncols = min(4, len(wls))
    nrows = math.ceil(len(wls) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows), squeeze=False)
    for k, wl in enumerate(wls):
        ax = axes[k // ncols][k % ncols]
        for a in allocs:
            c = res.cell(wl, a)
            if not c.ok or c.get("peak_rss_bytes_median") is None:
                continue
            y = c.get("ns_per_op_median")
            lo, hi = c.get("ns_per_op_min") or y, c.get("ns_per_op_max") or y
            ax.errorbar(c.get("peak_rss_bytes_median") / MIB, y, yerr=[[y - lo], [hi - y]],
                        fmt="o", color=col[a], markersize=6, capsize=2, elinewidth=0.8)
        ax.set_title(wl, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.margins(0.15)
    for k in range(len(wls), nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    for r in range(nrows):
        axes[r][0].set_ylabel("ns/op", fontsize=8)
    for c in range(ncols):
        axes[nrows - 1][c].set_xlabel("peak RSS (MiB)", fontsize=8)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=col[a]) for a in allocs]
    fig.legend(handles, allocs, loc="upper center", ncol=min(len(allocs), 6), fontsize=8,
               bbox_to_anchor=(0.5, 1.0 + 0.04 / nrows))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.05 / nrows))
    return Chart("Time vs peak memory",
                 "One panel per workload, one point per allocator (median; whiskers: min\u2013max ns/op). "
                 "Down and to the left is better on both; points apart on both axes are a trade-off.",
                 _png(fig))


def timeline(res, workload):
    cells = [c for c in res.row(workload, real_only=True) if c.timeline and c.timeline[1]]
    if not cells:
        return None
    col = colours(res.allocators)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    rounds = sorted({c.timeline[0] for c in cells})
    for c in cells:
        rows = c.timeline[1]
        ax.plot([r[0] for r in rows], [r[1] / MIB for r in rows], color=col[c.allocator],
                linewidth=1.2, label=f"{c.allocator} RSS")
    live = cells[0].timeline[1]
    ax.plot([r[0] for r in live], [r[2] / MIB for r in live], color="black", linestyle="--",
            linewidth=1, label="live bytes")
    marked = set()
    for r in live:
        if r[3] in ("phase", "idle"):
            ax.axvline(r[0], color="#999" if r[3] == "phase" else "#d08000", linestyle=":", linewidth=0.8,
                       label=f"{r[3]} marker" if r[3] not in marked else None)
            marked.add(r[3])
    ax.set_xlabel("op")
    ax.set_ylabel("MiB")
    ax.set_title(f"{workload}: RSS and live bytes over the run")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    multi = any((D.record_number(r, "threads") or 1) > 1 for c in cells for r in c.records)
    cap = (f"RssAnon minus baseline at each sample, in each row's median round by ns/op (round"
           f"{'s' if len(rounds) > 1 else ''} {', '.join(map(str, rounds))}); live bytes = "
           f"the requested sizes of live objects (from {cells[0].allocator}'s run). The gap is the "
           f"allocator's overhead.")
    if multi:
        cap += " Multi-thread trace: between markers the op counts and live bytes are approximate."
    return Chart(f"{workload}: RSS over the run", cap, _png(fig))


def phase_chart(res, workload):
    cells, names, per = D.workload_phases(res, workload)
    if not names:
        return None
    names = names[:D.MAX_PHASES_SHOWN]
    col = colours(res.allocators)
    allocs = [c.allocator for c in cells]
    w, offs = _group_offsets(len(allocs))
    if len(names) <= 4:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    else:   # many phases: one wide panel each, stacked
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(_width(len(names) + 1, len(allocs)), 7))
    rot = 45 if len(names) > 8 else 0
    fault_names = ["init"] + names
    for i, a in enumerate(allocs):
        by = per[a]
        for x, pn in enumerate(names):
            if pn in by and by[pn].ns_per_op is not None:
                ax1.bar(x + offs[i], by[pn].ns_per_op, w, color=col[a], label=a if x == 0 else None)
        _, init_faults = D.init_cost(res.cell(workload, a))
        for x, pn in enumerate(fault_names):
            v = init_faults if pn == "init" else (by[pn].minor_faults if pn in by else None)
            if v is not None:
                ax2.bar(x + offs[i], v, w, color=col[a])
    ax1.set_xticks(range(len(names)))
    ax1.set_xticklabels(names, fontsize=8, rotation=rot, ha="right" if rot else "center")
    ax1.set_ylabel("ns/op (median)")
    ax1.set_title("time per op by phase", fontsize=10)
    if ax1.get_legend_handles_labels()[1]:
        ax1.legend(fontsize=7)
    ax2.set_xticks(range(len(fault_names)))
    ax2.set_xticklabels(fault_names, fontsize=8, rotation=rot, ha="right" if rot else "center")
    ax2.set_ylabel("minor page faults (median)")
    ax2.set_title("page faults by phase (init: the allocator's set-up)", fontsize=10)
    for ax in (ax1, ax2):
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(workload, fontsize=10)
    fig.tight_layout()
    return Chart(f"{workload}: per phase",
                 "Time and page faults side by side: an allocator that faults its memory in at init (or "
                 "keeps it from an earlier phase) can look fast on first-touch work for that reason alone.",
                 _png(fig))


def _kind_panels(n):
    """A grid of n panels, one per op kind, up to three a row; the unused ones hidden.
    Returns the figure, the rows of axes and the axes in order."""
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols + 1, 3.0 * nrows + 0.4), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.axis("off")
    return fig, axes, flat


def latency_chart(res, workload):
    cells = [c for c in res.row(workload, real_only=True) if c.ok]
    lat = {c.allocator: D.latency(c) for c in cells}
    kinds = []
    for per in lat.values():
        for k in per:
            if isinstance(k, str) and k not in kinds:
                kinds.append(k)
    if not kinds:
        return None
    col = colours(res.allocators)
    fig, axes, flat = _kind_panels(len(kinds))
    labels = [p for p, _ in D.PERCENTILES]
    for ax, kind in zip(flat, kinds):
        drawn = []
        for a, per in lat.items():
            if kind in per:
                pts = [(i, y) for i, y in enumerate(per[kind]) if y is not None and y > 0]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4,
                            color=col[a], label=a)
                    drawn += [p[1] for p in pts]
        # Tails span decades (log), but a kind with a handful of ops may not: linear then,
        # so the axis keeps readable labels.
        _log_if_wide(ax, drawn, "latency", _ns_label)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=8)
        counts = [per.get((kind, "count")) for per in lat.values() if per.get((kind, "count"))]
        ax.set_title(f"{kind} ({F.count(max(counts))} ops)" if counts else kind, fontsize=10)
        ax.grid(alpha=0.3)
    if axes[0][0].get_legend_handles_labels()[1]:
        axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{workload}: latency percentiles per op kind", fontsize=10)
    fig.tight_layout()
    res_ns = D.first_value(cells, "latency", "timer", "resolution_ns")
    cap = "Medians over rounds of each percentile; zero values (below the timer's resolution) are not drawn."
    if isinstance(res_ns, (int, float)):
        cap += f" Timer resolution here: {res_ns:.1f} ns, so small values are quantised."
    return Chart(f"{workload}: latency", cap, _png(fig))


MIN_OPS_FOR_CCDF = 100   # a kind with fewer timed ops has no tail worth drawing


def latency_ccdf(res, workload):
    """From the driver's latency histograms: per op kind, the fraction of calls slower
    than x (log-log), so the tails beyond p99.9 are seen, not only five percentiles."""
    cells = [c for c in res.row(workload, real_only=True) if c.ok and c.histogram]
    kinds = []
    for c in cells:
        for kind, rows in c.histogram[1].items():
            if sum(r[2] for r in rows) >= MIN_OPS_FOR_CCDF and kind not in kinds:
                kinds.append(kind)
    if not kinds:
        return None
    col = colours(res.allocators)
    fig, axes, flat = _kind_panels(len(kinds))
    for ax, kind in zip(flat, kinds):
        for c in cells:
            rows = sorted(c.histogram[1].get(kind, []))
            total = sum(r[2] for r in rows)
            if not total:
                continue
            xs, ys, above = [], [], total
            for lo, hi, n in rows:
                above -= n
                if above > 0:
                    xs.append(max(hi, 0.1))
                    ys.append(above / total)
            if xs:
                ax.step(xs, ys, where="post", color=col[c.allocator], linewidth=1.2, label=c.allocator)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_ns_label))
        ax.set_yscale("log")
        ax.set_title(kind, fontsize=10)
        ax.set_xlabel("latency", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("fraction of calls slower", fontsize=8)
    if flat[0].get_legend_handles_labels()[1]:
        flat[0].legend(fontsize=7)
    rounds = sorted({c.histogram[0] for c in cells})
    fig.suptitle(f"{workload}: latency distribution (1 - CDF)", fontsize=10)
    fig.tight_layout()
    return Chart(f"{workload}: latency distribution",
                 f"From the merged latency histograms of each row's median round by ns/op (round"
                 f"{'s' if len(rounds) > 1 else ''} {', '.join(map(str, rounds))}): for each "
                 f"latency x, the fraction of calls that took longer. Lower and further left is better; "
                 f"the right end is the slowest calls.", _png(fig))
