#!/usr/bin/env python3
"""The Ray job (python/prefroute_ray) beside the same job in one DuckDB process, on this machine.

1. ~1M rows without embeddings (build/bench/big.parquet, 1,028,020 pairs): tag, score with a judge-error model
   and route 25 %; one DuckDB process (2 threads) vs Ray on a local cluster (2 actors).
2. 2,000 pairs with the embedding model (the first 2,000 of hh-rlhf): tag, both ways.
3. A projection for 10M pairs with embeddings on N workers, from the per-worker rates measured in 2 and the
   driver's rates measured in 1.

Each run is a separate process (`python -m prefroute_ray ...`), so its wall time includes starting Ray, and
its peak memory is its own (the Ray runs also report their workers' peaks). The outputs of both engines are
compared byte for byte.

Usage: .venv/ray/bin/python examples/bench_ray.py --extension build/release/prefroute.duckdb_extension \
           --model-dir .cache/models/all-MiniLM-L6-v2 [--big build/bench/big.parquet] [--skip-big]
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import duckdb


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def run(cmd):
    """Runs one job in a child process: (summary, wall seconds, peak RSS in MB of the largest process of its
    tree: the child's rusage from wait4 covers the descendants it waited for, Ray's node processes too)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{stderr[-3000:]}")
    return json.loads(stdout[stdout.index("{"):]), wall, usage.ru_maxrss // 1024


def job(kind, inputs, out, args, engine, extra=()):
    cmd = [sys.executable, "-m", "prefroute_ray", kind, *inputs, "--extension", args.extension, "--out", out,
           "--engine", engine, "--no-progress", *extra]
    if engine == "ray":
        cmd += ["--num-cpus", str(args.cpus), "--workers", str(args.workers)]
    else:
        cmd += ["--threads", str(args.cpus)]
    return run(cmd)


def compare(a, b, files):
    return all(sha(os.path.join(a, f)) == sha(os.path.join(b, f)) for f in files)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", default="build/release/prefroute.duckdb_extension")
    ap.add_argument("--model-dir", default=".cache/models/all-MiniLM-L6-v2")
    ap.add_argument("--big", default="build/bench/big.parquet")
    ap.add_argument("--embed-pairs", type=int, default=2000)
    ap.add_argument("--cpus", type=int, default=2, help="local Ray cluster CPUs = DuckDB threads (default 2)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--skip-embed", action="store_true")
    args = ap.parse_args()
    args.extension = os.path.abspath(args.extension)
    print(f"bench_ray: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
          f"{os.cpu_count()} cores, ray {__import__('ray').__version__}, DuckDB {duckdb.__version__}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
        con.execute(f"LOAD '{args.extension}'")
        # A judge-error model from a 200-row seed of llmbar, without the swapped-order label (big.parquet
        # has only ai_pref).
        seed, model = os.path.join(tmp, "seed.parquet"), os.path.join(tmp, "risk.json")
        con.execute(f"""COPY (SELECT * EXCLUDE (ai_pref_alt, ai_judge_alt) FROM 'examples/data/llmbar.parquet'
                              LIMIT 200) TO '{seed}'""")
        con.execute(f"SELECT * FROM risk_fit('{seed}', save := '{model}')").fetchall()
        big = {}
        if not args.skip_big:
            n = con.execute(f"SELECT count(*) FROM '{args.big}'").fetchone()[0]
            extra = ["--risk-model", model, "--budget", "0.25"]
            for engine in ("duckdb", "ray"):
                s, wall, rss = job("route", [args.big], os.path.join(tmp, f"big-{engine}"), args, engine, extra)
                big[engine] = (s, wall, rss)
                print(f"  {n} rows, no embeddings, {engine}: {wall:.1f} s, peak {rss} MB: {json.dumps(s)}", flush=True)
            same = compare(os.path.join(tmp, "big-duckdb"), os.path.join(tmp, "big-ray"),
                           ["tags.parquet", "routing.parquet"])
            rows.append((f"{n:,} pairs, no embeddings (tag + score + route 25 %)", big, same, n))
        emb = {}
        if not args.skip_embed:
            cut = os.path.join(tmp, "embed.parquet")
            con.execute(f"COPY (SELECT * FROM 'examples/data/hh_rlhf_harmless_test.parquet' LIMIT {args.embed_pairs})"
                        f" TO '{cut}'")
            for engine in ("duckdb", "ray"):
                s, wall, rss = job("tag", [cut], os.path.join(tmp, f"emb-{engine}"), args, engine,
                                   ["--model-dir", args.model_dir, "--slice-rows", "100"])
                emb[engine] = (s, wall, rss)
                print(f"  {args.embed_pairs} pairs with embeddings, {engine}: {wall:.1f} s, peak {rss} MB: "
                      f"{json.dumps(s)}", flush=True)
            same = compare(os.path.join(tmp, "emb-duckdb"), os.path.join(tmp, "emb-ray"), ["tags.parquet"])
            rows.append((f"{args.embed_pairs:,} pairs with the embedding model (tag)", emb, same, args.embed_pairs))

    print()
    print("| job | one DuckDB process | Ray, local cluster | Ray / DuckDB | outputs byte-identical |")
    print("|---|---:|---:|---:|---|")
    for what, r, same, n in rows:
        d, ry = r["duckdb"], r["ray"]
        print(f"| {what} | {d[1]:.1f} s ({n / d[1]:,.0f} pairs/s), largest process {d[2]} MB | {ry[1]:.1f} s "
              f"({n / ry[1]:,.0f} pairs/s), largest process {ry[2]} MB, workers ≤ {max(ry[0]['worker_peak_rss_mb'].values())} MB "
              f"| {ry[1] / d[1]:.2f}× | {'yes' if same else 'NO'} |")
    if emb:
        s = emb["ray"][0]
        n = s["rows"]
        r_tags = n / s["worker_seconds"]["tags"]  # pairs/s of one worker (1 DuckDB thread) with embeddings
        r_stats = n / s["worker_seconds"]["stats"]
        if big:  # pass 1 reads no embeddings: its rate from the 1M rows, not from a few slices
            b = big["ray"][0]
            r_stats = b["rows"] / b["worker_seconds"]["stats"]
        fixed = s["timings"]["init"] + (s["timings"]["stats"] - s["worker_seconds"]["stats"] / s["workers"]) + \
            (s["timings"]["tags"] - s["worker_seconds"]["tags"] / s["workers"])
        # The driver's share (merge and the final ordered write) from the 1M run, per row.
        drv = None
        if big:
            b = big["ray"][0]
            drv = (b["timings"]["finish"] + b["timings"]["merge"]) / b["rows"]
        print()
        print(f"Per worker (1 CPU, 1 DuckDB thread), measured: pass 1 (pref_stats) {r_stats:,.0f} "
              f"pairs/s, pass 2 with embeddings {r_tags:,.1f} pairs/s (on the {n} pairs); fixed cost (Ray start, two actor pools, "
              f"scheduling) {fixed:.1f} s" + (f"; driver merge + final write {drv * 1e6:.1f} s per million rows"
                                             if drv else ""))
        print()
        print("| workers | projected wall time for 10M pairs with embeddings |")
        print("|---:|---:|")
        N = 10_000_000
        for w in (1, 2, 8, 32, 128, 512):
            t = fixed + N / (w * r_stats) + N / (w * r_tags) + (drv * N if drv else 0)
            print(f"| {w} | {t / 3600:,.1f} h ({t:,.0f} s) |")


if __name__ == "__main__":
    main()
