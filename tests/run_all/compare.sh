#!/bin/bash
# compare.sh BUILD_DIR - `./run_all.sh compare OLD NEW` (harness/run_all/compare.sh) on a
# real 5-round run and copies of it with planted changes: a 2x ns/op regression is
# flagged SLOWER and a 1% change is not (with 5, 3 and 1 rounds, i.e. through the
# Mann-Whitney test, the range rule and the floor alone); a run against itself flags
# nothing; cells only in OLD / only in NEW / failed are listed gone / new / FAILED;
# faster, BIGGER, machine/version/mode differences; the U test flags overlapping
# ranges at U = 16 of 10 x 10 rounds but not at U = 17; bad arguments exit 1 naming
# the folder. The medians shown are summary.csv's.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocmark-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$tmp/out" ]; then cat "$tmp/out" >&2; fi
    exit 1
}
# compare ARGS...: the command under test, output in $tmp/out (and its status returned)
compare() { ./run_all.sh compare "$@" > "$tmp/out" 2>&1; }
# row WORKLOAD ALLOCATOR: that cell's line of the table
row() { awk -v w="$1" -v a="$2" '$1 == w && $2 == a' "$tmp/out"; }
expect_row() { # WORKLOAD ALLOCATOR REGEX WHAT
    row "$1" "$2" | grep -Eq -- "$3" || fail "$1 $2: expected $4 (/$3/)"
}
expect_unmarked() { # WORKLOAD ALLOCATOR
    if row "$1" "$2" | grep -Eq 'SLOWER|faster|BIGGER|smaller'; then fail "$1 $2 is marked but should not be"; fi
}
# scale_field FILE KEY FACTOR: the first (top-level) "KEY": of every record times FACTOR
scale_field() {
    awk -v k="\"$2\":" -v x="$3" '{ i = index($0, k)
        if (i) { rest = substr($0, i + length(k)); match(rest, /^-?[0-9.e+]+/)
            $0 = substr($0, 1, i + length(k) - 1) sprintf("%.10g", substr(rest, 1, RLENGTH) * x) substr(rest, RLENGTH + 1) }
        print }' "$1" > "$1.tmp"
    mv "$1.tmp" "$1"
}
# first_rounds FROM TO N: a copy of results folder FROM holding its first N rounds only
first_rounds() {
    local f
    cp -r "$1" "$2"
    for f in "$2"/raw/*.jsonl; do head -n "$3" "$f" > "$f.tmp" && mv "$f.tmp" "$f"; done
    awk -v n="$3" '$1 <= n' "$1/order.txt" > "$2/order.txt"
    if [ -f "$2/machine.json" ]; then sed -i "s/\"rounds\":[0-9]*/\"rounds\":$3/" "$2/machine.json"; fi
}

# A real run, in a folder of its own.
run=$tmp/run
./run_all.sh -r 5 --scale 0.01 --seed 1 -a glibc,slab -w churn,handwritten -o "$run" --no-plots \
    > "$tmp/run.out" 2> "$tmp/run.err" || { cat "$tmp/run.err" >&2; fail "run_all.sh failed"; }
cp -r "$run" "$tmp/old5"
old=$tmp/old5

# Against itself: every cell listed, nothing marked.
compare "$old" "$old" || fail "compare OLD OLD exited $?"
for c in "churn.wl glibc" "churn.wl slab" "handwritten.trace glibc" "handwritten.trace slab"; do
    # shellcheck disable=SC2086 # two words: workload allocator
    expect_row $c '\+0\.0%' "its own row, unchanged"
    # shellcheck disable=SC2086
    expect_unmarked $c
done
grep -q '^4 cells compared: ns/op 0 SLOWER, 0 faster; peak RSS 0 BIGGER, 0 smaller; frag_peak 0 BIGGER, 0 smaller. 0 new, 0 gone, 0 FAILED.' "$tmp/out" ||
    fail "compare OLD OLD: wrong counts"
grep -q 'Mann-Whitney' "$tmp/out" || fail "the rule is not stated under the table"
if grep -q '^warning' "$tmp/out"; then fail "compare OLD OLD warns"; fi
# The medians are the run's own summary.csv numbers (results.sh's record_stats_awk).
if [ -f "$old/summary.csv" ]; then
    awk -F, 'NR > 1 && $4 != "" { printf "%s %s %.2f\n", $1, $2, $4 }' "$old/summary.csv" | while read -r w a m; do
        [ "$(row "$w" "$a" | awk '{print $3}')" = "$m" ] || fail "$w $a: median ns/op is not summary.csv's $m"
    done
fi

