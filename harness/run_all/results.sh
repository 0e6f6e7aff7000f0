# results.sh - the summary step of run_all.sh: everything that reads a results folder
# (raw/*.jsonl, order.txt) and writes summary.txt, summary.csv and machine.json.
# Sourced by run_all.sh; needs nothing but the folder (and, for machine_json, the
# run's globals orig_args, seed, rounds, scale, allocators).
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

