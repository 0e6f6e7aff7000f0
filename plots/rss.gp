# rss.gp - peak RSS per workload, relative to the reference row `ref` (see bars.gp).
if (mode eq "relative") {
    chart_title = "Peak RSS relative to " . ref . ": each allocator's median peak RSS / " . ref . "'s median peak RSS on the same workload"
    ylab = "peak RSS relative to " . ref . " (1 = " . ref . ", below = less memory; log scale)"
} else {
    chart_title = "Peak RSS, absolute in MiB (" . (no_ref eq "" ? ref . " not in this run" : "no " . ref . " result for " . no_ref) . ": no ratios)"
    ylab = "peak RSS, MiB, median over rounds (log scale)"
}
notes = "peak RSS = RssAnon minus the pre-init baseline; bars: median, whiskers: min-max over the rounds; dry (no allocator) not shown"
load plotsdir . "/bars.gp"
