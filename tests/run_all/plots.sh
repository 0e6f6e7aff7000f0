#!/bin/bash
# tests/run_all/plots.sh BUILD_DIR - plots/plots.sh on real results folders: a quick
# run (every chart as a valid PNG and SVG), the same folder damaged (a FAILED cell, a
# workload without glibc, names with dots, dashes and plus signs, a --profile run's
# row names), a --latency run (latency charts), and bad input (refused naming the
# file, nothing half-written).
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
work=$(mktemp -d "${TMPDIR:-/tmp}/allocmark-test-plots.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# PLOTS: the script under test (another copy only to check that this test can fail)
PLOTS=${PLOTS:-plots/plots.sh}

# files_in DIR: the names in DIR, dot files too.
files_in() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n'; }
# check_png FILE: the PNG signature, an IHDR at least 800x400, a plausible size.
check_png() {
    local f=$1 size w h
    [ -s "$f" ] || fail "$f: missing or empty"
    [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f: no PNG signature"
    read -r w h < <(od -An -tu1 -j16 -N8 "$f" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }')
    if [ "$w" -lt 800 ] || [ "$h" -lt 400 ] || [ "$w" -gt 5000 ]; then fail "$f: ${w}x$h pixels"; fi
    size=$(stat -c %s "$f")
    if [ "$size" -lt 8000 ] || [ "$size" -gt 5000000 ]; then fail "$f: $size bytes"; fi
}
# check_svg FILE: well-formed XML with an <svg> root.
check_svg() {
    local f=$1
    [ -s "$f" ] || fail "$f: missing or empty"
    if command -v xmllint > /dev/null; then
        xmllint --noout "$f" 2> "$work/xmllint.err" || fail "$f: not well-formed XML: $(head -3 "$work/xmllint.err")"
    fi
    if ! grep -q '<svg' "$f" || ! grep -q '</svg>' "$f"; then fail "$f: no <svg> ... </svg>"; fi
}
# check_charts DIR NAME...: each NAME.png and NAME.svg valid; no temp file left behind.
check_charts() {
    local d=$1 n
    shift
    for n in "$@"; do
        check_png "$d/plots/$n.png"
        check_svg "$d/plots/$n.svg"
    done
    if files_in "$d/plots" | grep -q tmp; then fail "$d/plots: temp files left: $(files_in "$d/plots" | grep tmp)"; fi
}
# plots DIR: plots/plots.sh DIR must succeed (its stderr kept in $work/err).
plots() { "$PLOTS" "$1" 2> "$work/err" || { cat "$work/err" >&2; fail "plots.sh $1 failed"; }; }

# 1. A quick run, its charts drawn here (--no-plots: this tests plots.sh alone).
base=$work/base
./run_all.sh --quick --seed 1 -a glibc,slab -w churn,handwritten --bin "$B/bin" -o "$base" --no-plots > "$work/run.out" 2>&1 ||
    { tail -20 "$work/run.out" >&2; fail "run_all.sh --quick"; }
ls "$base"/timelines/churn.wl.glibc.r1.csv > /dev/null || fail "run_all.sh wrote no timelines/"
cp -r "$base" "$work/pristine"
plots "$base"
all="time rss frag tradeoff tradeoff-workloads timeline-churn.wl timeline-handwritten.trace"
# shellcheck disable=SC2086
check_charts "$base" $all
if ls "$base"/plots/latency-* > /dev/null 2>&1; then fail "latency charts drawn without latency data"; fi
grep -q 'relative to glibc' "$base/plots/time.svg" || fail "time.svg does not say it is relative to glibc"
grep -q 'slab(r1)' "$base/plots/timeline-churn.wl.svg" || fail "timeline-churn.wl.svg does not name the round drawn"
grep -q '>steady<' "$base/plots/timeline-churn.wl.svg" || fail "timeline-churn.wl.svg does not mark churn's steady phase"
# the same folder again: the charts are replaced, nothing else appears, and a chart of
# a workload that is not in the folder any more goes
touch "$base/plots/timeline-gone.wl.png" "$base/plots/latency-gone.wl.svg"
plots "$base"
n=$(files_in "$base/plots" | wc -l)
[ "$n" -eq 14 ] || fail "a second run left $n files in plots/, not 14"

# 1b. The timeline round, as the report picks it: of the rounds that did not fail, the
# one whose ns/op (runs.jsonl) is the median, the lower middle one of an even count;
# the lowest round with a file without runs.jsonl. Rounds 1-4 of glibc on churn, peak
# RSS growing with the round (the peak-RSS median would be r2), ns/op 40, 10, 30 and a
# failed round 4 (with a file: a crashed run may leave one): r3.
d=$work/rounds
cp -r "$work/pristine" "$d"
t=$d/timelines/churn.wl.glibc
for k in 2 3 4; do
    awk -F, -v OFS=, -v k="$k" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; print; next } { $(c["rss_bytes"]) *= k; $(c["live_bytes"]) *= k; print }' "$t.r1.csv" > "$t.r$k.csv"
done
grep -v '"row":"glibc","workload":"churn.wl"' "$work/pristine/runs.jsonl" > "$d/runs.jsonl"
for rn in 1:40 2:10 3:30; do
    printf '{"round":%d,"row":"glibc","workload":"churn.wl","ns_per_op":%d,"peak_rss_bytes":1}\n' "${rn%:*}" "${rn#*:}" >> "$d/runs.jsonl"
done
echo '{"round":4,"row":"glibc","workload":"churn.wl","failed":true,"exit_status":139,"signal":"SIGSEGV","reason":"x","seconds":0.1}' >> "$d/runs.jsonl"
# (and 35 more phases, p1..p35 at ops 1..35: every one marked, as the report shows up to 40)
extra=$(for i in $(seq 1 35); do printf '{"name":"p%d","first_op":%d},' "$i" "$i"; done)
sed -i "1s/\"phases\":\[/&$extra/" "$d/raw/churn.wl.glibc.jsonl"
plots "$d"
grep -q 'glibc(r3)' "$d/plots/timeline-churn.wl.svg" || fail "timeline-churn.wl.svg: not the round of median ns/op (r3) of the rounds that did not fail"
grep -q '>p35<' "$d/plots/timeline-churn.wl.svg" || fail "timeline-churn.wl.svg: the 35th phase of 37 is not marked"
# two rounds left (r1 40, r2 10): the lower middle one, r2
grep -v '"round":3,"row":"glibc","workload":"churn.wl"' "$d/runs.jsonl" > "$d/runs.2" && mv "$d/runs.2" "$d/runs.jsonl"
rm "$t.r3.csv"
plots "$d"
grep -q 'glibc(r2)' "$d/plots/timeline-churn.wl.svg" || fail "timeline-churn.wl.svg: not the lower middle round of two (r2)"
rm "$d/runs.jsonl"
plots "$d"
grep -q 'glibc(r1)' "$d/plots/timeline-churn.wl.svg" || fail "timeline-churn.wl.svg: without runs.jsonl, not the lowest round (r1)"

# 2. A FAILED cell (as run_all.sh writes it: runs 0, no figures, no raw file).
d=$work/failed
cp -r "$work/pristine" "$d"
awk -F, -v OFS=, '$1 == "handwritten.trace" && $2 == "slab" { for (i = 3; i <= NF; i++) $i = ""; $3 = 0 } 1' "$work/pristine/summary.csv" > "$d/summary.csv"
rm -f "$d"/raw/handwritten.trace.slab.jsonl "$d"/timelines/handwritten.trace.slab.r*.csv
rm "$d/machine.json"   # optional: only the line naming the run under each title needs it
plots "$d"
# shellcheck disable=SC2086
check_charts "$d" $all
grep -q 'no result (run failed or missing)' "$d/plots/time.svg" || fail "time.svg does not mark the FAILED cell"
grep -q 'slab(none)' "$d/plots/timeline-handwritten.trace.svg" || fail "the timeline does not say slab has none"

# 3. A workload without a glibc row: no ratios, absolute figures, and the title says why.
d=$work/noglibc
cp -r "$work/pristine" "$d"
grep -v '^churn\.wl,glibc,' "$work/pristine/summary.csv" > "$d/summary.csv"
sed -i 's/"profile":[^,]*,//' "$d/machine.json"   # as an older run_all.sh wrote it
plots "$d"
# shellcheck disable=SC2086
check_charts "$d" $all
for n in time rss tradeoff tradeoff-workloads; do
    grep -q 'no glibc result for churn.wl' "$d/plots/$n.svg" || fail "$n.svg does not say churn.wl has no glibc result"
done
grep -q 'MiB' "$d/plots/rss.svg" || fail "rss.svg without glibc is not in MiB"

# 4. Names with dots, dashes and plus signs (a --profile row is ALLOC+NAME).
d=$work/names
cp -r "$work/pristine" "$d"
w2=hand-written+v1.2.trace a2=slab+retain.v2-x
sed "s/^handwritten\.trace,/$w2,/; s/,slab,/,$a2,/" "$work/pristine/summary.csv" > "$d/summary.csv"
for f in "$d"/raw/* "$d"/timelines/*; do
    n=$(basename "$f" | sed "s/^handwritten\.trace\./$w2./; s/\.slab\./.$a2./")
    [ "$n" = "$(basename "$f")" ] || mv "$f" "$(dirname "$f")/$n"
done
plots "$d"
check_charts "$d" time rss frag tradeoff tradeoff-workloads timeline-churn.wl "timeline-$w2"
grep -qF "$a2" "$d/plots/time.svg" || fail "time.svg does not name $a2"
grep -qF "$a2(r1)" "$d/plots/timeline-$w2.svg" || fail "timeline-$w2.svg has no $a2 line"

# A --profile run's rows are ALLOC+PROFILE: ratios are to glibc+PROFILE, as in the summary.
d=$work/profile
cp -r "$work/pristine" "$d"
sed 's/,glibc,/,glibc+retain,/; s/,slab,/,slab+retain,/' "$work/pristine/summary.csv" > "$d/summary.csv"
for f in "$d"/raw/* "$d"/timelines/*; do
    n=$(basename "$f" | sed 's/\.glibc\./.glibc+retain./; s/\.slab\./.slab+retain./')
    mv "$f" "$(dirname "$f")/$n"
done
plots "$d"
# shellcheck disable=SC2086
check_charts "$d" $all
for n in time rss tradeoff; do
    grep -qF 'relative to glibc+retain' "$d/plots/$n.svg" || fail "$n.svg is not relative to glibc+retain"
done

# 5. A --latency run: latency charts per workload, one panel per op kind.
lat=$work/latency
./run_all.sh --quick --latency --seed 1 -a glibc,slab -w handwritten --bin "$B/bin" -o "$lat" --no-plots > "$work/run.out" 2>&1 ||
    { tail -20 "$work/run.out" >&2; fail "run_all.sh --quick --latency"; }
plots "$lat"
check_charts "$lat" time rss frag tradeoff tradeoff-workloads timeline-handwritten.trace latency-handwritten.trace
# each panel's title gives the calls of its kind as the raw record counts them
calls() { grep -o '"latency":{.*' "$lat/raw/handwritten.trace.glibc.jsonl" | grep -o "\"$1\":{\"count\":[0-9]*" | head -1 | sed 's/.*://'; }
for s in "malloc ($(calls malloc) calls)" "free ($(calls free) calls)" 'p99.9' 'a --latency run'; do
    grep -qF "$s" "$lat/plots/latency-handwritten.trace.svg" || fail "latency-handwritten.trace.svg has no \"$s\""
done

# 6. Bad input: refused, the file named, nothing new in plots/ and no temp file.
# expect_error DIR WHAT: plots.sh DIR must fail with WHAT in its message.
expect_error() {
    if "$PLOTS" "$1" 2> "$work/err"; then fail "plots.sh accepted $1 ($2)"; fi
    grep -qF -- "$2" "$work/err" || fail "plots.sh $1: the message does not name $2: $(cat "$work/err")"
    if [ -d "$1/plots" ] && files_in "$1/plots" | grep -q .; then fail "$1/plots/ written on bad input: $(files_in "$1/plots")"; fi
}
expect_error "$work/nowhere" "$work/nowhere"
d=$work/nosummary
cp -r "$work/pristine" "$d" && rm "$d/summary.csv"
expect_error "$d" "$d/summary.csv"
d=$work/badnumber
cp -r "$work/pristine" "$d"
sed '3s/^\([^,]*,[^,]*,[^,]*,\)[^,]*/\1fast/' "$work/pristine/summary.csv" > "$d/summary.csv"
expect_error "$d" "$d/summary.csv:3: ns_per_op_median is not a number"
d=$work/badtimeline
cp -r "$work/pristine" "$d"
printf 'when,what\n1,2\n' > "$d/timelines/churn.wl.slab.r1.csv"
expect_error "$d" "$d/timelines/churn.wl.slab.r1.csv"
d=$work/noraw
cp -r "$work/pristine" "$d" && rm "$d/raw/churn.wl.glibc.jsonl"
expect_error "$d" "$d/raw/churn.wl.glibc.jsonl"
"$PLOTS" > /dev/null 2>&1 && fail "plots.sh without a folder succeeded"
echo "plots: every chart valid on a quick run, a FAILED cell, no glibc, odd names, a --latency run; bad input refused"
