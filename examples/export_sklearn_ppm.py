#!/usr/bin/env python3
"""Convert a pickled scikit-learn PPM into a prefroute model file (prefroute-ppm/1).

The upstream project (SPEC §3.3) saves `model.pkl`, a fitted `LinearRegression`
(joblib), and for the quadratic model also `poly.pkl`, the fitted
`PolynomialFeatures(degree=2)` whose output order is
`[1, c0..c89, c0², c0·c1, …, c89²]`. This script maps every coefficient onto
prefroute's form `intercept + Σ w_i·c_i + Σ_{i≤j} q_ij·c_i·c_j` by reading
`poly.powers_`, so any include_bias / interaction_only setting works; the bias
column's coefficient is folded into the intercept.

Column names (the tag strings) come from, in order of preference: `--tags FILE`
(a JSON list or one name per line), the fitted `feature_names_in_` of the
PolynomialFeatures (quadratic) or of the regressor (linear). They must be
prefroute's canonical tag names (assets/tags.txt); any subset, in any order.

    python examples/export_sklearn_ppm.py model.pkl --poly poly.pkl -o ppm.json
    python examples/export_sklearn_ppm.py model.pkl --tags tags.txt -o ppm.json

Needs scikit-learn and joblib (the reference venv has both).
"""

import argparse
import json
import math
import os
import sys
import tempfile

FORMAT = "prefroute-ppm/1"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TAG_LIST = os.path.join(HERE, "..", "assets", "tags.txt")


def fail(message, hint=""):
    sys.exit(f"export_sklearn_ppm: {message}" + (f". Hint: {hint}" if hint else ""))


def load_pickle(path):
    try:
        import joblib

        return joblib.load(path)
    except ImportError:
        import pickle

        with open(path, "rb") as f:
            return pickle.load(f)


