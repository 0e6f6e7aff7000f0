# common.gp - what every chart shares: terminals, colours, fonts, log-axis labels.
# plots.sh sets before it: plotsdir, pngterm (pngcairo, or png without cairo), formats
# ("png svg"), outbase (the temp name, without .png/.svg), width, height, subtitle
# (the run: id, rounds, scale, machine), allocs (allocator names, the reference first),
# nalloc, ref (the reference row: glibc, or glibc+PROFILE in a --profile run).
# Each chart then loops:
#   do for [fmt in formats] { eval term_cmd(fmt); set output outbase . "." . fmt; plot ... }

# One colour per allocator, in the order of `allocs` (the same in every chart of a run).
palette = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #17becf #bcbd22 #7f7f7f"
color(i) = word(palette, 1 + (i - 1) % words(palette))
if (!exists("fontsize")) fontsize = 10
# noenhanced: names such as churn_2t or p99_9 are printed as they are, not as subscripts.
term_cmd(f) = (f eq "svg") ? \
    sprintf("set terminal svg size %d,%d dynamic noenhanced font 'Sans,%d' background rgb 'white'", width, height, fontsize) : \
    (pngterm eq "pngcairo") ? \
    sprintf("set terminal pngcairo size %d,%d noenhanced font 'Sans,%d' background rgb 'white'", width, height, fontsize) : \
    sprintf("set terminal png size %d,%d noenhanced background rgb 'white'", width, height)
# log_tics(ax, lo, hi): `eval log_tics("y", ymin, ymax)` labels a log axis at 1, 2, 5 x
# powers of ten, or at 1, 1.5, 2, 3, 5, 7 x powers of ten when it spans less than a
# factor 30 (gnuplot's default labels only the powers of ten, often one or two of them).
log_tics(ax, lo, hi) = sprintf("set %stics format '%%g'; set %stics (%s); set m%stics 10", ax, ax, (hi / lo < 30) ? tics_dense : tics125, ax)
tics125 = ""
tics_dense = ""
do for [e=-6:12] {
    tics125 = tics125 . sprintf("%s%g, %g, %g", (e > -6) ? ", " : "", 10.0**e, 2 * 10.0**e, 5 * 10.0**e)
    tics_dense = tics_dense . sprintf("%s%g, %g, %g, %g, %g, %g", (e > -6) ? ", " : "", 10.0**e, 1.5 * 10.0**e, 2 * 10.0**e, 3 * 10.0**e, 5 * 10.0**e, 7 * 10.0**e)
}
# time_tics(ax): `eval time_tics("y")` labels a log axis of nanoseconds at 1, 2, 5 x
# powers of ten in ns, us, ms or s (10 ns ... 20 ms rather than 1e+07).
ns_label(v) = (v < 1e3) ? sprintf("%g ns", v) : (v < 1e6) ? sprintf("%g us", v / 1e3) : (v < 1e9) ? sprintf("%g ms", v / 1e6) : sprintf("%g s", v / 1e9)
tics_ns = ""
do for [e=0:11] { do for [m in "1 2 5"] { v = m * 10.0**e; tics_ns = tics_ns . sprintf("%s\"%s\" %.0f", (tics_ns eq "") ? "" : ", ", ns_label(v), v) } }
time_tics(ax) = sprintf("set %stics (%s); set m%stics 10", ax, tics_ns, ax)
set datafile separator "\t"
set border 3 lc rgb "#444444"
set tics nomirror
set grid ytics mytics lc rgb "#e0e0e0" lw 1, lc rgb "#f0f0f0" lw 1
