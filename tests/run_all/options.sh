#!/bin/bash
# options.sh BUILD_DIR - run_all.sh's options: -o (a folder of one's own; results/latest
# follows only under results/), --profile (rows ALLOC+NAME, the profile's environment
# and --alloc-opt given to each run, recorded; an unknown one refused with the known
# names), bad options refused naming the option, and --help listing every option the
# script parses.
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
latest_before=$(readlink results/latest 2>/dev/null || true)
mine=results/options-test-$$
cleanup() {
    rm -rf "$mine"
    # results/latest as it was (this test's own run under results/ moved it)
    if [ -n "$latest_before" ]; then ln -sfn "$latest_before" results/latest; else rm -f results/latest; fi
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "options.sh: FAIL: $*" >&2; exit 1; }
export ALLOCMARK_BIN=$B/bin
quick=(--quick --seed 2 --no-plots -w handwritten)

# refuse TEXT ARGS...: run_all.sh ARGS exits 1 with TEXT (the option's name) on stderr
refuse() {
    local want=$1 rc=0
    shift
    ./run_all.sh "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "run_all.sh $* exited $rc, expected 1"
    grep -qF -- "$want" "$tmp/err" || fail "run_all.sh $*: the message does not name '$want': $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "run_all.sh $*: printed on stdout"
}
refuse "'--bogus'" --bogus
refuse "'-x'" -x 1
refuse "--rounds needs a value" --rounds
refuse "--rounds needs a positive integer, got '0'" --rounds 0
refuse "--rounds needs a positive integer, got 'x'" -r x
refuse "--seed needs a non-negative integer" --seed -3
refuse "--scale needs a positive number" --scale 1.2.3
refuse "--time-limit needs a positive whole number" --time-limit 0
refuse "--scale needs a positive number, got '0'" --scale 0
refuse "--variant wants NAME=ALLOCATOR:OPTS" --variant oops
refuse "-o needs a value" -o
refuse "-a: no allocator 'nosuch'" -a glibc,nosuch "${quick[@]}"
refuse "-a: 'a b' is not a valid row name" -a "a b" "${quick[@]}"
refuse "-w: no workload 'nosuch'" -w nosuch
refuse "--trace: no file '/nonexistent.trace'" --trace /nonexistent.trace
refuse "--cell needs DIR ROUND ROW WORKLOAD" --cell "$tmp"
refuse "--resume: $tmp is not a results folder" --resume "$tmp"
refuse "--summarize: no folder" --summarize "$tmp/nonexistent"
refuse "--jobs $tmp/nonexistent/jobs.txt: no folder" --jobs "$tmp/nonexistent/jobs.txt"
refuse "--resume cannot be combined with --jobs" --jobs "$tmp/jobs.txt" --resume "$tmp"
refuse "-o cannot be combined with --resume" --resume "$tmp" -o "$tmp/x"
refuse "--profile: " --profile nosuch "${quick[@]}"

# --help: every option label of parse_opts is in it, and `compare`.
./run_all.sh --help > "$tmp/help"
labels=$(sed -n '/^parse_opts() {/,/^}/p' run_all.sh | grep -oE '^ +-[-a-z|]*\)' | tr -d ' )' | tr '|' '\n' | sort -u)
[ "$(printf '%s\n' "$labels" | wc -l)" -ge 20 ] || fail "found only these option labels: $labels"
for o in $labels; do
    [ "$o" = -- ] && o="-- OPTS"
    grep -qE -- "(^|[ ,])$o([ ,=]|$)" "$tmp/help" || fail "--help does not mention $o"
done
grep -q "run_all.sh compare OLD NEW" "$tmp/help" || fail "--help does not mention compare"

# -o: the folder given, results/latest untouched outside results/, refused when it
# holds a run already or is not empty.
./run_all.sh "${quick[@]}" -a glibc -o "$tmp/o" > /dev/null 2>&1 || fail "-o run failed"
for f in args plan.txt machine.txt machine.json runs.jsonl summary.csv summary.txt order.txt errors.log; do
    [ -f "$tmp/o/$f" ] || fail "-o: no $f"
