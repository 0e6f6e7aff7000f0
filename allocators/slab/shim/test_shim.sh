#!/bin/bash
# test_shim.sh BUILD_DIR TEST - one test of the malloc shim (BUILD_DIR/lib/libslabmalloc.so),
# run by tests/run.sh as `check shim/TEST ...`. Exits 0 on success; on failure prints why.
#
# Every program runs under LD_PRELOAD with SLAB_MALLOC_STATS=1, and each test asserts
# the statistics line the shim writes at exit ("slabmalloc: pid=.. prog=NAME allocs=N
# ..."), which proves the program really allocated from the shim.
#
#   exports      the library exports exactly the malloc API
#   api          malloc API semantics (shim_api), foreign frees ignored and counted
#   threads      8 threads with cross-thread frees, short-lived threads (shim_threads)
#   exits        thread exits leave no thread cache behind (frees after the key destructors)
#   fork         fork from a threaded program; every child allocates and exits 0
#   early        allocation in constructors, dlopen/dlerror, tick_thread=1 (nested
#                allocation while the pool is created), idle release by the tick thread,
#                a bad SLAB_MALLOC_OPTS
#   python-json  python3: a 100k-entry dict through json dumps/loads (pymalloc and
#                PYTHONMALLOC=malloc; and with tick_thread=1,thread_cache=0)
#   sqlite3      sqlite3: a table of 10k rows, inserted and queried
#   gcc          gcc compiles a C program (cc1, as, ld on the shim), which then runs
set -u
B=${1:?usage: test_shim.sh BUILD_DIR TEST}
TEST=${2:?usage: test_shim.sh BUILD_DIR TEST}
LIB=$(cd "$(dirname "$B/lib/libslabmalloc.so")" && pwd)/libslabmalloc.so
T="$B/tests/shim"
[ -f "$LIB" ] || { echo "no $LIB"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

# shim [VAR=VALUE...] PROGRAM ARGS...: run on the shim; stdout to $TMP/out, stderr to $TMP/err.
shim() {
    env LD_PRELOAD="$LIB" SLAB_MALLOC_STATS=1 "$@" >"$TMP/out" 2>"$TMP/err"
}

# stat_of PROG KEY: KEY's value in the last statistics line of PROG (empty if none).
stat_of() {
    grep "^slabmalloc: pid=[0-9]* prog=$1 " "$TMP/err" | tail -n 1 | sed -n "s/.* $2=\([0-9]*\).*/\1/p"
}

# used PROG MIN_ALLOCS: PROG wrote its statistics line with at least MIN_ALLOCS allocations.
used() {
    local n
    n=$(stat_of "$1" allocs)
    [ -n "$n" ] || { cat "$TMP/err" | tail -n 20; fail "no statistics line from $1: not running on the shim?"; }
    [ "$n" -ge "$2" ] || fail "$1 made $n allocations on the shim, expected >= $2"
    echo "$1 on the shim: $n allocations"
}

run_ok() {
    local what=$1
    shift
    local rc=0
    shim "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -n 30 "$TMP/err"
        fail "$what exited with status $rc"
    fi
}

case "$TEST" in
exports)
    got=$(nm -D --defined-only "$LIB" | awk '{print $3}' | sort | tr '\n' ' ')
    want="aligned_alloc calloc free malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc "
    [ "$got" = "$want" ] || fail "exports: got '$got', want '$want'"
    echo "exports: $got"
    ;;
api)
    run_ok shim_api timeout 120 "$T/shim_api"
    grep -q '^shim_api: ok$' "$TMP/out" || fail "shim_api did not finish"
    used shim_api 1000
    f=$(stat_of shim_api foreign_frees)
    [ "$f" = 3 ] || fail "foreign_frees=$f, expected the test's 3"
    echo "3 foreign frees ignored and counted"
    ;;
threads)
    run_ok shim_threads timeout 300 "$T/shim_threads" threads
    grep -q '^shim_threads threads: ok$' "$TMP/out" || fail "shim_threads did not finish"
    used shim_threads 1000000
    ;;
