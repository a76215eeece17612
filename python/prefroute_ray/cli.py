"""python -m prefroute_ray tag|route INPUT... --extension EXT --out DIR [...]"""

from __future__ import annotations

import argparse
import json
import sys

from .job import JobError, JobSpec, RayOptions, run_local, run_ray


def parser():
    ap = argparse.ArgumentParser(
        prog="python -m prefroute_ray",
        description="Tag (and judge-score, and route) preference pairs with the prefroute DuckDB extension on a "
                    "Ray cluster; the output equals one DuckDB process's, byte for byte.")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, what in (("tag", "tag every pair (and score P(judge wrong) with --risk-model)"),
                       ("route", "tag, score, and send the likeliest judge errors to humans within --budget")):
        p = sub.add_parser(name, help=what, description=what)
        p.add_argument("inputs", nargs="+", help="Parquet files or globs with id, prompt, completion_a, "
                                                 "completion_b (and ai_pref, ai_pref_alt, ai_confidence)")
        p.add_argument("--extension", required=True, help="path of prefroute.duckdb_extension")
        p.add_argument("--out", required=True, help="output directory (tags.parquet, routing.parquet); on a "
                                                    "cluster, shared storage every node can write")
        p.add_argument("--model-dir", help="sentence-transformers directory: the embedding measures")
        p.add_argument("--risk-model", required=name == "route",
                       help="judge-error model: the file risk_fit(..., save := ...) wrote, or risk_model's JSON")
        if name == "route":
            p.add_argument("--budget", type=float, required=True,
                           help="a fraction in [0, 1] or a count > 1, as route_instances")
        p.add_argument("--tokenizer", default="cl100k_base", choices=["cl100k_base", "o200k_base"])
        p.add_argument("--no-tfidf", action="store_true", help="skip tfidf_cosine")
        p.add_argument("--slice-rows", type=int, default=20_000, help="rows per slice (default 20000)")
        p.add_argument("--engine", choices=["ray", "duckdb"], default="ray",
                       help="ray (default), or duckdb: the same job in this process (the reference)")
        p.add_argument("--address", help="join a running cluster ('auto', host:port or ray://host:10001); "
                                         "default: start a local one")
        p.add_argument("--num-cpus", type=int, help="CPUs of the local cluster (default: all)")
        p.add_argument("--workers", type=int, help="actors per pass (default: the cluster's CPUs)")
        p.add_argument("--cpus-per-worker", type=float,
                       help="CPUs per actor; DuckDB threads = max(1, floor). Default min(1, CPUs/(workers+1))")
        p.add_argument("--ship", choices=["working_dir", "shared"], default="working_dir",
                       help="working_dir (default): upload the extension and model with runtime_env; "
                            "shared: workers read them at the same paths (shared storage)")
        p.add_argument("--threads", type=int, default=2, help="DuckDB threads for --engine duckdb")
        p.add_argument("--no-progress", action="store_true", help="no progress bars or worker logs")
    return ap


def main(argv=None):
    a = parser().parse_args(argv)
    spec = JobSpec(inputs=a.inputs, extension=a.extension, out_dir=a.out, model_dir=a.model_dir,
                   risk_model=a.risk_model, budget=getattr(a, "budget", None), tokenizer=a.tokenizer,
                   tfidf=not a.no_tfidf, slice_rows=a.slice_rows)
    try:
        if a.engine == "duckdb":
            summary = run_local(spec, threads=a.threads)
        else:
            summary = run_ray(spec, RayOptions(address=a.address, num_cpus=a.num_cpus, workers=a.workers,
                                               cpus_per_worker=a.cpus_per_worker, ship=a.ship,
                                               progress=not a.no_progress))
    except JobError as e:
        print(f"prefroute_ray: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(summary, indent=1))
