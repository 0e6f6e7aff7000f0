#!/bin/bash
# plots.sh DIR - the gnuplot charts of a results folder, into DIR/plots/ as PNG and SVG:
# time, rss, frag, tradeoff, tradeoff-workloads, timeline-<workload> and (with --latency data)
# latency-<workload>. Reads the folder alone (summary.csv, raw/*.jsonl, timelines/,
# machine.json); plots/README.md describes every chart. awk turns the folder into small
# tab-separated data files in a temp folder, plots/*.gp draws them; every chart is
# written under a temp name and renamed, so a failed run leaves no half-written chart.
set -euo pipefail
me=plots.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "$me: $*" >&2; exit 1; }
# set -e stops at a failing command silently: name the line instead.
trap 'echo "$me: line $LINENO: unexpected failure (status $?)" >&2' ERR
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then die "usage: plots/plots.sh RESULTS_DIR (a results/<run-id>/ folder)"; fi
dir=${1%/}
[ -d "$dir" ] || die "$dir: no such folder"
[ -f "$dir/summary.csv" ] || die "$dir/summary.csv: missing (not a results folder?)"
command -v gnuplot > /dev/null || die "gnuplot not found (make report-deps installs gnuplot-nox)"

out=$dir/plots
mkdir -p "$out" || die "$out: cannot create the folder"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/allocmark-plots.XXXXXX")
trap 'rm -rf "$tmp"; rm -f "$out"/.*.tmp.$$.*' EXIT

# gnuplot-nox has pngcairo (antialiased); the libgd png terminal is the fallback.
pngterm=png
if gnuplot -e 'set terminal pngcairo' > /dev/null 2>&1; then pngterm=pngcairo; fi

# ---- cells.tsv: one line per summary row, the figures every chart needs ----
# workload allocator runs ns_med ns_min ns_max rss_med rss_min rss_max frag_med frag_min frag_max
# (missing figures empty), tab-separated, from summary.csv alone (columns found by name;
# the min and max of peak RSS and frag_peak, the whiskers, are optional: a summary.csv
# from before them has none). A row that counts runs needs its raw/ file (the phases).
awk -F, -v f="$dir/summary.csv" -v raw="$dir/raw" '
    function bad(msg) { print "plots.sh: " f ":" NR ": " msg > "/dev/stderr"; err = 1; exit 1 }
    function num(c,   v) { if (!(c in col)) return ""; v = $(col[c]); if (v != "" && v !~ /^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/) bad(c " is not a number: \"" v "\""); return v }
    NR == 1 { n = split("workload allocator runs ns_per_op_median ns_per_op_min ns_per_op_max peak_rss_bytes_median frag_peak_median", need, " ")
              for (i = 1; i <= NF; i++) col[$i] = i
              for (i = 1; i <= n; i++) if (!(need[i] in col)) bad("no column " need[i] " in the header")
              nf = NF; next }
    NF != nf { bad(NF " fields, the header has " nf) }
    $(col["workload"]) == "" || $(col["allocator"]) == "" { bad("empty workload or allocator") }
    { w = $(col["workload"]); a = $(col["allocator"]); key = w SUBSEP a; if (key in seen) bad("a second row for " w " x " a); seen[key] = 1
      r = num("runs"); if (r !~ /^[0-9]*$/) bad("runs is not a whole number: " r)
      rf = raw "/" w "." a ".jsonl"
      if (r > 0 && (getline line < rf) < 0) { print "plots.sh: " rf ": missing, but " f " counts " r " run(s) of " w " x " a > "/dev/stderr"; err = 1; exit 1 }
      close(rf)
      printf "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w, a, r, num("ns_per_op_median"), num("ns_per_op_min"), num("ns_per_op_max"),
          num("peak_rss_bytes_median"), num("peak_rss_bytes_min"), num("peak_rss_bytes_max"), num("frag_peak_median"), num("frag_peak_min"), num("frag_peak_max") }
    END { if (!err && NR < 2) { print "plots.sh: " f ": no rows (no run finished?)" > "/dev/stderr"; exit 1 } }
