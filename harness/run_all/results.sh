# shellcheck shell=bash
# results.sh - everything that reads a results folder: merging the per-cell records
# (cells/) into raw/*.jsonl, runs.jsonl, order.txt and errors.log, and the summary step
# (summary.txt, summary.csv, machine.json).
# Sourced by run_all.sh; needs nothing but the folder (and, for machine_json, the
# run's globals seed, rounds, scale, allocators, profile).

# ---- statistics helpers ----
# record_stats_awk: the awk functions every summary of raw records shares (cell_table
# here, compare.sh), so summary.csv and compare give the same numbers:
#   jnum(line, key): the first (top-level) numeric "key": of a one-line JSON record,
#     "none" if absent (per-phase objects later on the line reuse names such as ns_per_op);
#   spread(v, n): "median,min,max,cv" of the numbers v[1..n], in any order (",,," if
#     n is 0): the median of an even count is the mean of the middle two, cv the
#     population standard deviation over the mean; %.10g and %.4f.
record_stats_awk() {
    cat << 'AWK'
function jnum(line, key,   k, i, v) {
    k = "\"" key "\":"; i = index(line, k)
    if (!i) return "none"
    v = substr(line, i + length(k)); sub(/[^-0-9.e+].*/, "", v)
    return v
}
function spread(v, n,   a, i, j, x, s, q, m, mean, var) {
    if (n == 0) return ",,,"
    for (i = 1; i <= n; i++) { x = v[i] + 0; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x; s += x; q += x * x }
    m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    mean = s / n; var = q / n - mean * mean
    return sprintf("%.10g,%.10g,%.10g,%.4f", m, a[1], a[n], (mean > 0 && var > 0) ? sqrt(var) / mean : 0)
}
AWK
}
# json_str S: S as a JSON string (backslashes and quotes escaped, line breaks dropped, tabs
# as \t, any other control character, raw in JSON, as "?": a third-party allocator's
# stderr, colours and all, ends up in a reason), in bash alone: it runs several times per cell
json_str() {
    local v=${1//\\/\\\\}
    v=${v//\"/\\\"}
    v=${v//[$'\n\r']/}
    v=${v//$'\t'/\\t}
    printf '"%s"' "${v//[[:cntrl:]]/?}"
}
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
# cell_table DIR: every cell of order.txt with its statistics, in one awk pass over
# order.txt, runs.jsonl and raw/ (a shell loop calling awk per figure took half a minute
# for a full matrix): "NAME<TAB>ROW<TAB>CSV<TAB>NOTE<TAB>X_NS<TAB>X_RSS", CSV being
# summary.csv's columns from runs on (record_stats_awk's jnum and spread), NOTE "exit status N, SIGNAME" of the cell's first recorded failure, X_*
# the unrounded ratios to the baseline row (0 without one), for the table.
cell_table() {
    local dir=$1 jsonl=()
    [ ! -f "$dir/runs.jsonl" ] || jsonl=("$dir/runs.jsonl")  # none in a folder from before it
    awk -v dir="$dir" -v base="$(baseline_row "$dir")" "$(record_stats_awk)"'
    function add(c, key, v) { if (v ~ /^-?[0-9]/) { n = ++cnt[c, key]; val[c, key, n] = v + 0 } }
    # "median,min,max,cv" of a cell figure (",,," if none)
    function stats(c, key,   n, i, a) {
        n = cnt[c, key] + 0
        for (i = 1; i <= n; i++) a[i] = val[c, key, i]
        return spread(a, n)
    }
    function median(c, key,   r) { r = stats(c, key); sub(/,.*/, "", r); return r }
    function ratio(a, b) { return (a != "" && b + 0 > 0) ? sprintf("%.4f", a / b) : "" }
    FILENAME ~ /order\.txt$/ {
        n = split($3, p, "/"); c = p[n] SUBSEP $2
        if (!(c in ran)) { cells[++ncells] = c; wname[c] = p[n]; wrow[c] = $2 }
        ran[c]++; next
    }
    # runs.jsonl: the first failure of each cell
    /"failed":true/ {
        w = $0; sub(/.*"workload":"/, "", w); sub(/".*/, "", w)
        r = $0; sub(/.*"row":"/, "", r); sub(/".*/, "", r)
        if (!((w SUBSEP r) in note)) {
            es = $0; sub(/.*"exit_status":/, "", es); sub(/[^0-9].*/, "", es)
            sg = $0; sg = (sub(/.*"signal":"/, "", sg)) ? sg : ""; sub(/".*/, "", sg)
            note[w, r] = "exit status " es (sg != "" ? ", " sg : "")
        }
    }
    END {
        for (i = 1; i <= ncells; i++) {
            c = cells[i]; f = dir "/raw/" wname[c] "." wrow[c] ".jsonl"
            while ((getline line < f) > 0) {
                if (index(line, "\"ns_per_op\":")) runs[c]++
                add(c, "ns", jnum(line, "ns_per_op"))
                v = jnum(line, "wall_ns"); if (v ~ /^-?[0-9]/) v = sprintf("%.9f", v / 1e9); add(c, "wall", v)
                add(c, "rss", jnum(line, "peak_rss_bytes"))
                add(c, "fp", jnum(line, "frag_peak"))
                add(c, "fe", jnum(line, "frag_end"))
                add(c, "mf", jnum(line, "minor_faults"))
                # RSS after the last idle marker: the last "rss_bytes" of each "idle":[...]
                s = line
                while (match(s, /"idle":\[[^]]*\]/)) {
                    k = split(substr(s, RSTART, RLENGTH), e, "\"rss_bytes\":")
                    if (k > 1) { v = e[k]; sub(/[^0-9].*/, "", v); add(c, "idle", v) }
                    s = substr(s, RSTART + RLENGTH)
                }
            }
            close(f)
            med[c] = median(c, "ns")
            w = wname[c]
            # the winner: the lowest median ns/op of a row that is not dry and had no failed run
            if (wrow[c] != "dry" && med[c] != "" && ran[c] <= runs[c] && (!(w in best) || med[c] + 0 < bestm[w] + 0 || (med[c] + 0 == bestm[w] + 0 && wrow[c] < best[w]))) {
                best[w] = wrow[c]; bestm[w] = med[c]
            }
        }
        for (i = 1; i <= ncells; i++) {
            c = cells[i]; w = wname[c]; b = w SUBSEP base
            # (the min and max of peak RSS and frag_peak last: columns added after the others)
            split(stats(c, "rss"), rs, ","); split(stats(c, "fp"), fs, ",")
            printf "%s\t%s\t%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s\t%s\t%.10g\t%.10g\n", w, wrow[c], runs[c], stats(c, "ns"), stats(c, "wall"),
                median(c, "rss"), median(c, "fp"), median(c, "fe"), median(c, "mf"), median(c, "idle"),
                ratio(med[c], (b in med) ? med[b] : ""), ratio(median(c, "rss"), (b in med) ? median(b, "rss") : ""),
                (ran[c] > runs[c]) ? ran[c] - runs[c] : 0, (best[w] == wrow[c]) ? 1 : 0, rs[2], rs[3], fs[2], fs[3], note[w, wrow[c]],
                (b in med && med[b] + 0 > 0) ? med[c] / med[b] : 0, (b in med && median(b, "rss") + 0 > 0) ? median(c, "rss") / median(b, "rss") : 0
        }
    }' "$dir/order.txt" "${jsonl[@]}"
}
# summary_rows DIR: cell_table in the summary's order (workloads, then rows, sorted)
summary_rows() {
    local dir=$1 t a rest cells
    local -A table=()
    cells=$(cell_table "$dir") || return 1
    while IFS=$'\t' read -r t a rest; do table[$t|$a]=$rest; done <<< "$cells"
    for t in $(workloads_of "$dir"); do
        for a in $(rows_of "$dir"); do
            [ -z "${table[${t##*/}|$a]:-}" ] || printf '%s\t%s\t%s\n' "${t##*/}" "$a" "${table[${t##*/}|$a]}"
        done
    done
}
# summary.csv: one row per workload x allocator, from the raw records alone.
summary_csv() {
    echo "workload,allocator,runs,ns_per_op_median,ns_per_op_min,ns_per_op_max,ns_per_op_cv,wall_s_median,wall_s_min,wall_s_max,wall_s_cv,peak_rss_bytes_median,frag_peak_median,frag_end_median,minor_faults_median,idle_rss_bytes_median,time_vs_glibc,peak_rss_vs_glibc,failed_runs,winner,peak_rss_bytes_min,peak_rss_bytes_max,frag_peak_min,frag_peak_max"
    local rows
    rows=$(summary_rows "$1") || return 1
    [ -z "$rows" ] || printf '%s\n' "$rows" | awk -F'\t' '{print $1 "," $2 "," $3}'
}
# What machine.txt records of the machine and the checkout (run_all.sh's machine_txt) and
# what machine.json falls back on for a folder whose machine.txt lacks a key.
cpu_model() { grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'; }
mem_total_kb() { awk '/MemTotal/ {print $2}' /proc/meminfo; }
libc_version() { ldd --version 2>&1 | head -1; }
cc_version() { ${CC:-cc} --version | head -1; }
git_commit() { echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')"; }
# from_machine_txt DIR KEY CMD...: the value of machine.txt's "KEY: value" line, else the
# output of CMD on this machine, run only then (ldd and cc cost a process or two each)
from_machine_txt() {
    local v dir=$1 key=$2
    shift 2
    v=$(awk -v k="$key" 'index($0, k) == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$dir/machine.txt" 2>/dev/null)
    [ -n "$v" ] || v=$("$@" 2>/dev/null || true)
    printf '%s\n' "$v"
}
# machine.json: what ran, where, with which versions: the run's own record (machine.txt:
# the machine it was set up on, the commit it started from), else this machine's.
# shellcheck disable=SC2154 # seed, rounds, scale, allocators: the run's globals (see the top)
machine_json() {
    local dir=$1 a v first=1 cmd
    cmd=$(cat "$dir/command" 2>/dev/null || echo "$0 ${orig_args[*]:-}")
    printf '{"command":%s,' "$(json_str "$cmd")"
    printf '"date":%s,"seed":%s,"rounds":%s,"scale":%s,' "$(json_str "$(from_machine_txt "$dir" date date -u +%FT%TZ)")" "$seed" "$rounds" "$(json_str "$scale")"
    if [ -n "${profile:-}" ]; then printf '"profile":%s,' "$(json_str "$profile")"; else printf '"profile":null,'; fi
    printf '"git":%s,' "$(json_str "$(from_machine_txt "$dir" git git_commit)")"
    printf '"cpu":%s,"cores":%s,' "$(json_str "$(from_machine_txt "$dir" 'model name' cpu_model)")" "$(from_machine_txt "$dir" cpus nproc)"
    printf '"mem_kb":%s,"kernel":%s,' "$(from_machine_txt "$dir" MemTotal mem_total_kb | awk '{print $1}')" \
        "$(json_str "$(from_machine_txt "$dir" kernel uname -srm)")"
    printf '"libc":%s,"compiler":%s,"allocators":{' "$(json_str "$(from_machine_txt "$dir" libc libc_version)")" \
        "$(json_str "$(from_machine_txt "$dir" compiler cc_version)")"
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
    local dir=$1 base rounds_done tw aw
    base=$(baseline_row "$dir")
    rounds_done=$(awk '$1 > m {m = $1} END {print m + 0}' "$dir/order.txt")
    local rows
    rows=$(summary_rows "$dir") || return 1
    # columns as wide as the longest names (at least 32 and 18: slab-locked+release is 19)
    tw=$(printf '%s\n' "$rows" | awk -F'\t' 'length($1) > m {m = length($1)} END {print (m > 32) ? m : 32}')
    aw=$(printf '%s\n' "$rows" | awk -F'\t' 'length($2) > m {m = length($2)} END {print (m > 18) ? m : 18}')
    printf "%-${tw}s %-${aw}s %9s %9s %7s %6s %8s %11s %8s  %s\n" trace allocator ns/op min spread cv x_glibc peak_MiB x_glibc flags
    [ -z "$rows" ] || printf '%s\n' "$rows" | awk -F'\t' -v tw="$tw" -v aw="$aw" '{
        split($3, c, ","); runs = c[1]; ns = c[2]; mn = c[3]; mx = c[4]; cv = c[5]; rss = c[10]
        failed = c[17]; ran = runs + failed
        if (runs == 0 || ns == "") {
            printf "%-*s %-*s FAILED %d/%d (%ssee errors.log)\n", tw, $1, aw, $2, failed, ran, ($4 != "") ? $4 "; " : ""
            next
        }
        sp = (ns > 0) ? (mx - mn) / ns : 0
        flags = (c[18] == 1) ? "*" : ""
        if (cv > 0.05) flags = flags (flags == "" ? "" : " ") "NOISY"
        if (sp > 0.25) flags = flags (flags == "" ? "" : " ") "WIDE"
        if (failed > 0) flags = flags (flags == "" ? "" : " ") "FAILED " failed "/" ran
        printf "%-*s %-*s %9.2f %9.2f %6.0f%% %5.1f%% %7.2fx %11.2f %7.2fx  %s\n", tw, $1, aw, $2, ns, mn, sp * 100, cv * 100,
            $5, rss / 1048576, $6, flags
    }'
    echo
    echo "median of $rounds_done interleaved rounds ($(grep -m1 '^seed' "$dir/machine.txt")); x_glibc = relative to ${base:-glibc (not in this run)}."
    echo "spread = (max-min)/median of ns/op; cv = standard deviation/mean of ns/op."
    echo "flags: * = the winner of the workload (lowest median ns/op; dry and rows with failed runs excluded);"
    echo "  NOISY = cv over 5%, WIDE = spread over 25%: the machine was noisy, rerun before trusting that row;"
    echo "  FAILED k/n = k of the row's n runs crashed, failed or hit the time limit (errors.log says how)."
    echo "dry = the replay without allocator calls: the harness's own share of every ns/op."
}