def read_names(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("["):
        return [str(x) for x in json.loads(text)]
    return [line.strip() for line in text.splitlines() if line.strip()]


def flat_coefficients(model):
    import numpy as np

    if not (hasattr(model, "coef_") and hasattr(model, "intercept_")):
        fail(f"{type(model).__name__} has no coef_/intercept_", "give a fitted linear regressor (LinearRegression, Ridge)")
    coef = np.asarray(model.coef_, dtype=float)
    if coef.ndim == 2 and coef.shape[0] == 1:
        coef = coef[0]
    if coef.ndim != 1:
        fail(f"coef_ has shape {coef.shape}", "a PPM predicts one score: fit the regressor on a 1-d target")
    intercept = np.asarray(model.intercept_, dtype=float).reshape(-1)
    if intercept.size != 1:
        fail(f"intercept_ has {intercept.size} values", "a PPM predicts one score")
    return coef, float(intercept[0])


def convert(model, poly=None, names=None):
    """The prefroute model (a dict) equivalent to `model` (after `poly`, if given)."""
    import numpy as np

    coef, intercept = flat_coefficients(model)
    if poly is not None:
        powers = np.asarray(poly.powers_, dtype=int)
        n_in = powers.shape[1]
        if names is None and hasattr(poly, "feature_names_in_"):
            names = [str(x) for x in poly.feature_names_in_]
    else:
        n_in = coef.size
        powers = np.eye(n_in, dtype=int)
        if names is None and hasattr(model, "feature_names_in_"):
            names = [str(x) for x in model.feature_names_in_]
    if names is None:
        fail("the pickles carry no feature names", "pass --tags FILE with the tag name of each input column, in order")
    if len(names) != n_in:
        fail(f"{len(names)} tag names for {n_in} input columns", "give one name per column the model was fitted on")
    if powers.shape[0] != coef.size:
        fail(
            f"the regressor has {coef.size} coefficients but the PolynomialFeatures makes {powers.shape[0]} columns",
            "pass the poly.pkl saved together with this model.pkl",
        )

    linear = [0.0] * n_in
    quadratic = {}
    for k, (row, c) in enumerate(zip(powers, coef)):
        degree = int(row.sum())
        c = float(c)
        if degree == 0:
            intercept += c  # the bias column is 1 for every row
        elif degree == 1:
            linear[int(np.argmax(row))] += c
        elif degree == 2:
            idx = [i for i in range(n_in) for _ in range(int(row[i]))]
            key = (min(idx), max(idx))
            quadratic[key] = quadratic.get(key, 0.0) + c
        else:
            fail(f"output column {k} has degree {degree}", "prefroute models are linear or quadratic (degree ≤ 2)")
    values = [intercept] + linear + list(quadratic.values())
    if not all(math.isfinite(v) for v in values):
        fail("the model has NaN or infinite coefficients", "refit it (e.g. with a small ridge penalty)")
    form = "quadratic" if poly is not None else "linear"
    return {
        "format": FORMAT,
        "form": form,
        "tags": names,
        "intercept": intercept,
        "linear": linear,
        "quadratic": [[i, j, q] for (i, j), q in sorted(quadratic.items())],
    }


def check_tag_names(names, tag_list):
    if not tag_list or not os.path.exists(tag_list):
        return
    known = set(read_names(tag_list))
    unknown = [n for n in names if n not in known]
    if unknown:
        shown = ", ".join(repr(n) for n in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        fail(f"{len(unknown)} unknown tag name(s): {shown}", f"names must match {tag_list} exactly")
    if len(set(names)) != len(names):
        fail("a tag name appears twice", "each model column is one distinct tag")


def to_text(model):
    """The same layout prefroute writes: one coefficient or term per line."""
    dump = lambda x: json.dumps(x, allow_nan=False, ensure_ascii=False)  # noqa: E731
    lines = ["{", f'  "format": {dump(model["format"])},', f'  "form": {dump(model["form"])},', '  "tags": [']
    lines.append(",\n".join(f"    {dump(t)}" for t in model["tags"]))
    lines.append("  ],")
    lines.append(f'  "intercept": {dump(model["intercept"])},')
    lines.append('  "linear": [')
    lines.append(",\n".join(f"    {dump(w)}" for w in model["linear"]))
    lines.append("  ],")
    lines.append('  "quadratic": [')
    lines.append(",\n".join(f"    [{i}, {j}, {dump(q)}]" for i, j, q in model["quadratic"]))
    lines.append("  ],")
    meta = json.dumps(model["meta"], indent=2, allow_nan=False, ensure_ascii=False).replace("\n", "\n  ")
    lines.append(f'  "meta": {meta}')
    lines.append("}")
    return "\n".join(line for line in lines if line != "") + "\n"


def write_atomic(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it normal permissions
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="pickled fitted regressor (model.pkl)")
    ap.add_argument("--poly", help="pickled fitted PolynomialFeatures (poly.pkl) for a quadratic model")
    ap.add_argument("--tags", help="tag name of each input column: JSON list or one per line")
    ap.add_argument("--tag-list", default=DEFAULT_TAG_LIST, help="canonical tag names to check against")
    ap.add_argument("-o", "--output", required=True, help="model file to write")
    args = ap.parse_args(argv)

    import sklearn

    model = load_pickle(args.model)
    poly = load_pickle(args.poly) if args.poly else None
    names = read_names(args.tags) if args.tags else None
    out = convert(model, poly, names)
    check_tag_names(out["tags"], args.tag_list)
    out["meta"] = {
        "source": "scikit-learn",
        "sklearn_version": sklearn.__version__,
        "estimator": type(model).__name__,
        "model_file": os.path.basename(args.model),
        "poly_file": os.path.basename(args.poly) if args.poly else None,
        "exported_by": "examples/export_sklearn_ppm.py",
    }
    write_atomic(args.output, to_text(out))
    print(f"wrote {args.output}: {out['form']}, {len(out['tags'])} tags, {len(out['quadratic'])} quadratic terms")


if __name__ == "__main__":
    main()