exits)
    # 2000 threads, each leaving a dlerror buffer that glibc frees after the key
    # destructors: a cache re-made for that free would strand its chunks.
    run_ok shim_threads timeout 300 "$T/shim_threads" exits
    grep -q '^shim_threads exits: ok$' "$TMP/out" || fail "shim_threads did not finish"
    used shim_threads 2000
    m=$(stat_of shim_threads in_magazines)
    [ "$m" -lt 1000 ] || fail "$m chunks left in thread caches after 2000 thread exits"
    echo "chunks in thread caches at exit: $m"
    ;;
fork)
    run_ok shim_threads timeout 300 "$T/shim_threads" fork
    grep -q '^shim_threads fork: ok' "$TMP/out" || fail "shim_threads did not finish"
    used shim_threads 10000
    n=$(grep -c '^slabmalloc: pid=[0-9]* prog=shim_threads ' "$TMP/err")
    [ "$n" -ge 151 ] || fail "$n statistics lines, expected 150 children + the parent"
    echo "150 children allocated on the shim and exited 0"
    ;;
early)
    run_ok shim_early "$T/shim_early"
    grep -q '^shim_early: ok$' "$TMP/out" || fail "shim_early did not finish"
    used shim_early 100
    # tick_thread=1: creating the pool creates a thread, whose TLS vector is
    # allocated (calloc) from inside our first malloc: served by the bootstrap arena.
    run_ok "shim_early (tick_thread=1)" SLAB_MALLOC_OPTS=tick_thread=1,idle_ms=50 "$T/shim_early" idle
    grep -q '^shim_early: ok$' "$TMP/out" || fail "shim_early (tick_thread=1) did not finish"
    used shim_early 100
    b=$(stat_of shim_early bootstrap_allocs)
    [ "$b" -ge 1 ] || fail "bootstrap_allocs=$b: pool creation with a tick thread made no nested allocation?"
    r=$(stat_of shim_early released)
    [ "$r" -gt 0 ] || fail "released=$r: the tick thread released nothing in 0.6 s idle (idle_ms=50)"
    echo "tick_thread=1: $b nested allocations at start-up, $r bytes released while idle"
    # A bad option: the parser's message, then abort.
    if (shim SLAB_MALLOC_OPTS=prealloc=1M,no_such_key=1 "$T/shim_early") 2>/dev/null; then
        fail "a bad SLAB_MALLOC_OPTS was accepted"
    fi
    grep -q "slabmalloc: SLAB_MALLOC_OPTS: slab option 'no_such_key': unknown key" "$TMP/err" ||
        { cat "$TMP/err"; fail "no message for a bad SLAB_MALLOC_OPTS"; }
    echo "bad SLAB_MALLOC_OPTS: $(head -c 80 "$TMP/err")..."
    ;;
python-json)
    PY=/usr/bin/python3
    [ -x $PY ] || fail "no $PY (Debian package python3)"
    prog='
import json
d = {"key%06d" % i: {"n": i, "sq": i * i, "s": "v" * (i % 50), "l": list(range(i % 7))} for i in range(100000)}
s = json.dumps(d, sort_keys=True)
e = json.loads(s)
assert e == d, "round trip differs"
assert e["key099999"]["sq"] == 99999 * 99999 and len(e) == 100000
big = json.dumps([e[k]["s"] * 100 for k in sorted(e)[:2000]])
print(len(s), sum(v["n"] for v in e.values()), len(json.loads(big)), hash(s) == hash(json.dumps(e, sort_keys=True)))
'
    want=$($PY -c "$prog") || fail "python3 without the shim failed"
    for mode in "PYTHONMALLOC=pymalloc" "PYTHONMALLOC=malloc" "PYTHONMALLOC=malloc SLAB_MALLOC_OPTS=tick_thread=1,thread_cache=0"; do
        # shellcheck disable=SC2086
        run_ok "python3 ($mode)" $mode $PY -c "$prog"
        got=$(cat "$TMP/out")
        [ "$got" = "$want" ] || fail "python3 ($mode) printed '$got', expected '$want'"
        case $mode in
        *=malloc*) min=100000 ;;
        *) min=1000 ;;
        esac
        used python3 $min
        echo "  ($mode) printed: $got"
    done
    ;;
