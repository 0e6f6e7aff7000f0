#!/bin/bash
# resume.sh BUILD_DIR - a run interrupted mid-cell (SIGINT, as Ctrl-C sends it) is
# finished by `run_all.sh --resume DIR`: the same options, seed and order, the finished
# cells not run again, the interrupted one run again, every cell exactly once in
# runs.jsonl and raw/ (even after a half-appended line), and nothing left to do after.
# The drivers are wrappers around the real ones that log every call (the --timeline
# file names the cell) and, at call $STOP_AT, interrupt run_all.sh and hang.
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "resume.sh: FAIL: $*" >&2; for f in stderr1 stderr2 calls; do echo "--- $f"; cat "$tmp/$f" 2>/dev/null || true; done; exit 1; }

bin=$tmp/bin
mkdir "$bin"
cat > "$bin/wrapper" <<EOF2
#!/bin/bash
calls=$tmp/calls
real=$PWD/$B/bin/\$(basename "\$0")
EOF2
cat >> "$bin/wrapper" <<'EOF2'
while [ $# -gt 0 ]; do [ "$1" = --timeline ] && cell=$2; args+=("$1"); shift; done
echo "${cell##*/}" >> "$calls"
if [ "$(wc -l < "$calls")" -eq "${STOP_AT:-0}" ]; then
    echo partial > "$cell"
    # the driver's parent is timeout, timeout's parent run_all.sh: Ctrl-C it
    kill -INT "$(awk '{print $4}' /proc/$PPID/stat)"
    exec sleep 30
fi
exec "$real" "${args[@]}"
EOF2
chmod +x "$bin/wrapper"
ln -s wrapper "$bin/allocmark-glibc"
ln -s wrapper "$bin/allocmark-slab"
o=$tmp/out

# 8 cells (2 rounds x glibc,slab x churn,handwritten); interrupted in the 4th.
rc=0
ALLOCMARK_BIN=$bin STOP_AT=4 ./run_all.sh --quick -r 2 --seed 11 --no-plots -a glibc,slab -w churn,handwritten \
    -o "$o" > /dev/null 2> "$tmp/stderr1" || rc=$?
[ "$rc" -eq 130 ] || fail "interrupted run: exit status $rc, expected 130"
grep -q -- "--resume $o" "$tmp/stderr1" || fail "no --resume hint after the interrupt"
[ "$(wc -l < "$tmp/calls")" -eq 4 ] || fail "the run went on after the interrupt"
[ "$(find "$o/cells" -name '*.status' | wc -l)" -eq 3 ] || fail "expected 3 finished cells after the interrupt"
[ "$(wc -l < "$o/runs.jsonl")" -eq 3 ] || fail "expected 3 records in runs.jsonl after the interrupt"
cp "$o/plan.txt" "$o/args" "$tmp/"
for s in 1 2 3; do cp "$o/cells/$s.json" "$tmp/cell$s.json"; done
head -n 3 "$tmp/calls" > "$tmp/calls.first"
# A cell half appended when the run was killed (between a record and its status):
# it must not survive the resume as a line of its own.
r1=$(awk 'NR == 1 {n = split($4, p, "/"); print p[n] "." $3}' "$o/plan.txt")
printf '{"ns_per_op":1,"half' >> "$o/raw/$r1.jsonl"
printf '{"round":1,"row":"glibc","workload":"churn.wl","ns_per_op":1,"half' >> "$o/runs.jsonl"

# --resume takes only the recorded options.
rc=0
./run_all.sh --resume "$o" -r 3 > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "--resume with a matrix option accepted"
[ "$(wc -l < "$tmp/calls")" -eq 4 ] || fail "a refused --resume ran something"

# Not while another run_all.sh holds the folder (here: this test holds its lock).
rc=0
( flock 9; ./run_all.sh --resume "$o" --no-plots > /dev/null 2> "$tmp/err" ) 9> "$o/.lock" || rc=$?
{ [ "$rc" -eq 1 ] && grep -q "another run_all.sh is writing" "$tmp/err"; } || fail "--resume of a folder in use: exit status $rc, $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/calls")" -eq 4 ] || fail "a refused --resume ran something"

