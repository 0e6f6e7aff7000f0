#!/bin/bash
# test_record.sh BUILD_DIR TEST - one test of the LD_PRELOAD recorder
# (BUILD_DIR/lib/libamrecord.so) and `allocmark-trace record`, run by tests/run.sh as
# `check record/TEST ...`. Exits 0 on success; on failure prints why.
#
#   exports      the library exports exactly the malloc API
#   calls        every interposed call once: the trace, line by line
#   realloc      realloc chains, realloc(NULL), realloc(p, 0), a failed realloc: line by line
#   aligned      posix_memalign, aligned_alloc, memalign, valloc, pvalloc: line by line
#   _exit        _exit(3) after 1000 mallocs and 500 frees: all recorded, status 3 passed on
#   idle         a 300 ms pause becomes an idle marker (--idle-gap 100), and none with 0
#   threads      4 threads started and ended at different times, cross-thread frees
#                (also from a thread that has ended): per-thread counts, starts, exits
#   fork         the child's calls go to their own trace (OUT.PID.trace), not the parent's
#   exit-thread  exit() from one thread while three others allocate: none of its records lost
#   signal       malloc and free in a signal handler: recorded, no deadlock
#   storm        a timer signal every 200 us whose handler allocates, over a malloc/free
#                loop (on libbump.so, an async-signal-safe malloc): every loop op
#                recorded, every handler call recorded or counted as unrecorded
#   cli          usage errors, a command that cannot run, a command killed by a signal,
#                SIGTERM to record itself (passed on; the trace is still written)
#   python3      /usr/bin/python3 (json), single and 4 threads: the traces validate
#   sqlite3      sqlite3 on an in-memory database: the trace validates
#   heaptrack    import-heaptrack: a hand-written heaptrack file, line by line; and a
#                real `heaptrack --raw` recording of rec_seq (if heaptrack is installed)
set -u
B=${1:?usage: test_record.sh BUILD_DIR TEST}
TEST=${2:?usage: test_record.sh BUILD_DIR TEST}
LIB="$B/lib/libamrecord.so"
AT="$B/bin/allocmark-trace"
P="$B/tests/record"
[ -f "$LIB" ] || { echo "no $LIB"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

# rec OUT [OPTIONS] -- CMD...: record; status in $rc, stderr (the summary) in $TMP/err.
rec() {
    local out=$1
    shift
    rc=0
    timeout 120 "$AT" record -o "$out" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
}

rec_ok() {
    rec "$@"
    [ "$rc" -eq 0 ] || { cat "$TMP/err"; fail "record exited with status $rc"; }
}

valid() {
    "$AT" validate "$@" >"$TMP/val" 2>&1 || { cat "$TMP/val"; fail "invalid trace: $*"; }
}

text() {
    "$AT" to-text "$1" || fail "to-text $1"
}

# exact NAME: the trace's text equals $TMP/want
exact() {
    text "$TMP/t.trace" >"$TMP/got"
    diff -u "$TMP/want" "$TMP/got" || fail "$1: the recorded trace differs from the expected one"
    echo "$1: $(($(wc -l <"$TMP/got") - 1)) records as expected"
}

# sizes FILE: one line per request size S listed in $SIZES: "S allocs frees cross athreads fthreads"
# (objects by id: an alloc record opens one, its free closes it).
sizes() {
    awk -v list="$SIZES" '
        BEGIN { n = split(list, L, " "); for (i = 1; i <= n; i++) want[L[i]] = 1 }
        /^t[0-9]+ (malloc|aligned|calloc)/ {
            s = ($2 == "malloc") ? $4 : ($2 == "calloc") ? $4 * $5 : $5
            live[$3] = want[s] ? s : ""; owner[$3] = $1
            if (want[s]) { allocs[s]++; if (index(" " at[s] " ", " " $1 " ") == 0) at[s] = at[s] " " $1 }
        }
        /^t[0-9]+ free/ {
            s = live[$3]
            if (s != "") {
                frees[s]++; if (owner[$3] != $1) cross[s]++
                if (index(" " ft[s] " ", " " $1 " ") == 0) ft[s] = ft[s] " " $1
            }
            delete live[$3]
        }
        END { for (i = 1; i <= n; i++) { s = L[i]; printf "%s %d %d %d%s |%s\n", s, allocs[s], frees[s], cross[s], at[s], ft[s] } }
    ' "$1"
}

case "$TEST" in
exports)
    got=$(nm -D --defined-only "$LIB" | awk '{print $3}' | sort | tr '\n' ' ')
    want="aligned_alloc calloc free malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc "
    [ "$got" = "$want" ] || fail "exports: got '$got', want '$want'"
    echo "exports: $got"
    ;;
