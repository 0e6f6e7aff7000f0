#!/bin/bash
# crash.sh BUILD_DIR - run_all.sh records a crashing, aborting or hanging allocator as
# that cell's failure (exit status, signal, stderr tail in errors.log, FAILED in the
# summary) while every other cell completes, and exits non-zero at the end.
# The rows come from a temporary drivers folder (-a accepts any NAME with an executable
# allocmark-NAME there): the real glibc driver; shell fakes that die of SIGSEGV or
# sleep past --time-limit; and, when make test has built it, the crashing test driver
# (tests/crash_adapter.c) whose replay child dies while the driver reports it (exit 3).
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "crash.sh: keeping $tmp" >&2
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
ulimit -c 0 # no core files from the crashes
fail() { echo "crash.sh: FAIL: $*" >&2; for f in stderr out/summary.txt out/errors.log; do echo "--- $f"; cat "$tmp/$f" 2>/dev/null || true; done; exit 1; }

bin=$tmp/bin
mkdir "$bin"
ln -s "$PWD/$B/bin/allocmark-glibc" "$bin/allocmark-glibc"
# Called as DRIVER [opts] --json F --timeline F TRACE, like a real driver.
printf '%s\n' '#!/bin/sh' 'echo "segv: line one" >&2' 'echo "segv: crashing now" >&2' 'kill -SEGV $$' > "$bin/allocmark-segv"
printf '%s\n' '#!/bin/sh' 'echo "slow: sleeping" >&2' 'exec sleep 30' > "$bin/allocmark-slow"
# noisy: a failure whose last stderr line (the reason in runs.jsonl) has a carriage return
# and terminal colours, raw control characters that JSON does not allow
printf '%s\n' '#!/bin/sh' 'printf "noisy: 50%%\rnoisy: \033[31mbroken\033[0m\r\n" >&2' 'exit 2' > "$bin/allocmark-noisy"
chmod +x "$bin/allocmark-segv" "$bin/allocmark-slow" "$bin/allocmark-noisy"
rows=glibc,segv,slow,noisy
variants=()
if [ -x "$B/tests/bin/allocmark-crash" ]; then
    ln -s "$PWD/$B/tests/bin/allocmark-crash" "$bin/allocmark-crash"
    rows=$rows,crash   # default crash_after=1000: dies on churn, survives handwritten (13 calls)
    variants=(--variant "crash-abort=crash:crash_after=3,crash_mode=abort")
else
    echo "crash.sh: note: no $B/tests/bin/allocmark-crash, testing with the shell fakes only" >&2
fi

# (a time limit the real runs stay far below even on a loaded machine: ~0.5 s each)
rc=0
ALLOCMARK_BIN=$bin ./run_all.sh --quick --seed 3 --no-plots --time-limit 4 -a "$rows" "${variants[@]}" \
    -w churn,handwritten -o "$tmp/out" > "$tmp/stdout" 2> "$tmp/stderr" || rc=$?
o=$tmp/out
[ "$rc" -eq 1 ] || fail "exit status $rc with failed cells (expected 1)"
grep -q "runs failed (see .*errors.log)" "$tmp/stderr" || fail "no failure count at the end"
cmp -s "$tmp/stdout" "$o/summary.txt" || fail "the table printed is not summary.txt"
! grep -q "Segmentation fault *env" "$tmp/stderr" || fail "bash's job notice on stderr"

# Every cell ran, once: the failures did not stop the matrix.
cells=$(wc -l < "$o/plan.txt")
[ "$(wc -l < "$o/runs.jsonl")" -eq "$cells" ] || fail "runs.jsonl has $(wc -l < "$o/runs.jsonl") lines for $cells cells"
jq -e . "$o/runs.jsonl" > /dev/null || fail "runs.jsonl is not JSON lines"
jq -e . "$o/machine.json" > /dev/null || fail "machine.json is not JSON"
for w in churn.wl handwritten.trace; do
    [ "$(wc -l < "$o/raw/$w.glibc.jsonl")" -eq 1 ] || fail "glibc on $w: no record"
    grep -q "^$w *glibc .*x *$" "$o/summary.txt" || grep -q "^$w *glibc .*[0-9]x  " "$o/summary.txt" || fail "glibc on $w: not in the table"