# Resume (no ALLOCMARK_BIN now: the drivers folder is recorded in the folder too).
rc=0
./run_all.sh --resume "$o" --no-plots > /dev/null 2> "$tmp/stderr2" || rc=$?
[ "$rc" -eq 0 ] || fail "--resume: exit status $rc"
{ cmp -s "$o/plan.txt" "$tmp/plan.txt" && cmp -s "$o/args" "$tmp/args"; } || fail "--resume changed plan.txt or args"
grep -q -- "--seed 11" "$o/machine.txt" || fail "machine.txt lost the seed"
# Finished cells were not run again: their records are the very same bytes, their
# timelines not asked for again; the interrupted cell ran once more; 4 + 5 calls.
for s in 1 2 3; do cmp -s "$o/cells/$s.json" "$tmp/cell$s.json" || fail "cell $s was run again"; done
[ "$(wc -l < "$tmp/calls")" -eq 9 ] || fail "$(wc -l < "$tmp/calls") driver calls in all, expected 4 + 5"
tail -n 5 "$tmp/calls" | grep -qxFf "$tmp/calls.first" && fail "a finished cell's driver ran again"
[ "$(sed -n 5p "$tmp/calls")" = "$(sed -n 4p "$tmp/calls")" ] || fail "the interrupted cell was not the first one run again"
! grep -qx partial "$o/timelines/$(sed -n 4p "$tmp/calls")" || fail "the interrupted cell's timeline was not written again"

# Every cell exactly once, in plan order, valid JSON.
jq -e . "$o/runs.jsonl" > /dev/null || fail "runs.jsonl is not JSON lines"
jq -r '"\(.round) \(.row) \(.workload)"' "$o/runs.jsonl" > "$tmp/cells.got"
awk '{n = split($4, p, "/"); print $2, $3, p[n]}' "$o/plan.txt" > "$tmp/cells.want"
cmp -s "$tmp/cells.got" "$tmp/cells.want" || fail "runs.jsonl's cells are not the plan's, once each, in order"
for f in "$o"/raw/*.jsonl; do
    jq -e . "$f" > /dev/null || fail "$f is not JSON lines"
    [ "$(wc -l < "$f")" -eq 2 ] || fail "$f: $(wc -l < "$f") records for 2 rounds"
done
[ "$(find "$o/raw" -name '*.jsonl' | wc -l)" -eq 4 ] || fail "raw/: expected 4 files"
awk '{print $2, $3, $4}' "$o/plan.txt" | cmp -s - "$o/order.txt" || fail "order.txt is not the plan's order"
{ [ "$(wc -l < "$o/summary.csv")" -eq 5 ] && grep -q '^churn.wl,slab,2,' "$o/summary.csv"; } || fail "summary.csv: not 2 runs per cell"
jq -e '.seed == 11 and .rounds == 2' "$o/machine.json" > /dev/null || fail "machine.json: seed or rounds"
# the last columns: the min and max over the rounds of peak RSS and frag_peak (raw/)
head -n 1 "$o/summary.csv" | grep -q ',winner,peak_rss_bytes_min,peak_rss_bytes_max,frag_peak_min,frag_peak_max$' ||
    fail "summary.csv: the last columns are not peak_rss_bytes_min,peak_rss_bytes_max,frag_peak_min,frag_peak_max"
tail -n +2 "$o/summary.csv" | while IFS=, read -r w a rest; do
    want=$(jq -rs '"\(map(.peak_rss_bytes) | min),\(map(.peak_rss_bytes) | max),\(map(.frag_peak) | min),\(map(.frag_peak) | max)"' "$o/raw/$w.$a.jsonl")
    got=$(printf '%s\n' "$rest" | awk -F, '{ printf "%.0f,%.0f,%.6g,%.6g", $(NF - 3), $(NF - 2), $(NF - 1), $NF }')
    [ "$got" = "$(printf '%s\n' "$want" | awk -F, '{ printf "%.0f,%.0f,%.6g,%.6g", $1, $2, $3, $4 }')" ] ||
        fail "summary.csv $w $a: peak RSS and frag_peak min,max $got, raw/ says $want"
done

# Resuming a finished run runs nothing.
./run_all.sh --resume "$o" --no-plots > /dev/null 2>&1 || fail "--resume of a finished run failed"
[ "$(wc -l < "$tmp/calls")" -eq 9 ] || fail "--resume of a finished run ran cells"
echo "resume.sh: ok (interrupted after 3 of 8 cells, resumed: 5 runs, each cell once)"
