# bars.gp - grouped bars, one group per workload and one bar per allocator, with min-max
# whiskers over the rounds: the body of time.gp, rss.gp and frag.gp, which set
# chart_title, notes and ylab first. plots.sh's bars() writes the data: in `datafile`
# a block per allocator (x, y, whisker low, whisker high; NaN = no whisker), then a
# block of dry dashes (x, y, length, 0) and one of cells without a result (x, y); and the
# variables mode, ymin, ymax, base (where bars start: 1 for ratios, else the axis
# bottom), bw (bar width), ngroups, has_dry, has_failed and the xtics.
set logscale y
set yrange [ymin:ymax]
set xrange [0.5:ngroups + 0.5]
set xtics rotate by 30 right scale 0
eval log_tics("y", ymin, ymax)
set ylabel ylab
set title chart_title . "\n" . notes . "\n" . subtitle
set key bmargin center horizontal samplen 2 maxrows 1
if (base == 1) set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#444444" back
set style fill solid 0.85 border lc rgb "#555555"
do for [fmt in formats] {
    eval term_cmd(fmt)
    set output outbase . "." . fmt
    plot for [i=1:nalloc] datafile index (i - 1) using 1:2:($1 - bw / 2):($1 + bw / 2):(base):2 \
             with boxxyerror lc rgb color(i) title word(allocs, i) . ((i == 1 && mode eq "relative") ? " (the reference: 1)" : ""), \
         for [i=1:nalloc] datafile index (i - 1) using 1:3:(0):($4 - $3) \
             with vectors heads size screen 0.003,90 lc rgb "black" notitle, \
         datafile index nalloc using 1:2:3:4 with vectors nohead lw 3 lc rgb "black" \
             title (has_dry ? "dry: the harness alone (no allocator calls)" : ""), \
         datafile index (nalloc + 1) using 1:2 with points pt 2 ps 1.6 lw 2 lc rgb "#cc0000" \
             title (has_failed ? "no result (run failed or missing)" : "")
    unset output
}
