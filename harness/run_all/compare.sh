# shellcheck shell=bash
# compare.sh - compare two results folders cell by cell (workload x allocator):
#
#   ./run_all.sh compare OLD NEW [--threshold PCT] [--only-changes]
#   bash harness/run_all/compare.sh OLD NEW ...      (the same, without run_all.sh)
#
# OLD and NEW are results folders (results/README.md), or run ids under results/
# (`compare 20261125-164706-3 latest`). For every cell of either run it prints the
# median ns/op, peak RSS and frag_peak, old -> new and the change in %, and marks
# the changes beyond the noise: SLOWER / faster (ns/op), BIGGER / smaller (peak RSS,
# frag_peak); capitals are the worse direction. Cells of one run only are listed as
# "new" or "gone", cells whose every round failed as FAILED (with the reason the run
# recorded); rows where some rounds failed say how many ran. It warns when the
# two runs differ in CPU, cores, kernel, libc, compiler, --scale, an allocator's
# version, a workload's trace, or throughput vs --latency mode.
#   --threshold PCT  the smallest change in % that can be marked (default 5)
#   --only-changes   print only the marked, new, gone and FAILED cells
# Exit status: 0 (whatever changed), 1 for bad arguments (a folder that is not a
# results folder is named in the message).
#
# The rule (printed under the table too): a change is marked when BOTH
#  1. the medians differ by more than the floor, max(PCT, 2 x the larger coefficient
#     of variation of the two runs' rounds): a noisy cell needs a bigger change; and
#  2. the rounds are separated: with >= 5 rounds in each run, a two-sided
#     Mann-Whitney U test at alpha 0.01 (exact up to 50 rounds in all, else the
#     normal approximation with tie correction); with fewer, the [min, max] ranges
#     of the two runs' rounds do not overlap.
# Why: with a handful of rounds the ranges are all there is (and with one round
# each they are points, so only the floor guards against noise: the footer says
# so); from 5 rounds on, the U test uses every round, so one slow round (these
# machines have slow phases) no longer hides a real change the way it spoils a
# range, while at exactly 5 vs 5 it is as strict as non-overlap (p = 2/252).
# Neither test sees drift between the two runs (another load on the machine
# during one of them): that is what the floor is for.
#
# The values are read and summarised by results.sh's record_stats_awk (jnum: the first,
# top-level occurrence on each record; spread: median, min, max and CV), the functions
# summary.csv's numbers come from, in one awk pass over each raw file and one for the
# report (the U test needs every sample there anyway).
# tests/run_all/compare.sh checks the medians against the run's summary.csv.

# record_stats_awk (and the other summary helpers): compare runs on its own too.
# shellcheck source=harness/run_all/results.sh
. "$(dirname "${BASH_SOURCE[0]}")/results.sh"

compare_usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