calls)
    rec_ok "$TMP/t.trace" -- "$P/rec_seq" calls
    cat >"$TMP/want" <<'EOT'
# allocmark trace v1: 18 records, 18 ops, 8 objects, 1 threads
t0 malloc 0 100
t0 calloc 1 3 40
t0 realloc 0 200
t0 malloc 2 80
t0 realloc 2 160
t0 aligned 3 64 100
t0 aligned 4 256 512
t0 aligned 5 32 48
t0 aligned 6 4096 33
t0 aligned 7 4096 8192
t0 free 1
t0 free 0
t0 free 2
t0 free 3
t0 free 4
t0 free 5
t0 free 6
t0 free 7
EOT
    exact calls
    grep -q "skipped  1 failed allocations" "$TMP/err" || { cat "$TMP/err"; fail "the failed malloc was not counted"; }
    ;;
realloc)
    rec_ok "$TMP/t.trace" -- "$P/rec_seq" realloc
    cat >"$TMP/want" <<'EOT'
# allocmark trace v1: 14 records, 14 ops, 2 objects, 1 threads
t0 malloc 0 16
t0 malloc 1 64
t0 realloc 0 32
t0 realloc 0 128
t0 realloc 0 512
t0 realloc 0 2048
t0 realloc 0 8192
t0 realloc 0 32768
t0 realloc 0 10
t0 free 0
t0 malloc 0 300
t0 realloc 0 3000
t0 free 1
t0 free 0
EOT
    exact realloc
    grep -q "skipped  1 failed allocations" "$TMP/err" || { cat "$TMP/err"; fail "the failed realloc was not counted"; }
    ;;
aligned)
    rec_ok "$TMP/t.trace" -- "$P/rec_seq" aligned
    cat >"$TMP/want" <<'EOT'
# allocmark trace v1: 14 records, 14 ops, 6 objects, 1 threads
t0 aligned 0 16 1000
t0 aligned 1 128 1001
t0 aligned 2 1024 1002
t0 aligned 3 4096 8192
t0 aligned 4 1048576 100
t0 aligned 5 4096 1
t0 free 5
t0 free 4
t0 free 3
t0 free 2
t0 free 1
t0 free 0
t0 aligned 0 4096 4096
t0 free 0
EOT
    exact aligned
    ;;
_exit)
    rec "$TMP/t.trace" -- "$P/rec_seq" exit 3
    [ "$rc" -eq 3 ] || { cat "$TMP/err"; fail "status $rc, expected the program's 3"; }
    valid "$TMP/t.trace"
    text "$TMP/t.trace" >"$TMP/got"
    SIZES=5555 sizes "$TMP/got" >"$TMP/s"
    [ "$(cat "$TMP/s")" = "5555 1000 500 0 t0 | t0" ] || fail "after _exit: $(cat "$TMP/s"), expected 1000 mallocs and 500 frees"
    echo "_exit(3): 1000 mallocs and 500 frees recorded, status 3"
    ;;
