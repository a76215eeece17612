#!/usr/bin/env python3
"""Reference values for judge agreement (tests/agreement_reference.rs), from
independent implementations: scipy.stats.binomtest, statsmodels
proportion_confint(method='wilson') and multipletests(method='fdr_bh'),
scikit-learn cohen_kappa_score. Seeded; rerun to regenerate:

    /work/main/.venv/ref/bin/python tests/reference/make_agreement_fixtures.py

Writes tests/data/agreement/stats_cases.json (each statistic alone) and
slice_cases.json (random labelled datasets, slicings and the expected row of
statistics per slice). Missing values (NaN in the references) are JSON null.
"""
import json, math, os, warnings
import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

warnings.filterwarnings("ignore")  # sklearn warns on undefined kappa; we record null
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "agreement")
rng = np.random.default_rng(20241104)
LABELS = ["A", "B", "tie"]


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def wilson(k, n):
    if n == 0:
        return None
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return [float(lo), float(hi)]


def kappa(h, a):
    if not h:
        return None
    return num(cohen_kappa_score(h, a, labels=LABELS))


def bh(ps):
    """q-values of the non-null p-values; nulls stay null (left out of the family)."""
    idx = [i for i, p in enumerate(ps) if p is not None]
    out = [None] * len(ps)
    if idx:
        q = multipletests([ps[i] for i in idx], method="fdr_bh")[1]
        for i, v in zip(idx, q):
            out[i] = float(v)
    return out


# ---- each statistic alone -------------------------------------------------
binom = []
for _ in range(400):
    n = int(rng.choice([1, 2, 5, 17, 30, 100, 879, 974, 3000, int(rng.integers(1, 5000))]))
    kind = rng.integers(0, 4)
    if kind == 0:
        p = float(rng.uniform(0, 1))
    elif kind == 1:  # an overall rate K/N, as judge_agreement computes it
        N = int(rng.integers(1, 5000)); p = int(rng.integers(0, N + 1)) / N
    elif kind == 2:
        p = float(rng.choice([0.5, 681 / 879, 697 / 974, 0.0, 1.0, 1e-3, 1 - 1e-3]))
    else:
        p = float(rng.uniform(0.6, 0.9))
    sd = math.sqrt(max(n * p * (1 - p), 1.0))
    k = int(np.clip(round(n * p + rng.normal(0, 1) * sd * float(rng.choice([0.5, 1, 2, 4]))), 0, n))
    if rng.random() < 0.1:
        k = int(rng.choice([0, n]))
    binom.append({"k": k, "n": n, "p": p, "pvalue": float(binomtest(k, n, p).pvalue)})
# exact-centre cases: k == p*n, and the symmetric p = 0.5 case where both tails tie
for k, n, p in [(5, 10, 0.5), (681, 879, 681 / 879), (697, 974, 697 / 974), (3, 10, 0.5), (0, 7, 0.0), (7, 7, 1.0)]:
    binom.append({"k": k, "n": n, "p": p, "pvalue": float(binomtest(k, n, p).pvalue)})

wil = []
for n in [1, 2, 3, 10, 29, 30, 100, 879, 974, 10000]:
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n, int(rng.integers(0, n + 1))}):
        if 0 <= k <= n:
            wil.append({"k": k, "n": n, "interval": wilson(k, n)})

bhs = []
for _ in range(60):
    m = int(rng.integers(1, 40))
    ps = [float(x) for x in rng.uniform(0, 1, m) ** float(rng.choice([1, 3, 8]))]
    for i in range(m):
        r = rng.random()
        if r < 0.1:
            ps[i] = None
        elif r < 0.2:
            ps[i] = 1.0
        elif r < 0.3 and i > 0 and ps[i - 1] is not None:
            ps[i] = ps[i - 1]  # ties
    bhs.append({"p": ps, "q": bh(ps)})

kap = []
for _ in range(80):
    m = int(rng.integers(1, 60))
    h = list(rng.choice(LABELS, m, p=rng.dirichlet([1, 1, 1])))
    a = [x if rng.random() < rng.random() else str(rng.choice(LABELS)) for x in h]
    kap.append({"human": h, "ai": a, "kappa": kappa(h, a)})
kap.append({"human": ["A"] * 5, "ai": ["A"] * 5, "kappa": kappa(["A"] * 5, ["A"] * 5)})
kap.append({"human": ["A"] * 5, "ai": ["B"] * 5, "kappa": kappa(["A"] * 5, ["B"] * 5)})

with open(os.path.join(OUT, "stats_cases.json"), "w") as f:
    json.dump({"binomtest": binom, "wilson": wil, "fdr_bh": bhs, "cohen_kappa": kap}, f, separators=(",", ":"))


