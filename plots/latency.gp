# latency.gp - per-call latency percentiles of one workload: a panel per op kind, a
# line per allocator through p50, p90, p99, p99.9 and max (log y). plots.sh's
# latency_data writes `datafile`: per kind of `kinds` (calls per kind in `counts`), per
# allocator a block "x ns" (x = 1..5), each value the median over the rounds.
top = "Latency per call: " . workload . " (log scale; each percentile the median over the rounds of a --latency run)" . \
    "\ntimer overhead subtracted; values are quantised to the timer resolution (latency.timer.resolution_ns in raw/)" . \
    (has_zero ? "\na 0 (below the resolution) has no place on a log axis and is left out" : "") . "\n" . subtitle
set logscale y
set yrange [ymin:ymax]
eval time_tics("y")
set xrange [0.7:5.3]
set xtics ("p50" 1, "p90" 2, "p99" 3, "p99.9" 4, "max" 5)
set grid xtics ytics lc rgb "#e0e0e0"
set ylabel "time per call (log scale)"
set bmargin 6
do for [fmt in formats] {
    eval term_cmd(fmt)
    set output outbase . "." . fmt
    set multiplot layout 1, nkinds title top
    do for [k=1:nkinds] {
        set title word(kinds, k) . " (" . word(counts, k) . " calls)"
        # one key for all panels, in a row under them
        if (k == 1) { set key at screen 0.5, screen 0.01 center bottom horizontal maxrows 1 samplen 3 } else { unset key }
        plot for [i=1:nalloc] datafile index ((k - 1) * nalloc + i - 1) using 1:2 \
            with linespoints lw 2 pt 7 ps 0.8 lc rgb color(i) title word(allocs, i)
    }
    unset multiplot
    unset output
}
