"""report_data - read a results folder (see results/README.md) into plain Python.

Everything the report shows comes through load_results(); a file that is present but
malformed raises InputError naming the file (and line), so report.py can exit non-zero
with one clear message instead of a traceback. Optional parts (machine.json, raw/,
timelines/, histograms/, errors.log) may be absent: the report says so instead of failing.
"""

import collections
import csv
import json
import math
import os
import re
import statistics

NOISY_CV = 0.05          # a cell whose ns/op CV is above this is flagged noisy
FULL_ROUNDS = 5          # fewer rounds than this (or scale < 1) is a smoke run
DRY = "dry"              # the harness alone: a baseline row, not an allocator
REFERENCE = "glibc"      # ratios are to this row (or glibc+PROFILE in a profile run)
MAX_PHASES_SHOWN = 40    # a trace with more phase markers: the first ones in the table and chart

REQUIRED_COLUMNS = ("workload", "allocator", "ns_per_op_median")
NUMERIC_COLUMNS = (
    "runs", "ns_per_op_median", "ns_per_op_min", "ns_per_op_max", "ns_per_op_cv",
    "wall_s_median", "wall_s_min", "wall_s_max", "wall_s_cv", "peak_rss_bytes_median",
    "frag_peak_median", "frag_end_median", "minor_faults_median", "idle_rss_bytes_median",
    "time_vs_glibc", "peak_rss_vs_glibc", "failed_runs", "winner",
)
# Columns read elsewhere or recomputed here: not listed as "not shown" in the report.
KNOWN_COLUMNS = ()
TIMELINE_COLUMNS = ("op", "rss_bytes", "live_bytes", "event")


class InputError(Exception):
    """A results file that exists but cannot be read or understood."""


class Cell:
    """One workload x allocator row of summary.csv plus what raw/ adds to it."""

    def __init__(self, workload, allocator, values):
        self.workload = workload
        self.allocator = allocator
        self.v = values                  # column -> float or None (empty field)
        self.records = []                # raw/<workload>.<allocator>.jsonl, one per round
        self.timeline = None             # (round, rows) of the lowest round found
        self.histogram = None            # (round, {kind: [(lo, hi, count)]}), with --latency
        self.round_ns = {}               # round -> ns/op, from runs.jsonl
        self.failed_rounds = set()       # rounds runs.jsonl records as failed
        self.missing = False             # no row at all in summary.csv

    def get(self, column):
        return self.v.get(column)

    @property
    def runs(self):
        """Completed runs: summary.csv's runs, else the raw records; None if neither says."""
        r = self.get("runs")
        return int(r) if r is not None else (len(self.records) if self.records else None)

    @property
    def failed(self):
        return not self.missing and (self.get("ns_per_op_median") is None or self.runs == 0)

    @property
    def failed_runs(self):
        """Runs of this cell that crashed or timed out (summary.csv's failed_runs)."""
        f = self.get("failed_runs")
        return int(f) if f is not None else 0

    @property
    def ok(self):
        return not self.missing and not self.failed

    @property
    def noisy(self):
        cv = self.get("ns_per_op_cv")
        return self.ok and cv is not None and cv > NOISY_CV

    @property
    def is_dry(self):
        return self.allocator == DRY


class Results:
    def __init__(self, folder):
        self.folder = folder
        self.machine = {}
        self.machine_note = None         # why machine.json is not shown, if it is not
        self.workloads = []              # in summary.csv order
        self.allocators = []             # reference first, dry last
        self.reference = REFERENCE       # the row ratios are relative to
        self.cells = {}                  # (workload, allocator) -> Cell
        self.extra_columns = []          # summary.csv columns this report does not know
        self.winner_column = False       # summary.csv marks each workload's winner (1)
        self.errors_log = ""
        self.timeline_files = 0

    def cell(self, workload, allocator):
        return self.cells[(workload, allocator)]

    def row(self, workload, real_only=False):
        """The cells of one workload in allocator order (missing ones included)."""
        return [self.cells[(workload, a)] for a in self.allocators
                if not (real_only and a == DRY)]

    @property
    def rounds(self):
        r = _number(self.machine.get("rounds"))
        if r is None:
            runs = [c.runs for c in self.cells.values() if c.ok and c.runs is not None]
            return max(runs) if runs else 0
        return int(r)

    @property
    def scale(self):
        return _number(self.machine.get("scale"))

    @property
    def smoke(self):
        scale = self.scale
        return self.rounds < FULL_ROUNDS or (scale is not None and scale < 1)