done

# A signal: exit status 139, SIGSEGV, the stderr tail, in errors.log and runs.jsonl.
for w in churn.wl handwritten.trace; do
    grep -q "^=== round 1, segv, $w: FAILED: killed by SIGSEGV (exit status 139)" "$o/errors.log" || fail "segv on $w: no errors.log header"
    [ "$(jq -r "select(.row == \"segv\" and .workload == \"$w\") | \"\(.failed) \(.exit_status) \(.signal)\"" "$o/runs.jsonl")" = "true 139 SIGSEGV" ] ||
        fail "segv on $w: runs.jsonl failure record"
    grep -q "^$w *segv *FAILED 1/1 (exit status 139, SIGSEGV; see errors.log)" "$o/summary.txt" || fail "segv on $w: not FAILED in summary.txt"
    grep -q "^$w *slow *FAILED 1/1 (exit status 124, SIGTERM; see errors.log)" "$o/summary.txt" || fail "slow on $w: not FAILED in summary.txt"
    [ ! -e "$o/raw/$w.segv.jsonl" ] || fail "segv on $w: a raw record for a failed run"
done
[ "$(grep -c '^segv: crashing now$' "$o/errors.log")" -eq 2 ] || fail "segv's stderr is not in errors.log"
# (jq -e . above: runs.jsonl stayed JSON around noisy's control characters)
[ "$(jq -r 'select(.row == "noisy" and .workload == "churn.wl") | .reason' "$o/runs.jsonl")" = "exit status 2: noisy: 50%noisy: ?[31mbroken?[0m" ] ||
    fail "noisy: the reason is not its last stderr line without CR and with ? for ESC"
grep -q "^=== round 1, slow, churn.wl: FAILED: time limit of 4s (exit status 124)" "$o/errors.log" || fail "time-out: no errors.log header"
grep -q "FAILED: killed by SIGSEGV (exit status 139)" "$tmp/stderr" || fail "progress line: no FAILED with its exit status"

# The test driver: its replay child dies, the driver reports exit 3 and the signal.
if [ -x "$bin/allocmark-crash" ]; then
    grep -q "^=== round 1, crash, churn.wl: FAILED: exit status 3: replay process killed by signal 11 (Segmentation fault)" "$o/errors.log" ||
        fail "crash on churn: no errors.log header"
    grep -q "^crash: allocating call 1001 after crash_after=1000: crashing on purpose" "$o/errors.log" || fail "crash: its stderr tail"
    grep -q "^churn.wl *crash *FAILED 1/1 (exit status 3, SIGSEGV; " "$o/summary.txt" || fail "crash on churn: not FAILED"
    grep -q "^handwritten.trace *crash .*x  " "$o/summary.txt" || fail "crash on handwritten (13 calls) should have worked"
    grep -q "^churn.wl *crash-abort *FAILED 1/1 (exit status 3, SIGABRT; " "$o/summary.txt" || fail "crash-abort: not FAILED with SIGABRT"
fi

# A failed cell leaves no timeline: a 0-byte one from a crashed replay broke the report.
[ ! -e "$o/timelines/churn.wl.crash.r1.csv" ] || fail "crash on churn: a timeline from a crashed replay"
while read -r seq r row t; do
    read -r st _ < "$o/cells/$seq.status"
    [ "$st" = ok ] || [ ! -e "$o/timelines/${t##*/}.$row.r$r.csv" ] || fail "round $r, $row, ${t##*/} failed but left a timeline"
done < "$o/plan.txt"
for f in "$o"/timelines/*.csv; do [ -s "$f" ] || fail "$f: an empty timeline"; done

# summary.csv: same column count everywhere, failed_runs counted, no winner among failures.
awk -F, 'NR == 1 {n = NF} NF != n {exit 1}' "$o/summary.csv" || fail "summary.csv: ragged columns"
head -1 "$o/summary.csv" | grep -q ',failed_runs,winner,' || fail "summary.csv: no failed_runs,winner columns"
grep -q '^churn.wl,segv,0,.*,1,0,,,,$' "$o/summary.csv" || fail "summary.csv: segv on churn not 0 runs, 1 failed"
grep -q '^churn.wl,glibc,1,.*,0,1\(,[0-9.]*\)\{4\}$' "$o/summary.csv" || fail "summary.csv: glibc should win churn (the only one left)"

# --summarize merges the same cells again: the same files, still non-zero.
cp "$o/runs.jsonl" "$tmp/runs.before"
rc=0
./run_all.sh --summarize "$o" --no-plots > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "--summarize of a folder with failures: exit status $rc"
cmp -s "$o/runs.jsonl" "$tmp/runs.before" || fail "--summarize changed runs.jsonl"
# --resume runs a cell again: a timeline left by an earlier attempt is removed first
# (segv writes none), so it cannot pass for this attempt's.
seq=$(awk '$3 == "segv" && $4 ~ /churn\.wl$/ {print $1}' "$o/plan.txt")
echo "op,rss_bytes,live_bytes" > "$o/timelines/churn.wl.segv.r1.csv"
rm "$o/cells/$seq.status"
./run_all.sh --resume "$o" --no-plots > /dev/null 2>&1 || true
[ -f "$o/cells/$seq.status" ] || fail "--resume did not run segv on churn again"
[ ! -e "$o/timelines/churn.wl.segv.r1.csv" ] || fail "--resume kept a stale timeline of a failed cell"
[ "$(jq -c 'del(.seconds)' "$o/runs.jsonl" | sort)" = "$(jq -c 'del(.seconds)' "$tmp/runs.before" | sort)" ] || fail "--resume of one cell changed runs.jsonl"
# The charts and the report are drawn around the failed cells.
make -s plots RESULTS="$o" > "$tmp/plots.log" 2>&1 || { cat "$tmp/plots.log" >&2; fail "make plots on a folder with failed cells"; }
[ -s "$o/report.html" ] || fail "make plots: no report.html"
[ -s "$o/plots/time.png" ] || fail "make plots: no plots/time.png"
# A cell that fails in one round of two: its numbers from the other, flagged FAILED 1/2.
printf '%s\n' '#!/bin/bash' 'case "$*" in *.r2.csv*) echo "flaky: round 2" >&2; kill -ABRT $$ ;; esac' \
    "exec $PWD/$B/bin/allocmark-glibc \"\$@\"" > "$bin/allocmark-flaky"
chmod +x "$bin/allocmark-flaky"
rc=0
ALLOCMARK_BIN=$bin ./run_all.sh --quick -r 2 --seed 3 --no-plots -a glibc,flaky -w handwritten -o "$tmp/flaky" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a run with one failed round: exit status $rc"
# (never the winner, whatever its time: a row that crashes wins nothing)
grep -q '^handwritten.trace *flaky .*x  FAILED 1/2$' "$tmp/flaky/summary.txt" || fail "flaky: not 'FAILED 1/2' with its numbers: $(cat "$tmp/flaky/summary.txt")"
grep -q '^handwritten.trace *glibc .*x  \*' "$tmp/flaky/summary.txt" || fail "flaky: glibc, the only row without failures, is not the winner"
grep -q '^handwritten.trace,flaky,1,.*,1,0\(,[0-9.]*\)\{4\}$' "$tmp/flaky/summary.csv" || fail "flaky: summary.csv not 1 run, 1 failed, no winner"
grep -q '^=== round 2, flaky, handwritten.trace: FAILED: killed by SIGABRT (exit status 134)' "$tmp/flaky/errors.log" || fail "flaky: errors.log"
echo "crash.sh: ok ($cells cells, failures recorded, the rest complete)"
