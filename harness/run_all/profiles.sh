# shellcheck shell=bash
# profiles.sh - named allocator tuning profiles (DESIGN.md, "Fairness rules": allocators
# run with their shipped defaults, or with a named profile that is part of the result's
# name). Sourced by run_all.sh; pure functions, no side effects:
#   profile_names                       the known profiles, one per line
#   profile_env PROFILE ALLOCATOR       KEY=VALUE lines for that run's environment (maybe none)
#   profile_alloc_opt PROFILE ALLOCATOR an --alloc-opt string (slab, slab-locked) or nothing
# An unknown profile is refused (message on stderr, status 1); an allocator a profile
# has nothing for (dry, test drivers) gets nothing.
#
#   default  the shipped defaults: nothing set
#   retain   keep freed memory (no decay, no trim, no release): the allocator's best time
#   release  give freed memory back as soon as it can: the allocator's lowest idle RSS
#
# Every setting below was checked by measurement on this machine (Debian 12: glibc 2.36,
# jemalloc 5.3.0, gperftools 2.10, mimalloc 2.0.9), not taken from documentation: RSS in
# MiB (RssAnon minus baseline) after the LAST idle marker, "default -> profile", one run
# each of build/bin/allocmark-ALLOC on
#   idle.wl   build/bin/allocmark-trace gen workloads/idle.wl --scale 0.1 (200 MB of 16..512 B
#             objects, free 90%, idle 150 ms, free all, idle 150 ms)
#   mid2      text trace: 250k mallocs of 16..512 B (64 MB), free all, idle 1000, then 40k
#             malloc+free pairs of 16..4096 B with a 1 MiB block every 20th, idle 10
#   slab2     250k mallocs of 16..512 B, free all, idle 11000, then 10 rounds of 16k
#             mallocs of 16..512 B freed again, idle 10
#   tc        64 x 1 MiB malloc then free, idle 10, 3000 x (1 MiB malloc, free), idle 10
#   mid, big  20k mallocs of 2000..4000 B / 300 of 200..300 KB, free all, idle 10
#   dyn       one 256 KiB malloc+free (raises glibc's dynamic thresholds), 200 x 256 KiB,
#             free all but the last, idle 10
#
#   allocator  profile  setting                                 measured (MiB)
#   jemalloc   retain   dirty_decay_ms:-1                       mid2 51.8 -> 69.4; idle.wl 220.2 -> 220.2
#   jemalloc   release  dirty_decay_ms:0                        idle.wl 220.2 -> 21.9; mid2 51.8 -> 1.2
#              (muzzy_decay_ms left out of both: its default is 0 in 5.3.0, so nothing ever
#              lingers muzzy; dirty_decay_ms:-1,muzzy_decay_ms:-1 measured the same 69 on mid2)
#   tcmalloc   retain   TCMALLOC_RELEASE_RATE=0                 tc 1.0 -> 64.0; idle.wl 212.8 -> 212.8
#              (2.10 scavenges only after 2^18 pages (2 GiB) of spans have been freed since it
#              last found nothing to release, so the default rate releases nothing on short
#              runs; on longer ones it does, as tc shows)
#   tcmalloc   release  TCMALLOC_AGGRESSIVE_DECOMMIT=t          idle.wl 212.8 -> 177.4; tc 1.0 -> 0
#              (a high TCMALLOC_RELEASE_RATE measurably does nothing, for the reason above:
#              10 and 1000 both left idle.wl at 212, and 10 left tc at 1.0, as the default)
#   mimalloc   retain   MIMALLOC_ALLOW_DECOMMIT=0               mid2 5.3 -> 68.9; idle.wl 218.7 -> 218.7
#              (the default's decommit runs on later calls that touch the emptied segments,
#              so it depends on the trace's shape: of three mid2 variants with other random
#              sizes, one went 36 -> 68, two stayed at 68 with the default as well)
#   mimalloc   release  MIMALLOC_DECOMMIT_DELAY=0               idle.wl 218.7 -> 1.2; mid2 5.3 -> 0.3
#              (2.0.9's option is decommit_delay, legacy name reset_delay, default 25 ms:
#              MIMALLOC_RESET_DELAY=0 works too; MIMALLOC_PURGE_DELAY, the 2.1 name, is
#              ignored: idle.wl stayed at 218. MIMALLOC_SEGMENT_DECOMMIT_DELAY=0 added
#              nothing measurable and is left out)
#   glibc      retain   trim_threshold=16G, mmap_threshold=32M  mid 0.1 -> 57.4, big 0 -> 71.7; idle.wl 211.7 both
#              (both are needed: trim alone left big at 0 (those blocks are mmapped), mmap
#              alone left mid at 0; on idle.wl glibc keeps everything anyway: its small
#              chunks sit in fastbins and tcache, never coalesced into the top)
#   glibc      release  mxfast=0, tcache_count=0, trim_threshold=128K
#                                                               idle.wl 211.7 -> 0.1; dyn 50.0 -> 0.2
#              (fastbins and tcache off so freed small chunks coalesce into the top and get
#              trimmed: each alone left idle.wl at 211; a fixed trim_threshold turns off the
#              dynamic raise of both thresholds, which kept dyn at 50)
#   slab       retain   idle_ms=-1                              slab2 55.8 -> 66.3; idle.wl 209.5 both
#   slab       release  idle_ms=0                               idle.wl 209.5 -> 145.4; slab2 55.8 -> 5.7
#   slab-locked retain  idle_ms=-1                              slab2 5.0 -> 66.3; idle.wl 209.4 both
#   slab-locked release idle_ms=0                               idle.wl 209.4 -> 1.6; slab2 5.0 -> 1.0
#   The release profiles cost time where they act (ns/op, default -> release): jemalloc
#   mid2 88 -> 2238, mimalloc mid2 430 -> 3486, tcmalloc tc 50317 -> 520117.

profile_names() { printf '%s\n' default retain release; }

# profile_known PROFILE: status 0, or a message naming the known ones and status 1
profile_known() {
    case $1 in
    default | retain | release) return 0 ;;
    esac
    echo "profiles.sh: unknown profile '$1' (known: $(profile_names | tr '\n' ' ' | sed 's/ $//'))" >&2
    return 1
}

profile_env() {
    local profile=$1 allocator=$2
    profile_known "$profile" || return 1
    case $profile:$allocator in
    retain:jemalloc) echo "MALLOC_CONF=dirty_decay_ms:-1" ;;
    release:jemalloc) echo "MALLOC_CONF=dirty_decay_ms:0" ;;
    retain:tcmalloc) echo "TCMALLOC_RELEASE_RATE=0" ;;
    release:tcmalloc) echo "TCMALLOC_AGGRESSIVE_DECOMMIT=t" ;;
    retain:mimalloc) echo "MIMALLOC_ALLOW_DECOMMIT=0" ;;
    release:mimalloc) echo "MIMALLOC_DECOMMIT_DELAY=0" ;;
    retain:glibc) echo "GLIBC_TUNABLES=glibc.malloc.trim_threshold=17179869184:glibc.malloc.mmap_threshold=33554432" ;;
    release:glibc) echo "GLIBC_TUNABLES=glibc.malloc.mxfast=0:glibc.malloc.tcache_count=0:glibc.malloc.trim_threshold=131072" ;;
    esac
}

profile_alloc_opt() {
    local profile=$1 allocator=$2
    profile_known "$profile" || return 1
    case $profile:$allocator in
    retain:slab | retain:slab-locked) echo "idle_ms=-1" ;;
    release:slab | release:slab-locked) echo "idle_ms=0" ;;
    esac
}
