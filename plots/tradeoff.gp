# tradeoff.gp - time against peak memory, both relative to the reference row `ref`
# (glibc, or glibc+PROFILE) on the same workload (log axes): lower left is faster and
# smaller; mode "absolute" (ns/op against MiB) when a workload has no reference result.
# Two charts:
# - tradeoff: one panel, a point per allocator per workload labelled with the workload;
#   `datafile` has per allocator of `allocs` a block "x y workload";
# - tradeoff-workloads (when plots.sh sets nwork): a panel per workload of `workloads`,
#   its points labelled with the allocator, the same axes in every panel; `datafile`
#   has per workload, per allocator a block "x y allocator".
# The reference's blocks are empty when relative: it is the black point (1, 1).
panels = exists("nwork")
if (mode eq "relative") {
    head = "Time vs peak memory, both relative to " . ref . " on the same workload (lower left = faster and smaller than " . ref . ")" . \
        "\nx: median peak RSS / " . ref . "'s; y: median ns/op / " . ref . "'s; " . \
        (panels ? "a panel per workload, the same axes in all" : "a point per allocator per workload") . "; dry (no allocator) not shown\n"
    set xlabel "peak RSS relative to " . ref . " (log scale)"
    set ylabel "ns/op relative to " . ref . " (log scale)"
    set arrow 1 from first 1, graph 0 to first 1, graph 1 nohead dt 2 lc rgb "#444444" back
    set arrow 2 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#444444" back
} else {
    head = "Time vs peak memory, absolute (" . (no_ref eq "" ? ref . " not in this run" : "no " . ref . " result for " . no_ref) . ": no ratios)" . \
        "\nx: median peak RSS, MiB; y: median ns/op; " . \
        (panels ? "a panel per workload, the same axes in all" : "a point per allocator per workload") . "; dry (no allocator) not shown\n"
    set xlabel "peak RSS, MiB (log scale)"
    set ylabel "ns/op (log scale)"
}
set logscale xy
set xrange [xmin:xmax]
set yrange [ymin:ymax]
eval log_tics("x", xmin, xmax)
eval log_tics("y", ymin, ymax)
set grid xtics ytics lc rgb "#e0e0e0"
ref_point = (mode eq "relative") ? 1 : NaN
if (!panels) {
    set title head . subtitle
    if (mode eq "relative") { set label 1 ref at first 1, first 1 offset char 0.8, char -0.8 font ",11" }
    set key outside right top vertical samplen 1
    do for [fmt in formats] {
        eval term_cmd(fmt)
        set output outbase . "." . fmt
        plot for [i=1:nalloc] datafile index (i - 1) using 1:2 with points pt 7 ps 1.3 lc rgb color(i) \
                 title ((mode eq "relative" && i == 1) ? "" : word(allocs, i)), \
             for [i=1:nalloc] datafile index (i - 1) using 1:2:3 with labels left offset char 0.6, char 0.4 font ",8" tc rgb color(i) notitle, \
             "+" using (ref_point):(1) every ::0::0 with points pt 7 ps 1.6 lc rgb "black" \
                 title (mode eq "relative" ? ref . " (1, 1 by definition)" : "")
        unset output
    }
} else {
    unset xlabel
    unset ylabel
    set bmargin 3
    do for [fmt in formats] {
        eval term_cmd(fmt)
        set output outbase . "." . fmt
        set multiplot layout nrows, ncols title head . "points labelled with the allocator, colours as in the other charts\n" . subtitle
        do for [k=1:nwork] {
            set title word(workloads, k)
            unset key
            plot for [i=1:nalloc] datafile index ((k - 1) * nalloc + i - 1) using 1:2 with points pt 7 ps 1.1 lc rgb color(i) notitle, \
                 for [i=1:nalloc] datafile index ((k - 1) * nalloc + i - 1) using 1:2:3 \
                     with labels left offset char 0.5, char 0.35 font ",8" tc rgb color(i) notitle, \
                 "+" using (ref_point):(1) every ::0::0 with points pt 7 ps 1.2 lc rgb "black" notitle
        }
        unset multiplot
        unset output
    }
}