' "$dir/summary.csv" > "$tmp/cells.tsv" || exit 1

# The reference row, as run_all.sh chooses it (baseline_row): glibc, or in a --profile
# run (rows ALLOC+NAME) the first glibc+NAME row.
ref=$(cut -f2 "$tmp/cells.tsv" | awk '$0 == "glibc" { g = 1 } /^glibc\+/ && p == "" { p = $0 } END { print g ? "glibc" : (p != "" ? p : "glibc") }')
# Workloads in the summary's order; allocators with the reference first, dry (the
# harness alone, no allocator) apart.
cut -f1 "$tmp/cells.tsv" | awk '!seen[$0]++' > "$tmp/workloads"
cut -f2 "$tmp/cells.tsv" | awk '!seen[$0]++' | awk -v ref="$ref" '$0 == ref { g = 1; next } $0 != "dry" { o = o $0 "\n" } END { printf "%s%s", g ? ref "\n" : "", o }' > "$tmp/allocs"

# Ratios to the reference only if every workload with a result has a reference result
# (time and peak RSS): one axis cannot mix ratios and absolute figures. reference_mode
# is "relative" or "absolute", no_ref the workloads without it ("" if it is not run).
no_ref=$(awk -F'\t' -v ref="$ref" '$2 != "dry" && $4 > 0 && !($1 in has) { has[$1] = 1; order[++n] = $1 }
    $2 == ref && $4 > 0 && $7 > 0 { ok[$1] = 1 } $2 == ref { run = 1 }
    END { for (i = 1; i <= n; i++) if (run && !ok[order[i]]) l = l ", " order[i]; print substr(l, 3) }' "$tmp/cells.tsv")
reference_mode=relative
if [ -n "$no_ref" ] || ! grep -qxF -- "$ref" "$tmp/allocs"; then reference_mode=absolute; fi

# One gnuplot string literal, single-quoted ('' is a quote inside).
gp_str() { printf "'%s'" "${1//\'/\'\'}"; }
# The run's description under every title, from machine.json (optional).
subtitle="$dir"
if [ -r "$dir/machine.json" ]; then
    # mj KEY: a scalar of machine.json ("" if absent: older folders lack newer keys)
    mj() { { grep -o "\"$1\":\"\{0,1\}[^\",}]*" "$dir/machine.json" || true; } | head -1 | sed 's/^"[^"]*":"\{0,1\}//'; }
    profile=$(mj profile); [ "$profile" != null ] || profile=""
    subtitle="$(basename "$(cd "$dir" && pwd -P)"): $(mj rounds) round(s), scale $(mj scale), seed $(mj seed)${profile:+, profile $profile}, $(mj cpu) x $(mj cores) cores, git $(mj git)"
fi
# ns/op of a --latency run includes the timers and their fences: say so on every chart.
if grep -qs '"mode":"latency"' "$dir"/raw/*.jsonl; then
    subtitle="$subtitle; a --latency run: its ns/op includes the per-call timers (compare throughput only between runs without --latency)"
fi
allocs_words=$(paste -sd' ' "$tmp/allocs")
nalloc=$(wc -l < "$tmp/allocs")
# The variables every chart script reads (see plots/common.gp).
common_vars() {
    printf 'plotsdir = %s\npngterm = %s\nformats = "png svg"\nsubtitle = %s\n' \
        "$(gp_str "$here")" "$(gp_str "$pngterm")" "$(gp_str "$subtitle")"
    printf 'allocs = %s\nnalloc = %d\nref = %s\n' "$(gp_str "$allocs_words")" "$nalloc" "$(gp_str "$ref")"
}

# Every input is read and checked before the first chart is drawn: a bad file stops the
# run with nothing new in DIR/plots/. Each chart NAME gets $tmp/NAME.vars (and its data)
# and a line "NAME SCRIPT" in $tmp/jobs.
: > "$tmp/jobs"
job() { printf '%s\t%s\n' "$1" "$2" >> "$tmp/jobs"; }
# draw NAME SCRIPT: run plots/SCRIPT.gp into DIR/plots/NAME.{png,svg}, atomically.
draw() {
    local name=$1 script=$2 base="$out/.$1.tmp.$$" fmt
    { common_vars; cat "$tmp/$name.vars"; printf 'outbase = %s\n' "$(gp_str "$base")"; } > "$tmp/$name.vars.gp"
    if ! gnuplot "$tmp/$name.vars.gp" "$here/common.gp" "$here/$script.gp" 2> "$tmp/gnuplot.err"; then
        cat "$tmp/gnuplot.err" >&2
        die "gnuplot failed on plots/$script.gp for $out/$name.png/.svg"
    fi
    # gnuplot's warnings (e.g. a curve without points) are shown, not fatal.
    grep -v '^$' "$tmp/gnuplot.err" | sed "s|^|$me: $name: |" >&2 || true
    for fmt in png svg; do
        [ -s "$base.$fmt" ] || die "gnuplot wrote no $name.$fmt"
        mv -f "$base.$fmt" "$out/$name.$fmt"
    done
}

# ---- grouped bars: time, rss, frag ----
# bars METRIC: METRIC.dat (a block per allocator: x y whisker_lo whisker_hi, then a
# block of dry dashes and one of failed cells) and METRIC.vars.
bars() {
    awk -F'\t' -v metric="$1" -v refmode="$reference_mode" -v ref="$ref" -v missing="$no_ref" -v dat="$tmp/$1.dat" -v walloc="$tmp/allocs" -v wwork="$tmp/workloads" '
    function emit(x, y, lo, hi) { printf "%s\t%s\t%s\t%s\n", x, y, lo, hi > dat; note(y); if (lo != "NaN") { note(lo); note(hi) } }
    function note(y) { if (y < ymin) ymin = y; if (y > ymax) ymax = y }
    function listq(s) { gsub(/\047/, "\047\047", s); return "\047" s "\047" }
    BEGIN { c = (metric == "time") ? 4 : (metric == "rss") ? 7 : 10
            while ((getline l < walloc) > 0) al[++na] = l
            while ((getline l < wwork) > 0) wk[++n] = l }
    { v[$1, $2] = $(c); lo[$1, $2] = $(c + 1); hi[$1, $2] = $(c + 2) }
    END {
        mode = (metric == "frag") ? "ratio" : refmode
        unit = (metric == "rss" && mode == "absolute") ? 1048576 : 1
        ymin = 1e300; ymax = -1e300; if (mode != "absolute") { note(1 / 1.15); note(1.15) }
        bw = 0.8 / (na > 0 ? na : 1)
        for (a = 1; a <= na; a++) {
            for (i = 1; i <= n; i++) {
                k = wk[i] SUBSEP al[a]; x = i - 0.4 + bw * (a - 0.5)
                d = (mode == "relative") ? v[wk[i], ref] : unit
                if (v[k] > 0) emit(x, v[k] / d, (hi[k] > lo[k]) ? lo[k] / d : "NaN", (hi[k] > lo[k]) ? hi[k] / d : "NaN")
                else failed = failed x "\t" (mode == "absolute" ? "AXIS" : 1) "\n"
            }
            printf "NaN\tNaN\tNaN\tNaN\n\n\n" > dat
        }
        # dry: a dash across its workload group (time only: it allocates nothing)
        for (i = 1; metric == "time" && i <= n; i++) if (v[wk[i], "dry"] > 0 && (mode == "absolute" || v[wk[i], ref] > 0)) {
            y = v[wk[i], "dry"] / (mode == "relative" ? v[wk[i], ref] : 1); printf "%s\t%s\t%s\t%s\n", i - 0.45, y, 0.9, 0 > dat; note(y); dry = 1 }
        printf "NaN\tNaN\tNaN\tNaN\n\n\n" > dat
        if (ymin > ymax) { ymin = 0.5; ymax = 2 }
        ymin /= 1.3; ymax *= 1.3
        # a cell without a result: a cross on the 1 line, or just above the axis
        gsub(/AXIS/, ymin * 1.08, failed); printf "%sNaN\tNaN\n", failed > dat
        printf "mode = \"%s\"\nno_ref = %s\nymin = %g\nymax = %g\nbase = %g\nbw = %g\nngroups = %d\nhas_dry = %d\nhas_failed = %d\n",
            mode, listq(missing), ymin, ymax, (mode == "absolute") ? ymin : 1, bw, n, dry, failed != ""
        printf "set xtics ("; for (i = 1; i <= n; i++) printf "%s%s %d", (i > 1) ? ", " : "", listq(wk[i]), i; print ")"
        # about 14 px per bar, so 18 workloads x 7 allocators stay readable
        w = 170 + n * (na * 14 + 26); printf "width = %d\nheight = 700\n", (w < 900) ? 900 : (w > 4000) ? 4000 : w
    }' "$tmp/cells.tsv" > "$tmp/$1.vars"
    printf 'datafile = %s\n' "$(gp_str "$tmp/$1.dat")" >> "$tmp/$1.vars"
}
for m in time rss frag; do
    bars "$m"
    job "$m" "$m"
done

# ---- timeline-<workload>: RSS and live bytes over the run ----
# rounds.tsv: runs.jsonl as "workload<TAB>row<TAB>round<TAB>ns/op, or failed", a line per
# run (empty for a folder from before runs.jsonl). Its names are run_all.sh's (letters,
# digits, . _ - +): nothing to unescape.
if [ -f "$dir/runs.jsonl" ]; then
    awk 'function str(k,   i, v) { i = index($0, "\"" k "\":\""); if (!i) return ""; v = substr($0, i + length(k) + 4); return substr(v, 1, index(v, "\"") - 1) }
        function num(k,   i, v) { i = index($0, "\"" k "\":"); if (!i) return ""; v = substr($0, i + length(k) + 3); sub(/[^-0-9.e+].*/, "", v); return v }
        { r = num("round"); w = str("workload"); a = str("row"); ns = index($0, "\"failed\":true") ? "failed" : num("ns_per_op")
          if (r ~ /^[0-9]+$/ && w != "" && a != "" && ns != "") printf "%s\t%s\t%d\t%s\n", w, a, r, ns }' "$dir/runs.jsonl"
