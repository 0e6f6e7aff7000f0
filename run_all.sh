#!/bin/bash
# run_all.sh - replay every workload in workloads/ against every built allocator, in
# interleaved rounds (a fresh random order each round, seeded and recorded), each run
# its own process with a time limit, and print per workload each allocator's median
# time and peak RSS relative to glibc, the winner marked, noisy and failed cells flagged.
#
# A "dry" row replays each trace without calling any allocator: the harness's own
# cost, which is inside every other row's ns/op.
#
# Workloads: every workloads/*.wl spec (generated once into build/workloads/ by
# `allocmark-trace gen`, cached by content hash) and every workloads/*.trace[.zst].
#
# usage: ./run_all.sh [OPTIONS] [-- DRIVER-OPTIONS...]
#        ./run_all.sh compare OLD NEW   per-cell changes between two results folders
# The matrix:
#   -a LIST        only these rows (comma-separated): `dry` (the harness alone) or any
#                  NAME with an executable allocmark-NAME in the drivers folder (--bin);
#                  default: dry and every built allocator (those not built: a note)
#   -w LIST        only these workloads (comma-separated names from workloads/, e.g.
#                  kvserver,redis: NAME.wl, NAME.trace or NAME.trace.zst)
#   --trace FILE   replay FILE (a trace or a .wl spec) instead of the default set
#                  (repeatable; relative to the checkout or to the current folder)
#   --rounds N     N interleaved rounds (default 5); -r N is the same
#   --seed N       the seed of the run order (default: the time); the same seed, the same order
#   --scale X      multiply the work of every .wl spec by X (0.01 is a smoke run)
#   --quick        a smoke run: --scale 0.01 --rounds 1
#   --latency      time every allocator call (per-op latency percentiles; also latency
#                  histograms when the driver has --histogram); slows every run down
#   --time-limit S stop each run after S seconds (default 600): that cell's failure;
#                  the matrix goes on
#   --variant NAME=ALLOCATOR:OPTS  add a row NAME that runs allocmark-ALLOCATOR
#                  --alloc-opt OPTS (repeatable), e.g. --variant slab-prealloc256M=slab:prealloc=256M
#   --profile NAME run every allocator with the named tuning profile (the profiles are
#                  in harness/run_all/profiles.sh, or the file $ALLOCMARK_PROFILES): its
#                  environment and --alloc-opt; rows are named ALLOC+NAME (dry stays dry)
#   --bin DIR      the drivers folder (default: $ALLOCMARK_BIN, else build/bin)
#   -- OPTS        pass OPTS to every driver (build/bin/allocmark-glibc --help)
# The results folder (results/README.md lists its files):
#   -o DIR         write into DIR (new or empty) instead of results/<run-id>/;
#                  results/latest points at it only when DIR is under results/
#   --resume DIR   finish an interrupted run (Ctrl-C, a crash, a reboot): the matrix
#                  recorded in DIR with the same options, seed and order, skipping every
#                  finished cell; no other options but --no-plots
#   --summarize DIR  merge DIR's finished cells again (raw/, runs.jsonl, errors.log),
#                  write summary.txt, summary.csv, machine.json and the charts, print the
#                  table (a folder from before plan.txt: the table only)
#   --no-plots     skip the charts and report.html (otherwise `make plots RESULTS=DIR`
#                  runs at the end when plots/ has them)
# Many machines (README.md, "Running the matrix on several machines"):
#   --jobs FILE    set up the results folder and write the matrix to FILE as a job list
#                  (one shell command per line, one cell each, in run order) for GNU
#                  parallel or a Slurm job array; runs nothing. Then --summarize DIR.
#   --cell DIR ROUND ROW WORKLOAD  run one cell of DIR's matrix (a job list's line)
#   -h, --help     this text
# Exit status: 0 when every run succeeded; 1 on a usage error, a failed run, runs left
# to do or failed charts (the summary files are written all the same); 130 interrupted.

