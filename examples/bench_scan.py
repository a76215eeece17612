"""Scan throughput of pref_instances with 1 and 2 DuckDB threads, next to DuckDB's own read_parquet.

Writes build/bench/scan.parquet (the bundled pairs repeated, each text made unique, in row groups of
10,000 rows, so the parallel scan has units to share), then times
    SELECT count(*), sum(length(prompt)) FROM <reader>
for each reader and thread count (best of --repeat runs, each in a fresh connection) and checks that
every run gives the same two figures. On Linux it also shows how the query's CPU time spread over the
process's threads (from /proc/self/task), which shows the parallelism even on a machine too busy for
the wall-clock time to drop.

usage: .venv/duckdb-1.5.6/bin/python examples/bench_scan.py [target_gb] [--extension PATH] [--repeat N]
The extension defaults to build/prefroute.duckdb_extension (say which build it is when quoting figures).
"""
import argparse
import os
import time

import duckdb

OUT = "build/bench/scan.parquet"


def generate(target_gb: float) -> None:
    con = duckdb.connect()
    src = ("read_parquet(['examples/data/llmbar.parquet', 'examples/data/pandalm_test.parquet', "
           "'examples/data/hh_rlhf_harmless_test.parquet'], union_by_name = true)")
    per_copy = con.execute(
        f"SELECT sum(strlen(prompt) + strlen(completion_a) + strlen(completion_b)) FROM {src}").fetchone()[0]
    copies = max(1, int(target_gb * 1e9 / per_copy))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    con.execute(f"""
        COPY (SELECT c.i || '-' || s.id AS id, s.prompt || ' #' || c.i AS prompt,
                     s.completion_a || ' #' || c.i AS completion_a, s.completion_b || ' #' || c.i AS completion_b,
                     s.human_pref, s.ai_pref
              FROM range({copies}) c(i), {src} s)
        TO '{OUT}' (FORMAT parquet, ROW_GROUP_SIZE 10000)""")


def thread_cpu() -> dict:
    """CPU time (clock ticks) of each thread of this process; empty where /proc is missing."""
    ticks = {}
    try:
        for t in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{t}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks[t] = int(fields[11]) + int(fields[12])
    except OSError:
        pass
    return ticks


def run(extension: str, reader: str, threads: int, repeat: int):
    best, result, spread = float("inf"), None, []
    for _ in range(repeat):
        con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
        con.execute(f"LOAD '{extension}'")
        con.execute(f"SET threads = {threads}")
        con.execute("SET enable_progress_bar = false")
        before, t = thread_cpu(), time.perf_counter()
        r = con.execute(f"SELECT count(*), sum(length(prompt)) FROM {reader}('{OUT}')").fetchone()
        dt, after = time.perf_counter() - t, thread_cpu()
        if dt < best:
            best = dt
            used = [after[k] - before.get(k, 0) for k in after]
            spread = sorted((u for u in used if u > 0), reverse=True)
        if result not in (None, r):
            raise SystemExit(f"{reader} with {threads} threads gave {r}, earlier {result}")
        result = r
        con.close()
    return best, result, spread


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target_gb", nargs="?", type=float, default=0.25)
    ap.add_argument("--extension", default="build/prefroute.duckdb_extension")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists(OUT) or abs(os.path.getsize(OUT) / 1e9 - args.target_gb) > 0.5 * args.target_gb:
        generate(args.target_gb)
    meta = duckdb.connect().execute(
        f"SELECT count(DISTINCT row_group_id), max(row_group_num_rows) FROM parquet_metadata('{OUT}')").fetchone()
    print(f"{OUT}: {os.path.getsize(OUT) / 1e6:.0f} MB, {meta[0]} row groups; duckdb {duckdb.__version__}")
    results = set()
    for reader in ("pref_instances", "read_parquet"):
        base = None
        for threads in (1, 2):
            dt, r, spread = run(args.extension, reader, threads, args.repeat)
            results.add(r)
            base = base or dt
            print(f"{reader:15s} threads={threads}: {dt:6.2f} s  ({r[0] / dt:9.0f} rows/s, x{base / dt:.2f})  "
                  f"CPU ticks per thread {spread}  {r}")
    if len(results) != 1:
        raise SystemExit(f"readers disagree: {results}")


if __name__ == "__main__":
    main()
