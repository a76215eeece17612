#!/usr/bin/env python3
"""scikit-learn reference fits for tests/ppm_sklearn.rs (the independent check of prefroute's PPM fit).

Run with the reference venv from the repository root:

    .venv/ref/bin/python tests/reference/make_ppm_fixtures.py

Writes (and these files are committed):

* tests/data/ppm/sklearn_fits.json — two seeded synthetic sets of candidates (integer per-tag
  counts of 90 tags, target = a nonlinear function of the counts + noise), split into train / test
  rows: "moderate" (100 + 20 rows, 5–80 routed instances per candidate) and "large_counts"
  (150 + 30 rows, 1–7000 routed instances as in the paper's 7000-pair candidates, so squared
  counts reach ~10⁷ and the singular values of the centred design spread over six decades).
  For each of LinearRegression, Ridge, PolynomialFeatures(2)+LinearRegression and
  PolynomialFeatures(2)+Ridge: the fitted coefficients, predictions on the held-out rows, and
  5-fold cross_val_predict on the training rows (KFold without shuffling). Also RMSE / R² /
  Spearman from sklearn.metrics and scipy.stats on a case with tied values.
* tests/data/ppm/export/*.json — models exported by examples/export_sklearn_ppm.py from pickles
  (a linear and a quadratic model on shuffled tag subsets, named through feature_names_in_,
  and a quadratic model on all 90 tags named through --tags), with
  tests/data/ppm/export_predictions.json holding sklearn's predictions for them.
"""

import json
import os
import subprocess
import sys
import tempfile

import joblib
import numpy as np
import pandas as pd
import scipy
import sklearn
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "data", "ppm")
SEED = 20240917
# name, seed, train rows, test rows, largest budget (routed instances per candidate)
DATASETS = [("moderate", SEED, 100, 20, 80), ("large_counts", SEED + 10, 150, 30, 7000)]
# Ridge penalty as a fraction of the mean diagonal of the centred Gram matrix: large enough to
# matter, small enough to fit the signal.
RIDGE_FRACTION = {"linear": 1e-2, "quadratic": 1e-3}
ALPHA_QUADRATIC_EXPORT = 1.0e4
N_TRAIN = 100  # rows of the "moderate" set used for the export cases


