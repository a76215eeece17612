"""The relation form beside the path form, in one run: tagging about 1,000,000 rows with
pref_stats + pref_tags over a DuckDB table, against tag_instances on the same rows written to Parquet,
with DuckDB's own scan of the same data as the floor; then scoring every row with risk_score.

Each step runs in a child process (its peak resident memory is that process's own, VmHWM), with `SET threads`;
its CPU time (user + system, all threads) is the work done, which a loaded machine inflates far less than the
wall time.
The rows: examples/bench_big_file.py's file (the bundled pairs repeated, each text made unique), made
if missing. Needs the release build (make release).

usage: .venv/ref/bin/python examples/bench_relation.py [target_gb] [--threads N]
"""
import argparse
import os
import subprocess
import sys

EXT = "build/release/prefroute.duckdb_extension"
BIG = "build/bench/big.parquet"
DB = "build/bench/big.duckdb"

CHILD = r"""
import duckdb, os, sys, time
con = duckdb.connect(sys.argv[1], config={'allow_unsigned_extensions': 'true'})
con.execute("LOAD '%(ext)s'")
con.execute("SET threads = %(threads)d")
con.execute("SET enable_progress_bar = false")
t, c = time.time(), os.times()
row = con.execute(sys.argv[2]).fetchone()
dt, c2 = time.time() - t, os.times()
cpu = (c2.user - c.user) + (c2.system - c.system)
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across fork and exec).
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))
print(repr(row), dt, cpu, hwm / 1024)
"""

STATS = "(SELECT pref_stats(prompt, completion_a, completion_b) FROM pairs)"


def run(db, sql, ext, threads):
    child = CHILD % {"ext": ext, "threads": threads}
    out = subprocess.run([sys.executable, "-c", child, db, sql], check=True, capture_output=True, text=True)
    row, dt, cpu, rss = out.stdout.rsplit(" ", 3)
    return row, float(dt), float(cpu), float(rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target_gb", nargs="?", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not os.path.exists(BIG):
        subprocess.run([sys.executable, "examples/bench_big_file.py", str(args.target_gb), "--make-only"], check=True)
    import duckdb

    if not os.path.exists(DB):
        con = duckdb.connect(DB)
        con.execute(f"CREATE TABLE pairs AS SELECT * FROM read_parquet('{BIG}')")
        con.close()
    n = duckdb.connect(DB, read_only=True).execute("SELECT count(*) FROM pairs").fetchone()[0]
    print(f"{n:,} rows; {args.threads} threads; {EXT}", flush=True)
    steps = [
        ("DuckDB's scan of the texts (floor)", DB,
         "SELECT count(*), sum(strlen(prompt) + strlen(completion_a) + strlen(completion_b)) FROM pairs"),
        ("pref_stats over the table", DB, f"SELECT octet_length({STATS})"),
        ("a stats value per row (pref_stats_info)", DB,
         f"SELECT count(*), sum(pref_stats_info(s.v).rows) FROM pairs, (SELECT {STATS} AS v) s"),
        ("pref_stats + pref_tags over the table", DB,
         f"SELECT count(*), sum(len(t.tags)) FROM (SELECT pref_tags(prompt, completion_a, completion_b, {STATS}) AS t FROM pairs)"),
        ("tag_instances on the Parquet file", ":memory:",
         f"SELECT count(*), sum(len(tags)) FROM tag_instances('{BIG}')"),
    ]
    results = {}
    for name, db, sql in steps:
        row, dt, cpu, rss = run(db, sql, EXT, args.threads)
        results[name] = dt
        print(f"{name:45s} {dt:7.1f} s  {n / dt:9,.0f} rows/s  CPU {cpu:6.1f} s ({1e6 * cpu / n:5.1f} µs/row)  "
              f"peak RSS {rss:6.0f} MB  -> {row}", flush=True)
    rel, path = results["pref_stats + pref_tags over the table"], results["tag_instances on the Parquet file"]
    print(f"relation form vs tag_instances: {path / rel:.2f}x", flush=True)

    # Scoring: a judge-error model fitted on the bundled llmbar pairs, applied to every row's tags.
    con = duckdb.connect(DB, config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{EXT}'")
    con.execute(f"SET threads = {args.threads}")
    if "tagged" not in [r[0] for r in con.execute("SHOW TABLES").fetchall()]:
        con.execute(f"""CREATE TABLE tagged AS SELECT id, ai_pref, pref_tags(prompt, completion_a, completion_b, {STATS}) AS t
                        FROM pairs""")
    # The big file has no swapped-order label: every feature risk_fit offers on llmbar but that one.
    auto = con.execute("SELECT features FROM risk_fit('examples/data/llmbar.parquet')").fetchone()[0]
    wanted = [f for f in auto if f != "ai_inconsistent"]
    model = con.execute("SELECT model_json FROM risk_fit('examples/data/llmbar.parquet', features := ?)", [wanted]).fetchone()[0]
    con.execute("CREATE OR REPLACE TABLE model AS SELECT ? AS m", [model])
    con.close()
    row, dt, cpu, rss = run(DB, "SELECT count(*), sum(risk_score((SELECT m FROM model), t, ai_pref)) FROM tagged", EXT, args.threads)
    print(f"{'risk_score over the tagged table':45s} {dt:7.2f} s  {n / dt:9,.0f} rows/s  CPU {cpu:6.1f} s  "
          f"peak RSS {rss:6.0f} MB  -> {row}")


if __name__ == "__main__":
    main()