# compare_dir LABEL ARG: the results folder ARG (or results/ARG), or a message and 1.
compare_dir() {
    local label=$1 arg=$2 root d
    root=$(dirname "${BASH_SOURCE[0]}")/../../results
    for d in "$arg" "$root/$arg"; do
        if [ -d "$d/raw" ] && [ -n "$(find "$d/raw" -maxdepth 1 -name '*.jsonl' -print -quit)" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    echo "compare: $label '$arg' is not a results folder (no raw/*.jsonl in it; see results/README.md)" >&2
    return 1
}

# compare_label ARG DIR: ARG as the user wrote it, and the folder it leads to when
# that has another name (a symlink such as results/latest)
compare_label() {
    local arg=${1%/} real
    real=$(cd "$2" && pwd -P)
    if [ "${real##*/}" = "${arg##*/}" ]; then printf '%s\n' "$1"; else printf '%s (%s)\n' "$1" "${real##*/}"; fi
}

# compare_cells OLD NEW: "workload<TAB>allocator<TAB>file" for every cell of either run
# (a raw file, or an order.txt line: a cell whose every round failed leaves no record),
# sorted. Names come from order.txt (workload names contain dots); a file no order.txt
# mentions is split at its last dot.
compare_cells() {
    local d
    {
        for d in "$@"; do
            if [ -f "$d/order.txt" ]; then awk '{ n = split($3, p, "/"); print "order\t" p[n] "." $2 ".jsonl\t" p[n] "\t" $2 }' "$d/order.txt"; fi
        done
        for d in "$@"; do find "$d/raw" -maxdepth 1 -name '*.jsonl' -printf 'file\t%f\n'; done
    } | awk -F'\t' '$1 == "order" { if (!($2 in w)) { w[$2] = $3; a[$2] = $4; print $3 "\t" $4 "\t" $2 } next }
        !($2 in w) { f = $2; w[f] = 1; b = f; sub(/\.jsonl$/, "", b); i = match(b, /\.[^.]*$/)
            if (i) print substr(b, 1, i - 1) "\t" substr(b, i + 1) "\t" f; else print b "\t?\t" f }' |
        sort -t "$(printf '\t')" -k1,1 -k2,2
}

# compare_facts SIDE DIR: tab-separated facts about one run for the report (awk) below.
compare_facts() {
    local side=$1 dir=$2 f
    if [ -f "$dir/machine.json" ]; then
        printf 'machine\t%s\tsource\tmachine.json\n' "$side"
        awk -v s="$side" "$(compare_json_awk)"'{
            n = split("date git rounds scale cpu cores kernel libc compiler", k, " ")
            for (i = 1; i <= n; i++) if (jhas($0, k[i])) print "machine\t" s "\t" k[i] "\t" jval($0, k[i]) }' "$dir/machine.json"
    elif [ -f "$dir/machine.txt" ]; then
        printf 'machine\t%s\tsource\tmachine.txt\n' "$side"
        awk -v s="$side" '
            function out(k, v) { print "machine\t" s "\t" k "\t" v }
            { i = index($0, ":"); k = substr($0, 1, i - 1); v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", k) }
            k == "date" || k == "git" || k == "kernel" || k == "scale" { out(k, v) }
            k == "cpus" { out("cores", v) }
            k == "model name" { out("cpu", v) }
            k == "command" && match(v, /\(effective: .*--rounds [0-9]+/) { v = substr(v, RSTART, RLENGTH); sub(/.*--rounds /, "", v); out("rounds", v) }' "$dir/machine.txt"
    fi
    # trace TAB workload TAB content hash, from machine.txt's "trace workloads/X: FILE HASH"
    if [ -f "$dir/machine.txt" ]; then
        awk -v s="$side" '$1 == "trace" && NF == 4 { w = $2; sub(/:$/, "", w); n = split(w, p, "/"); print "trace\t" s "\t" p[n] "\t" $4 }' "$dir/machine.txt"
    fi
    if [ -f "$dir/order.txt" ]; then
        awk -v s="$side" '{ n = split($3, p, "/"); t[p[n] "." $2 ".jsonl"]++ } END { for (k in t) print "tries\t" s "\t" k "\t" t[k] }' "$dir/order.txt"
    fi
    # Why cells failed: runs.jsonl's failure records, or (runs before runs.jsonl existed)
    # errors.log's "run_all.sh: round R: ROW on TRACE (FILE) failed: WHY" lines.
    if [ -f "$dir/runs.jsonl" ]; then
        # shellcheck disable=SC2016 # awk code, not shell
        awk -v s="$side" "$(compare_json_awk)"'index($0, "\"failed\":true") {
            why = jval($0, "reason"); if (why == "" || why == "null") why = "exit status " jval($0, "exit_status")
            print "fail\t" s "\t" jval($0, "workload") "." jval($0, "row") ".jsonl\t" why }' "$dir/runs.jsonl"
    elif [ -f "$dir/errors.log" ]; then
        awk -v s="$side" '/^run_all\.sh: round [0-9]+: / && / failed: / {
            n = split($6, p, "/"); why = $0; sub(/.* failed: /, "", why); print "fail\t" s "\t" p[n] "." $4 ".jsonl\t" why }' "$dir/errors.log"
    fi
    # Each raw file read once: its first record's mode and version (meta), then the cell
    # and its rounds' ns/op, peak RSS and frag_peak (metric: the values as jnum() reads
    # them, space-separated). An empty file is a cell without values.
    # shellcheck disable=SC2016 # awk code, not shell
    find "$dir/raw" -maxdepth 1 -name '*.jsonl' -print0 | xargs -0 -r awk -v s="$side" "$(record_stats_awk)$(compare_json_awk)"'
        function flush(   i) { print "cell\t" s "\t" f; for (i = 1; i <= nk; i++) print "metric\t" s "\t" f "\t" key[i] "\t" vals[i] }
        BEGIN { nk = split("ns_per_op peak_rss_bytes frag_peak", key, " ") }
        FNR == 1 { if (f != "") flush()
            n = split(FILENAME, p, "/"); f = p[n]; print "meta\t" s "\t" f "\t" jval($0, "mode") "\t" jval($0, "allocator_version")
            for (i = 1; i <= nk; i++) { vals[i] = ""; cnt[i] = 0 } }
        { for (i = 1; i <= nk; i++) { v = jnum($0, key[i]); if (v != "none") vals[i] = vals[i] (cnt[i]++ ? " " : "") v } }
        END { if (f != "") flush() }'
    find "$dir/raw" -maxdepth 1 -name '*.jsonl' -empty -printf '%f\n' | while read -r f; do
        printf 'cell\t%s\t%s\n' "$side" "$f"
        printf 'metric\t%s\t%s\tns_per_op\t\nmetric\t%s\t%s\tpeak_rss_bytes\t\nmetric\t%s\t%s\tfrag_peak\t\n' "$side" "$f" "$side" "$f" "$side" "$f"
    done
}

