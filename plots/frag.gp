# frag.gp - fragmentation (frag_peak) per workload (see bars.gp).
chart_title = "Fragmentation: frag_peak = peak RSS / peak live bytes (1 = no overhead over the bytes requested)"
ylab = "frag_peak, peak RSS / peak live bytes (log scale)"
notes = "bars: median over the rounds, starting at 1; whiskers: min-max over the rounds; dry (no allocator) not shown"
load plotsdir . "/bars.gp"