done
{ [ -f "$tmp/o/raw/handwritten.trace.glibc.jsonl" ] && [ -f "$tmp/o/timelines/handwritten.trace.glibc.r1.csv" ]; } || fail "-o: no raw record or timeline"
[ "$(readlink results/latest 2>/dev/null || true)" = "$latest_before" ] || fail "-o outside results/ moved results/latest"
refuse "-o $tmp/o: it holds a run already (finish it with --resume" "${quick[@]}" -o "$tmp/o"
# --summarize takes machine.json's machine from machine.txt: with every key there, none of
# the fallback commands runs (spies log their calls), and machine.json is the same.
mkdir "$tmp/spy"
for c in ldd cc nproc uname; do
    printf '%s\n' '#!/bin/sh' "echo $c >> $tmp/spy.log" "exec $(command -v "$c") \"\$@\"" > "$tmp/spy/$c"
    chmod +x "$tmp/spy/$c"
done
cp "$tmp/o/machine.json" "$tmp/machine.before"
PATH=$tmp/spy:$PATH ./run_all.sh --summarize "$tmp/o" --no-plots > /dev/null 2>&1 || fail "--summarize of the -o run failed"
[ ! -e "$tmp/spy.log" ] || fail "--summarize ran $(paste -sd' ' "$tmp/spy.log") though machine.txt has every key"
cmp -s "$tmp/o/machine.json" "$tmp/machine.before" || fail "--summarize changed machine.json"
mkdir "$tmp/full" && touch "$tmp/full/x"
refuse "-o $tmp/full: the folder is not empty" "${quick[@]}" -o "$tmp/full"
./run_all.sh "${quick[@]}" -a glibc -o "$mine" > /dev/null 2>&1 || fail "-o $mine failed"
# Two runs started together with the same -o DIR: one has it, the other stops naming -o DIR.
# (an `ls -A` that takes a second: both find the folder empty, as in a real race)
mkdir "$tmp/slowls" "$tmp/race"
# shellcheck disable=SC2016 # the fake's own $1 and $@
printf '%s\n' '#!/bin/sh' 'case "$1" in -A) sleep 1 ;; esac' 'exec /bin/ls "$@"' > "$tmp/slowls/ls"
chmod +x "$tmp/slowls/ls"
rc1=0 rc2=0
PATH=$tmp/slowls:$PATH ./run_all.sh "${quick[@]}" -a glibc -o "$tmp/race" > /dev/null 2> "$tmp/race1" & p1=$!
PATH=$tmp/slowls:$PATH ./run_all.sh "${quick[@]}" -a glibc -o "$tmp/race" > /dev/null 2> "$tmp/race2" & p2=$!
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
[ "$rc1$rc2" = 01 ] || [ "$rc1$rc2" = 10 ] || fail "two runs with one -o DIR: exit statuses $rc1 and $rc2, expected 0 and 1"
grep -q -- "-o $tmp/race: " "$tmp/race1" "$tmp/race2" || fail "two runs with one -o DIR: the loser does not name -o DIR"
[ "$(wc -l < "$tmp/race/runs.jsonl")" -eq 1 ] || fail "two runs with one -o DIR: runs.jsonl has $(wc -l < "$tmp/race/runs.jsonl") lines, not 1"
[ "$(readlink results/latest)" = "${mine#results/}" ] || fail "-o under results/: results/latest is not $mine"

# --latency: the driver's --histogram (when its --help has it) per run, into histograms/.
./run_all.sh "${quick[@]}" -a glibc --latency -o "$tmp/lat" > /dev/null 2>&1 || fail "--latency run failed"
if "$B/bin/allocmark-glibc" --help | grep -q -- --histogram; then
    h=$tmp/lat/histograms/handwritten.trace.glibc.r1.csv
    { [ -s "$h" ] && head -n 1 "$h" | grep -q '^kind,lo_ns,hi_ns,count$'; } || fail "--latency: no histogram $h"
