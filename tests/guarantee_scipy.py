#!/usr/bin/env python3
"""The promise of `confidence :=` against scipy, the independent reference (run by `make test`).

Through a real DuckDB loading the built extension, on model files written here with seeded synthetic
calibration data (cross-fitted probabilities and judge errors):

1. `risk_threshold(model, n_rows, target, confidence)` for many calibration sizes, row counts, targets
   and confidences equals the threshold computed here with `scipy.stats.hypergeom`: b = floor(n(1 - t)),
   c = the largest x with hypergeom.cdf(x, m + n, b + x + 1, m) <= 1 - confidence (scanned upward),
   the threshold = the (c + 1)-th smallest calibration p where the judge was wrong (1 when there are at
   most c). When no x passes, the call must fail saying the target cannot be promised.
2. `route_summary`'s `miss_probability` (the test's probability at c) equals scipy's cdf within 1e-12
   relative, and its `calibration_errors_allowed` equals c, on a bundled file.
3. The Platt scaling `risk_fit` stores equals scikit-learn's `LogisticRegression(C = 1e6)` of the stored
   outcomes on the logit of the stored cross-fitted probabilities (slope and intercept within 1e-6).

Usage: tests/guarantee_scipy.py --extension build/prefroute.duckdb_extension
"""

import argparse
import json
import math
import os
import sys
import tempfile

import duckdb
import numpy as np
from scipy.stats import hypergeom
from sklearn.linear_model import LogisticRegression


def connect(ext):
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ext}'")
    return con


def model_file(path, p, wrong, platt=None):
    """A prefroute-risk/2 file over three features every bundled file offers (with Platt scaling
    (slope, intercept) when given)."""
    model = {
        "format": "prefroute-risk/2",
        "features": ["ai_inconsistent", "rouge", "log_len_ratio"],
        "extra": [],
        "mean": [0.1, 0.3, 0.5],
        "scale": [0.3, 0.2, 0.6],
        "intercept": -1.5,
        "coef": [1.2, -0.4, 0.3],
        "calibration": {"p": [float(x) for x in p], "wrong": [int(w) for w in wrong]},
        "meta": {"written_by": "tests/guarantee_scipy.py"},
    }
    if platt is not None:
        model["platt"] = {"slope": platt[0], "intercept": platt[1]}
    with open(path, "w") as f:
        json.dump(model, f)


