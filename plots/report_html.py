"""report_html - the report page: sections, tables and embedded charts as one HTML string.

Self-contained by construction: CSS inline, charts as data: URIs, no external URL.
"""

import os

import report_charts as C
import report_data as D
import report_format as F
import report_verdict as V

ERRORS_LOG_MAX_LINES = 400   # beyond this the report shows the tail and says so

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 1em 2em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; margin-top: 2em; }
h3 { margin-top: 1.6em; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 12.5px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.best td { background: #e8f5e9; } tr.failed td { background: #fdecea; color: #b00020; }
tr.dry td { color: #777; font-style: italic; } tr.missing td { color: #999; }
td.noisy { background: #fff4d6; } td.fast { background: #e8f5e9; font-weight: bold; }
.bad { color: #b00020; font-weight: bold; }
.warn { color: #9a5b00; font-weight: bold; }
.caution { border-left: 4px solid #e0a000; background: #fff8e6; padding: 0.5em 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; } pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
ul.verdict li { margin-bottom: 0.3em; } nav ul { columns: 3; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; }
dt { font-weight: bold; } .scroll { overflow-x: auto; }
"""


def _anchor(workload):
    return "w-" + "".join(ch if ch.isalnum() else "-" for ch in workload)


def figure(chart):
    if chart is None:
        return ""
    return (f'<figure><img alt="{F.esc(chart.title)}" src="data:image/png;base64,{chart.png_b64}">'
            f"<figcaption>{F.esc(chart.caption)}</figcaption></figure>")


def _table(head, rows):
    """rows: [(tr class, [(td class, html)])]."""
    out = ["<div class=scroll><table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for cls, cells in rows:
        out.append(f'<tr class="{cls}">' + "".join(
            f'<td class="{c}">{v}</td>' if c else f"<td>{v}</td>" for c, v in cells) + "</tr>")
    out.append("</table></div>")
    return "\n".join(out)


def workload_head(res):
    return ["allocator", "runs", "ns/op median", "min", "max", "CV", f"time vs {F.esc(res.reference)}",
            "peak RSS", f"RSS vs {F.esc(res.reference)}", "frag_peak", "frag_end", "minor faults", "idle RSS",
            "note"]


def workload_table(res, workload):
    fastest = V.podium(res, workload)[0]
    lean = V.ranked_by_rss(res, workload)
    best = fastest.allocator if fastest is not None else None
    leanest = lean[0].allocator if lean else None
    head = workload_head(res)
    rows = []
    for c in res.row(workload):
        a = F.esc(c.allocator) + (" (harness alone)" if c.is_dry else "")
        if c.missing:
            rows.append(("missing", [("", a)] + [("", F.DASH)] * (len(head) - 2) +
                         [("", "no row in summary.csv")]))
            continue
        if c.failed:
            rows.append(("failed", [("", a), ("", F.count(c.get("runs")))] +
                         [("", F.DASH)] * (len(head) - 3) + [("", "FAILED: see errors.log")]))
            continue
        notes = []
        if c.allocator == best:
            notes.append("fastest")
        if c.allocator == leanest:
            notes.append("leanest")
        if c.noisy:
            notes.append("noisy")
        if c.failed_runs:
            notes.append(f"FAILED {c.failed_runs} of {c.failed_runs + (c.runs or 0)} runs")
        g = c.get
        rows.append(("best" if c.allocator == best else "dry" if c.is_dry else "", [
            ("", a), ("", F.count(g("runs"))), ("", F.ns(g("ns_per_op_median"))),
            ("", F.ns(g("ns_per_op_min"))), ("", F.ns(g("ns_per_op_max"))),
            ("noisy" if c.noisy else "", F.pct(g("ns_per_op_cv"))),
            ("", F.ratio(g("time_vs_glibc"))), ("", F.size(g("peak_rss_bytes_median"))),
            ("", F.ratio(g("peak_rss_vs_glibc"))), ("", F.plain(g("frag_peak_median"))),
            ("", F.plain(g("frag_end_median"))), ("", F.count(g("minor_faults_median"))),
            ("", F.size(g("idle_rss_bytes_median"))), ("", ", ".join(notes)),
        ]))
    return _table(head, rows)


def phase_table(res, workload):
    """Phases down, allocators across (ns/op and minor faults each); the first row is
    the allocator's init: its total time and faults, the cost moved out of the replay."""
    cells, names, per = D.workload_phases(res, workload)
    if not names:
        return ""
    more = len(names) - D.MAX_PHASES_SHOWN
    names = names[:D.MAX_PHASES_SHOWN]
    head = ("<tr><th rowspan=2>phase</th><th rowspan=2>ops</th>" +
            "".join(f"<th colspan=2>{F.esc(c.allocator)}</th>" for c in cells) + "</tr><tr>" +
            "<th>ns/op</th><th>faults</th>" * len(cells) + "</tr>")
    init = "<tr><td>init (total)</td><td>" + F.DASH + "</td>"
    for c in cells:
        init_ns, init_faults = D.init_cost(c)
        init_time = F.ns(init_ns / 1000) + " \u00b5s" if init_ns is not None else F.DASH
        init += f"<td>{init_time}</td><td>{F.count(init_faults)}</td>"
    rows = [init + "</tr>"]
    for name in names:
        here = [per[c.allocator].get(name) for c in cells]
        ops = next((p.ops for p in here if p), None)
        best = min((p.ns_per_op for p in here if p and p.ns_per_op is not None), default=None)
        r = f"<tr><td>{F.esc(name)}</td><td>{F.count(ops)}</td>"
        for p in here:
            t = p.ns_per_op if p else None
            fast = t is not None and t == best and len(cells) > 1
            r += (f'<td class="{"fast" if fast else ""}">{F.ns(t)}</td>'
                  f"<td>{F.count(p.minor_faults if p else None)}</td>")
        rows.append(r + "</tr>")
    note = f"<p class=sub>The first {len(names)} phases of {len(names) + more}.</p>" if more > 0 else ""
    return "<div class=scroll><table>" + head + "\n".join(rows) + "</table></div>" + note


def across_table(res):
    rows = []
    for a, s in V.across_workloads(res):
        rows.append(("failed" if s["failed"] else "", [
            ("", F.esc(a)), ("", str(s["completed"])), ("", str(s["time_wins"])), ("", str(s["rss_wins"])),
            ("", F.ratio(s["time_geo"]) + (f" ({s['time_n']})" if s["time_geo"] else "")),
            ("", F.ratio(s["rss_geo"]) + (f" ({s['rss_n']})" if s["rss_geo"] else "")),
            ("", str(s["noisy"])), ("", F.esc(", ".join(s["failed"])) or F.DASH)]))
    ref = F.esc(res.reference)
    return _table(["allocator", "completed", "fastest in", "leanest in", f"time vs {ref} (geomean, n)",
                   f"peak RSS vs {ref} (geomean, n)", "noisy cells", "failed on"], rows)


def _profile(res):
    """The run's tuning profile name, or None for the shipped defaults."""
    p = res.machine.get("profile")
    return str(p) if p not in (None, "", "none", "default") else None


def _machine(res):
    m = res.machine
    if not m:
        return f"<p class=caution>{F.esc(res.machine_note or 'machine.json is empty')}.</p>"
    keys = [("date", "date"), ("git", "git commit"), ("cpu", "CPU"), ("cores", "cores"),
            ("mem_kb", "memory"), ("kernel", "kernel"), ("libc", "libc"), ("compiler", "compiler"),
            ("seed", "seed"), ("rounds", "rounds"), ("scale", "scale")]
    out = ["<dl>"]
    for k, label in keys:
        if k in m:
            v = m[k]
            if k == "mem_kb" and isinstance(v, (int, float)):
                v = F.size(v * 1024)
            out.append(f"<dt>{F.esc(label)}</dt><dd>{F.esc(v)}</dd>")
    out.append(f"<dt>tuning profile</dt><dd>{F.esc(_profile(res) or 'none: the allocators shipped defaults')}</dd>")
    allocs = m.get("allocators")
    if isinstance(allocs, dict):
        for a, v in allocs.items():
            out.append(f"<dt>{F.esc(a)}</dt><dd>{F.esc(v)}</dd>")
    out.append("</dl>")
    return "\n".join(out)


TOUCH = {   # the driver's --touch modes, in words
    "pages": "one byte written in every page of each new object, so RSS is realised as in a real program "
             "without the time of a full memset",
    "none": "new memory is not written: RSS counts only what the allocator itself touched",
    "full": "every byte of each new object written, so ns/op includes a memset of every allocation",
}


def _method(res):
    cells = [c for c in res.cells.values() if c.records]
    touch = D.first_value(cells, "touch")
    modes = sorted({str(r.get("mode")) for c in cells for r in c.records if r.get("mode")})
    opts = sorted({(c.allocator, str(r.get("alloc_opts"))) for c in cells for r in c.records
                   if r.get("alloc_opts")})
    seed, rounds = res.machine.get("seed", "?"), res.rounds
    items = [
        f"{rounds} round{'s' if rounds != 1 else ''}, interleaved: each round runs every workload \u00d7 "
        f"allocator once, in a fresh random order drawn from seed {F.esc(seed)} (so a slow phase of the "
        f"machine cannot line up with one allocator). Each run is its own process.",
        "Figures are medians over the rounds, with minimum, maximum and coefficient of variation "
        "(CV = standard deviation / mean) of ns/op; a CV over 5% is flagged noisy.",
        "ns/op is replay time only (RSS sampling and idle sleeps excluded); allocator init is "
        "timed apart (init_ns), so pre-faulting shows as moved cost: see the per-phase faults.",
        "<b>dry</b> replays the trace without calling any allocator: the harness's own cost, which is "
        "inside every other row's ns/op.",
        f"Touch policy: <b>{F.esc(touch or 'pages')}</b> ({TOUCH.get(touch or 'pages', 'see the driver --help')}).",
        "Peak RSS is RssAnon minus the baseline taken before the allocator's init (what an allocator "
        "pre-allocates counts); frag_peak = peak RSS / peak live bytes; frag_end = RSS / live at the end; "
        "idle RSS = RSS after the last idle marker.",
    ]
    if "latency" in modes:
        items.append("<span class=warn>These runs used --latency</span>: each allocator call was timed, "
                     "which raises ns/op well above a throughput run's; compare ns/op only between runs of "
                     "the same mode.")
    if _profile(res):
        items.append(f"Tuning profile: <b>{F.esc(_profile(res))}</b> (part of the result's name).")
    else:
        items.append("Allocators ran with their shipped defaults (no tuning profile).")
    for a, o in opts:
        items.append(f"{F.esc(a)} ran with allocator options <code>{F.esc(o)}</code>.")
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _errors(res):
    text = res.errors_log.strip("\n")
    if not text.strip():
        return "<p>errors.log is empty: every run completed without a message on stderr.</p>"
    lines = text.splitlines()
    note = ""
    if len(lines) > ERRORS_LOG_MAX_LINES:
        note = (f"<p>errors.log has {len(lines)} lines; the last {ERRORS_LOG_MAX_LINES} are shown "
                f"(the full file is in the results folder).</p>")
        lines = lines[-ERRORS_LOG_MAX_LINES:]
    return note + "<pre>" + F.esc("\n".join(lines)) + "</pre>"


def page(res):
    run_id = os.path.basename(os.path.realpath(res.folder))   # results/latest names its target
    charts_overview = [C.relative_time(res), C.memory(res), C.tradeoff(res)]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>allocmark design review: {F.esc(run_id)}</title><style>{CSS}</style></head><body>",
        f"<h1>allocmark design review</h1><p class=sub>results {F.esc(run_id)}"
        f"{' · ' + F.esc(res.machine['date']) if 'date' in res.machine else ''}"
        f"{' · profile ' + F.esc(_profile(res)) if _profile(res) else ''}"
        f" · {len(res.workloads)} workloads × {len([a for a in res.allocators if a != D.DRY])} allocators</p>",
    ]
    if res.smoke:
        parts.append(f"<p class=caution>{V.smoke_caution(res)}</p>")
    parts.append('<nav><b>Contents</b><ul><li><a href="#summary">Recommendation</a></li>'
                 '<li><a href="#verdicts">Verdict per workload</a></li><li><a href="#overview">Charts</a></li>' +
                 "".join(f'<li><a href="#{_anchor(w)}">{F.esc(w)}</a></li>' for w in res.workloads) +
                 '<li><a href="#method">Machine and method</a></li><li><a href="#reproduce">Reproduce</a></li>'
                 '<li><a href="#errors">errors.log</a></li></ul></nav>')
    parts.append('<h2 id="summary">Recommendation: what the data shows</h2>')
    parts += [f"<p>{p}</p>" for p in V.overall(res)]
    parts.append(across_table(res))
    parts.append('<h2 id="verdicts">Verdict per workload</h2>')
    for w in res.workloads:
        parts.append(f'<h3><a href="#{_anchor(w)}">{F.esc(w)}</a></h3><ul class=verdict>' +
                     "".join(f"<li>{s}</li>" for s in V.workload_verdict(res, w)) + "</ul>")
    parts.append('<h2 id="overview">Charts across workloads</h2>')
    parts += [figure(c) for c in charts_overview]
    no_timelines = res.timeline_files == 0
    for w in res.workloads:
        parts.append(f'<h2 id="{_anchor(w)}">{F.esc(w)}</h2>')
        parts.append(workload_table(res, w))
        pt = phase_table(res, w)
        if pt:
            parts.append("<h3>Per phase</h3><p class=sub>Median over rounds; the fastest per phase in bold. "
                         "Init is timed apart from the replay: its faults are memory the allocator set up "
                         "before the first op.</p>" + pt + figure(C.phase_chart(res, w)))
        tl = C.timeline(res, w)
        if tl:
            parts.append("<h3>RSS over the run</h3>" + figure(tl))
        elif no_timelines:
            parts.append("<p class=sub>No timelines in this results folder (timelines/), "
                         "so no RSS-over-time chart.</p>")
        lat = C.latency_chart(res, w)
        if lat:
            parts.append("<h3>Latency</h3>" + figure(lat) + figure(C.latency_ccdf(res, w)))
    parts.append('<h2 id="method">Machine and method</h2>' + _machine(res) + _method(res))
    parts.append('<h2 id="reproduce">Reproduce</h2>')
    cmd = res.machine.get("command")
    if cmd:
        git = str(res.machine.get("git") or "")
        parts.append(f"<p>From the repository root{' at commit ' + F.esc(git.split()[0]) if git else ''}:</p>"
                     f"<pre>{F.esc(cmd)}</pre><p>run_all.sh writes the charts and this report at the end "
                     f"(after <code>--no-plots</code>: <code>make plots RESULTS=DIR</code>).</p>")
        if "modified" in git:
            parts.append("<p class=caution>The working tree had uncommitted changes when this ran "
                         f"(git: {F.esc(git)}), so that commit alone may not reproduce it exactly.</p>")
    else:
        parts.append("<p class=caution>machine.json records no command for this run.</p>")
    parts.append('<h2 id="errors">errors.log</h2>' + _errors(res))
    if res.extra_columns:
        parts.append(f"<p class=sub>summary.csv columns not shown here: {F.esc(', '.join(res.extra_columns))}.</p>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)
