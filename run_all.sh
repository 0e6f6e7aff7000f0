#!/bin/bash
# run_all.sh - replay every trace in workloads/ against every allocator, in
# interleaved rounds (a fresh random order each round, seeded and recorded), and
# print per trace the median time and peak RSS of each allocator relative to glibc.
#
# A "dry" row replays each trace without calling any allocator: the harness's own
# cost, which is inside every other row's ns/op.
#
# Workloads: every workloads/*.wl spec (generated once into build/workloads/ by
# `allocmark-trace gen`, cached by content hash) and every workloads/*.trace[.zst].
#
# usage: ./run_all.sh [--rounds N] [--seed N] [--latency] [--trace FILE]... [-- DRIVER-OPTIONS...]
#   --trace FILE   replay FILE (a trace or a .wl spec) instead of the default set (repeatable)
#   --scale X      multiply the work of every .wl spec by X (0.01 is a smoke run)
#   --quick        a smoke run: --scale 0.01 --rounds 1
#   -a LIST        only these allocators (comma-separated; `dry` is the harness alone)
#   -w LIST        only these workloads (comma-separated names from workloads/, e.g.
#                  kvserver,redis: NAME.wl, NAME.trace or NAME.trace.zst)
#   -r N           the same as --rounds N
#   --time-limit S each run is stopped after S seconds (default 600) and counted as
#                  that cell's failure; the matrix goes on
#   --variant NAME=ALLOCATOR:OPTS  add a row NAME that runs allocmark-ALLOCATOR
#                  --alloc-opt OPTS (a named tuning profile; repeatable), e.g.
#                  --variant slab-prealloc256M=slab:prealloc=256M
#   --summarize DIR  print the summary table of an earlier run's results folder
# Results go to results/<run-id>/ (see results/README.md).
set -euo pipefail
cd "$(dirname "$0")"

# The summary step (summary.txt/.csv, machine.json) lives in harness/run_all/.
# shellcheck source=harness/run_all/results.sh
. harness/run_all/results.sh

orig_args=("$@")
rounds=5
seed=$(date +%s)
extra=()
only=()
scale=1
only_allocs=
only_workloads=
time_limit=600
variants=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --latency) extra+=(--latency); shift ;;
        --trace) only+=("$2"); shift 2 ;;
        --variant)
            case "$2" in *=*:*) variants+=("$2") ;;
                *) echo "run_all.sh: --variant wants NAME=ALLOCATOR:OPTS, got '$2'" >&2; exit 1 ;;
            esac
            shift 2 ;;
        --summarize) summarize "$2"; exit 0 ;;
        --) shift; extra+=("$@"); break ;;
        --scale) scale=$2; shift 2 ;;
        --quick) scale=0.01; rounds=1; shift ;;
        -a) only_allocs=$2; shift 2 ;;
        -w) only_workloads=$2; shift 2 ;;
        -r) rounds=$2; shift 2 ;;
        --time-limit) time_limit=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "run_all.sh: unknown option $1 (try --help)" >&2; exit 1 ;;
    esac
done
case "$rounds" in ''|*[!0-9]*|0) echo "run_all.sh: --rounds needs a positive integer" >&2; exit 1 ;; esac
case "$seed" in ''|*[!0-9]*) echo "run_all.sh: --seed needs a non-negative integer" >&2; exit 1 ;; esac
case "$time_limit" in ''|*[!0-9]*|0) echo "run_all.sh: --time-limit needs a positive number of seconds" >&2; exit 1 ;; esac
case "$scale" in ''|*[!0-9.]*|*.*.*) echo "run_all.sh: --scale needs a positive number" >&2; exit 1 ;; esac

