"""report_verdict - the report's words: a verdict per workload and the overall summary.

Every sentence is computed from the results and says only what they show: a margin
inside the spread is called so, one round is called so, noisy and failed cells are named.
Returns HTML fragments (inputs escaped through report_format).
"""

import math

import report_data as D
import report_format as F

MAX_PHASES_IN_WORDS = 6   # more phases than this are counted, not listed


def ranked_by_time(res, workload):
    """The workload's completed allocator cells (dry excluded), fastest first."""
    cells = [c for c in res.row(workload, real_only=True) if c.ok]
    return sorted(cells, key=lambda c: c.get("ns_per_op_median"))


def podium(res, workload):
    """(fastest, runner-up, passed over) of a workload's completed allocator cells.
    The fastest is summary.csv's winner, the row summary.txt marks * (the lowest median
    ns/op of the rows without a failed run; None when every such row had one); in a
    folder from before that column, the lowest median. The runner-up is the next
    fastest row without a failed run (or None); passed over, the rows with a failed run
    whose median is below the runner-up's (the fastest's when there is none)."""
    ranked = ranked_by_time(res, workload)
    if res.winner_column:
        best = next((c for c in ranked if c.get("winner") == 1), None)
    else:
        best = ranked[0] if ranked else None
    rest = [c for c in ranked if c is not best]
    nxt = next((c for c in rest if not c.failed_runs), None)
    bar = nxt or best
    passed = [c for c in rest if c.failed_runs and (bar is None or _ns(c) < _ns(bar))]
    return best, nxt, passed


def _runs_failed(c):
    return f"{c.failed_runs} of {c.failed_runs + (c.runs or 0)} runs failed"


def ranked_by_rss(res, workload):
    cells = [c for c in res.row(workload, real_only=True)
             if c.ok and c.get("peak_rss_bytes_median") is not None]
    return sorted(cells, key=lambda c: c.get("peak_rss_bytes_median"))


def _ns(c):
    return c.get("ns_per_op_median")


def _rss(c):
    return c.get("peak_rss_bytes_median")


def _separation(a, b):
    """Why a's lead over b is not established, in words: one of them ran a single round
    (kind "single") or their min-max ranges overlap ("overlap"); ("", "") when it is."""
    single = [c.allocator for c in (a, b) if c.runs is not None and c.runs < 2]
    if single:
        return "single", (f"{' and '.join(F.esc(x) for x in single)} ran one round only: there is no "
                          f"spread to judge this margin by")
    a_max, b_min = a.get("ns_per_op_max"), b.get("ns_per_op_min")
    if a_max is not None and b_min is not None and a_max >= b_min:
        return "overlap", (f"their min{F.DASH}max ranges overlap ({F.ns(a.get('ns_per_op_min'))}{F.DASH}"
                           f"{F.ns(a_max)} vs {F.ns(b_min)}{F.DASH}{F.ns(b.get('ns_per_op_max'))} ns/op): "
                           f"the order of these two is not established")
    return "", ""


def _passed_note(passed):
    """The rows with a lower median than the ones ranked, left out for a failed run."""
    if not passed:
        return ""
    return (" Not ranked, for a failed run: " +
            ", ".join(f"{F.name(c.allocator)} ({F.ns(_ns(c))} ns/op; {_runs_failed(c)})" for c in passed) + ".")


