#!/usr/bin/env python3
"""The README's router table: route_eval on the bundled LLMBar and PandaLM files (both carry ai_pref_alt),
5-fold cross-fitted, budgets 0.1, 0.2, 0.3, 0.5, for paper-prior, random and the judge-error model
('risk'); then 'risk' with a labelled seed of 5, 10, 20 and 30 % (fitted on the seed, measured on the rest).

    .venv/duckdb-1.5.6/bin/python examples/route_eval_table.py \
        --extension build/release/prefroute.duckdb_extension [--model-dir .cache/models/all-MiniLM-L6-v2]

With --model-dir the embedding measures (cosine_sim, bertscore, bertscore_length) and their tags are
features too; they are computed once per file into a temporary copy beside the pairs (as sql/demo.sql
does), which every route_eval call then reads. Prints Markdown tables.
"""

import argparse
import os
import tempfile
import time

import duckdb

FILES = ["examples/data/llmbar.parquet", "examples/data/pandalm_test.parquet"]
BUDGETS = [0.1, 0.2, 0.3, 0.5]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    ap.add_argument("--model-dir", default="")
    args = ap.parse_args()
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{args.extension}'")
    md = "model_dir := ''"
    print(f"model_dir: {args.model_dir or '(none)'}\n")
    tmp = tempfile.mkdtemp()
    files = {}
    for f in FILES:
        if not args.model_dir:
            files[f] = f
            continue
        out = os.path.join(tmp, os.path.basename(f))
        t = time.time()
        con.execute(
            f"""COPY (SELECT p.*, t.cosine_sim, t.bertscore, t.bertscore_length FROM read_parquet('{f}') p
                JOIN tag_instances('{f}', model_dir := '{args.model_dir}', tfidf := false) t USING (id) ORDER BY p.id)
                TO '{out}' (FORMAT parquet)"""
        )
        print(f"<!-- embedding measures of {f}: {time.time() - t:.1f} s -->")
        files[f] = out
    print("| file | model | " + " | ".join(f"captured @ {b}" for b in BUDGETS) + " | mean |")
    print("|---|---|" + "---:|" * (len(BUDGETS) + 1))
    risk_means = []
    for f in FILES:
        t = time.time()
        rows = con.execute(
            f"SELECT model, list(captured ORDER BY budget) FROM route_eval('{files[f]}', {md}) GROUP BY model ORDER BY model"
        ).fetchall()
        for model, caps in rows:
            mean = sum(caps) / len(caps)
            if model == "risk":
                risk_means.append(mean)
            print(f"| {f.split('/')[-1]} | {model} | " + " | ".join(f"{c:.3f}" for c in caps) + f" | {mean:.3f} |")
        print(f"<!-- {f}: {time.time() - t:.1f} s -->")
    print(f"\nrisk, mean over both files and the four budgets: {sum(risk_means) / len(risk_means):.3f}\n")
    print("| file | seed_fraction | n measured | " + " | ".join(f"risk @ {b}" for b in BUDGETS) +
          " | paper-prior mean | random mean |")
    print("|---|---:|---:|" + "---:|" * (len(BUDGETS) + 2))
    for f in FILES:
        for frac in [0.05, 0.1, 0.2, 0.3]:
            rows = con.execute(
                f"SELECT model, min(n), list(captured ORDER BY budget) FROM route_eval('{files[f]}', {md}, "
                f"seed_fraction := {frac}) GROUP BY model ORDER BY model"
            ).fetchall()
            by = {m: (n, c) for m, n, c in rows}
            n, risk = by["risk"]
            mean = lambda m: sum(by[m][1]) / len(by[m][1])
            print(f"| {f.split('/')[-1]} | {frac} | {n} | " + " | ".join(f"{c:.3f}" for c in risk) +
                  f" | {mean('paper-prior'):.3f} | {mean('random'):.3f} |")


if __name__ == "__main__":
    main()