fi > "$tmp/rounds.tsv"
# median_round W A: "peak<TAB>file" of the timeline round of W x A drawn, as the report
# picks it (report_data.py, _typical_round): of the rounds with a file that did not fail,
# the one whose ns/op (runs.jsonl) is the median, the lower middle one of an even count;
# the lowest round with a file when runs.jsonl has none of their times. Nothing if it has
# none or the cell has no completed run. Every candidate file is checked here: the
# driver's header, numbers where numbers belong.
median_round() {
    local f n failed files=()
    awk -F'\t' -v w="$1" -v a="$2" '$1 == w && $2 == a && $3 > 0 { ok = 1 } END { exit !ok }' "$tmp/cells.tsv" || return 0
    failed=$(awk -F'\t' -v w="$1" -v a="$2" '$1 == w && $2 == a && $4 == "failed" { printf " %d ", $3 }' "$tmp/rounds.tsv")
    for f in "$dir/timelines/$1.$2".r*.csv; do
        if ! [[ $f =~ \.r([0-9]+)\.csv$ ]] || [ ! -f "$f" ]; then continue; fi
        n=$((10#${BASH_REMATCH[1]}))
        [[ $failed == *" $n "* ]] || files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    awk -F, '
        function bad(msg) { print "plots.sh: " FILENAME ":" FNR ": " msg > "/dev/stderr"; err = 1; exit 1 }
        FNR == 1 { delete col; for (i = 1; i <= NF; i++) col[$i] = i
                   if (!("op" in col) || !("rss_bytes" in col) || !("live_bytes" in col)) bad("not a timeline: the header has no op, rss_bytes or live_bytes column")
                   o = col["op"]; r = col["rss_bytes"]; l = col["live_bytes"]; peak[FILENAME] = 0; next }
        $o !~ /^[0-9]+$/ || $r !~ /^-?[0-9]+$/ || $l !~ /^-?[0-9]+$/ { bad("op, rss_bytes and live_bytes must be whole numbers") }
        { if ($r > peak[FILENAME]) peak[FILENAME] = $r; if ($l > peak[FILENAME]) peak[FILENAME] = $l }
        END { if (!err) for (f in peak) printf "%d\t%s\n", peak[f], f }' "${files[@]}" |
        awk -F'\t' -v w="$1" -v a="$2" -v rounds="$tmp/rounds.tsv" '
            BEGIN { while ((getline l < rounds) > 0) { split(l, x, "\t"); if (x[1] == w && x[2] == a && x[4] != "failed") ns[x[3] + 0] = x[4] + 0 } }
            { r = $2; sub(/.*\.r/, "", r); sub(/\.csv$/, "", r); r += 0; line[r] = $0
              if (lowest == "" || r < lowest) lowest = r
              if (r in ns) timed[++n] = r }
            END { # sorted by (ns/op, round), as the report sorts them
                for (i = 2; i <= n; i++) for (j = i; j > 1 && (ns[timed[j - 1]] > ns[timed[j]] || (ns[timed[j - 1]] == ns[timed[j]] && timed[j - 1] > timed[j])); j--) {
                    t = timed[j]; timed[j] = timed[j - 1]; timed[j - 1] = t }
                if (n) print line[timed[int((n - 1) / 2) + 1]]; else if (lowest != "") print line[lowest] }'
}
# phase_marks FILE: gnuplot commands marking where each phase of the trace starts (a
# dotted line and the phase's name, phases starting at the same op named together),
# from the first record of a raw FILE; at most 40, as the report (MAX_PHASES_SHOWN).
phase_marks() {
    awk 'function q(s) { gsub(/\047/, "\047\047", s); return "\047" s "\047" }
        NR == 1 { i = index($0, "\"phases\":["); if (!i) exit
            s = substr($0, i); s = substr(s, 1, index(s, "]"))
            while ((j = index(s, "{\"name\":\"")) > 0) {
                s = substr(s, j + 9); name = substr(s, 1, index(s, "\"") - 1)
                op = substr(s, index(s, "\"first_op\":") + 11); sub(/[^0-9].*/, "", op)
                if (op == "") continue
                if (n && op == at[n]) names[n] = names[n] ", " name; else { at[++n] = op; names[n] = name }
            }
            for (i = 1; i <= n && i <= 40; i++) {
                if (at[i] > 0) printf "set arrow %d from first %s, graph 0 to first %s, graph 1 nohead dt 3 lc rgb \"#999999\" back\n", 100 + i, at[i], at[i]
                printf "set label %d %s at first %s, graph 0.99 rotate by 90 right offset char 1, 0 font \",8\" tc rgb \"#666666\"\n", 100 + i, q(names[i]), at[i]
            } }' "$1"
}
# timeline_data W P: P.dat (per allocator a block "op rss live" and a block of "op rss"
# after each idle marker) and P.vars; false if W has no timeline at all.
timeline_data() {
    local w=$1 p=$2 a picked peak f round any=0 max=0 keys=""
    : > "$p.dat"
    while read -r a; do
        picked=$(median_round "$w" "$a") || exit 1
        if [ -n "$picked" ]; then
            peak=${picked%%$'\t'*}
            any=1
            [ "$peak" -le "$max" ] || max=$peak
            f=${picked#*$'\t'} round=${f##*.r}
            keys="$keys $a(r${round%.csv})"
            awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                { printf "%s\t%s\t%s\n", $(c["op"]), $(c["rss_bytes"]), $(c["live_bytes"]) }
                $(c["event"]) == "idle_after" { idle = idle $(c["op"]) "\t" $(c["rss_bytes"]) "\n" }
                END { printf "NaN\tNaN\tNaN\n\n\n%s", idle }' "$f" >> "$p.dat"
        else
            keys="$keys $a(none)"
            printf 'NaN\tNaN\tNaN\n\n\n' >> "$p.dat"
        fi
        printf 'NaN\tNaN\n\n\n' >> "$p.dat"
    done < "$tmp/allocs"
    [ "$any" -eq 1 ] || return 1
    {
        printf 'workload = %s\ndatafile = %s\nkeys = %s\n' "$(gp_str "$w")" "$(gp_str "$p.dat")" "$(gp_str "${keys# }")"
        # KiB for small traces (a hand-written one peaks at a few pages), else MiB.
        if [ "$max" -lt 1048576 ]; then echo 'unit = 1024.0; unitname = "KiB"'; else echo 'unit = 1048576.0; unitname = "MiB"'; fi
        echo 'width = 1200; height = 620'
        # op counts as 1.5M past 10000 ops, plain below (a hand-written trace has 25)
        awk -F'\t' '$1 ~ /^[0-9]+$/ && $1 + 0 > m { m = $1 + 0 } END { printf "xformat = \"%s\"\n", (m < 10000) ? "%g" : "%.1s%c" }' "$p.dat"
        # the phases are the trace's: any allocator's record has them
        while read -r a; do
            if [ -s "$dir/raw/$w.$a.jsonl" ]; then phase_marks "$dir/raw/$w.$a.jsonl"; break; fi
        done < "$tmp/allocs"
    } > "$p.vars"
}
if [ -d "$dir/timelines" ]; then
    while read -r w; do
        if timeline_data "$w" "$tmp/timeline-$w"; then job "timeline-$w" timeline; fi
    done < "$tmp/workloads"
else
    echo "$me: $dir/timelines/: none, so no timeline charts" >&2
fi

# ---- latency-<workload>: percentiles per op kind (runs with --latency only) ----
kinds="malloc calloc realloc aligned free"
# latency_cell FILE: per op kind with calls, "kind count p50 p90 p99 p99.9 max", each the
# median over the rounds of the run's top-level "latency" object (the merged one: it
# comes before per_thread's). Nothing if no round has latency figures.
latency_cell() {
    awk -v kinds="$kinds" -v f="$1" '
        function num(s, k,   i, v) { i = index(s, "\"" k "\":"); if (!i) return ""; v = substr(s, i + length(k) + 3); sub(/[^-0-9.e+].*/, "", v); return v }
        function median(k, p,   i, j, t, m) { m = n[k]
            for (i = 1; i <= m; i++) a[i] = v[k, p, i] + 0
            for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
        BEGIN { nk = split(kinds, kind, " "); np = split("count p50_ns p90_ns p99_ns p99_9_ns max_ns", pct, " ") }
        { i = index($0, "\"latency\":{"); if (!i) next
          s = substr($0, i); s = substr(s, 1, index(s, "}}"))
          for (k = 1; k <= nk; k++) {
              j = index(s, "\"" kind[k] "\":{"); if (!j) continue
              o = substr(s, j); o = substr(o, 1, index(o, "}"))
              if (num(o, "count") + 0 <= 0) continue
              n[k]++
              for (p = 1; p <= np; p++) { x = num(o, pct[p]); if (x == "") { print "plots.sh: " f ":" NR ": latency." kind[k] " has no " pct[p] > "/dev/stderr"; exit 1 }; v[k, p, n[k]] = x }
          } }
        END { for (k = 1; k <= nk; k++) if (n[k]) { printf "%s", kind[k]; printf "\t%.0f", median(k, 1); for (p = 2; p <= np; p++) printf "\t%g", median(k, p); printf "\n" } }' "$1"
}
# latency_data W P: P.dat (per present op kind, per allocator a block "x ns" for x = 1..5:
# p50 p90 p99 p99.9 max; 0 or missing = NaN) and P.vars; 1 if W has no latency figures.
latency_data() {
    local w=$1 p=$2 a f
    : > "$tmp/latency.cells"
    while read -r a; do
        f=$dir/raw/$w.$a.jsonl
        if [ -r "$f" ]; then latency_cell "$f" | awk -v a="$a" '{ print a "\t" $0 }' >> "$tmp/latency.cells" || return 2; fi
    done < "$tmp/allocs"
    [ -s "$tmp/latency.cells" ] || return 1
    awk -F'\t' -v kinds="$kinds" -v walloc="$tmp/allocs" -v dat="$p.dat" -v w="$w" '
        function q(s) { gsub(/\047/, "\047\047", s); return "\047" s "\047" }
        BEGIN { nk = split(kinds, kind, " "); while ((getline l < walloc) > 0) al[++na] = l }
        { for (p = 1; p <= 6; p++) v[$1, $2, p] = $(p + 2); has[$2] = 1; if (!($2 in cnt)) cnt[$2] = $3 }
        END { ymin = 1e300; ymax = 0
            for (k = 1; k <= nk; k++) if (has[kind[k]]) {
                present = present " " kind[k]; counts = counts " " cnt[kind[k]]
                for (a = 1; a <= na; a++) {
                    for (p = 2; p <= 6; p++) { y = v[al[a], kind[k], p]
                        # 0 = below the timer resolution once its overhead is subtracted: no place on a log axis
                        if (y == "" || y <= 0) { y = "NaN"; if (v[al[a], kind[k], p] != "") zero = 1 } else { if (y < ymin) ymin = y; if (y > ymax) ymax = y }
                        printf "%d\t%s\n", p - 1, y > dat }
                    printf "\n\n" > dat } }
            if (ymax == 0) { ymin = 1; ymax = 10 }
            sub(/^ /, "", present); n = split(present, junk, " ")
            printf "workload = %s\ndatafile = %s\nkinds = %s\ncounts = %s\nnkinds = %d\nymin = %g\nymax = %g\nhas_zero = %d\n",
                q(w), q(dat), q(present), q(counts), n, ymin / 1.5, ymax * 1.5, zero
            printf "width = %d\nheight = 560\n", (n * 340 + 120 < 900) ? 900 : n * 340 + 120 }' "$tmp/latency.cells" > "$p.vars"
}
while read -r w; do
    rc=0
    latency_data "$w" "$tmp/latency-$w" || rc=$?
    case $rc in
        0) job "latency-$w" latency ;;
        1) ;;   # no latency figures for w: no chart
        *) exit 1 ;;
    esac
done < "$tmp/workloads"

# ---- tradeoff: time against peak memory, a point per allocator per workload ----
# tradeoff.dat: per allocator a block "x y workload" (the reference's empty when relative: all
# its points are (1, 1)); tradeoff-workloads.dat, for the panel-per-workload version:
# per workload, per allocator a block "x y allocator". Same axes in both.
awk -F'\t' -v mode="$reference_mode" -v ref="$ref" -v walloc="$tmp/allocs" -v dat="$tmp/tradeoff.dat" -v dat2="$tmp/tradeoff-workloads.dat" \
    -v vars2="$tmp/tradeoff-workloads.vars" '
    function note(x, y) { if (x < xmin) xmin = x; if (x > xmax) xmax = x; if (y < ymin) ymin = y; if (y > ymax) ymax = y }
    function q(s) { gsub(/\047/, "\047\047", s); return "\047" s "\047" }
    BEGIN { while ((getline l < walloc) > 0) al[++na] = l; xmin = ymin = 1e300; xmax = ymax = -1e300; printf "" > dat; printf "" > dat2 }
    { ns[$1, $2] = $4; rss[$1, $2] = $7; if (!($1 in seen)) { seen[$1] = 1; wk[++n] = $1 } }
    END {
        if (mode == "relative") note(1, 1)
        for (a = 1; a <= na; a++) for (i = 1; i <= n; i++) {
            k = wk[i] SUBSEP al[a]; g = wk[i] SUBSEP ref
            if (!(ns[k] > 0 && rss[k] > 0)) continue
            x[k] = (mode == "relative") ? rss[k] / rss[g] : rss[k] / 1048576; y[k] = (mode == "relative") ? ns[k] / ns[g] : ns[k]
            note(x[k], y[k])
        }
        for (a = 1; a <= na; a++) {
            # every reference point is (1, 1) when relative: drawn once, by the script
            for (i = 1; i <= n && !(mode == "relative" && al[a] == ref); i++) {
                k = wk[i] SUBSEP al[a]
                if (!(k in x)) continue
                label = wk[i]; sub(/\.(wl|trace|trace\.zst)$/, "", label)
                printf "%g\t%g\t%s\n", x[k], y[k], label > dat; points++
            }
            printf "NaN\tNaN\t-\n\n\n" > dat
        }
        for (i = 1; i <= n; i++) for (a = 1; a <= na; a++) {
            k = wk[i] SUBSEP al[a]
            if ((k in x) && !(mode == "relative" && al[a] == ref)) printf "%g\t%g\t%s\n", x[k], y[k], al[a] > dat2
            printf "NaN\tNaN\t-\n\n\n" > dat2
        }
        if (xmin > xmax) { xmin = ymin = 0.5; xmax = ymax = 2 }
        ranges = sprintf("mode = \"%s\"\nxmin = %g\nxmax = %g\nymin = %g\nymax = %g\n", mode, xmin / 1.25, xmax * 1.25, ymin / 1.25, ymax * 1.25)
        # room for the labels of 18 workloads x 6 allocators; less for a small run
        printf "%s%s\n", ranges, (points > 40) ? "width = 1400\nheight = 1000" : "width = 1000\nheight = 750"
        # panels of about 330 x 300 px, up to 6 in a row
        cols = (n < 6) ? n : 6; rows = int((n + cols - 1) / (cols ? cols : 1))
        printf "%sncols = %d\nnrows = %d\nnwork = %d\nwidth = %d\nheight = %d\n", ranges, cols, rows, n,
            (cols * 330 + 80 < 900) ? 900 : cols * 330 + 80, rows * 300 + 190 > vars2
        for (i = 1; i <= n; i++) list = list ((i > 1) ? " " : "") wk[i]
        printf "workloads = %s\n", q(list) > vars2
    }' "$tmp/cells.tsv" > "$tmp/tradeoff.vars"
printf 'datafile = %s\nno_ref = %s\n' "$(gp_str "$tmp/tradeoff.dat")" "$(gp_str "$no_ref")" >> "$tmp/tradeoff.vars"
printf 'datafile = %s\nno_ref = %s\n' "$(gp_str "$tmp/tradeoff-workloads.dat")" "$(gp_str "$no_ref")" >> "$tmp/tradeoff-workloads.vars"
job tradeoff tradeoff
job tradeoff-workloads tradeoff

while IFS=$'\t' read -r name script; do draw "$name" "$script"; done < "$tmp/jobs"
# Per-workload charts from an earlier drawing of this folder that this one did not make
# (a workload gone from summary.csv, no latency figures any more) would mislead: removed.
for f in "$out"/timeline-*.png "$out"/timeline-*.svg "$out"/latency-*.png "$out"/latency-*.svg; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    cut -f1 "$tmp/jobs" | grep -qxF -- "${name%.*}" || rm -f "$f"
done