def _time_sentence(res, workload, ranked):
    best, nxt, passed = podium(res, workload)
    if best is None:
        return ("No fastest: every allocator that completed this workload had a failed run." +
                _passed_note(passed))
    s = f"Fastest: {F.name(best.allocator)} at {F.ns(_ns(best))} ns/op"
    notes = []
    if nxt is not None:
        s += (f", {F.less(_ns(best), _ns(nxt))} time per op than the next, "
              f"{F.name(nxt.allocator)} ({F.ns(_ns(nxt))})")
        kind, why = _separation(best, nxt)
        # A one-round run is said once, at the top, not in every workload's verdict.
        if kind == "overlap" or (kind == "single" and res.rounds >= 2):
            notes.append(why)
    elif len(ranked) > 1:
        s += " (the only allocator that completed every run)"
    else:
        s += " (the only allocator that completed)"
    ref = res.cells.get((workload, res.reference))
    if best.allocator == res.reference:
        if len(ranked) > 1:
            s += f"; {F.name(res.reference)} itself is the fastest"
    elif ref is None or ref.missing:
        s += f"; no {F.esc(res.reference)} row to compare with"
    elif ref.failed:
        s += f"; {F.esc(res.reference)} FAILED, so there is no comparison with it"
    elif nxt is not ref and ref not in passed:
        s += f", and {F.less(_ns(best), _ns(ref))} than {F.name(res.reference)} ({F.ns(_ns(ref))})"
    s += "." + _passed_note(passed)
    if notes:
        s += " Caution: " + "; ".join(notes) + "."
    return s


def _memory_sentence(ranked_rss, fastest):
    if not ranked_rss:
        return "No peak RSS figures."
    lean = ranked_rss[0]
    s = f"Leanest in peak RSS: {F.name(lean.allocator)} at {F.size(_rss(lean))}"
    if len(ranked_rss) > 1:
        nxt = ranked_rss[1]
        s += f" (next: {F.name(nxt.allocator)}, {F.more(_rss(nxt), _rss(lean))}, {F.size(_rss(nxt))})"
    s += "."
    if fastest is None:
        return s
    if fastest is lean:
        s += f" Trade-off: none here {F.DASH} {F.name(fastest.allocator)} is both the fastest and the leanest."
    elif lean.failed_runs and _ns(lean) <= _ns(fastest):   # left out of the ranking for a failed run
        s += f" Trade-off: {F.name(lean.allocator)} is not slower either, but it had a failed run."
    elif _rss(fastest) is not None:
        s += (f" Trade-off: {F.name(fastest.allocator)} takes {F.less(_ns(fastest), _ns(lean))} time "
              f"than {F.name(lean.allocator)} for {F.more(_rss(fastest), _rss(lean))} peak RSS "
              f"({F.size(_rss(fastest))}).")
    return s


