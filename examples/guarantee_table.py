#!/usr/bin/env python3
"""The README's table of the promise (confidence :=): guarantee_eval on the bundled LLMBar and PandaLM files
with 20 % and 50 % seeds, 100 seeded draws each, targets 0.85, 0.90, 0.95 at confidence 0.8, 0.9 and 0.95;
then the point estimate with Platt scaling (risk_fit's default, calibrate := 'platt') and without
(calibrate := 'none'), and the calibration of the probabilities the point estimate reads (ECE, 10 bins) on a
few seed/rest splits done by hand.

    .venv/duckdb-1.5.6/bin/python examples/guarantee_table.py \
        --extension build/release/prefroute.duckdb_extension [--draws 100] [--calibration-draws 10]

Prints Markdown tables.
"""

import argparse
import json
import os
import tempfile
import time

import duckdb

FILES = ["examples/data/llmbar.parquet", "examples/data/pandalm_test.parquet"]
FRACTIONS = [0.2, 0.5]
TARGETS = [0.85, 0.9, 0.95]
CONFIDENCES = [0.8, 0.9, 0.95]


def ece(p, y, bins=10):
    """Expected calibration error over equal-width bins (risk_fit's definition)."""
    total = [[0.0, 0.0, 0] for _ in range(bins)]
    for q, w in zip(p, y):
        b = min(int(q * bins), bins - 1)
        total[b][0] += q
        total[b][1] += w
        total[b][2] += 1
    return sum(abs(s - o) for s, o, c in total if c) / len(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--calibration-draws", type=int, default=10)
    args = ap.parse_args()
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{args.extension}'")
    t0 = time.time()
    rows = {}
    for f in FILES:
        for calibrate in ("none", "platt"):
            res = con.execute(
                f"""SELECT * FROM guarantee_eval('{f}', seed_fraction := {FRACTIONS}, target_accuracy := {TARGETS},
                    confidence := {CONFIDENCES}, draws := {args.draws}, calibrate := '{calibrate}')"""
            )
            cols = [d[0] for d in res.description]
            for r in res.fetchall():
                r = dict(zip(cols, r))
                rows[(f, calibrate, r["seed_fraction"], r["target_accuracy"], r["confidence"])] = r
    print(f"<!-- guarantee_eval: {time.time() - t0:.0f} s -->\n")
    print(f"| file | seed | target | met @ 0.8 | met @ 0.9 | met @ 0.95 | humans @ 0.8 | humans @ 0.9 | "
          "humans @ 0.95 | estimate: met | estimate: humans | ranking, hindsight: humans | oracle humans (median) |")
    print("|---|---:|---:|" + "---:|" * 10)
    for f in FILES:
        for fr in FRACTIONS:
            for t in TARGETS:
                r = {c: rows[(f, "platt", fr, t, c)] for c in CONFIDENCES}
                name = os.path.basename(f).removesuffix(".parquet")
                any_r = r[CONFIDENCES[0]]
                print(
                    f"| {name} | {fr:.0%} | {t} | "
                    + " | ".join(f"{r[c]['met']:.2f}" for c in CONFIDENCES)
                    + " | "
                    + " | ".join(f"{r[c]['human_share']:.3f}" for c in CONFIDENCES)
                    + f" | {any_r['estimate_met']:.2f} | {any_r['estimate_human_share']:.3f}"
                    + f" | {any_r['ranked_human_share']:.3f}"
                    + f" | {any_r['oracle_human_share']:.3f} ({any_r['oracle_median_share']:.3f}) |"
                )
    print("\nPoint estimate without Platt scaling (calibrate := 'none') and with (the default), share of draws meeting "
          "the target and mean human share:\n")
    print("| file | seed | target | met, no Platt | humans, no Platt | met, Platt | humans, Platt |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for f in FILES:
        for fr in FRACTIONS:
            for t in TARGETS:
                a, b = rows[(f, "none", fr, t, 0.9)], rows[(f, "platt", fr, t, 0.9)]
                name = os.path.basename(f).removesuffix(".parquet")
                print(f"| {name} | {fr:.0%} | {t} | {a['estimate_met']:.2f} | {a['estimate_human_share']:.3f} | "
                      f"{b['estimate_met']:.2f} | {b['estimate_human_share']:.3f} |")

    # Calibration by hand: seed = the random strategy's sample, risk_fit on it, p of the rest from route_instances.
    print("\nCalibration (ECE, 10 bins), mean over the splits: the seed's cross-fitted p (risk_fit's ece), the seed "
          "model's p on the rest without Platt scaling, and with it (fitted on the seed's cross-fitted p, as risk_fit "
          "stores it):\n")
    print("| file | seed | cross-fitted (seed) | rest | rest, Platt | mean p on rest | error rate on rest |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    tmp = tempfile.mkdtemp()
    for f in FILES:
        for fr in FRACTIONS:
            acc = [0.0] * 5
            for d in range(args.calibration_draws):
                seed_file, rest_file, model = (os.path.join(tmp, x) for x in ("seed.parquet", "rest.parquet", "risk.json"))
                con.execute(f"""CREATE OR REPLACE TEMP TABLE s AS SELECT id FROM route_instances('{f}', {fr},
                                strategy := 'random', seed := {42 + d}) WHERE route = 'human'""")
                con.execute(f"COPY (SELECT * FROM read_parquet('{f}') WHERE id IN (SELECT id FROM s)) TO '{seed_file}'")
                con.execute(f"COPY (SELECT * FROM read_parquet('{f}') WHERE id NOT IN (SELECT id FROM s)) TO '{rest_file}'")
                cross = con.execute(f"SELECT ece FROM risk_fit('{seed_file}', seed := {42 + d}, save := '{model}')").fetchone()[0]
                # The same model without its Platt scaling: the logistic model's own probabilities.
                raw = json.load(open(model))
                del raw["platt"]
                raw_model = os.path.join(tmp, "risk_raw.json")
                json.dump(raw, open(raw_model, "w"))
                got = {}
                for name, m in (("raw", raw_model), ("platt", model)):
                    got[name] = con.execute(
                        f"""SELECT r.gain * (SELECT count(*) FROM read_parquet('{rest_file}')) AS p,
                                   (d.ai_pref <> d.human_pref)::INT AS wrong
                            FROM route_instances('{rest_file}', 0, model := '{m}') r
                            JOIN read_parquet('{rest_file}') d USING (id) WHERE d.ai_pref IS NOT NULL ORDER BY id"""
                    ).fetchall()
                p = [g[0] for g in got["raw"]]
                y = [g[1] for g in got["raw"]]
                acc[0] += cross
                acc[1] += ece(p, y)
                acc[2] += ece([g[0] for g in got["platt"]], y)
                acc[3] += sum(p) / len(p)
                acc[4] += sum(y) / len(y)
            k = args.calibration_draws
            name = os.path.basename(f).removesuffix(".parquet")
            print(f"| {name} | {fr:.0%} | " + " | ".join(f"{a / k:.3f}" for a in acc) + " |")
    print(f"\n<!-- total {time.time() - t0:.0f} s -->")


if __name__ == "__main__":
    main()