make -s -j2 all >&2
allocators="dry $(make -s -f Makefile print-allocators 2>/dev/null)"
if [ -n "$only_allocs" ]; then
    for a in ${only_allocs//,/ }; do
        case " $allocators " in *" $a "*) ;;
            *) echo "run_all.sh: -a: no allocator '$a' (built: $allocators)" >&2; exit 1 ;;
        esac
    done
    allocators=${only_allocs//,/ }
fi
for v in "${variants[@]}"; do
    base=${v#*=}
    base=${base%%:*}
    [ -x "build/bin/allocmark-$base" ] || { echo "run_all.sh: --variant $v: no allocator '$base'" >&2; exit 1; }
    allocators="$allocators ${v%%=*}"
done

shopt -s nullglob
if [ ${#only[@]} -gt 0 ]; then
    traces=("${only[@]}")
elif [ -n "$only_workloads" ]; then
    traces=()
    for w in ${only_workloads//,/ }; do
        n=${#traces[@]}
        for f in workloads/"$w".wl workloads/"$w".trace workloads/"$w".trace.zst; do
            [ -f "$f" ] && traces+=("$f")
        done
        [ ${#traces[@]} -gt "$n" ] || { echo "run_all.sh: -w: no workload '$w' in workloads/" >&2; exit 1; }
    done
else
    traces=(workloads/*.wl workloads/*.trace workloads/*.trace.zst)
fi
# A spec is replayed as the trace it generates; results keep the spec's name.
declare -A replay_file
for t in "${traces[@]}"; do
    case "$t" in
        *.wl)
            echo "generating $t (scale $scale)..." >&2
            replay_file[$t]=$(build/bin/allocmark-trace gen "$t" --scale "$scale" --cache-dir build/workloads) ||
                { echo "run_all.sh: cannot generate $t" >&2; exit 1; } ;;
        *) replay_file[$t]=$t ;;
    esac
done
run_id=$(date -u +%Y%m%d-%H%M%S)-$seed
out=results/$run_id
mkdir -p "$out/raw"
{
    echo "command: $0 ${orig_args[*]:-} (effective: --rounds $rounds --seed $seed)"
    echo "date: $(date -u +%FT%TZ)"
    echo "seed: $seed"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
    echo "kernel: $(uname -srm)"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "cpus: $(nproc)"
    grep MemTotal /proc/meminfo || true
    echo "scale: $scale"
    for t in "${traces[@]}"; do echo "trace $t: ${replay_file[$t]} $(sha256sum < "${replay_file[$t]}" | cut -c1-16)"; done
} > "$out/machine.txt"

# Interleave: each round runs every (trace, allocator) pair in a fresh order.
RANDOM=$seed
pairs=()
for t in "${traces[@]}"; do for a in $allocators; do pairs+=("$a|$t"); done; done
failures=0
for ((r = 1; r <= rounds; r++)); do
    order=()
    for p in "${pairs[@]}"; do order+=("$RANDOM|$p"); done
    mapfile -t order < <(printf '%s\n' "${order[@]}" | sort -t'|' -k1,1n | cut -d'|' -f2-)
    echo "round $r/$rounds: ${#order[@]} runs" >&2
    for p in "${order[@]}"; do
        a=${p%%|*}
        t=${p#*|}
        name=$(basename "$t")
        echo "$r $a $t" >> "$out/order.txt"
        driver=(build/bin/allocmark-"$a")
        [ "$a" = dry ] && driver=(build/bin/allocmark-glibc --dry)
        for v in "${variants[@]}"; do
            if [ "${v%%=*}" = "$a" ]; then
                spec=${v#*=}
                driver=(build/bin/allocmark-"${spec%%:*}" --alloc-opt "${spec#*:}")
            fi
        done
        rc=0
        timeout --kill-after=10 "$time_limit" "${driver[@]}" "${extra[@]}" "${replay_file[$t]}" \
            >> "$out/raw/$name.$a.jsonl" 2>> "$out/errors.log" || rc=$?
        if [ "$rc" -ne 0 ]; then
            why="exit status $rc"
            [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="time limit of ${time_limit}s (exit status $rc)"
            echo "run_all.sh: round $r: $a on $t (${replay_file[$t]}) failed: $why" >> "$out/errors.log"
            failures=$((failures + 1))
        fi
    done
done

atomic "$out/summary.txt" summarize "$out"
cat "$out/summary.txt"
atomic "$out/summary.csv" summary_csv "$out"
atomic "$out/machine.json" machine_json "$out"
ln -sfn "$run_id" results/latest
echo "results: $out" >&2
[ "$failures" -eq 0 ] || { echo "run_all.sh: $failures runs failed (see $out/errors.log)" >&2; exit 1; }
