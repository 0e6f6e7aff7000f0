#!/bin/bash
# crash_driver.sh BUILD_DIR - the fake crashing allocator (tests/crash_adapter.c,
# BUILD_DIR/tests/bin/allocmark-crash) that run_all.sh's failure tests use: it works
# for crash_after allocating calls, then prints a line on stderr and dies of SIGSEGV
# (or SIGABRT with crash_mode=abort). Its replay child really dies of the signal: the
# driver maps that to exit status 3, a JSON line with "error" and a stderr line
# "allocmark-crash: TRACE: replay process killed by signal N (NAME)", and goes on
# with the next trace.
set -euo pipefail
B=${1:-build}
crash=$B/tests/bin/allocmark-crash
trace=workloads/handwritten.trace # 13 allocating calls, 25 ops
[ -x "$crash" ] || { echo "crash_driver.sh: no $crash (make test builds it)" >&2; exit 1; }
[ ! -e "$B/bin/allocmark-crash" ] || { echo "crash_driver.sh: allocmark-crash is among the real drivers in $B/bin" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 # no core files from the crashes

fail() { echo "crash_driver.sh: $*" >&2; echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; exit 1; }
# run EXPECTED_STATUS ARGS...: run the crash driver, check its exit status
run() {
    local want=$1 rc=0
    shift
    "$crash" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want"
}

# Under the limit it is an allocator like any other.
run 0 "$trace"
[ "$(jq -r '"\(.ops) \(has("error"))"' "$tmp/out")" = "25 false" ] || fail "default run: not a clean record"
run 0 --alloc-opt crash_after=13 "$trace"

# SIGSEGV at the 4th allocating call: stderr has the adapter's line, then the driver's.
run 3 --alloc-opt crash_after=3 "$trace"
[ "$(jq -r '.error' "$tmp/out")" = "replay process killed by signal 11 (Segmentation fault)" ] || fail "segv: JSON error"
grep -q "^crash: allocating call 4 after crash_after=3: crashing on purpose" "$tmp/err" || fail "segv: no adapter message"
grep -q "^allocmark-crash: $trace: replay process killed by signal 11 (Segmentation fault)$" "$tmp/err" || fail "segv: no driver message"

# SIGABRT, and the default crash_after (1000) reached by a longer trace.
for i in $(seq 1 1100); do echo "t0 malloc $i 32"; done >"$tmp/long.trace"
run 3 --alloc-opt crash_mode=abort "$tmp/long.trace"
[ "$(jq -r '.error' "$tmp/out")" = "replay process killed by signal 6 (Aborted)" ] || fail "abort: JSON error"
grep -q "^crash: allocating call 1001 after crash_after=1000: crashing on purpose (abort" "$tmp/err" || fail "abort: no adapter message"

# A crashed trace does not stop the next one: one JSON line each, exit status 3.
printf 't0 malloc 1 16\nt0 free 1\n' >"$tmp/tiny.trace"
run 3 --alloc-opt crash_after=12 "$trace" "$tmp/tiny.trace"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "two traces: not two JSON lines"
[ "$(jq -r '.error // "none"' "$tmp/out" | tr '\n' ' ')" = "replay process killed by signal 11 (Segmentation fault) none " ] ||
    fail "two traces: want the first crashed and the second clean"

# --histogram: written from a replay that finished, not from one that crashed.
run 0 --latency --histogram "$tmp/ok.csv" "$trace"
[ "$(head -n 1 "$tmp/ok.csv")" = "kind,lo_ns,hi_ns,count" ] || fail "histogram: no CSV from a clean run"
run 3 --latency --histogram "$tmp/crashed.csv" --alloc-opt crash_after=3 "$trace"
[ ! -e "$tmp/crashed.csv" ] || fail "histogram: a crashed replay wrote $tmp/crashed.csv"

# A bad option is an init failure (exit 3 too), named on stderr.
run 3 --alloc-opt crash_after=x "$trace"
grep -q "crash: bad allocator option 'crash_after=x'" "$tmp/err" || fail "bad option: no message"
echo "allocmark-crash: segv and abort recorded as exit 3 with the signal named; the next trace goes on"
