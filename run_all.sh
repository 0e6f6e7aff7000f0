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

# ---- the summary table, from a results folder alone ----
# The first (top-level) occurrence of a numeric field on each line: per-phase
# objects later on the line reuse names such as ns_per_op.
field() { awk -v k="\"$1\":" '{ i = index($0, k); if (i) { v = substr($0, i + length(k)); sub(/[^-0-9.e+].*/, "", v); print v } }' "$2"; }
# median, min, max and coefficient of variation (sd/mean) of numbers on stdin ("" if none)
spread_stats() { { grep -E '^-?[0-9]' || true; } | sort -g | awk '{v[NR]=$1; s+=$1; q+=$1*$1} END {if (NR==0) {print ",,,"; exit}
    m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; mean = s/NR; var = q/NR - mean*mean;
    printf "%.10g,%.10g,%.10g,%.4f\n", m, v[1], v[NR], (mean>0 && var>0) ? sqrt(var)/mean : 0}'; }
median_of() { spread_stats | cut -d, -f1; }
# median, minimum and spread ((max-min)/median) of numbers on stdin, for the table
stats() { spread_stats | awk -F, '{ if ($1 == "") print "nan nan nan"; else printf "%s %s %g\n", $1, $2, ($1 > 0) ? ($3 - $2) / $1 : 0 }'; }
# RSS after the last idle marker of each record (the "rss_bytes" of the last entry of "idle"), if any.
idle_rss() { grep -o '"idle":\[[^]]*\]' "$1" 2>/dev/null | awk '{ n = split($0, e, "\"rss_bytes\":"); if (n > 1) { v = e[n]; sub(/[^0-9].*/, "", v); print v } }'; }
# summary.csv: one row per workload x allocator, from the raw records alone.
summary_csv() {
    local dir=$1 t a name f g_ns g_rss ns wall rss
    echo "workload,allocator,runs,ns_per_op_median,ns_per_op_min,ns_per_op_max,ns_per_op_cv,wall_s_median,wall_s_min,wall_s_max,wall_s_cv,peak_rss_bytes_median,frag_peak_median,frag_end_median,minor_faults_median,idle_rss_bytes_median,time_vs_glibc,peak_rss_vs_glibc"
    for t in $(awk '{print $3}' "$dir/order.txt" | sort -u); do
        name=$(basename "$t")
        g_ns=$(field ns_per_op "$dir/raw/$name.glibc.jsonl" 2>/dev/null | median_of)
        g_rss=$(field peak_rss_bytes "$dir/raw/$name.glibc.jsonl" 2>/dev/null | median_of)
        for a in $(awk '{print $2}' "$dir/order.txt" | sort -u); do
            f=$dir/raw/$name.$a.jsonl
            ns=$(field ns_per_op "$f" 2>/dev/null | spread_stats)
            wall=$(field wall_ns "$f" 2>/dev/null | awk '{printf "%.9f\n", $1/1e9}' | spread_stats)
            rss=$(field peak_rss_bytes "$f" 2>/dev/null | median_of)
            printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$name" "$a" "$(field ns_per_op "$f" 2>/dev/null | wc -l)" "$ns" "$wall" \
                "$rss" "$(field frag_peak "$f" 2>/dev/null | median_of)" "$(field frag_end "$f" 2>/dev/null | median_of)" \
                "$(field minor_faults "$f" 2>/dev/null | median_of)" "$(idle_rss "$f" | median_of)" \
                "$(awk -v a="${ns%%,*}" -v b="$g_ns" 'BEGIN {if (a != "" && b > 0) printf "%.4f", a/b}'),$(awk -v a="$rss" -v b="$g_rss" 'BEGIN {if (a != "" && b > 0) printf "%.4f", a/b}')"
        done
    done
}
# machine.json: what ran, where, with which versions.
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n')"; }
machine_json() {
    local dir=$1 a v first=1
    printf '{"command":%s,' "$(json_str "$0 ${orig_args[*]:-}")"
    printf '"date":%s,"seed":%s,"rounds":%s,"scale":%s,' "$(json_str "$(date -u +%FT%TZ)")" "$seed" "$rounds" "$(json_str "$scale")"
    printf '"git":%s,' "$(json_str "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')")"
    printf '"cpu":%s,"cores":%s,' "$(json_str "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')")" "$(nproc)"
    printf '"mem_kb":%s,"kernel":%s,' "$(awk '/MemTotal/ {print $2}' /proc/meminfo)" "$(json_str "$(uname -srm)")"
    printf '"libc":%s,"compiler":%s,"allocators":{' "$(json_str "$(ldd --version 2>&1 | head -1)")" "$(json_str "$(${CC:-cc} --version | head -1)")"
    for a in $allocators; do
        v=$(cat "$dir"/raw/*."$a".jsonl 2>/dev/null | grep -o -m1 '"allocator_version":"[^"]*"' | sed 's/.*:"//; s/"$//' || true)
        if [ "$a" = dry ]; then v="none: the harness alone (allocmark-glibc --dry)"; fi
        [ $first -eq 1 ] || printf ','
        first=0
        printf '%s:%s' "$(json_str "$a")" "$(json_str "${v:-unknown}")"
    done
    printf '}}\n'
}
# atomic FILE CMD...: CMD's output becomes FILE only if CMD succeeds (temp file, then rename).
atomic() {
    local f=$1
    shift
    if "$@" > "$f.tmp.$$"; then mv "$f.tmp.$$" "$f"; else rm -f "$f.tmp.$$"; return 1; fi
}
summarize() {
    local dir=$1 t a name f ns ns_min ns_spread rss g_ns g_rss
    local traces allocs rounds_done
    traces=$(awk '{print $3}' "$dir/order.txt" | sort -u)
    allocs=$(awk '{print $2}' "$dir/order.txt" | sort -u)
    rounds_done=$(awk 'END {print $1}' "$dir/order.txt")
    printf '%-32s %-18s %9s %9s %7s %8s %11s %8s %5s\n' trace allocator ns/op min spread x_glibc peak_MiB x_glibc flag
    for t in $traces; do
        name=$(basename "$t")
        read -r g_ns _ _ < <(field ns_per_op "$dir/raw/$name.glibc.jsonl" 2>/dev/null | stats)
        read -r g_rss _ _ < <(field peak_rss_bytes "$dir/raw/$name.glibc.jsonl" 2>/dev/null | stats)
        for a in $allocs; do
            f=$dir/raw/$name.$a.jsonl
            if [ "$(field ns_per_op "$f" 2>/dev/null | wc -l)" -eq 0 ]; then
                printf '%-32s %-18s %s\n' "$name" "$a" "FAILED (see errors.log)"
                continue
            fi
            read -r ns ns_min ns_spread < <(field ns_per_op "$f" | stats)
            read -r rss _ _ < <(field peak_rss_bytes "$f" | stats)
            awk -v t="$name" -v a="$a" -v ns="$ns" -v mn="$ns_min" -v sp="$ns_spread" -v gns="$g_ns" \
                -v rss="$rss" -v grss="$g_rss" 'BEGIN {
                printf "%-32s %-18s %9.2f %9.2f %6.0f%% %7.2fx %11.2f %7.2fx %5s\n", t, a, ns, mn, sp*100,
                    (gns>0)?ns/gns:0, rss/1048576, (grss>0)?rss/grss:0, (sp>0.25)?"WIDE":""}'
        done
    done
    echo
    echo "median of $rounds_done interleaved rounds ($(grep -m1 '^seed' "$dir/machine.txt")); spread = (max-min)/median"
    echo "of ns/op; WIDE = spread over 25%: the machine was noisy, rerun before trusting that row."
    echo "dry = the replay without allocator calls: the harness's own share of every ns/op."
}

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
