# shellcheck shell=bash
# lib.sh - sourced by the workloads/record/*.sh scripts that re-record the shipped
# traces: where the tools are, package checks, a free loopback port, and the final
# validate + atomic move into workloads/.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AT="$ROOT/build/bin/allocmark-trace"
PY=/usr/bin/python3 # Debian's python3 (another python3 may come first on PATH)

# need_pkg PACKAGE FILE...: install the Debian package if one of the files is missing
# (as root), else say which apt-get line to run and exit 1.
need_pkg() {
    local pkg=$1 f missing=0
    shift
    for f in "$@"; do [ -e "$f" ] || missing=1; done
    [ "$missing" -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing the Debian package $pkg" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >&2 ||
            { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >&2; }
        for f in "$@"; do [ -e "$f" ] || { echo "$f still missing after installing $pkg" >&2; exit 1; }; done
    else
        echo "missing $*: run as root:  apt-get install -y $pkg" >&2
        exit 1
    fi
}

# need_build: the recorder and allocmark-trace (make all).
need_build() {
    if [ ! -x "$AT" ] || [ ! -e "$ROOT/build/lib/libamrecord.so" ]; then
        make -C "$ROOT" -j2 all >&2
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: wait (up to 10 s) until 127.0.0.1:PORT accepts connections;
# fail if process PID ended first.
wait_port() {
    local port=$1 pid=$2 _
    for _ in $(seq 1 200); do
        "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$port" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { echo "the server exited before listening on port $port" >&2; exit 1; }
        sleep 0.05
    done
    echo "nothing listens on 127.0.0.1:$port after 10 s" >&2
    exit 1
}

# finish NAME TMP_TRACE: validate the recorded trace, print its info, and move it to
# workloads/NAME.trace.zst (a rename within workloads/: atomic).
finish() {
    local name=$1 tmp=$2 dst="$ROOT/workloads/$1.trace.zst" part
    "$AT" validate "$tmp" >&2
    part=$(mktemp "$ROOT/workloads/.$name.XXXXXX")
    cp "$tmp" "$part"
    chmod 644 "$part"
    mv -f "$part" "$dst"
    "$AT" info "$dst"
    echo "wrote $dst ($(stat -c %s "$dst") bytes)" >&2
}

# Every script runs Debian's python3 (SQL and input generation, the clients, ports).
need_pkg python3 "$PY"
