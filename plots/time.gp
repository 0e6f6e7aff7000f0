# time.gp - time per operation per workload, relative to glibc (see bars.gp).
if (mode eq "relative") {
    chart_title = "Time per operation relative to glibc: each allocator's median ns/op / glibc's median ns/op on the same workload"
    ylab = "ns/op relative to glibc (1 = glibc, below = faster; log scale)"
} else {
    chart_title = "Time per operation, absolute (" . (no_glibc eq "" ? "glibc not in this run" : "no glibc result for " . no_glibc) . ": no ratios)"
    ylab = "ns/op, median over rounds (log scale)"
}
notes = "bars: median over the rounds; whiskers: min-max over the rounds (none with one round)"
load plotsdir . "/bars.gp"