idle)
    rec_ok "$TMP/t.trace" --idle-gap 100 -- "$P/rec_seq" idle
    valid "$TMP/t.trace"
    text "$TMP/t.trace" >"$TMP/got"
    ms=$(grep -A1 'malloc 0 7777' "$TMP/got" | sed -n 's/^idle \([0-9]*\)$/\1/p')
    [ -n "$ms" ] && [ "$ms" -ge 250 ] && [ "$ms" -le 3000 ] || { cat "$TMP/got"; fail "no idle marker of ~300 ms after malloc 7777"; }
    grep -A1 '^idle' "$TMP/got" | grep -q 'free 0' || fail "the idle marker is not followed by the free"
    rec_ok "$TMP/t0.trace" --idle-gap 0 -- "$P/rec_seq" idle
    ! text "$TMP/t0.trace" | grep -q '^idle' || fail "--idle-gap 0 still wrote idle markers"
    echo "a 300 ms pause became 'idle $ms'; none with --idle-gap 0"
    ;;
threads)
    rec_ok "$TMP/t.trace" -- "$P/rec_threads" threads
    valid "$TMP/t.trace"
    text "$TMP/t.trace" >"$TMP/got"
    SIZES="1001 1002 1003 1004" sizes "$TMP/got" >"$TMP/s"
    read -r s1 a1 f1 c1 at1 bar1 ft1 <<<"$(sed -n 1p "$TMP/s")"
    read -r s2 a2 f2 c2 at2 bar2 ft2 <<<"$(sed -n 2p "$TMP/s")"
    read -r s3 a3 f3 c3 at3 bar3 ft3 <<<"$(sed -n 3p "$TMP/s")"
    read -r s4 a4 f4 c4 at4 bar4 ft4 <<<"$(sed -n 4p "$TMP/s")"
    [ "$a1 $f1 $c1 $at1" = "64 64 64 t0" ] || fail "1001 (main, freed by A): $(sed -n 1p "$TMP/s")"
    [ "$ft1" = "$at2" ] && [ "$at2" != t0 ] || fail "A frees main's blocks and allocates 1002: $(cat "$TMP/s")"
    [ "$a2 $f2 $c2" = "1000 1000 1000" ] || fail "1002 (A, freed by B): $(sed -n 2p "$TMP/s")"
    [ "$a3 $f3 $c3 $at3 $ft3" = "500 500 0 $ft2 $ft2" ] || fail "1003 (B, where A's blocks were freed): $(cat "$TMP/s")"
    [ "$a4 $f4 $c4 $at4" = "700 700 0 $ft4" ] || fail "1004 (C): $(sed -n 4p "$TMP/s")"
    [ "$(printf '%s\n' t0 "$at2" "$at3" "$at4" | sort -u | wc -l)" = 4 ] || fail "threads not told apart: $(cat "$TMP/s")"
    # A ended before B and C started: its exit record comes before their first records.
    ea=$(grep -n "^$at2 exit$" "$TMP/got" | cut -d: -f1)
    sb=$(grep -n "^$at3 start$" "$TMP/got" | cut -d: -f1)
    sc=$(grep -n "^$at4 start$" "$TMP/got" | cut -d: -f1)
    [ -n "$ea" ] && [ -n "$sb" ] && [ -n "$sc" ] && [ "$ea" -lt "$sb" ] && [ "$ea" -lt "$sc" ] ||
        fail "thread A ($at2) exit at line '$ea', B ($at3) start '$sb', C ($at4) start '$sc'"
    for t in "$at2" "$at3" "$at4"; do
        [ "$(grep -c "^$t exit$" "$TMP/got")" = 1 ] || fail "$t has no exit record"
    done
    "$AT" info "$TMP/t.trace" | grep -q "cross-thread        1064 frees" ||
        { "$AT" info "$TMP/t.trace"; fail "expected 1064 cross-thread frees"; }
    echo "threads t0 $at2 $at3 $at4: 64 + 1000 cross-thread frees, starts and exits in order"
    ;;
