# shellcheck shell=bash
# progress.sh - run_all.sh's progress lines on stderr: one line per finished run with
# its time, status and an ETA (the mean duration of the finished runs of each workload,
# or of all runs for a workload not yet seen, times the runs left).
# On a terminal the running cell is shown first and overwritten (carriage return) by its
# result line; otherwise (CI logs) only the result lines, plain.

declare -A prog_sum_us=() prog_n=() prog_left=()
prog_total=0
prog_done=0
prog_all_us=0
prog_all_n=0
prog_tty=0

# progress_init PLAN DIR: count the cells of PLAN and those already finished in DIR
# (whose durations, "S.mmm" in their status, start the means of a resumed run)
progress_init() {
    local seq t dur us
    [ -t 2 ] && prog_tty=1
    while read -r seq _ _ t; do
        prog_total=$((prog_total + 1))
        if [ -f "$2/cells/$seq.status" ]; then
            prog_done=$((prog_done + 1))
            read -r _ _ _ dur _ < "$2/cells/$seq.status"
            if [[ $dur =~ ^[0-9]+\.[0-9]{3}$ ]]; then
                us=$((10#${dur%.*} * 1000000 + 10#${dur#*.} * 1000))
                prog_sum_us[${t##*/}]=$((${prog_sum_us[${t##*/}]:-0} + us))
                prog_n[${t##*/}]=$((${prog_n[${t##*/}]:-0} + 1))
                prog_all_us=$((prog_all_us + us))
                prog_all_n=$((prog_all_n + 1))
            fi
        else
            prog_left[${t##*/}]=$((${prog_left[${t##*/}]:-0} + 1))
        fi
    done < "$1"
}
# progress_counter: "[ 12/60]"
progress_counter() { printf '[%*d/%d]' "${#prog_total}" "$1" "$prog_total"; }
# progress_start ROUND ROW NAME: on a terminal, the run about to start
progress_start() {
    [ "$prog_tty" -eq 1 ] || return 0
    printf '\r\033[K%s round %s %s %s ...' "$(progress_counter $((prog_done + 1)))" "$1" "$2" "$3" >&2
}
# duration_text SECONDS: 12s, 1m40s, 2h05m
duration_text() {
    local s=$1
    if [ "$s" -ge 3600 ]; then printf '%dh%02dm' $((s / 3600)) $((s % 3600 / 60))
    elif [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60))
    else printf '%ds' "$s"; fi
}
# progress_eta: seconds left, from the runs finished so far ("" before the first)
progress_eta() {
    local w us=0 mean
    [ "$prog_all_n" -gt 0 ] || return 0
    for w in "${!prog_left[@]}"; do
        if [ "${prog_n[$w]:-0}" -gt 0 ]; then mean=$((prog_sum_us[$w] / prog_n[$w])); else mean=$((prog_all_us / prog_all_n)); fi
        us=$((us + prog_left[$w] * mean))
    done
    echo $(((us + 500000) / 1000000))
}
# progress_done ROUND ROW NAME MICROSECONDS STATUS: one line for a finished run (no ETA
# without progress_init: a single cell of a job list knows nothing of the others)
progress_done() {
    local name=$3 us=$4 eta
    prog_done=$((prog_done + 1))
    prog_sum_us[$name]=$((${prog_sum_us[$name]:-0} + us))
    prog_n[$name]=$((${prog_n[$name]:-0} + 1))
    prog_all_us=$((prog_all_us + us))
    prog_all_n=$((prog_all_n + 1))
    [ "${prog_left[$name]:-0}" -gt 0 ] && prog_left[$name]=$((prog_left[$name] - 1))
    eta=$(progress_eta)
    [ "$prog_tty" -eq 1 ] && printf '\r\033[K' >&2
    printf '%s round %s %s %s %d.%d s %s%s\n' "$(progress_counter "$prog_done")" "$1" "$2" "$name" \
        $((us / 1000000)) $((us / 100000 % 10)) "$5" "$([ "$prog_done" -lt "$prog_total" ] && [ ${#prog_left[@]} -gt 0 ] && [ -n "$eta" ] && echo "  ETA $(duration_text "$eta")")" >&2
}
