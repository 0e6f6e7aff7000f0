#!/bin/bash
# python3.sh - re-record workloads/python3.trace.zst: Debian's /usr/bin/python3 (package python3;
# CPython with its own small-object allocator in front of malloc, so
# the trace holds what reaches malloc: objects over 512 bytes, buffers and containers)
# on a JSON + regex workload with a thread pool: the main thread builds JSON documents
# from a fixed-seed random generator, two worker threads (concurrent.futures) parse
# them, run regular expressions over them and re-encode a summary, and the main thread
# merges and sorts the results. Documents made on one thread are freed on another:
# cross-thread frees. Deterministic input; the thread interleaving is the OS's.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_build
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/work.py" <<'PY'
import json, random, re
from concurrent.futures import ThreadPoolExecutor

rng = random.Random(2024)
WORDS = ["alloc", "slab", "arena", "cache", "page", "chunk", "bin", "span", "heap",
         "thread", "magazine", "depot", "free", "list", "size", "class"]
EMAIL = re.compile(r"\b([a-z]+)\.([a-z]+)@([a-z]+)\.example\b")
NUM = re.compile(r"-?\d+(?:\.\d+)?")
WORD = re.compile(r"[a-z]{4,}")

def make_doc(i):
    n = rng.randint(5, 60)
    return json.dumps({
        "id": i,
        "user": "%s.%s@%s.example" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)),
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 12))],
        "items": [{"sku": "%s-%d" % (rng.choice(WORDS), rng.randint(1, 9999)),
                   "qty": rng.randint(1, 50), "price": round(rng.uniform(0.5, 300.0), 2),
                   "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40)))}
                  for _ in range(n)],
        "blob": "x" * rng.choice([16, 100, 600, 1500, 5000, 20000]),
    })

def work(batch):
    out = []
    for s in batch:
        d = json.loads(s)
        emails = EMAIL.findall(s)
        nums = [float(x) for x in NUM.findall(s)]
        words = {}
        for w in WORD.findall(s):
            words[w] = words.get(w, 0) + 1
        total = sum(it["qty"] * it["price"] for it in d["items"])
        red = re.sub(r"\d", "#", s[:2000])
        out.append(json.dumps({"id": d["id"], "emails": emails, "n": len(nums),
                               "top": sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
                               "total": round(total, 2), "red": red}))
    return out

results = []
with ThreadPoolExecutor(max_workers=2) as ex:
    for rnd_ in range(6):
        batches = [[make_doc(rnd_ * 10000 + b * 100 + j) for j in range(25)] for b in range(40)]
        for out in ex.map(work, batches):
            results.extend(json.loads(r) for r in out)
        if len(results) > 3000:
            results.sort(key=lambda r: (-r["total"], r["id"]))
            del results[1000:]
print(len(results), results[0]["id"], sum(r["n"] for r in results))
PY

"$AT" record -o "$TMP/python3.trace.zst" --idle-gap 0 -- "$PY" "$TMP/work.py" >&2
finish python3 "$TMP/python3.trace.zst"