fork)
    rec_ok "$TMP/t.trace" -- "$P/rec_threads" fork
    child=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$TMP/out")
    [ -n "$child" ] || fail "the program did not report its child"
    [ -f "$TMP/t.$child.trace" ] || { ls "$TMP"; fail "no trace $TMP/t.$child.trace for the child"; }
    valid "$TMP/t.trace" "$TMP/t.$child.trace"
    text "$TMP/t.trace" >"$TMP/parent"
    text "$TMP/t.$child.trace" >"$TMP/child"
    SIZES="2001 2002" sizes "$TMP/parent" >"$TMP/s"
    [ "$(cat "$TMP/s")" = "$(printf '2001 10 10 0 t0 | t0\n2002 0 0 0 |')" ] || fail "parent: $(cat "$TMP/s")"
    SIZES="2001 2002" sizes "$TMP/child" >"$TMP/s"
    [ "$(cat "$TMP/s")" = "$(printf '2001 0 0 0 |\n2002 5 3 0 t0 | t0')" ] || fail "child: $(cat "$TMP/s")"
    grep "t.$child.trace" "$TMP/err" | grep -q ", 2 dropped frees$" ||
        { cat "$TMP/err"; fail "the child's 2 frees of the parent's blocks were not counted as dropped"; }
    echo "parent and child (pid $child) traced apart; the child's 2 frees of inherited blocks dropped"
    ;;
exit-thread)
    rec_ok "$TMP/t.trace" -- "$P/rec_threads" exit-thread
    valid "$TMP/t.trace"
    text "$TMP/t.trace" >"$TMP/got"
    SIZES="4444 3001" sizes "$TMP/got" >"$TMP/s"
    read -r s a f c at bar ft <<<"$(sed -n 1p "$TMP/s")"
    [ "$a $f $c" = "777 333 0" ] || fail "the exiting thread: $(sed -n 1p "$TMP/s"), expected 777 mallocs, 333 frees"
    read -r s a f c rest <<<"$(sed -n 2p "$TMP/s")"
    [ "$a" -gt 0 ] || fail "the other threads recorded nothing"
    echo "exit() from $at: its 777 mallocs and 333 frees all recorded; $a mallocs of 3001 by another thread"
    ;;
signal)
    rec_ok "$TMP/t.trace" -- "$P/rec_threads" signal
    grep -q '^handled 100$' "$TMP/out" || fail "the handler did not run 100 times"
    valid "$TMP/t.trace"
    text "$TMP/t.trace" >"$TMP/got"
    SIZES="6001 6002" sizes "$TMP/got" >"$TMP/s"
    [ "$(cat "$TMP/s")" = "$(printf '6001 100 100 0 t0 | t0\n6002 100 100 0 t0 | t0')" ] || fail "$(cat "$TMP/s")"
    echo "100 malloc/free pairs in a signal handler recorded"
    ;;
storm)
    bump=$(cd "$P" && pwd)/libbump.so
    lib=$(cd "$(dirname "$LIB")" && pwd)/libamrecord.so
    rec_ok "$TMP/t.trace" -- env LD_PRELOAD="$lib:$bump" "$P/rec_threads" storm
    read -r _ loop _ handled <"$TMP/out"
    [ -n "$handled" ] && [ "$handled" -gt 0 ] || fail "no signal handled: $(cat "$TMP/out")"
    valid "$TMP/t.trace"
    text "$TMP/t.trace" >"$TMP/got"
    SIZES="203 204" sizes "$TMP/got" >"$TMP/s"
    read -r _ a f c _ <<<"$(sed -n 1p "$TMP/s")"
    [ "$a $f $c" = "$loop $loop 0" ] || fail "the loop made $loop malloc/free pairs, recorded: $(sed -n 1p "$TMP/s")"
    read -r _ ha hf _ <<<"$(sed -n 2p "$TMP/s")"
    nested=$(sed -n 's/.*unrecorded calls  \([0-9]*\) in signal handlers.*/\1/p' "$TMP/err")
    nested=${nested:-0}
    [ "$ha" = "$hf" ] && [ $((ha + nested / 2)) -eq "$handled" ] && [ $((nested % 2)) -eq 0 ] ||
        { cat "$TMP/err"; fail "$handled handler calls: $ha mallocs and $hf frees recorded, $nested calls counted unrecorded"; }
    echo "$loop loop pairs recorded; $handled handler calls: $ha recorded, $((nested / 2)) inside the recorder (counted, not recorded)"
    ;;
