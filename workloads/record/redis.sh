#!/bin/bash
# redis.sh - re-record workloads/redis.trace.zst: redis-server 7 (Debian package
# redis-server; it allocates with the system's libjemalloc through malloc/free, which
# the recorder interposes) on a free loopback port with two I/O threads
# (--io-threads 2 --io-threads-do-reads yes) and lazy freeing, under a client load from
# a small /usr/bin/python3 RESP client with a fixed seed: 8 connections, each sent a
# pipelined batch in turn before the replies are read (so the I/O threads engage), of
# SET/GET/MGET (values of 16 bytes to 4 KiB), INCR, HSET/HGETALL, LPUSH/LRANGE/LPOP,
# SADD/SMEMBERS, DEL and EXPIRE on 26,500 keys; then FLUSHALL ASYNC (the
# lazy-free thread frees the whole keyspace: cross-thread frees), a last refill, and
# SIGTERM through `record`: redis shuts down and exits, and `record` writes the trace.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_pkg redis-server /usr/bin/redis-server
need_build
TMP=$(mktemp -d)
REC=
cleanup() {
    [ -n "$REC" ] && kill -TERM "$REC" 2>/dev/null && wait "$REC" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/client.py" <<'PY'
import random, socket, sys

port, rounds = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(11)
NKEYS = 20000
SIZES = [16, 24, 40, 64, 100, 180, 300, 500, 900, 1500, 2500, 4000]

def value(n):
    return (b"%08d" % rng.randrange(10**8)) * (n // 8) + b"v" * (n % 8)

def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf, self.pos = b"", 0
    def fill(self):
        d = self.s.recv(262144)
        if not d:
            raise SystemExit("redis closed the connection")
        self.buf = self.buf[self.pos:] + d
        self.pos = 0
    def line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                l, self.pos = self.buf[self.pos:i], i + 2
                return l
            self.fill()
    def reply(self):
        l = self.line()
        t = l[:1]
        if t == b"-":
            raise SystemExit("redis error: %r" % l)
        if t in (b"+", b":"):
            return l
        if t == b"$":
            n = int(l[1:])
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self.fill()
            d = self.buf[self.pos:self.pos + n]
            self.pos += n + 2
            return d
        if t == b"*":
            return [self.reply() for _ in range(int(l[1:]))]
        raise SystemExit("bad reply %r" % l[:80])

def key():
    return b"k:%d" % min(int(rng.expovariate(1.0 / 5000)), NKEYS - 1)

def command():
    r = rng.random()
    if r < 0.35:
        return ("GET", key())
    if r < 0.40:
        return ("MGET",) + tuple(b"k:%d" % rng.randrange(NKEYS) for _ in range(rng.randint(2, 12)))
    if r < 0.62:
        return ("SET", key(), value(rng.choice(SIZES) + rng.randrange(16)))
    if r < 0.66:
        return ("INCR", b"n:%d" % rng.randrange(2000))
    if r < 0.74:
        h = b"h:%d" % rng.randrange(3000)
        return ("HSET", h, b"f%d" % rng.randrange(40), value(rng.choice(SIZES[:7])))
    if r < 0.76:
        return ("HGETALL", b"h:%d" % rng.randrange(3000))
    if r < 0.83:
        return ("LPUSH", b"l:%d" % rng.randrange(500), value(rng.choice(SIZES[:9])))
    if r < 0.85:
        return ("LRANGE", b"l:%d" % rng.randrange(500), 0, rng.randint(5, 60))
    if r < 0.89:
        return ("LPOP", b"l:%d" % rng.randrange(500))
    if r < 0.94:
        return ("SADD", b"s:%d" % rng.randrange(1000), b"m%d" % rng.randrange(200000))
    if r < 0.95:
        return ("SMEMBERS", b"s:%d" % rng.randrange(1000))
    if r < 0.98:
        return ("DEL", rng.choice([key(), b"h:%d" % rng.randrange(3000), b"l:%d" % rng.randrange(500)]))
    return ("EXPIRE", key(), rng.randint(1, 3))

conns = [Conn() for _ in range(8)]

def run(nrounds):
    sent = 0
    for _ in range(nrounds):
        counts = []
        for c in conns:  # every connection gets its batch before any reply is read
            n = rng.randint(1, 40)
            c.s.sendall(b"".join(resp(*command()) for _ in range(n)))
            counts.append(n)
        for c, n in zip(conns, counts):
            for _ in range(n):
                c.reply()
        sent += sum(counts)
    return sent

total = run(rounds)
c = conns[0]
c.s.sendall(resp("DBSIZE")); before = c.reply()
c.s.sendall(resp("FLUSHALL", "ASYNC")); c.reply()
total += run(rounds // 4)
c.s.sendall(resp("DBSIZE")); after = c.reply()
print("requests %d; keys before FLUSHALL ASYNC %s, at the end %s" % (total, before.decode(), after.decode()))
PY

PORT=$(free_port)
"$AT" record -o "$TMP/redis.trace.zst" --idle-gap 0 -- \
    /usr/bin/redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no \
    --daemonize no --supervised no --logfile "" --dir "$TMP" --protected-mode yes \
    --io-threads 2 --io-threads-do-reads yes \
    --lazyfree-lazy-user-del yes --lazyfree-lazy-user-flush yes --lazyfree-lazy-expire yes \
    >"$TMP/log" 2>"$TMP/summary" &
REC=$!
wait_port "$PORT" "$REC"
"$PY" "$TMP/client.py" "$PORT" 700 >&2
kill -TERM "$REC"
rc=0
wait "$REC" || rc=$?
REC=
cat "$TMP/summary" >&2
[ "$rc" -eq 0 ] || { tail -n 20 "$TMP/log" >&2; echo "redis-server under record exited with status $rc" >&2; exit 1; }
finish redis "$TMP/redis.trace.zst"
