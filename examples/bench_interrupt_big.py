#!/usr/bin/env python3
"""Interrupt latency of whole-input work on the 1 GB file (examples/bench_big_file.py writes it to
build/bench/big.parquet): interrupts each query after 3 s and prints how long DuckDB took to return
"Interrupted!". tag_instances' first read (every row's token counts) and route_instances (tags every row
before its first output row) cannot stop inside their whole-input pass; this measures what that means.

    .venv/ref/bin/python examples/bench_big_file.py 1.0   # once, writes the file (and times tagging)
    .venv/duckdb-1.5.6/bin/python examples/bench_interrupt_big.py
"""
import threading
import time

import duckdb

QUERIES = [
    ("tag_instances (first read)", "SELECT count(*) FROM tag_instances('build/bench/big.parquet', tfidf := false)"),
    ("route_instances (whole input)", "SELECT count(*) FROM route_instances('build/bench/big.parquet', 0.37)"),
]

con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD 'build/release/prefroute.duckdb_extension'")
rows = con.execute("SELECT count(*) FROM read_parquet('build/bench/big.parquet')").fetchone()[0]
print(f"rows: {rows}")
for name, sql in QUERIES:
    fired = {}
    timer = threading.Timer(3.0, lambda: (fired.setdefault("t", time.time()), con.interrupt()))
    timer.start()
    t0 = time.time()
    try:
        con.execute(sql).fetchall()
        outcome = "finished"
    except Exception as e:  # DuckDB's InterruptException
        outcome = type(e).__name__
    end = time.time()
    timer.cancel()
    print(f"{name}: interrupted after 3.0 s -> {outcome} after {end - fired.get('t', end):.2f} s "
          f"(total {end - t0:.1f} s)", flush=True)
    con.execute("SELECT 1").fetchall()  # the connection is still usable