# ---- whole slices -----------------------------------------------------------
def slice_stats(rows, overall, min_n):
    both = [(r["human"], r["ai"]) for r in rows if r["human"] is not None and r["ai"] is not None]
    nb = len(both); k = sum(h == a for h, a in both)
    hum = [r["human"] for r in rows if r["human"] is not None]
    ais = [r["ai"] for r in rows if r["ai"] is not None]
    dis = [r for r in rows if r["human"] in ("A", "B") and r["ai"] in ("A", "B")
           and r["human"] != r["ai"] and r["len_a"] != r["len_b"]]
    longer = sum((r["ai"] == "A") == (r["len_a"] > r["len_b"]) for r in dis)
    alt = [(r["ai"], r["ai_alt"]) for r in rows if r["ai"] is not None and r["ai_alt"] is not None]
    rate = lambda x, d: x / d if d else None
    iv = wilson(k, nb)
    return {
        "n": len(rows), "n_both": nb, "n_agree": k, "agreement": rate(k, nb),
        "agreement_low": iv[0] if iv else None, "agreement_high": iv[1] if iv else None,
        "cohen_kappa": kappa([h for h, _ in both], [a for _, a in both]),
        "human_tie_rate": rate(sum(x == "tie" for x in hum), len(hum)),
        "ai_tie_rate": rate(sum(x == "tie" for x in ais), len(ais)),
        "ai_prefers_longer": rate(longer, len(dis)), "n_length_disagreements": len(dis),
        "position_consistency": rate(sum(x == y for x, y in alt), len(alt)), "n_ai_both": len(alt),
        "small_slice": nb < min_n,
        "p_value": float(binomtest(k, nb, overall).pvalue) if nb and overall is not None else None,
    }


def label(p_missing, probs):
    return None if rng.random() < p_missing else str(rng.choice(LABELS, p=probs))


cases = []
for case in range(40):
    n = int(rng.choice([0, 1, 5, 40, 150, 400, int(rng.integers(1, 500))], p=[.04, .04, .08, .2, .2, .2, .24]))
    agree_p = float(rng.uniform(0.3, 0.95))
    ties = rng.dirichlet([4, 4, float(rng.choice([0.01, 1]))])
    miss_h, miss_a = float(rng.choice([0, 0.05, 0.3])), float(rng.choice([0, 0.05, 0.3]))
    has_alt = rng.random() < 0.6
    maxlen = int(rng.choice([3, 20, 2000]))  # short lengths make equal-length pairs common
    rows = []
    for _ in range(n):
        h = label(miss_h, ties)
        a = h if (h is not None and rng.random() < agree_p) else label(0, ties)
        if rng.random() < miss_a:
            a = None
        alt = None
        if has_alt and a is not None and rng.random() < 0.9:
            alt = a if rng.random() < 0.8 else label(0, ties)
        rows.append({"human": h, "ai": a, "ai_alt": alt,
                     "len_a": int(rng.integers(0, maxlen)), "len_b": int(rng.integers(0, maxlen))})
    slices = [{"name": "all", "rows": list(range(n))}]
    for s in range(int(rng.integers(0, 12))):
        share = float(rng.choice([0.0, 0.02, 0.1, 0.3, 0.7]))
        members = [i for i in range(n) if rng.random() < share]
        slices.append({"name": None if s == 3 else f"s{s}", "rows": members})
    min_n = int(rng.choice([0, 10, 30, 100]))
    both = [r for r in rows if r["human"] is not None and r["ai"] is not None]
    overall = sum(r["human"] == r["ai"] for r in both) / len(both) if both else None
    expected = [slice_stats([rows[i] for i in s["rows"]], overall, min_n) for s in slices]
    for e, q in zip(expected, bh([e["p_value"] for e in expected])):
        e["q_value"] = q
    # rows as [human, ai, ai_alt, len_a, len_b] to keep the file small
    compact = [[r["human"], r["ai"], r["ai_alt"], r["len_a"], r["len_b"]] for r in rows]
    cases.append({"rows": compact, "slices": slices, "min_n": min_n, "expected": expected})

with open(os.path.join(OUT, "slice_cases.json"), "w") as f:
    json.dump(cases, f, separators=(",", ":"))
print("binomtest", len(binom), "wilson", len(wil), "fdr_bh", len(bhs), "kappa", len(kap), "slice cases", len(cases))


# ---- the bundled datasets, whole-set statistics ----------------------------
import pyarrow.parquet as pq

bundled = {}
for name in ["llmbar", "pandalm_test"]:
    t = pq.read_table(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "data", f"{name}.parquet"))
    d = t.select(["human_pref", "ai_pref", "ai_pref_alt", "completion_a", "completion_b"]).to_pylist()
    # len() of a Python str counts code points, like Rust's chars().count()
    rows = [{"human": r["human_pref"], "ai": r["ai_pref"], "ai_alt": r["ai_pref_alt"],
             "len_a": len(r["completion_a"] or ""), "len_b": len(r["completion_b"] or "")} for r in d]
    both = [r for r in rows if r["human"] is not None and r["ai"] is not None]
    overall = sum(r["human"] == r["ai"] for r in both) / len(both)
    e = slice_stats(rows, overall, 30)
    e["q_value"] = bh([e["p_value"]])[0]
    bundled[name] = e
with open(os.path.join(OUT, "bundled_expected.json"), "w") as f:
    json.dump(bundled, f, indent=1)
print({k: (v["cohen_kappa"], v["position_consistency"], v["ai_prefers_longer"]) for k, v in bundled.items()})
