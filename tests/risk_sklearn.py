#!/usr/bin/env python3
"""risk_fit against scikit-learn, the independent reference (run by `make test`).

Two cases, each through a real DuckDB loading the built extension:

1. A seeded synthetic set: four numeric columns (one with NULLs, one constant) passed with
   `extra := [...]` and `features := [...]`, a judge that is wrong more often where one of them is
   large. scikit-learn: the same standardisation (mean and population deviation of the known
   values, unknowns → mean, zero deviation → 1) and `LogisticRegression(C = 1/l2)`.
2. A bundled file (examples/data/llmbar.parquet) with `features := 'auto'`: the feature matrix is
   rebuilt here from `tag_instances`' output and the file's own columns, independently of
   prefroute's feature code, and fitted by scikit-learn (tag indicators are centred, not scaled).

Asserted: the feature list, the intercept and coefficients (in standardised units) and every
training row's probability within 1e-6; the scaler's means and deviations within 1e-9.
Usage: tests/risk_sklearn.py --extension build/prefroute.duckdb_extension
"""

import argparse
import json
import math
import os
import sys
import tempfile

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.linear_model import LogisticRegression

TOL = 1e-6
L2 = 0.7


def connect(ext):
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ext}'")
    return con


def standardise(x, indicators=None):
    """Mean and population deviation over the known (non-NaN) values; unknowns → 0 after.
    Tag indicators (the mask `indicators`) are centred but keep scale 1."""
    mean = np.nanmean(x, axis=0)
    sd = np.sqrt(np.nanmean((x - mean) ** 2, axis=0))
    scale = np.where(sd > 1e-12 * np.maximum(np.abs(mean), 1.0), sd, 1.0)
    if indicators is not None:
        scale = np.where(indicators, 1.0, scale)
    z = (x - mean) / scale
    return np.where(np.isnan(z), 0.0, z), mean, scale


