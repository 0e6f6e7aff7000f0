# time.gp - time per operation per workload, relative to the reference row `ref`
# (glibc, or glibc+PROFILE in a --profile run; see bars.gp).
if (mode eq "relative") {
    chart_title = "Time per operation relative to " . ref . ": each allocator's median ns/op / " . ref . "'s median ns/op on the same workload"
    ylab = "ns/op relative to " . ref . " (1 = " . ref . ", below = faster; log scale)"
} else {
    chart_title = "Time per operation, absolute (" . (no_ref eq "" ? ref . " not in this run" : "no " . ref . " result for " . no_ref) . ": no ratios)"
    ylab = "ns/op, median over rounds (log scale)"
}
notes = "bars: median over the rounds; whiskers: min-max over the rounds (none with one round)"
load plotsdir . "/bars.gp"
