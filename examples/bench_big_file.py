"""Memory on a large input: writes a ~1 GB Parquet file of unique preference pairs (the bundled pairs
repeated, each text made unique by a suffix, no compression), then runs tag_instances over it in a
child process and reports time and that process's peak resident memory.

usage: .venv/ref/bin/python examples/bench_big_file.py [target_gb] [--threads N]
Needs the release build (make release). The file goes to build/bench/big.parquet.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

EXT = "build/release/prefroute.duckdb_extension"
OUT = "build/bench/big.parquet"


def generate(target_gb: float) -> None:
    import duckdb

    con = duckdb.connect()
    src = "read_parquet(['examples/data/llmbar.parquet', 'examples/data/pandalm_test.parquet', 'examples/data/hh_rlhf_harmless_test.parquet'], union_by_name = true)"
    per_copy = con.execute(
        f"SELECT sum(strlen(prompt) + strlen(completion_a) + strlen(completion_b)) FROM {src}"
    ).fetchone()[0]
    copies = max(1, int(target_gb * 1e9 / per_copy))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    con.execute(f"""
        COPY (SELECT c.i || '-' || s.id AS id,
                     s.prompt || ' #' || c.i AS prompt,
                     s.completion_a || ' #' || c.i AS completion_a,
                     s.completion_b || ' #' || c.i AS completion_b,
                     s.human_pref, s.ai_pref
              FROM range({copies}) c(i), {src} s)
        TO '{OUT}' (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 100000)""")
    print(f"wrote {OUT}: {os.path.getsize(OUT) / 1e9:.2f} GB, {copies} copies of the bundled pairs", flush=True)


CHILD = """
import duckdb, resource, sys, time
con = duckdb.connect(config={'allow_unsigned_extensions': 'true'})
con.execute("LOAD '%s'")
con.execute("SET threads = %d")
con.execute("SET enable_progress_bar = false")
t = time.time()
n, tags = con.execute("SELECT count(*), sum(len(tags)) FROM tag_instances('%s', tfidf := %s)").fetchone()
dt = time.time() - t
print(n, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target_gb", nargs="?", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-tfidf", dest="tfidf", action="store_false",
                    help="tfidf := false (skip TF-IDF cosine, which is on by default, as in SQL)")
    ap.add_argument("--make-only", action="store_true", help="only write the file (for examples/bench_relation.py)")
    args = ap.parse_args()
    if not os.path.exists(OUT) or abs(os.path.getsize(OUT) / 1e9 - args.target_gb) > 0.25 * args.target_gb:
        generate(args.target_gb)
    if args.make_only:
        return
    size = os.path.getsize(OUT)
    out = subprocess.run([sys.executable, "-c", CHILD % (EXT, args.threads, OUT, str(args.tfidf).lower())], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    n, dt, peak_mb = out.stdout.split()[-3:]
    n, dt, peak_mb = int(n), float(dt), float(peak_mb)
    print(f"tag_instances over {size / 1e9:.2f} GB ({n} rows) with {args.threads} threads, "
          f"tfidf {str(args.tfidf).lower()}: {dt:.1f} s, "
          f"{n / dt:.0f} rows/s, peak RSS {peak_mb:.0f} MB ({peak_mb * 1e6 / size * 100:.0f} % of the file size)")


if __name__ == "__main__":
    main()