# jval(line, key): the value of "key": on a one-line JSON object, a string unquoted
# (escapes kept as written) or a number; jhas(line, key): whether the key is there.
compare_json_awk() {
    cat << 'EOF'
function jhas(s, k) { return index(s, "\"" k "\":") > 0 }
function jval(s, k,   i, v, j, c) {
    i = index(s, "\"" k "\":"); if (!i) return ""
    v = substr(s, i + length(k) + 3)
    if (substr(v, 1, 1) != "\"") { sub(/[,}\]].*/, "", v); return v }
    for (j = 2; j <= length(v); j++) { c = substr(v, j, 1); if (c == "\\") j++; else if (c == "\"") break }
    return substr(v, 2, j - 2)
}
EOF
}

# The report: reads compare_facts' lines (and "name" lines: the cells in order).
compare_report_awk() {
    cat << 'EOF'
BEGIN { FS = "\t"; floor0 = threshold / 100; dir["old"] = dir_old; dir["new"] = dir_new }
$1 == "name" { ncell++; cw[ncell] = $2; ca[ncell] = $3; cf[ncell] = $4
    if (length($2) > ww) ww = length($2); if (length($3) > aw) aw = length($3); next }
$1 == "machine" { mach[$2, $3] = $4; next }
$1 == "trace" { tr[$2, $3] = $4; trw[$3] = 1; next }
$1 == "tries" { tries[$2, $3] = $4; has[$2, $3] = 1; next } # ran, even if it left no record
$1 == "fail" { why[$2, $3] = $4; next }
$1 == "meta" { mode[$2, $3] = $4; ver[$2, $3] = $5; next }
$1 == "cell" { has[$2, $3] = 1; next }
$1 == "metric" { sample($2, $3, $4, $5); next }

# sample(side, file, metric, values): keeps the numeric values (a null is no value)
# and their median, min, max and coefficient of variation from spread(), as that
# run's summary.csv has them.
function sample(sd, f, k, list,   t, n, m, i, v, r) {
    n = split(list, t, " ")
    for (i = 1; i <= n; i++) if (t[i] ~ /^-?[0-9]/) v[++m] = t[i]
    if (m == 0) return
    vals[sd, f, k] = v[1]; for (i = 2; i <= m; i++) vals[sd, f, k] = vals[sd, f, k] " " v[i]
    split(spread(v, m), r, ",")
    med[sd, f, k] = r[1] + 0; mn[sd, f, k] = r[2] + 0; mx[sd, f, k] = r[3] + 0; cv[sd, f, k] = r[4] + 0
}

function rounds_of(side, f) { return ((side, f, "ns_per_op") in med) ? split(vals[side, f, "ns_per_op"], _t, " ") : 0 }
function max(a, b) { return a > b ? a : b }
# Exact two-sided Mann-Whitney p for sizes m, n and statistic u (the smaller U):
# 2 P(U <= u) under the null, counting arrangements with the Gaussian binomial
# [m+n choose m]_q, whose coefficient k is the number of arrangements with U = k.
function mw_exact(m, n, u,   c, i, k, top, tot, cum) {
    top = m * n; for (k = 0; k <= top; k++) c[k] = 0; c[0] = 1
    for (i = 1; i <= m; i++) {
        for (k = top; k >= n + i; k--) c[k] -= c[k - n - i]
        for (k = i; k <= top; k++) c[k] += c[k - i]
    }
    for (k = 0; k <= top; k++) { tot += c[k]; if (k <= u) cum += c[k] }
    return 2 * cum / tot > 1 ? 1 : 2 * cum / tot
}
function phi(z,   t, y) { # standard normal CDF (Abramowitz-Stegun 7.1.26, error < 1.5e-7)
    t = 1 / (1 + 0.3275911 * (z < 0 ? -z : z) / sqrt(2))
    y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * exp(-z * z / 2)
    return z < 0 ? (1 - y) / 2 : (1 + y) / 2
}
# p-value of the two-sided Mann-Whitney U test of the space-separated samples a and b.
function mw_p(a, b,   x, y, m, n, i, j, r1, lt, eq, u1, u, N, ties, cnt, v, sd, z) {
    m = split(a, x, " "); n = split(b, y, " "); N = m + n
    for (i = 1; i <= m; i++) x[i] += 0; for (j = 1; j <= n; j++) y[j] += 0
    for (i = 1; i <= m; i++) { lt = eq = 0
        for (j = 1; j <= m; j++) { if (x[j] < x[i]) lt++; else if (x[j] == x[i]) eq++ }
        for (j = 1; j <= n; j++) { if (y[j] < x[i]) lt++; else if (y[j] == x[i]) eq++ }
        r1 += lt + (eq + 1) / 2 }
    u1 = r1 - m * (m + 1) / 2; u = (u1 < m * n - u1) ? u1 : m * n - u1
    if (N <= 50) return mw_exact(m, n, int(u) < u ? int(u) + 1 : u) # a tie across runs counts against separation
    for (i = 1; i <= m; i++) cnt[x[i]]++; for (j = 1; j <= n; j++) cnt[y[j]]++
    for (v in cnt) ties += cnt[v] ^ 3 - cnt[v]
    sd = sqrt(m * n / 12 * ((N + 1) - ties / (N * (N - 1)))); if (sd == 0) return 1
    z = (m * n / 2 - u - 0.5) / sd; return z <= 0 ? 1 : 2 * (1 - phi(z))
}
# judge(f, metric): sets chg (the relative change, "" if not computable) and returns
# +1 / -1 when the change is beyond the noise (worse / better direction: up), else 0.
function judge(f, k,   o, nw, floor, sep, no, nn) {
    chg = ""; if (!(("old", f, k) in med) || !(("new", f, k) in med)) return 0
    o = med["old", f, k]; nw = med["new", f, k]
    if (o == 0) { chg = (nw == 0) ? 0 : "inf"; if (nw == 0) return 0 } else chg = (nw - o) / o
    floor = max(floor0, 2 * max(cv["old", f, k], cv["new", f, k]))
    if (chg != "inf" && (chg < 0 ? -chg : chg) <= floor) return 0
    no = split(vals["old", f, k], _t, " "); nn = split(vals["new", f, k], _t, " ")
    if (no >= 5 && nn >= 5) sep = mw_p(vals["old", f, k], vals["new", f, k]) < 0.01
    else sep = mn["new", f, k] + 0 > mx["old", f, k] + 0 || mx["new", f, k] + 0 < mn["old", f, k] + 0
    if (!sep) return 0
    return (nw > o) ? 1 : -1
}
function human(b) { return b == "" ? "-" : b < 1048576 ? sprintf("%.0fK", b / 1024) : b < 1073741824 ? sprintf("%.1fM", b / 1048576) : sprintf("%.2fG", b / 1073741824) }
function num(v, fmt) { return v == "" ? "-" : sprintf(fmt, v) }
function ratio(v) { return v == "" ? "-" : sprintf(v < 10 ? "%.3f" : v < 100 ? "%.2f" : "%.1f", v) } # 4 digits
function pct(c) { return c == "" ? "" : c == "inf" ? "+inf%" : sprintf("%+.1f%%", 100 * c) }
function known(s, k) { return ((s, k) in mach) && mach[s, k] != "" ? mach[s, k] : "?" } # (no entry made)
function runline(label, s,   r) {
    r = known(s, "rounds")
    printf "%s %s  (%s, git %s, %s round%s, scale %s)\n", label, dir[s], known(s, "date"), known(s, "git"), r, (r == 1) ? "" : "s", known(s, "scale")
}
function rule(label, width,   l, r) { # " label " centred in a line of dashes
    l = int((width - length(label) - 2) / 2); r = width - length(label) - 2 - l
    return sprintf("%s %s %s", dashes(l), label, dashes(r))
}
function dashes(n,   s) { s = ""; while (n-- > 0) s = s "-"; return s }
function out(line) { sub(/ +\n$/, "\n", line); printf "%s", line }
function warn(msg) { print "warning: " msg; nwarn++ }

END {
    runline("old:", "old"); runline("new:", "new")
    # What makes the two runs measure different things.
    n = split("cpu cores kernel libc compiler scale", keys, " ")
    for (i = 1; i <= n; i++) { k = keys[i]
        if ((("old", k) in mach) && (("new", k) in mach) && mach["old", k] != mach["new", k] &&
            !((k == "scale" || k == "cores") && mach["old", k] + 0 == mach["new", k] + 0)) # --scale 1 = 1.0
            warn(sprintf("the runs differ in %s: \"%s\" -> \"%s\"", k, mach["old", k], mach["new", k])) }
    if (!(("old", "source") in mach) || !(("new", "source") in mach))
        warn("no machine.json or machine.txt in " (("old", "source") in mach ? "new" : "old") ": machine and scale not checked")
    for (w in trw) if ((("old", w) in tr) && (("new", w) in tr) && tr["old", w] != tr["new", w])
        warn(sprintf("workload %s: a different trace (content hash %s -> %s): a changed spec, --scale or file", w, tr["old", w], tr["new", w]))
    for (i = 1; i <= ncell; i++) { f = cf[i]; a = ca[i]
        if (!(("old", f) in ver) || !(("new", f) in ver)) continue
        if (ver["old", f] != ver["new", f] && !vwarned[a]++)
            warn(sprintf("allocator %s: version \"%s\" -> \"%s\"", a, ver["old", f], ver["new", f]))
        if (mode["old", f] != mode["new", f]) { modediff[f] = 1; mc = mode["old", f] " -> " mode["new", f]
            if (!((mc) in modecells)) modepairs[++nmp] = mc; modecells[mc]++ }
    }
    for (i = 1; i <= nmp; i++)
        warn(sprintf("%d cells ran in another mode (%s, e.g. --latency): their ns/op is not comparable and not marked", modecells[modepairs[i]], modepairs[i]))
    if (nwarn) print ""

    if (ww < 8) ww = 8; if (aw < 9) aw = 9
    hfmt = "%-" ww "s %-" aw "s  %9s %9s %8s %-6s  %7s %7s %8s %-7s  %6s %6s %8s %-7s %s\n"
    printf "%-" ww "s %-" aw "s  %s  %s  %s\n", "", "", rule("ns/op, median", 35), rule("peak RSS, median", 32), rule("frag_peak, median", 30)
    out(sprintf(hfmt, "workload", "allocator", "old", "new", "change", "", "old", "new", "change", "", "old", "new", "change", "", ""))
    for (i = 1; i <= ncell; i++) {
        f = cf[i]; note = ""; row = ""; ino = has["old", f]; inn = has["new", f]
        no = rounds_of("old", f); nn = rounds_of("new", f)
        if (!ino) { row = "new"; note = "new: only in NEW"; nnew++ }
        else if (!inn) { row = "gone"; note = "gone: only in OLD"; ngone++ }
        if (ino && no == 0 || inn && nn == 0) { row = "FAILED"; nfail++
            note = (ino && no == 0 && inn && nn == 0) ? "FAILED in both" : (ino && no == 0) ? "FAILED in OLD" : "FAILED in NEW"
            side = (inn && nn == 0) ? "new" : "old"
            if ((side, f) in why) note = note ": " why[side, f] }
        if (row == "") { ncmp++; if (ncmp == 1 || no < minr) minr = no; if (nn < minr) minr = nn }
        for (j = 0; j < 2; j++) { side = j ? "new" : "old"; r = j ? nn : no
            if (has[side, f] && r > 0 && (side, f) in tries && r < tries[side, f])
                note = note (note != "" ? "; " : "") sprintf("%s: %d of %d rounds ran%s", toupper(side), r, tries[side, f], (side, f) in why ? " (" why[side, f] ")" : "") }
        marked = 0
        for (j = 1; j <= 3; j++) {
            k = (j == 1) ? "ns_per_op" : (j == 2) ? "peak_rss_bytes" : "frag_peak"
            d = judge(f, k); if (j == 1 && f in modediff) d = 0
            mark = (d == 0) ? "" : (j == 1) ? (d > 0 ? "SLOWER" : "faster") : (d > 0 ? "BIGGER" : "smaller")
            if (d != 0) { marked = 1; count[j, d]++ }
            ov = med["old", f, k]; nv = med["new", f, k]
            if (ino && no == 0) ov = "FAILED"; if (inn && nn == 0) nv = "FAILED"
            if (j == 1) { ov = (ov == "FAILED") ? ov : num(ov, "%.2f"); nv = (nv == "FAILED") ? nv : num(nv, "%.2f") }
            else if (j == 2) { ov = (ov == "FAILED") ? ov : human(ov); nv = (nv == "FAILED") ? nv : human(nv) }
            else { ov = (ov == "FAILED") ? ov : ratio(ov); nv = (nv == "FAILED") ? nv : ratio(nv) }
            if (!ino) ov = "-"; if (!inn) nv = "-"
            v[j, 1] = ov; v[j, 2] = nv; v[j, 3] = pct(chg); v[j, 4] = mark
        }
        if (only_changes && !marked && row == "") continue
        out(sprintf(hfmt, cw[i], ca[i], v[1, 1], v[1, 2], v[1, 3], v[1, 4], v[2, 1], v[2, 2], v[2, 3], v[2, 4], v[3, 1], v[3, 2], v[3, 3], v[3, 4], note))
    }
    print ""
    printf "%d cells compared: ns/op %d SLOWER, %d faster; peak RSS %d BIGGER, %d smaller; frag_peak %d BIGGER, %d smaller. %d new, %d gone, %d FAILED.\n",
        ncmp, count[1, 1], count[1, -1], count[2, 1], count[2, -1], count[3, 1], count[3, -1], nnew, ngone, nfail
    printf "Marked = beyond the noise: the medians differ by more than max(%g%%, 2 x the larger CV of the two runs' rounds)\n", threshold
    print "AND the rounds are separated: with >= 5 rounds in each run a two-sided Mann-Whitney U test, p < 0.01;"
    print "with fewer, the [min, max] ranges of the two runs' rounds do not overlap. Capitals = worse. Unmarked = within the noise."
    if (ncmp && minr < 3)
        print "note: cells with fewer than 3 rounds: their ranges are (nearly) points, so only the floor stands between noise and a mark; rerun with -r 5."
}
EOF
}

