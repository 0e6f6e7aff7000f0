# rss.gp - peak RSS per workload, relative to glibc (see bars.gp).
if (mode eq "relative") {
    chart_title = "Peak RSS relative to glibc: each allocator's median peak RSS / glibc's median peak RSS on the same workload"
    ylab = "peak RSS relative to glibc (1 = glibc, below = less memory; log scale)"
} else {
    chart_title = "Peak RSS, absolute in MiB (" . (no_glibc eq "" ? "glibc not in this run" : "no glibc result for " . no_glibc) . ": no ratios)"
    ylab = "peak RSS, MiB, median over rounds (log scale)"
}
notes = "peak RSS = RssAnon minus the pre-init baseline; bars: median, whiskers: min-max over the rounds; dry (no allocator) not shown"
load plotsdir . "/bars.gp"