# shellcheck disable=SC2317 # functions run through atomic and trap only look unreachable
set -euo pipefail
orig_pwd=$PWD
cd "$(dirname "$0")"
repo=$(pwd -P)

die() { echo "run_all.sh: $*" >&2; exit 1; }
# abs PATH: PATH as the user meant it (relative to where run_all.sh was started)
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$orig_pwd/$1" ;; esac; }

if [ "${1:-}" = compare ]; then
    shift
    [ -f harness/run_all/compare.sh ] || die "compare: harness/run_all/compare.sh is missing"
    paths=()
    for p in "$@"; do [[ $p != /* && $p != -* && -e $orig_pwd/$p ]] && p=$orig_pwd/$p; paths+=("$p"); done
    # shellcheck source=/dev/null
    . harness/run_all/compare.sh
    compare_runs "${paths[@]}"
    exit $?
fi

# shellcheck source=harness/run_all/results.sh
. harness/run_all/results.sh
# shellcheck source=harness/run_all/progress.sh
. harness/run_all/progress.sh
# shellcheck source=harness/run_all/jobs.sh
. harness/run_all/jobs.sh

# ---- options ----
orig_args=("$@")
mode=run          # run, resume, summarize, jobs, cell
mode_arg=
cell=()
out_opt=
no_plots=0
matrix_given=0    # a matrix option was given (the folder's own are used by --resume/--cell/--summarize)
reset_matrix() {
    rounds=5 seed='' scale=1 latency=0 time_limit=600 profile='' bin_opt='' only_allocs='' only_workloads=''
    extra=() only=() variants=()
}
reset_matrix
set_mode() { [ "$mode" = run ] || die "$1 cannot be combined with --$mode"; mode=$2; }
need() { [ "$1" -ge 2 ] || die "$2 needs a value (try --help)"; }
parse_opts() {
    while [ $# -gt 0 ]; do
        case "$1" in
            -a|-w|--trace|--rounds|-r|--seed|--scale|--time-limit|--variant|--profile|--bin|-o|--resume|--summarize|--jobs)
                need $# "$1" ;;
        esac
        case "$1" in
            --latency|--trace|--rounds|-r|--seed|--scale|--quick|-a|-w|--time-limit|--variant|--profile|--bin|--) matrix_given=1 ;;
        esac
        case "$1" in
            -a) only_allocs=$2; shift 2 ;;
            -w) only_workloads=$2; shift 2 ;;
            --trace) only+=("$2"); shift 2 ;;
            --rounds|-r) rounds=$2; shift 2 ;;
            --seed) seed=$2; shift 2 ;;
            --scale) scale=$2; shift 2 ;;
            --quick) scale=0.01; rounds=1; shift ;;
            --latency) latency=1; shift ;;
            --time-limit) time_limit=$2; shift 2 ;;
            --variant)
                case "$2" in *=*:*) variants+=("$2") ;;
                    *) die "--variant wants NAME=ALLOCATOR:OPTS, got '$2'" ;;
                esac
                shift 2 ;;
            --profile) profile=$2; shift 2 ;;
            --bin) bin_opt=$2; shift 2 ;;
            -o) out_opt=$2; shift 2 ;;
            --resume) set_mode --resume resume; mode_arg=$2; shift 2 ;;
            --summarize) set_mode --summarize summarize; mode_arg=$2; shift 2 ;;
            --jobs) set_mode --jobs jobs; mode_arg=$2; shift 2 ;;
            --cell)
                [ $# -ge 5 ] || die "--cell needs DIR ROUND ROW WORKLOAD"
                set_mode --cell cell; cell=("$2" "$3" "$4" "$5"); shift 5 ;;
            --no-plots) no_plots=1; shift ;;
            --) shift; extra+=("$@"); break ;;
            -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
            *) die "unknown option '$1' (try --help)" ;;
        esac
    done
}
check_matrix_opts() {
    case "$rounds" in ''|*[!0-9]*|0) die "--rounds needs a positive integer, got '$rounds'" ;; esac
    case "$seed" in ''|*[!0-9]*) die "--seed needs a non-negative integer, got '$seed'" ;; esac
    case "$time_limit" in ''|*[!0-9]*|0) die "--time-limit needs a positive whole number of seconds, got '$time_limit'" ;; esac
    case "$scale" in ''|*[!0-9.]*|*.*.*|.) die "--scale needs a positive number, got '$scale'" ;; esac
    awk -v s="$scale" 'BEGIN { exit !(s + 0 > 0) }' || die "--scale needs a positive number, got '$scale'"
    local a
    for a in "${only[@]}" "${extra[@]}" "${variants[@]}" "$only_allocs" "$only_workloads" "$profile" "$bin_opt"; do
        [[ $a != *$'\n'* ]] || die "an option value with a line break: '$a'"
    done
}
# effective_args: the run's matrix options, one per line (DIR/args): --resume and
# --cell re-read them, so the same matrix runs with the same seed and order.
effective_args() {
    local t v
    printf '%s\n' --bin "$bin" --rounds "$rounds" --seed "$seed" --scale "$scale" --time-limit "$time_limit" -a "$only_allocs"
    [ "$latency" -eq 0 ] || echo --latency
    [ -z "$profile" ] || printf '%s\n' --profile "$profile"
    for v in "${variants[@]}"; do printf '%s\n' --variant "$v"; done
    for t in "${traces[@]}"; do printf '%s\n' --trace "$t"; done
    [ ${#extra[@]} -eq 0 ] || printf '%s\n' -- "${extra[@]}"
}
# load_args DIR: the matrix options recorded in DIR/args
load_args() {
    { [ -f "$1/args" ] && [ -f "$1/plan.txt" ]; } || die "--$mode: $1 is not a results folder of this run_all.sh (no args or plan.txt)"
    local recorded=() m=$mode
    mapfile -t recorded < "$1/args"
    reset_matrix
    parse_opts "${recorded[@]}"
    [ "$mode" = "$m" ] || die "$1/args: not a matrix option list"
    check_matrix_opts
}

# ---- the rows (allocators) ----
declare -A row_base=() row_opt=() row_env=()
rows=()
valid_name() { [[ $1 =~ ^[A-Za-z0-9._-]+$ ]] || die "$2: '$1' is not a valid row name (letters, digits, . _ -)"; }
drivers_there() {
    local f
    for f in "$bin"/allocmark-*; do
        if [ -x "$f" ] && [ "${f##*/}" != allocmark-trace ]; then printf '%s ' "${f##*/allocmark-}"; fi
    done
}
add_row() {
    case " ${rows[*]} " in *" $1 "*) die "the row '$1' is asked for twice" ;; esac
    rows+=("$1")
    row_base[$1]=$2
    row_opt[$1]=$3
    row_env[$1]=
}
# load_profiles: the profile helper, and $profile checked against its names
load_profiles() {
    local f=${ALLOCMARK_PROFILES:-harness/run_all/profiles.sh}
    [ -f "$f" ] || f=$(abs "$f")
    [ -f "$f" ] || die "--profile: no profiles defined, so no '$profile' ($f does not exist)"
    # shellcheck source=/dev/null
    . "$f"
    profile_names | grep -qxF -- "$profile" || die "--profile: unknown profile '$profile' (known: $(profile_names | tr '\n' ' '))"
}
resolve_rows() {
    if [ -n "$bin_opt" ]; then bin=$(abs "$bin_opt")
    elif [ -n "${ALLOCMARK_BIN:-}" ]; then bin=$(abs "$ALLOCMARK_BIN")
    else bin=$repo/build/bin; fi
    local a v spec base opts r e popt
    local -a bases=() with_profile=() asked=()
    if [ -n "$only_allocs" ]; then
        IFS=, read -ra asked <<< "$only_allocs"
        for a in "${asked[@]}"; do
            valid_name "$a" -a
            [ "$a" = dry ] && base=glibc || base=$a
            { [ "$a" != trace ] && [ -x "$bin/allocmark-$base" ]; } ||
                die "-a: no allocator '$a': $bin/allocmark-$base is not an executable driver (there: $(drivers_there))"
            add_row "$a" "$base" ""
        done
    else
        [ -x "$bin/allocmark-glibc" ] && add_row dry glibc ""
        for a in $(make -s print-allocators); do
            if [ -x "$bin/allocmark-$a" ]; then add_row "$a" "$a" ""
            else echo "run_all.sh: note: $a is not built ($bin/allocmark-$a), skipped" >&2; fi
        done
        [ ${#rows[@]} -gt 0 ] || die "no allocator driver in $bin (run make)"
        only_allocs=$(IFS=,; echo "${rows[*]}")
    fi
    for v in "${variants[@]}"; do
        spec=${v#*=}
        base=${spec%%:*}
        opts=${spec#*:}
        valid_name "${v%%=*}" --variant
        [ -x "$bin/allocmark-$base" ] || die "--variant $v: no allocator '$base' ($bin/allocmark-$base)"
        add_row "${v%%=*}" "$base" "$opts"
    done
    if [ -n "$profile" ]; then
        valid_name "$profile" --profile
        load_profiles
        bases=("${rows[@]}")
        for r in "${bases[@]}"; do
            if [ "$r" = dry ]; then with_profile+=(dry); continue; fi
            base=${row_base[$r]}
            e=$(profile_env "$profile" "$base")
            while IFS= read -r v; do
                [ -z "$v" ] || [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] ||
                    die "--profile $profile: profile_env printed '$v' for $base, not KEY=VALUE"
            done <<< "$e"
            popt=$(profile_alloc_opt "$profile" "$base")
            row_base[$r+$profile]=$base
            row_opt[$r+$profile]=${row_opt[$r]}${row_opt[$r]:+${popt:+,}}$popt
            row_env[$r+$profile]=$e
            with_profile+=("$r+$profile")
        done
        rows=("${with_profile[@]}")
    fi
    allocators="${rows[*]}"
}
# recorded_rows: the rows of the loaded options in their order, without looking for
# their drivers (--summarize may run where nothing is built)
recorded_rows() {
    local a v
    local -a listed=()
    IFS=, read -ra listed <<< "$only_allocs"
    for v in "${variants[@]}"; do listed+=("${v%%=*}"); done
    for a in "${listed[@]}"; do
        if [ -n "$profile" ] && [ "$a" != dry ]; then printf '%s ' "$a+$profile"; else printf '%s ' "$a"; fi
    done
}
# row_command ROW: how the row's driver is run, for machine.txt
row_command() {
    local r=$1
    printf 'row %s: %sallocmark-%s%s%s\n' "$r" "$(printf '%s\n' "${row_env[$r]}" | awk 'NF {printf "%s ", $0}')" "${row_base[$r]}" \
        "$([ "$r" = dry ] && echo ' --dry')" "${row_opt[$r]:+ --alloc-opt ${row_opt[$r]}}"
}

# ---- the workloads ----
traces=()
declare -A replay_file=()
resolve_traces() {
    local t w n
    local -A names=()
    shopt -s nullglob
    if [ ${#only[@]} -gt 0 ]; then
        for t in "${only[@]}"; do
            # relative to the checkout (workloads/x.wl) or to where run_all.sh was started
            [ -f "$t" ] || [ ! -f "$(abs "$t")" ] || t=$(abs "$t")
            [ -f "$t" ] || die "--trace: no file '$t'"
            traces+=("$t")
        done
    elif [ -n "$only_workloads" ]; then
        local -a asked=()
        IFS=, read -ra asked <<< "$only_workloads"
        for w in "${asked[@]}"; do
            [[ $w =~ ^[A-Za-z0-9._-]+$ ]] || die "-w: '$w' is not a workload name"
            n=${#traces[@]}
            for t in workloads/"$w".wl workloads/"$w".trace workloads/"$w".trace.zst; do
                [ -f "$t" ] && traces+=("$t")
            done
            [ ${#traces[@]} -gt "$n" ] || die "-w: no workload '$w' in workloads/"
        done
    else
        traces=(workloads/*.wl workloads/*.trace workloads/*.trace.zst)
    fi
    shopt -u nullglob
    for t in "${traces[@]}"; do
        [[ $t =~ ^[^[:space:]]+$ ]] || die "--trace: '$t': a path with spaces"
        [ -z "${names[${t##*/}]:-}" ] || die "two workloads named ${t##*/} ($t and ${names[${t##*/}]})"
        names[${t##*/}]=$t
    done
}
# gen_traces TRACE...: a spec is replayed as the trace it generates (cached); results
# keep the spec's name.
gen_traces() {
    local t
    for t in "$@"; do
        case "$t" in
            *.wl)
                [ "$mode" = cell ] || echo "generating $t (scale $scale)..." >&2
                replay_file[$t]=$(build/bin/allocmark-trace gen "$t" --scale "$scale" --cache-dir build/workloads) ||
                    die "cannot generate $t" ;;
            *) replay_file[$t]=$t ;;
        esac
    done
}
trace_hash() { sha256sum < "${replay_file[$1]}" | cut -c1-16; }
# check_traces DIR TRACE...: the traces are still those the run started with
check_traces() {
    local dir=$1 t want have
    shift
    for t in "$@"; do
        want=$(awk -v k="trace $t:" 'index($0, k) == 1 {print $NF}' "$dir/machine.txt")
        have=$(trace_hash "$t")
        [ -z "$want" ] || [ "$want" = "$have" ] ||
            die "$t is not the trace this run started with (sha256 $have, recorded $want in $dir/machine.txt): the workload or its generator changed; start a new run"
    done
}

# ---- the results folder ----
write_plan() {
    local r p t a
    local -a pairs=() order
    RANDOM=$seed
    for t in "${traces[@]}"; do for a in "${rows[@]}"; do pairs+=("$a|$t"); done; done
    local seq=0
    for ((r = 1; r <= rounds; r++)); do
        order=()
        for p in "${pairs[@]}"; do order+=("$RANDOM|$p"); done
        mapfile -t order < <(printf '%s\n' "${order[@]}" | sort -t'|' -k1,1n | cut -d'|' -f2-)
        for p in "${order[@]}"; do
            seq=$((seq + 1))
            echo "$seq $r ${p%%|*} ${p#*|}"
        done
    done
}
machine_txt() {
    local t r
    echo "command: $0 ${orig_args[*]:-} (effective: $(tr '\n' ' ' < "$out/args"))"
    echo "date: $(date -u +%FT%TZ)"
    echo "seed: $seed"
    echo "git: $(git_commit)"
    echo "kernel: $(uname -srm)"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "cpus: $(nproc)"
    grep MemTotal /proc/meminfo || true
    echo "libc: $(libc_version)"
    echo "compiler: $(cc_version)"
    echo "scale: $scale"
    echo "profile: ${profile:-none}"
    echo "drivers: $bin"
    for r in "${rows[@]}"; do row_command "$r"; done
    for t in "${traces[@]}"; do echo "trace $t: ${replay_file[$t]} $(trace_hash "$t")"; done
}
setup_folder() {
    if [ -n "$out_opt" ]; then
        out=$(abs "$out_opt")
        [ ! -e "$out/args" ] || die "-o $out_opt: it holds a run already (finish it with --resume $out_opt)"
        [ ! -e "$out" ] || [ -d "$out" ] || die "-o $out_opt: not a folder"
        [ ! -d "$out" ] || [ -z "$(ls -A "$out")" ] || die "-o $out_opt: the folder is not empty"
        # Claimed with a plain mkdir of cells/ (atomic): of two runs given the same -o DIR
        # that both found it empty, one gets it, the other stops here.
        mkdir -p "$out" || die "-o $out_opt: cannot create the folder"
        mkdir "$out/cells" 2>/dev/null || die "-o $out_opt: another run_all.sh claimed the folder first (or it cannot be written)"
    else
        # Claimed with a plain mkdir (atomic): two runs with the same seed started in
        # the same second (two `make test`s) get NAME and NAME.2, never one folder.
        local base n=1
        base=results/$(date -u +%Y%m%d-%H%M%S)-$seed
        mkdir -p results
        out=$base
        until mkdir "$out" 2>/dev/null; do
            n=$((n + 1))
            [ "$n" -le 50 ] || die "cannot create a results folder $base (or $base.2 .. $base.50)"
            out=$base.$n
        done
    fi
    mkdir -p "$out/raw" "$out/cells" "$out/timelines"
    [ "$latency" -eq 0 ] || mkdir -p "$out/histograms"
    atomic "$out/args" effective_args
    printf '%s\n' "$0 ${orig_args[*]:-}" > "$out/command"
    atomic "$out/plan.txt" write_plan
    atomic "$out/machine.txt" machine_txt
    : > "$out/order.txt"
    : > "$out/runs.jsonl"
    : > "$out/errors.log"
}
# lock_folder: one run_all.sh at a time writes a folder's merged files (a second --resume
# or a --summarize during a run would append the same cells twice, or lose some)
lock_folder() {
    exec 9> "$out/.lock"
    flock -n 9 || die "another run_all.sh is writing $out (it holds $out/.lock)"
}
update_latest() {
    local real res
    real=$(realpath -m "$out")
    res=$(realpath -m results)
    # a new link renamed over the old one: results/latest never missing, not even for
    # an instant (ln -sfn unlinks, then creates)
    case $real in
        "$res"/*) ln -sfn "${real#"$res"/}" "results/.latest.$$" && mv -Tf "results/.latest.$$" results/latest ;;
    esac
}

# ---- one cell ----
declare -A has_hist=()
# driver_has_histogram DRIVER: the driver writes --histogram FILE (checked once per driver)
driver_has_histogram() {
    if [ -z "${has_hist[$1]:-}" ]; then
        local help
        # (a time limit: a third-party driver that hangs on --help must not stop the matrix)
        help=$(timeout 5 "$1" --help 2>&1 || true)
        [[ $help == *--histogram* ]] && has_hist[$1]=1 || has_hist[$1]=0
    fi
    [ "${has_hist[$1]}" -eq 1 ]
}
child=
cell_us=0
cell_note=
# run_cell SEQ ROUND ROW TRACE: one run in its own process, under the time limit; its
# record in cells/SEQ.json, what it printed in cells/SEQ.stderr and, last, its status.
run_cell() {
    local seq=$1 r=$2 row=$3 t=$4 name=${4##*/} c rc=0 t0 st=ok sig=- reason='' why n
    local -a d envs=()
    c=$out/cells/$seq
    # the timeline and histogram of an earlier attempt (a --resume after a crash) must
    # not pass for this run's: the driver writes none when its replay dies
    rm -f "$c.json" "$c.stderr" "$c.status" "$out/timelines/$name.$row.r$r.csv" "$out/histograms/$name.$row.r$r.csv"
    d=("$bin/allocmark-${row_base[$row]}")
    [ "$row" != dry ] || d+=(--dry)
    [ -z "${row_opt[$row]}" ] || d+=(--alloc-opt "${row_opt[$row]}")
    [ "$latency" -eq 0 ] || d+=(--latency)
    d+=("${extra[@]}" --json "$c.json" --timeline "$out/timelines/$name.$row.r$r.csv")
    if [ "$latency" -eq 1 ] && driver_has_histogram "${d[0]}"; then
        d+=(--histogram "$out/histograms/$name.$row.r$r.csv")
    fi
    d+=("${replay_file[$t]}")
    [ -z "${row_env[$row]}" ] || mapfile -t envs <<< "${row_env[$row]}"
    t0=${EPOCHREALTIME/./}
    # in the background, so that an interrupt reaches the trap at once (timeout puts the
    # run in a process group of its own, out of reach of the terminal's Ctrl-C)
    env "${envs[@]}" timeout --kill-after=10 "$time_limit" "${d[@]}" > "$c.stderr" 2>&1 < /dev/null &
    child=$!
    # (wait's stderr silenced: bash's own "Segmentation fault" notice; the run's is in $c.stderr)
    wait "$child" 2>/dev/null || rc=$?
    child=
    cell_us=$((${EPOCHREALTIME/./} - t0))
    if [ "$rc" -ne 0 ] || ! grep -q '"ns_per_op"' "$c.json" 2>/dev/null; then
        st=failed
        if [ "$rc" -eq 0 ]; then
            reason="exit status 0 but no record in its --json file"
        elif [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$cell_us" -ge $((time_limit * 1000000)) ]; }; then
            [ "$rc" -eq 124 ] && sig=SIGTERM || sig=SIGKILL
            reason="time limit of ${time_limit}s (exit status $rc)"
        elif [ "$rc" -gt 128 ]; then
            sig=SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
            reason="killed by $sig (exit status $rc)"
            [ "$sig" != SIGKILL ] || reason="$reason: out of memory?"
        else
            # the driver survived its replay child's death and reports it
            # (|| true: a driver that died before writing its --json file has none)
            why=$(sed -n 's/.*"error":"\([^"]*\)".*/\1/p' "$c.json" 2>/dev/null | head -n 1 || true)
            [ -n "$why" ] || why=$(grep -v '^[[:space:]]*$' "$c.stderr" | tail -n 1 || true)
            n=$(printf '%s\n' "$why" | sed -n 's/.*killed by signal \([0-9]*\).*/\1/p')
            [ -z "$n" ] || sig=SIG$(kill -l "$n" 2>/dev/null || echo "$n")
            reason="exit status $rc${why:+: $why}"
        fi
    fi
    atomic "$c.status" echo "$st $rc $sig $(awk -v us="$cell_us" 'BEGIN {printf "%.3f", us / 1e6}') $reason"
    if [ "$st" = ok ]; then cell_note=ok; else cell_note="FAILED: $reason"; fi
}
on_interrupt() {
    trap - INT TERM HUP
    if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
    [ "$prog_tty" -eq 0 ] || printf '\n' >&2
    echo "run_all.sh: interrupted; the run in progress is not recorded. Finish with: ./run_all.sh --resume $out" >&2
    exit 130
}
# run_matrix: every unfinished cell of plan.txt, in order
run_matrix() {
    local seq r row t
    progress_init "$out/plan.txt" "$out"
    echo "run_all.sh: $prog_total runs ($rounds rounds of ${#rows[@]} rows x ${#traces[@]} workloads), $((prog_total - prog_done)) to run; results in $out" >&2
    trap on_interrupt INT TERM HUP
    while read -r seq r row t <&3; do
        [ ! -f "$out/cells/$seq.status" ] || continue
        progress_start "$r" "$row" "${t##*/}"
        run_cell "$seq" "$r" "$row" "$t"
        publish_cell "$out" "$seq" "$r" "$row" "$t" "$out"
        progress_done "$r" "$row" "${t##*/}" "$cell_us" "$cell_note"
    done 3< "$out/plan.txt"
    trap - INT TERM HUP
}

# ---- the end ----
count_failed() {
    local f n=0 st
    for f in "$out"/cells/*.status; do
        [ -f "$f" ] || continue
        read -r st _ < "$f"
        [ "$st" = ok ] || n=$((n + 1))
    done
    echo "$n"
}
# charts: plots/ turns the folder into PNG/SVG charts and report.html (if it has them)
charts() {
    [ "$no_plots" -eq 0 ] && [ -f plots/plots.sh ] && [ -f plots/report.py ] || return 0
    echo "run_all.sh: charts and report: make plots RESULTS=$out" >&2
    make -s plots RESULTS="$out" >&2 && return 0
    local msg
    msg="run_all.sh: the charts failed (make plots RESULTS=$out, $(date -u +%FT%TZ)); the summary files are written"
    echo "$msg" >&2
    echo "$msg" >> "$out/run-errors.log"
    echo "$msg" >> "$out/errors.log"
    return 1
}
# finish: the summaries, results/latest, the charts; the exit status
finish() {
    local status=0 failed left
    atomic "$out/summary.txt" summarize "$out"
    cat "$out/summary.txt"
    atomic "$out/summary.csv" summary_csv "$out"
    atomic "$out/machine.json" machine_json "$out"
    [ "$mode" = summarize ] || update_latest
    echo "results: $out" >&2
    charts || status=1
    failed=$(count_failed)
    left=$(cells_unfinished "$out")
    [ "$failed" -eq 0 ] || { echo "run_all.sh: $failed runs failed (see $out/errors.log)" >&2; status=1; }
    [ "$left" -eq 0 ] || { echo "run_all.sh: $left runs of the matrix have not run (--resume $out, or the rest of its job list)" >&2; status=1; }
    return "$status"
}

# The whole run in one function, read before it starts: bash reads a script as it goes,
# so an edit of this file (a git pull) during an hour-long run would otherwise change
# what runs after the matrix.
main() {
    parse_opts "$@"
    case $mode in
        resume|summarize|cell)
            [ "$matrix_given" -eq 0 ] || die "--$mode runs the matrix recorded in its folder: no matrix options with it"
            [ -z "$out_opt" ] || die "-o cannot be combined with --$mode" ;;
    esac
    case $mode in
        run|jobs)
            [ -n "$seed" ] || seed=$(date +%s)
            check_matrix_opts
            [ "$mode" != jobs ] || [ -d "$(dirname "$(abs "$mode_arg")")" ] || die "--jobs $mode_arg: no folder $(dirname "$(abs "$mode_arg")")"
            make -s -j2 all >&2
            resolve_rows
            resolve_traces
            gen_traces "${traces[@]}"
            setup_folder
            lock_folder
            if [ "$mode" = jobs ]; then
                write_jobs "$(abs "$mode_arg")" "$repo" "$(realpath "$out")"
                update_latest
                exit 0
            fi
            run_matrix
            finish ;;
        resume)
            out=$(abs "$mode_arg")
            load_args "$out"
            lock_folder
            make -s -j2 all >&2
            resolve_rows
            resolve_traces
            gen_traces "${traces[@]}"
            check_traces "$out" "${traces[@]}"
            rebuild_results "$out"
            run_matrix
            finish ;;
        summarize)
            out=$(abs "$mode_arg")
            [ -d "$out" ] || die "--summarize: no folder '$mode_arg'"
            if [ ! -f "$out/plan.txt" ]; then
                # a folder from before plan.txt: the table only
                summarize "$out"
                exit 0
            fi
            load_args "$out"
            lock_folder
            allocators=$(recorded_rows)
            rebuild_results "$out"
            finish ;;
        cell)
            out=$(abs "${cell[0]}")
            load_args "$out"
            line=$(awk -v r="${cell[1]}" -v a="${cell[2]}" -v w="${cell[3]}" \
                '$2 == r && $3 == a { n = split($4, p, "/"); if (p[n] == w) print }' "$out/plan.txt")
            [ -n "$line" ] || die "--cell: no cell round ${cell[1]}, row ${cell[2]}, workload ${cell[3]} in $out/plan.txt"
            read -r seq r row t <<< "$line"
            if [ -f "$out/cells/$seq.status" ]; then
                echo "run_all.sh: round $r, $row, ${t##*/}: finished already" >&2
                exit 0
            fi
            resolve_rows
            gen_traces "$t"
            check_traces "$out" "$t"
            prog_total=$(wc -l < "$out/plan.txt")
            prog_done=$((seq - 1))
            run_cell "$seq" "$r" "$row" "$t"
            progress_done "$r" "$row" "${t##*/}" "$cell_us" "$cell_note"
            [ "$cell_note" = ok ] ;;
    esac
}
main "$@"; exit
