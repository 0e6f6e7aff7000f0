# tradeoff.gp - time against peak memory: a point per allocator per workload, labelled
# with the workload, both axes relative to glibc (log), so the trade-off shows at a
# glance: lower left is faster and smaller than glibc. plots.sh writes `datafile`: per
# allocator of `allocs` a block "x y workload" (glibc's block empty when relative: all
# its points are (1, 1)); mode "absolute" when a workload has no glibc result.
if (mode eq "relative") {
    set title "Time vs peak memory, both relative to glibc on the same workload (lower left = faster and smaller than glibc)" . \
        "\nx: median peak RSS / glibc's; y: median ns/op / glibc's; a point per allocator per workload; dry (no allocator) not shown\n" . subtitle
    set xlabel "peak RSS relative to glibc (log scale)"
    set ylabel "ns/op relative to glibc (log scale)"
    set arrow 1 from first 1, graph 0 to first 1, graph 1 nohead dt 2 lc rgb "#444444" back
    set arrow 2 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#444444" back
    set label 1 "glibc" at first 1, first 1 offset char 0.8, char -0.8 font ",11"
} else {
    set title "Time vs peak memory, absolute (" . (no_glibc eq "" ? "glibc not in this run" : "no glibc result for " . no_glibc) . ": no ratios)" . \
        "\nx: median peak RSS, MiB; y: median ns/op; a point per allocator per workload; dry (no allocator) not shown\n" . subtitle
    set xlabel "peak RSS, MiB (log scale)"
    set ylabel "ns/op (log scale)"
}
set logscale xy
set xrange [xmin:xmax]
set yrange [ymin:ymax]
eval log_tics("x", xmin, xmax)
eval log_tics("y", ymin, ymax)
set grid xtics ytics lc rgb "#e0e0e0"
set key outside right top vertical samplen 1
do for [fmt in formats] {
    eval term_cmd(fmt)
    set output outbase . "." . fmt
    plot for [i=1:nalloc] datafile index (i - 1) using 1:2 with points pt 7 ps 1.3 lc rgb color(i) \
             title ((mode eq "relative" && i == 1) ? "" : word(allocs, i)), \
         for [i=1:nalloc] datafile index (i - 1) using 1:2:3 with labels left offset char 0.6, char 0.4 font ",8" tc rgb color(i) notitle, \
         "+" using (mode eq "relative" ? 1 : NaN):(1) every ::0::0 with points pt 7 ps 1.6 lc rgb "black" \
             title (mode eq "relative" ? "glibc (1, 1 by definition)" : "")
    unset output
}
