#!/bin/bash
# gcc.sh - re-record workloads/gcc.trace.zst: GCC 12's compiler proper (cc1, Debian
# package gcc-12) compiling harness/replay_mt.c of this repository at a fixed commit
# with -O2 -g, as `gcc -c` runs it. `record` traces every process of the command; the
# driver's children (cc1, as) get OUT.PID.trace files, and the script keeps cc1's.
# One thread.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
CC1=/usr/lib/gcc/x86_64-linux-gnu/12/cc1
need_pkg gcc-12 /usr/bin/gcc-12 "$CC1"
need_build
# the source compiled: the repository as of this commit (git archive), so a later
# edit of harness/ does not change the trace.
COMMIT=0c20f26f640d00cda61bc59ec3d1b12d671a6e0e
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git -C "$ROOT" archive "$COMMIT" harness allocators | tar -x -C "$TMP"

mkdir "$TMP/t"
(cd "$TMP" && "$AT" record -o "$TMP/t/gcc.trace.zst" --idle-gap 0 -- \
    /usr/bin/gcc-12 -std=c17 -O2 -g -Wall -Wextra -D_GNU_SOURCE -c harness/replay_mt.c -o replay_mt.o) 2>"$TMP/summary" ||
    { cat "$TMP/summary" >&2; exit 1; }
cat "$TMP/summary" >&2
# the summary names each process: "allocmark-trace record: FILE (pid N, PROGRAM)"
cc1=$(sed -n "s|^allocmark-trace record: \([^ ]*\) (pid [0-9]*, $CC1).*|\1|p" "$TMP/summary")
if [ -z "$cc1" ] || [ "$(printf '%s\n' "$cc1" | wc -l)" -ne 1 ]; then
    echo "no single trace of $CC1 in the summary" >&2
    exit 1
fi
case $cc1 in *.zst) cp "$cc1" "$TMP/gcc.trace.zst" ;; *) echo "$cc1 is not zstd-compressed" >&2; exit 1 ;; esac
finish gcc "$TMP/gcc.trace.zst"
