#!/bin/bash
# run.sh BUILD_DIR - run every test program of the suite and end with one summary
# line "N passed, N failed" (N counts cmocka test cases, plus one per other check).
# Exits non-zero if anything failed.
set -u
B=${1:-build}
: "${ALLOCATORS:=glibc jemalloc tcmalloc mimalloc}"
: "${FUZZ_SECONDS:=60}"
passed=0
failed=0
failures=""

# run NAME COMMAND...: run a cmocka program and add its counts.
run() {
    local name=$1
    shift
    local out rc p f
    echo "=== $name"
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^\[ *(PASSED|FAILED|  OK|ERROR|RUN) ' | grep -v '^\[ RUN' | grep -v '^\[       OK' || true
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or failed outside cmocka's accounting
    fi
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out" | tail -n 40
        failures="$failures $name"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

# check NAME COMMAND...: one pass/fail for a command's exit status.
check() {
    local name=$1
    shift
    local out
    echo "=== $name"
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        printf '%s\n' "$out" | tail -n 3
    else
        printf '%s\n' "$out" | tail -n 40
        failed=$((failed + 1))
        failures="$failures $name"
    fi
}

export ALLOCMARK_BIN="$B/bin"
export ALLOCATORS
run test_trace "$B/tests/test_trace"
run test_hist "$B/tests/test_hist"
run test_replay "$B/tests/test_replay"
run test_replay_mt "$B/tests/test_replay_mt"
for t in "$B"/tests/test_gen*; do
    [ -x "$t" ] && run "$(basename "$t")" "$t"
done
for a in $ALLOCATORS; do
    run "test_adapter-$a" "$B/tests/test_adapter-$a"
done
run test_drivers "$B/tests/test_drivers"

# The same harness code under AddressSanitizer + UndefinedBehaviorSanitizer.
run asan/test_trace "$B/asan/tests/test_trace"
run asan/test_hist "$B/asan/tests/test_hist"
run asan/test_replay "$B/asan/tests/test_replay"
run asan/test_replay_mt "$B/asan/tests/test_replay_mt"
# The multi-thread replay under ThreadSanitizer (harness built with -fsanitize=thread).
run tsan/test_replay_mt "$B/tsan/tests/test_replay_mt"
for t in "$B"/asan/tests/test_gen*; do
    case $t in *.o | *.d) continue ;; esac
    [ -x "$t" ] && run "asan/$(basename "$t")" "$t"
done
run asan/test_adapter-glibc "$B/asan/tests/test_adapter-glibc"
ALLOCMARK_BIN="$B/asan/bin" ALLOCATORS=glibc run asan/test_drivers "$B/tests/test_drivers"

# The slab allocator's own tests (allocators/slab/tests/); its threaded stress
# also under ThreadSanitizer and under ASan+UBSan.
for t in test_slab_classes test_slab_shadow test_slab_memory test_slab_death test_slab_threads; do
    run "slab/$t" "$B/tests/slab/$t"
done
run tsan/slab/test_slab_threads "$B/tsan/tests/slab/test_slab_threads"
run asan/slab/test_slab_threads "$B/asan/tests/slab/test_slab_threads"

# The slab allocator's debug build (-DSLAB_DEBUG=1, in $B/debug/): its death tests
# (double free, foreign pointers, writes past the end), and correct programs that
# must run clean on it (the shadow model, the threaded stress, the normal death tests).
for t in test_slab_debug test_slab_shadow test_slab_threads test_slab_death; do
    run "debug/slab/$t" "$B/debug/tests/slab/$t"
done

# The malloc shim (build/lib/libslabmalloc.so) under LD_PRELOAD: its API, threads,
# fork, start-up, and real programs (python3, sqlite3, gcc) on it.
for t in exports api threads exits fork early python-json sqlite3 gcc; do
    check "shim/$t" allocators/slab/shim/test_shim.sh "$B" "$t"
done

# The LD_PRELOAD recorder (build/lib/libamrecord.so, `allocmark-trace record`): known
# call sequences recorded exactly, threads, fork, exit paths, signals, python3.
for t in exports calls realloc aligned _exit idle threads fork exit-thread signal storm cli python3 sqlite3 heaptrack; do
    check "record/$t" tests/record/test_record.sh "$B" "$t"
done

# The traces shipped in workloads/ (the recorded ones are re-recorded by
# workloads/record/*.sh, never here) must stay valid.
check workloads/validate "$B/bin/allocmark-trace" validate workloads/*.trace workloads/*.trace.zst
# The front door, as a smoke run: generate, replay, summarise (results/ is git-ignored).
check run_all/quick ./run_all.sh --quick --seed 1 -a dry,glibc,slab -w churn,kvserver,handwritten
check run_all/files bash -c 'd=results/latest; [ "$(wc -l < $d/summary.csv)" -eq 10 ] &&
    grep -q "^kvserver.wl,slab,1," $d/summary.csv && grep -q "\"allocators\":{\"dry\":" $d/machine.json &&
    [ -s $d/summary.txt ] && grep -q -- "-w churn,kvserver,handwritten" $d/machine.json'
# The rest of the front door, one script each: tests/run_all/NAME.sh BUILD_DIR.
for s in tests/run_all/*.sh; do
    [ -f "$s" ] && check "run_all/$(basename "$s" .sh)" bash "$s" "$B"
done

# The trace reader under libFuzzer, from the seed corpus.
mkdir -p "$B/fuzz/corpus"
check "fuzz_trace (${FUZZ_SECONDS}s)" "$B/fuzz/fuzz_trace" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    "$B/fuzz/corpus" tests/corpus

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