def reference(p, wrong, n, n_ai, target, confidence):
    """(threshold or None, c, the test's probability at c) by scipy."""
    m, delta = len(p), 1.0 - confidence
    b = min(n, math.floor(n * (1.0 - target) + 1e-9))
    if b >= n_ai:
        return 1.0, None, 0.0
    c, prob = None, None
    for x in range(m):
        q = hypergeom.cdf(x, m + n_ai, b + x + 1, m)
        if q > delta:
            break
        c, prob = x, q
    if c is None:
        return None, None, None
    wrong_p = sorted(pi for pi, w in zip(p, wrong) if w)
    return (min(wrong_p[c], 1.0) if c < len(wrong_p) else 1.0), c, prob


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    args = ap.parse_args()
    con = connect(args.extension)
    rng = np.random.default_rng(22)
    failures, checked, impossible = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for m in (25, 177, 442, 2000):
            p = rng.beta(1.2, 4.0, size=m)
            wrong = rng.random(m) < p
            path = os.path.join(tmp, f"risk_{m}.json")
            model_file(path, p, wrong)
            for n in (40, 708, 5000, 100000):
                for target in (0.8, 0.9, 0.95, 0.99):
                    for confidence in (0.8, 0.9, 0.95):
                        want, _, _ = reference(p, wrong, n, n, target, confidence)
                        sql = f"SELECT risk_threshold('{path}', {n}, {target}, {confidence})"
                        try:
                            got = con.execute(sql).fetchone()[0]
                            err = None
                        except duckdb.Error as e:
                            got, err = None, str(e)
                        checked += 1
                        if want is None:
                            impossible += 1
                            if err is None or "cannot be promised" not in err:
                                failures.append(f"m={m} n={n} t={target} c={confidence}: scipy says impossible, got {got} {err}")
                        elif err is not None or got != want:
                            failures.append(f"m={m} n={n} t={target} c={confidence}: want {want!r}, got {got!r} {err or ''}")
        print(f"risk_threshold: {checked} cases ({impossible} impossible), {len(failures)} differ from scipy")

        # With Platt scaling the threshold is the same calibration row's probability, Platt-scaled.
        m, slope, icpt = 177, 0.6, -0.4
        p = rng.beta(1.2, 4.0, size=m)
        wrong = rng.random(m) < p
        path = os.path.join(tmp, "risk_platt.json")
        model_file(path, p, wrong, (slope, icpt))
        for target in (0.85, 0.9):
            raw, _, _ = reference(p, wrong, 708, 708, target, 0.9)
            want = 1 / (1 + math.exp(-(slope * math.log(raw / (1 - raw)) + icpt)))
            got = con.execute(f"SELECT risk_threshold('{path}', 708, {target}, 0.9)").fetchone()[0]
            status = "ok" if abs(got - want) <= 1e-14 else "FAIL"
            print(f"risk_threshold with Platt scaling, t={target}: {got!r} (scipy + Platt {want!r}) {status}")
            if status != "ok":
                failures.append(f"Platt t={target}: {got} vs {want}")

        # route_summary on a bundled file: the test's probability and c.
        data = "examples/data/llmbar.parquet"
        n, n_ai = con.execute(f"SELECT count(*), count(ai_pref) FROM read_parquet('{data}')").fetchone()
        m = 300
        p = rng.beta(1.2, 4.0, size=m)
        wrong = rng.random(m) < p
        path = os.path.join(tmp, "risk_summary.json")
        model_file(path, p, wrong)
        for target, confidence in ((0.85, 0.9), (0.9, 0.8), (0.95, 0.95)):
            thr, c, prob = reference(p, wrong, n, n_ai, target, confidence)
            row = con.execute(
                f"SELECT p_threshold, calibration_errors_allowed, miss_probability FROM route_summary('{data}', NULL, "
                f"model := '{path}', target_accuracy := {target}, confidence := {confidence})"
            ).fetchone()
            rel = abs(row[2] - prob) / prob
            status = "ok" if (row[0] == thr and row[1] == c and rel <= 1e-12) else "FAIL"
            print(f"route_summary t={target} c={confidence}: threshold {row[0]} (scipy {thr}), c {row[1]} (scipy {c}), "
                  f"miss probability {row[2]:.15g} (scipy {prob:.15g}, rel. diff {rel:.1e}) {status}")
            if status != "ok":
                failures.append(f"route_summary t={target} c={confidence}: {row} vs {(thr, c, prob)}")
    # 3. Platt scaling against scikit-learn, on a risk_fit of pandalm_test.
    model = json.loads(con.execute("SELECT model_json FROM risk_fit('examples/data/pandalm_test.parquet')").fetchone()[0])
    p = np.clip(np.array(model["calibration"]["p"]), 1e-15, 1 - 1e-15)
    ref = LogisticRegression(C=1e6, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    ref.fit(np.log(p / (1 - p)).reshape(-1, 1), np.array(model["calibration"]["wrong"]))
    diff = max(abs(model["platt"]["slope"] - ref.coef_[0][0]), abs(model["platt"]["intercept"] - ref.intercept_[0]))
    status = "ok" if diff <= 1e-6 else "FAIL"
    print(f"platt: slope {model['platt']['slope']:.9f}, intercept {model['platt']['intercept']:.9f}; "
          f"max |prefroute - sklearn| = {diff:.1e} {status}")
    if status != "ok":
        failures.append(f"platt differs from scikit-learn by {diff}")
    for f in failures:
        print("FAIL", f)
    if failures:
        sys.exit(1)
    print("guarantee_scipy: all checks passed")


if __name__ == "__main__":
    main()
