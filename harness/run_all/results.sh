# shellcheck shell=bash
# results.sh - everything that reads a results folder: merging the per-cell records
# (cells/) into raw/*.jsonl, runs.jsonl, order.txt and errors.log, and the summary step
# (summary.txt, summary.csv, machine.json).
# Sourced by run_all.sh; needs nothing but the folder (and, for machine_json, the
# run's globals seed, rounds, scale, allocators, profile).

# ---- statistics helpers ----
# The first (top-level) occurrence of a numeric field on each line: per-phase
# objects later on the line reuse names such as ns_per_op.
field() { awk -v k="\"$1\":" '{ i = index($0, k); if (i) { v = substr($0, i + length(k)); sub(/[^-0-9.e+].*/, "", v); print v } }' "$2"; }
# median, min, max and coefficient of variation (sd/mean) of numbers on stdin ("" if none)
spread_stats() { { grep -E '^-?[0-9]' || true; } | sort -g | awk '{v[NR]=$1; s+=$1; q+=$1*$1} END {if (NR==0) {print ",,,"; exit}
    m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; mean = s/NR; var = q/NR - mean*mean;
    printf "%.10g,%.10g,%.10g,%.4f\n", m, v[1], v[NR], (mean>0 && var>0) ? sqrt(var)/mean : 0}'; }
median_of() { spread_stats | cut -d, -f1; }
# median, minimum, spread ((max-min)/median) and CV of numbers on stdin, for the table
stats() { spread_stats | awk -F, '{ if ($1 == "") print "nan nan nan nan"; else printf "%s %s %g %s\n", $1, $2, ($1 > 0) ? ($3 - $2) / $1 : 0, $4 }'; }
# RSS after the last idle marker of each record (the "rss_bytes" of the last entry of "idle"), if any.
idle_rss() { grep -o '"idle":\[[^]]*\]' "$1" 2>/dev/null | awk '{ n = split($0, e, "\"rss_bytes\":"); if (n > 1) { v = e[n]; sub(/[^0-9].*/, "", v); print v } }'; }
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n')"; }
# atomic FILE CMD...: CMD's output becomes FILE only if CMD succeeds (temp file, then rename).
atomic() {
    local f=$1
    shift
    if "$@" > "$f.tmp.$$"; then mv "$f.tmp.$$" "$f"; else rm -f "$f.tmp.$$"; return 1; fi
}

# ---- the cells of a results folder ----
# plan.txt: "SEQ ROUND ROW TRACE" for every cell of the matrix, in run order.
# cells/SEQ.status (written last, atomically: the cell is finished when it exists):
#   "ok 0 - SECONDS" or "failed EXIT_STATUS SIGNAL|- SECONDS REASON..."
# cells/SEQ.json: the driver's JSON line (--json); cells/SEQ.stderr: its stdout+stderr.