sqlite3)
    command -v sqlite3 >/dev/null || fail "no sqlite3 (Debian package sqlite3)"
    {
        echo "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v INTEGER, pad TEXT);"
        echo "CREATE INDEX t_k ON t (k);"
        echo "BEGIN;"
        for i in $(seq 1 10000); do
            echo "INSERT INTO t (k, v, pad) VALUES ('k$((i % 100))', $i, replace(hex(zeroblob($((i % 300)))), '00', 'x'));"
        done
        echo "COMMIT;"
        echo "SELECT count(*), sum(v), sum(length(pad)) FROM t;"
        echo "SELECT k, count(*), sum(v) FROM t WHERE k = 'k7' GROUP BY k;"
        echo "SELECT v FROM t ORDER BY pad DESC, v LIMIT 1;"
        echo "UPDATE t SET pad = pad || pad WHERE v % 2 = 0;"
        echo "DELETE FROM t WHERE v % 3 = 0;"
        echo "SELECT count(*), sum(v), max(length(pad)) FROM t;"
    } >"$TMP/load.sql"
    want=$(sqlite3 "$TMP/ref.db" <"$TMP/load.sql") || fail "sqlite3 without the shim failed"
    # The expected figures, by arithmetic: v = 1..10000, pad length i % 300.
    exp1="10000|50005000|$(awk 'BEGIN{s=0; for(i=1;i<=10000;i++) s+=i%300; print s}')"
    exp2="k7|100|$(awk 'BEGIN{s=0; for(i=7;i<=10000;i+=100) s+=i; print s}')"
    [ "$(echo "$want" | head -n 1)" = "$exp1" ] || fail "reference run: '$(echo "$want" | head -n 1)' != '$exp1'"
    [ "$(echo "$want" | sed -n 2p)" = "$exp2" ] || fail "reference run: '$(echo "$want" | sed -n 2p)' != '$exp2'"
    run_ok sqlite3 sqlite3 "$TMP/test.db" <"$TMP/load.sql"
    got=$(cat "$TMP/out")
    [ "$got" = "$want" ] || fail "sqlite3 on the shim printed '$got', expected '$want'"
    used sqlite3 10000
    # And an in-memory database, which keeps every page in malloc'd memory.
    run_ok "sqlite3 :memory:" sqlite3 :memory: <"$TMP/load.sql"
    [ "$(cat "$TMP/out")" = "$want" ] || fail "sqlite3 :memory: on the shim printed '$(cat "$TMP/out")'"
    used sqlite3 10000
    echo "results: $(echo "$got" | tr '\n' ' ')"
    ;;
gcc)
    cat >"$TMP/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[24]; int v; };
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    struct node *head = NULL;
    for (int i = 0; i < 100000; i++) {
        struct node *n = malloc(sizeof *n);
        if (!n) return 1;
        snprintf(n->name, sizeof n->name, "node-%d", i);
        n->v = (i * 7919) % 100003;
        n->next = head;
        head = n;
    }
    int *a = malloc(100000 * sizeof *a), k = 0;
    long sum = 0;
    while (head) {
        struct node *n = head;
        head = n->next;
        a[k++] = n->v;
        sum += (long)strlen(n->name);
        free(n);
    }
    qsort(a, k, sizeof *a, cmp);
    char *s = NULL;
    size_t len = 0;
    for (int i = 0; i < 1000; i++) {
        s = realloc(s, len + 16);
        len += (size_t)sprintf(s + len, "%d,", a[i * 100]);
    }
    printf("%d %d %ld %zu\n", a[0], a[k - 1], sum, len);
    free(s);
    free(a);
    return 0;
}
EOF
    run_ok gcc gcc -O2 -Wall -o "$TMP/prog" "$TMP/prog.c"
    for p in gcc cc1 as; do
        used $p 100
    done
    grep -qE '^slabmalloc: pid=[0-9]* prog=(ld|ld.bfd|collect2) ' "$TMP/err" || fail "the linker did not run on the shim"
    want=$(gcc -O2 -o "$TMP/ref" "$TMP/prog.c" && "$TMP/ref") || fail "reference build failed"
    [ "$(cat "$TMP/out")" = "" ] || fail "gcc printed: $(cat "$TMP/out")"
    run_ok prog "$TMP/prog"
    [ "$(cat "$TMP/out")" = "$want" ] || fail "the program printed '$(cat "$TMP/out")', expected '$want'"
    used prog 100000
    echo "compiled on the shim; the program printed: $want"
    ;;
*)
    fail "unknown test $TEST"
    ;;
esac
exit 0
