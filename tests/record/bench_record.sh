#!/bin/bash
# bench_record.sh BUILD_DIR [ROUNDS] - the recorder's overhead on a real program (not
# run by make test): /usr/bin/python3 on a JSON + regex workload, untraced, under the
# recorder, and under `heaptrack --raw` (if installed), ROUNDS (default 5) rounds,
# interleaved, each round in a fresh random order. Prints the median and minimum wall
# time of each, the ratio to untraced, and the trace's size per op.
# PYMALLOC=malloc in the environment runs python3 with PYTHONMALLOC=malloc (every
# object a malloc call: the recorder's worst case).
set -u
B=${1:?usage: bench_record.sh BUILD_DIR [ROUNDS]}
ROUNDS=${2:-5}
AT="$B/bin/allocmark-trace"
LIB="$B/lib/libamrecord.so"
PY=/usr/bin/python3
TMP=$(mktemp -d /dev/shm/bench_record.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/work.py" <<'PY'
import json, re, sys
n = int(sys.argv[1])
d = [{"id": i, "name": "item%d" % i, "tags": ["a" * (i % 10), "b" * (i % 7)], "v": i * 1.5} for i in range(20000)]
pat = re.compile(r'"name": "item(\d+)"')
tot = 0
for r in range(n):
    s = json.dumps(d)
    e = json.loads(s)
    tot += sum(int(x) for x in pat.findall(s)) + len(e)
print(tot)
PY
ENV=()
[ "${PYMALLOC:-}" = malloc ] && ENV=(PYTHONMALLOC=malloc)
N=${N:-10}
HT=$(command -v heaptrack || true)

run_plain() { env "${ENV[@]}" $PY "$TMP/work.py" $N >/dev/null; }
# the traced program alone (LD_PRELOAD), and the whole record command (with the post-pass)
run_preload() { rm -rf "$TMP/raw"; mkdir "$TMP/raw"; env "${ENV[@]}" LD_PRELOAD="$LIB" AMRECORD_RAW="$TMP/raw/r" $PY "$TMP/work.py" $N >/dev/null; }
run_record() { env "${ENV[@]}" "$AT" record -o "$TMP/t.trace.zst" --raw-dir "$TMP/rraw" -- $PY "$TMP/work.py" $N >/dev/null 2>"$TMP/summary"; }
run_heaptrack() { rm -f "$TMP"/ht.*; env "${ENV[@]}" "$HT" --raw -o "$TMP/ht.%p" $PY "$TMP/work.py" $N >/dev/null 2>&1; }

KINDS="plain preload record"
[ -n "$HT" ] && KINDS="$KINDS heaptrack"
declare -A T C
for r in $(seq 1 "$ROUNDS"); do
    for k in $(printf '%s\n' $KINDS | shuf); do
        s=$(date +%s%N)
        "run_$k"
        e=$(date +%s%N)
        T[$k]="${T[$k]:-} $(((e - s) / 1000000))"
        # CPU (user + sys of the process and its children, ms): steadier than wall
        # time on a loaded machine
        read -r u y < <(awk '{print $14 + $16, $15 + $17}' /proc/$$/stat)
        C[$k]="${C[$k]:-} $(((u + y) * 1000 / $(getconf CLK_TCK) - ${last_cpu:-0}))"
        last_cpu=$(((u + y) * 1000 / $(getconf CLK_TCK)))
    done
done
med() { printf '%s\n' $1 | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mn() { printf '%s\n' $1 | sort -n | head -n 1; }
base=$(med "${T[plain]}")
echo "python3 JSON+regex (N=$N${ENV:+, ${ENV[*]}}), $ROUNDS rounds interleaved; wall ms"
cbase=$(med "${C[plain]}")
for k in $KINDS; do
    m=$(med "${T[$k]}")
    c=$(med "${C[$k]}")
    printf '  %-10s wall median %6d min %6d x%.2f | cpu median %6d min %6d x%.2f  (wall:%s)\n' "$k" "$m" \
        "$(mn "${T[$k]}")" "$(echo "$m / $base" | bc -l)" "$c" "$(mn "${C[$k]}")" "$(echo "$c / $cbase" | bc -l)" "${T[$k]}"
done
grep -E "ops  |size  " "$TMP/summary"
ls -l "$TMP/t.trace.zst" | awk '{print "  trace.zst", $5, "bytes"}'
"$AT" to-text "$TMP/t.trace.zst" "$TMP/t.txt" && "$AT" from-text "$TMP/t.txt" "$TMP/t.trace" &&
    ls -l "$TMP/t.trace" | awk '{print "  trace (uncompressed)", $5, "bytes"}'
[ -n "$HT" ] && ls -l "$TMP"/ht.* 2>/dev/null | awk '{print "  heaptrack raw", $5, "bytes"}'