def _phase_sentence(res, workload):
    """Per phase, the fastest allocator and its page faults beside the others': an
    allocator that faulted its memory in at init (or earlier) can win first-touch work
    for that reason alone."""
    _, names, per = D.workload_phases(res, workload)
    if len(names) < 2:
        return ""
    wins = []   # (phase, allocator, ns/op, its faults, the others' median faults or None)
    for pname in names:
        rows = sorted(((a, ph[pname]) for a, ph in per.items()
                       if pname in ph and ph[pname].ns_per_op is not None), key=lambda r: r[1].ns_per_op)
        if len(rows) < 2:
            continue
        a, p = rows[0]
        others = sorted(r[1].minor_faults for r in rows[1:] if r[1].minor_faults is not None)
        wins.append((pname, a, p.ns_per_op, p.minor_faults, others[len(others) // 2] if others else None))
    if not wins:
        return ""
    # Fewer than half the others' faults, where faults matter (>= 100): the winner's
    # memory was already there (init or an earlier phase), not won by its speed.
    prefaulted = [w for w in wins if w[4] is not None and w[4] >= 100 and w[3] is not None and w[3] < 0.5 * w[4]]
    if len(wins) <= MAX_PHASES_IN_WORDS:
        s = "Fastest by phase: " + "; ".join(
            f"{F.esc(pn)}: {F.name(a)} ({F.ns(t)} ns/op, {F.count(fl)} faults)" for pn, a, t, fl, _ in wins) + "."
    else:
        count = {}
        for w in wins:
            count[w[1]] = count.get(w[1], 0) + 1
        s = (f"Fastest by phase ({len(wins)} phases, see the per-phase table): " +
             ", ".join(f"{F.name(a)} in {k}" for a, k in sorted(count.items(), key=lambda x: -x[1])) + ".")
    if not prefaulted:
        return s
    by = {}
    for w in prefaulted:
        by.setdefault(w[1], []).append(w)
    if len(prefaulted) <= 2:
        detail = "; ".join(
            f"in {F.esc(pn)}, {F.name(a)} took {F.count(fl)} page faults against the others' median "
            f"{F.count(typ)} (its init: {F.count(D.init_cost(res.cell(workload, a))[1])} faults)"
            for pn, a, _, fl, typ in prefaulted)
    else:
        pn, a, _, fl, typ = min(prefaulted, key=lambda w: (w[3] + 1) / (w[4] + 1))
        detail = (f"in {len(prefaulted)} phases the fastest took under half the others' median page faults (" +
                  ", ".join(f"{F.name(x)} {len(ws)}" for x, ws in by.items()) +
                  f"; most: {F.esc(pn)}, {F.name(a)} {F.count(fl)} against {F.count(typ)})")
    return (s + f" Caution: {detail} {F.DASH} part of such a lead may be memory faulted in before the phase "
            "(at init or in an earlier phase), not allocator speed.")


def _idle_sentence(res, workload):
    """What each allocator still held after the last idle period, beside its peak: the
    memory it gave back to the OS while the program was quiet."""
    cells = [c for c in res.row(workload, real_only=True)
             if c.ok and c.get("idle_rss_bytes_median") is not None and _rss(c)]
    if not cells:
        return ""
    cells.sort(key=lambda c: c.get("idle_rss_bytes_median"))
    live = D.median(D.record_number(r["idle"][-1], "live_bytes") for c in cells for r in c.records
                    if isinstance(r.get("idle"), list) and r["idle"] and isinstance(r["idle"][-1], dict))
    s = ("RSS after the last idle period" + (f" (live bytes then: {F.size(live)})" if live is not None else "") +
         ": " + ", ".join(f"{F.name(c.allocator)} {F.size(c.get('idle_rss_bytes_median'))} "
                          f"({F.pct(c.get('idle_rss_bytes_median') / _rss(c))} of its peak)" for c in cells) + ".")
    if all(c.get("idle_rss_bytes_median") > 0.9 * _rss(c) for c in cells):
        s += " None gave more than 10% of its peak back to the OS while idle."
    if D.first_value(cells, "release_at_idle") is True:
        s += " (The drivers ran with --release-at-idle: each allocator was asked to release at every idle marker.)"
    return s


def workload_verdict(res, workload):
    """[HTML sentence] for one workload."""
    ranked = ranked_by_time(res, workload)
    best, nxt, _ = podium(res, workload)
    out = []
    if ranked:
        out.append(_time_sentence(res, workload, ranked))
    else:
        out.append("No allocator completed this workload: there is no verdict.")
    out.append(_memory_sentence(ranked_by_rss(res, workload), best))
    for extra in (_phase_sentence(res, workload), _idle_sentence(res, workload)):
        if extra:
            out.append(extra)
    row = res.row(workload)
    noisy = [c for c in row if c.noisy]
    if noisy:
        out.append("Noisy (CV of ns/op over 5%): " + ", ".join(
            f"{F.name(c.allocator)} {F.pct(c.get('ns_per_op_cv'))}" for c in noisy) + ".")
    failed = [c for c in row if c.failed or c.failed_runs]
    if failed:
        out.append("<span class=bad>FAILED</span>: " + ", ".join(
            F.name(c.allocator) + ("" if c.failed else f" ({c.failed_runs} of {c.failed_runs + (c.runs or 0)} runs; "
                                   f"its figures are from the {c.runs} that completed)") for c in failed) +
                   " (see errors.log below).")
    missing = [c for c in row if c.missing]
    if missing:
        out.append("Not in summary.csv: " + ", ".join(F.name(c.allocator) for c in missing) + ".")
    few = [c for c in row if c.ok and c.runs is not None and c.runs < D.FULL_ROUNDS]
    if few and not res.smoke:
        out.append("Fewer than 5 rounds: " + ", ".join(f"{F.name(c.allocator)} ({c.runs})" for c in few) + ".")
    dry = res.cells.get((workload, D.DRY))
    if dry is not None and dry.ok and best is not None:
        share = _ns(dry) / _ns(best) if _ns(best) else None
        s = (f"The harness alone (dry) takes {F.ns(_ns(dry))} ns/op, {F.pct(share)} of the fastest's "
             f"time, and is inside every row's ns/op")
        if share is not None and share > 0.3:
            s += ": differences between allocators are diluted by it"
        s += "."
        if share is not None and 0.1 <= share < 1 and nxt is not None:
            s += (f" Net of it, {F.name(best.allocator)} takes {F.less(_ns(best) - _ns(dry), _ns(nxt) - _ns(dry))} "
                  f"time per op than {F.name(nxt.allocator)} ({F.ns(_ns(best) - _ns(dry))} vs "
                  f"{F.ns(_ns(nxt) - _ns(dry))} ns/op).")
        out.append(s)
    return out


def clear_win(best, nxt):
    """Whether the fastest's whole min-max range is below the runner-up's (both with
    two rounds or more); a lone allocator has no runner-up to beat."""
    return best is not None and nxt is not None and _separation(best, nxt)[0] == "" and \
        best.runs is not None and nxt.runs is not None


def _geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def across_workloads(res):
    """Per allocator: wins in time and in peak RSS, geometric means vs the reference,
    failures and noisy cells. [(allocator, dict)] in allocator order, dry excluded."""
    table = []
    podiums = [podium(res, w) for w in res.workloads]
    for a in res.allocators:
        if a == D.DRY:
            continue
        t_ratio, m_ratio = [], []
        for w in res.workloads:
            c, ref = res.cell(w, a), res.cells.get((w, res.reference))
            if c.ok and ref is not None and ref.ok:
                t_ratio.append(_ns(c) / _ns(ref) if _ns(ref) else None)
                if _rss(c) is not None and _rss(ref):
                    m_ratio.append(_rss(c) / _rss(ref))
        cells = [res.cell(w, a) for w in res.workloads]
        table.append((a, {
            "time_wins": sum(1 for best, _, _ in podiums if best is not None and best.allocator == a),
            "clear_wins": sum(1 for best, nxt, _ in podiums
                              if best is not None and best.allocator == a and clear_win(best, nxt)),
            "rss_wins": sum(1 for w in res.workloads
                            if (r := ranked_by_rss(res, w)) and r[0].allocator == a),
            "completed": sum(1 for c in cells if c.ok),
            "failed": [c.workload for c in cells if c.failed or c.failed_runs],
            "noisy": sum(1 for c in cells if c.noisy),
            "time_geo": _geomean(t_ratio), "time_n": len(t_ratio),
            "rss_geo": _geomean(m_ratio), "rss_n": len(m_ratio),
        }))
    return table


def overall(res):
    """[HTML paragraph] for the recommendation section: what the data shows."""
    out = []
    table = across_workloads(res)
    n = len(res.workloads)
    if res.smoke:
        out.append("<span class=warn>Smoke run</span> (see the caution above): what follows is a check "
                   "that the comparison works, not a ranking to act on.")
    if not table:
        return out + ["The results hold no allocator rows (only the harness baseline)."]
    winners = [(a, s["time_wins"]) for a, s in table if s["time_wins"]]
    winners.sort(key=lambda x: -x[1])
    lean = [(a, s["rss_wins"]) for a, s in table if s["rss_wins"]]
    lean.sort(key=lambda x: -x[1])
    if winners:
        clear = dict((a, s["clear_wins"]) for a, s in table)
        single = res.rounds < 2
        # How many wins are clear said once, with the allocators that have them.
        rng = f"the runner-up's min{F.DASH}max range"
        n_clear, n_wins = sum(clear[a] for a, _ in winners), sum(k for _, k in winners)
        if single:
            how = " (one round: no win can be told from noise)"
        elif n_clear == 0:
            how = f" (none of these wins is clear of {rng})"
        elif n_clear == n_wins:
            how = f" ({'every one of these wins is' if n_wins > 1 else 'the win is'} clear of {rng})"
        else:
            how = (f"; {n_clear} of these {n_wins} wins are clear of {rng} (" +
                   ", ".join(f"{F.name(a)} {clear[a]}" for a, _ in winners if clear[a]) + "), the others are not")
        out.append(f"Fastest (median ns/op) over the {n} workload{'s' if n != 1 else ''}: " +
                   ", ".join(f"{F.name(a)} in {k}" for a, k in winners) + how +
                   ". Leanest in peak RSS: " + (", ".join(f"{F.name(a)} in {k}" for a, k in lean) or F.DASH) + ".")
    top = winners[0][0] if winners else None
    ranked_workloads = sum(1 for w in res.workloads if ranked_by_time(res, w))
    if top is not None and winners[0][1] == ranked_workloads:
        s = dict(table)[top]
        msg = f"On this data {F.name(top)} is the fastest on every workload measured"
        if s["rss_geo"] is not None and top != res.reference:
            msg += (f", at {F.ratio(s['rss_geo'])} {F.esc(res.reference)}'s peak RSS "
                    f"(geometric mean over {s['rss_n']} workloads)")
        out.append(msg + ".")
    elif winners:
        out.append("No allocator is the fastest on every workload: the choice depends on which of "
                   "these workloads resemble the server in question (see the verdicts below).")
    geo = [(a, s) for a, s in table if s["time_geo"] is not None and a != res.reference]
    if geo:
        out.append(f"Geometric mean relative to {F.esc(res.reference)} (time; peak RSS) over the workloads "
                   f"where both completed: " + ", ".join(
                       f"{F.name(a)} {F.ratio(s['time_geo'])}; {F.ratio(s['rss_geo'])} ({s['time_n']})"
                       for a, s in geo) + ". Below 1\u00d7 is faster or smaller.")
    elif res.reference not in res.allocators:
        out.append(f"There is no {F.esc(res.reference)} row, so no ratios to it.")
    failed = [(a, s["failed"]) for a, s in table if s["failed"]]
    for a, ws in failed:
        out.append(f"{F.name(a)} <span class=bad>FAILED</span> on {', '.join(F.esc(w) for w in ws)}: "
                   f"it cannot be recommended for such work until that is understood (errors.log below).")
    noisy = sum(s["noisy"] for _, s in table)
    if noisy:
        out.append(f"{noisy} cell{'s' if noisy != 1 else ''} had a CV of ns/op over 5% "
                   "(flagged in the tables): rerun on a quiet machine before relying on close margins.")
    out.append("These figures hold for this machine, these workloads and the allocators' "
               "settings recorded below; they say nothing about workloads not in this run.")
    return out


def smoke_caution(res):
    scale = res.scale
    bits = []
    if res.rounds < D.FULL_ROUNDS:
        bits.append(f"{res.rounds} round{'s' if res.rounds != 1 else ''} (fewer than {D.FULL_ROUNDS})")
    if scale is not None and scale < 1:
        bits.append(f"scale {scale:g} (the workloads shrunk)")
    return ("<span class=warn>Smoke run</span>: " + " and ".join(bits) +
            ". Treat every figure here as a check that the pipeline works, not as a measurement; "
            "rerun with <code>./run_all.sh</code> (5 rounds, full scale) before deciding anything.")