cli)
    "$AT" record >/dev/null 2>&1 && fail "record without a command succeeded"
    "$AT" record -o "$TMP/x.trace" --idle-gap x -- true >/dev/null 2>&1 && fail "--idle-gap x accepted"
    rec "$TMP/n.trace" -- "$TMP/no-such-program"
    [ "$rc" -eq 127 ] || fail "a command that cannot run: status $rc, expected 127"
    grep -q "cannot run" "$TMP/err" || fail "no message for a command that cannot run"
    rec "$TMP/k.trace" -- /bin/sh -c 'kill -9 $$'
    [ "$rc" -eq 137 ] || fail "a command killed by SIGKILL: status $rc, expected 137"
    valid "$TMP/k.trace"
    rec "$TMP/no-dir/t.trace" -- "$P/rec_seq" calls
    [ "$rc" -eq 1 ] || fail "an unwritable OUT: status $rc, expected 1"
    # SIGTERM to record goes on to the command; record still writes the trace and cleans up.
    "$AT" record -o "$TMP/term.trace" --raw-dir "$TMP/raw" -- /bin/sh -c 'exec sleep 30' >/dev/null 2>"$TMP/err" &
    pid=$!
    sleep 0.5
    kill -TERM $pid
    rc=0
    wait $pid || rc=$?
    [ "$rc" -eq 143 ] || { cat "$TMP/err"; fail "SIGTERM to record: status $rc, expected 143"; }
    valid "$TMP/term.trace"
    [ -z "$(ls -A "$TMP/raw")" ] || fail "raw logs left in $TMP/raw: $(ls "$TMP/raw")"
    echo "usage errors: 1; cannot run: 127; SIGKILL: 137 (trace valid); unwritable OUT: 1; SIGTERM to record: 143, trace valid, raw logs removed"
    ;;
python3)
    PY=/usr/bin/python3
    [ -x $PY ] || fail "no $PY (Debian package python3)"
    rec_ok "$TMP/t.trace.zst" -- $PY -c 'import json; print(json.dumps(list(range(1000)))[-4:])'
    [ "$(cat "$TMP/out")" = "999]" ] || fail "python3 printed '$(cat "$TMP/out")'"
    valid "$TMP/t.trace.zst"
    ops=$(sed -n 's/.*valid ([0-9]* records, \([0-9]*\) ops)/\1/p' "$TMP/val")
    [ "$ops" -gt 1000 ] || fail "only $ops ops recorded from python3"
    echo "python3 json: $ops ops"
    prog='
import json, threading
def work(n):
    for i in range(20):
        json.loads(json.dumps([{"k%d" % j: "v" * (j % 40)} for j in range(500 + n)]))