# compare_runs OLD NEW [--threshold PCT] [--only-changes]: the comparison on stdout
# (see the header of this file for the rule). 0, or 1 for bad arguments.
compare_runs() {
    local threshold=5 only_changes=0 dirs=() old new cells label_old label_new
    while [ $# -gt 0 ]; do
        case "$1" in
            --threshold)
                [ $# -ge 2 ] || { echo "compare: --threshold needs a percentage" >&2; return 1; }
                threshold=$2; shift 2 ;;
            --threshold=*) threshold=${1#*=}; shift ;;
            --only-changes) only_changes=1; shift ;;
            -h|--help) compare_usage; return 0 ;;
            -*) echo "compare: unknown option $1 (try --help)" >&2; return 1 ;;
            *) dirs+=("$1"); shift ;;
        esac
    done
    if [ ${#dirs[@]} -ne 2 ]; then
        echo "compare: usage: ./run_all.sh compare OLD NEW [--threshold PCT] [--only-changes] (two results folders, got ${#dirs[@]})" >&2
        return 1
    fi
    case "$threshold" in ''|.|*[!0-9.]*|*.*.*) echo "compare: --threshold needs a non-negative number (a percentage), got '$threshold'" >&2; return 1 ;; esac
    old=$(compare_dir OLD "${dirs[0]}") || return 1
    new=$(compare_dir NEW "${dirs[1]}") || return 1
    label_old=$(compare_label "${dirs[0]}" "$old")
    label_new=$(compare_label "${dirs[1]}" "$new")
    cells=$(compare_cells "$old" "$new")
    {
        printf 'name\t%s\n' "${cells//$'\n'/$'\n'name$'\t'}"
        compare_facts old "$old"
        compare_facts new "$new"
    } | awk -v threshold="$threshold" -v only_changes="$only_changes" -v dir_old="$label_old" -v dir_new="$label_new" \
        "$(record_stats_awk)$(compare_report_awk)"
}

# Run directly: bash harness/run_all/compare.sh OLD NEW ...
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    compare_runs "$@"
fi