fi
grep -q '"mode":"latency"' "$tmp/lat/raw/handwritten.trace.glibc.jsonl" || fail "--latency: the run was not a latency run"
grep -qx -- --latency "$tmp/lat/args" || fail "--latency: not in args"
# A driver that hangs on --help (asked once, for --histogram): given up after 5 s, no
# histograms, the run goes on.
mkdir "$tmp/hangbin"
# shellcheck disable=SC2016 # the fake's own $1 and $@
printf '%s\n' '#!/bin/sh' 'case "$1" in --help) exec sleep 60 ;; esac' "exec $PWD/$B/bin/allocmark-glibc \"\$@\"" > "$tmp/hangbin/allocmark-glibc"
chmod +x "$tmp/hangbin/allocmark-glibc"
timeout 40 ./run_all.sh "${quick[@]}" -a glibc --latency --bin "$tmp/hangbin" -o "$tmp/hang" > /dev/null 2>&1 ||
    fail "--latency with a driver whose --help hangs: the run failed or hung"
[ -s "$tmp/hang/raw/handwritten.trace.glibc.jsonl" ] || fail "--latency with a driver whose --help hangs: no record"
[ -z "$(ls -A "$tmp/hang/histograms")" ] || fail "--latency with a driver whose --help hangs: histograms asked for"

# Charts that fail (a make whose `plots` target fails): the summary files are written
# all the same, the failure is on stderr and in errors.log, the exit status is 1.
if [ -f plots/plots.sh ] && [ -f plots/report.py ]; then
    mkdir "$tmp/fakemake"
    printf '%s\n' '#!/bin/sh' 'case " $* " in *" plots "*) echo "fake make: no charts today" >&2; exit 2 ;; esac' \
        'exec /usr/bin/make "$@"' > "$tmp/fakemake/make"
    chmod +x "$tmp/fakemake/make"
    rc=0
    PATH=$tmp/fakemake:$PATH ./run_all.sh --quick --seed 2 -w handwritten -a glibc -o "$tmp/charts" > /dev/null 2> "$tmp/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "failed charts: exit status $rc, expected 1"
    { grep -q "the charts failed" "$tmp/err" && grep -q "the charts failed" "$tmp/charts/errors.log"; } || fail "failed charts: not reported"
    { [ "$(wc -l < "$tmp/charts/summary.csv")" -eq 2 ] && [ -s "$tmp/charts/summary.txt" ] && jq -e . "$tmp/charts/machine.json" > /dev/null; } ||
        fail "failed charts: the summary files are not all written"
    ./run_all.sh --summarize "$tmp/charts" --no-plots > /dev/null 2>&1 || fail "--summarize --no-plots after failed charts"
else
    echo "options.sh: note: no plots/plots.sh or plots/report.py, the charts' failure not tested" >&2
fi

# --profile with a profiles file of the test's own (ALLOCMARK_PROFILES), drivers that log
# their environment and arguments.
cat > "$tmp/profiles.sh" <<'EOF2'
profile_names() { printf '%s\n' testprof other; }
profile_env() { [ "$2" != glibc ] || printf '%s\n' ALLOCMARK_TEST_PROFILE=on MALLOC_ARENA_MAX=1; }
profile_alloc_opt() { [ "$2" != slab ] || echo prealloc=1M; }
EOF2
mkdir "$tmp/bin"
printf '%s\n' '#!/bin/sh' "echo \"\${0##*/} env=\${ALLOCMARK_TEST_PROFILE:-} args=\$*\" >> $tmp/calls" \
    "exec $PWD/$B/bin/\${0##*/} \"\$@\"" > "$tmp/bin/wrapper"