def _number(text):
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None


def _read_summary(path, res):
    if not os.path.isfile(path):
        raise InputError(f"{path}: no summary.csv (is {os.path.dirname(path) or '.'} a results folder?)")
    text = _read_text(path)
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise InputError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    lost = [c for c in REQUIRED_COLUMNS if c not in header]
    if lost:
        raise InputError(f"{path}: header has no column {', '.join(lost)} (line 1: {','.join(header)[:120]})")
    res.extra_columns = [h for h in header if h not in NUMERIC_COLUMNS + REQUIRED_COLUMNS + KNOWN_COLUMNS]
    res.winner_column = "winner" in header
    seen_alloc = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(field.strip() for field in row):
            continue
        if len(row) < len(REQUIRED_COLUMNS):
            raise InputError(f"{path}:{lineno}: {len(row)} fields, the header has {len(header)}")
        rec = dict(zip(header, (field.strip() for field in row)))
        workload, allocator = rec.get("workload", ""), rec.get("allocator", "")
        if not workload or not allocator:
            raise InputError(f"{path}:{lineno}: empty workload or allocator")
        values = {}
        for col in NUMERIC_COLUMNS:
            field = rec.get(col, "")
            if field in ("", "nan", "NaN", "-"):
                values[col] = None
                continue
            x = _number(field)
            if x is None:
                raise InputError(f"{path}:{lineno}: column {col} is not a number: '{field[:40]}'")
            values[col] = x
        if (workload, allocator) in res.cells:
            raise InputError(f"{path}:{lineno}: a second row for {workload} x {allocator}")
        if workload not in res.workloads:
            res.workloads.append(workload)
        if allocator not in seen_alloc:
            seen_alloc.append(allocator)
        res.cells[(workload, allocator)] = Cell(workload, allocator, values)
    if not res.cells:
        raise InputError(f"{path}: no rows under the header")
    # The same baseline row as harness/run_all/results.sh: glibc, else the first glibc+PROFILE.
    res.reference = REFERENCE if REFERENCE in seen_alloc else \
        next((a for a in seen_alloc if a.startswith(REFERENCE + "+")), REFERENCE)
    rest = [a for a in seen_alloc if a not in (res.reference, DRY)]
    res.allocators = ([res.reference] if res.reference in seen_alloc else []) + rest + \
        ([DRY] if DRY in seen_alloc else [])
    # A workload x allocator that summary.csv does not list at all is a hole in the
    # matrix (e.g. a partial or resumed run): keep it visible as "missing".
    for w in res.workloads:
        for a in res.allocators:
            if (w, a) not in res.cells:
                c = Cell(w, a, {})
                c.missing = True
                res.cells[(w, a)] = c


