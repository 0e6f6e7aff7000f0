#!/bin/bash
# report.sh BUILD_DIR - plots/report.py on real and damaged results folders: the
# report is one self-contained HTML file whose every chart headless Chromium renders,
# its verdict names the allocator summary.csv says is fastest, it survives a missing
# glibc row, a FAILED cell, a hole in the matrix, no timelines and 20 workloads, and it
# refuses a folder without summary.csv (or with a broken file) naming the file.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
PY=/usr/bin/python3
REPORT=plots/report.py
for need in "$PY" chromium jq; do
    command -v "$need" > /dev/null || { echo "report.sh: $need is missing (make test-deps)" >&2; exit 1; }
done
"$PY" -c 'import matplotlib' || { echo "report.sh: $PY has no matplotlib (make test-deps)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/allocmark-report.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "report.sh: FAIL: $*" >&2; exit 1; }

# quick DIR RUN_ALL_OPTIONS...: a quick results folder of our own in DIR (no charts:
# report.py is what is tested here).
quick() {
    local dir=$1
    shift
    ./run_all.sh --quick --seed 1 --no-plots -o "$dir" "$@" > "$tmp/run_all.out" 2>&1 || true
    [ -s "$dir/summary.csv" ] || { cat "$tmp/run_all.out" >&2; fail "run_all.sh $* wrote no $dir/summary.csv"; }
}
# shellcheck source=tests/run_all/html_check.bash
. tests/run_all/html_check.bash
# fastest DIR WORKLOAD: the row summary.csv marks the workload's winner (as summary.txt's *)
fastest() {
    awk -F, -v w="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "winner") col = i; next }
        col && $1 == w && $col == 1 { print $2 }' "$1/summary.csv"
}
# section WORKLOAD HTML: the workload's verdict list (its <h3> up to the next one)
section() { awk -v h="<h3><a href=\"#w-$1\">" 'index($0, h) { on = 1; print; next } on && /<h3>|<h2/ { exit } on' "$2"; }

# 1. A real quick run (dry, glibc, slab and jemalloc; three workloads; timelines).
d1=$tmp/full
rows=dry,glibc,slab
[ -x "$B/bin/allocmark-jemalloc" ] && rows=$rows,jemalloc   # a third allocator when it is built
quick "$d1" -a "$rows" -w churn,kvserver,handwritten
start=$(date +%s%N)
"$PY" "$REPORT" "$d1" > /dev/null || fail "report.py on $d1"
echo "report.py took $((($(date +%s%N) - start) / 1000000)) ms on 3 workloads x rows $rows"
html=$d1/report.html
# 3 overview charts + per workload a phase chart and a timeline
check_html "$html" 9
[ "$(grep -c 'RSS over the run</h3>' "$html")" -eq 3 ] || fail "not one timeline per workload ($(find "$d1/timelines" -name "*.csv" 2> /dev/null | wc -l) timeline files)"
for w in kvserver.wl churn.wl; do
    f=$(fastest "$d1" "$w")
    [ -n "$f" ] || fail "$w: summary.csv marks no winner"
    section "${w//./-}" "$html" | grep -q "Fastest: <b>$f</b>" || fail "$w: verdict does not name $f, the fastest in summary.csv"
done
grep -q 'Smoke run' "$html" || fail "a 1-round scale-0.01 run without the smoke caution"
grep -qF "$(jq -r .command "$d1/machine.json")" "$html" || fail "the reproduce command is not in the report"
ls "$d1"/report.html.tmp.* 2> /dev/null && fail "a temp file was left behind"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,3000 \
    --user-data-dir="$tmp/chromium" --screenshot="$tmp/shot.png" "file://$html" 2> /dev/null
[ "$(head -c 8 "$tmp/shot.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG screenshot"
[ "$(stat -c %s "$tmp/shot.png")" -gt 20000 ] || fail "screenshot is nearly empty ($(stat -c %s "$tmp/shot.png") bytes)"
echo "ok: screenshot $(stat -c %s "$tmp/shot.png") bytes"

# 2. No glibc row, a crashing row (a shell fake that dies of SIGSEGV: FAILED cells and
# errors.log), a hole in the matrix (slab x handwritten dropped), no timelines.
bin=$tmp/bin
mkdir "$bin"
ln -s "$PWD/$B/bin/allocmark-slab" "$bin/allocmark-slab"
printf '%s\n' '#!/bin/sh' 'echo "segv: crashing now" >&2' 'kill -SEGV $$' > "$bin/allocmark-segv"
chmod +x "$bin/allocmark-segv"
d2=$tmp/damaged
(ulimit -c 0; ALLOCMARK_BIN=$bin quick "$d2" -a slab,segv -w churn,handwritten)
rm -rf "$d2/timelines"
grep -v '^handwritten.trace,slab,' "$d2/summary.csv" > "$tmp/summary.csv" && mv "$tmp/summary.csv" "$d2/summary.csv"
"$PY" "$REPORT" "$d2" > /dev/null || fail "report.py on a damaged folder"
html=$d2/report.html
check_html "$html" 3
grep -q '<span class=bad>FAILED</span>: <b>segv</b>' "$html" || fail "the FAILED cells are not called out"
grep -q 'no glibc row' "$html" || fail "the missing glibc row is not said"
grep -q 'Not in summary.csv: <b>slab</b>' "$html" || fail "the missing handwritten x slab cell is not said"
grep -q 'killed by SIGSEGV' "$html" || fail "errors.log is not in the report"
grep -q 'No timelines' "$html" || fail "no word about the missing timelines"

# 3. Twenty workloads (summary.csv rows copied under new names; no raw records).
d3=$tmp/twenty
mkdir -p "$d3"
cp "$d1/machine.json" "$d3/"
{ head -n 1 "$d1/summary.csv"; for i in $(seq -w 1 20); do tail -n +2 "$d1/summary.csv" | grep '^kvserver.wl,' | sed "s/^kvserver.wl,/w$i.wl,/"; done; } > "$d3/summary.csv"
"$PY" "$REPORT" "$d3" > /dev/null || fail "report.py on 20 workloads"
[ "$(grep -c '<h2 id="w-w' "$d3/report.html")" -eq 20 ] || fail "not 20 workload sections"
grep -q '<img ' "$d3/report.html" || fail "no chart for 20 workloads"

# 4. Latency percentiles when the run has them.
d4=$tmp/latency
quick "$d4" --latency -a glibc,slab -w churn
"$PY" "$REPORT" "$d4" > /dev/null || fail "report.py on a --latency run"
self_contained "$d4/report.html" 4 > /dev/null
grep -q 'alt="churn.wl: latency"' "$d4/report.html" || fail "no latency percentile chart in a --latency run"
if [ -d "$d4/histograms" ]; then
    grep -q 'alt="churn.wl: latency distribution"' "$d4/report.html" || fail "histograms/ but no latency distribution chart"
fi
grep -q 'These runs used --latency' "$d4/report.html" || fail "no caution about --latency ns/op"

# 5. Bad input: a clear message naming the file, a non-zero exit, nothing written.
d5=$tmp/bad
mkdir -p "$d5/raw"
if "$PY" "$REPORT" "$d5" 2> "$tmp/err"; then fail "report.py accepted a folder without summary.csv"; fi
grep -q "$d5/summary.csv" "$tmp/err" || fail "the error does not name summary.csv: $(cat "$tmp/err")"
[ ! -e "$d5/report.html" ] || fail "report.html written for bad input"
cp "$d1/summary.csv" "$d5/"
echo '{"command": ' > "$d5/machine.json"
if "$PY" "$REPORT" "$d5" 2> "$tmp/err"; then fail "report.py accepted a broken machine.json"; fi
grep -q "$d5/machine.json" "$tmp/err" || fail "the error does not name machine.json: $(cat "$tmp/err")"
rm "$d5/machine.json"
sed -i '2s/,[0-9.]*,/,fast,/' "$d5/summary.csv"
if "$PY" "$REPORT" "$d5" 2> "$tmp/err"; then fail "report.py accepted a word in a number column"; fi
grep -q "$d5/summary.csv:2" "$tmp/err" || fail "the error does not name summary.csv:2: $(cat "$tmp/err")"
[ ! -e "$d5/report.html" ] || fail "report.html written for bad input"
echo "ok: bad input refused with the file named: $(cat "$tmp/err")"

# 6. First-touch: an allocator that is fastest in a phase while taking far fewer page
# faults than the others (its memory was faulted in earlier) gets a caution by name;
# one that is fastest with as many faults does not.
d6=$tmp/prefault
mkdir -p "$d6/raw"
{
    echo "workload,allocator,runs,ns_per_op_median,ns_per_op_min,ns_per_op_max,ns_per_op_cv"
    echo "w.wl,glibc,1,100,100,100,0"
    echo "w.wl,pre,1,60,60,60,0"
    echo "w.wl,fair,1,80,80,80,0"
} > "$d6/summary.csv"
phase_record() { # NS_WARMUP FAULTS_WARMUP NS_STEADY FAULTS_STEADY
    printf '{"init_ns":1000,"init_minor_faults":%s,"phases":[{"name":"warmup","ops":1000,"ns_per_op":%s,"minor_faults":%s},{"name":"steady","ops":9000,"ns_per_op":%s,"minor_faults":%s}]}\n' \
        "$(($2 < 100 ? 5000 : 10))" "$1" "$2" "$3" "$4"
}
phase_record 900 5000 50 10 > "$d6/raw/w.wl.glibc.jsonl"
phase_record 300 20 40 10 > "$d6/raw/w.wl.pre.jsonl"      # fastest in warmup on 20 faults
phase_record 700 5100 30 12 > "$d6/raw/w.wl.fair.jsonl"   # fastest in steady, same faults
"$PY" "$REPORT" "$d6" > /dev/null || fail "report.py on the first-touch folder"
section w-wl "$d6/report.html" | grep -q "Caution: in warmup, <b>pre</b> took 20 page faults against the others' median 5,100 (its init: 5,000 faults)" ||
    fail "no first-touch caution for pre: $(section w-wl "$d6/report.html" | grep -o 'Fastest by phase[^<]*')"
section w-wl "$d6/report.html" | grep -q "in steady, <b>fair</b>" && fail "a first-touch caution for fair, which faulted like the others"
echo "ok: first-touch caution names the allocator that faulted its memory in at init"

# 7. The timeline drawn is the row's median round by ns/op (runs.jsonl), not round 1.
d7=$tmp/rounds
mkdir -p "$d7/timelines"
printf 'workload,allocator,runs,ns_per_op_median\nw.wl,glibc,3,50\n' > "$d7/summary.csv"
for r in 1 2 3; do
    printf 'trace,op,t_ns,rss_bytes,live_bytes,event,index\nt,0,0,4096,0,start,0\nt,10,100,%s,4096,ops,0\nt,20,200,8192,0,end,0\n' \
        "$((r * 40960))" > "$d7/timelines/w.wl.glibc.r$r.csv"
done
printf '{"round":1,"row":"glibc","workload":"w.wl","ns_per_op":90}\n{"round":2,"row":"glibc","workload":"w.wl","ns_per_op":30}\n{"round":3,"row":"glibc","workload":"w.wl","ns_per_op":50}\n' > "$d7/runs.jsonl"
"$PY" "$REPORT" "$d7" > /dev/null || fail "report.py on the three-round timelines"
grep -q "median round by ns/op (round 3)" "$d7/report.html" || fail "the timeline is not the median round (3): $(grep -o 'median round by ns/op ([^)]*)' "$d7/report.html")"
echo "ok: the timeline is the median round's"

# 8. Crashed runs leave their timeline behind, empty: a cell whose every round failed
# and a failed round of a cell that completed others are not read, and the report renders.
d8=$tmp/crashed
mkdir -p "$d8/timelines"
printf 'workload,allocator,runs,ns_per_op_median,failed_runs\nw.wl,glibc,3,50,0\nw.wl,segv,0,,2\nw.wl,part,1,40,1\n' > "$d8/summary.csv"
tl_row() { printf 'trace,op,t_ns,rss_bytes,live_bytes,event,index\nt,0,0,4096,0,start,0\nt,10,100,40960,4096,ops,0\n'; }
for r in 1 2 3; do tl_row > "$d8/timelines/w.wl.glibc.r$r.csv"; done
tl_row > "$d8/timelines/w.wl.part.r2.csv"
: > "$d8/timelines/w.wl.segv.r1.csv"
: > "$d8/timelines/w.wl.segv.r2.csv"
: > "$d8/timelines/w.wl.part.r1.csv"
{
    printf '{"round":%s,"row":"glibc","workload":"w.wl","ns_per_op":%s}\n' 1 90 2 30 3 50
    printf '{"round":%s,"row":"segv","workload":"w.wl","failed":true,"exit_status":139,"signal":"SIGSEGV"}\n' 1 2
    printf '{"round":1,"row":"part","workload":"w.wl","failed":true,"exit_status":139,"signal":"SIGSEGV"}\n'
    printf '{"round":2,"row":"part","workload":"w.wl","ns_per_op":40}\n'
} > "$d8/runs.jsonl"
"$PY" "$REPORT" "$d8" > /dev/null 2> "$tmp/err" || fail "report.py on a folder with crashed runs' empty timelines: $(cat "$tmp/err")"
grep -q "median round by ns/op (rounds 2, 3)" "$d8/report.html" ||
    fail "the timeline is not from part's ok round 2 and glibc's median round 3: $(grep -o 'median round by ns/op ([^)]*)' "$d8/report.html")"
echo "ok: crashed runs' empty timelines are skipped"

# 9. The row with the lowest median had a failed round: summary.csv's winner (what
# summary.txt stars) is the report's fastest, in the verdict, the table's highlight and
# the win counts; the failed row is said, not ranked. Without the winner column (a folder
# from before it) the lowest median is the fastest, as before.
d9=$tmp/winner
mkdir -p "$d9"
{
    echo "workload,allocator,runs,ns_per_op_median,ns_per_op_min,ns_per_op_max,failed_runs,winner"
    echo "w.wl,glibc,3,50,45,55,0,1"
    echo "w.wl,flaky,2,40,38,42,1,0"
    echo "w.wl,slow,3,60,58,62,0,0"
} > "$d9/summary.csv"
"$PY" "$REPORT" "$d9" > /dev/null || fail "report.py on the failed-fastest folder"
html=$d9/report.html
[ "$(fastest "$d9" w.wl)" = glibc ] || fail "fastest() does not read the winner column"
section w-wl "$html" | grep -q "Fastest: <b>glibc</b> at 50.00 ns/op, 17% less time per op than the next, <b>slow</b>" ||
    fail "the verdict does not name summary.csv's winner glibc: $(section w-wl "$html" | grep -o 'Fastest[^.]*')"
section w-wl "$html" | grep -q "Not ranked, for a failed run: <b>flaky</b> (40.00 ns/op; 1 of 3 runs failed)" ||
    fail "the faster row with a failed run is not said"
grep -q '<tr class="best"><td>glibc</td>' "$html" || fail "the highlighted row is not glibc: $(grep -o '<tr class="best"><td>[^<]*' "$html")"
grep -q '<tr class=""><td>glibc</td><td>1</td><td>1</td>' "$html" || fail "glibc's win is not counted"
grep -q '<tr class="failed"><td>flaky</td><td>1</td><td>0</td>' "$html" || fail "flaky is counted a win"
grep -q "Fastest (median ns/op) over the 1 workload: <b>glibc</b> in 1 (the win is clear of the runner-up's" "$html" ||
    fail "the overall line does not give glibc the win: $(grep -o 'Fastest (median ns/op)[^.]*' "$html")"
cut -d, -f1-7 "$d9/summary.csv" > "$tmp/summary.csv" && mv "$tmp/summary.csv" "$d9/summary.csv"
"$PY" "$REPORT" "$d9" > /dev/null || fail "report.py on a summary.csv without the winner column"
section w-wl "$html" | grep -q "Fastest: <b>flaky</b>" || fail "without the winner column the lowest median is not the fastest"
echo "ok: the report's fastest is summary.csv's winner"
