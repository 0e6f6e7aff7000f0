#!/bin/bash
# profiles.sh BUILD_DIR - the tuning profiles of harness/run_all/profiles.sh: what each
# function prints for every profile and allocator, the refusal of an unknown profile,
# and that the settings really act, measured with the drivers themselves (a misspelt
# variable or tunable would be ignored silently by the allocator, and fail here):
# "release" ends workloads/idle.wl (scale 0.1) with far less RSS than "retain" on
# every allocator, and glibc's "retain" keeps what its default gives back.
set -euo pipefail
B=${1:-build}
# shellcheck source=harness/run_all/profiles.sh
source harness/run_all/profiles.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "profiles.sh: $*" >&2; exit 1; }

# ---- the functions' output ----
[ "$(profile_names | tr '\n' ' ')" = "default retain release " ] || fail "profile_names: $(profile_names)"
# expect PROFILE ALLOCATOR ENV_LINES ALLOC_OPT
expect() {
    local got
    got=$(profile_env "$1" "$2") || fail "profile_env $1 $2 failed"
    [ "$got" = "$3" ] || fail "profile_env $1 $2: '$got', expected '$3'"
    got=$(profile_alloc_opt "$1" "$2") || fail "profile_alloc_opt $1 $2 failed"
    [ "$got" = "$4" ] || fail "profile_alloc_opt $1 $2: '$got', expected '$4'"
}
for a in glibc jemalloc tcmalloc mimalloc slab slab-locked dry crash; do
    expect default "$a" "" ""
done
expect retain jemalloc "MALLOC_CONF=dirty_decay_ms:-1" ""
expect release jemalloc "MALLOC_CONF=dirty_decay_ms:0" ""
expect retain tcmalloc "TCMALLOC_RELEASE_RATE=0" ""
expect release tcmalloc "TCMALLOC_AGGRESSIVE_DECOMMIT=t" ""
expect retain mimalloc "MIMALLOC_ALLOW_DECOMMIT=0" ""
expect release mimalloc "MIMALLOC_DECOMMIT_DELAY=0" ""
expect retain glibc "GLIBC_TUNABLES=glibc.malloc.trim_threshold=17179869184:glibc.malloc.mmap_threshold=33554432" ""
expect release glibc "GLIBC_TUNABLES=glibc.malloc.mxfast=0:glibc.malloc.tcache_count=0:glibc.malloc.trim_threshold=131072" ""
for a in slab slab-locked; do
    expect retain "$a" "" "idle_ms=-1"
    expect release "$a" "" "idle_ms=0"
done
for p in retain release; do
    expect "$p" dry "" ""
done

# ---- an unknown profile: refused, named, nothing on stdout ----
for f in profile_env profile_alloc_opt; do
    rc=0
    "$f" retian jemalloc >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" -ne 1 ] || [ -s "$tmp/out" ]; then fail "$f retian: status $rc, stdout '$(cat "$tmp/out")'"; fi
    grep -q "unknown profile 'retian' (known: default retain release)" "$tmp/err" || fail "$f: message '$(cat "$tmp/err")'"
done

# ---- measured: the settings act ----
# run ALLOCATOR PROFILE TRACE: the RSS in bytes after the trace's last idle marker
run() {
    local envs=() opt=() o
    mapfile -t envs < <(profile_env "$2" "$1")
    o=$(profile_alloc_opt "$2" "$1")
    [ -z "$o" ] || opt=(--alloc-opt "$o")
    env "${envs[@]}" "$B/bin/allocmark-$1" "${opt[@]}" "$3" | jq -r '.idle[-1].rss_bytes'
}
mib() { echo $(($1 >> 20)); }
"$B/bin/allocmark-trace" gen workloads/idle.wl --scale 0.1 -o "$tmp/idle.trace" >/dev/null
# 200 MB of small objects, then free 90%, idle, free all, idle. Measured (MiB, retain ->
# release): glibc 211 -> 0, jemalloc 220 -> 22, tcmalloc 213 -> 177, mimalloc 219 -> 1,
# slab 209 -> 145, slab-locked 209 -> 2.
for a in glibc jemalloc tcmalloc mimalloc slab slab-locked; do
    keep=$(run "$a" retain "$tmp/idle.trace")
    give=$(run "$a" release "$tmp/idle.trace")
    echo "$a idle.wl: retain $(mib "$keep") MiB, release $(mib "$give") MiB after the last idle"
    [ "$keep" -gt $((150 << 20)) ] || fail "$a retain: only $(mib "$keep") MiB kept of 200 MB"
    [ "$give" -lt $((keep - (24 << 20))) ] || fail "$a release gave back less than 24 MiB of $(mib "$keep")"
    case $a in # the ones that give back nearly all of it
    glibc | jemalloc | mimalloc | slab-locked)
        [ "$give" -lt $((32 << 20)) ] || fail "$a release: $(mib "$give") MiB left after freeing everything" ;;
    esac
done

# retain against the default, where the default gives memory back: glibc trims the
# top once 2..4 KB objects are freed (measured 0 -> 57 MiB). (The other allocators'
# retain settings act on longer or larger runs, measured in harness/run_all/profiles.sh.)
awk 'BEGIN { for (i = 0; i < 20000; i++) print "t0 malloc " i " " 2000 + (i * 7919) % 2001;
             for (i = 0; i < 20000; i++) print "t0 free " i; print "idle 10" }' >"$tmp/mid.txt"
keep=$(run glibc retain "$tmp/mid.txt")
dflt=$(run glibc default "$tmp/mid.txt")
echo "glibc mid: default $(mib "$dflt") MiB, retain $(mib "$keep") MiB"
if [ "$keep" -lt $((40 << 20)) ] || [ "$dflt" -gt $((8 << 20)) ]; then
    fail "glibc retain does not keep what the default trims"
fi
echo "profiles: every function's output as listed; unknown profile refused; release and retain measured to act"
