#!/bin/bash
# jobs.sh BUILD_DIR - `run_all.sh --jobs FILE` writes the matrix as a job list (one
# cell per line, in the plan's order); GNU parallel (-j1: one benchmark at a time) and
# the README's Slurm array line run it; `--summarize DIR` merges the cells: the same
# cells, order and files as a direct run with the same options and seed, a valid
# summary.csv and machine.json.
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/../.."
command -v parallel > /dev/null || { echo "jobs.sh: SKIP: GNU parallel is not installed (make test-deps installs it)"; exit 0; }
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "jobs.sh: FAIL: $*" >&2; for f in stderr jobs.txt; do echo "--- $f"; cat "$tmp/$f" 2>/dev/null || true; done; exit 1; }
export ALLOCMARK_BIN=$B/bin
opts=(--quick -r 2 --seed 21 --no-plots -a "dry,glibc,slab" -w "churn,handwritten")

./run_all.sh "${opts[@]}" --jobs "$tmp/jobs.txt" -o "$tmp/jobs" > /dev/null 2> "$tmp/stderr" || fail "--jobs failed"
j=$tmp/jobs
[ "$(wc -l < "$tmp/jobs.txt")" -eq 12 ] || fail "expected 12 jobs (2 rounds x 3 rows x 2 workloads)"
grep -q "parallel -j1 .*< $tmp/jobs.txt" "$tmp/stderr" || fail "--jobs does not say how to run the list"
{ [ ! -s "$j/runs.jsonl" ] && [ -z "$(ls "$j/cells")" ]; } || fail "--jobs ran cells"
# The list is the plan, line by line.
sed 's/.* --cell [^ ]* \([0-9]*\) \([^ ]*\) \([^ ]*\)$/\1 \2 \3/' "$tmp/jobs.txt" > "$tmp/jobs.cells"
awk '{n = split($4, p, "/"); print $2, $3, p[n]}' "$j/plan.txt" | cmp -s - "$tmp/jobs.cells" || fail "the job list is not the plan's order"

# The first half through GNU parallel, the rest as a Slurm job array runs each task
# (README: sed -n "${SLURM_ARRAY_TASK_ID}p" FILE | bash), from another folder.
(cd / && head -n 6 "$tmp/jobs.txt" | parallel -j1 --will-cite) > /dev/null 2>> "$tmp/stderr" || fail "parallel: a job failed"
for i in $(seq 7 12); do
    (cd / && SLURM_ARRAY_TASK_ID=$i bash -c 'sed -n "${SLURM_ARRAY_TASK_ID}p" "$0" | bash' "$tmp/jobs.txt") > /dev/null 2>> "$tmp/stderr" ||
        fail "array task $i failed"
done
# A job run twice does nothing the second time.
sed -n 3p "$tmp/jobs.txt" | bash 2>> "$tmp/stderr" || fail "a finished job run again failed"
grep -q "finished already" "$tmp/stderr" || fail "a finished job run again did not say so"
./run_all.sh --summarize "$j" --no-plots > "$tmp/table" 2>> "$tmp/stderr" || fail "--summarize after the jobs: non-zero"

./run_all.sh "${opts[@]}" -o "$tmp/direct" > /dev/null 2>> "$tmp/stderr" || fail "the direct run failed"
d=$tmp/direct
cmp -s "$j/plan.txt" "$d/plan.txt" || fail "plan.txt differs between --jobs and a direct run"
cmp -s "$j/args" "$d/args" || fail "args differ between --jobs and a direct run"
cmp -s "$j/order.txt" "$d/order.txt" || fail "order.txt differs"
jq -r '"\(.round) \(.row) \(.workload)"' "$j/runs.jsonl" > "$tmp/j.cells" || fail "runs.jsonl (jobs) is not JSON lines"
jq -r '"\(.round) \(.row) \(.workload)"' "$d/runs.jsonl" > "$tmp/d.cells" || fail "runs.jsonl (direct) is not JSON lines"
{ [ "$(wc -l < "$tmp/j.cells")" -eq 12 ] && cmp -s "$tmp/j.cells" "$tmp/d.cells"; } || fail "runs.jsonl: not the same cells in the same order"
(cd "$j/raw" && ls) > "$tmp/j.raw"
(cd "$d/raw" && ls) > "$tmp/d.raw"
cmp -s "$tmp/j.raw" "$tmp/d.raw" || fail "raw/ holds other files"
for f in "$j"/raw/*.jsonl; do [ "$(wc -l < "$f")" -eq 2 ] || fail "$f: not 2 records"; done
[ "$(find "$j/timelines" -name '*.csv' | wc -l)" -eq 12 ] || fail "timelines: not one per run"
cut -d, -f1,2,3 "$j/summary.csv" | cmp -s - <(cut -d, -f1,2,3 "$d/summary.csv") || fail "summary.csv: other rows or run counts"
awk -F, 'NR == 1 {n = NF} NF != n {exit 1} END {exit NR != 7}' "$j/summary.csv" || fail "summary.csv: ragged or not 6 rows"
jq -e '.seed == 21 and (.allocators | keys == ["dry", "glibc", "slab"])' "$j/machine.json" > /dev/null || fail "machine.json"
cmp -s "$tmp/table" "$j/summary.txt" || fail "--summarize did not print summary.txt"
echo "jobs.sh: ok (12 jobs, 6 through parallel -j1 and 6 as Slurm array tasks, merged like a direct run)"
