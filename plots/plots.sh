#!/bin/bash
# plots.sh DIR - the gnuplot charts of a results folder, into DIR/plots/ as PNG and SVG:
# time, rss, frag, tradeoff, timeline-<workload> and (with --latency data)
# latency-<workload>. Reads the folder alone (summary.csv, raw/*.jsonl, timelines/,
# machine.json); plots/README.md describes every chart. awk turns the folder into small
# tab-separated data files in a temp folder, plots/*.gp draws them; every chart is
# written under a temp name and renamed, so a failed run leaves no half-written chart.
set -euo pipefail
me=plots.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# field, spread_stats: the summary step's helpers, so a median here is the summary's median.
# shellcheck source=../harness/run_all/results.sh
. "$here/../harness/run_all/results.sh"

die() { echo "$me: $*" >&2; exit 1; }
[ $# -eq 1 ] && [ "${1#-}" = "$1" ] || die "usage: plots/plots.sh RESULTS_DIR (a results/<run-id>/ folder)"
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
# (missing figures empty). Columns are found by name, so added columns do not matter.
awk -F, -v f="$dir/summary.csv" '
    function bad(msg) { print "plots.sh: " f ":" NR ": " msg > "/dev/stderr"; err = 1; exit 1 }
    function num(c,   v) { v = $(col[c]); if (v != "" && v !~ /^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/) bad(c " is not a number: \"" v "\""); return v }
    NR == 1 { n = split("workload allocator runs ns_per_op_median ns_per_op_min ns_per_op_max peak_rss_bytes_median frag_peak_median", need, " ")
              for (i = 1; i <= NF; i++) col[$i] = i
              for (i = 1; i <= n; i++) if (!(need[i] in col)) bad("no column " need[i] " in the header")
              nf = NF; next }
    NF != nf { bad(NF " fields, the header has " nf) }
    $(col["workload"]) == "" || $(col["allocator"]) == "" { bad("empty workload or allocator") }
    { key = $(col["workload"]) SUBSEP $(col["allocator"]); if (key in seen) bad("a second row for " $(col["workload"]) " x " $(col["allocator"])); seen[key] = 1
      r = num("runs"); if (r !~ /^[0-9]*$/) bad("runs is not a whole number: " r)
      printf "%s\t%s\t%d\t%s\t%s\t%s\t%s\t\t\t%s\t\t\n", $(col["workload"]), $(col["allocator"]), r, num("ns_per_op_median"),
          num("ns_per_op_min"), num("ns_per_op_max"), num("peak_rss_bytes_median"), num("frag_peak_median") }
    END { if (!err && NR < 2) { print "plots.sh: " f ": no rows (no run finished?)" > "/dev/stderr"; exit 1 } }
' "$dir/summary.csv" > "$tmp/summary.tsv" || exit 1

# The spread of peak RSS and frag_peak over the rounds comes from the raw records.
while IFS=$'\t' read -r w a runs ns ns_min ns_max rss _ _ frag _ _; do
    f=$dir/raw/$w.$a.jsonl
    r_min='' r_max='' f_min='' f_max=''
    if [ "$runs" -gt 0 ]; then
        [ -r "$f" ] || die "$f: missing, but $dir/summary.csv counts $runs run(s) of $w x $a"
        IFS=, read -r _ r_min r_max _ < <(field peak_rss_bytes "$f" | spread_stats)
        IFS=, read -r _ f_min f_max _ < <(field frag_peak "$f" | spread_stats)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$a" "$runs" "$ns" "$ns_min" "$ns_max" \
        "$rss" "$r_min" "$r_max" "$frag" "$f_min" "$f_max"
done < "$tmp/summary.tsv" > "$tmp/cells.tsv"

# Workloads in the summary's order; allocators with glibc (the reference) first, dry
# (the harness alone, no allocator) apart.
cut -f1 "$tmp/cells.tsv" | awk '!seen[$0]++' > "$tmp/workloads"
cut -f2 "$tmp/cells.tsv" | awk '!seen[$0]++' | awk '$0 == "glibc" { g = 1; next } $0 != "dry" { o = o $0 "\n" } END { printf "%s%s", g ? "glibc\n" : "", o }' > "$tmp/allocs"

# One gnuplot string literal, single-quoted ('' is a quote inside).
gp_str() { printf "'%s'" "${1//\'/\'\'}"; }
# The run's description under every title, from machine.json (optional).
subtitle="$dir"
if [ -r "$dir/machine.json" ]; then
    mj() { grep -o "\"$1\":\"\{0,1\}[^\",}]*" "$dir/machine.json" | head -1 | sed 's/^"[^"]*":"\{0,1\}//'; }
    subtitle="$(basename "$(cd "$dir" && pwd)"): $(mj rounds) round(s), scale $(mj scale), seed $(mj seed), $(mj cpu) x $(mj cores) cores, git $(mj git)"
fi
allocs_words=$(paste -sd' ' "$tmp/allocs")
nalloc=$(wc -l < "$tmp/allocs")
nwork=$(wc -l < "$tmp/workloads")
# The variables every chart script reads (see plots/common.gp).
common_vars() {
    printf 'plotsdir = %s\npngterm = %s\nformats = "png svg"\nsubtitle = %s\n' \
        "$(gp_str "$here")" "$(gp_str "$pngterm")" "$(gp_str "$subtitle")"
    printf 'allocs = %s\nnalloc = %d\n' "$(gp_str "$allocs_words")" "$nalloc"
}

# draw NAME SCRIPT VARS_FILE: run plots/SCRIPT.gp into DIR/plots/NAME.{png,svg}, atomically.
draw() {
    local name=$1 script=$2 vars=$3 base="$out/.$1.tmp.$$" fmt
    { common_vars; cat "$vars"; printf 'outbase = %s\n' "$(gp_str "$base")"; } > "$tmp/$name.vars.gp"
    if ! gnuplot "$tmp/$name.vars.gp" "$here/common.gp" "$here/$script.gp" 2> "$tmp/gnuplot.err"; then
        cat "$tmp/gnuplot.err" >&2
        die "gnuplot failed on plots/$script.gp for $out/$name (data in $tmp)"
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
    awk -F'\t' -v metric="$1" -v dat="$tmp/$1.dat" -v nw="$nwork" -v walloc="$tmp/allocs" -v wwork="$tmp/workloads" '
    function emit(x, y, lo, hi) { printf "%s\t%s\t%s\t%s\n", x, y, lo, hi > dat; note(y); if (lo != "NaN") { note(lo); note(hi) } }
    function note(y) { if (y < ymin) ymin = y; if (y > ymax) ymax = y }
    function listq(s) { gsub(/\047/, "\047\047", s); return "\047" s "\047" }
    BEGIN { c = (metric == "time") ? 4 : (metric == "rss") ? 7 : 10
            while ((getline l < walloc) > 0) al[++na] = l
            while ((getline l < wwork) > 0) { wk[++n] = l; wi[l] = n } }
    { v[$1, $2] = $(c); lo[$1, $2] = $(c + 1); hi[$1, $2] = $(c + 2); if ($2 != "dry" && $(c) > 0) has[$1] = 1 }
    END {
        # Relative to glibc only if every workload with results has a glibc result.
        mode = (metric == "frag") ? "ratio" : "relative"
        for (i = 1; i <= n; i++) if (mode == "relative" && has[wk[i]] && !(v[wk[i], "glibc"] > 0)) { missing = missing sep wk[i]; sep = ", " }
        if (missing != "" || mode == "relative" && n > 0 && na > 0 && al[1] != "glibc") mode = "absolute"
        unit = (metric == "rss" && mode == "absolute") ? 1048576 : 1
        ymin = 1e300; ymax = -1e300; if (mode != "absolute") { note(1 / 1.15); note(1.15) }
        bw = 0.8 / (na > 0 ? na : 1)
        for (a = 1; a <= na; a++) {
            for (i = 1; i <= n; i++) {
                k = wk[i] SUBSEP al[a]; x = i - 0.4 + bw * (a - 0.5)
                ref = (mode == "relative") ? v[wk[i], "glibc"] : unit
                if (v[k] > 0) emit(x, v[k] / ref, (hi[k] > lo[k]) ? lo[k] / ref : "NaN", (hi[k] > lo[k]) ? hi[k] / ref : "NaN")
                else failed = failed x "\t" (mode == "absolute" ? "BASE" : 1) "\n"
            }
            printf "NaN\tNaN\tNaN\tNaN\n\n\n" > dat
        }
        # dry: a dash across its workload group (time only: it allocates nothing)
        for (i = 1; metric == "time" && i <= n; i++) if (v[wk[i], "dry"] > 0 && (mode == "absolute" || v[wk[i], "glibc"] > 0)) {
            y = v[wk[i], "dry"] / (mode == "relative" ? v[wk[i], "glibc"] : 1); printf "%s\t%s\t%s\t%s\n", i - 0.45, y, 0.9, 0 > dat; note(y); dry = 1 }
        printf "NaN\tNaN\tNaN\tNaN\n\n\n" > dat
        if (ymin > ymax) { ymin = 0.5; ymax = 2 }
        ymin /= 1.3; ymax *= 1.3
        base = (mode == "absolute") ? ymin * 1.08 : 1
        gsub(/BASE/, base, failed); printf "%sNaN\tNaN\n", failed > dat
        printf "mode = \"%s\"\nno_glibc = %s\nymin = %g\nymax = %g\nbase = %g\nbw = %g\nngroups = %d\nhas_dry = %d\nhas_failed = %d\n",
            mode, listq(missing), ymin, ymax, (mode == "absolute") ? ymin : 1, bw, n, dry, failed != ""
        printf "set xtics ("; for (i = 1; i <= n; i++) printf "%s%s %d", (i > 1) ? ", " : "", listq(wk[i]), i; print ")"
        # about 14 px per bar, so 18 workloads x 7 allocators stay readable
        w = 170 + n * (na * 14 + 26); printf "width = %d\nheight = 700\n", (w < 900) ? 900 : (w > 4000) ? 4000 : w
    }' "$tmp/cells.tsv" > "$tmp/$1.vars"
    printf 'datafile = %s\n' "$(gp_str "$tmp/$1.dat")" >> "$tmp/$1.vars"
}
for m in time rss frag; do
    bars "$m"
    draw "$m" "$m" "$tmp/$m.vars"
done