# The churn.wl cells get steady ns/op (1% apart round to round) so that the planted
# changes below are judged the same on a loaded machine: with real rounds, a CV over
# 50% (seen here with 2 cores shared) would lift the floor above a 2x change.
set_field() { # FILE KEY VALUES...: the first "KEY": of record i becomes VALUES[i]
    local f=$1 k=$2
    shift 2
    awk -v k="\"$k\":" -v vals="$*" 'BEGIN { split(vals, v, " ") } { i = index($0, k)
        if (i) { rest = substr($0, i + length(k)); match(rest, /^-?[0-9.e+]+/)
            $0 = substr($0, 1, i + length(k) - 1) v[FNR] substr(rest, RLENGTH + 1) }
        print }' "$f" > "$f.tmp"
    mv "$f.tmp" "$f"
}
set_field "$old/raw/churn.wl.glibc.jsonl" ns_per_op 200 202 204 206 208
set_field "$old/raw/churn.wl.slab.jsonl" ns_per_op 100 101 102 103 104

# NEW: a 2x regression, a 1% change, a cell gone, a cell failed (as run_all.sh records
# it: order.txt ran it, no record, a failure in runs.jsonl), a new cell.
mk_new() { # FROM TO
    cp -r "$1" "$2"
    scale_field "$2/raw/churn.wl.glibc.jsonl" ns_per_op 2
    scale_field "$2/raw/churn.wl.slab.jsonl" ns_per_op 1.01
    rm "$2/raw/handwritten.trace.slab.jsonl"
    awk '!($2 == "slab" && $3 ~ /handwritten/)' "$1/order.txt" > "$2/order.txt"
    rm "$2/raw/handwritten.trace.glibc.jsonl"
    echo '{"round":1,"row":"glibc","workload":"handwritten.trace","failed":true,"exit_status":139,"signal":"SIGSEGV","reason":"killed by SIGSEGV","seconds":0.1}' >> "$2/runs.jsonl"
    cp "$2/raw/churn.wl.slab.jsonl" "$2/raw/churn.wl.jemalloc.jsonl"
    awk '$2 == "slab" && $3 ~ /churn/ { $2 = "jemalloc"; print }' "$1/order.txt" >> "$2/order.txt"
}
for n in 5 3 1; do
    if [ "$n" -lt 5 ]; then first_rounds "$tmp/old5" "$tmp/old$n" "$n"; fi
    mk_new "$tmp/old$n" "$tmp/new$n"
    compare "$tmp/old$n" "$tmp/new$n" || fail "$n rounds: compare exited $?"
    expect_row churn.wl glibc '\+100\.0% SLOWER' "the 2x regression flagged SLOWER ($n rounds)"
    expect_row churn.wl slab '\+1\.0%' "the 1% change shown ($n rounds)"
    expect_unmarked churn.wl slab
    expect_row handwritten.trace slab 'gone' "the cell missing from NEW listed as gone"
    expect_row handwritten.trace glibc 'FAILED in NEW: killed by SIGSEGV' "the failed cell listed with its reason"
    expect_row churn.wl jemalloc 'new' "the cell only in NEW listed as new"
    grep -q '^2 cells compared: ns/op 1 SLOWER, 0 faster; .* 1 new, 1 gone, 1 FAILED.' "$tmp/out" || fail "$n rounds: wrong counts"
    if [ "$n" -lt 3 ]; then
        grep -q '^note: cells with fewer than 3 rounds' "$tmp/out" || fail "1 round: no note that only the floor guards"
    elif grep -q '^note: cells with fewer' "$tmp/out"; then
        fail "$n rounds: the few-rounds note"
    fi
done
# --only-changes drops the unmarked rows; --threshold raises the floor.
compare "$tmp/old3" "$tmp/new3" --only-changes
if [ -z "$(row churn.wl glibc)" ] || [ -n "$(row churn.wl slab)" ]; then fail "--only-changes"; fi
compare "$tmp/old3" "$tmp/new3" --threshold 150
expect_unmarked churn.wl glibc

# Better and bigger; a failed cell of an older run (an empty raw file, the reason in
# errors.log); differences in the machine, an allocator's version and the mode.
cp -r "$tmp/old3" "$tmp/other"
scale_field "$tmp/other/raw/churn.wl.slab.jsonl" ns_per_op 0.5
scale_field "$tmp/other/raw/churn.wl.slab.jsonl" peak_rss_bytes 1.5
: > "$tmp/other/raw/handwritten.trace.slab.jsonl"
rm -f "$tmp/other/runs.jsonl"
head -n 2 "$tmp/other/raw/handwritten.trace.glibc.jsonl" > "$tmp/other/hw" && mv "$tmp/other/hw" "$tmp/other/raw/handwritten.trace.glibc.jsonl"
echo "run_all.sh: round 3: glibc on workloads/handwritten.trace (workloads/handwritten.trace) failed: time limit of 600s (exit status 124)" >> "$tmp/other/errors.log"
echo "run_all.sh: round 1: slab on workloads/handwritten.trace (workloads/handwritten.trace) failed: exit status 134" >> "$tmp/other/errors.log"
sed -i 's/"allocator_version":"[^"]*"/"allocator_version":"glibc 9.99"/' "$tmp/other/raw/churn.wl.glibc.jsonl"
sed -i 's/"mode":"throughput"/"mode":"latency"/' "$tmp/other/raw/handwritten.trace.glibc.jsonl"
set_field "$tmp/other/raw/handwritten.trace.glibc.jsonl" ns_per_op 20000 20000 # a --latency run's ns/op
if [ -f "$tmp/other/machine.json" ]; then
    sed -i 's/"kernel":"[^"]*"/"kernel":"Linux 9.9"/' "$tmp/other/machine.json"
