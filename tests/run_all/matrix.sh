#!/bin/bash
# matrix.sh BUILD_DIR - the front door end to end, as a user runs it: `./run_all.sh
# --quick` on two allocators and two workloads, charts and report included, writes every
# file results/README.md promises: valid JSON (jq) and CSV (one column count), a record
# and a timeline per run, non-empty PNG and SVG charts, and a report.html that headless
# Chromium renders with all its images.
set -euo pipefail
cd "$(dirname "$0")/../.."
for need in chromium jq gnuplot /usr/bin/python3; do
    command -v "$need" > /dev/null || { echo "matrix.sh: $need is missing (make test-deps)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/allocmark-matrix.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "matrix.sh: FAIL: $*" >&2; exit 1; }
# shellcheck source=tests/run_all/html_check.bash
. tests/run_all/html_check.bash

d=$tmp/run
./run_all.sh --quick --seed 5 -a glibc,slab -w churn,handwritten -o "$d" > "$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; fail "run_all.sh exited non-zero"; }
cells="churn.wl.glibc churn.wl.slab handwritten.trace.glibc handwritten.trace.slab"

for f in args command plan.txt machine.txt machine.json order.txt runs.jsonl summary.csv summary.txt report.html; do
    [ -s "$d/$f" ] || fail "$d/$f missing or empty"
done
[ -e "$d/errors.log" ] || fail "$d/errors.log missing"

# JSON: machine.json one object with the machine and every allocator's version;
# runs.jsonl one object per run (one round: 4), each naming its cell and measured.
jq -e '.command and .cpu and .cores and .kernel and .libc and .compiler and
       (.allocators | has("glibc") and has("slab"))' "$d/machine.json" > /dev/null ||
    fail "machine.json lacks a field: $(cat "$d/machine.json")"
[ "$(jq -c . "$d/runs.jsonl" | wc -l)" -eq 4 ] || fail "runs.jsonl: not 4 valid JSON lines"
[ "$(jq -r 'select(.round == 1 and .ns_per_op > 0 and .peak_rss_bytes > 0) | "\(.workload).\(.row)"' \
    "$d/runs.jsonl" | sort | tr '\n' ' ')" = "$cells " ] || fail "runs.jsonl does not hold one measured record per cell"

# CSV: every line as many fields as the header, one row per cell.
awk -F, 'NR == 1 { n = NF; next } NF != n { print FILENAME ":" NR ": " NF " fields, header has " n; bad = 1 }
         END { exit bad }' "$d/summary.csv" || fail "summary.csv is ragged"
[ "$(tail -n +2 "$d/summary.csv" | wc -l)" -eq 4 ] || fail "summary.csv: not 4 rows"
grep -q '^churn.wl,slab,1,[0-9.]*,' "$d/summary.csv" || fail "summary.csv: no measured churn.wl,slab row"

for c in $cells; do
    [ -s "$d/raw/$c.jsonl" ] || fail "raw/$c.jsonl missing"
    tl=$d/timelines/$c.r1.csv
    [ "$(head -n 1 "$tl")" = trace,op,t_ns,rss_bytes,live_bytes,event,index ] || fail "$tl: no timeline header"
    [ "$(wc -l < "$tl")" -gt 10 ] || fail "$tl: fewer than 10 samples"
done

# Charts: each kind as PNG (its signature) and SVG (well-formed enough to close).
for c in time rss frag tradeoff timeline-churn.wl timeline-handwritten.trace; do
    png=$d/plots/$c.png svg=$d/plots/$c.svg
    [ "$(head -c 8 "$png" 2> /dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png is not a PNG"
    [ "$(stat -c %s "$png")" -gt 5000 ] || fail "$png is under 5 kB"
    { grep -q '<svg' "$svg" && grep -q '</svg>' "$svg"; } || fail "$svg is not an SVG"
done

check_html "$d/report.html" 5
grep -q -- '--quick --seed 5 -a glibc,slab -w churn,handwritten' "$d/report.html" ||
    fail "report.html does not give the command that reproduces it"
echo "ok: run_all.sh --quick wrote every file, 4 runs, charts and a report Chromium renders"