def _parse_object(text, where):
    """The JSON object in text; anything else is an InputError naming where (the file,
    or file:line for a JSON-lines file) and the position in text."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        pos = f"column {e.colno}" if e.lineno == 1 else f"line {e.lineno} column {e.colno}"
        raise InputError(f"{where}: not valid JSON: {e.msg} at {pos}") from None
    if not isinstance(obj, dict):
        raise InputError(f"{where}: not a JSON object")
    return obj


def _read_machine(path, res):
    if not os.path.isfile(path):
        res.machine_note = "machine.json is missing from this folder"
        return
    res.machine = _parse_object(_read_text(path), path)


def _json_lines(path):
    """The JSON objects of a JSON-lines file (raw/*.jsonl, runs.jsonl), blank lines
    skipped; a bad line is an InputError naming the file and line."""
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if line.strip():
            yield _parse_object(line, f"{path}:{lineno}")


def _read_raw(folder, res):
    for cell in res.cells.values():
        path = os.path.join(folder, "raw", f"{cell.workload}.{cell.allocator}.jsonl")
        if not os.path.isfile(path):
            continue
        cell.records.extend(_json_lines(path))


def _read_timeline(path):
    text = _read_text(path)
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path}: empty timeline")
    header = [h.strip() for h in header]
    lost = [c for c in TIMELINE_COLUMNS if c not in header]
    if lost:
        raise InputError(f"{path}: timeline header has no column {', '.join(lost)}")
    col = {name: header.index(name) for name in TIMELINE_COLUMNS}
    rows = []
    for lineno, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            rows.append((float(row[col["op"]]), float(row[col["rss_bytes"]]),
                         float(row[col["live_bytes"]]), row[col["event"]].strip()))
        except (ValueError, IndexError):
            raise InputError(f"{path}:{lineno}: not a timeline row: '{','.join(row)[:80]}'") from None
    return rows


def _read_histogram(path):
    """{op kind: [(lo_ns, hi_ns, count)]} from the driver's --histogram CSV."""
    text = _read_text(path)
    lines = text.splitlines()
    if not lines or [h.strip() for h in lines[0].split(",")] != ["kind", "lo_ns", "hi_ns", "count"]:
        raise InputError(f"{path}: not a latency histogram (header kind,lo_ns,hi_ns,count)")
    out = {}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        f = line.split(",")
        try:
            out.setdefault(f[0].strip(), []).append((float(f[1]), float(f[2]), float(f[3])))
        except (ValueError, IndexError):
            raise InputError(f"{path}:{lineno}: not a histogram row: '{line[:80]}'") from None
    return out


def _read_round_times(path, res):
    """runs.jsonl (one line per run: round, row, workload, ns_per_op or failed):
    each cell's {round: ns/op} of its completed runs, for picking a typical round, and
    its failed rounds, whose files are not read."""
    if not os.path.isfile(path):
        return
    for rec in _json_lines(path):
        cell = res.cells.get((rec.get("workload"), rec.get("row")))
        rnd, ns = rec.get("round"), record_number(rec, "ns_per_op")
        if cell is None or not isinstance(rnd, int):
            continue
        if rec.get("failed"):
            cell.failed_rounds.add(rnd)
        elif ns is not None:
            cell.round_ns[rnd] = ns


def _typical_round(cell, rounds):
    """Of the rounds with a file, the one whose ns/op is the cell's median (the lower of
    the two middle ones), so a chart shows a typical run; the lowest round when
    runs.jsonl does not say."""
    timed = sorted((cell.round_ns[r], r) for r in rounds if r in cell.round_ns)
    return timed[(len(timed) - 1) // 2][1] if timed else min(rounds)


def _read_per_round(folder, sub, res, attr, reader):
    """SUB/<workload>.<row>.r<round>.csv (timelines/, histograms/): one typical round's
    file of each cell, read by reader, set as (round, data) on the cell's attr.
    A failed cell's files and a failed round's are not read: a crashed run can leave
    an empty or partial file behind. Returns how many such files the folder has (0
    when there is no folder)."""
    tdir = os.path.join(folder, sub)
    if not os.path.isdir(tdir):
        return 0
    names = sorted(os.listdir(tdir))
    for cell in res.cells.values():
        if not cell.ok:
            continue
        pattern = re.compile(re.escape(f"{cell.workload}.{cell.allocator}.r") + r"(\d+)\.csv$")
        found = {int(m.group(1)): n for n in names for m in [pattern.match(n)]
                 if m and int(m.group(1)) not in cell.failed_rounds}
        if found:
            rnd = _typical_round(cell, found)
            setattr(cell, attr, (rnd, reader(os.path.join(tdir, found[rnd]))))
    return sum(1 for n in names if n.endswith(".csv"))


def load_results(folder):
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: not a folder")
    res = Results(folder)
    _read_summary(os.path.join(folder, "summary.csv"), res)
    _read_machine(os.path.join(folder, "machine.json"), res)
    _read_raw(folder, res)
    _read_round_times(os.path.join(folder, "runs.jsonl"), res)
    res.timeline_files = _read_per_round(folder, "timelines", res, "timeline", _read_timeline)
    _read_per_round(folder, "histograms", res, "histogram", _read_histogram)
    log = os.path.join(folder, "errors.log")
    if os.path.isfile(log):
        res.errors_log = _read_text(log)
    return res


# ---- figures derived from the raw records (medians over rounds) ----

def median(values):
    xs = [x for x in values if x is not None]
    return statistics.median(xs) if xs else None


def record_number(rec, *path):
    """rec[path[0]][path[1]]... as a float, or None when absent or not a number."""
    x = rec
    for key in path:
        if not isinstance(x, dict) or key not in x:
            return None
        x = x[key]
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _phase_list(rec):
    """[(label, phase dict)] of one record; a name used twice becomes 'name #2'."""
    out, seen = [], {}
    for ph in rec.get("phases") or []:
        if isinstance(ph, dict) and ph.get("name") is not None:
            name = str(ph["name"])
            seen[name] = seen.get(name, 0) + 1
            out.append((name if seen[name] == 1 else f"{name} #{seen[name]}", ph))
    return out


Phase = collections.namedtuple("Phase", "label ns_per_op minor_faults ops")


def phases(cell):
    """[Phase(label, median ns/op, median minor faults, median ops)] over the rounds,
    in trace order; [] when the records have no phases."""
    labels, rows = [], {}
    for rec in cell.records:
        for label, ph in _phase_list(rec):
            if label not in rows:
                labels.append(label)
                rows[label] = []
            rows[label].append(ph)
    return [Phase(label, median(record_number(p, "ns_per_op") for p in rows[label]),
                  median(record_number(p, "minor_faults") for p in rows[label]),
                  median(record_number(p, "ops") for p in rows[label])) for label in labels]


def workload_phases(res, workload):
    """The phases of a workload's completed allocator rows that have raw records:
    (cells, phase labels in trace order, {allocator: {label: Phase}})."""
    cells = [c for c in res.row(workload, real_only=True) if c.ok and c.records]
    per, labels = {}, []
    for c in cells:
        per[c.allocator] = {}
        for p in phases(c):
            per[c.allocator][p.label] = p
            if p.label not in labels:
                labels.append(p.label)
    return cells, labels, per


def init_cost(cell):
    """(median init_ns, median init_minor_faults) over the rounds."""
    return (median(record_number(r, "init_ns") for r in cell.records),
            median(record_number(r, "init_minor_faults") for r in cell.records))


PERCENTILES = (("p50", "p50_ns"), ("p90", "p90_ns"), ("p99", "p99_ns"),
               ("p99.9", "p99_9_ns"), ("max", "max_ns"))


def latency(cell):
    """{op kind: [median of each PERCENTILES entry]} for kinds with a count > 0
    (the median count is under the key (kind, "count"))."""
    out = {}
    kinds = []
    for rec in cell.records:
        lat = rec.get("latency")
        if isinstance(lat, dict):
            for kind, v in lat.items():
                if kind != "timer" and isinstance(v, dict) and (record_number(v, "count") or 0) > 0 \
                        and kind not in kinds:
                    kinds.append(kind)
    for kind in kinds:
        out[kind] = [median(record_number(r, "latency", kind, key) for r in cell.records)
                     for _, key in PERCENTILES]
        out[(kind, "count")] = median(record_number(r, "latency", kind, "count") for r in cell.records)
    return out


def first_value(cells, *path):
    """The first raw record value at path over cells (e.g. the touch policy), or None."""
    for c in cells:
        for rec in c.records:
            x = rec
            for key in path:
                x = x.get(key) if isinstance(x, dict) else None
            if x is not None:
                return x
    return None
