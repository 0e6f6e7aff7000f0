#!/bin/bash
# sqlite3.sh - re-record workloads/sqlite3.trace.zst: the sqlite3 shell (Debian package
# sqlite3) on a scripted database in a file: two tables, 10,000 customers and 100,000
# orders inserted one INSERT at a time in transactions of 5,000, three indexes, joins,
# group-by and order-by queries, an update, a delete and a VACUUM. The SQL is made by a
# fixed LCG, so every run feeds sqlite3 the same statements. One thread.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_pkg sqlite3 /usr/bin/sqlite3
need_build
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$PY" - >"$TMP/load.sql" <<'PY'
x = 12345
def rnd(n):
    global x
    x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    return (x >> 33) % n
words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
cities = ["city%02d" % i for i in range(60)]
def text(maxw):
    return " ".join(words[rnd(len(words))] for _ in range(1 + rnd(maxw)))
print("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, created INTEGER);")
print("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT UNIQUE, price REAL);")
print("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, product INTEGER, qty INTEGER, note TEXT);")
print("BEGIN;")
for i in range(500):
    print("INSERT INTO products (name, price) VALUES ('p%d %s', %d.%02d);" % (i, text(3), 1 + rnd(500), rnd(100)))
for i in range(10000):
    print("INSERT INTO customers (name, city, created) VALUES ('%s %d', '%s', %d);"
          % (text(2), i, cities[rnd(len(cities))], 1600000000 + rnd(100000000)))
print("COMMIT;")
for t in range(20):
    print("BEGIN;")
    for i in range(5000):
        print("INSERT INTO orders (customer, product, qty, note) VALUES (%d, %d, %d, '%s');"
              % (1 + rnd(10000), 1 + rnd(500), 1 + rnd(20), text(12)))
    print("COMMIT;")
print("CREATE INDEX orders_customer ON orders (customer);")
print("CREATE INDEX orders_product ON orders (product, qty);")
print("CREATE INDEX customers_city ON customers (city);")
print("SELECT count(*), sum(qty) FROM orders;")
print("SELECT c.city, count(*), round(sum(o.qty * p.price), 2) AS total FROM orders o"
      " JOIN customers c ON c.id = o.customer JOIN products p ON p.id = o.product"
      " GROUP BY c.city ORDER BY total DESC LIMIT 5;")
print("SELECT p.name, sum(o.qty) AS n FROM orders o JOIN products p ON p.id = o.product"
      " GROUP BY p.id ORDER BY n DESC, p.name LIMIT 5;")
print("SELECT c.name, count(*) AS n, group_concat(o.id) FROM customers c JOIN orders o ON o.customer = c.id"
      " WHERE c.city = 'city07' GROUP BY c.id ORDER BY n DESC, c.id LIMIT 3;")
print("SELECT length(note) / 10 AS b, count(*) FROM orders GROUP BY b ORDER BY b;")
print("SELECT note, count(*) FROM orders GROUP BY note HAVING count(*) > 3 ORDER BY count(*) DESC, note LIMIT 5;")
print("SELECT id, upper(note) FROM orders ORDER BY note DESC, id LIMIT 3;")
print("BEGIN;")
print("UPDATE orders SET note = note || ' (rush)', qty = qty + 1 WHERE id % 7 = 0;")
print("DELETE FROM orders WHERE qty > 18;")
print("COMMIT;")
print("SELECT city, count(DISTINCT o.product) FROM customers c JOIN orders o ON o.customer = c.id"
      " GROUP BY city ORDER BY city LIMIT 3;")
print("VACUUM;")
print("PRAGMA integrity_check;")
PY

# exec: OUT is the trace of the last program sh's pid runs, sqlite3.
"$AT" record -o "$TMP/sqlite3.trace.zst" --idle-gap 0 -- \
    sh -c "exec /usr/bin/sqlite3 '$TMP/db.sqlite' <'$TMP/load.sql'" >"$TMP/out"
tail -n 3 "$TMP/out" >&2
grep -qx ok "$TMP/out" || { echo "sqlite3's integrity_check did not print ok" >&2; exit 1; }
finish sqlite3 "$TMP/sqlite3.trace.zst"
