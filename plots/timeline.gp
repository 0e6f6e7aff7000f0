# timeline.gp - RSS and live bytes over the run of one workload, a line per allocator.
# plots.sh's timeline_data writes `datafile`: per allocator (in the order of `allocs`)
# a block "op rss_bytes live_bytes" from the driver's --timeline CSV and a block
# "op rss_bytes" after each idle marker; `keys` names each allocator with the round
# drawn; unit/unitname scale the bytes (KiB or MiB); plots.sh's phase_marks adds an
# arrow and a label where each phase starts.
set title "RSS and live bytes over the run: " . workload . \
    "\nsolid: RSS (RssAnon minus the pre-init baseline); dashed: live bytes (requested sizes of live objects)" . \
    "\ncircles: RSS after an idle period; dotted: a phase of the trace starts; each allocator's round with the median peak RSS of its rounds (rN in the key)\n" . subtitle
set xlabel "op index in the trace (ops replayed so far)"
set ylabel "memory, " . unitname
set format x xformat
set yrange [0:*]
set key outside right top vertical samplen 3
set grid xtics ytics lc rgb "#e0e0e0"
do for [fmt in formats] {
    eval term_cmd(fmt)
    set output outbase . "." . fmt
    plot for [i=1:nalloc] datafile index (2 * i - 2) using 1:($2 / unit) with lines lw 2 lc rgb color(i) title word(keys, i), \
         for [i=1:nalloc] datafile index (2 * i - 2) using 1:($3 / unit) with lines lw 1 dt 2 lc rgb color(i) notitle, \
         for [i=1:nalloc] datafile index (2 * i - 1) using 1:($2 / unit) with points pt 6 ps 1.5 lw 2 lc rgb color(i) notitle, \
         NaN with lines lw 1 dt 2 lc rgb "black" title "live bytes"
    unset output
}