ts = [threading.Thread(target=work, args=(n,)) for n in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print("done")
'
    rec_ok "$TMP/mt.trace.zst" -- env PYTHONMALLOC=malloc $PY -c "$prog"
    [ "$(cat "$TMP/out")" = "done" ] || fail "python3 threads printed '$(cat "$TMP/out")'"
    valid "$TMP/mt.trace.zst"
    "$AT" info "$TMP/mt.trace.zst" >"$TMP/info"
    # CPython's threads are detached and join() returns before the thread's key
    # destructors have run, so a thread may still be ending when the process exits:
    # its exit record is then (rightly) missing.
    grep -qE "threads             5 declared, 5 with ops; 4 starts, [0-4] exits" "$TMP/info" ||
        { cat "$TMP/info"; fail "python3 with 4 threads: not 5 threads in the trace"; }
    echo "python3, 4 threads (PYTHONMALLOC=malloc): $(sed -n 's/^records *//p' "$TMP/info"), valid"
    ;;
sqlite3)
    command -v sqlite3 >/dev/null || fail "no sqlite3 (Debian package sqlite3)"
    {
        echo "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, pad TEXT);"
        echo "BEGIN;"
        for i in $(seq 1 3000); do echo "INSERT INTO t (k, pad) VALUES ('k$((i % 50))', hex(zeroblob($((i % 200)))));"; done
        echo "COMMIT;"
        echo "CREATE INDEX t_k ON t (k);"
        echo "SELECT count(*), sum(length(pad)) FROM t;"
        echo "DELETE FROM t WHERE id % 3 = 0;"
        echo "SELECT k, count(*) FROM t GROUP BY k ORDER BY k LIMIT 1;"
    } >"$TMP/load.sql"
    want=$(sqlite3 :memory: <"$TMP/load.sql") || fail "sqlite3 without the recorder failed"
    rec_ok "$TMP/t.trace.zst" -- sh -c "exec sqlite3 :memory: <'$TMP/load.sql'"
    [ "$(cat "$TMP/out")" = "$want" ] || fail "sqlite3 printed '$(cat "$TMP/out")', expected '$want'"
    valid "$TMP/t.trace.zst"
    ops=$(sed -n 's/.*valid ([0-9]* records, \([0-9]*\) ops)/\1/p' "$TMP/val")
    [ "$ops" -gt 10000 ] || fail "only $ops ops recorded from sqlite3"
    grep -q "(pid [0-9]*, /usr/bin/sqlite3)" "$TMP/err" || { cat "$TMP/err"; fail "OUT is not sqlite3's trace (sh exec'd it)"; }
    echo "sqlite3 (exec'd by sh): $ops ops, valid"
    ;;
heaptrack)
    cat >"$TMP/h.raw" <<'EOT'
v 10400 3
X ./prog
m 1 ./prog 55b1653d7000 0 6c0
t 7fcd85babb9f 0
+ 64 1 55b16c18a1d0
+ 78 1 55b16c18a300
- 55b16c18a1d0
+ c8 1 55b16c18a3e0
c 1
- 55b16c18a300
- 7fff00000000
c 2bc
+ 10 1 55b16c18a1d0
- 55b16c18a3e0
- 55b16c18a1d0
EOT
    "$AT" import-heaptrack "$TMP/h.raw" "$TMP/t.trace" --idle-gap 100 2>"$TMP/err" || { cat "$TMP/err"; fail "import failed"; }
    grep -q "no thread ids" "$TMP/err" || fail "the summary does not say heaptrack has no thread ids"
    grep -q "dropped 1 frees" "$TMP/err" || { cat "$TMP/err"; fail "the free of an unknown pointer was not counted"; }
    cat >"$TMP/want" <<'EOT'
# allocmark trace v1: 9 records, 8 ops, 2 objects, 1 threads
t0 malloc 0 100
t0 malloc 1 120
t0 free 0
t0 malloc 0 200
t0 free 1
idle 699
t0 malloc 1 16
t0 free 0
t0 free 1
EOT
    exact heaptrack-text
    if command -v heaptrack >/dev/null; then
        heaptrack --raw -o "$TMP/ht" "$P/rec_seq" realloc >"$TMP/hto" 2>&1 || { cat "$TMP/hto"; fail "heaptrack --raw failed"; }
        f=$(ls "$TMP"/ht*.raw* 2>/dev/null | head -n 1)
        [ -n "$f" ] || fail "heaptrack wrote no raw file"
        "$AT" import-heaptrack "$f" "$TMP/h.trace.zst" 2>"$TMP/err" || { cat "$TMP/err"; fail "import of $f failed"; }
        valid "$TMP/h.trace.zst"
        text "$TMP/h.trace.zst" >"$TMP/got"
        # rec_seq realloc: 14 recorded ops, its 8 moving-or-not reallocs as free + malloc
        for s in 16 64 32 128 512 2048 8192 32768 10 300 3000; do
            grep -q "^t0 malloc [0-9]* $s$" "$TMP/got" || { cat "$TMP/got"; fail "no malloc of $s imported"; }
        done
        echo "a heaptrack --raw recording ($(basename "$f")) imported: $(sed -n 's/.*valid (\(.*\))/\1/p' "$TMP/val")"
    fi
    ;;
*)
    fail "unknown test $TEST"
    ;;
esac
exit 0