chmod +x "$tmp/bin/wrapper"
ln -s wrapper "$tmp/bin/allocmark-glibc"
ln -s wrapper "$tmp/bin/allocmark-slab"
export ALLOCMARK_PROFILES=$tmp/profiles.sh
refuse "--profile: unknown profile 'nosuch' (known: testprof other" --profile nosuch "${quick[@]}"
ALLOCMARK_BIN=$tmp/bin ./run_all.sh "${quick[@]}" -a dry,glibc,slab --profile testprof -o "$tmp/p" > /dev/null 2> "$tmp/err" ||
    fail "--profile testprof: $(cat "$tmp/err")"
p=$tmp/p
# Progress, stderr not a terminal: plain lines, one per run, an ETA but on the last.
! grep -q $'\r' "$tmp/err" || fail "progress: carriage returns in a log that is not a terminal"
grep -Eq '^\[1/3\] round 1 [a-z+]+ handwritten.trace [0-9]+\.[0-9] s ok  ETA [0-9][0-9hms]*$' "$tmp/err" || fail "progress: no '[1/3] round 1 ROW WORKLOAD S s ok  ETA Ns' line"
grep -Eq '^\[3/3\] round 1 [a-z+]+ handwritten.trace [0-9]+\.[0-9] s ok$' "$tmp/err" || fail "progress: no last line, or one with an ETA"
[ "$(cut -d, -f2 "$p/summary.csv" | tail -n +2 | tr '\n' ' ')" = "dry glibc+testprof slab+testprof " ] || fail "--profile: rows are not dry, ALLOC+testprof"
grep -q '^handwritten.trace,glibc+testprof,1,.*,1.0000,1.0000,0,[01]\(,[0-9.]*\)\{4\}$' "$p/summary.csv" || fail "--profile: ratios not relative to glibc+testprof"
[ -f "$p/raw/handwritten.trace.slab+testprof.jsonl" ] || fail "--profile: no raw/ file named after the row"
grep -q '^allocmark-glibc env=on args=--json' "$tmp/calls" || fail "--profile: glibc did not get the profile's environment"
grep -q '^allocmark-slab env= args=--alloc-opt prealloc=1M ' "$tmp/calls" || fail "--profile: slab did not get the profile's --alloc-opt"
grep -q '^allocmark-glibc env= args=--dry --json' "$tmp/calls" || fail "--profile: dry is not the plain harness"
[ "$(jq -r .alloc_opts "$p/raw/handwritten.trace.slab+testprof.jsonl")" = prealloc=1M ] || fail "--profile: slab's record has no alloc_opts"
jq -e '.profile == "testprof" and (.allocators | has("glibc+testprof"))' "$p/machine.json" > /dev/null || fail "--profile: machine.json"
grep -q '^profile: testprof$' "$p/machine.txt" || fail "--profile: machine.txt"
grep -q '^row glibc+testprof: ALLOCMARK_TEST_PROFILE=on MALLOC_ARENA_MAX=1 allocmark-glibc$' "$p/machine.txt" || fail "--profile: machine.txt row line"
grep -qx -- --profile "$p/args" || fail "--profile: not in args (a --resume would lose it)"
# On a terminal (script(1) gives one): the run in progress, then its result over it.
if command -v script > /dev/null; then
    script -qec "./run_all.sh --quick --seed 2 --no-plots -w handwritten -a glibc -o $tmp/tty 2>&1 > /dev/null" /dev/null > "$tmp/tty.log" 2>&1 ||
        fail "run_all.sh on a terminal failed: $(cat "$tmp/tty.log")"
    grep -qF $'\r\033[K[1/1] round 1 glibc handwritten.trace ...\r\033[K[1/1] round 1 glibc handwritten.trace ' "$tmp/tty.log" ||
        fail "progress on a terminal: the running line is not overwritten by the result: $(cat -A "$tmp/tty.log")"
fi
echo "options.sh: ok"
