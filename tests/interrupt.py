#!/usr/bin/env python3
"""A long prefroute query can be interrupted, and the connection stays usable.

usage: python3 tests/interrupt.py --python .venv/duckdb-1.5.6/bin/python \\
           --extension build/prefroute.duckdb_extension --model-dir .cache/models/all-MiniLM-L6-v2
       python3 tests/interrupt.py ... --bench 5      the latency benchmark (median of 5 interrupts)

Test mode: `tag_instances` with the embedding model on examples/data/llmbar.parquet (a minute or more of
work) is interrupted from another thread after --after seconds (`con.interrupt()`, what Ctrl-C does in
the Python shell and the CLI). The query must fail with DuckDB's "Interrupted" error (not finish, not
crash), and the same connection must then answer a plain query and a prefroute query with the right
result. The host runs in a subprocess, so a crash is reported as a failure naming the signal. The time
from the interrupt to the error is printed, not asserted (latency is a benchmark figure: use --bench on a
quiet machine with the release build).
"""

import argparse
import json
import statistics
import sys

from host_process import run_host

# Runs inside the host. Prints one JSON line per run.
PROBE = r"""
import json, sys, threading, time
import duckdb
ext, model_dir, after, runs, query = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + ext.replace("'", "''") + "'")
query = query.replace("__MODEL_DIR__", model_dir.replace("'", "''"))
for run in range(runs):
    outcome = {}
    def work():
        t0 = time.monotonic()
        try:
            outcome["result"] = con.execute(query).fetchall()
        except Exception as e:
            outcome["error"] = str(e)
        outcome["ended"] = time.monotonic()
        outcome["took"] = outcome["ended"] - t0
    t = threading.Thread(target=work)
    t.start()
    time.sleep(after)
    interrupted_at = time.monotonic()
    con.interrupt()
    t.join()
    latency = outcome["ended"] - interrupted_at
    # The same connection afterwards: plain SQL and prefroute.
    plain = con.execute("SELECT 40 + 2").fetchone()[0]
    again = con.execute(
        "SELECT count(*), count(rouge) FROM tag_instances('tests/fixtures/llmbar_slice.parquet', tfidf := false)"
    ).fetchone()
    print(json.dumps({"run": run, "error": outcome.get("error"), "finished": "result" in outcome,
                      "latency": latency, "took": outcome["took"], "plain": plain, "again": list(again)}),
          flush=True)
"""

QUERIES = {
    "tag_instances": "SELECT count(*) FROM tag_instances('examples/data/llmbar.parquet', model_dir := '__MODEL_DIR__')",
}


def main() -> int:
    ap = argparse.ArgumentParser(description="interrupt a long prefroute query; the connection must stay usable")
    ap.add_argument("--python", required=True, help="interpreter with the duckdb package (the host)")
    ap.add_argument("--extension", required=True, help="path of prefroute.duckdb_extension")
    ap.add_argument("--model-dir", required=True, help="the embedding model directory (make model)")
    ap.add_argument("--after", type=float, default=3.0, help="seconds before the interrupt (default 3)")
    ap.add_argument("--bench", type=int, default=0, metavar="N", help="interrupt N times and print the median latency")
    ap.add_argument("--query", default="tag_instances", help="a name in QUERIES, or SQL (__MODEL_DIR__ is replaced)")
    args = ap.parse_args()
    query = QUERIES.get(args.query, args.query)
    runs = max(args.bench, 1)
    proc, failure = run_host(
        [args.python, "-c", PROBE, args.extension, args.model_dir, str(args.after), str(runs), query],
        timeout=600 + 300 * runs,
    )
    if failure:
        print(failure)
        return 1
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(results) != runs:
        print(f"FAIL  expected {runs} runs, got:\n{proc.stdout}\n{proc.stderr[-3000:]}")
        return 1
    problems = []
    for r in results:
        if r["finished"]:
            problems.append(f"run {r['run']}: the query finished ({r['took']:.1f} s) instead of being interrupted")
        elif "Interrupted" not in (r["error"] or ""):
            problems.append(f"run {r['run']}: the query failed with {r['error']!r}, not DuckDB's interrupt")
        if r["plain"] != 42:
            problems.append(f"run {r['run']}: the connection answered {r['plain']!r} to SELECT 40 + 2 afterwards")
        if r["again"] != [20, 20]:
            problems.append(f"run {r['run']}: a prefroute query afterwards gave {r['again']!r}, not [20, 20]")
        print(f"      run {r['run']}: interrupt after {args.after:.1f} s -> error after {r['latency']:.2f} s")
    if problems:
        print("FAIL  " + "\n      ".join(problems))
        return 1
    latencies = sorted(r["latency"] for r in results)
    print(f"PASS  {args.query} interrupted {runs}x, connection usable after each; "
          f"latency median {statistics.median(latencies):.2f} s (min {latencies[0]:.2f}, max {latencies[-1]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