def sklearn_fit(z, y):
    m = LogisticRegression(C=1.0 / L2, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    m.fit(z, y)
    return m


def compare(name, model, z, y, mean, scale, features):
    failures = []
    if model["features"] != features:
        failures.append(f"{name}: features differ:\n  prefroute {model['features']}\n  expected  {features}")
        return failures
    ref = sklearn_fit(z, y)
    checks = [
        ("mean", np.array(model["mean"]), mean, 1e-9),
        ("scale", np.array(model["scale"]), scale, 1e-9),
        ("intercept", np.array([model["intercept"]]), ref.intercept_, TOL),
        ("coef", np.array(model["coef"]), ref.coef_[0], TOL),
    ]
    zp = (z * 1.0)
    ours = 1.0 / (1.0 + np.exp(-(model["intercept"] + zp @ np.array(model["coef"]))))
    checks.append(("probabilities", ours, ref.predict_proba(z)[:, 1], TOL))
    for what, got, want, tol in checks:
        err = float(np.max(np.abs(got - want)))
        status = "ok" if err <= tol else "FAIL"
        print(f"{name}: {what}: max |prefroute - sklearn| = {err:.2e} (limit {tol:g}) {status}")
        if err > tol:
            failures.append(f"{name}: {what} differs by {err:.3e}")
    return failures


def synthetic_case(con, tmp):
    rng = np.random.default_rng(20261205)
    n = 600
    x1 = rng.normal(0, 2, n)
    x2 = rng.exponential(1.0, n)
    x3 = rng.normal(5, 1, n)
    x3[rng.random(n) < 0.1] = np.nan  # NULLs
    x4 = np.full(n, 3.0)  # constant
    z = -0.8 + 1.1 * x1 - 0.6 * x2 + 0.3 * np.nan_to_num(x3 - 5)
    wrong = rng.random(n) < 1 / (1 + np.exp(-z))
    human = np.where(rng.random(n) < 0.5, "A", "B")
    ai = np.where(wrong, np.where(human == "A", "B", "A"), human)
    path = os.path.join(tmp, "synthetic.parquet")
    pq.write_table(
        pa.table(
            {
                "id": [f"s{i}" for i in range(n)],
                "prompt": ["p"] * n,
                "completion_a": ["a"] * n,
                "completion_b": ["b"] * n,
                "human_pref": human.tolist(),
                "ai_pref": ai.tolist(),
                "x1": x1,
                "x2": x2,
                "x3": pa.array([None if math.isnan(v) else v for v in x3], pa.float64()),
                "x4": x4,
            }
        ),
        path,
    )
    cols = ["x1", "x2", "x3", "x4"]
    row = con.execute(
        f"SELECT n, n_disagree, model_json FROM risk_fit('{path}', l2 := {L2}, extra := {cols}, "
        f"features := {cols}, model_dir := '')"
    ).fetchone()
    assert row[0] == n and row[1] == int(wrong.sum()), row[:2]
    x = np.column_stack([x1, x2, x3, x4])
    zs, mean, scale = standardise(x)
    return compare("synthetic", json.loads(row[2]), zs, wrong.astype(int), mean, scale, cols)


MEASURES = ["rouge", "rouge_l", "entity_sim", "tfidf_cosine", "cosine_sim", "bertscore", "bertscore_length"]
LENGTHS = ["log_prompt_len", "log_len_shorter", "log_len_longer", "log_len_ratio"]


def bundled_case(con, path):
    tag_names = [line.strip() for line in open("assets/tags.txt") if line.strip()]
    t = con.execute(
        f"""SELECT t.id, t.tags, t.rouge, t.rouge_l, t.entity_sim, t.tfidf_cosine, t.cosine_sim,
                   t.bertscore, t.bertscore_length, t.prompt_len, t.len_shorter, t.len_longer,
                   d.human_pref, d.ai_pref, d.ai_pref_alt, length(d.completion_a), length(d.completion_b)
            FROM tag_instances('{path}', model_dir := '') t
            JOIN read_parquet('{path}') d USING (id)
            WHERE d.human_pref IS NOT NULL AND d.ai_pref IS NOT NULL"""
    ).fetchall()
    rows, y = [], []
    for (_id, tags, *meas, plen, lshort, llong, human, ai, alt, ca, cb) in t:
        tagv = [1.0 if name in tags else 0.0 for name in tag_names]
        measv = [math.nan if v is None else float(v) for v in meas]
        lens = [math.log1p(plen), math.log1p(lshort), math.log1p(llong), math.log1p(llong) - math.log1p(lshort)]
        inconsistent = math.nan if alt is None else float(alt != ai)
        tie = float(ai == "tie")
        if ai == "tie" or ca == cb:
            longer = 0.0
        else:
            longer = 1.0 if (ai == "A") == (ca > cb) else -1.0
        rows.append(tagv + measv + lens + [inconsistent, tie, longer])
        y.append(int(human != ai))
    names = tag_names + MEASURES + LENGTHS + ["ai_inconsistent", "ai_tie", "ai_prefers_longer"]
    x = np.array(rows)
    # 'auto' leaves out features with fewer than two distinct known values.
    known = np.array([len(set(c[~np.isnan(c)])) > 1 for c in x.T])
    x = x[:, known]
    names = [n for n, k in zip(names, known) if k]
    row = con.execute(f"SELECT model_json FROM risk_fit('{path}', l2 := {L2}, model_dir := '')").fetchone()
    zs, mean, scale = standardise(x, np.array([n in tag_names for n in names]))
    return compare("llmbar auto", json.loads(row[0]), zs, np.array(y), mean, scale, names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    args = ap.parse_args()
    con = connect(args.extension)
    with tempfile.TemporaryDirectory() as tmp:
        failures = synthetic_case(con, tmp) + bundled_case(con, "examples/data/llmbar.parquet")
    if failures:
        print("\n".join(failures))
        print(f"0 passed, {len(failures)} failed")
        sys.exit(1)
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main()