else
    sed -i 's/^kernel: .*/kernel: Linux 9.9/' "$tmp/other/machine.txt"
fi
compare "$tmp/old3" "$tmp/other" || fail "compare OLD OTHER exited $?"
expect_row churn.wl slab '-50\.0% faster .*\+50\.0% BIGGER' "faster and BIGGER"
expect_row handwritten.trace slab 'FAILED in NEW: exit status 134' "the failed cell of an older run"
expect_row handwritten.trace glibc 'NEW: 2 of 3 rounds ran \(time limit of 600s \(exit status 124\)\)' "a cell with a failed round"
expect_unmarked handwritten.trace glibc # ns/op of another mode
grep -q '^warning: the runs differ in kernel: ".*" -> "Linux 9.9"' "$tmp/out" || fail "no warning about the kernel"
grep -q '^warning: allocator glibc: version "glibc [^"]*" -> "glibc 9.99"' "$tmp/out" || fail "no warning about glibc's version"
grep -q '^warning: 1 cells ran in another mode (throughput -> latency' "$tmp/out" || fail "no warning about the mode"

# The U test itself: 10 rounds each, ranges overlapping, U = 16 is significant at
# alpha 0.01 (exact p = 0.0089) and U = 17 is not (p = 0.0115).
synthetic() { # DIR NS_PER_OP_VALUES...
    local d=$1 v
    shift
    mkdir -p "$d/raw"
    for v in "$@"; do
        echo "{\"allocator\":\"a\",\"mode\":\"throughput\",\"ns_per_op\":$v,\"peak_rss_bytes\":1048576,\"frag_peak\":1.5}"
    done > "$d/raw/w.wl.a.jsonl"
}
synthetic "$tmp/u_old" 100 101 102 103 104 105 106 107 108 109
synthetic "$tmp/u16" 100.5 102.5 130 131 132 133 134 135 136 137
synthetic "$tmp/u17" 100.5 101.5 130 131 132 133 134 135 136 137
compare "$tmp/u_old" "$tmp/u16"
expect_row w.wl a '\+26\.8% SLOWER' "U = 16 of 10 x 10 flagged"
compare "$tmp/u_old" "$tmp/u17"
expect_row w.wl a '\+26\.8%' "U = 17 of 10 x 10 shown"
expect_unmarked w.wl a
grep -q '^warning: no machine.json or machine.txt' "$tmp/out" || fail "no warning that the machine is unknown"
# 30 rounds each: the normal approximation; two low rounds of 30 do not hide a +20% shift.
# shellcheck disable=SC2046 # the generated values are the arguments
synthetic "$tmp/n_old" $(awk 'BEGIN { for (i = 0; i < 30; i++) print 100 + i * 0.2 }')
# shellcheck disable=SC2046
synthetic "$tmp/n_new" 100.1 100.3 $(awk 'BEGIN { for (i = 0; i < 28; i++) print 120 + i * 0.2 }')
compare "$tmp/n_old" "$tmp/n_new"
expect_row w.wl a '\+19\.[0-9]% SLOWER' "30 x 30 rounds, ranges overlapping, flagged"
# A cell whose every round failed in both runs leaves no raw file: order.txt names it.
for d in u_old u17; do
    printf '%s\n' "1 a workloads/w.wl" "1 crash workloads/w.wl" > "$tmp/$d/order.txt"
    echo '{"round":1,"row":"crash","workload":"w.wl","failed":true,"exit_status":3,"signal":"SIGSEGV","reason":"exit status 3: replay process killed by signal 11","seconds":0.1}' > "$tmp/$d/runs.jsonl"
done
compare "$tmp/u_old" "$tmp/u17"
expect_row w.wl crash 'FAILED in both: exit status 3: replay process killed by signal 11' "a cell failed in both runs"
grep -q '^1 cells compared: .* 0 new, 0 gone, 1 FAILED.' "$tmp/out" || fail "failed in both: wrong counts"

# Bad arguments: exit 1, the folder named.
mkdir -p "$tmp/not-results"
for args in "$tmp/nowhere $old" "$old $tmp/not-results" "$old" "$old $old $old" "$old $old --threshold x" "$old $old --bogus"; do
    rc=0
    # shellcheck disable=SC2086 # the words are the arguments
    compare $args || rc=$?
    [ "$rc" -eq 1 ] || fail "compare $args: exit status $rc, not 1"
done
compare "$tmp/nowhere" "$old" || true
grep -q "OLD '$tmp/nowhere' is not a results folder" "$tmp/out" || fail "the message does not name the bad OLD folder"
compare "$old" "$tmp/not-results" || true
grep -q "NEW '$tmp/not-results' is not a results folder" "$tmp/out" || fail "the message does not name the bad NEW folder"
echo "compare: planted 2x flagged, 1% not, with 5, 3 and 1 rounds; gone/new/FAILED, warnings, U test, bad folders: ok"