# publish_cell DIR SEQ ROUND ROW TRACE TARGET: append a finished cell to TARGET's
# order.txt, raw/, runs.jsonl and errors.log (TARGET is DIR itself, or a rebuild folder).
publish_cell() {
    local dir=$1 seq=$2 r=$3 row=$4 t=$5 to=$6 name c st rc sig dur reason id
    name=${t##*/}
    c=$dir/cells/$seq
    read -r st rc sig dur reason < "$c.status"
    id="{\"round\":$r,\"row\":$(json_str "$row"),\"workload\":$(json_str "$name"),"
    echo "$r $row $t" >> "$to/order.txt"
    if [ "$st" = ok ]; then
        cat "$c.json" >> "$to/raw/$name.$row.jsonl"
        # the cell's identity in front of the driver's own fields
        awk -v id="$id" '/^\{/ { print id substr($0, 2) }' "$c.json" >> "$to/runs.jsonl"
        if [ -s "$c.stderr" ]; then
            echo "=== round $r, $row, $name: ok; what it printed:"
            tail -n 20 "$c.stderr"
        fi >> "$to/errors.log"
    else
        [ "$sig" = - ] && sig=null || sig=$(json_str "$sig")
        printf '%s"failed":true,"exit_status":%s,"signal":%s,"reason":%s,"seconds":%s}\n' \
            "$id" "$rc" "$sig" "$(json_str "$reason")" "$dur" >> "$to/runs.jsonl"
        {
            echo "=== round $r, $row, $name: FAILED: $reason; the last 20 lines it printed:"
            tail -n 20 "$c.stderr" 2>/dev/null || true
        } >> "$to/errors.log"
    fi
}
# rebuild_results DIR: order.txt, raw/, runs.jsonl and errors.log made again from the
# finished cells alone, in plan order (each file replaced by a rename): whatever a killed
# run half-appended is gone, and no cell appears twice.
rebuild_results() {
    local dir=$1 tmp=$1/.rebuild.$$ seq r row t
    rm -rf "$tmp"
    mkdir -p "$tmp/raw"
    : > "$tmp/order.txt"
    : > "$tmp/runs.jsonl"
    : > "$tmp/errors.log"
    while read -r seq r row t; do
        [ -f "$dir/cells/$seq.status" ] && publish_cell "$dir" "$seq" "$r" "$row" "$t" "$tmp"
    done < "$dir/plan.txt"
    [ -f "$dir/run-errors.log" ] && cat "$dir/run-errors.log" >> "$tmp/errors.log"
    mv "$tmp/order.txt" "$tmp/runs.jsonl" "$tmp/errors.log" "$dir/"
    rm -rf "$dir/raw.old.$$"
    [ -d "$dir/raw" ] && mv "$dir/raw" "$dir/raw.old.$$"
    mv "$tmp/raw" "$dir/raw"
    rm -rf "$dir/raw.old.$$" "$tmp"
}
# cells_unfinished DIR: how many planned cells have no finished record yet
cells_unfinished() {
    local n=0 seq _
    while read -r seq _; do [ -f "$1/cells/$seq.status" ] || n=$((n + 1)); done < "$1/plan.txt"
    echo "$n"
}

# ---- the summary ----
# rows_of DIR / workloads_of DIR: the rows and traces that ran (order.txt)
rows_of() { awk '{print $2}' "$1/order.txt" | sort -u; }
workloads_of() { awk '{print $3}' "$1/order.txt" | sort -u; }
# baseline_row DIR: the row ratios are relative to: glibc, or glibc+PROFILE in a profile run
baseline_row() { rows_of "$1" | awk '$0 == "glibc" {g = 1} /^glibc\+/ && p == "" {p = $0} END {print g ? "glibc" : p}'; }
# failed_runs DIR ROW TRACE: runs of that cell that finished without a record
failed_runs() {
    local ran ok
    ran=$(awk -v a="$2" -v t="$3" '$2 == a && $3 == t' "$1/order.txt" | wc -l)
    ok=$(field ns_per_op "$1/raw/${3##*/}.$2.jsonl" 2>/dev/null | wc -l)
    echo $((ran > ok ? ran - ok : 0))
}
# winner_row DIR TRACE: the row with the lowest median ns/op on TRACE (dry excluded)
winner_row() {
    local dir=$1 name=${2##*/} a m
    for a in $(rows_of "$dir"); do
        [ "$a" = dry ] && continue
        m=$(field ns_per_op "$dir/raw/$name.$a.jsonl" 2>/dev/null | median_of)
        [ -n "$m" ] && echo "$m $a"
    done | sort -g | awk 'NR == 1 {print $2}'
}
# failure_note DIR ROW NAME: "exit status N, SIGNAME" of the cell's first recorded failure
failure_note() {
    local line es sg
    line=$(grep -F "\"row\":$(json_str "$2"),\"workload\":$(json_str "$3"),\"failed\":true" "$1/runs.jsonl" 2>/dev/null | head -n 1)
    [ -n "$line" ] || return 0
    es=$(printf '%s\n' "$line" | sed -n 's/.*"exit_status":\([0-9]*\).*/\1/p')
    sg=$(printf '%s\n' "$line" | sed -n 's/.*"signal":"\([^"]*\)".*/\1/p')
    echo "exit status $es${sg:+, $sg}"
}
# summary.csv: one row per workload x allocator, from the raw records alone.
summary_csv() {
    local dir=$1 t a name f g_ns g_rss ns wall rss base win
    base=$(baseline_row "$dir")
    echo "workload,allocator,runs,ns_per_op_median,ns_per_op_min,ns_per_op_max,ns_per_op_cv,wall_s_median,wall_s_min,wall_s_max,wall_s_cv,peak_rss_bytes_median,frag_peak_median,frag_end_median,minor_faults_median,idle_rss_bytes_median,time_vs_glibc,peak_rss_vs_glibc,failed_runs,winner"
    for t in $(workloads_of "$dir"); do
        name=$(basename "$t")
        g_ns=$(field ns_per_op "$dir/raw/$name.$base.jsonl" 2>/dev/null | median_of)
        g_rss=$(field peak_rss_bytes "$dir/raw/$name.$base.jsonl" 2>/dev/null | median_of)
        win=$(winner_row "$dir" "$t")
        for a in $(rows_of "$dir"); do
            awk -v a="$a" -v t="$t" '$2 == a && $3 == t {f = 1} END {exit !f}' "$dir/order.txt" || continue
            f=$dir/raw/$name.$a.jsonl
            ns=$(field ns_per_op "$f" 2>/dev/null | spread_stats)
            wall=$(field wall_ns "$f" 2>/dev/null | awk '{printf "%.9f\n", $1/1e9}' | spread_stats)
            rss=$(field peak_rss_bytes "$f" 2>/dev/null | median_of)
            printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$name" "$a" "$(field ns_per_op "$f" 2>/dev/null | wc -l)" "$ns" "$wall" \
                "$rss" "$(field frag_peak "$f" 2>/dev/null | median_of)" "$(field frag_end "$f" 2>/dev/null | median_of)" \
                "$(field minor_faults "$f" 2>/dev/null | median_of)" "$(idle_rss "$f" | median_of)" \
                "$(awk -v a="${ns%%,*}" -v b="$g_ns" 'BEGIN {if (a != "" && b > 0) printf "%.4f", a/b}'),$(awk -v a="$rss" -v b="$g_rss" 'BEGIN {if (a != "" && b > 0) printf "%.4f", a/b}')" \
                "$(failed_runs "$dir" "$a" "$t")" "$([ "$a" = "$win" ] && echo 1 || echo 0)"
        done
    done
}
# machine.json: what ran, where, with which versions.
# shellcheck disable=SC2154 # seed, rounds, scale, allocators: the run's globals (see the top)
machine_json() {
    local dir=$1 a v first=1 cmd date
    cmd=$(cat "$dir/command" 2>/dev/null || echo "$0 ${orig_args[*]:-}")
    date=$(sed -n 's/^date: //p' "$dir/machine.txt" 2>/dev/null | head -n 1)
    printf '{"command":%s,' "$(json_str "$cmd")"
    printf '"date":%s,"seed":%s,"rounds":%s,"scale":%s,' "$(json_str "${date:-$(date -u +%FT%TZ)}")" "$seed" "$rounds" "$(json_str "$scale")"
    if [ -n "${profile:-}" ]; then printf '"profile":%s,' "$(json_str "$profile")"; else printf '"profile":null,'; fi
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
# summary.txt: the table printed at the end of a run.
summarize() {
    local dir=$1 t a name f ns ns_min ns_spread ns_cv rss g_ns g_rss base win failed ran note
    local rounds_done
    base=$(baseline_row "$dir")
    rounds_done=$(awk '$1 > m {m = $1} END {print m + 0}' "$dir/order.txt")
    printf '%-32s %-18s %9s %9s %7s %6s %8s %11s %8s  %s\n' trace allocator ns/op min spread cv x_glibc peak_MiB x_glibc flags
    for t in $(workloads_of "$dir"); do
        name=$(basename "$t")
        read -r g_ns _ _ _ < <(field ns_per_op "$dir/raw/$name.$base.jsonl" 2>/dev/null | stats)
        read -r g_rss _ _ _ < <(field peak_rss_bytes "$dir/raw/$name.$base.jsonl" 2>/dev/null | stats)
        win=$(winner_row "$dir" "$t")
        for a in $(rows_of "$dir"); do
            ran=$(awk -v a="$a" -v t="$t" '$2 == a && $3 == t' "$dir/order.txt" | wc -l)
            [ "$ran" -gt 0 ] || continue
            f=$dir/raw/$name.$a.jsonl
            failed=$(failed_runs "$dir" "$a" "$t")
            if [ "$failed" -ge "$ran" ]; then
                note=$(failure_note "$dir" "$a" "$name")
                printf '%-32s %-18s %s\n' "$name" "$a" "FAILED $failed/$ran (${note:+$note; }see errors.log)"
                continue
            fi
            read -r ns ns_min ns_spread ns_cv < <(field ns_per_op "$f" | stats)
            read -r rss _ _ _ < <(field peak_rss_bytes "$f" | stats)
            awk -v t="$name" -v a="$a" -v ns="$ns" -v mn="$ns_min" -v sp="$ns_spread" -v cv="$ns_cv" -v gns="$g_ns" \
                -v rss="$rss" -v grss="$g_rss" -v win="$win" -v failed="$failed" -v ran="$ran" 'BEGIN {
                flags = (a == win) ? "*" : ""
                if (cv > 0.05) flags = flags (flags == "" ? "" : " ") "NOISY"
                if (sp > 0.25) flags = flags (flags == "" ? "" : " ") "WIDE"
                if (failed > 0) flags = flags (flags == "" ? "" : " ") "FAILED " failed "/" ran
                printf "%-32s %-18s %9.2f %9.2f %6.0f%% %5.1f%% %7.2fx %11.2f %7.2fx  %s\n", t, a, ns, mn, sp*100, cv*100,
                    (gns>0)?ns/gns:0, rss/1048576, (grss>0)?rss/grss:0, flags}'
        done
    done
    echo
    echo "median of $rounds_done interleaved rounds ($(grep -m1 '^seed' "$dir/machine.txt")); x_glibc = relative to ${base:-glibc (not in this run)}."
    echo "spread = (max-min)/median of ns/op; cv = standard deviation/mean of ns/op."
    echo "flags: * = the winner of the workload (lowest median ns/op, dry excluded);"
    echo "  NOISY = cv over 5%, WIDE = spread over 25%: the machine was noisy, rerun before trusting that row;"
    echo "  FAILED k/n = k of the row's n runs crashed, failed or hit the time limit (errors.log says how)."
    echo "dry = the replay without allocator calls: the harness's own share of every ns/op."
}