def tag_names():
    with open(os.path.join(ROOT, "assets", "tags.txt"), encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    assert len(names) == 90
    return names


def candidates(rng, n, max_budget):
    """n candidate datasets: per-tag counts of the routed instances, and a score."""
    budget = rng.integers(5 if max_budget <= 80 else 1, max_budget, size=n)  # routed instances
    rates = rng.beta(0.6, 3.0, size=90)  # share of instances that carry each tag
    counts = rng.binomial(budget[:, None], rates[None, :])
    # As in the real tags, every instance falls in exactly one bin of a lexical measure: the three
    # bins of bertscore (tags 0-2) and of token_len_diff (24-26) each sum to the budget, which makes
    # the linear design exactly rank-deficient (the minimum-norm case).
    for first in (0, 24):
        share = rng.dirichlet([2.0, 2.0, 2.0])
        counts[:, first : first + 3] = np.array([rng.multinomial(b, share) for b in budget])
    c = counts.astype(float) * (80.0 / max_budget)  # the same signal whatever the scale
    target = (
        0.62
        + 0.004 * np.sqrt(c[:, 60])
        - 0.0015 * c[:, 28]
        + 3e-5 * c[:, 30] * c[:, 70]
        - 2e-4 * c[:, 5]
        + 0.03 * np.sin(budget * (80.0 / max_budget) / 9.0)
        + rng.normal(0.0, 0.01, size=n)
    )
    return counts, target


def ridge_alpha(form, x_train):
    """RIDGE_FRACTION of the mean diagonal of the centred Gram matrix (rounded to 2 digits)."""
    x = PolynomialFeatures(degree=2, include_bias=False).fit_transform(x_train) if form == "quadratic" else x_train
    xc = x - x.mean(axis=0)
    mean_diag = float((xc * xc).sum() / min(xc.shape))
    return float(f"{RIDGE_FRACTION[form] * mean_diag:.2g}")


def fit_record(name, form, l2, estimator, x_train, y_train, x_test):
    """Fit on the training rows; coefficients in prefroute order (no bias column)."""
    poly = PolynomialFeatures(degree=2) if form == "quadratic" else None
    xt = poly.fit_transform(x_train) if poly else x_train
    est = estimator.fit(xt, y_train)
    coef = np.asarray(est.coef_, dtype=float)
    intercept = float(est.intercept_)
    if poly is not None:
        # Column 0 is the constant 1: fold its (≈0) coefficient into the intercept.
        assert (poly.powers_[0] == 0).all()
        intercept += float(coef[0])
        coef = coef[1:]
    pred = est.predict(poly.transform(x_test) if poly else x_test)
    steps = [PolynomialFeatures(degree=2)] if poly else []
    cv_pred = cross_val_predict(make_pipeline(*steps, type(estimator)(**estimator.get_params())), x_train, y_train, cv=KFold(5))
    rec = {
        "name": name,
        "form": form,
        "l2": l2,
        "estimator": repr(estimator),
        "intercept": intercept,
        "coef": coef.tolist(),
        "pred_test": pred.tolist(),
        "cv5_pred_train": cv_pred.tolist(),
    }
    if hasattr(est, "rank_"):
        rec["rank"] = int(est.rank_)
        s = np.asarray(est.singular_)
        rec["singular_values_min_max"] = [float(s[s > 1e-6 * s[0]].min()), float(s[0])]
    return rec


def metrics_case(rng):
    y_true = np.round(rng.normal(0.65, 0.05, size=40), 2)  # rounding creates ties
    y_pred = np.round(y_true + rng.normal(0.0, 0.03, size=40), 2)
    return {
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "r2": float(r2_score(y_true, y_pred)),
        "spearman": float(spearmanr(y_true, y_pred).statistic),
    }


def export_cases(names, counts, target, x_test):
    """Fit, pickle, export with examples/export_sklearn_ppm.py; return sklearn's test predictions."""
    rng = np.random.default_rng(SEED + 1)
    export_dir = os.path.join(OUT, "export")
    os.makedirs(export_dir, exist_ok=True)
    script = os.path.join(ROOT, "examples", "export_sklearn_ppm.py")
    cases = []
    with tempfile.TemporaryDirectory() as tmp:

        def export(case, model, poly, cols, tags_file=None):
            model_pkl = os.path.join(tmp, f"{case}_model.pkl")
            joblib.dump(model, model_pkl)
            cmd = [sys.executable, script, model_pkl, "-o", os.path.join(export_dir, f"{case}.json")]
            if poly is not None:
                poly_pkl = os.path.join(tmp, f"{case}_poly.pkl")
                joblib.dump(poly, poly_pkl)
                cmd += ["--poly", poly_pkl]
            if tags_file:
                cmd += ["--tags", tags_file]
            subprocess.run(cmd, check=True)
            test_df = pd.DataFrame(x_test[:, cols], columns=[names[c] for c in cols])
            if poly is None:
                pred = model.predict(test_df)
            else:
                feats = poly.transform(test_df if hasattr(poly, "feature_names_in_") else test_df.to_numpy())
                pred = model.predict(feats)
            cases.append({"case": case, "file": f"export/{case}.json", "pred_test": pred.tolist()})

        # Linear on 30 tags in shuffled order, fitted on a DataFrame (names from feature_names_in_).
        cols = [int(c) for c in rng.permutation(90)[:30]]
        df = pd.DataFrame(counts[:, cols].astype(float), columns=[names[c] for c in cols])
        export("linear_subset", LinearRegression().fit(df, target), None, cols)

        # Quadratic on 20 shuffled tags: the upstream recipe (PolynomialFeatures fitted on a DataFrame,
        # a Ridge on its numpy output), names from poly.feature_names_in_.
        cols = [int(c) for c in rng.permutation(90)[:20]]
        df = pd.DataFrame(counts[:, cols].astype(float), columns=[names[c] for c in cols])
        poly = PolynomialFeatures(degree=2).fit(df)
        export("quadratic_subset", Ridge(alpha=ALPHA_QUADRATIC_EXPORT).fit(poly.transform(df), target), poly, cols)

        # Quadratic on all 90 tags, fitted on numpy arrays (no names in the pickles): --tags file.
        cols = list(range(90))
        poly = PolynomialFeatures(degree=2).fit(counts.astype(float))
        tags_file = os.path.join(tmp, "tags.json")
        with open(tags_file, "w", encoding="utf-8") as f:
            json.dump(names, f)
        model = LinearRegression().fit(poly.transform(counts.astype(float)), target)
        export("quadratic_full", model, poly, cols, tags_file)
    return cases


def dataset_record(name, seed, n_train, n_test, max_budget):
    counts, target = candidates(np.random.default_rng(seed), n_train + n_test, max_budget)
    x_train, y_train = counts[:n_train].astype(float), target[:n_train]
    x_test = counts[n_train:].astype(float)
    fits = []
    for form in ("linear", "quadratic"):
        alpha = ridge_alpha(form, x_train)
        fits.append(fit_record(f"{form}_ols", form, 0.0, LinearRegression(), x_train, y_train, x_test))
        fits.append(fit_record(f"{form}_ridge", form, alpha, Ridge(alpha=alpha), x_train, y_train, x_test))
    for rec in fits:
        print(name, rec["name"], "alpha", rec["l2"], "rank", rec.get("rank"), "σ min kept / max", rec.get("singular_values_min_max"))
    return {
        "name": name,
        "seed": seed,
        "max_budget": max_budget,
        "train": {"counts": counts[:n_train].tolist(), "target": y_train.tolist()},
        "test": {"counts": counts[n_train:].tolist(), "target": target[n_train:].tolist()},
        "fits": fits,
    }, counts, target


def main():
    names = tag_names()
    os.makedirs(OUT, exist_ok=True)
    datasets = []
    for spec in DATASETS:
        record, counts, target = dataset_record(*spec)
        datasets.append(record)
        if spec[0] == "moderate":
            moderate = (counts, target)
    fixture = {
        "generator": "tests/reference/make_ppm_fixtures.py",
        "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "columns": "counts rows are in canonical tag order (assets/tags.txt)",
        "datasets": datasets,
        "metrics": metrics_case(np.random.default_rng(SEED + 2)),
    }
    with open(os.path.join(OUT, "sklearn_fits.json"), "w", encoding="utf-8") as f:
        json.dump(fixture, f, allow_nan=False)
        f.write("\n")

    counts, target = moderate
    cases = export_cases(names, counts[:N_TRAIN], target[:N_TRAIN], counts[N_TRAIN:].astype(float))
    with open(os.path.join(OUT, "export_predictions.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "generator": "tests/reference/make_ppm_fixtures.py",
                "versions": {"sklearn": sklearn.__version__},
                "test_counts": counts[N_TRAIN:].tolist(),
                "cases": cases,
            },
            f,
            allow_nan=False,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
